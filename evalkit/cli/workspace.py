"""`evalkit init | rubric | sync | raters | conflicts | submissions | assign | status`: the workspace and the
submissions in it."""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from .common import CommandError, actor, command, group, id_ranges, parse_date, record_id, store_from, whole_number


def _say(prefix: str):
    """Progress lines on stderr, shown at once: long work says what it is doing from its first second."""
    return lambda message: print(f"{prefix}: {message}", file=sys.stderr, flush=True)


def cmd_init(args) -> None:
    from ..demo import build_demo, init_workspace
    if not args.dir.strip():
        raise CommandError("init: the folder name is empty; expected the new workspace's folder")
    target = Path(args.dir)
    if (target / "evalkit.db").exists():
        raise CommandError(f"{target} already holds a workspace; choose another folder")
    if args.demo:
        summary = build_demo(target, seed=args.seed, progress=_say("demo"))
        print(f"demo workspace {target}: " + ", ".join(f"{n} {k}" for k, n in summary.items()))
    else:
        init_workspace(target)
        print(f"workspace {target} ready")


def cmd_rubric_validate(args) -> None:
    from ..instruments.rubric import validate_files

    problems = validate_files(args.paths)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(f"{len(args.paths)} rubric file(s) valid")


def cmd_import(args) -> None:
    from ..evaluation.importer import import_submissions
    store = store_from(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = import_submissions(store, args.csv, actor=actor())
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"imported {len(ids)} submission(s): {id_ranges(ids)}")


def cmd_resubmit(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    sid = workflow.resubmit(store, args.previous, parse_date(args.received, "--received"), args.signoff,
                            args.document, actor=actor())
    print(f"submission {sid} received: the resubmission of {args.previous}")


def cmd_extend(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    granted = workflow.grant_extension(store, args.submission, parse_date(args.until, "--until"), args.reason,
                                       actor=actor())
    print(f"submission {args.submission}: resubmission deadline extended to {granted['until']}")


def cmd_assign(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    ids = args.submission or [r["id"] for r in workflow.due_report(store) if r["state"] == "received"]
    if not ids:
        print("nothing to assign")
    for sid in ids:
        workflow.submission(store, sid)  # a mistyped id is refused before any submission is assigned
    for sid in ids:
        names = workflow.assign_raters(store, sid, usernames=args.rater or None, actor=actor())
        print(f"submission {sid}: {', '.join(names) or 'already fully assigned'}")


def cmd_status(args) -> None:
    from ..certification import certificates
    from ..evaluation import appeals, workflow

    store = store_from(args)
    today = parse_date(args.today, "--today")
    counts = workflow.pipeline_counts(store)
    print("pipeline:")
    print(f"  {'program':<10}" + "".join(f"{s:>14}" for s in workflow.STATES))
    for prog, row in sorted(counts.items()):
        print(f"  {prog:<10}" + "".join(f"{row[s]:>14}" for s in workflow.STATES))
    due = workflow.due_report(store, today)
    late = [r for r in due if r["late"]]
    week = [r for r in due if r["due_this_week"]]
    print(f"overdue ({len(late)}):")
    for r in late:
        print(f"  #{r['id']:<5} {r['program_id']:<8} {r['state']:<13} due {r['due_on']}  {-r['days_left']} "
              "business day(s) late")
    print(f"due this week ({len(week)}):")
    for r in week:
        print(f"  #{r['id']:<5} {r['program_id']:<8} {r['state']:<13} due {r['due_on']}  {r['days_left']} "
              "business day(s) left")
    open_appeals = appeals.open_appeals(store, today)
    print(f"appeals open ({len(open_appeals)}):")
    for r in open_appeals:
        when = f"{-r['days_left']} business day(s) late" if r["late"] else f"{r['days_left']} business day(s) left"
        print(f"  appeal #{r['id']:<4} submission #{r['submission_id']:<5} {r['program_id']:<8} due {r['due_on']}  "
              f"{when}; next: {r['step']}")
    held = certificates.certificates(store, today=today)
    due_soon = [c for c in held if c["state"] == "valid" and (c["valid_until"] - today).days <=
                workflow.program(store, c["program_id"]).recertification_notice_days]
    states = {s: sum(c["state"] == s for c in held) for s in ("valid", "expired", "suspended", "withdrawn")}
    print(f"certificates: {states['valid']} valid ({len(due_soon)} due for recertification), {states['expired']} "
          f"expired, {states['suspended']} suspended, {states['withdrawn']} withdrawn")
    for c in due_soon:
        print(f"  {c['number']:<24} {c['name']:<28} valid until {c['valid_until']}")
    late_letters = workflow.late_notifications(store)
    if late_letters:
        print(f"letters issued late ({len(late_letters)}):")
        for r in late_letters:
            print(f"  #{r['submission_id']:<5} issued {r['issued_on']}, due {r['due_on']}")


def cmd_sync(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", workflow.RubricChangedWarning)
        versions = workflow.sync_programs(store, args.programs, actor=actor())
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    for program, version in sorted(versions.items()):
        print(f"{program}: rubric version {version}")


def cmd_rater_add(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    workflow.add_rater(store, args.username, args.name, args.email, is_adjudicator=args.adjudicator,
                       is_lead=args.lead, actor=actor())
    print(f"rater {args.username} registered")


def cmd_conflict_add(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    outcome = workflow.declare_conflict(store, args.rater, args.candidate, args.reason or "", actor=actor())
    print(f"{args.rater} will not be assigned to candidate {args.candidate}")
    if outcome["released"]:
        print(f"released from submission(s) {', '.join(map(str, outcome['released']))}: "
              "run `evalkit assign` to give them another rater")
    if outcome["final"]:
        print(f"warning: {args.rater} already gave final scores on submission(s) "
              f"{', '.join(map(str, outcome['final']))}; decide with the certification office whether to re-score",
              file=sys.stderr)




def _settle_once(store, today) -> None:
    from ..evaluation import workflow

    for sid, state in workflow.settle_ready(store, today).items():
        print(f"submission {sid}: {'sent to adjudication' if state == 'adjudication' else state}", flush=True)


def cmd_settle(args) -> None:
    from ..evaluation import workflow

    store = store_from(args)
    _settle_once(store, args.today and parse_date(args.today, "--today"))
    if not args.watch:
        return
    print(f"settle: watching {store.safe_url}; stop with Ctrl-C", file=sys.stderr, flush=True)
    if store.is_sqlite:
        while True:
            time.sleep(args.interval)
            _settle_once(store, None)
    # PostgreSQL: a rater's final evaluation notifies the channel; the interval sweep catches any missed while
    # this service was down.
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"LISTEN {workflow.SETTLE_CHANNEL}")
        listener = conn.connection.driver_connection
        while True:
            for _ in listener.notifies(timeout=args.interval, stop_after=1):
                pass
            _settle_once(store, None)


def register(sub) -> None:
    p = command(sub, "init", cmd_init, "create a workspace (with --demo: realistic synthetic data in every state)",
                workspace=False)
    p.add_argument("dir")
    p.add_argument("--demo", action="store_true", help="add demo candidates, raters and submissions")
    p.add_argument("--seed", type=whole_number(0), default=2026, help="random seed of the demo data (default 2026)")

    v = command(group(sub, "rubric", "rubric instruments"), "validate", cmd_rubric_validate,
                "check one or more rubric YAML files; one line per problem", workspace=False)
    v.add_argument("paths", nargs="+", metavar="PATH")

    p = command(sub, "sync", cmd_sync, "register programs.yaml and its rubrics again after editing them")
    p.add_argument("--programs", help="programs file (default: rubrics/programs.yaml)")

    a = command(group(sub, "raters", "raters"), "add", cmd_rater_add, "register a rater (SME)")
    a.add_argument("username", help="their Jupyter/JupyterHub user name")
    a.add_argument("name")
    a.add_argument("--email")
    a.add_argument("--adjudicator", action="store_true", help="may resolve disagreements")
    a.add_argument("--lead", action="store_true", help="lead SME (scores benchmark submissions)")

    a = command(group(sub, "conflicts", "conflicts of interest"), "add", cmd_conflict_add,
                "declare that a rater must never score a candidate")
    a.add_argument("rater")
    a.add_argument("candidate", help="the candidate's id")
    a.add_argument("--reason")

    subs = group(sub, "submissions", "submissions")
    a = command(subs, "import", cmd_import, "import submissions from CSV: all rows or none")
    a.add_argument("csv")
    a = command(subs, "resubmit", cmd_resubmit,
                "receive a corrected work product for a deficient submission, by its deadline or extension")
    a.add_argument("previous", type=record_id, help="the deficient submission's id")
    a.add_argument("--received", help="date received (YYYY-MM-DD; default today)")
    a.add_argument("--signoff", action="store_true", help="the manager signed the corrected work product off")
    a.add_argument("--document", help="the work product's path in the workspace's documents folder")
    a = command(subs, "extend", cmd_extend, "grant a deficient submission a later resubmission deadline")
    a.add_argument("submission", type=record_id)
    a.add_argument("--until", required=True, help="the new deadline (YYYY-MM-DD)")
    a.add_argument("--reason", required=True, help="why (recorded with your name)")

    p = command(sub, "assign", cmd_assign, "assign raters (default: every unassigned submission, balanced workload)")
    p.add_argument("submission", nargs="*", type=record_id, help="submission ids (default: all received)")
    p.add_argument("--rater", action="append", help="assign this rater (repeat for each); default: automatic")

    p = command(sub, "settle", cmd_settle,
                "compare the raters of every submission whose raters are all final (as the database's owner)")
    p.add_argument("--watch", action="store_true",
                   help="keep running: settle as raters submit (the hub runs this as a service)")
    p.add_argument("--interval", type=whole_number(1, 3600), default=30,
                   help="with --watch: seconds between sweeps for anything missed (default 30)")
    p.add_argument("--today", help="decide as of this date (YYYY-MM-DD; default today)")

    p = command(sub, "status", cmd_status, "pipeline counts, overdue and due this week")
    p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
