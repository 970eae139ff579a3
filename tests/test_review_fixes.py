"""Defects found in the review of the process code, each pinned by a test that failed before its fix.

Concurrency tests run on SQLite and on PostgreSQL (the ``any_store`` fixture): two steps on one submission from two
kernels at once must behave as if one ran after the other.
"""
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from evalkit.evaluation import scoring
from evalkit.evaluation import workflow as wf
from evalkit.evaluation.importer import import_submissions
from evalkit.instruments.programs import default_programs_path
from evalkit.instruments.rubric import parse_rubric
from evalkit.store import assignments, submissions
from eligible_profiles import add_eligible_candidate

RECEIVED = dt.date(2026, 9, 1)


@pytest.fixture
def s(any_store):
    add_eligible_candidate(any_store, "CCOM-1", "Jane", "Smith")
    for name, adjudicator in (("r1", False), ("r2", False), ("r3", False), ("adj", True), ("adj2", True)):
        wf.add_rater(any_store, name, name.upper(), is_adjudicator=adjudicator)
    return any_store


def _levels(store, sid, value=3, **override):
    rubric = wf.rubric_for(store, wf.submission(store, sid)["rubric_version"])
    return {**{c.id: value for c in rubric.criteria}, **override}


def _scoring(store, raters=("r1", "r2")):
    sid = wf.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True)
    wf.assign_raters(store, sid, list(raters))
    return sid


def _deficient(store):
    sid = _scoring(store)
    for r in ("r1", "r2"):
        wf.submit_final(store, sid, r, _levels(store, sid, 2), {c: "Develop further." for c in _levels(store, sid)},
                        today=dt.date(2026, 9, 15))
    return sid


def _meet_inside(monkeypatch, name: str, wait: float = 1.5) -> None:
    """Make ``workflow.<name>`` wait (up to ``wait`` seconds) until a second thread reaches it too.

    Two steps that the store lets run inside their transactions at the same time both arrive and go on together,
    which is the interleaving a race needs; a step kept out by the other's lock arrives only after that one has
    committed, and finds the barrier already broken by the first one's timeout.
    """
    original = getattr(wf, name)
    barrier = threading.Barrier(2)

    def paused(*args, **kwargs):
        try:
            barrier.wait(timeout=wait)
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(wf, name, paused)


def _together(*calls):
    """Run the calls in two threads at once; each result, or the exception it raised."""
    def run(call):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            return exc
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


# --- concurrency: one submission, two kernels --------------------------------------------------------------


def test_both_raters_submitting_final_at_once_decide_the_submission(s, monkeypatch):
    """On PostgreSQL (READ COMMITTED) each transaction used to see only its own rater as final, so both answered
    "scoring" and the submission stayed in scoring forever."""
    sid = _scoring(s)
    _meet_inside(monkeypatch, "_compare_if_complete")
    results = _together(lambda: wf.submit_final(s, sid, "r1", _levels(s, sid, 3)),
                        lambda: wf.submit_final(s, sid, "r2", _levels(s, sid, 3)))
    assert sorted(map(str, results)) == ["decided", "scoring"]
    assert wf.submission(s, sid)["state"] == "decided"
    assert wf.decided_result(s, sid)["result"] == "pass"


def test_two_admins_assigning_adjudicators_at_once_give_the_submission_one(s, monkeypatch):
    sid = _scoring(s)
    wf.submit_final(s, sid, "r1", _levels(s, sid, 3, OM2=4))
    wf.submit_final(s, sid, "r2", _levels(s, sid, 3, OM2=1), {"OM2": "Missing."})
    _meet_inside(monkeypatch, "_eligible")
    results = _together(lambda: wf.assign_adjudicator(s, sid, "adj"),
                        lambda: wf.assign_adjudicator(s, sid, "adj2"))
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], wf.WorkflowError)
    assert "already has adjudicator" in str(refused[0])
    with s.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(assignments).where(
            assignments.c.submission_id == sid, assignments.c.role == "adjudicator")).scalar() == 1


def test_the_same_deficient_result_resubmitted_twice_at_once_gives_one_resubmission(s, monkeypatch):
    first = _deficient(s)
    _meet_inside(monkeypatch, "_receive")
    results = _together(lambda: wf.resubmit(s, first, dt.date(2026, 10, 20), True),
                        lambda: wf.resubmit(s, first, dt.date(2026, 10, 21), True))
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], wf.WorkflowError), refused
    assert "already resubmitted" in str(refused[0])


# --- state transitions -------------------------------------------------------------------------------------


def test_no_rater_is_added_once_a_rater_has_submitted_final_scores(s):
    """A rater added after another's final evaluation (which an admin can read) changes who decides the result."""
    sid = _scoring(s)
    wf.submit_final(s, sid, "r1", _levels(s, sid, 3))
    with pytest.raises(wf.WorkflowError, match="r1 already submitted final scores"):
        wf.assign_raters(s, sid, ["r3"])
    with pytest.raises(wf.WorkflowError, match="already submitted final scores"):
        wf.assign_raters(s, sid, n=3)
    assert [r["submission"] for r in wf.queue(s, "r3")] == []


def test_a_resubmission_is_received_after_the_deficient_decision(s):
    first = _deficient(s)  # decided on 2026-09-15
    with pytest.raises(wf.WorkflowError, match="received date 2026-09-14 is before .* decided on 2026-09-15"):
        wf.resubmit(s, first, dt.date(2026, 9, 14), True)
    assert wf.resubmit(s, first, dt.date(2026, 9, 15), True)


def test_receiving_with_a_previous_attempt_checks_it_like_a_resubmission(s):
    """``receive_submission(previous_id=...)`` is public: it must not link to a pass, an undecided or another
    candidate's submission."""
    add_eligible_candidate(s, "CCOM-2", "Ann", "Lee")
    undecided = _scoring(s)
    with pytest.raises(wf.WorkflowError, match=f"submission {undecided} is not decided as deficient"):
        wf.receive_submission(s, "CCOM-1", "CCOM", dt.date(2026, 10, 1), True, previous_id=undecided)
    with pytest.raises(wf.WorkflowError, match=f"submission {undecided} is not CCOM-2's CCOM submission"):
        wf.receive_submission(s, "CCOM-2", "CCOM", dt.date(2026, 10, 1), True, previous_id=undecided)
    with pytest.raises(wf.WorkflowError, match="unknown submission 999"):
        wf.receive_submission(s, "CCOM-1", "CCOM", dt.date(2026, 10, 1), True, previous_id=999)


def test_notification_cannot_predate_the_decision_nor_lie_in_the_future(s):
    sid = _deficient(s)  # decided on 2026-09-15
    with pytest.raises(wf.WorkflowError, match="issue date 2026-09-14 is before the decision .* on 2026-09-15"):
        wf.record_notification(s, sid, dt.date(2026, 9, 14), [])
    with pytest.raises(wf.WorkflowError, match="is in the future"):
        wf.record_notification(s, sid, dt.date.today() + dt.timedelta(days=1), [])
    assert wf.submission(s, sid)["state"] == "decided"
    assert wf.record_notification(s, sid, dt.date(2026, 9, 16), []) is False


def test_an_adjudication_sent_twice_at_once_decides_once(s, monkeypatch):
    """A double click on "decide": the second must be refused with a reason, not fail on a duplicate decision
    (or, on SQLite, first overwrite the adjudicator's final scores)."""
    sid = _scoring(s)
    wf.submit_final(s, sid, "r1", _levels(s, sid, 3, OM2=4))
    wf.submit_final(s, sid, "r2", _levels(s, sid, 3, OM2=1), {"OM2": "Missing."})
    wf.assign_adjudicator(s, sid, "adj")
    _meet_inside(monkeypatch, "_write_scores")
    results = _together(lambda: wf.adjudicate(s, sid, "adj", _levels(s, sid, 3), {}),
                        lambda: wf.adjudicate(s, sid, "adj", _levels(s, sid, 3), {}))
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], wf.WorkflowError), refused
    assert "is decided, not in adjudication" in str(refused[0])
    assert wf.decided_result(s, sid)["method"] == "adjudication"


# --- rules that must agree ---------------------------------------------------------------------------------


def test_queue_and_due_report_agree_that_a_weekend_after_the_deadline_is_late(s):
    sid = wf.receive_submission(s, "CCOM-1", "CCOM", dt.date(2026, 9, 2), True)
    wf.assign_raters(s, sid, ["r1", "r2"])
    due = wf.submission(s, sid)["due_on"]
    assert due.weekday() == 4  # a Friday deadline: the next day is late, yet zero business days past it
    saturday = due + dt.timedelta(days=1)
    late = [r["late"] for r in wf.due_report(s, today=saturday) if r["id"] == sid]
    overdue = [r["overdue"] for r in wf.queue(s, "r1", today=saturday) if r["submission"] == sid]
    assert late == overdue == [True]


def _rubric_with_tolerance(levels: int):
    text = (default_programs_path().parent / "ccom_wpa.yaml").read_text(encoding="utf-8")
    assert "tolerance:\n  levels: 1\n" in text
    return parse_rubric(text.replace("tolerance:\n  levels: 1\n", f"tolerance:\n  levels: {levels}\n"))


def test_raters_who_both_find_it_deficient_are_never_resolved_into_a_pass():
    """With a tolerance of two levels the mean of two deficient evaluations can pass: one rater short on the total,
    the other on a must-meet criterion. Both raters said deficient, so the mean must not decide it."""
    rubric = _rubric_with_tolerance(2)
    short_on_total = {c.id: 3 for c in rubric.criteria} | {"PM1": 2, "PM2": 2, "OM3": 2, "OM1": 4}
    short_on_must_meet = {c.id: 4 for c in rubric.criteria} | {"OM1": 2}
    by_rater = {"a": short_on_total, "b": short_on_must_meet}
    assert [scoring.outcome(rubric, lv).passed for lv in by_rater.values()] == [False, False]
    assert scoring.outcome(rubric, scoring.resolve_levels(rubric, by_rater)).passed  # the mean would pass
    comparison = scoring.compare_raters(rubric, by_rater)
    assert comparison.disagreements == () and not comparison.decision_split
    assert comparison.needs_adjudication


def test_levels_from_numpy_are_accepted():
    rubric = _rubric_with_tolerance(1)
    assert scoring.validate_levels(rubric, {"PM1": np.int64(3)}) == {"PM1": 3}
    assert type(scoring.validate_levels(rubric, {"PM1": np.int64(3)})["PM1"]) is int
    for bad in (float("nan"), float("inf"), np.bool_(True)):  # inf used to escape as an OverflowError
        with pytest.raises(scoring.ScoringError, match="is not on the scale"):
            scoring.validate_levels(rubric, {"PM1": bad})


# --- importer ----------------------------------------------------------------------------------------------


def test_import_refuses_a_known_candidate_id_with_another_name(store, tmp_path):
    """A mistyped candidate id must not file one person's work product under another's record (and letter)."""
    add_eligible_candidate(store, "C-1", "John", "Doe")
    path = Path(tmp_path / "in.csv")
    path.write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff\n"
                    "C-1,Jane,Smith,CCOM,2026-09-01,yes\n")
    with pytest.raises(wf.WorkflowError, match="in.csv:2: candidate C-1 is registered as John Doe, not Jane Smith"):
        import_submissions(store, path)
    path.write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff\n"
                    "C-1, john ,DOE,CCOM,2026-09-01,yes\n")
    assert len(import_submissions(store, path)) == 1  # same person, written differently
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar() == 1
