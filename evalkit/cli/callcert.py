"""`evalkit callcert ...`: call certification of agents from the terminal."""
from __future__ import annotations

from ..messages import show
from .common import CommandError, actor, command, group, parse_date, record_id, store_from, whole_number


def _parse_levels(text: str) -> dict[str, int]:
    levels = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        key, sep, value = part.partition("=")
        value = value.strip()
        if not sep or not (value.isascii() and value.isdigit() and len(value) <= 3):
            raise CommandError(f"--levels item {show(part)} is not ITEM=LEVEL (e.g. OPEN1=4)")
        if key.strip() in levels:
            raise CommandError(f"--levels gives {key.strip()} twice; expected one level per scorecard item")
        levels[key.strip()] = int(value)
    return levels


def _cmd_agents(args) -> None:
    from ..callcert import overview

    rows = overview(store_from(args), parse_date(args.today, "--today"))
    if not rows:
        print("no agents")
        return
    print(f"{'#':>4}  {'agent':<26} {'start':<10} {'day':>3}  {'pass':<5} {'TBTs':<5} {'stage':<20} due / notes")
    for s in rows:
        extra = "; ".join([*map(str, s.due), *([f"equipment: {s.equipment_issue}"] if s.equipment_issue else []),
                           *s.flags])
        day = s.day if s.finished_on is None and s.stage != "terminated" else None
        print(f"{s.agent_id:>4}  {s.name[:26]:<26} {s.start_date} {day or '-':>3}  "
              f"{s.certification.calls_passed}/{s.certification.calls_scored:<3} "
              f"{'done' if s.tbt_done_on else '-':<5} {s.stage:<20} {extra}")


def _cmd_add_agent(args) -> None:
    from ..callcert import add_agent

    aid = add_agent(store_from(args), args.first, args.last, args.start, args.certifier, args.equipment, actor())
    print(f"agent {aid}: {args.last}, {args.first}, starts {args.start}")


def _cmd_score_call(args) -> None:
    from ..callcert import queue_call_scorecard, score_call

    store = store_from(args)
    result = score_call(store, args.agent, args.certifier, _parse_levels(args.levels), args.went_well,
                        args.marked_down or "", args.positive, args.date, args.hours, actor=actor())
    print(f"agent {result.agent_id} call {result.call_no}: {result.score:.1f} "
          f"{'pass' if result.passed else 'fail'}; {result.certification.calls_passed}/"
          f"{result.certification.calls_scored} passed, {result.certification.status}")
    if args.email:
        _print_scorecard_queued(queue_call_scorecard(store, result.agent_id, result.call_no, actor()),
                                result.agent_id, result.call_no)


def _print_scorecard_queued(row, agent_id: int, call_no: int) -> None:
    if row is None:
        print(f"agent {agent_id} has no e-mail address: call {call_no}'s scorecard was not queued "
              f"(`evalkit callcert agent-email {agent_id} ADDRESS`)")
    else:
        print(f"call {call_no}'s scorecard queued for {row['recipient']} (outbox {row['id']}, {row['status']}); "
              "`evalkit outbox send` sends it")


def _cmd_email_call(args) -> None:
    from ..callcert import queue_call_scorecard

    _print_scorecard_queued(queue_call_scorecard(store_from(args), args.agent, args.call, actor()), args.agent,
                            args.call)


def _cmd_agent_email(args) -> None:
    from ..callcert import set_agent_email

    address = set_agent_email(store_from(args), args.agent, args.email, actor())
    print(f"agent {args.agent}: " + (f"scorecards go to {address}" if address else "no e-mail address"))


def _cmd_eod_recipients(args) -> None:
    from ..callcert import eod_recipients, set_eod_recipients

    store = store_from(args)
    if args.clear:
        set_eod_recipients(store, [], actor())
        print("end-of-day report distribution list removed")
        return
    addresses = set_eod_recipients(store, args.addresses, actor()) if args.addresses else eod_recipients(store)
    print("end-of-day report goes to: " + ", ".join(addresses))


def _cmd_tbt(args) -> None:
    from ..callcert import record_tbt

    record_tbt(store_from(args), args.agent, args.hours, args.date, actor())
    print(f"agent {args.agent}: TBTs done ({args.hours:g} h)")


def _cmd_equipment(args) -> None:
    from ..callcert import set_equipment_issue

    set_equipment_issue(store_from(args), args.agent, args.issue, actor())
    print(f"agent {args.agent}: " + (f"equipment issue noted: {args.issue}" if args.issue else "equipment resolved"))


def _cmd_note(args) -> None:
    from ..callcert import add_note

    print(add_note(store_from(args), args.agent, args.name, args.text, args.date, actor()))


def _cmd_action(args) -> None:
    from ..callcert import record_action
    from ..callcert.rules import STEP_LABEL

    record_action(store_from(args), args.agent, args.action, parse_date(args.date, "--date"), args.by, args.note,
                  actor=actor())
    print(f"agent {args.agent}: {STEP_LABEL[args.action]} recorded")


def _cmd_export(args) -> None:
    from ..callcert import export_scorecard

    print(export_scorecard(store_from(args), args.agent, args.out))


def _cmd_eod_report(args) -> None:
    from ..callcert import eod_report, queue_eod_report

    store = store_from(args)
    day = parse_date(args.date, "--date")
    if args.email:
        rows = queue_eod_report(store, day, actor())
        print(f"end-of-day report for {day} queued for {len(rows)} recipient(s) (outbox "
              f"{', '.join(str(r['id']) for r in rows)}); `evalkit outbox send` sends it")
    report = eod_report(store, day)
    if args.out:
        print(report.save(args.out))
    elif not args.email:
        print(report.markdown, end="")


def _cmd_self_report(args) -> None:
    from ..callcert import missing_reports, submit_self_report

    store = store_from(args)
    if args.missing:
        day = parse_date(args.date, "--date")
        rows = missing_reports(store, day)
        print(f"{len(rows)} agent(s) have not self-reported for {day}"
              + "".join(f"\n  #{r['agent_id']} {r['name']} (day {r['day']}, certifier {r['certifier'] or '-'})"
                        for r in rows))
        return
    if args.agent is None or args.progress is None:
        raise CommandError("give the agent and --progress (the e-mailed report), or --missing")
    report = submit_self_report(store, args.agent, args.progress, args.modules, args.blockers,
                                on_date=parse_date(args.date, "--date"), via="email", actor=actor())
    print(report["line"])


def _cmd_ticket(args) -> None:
    from ..callcert import close_equipment_ticket, open_equipment_ticket

    store = store_from(args)
    if args.close:
        row = close_equipment_ticket(store, args.agent, parse_date(args.date, "--date"), actor())
        print(f"agent {args.agent}: IT ticket {row['ticket_ref']} closed {row['closed_on']}; equipment resolved")
        return
    if not args.issue or not args.ref:
        raise CommandError("give --issue and --ref (IT's ticket reference), or --close")
    row = open_equipment_ticket(store, args.agent, args.issue, args.ref, parse_date(args.date, "--date"), actor())
    print(f"agent {args.agent}: IT ticket {row['ticket_ref']} opened {row['opened_on']}: {row['issue']}")


def _cmd_touch_base(args) -> None:
    from ..callcert import add_touch_base

    row = add_touch_base(store_from(args), args.note, args.by or actor(), parse_date(args.date, "--date"))
    print(f"{row['on_date']} - {row['by']} - touch base: {row['note']}")


def register(sub) -> None:
    """Add ``evalkit callcert ...``."""
    csub = group(sub, "callcert", "call certification of agents: scorecards, ladder, end-of-day report")

    c = command(csub, "agents", _cmd_agents, "every agent: stage, calls passed, TBTs, actions due, flags")
    c.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
    c = command(csub, "add-agent", _cmd_add_agent, "register an agent entering call certification")
    c.add_argument("first")
    c.add_argument("last")
    c.add_argument("--start", required=True, help="business day 1 of call certification (YYYY-MM-DD)")
    c.add_argument("--certifier")
    c.add_argument("--equipment", help="an open equipment issue")
    c = command(csub, "score-call", _cmd_score_call, "record the agent's next call scored on the call scorecard")
    c.add_argument("agent", type=record_id)
    c.add_argument("--certifier", required=True)
    c.add_argument("--levels", required=True, help="every scorecard item: OPEN1=4,OPEN2=3,...")
    c.add_argument("--went-well", required=True)
    c.add_argument("--marked-down", help="required when an item is below the standard")
    c.add_argument("--positive", required=True, help="at least one positive remark")
    c.add_argument("--date", help="call date (default today)")
    c.add_argument("--hours", type=float, help="time from the certifier connecting to the end of coaching")
    c.add_argument("--email", action="store_true", help="queue the call's scorecard to the agent's e-mail address")
    c = command(csub, "email-call", _cmd_email_call, "queue a scored call's scorecard to the agent's e-mail address")
    c.add_argument("agent", type=record_id)
    c.add_argument("call", type=whole_number(1, 5), metavar="CALL_NO")
    c = command(csub, "agent-email", _cmd_agent_email,
                "set where the agent's call scorecards are e-mailed ('' removes the address)")
    c.add_argument("agent", type=record_id)
    c.add_argument("email")
    c = command(csub, "tbt", _cmd_tbt, "record that the agent completed the TBTs")
    c.add_argument("agent", type=record_id)
    c.add_argument("--hours", type=float, required=True)
    c.add_argument("--date", help="completion date (default today)")
    c = command(csub, "equipment", _cmd_equipment, "note an equipment issue, or with no text mark it resolved")
    c.add_argument("agent", type=record_id)
    c.add_argument("issue", nargs="?", default=None)
    c = command(csub, "note", _cmd_note, "add a progress note (stored as Date - Name - Note)")
    c.add_argument("agent", type=record_id)
    c.add_argument("--name", required=True, help="who reported it")
    c.add_argument("--text", required=True)
    c.add_argument("--date", help="note date (default today)")
    c = command(csub, "action", _cmd_action, "record a ladder step delivered to the agent")

    @c.later
    def _action_arguments(c) -> None:
        from ..callcert.rules import STEP_LABEL

        c.add_argument("agent", type=record_id)
        c.add_argument("action", choices=list(STEP_LABEL))
        c.add_argument("--by", required=True)
        c.add_argument("--note", required=True)
        c.add_argument("--date", help="date delivered (default today)")

    c = command(csub, "export", _cmd_export, "write the agent's scorecard workbook after the fifth call")
    c.add_argument("agent", type=record_id)
    c.add_argument("--out", help="folder (default <workspace>/scorecards)")
    c = command(csub, "eod-report", _cmd_eod_report,
                "the end-of-day report (Markdown on stdout, or --out FILE .md/.html)")
    c.add_argument("--date", help="report date (default today)")
    c.add_argument("--out", help="write to this file (.html for HTML, else Markdown)")
    c.add_argument("--email", action="store_true",
                   help="queue it to the distribution list (evalkit callcert eod-recipients): Markdown as the body, "
                        "HTML attached")
    c = command(csub, "self-report", _cmd_self_report,
                "enter an agent's end-of-day report sent by e-mail, or --missing: who has not reported")
    c.add_argument("agent", type=record_id, nargs="?")
    c.add_argument("--progress", help="what the agent did that day")
    c.add_argument("--modules", help="TBT modules done, separated by commas")
    c.add_argument("--blockers", help="what blocks the agent")
    c.add_argument("--date", help="the day reported on (default today; not in the future)")
    c.add_argument("--missing", action="store_true", help="list the agents in call certs with no report that day")
    c = command(csub, "ticket", _cmd_ticket,
                "an agent's equipment issue with IT's ticket reference (--issue, --ref), or --close it")
    c.add_argument("agent", type=record_id)
    c.add_argument("--issue")
    c.add_argument("--ref", help="IT's ticket reference")
    c.add_argument("--close", action="store_true", help="the ticket is closed: the equipment issue is resolved")
    c.add_argument("--date", help="opened or closed on (default today)")
    c = command(csub, "touch-base", _cmd_touch_base, "record the notes of the morning touch base with the certifiers")
    c.add_argument("--note", required=True)
    c.add_argument("--by", help="who ran it (default you)")
    c.add_argument("--date", help="default today")
    c = command(csub, "eod-recipients", _cmd_eod_recipients,
                "set the end-of-day report's distribution list, or with no address show it")
    c.add_argument("addresses", nargs="*", metavar="ADDRESS")
    c.add_argument("--clear", action="store_true", help="remove the distribution list")
