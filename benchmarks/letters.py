"""Letters per minute: sequential papermill vs ``evalkit letters`` vs the kernel-free render, side by side.

Builds a workspace of decided submissions (pass and deficient, three programs) in a temporary folder and produces
their letters three ways, in one run:

(a) papermill, sequential: one ``execute_notebook`` per letter on papermill's default engine (a new kernel each),
    on a sample of the letters (each letter costs the same, having a kernel of its own: the totals at 100 and 500
    are the sample's rate times the count);
(b) ``evalkit letters --jobs N`` as an admin runs it (``python -m evalkit.cli letters``, a fresh copy of the
    workspace each time, start-up included), on 100 letters (``--only``) and on 500, for each N asked (the best of
    ``--repeat`` runs: other work on the machine only ever slows a run down); the marginal cost of a letter is
    (T500 - T100) / 400, and the batch's fixed start-up is the time of a batch of one letter per worker;
(c) the same content rendered with Jinja in this process (no kernel, no notebook record): the floor.

Run: ``.venv/bin/python benchmarks/letters.py [--letters 500] [--small 100] [--jobs 1 2] [--papermill 30]
[--repeat 2] [--keep DIR]``. Prints figures and the machine's load before each measurement; asserts nothing.
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
import subprocess
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

ROOT = Path(__file__).resolve().parents[1]

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


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def sequential_papermill(workspace: Path, ids: list[int], out: Path) -> float:
    import papermill

    out.mkdir(parents=True)
    started = time.perf_counter()
    for sid in ids:
        papermill.execute_notebook(str(letters.TEMPLATE), str(out / f"{sid}.ipynb"), progress_bar=False,
                                   parameters={"workspace": str(workspace), "submission_id": sid,
                                               "issue_date": dt.date.today().isoformat()})
    return time.perf_counter() - started


def evalkit_letters(source: Path, copy: Path, ids: list[int] | None, jobs: int) -> float:
    """Wall time of ``evalkit letters --jobs N`` on a fresh copy of the workspace (``ids``: only those)."""
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    argv = [sys.executable, "-m", "evalkit.cli", "letters", "-w", str(copy), "--jobs", str(jobs)]
    if ids is not None:
        argv += ["--only", *map(str, ids)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or " 0 failed" not in done.stdout:
        raise SystemExit(f"evalkit letters failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return seconds


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
    parser.add_argument("--letters", type=int, default=500, help="the large batch (default 500)")
    parser.add_argument("--small", type=int, default=100, help="the small batch (default 100)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs of evalkit letters")
    parser.add_argument("--papermill", type=int, default=30, help="letters in papermill's sample (default 30)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each evalkit letters batch (the best)")
    parser.add_argument("--keep", help="build in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
    big, small = args.letters, min(args.small, args.letters)
    try:
        workspace = base / "ws"
        t = time.perf_counter()
        ids = build(workspace, big)
        print(f"built {len(ids)} decided submissions in {time.perf_counter() - t:.1f} s; {os.cpu_count()} CPUs",
              flush=True)

        print(f"(a) papermill, sequential, {args.papermill} letters ({load()})", flush=True)
        a = sequential_papermill(workspace, ids[:args.papermill], base / "a") / args.papermill

        b, start = {}, {}
        for jobs in args.jobs:
            print(f"(b) evalkit letters --jobs {jobs}, {jobs} letter(s): start-up ({load()})", flush=True)
            start[jobs] = min(evalkit_letters(workspace, base / "b", ids[:jobs], jobs) for _ in range(args.repeat))
            for n in (small, big):
                print(f"(b) evalkit letters --jobs {jobs}, {n} letters ({load()})", flush=True)
                b[jobs, n] = min(evalkit_letters(workspace, base / "b", ids[:n] if n < big else None, jobs)
                                 for _ in range(args.repeat))

        c = {}
        for n in (small, big):
            print(f"(c) Jinja render, no kernel, {n} letters ({load()})", flush=True)
            shutil.rmtree(base / "c", ignore_errors=True)
            c[n] = jinja_only(workspace, ids[:n], base / "c")
        c_marginal = (c[big] - c[small]) / (big - small)
        print(f"\nfinished ({load()})\n")

        print(f"{'approach':<44}{'letters':>8}{'seconds':>9}{'s/letter':>10}{'letters/min':>12}{'vs (a)':>9}"
              f"{'vs (c)':>9}")

        def line(name, n, seconds, floor):
            print(f"{name:<44}{n:>8}{seconds:>9.1f}{seconds / n:>10.4f}{n / seconds * 60:>12.0f}"
                  f"{a * n / seconds:>8.1f}x{seconds / floor:>8.1f}x")

        for n in (small, big):
            print(f"{'(a) papermill, sequential (sample rate)':<44}{n:>8}{a * n:>9.1f}{a:>10.4f}{60 / a:>12.0f}"
                  f"{1:>8.1f}x{a * n / c[n]:>8.1f}x")
        for jobs in args.jobs:
            for n in (small, big):
                line(f"(b) evalkit letters --jobs {jobs}", n, b[jobs, n], c[n])
        for n in (small, big):
            line("(c) Jinja render, no kernel", n, c[n], c[n])
        print()
        for jobs in args.jobs:
            marginal = (b[jobs, big] - b[jobs, small]) / (big - small)
            print(f"evalkit letters --jobs {jobs}: {marginal * 1000:.1f} ms a letter beyond the first {small} "
                  f"({marginal / c_marginal:.1f}x the floor's {c_marginal * 1000:.1f} ms); a batch of {jobs} "
                  f"letter(s), start-up included: {start[jobs]:.1f} s; vs (a): {a * small / b[jobs, small]:.1f}x "
                  f"at {small}, {a * big / b[jobs, big]:.1f}x at {big}")
        print("targets: a letter within 5x of the floor; >= 25x (a) at 100 and 500; start-up < 5 s; --jobs N helps")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
