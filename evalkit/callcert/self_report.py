"""The agent's side of call certification: the end-of-day self-report, the training days before call certs, and the
coordinator's list of agents who have not reported.

Agents must self-report their progress (what they did, the TBT modules done, what blocks them) before logging off
each evening: through the form on their page (signed in through the hub, as a person linked to the agent), or by
e-mail to the Cert Coordinator, who enters it (``via="email"``). Each report is also a progress note in the team's
``Date - Name - Note`` format. Every refusal is one line (:class:`~.rules.CallCertError`) and stores nothing:
reporting for another agent, a report for a future day or twice for one day, an empty report.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from ..calendar import business_days_between, is_business_day, next_business_day
from ..store import (Store, cc_agents, cc_equipment_tickets, cc_notes, cc_self_reports, cc_touch_base, person_links,
                     utcnow)
from .records import _agent_row, display_name, overview
from .rules import CallCertError, format_note, parse_date

__all__ = ["TRAINING", "TrainingDay", "training_days", "submit_self_report", "self_reports", "missing_reports",
           "agent_for_user", "open_equipment_ticket", "close_equipment_ticket", "equipment_tickets", "add_touch_base",
           "touch_base_notes"]

#: The two training days before call certs (the Cert Coordinator's process).
TRAINING = (("Training day 1", "systems and scripting"),
            ("Training day 2 (morning)", "role plays and call shadowing"))

_VIA = ("form", "email")
_LIMIT = 2000


@dataclass(frozen=True)
class TrainingDay:
    on_date: dt.date
    title: str
    what: str

    def __str__(self) -> str:
        return f"{self.on_date} {self.title}: {self.what}"


def _previous_business_day(day: dt.date, holidays=None) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_business_day(day, holidays):
        day -= dt.timedelta(days=1)
    return day


def training_days(start_date, holidays=None) -> tuple[TrainingDay, ...]:
    """The training days on an agent's timeline before call certs start: the two business days before business
    day 1 (day 1 systems and scripting; the morning of day 2 role plays and call shadowing).

    Examples
    --------
    >>> import datetime as dt
    >>> [str(d) for d in training_days(dt.date(2026, 11, 23))]  # a Monday
    ['2026-11-19 Training day 1: systems and scripting', '2026-11-20 Training day 2 (morning): role plays and call shadowing']
    """
    first = next_business_day(parse_date(start_date, "start date"), holidays)
    day2 = _previous_business_day(first, holidays)
    day1 = _previous_business_day(day2, holidays)
    return (TrainingDay(day1, *TRAINING[0]), TrainingDay(day2, *TRAINING[1]))


def agent_for_user(store: Store, username: str | None) -> int | None:
    """The agent the signed-in ``username`` is linked to (``person_links``), or None."""
    if not username:
        return None
    with store.read() as conn:
        return conn.execute(sa.select(person_links.c.agent_id).where(person_links.c.username == username)).scalar()


def _text(value, what: str, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CallCertError(f"{what} is empty; expected a sentence or two")
        return ""
    if not isinstance(value, str):
        raise CallCertError(f"{what} {value!r} is not text")
    if len(value) > _LIMIT:
        raise CallCertError(f"{what} is {len(value):,} characters; expected at most {_LIMIT:,}")
    return value.strip()


def _modules(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [m for m in value.replace(";", ",").split(",")]
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, str) for m in value):
        raise CallCertError(f"TBT modules {value!r}: expected module names separated by commas")
    return [m.strip() for m in value if m.strip()]


def submit_self_report(store: Store, agent_id: int, progress: str, tbt_modules=None, blockers: str | None = None,
                       on_date=None, via: str = "form", reporter: str | None = None, actor: str | None = None,
                       today: dt.date | None = None) -> dict:
    """Store an agent's end-of-day self-report and its progress note (``Date - Name - Note``).

    Parameters
    ----------
    agent_id : int
        The agent reported about.
    progress, blockers : str
        What the agent did today (required); what blocks them (``None`` or empty: nothing).
    tbt_modules : list of str or str, optional
        The TBT modules done today (a comma-separated string is split).
    on_date : date, optional
        The day reported on (default today); not in the future, not before the agent's first training day.
    via : ``"form"`` or ``"email"``
        The agent's own form, or an e-mail the coordinator enters (``actor`` is then who entered it).
    reporter : str, optional
        With ``via="form"``: the signed-in username, which must be linked to ``agent_id`` (an agent reports only
        for themselves). ``None`` where there is no hub (the single-desk workbench).

    Raises
    ------
    CallCertError
        Unknown agent, another agent's report, a future day, a day already reported, an empty report.
    """
    if via not in _VIA:
        raise CallCertError(f"via {via!r} is not one of form, email")
    today = today or dt.date.today()
    on_date = parse_date(on_date or today, "report date")
    if on_date > today:
        raise CallCertError(f"report date {on_date} is in the future; report at the end of the day reported on")
    progress = _text(progress, "progress")
    blockers = _text(blockers, "blockers", required=False)
    modules = _modules(tbt_modules)
    with store.transaction(actor or reporter or "agent") as tx:
        row = _agent_row(tx.conn, agent_id)
        if via == "form" and reporter is not None:
            mine = tx.execute(sa.select(person_links.c.agent_id).where(person_links.c.username == reporter)).scalar()
            if mine is None:
                raise CallCertError(f"{reporter} is not linked to an agent; ask the Cert Coordinator to link you")
            if mine != row["id"]:
                raise CallCertError(f"{reporter} is agent {mine}; an agent reports only their own progress, not "
                                    f"agent {row['id']}'s")
        first = training_days(row["start_date"])[0].on_date
        if on_date < first:
            raise CallCertError(f"report date {on_date} is before agent {row['id']}'s first training day {first}")
        earlier = tx.execute(sa.select(cc_self_reports.c.via).where(
            cc_self_reports.c.agent_id == row["id"], cc_self_reports.c.on_date == on_date)).scalar()
        if earlier is not None:
            raise CallCertError(f"agent {row['id']} already reported for {on_date} (by {earlier}); add a note "
                                "instead")
        name = f"{row['first_name']} {row['last_name']}"
        report = tx.insert(cc_self_reports, {
            "agent_id": row["id"], "on_date": on_date, "progress": progress, "tbt_modules": json.dumps(modules),
            "blockers": blockers, "via": via, "entered_by": actor or reporter or name, "reported_at": utcnow()},
            action="cc_self_report")
        parts = [progress.rstrip(".;"), f"TBT modules: {', '.join(modules) or 'none'}", f"Blockers: {blockers or 'none'}"]
        note = "; ".join(parts) + (" (by e-mail)" if via == "email" else "")
        tx.insert(cc_notes, {"agent_id": row["id"], "on_date": on_date, "name": name, "note": note},
                  action="cc_note")
    return {**report, "tbt_modules": modules, "line": format_note(on_date, name, note)}


def self_reports(store: Store, agent_id: int | None = None, on_date=None) -> list[dict]:
    """Self-reports (of one agent, of one day, or all), newest day first, with ``tbt_modules`` decoded and
    ``agent`` ("Last, First")."""
    query = (sa.select(cc_self_reports, cc_agents.c.first_name, cc_agents.c.last_name)
             .join(cc_agents, cc_agents.c.id == cc_self_reports.c.agent_id)
             .order_by(cc_self_reports.c.on_date.desc(), cc_agents.c.last_name))
    if agent_id is not None:
        query = query.where(cc_self_reports.c.agent_id == agent_id)
    if on_date is not None:
        query = query.where(cc_self_reports.c.on_date == parse_date(on_date, "report date"))
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [{**r, "tbt_modules": json.loads(r["tbt_modules"]), "agent": display_name(r)} for r in rows]


def missing_reports(store: Store, day=None, holidays=None) -> list[dict]:
    """The agents in call certification on ``day`` (default today: started, not finished before it, not
    terminated) who have not self-reported for it: ``{"agent_id", "name", "certifier", "day"}``, by name."""
    day = parse_date(day or dt.date.today(), "date")
    reported = {r["agent_id"] for r in self_reports(store, on_date=day)}
    out = []
    for s in overview(store, day, holidays):
        if s.day is None or s.stage == "terminated" or (s.finished_on is not None and s.finished_on < day):
            continue
        if s.agent_id not in reported:
            out.append({"agent_id": s.agent_id, "name": s.name, "certifier": s.certifier, "day": s.day})
    return sorted(out, key=lambda r: r["name"])


# --- the coordinator's team: equipment tickets with IT, the morning touch base ------------------------------


def _day(value, what: str, today: dt.date | None) -> dt.date:
    day = parse_date(value or today or dt.date.today(), what)
    if day > (today or dt.date.today()):
        raise CallCertError(f"{what} {day} is in the future")
    return day


def open_equipment_ticket(store: Store, agent_id: int, issue: str, ticket_ref: str, opened_on=None,
                          actor: str = "Cert Coordinator", today: dt.date | None = None) -> dict:
    """Note an agent's equipment issue with IT's ticket reference (the agent's open equipment issue, so no
    certifier is connected with them until it is closed). Returns the ticket row."""
    issue, ref = _text(issue, "equipment issue"), _text(ticket_ref, "IT ticket reference")
    if len(ref) > 64:
        raise CallCertError(f"IT ticket reference is {len(ref)} characters; expected at most 64")
    opened_on = _day(opened_on, "ticket date", today)
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        open_ref = tx.execute(sa.select(cc_equipment_tickets.c.ticket_ref).where(
            cc_equipment_tickets.c.agent_id == row["id"], cc_equipment_tickets.c.closed_on.is_(None))).scalar()
        if open_ref is not None:
            raise CallCertError(f"agent {row['id']} already has IT ticket {open_ref} open; close it first")
        tx.update(cc_agents, {"id": row["id"]}, {"equipment_issue": f"{issue} (IT ticket {ref})"},
                  action="cc_equipment_issue")
        return tx.insert(cc_equipment_tickets, {"agent_id": row["id"], "issue": issue, "ticket_ref": ref,
                                                "opened_on": opened_on, "closed_on": None}, action="cc_ticket_open")


def close_equipment_ticket(store: Store, agent_id: int, closed_on=None, actor: str = "Cert Coordinator",
                           today: dt.date | None = None) -> dict:
    """Close the agent's open IT ticket and resolve their equipment issue; returns the ticket row."""
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        ticket = tx.execute(sa.select(cc_equipment_tickets).where(
            cc_equipment_tickets.c.agent_id == row["id"], cc_equipment_tickets.c.closed_on.is_(None))
        ).mappings().first()
        if ticket is None:
            raise CallCertError(f"agent {row['id']} has no open IT ticket")
        closed_on = _day(closed_on, "closing date", today)
        if closed_on < ticket["opened_on"]:
            raise CallCertError(f"closing date {closed_on} is before the ticket was opened ({ticket['opened_on']})")
        tx.update(cc_agents, {"id": row["id"]}, {"equipment_issue": None}, action="cc_equipment_resolved")
        return tx.update(cc_equipment_tickets, {"id": ticket["id"]}, {"closed_on": closed_on},
                         action="cc_ticket_close")


def equipment_tickets(store: Store, day=None, holidays=None) -> list[dict]:
    """The IT tickets open on ``day`` (default today), oldest first, each with ``agent`` and ``age`` (business days
    since it was opened)."""
    day = parse_date(day or dt.date.today(), "date")
    with store.read() as conn:
        rows = conn.execute(sa.select(cc_equipment_tickets, cc_agents.c.first_name, cc_agents.c.last_name)
                            .join(cc_agents, cc_agents.c.id == cc_equipment_tickets.c.agent_id)
                            .where(cc_equipment_tickets.c.opened_on <= day,
                                   sa.or_(cc_equipment_tickets.c.closed_on.is_(None),
                                          cc_equipment_tickets.c.closed_on > day))
                            .order_by(cc_equipment_tickets.c.opened_on)).mappings().all()
    return [{**r, "agent": display_name(r), "age": business_days_between(r["opened_on"], day, holidays)}
            for r in rows]


def add_touch_base(store: Store, note: str, by: str = "Cert Coordinator", on_date=None,
                   today: dt.date | None = None) -> dict:
    """Record the notes of the morning touch base with the certifiers."""
    note, by = _text(note, "touch-base note"), _text(by, "touch-base by")
    on_date = _day(on_date, "touch-base date", today)
    with store.transaction(by) as tx:
        return tx.insert(cc_touch_base, {"on_date": on_date, "by": by, "note": note, "created_at": utcnow()},
                         action="cc_touch_base")


def touch_base_notes(store: Store, day=None) -> list[dict]:
    """The touch-base notes of ``day`` (default today), in the order written."""
    day = parse_date(day or dt.date.today(), "date")
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(cc_touch_base).where(cc_touch_base.c.on_date == day)
                                              .order_by(cc_touch_base.c.id)).mappings()]
