"""Close the two ways around the append-only audit log that 0001's row triggers left open.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

* SQLite: ``INSERT OR REPLACE INTO audit`` with an existing id deletes the old row without firing its DELETE
  trigger (SQLite fires delete triggers for REPLACE only with recursive_triggers on, which a hostile connection
  would not set). A BEFORE INSERT trigger refuses an insert whose id is already there.
* PostgreSQL: ``TRUNCATE audit`` fires no row trigger. A statement-level BEFORE TRUNCATE trigger refuses it.

No table changes, so schema.py is unchanged.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 2


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit "
                   "WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id) "
                   "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    elif dialect == "postgresql":  # the function audit_append_only() is 0001's
        op.execute("CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER audit_no_replace")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER audit_no_truncate ON audit")
    _set_schema_version(SCHEMA_VERSION - 1)
