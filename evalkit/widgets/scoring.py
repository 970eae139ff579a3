"""The SME's scoring workbench: who is scoring, their queue, and the scoring form beside the work product.

Thin over :mod:`evalkit.evaluation.workflow`: the queue is ``workflow.queue``, the form loads
``workflow.rater_scores`` (which enforces blind scoring: a rater only ever sees their own scores) and writes through
``workflow.save_draft`` and ``workflow.submit_final``; totals and the provisional outcome come from
:mod:`evalkit.evaluation.scoring`. The notebook ``notebooks/score_submissions.ipynb`` is one line:
``scoring_app()``.

:class:`RubricForm` and :class:`Workbench` are shared with the adjudicator's view
(:mod:`evalkit.widgets.adjudication`), which differs only in what it loads, shows beside each criterion and does
on its final step.
"""
from __future__ import annotations

import datetime as dt
import html
from typing import Callable

import ipywidgets as w

from ..access import AccessError, signed_in_user
from ..evaluation import scoring, workflow
from ..instruments.rubric import Criterion
from ..store import Store
from .common import (SAVE_ERRORS, STYLE, CriterionRow, Debouncer, QueueView, RaterPicker, WorkspaceError, authorise,
                     close_tree, current_username, local_time, message, open_workspace)

__all__ = ["AUTOSAVE_SECONDS", "RubricForm", "ScoringForm", "Workbench", "ScoringApp", "scoring_app",
           "submission_header", "document_pane", "gap_message"]

#: Seconds after the last edit before the draft is saved by itself: a closed tab or a dead kernel loses at most this.
AUTOSAVE_SECONDS = 2.0


def submission_header(store: Store, sub: dict, row: dict | None = None) -> str:
    """The line naming a submission as a rater may see it (candidate anonymised where the program says so)."""
    prog = workflow.program(store, sub["program_id"])
    parts = [f"<b>Submission #{sub['id']}</b>", f"{html.escape(prog.name)} ({html.escape(prog.id)})",
             f"attempt {sub['attempt']}", html.escape(sub['candidate']),
             f"received {sub['received_on']:%Y-%m-%d}", f"notify the candidate by {sub['due_on']:%Y-%m-%d}"]
    if row is not None:
        left = row["days_left"]
        parts.append(f'<span class="ek-badge ek-badge-overdue">OVERDUE by {-left} business day(s)</span>'
                     if row["overdue"] else f"{left} business day(s) left")
    return '<div class="ek-subhead">' + " · ".join(parts) + "</div>"


def document_pane(store: Store, sub: dict) -> w.Widget:
    """The work product, readable in place."""
    name, body = workflow.document_html(store, sub)
    pane = w.VBox([w.HTML(f'<div class="ek-section-title">Work product · {html.escape(name)}</div>'), w.HTML(body)])
    pane.add_class("ek-docpane")
    return pane


def gap_message(exc: Exception, gaps: list[str], verb: str) -> str:
    """A refusal shown in the form: the WorkflowError's text, with its list of gaps as a bulleted list."""
    head, _, rest = str(exc).partition(": ")
    if gaps and rest == "; ".join(gaps):
        items = "".join(f"<li>{html.escape(g)}</li>" for g in gaps)
        return message(f"{verb}: {head}:", "error", f"<ul>{items}</ul>")
    return message(f"{verb}: {exc}", "error")


class RubricForm:
    """A form of one rubric for one submission: criteria by domain, summary, draft saves and a final step.

    Parameters
    ----------
    store : Store
    submission_id : int
    username : str
        Who fills the form; they must be assigned to the submission (else
        :class:`evalkit.evaluation.workflow.WorkflowError`).
    today : date, optional
        The decision date if the final step decides the submission (default: today).
    autosave_seconds : float
        Delay of the automatic draft save after the last edit.
    row : dict, optional
        The submission's queue row (for the business days left).
    on_saved : callable, optional
        ``on_saved(submission_id, state)`` after every successful draft save ("draft") and final step ("final").
    """

    final_label = "Submit final"
    confirm_text = "Make your evaluation final? It cannot be changed afterwards."
    refused = "Not submitted"
    #: With a hub, the roles that may save this form (checked at every save).
    roles: tuple[str, ...] = ("rater", "lead_sme")

    def __init__(self, store: Store, submission_id: int, username: str, today: dt.date | None = None,
                 autosave_seconds: float = AUTOSAVE_SECONDS, row: dict | None = None,
                 on_saved: Callable[[int, str], None] | None = None):
        self.store = store
        self.submission_id = submission_id
        self.username = username
        self.today = today
        self.on_saved = on_saved or (lambda sid, state: None)
        self.sub = workflow.submission(store, submission_id)
        self.rubric = workflow.rubric_for(store, self.sub["rubric_version"])
        own = workflow.rater_scores(store, submission_id, username)
        levels, feedback = self._initial(own)
        self.rows = {c.id: CriterionRow(c, levels.get(c.id), feedback.get(c.id, ""), self._changed, self._extra(c))
                     for c in self.rubric.criteria}
        self.comment = w.Textarea(value=own["comment"] or "", placeholder="Overall comment (optional)",
                                  layout=w.Layout(width="100%", height="60px"))
        self.comment.add_class("ek-comment")
        self.comment.observe(lambda _: self._changed(), names="value")
        self._edits = self._saved_edits = 0
        self.autosave = Debouncer(autosave_seconds, lambda: self.save(automatic=True))

        self.summary = w.HTML()
        self.summary.add_class("ek-summary-text")
        self.status = w.HTML()
        self.status.add_class("ek-status")
        self.message = w.HTML()
        self.message.add_class("ek-message")
        self.save_button = w.Button(description="Save draft", icon="save", layout=w.Layout(width="130px"))
        self.save_button.add_class("ek-save")
        self.save_button.on_click(lambda _: self.save())
        self.final_button = w.Button(description=self.final_label, icon="check", button_style="success",
                                     layout=w.Layout(width="150px"))
        self.final_button.add_class("ek-submit")
        self.final_button.on_click(lambda _: self.ask_to_finish())
        self.confirm_button = w.Button(description=f"Yes, {self.final_label.lower()}", button_style="danger",
                                       layout=w.Layout(width="170px"))
        self.confirm_button.add_class("ek-confirm-submit")
        self.confirm_button.on_click(lambda _: self.finish())
        self.cancel_button = w.Button(description="Keep editing", layout=w.Layout(width="120px"))
        self.cancel_button.add_class("ek-cancel-submit")
        self.cancel_button.on_click(lambda _: self._show_confirm(False))
        self.confirm = w.HBox([w.HTML(message(self.confirm_text, "warn")), self.confirm_button, self.cancel_button],
                              layout=w.Layout(align_items="center"))
        self.confirm.add_class("ek-confirm")
        self._show_confirm(False)

        bar = w.VBox([self.summary, w.HBox([self.save_button, self.final_button, self.status],
                                           layout=w.Layout(align_items="center")), self.confirm, self.message])
        bar.add_class("ek-summary")
        sections: list[w.Widget] = [bar] + self._above_criteria()
        for domain, criteria in self.rubric.by_domain().items():
            sections.append(w.HTML(f'<div class="ek-domain">{html.escape(domain)}</div>'))
            sections += [self.rows[c.id].widget for c in criteria]
        sections += [w.HTML('<div class="ek-domain">Overall comment</div>'), self.comment]
        rubric_pane = w.VBox(sections)
        rubric_pane.add_class("ek-rubricpane")
        workarea = w.HBox([document_pane(store, self.sub), rubric_pane], layout=w.Layout(width="100%"))
        workarea.add_class("ek-workarea")
        title = w.HTML(f'<div class="ek-section-title">{html.escape(self.rubric.title)}</div>'
                       + submission_header(store, self.sub, row))
        self.widget = w.VBox([title, workarea])
        self.widget.add_class("ek-form")
        self.widget.add_class(f"ek-form-{submission_id}")

        self.read_only = False
        self._gaps_shown = False  # criteria outlined as gaps after a refused final
        closed = self._closed_reason(own)
        if closed:
            self._lock(closed)
        elif own["saved_at"] is not None:
            self.status.value = f"Draft last saved {local_time(own['saved_at'], '%Y-%m-%d %H:%M')}"
        self._show_summary()

    # --- what a kind of form changes ---

    def _initial(self, own: dict) -> tuple[dict, dict]:
        """The levels and feedback the form opens with."""
        return own["levels"], own["feedback"]

    def _extra(self, criterion: Criterion) -> w.Widget | None:
        """Shown in a criterion's box above its levels."""
        return None

    def _above_criteria(self) -> list[w.Widget]:
        return []

    def _closed_reason(self, own: dict) -> str | None:
        """Why the form is read-only, or None when it can be edited."""
        if own["status"] == "final":
            return f"You submitted this evaluation as final on {local_time(own['saved_at'], '%Y-%m-%d')}; " \
                   "it cannot change."
        if self.sub["state"] not in ("received", "scoring"):
            return f"This submission is {self.sub['state']}: scoring is closed."
        return None

    def _final_step(self) -> str:
        """Do the final step through the workflow; returns the text shown after it. Raises on refusal."""
        state = workflow.submit_final(self.store, self.submission_id, self.username, today=self.today)
        after = {"decided": "Both evaluations agree: the submission is decided.",
                 "adjudication": "The raters' scores differ beyond the tolerance: it goes to an adjudicator.",
                 "scoring": "It will be compared with the other evaluation when that one is final."}
        return f"Submitted as final. {after.get(state, '')}"

    # --- reading the form ---

    def levels(self) -> dict[str, int | None]:
        return {cid: row.level for cid, row in self.rows.items()}

    def feedback(self) -> dict[str, str]:
        return {cid: row.text for cid, row in self.rows.items()}

    @property
    def dirty(self) -> bool:
        return self._edits != self._saved_edits

    # --- actions ---

    def save(self, automatic: bool = False) -> bool:
        """Save the draft; returns whether it is saved. A failure is shown in the form and the entries stay."""
        if self.read_only:
            return False
        if automatic and not self.dirty:
            return True
        self.autosave.cancel()
        edits = self._edits
        try:
            authorise(self.store, self.roles)
            saved_at = workflow.save_draft(self.store, self.submission_id, self.username, self.levels(),
                                           self.feedback(), self.comment.value)
        except SAVE_ERRORS as exc:
            self.status.value = '<span class="ek-unsaved">Not saved</span>'
            self.message.value = message(f"Not saved: {str(exc).splitlines()[0]}. Your entries are still here; "
                                         "try Save draft again.", "error")
            return False
        self._saved_edits = edits
        how = "automatically " if automatic else ""
        self.status.value = f'<span class="ek-saved">Draft saved {how}at {local_time(saved_at)}</span>'
        if not automatic:
            self.message.value = ""
        self.on_saved(self.submission_id, "draft")
        return True

    def ask_to_finish(self) -> None:
        if not self.read_only:
            self._show_confirm(True)

    def finish(self) -> bool:
        """Save, then take the final step; a refusal lists what is missing and marks those criteria."""
        self._show_confirm(False)
        if not self.save():
            return False
        try:
            done = self._final_step()
        except SAVE_ERRORS as exc:
            self.message.value = gap_message(exc, self._mark_gaps(), self.refused)
            return False
        self._mark_gaps(clear=True)
        self._lock(done, kind="ok")
        self.on_saved(self.submission_id, "final")
        return True

    def close(self) -> None:
        """Save what is pending and release the widgets (before another submission is opened)."""
        self.autosave.flush()
        close_tree(self.widget)

    # --- display ---

    def _mark_gaps(self, clear: bool = False) -> list[str]:
        """Outline the criteria that stop a final submission (none with ``clear``); returns the gaps."""
        gaps = [] if clear else scoring.missing_for_final(self.rubric, self.levels(), self.feedback())
        gap_ids = {g.split(":", 1)[0] for g in gaps}
        for cid, row in self.rows.items():
            row.mark_gap(cid in gap_ids)
        self._gaps_shown = bool(gap_ids)
        return gaps

    def _changed(self) -> None:
        if self.read_only:
            return
        self._edits += 1
        if self._gaps_shown:  # a gap fixed loses its outline at once
            self._mark_gaps()
        self._show_summary()
        self.status.value = '<span class="ek-unsaved">Unsaved changes: saving in a moment…</span>'
        self.autosave.trigger()

    def _show_confirm(self, show: bool) -> None:
        self.confirm.layout.display = None if show else "none"

    def _lock(self, text: str, kind: str = "info") -> None:
        self.read_only = True
        self.autosave.cancel()
        for row in self.rows.values():
            row.set_disabled(True)
        self.comment.disabled = True
        self.save_button.disabled = self.final_button.disabled = True
        self.widget.add_class("ek-readonly")
        self.message.value = message(text, kind)
        self.status.value = ""

    def _show_summary(self) -> None:
        levels = {cid: lv for cid, lv in self.levels().items() if lv is not None}
        n, total = len(levels), len(self.rows)
        result = scoring.outcome(self.rubric, levels)
        if n < total:
            verdict = f'<span class="ek-outcome ek-outcome-incomplete">Incomplete: {total - n} to score</span>'
        else:
            label = "Meets the standard" if result.passed else "Deficient"
            verdict = f'<span class="ek-outcome ek-outcome-{result.result}">{label}</span>'
        below = [cid for cid in result.below_standard if cid in levels]
        extra = ""
        if below:
            extra = ('<div class="ek-below">Below the standard (feedback required): '
                     + ", ".join(html.escape(c) for c in below) + "</div>")
        self.summary.value = (
            f'<div class="ek-summary-line">Scored <b class="ek-count">{n}</b> of {total} · weighted total '
            f'<b class="ek-total">{result.total:.1f}%</b> (pass mark {result.pass_mark:g}%) · provisional outcome: '
            f"{verdict}</div>{extra}")


class ScoringForm(RubricForm):
    """A rater's scoring form: their own scores only (blind), saved as drafts, then submitted as final."""


class Workbench:
    """Identity, queue, and the form of the submission picked from the queue.

    Displaying the workbench displays its widget (``.widget``); tests reach the parts through ``.picker``,
    ``.queue`` and ``.form``.
    """

    title = "Work product scoring"
    acting_as = "Scoring as"
    role = "rater"
    roles = ScoringForm.roles
    todo_states = ("not started", "draft")
    form_class: type[RubricForm] = ScoringForm

    def __init__(self, store: Store, username: str | None = None, today: dt.date | None = None,
                 autosave_seconds: float = AUTOSAVE_SECONDS, allow_choice: bool | None = None):
        self.store = store
        self.today = today
        self.autosave_seconds = autosave_seconds
        self.queue: QueueView | None = None
        self.sections: list[w.Accordion] = []
        self.form: RubricForm | None = None
        self.message = w.HTML()
        self.message.add_class("ek-app-message")
        self.queue_box = w.VBox()
        self.form_box = w.VBox()
        self.picker = RaterPicker(store, username or current_username(store), self._rater_chosen,
                                  adjudicators_only=self.role == "adjudicator", allow_choice=allow_choice,
                                  label=self.acting_as)
        organisation = store.get_setting("organisation", "") or ""
        header = w.HBox([w.HTML(f'<div class="ek-title">{self.title}</div>'
                                f'<div class="ek-subtitle">{html.escape(organisation)}</div>'), self.picker.widget])
        header.add_class("ek-header")
        self.widget = w.VBox([w.HTML(STYLE), header, self.message, self.queue_box, self.form_box])
        self.widget.add_class("ek-app")
        self._rater_chosen(self.picker.username)  # with nobody chosen yet, the page says what to do

    @property
    def username(self) -> str | None:
        return self.picker.username

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _queue_rows(self, done: bool = False) -> list[dict]:
        """This person's queue rows in their role: the open ones (``done``: the decided ones)."""
        return workflow.queue(self.store, self.username, self.today, done=done, role=self.role)

    def _queues(self) -> list[tuple[str, w.Widget]]:
        """The queue sections: (title, widget) pairs."""
        self.queue = QueueView(self._queue_rows(), self.open, self.todo_states,
                               more=lambda: self._queue_rows(done=True))
        return [("Your queue", self.queue.widget)]

    def _rater_chosen(self, username: str | None) -> None:
        self._close_form()
        for old in self.queue_box.children:
            close_tree(old)
        self.queue = None
        if username and signed_in_user(self.store) is not None:
            try:
                authorise(self.store, self.roles)
            except AccessError as exc:
                self.queue_box.children = [w.HTML(message(f"{exc}.", "error"))]
                return
        if not username:
            hint = (f"Choose who you are in the “{self.acting_as}” list at the top right to see your queue."
                    if self.picker.allow_choice else "")  # otherwise the header already says why there is none
            self.queue_box.children = [w.HTML(message(hint))] if hint else []
            return
        # Each section folds away while a submission is open, so the document and the rubric get the screen.
        self.sections = [w.Accordion(children=[widget], titles=(title,), selected_index=0)
                         for title, widget in self._queues()]
        for section in self.sections:
            section.add_class("ek-queue-section")
        self.queue_box.children = self.sections

    def open(self, submission_id: int) -> None:
        """Open a submission from the queue in the form."""
        self._close_form()
        row = next((r for r in self.queue.rows if r["submission"] == submission_id), None) if self.queue else None
        try:
            self.form = self.form_class(self.store, submission_id, self.username, self.today,
                                        self.autosave_seconds, row=row, on_saved=self._saved)
        except SAVE_ERRORS as exc:
            self.message.value = message(f"Cannot open submission {submission_id}: {exc}", "error")
            return
        self.message.value = ""
        self.form_box.children = [self.form.widget]
        if self.queue:
            self.queue.mark_current(submission_id)
        for section in self.sections:
            section.selected_index = None

    def _close_form(self) -> None:
        if self.form is not None:
            self.form.close()
            self.form = None
        self.form_box.children = []

    def _saved(self, submission_id: int, state: str) -> None:
        if self.queue is None:
            return
        if state == "draft":
            self.queue.set_state(submission_id, "draft" if self.role == "rater" else "adjudicate")
        else:  # final: only this submission's row changed (its state, or decided if this was the last evaluation)
            self.queue.update(workflow.queue(self.store, self.username, self.today, role=self.role,
                                             only=[submission_id]))


class ScoringApp(Workbench):
    """The rater's workbench: their queue of work products and the scoring form."""


def scoring_app(workspace=None, username: str | None = None, today: dt.date | None = None,
                autosave_seconds: float = AUTOSAVE_SECONDS):
    """The scoring workbench for the notebook (``scoring_app()`` as the cell's last line displays it).

    Parameters
    ----------
    workspace : str or Path, optional
        Workspace folder or database URL; default ``$EVALKIT_WORKSPACE``, else ``workspace/`` here or one folder up.
    username : str, optional
        The rater; default the JupyterHub user, else ``$EVALKIT_RATER``, else the operating-system user.
    today : date, optional
        "Today" for days left and decision dates (default: the real today).
    autosave_seconds : float
        Delay of the automatic draft save after the last edit.

    Returns
    -------
    ScoringApp, or an HTML widget saying why the workbench cannot open (no workspace...).
    """
    try:
        store = open_workspace(workspace)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
    return ScoringApp(store, username, today, autosave_seconds)
