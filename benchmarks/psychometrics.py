"""Benchmark: G study and many-facet Rasch fit on candidates x 2 raters x 10 criteria.

Run with the project's interpreter::

    .venv/bin/python benchmarks/psychometrics.py [--candidates 1000 10000 50000] [--repeats 3]

The data are simulated from a many-facet Rasch model: each candidate is scored by 2 raters drawn from a pool
of 40 on 10 criteria, 0-4.  For each size it prints the best-of-N wall time (and the process CPU time of that
run) of

* ``g_study(..., "(r:p) x i")``: raters nested in candidates (each submission has its own raters), the
  design the certification uses;
* ``g_study(..., "p x r x i")``: the same scores with the two rater slots crossed, for comparison;
* ``fit_mfrm(..., facets=["rater", "criterion"])``: rating-scale model, JML to 1e-5 logits, with fit,
  separation, bias (rater x criterion) and fair averages;

and how the time grows with the number of candidates (the exponent ``b`` of ``time ~ candidates^b`` between
consecutive sizes).  Target: under 2 s each at 10,000 candidates (200,000 scores).  Figures only; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
import pandas as pd

from evalkit.psychometrics.gtheory import g_study
from evalkit.psychometrics.mfrm import fit_mfrm


def make_data(candidates: int, raters: int = 40, per_candidate: int = 2, criteria: int = 10, seed: int = 20240601) -> pd.DataFrame:
    """Scores 0-4 from a rating-scale many-facet Rasch model; one row per (candidate, rater, criterion)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.3, 1.3, candidates)
    severity = rng.normal(0, 0.5, raters)
    difficulty = np.linspace(-0.8, 0.8, criteria)
    tau = np.array([-1.8, -0.6, 0.6, 1.8])
    chosen = np.argsort(rng.random((candidates, raters)), axis=1)[:, :per_candidate]
    p = np.repeat(np.arange(candidates), per_candidate * criteria)
    slot = np.tile(np.repeat(np.arange(per_candidate), criteria), candidates)
    r = np.repeat(chosen.ravel(), criteria)
    i = np.tile(np.arange(criteria), candidates * per_candidate)
    eta = theta[p] - severity[r] - difficulty[i]
    logit = np.outer(eta, np.arange(5)) - np.r_[0.0, np.cumsum(tau)]
    prob = np.exp(logit - logit.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    score = (rng.random(len(p))[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    return pd.DataFrame({"p": p, "slot": slot, "rater": r, "i": i, "score": score})


def best_of(fn, repeats: int) -> tuple[float, float, object]:
    best, cpu, out = math.inf, math.nan, None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; "
        f"{os.cpu_count()} CPUs, load average {load:.1f}; best of {args.repeats}"
    )
    header = f"{'candidates':>10} {'scores':>9}  {'task':<34} {'wall s':>7} {'cpu s':>7}  notes"
    print(header)
    print("-" * len(header))
    times: dict[str, list[tuple[int, float]]] = {}
    for n in args.candidates:
        data = make_data(n)
        nested = data.rename(columns={"slot": "r"})
        tasks = [
            ("g_study (r:p) x i", lambda: g_study(nested, "(r:p) x i")),
            ("g_study p x r x i", lambda: g_study(nested, "p x r x i")),
            ("fit_mfrm rating scale", lambda: fit_mfrm(data, person="p", facets=["rater", "i"])),
        ]
        for name, fn in tasks:
            wall, cpu, res = best_of(fn, args.repeats)
            times.setdefault(name, []).append((n, wall))
            if name.startswith("g_study"):
                d = res.d_study({"r": 2})
                note = f"Phi(2 raters) = {d.phi:.3f}, E rho^2 = {d.g_coefficient:.3f}"
            else:
                note = (f"{'converged' if res.converged else 'NOT converged'} in {res.iterations} iterations, "
                        f"rater separation {res.facet_summary.set_index('facet').loc['rater', 'separation']:.1f}")
            print(f"{n:>10,} {len(data):>9,}  {name:<34} {wall:>7.2f} {cpu:>7.2f}  {note}")
    print()
    print("growth: time ~ candidates^b between consecutive sizes")
    for name, pts in times.items():
        steps = [
            f"{a:,}->{b:,}: b = {math.log(tb / ta) / math.log(b / a):.2f}"
            for (a, ta), (b, tb) in zip(pts, pts[1:])
            if ta > 0 and tb > 0
        ]
        print(f"  {name:<34} {'; '.join(steps) if steps else '(one size only)'}")


if __name__ == "__main__":
    main()
