"""`evalkit letters | reminders`: issue the result letters of decided submissions (the papermill batch), and the
recertification reminders of certificates about to expire."""
from __future__ import annotations

import sys

from .common import CommandError, actor, add_workspace_arg, default_workspace, parse_date, record_id


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
    r = sub.add_parser("reminders", help="recertification reminders to certified persons about to expire",
                       description="Run the reminder template once per valid certificate expiring within the "
                                   "window that has had no reminder for its present expiry date; record each and "
                                   "queue it by e-mail. Exit status 1 if any failed.")
    r.add_argument("--out", metavar="DIR", help="output folder (default: reminders/ in the workspace folder)")
    r.add_argument("--window", type=int, metavar="DAYS",
                   help="days before expiry (default: each program's recertification_notice_days, 90)")
    r.add_argument("--dry-run", action="store_true", help="list who is due; write nothing")
    r.add_argument("--issue-date", metavar="YYYY-MM-DD", help="date of the letters (default today)")
    add_workspace_arg(r)
    r.set_defaults(func=cmd_reminders)


def cmd_letters(args) -> None:
    from tqdm import tqdm

    from ..letters.batch import run_batch

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


def cmd_reminders(args) -> None:
    from ..letters.reminders import due_for_reminder, run_reminders
    from ..store import open_store

    workspace = args.workspace or default_workspace()
    if args.window is not None and args.window < 0:
        raise CommandError(f"--window {args.window}: expected a number of days >= 0")
    issue_date = parse_date(args.issue_date, "--issue-date")
    if args.dry_run:
        store = open_store(workspace)
        try:
            due = due_for_reminder(store, issue_date, args.window)
        finally:
            store.dispose()
        for c in due:
            print(f"would remind {c['number']:<24} {c['name']:<28} valid until {c['valid_until']}")
        print(f"{len(due)} reminder(s) due (dry run: nothing written)")
        return
    store = open_store(workspace)
    out = args.out or (store.workspace / "reminders" if store.workspace else None)
    store.dispose()
    if out is None:
        raise CommandError("--out is required for a database given by URL")
    rows = run_reminders(workspace, out, issue_date=issue_date, window_days=args.window, actor=actor())
    for row in rows:
        if row["status"] == "failed":
            print(f"certificate {row['certificate']}: failed: {row['error']}", file=sys.stderr)
    issued = [r for r in rows if r["status"] == "issued"]
    print(f"{len(issued)} reminder(s) issued ({sum(1 for r in issued if r['emailed'])} queued by e-mail), "
          f"{len(rows) - len(issued)} failed; files in {out}")
    if len(issued) < len(rows):
        raise CommandError(f"{len(rows) - len(issued)} reminder(s) failed; see the messages above")
