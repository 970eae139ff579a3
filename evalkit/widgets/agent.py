"""The agent's page: their timeline (training days, then call certs), each scored call's scorecard with the coaching
note, and the end-of-day self-report form.

Thin over :mod:`evalkit.callcert`. The agent is the person signed in through the hub, linked to an agent
(``person_links``); never one picked from a list. A report is sent as that person, so an agent reports only their
own progress (:func:`evalkit.callcert.submit_self_report` refuses another agent's).

Every element a test needs carries a stable ``ek-agent-*`` CSS class.
"""
from __future__ import annotations

import datetime as dt
import html

import ipywidgets as w

from .. import callcert
from ..access import signed_in_user
from ..store import Store
from .common import SAVE_ERRORS, STYLE, WorkspaceError, message, open_workspace

__all__ = ["AgentPage", "agent_app"]

ERRORS = (callcert.CallCertError, *SAVE_ERRORS)

AGENT_STYLE = """
<style>
.ek-agent-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
.ek-agent-table th, .ek-agent-table td { border-bottom: 1px solid #e4e7eb; padding: 3px 8px; text-align: left;
  vertical-align: top; }
.ek-agent-table th { color: #52606d; border-bottom: 2px solid #cbd2d9; }
.ek-agent-call { border: 1px solid #cbd2d9; border-radius: 4px; padding: 6px 10px; margin: 6px 0; max-width: 900px; }
.ek-agent-pass { color: #1e7b45; font-weight: 600; } .ek-agent-fail { color: #b42318; font-weight: 600; }
</style>
"""


class AgentPage:
    """One agent's own page.

    Parameters
    ----------
    store : Store
    agent_id : int
        The agent (the signed-in person's, see :func:`agent_app`).
    reporter : str, optional
        The signed-in username the report is sent as (None on a single desk).
    today : date, optional
    """

    def __init__(self, store: Store, agent_id: int, reporter: str | None = None, today: dt.date | None = None):
        self.store, self.agent_id, self.reporter = store, agent_id, reporter
        self.today = today or dt.date.today()
        self.timeline = w.HTML()
        self.timeline.add_class("ek-agent-timeline")
        self.calls = w.HTML()
        self.calls.add_class("ek-agent-calls")
        self.progress = w.Textarea(placeholder="What you did today (calls, role plays, shadowing)",
                                   layout=w.Layout(width="640px", height="70px"))
        self.progress.add_class("ek-agent-progress")
        self.modules = w.Text(placeholder="e.g. Billing 1, Billing 2", description="TBT modules done",
                              style={"description_width": "130px"}, layout=w.Layout(width="640px"))
        self.modules.add_class("ek-agent-modules")
        self.blockers = w.Textarea(placeholder="Anything blocking you (equipment, access, ...); empty: nothing",
                                   layout=w.Layout(width="640px", height="50px"))
        self.blockers.add_class("ek-agent-blockers")
        send = w.Button(description="Send today's report", button_style="primary",
                         layout=w.Layout(width="auto", align_self="flex-start"))
        send.add_class("ek-agent-send")
        send.on_click(lambda _: self.send())
        self.message = w.HTML()
        self.message.add_class("ek-agent-message")
        self.reports = w.HTML()
        self.reports.add_class("ek-agent-reports")
        self.header = w.HTML()
        self.widget = w.VBox([
            w.HTML(STYLE + AGENT_STYLE), self.header,
            w.HTML('<div class="ek-section-title">Your timeline</div>'), self.timeline,
            w.HTML('<div class="ek-section-title">Your calls</div>'), self.calls,
            w.HTML('<div class="ek-section-title">End-of-day report</div>'
                   '<div>Report your progress before you log off each evening.</div>'),
            w.HTML("<b>Progress today</b>"), self.progress, self.modules, w.HTML("<b>Blockers</b>"), self.blockers,
            send, self.message, self.reports])
        self.widget.add_class("ek-app")
        self.widget.add_class("ek-agent-page")
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def refresh(self) -> None:
        agent = callcert.agent(self.store, self.agent_id)
        status = callcert.agent_status(self.store, self.agent_id, self.today)
        self.header.value = (f'<div class="ek-title">{html.escape(agent["first_name"])} '
                             f'{html.escape(agent["last_name"])}: call certification</div>'
                             f"<div>Certifier: {html.escape(agent['certifier'] or 'not connected yet')} · "
                             f"calls passed {status.certification.calls_passed} of "
                             f"{status.certification.calls_scored} scored ({callcert.CALLS_REQUIRED} in all; a call "
                             f"passes at {callcert.CALL_PASS_MARK:g})</div>")
        rows = [(d.on_date, d.title, d.what) for d in callcert.training_days(agent["start_date"])]
        rows.append((agent["start_date"], "Call certs start", f"{callcert.CALLS_REQUIRED} scored calls and the TBTs, "
                                                               f"within {callcert.TARGET_DAYS} business days"))
        self.timeline.value = ('<table class="ek-agent-table"><tr><th>Date</th><th>Day</th><th>What</th></tr>'
                               + "".join(f"<tr><td>{d}</td><td>{html.escape(t)}</td><td>{html.escape(x)}</td></tr>"
                                         for d, t, x in rows) + "</table>")
        calls = callcert.calls(self.store, self.agent_id)
        if not calls:
            self.calls.value = message("No call scored yet.", "info")
        else:
            rubric = callcert.load_scorecard()
            parts = []
            for c in calls:
                items = "".join(
                    f"<tr><td>{html.escape(cr.assesses)}</td><td>{c['levels'].get(cr.id, '-')} of "
                    f"{cr.max_score}</td></tr>" for cr in rubric.criteria)
                verdict = ('<span class="ek-agent-pass">Pass</span>' if c["passed"]
                           else '<span class="ek-agent-fail">Below the pass mark</span>')
                parts.append(
                    f'<div class="ek-agent-call ek-agent-call-{c["call_no"]}"><b>Call {c["call_no"]}</b> on '
                    f"{c['scored_on']} by {html.escape(c['certifier'])}: <b>{c['score']:.1f}</b> {verdict}"
                    f"<div><b>What went well:</b> {html.escape(c['went_well'])}</div>"
                    f"<div><b>What was marked down:</b> {html.escape(c['marked_down'] or 'Nothing')}</div>"
                    f"<div><b>A positive remark:</b> {html.escape(c['positive'])}</div>"
                    f'<details><summary>Scorecard</summary><table class="ek-agent-table">{items}</table></details>'
                    "</div>")
            self.calls.value = "".join(parts)
        reports = callcert.self_reports(self.store, self.agent_id)
        self.reports.value = ("" if not reports else
                              '<table class="ek-agent-table"><tr><th>Day</th><th>Progress</th><th>TBT modules</th>'
                              "<th>Blockers</th></tr>" + "".join(
                                  f"<tr><td>{r['on_date']}</td><td>{html.escape(r['progress'])}</td>"
                                  f"<td>{html.escape(', '.join(r['tbt_modules']) or '-')}</td>"
                                  f"<td>{html.escape(r['blockers'] or '-')}</td></tr>" for r in reports) + "</table>")

    def send(self) -> bool:
        try:
            callcert.submit_self_report(self.store, self.agent_id, self.progress.value, self.modules.value,
                                        self.blockers.value, on_date=self.today, reporter=self.reporter,
                                        today=self.today)
        except ERRORS as exc:
            self.message.value = message(f"Not sent: {exc}", "error")
            return False
        self.message.value = message(f"Report for {self.today} sent to the Cert Coordinator.", "ok")
        self.progress.value = self.modules.value = self.blockers.value = ""
        self.refresh()
        return True


def agent_app(workspace=None, today: dt.date | None = None):
    """The signed-in agent's page for the notebook (``person_links`` says which agent they are)."""
    try:
        store = open_workspace(workspace)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
    person = signed_in_user(store)
    agent_id = callcert.agent_for_user(store, person)
    if agent_id is None:
        return w.HTML(STYLE + message("Sign in as an agent to see your calls and report your progress "
                                      f"({'signed in as ' + person if person else 'nobody is signed in'}; the Cert "
                                      "Coordinator links your sign-in to your agent record).", "info"))
    return AgentPage(store, agent_id, reporter=person, today=today)
