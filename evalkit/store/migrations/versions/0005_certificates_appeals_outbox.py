"""Certificates and their history, appeals, re-evaluation after an upheld appeal, and the e-mail outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- ``certificates``: one per candidate and program, its number and verification code kept through reissue and
  recertification; ``status`` active, suspended or withdrawn (expiry is ``valid_until`` passing).
- ``certificate_events``: what happened to a certificate (issue, reissue, suspend, reinstate, withdraw,
  recertify, remind), by whom, why, and the file issued with its SHA-256; append-only like the audit log.
- ``appeals``: a candidate's appeal of a decided result, its grounds, due date, acknowledgement and decision.
- ``submissions.reevaluates_id``: the fresh blind evaluation an upheld appeal opens, linked to the original.
- ``outbox``: every e-mail evalkit sends, its attachments' SHA-256, status, attempts and last error.
- ``cc_agents.email``: where an agent's call scorecards go.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 5


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def upgrade() -> None:
    op.add_column("submissions", sa.Column("reevaluates_id", sa.Integer))
    op.add_column("cc_agents", sa.Column("email", sa.Text))
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("certified_on", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("candidate_id", "program_id"),
    )
    op.create_table(
        "certificate_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("certificate_id", sa.Integer, sa.ForeignKey("certificates.id"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("valid_until", sa.Date),
        sa.Column("file", sa.Text),
        sa.Column("sha256", sa.String(64)),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("acknowledged_on", sa.Date),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_on", sa.Date),
        sa.Column("outcome", sa.String(16)),
        sa.Column("outcome_reason", sa.Text),
        sa.Column("reevaluation_id", sa.Integer, sa.ForeignKey("submissions.id")),
        sa.Column("outcome_notified_on", sa.Date),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attachments", sa.Text, nullable=False),
        sa.Column("ref", sa.Text),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    op.drop_index("ix_outbox_status", "outbox")
    for table in ("outbox", "appeals", "certificate_events", "certificates"):
        op.drop_table(table)
    op.execute("ALTER TABLE submissions DROP COLUMN reevaluates_id")
    op.execute("ALTER TABLE cc_agents DROP COLUMN email")
    _set_schema_version(SCHEMA_VERSION - 1)
