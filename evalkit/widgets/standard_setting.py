"""The standard-setting workshop: a modified-Angoff panel's ratings, round by round, the impact data shown between
rounds, the recommended cut beside the pass mark, and (for an admin) adopting it as the program's pass mark.

Thin over :mod:`evalkit.psychometrics.workshops` (storage, rounds, adoption) and
:mod:`evalkit.psychometrics.standard_setting` (the numbers). ``notebooks/standard_setting.ipynb`` shows it with
``standard_setting_app(program="CCOM")``. Recording a workshop needs the psychometrician or admin role; adopting a
pass mark needs admin (with a hub; a single desk has no roles to check).
"""
from __future__ import annotations

import datetime as dt
import html
import io
import math

import ipywidgets as w
import pandas as pd

from ..evaluation import workflow
from ..psychometrics import standard_setting as ss
from ..psychometrics import workshops
from ..psychometrics.reports import impact_plot
from .common import (SAVE_ERRORS, STYLE, WorkspaceError, authorise, close_tree, current_username, message,
                     open_workspace, resolve_workspace)

__all__ = ["StandardSettingApp", "standard_setting_app"]

#: Who may record a workshop, and who may adopt its result.
RECORDERS = ("psychometrician", "admin")
ADOPTERS = ("admin",)
ERRORS = SAVE_ERRORS + (workshops.WorkshopError, ss.StandardSettingError)

_STYLE = """
<style>
.ek-ss table.ek-ss-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
.ek-ss table.ek-ss-table th, .ek-ss table.ek-ss-table td { border-bottom: 1px solid #e4e7eb; padding: 2px 8px;
  text-align: right; }
.ek-ss table.ek-ss-table th { background: #f2f4f7; }
.ek-ss .ek-ss-crit { align-items: center; border-bottom: 1px solid #e4e7eb; }
.ek-ss .ek-ss-crit-text { font-size: 12px; color: #52606d; }
</style>
"""


def _table(frame: pd.DataFrame, digits: int = 2) -> str:
    return frame.to_html(index=False, escape=True, na_rep="–", border=0, classes="ek-ss-table",
                         float_format=lambda x: f"{x:.{digits}f}")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


class StandardSettingApp(w.VBox):
    """A program's standard-setting workshops: start one, record each panellist's expected levels of a minimally
    competent candidate round by round, close rounds (the impact data), close the workshop, adopt its result.

    Parameters
    ----------
    workspace : str or Path, optional
        Workspace folder or database URL (default ``$EVALKIT_WORKSPACE``, else ``workspace/``).
    program : str
        A program with a work product.
    """

    def __init__(self, workspace=None, program: str = "CCOM", **kwargs):
        super().__init__(**kwargs)
        self.add_class("ek-app")
        self.add_class("ek-ss")
        self.workspace = resolve_workspace(workspace)
        self.store = open_workspace(self.workspace)
        try:
            self.rubric = workflow.rubric_for(self.store, workflow.rubric_version_of(self.store, program))
        except workflow.WorkflowError as exc:
            self.store.dispose()
            raise WorkspaceError(str(exc)) from None
        self.program = program
        self.username = current_username(self.store)
        self.message = w.HTML()
        self.workshop = w.Dropdown(description="Workshop", layout=w.Layout(width="560px"),
                                   style={"description_width": "80px"})
        self.workshop.observe(lambda _: self.show(), "value")
        # a new workshop
        self.title = w.Text(value=f"{program} pass mark review", description="Title", layout=w.Layout(width="560px"))
        self.held_on = w.DatePicker(value=dt.date.today(), description="Held on")
        self.facilitator = w.Text(value=self.username, description="Facilitator")
        self.mcc = w.Textarea(value=workshops.MCC if program == "CCOM" else "", description="Minimally competent",
                              placeholder="what a candidate who just deserves to pass can do",
                              layout=w.Layout(width="760px", height="70px"), style={"description_width": "140px"})
        self.panel = w.Textarea(description="Panellists", placeholder="one per line: name, expertise",
                                layout=w.Layout(width="560px", height="110px"))
        self.create_button = w.Button(description="Start the workshop", button_style="primary")
        self.create_button.on_click(self._on_create)
        # ratings
        self.panellist = w.Dropdown(description="Panellist", style={"description_width": "80px"})
        self.panellist.observe(lambda _: self._fill_levels(), "value")
        steps = [c.scores for c in self.rubric.criteria]
        self.levels = {c.id: w.BoundedFloatText(min=float(s[0]), max=float(s[-1]), step=0.5, value=float(
            c.meets_standard), layout=w.Layout(width="90px")) for c, s in zip(self.rubric.criteria, steps)}
        rows = []
        for c in self.rubric.criteria:
            labels = ", ".join(f"{lv.score} {lv.label}" for lv in c.levels)
            row = w.HBox([w.HTML(f"<b>{html.escape(c.id)}</b>", layout=w.Layout(width="60px")), self.levels[c.id],
                          w.HTML(f'<div class="ek-ss-crit-text">{html.escape(c.assesses[:160])}<br>'
                                 f'{html.escape(labels)}; meets the standard at {c.meets_standard}</div>')])
            row.add_class("ek-ss-crit")
            rows.append(row)
        self.rating_rows = w.VBox(rows)
        self.save_button = w.Button(description="Save this panellist's ratings", button_style="primary")
        self.save_button.on_click(self._on_save)
        self.round_status = w.HTML()
        self.close_round_button = w.Button(description="Close the round (impact data)")
        self.close_round_button.on_click(self._on_close_round)
        self.next_round_button = w.Button(description="Open the next round")
        self.next_round_button.on_click(self._on_next_round)
        self.close_button = w.Button(description="Close the workshop", button_style="warning")
        self.close_button.on_click(self._on_close_workshop)
        # result
        self.result = w.HTML()
        self.figure = w.Image(format="png", layout=w.Layout(max_width="760px"))
        self.pass_mark = w.BoundedFloatText(min=0.1, max=100.0, step=0.5, description="Pass mark %",
                                            style={"description_width": "90px"}, layout=w.Layout(width="200px"))
        self.reason = w.Text(description="Reason", placeholder="e.g. certification board, minute 2026-12",
                             layout=w.Layout(width="560px"))
        self.adopt_button = w.Button(description="Adopt as the program's pass mark", button_style="danger")
        self.adopt_button.on_click(self._on_adopt)
        self.children = [
            w.HTML(STYLE + _STYLE + f'<div class="ek-title">Standard setting: {html.escape(program)}</div>'
                   f'<div class="ek-subtitle">Modified Angoff. Workspace {html.escape(str(self.workspace))}; '
                   f'rubric {html.escape(self.rubric.id)} version {html.escape(self.rubric.version)}, pass mark '
                   f'{self.rubric.pass_rule.pass_mark:g}%</div>'),
            self.message, self.workshop,
            w.Accordion([w.VBox([self.title, w.HBox([self.held_on, self.facilitator]), self.mcc, self.panel,
                                 self.create_button])], titles=("Start a new workshop",), selected_index=None),
            w.HTML('<div class="ek-section-title">Ratings: the level a minimally competent candidate would be '
                   'expected to reach</div>'),
            self.panellist, self.rating_rows, self.save_button,
            w.HTML('<div class="ek-section-title">Rounds</div>'), self.round_status,
            w.HBox([self.close_round_button, self.next_round_button, self.close_button]),
            w.HTML('<div class="ek-section-title">Result</div>'), self.result, self.figure,
            w.HTML('<div class="ek-section-title">Adopt (admin): a new rubric version with this pass mark; '
                   'past decisions keep theirs</div>'),
            w.HBox([self.pass_mark, self.reason]), self.adopt_button,
        ]
        self.refresh()

    # --- reading --------------------------------------------------------------------------------------------------

    def refresh(self, select: int | None = None) -> None:
        """Re-read the program's workshops and show the one selected (default: the newest)."""
        found = workshops.list_workshops(self.store, self.program)
        options = [(f"#{r.id} {r.title} ({r.held_on}, {r.state}, {r.rounds} round(s))", int(r.id))
                   for r in found.itertuples()]
        current = select if select is not None else self.workshop.value
        self.workshop.options = options
        if options:
            self.workshop.value = current if current in [o[1] for o in options] else options[0][1]
        self.show()

    @property
    def workshop_id(self) -> int | None:
        return self.workshop.value

    def show(self) -> None:
        """Show the selected workshop: its panel, the open round, the rounds so far and the result."""
        wid = self.workshop_id
        recording = False
        if wid is None:
            self.round_status.value = message("No workshop yet for this program: start one above.")
            self.result.value, self.figure.value = "", b""
            self.panellist.options = []
        else:
            res = workshops.workshop_result(self.store, wid)
            self.current = res
            names = list(res.panellists["name"])
            keep = self.panellist.value
            self.panellist.options = names
            if keep in names:
                self.panellist.value = keep
            state = res.workshop["state"]
            open_round = res.open_round
            recording = state == "open" and open_round is not None
            if state == "open":
                rated = res.ratings[res.ratings["round"] == open_round] if open_round else res.ratings.iloc[:0]
                done = rated.groupby("panellist").size()
                complete = int((done >= len(self.rubric.criteria)).sum())
                self.round_status.value = message(
                    f"Round {open_round} is open: {complete} of {len(names)} panellists have rated every criterion."
                    if open_round else f"Round {len(res.rounds)} is closed; open the next round or close the "
                                       "workshop.")
            else:
                self.round_status.value = message(f"Workshop closed with {len(res.rounds)} round(s).", "ok")
            self._show_result(res)
            self._fill_levels()
        for widget in (self.save_button, self.close_round_button):
            widget.disabled = not recording
        is_open = wid is not None and self.current.workshop["state"] == "open"
        self.next_round_button.disabled = not is_open or recording
        self.close_button.disabled = not is_open
        adoptable = wid is not None and self.current.workshop["state"] == "closed" and not self.current.adoption
        self.adopt_button.disabled = not adoptable

    def _fill_levels(self) -> None:
        """The panellist's levels in the open round; else their last round's (to revise); else the standard."""
        res = getattr(self, "current", None)
        who = self.panellist.value
        if res is None or who is None:
            return
        mine = res.ratings[res.ratings["panellist"] == who]
        last = mine[mine["round"] == mine["round"].max()] if len(mine) else mine
        given = dict(zip(last["criterion"], last["level"]))
        for c in self.rubric.criteria:
            self.levels[c.id].value = float(given.get(c.id, c.meets_standard))

    def _show_result(self, res) -> None:
        if res.final is None:
            self.result.value = message("No round closed yet: the cut appears when the first round closes.")
            self.figure.value = b""
            return
        rounds = res.rounds[["round", "n_panellists", "cut", "se", "sd", "min_cut", "max_cut", "pass_rate",
                             "pass_rate_at_pass_mark"]]
        crit = res.final.criteria.reset_index()[["criterion", "weight", "mean_level", "sd_level", "min_level",
                                                 "max_level", "share"]]
        adopted = ""
        if res.adoption:
            a = res.adoption
            adopted = message(f"Adopted: pass mark {a['new_pass_mark']:g}% from {a['effective_from']} (rubric version "
                              f"{a['to_version']}), by {a['adopted_by']}.", "ok")
        self.result.value = (message(res.comparison.describe(), "info") + adopted + message(res.status["note"])
                             + "<b>Rounds</b> (pass rates: the impact data the panel saw)" + _table(rounds)
                             + "<b>Last round, per criterion</b>" + _table(crit))
        self.figure.value = _png(impact_plot(res))
        if not math.isnan(res.final.cut):
            self.pass_mark.value = round(res.final.cut, 1)

    # --- actions --------------------------------------------------------------------------------------------------

    def _act(self, what: str, fn, roles=RECORDERS) -> bool:
        try:
            authorise(self.store, roles)
            done = fn()
        except ERRORS as exc:
            self.message.value = message(f"{what}: {exc}", "error")
            return False
        self.message.value = message(done, "ok")
        return True

    def _on_create(self, _button=None) -> None:
        panel = []
        for line in self.panel.value.splitlines():
            if line.strip():
                name, _, expertise = line.partition(",")
                panel.append((name.strip(), expertise.strip() or None))
        created = {}

        def create():
            created["id"] = workshops.create_workshop(
                self.store, self.program, self.title.value, self.held_on.value or dt.date.today(),
                self.facilitator.value, self.mcc.value, panel, actor=self.username)
            return f"Workshop {created['id']} started with {len(panel)} panellists; round 1 is open."

        if self._act("Not started", create):
            self.refresh(select=created["id"])

    def _on_save(self, _button=None) -> None:
        levels = {cid: float(box.value) for cid, box in self.levels.items()}
        who = self.panellist.value

        def save():
            n = workshops.record_ratings(self.store, self.workshop_id, who, levels, actor=self.username)
            return f"Round {n}: {who}'s ratings saved."

        if self._act("Not saved", save):
            self.show()

    def _on_close_round(self, _button=None) -> None:
        def close():
            r = workshops.close_round(self.store, self.workshop_id, actor=self.username)
            return f"Round {r['number']} closed: cut {r['cut']:.1f}%. Show the panel: {r['impact']['shown']}."

        if self._act("Round not closed", close):
            self.refresh()

    def _on_next_round(self, _button=None) -> None:
        def next_round():
            number = workshops.open_round(self.store, self.workshop_id, actor=self.username)
            return f"Round {number} is open: panellists revise their ratings."

        if self._act("No new round", next_round):
            self.refresh()

    def _on_close_workshop(self, _button=None) -> None:
        def close():
            res = workshops.close_workshop(self.store, self.workshop_id, actor=self.username)
            return f"Workshop closed: {res.describe()}"

        if self._act("Not closed", close):
            self.refresh()

    def _on_adopt(self, _button=None) -> None:
        def adopt():
            change = workshops.adopt_pass_mark(self.store, self.workshop_id, float(self.pass_mark.value),
                                               reason=self.reason.value, actor=self.username)
            return (f"Pass mark {change['new_pass_mark']:g}% adopted from {change['effective_from']} as rubric version "
                    f"{change['to_version']}; {change['open_on_old']} submission(s) in progress stay on the old one.")

        if self._act("Not adopted", adopt, ADOPTERS):
            self.refresh()

    def close(self) -> None:
        store = getattr(self, "store", None)  # None when the workspace could not be opened
        if store is not None:
            store.dispose()
        for child in self.children:
            close_tree(child)
        super().close()


def standard_setting_app(workspace=None, program: str = "CCOM") -> StandardSettingApp | w.HTML:
    """The standard-setting view, or a message saying why it cannot open."""
    try:
        return StandardSettingApp(workspace, program)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
