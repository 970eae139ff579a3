"""Alembic's environment for evalkit: run the migrations on the connection evalkit hands over.

evalkit builds the Alembic configuration in code (:func:`evalkit.store.migrate.alembic_config`); there is no
``alembic.ini``. When evalkit runs the migrations it passes an open connection, already inside the transaction
that holds the database's write lock, in ``config.attributes["connection"]``: everything then commits or rolls
back together. Without one (a developer's ``alembic.command`` call with a URL in ``sqlalchemy.url``) it opens the
database the way evalkit does (same URL rules, SQLite pragmas, ``BEGIN IMMEDIATE``) and runs in one transaction.
"""
from __future__ import annotations

from alembic import context

from evalkit.store.engine import make_engine
from evalkit.store.schema import metadata  # for autogenerate only: the migrations themselves never read it

config = context.config


def run_migrations_offline() -> None:
    """Write the SQL to standard output instead of running it (``--sql``)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True,
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on evalkit's connection, or on a connection of our own to ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine, _, _ = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection) -> None:
    # transactional_ddl: SQLite's DDL is transactional too, so a failed migration leaves nothing half done.
    context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
