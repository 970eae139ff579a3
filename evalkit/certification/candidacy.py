"""A candidate's profile and candidacies: what they bring (experience, education, civil service), the programs
they are admitted to, and when their work product assignment was issued.

The profile is the mapping of :mod:`evalkit.instruments.eligibility`, stored with the candidate: entered by an
admin (:func:`set_profile`) or imported from YAML or CSV (:func:`import_profiles`). Applying to a program
(:func:`apply`) checks the profile against the program's eligibility rule set: the candidate is admitted by the
route met, or refused with what each route lacks, unless an admin overrides with a reason (both recorded). A holder
of a lower designation that advances to the program (CCMA to CCOM, CCMC to CCSL) applies as advancing from it and
keeps their knowledge assessments. Every change goes through the audit log.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from ..calendar import as_date
from ..evaluation import admission, workflow
from ..evaluation.importer import read_table
from ..instruments.eligibility import EligibilityResult, ProfileError, validate_profile
from ..instruments.yamltext import load_yaml_text
from ..messages import show
from ..store import Store, candidacies, candidates, submissions, utcnow
from .results import ResultError, held_lower

__all__ = ["PROFILE_COLUMNS", "profile", "set_profile", "import_profiles", "eligibility", "apply",
           "issue_assignment", "candidacy", "candidacies_of", "read_yaml"]

#: Columns of a profiles CSV: one row per experience or service entry (``kind``), the education on each row of a
#: candidate (the same on all of them); a row with no ``kind`` gives the education alone.
PROFILE_COLUMNS = ("candidate_id", "education", "college_credits", "kind", "years", "role", "call_center",
                   "employer", "supervision_years", "directs_projects", "title", "permanent_competitive")
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def _profile_json(value, where: str) -> str:
    try:
        validate_profile(value)
    except ProfileError as exc:
        raise ResultError(f"{where}: {exc.problems[0]}" + (f" (and {len(exc.problems) - 1} more problem(s))"
                                                             if len(exc.problems) > 1 else "")) from None
    return json.dumps(value, sort_keys=True)


def profile(store: Store, candidate: str) -> dict | None:
    """The candidate's stored profile, or None."""
    with store.read() as conn:
        return admission.profile_of(conn, workflow.candidate_id(conn, candidate))


def set_profile(store: Store, candidate: str, value: dict, actor: str = "admin") -> None:
    """Store (or replace) the candidate's profile after validating it; the change is audited with before and after.

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.demo import init_workspace
    >>> store = init_workspace(tempfile.mkdtemp() + "/ws")
    >>> _ = workflow.add_candidate(store, "C-1", "Ann", "Lee")
    >>> set_profile(store, "C-1", {"education": {"highest": "associate"}, "experience": [
    ...     {"years": 2, "role": "management", "call_center": True, "employer": "private"}]})
    >>> eligibility(store, "C-1", "CCOM").route
    'in-role'
    """
    text = _profile_json(value, f"candidate {candidate}'s profile")
    with store.transaction(actor) as tx:
        cid = workflow.candidate_id(tx.conn, candidate)
        tx.update(candidates, {"id": cid}, {"profile": text}, action="profile")


def _cell_flag(value: str, what: str) -> bool:
    v = value.strip().lower()
    if v in _YES | _NO:
        return v in _YES
    raise ResultError(f"{what} {show(value)}: expected yes or no")


def _cell_number(value: str, what: str):
    try:
        return float(value)
    except ValueError:
        raise ResultError(f"{what} {show(value)} is not a number") from None


def _profiles_from_csv(path: Path) -> dict[str, tuple[str, dict]]:
    """{candidate: (where, profile)} from the rows of a profiles CSV."""
    found: dict[str, tuple[str, dict]] = {}
    for line, row in read_table(path, PROFILE_COLUMNS, ("candidate_id", "education")):
        where = f"{path}:{line}"
        cells = {k: (v or "").strip() for k, v in row.items()}
        try:
            cand = workflow.candidate_external_id(cells["candidate_id"])
            education = {"highest": cells["education"]}
            if cells.get("college_credits"):
                education["college_credits"] = _cell_number(cells["college_credits"], "college_credits")
            first_where, prof = found.setdefault(cand, (where, {"education": education}))
            if prof["education"] != education:
                raise ResultError(f"education {show(cells['education'])} differs from {first_where}'s for "
                                  f"candidate {cand}; expected the same on every row of a candidate")
            kind = cells.get("kind", "")
            if kind == "experience":
                entry = {"years": _cell_number(cells.get("years", ""), "years"), "role": cells.get("role", ""),
                         "call_center": _cell_flag(cells.get("call_center", ""), "call_center"),
                         "employer": cells.get("employer", "")}
                if cells.get("supervision_years"):
                    entry["supervision_years"] = _cell_number(cells["supervision_years"], "supervision_years")
                if cells.get("directs_projects"):
                    entry["directs_projects"] = _cell_flag(cells["directs_projects"], "directs_projects")
                prof.setdefault("experience", []).append(entry)
            elif kind == "service":
                prof.setdefault("service", []).append({
                    "title": cells.get("title", ""), "years": _cell_number(cells.get("years", ""), "years"),
                    "permanent_competitive": _cell_flag(cells.get("permanent_competitive", ""),
                                                        "permanent_competitive")})
            elif kind:
                raise ResultError(f"kind {show(kind)}: expected experience, service, or empty (education only)")
            _profile_json(prof, "profile")
        except workflow.WorkflowError as exc:
            raise ResultError(f"{where}: {exc}; nothing was imported") from None
    return found


def read_yaml(text: str, name: str):
    """YAML typed or pasted by an admin, screened like every YAML evalkit reads (size, nesting, no anchors)."""
    return load_yaml_text(text, name, ResultError, compose=False)[1]


def _profiles_from_yaml(path: Path) -> dict[str, tuple[str, dict]]:
    """{candidate: (where, profile)} from a YAML mapping of candidate ids to profiles."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultError(f"{path}: cannot be read: {exc}") from None
    data = read_yaml(text, str(path))
    if not isinstance(data, dict) or not data:
        raise ResultError(f"{path}: expected a mapping of candidate ids to profiles")
    return {workflow.candidate_external_id(str(cand)): (f"{path}: {cand}", prof) for cand, prof in data.items()}


def import_profiles(store: Store, path, actor: str = "admin") -> list[str]:
    """Store the profiles in a YAML file (``{candidate id: profile}``) or a CSV file (:data:`PROFILE_COLUMNS`): all
    or none, a bad one named by file and line or candidate. Returns the candidates updated."""
    path = Path(path)
    found = _profiles_from_csv(path) if path.suffix.lower() == ".csv" else _profiles_from_yaml(path)
    texts = {cand: _profile_json(prof, where) for cand, (where, prof) in found.items()}
    with store.transaction(actor) as tx:
        for cand, text in texts.items():
            try:
                cid = workflow.candidate_id(tx.conn, cand)
            except workflow.WorkflowError as exc:
                raise ResultError(f"{found[cand][0]}: {exc}; nothing was imported") from None
            tx.update(candidates, {"id": cid}, {"profile": text}, action="profile")
    return sorted(texts)


def eligibility(store: Store, candidate: str, program_id: str) -> EligibilityResult | None:
    """The candidate's stored profile against the program's rule set (None: the program has no requirement)."""
    prog = workflow.program(store, program_id)
    with store.read() as conn:
        return admission.eligibility_of(conn, workflow.candidate_id(conn, candidate), candidate, prog)


def apply(store: Store, candidate: str, program_id: str, applied_on=None, override: str | None = None,
          actor: str = "admin") -> dict:
    """Admit the candidate to the program; returns the candidacy.

    Refused with what each eligibility route lacks unless ``override`` gives the admin's reason (recorded with
    the admin's name); refused for a retired program or a second application to the same program. A holder of a
    designation that advances to this one applies as advancing from it (its knowledge assessments count).
    """
    prog = workflow.program(store, program_id)
    try:
        prog.check_open()
    except ValueError as exc:
        raise ResultError(str(exc)) from None
    applied_on = as_date(applied_on or dt.date.today(), "application date", ResultError)
    reason = admission.override_reason(override)
    lower = held_lower(store, candidate, program_id, applied_on)
    result = eligibility(store, candidate, program_id)
    with store.transaction(actor) as tx:
        cid = workflow.candidate_id(tx.conn, candidate)
        existing = admission.candidacy_of(tx.conn, cid, program_id)
        if existing:
            raise ResultError(f"candidate {candidate} already applied to {program_id} on {existing['applied_on']} "
                              f"({admission.describe(existing)})")
        values = {"candidate_id": cid, "program_id": program_id, "applied_on": applied_on, "route": None,
                  "advancing_from": lower, "override_by": None, "override_reason": None,
                  "assignment_issued_on": None, "created_at": utcnow()}
        if result is not None and result.eligible:
            values["route"] = result.route
        elif result is not None:
            if reason is None:
                raise ResultError(f"candidate {candidate} is not eligible for {program_id}: "
                                  f"{'; '.join(result.reasons)}")
            values["override_by"], values["override_reason"] = tx.actor, reason
        return tx.insert(candidacies, values, action="apply")


def issue_assignment(store: Store, candidate: str, program_id: str, issued_on, actor: str = "admin") -> dict:
    """Record the day the work product assignment was issued to an admitted candidate: their completion clock.

    Returns the candidacy with ``complete_by``, the last day to hand in the work product."""
    prog = workflow.program(store, program_id)
    if prog.work_product is None:
        raise ResultError(f"program {program_id} has no work product to issue")
    issued_on = as_date(issued_on, "issue date", ResultError)
    if issued_on > dt.date.today():
        raise ResultError(f"issue date {issued_on} is in the future")
    with store.transaction(actor) as tx:
        cid = workflow.candidate_id(tx.conn, candidate)
        found = admission.candidacy_of(tx.conn, cid, program_id)
        if found is None:
            raise ResultError(f"candidate {candidate} has not applied to {program_id}; apply first "
                              f"(evalkit candidates apply {candidate} {program_id})")
        if found["applied_on"] > issued_on:
            raise ResultError(f"issue date {issued_on} is before the application of {found['applied_on']}")
        received = tx.execute(sa.select(submissions.c.id).where(submissions.c.candidate_id == cid,
                                                                submissions.c.program_id == program_id)).first()
        if received:
            raise ResultError(f"candidate {candidate}'s {program_id} work product was already received; its issue "
                              "date can no longer change its deadline")
        row = tx.update(candidacies, {"id": found["id"]}, {"assignment_issued_on": issued_on}, action="issue")
    return {**row, "complete_by": prog.completion_due(issued_on)}


def candidacy(store: Store, candidate: str, program_id: str) -> dict | None:
    with store.read() as conn:
        return admission.candidacy_of(conn, workflow.candidate_id(conn, candidate), program_id)


def candidacies_of(store: Store, candidate: str) -> list[dict]:
    """The candidate's candidacies, by program."""
    with store.read() as conn:
        cid = workflow.candidate_id(conn, candidate)
        return [dict(r) for r in conn.execute(sa.select(candidacies).where(candidacies.c.candidate_id == cid)
                                              .order_by(candidacies.c.program_id)).mappings()]
