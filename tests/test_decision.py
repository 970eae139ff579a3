"""Tests for evalkit.psychometrics.decision: Subkoviak's tables, closed forms and Monte Carlo checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from evalkit.psychometrics.decision import DecisionError, livingston_lewis, subkoviak_normal

# Subkoviak (1988), Table 1 (agreement coefficient p0) and Table 2 (kappa): rows |z| = 0.0, 0.1, ..., 2.0,
# columns reliability 0.1, ..., 0.9.  As transcribed in the R package rcrtan (data-raw/sub_agree_coef.csv and
# data/subkoviak-kappa-coefficient.csv, G. LaFlair).
SUBKOVIAK_P0 = np.array(
    [
        [0.53, 0.56, 0.60, 0.63, 0.67, 0.70, 0.75, 0.80, 0.86],
        [0.53, 0.57, 0.60, 0.63, 0.67, 0.71, 0.75, 0.80, 0.86],
        [0.54, 0.57, 0.61, 0.64, 0.67, 0.71, 0.75, 0.80, 0.86],
        [0.56, 0.59, 0.62, 0.65, 0.68, 0.72, 0.76, 0.80, 0.86],
        [0.58, 0.60, 0.63, 0.66, 0.69, 0.73, 0.77, 0.81, 0.87],
        [0.60, 0.62, 0.65, 0.68, 0.71, 0.74, 0.78, 0.82, 0.87],
        [0.62, 0.65, 0.67, 0.70, 0.73, 0.76, 0.79, 0.83, 0.88],
        [0.65, 0.67, 0.70, 0.72, 0.75, 0.77, 0.80, 0.84, 0.89],
        [0.68, 0.70, 0.72, 0.74, 0.77, 0.79, 0.82, 0.85, 0.90],
        [0.71, 0.73, 0.75, 0.77, 0.79, 0.81, 0.84, 0.87, 0.90],
        [0.75, 0.76, 0.77, 0.77, 0.81, 0.83, 0.85, 0.88, 0.91],
        [0.78, 0.79, 0.80, 0.81, 0.83, 0.85, 0.87, 0.89, 0.92],
        [0.80, 0.81, 0.82, 0.84, 0.85, 0.86, 0.88, 0.90, 0.93],
        [0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.90, 0.91, 0.94],
        [0.86, 0.86, 0.87, 0.88, 0.89, 0.90, 0.91, 0.93, 0.95],
        [0.88, 0.88, 0.89, 0.90, 0.90, 0.91, 0.92, 0.94, 0.95],
        [0.90, 0.90, 0.91, 0.91, 0.92, 0.93, 0.93, 0.95, 0.96],
        [0.92, 0.92, 0.92, 0.93, 0.93, 0.94, 0.95, 0.95, 0.97],
        [0.93, 0.93, 0.94, 0.94, 0.94, 0.95, 0.95, 0.96, 0.97],
        [0.95, 0.95, 0.95, 0.95, 0.95, 0.96, 0.96, 0.97, 0.98],
        [0.96, 0.96, 0.96, 0.96, 0.96, 0.97, 0.97, 0.97, 0.98],
    ]
)
SUBKOVIAK_KAPPA = np.array(
    [
        [0.06, 0.13, 0.19, 0.26, 0.33, 0.41, 0.49, 0.59, 0.71],
        [0.06, 0.13, 0.19, 0.26, 0.33, 0.41, 0.49, 0.59, 0.71],
        [0.06, 0.13, 0.19, 0.26, 0.33, 0.41, 0.49, 0.59, 0.71],
        [0.06, 0.12, 0.19, 0.26, 0.33, 0.40, 0.49, 0.59, 0.71],
        [0.06, 0.12, 0.19, 0.25, 0.32, 0.40, 0.48, 0.58, 0.71],
        [0.06, 0.12, 0.18, 0.25, 0.32, 0.40, 0.48, 0.58, 0.70],
        [0.06, 0.12, 0.18, 0.24, 0.31, 0.39, 0.47, 0.57, 0.70],
        [0.05, 0.11, 0.17, 0.24, 0.31, 0.38, 0.47, 0.57, 0.70],
        [0.05, 0.11, 0.17, 0.23, 0.30, 0.37, 0.46, 0.56, 0.69],
        [0.05, 0.10, 0.16, 0.22, 0.29, 0.36, 0.45, 0.55, 0.68],
        [0.05, 0.10, 0.15, 0.21, 0.28, 0.35, 0.44, 0.54, 0.68],
        [0.04, 0.09, 0.14, 0.20, 0.27, 0.34, 0.43, 0.53, 0.67],
        [0.04, 0.08, 0.14, 0.19, 0.26, 0.33, 0.42, 0.52, 0.66],
        [0.04, 0.08, 0.13, 0.18, 0.25, 0.32, 0.41, 0.51, 0.65],
        [0.03, 0.07, 0.12, 0.17, 0.23, 0.31, 0.39, 0.50, 0.64],
        [0.03, 0.07, 0.11, 0.16, 0.22, 0.29, 0.38, 0.49, 0.63],
        [0.03, 0.06, 0.06, 0.15, 0.21, 0.28, 0.37, 0.47, 0.62],
        [0.02, 0.05, 0.09, 0.14, 0.20, 0.27, 0.35, 0.46, 0.61],
        [0.02, 0.05, 0.08, 0.13, 0.18, 0.25, 0.34, 0.45, 0.60],
        [0.02, 0.04, 0.08, 0.12, 0.17, 0.24, 0.32, 0.43, 0.59],
        [0.02, 0.04, 0.07, 0.11, 0.16, 0.22, 0.31, 0.42, 0.58],
    ]
)
Z = np.round(np.arange(21) * 0.1, 1)
R = np.round(np.arange(1, 10) * 0.1, 1)
# Two cells of the transcription break the table's monotone pattern (a typo in the copy, or the original):
# p0 at |z| = 1.0, r = .4 reads .77, the same as r = .3 and below the .79 the row's trend gives;
# kappa at |z| = 1.6, r = .3 reads .06, the same as r = .2, where its column runs .11 -> .09.
TYPOS = {("p0", 1.0, 0.4), ("kappa", 1.6, 0.3)}


def test_subkoviak_1988_tables_reproduced():
    """Subkoviak (1988) Tables 1 and 2: every cell (|z| 0-2, reliability .1-.9) is reproduced to within
    .006 (the tables' two-decimal rounding), except the two cells above that break the tables' own pattern;
    those lie between their neighbours."""
    for i, z in enumerate(Z):
        for j, r in enumerate(R):
            res = subkoviak_normal(mean=0.0, sd=1.0, cut=float(z), reliability=float(r))
            assert res.details["z"] == pytest.approx(z)
            for name, table, value in (("p0", SUBKOVIAK_P0, res.consistency), ("kappa", SUBKOVIAK_KAPPA, res.kappa)):
                if (name, z, r) in TYPOS:
                    assert table[i, j - 1] <= round(value, 2) <= table[i, j + 1]
                    continue
                assert abs(value - table[i, j]) <= 0.006, (name, z, r, value, table[i, j])
    # the sign of z does not matter (the tables are for |z|)
    assert subkoviak_normal(mean=0, sd=1, cut=-0.7, reliability=0.5).consistency == pytest.approx(
        subkoviak_normal(mean=0, sd=1, cut=0.7, reliability=0.5).consistency)


@pytest.mark.parametrize("r", [0.1, 0.35, 0.6, 0.85, 0.95])
def test_cut_at_the_mean_is_sheppards_formula(r):
    """At z = 0 the bivariate normal orthant probability is Sheppard's 1/4 + arcsin(r)/(2 pi), so
    p0 = 1/2 + arcsin(r)/pi and kappa = 2 arcsin(r)/pi exactly."""
    res = subkoviak_normal(mean=50.0, sd=10.0, cut=50.0, reliability=r)
    assert res.consistency == pytest.approx(0.5 + math.asin(r) / math.pi, abs=1e-12)
    assert res.kappa == pytest.approx(2 * math.asin(r) / math.pi, abs=1e-12)
    # accuracy at the mean: P(both on the same side) with correlation sqrt(r)
    assert res.accuracy == pytest.approx(0.5 + math.asin(math.sqrt(r)) / math.pi, abs=1e-12)


def test_subkoviak_from_scores_uses_the_continuity_correction():
    x = np.array([3, 5, 6, 6, 7, 8, 8, 9, 10, 12])
    res = subkoviak_normal(x, cut=8, reliability=0.7)
    assert res.details["continuity"] == 0.5
    assert res.details["z"] == pytest.approx((8 - 0.5 - x.mean()) / x.std())
    assert res.n_candidates == 10 and res.p_pass_observed == pytest.approx(0.5)  # 8 passes: score >= cut
    cont = subkoviak_normal(x + 0.25, cut=8.25, reliability=0.7)
    assert cont.details["continuity"] == 0.0
    same = subkoviak_normal(mean=float(x.mean()), sd=float(x.std()), cut=7.5, reliability=0.7)
    assert same.consistency == pytest.approx(res.consistency) and same.kappa == pytest.approx(res.kappa)


def _beta_binomial(seed, n_cand, n_items, a, b, lo, hi):
    rng = np.random.default_rng(seed)
    tau = lo + (hi - lo) * rng.beta(a, b, n_cand)
    x1, x2 = rng.binomial(n_items, tau), rng.binomial(n_items, tau)
    var_true = n_items**2 * tau.var()
    rel = var_true / (var_true + n_items * np.mean(tau * (1 - tau)))
    return tau, x1, x2, rel


@pytest.mark.parametrize(
    "seed,n_items,a,b,lo,hi,cut",
    [(1, 40, 6, 3, 0.0, 1.0, 24), (2, 40, 3, 2, 0.2, 0.95, 28), (3, 20, 2, 2, 0.1, 0.9, 12), (4, 30, 5, 2, 0.3, 1.0, 25)],
)
def test_livingston_lewis_matches_monte_carlo(seed, n_items, a, b, lo, hi, cut):
    """Independent computation: simulate 50,000 candidates from the model LL assumes (a four-parameter beta
    true proportion, binomial observed scores), give a second parallel form to each, and count.  LL's
    consistency, accuracy and error rates from one form and the population reliability agree with the
    counts to within .01 (Monte Carlo SE about .002), kappa within .02."""
    tau, x1, x2, rel = _beta_binomial(seed, 50_000, n_items, a, b, lo, hi)
    res = livingston_lewis(x1, cut, rel, min_score=0, max_score=n_items)
    pass1, pass2, true_pass = x1 >= cut, x2 >= cut, tau >= cut / n_items
    p0 = np.mean(pass1 == pass2)
    pp = np.mean(np.r_[pass1, pass2])
    assert res.consistency == pytest.approx(p0, abs=0.01)
    assert res.kappa == pytest.approx((p0 - pp**2 - (1 - pp) ** 2) / (1 - pp**2 - (1 - pp) ** 2), abs=0.02)
    assert res.accuracy == pytest.approx(np.mean(pass1 == true_pass), abs=0.01)
    assert res.false_positive == pytest.approx(np.mean(pass1 & ~true_pass), abs=0.01)
    assert res.false_negative == pytest.approx(np.mean(~pass1 & true_pass), abs=0.01)
    assert res.p_pass_expected == pytest.approx(res.p_pass_observed, abs=0.01)
    assert abs(res.details["effective_length"] - n_items) <= 1
    assert res.accuracy + res.false_positive + res.false_negative == pytest.approx(1.0)
    if lo > 0:  # the four-parameter beta recovers the bounds of the true-score distribution
        assert res.details["model"] == "four-parameter beta"
        assert res.details["lower"] == pytest.approx(lo, abs=0.04) and res.details["upper"] == pytest.approx(hi, abs=0.04)


def test_livingston_lewis_and_subkoviak_on_normal_rubric_totals():
    """Independent computation with data outside both models' own assumptions: totals on 0-100 (rounded)
    with normal true scores (SD 12) and normal errors (SD 6), reliability .8.  Both estimates agree with the
    simulated parallel forms to within .015."""
    rng = np.random.default_rng(7)
    T = rng.normal(62, 12, 60_000)
    X1 = np.clip(np.round(T + rng.normal(0, 6, T.size)), 0, 100)
    X2 = np.clip(np.round(T + rng.normal(0, 6, T.size)), 0, 100)
    p0, acc = np.mean((X1 >= 60) == (X2 >= 60)), np.mean((X1 >= 60) == (T >= 60))
    for res in (livingston_lewis(X1, 60, 0.8, min_score=0, max_score=100), subkoviak_normal(X1, 60, 0.8)):
        assert res.consistency == pytest.approx(p0, abs=0.015), res.method
        assert res.accuracy == pytest.approx(acc, abs=0.015), res.method


def test_livingston_lewis_effective_length_and_fallback():
    tau, x1, _, rel = _beta_binomial(1, 3000, 40, 6, 3, 0.0, 1.0)
    res = livingston_lewis(x1, 24, rel, min_score=0, max_score=40)
    mu, var = x1.mean(), x1.var()
    n = ((mu - 0) * (40 - mu) - rel * var) / (var * (1 - rel))
    assert res.details["effective_length_unrounded"] == pytest.approx(n)
    assert res.details["effective_length"] == round(n)
    # a true-score distribution spanning [0, 1]: the four-parameter fit falls outside and LL's two-parameter beta is used
    assert res.details["model"] == "two-parameter beta" and "inadmissible" in res.note
    # the same scores on another scale (x 2.5, offset 10) give the same answer
    moved = livingston_lewis(10 + 2.5 * x1, 10 + 2.5 * 24, rel, min_score=10, max_score=110)
    assert moved.consistency == pytest.approx(res.consistency) and moved.accuracy == pytest.approx(res.accuracy)


def test_results_state_the_convention_and_serialise():
    x = np.array([3, 5, 6, 6, 7, 8, 8, 9, 10, 12, 4, 7, 9, 11])
    for res in (livingston_lewis(x, 8, 0.7, min_score=0, max_score=15), subkoviak_normal(x, 8, 0.7)):
        assert res.convention == "pass means score >= cut (observed and true scores)"
        assert "pass means score >= cut" in res.describe() and "\n" not in res.describe()
        json.dumps(res.to_dict())
        assert 0 < res.consistency < 1 and 0 < res.accuracy < 1
        with pytest.raises(Exception):
            res.cut = 3  # frozen


def test_bad_input_one_line_errors():
    x = np.array([3, 5, 6, 6, 7, 8, 8, 9, 10, 12])
    cases = [
        (lambda: livingston_lewis(x, 8, 1.2, min_score=0, max_score=15), "reliability must be between 0 and 1"),
        (lambda: livingston_lewis(x, 8, 0.7, min_score=0, max_score=10), r"score 12 is off the scale 0-10"),
        (lambda: livingston_lewis(x, 20, 0.7, min_score=0, max_score=15), "cut must be above min_score and at most max_score"),
        (lambda: livingston_lewis(x, 8, 0.7, min_score=15, max_score=0), "max_score must be above min_score"),
        (lambda: livingston_lewis([5, 5, 5], 4, 0.7, min_score=0, max_score=10), r"all 3 scores are equal \(5\): no variance"),
        (lambda: livingston_lewis([5], 4, 0.7, min_score=0, max_score=10), "need at least 2 observed scores"),
        (lambda: livingston_lewis(["a", "b"], 4, 0.7, min_score=0, max_score=10), "scores must be numbers"),
        (lambda: livingston_lewis([[1, 2], [3, 4]], 4, 0.7, min_score=0, max_score=10), "scores must be 1-D"),
        (lambda: livingston_lewis(x, "8", 0.7, min_score=0, max_score=15), "cut must be a finite number"),
        (lambda: livingston_lewis(x, 8, 0.01, min_score=0, max_score=15), "imply no true-score variance"),
        (lambda: subkoviak_normal(x, 8, 0), "reliability must be between 0 and 1"),
        (lambda: subkoviak_normal(x, None, 0.7), "cut is required"),
        (lambda: subkoviak_normal(None, 8, 0.7, mean=5), "give scores, or both mean= and sd="),
        (lambda: subkoviak_normal(x, 8, 0.7, mean=5, sd=2), "give either scores or mean= and sd=, not both"),
        (lambda: subkoviak_normal(None, 8, 0.7, mean=5, sd=0), "sd must be positive"),
        (lambda: subkoviak_normal(5, 8, 0.7), "scores must be a 1-D sequence"),
    ]
    for call, pattern in cases:
        with pytest.raises(DecisionError, match=pattern) as info:
            call()
        assert "\n" not in str(info.value)
    assert issubclass(DecisionError, ValueError)
