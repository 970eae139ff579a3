"""The people being assessed: candidates' self-assessments, single-use access links, agents' end-of-day reports.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11

- ``person_links``: a signed-in person (hub username) who is a candidate or an agent, so that their own page
  shows their own records.
- ``self_assessments`` and ``self_assessment_answers``: a candidate's self-assessment for a program on one
  instrument version (its YAML kept), a draft until submitted as final, and one rating per competency statement.
- ``access_tokens``: single-use links that expire, for bodies without a hub. Only the SHA-256 of a token is stored;
  the token itself is shown once, when the link is issued. A token is used up when the self-assessment it opened
  is submitted.
- ``cc_self_reports``: an agent's end-of-day report (progress, TBT modules done, blockers), through the form
  (``via = form``) or an e-mail the Cert Coordinator enters (``via = email``); one per agent and day.
- ``cc_equipment_tickets``: an agent's equipment issue worked on with IT, with IT's ticket reference, the day it
  was opened and the day it was closed (its age on the coordinator's team view).
- ``cc_touch_base``: the notes of the Cert Coordinator's morning touch base with the certifiers.

Training days (day 1 systems and scripting, the morning of day 2 role plays and call shadowing) need no storage:
they are the two business days before an agent's start date (``evalkit.callcert.self_report.training_days``).

On PostgreSQL (after 0007) the new tables are granted and get row-level security in 0007's style: admins read
and write them all, psychometricians read all but ``access_tokens``; a person linked in ``person_links`` as a
candidate reads and writes their own self-assessment while it is a draft, and reads it after; a person linked as
an agent reads their own agent row, calls (the scorecards with the coaching note), notes and reports and adds
their own report (and its progress note); certifiers and the coordinator read the reports and add one (the
e-mail fallback). ``access_tokens`` is granted to the office only: the token page has no database role of its own; it runs in the office's server (the
database owner's service, as ``evalkit settle`` does) and checks the token in Python before it reads or writes
anything. The helper functions are SECURITY DEFINER, owned by the owner, ``search_path`` pinned, as 0007's.
On SQLite the tables are made and the schema version moves.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 9

PEOPLE, OFFICE = "evalkit_people", "evalkit_office"

TEAM_TABLES = ("cc_equipment_tickets", "cc_touch_base")
TABLES = ("person_links", "self_assessments", "self_assessment_answers", "access_tokens", "cc_self_reports",
          *TEAM_TABLES)
SERIAL = ("self_assessments", "access_tokens", "cc_self_reports", *TEAM_TABLES)

PEOPLE_GRANTS = (
    ("SELECT", "person_links"),
    *[("SELECT, INSERT, UPDATE", t) for t in ("self_assessments", "self_assessment_answers")],
    ("SELECT, INSERT", "cc_self_reports"),
    *[("SELECT, INSERT, UPDATE", t) for t in TEAM_TABLES],
    *[("USAGE", f"SEQUENCE {t}_id_seq") for t in ("self_assessments", "cc_self_reports", *TEAM_TABLES)],
)
OFFICE_GRANTS = (
    *[("SELECT, INSERT, UPDATE", t) for t in TABLES],
    *[("USAGE, SELECT", f"SEQUENCE {t}_id_seq") for t in SERIAL],
)

FUNCTIONS = {
    "evalkit_my_candidate()": ("integer", """
        SELECT candidate_id FROM person_links WHERE username = session_user"""),
    "evalkit_my_agent()": ("integer", """
        SELECT agent_id FROM person_links WHERE username = session_user"""),
    # the session's candidate owns the self-assessment (p_draft: and it is still a draft)
    "evalkit_own_self_assessment(p_id integer, p_draft boolean)": ("boolean", """
        SELECT EXISTS (SELECT 1 FROM self_assessments s JOIN person_links l ON l.candidate_id = s.candidate_id
                       WHERE s.id = p_id AND l.username = session_user AND (NOT p_draft OR s.state = 'draft'))"""),
}


def _role(name: str) -> str:
    return f"(SELECT evalkit_has_role('{name}'))"  # 0007's helper, once per statement


ADMIN, PSYCHOMETRICIAN = _role("admin"), _role("psychometrician")
CALL_TEAM = f"({_role('certifier')} OR {_role('coordinator')})"
MY_CANDIDATE, MY_AGENT = "(SELECT evalkit_my_candidate())", "(SELECT evalkit_my_agent())"


def _policies() -> list[tuple[str, str, str, str | None, str | None]]:
    """(name, table, command, USING, WITH CHECK) of every policy, permissive, for ``evalkit_people``."""
    rules = [
        ("admin", TABLES, "SELECT", ADMIN, None),
        ("admin", TABLES, "INSERT", None, ADMIN),
        ("admin", TABLES, "UPDATE", ADMIN, ADMIN),
        ("psychometrician", tuple(t for t in TABLES if t != "access_tokens"), "SELECT", PSYCHOMETRICIAN, None),
        ("own", ("person_links",), "SELECT", "username = session_user", None),
        # the candidate: their own self-assessment, written while a draft
        ("candidate", ("self_assessments",), "SELECT", f"candidate_id = {MY_CANDIDATE}", None),
        ("candidate", ("self_assessments",), "INSERT", None, f"candidate_id = {MY_CANDIDATE} AND state = 'draft'"),
        ("candidate", ("self_assessments",), "UPDATE", f"candidate_id = {MY_CANDIDATE} AND state = 'draft'",
         f"candidate_id = {MY_CANDIDATE}"),
        ("candidate", ("self_assessment_answers",), "SELECT",
         "evalkit_own_self_assessment(self_assessment_id, false)", None),
        ("candidate", ("self_assessment_answers",), "INSERT", None,
         "evalkit_own_self_assessment(self_assessment_id, true)"),
        ("candidate", ("self_assessment_answers",), "UPDATE", "evalkit_own_self_assessment(self_assessment_id, true)",
         "evalkit_own_self_assessment(self_assessment_id, true)"),
        ("candidate", ("candidates",), "SELECT", f"id = {MY_CANDIDATE}", None),
        # the agent: their own agent row, calls and reports; a report only for themselves
        ("agent", ("cc_agents",), "SELECT", f"id = {MY_AGENT}", None),
        ("agent", ("cc_calls", "cc_self_reports", "cc_notes"), "SELECT", f"agent_id = {MY_AGENT}", None),
        ("agent", ("cc_self_reports",), "INSERT", None, f"agent_id = {MY_AGENT} AND via = 'form'"),
        ("agent", ("cc_notes",), "INSERT", None, f"agent_id = {MY_AGENT}"),  # the report's progress note
        # the call team reads every report and enters the e-mail fallback
        ("call_team", ("cc_self_reports",), "SELECT", CALL_TEAM, None),
        ("call_team", ("cc_self_reports",), "INSERT", None, CALL_TEAM),
        ("call_team", TEAM_TABLES, "SELECT", CALL_TEAM, None),
        ("call_team", TEAM_TABLES, "INSERT", None, CALL_TEAM),
        ("call_team", TEAM_TABLES, "UPDATE", CALL_TEAM, CALL_TEAM),
    ]
    return [(f"{table}_{who}_{command.lower()}", table, command, using, check)
            for who, tables, command, using, check in rules for table in tables]


POLICIES = _policies()


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def _identity(signature: str) -> str:
    name, arguments = signature[:-1].split("(")
    return f"{name}({', '.join(a.split()[-1] for a in arguments.split(',') if a.strip())})"


def upgrade() -> None:
    op.create_table(
        "person_links",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), unique=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), unique=True),
        sa.Column("linked_by", sa.Text, nullable=False),
        sa.Column("linked_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "self_assessments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("instrument_id", sa.String(64), nullable=False),
        sa.Column("instrument_version", sa.String(32), nullable=False),
        sa.Column("instrument_source", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("saved_at", sa.DateTime),
        sa.Column("submitted_at", sa.DateTime),
        sa.UniqueConstraint("candidate_id", "program_id"),
    )
    op.create_table(
        "self_assessment_answers",
        sa.Column("self_assessment_id", sa.Integer, sa.ForeignKey("self_assessments.id"), primary_key=True),
        sa.Column("statement_id", sa.String(32), primary_key=True),
        sa.Column("level", sa.Integer),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("used_at", sa.DateTime),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "cc_self_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("tbt_modules", sa.Text, nullable=False),
        sa.Column("blockers", sa.Text, nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.Text, nullable=False),
        sa.Column("reported_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("agent_id", "on_date"),
    )
    op.create_table(
        "cc_equipment_tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
        sa.Column("issue", sa.Text, nullable=False),
        sa.Column("ticket_ref", sa.String(64), nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("closed_on", sa.Date),
    )
    op.create_table(
        "cc_touch_base",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    if op.get_context().dialect.name == "postgresql":
        for signature, (returns, body) in FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE sql STABLE SECURITY DEFINER "
                       f"SET search_path = public, pg_temp AS $$ {body.strip()} $$")
            op.execute(f"REVOKE ALL ON FUNCTION {_identity(signature)} FROM PUBLIC")
            op.execute(f"GRANT EXECUTE ON FUNCTION {_identity(signature)} TO {PEOPLE}")
        for grants, group in ((PEOPLE_GRANTS, PEOPLE), (OFFICE_GRANTS, OFFICE)):
            for privilege, target in grants:
                on = target if target.startswith("SEQUENCE ") else f"TABLE {target}"
                op.execute(f"GRANT {privilege} ON {on} TO {group}")
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, table, command, using, check in POLICIES:
            op.execute(f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {PEOPLE}"
                       + (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else ""))
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # policies on the older tables go by name; the new tables' go with them
        for name, table, *_ in POLICIES:
            if table not in TABLES:
                op.execute(f"DROP POLICY {name} ON {table}")
    for table in reversed(TABLES):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        for signature in reversed(list(FUNCTIONS)):
            op.execute(f"DROP FUNCTION {_identity(signature)}")
    _set_schema_version(SCHEMA_VERSION - 1)
