"""Generalizability theory: G studies (variance components) and D studies (pure functions).

:func:`g_study` takes a **long** :class:`pandas.DataFrame` (one row per observed score, one
column per facet, a ``score`` column) and a design string, and estimates one variance component
per effect of the design.  :meth:`GStudyResult.d_study` turns the components into the error
variances and coefficients of a measurement procedure with chosen numbers of conditions
(e.g. 2 raters x 10 criteria), and :meth:`GStudyResult.d_study_table` tabulates them for 1-5
raters, answering "how many raters does a dependable decision need".

Conventions
-----------
Design strings
    Facet names are column names; ``x`` (or ``×``) crosses facets and ``a:b`` nests ``a``
    within ``b``; parentheses group.  ``"p x r"``, ``"p x r x i"``, ``"r:p"`` (raters nested
    in persons: each submission has its own raters), ``"p x (r:t)"``, ``"(r:p) x i"``.
    A nested facet's levels are identified *within* the levels of the facets it is nested
    in, so labels may repeat across persons ("first", "second" rater).  The effects of the
    design are Brennan's (2001, ch. 3): one per set of facets that contains, with each facet,
    every facet it is nested in; the effect with every facet is confounded with residual
    error, so each combination of facet levels must have exactly one score.
Estimation
    Henderson's (1953) method 1, which Brennan (2001, ch. 7) calls the analogous-ANOVA
    procedure (as urGENOVA): the T terms (sums of squared level totals over level counts) are
    equated to their expectations, whose coefficients come from the level counts.  On balanced
    data this is exactly the ANOVA / expected-mean-squares solution (as GENOVA), and the
    ``df``, ``ss`` and ``ms`` columns are the usual ANOVA table; on unbalanced or missing data
    they are the analogous quantities (df from the numbers of observed levels).  Rows whose
    score is missing (NaN) are dropped and counted.
Negative estimates
    Reported as estimated (``estimate``) and flagged; the ``variance`` used by D studies sets
    each negative estimate to 0 **without** changing any other estimate (Brennan 2001,
    section 3.4; not Cronbach et al.'s 1972 rule of re-solving with the zero substituted).
D studies
    Random facets are sampled, fixed facets are averaged over their conditions (Brennan 2001,
    ch. 4): an effect that contains the object of measurement and otherwise only fixed facets
    joins the universe-score variance; one that contains the object and a random facet is
    relative (and absolute) error; one without the object but with a random facet is
    absolute error only.  Each effect's variance is divided by the product of the D-study
    numbers of conditions of its facets other than the object.  ``E rho^2 = tau / (tau +
    delta)``, ``Phi = tau / (tau + Delta)`` and, at a cut score ``lambda`` on the mean-score
    scale, ``Phi(lambda) = (tau + (mu - lambda)^2) / (tau + (mu - lambda)^2 + Delta)`` with
    ``(mu - lambda)^2`` estimated without bias by ``(Xbar - lambda)^2 - var(Xbar)``
    (Brennan 2001, eq. 2.55-2.57).

References
----------
Brennan, R. L. (2001). *Generalizability Theory*. Springer.
Henderson, C. R. (1953). Estimation of variance and covariance components. *Biometrics*, 9, 226-252.
Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. *Psychological Bulletin*, 86(2), 420-428.
Cronbach, L. J., Gleser, G. C., Nanda, H., & Rajaratnam, N. (1972). *The Dependability of
Behavioral Measurements*. Wiley.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import __version__

__all__ = ["GTheoryError", "GStudyResult", "DStudyResult", "g_study", "parse_design"]

METHOD_VERSION = f"evalkit {__version__}"
_NEGATIVE_RULE = (
    "negative estimates set to 0 for D studies, other components unchanged (Brennan 2001, section 3.4)"
)
_MAX_FACETS = 8


class GTheoryError(ValueError):
    """Invalid input for a G or D study (one-line message saying what was expected)."""


# --------------------------------------------------------------------------- design strings


@dataclass(frozen=True)
class Design:
    """A parsed design: facets in order of appearance and, for each, the facets it is nested in."""

    text: str
    facets: tuple[str, ...]
    nested_in: Mapping[str, frozenset]

    def effects(self) -> list[frozenset]:
        """The design's effects: every non-empty set of facets closed under nesting, in Brennan's order."""
        order = {f: k for k, f in enumerate(self.facets)}
        out = []
        for size in range(1, len(self.facets) + 1):
            for combo in itertools.combinations(self.facets, size):
                s = frozenset(combo)
                if all(self.nested_in[f] <= s for f in s):
                    out.append(s)
        out.sort(key=lambda s: (len(self.primary(s)), len(s), sorted(order[f] for f in s)))
        return out

    def primary(self, effect: frozenset) -> list[str]:
        """Facets of ``effect`` that are not nesting facets of another facet in it (design order)."""
        nesting = set().union(*(self.nested_in[f] for f in effect)) if effect else set()
        return [f for f in self.facets if f in effect and f not in nesting]

    def nesting(self, effect: frozenset) -> list[str]:
        prim = set(self.primary(effect))
        return [f for f in self.facets if f in effect and f not in prim]

    def name(self, effect: frozenset) -> str:
        """Brennan's notation: ``pr:t``; names longer than a letter are joined by ``x``."""
        prim, nest = self.primary(effect), self.nesting(effect)
        short = all(len(f) == 1 for f in self.facets)
        join = "".join if short else " x ".join
        return join(prim) + (":" + join(nest) if nest else "")

    def closure(self, facets: Iterable[str]) -> frozenset:
        s = set(facets)
        for f in list(s):
            s |= self.nested_in[f]
        return frozenset(s)


_TOKEN = re.compile(r"\s*(\(|\)|:|×|\*|[A-Za-z_][A-Za-z0-9_.\-]*)")


def _design_error(text: str, why: str) -> GTheoryError:
    return GTheoryError(
        f"could not read design {text!r} ({why}); expected facet names joined by ' x ' (crossed) "
        "or ':' (nested), e.g. 'p x r', 'r:p', 'p x (r:t)'"
    )


def parse_design(text: str) -> Design:
    """Parse a design string such as ``"p x (r:t)"``.

    Parameters
    ----------
    text : str
        Facets joined by ``x``/``×`` (crossed) and ``:`` (``a:b`` = ``a`` nested within ``b``),
        with parentheses for grouping.

    Returns
    -------
    Design

    Examples
    --------
    >>> d = parse_design("p x (r:t)")
    >>> d.facets, sorted(d.nested_in["r"])
    (('p', 'r', 't'), ['t'])
    >>> [d.name(e) for e in d.effects()]
    ['p', 't', 'r:t', 'pt', 'pr:t']
    """
    if not isinstance(text, str) or not text.strip():
        raise GTheoryError(f"design must be a string such as 'p x r' or 'r:p'; got {text!r}")
    tokens: list[str] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise _design_error(text, f"unexpected character {stripped[pos:].strip()[:1]!r}")
        tok = m.group(1)
        tokens.append("x" if tok in ("×", "*", "x", "X") else tok)
        pos = m.end()
    facets: list[str] = []
    nest: dict[str, set] = {}
    k = 0

    def peek() -> str | None:
        return tokens[k] if k < len(tokens) else None

    def factor() -> set:
        nonlocal k
        tok = peek()
        if tok is None:
            raise _design_error(text, "it ends too soon")
        if tok == "(":
            k += 1
            inner = design()
            if peek() != ")":
                raise _design_error(text, "a '(' is not closed")
            k += 1
            return inner
        if tok in (")", ":", "x"):
            raise _design_error(text, f"{tok!r} where a facet name was expected")
        k += 1
        if tok in nest:
            raise _design_error(text, f"facet {tok!r} appears twice")
        facets.append(tok)
        nest[tok] = set()
        return {tok}

    def term() -> set:
        nonlocal k
        parts = [factor()]
        while peek() == ":":
            k += 1
            parts.append(factor())
        for i, inner in enumerate(parts):
            for outer in parts[i + 1 :]:
                for f in inner:
                    nest[f] |= outer
        return set().union(*parts)

    def design() -> set:
        nonlocal k
        out = term()
        while peek() == "x":
            k += 1
            out |= term()
        return out

    design()
    if k != len(tokens):
        raise _design_error(text, f"unexpected {tokens[k]!r}")
    # transitive closure of nesting
    changed = True
    while changed:
        changed = False
        for f in facets:
            extra = set().union(*(nest[g] for g in nest[f])) - nest[f] if nest[f] else set()
            if extra:
                nest[f] |= extra
                changed = True
    if len(facets) > _MAX_FACETS:
        raise GTheoryError(f"design has {len(facets)} facets; at most {_MAX_FACETS} are supported")
    return Design(text=" ".join(text.split()), facets=tuple(facets), nested_in={f: frozenset(nest[f]) for f in facets})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DStudyResult:
    """Error variances and coefficients of a D study.

    Attributes
    ----------
    design : str
        The D-study design (the G-study design unless another was given).
    object : str
        The object of measurement.
    n : dict
        D-study numbers of conditions per facet (``n'``; nested facets per level of what they are nested in).
    fixed : tuple of str
        Facets treated as fixed.
    universe_variance : float
        ``tau``: universe-score variance.
    relative_error_variance, absolute_error_variance : float
        ``sigma^2(delta)`` and ``sigma^2(Delta)``.
    sem_relative, sem_absolute : float
        Their square roots (standard errors of measurement).
    g_coefficient : float
        Generalizability coefficient ``E rho^2``.
    phi : float
        Dependability coefficient ``Phi``.
    cut : float or None
        Cut score ``lambda`` on the mean-score scale.
    phi_lambda : float
        ``Phi(lambda)`` (``nan`` when no cut was given).
    grand_mean : float
    contributions : DataFrame
        One row per effect: ``effect``, ``variance`` (G study, negatives at 0), ``divisor``,
        ``d_variance`` and ``role`` (``universe``, ``relative and absolute error``,
        ``absolute error only`` or ``fixed (constant)``).
    note : str
    version : str
    """

    design: str
    object: str
    n: Mapping[str, float]
    fixed: tuple[str, ...]
    universe_variance: float
    relative_error_variance: float
    absolute_error_variance: float
    sem_relative: float
    sem_absolute: float
    g_coefficient: float
    phi: float
    cut: float | None
    phi_lambda: float
    grand_mean: float
    contributions: pd.DataFrame
    note: str = ""
    version: str = METHOD_VERSION

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> sf = pd.DataFrame({"p": np.repeat(range(6), 4), "r": np.tile(range(4), 6),
        ...     "score": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
        >>> g_study(sf, "p x r").d_study({"r": 4}).describe()
        'D study p x r (r=4): E rho^2 = 0.909, Phi = 0.620, SEM relative 0.50, absolute 1.25'
        """
        sizes = ", ".join(f"{f}={_fmt_n(v)}" for f, v in self.n.items())
        if self.note.startswith("unbalanced G study"):
            sizes = "observed unbalanced pattern"
        fixed = f"; fixed {', '.join(self.fixed)}" if self.fixed else ""
        out = (
            f"D study {self.design} ({sizes}{fixed}): E rho^2 = {self.g_coefficient:.3f}, Phi = {self.phi:.3f}"
        )
        if self.cut is not None:
            out += f", Phi({_fmt_n(self.cut)}) = {self.phi_lambda:.3f}"
        return out + f", SEM relative {self.sem_relative:.2f}, absolute {self.sem_absolute:.2f}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-friendly)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "contributions"}
        out["n"] = dict(self.n)
        out["fixed"] = list(self.fixed)
        out["contributions"] = self.contributions.to_dict(orient="records")
        return out


def _fmt_n(v: float) -> str:
    return f"{v:g}" if isinstance(v, numbers.Real) else str(v)


@dataclass(frozen=True)
class GStudyResult:
    """Variance components of a G study, with what a D study needs.

    Attributes
    ----------
    design : str
    object : str
        The object of measurement (the facet whose differences are measured, e.g. persons).
    components : DataFrame
        One row per effect: ``effect`` (Brennan's notation), ``df``, ``ss``, ``ms``,
        ``estimate`` (as estimated, may be negative), ``variance`` (negatives set to 0),
        ``negative`` (bool) and ``percent`` (share of the total of ``variance``).
    levels : dict
        Number of observed levels per facet (a nested facet's levels counted within what it is nested in).
    n_obs : int
        Scores used.
    n_missing : int
        Rows dropped because their score was missing.
    balanced : bool
        Every effect has the same number of scores at each of its levels.
    grand_mean : float
    default_n : dict
        G-study numbers of conditions, the D-study default (nested facets: harmonic mean per nesting level).
    method : str
    negative_rule : str
    version : str
    """

    design: str
    object: str
    components: pd.DataFrame
    levels: Mapping[str, int]
    n_obs: int
    n_missing: int
    balanced: bool
    grand_mean: float
    default_n: Mapping[str, float]
    method: str
    negative_rule: str = _NEGATIVE_RULE
    version: str = METHOD_VERSION
    _design: Design | None = field(default=None, repr=False, compare=False)
    _effects: tuple = field(default=(), repr=False, compare=False)
    _observed_divisors: Mapping[frozenset, float] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ D study
    def d_study(
        self,
        n: Mapping[str, float] | None = None,
        fixed: Sequence[str] = (),
        *,
        cut: float | None = None,
        design: str | None = None,
    ) -> DStudyResult:
        """Error variances, ``E rho^2``, ``Phi`` and ``Phi(lambda)`` for a measurement procedure.

        Parameters
        ----------
        n : dict, optional
            D-study numbers of conditions, e.g. ``{"r": 2, "i": 10}``; a nested facet's number
            is per level of what it is nested in (raters per person for ``r:p``).  Facets not
            given keep their G-study numbers (:attr:`default_n`).  When ``n`` is not given and
            the G study is unbalanced, each effect's divisor is that of the observed pattern
            (each object's mean over the scores it has, every score weighted equally, as
            Brennan 2001 ch. 7), e.g. ``sum_h n_h^2 / n_+^2`` for ``sigma^2(ph)`` in ``p x (i:h)``.
        fixed : sequence of str
            Facets whose conditions are fixed (averaged over, not sampled).
        cut : float, optional
            Cut score ``lambda`` on the mean-score scale, for ``Phi(lambda)``.
        design : str, optional
            A D-study design that nests more than the G study (e.g. G study ``p x r x i``,
            D study ``(r:p) x i``): each G-study component joins the D-study effect that its
            facets form under the new nesting (Brennan 2001, section 4.4).

        Returns
        -------
        DStudyResult

        Examples
        --------
        >>> sf = pd.DataFrame({"p": np.repeat(range(6), 4), "r": np.tile(range(4), 6),
        ...     "score": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
        >>> g = g_study(sf, "p x r")
        >>> d = g.d_study({"r": 1})
        >>> round(d.g_coefficient, 2), round(d.phi, 2)   # Shrout & Fleiss ICC(3,1), ICC(2,1)
        (0.71, 0.29)
        >>> round(g.d_study({"r": 2}, design="r:p").phi, 3)   # two raters per person, nested
        0.449
        """
        des = self._design
        assert des is not None
        obj = self.object
        if design is not None:
            dd = parse_design(design)
            if set(dd.facets) != set(des.facets):
                raise GTheoryError(
                    f"D-study design {design!r} must have the G study's facets {list(des.facets)}; got {list(dd.facets)}"
                )
            for f in des.facets:
                if not des.nested_in[f] <= dd.nested_in[f]:
                    lost = sorted(des.nested_in[f] - dd.nested_in[f])
                    raise GTheoryError(
                        f"D-study design {design!r} crosses {f!r} with {lost}, in which the G study nests it; "
                        "a D study can nest more than its G study, not less"
                    )
            if dd.nested_in[obj]:
                raise GTheoryError(f"the object of measurement {obj!r} must not be nested in the D-study design")
        else:
            dd = des
        fixed_t = _check_fixed(fixed, dd, obj)
        sizes = dict(self.default_n)
        if n is not None:
            if not isinstance(n, Mapping):
                raise GTheoryError(f"n must be a dict of facet -> number of conditions, e.g. {{'r': 2}}; got {n!r}")
            for f, v in n.items():
                if f not in dd.facets or f == obj:
                    others = [g for g in dd.facets if g != obj]
                    raise GTheoryError(f"n names {f!r}, which is not a facet of the design other than the object; expected one of {others}")
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not v > 0 or not math.isfinite(v):
                    raise GTheoryError(f"n[{f!r}] must be a positive number of conditions; got {v!r}")
                sizes[f] = float(v)
        use_observed = n is None and design is None and not self.balanced
        # components mapped to D-study effects
        dvar: dict[frozenset, float] = {}
        members: dict[frozenset, list[str]] = {}
        for eff, name, var in self._effects:
            target = dd.closure(eff)
            dvar[target] = dvar.get(target, 0.0) + var
            members.setdefault(target, []).append(name)
        tau = rel = ab = 0.0
        var_mean = 0.0
        n_obj = float(self.levels[obj])
        rows = []
        for eff in dd.effects():
            if eff not in dvar:
                continue
            var = dvar[eff]
            others = [f for f in dd.facets if f in eff and f != obj]
            if use_observed:
                div = self._observed_divisors[eff]
            else:
                div = float(np.prod([sizes[f] for f in others])) if others else 1.0
            random_other = [f for f in others if f not in fixed_t]
            dv = var / div
            if obj in eff:
                if random_other:
                    role = "relative and absolute error"
                    rel += dv
                    ab += dv
                else:
                    role = "universe"
                    tau += dv
                var_mean += dv / n_obj
            elif random_other:
                role = "absolute error only"
                ab += dv
                var_mean += dv
            else:
                role = "fixed (constant)"
            label = dd.name(eff)
            combined = members[eff]
            if len(combined) > 1 or combined[0] != label:
                label += " (" + " + ".join(combined) + ")"
            rows.append({"effect": label, "variance": var, "divisor": div, "d_variance": dv, "role": role})
        contrib = pd.DataFrame(rows, columns=["effect", "variance", "divisor", "d_variance", "role"])
        with np.errstate(divide="ignore", invalid="ignore"):
            g = tau / (tau + rel) if tau + rel > 0 else math.nan
            phi = tau / (tau + ab) if tau + ab > 0 else math.nan
        note = ""
        if use_observed:
            note = (
                "unbalanced G study, n not given: divisors of the observed pattern (each object's mean over "
                "the scores it has, every score weighted equally; Brennan 2001 ch. 7)"
            )
        if tau <= 0:
            note = "; ".join(x for x in (note, "universe-score variance is 0: coefficients are 0 (or undefined)") if x)
        phl = math.nan
        cut_v: float | None = None
        if cut is not None:
            if isinstance(cut, (bool, np.bool_)) or not isinstance(cut, numbers.Real) or not math.isfinite(cut):
                raise GTheoryError(f"cut must be a finite number on the mean-score scale; got {cut!r}")
            cut_v = float(cut)
            dev = (self.grand_mean - cut_v) ** 2 - var_mean
            den = tau + dev + ab
            phl = (tau + dev) / den if den > 0 else math.nan
        sizes_out = {f: sizes[f] for f in dd.facets if f != obj}
        return DStudyResult(
            design=dd.text,
            object=obj,
            n=sizes_out,
            fixed=fixed_t,
            universe_variance=float(tau),
            relative_error_variance=float(rel),
            absolute_error_variance=float(ab),
            sem_relative=float(math.sqrt(rel)),
            sem_absolute=float(math.sqrt(ab)),
            g_coefficient=float(g),
            phi=float(phi),
            cut=cut_v,
            phi_lambda=float(phl),
            grand_mean=self.grand_mean,
            contributions=contrib,
            note=note,
        )

    def d_study_table(
        self,
        vary: str,
        values: Iterable[float] = range(1, 6),
        n: Mapping[str, float] | None = None,
        fixed: Sequence[str] = (),
        *,
        cut: float | None = None,
        design: str | None = None,
    ) -> pd.DataFrame:
        """D studies for a range of numbers of conditions of one facet (default 1-5).

        Parameters
        ----------
        vary : str
            The facet whose number of conditions varies (e.g. ``"r"`` for raters).
        values : iterable of numbers, default 1..5
        n, fixed, cut, design
            As :meth:`d_study`, for the other facets.

        Returns
        -------
        DataFrame
            Columns ``n_<vary>``, ``g_coefficient``, ``phi``, ``phi_lambda``,
            ``relative_error_variance``, ``absolute_error_variance``, ``sem_relative``,
            ``sem_absolute`` (one row per value); :func:`evalkit.psychometrics.plots.d_study_plot`
            draws it.

        Examples
        --------
        >>> sf = pd.DataFrame({"p": np.repeat(range(6), 4), "r": np.tile(range(4), 6),
        ...     "score": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
        >>> g_study(sf, "p x r").d_study_table("r")[["n_r", "g_coefficient", "phi"]].round(2)
           n_r  g_coefficient   phi
        0    1           0.71  0.29
        1    2           0.83  0.45
        2    3           0.88  0.55
        3    4           0.91  0.62
        4    5           0.93  0.67
        """
        rows = []
        vals = list(values)
        if not vals:
            raise GTheoryError("values must list at least one number of conditions")
        for v in vals:
            sizes = dict(n or {})
            sizes[vary] = v
            d = self.d_study(sizes, fixed, cut=cut, design=design)
            rows.append(
                {
                    f"n_{vary}": v,
                    "g_coefficient": d.g_coefficient,
                    "phi": d.phi,
                    "phi_lambda": d.phi_lambda,
                    "relative_error_variance": d.relative_error_variance,
                    "absolute_error_variance": d.absolute_error_variance,
                    "sem_relative": d.sem_relative,
                    "sem_absolute": d.sem_absolute,
                }
            )
        out = pd.DataFrame(rows)
        out.attrs.update({"vary": vary, "design": design or self.design, "cut": cut, "fixed": list(fixed)})
        return out

    def smallest_n(
        self,
        vary: str,
        target: float = 0.8,
        coefficient: str = "phi",
        n: Mapping[str, float] | None = None,
        fixed: Sequence[str] = (),
        *,
        cut: float | None = None,
        design: str | None = None,
        max_n: int = 50,
    ) -> int | None:
        """The smallest whole number of conditions of ``vary`` whose coefficient reaches ``target``.

        Parameters
        ----------
        vary : str
        target : float, default 0.8
        coefficient : {"phi", "g_coefficient", "phi_lambda"}
        n, fixed, cut, design
            As :meth:`d_study`.
        max_n : int, default 50
            Largest number tried; ``None`` is returned when even that falls short.

        Examples
        --------
        >>> sf = pd.DataFrame({"p": np.repeat(range(6), 4), "r": np.tile(range(4), 6),
        ...     "score": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
        >>> g_study(sf, "p x r").smallest_n("r", 0.8, "phi")
        10
        """
        if coefficient not in ("phi", "g_coefficient", "phi_lambda"):
            raise GTheoryError(f"coefficient must be 'phi', 'g_coefficient' or 'phi_lambda'; got {coefficient!r}")
        if coefficient == "phi_lambda" and cut is None:
            raise GTheoryError("coefficient 'phi_lambda' needs cut=")
        for k in range(1, int(max_n) + 1):
            sizes = dict(n or {})
            sizes[vary] = k
            d = self.d_study(sizes, fixed, cut=cut, design=design)
            if getattr(d, coefficient) >= target:
                return k
        return None

    def describe(self) -> str:
        """One line a report can print.

        Examples
        --------
        >>> sf = pd.DataFrame({"p": np.repeat(range(6), 4), "r": np.tile(range(4), 6),
        ...     "score": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
        >>> g_study(sf, "p x r").describe()
        'G study p x r (balanced, 24 scores; ANOVA): p 2.556 (29%), r 5.244 (59%), pr 1.019 (12%)'
        """
        parts = ", ".join(
            f"{r.effect} {r.estimate:.3f}" + (" (negative, set to 0)" if r.negative else f" ({r.percent:.0f}%)")
            for r in self.components.itertuples()
        )
        kind = "balanced" if self.balanced else "unbalanced"
        method = "ANOVA" if self.balanced else "analogous ANOVA"
        miss = f", {self.n_missing} missing dropped" if self.n_missing else ""
        return f"G study {self.design} ({kind}, {self.n_obs} scores{miss}; {method}): {parts}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON-friendly)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if not k.startswith("_") and k != "components"}
        out["levels"] = dict(self.levels)
        out["default_n"] = dict(self.default_n)
        out["components"] = self.components.to_dict(orient="records")
        return out


def _check_fixed(fixed: Any, design: Design, obj: str) -> tuple[str, ...]:
    if isinstance(fixed, str):
        fixed = [fixed]
    try:
        fixed_t = tuple(fixed)
    except TypeError:
        raise GTheoryError(f"fixed must be a list of facet names; got {fixed!r}") from None
    for f in fixed_t:
        if f not in design.facets or f == obj:
            others = [g for g in design.facets if g != obj]
            raise GTheoryError(f"fixed names {f!r}, which is not a facet of the design other than the object; expected some of {others}")
    return fixed_t


# --------------------------------------------------------------------------- G study


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _combine(a: np.ndarray, la: int, b: np.ndarray, lb: int) -> tuple[np.ndarray, int]:
    codes, uniq = pd.factorize(a.astype(np.int64) * lb + b, sort=False)
    return codes.astype(np.int64), len(uniq)


def g_study(
    scores: pd.DataFrame,
    design: str,
    object: str = "p",
    *,
    score: str = "score",
) -> GStudyResult:
    """Estimate the variance components of a G study.

    Parameters
    ----------
    scores : DataFrame
        Long format: one row per observed score, one column per facet of ``design`` (level
        labels of any hashable type) and a numeric ``score`` column.  Other columns are ignored.
    design : str
        E.g. ``"p x r"``, ``"p x r x i"``, ``"r:p"``, ``"p x (r:t)"``, ``"(r:p) x i"``.
    object : str, default "p"
        The object of measurement; a facet of the design that is not nested in another.
    score : str, default "score"
        Name of the score column.

    Returns
    -------
    GStudyResult
        Its :meth:`~GStudyResult.d_study` gives error variances and coefficients.

    Notes
    -----
    Henderson's method 1 (analogous ANOVA, as urGENOVA) on any pattern of missing data;
    identical to the ANOVA solution on balanced data.  Raises :class:`GTheoryError` when a
    facet is not a column, a facet has fewer than 2 levels, an effect has no degrees of
    freedom, a combination of facet levels has more than one score, or all scores are equal.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.

    >>> sf = pd.DataFrame({"p": np.repeat(range(6), 4), "r": np.tile(range(4), 6),
    ...     "score": [9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7]})
    >>> g = g_study(sf, "p x r")
    >>> g.components[["effect", "df", "ms", "estimate"]].round(3)
      effect  df      ms  estimate
    0      p   5  11.242     2.556
    1      r   3  32.486     5.244
    2     pr  15   1.019     1.019
    >>> round(g_study(sf, "r:p").d_study({"r": 1}).phi, 2)   # ICC(1,1)
    0.17
    """
    if not isinstance(scores, pd.DataFrame):
        raise GTheoryError(f"scores must be a long DataFrame (one row per score, one column per facet); got {type(scores).__name__}")
    des = parse_design(design)
    missing_cols = [f for f in des.facets if f not in scores.columns]
    if missing_cols:
        raise GTheoryError(
            f"design {design!r} names facet(s) {missing_cols} that are not columns of scores; columns are {list(map(str, scores.columns))}"
        )
    if score not in scores.columns:
        raise GTheoryError(f"scores has no score column {score!r}; columns are {list(map(str, scores.columns))}")
    if score in des.facets:
        raise GTheoryError(f"the score column {score!r} cannot also be a facet of the design")
    if object not in des.facets:
        raise GTheoryError(f"object {object!r} is not a facet of design {design!r}; expected one of {list(des.facets)}")
    if des.nested_in[object]:
        raise GTheoryError(
            f"object {object!r} is nested in {sorted(des.nested_in[object])} in design {design!r}; the object of measurement must not be nested"
        )
    y_all = pd.to_numeric(scores[score], errors="coerce")
    bad = y_all.isna() & scores[score].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise GTheoryError(f"scores must be numeric; got {scores[score].iloc[i]!r} in column {score!r} at row {_py(scores.index[i])!r}")
    keep = y_all.notna().to_numpy()
    n_missing = int((~keep).sum())
    frame = scores.loc[keep, list(des.facets)]
    y = y_all.to_numpy(dtype=float)[keep]
    if not np.isfinite(y).all():
        raise GTheoryError("scores must be finite numbers (no inf)")
    N = len(y)
    if N == 0:
        raise GTheoryError("scores has no non-missing score")
    for f in des.facets:
        if frame[f].isna().any():
            i = int(np.flatnonzero(frame[f].isna().to_numpy())[0])
            raise GTheoryError(f"facet column {f!r} has a missing level at row {_py(frame.index[i])!r}; every score needs a level of every facet")
    if np.ptp(y) == 0:
        raise GTheoryError(f"all {N} scores are equal ({y[0]:g}): there is no variance to decompose")

    # level codes of every facet, then of every set of facets that is needed
    base: dict[str, tuple[np.ndarray, int]] = {}
    for f in des.facets:
        codes, uniq = pd.factorize(frame[f], sort=True)
        base[f] = (codes.astype(np.int64), len(uniq))
    cache: dict[frozenset, tuple[np.ndarray, int]] = {frozenset(): (np.zeros(N, dtype=np.int64), 1)}

    def codes_of(s: frozenset) -> tuple[np.ndarray, int]:
        if s in cache:
            return cache[s]
        ordered = [f for f in des.facets if f in s]
        prev = frozenset(ordered[:-1])
        a, la = codes_of(prev)
        b, lb = base[ordered[-1]]
        out = (b, lb) if not prev else _combine(a, la, b, lb)
        cache[s] = out
        return out

    effects = des.effects()
    full = frozenset(des.facets)
    full_codes, n_cells = codes_of(full)
    if n_cells != N:
        counts = np.bincount(full_codes)
        dup = int(np.flatnonzero(counts[full_codes] > 1)[0])
        where = ", ".join(f"{f}={_py(frame[f].iloc[dup])!r}" for f in des.facets)
        raise GTheoryError(
            f"each combination of facet levels must have one score; {where} has {int(counts[full_codes[dup]])} "
            f"(design {design!r} is missing a facet, or scores are duplicated)"
        )
    for f in des.facets:
        if base[f][1] < 2:
            raise GTheoryError(f"facet {f!r} has only one level ({_py(frame[f].iloc[0])!r}); every facet needs at least 2")

    center = float(y.mean())
    yc = y - center  # T terms are computed on centred scores (same components, better conditioning)
    sets = [frozenset()] + effects
    cnt: dict[frozenset, np.ndarray] = {}
    T: dict[frozenset, float] = {}
    rep: dict[frozenset, np.ndarray] = {}
    L: dict[frozenset, int] = {}
    for s in sets:
        c, nl = codes_of(s)
        n_s = np.bincount(c, minlength=nl).astype(float)
        tot = np.bincount(c, weights=yc, minlength=nl)
        cnt[s] = n_s
        T[s] = float((tot * tot / n_s).sum())
        r = np.empty(nl, dtype=np.int64)
        r[c] = np.arange(N)
        rep[s] = r
        L[s] = nl
    balanced = all(np.all(cnt[s] == cnt[s][0]) for s in effects)

    def k_coef(a: frozenset, b: frozenset) -> float:
        u = a | b
        n_u = cnt[u]
        ca = codes_of(a)[0][rep[u]]
        return float((n_u * n_u / cnt[a][ca]).sum())

    E = len(effects)
    # SS and df of each effect by Brennan's expansion of its primary indices
    ss = np.zeros(E)
    df = np.zeros(E)
    C = np.zeros((E, E))
    kmat = {(a, b): k_coef(a, b) for a in sets for b in effects}
    for ai, a in enumerate(effects):
        prim = des.primary(a)
        nst = frozenset(des.nesting(a))
        for size in range(len(prim) + 1):
            sign = (-1) ** (len(prim) - size)
            for sub in itertools.combinations(prim, size):
                s = nst | frozenset(sub)
                ss[ai] += sign * T[s]
                df[ai] += sign * L[s]
                for bi, b in enumerate(effects):
                    C[ai, bi] += sign * kmat[(s, b)]
    names = [des.name(e) for e in effects]
    for ai, a in enumerate(effects):
        if df[ai] < 0.5:
            raise GTheoryError(
                f"effect {names[ai]!r} has no degrees of freedom in these data (each level of "
                f"{' x '.join(des.nesting(a)) or 'the design'} needs at least 2 levels of {des.primary(a)[-1]!r})"
            )
    try:
        est = np.linalg.solve(C, ss)
    except np.linalg.LinAlgError:
        raise GTheoryError(f"the variance components of design {design!r} cannot be separated in these data (singular equations)") from None
    scale = max(float(np.abs(ss).max()), 1e-300)
    est = np.where(np.abs(est) < 1e-12 * scale / max(N, 1), 0.0, est)
    ms = ss / df
    var = np.maximum(est, 0.0)
    total = float(var.sum())
    comp = pd.DataFrame(
        {
            "effect": names,
            "df": np.rint(df).astype(int),
            "ss": ss,
            "ms": ms,
            "estimate": est,
            "variance": var,
            "negative": est < 0,
            "percent": 100.0 * var / total if total > 0 else np.nan,
        }
    )
    levels = {}
    default_n: dict[str, float] = {}
    for f in des.facets:
        nest = des.nested_in[f]
        own = frozenset(nest | {f})
        levels[f] = L[own] if nest else base[f][1]
        if f == object:
            continue
        if nest:
            # conditions of f per level of what it is nested in (harmonic mean when unequal)
            per_codes = codes_of(frozenset(nest))[0][rep[own]]
            per = np.bincount(per_codes, minlength=L[frozenset(nest)])
            per = per[per > 0].astype(float)
            default_n[f] = float(len(per) / (1.0 / per).sum())
        else:
            default_n[f] = float(base[f][1])
    method = (
        "ANOVA: expected mean squares, balanced design (as GENOVA)"
        if balanced
        else "analogous ANOVA: Henderson (1953) method 1 on unbalanced or missing data (Brennan 2001 ch. 7, as urGENOVA)"
    )
    # divisors of the observed pattern: each object's mean over the scores it has, every score weighted
    # equally (Brennan 2001, ch. 7); on balanced data these are the products of the G-study sizes
    obj_set = frozenset([object])
    obj_codes = codes_of(obj_set)[0]
    n_o = cnt[obj_set]
    observed_div = {}
    for e in effects:
        u = e | obj_set
        owner = obj_codes[rep[u]]
        share = cnt[u] / n_o[owner]
        per_obj = np.bincount(owner, weights=share * share, minlength=L[obj_set])
        observed_div[e] = float(1.0 / per_obj.mean())
    eff_tuple = tuple((e, nm, float(v)) for e, nm, v in zip(effects, names, var))
    return GStudyResult(
        design=des.text,
        object=object,
        components=comp,
        levels=levels,
        n_obs=N,
        n_missing=n_missing,
        balanced=bool(balanced),
        grand_mean=center,
        default_n=default_n,
        method=method,
        _design=des,
        _effects=eff_tuple,
        _observed_divisors=observed_div,
    )
