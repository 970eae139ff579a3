"""Standard setting: modified-Angoff workshops (panellists, rounds, ratings) and pass marks adopted from them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10

- ``standard_setting_workshops``: a workshop on one program's rubric version (the instrument the panel rated),
  its minimally-competent-candidate definition, state (open, closed) and, once closed, the recommended cut (total
  %) and its standard error.
- ``standard_setting_panellists``: who sat on the panel.
- ``standard_setting_rounds``: each round of ratings, the cut it gave and the impact data shown to the panel when
  it closed (JSON).
- ``standard_setting_ratings``: a panellist's expected level of a minimally competent candidate on one criterion in
  one round.
- ``pass_mark_changes``: a pass mark adopted from a workshop. It is written into the program as a new rubric
  version (``to_version``, registered in ``rubric_versions``); submissions already received, and every decision,
  keep the version and pass mark they were made under.

On PostgreSQL (after 0007's row-level security) the new tables are granted to ``evalkit_office`` only and get
row-level security: admins and psychometricians read and write the workshop tables; both read
``pass_mark_changes`` and only admins add to it (adopting a pass mark also writes ``rubric_versions`` and
``programs``, which 0007 leaves to admins). Nobody else is granted anything on them. On SQLite the tables are made
and the schema version moves.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 8

PEOPLE, OFFICE = "evalkit_people", "evalkit_office"

WORKSHOP_TABLES = ("standard_setting_workshops", "standard_setting_panellists", "standard_setting_rounds",
                   "standard_setting_ratings")
TABLES = (*WORKSHOP_TABLES, "pass_mark_changes")
#: Tables whose ``id`` is a serial column (``<table>_id_seq``).
SERIAL = ("standard_setting_workshops", "standard_setting_panellists", "standard_setting_rounds",
          "pass_mark_changes")

#: (privilege, table or sequence) granted to the office (admins and psychometricians); the policies narrow it.
OFFICE_GRANTS = (
    *[("SELECT, INSERT, UPDATE", t) for t in WORKSHOP_TABLES],
    ("SELECT, INSERT", "pass_mark_changes"),
    *[("USAGE, SELECT", f"SEQUENCE {t}_id_seq") for t in SERIAL],
)


def _role(name: str) -> str:
    # As 0007: in a sub-select, evaluated once per statement; evalkit_has_role is 0007's SECURITY DEFINER helper.
    return f"(SELECT evalkit_has_role('{name}'))"


ADMIN = _role("admin")
OFFICE_ROLES = f"({_role('admin')} OR {_role('psychometrician')})"


def _policies() -> list[tuple[str, str, str, str | None, str | None]]:
    """(name, table, command, USING, WITH CHECK) of every policy, permissive, for ``evalkit_people``."""
    rules = [
        ("office", WORKSHOP_TABLES, "SELECT", OFFICE_ROLES, None),
        ("office", WORKSHOP_TABLES, "INSERT", None, OFFICE_ROLES),
        ("office", WORKSHOP_TABLES, "UPDATE", OFFICE_ROLES, OFFICE_ROLES),
        ("office", ("pass_mark_changes",), "SELECT", OFFICE_ROLES, None),
        ("admin", ("pass_mark_changes",), "INSERT", None, ADMIN),
    ]
    return [(f"{table}_{who}_{command.lower()}", table, command, using, check)
            for who, tables, command, using, check in rules for table in tables]


POLICIES = _policies()


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def upgrade() -> None:
    op.create_table(
        "standard_setting_workshops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("facilitator", sa.Text, nullable=False),
        sa.Column("mcc_definition", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("recommended_cut", sa.Float),
        sa.Column("cut_se", sa.Float),
        sa.Column("closed_by", sa.Text),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "standard_setting_panellists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workshop_id", sa.Integer, sa.ForeignKey("standard_setting_workshops.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("expertise", sa.Text),
        sa.UniqueConstraint("workshop_id", "name"),
    )
    op.create_table(
        "standard_setting_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workshop_id", sa.Integer, sa.ForeignKey("standard_setting_workshops.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("cut", sa.Float),
        sa.Column("cut_se", sa.Float),
        sa.Column("impact", sa.Text),
        sa.UniqueConstraint("workshop_id", "number"),
    )
    op.create_table(
        "standard_setting_ratings",
        sa.Column("round_id", sa.Integer, sa.ForeignKey("standard_setting_rounds.id"), primary_key=True),
        sa.Column("panellist_id", sa.Integer, sa.ForeignKey("standard_setting_panellists.id"), primary_key=True),
        sa.Column("criterion_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("rated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pass_mark_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("workshop_id", sa.Integer, sa.ForeignKey("standard_setting_workshops.id"), nullable=False),
        sa.Column("from_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
        sa.Column("to_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
        sa.Column("old_pass_mark", sa.Float, nullable=False),
        sa.Column("new_pass_mark", sa.Float, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("adopted_by", sa.Text, nullable=False),
        sa.Column("adopted_at", sa.DateTime, nullable=False),
    )
    if op.get_context().dialect.name == "postgresql":
        for privilege, target in OFFICE_GRANTS:
            on = target if target.startswith("SEQUENCE ") else f"TABLE {target}"
            op.execute(f"GRANT {privilege} ON {on} TO {OFFICE}")
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, table, command, using, check in POLICIES:
            op.execute(f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {PEOPLE}"
                       + (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else ""))
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    # Dropping a table drops its policies and grants (and its serial's sequence) with it.
    for table in reversed(TABLES):
        op.drop_table(table)
    _set_schema_version(SCHEMA_VERSION - 1)
