"""Inter-rater agreement and instrument statistics (pure functions).

Every agreement statistic takes ``ratings`` as a 2-D array-like or a
:class:`pandas.DataFrame` with **rows = subjects (units)** and **columns =
raters**; ``NaN``/``None``/``pd.NA`` mark a missing rating.  Each returns an
:class:`AgreementResult` that carries the estimate, its confidence interval
and standard error, and every convention used to get them (weights, level,
missing-data rule, CI method, confidence level, method version), so that a
report can print :meth:`AgreementResult.describe` and archive
:meth:`AgreementResult.to_dict`.

Conventions shared by all functions
-----------------------------------
categories
    The ordered list of possible levels.  Default: the sorted distinct levels
    observed.  Declaring the full scale matters: an unused level still counts
    in agreement weights (its position widens linear/quadratic distances) and
    in Gwet's AC1 / Brennan-Prediger chance agreement (``q`` = number of
    declared levels).  A rating that is not in ``categories`` raises
    :class:`AgreementError` naming the value and where it is.
weights
    Agreement weights by **position** in ``categories`` (not by the numeric
    value of the level): ``None`` (identity, unweighted), ``"linear"``
    (``1 - |i-j|/(q-1)``), ``"quadratic"`` (``1 - (i-j)^2/(q-1)^2``) or a
    ``q x q`` matrix of agreement weights (1 = full agreement).
Confidence intervals
    When ``bootstrap == 0`` the analytic interval of the published method is
    used where one exists (the function's docstring says which).  When
    ``bootstrap > 0`` the CI is the percentile interval, and the SE the
    standard deviation, of ``bootstrap`` subject-level resamples drawn with a
    ``numpy.random.default_rng(seed)`` generator (reproducible).  Krippendorff's
    alpha has no analytic interval, so it defaults to ``bootstrap=1000``.
    The Gwet-family analytic variances are used with the finite-population
    correction switched off (``f = 0``, i.e. ``N = inf`` in irrCAC).
Degenerate input
    Input that cannot be analysed at all (not 2-D, fewer than 2 raters, no
    subject with two ratings, all missing, unknown options) raises
    :class:`AgreementError` (a :class:`ValueError`) with a one-line message.
    Input for which a coefficient is mathematically undefined (e.g. every
    rating in one category, so that chance agreement is 1 and kappa is 0/0)
    returns ``value = nan`` with the reason in ``result.note``; such a result
    is never a silent number.  Bootstrap resamples in which the statistic is
    undefined are left out of the interval and counted in ``result.note``.

References
----------
Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.).
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in
assessing rater reliability. *Psychological Bulletin*, 86(2), 420-428.
McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
correlation coefficients. *Psychological Methods*, 1(1), 30-46.
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors
of kappa and weighted kappa. *Psychological Bulletin*, 72(5), 323-327.
Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
coefficient alpha. *Applied Psychological Measurement*, 11(1), 93-103.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import __version__

#: The version recorded in every result, so a report says which evalkit computed it.
METHOD_VERSION = f"evalkit {__version__}"

__all__ = [
    "AgreementError",
    "AgreementResult",
    "METHOD_VERSION",
    "__version__",
    "percent_agreement",
    "weighted_percent_agreement",
    "cohen_kappa",
    "conger_kappa",
    "scott_pi",
    "fleiss_kappa",
    "brennan_prediger",
    "gwet_ac",
    "krippendorff_alpha",
    "icc",
    "cronbach_alpha",
    "corrected_item_total",
]

_GWET = "Gwet 2014"
_GWET_CI = (
    "analytic: Gwet 2014; linearised variance as in irrCAC, no finite-population "
    "correction (f=0), t interval with n-1 df, upper bound capped at 1"
)
_KRIPP_DEFAULT_BOOTSTRAP = 1000
#: Resample counts are drawn as a multinomial over distinct feature rows when there
#: are at most this fraction of distinct rows per subject (else subject indices are drawn).
_MULTINOMIAL_MAX_FRACTION = 0.25
#: Units whose category counts are held at once while the ordinal coincidence matrix is accumulated.
_UNIT_CHUNK = 65_536
_RATIO_MAX_VALUES = 1000


class AgreementError(ValueError):
    """Invalid input for an agreement statistic (one-line message saying what was expected)."""


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class AgreementResult:
    """Result of an agreement / reliability statistic, with its conventions.

    Attributes
    ----------
    statistic : str
        Name, e.g. ``"Gwet's AC2"``, ``"ICC(2,1)"``.
    value : float
        Point estimate (``nan`` when undefined; see ``note``).
    ci : tuple of float
        ``(low, high)`` confidence interval at level ``confidence``
        (``(nan, nan)`` when none was computed).
    se : float
        Standard error (``nan`` when the method gives none).
    n_subjects, n_raters : int
        Subjects (units) used and raters (columns; items for Cronbach's alpha).
    weights : str or None
        ``"identity"``, ``"linear"``, ``"quadratic"``, ``"custom"``,
        ``"tolerance +/-k levels"`` or ``None`` when not applicable.
    level : str or None
        Krippendorff level of measurement or ICC form.
    missing : str
        The missing-data rule applied, in words.
    ci_method : str
        ``"analytic: <source>; <details>"``, ``"bootstrap: N resamples, seed S,
        percentile"`` or ``"none"``.
    confidence : float
        Confidence level of ``ci``.
    version : str
        Method version (:data:`METHOD_VERSION`).
    categories : tuple or None
        Levels used (in order), when the statistic is categorical.
    n_excluded : int
        Subjects (rows) excluded by the missing-data rule.
    note : str
        Why ``value`` is ``nan``, or other caveats (empty when none).
    details : dict
        Components such as ``pa``/``pe``, mean squares, degrees of freedom.
    """

    statistic: str
    value: float
    ci: tuple[float, float]
    se: float
    n_subjects: int
    n_raters: int
    weights: str | None = None
    level: str | None = None
    missing: str = ""
    ci_method: str = "none"
    confidence: float = 0.95
    version: str = METHOD_VERSION
    categories: tuple | None = None
    n_excluded: int = 0
    note: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary of every field (JSON-friendly; NaN stays NaN)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            out[f.name] = _plain(getattr(self, f.name))
        return out

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> r = AgreementResult("Gwet's AC2", 0.8123, (0.741, 0.883), 0.035, 40, 3,
        ...     weights="quadratic", missing="all available ratings kept",
        ...     ci_method="analytic: Gwet 2014; linearised variance")
        >>> r.describe()
        "Gwet's AC2 (quadratic weights) = 0.812, 95% CI 0.74–0.88 (analytic, Gwet 2014), 40 subjects, 3 raters, missing: all available ratings kept"
        """
        qual = []
        if self.weights and self.weights != "identity":
            qual.append(
                self.weights if self.weights.startswith("tolerance") else f"{self.weights} weights"
            )
        if self.level and not self.statistic.startswith("ICC"):
            qual.append(self.level)
        head = self.statistic + (f" ({', '.join(qual)})" if qual else "")
        if math.isnan(self.value):
            est = "undefined" + (f" ({self.note})" if self.note else "")
        else:
            est = f"{self.value:.3f}"
        lo, hi = self.ci
        if self.ci_method == "none" or math.isnan(lo) or math.isnan(hi):
            ci = "no CI"
        else:
            method = self.ci_method.split(";", 1)[0].replace(": ", ", ", 1)
            ci = f"{self.confidence * 100:g}% CI {lo:.2f}–{hi:.2f} ({method})"
        unit = "items" if self.statistic.startswith("Cronbach") else "raters"
        return (
            f"{head} = {est}, {ci}, {self.n_subjects} subjects, {self.n_raters} {unit}, "
            f"missing: {self.missing}"
        )


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------------- input handling


@dataclass
class _Data:
    values: np.ndarray  # float (numeric) or object
    missing: np.ndarray  # bool, same shape
    numeric: bool
    row_labels: Sequence | None  # None -> positions
    col_labels: Sequence | None

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def where(self, i: int, j: int) -> str:
        if self.row_labels is None:
            return f"row {i}, rater {j} (0-based positions)"
        return f"row {self.row_labels[i]!r}, rater {self.col_labels[j]!r}"  # type: ignore[index]


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _prepare(r: Any, what: str = "ratings", min_cols: int = 2, col_word: str = "raters") -> _Data:
    """Validate shape and find missing cells; numeric data become a float array."""
    if isinstance(r, pd.DataFrame):
        rows, cols = list(r.index), list(r.columns)
        dtypes = r.dtypes
        if r.shape[1] > 0 and all(
            pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in dtypes
        ):
            vals = r.to_numpy(dtype=float, na_value=np.nan)
        else:
            vals = r.to_numpy(dtype=object)
    else:
        if isinstance(r, (str, bytes)) or r is None:
            raise AgreementError(f"{what} must be a 2-D array or DataFrame (rows = subjects, columns = {col_word}); got {type(r).__name__}")
        try:
            # lists go through dtype=object so that NaN/None stay missing and numbers stay
            # numbers (plain np.asarray would turn [["a", nan]] into the strings "a", "nan")
            vals = r if isinstance(r, np.ndarray) else np.asarray(r, dtype=object)
        except ValueError as exc:  # ragged lists
            raise AgreementError(f"{what} must be a rectangular 2-D array (rows = subjects, columns = {col_word}): {exc}") from None
        rows = cols = None
        if vals.dtype.kind == "b":
            vals = vals.astype(object)
    if vals.ndim != 2:
        raise AgreementError(
            f"{what} must be 2-D (rows = subjects, columns = {col_word}); got {vals.ndim}-D input of shape {vals.shape}"
        )
    n, m = vals.shape
    if m < min_cols:
        raise AgreementError(f"{what} need at least {min_cols} {col_word} (columns); got {m}")
    if n == 0:
        raise AgreementError(f"{what} have no subjects (rows)")
    if vals.dtype.kind in "iuf":
        vals = vals.astype(float, copy=False)
        return _Data(vals, np.isnan(vals), True, rows, cols)
    if vals.dtype.kind not in "OUS":
        vals = vals.astype(object)
    vals = vals.astype(object, copy=False)
    missing = np.asarray(pd.isna(vals), dtype=bool)
    present = vals[~missing]
    if present.size and all(_is_number(v) for v in present.tolist()):
        fv = np.full(vals.shape, np.nan)
        fv[~missing] = np.asarray(present.tolist(), dtype=float)
        return _Data(fv, missing, True, rows, cols)
    return _Data(vals, missing, False, rows, cols)


def _first_cell(mask: np.ndarray, k: int) -> tuple[int, int]:
    flat = int(np.flatnonzero(mask.ravel())[k])
    return divmod(flat, mask.shape[1])


def _encode(data: _Data, categories: Sequence | None) -> tuple[list, np.ndarray]:
    """Map ratings to positions in ``categories``: codes (n x r, -1 = missing)."""
    vals, miss = data.values, data.missing
    present = ~miss
    codes = np.full(vals.shape, -1, dtype=np.intp)
    if categories is not None:
        if isinstance(categories, (str, bytes)):
            raise AgreementError("categories must be a list of levels, not a single string")
        cats = list(np.asarray(categories, dtype=object).ravel().tolist()) if isinstance(categories, np.ndarray) else list(categories)
        if not cats:
            raise AgreementError("categories must list at least one level")
        if any(pd.isna(c) for c in cats if not isinstance(c, (list, tuple))):
            raise AgreementError("categories must not contain a missing value (NaN/None)")
        try:
            if len(set(cats)) != len(cats):
                raise AgreementError(f"categories contain duplicates: {cats}")
        except TypeError:
            raise AgreementError("categories must be hashable levels (numbers or strings)") from None
    else:
        cats = None

    if data.numeric:
        obs = vals[present]
        if cats is None:
            uniq = np.unique(obs)
            codes[present] = np.searchsorted(uniq, obs)
            return [_py(x) for x in uniq.tolist()], codes
        if all(_is_number(c) for c in cats):
            carr = np.asarray(cats, dtype=float)
            order = np.argsort(carr, kind="stable")
            srt = carr[order]
            pos = np.minimum(np.searchsorted(srt, obs), len(srt) - 1)
            ok = srt[pos] == obs
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                i, j = _first_cell(present, k)
                raise AgreementError(
                    f"rating {_py(obs[k])!r} at {data.where(i, j)} is not in categories {cats}"
                )
            codes[present] = order[pos]
            return cats, codes
        # numeric data, non-numeric categories: nothing can match
        i, j = _first_cell(present, 0) if obs.size else (0, 0)
        if obs.size:
            raise AgreementError(f"rating {_py(obs[0])!r} at {data.where(i, j)} is not in categories {cats}")
        return cats, codes

    obs_list = vals[present].tolist()
    if cats is None:
        try:
            cats = sorted(set(obs_list))
        except TypeError:
            raise AgreementError(
                "observed ratings mix types that cannot be ordered; pass categories= explicitly"
            ) from None
    lookup = {c: k for k, c in enumerate(cats)}
    try:
        mapped = np.fromiter((lookup.get(v, -1) for v in obs_list), dtype=np.intp, count=len(obs_list))
    except TypeError:
        raise AgreementError("ratings must be numbers or strings (hashable levels)") from None
    bad = np.flatnonzero(mapped < 0)
    if bad.size:
        k = int(bad[0])
        i, j = _first_cell(present, k)
        raise AgreementError(f"rating {obs_list[k]!r} at {data.where(i, j)} is not in categories {cats}")
    codes[present] = mapped
    return cats, codes


def _py(x: Any) -> Any:
    """Python scalar; integral floats shown as int (3.0 -> 3)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def _weight_matrix(weights: Any, q: int) -> tuple[np.ndarray, str]:
    if weights is None or (isinstance(weights, str) and weights.lower() in ("identity", "unweighted", "none")):
        return np.eye(q), "identity"
    idx = np.arange(q, dtype=float)
    diff = np.abs(idx[:, None] - idx[None, :])
    if isinstance(weights, str):
        w = weights.lower()
        if w == "linear":
            return (np.ones((q, q)) if q == 1 else 1.0 - diff / (q - 1)), "linear"
        if w == "quadratic":
            return (np.ones((q, q)) if q == 1 else 1.0 - diff**2 / (q - 1) ** 2), "quadratic"
        raise AgreementError(f"unknown weights {weights!r}; expected None, 'linear', 'quadratic' or a {q}x{q} matrix")
    try:
        mat = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise AgreementError(f"weights must be None, 'linear', 'quadratic' or a numeric {q}x{q} matrix") from None
    if mat.shape != (q, q):
        shape = "x".join(str(s) for s in mat.shape) or "scalar"
        raise AgreementError(f"weights matrix must be {q}x{q} (one row/column per category); got {shape}")
    if not np.isfinite(mat).all():
        raise AgreementError("weights matrix must contain only finite numbers")
    return mat, "custom"


def _count_matrix(codes: np.ndarray, q: int) -> np.ndarray:
    """n x q matrix: number of raters who put subject i in category k."""
    n = codes.shape[0]
    c = np.where(codes < 0, q, codes) + (q + 1) * np.arange(n)[:, None]
    return np.bincount(c.ravel(), minlength=n * (q + 1)).reshape(n, q + 1)[:, :q].astype(float)


def _check_boot(bootstrap: Any, confidence: Any) -> int:
    if isinstance(bootstrap, (bool, np.bool_)) or not isinstance(bootstrap, numbers.Integral) or bootstrap < 0:
        raise AgreementError(f"bootstrap must be a non-negative integer (number of resamples); got {bootstrap!r}")
    if not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise AgreementError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}")
    return int(bootstrap)


# --------------------------------------------------------------------------- bootstrap engine


def _group_rows(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique feature rows and, for each subject, the index of its row."""
    uniq, inv = np.unique(features, axis=0, return_inverse=True)
    return uniq, inv.reshape(-1)


def _bootstrap(
    uniq: np.ndarray,
    inv: np.ndarray,
    stat: Callable[[np.ndarray], np.ndarray],
    n_boot: int,
    seed: Any,
    confidence: float,
    by_counts: bool = False,
) -> tuple[float, tuple[float, float], str, str]:
    """Seeded percentile bootstrap over subjects.

    ``stat`` maps column sums of per-subject features (B x p) to B values, so a
    resample is a count-weighted sum of the (deduplicated) feature rows; with
    ``by_counts`` it is given the resample counts of the distinct rows (B x U)
    instead, for a statistic that is not a function of column sums.
    Subjects sharing a feature row are exchangeable, so the resample counts per
    distinct row are drawn as Multinomial(n, row frequencies) when there are few
    distinct rows (equivalent to drawing n subjects with replacement), and by
    drawing subject indices otherwise.
    """
    n = inv.shape[0]
    U = uniq.shape[0]
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    freq = np.bincount(inv, minlength=U)
    use_multinomial = U <= _MULTINOMIAL_MAX_FRACTION * n
    chunk = max(1, min(n_boot, 4_000_000 // max(n if not use_multinomial else U, 1)))
    inv64 = inv.astype(np.int64)
    for start in range(0, n_boot, chunk):
        c = min(chunk, n_boot - start)
        if use_multinomial:
            counts = rng.multinomial(n, freq / n, size=c).astype(float)
        else:
            idx = rng.integers(0, n, size=(c, n), dtype=np.int32)
            g = inv64[idx]
            g += (np.arange(c, dtype=np.int64) * U)[:, None]
            counts = np.bincount(g.ravel(), minlength=c * U).reshape(c, U).astype(float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            reps[start : start + c] = stat(counts if by_counts else counts @ uniq)
    ok = np.isfinite(reps)
    n_bad = int((~ok).sum())
    note = ""
    if n_bad:
        note = f"{n_bad} of {n_boot} bootstrap resamples gave an undefined value and were left out"
    good = reps[ok]
    if good.size < 2:
        return math.nan, (math.nan, math.nan), _boot_label(n_boot, seed), note or "bootstrap failed"
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(good, [a, 1.0 - a])
    return float(np.std(good, ddof=1)), (float(lo), float(hi)), _boot_label(n_boot, seed), note


def _boot_label(n_boot: int, seed: Any) -> str:
    return f"bootstrap: {n_boot} resamples, seed {seed}, percentile"


def _t_ci(value: float, se: float, df: int, confidence: float, lo_cap: float | None, hi_cap: float | None) -> tuple[float, float]:
    if not (math.isfinite(value) and math.isfinite(se)) or df < 1:
        return (math.nan, math.nan)
    t = float(stats.t.ppf(0.5 + confidence / 2.0, df))
    lo, hi = value - t * se, value + t * se
    if lo_cap is not None:
        lo = max(lo_cap, lo)
    if hi_cap is not None:
        hi = min(hi_cap, hi)
    return (float(lo), float(hi))


def _join(*notes: str) -> str:
    return "; ".join(x for x in notes if x)


# --------------------------------------------------------------------------- Gwet family


def _gwet_inputs(ratings: Any, categories: Any) -> tuple[_Data, list, np.ndarray, np.ndarray]:
    data = _prepare(ratings)
    cats, codes = _encode(data, categories)
    keep = (codes >= 0).any(axis=1)
    if not keep.any():
        raise AgreementError("all ratings are missing")
    A = _count_matrix(codes[keep], len(cats))
    if not (A.sum(axis=1) >= 2).any():
        raise AgreementError("no subject has ratings from at least 2 raters (no overlap between raters)")
    return data, cats, A, keep


def _gwet_features(A: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Per-subject features [pa_i*has2, has2, 1, r_ik/r_i ...] (Gwet 2014)."""
    ri = A.sum(axis=1)
    has2 = ri >= 2
    sum_q = (A * (A @ W.T - 1.0)).sum(axis=1)
    den = np.where(has2, ri * (ri - 1.0), 1.0)
    pa_i = np.where(has2, sum_q / den, 0.0)
    return np.column_stack([pa_i, has2.astype(float), np.ones(len(ri)), A / ri[:, None]])


def _gwet_stat(kind: str, W: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    q = W.shape[0]
    wsum = float(W.sum())

    def f(S: np.ndarray) -> np.ndarray:
        pa = S[:, 0] / S[:, 1]
        if kind == "pa":
            return pa
        pi = S[:, 3:] / S[:, 2:3]
        if kind == "fleiss":
            pe = np.einsum("bk,kl,bl->b", pi, W, pi)
        elif kind == "gwet":
            pe = wsum * (pi * (1.0 - pi)).sum(axis=1) / (q * (q - 1)) if q >= 2 else np.full(len(pa), np.nan)
        else:  # bp
            pe = np.full(len(pa), wsum / q**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (pa - pe) / (1.0 - pe)
        out[np.isclose(pe, 1.0, rtol=0, atol=1e-12)] = np.nan
        return out

    return f


_GWET_NAMES = {
    "fleiss": "Fleiss' kappa",
    "scott": "Scott's pi",
    "gwet": "Gwet's AC1",
    "bp": "Brennan-Prediger",
    "pa": "Percent agreement",
}


def _gwet_family(
    kind: str,
    ratings: Any,
    categories: Any,
    weights: Any,
    bootstrap: int,
    seed: Any,
    confidence: float,
    tolerance: int | None = None,
) -> AgreementResult:
    n_boot = _check_boot(bootstrap, confidence)
    data, cats, A, keep = _gwet_inputs(ratings, categories)
    q = len(cats)
    if tolerance is not None:
        idx = np.arange(q)
        W = (np.abs(idx[:, None] - idx[None, :]) <= tolerance).astype(float)
        wname = "identity" if tolerance == 0 else f"tolerance +/-{tolerance} level{'s' if tolerance != 1 else ''}"
    else:
        W, wname = _weight_matrix(weights, q)
    stat_kind = "fleiss" if kind == "scott" else kind
    F = _gwet_features(A, W)
    stat = _gwet_stat(stat_kind, W)
    S = F.sum(axis=0)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(stat(S)[0])
    n = A.shape[0]
    n2 = int(F[:, 1].sum())
    pa = float(S[0, 0] / S[0, 1])
    pi = S[0, 3:] / n
    wsum = float(W.sum())
    if stat_kind == "fleiss":
        pe = float(pi @ W @ pi)
    elif stat_kind == "gwet":
        pe = wsum * float((pi * (1 - pi)).sum()) / (q * (q - 1)) if q >= 2 else math.nan
    elif stat_kind == "bp":
        pe = wsum / q**2
    else:
        pe = 0.0

    name = _GWET_NAMES[kind]
    if kind == "gwet" and wname != "identity":
        name = "Gwet's AC2"
    note = ""
    if stat_kind != "pa" and not math.isfinite(value):
        if stat_kind == "gwet" and q < 2:
            note = "only one category (q=1): Gwet's chance agreement is undefined; declare categories="
        else:
            note = "chance agreement pe = 1 (all ratings in one category), so the coefficient is 0/0 and undefined"
        value = math.nan

    # analytic linearised variance (Gwet 2014 / irrCAC, f = 0)
    se = math.nan
    if math.isfinite(value) and n >= 2:
        has2 = F[:, 1] > 0
        pa_i = F[:, 0]
        ri = A.sum(axis=1)
        if stat_kind == "pa":
            x = (n / n2) * pa_i
            coef = pa
        else:
            coef = value
            k_i = (n / n2) * (pa_i - pe * has2) / (1 - pe)
            if stat_kind == "fleiss":
                pi_w = (W @ pi + W.T @ pi) / 2
                pe_i = (A @ pi_w) / ri
                x = k_i - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
            elif stat_kind == "gwet":
                pe_i = (wsum / (q * (q - 1))) * (A @ (1 - pi)) / ri
                x = k_i - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
            else:
                x = k_i
        se = float(math.sqrt(((x - coef) ** 2).sum() / (n * (n - 1))))

    if n_boot and math.isfinite(value):
        uniq, inv = _group_rows(F)
        se, ci, ci_method, bnote = _bootstrap(uniq, inv, stat, n_boot, seed, confidence)
        note = _join(note, bnote)
    else:
        if stat_kind == "pa":
            ci = _t_ci(value, se, n - 1, confidence, 0.0, 1.0)
            ci_method = _GWET_CI.replace("upper bound capped at 1", "clipped to [0, 1]")
        else:
            ci = _t_ci(value, se, n - 1, confidence, None, 1.0)
            ci_method = _GWET_CI
        if not math.isfinite(se):
            ci_method = "none"
    n_empty = int((~keep).sum())
    missing = "all available ratings kept (subjects with <2 ratings enter chance agreement only, Gwet 2014)"
    if stat_kind == "pa":
        missing = "all available ratings kept; agreement averaged over subjects with >=2 ratings (Gwet 2014)"
    if n_empty:
        missing += f"; {n_empty} subject(s) with no rating dropped"
    return AgreementResult(
        statistic=name,
        value=value,
        ci=ci,
        se=se,
        n_subjects=n,
        n_raters=data.shape[1],
        weights=wname,
        missing=missing,
        ci_method=ci_method,
        confidence=float(confidence),
        categories=tuple(cats),
        n_excluded=n_empty,
        note=note,
        details={"pa": pa, "pe": pe, "q": q, "n_with_2_or_more": n2, "weights_matrix": W.tolist()},
    )


def percent_agreement(
    ratings: Any,
    tolerance: int = 0,
    categories: Sequence | None = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Percent (pairwise) agreement among any number of raters.

    For each subject with at least 2 ratings, the proportion of agreeing
    (ordered) pairs of ratings; averaged over those subjects (Gwet 2014,
    ``pa.coeff.raw``).  With ``tolerance = t`` two ratings agree when their
    positions in ``categories`` differ by at most ``t``.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
        Missing ratings as NaN/None.
    tolerance : int, default 0
        Agreement tolerance in level positions (``|i - j| <= tolerance``).
    categories : sequence, optional
        Ordered possible levels (default: sorted observed levels).
    bootstrap : int, default 0
        Number of subject-level resamples; 0 = analytic CI.
    seed : int, default 0
        Seed of the bootstrap generator.
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: analytic by default: Gwet's linearised variance of ``pa`` (the
    Brennan-Prediger variance with chance agreement 0, no finite-population
    correction) with a t interval on n-1 df clipped to [0, 1], where n is the
    number of subjects with at least one rating.  With ``bootstrap > 0`` a
    seeded percentile bootstrap over subjects.  Raises :class:`AgreementError`
    when no subject has 2 ratings.

    Examples
    --------
    >>> r = [[1, 1, 2], [2, 2, 2], [3, 3, None], [1, 2, 3]]
    >>> res = percent_agreement(r)
    >>> round(res.value, 4)
    0.5833
    >>> round(percent_agreement(r, tolerance=1).value, 4)
    0.9167
    """
    if isinstance(tolerance, (bool, np.bool_)) or not isinstance(tolerance, numbers.Integral) or tolerance < 0:
        raise AgreementError(f"tolerance must be a non-negative integer number of levels; got {tolerance!r}")
    return _gwet_family("pa", ratings, categories, None, bootstrap, seed, confidence, tolerance=int(tolerance))


def fleiss_kappa(
    ratings: Any,
    categories: Sequence | None = None,
    weights: Any = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Fleiss' generalised (weighted) kappa, Gwet's formulation for incomplete designs.

    ``pa`` is averaged over subjects rated at least twice; the category
    propensities ``pi_k`` average ``r_ik / r_i`` over every subject with at
    least one rating, so a subject with a single rating contributes to chance
    agreement only (Gwet 2014, irrCAC ``fleiss.kappa.raw``).  Equals Fleiss
    (1971) kappa on complete data.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
    categories : sequence, optional
        Ordered possible levels (default: sorted observed levels).
    weights : None, "linear", "quadratic" or (q, q) array
        Agreement weights by position in ``categories``.
    bootstrap : int, default 0
        Number of subject-level resamples; 0 = analytic CI.
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: analytic by default (Gwet 2014 linearised variance, f = 0, t interval
    with n-1 df, upper bound capped at 1; matches irrCAC).  ``nan`` with a note
    when chance agreement is 1 (every rating in one category).

    Examples
    --------
    >>> r = [[1, 1, 1], [2, 2, 1], [3, 3, 3], [1, 2, 2], [3, 3, None]]
    >>> res = fleiss_kappa(r)
    >>> round(res.value, 4), round(res.se, 4)
    (0.5946, 0.2219)
    """
    return _gwet_family("fleiss", ratings, categories, weights, bootstrap, seed, confidence)


def scott_pi(
    ratings: Any,
    categories: Sequence | None = None,
    weights: Any = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Scott's pi (and its multi-rater generalisation).

    For two raters with complete data this is Scott's (1955) pi.  With missing
    ratings or more than two raters it is computed exactly as
    :func:`fleiss_kappa` (Fleiss' kappa *is* the generalisation of Scott's pi;
    Gwet 2014), keeping every available rating; only the reported name differs.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
    categories : sequence, optional
    weights : None, "linear", "quadratic" or (q, q) array
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: as :func:`fleiss_kappa` (analytic, Gwet 2014, f = 0).

    Examples
    --------
    >>> r = [["a", "a"], ["b", "b"], ["a", "b"], ["b", "b"], ["a", "a"]]
    >>> round(scott_pi(r).value, 4)
    0.6
    """
    return _gwet_family("scott", ratings, categories, weights, bootstrap, seed, confidence)


def brennan_prediger(
    ratings: Any,
    categories: Sequence | None = None,
    weights: Any = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Brennan-Prediger coefficient (chance agreement ``sum(W) / q**2``).

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
    categories : sequence, optional
        Declared levels; ``q`` counts unused declared levels too.
    weights : None, "linear", "quadratic" or (q, q) array
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: analytic by default (Gwet 2014 / irrCAC ``bp.coeff.raw`` variance,
    f = 0, t interval with n-1 df, upper bound capped at 1).  Undefined (NaN
    with note) only when ``q = 1``.

    Examples
    --------
    >>> r = [[1, 1, 1], [2, 2, 1], [3, 3, 3], [1, 2, 2], [3, 3, None]]
    >>> round(brennan_prediger(r).value, 4)
    0.6
    """
    return _gwet_family("bp", ratings, categories, weights, bootstrap, seed, confidence)


def gwet_ac(
    ratings: Any,
    categories: Sequence | None = None,
    weights: Any = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Gwet's AC1 (unweighted) or AC2 (weighted) agreement coefficient.

    Chance agreement ``pe = sum(W) * sum_k pi_k (1 - pi_k) / (q (q - 1))`` with
    ``pi_k`` as in :func:`fleiss_kappa` (Gwet 2014, irrCAC ``gwet.ac1.raw``).

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
    categories : sequence, optional
        Declared levels; ``q`` counts unused declared levels too.
    weights : None, "linear", "quadratic" or (q, q) array
        ``None`` gives AC1, anything else AC2.
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: analytic by default (Gwet 2014 linearised variance, f = 0, t interval
    with n-1 df, upper bound capped at 1; matches irrCAC).  With a single
    category (``q = 1``) the coefficient is undefined: NaN with a note.

    Examples
    --------
    >>> r = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3],
    ...      [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1],
    ...      [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, None, 3, None]]
    >>> res = gwet_ac(r)
    >>> round(res.value, 5), round(res.se, 5)
    (0.77544, 0.14295)
    """
    return _gwet_family("gwet", ratings, categories, weights, bootstrap, seed, confidence)


# --------------------------------------------------------------------------- Cohen's kappa


def cohen_kappa(
    ratings: Any,
    categories: Sequence | None = None,
    weights: Any = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Cohen's (weighted) kappa for exactly two raters.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, 2)
    categories : sequence, optional
        Ordered levels; unused levels change weighted kappa via the weights.
    weights : None, "linear", "quadratic" or (q, q) array
        Agreement weights by position in ``categories`` (sklearn's
        ``weights="linear"/"quadratic"`` disagreement weights give the same
        kappa).
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    Missing data: only subjects rated by both raters are used (the number
    dropped is in ``n_excluded``).  CI: analytic by default, the large-sample
    variance of Fleiss, Cohen & Everitt (1969) (as in Gwet 2014 ``kappa2.table``
    and statsmodels ``std_kappa``), t interval with n-1 df, upper bound capped
    at 1.  NaN with a note when chance agreement is 1.

    Examples
    --------
    >>> r = [[1, 1], [2, 2], [3, 3], [1, 2], [2, 2], [3, 2], [None, 1]]
    >>> res = cohen_kappa(r)
    >>> res.n_subjects, round(res.value, 4), round(res.se, 4)
    (6, 0.5, 0.2602)
    >>> round(cohen_kappa(r, weights="quadratic").value, 4)
    0.6667
    """
    n_boot = _check_boot(bootstrap, confidence)
    data = _prepare(ratings)
    if data.shape[1] != 2:
        raise AgreementError(f"cohen_kappa needs exactly 2 raters (columns); got {data.shape[1]}")
    cats, codes = _encode(data, categories)
    both = (codes >= 0).all(axis=1)
    if not (codes >= 0).any():
        raise AgreementError("all ratings are missing")
    if not both.any():
        raise AgreementError("no subject is rated by both raters (no overlap)")
    q = len(cats)
    W, wname = _weight_matrix(weights, q)
    a, b = codes[both, 0], codes[both, 1]
    n = int(both.sum())
    cell = a * q + b

    def stat(S: np.ndarray) -> np.ndarray:
        P = S.reshape(-1, q, q) / S.sum(axis=1)[:, None, None]
        pa = np.einsum("bkl,kl->b", P, W)
        pe = np.einsum("bk,kl,bl->b", P.sum(axis=2), W, P.sum(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (pa - pe) / (1 - pe)
        out[np.isclose(pe, 1.0, rtol=0, atol=1e-12)] = np.nan
        return out

    table = np.bincount(cell, minlength=q * q).astype(float)
    value = float(stat(table[None, :])[0])
    P = table.reshape(q, q) / n
    prow, pcol = P.sum(axis=1), P.sum(axis=0)
    pa = float((W * P).sum())
    pe = float(prow @ W @ pcol)
    note = ""
    se = math.nan
    if not math.isfinite(value):
        value = math.nan
        note = "chance agreement pe = 1 (both raters used one and the same category), so kappa is 0/0 and undefined"
    else:
        w_row = W @ pcol  # mean weight of row category i
        w_col = W.T @ prow  # mean weight of column category j
        term = (P * (W - (1 - value) * (w_row[:, None] + w_col[None, :])) ** 2).sum()
        var = (term - (pa - 2 * (1 - value) * pe) ** 2) / (n * (1 - pe) ** 2)
        se = float(math.sqrt(max(var, 0.0)))
    if n_boot and math.isfinite(value):
        cells_u, inv = np.unique(cell, return_inverse=True)
        uniq = np.zeros((len(cells_u), q * q))
        uniq[np.arange(len(cells_u)), cells_u] = 1.0
        se, ci, ci_method, bnote = _bootstrap(uniq, inv.reshape(-1), stat, n_boot, seed, confidence)
        note = _join(note, bnote)
    else:
        ci = _t_ci(value, se, n - 1, confidence, None, 1.0)
        ci_method = (
            "analytic: Fleiss, Cohen & Everitt 1969; large-sample variance (Gwet 2014 kappa2.table), "
            "t interval with n-1 df, upper bound capped at 1"
        )
        if not math.isfinite(se):
            ci_method = "none"
    dropped = data.shape[0] - n
    return AgreementResult(
        statistic="Cohen's kappa",
        value=value,
        ci=ci,
        se=se,
        n_subjects=n,
        n_raters=2,
        weights=wname,
        missing=f"subjects rated by both raters only ({dropped} of {data.shape[0]} dropped)",
        ci_method=ci_method,
        confidence=float(confidence),
        categories=tuple(cats),
        n_excluded=dropped,
        note=note,
        details={"pa": pa, "pe": pe, "q": q, "weights_matrix": W.tolist()},
    )


# --------------------------------------------------------------------------- Krippendorff's alpha

_LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _kripp_nominal_stat(q: int) -> Callable[[np.ndarray], np.ndarray]:
    def f(S: np.ndarray) -> np.ndarray:
        N, diag, nc = S[:, 0], S[:, 1], S[:, 2:]
        de = N * N - (nc * nc).sum(axis=1)
        out = 1.0 - (N - 1.0) * (N - diag) / de
        out[de <= 1e-12 * np.maximum(N * N, 1)] = np.nan
        return out

    return f


def _kripp_ordinal_stat(q: int) -> Callable[[np.ndarray], np.ndarray]:
    def f(S: np.ndarray) -> np.ndarray:
        o = S.reshape(-1, q, q)
        nc = o.sum(axis=2)
        N = nc.sum(axis=1)
        G = np.cumsum(nc, axis=1) - nc / 2.0  # mid-ranks: delta_ck = (G_k - G_c)^2
        d = (G[:, :, None] - G[:, None, :]) ** 2
        num = (o * d).sum(axis=(1, 2))
        den = np.einsum("bk,bkl,bl->b", nc, d, nc)
        out = 1.0 - (N - 1.0) * num / den
        out[den <= 0] = np.nan
        return out

    return f


def _kripp_ordinal_counts_stat(A: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Ordinal alpha of resamples given as counts of the distinct rating patterns (B x U), from the patterns'
    category counts ``A`` (U x q) alone: O(U q) per resample, no q x q array per pattern.

    With mid-ranks ``G`` from the resample's marginals ``n = counts @ A`` and ``d_kl = (G_k - G_l)^2`` (zero on
    the diagonal), a unit's share of the observed disagreement is ``sum_kl A_k A_l d_kl / (m - 1) =
    2 (m sum_k A_k G_k^2 - (sum_k A_k G_k)^2) / (m - 1)`` and the expected disagreement is ``2 (N sum_k n_k
    G_k^2 - (sum_k n_k G_k)^2)``. ``G`` is centred on its mean over the values (differences are unchanged).
    """
    m = A.sum(axis=1)
    w = 1.0 / (m - 1.0)

    def f(counts: np.ndarray) -> np.ndarray:
        nc = counts @ A
        N = nc.sum(axis=1)
        G = np.cumsum(nc, axis=1) - nc / 2.0
        G -= ((nc * G).sum(axis=1) / N)[:, None]
        P = A @ G.T  # U x B: sum_k A_k G_k for each pattern and resample
        P2 = A @ (G * G).T
        num = 2.0 * ((counts.T * w[:, None]) * (m[:, None] * P2 - P * P)).sum(axis=0)
        den = 2.0 * N * (nc * G * G).sum(axis=1)
        out = 1.0 - (N - 1.0) * num / den
        out[den <= 0] = np.nan
        return out

    return f


def _kripp_interval_stat(S: np.ndarray) -> np.ndarray:
    N, T1, T2, Do = S[:, 0], S[:, 1], S[:, 2], S[:, 3]
    de = 2.0 * (N * T2 - T1 * T1)
    out = 1.0 - (N - 1.0) * Do / de
    out[de <= 1e-12 * np.maximum(np.abs(N * T2), 1e-300)] = np.nan
    return out


def _kripp_ratio_stat(delta: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def f(S: np.ndarray) -> np.ndarray:
        N, Do, nc = S[:, 0], S[:, 1], S[:, 2:]
        de = ((nc @ delta) * nc).sum(axis=1)
        out = 1.0 - (N - 1.0) * Do / de
        out[de <= 0] = np.nan
        return out

    return f


def krippendorff_alpha(
    ratings: Any,
    level: str = "nominal",
    categories: Sequence | None = None,
    *,
    bootstrap: int = _KRIPP_DEFAULT_BOOTSTRAP,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Krippendorff's alpha (coincidence-matrix method) for any number of raters.

    ``alpha = 1 - (n - 1) * sum_ck o_ck d_ck / sum_ck n_c n_k d_ck`` where
    ``o`` is the coincidence matrix of pairable values (units with at least 2
    ratings; each unit's pairs weighted by ``1/(m_u - 1)``), ``n_c`` its
    marginals and ``n`` the number of pairable values (Krippendorff 2011).
    Missing values and unequal numbers of raters per unit are allowed.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (units, raters)
    level : {"nominal", "ordinal", "interval", "ratio"}
        Metric: nominal (0/1); ordinal (Krippendorff's rank metric,
        ``(sum_{g=c..k} n_g - (n_c + n_k)/2)^2`` on the marginal frequencies of
        the levels in ``categories`` order); interval ``(c - k)^2`` and ratio
        ``((c - k)/(c + k))^2`` on the numeric values.
    categories : sequence, optional
        Possible levels (the value domain).  For ordinal data their order
        defines the ranks (default: sorted observed values); for interval and
        ratio the levels must be numeric and ratings are checked against them.
    bootstrap : int, default 1000
        Number of unit-level resamples for the CI (there is no analytic CI);
        0 = point estimate only (``ci = (nan, nan)``).
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    The point estimate equals the ``krippendorff`` package's
    ``alpha(..., value_domain=categories)``.  CI: percentile bootstrap over
    *pairable units* (Krippendorff's own bootstrap resamples pairable values;
    resampling units keeps each unit's ratings together).  Units with fewer
    than 2 ratings carry no information and are excluded (``n_excluded``).
    When all pairable values are equal the expected disagreement is 0 and
    alpha is NaN with a note.  Level "ratio" handles at most 1000 distinct
    values.

    Examples
    --------
    >>> r = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3],
    ...      [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1],
    ...      [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, None, 3, None]]
    >>> [round(krippendorff_alpha(r, lv, bootstrap=0).value, 3)
    ...  for lv in ("nominal", "ordinal", "interval", "ratio")]
    [0.743, 0.815, 0.849, 0.797]
    >>> res = krippendorff_alpha(r, "interval", bootstrap=200, seed=1)
    >>> res.ci_method
    'bootstrap: 200 resamples, seed 1, percentile'
    """
    n_boot = _check_boot(bootstrap, confidence)
    if level not in _LEVELS:
        raise AgreementError(f"unknown level {level!r}; expected one of {', '.join(_LEVELS)}")
    data = _prepare(ratings)
    n_all, n_r = data.shape
    present = ~data.missing
    m = present.sum(axis=1)
    if not present.any():
        raise AgreementError("all ratings are missing")
    pair = m >= 2
    if not pair.any():
        raise AgreementError("no unit has ratings from at least 2 raters (no pairable values)")

    cats_out: tuple | None = None
    if level in ("interval", "ratio"):
        if not data.numeric:
            raise AgreementError(f"level {level!r} needs numeric ratings; use 'nominal' or 'ordinal' for labels")
        if categories is not None:
            if not all(_is_number(c) for c in categories):
                raise AgreementError(f"level {level!r} needs numeric categories; got {list(categories)}")
            cats, _ = _encode(data, categories)  # validates membership
            cats_out = tuple(cats)
    if level == "interval":
        X = data.values[pair]
        mp = m[pair].astype(float)
        center = float(np.nanmean(X))
        Y = np.where(np.isnan(X), 0.0, X - center)
        s1 = Y.sum(axis=1)
        s2 = (Y * Y).sum(axis=1)
        do = 2.0 * (mp * s2 - s1 * s1) / (mp - 1.0)
        F = np.column_stack([mp, s1, s2, np.maximum(do, 0.0)])
        stat: Callable[[np.ndarray], np.ndarray] = _kripp_interval_stat
        features_for_boot = F
    else:
        if level == "ratio":
            vals = data.values
            uniq_v = np.unique(vals[present])
            if len(uniq_v) > _RATIO_MAX_VALUES:
                raise AgreementError(
                    f"level 'ratio' supports at most {_RATIO_MAX_VALUES} distinct values; got {len(uniq_v)}"
                )
            if (uniq_v < 0).any():
                raise AgreementError("level 'ratio' needs non-negative values")
            codes = np.full(vals.shape, -1, dtype=np.intp)
            codes[present] = np.searchsorted(uniq_v, vals[present])
            q = len(uniq_v)
        else:
            cats, codes = _encode(data, categories)
            cats_out = tuple(cats)
            q = len(cats)
        if level == "ordinal":
            # the coincidence matrix sum_u (A_u A_u' - diag A_u) / (m_u - 1), accumulated a chunk of units at a
            # time: no per-unit q x q array (the bootstrap's rows are those of the distinct rating patterns)
            pc = codes[pair]
            o = np.zeros((q, q))
            for start in range(0, len(pc), _UNIT_CHUNK):
                A = _count_matrix(pc[start:start + _UNIT_CHUNK], q)
                w = 1.0 / (A.sum(axis=1) - 1.0)
                o += (A * w[:, None]).T @ A
                o[np.diag_indices(q)] -= w @ A
            stat = _kripp_ordinal_stat(q)
        elif level == "nominal":
            A = _count_matrix(codes[pair], q)
            mp = A.sum(axis=1)
            diag = (A * (A - 1.0)).sum(axis=1) / (mp - 1.0)
            features_for_boot = np.column_stack([mp, diag, A])
            stat = _kripp_nominal_stat(q)
        else:
            A = _count_matrix(codes[pair], q)
            mp = A.sum(axis=1)
            s = uniq_v[:, None] + uniq_v[None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                delta = np.where(s != 0, ((uniq_v[:, None] - uniq_v[None, :]) / np.where(s != 0, s, 1)) ** 2, 0.0)
            du = ((A @ delta) * A).sum(axis=1) / (mp - 1.0)
            features_for_boot = np.column_stack([mp, du, A])
            stat = _kripp_ratio_stat(delta)
    S = o.reshape(1, q * q) if level == "ordinal" else features_for_boot.sum(axis=0)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(stat(S)[0])
    note = ""
    if not math.isfinite(value):
        value = math.nan
        note = "all pairable values are identical: expected disagreement is 0, alpha undefined"
    se, ci, ci_method = math.nan, (math.nan, math.nan), "none"
    if n_boot and math.isfinite(value):
        by_counts = False
        if level == "ordinal":
            uniq, inv, by_counts = _ordinal_rows(pc, q)
            if by_counts:
                stat = _kripp_ordinal_counts_stat(uniq)
        else:
            uniq, inv = _group_rows(features_for_boot)
        se, ci, ci_method, bnote = _bootstrap(uniq, inv, stat, n_boot, seed, confidence, by_counts)
        note = _join(note, bnote)
    n_pair = int(pair.sum())
    excluded = n_all - n_pair
    return AgreementResult(
        statistic="Krippendorff's alpha",
        value=value,
        ci=ci,
        se=se,
        n_subjects=n_pair,
        n_raters=n_r,
        weights=None,
        level=level,
        missing=f"all pairable values kept; {excluded} unit(s) with <2 ratings excluded",
        ci_method=ci_method,
        confidence=float(confidence),
        categories=cats_out,
        n_excluded=excluded,
        note=note,
        details={"n_pairable_values": int(S[0, 0]) if level != "ordinal" else int(round(S.sum()))},
    )


def _ordinal_rows(codes: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The bootstrap's rows for ordinal alpha, found from the units' rating patterns (their sorted codes, as many
    as the input), and for each unit the index of its row; and whether they are the patterns' category counts
    (for :func:`_kripp_ordinal_counts_stat`) rather than coincidence rows.

    Coincidence rows (``(A_u A_u' - diag A_u) / (m_u - 1)``, flattened, distinct, sorted) are what grouping every
    unit's q x q row gave, in the same order, so the same seed draws the same resamples as before; they are
    computed once per distinct pattern, while those rows take no more room than the input. Beyond (very many
    distinct patterns of many raters over many levels), the rows are the patterns' category counts."""
    sc = np.sort(np.where(codes < 0, q, codes), axis=1)
    order = np.lexsort(sc[:, ::-1].T)
    ranked = sc[order]
    new = np.r_[True, (ranked[1:] != ranked[:-1]).any(axis=1)]
    pattern = np.empty(len(sc), dtype=np.intp)
    pattern[order] = np.cumsum(new) - 1
    P = _count_matrix(ranked[new], q)
    if len(P) * q * q > max(codes.size, 1 << 16):
        return P, pattern, True
    mp = P.sum(axis=1)
    o_u = (P[:, :, None] * P[:, None, :]) / (mp - 1.0)[:, None, None]
    idx = np.arange(q)
    o_u[:, idx, idx] -= P / (mp - 1.0)[:, None]
    uniq, inv = np.unique(o_u.reshape(len(P), q * q), axis=0, return_inverse=True)
    return uniq, inv.reshape(-1)[pattern], False


# --------------------------------------------------------------------------- ICC

_ICC_FORMS = {
    "ICC1": ("ICC(1,1)", "one-way random effects, single rater"),
    "ICC2": ("ICC(2,1)", "two-way random effects, absolute agreement, single rater"),
    "ICC3": ("ICC(3,1)", "two-way mixed effects, consistency, single rater"),
    "ICC1k": ("ICC(1,k)", "one-way random effects, mean of k raters"),
    "ICC2k": ("ICC(2,k)", "two-way random effects, absolute agreement, mean of k raters"),
    "ICC3k": ("ICC(3,k)", "two-way mixed effects, consistency, mean of k raters"),
}


def _complete_numeric(ratings: Any, what: str, col_word: str) -> tuple[_Data, np.ndarray, int]:
    data = _prepare(ratings, what=what, col_word=col_word)
    if not data.numeric:
        vals, miss = data.values, data.missing
        bad = [(i, j) for i, j in zip(*np.nonzero(~miss)) if not _is_number(vals[i, j])]
        i, j = bad[0]
        where = data.where(int(i), int(j)).replace("rater", "item") if col_word == "items" else data.where(int(i), int(j))
        raise AgreementError(f"{what} must be numeric; got {vals[i, j]!r} at {where}")
    complete = ~data.missing.any(axis=1)
    X = data.values[complete]
    dropped = data.shape[0] - X.shape[0]
    if X.shape[0] < 2:
        raise AgreementError(
            f"need at least 2 subjects with no missing {col_word[:-1]} score; got {X.shape[0]} ({dropped} incomplete rows dropped)"
        )
    return data, X, dropped


def _icc_from_ms(form: str, msr, msw, msc, mse, n, k):
    if form == "ICC1":
        return (msr - msw) / (msr + (k - 1) * msw)
    if form == "ICC2":
        return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    if form == "ICC3":
        return (msr - mse) / (msr + (k - 1) * mse)
    if form == "ICC1k":
        return (msr - msw) / msr
    if form == "ICC2k":
        return (msr - mse) / (msr + (msc - mse) / n)
    return (msr - mse) / msr


def _icc_stat(form: str, k: int) -> Callable[[np.ndarray], np.ndarray]:
    def f(S: np.ndarray) -> np.ndarray:
        n, T, R2, Q, C = S[:, 0], S[:, 1], S[:, 2], S[:, 3], S[:, 4:]
        cf = T * T / (n * k)
        sst = Q - cf
        ssr = R2 / k - cf
        ssc = (C * C).sum(axis=1) / n - cf
        sse = sst - ssr - ssc
        msr = ssr / (n - 1)
        msw = (ssc + sse) / (n * (k - 1))
        msc = ssc / (k - 1)
        mse = sse / ((n - 1) * (k - 1))
        return _icc_from_ms(form, msr, msw, msc, mse, n, k)

    return f


def icc(
    ratings: Any,
    form: str = "ICC2",
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Intraclass correlation, Shrout & Fleiss (1979) forms.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters), numeric
    form : {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}
        ICC(1,1) one-way random; ICC(2,1) two-way random, absolute agreement;
        ICC(3,1) two-way mixed, consistency; the ``k`` forms are the
        reliability of the mean of the k raters.
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult
        ``details`` holds the mean squares, F statistic and degrees of freedom.

    Notes
    -----
    Missing data: complete rows only; rows with any missing rating are
    dropped and counted in ``n_excluded`` and ``missing``; fewer than 2
    complete rows raises :class:`AgreementError`.  CI: analytic F-based
    intervals of Shrout & Fleiss (1979) / McGraw & Wong (1996) (ICC(2,·)
    with Satterthwaite df), identical to pingouin's ``intraclass_corr``
    CI95; there is no analytic SE (``se = nan``) unless ``bootstrap > 0``.
    Zero variance (e.g. every score equal) gives NaN with a note.

    Examples
    --------
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...       [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> [round(icc(sf, f).value, 2) for f in ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")]
    [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    """
    n_boot = _check_boot(bootstrap, confidence)
    if form not in _ICC_FORMS:
        raise AgreementError(f"unknown ICC form {form!r}; expected one of {', '.join(_ICC_FORMS)}")
    data, X, dropped = _complete_numeric(ratings, "ratings", "raters")
    n, k = X.shape
    Y = X - X.mean()
    R = Y.sum(axis=1)
    F = np.column_stack([np.ones(n), R, R * R, (Y * Y).sum(axis=1), Y])
    stat = _icc_stat(form, k)
    S = F.sum(axis=0)[None, :]
    cf = S[0, 1] ** 2 / (n * k)
    sst = S[0, 3] - cf
    ssr = S[0, 2] / k - cf
    ssc = (S[0, 4:] ** 2).sum() / n - cf
    sse = sst - ssr - ssc
    msr, msw = ssr / (n - 1), (ssc + sse) / (n * (k - 1))
    msc, mse = ssc / (k - 1), sse / ((n - 1) * (k - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(_icc_from_ms(form, msr, msw, msc, mse, n, k))
    note = ""
    a = 1.0 - confidence
    df1, df1kd, df2kd = n - 1, n * (k - 1), (n - 1) * (k - 1)
    ci: tuple[float, float] = (math.nan, math.nan)
    fstat = math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        if not math.isfinite(value) or sst <= 1e-12 * max(abs(S[0, 3]), 1e-300):
            value = math.nan
            note = "no variance in the scores (or between subjects): ICC undefined"
        elif form not in ("ICC2", "ICC2k") and (mse if form in ("ICC3", "ICC3k") else msw) <= 1e-12 * sst:
            # raters agree exactly: F is infinite and every interval collapses to its limit 1
            value, ci, fstat = 1.0, (1.0, 1.0), math.inf
            note = "raters agree exactly (zero error variance): ICC = 1, CI degenerate at 1"
        elif form in ("ICC1", "ICC1k"):
            fstat = msr / msw
            fl = fstat / stats.f.ppf(1 - a / 2, df1, df1kd)
            fu = fstat * stats.f.ppf(1 - a / 2, df1kd, df1)
            ci = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)) if form == "ICC1" else (1 - 1 / fl, 1 - 1 / fu)
        elif form in ("ICC3", "ICC3k"):
            fstat = msr / mse
            fl = fstat / stats.f.ppf(1 - a / 2, df1, df2kd)
            fu = fstat * stats.f.ppf(1 - a / 2, df2kd, df1)
            ci = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)) if form == "ICC3" else (1 - 1 / fl, 1 - 1 / fu)
        else:
            fstat = msr / mse
            icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
            fj = msc / mse
            vn = df2kd * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
            v = vn / vd if mse > 1e-12 * sst else df2kd / df1  # limit as MSE -> 0
            f2u = stats.f.ppf(1 - a / 2, n - 1, v)
            f2l = stats.f.ppf(1 - a / 2, v, n - 1)
            lo = n * (msr - f2u * mse) / (f2u * (k * msc + (k * n - k - n) * mse) + n * msr)
            hi = n * (f2l * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f2l * msr)
            ci = (lo, hi) if form == "ICC2" else (lo * k / (1 + lo * (k - 1)), hi * k / (1 + hi * (k - 1)))
    ci = (float(ci[0]), float(ci[1]))
    se = math.nan
    ci_method = (
        "analytic: Shrout & Fleiss 1979, McGraw & Wong 1996; F-distribution interval"
        + (" with Satterthwaite df" if form in ("ICC2", "ICC2k") else "")
        + " (as pingouin intraclass_corr)"
    )
    if not math.isfinite(value):
        ci_method = "none"
    if n_boot and math.isfinite(value):
        uniq, inv = _group_rows(F)
        se, ci, ci_method, bnote = _bootstrap(uniq, inv, stat, n_boot, seed, confidence)
        note = _join(note, bnote)
    label, desc = _ICC_FORMS[form]
    return AgreementResult(
        statistic=label,
        value=value,
        ci=ci,
        se=se,
        n_subjects=n,
        n_raters=k,
        level=form,
        missing=f"complete rows only; {dropped} of {data.shape[0]} rows with a missing rating dropped",
        ci_method=ci_method,
        confidence=float(confidence),
        n_excluded=dropped,
        note=note,
        details={
            "form": form,
            "description": desc,
            "ms_subjects": float(msr),
            "ms_within": float(msw),
            "ms_raters": float(msc),
            "ms_error": float(mse),
            "F": float(fstat),
            "df1": df1,
            "df2": df1kd if form in ("ICC1", "ICC1k") else df2kd,
        },
    )


# --------------------------------------------------------------------------- instrument statistics


def _cronbach_stat(k: int) -> Callable[[np.ndarray], np.ndarray]:
    def f(S: np.ndarray) -> np.ndarray:
        n = S[:, 0]
        s1, s2 = S[:, 1 : 1 + k], S[:, 1 + k : 1 + 2 * k]
        t1, t2 = S[:, 1 + 2 * k], S[:, 2 + 2 * k]
        var_items = (s2 - s1 * s1 / n[:, None]).sum(axis=1)
        var_total = t2 - t1 * t1 / n
        out = k / (k - 1) * (1.0 - var_items / var_total)
        out[var_total <= 0] = np.nan
        return out

    return f


def cronbach_alpha(
    items: Any,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Cronbach's alpha of a set of items (rows = subjects, columns = items).

    Parameters
    ----------
    items : array-like or DataFrame, shape (subjects, items), numeric
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult
        ``n_raters`` is the number of items.

    Notes
    -----
    Missing data: complete rows only (listwise deletion; count in
    ``n_excluded``).  CI: analytic, Feldt's F-based interval
    ``1 - (1 - alpha) F_{a/2}(n-1, (n-1)(k-1))`` etc. (Feldt, Woodruff & Salih
    1987), as pingouin's ``cronbach_alpha``; no analytic SE unless
    ``bootstrap > 0``.  Zero total-score variance gives NaN with a note.

    Examples
    --------
    >>> x = [[3, 4, 3], [2, 2, 3], [5, 4, 5], [4, 4, 4], [1, 2, 1]]
    >>> res = cronbach_alpha(x)
    >>> round(res.value, 4), [round(c, 3) for c in res.ci]
    (0.9399, [0.696, 0.993])
    """
    n_boot = _check_boot(bootstrap, confidence)
    data, X, dropped = _complete_numeric(items, "items", "items")
    n, k = X.shape
    Y = X - X.mean(axis=0)
    T = Y.sum(axis=1)
    F = np.column_stack([np.ones(n), Y, Y * Y, T, T * T])
    stat = _cronbach_stat(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(stat(F.sum(axis=0)[None, :])[0])
    note = ""
    ci: tuple[float, float] = (math.nan, math.nan)
    ci_method = "none"
    if not math.isfinite(value):
        value = math.nan
        note = "total score has no variance: alpha undefined"
    else:
        a = 1.0 - confidence
        df1, df2 = n - 1, (n - 1) * (k - 1)
        ci = (
            float(1 - (1 - value) * stats.f.isf(a / 2, df1, df2)),
            float(1 - (1 - value) * stats.f.isf(1 - a / 2, df1, df2)),
        )
        ci_method = "analytic: Feldt 1965; F interval with (n-1, (n-1)(k-1)) df (Feldt, Woodruff & Salih 1987)"
    se = math.nan
    if n_boot and math.isfinite(value):
        uniq, inv = _group_rows(F)
        se, ci, ci_method, bnote = _bootstrap(uniq, inv, stat, n_boot, seed, confidence)
        note = _join(note, bnote)
    var = X.var(axis=0, ddof=1)
    return AgreementResult(
        statistic="Cronbach's alpha",
        value=value,
        ci=ci,
        se=se,
        n_subjects=n,
        n_raters=k,
        missing=f"complete rows only; {dropped} of {data.shape[0]} rows with a missing item dropped",
        ci_method=ci_method,
        confidence=float(confidence),
        n_excluded=dropped,
        note=note,
        details={"item_variances": var.tolist(), "total_variance": float(X.sum(axis=1).var(ddof=1))},
    )


def corrected_item_total(items: Any) -> pd.DataFrame:
    """Corrected item-total correlations and alpha-if-item-deleted.

    Parameters
    ----------
    items : array-like or DataFrame, shape (subjects, items), numeric
        Complete rows only (rows with a missing item are dropped).

    Returns
    -------
    pandas.DataFrame
        Columns ``item`` (column name, or 0-based position),
        ``corrected_item_total`` (Pearson correlation of the item with the
        sum of the *other* items) and ``alpha_if_deleted`` (Cronbach's alpha
        of the remaining items; NaN when only one item would remain).  NaN
        where a correlation is undefined (constant item or rest-score).

    Examples
    --------
    >>> x = [[3, 4, 3], [2, 2, 3], [5, 4, 5], [4, 4, 4], [1, 2, 1]]
    >>> corrected_item_total(x).round(3)
       item  corrected_item_total  alpha_if_deleted
    0     0                 0.985             0.828
    1     1                 0.813             0.978
    2     2                 0.899             0.896
    """
    data, X, _ = _complete_numeric(items, "items", "items")
    n, k = X.shape
    names = list(data.col_labels) if data.col_labels is not None else list(range(k))
    total = X.sum(axis=1)
    r_it, a_del = [], []
    for j in range(k):
        rest = total - X[:, j]
        x = X[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            sx, sr = x.std(), rest.std()
            r = float(((x - x.mean()) * (rest - rest.mean())).mean() / (sx * sr)) if sx > 0 and sr > 0 else math.nan
        r_it.append(r)
        if k - 1 >= 2:
            sub = np.delete(X, j, axis=1)
            vt = sub.sum(axis=1).var(ddof=1)
            a_del.append(float((k - 1) / (k - 2) * (1 - sub.var(axis=0, ddof=1).sum() / vt)) if vt > 0 else math.nan)
        else:
            a_del.append(math.nan)
    return pd.DataFrame({"item": names, "corrected_item_total": r_it, "alpha_if_deleted": a_del})


# --------------------------------------------------------------------------- Conger's kappa, weighted agreement


def _conger_stat(r: int, q: int, W: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Features per subject: [pa_i*has2, has2, 1, rater x category indicators (r*q)]."""

    def f(S: np.ndarray) -> np.ndarray:
        pa = S[:, 0] / S[:, 1]
        C = S[:, 3 : 3 + r * q].reshape(-1, r, q)
        ng = C.sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            pgk = C / ng[:, :, None]
            pbar = pgk.mean(axis=1)
            outer = pbar[:, :, None] * pbar[:, None, :]
            s2 = (np.einsum("bgk,bgl->bkl", pgk, pgk) - r * outer) / (r - 1)
            pe = (W[None, :, :] * (outer - s2 / r)).sum(axis=(1, 2))
            out = (pa - pe) / (1.0 - pe)
        out[np.isclose(pe, 1.0, rtol=0, atol=1e-12) | (ng == 0).any(axis=1)] = np.nan
        return out

    return f


def conger_kappa(
    ratings: Any,
    categories: Sequence | None = None,
    weights: Any = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Conger's (1980) kappa: Cohen's kappa generalised to any number of raters.

    Percent agreement ``pa`` as in :func:`fleiss_kappa` (averaged over subjects rated at least
    twice); chance agreement from **each rater's own** category distribution ``p_gk`` (rows =
    raters), ``pe = sum_kl w_kl (pbar_k pbar_l - s2_kl / r)`` with ``pbar`` the mean over raters
    and ``s2`` their covariance across raters, i.e. the average of the ``r(r-1)/2`` Cohen-type
    pairwise chance agreements (Gwet 2014, irrCAC ``conger.kappa.raw``).  With two raters and
    complete data it equals :func:`cohen_kappa`.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
        Missing ratings as NaN/None; every rater (column) must rate at least one subject.
    categories : sequence, optional
        Ordered possible levels (default: sorted observed levels).
    weights : None, "linear", "quadratic" or (q, q) array
        Agreement weights by position in ``categories``.
    bootstrap : int, default 0
        Number of subject-level resamples; 0 = analytic CI.
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: analytic by default, Gwet's (2014) linearised variance of Conger's kappa (as irrCAC,
    finite-population correction off, f = 0), t interval with n-1 df, upper bound capped at 1;
    ``n`` counts subjects with at least one rating.  ``p_gk`` uses each rater's non-missing
    ratings.  NaN with a note when chance agreement is 1.

    Examples
    --------
    Gwet (2014) / irrCAC ``cac.raw4raters`` (12 units, 4 raters, missing ratings):

    >>> r = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3],
    ...      [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1],
    ...      [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, None, 3, None]]
    >>> res = conger_kappa(r)
    >>> round(res.value, 5), round(res.se, 5), round(res.details["pe"], 5)
    (0.76282, 0.14917, 0.23343)
    """
    n_boot = _check_boot(bootstrap, confidence)
    data, cats, A, keep = _gwet_inputs(ratings, categories)
    q = len(cats)
    W, wname = _weight_matrix(weights, q)
    codes = _encode(data, cats)[1][keep]
    n, r = codes.shape
    present = codes >= 0
    ng = present.sum(axis=0).astype(float)
    if (ng == 0).any():
        j = int(np.flatnonzero(ng == 0)[0])
        who = repr(data.col_labels[j]) if data.col_labels is not None else f"{j} (0-based position)"
        raise AgreementError(f"rater {who} has no rating; Conger's kappa needs every rater (column) to rate at least one subject")
    onehot = np.zeros((n, r, q))
    ii, gg = np.nonzero(present)
    onehot[ii, gg, codes[ii, gg]] = 1.0
    F = _gwet_features(A, W)[:, :3]
    F = np.column_stack([F, onehot.reshape(n, r * q)])
    stat = _conger_stat(r, q, W)
    S = F.sum(axis=0)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(stat(S)[0])
    n2 = int(F[:, 1].sum())
    pa = float(S[0, 0] / S[0, 1])
    pgk = onehot.sum(axis=0) / ng[:, None]
    pbar = pgk.mean(axis=0)
    outer = np.outer(pbar, pbar)
    s2 = (pgk.T @ pgk - r * outer) / (r - 1)
    pe = float((W * (outer - s2 / r)).sum())
    note = ""
    se = math.nan
    if not math.isfinite(value):
        value = math.nan
        note = "chance agreement pe = 1 (all ratings in one category), so the coefficient is 0/0 and undefined"
    elif n >= 2:
        # Gwet (2014) linearised variance (irrCAC conger.kappa.raw), vectorised over subjects and raters
        dw = np.where(present[:, :, None], W.T[np.where(present, codes, 0)], 0.0)  # sum_l w_kl delta_igl
        pw = pgk @ W.T  # sum_l w_kl p_gl
        inner = (dw - (present[:, :, None] - (ng / n)[None, :, None]) * pw[None, :, :]) * (n / ng)[None, :, None]
        lam = (inner * (pgk.sum(axis=0)[None, None, :] - pgk[None, :, :])).sum(axis=(1, 2))
        pe_i = lam / (r * (r - 1))
        has2 = F[:, 1]
        k_i = (n / n2) * (F[:, 0] - pe * has2) / (1 - pe)
        x = k_i - 2 * (1 - value) * (pe_i - pe) / (1 - pe)
        se = float(math.sqrt(((x - value) ** 2).sum() / (n * (n - 1))))
    if n_boot and math.isfinite(value):
        uniq, inv = _group_rows(F)
        se, ci, ci_method, bnote = _bootstrap(uniq, inv, stat, n_boot, seed, confidence)
        note = _join(note, bnote)
    else:
        ci = _t_ci(value, se, n - 1, confidence, None, 1.0)
        ci_method = _GWET_CI if math.isfinite(se) else "none"
    n_empty = int((~keep).sum())
    missing = "all available ratings kept (pa over subjects with >=2 ratings; each rater's distribution from their own ratings)"
    if n_empty:
        missing += f"; {n_empty} subject(s) with no rating dropped"
    return AgreementResult(
        statistic="Conger's kappa",
        value=value,
        ci=ci,
        se=se,
        n_subjects=n,
        n_raters=r,
        weights=wname,
        missing=missing,
        ci_method=ci_method,
        confidence=float(confidence),
        categories=tuple(cats),
        n_excluded=n_empty,
        note=note,
        details={"pa": pa, "pe": pe, "q": q, "n_with_2_or_more": n2, "weights_matrix": W.tolist(),
                 "rater_distributions": pgk.tolist()},
    )


def weighted_percent_agreement(
    ratings: Any,
    weights: Any = "quadratic",
    categories: Sequence | None = None,
    *,
    bootstrap: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> AgreementResult:
    """Weighted percent agreement among any number of raters (no chance correction).

    For each subject with at least 2 ratings, the mean agreement weight ``w_kl`` over its
    ordered pairs of ratings, ``sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`` with
    ``r*_ik = sum_l w_kl r_il``; averaged over those subjects (Gwet 2014, irrCAC
    ``pa.coeff.raw`` with weights).  Identity weights give :func:`percent_agreement`.

    Parameters
    ----------
    ratings : array-like or DataFrame, shape (subjects, raters)
    weights : "linear", "quadratic", None or (q, q) array, default "quadratic"
        Agreement weights by position in ``categories`` (1 = full agreement).
    categories : sequence, optional
        Ordered possible levels; an unused declared level widens the weights' distances.
    bootstrap : int, default 0
    seed : int, default 0
    confidence : float, default 0.95

    Returns
    -------
    AgreementResult

    Notes
    -----
    CI: analytic by default, Gwet's linearised variance of ``pa`` (the Brennan-Prediger
    variance with chance agreement 0, f = 0), t interval with n-1 df clipped to [0, 1].

    Examples
    --------
    >>> r = [[1, 1, 2], [2, 2, 2], [3, 3, None], [1, 2, 3]]
    >>> round(weighted_percent_agreement(r, "linear").value, 4)
    0.75
    >>> round(weighted_percent_agreement(r, None).value, 4) == round(percent_agreement(r).value, 4)
    True
    """
    res = _gwet_family("pa", ratings, categories, weights, bootstrap, seed, confidence)
    if res.weights != "identity":
        from dataclasses import replace

        res = replace(res, statistic="Weighted percent agreement")
    return res
