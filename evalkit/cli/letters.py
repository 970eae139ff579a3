"""`evalkit letters`: issue the result letters of decided submissions (the papermill batch)."""
from __future__ import annotations

import sys

from ..letters.batch import run_batch
from .common import CommandError, actor, add_workspace_arg, default_workspace, record_id


def register(sub) -> None:
    p = sub.add_parser("letters", help="produce result letters of decided submissions (papermill batch)",
                       description="Run the result-letter template once per decided submission that has no letter "
                                   "yet, export HTML (and PDF), write a manifest and record the notifications. "
                                   "Exit status 1 if any letter failed or a requested submission was refused.")
    p.add_argument("--program", help="only this program's submissions")
    p.add_argument("--only", type=record_id, nargs="+", metavar="ID", help="only these submission ids")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes, one warm kernel each "
                                                           "(default: CPUs, at most 4)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: letters/ in the workspace folder)")
    p.add_argument("--pdf", action="store_true", help="also export each letter to PDF")
    p.add_argument("--dry-run", action="store_true", help="list what would be done; write nothing")
    p.add_argument("--force", action="store_true",
                   help="re-issue the files of already notified submissions, with their original issue date; "
                        "the notification record is kept as first issued")
    p.add_argument("--issue-date", metavar="YYYY-MM-DD", help="date of the letters and notifications (default today)")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_letters)


def cmd_letters(args) -> None:
    from tqdm import tqdm

    bar = None

    def stage(message: str) -> None:
        print(f"letters: {message}", file=sys.stderr, flush=True)

    def progress(done: int, total: int, row: dict) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="letter", file=sys.stderr, dynamic_ncols=True)
        bar.update(1)
        if row["status"] == "failed":
            bar.write(f"submission {row['submission']}: failed: {row['error']}", file=sys.stderr)

    try:
        result = run_batch(args.workspace or default_workspace(), program=args.program, only=args.only,
                           jobs=args.jobs, out=args.out, pdf=args.pdf, dry_run=args.dry_run, force=args.force,
                           issue_date=args.issue_date, progress=progress, actor=actor(), stage=stage)
    finally:
        if bar is not None:
            bar.close()
    refused = [r for r in result.rows if r["status"] == "refused"]
    if refused and len(refused) == len(result.rows):  # nothing else was asked for: the reasons are the error
        raise CommandError(f"no letter issued, {len(refused)} refused: " + "; ".join(r["error"] for r in refused))
    for row in result.rows:
        if row["status"] in ("refused", "skipped"):
            print(f"submission {row['submission']}: {row['status']}: {row['error']}", file=sys.stderr)
    if args.dry_run:
        for row in result.rows:
            if row["status"] == "planned":
                print(f"would issue #{row['submission']:<5} {row['program']:<8} {row['candidate_id']:<16} "
                      f"due {row['due_on']}{'  LATE' if row['late'] else ''}")
        print(f"{result.count('planned')} letter(s) to issue (dry run: nothing written)")
    else:
        late = sum(1 for r in result.rows if r["status"] == "issued" and r["late"])
        print(f"{result.count('issued')} letter(s) issued ({late} late), {result.count('reissued')} re-issued, "
              f"{result.count('failed')} failed, {result.count('refused')} refused, {result.count('skipped')} "
              f"skipped in {result.seconds:.1f} s; manifest: {result.manifest[0]}")
    if not result.ok:
        raise CommandError(f"{result.count('failed')} letter(s) failed, {result.count('refused')} refused; "
                           "see the messages above and the manifest")
