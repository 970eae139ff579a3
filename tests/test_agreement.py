"""Tests for evalkit.agreement: published examples, reference implementations, conventions."""

from __future__ import annotations

import importlib.metadata
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.psychometrics import agreement as ag
from evalkit.psychometrics.agreement import AgreementError

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

# --------------------------------------------------------------------------- data

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ],
    dtype=float,
)

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses
# (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other).
# Fleiss gives the counts per category; written here one rating per column.
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4],
        [2, 2, 2, 5, 5, 5],
        [2, 3, 3, 3, 3, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3],
        [3, 3, 3, 3, 5, 5],
        [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4],
        [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4],
        [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3],
        [1, 4, 4, 4, 4, 4],
        [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5],
        [1, 1, 1, 1, 1, 2],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 4, 4, 4, 4, 4],
        [2, 2, 4, 5, 5, 5],
        [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4],
        [1, 1, 1, 1, 5, 5],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3],
        [5, 5, 5, 5, 5, 5],
    ]
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# observers A-D (here columns) x 12 units (here rows); NaN = no value.
# This is also Gwet's cac.raw4raters (irrCAC.datasets.raw_4raters).
NA = np.nan
KRIPP_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
        [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
    ]
).T


def random_ratings(seed, n, r, q, p_missing=0.15, base=1, min_per_row=1):
    """Ordinal ratings on levels base..base+q-1 with rater noise and missing cells."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(0, 1, n)
    x = latent[:, None] + rng.normal(0, 0.8, (n, r)) + rng.normal(0, 0.3, r)
    cuts = np.quantile(x, np.linspace(0, 1, q + 1)[1:-1])
    codes = np.searchsorted(cuts, x).astype(float) + base
    miss = rng.random((n, r)) < p_missing
    # keep at least min_per_row ratings per row
    for i in range(n):
        present = np.flatnonzero(~miss[i])
        if present.size < min_per_row:
            miss[i, rng.choice(r, size=min_per_row, replace=False)] = False
    codes[miss] = np.nan
    return codes


SHAPES = [(0, 30, 3, 4), (1, 60, 5, 5), (2, 25, 4, 3), (3, 80, 2, 6)]


# --------------------------------------------------------------------------- published examples


def test_shrout_fleiss_1979_table_2():
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for form, value in published.items():
        res = ag.icc(SHROUT_FLEISS, form)
        assert round(res.value, 2) == value, form
        assert res.n_subjects == 6 and res.n_raters == 4
        assert res.ci[0] < res.value < res.ci[1]


def test_fleiss_1971_kappa():
    res = ag.fleiss_kappa(FLEISS_1971)
    assert round(res.value, 3) == 0.430
    assert res.n_subjects == 30 and res.n_raters == 6


def test_krippendorff_2011_worked_example():
    published = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
    for level, value in published.items():
        res = ag.krippendorff_alpha(KRIPP_2011, level, bootstrap=0)
        assert round(res.value, 3) == value, level
        assert res.n_subjects == 11 and res.n_excluded == 1  # unit 12 has one value only
        assert res.details["n_pairable_values"] == 40


def test_gwet_handbook_raw4raters():
    """Gwet (2014) / irrCAC documented results for cac.raw4raters (f = 0)."""
    d = KRIPP_2011
    ac1 = ag.gwet_ac(d)
    assert round(ac1.value, 5) == 0.77544 and round(ac1.se, 5) == 0.14295
    assert ac1.statistic == "Gwet's AC1"
    assert round(ac1.details["pa"], 5) == 0.81818 and round(ac1.details["pe"], 5) == 0.19032
    assert round(ac1.ci[0], 5) == 0.46081 and ac1.ci[1] == 1.0
    fk = ag.fleiss_kappa(d)
    assert round(fk.value, 5) == 0.76117 and round(fk.se, 5) == 0.15302
    assert round(fk.ci[0], 5) == 0.42438
    assert round(ag.percent_agreement(d).value, 5) == 0.81818


def test_gwet_ac2_custom_bipolar_weights_published():
    from irrCAC.weights import Weights

    W = Weights([1.0, 2.0, 3.0, 4.0, 5.0]).bipolar()
    res = ag.gwet_ac(KRIPP_2011, weights=W)
    assert res.statistic == "Gwet's AC2" and res.weights == "custom"
    assert round(res.value, 5) == 0.90037 and round(res.se, 5) == 0.10582


def test_gwet_abstractors_table_values():
    """irrCAC documented AC1/AC2 for the 3x3 abstractors table (values; the SE there is the
    contingency-table variance, which differs from the raw-data one by a factor ~n/(n-1))."""
    labels = ["Ectopic", "AIU", "NIU"]
    table = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    rows = [(labels[i], labels[j]) for i in range(3) for j in range(3) for _ in range(table[i, j])]
    r = pd.DataFrame(rows, columns=["A", "B"])
    assert round(ag.gwet_ac(r, categories=labels).value, 5) == 0.84933
    assert round(ag.gwet_ac(r, categories=labels, weights="quadratic").value, 5) == 0.94024


# --------------------------------------------------------------------------- reference implementations


def _irr_df(x):
    return pd.DataFrame(x, columns=[f"R{j}" for j in range(x.shape[1])], dtype=float)


@pytest.mark.parametrize("seed,n,r,q", SHAPES)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_matches_package(seed, n, r, q, level):
    import krippendorff

    x = random_ratings(seed, n, r, q, base=1)
    cats = list(range(1, q + 2))  # one unused level in the domain
    ours = ag.krippendorff_alpha(x, level, categories=cats, bootstrap=0).value
    ref = krippendorff.alpha(x.T, level_of_measurement=level, value_domain=cats)
    assert ours == pytest.approx(ref, abs=1e-10)


def test_krippendorff_string_ordinal_matches_package():
    import krippendorff

    labels = ["very low", "low", "mid", "high", "very high"]
    x = random_ratings(7, 40, 4, 5)
    s = np.array(labels, dtype=object)[np.nan_to_num(x, nan=1).astype(int) - 1]
    s[np.isnan(x)] = None
    ref_in = np.where(np.isnan(x), "nan", s).T.astype(str)  # the package's missing marker for strings
    ours = ag.krippendorff_alpha(s, "ordinal", categories=labels, bootstrap=0).value
    ref = krippendorff.alpha(ref_in, level_of_measurement="ordinal", value_domain=labels)
    assert ours == pytest.approx(ref, abs=1e-10)


def test_krippendorff_continuous_interval_matches_package():
    import krippendorff

    rng = np.random.default_rng(11)
    x = rng.normal(50, 10, (40, 3)).round(1) + rng.normal(0, 5, (40, 1))
    x[rng.random(x.shape) < 0.2] = np.nan
    for level in ("interval", "ratio"):
        ours = ag.krippendorff_alpha(x, level, bootstrap=0).value
        assert ours == pytest.approx(krippendorff.alpha(x.T, level_of_measurement=level), abs=1e-10)


@pytest.mark.parametrize("seed,n,r,q", SHAPES[:3])
def test_fleiss_matches_statsmodels_on_complete_data(seed, n, r, q):
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    x = random_ratings(seed, n, r, q, p_missing=0.0)
    table, _ = aggregate_raters(x.astype(int))
    assert ag.fleiss_kappa(x).value == pytest.approx(sm_fleiss(table), abs=1e-12)


def test_fleiss_1971_matches_statsmodels():
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    assert ag.fleiss_kappa(FLEISS_1971).value == pytest.approx(sm_fleiss(aggregate_raters(FLEISS_1971)[0]))


@pytest.mark.parametrize("seed,q", [(0, 3), (1, 4), (2, 6)])
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_matches_sklearn_and_statsmodels(seed, q, weights):
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import cohens_kappa

    x = random_ratings(seed, 70, 2, q, p_missing=0.1)
    cats = list(range(1, q + 2))  # includes an unused top level
    res = ag.cohen_kappa(x, categories=cats, weights=weights)
    both = ~np.isnan(x).any(axis=1)
    a, b = x[both, 0].astype(int), x[both, 1].astype(int)
    assert res.n_subjects == both.sum() and res.n_excluded == (~both).sum()
    sk = cohen_kappa_score(a, b, labels=cats, weights=weights)
    assert res.value == pytest.approx(sk, abs=1e-12)
    table = pd.crosstab(pd.Categorical(a, cats), pd.Categorical(b, cats), dropna=False).to_numpy()
    if weights is None:
        sm = cohens_kappa(table)
    else:
        sm = cohens_kappa(table, weights=np.arange(len(cats)), wt=weights)
    assert res.value == pytest.approx(sm.kappa, abs=1e-12)
    assert res.se == pytest.approx(sm.std_kappa, rel=1e-10)


def test_cohen_asymmetric_custom_weights_match_statsmodels():
    from statsmodels.stats.inter_rater import cohens_kappa

    x = random_ratings(12, 60, 2, 3, p_missing=0.0)
    W = np.array([[1.0, 0.7, 0.0], [0.2, 1.0, 0.5], [0.0, 0.9, 1.0]])
    res = ag.cohen_kappa(x, weights=W)
    table = pd.crosstab(x[:, 0], x[:, 1]).to_numpy()
    sm = cohens_kappa(table, weights=1 - W)  # statsmodels takes disagreement weights
    assert res.weights == "custom"
    assert res.value == pytest.approx(sm.kappa, abs=1e-12)
    assert res.se == pytest.approx(sm.std_kappa, rel=1e-10)


def test_cohen_matches_irrcac_table():
    from irrCAC.table import CAC as TableCAC

    x = random_ratings(5, 50, 2, 4, p_missing=0.0)
    tab = pd.crosstab(x[:, 0], x[:, 1])
    for w, name in [(None, "identity"), ("quadratic", "quadratic")]:
        ref = TableCAC(tab, weights=name).cohen()["est"]
        res = ag.cohen_kappa(x, weights=w)
        assert res.value == pytest.approx(ref["coefficient_value"], abs=1e-5)
        assert res.se == pytest.approx(ref["se"], abs=1e-5)
        assert res.ci[0] == pytest.approx(ref["confidence_interval"][0], abs=1e-5)


def test_scott_pi_two_raters_matches_irrcac_table():
    from irrCAC.table import CAC as TableCAC

    x = random_ratings(9, 50, 2, 4, p_missing=0.0)
    tab = pd.crosstab(x[:, 0], x[:, 1])
    ref = TableCAC(tab).scott()["est"]
    assert ag.scott_pi(x).value == pytest.approx(ref["coefficient_value"], abs=1e-5)
    assert ag.scott_pi(x).value == ag.fleiss_kappa(x).value


@pytest.mark.parametrize("seed,n,r,q", SHAPES)
@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic"])
def test_gwet_family_matches_irrcac_with_missing(seed, n, r, q, weights):
    from irrCAC.raw import CAC

    x = random_ratings(seed, n, r, q)
    cats = [float(c) for c in range(1, q + 1)]
    # NB: categories passed explicitly; with pandas >= 3 irrCAC 0.4.4 otherwise counts NaN as a level
    ref = CAC(_irr_df(x), weights=weights, categories=cats)
    w = None if weights == "identity" else weights
    for ours, theirs in [
        (ag.fleiss_kappa(x, weights=w), ref.fleiss()["est"]),
        (ag.gwet_ac(x, weights=w), ref.gwet()["est"]),
        (ag.brennan_prediger(x, weights=w), ref.bp()["est"]),
    ]:
        assert ours.value == pytest.approx(theirs["coefficient_value"], abs=1e-5), ours.statistic
        assert ours.se == pytest.approx(theirs["se"], abs=1e-5), ours.statistic
        assert ours.ci[0] == pytest.approx(theirs["confidence_interval"][0], abs=1e-5)
        assert ours.ci[1] == pytest.approx(theirs["confidence_interval"][1], abs=1e-5)
        assert ours.details["pa"] == pytest.approx(theirs["pa"], abs=1e-5)
        assert ours.details["pe"] == pytest.approx(theirs["pe"], abs=1e-5)


@pytest.mark.parametrize("seed,n,r,q", SHAPES)
def test_percent_agreement_matches_irrcac(seed, n, r, q):
    from irrCAC.raw import CAC

    x = random_ratings(seed, n, r, q)
    cats = [float(c) for c in range(1, q + 1)]
    ref = CAC(_irr_df(x), categories=cats).bp()["est"]
    assert ag.percent_agreement(x).value == pytest.approx(ref["pa"], abs=1e-5)
    # tolerance 1 = percent agreement with a 0/1 band weight matrix
    band = (np.abs(np.subtract.outer(np.arange(q), np.arange(q))) <= 1).astype(float)
    ref1 = CAC(_irr_df(x), weights=band, categories=cats).bp()["est"]
    assert ag.percent_agreement(x, tolerance=1).value == pytest.approx(ref1["pa"], abs=1e-5)


def test_percent_agreement_se_is_bp_variance_without_chance():
    """With every subject rated >= 2 times, BP's SE is pa's SE / (1 - pe)."""
    from irrCAC.raw import CAC

    x = random_ratings(4, 40, 4, 4, min_per_row=2)
    ref = CAC(_irr_df(x), categories=[1.0, 2.0, 3.0, 4.0]).bp()["est"]
    res = ag.percent_agreement(x)
    assert res.se == pytest.approx(ref["se"] * (1 - 0.25), abs=1e-5)


def test_irrcac_string_dataset_ben_gerry():
    from irrCAC.datasets import raw_ben_gerry
    from irrCAC.raw import CAC

    d = raw_ben_gerry()
    cats = ["a", "b", "c", "d", "e"]
    ref = CAC(d, categories=cats)
    res = ag.fleiss_kappa(d, categories=cats)
    assert res.value == pytest.approx(ref.fleiss()["est"]["coefficient_value"], abs=1e-5)
    assert res.se == pytest.approx(ref.fleiss()["est"]["se"], abs=1e-5)
    assert ag.gwet_ac(d).value == pytest.approx(ref.gwet()["est"]["coefficient_value"], abs=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_icc_matches_pingouin(seed, monkeypatch):
    import pingouin as pg

    monkeypatch.delitem(pg.options, "round.column.CI95", raising=False)  # full-precision CI95

    rng = np.random.default_rng(seed)
    n, k = 20 + 7 * seed, 3 + seed
    x = rng.normal(0, 1, (n, 1)) + rng.normal(0, 0.7, (n, k)) + rng.normal(0, 0.5, k)
    x[rng.random((n, k)) < 0.05] = np.nan
    long = pd.DataFrame(x).rename_axis("t").reset_index().melt(id_vars="t", var_name="j", value_name="y")
    ref = pg.intraclass_corr(long, targets="t", raters="j", ratings="y", nan_policy="omit").set_index("Type")
    names = {"ICC1": "ICC(1,1)", "ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)", "ICC1k": "ICC(1,k)", "ICC2k": "ICC(A,k)", "ICC3k": "ICC(C,k)"}
    complete = (~np.isnan(x).any(axis=1)).sum()
    for form, name in names.items():
        res = ag.icc(x, form)
        assert res.value == pytest.approx(ref.loc[name, "ICC"], abs=1e-10), form
        assert res.ci == pytest.approx(tuple(ref.loc[name, "CI95"]), abs=1e-10), form
        assert res.n_subjects == complete and res.n_excluded == n - complete
        assert res.details["F"] == pytest.approx(ref.loc[name, "F"])


@pytest.mark.parametrize("seed", [0, 1])
def test_cronbach_matches_pingouin(seed):
    import pingouin as pg

    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (35, 1)) + rng.normal(0, 1, (35, 5))
    val, ci = pg.cronbach_alpha(pd.DataFrame(x))
    res = ag.cronbach_alpha(x)
    assert res.value == pytest.approx(val, abs=1e-12)
    assert res.ci == pytest.approx(tuple(ci), abs=5e-4)  # pingouin rounds to 3 d.p.
    # missing values: listwise deletion (pingouin's Feldt CI keeps the pre-deletion n, so value only)
    x[rng.random(x.shape) < 0.05] = np.nan
    val_lw, _ = pg.cronbach_alpha(pd.DataFrame(x), nan_policy="listwise")
    assert ag.cronbach_alpha(x).value == pytest.approx(val_lw, abs=1e-12)


def test_corrected_item_total_matches_definitions():
    import pingouin as pg

    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(0, 1, (30, 1)) + rng.normal(0, 1, (30, 4)), columns=list("wxyz"))
    out = ag.corrected_item_total(df)
    assert list(out.columns) == ["item", "corrected_item_total", "alpha_if_deleted"]
    assert list(out["item"]) == list("wxyz")
    for _, row in out.iterrows():
        rest = df.drop(columns=row["item"])
        assert row["corrected_item_total"] == pytest.approx(df[row["item"]].corr(rest.sum(axis=1)))
        assert row["alpha_if_deleted"] == pytest.approx(pg.cronbach_alpha(rest)[0])


# --------------------------------------------------------------------------- conventions


def test_unused_declared_category_changes_weighted_not_unweighted_kappa():
    from sklearn.metrics import cohen_kappa_score

    # level 3 of a 1-5 scale is never used: declared, it widens the 2-4 distance
    x = np.array([[1, 1], [2, 2], [4, 4], [1, 2], [2, 4], [4, 4], [2, 1], [1, 1], [5, 4], [5, 5]])
    scale = [1, 2, 3, 4, 5]
    for w in ("linear", "quadratic"):
        k_obs = ag.cohen_kappa(x, weights=w)
        k_all = ag.cohen_kappa(x, categories=scale, weights=w)
        assert k_obs.categories == (1, 2, 4, 5) and k_all.categories == tuple(scale)
        assert k_all.value != pytest.approx(k_obs.value)
        assert k_all.value == pytest.approx(cohen_kappa_score(x[:, 0], x[:, 1], labels=scale, weights=w))
        assert k_obs.value == pytest.approx(cohen_kappa_score(x[:, 0], x[:, 1], weights=w))
        assert ag.fleiss_kappa(x, categories=scale, weights=w).value != pytest.approx(ag.fleiss_kappa(x, weights=w).value)
    # unweighted kappa ignores an unused level
    assert ag.cohen_kappa(x, categories=scale).value == pytest.approx(ag.cohen_kappa(x).value)
    # chance agreement of AC1 / BP counts the declared levels (q)
    assert ag.gwet_ac(x, categories=scale).value != pytest.approx(ag.gwet_ac(x).value)
    assert ag.brennan_prediger(x, categories=scale).details["pe"] == pytest.approx(0.2)
    assert ag.brennan_prediger(x).details["pe"] == pytest.approx(0.25)


def test_weights_by_position_and_custom_matrix():
    x = random_ratings(8, 40, 3, 4)
    lin = ag.fleiss_kappa(x, weights="linear")
    W = 1 - np.abs(np.subtract.outer(np.arange(4), np.arange(4))) / 3
    assert ag.fleiss_kappa(x, weights=W).value == pytest.approx(lin.value)
    # unequally spaced numeric levels: weights still by position
    y = np.where(np.isnan(x), np.nan, np.array([0, 1, 5, 10])[np.nan_to_num(x).astype(int) - 1])
    assert ag.fleiss_kappa(y, weights="linear").value == pytest.approx(lin.value)


def test_result_records_conventions_and_serialises():
    x = random_ratings(1, 30, 3, 4)
    res = ag.gwet_ac(x, weights="quadratic")
    assert res.statistic == "Gwet's AC2" and res.weights == "quadratic"
    assert res.ci_method.startswith("analytic: Gwet 2014") and "f=0" in res.ci_method
    assert res.confidence == 0.95 and res.version == ag.METHOD_VERSION
    # the package's own version, not a separate number that disagrees with it (it said 1.0.0 under 0.1.0)
    assert ag.METHOD_VERSION == f"evalkit {importlib.metadata.version('evalkit')}"
    assert res.missing.startswith("all available ratings kept")
    d = res.to_dict()
    json.dumps(d)
    assert d["value"] == res.value and d["ci"] == list(res.ci)
    line = res.describe()
    assert "\n" not in line
    assert line.startswith(f"Gwet's AC2 (quadratic weights) = {res.value:.3f}, 95% CI ")
    assert "(analytic, Gwet 2014)" in line and "30 subjects, 3 raters" in line

    ka = ag.krippendorff_alpha(x, "interval", bootstrap=50, seed=3)
    assert ka.level == "interval" and ka.weights is None
    assert ka.ci_method == "bootstrap: 50 resamples, seed 3, percentile"
    assert "Krippendorff's alpha (interval) = " in ka.describe()
    i = ag.icc(SHROUT_FLEISS, "ICC3k")
    assert i.statistic == "ICC(3,k)" and i.level == "ICC3k" and math.isnan(i.se)
    assert i.ci_method.startswith("analytic: Shrout & Fleiss 1979")
    with pytest.raises(Exception):
        res.value = 0.0  # frozen


def test_icc_drops_incomplete_rows_and_reports_them():
    x = SHROUT_FLEISS.copy()
    x[1, 2] = np.nan
    res = ag.icc(x, "ICC2")
    assert res.n_subjects == 5 and res.n_excluded == 1
    assert "1 of 6 rows" in res.missing
    assert res.value == pytest.approx(ag.icc(np.delete(SHROUT_FLEISS, 1, axis=0), "ICC2").value)
    x[2:, 0] = np.nan
    with pytest.raises(AgreementError, match="at least 2 subjects"):
        ag.icc(x)


def test_bootstrap_reproducible_and_seed_dependent():
    x = random_ratings(2, 50, 3, 5)
    a = ag.fleiss_kappa(x, bootstrap=200, seed=1)
    b = ag.fleiss_kappa(x, bootstrap=200, seed=1)
    c = ag.fleiss_kappa(x, bootstrap=200, seed=2)
    assert a.ci == b.ci and a.se == b.se
    assert a.ci != c.ci
    assert a.ci_method == "bootstrap: 200 resamples, seed 1, percentile"
    assert a.value == ag.fleiss_kappa(x).value  # point estimate unchanged
    k1 = ag.krippendorff_alpha(x, "ordinal", bootstrap=100, seed=5)
    assert k1.ci == ag.krippendorff_alpha(x, "ordinal", bootstrap=100, seed=5).ci
    assert k1.ci != ag.krippendorff_alpha(x, "ordinal", bootstrap=100, seed=6).ci
    assert ag.krippendorff_alpha(x).ci_method == "bootstrap: 1000 resamples, seed 0, percentile"


def _naive_replicates(fn, x, n_boot, seed, **kw):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]), dtype=np.int32)
    return np.array([fn(x[i], bootstrap=0, **kw).value for i in idx])


@pytest.mark.parametrize(
    "fn,kw",
    [
        (ag.krippendorff_alpha, {"level": "nominal"}),
        (ag.krippendorff_alpha, {"level": "ordinal"}),
        (ag.krippendorff_alpha, {"level": "interval"}),
        (ag.krippendorff_alpha, {"level": "ratio"}),
        (ag.fleiss_kappa, {"weights": "quadratic"}),
        (ag.gwet_ac, {}),
        (ag.brennan_prediger, {"weights": "linear"}),
        (ag.percent_agreement, {"tolerance": 1}),
        (ag.cohen_kappa, {"weights": "linear"}),
        (ag.icc, {"form": "ICC2"}),
        (ag.cronbach_alpha, {}),
    ],
)
def test_vectorised_bootstrap_equals_naive_resampling(monkeypatch, fn, kw):
    """Force the index-drawing path: each replicate must equal the statistic recomputed
    from the resampled rows (so the CI/SE equal those of a naive bootstrap)."""
    monkeypatch.setattr(ag, "_MULTINOMIAL_MAX_FRACTION", 0.0)
    if fn is ag.cohen_kappa:
        x = random_ratings(3, 40, 2, 4, p_missing=0.0)
    elif fn in (ag.icc, ag.cronbach_alpha):
        x = random_ratings(3, 40, 4, 6, p_missing=0.0)
    else:
        x = random_ratings(3, 40, 4, 4, min_per_row=2)
    reps = _naive_replicates(fn, x, 60, 7, **kw)
    res = fn(x, bootstrap=60, seed=7, **kw)
    reps = reps[np.isfinite(reps)]
    assert res.se == pytest.approx(np.std(reps, ddof=1), rel=1e-9)
    assert res.ci == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])), rel=1e-9)


def test_multinomial_bootstrap_agrees_in_distribution():
    x = random_ratings(6, 300, 3, 4)
    fast = ag.krippendorff_alpha(x, "ordinal", bootstrap=400, seed=1)
    reps = _naive_replicates(ag.krippendorff_alpha, x, 400, 2, level="ordinal")
    assert fast.se == pytest.approx(np.std(reps, ddof=1), rel=0.2)
    assert fast.ci[0] < fast.value < fast.ci[1]


# --------------------------------------------------------------------------- errors and degenerate input


def test_input_errors():
    with pytest.raises(AgreementError, match=r"must be 2-D .*got 1-D"):
        ag.fleiss_kappa([1, 2, 3])
    with pytest.raises(AgreementError, match="at least 2 raters .*got 1"):
        ag.gwet_ac([[1], [2]])
    with pytest.raises(AgreementError, match="exactly 2 raters .*got 3"):
        ag.cohen_kappa([[1, 2, 3], [1, 2, 3]])
    df = pd.DataFrame({"A": [1, 2, 3, 4], "B": [1, 2, 3, 7]})
    with pytest.raises(AgreementError, match=r"rating 7 at row 3, rater 'B' is not in categories \[1, 2, 3, 4\]"):
        ag.cohen_kappa(df, categories=[1, 2, 3, 4])
    with pytest.raises(AgreementError, match=r"rating 'x' at row 1, rater 0 \(0-based positions\)"):
        ag.fleiss_kappa([["a", "b"], ["x", "a"]], categories=["a", "b"])
    with pytest.raises(AgreementError, match="weights matrix must be 4x4 .*got 3x3"):
        ag.cohen_kappa(df.clip(upper=4), categories=[1, 2, 3, 4], weights=np.eye(3))
    with pytest.raises(AgreementError, match="weights matrix must be 5x5"):
        ag.gwet_ac(df, categories=[1, 2, 3, 4, 7], weights=np.eye(3))
    with pytest.raises(AgreementError, match="unknown weights 'cubic'"):
        ag.fleiss_kappa(df, weights="cubic")
    with pytest.raises(AgreementError, match="unknown level 'nominl'"):
        ag.krippendorff_alpha(df, "nominl")
    with pytest.raises(AgreementError, match="unknown ICC form 'ICC4'"):
        ag.icc(df, "ICC4")
    with pytest.raises(AgreementError, match="needs numeric ratings"):
        ag.krippendorff_alpha([["a", "b"], ["a", "a"]], "interval")
    with pytest.raises(AgreementError, match="must be numeric; got 'a'"):
        ag.icc([["a", 1], [2, 3], [4, 5]])
    with pytest.raises(AgreementError, match="bootstrap must be a non-negative integer"):
        ag.fleiss_kappa(df, bootstrap=-1)
    with pytest.raises(AgreementError, match="tolerance must be"):
        ag.percent_agreement(df, tolerance=-1)
    with pytest.raises(AgreementError, match="cannot be ordered"):
        ag.fleiss_kappa([[1, "a"], ["a", 1]])
    with pytest.raises(AgreementError, match="must be 2-D"):
        ag.fleiss_kappa([[1, 2], [1]])  # ragged
    assert issubclass(AgreementError, ValueError)


def test_no_overlap_and_all_missing_raise():
    no_overlap = [[1, None], [None, 2], [3, None]]
    with pytest.raises(AgreementError, match="no subject has ratings from at least 2 raters"):
        ag.fleiss_kappa(no_overlap)
    with pytest.raises(AgreementError, match="no subject is rated by both raters"):
        ag.cohen_kappa(no_overlap)
    with pytest.raises(AgreementError, match="no unit has ratings from at least 2 raters"):
        ag.krippendorff_alpha(no_overlap)
    allnan = np.full((3, 2), np.nan)
    for fn in (ag.fleiss_kappa, ag.gwet_ac, ag.cohen_kappa, ag.percent_agreement, ag.krippendorff_alpha):
        with pytest.raises(AgreementError, match="all ratings are missing"):
            fn(allnan)
    with pytest.raises(AgreementError, match="at least 2 subjects"):
        ag.icc(allnan)


def test_degenerate_single_category_gives_documented_nan():
    x = [[2, 2, 2], [2, 2, None], [2, 2, 2]]
    for fn in (ag.fleiss_kappa, ag.scott_pi):
        res = fn(x)
        assert math.isnan(res.value) and "pe = 1" in res.note
        assert math.isnan(res.se) and res.ci_method == "none"
        assert "undefined" in res.describe()
    assert math.isnan(ag.cohen_kappa([[2, 2], [2, 2]]).value)
    ac1 = ag.gwet_ac(x)
    assert math.isnan(ac1.value) and "q=1" in ac1.note
    # with the scale declared, AC1 and BP are defined (perfect agreement)
    assert ag.gwet_ac(x, categories=[1, 2, 3]).value == pytest.approx(1.0)
    assert ag.brennan_prediger(x, categories=[1, 2, 3]).value == pytest.approx(1.0)
    ka = ag.krippendorff_alpha(x, "interval")
    assert math.isnan(ka.value) and "identical" in ka.note
    assert ag.percent_agreement(x).value == 1.0
    ic = ag.icc([[3, 3], [3, 3], [3, 3]])
    assert math.isnan(ic.value) and "variance" in ic.note
    # exact agreement: ICC = 1 with a degenerate CI; constant rater offsets only hurt ICC(2,.)
    assert ag.icc([[1, 1], [2, 2], [4, 4]], "ICC1").ci == (1.0, 1.0)
    shifted = [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
    assert ag.icc(shifted, "ICC3").value == 1.0 and "exactly" in ag.icc(shifted, "ICC3").note
    near = np.array(shifted, dtype=float)
    near[0, 2] += 1e-6
    assert ag.icc(shifted, "ICC2").value == pytest.approx(0.5)
    assert ag.icc(shifted, "ICC2").ci == pytest.approx(ag.icc(near, "ICC2").ci, abs=1e-5)
    undefined_boot = ag.fleiss_kappa(x, bootstrap=20)
    assert math.isnan(undefined_boot.value) and undefined_boot.ci_method == "none"
    assert math.isnan(ag.cronbach_alpha([[3, 3], [3, 3], [3, 3]]).value)


def test_dataframe_with_labels_and_none_values():
    df = pd.DataFrame(
        {"ann": ["pass", "fail", None, "pass"], "bob": ["pass", "fail", "fail", "merit"], "cy": ["merit", "fail", "fail", None]}
    )
    res = ag.fleiss_kappa(df, categories=["fail", "pass", "merit"], weights="linear")
    assert res.categories == ("fail", "pass", "merit") and res.n_subjects == 4
    assert math.isfinite(res.value)
    # the same ratings as positions give the same answer
    codes = df.replace({"fail": 0, "pass": 1, "merit": 2}).astype(float)
    assert ag.fleiss_kappa(codes, categories=[0, 1, 2], weights="linear").value == pytest.approx(res.value)


# --------------------------------------------------------------------------- Conger's kappa, weighted percent agreement


def test_conger_kappa_gwet_handbook_raw4raters():
    """Gwet (2014) / irrCAC documented result for cac.raw4raters: conger.kappa.raw gives
    pa 0.8181818, pe 0.2334252, kappa 0.76282, SE 0.14917, CI (0.435, 1).  (Conger's kappa depends on
    who gave which rating: cac.raw4raters has unit 12's single rating from rater 3, Krippendorff's
    2011 layout from observer B, so the data set is read from irrCAC itself.)"""
    from irrCAC.datasets import raw_4raters

    res = ag.conger_kappa(raw_4raters())
    assert res.statistic == "Conger's kappa" and res.weights == "identity"
    assert round(res.value, 5) == 0.76282 and round(res.se, 5) == 0.14917
    assert round(res.details["pa"], 7) == 0.8181818 and round(res.details["pe"], 7) == 0.2334252
    assert round(res.ci[0], 3) == 0.435 and res.ci[1] == 1.0
    assert res.n_subjects == 12 and res.n_raters == 4
    assert res.ci_method.startswith("analytic: Gwet 2014")


@pytest.mark.parametrize("seed,n,r,q", SHAPES)
@pytest.mark.parametrize("weights", ["identity", "linear", "quadratic"])
@pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")  # inside irrCAC's conger()
def test_conger_kappa_matches_irrcac_with_missing(seed, n, r, q, weights):
    from irrCAC.raw import CAC

    x = random_ratings(seed, n, r, q)
    cats = [float(c) for c in range(1, q + 1)]
    ref = CAC(_irr_df(x), weights=weights, categories=cats).conger()["est"]
    res = ag.conger_kappa(x, weights=None if weights == "identity" else weights)
    assert res.value == pytest.approx(ref["coefficient_value"], abs=1e-5)
    assert res.se == pytest.approx(ref["se"], abs=1e-5)
    assert res.details["pa"] == pytest.approx(ref["pa"], abs=1e-5)
    assert res.details["pe"] == pytest.approx(ref["pe"], abs=1e-5)
    assert res.ci == pytest.approx(tuple(ref["confidence_interval"]), abs=1e-5)


def test_conger_kappa_with_two_raters_is_cohens_kappa():
    from sklearn.metrics import cohen_kappa_score

    x = random_ratings(5, 60, 2, 5, p_missing=0.0)
    for w in (None, "linear", "quadratic"):
        assert ag.conger_kappa(x, weights=w).value == pytest.approx(ag.cohen_kappa(x, weights=w).value)
    assert ag.conger_kappa(x).value == pytest.approx(cohen_kappa_score(x[:, 0], x[:, 1]))


def test_conger_kappa_bootstrap_equals_naive_resampling(monkeypatch):
    monkeypatch.setattr(ag, "_MULTINOMIAL_MAX_FRACTION", 0.0)
    x = random_ratings(3, 40, 4, 4, min_per_row=2)
    reps = _naive_replicates(ag.conger_kappa, x, 60, 7, weights="quadratic")
    res = ag.conger_kappa(x, weights="quadratic", bootstrap=60, seed=7)
    reps = reps[np.isfinite(reps)]
    assert res.se == pytest.approx(np.std(reps, ddof=1), rel=1e-9)
    assert res.ci == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])), rel=1e-9)
    assert res.ci_method == "bootstrap: 60 resamples, seed 7, percentile"


def test_conger_kappa_degenerate_and_bad_input():
    res = ag.conger_kappa([[2, 2, 2], [2, 2, None], [2, 2, 2]])
    assert math.isnan(res.value) and "pe = 1" in res.note and res.ci_method == "none"
    with pytest.raises(AgreementError, match=r"rater 'C' has no rating; Conger's kappa needs every rater"):
        ag.conger_kappa(pd.DataFrame({"A": [1, 2, 3], "B": [1, 2, 2], "C": [None, None, None]}))
    with pytest.raises(AgreementError, match="at least 2 raters"):
        ag.conger_kappa([[1], [2]])
    with pytest.raises(AgreementError, match="is not in categories"):
        ag.conger_kappa([[1, 2], [3, 1]], categories=[1, 2])


def test_weighted_percent_agreement_published_and_reference():
    """irrCAC's documented cac.raw4raters result with bipolar weights: pa = 0.96836 (the pa of AC2);
    linear and quadratic weights agree with irrCAC's weighted pa; identity weights give percent_agreement."""
    from irrCAC.raw import CAC
    from irrCAC.weights import Weights

    W = Weights([1.0, 2.0, 3.0, 4.0, 5.0]).bipolar()
    res = ag.weighted_percent_agreement(KRIPP_2011, W)
    assert res.statistic == "Weighted percent agreement" and res.weights == "custom"
    assert round(res.value, 5) == 0.96836
    for seed, n, r, q in SHAPES:
        x = random_ratings(seed, n, r, q)
        cats = [float(c) for c in range(1, q + 1)]
        for w in ("linear", "quadratic"):
            ref = CAC(_irr_df(x), weights=w, categories=cats).bp()["est"]
            assert ag.weighted_percent_agreement(x, w).value == pytest.approx(ref["pa"], abs=1e-5)
        plain = ag.weighted_percent_agreement(x, None)
        assert plain.value == pytest.approx(ag.percent_agreement(x).value)
        assert plain.statistic == "Percent agreement"
    quad = ag.weighted_percent_agreement(KRIPP_2011)
    assert quad.weights == "quadratic" and 0 <= quad.ci[0] <= quad.value <= quad.ci[1] <= 1
    # an unused declared level widens the distances, so agreement rises
    assert ag.weighted_percent_agreement(KRIPP_2011, "linear", categories=[1, 2, 3, 4, 5, 6]).value > \
        ag.weighted_percent_agreement(KRIPP_2011, "linear").value


def test_new_coefficients_are_on_the_public_path():
    import evalkit.agreement as public

    assert public.conger_kappa is ag.conger_kappa
    assert public.weighted_percent_agreement is ag.weighted_percent_agreement
    assert {"conger_kappa", "weighted_percent_agreement"} <= set(public.__all__)


# --------------------------------------------------------------------------- ordinal alpha at scale


def test_ordinal_alpha_accumulated_in_chunks_matches_the_package(monkeypatch):
    """The coincidence matrix is accumulated a chunk of units at a time (no per-unit q x q array): with chunks of
    seven units the value is still the krippendorff package's."""
    import krippendorff

    monkeypatch.setattr(ag, "_UNIT_CHUNK", 7)
    for seed, (n, r, q) in enumerate([(60, 3, 5), (41, 5, 7), (200, 2, 4)]):
        x = random_ratings(seed, n, r, q)
        cats = list(range(1, q + 2))
        ours = ag.krippendorff_alpha(x, "ordinal", categories=cats, bootstrap=0).value
        ref = krippendorff.alpha(x.T, level_of_measurement="ordinal", value_domain=cats)
        assert ours == pytest.approx(ref, abs=1e-10)


def test_ordinal_alpha_memory_is_bounded_by_the_input():
    """No per-unit q x q array: on 200,000 units rated on 12 levels the peak allocation stays within a few times
    the ratings themselves (a per-unit coincidence array alone would be 144 floats a unit, 48 times the input)."""
    import tracemalloc

    rng = np.random.default_rng(3)
    x = rng.integers(1, 13, size=(200_000, 3)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    tracemalloc.start()
    try:
        ag.krippendorff_alpha(x, "ordinal", bootstrap=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * x.nbytes, (peak, x.nbytes)


def test_ordinal_bootstrap_of_many_distinct_patterns_equals_naive_resampling():
    """Many raters on many levels: the distinct rating patterns are nearly as many as the units, and the bootstrap
    works from their category counts (no q x q row per pattern); each replicate is still the statistic of the
    resampled units."""
    x = random_ratings(11, 400, 12, 15, min_per_row=2)
    reps = _naive_replicates(ag.krippendorff_alpha, x, 60, 4, level="ordinal")
    res = ag.krippendorff_alpha(x, "ordinal", bootstrap=60, seed=4)
    reps = reps[np.isfinite(reps)]
    assert res.se == pytest.approx(np.std(reps, ddof=1), rel=1e-9)
    assert res.ci == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])), rel=1e-9)
