"""Call certification in the store: agents, scored calls, TBTs, progress notes and ladder steps, and each agent's
standing on a day (:mod:`.rules` applied to the records).

Every write is one transaction: a refused step (:class:`~.rules.CallCertError`, one line) stores nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import sqlalchemy as sa

from ..calendar import business_days_between, next_business_day
from ..delivery import enqueue, validate_address
from ..evaluation import scoring, workflow
from ..instruments.rubric import Rubric
from ..store import Store, StoreConflict, cc_actions, cc_agents, cc_calls, cc_notes, outbox, raters
from .rules import (CALL_PASS_MARK, CALLS_REQUIRED, LADDER, STAGES, STEP_LABEL, TARGET_DAYS, CallCertError,
                    Certification, DueAction, call_passed, certify, format_note, ladder_dates, load_scorecard,
                    overtime_flags, parse_date, scorecard_levels, timeline)

__all__ = ["AgentStatus", "ScoredCall", "add_agent", "assign_certifier", "set_equipment_issue", "record_tbt",
           "score_call", "add_note", "record_action", "agent", "calls", "notes", "certifiers", "certifier_name",
           "agent_status", "overview", "set_agent_email", "queue_call_scorecard"]


# --- writes ------------------------------------------------------------------------------------------------


def _text(value, what: str, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CallCertError(f"{what} is empty; expected text")
        return ""
    if not isinstance(value, str):
        raise CallCertError(f"{what} {value!r} is not text")
    return value.strip()


def _hours(value, what: str, limit: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not 0 < value <= limit:
        raise CallCertError(f"{what} {value!r} is not a number of hours in (0, {limit:g}]")
    return float(value)


def _not_future(day: dt.date, what: str) -> dt.date:
    if day > dt.date.today():
        raise CallCertError(f"{what} {day} is in the future")
    return day


def _agent_row(conn, agent_id) -> dict:
    if isinstance(agent_id, bool) or not isinstance(agent_id, int):
        try:
            agent_id = int(str(agent_id).strip().lstrip("#"))
        except ValueError:
            raise CallCertError(f"agent {agent_id!r} is not an agent number") from None
    row = conn.execute(sa.select(cc_agents).where(cc_agents.c.id == agent_id)).mappings().first()
    if row is None:
        raise CallCertError(f"unknown agent {agent_id}")
    return dict(row)


def add_agent(store: Store, first_name: str, last_name: str, start_date, certifier: str | None = None,
              equipment_issue: str | None = None, actor: str = "admin") -> int:
    """Register an agent entering call certification; ``start_date`` is business day 1. Returns the agent id."""
    values = {"first_name": _text(first_name, "agent first name"), "last_name": _text(last_name, "agent last name"),
              "start_date": parse_date(start_date, "start date"),
              "certifier": _text(certifier, "certifier", False) or None,
              "equipment_issue": _text(equipment_issue, "equipment issue", False) or None}
    if values["certifier"] and values["equipment_issue"]:
        raise CallCertError("an agent with an open equipment issue cannot be connected with a certifier; "
                            "resolve the issue first")
    with store.transaction(actor) as tx:
        return tx.insert(cc_agents, values, action="cc_add_agent")["id"]


def assign_certifier(store: Store, agent_id: int, certifier: str, actor: str = "admin") -> None:
    """Connect a Certifier with an agent; refused while the agent has an open equipment issue."""
    certifier = _text(certifier, "certifier")
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        if row["equipment_issue"]:
            raise CallCertError(f"agent {row['id']} has an open equipment issue ({row['equipment_issue']}); "
                                "resolve it before connecting a certifier")
        tx.update(cc_agents, {"id": row["id"]}, {"certifier": certifier}, action="cc_assign_certifier")


def set_equipment_issue(store: Store, agent_id: int, issue: str | None, actor: str = "admin") -> None:
    """Note an agent's equipment issue (worked on with IT), or mark it resolved with ``issue=None`` or ``""``."""
    issue = _text(issue, "equipment issue", required=False) or None
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        tx.update(cc_agents, {"id": row["id"]}, {"equipment_issue": issue},
                  action="cc_equipment_issue" if issue else "cc_equipment_resolved")


def _finished_on(agent_row: dict, cert: Certification, call_dates: Sequence[dt.date]) -> dt.date | None:
    if cert.status == "failed":
        return max(call_dates)
    if cert.status == "passed" and agent_row["tbt_done_on"] is not None:
        return max([*call_dates, agent_row["tbt_done_on"]])
    return None


def _terminated(conn, agent_id: int) -> dt.date | None:
    return conn.execute(sa.select(cc_actions.c.on_date).where(cc_actions.c.agent_id == agent_id,
                                                               cc_actions.c.action == "termination")).scalar()


def _refresh_completed(tx, agent_row: dict) -> None:
    rows = tx.execute(sa.select(cc_calls.c.score, cc_calls.c.scored_on).where(cc_calls.c.agent_id == agent_row["id"])
                      .order_by(cc_calls.c.call_no)).all()
    cert = certify([r.score for r in rows])
    done = _finished_on(agent_row, cert, [r.scored_on for r in rows])
    tx.update(cc_agents, {"id": agent_row["id"]}, {"completed_on": done}, action="cc_completed")


def record_tbt(store: Store, agent_id: int, hours: float, done_on=None, actor: str = "admin") -> None:
    """Record that the agent completed the TBTs (training), taking ``hours``, on ``done_on`` (default today)."""
    hours = _hours(hours, "TBT hours", 24 * 5)
    done_on = _not_future(parse_date(done_on or dt.date.today(), "TBT completion date"), "TBT completion date")
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        if done_on < row["start_date"]:
            raise CallCertError(f"TBT completion date {done_on} is before agent {row['id']}'s start date "
                                f"{row['start_date']}")
        row = tx.update(cc_agents, {"id": row["id"]}, {"tbt_hours": hours, "tbt_done_on": done_on}, action="cc_tbt")
        _refresh_completed(tx, row)


def _next_call_no(conn, agent_id, scored_on: dt.date) -> tuple[int, int]:
    """The agent's id and the number of calls scored so far, if one more call on ``scored_on`` may be scored."""
    row = _agent_row(conn, agent_id)
    aid = row["id"]
    if scored_on < row["start_date"]:
        raise CallCertError(f"call date {scored_on} is before agent {aid}'s start date {row['start_date']}")
    if _terminated(conn, aid):
        raise CallCertError(f"agent {aid} was terminated; no further calls are scored")
    if row["equipment_issue"]:  # no certifier is connected with such an agent (see assign_certifier)
        raise CallCertError(f"agent {aid} has an open equipment issue ({row['equipment_issue']}); resolve it "
                            "before scoring a call")
    done = conn.execute(sa.select(sa.func.count()).where(cc_calls.c.agent_id == aid)).scalar()
    if done >= CALLS_REQUIRED:
        raise CallCertError(f"agent {aid} already has {done} scored calls; the call certification has exactly "
                            f"{CALLS_REQUIRED}")
    return aid, done


@dataclass(frozen=True)
class ScoredCall:
    agent_id: int
    call_no: int
    score: float
    passed: bool
    certification: Certification  # the agent's result including this call


def score_call(store: Store, agent_id: int, certifier: str, levels: Mapping[str, object], went_well: str,
               marked_down: str, positive: str, scored_on=None, duration_hours: float | None = None,
               rubric: Rubric | None = None, actor: str | None = None) -> ScoredCall:
    """Record the agent's next certification call, scored on the call scorecard.

    Parameters
    ----------
    levels : mapping
        A level (0-4) for every scorecard item.
    went_well, marked_down, positive : str
        The coaching note: what went well, what was marked down (required when an item is below the standard),
        and at least one positive remark (always required, so that feedback is never only negative).
    scored_on : date, optional
        The day of the call (default today); not before the start date, not in the future.
    duration_hours : float, optional
        Time from the Certifier connecting to the end of the call's coaching.
    rubric : Rubric, optional
        The scorecard (default the current ``rubrics/call_scorecard.yaml``); its version is stored with the call.
    certifier : str
        Who scored the call. On PostgreSQL opened as a person (``store.person``) it is always that person
        (:func:`certifier_name`), whatever is passed: the database session says who is signed in.

    Raises
    ------
    CallCertError
        Unknown agent, a sixth call, a terminated agent, incomplete or off-scale levels, a missing part of the
        coaching note, a bad date or duration. Nothing is stored then.
    """
    rubric = rubric or load_scorecard()
    levels = scorecard_levels(rubric, levels)
    certifier = certifier_name(store, store.person) if store.person is not None else _text(certifier, "certifier")
    below = [c.id for c in rubric.criteria if levels[c.id] < c.meets_standard]
    note = {"went_well": _text(went_well, "coaching note: what went well"),
            "marked_down": _text(marked_down, f"coaching note: what was marked down ({', '.join(below)} below the "
                                              "standard)", required=bool(below)),
            "positive": _text(positive, "coaching note: a positive remark (at least one is required)")}
    scored_on = _not_future(parse_date(scored_on or dt.date.today(), "call date"), "call date")
    duration = _hours(duration_hours, "call duration", 24)
    score = scoring.total_percent(rubric, levels)
    with store.read() as conn:
        _next_call_no(conn, agent_id, scored_on)  # refuse before registering the scorecard version
    version = workflow.register_rubric(store, rubric, actor=actor or certifier)
    try:
        with store.transaction(actor or certifier) as tx:
            aid, done = _next_call_no(tx.conn, agent_id, scored_on)
            tx.insert(cc_calls, {"agent_id": aid, "call_no": done + 1, "certifier": certifier,
                                 "scored_on": scored_on, "score": score, "levels": json.dumps(levels),
                                 "rubric_version": version, "duration_hours": duration, **note},
                      action="cc_score_call")
            _refresh_completed(tx, _agent_row(tx.conn, aid))
            scores = tx.execute(sa.select(cc_calls.c.score).where(cc_calls.c.agent_id == aid)
                                .order_by(cc_calls.c.call_no)).scalars().all()
    except StoreConflict:
        # Two certifiers saving this agent's next call at the same moment (PostgreSQL): the second one loses.
        raise CallCertError(f"another call of agent {agent_id} was saved at the same moment; check the agent's "
                            "calls and save again") from None
    return ScoredCall(aid, done + 1, score, call_passed(score), certify(scores))


def add_note(store: Store, agent_id: int, name: str, note: str, on_date=None, actor: str = "admin") -> str:
    """Store a progress note (the agent's self-report, an email, the coordinator's note); returns it as
    ``Date - Name - Note``. ``name`` is who reported it."""
    name, note = _text(name, "note name"), _text(note, "note text")
    on_date = _not_future(parse_date(on_date or dt.date.today(), "note date"), "note date")
    with store.transaction(actor) as tx:
        aid = _agent_row(tx.conn, agent_id)["id"]
        tx.insert(cc_notes, {"agent_id": aid, "on_date": on_date, "name": name, "note": note}, action="cc_note")
    return format_note(on_date, name, note)


def record_action(store: Store, agent_id: int, action: str, on_date, by: str, note: str, holidays=None,
                  actor: str = "admin") -> None:
    """Record a ladder step delivered to an agent (``coaching``, ``written_cap``, ``final_cap``, ``termination``).

    Refused before the step is due, out of order, twice, or for an agent who had finished by ``on_date``.
    Recording ``termination`` means the agent was terminated.
    """
    if action not in STEP_LABEL:
        raise CallCertError(f"action {action!r} is not one of {', '.join(STEP_LABEL)}")
    by, note = _text(by, "delivered by"), _text(note, f"{STEP_LABEL[action]} note")
    on_date = _not_future(parse_date(on_date, f"{STEP_LABEL[action]} date"), f"{STEP_LABEL[action]} date")
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        status = _status(row, *_records(tx.conn, [row["id"]], on_date)[:2], on_date, holidays)
        if status.stage in ("passed", "failed"):
            raise CallCertError(f"agent {row['id']} finished on {status.finished_on}; no ladder action applies")
        recorded = dict(status.recorded)  # steps recorded on or before on_date
        earlier = tx.execute(sa.select(cc_actions.c.on_date).where(cc_actions.c.agent_id == row["id"],
                                                                    cc_actions.c.action == action)).scalar()
        if earlier is not None:
            raise CallCertError(f"{STEP_LABEL[action]} for agent {row['id']} was already recorded on {earlier}")
        due_on = ladder_dates(row["start_date"], holidays)[action]
        order = [a for a, _ in LADDER]
        missing = [STEP_LABEL[a] for a in order[:order.index(action)] if a not in recorded]
        if missing:
            raise CallCertError(f"record the {', '.join(missing)} for agent {row['id']} before the "
                                f"{STEP_LABEL[action]}")
        if on_date < due_on:
            raise CallCertError(f"{STEP_LABEL[action]} for agent {row['id']} is not due until {due_on}")
        tx.insert(cc_actions, {"agent_id": row["id"], "action": action, "on_date": on_date, "by": by, "note": note},
                  action=f"cc_{action}")


# --- reads -------------------------------------------------------------------------------------------------


def display_name(row: Mapping) -> str:
    """An agent's name as lists show it, ``Last, First``, from a row with ``first_name`` and ``last_name``."""
    return f"{row['last_name']}, {row['first_name']}"


def agent(store: Store, agent_id: int) -> dict:
    """An agent's row (``cc_agents``) with ``name`` ("Last, First")."""
    with store.read() as conn:
        row = _agent_row(conn, agent_id)
    return {**row, "name": display_name(row)}


def calls(store: Store, agent_id: int) -> list[dict]:
    """The agent's scored calls in order, with ``levels`` decoded and ``passed``."""
    with store.read() as conn:
        aid = _agent_row(conn, agent_id)["id"]
        rows = conn.execute(sa.select(cc_calls).where(cc_calls.c.agent_id == aid)
                            .order_by(cc_calls.c.call_no)).mappings().all()
    return [{**r, "levels": json.loads(r["levels"]), "passed": call_passed(r["score"])} for r in rows]


def notes(store: Store, agent_id: int | None = None, on_date=None) -> list[dict]:
    """Progress notes (of one agent, of one day, or all), oldest first; ``line`` is ``Date - Name - Note``."""
    query = (sa.select(cc_notes, cc_agents.c.first_name, cc_agents.c.last_name)
             .join(cc_agents, cc_agents.c.id == cc_notes.c.agent_id).order_by(cc_notes.c.on_date, cc_notes.c.id))
    with store.read() as conn:
        if agent_id is not None:
            query = query.where(cc_notes.c.agent_id == _agent_row(conn, agent_id)["id"])
        if on_date is not None:
            query = query.where(cc_notes.c.on_date == parse_date(on_date, "note date"))
        rows = conn.execute(query).mappings().all()
    return [{**r, "agent": display_name(r), "line": format_note(r["on_date"], r["name"], r["note"])} for r in rows]


def certifier_name(store: Store, username: str) -> str:
    """The name a signed-in person is recorded under as the certifier of a call: their name in ``raters`` where
    they are registered there (and the database lets them read it), else their username."""
    with store.read() as conn:
        name = conn.execute(sa.select(raters.c.name).where(raters.c.username == username)).scalar()
    return (name or "").strip() or username


def certifiers(store: Store) -> list[str]:
    """Every certifier named on an agent or a call, sorted."""
    with store.read() as conn:
        names = set(conn.execute(sa.select(cc_agents.c.certifier)).scalars())
        names |= set(conn.execute(sa.select(cc_calls.c.certifier)).scalars())
    return sorted(n for n in names if n)


@dataclass(frozen=True)
class AgentStatus:
    """An agent as the coordinator sees them on one day."""

    agent_id: int
    name: str  # "Last, First"
    first_name: str
    last_name: str
    start_date: dt.date
    certifier: str | None
    equipment_issue: str | None
    tbt_hours: float | None
    tbt_done_on: dt.date | None
    certification: Certification
    day: int | None  # business day of the period (None before the start)
    stage: str  # one of STAGES
    due: tuple[DueAction, ...]  # ladder steps due today or overdue
    finished_on: dt.date | None
    recorded: tuple[tuple[str, dt.date], ...]  # ladder steps recorded: (action, date)
    flags: tuple[str, ...]  # time limits exceeded
    last_note: str | None = None  # "Date - Name - Note"
    call_dates: tuple[dt.date, ...] = field(default=(), repr=False)


def _records(conn, agent_ids: Sequence[int] | None, today: dt.date):
    """Calls and actions dated on or before ``today``, and the latest note, grouped by agent id."""
    def where(table, date_col):
        cond = [table.c[date_col] <= today]
        if agent_ids is not None:
            cond.append(table.c.agent_id.in_(list(agent_ids)))
        return sa.and_(*cond)
    by_agent: tuple[dict, dict, dict] = ({}, {}, {})
    for r in conn.execute(sa.select(cc_calls).where(where(cc_calls, "scored_on")).order_by(cc_calls.c.call_no)):
        by_agent[0].setdefault(r.agent_id, []).append(r)
    for r in conn.execute(sa.select(cc_actions).where(where(cc_actions, "on_date"))):
        by_agent[1].setdefault(r.agent_id, {})[r.action] = r.on_date
    for r in conn.execute(sa.select(cc_notes).where(where(cc_notes, "on_date"))
                          .order_by(cc_notes.c.on_date, cc_notes.c.id)):
        by_agent[2][r.agent_id] = format_note(r.on_date, r.name, r.note)
    return by_agent


def _status(row: dict, calls_by: dict, actions_by: dict, today: dt.date, holidays=None,
            notes_by: dict | None = None) -> AgentStatus:
    aid = row["id"]
    agent_calls = calls_by.get(aid, [])
    recorded = actions_by.get(aid, {})
    cert = certify([c.score for c in agent_calls])
    call_dates = tuple(c.scored_on for c in agent_calls)
    tbt_done = row["tbt_done_on"] if row["tbt_done_on"] and row["tbt_done_on"] <= today else None
    finished = _finished_on({**row, "tbt_done_on": tbt_done}, cert, call_dates)
    line = timeline(row["start_date"], today, recorded, holidays)
    flags = list(overtime_flags([c.duration_hours for c in agent_calls], row["tbt_hours"] if tbt_done else None))
    if finished:
        stage, due = cert.status, ()
        finish_day = business_days_between(next_business_day(row["start_date"], holidays), finished, holidays) + 1
        if finish_day > TARGET_DAYS:
            flags.append(f"finished on business day {finish_day} (target {TARGET_DAYS})")
    else:
        stage, due = line.stage, line.due
    return AgentStatus(
        agent_id=aid, name=display_name(row), first_name=row["first_name"], last_name=row["last_name"],
        start_date=row["start_date"], certifier=row["certifier"], equipment_issue=row["equipment_issue"],
        tbt_hours=row["tbt_hours"] if tbt_done else None, tbt_done_on=tbt_done, certification=cert, day=line.day,
        stage=stage, due=due, finished_on=finished,
        recorded=tuple(sorted(recorded.items(), key=lambda kv: [a for a, _ in LADDER].index(kv[0]))),
        flags=tuple(flags), last_note=(notes_by or {}).get(aid), call_dates=call_dates)


def agent_status(store: Store, agent_id: int, today=None, holidays=None) -> AgentStatus:
    """One agent's stage, calls, ladder steps due and flags as of ``today`` (records dated later are ignored)."""
    today = parse_date(today or dt.date.today(), "date")
    with store.read() as conn:
        row = _agent_row(conn, agent_id)
        calls_by, actions_by, notes_by = _records(conn, [row["id"]], today)
    return _status(row, calls_by, actions_by, today, holidays, notes_by)


def overview(store: Store, today=None, holidays=None) -> list[AgentStatus]:
    """Every agent as of ``today``, most urgent first (by :data:`STAGES`, then start date and name)."""
    today = parse_date(today or dt.date.today(), "date")
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(cc_agents)).mappings()]
        calls_by, actions_by, notes_by = _records(conn, None, today)
    out = [_status(r, calls_by, actions_by, today, holidays, notes_by) for r in rows]
    out.sort(key=lambda s: (STAGES.index(s.stage), s.start_date, s.name, s.agent_id))
    return out


# --- e-mail ------------------------------------------------------------------------------------------------


def set_agent_email(store: Store, agent_id: int, email: str | None, actor: str = "admin") -> str | None:
    """Where the agent's call scorecards are sent (:func:`queue_call_scorecard`); ``None`` or ``""`` removes it.
    Returns the address as stored.

    Raises
    ------
    DeliveryError
        ``email`` is not one plain e-mail address (``"agent 3's e-mail 'x' is not an e-mail address: ..."``).
    CallCertError
        Unknown agent.
    """
    address = None
    if email is not None and not (isinstance(email, str) and not email.strip()):
        address = validate_address(email, f"agent {agent_id}'s e-mail")
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        tx.update(cc_agents, {"id": row["id"]}, {"email": address}, action="cc_agent_email")
    return address


def _scorecard_mail(store: Store, agent_row: dict, call: dict, scores: Sequence[float]) -> tuple[str, str]:
    """The subject and body of a call's scorecard e-mail to the agent."""
    cert = certify(scores)
    passed = call_passed(call["score"])
    subject = (f"Call certification: your call {call['call_no']} of {CALLS_REQUIRED}, score {call['score']:.1f} "
               f"({'pass' if passed else 'below the pass mark'})")
    marked_down = call["marked_down"] or "Nothing: every item met the standard."
    body = "\n".join([
        f"Dear {agent_row['first_name']},",
        "",
        f"Your certification call {call['call_no']} of {CALLS_REQUIRED}, on {call['scored_on']}, was scored by "
        f"{call['certifier']}.",
        "",
        f"Score: {call['score']:.1f} ({'pass' if passed else 'not a pass'}; a call passes at {CALL_PASS_MARK:g})",
        f"Calls passed so far: {cert.calls_passed} of {cert.calls_scored} scored",
        "",
        "What went well:", call["went_well"] or "-",
        "",
        "What was marked down:", marked_down,
        "",
        "A positive remark:", call["positive"] or "-",
        "",
        "-- ",
        str(store.get_setting("organisation", "Call certification team")),
        "",
    ])
    return subject, body


def queue_call_scorecard(store: Store, agent_id: int, call_no: int, actor: str = "admin") -> dict | None:
    """Queue the e-mail of one scored call to the agent: the score, what went well, what was marked down and the
    positive remark (sent by ``evalkit outbox send``).

    Returns
    -------
    dict or None
        The outbox row; the one already queued (pending, sending or sent) for this call if there is one, so
        calling twice sends once; ``None`` when the agent has no e-mail address (nothing is queued; set one with
        :func:`set_agent_email`).

    Raises
    ------
    CallCertError
        Unknown agent, or no such call.
    """
    with store.read() as conn:
        row = _agent_row(conn, agent_id)
        aid = row["id"]
        scored = [dict(r) for r in conn.execute(sa.select(cc_calls).where(cc_calls.c.agent_id == aid)
                                                .order_by(cc_calls.c.call_no)).mappings()]
    call = next((c for c in scored if c["call_no"] == call_no), None)
    if call is None:
        raise CallCertError(f"agent {aid} has no call {call_no} (calls scored: {len(scored)})")
    if not row["email"]:
        return None
    subject, body = _scorecard_mail(store, row, call, [c["score"] for c in scored if c["call_no"] <= call_no])
    ref = f"cc_call:{aid}:{call_no}"
    with store.transaction(actor) as tx:
        queued = tx.execute(sa.select(outbox).where(outbox.c.kind == "call_scorecard", outbox.c.ref == ref,
                                                    outbox.c.status != "failed")).mappings().first()
        if queued is not None:
            return dict(queued)
        return enqueue(tx, "call_scorecard", row["email"], subject, body, ref=ref)
