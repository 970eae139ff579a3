"""Benchmark: the scoring workbench on stores of 2,000, 20,000 and 100,000 submissions.

Run with the project's interpreter::

    .venv/bin/python benchmarks/scoring_queue.py [--sizes 2000 20000 100000] [--repeats 5] [--saves 50] [--finals 5]

For each size it builds a throw-away workspace (a year of submissions, two raters each among six SMEs, about 12%
still open, a third of those with a draft; bulk-inserted), then prints, side by side:

* opening the queue: building the scoring workbench (``ScoringApp``: who is scoring, the open part of the queue and
  its first page of rows) for a rater with a sixth of the assignments, on a freshly opened store each time; and
  ``workflow.queue`` for the open rows alone;
* the reference: ``workflow.queue`` with the whole history, which is what opening the queue read before;
* "All": reading the history the first time the rater chooses it;
* opening a submission's form (document and rubric);
* Save: from a click on "Save draft" (``button.click()``, as the browser's click arrives in the kernel) to the
  row being committed, checked through a separate connection;
* Submit final: from the click that confirms it to the queue showing the new state (only that row is read again).

Targets on a 2-core machine: open the queue under 200 ms at 100,000 submissions, Save under 100 ms at the 95th
percentile. Figures only; nothing is asserted. Each size's block starts with the machine's load (``uptime``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from evalkit.calendar import add_business_days
from evalkit.demo import init_workspace
from evalkit.evaluation import workflow
from evalkit.store import assignments, candidates, criterion_scores, open_store, raters, submissions, utcnow
from evalkit.widgets import ScoringApp

SMES = ["sme.alvarez", "sme.brooks", "sme.chen", "sme.diallo", "sme.evans", "sme.farah"]
PROGRAMS = ["CCOM"] * 5 + ["CCSL"] * 2 + ["ICMI-SL"] * 3


def build(folder: Path, n: int, seed: int = 7) -> dict:
    """A workspace with ``n`` submissions received over the past year; returns what was built.

    Everything is bulk-inserted (the history as decided or notified, the open submissions assigned, a third of
    them with a draft of half their criteria), as the workflow would have left it.
    """
    rng = random.Random(seed)
    today = dt.date.today()
    store = init_workspace(folder)
    for username in SMES:
        workflow.add_rater(store, username, username.split(".")[1].title(), actor="bench")
    docs = folder / "documents"
    (docs / "plan.md").write_text("# Operational Improvement Plan\n\n" + "A paragraph of analysis. " * 400)
    versions = {p: workflow.rubric_version_of(store, p) for p in set(PROGRAMS)}
    rubrics = {p: workflow.rubric_for(store, v) for p, v in versions.items()}
    due = {p: workflow.program(store, p).notification_due for p in set(PROGRAMS)}
    with store.read() as conn:
        rater_ids = dict(conn.execute(sa.select(raters.c.username, raters.c.id)).all())
    now = utcnow()
    open_after = add_business_days(today, -30)
    cand_rows, sub_rows, asg_rows, score_rows, open_subs = [], [], [], [], []
    for i in range(n):
        program = rng.choice(PROGRAMS)
        received = add_business_days(today, -int(250 * (n - i) / n) - 1)
        open_ = received > open_after
        cand_rows.append({"id": i + 1, "external_id": f"B-{i:06d}", "first_name": "Pat", "last_name": f"Doe{i}"})
        sub_rows.append({"id": i + 1, "candidate_id": i + 1, "program_id": program, "rubric_version": versions[program],
                         "attempt": 1, "received_on": received, "due_on": due[program](received),
                         "manager_signoff": True, "document": "documents/plan.md", "is_benchmark": False,
                         "state": "scoring" if open_ else rng.choice(["decided", "notified", "notified"]),
                         "created_at": now})
        pair = rng.sample(SMES, 2)
        for k, u in enumerate(pair):
            draft = open_ and k == 0 and len(open_subs) % 3 == 0
            asg_rows.append({"id": len(asg_rows) + 1, "submission_id": i + 1, "rater_id": rater_ids[u],
                             "role": "rater", "status": "final" if not open_ else "draft" if draft else "assigned",
                             "assigned_at": now, "saved_at": None if not (draft or not open_) else now,
                             "submitted_at": None if open_ else now})
            if draft:
                criteria = rubrics[program].criteria
                score_rows += [{"assignment_id": len(asg_rows), "criterion_id": c.id, "level": c.meets_standard,
                                "feedback": "", "rubric_version": versions[program], "updated_at": now}
                               for c in criteria[: len(criteria) // 2]]
        if open_:
            open_subs.append(i + 1)
    with store.transaction("bench") as tx:
        for table, rows in ((candidates, cand_rows), (submissions, sub_rows), (assignments, asg_rows),
                            (criterion_scores, score_rows)):
            for start in range(0, len(rows), 20000):
                tx.execute(table.insert(), rows[start:start + 20000])
    store.dispose()
    return {"submissions": n, "open": len(open_subs)}


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):8.1f} ms   best {ms[0]:8.1f} ms   p95 {p95:8.1f} ms   (n={len(ms)})"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


def measure(folder: Path, args) -> None:
    rater = "sme.brooks"
    probe = open_store(folder)
    open_rows = workflow.queue(probe, rater, done=False, role="rater")
    every = workflow.queue(probe, rater)
    todo = [r for r in open_rows if r["state"] in ("not started", "draft")]
    print(f"  rater {rater}: {len(every)} submissions in the queue, {len(open_rows)} open, {len(todo)} to do")

    def open_queue():
        store = open_store(folder)
        ScoringApp(store, rater, autosave_seconds=3600)
        store.dispose()

    print(f"  open the queue (new store + ScoringApp)      {fmt(timed(open_queue, args.repeats))}")
    print(f"  workflow.queue, open rows (warm store)       "
          f"{fmt(timed(lambda: workflow.queue(probe, rater, done=False, role='rater'), args.repeats))}")
    print(f"  reference: workflow.queue, all rows          "
          f"{fmt(timed(lambda: workflow.queue(probe, rater), args.repeats))}")

    def show_all():
        app = ScoringApp(probe, rater, autosave_seconds=3600)
        t0 = time.perf_counter()
        app.queue.show.value = "All"
        return time.perf_counter() - t0
    print(f"  'All': the history read when first chosen   {fmt([show_all() for _ in range(args.repeats)])}")

    app = ScoringApp(probe, rater, autosave_seconds=3600)
    sid = todo[0]["submission"]
    print(f"  open a submission's form                     {fmt(timed(lambda: app.open(sid), args.repeats))}")
    form = app.form
    criteria = form.rubric.criteria
    check = sa.create_engine(probe.url)  # another connection: what is committed, not what one session sees
    key = (sa.select(criterion_scores.c.level)
           .select_from(criterion_scores.join(assignments, assignments.c.id == criterion_scores.c.assignment_id)
                        .join(raters, raters.c.id == assignments.c.rater_id))
           .where(assignments.c.submission_id == sid, raters.c.username == rater))
    saves = []
    for k in range(args.saves):
        c = criteria[k % len(criteria)]
        level = c.scores[k % len(c.scores)]
        form.rows[c.id].levels.value = level
        t0 = time.perf_counter()
        form.save_button.click()
        elapsed = time.perf_counter() - t0
        with check.connect() as conn:
            stored = conn.execute(key.where(criterion_scores.c.criterion_id == c.id)).scalar()
        if stored != level or "Draft saved" not in form.status.value:
            raise SystemExit(f"save {k} not committed: {stored!r} != {level!r}; {form.status.value}")
        saves.append(elapsed)
    check.dispose()
    print(f"  click Save -> row committed                  {fmt(saves)}")

    finals = []
    for row in todo[1:1 + args.finals]:
        app.open(row["submission"])
        for c in app.form.rubric.criteria:
            app.form.rows[c.id].levels.value = c.meets_standard
        app.form.save()
        app.form.final_button.click()
        t0 = time.perf_counter()
        app.form.confirm_button.click()
        finals.append(time.perf_counter() - t0)
        state = next(r["state"] for r in app.queue.rows if r["submission"] == row["submission"])
        if state not in ("final", "decided", "in adjudication"):
            raise SystemExit(f"submission {row['submission']} is {state} after Submit final")
    if finals:
        print(f"  Submit final -> queue shows it               {fmt(finals)}")
    probe.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 100000])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--saves", type=int, default=50)
    p.add_argument("--finals", type=int, default=5)
    args = p.parse_args()
    print(f"python {platform.python_version()}; targets: open the queue < 200 ms at 100,000 submissions; "
          "Save p95 < 100 ms")
    for n in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix="evalkit-bench-")) / "ws"
        try:
            t0 = time.perf_counter()
            built = build(folder, n)
            print(f"\n{built['submissions']} submissions ({built['open']} open), 6 raters, built in "
                  f"{time.perf_counter() - t0:.1f} s; {load()}")
            measure(folder, args)
        finally:
            shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
