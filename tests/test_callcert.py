"""Call certification: pass rules, the escalation ladder on business days, the store, scorecard workbook, the
end-of-day report, the CLI and the widgets (in the kernel; the browser test is tests/browser/)."""
import datetime as dt
import doctest
import json
import math
import os
import re
import stat

import pandas as pd
import pytest
import sqlalchemy as sa

from evalkit import callcert as cc
from evalkit.calendar import HolidayCalendar
from evalkit.cli import main
from evalkit.store import audit, cc_actions, cc_agents, cc_calls, cc_notes, open_store, rubric_versions

D = dt.date
RUBRIC = cc.load_scorecard()
ALL_MEET = {c.id: 4 for c in RUBRIC.criteria}


def levels_with(**changes):
    return {**ALL_MEET, **changes}


def test_doctests():
    # the examples live in the rules module; the package only re-exports (testmod on it found none)
    from evalkit.callcert import rules
    result = doctest.testmod(rules)
    assert result.attempted >= 3 and result.failed == 0


# --- pass rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score, passed", [(85, True), (85.0, True), (84.99, False), (84, False), (100, True),
                                           (0, False), (84.9999999999, True)])  # float noise of an exact 85
def test_call_passes_at_85(score, passed):
    assert cc.call_passed(score) is passed


def test_call_score_from_scorecard_levels_across_the_pass_mark():
    # Weighted max 96 points: 82 points = 85.4 passes, 81 points = 84.4 fails.
    assert RUBRIC.weighted_max == 96
    eighty_two = levels_with(OPEN2=2, HAND3=0)   # 96 - 5 * 2 - 1 * 4
    points = sum(c.weight * eighty_two[c.id] for c in RUBRIC.criteria)
    assert points == 82
    assert cc.call_score(RUBRIC, eighty_two) == pytest.approx(100 * 82 / 96)
    assert cc.call_passed(cc.call_score(RUBRIC, eighty_two))
    eighty_one = {**eighty_two, "RES2": 3}
    assert cc.call_score(RUBRIC, eighty_one) == pytest.approx(84.375)
    assert not cc.call_passed(cc.call_score(RUBRIC, eighty_one))


@pytest.mark.parametrize("scores, passed_calls, rate, status", [
    ([90, 95, 85, 100, 88], 5, 100.0, "passed"),
    ([90, 95, 84, 100, 88], 4, 80.0, "passed"),
    ([90, 84.9, 84, 100, 88], 3, 60.0, "failed"),
    ([50, 60, 70, 80, 84.99], 0, 0.0, "failed"),
    ([90, 80], 1, 20.0, "in progress"),
    ([], 0, 0.0, "in progress"),
])
def test_certify_pass_rate_boundaries(scores, passed_calls, rate, status):
    result = cc.certify(scores)
    assert (result.calls_passed, result.pass_rate, result.status) == (passed_calls, rate, status)
    assert result.passed is (status == "passed")
    assert result.calls_scored == len(scores)


def test_certify_takes_numpy_scores():
    import numpy as np
    assert cc.certify(np.array([90, 85, 84, 100, 88])).pass_rate == 80.0


def test_certify_knows_when_passing_is_no_longer_possible():
    assert cc.certify([90, 80]).can_still_pass
    assert not cc.certify([90, 80, 70]).can_still_pass


@pytest.mark.parametrize("scores, message", [
    ([90, 90, 90, 90, 90, 90], "6 call scores given; the call certification has exactly 5 calls"),
    ([90, 100.5], "call 2 score 100.5 is outside 0-100"),
    ([-1], "call 1 score -1 is outside 0-100"),
    ([math.nan], "call 1 score nan is not a number; expected a call score from 0 to 100"),
    (["90"], "call 1 score '90' is not a number; expected a call score from 0 to 100"),
    ([True], "call 1 score True is not a number; expected a call score from 0 to 100"),
])
def test_certify_refuses_bad_scores(scores, message):
    with pytest.raises(cc.CallCertError) as err:
        cc.certify(scores)
    assert str(err.value) == message


@pytest.mark.parametrize("last, first, rate, name", [
    ("Smith", "Jane", 80, "Smith_Jane_80%"),
    ("Smith", "Jane", 100.0, "Smith_Jane_100%"),
    ("Smith", "Jane", 60, "Smith_Jane_60%"),
    ("O'Brien", "Mary Ann", 100, "OBrien_Mary-Ann_100%"),
    ("O\u2019Neil", "Sean", 40, "ONeil_Sean_40%"),
    ("De la Cruz", "Ana_Lucia", 80, "De-la-Cruz_Ana-Lucia_80%"),
    ("  St. John ", "Tomás", 20, "St-John_Tomás_20%"),
    ("Smith/Jones: <x>", "Jo?", 0, "Smith-Jones-x_Jo_0%"),
])
def test_scorecard_filename(last, first, rate, name):
    assert cc.scorecard_filename(last, first, rate) == name


@pytest.mark.parametrize("last, first, rate, message", [
    ("", "Jane", 80, "agent last name is empty; expected text"),
    ("Smith", "'' ", 80, "agent first name \"'' \" has no letters or digits to name a file with"),
    ("Smith", "Jane", 120, "pass rate 120 is outside 0-100"),
])
def test_scorecard_filename_refuses(last, first, rate, message):
    with pytest.raises(cc.CallCertError) as err:
        cc.scorecard_filename(last, first, rate)
    assert str(err.value) == message


# --- the ladder on business days -------------------------------------------------------------------------------


@pytest.mark.parametrize("start, expected", [
    # Thanksgiving Thursday 2026-11-26: day 3 is Wednesday, coaching on Friday.
    (D(2026, 11, 23), [D(2026, 11, 27), D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 2)]),
    # A Friday start crosses a weekend and Thanksgiving: days 1-3 Fri 20, Mon 23, Tue 24.
    (D(2026, 11, 20), [D(2026, 11, 25), D(2026, 11, 27), D(2026, 11, 30), D(2026, 12, 1)]),
    # Christmas (Fri 25) and New Year's Day 2027 (Fri 1): days 1-3 Wed 23, Thu 24, Mon 28.
    (D(2026, 12, 23), [D(2026, 12, 29), D(2026, 12, 30), D(2026, 12, 31), D(2027, 1, 4)]),
    # A start on a Saturday counts from Monday.
    (D(2026, 3, 7), [D(2026, 3, 12), D(2026, 3, 13), D(2026, 3, 16), D(2026, 3, 17)]),
    # A start on a holiday (Labor Day 2026-09-07) counts from the next business day.
    (D(2026, 9, 7), [D(2026, 9, 11), D(2026, 9, 14), D(2026, 9, 15), D(2026, 9, 16)]),
])
def test_ladder_dates_across_weekends_and_holidays(start, expected):
    assert list(cc.ladder_dates(start).values()) == expected
    assert list(cc.ladder_dates(start)) == ["coaching", "written_cap", "final_cap", "termination"]


def test_ladder_uses_the_given_holiday_calendar():
    closed_friday = HolidayCalendar(extra=[D(2026, 11, 27)])  # the day after Thanksgiving closed too
    assert cc.ladder_dates(D(2026, 11, 23), closed_friday)["coaching"] == D(2026, 11, 30)
    no_holidays = HolidayCalendar(federal=False)
    assert cc.ladder_dates(D(2026, 11, 23), no_holidays)["coaching"] == D(2026, 11, 26)


@pytest.mark.parametrize("today, day, stage, due", [
    (D(2026, 11, 20), None, "not started", []),
    (D(2026, 11, 23), 1, "in progress", []),
    (D(2026, 11, 24), 2, "in progress", []),
    (D(2026, 11, 25), 3, "past target", []),
    (D(2026, 11, 26), 3, "past target", []),               # Thanksgiving: still day 3, nothing falls due
    (D(2026, 11, 27), 4, "coaching", ["documented coaching (due 2026-11-27)"]),
    (D(2026, 11, 28), 4, "coaching", ["documented coaching (overdue since 2026-11-27)"]),   # Saturday
    (D(2026, 11, 30), 5, "written CAP", ["documented coaching (overdue since 2026-11-27)",
                                         "written CAP (due 2026-11-30)"]),
    (D(2026, 12, 1), 6, "final CAP", ["documented coaching (overdue since 2026-11-27)",
                                      "written CAP (overdue since 2026-11-30)", "final CAP (due 2026-12-01)"]),
    (D(2026, 12, 2), 7, "termination eligible", ["documented coaching (overdue since 2026-11-27)",
                                                 "written CAP (overdue since 2026-11-30)",
                                                 "final CAP (overdue since 2026-12-01)",
                                                 "eligible for termination (due 2026-12-02)"]),
    (D(2026, 12, 10), 13, "termination eligible", ["documented coaching (overdue since 2026-11-27)",
                                                   "written CAP (overdue since 2026-11-30)",
                                                   "final CAP (overdue since 2026-12-01)",
                                                   "eligible for termination (overdue since 2026-12-02)"]),
])
def test_timeline_with_nothing_recorded(today, day, stage, due):
    t = cc.timeline(D(2026, 11, 23), today)
    assert (t.day, t.stage, [str(d) for d in t.due]) == (day, stage, due)


def test_timeline_is_anchored_on_the_start_date_when_a_step_is_recorded_late():
    start = D(2026, 11, 23)
    late = {"coaching": D(2026, 11, 30)}  # recorded on day 5, one business day late
    t = cc.timeline(start, D(2026, 11, 30), late)
    assert [str(d) for d in t.due] == ["written CAP (due 2026-11-30)"]  # not pushed to Dec 1
    t = cc.timeline(start, D(2026, 12, 1), late)
    assert [(d.action, d.due_on, d.overdue) for d in t.due] == [("written_cap", D(2026, 11, 30), True),
                                                                ("final_cap", D(2026, 12, 1), False)]
    # A record dated after the day asked about does not count yet.
    assert [d.action for d in cc.timeline(start, D(2026, 11, 27), late).due] == ["coaching"]


def test_timeline_recorded_steps_and_termination():
    start = D(2026, 11, 23)
    done = {"coaching": D(2026, 11, 27), "written_cap": D(2026, 11, 30), "final_cap": D(2026, 12, 1)}
    t = cc.timeline(start, D(2026, 12, 1), done)
    assert (t.stage, t.due) == ("final CAP", ())
    t = cc.timeline(start, D(2026, 12, 2), done)
    assert [d.action for d in t.due] == ["termination"]
    t = cc.timeline(start, D(2026, 12, 3), {**done, "termination": D(2026, 12, 2)})
    assert (t.stage, t.due) == ("terminated", ())


def test_timeline_around_christmas_and_new_year():
    start = D(2026, 12, 23)
    assert cc.timeline(start, D(2026, 12, 25)).day == 2           # Christmas: still day 2
    assert cc.timeline(start, D(2026, 12, 28)).stage == "past target"
    assert cc.timeline(start, D(2027, 1, 1)).stage == "final CAP"  # New Year's Day: nothing new due
    assert cc.timeline(start, D(2027, 1, 4)).stage == "termination eligible"


@pytest.mark.parametrize("hours, tbt, flags", [
    ([1, 1, 1, 1], 8, ()),
    ([1, 1, 1, 1, None], None, ()),
    ([1, 1, 1, 1, 0.25], 8.5, ("call certs took 4.25 h (limit 4 h)", "TBTs took 8.5 h (limit 8 h)")),
])
def test_overtime_flags(hours, tbt, flags):
    assert cc.overtime_flags(hours, tbt) == flags


def test_note_format_and_marked_down_note():
    assert cc.format_note(D(2026, 3, 2), " Jane  Smith", "Done\nwith TBTs") == "2026-03-02 - Jane Smith - Done with TBTs"
    levels = levels_with(RES3=2, CLOSE2=3)
    text = cc.marked_down_note(RUBRIC, levels, {"CLOSE2": "Use the note format.", "RES3": "Read it in full.",
                                                "OPEN1": " "})
    assert text.splitlines() == ["RES3 (Needs improvement): Read it in full.",
                                 "CLOSE2 (Minor lapse): Use the note format."]


# --- the store -------------------------------------------------------------------------------------------------


def call(store, agent_id, score_levels=None, on=D(2025, 11, 24), **kw):
    args = dict(certifier="Dana Alvarez", levels=score_levels or ALL_MEET, went_well="Clear greeting.",
                marked_down="RES3: read the disclosure in full.", positive="Calm and confident.", scored_on=on)
    args.update(kw)
    return cc.score_call(store, agent_id, **args)


FAIL_LEVELS = levels_with(RES1=1)  # 81/96 = 84.4


def counts(store):
    with store.read() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (cc_agents, cc_calls, cc_actions, cc_notes, audit)}


def test_score_call_stores_the_call_with_the_scorecard_version(store):
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24", certifier="Dana Alvarez")
    result = call(store, aid, levels_with(RES3=3), duration_hours=0.75)
    assert (result.call_no, result.passed, result.certification.status) == (1, True, "in progress")
    assert result.score == pytest.approx(100 * 91 / 96)
    row = cc.calls(store, aid)[0]
    assert row["levels"] == levels_with(RES3=3) and row["rubric_version"] == RUBRIC.version
    assert (row["certifier"], row["scored_on"], row["duration_hours"]) == ("Dana Alvarez", D(2025, 11, 24), 0.75)
    assert (row["went_well"], row["positive"]) == ("Clear greeting.", "Calm and confident.")
    with store.read() as conn:
        assert conn.execute(sa.select(rubric_versions.c.rubric_id)
                            .where(rubric_versions.c.version == RUBRIC.version)).scalar() == "call-scorecard"
        logged = conn.execute(sa.select(audit.c.actor, audit.c.after).where(audit.c.action == "cc_score_call")).one()
    assert logged.actor == "Dana Alvarez" and json.loads(logged.after)["call_no"] == 1


def test_five_calls_then_a_sixth_is_refused_and_nothing_is_stored(store):
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    for k in range(5):
        result = call(store, aid, FAIL_LEVELS if k == 2 else ALL_MEET)
    assert (result.call_no, result.certification.pass_rate, result.certification.status) == (5, 80.0, "passed")
    before = counts(store)
    with pytest.raises(cc.CallCertError, match=f"^agent {aid} already has 5 scored calls; the call certification "
                                               "has exactly 5$"):
        call(store, aid)
    assert counts(store) == before


def test_three_of_five_fails_the_programme(store):
    aid = cc.add_agent(store, "Ben", "Carter", "2025-11-24")
    for levels in (ALL_MEET, FAIL_LEVELS, ALL_MEET, FAIL_LEVELS, ALL_MEET):
        result = call(store, aid, levels)
    assert (result.certification.calls_passed, result.certification.pass_rate) == (3, 60.0)
    status = cc.agent_status(store, aid, D(2025, 11, 24))
    assert (status.stage, status.finished_on, status.due) == ("failed", D(2025, 11, 24), ())  # no TBTs needed


@pytest.mark.parametrize("change, message", [
    ({"agent_id": 99}, "unknown agent 99"),
    ({"agent_id": "x"}, "agent 'x' is not an agent number"),
    ({"positive": "  "}, "coaching note: a positive remark (at least one is required) is empty; expected text"),
    ({"went_well": ""}, "coaching note: what went well is empty; expected text"),
    ({"score_levels": levels_with(RES3=2), "marked_down": ""},
     "coaching note: what was marked down (RES3 below the standard) is empty; expected text"),
    ({"score_levels": {"OPEN1": 4}}, "call scorecard: no level for OPEN2, HAND1, HAND2, HAND3, RES1, RES2, RES3, "
                                     "CLOSE1, CLOSE2"),
    ({"score_levels": levels_with(OPEN1=5)}, "call scorecard: criterion OPEN1: level 5 is not on the scale "
                                             "[0, 1, 2, 3, 4]"),
    ({"score_levels": levels_with(NOPE=4)}, "call scorecard: rubric call-scorecard: no criterion 'NOPE'; expected "
                                            "one of ['OPEN1', 'OPEN2', 'HAND1', 'HAND2', 'HAND3', 'RES1', 'RES2', "
                                            "'RES3', 'CLOSE1', 'CLOSE2']"),
    ({"on": D(2025, 11, 21)}, "call date 2025-11-21 is before agent 1's start date 2025-11-24"),
    ({"on": dt.date.today() + dt.timedelta(days=1)}, f"call date {dt.date.today() + dt.timedelta(days=1)} is in "
                                                     "the future"),
    ({"on": "24/11/2025"}, "call date '24/11/2025' is not a date (expected YYYY-MM-DD)"),
    ({"duration_hours": 0}, "call duration 0 is not a number of hours in (0, 24]"),
    ({"certifier": ""}, "certifier is empty; expected text"),
])
def test_score_call_refuses_bad_input_and_stores_nothing(store, change, message):
    cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    before = counts(store)
    args = {"agent_id": 1, **change}
    with pytest.raises(cc.CallCertError) as err:
        call(store, **args)
    assert str(err.value) == message
    assert counts(store) == before


def test_marked_down_may_be_empty_when_every_item_meets_the_standard(store):
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    assert call(store, aid, marked_down="").passed
    assert cc.calls(store, aid)[0]["marked_down"] == ""


def test_finishing_needs_five_calls_and_the_tbts(store):
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")   # Monday; Thanksgiving 2025-11-27
    for on in [D(2025, 11, 24)] * 4 + [D(2025, 11, 25)]:
        call(store, aid, on=on, duration_hours=1.0)
    status = cc.agent_status(store, aid, D(2025, 11, 26))
    assert (status.stage, status.certification.status) == ("past target", "passed")   # calls passed, TBTs not done
    cc.record_tbt(store, aid, 8.5, D(2025, 11, 28))
    status = cc.agent_status(store, aid, D(2025, 12, 1))
    assert (status.stage, status.finished_on, status.due) == ("passed", D(2025, 11, 28), ())
    assert status.flags == ("call certs took 5 h (limit 4 h)", "TBTs took 8.5 h (limit 8 h)",
                            "finished on business day 4 (target 2)")
    with store.read() as conn:
        assert conn.execute(sa.select(cc_agents.c.completed_on)).scalar() == D(2025, 11, 28)
    # As of a day before the TBTs were done, the agent was still on the ladder.
    assert cc.agent_status(store, aid, D(2025, 11, 26)).finished_on is None


def test_record_action_follows_the_ladder(store):
    aid = cc.add_agent(store, "Mei", "Lin", "2025-11-24")   # coaching due Fri 2025-11-28 (after Thanksgiving)
    act = lambda action, on: cc.record_action(store, aid, action, on, "Cert Coordinator", "Expectation set.")
    before = counts(store)
    with pytest.raises(cc.CallCertError, match="^documented coaching for agent 1 is not due until 2025-11-28$"):
        act("coaching", D(2025, 11, 26))
    with pytest.raises(cc.CallCertError, match="^record the documented coaching for agent 1 before the written CAP$"):
        act("written_cap", D(2025, 12, 1))
    with pytest.raises(cc.CallCertError, match="^action 'warning' is not one of coaching, written_cap, final_cap, "
                                               "termination$"):
        act("warning", D(2025, 11, 28))
    with pytest.raises(cc.CallCertError, match="^documented coaching note is empty; expected text$"):
        cc.record_action(store, aid, "coaching", D(2025, 11, 28), "Cert Coordinator", " ")
    assert counts(store) == before
    act("coaching", D(2025, 12, 1))   # one business day late
    with pytest.raises(cc.CallCertError, match="^documented coaching for agent 1 was already recorded on 2025-12-01$"):
        act("coaching", D(2025, 12, 2))
    status = cc.agent_status(store, aid, D(2025, 12, 2))   # written CAP was due Dec 1, final CAP Dec 2
    assert [str(d) for d in status.due] == ["written CAP (overdue since 2025-12-01)", "final CAP (due 2025-12-02)"]
    act("written_cap", D(2025, 12, 2))
    act("final_cap", D(2025, 12, 2))
    act("termination", D(2025, 12, 3))
    status = cc.agent_status(store, aid, D(2025, 12, 4))
    assert (status.stage, status.due) == ("terminated", ())
    with pytest.raises(cc.CallCertError, match="^agent 1 was terminated; no further calls are scored$"):
        call(store, aid, on=D(2025, 12, 4))


def test_no_ladder_action_once_finished(store):
    aid = cc.add_agent(store, "Ana", "Reyes", "2025-11-24")
    for _ in range(5):
        call(store, aid, FAIL_LEVELS)
    with pytest.raises(cc.CallCertError, match="^agent 1 finished on 2025-11-24; no ladder action applies$"):
        cc.record_action(store, aid, "coaching", D(2025, 11, 28), "Cert Coordinator", "Too late.")


def test_equipment_issue_blocks_connecting_a_certifier(store):
    aid = cc.add_agent(store, "Nadia", "Haddad", "2025-11-24", equipment_issue="VPN token not activated")
    with pytest.raises(cc.CallCertError, match="^agent 1 has an open equipment issue \\(VPN token not activated\\); "
                                               "resolve it before connecting a certifier$"):
        cc.assign_certifier(store, aid, "Lin Chen")
    with pytest.raises(cc.CallCertError, match="open equipment issue cannot be connected"):
        cc.add_agent(store, "X", "Y", "2025-11-24", certifier="Lin Chen", equipment_issue="No headset")
    cc.set_equipment_issue(store, aid, "")
    cc.assign_certifier(store, aid, "Lin Chen")
    assert (cc.agent(store, aid)["certifier"], cc.agent(store, aid)["equipment_issue"]) == ("Lin Chen", None)
    assert cc.certifiers(store) == ["Lin Chen"]


@pytest.mark.parametrize("args, message", [
    (("", "Smith", "2025-11-24"), "agent first name is empty; expected text"),
    (("Jane", "Smith", "next monday"), "start date 'next monday' is not a date (expected YYYY-MM-DD)"),
])
def test_add_agent_refuses(store, args, message):
    with pytest.raises(cc.CallCertError) as err:
        cc.add_agent(store, *args)
    assert str(err.value) == message
    assert counts(store)["cc_agents"] == 0


def test_progress_notes(store):
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    line = cc.add_note(store, aid, "Jane Smith", "Completed TBT modules 1-3.", "2025-11-24")
    assert line == "2025-11-24 - Jane Smith - Completed TBT modules 1-3."
    cc.add_note(store, aid, "Cert Coordinator", "Headset replaced by IT.", "2025-11-25")
    assert [n["line"] for n in cc.notes(store, aid)] == [line, "2025-11-25 - Cert Coordinator - Headset replaced "
                                                               "by IT."]
    assert [n["agent"] for n in cc.notes(store, on_date="2025-11-25")] == ["Smith, Jane"]
    before = counts(store)
    for bad, message in [(dict(note=" \n "), "note text is empty; expected text"),
                         (dict(name=""), "note name is empty; expected text"),
                         (dict(agent_id=42), "unknown agent 42")]:
        args = {"agent_id": aid, "name": "Jane Smith", "note": "ok", **bad}
        with pytest.raises(cc.CallCertError) as err:
            cc.add_note(store, args["agent_id"], args["name"], args["note"], "2025-11-25")
        assert str(err.value) == message
    assert counts(store) == before


def test_write_path_on_sqlite_and_postgresql(any_store):
    aid = cc.add_agent(any_store, "Jane", "Smith", "2025-11-24")
    for k in range(5):
        call(any_store, aid, FAIL_LEVELS if k == 0 else ALL_MEET)
    cc.record_tbt(any_store, aid, 7, "2025-11-25")
    with pytest.raises(cc.CallCertError):
        call(any_store, aid)
    status = cc.overview(any_store, D(2025, 11, 25))[0]
    assert (status.stage, status.certification.pass_rate, status.finished_on) == ("passed", 80.0, D(2025, 11, 25))


# --- the scorecard workbook ------------------------------------------------------------------------------------


def test_export_scorecard_workbook(store, tmp_path):
    aid = cc.add_agent(store, "Marcus", "O'Brien", "2025-11-24")
    with pytest.raises(cc.CallCertError, match="^agent 1 has 0 of 5 calls scored; the scorecard is exported after "
                                               "the fifth call$"):
        cc.export_scorecard(store, aid)
    plans = [ALL_MEET, FAIL_LEVELS, levels_with(RES3=3), ALL_MEET, ALL_MEET]
    for k, levels in enumerate(plans, start=1):
        call(store, aid, levels, on=D(2025, 11, 24 + k // 4), certifier="Lin Chen" if k == 5 else "Dana Alvarez",
             marked_down=f"call {k} marked down", duration_hours=0.5)
    path = cc.export_scorecard(store, aid)
    assert path == store.workspace / "scorecards" / "OBrien_Marcus_80%.xlsx"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    sheets = pd.read_excel(path, sheet_name=None, header=None)
    assert list(sheets) == ["Summary", "Call 1", "Call 2", "Call 3", "Call 4", "Call 5"]
    summary = sheets["Summary"]
    info = dict(zip(summary[0][1:8], summary[1][1:8]))
    assert info["Agent"] == "O'Brien, Marcus" and info["Calls passed"] == "4 of 5" and info["Result"] == "Passed"
    assert info["Pass rate"] == pytest.approx(0.8) and info["Certifier(s)"] == "Dana Alvarez, Lin Chen"
    table = pd.read_excel(path, sheet_name="Summary", header=9)
    assert table["Call"].tolist() == [1, 2, 3, 4, 5]
    assert table["Result"].tolist() == ["Pass", "Fail", "Pass", "Pass", "Pass"]
    assert table["Score"].tolist() == [100.0, 84.4, 94.8, 100.0, 100.0]
    assert table["Certifier"].tolist() == ["Dana Alvarez"] * 4 + ["Lin Chen"]
    call2 = sheets["Call 2"]
    head = dict(zip(call2[0][:6], call2[1][:6]))
    assert (head["Call"], head["Score"], head["Result"]) == (2, 84.4, "Fail")
    items = pd.read_excel(path, sheet_name="Call 2", header=7, nrows=len(RUBRIC.criteria))
    assert dict(zip(items["Item"], items["Level"])) == FAIL_LEVELS
    assert items.set_index("Item").loc["RES1", "Meets standard"] == "No"
    assert items.set_index("Item").loc["RES1", "Label"] == "Poor"
    notes = dict(zip(call2[0], call2[1]))
    assert notes["What was marked down"] == "call 2 marked down"
    assert notes["Positive remark"] == "Calm and confident."
    # Exported again to another folder: same name, same content.
    again = cc.export_scorecard(store, aid, tmp_path / "out")
    assert again.name == path.name and pd.read_excel(again, sheet_name="Summary", header=9).equals(table)


# --- the end-of-day report -------------------------------------------------------------------------------------


@pytest.fixture
def eod_store(store):
    """Agents on Tuesday 2025-12-02: one passing today, one at the final CAP, one with an equipment issue,
    one finished earlier (not listed), one terminated earlier (not listed)."""
    today = D(2025, 12, 2)
    passer = cc.add_agent(store, "Tomás", "Reyes", "2025-12-01", certifier="Kit Evans")
    for k in range(5):
        call(store, passer, FAIL_LEVELS if k == 1 else ALL_MEET, on=D(2025, 12, 1 + k // 3), certifier="Kit Evans")
    cc.record_tbt(store, passer, 7.5, today)
    slow = cc.add_agent(store, "Rosa", "Delgado | Vega", "2025-11-24")   # day 6 on Dec 2 (Thanksgiving Nov 27)
    call(store, slow, on=D(2025, 11, 24), duration_hours=4.5)
    cc.record_action(store, slow, "coaching", D(2025, 11, 28), "Cert Coordinator", "Coached on pace.")
    cc.record_action(store, slow, "written_cap", D(2025, 12, 2), "Cert Coordinator", "Written <CAP> delivered.")
    cc.add_agent(store, "Nadia", "<b>Haddad</b>", "2025-12-01", equipment_issue="Softphone login fails")
    done = cc.add_agent(store, "Old", "Finisher", "2025-11-03")
    for _ in range(5):
        call(store, done, on=D(2025, 11, 3))
    cc.record_tbt(store, done, 6, D(2025, 11, 3))
    cc.add_note(store, passer, "Tomás Reyes", "All calls and TBTs done.", today)
    cc.add_note(store, slow, "Cert Coordinator", "No report yesterday.", D(2025, 12, 1))
    return store, today


def test_eod_report_markdown(eod_store):
    store, today = eod_store
    md = cc.eod_report(store, today).markdown
    assert md.startswith("# Call Certification: end-of-day report, Tuesday 2025-12-02\n")
    assert "- Agents in call certification: 2 (on target 1, past target 0, on the escalation ladder 1)" in md
    assert "- Calls scored today: 2 (2 passed)" in md
    assert "- Finished today: 1 passed (1 at 4/5), 0 failed" in md
    assert "- Ladder actions due: 1 (0 overdue)" in md
    assert "- Open equipment issues: 1" in md
    assert ("| Reyes, Tomás | 2025-12-01 | 2 | Kit Evans | 4/5 | done (7.5 h) | passed (80%) | - | - |") in md
    assert "| Delgado \\| Vega, Rosa | 2025-11-24 | 6 | - | 1/1 | not done | final CAP | final CAP (due 2025-12-02) |" \
        in md
    # names and notes are literal text: Markdown and HTML in them are escaped, not passed through
    assert "- Delgado \\| Vega, Rosa: written CAP recorded by Cert Coordinator: Written \\<CAP\\> delivered." in md
    assert "- \\<b\\>Haddad\\</b\\>, Nadia: Softphone login fails" in md and "<b>" not in md
    assert "- Delgado \\| Vega, Rosa: call certs took 4.5 h (limit 4 h)" in md
    assert "- 2025-12-02 - Tomás Reyes - All calls and TBTs done. (agent: Reyes, Tomás)" in md
    assert "No report yesterday" not in md   # yesterday's note
    assert "Finisher" not in md              # finished before the day


def test_eod_report_html_escapes_and_saves(eod_store, tmp_path):
    store, today = eod_store
    report = cc.eod_report(store, today)
    page = report.html
    assert "<b>Haddad</b>" not in page and "&lt;b&gt;Haddad&lt;/b&gt;, Nadia" in page
    assert "Written &lt;CAP&gt; delivered." in page
    assert '<td class="fail">final CAP</td>' in page
    assert report.save(tmp_path / "eod.html").read_text(encoding="utf-8") == page
    assert report.save(tmp_path / "eod.md").read_text(encoding="utf-8") == report.markdown


def test_eod_report_of_an_empty_day(store):
    md = cc.eod_report(store, D(2025, 12, 2)).markdown
    assert "No agents in call certification." in md and "No progress notes today." in md


_EOD_INTRO = """\
# Call Certification: end-of-day report, Tuesday 2025-12-02

Call Center Industry Advisory Council. Business days count from each agent's start date (day 1); the target is 5 \
calls and TBTs by the end of day 2.

## Summary
"""
EOD_MARKDOWN = _EOD_INTRO + """
- Agents in call certification: 2 (on target 1, past target 0, on the escalation ladder 1)
- Calls scored today: 2 (2 passed)
- Finished today: 1 passed (1 at 4/5), 0 failed
- Ladder actions due: 1 (0 overdue)
- Open equipment issues: 1
- Self-reports missing: 2 (\\<b\\>Haddad\\</b\\>, Nadia; Delgado \\| Vega, Rosa)
- Certifiers: Kit Evans: 2 call(s) today, connected to nobody
- Waiting for a certifier (no equipment issue): Delgado \\| Vega, Rosa
- IT tickets open: none
- Morning touch base: Cert Coordinator: Kit takes Rosa after lunch.

## Agents

| Agent | Start | Day | Certifier | Calls passed | TBTs | Stage | Due | Equipment |
|---|---|---|---|---|---|---|---|---|
| Delgado \\| Vega, Rosa | 2025-11-24 | 6 | - | 1/1 | not done | final CAP | final CAP (due 2025-12-02) | - |
| \\<b\\>Haddad\\</b\\>, Nadia | 2025-12-01 | 2 | - | 0/0 | not done | in progress | - | Softphone login fails |
| Reyes, Tomás | 2025-12-01 | 2 | Kit Evans | 4/5 | done (7.5 h) | passed (80%) | - | - |

## Calls scored today

| Agent | Call | Certifier | Score | Result |
|---|---|---|---|---|
| Reyes, Tomás | 4 | Kit Evans | 100.0 | Pass |
| Reyes, Tomás | 5 | Kit Evans | 100.0 | Pass |

## Ladder actions

- Delgado \\| Vega, Rosa: final CAP (due 2025-12-02)
- Delgado \\| Vega, Rosa: written CAP recorded by Cert Coordinator: Written \\<CAP\\> delivered.

## Equipment issues

- \\<b\\>Haddad\\</b\\>, Nadia: Softphone login fails

## Time limits exceeded

- Delgado \\| Vega, Rosa: call certs took 4.5 h (limit 4 h)

## Progress notes

- 2025-12-02 - Tomás Reyes - All calls and TBTs done. (agent: Reyes, Tomás)
- 2025-12-02 - Tomás Reyes - Fifth call passed; TBT modules: none; Blockers: none (by e-mail) (agent: Reyes, Tomás)
"""
EOD_MARKDOWN_EMPTY = _EOD_INTRO + """
- Agents in call certification: 0 (on target 0, past target 0, on the escalation ladder 0)
- Calls scored today: 0 (0 passed)
- Finished today: 0 passed (none), 0 failed
- Ladder actions due: 0 (0 overdue)
- Open equipment issues: 0
- Self-reports missing: 0
- Certifiers: none connected
- Waiting for a certifier (no equipment issue): none
- IT tickets open: none
- Morning touch base: not recorded

## Agents

No agents in call certification.

## Calls scored today

None.

## Ladder actions

None due or recorded today.

## Equipment issues

None open.

## Time limits exceeded

None.

## Progress notes

No progress notes today.
"""


# The whole report, byte for byte: blank lines, table rows and the final line break come from the template. The
# coordinator's team view is in every report: the day's touch base and Tomás's e-mailed self-report fill its rows.
def test_eod_report_markdown_layout_is_unchanged(eod_store):
    store, today = eod_store
    cc.add_touch_base(store, "Kit takes Rosa after lunch.", "Cert Coordinator", on_date=today, today=today)
    cc.submit_self_report(store, 1, "Fifth call passed.", on_date=today, via="email", actor="Cert Coordinator",
                          today=today)
    assert cc.eod_report(store, today).markdown == EOD_MARKDOWN


def test_eod_report_markdown_layout_of_an_empty_day_is_unchanged(store):
    assert cc.eod_report(store, D(2025, 12, 2)).markdown == EOD_MARKDOWN_EMPTY


# --- demo and CLI ----------------------------------------------------------------------------------------------


def test_demo_has_agents_in_every_stage(demo_workspace):
    store = open_store(demo_workspace)
    statuses = cc.overview(store)
    assert {s.stage for s in statuses} == set(cc.STAGES)
    finished = {s.certification.calls_passed for s in statuses if s.stage == "passed"}
    assert {4, 5} <= finished
    assert any(s.equipment_issue for s in statuses) and any(s.flags for s in statuses)
    assert any(d.overdue for s in statuses for d in s.due)
    assert cc.notes(store)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_flow(workspace, capsys, tmp_path):
    code, out, _ = run(capsys, "callcert", "add-agent", "Jane", "O'Brien", "--start", "2025-11-24", "--certifier",
                       "Lin Chen", "-w", workspace)
    assert code == 0 and out.strip() == "agent 1: O'Brien, Jane, starts 2025-11-24"
    levels = ",".join(f"{k}={v}" for k, v in ALL_MEET.items())
    for k in range(5):
        code, out, err = run(capsys, "callcert", "score-call", 1, "--certifier", "Lin Chen", "--levels", levels,
                             "--went-well", "Good", "--positive", "Great tone", "--date", "2025-11-24", "--hours",
                             "0.5", "-w", workspace)
        assert code == 0, err
    assert out.strip() == "agent 1 call 5: 100.0 pass; 5/5 passed, passed"
    assert run(capsys, "callcert", "tbt", 1, "--hours", 6, "--date", "2025-11-25", "-w", workspace)[0] == 0
    assert run(capsys, "callcert", "note", 1, "--name", "Jane O'Brien", "--text", "All done", "--date",
               "2025-11-25", "-w", workspace)[1].strip() == "2025-11-25 - Jane O'Brien - All done"
    code, out, _ = run(capsys, "callcert", "agents", "--today", "2025-11-25", "-w", workspace)
    assert code == 0 and "O'Brien, Jane" in out and "passed" in out
    code, out, _ = run(capsys, "callcert", "export", 1, "--out", tmp_path, "-w", workspace)
    assert code == 0 and out.strip() == str(tmp_path / "OBrien_Jane_100%.xlsx")
    code, out, _ = run(capsys, "callcert", "eod-report", "--date", "2025-11-25", "--out", tmp_path / "r.html", "-w",
                       workspace)
    assert code == 0 and "<h1>Call Certification: end-of-day report, Tuesday 2025-11-25</h1>" in \
        (tmp_path / "r.html").read_text()
    code, out, _ = run(capsys, "callcert", "eod-report", "--date", "2025-11-25", "-w", workspace)
    assert code == 0 and "- 2025-11-25 - Jane O'Brien - All done (agent: O'Brien, Jane)" in out


@pytest.mark.parametrize("argv, message", [
    (["score-call", "7", "--certifier", "X", "--levels", ",".join(f"{k}=4" for k in ALL_MEET), "--went-well", "a",
      "--positive", "b"], "unknown agent 7"),
    (["score-call", "1", "--certifier", "X", "--levels", "OPEN1=four", "--went-well", "a", "--positive", "b"],
     "--levels item 'OPEN1=four' is not ITEM=LEVEL (e.g. OPEN1=4)"),
    (["note", "1", "--name", "Jane", "--text", " "], "note text is empty; expected text"),
    (["action", "1", "coaching", "--by", "me", "--note", "x", "--date", "2025-11-24"],   # started Thursday
     "documented coaching for agent 1 is not due until 2025-11-25"),
    (["export", "1"], "agent 1 has 0 of 5 calls scored; the scorecard is exported after the fifth call"),
    (["eod-report", "--date", "yesterday"], "--date 'yesterday' is not a date (expected YYYY-MM-DD)"),
    (["tbt", "1", "--hours", "-2"], "TBT hours -2.0 is not a number of hours in (0, 120]"),
])
def test_cli_bad_input_is_one_line_and_exit_1(workspace, capsys, argv, message):
    main(["callcert", "add-agent", "Jane", "Smith", "--start", "2025-11-20", "-w", str(workspace)])
    capsys.readouterr()
    code, out, err = run(capsys, "callcert", *argv, "-w", workspace)
    assert (code, out, err) == (1, "", f"evalkit: error: {message}\n")


# --- widgets, driven in the kernel ------------------------------------------------------------------------------


def test_scorecard_form_scores_a_call(store, tmp_path):
    from evalkit.widgets.callcert import CallScorecardForm
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24", certifier="Kit Evans")
    form = CallScorecardForm(store, today=D(2025, 11, 24), scorecard_folder=tmp_path)
    form.agent.value = aid
    assert form.certifier.value == "Kit Evans" and form.export_button.disabled
    # everything still missing is listed at once, in the certifier's words
    assert form.save() is None and "OPEN1: choose a level" in form.message.value
    assert "What went well: at least a sentence" in form.message.value
    assert "Positive remark: at least one, for the agent" in form.message.value
    assert "expected text" not in form.message.value
    assert form.rows["OPEN1"].feedback.placeholder == "Feedback to the agent on this item"
    for row in form.rows.values():
        row.levels.value = 4
    form.rows["RES1"].levels.value = 1
    assert "84.4" in form.summary.value and "FAIL" in form.summary.value
    form.went_well.value = "Clear verification."
    assert form.save() is None and "RES1: level 1 is below the standard: say why for the agent" in form.message.value
    form.rows["RES1"].feedback.value = "Follow every step of the process."
    assert form.save() is None and "Positive remark: at least one, for the agent" in form.message.value
    assert "What went well" not in form.message.value
    assert cc.calls(store, aid) == []
    form.positive.value = "Warm tone throughout."
    form.hours.value = 0.5
    result = form.save()
    assert (result.call_no, result.passed) == (1, False)
    stored = cc.calls(store, aid)[0]
    assert stored["levels"] == FAIL_LEVELS and stored["marked_down"] == "RES1 (Poor): Follow every step of the process."
    assert (stored["positive"], stored["duration_hours"], stored["certifier"]) == ("Warm tone throughout.", 0.5,
                                                                                   "Kit Evans")
    assert "Call 1 saved: 84.4, did not pass" in form.message.value
    assert all(row.level is None for row in form.rows.values()) and form.positive.value == ""
    for _ in range(4):
        call(store, aid)
    form.agent.value = None
    form.agent.value = aid
    assert not form.export_button.disabled
    # the fifth call was the last: the form does not offer a sixth
    assert form.save_button.disabled and all(r.levels.disabled for r in form.rows.values())
    assert "All five calls are scored" in form.summary.value
    path = form.export()
    assert path == tmp_path / "Smith_Jane_80%.xlsx" and 'download="Smith_Jane_80%.xlsx"' in form.export_message.value


def test_coordinator_dashboard(eod_store, tmp_path):
    from evalkit.widgets.callcert import CoordinatorDashboard
    store, today = eod_store
    board = CoordinatorDashboard(store, today=today, reports_folder=tmp_path)
    assert "1 ladder action(s) due as of 2025-12-02" in board.table.value
    assert "final CAP (due 2025-12-02)" in board.table.value
    board.note_agent.value = 3
    assert board.note_name.value == "Nadia <b>Haddad</b>"
    board.note_text.value = ""
    assert not board.save_note() and "note text is empty" in board.note_message.value
    board.note_text.value = "IT ticket escalated."
    assert board.save_note()
    assert "2025-12-02 - Nadia &lt;b&gt;Haddad&lt;/b&gt; - IT ticket escalated." in board.note_list.value
    board.action_agent.value = 2
    assert board.action.value == "final_cap"
    board.action_note.value = "Final CAP delivered."
    assert board.save_action() and "0 ladder action(s) due" in board.table.value
    board.edit_agent.value = 3
    assert board.equipment.value == "Softphone login fails"
    board.equipment.value = ""
    assert board.save_equipment() and cc.agent(store, 3)["equipment_issue"] is None
    md, page = board.create_report()
    assert md == tmp_path / "callcert-eod-2025-12-02.md" and page.suffix == ".html"
    assert "IT ticket escalated." in md.read_text() and "<iframe srcdoc=" in board.report_view.value


def test_eod_markdown_cannot_carry_markup_from_names_and_notes(store):
    # Rendered anywhere (a chat, a wiki, a mail client), the Markdown report must show these as text.
    hostile = ["<script>alert(1)</script>", "[click](javascript:alert(1))", "![x](http://tracker.example/p.png)",
               "# Heading", "1. listed"]
    aid = cc.add_agent(store, "Eve", hostile[0], "2025-12-01", equipment_issue=hostile[2])
    cc.add_note(store, aid, hostile[3], hostile[1] + " " + hostile[4], D(2025, 12, 2))
    md = cc.eod_report(store, D(2025, 12, 2)).markdown
    for bad in (r"(?<!\\)<script", r"(?<!\\)\]\(javascript:", r"(?<!\\)!(?<!\\)\[x", r"^- # Heading", r"^- 1\. listed"):
        assert not re.search(bad, md, re.M), bad  # markup that is not backslash-escaped
    assert "\\<script\\>alert(1)\\</script\\>" in md and "\\!\\[x\\](http://tracker.example/p.png)" in md


def test_a_call_saved_in_the_form_shows_at_once_in_the_coordinator_table_on_the_same_page(store, tmp_path):
    from evalkit.widgets.callcert import CallScorecardForm, CoordinatorDashboard
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24", certifier="Kit Evans")
    board = CoordinatorDashboard(store, today=D(2025, 11, 24), reports_folder=tmp_path)
    before = board.table.value
    assert "Smith" in before
    form = CallScorecardForm(store, today=D(2025, 11, 24), scorecard_folder=tmp_path)
    form.agent.value = aid
    for row in form.rows.values():
        row.levels.value = 4
    form.went_well.value, form.positive.value = "Clear verification.", "Warm tone."
    assert form.save() is not None
    assert board.table.value != before  # no Refresh click needed


def test_coordinator_buttons_are_sized_to_their_label(store, tmp_path):
    # In the dashboard's columns, buttons of width "auto" stretched across the page as grey bars.
    from evalkit.widgets.callcert import CoordinatorDashboard
    board = CoordinatorDashboard(store, reports_folder=tmp_path)
    buttons = [w for w in _walk(board.widget) if type(w).__name__ == "Button"]
    assert buttons and all(b.layout.align_self == "flex-start" for b in buttons)
    assert {b.button_style for b in buttons if b.description != "Refresh"} == {"primary"}


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_a_coordinator_entry_without_an_agent_asks_for_one(store, tmp_path):
    from evalkit.widgets.callcert import CoordinatorDashboard
    cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    board = CoordinatorDashboard(store, today=D(2025, 11, 24), reports_folder=tmp_path)
    board.note_text.value = "Progress"
    assert board.save_note() is False and "choose the agent first" in board.note_message.value
    assert board.save_action() is False and "choose the agent first" in board.action_message.value


def test_a_call_scored_in_the_form_is_queued_to_the_agent_by_email(store, tmp_path):
    from evalkit.delivery.outbox import messages
    from evalkit.widgets.callcert import CallScorecardForm
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24", certifier="Kit Evans")
    other = cc.add_agent(store, "Bo", "Ng", "2025-11-24", certifier="Kit Evans")
    cc.set_agent_email(store, aid, "jane.smith@example.org")
    form = CallScorecardForm(store, today=D(2025, 11, 24), scorecard_folder=tmp_path)
    for agent in (aid, other):
        form.agent.value = agent
        for row in form.rows.values():
            row.levels.value = 4
        form.went_well.value, form.positive.value = "Clear verification.", "Warm tone throughout."
        assert form.save() is not None
        queued_text = "The scorecard is queued to the agent by e-mail."
        assert (queued_text in form.message.value) == (agent == aid)  # no address on record: nothing queued
    [message] = [m for m in messages(store) if m["kind"] == "call_scorecard"]
    assert message["recipient"] == "jane.smith@example.org" and "100" in message["body"]


# --- the Certifier is who is signed in ------------------------------------------------------------------------------


def _score_in(form, agent_id):
    form.agent.value = agent_id
    for row in form.rows.values():
        row.levels.value = 4
    form.went_well.value, form.positive.value = "Clear verification.", "Warm tone throughout."
    return form.save()


def _call_audit(store):
    with store.read() as conn:
        return conn.execute(sa.select(audit.c.actor).where(audit.c.action == "cc_score_call")).scalars().all()


@pytest.fixture
def hub_certifier(store, monkeypatch):
    """Sam Brooks (sme.brooks, a registered rater) signed in through the hub as a certifier."""
    from evalkit import access
    from evalkit.evaluation import workflow
    workflow.add_rater(store, "sme.brooks", "Sam Brooks")
    access.grant(store, "sme.brooks", "certifier", actor="office")
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.brooks")
    return store


def test_signed_in_through_the_hub_the_certifier_is_the_person_and_read_only(hub_certifier, tmp_path):
    from evalkit.widgets.callcert import CallScorecardForm
    store = hub_certifier
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24", certifier="Kit Evans")
    form = CallScorecardForm(store, certifier="Kit Evans", today=D(2025, 11, 24), scorecard_folder=tmp_path)
    assert form.certifier.value == "Sam Brooks" and form.certifier.disabled
    assert list(form.certifier.options) == ["Sam Brooks"]
    form.agent.value = aid  # the agent's assigned Certifier does not replace the signed-in one
    assert form.certifier.value == "Sam Brooks"
    form.certifier.value = "Kit Evans"  # tampered with from the kernel: the save checks again
    result = _score_in(form, aid)
    assert result is not None and result.call_no == 1
    assert cc.calls(store, aid)[0]["certifier"] == "Sam Brooks"
    assert form.certifier.value == "Sam Brooks"
    assert _call_audit(store) == ["sme.brooks"]


def test_a_signed_in_certifier_not_registered_as_a_rater_is_named_by_username(store, monkeypatch, tmp_path):
    from evalkit import access
    from evalkit.widgets.callcert import CallScorecardForm
    access.grant(store, "cert.gil", "certifier", actor="office")
    monkeypatch.setenv("JUPYTERHUB_USER", "cert.gil")
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    form = CallScorecardForm(store, today=D(2025, 11, 24), scorecard_folder=tmp_path)
    assert (form.certifier.value, form.certifier.disabled) == ("cert.gil", True)
    assert _score_in(form, aid) is not None
    assert cc.calls(store, aid)[0]["certifier"] == "cert.gil"


def test_signed_in_without_the_certifier_role_nothing_is_saved(hub_certifier, tmp_path):
    from evalkit import access
    from evalkit.widgets.callcert import CallScorecardForm
    store = hub_certifier
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    form = CallScorecardForm(store, today=D(2025, 11, 24), scorecard_folder=tmp_path)
    access.revoke(store, "sme.brooks", "certifier", actor="office")
    assert _score_in(form, aid) is None and "Not saved" in form.message.value
    assert cc.calls(store, aid) == []


def test_with_nobody_signed_in_the_typed_certifier_is_saved(store, monkeypatch, tmp_path):
    from evalkit.widgets.callcert import CallScorecardForm
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24", certifier="Kit Evans")
    form = CallScorecardForm(store, certifier="Lin Chen", today=D(2025, 11, 24), scorecard_folder=tmp_path)
    assert (form.certifier.value, form.certifier.disabled) == ("Lin Chen", False)
    form.certifier.value = "Dana Alvarez"  # chosen from the list (or typed): a single desk keeps the choice
    assert _score_in(form, aid) is not None
    assert cc.calls(store, aid)[0]["certifier"] == "Dana Alvarez"
    assert _call_audit(store) == ["Dana Alvarez"]


@pytest.mark.postgres
def test_on_postgresql_a_persons_session_is_the_certifier_of_every_call_they_save(pg_url, tmp_path):
    """Signed in to PostgreSQL as themselves (row-level security): the form shows them read-only, and a call saved
    with another name, through the form or the API, carries theirs."""
    from evalkit import access
    from evalkit.widgets.callcert import CallScorecardForm
    from test_rls import as_person, build_office
    ids = build_office(pg_url, tmp_path / "rubrics")
    owner = open_store(pg_url)
    try:
        access.grant(owner, "sme.ana", "certifier", actor="office")  # a registered rater: "Sme.Ana" in raters
    finally:
        owner.dispose()
    for username, name in (("sme.ana", "Sme.Ana"), ("cert.gil", "cert.gil")):
        person = open_store(as_person(pg_url, username))
        try:
            assert cc.certifier_name(person, username) == name
            form = CallScorecardForm(person, certifier="Kit Evans", today=D(2025, 11, 25), scorecard_folder=tmp_path)
            assert (form.certifier.value, form.certifier.disabled) == (name, True)
            form.certifier.value = "Kit Evans"
            result = _score_in(form, ids["agent"])
            assert result is not None, form.message.value
            scored = call(person, ids["agent"], on=D(2025, 11, 25), certifier="Kit Evans")
            stored = {c["call_no"]: c["certifier"] for c in cc.calls(person, ids["agent"])}
            assert stored[result.call_no] == stored[scored.call_no] == name
        finally:
            person.dispose()
