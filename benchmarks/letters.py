"""Letters per minute: sequential papermill vs ``evalkit letters`` vs a kernel-free Jinja render.

Builds a workspace with N decided submissions (pass and deficient, three programs) in a temporary folder and
produces every letter three ways, side by side:

(a) papermill, sequential: one ``execute_notebook`` per letter on papermill's default engine (a new kernel each);
(b) ``evalkit.letters.run_batch`` with HTML export (worker processes with warm kernels; start-up included), and
    the same with PDF as well (re-issuing the letters of (b));
(c) the same content rendered with Jinja in this process (no kernel, no notebook record).

Run: ``.venv/bin/python benchmarks/letters.py [--letters 100] [--jobs N] [--keep DIR]``. Prints figures; asserts
nothing.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where other benchmarks' names (queue.py) would shadow the
# standard library for papermill and the worker processes.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import datetime as dt
import os
import random
import shutil
import tempfile
import time
import warnings

from evalkit.calendar import add_business_days
from evalkit.certification import set_profile
from evalkit.demo import init_workspace
from evalkit.evaluation import workflow
from evalkit.letters import batch as letters
from evalkit.letters.content import letter_content, render_letter_html
from evalkit.store import open_store


#: A profile every program's eligibility rules admit (years in management and leadership in a call centre).
PROFILE = {"education": {"highest": "bachelor"},
           "experience": [{"years": 3, "role": "management", "call_center": True, "employer": "private"},
                          {"years": 2, "role": "strategic_leadership", "call_center": True, "employer": "private"}]}


def build(workspace: Path, n: int, seed: int = 7) -> list[int]:
    """A workspace with ``n`` decided submissions; returns their ids."""
    rng = random.Random(seed)
    store = init_workspace(workspace)
    for username in ("bench.r1", "bench.r2"):
        workflow.add_rater(store, username, username, actor="bench")
    today = dt.date.today()
    ids = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no sign-off, knowledge assessments not recorded
        for i in range(n):
            program = ("CCOM", "CCSL", "ICMI-SL")[i % 3]
            ext = f"B-{i:04d}"
            workflow.add_candidate(store, ext, f"First{i}", f"Last{i}", f"{ext}@example.org", "Bench Org",
                                   actor="bench")
            set_profile(store, ext, PROFILE, actor="bench")
            received = add_business_days(today, -rng.randint(15, 40))
            sid = workflow.receive_submission(store, ext, program, received, True, actor="bench")
            workflow.assign_raters(store, sid, ["bench.r1", "bench.r2"], actor="bench")
            rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
            quality = rng.choice([2, 3, 3, 4])
            levels = {c.id: min(max(quality + rng.choice([-1, 0, 0, 1]), c.scores[0]), c.scores[-1])
                      for c in rubric.criteria}
            feedback = {c.id: rng.choice(c.level(levels[c.id]).feedback) for c in rubric.criteria
                        if levels[c.id] < c.meets_standard}
            decided_on = min(add_business_days(received, 10), today)
            for username in ("bench.r1", "bench.r2"):
                workflow.submit_final(store, sid, username, levels, feedback, today=decided_on)
            ids.append(sid)
    store.dispose()
    return ids


def sequential_papermill(workspace: Path, ids: list[int], out: Path) -> float:
    import papermill

    out.mkdir(parents=True)
    started = time.perf_counter()
    for sid in ids:
        papermill.execute_notebook(str(letters.TEMPLATE), str(out / f"{sid}.ipynb"), progress_bar=False,
                                   parameters={"workspace": str(workspace), "submission_id": sid,
                                               "issue_date": dt.date.today().isoformat()})
    return time.perf_counter() - started


def jinja_only(workspace: Path, ids: list[int], out: Path) -> float:
    out.mkdir(parents=True)
    started = time.perf_counter()
    store = open_store(workspace)
    for sid in ids:
        page = render_letter_html(letter_content(store, sid, dt.date.today()))
        (out / f"{sid}.html").write_text(page, encoding="utf-8")
    store.dispose()
    return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=None, help="workers for evalkit letters (default: CPUs, <= 4)")
    parser.add_argument("--keep", help="build in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
    try:
        workspace = base / "ws"
        t = time.perf_counter()
        ids = build(workspace, args.letters)
        print(f"built {len(ids)} decided submissions in {time.perf_counter() - t:.1f} s ({workspace})", flush=True)

        results = []
        seconds = sequential_papermill(workspace, ids, base / "a")
        results.append(("(a) papermill, sequential, new kernel per letter", seconds))
        print(f"(a) done in {seconds:.1f} s", flush=True)

        batch = letters.run_batch(workspace, jobs=args.jobs, out=base / "b")
        assert batch.ok and batch.count("issued") == len(ids), [r["error"] for r in batch.rows if r["error"]]
        results.append(("(b) evalkit letters, HTML", batch.seconds))
        kernels = batch.kernel_stats
        print(f"(b) done in {batch.seconds:.1f} s: {len(kernels)} workers, "
              f"{sum(k['kernel_starts'] for k in kernels)} kernel start(s), "
              f"{sum(len(k['retirements']) for k in kernels)} kernel(s) replaced", flush=True)

        with_pdf = letters.run_batch(workspace, jobs=args.jobs, out=base / "b", pdf=True, force=True)
        assert with_pdf.ok and with_pdf.count("reissued") == len(ids)
        results.append(("(b) evalkit letters, HTML + PDF", with_pdf.seconds))

        seconds = jinja_only(workspace, ids, base / "c")
        results.append(("(c) Jinja render, no kernel", seconds))

        baseline = len(ids) / results[0][1] * 60
        print(f"\n{len(ids)} letters, {os.cpu_count()} CPUs")
        print(f"{'approach':<52}{'seconds':>9}{'s/letter':>10}{'letters/min':>13}{'vs (a)':>9}")
        for name, seconds in results:
            per_minute = len(ids) / seconds * 60
            print(f"{name:<52}{seconds:>9.1f}{seconds / len(ids):>10.3f}{per_minute:>13.0f}"
                  f"{per_minute / baseline:>8.1f}x")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
