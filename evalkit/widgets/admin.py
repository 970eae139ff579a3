"""The admin's view: pipeline counts, what is due or overdue, a letter preview, and the letter batch.

``admin_app()`` is the whole of ``notebooks/admin.ipynb``. Nothing runs until the admin presses "Issue letters";
the button calls :func:`evalkit.letters.batch.run_batch`, the same function as ``evalkit letters``.
"""
from __future__ import annotations

import datetime as dt
import html
import time

import ipywidgets as w
import yaml

from ..access import AccessError
from ..certification import (STATES, ResultError, apply, candidacies_of, profile, read_yaml, set_profile,
                             standings)
from ..evaluation import workflow
from ..evaluation.admission import describe
from ..letters import batch as letters
from ..letters.content import letter_content, render_letter_html
from ..store import StoreError
from .common import (STYLE, WorkspaceError, authorise, close_tree, css_name, current_username, message, open_workspace,
                     resolve_workspace)

__all__ = ["AdminApp", "CandidateRecordForm", "admin_app", "pipeline_table", "due_table", "candidates_table"]

_ADMIN_STYLE = """
<style>
.ek-admin table.ek-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
.ek-admin table.ek-table th, .ek-admin table.ek-table td { border-bottom: 1px solid #e4e7eb; padding: 3px 10px;
  text-align: left; }
.ek-admin table.ek-table td.num, .ek-admin table.ek-table th.num { text-align: right; }
.ek-admin table.ek-table tr.ek-late td { background: #fdecec; }
.ek-admin table.ek-table tr.ek-week td { background: #fff7e0; }
.ek-admin table.ek-table tr.ek-cert-recertification-due td, .ek-admin table.ek-table tr.ek-cert-expired td {
  background: #fdecec; }
.ek-admin table.ek-table tr.ek-cert-certified td:nth-child(3) { color: #1e7b45; font-weight: 600; }
.ek-admin .ek-preview { border: 1px solid #cbd2d9; border-radius: 4px; padding: 16px 24px; background: white;
  max-height: 70vh; overflow: auto; }
</style>
"""


def _table(headers: list[str], rows: list[list], numeric=(), row_classes=None) -> str:
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    body = []
    for k, row in enumerate(rows):
        cells = "".join(f'<td class="{"num" if i in numeric else ""}">{html.escape(str(v))}</td>'
                        for i, v in enumerate(row))
        cls = row_classes[k] if row_classes else ""
        body.append(f'<tr class="{cls}">{cells}</tr>')
    return f'<table class="ek-table"><tr>{head}</tr>{"".join(body)}</table>'


def pipeline_table(store) -> str:
    """Submissions per program and state, with totals, as an HTML table."""
    counts = workflow.pipeline_counts(store)
    rows = [[p] + [counts[p][s] for s in workflow.STATES] + [sum(counts[p].values())] for p in sorted(counts)]
    rows.append(["all"] + [sum(counts[p][s] for p in counts) for s in workflow.STATES] +
                [sum(sum(v.values()) for v in counts.values())])
    return _table(["program", *workflow.STATES, "total"], rows, numeric=range(1, len(workflow.STATES) + 2))


def candidates_table(store, state: str | None = None, today: dt.date | None = None) -> str:
    """Every candidate's certification status per program (:func:`evalkit.certification.standings`), most urgent
    first, with how they were admitted and their work product's deadline, as an HTML table."""
    found = standings(store, today, state)
    admitted = {(c["program_id"], ext): c for ext in {s.candidate for s in found} for c in candidacies_of(store, ext)}
    rows = []
    for s in found:
        candidacy = admitted.get((s.program.id, s.candidate))
        issued = candidacy["assignment_issued_on"] if candidacy else None
        rows.append([s.candidate, s.program.id, s.status.state, s.status.until or "", s.status.detail,
                     describe(candidacy) if candidacy else "not applied",
                     s.program.completion_due(issued) if issued and "work_product" in s.missing else ""])
    if not rows:
        return message("No candidate has this status." if state else "No candidate has a result or a submission yet.")
    classes = [f"ek-cert-{css_name(r[2])}" for r in rows]
    return _table(["candidate", "program", "status", "until", "detail", "admitted", "work product due"], rows,
                  row_classes=classes)


def due_table(store, today: dt.date | None = None) -> tuple[str, int, int]:
    """Submissions overdue or due this week (not yet notified) as an HTML table; returns (html, overdue, week)."""
    due = [r for r in workflow.due_report(store, today) if r["late"] or r["due_this_week"]]
    rows = [[f"#{r['id']}", r["program_id"], r["external_id"], r["state"], r["received_on"], r["due_on"],
             f"{-r['days_left']} late" if r["late"] else f"{r['days_left']} left"] for r in due]
    classes = ["ek-late" if r["late"] else "ek-week" for r in due]
    late = sum(r["late"] for r in due)
    if not rows:
        return message("Nothing is overdue or due this week."), 0, 0
    table = _table(["submission", "program", "candidate", "state", "received", "notify by", "business days"],
                   rows, row_classes=classes)
    return table, late, len(due) - late


_EXAMPLE_PROFILE = """education: {highest: bachelor}
experience:
  - {years: 3, role: management, call_center: true, employer: private, supervision_years: 2}
"""


class CandidateRecordForm(w.VBox):
    """An admin's changes to a candidate's record: their profile (YAML), admitting them to a program (with an
    override and its reason where they are not eligible), and a later resubmission deadline. Each button calls the
    function the CLI calls, as the signed-in user; a refusal is shown in one line and changes nothing."""

    def __init__(self, store, programs: list[str], on_change=None, **kwargs):
        super().__init__(**kwargs)
        self.store, self.on_change = store, on_change
        label = {"description_width": "90px"}
        self.candidate = w.Text(description="Candidate", placeholder="e.g. CCOM-2026-1001", style=label)
        self.load_button = w.Button(description="Show profile", icon="user")
        self.profile_text = w.Textarea(placeholder=_EXAMPLE_PROFILE, layout=w.Layout(width="620px", height="110px"))
        self.save_button = w.Button(description="Save profile", button_style="primary", icon="save")
        self.program = w.Dropdown(options=programs, description="Program", style=label)
        self.applied_on = w.DatePicker(description="Applied on", value=dt.date.today(), style=label)
        self.override = w.Text(description="Override", placeholder="only if not eligible: why they are admitted",
                               style=label, layout=w.Layout(width="620px"))
        self.apply_button = w.Button(description="Admit", button_style="primary", icon="check")
        self.submission = w.BoundedIntText(description="Submission", min=1, max=2**62, style=label)
        self.until = w.DatePicker(description="New deadline", style=label)
        self.reason = w.Text(description="Reason", style=label, layout=w.Layout(width="620px"))
        self.extend_button = w.Button(description="Extend deadline", icon="calendar")
        self.result = w.HTML()
        self.add_class("ek-record")
        for name in ("candidate", "load_button", "profile_text", "save_button", "program", "applied_on", "override",
                     "apply_button", "submission", "until", "reason", "extend_button", "result"):
            getattr(self, name).add_class(f"ek-record-{name.replace('_', '-')}")  # stable selectors for tests
        self.load_button.on_click(lambda _: self._run(self._load, changes=False))
        self.save_button.on_click(lambda _: self._run(self._save))
        self.apply_button.on_click(lambda _: self._run(self._apply))
        self.extend_button.on_click(lambda _: self._run(self._extend))
        def step(text: str) -> w.HTML:
            return w.HTML(f'<div class="ek-subtitle">{text}</div>')
        self.children = [
            w.HBox([self.candidate, self.load_button]),
            step("Profile: education, experience, civil service (YAML, as in the profiles file)"), self.profile_text,
            self.save_button,
            step("Admit to a program: eligibility is checked; an override needs a reason and is recorded with "
                 "your name"), w.HBox([self.program, self.applied_on]), self.override, self.apply_button,
            step("Extend a deficient submission's resubmission deadline"), w.HBox([self.submission, self.until]),
            self.reason, self.extend_button, self.result]

    def _run(self, action, changes: bool = True) -> None:
        try:
            authorise(self.store, ("admin",))
            done = action()
        except (workflow.WorkflowError, StoreError, ValueError, AccessError) as exc:
            self.result.value = message(str(exc), "error")
            return
        self.result.value = message(done, "ok")
        if changes and self.on_change:
            self.on_change()

    def _load(self) -> str:
        found = profile(self.store, self.candidate.value.strip())
        self.profile_text.value = yaml.safe_dump(found, sort_keys=False) if found else ""
        return "Profile loaded." if found else "No profile on record yet: type one and save it."

    def _save(self) -> str:
        ext = self.candidate.value.strip()
        value = read_yaml(self.profile_text.value, "the profile")
        set_profile(self.store, ext, value, actor=current_username(self.store))
        return f"Profile of {ext} saved."

    def _apply(self) -> str:
        ext = self.candidate.value.strip()
        admitted = apply(self.store, ext, self.program.value, self.applied_on.value or dt.date.today(),
                         self.override.value.strip() or None, actor=current_username(self.store))
        return f"{ext} admitted to {self.program.value}: {describe(admitted)}."

    def _extend(self) -> str:
        if self.until.value is None:
            raise ResultError("choose the new deadline")
        granted = workflow.grant_extension(self.store, self.submission.value, self.until.value, self.reason.value,
                                           actor=current_username(self.store))
        return f"Submission {self.submission.value}: resubmission deadline extended to {granted['until']}."


class AdminApp(w.VBox):
    """Pipeline, due dates, letter preview and the letter batch for one workspace.

    Parameters
    ----------
    workspace : str or Path, optional
        Workspace folder or database URL (default ``$EVALKIT_WORKSPACE``, else ``workspace/``).
    jobs : int, optional
        Worker processes for the batch (default as :func:`evalkit.letters.batch.run_batch`).
    """

    def __init__(self, workspace=None, jobs: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.add_class("ek-app")
        self.add_class("ek-admin")
        self.workspace = resolve_workspace(workspace)
        self.jobs = jobs
        self.store = open_workspace(self.workspace)
        self.pipeline = w.HTML()
        self.due = w.HTML()
        self.late_letters = w.HTML()
        self.choice = w.Dropdown(description="Letter of", layout=w.Layout(width="520px"),
                                 style={"description_width": "70px"})
        self.preview = w.HTML()
        self.preview.add_class("ek-preview")
        programs = sorted(workflow.pipeline_counts(self.store))
        # "" not None for "all": ipywidgets shows a None value as an empty box
        self.program = w.Dropdown(options=[("all programs", "")] + [(p, p) for p in programs], value="",
                                  description="Program", style={"description_width": "70px"})
        self.pdf = w.Checkbox(value=True, description="also PDF", indent=False, layout=w.Layout(width="110px"))
        self.run_button = w.Button(description="Issue letters", button_style="primary", icon="envelope",
                                   layout=w.Layout(width="auto", min_width="190px"))  # never "No letters to is..."
        self.run_button.add_class("ek-run")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="320px", visibility="hidden"))
        self.progress_text = w.HTML()
        self.result = w.HTML()
        # "" for all: ipywidgets shows a None value as an empty box
        self.status_filter = w.Dropdown(options=[("every status", "")] + [(st, st) for st in STATES], value="",
                                        description="Show", style={"description_width": "70px"})
        self.candidates = w.HTML()
        self.record = CandidateRecordForm(self.store, [p for p in workflow.registered_programs(self.store)
                                                       if not workflow.program(self.store, p).retired],
                                          on_change=self._show_candidates)
        self.status_filter.observe(lambda _: self._show_candidates(), "value")
        self.choice.observe(self._on_choice, "value")
        self.run_button.on_click(self._on_run)
        self.children = [
            w.HTML(STYLE + _ADMIN_STYLE + '<div class="ek-title">Certification admin</div>'
                   f'<div class="ek-subtitle">Workspace {html.escape(str(self.workspace))}</div>'),
            w.HTML('<div class="ek-section-title">Pipeline</div>'), self.pipeline,
            w.HTML('<div class="ek-section-title">Overdue and due this week (notification deadline)</div>'), self.due,
            self.late_letters,
            w.HTML('<div class="ek-section-title">Result letters</div>'),
            w.HBox([self.program, self.pdf, self.run_button]), w.HBox([self.progress, self.progress_text]),
            self.result,
            w.HTML('<div class="ek-section-title">Preview</div>'), self.choice, self.preview,
            w.HTML('<div class="ek-section-title">Candidates: certification status</div>'), self.status_filter,
            self.candidates,
            w.HTML('<div class="ek-section-title">Candidate record: profile, admission, resubmission deadline</div>'),
            self.record,
        ]
        self.refresh()

    def _show_candidates(self) -> None:
        self.candidates.value = candidates_table(self.store, self.status_filter.value or None)

    def refresh(self) -> None:
        """Re-read the pipeline, the due dates, the letters waiting to be issued and the candidates' status."""
        self._show_candidates()
        self.pipeline.value = pipeline_table(self.store)
        table, late, week = self.due_counts = due_table(self.store)
        self.due.value = table
        issued_late = workflow.late_notifications(self.store)
        self.late_letters.value = message(f"{len(issued_late)} letter(s) were issued after their deadline.", "warn") \
            if issued_late else ""
        jobs, _ = letters.plan_batch(self.store)
        self.waiting = jobs
        self.run_button.disabled = not jobs
        self.run_button.description = f"Issue {len(jobs)} letter(s)" if jobs else "No letters to issue"
        options = [(f"#{j.submission} {j.program} {j.candidate_id} (due {j.due_on})", j.submission) for j in jobs]
        current = self.choice.value
        self.choice.options = options
        if options:
            self.choice.value = current if current in [o[1] for o in options] else options[0][1]
        else:
            self.preview.value = message("No decided submission is waiting for its letter.")

    def _on_choice(self, change) -> None:
        if change["new"] is None:
            return
        try:
            content = letter_content(self.store, change["new"], dt.date.today())
            self.preview.value = render_letter_html(content)
        except workflow.WorkflowError as exc:
            self.preview.value = message(str(exc), "error")

    def _on_run(self, _button=None) -> None:
        self.run_button.disabled = True
        self.progress.layout.visibility = "visible"
        self.progress.value, self.progress.max = 0, max(1, len(self.waiting))
        self.progress.bar_style = ""
        self.result.value = ""
        first_done = None

        def stage(text: str) -> None:
            self.progress_text.value = text

        def progress(done: int, total: int, row: dict) -> None:
            nonlocal first_done
            self.progress.max, self.progress.value = total, done
            # The first letter carries the workers' start-up; the rate is measured from it on.
            if first_done is None:
                first_done = time.monotonic()
                self.progress_text.value = f"{done} / {total} letters"
                return
            left = (time.monotonic() - first_done) / (done - 1) * (total - done)
            self.progress_text.value = f"{done} / {total} letters, about {left:.0f} s left"

        stage("Opening the workspace and choosing the decided submissions...")
        try:
            batch = letters.run_batch(self.workspace, program=self.program.value or None, pdf=self.pdf.value,
                                      jobs=self.jobs, progress=progress, stage=stage)
        except (workflow.WorkflowError, StoreError, ValueError, OSError) as exc:
            self.result.value = message(f"The batch did not run: {exc}", "error")
            self.progress.bar_style = "danger"
            self.progress_text.value = ""
        else:
            self._show(batch)
        finally:
            self.refresh()

    def _show(self, batch) -> None:
        failed = [r for r in batch.rows if r["status"] in ("failed", "refused")]
        late = sum(1 for r in batch.rows if r["status"] == "issued" and r["late"])
        summary = (f"{batch.count('issued')} letter(s) issued ({late} late), {len(failed)} failed, in "
                   f"{batch.seconds:.1f} s. Files and manifest: {batch.out}")
        detail = "".join(f"<li>#{r['submission']}: {html.escape(str(r['error']))}</li>" for r in failed)
        self.result.value = message(summary, "error" if failed else "ok", f"<ul>{detail}</ul>" if detail else "")
        self.progress.bar_style = "danger" if failed else "success"
        self.progress_text.value = ""

    def close(self) -> None:
        self.store.dispose()
        for child in self.children:
            close_tree(child)
        super().close()


def admin_app(workspace=None, jobs: int | None = None) -> AdminApp | w.HTML:
    """The admin view, or a message saying why the workspace cannot be opened."""
    try:
        return AdminApp(workspace, jobs=jobs)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
