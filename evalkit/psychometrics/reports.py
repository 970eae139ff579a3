"""Inter-rater agreement and validity reports built on the store: the psychometrician's and admin's view of the
scores.

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

The validity evidence (issue 14) follows the agreement tables:

- **Generalizability** (:func:`generalizability`): a G study of the operational scores, design ``(r:p) x i``
  (submissions, their own first and second rater nested in them, criteria crossed; each score the criterion's
  weighted contribution to the total %), and D studies for 1-5 raters with the criteria fixed, with Phi(lambda)
  at the pass mark (:mod:`evalkit.psychometrics.gtheory`).
- **Rater measures** (:func:`rater_measures`): a many-facet Rasch model (submissions x raters x criteria, JML as
  FACETS; :mod:`evalkit.psychometrics.mfrm`): severity in logits with its SE, infit and outfit, observed and fair
  averages, separation, and a Wright map (:func:`wright_map`). Fitted to a seeded sample of at most
  :data:`MFRM_MAX_SUBJECTS` submissions.
- **Decision consistency** (:func:`decision_consistency`): Livingston-Lewis and Subkoviak at the pass mark, with
  Phi of the two-rater D study as the reliability (:mod:`evalkit.psychometrics.decision`).
- **Standard setting** (:func:`standard_setting_result`): the program's last closed modified-Angoff workshop
  (:mod:`evalkit.psychometrics.workshops`) beside the pass mark, with its impact data (:func:`impact_plot`).

Then the candidates' own view (issue 15):

- **Self-assessment** (:func:`self_assessment_tables`): every submitted self-assessment of the program against the
  SME evaluation of the candidate's latest decided work product (any rubric version), per domain on a common 0-1
  scale (:mod:`evalkit.psychometrics.self_assessment`): the mean over- or under-estimation with its interval and
  the shares over, under and within tolerance, and how well self-assessment predicts the evaluation across
  candidates (Pearson's r with a Fisher-z interval, Spearman's rho).

Scale: everything is read set-wise (four queries whose rows become arrays) and computed on arrays, without a
Python loop per submission or score; ``benchmarks/agreement_report.py`` times the report at 2,000, 20,000 and
100,000 submissions.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats

from .. import outputs
from ..evaluation import scoring, workflow
from ..instruments.rubric import Rubric
from ..store import Store, assignments, criterion_scores, decisions, raters, resolved_scores, submissions
from . import agreement, decision, gtheory, mfrm, workshops
from .self_assessment import SelfAssessmentComparison, self_assessment_comparison

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with this module (the CLI imports it)
    from matplotlib.figure import Figure
__all__ = [
    "ReportError", "RatingData", "AgreementReport", "DEFAULT_BOOTSTRAP", "RESULT_COLUMNS", "D_STUDY_RATERS",
    "MFRM_MAX_SUBJECTS", "rubric_versions", "load_ratings", "reference_raters",
    "criterion_agreement", "total_agreement", "bland_altman", "limits_of_agreement", "pairwise_agreement",
    "rater_severity", "severity_drift", "calibration", "adjudication_rates", "adjudication_by_program",
    "instrument_reliability", "item_total", "level_usage", "generalizability", "rater_measures",
    "decision_consistency", "standard_setting_result", "self_assessment_tables", "wright_map", "impact_plot",
    "summary_table", "readable_table", "agreement_report", "render_html", "write_html_report",
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
    rater_results : DataFrame
        Per submission and rater (sorted so), one row per final rater evaluation: ``total`` (%), ``result``
        (pass/deficient), ``order`` (1 = the first rater to submit), ``scored_on``.
    levels : ndarray
        The levels of those evaluations: one row per row of ``rater_results``, one column per criterion (rubric
        order), NaN where there is no level.
    adjudicator_scores : DataFrame
        Long, as :attr:`scores`, for final adjudicator scores (never mixed into agreement).
    resolved : DataFrame
        Resolved level per decided submission (rows) and criterion (columns, rubric order).
    raters : DataFrame
        ``username`` (index), ``name``, ``is_lead``, ``is_adjudicator``.

    The statistics work on ``levels`` and ``rater_results`` set-wise (numpy and pandas, no Python loop per
    submission); :attr:`scores` gives the same scores long, one row per criterion score, for reading.
    """

    program: str
    rubric: Rubric
    version_note: str
    submissions: pd.DataFrame
    rater_results: pd.DataFrame
    levels: np.ndarray = field(repr=False)
    adjudicator_scores: pd.DataFrame = field(repr=False)
    resolved: pd.DataFrame = field(repr=False)
    raters: pd.DataFrame = field(repr=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def scores(self) -> pd.DataFrame:
        """Long: ``submission, rater, criterion, level, scored_on, order``, one row per final rater criterion
        score (made from :attr:`levels` when first asked for)."""
        if "scores" not in self._cache:
            self._cache["scores"] = _long(self.rater_results, self.levels, self.rubric)
        return self._cache["scores"]

    def subject_ids(self, include_benchmarks: bool = False) -> list[int]:
        """Double-scored submissions (optionally with the benchmark ones), in id order."""
        s = self.submissions
        keep = s["double_scored"] & (include_benchmarks | ~s["is_benchmark"])
        return list(s.index[keep])

    def _grid(self, include_benchmarks: bool) -> tuple:
        """Where each evaluation of the subjects sits in a subjects x raters matrix (cached): the subject ids, the
        raters (sorted), the evaluations' positions in :attr:`rater_results`, their subject and rater indexes,
        and their slot among the subject's evaluations (0, 1, ...: rater name order)."""
        key = ("grid", bool(include_benchmarks))
        if key not in self._cache:
            ids = np.asarray(self.subject_ids(include_benchmarks), dtype=np.int64)
            rr = self.rater_results
            subs = rr["submission"].to_numpy(dtype=np.int64)
            rows = np.flatnonzero(np.isin(subs, ids))
            names = rr["rater"].to_numpy(dtype=object)[rows]
            raters = sorted(set(names))
            col = pd.Index(raters).get_indexer(names)
            r = np.searchsorted(ids, subs[rows])
            start = np.r_[0, np.flatnonzero(np.diff(r)) + 1] if len(r) else np.zeros(0, dtype=np.int64)
            slot = np.arange(len(r)) - np.repeat(start, np.diff(np.r_[start, len(r)]))
            self._cache[key] = (ids, raters, rows, r, col, slot)
        return self._cache[key]

    def _matrix(self, values: np.ndarray, include_benchmarks: bool, dtype=float, fill=np.nan) -> pd.DataFrame:
        ids, raters, rows, r, c, _ = self._grid(include_benchmarks)
        out = np.full((len(ids), len(raters)), fill, dtype=dtype)
        out[r, c] = values[rows]
        return pd.DataFrame(out, index=pd.Index(ids, name="submission"), columns=pd.Index(raters, name="rater"))

    def _compact(self, values: np.ndarray, include_benchmarks: bool = False, dtype=float, fill=np.nan) -> np.ndarray:
        """The subjects' values with one column per evaluation slot instead of per rater (subjects x the most
        raters any subject has): the same counts per subject, so the same value of every coefficient that
        treats raters as exchangeable (percent agreement, Fleiss, Gwet, Krippendorff), at a fraction of the
        width of :meth:`matrix` when there are many raters."""
        ids, _, rows, r, _, slot = self._grid(include_benchmarks)
        out = np.full((len(ids), int(slot.max()) + 1 if len(slot) else 2), fill, dtype=dtype)
        out[r, slot] = values[rows]
        return out

    def matrix(self, criterion: str, include_benchmarks: bool = False) -> pd.DataFrame:
        """Levels on one criterion: rows = double-scored submissions, columns = raters, NaN = not scored."""
        self.rubric.criterion(criterion)  # KeyError naming the rubric for an unknown criterion
        return self._matrix(self.levels[:, list(self.rubric.criterion_ids).index(criterion)], include_benchmarks)

    def totals(self, include_benchmarks: bool = False) -> pd.DataFrame:
        """Each rater's weighted total % (submissions x raters, NaN = not scored)."""
        return self._matrix(self.rater_results["total"].to_numpy(dtype=float), include_benchmarks)

    def decisions(self, include_benchmarks: bool = False) -> pd.DataFrame:
        """Each rater's own pass/deficient outcome (submissions x raters, NaN = not scored)."""
        return self._matrix(self.rater_results["result"].to_numpy(dtype=object), include_benchmarks, object,
                            np.nan)

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


def _long(results: pd.DataFrame, levels: np.ndarray, rubric: Rubric) -> pd.DataFrame:
    """Evaluations (one row each, with their levels) as one row per criterion score."""
    present = ~np.isnan(levels)
    row, col = np.nonzero(present)
    ids = np.asarray(rubric.criterion_ids, dtype=object)
    return pd.DataFrame({"submission": results["submission"].to_numpy()[row],
                         "rater": results["rater"].to_numpy(dtype=object)[row], "criterion": ids[col],
                         "level": levels[row, col], "scored_on": results["scored_on"].to_numpy()[row],
                         "order": results["order"].to_numpy()[row]})


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
              .join(submissions, submissions.c.id == assignments.c.submission_id)
              .where(assignments.c.role == "rater", assignments.c.status == "final",
                     submissions.c.program_id == program_id)
              .group_by(assignments.c.submission_id).subquery())
    double = sa.case((sa.and_(sa.func.coalesce(finals.c.n, 0) >= 2, submissions.c.is_benchmark.is_(False)), 1),
                     else_=0)
    query = (sa.select(submissions.c.rubric_version, sa.func.count(), sa.func.sum(double),
                       sa.func.sum(sa.case((submissions.c.is_benchmark.is_(True), 1), else_=0)),
                       sa.func.min(submissions.c.received_on), sa.func.max(submissions.c.received_on))
             .select_from(submissions.outerjoin(finals, finals.c.submission_id == submissions.c.id))
             .where(submissions.c.program_id == program_id).group_by(submissions.c.rubric_version))
    columns = ["submissions", "double_scored", "benchmarks", "first_received", "last_received", "current"]
    with store.read() as conn:
        out = _frame(conn, query, ["version", *columns[:-1]])
    if out.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="version"))
    out = out.set_index("version")
    for c in ("submissions", "double_scored", "benchmarks"):
        out[c] = out[c].astype(int)
    for c in ("first_received", "last_received"):
        out[c] = pd.to_datetime(out[c]).dt.date
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


# Reading set-wise: a statement compiled once and run on the driver's cursor, its rows fetched in chunks and turned
# into arrays, so that a million criterion scores never become a million Python row objects at once.
_CHUNK = 65_536


def _cursor(conn: sa.Connection, query):
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = (tuple(compiled.params[k] for k in compiled.positiontup) if compiled.positional
              else compiled.params)
    cursor = conn.connection.cursor()
    cursor.execute(str(compiled), params)
    return cursor


def _frame(conn: sa.Connection, query, columns: list[str]) -> pd.DataFrame:
    """A query's rows as a DataFrame (values as the driver gives them: dates may be text on SQLite)."""
    cursor = _cursor(conn, query)
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    values = list(zip(*rows)) if rows else [()] * len(columns)
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in zip(columns, values)}, columns=columns) \
        .infer_objects()


def _numbers(conn: sa.Connection, query, width: int) -> np.ndarray:
    """A query of ``width`` numeric columns (no NULL: coalesce in SQL) as a float array, read in chunks."""
    cursor = _cursor(conn, query)
    parts = []
    try:
        while True:
            rows = cursor.fetchmany(_CHUNK)
            if not rows:
                break
            parts.append(np.fromiter(itertools.chain.from_iterable(rows), dtype=float, count=width * len(rows)))
    finally:
        cursor.close()
    return np.concatenate(parts).reshape(-1, width) if parts else np.empty((0, width))


def _dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")


#: A level stored as NULL, read through COALESCE (no rubric level is negative).
_NULL_LEVEL = -1.0


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

    Notes
    -----
    Read set-wise, in one read transaction: the submissions, the final evaluations, their criterion scores and
    the resolved scores are four queries whose rows become arrays (criteria as column numbers), never one Python
    object per score.
    """
    version, note = _choose_version(rubric_versions(store, program_id), program_id, rubric_version)
    rubric = workflow.rubric_for(store, version)
    ids = list(rubric.criterion_ids)
    in_scope = sa.and_(submissions.c.program_id == program_id, submissions.c.rubric_version == version)

    def code(column):  # the criterion's position in the rubric, in SQL (-1: not the rubric's)
        return sa.case({c: k for k, c in enumerate(ids)}, value=column, else_=-1)

    final = sa.and_(in_scope, assignments.c.status == "final")
    with store.read() as conn:
        conn.begin()  # one snapshot for every query below (SQLite: BEGIN; PostgreSQL: the driver's transaction)
        subs = _frame(conn, sa.select(
            submissions.c.id, submissions.c.received_on, submissions.c.state, submissions.c.is_benchmark,
            submissions.c.attempt, decisions.c.result, decisions.c.total_percent, decisions.c.method,
            decisions.c.decided_on)
            .select_from(submissions.outerjoin(decisions, decisions.c.submission_id == submissions.c.id))
            .where(in_scope).order_by(submissions.c.id),
            ["submission", "received_on", "state", "is_benchmark", "attempt", "result", "resolved_total", "method",
             "decided_on"])
        evaluations = _frame(conn, sa.select(
            assignments.c.id, assignments.c.submission_id, assignments.c.rater_id, assignments.c.role,
            assignments.c.submitted_at)
            .join(submissions, submissions.c.id == assignments.c.submission_id).where(final)
            .order_by(assignments.c.id), ["assignment", "submission", "rater_id", "role", "submitted_at"])
        scored = _numbers(conn, sa.select(
            criterion_scores.c.assignment_id, code(criterion_scores.c.criterion_id),
            sa.func.coalesce(criterion_scores.c.level, _NULL_LEVEL))
            .join(assignments, assignments.c.id == criterion_scores.c.assignment_id)
            .join(submissions, submissions.c.id == assignments.c.submission_id).where(final), 3)
        resolved_long = _numbers(conn, sa.select(
            resolved_scores.c.submission_id, code(resolved_scores.c.criterion_id), resolved_scores.c.level)
            .join(submissions, submissions.c.id == resolved_scores.c.submission_id).where(in_scope), 3)
        people = _frame(conn, sa.select(raters.c.id, raters.c.username, raters.c.name, raters.c.is_lead,
                                        raters.c.is_adjudicator).order_by(raters.c.username),
                        ["id", "username", "name", "is_lead", "is_adjudicator"])
    people["is_lead"] = people["is_lead"].astype(bool)
    people["is_adjudicator"] = people["is_adjudicator"].astype(bool)

    # Levels: one row per final evaluation that has criterion scores, one column per criterion.
    scored = scored[scored[:, 1] >= 0]
    aid = evaluations["assignment"].to_numpy(dtype=np.int64)
    pos = np.searchsorted(aid, scored[:, 0].astype(np.int64))
    levels = np.full((len(evaluations), len(ids)), np.nan)
    levels[pos, scored[:, 1].astype(np.int64)] = np.where(scored[:, 2] == _NULL_LEVEL, np.nan, scored[:, 2])
    has_scores = np.zeros(len(evaluations), dtype=bool)
    has_scores[pos] = True
    evaluations = evaluations[has_scores].reset_index(drop=True)
    levels = levels[has_scores]
    evaluations["rater"] = evaluations["rater_id"].map(people.set_index("id")["username"])
    evaluations["submitted_at"] = _dates(evaluations["submitted_at"])
    evaluations["scored_on"] = evaluations["submitted_at"].dt.normalize()
    # Who submitted first on each submission: by submission time, then by assignment id (ties in one transaction).
    ranked = evaluations.sort_values(["submission", "submitted_at", "assignment"])
    evaluations["order"] = (ranked.groupby(["submission", "role"]).cumcount() + 1).reindex(evaluations.index)

    is_rater = (evaluations["role"] == "rater").to_numpy()
    adjudicator = evaluations[~is_rater]
    adjudicator_scores = _long(adjudicator, levels[~is_rater], rubric)[
        ["submission", "rater", "criterion", "level", "scored_on", "order"]]
    mine = evaluations[is_rater].sort_values(["submission", "rater"], kind="stable")
    levels = levels[mine.index.to_numpy()]  # evaluations has a RangeIndex: labels are positions
    mine = mine.reset_index(drop=True)
    total, passed = _outcomes(rubric, levels)
    rater_results = pd.DataFrame({"submission": mine["submission"].astype(np.int64), "rater": mine["rater"],
                                  "total": total, "result": np.where(passed, "pass", "deficient"),
                                  "order": mine["order"].astype(int), "scored_on": mine["scored_on"]})

    subs = subs.set_index("submission")
    subs["received_on"] = _dates(subs["received_on"]).to_numpy()
    subs["decided_on"] = _dates(subs["decided_on"]).to_numpy()
    subs["is_benchmark"] = subs["is_benchmark"].astype(bool)
    subs["resolved_total"] = subs["resolved_total"].astype(float)
    n_final = rater_results.groupby("submission").size()
    subs["n_final_raters"] = n_final.reindex(subs.index, fill_value=0).astype(int)
    subs["double_scored"] = subs["n_final_raters"] >= 2
    subs["compared"] = subs["state"].isin(_COMPARED)
    subs["adjudicated"] = (subs["state"] == "adjudication") | (subs["method"] == "adjudication")

    resolved_long = resolved_long[resolved_long[:, 1] >= 0]
    decided = np.unique(resolved_long[:, 0].astype(np.int64))
    resolved = np.full((len(decided), len(ids)), np.nan)
    resolved[np.searchsorted(decided, resolved_long[:, 0].astype(np.int64)),
             resolved_long[:, 1].astype(np.int64)] = resolved_long[:, 2]
    resolved = pd.DataFrame(resolved, index=pd.Index(decided, name="submission"),
                            columns=pd.Index(ids, name="criterion"))
    return RatingData(program_id, rubric, note, subs, rater_results, levels, adjudicator_scores, resolved,
                      people.set_index("username")[["name", "is_lead", "is_adjudicator"]])


def _weighted_totals(rubric: Rubric, levels: np.ndarray) -> np.ndarray:
    """:func:`evalkit.evaluation.scoring.total_percent` of every row of ``levels`` (criteria in rubric order,
    NaN kept: a missing level makes the total NaN), with the same arithmetic in the same order."""
    got = np.zeros(len(levels))
    for k, c in enumerate(rubric.criteria):
        got = got + c.weight * levels[:, k]
    maximum = sum(c.weight * c.max_score for c in rubric.criteria)
    return 100.0 * got / maximum if maximum else np.zeros(len(levels))


def _outcomes(rubric: Rubric, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total % and pass (bool) of every evaluation, as :func:`evalkit.evaluation.scoring.outcome` decides them."""
    total = _weighted_totals(rubric, levels)
    mark = rubric.pass_rule.pass_mark
    passed = np.round(total, 6) >= mark
    near = np.flatnonzero(np.abs(total - mark) < 1e-4)  # Python's round decides the few at the pass mark
    passed[near] = [round(float(t), 6) >= mark for t in total[near]]
    must = [k for k, c in enumerate(rubric.criteria) if c.id in rubric.pass_rule.must_meet]
    if must:
        standard = np.array([rubric.criteria[k].meets_standard for k in must], dtype=float)
        passed &= ~(levels[:, must] < standard).any(axis=1)
    return total, passed


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


def _measure(statistic: str, fn: Callable[..., agreement.AgreementResult], *args, n_raters: int | None = None,
             categories_as: tuple | None = None, **kwargs) -> dict:
    """The statistic's row, or a row saying why it could not be computed (never a silent number). ``n_raters``:
    the raters in the design, when the ratings were given compacted (:meth:`RatingData._compact`);
    ``categories_as``: the categories' names, when the ratings were given as their positions."""
    try:
        result = fn(*args, **kwargs)
        if n_raters is not None:
            result = dataclasses.replace(result, n_raters=n_raters)
        if categories_as is not None:
            result = dataclasses.replace(result, categories=categories_as)
        return _result_row(result)
    except agreement.AgreementError as exc:
        return {"statistic": statistic, "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "se": math.nan,
                "note": f"not computed: {exc}", "describe": f"{statistic}: not computed ({exc})"}


def _group_rows(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(features, axis=0, return_inverse=True)``, the same rows in the same order, by a lexicographic
    sort of the columns (the structured sort ``np.unique`` makes is ten times slower on many rows)."""
    order = np.lexsort(features[:, ::-1].T)
    ranked = features[order]
    new = np.r_[True, (ranked[1:] != ranked[:-1]).any(axis=1)]
    inv = np.empty(len(features), dtype=np.intp)
    inv[order] = np.cumsum(new) - 1
    return ranked[new], inv


def _krippendorff(ratings: np.ndarray, level: str, categories=None, *, bootstrap: int, seed,
                  confidence: float = CONFIDENCE) -> agreement.AgreementResult:
    """:func:`evalkit.psychometrics.agreement.krippendorff_alpha`, bit for bit, on many units.

    The point estimate and its description are the function's own (``bootstrap=0``); the bootstrap is its own
    engine on the same per-unit features, grouped per rating pattern (units whose ratings are the same multiset
    have the same features) instead of by sorting every unit's q x q row: on 50,000 units a tenth of the time.
    ``tests/test_reports.py`` checks the two agree exactly. Ordinal and interval levels (the report's);
    others go to the function as they are.
    """
    if level not in ("ordinal", "interval") or not bootstrap:
        return agreement.krippendorff_alpha(ratings, level, categories, bootstrap=bootstrap, seed=seed,
                                            confidence=confidence)
    point = agreement.krippendorff_alpha(ratings, level, categories, bootstrap=0, seed=seed, confidence=confidence)
    if not math.isfinite(point.value):
        return point
    x = np.asarray(ratings, dtype=float)
    present = ~np.isnan(x)
    m = present.sum(axis=1)
    pair = m >= 2
    if level == "interval":  # the function's features, unit by unit (four numbers each)
        X, mp = x[pair], m[pair].astype(float)
        center = float(np.nanmean(X))
        Y = np.where(np.isnan(X), 0.0, X - center)
        s1, s2 = Y.sum(axis=1), (Y * Y).sum(axis=1)
        do = 2.0 * (mp * s2 - s1 * s1) / (mp - 1.0)
        uniq, inv = _group_rows(np.column_stack([mp, s1, s2, np.maximum(do, 0.0)]))
        stat = agreement._kripp_interval_stat
    else:  # ordinal: the q x q coincidence features of each distinct pattern of counts, not of each unit
        cats = np.asarray(categories, dtype=float)
        q = len(cats)
        order = np.argsort(cats, kind="stable")
        X = x[pair]
        codes = np.full(X.shape, q, dtype=np.int64)
        seen = ~np.isnan(X)
        codes[seen] = order[np.minimum(np.searchsorted(cats[order], X[seen]), q - 1)]
        n = len(X)
        A = np.bincount((codes + (q + 1) * np.arange(n)[:, None]).ravel(),
                        minlength=n * (q + 1)).reshape(n, q + 1)[:, :q].astype(float)
        base = int(A.max()) + 1
        key = (A.astype(np.int64) * base ** np.arange(q, dtype=np.int64)).sum(axis=1)
        _, first, pattern = np.unique(key, return_index=True, return_inverse=True)
        P = A[first]
        mpp = P.sum(axis=1)
        o = (P[:, :, None] * P[:, None, :]) / (mpp - 1.0)[:, None, None]
        idx = np.arange(q)
        o[:, idx, idx] -= P / (mpp - 1.0)[:, None]
        uniq, inv_p = np.unique(o.reshape(len(P), q * q), axis=0, return_inverse=True)
        inv = inv_p.reshape(-1)[pattern.reshape(-1)]
        stat = agreement._kripp_ordinal_stat(q)
    se, ci, method, note = agreement._bootstrap(uniq, inv, stat, int(bootstrap), seed, confidence)
    return dataclasses.replace(point, se=se, ci=ci, ci_method=method, note=agreement._join(point.note, note))


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
    n_raters = len(data._grid(False)[1])
    for k, c in enumerate(data.rubric.criteria):
        # the subjects' levels one column per evaluation (the same counts as data.matrix(c.id): see _compact)
        r, cats = data._compact(data.levels[:, k]), list(c.scores)
        keys = {"criterion": c.id, "domain": c.domain}
        for measure, statistic, fn, kwargs in [
            ("exact", "Percent agreement", agreement.percent_agreement, {"tolerance": 0, **analytic}),
            ("within 1 level", "Percent agreement", agreement.percent_agreement, {"tolerance": 1, **analytic}),
            ("alpha (ordinal)", "Krippendorff's alpha", _krippendorff, {"level": "ordinal", **boot}),
            ("AC2 (quadratic)", "Gwet's AC2", agreement.gwet_ac, {"weights": "quadratic", **analytic}),
            ("Fleiss kappa", "Fleiss' kappa", agreement.fleiss_kappa, analytic),
        ]:
            rows.append({**keys, "measure": measure, **_measure(statistic, fn, r, categories=cats, n_raters=n_raters,
                                                                 **kwargs)})
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
    n_raters = len(data._grid(False)[1])
    # outcomes as their position in _DECISIONS (0 = deficient, 1 = pass): the same counts, read as numbers
    outcome = (data.rater_results["result"] == _DECISIONS[1]).to_numpy(dtype=float)
    decided = data._compact(outcome)
    labels = {"n_raters": n_raters, "categories_as": tuple(_DECISIONS)}
    totals = data._compact(data.rater_results["total"].to_numpy(dtype=float))
    rows = [
        {"target": "total %", "measure": "ICC(1,1) single rater",
         **_measure("ICC(1,1)", agreement.icc, pair, form="ICC1", **analytic)},
        {"target": "total %", "measure": "ICC(1,2) mean of 2 raters",
         **_measure("ICC(1,k)", agreement.icc, pair, form="ICC1k", **analytic)},
        {"target": "total %", "measure": "alpha (interval)",
         **_measure("Krippendorff's alpha", _krippendorff, totals, level="interval", n_raters=n_raters, **boot)},
        {"target": "decision", "measure": "percent agreement",
         **_measure("Percent agreement", agreement.percent_agreement, decided, categories=[0, 1], **labels,
                    **analytic)},
        {"target": "decision", "measure": "Fleiss kappa",
         **_measure("Fleiss' kappa", agreement.fleiss_kappa, decided, categories=[0, 1], **labels, **analytic)},
        {"target": "decision", "measure": "AC1",
         **_measure("Gwet's AC1", agreement.gwet_ac, decided, categories=[0, 1], **labels, **analytic)},
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
    _, _, rows, _, _, _ = data._grid(False)  # evaluations of double-scored operational submissions, by (sub, rater)
    rr = data.rater_results
    subs = rr["submission"].to_numpy(dtype=np.int64)[rows]
    names = rr["rater"].to_numpy(dtype=object)[rows]
    # Every pair of evaluations of one submission (a before b in name order): submissions of m raters give
    # m(m-1)/2 pairs; rows are sorted by submission then rater, so a submission's rows are consecutive.
    starts = np.flatnonzero(np.r_[True, subs[1:] != subs[:-1]])
    sizes = np.diff(np.r_[starts, len(subs)])
    a_parts, b_parts = [], []
    for m in np.unique(sizes):
        first = starts[sizes == m]
        for i, j in itertools.combinations(range(int(m)), 2):
            a_parts.append(first + i)
            b_parts.append(first + j)
    a = rows[np.concatenate(a_parts)] if a_parts else np.empty(0, dtype=np.int64)
    b = rows[np.concatenate(b_parts)] if b_parts else np.empty(0, dtype=np.int64)
    all_names = rr["rater"].to_numpy(dtype=object)
    pairs = pd.DataFrame({"a": all_names[a], "b": all_names[b], "ia": a, "ib": b,
                          "submission": rr["submission"].to_numpy()[a]})
    # criteria in id order, as a (submission, criterion) table sorts them
    by_id = np.argsort(np.asarray(data.rubric.criterion_ids, dtype=object))
    total = rr["total"].to_numpy(dtype=float)
    scale = _scale(data)
    out = []
    for (ra, rb), group in pairs.groupby(["a", "b"], sort=True):
        la = data.levels[group["ia"].to_numpy()][:, by_id].ravel()
        lb = data.levels[group["ib"].to_numpy()][:, by_id].ravel()
        keep = ~(np.isnan(la) | np.isnan(lb))
        scored = np.repeat(group["submission"].to_numpy(), len(by_id))[keep]
        shared = np.unique(scored)
        if len(shared) < min_shared:
            continue
        both = pd.DataFrame({ra: la[keep], rb: lb[keep]})
        kappa = agreement.cohen_kappa(both, categories=scale, weights="quadratic", **options)
        with_scores = group["submission"].isin(shared).to_numpy()
        diff = _mean_ci(total[group["ia"].to_numpy()[with_scores]] - total[group["ib"].to_numpy()[with_scores]])
        gap = both[ra].to_numpy() - both[rb].to_numpy()
        out.append({"rater_a": ra, "rater_b": rb, "n_submissions": len(shared), "n_scores": len(both),
                    "pct_exact": float((gap == 0).mean()), "pct_within_1": float((np.abs(gap) <= 1).mean()),
                    "kappa": kappa.value, "kappa_ci_low": kappa.ci[0], "kappa_ci_high": kappa.ci[1],
                    "mean_total_diff": diff["mean"], "diff_ci_low": diff["ci_low"], "diff_ci_high": diff["ci_high"],
                    "conventions": kappa.describe() + "; criteria pooled (scores treated as independent)"})
    columns = ["rater_a", "rater_b", "n_submissions", "n_scores", "pct_exact", "pct_within_1", "kappa",
               "kappa_ci_low", "kappa_ci_high", "mean_total_diff", "diff_ci_low", "diff_ci_high", "conventions"]
    return pd.DataFrame(out, columns=columns)


def _deviations(data: RatingData, rows: np.ndarray, reference: pd.DataFrame,
                reference_totals: pd.Series) -> pd.DataFrame:
    """Per evaluation ``rows`` (positions in :attr:`RatingData.rater_results`) of a submission of ``reference``
    (rows = submissions, columns = criteria in rubric order): the mean over criteria of (rater level - reference
    level), the shares of exact / within-one-level scores, and total % - reference total %, with the submission's
    received and the rater's scored dates. Criteria without both a level and a reference level are left out."""
    rr = data.rater_results
    subs = rr["submission"].to_numpy(dtype=np.int64)[rows]
    ref_index = reference.index.to_numpy(dtype=np.int64)
    order = np.argsort(ref_index)
    found = np.searchsorted(ref_index[order], subs)
    found = np.minimum(found, max(len(ref_index) - 1, 0))
    hit = (ref_index[order][found] == subs) if len(ref_index) else np.zeros(len(subs), dtype=bool)
    rows, subs = rows[hit], subs[hit]
    ref = reference.to_numpy(dtype=float)[order][found[hit]]
    dev = data.levels[rows] - ref
    valid = ~np.isnan(dev)
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        levels = np.where(valid, dev, 0.0).sum(axis=1) / count
        exact = (valid & (dev == 0)).sum(axis=1) / count
        within_1 = (valid & (np.abs(dev) <= 1)).sum(axis=1) / count
    keep = count > 0
    rows, subs = rows[keep], subs[keep]
    per_sub = pd.DataFrame({"rater": rr["rater"].to_numpy(dtype=object)[rows], "submission": subs,
                            "levels": levels[keep], "exact": exact[keep], "within_1": within_1[keep],
                            "total": rr["total"].to_numpy(dtype=float)[rows] - reference_totals.reindex(subs)
                            .to_numpy(dtype=float),
                            "scored_on": rr["scored_on"].to_numpy()[rows],
                            "received_on": data.submissions["received_on"].reindex(subs).to_numpy()})
    return per_sub.sort_values(["rater", "submission"], kind="stable").reset_index(drop=True)


def _operational_rows(data: RatingData) -> np.ndarray:
    """Positions of the evaluations of decided operational submissions (the severity analyses' rows)."""
    resolved = _resolved_operational(data)
    return np.flatnonzero(data.rater_results["submission"].isin(resolved.index).to_numpy())


def _resolved_operational(data: RatingData) -> pd.DataFrame:
    """Resolved levels of the decided submissions, benchmarks left out."""
    s = data.submissions
    decided = s.index[s["result"].notna() & ~s["is_benchmark"]]
    return data.resolved.loc[data.resolved.index.intersection(decided)]


def _severity_rows(per_sub: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean deviation per group of ``keys`` with a t interval over submissions (:func:`_mean_ci`), set-wise."""
    columns = keys + ["n_submissions", "deviation_levels", "levels_ci_low", "levels_ci_high", "deviation_total",
                      "total_ci_low", "total_ci_high"]
    if per_sub.empty:
        return pd.DataFrame(columns=columns)
    grouped = per_sub.groupby(keys, sort=True)
    out = grouped.size().rename("n_rows").reset_index()
    for value, name, low, high in (("levels", "deviation_levels", "levels_ci_low", "levels_ci_high"),
                                   ("total", "deviation_total", "total_ci_low", "total_ci_high")):
        stats_ = grouped[value].agg(["count", "mean", "std"]).reset_index(drop=True)
        n = stats_["count"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * stats_["std"].to_numpy(dtype=float) / np.sqrt(n)
        half = np.where(n >= 2, half, np.nan)
        mean = stats_["mean"].to_numpy(dtype=float)
        if value == "levels":
            out["n_submissions"] = stats_["count"].astype(int).to_numpy()
        out[name], out[low], out[high] = mean, mean - half, mean + half
    return out[columns]


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
    per_sub = _deviations(data, _operational_rows(data), _resolved_operational(data),
                          data.submissions["resolved_total"])
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
    per_sub = _deviations(data, _operational_rows(data), _resolved_operational(data),
                          data.submissions["resolved_total"])
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
    rr = data.rater_results
    bench = rr["submission"].isin(data.submissions.index[data.submissions["is_benchmark"]]).to_numpy()
    is_reference = rr["rater"].isin(reference).to_numpy()
    columns = ["rater", "n_submissions", "deviation_levels", "levels_ci_low", "levels_ci_high", "deviation_total",
               "total_ci_low", "total_ci_high", "pct_exact", "pct_within_1", "reference", "method"]
    gold_rows = np.flatnonzero(bench & is_reference)
    ids = list(data.rubric.criterion_ids)
    # the reference raters' mean level per benchmark submission and criterion (NaN levels left out)
    gold = (pd.DataFrame(data.levels[gold_rows], columns=ids)
            .groupby(rr["submission"].to_numpy()[gold_rows]).mean())
    gold.index.name = "submission"
    gold_total = pd.Series(_weighted_totals(data.rubric, gold.to_numpy(dtype=float)), index=gold.index,
                           dtype=float)
    others = np.flatnonzero(~is_reference & rr["submission"].isin(gold.index).to_numpy())
    if not len(others):
        return pd.DataFrame(columns=columns)
    per_sub = _deviations(data, others, gold, gold_total)
    if per_sub.empty:
        return pd.DataFrame(columns=columns)
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
    rr = data.rater_results
    rows_ = rr["submission"].isin(compared).to_numpy()
    # as evalkit.evaluation.scoring.compare_raters: a criterion whose levels spread beyond the tolerance, and
    # raters whose own outcomes differ
    levels = pd.DataFrame(data.levels[rows_], columns=list(data.rubric.criterion_ids))
    by_sub = levels.groupby(rr["submission"].to_numpy()[rows_])
    spread = (by_sub.max() - by_sub.min()) > tol.levels
    outcomes = rr.loc[rows_].groupby("submission")["result"].nunique()
    n = len(compared)
    rows = [{"trigger": "any", **_proportion(int(s.loc[compared, "adjudicated"].sum()), n, "n_triggered")}]
    for c in data.rubric.criteria:
        rows.append({"trigger": c.id, **_proportion(int(spread[c.id].sum()), n, "n_triggered")})
    rows.append({"trigger": "decision split", **_proportion(int((outcomes > 1).sum()), n, "n_triggered")})
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
    adjudicated = sa.case((sa.or_(submissions.c.state == "adjudication", decisions.c.method == "adjudication"), 1),
                          else_=0)
    query = (sa.select(submissions.c.program_id, submissions.c.rubric_version, sa.func.count(),
                       sa.func.sum(adjudicated))
             .select_from(submissions.outerjoin(decisions, decisions.c.submission_id == submissions.c.id))
             .where(submissions.c.is_benchmark.is_(False), submissions.c.state.in_(_COMPARED))
             .group_by(submissions.c.program_id, submissions.c.rubric_version))
    with store.read() as conn:  # counted in SQL: one row per program and version
        counts = _frame(conn, query, ["program_id", "rubric_version", "n", "k"])
    counts = counts.sort_values(["program_id", "rubric_version"])  # Python's order, whatever the collation
    rows = [{"program": p, "rubric_version": v, **_proportion(int(k), int(n), "n_adjudicated")}
            for p, v, n, k in counts.itertuples(index=False)]
    rows.append({"program": "all programs", "rubric_version": "",
                 **_proportion(int(counts["k"].sum()), int(counts["n"].sum()), "n_adjudicated")})
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
    levels = data.levels[data.rater_results["submission"].isin(ops).to_numpy()]
    rows = []
    for k, c in enumerate(data.rubric.criteria):
        column = levels[:, k]
        counts = {lv.score: int((column == lv.score).sum()) for lv in c.levels}
        total = sum(counts.values())
        for lv in c.levels:
            rows.append({"criterion": c.id, "level": lv.score, "label": lv.label, "count": counts[lv.score],
                         "proportion": counts[lv.score] / total if total else math.nan})
    return pd.DataFrame(rows, columns=["criterion", "level", "label", "count", "proportion"])


# --- validity evidence: generalizability, rater measures, decision consistency, standard setting ----------

#: D studies for this many raters per submission.
D_STUDY_RATERS = (1, 2, 3, 4, 5)
#: The many-facet Rasch model is fitted to a seeded random sample of at most this many double-scored submissions
#: (``None`` or 0: all of them); see :func:`rater_measures`.
MFRM_MAX_SUBJECTS = 5000
_RELIABILITY_TARGET = 0.8


def _contribution_scale(rubric: Rubric) -> np.ndarray:
    """Per criterion, the factor that turns a level into its weighted contribution to the total %, times the
    number of criteria: the mean of a submission's contributions is its total %."""
    weights = np.array([c.weight for c in rubric.criteria], dtype=float)
    maximum = float(sum(c.weight * c.max_score for c in rubric.criteria))
    return 100.0 * len(weights) * weights / maximum


def generalizability(data: RatingData, raters=D_STUDY_RATERS) -> tuple[gtheory.GStudyResult, pd.DataFrame]:
    """G study of the operational ratings and D studies for 1-5 raters per submission.

    Design ``(r:p) x i``: submissions (p, the object of measurement) each scored by their own raters (r, nested:
    the first and the second to submit), on every criterion (i, crossed). Each score is the criterion's weighted
    contribution to the total % (``100 n_i w_i level / sum(w max)``), so a submission's mean score is its total
    % and the pass mark is on the same scale. Double-scored operational submissions; a third rater's scores are
    left out so that each submission has two.

    Returns
    -------
    (GStudyResult, DataFrame)
        The G study, and its :meth:`~evalkit.psychometrics.gtheory.GStudyResult.d_study_table` over ``raters``
        with criteria fixed (the rubric's criteria are the instrument, not a sample of criteria) and
        ``Phi(lambda)`` at the pass mark; the table's ``conventions`` column says so.

    Raises
    ------
    ReportError
        When the G study cannot be made (its one-line reason).
    """
    _, _, rows, _, _, _ = data._grid(False)
    rows = rows[data.rater_results["order"].to_numpy()[rows] <= 2]
    k = len(data.rubric.criteria)
    y = (data.levels[rows] * _contribution_scale(data.rubric)).ravel()
    long = pd.DataFrame({"p": np.repeat(data.rater_results["submission"].to_numpy(dtype=np.int64)[rows], k),
                         "r": np.repeat(data.rater_results["order"].to_numpy(dtype=np.int8)[rows], k),
                         "i": np.tile(np.arange(k, dtype=np.int16), len(rows)), "score": y})
    try:
        g = gtheory.g_study(long, "(r:p) x i", object="p")
        table = g.d_study_table("r", list(raters), fixed=["i"], cut=data.rubric.pass_rule.pass_mark)
    except gtheory.GTheoryError as exc:
        raise ReportError(f"G study not made: {exc}") from None
    smallest = g.smallest_n("r", _RELIABILITY_TARGET, "phi", fixed=["i"])
    table["conventions"] = (f"D study (r:p) x i, criteria fixed ({k}), raters random; Phi(lambda) at the pass mark "
                            f"{data.rubric.pass_rule.pass_mark:g}%; scores are weighted contributions to the total %; "
                            + (f"{smallest} rater(s) per submission reach Phi >= {_RELIABILITY_TARGET:g}"
                               if smallest else f"no number of raters up to 50 reaches Phi >= {_RELIABILITY_TARGET:g}"))
    return g, table


def _g_components(g: gtheory.GStudyResult) -> pd.DataFrame:
    names = {"p": "submission (universe score)", "i": "criterion", "r:p": "rater within submission",
             "pi": "submission x criterion", "ri:p": "rater x criterion within submission (residual)"}
    out = g.components[["effect", "df", "ms", "estimate", "variance", "negative", "percent"]].copy()
    out.insert(1, "source", out["effect"].map(names).fillna(""))
    out["method"] = g.describe() + f"; {g.method}; {g.negative_rule}"
    return out


def rater_measures(data: RatingData, max_subjects: int | None = MFRM_MAX_SUBJECTS,
                   seed: int = 0) -> mfrm.MFRMResult:
    """Many-facet Rasch measures of the raters (severity in logits, with fit and fair averages) and criteria.

    Submissions x raters x criteria, every final rater score of double-scored operational submissions, rating
    scale model when every criterion has the same levels (else partial credit, thresholds per criterion),
    estimated by :func:`evalkit.psychometrics.mfrm.fit_mfrm` (JML, as FACETS). With more than ``max_subjects``
    such submissions the model is fitted to a seeded random sample of that many: each rater then still has
    hundreds of submissions and thousands of ratings, their measures' standard errors are a few hundredths of a
    logit, and the fit takes seconds instead of minutes (``note`` of the result says so).

    Raises
    ------
    ReportError
        The model cannot be fitted (e.g. raters not connected through shared submissions): its reason.
    """
    ids = np.asarray(data.subject_ids(), dtype=np.int64)
    sampled = ""
    if max_subjects and len(ids) > max_subjects:
        ids = np.sort(np.random.default_rng(seed).choice(ids, int(max_subjects), replace=False))
        sampled = (f"fitted to a random sample of {int(max_subjects)} of the {len(data.subject_ids())} "
                   f"double-scored submissions (seed {seed})")
    rows = np.flatnonzero(data.rater_results["submission"].isin(ids).to_numpy())
    criteria = data.rubric.criteria
    long = pd.DataFrame({"submission": np.repeat(data.rater_results["submission"].to_numpy()[rows], len(criteria)),
                         "rater": np.repeat(data.rater_results["rater"].to_numpy(dtype=object)[rows], len(criteria)),
                         "criterion": np.tile(np.asarray(data.rubric.criterion_ids, dtype=object), len(rows)),
                         "score": data.levels[rows].ravel()})
    long = long[long["score"].notna()]
    same = len({c.scores for c in criteria}) == 1
    scale = (min(c.scores[0] for c in criteria), max(c.scores[-1] for c in criteria))
    try:
        result = mfrm.fit_mfrm(long, person="submission", facets=["rater", "criterion"],
                               model="rating_scale" if same else "partial_credit", scale=scale, bias=())
    except mfrm.MFRMError as exc:
        raise ReportError(f"many-facet Rasch model not fitted: {exc}") from None
    note = "; ".join(x for x in (result.note, sampled) if x)
    return dataclasses.replace(result, note=note)


def _rater_measure_table(result: mfrm.MFRMResult) -> pd.DataFrame:
    out = result.facet("rater").reset_index().rename(columns={"element": "rater"})
    out = out[["rater", "measure", "se", "infit", "outfit", "infit_zstd", "outfit_zstd", "count", "observed_average",
               "fair_average", "status"]].sort_values("measure", ascending=False).reset_index(drop=True)
    fit = ((out["infit"] < 0.5) | (out["infit"] > 1.5) | (out["outfit"] < 0.5) | (out["outfit"] > 1.5))
    out["flag"] = np.where(fit, "misfit (mean-square outside 0.5-1.5)", "")
    out["method"] = (f"{result.describe()}; measure in logits, higher = more severe; fair average = expected "
                     "level with an average criterion and an average submission" + (f"; {result.note}" if result.note
                                                                                    else ""))
    return out


def decision_consistency(data: RatingData, reliability: float) -> pd.DataFrame:
    """Consistency and accuracy of the pass/deficient decision on the total %, from one administration.

    Parameters
    ----------
    data : RatingData
    reliability : float
        Reliability of the resolved total % (the report uses Phi of the two-rater D study, criteria fixed).

    Returns
    -------
    DataFrame
        One row per method (Livingston-Lewis with a four-parameter beta; Subkoviak's normal approximation):
        ``method, consistency, kappa, accuracy, false_positive, false_negative, p_pass_expected,
        p_pass_observed, reliability, cut, n_candidates, describe`` and ``note``. Scores: the resolved total % of
        decided operational submissions; cut: the rubric's pass mark (pass = total >= cut; the must-meet criteria
        are not modelled); possible range: the total of the lowest levels to 100.
    """
    s = data.submissions
    scores = s.loc[s["result"].notna() & ~s["is_benchmark"], "resolved_total"].dropna().to_numpy(dtype=float)
    rubric = data.rubric
    lowest = float(_weighted_totals(rubric, np.array([[c.scores[0] for c in rubric.criteria]], dtype=float))[0])
    cut = rubric.pass_rule.pass_mark
    rows = []
    for method, fn in (("Livingston-Lewis", lambda: decision.livingston_lewis(
            scores, cut, reliability, min_score=lowest, max_score=100.0)),
            ("Subkoviak normal approximation", lambda: decision.subkoviak_normal(scores, cut, reliability))):
        try:
            r = fn()
        except decision.DecisionError as exc:
            rows.append({"method": method, "note": f"not computed: {exc}", "describe": f"{method}: not computed "
                                                                                         f"({exc})"})
            continue
        rows.append({"method": r.method, "consistency": r.consistency, "kappa": r.kappa, "accuracy": r.accuracy,
                     "false_positive": r.false_positive, "false_negative": r.false_negative,
                     "p_pass_expected": r.p_pass_expected, "p_pass_observed": r.p_pass_observed,
                     "reliability": r.reliability, "cut": r.cut, "n_candidates": r.n_candidates,
                     "describe": r.describe() + "; scores: resolved total % of decided operational submissions",
                     "note": r.note})
    return pd.DataFrame(rows, columns=["method", "consistency", "kappa", "accuracy", "false_positive",
                                       "false_negative", "p_pass_expected", "p_pass_observed", "reliability", "cut",
                                       "n_candidates", "describe", "note"])


def _decided_totals(data: RatingData) -> pd.DataFrame:
    """What :func:`evalkit.psychometrics.workshops.decided_totals` reads, from the data already loaded."""
    s = data.submissions
    decided = s[s["result"].notna() & ~s["is_benchmark"]]
    out = pd.DataFrame({"total": decided["resolved_total"].astype(float)}, index=decided.index)
    must = [c for c in data.rubric.criteria if c.id in data.rubric.pass_rule.must_meet]
    levels = data.resolved.reindex(out.index)
    below = np.zeros(len(out), dtype=bool)
    for c in must:
        below |= (levels[c.id] < c.meets_standard).to_numpy()
    out["must_meet_ok"] = ~below
    return out


def standard_setting_result(store: Store, data: RatingData) -> workshops.WorkshopResult | None:
    """The most recent closed standard-setting workshop of the program: on the report's rubric version when there
    is one, else on any version; None when the program has none."""
    found = workshops.latest_result(store, data.program, data.rubric.version, totals=_decided_totals(data))
    return found or workshops.latest_result(store, data.program)


def _standard_setting_table(result: workshops.WorkshopResult) -> pd.DataFrame:
    f, c, w = result.final, result.comparison, result.workshop
    rows = [("workshop", f"{w['id']}: {w['title']} ({w['method']}), held {w['held_on']}, facilitated by "
                         f"{w['facilitator']}; {len(result.panellists)} panellists, {len(result.rounds)} round(s)"),
            ("rubric version rated", w["rubric_version"]),
            ("minimally competent candidate", w["mcc_definition"]),
            ("recommended cut", f"{f.cut:.2f}% (SE {f.se:.2f}; {f.confidence:.0%} CI {f.ci_low:.2f}-{f.ci_high:.2f})"),
            ("G-theory SE", f"{f.se_g_fixed:.2f} (criteria fixed), {f.se_g_random:.2f} (criteria random)"),
            ("pass mark of the version rated", f"{c.pass_mark:g}%"),
            ("comparison", c.describe()),
            ("pass mark now", result.status["note"])]
    if result.adoption:
        a = result.adoption
        rows.append(("adopted", f"pass mark {a['new_pass_mark']:g}% (was {a['old_pass_mark']:g}%) from "
                                f"{a['effective_from']} as rubric version {a['to_version']}, by {a['adopted_by']}: "
                                f"{a['reason']}"))
    else:
        rows.append(("adopted", "not adopted"))
    return pd.DataFrame(rows, columns=["item", "value"])


def self_assessment_tables(result: SelfAssessmentComparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's two tables of a program's self-assessments against the SME evaluation.

    Parameters
    ----------
    result : SelfAssessmentComparison
        :func:`~evalkit.psychometrics.self_assessment.self_assessment_comparison`'s result.

    Returns
    -------
    bias : DataFrame
        Over- and under-estimation, one row per domain (instrument order): ``domain``, ``n`` (candidates),
        ``mean_difference`` (mean of self - evaluated on the 0-1 scale; positive = over-estimation) with
        ``ci_low`` and ``ci_high``, the shares of those candidates who over-estimated, under-estimated and were
        within the tolerance (``share_over``, ``share_under``, ``share_within``), and ``method``.
    prediction : DataFrame
        How well self-assessment predicts the evaluation across candidates, one row per domain and then
        ``All domains`` (each candidate's mean over the domains): ``domain``, ``n`` (candidates), Pearson's ``r``
        with ``r_ci_low`` and ``r_ci_high`` (Fisher z; none below four candidates), Spearman's ``rho``, and
        ``method``.
    """
    b, p, level = result.bias, result.prediction, result.level
    bias = pd.DataFrame({"domain": b.index, "n": b["n"].to_numpy(), "mean_difference": b["mean_difference"].to_numpy(),
                         "ci_low": b["ci_low"].to_numpy(), "ci_high": b["ci_high"].to_numpy()})
    for share, count in (("share_over", "over"), ("share_under", "under"), ("share_within", "agrees")):
        bias[share] = (b[count] / b["n"]).to_numpy()
    bias["method"] = (f"self - evaluated per domain on 0-1 (each scale's lowest level 0, highest 1), positive = "
                      f"over-estimation; within +/-{result.tolerance:.3f} counts as within tolerance; mean over "
                      f"candidates with a {level:.0%} t interval (n-1 df)")
    prediction = pd.DataFrame({"domain": p.index, "n": p["n"].to_numpy(), "r": p["r"].to_numpy(),
                               "r_ci_low": p["r_ci_low"].to_numpy(), "r_ci_high": p["r_ci_high"].to_numpy(),
                               "rho": p["rho"].to_numpy()})
    prediction["method"] = (f"Pearson's r of self-rating and evaluation (0-1) across candidates with a {level:.0%} "
                            "Fisher-z interval (n >= 4), Spearman's rho; All domains: each candidate's mean over the "
                            "domains")
    return bias, prediction


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
    """Every table of the agreement and validity report for one program and rubric version.

    ``gstudy``, ``mfrm``, ``workshop`` and ``self_assessment`` hold the G study, the many-facet Rasch fit, the
    standard-setting workshop and the self-assessment comparison behind their tables (None when not made; ``notes``
    says why).
    """

    data: RatingData
    program_name: str
    tables: dict[str, pd.DataFrame]
    bootstrap: int | None
    seed: int
    min_shared: int
    generated_on: dt.date = field(default_factory=dt.date.today)
    gstudy: gtheory.GStudyResult | None = None
    mfrm: mfrm.MFRMResult | None = None
    workshop: workshops.WorkshopResult | None = None
    self_assessment: SelfAssessmentComparison | None = None
    notes: dict[str, str] = field(default_factory=dict)

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
                     bootstrap: int | None = None, seed: int = 0, min_shared: int = 3,
                     mfrm_subjects: int | None = MFRM_MAX_SUBJECTS) -> AgreementReport:
    """Load the ratings and compute every table (see the module docstring for the choices made).

    Besides the agreement tables: the G study and D studies for 1-5 raters (``g_study``, ``d_study``), the
    raters' many-facet Rasch measures (``rater_measures``, ``mfrm_facets``, ``criterion_measures``; fitted to at
    most ``mfrm_subjects`` submissions, see :func:`rater_measures`), decision consistency
    (``decision_consistency``), the last standard-setting workshop (``standard_setting``,
    ``standard_setting_rounds``) when there is one, and the self-assessments against the SME evaluation
    (``self_assessment_bias``, ``self_assessment_prediction``; :func:`self_assessment_tables`) when a candidate
    has both. A part that cannot be made is left out with its reason in ``notes``; it never stops the rest.

    Raises
    ------
    ReportError
        No double-scored operational submission under the chosen rubric version.
    """
    if mfrm_subjects is not None and (isinstance(mfrm_subjects, bool) or not isinstance(mfrm_subjects, (int, np.integer))
                                      or mfrm_subjects < 0):
        raise ReportError(f"mfrm_subjects must be a whole number of submissions (0: all); got {mfrm_subjects!r}")
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
    notes: dict[str, str] = {}
    g = fit = found = None
    try:
        g, tables["d_study"] = generalizability(data)
        tables["g_study"] = _g_components(g)
    except ReportError as exc:
        notes["generalizability"] = str(exc)
    try:
        fit = rater_measures(data, mfrm_subjects or None, seed)
        tables["rater_measures"] = _rater_measure_table(fit)
        tables["mfrm_facets"] = fit.facet_summary
        tables["criterion_measures"] = (fit.facet("criterion").reset_index()
                                        .rename(columns={"element": "criterion"})
                                        [["criterion", "measure", "se", "infit", "outfit", "fair_average"]])
    except ReportError as exc:
        notes["rater_measures"] = str(exc)
    if g is not None:
        phi = float(tables["d_study"].set_index("n_r").loc[2, "phi"]) if 2 in set(tables["d_study"]["n_r"]) \
            else g.d_study({"r": 2}, fixed=["i"]).phi
        tables["decision_consistency"] = decision_consistency(data, phi)
    else:
        notes["decision_consistency"] = "no reliability estimate: the G study was not made"
    found = standard_setting_result(store, data)
    if found is not None and found.final is not None:
        tables["standard_setting"] = _standard_setting_table(found)
        tables["standard_setting_rounds"] = found.rounds
    else:
        found = None
        notes["standard_setting"] = f"no closed standard-setting workshop for {program_id}"
    compared = self_assessment_comparison(store, program_id, level=CONFIDENCE)
    if compared.candidates:
        tables["self_assessment_bias"], tables["self_assessment_prediction"] = self_assessment_tables(compared)
    else:
        compared = None
        notes["self_assessment"] = (f"No candidate of {program_id} has both a submitted self-assessment and an "
                                    "evaluated work product yet.")
    return AgreementReport(data, workflow.program(store, program_id).name, tables, bootstrap, seed, min_shared,
                           gstudy=g, mfrm=fit, workshop=found, self_assessment=compared, notes=notes)


def _escape(label) -> str:
    """Text drawn as written (matplotlib reads text between two ``$`` as maths)."""
    return str(label).replace("$", r"\$")


def wright_map(result: mfrm.MFRMResult) -> Figure:
    """A Wright map: submissions, raters and criteria on one logit scale.

    Submissions (their measures, a histogram; higher = more able), raters (higher = more severe) and criteria
    (higher = harder) side by side, with the rating scale's Rasch-Andrich thresholds: a rater above the
    submissions' bulk gives lower levels than most.

    Parameters
    ----------
    result : MFRMResult
        :func:`evalkit.psychometrics.mfrm.fit_mfrm` with facets rater and criterion (:func:`rater_measures`).
    """
    from matplotlib.figure import Figure

    persons = result.facet(result.person)["measure"].to_numpy(dtype=float)
    persons = persons[np.isfinite(persons)]
    columns = [f for f in result.facets][:2]
    fig = Figure(figsize=(8, 6))
    ax = fig.subplots()
    values = [persons] + [result.facet(f)["measure"].to_numpy(dtype=float) for f in columns]
    allv = np.concatenate([v[np.isfinite(v)] for v in values if len(v)] + [result.thresholds["threshold"]
                                                                          .to_numpy(dtype=float)])
    low, high = float(np.floor(allv.min())) - 0.5, float(np.ceil(allv.max())) + 0.5
    bins = np.linspace(low, high, 41)
    counts, edges = np.histogram(persons, bins=bins)
    if counts.max() > 0:
        ax.barh((edges[:-1] + edges[1:]) / 2, counts / counts.max() * 0.9, height=np.diff(edges) * 0.9, left=0.05,
                color="tab:gray", alpha=0.6)
    plural = {"rater": "raters", "criterion": "criteria"}
    for x, facet in enumerate(columns, start=1):
        table = result.facet(facet).sort_values("measure")
        y = table["measure"].to_numpy(dtype=float)
        ax.scatter(np.full(len(y), x + 0.1), y, marker="_" if facet != "rater" else "o", s=60,
                   color="tab:red" if facet == "rater" else "tab:blue")
        # elements whose measures are closer than a line of text share one label
        gap = (high - low) / 45
        group: list = []
        for name, value in [*zip(table.index, y), (None, np.inf)]:
            if group and (name is None or value - group[0][1] > gap):
                ax.annotate(_escape(", ".join(str(n) for n, _ in group)),
                            (x + 0.2, float(np.mean([v for _, v in group]))), fontsize=7, va="center")
                group = []
            if name is not None:
                group.append((name, value))
    th = result.thresholds
    for value, category in zip(th["threshold"], th["category"]):
        ax.axhline(float(value), color="tab:green", lw=0.6, ls=":", xmin=0.0, xmax=1.0)
        ax.annotate(_escape(f"step to {category}"), (len(columns) + 1.2, float(value)), fontsize=7, va="bottom",
                    color="tab:green")
    ax.set_xticks(range(len(columns) + 1), [_escape(f"{result.person}s (n={len(persons)})")]
                  + [_escape(plural.get(f, f)) for f in columns])
    ax.set_xlim(0, len(columns) + 1.6)
    ax.set_ylim(low, high)
    ax.set_ylabel("logits")
    ax.set_title("Wright map: up = more able submission, more severe rater, harder criterion", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def impact_plot(result: workshops.WorkshopResult) -> Figure:
    """The standard-setting result: the share of past candidates passing at each cut, the recommended cut with
    its confidence interval, each round's cut, and the pass mark of the version rated."""
    from matplotlib.figure import Figure

    curve, f, c = result.impact_curve, result.final, result.comparison
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    n = curve.attrs.get("n_candidates", 0)
    ax.plot(curve["cut"], curve["pass_rate"], color="tab:blue", label=f"past candidates passing (n={n})")
    if np.isfinite(f.ci_low) and np.isfinite(f.ci_high):
        ax.axvspan(f.ci_low, f.ci_high, color="tab:orange", alpha=0.2, label=f"{f.confidence:.0%} CI of the cut")
    ax.axvline(f.cut, color="tab:orange", lw=2, label=f"recommended cut {f.cut:.1f}%")
    ax.axvline(c.pass_mark, color="black", ls="--", lw=1, label=f"pass mark {c.pass_mark:g}%")
    for rnd in result.rounds.itertuples():
        ax.plot([rnd.cut], [1.02], marker="v", color="tab:gray")
        ax.annotate(f"R{rnd.round}", (rnd.cut, 1.04), fontsize=7, ha="center", color="tab:gray")
    lo = max(0.0, min(f.ci_low if np.isfinite(f.ci_low) else f.cut, c.pass_mark, *result.rounds["cut"]) - 15)
    ax.set_xlim(lo, 100)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("cut score (total %)")
    ax.set_ylabel("share passing")
    ax.set_title(_escape(f"Modified-Angoff result and its impact ({result.workshop['program_id']})"))
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _figure_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # the figures lay themselves out (tight_layout): one drawing, not two
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


#: (estimate, low, high) column triples that the HTML report shows as one "estimate [low, high]" column.
_INTERVALS = [("deviation_levels", "levels_ci_low", "levels_ci_high"),
              ("deviation_total", "total_ci_low", "total_ci_high"), ("kappa", "kappa_ci_low", "kappa_ci_high"),
              ("mean_total_diff", "diff_ci_low", "diff_ci_high"), ("rate", "ci_low", "ci_high"),
              ("mean_difference", "ci_low", "ci_high"), ("r", "r_ci_low", "r_ci_high")]


def readable_table(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """A report table as the report shows it: each estimate with its interval as one ``estimate [low, high]``
    column (named ``<estimate> [95% CI]``, ``digits`` decimals), without the columns of conventions (``describe``,
    ``conventions``, ``method``), which the report lists once under the table."""
    shown = frame.drop(columns=[c for c in ("describe", "conventions", "method") if c in frame.columns])
    for value, low, high in _INTERVALS:
        if {value, low, high} <= set(shown.columns):
            shown[value] = [_estimate(v, lo, hi, digits) for v, lo, hi in zip(shown[value], shown[low], shown[high])]
            shown = shown.drop(columns=[low, high]).rename(columns={value: f"{value} [95% CI]"})
    return shown


def _html_table(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    return readable_table(frame, digits).to_html(index=index, escape=True, na_rep="–", border=0, classes="data",
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
        *_validity_sections(report, table, figure, lines),
        _self_assessment_section(report, table, lines),
    ]


def _validity_sections(report: AgreementReport, table, figure, lines) -> list[dict]:
    """The validity sections: generalizability, rater measures, decision consistency, standard setting."""
    from . import plots

    t, notes = report.tables, report.notes
    out = []
    if "g_study" in t:
        d = t["d_study"]
        shown = d.drop(columns=["relative_error_variance", "absolute_error_variance"])
        out.append({"id": "generalizability", "title": "Generalizability: G study and D study",
                    "intro": "Variance components of the operational scores (submissions, their raters nested in "
                             "them, criteria crossed) and, for 1-5 raters per submission, the dependability of the "
                             "total % (criteria fixed): E rho² for ranking, Φ for absolute decisions, Φ(λ) at the "
                             "pass mark.",
                    "tables": [table(t["g_study"].drop(columns=["negative"]), "G study: variance components"),
                               table(shown, "D study: raters per submission")],
                    "figures": [figure(plots.d_study_plot(d, target=_RELIABILITY_TARGET),
                                       "D-study curves: dependability by number of raters")],
                    "conventions": lines(t["g_study"], d)})
    else:
        out.append({"id": "generalizability", "title": "Generalizability: G study and D study", "intro": "",
                    "tables": [], "figures": [], "conventions": [], "empty": notes.get("generalizability", "")})
    if "rater_measures" in t:
        out.append({"id": "rater-measures", "title": "Rater measures (many-facet Rasch)",
                    "intro": "Each rater's severity in logits (higher = more severe) with its standard error, "
                             "infit and outfit mean-squares (1 = as the model expects; outside 0.5-1.5 flagged), "
                             "observed and fair averages (the level expected from the rater with an average "
                             "criterion and an average submission).",
                    "tables": [table(t["rater_measures"], "Raters"),
                               table(t["mfrm_facets"], "Separation and reliability per facet"),
                               table(t["criterion_measures"], "Criteria (higher = harder)")],
                    "figures": [figure(wright_map(report.mfrm), "Wright map of submissions, raters and criteria")],
                    "conventions": lines(t["rater_measures"]) + [report.mfrm.conventions]})
    else:
        out.append({"id": "rater-measures", "title": "Rater measures (many-facet Rasch)", "intro": "",
                    "tables": [], "figures": [], "conventions": [], "empty": notes.get("rater_measures", "")})
    if "decision_consistency" in t:
        dc = t["decision_consistency"]
        out.append({"id": "decision-consistency", "title": "Decision consistency and accuracy",
                    "intro": "How often two independent evaluations would agree on pass/deficient (consistency, "
                             "kappa) and how often the decision matches the true one (accuracy), at the pass mark, "
                             "with Φ of the two-rater D study as the reliability.",
                    "tables": [table(dc)], "figures": [], "conventions": lines(dc)})
    else:
        out.append({"id": "decision-consistency", "title": "Decision consistency and accuracy", "intro": "",
                    "tables": [], "figures": [], "conventions": [],
                    "empty": notes.get("decision_consistency", "")})
    w = report.workshop
    if w is not None:
        rounds = t["standard_setting_rounds"]
        out.append({"id": "standard-setting", "title": "Standard setting",
                    "intro": "The last modified-Angoff workshop: panellists' expected levels of a minimally "
                             "competent candidate, the recommended cut with its standard error, the impact data "
                             "shown between rounds, and how the cut compares with the pass mark.",
                    "tables": [table(t["standard_setting"], "Result"),
                               table(rounds, "Rounds (pass rates: the impact data shown after each)"),
                               table(w.final.criteria.reset_index(), "Expected level of a minimally competent "
                                     "candidate per criterion (last round)", 2)],
                    "figures": [figure(impact_plot(w), "Pass rate by cut score with the recommended cut")],
                    "conventions": [w.final.conventions]})
    else:
        out.append({"id": "standard-setting", "title": "Standard setting", "intro": "", "tables": [],
                    "figures": [], "conventions": [], "empty": notes.get("standard_setting", "")})
    return out


def _self_assessment_section(report: AgreementReport, table, lines) -> dict:
    """The candidates' self-assessments against the SME evaluation, or the sentence saying there are none."""
    title = "Self-assessment against the SME evaluation"
    if report.self_assessment is None:
        return {"id": "self-assessment", "title": title, "intro": "", "tables": [], "figures": [], "conventions": [],
                "empty": report.notes.get("self_assessment", "")}
    bias, prediction = report.tables["self_assessment_bias"], report.tables["self_assessment_prediction"]
    return {"id": "self-assessment", "title": title,
            "intro": f"{report.self_assessment.candidates} candidates' submitted self-assessments beside the SME "
                     "evaluation of their latest decided work product (any rubric version), per competency domain "
                     "on a common 0-1 scale; a positive difference is over-estimation.",
            "tables": [table(bias, "Over- and under-estimation per domain (shares of candidates)"),
                       table(prediction, "How well self-assessment predicts the evaluation across candidates")],
            "figures": [], "conventions": lines(bias, prediction)}


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
        n_raters=len(data._grid(False)[1]),
        n_benchmarks=int(data.submissions["is_benchmark"].sum()), first=received.min().date(),
        last=received.max().date(), generated_on=report.generated_on.isoformat(),
        method_version=agreement.METHOD_VERSION, intervals=report.intervals,
        sections=sections)


def write_html_report(report: AgreementReport, path) -> Path:
    """Write :func:`render_html` to ``path`` (readable by its owner only: it holds every rater's scores)."""
    path = outputs.output_file(path, "agreement report")
    outputs.write_private(path, render_html(report))
    return path
