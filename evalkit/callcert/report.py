"""The call-certification end-of-day report for operations leadership, in Markdown and HTML.

The layout is in the templates ``callcert_eod.md.j2`` and ``callcert_eod.html.j2`` (:mod:`evalkit.templates`).
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from .. import outputs
from ..delivery import enqueue, validate_address
from ..messages import show
from ..store import Store, cc_actions, cc_agents, cc_calls
from ..templates import environment, markdown_text
from .records import display_name, notes, overview
from .self_report import equipment_tickets, missing_reports, touch_base_notes
from .rules import CALLS_REQUIRED, STEP_LABEL, STEP_STAGE, TARGET_DAYS, CallCertError, call_passed, parse_date

__all__ = ["EodReport", "eod_report", "eod_recipients", "set_eod_recipients", "queue_eod_report"]


def _render(name: str, html: bool, context: dict) -> str:
    # keep_trailing_newline: a saved report ends with a line break, as a text file should.
    options = {} if html else {"finalize": markdown_text}  # HTML is autoescaped; Markdown escaped by finalize
    return environment(html, keep_trailing_newline=True, **options).get_template(name).render(**context)


@dataclass(frozen=True)
class EodReport:
    """The end-of-day report for operations leadership, as data and rendered as Markdown and HTML."""

    day: dt.date
    context: dict = field(repr=False)

    @property
    def markdown(self) -> str:
        return _render("callcert_eod.md.j2", False, self.context)

    @property
    def html(self) -> str:
        return _render("callcert_eod.html.j2", True, self.context)

    def save(self, path) -> Path:
        """Write the report; ``.html``/``.htm`` gives HTML, anything else Markdown."""
        path = Path(path)
        text = self.html if path.suffix.lower() in (".html", ".htm") else self.markdown
        outputs.write_private(path, text)
        return path

    def filename(self, suffix: str) -> str:
        return f"callcert-eod-{self.day}{suffix}"


def eod_report(store: Store, day=None, holidays=None) -> EodReport:
    """The end-of-day report for ``day`` (default today), from the records dated on or before it.

    It lists the agents in call certification that day (started, and not finished or terminated before it),
    calls scored that day, ladder actions due or recorded that day, open equipment issues, time limits exceeded
    and the day's progress notes, after a summary with counts and the coordinator's team view: the agents who have
    not self-reported for the day, each certifier's agents and calls today, the agents waiting for a certifier
    without an equipment issue, the open IT tickets with their age, and the morning touch-base notes.
    """
    day = parse_date(day or dt.date.today(), "report date")
    everyone = overview(store, day, holidays)
    with store.read() as conn:
        day_calls = conn.execute(sa.select(cc_calls, cc_agents.c.first_name, cc_agents.c.last_name)
                                 .join(cc_agents, cc_agents.c.id == cc_calls.c.agent_id)
                                 .where(cc_calls.c.scored_on == day)
                                 .order_by(cc_agents.c.last_name, cc_calls.c.call_no)).mappings().all()
        day_actions = conn.execute(sa.select(cc_actions, cc_agents.c.first_name, cc_agents.c.last_name)
                                   .join(cc_agents, cc_agents.c.id == cc_actions.c.agent_id)
                                   .where(cc_actions.c.on_date == day)).mappings().all()
    # In certification that day: started, and neither finished nor terminated before it.
    current = [s for s in everyone if s.day is not None and s.finished_on in (None, day)
               and dict(s.recorded).get("termination", day) == day]
    finished = [s for s in current if s.finished_on == day]
    active = [s for s in current if s.finished_on is None and s.stage != "terminated"]
    due = [(s, d) for s in active for d in s.due]
    passes = [s.certification.calls_passed for s in finished if s.stage == "passed"]
    by_rate = ", ".join(f"{passes.count(k)} at {k}/{CALLS_REQUIRED}" for k in sorted(set(passes), reverse=True))
    summary = [
        ("Agents in call certification", f"{len(active)} (on target {sum(s.stage == 'in progress' for s in active)}, "
                                         f"past target {sum(s.stage == 'past target' for s in active)}, on the "
                                         f"escalation ladder {sum(s.stage in STEP_STAGE.values() for s in active)})"),
        ("Calls scored today", f"{len(day_calls)} ({sum(call_passed(c['score']) for c in day_calls)} passed)"),
        ("Finished today", f"{sum(s.stage == 'passed' for s in finished)} passed ({by_rate or 'none'}), "
                           f"{sum(s.stage == 'failed' for s in finished)} failed"),
        ("Ladder actions due", f"{len(due)} ({sum(d.overdue for _, d in due)} overdue)"),
        ("Open equipment issues", str(sum(bool(s.equipment_issue) for s in active))),
        *_team_rows(store, day, holidays, active, day_calls),
    ]
    agents_rows = [{
        "name": s.name, "start": s.start_date, "day": s.day, "certifier": s.certifier or "-",
        "calls": f"{s.certification.calls_passed}/{s.certification.calls_scored}",
        "tbt": f"done ({s.tbt_hours:g} h)" if s.tbt_done_on else "not done",
        "stage": s.stage if s.stage not in ("passed", "failed") else
        f"{s.stage} ({s.certification.pass_rate:.0f}%)",
        "due": "; ".join(map(str, s.due)) or "-", "equipment": s.equipment_issue or "-",
        "css": "fail" if s.stage in STEP_STAGE.values() or s.stage == "failed" else "",
    } for s in current]
    actions = [f"{s.name}: {d}" for s, d in due]
    actions += [f"{display_name(a)}: {STEP_LABEL[a['action']]} recorded by {a['by']}: {a['note']}"
                for a in day_actions]
    context = {
        "day": day, "organisation": store.get_setting("organisation", "Call certification team"),
        "target_days": TARGET_DAYS, "summary": summary, "agents": agents_rows,
        "calls": [{"agent": display_name(c), "call_no": c["call_no"], "certifier": c["certifier"],
                   "score": f"{c['score']:.1f}", "result": "Pass" if call_passed(c["score"]) else "Fail"}
                  for c in day_calls],
        "actions": actions,
        "equipment": [f"{s.name}: {s.equipment_issue}" for s in active if s.equipment_issue],
        "flags": [f"{s.name}: {f}" for s in current for f in s.flags],
        "notes": [f"{n['line']} (agent: {n['agent']})" for n in notes(store, on_date=day)],
    }
    return EodReport(day, context)


def _team_rows(store: Store, day: dt.date, holidays, active, day_calls) -> list[tuple[str, str]]:
    """The coordinator's team view as summary rows: agents who have not self-reported, each certifier's agents and
    calls today, and the agents waiting for a certifier without an equipment issue."""
    missing = missing_reports(store, day, holidays)
    by_certifier: dict[str, list[str]] = {}
    for s in active:
        if s.certifier:
            by_certifier.setdefault(s.certifier, []).append(s.name)
    for c in day_calls:
        by_certifier.setdefault(c["certifier"], [])
    team = "; ".join(f"{name}: {sum(c['certifier'] == name for c in day_calls)} call(s) today, connected to "
                     f"{', '.join(agents) or 'nobody'}" for name, agents in sorted(by_certifier.items()))
    waiting = [s.name for s in active if not s.certifier and not s.equipment_issue]
    tickets = "; ".join(f"{t['agent']}: {t['issue']} (IT ticket {t['ticket_ref']}, open {t['age']} business "
                        f"day(s))" for t in equipment_tickets(store, day, holidays))
    touch = "; ".join(f"{n['by']}: {n['note']}" for n in touch_base_notes(store, day))
    return [
        ("Self-reports missing", f"{len(missing)}" + (f" ({'; '.join(m['name'] for m in missing)})" if missing
                                                       else "")),
        ("Certifiers", team or "none connected"),
        ("Waiting for a certifier (no equipment issue)", "; ".join(waiting) or "none"),
        ("IT tickets open", tickets or "none"),
        ("Morning touch base", touch or "not recorded"),
    ]


# --- e-mail ------------------------------------------------------------------------------------------------

_RECIPIENTS_HINT = "set the distribution list with `evalkit callcert eod-recipients ADDRESS ...`"


def _addresses(addresses, what: str) -> list[str]:
    if isinstance(addresses, str) or not isinstance(addresses, (list, tuple)):
        raise CallCertError(f"{what} {show(addresses)} is not a list of e-mail addresses; {_RECIPIENTS_HINT}")
    out: list[str] = []
    for n, address in enumerate(addresses, 1):
        address = validate_address(address, f"{what} item {n}")
        if address.lower() not in (a.lower() for a in out):
            out.append(address)
    return out


def set_eod_recipients(store: Store, addresses, actor: str = "admin") -> list[str]:
    """Store the end-of-day report's distribution list (the workspace setting ``eod_recipients``); an empty list
    removes it. Every address is checked first; a repeated one is kept once. Returns the list as stored."""
    addresses = _addresses(list(addresses) if not isinstance(addresses, str) else addresses, "eod_recipients")
    store.set_setting("eod_recipients", addresses or None, actor)
    return addresses


def eod_recipients(store: Store) -> list[str]:
    """The end-of-day report's distribution list (the workspace setting ``eod_recipients``), checked.

    Raises
    ------
    CallCertError
        The setting is not set, or empty; ``DeliveryError`` for an address in it that is not one.
    """
    value = store.get_setting("eod_recipients")
    if not value:
        raise CallCertError(f"the workspace setting eod_recipients is not set; {_RECIPIENTS_HINT}")
    return _addresses(value, "workspace setting eod_recipients")


def queue_eod_report(store: Store, day=None, actor: str = "admin", folder=None, holidays=None) -> list[dict]:
    """Queue the end-of-day report of ``day`` (default today) to every address of the distribution list: the
    Markdown as the body, the HTML as an attachment (sent by ``evalkit outbox send``).

    The HTML is written once, to a new folder of its own under ``folder`` (default ``outbox-files/`` in the
    workspace folder), so that a later report of the same day does not change the file an earlier message holds.
    One transaction queues every message (or none).

    Returns
    -------
    list of dict
        The outbox rows, one per recipient.

    Raises
    ------
    CallCertError
        No distribution list (``eod_recipients``), or no folder for the attachment (a database URL has no
        workspace folder: pass ``folder``).
    """
    recipients = eod_recipients(store)
    report = eod_report(store, day, holidays)
    if folder is None:
        if store.workspace is None:
            raise CallCertError("the end-of-day report's HTML attachment needs a folder and this database has no "
                                "workspace folder; pass folder=")
        folder = store.workspace / "outbox-files"
    base = outputs.output_folder(folder, "outbox files")
    own = outputs.output_folder(Path(base) / f"eod-{report.day}-{uuid.uuid4().hex[:12]}", "outbox files")
    html = report.save(own / report.filename(".html"))
    subject = f"Call certification: end-of-day report, {report.day:%A} {report.day}"
    body = report.markdown
    with store.transaction(actor) as tx:
        return [enqueue(tx, "eod_report", address, subject, body, [html], ref=f"cc_eod:{report.day}")
                for address in recipients]
