"""The schema of evalkit 0.1: every table, index and the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-10-20

A database made by evalkit 0.1 (``meta`` schema_version 1, no ``alembic_version`` table) already has exactly this
schema: ``evalkit db upgrade`` stamps it with this revision instead of running it. A frozen copy: it does not
import evalkit.store.schema.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 1

_TABLES = ("meta", "programs", "rubric_versions", "candidates", "raters", "conflicts", "submissions", "assignments",
           "criterion_scores", "decisions", "resolved_scores", "notifications", "audit", "cc_agents", "cc_calls",
           "cc_actions", "cc_notes")


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
    )
    op.create_table(
        "rubric_versions",
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("rubric_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("registered_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(64), nullable=False, unique=True),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("organisation", sa.Text),
    )
    op.create_table(
        "raters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("is_adjudicator", sa.Boolean, nullable=False),
        sa.Column("is_lead", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "conflicts",
        sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), primary_key=True),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("previous_id", sa.Integer, sa.ForeignKey("submissions.id")),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("manager_signoff", sa.Boolean, nullable=False),
        sa.Column("document", sa.Text),
        sa.Column("is_benchmark", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("candidate_id", "program_id", "attempt"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
        sa.Column("saved_at", sa.DateTime),
        sa.Column("submitted_at", sa.DateTime),
        sa.Column("comment", sa.Text),
        sa.UniqueConstraint("submission_id", "rater_id"),
    )
    op.create_table(
        "criterion_scores",
        sa.Column("assignment_id", sa.Integer, sa.ForeignKey("assignments.id"), primary_key=True),
        sa.Column("criterion_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.Integer),
        sa.Column("feedback", sa.Text, nullable=False),
        sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("total_percent", sa.Float, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    )
    op.create_table(
        "resolved_scores",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("criterion_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("feedback", sa.Text, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Text, nullable=False),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.create_table(
        "cc_agents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("certifier", sa.Text),
        sa.Column("equipment_issue", sa.Text),
        sa.Column("tbt_hours", sa.Float),
        sa.Column("tbt_done_on", sa.Date),
        sa.Column("completed_on", sa.Date),
    )
    op.create_table(
        "cc_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
        sa.Column("call_no", sa.Integer, nullable=False),
        sa.Column("certifier", sa.Text, nullable=False),
        sa.Column("scored_on", sa.Date, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("levels", sa.Text, nullable=False),
        sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
        sa.Column("went_well", sa.Text, nullable=False),
        sa.Column("marked_down", sa.Text, nullable=False),
        sa.Column("positive", sa.Text, nullable=False),
        sa.Column("duration_hours", sa.Float),
        sa.UniqueConstraint("agent_id", "call_no"),
    )
    op.create_table(
        "cc_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "cc_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )

    # The audit log is append-only in the database itself, not only by convention in the code.
    if op.get_context().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_no_{action.lower()} BEFORE {action} ON audit "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    elif op.get_context().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
                   "FOR EACH ROW EXECUTE FUNCTION audit_append_only()")

    op.create_index("ix_assignments_rater", "assignments", ["rater_id", "status"])
    op.create_index("ix_submissions_state", "submissions", ["state"])
    op.create_index("ix_audit_entity", "audit", ["entity", "entity_id"])

    op.bulk_insert(sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text)),
                   [{"key": "schema_version", "value": str(SCHEMA_VERSION)}])


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_append_only ON audit")
        op.execute("DROP FUNCTION audit_append_only()")
    for name in reversed(_TABLES):  # the triggers and indexes go with their tables
        op.drop_table(name)
