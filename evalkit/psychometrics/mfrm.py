"""Many-facet Rasch measurement (MFRM) by joint maximum likelihood, as FACETS estimates it (pure functions).

:func:`fit_mfrm` takes a **long** :class:`pandas.DataFrame` (one row per rating: the candidate,
the element of every other facet, e.g. rater and criterion, and the score) and returns measures
in logits with standard errors for every element of every facet, infit and outfit mean-squares,
separation and reliability per facet, rater x criterion bias terms with t statistics and fair
averages.

Model and conventions
---------------------
Model
    ``log(P_k / P_(k-1)) = B_n - sum_f C_f - F_k`` (``model="rating_scale"``: one set of
    Rasch-Andrich thresholds ``F_k`` shared by all observations; Andrich 1978) or ``- F_gk``
    (``model="partial_credit"``: each element ``g`` of the ``steps_by`` facet, by default the
    last facet, has its own thresholds; Masters 1982) (Linacre 1989).  Persons are oriented
    positively (higher = more able); every other facet negatively (higher = more severe rater,
    harder criterion).
Scale
    Scores must be whole numbers on ``scale = (lowest, highest)`` (default: the observed range).
    Categories are counted from the lowest.  An intermediate category that nobody uses cannot
    be estimated and raises an error; an unused category at either end is left out of that
    element's (or the scale's) range and noted.
Centring (identification)
    Every facet except persons is centred at mean 0 logits over its non-extreme elements, and
    each set of thresholds sums to 0; persons are not centred (FACETS' default:
    ``Noncenter = 1``).
Extreme scores
    An element whose raw score is the minimum or maximum possible (e.g. a candidate with full
    marks) has no finite JML estimate.  As FACETS and Winsteps do, such elements (and, in turn,
    any element left extreme without them) are dropped from the estimation of the others; their
    measures are then estimated with the others anchored, from a raw score moved 0.3 score
    points towards the centre (FACETS ``Xtreme = 0.3``), each from the ratings still in play
    when it was found extreme (last found, first measured).  They are flagged in ``status``,
    their standard errors come from those ratings, and they have no fit statistics and no part
    in separation and reliability.
Estimation
    Joint (unconditional) maximum likelihood: Newton-Raphson steps for every element and
    threshold at once, each step at most 1 logit, iterated until no estimate changes by more
    than ``tol`` logits (default 1e-5); ``converged``, ``iterations``, ``max_change`` and
    ``max_score_residual`` report how it ended.  Each Newton step is damped to 0.6 of its
    length and the iteration is accelerated by SQUAREM (Varadhan & Roland 2008); the estimates
    are the joint ML solution whatever the path.  JML estimates are statistically biased
    outwards, by a factor of roughly ``L / (L - 1)`` with ``L`` the observations per person
    (Wright & Douglas 1977) and somewhat more for the outer thresholds; like FACETS, no
    correction is applied.
Standard errors and fit
    Model standard errors ``1 / sqrt(sum of the model variances)``; infit = information-weighted
    mean-square, outfit = unweighted mean of the squared standardized residuals, with
    Wilson-Hilferty ZSTDs (Wright & Masters 1982).
Separation
    Per facet over non-extreme elements: observed SD (population), RMSE of the standard errors,
    true SD ``sqrt(SD^2 - RMSE^2)``, separation ``G = true SD / RMSE``, strata ``(4G + 1) / 3``,
    reliability ``G^2 / (1 + G^2)`` and the fixed (all-same) chi-square with ``L - 1`` df.
Bias (interaction)
    For each pair of elements of the two ``bias`` facets (default: the first two facets, e.g.
    rater x criterion), the logit ``b`` added to the model's ``B - sum C`` that makes the
    expected score of their observations equal the observed score, with all measures fixed
    (FACETS' bias analysis); positive ``b`` = scores higher than expected (the rater was more
    lenient on that criterion).  ``se = 1 / sqrt(sum of the variances)``, ``t = b / se`` with
    ``count - 1`` df.
Fair average
    The expected score of an element when every other facet is at its mean measure (persons:
    with an average rater and an average criterion; FACETS' "Fair-M average").  Under the
    partial-credit model the expected score is averaged over the ``steps_by`` elements'
    threshold sets.  In score units.
Connectedness
    Every pair of facets must link all their elements through shared observations; otherwise
    measures in different subsets are not comparable and :class:`MFRMError` names the elements
    cut off (e.g. a rater who shares no candidates with the others).

References
----------
Linacre, J. M. (1989). *Many-Facet Rasch Measurement*. MESA Press.
Andrich, D. (1978). A rating formulation for ordered response categories. *Psychometrika*, 43, 561-573.
Masters, G. N. (1982). A Rasch model for partial credit scoring. *Psychometrika*, 47, 149-174.
Wright, B. D., & Masters, G. N. (1982). *Rating Scale Analysis*. MESA Press.
Wright, B. D., & Douglas, G. A. (1977). Best procedures for sample-free item analysis.
*Applied Psychological Measurement*, 1, 281-295.
Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating the
convergence of any EM algorithm. *Scandinavian Journal of Statistics*, 35, 335-353.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components

from .. import __version__

__all__ = ["MFRMError", "MFRMResult", "fit_mfrm"]

METHOD_VERSION = f"evalkit {__version__}"
_MODELS = ("rating_scale", "partial_credit")
_MAX_STEP = 1.0  # logits per Newton step
#: Fraction of the Newton step taken: persons and the other facets answer the same residuals at once, so full
#: simultaneous steps overshoot and oscillate; 0.6 of the step (with SQUAREM on top) converges in ~35 iterations.
_DAMPING = 0.6


class MFRMError(ValueError):
    """Invalid input for a many-facet Rasch analysis (one-line message saying what was expected)."""


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class MFRMResult:
    """A fitted many-facet Rasch model.

    Attributes
    ----------
    model : str
        ``"rating_scale"`` or ``"partial_credit"``.
    person : str
        The person (candidate) facet's column.
    facets : tuple of str
        The other facets, in the order given.
    steps_by : str or None
        The facet whose elements have their own thresholds (partial credit), else ``None``.
    measures : DataFrame
        One row per element of every facet (persons first): ``facet``, ``element``,
        ``measure`` (logits), ``se``, ``infit``, ``outfit``, ``infit_zstd``, ``outfit_zstd``,
        ``count``, ``raw_score``, ``observed_average``, ``fair_average`` and ``status``
        (``""``, ``"extreme maximum"`` or ``"extreme minimum"``).
    thresholds : DataFrame
        ``group`` (``steps_by`` element, or ``"all"``), ``category`` (the score the step leads
        to), ``threshold`` (Rasch-Andrich, logits), ``se`` and ``count`` (observations in the category).
    facet_summary : DataFrame
        Per facet: ``n_elements``, ``n_extreme``, ``mean``, ``sd``, ``rmse``, ``true_sd``,
        ``separation``, ``strata``, ``reliability``, ``chi2``, ``df``, ``p``.
    bias : DataFrame
        Per pair of elements of the ``bias`` facets: ``count``, ``observed``, ``expected``
        (score sums), ``obs_exp_average``, ``bias`` (logits), ``se``, ``t``, ``df``, ``p``, ``extreme``.
    bias_facets : tuple of str
    converged : bool
    iterations : int
    max_change : float
        Largest change of any estimate in the last iteration (logits).
    max_score_residual : float
        Largest |observed - expected| raw score of any non-extreme element at the end.
    n_obs : int
        Ratings used.
    n_missing : int
        Rows dropped because the score was missing.
    scale : tuple of int
        ``(lowest, highest)`` score.
    conventions : str
    note : str
    version : str
    """

    model: str
    person: str
    facets: tuple[str, ...]
    steps_by: str | None
    measures: pd.DataFrame
    thresholds: pd.DataFrame
    facet_summary: pd.DataFrame
    bias: pd.DataFrame
    bias_facets: tuple[str, ...]
    converged: bool
    iterations: int
    max_change: float
    max_score_residual: float
    n_obs: int
    n_missing: int
    scale: tuple[int, int]
    conventions: str
    note: str = ""
    version: str = METHOD_VERSION

    def facet(self, name: str) -> pd.DataFrame:
        """The rows of :attr:`measures` for one facet, indexed by element."""
        if name not in (self.person, *self.facets):
            raise MFRMError(f"no facet {name!r}; expected one of {[self.person, *self.facets]}")
        return self.measures[self.measures["facet"] == name].set_index("element")

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> df = pd.DataFrame({"cand": [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3],
        ...                    "rater": ["A", "A", "B", "B"] * 3, "crit": ["x", "y"] * 6,
        ...                    "score": [2, 1, 1, 0, 2, 2, 1, 1, 1, 0, 0, 1]})
        >>> fit_mfrm(df, person="cand", facets=["rater", "crit"]).describe()
        'MFRM rating_scale, 12 ratings on 0-2: cand 3 elements (reliability 0.66), rater 2 (0.66), crit 2 (0.00); converged in ... iterations'
        """
        parts = []
        for row in self.facet_summary.itertuples():
            rel = "n/a" if not math.isfinite(row.reliability) else f"{row.reliability:.2f}"
            label = f"{row.facet} {row.n_elements} elements" if row.facet == self.person else f"{row.facet} {row.n_elements}"
            parts.append(f"{label} ({'reliability ' if row.facet == self.person else ''}{rel})")
        state = f"converged in {self.iterations} iterations" if self.converged else f"NOT converged after {self.iterations} iterations"
        return f"MFRM {self.model}, {self.n_obs} ratings on {self.scale[0]}-{self.scale[1]}: {', '.join(parts)}; {state}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-friendly; tables as lists of records)."""
        out: dict[str, Any] = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            if isinstance(v, pd.DataFrame):
                v = [{kk: _py(vv) for kk, vv in rec.items()} for rec in v.to_dict(orient="records")]
            elif isinstance(v, tuple):
                v = list(v)
            out[k] = v
        return out


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------------- input handling


def _labels(values: np.ndarray) -> list:
    return [_py(v) for v in values]


def _check_connected(codes: dict[str, np.ndarray], labels: dict[str, list], order: list[str], person: str) -> None:
    """Every pair of facets must link all their elements through shared observations."""
    for ai in range(len(order)):
        for bi in range(ai + 1, len(order)):
            fa, fb = order[ai], order[bi]
            la, lb = len(labels[fa]), len(labels[fb])
            flat = codes[fa] * lb + codes[fb]
            if la * lb <= 20_000_000:  # presence by counting: linear time
                pairs = np.flatnonzero(np.bincount(flat, minlength=la * lb))
            else:
                pairs = np.unique(flat)
            rows, cols = pairs // lb, la + pairs % lb
            graph = sparse.coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(la + lb, la + lb))
            n_comp, comp = connected_components(graph, directed=False)
            if n_comp <= 1:
                continue
            sizes = np.bincount(comp)
            main = int(np.argmax(sizes))
            cut_off = np.flatnonzero(comp != main)
            a_el = [labels[fa][i] for i in cut_off if i < la]
            b_el = [labels[fb][i - la] for i in cut_off if i >= la]
            # name the elements of the smaller side first (e.g. the rater cut off, then their candidates)
            first, first_el, second, second_el = (fb, b_el, fa, a_el) if fa == person else (fa, a_el, fb, b_el)
            if len(first_el) > len(second_el) and fb != person and fa != person:
                first, first_el, second, second_el = second, second_el, first, first_el

            def names(els: list) -> str:
                shown = ", ".join(repr(e) for e in els[:5])
                return shown + (f" and {len(els) - 5} more" if len(els) > 5 else "")

            raise MFRMError(
                f"the design is not connected ({n_comp} disjoint subsets of {fa} x {fb}): {first} {names(first_el)} "
                f"shares no {second} with the rest of the design (its {second}: {names(second_el)}); measures in different "
                "subsets are not comparable: link them with common ratings or analyse the subsets separately"
            )


# --------------------------------------------------------------------------- model pieces


class _Model:
    """Observation-level arrays and the category-probability machinery."""

    def __init__(self, x: np.ndarray, grp: np.ndarray, lo: np.ndarray, hi: np.ndarray, m: int):
        self.x = x
        self.grp = grp
        self.m = m
        self.k = np.arange(m + 1, dtype=float)
        G = len(lo)
        self.valid_cat = (self.k[None, :] >= lo[:, None]) & (self.k[None, :] <= hi[:, None])  # (G, m+1)
        self.valid_step = (self.k[None, :] > lo[:, None]) & (self.k[None, :] <= hi[:, None])  # step h valid: lo < h <= hi
        self.mask_add = np.where(self.valid_cat, 0.0, -np.inf)
        self.lo, self.hi, self.G = lo, hi, G

    def probs(self, eta: np.ndarray, tau: np.ndarray, grp: np.ndarray | None = None) -> np.ndarray:
        g = self.grp if grp is None else grp
        cum = np.cumsum(np.where(self.valid_step, tau, 0.0), axis=1)  # (G, m+1), cum[:, 0] = 0
        psi = eta[:, None] * self.k[None, :] - cum[g] + self.mask_add[g]
        psi -= psi.max(axis=1, keepdims=True)
        np.exp(psi, out=psi)
        psi /= psi.sum(axis=1, keepdims=True)
        return psi

    def moments(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        E = P @ self.k
        V = P @ (self.k * self.k) - E * E
        return E, np.maximum(V, 1e-12)

    def stats(
        self, eta: np.ndarray, tau: np.ndarray, grp: np.ndarray | None = None, tails: bool = False
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Expected score, variance and (optionally) P(X >= h), h = 1..m, without an N x (m+1) matrix.

        Category k's weight is ``exp(-cum_k) * exp((k - m/2) eta)``: one pass of vector operations per
        category (numpy is slow on reductions over a short trailing axis), with the exponent centred on
        m/2 so that it stays in range for |eta| up to 1400/m logits.
        """
        m = self.m
        cum = np.cumsum(np.where(self.valid_step, tau, 0.0), axis=1)
        W = np.where(self.valid_cat, np.exp(-(cum - cum.max(axis=1, keepdims=True))), 0.0)  # (G, m+1)
        g = self.grp if grp is None else grp
        single = W.shape[0] == 1
        lim = 1400.0 / max(m, 1)
        e = np.clip(eta, -lim, lim)
        z = np.exp(e)
        pw = np.exp(e * (-0.5 * m))
        D = np.zeros_like(e)
        S1 = np.zeros_like(e)
        S2 = np.zeros_like(e)
        tmp = np.empty_like(e)
        terms = []
        for k in range(m + 1):
            t = pw * W[0, k] if single else pw * W[g, k]
            terms.append(t)
            D += t
            if k:
                np.multiply(t, float(k), out=tmp)
                S1 += tmp
                tmp *= k
                S2 += tmp
            if k < m:
                pw = pw * z
        inv = np.divide(1.0, D, out=D)
        E = S1 * inv
        S2 *= inv
        V = np.maximum(S2 - E * E, 1e-12, out=S2)
        Q: list[np.ndarray] = []
        if tails:
            acc = np.zeros_like(e)
            for k in range(m, 0, -1):
                acc += terms[k]
                Q.append(acc * inv)
            Q.reverse()
        return E, V, Q


def _fit_stats(idx: np.ndarray, n: int, resid: np.ndarray, V: np.ndarray, C: np.ndarray) -> dict[str, np.ndarray]:
    cnt = np.bincount(idx, minlength=n).astype(float)
    sv = np.bincount(idx, weights=V, minlength=n)
    r2 = resid * resid
    with np.errstate(divide="ignore", invalid="ignore"):
        infit = np.bincount(idx, weights=r2, minlength=n) / sv
        outfit = np.bincount(idx, weights=r2 / V, minlength=n) / cnt
        q_out = np.sqrt(np.maximum(np.bincount(idx, weights=C / (V * V), minlength=n) / cnt**2 - 1.0 / cnt, 0.0))
        q_in = np.sqrt(np.maximum(np.bincount(idx, weights=C - V * V, minlength=n) / sv**2, 0.0))
        z_in = (np.cbrt(infit) - 1.0) * (3.0 / q_in) + q_in / 3.0
        z_out = (np.cbrt(outfit) - 1.0) * (3.0 / q_out) + q_out / 3.0
    return {"infit": infit, "outfit": outfit, "infit_zstd": z_in, "outfit_zstd": z_out}


def _separation(measure: np.ndarray, se: np.ndarray) -> dict[str, float]:
    L = len(measure)
    if L < 2:
        return {k: math.nan for k in ("mean", "sd", "rmse", "true_sd", "separation", "strata", "reliability", "chi2", "df", "p")} | {
            "mean": float(measure.mean()) if L else math.nan, "df": max(L - 1, 0)}
    sd = float(measure.std())
    rmse = float(math.sqrt(np.mean(se * se)))
    true_sd = math.sqrt(max(sd * sd - rmse * rmse, 0.0))
    sep = true_sd / rmse if rmse > 0 else math.inf
    w = 1.0 / (se * se)
    chi2 = float((w * measure * measure).sum() - (w * measure).sum() ** 2 / w.sum())
    return {
        "mean": float(measure.mean()),
        "sd": sd,
        "rmse": rmse,
        "true_sd": true_sd,
        "separation": sep,
        "strata": (4 * sep + 1) / 3,
        "reliability": (true_sd * true_sd) / (sd * sd) if sd > 0 else math.nan,
        "chi2": chi2,
        "df": L - 1,
        "p": float(stats.chi2.sf(chi2, L - 1)),
    }


# --------------------------------------------------------------------------- fit


def fit_mfrm(
    scores: pd.DataFrame,
    person: str,
    facets: Sequence[str],
    score: str = "score",
    model: str = "rating_scale",
    *,
    scale: tuple[int, int] | None = None,
    steps_by: str | None = None,
    bias: Sequence[str] | None = None,
    extreme_adjustment: float = 0.3,
    tol: float = 1e-5,
    max_iter: int = 1000,
) -> MFRMResult:
    """Fit a many-facet Rasch model by joint maximum likelihood.

    Parameters
    ----------
    scores : DataFrame
        Long format: one row per rating, with a column per facet (``person`` and each of
        ``facets``) and a ``score`` column of whole numbers.  Other columns are ignored.
    person : str
        Column of the candidates (the positively oriented, uncentred facet).
    facets : sequence of str
        The other facets, e.g. ``["rater", "criterion"]`` (negatively oriented, centred).
    score : str, default "score"
    model : {"rating_scale", "partial_credit"}
    scale : (int, int), optional
        Lowest and highest possible score (default: the observed range); a score outside it
        or not a whole number raises :class:`MFRMError`.
    steps_by : str, optional
        Partial credit: the facet whose elements each have their own thresholds (default the
        last of ``facets``).
    bias : (str, str), optional
        The two facets whose interaction is estimated (default the first two of ``facets``;
        ``()`` for none).
    extreme_adjustment : float, default 0.3
        Score points by which an extreme raw score is moved towards the centre to estimate it.
    tol : float, default 1e-5
        Convergence: largest change of any estimate in an iteration, in logits.
    max_iter : int, default 1000

    Returns
    -------
    MFRMResult

    Notes
    -----
    See the module docstring for the model, centring, extreme-score, fit, separation, bias
    and fair-average conventions.  Raises :class:`MFRMError` with a one-line message for a
    missing column, a facet with one element, a score off the scale, no variance at all, an
    unused intermediate category, or a design that is not connected (naming the elements cut off).

    Examples
    --------
    Simulated: 300 candidates, each scored by 3 of 4 raters on 4 criteria (0-3), rater severities
    -0.5, 0, 0.2, 0.3 logits, thresholds -1, 0, 1.

    >>> rng = np.random.default_rng(0)
    >>> n, raters, crits = 300, ["R1", "R2", "R3", "R4"], ["C1", "C2", "C3", "C4"]
    >>> rows = [(c, r, k) for c in range(n) for r in rng.choice(raters, 3, replace=False) for k in crits]
    >>> df = pd.DataFrame(rows, columns=["cand", "rater", "crit"])
    >>> theta = rng.normal(0, 1.5, n)
    >>> sev = {"R1": -0.5, "R2": 0.0, "R3": 0.2, "R4": 0.3}
    >>> eta = theta[df.cand] - df.rater.map(sev).to_numpy()
    >>> p = np.exp(np.outer(eta, np.arange(4)) - np.r_[0, np.cumsum([-1.0, 0.0, 1.0])])
    >>> df["score"] = (rng.random(len(df))[:, None] > np.cumsum(p / p.sum(1, keepdims=True), 1)).sum(1)
    >>> res = fit_mfrm(df, person="cand", facets=["rater", "crit"])
    >>> res.converged
    True
    >>> res.facet("rater")[["measure", "se"]].round(2)
             measure    se
    element
    R1         -0.51  0.05
    R2          0.04  0.04
    R3          0.22  0.05
    R4          0.24  0.05
    >>> res.thresholds["threshold"].round(2).tolist()
    [-1.09, -0.01, 1.1]
    """
    # ---------------------------------------------------------------- validation
    if not isinstance(scores, pd.DataFrame):
        raise MFRMError(f"scores must be a long DataFrame (one row per rating, one column per facet); got {type(scores).__name__}")
    if model not in _MODELS:
        raise MFRMError(f"unknown model {model!r}; expected 'rating_scale' or 'partial_credit'")
    if isinstance(facets, str):
        facets = [facets]
    facets = list(facets)
    if not facets:
        raise MFRMError("facets must name at least one facet besides the person, e.g. ['rater', 'criterion']")
    order = [person, *facets]
    if len(set(order)) != len(order):
        raise MFRMError(f"person and facets must be different columns; got person={person!r}, facets={facets}")
    cols = list(map(str, scores.columns))
    missing = [c for c in [*order, score] if c not in scores.columns]
    if missing:
        raise MFRMError(f"scores has no column(s) {missing}; columns are {cols}")
    if score in order:
        raise MFRMError(f"the score column {score!r} cannot also be a facet")
    if model == "partial_credit":
        steps_by = facets[-1] if steps_by is None else steps_by
        if steps_by not in facets:
            raise MFRMError(f"steps_by must be one of the facets {facets}; got {steps_by!r}")
    elif steps_by is not None:
        raise MFRMError("steps_by applies to model='partial_credit' only")
    if bias is None:
        bias_t: tuple[str, ...] = tuple(facets[:2]) if len(facets) >= 2 else ()
    else:
        bias_t = tuple([bias] if isinstance(bias, str) else bias)
        if bias_t and (len(bias_t) != 2 or any(b not in order for b in bias_t) or bias_t[0] == bias_t[1]):
            raise MFRMError(f"bias must name two different facets among {order}, e.g. {tuple(facets[:2])}; got {bias!r}")
    if isinstance(extreme_adjustment, (bool, np.bool_)) or not isinstance(extreme_adjustment, numbers.Real) or not 0 < extreme_adjustment < 1:
        raise MFRMError(f"extreme_adjustment must be between 0 and 1 score points (FACETS uses 0.3); got {extreme_adjustment!r}")
    if not isinstance(tol, numbers.Real) or not tol > 0:
        raise MFRMError(f"tol must be a positive number of logits; got {tol!r}")
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise MFRMError(f"max_iter must be a positive integer; got {max_iter!r}")

    raw = pd.to_numeric(scores[score], errors="coerce")
    bad = raw.isna() & scores[score].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise MFRMError(f"scores must be whole numbers; got {scores[score].iloc[i]!r} at row {_py(scores.index[i])!r}")
    keep = raw.notna().to_numpy()
    n_missing = int((~keep).sum())
    frame = scores.loc[keep, order]
    y = raw.to_numpy(dtype=float)[keep]
    if y.size == 0:
        raise MFRMError("scores has no non-missing score")
    for f in order:
        if frame[f].isna().any():
            i = int(np.flatnonzero(frame[f].isna().to_numpy())[0])
            raise MFRMError(f"facet column {f!r} has a missing element at row {_py(frame.index[i])!r}; every rating needs every facet")
    if scale is None:
        lo_s, hi_s = float(np.min(y)), float(np.max(y))
        if lo_s != round(lo_s) or hi_s != round(hi_s):
            lo_s, hi_s = math.floor(lo_s), math.ceil(hi_s)
        scale_t = (int(lo_s), int(hi_s))
    else:
        try:
            scale_t = (int(scale[0]), int(scale[1]))
            if scale_t != (scale[0], scale[1]) or len(scale) != 2:
                raise ValueError
        except (TypeError, ValueError, IndexError):
            raise MFRMError(f"scale must be (lowest, highest) whole-number scores, e.g. (0, 4); got {scale!r}") from None
        if scale_t[1] <= scale_t[0]:
            raise MFRMError(f"scale must be (lowest, highest) with highest > lowest; got {scale!r}")
    off = (y != np.round(y)) | (y < scale_t[0]) | (y > scale_t[1])
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise MFRMError(
            f"score {_py(y[i]) if y[i] != round(y[i]) else int(y[i])} at row {_py(frame.index[i])!r} is off the scale "
            f"{scale_t[0]}-{scale_t[1]} (whole numbers expected); {int(off.sum())} score(s) off it"
        )
    if np.ptp(y) == 0:
        raise MFRMError(f"all {y.size} scores are equal ({int(y[0])}): there is no variance to model")
    codes: dict[str, np.ndarray] = {}
    labels: dict[str, list] = {}
    for f in order:
        c, uniq = pd.factorize(frame[f], sort=True)
        codes[f] = c.astype(np.int64)
        labels[f] = _labels(np.asarray(uniq))
        if len(uniq) < 2:
            raise MFRMError(
                f"facet {f!r} has only one element ({labels[f][0]!r}); every facet needs at least 2 elements "
                "(drop a facet with one element from facets=)"
            )
    _check_connected(codes, labels, order, person)

    x = (y - scale_t[0]).astype(np.int64)
    m = scale_t[1] - scale_t[0]
    notes: list[str] = []
    if model == "partial_credit":
        grp = codes[steps_by]
        G = len(labels[steps_by])
        group_labels = labels[steps_by]
    else:
        grp = np.zeros(len(x), dtype=np.int64)
        G = 1
        group_labels = ["all"]
    used = np.zeros((G, m + 1), dtype=bool)
    used[grp, x] = True
    lo = np.argmax(used, axis=1)
    hi = m - np.argmax(used[:, ::-1], axis=1)
    for g in range(G):
        gaps = [k for k in range(lo[g], hi[g] + 1) if not used[g, k]]
        if gaps:
            where = "" if model == "rating_scale" else f" by {steps_by} {group_labels[g]!r}"
            raise MFRMError(
                f"category {gaps[0] + scale_t[0]} of the scale {scale_t[0]}-{scale_t[1]} is never used{where} although "
                "categories on both sides are; its threshold cannot be estimated (merge it with a neighbour)"
            )
        if hi[g] == lo[g]:
            raise MFRMError(
                f"{steps_by} {group_labels[g]!r} has every score in one category ({lo[g] + scale_t[0]}); "
                "partial credit needs at least 2 categories per element (use rating_scale)"
            )
        if lo[g] > 0 or hi[g] < m:
            which = "the scale" if model == "rating_scale" else f"{steps_by} {group_labels[g]!r}"
            notes.append(f"{which} uses only {lo[g] + scale_t[0]}-{hi[g] + scale_t[0]}")

    mdl = _Model(x, grp, lo, hi, m)
    N = len(x)
    sizes = {f: len(labels[f]) for f in order}
    sign = {f: (1.0 if f == person else -1.0) for f in order}

    # ---------------------------------------------------------------- extreme elements
    obs_lo = lo[grp].astype(float)
    obs_hi = hi[grp].astype(float)
    active = np.ones(N, dtype=bool)
    extreme: dict[str, np.ndarray] = {f: np.zeros(sizes[f], dtype=np.int8) for f in order}  # +1 max, -1 min
    # each removal is a layer: the elements of one facet found extreme among the ratings still active then
    layers: list[tuple[str, np.ndarray, np.ndarray]] = []
    while True:
        changed = False
        for f in order:
            c = codes[f]
            w = active.astype(float)
            cnt = np.bincount(c, weights=w, minlength=sizes[f])
            sx = np.bincount(c, weights=x * w, minlength=sizes[f])
            slo = np.bincount(c, weights=obs_lo * w, minlength=sizes[f])
            shi = np.bincount(c, weights=obs_hi * w, minlength=sizes[f])
            new_max = (cnt > 0) & (sx >= shi - 1e-9) & (extreme[f] == 0)
            new_min = (cnt > 0) & (sx <= slo + 1e-9) & (extreme[f] == 0)
            if new_max.any() or new_min.any():
                extreme[f][new_max] = 1
                extreme[f][new_min] = -1
                layers.append((f, np.flatnonzero(new_max | new_min), active.copy()))
                active &= extreme[f][c] == 0
                changed = True
        if not changed:
            break
    if not active.any():
        raise MFRMError("every rating belongs to an element with an extreme (minimum or maximum possible) score; nothing to estimate")
    est_elems = {f: np.bincount(codes[f][active], minlength=sizes[f]) > 0 for f in order}
    for f in order:
        if est_elems[f].sum() < 2 and f != person:
            raise MFRMError(f"facet {f!r} has fewer than 2 elements without an extreme score; its measures cannot be estimated")
    act_idx = np.flatnonzero(active)
    used_act = np.zeros((G, m + 1), dtype=bool)
    used_act[grp[act_idx], x[act_idx]] = True
    if ((mdl.valid_cat & ~used_act)).any():
        g, k = np.argwhere(mdl.valid_cat & ~used_act)[0]
        raise MFRMError(
            f"category {k + scale_t[0]} is used only in ratings of elements with extreme scores"
            + ("" if model == "rating_scale" else f" ({steps_by} {group_labels[g]!r})")
            + "; its threshold cannot be estimated (merge it with a neighbour)"
        )

    # ---------------------------------------------------------------- JML
    xa = x[act_idx]
    ga = grp[act_idx]
    ca = {f: codes[f][act_idx] for f in order}
    mdl_a = _Model(xa, ga, lo, hi, m)
    obs_ge = np.zeros((G, m))
    for h in range(m):
        obs_ge[:, h] = np.bincount(ga, weights=(xa > h).astype(float), minlength=G)
    vstep = mdl.valid_step[:, 1:]
    n_steps = vstep.sum(axis=1)
    offsets = np.cumsum([0] + [sizes[f] for f in order])
    n_par = int(offsets[-1])

    def unpack(vec: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        ps = {f: vec[offsets[j] : offsets[j + 1]].copy() for j, f in enumerate(order)}
        t = np.zeros((G, m + 1))
        t[:, 1:] = vec[n_par:].reshape(G, m)
        return ps, t

    def step(vec: np.ndarray) -> tuple[np.ndarray, float]:
        """One joint Newton-Raphson iteration (every element and threshold at once), then re-centring."""
        ps, t = unpack(vec)
        eta = ps[person][ca[person]]
        for f in facets:
            eta = eta - ps[f][ca[f]]
        E, V, Qs = mdl_a.stats(eta, t, tails=True)
        resid = xa - E
        change = 0.0
        for f in order:
            n_f = sizes[f]
            g_f = np.bincount(ca[f], weights=resid, minlength=n_f)
            h_f = np.bincount(ca[f], weights=V, minlength=n_f)
            d = np.clip(sign[f] * g_f / np.where(h_f > 0, h_f, np.inf), -_MAX_STEP, _MAX_STEP)
            if f != person:
                # a centred facet's step must not move the common location too: the persons' step already does
                d[est_elems[f]] -= d[est_elems[f]].mean()
            d *= _DAMPING
            ps[f] += d
            change = max(change, float(np.abs(d).max()))
        exp_ge = np.zeros((G, m))
        info = np.zeros((G, m))
        for h in range(m):
            q = Qs[h]  # P(X >= h + 1)
            if G == 1:
                exp_ge[0, h] = q.sum()
                info[0, h] = (q * (1 - q)).sum()
            else:
                exp_ge[:, h] = np.bincount(ga, weights=q, minlength=G)
                info[:, h] = np.bincount(ga, weights=q * (1 - q), minlength=G)
        dt = np.where(vstep & (info > 0), (exp_ge - obs_ge) / np.where(info > 0, info, 1.0), 0.0)
        dt = np.clip(dt, -_MAX_STEP, _MAX_STEP)
        dt = np.where(vstep, dt - (dt * vstep).sum(axis=1, keepdims=True) / np.maximum(n_steps, 1)[:, None], 0.0)
        dt *= _DAMPING
        t[:, 1:] += dt
        change = max(change, float(np.abs(dt).max()))
        # identification: thresholds sum to 0 per set, non-person facets centred on their estimated elements
        shift = np.where(n_steps > 0, (t[:, 1:] * vstep).sum(axis=1) / np.maximum(n_steps, 1), 0.0)
        t[:, 1:] = np.where(vstep, t[:, 1:] - shift[:, None], 0.0)
        if model == "rating_scale":
            ps[person] -= shift[0]
        else:
            ps[steps_by] += shift
        for f in facets:
            mean_f = float(ps[f][est_elems[f]].mean())
            ps[f] -= mean_f
            ps[person] -= mean_f
        return np.concatenate([ps[f] for f in order] + [t[:, 1:].ravel()]), change

    # The damped Newton map converges linearly (persons and raters pull on each other); SQUAREM (Varadhan &
    # Roland 2008) extrapolates along two successive steps, with a plain step after each extrapolation and a
    # fall-back to the plain steps whenever the extrapolated point moves more than the steps it came from.
    vec = np.zeros(n_par + G * m)
    converged = False
    max_change = math.inf
    it = 0
    while it < max_iter:
        v1, c1 = step(vec)
        it += 1
        max_change = c1
        if c1 < tol:
            vec, converged = v1, True
            break
        if it >= max_iter:
            vec = v1
            break
        v2, c2 = step(v1)
        it += 1
        max_change = c2
        if c2 < tol:
            vec, converged = v2, True
            break
        r = v1 - vec
        v = v2 - 2.0 * v1 + vec
        nv = math.sqrt(float((v * v).sum()))
        alpha = -math.sqrt(float((r * r).sum())) / nv if nv > 0 else -1.0
        alpha = min(max(alpha, -64.0), -0.1)
        trial = vec - 2.0 * alpha * r + alpha * alpha * v
        if it >= max_iter:
            vec = v2
            break
        v3, c3 = step(trial)
        it += 1
        if not np.isfinite(v3).all() or c3 > max(c1, c2):
            vec = v2  # extrapolation overshot: keep the plain steps
            continue
        vec, max_change = v3, c3
        if c3 < tol:
            converged = True
            break
    params, tau = unpack(vec)

    # ---------------------------------------------------------------- extreme elements: anchored, adjusted scores
    # Layers are estimated last-removed first, each from the ratings that were still active when it was
    # found extreme (so a candidate made extreme by dropping an extreme rater is measured without that
    # rater), with every other measure anchored: the elements of one layer share no rating, so each is a
    # one-parameter equation with a solution (the adjusted score lies strictly inside the possible range).
    extreme_se: dict[str, np.ndarray] = {f: np.full(sizes[f], np.nan) for f in order}
    for f, members, active_then in reversed(layers):
        n_f = sizes[f]
        in_layer = np.zeros(n_f, dtype=bool)
        in_layer[members] = True
        rows = np.flatnonzero(in_layer[codes[f]] & active_then)
        c = codes[f][rows]
        target = np.where(
            extreme[f] > 0,
            np.bincount(c, weights=obs_hi[rows], minlength=n_f) - extreme_adjustment,
            np.bincount(c, weights=obs_lo[rows], minlength=n_f) + extreme_adjustment,
        )
        ref = params[f][est_elems[f]] if est_elems[f].any() else np.zeros(1)
        params[f][members] = np.where(extreme[f][members] > 0, 1.0, -1.0) * sign[f] * (float(np.abs(ref).max()) + 1.0)
        h_f = np.zeros(n_f)
        for _ in range(500):
            eta = params[person][codes[person][rows]].copy()
            for g2 in facets:
                eta -= params[g2][codes[g2][rows]]
            E, V, _ = mdl.stats(eta, tau, grp[rows])
            g_f = target - np.bincount(c, weights=E, minlength=n_f)
            h_f = np.bincount(c, weights=V, minlength=n_f)
            d = np.where(in_layer & (h_f > 0), sign[f] * g_f / np.where(h_f > 0, h_f, 1.0), 0.0)
            d = np.clip(d, -_MAX_STEP, _MAX_STEP)
            params[f] += d
            if float(np.abs(d).max()) < tol:
                break
        else:
            notes.append(f"extreme-score estimates of {f} did not converge")
        extreme_se[f][members] = 1.0 / np.sqrt(h_f[members])

    # ---------------------------------------------------------------- statistics at the solution
    eta_all = params[person][codes[person]].copy()
    for f in facets:
        eta_all -= params[f][codes[f]]
    P = mdl.probs(eta_all, tau)
    E, V = mdl.moments(P)
    resid = x - E
    C = ((mdl.k[None, :] - E[:, None]) ** 4 * P).sum(axis=1)  # fourth central moments, for the ZSTDs
    act_w = active.astype(float)
    max_resid = 0.0
    tables = []
    summary = []
    fair = _fair_averages(params, tau, mdl, order, est_elems, model, steps_by, sign, G, scale_t[0])
    for f in order:
        n_f = sizes[f]
        c = codes[f]
        cnt = np.bincount(c, minlength=n_f)
        raw_score = np.bincount(c, weights=y, minlength=n_f)
        info = np.bincount(c, weights=V, minlength=n_f)
        se = np.where(extreme[f] != 0, extreme_se[f], 1.0 / np.sqrt(info))
        fs = _fit_stats(c[active], n_f, resid[active], V[active], C[active])
        res_f = np.bincount(c, weights=resid * act_w, minlength=n_f)
        ok = extreme[f] == 0
        if ok.any():
            max_resid = max(max_resid, float(np.abs(res_f[ok]).max()))
        status = np.where(extreme[f] > 0, "extreme maximum", np.where(extreme[f] < 0, "extreme minimum", ""))
        for k in ("infit", "outfit", "infit_zstd", "outfit_zstd"):
            fs[k] = np.where(ok, fs[k], np.nan)
        tables.append(
            pd.DataFrame(
                {
                    "facet": f,
                    "element": labels[f],
                    "measure": params[f],
                    "se": se,
                    "infit": fs["infit"],
                    "outfit": fs["outfit"],
                    "infit_zstd": fs["infit_zstd"],
                    "outfit_zstd": fs["outfit_zstd"],
                    "count": cnt,
                    "raw_score": raw_score,
                    "observed_average": raw_score / cnt,
                    "fair_average": fair[f],
                    "status": status,
                }
            )
        )
        sep = _separation(params[f][ok], se[ok])
        summary.append({"facet": f, "n_elements": n_f, "n_extreme": int((~ok).sum()), **sep})
    measures = pd.DataFrame(pd.concat(tables, ignore_index=True))
    facet_summary = pd.DataFrame(summary)

    # thresholds with standard errors
    Q = np.cumsum(P[:, ::-1], axis=1)[:, ::-1][:, 1:]
    trow = []
    cat_count = np.zeros((G, m + 1))
    np.add.at(cat_count, (grp, x), 1.0)
    for g in range(G):
        sel = grp == g
        for h in range(1, m + 1):
            if not mdl.valid_step[g, h]:
                continue
            q = Q[sel, h - 1]
            inf_h = float((q * (1 - q)).sum())
            trow.append({"group": group_labels[g], "category": h + scale_t[0], "threshold": float(tau[g, h]),
                         "se": 1.0 / math.sqrt(inf_h) if inf_h > 0 else math.nan, "count": int(cat_count[g, h])})
    thresholds = pd.DataFrame(trow, columns=["group", "category", "threshold", "se", "count"])

    bias_table = _bias(bias_t, codes, labels, x, eta_all, tau, mdl, obs_lo, obs_hi, extreme_adjustment, tol, scale_t[0])

    conventions = (
        f"JML as FACETS; persons ({person}) positive and not centred; {', '.join(facets)} negative, centred at 0 over "
        f"non-extreme elements; thresholds sum to 0{' per ' + steps_by if steps_by else ''}; extreme scores dropped from "
        f"estimation, then estimated anchored from scores moved {extreme_adjustment:g} points inwards; model standard errors; "
        "bias = logit added for the pair (positive: scores higher than expected); fair average with other facets at their mean"
    )
    if not converged:
        notes.append(f"JML did not converge in {max_iter} iterations (largest last change {max_change:.2g} logits)")
    return MFRMResult(
        model=model,
        person=person,
        facets=tuple(facets),
        steps_by=steps_by,
        measures=measures,
        thresholds=thresholds,
        facet_summary=facet_summary,
        bias=bias_table,
        bias_facets=bias_t,
        converged=converged,
        iterations=it,
        max_change=float(max_change),
        max_score_residual=max_resid,
        n_obs=int(N),
        n_missing=n_missing,
        scale=scale_t,
        conventions=conventions,
        note="; ".join(notes),
    )


def _expected(eta: np.ndarray, tau: np.ndarray, mdl: _Model, g: int) -> np.ndarray:
    P = mdl.probs(eta, tau, np.full(len(eta), g, dtype=np.int64))
    return P @ mdl.k


def _fair_averages(params, tau, mdl, order, est_elems, model, steps_by, sign, G, lowest) -> dict[str, np.ndarray]:
    """Expected score of each element with every other facet at its mean measure (FACETS Fair-M)."""
    means = {f: float(params[f][est_elems[f]].mean()) for f in order}
    out = {}
    for f in order:
        base = sum(sign[o] * means[o] for o in order if o != f)
        eta = base + sign[f] * params[f]
        if model == "partial_credit" and f == steps_by:
            vals = np.array([_expected(eta[g : g + 1], tau, mdl, g)[0] for g in range(G)])
        else:
            vals = np.mean([_expected(eta, tau, mdl, g) for g in range(G)], axis=0)
        out[f] = vals + lowest
    return out


def _bias(bias_t, codes, labels, x, eta, tau, mdl, obs_lo, obs_hi, adj, tol, lowest) -> pd.DataFrame:
    cols = ["count", "observed", "expected", "obs_exp_average", "bias", "se", "t", "df", "p", "extreme"]
    if not bias_t:
        return pd.DataFrame(columns=["facet_a", "element_a", "facet_b", "element_b", *cols])
    fa, fb = bias_t
    lb = len(labels[fb])
    cell_raw = codes[fa] * lb + codes[fb]
    cell, uniq = pd.factorize(cell_raw, sort=True)
    n_c = len(uniq)
    cnt = np.bincount(cell, minlength=n_c).astype(float)
    obs = np.bincount(cell, weights=x, minlength=n_c)
    slo = np.bincount(cell, weights=obs_lo, minlength=n_c)
    shi = np.bincount(cell, weights=obs_hi, minlength=n_c)
    E0 = mdl.stats(eta, tau)[0]
    expct = np.bincount(cell, weights=E0, minlength=n_c)
    ext = (obs >= shi - 1e-9) | (obs <= slo + 1e-9)
    target = np.where(obs >= shi - 1e-9, shi - adj, np.where(obs <= slo + 1e-9, slo + adj, obs))
    b = np.zeros(n_c)
    for _ in range(200):
        E, V, _ = mdl.stats(eta + b[cell], tau)
        g = target - np.bincount(cell, weights=E, minlength=n_c)
        h = np.bincount(cell, weights=V, minlength=n_c)
        d = np.clip(g / h, -_MAX_STEP, _MAX_STEP)
        b += d
        if np.abs(d).max() < tol:
            break
    _, V, _ = mdl.stats(eta + b[cell], tau)
    se = 1.0 / np.sqrt(np.bincount(cell, weights=V, minlength=n_c))
    t = b / se
    df = cnt - 1
    with np.errstate(invalid="ignore"):
        p = np.where(df >= 1, 2 * stats.t.sf(np.abs(t), np.maximum(df, 1)), np.nan)
    a_idx, b_idx = uniq // lb, uniq % lb
    return pd.DataFrame(
        {
            "facet_a": fa,
            "element_a": [labels[fa][i] for i in a_idx],
            "facet_b": fb,
            "element_b": [labels[fb][i] for i in b_idx],
            "count": cnt.astype(int),
            "observed": obs + lowest * cnt,
            "expected": expct + lowest * cnt,
            "obs_exp_average": (obs - expct) / cnt,
            "bias": b,
            "se": se,
            "t": t,
            "df": df.astype(int),
            "p": p,
            "extreme": ext,
        }
    )
