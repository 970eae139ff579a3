"""Knowledge & Skills Assessment results, and a candidate's certification status built from all components.

The knowledge assessments (``knowledge_1`` ... ``knowledge_N`` of a program) are scored outside evalkit and
recorded here, one row per attempt: a retake is a new attempt, never an overwrite. A component passes at the
program's mark (75 %, CCMA 70 %) on the percentage ``score / maximum``; it counts from the date of the first passing
attempt. The work product component passes with a decided "pass" on the candidate's submission for the program.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ..calendar import as_date
from ..evaluation import workflow
from ..evaluation.importer import read_table
from ..instruments.programs import CertificationStatus, Program, certification_status
from ..messages import show
from ..store import Store, assessment_results, candidacies, candidates, certificates, decisions, submissions, utcnow

__all__ = ["ResultError", "RESULT_COLUMNS", "record_result", "import_results", "attempts", "passed_on",
           "CandidateStatus", "candidate_status", "programs_of", "standings", "STATES", "held_lower"]

#: The certification states, in the order a list of candidates shows them (what needs attention first).
STATES = ("recertification due", "expired", "in progress", "certified")

RESULT_COLUMNS = ("candidate_id", "program", "component", "score", "maximum", "taken_on", "attempt")
_REQUIRED = ("candidate_id", "program", "component", "score", "maximum", "taken_on")


class ResultError(workflow.WorkflowError):
    """A result that cannot be recorded as given; the message is one line."""


def _number(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ResultError(f"{what} {show(value)} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ResultError(f"{what} {show(value)}: expected a number >= 0")
    return number


def _result_values(store: Store, program_id: str, component: str, score, maximum, taken_on) -> dict:
    """A result's checked columns (all but candidate and attempt)."""
    program = workflow.program(store, program_id)
    knowledge = [c for c in program.components if c.startswith("knowledge_")]
    if component not in knowledge:
        raise ResultError(f"component {show(component)} is not one of {program_id}'s knowledge assessments "
                          f"({', '.join(knowledge) or 'none'})")
    score, maximum = _number(score, "score"), _number(maximum, "maximum")
    if maximum == 0:
        raise ResultError("maximum is 0; expected the assessment's highest possible score")
    if score > maximum:
        raise ResultError(f"score {score:g} is above the maximum {maximum:g}")
    taken_on = as_date(taken_on, "date taken", ResultError)
    if taken_on > dt.date.today():
        raise ResultError(f"date taken {taken_on} is in the future")
    return {"program_id": program_id, "component": component, "score": score, "maximum": maximum,
            "taken_on": taken_on}


def _next_attempt(conn, candidate_id: int, values: dict) -> int:
    return (conn.execute(sa.select(sa.func.max(assessment_results.c.attempt)).where(
        assessment_results.c.candidate_id == candidate_id,
        assessment_results.c.program_id == values["program_id"],
        assessment_results.c.component == values["component"])).scalar() or 0) + 1


def record_result(store: Store, candidate: str, program_id: str, component: str, score, maximum, taken_on,
                  actor: str = "admin") -> dict:
    """Record one attempt at a knowledge assessment; returns the stored row (with its attempt number).

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> from evalkit.demo import init_workspace
    >>> from evalkit.evaluation import workflow
    >>> store = init_workspace(tempfile.mkdtemp() + "/ws")
    >>> _ = workflow.add_candidate(store, "C-1", "Ann", "Lee")
    >>> record_result(store, "C-1", "CCMA", "knowledge_1", 69, 100, dt.date(2026, 3, 2))["attempt"]
    1
    >>> record_result(store, "C-1", "CCMA", "knowledge_1", 70, 100, dt.date(2026, 4, 2))["attempt"]
    2
    >>> passed_on(store, "C-1", "CCMA")["knowledge_1"]
    datetime.date(2026, 4, 2)
    """
    values = _result_values(store, program_id, component, score, maximum, taken_on)
    with store.transaction(actor) as tx:
        cid = workflow.candidate_id(tx.conn, candidate)
        return tx.insert(assessment_results, {**values, "candidate_id": cid, "created_at": utcnow(),
                                              "attempt": _next_attempt(tx.conn, cid, values)}, action="result")


def import_results(store: Store, path, actor: str = "admin") -> list[int]:
    """Record every row of a results CSV (columns :data:`RESULT_COLUMNS`; ``attempt`` optional) in one
    transaction: all rows or none, a bad row named by file and line. Returns the new rows' ids."""
    path = Path(path)
    staged = []
    for line, row in read_table(path, RESULT_COLUMNS, _REQUIRED):
        where = f"{path}:{line}"
        try:
            values = _result_values(store, (row.get("program") or "").strip(), (row.get("component") or "").strip(),
                                    row.get("score"), row.get("maximum"), row.get("taken_on"))
            attempt = (row.get("attempt") or "").strip()
            if attempt and not (attempt.isascii() and attempt.isdigit() and 0 < int(attempt) < 1000):
                raise ResultError(f"attempt {show(attempt)}: expected a whole number from 1")
            staged.append((where, workflow.candidate_external_id(row.get("candidate_id")), values, attempt))
        except workflow.WorkflowError as exc:
            raise ResultError(f"{where}: {exc}; nothing was imported") from None
    ids = []
    with store.transaction(actor) as tx:
        for where, candidate, values, attempt in staged:
            try:
                cid = workflow.candidate_id(tx.conn, candidate)
                number = int(attempt) if attempt else _next_attempt(tx.conn, cid, values)
                if tx.get(assessment_results, {"candidate_id": cid, "program_id": values["program_id"],
                                               "component": values["component"], "attempt": number}):
                    raise ResultError(f"candidate {candidate} already has attempt {number} at "
                                      f"{values['program_id']} {values['component']}")
            except workflow.WorkflowError as exc:
                raise ResultError(f"{where}: {exc}; nothing was imported") from None
            ids.append(tx.insert(assessment_results, {**values, "candidate_id": cid, "attempt": number,
                                                      "created_at": utcnow()}, action="result")["id"])
    return ids


def attempts(store: Store, candidate: str, program_id: str) -> list[dict]:
    """Every recorded attempt of the candidate in the program, by component and attempt, with ``percent`` and
    ``passed`` (at the program's mark)."""
    program = workflow.program(store, program_id)
    with store.read() as conn:
        cid = workflow.candidate_id(conn, candidate)
        rows = conn.execute(sa.select(assessment_results).where(
            assessment_results.c.candidate_id == cid, assessment_results.c.program_id == program_id)
            .order_by(assessment_results.c.component, assessment_results.c.attempt)).mappings().all()
    return [{**r, "percent": 100 * r["score"] / r["maximum"],
             "passed": program.passes(r["score"], r["maximum"])} for r in rows]


def passed_on(store: Store, candidate: str, program_id: str) -> dict[str, dt.date | None]:
    """The date each component of the program was first passed (None: not yet), as
    :func:`~evalkit.instruments.programs.certification_status` takes them."""
    program = workflow.program(store, program_id)
    found: dict[str, dt.date | None] = {c: None for c in program.components}
    for a in attempts(store, candidate, program_id):
        if a["passed"] and a["component"] in found and found[a["component"]] is None:
            found[a["component"]] = as_date(a["taken_on"])
    if "work_product" in found:
        with store.read() as conn:
            cid = workflow.candidate_id(conn, candidate)
            decided = conn.execute(sa.select(sa.func.min(decisions.c.decided_on))
                                   .join(submissions, submissions.c.id == decisions.c.submission_id)
                                   .where(submissions.c.candidate_id == cid, submissions.c.program_id == program_id,
                                          submissions.c.is_benchmark.is_(False), decisions.c.result == "pass")
                                   ).scalar()
        found["work_product"] = as_date(decided) if decided else None
    return found


@dataclass(frozen=True)
class CandidateStatus:
    """A candidate's standing in one program: the components' pass dates and the status they give; ``advancing_from``
    names the lower designation whose holder's knowledge assessments count here (None: none)."""

    candidate: str
    program: Program
    passed_on: dict
    status: CertificationStatus
    advancing_from: str | None = None

    @property
    def credited(self) -> list[str]:
        """The components met by advancement rather than passed here."""
        if not self.advancing_from:
            return []
        return [c for c in self.program.components if c.startswith("knowledge_")]

    @property
    def missing(self) -> list[str]:
        return [c for c, day in self.passed_on.items() if day is None and c not in self.credited]


def held_lower(store: Store, candidate: str, program_id: str, on: dt.date) -> str | None:
    """The designation the candidate holds on ``on`` that advances to ``program_id`` (CCMA to CCOM, CCMC to
    CCSL), or None."""
    lower = sorted(p for p in workflow.programs_advancing_to(store, program_id))
    for p in lower:
        if p in programs_of(store, candidate) and candidate_status(store, candidate, p, on).status.holds:
            return p
    return None


def candidate_status(store: Store, candidate: str, program_id: str, today: dt.date | None = None) -> CandidateStatus:
    """The candidate's certification status in the program as of ``today`` (default: today).

    A holder of a lower designation that advances to this one (CCMA to CCOM) has its knowledge assessments
    credited: they need the work product only, and the designation dates from it. The lower designation must be
    held on the day the work product passed (or today, while it has not).
    """
    today = today or dt.date.today()
    program = workflow.program(store, program_id)
    done = passed_on(store, candidate, program_id)
    lower = None
    if program.work_product is not None and workflow.programs_advancing_to(store, program_id):
        lower = held_lower(store, candidate, program_id, min(done.get("work_product") or today, today))
    credited = {c for c in program.components if c.startswith("knowledge_")} if lower else set()
    status = certification_status(program, done, today, credited)
    return CandidateStatus(candidate, program, done, _recertified(store, candidate, program, status, today), lower)


def _recertified(store: Store, candidate: str, program: Program, status: CertificationStatus,
                 today: dt.date) -> CertificationStatus:
    """The status as the candidate's certificate extends it: a recertification moves ``valid_until`` on by the
    program's years, beyond the date the components alone give."""
    if status.since is None:
        return status
    with store.read() as conn:
        until = conn.execute(sa.select(certificates.c.valid_until).where(
            certificates.c.candidate_id == workflow.candidate_id(conn, candidate),
            certificates.c.program_id == program.id, certificates.c.status == "active")).scalar()
    until = as_date(until) if until else None
    if until is None or until <= status.until:
        return status
    if today > until:
        return CertificationStatus("expired", until, f"certification lapsed on {until}; recertify", status.since)
    if (until - today).days <= program.recertification_notice_days:
        return CertificationStatus("recertification due", until, f"recertified until {until}; recertify before "
                                   "then", status.since)
    return CertificationStatus("certified", until, f"certified {status.since}, recertified until {until}",
                               status.since)


def programs_of(store: Store, candidate: str) -> list[str]:
    """The programs the candidate has applied to, or has a result or a submission in, sorted."""
    with store.read() as conn:
        cid = workflow.candidate_id(conn, candidate)
        found = set(conn.execute(sa.select(assessment_results.c.program_id)
                                 .where(assessment_results.c.candidate_id == cid)).scalars())
        found |= set(conn.execute(sa.select(submissions.c.program_id)
                                  .where(submissions.c.candidate_id == cid)).scalars())
        found |= set(conn.execute(sa.select(candidacies.c.program_id)
                                  .where(candidacies.c.candidate_id == cid)).scalars())
    return sorted(found)


def standings(store: Store, today: dt.date | None = None, state: str | None = None) -> list[CandidateStatus]:
    """Every candidate's status in every program they are in, most urgent first (recertification due, expired,
    in progress, certified; then by the date it turns on); ``state`` keeps one of :data:`STATES`."""
    if state is not None and state not in STATES:
        raise ResultError(f"status {show(state)}: expected one of {', '.join(STATES)}")
    with store.read() as conn:
        everyone = conn.execute(sa.select(candidates.c.external_id).order_by(candidates.c.external_id)).scalars().all()
    found = [candidate_status(store, c, p, today) for c in everyone for p in programs_of(store, c)]
    found = [s for s in found if state is None or s.status.state == state]
    return sorted(found, key=lambda s: (STATES.index(s.status.state), s.status.until or dt.date.max, s.candidate))
