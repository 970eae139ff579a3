"""The call-certification end-of-day report for operations leadership, in Markdown and HTML.

The layout is in the templates ``callcert_eod.md.j2`` and ``callcert_eod.html.j2`` (:mod:`evalkit.templates`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from .. import outputs
from ..store import Store, cc_actions, cc_agents, cc_calls
from ..templates import environment, markdown_text
from .records import display_name, notes, overview
from .rules import CALLS_REQUIRED, STEP_LABEL, STEP_STAGE, TARGET_DAYS, call_passed, parse_date

__all__ = ["EodReport", "eod_report"]


def _render(name: str, html: bool, context: dict) -> str:
    # keep_trailing_newline: a saved report ends with a line break, as a text file should.
    options = {} if html else {"finalize": markdown_text}  # HTML is autoescaped; Markdown escaped by finalize
    return environment(html, keep_trailing_newline=True, **options).get_template(name).render(**context)


@dataclass(frozen=True)
class EodReport:
    """The end-of-day report for operations leadership, as data and rendered as Markdown and HTML."""

    day: dt.date
    context: dict = field(repr=False)

    @property
    def markdown(self) -> str:
        return _render("callcert_eod.md.j2", False, self.context)

    @property
    def html(self) -> str:
        return _render("callcert_eod.html.j2", True, self.context)

    def save(self, path) -> Path:
        """Write the report; ``.html``/``.htm`` gives HTML, anything else Markdown."""
        path = Path(path)
        text = self.html if path.suffix.lower() in (".html", ".htm") else self.markdown
        outputs.write_private(path, text)
        return path

    def filename(self, suffix: str) -> str:
        return f"callcert-eod-{self.day}{suffix}"


def eod_report(store: Store, day=None, holidays=None) -> EodReport:
    """The end-of-day report for ``day`` (default today), from the records dated on or before it.

    It lists the agents in call certification that day (started, and not finished or terminated before it),
    calls scored that day, ladder actions due or recorded that day, open equipment issues, time limits exceeded
    and the day's progress notes, after a summary with counts.
    """
    day = parse_date(day or dt.date.today(), "report date")
    everyone = overview(store, day, holidays)
    with store.read() as conn:
        day_calls = conn.execute(sa.select(cc_calls, cc_agents.c.first_name, cc_agents.c.last_name)
                                 .join(cc_agents, cc_agents.c.id == cc_calls.c.agent_id)
                                 .where(cc_calls.c.scored_on == day)
                                 .order_by(cc_agents.c.last_name, cc_calls.c.call_no)).mappings().all()
        day_actions = conn.execute(sa.select(cc_actions, cc_agents.c.first_name, cc_agents.c.last_name)
                                   .join(cc_agents, cc_agents.c.id == cc_actions.c.agent_id)
                                   .where(cc_actions.c.on_date == day)).mappings().all()
    # In certification that day: started, and neither finished nor terminated before it.
    current = [s for s in everyone if s.day is not None and s.finished_on in (None, day)
               and dict(s.recorded).get("termination", day) == day]
    finished = [s for s in current if s.finished_on == day]
    active = [s for s in current if s.finished_on is None and s.stage != "terminated"]
    due = [(s, d) for s in active for d in s.due]
    passes = [s.certification.calls_passed for s in finished if s.stage == "passed"]
    by_rate = ", ".join(f"{passes.count(k)} at {k}/{CALLS_REQUIRED}" for k in sorted(set(passes), reverse=True))
    summary = [
        ("Agents in call certification", f"{len(active)} (on target {sum(s.stage == 'in progress' for s in active)}, "
                                         f"past target {sum(s.stage == 'past target' for s in active)}, on the "
                                         f"escalation ladder {sum(s.stage in STEP_STAGE.values() for s in active)})"),
        ("Calls scored today", f"{len(day_calls)} ({sum(call_passed(c['score']) for c in day_calls)} passed)"),
        ("Finished today", f"{sum(s.stage == 'passed' for s in finished)} passed ({by_rate or 'none'}), "
                           f"{sum(s.stage == 'failed' for s in finished)} failed"),
        ("Ladder actions due", f"{len(due)} ({sum(d.overdue for _, d in due)} overdue)"),
        ("Open equipment issues", str(sum(bool(s.equipment_issue) for s in active))),
    ]
    agents_rows = [{
        "name": s.name, "start": s.start_date, "day": s.day, "certifier": s.certifier or "-",
        "calls": f"{s.certification.calls_passed}/{s.certification.calls_scored}",
        "tbt": f"done ({s.tbt_hours:g} h)" if s.tbt_done_on else "not done",
        "stage": s.stage if s.stage not in ("passed", "failed") else
        f"{s.stage} ({s.certification.pass_rate:.0f}%)",
        "due": "; ".join(map(str, s.due)) or "-", "equipment": s.equipment_issue or "-",
        "css": "fail" if s.stage in STEP_STAGE.values() or s.stage == "failed" else "",
    } for s in current]
    actions = [f"{s.name}: {d}" for s, d in due]
    actions += [f"{display_name(a)}: {STEP_LABEL[a['action']]} recorded by {a['by']}: {a['note']}"
                for a in day_actions]
    context = {
        "day": day, "organisation": store.get_setting("organisation", "Call certification team"),
        "target_days": TARGET_DAYS, "summary": summary, "agents": agents_rows,
        "calls": [{"agent": display_name(c), "call_no": c["call_no"], "certifier": c["certifier"],
                   "score": f"{c['score']:.1f}", "result": "Pass" if call_passed(c["score"]) else "Fail"}
                  for c in day_calls],
        "actions": actions,
        "equipment": [f"{s.name}: {s.equipment_issue}" for s in active if s.equipment_issue],
        "flags": [f"{s.name}: {f}" for s in current for f in s.flags],
        "notes": [f"{n['line']} (agent: {n['agent']})" for n in notes(store, on_date=day)],
    }
    return EodReport(day, context)
