"""The submission lifecycle, on SQLite and on a real PostgreSQL server (the any_store fixture)."""
import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from evalkit.calendar import add_business_days
from evalkit.evaluation import workflow as wf
from evalkit.store import assignments, audit, criterion_scores
from eligible_profiles import add_eligible_candidate

RECEIVED = dt.date(2026, 9, 1)


@pytest.fixture
def s(any_store):
    """A store with one CCOM candidate, four raters (one adjudicator) and a rubric at hand."""
    add_eligible_candidate(any_store, "CCOM-1", "Jane", "Smith", "jane@example.org")
    for name, adjudicator in (("r1", False), ("r2", False), ("r3", False), ("adj", True)):
        wf.add_rater(any_store, name, name.upper(), is_adjudicator=adjudicator)
    return any_store


def rubric(store, sid):
    return wf.rubric_for(store, wf.submission(store, sid)["rubric_version"])


def levels(store, sid, value=3, **override):
    return {**{c.id: value for c in rubric(store, sid).criteria}, **override}


def received(store, raters=("r1", "r2")):
    sid = wf.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True)
    wf.assign_raters(store, sid, list(raters))
    return sid


# --- receiving ---------------------------------------------------------------------------------------------


def test_receive_sets_deadline_attempt_and_version(s):
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    sub = wf.submission(s, sid)
    assert sub["state"] == "received" and sub["attempt"] == 1 and sub["previous_id"] is None
    assert sub["due_on"] == add_business_days(RECEIVED, 30) == dt.date(2026, 10, 15)  # Labor Day, Columbus Day skipped
    assert sub["rubric_version"] == wf.rubric_version_of(s, "CCOM")


def test_signoff_required_by_ciac_and_encouraged_by_icmi(s):
    with pytest.raises(wf.WorkflowError, match="CCOM requires the manager's sign-off"):
        wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, False)
    assert wf.pipeline_counts(s) == {}
    with pytest.warns(wf.SignoffWarning, match="without manager sign-off"):
        wf.receive_submission(s, "CCOM-1", "ICMI-OM", RECEIVED, False)


@pytest.mark.parametrize("args, message", [
    (("CCOM-9", "CCOM", RECEIVED), "unknown candidate 'CCOM-9'"),
    (("CCOM-1", "XYZ", RECEIVED), "unknown program 'XYZ'"),
    (("CCOM-1", "CCMA", RECEIVED), "CCMA has no work product"),
    (("CCOM-1", "CCOM", "31/12/2025"), "received date '31/12/2025' is not a date"),
    (("CCOM-1", "CCOM", dt.date.today() + dt.timedelta(days=3)), "is in the future"),
])
def test_bad_receipts_refused(s, args, message):
    with pytest.raises(wf.WorkflowError, match=message):
        wf.receive_submission(s, *args, True)


def test_second_submission_must_be_a_resubmission(s):
    wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    with pytest.raises(wf.WorkflowError, match="is a resubmission"):
        wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)


# --- assigning ---------------------------------------------------------------------------------------------


def test_automatic_assignment_balances_workload_and_spares_adjudicators(s):
    add_eligible_candidate(s, "CCOM-2", "Ann", "Lee")
    add_eligible_candidate(s, "CCOM-3", "Bo", "Ng")
    first = wf.assign_raters(s, wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True))
    second = wf.assign_raters(s, wf.receive_submission(s, "CCOM-2", "CCOM", RECEIVED, True))
    third = wf.assign_raters(s, wf.receive_submission(s, "CCOM-3", "CCOM", RECEIVED, True))
    assert first == ["r1", "r2"] and second == ["r3", "r1"] and third == ["r2", "r3"]
    assert "adj" not in first + second + third


def test_conflict_of_interest_excluded(s):
    wf.declare_conflict(s, "r1", "CCOM-1", "same employer")
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    assert "r1" not in wf.assign_raters(s, sid)
    with pytest.raises(wf.WorkflowError, match="r1 cannot score submission .*conflict of interest"):
        wf.assign_raters(s, sid, ["r1"])


def test_same_rater_never_twice(s):
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    with pytest.raises(wf.WorkflowError, match="named twice"):
        wf.assign_raters(s, sid, ["r1", "r1"])
    wf.assign_raters(s, sid, ["r1"])
    assert wf.submission(s, sid)["state"] == "received"  # one rater is not yet double scoring
    with pytest.raises(wf.WorkflowError, match="already assigned"):
        wf.assign_raters(s, sid, ["r1"])
    wf.assign_raters(s, sid, ["r2"])
    assert wf.submission(s, sid)["state"] == "scoring"


def test_unknown_rater_and_too_few_raters(s):
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    with pytest.raises(wf.WorkflowError, match="unknown rater 'nobody'"):
        wf.assign_raters(s, sid, ["nobody"])
    with pytest.raises(wf.WorkflowError, match="needs 5 more rater"):
        wf.assign_raters(s, sid, n=5)
    with s.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(assignments)).scalar() == 0


# --- scoring -----------------------------------------------------------------------------------------------


def test_draft_saves_any_subset_and_records_the_rubric_version(s):
    sid = received(s)
    wf.save_draft(s, sid, "r1", {"PM1": 2}, {"PM1": "Needs a staffing plan."})
    wf.save_draft(s, sid, "r1", {"OM1": 4})
    mine = wf.rater_scores(s, sid, "r1")
    assert mine["levels"] == {"PM1": 2, "OM1": 4} and mine["feedback"]["PM1"] == "Needs a staffing plan."
    assert mine["status"] == "draft"
    with s.read() as conn:
        versions = set(conn.execute(sa.select(criterion_scores.c.rubric_version)).scalars())
    assert versions == {wf.submission(s, sid)["rubric_version"]}


@pytest.mark.parametrize("bad, message", [
    ({"PM1": 5}, "criterion PM1: level 5 is not on the scale"),
    ({"PM1": 0}, "criterion PM1: level 0 is not on the scale"),
    ({"PM1": "3"}, "level '3' is not on the scale"),
    ({"XX9": 3}, "no criterion 'XX9'"),
])
def test_out_of_range_levels_refused_and_nothing_saved(s, bad, message):
    sid = received(s)
    wf.save_draft(s, sid, "r1", {"PM2": 3})
    with pytest.raises(ValueError, match=message):
        wf.save_draft(s, sid, "r1", {"PM2": 4, **bad})
    assert wf.rater_scores(s, sid, "r1")["levels"] == {"PM2": 3}


def test_unassigned_rater_cannot_score(s):
    sid = received(s)
    with pytest.raises(wf.WorkflowError, match="r3 is not assigned to submission"):
        wf.save_draft(s, sid, "r3", {"PM1": 3})


def test_final_refused_with_every_gap(s):
    sid = received(s)
    wf.save_draft(s, sid, "r1", levels(s, sid, PM1=2, OM1=None))
    with pytest.raises(wf.WorkflowError) as info:
        wf.submit_final(s, sid, "r1")
    assert "OM1: no level chosen" in str(info.value)
    assert "PM1: level 2 is below the standard; feedback is required" in str(info.value)
    assert wf.rater_scores(s, sid, "r1")["status"] == "draft"
    assert wf.submit_final(s, sid, "r1", {"OM1": 3}, {"PM1": "Add a succession plan."}) == "scoring"
    with pytest.raises(wf.WorkflowError, match="final and cannot change"):
        wf.save_draft(s, sid, "r1", {"PM1": 4})
    with pytest.raises(wf.WorkflowError, match="already final"):
        wf.submit_final(s, sid, "r1")


def test_agreement_within_tolerance_decides_on_the_mean(s):
    sid = received(s)
    # Both deficient (OM1 is a must-meet criterion), within one level everywhere.
    wf.submit_final(s, sid, "r1", levels(s, sid, 3, PM1=4, OM1=2), {"OM1": "Forecast by interval."})
    assert wf.submit_final(s, sid, "r2", levels(s, sid, 3, OM1=2, CR1=2),
                           {"OM1": "Use adherence data.", "CR1": "Survey more than one channel."},
                           today=dt.date(2026, 9, 20)) == "decided"
    result = wf.decided_result(s, sid)
    assert (result["levels"]["PM1"], result["levels"]["OM1"], result["levels"]["CR1"]) == (3.5, 2.0, 2.5)
    assert result["method"] == "agreement" and result["decided_on"] == dt.date(2026, 9, 20)
    assert result["feedback"]["OM1"] == "Forecast by interval.\n\nUse adherence data."
    assert result["result"] == "deficient"
    assert result["outcome"].below_standard == ("OM1", "CR1") and result["outcome"].failed_must_meet == ("OM1",)


def test_pass_when_total_reaches_the_mark_and_must_meet_criteria_meet(s):
    sid = received(s)
    wf.submit_final(s, sid, "r1", levels(s, sid, 3))
    wf.submit_final(s, sid, "r2", levels(s, sid, 3))
    result = wf.decided_result(s, sid)
    assert result["result"] == "pass" and result["total_percent"] == pytest.approx(75.0)


def test_disagreement_beyond_tolerance_goes_to_adjudication(s):
    sid = received(s)
    wf.submit_final(s, sid, "r1", levels(s, sid, 3, OM2=4))
    assert wf.submit_final(s, sid, "r2", levels(s, sid, 3, OM2=2), {"OM2": "Recommendations lack owners."}) \
        == "adjudication"
    assert wf.decided_result(s, sid) is None
    with pytest.raises(wf.WorkflowError, match="r1 cannot adjudicate .*not an adjudicator"):
        wf.assign_adjudicator(s, sid, "r1")
    assert wf.assign_adjudicator(s, sid) == "adj"
    view = wf.adjudication_view(s, sid, "adj")
    disputed = [row["criterion"] for row in view["criteria"] if row["disputed"]]
    assert disputed == ["OM2"] and view["decision_split"]
    assert view["criteria"][[r["criterion"] for r in view["criteria"]].index("OM2")]["levels"] == {"r1": 4, "r2": 2}
    with pytest.raises(wf.WorkflowError, match="incomplete: OM2: level 2 is below the standard"):
        wf.adjudicate(s, sid, "adj", levels(s, sid, 3, OM2=2), {})
    assert wf.adjudicate(s, sid, "adj", levels(s, sid, 3, OM2=2), {"OM2": "Name an owner for each action."},
                         today=dt.date(2026, 9, 30)) == "decided"
    result = wf.decided_result(s, sid)
    assert result["method"] == "adjudication" and result["result"] == "deficient"
    assert result["outcome"].failed_must_meet == ("OM2",)
    assert result["feedback"]["OM2"] == "Name an owner for each action."


def test_split_decision_within_level_tolerance_still_adjudicated(s):
    sid = received(s)
    wf.submit_final(s, sid, "r1", levels(s, sid, 3))  # exactly 75%: pass
    wf.submit_final(s, sid, "r2", levels(s, sid, 3, PM1=2), {"PM1": "Thin."})  # below 75%: deficient
    assert wf.submission(s, sid)["state"] == "adjudication"


def test_adjudicator_who_scored_or_has_a_conflict_is_refused(s):
    wf.add_rater(s, "adj2", "ADJ2", is_adjudicator=True)
    wf.declare_conflict(s, "adj2", "CCOM-1")
    sid = received(s, raters=("r1", "adj"))
    wf.submit_final(s, sid, "r1", levels(s, sid, 4))
    wf.submit_final(s, sid, "adj", levels(s, sid, 1), {c: "Missing." for c in levels(s, sid)})
    with pytest.raises(wf.WorkflowError, match="adj cannot adjudicate .*scored it or has a declared conflict"):
        wf.assign_adjudicator(s, sid, "adj")
    with pytest.raises(wf.WorkflowError, match="no eligible adjudicator"):
        wf.assign_adjudicator(s, sid)


# --- blinding ----------------------------------------------------------------------------------------------


def test_blind_scoring_is_enforced_until_the_decision(s):
    sid = received(s)
    wf.save_draft(s, sid, "r2", {"PM1": 4})
    with pytest.raises(wf.WorkflowError, match="blind scoring: r1 cannot see r2's scores"):
        wf.rater_scores(s, sid, "r1", of="r2")
    with pytest.raises(wf.WorkflowError, match="r3 is not assigned"):
        wf.rater_scores(s, sid, "r3", of="r1")
    wf.submit_final(s, sid, "r1", levels(s, sid, 3, OM2=4))
    wf.submit_final(s, sid, "r2", levels(s, sid, 3, OM2=1), {"OM2": "Missing."})
    with pytest.raises(wf.WorkflowError, match="blind scoring"):
        wf.rater_scores(s, sid, "r1", of="r2")  # in adjudication: still blind for the raters
    wf.assign_adjudicator(s, sid, "adj")
    assert wf.rater_scores(s, sid, "adj", of="r2")["levels"]["OM2"] == 1
    wf.adjudicate(s, sid, "adj", levels(s, sid, 3), {})
    assert wf.rater_scores(s, sid, "r1", of="r2")["levels"]["OM2"] == 1  # decided: open


def test_candidate_hidden_from_raters_where_the_program_says(s):
    sid = received(s)
    row = wf.queue(s, "r1", today=RECEIVED)[0]
    assert row["candidate"] == f"Candidate #{sid:05d}" and "Smith" not in json.dumps(row, default=str)


# --- resubmission, notification, views ---------------------------------------------------------------------


def _deficient(s):
    sid = received(s)
    for r in ("r1", "r2"):
        wf.submit_final(s, sid, r, levels(s, sid, 2), {c: "Develop further." for c in levels(s, sid)},
                        today=dt.date(2026, 9, 15))
    return sid


def test_resubmission_is_a_linked_attempt_with_its_own_clock(s):
    first = _deficient(s)
    assert wf.decided_result(s, first)["result"] == "deficient"
    again = wf.resubmit(s, first, dt.date(2026, 10, 20), True)
    sub = wf.submission(s, again)
    assert (sub["attempt"], sub["previous_id"], sub["state"]) == (2, first, "received")
    assert sub["due_on"] == add_business_days(dt.date(2026, 10, 20), 30)
    with pytest.raises(wf.WorkflowError, match=f"already resubmitted as {again}"):
        wf.resubmit(s, first, dt.date(2026, 10, 21), True)


def test_only_a_deficient_result_can_be_resubmitted(s):
    sid = received(s)
    with pytest.raises(wf.WorkflowError, match="not decided as deficient"):
        wf.resubmit(s, sid, dt.date(2026, 10, 20), True)


def test_notification_late_flag_and_state(s):
    sid = _deficient(s)
    due = wf.submission(s, sid)["due_on"]
    with pytest.raises(wf.WorkflowError, match="not a date"):
        wf.record_notification(s, sid, "tomorrow", [])
    assert wf.record_notification(s, sid, due + dt.timedelta(days=1), [{"path": "x.html", "sha256": "0"}]) is True
    assert wf.submission(s, sid)["state"] == "notified"
    assert [r["submission_id"] for r in wf.late_notifications(s)] == [sid]
    with pytest.raises(wf.WorkflowError, match="only a decided submission is notified"):
        wf.record_notification(s, sid, due, [])


def test_undecided_submission_cannot_be_notified(s):
    sid = received(s)
    with pytest.raises(wf.WorkflowError, match="is scoring; only a decided"):
        wf.record_notification(s, sid, RECEIVED, [])


def test_due_report_and_queue(s):
    sid = received(s)
    due = wf.submission(s, sid)["due_on"]
    before = wf.due_report(s, today=due - dt.timedelta(days=1))[0]
    assert before["days_left"] == 1 and not before["late"] and before["due_this_week"]
    after = wf.due_report(s, today=due + dt.timedelta(days=7))[0]
    assert after["late"] and after["days_left"] == -5
    wf.save_draft(s, sid, "r1", {"PM1": 3})
    q1, q2 = wf.queue(s, "r1", today=due + dt.timedelta(days=1))[0], wf.queue(s, "r2", today=RECEIVED)[0]
    assert (q1["state"], q1["overdue"], q2["state"], q2["overdue"]) == ("draft", True, "not started", False)


def test_rubric_edited_after_scoring_started_is_detected_not_mixed(s, tmp_path):
    from evalkit.instruments.programs import default_programs_path
    sid = received(s)
    wf.save_draft(s, sid, "r1", {"PM1": 3})
    old_version = wf.submission(s, sid)["rubric_version"]
    src = default_programs_path().parent
    for f in src.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text())
    ccom = (tmp_path / "ccom_wpa.yaml").read_text()
    (tmp_path / "ccom_wpa.yaml").write_text(ccom.replace("weight: 2", "weight: 3", 1))
    with pytest.warns(wf.RubricChangedWarning, match="1 open submission.* stay on version " + old_version):
        versions = wf.sync_programs(s, tmp_path / "programs.yaml")
    assert versions["CCOM"] != old_version
    assert wf.rubric_for(s, wf.submission(s, sid)["rubric_version"]).version == old_version
    wf.save_draft(s, sid, "r1", {"PM2": 3})  # still scored on the version it was received under
    with s.read() as conn:
        assert set(conn.execute(sa.select(criterion_scores.c.rubric_version)).scalars()) == {old_version}
    add_eligible_candidate(s, "CCOM-2", "Ann", "Lee")
    assert wf.submission(s, wf.receive_submission(s, "CCOM-2", "CCOM", RECEIVED, True))["rubric_version"] \
        == versions["CCOM"]


# --- store-level guarantees --------------------------------------------------------------------------------


def test_every_change_is_in_the_audit_log_with_before_and_after(s):
    sid = received(s)
    wf.save_draft(s, sid, "r1", {"PM1": 2})
    wf.save_draft(s, sid, "r1", {"PM1": 3})
    with s.read() as conn:
        rows = conn.execute(sa.select(audit).where(audit.c.entity == "criterion_scores")
                            .order_by(audit.c.id)).mappings().all()
    assert [r["actor"] for r in rows] == ["r1", "r1"]
    assert json.loads(rows[1]["before"])["level"] == 2 and json.loads(rows[1]["after"])["level"] == 3


def test_refused_step_changes_nothing(s):
    sid = received(s)
    with s.read() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar()
    with pytest.raises(wf.WorkflowError):
        wf.submit_final(s, sid, "r1", {"PM1": 3})  # saves PM1 then finds gaps: all rolled back
    with s.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar() == before
    assert wf.rater_scores(s, sid, "r1")["levels"] == {}


def test_no_candidate_data_in_logs(s, caplog):
    caplog.set_level(logging.DEBUG)
    sid = received(s)
    wf.submit_final(s, sid, "r1", levels(s, sid, 3))
    wf.submit_final(s, sid, "r2", levels(s, sid, 3))
    wf.decided_result(s, sid)
    assert "Smith" not in caplog.text and "jane@example.org" not in caplog.text


def test_benchmark_submission_is_decided_on_the_lead_smes_gold_scores(s):
    wf.add_rater(s, "lead", "LEAD", is_lead=True)
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True, is_benchmark=True)
    wf.assign_raters(s, sid, ["lead", "r1", "r2"])
    wf.submit_final(s, sid, "r1", levels(s, sid, 4))
    wf.submit_final(s, sid, "r2", levels(s, sid, 1), {c: "Weak." for c in levels(s, sid)})
    assert wf.submit_final(s, sid, "lead", levels(s, sid, 3)) == "decided"  # no adjudication for gold
    result = wf.decided_result(s, sid)
    assert (result["method"], result["decided_by"], result["result"]) == ("benchmark", "lead", "pass")
    assert set(result["levels"].values()) == {3.0}
    assert sid not in [r["id"] for r in wf.due_report(s)]  # never a letter


def test_conflict_found_after_assignment_releases_the_rater_but_keeps_final_scores(s):
    sid = received(s)
    wf.save_draft(s, sid, "r2", {"PM1": 4})
    wf.submit_final(s, sid, "r1", levels(s, sid, 3))
    add_eligible_candidate(s, "CCOM-2", "Ann", "Lee")
    other = wf.receive_submission(s, "CCOM-2", "CCOM", RECEIVED, True)
    wf.assign_raters(s, other, ["r1", "r2"])
    assert wf.declare_conflict(s, "r2", "CCOM-1", "same team") == {"released": [sid], "final": []}
    assert wf.submission(s, sid)["state"] == "received"  # back in the pool for a second rater
    with pytest.raises(wf.WorkflowError, match="r2 is not assigned"):
        wf.rater_scores(s, sid, "r2")
    assert [q["submission"] for q in wf.queue(s, "r2", today=RECEIVED)] == [other]  # other candidates untouched
    assert wf.rater_scores(s, sid, "r1")["status"] == "final"
    with s.read() as conn:
        logged = conn.execute(sa.select(audit.c.before).where(audit.c.action == "release")).scalars().all()
    assert any('"level": 4' in b for b in logged)  # the draft is gone from the scores, not from the audit log
    assert wf.declare_conflict(s, "r1", "CCOM-1") == {"released": [], "final": [sid]}


def test_the_work_product_must_be_in_the_workspace(store):
    add_eligible_candidate(store, "C-1", "Ann", "Lee")
    with pytest.raises(wf.WorkflowError, match="document documents/plan.md not found"):
        wf.receive_submission(store, "C-1", "CCOM", RECEIVED, True, "documents/plan.md")
    assert wf.pipeline_counts(store) == {}
    (store.workspace / "documents" / "plan.md").write_text("# Plan")
    sid = wf.receive_submission(store, "C-1", "CCOM", RECEIVED, True, "documents/plan.md")
    assert wf.submission(store, sid)["document"] == "documents/plan.md"


def test_scoring_starts_once_the_programs_number_of_raters_is_assigned(s):
    import dataclasses
    ccom = wf.program(s, "CCOM")
    s.cache[("program", "CCOM")] = dataclasses.replace(ccom, raters_per_submission=3)
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", RECEIVED, True)
    wf.assign_raters(s, sid, ["r1", "r2"])
    assert wf.submission(s, sid)["state"] == "received"
    wf.assign_raters(s, sid)  # the third, chosen automatically
    assert wf.submission(s, sid)["state"] == "scoring"


def test_the_submission_view_carries_no_contact_details_and_hides_names_where_the_program_says(any_store):
    add_eligible_candidate(any_store, "C-77", "Hidden", "Person", "hidden@example.org")
    sid = wf.receive_submission(any_store, "C-77", "CCOM", RECEIVED, True)
    hides = wf.program(any_store, "CCOM").hide_candidate_from_raters
    seen = wf.submission(any_store, sid)
    assert not {"first_name", "last_name", "email", "candidate_external_id"} & set(seen)
    assert "hidden@example.org" not in json.dumps(seen, default=str)
    assert seen["candidate"] == (f"Candidate #{sid:05d}" if hides else "Hidden Person")
    if hides:
        assert "Hidden" not in json.dumps(seen, default=str)
    office = wf.submission_record(any_store, sid)
    assert (office["first_name"], office["email"], office["candidate_external_id"]) == \
        ("Hidden", "hidden@example.org", "C-77")
