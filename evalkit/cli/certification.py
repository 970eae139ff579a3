"""`evalkit results import | candidates show | list | profile | apply | issue`: the candidate's certification
record (profile, candidacies, knowledge-assessment results) and standing."""
from __future__ import annotations

from .common import CommandError, actor, command, group, id_ranges, parse_date, record_id, store_from, whole_number


def cmd_results_import(args) -> None:
    from ..certification import import_results

    ids = import_results(store_from(args), args.csv, actor=actor())
    print(f"imported {len(ids)} result(s): {id_ranges(ids)}")


def cmd_candidate_show(args) -> None:
    from ..certification import attempts, candidacy, candidate_status, eligibility, programs_of
    from ..evaluation.admission import describe

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
        admitted = candidacy(store, args.candidate, program_id)
        if admitted:
            issued = admitted["assignment_issued_on"]
            clock = (f"; assignment issued {issued}, due {standing.program.completion_due(issued)}" if issued
                     else "")
            print(f"  applied {admitted['applied_on']}: {describe(admitted)}{clock}")
        else:
            checked = eligibility(store, args.candidate, program_id)
            if checked is not None:
                verdict = (f"eligible by route {checked.route}" if checked.eligible
                           else f"not eligible: {'; '.join(checked.reasons)}")
                print(f"  not applied; {verdict}")
        tried = {}
        for a in attempts(store, args.candidate, program_id):
            tried.setdefault(a["component"], []).append(
                f"{a['taken_on']} {a['score']:g}/{a['maximum']:g} = {a['percent']:.1f}%"
                f"{' pass' if a['passed'] else ''}")
        for component, day in standing.passed_on.items():
            done = (f"passed {day}" if day else f"credited (holder of {standing.advancing_from})"
                    if component in standing.credited else "not yet passed")
            extra = f"  [{'; '.join(tried[component])}]" if component in tried else ""
            print(f"  {component:<14} {done}{extra}")


def cmd_candidate_list(args) -> None:
    from ..certification import standings

    rows = standings(store_from(args), parse_date(args.today, "--today"), args.status)
    if not rows:
        print("no candidates" + (f" with status {args.status}" if args.status else ""))
    for s in rows:
        until = f" {s.status.until}" if s.status.until else ""
        print(f"{s.candidate:<18} {s.program.id:<8} {s.status.state:<20}{until:<12} {s.status.detail}")


def cmd_profiles_import(args) -> None:
    from ..certification import import_profiles

    updated = import_profiles(store_from(args), args.file, actor=actor())
    print(f"stored {len(updated)} profile(s): {', '.join(updated)}")


def cmd_apply(args) -> None:
    from ..certification import apply
    from ..evaluation.admission import describe

    store = store_from(args)
    admitted = apply(store, args.candidate, args.program, parse_date(args.on, "--on"), args.override, actor=actor())
    print(f"candidate {args.candidate} admitted to {args.program} on {admitted['applied_on']}: {describe(admitted)}")


def cmd_issue(args) -> None:
    from ..certification import issue_assignment

    issued = issue_assignment(store_from(args), args.candidate, args.program, parse_date(args.on, "--on"),
                              actor=actor())
    print(f"candidate {args.candidate}'s {args.program} work product assignment issued "
          f"{issued['assignment_issued_on']}; due {issued['complete_by']}")


def cmd_self_assessment_link(args) -> None:
    from ..certification.self_assessment import check_link_base, issue_link, link_base, link_url

    store = store_from(args)
    base = check_link_base(args.base_url, "--base-url") if args.base_url is not None else link_base(store)
    if base is None:
        raise CommandError("the candidates' page has no address yet: set it with `evalkit candidates link-base "
                           "URL` (where `evalkit serve --candidates` is reached), or pass --base-url")
    token, expires = issue_link(store, args.candidate, args.program, args.days, actor=actor())
    print(link_url(base, token))
    print(f"single use, expires {expires:%Y-%m-%d %H:%M} UTC; only its hash is stored: send it to the candidate now")


def cmd_link_base(args) -> None:
    from ..certification.self_assessment import link_base, set_link_base

    store = store_from(args)
    base = set_link_base(store, args.url, actor()) if args.url is not None else link_base(store)
    print(f"candidates' links start {base}/?token=" if base else
          "not set: evalkit candidates link-base URL (the address `evalkit serve --candidates` is reached at)")


def cmd_link_person(args) -> None:
    from ..certification import link_person

    link_person(store_from(args), args.username, candidate=args.candidate, agent_id=args.agent, actor=actor())
    print(f"{args.username} is " + (f"candidate {args.candidate}" if args.candidate else f"agent {args.agent}"))


def register(sub) -> None:
    i = command(group(sub, "results", "knowledge & skills assessment results"), "import", cmd_results_import,
                "import results from CSV (candidate_id, program, component, score, maximum, taken_on[, attempt]): "
                "all rows or none")
    i.add_argument("csv")
    candidates = group(sub, "candidates", "candidates' certification records")
    s = command(candidates, "list", cmd_candidate_list, "every candidate's status per program, most urgent first")

    @s.later
    def _list_arguments(s) -> None:
        from ..certification import STATES

        s.add_argument("--status", choices=STATES, help="only candidates with this status")
        s.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")

    s = command(candidates, "show", cmd_candidate_show,
                "a candidate's components, attempts and certification status per program")
    s.add_argument("candidate", help="the candidate's id")
    s.add_argument("--program", help="only this program (default: every program the candidate is in)")
    s.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
    s = command(candidates, "profiles", cmd_profiles_import,
                "store candidates' experience and education from YAML ({id: profile}) or CSV: all or none")
    s.add_argument("file")
    s = command(candidates, "apply", cmd_apply,
                "admit a candidate to a program: eligible by a route, or with --override and its reason")
    s.add_argument("candidate")
    s.add_argument("program")
    s.add_argument("--on", help="application date (YYYY-MM-DD; default today)")
    s.add_argument("--override", metavar="REASON", help="admit although not eligible, for this reason (recorded)")
    s = command(candidates, "issue", cmd_issue,
                "record the day the work product assignment was issued: the completion clock starts")
    s.add_argument("candidate")
    s.add_argument("program")
    s.add_argument("--on", required=True, help="issue date (YYYY-MM-DD)")
    s = command(candidates, "self-assessment-link", cmd_self_assessment_link,
                "issue a single-use link (expiring) to a candidate's self-assessment; printed once")
    s.add_argument("candidate")
    s.add_argument("program", help="a designation with a self-assessment: CCSL, CCOM, CCMA, CCMC")
    s.add_argument("--days", type=whole_number(1, 90), default=14, help="days until it expires (default 14)")
    s.add_argument("--base-url", help="the candidates' page's address for this link (default: the workspace's, set "
                                      "with evalkit candidates link-base)")
    s = command(candidates, "link-base", cmd_link_base,
                "set the address the candidates' page (evalkit serve --candidates) is reached at, or with no URL "
                "show it; self-assessment links start with it")
    s.add_argument("url", nargs="?", metavar="URL", help="such as https://office.example/self-assessment")
    s = command(candidates, "link-person", cmd_link_person,
                "record that a hub user is a candidate (--candidate ID) or an agent (--agent N): their own page")
    s.add_argument("username")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("--candidate")
    who.add_argument("--agent", type=record_id)
