"""The candidate's profile and candidacies, the work product's completion deadline, resubmission deadlines and
their extensions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- ``candidates.profile``: experience, education and civil service as JSON (see evalkit.instruments.eligibility).
- ``candidacies``: a candidate admitted to a program (eligible by a route, or by an admin's recorded override),
  and the day the work product assignment was issued to them.
- ``submissions.complete_by``: the completion deadline a work product was received against (NULL: none known).
- ``decisions.resubmit_by``: the deadline for a corrected work product after a deficient result (NULL for the
  decisions made before this revision: no deadline is enforced on them).
- ``resubmission_extensions``: later deadlines granted by an admin, with who and why.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 4


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def upgrade() -> None:
    op.add_column("candidates", sa.Column("profile", sa.Text))
    op.add_column("submissions", sa.Column("complete_by", sa.Date))
    op.add_column("decisions", sa.Column("resubmit_by", sa.Date))
    op.create_table(
        "candidacies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("route", sa.Text),
        sa.Column("advancing_from", sa.String(32)),
        sa.Column("override_by", sa.Text),
        sa.Column("override_reason", sa.Text),
        sa.Column("assignment_issued_on", sa.Date),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("candidate_id", "program_id"),
    )
    op.create_table(
        "resubmission_extensions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("until", sa.Date, nullable=False),
        sa.Column("granted_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("granted_at", sa.DateTime, nullable=False),
    )
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    op.drop_table("resubmission_extensions")
    op.drop_table("candidacies")
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+ and PostgreSQL): a batch copy of submissions would have
    # to drop a table that other tables' foreign keys point at.
    for table, column in (("decisions", "resubmit_by"), ("submissions", "complete_by"), ("candidates", "profile")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    _set_schema_version(SCHEMA_VERSION - 1)
