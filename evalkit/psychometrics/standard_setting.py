"""Standard setting by the modified-Angoff method: the recommended cut score and its standard error (pure functions).

In a modified-Angoff workshop each panellist pictures a *minimally competent candidate* (MCC: one who just
deserves to pass) and rates, for every criterion of the rubric, the level that candidate would be expected to
reach (a level on the criterion's scale; fractions such as 2.5 are allowed: "between Developing and Meets").
Ratings are usually gathered over several rounds, with the panel shown between rounds how the others rated and
the *impact data*: the share of past candidates who would pass at the panel's cut so far.

:func:`angoff_cut` turns one round's ratings into the recommended cut score, :func:`round_summary` summarises
every round, :func:`impact` and :func:`impact_table` give the impact data from decided totals, and
:func:`compare_with_pass_mark` sets the result beside the program's pass mark. The storage of a workshop
(panellists, rounds, ratings) and the adoption of a new pass mark are :mod:`evalkit.psychometrics.workshops`.

Conventions
-----------
Cut score scale
    The rubric's total %: a panellist's cut is :func:`evalkit.evaluation.scoring.total_percent` of their expected
    levels (weighted by the criteria's weights, as a percentage of the weighted maximum), so it is on the scale
    of the pass mark it is compared with. The recommended cut is the mean of the panellists' cuts (which equals
    the total % of the mean expected level on each criterion).
Standard error
    ``se`` is the standard error of the panel mean: the SD of the panellists' cuts (n-1) over sqrt(number of
    panellists), with a t interval on n-1 df. This treats the panellists as a random sample of qualified judges
    and the rubric's criteria as fixed. The generalizability-theory SEs (Brennan & Lockwood 1980; Brennan 2001)
    come from a panellists x criteria G study of the ratings as a percentage of each criterion's maximum; the cut
    is the weighted mean of those percentages with weights ``v_i = w_i max_i / sum(w max)``, so a criterion
    effect enters with ``sum(v_i^2)`` (``1/n_i`` when the weights are equal): with criteria fixed,
    ``sqrt(s2(p)/n_p + sum(v^2) s2(pi)/n_p)`` (close to ``se``: the same error, from pooled components); with
    criteria random too (another set of criteria of the same domain), ``+ sum(v^2) s2(i)``.
Pass rule for impact
    A past candidate passes at a cut when their resolved total % (rounded to 6 places, as the workflow rounds)
    is at least the cut and, where given, they met every must-meet criterion (the rubric's pass rule keeps that
    requirement whatever the cut).

References
----------
Angoff, W. H. (1971). Scales, norms, and equivalent scores. In R. L. Thorndike (Ed.), *Educational Measurement*
(2nd ed., pp. 508-600). American Council on Education.
Brennan, R. L., & Lockwood, R. E. (1980). A comparison of the Nedelsky and Angoff cutting score procedures using
generalizability theory. *Applied Psychological Measurement*, 4(2), 219-240.
Brennan, R. L. (2001). *Generalizability Theory*. Springer.
Cizek, G. J., & Bunch, M. B. (2007). *Standard Setting*. Sage.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .. import __version__
from ..evaluation import scoring
from ..instruments.rubric import Rubric
from ..messages import show
from .gtheory import GTheoryError, g_study

__all__ = ["StandardSettingError", "AngoffResult", "Impact", "PassMarkComparison", "METHOD", "angoff_cut",
           "round_summary", "impact", "impact_table", "compare_with_pass_mark"]

METHOD_VERSION = f"evalkit {__version__}"
METHOD = "modified Angoff"
_LONG = ("panellist", "criterion", "level")


class StandardSettingError(ValueError):
    """Invalid input for standard setting (one-line message saying what was expected)."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AngoffResult:
    """The recommended cut score of one round of modified-Angoff ratings.

    Attributes
    ----------
    cut : float
        Recommended cut score, total % (mean of the panellists' cuts).
    se : float
        Standard error of the panel mean (SD of the panellists' cuts / sqrt(n)); ``nan`` with one panellist.
    ci_low, ci_high : float
        t interval at ``confidence`` (n-1 df).
    sd : float
        SD (n-1) of the panellists' cuts.
    n_panellists, n_criteria : int
    panellist_cuts : Series
        Each panellist's cut (total %), indexed by panellist.
    criteria : DataFrame
        Per criterion (rubric order): ``weight``, ``mean_level`` (the panel's expected level of the MCC),
        ``sd_level``, ``min_level``, ``max_level``, ``share`` (its weighted contribution to the cut, total %).
    se_g_fixed, se_g_random : float
        Generalizability-theory SEs (criteria fixed; criteria random); ``nan`` when the G study cannot be made.
    components : DataFrame or None
        The G study's variance components (``effect``, ``estimate``, ``variance``, ``percent``).
    confidence : float
    conventions : str
    note : str
    version : str
    """

    cut: float
    se: float
    ci_low: float
    ci_high: float
    sd: float
    n_panellists: int
    n_criteria: int
    panellist_cuts: pd.Series
    criteria: pd.DataFrame
    se_g_fixed: float = math.nan
    se_g_random: float = math.nan
    components: pd.DataFrame | None = None
    confidence: float = 0.95
    conventions: str = ""
    note: str = ""
    version: str = METHOD_VERSION

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> from evalkit.instruments.programs import load_programs
        >>> from evalkit.instruments.rubric import load_rubric
        >>> rubric = load_rubric(load_programs()["CCOM"].rubric_path)
        >>> ratings = pd.DataFrame([[3] * 10, [3] * 9 + [2], [2.5] * 10], index=["ana", "bo", "cy"],
        ...                        columns=rubric.criterion_ids)
        >>> angoff_cut(ratings, rubric).describe()
        'modified Angoff cut 70.4% (SE 4.0, 95% CI 53.3-87.6), 3 panellists x 10 criteria; panellists 62.5-75.0%'
        """
        if self.n_panellists < 2:
            se = "no SE (one panellist)"
        else:
            se = (f"SE {self.se:.1f}, {self.confidence:.0%} CI {self.ci_low:.1f}-{self.ci_high:.1f}")
        spread = self.panellist_cuts
        return (f"{METHOD} cut {self.cut:.1f}% ({se}), {self.n_panellists} panellist"
                f"{'s' if self.n_panellists != 1 else ''} x {self.n_criteria} criteria; panellists "
                f"{spread.min():.1f}-{spread.max():.1f}%")

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-friendly; tables as records)."""
        out: dict[str, Any] = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            if isinstance(v, pd.Series):
                v = {str(i): float(x) for i, x in v.items()}
            elif isinstance(v, pd.DataFrame):
                v = v.reset_index().to_dict(orient="records")
            out[k] = v
        return out


@dataclass(frozen=True)
class Impact:
    """How many past candidates would pass at a cut.

    Attributes
    ----------
    cut : float
    n_candidates : int
    n_pass : int
    pass_rate : float
        ``n_pass / n_candidates`` (``nan`` without candidates).
    ci_low, ci_high : float
        95% Wilson interval of the pass rate.
    must_meet : bool
        Whether the must-meet criteria were applied.
    """

    cut: float
    n_candidates: int
    n_pass: int
    pass_rate: float
    ci_low: float
    ci_high: float
    must_meet: bool

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> impact([60, 70, 75, 80, 90], 75).describe()
        'at a cut of 75.0%: 3 of 5 past candidates pass (60%)'
        """
        if not self.n_candidates:
            return f"at a cut of {self.cut:.1f}%: no decided candidate to show"
        rule = "; must-meet criteria applied" if self.must_meet else ""
        return (f"at a cut of {self.cut:.1f}%: {self.n_pass} of {self.n_candidates} past candidates pass "
                f"({self.pass_rate:.0%}){rule}")


@dataclass(frozen=True)
class PassMarkComparison:
    """The recommended cut beside the program's pass mark.

    Attributes
    ----------
    cut, se, ci_low, ci_high : float
        The recommended cut with its SE and interval (:class:`AngoffResult`).
    pass_mark : float
        The pass mark in force (total %).
    difference : float
        ``pass_mark - cut`` (positive: the pass mark is stricter than the panel's cut).
    z : float
        ``difference / se`` (``nan`` without an SE).
    within_ci : bool
        The pass mark lies inside the cut's confidence interval.
    at_cut, at_pass_mark : Impact or None
        The impact data at each, when totals were given.
    """

    cut: float
    se: float
    ci_low: float
    ci_high: float
    pass_mark: float
    difference: float
    z: float
    within_ci: bool
    at_cut: Impact | None = None
    at_pass_mark: Impact | None = None

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> r = compare_with_pass_mark(72.0, 75.0, se=1.5, ci=(68.8, 75.2))
        >>> r.describe()
        'recommended cut 72.0% (SE 1.5, CI 68.8-75.2) vs pass mark 75.0%: the pass mark is 3.0 points stricter (2.0 SE), inside the CI'
        """
        if abs(self.difference) < 0.05:
            how = "the same"
        else:
            word = "stricter" if self.difference > 0 else "more lenient"
            how = f"the pass mark is {abs(self.difference):.1f} points {word}"
            if math.isfinite(self.z):
                how += f" ({abs(self.z):.1f} SE)"
        se = f"SE {self.se:.1f}, CI {self.ci_low:.1f}-{self.ci_high:.1f}" if math.isfinite(self.se) else "no SE"
        inside = ", inside the CI" if self.within_ci else (", outside the CI" if math.isfinite(self.se) else "")
        out = f"recommended cut {self.cut:.1f}% ({se}) vs pass mark {self.pass_mark:.1f}%: {how}{inside}"
        if self.at_cut is not None and self.at_pass_mark is not None and self.at_cut.n_candidates:
            out += (f"; past candidates passing: {self.at_cut.pass_rate:.0%} at the cut, "
                    f"{self.at_pass_mark.pass_rate:.0%} at the pass mark (of {self.at_cut.n_candidates})")
        return out


# --------------------------------------------------------------------------- input checks


def _check_rubric(rubric: Any) -> Rubric:
    if not isinstance(rubric, Rubric):
        raise StandardSettingError(f"rubric must be an evalkit Rubric (load_rubric or workflow.rubric_for); got "
                                   f"{type(rubric).__name__}")
    return rubric


def _number(v: Any, what: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise StandardSettingError(f"{what} must be a finite number; got {show(v)}")
    return float(v)


def _confidence(v: Any) -> float:
    c = _number(v, "confidence")
    if not 0 < c < 1:
        raise StandardSettingError(f"confidence must be between 0 and 1 (e.g. 0.95); got {v!r}")
    return c


def _wide(ratings: Any, rubric: Rubric) -> pd.DataFrame:
    """Ratings as panellists (rows) x the rubric's criteria (columns, rubric order), checked."""
    if not isinstance(ratings, pd.DataFrame):
        raise StandardSettingError("ratings must be a DataFrame of panellists (rows) x criteria (columns), or long "
                                   f"with columns panellist, criterion, level; got {type(ratings).__name__}")
    if set(_LONG) <= set(ratings.columns):
        keys = ratings[["panellist", "criterion"]]
        dup = keys.duplicated()
        if dup.any():
            p, c = keys[dup].iloc[0]
            raise StandardSettingError(f"panellist {show(p)} rates criterion {show(c)} more than once in one round; "
                                       "expected one rating per panellist and criterion")
        wide = ratings.pivot(index="panellist", columns="criterion", values="level")
    else:
        wide = ratings
    if wide.empty or len(wide.index) == 0:
        raise StandardSettingError("ratings has no panellist; expected at least one row of expected levels")
    known = set(rubric.criterion_ids)
    unknown = [c for c in wide.columns if c not in known]
    if unknown:
        raise StandardSettingError(f"ratings has criterion {show(unknown[0])}, which rubric {rubric.id} does not "
                                   f"have; expected {list(rubric.criterion_ids)}")
    missing = [c for c in rubric.criterion_ids if c not in wide.columns]
    if missing:
        raise StandardSettingError(f"ratings has no column for criterion {missing[0]}; every panellist rates every "
                                   f"criterion of rubric {rubric.id}")
    wide = wide[list(rubric.criterion_ids)]
    if wide.index.has_duplicates:
        raise StandardSettingError(f"panellist {show(wide.index[wide.index.duplicated()][0])} appears twice; "
                                   "expected one row per panellist")
    values = wide.apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & wide.notna()
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise StandardSettingError(f"panellist {show(wide.index[r])}, criterion {wide.columns[c]}: expected level "
                                   f"{show(wide.iat[r, c])} is not a number")
    if values.isna().to_numpy().any():
        r, c = np.argwhere(values.isna().to_numpy())[0]
        raise StandardSettingError(f"panellist {show(wide.index[r])} has no rating for criterion {wide.columns[c]}; "
                                   "every panellist rates every criterion")
    x = values.to_numpy(dtype=float)
    lo = np.array([c.scores[0] for c in rubric.criteria], dtype=float)
    hi = np.array([c.scores[-1] for c in rubric.criteria], dtype=float)
    off = (x < lo) | (x > hi) | ~np.isfinite(x)
    if off.any():
        r, c = np.argwhere(off)[0]
        raise StandardSettingError(f"panellist {show(wide.index[r])}, criterion {wide.columns[c]}: expected level "
                                   f"{x[r, c]:g} is off the scale {lo[c]:g}-{hi[c]:g}")
    values.index.name = "panellist"
    values.columns.name = "criterion"
    return values.astype(float)


def _totals(totals: Any, what: str = "totals") -> np.ndarray:
    if isinstance(totals, (str, bytes)) or totals is None:
        raise StandardSettingError(f"{what} must be a 1-D array of total % (one per decided candidate); got "
                                   f"{show(totals)}")
    try:
        x = np.asarray(totals, dtype=float)
    except (TypeError, ValueError):
        raise StandardSettingError(f"{what} must be numbers (total %, one per decided candidate); got "
                                   f"{show(totals)}") from None
    if x.ndim != 1:
        raise StandardSettingError(f"{what} must be 1-D (one total % per candidate); got shape {x.shape}")
    if not np.isfinite(x).all():
        raise StandardSettingError(f"{what} must be finite numbers; found {x[~np.isfinite(x)][0]!r}")
    return x


def _mask(must_meet_ok: Any, n: int) -> np.ndarray | None:
    if must_meet_ok is None:
        return None
    m = np.asarray(must_meet_ok)
    if m.shape != (n,) or m.dtype != bool:
        raise StandardSettingError(f"must_meet_ok must be a 1-D boolean array with one value per total ({n}); got "
                                   f"dtype {m.dtype}, shape {m.shape}")
    return m


# --------------------------------------------------------------------------- the cut


def angoff_cut(ratings: pd.DataFrame, rubric: Rubric, *, gtheory: bool = True,
               confidence: float = 0.95) -> AngoffResult:
    """The modified-Angoff cut score of one round: each panellist's expected levels of a minimally competent
    candidate, weighted as the rubric weights a total.

    Parameters
    ----------
    ratings : DataFrame
        Panellists (rows, the index names them) x criteria (columns: the rubric's criterion ids), each cell the
        level a minimally competent candidate would be expected to reach (fractions allowed, within the
        criterion's scale); or long, with columns ``panellist``, ``criterion``, ``level``.
    rubric : Rubric
        The instrument the panel rated (weights and scales).
    gtheory : bool, default True
        Also estimate the panellists x criteria G study and its SEs (needs 2 panellists and varying ratings).
    confidence : float, default 0.95

    Returns
    -------
    AngoffResult

    Raises
    ------
    StandardSettingError
        Not a DataFrame, a criterion the rubric does not have or a missing one, a panellist twice, a rating that
        is not a number or off the criterion's scale.

    Examples
    --------
    >>> from evalkit.instruments.programs import load_programs
    >>> from evalkit.instruments.rubric import load_rubric
    >>> rubric = load_rubric(load_programs()["CCOM"].rubric_path)
    >>> ratings = pd.DataFrame([[3, 3, 3, 3, 3, 3, 3, 3, 3, 3], [3, 3, 3, 3, 3, 3, 3, 3, 3, 2],
    ...                         [2.5, 3, 3, 3, 2.5, 3, 3, 2.5, 3, 2]], index=["ana", "bo", "cy"],
    ...                        columns=rubric.criterion_ids)
    >>> res = angoff_cut(ratings, rubric)
    >>> res.panellist_cuts.round(2).tolist()   # OM1 and OM2 weigh 3, LB3 1, the others 2
    [75.0, 73.81, 70.24]
    >>> round(res.cut, 2), round(res.se, 2)
    (73.02, 1.43)
    >>> from evalkit.evaluation.scoring import total_percent   # the cut is the total % of the mean levels
    >>> round(total_percent(rubric, res.criteria["mean_level"].to_dict()), 2)
    73.02
    >>> round(res.se_g_fixed, 2), round(res.se_g_random, 2)
    (1.83, 2.28)
    """
    rubric = _check_rubric(rubric)
    conf = _confidence(confidence)
    x = _wide(ratings, rubric)
    n_p, n_i = x.shape
    cuts = pd.Series([scoring.total_percent(rubric, row) for row in x.to_dict(orient="records")], index=x.index,
                     name="cut", dtype=float)
    cut = float(cuts.mean())
    sd = float(cuts.std(ddof=1)) if n_p > 1 else math.nan
    se = sd / math.sqrt(n_p) if n_p > 1 else math.nan
    if n_p > 1 and se > 0:
        half = float(stats.t.ppf(0.5 + conf / 2, n_p - 1)) * se
        lo, hi = cut - half, cut + half
    elif n_p > 1:
        lo = hi = cut
    else:
        lo = hi = math.nan
    weights = np.array([c.weight for c in rubric.criteria])
    wmax = float(sum(c.weight * c.max_score for c in rubric.criteria))
    crit = pd.DataFrame({"weight": weights, "mean_level": x.mean().to_numpy(),
                         "sd_level": x.std(ddof=1).to_numpy() if n_p > 1 else np.full(n_i, np.nan),
                         "min_level": x.min().to_numpy(), "max_level": x.max().to_numpy()},
                        index=pd.Index(list(rubric.criterion_ids), name="criterion"))
    crit["share"] = 100.0 * crit["weight"] * crit["mean_level"] / wmax
    note = ""
    se_fixed = se_random = math.nan
    components = None
    if gtheory:
        if n_p < 2:
            note = "no G study: one panellist"
        else:
            maxes = np.array([c.max_score for c in rubric.criteria], dtype=float)
            share = weights * maxes / wmax  # the cut is sum(share_i * percent_i) over criteria
            percent = 100.0 * x.to_numpy() / maxes
            long = pd.DataFrame({"p": np.repeat(np.arange(n_p), n_i), "i": np.tile(np.arange(n_i), n_p),
                                 "score": percent.ravel()})
            try:
                g = g_study(long, "p x i", object="p")
            except GTheoryError as exc:
                note = f"no G study: {exc}"
            else:
                var = dict(zip(g.components["effect"], g.components["variance"]))
                s2 = float((share ** 2).sum())  # 1 / n_i with equal weights
                fixed = var["p"] / n_p + s2 * var["pi"] / n_p
                se_fixed = math.sqrt(fixed)
                se_random = math.sqrt(fixed + s2 * var["i"])
                components = g.components[["effect", "estimate", "variance", "percent"]].assign(
                    effect=lambda d: d["effect"].map({"p": "panellist", "i": "criterion",
                                                      "pi": "panellist x criterion"}))
    conventions = (f"cut = mean of the panellists' cuts, each the rubric's weighted total % of their expected "
                   f"levels of a minimally competent candidate; SE = SD of the panellists' cuts / sqrt({n_p}), "
                   f"{conf:.0%} t interval on {max(n_p - 1, 0)} df (panellists random, criteria fixed); G-study SEs "
                   "from a panellists x criteria G study of the ratings as % of each criterion's maximum, criteria "
                   "weighted as in the total (Brennan & Lockwood 1980)")
    return AngoffResult(cut=cut, se=se, ci_low=lo, ci_high=hi, sd=sd, n_panellists=n_p, n_criteria=n_i,
                        panellist_cuts=cuts, criteria=crit, se_g_fixed=se_fixed, se_g_random=se_random,
                        components=components, confidence=conf, conventions=conventions, note=note)


def round_summary(ratings: pd.DataFrame, rubric: Rubric, *, confidence: float = 0.95) -> pd.DataFrame:
    """The cut of every round of a workshop, and how it moved between rounds.

    Parameters
    ----------
    ratings : DataFrame
        Long: ``round``, ``panellist``, ``criterion``, ``level`` (every panellist rates every criterion in
        each round they take part in).
    rubric : Rubric
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        One row per round (in order): ``round``, ``n_panellists``, ``cut``, ``se``, ``ci_low``, ``ci_high``,
        ``sd``, ``min_cut``, ``max_cut``, ``change`` (cut minus the previous round's; NaN for the first).
        Panellists' agreement usually grows between rounds: ``sd`` falls.

    Examples
    --------
    >>> from evalkit.instruments.programs import load_programs
    >>> from evalkit.instruments.rubric import load_rubric
    >>> rubric = load_rubric(load_programs()["CCOM"].rubric_path)
    >>> rows = [(1, p, c, lv) for p, lv in (("ana", 3), ("bo", 2), ("cy", 3.5)) for c in rubric.criterion_ids]
    >>> rows += [(2, p, c, lv) for p, lv in (("ana", 3), ("bo", 2.5), ("cy", 3)) for c in rubric.criterion_ids]
    >>> long = pd.DataFrame(rows, columns=["round", "panellist", "criterion", "level"])
    >>> round_summary(long, rubric)[["round", "n_panellists", "cut", "sd", "change"]].round(2)
       round  n_panellists    cut     sd  change
    0      1             3  70.83  19.09     NaN
    1      2             3  70.83   7.22     0.0
    """
    if not isinstance(ratings, pd.DataFrame) or not {"round", *_LONG} <= set(ratings.columns):
        raise StandardSettingError("ratings must be a long DataFrame with columns round, panellist, criterion, "
                                   f"level; got {type(ratings).__name__}"
                                   + (f" with columns {list(map(str, ratings.columns))}"
                                      if isinstance(ratings, pd.DataFrame) else ""))
    rows = []
    previous = math.nan
    for number, group in ratings.groupby("round", sort=True):
        res = angoff_cut(group[list(_LONG)], rubric, gtheory=False, confidence=confidence)
        rows.append({"round": number, "n_panellists": res.n_panellists, "cut": res.cut, "se": res.se,
                     "ci_low": res.ci_low, "ci_high": res.ci_high, "sd": res.sd,
                     "min_cut": float(res.panellist_cuts.min()), "max_cut": float(res.panellist_cuts.max()),
                     "change": res.cut - previous})
        previous = res.cut
    return pd.DataFrame(rows, columns=["round", "n_panellists", "cut", "se", "ci_low", "ci_high", "sd", "min_cut",
                                       "max_cut", "change"])


# --------------------------------------------------------------------------- impact data


def _passing(x: np.ndarray, cut: float, ok: np.ndarray | None) -> np.ndarray:
    passed = np.round(x, 6) >= cut
    return passed if ok is None else passed & ok


def _wilson(k: int, n: int) -> tuple[float, float]:
    if not n:
        return math.nan, math.nan
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def impact(totals: Any, cut: float, *, must_meet_ok: Any = None) -> Impact:
    """The impact of a cut: how many past candidates (their decided totals) would pass at it.

    Parameters
    ----------
    totals : 1-D array-like
        Resolved total % of each decided candidate.
    cut : float
        Cut score, total %.
    must_meet_ok : 1-D boolean array, optional
        Whether each candidate met every must-meet criterion (those who did not fail whatever the cut).

    Returns
    -------
    Impact

    Examples
    --------
    >>> r = impact([60, 70, 75, 80, 90], 72.5, must_meet_ok=np.array([True, True, True, False, True]))
    >>> r.n_pass, r.pass_rate
    (2, 0.4)
    """
    x = _totals(totals)
    c = _number(cut, "cut")
    ok = _mask(must_meet_ok, len(x))
    k = int(_passing(x, c, ok).sum())
    n = len(x)
    lo, hi = _wilson(k, n)
    return Impact(cut=c, n_candidates=n, n_pass=k, pass_rate=k / n if n else math.nan, ci_low=lo, ci_high=hi,
                  must_meet=ok is not None)


def impact_table(totals: Any, cuts: Any = None, *, must_meet_ok: Any = None) -> pd.DataFrame:
    """The share of past candidates passing at each of a range of cuts (the panel's impact chart).

    Parameters
    ----------
    totals : 1-D array-like
        Resolved total % of each decided candidate.
    cuts : 1-D array-like, optional
        Default: every half point from 0 to 100.
    must_meet_ok : 1-D boolean array, optional
        As :func:`impact`.

    Returns
    -------
    DataFrame
        ``cut``, ``n_pass``, ``pass_rate`` (one row per cut); ``attrs["n_candidates"]``.

    Examples
    --------
    >>> impact_table([60, 70, 75, 80, 90], [70, 75, 80])
        cut  n_pass  pass_rate
    0  70.0       4        0.8
    1  75.0       3        0.6
    2  80.0       2        0.4
    """
    x = _totals(totals)
    ok = _mask(must_meet_ok, len(x))
    grid = np.arange(0, 100.5, 0.5) if cuts is None else _totals(cuts, "cuts")
    eligible = np.sort(np.round(x if ok is None else x[ok], 6))
    n_pass = len(eligible) - np.searchsorted(eligible, grid, side="left")
    out = pd.DataFrame({"cut": grid, "n_pass": n_pass.astype(int),
                        "pass_rate": n_pass / len(x) if len(x) else np.full(len(grid), np.nan)})
    out.attrs["n_candidates"] = len(x)
    return out


# --------------------------------------------------------------------------- beside the pass mark


def compare_with_pass_mark(result: AngoffResult | float, pass_mark: float, *, se: float | None = None,
                           ci: tuple[float, float] | None = None, totals: Any = None,
                           must_meet_ok: Any = None) -> PassMarkComparison:
    """Set the recommended cut beside the program's pass mark (and, with totals, the pass rates at each).

    Parameters
    ----------
    result : AngoffResult or float
        The workshop's result, or a cut (total %) with ``se`` and ``ci`` given.
    pass_mark : float
        The pass mark in force (total %).
    se : float, optional
    ci : (float, float), optional
        Used when ``result`` is a number.
    totals, must_meet_ok : optional
        Decided candidates' totals (and must-meet flags) for the impact at the cut and at the pass mark.

    Returns
    -------
    PassMarkComparison

    Examples
    --------
    >>> r = compare_with_pass_mark(72.0, 75.0, se=1.5, ci=(68.8, 75.2), totals=[60, 70, 73, 76, 90])
    >>> round(r.difference, 1), round(r.z, 1), r.within_ci, r.at_cut.n_pass, r.at_pass_mark.n_pass
    (3.0, 2.0, True, 3, 2)
    """
    if isinstance(result, AngoffResult):
        cut, s, lo, hi = result.cut, result.se, result.ci_low, result.ci_high
    else:
        cut = _number(result, "cut")
        s = _number(se, "se") if se is not None else math.nan
        if ci is not None:
            try:
                lo, hi = (_number(v, "ci") for v in ci)
            except TypeError:
                raise StandardSettingError(f"ci must be (low, high); got {show(ci)}") from None
        else:
            lo = hi = math.nan
    mark = _number(pass_mark, "pass_mark")
    if not 0 < mark <= 100:
        raise StandardSettingError(f"pass_mark must be a percentage between 0 and 100; got {pass_mark!r}")
    diff = mark - cut
    z = diff / s if math.isfinite(s) and s > 0 else math.nan
    within = bool(math.isfinite(lo) and math.isfinite(hi) and lo <= mark <= hi)
    at_cut = at_mark = None
    if totals is not None:
        at_cut = impact(totals, cut, must_meet_ok=must_meet_ok)
        at_mark = impact(totals, mark, must_meet_ok=must_meet_ok)
    return PassMarkComparison(cut=cut, se=s, ci_low=lo, ci_high=hi, pass_mark=mark, difference=diff, z=z,
                              within_ci=within, at_cut=at_cut, at_pass_mark=at_mark)
