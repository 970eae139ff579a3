"""The adjudicator's view: submissions whose raters disagreed beyond the tolerance, both raters' levels and
feedback side by side per criterion (disagreements marked), and the resolved level and merged feedback.

Thin over :mod:`evalkit.evaluation.workflow`: ``queue`` and ``open_adjudications`` list the work,
``take_adjudication`` takes an unassigned submission, ``adjudication_view`` shows the raters' finals (only to the
assigned adjudicator), ``save_draft`` keeps work in progress and ``adjudicate`` decides. The notebook
``notebooks/adjudicate.ipynb`` is one line: ``adjudication_app()``."""
from __future__ import annotations

import datetime as dt
import html

import ipywidgets as w

from ..evaluation import workflow
from ..instruments.rubric import Criterion
from .common import (SAVE_ERRORS, STYLE, QueueView, WorkspaceError, authorise, local_time, message,
                     open_workspace)
from .scoring import AUTOSAVE_SECONDS, RubricForm, Workbench

__all__ = ["AdjudicationForm", "AdjudicationApp", "adjudication_app"]


def _merged(texts) -> str:
    """The raters' feedback as the starting point of the merged feedback: each distinct text once."""
    seen: list[str] = []
    for text in texts:
        text = (text or "").strip()
        if text and text not in seen:
            seen.append(text)
    return "\n\n".join(seen)


class AdjudicationForm(RubricForm):
    """The assigned adjudicator's form: each criterion shows every rater's final level and feedback.

    It opens with the adjudicator's saved draft where there is one; otherwise with the level the raters agree on
    (none where they differ) and their feedback merged, to be edited.
    """

    final_label = "Decide"
    confirm_text = "Decide this submission with these resolved levels? The decision is final."
    refused = "Not decided"
    roles = ("adjudicator",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for cid, row in self.rows.items():
            if self.by_criterion[cid]["disputed"]:
                row.widget.add_class("ek-disputed")

    def _initial(self, own: dict) -> tuple[dict, dict]:
        self.view = workflow.adjudication_view(self.store, self.submission_id, self.username)
        self.by_criterion = {r["criterion"]: r for r in self.view["criteria"]}
        levels, feedback = {}, {}
        for cid, r in self.by_criterion.items():
            given = set(r["levels"].values())
            levels[cid] = own["levels"][cid] if own["levels"].get(cid) is not None else \
                (given.pop() if len(given) == 1 else None)
            feedback[cid] = own["feedback"][cid] if cid in own["feedback"] else _merged(r["feedback"].values())
        return levels, feedback

    def _extra(self, criterion: Criterion) -> w.Widget:
        r = self.by_criterion[criterion.id]
        cards = []
        for username, level in r["levels"].items():
            label = criterion.level(int(level)).label if level is not None else "no level"
            text = html.escape(r["feedback"].get(username) or "") or '<i class="ek-doc-note">no feedback</i>'
            cards.append(f'<div class="ek-rater"><div>{html.escape(username)}: <span class="ek-rater-level">'
                         f'{level} · {html.escape(label)}</span></div><div>{text}</div></div>')
        badge = '<span class="ek-disputed-badge">Raters disagree beyond tolerance</span>' if r["disputed"] else ""
        box = w.HTML(f'<div class="ek-raters-title">Raters\' final levels{badge}</div>'
                     f'<div class="ek-raters" style="--ek-r: {max(len(cards), 1)}">{"".join(cards)}</div>'
                     '<div class="ek-feedback-label">Resolved level:</div>')
        return box

    def _above_criteria(self) -> list[w.Widget]:
        outcomes = ", ".join(f"{html.escape(u)}: <b>{html.escape(o)}</b>" for u, o in self.view["outcomes"].items())
        split = " The raters reached different outcomes." if self.view["decision_split"] else ""
        disputed = [r["criterion"] for r in self.view["criteria"] if r["disputed"]]
        listed = ", ".join(html.escape(c) for c in disputed) or "none"
        return [w.HTML(message("", "info", f"Raters' outcomes: {outcomes}.{split} Criteria in dispute: {listed}."))]

    def _closed_reason(self, own: dict) -> str | None:
        if own["status"] == "final":
            return f"You decided this submission on {local_time(own['saved_at'], '%Y-%m-%d')}."
        if self.sub["state"] != "adjudication":
            return f"This submission is {self.sub['state']}, no longer in adjudication."
        return None

    def _final_step(self) -> str:
        workflow.adjudicate(self.store, self.submission_id, self.username, self.levels(), self.feedback(),
                            today=self.today)
        result = workflow.decided_result(self.store, self.submission_id)
        return f"Decided: {result['result']} ({result['total_percent']:.1f}%)."


class AdjudicationApp(Workbench):
    """The adjudicator's workbench: their adjudications, and those waiting for an adjudicator to take."""

    title = "Adjudication"
    acting_as = "Adjudicating as"
    role = "adjudicator"
    roles = AdjudicationForm.roles
    todo_states = ("adjudicate",)
    form_class = AdjudicationForm

    def _queues(self) -> list[tuple[str, w.Widget]]:
        self.waiting = QueueView(workflow.open_adjudications(self.store, self.username, self.today), self.take,
                                 ("unassigned",), action="Take", css="ek-waiting",
                                 empty="No submission is waiting for an adjudicator.")
        return super()._queues() + [("Waiting for an adjudicator", self.waiting.widget)]

    def take(self, submission_id: int) -> None:
        """Assign an unassigned adjudication to this adjudicator, then open it.

        Another adjudicator who took it first (a moment before, or at the same instant) is named in one line
        (``submission 17 was taken by adj.lee a moment ago``), and the list of waiting submissions is read again."""
        try:
            authorise(self.store, self.roles)
            workflow.take_adjudication(self.store, submission_id, self.username)
        except workflow.WorkflowError as exc:
            self.message.value = message(f"{exc}.", "error")
            self._refresh_waiting()
            return
        except SAVE_ERRORS as exc:
            self.message.value = message(f"Cannot take submission {submission_id}: {str(exc).splitlines()[0]}",
                                         "error")
            return
        self.queue.refresh(self._queue_rows())
        self._refresh_waiting()
        self.open(submission_id)

    def _refresh_waiting(self) -> None:
        try:
            self.waiting.refresh(workflow.open_adjudications(self.store, self.username, self.today))
        except SAVE_ERRORS:  # the list stays as it was; the message above already says what happened
            pass


def adjudication_app(workspace=None, username: str | None = None, today: dt.date | None = None,
                     autosave_seconds: float = AUTOSAVE_SECONDS):
    """The adjudication workbench for the notebook (``adjudication_app()`` as the cell's last line displays it).

    Parameters are those of :func:`evalkit.widgets.scoring_app`; the user must be a registered adjudicator.
    """
    try:
        store = open_workspace(workspace)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
    return AdjudicationApp(store, username, today, autosave_seconds)
