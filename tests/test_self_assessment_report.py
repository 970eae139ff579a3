"""The self-assessment section of the agreement report (issue 15, item 3): a small store whose every number is known
by hand, the case with nothing to compare, the command line and the notebook."""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from evalkit import certification as cert
from evalkit.cli import main
from evalkit.demo import init_workspace
from evalkit.evaluation import workflow
from evalkit.psychometrics import reports
from evalkit.store import open_store
from eligible_profiles import add_eligible_candidate

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "rater_agreement.ipynb"
DOMAINS = ["People Management", "Operations Management", "Customer Relationships", "Leadership & Business"]
SECTION = '<section id="self-assessment">'

# Five candidates: the SMEs put every criterion of candidate k at EVALUATED[k] (so each domain is (level - 1) / 3 on
# 0-1); the candidate rates every statement of People Management at SELF_PM[k] and every other statement at
# EVALUATED[k] (exactly the evaluation).
EVALUATED = [1, 2, 3, 4, 3]
SELF_PM = [2, 2, 3, 3, 4]

# By hand, People Management on 0-1: self x = SELF_PM / 3 - 1/3, evaluated y = EVALUATED / 3 - 1/3.
# Differences x - y = [1/3, 0, 0, -1/3, 1/3]: mean 1/15; deviations from it have a sum of squares 14/45, so
# SD = sqrt(14/45 / 4) = sqrt(0.7) / 3; t(0.975, 4 df) = 2.7764451051977987. Over the 1/6 tolerance: candidates 1
# and 5 over, 4 under, 2 and 3 within.
PM_MEAN = 1 / 15
PM_HALF = 2.7764451051977987 * (math.sqrt(0.7) / 3) / math.sqrt(5)
# Pearson on the levels (the 0-1 scale is linear in them): x' = [2, 2, 3, 3, 4], y' = [1, 2, 3, 4, 3]; Sxy = 2.6,
# Sxx = 2.8, Syy = 5.2. Spearman on the ranks [1.5, 1.5, 3.5, 3.5, 5] and [1, 2, 3.5, 5, 3.5]: 6.75 / sqrt(9 * 9.5).
PM_R = 2.6 / math.sqrt(2.8 * 5.2)
PM_RHO = 6.75 / math.sqrt(9 * 9.5)
# All domains: each candidate's mean over the four domains, self (x + 3y) / 4 against y: in levels u = x' + 3y' =
# [5, 8, 12, 15, 13]; Suy = Sxy + 3 Syy = 18.2, Suu = Sxx + 6 Sxy + 9 Syy = 65.2. The mean difference is PM's / 4.
ALL_R = 18.2 / math.sqrt(65.2 * 5.2)
Z = 1.959963984540054  # the normal 97.5% point


def _fisher(r: float, n: int = 5) -> tuple[float, float]:
    half = Z / math.sqrt(n - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def _work_product(store, ext: str, level: int, final=("ann", "bob")) -> int:
    """A CCOM work product scored at ``level`` on every criterion by ann and bob (those in ``final`` submit)."""
    add_eligible_candidate(store, ext, "Test", ext)
    sid = workflow.receive_submission(store, ext, "CCOM", "2025-03-03", True)
    workflow.assign_raters(store, sid, ["ann", "bob"])
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    levels = {c.id: level for c in rubric.criteria}
    feedback = {c.id: "Support the assessment with the centre's own data." for c in rubric.criteria
                if level < c.meets_standard}
    for rater in final:
        workflow.submit_final(store, sid, rater, levels, feedback, today=dt.date(2025, 3, 20))
    return sid


def _self_assess(store, ext: str, levels: dict[str, int], submit: bool = True) -> None:
    """The candidate rates every statement of a domain at ``levels[domain]``."""
    record = cert.start_self_assessment(store, ext, "CCOM")
    answers = {s.id: levels[d.name] for d in record["instrument"].domains for s in d.statements}
    if submit:
        cert.submit_self_assessment(store, record["id"], answers)
    else:
        cert.save_draft(store, record["id"], answers)


def _workspace(path: Path, self_assessed: bool):
    store = init_workspace(path)
    for rater in ("ann", "bob"):
        workflow.add_rater(store, rater, rater.title())
    for k, level in enumerate(EVALUATED):
        ext = f"C-{k + 1}"
        _work_product(store, ext, level)
        if self_assessed:
            _self_assess(store, ext, {d: SELF_PM[k] if d == "People Management" else level for d in DOMAINS})
    # neither is compared: a submitted self-assessment beside a work product one rater has scored, and a decided
    # work product beside a self-assessment still in draft
    _work_product(store, "C-single", 3, final=("ann",))
    _self_assess(store, "C-single", dict.fromkeys(DOMAINS, 4))
    _work_product(store, "C-draft", 2)
    _self_assess(store, "C-draft", dict.fromkeys(DOMAINS, 4), submit=False)
    return store


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    store = _workspace(tmp_path_factory.mktemp("sa-known") / "ws", self_assessed=True)
    yield store, reports.agreement_report(store, "CCOM", bootstrap=0)
    store.dispose()


@pytest.fixture(scope="module")
def nothing_to_compare(tmp_path_factory):
    store = _workspace(tmp_path_factory.mktemp("sa-empty") / "ws", self_assessed=False)
    yield store, reports.agreement_report(store, "CCOM", bootstrap=0)
    store.dispose()


def test_over_and_under_estimation_per_domain_is_the_hand_computed(known):
    _, report = known
    assert report.self_assessment.candidates == 5 and "self_assessment" not in report.notes
    bias = report.tables["self_assessment_bias"].set_index("domain")
    assert list(bias.index) == DOMAINS and (bias["n"] == 5).all()
    pm = bias.loc["People Management"]
    assert pm["mean_difference"] == pytest.approx(PM_MEAN)
    assert (pm["ci_low"], pm["ci_high"]) == pytest.approx((PM_MEAN - PM_HALF, PM_MEAN + PM_HALF))
    assert (pm["share_over"], pm["share_under"], pm["share_within"]) == pytest.approx((0.4, 0.2, 0.4))
    exact = bias.loc[DOMAINS[1:]]
    assert exact[["mean_difference", "ci_low", "ci_high", "share_over", "share_under"]].abs().max().max() \
        == pytest.approx(0, abs=1e-12)
    assert (exact["share_within"] == 1).all()
    assert "within +/-0.167" in pm["method"] and "95% t interval" in pm["method"]


def test_the_prediction_across_candidates_is_the_hand_computed(known):
    _, report = known
    prediction = report.tables["self_assessment_prediction"].set_index("domain")
    assert list(prediction.index) == [*DOMAINS, "All domains"] and (prediction["n"] == 5).all()
    pm, overall = prediction.loc["People Management"], prediction.loc["All domains"]
    assert (pm["r"], pm["r_ci_low"], pm["r_ci_high"], pm["rho"]) == pytest.approx((PM_R, *_fisher(PM_R), PM_RHO))
    assert (overall["r"], overall["r_ci_low"], overall["r_ci_high"]) == pytest.approx((ALL_R, *_fisher(ALL_R)))
    assert prediction.loc[DOMAINS[1:], ["r", "r_ci_low", "r_ci_high", "rho"]].to_numpy() == pytest.approx(1)
    assert "Fisher-z" in pm["method"]


def test_the_html_section_shows_the_numbers(known):
    html = reports.render_html(known[1])
    assert html.count(SECTION) == 1 and 'href="#self-assessment"' in html
    section = html[html.index(SECTION):]
    section = section[:section.index("</section>")]
    assert f"{PM_MEAN:.3f} [{PM_MEAN - PM_HALF:.3f}, {PM_MEAN + PM_HALF:.3f}]" in section
    low, high = _fisher(PM_R)
    assert f"{PM_R:.3f} [{low:.3f}, {high:.3f}]" in section and "All domains" in section
    assert "5 candidates" in section and "<table" in section and "Conventions of every number" in section


def test_with_nothing_to_compare_the_section_is_one_sentence(nothing_to_compare):
    _, report = nothing_to_compare
    sentence = "No candidate of CCOM has both a submitted self-assessment and an evaluated work product yet."
    assert report.self_assessment is None and report.notes["self_assessment"] == sentence
    assert "self_assessment_bias" not in report.tables and "self_assessment_prediction" not in report.tables
    html = reports.render_html(report)
    section = html[html.index(SECTION):]
    section = section[:section.index("</section>")]
    assert sentence in section and "<table" not in section and "Conventions" not in section


def test_the_command_prints_the_section(known, nothing_to_compare, capsys):
    assert main(["agreement", "--program", "CCOM", "--bootstrap", "0", "-w", str(known[0].workspace)]) == 0
    out = capsys.readouterr().out
    section = out[out.index("Self-assessment against the SME evaluation (5 candidates"):]
    assert f"{PM_MEAN:.3f} [{PM_MEAN - PM_HALF:.3f}, {PM_MEAN + PM_HALF:.3f}]" in section
    assert f"{PM_R:.3f} [" in section and "All domains" in section and "Fisher-z" in section
    assert main(["agreement", "--program", "CCOM", "--bootstrap", "0", "-w",
                 str(nothing_to_compare[0].workspace)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("Self-assessment: No candidate of CCOM has both a submitted self-assessment and an "
                                 "evaluated work product yet.")


def test_the_command_writes_the_section_to_html(known, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["agreement", "--program", "CCOM", "--bootstrap", "0", "--out", str(out), "-w",
                 str(known[0].workspace)]) == 0
    assert SECTION in out.read_text(encoding="utf-8")


def _run(notebook, workspace: Path, monkeypatch) -> str:
    """Run ``notebook`` on ``workspace``; what its self-assessment cell printed and displayed."""
    monkeypatch.setenv("EVALKIT_WORKSPACE", str(workspace))
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(workspace.parent)}}).execute()
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "self_assessment_bias" in c.source)
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def test_the_notebook_runs_and_shows_the_section_on_the_demo(demo_copy, monkeypatch):
    shown = _run(nbformat.read(NOTEBOOK, 4), demo_copy, monkeypatch)
    assert "mean_difference [95% CI]" in shown and "r [95% CI]" in shown and "All domains" in shown
    assert "Fisher-z" in shown


def test_the_notebook_says_when_there_is_nothing_to_compare(nothing_to_compare, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, 4)
    # the parameters, the cell that opens the workspace and makes the report, and the self-assessment cell
    notebook.cells = notebook.cells[:3] + [c for c in notebook.cells[3:]
                                           if c.cell_type == "code" and "self_assessment" in c.source]
    shown = _run(notebook, Path(nothing_to_compare[0].workspace), monkeypatch)
    assert shown.strip() == ("No candidate of CCOM has both a submitted self-assessment and an evaluated work "
                             "product yet.")
