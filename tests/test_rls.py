"""Confidentiality enforced by PostgreSQL (migration 0007): each person connects as their own database role, and
row-level security decides what they read and write, whatever their kernel runs.

A small certification office is built with the real API as the database's owner; then every person connects as
themselves (trust authentication on the test server's 127.0.0.1; peer authentication over the socket in
production) and queries every table (the matrix), tries the attacks a kernel could run (raw SQL, forged names, a
role revoked while their server runs) and does their ordinary work through the application.
"""
from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

from evalkit import access
from evalkit import callcert as cc
from evalkit.evaluation import workflow as wf
from evalkit.store import StoreError, migrate, open_store, schema, utcnow, workspace_url
from test_migrations import database_at, rows_kept, snapshot

ROOT = Path(__file__).resolve().parent.parent
RECEIVED = dt.date(2026, 9, 1)

#: Who works in the test office, and the role each holds (nobody.ian holds none).
ROLES = {"sme.ana": "rater", "sme.bo": "rater", "sme.cy": "rater", "adj.dee": "adjudicator", "lead.eve": "lead_sme",
         "psy.fay": "psychometrician", "office.kim": "admin", "cert.gil": "certifier", "coord.hal": "coordinator",
         "cand.jo": "candidate", "agent.al": "agent", "nobody.ian": None}


# --- the office ----------------------------------------------------------------------------------------------


def _new_database(pg_server: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


def as_person(url: str, username: str) -> str:
    """``url`` with ``username`` as the user: how that person's server reaches the database."""
    return sa.engine.make_url(url).set(username=username, password=None).render_as_string(hide_password=False)


def _programs(folder: Path) -> Path:
    """The shipped programs with ICMI-SL showing candidates' names to raters (every other program hides them)."""
    shutil.copytree(ROOT / "rubrics", folder)
    path = folder / "programs.yaml"
    text = path.read_text()
    assert "  ICMI-SL:\n" in text
    path.write_text(text.replace("  ICMI-SL:\n", "  ICMI-SL:\n    hide_candidate_from_raters: false\n", 1))
    return path


def _levels(store, sid, value):
    return {c.id: value for c in wf.rubric_for(store, wf.submission(store, sid)["rubric_version"]).criteria}


def _feedback(store, sid):
    return {c.id: "Explain the evidence." for c in wf.rubric_for(store, wf.submission(store, sid)["rubric_version"])
            .criteria}


def build_office(url: str, folder: Path) -> dict:
    """The office at ``url`` (a fresh PostgreSQL database), built by its owner; returns the ids by label.

    Submissions: ``open`` (ICMI-SL, names shown; ana and bo, drafts saved), ``hidden`` (ICMI-OM; ana and cy,
    nothing saved), ``adj`` (ICMI-OM; bo and cy disagreed, adj.dee adjudicates), ``dec`` (ICMI-SL; ana and cy
    agreed: decided). sme.ana has a declared conflict with C-OTHER, who has no submission.
    """
    office = open_store(url, create=True)
    try:
        wf.sync_programs(office, _programs(folder), actor="office")
        for external_id, first, last in (("C-OPEN", "Olive", "Open"), ("C-HID", "Hana", "Hidden"),
                                         ("C-ADJ", "Ada", "Split"), ("C-DEC", "Dan", "Decided"),
                                         ("C-OTHER", "Otto", "Other")):
            wf.add_candidate(office, external_id, first, last, f"{first.lower()}@example.org", actor="office")
        for username in ("sme.ana", "sme.bo", "sme.cy", "adj.dee", "lead.eve"):
            wf.add_rater(office, username, username.title(), is_adjudicator=username == "adj.dee",
                         is_lead=username == "lead.eve", actor="office")
        wf.declare_conflict(office, "sme.ana", "C-OTHER", "colleague", actor="office")
        ids = {}
        for label, candidate, program_id, raters in (("open", "C-OPEN", "ICMI-SL", ("sme.ana", "sme.bo")),
                                                     ("hidden", "C-HID", "ICMI-OM", ("sme.ana", "sme.cy")),
                                                     ("adj", "C-ADJ", "ICMI-OM", ("sme.bo", "sme.cy")),
                                                     ("dec", "C-DEC", "ICMI-SL", ("sme.ana", "sme.cy"))):
            ids[label] = wf.receive_submission(office, candidate, program_id, RECEIVED, True, actor="office")
            wf.assign_raters(office, ids[label], list(raters), actor="office")
        wf.save_draft(office, ids["open"], "sme.ana", {"PM1": 3})
        wf.save_draft(office, ids["open"], "sme.bo", {"PM1": 2})
        wf.submit_final(office, ids["adj"], "sme.bo", _levels(office, ids["adj"], 4))
        assert wf.submit_final(office, ids["adj"], "sme.cy", _levels(office, ids["adj"], 1),
                               _feedback(office, ids["adj"])) == "adjudication"
        wf.assign_adjudicator(office, ids["adj"], "adj.dee", actor="office")
        wf.submit_final(office, ids["dec"], "sme.ana", _levels(office, ids["dec"], 3))
        assert wf.submit_final(office, ids["dec"], "sme.cy", _levels(office, ids["dec"], 3)) == "decided"
        with office.transaction("office") as tx:
            for label, sid in ids.items():
                tx.insert(schema.submission_documents, {"submission_id": sid, "name": f"{label}.md",
                                                        "content": label.encode(), "sha256": "0" * 64,
                                                        "stored_at": utcnow()})
        # call certification: an agent, a scored call, its scorecard e-mail, and an office e-mail beside it
        agent = cc.add_agent(office, "Jane", "Agent", "2025-11-24", certifier="cert.gil", actor="office")
        cc.set_agent_email(office, agent, "jane.agent@example.org", actor="office")
        cc.score_call(office, agent, "cert.gil", {c.id: 4 for c in cc.load_scorecard().criteria}, "Clear.", "",
                      "Calm.", scored_on=dt.date(2025, 11, 24))
        assert cc.queue_call_scorecard(office, agent, 1, actor="office") is not None
        from evalkit.delivery import queue_message
        queue_message(office, "result_letter", "olive@example.org", "Your result", "Dear Olive", actor="office")
        for username, role in ROLES.items():
            access.provision_person(office, username)
            if role:
                access.grant(office, username, role, actor="office")
        ids["agent"] = agent
        return ids
    finally:
        office.dispose()


@pytest.fixture(scope="module")
def office(pg_server, tmp_path_factory):
    """One office for the read-only tests of this module: (url, ids)."""
    url = _new_database(pg_server)
    return url, build_office(url, tmp_path_factory.mktemp("programs") / "rubrics")


@pytest.fixture
def fresh_office(pg_url, tmp_path):
    """An office of the test's own, for tests that change it: (url, ids)."""
    return pg_url, build_office(pg_url, tmp_path / "rubrics")


@pytest.fixture
def people():
    """``connect(url, username)``: an engine as that person, disposed after the test."""
    engines = []

    def connect(url, username):
        engine = sa.create_engine(as_person(url, username))
        engines.append(engine)
        return engine
    yield connect
    for engine in engines:
        engine.dispose()


@pytest.fixture
def person_store():
    """``open_as(url, username)``: the store a person's server opens, disposed after the test."""
    stores = []

    def open_as(url, username):
        store = open_store(as_person(url, username))
        stores.append(store)
        return store
    yield open_as
    for store in stores:
        store.dispose()


def denied(excinfo) -> bool:
    """Refused by PostgreSQL's privileges or policies (SQLSTATE 42501), not by Python."""
    return isinstance(excinfo.value.orig, psycopg.errors.InsufficientPrivilege)


# --- the matrix: every role, every table ------------------------------------------------------------------------

#: What identifies a row of each table in the matrix (a query every person may try).
LABELS = {
    "submissions": "SELECT id FROM submissions",
    "assignments": "SELECT a.submission_id, a.rater_id FROM assignments a",
    "criterion_scores": "SELECT DISTINCT assignment_id FROM criterion_scores",
    "candidates": "SELECT external_id FROM candidates",
    "raters": "SELECT username FROM raters",
    "conflicts": "SELECT rater_id, candidate_id FROM conflicts",
    "decisions": "SELECT submission_id FROM decisions",
    "resolved_scores": "SELECT DISTINCT submission_id FROM resolved_scores",
    "submission_documents": "SELECT submission_id FROM submission_documents",
    "person_roles": "SELECT username, role FROM person_roles",
    "audit": "SELECT id FROM audit",
    "outbox": "SELECT kind FROM outbox",
}
TABLES = ("alembic_version", "meta", "programs", "rubric_versions", "candidates", "candidacies", "raters",
          "conflicts", "submissions", "assignments", "criterion_scores", "decisions", "resubmission_extensions",
          "resolved_scores", "notifications", "assessment_results", "audit", "certificates", "certificate_events",
          "appeals", "outbox", "person_roles", "submission_documents", "cc_agents", "cc_calls", "cc_actions",
          "cc_notes",
          # 0008: standard setting, the office's alone
          "standard_setting_workshops", "standard_setting_panellists", "standard_setting_rounds",
          "standard_setting_ratings", "pass_mark_changes",
          # 0009: self-assessments, links, agents' reports, the call team's tickets and touch base (rows of the
          # candidates and agents themselves: tests/test_self_assessment.py, tests/test_self_report.py)
          "person_links", "self_assessments", "self_assessment_answers", "access_tokens", "cc_self_reports",
          "cc_equipment_tickets", "cc_touch_base")


def _seen(engine, table: str):
    """The labels of the rows of ``table`` the engine's role reads, or "denied"."""
    query = LABELS.get(table, f"SELECT count(*) FROM {table}")
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(query).all()
    except sa.exc.ProgrammingError as exc:
        assert isinstance(exc.orig, psycopg.errors.InsufficientPrivilege), exc
        return "denied"
    if table not in LABELS:
        return rows[0][0]  # a count
    return sorted(tuple(r) if len(r) > 1 else r[0] for r in rows)


def _translate(office_url, ids, value, table):
    """An expectation written with labels ("open", "sme.ana", ("dec", "sme.cy")) as the database's rows."""
    engine = sa.create_engine(office_url)
    try:
        with engine.connect() as conn:
            rater = dict(conn.exec_driver_sql("SELECT username, id FROM raters").all())
            candidate = dict(conn.exec_driver_sql("SELECT external_id, id FROM candidates").all())
            assignment = {(s, r): a for a, s, r in
                          conn.exec_driver_sql("SELECT id, submission_id, rater_id FROM assignments").all()}
    finally:
        engine.dispose()
    if not isinstance(value, (set, frozenset)):
        return value
    if table in ("submissions", "decisions", "resolved_scores", "submission_documents"):
        return sorted(ids[v] for v in value)
    if table == "assignments":
        return sorted((ids[s], rater[r]) for s, r in value)
    if table == "criterion_scores":
        return sorted(assignment[(ids[s], rater[r])] for s, r in value)
    if table == "conflicts":
        return sorted((rater[r], candidate[c]) for r, c in value)
    return sorted(value)


ALL = "all"  # every row the owner sees
OWN = "own"  # the audit log: the ids of the entries naming the person (INSERT ... RETURNING id needs them)
EVERYONE_READS = {"meta": ALL, "programs": ALL, "rubric_versions": ALL, "alembic_version": ALL}
NOT_GRANTED = {t: "denied" for t in ("candidacies", "resubmission_extensions", "notifications", "assessment_results",
                                     "certificates", "certificate_events", "appeals", "standard_setting_workshops",
                                     "standard_setting_panellists", "standard_setting_rounds",
                                     "standard_setting_ratings", "pass_mark_changes", "access_tokens")}
NOTHING = {**EVERYONE_READS, **NOT_GRANTED,
           **{t: set() for t in ("candidates", "raters", "conflicts", "submissions", "assignments",
                                 "criterion_scores", "decisions", "resolved_scores", "submission_documents",
                                 "person_roles", "outbox")},
           "audit": OWN, **{t: 0 for t in ("cc_agents", "cc_calls", "cc_actions", "cc_notes", "person_links",
                                           "self_assessments", "self_assessment_answers", "cc_self_reports",
                                           "cc_equipment_tickets", "cc_touch_base")}}
OFFICE_READS = {t: ALL for t in TABLES}


def _own_roles(username):
    return {(username, ROLES[username])}


EXPECTED = {
    "sme.ana": {**NOTHING, "person_roles": _own_roles("sme.ana"),
                "submissions": {"open", "hidden", "dec"},
                "assignments": {("open", "sme.ana"), ("hidden", "sme.ana"), ("dec", "sme.ana"), ("dec", "sme.cy")},
                "criterion_scores": {("open", "sme.ana"), ("dec", "sme.ana"), ("dec", "sme.cy")},
                "candidates": {"C-OPEN", "C-DEC"},  # ICMI-SL shows names; ICMI-OM (C-HID) hides them
                "raters": {"sme.ana", "sme.cy"}, "conflicts": {("sme.ana", "C-OTHER")},
                "decisions": {"dec"}, "resolved_scores": {"dec"},
                "submission_documents": {"open", "hidden", "dec"}},
    "sme.bo": {**NOTHING, "person_roles": _own_roles("sme.bo"),
               "submissions": {"open", "adj"}, "assignments": {("open", "sme.bo"), ("adj", "sme.bo")},
               "criterion_scores": {("open", "sme.bo"), ("adj", "sme.bo")},  # adjudication is not decided
               "candidates": {"C-OPEN"}, "raters": {"sme.bo"}, "submission_documents": {"open", "adj"}},
    "sme.cy": {**NOTHING, "person_roles": _own_roles("sme.cy"),
               "submissions": {"hidden", "adj", "dec"},
               "assignments": {("hidden", "sme.cy"), ("adj", "sme.cy"), ("dec", "sme.cy"), ("dec", "sme.ana")},
               "criterion_scores": {("adj", "sme.cy"), ("dec", "sme.cy"), ("dec", "sme.ana")},
               "candidates": {"C-DEC"}, "raters": {"sme.cy", "sme.ana"}, "decisions": {"dec"},
               "resolved_scores": {"dec"}, "submission_documents": {"hidden", "adj", "dec"}},
    "adj.dee": {**NOTHING, "person_roles": _own_roles("adj.dee"),
                "submissions": {"adj"},
                "assignments": {("adj", "sme.bo"), ("adj", "sme.cy"), ("adj", "adj.dee")},
                "criterion_scores": {("adj", "sme.bo"), ("adj", "sme.cy")},
                "raters": {"adj.dee", "sme.bo", "sme.cy"}, "submission_documents": {"adj"}},
    "lead.eve": {**NOTHING, "person_roles": _own_roles("lead.eve"),
                 "raters": {"sme.ana", "sme.bo", "sme.cy", "adj.dee", "lead.eve"}},
    "psy.fay": OFFICE_READS,
    "office.kim": OFFICE_READS,
    "cert.gil": {**NOTHING, "person_roles": _own_roles("cert.gil"), "outbox": {"call_scorecard"},
                 **{t: ALL for t in ("cc_agents", "cc_calls", "cc_actions", "cc_notes")}},
    "coord.hal": {**NOTHING, "person_roles": _own_roles("coord.hal"), "outbox": {"call_scorecard"},
                  **{t: ALL for t in ("cc_agents", "cc_calls", "cc_actions", "cc_notes")}},
    # a candidate or an agent reads their own records through their link (tests/test_self_assessment.py,
    # tests/test_self_report.py); the role alone opens nothing
    "cand.jo": {**NOTHING, "person_roles": _own_roles("cand.jo")},
    "agent.al": {**NOTHING, "person_roles": _own_roles("agent.al")},
    "nobody.ian": NOTHING,
}


@pytest.mark.postgres
@pytest.mark.parametrize("username", list(EXPECTED))
def test_what_each_role_reads_of_every_table(office, people, username):
    url, ids = office
    owner = sa.create_engine(url)
    try:
        seen = {t: _seen(people(url, username), t) for t in TABLES}
        expected = {t: _seen(owner, t) if EXPECTED[username][t] == ALL
                    else _translate(url, ids, EXPECTED[username][t], t) for t in TABLES}
        if EXPECTED[username]["audit"] == OWN:
            with owner.connect() as conn:
                expected["audit"] = sorted(conn.execute(sa.text("SELECT id FROM audit WHERE actor = :name"),
                                                        {"name": username}).scalars())
    finally:
        owner.dispose()
    assert seen == expected


@pytest.mark.postgres
def test_the_matrix_covers_every_table_and_every_role():
    assert set(TABLES) == set(schema.metadata.tables) | {"alembic_version"}
    assert {role for role in ROLES.values() if role} == set(access.ROLES)
    assert all(set(expected) == set(TABLES) for expected in EXPECTED.values())


# --- a rater's kernel running raw SQL ---------------------------------------------------------------------------


def _assignment_id(url, sid, username) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT a.id FROM assignments a JOIN raters r ON r.id = a.rater_id "
                                        "WHERE a.submission_id = :sid AND r.username = :name"),
                                {"sid": sid, "name": username}).scalar_one()
    finally:
        engine.dispose()


def _refused(engine, statement, params=None):
    """Run ``statement`` in a transaction of its own; returns pytest's ExceptionInfo of the refusal."""
    with pytest.raises(sa.exc.DBAPIError) as excinfo:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params or {})
    return excinfo


def _last_audit_id(url) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT max(id) FROM audit").scalar()
    finally:
        engine.dispose()


def _rowcount(engine, statement, params=None) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(statement), params or {}).rowcount


@pytest.mark.postgres
def test_a_rater_reads_only_their_own_scores_before_the_decision(office, people):
    url, ids = office
    bo = people(url, "sme.bo")
    with bo.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM criterion_scores").mappings().all()
        others = conn.execute(sa.text("SELECT * FROM assignments WHERE submission_id = :sid"),
                              {"sid": ids["open"]}).mappings().all()
    mine = {_assignment_id(url, ids["open"], "sme.bo"), _assignment_id(url, ids["adj"], "sme.bo")}
    assert rows and {r["assignment_id"] for r in rows} == mine  # not sme.ana's draft beside it, nor sme.cy's final
    assert [r["id"] for r in others] == [_assignment_id(url, ids["open"], "sme.bo")]
    ana_open = _assignment_id(url, ids["open"], "sme.ana")
    with bo.connect() as conn:  # asked by id, the other rater's draft is still not there
        assert conn.execute(sa.text("SELECT count(*) FROM criterion_scores WHERE assignment_id = :a"),
                            {"a": ana_open}).scalar() == 0


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["SELECT email FROM candidates", "SELECT * FROM candidates",
                                       "SELECT profile FROM candidates", "SELECT * FROM audit",
                                       "SELECT actor, after FROM audit", "SELECT * FROM candidacies",
                                       "SELECT * FROM notifications"])
def test_a_rater_is_refused_contact_details_and_the_audit_log_by_postgresql(office, people, statement):
    url, _ = office
    assert denied(_refused(people(url, "sme.ana"), statement))


@pytest.mark.postgres
def test_candidates_of_a_program_that_hides_them_are_invisible(office, people, person_store):
    url, ids = office
    ana = people(url, "sme.ana")
    with ana.connect() as conn:
        names = conn.exec_driver_sql("SELECT external_id, first_name, last_name FROM candidates "
                                     "ORDER BY external_id").all()
    assert names == [("C-DEC", "Dan", "Decided"), ("C-OPEN", "Olive", "Open")]  # C-HID: ICMI-OM hides names
    store = person_store(url, "sme.ana")
    assert wf.submission(store, ids["hidden"])["candidate"] == f"Candidate #{ids['hidden']:05d}"
    assert wf.submission(store, ids["open"])["candidate"] == "Olive Open"


@pytest.mark.postgres
@pytest.mark.parametrize("username", ["sme.ana", "office.kim", "psy.fay"])
@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'nobody'", "DELETE FROM audit",
                                       "TRUNCATE audit"])
def test_nobody_changes_the_audit_log(office, people, username, statement):
    url, _ = office
    assert denied(_refused(people(url, username), statement))


@pytest.mark.postgres
def test_the_owner_cannot_change_the_audit_log_either(office):
    url, _ = office
    owner = sa.create_engine(url)
    try:
        for statement in ("UPDATE audit SET actor = 'nobody'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(sa.exc.DBAPIError, match="the audit log is append-only"):
                with owner.begin() as conn:
                    conn.exec_driver_sql(statement)
    finally:
        owner.dispose()


@pytest.mark.postgres
def test_a_rater_cannot_write_into_another_raters_evaluation(office, people):
    url, ids = office
    bo = people(url, "sme.bo")
    ana_open = _assignment_id(url, ids["open"], "sme.ana")
    assert _rowcount(bo, "UPDATE criterion_scores SET level = 1 WHERE assignment_id = :a", {"a": ana_open}) == 0
    assert _rowcount(bo, "UPDATE assignments SET comment = 'x' WHERE id = :a", {"a": ana_open}) == 0
    excinfo = _refused(bo, "INSERT INTO criterion_scores (assignment_id, criterion_id, level, feedback, "
                           "rubric_version, updated_at) SELECT :a, 'PM2', 1, '', version, now() "
                           "FROM rubric_versions LIMIT 1", {"a": ana_open})
    assert denied(excinfo) and "row-level security" in str(excinfo.value.orig)
    # nor into their own evaluation once it is final, nor move their assignment to another submission
    bo_adj = _assignment_id(url, ids["adj"], "sme.bo")
    assert _rowcount(bo, "UPDATE criterion_scores SET level = 1 WHERE assignment_id = :a", {"a": bo_adj}) == 0
    assert _rowcount(bo, "UPDATE assignments SET status = 'draft' WHERE id = :a", {"a": bo_adj}) == 0
    assert denied(_refused(bo, "UPDATE assignments SET submission_id = :s WHERE id = :a",
                           {"s": ids["dec"], "a": _assignment_id(url, ids["open"], "sme.bo")}))
    assert denied(_refused(bo, "UPDATE assignments SET rater_id = rater_id"))
    owner = sa.create_engine(url)
    try:
        with owner.connect() as conn:
            assert conn.execute(sa.text("SELECT level FROM criterion_scores WHERE assignment_id = :a"),
                                {"a": ana_open}).scalars().all() == [3]
    finally:
        owner.dispose()


@pytest.mark.postgres
def test_a_rater_cannot_decide_or_change_a_submission(office, people):
    url, ids = office
    ana = people(url, "sme.ana")
    excinfo = _refused(ana, "UPDATE submissions SET state = 'decided' WHERE id = :s", {"s": ids["open"]})
    assert denied(excinfo) and "row-level security" in str(excinfo.value.orig)
    assert denied(_refused(ana, "UPDATE submissions SET due_on = due_on + 30"))  # no such column privilege
    assert denied(_refused(ana, "INSERT INTO decisions (submission_id, result, total_percent, method, decided_on, "
                                "decided_by, rubric_version) SELECT id, 'pass', 100, 'agreement', now(), 'x', "
                                "rubric_version FROM submissions WHERE id = :s", {"s": ids["open"]}))
    with ana.begin() as conn:  # locking a submission one is on is allowed (the workflow's steps do)
        assert conn.execute(sa.text("SELECT id FROM submissions WHERE id = :s FOR UPDATE"),
                            {"s": ids["open"]}).scalar() == ids["open"]
        assert conn.execute(sa.text("SELECT id FROM submissions WHERE id = :s FOR UPDATE"),
                            {"s": ids["adj"]}).scalar() is None


@pytest.mark.postgres
def test_a_rater_cannot_become_the_office(office, people):
    url, _ = office
    ana = people(url, "sme.ana")
    assert denied(_refused(ana, "SET ROLE evalkit_office"))
    assert denied(_refused(ana, "INSERT INTO person_roles VALUES ('sme.ana', 'admin', 'sme.ana', now())"))
    assert denied(_refused(ana, "UPDATE raters SET is_lead = true"))
    with ana.connect() as conn:  # the helper functions answer for the session's user only
        assert conn.exec_driver_sql("SELECT evalkit_has_role('admin'), evalkit_has_role('rater')").one() == \
            (False, True)


@pytest.mark.postgres
def test_the_office_roles_read_all_but_only_the_admin_writes(office, people):
    url, ids = office
    fay, kim = people(url, "psy.fay"), people(url, "office.kim")
    with fay.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM candidates WHERE email IS NOT NULL").scalar() == 5
    assert _rowcount(fay, "UPDATE raters SET name = 'x'") == 0
    assert denied(_refused(fay, "INSERT INTO programs VALUES ('X', 'X', '{}')"))
    assert _rowcount(kim, "UPDATE raters SET name = name") == 5
    with kim.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit").scalar() > 0


@pytest.mark.postgres
def test_the_call_team_reads_only_call_scorecards_in_the_outbox(office, people):
    url, _ = office
    for username in ("cert.gil", "coord.hal"):
        engine = people(url, username)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT kind FROM outbox").scalars().all() == ["call_scorecard"]
            assert conn.exec_driver_sql("SELECT count(*) FROM submissions").scalar() == 0
        assert denied(_refused(engine, "INSERT INTO outbox (kind, recipient, subject, body, attachments, "
                                       "message_id, status, attempts, created_at) VALUES ('result_letter', "
                                       "'a@example.org', 's', 'b', '[]', '<x@y>', 'pending', 0, now())"))
        assert denied(_refused(engine, "UPDATE outbox SET status = 'sent'"))


# --- the audit log's "who" comes from the database session --------------------------------------------------------


@pytest.mark.postgres
def test_a_forged_actor_is_recorded_as_the_session_user(fresh_office, people, person_store):
    url, ids = fresh_office
    bo = person_store(url, "sme.bo")
    assert bo.person == "sme.bo"
    start = _last_audit_id(url)
    with pytest.raises(wf.WorkflowError, match="unknown rater 'sme.ana'"):  # sme.ana's rater row is not bo's to see
        wf.save_draft(bo, ids["open"], "sme.ana", {"PM1": 1})
    with bo.transaction(actor="office.kim") as tx:  # the API's actor, forged
        tx.update(schema.assignments, {"id": _assignment_id(url, ids["open"], "sme.bo")}, {"comment": "mine"})
    with people(url, "sme.bo").begin() as conn:  # and raw SQL naming someone else
        conn.exec_driver_sql("INSERT INTO audit (at, actor, action, entity, entity_id) "
                             "VALUES (now(), 'office.kim', 'forged', 'x', '1')")
    owner = sa.create_engine(url)
    try:
        with owner.connect() as conn:
            logged = conn.execute(sa.text("SELECT action, actor FROM audit WHERE id > :start ORDER BY id"),
                                  {"start": start}).all()
            ana_levels = conn.execute(sa.text("SELECT level FROM criterion_scores WHERE assignment_id = :a"),
                                      {"a": _assignment_id(url, ids["open"], "sme.ana")}).scalars().all()
            # the owner (the office's service account) is not a person: the name it passes is kept
            conn.exec_driver_sql("INSERT INTO audit (at, actor, action, entity, entity_id) "
                                 "VALUES (now(), 'evalkit settle', 'service', 'x', '1')")
            assert conn.exec_driver_sql("SELECT actor FROM audit WHERE action = 'service'").scalar() == \
                "evalkit settle"
    finally:
        owner.dispose()
    assert logged == [("update", "sme.bo"), ("forged", "sme.bo")]
    assert ana_levels == [3]


# --- a role revoked while the person's server runs ------------------------------------------------------------------


@pytest.mark.postgres
def test_a_role_revoked_while_the_server_runs_refuses_the_next_action(fresh_office, people, person_store):
    url, ids = fresh_office
    ana = person_store(url, "sme.ana")
    raw = people(url, "sme.ana")
    assert {q["submission"] for q in wf.queue(ana, "sme.ana")} == {ids["open"], ids["hidden"], ids["dec"]}
    with raw.connect() as conn:  # a connection held open across the revocation, as a kernel's pool does
        assert conn.exec_driver_sql("SELECT count(*) FROM submissions").scalar() == 3
        conn.rollback()
        office = open_store(url)
        try:
            assert access.revoke(office, "sme.ana", "rater", actor="office")
        finally:
            office.dispose()
        assert conn.exec_driver_sql("SELECT count(*) FROM submissions").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM criterion_scores").scalar() == 0
    with pytest.raises(wf.WorkflowError, match="unknown rater 'sme.ana'"):
        wf.queue(ana, "sme.ana")
    with pytest.raises(wf.WorkflowError):
        wf.save_draft(ana, ids["open"], "sme.ana", {"PM1": 4})
    assert _rowcount(raw, "UPDATE criterion_scores SET level = 4") == 0
    with pytest.raises(access.AccessError, match="does not hold the role rater"):
        access.require(ana, "sme.ana", "rater")


@pytest.mark.postgres
def test_a_person_with_no_role_sees_no_submission(office, person_store):
    url, _ = office
    store = person_store(url, "nobody.ian")
    assert store.person == "nobody.ian"
    assert wf.pipeline_counts(store) == {}
    assert wf.registered_programs(store)  # what opening the store and its pages need is still readable
    with pytest.raises(wf.WorkflowError, match="unknown rater"):
        wf.queue(store, "nobody.ian")


# --- the application's own work, as each person ------------------------------------------------------------------


@pytest.mark.postgres
def test_raters_score_through_the_application_and_the_office_settles(fresh_office, person_store):
    url, ids = fresh_office
    sid = ids["open"]
    ana, bo = person_store(url, "sme.ana"), person_store(url, "sme.bo")
    queue = {q["submission"]: q for q in wf.queue(ana, "sme.ana")}
    assert set(queue) == {ids["open"], ids["hidden"], ids["dec"]}
    assert queue[sid]["state"] == "draft" and queue[sid]["candidate"] == "Olive Open"
    assert queue[ids["hidden"]]["candidate"] == f"Candidate #{ids['hidden']:05d}"
    wf.save_draft(ana, sid, "sme.ana", {"PM1": 4}, comment="Clear plan.")
    assert wf.rater_scores(ana, sid, "sme.ana")["levels"] == {"PM1": 4}
    assert wf.submit_final(ana, sid, "sme.ana", _levels(ana, sid, 4)) == "scoring"
    assert wf.submit_final(bo, sid, "sme.bo", _levels(bo, sid, 4)) == "scoring"  # bo cannot read ana's scores
    with pytest.raises(wf.WorkflowError, match="already final"):
        wf.submit_final(ana, sid, "sme.ana", _levels(ana, sid, 3))
    office = open_store(url)
    try:
        assert wf.submission(office, sid)["state"] == "scoring"
        assert wf.settle(office, sid) == "decided"  # the office's settle service compares
        with office.read() as conn:
            actors = set(conn.execute(sa.text("SELECT actor FROM audit WHERE action IN ('score', 'submit_final') "
                                              "AND at > now() - interval '1 hour'")).scalars())
    finally:
        office.dispose()
    assert {"sme.ana", "sme.bo"} <= actors
    assert wf.decided_result(ana, sid)["result"] == "pass"
    assert wf.rater_scores(ana, sid, "sme.ana", of="sme.bo")["levels"] == _levels(ana, sid, 4)  # decided: open


@pytest.mark.postgres
def test_the_adjudicator_resolves_and_decides_through_the_application(fresh_office, person_store):
    url, ids = fresh_office
    sid = ids["adj"]
    dee = person_store(url, "adj.dee")
    view = wf.adjudication_view(dee, sid, "adj.dee")
    assert set(view["outcomes"]) == {"sme.bo", "sme.cy"}
    assert wf.adjudicate(dee, sid, "adj.dee", _levels(dee, sid, 3), {}) == "decided"
    bo = person_store(url, "sme.bo")
    assert wf.decided_result(bo, sid)["method"] == "adjudication"
    assert wf.rater_scores(bo, sid, "sme.bo", of="sme.cy")["levels"] == _levels(bo, sid, 1)
    with pytest.raises(sa.exc.DBAPIError) as excinfo:  # decided: the adjudicator can change it no more
        with dee.engine.begin() as conn:
            conn.execute(sa.text("UPDATE submissions SET state = 'decided' WHERE id = :s"), {"s": sid})
    assert denied(excinfo)


def _waiting_for_an_adjudicator(url) -> int:
    """A new ICMI-SL submission whose raters (sme.ana, sme.bo) disagreed, with no adjudicator yet; and a second
    adjudicator, adj.zed."""
    office = open_store(url)
    try:
        wf.add_candidate(office, "C-WAIT", "Wes", "Waiting", actor="office")
        sid = wf.receive_submission(office, "C-WAIT", "ICMI-SL", RECEIVED, True, actor="office")
        wf.assign_raters(office, sid, ["sme.ana", "sme.bo"], actor="office")
        wf.submit_final(office, sid, "sme.ana", _levels(office, sid, 4))
        assert wf.submit_final(office, sid, "sme.bo", _levels(office, sid, 1), _feedback(office, sid)) == \
            "adjudication"
        wf.add_rater(office, "adj.zed", "Zed", is_adjudicator=True, actor="office")
        access.provision_person(office, "adj.zed")
        access.grant(office, "adj.zed", "adjudicator", actor="office")
    finally:
        office.dispose()
    return sid


@pytest.mark.postgres
def test_an_adjudicator_takes_a_submission_waiting_for_one(fresh_office, person_store, people):
    url, ids = fresh_office
    sid = _waiting_for_an_adjudicator(url)
    zed = people(url, "adj.zed")
    with zed.connect() as conn:
        assert conn.exec_driver_sql("SELECT id FROM submissions").scalars().all() == [sid]  # waiting, not scores
        assert conn.exec_driver_sql("SELECT count(*) FROM criterion_scores").scalar() == 0
    assert denied(_refused(people(url, "sme.ana"), "INSERT INTO assignments (submission_id, rater_id, role, "
                                                   "status, assigned_at) SELECT :s, id, 'adjudicator', 'assigned', "
                                                   "now() FROM raters", {"s": sid}))  # a rater is no adjudicator
    dee = person_store(url, "adj.dee")
    assert wf.assign_adjudicator(dee, sid, "adj.dee", actor="adj.dee") == "adj.dee"
    assert set(wf.adjudication_view(dee, sid, "adj.dee")["outcomes"]) == {"sme.ana", "sme.bo"}
    with zed.connect() as conn:  # taken: the other adjudicator no longer sees it, nor may take it
        assert conn.exec_driver_sql("SELECT count(*) FROM submissions").scalar() == 0
    with pytest.raises(wf.WorkflowError):
        wf.assign_adjudicator(person_store(url, "adj.zed"), sid, "adj.zed", actor="adj.zed")
    assert denied(_refused(zed, "INSERT INTO assignments (submission_id, rater_id, role, status, assigned_at) "
                                "SELECT :s, id, 'adjudicator', 'assigned', now() FROM raters", {"s": sid}))


@pytest.mark.postgres
def test_an_adjudicator_lists_the_submissions_waiting_for_one(fresh_office, person_store):
    url, _ = fresh_office
    sid = _waiting_for_an_adjudicator(url)
    assert [q["submission"] for q in wf.open_adjudications(person_store(url, "adj.zed"), "adj.zed")] == [sid]


@pytest.mark.postgres
def test_the_call_team_and_the_admin_work_through_the_application(fresh_office, person_store):
    url, ids = fresh_office
    gil = person_store(url, "cert.gil")
    start = _last_audit_id(url)
    scored = cc.score_call(gil, ids["agent"], "cert.gil", {c.id: 4 for c in cc.load_scorecard().criteria},
                           "Clear.", "", "Calm.", scored_on=dt.date(2025, 11, 25), actor="office.kim")
    assert scored.call_no == 2
    assert cc.queue_call_scorecard(gil, ids["agent"], 2)["kind"] == "call_scorecard"
    cc.add_note(gil, ids["agent"], "Jane Agent", "Asked for a copy.", on_date=dt.date(2025, 11, 25))
    kim = person_store(url, "office.kim")
    wf.add_candidate(kim, "C-NEW", "Nia", "New", "nia@example.org")
    sid = wf.receive_submission(kim, "C-NEW", "ICMI-SL", RECEIVED, True)
    assert wf.assign_raters(kim, sid, ["sme.ana", "sme.bo"]) == ["sme.ana", "sme.bo"]
    assert access.grant(kim, "new.person", "rater", actor="forged")  # no database role yet: nothing to sync
    owner = sa.create_engine(url)
    try:
        with owner.connect() as conn:
            actors = conn.execute(sa.text("SELECT DISTINCT actor FROM audit WHERE id > :start"),
                                  {"start": start}).scalars().all()
    finally:
        owner.dispose()
    assert sorted(actors) == ["cert.gil", "office.kim"]


# --- the migration -------------------------------------------------------------------------------------------------


def _policies(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'").scalar()


@pytest.mark.postgres
def test_0007_upgrades_a_0006_database_keeping_its_rows_and_downgrades(pg_url):
    from evalkit.store.engine import make_engine
    url = database_at("0006", pg_url)
    engine = make_engine(url)[0]
    now = dt.datetime(2026, 9, 1, 9)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
            conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name, email) "
                                 "VALUES ('C-1', 'A', 'B', 'a@example.org')"))
            conn.execute(sa.text("INSERT INTO person_roles VALUES ('sme.ana', 'rater', 'office', :now)"), {"now": now})
            conn.execute(sa.text("INSERT INTO audit (at, actor, action, entity, entity_id) "
                                 "VALUES (:now, 'office', 'insert', 'candidates', '1')"), {"now": now})
        before = snapshot(url)
        assert _policies(engine) == 0
        with engine.begin() as conn:  # to 0007 itself: later revisions have tests of their own
            migrate.run_migrations(conn, "0007")
        assert migrate.current_revision(url) == "0007"
        after = snapshot(url)
        assert rows_kept(before, after, version=7)
        assert _policies(engine) > 0
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                                        "AND relkind = 'r' AND relrowsecurity").scalar() == 26
        with engine.begin() as conn:
            command.downgrade(migrate.alembic_config(connection=conn), "0006")
        assert _policies(engine) == 0
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                                        "AND relrowsecurity").scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'evalkit%'")).scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM information_schema.role_table_grants WHERE grantee IN "
                                        "('evalkit_people', 'evalkit_office')").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM information_schema.role_column_grants WHERE grantee IN "
                                        "('evalkit_people', 'evalkit_office')").scalar() == 0
            # the groups are the cluster's, and stay for the other databases
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_roles WHERE rolname IN "
                                        "('evalkit_people', 'evalkit_office')").scalar() == 2
        assert snapshot(url) == {**before, "meta": [("schema_version", "6")]}
        with engine.begin() as conn:  # and up again
            migrate.run_migrations(conn, "0007")
        assert migrate.current_revision(url) == "0007"
        assert _policies(engine) > 0
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_0007_in_two_databases_of_one_cluster(pg_server, people):
    urls = [_new_database(pg_server), _new_database(pg_server)]
    stores = [open_store(url, create=True) for url in urls]  # the second finds the groups made
    try:
        for n, store in enumerate(stores):
            wf.add_rater(store, "sme.ana", "Ana", actor="office")
            access.provision_person(store, "sme.ana")
            if n == 0:
                access.grant(store, "sme.ana", "rater", actor="office")
        seen = []
        for url in urls:
            with people(url, "sme.ana").connect() as conn:
                seen.append(conn.exec_driver_sql("SELECT count(*) FROM raters").scalar())
        assert seen == [1, 0]  # the role is the cluster's; what it may do is each database's
    finally:
        for store in stores:
            store.dispose()


def test_0007_on_sqlite_only_moves_the_schema_version(tmp_path):
    from evalkit.store.engine import make_engine
    url = database_at("0006", workspace_url(tmp_path / "ws"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name) VALUES ('C-1', 'A', 'B')"))
    with engine.connect() as conn:
        objects = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()
    engine.dispose()
    before = snapshot(url)
    engine = make_engine(url)[0]
    with engine.begin() as conn:
        migrate.run_migrations(conn, "0007")
    engine.dispose()
    assert migrate.current_revision(str(tmp_path / "ws")) == "0007"
    after = snapshot(url)
    assert rows_kept(before, after, version=7) and after["meta"] == [("schema_version", "7")]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").all() == objects
    engine.dispose()
    migrate.upgrade(str(tmp_path / "ws"))
    store = open_store(tmp_path / "ws")
    try:
        with pytest.raises(access.AccessError, match="no database roles"):
            access.provision_person(store, "sme.ana")
    finally:
        store.dispose()


@pytest.mark.postgres
def test_an_admin_grants_and_revokes_roles_from_their_own_session(fresh_office, person_store):
    """An admin signed in as their own database role records roles (row-level security lets admins write
    person_roles); the office group, which only the owner may change, is synced at the person's next spawn."""
    url, _ = fresh_office
    from evalkit import access
    owner = open_store(url)
    access.provision_person(owner, "psy.new")
    admin = person_store(url, "office.kim")
    assert access.grant(admin, "psy.new", "psychometrician", actor="ignored") is True
    assert "psychometrician" in access.roles_of(owner, "psy.new")
    access.provision_person(owner, "psy.new")  # what the hub does as the owner when the server starts
    with owner.read() as conn:
        assert conn.execute(sa.text("SELECT pg_has_role('psy.new', 'evalkit_office', 'MEMBER')")).scalar()
    assert access.revoke(admin, "psy.new", "psychometrician", actor="ignored") is True
    assert access.roles_of(owner, "psy.new") == set()
    owner.dispose()
