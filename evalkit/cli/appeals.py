"""`evalkit appeals lodge | decide | letter | list`: candidates' appeals of decided results (ISO/IEC 17024 9.8)."""
from __future__ import annotations

from .common import actor, command, group, parse_date, record_id, store_from


def cmd_lodge(args) -> None:
    from ..evaluation import appeals

    row = appeals.lodge(store_from(args), args.submission, parse_date(args.received, "--received"), args.grounds,
                        actor=actor())
    print(f"appeal {row['id']} of submission {args.submission} recorded; decide it by {row['due_on']}")


def cmd_decide(args) -> None:
    from ..evaluation import appeals

    row = appeals.decide(store_from(args), args.appeal, args.outcome, args.reason, parse_date(args.on, "--on"),
                         actor=actor())
    again = f"; submission {row['reevaluation_id']} is the fresh evaluation: assign it raters who did not " \
            "evaluate the original (evalkit assign)" if row["reevaluation_id"] else ""
    print(f"appeal {args.appeal} {row['outcome']} by {row['decided_by']}{again}")


def cmd_letter(args) -> None:
    from ..letters.appeals import write_appeal_letter
    done = write_appeal_letter(store_from(args), args.appeal, args.out, parse_date(args.on, "--on"), actor=actor())
    queued = f"; e-mail queued (outbox {done['queued']})" if done["queued"] else "; no e-mail address on record"
    print(f"appeal {args.appeal}: {done['kind']} letter {done['files'][1]['path']}{queued}")


def cmd_list(args) -> None:
    from ..evaluation import appeals

    rows = appeals.open_appeals(store_from(args), parse_date(args.today, "--today")) if not args.all \
        else appeals.appeals_of(store_from(args))
    if not rows:
        print("no open appeals" if not args.all else "no appeals")
    for r in rows:
        state = r["outcome"] or "open"
        due = f"due {r['due_on']}" + (f" ({r['days_left']} business days)" if "days_left" in r else "")
        nxt = f" next: {r['step']}" if "step" in r else ""
        print(f"#{r['id']:<5} submission {r['submission_id']:<6} received {r['received_on']}  {due}  {state}{nxt}")


def register(sub) -> None:
    g = group(sub, "appeals", "appeals of decided results")
    p = command(g, "lodge", cmd_lodge, "record a candidate's appeal of a decided result")
    p.add_argument("submission", type=record_id)
    p.add_argument("--grounds", required=True, help="the candidate's grounds, as received")
    p.add_argument("--received", help="date received (YYYY-MM-DD; default today)")
    p = command(g, "decide", cmd_decide, "decide an appeal (you must have taken no part in the evaluation)")

    @p.later
    def _decide_arguments(p) -> None:
        from ..evaluation import appeals

        p.add_argument("appeal", type=record_id)
        p.add_argument("--outcome", required=True, choices=appeals.OUTCOMES)
        p.add_argument("--reason", required=True, help="the reasons, as the candidate will read them")
        p.add_argument("--on", help="decision date (YYYY-MM-DD; default today)")

    p = command(g, "letter", cmd_letter, "write and record the appeal's next letter (acknowledgement or outcome)")
    p.add_argument("appeal", type=record_id)
    p.add_argument("--out", required=True, help="folder for the letter's HTML and PDF")
    p.add_argument("--on", help="letter date (YYYY-MM-DD; default today)")
    p = command(g, "list", cmd_list, "open appeals, soonest due first (--all: every appeal)")
    p.add_argument("--all", action="store_true")
    p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
