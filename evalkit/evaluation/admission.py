"""Admission of a work product: what receipt checks about the candidate, beyond the receipt's own form.

- **Eligibility.** A candidate is admitted to a program by a *candidacy*: made when they apply (see
  :mod:`evalkit.certification.candidacy`), or at the first receipt of their work product. A program with an
  eligibility rule set admits a candidate whose profile meets one of its routes; otherwise only with an admin's
  override, recorded with who and why. A program without one admits everyone.
- **Knowledge first.** Where a program has knowledge assessments, its work product comes after them: a work product
  received before each is passed is refused or warned about, per program (``admission.knowledge_first``). A
  candidacy by advancement (a CCMA holder towards CCOM) has them credited.
- **The completion clock.** Where the assignment's issue date is on record, the work product is due within the
  program's completion business days of it; one received later is refused or flagged (``admission.late_receipt``).
"""
from __future__ import annotations

import datetime as dt
import json
import warnings

import sqlalchemy as sa

from ..instruments.eligibility import EligibilityError, EligibilityResult, ProfileError, check_eligibility
from ..instruments.programs import Program
from ..messages import checked_reason, show
from ..store import assessment_results, candidacies, candidates, utcnow
from .errors import WorkflowError

__all__ = ["KnowledgeFirstWarning", "LateReceiptWarning", "profile_of", "candidacy_of", "eligibility_of",
           "knowledge_missing", "override_reason", "admit", "describe"]

#: The most characters an admin's reason for an exception (an override, an extension) may have.
OVERRIDE_REASON_CHARS = 500


class KnowledgeFirstWarning(UserWarning):
    """A work product received before the candidate passed every knowledge assessment of the program."""


class LateReceiptWarning(UserWarning):
    """A work product received after its completion deadline, where the program flags rather than refuses."""


def profile_of(conn, candidate_id: int) -> dict | None:
    """The candidate's stored profile (the mapping :func:`~evalkit.eligibility.check_eligibility` takes), or None."""
    text = conn.execute(sa.select(candidates.c.profile).where(candidates.c.id == candidate_id)).scalar()
    return json.loads(text) if text else None


def candidacy_of(conn, candidate_id: int, program_id: str) -> dict | None:
    row = conn.execute(sa.select(candidacies).where(candidacies.c.candidate_id == candidate_id,
                                                    candidacies.c.program_id == program_id)).mappings().first()
    return dict(row) if row else None


def eligibility_of(conn, candidate_id: int, candidate: str, prog: Program) -> EligibilityResult | None:
    """The candidate's stored profile checked against the program's rule set (None: the program has none).

    A candidate with no profile on record, or one that no longer validates, is not eligible, with that as the
    reason."""
    if prog.eligibility is None:
        return None
    profile = profile_of(conn, candidate_id)
    if profile is None:
        return EligibilityResult(prog.eligibility, False, None, ("no profile on record (experience, education)",),
                                 {})
    try:
        return check_eligibility(prog.eligibility, profile)
    except (ProfileError, EligibilityError) as exc:
        return EligibilityResult(prog.eligibility, False, None, tuple(exc.problems), {})


def knowledge_missing(conn, candidate_id: int, prog: Program, by: dt.date) -> list[str]:
    """The program's knowledge assessments the candidate had not passed by ``by``."""
    rows = conn.execute(sa.select(assessment_results.c.component, assessment_results.c.score,
                                  assessment_results.c.maximum).where(
        assessment_results.c.candidate_id == candidate_id, assessment_results.c.program_id == prog.id,
        assessment_results.c.taken_on <= by)).all()
    passed = {component for component, score, maximum in rows if prog.passes(score, maximum)}
    return [c for c in prog.components if c.startswith("knowledge_") and c not in passed]


def override_reason(value, what: str = "the override reason", why: str = "why the candidate is admitted"
                    ) -> str | None:
    """An admin's reason for an exception (admitting an ineligible candidate, a later deadline): one line of text,
    or None for none given; given but blank, it is refused."""
    if value is None:
        return None
    return checked_reason(value, what, WorkflowError, OVERRIDE_REASON_CHARS, empty=f"{what} is empty; say {why}",
                          line_breaks="join")


def admit(tx, prog: Program, candidate_id: int, candidate: str, received_on: dt.date, override: str | None = None
          ) -> dict:
    """Check a first work product of the candidate in the program at receipt; returns the submission's
    ``complete_by``. Refuses (WorkflowError) an ineligible candidate without ``override``, a late work product
    where the program refuses those, and one before the knowledge assessments where the program refuses that;
    warns where the program only flags. A candidate without a candidacy gets one, recording an override's who
    and why."""
    try:
        prog.check_open()
    except ValueError as exc:
        raise WorkflowError(str(exc)) from None
    reason = override_reason(override)
    candidacy = candidacy_of(tx.conn, candidate_id, prog.id)
    if candidacy is None:
        candidacy = _admit_now(tx, prog, candidate_id, candidate, received_on, reason)
    if prog.admission.knowledge_first != "none" and not candidacy["advancing_from"]:
        missing = knowledge_missing(tx.conn, candidate_id, prog, received_on)
        if missing:
            message = (f"candidate {candidate} had not passed {', '.join(missing)} of {prog.id} by {received_on}; "
                       f"the {prog.work_product.name} comes after the knowledge assessments")
            if prog.admission.knowledge_first == "refuse":
                raise WorkflowError(message)
            warnings.warn(message, KnowledgeFirstWarning, stacklevel=4)
    issued = candidacy["assignment_issued_on"]
    complete_by = prog.completion_due(issued) if issued else None
    if complete_by and received_on > complete_by:
        message = (f"candidate {candidate}'s {prog.work_product.name} was received {received_on}, after its "
                   f"completion deadline {complete_by} ({prog.completion_business_days} business days from "
                   f"{issued})")
        if prog.admission.late_receipt == "refuse":
            raise WorkflowError(message)
        warnings.warn(message, LateReceiptWarning, stacklevel=4)
    return {"complete_by": complete_by}


def _admit_now(tx, prog: Program, candidate_id: int, candidate: str, on: dt.date, reason: str | None) -> dict:
    result = eligibility_of(tx.conn, candidate_id, candidate, prog)
    values = {"candidate_id": candidate_id, "program_id": prog.id, "applied_on": on, "route": None,
              "advancing_from": None, "override_by": None, "override_reason": None, "assignment_issued_on": None,
              "created_at": utcnow()}
    if result is not None and result.eligible:
        values["route"] = result.route
    elif result is not None:
        if reason is None:
            raise WorkflowError(f"candidate {candidate} is not eligible for {prog.id}: {'; '.join(result.reasons)}; "
                           "record their profile, or admit them with an override and its reason")
        values["override_by"], values["override_reason"] = tx.actor, reason
    return tx.insert(candidacies, values, action="admit")


def describe(candidacy: dict) -> str:
    """How a candidacy was admitted, in words."""
    if candidacy["override_by"]:
        return (f"admitted by override of {candidacy['override_by']} ({show(candidacy['override_reason'])})")
    if candidacy["advancing_from"]:
        return f"advancing from {candidacy['advancing_from']}" + (
            f", eligible by route {candidacy['route']}" if candidacy["route"] else "")
    return f"eligible by route {candidacy['route']}" if candidacy["route"] else "no eligibility requirement"
