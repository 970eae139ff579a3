"""Tests for evalkit.psychometrics.mfrm: recovery of known parameters, an independent likelihood maximisation,
the fit, separation, bias and fair-average definitions, extreme scores and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from evalkit.psychometrics.mfrm import MFRMError, fit_mfrm


def simulate(seed, n_persons=400, n_raters=8, per_person=4, n_crit=10, m=4, sev=None, diff=None, taus=None,
             person_sd=1.2, bias=None):
    """Ratings from a many-facet Rasch model with known parameters.

    Each person is scored by ``per_person`` raters drawn at random on every criterion (scale 0..m).
    ``taus`` is (m,) for a rating scale or (n_crit, m) for partial credit; ``bias`` = (rater, crit, logits).
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, person_sd, n_persons)
    sev = np.linspace(-0.8, 0.8, n_raters) if sev is None else np.asarray(sev, float)
    diff = np.linspace(-0.6, 0.6, n_crit) if diff is None else np.asarray(diff, float)
    sev, diff = sev - sev.mean(), diff - diff.mean()
    taus = np.linspace(-1.5, 1.5, m) if taus is None else np.asarray(taus, float)
    raters = np.argsort(rng.random((n_persons, n_raters)), axis=1)[:, :per_person]
    p = np.repeat(np.arange(n_persons), per_person * n_crit)
    r = np.repeat(raters.ravel(), n_crit)
    i = np.tile(np.arange(n_crit), n_persons * per_person)
    eta = theta[p] - sev[r] - diff[i]
    if bias is not None:
        eta = eta + np.where((r == bias[0]) & (i == bias[1]), bias[2], 0.0)
    cum = np.cumsum(taus, axis=-1)
    cum = cum[i] if taus.ndim == 2 else np.broadcast_to(cum, (len(p), m))
    logit = np.outer(eta, np.arange(m + 1)) - np.column_stack([np.zeros(len(p)), cum])
    pr = np.exp(logit - logit.max(axis=1, keepdims=True))
    pr /= pr.sum(axis=1, keepdims=True)
    x = (rng.random(len(p))[:, None] > np.cumsum(pr, axis=1)).sum(axis=1)
    frame = pd.DataFrame({"cand": p, "rater": [f"R{k}" for k in r], "crit": [f"C{k}" for k in i], "score": x})
    truth = {"theta": theta, "rater": dict(zip([f"R{k}" for k in range(n_raters)], sev)),
             "crit": dict(zip([f"C{k}" for k in range(n_crit)], diff)), "taus": taus}
    return frame, truth


# --------------------------------------------------------------------------- recovery of known parameters


def test_rating_scale_recovers_known_severities_difficulties_and_thresholds():
    """Simulation: 400 candidates, each scored by 4 of 8 raters on 10 criteria (0-4).  Every rater severity and
    criterion difficulty is recovered within 3 of its standard errors, and their standardized errors have a
    mean square near 1 (the SEs are the right size).  The thresholds pool all 16,000 ratings (SE 0.02), so
    JML's outward bias of the outer thresholds (a few hundredths of a logit with L = 40 ratings per candidate;
    FACETS has it too) is allowed for: within 3 SE + 0.1 logit."""
    frame, truth = simulate(1)
    res = fit_mfrm(frame, "cand", ["rater", "crit"])
    assert res.converged and res.max_score_residual < 0.05
    z = []
    for facet in ("rater", "crit"):
        m = res.facet(facet)
        true = pd.Series(truth[facet])
        err = (m["measure"] - true[m.index]) / m["se"]
        assert (err.abs() < 3).all(), (facet, err.round(2).to_dict())
        z.extend(err)
        assert m["measure"].mean() == pytest.approx(0.0, abs=1e-9)  # centred
    assert 0.3 < np.mean(np.square(z)) < 2.0
    th = res.thresholds
    err = np.abs(th["threshold"].to_numpy() - truth["taus"])
    assert (err < 3 * th["se"].to_numpy() + 0.1).all(), err
    assert np.all(np.diff(th["threshold"]) > 0)
    persons = res.facet("cand")
    ok = persons["status"] == ""
    est, true = persons.loc[ok, "measure"].to_numpy(), truth["theta"][persons.index[ok].to_numpy(dtype=int)]
    assert np.corrcoef(est, true)[0, 1] > 0.95
    assert np.mean(np.abs(est - true) < 2 * persons.loc[ok, "se"].to_numpy()) > 0.9


def test_partial_credit_recovers_criterion_thresholds():
    """Simulation: 300 candidates, 5 of 6 raters each, 5 criteria with their own thresholds (0-3): every
    severity and difficulty within 3 standard errors, every threshold within 3 SE + 0.1 logit (JML bias)."""
    taus = np.array([[-1.2, 0.0, 1.2], [-0.5, 0.0, 0.5], [-2.0, 0.3, 1.7], [-1.0, -0.2, 1.2], [-0.8, 0.1, 0.7]])
    frame, truth = simulate(2, n_persons=300, n_raters=6, per_person=5, n_crit=5, m=3, taus=taus)
    res = fit_mfrm(frame, "cand", ["rater", "crit"], model="partial_credit")
    assert res.converged and res.steps_by == "crit"
    th = res.thresholds
    assert th["group"].tolist() == [f"C{k}" for k in range(5) for _ in range(3)]
    err = np.abs(th["threshold"].to_numpy() - taus.ravel())
    assert (err < 3 * th["se"].to_numpy() + 0.1).all(), err
    for facet in ("rater", "crit"):
        m = res.facet(facet)
        err = (m["measure"] - pd.Series(truth[facet])[m.index]) / m["se"]
        assert (err.abs() < 3).all(), (facet, err.round(2).to_dict())
    # each criterion's thresholds sum to 0
    assert th.groupby("group")["threshold"].sum().abs().max() < 1e-9


def test_model_standard_errors_match_replication_spread():
    """Independent check of the SEs: over 40 replications of a small design (200 candidates, 3 of 4 raters,
    8 criteria) the standard deviation of each rater's estimate is within 30% of the mean model SE.  (Model
    SEs treat the other measures as known, as FACETS' do; with only 2 ratings per candidate and criterion the
    spread exceeds them by up to 40%.)"""
    est, se = [], []
    for seed in range(40):
        frame, _ = simulate(100 + seed, n_persons=200, n_raters=4, per_person=3, n_crit=8, m=3)
        m = fit_mfrm(frame, "cand", ["rater", "crit"]).facet("rater")
        est.append(m["measure"].to_numpy())
        se.append(m["se"].to_numpy())
    ratio = np.std(est, axis=0, ddof=1) / np.mean(se, axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.3)), ratio


def _joint_loglik(frame, theta, sev, diff, tau):
    """Rating-scale log-likelihood written out directly from the model (no code shared with evalkit)."""
    eta = theta[frame["p"]] - sev[frame["r"]] - diff[frame["i"]]
    m = len(tau)
    num = np.outer(eta, np.arange(m + 1)) - np.r_[0.0, np.cumsum(tau)]
    lse = np.log(np.exp(num - num.max(axis=1, keepdims=True)).sum(axis=1)) + num.max(axis=1)
    return float((num[np.arange(len(eta)), frame["x"]] - lse).sum())


def test_estimates_maximise_the_joint_likelihood_independently_computed():
    """Independent computation: maximise the joint likelihood with scipy (BFGS, centring built into the
    parametrisation) on a small data set without extreme scores; evalkit's JML estimates agree to 1e-3."""
    from scipy.optimize import minimize

    frame, _ = simulate(7, n_persons=40, n_raters=3, per_person=3, n_crit=4, m=3, person_sd=0.7)
    raw = frame.groupby("cand")["score"].sum()
    keep = raw[(raw > 0) & (raw < 36)].index
    frame = frame[frame["cand"].isin(keep)].reset_index(drop=True)
    res = fit_mfrm(frame, "cand", ["rater", "crit"], tol=1e-9)
    assert res.converged and (res.measures["status"] == "").all()
    codes = pd.DataFrame({
        "p": pd.factorize(frame["cand"], sort=True)[0], "r": pd.factorize(frame["rater"], sort=True)[0],
        "i": pd.factorize(frame["crit"], sort=True)[0], "x": frame["score"].to_numpy(),
    })
    P, R, I, m = codes["p"].max() + 1, 3, 4, 3

    def unpack(v):
        theta = v[:P]
        sev = np.r_[v[P : P + R - 1], -v[P : P + R - 1].sum()]
        diff = np.r_[v[P + R - 1 : P + R + I - 2], -v[P + R - 1 : P + R + I - 2].sum()]
        t = v[P + R + I - 2 :]
        return theta, sev, diff, np.r_[t, -t.sum()]

    opt = minimize(lambda v: -_joint_loglik(codes, *unpack(v)), np.zeros(P + R + I - 2 + m - 1), method="BFGS",
                   options={"gtol": 1e-8, "maxiter": 5000})
    theta, sev, diff, tau = unpack(opt.x)
    assert res.facet("rater")["measure"].to_numpy() == pytest.approx(sev, abs=1e-3)
    assert res.facet("crit")["measure"].to_numpy() == pytest.approx(diff, abs=1e-3)
    assert res.facet("cand")["measure"].to_numpy() == pytest.approx(theta, abs=1e-3)
    assert res.thresholds["threshold"].to_numpy() == pytest.approx(tau, abs=1e-3)
    ours = _joint_loglik(codes, res.facet("cand")["measure"].to_numpy(), res.facet("rater")["measure"].to_numpy(),
                         res.facet("crit")["measure"].to_numpy(), res.thresholds["threshold"].to_numpy())
    assert ours >= -opt.fun - 1e-6


# --------------------------------------------------------------------------- definitions


def _probs(eta, tau):
    m = len(tau)
    num = np.outer(eta, np.arange(m + 1)) - np.r_[0.0, np.cumsum(tau)]
    p = np.exp(num - num.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def test_fit_statistics_separation_and_fair_average_follow_their_definitions():
    frame, _ = simulate(3, n_persons=200, n_raters=5, per_person=2, n_crit=6, m=3)
    # one erratic rater: scores at random
    rng = np.random.default_rng(0)
    erratic = frame["rater"] == "R4"
    frame.loc[erratic, "score"] = rng.integers(0, 4, erratic.sum())
    res = fit_mfrm(frame, "cand", ["rater", "crit"])
    th = res.thresholds["threshold"].to_numpy()
    meas = {f: res.facet(f)["measure"] for f in ("cand", "rater", "crit")}
    eta = (meas["cand"][frame["cand"]].to_numpy() - meas["rater"][frame["rater"]].to_numpy()
           - meas["crit"][frame["crit"]].to_numpy())
    P = _probs(eta, th)
    k = np.arange(4)
    E = P @ k
    V = P @ k**2 - E**2
    resid = frame["score"].to_numpy() - E
    ok_person = res.facet("cand").loc[frame["cand"], "status"].to_numpy() == ""
    raters = res.facet("rater")
    for name in ("R0", "R4"):
        sel = (frame["rater"] == name).to_numpy() & ok_person
        assert raters.loc[name, "infit"] == pytest.approx((resid[sel] ** 2).sum() / V[sel].sum(), rel=1e-6)
        assert raters.loc[name, "outfit"] == pytest.approx(np.mean(resid[sel] ** 2 / V[sel]), rel=1e-6)
        assert raters.loc[name, "se"] == pytest.approx(1 / math.sqrt(V[(frame["rater"] == name).to_numpy()].sum()), rel=1e-6)
    assert raters.loc["R4", "infit"] > 1.3 and raters.loc["R4", "infit_zstd"] > 3
    assert 0.6 < raters.loc["R0", "infit"] < 1.1  # the others look a little too predictable beside R4
    # separation and reliability from the measures and SEs
    row = res.facet_summary.set_index("facet").loc["crit"]
    crit = res.facet("crit")
    sd, rmse = crit["measure"].std(ddof=0), math.sqrt((crit["se"] ** 2).mean())
    true_sd = math.sqrt(sd**2 - rmse**2)
    assert row["separation"] == pytest.approx(true_sd / rmse)
    assert row["reliability"] == pytest.approx(true_sd**2 / sd**2)
    assert row["strata"] == pytest.approx((4 * true_sd / rmse + 1) / 3)
    assert row["df"] == 5
    # fair average of a candidate: expected score with average rater and criterion (both 0 after centring)
    cand = res.facet("cand")
    first = cand.index[0]
    assert cand.loc[first, "fair_average"] == pytest.approx(_probs(np.array([cand.loc[first, "measure"]]), th)[0] @ k)
    # of a rater: expected score for the mean candidate and the average criterion
    mean_person = cand.loc[cand["status"] == "", "measure"].mean()
    assert raters.loc["R0", "fair_average"] == pytest.approx(
        _probs(np.array([mean_person - raters.loc["R0", "measure"]]), th)[0] @ k)


def test_bias_terms_find_an_injected_interaction():
    """Rater R2 scores criterion C3 one logit more leniently than the model: that pair's bias is about +1 with
    a large t; the other pairs stay near 0."""
    frame, _ = simulate(4, n_persons=500, n_raters=5, per_person=3, n_crit=5, m=3, bias=(2, 3, 1.0))
    res = fit_mfrm(frame, "cand", ["rater", "crit"])
    assert res.bias_facets == ("rater", "crit")
    b = res.bias.set_index(["element_a", "element_b"])
    assert len(b) == 25
    assert b.loc[("R2", "C3"), "bias"] == pytest.approx(0.9, abs=0.3)  # the main effects absorb part of it
    assert b.loc[("R2", "C3"), "t"] > 5 and b.loc[("R2", "C3"), "p"] < 1e-6
    others = b.drop(index=("R2", "C3"))
    assert (others["t"].abs() < 4).mean() > 0.9
    assert b.loc[("R2", "C3"), "obs_exp_average"] > 0
    assert (b["df"] == b["count"] - 1).all()
    none = fit_mfrm(frame, "cand", ["rater", "crit"], bias=())
    assert none.bias.empty and none.bias_facets == ()


def test_extreme_scores_are_dropped_then_estimated_from_adjusted_scores():
    frame, _ = simulate(5, n_persons=150, n_raters=4, per_person=2, n_crit=5, m=3)
    top = pd.DataFrame({"cand": 999, "rater": ["R0"] * 5 + ["R1"] * 5, "crit": [f"C{k}" for k in range(5)] * 2, "score": 3})
    bottom = top.assign(cand=998, score=0)
    res = fit_mfrm(pd.concat([frame, top, bottom], ignore_index=True), "cand", ["rater", "crit"])
    cand = res.facet("cand")
    assert cand.loc[999, "status"] == "extreme maximum" and cand.loc[998, "status"] == "extreme minimum"
    ok = cand["status"] == ""
    assert cand.loc[999, "measure"] > cand.loc[ok, "measure"].max() and cand.loc[998, "measure"] < cand.loc[ok, "measure"].min()
    assert math.isnan(cand.loc[999, "infit"]) and math.isfinite(cand.loc[999, "se"])
    # the estimate reproduces the raw score moved 0.3 points inwards
    th = res.thresholds["threshold"].to_numpy()
    rows = top
    eta = cand.loc[999, "measure"] - res.facet("rater").loc[rows["rater"], "measure"].to_numpy() \
        - res.facet("crit").loc[rows["crit"], "measure"].to_numpy()
    assert (_probs(eta, th) @ np.arange(4)).sum() == pytest.approx(30 - 0.3, abs=1e-3)
    summary = res.facet_summary.set_index("facet")
    assert summary.loc["cand", "n_extreme"] == int((~ok).sum()) >= 2
    assert "extreme scores dropped from estimation" in res.conventions and "0.3" in res.conventions
    # the extreme candidates do not change the others' measures
    alone = fit_mfrm(frame, "cand", ["rater", "crit"])
    assert res.facet("rater")["measure"].to_numpy() == pytest.approx(alone.facet("rater")["measure"].to_numpy(), abs=1e-4)


def test_an_extreme_rater_and_the_candidates_it_leaves_extreme_get_finite_measures():
    """A rater who gives every candidate full marks is extreme; dropping them leaves some candidates with only
    minimum scores from their other rater, who become extreme in turn.  Each layer is measured from the ratings
    active when it was found extreme, so nothing runs off to infinity."""
    frame, _ = simulate(3, n_persons=200, n_raters=4, per_person=2, n_crit=4, m=3)
    frame.loc[frame["rater"] == "R0", "score"] = 3
    res = fit_mfrm(frame, "cand", ["rater", "crit"])
    assert res.converged and "did not converge" not in res.note
    raters = res.facet("rater")
    assert raters.loc["R0", "status"] == "extreme maximum"
    assert -20 < raters.loc["R0", "measure"] < raters.loc[raters["status"] == "", "measure"].min()
    assert np.isfinite(res.measures["measure"]).all() and (res.measures["measure"].abs() < 20).all()
    assert np.isfinite(res.measures["se"]).all()


def test_convergence_is_reported():
    frame, _ = simulate(6, n_persons=100, n_raters=4, per_person=2, n_crit=4, m=3)
    res = fit_mfrm(frame, "cand", ["rater", "crit"], max_iter=2)
    assert not res.converged and res.iterations == 2 and "did not converge" in res.note
    assert "NOT converged" in res.describe()
    good = fit_mfrm(frame, "cand", ["rater", "crit"])
    assert good.converged and good.max_change < 1e-5 and good.iterations < 200


def test_result_describes_and_serialises():
    frame, _ = simulate(8, n_persons=80, n_raters=4, per_person=2, n_crit=4, m=3)
    frame.loc[3, "score"] = np.nan
    res = fit_mfrm(frame, "cand", ["rater", "crit"])
    assert res.n_missing == 1 and res.n_obs == len(frame) - 1 and res.scale == (0, 3)
    json.dumps(res.to_dict())
    line = res.describe()
    assert line.startswith("MFRM rating_scale, ") and "\n" not in line
    assert "centred at 0" in res.conventions and "not centred" in res.conventions
    assert list(res.measures["facet"].unique()) == ["cand", "rater", "crit"]
    with pytest.raises(MFRMError, match="no facet 'task'"):
        res.facet("task")


def test_unused_end_category_is_noted_and_declared_scale_checked():
    frame, _ = simulate(9, n_persons=150, n_raters=4, per_person=2, n_crit=4, m=3)
    res = fit_mfrm(frame, "cand", ["rater", "crit"], scale=(0, 4))
    assert "uses only 0-3" in res.note and res.scale == (0, 4)
    assert res.thresholds["category"].tolist() == [1, 2, 3]


# --------------------------------------------------------------------------- bad input


def test_unconnected_design_is_reported_by_name():
    frame, _ = simulate(10, n_persons=100, n_raters=4, per_person=2, n_crit=4, m=3)
    island = pd.DataFrame({"cand": [500] * 4 + [501] * 4, "rater": "R9", "crit": [f"C{k}" for k in range(4)] * 2,
                           "score": [1, 2, 2, 1, 0, 1, 2, 3]})
    with pytest.raises(MFRMError, match=r"not connected .*rater 'R9' shares no cand with the rest of the design \(its cand: 500, 501\)") as info:
        fit_mfrm(pd.concat([frame, island], ignore_index=True), "cand", ["rater", "crit"])
    assert "\n" not in str(info.value)


def test_bad_input_one_line_errors():
    frame, _ = simulate(11, n_persons=60, n_raters=3, per_person=2, n_crit=3, m=3)
    cases = [
        (lambda: fit_mfrm(frame, "cand", ["rater", "task"]), r"scores has no column\(s\) \['task'\]"),
        (lambda: fit_mfrm(frame.assign(crit="C0"), "cand", ["rater", "crit"]), "facet 'crit' has only one element \\('C0'\\)"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], scale=(0, 2)), r"score 3 at row \d+ is off the scale 0-2"),
        (lambda: fit_mfrm(frame.assign(score=frame["score"] + 0.5), "cand", ["rater", "crit"], scale=(0, 4)),
         r"score \d\.5 at row 0 is off the scale 0-4 \(whole numbers expected\)"),
        (lambda: fit_mfrm(frame.assign(score=2), "cand", ["rater", "crit"]), r"all \d+ scores are equal \(2\): there is no variance"),
        (lambda: fit_mfrm(frame.assign(score=frame["score"].replace({2: 3})), "cand", ["rater", "crit"]),
         "category 2 of the scale 0-3 is never used"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], model="graded"), "unknown model 'graded'"),
        (lambda: fit_mfrm(frame, "cand", []), "facets must name at least one facet"),
        (lambda: fit_mfrm(frame, "cand", ["cand"]), "person and facets must be different columns"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], model="partial_credit", steps_by="cand"), "steps_by must be one of"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], steps_by="crit"), "steps_by applies to model='partial_credit'"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], bias=("rater", "rater")), "bias must name two different facets"),
        (lambda: fit_mfrm(frame.assign(score="x"), "cand", ["rater", "crit"]), "scores must be whole numbers; got 'x'"),
        (lambda: fit_mfrm(frame.to_numpy(), "cand", ["rater", "crit"]), "scores must be a long DataFrame"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], scale=(3, 0)), "highest > lowest"),
        (lambda: fit_mfrm(frame, "cand", ["rater", "crit"], extreme_adjustment=2), "extreme_adjustment must be between 0 and 1"),
    ]
    for call, pattern in cases:
        with pytest.raises(MFRMError, match=pattern) as info:
            call()
        assert "\n" not in str(info.value)
    assert issubclass(MFRMError, ValueError)
