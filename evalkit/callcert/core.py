"""Call certification of newly trained agents: pass rules, the escalation ladder, scorecards and daily reports.

The process (``call_certification_process.txt``): after training, each agent takes five certification calls
with a Certifier, scored on the call scorecard (``rubrics/call_scorecard.yaml``: levels 0-4, the weighted total
as a percentage is the call score, 0-100). A call passes at 85 or more. After five calls the pass rate is
5/5 = 100 % or 4/5 = 80 % (the agent passes), or 3/5 or fewer = 60 % or less (the agent fails the programme).
The Certifier coaches after each call: what went well, what was marked down, and at least one positive remark.
The five calls go in one scorecard workbook named ``AgentLastName_AgentFirstName_[Pass Rate]``.

Day counting (business days on :mod:`evalkit.calendar`, US federal holidays unless a calendar is given)
--------------------------------------------------------------------------------------------------------
* The agent's start date is **business day 1** of the call-certification period (a start date on a weekend or
  holiday counts from the next business day). Business day *n* is ``add_business_days(start, n - 1)``. On a
  weekend or holiday the agent stays on the previous business day's number: nothing falls due on a closed day.
* Target: the calls and the TBTs (training) are finished by the end of business day 2 (``"in progress"``);
  on day 3 the agent is ``"past target"``.
* "Not completed after 3 days" means the agent was not finished at the end of day 3, so the **documented
  coaching is due on business day 4**; the **written CAP on day 5**, the **final CAP on day 6**, and the agent is
  **eligible for termination on day 7**.
* The ladder is anchored on the start date: each step falls due one business day after the previous step's
  due date, whether or when the previous step was recorded. A step not yet recorded stays due (overdue after
  its day) until it is recorded or the agent finishes. Steps are recorded in order, not before their due date.
* Example, start Monday 2026-11-23: day 1 Mon 23, day 2 Tue 24, day 3 Wed 25 (Thanksgiving Thu 26 is closed),
  coaching Fri 27, written CAP Mon 30, final CAP Tue 1 Dec, termination eligible Wed 2 Dec.
* The agent **finishes** on the later of the day of the fifth scored call and the day the TBTs were completed;
  an agent whose five calls fail the programme finishes on the fifth call's day (no TBTs needed). Once
  finished, nothing on the ladder is due. Recording the termination step means the agent was terminated.
* An open equipment issue is shown beside the agent; it does not stop the clock (the process does not say so).

Time limits: the call certification takes at most 4 hours once a Certifier has connected (the sum of the
recorded call durations: each call's time from the Certifier connecting to the end of its coaching) and the
TBTs at most 8 hours; longer is flagged, as is finishing after business day 2.

Every write is one transaction: a refused step (:class:`CallCertError`, one line) stores nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import os
import random
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import jinja2
import sqlalchemy as sa

from ..calendar import add_business_days, as_date, business_days_between, is_business_day, next_business_day
from ..evaluation import scoring, workflow
from ..instruments.programs import default_programs_path
from ..instruments.rubric import Rubric, load_rubric
from ..store import Store, cc_actions, cc_agents, cc_calls, cc_notes

__all__ = [
    "CALLS_REQUIRED", "CALL_PASS_MARK", "AGENT_PASS_RATE", "CALL_CERT_HOURS", "TBT_HOURS", "TARGET_DAYS",
    "LADDER", "STAGES", "CallCertError", "Certification", "DueAction", "Timeline", "AgentStatus", "ScoredCall",
    "EodReport", "call_passed", "certify", "scorecard_filename", "ladder_dates", "timeline", "overtime_flags",
    "format_note", "marked_down_note", "call_score", "load_scorecard", "scorecard_path", "add_agent",
    "assign_certifier", "set_equipment_issue", "record_tbt", "score_call", "add_note", "record_action", "agent",
    "calls", "notes", "certifiers", "agent_status", "overview", "output_folder", "export_scorecard",
    "eod_report",
    "build_demo_agents",
]

CALLS_REQUIRED = 5
CALL_PASS_MARK = 85.0
AGENT_PASS_RATE = 80.0  # 4 of 5 calls
CALL_CERT_HOURS = 4.0
TBT_HOURS = 8.0
TARGET_DAYS = 2
#: The escalation ladder in order: (action stored in cc_actions, label). The first step is due on business day
#: ``TARGET_DAYS + 2`` (day 4), each next one a business day later.
LADDER = (("coaching", "documented coaching"), ("written_cap", "written CAP"), ("final_cap", "final CAP"),
          ("termination", "eligible for termination"))
_LABEL = dict(LADDER)
_STEP_STAGE = {"coaching": "coaching", "written_cap": "written CAP", "final_cap": "final CAP",
               "termination": "termination eligible"}
#: Every stage an agent can be in, most urgent first (the coordinator's sort order).
STAGES = ("termination eligible", "final CAP", "written CAP", "coaching", "past target", "in progress",
          "not started", "passed", "failed", "terminated")


class CallCertError(ValueError):
    """A call-certification step that cannot be done as asked, with the reason in one line."""


# --- pass rules --------------------------------------------------------------------------------------------


def _score(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise CallCertError(f"{what} {value!r} is not a number; expected a call score from 0 to 100")
    if not 0 <= value <= 100:
        raise CallCertError(f"{what} {value:g} is outside 0-100")
    return float(value)


def call_passed(score: float) -> bool:
    """Whether a call score (0-100) passes: 85 or more.

    Examples
    --------
    >>> call_passed(85), call_passed(84.99)
    (True, False)
    """
    # Round away float noise (84.99999999 from weights that make exactly 85).
    return round(_score(score, "call score"), 6) >= CALL_PASS_MARK


@dataclass(frozen=True)
class Certification:
    """An agent's call-certification result from the scores of the calls taken so far.

    ``pass_rate`` is the percentage of the five calls passed (so far, while in progress); ``status`` is
    ``"in progress"`` with fewer than five calls, else ``"passed"`` (4 or 5 passed) or ``"failed"``.
    """

    scores: tuple[float, ...]
    calls_passed: int
    pass_rate: float
    status: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def calls_scored(self) -> int:
        return len(self.scores)

    @property
    def calls_failed(self) -> int:
        return self.calls_scored - self.calls_passed

    @property
    def can_still_pass(self) -> bool:
        """False once two calls have failed: four passes out of five are no longer possible."""
        return 100.0 * (CALLS_REQUIRED - self.calls_failed) / CALLS_REQUIRED >= AGENT_PASS_RATE


def certify(call_scores: Sequence[float]) -> Certification:
    """The certification result of an agent's call scores (in call order, at most five).

    Parameters
    ----------
    call_scores : sequence of float
        Each call's score, 0-100.

    Raises
    ------
    CallCertError
        A score that is not a number from 0 to 100, or more than five scores.

    Examples
    --------
    >>> r = certify([90, 88, 84.9, 95, 100])
    >>> r.calls_passed, r.pass_rate, r.passed, r.status
    (4, 80.0, True, 'passed')
    >>> certify([90, 70]).status
    'in progress'
    """
    scores = tuple(_score(s, f"call {i} score") for i, s in enumerate(call_scores, start=1))
    if len(scores) > CALLS_REQUIRED:
        raise CallCertError(f"{len(scores)} call scores given; the call certification has exactly "
                            f"{CALLS_REQUIRED} calls")
    passed = sum(call_passed(s) for s in scores)
    rate = 100.0 * passed / CALLS_REQUIRED
    if len(scores) < CALLS_REQUIRED:
        status = "in progress"
    else:
        status = "passed" if rate >= AGENT_PASS_RATE else "failed"
    return Certification(scores, passed, rate, status)


_APOSTROPHES = "'\u2019\u2018`\u00b4"


def _name_part(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CallCertError(f"agent {what} is empty; expected text")
    text = unicodedata.normalize("NFC", value.strip())
    text = "".join(ch for ch in text if ch not in _APOSTROPHES)
    text = "".join(ch if ch.isalnum() else "-" for ch in text)
    text = re.sub(r"-{2,}", "-", text).strip("-")[:40].strip("-")
    if not text:
        raise CallCertError(f"agent {what} {value!r} has no letters or digits to name a file with")
    return text


def scorecard_filename(last: str, first: str, pass_rate: float) -> str:
    """The scorecard's file name (no extension): the team's ``AgentLastName_AgentFirstName_[Pass Rate]``.

    Names are made filesystem-safe but readable: apostrophes are dropped ("O'Brien" -> "OBrien"); any other
    character that is not a letter or digit (spaces, underscores, dots, slashes...) becomes a hyphen, runs of
    hyphens collapse to one and none leads or trails ("De la Cruz" -> "De-la-Cruz", "St. John" -> "St-John");
    accented letters are kept. Underscores therefore only separate the three fields. Each name is cut to 40
    characters. The pass rate is rounded to a whole percent.

    Examples
    --------
    >>> scorecard_filename("Smith", "Jane", 80)
    'Smith_Jane_80%'
    >>> scorecard_filename("O'Brien", "Mary Ann", 100.0)
    'OBrien_Mary-Ann_100%'
    """
    rate = _score(pass_rate, "pass rate")
    return f"{_name_part(last, 'last name')}_{_name_part(first, 'first name')}_{round(rate)}%"


# --- timelines and the ladder ------------------------------------------------------------------------------


def _date(value, what: str) -> dt.date:
    return as_date(value, what, CallCertError)


def _not_future(day: dt.date, what: str) -> dt.date:
    if day > dt.date.today():
        raise CallCertError(f"{what} {day} is in the future")
    return day


def ladder_dates(start, holidays=None) -> dict[str, dt.date]:
    """The due date of each ladder step for an agent who starts on ``start`` (business day 1).

    Examples
    --------
    >>> import datetime as dt
    >>> {k: str(v) for k, v in ladder_dates(dt.date(2026, 11, 23)).items()}   # Thanksgiving on the 26th
    {'coaching': '2026-11-27', 'written_cap': '2026-11-30', 'final_cap': '2026-12-01', 'termination': '2026-12-02'}
    """
    start = _date(start, "start date")
    return {action: add_business_days(start, TARGET_DAYS + 1 + k, holidays) for k, (action, _) in enumerate(LADDER)}


@dataclass(frozen=True)
class DueAction:
    action: str  # one of the LADDER actions
    label: str
    due_on: dt.date
    overdue: bool  # due before today and still not recorded

    def __str__(self) -> str:
        return f"{self.label} ({'overdue since' if self.overdue else 'due'} {self.due_on})"


@dataclass(frozen=True)
class Timeline:
    day: int | None  # business day of the call-certification period; None before the start
    stage: str
    due: tuple[DueAction, ...]  # ladder steps due today or overdue, earliest first


def timeline(start, today, recorded: Mapping[str, dt.date] | None = None, holidays=None) -> Timeline:
    """Where an agent who is not finished stands on ``today``: business day, stage, ladder steps due.

    Parameters
    ----------
    start, today : date
        The agent's start date (business day 1) and the day asked about.
    recorded : mapping of action -> date, optional
        Ladder steps already recorded (those dated after ``today`` are ignored).
    holidays : optional
        None for US federal holidays, a :class:`~evalkit.calendar.HolidayCalendar`, or dates.

    Examples
    --------
    >>> import datetime as dt
    >>> t = timeline(dt.date(2026, 11, 23), dt.date(2026, 11, 30), {"coaching": dt.date(2026, 11, 27)})
    >>> t.day, t.stage, [str(d) for d in t.due]
    (5, 'written CAP', ['written CAP (due 2026-11-30)'])
    """
    start, today = _date(start, "start date"), _date(today, "date")
    recorded = {a: d for a, d in (recorded or {}).items() if d <= today}
    first = next_business_day(start, holidays)
    if today < first:
        return Timeline(None, "not started", ())
    day = business_days_between(first, today, holidays) + 1
    if "termination" in recorded:
        return Timeline(day, "terminated", ())
    dates = ladder_dates(first, holidays)
    reached = [a for a, d in dates.items() if d <= today]
    if reached:
        stage = _STEP_STAGE[reached[-1]]
    else:
        stage = "in progress" if day <= TARGET_DAYS else "past target"
    due = tuple(DueAction(a, _LABEL[a], dates[a], dates[a] < today) for a in reached if a not in recorded)
    return Timeline(day, stage, due)


def overtime_flags(call_hours: Iterable[float | None], tbt_hours: float | None) -> tuple[str, ...]:
    """Time-limit flags: the call certification over 4 hours (sum of the calls' recorded durations), TBTs over 8.

    Examples
    --------
    >>> overtime_flags([1.0, 1.25, 1.0, 1.0], 9)
    ('call certs took 4.25 h (limit 4 h)', 'TBTs took 9 h (limit 8 h)')
    """
    flags = []
    total = sum(h for h in call_hours if h is not None)
    if total > CALL_CERT_HOURS:
        flags.append(f"call certs took {total:g} h (limit {CALL_CERT_HOURS:g} h)")
    if tbt_hours is not None and tbt_hours > TBT_HOURS:
        flags.append(f"TBTs took {tbt_hours:g} h (limit {TBT_HOURS:g} h)")
    return tuple(flags)


def format_note(on_date, name: str, note: str) -> str:
    """A progress note in the tracker's format ``Date - Name - Note`` (ISO date; line breaks become spaces).

    Examples
    --------
    >>> import datetime as dt
    >>> format_note(dt.date(2026, 3, 2), "Jane Smith", "Completed TBT modules 1-4")
    '2026-03-02 - Jane Smith - Completed TBT modules 1-4'
    """
    return f"{_date(on_date, 'note date').isoformat()} - {' '.join(name.split())} - {' '.join(note.split())}"


# --- the call scorecard ------------------------------------------------------------------------------------


def scorecard_path() -> Path:
    return default_programs_path().parent / "call_scorecard.yaml"


def load_scorecard(path=None) -> Rubric:
    """The call scorecard rubric (default ``rubrics/call_scorecard.yaml``); its pass mark must be 85."""
    rubric = load_rubric(path or scorecard_path())
    if rubric.pass_rule.pass_mark != CALL_PASS_MARK:
        raise CallCertError(f"{path or scorecard_path()}: pass_mark {rubric.pass_rule.pass_mark:g} differs from the "
                            f"call-certification pass mark {CALL_PASS_MARK:g}")
    return rubric


def _levels(rubric: Rubric, levels: Mapping[str, object]) -> dict[str, int]:
    try:
        return scoring.validate_levels(rubric, levels, partial=False)
    except scoring.ScoringError as exc:
        raise CallCertError(f"call scorecard: {exc}") from None


def call_score(rubric: Rubric, levels: Mapping[str, object]) -> float:
    """The call score, 0-100: the weighted total of a complete set of scorecard levels as a percentage."""
    return scoring.total_percent(rubric, _levels(rubric, levels))


def marked_down_note(rubric: Rubric, levels: Mapping[str, object], feedback: Mapping[str, str]) -> str:
    """The coaching note's "what was marked down", from the scorecard form's per-item feedback.

    One line per item that has feedback, in scorecard order: ``ITEM (level label): feedback``; items whose
    level is below the standard come first.

    Examples
    --------
    >>> r = load_scorecard()
    >>> marked_down_note(r, {"OPEN1": 4, "RES3": 2}, {"RES3": "Read the disclosure in full.", "OPEN1": ""})
    'RES3 (Needs improvement): Read the disclosure in full.'
    """
    lines = []
    for c in sorted(rubric.criteria, key=lambda c: levels.get(c.id) is None or levels[c.id] >= c.meets_standard):
        text = " ".join((feedback.get(c.id) or "").split())
        if text:
            label = c.level(int(levels[c.id])).label if levels.get(c.id) is not None else "not scored"
            lines.append(f"{c.id} ({label}): {text}")
    return "\n".join(lines)


# --- the store: writes -------------------------------------------------------------------------------------


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
              "start_date": _date(start_date, "start date"), "certifier": _text(certifier, "certifier", False) or None,
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
    done_on = _not_future(_date(done_on or dt.date.today(), "TBT completion date"), "TBT completion date")
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

    Raises
    ------
    CallCertError
        Unknown agent, a sixth call, a terminated agent, incomplete or off-scale levels, a missing part of the
        coaching note, a bad date or duration. Nothing is stored then.
    """
    rubric = rubric or load_scorecard()
    levels = _levels(rubric, levels)
    certifier = _text(certifier, "certifier")
    below = [c.id for c in rubric.criteria if levels[c.id] < c.meets_standard]
    note = {"went_well": _text(went_well, "coaching note: what went well"),
            "marked_down": _text(marked_down, f"coaching note: what was marked down ({', '.join(below)} below the "
                                              "standard)", required=bool(below)),
            "positive": _text(positive, "coaching note: a positive remark (at least one is required)")}
    scored_on = _not_future(_date(scored_on or dt.date.today(), "call date"), "call date")
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
    except sa.exc.IntegrityError:
        # Two certifiers saving this agent's next call at the same moment (PostgreSQL): the second one loses.
        raise CallCertError(f"another call of agent {agent_id} was saved at the same moment; check the agent's "
                            "calls and save again") from None
    return ScoredCall(aid, done + 1, score, call_passed(score), certify(scores))


def add_note(store: Store, agent_id: int, name: str, note: str, on_date=None, actor: str = "admin") -> str:
    """Store a progress note (the agent's self-report, an email, the coordinator's note); returns it as
    ``Date - Name - Note``. ``name`` is who reported it."""
    name, note = _text(name, "note name"), _text(note, "note text")
    on_date = _not_future(_date(on_date or dt.date.today(), "note date"), "note date")
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
    if action not in _LABEL:
        raise CallCertError(f"action {action!r} is not one of {', '.join(_LABEL)}")
    by, note = _text(by, "delivered by"), _text(note, f"{_LABEL[action]} note")
    on_date = _not_future(_date(on_date, f"{_LABEL[action]} date"), f"{_LABEL[action]} date")
    with store.transaction(actor) as tx:
        row = _agent_row(tx.conn, agent_id)
        status = _status(row, *_records(tx.conn, [row["id"]], on_date)[:2], on_date, holidays)
        if status.stage in ("passed", "failed"):
            raise CallCertError(f"agent {row['id']} finished on {status.finished_on}; no ladder action applies")
        recorded = dict(status.recorded)  # steps recorded on or before on_date
        earlier = tx.execute(sa.select(cc_actions.c.on_date).where(cc_actions.c.agent_id == row["id"],
                                                                    cc_actions.c.action == action)).scalar()
        if earlier is not None:
            raise CallCertError(f"{_LABEL[action]} for agent {row['id']} was already recorded on {earlier}")
        due_on = ladder_dates(row["start_date"], holidays)[action]
        order = [a for a, _ in LADDER]
        missing = [_LABEL[a] for a in order[:order.index(action)] if a not in recorded]
        if missing:
            raise CallCertError(f"record the {', '.join(missing)} for agent {row['id']} before the {_LABEL[action]}")
        if on_date < due_on:
            raise CallCertError(f"{_LABEL[action]} for agent {row['id']} is not due until {due_on}")
        tx.insert(cc_actions, {"agent_id": row["id"], "action": action, "on_date": on_date, "by": by, "note": note},
                  action=f"cc_{action}")


# --- the store: reads --------------------------------------------------------------------------------------


def _display(row: Mapping) -> str:
    return f"{row['last_name']}, {row['first_name']}"


def agent(store: Store, agent_id: int) -> dict:
    """An agent's row (``cc_agents``) with ``name`` ("Last, First")."""
    with store.read() as conn:
        row = _agent_row(conn, agent_id)
    return {**row, "name": _display(row)}


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
            query = query.where(cc_notes.c.on_date == _date(on_date, "note date"))
        rows = conn.execute(query).mappings().all()
    return [{**r, "agent": _display(r), "line": format_note(r["on_date"], r["name"], r["note"])} for r in rows]


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
        agent_id=aid, name=_display(row), first_name=row["first_name"], last_name=row["last_name"],
        start_date=row["start_date"], certifier=row["certifier"], equipment_issue=row["equipment_issue"],
        tbt_hours=row["tbt_hours"] if tbt_done else None, tbt_done_on=tbt_done, certification=cert, day=line.day,
        stage=stage, due=due, finished_on=finished,
        recorded=tuple(sorted(recorded.items(), key=lambda kv: [a for a, _ in LADDER].index(kv[0]))),
        flags=tuple(flags), last_note=(notes_by or {}).get(aid), call_dates=call_dates)


def agent_status(store: Store, agent_id: int, today=None, holidays=None) -> AgentStatus:
    """One agent's stage, calls, ladder steps due and flags as of ``today`` (records dated later are ignored)."""
    today = _date(today or dt.date.today(), "date")
    with store.read() as conn:
        row = _agent_row(conn, agent_id)
        calls_by, actions_by, notes_by = _records(conn, [row["id"]], today)
    return _status(row, calls_by, actions_by, today, holidays, notes_by)


def overview(store: Store, today=None, holidays=None) -> list[AgentStatus]:
    """Every agent as of ``today``, most urgent first (by :data:`STAGES`, then start date and name)."""
    today = _date(today or dt.date.today(), "date")
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(cc_agents)).mappings()]
        calls_by, actions_by, notes_by = _records(conn, None, today)
    out = [_status(r, calls_by, actions_by, today, holidays, notes_by) for r in rows]
    out.sort(key=lambda s: (STAGES.index(s.stage), s.start_date, s.name, s.agent_id))
    return out


# --- the scorecard workbook --------------------------------------------------------------------------------


def _write_private(path: Path, write) -> Path:
    """Write through a temporary file in the same folder, then rename: a reader never sees half a file."""
    if path.is_dir():
        raise CallCertError(f"{path} is a folder; expected a file name")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except (FileExistsError, NotADirectoryError):
        raise CallCertError(f"cannot write {path}: {path.parent} is not a folder") from None
    except OSError as exc:
        raise CallCertError(f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def output_folder(store: Store, name: str, folder=None) -> Path:
    """``folder`` if given, else ``<workspace>/<name>`` (a database URL has no workspace folder: give one)."""
    if folder is not None:
        return Path(folder)
    if store.workspace is None:
        raise CallCertError(f"this store has no workspace folder; give a folder for the {name}")
    return store.workspace / name


def export_scorecard(store: Store, agent_id: int, folder=None) -> Path:
    """Write the agent's scorecard workbook (.xlsx) after the fifth call and return its path.

    One workbook holds all five calls: a ``Summary`` sheet (agent, calls passed, pass rate, result, one row per
    call) and one sheet per call (``Call 1`` ... ``Call 5``: every scorecard item with its level and descriptor,
    the score and the coaching note). It is named by :func:`scorecard_filename` and written to ``folder``
    (default ``<workspace>/scorecards``), readable by its owner only; an earlier export is replaced.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    info = agent(store, agent_id)
    done = calls(store, info["id"])
    if len(done) < CALLS_REQUIRED:
        raise CallCertError(f"agent {info['id']} has {len(done)} of {CALLS_REQUIRED} calls scored; the scorecard is "
                            "exported after the fifth call")
    cert = certify([c["score"] for c in done])
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    fills = {True: PatternFill("solid", fgColor="C6EFCE"), False: PatternFill("solid", fgColor="FFC7CE")}

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["Call Certification Scorecard"])
    ws["A1"].font = Font(bold=True, size=14)
    for key, value in [("Agent", info["name"]), ("Start date", info["start_date"]),
                       ("Certifier(s)", ", ".join(dict.fromkeys(c["certifier"] for c in done))),
                       ("Calls passed", f"{cert.calls_passed} of {CALLS_REQUIRED}"),
                       ("Pass rate", cert.pass_rate / 100), ("Result", cert.status.capitalize()),
                       ("Call pass mark", CALL_PASS_MARK)]:
        ws.append([key, value])
        ws.cell(ws.max_row, 1).font = bold
    ws["B6"].number_format = "0%"
    ws["B3"].number_format = "yyyy-mm-dd"
    ws.cell(7, 2).fill = fills[cert.passed]
    ws.append([])
    ws.append(["Call", "Date", "Certifier", "Score", "Result", "Duration (h)", "Scorecard version"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for c in done:
        ws.append([c["call_no"], c["scored_on"], c["certifier"], round(c["score"], 1),
                   "Pass" if c["passed"] else "Fail", c["duration_hours"], c["rubric_version"]])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
        ws.cell(ws.max_row, 5).fill = fills[c["passed"]]
    for col, width in zip("ABCDEFG", (18, 14, 22, 10, 10, 13, 20)):
        ws.column_dimensions[col].width = width

    for c in done:
        rubric = workflow.rubric_for(store, c["rubric_version"])
        sheet = wb.create_sheet(f"Call {c['call_no']}")
        for key, value in [("Agent", info["name"]), ("Call", c["call_no"]), ("Date", c["scored_on"]),
                           ("Certifier", c["certifier"]), ("Score", round(c["score"], 1)),
                           ("Result", "Pass" if c["passed"] else "Fail")]:
            sheet.append([key, value])
            sheet.cell(sheet.max_row, 1).font = bold
        sheet["B3"].number_format = "yyyy-mm-dd"
        sheet["B6"].fill = fills[c["passed"]]
        sheet.append([])
        sheet.append(["Domain", "Item", "Assesses", "Weight", "Level", "Label", "Descriptor", "Meets standard"])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for crit in rubric.criteria:
            level = crit.level(c["levels"][crit.id])
            sheet.append([crit.domain, crit.id, crit.assesses, crit.weight, level.score, level.label, level.descriptor,
                          "Yes" if crit.meets(level.score) else "No"])
            for cell in sheet[sheet.max_row]:
                cell.alignment = wrap
        sheet.append([])
        for key, text in [("What went well", c["went_well"]), ("What was marked down", c["marked_down"]),
                          ("Positive remark", c["positive"])]:
            sheet.append([key, text])
            sheet.cell(sheet.max_row, 1).font = bold
            sheet.cell(sheet.max_row, 2).alignment = wrap
        for col, width in zip("ABCDEFGH", (20, 40, 50, 8, 7, 18, 60, 15)):
            sheet.column_dimensions[col].width = width

    path = output_folder(store, "scorecards", folder) / \
        f"{scorecard_filename(info['last_name'], info['first_name'], cert.pass_rate)}.xlsx"
    return _write_private(path, lambda p: wb.save(p))


# --- the end-of-day report ---------------------------------------------------------------------------------

_MD_TEMPLATE = """\
# Call Certification: end-of-day report, {{ day.strftime('%A') }} {{ day }}

{{ organisation }}. Business days count from each agent's start date (day 1); the target is 5 calls and TBTs \
by the end of day {{ target_days }}.

## Summary
{% for label, value in summary %}
- {{ label }}: {{ value }}
{%- endfor %}

## Agents
{% if agents %}
| Agent | Start | Day | Certifier | Calls passed | TBTs | Stage | Due | Equipment |
|---|---|---|---|---|---|---|---|---|
{% for a in agents -%}
| {{ a.name|md }} | {{ a.start }} | {{ a.day }} | {{ a.certifier|md }} | {{ a.calls }} | {{ a.tbt|md }} | {{ a.stage }} \
| {{ a.due|md }} | {{ a.equipment|md }} |
{% endfor %}{% else %}
No agents in call certification.
{% endif %}
## Calls scored today
{% if calls %}
| Agent | Call | Certifier | Score | Result |
|---|---|---|---|---|
{% for c in calls -%}
| {{ c.agent|md }} | {{ c.call_no }} | {{ c.certifier|md }} | {{ c.score }} | {{ c.result }} |
{% endfor %}{% else %}
None.
{% endif %}
## Ladder actions
{% if actions %}{% for a in actions %}
- {{ a|line }}
{%- endfor %}{% else %}
None due or recorded today.
{%- endif %}

## Equipment issues
{% if equipment %}{% for e in equipment %}
- {{ e|line }}
{%- endfor %}{% else %}
None open.
{%- endif %}

## Time limits exceeded
{% if flags %}{% for f in flags %}
- {{ f|line }}
{%- endfor %}{% else %}
None.
{%- endif %}

## Progress notes
{% if notes %}{% for n in notes %}
- {{ n|line }}
{%- endfor %}{% else %}
No progress notes today.
{%- endif %}
"""

_HTML_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Call Certification end-of-day report {{ day }}</title>
<style>
body { font-family: Arial, Helvetica, sans-serif; font-size: 14px; color: #222; margin: 1.5em; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 1.4em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; } th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; }
th { background: #eef2f7; } td.fail, span.fail { color: #a40000; font-weight: bold; } td.pass { color: #216e1f; }
</style></head><body>
<h1>Call Certification: end-of-day report, {{ day.strftime('%A') }} {{ day }}</h1>
<p>{{ organisation }}. Business days count from each agent's start date (day 1); the target is 5 calls and TBTs
by the end of day {{ target_days }}.</p>
<h2>Summary</h2>
<ul>{% for label, value in summary %}<li>{{ label }}: <b>{{ value }}</b></li>{% endfor %}</ul>
<h2>Agents</h2>
{% if agents %}<table><tr><th>Agent</th><th>Start</th><th>Day</th><th>Certifier</th><th>Calls passed</th>
<th>TBTs</th><th>Stage</th><th>Due</th><th>Equipment</th></tr>
{% for a in agents %}<tr><td>{{ a.name }}</td><td>{{ a.start }}</td><td>{{ a.day }}</td><td>{{ a.certifier }}</td>
<td>{{ a.calls }}</td><td>{{ a.tbt }}</td><td class="{{ a.css }}">{{ a.stage }}</td><td>{{ a.due }}</td>
<td>{{ a.equipment }}</td></tr>
{% endfor %}</table>{% else %}<p>No agents in call certification.</p>{% endif %}
<h2>Calls scored today</h2>
{% if calls %}<table><tr><th>Agent</th><th>Call</th><th>Certifier</th><th>Score</th><th>Result</th></tr>
{% for c in calls %}<tr><td>{{ c.agent }}</td><td>{{ c.call_no }}</td><td>{{ c.certifier }}</td><td>{{ c.score }}</td>
<td class="{{ c.result|lower }}">{{ c.result }}</td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
<h2>Ladder actions</h2>
{% if actions %}<ul>{% for a in actions %}<li>{{ a }}</li>{% endfor %}</ul>
{% else %}<p>None due or recorded today.</p>{% endif %}
<h2>Equipment issues</h2>
{% if equipment %}<ul>{% for e in equipment %}<li>{{ e }}</li>{% endfor %}</ul>{% else %}<p>None open.</p>{% endif %}
<h2>Time limits exceeded</h2>
{% if flags %}<ul>{% for f in flags %}<li>{{ f }}</li>{% endfor %}</ul>{% else %}<p>None.</p>{% endif %}
<h2>Progress notes</h2>
{% if notes %}<ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>
{% else %}<p>No progress notes today.</p>{% endif %}
</body></html>
"""


def _md_cell(value) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md"] = _md_cell
    env.filters["line"] = lambda value: " ".join(str(value).split())
    return env


@dataclass(frozen=True)
class EodReport:
    """The end-of-day report for operations leadership, as data and rendered as Markdown and HTML."""

    day: dt.date
    context: dict = field(repr=False)

    @property
    def markdown(self) -> str:
        return _environment(False).from_string(_MD_TEMPLATE).render(**self.context)

    @property
    def html(self) -> str:
        return _environment(True).from_string(_HTML_TEMPLATE).render(**self.context)

    def save(self, path) -> Path:
        """Write the report; ``.html``/``.htm`` gives HTML, anything else Markdown."""
        path = Path(path)
        text = self.html if path.suffix.lower() in (".html", ".htm") else self.markdown
        return _write_private(path, lambda p: p.write_text(text, encoding="utf-8"))

    def filename(self, suffix: str) -> str:
        return f"callcert-eod-{self.day}{suffix}"


def eod_report(store: Store, day=None, holidays=None) -> EodReport:
    """The end-of-day report for ``day`` (default today), from the records dated on or before it.

    It lists the agents in call certification that day (started, and not finished or terminated before it),
    calls scored that day, ladder actions due or recorded that day, open equipment issues, time limits exceeded
    and the day's progress notes, after a summary with counts.
    """
    day = _date(day or dt.date.today(), "report date")
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
                                         f"escalation ladder {sum(s.stage in _STEP_STAGE.values() for s in active)})"),
        ("Calls scored today", f"{len(day_calls)} ({sum(call_passed(c['score']) for c in day_calls)} passed)"),
        ("Finished today", f"{sum(s.stage == 'passed' for s in finished)} passed ({by_rate or 'none'}), "
                           f"{sum(s.stage == 'failed' for s in finished)} failed"),
        ("Ladder actions due", f"{len(due)} ({sum(d.overdue for _, d in due)} overdue)"),
        ("Open equipment issues", str(sum(bool(s.equipment_issue) for s in active))),
    ]
    agents_rows = [{
        "name": s.name, "start": s.start_date, "day": s.day, "certifier": s.certifier or "-",
        "calls": f"{s.certification.calls_passed}/{s.certification.calls_scored}",
        "tbt": f"done ({s.tbt_hours:g} h)" if s.tbt_done_on else "not done",
        "stage": s.stage if s.stage not in ("passed", "failed") else
        f"{s.stage} ({s.certification.pass_rate:.0f}%)",
        "due": "; ".join(map(str, s.due)) or "-", "equipment": s.equipment_issue or "-",
        "css": "fail" if s.stage in _STEP_STAGE.values() or s.stage == "failed" else "",
    } for s in current]
    actions = [f"{s.name}: {d}" for s, d in due]
    actions += [f"{_display(a)}: {_LABEL[a['action']]} recorded by {a['by']}: {a['note']}"
                for a in day_actions]
    context = {
        "day": day, "organisation": store.get_setting("organisation", "Call certification team"),
        "target_days": TARGET_DAYS, "summary": summary, "agents": agents_rows,
        "calls": [{"agent": _display(c), "call_no": c["call_no"], "certifier": c["certifier"],
                   "score": f"{c['score']:.1f}", "result": "Pass" if call_passed(c["score"]) else "Fail"}
                  for c in day_calls],
        "actions": actions,
        "equipment": [f"{s.name}: {s.equipment_issue}" for s in active if s.equipment_issue],
        "flags": [f"{s.name}: {f}" for s in current for f in s.flags],
        "notes": [f"{n['line']} (agent: {n['agent']})" for n in notes(store, on_date=day)],
    }
    return EodReport(day, context)


# --- demo data ---------------------------------------------------------------------------------------------

_DEMO_AGENTS = [("Jane", "Smith"), ("Marcus", "O'Brien"), ("Ana Lucia", "De la Cruz"), ("Tomás", "Reyes"),
                ("Keisha", "Howard"), ("Ben", "Carter"), ("Mei", "Lin"), ("Arjun", "Mehta"), ("Rosa", "Delgado"),
                ("Tyler", "Brooks"), ("Nadia", "Haddad"), ("Chris", "Walker"), ("Leah", "Goldberg"),
                ("Samuel", "Osei"), ("Grace", "Kim")]
_DEMO_CERTIFIERS = ["Dana Alvarez", "Sam Brooks", "Lin Chen", "Kit Evans"]
_WENT_WELL = ["Warm, confident greeting and a clear verification.", "Good empathy when the caller was frustrated.",
              "Found the right knowledge-base article quickly.", "Clear summary of next steps at the close."]
_POSITIVE = ["Great progress since your first call; keep it up.", "Your tone put the caller at ease.",
             "You stayed calm and in control throughout.", "You are clearly ready for live calls on this call type."]


def _demo_levels(rng: random.Random, rubric: Rubric, passed: bool) -> dict[str, int]:
    levels = {c.id: 4 for c in rubric.criteria}
    light = [c.id for c in rubric.criteria if c.weight <= 2]
    for cid in rng.sample(light, rng.randint(0, 3)):
        levels[cid] = 3  # at most 6 points of 96 lost: still >= 85
    if not passed:
        heavy = [c.id for c in rubric.criteria if c.weight >= 5]
        levels[rng.choice(heavy)] = 1  # 15 points lost: below 85 whatever else
    return levels


def build_demo_agents(store: Store, rng_seed: int = 2026, today: dt.date | None = None) -> dict[str, int]:
    """Add demo agents in every stage as of ``today``; returns the number of agents per stage.

    Not started, in progress (days 1 and 2), past target, each ladder step due (one with a step recorded late,
    one with every step before termination recorded), passed 5/5 and 4/5 (one finishing today), failed 3/5,
    terminated, an open equipment issue, over-time calls and TBTs, and progress notes.
    """
    today = today or dt.date.today()
    ref = today if is_business_day(today) else add_business_days(today, -1)
    rng = random.Random(rng_seed)
    rubric = load_scorecard()
    me = "Cert Coordinator"
    # (business day the agent is on today, call outcomes, TBT hours or None, ladder steps recorded, progress note
    # (None: the agent's own), extra)
    plan = [
        (1, [], None, [], (None, "Systems check done; TBT modules 1-2 complete."), {}),
        (2, [True, True, False], 7.0, [], (None, "Emailed progress: 3 calls done, TBTs finished."), {}),
        (9, [True] * 5, 6.5, [], (None, "All 5 calls and TBTs complete."), {}),
        (2, [True, False, True, True, True], 7.5, [], (None, "Self-reported: calls and TBTs complete."),
         {"finish_today": True}),
        (4, [True, False, True, True, False], None, [], (me, "Calls 2 and 5 below 85: certification not passed."), {}),
        (3, [True] * 4, None, [], (None, "4 calls done; TBT modules 5-6 outstanding."), {}),
        (4, [True, True], 7.0, [], (None, "Waited most of day 2 for a certifier; 2 calls done."), {}),
        (5, [True, False, True], 8.0, ["coaching"], (None, "TBTs done; call 2 type still difficult."), {}),
        (6, [True] * 3, None, ["coaching"], (me, "No progress report yesterday; followed up by email."),
         {"late": True}),
        (7, [True, True, False, True], 9.5, ["coaching", "written_cap", "final_cap"],
         (None, "TBTs took longer than planned."), {}),
        (2, [], None, [], (me, "Cannot log in to the softphone; IT ticket open."),
         {"equipment": "Softphone login fails; IT ticket open"}),
        (3, [True] * 5, 6.0, [], (None, "Calls ran long because of system slowness."), {"slow_calls": True}),
        (12, [True, False], None, ["coaching", "written_cap", "final_cap", "termination"], None, {}),
        (1, [True], None, [], (None, "First call passed; TBT modules 1-3 done."), {}),
        (0, [], None, [], None, {}),
    ]
    for (first, last), (day, outcomes, tbt, steps, note, extra) in zip(_DEMO_AGENTS, plan):
        start = add_business_days(ref, -(day - 1))
        certifier = None if "equipment" in extra else rng.choice(_DEMO_CERTIFIERS)
        aid = add_agent(store, first, last, start, certifier, extra.get("equipment"), actor="setup")
        last_day = day if extra.get("finish_today") else min(day, TARGET_DAYS)  # calls spread over days 1..last
        for k, ok in enumerate(outcomes):
            on = add_business_days(start, (k + 1) * last_day // len(outcomes) - 1) if k < len(outcomes) - 1 \
                else add_business_days(start, last_day - 1)
            levels = _demo_levels(rng, rubric, ok)
            tips = {c.id: rng.choice(c.level(levels[c.id]).feedback) for c in rubric.criteria
                    if levels[c.id] < c.meets_standard}
            score_call(store, aid, certifier or rng.choice(_DEMO_CERTIFIERS), levels, rng.choice(_WENT_WELL),
                       marked_down_note(rubric, levels, tips), rng.choice(_POSITIVE), scored_on=max(on, start),
                       duration_hours=1.0 if extra.get("slow_calls") else rng.choice([0.5, 0.6, 0.75]),
                       rubric=rubric, actor="setup")
        if tbt is not None:
            record_tbt(store, aid, tbt, add_business_days(start, last_day - 1), actor="setup")
        dates = ladder_dates(start)
        for step in steps:
            on = min(add_business_days(dates[step], 1 if extra.get("late") else 0), ref)
            record_action(store, aid, step, on, me, f"{_LABEL[step]} delivered; expectation set to finish within "
                          "one business day.", actor="setup")
        if note:
            on = ref if day <= TARGET_DAYS or not outcomes or len(outcomes) < CALLS_REQUIRED else \
                add_business_days(start, last_day - 1)
            add_note(store, aid, note[0] or f"{first} {last}", note[1], on, actor="setup")
    counts: dict[str, int] = {}
    for s in overview(store, today):
        counts[s.stage] = counts.get(s.stage, 0) + 1
    return counts
