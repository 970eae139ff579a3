"""The call-certification views: the Certifier's call scorecard and the Cert Coordinator's dashboard.

Thin over :mod:`evalkit.callcert` (the same functions as ``evalkit callcert ...``): the scorecard form writes
through ``callcert.score_call`` and exports with ``callcert.export_scorecard``; the dashboard reads
``callcert.overview`` and writes notes, ladder actions, equipment issues, TBTs and agents through the module's
functions; the end-of-day report is ``callcert.eod_report``. The scorecard items reuse the work-product form's
:class:`~evalkit.widgets.common.CriterionRow` (levels with descriptors, feedback bank). The notebook
``notebooks/call_certification.ipynb`` shows ``certifier_app()`` and ``coordinator_app()``.

Every element a test needs carries a stable ``ek-cc-*`` CSS class.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import weakref
from pathlib import Path
from typing import Callable

import ipywidgets as w

from .. import callcert
from ..access import signed_in_user
from ..evaluation import scoring
from ..store import Store
from .common import SAVE_ERRORS, STYLE, CriterionRow, WorkspaceError, authorise, message, open_workspace

__all__ = ["CallScorecardForm", "CoordinatorDashboard", "certifier_app", "coordinator_app", "download_link"]

ERRORS = (callcert.CallCertError, *SAVE_ERRORS)

CC_STYLE = """
<style>
.ek-cc-table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
.ek-cc-table th, .ek-cc-table td { border-bottom: 1px solid #e4e7eb; padding: 3px 8px; text-align: left;
  vertical-align: top; }
.ek-cc-table th { color: #52606d; border-bottom: 2px solid #cbd2d9; }
.ek-cc-table td.ek-cc-date { white-space: nowrap; }
.ek-cc-stage { border-radius: 3px; padding: 1px 6px; font-size: 12px; background: #e4e7eb; white-space: nowrap; }
.ek-cc-stage-passed { background: #d9f2e3; } .ek-cc-stage-failed, .ek-cc-stage-terminated { background: #fdecec; }
.ek-cc-stage-past-target { background: #fff1c2; }
.ek-cc-stage-coaching, .ek-cc-stage-written-CAP, .ek-cc-stage-final-CAP, .ek-cc-stage-termination-eligible {
  background: #b42318; color: white; }
.ek-cc-pass { color: #1e7b45; font-weight: 600; } .ek-cc-fail { color: #b42318; font-weight: 600; }
.ek-cc-required .widget-label, .ek-cc-label-required { color: #b42318; font-weight: 600; }
.ek-cc-report iframe { width: 100%; height: 640px; border: 1px solid #cbd2d9; }
</style>
"""

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_link(path: Path, mime: str) -> str:
    """An HTML link that downloads the file from the page itself (Voila users cannot browse the server's files)."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    name = html.escape(Path(path).name)
    return f'<a download="{name}" href="data:{mime};base64,{data}">Download {name}</a>'


#: The prompt's value in agent lists: agent ids start at 1, and ipywidgets shows a None value as an empty box.
_NO_AGENT = 0


def _agent_options(statuses: list[callcert.AgentStatus], keep=lambda s: True) -> list[tuple[str, int]]:
    options = [("Choose an agent…", _NO_AGENT)]
    for s in sorted(statuses, key=lambda s: (s.name, s.agent_id)):
        if keep(s):
            options.append((f"{s.name} (#{s.agent_id}) · {s.certification.calls_scored}/{callcert.CALLS_REQUIRED} "
                            f"calls · {s.stage}", s.agent_id))
    return options


def _set_options(dropdown: w.Dropdown, options) -> None:
    """Replace a dropdown's options, keeping its value when it is still offered."""
    value = dropdown.value
    dropdown.options = options
    dropdown.value = value if value in [v for _, v in options] else _NO_AGENT


def _field(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget


def _stage_badge(stage: str) -> str:
    return f'<span class="ek-cc-stage ek-cc-stage-{stage.replace(" ", "-")}">{html.escape(stage)}</span>'


def _calls_table(rows: list[dict]) -> str:
    if not rows:
        return message("No call scored yet.", "info")
    body = "".join(
        f"<tr><td>{r['call_no']}</td><td>{r['scored_on']}</td><td>{html.escape(r['certifier'])}</td>"
        f"<td>{r['score']:.1f}</td><td class=\"ek-cc-{'pass' if r['passed'] else 'fail'}\">"
        f"{'Pass' if r['passed'] else 'Fail'}</td></tr>" for r in rows)
    return ('<table class="ek-cc-table ek-cc-calls"><tr><th>Call</th><th>Date</th><th>Certifier</th><th>Score</th>'
            f"<th>Result</th></tr>{body}</table>")


class CallScorecardForm:
    """The Certifier's form: pick an agent, score the next call on the scorecard, coach, save; export after five.

    Parameters
    ----------
    store : Store
    certifier : str, optional
        Prefilled Certifier name (default: the agent's assigned Certifier when an agent is picked), where nobody is
        signed in (a single desk). A person signed in through the hub, or on PostgreSQL as themselves, is the
        Certifier (:func:`evalkit.callcert.certifier_name`): the field shows them, read-only, and the call is saved
        under them whatever the field holds.
    today : date, optional
        The default call date (default: the real today).
    rubric : Rubric, optional
        The call scorecard (default ``rubrics/call_scorecard.yaml``).
    scorecard_folder : path, optional
        Where exported workbooks go (default ``<workspace>/scorecards``).
    """

    def __init__(self, store: Store, certifier: str | None = None, today: dt.date | None = None, rubric=None,
                 scorecard_folder=None):
        self.store = store
        self.today = today or dt.date.today()
        self.rubric = rubric or callcert.load_scorecard()
        self.scorecard_folder = scorecard_folder
        self.agent = _field(w.Dropdown(description="Agent", layout=w.Layout(width="520px")), "ek-cc-agent")
        self.certifier = _field(w.Combobox(value=certifier or "", options=callcert.certifiers(store),
                                           description="Certifier", placeholder="Your name",
                                           ensure_option=False, layout=w.Layout(width="320px")), "ek-cc-certifier")
        signed_in = self._signed_in_certifier()
        if signed_in is not None:  # the hub (or the database session) says who this is; nobody may type another
            self.certifier.value, self.certifier.options = signed_in[1], (signed_in[1],)
            self.certifier.disabled = True
            self.certifier.tooltip = "You are signed in: calls are saved under your name"
            self.certifier.add_class("ek-cc-signed-in")
        self.call_date = _field(w.DatePicker(value=self.today, description="Call date"), "ek-cc-date")
        self.hours = _field(w.BoundedFloatText(value=0, min=0, max=24, step=0.25, description="Hours",
                                               tooltip="Time from connecting with the agent to the end of coaching "
                                                       "(0 = not recorded)", layout=w.Layout(width="180px")),
                            "ek-cc-hours")
        self.progress = _field(w.HTML(), "ek-cc-progress")
        self.rows = {c.id: CriterionRow(c, on_change=self._changed, audience="the agent")
                     for c in self.rubric.criteria}
        self.summary = _field(w.HTML(), "ek-cc-summary")
        self.went_well = _field(w.Textarea(placeholder="What the agent did well on this call",
                                           layout=w.Layout(width="100%", height="60px")), "ek-cc-went-well")
        self.positive = _field(w.Textarea(placeholder="At least one positive remark to share with the agent "
                                          "(required, so that feedback is never only negative)",
                                          layout=w.Layout(width="100%", height="60px")), "ek-cc-positive")
        self.save_button = _field(w.Button(description="Save call", icon="check", button_style="success",
                                           layout=w.Layout(width="140px")), "ek-cc-save")
        self.save_button.on_click(lambda _: self.save())
        self.export_button = _field(w.Button(description="Export scorecard (.xlsx)", icon="download",
                                             layout=w.Layout(width="220px"), disabled=True), "ek-cc-export")
        self.export_button.on_click(lambda _: self.export())
        self.message = _field(w.HTML(), "ek-cc-message")
        self.export_message = _field(w.HTML(), "ek-cc-export-message")
        self.agent.observe(lambda _: self._agent_changed(), names="value")

        sections: list[w.Widget] = []
        for domain, criteria in self.rubric.by_domain().items():
            sections.append(w.HTML(f'<div class="ek-domain">{html.escape(domain)}</div>'))
            sections += [self.rows[c.id].widget for c in criteria]
        coaching = [w.HTML('<div class="ek-section-title">Coaching after the call</div>'),
                    w.HTML('<div class="ek-feedback-label ek-required">What went well (required)</div>'),
                    self.went_well,
                    w.HTML('<div class="ek-feedback-label">What was marked down: the feedback on each item above '
                           '(required for every item below the standard)</div>'),
                    w.HTML('<div class="ek-feedback-label ek-required">Positive remark (required)</div>'),
                    self.positive]
        bar = w.VBox([self.summary, w.HBox([self.save_button, self.export_button],
                                           layout=w.Layout(align_items="center")), self.message,
                      self.export_message])
        bar.add_class("ek-summary")
        self.scorecard = w.VBox([bar, *sections, *coaching])
        self.widget = w.VBox([w.HTML(STYLE + CC_STYLE),
                              w.HTML('<div class="ek-title">Call certification: score a call</div>'),
                              w.HBox([self.agent, self.certifier]), w.HBox([self.call_date, self.hours]),
                              self.progress, self.scorecard])
        self.widget.add_class("ek-app")
        self.widget.add_class("ek-cc-form")
        self.refresh_agents()
        self._agent_changed()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def levels(self) -> dict[str, int | None]:
        return {cid: row.level for cid, row in self.rows.items()}

    @property
    def feedback(self) -> dict[str, str]:
        return {cid: row.text for cid, row in self.rows.items()}

    def _signed_in_certifier(self) -> tuple[str, str] | None:
        """The signed-in person, read now: (username, their name as the Certifier); None where nobody is."""
        person = signed_in_user(self.store)
        return (person, callcert.certifier_name(self.store, person)) if person is not None else None

    def refresh_agents(self) -> None:
        """Agents who still have calls to take (not finished, not terminated), and those ready to export."""
        statuses = callcert.overview(self.store, self.today)
        _set_options(self.agent, _agent_options(statuses, lambda s: s.stage != "terminated"))

    def _agent_changed(self) -> None:
        self.message.value = self.export_message.value = ""
        aid = self.agent.value
        if not aid:
            self.progress.value = message("Choose the agent whose call you are scoring.", "info")
            self.export_button.disabled = True
            self._changed()
            return
        info = callcert.agent(self.store, aid)
        if not self.certifier.disabled and not self.certifier.value.strip() and info["certifier"]:
            self.certifier.value = info["certifier"]
        self._show_progress()

    def _show_progress(self) -> None:
        aid = self.agent.value
        done = callcert.calls(self.store, aid)
        cert = callcert.certify([c["score"] for c in done])
        status = callcert.agent_status(self.store, aid, self.today)
        head = (f"<b>{html.escape(status.name)}</b> · started {status.start_date} · {cert.calls_passed} of "
                f"{cert.calls_scored} calls passed · {_stage_badge(status.stage)}")
        if status.equipment_issue:
            head += f" · equipment issue: {html.escape(status.equipment_issue)}"
        self.progress.value = f'<div class="ek-subhead">{head}</div>{_calls_table(done)}'
        complete = cert.calls_scored >= callcert.CALLS_REQUIRED
        self.export_button.disabled = not complete
        # Five calls are all there is: the form does not offer a sixth.
        self.save_button.disabled = complete
        for row in self.rows.values():
            row.levels.disabled = row.feedback.disabled = complete
        self.went_well.disabled = self.positive.disabled = complete
        if complete:
            self.summary.value = message("All five calls are scored: export the scorecard.", "info")
            return
        self._changed()

    def _changed(self) -> None:
        levels = self.levels
        scored = sum(v is not None for v in levels.values())
        if scored < len(levels):
            self.summary.value = (f'<span class="ek-outcome ek-outcome-incomplete">{scored} of {len(levels)} items '
                                  f"scored</span>")
            return
        score = scoring.total_percent(self.rubric, levels)
        passed = callcert.call_passed(score)
        self.summary.value = (f'<span class="ek-summary-line">Call score <b>{score:.1f}</b> '
                              f'<span class="ek-outcome ek-outcome-{"pass" if passed else "deficient"}">'
                              f'{"PASS" if passed else "FAIL"}</span> (a call passes at '
                              f"{callcert.CALL_PASS_MARK:g})</span>")

    def save(self) -> callcert.ScoredCall | None:
        """Store the call; a refusal is shown in the form and nothing is stored."""
        if not self.agent.value:
            self.message.value = message("Not saved: choose the agent first.", "error")
            return None
        # Checked at save, not only when the form opened: a signed-in person's calls carry their name whatever the
        # field was made to hold (the field is read-only, but a kernel can set any widget's value).
        try:
            signed_in = self._signed_in_certifier()
        except ERRORS as exc:
            self.message.value = message(f"Not saved: {str(exc).splitlines()[0]}", "error")
            return None
        if signed_in is not None:
            self.certifier.value = signed_in[1]
        certifier = signed_in[1] if signed_in is not None else self.certifier.value
        actor = signed_in[0] if signed_in is not None else certifier
        gaps = scoring.missing_for_final(self.rubric, self.levels, self.feedback)
        for cid, row in self.rows.items():
            row.mark_gap(any(g.startswith(f"{cid}:") for g in gaps))
        # Everything missing at once, in the certifier's words (the store would refuse one thing at a time).
        missing = [g.replace("no level chosen", "choose a level").replace(
                   "is below the standard; feedback is required", "is below the standard: say why for the agent")
                   for g in gaps]
        for value, what in ((certifier, "Certifier: your name"),
                            (self.went_well.value, "What went well: at least a sentence"),
                            (self.positive.value, "Positive remark: at least one, for the agent")):
            if not (value or "").strip():
                missing.append(what)
        if missing:
            items = "".join(f"<li>{html.escape(g)}</li>" for g in missing)
            self.message.value = message("Not saved yet. Still to do:", "error", f"<ul>{items}</ul>")
            return None
        try:
            authorise(self.store, ("certifier", "coordinator"))
            result = callcert.score_call(
                self.store, self.agent.value, certifier, self.levels, self.went_well.value,
                callcert.marked_down_note(self.rubric, self.levels, self.feedback), self.positive.value,
                scored_on=self.call_date.value, duration_hours=self.hours.value or None, actor=actor)
        except ERRORS as exc:
            self.message.value = message(f"Not saved: {exc}", "error")
            return None
        cert = result.certification
        verdict = "passed" if result.passed else "did not pass"
        text = (f"Call {result.call_no} saved: {result.score:.1f}, {verdict}. {cert.calls_passed} of "
                f"{cert.calls_scored} calls passed.")
        try:  # the agent's scorecard for this call goes to them by e-mail where their address is on record
            queued = callcert.queue_call_scorecard(self.store, self.agent.value, result.call_no,
                                                   actor=actor)
        except ERRORS as exc:
            queued, text = None, text + f" The scorecard was not queued by e-mail: {exc}."
        if queued:
            text += " The scorecard is queued to the agent by e-mail."
        if cert.status != "in progress":
            text += (f" Pass rate {cert.pass_rate:.0f}%: the agent {cert.status} the call certification. "
                     "Export the scorecard and send it to the Cert Coordinator now.")
        self._clear()
        self.refresh_agents()
        self._show_progress()
        self.message.value = message(text, "ok" if result.passed else "warn")
        _calls_saved.notify()
        return result

    def _clear(self) -> None:
        for row in self.rows.values():
            row.levels.value = None
            row.feedback.value = ""
            row.mark_gap(False)
        self.went_well.value = self.positive.value = ""
        self.hours.value = 0

    def export(self) -> Path | None:
        """Write the agent's scorecard workbook and offer it for download."""
        try:
            path = callcert.export_scorecard(self.store, self.agent.value, self.scorecard_folder)
        except ERRORS as exc:
            self.export_message.value = message(f"Not exported: {exc}", "error")
            return None
        self.export_message.value = message(f"Scorecard written to {path}. ", "ok", download_link(path, _XLSX))
        return path


class CoordinatorDashboard:
    """The Cert Coordinator's view: every agent's stage and what is due, progress notes, ladder actions,
    agents (new agent, Certifier, equipment, TBTs), and the end-of-day report in one click.

    Parameters
    ----------
    store : Store
    today : date, optional
        The day the dashboard shows (default: the real today); the default date of everything recorded.
    coordinator : str, optional
        Who records actions (default "Cert Coordinator").
    reports_folder : path, optional
        Where end-of-day reports go (default ``<workspace>/reports``).
    """

    def __init__(self, store: Store, today: dt.date | None = None, coordinator: str = "Cert Coordinator",
                 reports_folder=None):
        self.store = store
        self.today = today or dt.date.today()
        self.reports_folder = reports_folder
        self.as_of = _field(w.DatePicker(value=self.today, description="As of"), "ek-cc-as-of")
        self.as_of.observe(lambda _: self.refresh(), names="value")
        self.table = _field(w.HTML(), "ek-cc-overview")
        self.statuses: list[callcert.AgentStatus] = []
        self.agent_pickers: list[w.Dropdown] = []

        # progress notes
        self.note_agent = self._picker("ek-cc-note-agent")
        self.note_name = _field(w.Text(description="Name", placeholder="Who reported it"), "ek-cc-note-name")
        self.note_text = _field(w.Textarea(placeholder="Progress (agent's self-report, email, your note)",
                                           layout=w.Layout(width="520px", height="60px")), "ek-cc-note-text")
        self.note_date = w.DatePicker(value=self.today, description="Date")
        self.note_list = _field(w.HTML(), "ek-cc-notes")
        self.note_message = _field(w.HTML(), "ek-cc-note-message")
        self.note_agent.observe(lambda _: self._note_agent_changed(), names="value")
        notes_tab = w.VBox([self.note_agent, w.HBox([self.note_name, self.note_date]), self.note_text,
                            self._button("Save note", "ek-cc-save-note", self.save_note), self.note_message,
                            self.note_list])

        # ladder actions
        self.action_agent = self._picker("ek-cc-action-agent")
        self.action = _field(w.Dropdown(options=[(label, a) for a, label in callcert.LADDER], description="Action"),
                             "ek-cc-action")
        self.action_by = w.Text(value=coordinator, description="By")
        self.action_date = w.DatePicker(value=self.today, description="Date")
        self.action_note = _field(w.Textarea(placeholder="What was delivered and the expectation set",
                                             layout=w.Layout(width="520px", height="60px")), "ek-cc-action-note")
        self.action_message = _field(w.HTML(), "ek-cc-action-message")
        self.action_agent.observe(lambda _: self._action_agent_changed(), names="value")
        actions_tab = w.VBox([self.action_agent, w.HBox([self.action, self.action_date]), self.action_by,
                              self.action_note, self._button("Record action", "ek-cc-save-action",
                                                             self.save_action), self.action_message])

        # agents
        self.new_first = w.Text(description="First name")
        self.new_last = w.Text(description="Last name")
        self.new_start = w.DatePicker(value=self.today, description="Start (day 1)")
        self.new_certifier = w.Combobox(options=callcert.certifiers(store), description="Certifier",
                                        ensure_option=False)
        self.edit_agent = self._picker("ek-cc-edit-agent")
        self.equipment = _field(w.Text(description="Equipment", placeholder="Issue noted with IT (empty: resolved)",
                                       layout=w.Layout(width="520px")), "ek-cc-equipment")
        self.assign = w.Combobox(options=callcert.certifiers(store), description="Certifier", ensure_option=False)
        self.tbt_hours = w.BoundedFloatText(value=0, min=0, max=120, step=0.25, description="TBT hours")
        self.tbt_date = w.DatePicker(value=self.today, description="TBTs done")
        self.agent_message = _field(w.HTML(), "ek-cc-agent-message")
        self.edit_agent.observe(lambda _: self._edit_agent_changed(), names="value")
        agents_tab = w.VBox([
            w.HTML('<div class="ek-section-title">New agent</div>'),
            w.HBox([self.new_first, self.new_last]), w.HBox([self.new_start, self.new_certifier]),
            self._button("Add agent", "ek-cc-add-agent", self.add_agent),
            w.HTML('<div class="ek-section-title">Agent</div>'), self.edit_agent,
            w.HBox([self.equipment, self._button("Save equipment status", "ek-cc-save-equipment",
                                                 self.save_equipment)]),
            w.HBox([self.assign, self._button("Connect certifier", "ek-cc-assign", self.save_certifier)]),
            w.HBox([self.tbt_hours, self.tbt_date, self._button("Record TBTs done", "ek-cc-save-tbt",
                                                                 self.save_tbt)]),
            self.agent_message])

        # end-of-day report
        self.report_date = w.DatePicker(value=self.today, description="Report date")
        self.report_message = _field(w.HTML(), "ek-cc-report-message")
        self.report_view = _field(w.HTML(), "ek-cc-report")
        report_tab = w.VBox([w.HBox([self.report_date, self._button("Create end-of-day report", "ek-cc-eod",
                                                                    self.create_report)]),
                             self.report_message, self.report_view])

        self.tabs = w.Tab(children=[notes_tab, actions_tab, agents_tab, report_tab])
        for k, title in enumerate(["Progress notes", "Ladder actions", "Agents", "End-of-day report"]):
            self.tabs.set_title(k, title)
        self.widget = w.VBox([w.HTML(STYLE + CC_STYLE),
                              w.HTML('<div class="ek-title">Call certification: coordinator</div>'),
                              w.HBox([self.as_of, self._button("Refresh", "ek-cc-refresh", self.refresh)]),
                              self.table, self.tabs])
        self.widget.add_class("ek-app")
        self.widget.add_class("ek-cc-dashboard")
        self.refresh()
        _calls_saved.add(self)  # a call saved in the Certifier's form on the same page shows here at once

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _picker(self, css: str) -> w.Dropdown:
        picker = _field(w.Dropdown(description="Agent", layout=w.Layout(width="520px")), css)
        self.agent_pickers.append(picker)
        return picker

    @staticmethod
    def _button(label: str, css: str, action: Callable[[], object]) -> w.Button:
        # flex-start: in a column a button with width auto stretched across the page; primary: it does the work
        button = _field(w.Button(description=label, button_style="" if label == "Refresh" else "primary",
                                 layout=w.Layout(width="auto", align_self="flex-start")), css)
        button.on_click(lambda _: action())
        return button

    def refresh(self) -> None:
        """Reread every agent as of the chosen day: the table and the agent choices."""
        self.statuses = callcert.overview(self.store, self.as_of.value or self.today)
        self.table.value = self._table()
        for picker in self.agent_pickers:
            _set_options(picker, _agent_options(self.statuses))

    def _table(self) -> str:
        if not self.statuses:
            return message("No agents yet: add one under Agents.", "info")
        rows = []
        for s in self.statuses:
            due = "<br>".join(html.escape(str(d)) for d in s.due) or "-"
            notes = [f"equipment: {s.equipment_issue}"] if s.equipment_issue else []
            notes += list(s.flags)
            day = s.day if s.finished_on is None and s.stage != "terminated" else None
            rows.append(
                f'<tr class="ek-cc-row-{s.agent_id}"><td>#{s.agent_id}</td><td>{html.escape(s.name)}</td>'
                f"<td class=\"ek-cc-date\">{s.start_date}</td><td>{day or '-'}</td>"
                f"<td>{html.escape(s.certifier or '-')}</td>"
                f"<td>{s.certification.calls_passed}/{s.certification.calls_scored}</td>"
                f"<td>{'done' if s.tbt_done_on else '-'}</td><td>{_stage_badge(s.stage)}</td><td>{due}</td>"
                f"<td>{'<br>'.join(html.escape(n) for n in notes) or '-'}</td>"
                f"<td>{html.escape(s.last_note or '')}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in ["#", "Agent", "Start", "Day", "Certifier", "Passed/calls", "TBTs",
                                                  "Stage", "Due today", "Equipment and time", "Last note"])
        due = sum(len(s.due) for s in self.statuses)
        return (message(f"{due} ladder action(s) due as of {self.as_of.value or self.today}.",
                        "warn" if due else "ok") + self._missing_reports()
                + f'<table class="ek-cc-table"><tr>{head}</tr>{"".join(rows)}</table>')

    def _missing_reports(self) -> str:
        """The flag of agents in call certs who have not self-reported for the day shown (evalkit.callcert.
        missing_reports); an e-mailed report is entered with ``evalkit callcert self-report --email``."""
        day = self.as_of.value or self.today
        missing = callcert.missing_reports(self.store, day)
        if not missing:
            text = message(f"Every agent in call certs has self-reported for {day}.", "ok")
        else:
            names = "; ".join(f"{m['name']} (#{m['agent_id']})" for m in missing)
            text = message(f"{len(missing)} agent(s) have not self-reported for {day}: {names}.", "warn")
        return f'<div class="ek-cc-missing-reports">{text}</div>'

    def _run(self, out: w.HTML, action: Callable[[], str], picker: w.Dropdown | None = None) -> bool:
        """Run one write; show its confirmation or its refusal in ``out`` and refresh the table after a write.
        With ``picker``, an agent must be chosen first."""
        if picker is not None and not picker.value:
            out.value = message("Not saved: choose the agent first.", "error")
            return False
        try:
            authorise(self.store, ("coordinator",))
            text = action()
        except ERRORS as exc:
            out.value = message(f"Not saved: {exc}", "error")
            return False
        out.value = message(text, "ok")
        self.refresh()
        return True

    # progress notes

    def _note_agent_changed(self) -> None:
        aid = self.note_agent.value
        if not aid:
            self.note_list.value = ""
            return
        info = callcert.agent(self.store, aid)
        self.note_name.value = f"{info['first_name']} {info['last_name']}"
        self._show_notes()

    def _show_notes(self) -> None:
        lines = [n["line"] for n in callcert.notes(self.store, self.note_agent.value)]
        self.note_list.value = ("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"
                                if lines else message("No progress notes yet.", "info"))

    def save_note(self) -> bool:
        if self._run(self.note_message, lambda: "Saved: " + callcert.add_note(
                self.store, self.note_agent.value, self.note_name.value, self.note_text.value, self.note_date.value),
                self.note_agent):
            self.note_text.value = ""
            self._show_notes()
            return True
        return False

    # ladder actions

    def _action_agent_changed(self) -> None:
        status = next((s for s in self.statuses if s.agent_id == self.action_agent.value), None)
        if status and status.due:
            self.action.value = status.due[0].action

    def save_action(self) -> bool:
        label = dict(callcert.LADDER)[self.action.value]
        if self._run(self.action_message, lambda: callcert.record_action(
                self.store, self.action_agent.value, self.action.value, self.action_date.value, self.action_by.value,
                self.action_note.value) or f"Recorded: {label} for agent #{self.action_agent.value}.",
                self.action_agent):
            self.action_note.value = ""
            return True
        return False

    # agents

    def add_agent(self) -> bool:
        def add():
            aid = callcert.add_agent(self.store, self.new_first.value, self.new_last.value, self.new_start.value,
                                     self.new_certifier.value or None)
            return f"Added agent #{aid}: {self.new_last.value.strip()}, {self.new_first.value.strip()}."
        if self._run(self.agent_message, add):
            self.new_first.value = self.new_last.value = ""
            return True
        return False

    def _edit_agent_changed(self) -> None:
        if not self.edit_agent.value:
            return
        info = callcert.agent(self.store, self.edit_agent.value)
        self.equipment.value = info["equipment_issue"] or ""
        self.assign.value = info["certifier"] or ""
        self.tbt_hours.value = info["tbt_hours"] or 0

    def save_equipment(self) -> bool:
        issue = self.equipment.value.strip()
        return self._run(self.agent_message, lambda: callcert.set_equipment_issue(
            self.store, self.edit_agent.value, issue) or (f"Equipment issue noted: {issue}" if issue else
                                                          "Equipment marked resolved."))

    def save_certifier(self) -> bool:
        return self._run(self.agent_message, lambda: callcert.assign_certifier(
            self.store, self.edit_agent.value, self.assign.value) or f"Connected with {self.assign.value.strip()}.")

    def save_tbt(self) -> bool:
        return self._run(self.agent_message, lambda: callcert.record_tbt(
            self.store, self.edit_agent.value, self.tbt_hours.value or None, self.tbt_date.value)
            or f"TBTs recorded done on {self.tbt_date.value} ({self.tbt_hours.value:g} h).")

    # end-of-day report

    def create_report(self) -> tuple[Path, Path] | None:
        """Write the day's report as Markdown and HTML, show it, and offer both for download."""
        try:
            report = callcert.eod_report(self.store, self.report_date.value or self.today)
            folder = callcert.output_folder(self.store, "reports", self.reports_folder)
            md = report.save(folder / report.filename(".md"))
            page = report.save(folder / report.filename(".html"))
        except ERRORS as exc:
            self.report_message.value = message(f"No report: {exc}", "error")
            return None
        links = f"{download_link(page, 'text/html')} · {download_link(md, 'text/markdown')}"
        self.report_message.value = message(f"Report written to {page.parent}. ", "ok", links)
        self.report_view.value = f'<iframe srcdoc="{html.escape(report.html, quote=True)}"></iframe>'
        return md, page


class _Listeners:
    """Views that show calls register here; a call saved in one view of the kernel refreshes the others (the
    Certifier's form and the Coordinator's table sit on one page)."""

    def __init__(self):
        self._views = weakref.WeakSet()

    def add(self, view) -> None:
        self._views.add(view)

    def notify(self) -> None:
        for view in list(self._views):
            view.refresh()


_calls_saved = _Listeners()


def _app(factory, workspace):
    try:
        store = open_workspace(workspace)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
    return factory(store)


def certifier_app(workspace=None, certifier: str | None = None, today: dt.date | None = None):
    """The Certifier's call scorecard for the notebook; the workspace as for the scoring workbench
    (``$EVALKIT_WORKSPACE``, else ``workspace/`` here or one folder up)."""
    return _app(lambda store: CallScorecardForm(store, certifier, today), workspace)


def coordinator_app(workspace=None, today: dt.date | None = None):
    """The Cert Coordinator's dashboard for the notebook."""
    return _app(lambda store: CoordinatorDashboard(store, today), workspace)
