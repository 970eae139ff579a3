"""Pieces shared by the scoring and adjudication views: finding the workspace and the rater, the look (CSS), the
debounced autosave, the queue table and one rubric criterion's row.

Every element a test or a stylesheet needs carries a stable ``ek-*`` CSS class (``widget.add_class``).
"""
from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import getpass
import html
import os
import re
import threading
import weakref
from pathlib import Path
from typing import Callable, Iterable

import ipywidgets as w
import sqlalchemy as sa

from ..access import AccessError, require, signed_in_user
from ..evaluation import workflow
from ..evaluation.scoring import ScoringError
from ..instruments.rubric import Criterion
from ..store import Store, StoreError, find_workspace, open_store

__all__ = ["WorkspaceError", "resolve_workspace", "open_workspace", "current_username", "css_name", "STYLE",
           "message", "local_time", "close_tree", "Debouncer", "RaterPicker", "QueueView", "CriterionRow",
           "SAVE_ERRORS", "authorise"]

#: What a save can run into that the user must read (and retry), never a traceback: a refused step, a level not
#: on the scale, the database unreachable or still locked by another writer after the store's busy timeout, a role
#: taken away while the page was open.
SAVE_ERRORS = (workflow.WorkflowError, ScoringError, StoreError, sa.exc.SQLAlchemyError, AccessError)


class WorkspaceError(RuntimeError):
    """No workspace could be found or opened; the message says what to do."""


def resolve_workspace(workspace=None, start: Path | None = None) -> str:
    """The workspace to open (:func:`evalkit.store.find_workspace`); raises :class:`WorkspaceError` when none is
    found."""
    try:
        return find_workspace(workspace, start)
    except StoreError as exc:
        raise WorkspaceError(str(exc)) from None


def open_workspace(workspace=None) -> Store:
    """Open the workspace for a view; any problem becomes a :class:`WorkspaceError` with a readable message."""
    target = resolve_workspace(workspace)
    try:
        return open_store(target)
    except StoreError as exc:
        raise WorkspaceError(str(exc)) from None


def current_username(store: Store | None = None) -> str:
    """Who is at the keyboard: the person signed in through the hub (:func:`evalkit.access.signed_in_user`), else
    ``$EVALKIT_RATER``, else the operating-system user (a single desk)."""
    return signed_in_user(store) or os.environ.get("EVALKIT_RATER") or getpass.getuser()


def authorise(store: Store, roles: Iterable[str]) -> None:
    """With a hub, refuse (:class:`~evalkit.access.AccessError`) unless the signed-in person holds one of ``roles``
    now, read from the workspace at this moment: a role taken away while the page is open stops the next action.
    A single desk (nobody signed in through a hub) has no roles to check."""
    person = signed_in_user(store)
    if person is not None:
        require(store, person, *roles)


def css_name(text: str) -> str:
    """A value usable inside a CSS class name (criterion ids may hold dots or spaces)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(text))


def message(text: str, kind: str = "info", html_body: str = "") -> str:
    """A message box's HTML: ``kind`` is info, ok, warn or error; ``text`` is escaped, ``html_body`` is not."""
    return f'<div class="ek-msg ek-msg-{kind}">{html.escape(text)}{html_body}</div>'


def local_time(utc_naive: dt.datetime | None, fmt: str = "%H:%M:%S") -> str:
    """A stored UTC time on the server's local clock, for "saved at ..." lines."""
    if utc_naive is None:
        return ""
    return utc_naive.replace(tzinfo=dt.timezone.utc).astimezone().strftime(fmt)


STYLE = """
<style>
.ek-app { font-family: var(--jp-ui-font-family, system-ui, sans-serif); color: #1f2933; max-width: 1800px; }
.ek-app .widget-html-content { line-height: 1.4; }
.ek-app .ek-title { font-size: 20px; font-weight: 600; margin: 4px 0 2px 0; }
.ek-app .ek-subtitle { color: #52606d; font-size: 13px; }
.ek-header { align-items: center; justify-content: space-between; border-bottom: 2px solid #1d4e89;
  padding-bottom: 6px; margin-bottom: 8px; }
.ek-identity .widget-label { font-weight: 600; }
.ek-msg { border-radius: 4px; padding: 8px 12px; margin: 6px 0; font-size: 13px; line-height: 1.45; }
.ek-msg ul { margin: 4px 0 0 0; padding-left: 20px; }
.ek-msg-info { background: #eef4fb; border-left: 4px solid #1d4e89; }
.ek-msg-ok { background: #e9f7ef; border-left: 4px solid #1e7b45; }
.ek-msg-warn { background: #fff7e0; border-left: 4px solid #c88a00; }
.ek-msg-error { background: #fdecec; border-left: 4px solid #b42318; }
.ek-section-title { font-weight: 600; font-size: 15px; margin: 6px 0 4px 0; color: #1d4e89; }
/* queue */
.ek-queue-row, .ek-queue-head { display: grid !important; grid-template-columns: 84px 1fr; align-items: center;
  gap: 8px; border-bottom: 1px solid #e4e7eb; padding: 2px 0; margin: 0 !important; }
.ek-queue-head { font-weight: 600; color: #52606d; font-size: 12px; border-bottom: 2px solid #cbd2d9; }
.ek-cells { display: grid; gap: 6px; font-size: 13px; align-items: center;
  grid-template-columns: minmax(84px, .8fr) minmax(64px, .8fr) minmax(60px, .5fr) minmax(110px, 1.5fr)
    minmax(84px, 1fr) minmax(84px, 1fr) minmax(130px, 2fr) minmax(84px, 1.1fr); }
.ek-cells > div { min-width: 0; overflow-wrap: break-word; }
.ek-queue-row.ek-overdue { background: #fdecec; }
.ek-queue-row.ek-current { background: #e3eefa; box-shadow: inset 4px 0 0 #1d4e89; }
.ek-badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px; font-weight: 600; }
.ek-badge-overdue { background: #b42318; color: white; }
.ek-badge-soon { background: #fff1c2; color: #7a5200; }
.ek-badge-ok { background: #e9f7ef; color: #1e7b45; }
.ek-state { font-size: 12px; border-radius: 3px; padding: 1px 6px; background: #e4e7eb; }
.ek-state-draft { background: #fff1c2; } .ek-state-final { background: #d9f2e3; }
.ek-state-in-adjudication, .ek-state-adjudicate, .ek-state-unassigned { background: #ece3fb; }
.ek-pager { align-items: center; font-size: 13px; color: #52606d; }
/* submission + rubric: a box's parts keep their height (Lumino boxes would otherwise shrink them to fit) */
.ek-rubricpane > .lm-Widget, .ek-docpane > .lm-Widget, .ek-criterion > .lm-Widget, .ek-summary > .lm-Widget,
.ek-form > .lm-Widget, .ek-bank > .lm-Widget { flex: 0 0 auto; }
.ek-workarea { align-items: flex-start; gap: 12px; }
.ek-docpane { flex: 1 1 42%; min-width: 320px; max-height: 85vh; overflow: auto; border: 1px solid #cbd2d9;
  border-radius: 4px; padding: 4px 14px; background: #fcfcfd; }
.ek-rubricpane { flex: 1 1 58%; min-width: 420px; max-height: 85vh; overflow: auto; padding-right: 4px; }
.ek-document { font-size: 14px; line-height: 1.5; }
.ek-document table { border-collapse: collapse; margin: 6px 0; }
.ek-document td, .ek-document th { border: 1px solid #cbd2d9; padding: 3px 6px; font-size: 13px; }
.ek-doc-pre { white-space: pre-wrap !important; word-break: normal !important; overflow-wrap: break-word;
  font-family: inherit; }
.ek-doc-error { background: #fdecec; border-left: 4px solid #b42318; padding: 8px 12px; }
.ek-doc-note { color: #52606d; font-size: 12px; }
.ek-summary { position: sticky; top: 0; z-index: 5; background: #f5f7fa; border: 1px solid #cbd2d9;
  border-radius: 4px; padding: 6px 10px; margin-bottom: 6px; }
.ek-summary-line { font-size: 14px; }
.ek-outcome { font-weight: 700; padding: 1px 8px; border-radius: 3px; }
.ek-outcome-pass { background: #d9f2e3; color: #14522e; }
.ek-outcome-deficient { background: #fdecec; color: #8a1c12; }
.ek-outcome-incomplete { background: #e4e7eb; color: #3e4c59; }
.ek-status { font-size: 12px; color: #52606d; }
.ek-domain { font-size: 15px; font-weight: 600; color: #1d4e89; border-bottom: 1px solid #cbd2d9;
  margin: 12px 0 4px 0; }
.ek-criterion { border: 1px solid #e4e7eb; border-radius: 4px; padding: 6px 10px; margin: 6px 0; background: white; }
.ek-criterion.ek-gap { border: 2px solid #b42318; }
.ek-criterion-head { font-size: 13px; line-height: 1.4; }
.ek-criterion-head .ek-cid { font-weight: 700; margin-right: 6px; }
.ek-criterion-head .ek-meta { color: #52606d; font-size: 12px; }
.ek-n2 { --ek-n: 2; } .ek-n3 { --ek-n: 3; } .ek-n4 { --ek-n: 4; } .ek-n5 { --ek-n: 5; } .ek-n6 { --ek-n: 6; }
.ek-n7 { --ek-n: 7; }
.ek-levels .widget-toggle-buttons, .ek-levels { width: 100%; }
.ek-levels .btn-group, .ek-levels > div:last-child { display: grid !important; gap: 4px; width: 100%;
  grid-template-columns: repeat(var(--ek-n, 4), 1fr); }
.ek-levels button.widget-toggle-button { width: auto !important; margin: 0 !important; white-space: normal;
  height: auto; min-height: 28px; line-height: 1.25; padding: 4px 6px; text-overflow: clip; overflow: visible; }
.ek-levels button.mod-active { background: #1d4e89 !important; color: white !important; }
.ek-descriptors { display: grid; gap: 4px; grid-template-columns: repeat(var(--ek-n, 4), 1fr); margin-top: 3px; }
.ek-descriptor { font-size: 11.5px; line-height: 1.35; color: #3e4c59; border: 1px solid #e4e7eb; border-radius: 3px;
  padding: 4px 6px; background: #fafbfc; }
.ek-descriptor.ek-chosen { border-color: #1d4e89; background: #eef4fb; color: #1f2933; }
.ek-descriptor.ek-below { border-top: 3px solid #e8a39d; }
.ek-feedback-label { font-size: 12px; margin-top: 4px; color: #52606d; }
.ek-feedback-label.ek-required { color: #b42318; font-weight: 600; }
.ek-feedback textarea, .ek-comment textarea { font-size: 13px; font-family: inherit; }
.ek-feedback.ek-missing textarea { border: 2px solid #b42318; background: #fffafa; }
.ek-bank { margin-top: 2px; }
.ek-bank-row { align-items: flex-start; gap: 6px; font-size: 12px; }
.ek-bank-row .widget-html-content { line-height: 1.35; }
.ek-bank-insert { flex: 0 0 auto; }
.ek-readonly .ek-levels button { cursor: default; }
/* adjudication */
.ek-raters { display: grid; grid-template-columns: repeat(var(--ek-r, 2), 1fr); gap: 6px; margin: 4px 0; }
.ek-rater { border: 1px solid #e4e7eb; border-radius: 3px; padding: 4px 6px; font-size: 12px; background: #fafbfc; }
.ek-rater .ek-rater-level { font-weight: 700; }
.ek-criterion.ek-disputed { border-left: 5px solid #c88a00; }
.ek-disputed-badge { background: #fff1c2; color: #7a5200; border-radius: 3px; padding: 0 6px; font-size: 12px;
  font-weight: 600; margin-left: 6px; }
</style>
"""


def close_tree(widget: w.Widget) -> None:
    """Close a widget and everything inside it: a replaced view's comms would otherwise live as long as the kernel."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


class Debouncer:
    """Run ``action`` once, ``delay`` seconds after the last :meth:`trigger`: the autosave of a form.

    Inside a kernel (JupyterLab or Voila) the timer runs on the kernel's asyncio loop, so the action runs on the
    same thread as the widget callbacks; without a running loop (a plain Python process, tests) a daemon thread
    timer is used. :meth:`flush` runs a pending action at once (before Submit, or before opening another form),
    and every pending action is flushed when the process exits normally.
    """

    def __init__(self, delay: float, action: Callable[[], None]):
        if delay < 0:
            raise ValueError(f"autosave delay is {delay}; expected seconds >= 0")
        self.delay = delay
        self.action = action
        self._handle = None
        self._lock = threading.RLock()
        _live.add(self)

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def trigger(self) -> None:
        with self._lock:
            self.cancel()
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                timer = threading.Timer(self.delay, self._fire)
                timer.daemon = True
                timer.start()
                self._handle = timer
            else:
                self._handle = loop.call_later(self.delay, self._fire)

    def cancel(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None

    def flush(self) -> None:
        with self._lock:
            if self._handle is not None:
                self.cancel()
                self.action()

    def _fire(self) -> None:
        with self._lock:
            self._handle = None
            self.action()


_live: "weakref.WeakSet[Debouncer]" = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """A kernel shutting down (a Voila tab closed, a kernel restarted) saves what is pending instead of losing it."""
    for debouncer in list(_live):
        try:
            debouncer.flush()
        # The process is exiting: the save itself is committed first; showing its status may fail, and one
        # form's failure must not stop the others' saves.
        except Exception:  # noqa: BLE001
            pass


class RaterPicker:
    """Who is scoring: the logged-in user when registered, or a choice of raters where the workspace allows it.

    ``on_change(username)`` is called with the chosen rater (never with an unregistered name).
    """

    def __init__(self, store: Store, username: str | None, on_change: Callable[[str | None], None],
                 adjudicators_only: bool = False, allow_choice: bool | None = None, label: str = "Scoring as"):
        self.on_change = on_change
        signed_in = signed_in_user(store)
        if signed_in is not None:  # the hub says who this is; nobody may pick another name
            username, allow_choice = signed_in, False
        self.raters = {r["username"]: r for r in workflow.list_raters(store, "adjudicator" if adjudicators_only
                                                                       else "rater")}
        self.allow_choice = bool(store.get_setting("allow_rater_choice", False) if allow_choice is None
                                 else allow_choice)
        self.username = username if username in self.raters else None
        self.problem = None
        if self.allow_choice:
            # "" rather than None for "nobody yet": ipywidgets shows a None value as an empty box
            options = [("Choose who you are…", "")] + [(f"{r['name']} ({u})", u) for u, r in self.raters.items()]
            self.chooser = w.Dropdown(options=options, value=self.username or "", description=label,
                                      style={"description_width": "initial"}, layout=w.Layout(width="380px"))
            self.chooser.add_class("ek-identity")
            self.chooser.observe(self._chosen, names="value")
            self.widget = self.chooser
        else:
            self.chooser = None
            if self.username is None:
                role = "an adjudicator" if adjudicators_only else "a rater"
                self.problem = (f"You are signed in as {username!r}, who is not registered as {role} in this "
                                "workspace. Ask the certification office to register you.")
                self.widget = w.HTML(message(self.problem, "error"))
            else:
                r = self.raters[self.username]
                self.widget = w.HTML(f'<div class="ek-identity">{label} <b>{html.escape(r["name"])}</b> '
                                     f'({html.escape(self.username)})</div>')

    def _chosen(self, change) -> None:
        self.username = change["new"] or None
        self.on_change(self.username)


def _days_badge(row: dict) -> str:
    left = row["days_left"]
    if row["state"] == "decided":
        return '<span class="ek-state">done</span>'
    if row["overdue"]:
        late = f'{-left} business day{"s" * (left != -1)} late'
        return f'<span class="ek-badge ek-badge-overdue">OVERDUE · {late}</span>'
    kind = "soon" if left <= 5 else "ok"
    return f'<span class="ek-badge ek-badge-{kind}">{left} business day{"s" * (left != 1)} left</span>'


class QueueView:
    """A page of queue rows (``workflow.queue`` rows) with an action button each.

    Opening it costs what the open work costs, however long the history: it is given the rows still open and
    draws one page of them; the rest (``more``, the decided submissions) is read when someone asks for it, by
    choosing "All" or reading :attr:`rows`. After a change, :meth:`update` replaces the rows of the submissions
    concerned and draws the page again, without reading the queue anew.

    Parameters
    ----------
    rows : list of dict
        Rows as :func:`evalkit.evaluation.workflow.queue` returns them (with ``more``: those not yet decided).
    on_open : callable
        Called with the submission id when a row's button is clicked.
    todo_states : iterable of str
        The states shown under "To do" (the rest only under "All").
    action : str
        The button's label ("Open", "Take"...).
    page_size : int
        Rows per page: a page of widgets stays quick to draw however long the queue is.
    css : str
        The view's CSS class (its filter is ``<css>-filter``).
    empty : str, optional
        What to say when there is no row to show.
    more : callable, optional
        Returns the other rows (the decided submissions), read the first time "All" or :attr:`rows` needs them.
    """

    HEAD = ["Submission", "Program", "Attempt", "Candidate", "Received", "Notify by", "Time left", "State"]

    def __init__(self, rows: list[dict], on_open: Callable[[int], None], todo_states: Iterable[str],
                 action: str = "Open", page_size: int = 12, css: str = "ek-queue", empty: str | None = None,
                 more: Callable[[], list[dict]] | None = None):
        self.on_open = on_open
        self.empty_text = empty
        self.todo_states = set(todo_states)
        self.action = action
        self.page_size = page_size
        self.page = 0
        self.current: int | None = None
        self._more = more
        self.show = w.ToggleButtons(options=["To do", "All"], value="To do", style={"button_width": "70px"})
        self.show.add_class(f"{css}-filter")
        self.show.observe(lambda _: self._goto(0), names="value")
        self.prev = w.Button(description="‹ Previous", layout=w.Layout(width="100px"))
        self.next = w.Button(description="Next ›", layout=w.Layout(width="100px"))
        self.prev.on_click(lambda _: self._goto(self.page - 1))
        self.next.on_click(lambda _: self._goto(self.page + 1))
        self.position = w.HTML()
        head = w.HTML('<div class="ek-cells">' + "".join(f"<div>{h}</div>" for h in self.HEAD) + "</div>")
        header = w.HBox([w.HTML(""), head])
        header.add_class("ek-queue-head")
        self.body = w.VBox()
        self.empty = w.HTML()
        pager = w.HBox([self.prev, self.position, self.next])
        pager.add_class("ek-pager")
        self.widget = w.VBox([self.show, header, self.body, self.empty, pager])
        self.widget.add_class(css)
        self.refresh(rows)

    @property
    def rows(self) -> list[dict]:
        """Every row, in queue order (reading the rest with ``more`` the first time)."""
        if self._more is not None:
            more, self._more = self._more, None
            have = {r["submission"] for r in self._rows}
            self._rows = sorted(self._rows + [r for r in more() if r["submission"] not in have],
                                key=workflow.queue_order)
        return self._rows

    def refresh(self, rows: list[dict]) -> None:
        """Show these rows (with ``more``: the open ones; the decided rows already read are kept)."""
        given = {r["submission"] for r in rows}
        kept = [r for r in getattr(self, "_rows", []) if r["state"] == "decided" and r["submission"] not in given]
        self._rows = sorted(list(rows) + kept, key=workflow.queue_order) if kept else list(rows)
        self._goto(self.page)

    def update(self, rows: list[dict]) -> None:
        """Replace the rows of these submissions (or add them) and draw the page again."""
        given = {r["submission"]: r for r in rows}
        self._rows = sorted([r for r in self._rows if r["submission"] not in given] + list(given.values()),
                            key=workflow.queue_order)
        self._goto(self.page)

    def set_state(self, submission_id: int, state: str) -> None:
        """Update one row's state after a save, without asking the database for the whole queue again."""
        for r in self._rows:
            if r["submission"] == submission_id and r["state"] != state:
                r["state"] = state
                self._goto(self.page)
                return

    def mark_current(self, submission_id: int | None) -> None:
        self.current = submission_id
        self._goto(self.page)

    @property
    def visible_rows(self) -> list[dict]:
        if self.show.value == "All":
            return self.rows
        return [r for r in self._rows if r["state"] in self.todo_states]

    def _goto(self, page: int) -> None:
        rows = self.visible_rows
        pages = max(1, -(-len(rows) // self.page_size))
        self.page = min(max(page, 0), pages - 1)
        shown = rows[self.page * self.page_size:(self.page + 1) * self.page_size]
        for old in self.body.children:
            close_tree(old)
        self.body.children = [self._row(r) for r in shown]
        start = self.page * self.page_size
        self.position.value = (f'<span class="ek-position">{start + 1}–{start + len(shown)} of {len(rows)}</span>'
                               if rows else "")
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
        empty = self.empty_text or ("Nothing to do: every submission assigned to you is done."
                                    if self.show.value == "To do" else "No submission is assigned to you.")
        self.empty.value = "" if rows else message(empty, "ok")

    def _row(self, r: dict) -> w.Widget:
        sid = r["submission"]
        button = w.Button(description=self.action, layout=w.Layout(width="80px"),
                          button_style="primary" if r["state"] in self.todo_states else "")
        button.add_class("ek-open")
        button.add_class(f"ek-open-{sid}")
        button.on_click(lambda _, sid=sid: self.on_open(sid))
        state = html.escape(r["state"])
        cells = [f"#{sid}", html.escape(r["program"]), str(r["attempt"]), html.escape(r["candidate"]),
                 r["received"].isoformat(), r["due"].isoformat(), _days_badge(r),
                 f'<span class="ek-state ek-state-{css_name(r["state"])}">{state}</span>']
        row = w.HBox([button, w.HTML('<div class="ek-cells">' + "".join(f"<div>{c}</div>" for c in cells) + "</div>")])
        row.add_class("ek-queue-row")
        row.add_class(f"ek-row-{sid}")
        if r["overdue"]:
            row.add_class("ek-overdue")
        if sid == self.current:
            row.add_class("ek-current")
        return row


class CriterionRow:
    """One rubric criterion: its anchored levels with descriptors, a one-click level, feedback and its bank.

    Feedback is required (and marked so) when the chosen level is below the standard. ``on_change`` is called after
    every edit by the user.
    """

    def __init__(self, criterion: Criterion, level: int | None = None, feedback: str = "",
                 on_change: Callable[[], None] | None = None, extra: w.Widget | None = None,
                 audience: str = "the candidate"):
        self.criterion = c = criterion
        self.on_change = on_change or (lambda: None)
        head = (f'<div class="ek-criterion-head"><span class="ek-cid">{html.escape(c.id)}</span>'
                f'{html.escape(c.assesses)} <span class="ek-meta">· weight {c.weight:g} · meets the standard at '
                f'level {c.meets_standard}</span></div>')
        self.levels = w.ToggleButtons(options=[(f"{lv.score} · {lv.label}", lv.score) for lv in c.levels],
                                      value=level, tooltips=[lv.descriptor for lv in c.levels],
                                      style={"button_width": "auto"}, layout=w.Layout(width="100%"))
        self.levels.add_class("ek-levels")
        self.descriptors = w.HTML()
        self.feedback_label = w.HTML()
        self.feedback = w.Textarea(value=feedback or "", placeholder=f"Feedback to {audience} on this item",
                                   layout=w.Layout(width="100%", height="64px"))
        self.feedback.add_class("ek-feedback")
        self.bank = w.VBox()
        self.bank.add_class("ek-bank")
        self._banks: dict[int, w.VBox] = {}
        parts = [w.HTML(head)] + ([extra] if extra is not None else []) + \
            [self.levels, self.descriptors, self.feedback_label, self.feedback, self.bank]
        self.widget = w.VBox(parts, layout=w.Layout(width="auto"))
        self.widget.add_class("ek-criterion")
        self.widget.add_class(f"ek-n{min(len(c.levels), 7)}")  # the number of level columns, for the CSS grid
        self.widget.add_class(f"ek-criterion-{css_name(c.id)}")
        self._show_level()
        self._show_required()
        self.levels.observe(self._level_changed, names="value")
        self.feedback.observe(self._feedback_changed, names="value")

    @property
    def level(self) -> int | None:
        return self.levels.value

    @property
    def text(self) -> str:
        return self.feedback.value

    @property
    def below_standard(self) -> bool:
        return self.level is not None and self.level < self.criterion.meets_standard

    def set_disabled(self, disabled: bool) -> None:
        self.levels.disabled = disabled
        self.feedback.disabled = disabled
        for bank in self._banks.values():
            for row in bank.children[1:]:
                row.children[0].disabled = disabled

    def mark_gap(self, gap: bool) -> None:
        (self.widget.add_class if gap else self.widget.remove_class)("ek-gap")

    def insert(self, sentence: str) -> None:
        """Add a feedback-bank sentence to the feedback (as a new paragraph), to be edited afterwards."""
        current = self.feedback.value.rstrip()
        self.feedback.value = f"{current}\n\n{sentence}" if current else sentence

    def _level_changed(self, _change) -> None:
        self.mark_gap(False)
        self._show_level()
        self._show_required()
        self.on_change()

    def _feedback_changed(self, _change) -> None:
        self._show_required()
        self.on_change()

    def _show_level(self) -> None:
        cards = []
        for lv in self.criterion.levels:
            classes = "ek-descriptor" + (" ek-chosen" if lv.score == self.level else "") + \
                (" ek-below" if lv.score < self.criterion.meets_standard else "")
            cards.append(f'<div class="{classes}">{html.escape(lv.descriptor)}</div>')
        self.descriptors.value = f'<div class="ek-descriptors">{"".join(cards)}</div>'
        self.bank.children = [self._bank(self.level)] if self.level is not None and \
            self.criterion.level(self.level).feedback else []

    def _bank(self, score: int) -> w.VBox:
        if score not in self._banks:
            rows = [w.HTML('<div class="ek-feedback-label">Feedback bank: insert a prepared sentence, then edit it'
                           '</div>')]
            for sentence in self.criterion.level(score).feedback:
                button = w.Button(description="Insert", icon="plus", layout=w.Layout(width="80px", height="26px"),
                                  disabled=self.levels.disabled)
                button.add_class("ek-bank-insert")
                button.on_click(lambda _, s=sentence: self.insert(s))
                row = w.HBox([button, w.HTML(html.escape(sentence))])
                row.add_class("ek-bank-row")
                rows.append(row)
            self._banks[score] = w.VBox(rows)
        return self._banks[score]

    def _show_required(self) -> None:
        missing = self.below_standard and not self.feedback.value.strip()
        if self.below_standard:
            label = "Feedback — <b>required</b>: this level is below the standard" + \
                (" (still empty)" if missing else "")
            self.feedback_label.value = f'<div class="ek-feedback-label ek-required">{label}</div>'
        else:
            self.feedback_label.value = '<div class="ek-feedback-label">Feedback (optional)</div>'
        (self.feedback.add_class if missing else self.feedback.remove_class)("ek-missing")
