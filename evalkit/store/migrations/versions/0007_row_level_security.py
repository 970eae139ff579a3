"""Confidentiality enforced by PostgreSQL: each person's own database role, row-level security policies.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

On PostgreSQL every person signed in through the hub connects as a login role of their own name (made by
``evalkit.access.provision_person``), a member of the group ``evalkit_people``; admins and psychometricians are
also in ``evalkit_office``. This revision gives those two groups their table privileges and puts row-level
security on every table a person can reach, with policies that follow the roles recorded in ``person_roles``
(read at every statement, so a role revoked while a person's server runs is gone at their next query):

- a rater (rater, lead_sme, adjudicator) reads the submissions they are assigned to and only their own assignment
  and scores until the submission is decided (an adjudicator: every score of the submission they adjudicate),
  writes scores only into their own assignment while it is not final, and reads a candidate's name only where
  the program does not hide it (``"hide_candidate_from_raters": false`` in ``programs.definition``; a program
  that does not say is hidden), never a candidate's contact details (column privileges);
- an adjudicator also sees and takes a submission in adjudication that has no adjudicator yet (one they did not
  score, with no declared conflict), and records the decision of the submission they adjudicate (decisions,
  resolved_scores, the submission's state from ``adjudication`` to ``decided``);
- a certifier or coordinator reads and writes the call-certification tables and queues call scorecard e-mails;
- a psychometrician reads everything and writes nothing; an admin reads and writes everything but the audit log;
- a person with no role reads programs, rubric versions and ``meta`` (what opening the store needs), no more;
- everyone may append to the audit log; only office roles read it; its ``actor`` is set from the database session
  (``session_user``) by a trigger, whatever name a person's kernel passes. 0001's and 0002's triggers still
  refuse UPDATE, DELETE and TRUNCATE of it for everyone.

The database's owner (who runs this migration, the CLI and the office's services such as ``evalkit settle``) owns
the tables and so is not subject to row-level security: it is the certification office's service account. The
owner needs CREATEROLE the first time (the two groups are cluster-wide and made only if missing; many databases of
one cluster share them, so the downgrade leaves them and revokes only this database's grants). The policies call
SECURITY DEFINER helper functions (owned by the owner, ``search_path`` pinned) so that no policy reads a table
through another table's policy. A later migration that adds a table must grant it and enable row-level security
on it; a table nobody was granted stays the owner's alone. PostgreSQL 15 and later do not let PUBLIC create objects
in the ``public`` schema; on an older server revoke that (``REVOKE CREATE ON SCHEMA public FROM PUBLIC``).

On SQLite this revision only moves the schema version: SQLite has no roles (a workspace file is the single-desk
store, and every server that can open it reads all of it).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 7

PEOPLE, OFFICE = "evalkit_people", "evalkit_office"

#: Every table with row-level security (all of this revision's tables but Alembic's own).
TABLES = ("meta", "programs", "rubric_versions", "candidates", "candidacies", "raters", "conflicts", "submissions",
          "assignments", "criterion_scores", "decisions", "resubmission_extensions", "resolved_scores",
          "notifications", "assessment_results", "audit", "certificates", "certificate_events", "appeals", "outbox",
          "person_roles", "submission_documents", "cc_agents", "cc_calls", "cc_actions", "cc_notes")

#: Tables whose ``id`` is a serial column (``<table>_id_seq``).
SERIAL = ("candidates", "candidacies", "raters", "submissions", "assignments", "resubmission_extensions",
          "assessment_results", "audit", "certificates", "certificate_events", "appeals", "outbox", "cc_agents",
          "cc_calls", "cc_actions", "cc_notes")

CALL_TABLES = ("cc_agents", "cc_calls", "cc_actions", "cc_notes")

# --- privileges: what each group may do at all (the policies below narrow it row by row) --------------------

#: (privilege, table or sequence) granted to every person.
PEOPLE_GRANTS = (
    *[("SELECT", t) for t in ("alembic_version", "meta", "programs", "rubric_versions", "raters", "conflicts",
                              "submissions", "assignments", "criterion_scores", "decisions", "resolved_scores",
                              "submission_documents", "person_roles", "outbox", *CALL_TABLES)],
    ("SELECT (id, external_id, first_name, last_name)", "candidates"),  # never contact details or profile
    ("SELECT (id)", "audit"),  # INSERT ... RETURNING id of one's own entry; nothing else of the log
    *[("INSERT", t) for t in ("audit", "assignments", "criterion_scores", "decisions", "resolved_scores",
                              "rubric_versions", "outbox", *CALL_TABLES)],
    ("UPDATE (status, saved_at, submitted_at, comment)", "assignments"),  # never which submission or rater
    ("UPDATE (level, feedback, rubric_version, updated_at)", "criterion_scores"),
    # SELECT ... FOR UPDATE (workflow._lock_submission) needs UPDATE on a column; the policies let only an
    # adjudicator change it, from adjudication to decided.
    ("UPDATE (state)", "submissions"),
    *[("UPDATE", t) for t in CALL_TABLES],
    *[("USAGE", f"SEQUENCE {t}_id_seq") for t in ("audit", "assignments", "outbox", *CALL_TABLES)],
)

#: What admins and psychometricians may do besides (row-level security leaves psychometricians reading only).
OFFICE_GRANTS = (
    ("SELECT", "alembic_version"),
    ("SELECT", "audit"),
    *[("SELECT, INSERT, UPDATE", t) for t in TABLES if t != "audit"],
    *[("DELETE", t) for t in ("person_roles", "assignments", "criterion_scores")],  # what the office's code deletes
    *[("USAGE, SELECT", f"SEQUENCE {t}_id_seq") for t in SERIAL],
)

# --- helper functions: SECURITY DEFINER, so they read the tables as the owner (no policy within a policy) -------

_RATER = "evalkit_rater_id()"

#: name(arguments) -> (return type, SQL body). ``session_user`` throughout: a person can SET ROLE to a group, never
#: change the session's user.
FUNCTIONS = {
    "evalkit_is_person()": ("boolean", """
        SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                       JOIN pg_roles u ON u.oid = m.member
                       WHERE g.rolname = 'evalkit_people' AND u.rolname = session_user)"""),
    "evalkit_has_role(p_role text)": ("boolean", """
        SELECT EXISTS (SELECT 1 FROM person_roles WHERE username = session_user AND role = p_role)"""),
    "evalkit_rater_id()": ("integer", """
        SELECT id FROM raters WHERE username = session_user AND active"""),
    # the session's rater holds an assignment (as rater or adjudicator) on the submission
    "evalkit_on_submission(p_submission integer)": ("boolean", f"""
        SELECT EXISTS (SELECT 1 FROM assignments WHERE submission_id = p_submission AND rater_id = {_RATER})"""),
    # blind scoring: one's own assignment; every assignment of a submission one is on once it is decided, and of a
    # submission one adjudicates
    "evalkit_sees_assignment(p_submission integer, p_rater integer)": ("boolean", f"""
        SELECT coalesce(p_rater = {_RATER}, false) OR EXISTS (
            SELECT 1 FROM assignments a JOIN submissions s ON s.id = a.submission_id
            WHERE a.submission_id = p_submission AND a.rater_id = {_RATER}
              AND (s.state IN ('decided', 'notified') OR a.role = 'adjudicator'))"""),
    "evalkit_sees_scores(p_assignment integer)": ("boolean", """
        SELECT coalesce((SELECT evalkit_sees_assignment(submission_id, rater_id) FROM assignments
                         WHERE id = p_assignment), false)"""),
    # a rater's name and username where their assignment is visible (the adjudicator's view, decided results)
    "evalkit_sees_rater(p_rater integer)": ("boolean", """
        SELECT EXISTS (SELECT 1 FROM assignments
                       WHERE rater_id = p_rater AND evalkit_sees_assignment(submission_id, rater_id))"""),
    "evalkit_may_score(p_assignment integer)": ("boolean", f"""
        SELECT EXISTS (SELECT 1 FROM assignments
                       WHERE id = p_assignment AND rater_id = {_RATER} AND status <> 'final')"""),
    # the session's rater is the adjudicator of a submission now in adjudication (read with the statement's
    # snapshot: in an UPDATE's check, the state before the update)
    "evalkit_adjudicating(p_submission integer)": ("boolean", f"""
        SELECT EXISTS (SELECT 1 FROM assignments a JOIN submissions s ON s.id = a.submission_id
                       WHERE a.submission_id = p_submission AND a.rater_id = {_RATER} AND a.role = 'adjudicator'
                         AND s.state = 'adjudication')"""),
    # an adjudicator who may take a submission in adjudication that has none yet (evalkit.evaluation.workflow's
    # _eligible: active, did not score it nor the submission it re-evaluates, no declared conflict)
    "evalkit_may_take(p_submission integer)": ("boolean", f"""
        SELECT EXISTS (SELECT 1 FROM submissions s JOIN raters r ON r.id = {_RATER}
                       WHERE s.id = p_submission AND s.state = 'adjudication' AND r.is_adjudicator
                         AND NOT EXISTS (SELECT 1 FROM assignments a
                                         WHERE a.submission_id = s.id AND a.role = 'adjudicator')
                         AND NOT EXISTS (SELECT 1 FROM assignments a
                                         WHERE a.rater_id = r.id AND a.submission_id IN (s.id, s.reevaluates_id))
                         AND NOT EXISTS (SELECT 1 FROM conflicts c
                                         WHERE c.rater_id = r.id AND c.candidate_id = s.candidate_id))"""),
    # assigned to a submission of the candidate in a program that says it does not hide names from raters
    "evalkit_sees_candidate(p_candidate integer)": ("boolean", f"""
        SELECT EXISTS (SELECT 1 FROM submissions s JOIN assignments a ON a.submission_id = s.id
                       JOIN programs p ON p.id = s.program_id
                       WHERE s.candidate_id = p_candidate AND a.rater_id = {_RATER}
                         AND (p.definition::json ->> 'hide_candidate_from_raters') = 'false')"""),
}

# --- policies ---------------------------------------------------------------------------------------------------


def _role(name: str) -> str:
    # In a sub-select: evaluated once per statement (an InitPlan), not once per row.
    return f"(SELECT evalkit_has_role('{name}'))"


def _any(*names: str) -> str:
    return "(" + " OR ".join(_role(n) for n in names) + ")"


ADMIN, PSYCHOMETRICIAN, ADJUDICATOR = _role("admin"), _role("psychometrician"), _role("adjudicator")
SCORER = _any("rater", "lead_sme", "adjudicator")
CALL_TEAM = _any("certifier", "coordinator")
ME = f"(SELECT {_RATER})"


def _policies() -> list[tuple[str, str, str, str | None, str | None]]:
    """(name, table, command, USING, WITH CHECK) of every policy; all are permissive and apply to
    ``evalkit_people`` (a person passes a command on a row when any policy for it allows)."""
    rules: list[tuple[str, tuple[str, ...], str, str | None, str | None]] = [
        # who, tables, command, using, check
        ("admin", tuple(t for t in TABLES if t != "audit"), "SELECT", ADMIN, None),
        ("admin", tuple(t for t in TABLES if t != "audit"), "INSERT", None, ADMIN),
        ("admin", tuple(t for t in TABLES if t != "audit"), "UPDATE", ADMIN, ADMIN),
        ("admin", ("person_roles", "assignments", "criterion_scores"), "DELETE", ADMIN, None),
        ("admin", ("audit",), "SELECT", ADMIN, None),
        ("psychometrician", TABLES, "SELECT", PSYCHOMETRICIAN, None),
        ("everyone", ("meta", "programs", "rubric_versions"), "SELECT", "true", None),
        ("everyone", ("audit",), "INSERT", None, "actor = session_user"),  # the trigger has set it
        ("own", ("audit",), "SELECT", "actor = session_user", None),  # RETURNING id (the only column granted)
        ("own", ("person_roles",), "SELECT", "username = session_user", None),
        ("scorer", ("raters",), "SELECT",
         f"{SCORER} AND (id = {ME} OR {_role('lead_sme')} OR evalkit_sees_rater(id))", None),
        ("scorer", ("conflicts",), "SELECT", f"{SCORER} AND rater_id = {ME}", None),
        ("scorer", ("submissions",), "SELECT", f"{SCORER} AND evalkit_on_submission(id)", None),
        # an adjudicator sees, locks and takes a submission in adjudication that has no adjudicator yet
        ("adjudicator", ("submissions",), "SELECT", f"{ADJUDICATOR} AND evalkit_may_take(id)", None),
        ("adjudicator", ("assignments",), "INSERT", None,
         f"{ADJUDICATOR} AND rater_id = {ME} AND role = 'adjudicator' AND status = 'assigned' "
         "AND evalkit_may_take(submission_id)"),
        # locking the row (SELECT ... FOR UPDATE) is allowed; changing it is not ...
        ("scorer", ("submissions",), "UPDATE", f"{SCORER} AND evalkit_on_submission(id)", "false"),
        # ... but for the adjudicator's decision, from adjudication to decided
        ("adjudicator", ("submissions",), "UPDATE",
         f"{ADJUDICATOR} AND (evalkit_adjudicating(id) OR evalkit_may_take(id))",
         f"{ADJUDICATOR} AND evalkit_adjudicating(id) AND state = 'decided'"),
        ("scorer", ("assignments",), "SELECT", f"{SCORER} AND evalkit_sees_assignment(submission_id, rater_id)",
         None),
        ("scorer", ("assignments",), "UPDATE", f"{SCORER} AND rater_id = {ME} AND status <> 'final'",
         f"{SCORER} AND rater_id = {ME}"),
        ("scorer", ("criterion_scores",), "SELECT", f"{SCORER} AND evalkit_sees_scores(assignment_id)", None),
        ("scorer", ("criterion_scores",), "INSERT", None, f"{SCORER} AND evalkit_may_score(assignment_id)"),
        ("scorer", ("criterion_scores",), "UPDATE", f"{SCORER} AND evalkit_may_score(assignment_id)",
         f"{SCORER} AND evalkit_may_score(assignment_id)"),
        ("scorer", ("decisions", "resolved_scores", "submission_documents"), "SELECT",
         f"{SCORER} AND evalkit_on_submission(submission_id)", None),
        ("adjudicator", ("decisions", "resolved_scores"), "INSERT", None,
         f"{ADJUDICATOR} AND evalkit_adjudicating(submission_id)"),
        ("scorer", ("candidates",), "SELECT", f"{SCORER} AND evalkit_sees_candidate(id)", None),
        ("call_team", CALL_TABLES, "SELECT", CALL_TEAM, None),
        ("call_team", CALL_TABLES, "INSERT", None, CALL_TEAM),
        ("call_team", CALL_TABLES, "UPDATE", CALL_TEAM, CALL_TEAM),
        ("call_team", ("rubric_versions",), "INSERT", None, CALL_TEAM),  # the call scorecard's version
        # the call scorecard e-mail (evalkit.callcert.records.queue_call_scorecard): looked up, then queued
        ("call_team", ("outbox",), "SELECT", f"{CALL_TEAM} AND kind = 'call_scorecard'", None),
        ("call_team", ("outbox",), "INSERT", None,
         f"{CALL_TEAM} AND kind = 'call_scorecard' AND status = 'pending'"),
    ]
    return [(f"{table}_{who}_{command.lower()}", table, command, using, check)
            for who, tables, command, using, check in rules for table in tables]


POLICIES = _policies()

# --- the audit log's actor -----------------------------------------------------------------------------------------

ACTOR_FUNCTION = """
CREATE FUNCTION evalkit_audit_actor() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF evalkit_is_person() THEN
        NEW.actor := session_user;
    END IF;
    RETURN NEW;
END $$"""


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def _create_group(name: str) -> None:
    """The group role, made only if missing: it is cluster-wide and other databases may have made it (even at
    this moment: then the loser of the race finds it made)."""
    op.execute(f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
                CREATE ROLE {name} NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$""")


def _grant(grants, group: str) -> None:
    for privilege, target in grants:
        on = target if target.startswith("SEQUENCE ") else f"TABLE {target}"
        op.execute(f"GRANT {privilege} ON {on} TO {group}")


def _identity(signature: str) -> str:
    """``name(types)`` of a function's ``name(argument type, ...)``, as GRANT and DROP name it."""
    name, arguments = signature[:-1].split("(")
    return f"{name}({', '.join(a.split()[-1] for a in arguments.split(',') if a.strip())})"


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        _set_schema_version(SCHEMA_VERSION)
        return
    for group in (PEOPLE, OFFICE):
        _create_group(group)
    for signature, (returns, body) in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE sql STABLE SECURITY DEFINER "
                   f"SET search_path = public, pg_temp AS $$ {body.strip()} $$")
        op.execute(f"REVOKE ALL ON FUNCTION {_identity(signature)} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {_identity(signature)} TO {PEOPLE}")
    op.execute(ACTOR_FUNCTION)
    op.execute("CREATE TRIGGER audit_actor_from_session BEFORE INSERT ON audit "
               "FOR EACH ROW EXECUTE FUNCTION evalkit_audit_actor()")
    _grant(PEOPLE_GRANTS, PEOPLE)
    _grant(OFFICE_GRANTS, OFFICE)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for name, table, command, using, check in POLICIES:
        op.execute(f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {PEOPLE}"
                   + (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else ""))
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        _set_schema_version(SCHEMA_VERSION - 1)
        return
    for name, table, *_ in POLICIES:
        op.execute(f"DROP POLICY {name} ON {table}")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The groups stay (other databases of the cluster may use them); this database's grants go.
    for table in ("alembic_version", *TABLES):
        op.execute(f"REVOKE ALL ON TABLE {table} FROM {PEOPLE}, {OFFICE}")
    for table in SERIAL:
        op.execute(f"REVOKE ALL ON SEQUENCE {table}_id_seq FROM {PEOPLE}, {OFFICE}")
    op.execute("DROP TRIGGER audit_actor_from_session ON audit")
    op.execute("DROP FUNCTION evalkit_audit_actor()")
    for signature in reversed(list(FUNCTIONS)):
        op.execute(f"DROP FUNCTION {_identity(signature)}")
    _set_schema_version(SCHEMA_VERSION - 1)
