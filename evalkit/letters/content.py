"""What a result letter says, and the letter as HTML. Pure: no papermill, no files.

:func:`letter_content` gathers everything a candidate's result notification states from the store: letterhead and
signatory (workspace settings), candidate, designation, attempt, dates, result, the scores the program discloses,
and for a deficient result the feedback on each area of deficiency by competency domain with the date by which to
resubmit. :func:`render_letter_html` turns it into an HTML fragment with Jinja2 autoescaping, so text written by a
candidate, an SME or an admin is always shown as text. The papermill template ``notebooks/templates/
result_letter.ipynb`` calls :func:`show_letter`, which does both and displays the letter.
"""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache

import jinja2
import sqlalchemy as sa
from markupsafe import Markup

from ..calendar import add_business_days, as_date
from ..evaluation import workflow
from ..store import Store, candidates, open_store, submissions

__all__ = ["letter_content", "render_letter_html", "show_letter", "letter_refusal", "warm_up", "long_date",
           "LETTER_CSS", "CONTENT_MIMETYPE"]

#: States in which a letter can be produced: decided (first issue) and notified (a re-issued copy).
LETTER_STATES = ("decided", "notified")


def long_date(day: dt.date) -> str:
    """A date as written in a US letter.

    Examples
    --------
    >>> long_date(dt.date(2026, 3, 2))
    'March 2, 2026'
    """
    return f"{day:%B} {day.day}, {day.year}"


def letter_refusal(store: Store, submission_id: int) -> str | None:
    """Why no letter can be produced for a submission (one line), or None if it can.

    Refused: unknown, benchmark (calibration) submissions, and every state before the decision, with the reason.
    """
    try:
        sub = workflow.submission(store, submission_id)
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
    """The label of a resolved level; a level between two (the mean of two raters) names both.

    Examples
    --------
    >>> from types import SimpleNamespace as L
    >>> c = L(levels=[L(score=1, label="Not evident"), L(score=2, label="Developing"), L(score=3, label="Meets")])
    >>> _level_label(c, 2), _level_label(c, 1.5)
    ('Developing', 'between Not evident and Developing')
    """
    below = [lv for lv in criterion.levels if lv.score <= level + 1e-9]
    above = [lv for lv in criterion.levels if lv.score >= level - 1e-9]
    low = below[-1] if below else criterion.levels[0]
    high = above[0] if above else criterion.levels[-1]
    return low.label if low is high else f"between {low.label} and {high.label}"


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
        Keys: ``organisation, letterhead (lines), contact, confidentiality, signatory {name, title}, candidate
        {name, first_name, last_name, external_id, email, organisation}, program {id, name, body, work_product},
        submission, attempt, received_on, decided_on, issue_date, due_on, late, result ("pass" | "deficient"),
        passed, disclose_scores, total, pass_mark, domains [{domain, percent}], failed_must_meet [heading],
        deficiencies [{domain, criteria [{id, heading, assesses, label, level, max_level, must_meet,
        feedback [paragraph]}]}], resubmit_by, resubmit_business_days, manager_signoff``. Dates are
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
    sub = workflow.submission(store, submission_id)
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
    signatory = store.get_setting("signatory") or {}
    if isinstance(signatory, str):
        signatory = {"name": signatory, "title": ""}
    due_on = as_date(sub["due_on"], "notification deadline")
    passed = outcome.passed
    return {
        "organisation": store.get_setting("organisation") or "",
        "letterhead": _lines(store.get_setting("letterhead")),
        "contact": store.get_setting("contact") or "",
        "confidentiality": store.get_setting("confidentiality") or "",
        "signatory": {"name": signatory.get("name", ""), "title": signatory.get("title", "")},
        "candidate": {"name": f"{sub['first_name']} {sub['last_name']}", "first_name": sub["first_name"],
                      "last_name": sub["last_name"], "external_id": sub["candidate_external_id"],
                      "email": sub["email"] or "", "organisation": organisation or ""},
        "program": {"id": prog.id, "name": prog.name, "body": prog.body,
                    "work_product": prog.work_product.name if prog.work_product else "work product"},
        "submission": submission_id,
        "attempt": sub["attempt"],
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
        "resubmit_by": None if passed else add_business_days(issue_date, prog.completion_business_days,
                                                              prog.holidays),
        "resubmit_business_days": prog.completion_business_days,
        "manager_signoff": prog.manager_signoff,
    }


LETTER_CSS = """
.evalkit-letter { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; font-size: 10pt; line-height: 1.38;
  color: #1a1a1a; max-width: 44em; }
.evalkit-letter .letterhead { border-bottom: 2px solid #1f3a5f; padding-bottom: 0.5em; margin-bottom: 1.3em; }
.evalkit-letter .letterhead .org { font-size: 15pt; font-weight: bold; color: #1f3a5f; }
.evalkit-letter .letterhead .line { color: #44546a; }
.evalkit-letter .meta { display: flex; justify-content: space-between; margin-bottom: 1.2em; }
.evalkit-letter .address div, .evalkit-letter .date div { margin: 0; }
.evalkit-letter .date { text-align: right; }
.evalkit-letter h1 { font-size: 12pt; margin: 0 0 0.8em; color: #1f3a5f; }
.evalkit-letter h2 { font-size: 11pt; margin: 1.1em 0 0.4em; color: #1f3a5f; border-bottom: 1px solid #c9d3e0; }
.evalkit-letter h3 { font-size: 10.5pt; margin: 0.9em 0 0.2em; }
.evalkit-letter h1, .evalkit-letter h2, .evalkit-letter h3 { break-after: avoid; page-break-after: avoid; }
.evalkit-letter table { border-collapse: collapse; margin: 0.4em 0 0.8em; }
.evalkit-letter th, .evalkit-letter td { text-align: left; padding: 0.05em 1.2em 0.05em 0; vertical-align: top; }
.evalkit-letter td.num, .evalkit-letter th.num { text-align: right; padding-right: 0.4em; }
.evalkit-letter table.facts th { font-weight: normal; color: #44546a; }
.evalkit-letter table.scores { border-top: 1px solid #c9d3e0; border-bottom: 1px solid #c9d3e0; }
.evalkit-letter .result { font-weight: bold; }
.evalkit-letter .result.pass { color: #1d6b36; }
.evalkit-letter .result.deficient { color: #8a3b00; }
.evalkit-letter .criterion { margin: 0.3em 0 0.9em; page-break-inside: avoid; }
.evalkit-letter .criterion .rating { color: #44546a; font-style: italic; }
.evalkit-letter .criterion p { margin: 0.25em 0 0.25em 1em; }
.evalkit-letter p { margin: 0 0 0.65em; }
.evalkit-letter .closing { break-inside: avoid; page-break-inside: avoid; margin-top: 1em; }
.evalkit-letter .signature { margin-top: 1.2em; }
.evalkit-letter .signature .name { margin-top: 1.8em; font-weight: bold; }
.evalkit-letter .confidential { margin-top: 1.2em; border-top: 1px solid #c9d3e0; padding-top: 0.5em; font-size: 8.5pt;
  color: #44546a; }
"""

_TEMPLATE = """\
<div class="evalkit-letter">
<style>{{ css }}</style>
<div class="letterhead">
  <div class="org">{{ c.letterhead[0] if c.letterhead else c.organisation }}</div>
  {%- for line in c.letterhead[1:] %}
  <div class="line">{{ line }}</div>
  {%- endfor %}
  {%- if c.contact %}<div class="line">{{ c.contact }}</div>{% endif %}
</div>
<div class="meta">
  <div class="address">
    <div>{{ c.candidate.name }}</div>
    {%- if c.candidate.organisation %}<div>{{ c.candidate.organisation }}</div>{% endif %}
    {%- if c.candidate.email %}<div>{{ c.candidate.email }}</div>{% endif %}
  </div>
  <div class="date"><div>{{ long_date(c.issue_date) }}</div><div>Candidate ID {{ c.candidate.external_id }}</div></div>
</div>
<h1>Result of your {{ c.program.work_product }}</h1>
<table class="facts">
  <tr><th>Designation</th><td>{{ c.program.name }} ({{ c.program.id }})</td></tr>
  <tr><th>Attempt</th><td>{{ c.attempt }}{% if c.attempt > 1 %} (resubmission){% endif %}</td></tr>
  <tr><th>Received</th><td>{{ long_date(c.received_on) }}</td></tr>
  <tr><th>Decided</th><td>{{ long_date(c.decided_on) }}</td></tr>
  <tr><th>Result</th><td class="result {{ c.result }}">{{ result_text }}</td></tr>
</table>
<p>Dear {{ c.candidate.name }},</p>
{%- if c.passed %}
<p>We are pleased to inform you that the {{ c.program.work_product }} you submitted for the {{ c.program.name }}
designation, received on {{ long_date(c.received_on) }}, <strong>meets the standard</strong> required for
certification. It was evaluated independently by subject matter experts of {{ c.organisation }} using the
program's evaluation instrument.</p>
<p>This result completes the {{ c.program.work_product }} component of the {{ c.program.id }} designation.
Congratulations on this achievement.</p>
{%- else %}
<p>Thank you for the {{ c.program.work_product }} you submitted for the {{ c.program.name }} designation, received
on {{ long_date(c.received_on) }}. It was evaluated independently by subject matter experts of {{ c.organisation }}
using the program's evaluation instrument. Your work product <strong>does not yet meet the standard</strong>
required for certification.</p>
<p>You are invited to correct your work product and resubmit it. The feedback below sets out each area of
deficiency, grouped by competency domain, and what to correct.</p>
{%- endif %}
{%- if c.disclose_scores %}
<h2>Your scores</h2>
<table class="scores">
  <tr><th>Competency domain</th><th class="num">Score</th></tr>
  {%- for d in c.domains %}
  <tr><td>{{ d.domain }}</td><td class="num">{{ pct(d.percent) }}</td></tr>
  {%- endfor %}
  <tr><th>Overall (weighted)</th><th class="num">{{ pct(c.total) }}</th></tr>
</table>
<p>The pass mark is {{ pct(c.pass_mark) }} overall.{% if not c.passed and c.failed_must_meet %} In addition, each
of the following must meet the standard, and does not yet: {{ c.failed_must_meet | join("; ") }}.{% endif %}</p>
{%- elif not c.passed and c.failed_must_meet %}
<p>Each of the following must meet the standard for the work product to pass, and does not yet:
{{ c.failed_must_meet | join("; ") }}.</p>
{%- endif %}
{%- if not c.passed %}
<h2>Areas of deficiency and what to correct</h2>
{%- for group in c.deficiencies %}
<h3>{{ group.domain }}</h3>
{%- for item in group.criteria %}
<div class="criterion">
  <div><strong>{{ item.heading }}</strong>{% if item.must_meet %} (must meet the standard){% endif %}</div>
  {%- if c.disclose_scores %}
  <div class="rating">Rated {{ level(item.level) }} of {{ item.max_level }}: {{ item.label }}</div>
  {%- endif %}
  {%- for para in item.feedback %}
  <p>{{ para }}</p>
  {%- endfor %}
</div>
{%- endfor %}
{%- endfor %}
<h2>How to resubmit</h2>
<p>Revise your work product to address each area above{% if c.manager_signoff == "required" %}, have your manager
review and sign off the revised work product (required before submittal){% elif c.manager_signoff == "encouraged"
%}; a review by your manager before submittal is encouraged{% endif %}, and send it to
{{ c.contact or c.organisation }} <strong>by {{ long_date(c.resubmit_by) }}</strong> ({{ c.resubmit_business_days }}
business days from the date of this letter). Please quote your candidate ID {{ c.candidate.external_id }}.
Your resubmission will be evaluated as attempt {{ c.attempt + 1 }}, and you will be notified of its result no later
than 30 business days after we receive it.</p>
{%- endif %}
<div class="closing">
<p>If you have any questions about this result, please contact {{ c.contact or c.organisation }}.</p>
<div class="signature">
  <div>Sincerely,</div>
  <div class="name">{{ c.signatory.name }}</div>
  {%- if c.signatory.title %}<div>{{ c.signatory.title }}</div>{% endif %}
  <div>{{ c.organisation }}</div>
</div>
{%- if c.confidentiality %}
<div class="confidential">{{ c.confidentiality }}</div>
{%- endif %}
</div>
</div>
"""


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    env.globals.update(long_date=long_date, pct=lambda v: f"{v:.1f}%".replace(".0%", "%"),
                       level=lambda v: f"{v:g}")
    return env.from_string(_TEMPLATE)


def render_letter_html(content: dict) -> str:
    """The letter as an HTML fragment (one ``<div class="evalkit-letter">`` with its own style).

    Every value is escaped: a candidate called ``<script>`` is printed as text.
    """
    result_text = "Meets the standard" if content["passed"] else "Does not yet meet the standard"
    return _template().render(c=content, css=Markup(LETTER_CSS), result_text=result_text)


def _jsonable(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


#: Mimetype of the letter's data in the executed notebook (the record of what was computed).
CONTENT_MIMETYPE = "application/vnd.evalkit.letter+json"


def show_letter(workspace=None, submission_id: int | None = None, issue_date=None) -> None:
    """Display the letter of a submission in a notebook: the HTML, with the content it was built from as data.

    This is the whole of the papermill template's work; the executed notebook keeps both. Run by hand, the
    defaults preview a letter: ``$EVALKIT_WORKSPACE`` (else ``workspace``), the first decided submission, today.
    """
    from IPython.display import display

    workspace = workspace or os.environ.get("EVALKIT_WORKSPACE") or "workspace"
    store = open_store(workspace)
    try:
        if submission_id is None:
            submission_id = _first_letter(store)
            if submission_id is None:
                display({"text/plain": "No decided submission to preview."}, raw=True)
                return
        content = letter_content(store, submission_id, issue_date or dt.date.today())
    finally:
        store.dispose()
    display({"text/html": render_letter_html(content), CONTENT_MIMETYPE: _jsonable(content)}, raw=True)


def _first_letter(store: Store) -> int | None:
    """The first submission with a letter to show: decided ones first, then notified ones."""
    with store.read() as conn:
        return conn.execute(sa.select(submissions.c.id).where(
            submissions.c.state.in_(LETTER_STATES), submissions.c.is_benchmark.is_(False))
            .order_by(submissions.c.state, submissions.c.id).limit(1)).scalar()


def warm_up(workspace) -> None:
    """Produce (and throw away) one letter of the workspace, so that a warm kernel has imported and initialised
    everything a letter needs before its baseline is taken (see :mod:`evalkit.letters.engine`). Never raises."""
    try:
        show_letter(workspace)
    except Exception:  # a sample with bad data only makes the warm-up less complete
        pass
