"""Appeals of a decided result (ISO/IEC 17024, 9.8): lodged, acknowledged, decided by someone not involved.

A candidate may appeal a decided result within the program's ``appeal_days`` of the result letter (any time after
the decision while no letter has gone out). The appeal is due for decision ``appeal_decision_business_days`` after
its receipt. Whoever decides it must have taken no part in the original evaluation: none of the submission's
raters or adjudicator, nor whoever decided it. Upholding the appeal opens a fresh blind evaluation: a new submission
of the same work product under the same rubric version (``reevaluates_id`` links it to the original), which only
raters who did not evaluate the original may take; the original scores and decision stay in the record. Every step
is one transaction through the audit log; a refusal changes nothing.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..calendar import as_date, business_days_between
from ..messages import checked_reason, show
from ..store import Store, appeals, assignments, decisions, notifications, raters, submissions, utcnow
from .errors import WorkflowError
from .workflow import _lock_submission, copy_document, program

__all__ = ["OUTCOMES", "lodge", "acknowledge", "mark_acknowledged", "involved", "decide", "record_outcome_notified",
           "mark_outcome_notified", "appeal", "appeals_of", "open_appeals"]

OUTCOMES = ("upheld", "dismissed")
_TEXT_CHARS = 5000  # the most characters of an appeal's grounds, or of the reason for its outcome


def _day(value, what: str) -> dt.date:
    day = as_date(value, what, WorkflowError)
    if day > dt.date.today():
        raise WorkflowError(f"{what} {day} is in the future")
    return day


def _locked_appeal(tx, appeal_id: int) -> dict:
    row = tx.execute(sa.select(appeals).where(appeals.c.id == appeal_id).with_for_update()).mappings().first()
    if row is None:
        raise WorkflowError(f"unknown appeal {show(appeal_id)}")
    return dict(row)


def lodge(store: Store, submission_id: int, received_on, grounds: str, actor: str = "admin") -> dict:
    """Record a candidate's appeal of a decided result; returns the appeal with its ``due_on``.

    Refused for an undecided or benchmark submission, one already appealed, a receipt before the decision or
    after the appeal period (``appeal_days`` after the result letter).
    """
    received_on = _day(received_on, "appeal received date")
    grounds = checked_reason(grounds, "the grounds of the appeal", WorkflowError, _TEXT_CHARS)
    with store.transaction(actor) as tx:
        sub = _lock_submission(tx, submission_id)
        if sub["is_benchmark"]:
            raise WorkflowError(f"submission {submission_id} is a benchmark, not a candidate's result")
        decision = tx.get(decisions, {"submission_id": submission_id})
        if decision is None:
            raise WorkflowError(f"submission {submission_id} is {sub['state']}; only a decided result can be "
                                "appealed")
        if received_on < as_date(decision["decided_on"]):
            raise WorkflowError(f"appeal received {received_on}, before submission {submission_id} was decided on "
                                f"{decision['decided_on']}")
        prog = program(store, sub["program_id"])
        letter = tx.get(notifications, {"submission_id": submission_id})
        if letter is not None:
            closes = as_date(letter["issued_on"]) + dt.timedelta(days=prog.appeal_days)
            if received_on > closes:
                raise WorkflowError(f"appeal received {received_on}, after the appeal period ended {closes} "
                                    f"({prog.appeal_days} days after the result letter of {letter['issued_on']})")
        earlier = tx.execute(sa.select(appeals.c.id).where(appeals.c.submission_id == submission_id)).scalar()
        if earlier is not None:
            raise WorkflowError(f"submission {submission_id} was already appealed (appeal {earlier})")
        return tx.insert(appeals, {"submission_id": submission_id, "received_on": received_on, "grounds": grounds,
                                   "due_on": prog.appeal_due(received_on), "created_at": utcnow()}, action="appeal")


def acknowledge(store: Store, appeal_id: int, on, actor: str = "admin") -> dict:
    """Record that the acknowledgement letter went out on ``on``."""
    with store.transaction(actor) as tx:
        return mark_acknowledged(tx, appeal_id, on)


def mark_acknowledged(tx, appeal_id: int, on) -> dict:
    """:func:`acknowledge` inside the caller's transaction (so a letter's e-mail is queued with it)."""
    on = _day(on, "acknowledgement date")
    row = _locked_appeal(tx, appeal_id)
    if row["acknowledged_on"] is not None:
        raise WorkflowError(f"appeal {appeal_id} was already acknowledged on {row['acknowledged_on']}")
    if on < as_date(row["received_on"]):
        raise WorkflowError(f"acknowledgement date {on} is before the appeal was received on {row['received_on']}")
    return tx.update(appeals, {"id": appeal_id}, {"acknowledged_on": on}, action="acknowledge_appeal")


def involved(conn, submission_id: int) -> set[str]:
    """Who took part in the evaluation of the submission: its raters and adjudicator, and whoever decided it."""
    names = set(conn.execute(sa.select(raters.c.username).join(assignments, assignments.c.rater_id == raters.c.id)
                             .where(assignments.c.submission_id == submission_id)).scalars())
    decided_by = conn.execute(sa.select(decisions.c.decided_by)
                              .where(decisions.c.submission_id == submission_id)).scalar()
    return names | ({decided_by} if decided_by else set())


def decide(store: Store, appeal_id: int, outcome: str, reason: str, decided_on=None, actor: str = "admin") -> dict:
    """Decide an appeal as ``actor``, who must not have been involved in the original evaluation.

    ``upheld`` opens a fresh blind evaluation (a new submission, ``reevaluation_id`` on the appeal) that only raters
    who did not evaluate the original may take; ``dismissed`` leaves the result as it was. Returns the appeal.
    """
    if outcome not in OUTCOMES:
        raise WorkflowError(f"outcome {show(outcome)}: expected one of {', '.join(OUTCOMES)}")
    reason = checked_reason(reason, "the reason for the appeal's outcome", WorkflowError, _TEXT_CHARS)
    decided_on = _day(decided_on or dt.date.today(), "appeal decision date")
    with store.transaction(actor) as tx:
        row = _locked_appeal(tx, appeal_id)
        if row["outcome"] is not None:
            raise WorkflowError(f"appeal {appeal_id} was already decided ({row['outcome']}) on {row['decided_on']}")
        if decided_on < as_date(row["received_on"]):
            raise WorkflowError(f"appeal decision date {decided_on} is before the appeal was received on "
                                f"{row['received_on']}")
        original = _lock_submission(tx, row["submission_id"])
        if tx.actor in involved(tx.conn, original["id"]):
            raise WorkflowError(f"{tx.actor} took part in the evaluation of submission {original['id']} and cannot "
                                f"decide its appeal; another person must")
        values = {"outcome": outcome, "outcome_reason": reason, "decided_by": tx.actor, "decided_on": decided_on}
        if outcome == "upheld":
            values["reevaluation_id"] = _reopen(tx, store, original, decided_on)
        return tx.update(appeals, {"id": appeal_id}, values, action="decide_appeal")


def _reopen(tx, store: Store, original: dict, on: dt.date) -> int:
    """The fresh evaluation: the same work product under the same rubric version, with its own notification
    deadline from the day the appeal was upheld."""
    attempt = tx.execute(sa.select(sa.func.max(submissions.c.attempt)).where(
        submissions.c.candidate_id == original["candidate_id"],
        submissions.c.program_id == original["program_id"])).scalar()
    keep = ("candidate_id", "program_id", "rubric_version", "manager_signoff", "document", "complete_by")
    new_id = tx.insert(submissions, {**{k: original[k] for k in keep}, "attempt": attempt + 1,
                                     "previous_id": None, "reevaluates_id": original["id"], "received_on": on,
                                     "due_on": program(store, original["program_id"]).notification_due(on),
                                     "is_benchmark": False, "state": "received", "created_at": utcnow()},
                       action="reevaluate")["id"]
    copy_document(tx, original["id"], new_id)
    return new_id


def record_outcome_notified(store: Store, appeal_id: int, on, actor: str = "admin") -> dict:
    """Record that the letter giving the appeal's outcome went out on ``on``."""
    with store.transaction(actor) as tx:
        return mark_outcome_notified(tx, appeal_id, on)


def mark_outcome_notified(tx, appeal_id: int, on) -> dict:
    """:func:`record_outcome_notified` inside the caller's transaction."""
    on = _day(on, "outcome letter date")
    row = _locked_appeal(tx, appeal_id)
    if row["outcome"] is None:
        raise WorkflowError(f"appeal {appeal_id} is not decided yet")
    if row["outcome_notified_on"] is not None:
        raise WorkflowError(f"appeal {appeal_id}'s outcome was already sent on {row['outcome_notified_on']}")
    if on < as_date(row["decided_on"]):
        raise WorkflowError(f"outcome letter date {on} is before the appeal was decided on {row['decided_on']}")
    return tx.update(appeals, {"id": appeal_id}, {"outcome_notified_on": on}, action="notify_appeal")


def appeal(store: Store, appeal_id: int) -> dict:
    with store.read() as conn:
        row = conn.execute(sa.select(appeals).where(appeals.c.id == appeal_id)).mappings().first()
    if row is None:
        raise WorkflowError(f"unknown appeal {show(appeal_id)}")
    return dict(row)


def appeals_of(store: Store) -> list[dict]:
    """Every appeal, newest first."""
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(appeals).order_by(appeals.c.id.desc())).mappings()]


def open_appeals(store: Store, today: dt.date | None = None) -> list[dict]:
    """Appeals not yet decided, or decided but whose outcome letter has not gone out, soonest due first, each
    with ``step`` (what is next), ``days_left`` (business days to ``due_on``; negative: overdue) and ``late``."""
    today = today or dt.date.today()
    found = []
    for row in appeals_of(store):
        if row["outcome_notified_on"] is not None:
            continue
        step = ("acknowledge" if row["acknowledged_on"] is None else "decide") if row["outcome"] is None \
            else "send the outcome"
        with store.read() as conn:
            program_id = conn.execute(sa.select(submissions.c.program_id)
                                      .where(submissions.c.id == row["submission_id"])).scalar()
        due = as_date(row["due_on"])
        left = business_days_between(today, due, program(store, program_id).holidays)
        found.append({**row, "program_id": program_id, "step": step, "days_left": left,
                      "late": row["outcome"] is None and today > due})
    return sorted(found, key=lambda r: (r["due_on"], r["id"]))
