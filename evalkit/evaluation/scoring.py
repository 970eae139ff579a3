"""Totals, weights, pass rules, and resolving several raters into one result. Pure functions over a rubric.

``levels`` everywhere is a mapping ``criterion id -> level score`` (a resolved level may be fractional: the mean
of two raters who agree within tolerance).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from statistics import mean
from typing import Mapping

from ..instruments.rubric import Rubric
from ..messages import show

__all__ = ["ScoringError", "Outcome", "Comparison", "validate_levels", "total_percent", "domain_percents",
           "outcome", "missing_for_final", "compare_raters", "resolve_levels"]


class ScoringError(ValueError):
    """A level that is not on the rubric's scale, or a criterion the rubric does not have."""


def validate_levels(rubric: Rubric, levels: Mapping[str, object], partial: bool = True) -> dict[str, int | None]:
    """Check every criterion id and level against the rubric; returns the levels as ints (None = not chosen).

    Examples
    --------
    >>> from evalkit.instruments.rubric import load_rubric
    >>> from evalkit.instruments.programs import load_programs
    >>> r = load_rubric(load_programs()["CCOM"].rubric_path)
    >>> validate_levels(r, {r.criteria[0].id: 9})
    Traceback (most recent call last):
    ...
    evalkit.evaluation.scoring.ScoringError: criterion PM1: level 9 is not on the scale [1, 2, 3, 4]
    """
    out: dict[str, int | None] = {}
    for cid, level in levels.items():
        try:
            criterion = rubric.criterion(cid)
        except KeyError:
            raise ScoringError(f"rubric {rubric.id}: no criterion {show(cid)}; expected one of "
                               f"{list(rubric.criterion_ids)}") from None
        if level is None:
            out[cid] = None
            continue
        # numbers.Real admits numpy's integers (levels read from a DataFrame); is_integer() refuses NaN and inf.
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not float(level).is_integer() \
                or int(level) not in criterion.scores:
            raise ScoringError(f"criterion {cid}: level {show(level)} is not on the scale {list(criterion.scores)}")
        out[cid] = int(level)
    if not partial:
        missing = [c for c in rubric.criterion_ids if out.get(c) is None]
        if missing:
            raise ScoringError(f"no level for {', '.join(missing)}")
    return out


def _weighted(rubric: Rubric, levels: Mapping[str, float], criteria) -> float:
    criteria = list(criteria)
    maximum = sum(c.weight * c.max_score for c in criteria)
    got = sum(c.weight * float(levels.get(c.id) or 0) for c in criteria)
    return 100.0 * got / maximum if maximum else 0.0


def total_percent(rubric: Rubric, levels: Mapping[str, float]) -> float:
    """Weighted total as a percentage of the weighted maximum; unscored criteria count as 0.

    Examples
    --------
    >>> from evalkit.instruments.rubric import load_rubric
    >>> from evalkit.instruments.programs import load_programs
    >>> r = load_rubric(load_programs()["CCOM"].rubric_path)
    >>> total_percent(r, {c.id: c.max_score for c in r.criteria})
    100.0
    """
    return _weighted(rubric, levels, rubric.criteria)


def domain_percents(rubric: Rubric, levels: Mapping[str, float]) -> dict[str, float]:
    """Weighted percentage per competency domain, in the rubric's domain order."""
    return {d: _weighted(rubric, levels, cs) for d, cs in rubric.by_domain().items()}


@dataclass(frozen=True)
class Outcome:
    passed: bool
    total: float
    pass_mark: float
    failed_must_meet: tuple[str, ...]  # criteria the pass rule requires that are below the standard
    below_standard: tuple[str, ...]  # every criterion below the standard: the areas of deficiency

    @property
    def result(self) -> str:
        return "pass" if self.passed else "deficient"


def outcome(rubric: Rubric, levels: Mapping[str, float]) -> Outcome:
    """Apply the pass rule: total at or above the pass mark and every must-meet criterion meeting the standard."""
    total = total_percent(rubric, levels)
    below = tuple(c.id for c in rubric.criteria if float(levels.get(c.id) or 0) < c.meets_standard)
    failed = tuple(c for c in rubric.pass_rule.must_meet if c in below)
    # Round to avoid 74.99999 from float weights failing a 75% mark.
    passed = round(total, 6) >= rubric.pass_rule.pass_mark and not failed
    return Outcome(passed, total, rubric.pass_rule.pass_mark, failed, below)


def missing_for_final(rubric: Rubric, levels: Mapping[str, int | None], feedback: Mapping[str, str]) -> list[str]:
    """What stops a final submission: criteria with no level, and deficient criteria with no feedback."""
    problems = []
    for c in rubric.criteria:
        level = levels.get(c.id)
        if level is None:
            problems.append(f"{c.id}: no level chosen")
        elif level < c.meets_standard and not (feedback.get(c.id) or "").strip():
            problems.append(f"{c.id}: level {level} is below the standard; feedback is required")
    return problems


@dataclass(frozen=True)
class Comparison:
    disagreements: tuple[tuple[str, tuple[int, ...]], ...]  # (criterion, the raters' levels) beyond tolerance
    decision_split: bool  # the raters' own outcomes differ (pass vs deficient)
    needs_adjudication: bool


def compare_raters(rubric: Rubric, levels_by_rater: Mapping[str, Mapping[str, int]]) -> Comparison:
    """Compare final scores: a criterion whose levels spread beyond ``tolerance.levels``, (when the rubric says
    so) raters reaching different outcomes, or a mean of their levels reaching an outcome none of them reached,
    sends the submission to adjudication."""
    if len(levels_by_rater) < 2:
        raise ScoringError(f"comparison needs at least two raters' final scores, got {len(levels_by_rater)}")
    disagreements = []
    for c in rubric.criteria:
        given = tuple(int(lv[c.id]) for lv in levels_by_rater.values())
        if max(given) - min(given) > rubric.tolerance.levels:
            disagreements.append((c.id, given))
    results = {outcome(rubric, lv).passed for lv in levels_by_rater.values()}
    split = len(results) > 1
    # Raters who agree on the outcome for different reasons (one short on the total, one on a must-meet
    # criterion) can, with a tolerance above one level, resolve to the other outcome: no rater's decision.
    overturned = not split and outcome(rubric, resolve_levels(rubric, levels_by_rater)).passed not in results
    return Comparison(tuple(disagreements), split,
                      bool(disagreements) or (split and rubric.tolerance.decision) or overturned)


def resolve_levels(rubric: Rubric, levels_by_rater: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """The resolved level of raters within tolerance: the mean of their levels per criterion."""
    return {c.id: float(mean(int(lv[c.id]) for lv in levels_by_rater.values())) for c in rubric.criteria}
