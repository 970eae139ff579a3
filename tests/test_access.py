"""Roles recorded in the workspace, the signed-in person in the views, the settle step a rater's own database role
leaves to the office, and work products kept in the database. (What PostgreSQL itself refuses each role:
tests/test_rls.py; the hub in a real browser: tests/browser/test_hub_browser.py.)"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import ipywidgets as w
import pytest
import sqlalchemy as sa

from evalkit import access
from evalkit.cli import main
from evalkit.evaluation import appeals, workflow
from evalkit.store import audit, criterion_scores, open_store, submission_documents
from evalkit.widgets import AdjudicationApp, ScoringApp
from eligible_profiles import add_eligible_candidate

RECEIVED = dt.date(2026, 9, 1)
SLOW = 3600  # no automatic save during a test


# --- roles --------------------------------------------------------------------------------------------------------


def test_roles_are_granted_listed_and_revoked_with_the_audit_log_naming_who(any_store):
    assert access.grant(any_store, "sme.ana", "rater", actor="office.kim") is True
    assert access.grant(any_store, "sme.ana", "rater", actor="office.kim") is False  # held already: nothing new
    access.grant(any_store, "sme.ana", "certifier", actor="office.kim")
    access.grant(any_store, "psy.lee", "psychometrician", actor="office.kim")
    assert access.roles_of(any_store, "sme.ana") == {"rater", "certifier"}
    assert access.holders(any_store) == {"psy.lee": {"psychometrician"}, "sme.ana": {"certifier", "rater"}}
    assert access.require(any_store, "sme.ana", "admin", "rater") == "rater"
    assert access.revoke(any_store, "sme.ana", "rater", actor="office.kim") is True
    assert access.revoke(any_store, "sme.ana", "rater", actor="office.kim") is False
    with pytest.raises(access.AccessError, match=r"^sme.ana does not hold the role rater or lead_sme; ask an admin"):
        access.require(any_store, "sme.ana", "rater", "lead_sme")
    with any_store.read() as conn:
        logged = conn.execute(sa.select(audit.c.actor, audit.c.action).where(audit.c.entity == "person_roles")
                              .order_by(audit.c.id)).all()
    assert logged == [("office.kim", "grant_role")] * 3 + [("office.kim", "revoke_role")]


@pytest.mark.parametrize("username, role, message", [
    ("Sme.Ana", "rater", "username 'Sme.Ana' is not valid; expected 1-32 lower-case letters"),
    ("x" * 33, "rater", "is not valid"),
    ("ana; DROP ROLE", "rater", "is not valid"),
    ("", "rater", "username '' is not valid"),
    ("sme.ana", "superuser", "unknown role 'superuser'; expected one of rater, adjudicator, lead_sme, certifier, "
                             "coordinator, psychometrician, admin"),
])
def test_a_bad_username_or_role_is_one_line_and_grants_nothing(any_store, username, role, message):
    with pytest.raises(access.AccessError, match=message):
        access.grant(any_store, username, role, actor="office.kim")
    assert access.holders(any_store) == {}


def test_nobody_signed_in_or_no_role_at_all_is_said_plainly(any_store):
    with pytest.raises(access.AccessError, match="^nobody is signed in"):
        access.require(any_store, None, "rater")
    with pytest.raises(access.AccessError, match=r"^j.doe does not hold the role admin \(no role at all\)"):
        access.require(any_store, "j.doe", "admin")


def test_the_roles_commands(workspace, capsys):
    ws = str(workspace)
    assert main(["roles", "grant", "sme.ana", "rater", "-w", ws]) == 0
    assert main(["roles", "list", "-w", ws]) == 0
    assert "sme.ana" in capsys.readouterr().out
    assert main(["roles", "grant", "sme.ana", "owner", "-w", ws]) == 1
    assert capsys.readouterr().err.startswith("evalkit: error: unknown role 'owner'")


def test_the_demo_gives_every_page_somebody_to_sign_in(demo_workspace):
    store = open_store(demo_workspace)
    try:
        held = access.holders(store)
    finally:
        store.dispose()
    assert {role for roles in held.values() for role in roles} == set(access.ROLES)
    assert access.landing_page(held["office.kim"])["page"] == "admin.ipynb"
    assert access.landing_page(held["sme.diallo"])["page"] == "score_submissions.ipynb"
    assert access.landing_page(held["sme.brooks"])["page"] == "call_certification.ipynb"  # a certifier too
    assert access.landing_page(held["adj.hughes"])["page"] == "adjudicate.ipynb"


# --- the views with a hub: identity from the hub, roles checked at every action ------------------------------------


@pytest.fixture
def demo(demo_copy):
    s = open_store(demo_copy)
    yield s
    s.dispose()


def _not_started(store, username):
    return next(q["submission"] for q in workflow.queue(store, username)
                if q["role"] == "rater" and q["state"] == "not started")


def test_with_a_hub_the_rater_is_who_signed_in_and_cannot_pick_another(demo, monkeypatch):
    assert demo.get_setting("allow_rater_choice") is True  # the single desk's list of names ...
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.brooks")
    app = ScoringApp(demo, "sme.chen", autosave_seconds=SLOW)  # ... and a name passed in are both ignored
    assert app.picker.chooser is None and app.username == "sme.brooks"
    assert "Sam Brooks" in app.picker.widget.value
    assert {r["submission"] for r in app.queue.rows} == {q["submission"] for q in workflow.queue(demo, "sme.brooks")}


def test_with_a_hub_a_person_without_the_role_gets_one_line_and_no_queue(demo, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.diallo")
    access.revoke(demo, "sme.diallo", "rater", actor="office.kim")  # still registered as a rater, no longer one
    app = ScoringApp(demo, autosave_seconds=SLOW)
    assert app.queue is None
    [box] = app.queue_box.children
    assert "sme.diallo does not hold the role rater or lead_sme (no role at all); ask an admin" in box.value
    monkeypatch.setenv("JUPYTERHUB_USER", "psy.moreau")  # a psychometrician, not registered as a rater
    app = ScoringApp(demo, autosave_seconds=SLOW)
    assert app.queue is None and "not registered as a rater" in app.picker.widget.value


def test_a_role_taken_away_while_the_page_is_open_refuses_the_next_save(demo, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.brooks")
    app = ScoringApp(demo, autosave_seconds=SLOW)
    sid = _not_started(demo, "sme.brooks")
    app.open(sid)
    criterion = next(iter(app.form.rows))
    app.form.rows[criterion].levels.value = 3
    assert app.form.save() is True
    access.revoke(demo, "sme.brooks", "rater", actor="office.kim")
    app.form.rows[criterion].levels.value = 4
    assert app.form.save() is False
    assert "sme.brooks does not hold the role rater or lead_sme" in app.form.message.value
    assert workflow.rater_scores(demo, sid, "sme.brooks")["levels"][criterion] == 3  # the refused edit not saved


# --- settling: a rater's own database role cannot compare; the office's service does ------------------------------


@pytest.fixture
def s(any_store):
    add_eligible_candidate(any_store, "CCOM-1", "Jane", "Smith", "jane@example.org")
    for name in ("r1", "r2"):
        workflow.add_rater(any_store, name, name.upper())
    return any_store


def _levels(store, sid, value=3):
    return {c.id: value for c in workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"]).criteria}


def test_in_a_single_desk_workspace_the_last_final_decides_and_nothing_is_left_to_settle(s):
    sid = workflow.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    workflow.assign_raters(s, sid, ["r1", "r2"])
    workflow.submit_final(s, sid, "r1", _levels(s, sid))
    assert workflow.ready_to_settle(s) == []  # one rater still scoring
    assert workflow.submit_final(s, sid, "r2", _levels(s, sid)) == "decided"
    assert workflow.ready_to_settle(s) == [] and workflow.settle_ready(s) == {}


@pytest.mark.postgres
def test_a_person_submitting_last_leaves_the_comparison_to_the_settle_service(pg_url, monkeypatch):
    store = open_store(pg_url, create=True)
    workflow.sync_programs(store)
    add_eligible_candidate(store, "CCOM-1", "Jane", "Smith", "jane@example.org")
    for name in ("r1", "r2"):
        workflow.add_rater(store, name, name.upper())
    sid = workflow.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True)
    workflow.assign_raters(store, sid, ["r1", "r2"])
    owner = open_store(pg_url)
    monkeypatch.setitem(store.__dict__, "person", "r2")  # as if connected as r2's own role
    listener = owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        listener.exec_driver_sql(f"LISTEN {workflow.SETTLE_CHANNEL}")
        workflow.submit_final(store, sid, "r1", _levels(store, sid))
        assert workflow.submit_final(store, sid, "r2", _levels(store, sid)) == "scoring"  # not compared here
        notified = [n.payload for n in listener.connection.driver_connection.notifies(timeout=2, stop_after=2)]
    finally:
        listener.close()
    assert str(sid) in notified
    with pytest.raises(workflow.WorkflowError, match="^r2 cannot settle submissions: comparing reads every rater's"):
        workflow.settle(store, sid)
    assert workflow.ready_to_settle(owner) == [sid]
    assert workflow.settle_ready(owner) == {sid: "decided"}
    assert workflow.decided_result(owner, sid)["result"] == "pass"
    assert workflow.settle_ready(owner) == {}  # settled once
    with owner.read() as conn:
        assert conn.execute(sa.select(audit.c.actor).where(audit.c.action == "decide")).scalars().all() == \
            [workflow.SETTLE_ACTOR] * 2
    store.dispose()
    owner.dispose()


def test_the_settle_command_decides_what_is_ready(workspace, capsys, monkeypatch):
    store = open_store(workspace)
    add_eligible_candidate(store, "CCOM-1", "Jane", "Smith", "jane@example.org")
    for name in ("r1", "r2"):
        workflow.add_rater(store, name, name.upper())
    sid = workflow.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True)
    workflow.assign_raters(store, sid, ["r1", "r2"])
    # Two finals recorded without the comparison, as a person's session on PostgreSQL leaves them.
    with store.transaction("test") as tx:
        tx.execute(sa.update(workflow.assignments).where(workflow.assignments.c.submission_id == sid)
                   .values(status="final"))
        for a in tx.execute(sa.select(workflow.assignments.c.id).where(
                workflow.assignments.c.submission_id == sid)).scalars():
            for cid, level in _levels(store, sid, 1).items():
                tx.execute(criterion_scores.insert().values(assignment_id=a, criterion_id=cid, level=level,
                                                            feedback="Missing.", rubric_version=workflow.submission(
                                                                store, sid)["rubric_version"],
                                                            updated_at=dt.datetime(2026, 9, 2)))
    assert main(["settle", "--today", "2026-09-10", "-w", str(workspace)]) == 0
    assert capsys.readouterr().out == f"submission {sid}: decided\n"
    assert workflow.decided_result(store, sid)["result"] == "deficient"
    assert main(["settle", "-w", str(workspace)]) == 0 and capsys.readouterr().out == ""
    store.dispose()


# --- work products kept in the database ---------------------------------------------------------------------------


def test_a_received_work_product_is_kept_in_the_database_and_read_from_there(workspace):
    store = open_store(workspace)
    add_eligible_candidate(store, "CCOM-1", "Jane", "Smith", "jane@example.org")
    folder = workspace / "documents"
    folder.mkdir(exist_ok=True)
    plan = "# Improvement plan\n\nCut the abandon rate from 9 % to 5 %.\n".encode()
    (folder / "plan.md").write_bytes(plan)
    sid = workflow.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True, "documents/plan.md")
    with store.read() as conn:
        kept = conn.execute(sa.select(submission_documents)).mappings().one()
        logged = conn.execute(sa.select(audit.c.after).where(audit.c.action == "keep_document")).scalar()
    assert (kept["submission_id"], kept["name"], kept["content"]) == (sid, "plan.md", plan)
    assert kept["sha256"] == hashlib.sha256(plan).hexdigest()
    # the audit log names the file by size and hash, not by its content
    assert json.loads(logged)["content"] == f"{len(plan)} bytes, sha256 {kept['sha256']}"
    (folder / "plan.md").unlink()  # a rater's server cannot read the folder: the kept copy is shown
    name, body = workflow.document_html(store, workflow.submission(store, sid))
    assert name == "plan.md" and "Cut the abandon rate from 9 % to 5 %." in body
    store.dispose()


def test_the_fresh_evaluation_after_an_upheld_appeal_keeps_the_same_work_product(demo):
    with demo.read() as conn:
        sid, name, decided_on = conn.execute(
            sa.select(submission_documents.c.submission_id, submission_documents.c.name,
                      workflow.decisions.c.decided_on)
                                 .join(workflow.decisions, workflow.decisions.c.submission_id
                                       == submission_documents.c.submission_id)
                                 .join(workflow.submissions, workflow.submissions.c.id
                                       == submission_documents.c.submission_id)
                                 .where(workflow.submissions.c.state == "decided",
                                        workflow.decisions.c.result == "deficient",
                                        workflow.submissions.c.is_benchmark.is_(False))).first()
    row = appeals.lodge(demo, sid, decided_on, "The OM2 anchor was misread.")
    decided = appeals.decide(demo, row["id"], "upheld", "The anchors were misread.", actor="office.lee")
    again = decided["reevaluation_id"]
    assert workflow.document_html(demo, workflow.submission(demo, again)) == \
        workflow.document_html(demo, workflow.submission(demo, sid))
    assert workflow.document_html(demo, workflow.submission(demo, again))[0] == name


def test_with_a_hub_only_certifiers_save_calls_and_only_the_coordinator_records_for_the_team(
        demo, tmp_path, monkeypatch):
    from evalkit.callcert import records as cc
    from evalkit.widgets.callcert import CallScorecardForm, CoordinatorDashboard
    aid = cc.add_agent(demo, "Jane", "Smith", dt.date.today(), certifier="Kit Evans", actor="setup")
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.diallo")  # a rater, not a certifier
    form = CallScorecardForm(demo, scorecard_folder=tmp_path)
    form.agent.value = aid
    for row in form.rows.values():
        row.levels.value = 4
    form.went_well.value, form.positive.value = "Clear verification.", "Warm tone."
    assert form.save() is None
    assert "sme.diallo does not hold the role certifier or coordinator" in form.message.value
    assert cc.calls(demo, aid) == []
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.evans")  # a certifier
    assert form.save().call_no == 1 and len(cc.calls(demo, aid)) == 1
    board = CoordinatorDashboard(demo, reports_folder=tmp_path)
    shown, done = w.HTML(), []
    assert board._run(shown, lambda: done.append(1) or "noted") is False  # a certifier is not the coordinator
    assert "sme.evans does not hold the role coordinator" in shown.value and done == []
    monkeypatch.setenv("JUPYTERHUB_USER", "cc.coordinator")
    assert board._run(shown, lambda: done.append(1) or "noted") is True
    assert "noted" in shown.value and done == [1]


@pytest.mark.postgres
def test_the_settle_service_wakes_on_a_final_evaluation_not_on_its_sweep(pg_url, tmp_path):
    """`evalkit settle --watch` (the hub's service) listens: a rater's final evaluation, notified as a person's
    session notifies it, is settled long before the service's next sweep (an hour away here)."""
    import os
    import subprocess
    import sys
    import time
    store = open_store(pg_url, create=True)
    workflow.sync_programs(store)
    add_eligible_candidate(store, "CCOM-1", "Jane", "Smith", "jane@example.org")
    for name in ("r1", "r2"):
        workflow.add_rater(store, name, name.upper())
    sid = workflow.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True)
    workflow.assign_raters(store, sid, ["r1", "r2"])
    log = tmp_path / "settle.log"
    with open(log, "w") as out:
        service = subprocess.Popen([sys.executable, "-m", "evalkit.cli", "settle", "--watch", "--interval", "3600",
                                    "-w", pg_url], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while "watching" not in log.read_text() and time.monotonic() < deadline:
            assert service.poll() is None, log.read_text()
            time.sleep(0.2)
        person = open_store(pg_url)
        person.__dict__["person"] = "r2"  # as each rater's own session: no comparison in it, a notification
        for rater in ("r1", "r2"):
            assert workflow.submit_final(person, sid, rater, _levels(person, sid)) == "scoring"
        person.dispose()
        while workflow.submission(store, sid)["state"] == "scoring" and time.monotonic() < deadline:
            assert service.poll() is None, log.read_text()
            time.sleep(0.2)
        assert workflow.submission(store, sid)["state"] == "decided"
        assert f"submission {sid}: decided" in log.read_text()
    finally:
        service.terminate()
        service.wait(timeout=10)
        store.dispose()
