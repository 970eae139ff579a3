"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

A migration is a frozen copy of the change: write the DDL out here (op.add_column, op.create_table, ...) and do
not import evalkit.store.schema. Then set HEAD_REVISION in evalkit/store/migrate.py to this revision, change
evalkit/store/schema.py to match, and add a test to tests/test_migrations.py that starts from
``database_at(<previous revision>, url)``.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = ${int(up_revision)}


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
    _set_schema_version(SCHEMA_VERSION - 1)
