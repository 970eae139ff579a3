"""Self-assessment against the SME evaluation of the work product (pure functions over pandas).

A candidate rates themselves on the self-assessment's proficiency scale (1-4 in the shipped instruments), per
competency statement; the SMEs score the work product on the rubric's criteria (1-4 in the CIAC rubrics). Both are
summarised per competency domain and compared:

* :func:`compare_domains`: each candidate's self-rating beside their evaluation in each domain, and whether they
  over-estimated, under-estimated or agreed;
* :func:`domain_bias`: per domain, across candidates, the mean over/under-estimation with its confidence interval;
* :func:`self_assessment_prediction`: per domain (and over all domains), how well self-assessment predicts the
  evaluation across candidates: Pearson's r with a Fisher-z interval, Spearman's rho, and the mean bias.

Conventions
-----------
Common scale
    A domain's self-rating is the mean of its statements' levels; its evaluation is the mean of the resolved
    levels of the domain's criteria (weighted by the criteria's weights where given). Each is put on 0-1 by its
    own scale's range, ``(x - low) / (high - low)``, so that a self-rating of "Proficient" (3 of 1-4) and a
    resolved "Meets the standard" (3 of 1-4) are both 2/3 and a scale of another length compares too.
Difference
    ``self - evaluated`` on the 0-1 scale: positive is over-estimation. A difference within ``tolerance``
    (default 1/6: half a level on a four-level scale) counts as agreement.
Intervals
    The mean bias has a t interval (n-1 df) on the differences; Pearson's r a Fisher-z interval
    (``atanh(r) +- z * 1/sqrt(n-3)``, needs n >= 4); ``level`` is the confidence level (default 0.95).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats

from ..evaluation.workflow import rubric_for
from ..instruments.self_assessment import parse_self_assessment
from ..messages import show
from ..store import (candidates, decisions, resolved_scores, self_assessment_answers, self_assessments,
                     submissions)

__all__ = ["SelfAssessmentStatsError", "DEFAULT_TOLERANCE", "to_unit", "compare_domains", "domain_bias",
           "Correlation", "pearson_with_ci", "self_assessment_prediction", "SelfAssessmentComparison",
           "self_and_evaluated", "self_assessment_comparison"]

#: Half a level on a four-level scale (1-4: a level is 1/3 of the range).
DEFAULT_TOLERANCE = 1 / 6


class SelfAssessmentStatsError(ValueError):
    """Input the comparison cannot use; the message is one line saying what was expected."""


def to_unit(values, low: float, high: float):
    """Values of a ``low``-``high`` scale on 0-1.

    Examples
    --------
    >>> to_unit(3, 1, 4)
    0.6666666666666666
    >>> to_unit(pd.Series([1, 4]), 1, 4).tolist()
    [0.0, 1.0]
    """
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        raise SelfAssessmentStatsError(f"scale {show(low)}-{show(high)}: expected a lowest level below the highest")
    return (values - low) / (high - low)


def _matrix(frame, what: str) -> pd.DataFrame:
    if isinstance(frame, pd.Series) or not isinstance(frame, pd.DataFrame):
        try:
            frame = pd.DataFrame(frame)
        except (ValueError, TypeError):
            raise SelfAssessmentStatsError(f"{what}: expected a table with one row per candidate and one column per "
                                           "domain") from None
    try:
        return frame.apply(pd.to_numeric).astype(float)
    except (ValueError, TypeError):
        raise SelfAssessmentStatsError(f"{what}: expected numbers (a domain's mean level)") from None


def compare_domains(self_assessed, evaluated, self_scale=(1, 4), evaluated_scale=(1, 4),
                    tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """Each candidate's self-rating beside their SME evaluation, per domain.

    Parameters
    ----------
    self_assessed, evaluated : DataFrame or mapping
        One row per candidate (the index), one column per domain: the mean self-rated level and the mean resolved
        level. Candidates and domains present in both are compared; a missing value (NaN) is left out.
    self_scale, evaluated_scale : (low, high)
        The scales' lowest and highest levels.
    tolerance : float
        The largest difference on the 0-1 scale counted as agreement.

    Returns
    -------
    DataFrame
        Columns ``candidate``, ``domain``, ``self`` and ``evaluated`` (0-1), ``difference`` (self - evaluated) and
        ``direction`` (``over``, ``under`` or ``agrees``); in the order of the candidates, then the domains.

    Examples
    --------
    >>> out = compare_domains({"PM": {"a": 4, "b": 2}}, {"PM": {"a": 2.5, "b": 2}})
    >>> out[["candidate", "domain", "difference", "direction"]].round(3).values.tolist()
    [['a', 'PM', 0.5, 'over'], ['b', 'PM', 0.0, 'agrees']]
    """
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise SelfAssessmentStatsError(f"tolerance {show(tolerance)}: expected a number in [0, 1)")
    mine = to_unit(_matrix(self_assessed, "self_assessed"), *self_scale)
    theirs = to_unit(_matrix(evaluated, "evaluated"), *evaluated_scale)
    for name, frame in (("self_assessed", mine), ("evaluated", theirs)):
        outside = ((frame < -1e-9) | (frame > 1 + 1e-9)).to_numpy()
        if outside.any():
            i, j = np.argwhere(outside)[0]
            candidate, domain = frame.index[i], frame.columns[j]
            raise SelfAssessmentStatsError(f"{name}: candidate {show(candidate)}, {domain}: outside the scale; "
                                           "expected a level between the scale's lowest and highest")
    domains = [d for d in mine.columns if d in theirs.columns]
    candidates = [c for c in mine.index if c in theirs.index]
    rows = []
    for c in candidates:
        for d in domains:
            s, e = mine.at[c, d], theirs.at[c, d]
            if pd.isna(s) or pd.isna(e):
                continue
            diff = float(s - e)
            rows.append({"candidate": c, "domain": d, "self": float(s), "evaluated": float(e), "difference": diff,
                         "direction": "agrees" if abs(diff) <= tolerance + 1e-12 else ("over" if diff > 0
                                                                                       else "under")})
    return pd.DataFrame(rows, columns=["candidate", "domain", "self", "evaluated", "difference", "direction"])


def _t_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return float("nan"), float("nan"), float("nan")
    se = float(values.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return se, mean - half, mean + half


def _level(level: float) -> float:
    if not (isinstance(level, float) and 0 < level < 1):
        raise SelfAssessmentStatsError(f"level {show(level)}: expected a confidence level such as 0.95")
    return level


def domain_bias(comparison: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per domain, across candidates: the mean over/under-estimation with a t interval, and how many over- and
    under-estimated.

    Parameters
    ----------
    comparison : DataFrame
        :func:`compare_domains`' result.

    Returns
    -------
    DataFrame
        Indexed by domain: ``n``, ``mean_difference`` (positive: candidates over-estimate), ``se``, ``ci_low``,
        ``ci_high``, ``over``, ``under``, ``agrees`` (counts) and ``mean_absolute`` (the mean size of the
        difference). SE and interval are NaN for fewer than two candidates.

    Examples
    --------
    >>> cmp = compare_domains({"PM": [4, 3, 2]}, {"PM": [3, 3, 1]})
    >>> row = domain_bias(cmp).loc["PM"]
    >>> int(row["n"]), round(float(row["mean_difference"]), 4), int(row["over"]), int(row["agrees"])
    (3, 0.2222, 2, 1)
    """
    level = _level(level)
    need = {"domain", "difference", "direction"}
    if not isinstance(comparison, pd.DataFrame) or not need <= set(comparison.columns):
        raise SelfAssessmentStatsError("comparison: expected compare_domains' result (domain, difference, direction)")
    rows = {}
    for domain, group in comparison.groupby("domain", sort=False):
        diffs = group["difference"].to_numpy(dtype=float)
        se, low, high = _t_interval(diffs, level)
        counts = group["direction"].value_counts()
        rows[domain] = {"n": len(diffs), "mean_difference": float(diffs.mean()), "se": se, "ci_low": low,
                        "ci_high": high, "over": int(counts.get("over", 0)), "under": int(counts.get("under", 0)),
                        "agrees": int(counts.get("agrees", 0)), "mean_absolute": float(np.abs(diffs).mean())}
    columns = ["n", "mean_difference", "se", "ci_low", "ci_high", "over", "under", "agrees", "mean_absolute"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("domain")


@dataclass(frozen=True)
class Correlation:
    """Pearson's r with its Fisher-z interval, and Spearman's rho, of ``n`` pairs."""

    r: float
    ci: tuple[float, float]
    rho: float
    n: int
    level: float


def pearson_with_ci(x, y, level: float = 0.95) -> Correlation:
    """Pearson's r of paired values with the Fisher-z interval ``tanh(atanh(r) +- z/sqrt(n-3))``, and Spearman's rho.

    NaN in either leaves the pair out. r is NaN when either has no spread; the interval is NaN below four pairs.

    Examples
    --------
    >>> c = pearson_with_ci([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    >>> round(c.r, 6), tuple(round(v, 4) for v in c.ci), round(c.rho, 6), c.n
    (0.8, (-0.2796, 0.9862), 0.8, 5)
    """
    level = _level(level)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise SelfAssessmentStatsError(f"x and y: expected two lists of the same length, got {x.shape} and {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    nan = float("nan")
    if n < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(nan, (nan, nan), nan, n, level)
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1, 1))
    rho = float(stats.spearmanr(x, y).statistic)
    if n < 4:
        return Correlation(r, (nan, nan), rho, n, level)
    if abs(r) == 1:
        return Correlation(r, (r, r), rho, n, level)
    z, half = math.atanh(r), float(stats.norm.ppf(0.5 + level / 2)) / math.sqrt(n - 3)
    return Correlation(r, (math.tanh(z - half), math.tanh(z + half)), rho, n, level)


def self_assessment_prediction(comparison: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """How well self-assessment predicts the SME evaluation across candidates, per domain and overall.

    The overall row correlates each candidate's mean over the domains (self and evaluated, on 0-1), so each
    candidate counts once.

    Parameters
    ----------
    comparison : DataFrame
        :func:`compare_domains`' result.

    Returns
    -------
    DataFrame
        Indexed by domain, then ``"All domains"``: ``n`` (candidates), ``r``, ``r_ci_low``, ``r_ci_high``,
        ``rho``, ``mean_bias`` (mean self - evaluated), ``bias_ci_low``, ``bias_ci_high``.

    Examples
    --------
    >>> cmp = compare_domains({"PM": [1, 2, 3, 4, 5]}, {"PM": [2, 1, 4, 3, 5]}, (1, 5), (1, 5))
    >>> row = self_assessment_prediction(cmp).loc["PM"]
    >>> int(row["n"]), round(float(row["r"]), 6), round(float(row["mean_bias"]), 6)
    (5, 0.8, 0.0)
    """
    level = _level(level)
    need = {"candidate", "domain", "self", "evaluated", "difference"}
    if not isinstance(comparison, pd.DataFrame) or not need <= set(comparison.columns):
        raise SelfAssessmentStatsError("comparison: expected compare_domains' result (candidate, domain, self, "
                                       "evaluated, difference)")
    groups = [(d, g) for d, g in comparison.groupby("domain", sort=False)]
    overall = comparison.groupby("candidate", sort=False)[["self", "evaluated", "difference"]].mean()
    rows = {}
    for name, group in [*groups, ("All domains", overall)]:
        corr = pearson_with_ci(group["self"], group["evaluated"], level)
        diffs = group["difference"].to_numpy(dtype=float)
        _, low, high = _t_interval(diffs, level) if len(diffs) else (0, float("nan"), float("nan"))
        rows[name] = {"n": len(group), "r": corr.r, "r_ci_low": corr.ci[0], "r_ci_high": corr.ci[1],
                      "rho": corr.rho, "mean_bias": float(diffs.mean()) if len(diffs) else float("nan"),
                      "bias_ci_low": low, "bias_ci_high": high}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("domain")


# --- from the store: every submitted self-assessment of a program beside its decided work product -------------


@dataclass(frozen=True)
class SelfAssessmentComparison:
    """A program's self-assessments against the SME evaluation: the per-candidate comparison, the bias per domain
    and the prediction across candidates (each as its function returns it), on the 0-1 scale, with the
    ``tolerance`` and confidence ``level`` they were computed with."""

    program_id: str
    comparison: pd.DataFrame
    bias: pd.DataFrame
    prediction: pd.DataFrame
    candidates: int
    tolerance: float
    level: float


def self_and_evaluated(store, program_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per candidate (external id) and domain, on 0-1: the submitted self-assessment's mean rating, and the SME
    evaluation of the candidate's latest decided work product of ``program_id`` (the resolved level of each of the
    domain's criteria on 0-1 by its own scale, weighted by the criteria's weights).

    Only candidates with a submitted self-assessment are read on the evaluated side (the comparison needs both,
    and a program's work products can number in the tens of thousands); a candidate whose work product is not
    decided yet is left in the self-assessed table, and :func:`compare_domains` keeps those with both.
    """
    final = sa.and_(self_assessments.c.program_id == program_id, self_assessments.c.state == "final")
    with store.read() as conn:
        sas = conn.execute(sa.select(self_assessments, candidates.c.external_id)
                           .join(candidates, candidates.c.id == self_assessments.c.candidate_id)
                           .where(final)).mappings().all()
        answers = conn.execute(sa.select(self_assessment_answers).where(
            self_assessment_answers.c.self_assessment_id.in_([r["id"] for r in sas]))).all()
        decided = conn.execute(sa.select(submissions.c.id, submissions.c.attempt, submissions.c.rubric_version,
                                         candidates.c.external_id)
                               .join(candidates, candidates.c.id == submissions.c.candidate_id)
                               .join(decisions, decisions.c.submission_id == submissions.c.id)
                               .where(submissions.c.program_id == program_id,
                                      submissions.c.is_benchmark.is_(False),
                                      submissions.c.candidate_id.in_(sa.select(self_assessments.c.candidate_id)
                                                                     .where(final)))
                               .order_by(submissions.c.attempt)).mappings().all()
        latest = {r["external_id"]: r for r in decided}  # the last attempt decided
        resolved = conn.execute(sa.select(resolved_scores).where(
            resolved_scores.c.submission_id.in_([r["id"] for r in latest.values()]))).all()
    by_sa: dict[int, dict[str, int]] = {}
    for a in answers:
        by_sa.setdefault(a.self_assessment_id, {})[a.statement_id] = a.level
    instruments = {version: parse_self_assessment(source, f"<stored self-assessment {version}>")
                   for version, source in {r["instrument_version"]: r["instrument_source"] for r in sas}.items()}
    mine: dict[str, dict[str, float]] = {}
    for r in sas:
        instrument = instruments[r["instrument_version"]]
        low, high = instrument.levels[0], instrument.levels[-1]
        levels = by_sa.get(r["id"], {})
        mine[r["external_id"]] = {
            d.name: float(np.mean([(levels[s.id] - low) / (high - low) for s in d.statements]))
            for d in instrument.domains if all(levels.get(s.id) is not None for s in d.statements)}
    by_sub: dict[int, dict[str, float]] = {}
    for r in resolved:
        by_sub.setdefault(r.submission_id, {})[r.criterion_id] = r.level
    rubrics = {version: rubric_for(store, version) for version in {sub["rubric_version"] for sub in latest.values()}}
    theirs: dict[str, dict[str, float]] = {}
    for ext, sub in latest.items():
        rubric = rubrics[sub["rubric_version"]]
        levels = by_sub.get(sub["id"], {})
        out = {}
        for domain, criteria in rubric.by_domain().items():
            pairs = [(c.weight, (levels[c.id] - c.scores[0]) / (c.max_score - c.scores[0]))
                     for c in criteria if c.id in levels]
            if pairs:
                out[domain] = sum(w * v for w, v in pairs) / sum(w for w, _ in pairs)
        theirs[ext] = out
    return (pd.DataFrame.from_dict(mine, orient="index").astype(float),
            pd.DataFrame.from_dict(theirs, orient="index").astype(float))


def self_assessment_comparison(store, program_id: str, tolerance: float = DEFAULT_TOLERANCE,
                               level: float = 0.95) -> SelfAssessmentComparison:
    """Every submitted self-assessment of ``program_id`` against the SME evaluation of the candidate's work product:
    :func:`compare_domains`, :func:`domain_bias` and :func:`self_assessment_prediction` on the store's data (for
    the agreement report's self-assessment section)."""
    mine, theirs = self_and_evaluated(store, program_id)
    if mine.empty or theirs.empty:
        comparison = compare_domains(pd.DataFrame(), pd.DataFrame(), (0, 1), (0, 1), tolerance)
    else:
        comparison = compare_domains(mine, theirs, (0, 1), (0, 1), tolerance)
    return SelfAssessmentComparison(program_id, comparison, domain_bias(comparison, level),
                                    self_assessment_prediction(comparison, level),
                                    comparison["candidate"].nunique(), tolerance, level)
