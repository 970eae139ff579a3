"""The candidate's self-assessment: opened through the hub or a single-use link, saved as drafts, submitted, and
read back as strengths and development areas per competency domain.

A candidate reaches their self-assessment in one of two ways:

* signed in through the hub, as a person linked to the candidate (:func:`link_person`): :func:`my_candidate`
  says which candidate they are;
* through a link with a token (:func:`issue_link`), for bodies without a hub. The token is 32 random bytes
  (``secrets.token_urlsafe``), shown once; only its SHA-256 is stored. It expires (default 14 days) and is used
  up when the self-assessment it opened is submitted. The token page runs in the office's server and checks the
  token here, in Python, before anything is read or written (:func:`open_link`). The link is the address that
  page is served at (the workspace setting ``candidate_link_base``, :func:`set_link_base`) with ``/?token=...``
  (:func:`link_url`).

Every refusal is one line (:class:`SelfAssessmentRefused`) and stores nothing: an expired, used or unknown token;
unrated statements in a final submission; a level off the scale; a change after submission.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import sqlalchemy as sa

from ..access import check_username, grant
from ..evaluation import workflow
from ..evaluation.errors import WorkflowError
from ..instruments.self_assessment import SelfAssessment, SelfAssessmentError, parse_self_assessment, \
    self_assessment_for
from ..messages import show
from ..store import (Store, access_tokens, assessment_results, candidates, cc_agents, person_links,
                     self_assessment_answers, self_assessments, utcnow)

__all__ = ["SelfAssessmentRefused", "LINK_DAYS", "LINK_BASE_SETTING", "token_hash", "check_link_base", "set_link_base",
           "link_base", "link_url", "issue_link", "LINK_NOT_VALID", "NO_LINK", "link_usable", "open_link",
           "link_person", "my_candidate", "my_agent", "start_self_assessment", "save_draft", "submit_self_assessment",
           "self_assessment_record", "DomainResult", "SelfAssessmentResult", "self_assessment_result", "result_html",
           "result_pdf"]

#: How long an issued link stays valid by default.
LINK_DAYS = 14


class SelfAssessmentRefused(WorkflowError):
    """A request about a self-assessment that cannot be done as asked; the message is one line."""


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored.

    Examples
    --------
    >>> token_hash("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: The workspace setting holding the address the candidates' link page is served at.
LINK_BASE_SETTING = "candidate_link_base"


def check_link_base(url, what: str = LINK_BASE_SETTING) -> str:
    """The address the candidates' link page is served at, checked: ``http(s)://host[:port][/path]`` with no user,
    query or fragment; returned without a trailing slash. ``what`` names it in the error.

    Examples
    --------
    >>> check_link_base(" https://office.example/self-assessment/ ")
    'https://office.example/self-assessment'
    """
    text = url.strip() if isinstance(url, str) else ""
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - read to check it: a port out of range raises ValueError
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None
            or parts.query or parts.fragment or text.endswith(("?", "#"))):
        raise SelfAssessmentRefused(f"{what} {show(url)}: expected the address the candidates' page "
                                    "is served at, such as https://office.example/self-assessment (http or https, "
                                    "no user, query or fragment)")
    return text.rstrip("/")


def set_link_base(store: Store, url, actor: str = "admin") -> str:
    """Store the address the candidates' link page is served at (the workspace setting ``candidate_link_base``);
    returns it as stored (:func:`check_link_base`)."""
    base = check_link_base(url)
    store.set_setting(LINK_BASE_SETTING, base, actor)
    return base


def link_base(store: Store) -> str | None:
    """The address the candidates' link page is served at, or None where it is not set."""
    return store.get_setting(LINK_BASE_SETTING)


def link_url(base: str, token: str) -> str:
    """The link a candidate opens: the page's address ``base`` with the token.

    Examples
    --------
    >>> link_url("https://office.example/self-assessment", "abc")
    'https://office.example/self-assessment/?token=abc'
    """
    return f"{check_link_base(base)}/?token={token}"


def _candidate(conn, candidate) -> dict:
    if isinstance(candidate, int) and not isinstance(candidate, bool):
        row = conn.execute(sa.select(candidates).where(candidates.c.id == candidate)).mappings().first()
    else:
        row = conn.execute(sa.select(candidates).where(candidates.c.external_id == str(candidate).strip())
                           ).mappings().first()
    if row is None:
        raise SelfAssessmentRefused(f"unknown candidate {show(candidate)}")
    return dict(row)


def _instrument_for(store: Store, program_id: str) -> SelfAssessment:
    try:
        workflow.program(store, program_id)
    except WorkflowError as exc:
        raise SelfAssessmentRefused(str(exc)) from None
    try:
        return self_assessment_for(program_id)
    except SelfAssessmentError as exc:
        raise SelfAssessmentRefused(exc.problems[0]) from None


def issue_link(store: Store, candidate, program_id: str, days: int = LINK_DAYS, actor: str = "admin",
               now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A new single-use link token for ``candidate`` (external id or id) to complete the self-assessment of
    ``program_id``; returns ``(token, expires_at)``. Only the token's SHA-256 is stored: show the token once.

    Raises
    ------
    SelfAssessmentRefused
        Unknown candidate or program, no instrument for the program, a self-assessment already submitted, or
        ``days`` not a whole number from 1 to 90.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 90:
        raise SelfAssessmentRefused(f"days {show(days)}: expected a whole number of days from 1 to 90")
    _instrument_for(store, program_id)
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with store.transaction(actor) as tx:
        cand = _candidate(tx.conn, candidate)
        done = tx.execute(sa.select(self_assessments.c.submitted_at).where(
            self_assessments.c.candidate_id == cand["id"], self_assessments.c.program_id == program_id,
            self_assessments.c.state == "final")).scalar()
        if done is not None:
            raise SelfAssessmentRefused(f"candidate {cand['external_id']} submitted the {program_id} "
                                        f"self-assessment on {done:%Y-%m-%d}; no new link is needed")
        expires = now + dt.timedelta(days=days)
        tx.insert(access_tokens, {"token_sha256": token_hash(token), "purpose": "self_assessment",
                                  "candidate_id": cand["id"], "program_id": program_id, "expires_at": expires,
                                  "used_at": None, "created_by": actor, "created_at": now},
                  action="sa_issue_link")
    return token, expires


#: The one line for a link token that opens nothing: the same for a guessed token and a mistyped one.
LINK_NOT_VALID = "this link is not valid; ask the certification office for a new one"

#: The one line for the page opened with no link token, by someone not signed in as a candidate.
NO_LINK = "Open this page through the self-assessment link you were sent, or sign in as a candidate."


def _checked_link(store: Store, token, now: dt.datetime | None) -> tuple[dict | None, str | None]:
    """The rules of a link token, in one place: ``(row, None)`` where the token opens a self-assessment now, else
    ``(None, reason)``, the one line saying why not. Nothing is written."""
    if not isinstance(token, str) or not 20 <= len(token.strip()) <= 200:
        return None, LINK_NOT_VALID
    now = now or utcnow()
    with store.read() as conn:
        row = conn.execute(sa.select(access_tokens, candidates.c.external_id, candidates.c.first_name)
                           .join(candidates, candidates.c.id == access_tokens.c.candidate_id)
                           .where(access_tokens.c.token_sha256 == token_hash(token.strip()),
                                  access_tokens.c.purpose == "self_assessment")).mappings().first()
        if row is None:
            return None, LINK_NOT_VALID
        used = row["used_at"]
        if used is None:
            used = conn.execute(sa.select(self_assessments.c.submitted_at).where(
                self_assessments.c.candidate_id == row["candidate_id"],
                self_assessments.c.program_id == row["program_id"], self_assessments.c.state == "final")).scalar()
    if used is not None:
        return None, (f"this link was used on {used:%Y-%m-%d}: the self-assessment was submitted; ask the "
                      "certification office if you need to see it again")
    if row["expires_at"] <= now:
        return None, f"this link expired on {row['expires_at']:%Y-%m-%d}; ask the certification office for a new one"
    return dict(row), None


def link_usable(store: Store, token, now: dt.datetime | None = None) -> str | None:
    """None where the link ``token`` opens a self-assessment now, else the one line :func:`open_link` would refuse
    it with (the same rules). Nothing is written and the link is not used up: the candidates' server asks this
    before it starts a page for the link.

    Examples
    --------
    >>> link_usable(None, "too short")
    'this link is not valid; ask the certification office for a new one'
    """
    return _checked_link(store, token, now)[1]


def open_link(store: Store, token, now: dt.datetime | None = None) -> dict:
    """The candidate and program a link token opens: ``{"candidate_id", "external_id", "first_name",
    "program_id", "expires_at", "token_id"}``. Nothing is written.

    Raises
    ------
    SelfAssessmentRefused
        One line, the same for a guessed token and a mistyped one; an expired or used link says so and when
        (:func:`link_usable` says the same without raising).
    """
    row, reason = _checked_link(store, token, now)
    if reason is not None:
        raise SelfAssessmentRefused(reason)
    return {"candidate_id": row["candidate_id"], "external_id": row["external_id"], "first_name": row["first_name"],
            "program_id": row["program_id"], "expires_at": row["expires_at"], "token_id": row["id"]}


# --- people signed in through the hub ---------------------------------------------------------------------


def link_person(store: Store, username: str, candidate=None, agent_id: int | None = None,
                actor: str = "admin") -> dict:
    """Record that the hub user ``username`` is a candidate (external id) or an agent (agent id), so that their
    own page shows their own records, and give them the role (candidate or agent) that lands them on it. Returns
    the link row."""
    username = check_username(username)
    if (candidate is None) == (agent_id is None):
        raise SelfAssessmentRefused("give a candidate or an agent to link the person to (one of the two)")
    with store.transaction(actor) as tx:
        values = {"candidate_id": None, "agent_id": None, "linked_by": actor, "linked_at": utcnow()}
        if candidate is not None:
            values["candidate_id"] = _candidate(tx.conn, candidate)["id"]
        else:
            if tx.execute(sa.select(cc_agents.c.id).where(cc_agents.c.id == agent_id)).scalar() is None:
                raise SelfAssessmentRefused(f"unknown agent {show(agent_id)}")
            values["agent_id"] = agent_id
        column = "candidate_id" if candidate is not None else "agent_id"
        other = tx.execute(sa.select(person_links.c.username).where(
            person_links.c[column] == values[column], person_links.c.username != username)).scalar()
        if other is not None:
            raise SelfAssessmentRefused(f"that {column[:-3]} is already linked to {other}")
        link = tx.upsert(person_links, {"username": username}, values, action="person_link")
    grant(store, username, "candidate" if candidate is not None else "agent", actor)
    return link


def _linked(store: Store, username: str | None, column: str):
    if not username:
        return None
    with store.read() as conn:
        return conn.execute(sa.select(person_links.c[column]).where(person_links.c.username == username)).scalar()


def my_candidate(store: Store, username: str | None) -> int | None:
    """The candidate id the signed-in ``username`` is linked to, or None."""
    return _linked(store, username, "candidate_id")


def my_agent(store: Store, username: str | None) -> int | None:
    """The agent id the signed-in ``username`` is linked to, or None."""
    return _linked(store, username, "agent_id")


# --- the self-assessment ------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _stored_instrument(version: str, source: str) -> SelfAssessment:
    return parse_self_assessment(source, f"<stored self-assessment {version}>")


def self_assessment_record(store: Store, self_assessment_id: int) -> dict:
    """The stored self-assessment with its instrument (``"instrument"``) and answers (``"answers"``)."""
    with store.read() as conn:
        row = conn.execute(sa.select(self_assessments).where(self_assessments.c.id == self_assessment_id)
                           ).mappings().first()
        if row is None:
            raise SelfAssessmentRefused(f"unknown self-assessment {show(self_assessment_id)}")
        answers = {r.statement_id: r.level for r in conn.execute(
            sa.select(self_assessment_answers).where(self_assessment_answers.c.self_assessment_id == row["id"]))}
    record = dict(row)
    record["instrument"] = _stored_instrument(row["instrument_version"], row["instrument_source"])
    record["answers"] = answers
    return record


def start_self_assessment(store: Store, candidate, program_id: str, actor: str = "candidate") -> dict:
    """The candidate's self-assessment of ``program_id``: the one started already, else a new draft on the
    program's current instrument. Returns :func:`self_assessment_record`."""
    instrument = _instrument_for(store, program_id)
    with store.transaction(actor) as tx:
        cand = _candidate(tx.conn, candidate)
        existing = tx.execute(sa.select(self_assessments.c.id).where(
            self_assessments.c.candidate_id == cand["id"], self_assessments.c.program_id == program_id)).scalar()
        if existing is None:
            existing = tx.insert(self_assessments, {
                "candidate_id": cand["id"], "program_id": program_id, "instrument_id": instrument.id,
                "instrument_version": instrument.version, "instrument_source": instrument.source, "state": "draft",
                "started_at": utcnow(), "saved_at": None, "submitted_at": None}, action="sa_start")["id"]
    return self_assessment_record(store, existing)


def _checked_answers(instrument: SelfAssessment, answers: Mapping) -> dict[str, int | None]:
    if not isinstance(answers, Mapping):
        raise SelfAssessmentRefused(f"answers {show(answers)}: expected a rating per statement id")
    out: dict[str, int | None] = {}
    for sid, level in answers.items():
        if sid not in instrument.statement_ids:
            raise SelfAssessmentRefused(f"statement {show(sid)} is not in {instrument.id}")
        if level is None:
            out[sid] = None
            continue
        if isinstance(level, bool) or not isinstance(level, int) or level not in instrument.levels:
            raise SelfAssessmentRefused(f"statement {sid}: rating {show(level)} is not one of the levels "
                                        f"{list(instrument.levels)}")
        out[sid] = level
    return out


def _write_answers(tx, record: dict, answers: dict, now: dt.datetime) -> None:
    for sid, level in answers.items():
        if record["answers"].get(sid, "absent") == level:
            continue
        tx.upsert(self_assessment_answers, {"self_assessment_id": record["id"], "statement_id": sid},
                  {"level": level, "updated_at": now}, action="sa_answer")


def _still_draft(tx, record: dict) -> None:
    state, submitted = tx.execute(sa.select(self_assessments.c.state, self_assessments.c.submitted_at)
                                  .where(self_assessments.c.id == record["id"])).one()
    if state == "final":
        raise SelfAssessmentRefused(f"this self-assessment was submitted on {submitted:%Y-%m-%d}; it can no longer "
                                    "be changed")


def save_draft(store: Store, self_assessment_id: int, answers: Mapping, actor: str = "candidate") -> dict:
    """Save ratings (statement id -> level, or None to clear one) as a draft; returns the record."""
    record = self_assessment_record(store, self_assessment_id)
    checked = _checked_answers(record["instrument"], answers)
    now = utcnow()
    with store.transaction(actor) as tx:
        _still_draft(tx, record)
        _write_answers(tx, record, checked, now)
        tx.update(self_assessments, {"id": record["id"]}, {"saved_at": now}, action="sa_save")
    return self_assessment_record(store, self_assessment_id)


def submit_self_assessment(store: Store, self_assessment_id: int, answers: Mapping | None = None,
                           actor: str = "candidate", token_id: int | None = None) -> dict:
    """Save ``answers`` and submit the self-assessment as final; the link it was opened with (``token_id``) is
    used up. Refused, with nothing stored, while any statement is unrated."""
    record = self_assessment_record(store, self_assessment_id)
    checked = _checked_answers(record["instrument"], answers or {})
    merged = {**record["answers"], **checked}
    unrated = [sid for sid in record["instrument"].statement_ids if merged.get(sid) is None]
    if unrated:
        shown = ", ".join(unrated[:5]) + (", ..." if len(unrated) > 5 else "")
        raise SelfAssessmentRefused(f"{len(unrated)} statement{'s are' if len(unrated) > 1 else ' is'} not rated "
                                    f"({shown}); rate every statement before submitting, or save a draft")
    now = utcnow()
    with store.transaction(actor) as tx:
        _still_draft(tx, record)
        _write_answers(tx, record, checked, now)
        tx.update(self_assessments, {"id": record["id"]}, {"state": "final", "saved_at": now, "submitted_at": now},
                  action="sa_submit")
        if token_id is not None:  # the token page (the office's server): the link is used up
            tx.update(access_tokens, {"id": token_id}, {"used_at": now}, action="sa_link_used")
        # A candidate signed in through the hub has no access to the links (office only): any other link of theirs
        # is refused by open_link once the self-assessment is final.
    return self_assessment_record(store, self_assessment_id)


# --- the result ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainResult:
    domain: str
    mean: float  # mean level of the domain's statements
    label: str  # the scale label nearest the mean
    strength: bool  # mean at or above the instrument's strength_at
    knowledge_assessment: str
    knowledge_result: str  # "passed 82% on 2026-03-01", "not passed yet (best 70%)", "not taken"
    work_product_criteria: tuple[str, ...]
    study: tuple[str, ...]
    statements: tuple[tuple[str, str, int], ...]  # (id, text, level)


@dataclass(frozen=True)
class SelfAssessmentResult:
    candidate: str  # external id
    name: str
    program_id: str
    instrument: SelfAssessment
    submitted_at: dt.datetime | None
    domains: tuple[DomainResult, ...]

    @property
    def strengths(self) -> list[str]:
        return [d.domain for d in self.domains if d.strength]

    @property
    def development_areas(self) -> list[str]:
        return [d.domain for d in self.domains if not d.strength]


def self_assessment_result(store: Store, self_assessment_id: int) -> SelfAssessmentResult:
    """Strengths and development areas per domain of a submitted self-assessment, with the knowledge assessment
    and work-product criteria each domain relates to and what to study.

    Raises
    ------
    SelfAssessmentRefused
        The self-assessment is still a draft.
    """
    record = self_assessment_record(store, self_assessment_id)
    if record["state"] != "final":
        raise SelfAssessmentRefused("this self-assessment is still a draft; submit it to see the result")
    instrument: SelfAssessment = record["instrument"]
    program = workflow.program(store, record["program_id"])
    with store.read() as conn:
        cand = _candidate(conn, record["candidate_id"])
        results = conn.execute(sa.select(assessment_results).where(
            assessment_results.c.candidate_id == cand["id"],
            assessment_results.c.program_id == record["program_id"])).mappings().all()
    domains = []
    for d in instrument.domains:
        levels = [record["answers"][s.id] for s in d.statements]
        mean = sum(levels) / len(levels)
        nearest = min(instrument.scale, key=lambda lv: (abs(lv.level - mean), -lv.level))
        attempts = [r for r in results if r["component"] == d.knowledge_assessment]
        percents = [(100 * r["score"] / r["maximum"], r["taken_on"]) for r in attempts]
        passing = sorted(p for p in percents if p[0] >= program.pass_mark - 1e-9)
        if passing:
            best = max(passing)
            knowledge = f"passed ({best[0]:.0f}% on {best[1]})"
        elif percents:
            knowledge = f"not passed yet (best {max(p for p, _ in percents):.0f}%; pass mark {program.pass_mark:g}%)"
        else:
            knowledge = "not taken yet"
        domains.append(DomainResult(d.name, mean, nearest.label, mean >= instrument.strength_at - 1e-9,
                                    d.knowledge_assessment, knowledge, d.work_product_criteria, d.study,
                                    tuple((s.id, s.text, record["answers"][s.id]) for s in d.statements)))
    return SelfAssessmentResult(cand["external_id"], f"{cand['first_name']} {cand['last_name']}",
                                record["program_id"], instrument, record["submitted_at"], tuple(domains))


# --- the result as a page and a PDF ------------------------------------------------------------------------


def result_html(result: SelfAssessmentResult) -> str:
    """The result page (HTML, autoescaped): strengths and development areas, each domain's ratings, its knowledge
    assessment and work-product criteria, and what to study in a development area."""
    from ..templates import environment

    labels = {lv.level: lv.label for lv in result.instrument.scale}
    submitted = f"{result.submitted_at:%Y-%m-%d}" if result.submitted_at else "-"
    return environment(True).get_template("self_assessment_result.html.j2").render(
        r=result, labels=labels, submitted=submitted, strength_label=labels[result.instrument.strength_at])


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"the self-assessment result loads nothing from elsewhere (refused {url[:80]})")


def result_pdf(result: SelfAssessmentResult) -> bytes:
    """The result page as PDF (WeasyPrint; any URL in the page is refused rather than fetched)."""
    import weasyprint

    return weasyprint.HTML(string=result_html(result), url_fetcher=_no_fetch).write_pdf()
