"""What a result letter says, and the letter as HTML. Pure: no papermill, no files written.

:func:`letter_content` gathers everything a candidate's result notification states from the store: letterhead and
signatory (the program's certifying body), candidate, designation, attempt, dates, result, the scores the program
discloses, and for a deficient result the feedback on each area of deficiency by competency domain with the date by
which to resubmit. :func:`render_letter_html` turns it into an HTML fragment (the template ``result_letter.html.j2``
of :mod:`evalkit.templates`) with Jinja2 autoescaping, so text written by a candidate, an SME or an admin is always
shown as text. The papermill template ``notebooks/templates/result_letter.ipynb`` calls :func:`show_letter`, which
does both and displays the letter."""
from __future__ import annotations

import contextlib
import datetime as dt
import os

import sqlalchemy as sa

from ..calendar import as_date, long_date
from ..evaluation import workflow
from ..store import Store, candidates, open_store, submissions
from ..templates import environment
from .page import CONTENT_MIMETYPE  # the mimetype of the letter's data in the executed notebook

__all__ = ["letter_content", "render_letter_html", "show_letter", "letter_refusal", "warm_up", "long_date",
           "CONTENT_MIMETYPE"]

#: States in which a letter can be produced: decided (first issue) and notified (a re-issued copy).
LETTER_STATES = ("decided", "notified")


def letter_refusal(store: Store, submission_id: int) -> str | None:
    """Why no letter can be produced for a submission (one line), or None if it can.

    Refused: unknown, benchmark (calibration) submissions, and every state before the decision, with the reason.
    """
    try:
        sub = workflow.submission_record(store, submission_id)
    except workflow.WorkflowError as exc:
        return str(exc)
    if sub["is_benchmark"]:
        return f"submission {submission_id} is a benchmark (calibration) submission: it gets no letter"
    reasons = {
        "received": "it has not been assigned to raters yet",
        "scoring": "its raters have not all submitted final scores",
        "adjudication": "its raters disagreed and it awaits the adjudicator's decision",
    }
    if sub["state"] in reasons:
        return f"submission {submission_id} is not decided ({sub['state']}): {reasons[sub['state']]}"
    return None


def _lines(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    return [str(v) for v in value if str(v).strip()]


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in (text or "").split("\n\n") if p.strip()]


def _heading(assesses: str) -> str:
    """The criterion's short name: what it assesses, up to the first colon or parenthesis."""
    cut = min((i for i in (assesses.find(":"), assesses.find(" (")) if i > 0), default=len(assesses))
    return " ".join(assesses[:cut].split())


def _level_label(criterion, level: float) -> str:
    """The label of a resolved level, as a candidate reads it; a level between two (the mean of two evaluators one
    level apart) says so in words rather than "between" two labels.

    Examples
    --------
    >>> from types import SimpleNamespace as L
    >>> c = L(levels=[L(score=1, label="Not evident"), L(score=2, label="Developing"), L(score=3, label="Meets")])
    >>> _level_label(c, 2), _level_label(c, 1.5)
    ('Developing', "the average of the evaluators' ratings, Not evident and Developing")
    """
    below = [lv for lv in criterion.levels if lv.score <= level + 1e-9]
    above = [lv for lv in criterion.levels if lv.score >= level - 1e-9]
    low = below[-1] if below else criterion.levels[0]
    high = above[0] if above else criterion.levels[-1]
    return low.label if low is high else f"the average of the evaluators' ratings, {low.label} and {high.label}"


def _issuer(store: Store, prog) -> dict:
    """Who the letter comes from: the program's certifying body (programs.yaml ``bodies``), so that an ICMI result
    goes out on ICMI's letterhead naming ICMI's experts. Only a programs file without bodies falls back to the
    workspace's settings."""
    body = prog.certifying_body
    if body is not None:
        return {"organisation": body.name, "letterhead": list(body.letterhead), "contact": body.contact,
                "signatory": {"name": body.signatory_name, "title": body.signatory_title}, "experts": body.experts}
    signatory = store.get_setting("signatory") or {}
    if isinstance(signatory, str):
        signatory = {"name": signatory, "title": ""}
    organisation = store.get_setting("organisation") or ""
    return {"organisation": organisation, "letterhead": _lines(store.get_setting("letterhead")),
            "contact": store.get_setting("contact") or "",
            "signatory": {"name": signatory.get("name", ""), "title": signatory.get("title", "")},
            "experts": f"subject matter experts of {organisation}"}


def letter_content(store: Store, submission_id: int, issue_date) -> dict:
    """Everything the result letter of a decided submission states, as plain data.

    Parameters
    ----------
    store : Store
        The workspace.
    submission_id : int
        A decided submission (or a notified one, for a re-issued copy).
    issue_date : date or str (YYYY-MM-DD)
        The date the letter bears; it must not precede the decision nor lie in the future. A deficient result's
        resubmission deadline counts the program's ``completion_business_days`` from it.

    Returns
    -------
    dict
        Keys: ``organisation, letterhead (lines), contact, experts, confidentiality, signatory {name, title}, candidate
        {name, first_name, last_name, external_id, email, organisation}, program {id, name, body, work_product},
        submission, attempt, reevaluation, received_on, decided_on, issue_date, due_on, late,
        result ("pass" | "deficient"), passed, disclose_scores, total, pass_mark, domains [{domain, percent}], failed_must_meet [heading],
        deficiencies [{domain, criteria [{id, heading, assesses, label, level, max_level, must_meet,
        feedback [paragraph]}]}], resubmit_by, resubmit_business_days, manager_signoff, appeal_days``. Dates are
        ``datetime.date``.

    Raises
    ------
    WorkflowError
        The submission is unknown, a benchmark, not decided, or the issue date is impossible.
    """
    if isinstance(submission_id, bool) or not isinstance(submission_id, int):
        raise workflow.WorkflowError(f"submission id {submission_id!r} is not a whole number")
    refusal = letter_refusal(store, submission_id)
    if refusal:
        raise workflow.WorkflowError(refusal)
    issue_date = as_date(issue_date, "issue date", workflow.WorkflowError)
    sub = workflow.submission_record(store, submission_id)
    result = workflow.decided_result(store, submission_id)
    if result is None:
        raise workflow.WorkflowError(f"submission {submission_id} is {sub['state']} but has no decision recorded")
    decided_on = as_date(result["decided_on"], "decision date")
    if issue_date < decided_on:
        raise workflow.WorkflowError(f"issue date {issue_date} is before the decision of submission "
                                     f"{submission_id} on {decided_on}")
    if issue_date > dt.date.today():
        raise workflow.WorkflowError(f"issue date {issue_date} is in the future")
    prog = workflow.program(store, sub["program_id"])
    rubric = result["rubric"]
    missing = [c.id for c in rubric.criteria if c.id not in result["levels"]]
    if missing:
        raise workflow.WorkflowError(f"submission {submission_id}: the decision has no resolved level for "
                                     f"{', '.join(missing)}")
    with store.read() as conn:
        organisation = conn.execute(sa.select(candidates.c.organisation)
                                    .where(candidates.c.id == sub["candidate_id"])).scalar()
    outcome = result["outcome"]
    must_meet = set(rubric.pass_rule.must_meet)
    deficiencies = []
    for domain, criteria in rubric.by_domain().items():
        rows = []
        for c in criteria:
            level = float(result["levels"][c.id])
            if c.id not in outcome.below_standard:
                continue
            feedback = _paragraphs(result["feedback"].get(c.id, ""))
            if not feedback:
                raise workflow.WorkflowError(f"submission {submission_id}: criterion {c.id} is below the standard "
                                             "but has no feedback for the candidate")
            rows.append({"id": c.id, "heading": _heading(c.assesses), "assesses": " ".join(c.assesses.split()),
                         "label": _level_label(c, level), "level": level, "max_level": c.max_score,
                         "must_meet": c.id in must_meet, "feedback": feedback})
        if rows:
            deficiencies.append({"domain": domain, "criteria": rows})
    due_on = as_date(sub["due_on"], "notification deadline")
    passed = outcome.passed
    return {
        **_issuer(store, prog),
        "confidentiality": store.get_setting("confidentiality") or "",
        "candidate": {"name": f"{sub['first_name']} {sub['last_name']}", "first_name": sub["first_name"],
                      "last_name": sub["last_name"], "external_id": sub["candidate_external_id"],
                      "email": sub["email"] or "", "organisation": organisation or ""},
        "program": {"id": prog.id, "name": prog.name, "body": prog.body,
                    "work_product": prog.work_product.name if prog.work_product else "work product"},
        "submission": submission_id,
        "attempt": sub["attempt"],
        "reevaluation": sub["reevaluates_id"] is not None,  # the fresh evaluation an upheld appeal opened
        "received_on": as_date(sub["received_on"], "received date"),
        "decided_on": decided_on,
        "issue_date": issue_date,
        "due_on": due_on,
        "late": issue_date > due_on,
        "result": outcome.result,
        "passed": passed,
        "disclose_scores": prog.disclose_scores,
        "total": round(outcome.total, 1),
        "pass_mark": outcome.pass_mark,
        "domains": [{"domain": d, "percent": round(p, 1)} for d, p in result["domains"].items()],
        "failed_must_meet": [_heading(rubric.criterion(c).assesses) for c in outcome.failed_must_meet],
        "deficiencies": deficiencies,
        "resubmit_by": None if passed else prog.resubmission_due(issue_date),  # recorded with the letter's issue
        "resubmit_business_days": prog.resubmission_business_days,
        "manager_signoff": prog.manager_signoff,
        "appeal_days": prog.appeal_days,
    }


#: What the letter template calls: dates and numbers as the letter prints them.
_HELPERS = {"long_date": long_date, "pct": lambda v: f"{v:.1f}%".replace(".0%", "%"), "level": lambda v: f"{v:g}"}


def render_letter_html(content: dict) -> str:
    """The letter as an HTML fragment (one ``<div class="evalkit-letter">`` with its own style).

    Every value is escaped: a candidate called ``<script>`` is printed as text.
    """
    result_text = "Meets the standard" if content["passed"] else "Does not yet meet the standard"
    template = environment(True).get_template("result_letter.html.j2", globals=_HELPERS)
    return template.render(c=content, result_text=result_text)


def _jsonable(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value




#: Stores a warm kernel keeps open for its letters (:func:`warm_up`), by workspace as the template is given it: one
#: store (its connections, compiled queries and programs) serves every letter of a batch, instead of the database
#: being opened, programs.yaml read and every query compiled anew for each letter. Filled at warm-up only, so the
#: kernel's check after each letter finds it as it was. A notebook run by hand opens and closes its own store.
_kept_stores: dict[str, Store] = {}


def show_letter(workspace=None, submission_id: int | None = None, issue_date=None) -> None:
    """Display the letter of a submission in a notebook: the HTML, with the content it was built from as data.

    This is the whole of the papermill template's work; the executed notebook keeps both. Run by hand, the
    defaults preview a letter: ``$EVALKIT_WORKSPACE`` (else ``workspace``), the first decided submission, today.
    """
    from IPython.display import display

    workspace = workspace or os.environ.get("EVALKIT_WORKSPACE") or "workspace"
    store = _kept_stores.get(str(workspace))
    own = store is None
    if own:
        store = open_store(workspace)
    try:
        if submission_id is None:
            submission_id = _first_letter(store)
            if submission_id is None:
                display({"text/plain": "No decided submission to preview."}, raw=True)
                return
        content = letter_content(store, submission_id, issue_date or dt.date.today())
    finally:
        if own:
            store.dispose()
    display({"text/html": render_letter_html(content), CONTENT_MIMETYPE: _jsonable(content)}, raw=True)


def _first_letter(store: Store) -> int | None:
    """The first submission with a letter to show: decided ones first, then notified ones."""
    with store.read() as conn:
        return conn.execute(sa.select(submissions.c.id).where(
            submissions.c.state.in_(LETTER_STATES), submissions.c.is_benchmark.is_(False))
            .order_by(submissions.c.state, submissions.c.id).limit(1)).scalar()


def warm_up(workspace, samples=()) -> None:
    """Prepare a warm kernel for a batch's letters before its baseline is taken (see :mod:`evalkit.letters.engine`):
    keep a store of the workspace open for them, read every program, and produce (and throw away) the letter of
    each sample, a ``(submission id, issue date)`` pair (one per rubric version of the batch; default the first
    decided submission, today), so that everything a letter imports, reads and compiles is there before the first
    one. Never raises."""
    try:
        store = _kept_stores.get(str(workspace)) or open_store(workspace)
        _kept_stores[str(workspace)] = store
        programs = workflow.registered_programs(store)
    except Exception:  # a workspace that cannot be opened fails every letter, with its reason
        return
    for program_id in programs:
        with contextlib.suppress(Exception):
            workflow.program(store, program_id)
    for submission_id, issue_date in list(samples) or [(None, None)]:
        with contextlib.suppress(Exception):  # a sample with bad data only makes the warm-up less complete
            show_letter(workspace, submission_id, issue_date)
