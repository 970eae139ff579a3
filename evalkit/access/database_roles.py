"""PostgreSQL login roles for people.

Each person signed in through the hub connects to PostgreSQL as a role of their own name, through the server's
Unix socket with peer authentication (the operating system vouches for the name; there is no password to leak).
The role is a member of ``evalkit_people``, which holds the table privileges; what it may read and write row by
row is decided by the policies of migration 0007, from the ``person_roles`` table. A person who holds an office
role (admin, psychometrician) is also in ``evalkit_office``, which may read candidates' contact details.
Run as the database's owner (the hub does, when it starts a person's server).
"""
from __future__ import annotations

import sqlalchemy as sa

from ..store import Store, person_roles
from .identity import AccessError
from .roles import OFFICE_ROLES, check_username

__all__ = ["provision_person", "drop_person", "sync_office_membership"]


def _quoted(conn, username: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(check_username(username))


def _role_exists(conn, username: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": username}).first() \
        is not None


def sync_office_membership(conn, username: str) -> None:
    """Put ``username``'s database role in ``evalkit_office`` exactly when they hold an office role (no role yet:
    nothing to do; :func:`provision_person` syncs it when it makes the role)."""
    if not _role_exists(conn, username):
        return
    office = conn.execute(sa.select(sa.func.count()).select_from(person_roles).where(
        person_roles.c.username == username, person_roles.c.role.in_(OFFICE_ROLES))).scalar()
    verb = "GRANT evalkit_office TO {}" if office else "REVOKE evalkit_office FROM {}"
    conn.exec_driver_sql(verb.format(_quoted(conn, username)))


def provision_person(store: Store, username: str) -> bool:
    """Make ``username``'s login role (no password; peer authentication) in ``evalkit_people`` if it is missing,
    and sync its office membership; returns True when the role was made. Refused on SQLite, which has no roles."""
    if store.is_sqlite:
        raise AccessError("a SQLite workspace has no database roles; people's servers share the file (use "
                          "PostgreSQL for confidentiality between people)")
    with store.engine.begin() as conn:
        made = not _role_exists(conn, username)
        if made:
            conn.exec_driver_sql(f"CREATE ROLE {_quoted(conn, username)} LOGIN IN ROLE evalkit_people")
        else:
            conn.exec_driver_sql(f"GRANT evalkit_people TO {_quoted(conn, username)}")
        sync_office_membership(conn, username)
    return made


def drop_person(store: Store, username: str) -> None:
    """Stop ``username`` signing in to the database (their role stays, without LOGIN, so that what they wrote keeps
    its owner's name in the catalogue)."""
    with store.engine.begin() as conn:
        if _role_exists(conn, username):
            conn.exec_driver_sql(f"ALTER ROLE {_quoted(conn, username)} NOLOGIN")
            conn.exec_driver_sql(f"REVOKE evalkit_people FROM {_quoted(conn, username)}")
