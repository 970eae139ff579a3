"""The submission lifecycle: receive, assign, score, compare, adjudicate, decide, notify, resubmit.

Every function takes the :class:`~evalkit.store.Store` first and writes in one transaction, so a refused step
changes nothing. Refusals raise :class:`WorkflowError` with a one-line reason. Blind scoring is enforced here:
:func:`rater_scores` shows a rater only their own scores until the submission is decided.

Submission states: ``received`` (no raters yet) -> ``scoring`` -> ``adjudication`` (raters disagreed beyond
tolerance) -> ``decided`` -> ``notified``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import sqlalchemy as sa

from ..calendar import as_date, business_days_between, business_days_from
from ..instruments.programs import Program, load_programs
from ..messages import checked_reason, show
from ..instruments.rubric import Rubric, load_rubric, parse_rubric
from ..store import (Store, StoreConflict, StoreError, assignments, candidates, conflicts, criterion_scores, decisions,
                     notifications)
from ..store import programs as programs_table
from ..store import (raters, resolved_scores, resubmission_extensions, rubric_versions, submission_documents,
                     submissions, utcnow)
from . import admission, scoring
from .errors import WorkflowError
from .documents import MAX_DOCUMENT_BYTES, DocumentError, document_path, document_view, render_content

__all__ = ["WorkflowError", "SignoffWarning", "RubricChangedWarning", "register_rubric", "STATES", "sync_programs",
           "program", "rubric_for", "rubric_version_of", "add_candidate", "add_rater", "declare_conflict",
           "receive_submission", "assign_raters", "save_draft", "submit_final", "assign_adjudicator",
           "take_adjudication", "adjudicate", "resubmit", "record_notification", "rater_scores", "adjudication_view",
           "decided_result", "queue", "due_report", "late_notifications", "pipeline_counts", "submission",
           "ready_to_settle", "settle", "settle_ready", "SETTLE_CHANNEL", "SETTLE_ACTOR", "keep_documents",
           "copy_document", "document_html", "candidate_label", "submission_record",
           "receipt", "candidate_values", "candidate_external_id", "candidate_id", "list_raters", "open_adjudications",
           "grant_extension", "resubmission_deadline", "programs_advancing_to", "registered_programs",
           "mark_notified", "queue_order", "QUEUE_TODO"]

STATES = ("received", "scoring", "adjudication", "decided", "notified")


class RubricChangedWarning(UserWarning):
    """A rubric was edited after scoring started under its previous version."""


class SignoffWarning(UserWarning):
    """A submission received without the manager sign-off that the program encourages."""


# --- instruments and programs ------------------------------------------------------------------------------


def sync_programs(store: Store, programs_path=None, actor: str = "admin") -> dict[str, str]:
    """Register programs.yaml and each program's current rubric in the store.

    Returns ``{program id: rubric version}``. A rubric edited since the last sync gets a new version; submissions
    already received keep the version they were received under, so scores are never mixed across versions.
    """
    progs = load_programs(programs_path)
    versions: dict[str, str] = {}
    with store.transaction(actor) as tx:
        for p in progs.values():
            definition = p.to_dict()
            if p.rubric_path:
                rubric = load_rubric(p.rubric_path)
                if rubric.pass_rule.pass_mark != p.pass_mark:
                    raise WorkflowError(f"{p.rubric_path}: pass_mark {rubric.pass_rule.pass_mark:g} differs from "
                                        f"program {p.id}'s {p.pass_mark:g} in programs.yaml")
                _register_rubric(tx, rubric)
                definition["rubric_version"] = versions[p.id] = rubric.version
                _warn_if_changed_mid_scoring(tx, p.id, rubric)
            definition["source"] = str(Path(programs_path or "").resolve()) if programs_path else None
            tx.upsert(programs_table, {"id": p.id}, {"name": p.name, "definition": json.dumps(definition)})
    store.cache.clear()
    return versions


def _warn_if_changed_mid_scoring(tx, program_id: str, rubric: Rubric) -> None:
    """A rubric edited while submissions are being scored: they keep their version, and the admin is told."""
    open_on_other = tx.execute(sa.select(submissions.c.rubric_version, sa.func.count()).where(
        submissions.c.program_id == program_id, submissions.c.rubric_version != rubric.version,
        submissions.c.state.in_(("received", "scoring", "adjudication"))).group_by(submissions.c.rubric_version)).all()
    for version, n in open_on_other:
        warnings.warn(f"{program_id}: rubric {rubric.id} changed (now version {rubric.version}); {n} open "
                      f"submission(s) stay on version {version} and are scored and reported on it",
                      RubricChangedWarning, stacklevel=3)


def _register_rubric(tx, rubric: Rubric) -> None:
    tx.insert_if_absent(rubric_versions, {"version": rubric.version, "rubric_id": rubric.id, "title": rubric.title,
                                          "source": rubric.source, "registered_at": utcnow()})


def register_rubric(store: Store, rubric: Rubric, actor: str = "admin") -> str:
    """Store a rubric version (for instruments outside programs.yaml, such as the call scorecard)."""
    with store.transaction(actor) as tx:
        _register_rubric(tx, rubric)
    return rubric.version


def program(store: Store, program_id: str) -> Program:
    """The program as defined in the programs.yaml the store was synced from."""
    key = ("program", program_id)
    if key not in store.cache:
        with store.read() as conn:
            row = conn.execute(sa.select(programs_table).where(programs_table.c.id == program_id)).mappings().first()
        if row is None:
            raise WorkflowError(f"unknown program {program_id!r}; run `evalkit init` or sync programs.yaml")
        source = json.loads(row["definition"]).get("source")
        progs = load_programs(source)
        if program_id not in progs:
            raise WorkflowError(f"program {program_id!r} is registered but no longer in programs.yaml")
        store.cache[key] = progs[program_id]
    return store.cache[key]


@lru_cache(maxsize=64)
def _parse_stored(version: str, source: str) -> Rubric:
    return parse_rubric(source, f"<stored rubric {version}>")


def rubric_for(store: Store, version: str) -> Rubric:
    """The rubric exactly as it was when this version was registered."""
    with store.read() as conn:
        source = conn.execute(sa.select(rubric_versions.c.source)
                              .where(rubric_versions.c.version == version)).scalar()
    if source is None:
        raise WorkflowError(f"unknown rubric version {version!r}")
    rubric = _parse_stored(version, source)
    if rubric.version != version:
        raise StoreError(f"stored rubric {version} hashes to {rubric.version}: the database was altered")
    return rubric


def registered_programs(store: Store) -> list[str]:
    """The ids of the programs the store was synced with, sorted."""
    with store.read() as conn:
        return sorted(conn.execute(sa.select(programs_table.c.id)).scalars())


def programs_advancing_to(store: Store, program_id: str) -> list[str]:
    """The programs whose holders advance to ``program_id`` (CCMA and CCOM, CCMC and CCSL)."""
    return [p for p in registered_programs(store) if p != program_id and program(store, p).advances_to == program_id]


def rubric_version_of(store: Store, program_id: str) -> str:
    with store.read() as conn:
        row = conn.execute(sa.select(programs_table.c.definition).where(programs_table.c.id == program_id)).scalar()
    if row is None:
        raise WorkflowError(f"unknown program {program_id!r}")
    version = json.loads(row).get("rubric_version")
    if version is None:
        raise WorkflowError(f"program {program_id} has no work product to evaluate")
    return version


# --- people ------------------------------------------------------------------------------------------------


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkflowError(f"{what} is empty; expected text")
    return value.strip()


# Identifiers, names and addresses are one line of printable text: a line break or a control character in one is
# a paste or a parsing accident, and would break every table, letter and log line that shows it.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _line(value, what: str, max_chars: int, required: bool = True) -> str | None:
    if not required and (value is None or not str(value).strip()):
        return None
    text = _text(value, what)
    if _NOT_ONE_LINE.search(text):
        raise WorkflowError(f"{what} {show(text)} contains a line break or control character; expected one line")
    if len(text) > max_chars:
        raise WorkflowError(f"{what} is {len(text):,} characters long; expected at most {max_chars}")
    return text


def add_candidate(store: Store, external_id: str, first_name: str, last_name: str, email: str | None = None,
                  organisation: str | None = None, actor: str = "admin") -> int:
    """Register a candidate; returns the internal id. A known external id is refused."""
    with store.transaction(actor) as tx:
        return _add_candidate(tx, external_id, first_name, last_name, email, organisation)


def candidate_external_id(value) -> str:
    """The certification body's id of a candidate, checked: one line of at most 64 characters."""
    return _line(value, "candidate id", 64)


def candidate_values(external_id, first_name, last_name, email=None, organisation=None) -> dict:
    """A new candidate's columns, checked: an id, names and e-mail of one line each, within their lengths."""
    return {"external_id": candidate_external_id(external_id), "first_name": _line(first_name, "first name", 200),
            "last_name": _line(last_name, "last name", 200), "email": _line(email, "e-mail", 254, required=False),
            "organisation": _line(organisation, "organisation", 200, required=False)}


def _add_candidate(tx, external_id, first_name, last_name, email=None, organisation=None) -> int:
    values = candidate_values(external_id, first_name, last_name, email, organisation)
    external_id = values["external_id"]
    if tx.execute(sa.select(candidates.c.id).where(candidates.c.external_id == external_id)).first():
        raise WorkflowError(f"candidate {external_id} is already registered")
    return tx.insert(candidates, values)["id"]


def add_rater(store: Store, username: str, name: str, email: str | None = None, is_adjudicator: bool = False,
              is_lead: bool = False, actor: str = "admin") -> int:
    username = _line(username, "rater username", 64)
    if len(username.split()) > 1:  # it must equal their login name, or they never see their queue
        raise WorkflowError(f"rater username {username!r} contains a space; expected their Jupyter user name")
    with store.transaction(actor) as tx:
        if tx.execute(sa.select(raters.c.id).where(raters.c.username == username)).first():
            raise WorkflowError(f"rater {username} is already registered")
        return tx.insert(raters, {"username": username, "name": _line(name, "rater name", 200),
                                  "email": _line(email, "e-mail", 254, required=False),
                                  "is_adjudicator": is_adjudicator, "is_lead": is_lead, "active": True})["id"]


def _rater(conn, username: str) -> dict:
    row = conn.execute(sa.select(raters).where(raters.c.username == username)).mappings().first()
    if row is None:
        raise WorkflowError(f"unknown rater {username!r}")
    return dict(row)


def candidate_id(conn, external_id: str) -> int:
    """The internal id of the candidate with this external id, on an open connection; unknown: WorkflowError."""
    cid = conn.execute(sa.select(candidates.c.id).where(candidates.c.external_id == external_id)).scalar()
    if cid is None:
        raise WorkflowError(f"unknown candidate {external_id!r}")
    return cid


def declare_conflict(store: Store, rater: str, candidate: str, reason: str = "", actor: str = "admin") -> dict:
    """Record that a rater must never score a candidate (colleague, manager, relative...).

    A conflict found after assignment releases the rater from the candidate's undecided submissions where their
    evaluation is not final: the assignment and its draft scores are removed (the audit log keeps them), and a
    submission left with fewer than two raters goes back to ``received`` to be assigned again. Returns
    ``{"released": [submission ids], "final": [submission ids]}``; a final evaluation already given is not
    undone here, and is returned so that the certification office can decide what to do with it.
    """
    released, final = [], []
    with store.transaction(actor) as tx:
        rid = _rater(tx.conn, rater)["id"]
        cid = candidate_id(tx.conn, candidate)
        tx.insert_if_absent(conflicts, {"rater_id": rid, "candidate_id": cid, "reason": reason})
        open_ids = tx.execute(sa.select(submissions.c.id).where(
            submissions.c.candidate_id == cid, submissions.c.state.in_(("received", "scoring", "adjudication")))
            .order_by(submissions.c.id)).scalars().all()
        for sid in open_ids:
            sub = _lock_submission(tx, sid)
            a = tx.execute(sa.select(assignments).where(assignments.c.submission_id == sid,
                                                        assignments.c.rater_id == rid)).mappings().first()
            if a is None:
                continue
            if a["status"] == "final":
                final.append(sid)
                continue
            for cs in tx.execute(sa.select(criterion_scores.c.criterion_id)
                                 .where(criterion_scores.c.assignment_id == a["id"])).scalars().all():
                tx.delete(criterion_scores, {"assignment_id": a["id"], "criterion_id": cs}, action="release")
            tx.delete(assignments, {"id": a["id"]}, action="release_conflict")
            released.append(sid)
            raters_left = tx.execute(sa.select(sa.func.count()).select_from(assignments).where(
                assignments.c.submission_id == sid, assignments.c.role == "rater")).scalar()
            if sub["state"] == "scoring" and raters_left < _raters_needed(program(store, sub["program_id"])):
                tx.update(submissions, {"id": sid}, {"state": "received"}, action="release_conflict")
    return {"released": released, "final": final}


# --- receiving ---------------------------------------------------------------------------------------------


def _as_date(value, what: str) -> dt.date:
    return as_date(value, what, WorkflowError)


def receive_submission(store: Store, candidate: str, program_id: str, received_on, manager_signoff: bool,
                       document: str | None = None, actor: str = "admin", previous_id: int | None = None,
                       is_benchmark: bool = False, override: str | None = None) -> int:
    """Record a work product received for evaluation; returns the submission id.

    Refused without manager sign-off where the program requires it; a :class:`SignoffWarning` is issued where
    the program only encourages it. The notification deadline is set from the receipt date. A first work product
    is admitted as :func:`evalkit.evaluation.admission.admit` says (eligibility, with ``override`` the admin's
    reason to admit an ineligible candidate; knowledge assessments first; the completion deadline); a
    resubmission must come by its deadline or an extension of it.
    """
    with store.transaction(actor) as tx:
        return _receive(store, tx, candidate, program_id, received_on, manager_signoff, document, previous_id,
                        is_benchmark, override)


def _check_document(store: Store, document: str | None) -> None:
    """The work product must be there to be read, inside the workspace's documents folder. (A database given by
    URL has no workspace folder: the path is checked as written, not for the file.)"""
    try:
        path = document_path(store.workspace, document)
    except DocumentError as exc:
        raise WorkflowError(str(exc)) from None
    if path is not None and store.workspace is not None and not path.is_file():
        raise WorkflowError(f"document {document} not found (looked for {path}); put the work product in the "
                            "workspace's documents folder first")


def _raters_needed(prog: Program) -> int:
    """Independent raters before scoring starts: the program's number, and never fewer than two."""
    return max(2, prog.raters_per_submission)


def receipt(store: Store, program_id: str, received_on, manager_signoff: bool, document: str | None,
            is_benchmark: bool = False) -> dict:
    """The checks on a work product received, before any candidate is looked up, and the submission's values.

    Refused (:class:`WorkflowError`) for a program without a work product, a date in the future, a missing
    required sign-off or a document outside the workspace's documents folder; a :class:`SignoffWarning` where
    sign-off is only encouraged. Returns the new submission's columns but its candidate and attempt.
    """
    prog = program(store, program_id)
    if prog.work_product is None:
        raise WorkflowError(f"program {program_id} has no work product to evaluate")
    received_on = _as_date(received_on, "received date")
    if received_on > dt.date.today():
        raise WorkflowError(f"received date {received_on} is in the future")
    if not manager_signoff:
        if prog.manager_signoff == "required":
            raise WorkflowError(f"{program_id} requires the manager's sign-off before submission; "
                                "record it and receive again")
        if prog.manager_signoff == "encouraged":
            warnings.warn(f"{program_id}: received without manager sign-off (encouraged, not required)",
                          SignoffWarning, stacklevel=3)
    _check_document(store, document)
    return {"program_id": program_id, "rubric_version": rubric_version_of(store, program_id), "previous_id": None,
            "received_on": received_on, "due_on": prog.notification_due(received_on),
            "manager_signoff": bool(manager_signoff), "document": document, "is_benchmark": is_benchmark,
            "state": "received"}


def _receive(store: Store, tx, candidate: str, program_id: str, received_on, manager_signoff: bool,
             document: str | None, previous_id: int | None = None, is_benchmark: bool = False,
             override: str | None = None) -> int:
    values = receipt(store, program_id, received_on, manager_signoff, document, is_benchmark)
    cid = candidate_id(tx.conn, candidate)
    if previous_id is not None:
        _check_resubmission(tx, previous_id, cid, candidate, program_id, values["received_on"])
    elif not is_benchmark:
        values.update(admission.admit(tx, program(store, program_id), cid, candidate, values["received_on"],
                                      override))
    attempts = tx.execute(sa.select(sa.func.max(submissions.c.attempt)).where(
        submissions.c.candidate_id == cid, submissions.c.program_id == program_id)).scalar() or 0
    if previous_id is None and attempts:
        raise WorkflowError(f"candidate {candidate} already has a {program_id} submission; "
                            "a corrected work product is a resubmission")
    row = tx.insert(submissions, {**values, "candidate_id": cid, "attempt": attempts + 1,
                                  "previous_id": previous_id, "created_at": utcnow()}, action="receive")
    keep_documents(tx, store, [row])
    return row["id"]


def keep_documents(tx, store: Store, rows: Iterable[dict]) -> None:
    """Copy new submissions' work products from the workspace's folder into the database, where row-level security
    lets each one's raters read it although their servers cannot read the folder (``evalkit hub``). A database by
    URL has no folder here: :func:`copy_document` carries a document over to a fresh evaluation instead."""
    if store.workspace is None:
        return
    copies, now = [], utcnow()
    for row in rows:
        path = document_path(store.workspace, row.get("document"))
        if path is None or not path.is_file() or path.stat().st_size > MAX_DOCUMENT_BYTES:
            continue
        content = path.read_bytes()
        copies.append({"submission_id": row["id"], "name": path.name, "content": content,
                       "sha256": hashlib.sha256(content).hexdigest(), "stored_at": now})
    tx.insert_many(submission_documents, copies, action="keep_document")


def copy_document(tx, from_id: int, to_id: int) -> None:
    """The work product kept for submission ``from_id``, kept again for ``to_id`` (the same document)."""
    kept = tx.get(submission_documents, {"submission_id": from_id})
    if kept is not None and tx.get(submission_documents, {"submission_id": to_id}) is None:
        tx.insert(submission_documents, {**kept, "submission_id": to_id, "stored_at": utcnow()},
                  action="keep_document")


def document_html(store: Store, sub: dict) -> tuple[str, str]:
    """(file name, HTML) of a submission's work product for the rater's page: the copy kept in the database (which
    row-level security lets its raters read), else the workspace's file, else why it cannot be shown."""
    with store.read() as conn:
        kept = conn.execute(sa.select(submission_documents.c.name, submission_documents.c.content)
                            .where(submission_documents.c.submission_id == sub["id"])).first()
    if kept is None:
        return document_view(store.workspace, sub["document"])
    return kept.name, render_content(kept.name, kept.content)


def _check_resubmission(tx, previous_id: int, candidate_id: int, candidate: str, program_id: str,
                        received_on: dt.date) -> None:
    """A resubmission follows its own candidate's deficient result in the same program, once, after the decision.

    Checked inside the receiving transaction with the previous attempt locked, so two clerks receiving the same
    corrected work product at once record it once.
    """
    prev = _lock_submission(tx, previous_id)
    if (prev["candidate_id"], prev["program_id"]) != (candidate_id, program_id):
        raise WorkflowError(f"submission {previous_id} is not {candidate}'s {program_id} submission")
    decision = _open_deficient_result(tx, previous_id, "can be resubmitted")
    if received_on < decision["decided_on"]:
        raise WorkflowError(f"received date {received_on} is before submission {previous_id} was decided on "
                            f"{decision['decided_on']}")
    deadline = _resubmission_deadline(tx.conn, previous_id, decision)
    if deadline is not None and received_on > deadline:
        raise WorkflowError(f"the resubmission of {previous_id} was received {received_on}, after its deadline "
                            f"{deadline}; an admin may grant an extension (evalkit submissions extend "
                            f"{previous_id} --until DATE --reason ...)")


def _open_deficient_result(tx, submission_id: int, what_it_allows: str) -> dict:
    """The decision of a submission that is deficient and not yet resubmitted (its row locked by the caller)."""
    decision = tx.get(decisions, {"submission_id": submission_id})
    if decision is None or decision["result"] != "deficient":
        raise WorkflowError(f"submission {submission_id} is not decided as deficient; only a deficient result "
                            f"{what_it_allows}")
    later = tx.execute(sa.select(submissions.c.id).where(submissions.c.previous_id == submission_id)).scalar()
    if later is not None:
        raise WorkflowError(f"submission {submission_id} was already resubmitted as {later}")
    return decision


def _resubmission_deadline(conn, submission_id: int, decision: dict) -> dt.date | None:
    """The last day a corrected work product is accepted: the decision's deadline or the latest extension of it
    (None: a decision made before deadlines were recorded)."""
    extended = conn.execute(sa.select(sa.func.max(resubmission_extensions.c.until))
                            .where(resubmission_extensions.c.submission_id == submission_id)).scalar()
    dates = [as_date(d) for d in (decision["resubmit_by"], extended) if d is not None]
    return max(dates) if dates else None


def resubmission_deadline(store: Store, submission_id: int) -> dt.date | None:
    """The deadline for correcting a deficient submission, extensions included (None: none recorded, or the
    submission is not decided as deficient)."""
    with store.read() as conn:
        decision = conn.execute(sa.select(decisions).where(decisions.c.submission_id == submission_id)
                                ).mappings().first()
        if decision is None or decision["result"] != "deficient":
            return None
        return _resubmission_deadline(conn, submission_id, dict(decision))


def grant_extension(store: Store, submission_id: int, until, reason: str, actor: str = "admin") -> dict:
    """Give a deficient submission a later resubmission deadline; who granted it and why are recorded.

    Refused for a submission that is not deficient, already resubmitted, or an ``until`` not after the present
    deadline.
    """
    until = _as_date(until, "extension date")
    reason = checked_reason(reason, "the extension's reason", WorkflowError, admission.OVERRIDE_REASON_CHARS,
                            empty="an extension needs a reason; say why the deadline is extended", line_breaks="join")
    with store.transaction(actor) as tx:
        _lock_submission(tx, submission_id)
        decision = _open_deficient_result(tx, submission_id, "has a resubmission deadline")
        current = _resubmission_deadline(tx.conn, submission_id, decision)
        if until <= (current or as_date(decision["decided_on"])):
            raise WorkflowError(f"extension to {until} is not after the present deadline "
                                f"{current or decision['decided_on']}")
        return tx.insert(resubmission_extensions, {"submission_id": submission_id, "until": until,
                                                   "granted_by": tx.actor, "reason": reason,
                                                   "granted_at": utcnow()}, action="extend")


def resubmit(store: Store, previous_id: int, received_on, manager_signoff: bool, document: str | None = None,
             actor: str = "admin") -> int:
    """A corrected work product: a new attempt linked to a deficient one, with its own notification clock, received
    by the deadline the deficient result's letter gave (or an extension of it)."""
    prev = submission_record(store, previous_id)
    return receive_submission(store, prev["candidate_external_id"], prev["program_id"], received_on,
                              manager_signoff, document, actor, previous_id=previous_id)


def submission(store: Store, submission_id: int) -> dict:
    """A submission as anyone working on it may see it: its row, and ``candidate``, the candidate's name or, where
    the program hides names from raters, an anonymous label. No contact details: the office's view with the
    candidate's names and e-mail is :func:`submission_record`.

    A rater's own database role (PostgreSQL, row-level security) sees no candidate row where names are hidden, and
    no contact details at all: the candidate is joined only for its names, and a missing row means anonymous.
    """
    with store.read() as conn:
        row = conn.execute(
            sa.select(submissions, candidates.c.first_name, candidates.c.last_name)
            .outerjoin(candidates, candidates.c.id == submissions.c.candidate_id)
            .where(submissions.c.id == submission_id)).mappings().first()
    if row is None:
        raise WorkflowError(f"unknown submission {show(submission_id)}")
    return {**{k: row[k] for k in submissions.c.keys()}, "candidate": candidate_label(store, dict(row))}


def submission_record(store: Store, submission_id: int) -> dict:
    """A submission with its candidate's id, names and e-mail: the certification office's view (letters)."""
    with store.read() as conn:
        row = conn.execute(
            sa.select(submissions, candidates.c.external_id.label("candidate_external_id"),
                      candidates.c.first_name, candidates.c.last_name, candidates.c.email)
            .join(candidates, candidates.c.id == submissions.c.candidate_id)
            .where(submissions.c.id == submission_id)).mappings().first()
    if row is None:
        raise WorkflowError(f"unknown submission {show(submission_id)}")
    return dict(row)


def _lock_submission(tx, submission_id: int) -> dict:
    """The submission row as the transaction sees it, locked until commit, for a step that changes it.

    Every such step reads the state here, never from before its transaction: two kernels acting on one submission
    then run one after the other. PostgreSQL takes a row lock (SELECT ... FOR UPDATE), so the second waits and,
    under READ COMMITTED, then sees the first's writes; SQLite ignores FOR UPDATE, and BEGIN IMMEDIATE already
    lets one writer in at a time.
    """
    row = tx.execute(sa.select(submissions).where(submissions.c.id == submission_id).with_for_update()
                     ).mappings().first()
    if row is None:
        raise WorkflowError(f"unknown submission {submission_id!r}")
    return dict(row)


def candidate_label(store: Store, sub: dict) -> str:
    """What a rater is shown for the candidate: the name, or an anonymous label where the program hides it."""
    if program(store, sub["program_id"]).hide_candidate_from_raters or sub.get("first_name") is None:
        return f"Candidate #{sub['id']:05d}"
    return f"{sub['first_name']} {sub['last_name']}"


#: The PostgreSQL channel on which a rater's final evaluation wakes the settle service.
SETTLE_CHANNEL = "evalkit_settle"

#: Who the audit log names for the settle service's comparisons.
SETTLE_ACTOR = "evalkit settle"


# --- assigning ---------------------------------------------------------------------------------------------


def _open_workload(conn) -> dict[int, int]:
    rows = conn.execute(sa.select(assignments.c.rater_id, sa.func.count()).where(assignments.c.status != "final")
                        .group_by(assignments.c.rater_id)).all()
    return dict(rows)


def _eligible(conn, sub: dict, role: str) -> list[dict]:
    """Active raters who may take this submission: not already on it, with no declared conflict, and, for the
    fresh evaluation an upheld appeal opens, none who evaluated the original."""
    on_it = [sub["id"]] + ([sub["reevaluates_id"]] if sub.get("reevaluates_id") else [])
    taken = set(conn.execute(sa.select(assignments.c.rater_id)
                             .where(assignments.c.submission_id.in_(on_it))).scalars())
    conflicted = set(conn.execute(sa.select(conflicts.c.rater_id)
                                  .where(conflicts.c.candidate_id == sub["candidate_id"])).scalars())
    query = sa.select(raters).where(raters.c.active.is_(True))
    if role == "adjudicator":
        query = query.where(raters.c.is_adjudicator.is_(True))
    return [dict(r) for r in conn.execute(query).mappings() if r["id"] not in taken | conflicted]


def assign_raters(store: Store, submission_id: int, usernames: Iterable[str] | None = None, n: int | None = None,
                  actor: str = "admin") -> list[str]:
    """Assign independent raters; returns their usernames.

    Given ``usernames``, exactly those are assigned (each checked); otherwise the ``n`` (default: the program's
    raters per submission) eligible raters with the fewest open assignments are chosen. A rater already on the
    submission, or with a declared conflict of interest with the candidate, is refused, and no rater is added
    once one has submitted final scores.
    """
    with store.transaction(actor) as tx:
        sub = _lock_submission(tx, submission_id)
        if sub["state"] not in ("received", "scoring"):
            raise WorkflowError(f"submission {submission_id} is {sub['state']}; raters can only be assigned before "
                                "scores are compared")
        # A rater added once another's final scores exist (which an admin can read) would change who decides.
        final = tx.execute(sa.select(raters.c.username).join(assignments, assignments.c.rater_id == raters.c.id)
                           .where(assignments.c.submission_id == submission_id, assignments.c.status == "final")
                           .order_by(raters.c.username)).scalars().all()
        if final:
            raise WorkflowError(f"submission {submission_id}: {', '.join(final)} already submitted final scores; "
                                "raters can only be added before the first final evaluation")
        prog = program(store, sub["program_id"])
        eligible = _eligible(tx.conn, sub, "rater")
        by_name = {r["username"]: r for r in eligible}
        if usernames is not None:
            usernames = list(usernames)
            if len(set(usernames)) != len(usernames):
                raise WorkflowError("the same rater is named twice; raters must be independent")
            chosen = []
            for u in usernames:
                if u not in by_name:
                    r = _rater(tx.conn, u)  # unknown rater -> its own message
                    reason = "is inactive" if not r["active"] else \
                        ("is already assigned to it, evaluated the submission it re-evaluates, or has a declared "
                         "conflict of interest with the candidate")
                    raise WorkflowError(f"rater {u} cannot score submission {submission_id}: {reason}")
                chosen.append(by_name[u])
        else:
            already = tx.execute(sa.select(sa.func.count()).select_from(assignments).where(
                assignments.c.submission_id == submission_id, assignments.c.role == "rater")).scalar()
            wanted = (n if n is not None else prog.raters_per_submission) - already
            if wanted <= 0:
                return []
            load = _open_workload(tx.conn)
            # Adjudicators last, so that one stays free to resolve a disagreement.
            ranked = sorted(eligible, key=lambda r: (r["is_adjudicator"], load.get(r["id"], 0), r["username"]))
            if len(ranked) < wanted:
                raise WorkflowError(f"submission {submission_id} needs {wanted} more rater(s) but only "
                                    f"{len(ranked)} eligible rater(s) are free of conflicts")
            chosen = ranked[:wanted]
        now = utcnow()
        for r in chosen:
            tx.insert(assignments, {"submission_id": submission_id, "rater_id": r["id"], "role": "rater",
                                    "status": "assigned", "assigned_at": now}, action="assign")
        total = tx.execute(sa.select(sa.func.count()).select_from(assignments).where(
            assignments.c.submission_id == submission_id, assignments.c.role == "rater")).scalar()
        if total >= _raters_needed(prog) and sub["state"] == "received":
            tx.update(submissions, {"id": submission_id}, {"state": "scoring"})
    return [r["username"] for r in chosen]


# --- scoring -----------------------------------------------------------------------------------------------


def _assignment(conn, submission_id: int, username: str, role: str | None = None) -> dict:
    rater = _rater(conn, username)
    query = sa.select(assignments).where(assignments.c.submission_id == submission_id,
                                         assignments.c.rater_id == rater["id"])
    row = conn.execute(query).mappings().first()
    if row is None or (role and row["role"] != role):
        raise WorkflowError(f"rater {username} is not assigned to submission {submission_id}"
                            + (f" as {role}" if role else ""))
    return dict(row)


def _write_scores(tx, assignment: dict, rubric: Rubric, levels: Mapping, feedback: Mapping, now) -> None:
    unknown = set(feedback) - set(rubric.criterion_ids)
    if unknown:
        raise WorkflowError(f"rubric {rubric.id}: no criterion {sorted(unknown)[0]!r}")
    for cid in sorted(set(levels) | set(feedback)):
        key = {"assignment_id": assignment["id"], "criterion_id": cid}
        old = tx.get(criterion_scores, key)
        values = {
            "level": levels.get(cid, old["level"] if old else None),
            "feedback": feedback.get(cid, old["feedback"] if old else "") or "",
            "rubric_version": rubric.version,
        }
        if old is None or any(old[k] != v for k, v in values.items()):
            tx.upsert(criterion_scores, key, {**values, "updated_at": now}, action="score")


def save_draft(store: Store, submission_id: int, username: str, levels: Mapping[str, int | None] | None = None,
               feedback: Mapping[str, str] | None = None, comment: str | None = None) -> dt.datetime:
    """Save a rater's work in progress (any subset of criteria); returns the time it was saved.

    Levels are checked against the rubric the submission was received under; a final evaluation cannot be
    changed.
    """
    sub = submission(store, submission_id)
    rubric = rubric_for(store, sub["rubric_version"])
    checked = scoring.validate_levels(rubric, levels or {})
    now = utcnow()
    with store.transaction(username) as tx:
        sub = _lock_submission(tx, submission_id)
        a = _assignment(tx.conn, submission_id, username)
        if a["status"] == "final":
            raise WorkflowError(f"submission {submission_id}: {username}'s evaluation is final and cannot change")
        if a["role"] == "adjudicator" and sub["state"] != "adjudication":
            raise WorkflowError(f"submission {submission_id} is {sub['state']}, not in adjudication")
        _write_scores(tx, a, rubric, checked, feedback or {}, now)
        update = {"status": "draft", "saved_at": now}
        if comment is not None:
            update["comment"] = comment
        tx.update(assignments, {"id": a["id"]}, update, action="save_draft")
    return now


def _own_scores(conn, assignment_id: int) -> tuple[dict, dict]:
    rows = conn.execute(sa.select(criterion_scores).where(criterion_scores.c.assignment_id == assignment_id)).mappings()
    levels, feedback = {}, {}
    for r in rows:
        levels[r["criterion_id"]] = r["level"]
        feedback[r["criterion_id"]] = r["feedback"]
    return levels, feedback


def submit_final(store: Store, submission_id: int, username: str, levels: Mapping | None = None,
                 feedback: Mapping | None = None, comment: str | None = None, today: dt.date | None = None) -> str:
    """Make a rater's evaluation final (saving ``levels``/``feedback`` given here first).

    Refused, listing every gap, unless every criterion has a level and every criterion below the standard has
    feedback. When the last rater submits, the raters are compared: within tolerance the submission is decided
    on the mean of their levels; beyond it, it goes to adjudication. Returns the submission's new state.
    """
    sub = submission(store, submission_id)
    rubric = rubric_for(store, sub["rubric_version"])
    checked = scoring.validate_levels(rubric, levels or {})
    now = utcnow()
    with store.transaction(username) as tx:
        sub = _lock_submission(tx, submission_id)  # the other rater's final, if committed, is seen below
        a = _assignment(tx.conn, submission_id, username, role="rater")
        if a["status"] == "final":
            raise WorkflowError(f"submission {submission_id}: {username}'s evaluation is already final")
        if sub["state"] != "scoring":
            raise WorkflowError(f"submission {submission_id} is {sub['state']}; it is not open for scoring")
        _write_scores(tx, a, rubric, checked, feedback or {}, now)
        own_levels, own_feedback = _own_scores(tx.conn, a["id"])
        gaps = scoring.missing_for_final(rubric, own_levels, own_feedback)
        if gaps:
            raise WorkflowError(f"submission {submission_id} cannot be final: " + "; ".join(gaps))
        update = {"status": "final", "saved_at": now, "submitted_at": now}
        if comment is not None:
            update["comment"] = comment
        tx.update(assignments, {"id": a["id"]}, update, action="submit_final")
        if store.person is not None:
            # A person's own database role cannot read the other raters' scores (row-level security): the office's
            # settle service compares them (settle_ready), woken by this notification when the commit lands.
            tx.execute(sa.select(sa.func.pg_notify(SETTLE_CHANNEL, str(submission_id))))
            return "scoring"
        return _compare_if_complete(tx, sub, rubric, today or dt.date.today())


def ready_to_settle(store: Store) -> list[int]:
    """Submissions being scored whose raters (two or more) have all submitted final scores, by id."""
    rater = assignments.c.role == "rater"
    with store.read() as conn:
        return list(conn.execute(
            sa.select(submissions.c.id).join(assignments, assignments.c.submission_id == submissions.c.id)
            .where(submissions.c.state == "scoring", rater).group_by(submissions.c.id)
            .having(sa.func.count() >= 2, sa.func.sum(sa.case((assignments.c.status == "final", 0), else_=1)) == 0)
            .order_by(submissions.c.id)).scalars())


def settle(store: Store, submission_id: int, today: dt.date | None = None, actor: str = SETTLE_ACTOR) -> str:
    """Compare the raters of a submission once all are final (decided, or sent to adjudication); returns its state.

    This reads every rater's scores, so it runs as the database's owner (the settle service of ``evalkit hub``,
    ``evalkit settle``), never in a rater's session: a rater who submits last on PostgreSQL leaves the comparison
    to it. In a single-desk workspace :func:`submit_final` compares at once and there is nothing left to settle.
    """
    if store.person is not None:
        raise WorkflowError(f"{store.person} cannot settle submissions: comparing reads every rater's scores; run "
                            "`evalkit settle` as the database's owner")
    with store.transaction(actor) as tx:
        sub = _lock_submission(tx, submission_id)
        if sub["state"] != "scoring":
            return sub["state"]
        return _compare_if_complete(tx, sub, rubric_for(store, sub["rubric_version"]), today or dt.date.today())


def settle_ready(store: Store, today: dt.date | None = None) -> dict[int, str]:
    """:func:`settle` every submission :func:`ready_to_settle`; returns {submission: new state}."""
    return {sid: settle(store, sid, today) for sid in ready_to_settle(store)}


def _final_scores(conn, submission_id: int, role: str = "rater") -> dict[str, tuple[dict, dict]]:
    rows = conn.execute(sa.select(assignments.c.id, assignments.c.status, raters.c.username)
                        .join(raters, raters.c.id == assignments.c.rater_id)
                        .where(assignments.c.submission_id == submission_id, assignments.c.role == role)).all()
    return {username: _own_scores(conn, aid) for aid, status, username in rows if status == "final"}


def _compare_if_complete(tx, sub: dict, rubric: Rubric, today: dt.date) -> str:
    statuses = tx.execute(sa.select(assignments.c.status).where(
        assignments.c.submission_id == sub["id"], assignments.c.role == "rater")).scalars().all()
    if len(statuses) < 2 or any(s != "final" for s in statuses):
        return "scoring"
    finals = _final_scores(tx.conn, sub["id"])
    by_rater = {u: lv for u, (lv, _) in finals.items()}
    if sub["is_benchmark"]:
        # A benchmark ("gold") submission calibrates raters: the lead SME's scores are the reference, not a vote.
        leads = set(tx.execute(sa.select(raters.c.username).where(raters.c.is_lead.is_(True))).scalars())
        gold = sorted(leads & set(finals))
        if gold:
            levels, feedback = finals[gold[0]]
            _decide(tx, sub, rubric, {k: float(v) for k, v in levels.items()}, feedback, "benchmark", gold[0], today)
            return "decided"
    comparison = scoring.compare_raters(rubric, by_rater)
    if comparison.needs_adjudication:
        tx.update(submissions, {"id": sub["id"]}, {"state": "adjudication"}, action="route_adjudication")
        return "adjudication"
    resolved = scoring.resolve_levels(rubric, by_rater)
    merged = {c.id: _merge_feedback(fb.get(c.id, "") for _, fb in finals.values()) for c in rubric.criteria}
    _decide(tx, sub, rubric, resolved, merged, "agreement", "raters in agreement", today)
    return "decided"


def _merge_feedback(texts: Iterable[str]) -> str:
    seen: list[str] = []
    for t in texts:
        t = (t or "").strip()
        if t and t not in seen:
            seen.append(t)
    return "\n\n".join(seen)


def _decide(tx, sub: dict, rubric: Rubric, resolved: Mapping[str, float], feedback: Mapping[str, str],
            method: str, by: str, today: dt.date) -> None:
    result = scoring.outcome(rubric, resolved)
    for c in rubric.criteria:
        tx.insert(resolved_scores, {"submission_id": sub["id"], "criterion_id": c.id, "level": resolved[c.id],
                                    "feedback": feedback.get(c.id, "") or ""}, action="resolve")
    tx.insert(decisions, {"submission_id": sub["id"], "result": result.result, "total_percent": result.total,
                          "method": method, "decided_on": today, "decided_by": by,
                          "rubric_version": rubric.version}, action="decide")
    tx.update(submissions, {"id": sub["id"]}, {"state": "decided"}, action="decide")


# --- adjudication ------------------------------------------------------------------------------------------


class _Taken(WorkflowError):
    """A submission that already has an adjudicator: ``holder`` is their username (None where the database does
    not let this session see who), ``at`` when they took it (None when unknown)."""

    def __init__(self, submission_id: int, holder: str | None, at: dt.datetime | None = None,
                 just_now: bool = False):
        self.submission_id, self.holder, self.at, self.just_now = submission_id, holder, at, just_now
        super().__init__(f"submission {submission_id} already has "
                         + (f"adjudicator {holder}" if holder else "another adjudicator"))

    def taken_line(self) -> str:
        """The adjudicator's one line: who took it, and when (a moment ago, or the day and hour)."""
        who = self.holder or "another adjudicator"
        if self.just_now or (self.at is not None and utcnow() - self.at <= dt.timedelta(minutes=10)):
            when = " a moment ago"
        elif self.at is not None:
            when = f" on {self.at.replace(tzinfo=dt.timezone.utc).astimezone():%Y-%m-%d at %H:%M}"
        else:
            when = ""
        return f"submission {self.submission_id} was taken by {who}{when}"


def _adjudicator_holder(store: Store, submission_id: int, just_now: bool = False) -> _Taken | None:
    """Who adjudicates the submission now, read afresh after a take failed in the database: None when nobody does.

    Under row-level security an adjudicator may neither read another's assignment nor, once it is taken, the
    submission itself: a submission they could lock a moment ago and can no longer see was taken by someone they
    are not allowed to name."""
    with store.read() as conn:
        row = conn.execute(sa.select(raters.c.username, assignments.c.assigned_at)
                           .join(assignments, assignments.c.rater_id == raters.c.id)
                           .where(assignments.c.submission_id == submission_id,
                                  assignments.c.role == "adjudicator")).first()
        if row is not None:
            return _Taken(submission_id, row.username, row.assigned_at, just_now)
        if store.person is not None and conn.execute(
                sa.select(submissions.c.id).where(submissions.c.id == submission_id)).first() is None:
            return _Taken(submission_id, None, None, just_now)
    return None


def assign_adjudicator(store: Store, submission_id: int, username: str | None = None, actor: str = "admin") -> str:
    """Give a submission in adjudication to an adjudicator who was not one of its raters and has no conflict.

    Two at the same moment on one submission: one gets it, the other is refused with one line
    (:class:`WorkflowError`) naming who has it, and nothing of the refused one is stored, whether the database
    made it wait for the first (a row lock, SQLite's write lock) or refused its write (a unique key, a serialization
    failure, or on PostgreSQL a row-level security check that sees the first's assignment)."""
    try:
        with store.transaction(actor) as tx:
            sub = _lock_submission(tx, submission_id)
            if sub["state"] != "adjudication":
                raise WorkflowError(f"submission {submission_id} is {sub['state']}, not in adjudication")
            existing = tx.execute(sa.select(raters.c.username, assignments.c.assigned_at)
                                  .join(assignments, assignments.c.rater_id == raters.c.id)
                                  .where(assignments.c.submission_id == submission_id,
                                         assignments.c.role == "adjudicator")).first()
            if existing:
                raise _Taken(submission_id, existing.username, existing.assigned_at)
            eligible = {r["username"]: r for r in _eligible(tx.conn, sub, "adjudicator")}
            if username is None:
                load = _open_workload(tx.conn)
                if not eligible:
                    raise WorkflowError(f"no eligible adjudicator for submission {submission_id}")
                username = min(eligible.values(), key=lambda r: (load.get(r["id"], 0), r["username"]))["username"]
            elif username not in eligible:
                r = _rater(tx.conn, username)
                reason = "is not an adjudicator" if not r["is_adjudicator"] else \
                    "scored it or has a declared conflict of interest with the candidate"
                raise WorkflowError(f"{username} cannot adjudicate submission {submission_id}: {reason}")
            tx.insert(assignments, {"submission_id": submission_id, "rater_id": eligible[username]["id"],
                                    "role": "adjudicator", "status": "assigned", "assigned_at": utcnow()},
                      action="assign_adjudicator")
    except (StoreConflict, sa.exc.DBAPIError):
        # Refused by the database because another take committed first: say who has it, not the driver's words.
        taken = _adjudicator_holder(store, submission_id, just_now=True)
        if taken is None or (username is not None and taken.holder == username):
            raise
        raise taken from None
    return username


def take_adjudication(store: Store, submission_id: int, username: str) -> str:
    """``username`` (an adjudicator) takes a submission waiting for an adjudicator, as the adjudication view's
    "Take" does; returns ``username``.

    Another adjudicator who took it first, a moment before or at the same instant, makes this a one-line
    :class:`WorkflowError` that names them (``submission 17 was taken by adj.lee a moment ago``; "another
    adjudicator" where row-level security hides who), with nothing stored for this one. A submission this
    adjudicator already has is simply theirs."""
    try:
        return assign_adjudicator(store, submission_id, username, actor=username)
    except _Taken as exc:
        if exc.holder == username:  # taken already by this adjudicator (a second tab, a double click)
            return username
        raise WorkflowError(exc.taken_line()) from None
    except WorkflowError:
        # Under row-level security a submission taken by someone else is no longer visible at all ("unknown").
        taken = _adjudicator_holder(store, submission_id) if store.person is not None else None
        if taken is not None and taken.holder != username:
            raise WorkflowError(taken.taken_line() + ", or is no longer open to you") from None
        raise


def adjudication_view(store: Store, submission_id: int, username: str) -> dict:
    """For the assigned adjudicator: every rater's levels and feedback per criterion, disagreements marked."""
    sub = submission(store, submission_id)
    rubric = rubric_for(store, sub["rubric_version"])
    with store.read() as conn:
        _assignment(conn, submission_id, username, role="adjudicator")
        finals = _final_scores(conn, submission_id)
    comparison = scoring.compare_raters(rubric, {u: lv for u, (lv, _) in finals.items()})
    disputed = {cid for cid, _ in comparison.disagreements}
    rows = []
    for c in rubric.criteria:
        rows.append({"criterion": c.id, "domain": c.domain, "disputed": c.id in disputed,
                     "levels": {u: lv.get(c.id) for u, (lv, _) in finals.items()},
                     "feedback": {u: fb.get(c.id, "") for u, (_, fb) in finals.items()}})
    outcomes = {u: scoring.outcome(rubric, lv).result for u, (lv, _) in finals.items()}
    return {"submission": submission_id, "rubric": rubric, "criteria": rows, "outcomes": outcomes,
            "decision_split": comparison.decision_split}


def adjudicate(store: Store, submission_id: int, username: str, levels: Mapping[str, int],
               feedback: Mapping[str, str], today: dt.date | None = None) -> str:
    """The adjudicator's resolved level for every criterion and merged feedback decide the submission."""
    sub = submission(store, submission_id)
    rubric = rubric_for(store, sub["rubric_version"])
    checked = scoring.validate_levels(rubric, levels)
    now = utcnow()
    with store.transaction(username) as tx:
        sub = _lock_submission(tx, submission_id)
        if sub["state"] != "adjudication":
            raise WorkflowError(f"submission {submission_id} is {sub['state']}, not in adjudication")
        a = _assignment(tx.conn, submission_id, username, role="adjudicator")
        _write_scores(tx, a, rubric, checked, feedback, now)
        own_levels, own_feedback = _own_scores(tx.conn, a["id"])
        gaps = scoring.missing_for_final(rubric, own_levels, own_feedback)
        if gaps:
            raise WorkflowError(f"adjudication of submission {submission_id} is incomplete: " + "; ".join(gaps))
        tx.update(assignments, {"id": a["id"]}, {"status": "final", "saved_at": now, "submitted_at": now},
                  action="adjudicate")
        _decide(tx, sub, rubric, {k: float(v) for k, v in own_levels.items()}, own_feedback, "adjudication",
                username, today or dt.date.today())
    return "decided"


# --- reading, with blinding --------------------------------------------------------------------------------


def rater_scores(store: Store, submission_id: int, username: str, of: str | None = None) -> dict:
    """A rater's scores on a submission: ``{"levels":..., "feedback":..., "status":..., "comment":...}``.

    ``of`` names the rater whose scores are wanted (default: the caller). Before the decision a rater may read
    only their own; the assigned adjudicator may read every rater's once the submission is in adjudication.
    """
    of = of or username
    sub = submission(store, submission_id)
    with store.read() as conn:
        viewer = _assignment(conn, submission_id, username)
        if of != username and sub["state"] not in ("decided", "notified"):
            if not (viewer["role"] == "adjudicator" and sub["state"] == "adjudication"):
                raise WorkflowError(f"blind scoring: {username} cannot see {of}'s scores on submission "
                                    f"{submission_id} before it is decided")
        target = _assignment(conn, submission_id, of)
        levels, feedback = _own_scores(conn, target["id"])
    return {"levels": levels, "feedback": feedback, "status": target["status"], "comment": target["comment"],
            "saved_at": target["saved_at"], "rubric_version": sub["rubric_version"]}


def decided_result(store: Store, submission_id: int) -> dict | None:
    """The decision with resolved levels, feedback, totals per domain; None if not decided."""
    with store.read() as conn:
        d = conn.execute(sa.select(decisions).where(decisions.c.submission_id == submission_id)).mappings().first()
        if d is None:
            return None
        rows = conn.execute(sa.select(resolved_scores)
                            .where(resolved_scores.c.submission_id == submission_id)).mappings().all()
    rubric = rubric_for(store, d["rubric_version"])
    levels = {r["criterion_id"]: r["level"] for r in rows}
    return {**dict(d), "levels": levels, "feedback": {r["criterion_id"]: r["feedback"] for r in rows},
            "domains": scoring.domain_percents(rubric, levels), "outcome": scoring.outcome(rubric, levels),
            "rubric": rubric}


def record_notification(store: Store, submission_id: int, issued_on, files: list[dict],
                        actor: str = "admin") -> bool:
    """Record that the result letter went out; returns whether it was late (after the notification deadline).

    The issue date can be neither before the decision nor in the future. A deficient result's resubmission
    deadline is set from it, as the letter states it: the program's resubmission business days after the letter.
    """
    with store.transaction(actor) as tx:
        return mark_notified(tx, store, submission_id, issued_on, files)


def mark_notified(tx, store: Store, submission_id: int, issued_on, files: list[dict]) -> bool:
    """:func:`record_notification` inside the caller's transaction (the letters batch queues the letter's e-mail
    in the same one)."""
    issued_on = _as_date(issued_on, "issue date")
    if issued_on > dt.date.today():
        raise WorkflowError(f"issue date {issued_on} is in the future")
    sub = _lock_submission(tx, submission_id)
    if sub["state"] != "decided":
        raise WorkflowError(f"submission {submission_id} is {sub['state']}; only a decided submission is notified")
    # An impossible date would also make the late flag, which the deadline report trusts, wrong.
    decision = tx.get(decisions, {"submission_id": submission_id})
    decided_on = decision["decided_on"]
    if issued_on < decided_on:
        raise WorkflowError(f"issue date {issued_on} is before the decision of submission {submission_id} "
                            f"on {decided_on}")
    late = issued_on > sub["due_on"]
    tx.insert(notifications, {"submission_id": submission_id, "issued_on": issued_on, "late": late,
                              "files": json.dumps(files), "created_at": utcnow()}, action="notify")
    tx.update(submissions, {"id": submission_id}, {"state": "notified"}, action="notify")
    if decision["result"] == "deficient" and not sub["is_benchmark"]:
        tx.update(decisions, {"submission_id": submission_id},
                  {"resubmit_by": program(store, sub["program_id"]).resubmission_due(issued_on)}, action="notify")
    return late


# --- views -------------------------------------------------------------------------------------------------


#: A rater's states of a queue row that are theirs to act on (shown first).
QUEUE_TODO = ("not started", "draft", "adjudicate")

#: Submission states whose queue rows are history (shown under "All" only).
_DONE_STATES = ("decided", "notified")


def queue_order(row: dict) -> tuple:
    """The order of queue rows: what is theirs to do first, then by business days left, then by submission."""
    return row["state"] not in QUEUE_TODO, row["days_left"], row["submission"]


def queue(store: Store, username: str, today: dt.date | None = None, *, done: bool | None = None,
          role: str | None = None, only: Iterable[int] | None = None) -> list[dict]:
    """What a rater has to do: their assigned submissions, most urgent first (:func:`queue_order`).

    Each row: submission, program, attempt, received, due (notification deadline), business days left,
    state for this rater (not started / draft / final / in adjudication / decided), overdue, role, candidate
    (anonymised where the program says so).

    The rows are read and computed for what is asked only, so that the open work costs what it is, however long
    the rater's history: ``done=False`` only the submissions not yet decided, ``done=True`` only the decided and
    notified ones (default both); ``role`` only those assignments (``rater`` or ``adjudicator``); ``only`` only
    these submissions.
    """
    today = today or dt.date.today()
    query = (sa.select(submissions.c.id, submissions.c.program_id, submissions.c.attempt, submissions.c.received_on,
                       submissions.c.due_on, submissions.c.state, assignments.c.status, assignments.c.role,
                       candidates.c.first_name, candidates.c.last_name)
             .join(assignments, assignments.c.submission_id == submissions.c.id)
             .outerjoin(candidates, candidates.c.id == submissions.c.candidate_id))  # hidden: see submission()
    if done is not None:
        query = query.where(submissions.c.state.in_(_DONE_STATES) if done else submissions.c.state.not_in(_DONE_STATES))
    if role is not None:
        query = query.where(assignments.c.role == role)
    if only is not None:
        query = query.where(submissions.c.id.in_(sorted({int(i) for i in only})))
    with store.read() as conn:
        rid = _rater(conn, username)["id"]
        rows = conn.execute(query.where(assignments.c.rater_id == rid)).all()
    # business days left, counted at once for each program's calendar
    left: list[int] = [0] * len(rows)
    by_program: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_program.setdefault(r.program_id, []).append(i)
    hidden = {}
    for prog_id, where in by_program.items():
        prog = program(store, prog_id)
        hidden[prog_id] = prog.hide_candidate_from_raters
        counted = business_days_from(today, [rows[i].due_on for i in where], prog.holidays)
        for i, n in zip(where, counted.tolist()):
            left[i] = n
    rater_state = {"assigned": "not started", "draft": "draft", "final": "final"}
    out = []
    for r, days_left in zip(rows, left):
        if r.state in _DONE_STATES:
            state = "decided"
        elif r.role == "adjudicator":
            state = "adjudicate" if r.status != "final" else "final"
        elif r.state == "adjudication":
            state = "in adjudication"
        else:
            state = rater_state[r.status]
        out.append({
            "submission": r.id, "program": r.program_id, "attempt": r.attempt,
            # as candidate_label: the name, or an anonymous label where the program hides it (or the row is hidden)
            "candidate": f"Candidate #{r.id:05d}" if hidden[r.program_id] or r.first_name is None
            else f"{r.first_name} {r.last_name}",
            "received": r.received_on, "due": r.due_on, "days_left": days_left, "state": state, "role": r.role,
            # Past the deadline by the calendar, as in due_report: the weekend after a Friday deadline is late
            # though no business day has passed.
            "overdue": today > r.due_on and state != "decided",
        })
    out.sort(key=queue_order)
    return out


def list_raters(store: Store, role: str | None = None) -> list[dict]:
    """The active raters (username, name, email, is_adjudicator, is_lead), by username.

    ``role="rater"``: those who score (not adjudicators, who are kept free, unless they hold a rater assignment);
    ``role="adjudicator"``: the adjudicators; None: everyone.
    """
    query = sa.select(raters).where(raters.c.active.is_(True)).order_by(raters.c.username)
    if role == "adjudicator":
        query = query.where(raters.c.is_adjudicator.is_(True))
    elif role == "rater":
        scoring = sa.select(assignments.c.rater_id).where(assignments.c.role == "rater")
        query = query.where(sa.or_(raters.c.is_adjudicator.is_(False), raters.c.id.in_(scoring)))
    elif role is not None:
        raise WorkflowError(f"role {show(role)}: expected 'rater', 'adjudicator' or None")
    with store.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def open_adjudications(store: Store, username: str, today: dt.date | None = None) -> list[dict]:
    """Submissions in adjudication with no adjudicator yet that ``username`` may take (an adjudicator who did not
    score it and has no declared conflict of interest), most urgent first; rows as in :func:`queue`."""
    today = today or dt.date.today()
    with store.read() as conn:
        if not _rater(conn, username)["is_adjudicator"]:
            return []
        taken = sa.select(assignments.c.submission_id).where(assignments.c.role == "adjudicator")
        rows = conn.execute(sa.select(submissions, candidates.c.first_name, candidates.c.last_name)
                            .outerjoin(candidates, candidates.c.id == submissions.c.candidate_id)
                            .where(submissions.c.state == "adjudication", submissions.c.id.not_in(taken))
                            ).mappings().all()
        rows = [dict(r) for r in rows
                if any(e["username"] == username for e in _eligible(conn, dict(r), "adjudicator"))]
    out = []
    for r in rows:
        left = business_days_between(today, r["due_on"], program(store, r["program_id"]).holidays)
        out.append({"submission": r["id"], "program": r["program_id"], "attempt": r["attempt"],
                    "candidate": candidate_label(store, r), "received": r["received_on"], "due": r["due_on"],
                    "days_left": left, "state": "unassigned", "role": "adjudicator",
                    "overdue": today > r["due_on"]})
    return sorted(out, key=lambda q: (q["days_left"], q["submission"]))


def due_report(store: Store, today: dt.date | None = None) -> list[dict]:
    """Every submission not yet notified (benchmark submissions aside): its deadline, business days left, late,
    and due this week (within the next five business days)."""
    today = today or dt.date.today()
    with store.read() as conn:
        rows = conn.execute(
            sa.select(submissions.c.id, submissions.c.program_id, submissions.c.attempt, submissions.c.state,
                      submissions.c.received_on, submissions.c.due_on, candidates.c.external_id)
            .join(candidates, candidates.c.id == submissions.c.candidate_id)
            .where(submissions.c.state != "notified", submissions.c.is_benchmark.is_(False))
            .order_by(submissions.c.due_on, submissions.c.id)).mappings()
        rows = [dict(r) for r in rows]
    for r in rows:
        prog = program(store, r["program_id"])
        r["days_left"] = business_days_between(today, r["due_on"], prog.holidays)
        r["late"] = today > r["due_on"]
        # "This week" is the coming five business days, so on a Friday next week's deadlines already show.
        r["due_this_week"] = not r["late"] and r["days_left"] <= 5
    return rows


def late_notifications(store: Store) -> list[dict]:
    """Letters that went out after their notification deadline."""
    with store.read() as conn:
        rows = conn.execute(sa.select(notifications.c.submission_id, notifications.c.issued_on, submissions.c.due_on)
                            .join(submissions, submissions.c.id == notifications.c.submission_id)
                            .where(notifications.c.late.is_(True)).order_by(notifications.c.issued_on)).mappings()
        return [dict(r) for r in rows]


def pipeline_counts(store: Store) -> dict[str, dict[str, int]]:
    """Submissions per program and state."""
    with store.read() as conn:
        rows = conn.execute(sa.select(submissions.c.program_id, submissions.c.state, sa.func.count())
                            .group_by(submissions.c.program_id, submissions.c.state)).all()
    out: dict[str, dict[str, int]] = {}
    for prog, state, n in rows:
        out.setdefault(prog, {s: 0 for s in STATES})[state] = n
    return out
