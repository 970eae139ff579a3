"""`evalkit results import | candidates show`: knowledge-assessment results and each candidate's standing."""
from __future__ import annotations

from ..certification import STATES, attempts, candidate_status, import_results, programs_of, standings
from .common import actor, command, group, id_ranges, parse_date, store_from


def cmd_results_import(args) -> None:
    ids = import_results(store_from(args), args.csv, actor=actor())
    print(f"imported {len(ids)} result(s): {id_ranges(ids)}")


def cmd_candidate_show(args) -> None:
    store = store_from(args)
    today = parse_date(args.today, "--today")
    shown = [args.program] if args.program else programs_of(store, args.candidate)
    if not shown:
        print(f"candidate {args.candidate}: no results or submissions yet")
        return
    for program_id in shown:
        standing = candidate_status(store, args.candidate, program_id, today)
        print(f"{args.candidate} · {standing.program.name} ({program_id}): {standing.status.state} "
              f"({standing.status.detail})")
        tried = {}
        for a in attempts(store, args.candidate, program_id):
            tried.setdefault(a["component"], []).append(
                f"{a['taken_on']} {a['score']:g}/{a['maximum']:g} = {a['percent']:.1f}%"
                f"{' pass' if a['passed'] else ''}")
        for component, day in standing.passed_on.items():
            done = f"passed {day}" if day else "not yet passed"
            extra = f"  [{'; '.join(tried[component])}]" if component in tried else ""
            print(f"  {component:<14} {done}{extra}")


def cmd_candidate_list(args) -> None:
    rows = standings(store_from(args), parse_date(args.today, "--today"), args.status)
    if not rows:
        print("no candidates" + (f" with status {args.status}" if args.status else ""))
    for s in rows:
        until = f" {s.status.until}" if s.status.until else ""
        print(f"{s.candidate:<18} {s.program.id:<8} {s.status.state:<20}{until:<12} {s.status.detail}")


def register(sub) -> None:
    i = command(group(sub, "results", "knowledge & skills assessment results"), "import", cmd_results_import,
                "import results from CSV (candidate_id, program, component, score, maximum, taken_on[, attempt]): "
                "all rows or none")
    i.add_argument("csv")
    candidates = group(sub, "candidates", "candidates' certification records")
    s = command(candidates, "list", cmd_candidate_list, "every candidate's status per program, most urgent first")
    s.add_argument("--status", choices=STATES, help="only candidates with this status")
    s.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
    s = command(candidates, "show", cmd_candidate_show,
                "a candidate's components, attempts and certification status per program")
    s.add_argument("candidate", help="the candidate's id")
    s.add_argument("--program", help="only this program (default: every program the candidate is in)")
    s.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
