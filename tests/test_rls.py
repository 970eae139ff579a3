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
         "nobody.ian": None}


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
          "cc_notes")


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
                                     "certificates", "certificate_events", "appeals")}
NOTHING = {**EVERYONE_READS, **NOT_GRANTED,
           **{t: set() for t in ("candidates", "raters", "conflicts", "submissions", "assignments",
                                 "criterion_scores", "decisions", "resolved_scores", "submission_documents",
                                 "person_roles", "outbox")},
           "audit": OWN, **{t: 0 for t in ("cc_agents", "cc_calls", "cc_actions", "cc_notes")}}
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
