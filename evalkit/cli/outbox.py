"""`evalkit outbox ...`: the e-mail queue: list it, send it by SMTP, queue failed messages again, set the server."""
from __future__ import annotations

import sys

from ..messages import one_line
from .common import CommandError, actor, command, group, record_id, store_from, whole_number


def _cmd_list(args) -> None:
    from ..delivery import counts, messages

    store = store_from(args)
    rows = messages(store, args.status)
    for r in rows:
        error = f"  ({one_line(r['last_error'], 120)})" if r["last_error"] else ""
        print(f"{r['id']:>6}  {r['status']:<7} {r['kind']:<14} {r['attempts']:>2}  {r['recipient'][:40]:<40} "
              f"{one_line(r['subject'], 60)}{error}")
    tally = counts(store)
    print(f"{len(rows)} message(s) listed; in the outbox: " + ", ".join(f"{n} {s}" for s, n in tally.items()))


def _cmd_send(args) -> None:
    from ..delivery import send_pending

    from tqdm import tqdm

    bar = None

    def progress(done: int, total: int, row: dict) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="message", file=sys.stderr, dynamic_ncols=True)
        bar.update(1)
        if row["status"] == "failed":
            bar.write(f"outbox {row['id']} to {row['recipient']}: failed", file=sys.stderr)

    store = store_from(args)
    try:
        summary = send_pending(store, dry_run_dir=args.dry_run, retries=args.retries, progress=progress,
                               actor=actor())
    finally:
        if bar is not None:
            bar.close()
    for row_id, error in summary.errors:
        print(f"outbox {row_id}: {one_line(error, 300)}", file=sys.stderr)
    if summary.resumed:
        print(f"{summary.resumed} message(s) left in 'sending' by an interrupted run were sent again",
              file=sys.stderr)
    print(summary.line() + (f" (dry run: .eml files in {args.dry_run}; nothing marked sent)"
                            if summary.dry_run else f" in {summary.seconds:.1f} s"))
    if summary.stopped:
        raise CommandError(f"stopped: {summary.stopped}; {summary.pending} message(s) still pending: run "
                           "`evalkit outbox send` again when the server is back")
    if summary.failed:
        raise CommandError(f"{summary.failed} message(s) failed; `evalkit outbox list --status failed` shows why")


def _cmd_retry(args) -> None:
    from ..delivery import requeue

    ids = requeue(store_from(args), args.ids, actor())
    print(f"{len(ids)} message(s) queued again; send them with `evalkit outbox send`")


def _cmd_configure(args) -> None:
    from ..delivery import configure_smtp

    value = configure_smtp(store_from(args), args.host, args.port, args.starttls, args.sender, args.user, actor())
    print("SMTP settings stored: " + ", ".join(f"{k}={v}" for k, v in value.items())
          + ("; the password is read from EVALKIT_SMTP_PASSWORD" if args.user else ""))


def register(sub) -> None:
    """Add ``evalkit outbox ...``."""
    osub = group(sub, "outbox", "the e-mail queue: list, send by SMTP, retry, configure the server")
    c = command(osub, "list", _cmd_list, "the queued messages with their status, attempts and last error")

    @c.later
    def _list_arguments(c) -> None:
        from ..delivery import STATUSES

        c.add_argument("--status", choices=STATUSES, help="only messages with this status")

    c = command(osub, "send", _cmd_send,
                "send the pending messages by SMTP (one run at a time; safe to kill and run again). "
                "Exit status 1 if a message failed or the server could not be reached.")
    c.add_argument("--dry-run", metavar="DIR", help="write each message as DIR/<id>.eml instead; mark nothing sent")
    c.add_argument("--retries", type=whole_number(1, 100), default=3, metavar="N",
                   help="attempts per message before a temporary failure makes it failed (default 3)")
    c = command(osub, "retry", _cmd_retry, "queue failed messages again (once their cause is fixed)")
    c.add_argument("ids", type=record_id, nargs="+", metavar="ID")
    c = command(osub, "configure", _cmd_configure,
                "store the SMTP server in the workspace (never the password: EVALKIT_SMTP_PASSWORD); "
                "EVALKIT_SMTP_HOST, _PORT, _STARTTLS, _FROM and _USER override it")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=whole_number(1, 65535), help="default 587 with --starttls, else 25")
    c.add_argument("--starttls", action="store_true", help="upgrade the connection with STARTTLS")
    c.add_argument("--from", dest="sender", metavar="ADDRESS", help="the sender address")
    c.add_argument("--user", help="log in as this user (the password from EVALKIT_SMTP_PASSWORD)")
