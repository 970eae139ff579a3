"""Agreement reports from the store: small stores with scores chosen so that every expected number is known by
hand, the CLI, and a smoke test of every report on the demo workspace."""
from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from evalkit.cli import main
from evalkit.demo import init_workspace
from evalkit.evaluation import workflow
from evalkit.psychometrics import agreement, plots, reports
from evalkit.store import open_store
from eligible_profiles import add_eligible_candidate

ROOT = Path(__file__).resolve().parent.parent
_ids = itertools.count(1)


def _levels(rubric, level: int, **overrides) -> dict[str, int]:
    return {c.id: overrides.get(c.id, level) for c in rubric.criteria}


def _score(store, rubric, received: str, scores: dict[str, dict], benchmark: bool = False, final=None,
           program: str = "CCOM") -> int:
    """A submission scored by the given raters (each with their levels); ``final`` limits who submits."""
    ext = f"T-{next(_ids)}"
    add_eligible_candidate(store, ext, "Test", "Candidate")
    sid = workflow.receive_submission(store, ext, program, received, True, is_benchmark=benchmark)
    workflow.assign_raters(store, sid, list(scores))
    for rater, levels in scores.items():
        if final is None or rater in final:
            feedback = {cid: "Support the assessment with the centre's own data." for cid, lv in levels.items()
                        if lv < rubric.criterion(cid).meets_standard}
            workflow.submit_final(store, sid, rater, levels, feedback, today=dt.date.fromisoformat(received))
    return sid


def _ccom(store):
    return workflow.rubric_for(store, workflow.rubric_version_of(store, "CCOM"))


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """ann always scores one level above bob; cat and dan agree once and disagree once (adjudicated).

    S1..S4 ann/bob (ann +1 everywhere), S5 cat = dan, S6 cat 1 vs dan 3 on PM1 (adjudicated to all 3), S7 only
    cat final (single-scored), B1 a benchmark scored by the lead SME (3) and ann (4), S8 received only.
    """
    path = tmp_path_factory.mktemp("known") / "ws"
    store = init_workspace(path)
    for username, lead, adj in [("ann", False, False), ("bob", False, False), ("cat", False, False),
                                ("dan", False, False), ("lead", True, False), ("adj", False, True)]:
        workflow.add_rater(store, username, username.title(), is_lead=lead, is_adjudicator=adj)
    r = _ccom(store)
    ids = {
        "S1": _score(store, r, "2025-01-15", {"ann": _levels(r, 4), "bob": _levels(r, 3)}),
        "S2": _score(store, r, "2025-02-10", {"ann": _levels(r, 2), "bob": _levels(r, 1)}),
        "B1": _score(store, r, "2025-03-03", {"lead": _levels(r, 3), "ann": _levels(r, 4)}, benchmark=True),
        "S3": _score(store, r, "2025-04-10", {"ann": _levels(r, 4), "bob": _levels(r, 3)}),
        "S4": _score(store, r, "2025-05-12", {"ann": _levels(r, 2), "bob": _levels(r, 1)}),
        "S5": _score(store, r, "2025-05-20", {"cat": _levels(r, 3), "dan": _levels(r, 3)}),
        "S6": _score(store, r, "2025-06-02", {"cat": _levels(r, 3, PM1=1), "dan": _levels(r, 3)}),
        "S7": _score(store, r, "2025-06-10", {"cat": _levels(r, 4), "dan": _levels(r, 4)}, final={"cat"}),
    }
    add_eligible_candidate(store, "T-unassigned", "Test", "Candidate")
    ids["S8"] = workflow.receive_submission(store, "T-unassigned", "CCOM", "2025-06-11", True)
    assert workflow.submission(store, ids["S6"])["state"] == "adjudication"
    workflow.assign_adjudicator(store, ids["S6"], "adj")
    workflow.adjudicate(store, ids["S6"], "adj", _levels(r, 3), {}, today=dt.date(2025, 6, 20))
    yield store, ids
    store.dispose()


@pytest.fixture(scope="module")
def data(known):
    return reports.load_ratings(known[0], "CCOM")


@pytest.fixture(scope="module")
def identical(tmp_path_factory):
    """Two raters (with names that need escaping in HTML) who give identical scores on three submissions."""
    store = init_workspace(tmp_path_factory.mktemp("identical") / "ws")
    a, b = "sme.<b>a</b>", "sme.b&c"
    workflow.add_rater(store, a, "A")
    workflow.add_rater(store, b, "B")
    r = _ccom(store)
    for received, levels in [("2025-01-06", _levels(r, 4)), ("2025-02-03", _levels(r, 3)),
                             ("2025-03-03", _levels(r, 3, PM1=2, OM3=4))]:
        _score(store, r, received, {a: levels, b: levels})
    yield store
    store.dispose()


def _row(table: pd.DataFrame, **keys) -> pd.Series:
    match = table
    for k, v in keys.items():
        match = match[match[k] == v]
    assert len(match) == 1, f"expected one row for {keys}, got {len(match)}"
    return match.iloc[0]


# --- reading the store ---------------------------------------------------------------------------------------


def test_matrix_has_nan_where_a_rater_did_not_score(data, known):
    _, ids = known
    m = data.matrix("PM1")
    assert list(m.index) == [ids[k] for k in ("S1", "S2", "S3", "S4", "S5", "S6")]  # no S7, B1, S8
    assert list(m.columns) == ["ann", "bob", "cat", "dan"]
    assert m.loc[ids["S1"]].tolist()[:2] == [4.0, 3.0]
    assert m.loc[ids["S1"], ["cat", "dan"]].isna().all()
    assert m.loc[ids["S5"], ["ann", "bob"]].isna().all()
    assert m.loc[ids["S6"], "cat"] == 1.0 and m.loc[ids["S6"], "dan"] == 3.0


def test_benchmarks_and_single_scored_submissions_are_kept_apart(data, known):
    _, ids = known
    with_gold = data.matrix("PM1", include_benchmarks=True)
    assert ids["B1"] in with_gold.index and "lead" in with_gold.columns
    assert data.submissions.loc[ids["S7"], "n_final_raters"] == 1
    assert not data.submissions.loc[ids["S7"], "double_scored"]
    assert data.submissions.loc[ids["S8"], "n_final_raters"] == 0


def test_totals_decisions_and_first_second_per_rater(data, known):
    _, ids = known
    totals, decided = data.totals(), data.decisions()
    assert totals.loc[ids["S1"], "ann"] == pytest.approx(100.0)
    assert totals.loc[ids["S2"], "bob"] == pytest.approx(25.0)
    assert decided.loc[ids["S6"], "cat"] == "deficient" and decided.loc[ids["S6"], "dan"] == "pass"
    fs = data.first_second()
    assert fs.loc[ids["S1"]].tolist() == [pytest.approx(100.0), pytest.approx(75.0), "ann", "bob"]
    assert fs.notna().all().all()


def test_adjudicator_scores_and_resolved_scores_are_separate(data, known):
    _, ids = known
    assert set(data.adjudicator_scores["rater"]) == {"adj"}
    assert "adj" not in set(data.scores["rater"])
    assert (data.resolved.loc[ids["S1"]] == 3.5).all()
    assert (data.resolved.loc[ids["S6"]] == 3.0).all()  # the adjudicator's levels
    assert data.submissions.loc[ids["S6"], "adjudicated"]


def test_default_version_is_stated(data):
    assert data.rubric.version in data.version_note
    assert "6 double-scored" in data.version_note


def test_unknown_criterion_is_refused(data):
    with pytest.raises(KeyError, match="XX9"):
        data.matrix("XX9")


def test_rubric_versions_are_never_mixed(tmp_path):
    """Two versions of the CCOM rubric: the default is the one with more data, the other is read alone."""
    store = init_workspace(tmp_path / "ws")
    for u in ("ann", "bob"):
        workflow.add_rater(store, u, u)
    old = _ccom(store)
    _score(store, old, "2025-01-15", {"ann": _levels(old, 4), "bob": _levels(old, 3)})
    edited = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics", edited)
    text = (edited / "ccom_wpa.yaml").read_text(encoding="utf-8")
    (edited / "ccom_wpa.yaml").write_text(text.replace("title: \"CIAC CCOM", "title: \"Revised CIAC CCOM", 1),
                                          encoding="utf-8")
    new_version = workflow.sync_programs(store, edited / "programs.yaml")["CCOM"]
    assert new_version != old.version
    new = _ccom(store)
    for _ in range(2):
        _score(store, new, "2025-03-10", {"ann": _levels(new, 3), "bob": _levels(new, 3)})
    versions = reports.rubric_versions(store, "CCOM")
    assert versions.loc[old.version, "double_scored"] == 1 and versions.loc[new_version, "double_scored"] == 2
    default = reports.load_ratings(store, "CCOM")
    assert default.rubric.version == new_version and len(default.subject_ids()) == 2
    assert old.version in default.version_note  # the other version is named, not mixed in
    first = reports.load_ratings(store, "CCOM", old.version)
    assert len(first.subject_ids()) == 1 and (first.matrix("PM1").loc[:, "ann"] == 4).all()
    with pytest.raises(reports.ReportError, match="no submissions under rubric version 'nope'"):
        reports.load_ratings(store, "CCOM", "nope")
    store.dispose()


# --- agreement -----------------------------------------------------------------------------------------------


def test_criterion_agreement_by_hand(data):
    table = reports.criterion_agreement(data, bootstrap=50)
    assert set(table["measure"]) == {"exact", "within 1 level", "alpha (ordinal)", "AC2 (quadratic)",
                                     "Fleiss kappa"}
    # PM1: S5 agrees exactly; S1-S5 are within one level; S6 (1 vs 3) is not.
    assert _row(table, criterion="PM1", measure="exact")["value"] == pytest.approx(1 / 6)
    assert _row(table, criterion="PM1", measure="within 1 level")["value"] == pytest.approx(5 / 6)
    # PM2: S5 and S6 agree exactly, every submission within one level.
    assert _row(table, criterion="PM2", measure="exact")["value"] == pytest.approx(2 / 6)
    assert _row(table, criterion="PM2", measure="within 1 level")["value"] == pytest.approx(1.0)
    ac2 = _row(table, criterion="PM1", measure="AC2 (quadratic)")
    assert ac2["weights"] == "quadratic" and ac2["categories"] == "1, 2, 3, 4" and ac2["n_subjects"] == 6
    assert ac2["value"] == pytest.approx(agreement.gwet_ac(data.matrix("PM1"), categories=[1, 2, 3, 4],
                                                           weights="quadratic").value)
    alpha = _row(table, criterion="PM1", measure="alpha (ordinal)")
    assert alpha["level"] == "ordinal" and "bootstrap: 50 resamples, seed 0" in alpha["ci_method"]
    assert table["describe"].str.len().gt(0).all()


def test_identical_raters_agree_perfectly(identical):
    d = reports.load_ratings(identical, "CCOM")
    table = reports.criterion_agreement(d, bootstrap=0)
    assert (table.loc[table["measure"].isin(["exact", "within 1 level"]), "value"] == 1.0).all()
    pm1 = table[table["criterion"] == "PM1"].set_index("measure")["value"]
    assert pm1["alpha (ordinal)"] == pytest.approx(1.0) and pm1["AC2 (quadratic)"] == pytest.approx(1.0)
    severity = reports.rater_severity(d)
    assert (severity["deviation_levels"] == 0).all() and (severity["deviation_total"] == 0).all()
    assert reports.adjudication_rates(d).set_index("trigger").loc["any", "rate"] == 0.0


def test_total_and_decision_agreement(data):
    table = reports.total_agreement(data, bootstrap=0)
    decision = _row(table, target="decision", measure="percent agreement")
    assert decision["value"] == pytest.approx(5 / 6)  # only S6 splits pass/deficient
    icc1 = _row(table, target="total %", measure="ICC(1,1) single rater")
    expected = agreement.icc(data.first_second()[["first", "second"]], form="ICC1")
    assert icc1["value"] == pytest.approx(expected.value) and icc1["level"] == "ICC1"
    assert _row(table, target="total %", measure="ICC(1,2) mean of 2 raters")["statistic"] == "ICC(1,k)"
    assert _row(table, target="decision", measure="AC1")["categories"] == "deficient, pass"


def test_bland_altman(data, known):
    _, ids = known
    ba = reports.bland_altman(data)
    assert ba.loc[ids["S1"], "difference"] == pytest.approx(25.0)
    assert ba.loc[ids["S1"], "mean"] == pytest.approx(87.5)
    limits = reports.limits_of_agreement(ba)
    d = ba["difference"]
    assert limits["n"] == 6 and limits["bias"] == pytest.approx(d.mean())
    assert limits["upper"] - limits["bias"] == pytest.approx(1.959964 * d.std(ddof=1), rel=1e-5)


def test_pairwise_agreement(data):
    pairs = reports.pairwise_agreement(data, min_shared=3, bootstrap=0)
    assert list(zip(pairs["rater_a"], pairs["rater_b"])) == [("ann", "bob")]  # cat/dan share only 2
    ab = pairs.iloc[0]
    assert (ab["n_submissions"], ab["n_scores"]) == (4, 40)
    assert ab["pct_exact"] == 0.0 and ab["pct_within_1"] == 1.0
    assert ab["mean_total_diff"] == pytest.approx(25.0)
    assert "Cohen's kappa (quadratic weights)" in ab["conventions"]
    both = reports.pairwise_agreement(data, min_shared=2, bootstrap=0)
    cd = _row(both, rater_a="cat", rater_b="dan")
    assert cd["n_submissions"] == 2 and cd["pct_exact"] == pytest.approx(19 / 20)
    with pytest.raises(reports.ReportError, match="min_shared"):
        reports.pairwise_agreement(data, min_shared=0)


def test_severity_one_level_above_the_other_is_half_a_level(data):
    severity = reports.rater_severity(data).set_index("rater")
    ann, bob = severity.loc["ann"], severity.loc["bob"]
    assert ann["n_submissions"] == 4  # the benchmark is not counted
    assert ann["deviation_levels"] == pytest.approx(0.5) and bob["deviation_levels"] == pytest.approx(-0.5)
    assert ann["deviation_total"] == pytest.approx(12.5) and bob["deviation_total"] == pytest.approx(-12.5)
    assert (ann["levels_ci_low"], ann["levels_ci_high"]) == (pytest.approx(0.5), pytest.approx(0.5))
    # cat: 0 on S5; on S6 PM1 1 vs the adjudicated 3 = -2 over ten criteria.
    cat = severity.loc["cat"]
    assert cat["deviation_levels"] == pytest.approx(-0.1)
    assert cat["deviation_total"] == pytest.approx((0 + (59 / 84 * 100 - 75)) / 2)
    t = 12.706204736  # t(0.975, 1 df)
    half = t * np.std([0.0, -0.2], ddof=1) / math.sqrt(2)
    assert (cat["levels_ci_low"], cat["levels_ci_high"]) == (pytest.approx(-0.1 - half), pytest.approx(-0.1 + half))


def test_drift_per_quarter(data):
    drift = reports.severity_drift(data, freq="Q")
    ann = drift[drift["rater"] == "ann"].set_index("period")
    assert list(ann.index) == ["2025Q1", "2025Q2"]
    assert ann["n_submissions"].tolist() == [2, 2]
    assert ann["deviation_levels"].tolist() == [pytest.approx(0.5), pytest.approx(0.5)]
    assert ann.loc["2025Q2", "period_start"] == pd.Timestamp("2025-04-01")
    monthly = reports.severity_drift(data, freq="M")
    assert set(monthly.loc[monthly["rater"] == "ann", "period"]) == {"2025-01", "2025-02", "2025-04", "2025-05"}
    with pytest.raises(reports.ReportError, match="freq"):
        reports.severity_drift(data, freq="fortnight")
    with pytest.raises(reports.ReportError, match="date"):
        reports.severity_drift(data, date="decided_on")


def test_calibration_against_the_lead_smes_gold_scores(data):
    cal = reports.calibration(data)
    assert cal["rater"].tolist() == ["ann"]  # the lead is the reference, not calibrated against itself
    ann = cal.iloc[0]
    assert ann["n_submissions"] == 1 and ann["deviation_levels"] == pytest.approx(1.0)
    assert ann["deviation_total"] == pytest.approx(25.0)
    assert (ann["pct_exact"], ann["pct_within_1"]) == (0.0, 1.0)
    assert ann["reference"] == "lead"
    assert reports.calibration(data, reference=["nobody"]).empty


def test_adjudication_rates(data, known):
    rates = reports.adjudication_rates(data).set_index("trigger")
    assert rates.loc["any", "n_compared"] == 6  # S1-S6; S7 is still being scored
    assert rates.loc["any", "rate"] == pytest.approx(1 / 6)
    assert rates.loc["PM1", "n_triggered"] == 1 and rates.loc["PM2", "n_triggered"] == 0
    assert rates.loc["decision split", "n_triggered"] == 1
    assert 0 < rates.loc["any", "ci_low"] < 1 / 6 < rates.loc["any", "ci_high"] < 1
    by_program = reports.adjudication_by_program(known[0]).set_index("program")
    assert by_program.loc["CCOM", ["n_compared", "n_adjudicated"]].tolist() == [6, 1]
    assert by_program.loc["all programs", "n_compared"] == 6


def test_instrument_statistics(data):
    # Every resolved score is the same level on all criteria, so the criteria are perfectly consistent.
    alpha = reports.instrument_reliability(data, bootstrap=0).iloc[0]
    assert alpha["value"] == pytest.approx(1.0) and alpha["n_subjects"] == 6 and alpha["n_raters"] == 10
    items = reports.item_total(data)
    assert items["criterion"].tolist() == list(data.rubric.criterion_ids)
    assert np.allclose(items["corrected_item_total"], 1.0)
    usage = reports.level_usage(data)
    pm1 = usage[usage["criterion"] == "PM1"].set_index("level")
    # level 1: bob S2, S4, cat S6; 2: ann S2, S4; 3: bob S1, S3, cat S5, dan S5, S6; 4: ann S1, S3, cat S7.
    assert pm1["count"].tolist() == [3, 2, 5, 3]
    assert pm1["proportion"].sum() == pytest.approx(1.0)
    assert pm1.loc[3, "label"] == "Meets the standard"


def test_bootstrap_is_reproducible_and_validated(data):
    one = reports.total_agreement(data, bootstrap=40, seed=7)
    two = reports.total_agreement(data, bootstrap=40, seed=7)
    pd.testing.assert_frame_equal(one, two)
    assert one["ci_method"].str.startswith("bootstrap: 40 resamples, seed 7").all()
    with pytest.raises(reports.ReportError, match="bootstrap"):
        reports.criterion_agreement(data, bootstrap=-1)


def test_statistic_that_cannot_be_computed_says_why(tmp_path):
    """One double-scored submission: an ICC needs two, so its row is NaN with the reason, not a number."""
    store = init_workspace(tmp_path / "ws")
    for u in ("ann", "bob"):
        workflow.add_rater(store, u, u)
    r = _ccom(store)
    _score(store, r, "2025-01-15", {"ann": _levels(r, 4), "bob": _levels(r, 3)})
    table = reports.total_agreement(reports.load_ratings(store, "CCOM"), bootstrap=0)
    icc = _row(table, measure="ICC(1,1) single rater")
    assert math.isnan(icc["value"]) and icc["note"].startswith("not computed: need at least 2 subjects")
    store.dispose()


def test_summary_table_formats_estimates(data):
    wide = reports.summary_table(reports.criterion_agreement(data, bootstrap=0), "criterion")
    assert list(wide.index) == list(data.rubric.criterion_ids)
    assert wide.loc["PM2", "within 1 level"].startswith("1.00")
    assert wide.loc["PM1", "alpha (ordinal)"].count("[") == 0  # bootstrap=0: alpha has no interval
    narrow = reports.summary_table(reports.total_agreement(data, bootstrap=0), ["target", "measure"], None)
    assert list(narrow.columns) == ["estimate", "n"]


def test_extraction_on_every_backend(any_store):
    for u in ("ann", "bob"):
        workflow.add_rater(any_store, u, u)
    r = _ccom(any_store)
    sid = _score(any_store, r, "2025-01-15", {"ann": _levels(r, 4), "bob": _levels(r, 3)})
    d = reports.load_ratings(any_store, "CCOM")
    assert d.matrix("OM1").loc[sid].tolist() == [4.0, 3.0]
    assert reports.rater_severity(d).set_index("rater").loc["ann", "deviation_levels"] == pytest.approx(0.5)


# --- HTML and the command line -------------------------------------------------------------------------------

SECTIONS = ["criterion-agreement", "total-agreement", "pairwise-agreement", "rater-severity", "drift",
            "calibration", "adjudication", "instrument"]


def test_cli_writes_self_contained_html(known, tmp_path, capsys):
    store, _ = known
    out = tmp_path / "report.html"
    code = main(["agreement", "--program", "CCOM", "--out", str(out), "--bootstrap", "30", "--seed", "2",
                 "--workspace", str(store.workspace)])
    assert code == 0, capsys.readouterr().err
    html = out.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    rubric = _ccom(store)
    assert rubric.version in html and "Generated" in html and "6 double-scored submissions" in html
    assert "bootstrap, 30 resamples over submissions (seed 2)" in html
    assert html.count('src="data:image/png;base64,') >= 4
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert out.stat().st_mode & 0o077 == 0
    assert str(out) in capsys.readouterr().out


def test_html_escapes_text(identical):
    html = reports.render_html(reports.agreement_report(identical, "CCOM", bootstrap=0))
    assert "sme.<b>a</b>" not in html
    assert "sme.&lt;b&gt;a&lt;/b&gt;" in html and "sme.b&amp;c" in html


def test_cli_prints_tables_without_out(known, capsys):
    assert main(["agreement", "--program", "CCOM", "--bootstrap", "0", "-w", str(known[0].workspace)]) == 0
    out = capsys.readouterr().out
    assert "Agreement per criterion" in out and "Rater severity" in out and "ann" in out


@pytest.mark.parametrize("args, message", [
    (["--program", "NOPE"], "unknown program 'NOPE'"),
    (["--program", "CCSL"], "program CCSL has no double-scored submissions"),
    (["--program", "CCMA"], "program CCMA has no work product"),
    (["--program", "CCOM", "--rubric-version", "0000"], "no submissions under rubric version '0000'"),
    (["--program", "CCOM", "--out", "/no/such/folder/r.html"], "folder /no/such/folder does not exist"),
])
def test_cli_refuses_with_one_line(known, capsys, args, message):
    assert main(["agreement", *args, "-w", str(known[0].workspace)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("evalkit: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_only_benchmarks_double_scored_is_refused(tmp_path, capsys):
    store = init_workspace(tmp_path / "ws")
    for u, lead in (("lead", True), ("ann", False)):
        workflow.add_rater(store, u, u, is_lead=lead)
    r = _ccom(store)
    _score(store, r, "2025-01-15", {"lead": _levels(r, 3), "ann": _levels(r, 3)}, benchmark=True)
    assert main(["agreement", "--program", "CCOM", "-w", str(tmp_path / "ws")]) == 1
    assert "no double-scored submissions" in capsys.readouterr().err
    store.dispose()


# --- the demo workspace ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_report(demo_workspace):
    store = open_store(demo_workspace)
    yield reports.agreement_report(store, "CCOM", bootstrap=30, seed=1)
    store.dispose()


def test_every_report_on_the_demo(demo_report):
    t, d = demo_report.tables, demo_report.data
    n = len(d.subject_ids())
    assert n >= 10
    crit = t["criterion_agreement"]
    assert len(crit) == 5 * len(d.rubric.criteria)
    assert crit["value"].notna().all() and crit["describe"].str.contains("subjects").all()
    assert crit.loc[crit["measure"] == "exact", "value"].between(0, 1).all()
    assert (crit["n_subjects"] == n).all()
    assert t["total_agreement"]["value"].between(-1, 1).all()
    assert len(t["bland_altman"]) == n
    pairs = t["pairwise_agreement"]
    assert len(pairs) and (pairs["n_submissions"] >= 3).all()
    severity = t["rater_severity"]
    assert set(severity["rater"]) <= set(d.raters.index) and (severity["levels_ci_low"].fillna(-9)
                                                               <= severity["deviation_levels"]).all()
    assert {"rater", "period", "period_start"} <= set(t["severity_drift"].columns)
    assert set(t["calibration"]["rater"]).isdisjoint(reports.reference_raters(d))
    assert t["adjudication_rates"]["rate"].between(0, 1).all()
    assert "all programs" in set(t["adjudication_by_program"]["program"])
    assert 0 < t["instrument_reliability"].iloc[0]["value"] <= 1
    assert len(t["item_total"]) == len(d.rubric.criteria)
    usage = t["level_usage"]
    assert np.allclose(usage.groupby("criterion")["proportion"].sum(), 1.0)


def test_plots_on_the_demo(demo_report):
    t = demo_report.tables
    figures = [plots.pairwise_heatmap(t["pairwise_agreement"]), plots.severity_chart(t["rater_severity"]),
               plots.severity_chart(t["rater_severity"], unit="total"),
               plots.bland_altman_plot(t["bland_altman"], t["limits_of_agreement"]["value"]),
               plots.drift_chart(t["severity_drift"]), plots.level_usage_bars(t["level_usage"])]
    assert all(isinstance(f, Figure) and f.axes for f in figures)
    with pytest.raises(ValueError, match="missing"):
        plots.severity_chart(t["level_usage"])


def test_labels_with_dollar_signs_are_drawn_as_written(demo_report):
    # A rater called "$x^$" made matplotlib parse maths and the whole report fail; labels are plain text.
    import io
    t = demo_report.tables
    hostile = "$x^$ O'Brien <b>"
    rename = {name: hostile if i == 0 else name for i, name in enumerate(sorted(set(t["rater_severity"]["rater"])))}
    severity = t["rater_severity"].assign(rater=t["rater_severity"]["rater"].map(rename))
    pairs = t["pairwise_agreement"].assign(rater_a=t["pairwise_agreement"]["rater_a"].map(lambda r: rename.get(r, r)))
    drift = t["severity_drift"].assign(rater=t["severity_drift"]["rater"].map(lambda r: rename.get(r, r)))
    usage = t["level_usage"].assign(criterion=t["level_usage"]["criterion"].map(lambda c: f"${c}$"))
    for figure in (plots.severity_chart(severity), plots.pairwise_heatmap(pairs), plots.drift_chart(drift),
                   plots.level_usage_bars(usage)):
        figure.savefig(io.BytesIO(), format="png")  # drawing is where maths would be parsed
        texts = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels() + ax.get_xticklabels()]
        legends = [t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert any("$" in text for text in texts + legends)


def test_demo_html(demo_report):
    html = reports.render_html(demo_report)
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert demo_report.data.rubric.version in html


def test_the_agreement_notebook_finds_the_workspace_as_the_other_notebooks_do(demo_workspace, tmp_path, monkeypatch):
    # Run from notebooks/ without $EVALKIT_WORKSPACE it failed with a traceback; it now finds ../workspace.
    import nbformat
    from nbclient import NotebookClient
    root = Path(__file__).resolve().parents[1]
    shutil.copytree(demo_workspace, tmp_path / "workspace")
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.read(root / "notebooks" / "rater_agreement.ipynb", 4)
    notebook.cells = notebook.cells[:3]  # the parameters and the cell that opens the workspace
    monkeypatch.delenv("EVALKIT_WORKSPACE", raising=False)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "CCOM (" in printed and "Intervals:" in printed


# --- the validity sections (issue 14 part 6) -------------------------------------------------------------------

VALIDITY = ["generalizability", "rater-measures", "decision-consistency", "standard-setting"]


def test_the_validity_sections_on_the_demo(demo_report):
    t, d = demo_report.tables, demo_report.data
    g = t["g_study"]
    assert g["effect"].tolist() == ["p", "i", "r:p", "pi", "ri:p"] and (g["variance"] >= 0).all()
    assert demo_report.gstudy.n_obs == 2 * len(d.rubric.criteria) * len(d.subject_ids())
    dstudy = t["d_study"]
    assert dstudy["n_r"].tolist() == [1, 2, 3, 4, 5] and dstudy["phi"].is_monotonic_increasing
    assert dstudy["phi"].between(0, 1).all() and "criteria fixed" in dstudy["conventions"].iloc[0]
    measures = t["rater_measures"]
    assert set(measures["rater"]) == set(d.rater_results.loc[d.rater_results["submission"].isin(d.subject_ids()),
                                                             "rater"])
    assert measures["measure"].is_monotonic_decreasing and (measures["se"] > 0).all()
    assert measures["fair_average"].between(1, 4).all() and measures["infit"].gt(0).all()
    assert set(t["mfrm_facets"]["facet"]) == {"submission", "rater", "criterion"}
    consistency = t["decision_consistency"]
    assert consistency["method"].tolist() == ["Livingston-Lewis", "Subkoviak normal approximation"]
    assert consistency["consistency"].between(0.5, 1).all()
    phi2 = dstudy.set_index("n_r").loc[2, "phi"]
    assert consistency["reliability"].tolist() == pytest.approx([phi2, phi2])
    assert demo_report.workshop is not None and "recommended cut" in t["standard_setting"].to_string()
    assert demo_report.notes == {}


def test_validity_html_and_figures_on_the_demo(demo_report):
    html = reports.render_html(demo_report)
    for section in SECTIONS + VALIDITY + ["self-assessment"]:
        assert f'<section id="{section}">' in html and f'href="#{section}"' in html
    assert html.count('src="data:image/png;base64,') >= 8  # five agreement figures, D study, Wright map, impact
    for figure in (reports.wright_map(demo_report.mfrm), reports.impact_plot(demo_report.workshop),
                   plots.d_study_plot(demo_report.tables["d_study"])):
        assert isinstance(figure, Figure) and figure.axes


def test_a_part_that_cannot_be_made_says_why_and_the_rest_stands(known, capsys):
    # ann/bob and cat/dan never score the same submission: raters in two unlinked subsets, no Rasch measures
    report = reports.agreement_report(known[0], "CCOM", bootstrap=0)
    assert "not connected" in report.notes["rater_measures"] and report.mfrm is None
    assert report.notes["standard_setting"] == "no closed standard-setting workshop for CCOM"
    assert "g_study" in report.tables and "decision_consistency" in report.tables
    html = reports.render_html(report)
    assert "not connected" in html and '<section id="rater-measures">' in html
    assert main(["agreement", "--program", "CCOM", "--bootstrap", "0", "-w", str(known[0].workspace)]) == 0
    out = capsys.readouterr().out
    assert "G study: G study (r:p) x i" in out and "Rater measures: many-facet Rasch model not fitted" in out
    assert "Livingston-Lewis: consistency" in out and "Standard setting: no closed" in out


def test_the_rasch_sample_is_seeded_and_stated(demo_workspace):
    store = open_store(demo_workspace)
    try:
        data = reports.load_ratings(store, "CCOM")
        small = reports.rater_measures(data, max_subjects=12, seed=3)
        assert f"random sample of 12 of the {len(data.subject_ids())} double-scored submissions (seed 3)" in small.note
        assert small.facet("submission").shape[0] == 12
        assert reports.rater_measures(data, max_subjects=12, seed=3).measures.equals(small.measures)
        assert "random sample" not in reports.rater_measures(data, max_subjects=None).note
        with pytest.raises(reports.ReportError, match="mfrm_subjects must be a whole number"):
            reports.agreement_report(store, "CCOM", mfrm_subjects=-1)
    finally:
        store.dispose()


def test_krippendorffs_alpha_in_the_report_is_the_functions_bit_for_bit(data, demo_report):
    for d in (data, demo_report.data):
        for c in d.rubric.criteria[:3]:
            wide, compact = d.matrix(c.id), d._compact(d.levels[:, list(d.rubric.criterion_ids).index(c.id)])
            for boot, seed in ((200, 0), (50, 7)):
                ours = reports._krippendorff(compact, "ordinal", list(c.scores), bootstrap=boot, seed=seed)
                theirs = agreement.krippendorff_alpha(wide, "ordinal", list(c.scores), bootstrap=boot, seed=seed)
                assert (ours.value, ours.se, ours.ci, ours.ci_method) == \
                    (theirs.value, theirs.se, theirs.ci, theirs.ci_method)
        totals = d._compact(d.rater_results["total"].to_numpy(dtype=float))
        ours = reports._krippendorff(totals, "interval", bootstrap=300, seed=1)
        theirs = agreement.krippendorff_alpha(totals, "interval", bootstrap=300, seed=1)
        assert (ours.value, ours.se, ours.ci) == (theirs.value, theirs.se, theirs.ci)


def test_compacted_ratings_keep_the_designs_raters_and_category_names(data):
    crit = reports.criterion_agreement(data, bootstrap=0)
    assert (crit["n_raters"] == 4).all() and crit["describe"].str.contains("4 raters").all()
    total = reports.total_agreement(data, bootstrap=0)
    decision = total[total["target"] == "decision"]
    assert (decision["categories"] == "deficient, pass").all() and (decision["n_raters"] == 4).all()
    fleiss = agreement.fleiss_kappa(data.decisions(), categories=["deficient", "pass"])
    assert _row(total, target="decision", measure="Fleiss kappa")["value"] == pytest.approx(fleiss.value)
