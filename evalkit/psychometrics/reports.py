"""Inter-rater agreement reports built on the store: the psychometrician's and admin's view of the scores.

:func:`load_ratings` reads, for one program and one rubric version (versions are never mixed), every *final*
score of every assigned rater (``role="rater"``); adjudicators' scores are kept apart. The report functions turn
that into :class:`pandas.DataFrame` tables; :func:`agreement_report` runs them all and :func:`render_html` writes
one self-contained HTML page. This view reads every rater's final scores, so it belongs to admins and
psychometricians: it is never shown to raters (their blind view is :func:`evalkit.evaluation.workflow.rater_scores`).
Candidates are identified by submission id only.

Choices, stated once (each table repeats the ones it depends on):

- **Subjects** are *double-scored* submissions: at least two final rater scores. A submission still being scored
  by one rater carries no agreement information.
- **Benchmark** ("gold") submissions are left out of the operational analyses (agreement, severity, drift,
  adjudication, instrument) and used for calibration only, where the lead SME's scores are the reference.
- **Agreement per criterion** (rows = submissions, columns = raters, an incomplete design since each submission
  is scored by a different pair): percent exact agreement and agreement within one level (the rubric's routing
  tolerance), Krippendorff's alpha (ordinal: the rubric's levels are ordered, and alpha uses every pairable value
  whatever the design), Gwet's AC2 with quadratic weights over the rubric's full scale (stable when most scores
  fall in one or two levels, where kappa-type coefficients collapse), and Fleiss' kappa (unweighted; the classical
  reference). Cohen's weighted kappa needs the same two raters on every subject, so it is reported per pair of
  raters (:func:`pairwise_agreement`).
- **Total %**: ICC(1,1) and ICC(1,2) on the "first rater / second rater" matrix (the first two final scores of each
  submission, in the order they were submitted). Different raters score different submissions, so rater variance
  cannot be separated from error: the one-way random-effects model (Shrout & Fleiss case 1) is the right one;
  ICC(2,·) would assume the same raters throughout. Krippendorff's alpha (interval) on the full incomplete
  matrix complements it. **Pass/deficient decision**: percent agreement, Fleiss' kappa and Gwet's AC1.
- **Severity**: a rater's mean deviation from the resolved score (in levels, averaged over criteria, and in total
  %), positive = lenient (above the resolved score), with a 95% t interval over submissions. Where two raters
  agreed, the resolved level is their mean, so a rater one level above the other shows +0.5.
- **Confidence intervals**: ``bootstrap=None`` uses each coefficient's analytic interval and 1000 seeded
  resamples for Krippendorff's alpha (which has none); ``bootstrap=N`` uses an N-resample percentile bootstrap
  (seed ``seed``) for every coefficient; ``bootstrap=0`` analytic intervals only (none for alpha).
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats

from .. import outputs
from ..evaluation import scoring, workflow
from ..instruments.rubric import Rubric
from ..store import Store, assignments, criterion_scores, decisions, raters, resolved_scores, submissions
from . import agreement

__all__ = [
    "ReportError", "RatingData", "AgreementReport", "DEFAULT_BOOTSTRAP", "RESULT_COLUMNS", "rubric_versions",
    "load_ratings", "reference_raters",
    "criterion_agreement", "total_agreement", "bland_altman", "limits_of_agreement", "pairwise_agreement",
    "rater_severity", "severity_drift", "calibration", "adjudication_rates", "adjudication_by_program",
    "instrument_reliability", "item_total", "level_usage", "summary_table", "agreement_report", "render_html",
    "write_html_report",
]

#: Resamples for Krippendorff's alpha when no bootstrap count is given (it has no analytic interval).
DEFAULT_BOOTSTRAP = 1000
CONFIDENCE = 0.95
#: Submission states in which the raters' scores have been compared.
_COMPARED = ("adjudication", "decided", "notified")
_DECISIONS = ["deficient", "pass"]
_T_INTERVAL = "mean over submissions, 95% t interval (n-1 df)"


class ReportError(ValueError):
    """A report that cannot be made from the data asked for (one-line reason)."""


# --- reading the store ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingData:
    """Every final score of one program under one rubric version.

    Attributes
    ----------
    program : str
    rubric : Rubric
        The instrument exactly as registered under ``rubric.version``.
    version_note : str
        Which version was chosen and why (a report states it).
    submissions : DataFrame
        One row per submission (index ``submission``): ``received_on``, ``state``, ``is_benchmark``, ``attempt``,
        ``n_final_raters``, ``double_scored``, ``compared``, ``adjudicated``, ``result``, ``resolved_total``,
        ``method``, ``decided_on``.
    scores : DataFrame
        Long: ``submission, rater, criterion, level, scored_on, order`` for final rater scores (``order`` 1 = the
        first rater to submit).
    rater_results : DataFrame
        Per submission and rater: ``total`` (%), ``result`` (pass/deficient), ``order``, ``scored_on``.
    adjudicator_scores : DataFrame
        Long, as ``scores``, for final adjudicator scores (never mixed into agreement).
    resolved : DataFrame
        Resolved level per decided submission (rows) and criterion (columns, rubric order).
    raters : DataFrame
        ``username`` (index), ``name``, ``is_lead``, ``is_adjudicator``.
    """

    program: str
    rubric: Rubric
    version_note: str
    submissions: pd.DataFrame
    scores: pd.DataFrame
    rater_results: pd.DataFrame
    adjudicator_scores: pd.DataFrame
    resolved: pd.DataFrame
    raters: pd.DataFrame

    def subject_ids(self, include_benchmarks: bool = False) -> list[int]:
        """Double-scored submissions (optionally with the benchmark ones), in id order."""
        s = self.submissions
        keep = s["double_scored"] & (include_benchmarks | ~s["is_benchmark"])
        return list(s.index[keep])

    def _wide(self, long: pd.DataFrame, values: str, include_benchmarks: bool) -> pd.DataFrame:
        ids = self.subject_ids(include_benchmarks)
        long = long[long["submission"].isin(ids)]
        wide = long.pivot(index="submission", columns="rater", values=values).reindex(ids)
        wide = wide.reindex(columns=sorted(wide.columns))
        wide.columns.name = "rater"
        return wide

    def matrix(self, criterion: str, include_benchmarks: bool = False) -> pd.DataFrame:
        """Levels on one criterion: rows = double-scored submissions, columns = raters, NaN = not scored."""
        self.rubric.criterion(criterion)  # KeyError naming the rubric for an unknown criterion
        return self._wide(self.scores[self.scores["criterion"] == criterion], "level", include_benchmarks)

    def totals(self, include_benchmarks: bool = False) -> pd.DataFrame:
        """Each rater's weighted total % (submissions x raters, NaN = not scored)."""
        return self._wide(self.rater_results, "total", include_benchmarks)

    def decisions(self, include_benchmarks: bool = False) -> pd.DataFrame:
        """Each rater's own pass/deficient outcome (submissions x raters, NaN = not scored)."""
        return self._wide(self.rater_results, "result", include_benchmarks)

    def first_second(self, include_benchmarks: bool = False) -> pd.DataFrame:
        """Totals of the first two raters to submit on each double-scored submission.

        Columns ``first, second`` (total %) and ``first_rater, second_rater``; a third rater's score, where there
        is one, is left out so that every row is complete.
        """
        ids = self.subject_ids(include_benchmarks)
        rr = self.rater_results[self.rater_results["submission"].isin(ids) & (self.rater_results["order"] <= 2)]
        pos = rr["order"].map({1: "first", 2: "second"})
        totals = rr.assign(pos=pos).pivot(index="submission", columns="pos", values="total")
        who = rr.assign(pos=pos + "_rater").pivot(index="submission", columns="pos", values="rater")
        out = pd.concat([totals, who], axis=1).reindex(index=ids, columns=["first", "second", "first_rater",
                                                                          "second_rater"])
        out.columns.name = None
        return out


def rubric_versions(store: Store, program_id: str) -> pd.DataFrame:
    """The rubric versions a program's submissions were received under, with how much data each holds.

    Returns
    -------
    DataFrame
        Index ``version``; columns ``submissions``, ``double_scored`` (operational submissions with at least two
        final rater scores), ``benchmarks``, ``first_received``, ``last_received``, ``current`` (the version
        programs.yaml points at now). Raises :class:`~evalkit.evaluation.workflow.WorkflowError` for an unknown program or one
        without a work product.
    """
    current = workflow.rubric_version_of(store, program_id)
    finals = (sa.select(assignments.c.submission_id, sa.func.count().label("n"))
              .where(assignments.c.role == "rater", assignments.c.status == "final")
              .group_by(assignments.c.submission_id).subquery())
    query = (sa.select(submissions.c.rubric_version.label("version"), submissions.c.received_on,
                       submissions.c.is_benchmark, finals.c.n)
             .select_from(submissions.outerjoin(finals, finals.c.submission_id == submissions.c.id))
             .where(submissions.c.program_id == program_id))
    with store.read() as conn:
        rows = pd.DataFrame(conn.execute(query).mappings().all(),
                            columns=["version", "received_on", "is_benchmark", "n"])
    columns = ["submissions", "double_scored", "benchmarks", "first_received", "last_received", "current"]
    if rows.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="version"))
    rows["is_benchmark"] = rows["is_benchmark"].astype(bool)
    rows["double"] = (rows["n"].fillna(0) >= 2) & ~rows["is_benchmark"]
    out = rows.groupby("version").agg(submissions=("version", "size"), double_scored=("double", "sum"),
                                      benchmarks=("is_benchmark", "sum"), first_received=("received_on", "min"),
                                      last_received=("received_on", "max"))
    out["current"] = out.index == current
    return out.sort_values("last_received")


def _choose_version(versions: pd.DataFrame, program_id: str, wanted: str | None) -> tuple[str, str]:
    def others(chosen: str) -> str:
        rest = [f"{v} ({int(r.double_scored)} double-scored)" for v, r in versions.iterrows() if v != chosen]
        return f"; other versions, not mixed in: {', '.join(rest)}" if rest else ""

    if wanted is not None:
        if wanted not in versions.index:
            known = ", ".join(versions.index) or "none"
            raise ReportError(f"program {program_id} has no submissions under rubric version {wanted!r}; "
                              f"versions with submissions: {known}")
        n = int(versions.at[wanted, "double_scored"])
        return wanted, f"rubric version {wanted} as requested ({n} double-scored submissions){others(wanted)}"
    if versions.empty or versions["double_scored"].max() == 0:
        raise ReportError(f"program {program_id} has no double-scored submissions (none with two final rater "
                          "scores outside the benchmarks): nothing to analyse")
    # Most double-scored submissions; on a tie, the version used most recently.
    chosen = versions.sort_values(["double_scored", "last_received"]).index[-1]
    n = int(versions.at[chosen, "double_scored"])
    why = "the only version with data" if len(versions) == 1 else "the version with the most double-scored data"
    return chosen, f"rubric version {chosen}: {why} ({n} double-scored submissions){others(chosen)}"


def load_ratings(store: Store, program_id: str, rubric_version: str | None = None) -> RatingData:
    """Read every final score of a program under one rubric version.

    Parameters
    ----------
    store : Store
    program_id : str
        A program with a work product (``CCOM``, ``CCSL``, ``ICMI-PA``...).
    rubric_version : str, optional
        Default: the version with the most double-scored submissions (``version_note`` says which and why).

    Returns
    -------
    RatingData

    Raises
    ------
    WorkflowError
        Unknown program, or a program without a work product.
    ReportError
        No submission under the version asked for, or (default version) no double-scored submission at all.
    """
    version, note = _choose_version(rubric_versions(store, program_id), program_id, rubric_version)
    rubric = workflow.rubric_for(store, version)
    in_scope = sa.and_(submissions.c.program_id == program_id, submissions.c.rubric_version == version)
    with store.read() as conn:
        subs = pd.DataFrame(conn.execute(
            sa.select(submissions.c.id.label("submission"), submissions.c.received_on, submissions.c.state,
                      submissions.c.is_benchmark, submissions.c.attempt, decisions.c.result,
                      decisions.c.total_percent.label("resolved_total"), decisions.c.method, decisions.c.decided_on)
            .select_from(submissions.outerjoin(decisions, decisions.c.submission_id == submissions.c.id))
            .where(in_scope).order_by(submissions.c.id)).mappings().all(),
            columns=["submission", "received_on", "state", "is_benchmark", "attempt", "result", "resolved_total",
                     "method", "decided_on"])
        long = pd.DataFrame(conn.execute(
            sa.select(assignments.c.submission_id.label("submission"), raters.c.username.label("rater"),
                      assignments.c.role, assignments.c.submitted_at, assignments.c.id.label("assignment"),
                      criterion_scores.c.criterion_id.label("criterion"), criterion_scores.c.level)
            .join(raters, raters.c.id == assignments.c.rater_id)
            .join(criterion_scores, criterion_scores.c.assignment_id == assignments.c.id)
            .join(submissions, submissions.c.id == assignments.c.submission_id)
            .where(in_scope, assignments.c.status == "final")).mappings().all(),
            columns=["submission", "rater", "role", "submitted_at", "assignment", "criterion", "level"])
        resolved_long = pd.DataFrame(conn.execute(
            sa.select(resolved_scores.c.submission_id.label("submission"),
                      resolved_scores.c.criterion_id.label("criterion"), resolved_scores.c.level)
            .join(submissions, submissions.c.id == resolved_scores.c.submission_id)
            .where(in_scope)).mappings().all(), columns=["submission", "criterion", "level"])
        people = pd.DataFrame(conn.execute(
            sa.select(raters.c.username, raters.c.name, raters.c.is_lead, raters.c.is_adjudicator)
            .order_by(raters.c.username)).mappings().all(),
            columns=["username", "name", "is_lead", "is_adjudicator"]).set_index("username")

    long["level"] = long["level"].astype(float)
    long["scored_on"] = pd.to_datetime(long["submitted_at"]).dt.normalize()
    # Who submitted first on each submission: by submission time, then by assignment id (ties in one transaction).
    order = (long.drop_duplicates("assignment").sort_values(["submission", "submitted_at", "assignment"])
             .assign(order=lambda d: d.groupby(["submission", "role"]).cumcount() + 1)
             .set_index("assignment")["order"])
    long["order"] = long["assignment"].map(order).astype(int)
    columns = ["submission", "rater", "criterion", "level", "scored_on", "order"]
    rater_scores = long[long["role"] == "rater"][columns].reset_index(drop=True)
    adjudicator_scores = long[long["role"] == "adjudicator"][columns].reset_index(drop=True)

    rater_results = _rater_results(rubric, rater_scores)
    n_final = rater_results.groupby("submission").size()
    subs = subs.set_index("submission")
    subs["received_on"] = pd.to_datetime(subs["received_on"])
    subs["decided_on"] = pd.to_datetime(subs["decided_on"])
    subs["is_benchmark"] = subs["is_benchmark"].astype(bool)
    subs["n_final_raters"] = n_final.reindex(subs.index, fill_value=0).astype(int)
    subs["double_scored"] = subs["n_final_raters"] >= 2
    subs["compared"] = subs["state"].isin(_COMPARED)
    subs["adjudicated"] = (subs["state"] == "adjudication") | (subs["method"] == "adjudication")
    resolved = (resolved_long.pivot(index="submission", columns="criterion", values="level")
                .reindex(columns=list(rubric.criterion_ids)) if not resolved_long.empty
                else pd.DataFrame(columns=list(rubric.criterion_ids), dtype=float))
    resolved.columns.name = "criterion"
    return RatingData(program_id, rubric, note, subs, rater_scores, rater_results, adjudicator_scores, resolved,
                      people)


def _rater_results(rubric: Rubric, scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (sid, rater), group in scores.groupby(["submission", "rater"], sort=True):
        levels = dict(zip(group["criterion"], group["level"]))
        result = scoring.outcome(rubric, levels)
        rows.append({"submission": sid, "rater": rater, "total": result.total, "result": result.result,
                     "order": int(group["order"].iloc[0]), "scored_on": group["scored_on"].iloc[0]})
    return pd.DataFrame(rows, columns=["submission", "rater", "total", "result", "order", "scored_on"])


# --- statistics with their conventions -----------------------------------------------------------------------

#: Columns of every table row made from an :class:`~evalkit.psychometrics.agreement.AgreementResult`.
RESULT_COLUMNS = ["statistic", "value", "ci_low", "ci_high", "se", "n_subjects", "n_raters", "weights", "level",
                  "categories", "missing", "ci_method", "confidence", "n_excluded", "note", "version", "describe"]


def _result_row(result: agreement.AgreementResult) -> dict:
    d = result.to_dict()
    low, high = d.pop("ci")
    d.pop("details")
    d["categories"] = ", ".join(map(str, d["categories"])) if d["categories"] else None
    return {**{k: d[k] for k in RESULT_COLUMNS if k in d}, "ci_low": low, "ci_high": high,
            "describe": result.describe()}


def _measure(statistic: str, fn: Callable[..., agreement.AgreementResult], *args, **kwargs) -> dict:
    """The statistic's row, or a row saying why it could not be computed (never a silent number)."""
    try:
        return _result_row(fn(*args, **kwargs))
    except agreement.AgreementError as exc:
        return {"statistic": statistic, "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "se": math.nan,
                "note": f"not computed: {exc}", "describe": f"{statistic}: not computed ({exc})"}


def _ci_options(bootstrap: int | None, seed: int, has_analytic: bool = True) -> dict:
    if bootstrap is None:
        bootstrap = 0 if has_analytic else DEFAULT_BOOTSTRAP
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ReportError(f"bootstrap must be a non-negative number of resamples; got {bootstrap!r}")
    return {"bootstrap": int(bootstrap), "seed": seed}


def _table(rows: list[dict], keys: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=keys + RESULT_COLUMNS)


def _scale(data: RatingData) -> list:
    """The levels of every criterion in order (the rubric's scale, used categories or not)."""
    return sorted({s for c in data.rubric.criteria for s in c.scores})


def criterion_agreement(data: RatingData, bootstrap: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Agreement among raters on each criterion, over the double-scored operational submissions.

    Parameters
    ----------
    data : RatingData
    bootstrap : int, optional
        None: analytic intervals, 1000 resamples for Krippendorff's alpha; N: N-resample bootstrap for all.
    seed : int

    Returns
    -------
    DataFrame
        One row per criterion and measure: ``criterion, domain, measure`` then :data:`RESULT_COLUMNS`. Measures:
        ``exact`` and ``within 1 level`` (percent agreement), ``alpha (ordinal)`` (Krippendorff), ``AC2
        (quadratic)`` (Gwet, weights over the criterion's full scale) and ``Fleiss kappa`` (unweighted).
    """
    analytic, boot = _ci_options(bootstrap, seed), _ci_options(bootstrap, seed, has_analytic=False)
    rows = []
    for c in data.rubric.criteria:
        r, cats = data.matrix(c.id), list(c.scores)
        keys = {"criterion": c.id, "domain": c.domain}
        for measure, statistic, fn, kwargs in [
            ("exact", "Percent agreement", agreement.percent_agreement, {"tolerance": 0, **analytic}),
            ("within 1 level", "Percent agreement", agreement.percent_agreement, {"tolerance": 1, **analytic}),
            ("alpha (ordinal)", "Krippendorff's alpha", agreement.krippendorff_alpha, {"level": "ordinal", **boot}),
            ("AC2 (quadratic)", "Gwet's AC2", agreement.gwet_ac, {"weights": "quadratic", **analytic}),
            ("Fleiss kappa", "Fleiss' kappa", agreement.fleiss_kappa, analytic),
        ]:
            rows.append({**keys, "measure": measure, **_measure(statistic, fn, r, categories=cats, **kwargs)})
    return _table(rows, ["criterion", "domain", "measure"])


def total_agreement(data: RatingData, bootstrap: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Agreement on the total % and on the pass/deficient decision.

    Returns
    -------
    DataFrame
        ``target`` (``total %`` or ``decision``), ``measure`` then :data:`RESULT_COLUMNS`. Total: ICC(1,1) and
        ICC(1,2) on the first/second-rater matrix (:meth:`RatingData.first_second`; one-way model because each
        submission has its own raters) and Krippendorff's alpha (interval) on every rater's total. Decision: percent
        agreement, Fleiss' kappa and Gwet's AC1 on each rater's own outcome.
    """
    analytic, boot = _ci_options(bootstrap, seed), _ci_options(bootstrap, seed, has_analytic=False)
    pair = data.first_second()[["first", "second"]]
    decided = data.decisions()
    rows = [
        {"target": "total %", "measure": "ICC(1,1) single rater",
         **_measure("ICC(1,1)", agreement.icc, pair, form="ICC1", **analytic)},
        {"target": "total %", "measure": "ICC(1,2) mean of 2 raters",
         **_measure("ICC(1,k)", agreement.icc, pair, form="ICC1k", **analytic)},
        {"target": "total %", "measure": "alpha (interval)",
         **_measure("Krippendorff's alpha", agreement.krippendorff_alpha, data.totals(), level="interval", **boot)},
        {"target": "decision", "measure": "percent agreement",
         **_measure("Percent agreement", agreement.percent_agreement, decided, categories=_DECISIONS, **analytic)},
        {"target": "decision", "measure": "Fleiss kappa",
         **_measure("Fleiss' kappa", agreement.fleiss_kappa, decided, categories=_DECISIONS, **analytic)},
        {"target": "decision", "measure": "AC1",
         **_measure("Gwet's AC1", agreement.gwet_ac, decided, categories=_DECISIONS, **analytic)},
    ]
    return _table(rows, ["target", "measure"])


def bland_altman(data: RatingData) -> pd.DataFrame:
    """First vs second rater's total % per double-scored submission: ``mean`` and ``difference`` (first - second).

    Which rater is "first" is the order of submission, so the sign of a difference says nothing about a rater;
    the spread (:func:`limits_of_agreement`) is what matters.
    """
    fs = data.first_second()
    return fs.assign(mean=(fs["first"] + fs["second"]) / 2, difference=fs["first"] - fs["second"])


def limits_of_agreement(frame: pd.DataFrame, coverage: float = 0.95) -> pd.Series:
    """Bland-Altman summary of :func:`bland_altman`: ``n, bias, sd, lower, upper`` (bias +/- 1.96 sd: the range
    expected to hold ``coverage`` of the differences between two raters' totals) and ``method``."""
    d = frame["difference"].dropna()
    z = stats.norm.ppf(0.5 + coverage / 2)
    bias, sd = (float(d.mean()), float(d.std(ddof=1))) if len(d) >= 2 else (math.nan, math.nan)
    return pd.Series({"n": len(d), "bias": bias, "sd": sd, "lower": bias - z * sd, "upper": bias + z * sd,
                      "method": f"Bland & Altman 1986: bias +/- {z:.2f} SD of first - second rater total %"})


def _mean_ci(values, confidence: float = CONFIDENCE) -> dict:
    """Mean with a t interval (n - 1 df); no interval for fewer than two values."""
    v = np.asarray(pd.Series(values).dropna(), dtype=float)
    n = len(v)
    mean = float(v.mean()) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "ci_low": math.nan, "ci_high": math.nan}
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return {"n": n, "mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def pairwise_agreement(data: RatingData, min_shared: int = 3, bootstrap: int | None = None,
                       seed: int = 0) -> pd.DataFrame:
    """Agreement of each pair of raters who scored at least ``min_shared`` of the same submissions.

    Returns
    -------
    DataFrame
        ``rater_a, rater_b, n_submissions, n_scores`` (criterion scores compared), ``pct_exact``,
        ``pct_within_1``, ``kappa, kappa_ci_low, kappa_ci_high`` (Cohen's kappa, quadratic weights over the
        rubric's scale, all criteria pooled), ``mean_total_diff`` (a - b, total %) with its t interval, and
        ``conventions`` (the kappa's description). Pooling criteria treats a submission's ten scores as
        independent, so the kappa interval is narrower than it should be: read it as indicative.
    """
    if not isinstance(min_shared, (int, np.integer)) or isinstance(min_shared, bool) or min_shared < 1:
        raise ReportError(f"min_shared must be a positive number of submissions; got {min_shared!r}")
    options = _ci_options(bootstrap, seed)
    ids = data.subject_ids()
    scores = data.scores[data.scores["submission"].isin(ids)]
    cells = scores.pivot_table(index=["submission", "criterion"], columns="rater", values="level")
    totals = data.totals()
    scale = _scale(data)
    rows = []
    for a, b in itertools.combinations(sorted(cells.columns), 2):
        both = cells[[a, b]].dropna()
        shared = both.index.get_level_values("submission").unique()
        if len(shared) < min_shared:
            continue
        kappa = agreement.cohen_kappa(both, categories=scale, weights="quadratic", **options)
        diff = _mean_ci(totals.loc[shared, a] - totals.loc[shared, b])
        rows.append({"rater_a": a, "rater_b": b, "n_submissions": len(shared), "n_scores": len(both),
                     "pct_exact": float((both[a] == both[b]).mean()),
                     "pct_within_1": float(((both[a] - both[b]).abs() <= 1).mean()),
                     "kappa": kappa.value, "kappa_ci_low": kappa.ci[0], "kappa_ci_high": kappa.ci[1],
                     "mean_total_diff": diff["mean"], "diff_ci_low": diff["ci_low"], "diff_ci_high": diff["ci_high"],
                     "conventions": kappa.describe() + "; criteria pooled (scores treated as independent)"})
    columns = ["rater_a", "rater_b", "n_submissions", "n_scores", "pct_exact", "pct_within_1", "kappa",
               "kappa_ci_low", "kappa_ci_high", "mean_total_diff", "diff_ci_low", "diff_ci_high", "conventions"]
    return pd.DataFrame(rows, columns=columns)


def _deviations(data: RatingData, scores: pd.DataFrame, reference: pd.DataFrame,
                reference_totals: pd.Series) -> pd.DataFrame:
    """Per rater and submission of ``reference`` (rows = submissions, columns = criteria): the mean over criteria
    of (rater level - reference level), the shares of exact / within-one-level scores, and total % - reference
    total %, with the submission's received and the rater's scored dates."""
    ref = reference.rename_axis(index="submission", columns="criterion").stack().rename("reference").reset_index()
    merged = scores.merge(ref, on=["submission", "criterion"])
    merged["deviation"] = merged["level"] - merged["reference"]
    per_sub = merged.groupby(["rater", "submission"]).agg(
        levels=("deviation", "mean"), exact=("deviation", lambda d: float((d == 0).mean())),
        within_1=("deviation", lambda d: float((d.abs() <= 1).mean()))).reset_index()
    per_sub = per_sub.merge(data.rater_results[["rater", "submission", "total", "scored_on"]],
                            on=["rater", "submission"])
    per_sub["total"] = per_sub["total"] - per_sub["submission"].map(reference_totals)
    per_sub["received_on"] = per_sub["submission"].map(data.submissions["received_on"])
    return per_sub


def _resolved_operational(data: RatingData) -> pd.DataFrame:
    """Resolved levels of the decided submissions, benchmarks left out."""
    s = data.submissions
    decided = s.index[s["result"].notna() & ~s["is_benchmark"]]
    return data.resolved.loc[data.resolved.index.intersection(decided)]


def _severity_rows(per_sub: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rows = []
    for key, group in per_sub.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        lv, tot = _mean_ci(group["levels"]), _mean_ci(group["total"])
        rows.append({**dict(zip(keys, key)), "n_submissions": lv["n"], "deviation_levels": lv["mean"],
                     "levels_ci_low": lv["ci_low"], "levels_ci_high": lv["ci_high"], "deviation_total": tot["mean"],
                     "total_ci_low": tot["ci_low"], "total_ci_high": tot["ci_high"]})
    return pd.DataFrame(rows, columns=keys + ["n_submissions", "deviation_levels", "levels_ci_low", "levels_ci_high",
                                              "deviation_total", "total_ci_low", "total_ci_high"])


def rater_severity(data: RatingData) -> pd.DataFrame:
    """Each rater's mean deviation from the resolved score on decided operational submissions.

    Returns
    -------
    DataFrame
        ``rater, n_submissions, deviation_levels`` (mean over criteria of rater - resolved level, averaged over
        submissions) with ``levels_ci_low/high``, ``deviation_total`` (rater total % - resolved total %) with
        ``total_ci_low/high``, and ``method``. Positive = lenient, negative = severe. The resolved score is the
        raters' mean where they agreed (it includes the rater's own score) and the adjudicator's otherwise.
    """
    per_sub = _deviations(data, data.scores, _resolved_operational(data), data.submissions["resolved_total"])
    out = _severity_rows(per_sub, ["rater"])
    out["method"] = f"rater - resolved score; {_T_INTERVAL}; positive = lenient"
    return out


def severity_drift(data: RatingData, freq: str = "Q", date: str = "received_on") -> pd.DataFrame:
    """Rater severity per time window (leniency/severity drift).

    Parameters
    ----------
    data : RatingData
    freq : str
        A pandas period frequency: ``"Q"`` (quarter, default), ``"M"`` (month), ``"Y"`` (year).
    date : {"received_on", "scored_on"}
        Which date places a score in a window: the submission's receipt (default) or the day the rater submitted.

    Returns
    -------
    DataFrame
        ``rater, period`` (e.g. ``2026Q1``), ``period_start`` then the columns of :func:`rater_severity`.
    """
    if date not in ("received_on", "scored_on"):
        raise ReportError(f"date must be 'received_on' or 'scored_on'; got {date!r}")
    try:
        pd.Period("2000-01-01", freq=freq)
    except ValueError:
        raise ReportError(f"freq {freq!r} is not a pandas period frequency (expected e.g. 'Q', 'M', 'Y')") from None
    per_sub = _deviations(data, data.scores, _resolved_operational(data), data.submissions["resolved_total"])
    per_sub["period"] = pd.PeriodIndex(pd.to_datetime(per_sub[date]), freq=freq).astype(str)
    out = _severity_rows(per_sub, ["rater", "period"])
    out.insert(2, "period_start", pd.PeriodIndex(out["period"], freq=freq).start_time)
    out["method"] = f"rater - resolved score per {freq} window of {date}; {_T_INTERVAL}; positive = lenient"
    return out.sort_values(["rater", "period_start"]).reset_index(drop=True)


def reference_raters(data: RatingData) -> list[str]:
    """The lead SMEs: raters flagged as lead who are not adjudicators (their benchmark scores are the gold)."""
    r = data.raters
    return list(r.index[r["is_lead"].astype(bool) & ~r["is_adjudicator"].astype(bool)])


def calibration(data: RatingData, reference: list[str] | None = None) -> pd.DataFrame:
    """Each rater's deviation from the gold scores on benchmark submissions.

    Parameters
    ----------
    data : RatingData
    reference : list of str, optional
        Raters whose final scores are the gold standard (their mean where several scored); default: the lead
        SMEs (:func:`reference_raters`). They are not calibrated against themselves.

    Returns
    -------
    DataFrame
        ``rater, n_submissions, deviation_levels, levels_ci_low/high, deviation_total, total_ci_low/high``
        (positive = above gold), ``pct_exact`` and ``pct_within_1`` (share of criterion scores equal to / within
        one level of gold), ``reference`` and ``method``. Empty when no benchmark has both a gold score and
        another rater's.
    """
    reference = list(reference) if reference is not None else reference_raters(data)
    bench = list(data.submissions.index[data.submissions["is_benchmark"]])
    gold_scores = data.scores[data.scores["submission"].isin(bench) & data.scores["rater"].isin(reference)]
    gold = gold_scores.pivot_table(index="submission", columns="criterion", values="level", aggfunc="mean")
    gold = gold.reindex(columns=list(data.rubric.criterion_ids))
    gold_total = pd.Series({s: scoring.total_percent(data.rubric, row.to_dict()) for s, row in gold.iterrows()},
                           dtype=float)
    others = data.scores[~data.scores["rater"].isin(reference)]
    ids = sorted(set(gold.index) & set(others["submission"]))
    columns = ["rater", "n_submissions", "deviation_levels", "levels_ci_low", "levels_ci_high", "deviation_total",
               "total_ci_low", "total_ci_high", "pct_exact", "pct_within_1", "reference", "method"]
    if not ids:
        return pd.DataFrame(columns=columns)
    per_sub = _deviations(data, others, gold.loc[ids], gold_total)
    out = _severity_rows(per_sub, ["rater"])
    shares = per_sub.groupby("rater")[["exact", "within_1"]].mean()
    out["pct_exact"] = out["rater"].map(shares["exact"])
    out["pct_within_1"] = out["rater"].map(shares["within_1"])
    out["reference"] = ", ".join(reference)
    out["method"] = f"rater - gold (mean of {', '.join(reference) or 'no reference rater'}); {_T_INTERVAL}"
    return out[columns]


def _proportion(k: int, n: int, counted: str) -> dict:
    """``k`` of ``n`` compared submissions, as a rate with its 95% Wilson interval."""
    if n == 0:
        return {"n_compared": 0, counted: k, "rate": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return {"n_compared": n, counted: k, "rate": k / n, "ci_low": ci.low, "ci_high": ci.high}


def adjudication_rates(data: RatingData) -> pd.DataFrame:
    """How often the raters' comparison sent an operational submission to adjudication, and what triggered it.

    Returns
    -------
    DataFrame
        ``trigger`` (``any`` = adjudicated, a criterion id = its levels spread beyond the rubric's tolerance,
        ``decision split`` = the raters' own outcomes differed), ``n_compared, n_triggered, rate`` with a 95%
        Wilson interval (``ci_low, ci_high``), and ``method``. A submission can have several triggers.
    """
    s = data.submissions
    compared = list(s.index[s["compared"] & ~s["is_benchmark"] & s["double_scored"]])
    tol = data.rubric.tolerance
    by_sub = {sid: {r: dict(zip(g["criterion"], g["level"])) for r, g in grp.groupby("rater")}
              for sid, grp in data.scores[data.scores["submission"].isin(compared)].groupby("submission")}
    comparisons = {sid: scoring.compare_raters(data.rubric, levels) for sid, levels in by_sub.items()}
    n = len(compared)
    rows = [{"trigger": "any", **_proportion(int(s.loc[compared, "adjudicated"].sum()), n, "n_triggered")}]
    for c in data.rubric.criteria:
        k = sum(any(cid == c.id for cid, _ in comp.disagreements) for comp in comparisons.values())
        rows.append({"trigger": c.id, **_proportion(k, n, "n_triggered")})
    split = sum(c.decision_split for c in comparisons.values())
    rows.append({"trigger": "decision split", **_proportion(split, n, "n_triggered")})
    out = pd.DataFrame(rows)
    out["method"] = (f"share of compared submissions; tolerance {tol.levels} level(s)"
                     f"{', decision split routes' if tol.decision else ''}; 95% Wilson interval")
    return out


def adjudication_by_program(store: Store) -> pd.DataFrame:
    """Adjudication rate per program and rubric version, and over all programs (benchmarks left out).

    Returns
    -------
    DataFrame
        ``program, rubric_version, n_compared, n_adjudicated, rate, ci_low, ci_high`` (95% Wilson), ``method``.
    """
    query = (sa.select(submissions.c.program_id, submissions.c.rubric_version, submissions.c.state,
                       decisions.c.method)
             .select_from(submissions.outerjoin(decisions, decisions.c.submission_id == submissions.c.id))
             .where(submissions.c.is_benchmark.is_(False), submissions.c.state.in_(_COMPARED)))
    with store.read() as conn:
        subs = pd.DataFrame(conn.execute(query).mappings().all(),
                            columns=["program_id", "rubric_version", "state", "method"])
    subs["adjudicated"] = (subs["state"] == "adjudication") | (subs["method"] == "adjudication")
    rows = [{"program": p, "rubric_version": v, **_proportion(int(g["adjudicated"].sum()), len(g), "n_adjudicated")}
            for (p, v), g in subs.groupby(["program_id", "rubric_version"], sort=True)]
    rows.append({"program": "all programs", "rubric_version": "",
                 **_proportion(int(subs["adjudicated"].sum()), len(subs), "n_adjudicated")})
    out = pd.DataFrame(rows, columns=["program", "rubric_version", "n_compared", "n_adjudicated", "rate", "ci_low",
                                      "ci_high"])
    out["method"] = "share of compared submissions (benchmarks left out); 95% Wilson interval"
    return out


def instrument_reliability(data: RatingData, bootstrap: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Cronbach's alpha over the criteria, on the resolved scores of decided operational submissions.

    Returns
    -------
    DataFrame
        One row: ``measure`` then :data:`RESULT_COLUMNS` (``n_raters`` counts criteria).
    """
    return _table([{"measure": "Cronbach's alpha (criteria)",
                    **_measure("Cronbach's alpha", agreement.cronbach_alpha, _resolved_operational(data),
                               **_ci_options(bootstrap, seed))}], ["measure"])


def item_total(data: RatingData) -> pd.DataFrame:
    """Corrected item-total correlation and alpha-if-deleted of each criterion (resolved scores).

    Returns
    -------
    DataFrame
        ``criterion, domain, weight, corrected_item_total`` (Pearson r of the criterion with the sum of the other
        criteria), ``alpha_if_deleted``, ``n_submissions``, ``method``; NaN where undefined (a criterion every
        submission got the same level on); empty when fewer than two submissions are decided.
    """
    resolved = _resolved_operational(data)
    columns = ["criterion", "domain", "weight", "corrected_item_total", "alpha_if_deleted", "n_submissions", "method"]
    try:
        table = agreement.corrected_item_total(resolved)
    except agreement.AgreementError:
        return pd.DataFrame(columns=columns)
    crit = {c.id: c for c in data.rubric.criteria}
    table = table.rename(columns={"item": "criterion"})
    table["domain"] = table["criterion"].map(lambda i: crit[i].domain)
    table["weight"] = table["criterion"].map(lambda i: crit[i].weight)
    table["n_submissions"] = len(resolved.dropna())
    table["method"] = ("corrected item-total: Pearson r with the sum of the other criteria, unweighted resolved "
                       "levels of decided operational submissions, complete rows only")
    return table[columns]


def level_usage(data: RatingData) -> pd.DataFrame:
    """How often raters used each level of each criterion (final rater scores, operational submissions).

    Returns
    -------
    DataFrame
        ``criterion, level, label, count, proportion`` (of that criterion's scores); every level on the scale
        appears, used or not.
    """
    ops = data.submissions.index[~data.submissions["is_benchmark"]]
    scores = data.scores[data.scores["submission"].isin(ops)]
    counts = scores.groupby(["criterion", "level"]).size()
    rows = []
    for c in data.rubric.criteria:
        total = int(sum(counts.get((c.id, float(lv.score)), 0) for lv in c.levels))
        for lv in c.levels:
            k = int(counts.get((c.id, float(lv.score)), 0))
            rows.append({"criterion": c.id, "level": lv.score, "label": lv.label, "count": k,
                         "proportion": k / total if total else math.nan})
    return pd.DataFrame(rows, columns=["criterion", "level", "label", "count", "proportion"])


def _fmt(x: float, digits: int) -> str:
    return f"{0.0 if abs(x) < 0.5 * 10 ** -digits else x:.{digits}f}"  # no "-0.00"


def _estimate(value, low, high, digits: int = 2) -> str:
    """``value [low, high]``; ``n/a`` for an undefined value; the value alone without an interval."""
    if pd.isna(value):
        return "n/a"
    if pd.isna(low) or pd.isna(high):
        return _fmt(value, digits)
    return f"{_fmt(value, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}]"


def summary_table(table: pd.DataFrame, index: str | list[str], columns: str | None = "measure",
                  digits: int = 2) -> pd.DataFrame:
    """A readable view of a long statistics table: cells ``value [ci_low, ci_high]``.

    With ``columns`` one column per value of that column (e.g. criteria x measures); with ``columns=None`` one
    row per ``index`` with the ``estimate`` and its ``n`` (subjects).
    """
    keys = index if isinstance(index, list) else [index]
    shown = table.assign(estimate=[_estimate(v, lo, hi, digits)
                                   for v, lo, hi in zip(table["value"], table["ci_low"], table["ci_high"])])
    if columns is None:
        return shown.set_index(keys)[["estimate", "n_subjects"]].rename(columns={"n_subjects": "n"})
    order = list(dict.fromkeys(table[columns]))
    rows = list(dict.fromkeys(map(tuple, table[keys].to_numpy())))
    wide = shown.pivot(index=index, columns=columns, values="estimate").reindex(columns=order)
    wide = wide.reindex(rows if isinstance(index, list) else [r[0] for r in rows])
    wide.columns.name = None
    return wide


# --- the whole report ----------------------------------------------------------------------------------------


@dataclass
class AgreementReport:
    """Every table of the agreement report for one program and rubric version."""

    data: RatingData
    program_name: str
    tables: dict[str, pd.DataFrame]
    bootstrap: int | None
    seed: int
    min_shared: int
    generated_on: dt.date = field(default_factory=dt.date.today)

    @property
    def intervals(self) -> str:
        """How the confidence intervals were made, in words."""
        if self.bootstrap is None:
            return (f"analytic where the method has one; Krippendorff's alpha: {DEFAULT_BOOTSTRAP} bootstrap "
                    f"resamples (seed {self.seed}); confidence {CONFIDENCE:.0%}")
        if self.bootstrap == 0:
            return "analytic only (no interval for Krippendorff's alpha)"
        return (f"percentile bootstrap, {self.bootstrap} resamples over submissions (seed {self.seed}); "
                f"confidence {CONFIDENCE:.0%}")


def agreement_report(store: Store, program_id: str, rubric_version: str | None = None,
                     bootstrap: int | None = None, seed: int = 0, min_shared: int = 3) -> AgreementReport:
    """Load the ratings and compute every table (see the module docstring for the choices made).

    Raises
    ------
    ReportError
        No double-scored operational submission under the chosen rubric version.
    """
    data = load_ratings(store, program_id, rubric_version)
    if not data.subject_ids():
        raise ReportError(f"program {program_id}, rubric version {data.rubric.version}: no double-scored "
                          "submission (two final rater scores) outside the benchmarks: nothing to analyse")
    ba = bland_altman(data)
    tables = {
        "criterion_agreement": criterion_agreement(data, bootstrap, seed),
        "total_agreement": total_agreement(data, bootstrap, seed),
        "bland_altman": ba,
        "limits_of_agreement": limits_of_agreement(ba).to_frame("value"),
        "pairwise_agreement": pairwise_agreement(data, min_shared, bootstrap, seed),
        "rater_severity": rater_severity(data),
        "severity_drift": severity_drift(data),
        "calibration": calibration(data),
        "adjudication_rates": adjudication_rates(data),
        "adjudication_by_program": adjudication_by_program(store),
        "instrument_reliability": instrument_reliability(data, bootstrap, seed),
        "item_total": item_total(data),
        "level_usage": level_usage(data),
    }
    return AgreementReport(data, workflow.program(store, program_id).name, tables, bootstrap, seed, min_shared)


def _figure_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


#: (estimate, low, high) column triples that the HTML report shows as one "estimate [low, high]" column.
_INTERVALS = [("deviation_levels", "levels_ci_low", "levels_ci_high"),
              ("deviation_total", "total_ci_low", "total_ci_high"), ("kappa", "kappa_ci_low", "kappa_ci_high"),
              ("mean_total_diff", "diff_ci_low", "diff_ci_high"), ("rate", "ci_low", "ci_high")]


def _html_table(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    shown = frame.drop(columns=[c for c in ("describe", "conventions", "method") if c in frame.columns])
    for value, low, high in _INTERVALS:
        if {value, low, high} <= set(shown.columns):
            shown[value] = [_estimate(v, lo, hi, digits) for v, lo, hi in zip(shown[value], shown[low], shown[high])]
            shown = shown.drop(columns=[low, high]).rename(columns={value: f"{value} [95% CI]"})
    return shown.to_html(index=index, escape=True, na_rep="–", border=0, classes="data",
                         float_format=lambda x: _fmt(x, digits))


def _sections(report: AgreementReport) -> list[dict]:
    from . import plots

    t, data = report.tables, report.data
    crit, total = t["criterion_agreement"], t["total_agreement"]
    pairs, sev, drift = t["pairwise_agreement"], t["rater_severity"], t["severity_drift"]
    cal, usage = t["calibration"], t["level_usage"]

    def table(frame, caption="", digits=3, index=False):
        return {"caption": caption, "html": _html_table(frame, digits, index)}

    def figure(fig, alt):
        return {"uri": _figure_uri(fig), "alt": alt}

    def lines(*frames):
        out = []
        for frame in frames:
            for col in ("describe", "conventions", "method"):
                if col in frame.columns:
                    out += [str(x) for x in frame[col].dropna()]
        return list(dict.fromkeys(out))

    return [
        {"id": "criterion-agreement", "title": "Agreement per criterion",
         "intro": "Rows: criteria; cells: estimate [95% CI] over double-scored operational submissions. "
                  "Percent agreement exact and within one level; Krippendorff's alpha (ordinal); Gwet's AC2 "
                  "(quadratic weights over the full scale); Fleiss' kappa (unweighted).",
         "tables": [table(summary_table(crit, "criterion").reset_index())], "figures": [],
         "conventions": lines(crit)},
        {"id": "total-agreement", "title": "Total score and pass/deficient decision",
         "intro": "ICC(1,·): one-way random effects on the first and second rater's total % (each submission has "
                  "its own raters, so rater effects cannot be separated). Decision coefficients on each rater's own "
                  "outcome.",
         "tables": [table(summary_table(total, ["target", "measure"], columns=None).reset_index()),
                    table(t["limits_of_agreement"].T, "Bland-Altman limits of agreement (total %)", 2)],
         "figures": [figure(plots.bland_altman_plot(t["bland_altman"], t["limits_of_agreement"]["value"]),
                            "Bland-Altman plot of first vs second rater totals")],
         "conventions": lines(total, t["limits_of_agreement"].T)},
        {"id": "pairwise-agreement", "title": "Pairwise rater agreement",
         "intro": f"Pairs of raters who scored at least {report.min_shared} of the same submissions.",
         "tables": [table(pairs)] if len(pairs) else [],
         "empty": "" if len(pairs) else f"No pair of raters shares {report.min_shared} or more submissions.",
         "figures": [figure(plots.pairwise_heatmap(pairs), "Heat map of pairwise weighted kappa")] if len(pairs)
         else [], "conventions": lines(pairs)},
        {"id": "rater-severity", "title": "Rater severity",
         "intro": "Mean deviation from the resolved score; positive = lenient, negative = severe.",
         "tables": [table(sev)], "figures": [figure(plots.severity_chart(sev), "Rater severity with 95% intervals")],
         "conventions": lines(sev)},
        {"id": "drift", "title": "Severity drift over time",
         "intro": "Deviation from the resolved score per quarter of receipt.",
         "tables": [table(drift)], "figures": [figure(plots.drift_chart(drift), "Rater severity per quarter")],
         "conventions": lines(drift)},
        {"id": "calibration", "title": "Calibration against benchmark submissions",
         "intro": f"Deviation from the gold scores of the lead SME ({', '.join(reference_raters(data)) or 'none'}).",
         "tables": [table(cal)] if len(cal) else [],
         "empty": "" if len(cal) else "No benchmark submission has both a gold score and another rater's score.",
         "figures": [], "conventions": lines(cal)},
        {"id": "adjudication", "title": "Adjudication",
         "intro": "Share of compared submissions routed to adjudication, and what triggered it.",
         "tables": [table(t["adjudication_rates"]),
                    table(t["adjudication_by_program"], "All programs and rubric versions")],
         "figures": [], "conventions": lines(t["adjudication_rates"], t["adjudication_by_program"])},
        {"id": "instrument", "title": "Instrument statistics",
         "intro": "Internal consistency of the criteria on resolved scores; how raters use each level.",
         "tables": [table(summary_table(t["instrument_reliability"], "measure", columns=None).reset_index()),
                    table(t["item_total"], "Corrected item-total correlations"),
                    table(usage.pivot(index="criterion", columns="level", values="proportion")
                          .reindex(list(data.rubric.criterion_ids)), "Level usage (share of rater scores)", 2,
                          index=True)],
         "figures": [figure(plots.level_usage_bars(usage), "Level usage per criterion")],
         "conventions": lines(t["instrument_reliability"], t["item_total"])},
    ]


def render_html(report: AgreementReport) -> str:
    """The report as one self-contained HTML page (embedded PNG figures, no external resources, escaped text)."""
    from markupsafe import Markup

    from ..templates import environment

    data = report.data
    ids = data.subject_ids()
    received = data.submissions.loc[ids, "received_on"]
    sections = _sections(report)
    for s in sections:
        s.setdefault("empty", "")
        for t in s["tables"]:
            t["html"] = Markup(t["html"])  # DataFrame.to_html(escape=True) escaped it
    return environment(True).get_template("agreement_report.html.j2").render(
        program=data.program, program_name=report.program_name, rubric_title=data.rubric.title,
        rubric_id=data.rubric.id, version_note=data.version_note, n_subjects=len(ids),
        n_raters=int(data.scores.loc[data.scores["submission"].isin(ids), "rater"].nunique()),
        n_benchmarks=int(data.submissions["is_benchmark"].sum()), first=received.min().date(),
        last=received.max().date(), generated_on=report.generated_on.isoformat(),
        method_version=agreement.METHOD_VERSION, intervals=report.intervals,
        sections=sections)


def write_html_report(report: AgreementReport, path) -> Path:
    """Write :func:`render_html` to ``path`` (readable by its owner only: it holds every rater's scores)."""
    path = outputs.output_file(path, "agreement report")
    outputs.write_private(path, render_html(report))
    return path
