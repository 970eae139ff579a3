"""Decision consistency and accuracy of a pass/fail decision from one administration (pure functions).

* :func:`livingston_lewis`: Livingston & Lewis (1995): the observed scores and a reliability
  estimate give an *effective test length* ``n``; the true proportion-correct score is modelled
  by a four-parameter beta distribution fitted to the true-score moments implied by a binomial
  error model (Lord 1965), and the observed score given the true score is binomial on ``n``.
* :func:`subkoviak_normal`: the normal approximation behind Subkoviak's (1988) tables (Peng &
  Subkoviak 1980): two parallel administrations are bivariate normal with correlation equal to
  the reliability.

Conventions
-----------
Pass means **score >= cut** (a candidate exactly at the cut passes), on the observed scale and,
for accuracy, on the true-score scale.  *Consistency* ``p0`` is the probability that two
independent parallel administrations classify a candidate the same way; *kappa* is Cohen's
kappa of that 2 x 2 table, ``(p0 - pc) / (1 - pc)`` with ``pc = p^2 + (1 - p)^2`` and ``p`` the
expected proportion passing; *accuracy* is the probability that the observed classification
equals the true one; *false positive* = true fail but observed pass, *false negative* = true
pass but observed fail.

References
----------
Livingston, S. A., & Lewis, C. (1995). Estimating the consistency and accuracy of
classifications based on test scores. *Journal of Educational Measurement*, 32(2), 179-197.
Lord, F. M. (1965). A strong true-score theory, with applications. *Psychometrika*, 30, 239-270.
Hanson, B. A. (1991). Method of moments estimates for the four-parameter beta compound binomial
model and the calculation of classification consistency indexes. ACT Research Report 91-5.
Subkoviak, M. J. (1988). A practitioner's guide to computation and interpretation of
reliability indices for mastery tests. *Journal of Educational Measurement*, 25(1), 47-55.
Peng, C.-Y. J., & Subkoviak, M. J. (1980). A note on Huynh's normal approximation procedure for
estimating criterion-referenced reliability. *Journal of Educational Measurement*, 17(4), 359-368.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from .. import __version__

__all__ = ["DecisionError", "DecisionResult", "livingston_lewis", "subkoviak_normal"]

METHOD_VERSION = f"evalkit {__version__}"
CONVENTION = "pass means score >= cut (observed and true scores)"
_NODES = 96  # Gauss-Legendre nodes on each side of the true cut (quantile scale)


class DecisionError(ValueError):
    """Invalid input for a decision-consistency estimate (one-line message saying what was expected)."""


@dataclass(frozen=True)
class DecisionResult:
    """Consistency and accuracy of a pass/fail classification, with the conventions used.

    Attributes
    ----------
    method : str
        ``"Livingston-Lewis"`` or ``"Subkoviak normal approximation"``.
    cut : float
        Cut score on the observed scale (pass = score >= cut).
    reliability : float
        The reliability estimate used.
    n_candidates : int
        Observed scores used (0 when only a mean and SD were given).
    consistency : float
        ``p0``: probability that two parallel administrations agree on pass/fail.
    kappa : float
        Cohen's kappa of the two administrations.
    accuracy : float
        Probability that the observed classification equals the true one.
    false_positive, false_negative : float
        Probability of (true fail, observed pass) and of (true pass, observed fail).
    p_pass_expected : float
        Proportion passing under the fitted model.
    p_pass_observed : float
        Proportion of the observed scores at or above the cut (``nan`` without scores).
    convention : str
    details : dict
        Method specifics (effective test length and beta parameters; or z and the continuity correction).
    note : str
    version : str
    """

    method: str
    cut: float
    reliability: float
    n_candidates: int
    consistency: float
    kappa: float
    accuracy: float
    false_positive: float
    false_negative: float
    p_pass_expected: float
    p_pass_observed: float
    convention: str = CONVENTION
    details: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    version: str = METHOD_VERSION

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> subkoviak_normal(mean=20, sd=4, cut=20.5, reliability=0.8).describe()
        'Subkoviak normal approximation: consistency 0.797, kappa 0.590, accuracy 0.854 (false pass 0.076, false fail 0.070); cut 20.5, reliability 0.80; pass means score >= cut (observed and true scores)'
        """
        return (
            f"{self.method}: consistency {self.consistency:.3f}, kappa {self.kappa:.3f}, accuracy {self.accuracy:.3f} "
            f"(false pass {self.false_positive:.3f}, false fail {self.false_negative:.3f}); "
            f"cut {self.cut:g}, reliability {self.reliability:.2f}; {self.convention}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-friendly)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["details"] = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.details.items()}
        return out


# --------------------------------------------------------------------------- input checks


def _number(v: Any, name: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise DecisionError(f"{name} must be a finite number; got {v!r}")
    return float(v)


def _reliability(v: Any) -> float:
    r = _number(v, "reliability")
    if not 0 < r < 1:
        raise DecisionError(f"reliability must be between 0 and 1 (exclusive), e.g. coefficient alpha or Phi; got {v!r}")
    return r


def _scores(scores: Any) -> np.ndarray:
    if isinstance(scores, (str, bytes)) or scores is None or isinstance(scores, numbers.Number):
        raise DecisionError(f"scores must be a 1-D sequence of numbers (one observed score per candidate); got {type(scores).__name__}")
    arr = scores.to_numpy(dtype=object) if isinstance(scores, (pd.Series, pd.DataFrame)) else np.asarray(scores, dtype=object)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DecisionError(f"scores must be 1-D (one observed score per candidate); got shape {arr.shape}")
    try:
        x = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DecisionError("scores must be numbers (one observed score per candidate)") from None
    x = x[~np.isnan(x)]
    if not np.isfinite(x).all():
        raise DecisionError("scores must be finite numbers (no inf)")
    if x.size < 2:
        raise DecisionError(f"need at least 2 observed scores; got {x.size}")
    if np.ptp(x) == 0:
        raise DecisionError(f"all {x.size} scores are equal ({x[0]:g}): no variance to model")
    return x


# --------------------------------------------------------------------------- Livingston-Lewis


def _beta4_from_moments(mean: float, var: float, skew: float, kurt: float) -> tuple[float, float, float, float] | None:
    """Four-parameter beta (alpha, beta, lower, upper) with these moments (kurt = m4 / var^2), or None."""
    den = 1.5 * skew * skew - (kurt - 3.0)
    if den <= 0:
        return None
    nu = 3.0 * ((kurt - 3.0) - skew * skew + 2.0) / den  # alpha + beta
    if not nu > 0:
        return None
    if abs(skew) < 1e-12:
        a = b = nu / 2.0
    else:
        root = 1.0 / math.sqrt(1.0 + 16.0 * (nu + 1.0) / ((nu + 2.0) ** 2 * skew * skew))
        small, large = nu / 2.0 * (1.0 - root), nu / 2.0 * (1.0 + root)
        a, b = (small, large) if skew > 0 else (large, small)
    if not (a > 0 and b > 0):
        return None
    width = math.sqrt(var) / 2.0 * math.sqrt((2.0 + nu) ** 2 * skew * skew + 16.0 * (1.0 + nu))
    lower = mean - a / nu * width
    return a, b, lower, lower + width


def _true_moments(xs: np.ndarray, n: int) -> list[float]:
    """Raw moments E[tau^k], k = 1..4 (as far as n allows), from binomial factorial moments (Lord 1965)."""
    out = []
    fall = np.ones_like(xs)
    den = 1.0
    for k in range(min(4, n)):
        fall = fall * (xs - k)
        den *= n - k
        out.append(float(fall.mean() / den))
    return out


def _classify(a: float, b: float, lo: float, hi: float, n: int, k_pass: int, tau_cut: float) -> dict[str, float]:
    """Integrate pass probabilities over the beta true-score distribution, split at the true cut."""
    dist = stats.beta(a, b, loc=lo, scale=hi - lo)
    g_cut = float(dist.cdf(tau_cut)) if lo < tau_cut < hi else (0.0 if tau_cut <= lo else 1.0)
    nodes, weights = np.polynomial.legendre.leggauss(_NODES)
    parts = {}
    for side, (u0, u1) in (("fail", (0.0, g_cut)), ("pass", (g_cut, 1.0))):
        if u1 - u0 <= 0:
            parts[side] = (np.zeros(0), np.zeros(0))
            continue
        u = u0 + (u1 - u0) * (nodes + 1.0) / 2.0
        w = weights * (u1 - u0) / 2.0
        tau = np.clip(dist.ppf(u), 0.0, 1.0)
        pp = stats.binom.sf(k_pass - 1, n, tau) if k_pass > 0 else np.ones_like(tau)
        parts[side] = (pp, w)
    pf, wf = parts["fail"]
    ps, ws = parts["pass"]
    p_pass = float((pf * wf).sum() + (ps * ws).sum())
    consistency = float(((pf**2 + (1 - pf) ** 2) * wf).sum() + ((ps**2 + (1 - ps) ** 2) * ws).sum())
    false_pos = float((pf * wf).sum())
    false_neg = float(((1 - ps) * ws).sum())
    return {
        "p_pass": p_pass,
        "consistency": consistency,
        "false_positive": false_pos,
        "false_negative": false_neg,
        "accuracy": 1.0 - false_pos - false_neg,
        "p_true_pass": 1.0 - g_cut,
    }


def livingston_lewis(
    scores: Any,
    cut: float,
    reliability: float,
    *,
    min_score: float,
    max_score: float,
) -> DecisionResult:
    """Livingston-Lewis (1995) decision consistency and accuracy from observed scores and a reliability.

    Parameters
    ----------
    scores : 1-D array-like
        One observed score per candidate (any scale: a sum of rubric points, a percentage);
        NaN is dropped.
    cut : float
        Cut score on the same scale; pass means ``score >= cut``.
    reliability : float
        Reliability of the scores (e.g. coefficient alpha, or Phi from a D study).
    min_score, max_score : float
        The lowest and highest **possible** scores (not the observed ones).

    Returns
    -------
    DecisionResult
        ``details`` holds the effective test length, the fitted beta's parameters and bounds,
        the model used and the cut on the effective-length scale.

    Notes
    -----
    Effective test length ``n = ((mu - a)(b - mu) - r s^2) / (s^2 (1 - r))`` rounded to the
    nearest integer (at least 1), with ``mu`` and ``s^2`` the mean and (n-denominator)
    variance of the scores and ``[a, b]`` the possible range.  Scores are rescaled to
    ``n (x - a) / (b - a)``; the moments of the true proportion ``tau`` follow from the binomial
    factorial moments, and a four-parameter beta on ``[l, u]`` is fitted to them (Hanson 1991).
    When that fit is inadmissible (bounds outside [0, 1], or fewer than 4 effective items) a
    two-parameter beta on [0, 1] is fitted to the mean and variance instead, as Livingston &
    Lewis do; ``details["model"]`` says which.  A candidate passes observed when the binomial
    score on ``n`` reaches ``n (cut - a) / (b - a)`` and passes truly when
    ``tau >= (cut - a) / (b - a)``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> tau = 0.2 + 0.75 * rng.beta(3, 2, 2000)   # true proportions on [0.2, 0.95]
    >>> x = rng.binomial(40, tau)                  # 40 one-point items
    >>> res = livingston_lewis(x, cut=28, reliability=0.81, min_score=0, max_score=40)
    >>> res.details["effective_length"], res.details["model"]
    (37, 'four-parameter beta')
    >>> round(res.details["lower"], 2), round(res.details["upper"], 2)
    (0.15, 0.97)
    >>> round(res.consistency, 2), round(res.kappa, 2), round(res.accuracy, 2)
    (0.81, 0.62, 0.86)
    """
    x = _scores(scores)
    rel = _reliability(reliability)
    a_s, b_s = _number(min_score, "min_score"), _number(max_score, "max_score")
    c = _number(cut, "cut")
    if not b_s > a_s:
        raise DecisionError(f"max_score must be above min_score; got min_score={min_score!r}, max_score={max_score!r}")
    off = (x < a_s) | (x > b_s)
    if off.any():
        raise DecisionError(
            f"score {x[off][0]:g} is off the scale {a_s:g}-{b_s:g} (min_score-max_score, the possible range); "
            f"{int(off.sum())} score(s) outside it"
        )
    if not a_s < c <= b_s:
        raise DecisionError(f"cut must be above min_score and at most max_score ({a_s:g} < cut <= {b_s:g}); got {cut!r}")
    mu, var = float(x.mean()), float(x.var())
    n_raw = ((mu - a_s) * (b_s - mu) - rel * var) / (var * (1.0 - rel))
    if not n_raw > 0.5:
        raise DecisionError(
            f"the effective test length is {n_raw:.2f} (< 1): the reliability {rel:g} is too low for these scores' "
            "variance and range; check min_score/max_score and the reliability"
        )
    n = max(1, int(round(n_raw)))
    xs = n * (x - a_s) / (b_s - a_s)
    p_cut = (c - a_s) / (b_s - a_s)
    k_pass = int(math.ceil(n * p_cut - 1e-9))
    moments = _true_moments(xs, n)
    m1 = moments[0]
    tvar = moments[1] - m1 * m1 if len(moments) > 1 else math.nan
    if not tvar > 0:
        raise DecisionError("the scores imply no true-score variance under the binomial error model (reliability too low)")
    fit = None
    if len(moments) == 4:
        m2, m3, m4 = moments[1], moments[2], moments[3]
        c3 = m3 - 3 * m1 * m2 + 2 * m1**3
        c4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
        skew, kurt = c3 / tvar**1.5, c4 / tvar**2
        fit = _beta4_from_moments(m1, tvar, skew, kurt)
        if fit is not None:
            a4, b4, lo, hi = fit
            tol = 1e-9
            if lo < -tol or hi > 1 + tol or not hi > lo:
                fit = None
            else:
                fit = (a4, b4, max(lo, 0.0), min(hi, 1.0))
    note = ""
    if fit is None:
        common = m1 * (1 - m1) / tvar - 1.0
        if not common > 0:
            raise DecisionError("the true-score mean and variance admit no beta distribution on [0, 1]")
        fit = (m1 * common, (1 - m1) * common, 0.0, 1.0)
        model = "two-parameter beta"
        note = "four-parameter beta fit inadmissible (bounds outside [0, 1] or < 4 effective items): two-parameter beta on [0, 1]"
    else:
        model = "four-parameter beta"
    a4, b4, lo, hi = fit
    out = _classify(a4, b4, lo, hi, n, k_pass, p_cut)
    pp = out["p_pass"]
    pc = pp * pp + (1 - pp) ** 2
    kappa = (out["consistency"] - pc) / (1 - pc) if pc < 1 else math.nan
    return DecisionResult(
        method="Livingston-Lewis",
        cut=c,
        reliability=rel,
        n_candidates=int(x.size),
        consistency=out["consistency"],
        kappa=float(kappa),
        accuracy=out["accuracy"],
        false_positive=out["false_positive"],
        false_negative=out["false_negative"],
        p_pass_expected=pp,
        p_pass_observed=float((x >= c).mean()),
        details={
            "effective_length": n,
            "effective_length_unrounded": float(n_raw),
            "model": model,
            "alpha": float(a4),
            "beta": float(b4),
            "lower": float(lo),
            "upper": float(hi),
            "true_cut": float(p_cut),
            "observed_cut_on_effective_scale": k_pass,
            "p_true_pass": out["p_true_pass"],
            "min_score": a_s,
            "max_score": b_s,
        },
        note=note,
    )


# --------------------------------------------------------------------------- Subkoviak / normal approximation


def _bvn(h: float, k: float, rho: float) -> float:
    """P(Z1 <= h, Z2 <= k) for a standard bivariate normal with correlation rho (Owen's 1956 T-function form)."""
    if h == k:
        return float(stats.norm.cdf(h) - 2.0 * special.owens_t(h, math.sqrt((1.0 - rho) / (1.0 + rho))))
    root = math.sqrt(1.0 - rho * rho)

    def t(x: float, y: float) -> float:
        if x == 0.0:  # T(0, +/-inf) = +/-1/4 (y != 0 here: h == k was handled above)
            return math.copysign(0.25, y)
        return float(special.owens_t(x, (y - rho * x) / (x * root)))

    beta = 0.0 if (h * k > 0 or (h * k == 0 and h + k >= 0)) else 0.5
    return float(0.5 * (stats.norm.cdf(h) + stats.norm.cdf(k)) - t(h, k) - t(k, h) - beta)


def subkoviak_normal(
    scores: Any = None,
    cut: float | None = None,
    reliability: float | None = None,
    *,
    mean: float | None = None,
    sd: float | None = None,
    continuity: float | None = None,
) -> DecisionResult:
    """Decision consistency by the normal approximation of Subkoviak's (1988) tables.

    Parameters
    ----------
    scores : 1-D array-like, optional
        Observed scores (their mean and SD are used); or give ``mean`` and ``sd`` instead.
    cut : float
        Cut score; pass means ``score >= cut``.
    reliability : float
        Reliability of the scores (Subkoviak uses KR-20/21 or alpha).
    mean, sd : float, optional
        Mean and standard deviation of the scores, when ``scores`` is not given.
    continuity : float, optional
        Continuity correction subtracted from the cut: default 0.5 when all scores are whole
        numbers (``z = (cut - 0.5 - mean) / sd``, as Subkoviak), else 0 (and 0 when only
        ``mean``/``sd`` are given).

    Returns
    -------
    DecisionResult
        ``details["z"]`` is the standardised cut Subkoviak's tables are entered with.

    Notes
    -----
    Consistency ``p0 = Phi2(z, z; r) + Phi2(-z, -z; r)`` and ``pc = Phi(z)^2 + Phi(-z)^2``,
    with ``Phi2`` the bivariate normal distribution and ``r`` the reliability (Peng &
    Subkoviak 1980).  Accuracy uses the true score ``T ~ N(mean, r sd^2)`` with
    ``corr(X, T) = sqrt(r)`` and true cut ``(cut - mean) / (sd sqrt(r))`` (no continuity
    correction on the true scale).  The SD is the n-denominator SD of the scores.

    Examples
    --------
    Subkoviak (1988), Table 1 and 2 at ``|z| = 0.5`` and reliability 0.6: agreement .74, kappa .40.

    >>> res = subkoviak_normal(mean=0.0, sd=1.0, cut=0.5, reliability=0.6)
    >>> round(res.consistency, 2), round(res.kappa, 2)
    (0.74, 0.4)
    """
    rel = _reliability(reliability)
    if cut is None:
        raise DecisionError("cut is required (pass means score >= cut)")
    c = _number(cut, "cut")
    n_cand = 0
    p_obs = math.nan
    if scores is not None:
        if mean is not None or sd is not None:
            raise DecisionError("give either scores or mean= and sd=, not both")
        x = _scores(scores)
        mu, s = float(x.mean()), float(x.std())
        n_cand = int(x.size)
        p_obs = float((x >= c).mean())
        auto = 0.5 if np.all(x == np.round(x)) else 0.0
    else:
        if mean is None or sd is None:
            raise DecisionError("give scores, or both mean= and sd=")
        mu, s = _number(mean, "mean"), _number(sd, "sd")
        if not s > 0:
            raise DecisionError(f"sd must be positive; got {sd!r}")
        auto = 0.0
    cc = auto if continuity is None else _number(continuity, "continuity")
    z = (c - cc - mu) / s
    p_both_fail = _bvn(z, z, rel)
    p_both_pass = _bvn(-z, -z, rel)
    p0 = p_both_fail + p_both_pass
    p_fail = float(stats.norm.cdf(z))
    pc = p_fail**2 + (1 - p_fail) ** 2
    kappa = (p0 - pc) / (1 - pc)
    zt = (c - mu) / (s * math.sqrt(rel))
    sr = math.sqrt(rel)
    both_fail_true = _bvn(z, zt, sr)  # observed fail and true fail
    p_true_fail = float(stats.norm.cdf(zt))
    false_pos = p_true_fail - both_fail_true
    false_neg = p_fail - both_fail_true
    return DecisionResult(
        method="Subkoviak normal approximation",
        cut=c,
        reliability=rel,
        n_candidates=n_cand,
        consistency=float(p0),
        kappa=float(kappa),
        accuracy=float(1.0 - false_pos - false_neg),
        false_positive=float(false_pos),
        false_negative=float(false_neg),
        p_pass_expected=1.0 - p_fail,
        p_pass_observed=p_obs,
        details={"z": float(z), "z_true": float(zt), "continuity": float(cc), "mean": mu, "sd": s},
    )
