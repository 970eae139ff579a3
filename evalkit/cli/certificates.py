"""`evalkit certificates issue | reissue | suspend | reinstate | withdraw | recertify | list | show` and
`evalkit register publish | verify`: certificates and the public register (ISO/IEC 17024)."""
from __future__ import annotations

from .common import actor, command, group, parse_date, store_from


def _line(c: dict) -> str:
    return (f"{c['number']:<24} {c['candidate']:<14} {c['name'][:30]:<30} {c['program_id']:<8} "
            f"{c['state']:<10} valid until {c['valid_until']}  code {c['code']}")


def cmd_issue(args) -> None:
    from ..certification.certificates import decide_and_issue

    c = decide_and_issue(store_from(args), args.candidate, args.program, args.out,
                               parse_date(args.on, "--on"), actor=actor())
    print(f"certificate {c['number']} issued to {args.candidate} ({args.program}), valid until {c['valid_until']}; "
          f"verification code {c['code']}; {c['file']}")


def cmd_reissue(args) -> None:
    from ..certification.certificates import reissue

    c = reissue(store_from(args), args.number, args.out, args.reason, actor=actor(),
                      on=parse_date(args.on, "--on"))
    print(f"certificate {c['number']} reissued; {c['file']}")


def _status_command(name: str, done: str):
    def run(args) -> None:
        from ..certification import certificates

        change = getattr(certificates, name)
        c = change(store_from(args), args.number, args.reason, actor=actor(), on=parse_date(args.on, "--on"))
        print(f"certificate {c['number']} {done}")
    return run


def cmd_recertify(args) -> None:
    from ..certification.certificates import recertify

    c = recertify(store_from(args), args.number, parse_date(args.on, "--on"), actor=actor(),
                        reason=args.reason, out_dir=args.out)
    written = f"; {c['file']}" if c.get("file") else ""
    print(f"certificate {c['number']} recertified: valid until {c['valid_until']}{written}")


def cmd_list(args) -> None:
    from ..certification.certificates import certificates

    rows = certificates(store_from(args), args.program, args.state, parse_date(args.today, "--today"))
    if not rows:
        print("no certificates" + (f" {args.state}" if args.state else ""))
    for c in rows:
        print(_line(c))


def cmd_show(args) -> None:
    from ..certification.certificates import certificate, history

    store = store_from(args)
    c = certificate(store, args.number, parse_date(args.today, "--today"))
    print(_line(c))
    print(f"  {c['designation']}; certified {c['certified_on']}, issued {c['issued_on']}, decided by {c['decided_by']}")
    for e in history(store, c["number"]):
        why = f": {e['reason']}" if e["reason"] else ""
        until = f" (valid until {e['valid_until']})" if e["event"] in ("issue", "recertify") else ""
        file = f" {e['file']}" if e["file"] else ""
        print(f"  {e['on_date']} {e['event']:<10} by {e['by']}{until}{why}{file}")


def cmd_publish(args) -> None:
    from ..certification.register import publish

    index = publish(store_from(args), args.out, parse_date(args.today, "--today"))
    print(f"register published: {index}")


def cmd_verify(args) -> None:
    from ..certification.certificates import verify

    v = verify(store_from(args), args.code, parse_date(args.today, "--today"))
    if v["state"] == "unknown":
        print(f"unknown: no certificate has the code {v['code']}")
        return
    until = "" if v["state"] == "withdrawn" else f", valid until {v['valid_until']}"
    print(f"{v['state']}: {v['name']}, {v['designation']} ({v['body']}), certificate {v['number']}{until}")


def register(sub) -> None:
    g = group(sub, "certificates", "certificates: issue, reissue, suspend, reinstate, withdraw, recertify")
    p = command(g, "issue", cmd_issue, "decide a candidate's certification and issue the certificate "
                "(you must not have rated or adjudicated their work product)")
    p.add_argument("candidate")
    p.add_argument("program")
    p.add_argument("--out", required=True, help="folder for the certificate's PDF (<number>.pdf)")
    p.add_argument("--on", help="decision and issue date (YYYY-MM-DD; default today)")
    p = command(g, "reissue", cmd_reissue, "a new PDF of a certificate: same number and code")
    p.add_argument("number", help="certificate number or verification code")
    p.add_argument("--out", required=True, help="folder for the certificate's PDF")
    p.add_argument("--reason", required=True, help="why it is reissued (recorded)")
    p.add_argument("--on", help="date (YYYY-MM-DD; default today)")
    for name, done, what in (("suspend", "suspended", "suspend a certificate"),
                             ("reinstate", "reinstated", "lift a certificate's suspension"),
                             ("withdraw", "withdrawn", "withdraw a certificate for good")):
        p = command(g, name, _status_command(name, done), what)
        p.add_argument("number", help="certificate number or verification code")
        p.add_argument("--reason", required=True, help="why (recorded)")
        p.add_argument("--on", help="date (YYYY-MM-DD; default today)")
    p = command(g, "recertify", cmd_recertify, "extend a certificate by the program's years from its present expiry "
                "(only in the recertification window, never once expired)")
    p.add_argument("number", help="certificate number or verification code")
    p.add_argument("--on", help="recertification date (YYYY-MM-DD; default today)")
    p.add_argument("--reason", help="what it rests on (recorded)")
    p.add_argument("--out", help="folder for the certificate's new PDF (default: none written)")
    p = command(g, "list", cmd_list, "every certificate, by number, with its state")
    p.add_argument("--program", help="only this program")

    @p.later
    def _list_arguments(p) -> None:
        from ..certification.certificates import STATES

        p.add_argument("--state", choices=STATES[:-1], help="only certificates in this state")
        p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")

    p = command(g, "show", cmd_show, "a certificate and what happened to it")
    p.add_argument("number", help="certificate number or verification code")
    p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")

    g = group(sub, "register", "the public register of certified persons")
    p = command(g, "publish", cmd_publish, "write the register (static HTML) and a verification page per code")
    p.add_argument("--out", required=True, help="folder of the register (created if missing)")
    p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
    p = command(g, "verify", cmd_verify, "what the register says of a verification code")
    p.add_argument("code")
    p.add_argument("--today", help="as of this date (YYYY-MM-DD; default today)")
