"""Tests for evalkit.psychometrics.gtheory: Brennan's synthetic data sets, Shrout & Fleiss, independent checks."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.psychometrics import agreement as ag
from evalkit.psychometrics.gtheory import GTheoryError, g_study, parse_design

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

# --------------------------------------------------------------------------- published data sets

# Brennan (2001), Synthetic Data Set No. 1: p x i, 10 persons x 12 dichotomous items (chapter 2).
BRENNAN_1 = np.array(
    [
        [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ]
)

# Brennan (2001), Synthetic Data Set No. 3 (Table 3.1): p x i x o, 10 persons x 4 items x 2 occasions.
# Columns: occasion 1 items 1-4, occasion 2 items 1-4.
BRENNAN_3 = np.array(
    [
        [2, 6, 7, 5, 2, 5, 5, 5],
        [4, 5, 6, 7, 6, 7, 5, 7],
        [5, 5, 4, 6, 5, 4, 5, 5],
        [5, 9, 8, 6, 5, 7, 7, 6],
        [4, 3, 5, 6, 4, 5, 6, 4],
        [4, 4, 4, 7, 6, 4, 7, 8],
        [2, 6, 6, 5, 2, 7, 7, 5],
        [3, 4, 4, 5, 6, 6, 6, 4],
        [0, 5, 4, 5, 5, 5, 5, 3],
        [6, 8, 7, 6, 6, 8, 8, 6],
    ]
)

# Brennan (2001), Synthetic Data Set No. 4 (Table 3.2): p x (r:t), 10 persons, 3 tasks, 4 raters per task.
# Columns: task 1 raters 1-4, task 2 raters 5-8, task 3 raters 9-12.
BRENNAN_4 = np.array(
    [
        [5, 6, 5, 5, 5, 3, 4, 5, 6, 7, 3, 3],
        [9, 3, 7, 7, 7, 5, 5, 5, 7, 7, 5, 2],
        [3, 4, 3, 3, 5, 3, 3, 5, 6, 5, 1, 6],
        [7, 5, 5, 3, 3, 1, 4, 3, 5, 3, 3, 5],
        [9, 2, 9, 7, 7, 7, 3, 7, 2, 7, 5, 3],
        [3, 4, 3, 5, 3, 3, 6, 3, 4, 5, 1, 2],
        [7, 3, 7, 7, 7, 5, 5, 7, 5, 5, 5, 4],
        [5, 8, 5, 7, 7, 5, 5, 4, 3, 2, 1, 1],
        [9, 9, 8, 8, 6, 6, 6, 5, 5, 8, 1, 1],
        [4, 4, 4, 3, 3, 5, 6, 5, 5, 7, 1, 1],
    ]
)

# Brennan (2001, ch. 7): unbalanced p x (i:h), 8 persons; 2, 4 and 2 items in the three levels of h.
# Columns: h1 items 1-2, h2 items 1-4, h3 items 1-2.
BRENNAN_UNBALANCED = np.array(
    [
        [4, 5, 3, 3, 5, 4, 5, 7],
        [2, 1, 2, 3, 1, 4, 4, 6],
        [2, 4, 4, 7, 6, 5, 8, 7],
        [1, 3, 5, 4, 5, 5, 4, 5],
        [3, 3, 6, 7, 5, 7, 8, 9],
        [1, 2, 5, 6, 4, 4, 5, 6],
        [3, 5, 6, 8, 6, 7, 7, 8],
        [0, 1, 1, 2, 0, 4, 7, 8],
    ]
)

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
)


def long(matrix, col_facets, row="p"):
    """Wide matrix (rows = persons) -> long frame; ``col_facets`` maps a facet name to its level per column."""
    m = np.asarray(matrix)
    n, k = m.shape
    out = {row: np.repeat(np.arange(n), k)}
    for name, levels in col_facets.items():
        out[name] = np.tile(np.asarray(levels), n)
    out["score"] = m.ravel().astype(float)
    return pd.DataFrame(out)


def b1():
    return long(BRENNAN_1, {"i": range(12)})


def b3():
    return long(BRENNAN_3, {"o": [1] * 4 + [2] * 4, "i": [1, 2, 3, 4] * 2})


def b4():
    return long(BRENNAN_4, {"t": np.repeat([1, 2, 3], 4), "r": range(1, 13)})


def bu():
    return long(BRENNAN_UNBALANCED, {"h": [1, 1, 2, 2, 2, 2, 3, 3], "i": [1, 2, 1, 2, 3, 4, 1, 2]})


def comp(g):
    return dict(zip(g.components["effect"], g.components["estimate"]))


# --------------------------------------------------------------------------- published values


def test_brennan_synthetic_data_set_1_p_x_i():
    """Brennan (2001) Synthetic Data Set No. 1: G study and the D study with n'_i = 12."""
    g = g_study(b1(), "p x i")
    c = g.components.set_index("effect")
    assert list(c.index) == ["p", "i", "pi"]
    assert c["df"].tolist() == [9, 11, 99]
    assert c["ss"].round(4).tolist() == [7.3417, 9.6917, 12.5583]
    assert c["ms"].round(4).tolist() == [0.8157, 0.8811, 0.1269]
    assert c["estimate"].round(4).tolist() == [0.0574, 0.0754, 0.1269]
    assert g.balanced and g.n_obs == 120 and g.levels == {"p": 10, "i": 12}
    d = g.d_study({"i": 12})
    assert round(d.g_coefficient, 3) == 0.844 and round(d.phi, 3) == 0.773


def test_brennan_synthetic_data_set_3_p_x_i_x_o():
    """Brennan (2001) Synthetic Data Set No. 3 (Table 3.1): components, ANOVA table, E rho^2 and Phi for
    n'_i = 4, n'_o = 2, and with items fixed (E rho^2 .81, Phi .79)."""
    g = g_study(b3(), "p x i x o")
    c = g.components.set_index("effect")
    assert list(c.index) == ["p", "i", "o", "pi", "po", "io", "pio"]
    assert c["df"].tolist() == [9, 3, 1, 27, 9, 3, 27]
    assert c["ss"].round(2).tolist() == [62.20, 37.45, 3.20, 56.30, 12.05, 7.50, 25.25]
    assert c["estimate"].round(4).tolist() == [0.5528, 0.4417, 0.0074, 0.5750, 0.1009, 0.1565, 0.9352]
    d = g.d_study({"i": 4, "o": 2})
    assert round(d.g_coefficient, 2) == 0.64 and round(d.phi, 2) == 0.55
    f = g.d_study({"i": 4, "o": 2}, fixed=["i"])
    assert round(f.g_coefficient, 2) == 0.81 and round(f.phi, 2) == 0.79
    roles = dict(zip(f.contributions["effect"], f.contributions["role"]))
    assert roles["pi"] == "universe" and roles["i"] == "fixed (constant)" and roles["io"] == "absolute error only"


def test_brennan_synthetic_data_set_4_p_x_r_in_t():
    """Brennan (2001) Synthetic Data Set No. 4 (Table 3.2): p x (r:t); E rho^2 .55 and Phi .46 with
    n'_r = 4, n'_t = 3; tasks fixed: .77 and .72."""
    g = g_study(b4(), "p x (r:t)")
    c = g.components.set_index("effect")
    assert list(c.index) == ["p", "t", "r:t", "pt", "pr:t"]
    assert c["df"].tolist() == [9, 2, 9, 18, 81]
    assert c["ss"].round(4).tolist() == [92.6667, 48.2000, 79.7000, 83.1333, 192.8000]
    assert c["ms"].round(4).tolist() == [10.2963, 24.1000, 8.8556, 4.6185, 2.3802]
    assert c["estimate"].round(4).tolist() == [0.4731, 0.3252, 0.6475, 0.5596, 2.3802]
    assert g.default_n == {"r": 4.0, "t": 3.0}
    d = g.d_study()
    assert round(d.g_coefficient, 2) == 0.55 and round(d.phi, 2) == 0.46
    f = g.d_study(fixed=["t"])
    assert round(f.g_coefficient, 2) == 0.77 and round(f.phi, 2) == 0.72


def test_i_nested_in_p_on_synthetic_data_set_3():
    """The i:p analysis of the same 10 x 8 scores (each person's 8 scores treated as their own items):
    sigma^2(p) = .6108, sigma^2(i:p) = 2.0250 (the values GeneralizIT's fixtures give for Brennan's
    i:p example), and the one-way ANOVA identity MS(p) = 6.9111."""
    data = long(BRENNAN_3, {"i": range(8)})
    g = g_study(data, "i:p")
    c = g.components.set_index("effect")
    assert list(c.index) == ["p", "i:p"]
    assert c["df"].tolist() == [9, 70]
    assert c["ms"].round(4).tolist() == [6.9111, 2.0250]
    assert c["estimate"].round(4).tolist() == [0.6108, 2.0250]


def test_brennan_unbalanced_p_x_i_in_h():
    """Brennan (2001, ch. 7) unbalanced p x (i:h) example, by the analogous-ANOVA procedure (urGENOVA):
    components 1.2014, 2.9161, .9913, .2946, .8429; with the observed (unbalanced) numbers of items,
    E rho^2 = .716 and Phi = .4277 (values as given in GeneralizIT's test fixtures, which cite Brennan)."""
    g = g_study(bu(), "p x (i:h)")
    assert not g.balanced and "Henderson" in g.method
    c = comp(g)
    assert round(c["p"], 4) == 1.2014 and round(c["h"], 4) == 2.9161
    assert c["ph"] == pytest.approx(0.9913, abs=1.5e-4)
    assert round(c["i:h"], 4) == 0.2946 and round(c["pi:h"], 4) == 0.8429
    d = g.d_study()
    assert round(d.g_coefficient, 3) == 0.716 and round(d.phi, 4) == 0.4277
    assert "observed" in d.note and "observed unbalanced pattern" in d.describe()
    # the divisor of sigma^2(ph) is n_+^2 / sum n_h^2 = 64 / 24
    contrib = d.contributions.set_index("effect")
    assert contrib.loc["ph", "divisor"] == pytest.approx(64 / 24)
    assert contrib.loc["pi:h", "divisor"] == pytest.approx(8)


def test_shrout_fleiss_1979_through_g_theory():
    """Shrout & Fleiss (1979), Table 2: the p x r mean squares (BMS 11.24, JMS 32.49, EMS 1.02) and the
    r:p within-target mean square (WMS 6.26); the D-study coefficients are their ICCs:
    Phi(1) = ICC(2,1) .29, E rho^2(1) = ICC(3,1) .71, Phi(4) = ICC(2,4) .62, E rho^2(4) = ICC(3,4) .91,
    and in r:p, ICC(1,1) .17 and ICC(1,4) .44."""
    data = long(SHROUT_FLEISS, {"r": range(4)})
    g = g_study(data, "p x r")
    ms = dict(zip(g.components["effect"], g.components["ms"].round(2)))
    assert ms == {"p": 11.24, "r": 32.49, "pr": 1.02}
    one, four = g.d_study({"r": 1}), g.d_study({"r": 4})
    assert round(one.phi, 2) == 0.29 and round(one.g_coefficient, 2) == 0.71
    assert round(four.phi, 2) == 0.62 and round(four.g_coefficient, 2) == 0.91
    nested = g_study(data, "r:p")
    assert round(nested.components["ms"].iloc[1], 2) == 6.26
    assert round(nested.d_study({"r": 1}).phi, 2) == 0.17 and round(nested.d_study({"r": 4}).phi, 2) == 0.44
    # and exactly evalkit's ICCs
    for coef, n, form in (("phi", 1, "ICC2"), ("g_coefficient", 1, "ICC3"), ("phi", 4, "ICC2k"), ("g_coefficient", 4, "ICC3k")):
        assert getattr(g.d_study({"r": n}), coef) == pytest.approx(ag.icc(SHROUT_FLEISS, form).value)
    assert nested.d_study({"r": 1}).phi == pytest.approx(ag.icc(SHROUT_FLEISS, "ICC1").value)
    assert nested.d_study({"r": 4}).g_coefficient == pytest.approx(ag.icc(SHROUT_FLEISS, "ICC1k").value)


# --------------------------------------------------------------------------- independent computations


def _balanced_pri(seed, n_p=15, n_r=3, n_i=4):
    rng = np.random.default_rng(seed)
    p, r, i = np.meshgrid(np.arange(n_p), np.arange(n_r), np.arange(n_i), indexing="ij")
    p, r, i = p.ravel(), r.ravel(), i.ravel()
    y = (
        rng.normal(0, 1.0, n_p)[p]
        + rng.normal(0, 0.5, n_r)[r]
        + rng.normal(0, 0.7, n_i)[i]
        + rng.normal(0, 0.4, (n_p, n_r))[p, r]
        + rng.normal(0, 0.3, (n_p, n_i))[p, i]
        + rng.normal(0, 0.8, len(p))
    )
    return pd.DataFrame({"p": p, "r": [f"R{k}" for k in r], "i": i, "score": y})


@pytest.mark.parametrize("seed", [0, 1])
def test_balanced_sums_of_squares_match_statsmodels_anova(seed):
    """Independent computation: statsmodels' OLS ANOVA (sequential SS, balanced so order-free) gives the same
    SS and df for every effect of p x r x i, and the EMS solution of those mean squares gives the components."""
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    data = _balanced_pri(seed)
    g = g_study(data, "p x r x i")
    fit = ols("score ~ C(p) + C(r) + C(i) + C(p):C(r) + C(p):C(i) + C(r):C(i)", data=data).fit()
    table = anova_lm(fit, typ=1)
    names = {"C(p)": "p", "C(r)": "r", "C(i)": "i", "C(p):C(r)": "pr", "C(p):C(i)": "pi", "C(r):C(i)": "ri", "Residual": "pri"}
    c = g.components.set_index("effect")
    for row, eff in names.items():
        assert c.loc[eff, "ss"] == pytest.approx(table.loc[row, "sum_sq"], rel=1e-9)
        assert c.loc[eff, "df"] == int(table.loc[row, "df"])
    # textbook EMS solution (Brennan 2001, Table 3.3) from those mean squares
    ms = {eff: table.loc[row, "mean_sq"] for row, eff in names.items()}
    n_p, n_r, n_i = 15, 3, 4
    expected = {
        "pri": ms["pri"],
        "pr": (ms["pr"] - ms["pri"]) / n_i,
        "pi": (ms["pi"] - ms["pri"]) / n_r,
        "ri": (ms["ri"] - ms["pri"]) / n_p,
        "p": (ms["p"] - ms["pr"] - ms["pi"] + ms["pri"]) / (n_r * n_i),
        "r": (ms["r"] - ms["pr"] - ms["ri"] + ms["pri"]) / (n_p * n_i),
        "i": (ms["i"] - ms["pi"] - ms["ri"] + ms["pri"]) / (n_p * n_r),
    }
    for eff, value in expected.items():
        assert c.loc[eff, "estimate"] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_unbalanced_estimates_are_unbiased_by_simulation():
    """Independent check of Henderson's method 1 on missing data: it is unbiased, so over 200 simulated
    (r:p) x i data sets with known components and ~25% of scores missing, the mean estimate of each
    component is within 4 Monte Carlo standard errors of the truth."""
    rng = np.random.default_rng(11)
    true = {"p": 1.0, "i": 0.5, "r:p": 0.4, "pi": 0.3, "ri:p": 0.6}
    n_p, n_r, n_i = 40, 2, 5
    p, r, i = (a.ravel() for a in np.meshgrid(np.arange(n_p), np.arange(n_r), np.arange(n_i), indexing="ij"))
    est = []
    for _ in range(200):
        y = (
            rng.normal(0, math.sqrt(true["p"]), n_p)[p]
            + rng.normal(0, math.sqrt(true["i"]), n_i)[i]
            + rng.normal(0, math.sqrt(true["r:p"]), (n_p, n_r))[p, r]
            + rng.normal(0, math.sqrt(true["pi"]), (n_p, n_i))[p, i]
            + rng.normal(0, math.sqrt(true["ri:p"]), len(p))
        )
        keep = rng.random(len(p)) > 0.25
        frame = pd.DataFrame({"p": p[keep], "r": r[keep], "i": i[keep], "score": y[keep]})
        g = g_study(frame, "(r:p) x i")
        assert not g.balanced
        est.append([comp(g)[k] for k in true])
    est = np.array(est)
    mean, se = est.mean(axis=0), est.std(axis=0, ddof=1) / math.sqrt(len(est))
    for k, (name, value) in enumerate(true.items()):
        assert abs(mean[k] - value) < 4 * se[k], (name, mean[k], value, se[k])


def test_missing_scores_are_dropped_and_counted():
    data = b4()
    data.loc[[3, 50], "score"] = np.nan
    g = g_study(data, "p x (r:t)")
    assert g.n_missing == 2 and g.n_obs == 118 and not g.balanced
    assert "2 missing dropped" in g.describe()


def test_phi_lambda_follows_brennan_formula():
    """Phi(lambda) for p x I: (sigma2_p + (Xbar - lambda)^2 - var(Xbar)) / (same + sigma2_Delta), with
    var(Xbar) = sigma2_p / n_p + sigma2_i / n_i + sigma2_pi / (n_p n_i) (Brennan 2001, eq. 2.55-2.57)."""
    g = g_study(b1(), "p x i")
    c = comp(g)
    n_p, n_i, lam = 10, 12, 0.75
    xbar = BRENNAN_1.mean()
    var_mean = c["p"] / n_p + c["i"] / n_i + c["pi"] / (n_p * n_i)
    delta = (c["i"] + c["pi"]) / n_i
    num = c["p"] + (xbar - lam) ** 2 - var_mean
    d = g.d_study({"i": n_i}, cut=lam)
    assert d.phi_lambda == pytest.approx(num / (num + delta))
    assert d.cut == 0.75 and "Phi(0.75) = " in d.describe()
    assert math.isnan(g.d_study({"i": n_i}).phi_lambda)
    # far from the mean, Phi(lambda) approaches 1
    assert g.d_study({"i": n_i}, cut=5.0).phi_lambda > 0.99


def test_d_study_design_nesting_combines_components():
    """G study p x r x i, D study (r:p) x i: sigma2(r:p) = sigma2(r) + sigma2(pr) and
    sigma2(ri:p) = sigma2(ri) + sigma2(pri) (Brennan 2001, section 4.4)."""
    data = _balanced_pri(3)
    g = g_study(data, "p x r x i")
    c = dict(zip(g.components["effect"], g.components["variance"]))
    d = g.d_study({"r": 2, "i": 10}, design="(r:p) x i")
    contrib = d.contributions.set_index("effect")
    assert contrib.loc["r:p (r + pr)", "variance"] == pytest.approx(c["r"] + c["pr"])
    assert contrib.loc["ri:p (ri + pri)", "variance"] == pytest.approx(c["ri"] + c["pri"])
    delta = (c["r"] + c["pr"]) / 2 + c["pi"] / 10 + (c["ri"] + c["pri"]) / 20
    Delta = delta + c["i"] / 10
    assert d.relative_error_variance == pytest.approx(delta)
    assert d.absolute_error_variance == pytest.approx(Delta)
    assert d.g_coefficient == pytest.approx(c["p"] / (c["p"] + delta))
    # crossed D study of the same sizes: rater main effect is absolute error only
    crossed = g.d_study({"r": 2, "i": 10})
    assert crossed.g_coefficient > d.g_coefficient and crossed.phi == pytest.approx(d.phi)
    with pytest.raises(GTheoryError, match="can nest more than its G study, not less"):
        g_study(data, "(r:p) x i").d_study(design="p x r x i")


def test_d_study_table_and_smallest_n():
    g = g_study(b4(), "p x (r:t)")
    table = g.d_study_table("r", n={"t": 3}, cut=5.0)
    assert table["n_r"].tolist() == [1, 2, 3, 4, 5]
    assert table["phi"].is_monotonic_increasing and table["g_coefficient"].is_monotonic_increasing
    assert table.loc[3, "phi"] == pytest.approx(g.d_study({"r": 4, "t": 3}).phi)
    assert table["phi_lambda"].notna().all()
    assert table.attrs["vary"] == "r"
    k = g.smallest_n("t", 0.8, "g_coefficient", n={"r": 2})
    assert g.d_study({"r": 2, "t": k}).g_coefficient >= 0.8 > g.d_study({"r": 2, "t": k - 1}).g_coefficient
    assert g.smallest_n("r", 0.999, max_n=5) is None


def test_d_study_plot():
    from matplotlib.figure import Figure

    from evalkit.psychometrics.plots import d_study_plot

    table = g_study(b4(), "p x (r:t)").d_study_table("r", cut=4.0)
    fig = d_study_plot(table, target=0.7)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) >= 3  # E rho^2, Phi, Phi(lambda) (+ the target line)
    assert "raters" in ax.get_xlabel() or "r" in ax.get_xlabel()
    with pytest.raises(ValueError, match="d_study_plot needs"):
        d_study_plot(pd.DataFrame({"x": [1]}))


def test_negative_estimate_reported_and_set_to_zero():
    # persons differ less than the interaction would lead one to expect: the sigma2(p) estimate is negative
    x = long([[1, 3], [3, 1], [2, 2], [1, 3]], {"r": range(2)})
    gx = g_study(x, "p x r")
    cx = gx.components.set_index("effect")
    assert cx.loc["p", "estimate"] < 0 and cx.loc["p", "variance"] == 0 and cx.loc["p", "negative"]
    assert "negative, set to 0" in gx.describe()
    assert "Brennan 2001, section 3.4" in gx.negative_rule
    # the other components are not re-estimated (Brennan's rule, not Cronbach et al.'s)
    assert cx.loc["pr", "variance"] == cx.loc["pr", "estimate"] == cx.loc["pr", "ms"]
    assert (cx["variance"] >= 0).all() and cx.loc["p", "percent"] == 0


def test_parse_design_forms():
    d = parse_design("(r:p) x i")
    assert d.facets == ("r", "p", "i") and d.nested_in["r"] == {"p"}
    assert [d.name(e) for e in d.effects()] == ["p", "i", "r:p", "pi", "ri:p"]
    crossed = parse_design("p × r × i")
    assert [crossed.name(e) for e in crossed.effects()] == ["p", "r", "i", "pr", "pi", "ri", "pri"]
    long_names = parse_design("person x (rater:task)")
    assert long_names.name(frozenset({"person", "rater", "task"})) == "person x rater:task"
    assert parse_design("i:r:p").nested_in["i"] == {"r", "p"}  # nesting is transitive
    for bad, why in (("p x", "ends too soon"), ("p x (r:t", "not closed"), ("p x p", "appears twice"),
                     ("p + r", "unexpected character"), ("", "must be a string")):
        with pytest.raises(GTheoryError, match=why):
            parse_design(bad)


def test_results_serialise_and_describe():
    g = g_study(b3(), "p x i x o")
    d = g.d_study({"i": 4, "o": 2}, cut=5)
    json.dumps(g.to_dict())
    json.dumps(d.to_dict())
    assert "\n" not in g.describe() and g.describe().startswith("G study p x i x o (balanced, 80 scores; ANOVA): p 0.553")
    assert d.describe().startswith("D study p x i x o (i=4, o=2): E rho^2 = 0.640, Phi = 0.554, Phi(5) = ")
    with pytest.raises(Exception):
        g.object = "i"  # frozen


def test_string_labels_and_reused_nested_labels():
    """Raters labelled 'first'/'second' within each person are different raters in r:p."""
    data = long(SHROUT_FLEISS, {"r": ["a", "b", "c", "d"]})
    data["p"] = data["p"].map(lambda k: f"cand-{k}")
    g = g_study(data, "r:p")
    assert g.levels == {"r": 24, "p": 6} and g.default_n == {"r": 4.0}


# --------------------------------------------------------------------------- bad input


def test_bad_input_one_line_errors():
    data = b4()
    cases = [
        (lambda: g_study(data, "p x r x i"), r"design 'p x r x i' names facet\(s\) \['i'\] that are not columns"),
        (lambda: g_study(data, "p x t"), r"each combination of facet levels must have one score; p=0, t=1 has 4"),
        (lambda: g_study(data, "p x (r:t)", object="q"), "object 'q' is not a facet"),
        (lambda: g_study(data, "p x (r:t)", object="r"), "object 'r' is nested in"),
        (lambda: g_study(data, "p x (r:t)", score="points"), "no score column 'points'"),
        (lambda: g_study(data.assign(score=3.0), "p x (r:t)"), r"all 120 scores are equal \(3\): there is no variance"),
        (lambda: g_study(data.assign(t=1), "p x (r:t)"), "facet 't' has only one level"),
        (lambda: g_study(data.to_numpy(), "p x (r:t)"), "scores must be a long DataFrame"),
        (lambda: g_study(data.assign(score=["x"] * 120), "p x (r:t)"), "scores must be numeric; got 'x'"),
        (lambda: g_study(data.assign(t=[None] + [1] * 119), "p x (r:t)"), "facet column 't' has a missing level"),
        (lambda: g_study(long(SHROUT_FLEISS[:, :1], {"r": [0]}).assign(r=lambda f: f.p), "r:p"),
         "effect 'r:p' has no degrees of freedom"),
        (lambda: g_study(data, "p x (r:t)").d_study({"q": 2}), "n names 'q', which is not a facet"),
        (lambda: g_study(data, "p x (r:t)").d_study({"r": 0}), r"n\['r'\] must be a positive number"),
        (lambda: g_study(data, "p x (r:t)").d_study(fixed=["p"]), "fixed names 'p'"),
        (lambda: g_study(data, "p x (r:t)").d_study(cut="high"), "cut must be a finite number"),
        (lambda: g_study(data, "p x (r:t)").d_study(design="p x r"), "must have the G study's facets"),
        (lambda: g_study(data, "p x (r:t)").smallest_n("r", coefficient="alpha"), "coefficient must be"),
    ]
    for call, pattern in cases:
        with pytest.raises(GTheoryError, match=pattern) as info:
            call()
        assert "\n" not in str(info.value)
    assert issubclass(GTheoryError, ValueError)
