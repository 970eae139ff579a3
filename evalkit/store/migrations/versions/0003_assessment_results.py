"""The Knowledge & Skills Assessment results of each candidate: one row per attempt at a component.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

A program's knowledge assessments (``knowledge_1`` ... ``knowledge_4``) are scored outside evalkit and imported;
each attempt is kept (a retake is a new attempt, never an overwrite), and a component passes at the program's mark.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 3


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def upgrade() -> None:
    op.create_table(
        "assessment_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("component", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("maximum", sa.Float, nullable=False),
        sa.Column("taken_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("candidate_id", "program_id", "component", "attempt"),
    )
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    op.drop_table("assessment_results")
    _set_schema_version(SCHEMA_VERSION - 1)
