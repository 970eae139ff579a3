"""Benchmark: the validity report (`evalkit agreement --program CCOM --out report.html`) at 2,000, 20,000 and
100,000 submissions.

Run with the project's interpreter::

    .venv/bin/python benchmarks/agreement_report.py [--sizes 2000 20000 100000] [--ccom-share 0.5] [--raters 12]
                                                    [--terminal] [--keep FOLDER]

For each size it builds a throw-away workspace with bulk inserts (not the workflow per row): candidates and
submissions received over the past three years, programs mixed as in ``benchmarks/scoring_queue.py`` (CCOM half
of them by default), each scored by two of ``--raters`` SMEs with a severity of their own on every criterion
(levels from a latent quality, the rater's severity and noise), compared as the workflow compares them (within
tolerance: decided on the mean; beyond: an adjudicator's scores decide), about 3% still open, 1% benchmark
("gold") submissions scored by the lead SME and two SMEs, and a completed two-round standard-setting workshop on
CCOM. Then it runs the report in a fresh process (``python -m evalkit agreement ...``, as a user would) and prints
its wall time and the process's peak resident memory (``ru_maxrss``: the interpreter and its libraries
included; Linux's VmHWM), with the resident memory of a process that only imported them, for scale.

Target: under 10 s and 500 MB at 100,000 submissions. Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: The peak resident memory of this process: Linux's VmHWM (ru_maxrss would also count the parent's memory at the
#: fork that started it: Linux keeps ru_maxrss across exec), else ru_maxrss.
PEAK = """
def peak_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

#: Runs in the measured child: the whole command, as `evalkit agreement` runs it, then its own figures.
CHILD = PEAK + """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from evalkit.cli import main
code = main(sys.argv[1:])
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"code": code, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb()}), file=sys.stderr)
"""

#: The resident memory of the interpreter with what the report imports, doing nothing.
BASELINE = PEAK + """
import json
import evalkit.cli, evalkit.psychometrics.reports, matplotlib.figure, scipy.stats, pandas
print(json.dumps({"peak_mb": peak_mb()}))
"""


def _dt(value: dt.datetime) -> str:
    """A DateTime as SQLAlchemy stores it in SQLite."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(folder: Path, n: int, ccom_share: float = 0.5, n_raters: int = 12, seed: int = 11,
          workshop: bool = True) -> dict:
    """A workspace with ``n`` submissions (see the module docstring); returns counts of what was built."""
    from evalkit.demo import init_workspace
    from evalkit.evaluation import workflow

    rng = np.random.default_rng(seed)
    today = dt.date.today()
    store = init_workspace(folder)
    smes = [f"sme.{k:02d}" for k in range(1, n_raters + 1)]
    for username in smes:
        workflow.add_rater(store, username, f"SME {username[4:]}", actor="bench")
    workflow.add_rater(store, "lead.sme", "Lead SME", is_lead=True, actor="bench")
    for username in ("adj.one", "adj.two"):
        workflow.add_rater(store, username, username.title(), is_adjudicator=True, actor="bench")
    rest = (1 - ccom_share) / 5
    programs = np.array(["CCOM", "CCSL", "ICMI-PA"])
    rubrics = {p: workflow.rubric_for(store, workflow.rubric_version_of(store, p)) for p in programs}
    due = {p: workflow.program(store, p).notification_business_days for p in programs}
    store.dispose()

    program = rng.choice(3, n, p=[ccom_share, 2 * rest, 3 * rest])
    received = np.sort(rng.integers(0, 3 * 365, n))[::-1]  # days before today, oldest first
    received_on = [today - dt.timedelta(days=int(d) + 1) for d in received]
    open_ = received < 30  # the last month's submissions are being scored
    bench = (rng.random(n) < 0.01) & ~open_
    quality = rng.normal(2.9, 0.6, n)
    severity = dict(zip(smes, rng.normal(0, 0.25, n_raters)))
    sev = np.array([severity[u] for u in smes])
    rater_id = {u: k + 1 for k, u in enumerate(smes)}
    lead_id, adj_ids = n_raters + 1, (n_raters + 2, n_raters + 3)
    # two distinct SMEs per submission
    first = rng.integers(0, n_raters, n)
    second = (first + rng.integers(1, n_raters, n)) % n_raters
    now = dt.datetime.now().replace(microsecond=0)
    stamp = _dt(now)

    cand_rows = [(i + 1, f"B-{i:06d}", "Pat", f"Doe{i}") for i in range(n)]
    sub_rows, asg_rows, score_rows, resolved_rows, decision_rows = [], [], [], [], []
    aid = 0
    n_adjudicated = 0
    for p_index, p in enumerate(programs):
        rubric = rubrics[p]
        crit = rubric.criteria
        ids = np.flatnonzero(program == p_index)
        m = len(ids)
        if not m:
            continue
        k = len(crit)
        lo = np.array([c.scores[0] for c in crit])
        hi = np.array([c.scores[-1] for c in crit])
        weights = np.array([c.weight for c in crit])
        meets = np.array([c.meets_standard for c in crit])
        must = np.array([c.id in rubric.pass_rule.must_meet for c in crit])
        wmax = float((weights * hi).sum())

        def levels(extra):  # submissions x criteria
            raw = quality[ids, None] + extra + rng.normal(0, 0.45, (m, k))
            return np.clip(np.rint(raw), lo, hi).astype(int)

        def passed(lv):
            total = 100.0 * (lv * weights).sum(axis=1) / wmax
            return (np.round(total, 6) >= rubric.pass_rule.pass_mark) & ~((lv < meets) & must).any(axis=1), total

        la = levels(sev[first[ids], None])
        lb = levels(sev[second[ids], None])
        gold = levels(0.0)
        pa, _ = passed(la)
        pb, _ = passed(lb)
        mean = (la + lb) / 2
        pm, _ = passed(mean)
        beyond = (np.abs(la - lb) > rubric.tolerance.levels).any(axis=1) | (pa != pb) | ((pa == pb) & (pm != pa))
        is_bench, is_open = bench[ids], open_[ids]
        adjudicated = beyond & ~is_bench & ~is_open
        n_adjudicated += int(adjudicated.sum())
        resolved = np.where(is_bench[:, None], gold, np.where(adjudicated[:, None], gold, mean))
        result, total = passed(resolved)
        for j, sid in enumerate((ids + 1).tolist()):
            i = sid - 1
            state = "scoring" if is_open[j] else ("decided" if received[i] < 60 else "notified")
            day = received_on[i]
            sub_rows.append((sid, sid, p, rubric.version, 1, day.isoformat(),
                             (day + dt.timedelta(days=due[p] * 7 // 5)).isoformat(), 1, int(is_bench[j]), state,
                             stamp))
            scored_at = _dt(dt.datetime.combine(min(day + dt.timedelta(days=12), today), dt.time(10)))
            who = [(smes[first[i]], la[j]), (smes[second[i]], lb[j])]
            if is_bench[j]:
                who = [("lead.sme", gold[j])] + who
            for n_rater, (username, lv) in enumerate(who):
                aid += 1
                final = not is_open[j] or n_rater == 0 and j % 2 == 0
                r_id = lead_id if username == "lead.sme" else rater_id[username]
                asg_rows.append((aid, sid, r_id, "rater", "final" if final else "assigned", stamp,
                                 scored_at if final else None, scored_at if final else None))
                if final:
                    score_rows += [(aid, c.id, int(v), "", rubric.version, scored_at) for c, v in zip(crit, lv)]
            if adjudicated[j]:
                aid += 1
                asg_rows.append((aid, sid, adj_ids[j % 2], "adjudicator", "final", stamp, scored_at, scored_at))
                score_rows += [(aid, c.id, int(v), "", rubric.version, scored_at) for c, v in zip(crit, gold[j])]
            if not is_open[j]:
                resolved_rows += [(sid, c.id, float(v), "") for c, v in zip(crit, resolved[j])]
                method = "benchmark" if is_bench[j] else "adjudication" if adjudicated[j] else "agreement"
                decision_rows.append((sid, "pass" if result[j] else "deficient", float(total[j]), method,
                                      min(day + dt.timedelta(days=12), today).isoformat(), "bench", rubric.version))
    sub_rows.sort()
    db = sqlite3.connect(folder / "evalkit.db")
    try:
        with db:
            db.executemany("INSERT INTO candidates (id, external_id, first_name, last_name) VALUES (?, ?, ?, ?)",
                           cand_rows)
            db.executemany("INSERT INTO submissions (id, candidate_id, program_id, rubric_version, attempt, "
                           "received_on, due_on, manager_signoff, is_benchmark, state, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sub_rows)
            db.executemany("INSERT INTO assignments (id, submission_id, rater_id, role, status, assigned_at, saved_at, "
                           "submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", asg_rows)
            db.executemany("INSERT INTO criterion_scores (assignment_id, criterion_id, level, feedback, rubric_version, "
                           "updated_at) VALUES (?, ?, ?, ?, ?, ?)", score_rows)
            db.executemany("INSERT INTO resolved_scores (submission_id, criterion_id, level, feedback) "
                           "VALUES (?, ?, ?, ?)", resolved_rows)
            db.executemany("INSERT INTO decisions (submission_id, result, total_percent, method, decided_on, "
                           "decided_by, rubric_version) VALUES (?, ?, ?, ?, ?, ?, ?)", decision_rows)
            db.execute("UPDATE submissions SET state = 'adjudication' WHERE id IN (SELECT submission_id FROM "
                       "assignments WHERE role = 'adjudicator') AND state = 'scoring'")
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the database file, as after a day's work
    finally:
        db.close()
    if workshop:
        from evalkit.psychometrics import workshops
        from evalkit.store import open_store
        store = open_store(folder)
        try:
            workshops.build_demo_workshop(store, "CCOM", seed=seed, held_on=today - dt.timedelta(days=20))
        finally:
            store.dispose()
    return {"submissions": n, "ccom": int((program == 0).sum()), "open": int(open_.sum()),
            "benchmarks": int(bench.sum()), "adjudicated": n_adjudicated, "scores": len(score_rows)}


def _env() -> dict:
    """The children's environment: this evalkit, no display, and compiled bytecode cached (in a folder of the
    benchmark's own when PYTHONDONTWRITEBYTECODE forbids writing it beside the sources), as an installed evalkit
    runs: otherwise every run would spend seconds compiling pandas, scipy and matplotlib from source."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "evalkit-bench-pycache")
    return env


def measure(folder: Path, out: Path | None) -> dict:
    """Run the report in a fresh process; its wall and CPU time (inside; whole process) and peak resident
    memory."""
    argv = ["agreement", "--program", "CCOM", "-w", str(folder)] + (["--out", str(out)] if out else [])
    env = _env()
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env, cwd=ROOT)
    whole = time.perf_counter() - t0
    if done.returncode or not done.stderr.strip():
        raise SystemExit(f"the report failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    if figures["code"] != 0:
        raise SystemExit(f"the report failed:\n{done.stderr[-4000:]}")
    return {**figures, "whole": whole}


def baseline() -> float:
    """Resident memory of the interpreter with the report's libraries imported (run twice: the first run also
    fills the bytecode cache)."""
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True, env=_env(), cwd=ROOT,
                              check=True)
    return json.loads(done.stdout)["peak_mb"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 100000])
    p.add_argument("--ccom-share", type=float, default=0.5, help="share of the submissions that are CCOM's")
    p.add_argument("--raters", type=int, default=12, help="SMEs scoring (two per submission)")
    p.add_argument("--terminal", action="store_true", help="time the terminal tables instead of the HTML report")
    p.add_argument("--keep", type=Path, help="build the workspaces here and keep them")
    p.add_argument("--no-workshop", action="store_true",
                   help="leave the standard-setting workshop out (as the report was before it had that section)")
    args = p.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; report: evalkit agreement --program CCOM "
          f"{'(terminal tables)' if args.terminal else '--out report.html (every section)'}")
    print(f"interpreter + libraries alone: {baseline():.0f} MB resident")
    print(f"{'submissions':>11} {'CCOM':>7} {'scores':>10} {'build s':>8} {'report s':>9} {'cpu s':>7} "
          f"{'process s':>9} {'peak MB':>8}")
    for n in args.sizes:
        base = args.keep or Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
        folder = base / f"ws-{n}"
        if folder.exists():
            shutil.rmtree(folder)
        try:
            t0 = time.perf_counter()
            built = build(folder, n, args.ccom_share, args.raters, workshop=not args.no_workshop)
            built_s = time.perf_counter() - t0
            fig = measure(folder, None if args.terminal else folder / "report.html")
            print(f"{n:>11,} {built['ccom']:>7,} {built['scores']:>10,} {built_s:>8.1f} {fig['seconds']:>9.2f} "
                  f"{fig['cpu']:>7.2f} {fig['whole']:>9.2f} {fig['peak_mb']:>8.0f}", flush=True)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    print("report s: from starting `evalkit agreement` to its end, in the process (imports included); cpu s: that "
          f"process's CPU time; load average now {os.getloadavg()[0]:.1f}")
    print("target at 100,000 submissions: report < 10 s, peak < 500 MB")


if __name__ == "__main__":
    main()
