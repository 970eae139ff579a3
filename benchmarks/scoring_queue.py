"""Benchmark: the scoring workbench on a store with 2,000 submissions.

Run with the project's interpreter::

    .venv/bin/python benchmarks/scoring_queue.py [--submissions 2000] [--repeats 5] [--saves 50]

Builds a throw-away workspace (a year of submissions, two raters each among six SMEs, about 6% still open),
then prints:

* opening the queue: building the scoring workbench (``ScoringApp``: who is scoring, ``workflow.queue`` and the
  first page of queue rows) for a rater with a realistic share of the submissions (about a third of them), on a
  freshly opened store each time; and ``workflow.queue`` alone;
* opening a submission's form (document and rubric);
* Save: from a click on "Save draft" (``button.click()``, as the browser's click arrives in the kernel) to the
  row being committed, checked through a separate connection.

Targets on a 2-core machine: the queue under 1 s, Save under 100 ms. Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
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


def build(folder: Path, n: int, seed: int = 7) -> dict:
    """A workspace with ``n`` submissions received over the past year; returns what was built.

    History (decided, notified) is bulk-inserted for speed; the open submissions (received in the last six weeks)
    are assigned and drafted through the workflow, as the demo does.
    """
    rng = random.Random(seed)
    today = dt.date.today()
    store = init_workspace(folder)
    for username in SMES:
        workflow.add_rater(store, username, username.split(".")[1].title(), actor="bench")
    docs = folder / "documents"
    (docs / "plan.md").write_text("# Operational Improvement Plan\n\n" + "A paragraph of analysis. " * 400)
    versions = {p: workflow.rubric_version_of(store, p) for p in ("CCOM", "CCSL", "ICMI-PA")}
    with store.read() as conn:
        rater_ids = dict(conn.execute(sa.select(raters.c.username, raters.c.id)).all())
    now = utcnow()
    cand_rows, sub_rows, asg_rows, open_ids = [], [], [], []
    for i in range(n):
        program = rng.choice(["CCOM"] * 5 + ["CCSL"] * 2 + ["ICMI-PA"] * 3)
        received = add_business_days(today, -int(250 * (n - i) / n) - 1)
        open_ = received > add_business_days(today, -30)
        cand_rows.append({"id": i + 1, "external_id": f"B-{i:05d}", "first_name": "Pat", "last_name": f"Doe{i}"})
        sub_rows.append({"id": i + 1, "candidate_id": i + 1, "program_id": program, "rubric_version": versions[program],
                         "attempt": 1, "received_on": received,
                         "due_on": workflow.program(store, program).notification_due(received),
                         "manager_signoff": True, "document": "documents/plan.md", "is_benchmark": False,
                         "state": "scoring" if open_ else rng.choice(["decided", "notified", "notified"]),
                         "created_at": now})
        pair = rng.sample(SMES, 2)
        for u in pair:
            asg_rows.append({"submission_id": i + 1, "rater_id": rater_ids[u], "role": "rater",
                             "status": "assigned" if open_ else "final", "assigned_at": now,
                             "saved_at": None if open_ else now, "submitted_at": None if open_ else now})
        if open_:
            open_ids.append((i + 1, pair))
    with store.transaction("bench") as tx:
        tx.execute(candidates.insert(), cand_rows)
        tx.execute(submissions.insert(), sub_rows)
        tx.execute(assignments.insert(), asg_rows)
    for sid, pair in open_ids[::3]:  # a third of the open ones already have a draft
        rubric = workflow.rubric_for(store, sub_rows[sid - 1]["rubric_version"])
        half = {c.id: c.meets_standard for c in rubric.criteria[: len(rubric.criteria) // 2]}
        workflow.save_draft(store, sid, pair[0], half)
    store.dispose()
    return {"submissions": n, "open": len(open_ids)}


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
    return f"median {statistics.median(ms):7.1f} ms   best {ms[0]:7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--submissions", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--saves", type=int, default=50)
    args = p.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="evalkit-bench-")) / "ws"
    try:
        t0 = time.perf_counter()
        built = build(folder, args.submissions)
        print(f"workspace: {built['submissions']} submissions ({built['open']} open), 6 raters, built in "
              f"{time.perf_counter() - t0:.1f} s; python {platform.python_version()}")
        rater = "sme.brooks"
        probe = open_store(folder)
        rows = workflow.queue(probe, rater)
        todo = [r for r in rows if r["state"] in ("not started", "draft")]
        print(f"rater {rater}: {len(rows)} submissions in the queue, {len(todo)} to do")

        def open_queue():
            store = open_store(folder)
            ScoringApp(store, rater, autosave_seconds=3600)
            store.dispose()

        print(f"open the queue (new store + ScoringApp)   {fmt(timed(open_queue, args.repeats))}")
        queue_only = timed(lambda: workflow.queue(probe, rater), args.repeats)
        print(f"workflow.queue alone (warm store)         {fmt(queue_only)}")

        app = ScoringApp(probe, rater, autosave_seconds=3600)
        sid = todo[0]["submission"]
        print(f"open a submission's form                  {fmt(timed(lambda: app.open(sid), args.repeats))}")
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
        print(f"click Save -> row committed               {fmt(saves)}")
        print("targets: open the queue < 1000 ms; Save < 100 ms")
        probe.dispose()
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
