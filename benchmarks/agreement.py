"""Benchmark: Krippendorff's alpha (interval) on 10,000 units x 3 raters, 10% missing.

Run with the project's interpreter::

    .venv/bin/python benchmarks/agreement.py [--units 10000] [--resamples 1000] [--repeats 5]

Prints, side by side, the best-of-N wall time and the value of

* evalkit's point estimate (``krippendorff_alpha(..., bootstrap=0)``),
* the ``krippendorff`` package's ``alpha(..., level_of_measurement="interval")``,
* evalkit's 1,000-resample percentile bootstrap CI (point estimate included),

plus the other evalkit statistics on the same data for scale.  Targets: the point
estimate at least as fast as the ``krippendorff`` package; the 1,000-resample
bootstrap under 2 s on a 2-core machine.  Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from evalkit.psychometrics import agreement as ag


def make_data(units: int, raters: int = 3, missing: float = 0.10, seed: int = 20240601) -> np.ndarray:
    """Interval ratings on a 1-10 scale: latent score + rater bias + noise, 10% missing."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(5.5, 1.8, (units, 1))
    x = np.clip(np.round(latent + rng.normal(0, 0.4, raters) + rng.normal(0, 1.0, (units, raters))), 1, 10)
    x[rng.random(x.shape) < missing] = np.nan
    return x


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--units", type=int, default=10_000)
    p.add_argument("--resamples", type=int, default=1_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()

    x = make_data(args.units)
    print(
        f"data: {x.shape[0]} units x {x.shape[1]} raters, {np.isnan(x).mean():.1%} missing, "
        f"interval (1-10); python {platform.python_version()}, numpy {np.__version__}"
    )
    rows = []

    t, res = best_of(lambda: ag.krippendorff_alpha(x, "interval", bootstrap=0), args.repeats)
    rows.append(("evalkit alpha point estimate", t, f"{res.value:.10f}"))
    ours_point = t

    try:
        import krippendorff

        t, ref = best_of(lambda: krippendorff.alpha(x.T, level_of_measurement="interval"), args.repeats)
        rows.append((f"krippendorff {getattr(krippendorff, '__version__', '')} alpha".replace("  ", " "), t, f"{float(ref):.10f}"))
        ref_point = t
    except ImportError:
        ref_point = float("nan")
        rows.append(("krippendorff package", float("nan"), "not installed"))

    t, res_b = best_of(
        lambda: ag.krippendorff_alpha(x, "interval", bootstrap=args.resamples, seed=0), max(1, args.repeats // 2)
    )
    rows.append(
        (f"evalkit alpha + {args.resamples}-resample bootstrap", t,
         f"{res_b.value:.10f}  CI {res_b.ci[0]:.4f}-{res_b.ci[1]:.4f}  SE {res_b.se:.4f}")
    )
    boot_time = t

    # worst case for the resampler: continuous scores, every unit distinct (index draws, not multinomial)
    rng = np.random.default_rng(1)
    xc = rng.normal(0, 1, (args.units, 1)) + rng.normal(0, 1, (args.units, 3))
    xc[rng.random(xc.shape) < 0.10] = np.nan
    t, r = best_of(lambda: ag.krippendorff_alpha(xc, "interval", bootstrap=args.resamples, seed=0), 2)
    rows.append(("same, continuous scores (all units distinct)", t, f"{r.value:.6f}  CI {r.ci[0]:.4f}-{r.ci[1]:.4f}"))

    for level in ("nominal", "ordinal", "ratio"):
        t, r = best_of(lambda: ag.krippendorff_alpha(x, level, bootstrap=args.resamples, seed=0), 1)
        rows.append((f"evalkit alpha {level} + bootstrap", t, f"{r.value:.6f}  CI {r.ci[0]:.4f}-{r.ci[1]:.4f}"))
    for name, fn in [
        ("fleiss_kappa (analytic SE)", lambda: ag.fleiss_kappa(x)),
        ("gwet_ac quadratic (analytic SE)", lambda: ag.gwet_ac(x, weights="quadratic")),
        ("fleiss_kappa + bootstrap", lambda: ag.fleiss_kappa(x, bootstrap=args.resamples)),
        ("icc ICC2 (complete rows, F CI)", lambda: ag.icc(x, "ICC2")),
        ("icc ICC2 + bootstrap", lambda: ag.icc(x, "ICC2", bootstrap=args.resamples)),
    ]:
        t, r = best_of(fn, 1)
        rows.append((name, t, f"{r.value:.6f}  CI {r.ci[0]:.4f}-{r.ci[1]:.4f}"))

    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'best time':>10}  value")
    for name, t, val in rows:
        print(f"{name:<{w}}  {t * 1e3:>8.2f}ms  {val}")
    print(
        f"\npoint estimate: evalkit {ours_point * 1e3:.2f} ms vs krippendorff {ref_point * 1e3:.2f} ms "
        f"({ref_point / ours_point:.1f}x); bootstrap {args.resamples} resamples: {boot_time:.3f} s (target < 2 s)"
    )


if __name__ == "__main__":
    main()
