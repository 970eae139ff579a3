"""Standard setting (issue 14 part 4): the modified-Angoff numbers by hand, bad input in one line, a workshop
recorded round by round with its impact data, a pass mark adopted as a new rubric version without touching a past
decision, migration 0008 (SQLite and PostgreSQL, every row kept) and its row-level security, and the view."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy import stats

from evalkit.demo import init_workspace
from evalkit.evaluation import scoring, workflow
from evalkit.instruments.programs import load_programs
from evalkit.instruments.rubric import load_rubric, parse_rubric
from evalkit.psychometrics import standard_setting as ss
from evalkit.psychometrics import workshops as ws
from evalkit.store import migrate, open_store, schema, workspace_url
from eligible_profiles import add_eligible_candidate
from test_migrations import SQLITE_AND_POSTGRES, _engine, _target, _url, database_at, rows_kept, snapshot

RUBRIC = load_rubric(load_programs()["CCOM"].rubric_path)
IDS = list(RUBRIC.criterion_ids)
_ext = itertools.count(1)


def _wide(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=IDS)


# --- the numbers ---------------------------------------------------------------------------------------------------


def test_the_cut_is_the_weighted_total_of_each_panellist_and_their_mean():
    ratings = _wide({"ana": [3] * 10, "bo": [2] * 10, "cy": [3, 3, 4, 4, 3, 3, 3, 3, 3, 2]})
    res = ss.angoff_cut(ratings, RUBRIC)
    weights = np.array([c.weight for c in RUBRIC.criteria])
    by_hand = 100 * ratings.to_numpy() @ weights / (weights * 4).sum()
    assert res.panellist_cuts.tolist() == pytest.approx(by_hand.tolist())
    assert res.panellist_cuts["ana"] == 75.0 and res.panellist_cuts["bo"] == 50.0
    assert res.cut == pytest.approx(by_hand.mean())
    assert res.cut == pytest.approx(scoring.total_percent(RUBRIC, res.criteria["mean_level"].to_dict()))
    sd = by_hand.std(ddof=1)
    assert res.sd == pytest.approx(sd) and res.se == pytest.approx(sd / math.sqrt(3))
    half = stats.t.ppf(0.975, 2) * sd / math.sqrt(3)
    assert (res.ci_low, res.ci_high) == pytest.approx((res.cut - half, res.cut + half))
    assert res.criteria.loc["OM1", "mean_level"] == pytest.approx(3.0)
    assert res.criteria["share"].sum() == pytest.approx(res.cut)
    assert (res.n_panellists, res.n_criteria) == (3, 10)


def test_the_generalizability_standard_errors_follow_from_the_components():
    rng = np.random.default_rng(3)
    ratings = _wide({f"p{k}": list(np.clip(np.round(2 * (3 + rng.normal(0, 0.3) + rng.normal(0, 0.3, 10))) / 2,
                                           1, 4)) for k in range(8)})
    res = ss.angoff_cut(ratings, RUBRIC)
    # the G study of the ratings as % of each criterion's maximum, by the ANOVA of a persons x items table
    x = 100 * ratings.to_numpy() / 4
    n_p, n_i = x.shape
    grand, rows, cols = x.mean(), x.mean(axis=1), x.mean(axis=0)
    ms_p = n_i * ((rows - grand) ** 2).sum() / (n_p - 1)
    ms_i = n_p * ((cols - grand) ** 2).sum() / (n_i - 1)
    ms_e = ((x - rows[:, None] - cols[None, :] + grand) ** 2).sum() / ((n_p - 1) * (n_i - 1))
    var = {"panellist": max((ms_p - ms_e) / n_i, 0), "criterion": max((ms_i - ms_e) / n_p, 0),
           "panellist x criterion": ms_e}
    assert dict(zip(res.components["effect"], res.components["variance"])) == pytest.approx(var)
    weights = np.array([c.weight for c in RUBRIC.criteria])
    share2 = ((weights * 4 / (weights * 4).sum()) ** 2).sum()
    fixed = var["panellist"] / n_p + share2 * var["panellist x criterion"] / n_p
    assert res.se_g_fixed == pytest.approx(math.sqrt(fixed))
    assert res.se_g_random == pytest.approx(math.sqrt(fixed + share2 * var["criterion"]))


def test_long_and_wide_ratings_give_the_same_cut_and_one_panellist_has_no_se():
    wide = _wide({"ana": [3, 2.5, 3, 3, 3, 4, 3, 3, 2, 3], "bo": [2.5] * 10})
    long = wide.rename_axis(index="panellist", columns="criterion").stack().rename("level").reset_index()
    a, b = ss.angoff_cut(wide, RUBRIC), ss.angoff_cut(long.sample(frac=1, random_state=1), RUBRIC)
    assert a.cut == b.cut and a.se == b.se
    one = ss.angoff_cut(wide.iloc[:1], RUBRIC)
    assert math.isnan(one.se) and math.isnan(one.ci_low) and "one panellist" in one.note
    assert "no SE (one panellist)" in one.describe()


def test_rounds_are_summarised_in_order_with_the_change_between_them():
    rows = [(r, p, c, lv) for r, levels in ((1, {"ana": 3, "bo": 2, "cy": 4}), (2, {"ana": 3, "bo": 2.5, "cy": 3.5}))
            for p, lv in levels.items() for c in IDS]
    table = ss.round_summary(pd.DataFrame(rows, columns=["round", "panellist", "criterion", "level"]), RUBRIC)
    assert table["round"].tolist() == [1, 2]
    assert table["cut"].tolist() == pytest.approx([75.0, 75.0])
    assert table["sd"].iloc[1] < table["sd"].iloc[0]  # the panel converged
    assert math.isnan(table["change"].iloc[0]) and table["change"].iloc[1] == pytest.approx(0.0)
    assert (table["min_cut"].iloc[0], table["max_cut"].iloc[0]) == (50.0, 100.0)


def test_impact_counts_past_candidates_at_a_cut_with_the_must_meet_rule():
    totals = np.array([60.0, 70.0, 74.99999999, 75.0, 80.0, 90.0])
    ok = np.array([True, True, True, True, False, True])
    r = ss.impact(totals, 75, must_meet_ok=ok)
    assert (r.n_candidates, r.n_pass) == (6, 3)  # 74.99999999 rounds to 75 as the workflow rounds; 80 failed a must
    assert r.pass_rate == pytest.approx(0.5) and r.ci_low < 0.5 < r.ci_high and r.must_meet
    table = ss.impact_table(totals, [60, 75, 95], must_meet_ok=ok)
    assert table["n_pass"].tolist() == [5, 3, 0] and table.attrs["n_candidates"] == 6
    assert len(ss.impact_table(totals)) == 201  # every half point 0..100
    assert ss.impact([], 75).describe() == "at a cut of 75.0%: no decided candidate to show"


def test_the_cut_is_compared_with_the_pass_mark():
    res = ss.angoff_cut(_wide({"a": [3] * 10, "b": [2.5] * 10, "c": [3, 3, 3, 3, 3, 3, 3, 3, 3, 2]}), RUBRIC)
    c = ss.compare_with_pass_mark(res, 75, totals=[60, 70, 72, 76, 90])
    assert c.difference == pytest.approx(75 - res.cut) and c.z == pytest.approx(c.difference / res.se)
    assert c.within_ci == (res.ci_low <= 75 <= res.ci_high)
    assert c.at_pass_mark.n_pass == 2 and c.at_cut.n_pass == sum(t >= res.cut for t in [60, 70, 72, 76, 90])
    assert "vs pass mark 75.0%" in c.describe() and "past candidates passing" in c.describe()
    same = ss.compare_with_pass_mark(75.0, 75.0)
    assert "the same" in same.describe() and not same.within_ci and math.isnan(same.z)


@pytest.mark.parametrize("call, message", [
    (lambda: ss.angoff_cut([[3] * 10], RUBRIC), "ratings must be a DataFrame of panellists"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 10}).rename(columns={"PM1": "XX"}), RUBRIC),
     "ratings has criterion 'XX', which rubric ccom-wpa does not have"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 10}).drop(columns="OM2"), RUBRIC),
     "ratings has no column for criterion OM2"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 9 + [5]}), RUBRIC),
     "panellist 'a', criterion LB3: expected level 5 is off the scale 1-4"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 9 + ["high"]}), RUBRIC),
     "panellist 'a', criterion LB3: expected level 'high' is not a number"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 9 + [None]}), RUBRIC),
     "panellist 'a' has no rating for criterion LB3"),
    (lambda: ss.angoff_cut(pd.DataFrame({"panellist": ["a", "a"], "criterion": ["PM1", "PM1"], "level": [3, 2]}),
                           RUBRIC), "panellist 'a' rates criterion 'PM1' more than once"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 10}), "ccom"), "rubric must be an evalkit Rubric"),
    (lambda: ss.angoff_cut(_wide({"a": [3] * 10}), RUBRIC, confidence=95), "confidence must be between 0 and 1"),
    (lambda: ss.impact("75", 75), "totals must be a 1-D array of total %"),
    (lambda: ss.impact([70, float("nan")], 75), "totals must be finite numbers"),
    (lambda: ss.impact([70, 80], 75, must_meet_ok=[1, 0]), "must_meet_ok must be a 1-D boolean array"),
    (lambda: ss.compare_with_pass_mark(72.0, 0), "pass_mark must be a percentage between 0 and 100"),
    (lambda: ss.round_summary(_wide({"a": [3] * 10}), RUBRIC), "ratings must be a long DataFrame with columns round"),
])
def test_bad_input_is_refused_in_one_line(call, message):
    with pytest.raises(ss.StandardSettingError) as excinfo:
        call()
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value)


# --- a workshop in the store -----------------------------------------------------------------------------------------


def _decided(store, levels: dict[str, int], received="2026-01-12") -> int:
    """A CCOM submission two raters scored alike: decided on their levels."""
    ext = f"SS-{next(_ext)}"
    add_eligible_candidate(store, ext)
    sid = workflow.receive_submission(store, ext, "CCOM", received, True)
    workflow.assign_raters(store, sid, ["ann", "bob"])
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    feedback = {c.id: "Use the centre's own data." for c in rubric.criteria if levels[c.id] < c.meets_standard}
    for rater in ("ann", "bob"):
        workflow.submit_final(store, sid, rater, levels, feedback, today=dt.date(2026, 2, 2))
    return sid


@pytest.fixture
def office(any_store):
    for u in ("ann", "bob"):
        workflow.add_rater(any_store, u, u.title())
    rubric = workflow.rubric_for(any_store, workflow.rubric_version_of(any_store, "CCOM"))
    levels = [{c.id: 3 for c in rubric.criteria},                          # 75 %: passes at 75
              {c.id: (4 if c.id in ("PM1", "PM2") else 3) for c in rubric.criteria},  # 78.6 %
              {c.id: (2 if c.id in ("PM1", "CR1") else 3) for c in rubric.criteria},  # 70.2 %, meets every must
              {c.id: (2 if c.id == "OM1" else 4) for c in rubric.criteria}]  # 89.3 % but below standard on OM1
    ids = [_decided(any_store, lv) for lv in levels]
    return any_store, ids


def _rate(store, wid, panel: dict[str, float]) -> None:
    for name, level in panel.items():
        ws.record_ratings(store, wid, name, {c: level for c in IDS}, actor="psy")


def test_a_workshop_runs_round_by_round_with_the_impact_data_stored(office):
    store, ids = office
    wid = ws.create_workshop(store, "CCOM", "CCOM review", "2026-03-02", "psy", "Just good enough.",
                             [("Ana", "director"), "Bo", ("Cy", "manager")], actor="psy")
    ws.record_ratings(store, wid, "Ana", {"PM1": 3}, actor="psy")
    with pytest.raises(ws.WorkshopError, match="round 1 cannot close: Ana has not rated PM2, OM1"):
        ws.close_round(store, wid, actor="psy")
    _rate(store, wid, {"Ana": 3, "Bo": 2.5, "Cy": 3})
    first = ws.close_round(store, wid, actor="psy")
    expected = ss.angoff_cut(_wide({"Ana": [3] * 10, "Bo": [2.5] * 10, "Cy": [3] * 10}), RUBRIC)
    assert first["number"] == 1 and first["cut"] == pytest.approx(expected.cut)
    totals = [75.0, 78.57, 70.24, 89.29]  # the office's decided submissions; the last fails OM1 (must meet)
    assert first["impact"]["n_candidates"] == 4
    assert first["impact"]["n_pass"] == sum(t >= expected.cut for t in totals[:3])
    assert first["impact"]["pass_rate_at_pass_mark"] == pytest.approx(2 / 4)
    with pytest.raises(ws.WorkshopError, match="has no open round"):
        ws.record_ratings(store, wid, "Ana", {"PM1": 3}, actor="psy")
    assert ws.open_round(store, wid, actor="psy") == 2
    _rate(store, wid, {"Ana": 3, "Bo": 2.75, "Cy": 3})
    ws.close_round(store, wid, actor="psy")
    final = ws.close_workshop(store, wid, actor="psy")
    res = ws.workshop_result(store, wid)
    assert res.rounds["round"].tolist() == [1, 2] and res.rounds["sd"].iloc[1] < res.rounds["sd"].iloc[0]
    assert res.rounds["n_candidates"].tolist() == [4, 4]
    assert res.final.cut == pytest.approx(final.cut) and res.workshop["recommended_cut"] == pytest.approx(final.cut)
    assert res.comparison.pass_mark == 75.0 and res.comparison.at_pass_mark.n_pass == 2
    assert res.open_round is None and res.adoption is None and "not" not in res.status["note"].split("from")[0]
    stored = json.loads(next(r for r in _rounds(store, wid) if r["number"] == 1)["impact"])
    assert stored["panellist_cuts"] == pytest.approx({"Ana": 75.0, "Bo": 62.5, "Cy": 75.0})
    assert ws.latest_result(store, "CCOM").workshop["id"] == wid and ws.latest_result(store, "CCSL") is None
    for call, message in [
        (lambda: ws.record_ratings(store, wid, "Ana", {"PM1": 3}, actor="psy"), "is closed; it takes no more"),
        (lambda: ws.open_round(store, wid, actor="psy"), "is closed"),
    ]:
        with pytest.raises(ws.WorkshopError, match=message):
            call()
    with store.read() as conn:
        logged = set(conn.execute(sa.select(schema.audit.c.action).where(
            schema.audit.c.entity.like("standard_setting%"))).scalars())
    assert {"create_workshop", "open_round", "rate", "close_round", "close_workshop"} <= logged


def _rounds(store, wid):
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(schema.standard_setting_rounds).where(
            schema.standard_setting_rounds.c.workshop_id == wid)).mappings()]


@pytest.mark.parametrize("call, message", [
    (lambda s, w: ws.create_workshop(s, "CCOM", "t", "2026-03-02", "psy", "mcc", ["A", "A"]), "listed twice"),
    (lambda s, w: ws.create_workshop(s, "CCOM", "t", "2026-03-02", "psy", "mcc", []), "at least one panellist"),
    (lambda s, w: ws.create_workshop(s, "CCOM", "t", "March", "psy", "mcc", ["A"]), "expected a date"),
    (lambda s, w: ws.create_workshop(s, "CCOM", "t", "2026-03-02", "psy", " ", ["A"]),
     "definition is ' '; expected text"),
    (lambda s, w: ws.record_ratings(s, w, "Zoe", {"PM1": 3}), "'Zoe' is not on workshop"),
    (lambda s, w: ws.record_ratings(s, w, "A", {"XX": 3}), "has no criterion 'XX'"),
    (lambda s, w: ws.record_ratings(s, w, "A", {"PM1": 4.5}), "criterion PM1: expected level 4.5 is not a number"),
    (lambda s, w: ws.record_ratings(s, w, "A", {}), "expected a mapping of criterion id"),
    (lambda s, w: ws.close_round(s, w), "has no ratings yet"),
    (lambda s, w: ws.close_workshop(s, w), "has no closed round"),
    (lambda s, w: ws.adopt_pass_mark(s, w), "is open; close it before adopting"),
    (lambda s, w: ws.workshop_result(s, 999), "no standard-setting workshop 999"),
    (lambda s, w: ws.workshop_result(s, "1"), "expected a workshop id"),
])
def test_workshop_steps_out_of_order_are_refused_in_one_line(store, call, message):
    wid = ws.create_workshop(store, "CCOM", "t", "2026-03-02", "psy", "mcc", ["A"])
    with pytest.raises(ws.WorkshopError) as excinfo:
        call(store, wid)
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value)


def _closed_workshop(store, levels: dict[str, float]) -> int:
    wid = ws.create_workshop(store, "CCOM", "CCOM review", "2026-03-02", "psy", "Just good enough.", list(levels),
                             actor="psy")
    _rate(store, wid, levels)
    ws.close_round(store, wid, actor="psy")
    ws.close_workshop(store, wid, actor="psy")
    return wid


def test_an_adopted_pass_mark_is_a_new_rubric_version_and_no_past_result_changes(office):
    store, ids = office
    old_version = workflow.rubric_version_of(store, "CCOM")
    # one submission still being scored under the old version
    add_eligible_candidate(store, "SS-open")
    open_sid = workflow.receive_submission(store, "SS-open", "CCOM", "2026-02-20", True)
    with store.read() as conn:
        decided_before = sorted(map(tuple, conn.execute(sa.select(schema.decisions)).all()))
        resolved_before = sorted(map(tuple, conn.execute(sa.select(schema.resolved_scores)).all()))
    wid = _closed_workshop(store, {"Ana": 2.75, "Bo": 2.75, "Cy": 2.75})  # every criterion 2.75: a cut of 68.75 %
    res = ws.workshop_result(store, wid)
    assert res.final.cut == pytest.approx(68.75)
    change = ws.adopt_pass_mark(store, wid, reason="board minute 7", actor="office", today=dt.date(2026, 3, 9))
    assert change["new_pass_mark"] == 68.8 and change["old_pass_mark"] == 75.0  # the cut, to one decimal
    assert change["from_version"] == old_version and change["open_on_old"] == 1
    new_version = workflow.rubric_version_of(store, "CCOM")
    assert new_version == change["to_version"] != old_version
    new_rubric, old_rubric = workflow.rubric_for(store, new_version), workflow.rubric_for(store, old_version)
    assert new_rubric.pass_rule.pass_mark == 68.8 and old_rubric.pass_rule.pass_mark == 75.0
    assert new_rubric.criteria == old_rubric.criteria and new_rubric.tolerance == old_rubric.tolerance
    assert f"modified Angoff workshop {wid}" in new_rubric.source
    # nothing decided before moved; the open submission stays on its version
    with store.read() as conn:
        assert sorted(map(tuple, conn.execute(sa.select(schema.decisions)).all())) == decided_before
        assert sorted(map(tuple, conn.execute(sa.select(schema.resolved_scores)).all())) == resolved_before
    assert workflow.submission(store, open_sid)["rubric_version"] == old_version
    assert workflow.decided_result(store, ids[2])["result"] == "deficient"  # 70.2 % stays deficient under 75 %
    # a work product received now is decided under the new pass mark: 70.2 % passes
    levels = {c.id: (2 if c.id in ("PM1", "CR1") else 3) for c in new_rubric.criteria}
    sid = _decided(store, levels, received=dt.date.today().isoformat())
    assert workflow.submission(store, sid)["rubric_version"] == new_version
    assert workflow.decided_result(store, sid)["result"] == "pass"
    # recorded, audit-logged, and the result shows it
    history = ws.pass_mark_history(store, "CCOM")
    assert history[["workshop_id", "new_pass_mark", "reason", "adopted_by"]].values.tolist() == \
        [[wid, 68.8, "board minute 7", "office"]]
    with store.read() as conn:
        logged = conn.execute(sa.select(schema.audit.c.entity).where(schema.audit.c.action == "adopt_pass_mark")
                              ).scalars().all()
    assert sorted(logged) == ["pass_mark_changes", "programs", "rubric_versions"]
    again = ws.workshop_result(store, wid)
    assert again.adoption["to_version"] == new_version and again.status["in_force"]
    assert "adopted as pass mark 68.8%" in again.describe()
    with pytest.raises(ws.WorkshopError, match="was adopted already"):
        ws.adopt_pass_mark(store, wid)
    # the adopted rubric's YAML, written into the rubric file, hashes to the adopted version
    text = ws.adopted_rubric_text(store, int(history["id"].iloc[0]))
    assert parse_rubric(text).version == new_version
    # syncing programs.yaml again points the program back at the file's rubric: the status says so
    workflow.sync_programs(store)
    status = ws.pass_mark_status(store, "CCOM")
    assert not status["in_force"] and status["pass_mark"] == 75.0 and "no longer in force" in status["note"]


def test_adoption_is_refused_on_a_changed_rubric_or_an_unchanged_pass_mark(office):
    store, _ = office
    same = _closed_workshop(store, {"Ana": 3, "Bo": 3})  # cut 75 %: the pass mark already
    with pytest.raises(ws.WorkshopError, match="pass mark is 75% already; nothing to adopt"):
        ws.adopt_pass_mark(store, same)
    with pytest.raises(ws.WorkshopError, match="is not a percentage between 0 and 100"):
        ws.adopt_pass_mark(store, same, pass_mark=120)
    other = _closed_workshop(store, {"Ana": 2.5})
    ws.adopt_pass_mark(store, same, pass_mark=72.0)
    with pytest.raises(ws.WorkshopError, match="not the version .* the panel rated; hold a workshop"):
        ws.adopt_pass_mark(store, other)


def test_the_pass_mark_is_replaced_in_the_yaml_keeping_everything_else():
    new = ws.rubric_with_pass_mark(RUBRIC, 71.5, "set by workshop 3")
    assert new.pass_rule == type(RUBRIC.pass_rule)(71.5, RUBRIC.pass_rule.must_meet)
    assert new.source.replace("  # set by workshop 3\n", "").replace("pass_mark: 71.5", "pass_mark: 75") == \
        RUBRIC.source
    flow = RUBRIC.source.replace("pass_rule:\n  pass_mark: 75\n", "pass_rule: {pass_mark: 75, ").replace(
        "  must_meet: [OM1, OM2, LB2]\n", "must_meet: [OM1, OM2, LB2]}\n")
    flow = flow.replace("  # The plan must rest on an honest operational assessment and be executable.\n", "")
    written_flow = parse_rubric(flow)
    assert written_flow.version == RUBRIC.version
    assert ws.rubric_with_pass_mark(written_flow, 71.5).version == new.version  # the same content, the same hash
    with pytest.raises(ws.WorkshopError, match="not a percentage"):
        ws.rubric_with_pass_mark(RUBRIC, 0)


# --- migration 0008 ------------------------------------------------------------------------------------------------

NEW_TABLES = ("standard_setting_workshops", "standard_setting_panellists", "standard_setting_rounds",
              "standard_setting_ratings", "pass_mark_changes")


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0008_upgrades_a_0007_database_keeping_its_rows_and_adds_the_standard_setting_tables(kind, request,
                                                                                            tmp_path):
    url = database_at("0007", _url(kind, request, tmp_path))
    engine = _engine(url)
    day, now = dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, 9)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(sa.text("INSERT INTO rubric_versions (version, rubric_id, title, source, registered_at) "
                             "VALUES ('v1', 'ccom', 'CCOM', 'x', :now)"), {"now": now})
        conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name) VALUES ('C-1', 'A', 'B')"))
        conn.execute(sa.text(
            "INSERT INTO submissions (candidate_id, program_id, rubric_version, attempt, received_on, due_on, "
            "manager_signoff, is_benchmark, state, created_at) VALUES (1, 'CCOM', 'v1', 1, :day, :day, true, false, "
            "'decided', :now)"), {"day": day, "now": now})
        conn.execute(sa.text("INSERT INTO decisions (submission_id, result, total_percent, method, decided_on, "
                             "decided_by, rubric_version) VALUES (1, 'pass', 80, 'agreement', :day, 'r', 'v1')"),
                     {"day": day})
        conn.execute(sa.text("INSERT INTO person_roles VALUES ('psy.fay', 'psychometrician', 'office', :now)"),
                     {"now": now})
    engine.dispose()
    before = snapshot(url)
    assert not set(NEW_TABLES) & set(before)
    migrate.upgrade(_target(url))
    after = snapshot(url)
    assert rows_kept(before, after) and set(NEW_TABLES) <= set(after)
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(schema.standard_setting_workshops.insert(), [{
                "program_id": "CCOM", "rubric_version": "v1", "method": "modified Angoff", "title": "t",
                "held_on": day, "facilitator": "psy", "mcc_definition": "m", "state": "open", "created_by": "psy",
                "created_at": now}])
            conn.execute(schema.standard_setting_panellists.insert(), [{"workshop_id": 1, "name": "Ana"}])
            conn.execute(schema.standard_setting_rounds.insert(), [{"workshop_id": 1, "number": 1,
                                                                    "opened_at": now}])
            conn.execute(schema.standard_setting_ratings.insert(), [{"round_id": 1, "panellist_id": 1,
                                                                     "criterion_id": "PM1", "level": 2.5,
                                                                     "rated_at": now}])
        for table, row in ((schema.standard_setting_panellists, {"workshop_id": 1, "name": "Ana"}),  # once each
                           (schema.standard_setting_rounds, {"workshop_id": 1, "number": 1, "opened_at": now}),
                           (schema.standard_setting_ratings, {"round_id": 1, "panellist_id": 1,
                                                              "criterion_id": "PM1", "level": 3, "rated_at": now}),
                           (schema.pass_mark_changes, {  # a change needs its workshop
                               "program_id": "CCOM", "workshop_id": 9, "from_version": "v1", "to_version": "v1",
                               "old_pass_mark": 75, "new_pass_mark": 70, "effective_from": day, "reason": "r",
                               "adopted_by": "a", "adopted_at": now})):
            with pytest.raises(sa.exc.IntegrityError):
                with engine.begin() as conn:
                    conn.execute(table.insert(), [row])
        if kind == "postgresql":
            with engine.connect() as conn:
                secured = conn.execute(sa.text(
                    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relrowsecurity "
                    "AND relname = ANY(:names)"), {"names": list(NEW_TABLES)}).scalars().all()
                assert sorted(secured) == sorted(NEW_TABLES)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0008_downgrades_to_0007(kind, request, tmp_path):
    from alembic import command
    url = database_at("0007", _url(kind, request, tmp_path))
    before = snapshot(url)
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            migrate.run_migrations(conn, "0008")
        assert set(NEW_TABLES) <= set(snapshot(url))
        with engine.begin() as conn:
            command.downgrade(migrate.alembic_config(connection=conn), "0007")
    finally:
        engine.dispose()
    assert snapshot(url) == before


# --- row-level security: the office records workshops, only admins adopt -------------------------------------------


@pytest.mark.postgres
def test_psychometricians_record_workshops_admins_adopt_and_nobody_else_sees_them(pg_url, tmp_path):
    from test_rls import as_person, build_office, denied
    ids = build_office(pg_url, tmp_path / "rubrics")
    psy = open_store(as_person(pg_url, "psy.fay"))
    admin = open_store(as_person(pg_url, "office.kim"))
    engines = [sa.create_engine(as_person(pg_url, u)) for u in ("sme.ana", "nobody.ian", "cert.gil")]
    try:
        wid = ws.create_workshop(psy, "ICMI-SL", "ICMI-SL review", "2026-10-01", "psy.fay", "Just enough.",
                                 ["Ana", "Bo"], actor="ignored")
        rubric = workflow.rubric_for(psy, workflow.rubric_version_of(psy, "ICMI-SL"))
        for name, level in (("Ana", 3.0), ("Bo", 2.5)):
            ws.record_ratings(psy, wid, name, {c.id: level for c in rubric.criteria})
        closed = ws.close_round(psy, wid)
        assert closed["impact"]["n_candidates"] == 1  # "dec", the office's decided ICMI-SL submission
        ws.close_workshop(psy, wid)
        with pytest.raises(sa.exc.ProgrammingError) as excinfo:  # a psychometrician recommends, an admin adopts
            ws.adopt_pass_mark(psy, wid, pass_mark=70.0)
        assert denied(excinfo)
        change = ws.adopt_pass_mark(admin, wid, pass_mark=70.0, reason="board", actor="ignored")
        assert change["adopted_by"] == "office.kim"  # the session's person, whatever name is passed; so is ...
        assert ws.workshop_result(admin, wid).workshop["created_by"] == "psy.fay"
        with psy.read() as conn:  # ... the audit log's actor
            actors = set(conn.execute(sa.select(schema.audit.c.actor).where(
                schema.audit.c.entity.in_(("standard_setting_workshops", "pass_mark_changes")))).scalars())
        assert actors == {"psy.fay", "office.kim"}
        assert ws.workshop_result(psy, wid).adoption["new_pass_mark"] == 70.0
        for engine in engines:
            for table in NEW_TABLES:
                with pytest.raises(sa.exc.ProgrammingError) as excinfo:
                    with engine.connect() as conn:
                        conn.exec_driver_sql(f"SELECT count(*) FROM {table}")
                assert denied(excinfo)
            with pytest.raises(sa.exc.ProgrammingError) as excinfo:
                with engine.begin() as conn:
                    conn.exec_driver_sql("INSERT INTO standard_setting_ratings VALUES (1, 1, 'PM1', 1, now())")
            assert denied(excinfo)
        assert ids["dec"]
    finally:
        psy.dispose()
        admin.dispose()
        for engine in engines:
            engine.dispose()


# --- the view ------------------------------------------------------------------------------------------------------


def test_the_view_runs_a_workshop_and_adopts_its_result(tmp_path):
    from evalkit.widgets import standard_setting_app
    init_workspace(tmp_path / "ws").dispose()
    app = standard_setting_app(tmp_path / "ws", "CCOM")
    try:
        assert app.workshop.options == () and app.save_button.disabled and app.adopt_button.disabled
        app.panel.value = "Ana, director\nBo, manager\n\nCy"
        app._on_create()
        assert "started with 3 panellists" in app.message.value and app.panellist.options == ("Ana", "Bo", "Cy")
        for name, level in (("Ana", 3.0), ("Bo", 2.5), ("Cy", 3.5)):
            app.panellist.value = name
            for box in app.levels.values():
                box.value = level
            app._on_save()
            assert "ratings saved" in app.message.value
        app._on_close_round()
        assert "Round 1 closed: cut 75.0%" in app.message.value
        app._on_next_round()
        assert "Round 2 is open" in app.message.value and not app.save_button.disabled
        app.panellist.value = "Bo"
        assert {box.value for box in app.levels.values()} == {2.5}  # last round's levels, to revise
        for name in ("Ana", "Bo", "Cy"):
            app.panellist.value = name
            for box in app.levels.values():
                box.value = 2.5
            app._on_save()
        app._on_close_round()
        app._on_close_workshop()
        assert "Workshop closed" in app.message.value and not app.adopt_button.disabled
        assert "recommended cut 62.5%" in app.result.value and app.figure.value[:4] == b"\x89PNG"
        assert app.pass_mark.value == 62.5
        app.reason.value = "board"
        app._on_adopt()
        assert "Pass mark 62.5% adopted" in app.message.value and app.adopt_button.disabled
        app.panellist.value = "Ana"
        app.levels["PM1"].value = 3
        app._on_save()
        assert "is closed; it takes no more changes" in app.message.value
    finally:
        app.close()
    store = open_store(tmp_path / "ws")
    try:
        assert ws.pass_mark_status(store, "CCOM")["pass_mark"] == 62.5
    finally:
        store.dispose()


def test_the_view_says_why_it_cannot_open(tmp_path):
    from evalkit.widgets import standard_setting_app
    init_workspace(tmp_path / "ws").dispose()
    assert "no work product" in standard_setting_app(tmp_path / "ws", "CCMA").value
    assert "evalkit init" in standard_setting_app(tmp_path / "none").value


def test_the_demo_has_a_completed_workshop(demo_workspace):
    store = open_store(demo_workspace)
    try:
        res = ws.latest_result(store, "CCOM")
        assert res is not None and len(res.rounds) == 2 and len(res.panellists) == 6 and res.adoption is None
        assert res.rounds["sd"].iloc[1] < res.rounds["sd"].iloc[0]
        assert 0 < res.final.se < 5 and abs(res.final.cut - 75) < 15
    finally:
        store.dispose()
