"""The rules of call certification: pass rules, business days and the escalation ladder, the call scorecard.

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

Nothing here reads or writes the store: :mod:`.records` keeps the records and applies these rules to them.
"""
from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..calendar import add_business_days, as_date, business_days_between, next_business_day
from ..evaluation import scoring
from ..instruments.programs import default_programs_path
from ..instruments.rubric import Rubric, load_rubric

__all__ = [
    "CALLS_REQUIRED", "CALL_PASS_MARK", "AGENT_PASS_RATE", "CALL_CERT_HOURS", "TBT_HOURS", "TARGET_DAYS",
    "LADDER", "STAGES", "CallCertError", "Certification", "DueAction", "Timeline", "call_passed", "certify",
    "scorecard_filename", "ladder_dates", "timeline", "overtime_flags", "format_note", "marked_down_note",
    "call_score", "load_scorecard", "scorecard_path",
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
#: Each ladder action's label, and the stage an agent is in once that step is due.
STEP_LABEL = dict(LADDER)
STEP_STAGE = {"coaching": "coaching", "written_cap": "written CAP", "final_cap": "final CAP",
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


def parse_date(value, what: str) -> dt.date:
    """A date from a date, a datetime or ``YYYY-MM-DD`` text; anything else is a :class:`CallCertError`.

    Examples
    --------
    >>> parse_date("2026-11-23", "start date")
    datetime.date(2026, 11, 23)
    """
    return as_date(value, what, CallCertError)


def ladder_dates(start, holidays=None) -> dict[str, dt.date]:
    """The due date of each ladder step for an agent who starts on ``start`` (business day 1).

    Examples
    --------
    >>> import datetime as dt
    >>> {k: str(v) for k, v in ladder_dates(dt.date(2026, 11, 23)).items()}   # Thanksgiving on the 26th
    {'coaching': '2026-11-27', 'written_cap': '2026-11-30', 'final_cap': '2026-12-01', 'termination': '2026-12-02'}
    """
    start = parse_date(start, "start date")
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
    start, today = parse_date(start, "start date"), parse_date(today, "date")
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
        stage = STEP_STAGE[reached[-1]]
    else:
        stage = "in progress" if day <= TARGET_DAYS else "past target"
    due = tuple(DueAction(a, STEP_LABEL[a], dates[a], dates[a] < today) for a in reached if a not in recorded)
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
    return f"{parse_date(on_date, 'note date').isoformat()} - {' '.join(name.split())} - {' '.join(note.split())}"


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


def scorecard_levels(rubric: Rubric, levels: Mapping[str, object]) -> dict[str, int]:
    """A complete set of scorecard levels, checked against the scorecard (a :class:`CallCertError` if not)."""
    try:
        return scoring.validate_levels(rubric, levels, partial=False)
    except scoring.ScoringError as exc:
        raise CallCertError(f"call scorecard: {exc}") from None


def call_score(rubric: Rubric, levels: Mapping[str, object]) -> float:
    """The call score, 0-100: the weighted total of a complete set of scorecard levels as a percentage."""
    return scoring.total_percent(rubric, scorecard_levels(rubric, levels))


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
