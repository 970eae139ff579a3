"""`evalkit ...`: the admin's command line. Thin: every command calls the same functions as the notebooks.

Every command exits 0 on success and 1 with a one-line ``evalkit: error: ...`` on bad input (2 for usage errors,
as argparse does). Feature modules add their own commands through a ``register_cli(subparsers)`` function listed
in ``_COMMAND_MODULES``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import warnings
from pathlib import Path

from . import workflow
from .calendar import as_date
from .programs import ProgramError
from .rubric import RubricError, validate_files
from .scoring import ScoringError
from .store import StoreError, open_store

# Modules that contribute commands (each has register_cli(subparsers)).
_COMMAND_MODULES: list[str] = ["reports", "callcert", "serve", "letters"]

#: Errors that are the user's to fix: printed as one line, never as a traceback.
USER_ERRORS = (workflow.WorkflowError, StoreError, RubricError, ProgramError, ScoringError, FileNotFoundError,
               ValueError)


class CommandError(Exception):
    """A command that cannot do what was asked; the message is the one line shown."""


def default_workspace() -> str:
    return os.environ.get("EVALKIT_WORKSPACE") or os.environ.get("EVALKIT_DB") or "workspace"


def add_workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", default=None, metavar="DIR|URL",
                        help="workspace folder or database URL (default: $EVALKIT_WORKSPACE or ./workspace)")


def store_from(args):
    return open_store(args.workspace or default_workspace())


def parse_date(value: str | None, what: str) -> dt.date:
    """A YYYY-MM-DD option, or today when not given."""
    return dt.date.today() if value is None else as_date(value, what, CommandError)


def actor() -> str:
    return os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or "admin"


# --- commands ----------------------------------------------------------------------------------------------


def cmd_init(args) -> None:
    from .demo import build_demo, init_workspace
    if not args.dir.strip():
        raise CommandError("init: the folder name is empty; expected the new workspace's folder")
    target = Path(args.dir)
    if (target / "evalkit.db").exists():
        raise CommandError(f"{target} already holds a workspace; choose another folder")
    if args.demo:
        summary = build_demo(target, seed=args.seed)
        print(f"demo workspace {target}: " + ", ".join(f"{n} {k}" for k, n in summary.items()))
    else:
        init_workspace(target)
        print(f"workspace {target} ready")


def cmd_rubric_validate(args) -> None:
    problems = validate_files(args.paths)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(f"{len(args.paths)} rubric file(s) valid")


def cmd_import(args) -> None:
    from .importer import import_submissions
    store = store_from(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = import_submissions(store, args.csv, actor=actor())
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"imported {len(ids)} submission(s): {', '.join(map(str, ids))}")


def cmd_assign(args) -> None:
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
    late_letters = workflow.late_notifications(store)
    if late_letters:
        print(f"letters issued late ({len(late_letters)}):")
        for r in late_letters:
            print(f"  #{r['submission_id']:<5} issued {r['issued_on']}, due {r['due_on']}")


def cmd_sync(args) -> None:
    store = store_from(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", workflow.RubricChangedWarning)
        versions = workflow.sync_programs(store, args.programs, actor=actor())
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    for program, version in sorted(versions.items()):
        print(f"{program}: rubric version {version}")


def cmd_rater_add(args) -> None:
    store = store_from(args)
    workflow.add_rater(store, args.username, args.name, args.email, is_adjudicator=args.adjudicator,
                       is_lead=args.lead, actor=actor())
    print(f"rater {args.username} registered")


def cmd_conflict_add(args) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evalkit", description="Evaluate certification work products and calls.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="create a workspace (with --demo: realistic synthetic data in every state)")
    p.add_argument("dir")
    p.add_argument("--demo", action="store_true", help="add demo candidates, raters and submissions")
    p.add_argument("--seed", type=int, default=2026, help="random seed of the demo data (default 2026)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("rubric", help="rubric instruments")
    rsub = p.add_subparsers(dest="rubric_command", metavar="ACTION", required=True)
    v = rsub.add_parser("validate", help="check one or more rubric YAML files; one line per problem")
    v.add_argument("paths", nargs="+", metavar="PATH")
    v.set_defaults(func=cmd_rubric_validate)

    p = sub.add_parser("sync", help="register programs.yaml and its rubrics again after editing them")
    p.add_argument("--programs", help="programs file (default: rubrics/programs.yaml)")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("raters", help="raters")
    rsub = p.add_subparsers(dest="raters_command", metavar="ACTION", required=True)
    a = rsub.add_parser("add", help="register a rater (SME)")
    a.add_argument("username", help="their Jupyter/JupyterHub user name")
    a.add_argument("name")
    a.add_argument("--email")
    a.add_argument("--adjudicator", action="store_true", help="may resolve disagreements")
    a.add_argument("--lead", action="store_true", help="lead SME (scores benchmark submissions)")
    add_workspace_arg(a)
    a.set_defaults(func=cmd_rater_add)

    p = sub.add_parser("conflicts", help="conflicts of interest")
    csub = p.add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)
    a = csub.add_parser("add", help="declare that a rater must never score a candidate")
    a.add_argument("rater")
    a.add_argument("candidate", help="the candidate's id")
    a.add_argument("--reason")
    add_workspace_arg(a)
    a.set_defaults(func=cmd_conflict_add)

    p = sub.add_parser("submissions", help="submissions")
    ssub = p.add_subparsers(dest="submissions_command", metavar="ACTION", required=True)
    i = ssub.add_parser("import", help="import submissions from CSV: all rows or none")
    i.add_argument("csv")
    add_workspace_arg(i)
    i.set_defaults(func=cmd_import)

    p = sub.add_parser("assign", help="assign raters (default: every unassigned submission, balanced workload)")
    p.add_argument("submission", nargs="*", type=int, help="submission ids (default: all received)")
    p.add_argument("--rater", action="append", help="assign this rater (repeat for each); default: automatic")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("status", help="pipeline counts, overdue and due this week")
    p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
    add_workspace_arg(p)
    p.set_defaults(func=cmd_status)

    for name in _COMMAND_MODULES:
        importlib.import_module(f"evalkit.{name}").register_cli(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CommandError, *USER_ERRORS) as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        if isinstance(exc, RubricError) and len(lines) > 1:  # one line per rubric problem is validate's job
            lines = [f"{lines[0]} (and {len(lines) - 1} more: `evalkit rubric validate FILE` lists them all)"]
        print(f"evalkit: error: {'; '.join(lines)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `evalkit status | head`: the reader stopped reading. Point stdout at /dev/null so the interpreter's
        # final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("evalkit: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
