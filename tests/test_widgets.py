"""The scoring and adjudication widgets, driven in Python as the browser would drive them (set values, click
buttons), with what the store holds checked afterwards. The real-browser tests are in tests/browser/."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import socket
import subprocess
import sys
import threading
import time

import ipywidgets as w
import pytest
import sqlalchemy as sa

from evalkit import cli
from evalkit.cli import serve
from evalkit.evaluation import workflow
from evalkit.store import audit, open_store
from evalkit.widgets import AdjudicationApp, ScoringApp, adjudication_app, scoring_app
from evalkit.widgets.common import (CriterionRow, Debouncer, QueueView, WorkspaceError, current_username, message,
                                    resolve_workspace)

SLOW = 3600  # autosave delay for tests that must not see an automatic save


@pytest.fixture
def store(demo_copy):
    s = open_store(demo_copy)
    yield s
    s.dispose()


def open_pair(store) -> tuple[int, str, str]:
    """A submission in scoring whose two raters have both not submitted yet: (id, rater a, rater b)."""
    by_sub: dict[int, dict[str, str]] = {}
    for r in workflow.list_raters(store):
        for q in workflow.queue(store, r["username"]):
            if q["role"] == "rater":
                by_sub.setdefault(q["submission"], {})[r["username"]] = q["state"]
    for sid, states in sorted(by_sub.items()):
        if len(states) == 2 and all(s == "not started" for s in states.values()):
            a, b = sorted(states)
            return sid, a, b
    raise AssertionError("the demo has no submission with two raters not started")


def all_text(widget) -> str:
    """Every string a widget tree shows or holds (values, labels, options, tooltips)."""
    out = []
    for name in ("value", "description", "placeholder", "tooltip"):
        value = getattr(widget, name, None)
        if isinstance(value, str):
            out.append(value)
    out += [str(o) for o in getattr(widget, "_options_labels", ())]
    out += [str(t) for t in (getattr(widget, "tooltips", None) or ())]
    for child in getattr(widget, "children", ()):
        out.append(all_text(child))
    return "\n".join(out)


def complete(form, level_of=lambda c: c.meets_standard, feedback="Clear, evidenced analysis."):
    for row in form.rows.values():
        row.levels.value = level_of(row.criterion)
        row.feedback.value = feedback


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# --- workspace and identity -----------------------------------------------------------------------------------


def test_workspace_is_the_argument_then_the_environment_then_a_workspace_folder_nearby(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALKIT_WORKSPACE", raising=False)
    notebooks = tmp_path / "repo" / "notebooks"
    notebooks.mkdir(parents=True)
    with pytest.raises(WorkspaceError, match="no workspace found: set EVALKIT_WORKSPACE"):
        resolve_workspace(start=notebooks)
    (tmp_path / "repo" / "workspace").mkdir()
    (tmp_path / "repo" / "workspace" / "evalkit.db").touch()
    assert resolve_workspace(start=notebooks) == str(tmp_path / "repo" / "workspace")
    monkeypatch.setenv("EVALKIT_WORKSPACE", "/srv/evalkit")
    assert resolve_workspace(start=notebooks) == "/srv/evalkit"
    assert resolve_workspace("elsewhere", start=notebooks) == "elsewhere"


def test_without_a_workspace_the_app_shows_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALKIT_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    for app in (scoring_app(), adjudication_app()):
        assert isinstance(app, w.HTML)
        assert "no workspace found" in app.value and "evalkit init workspace --demo" in app.value
    app = scoring_app(tmp_path / "nothing-here")
    assert "is not an evalkit workspace" in app.value


def test_current_user_is_the_hub_user_then_evalkit_rater_then_the_os_user(monkeypatch):
    monkeypatch.setenv("EVALKIT_RATER", "sme.chen")
    monkeypatch.setenv("JUPYTERHUB_USER", "sme.brooks")
    assert current_username() == "sme.brooks"
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert current_username() == "sme.chen"
    monkeypatch.delenv("EVALKIT_RATER")
    assert current_username()  # the OS user


def test_an_unregistered_user_gets_a_clear_message_and_no_queue(store):
    app = ScoringApp(store, "j.doe", allow_choice=False)
    assert app.queue is None and app.username is None
    assert "j.doe" in app.picker.widget.value and "not registered as a rater" in app.picker.widget.value


def test_a_registered_user_scores_as_themselves_without_a_choice(store):
    app = ScoringApp(store, "sme.brooks", allow_choice=False)
    assert app.picker.chooser is None
    assert "Sam Brooks" in app.picker.widget.value
    assert {r["role"] for r in app.queue.rows} == {"rater"}


def test_where_the_workspace_allows_it_the_rater_is_chosen_from_a_list(store):
    assert store.get_setting("allow_rater_choice") is True  # the demo's setting
    app = ScoringApp(store, "j.doe", autosave_seconds=SLOW)
    assert app.queue is None
    # the list shows its prompt (a None value left the box blank) and the page says what to do
    assert app.picker.chooser.value == "" and app.picker.chooser.label == "Choose who you are…"
    assert "Choose who you are in the “Scoring as” list" in app.queue_box.children[0].value
    assert ("Sam Brooks (sme.brooks)", "sme.brooks") in app.picker.chooser.options
    # adjudicators are kept free of rater assignments: they have nothing to score, so they are not offered
    offered = {value for _, value in app.picker.chooser.options}
    assert "adj.grant" not in offered and "adj.hughes" not in offered
    adjudicating = AdjudicationApp(store, "j.doe", autosave_seconds=SLOW)
    assert {value for _, value in adjudicating.picker.chooser.options} == {"", "adj.grant", "adj.hughes"}
    app.picker.chooser.value = "sme.brooks"
    assert app.username == "sme.brooks"
    expected = [q["submission"] for q in workflow.queue(store, "sme.brooks") if q["role"] == "rater"]
    assert [r["submission"] for r in app.queue.rows] == expected


# --- queue ------------------------------------------------------------------------------------------------------


def test_queue_shows_open_work_first_and_overdue_rows_stand_out(store):
    rater, row = next((r["username"], q) for r in workflow.list_raters(store)
                      for q in workflow.queue(store, r["username"])
                      if q["overdue"] and q["state"] in ("not started", "draft") and q["role"] == "rater")
    app = ScoringApp(store, rater, autosave_seconds=SLOW)
    assert {r["state"] for r in app.queue.visible_rows} <= {"not started", "draft"}
    shown = next(c for c in app.queue.body.children if f"ek-row-{row['submission']}" in c._dom_classes)
    assert "ek-overdue" in shown._dom_classes
    assert "OVERDUE" in shown.children[1].value and "business day" in shown.children[1].value
    app.queue.show.value = "All"
    assert len(app.queue.visible_rows) == len(app.queue.rows) > len([r for r in app.queue.rows
                                                                     if r["state"] in ("not started", "draft")])


def test_a_long_queue_is_shown_a_page_at_a_time():
    rows = [{"submission": i, "program": "CCOM", "attempt": 1, "candidate": f"Candidate #{i:05d}",
             "received": dt.date(2026, 1, 5), "due": dt.date(2026, 2, 16), "days_left": i, "state": "not started",
             "role": "rater", "overdue": False} for i in range(1, 31)]
    opened = []
    view = QueueView(rows, opened.append, ("not started",), page_size=12)
    assert len(view.body.children) == 12 and view.prev.disabled
    view.next.click()
    view.next.click()
    assert len(view.body.children) == 6 and view.next.disabled
    assert "25–30 of 30" in view.position.value
    view.body.children[0].children[0].click()
    assert opened == [25]


# --- scoring ----------------------------------------------------------------------------------------------------


def test_score_a_submission_end_to_end(store):
    sid, rater, _ = open_pair(store)
    app = ScoringApp(store, rater, autosave_seconds=SLOW)
    button = next(c.children[0] for c in app.queue.body.children if f"ek-row-{sid}" in c._dom_classes)
    button.click()
    form = app.form
    assert form.submission_id == sid and not form.read_only
    assert f"Submission #{sid}" in all_text(form.widget)
    first, second, *rest = form.rubric.criteria
    low = first.levels[0].score

    form.rows[first.id].levels.value = low
    row = form.rows[first.id]
    assert row.below_standard and "ek-missing" in row.feedback._dom_classes
    assert "required" in row.feedback_label.value
    bank = row.bank.children[0].children
    bank[1].children[0].click()  # insert the first prepared sentence...
    assert row.feedback.value == first.level(low).feedback[0]
    row.feedback.value += " Your plan gives no figures."  # ...then edit it
    assert "ek-missing" not in row.feedback._dom_classes
    form.rows[second.id].levels.value = second.meets_standard
    form.save_button.click()
    saved = workflow.rater_scores(store, sid, rater)
    assert saved["status"] == "draft"
    assert saved["levels"][first.id] == low and saved["levels"][second.id] == second.meets_standard
    assert saved["feedback"][first.id] == first.level(low).feedback[0] + " Your plan gives no figures."
    assert "Draft saved at" in form.status.value
    assert next(r for r in app.queue.rows if r["submission"] == sid)["state"] == "draft"

    form.final_button.click()
    assert form.confirm.layout.display is None  # asks before making it final
    form.confirm_button.click()
    assert form.confirm.layout.display == "none"
    assert "Not submitted" in form.message.value and "cannot be final" in form.message.value
    for c in rest:
        assert f"<li>{c.id}: no level chosen</li>" in form.message.value
        assert "ek-gap" in form.rows[c.id].widget._dom_classes
    assert "ek-gap" not in form.rows[first.id].widget._dom_classes
    assert workflow.rater_scores(store, sid, rater)["status"] == "draft"

    for c in rest:
        form.rows[c.id].levels.value = c.levels[-1].score
    assert "ek-gap" not in form.rows[rest[0].id].widget._dom_classes
    form.comment.value = "Solid plan; the people analysis needs data."
    form.final_button.click()
    form.confirm_button.click()
    assert "Submitted as final" in form.message.value
    final = workflow.rater_scores(store, sid, rater)
    assert final["status"] == "final"
    assert final["levels"] == {first.id: low, second.id: second.meets_standard,
                               **{c.id: c.levels[-1].score for c in rest}}
    assert final["comment"] == "Solid plan; the people analysis needs data."
    assert form.read_only and form.save_button.disabled and form.final_button.disabled
    assert all(r.levels.disabled and r.feedback.disabled for r in form.rows.values())
    assert not any("ek-gap" in r.widget._dom_classes for r in form.rows.values())  # no outline left once final
    assert next(r for r in app.queue.rows if r["submission"] == sid)["state"] == "final"


def test_the_summary_shows_the_weighted_total_and_provisional_outcome(store):
    sid, rater, _ = open_pair(store)
    form = ScoringApp(store, rater, autosave_seconds=SLOW)
    form.open(sid)
    form = form.form
    assert "Incomplete" in form.summary.value
    complete(form, level_of=lambda c: c.levels[-1].score)
    assert "100.0%" in form.summary.value and "Meets the standard" in form.summary.value
    first = form.rubric.criteria[0]
    form.rows[first.id].levels.value = first.levels[0].score
    from evalkit.evaluation import scoring
    expected = scoring.outcome(form.rubric, form.levels())
    assert f"{expected.total:.1f}%" in form.summary.value
    assert ("Deficient" in form.summary.value) == (not expected.passed)
    assert f"Below the standard (feedback required): {first.id}" in form.summary.value


def test_the_form_shows_each_levels_descriptor_and_feedback_bank(store):
    sid, rater, _ = open_pair(store)
    app = ScoringApp(store, rater, autosave_seconds=SLOW)
    app.open(sid)
    criterion = app.form.rubric.criteria[0]
    row = app.form.rows[criterion.id]
    for level in criterion.levels:
        assert (f"{level.score} · {level.label}", level.score) in row.levels.options
        assert level.descriptor.replace("'", "&#x27;") in row.descriptors.value
    row.levels.value = criterion.levels[0].score
    assert "ek-chosen" in row.descriptors.value
    sentences = [c.children[1].value for c in row.bank.children[0].children[1:]]
    assert len(sentences) == len(criterion.levels[0].feedback)


def test_changes_are_saved_automatically_a_moment_after_the_last_edit(store):
    sid, rater, _ = open_pair(store)
    app = ScoringApp(store, rater, autosave_seconds=0.2)
    app.open(sid)
    c = app.form.rubric.criteria[0]
    app.form.rows[c.id].levels.value = c.meets_standard
    assert "Unsaved changes" in app.form.status.value
    assert wait_for(lambda: workflow.rater_scores(store, sid, rater)["levels"].get(c.id) == c.meets_standard)
    assert wait_for(lambda: "saved automatically" in app.form.status.value)


def test_opening_another_submission_saves_pending_changes_first(store):
    sid, rater, _ = open_pair(store)
    app = ScoringApp(store, rater, autosave_seconds=SLOW)
    app.open(sid)
    c = app.form.rubric.criteria[0]
    app.form.rows[c.id].feedback.value = "Typed just before switching."
    other = next(r["submission"] for r in app.queue.rows if r["submission"] != sid)
    app.open(other)
    assert workflow.rater_scores(store, sid, rater)["feedback"][c.id] == "Typed just before switching."
    assert app.form.submission_id == other


def test_pending_changes_are_saved_when_the_kernel_exits(store, demo_copy):
    sid, rater, _ = open_pair(store)
    criterion = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"]).criteria[0]
    kernel = (f"from evalkit.store import open_store\n"
              f"from evalkit.widgets import ScoringApp\n"
              f"app = ScoringApp(open_store({str(demo_copy)!r}), {rater!r}, autosave_seconds=3600)\n"
              f"app.open({sid})\n"
              f"app.form.rows[{criterion.id!r}].feedback.value = 'typed just before the kernel stopped'\n"
              f"assert app.form.autosave.pending\n")
    subprocess.run([sys.executable, "-c", kernel], check=True, timeout=120)
    assert workflow.rater_scores(store, sid, rater)["feedback"][criterion.id] == "typed just before the kernel stopped"


def test_a_rater_never_sees_the_other_raters_scores(store):
    sid, a, b = open_pair(store)
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    c = rubric.criteria[0]
    workflow.save_draft(store, sid, a, {c.id: c.levels[0].score}, {c.id: "SECRET-A: the plan lacks data"},
                        comment="SECRET-A overall")
    app = ScoringApp(store, b, autosave_seconds=SLOW)
    app.open(sid)
    assert "SECRET-A" not in all_text(app.widget)
    assert all(level is None for level in app.form.levels().values())


def test_a_final_evaluation_opens_read_only(store):
    sid, rater, _ = open_pair(store)
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    workflow.submit_final(store, sid, rater, {c.id: c.meets_standard for c in rubric.criteria})
    app = ScoringApp(store, rater, autosave_seconds=SLOW)
    app.open(sid)
    assert app.form.read_only and "cannot change" in app.form.message.value
    assert app.form.save_button.disabled and all(r.levels.disabled for r in app.form.rows.values())
    app.form.rows[rubric.criteria[0].id].levels.value = rubric.criteria[0].levels[0].score  # a stale client
    assert not app.form.dirty and not app.form.autosave.pending


def test_a_failed_save_is_shown_in_the_form_and_keeps_the_entries(store):
    sid, rater, _ = open_pair(store)
    app = ScoringApp(store, rater, autosave_seconds=SLOW)
    app.open(sid)
    rubric = app.form.rubric
    workflow.submit_final(store, sid, rater, {c.id: c.meets_standard for c in rubric.criteria})  # another tab
    c = rubric.criteria[0]
    app.form.rows[c.id].feedback.value = "Edited in the stale tab"
    assert app.form.save() is False
    assert "Not saved" in app.form.message.value and "final and cannot change" in app.form.message.value
    assert app.form.rows[c.id].feedback.value == "Edited in the stale tab"


def test_a_criterion_row_can_be_used_on_its_own(store):
    rubric = workflow.rubric_for(store, workflow.rubric_version_of(store, "CCOM"))
    changes = []
    row = CriterionRow(rubric.criteria[0], on_change=lambda: changes.append(1))
    row.levels.value = rubric.criteria[0].levels[0].score
    row.insert("First sentence.")
    row.insert("Second sentence.")
    assert row.text == "First sentence.\n\nSecond sentence."
    assert len(changes) == 3


# --- autosave timer ---------------------------------------------------------------------------------------------


def test_debouncer_runs_once_after_the_last_trigger():
    calls = []
    d = Debouncer(0.1, lambda: calls.append(time.monotonic()))
    for _ in range(5):
        d.trigger()
        time.sleep(0.02)
    assert d.pending and not calls
    assert wait_for(lambda: len(calls) == 1)
    time.sleep(0.2)
    assert len(calls) == 1 and not d.pending


def test_debouncer_flush_runs_now_and_cancel_drops():
    calls = []
    d = Debouncer(60, lambda: calls.append("saved"))
    d.flush()
    assert calls == []  # nothing pending: nothing to run
    d.trigger()
    d.flush()
    assert calls == ["saved"] and not d.pending
    d.trigger()
    d.cancel()
    assert calls == ["saved"] and not d.pending
    with pytest.raises(ValueError, match="expected seconds >= 0"):
        Debouncer(-1, lambda: None)


def test_debouncer_uses_the_running_event_loop_inside_a_kernel():
    import asyncio

    async def main():
        calls = []
        d = Debouncer(0.05, lambda: calls.append(threading.current_thread()))
        d.trigger()
        await asyncio.sleep(0.2)
        return calls

    assert asyncio.run(main()) == [threading.main_thread()]


# --- several evaluators at once ---------------------------------------------------------------------------------


def _score_in_own_process(workspace: str, sid: int, username: str, saves: int, ready, start) -> list[str]:
    """One evaluator's kernel: open the form and click Save after every edit."""
    from evalkit.store import open_store
    from evalkit.widgets import ScoringApp

    store = open_store(workspace)
    app = ScoringApp(store, username, autosave_seconds=3600)
    app.open(sid)
    criteria = app.form.rubric.criteria
    ready.put(username)
    start.wait()
    problems = []
    for k in range(saves):
        c = criteria[k % len(criteria)]
        app.form.rows[c.id].levels.value = c.levels[k % len(c.levels)].score
        app.form.rows[c.id].feedback.value = f"{username} edit {k}"
        app.form.save_button.click()
        if "Not saved" in app.form.status.value:
            problems.append(app.form.message.value)
    store.dispose()
    return problems


def test_two_evaluators_saving_at_once_lose_nothing(store, demo_copy):
    sid, a, b = open_pair(store)
    saves = 40

    def logged_saves(user):
        with store.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(audit).where(
                audit.c.actor == user, audit.c.action == "save_draft")).scalar()

    before = {u: logged_saves(u) for u in (a, b)}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        ready, start = manager.Queue(), manager.Event()
        with ctx.Pool(2) as pool:
            results = [pool.apply_async(_score_in_own_process, (str(demo_copy), sid, u, saves, ready, start))
                       for u in (a, b)]
            assert {ready.get(timeout=120), ready.get(timeout=120)} == {a, b}  # both forms open: start together
            start.set()
            problems = [r.get(timeout=120) for r in results]
    assert problems == [[], []]
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    n = len(rubric.criteria)
    for user in (a, b):
        got = workflow.rater_scores(store, sid, user)
        for k in range(saves - n, saves):  # the last edit of every criterion
            c = rubric.criteria[k % n]
            assert got["levels"][c.id] == c.levels[k % len(c.levels)].score
            assert got["feedback"][c.id] == f"{user} edit {k}"
        assert logged_saves(user) - before[user] == saves  # every click committed, none lost or doubled


# --- adjudication -----------------------------------------------------------------------------------------------


def test_an_adjudicator_takes_a_waiting_submission_and_decides_it(store):
    app = AdjudicationApp(store, "adj.hughes", autosave_seconds=SLOW)
    assert app.queue.visible_rows == []
    sid = app.waiting.rows[0]["submission"]
    take = next(c.children[0] for c in app.waiting.body.children if f"ek-row-{sid}" in c._dom_classes)
    assert take.description == "Take"
    take.click()
    form = app.form
    assert form.submission_id == sid and sid not in [r["submission"] for r in app.waiting.rows]
    assert [r["submission"] for r in app.queue.rows] == [sid]
    view = workflow.adjudication_view(store, sid, "adj.hughes")
    disputed = [r for r in view["criteria"] if r["disputed"]]
    assert disputed
    for r in view["criteria"]:
        row = form.rows[r["criterion"]]
        assert ("ek-disputed" in row.widget._dom_classes) == r["disputed"]
        text = all_text(row.widget)
        for username, level in r["levels"].items():
            assert f"{username}: <span class=\"ek-rater-level\">{level} · " in text
        agreed = set(r["levels"].values())
        assert row.level == (agreed.pop() if len(agreed) == 1 else None)

    form.finish()
    assert "Not decided" in form.message.value and "is incomplete" in form.message.value
    assert workflow.submission(store, sid)["state"] == "adjudication"

    target = disputed[0]["criterion"]
    form.rows[target].levels.value = form.rows[target].criterion.meets_standard
    form.save_button.click()
    assert workflow.rater_scores(store, sid, "adj.hughes")["levels"][target] == \
        form.rows[target].criterion.meets_standard

    complete(form, feedback="Resolved after reading both evaluations.")
    form.final_button.click()
    form.confirm_button.click()
    result = workflow.decided_result(store, sid)
    assert result["method"] == "adjudication" and result["decided_by"] == "adj.hughes"
    assert result["levels"] == {c.id: float(c.meets_standard) for c in form.rubric.criteria}
    assert set(result["feedback"].values()) == {"Resolved after reading both evaluations."}
    assert "Decided: pass" in form.message.value and form.read_only


def test_the_adjudicators_draft_is_restored_when_reopened(store):
    app = AdjudicationApp(store, "adj.hughes", autosave_seconds=SLOW)
    sid = app.waiting.rows[0]["submission"]
    app.take(sid)
    c = app.form.rubric.criteria[-1]
    app.form.rows[c.id].levels.value = c.levels[0].score
    app.form.rows[c.id].feedback.value = "Merged: the budget is not linked to goals."
    app.form.save()
    again = AdjudicationApp(store, "adj.hughes", autosave_seconds=SLOW)
    again.open(sid)
    assert again.form.rows[c.id].level == c.levels[0].score
    assert again.form.rows[c.id].text == "Merged: the budget is not linked to goals."


def test_only_adjudicators_use_the_adjudication_view(store):
    app = AdjudicationApp(store, "sme.brooks", allow_choice=False)
    assert app.queue is None and "not registered as an adjudicator" in app.picker.widget.value
    chooser = AdjudicationApp(store, "sme.brooks").picker.chooser
    assert {v for _, v in chooser.options} == {"", "adj.grant", "adj.hughes"}


# --- serving ----------------------------------------------------------------------------------------------------


def test_serve_builds_localhost_only_voila_and_lab_commands(tmp_path):
    voila = serve.server_command(tmp_path, 8899, "tok")
    assert voila[1:3] == ["-m", "voila"] and str(tmp_path) in voila
    assert {"--Voila.ip=127.0.0.1", "--Voila.port=8899", "--Voila.port_retries=0", "--Voila.token=tok",
            "--no-browser"} <= set(voila)
    lab = serve.server_command(tmp_path, 8899, "tok", lab=True)
    assert lab[1:3] == ["-m", "jupyterlab"]
    assert {"--ServerApp.ip=127.0.0.1", "--ServerApp.port=8899", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=tok", f"--ServerApp.root_dir={tmp_path}"} <= set(lab)
    assert serve.page_urls(8899, "tok")["score_submissions.ipynb"] == \
        "http://127.0.0.1:8899/voila/render/score_submissions.ipynb?token=tok"
    assert serve.page_urls(8899, "tok", lab=True)["adjudicate.ipynb"] == \
        "http://127.0.0.1:8899/lab/tree/adjudicate.ipynb?token=tok"
    # Voila loads evalkit's configuration: the tab-close shutdown is accepted, and idle kernels are culled
    assert f"--Voila.config_file_paths={serve.VOILA_CONFIG_DIR}" in voila
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("voila.py", path=str(serve.VOILA_CONFIG_DIR)).load_config()
    assert config.VoilaConfiguration.prelaunch_hook is serve.issue_xsrf_cookie
    assert config.MappingKernelManager.cull_idle_timeout > 0 and config.MappingKernelManager.cull_connected is False
    # call certification is served too, with the same token (a bare `voila` had none and took the same port)
    assert serve.page_urls(8899, "tok")["call_certification.ipynb"] == \
        "http://127.0.0.1:8899/voila/render/call_certification.ipynb?token=tok"


def test_serve_refuses_a_busy_port_and_a_missing_workspace(demo_workspace, tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        assert cli.main(["serve", "-w", str(demo_workspace), "--port", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
    assert cli.main(["serve", "-w", str(tmp_path / "none"), "--port", str(port)]) == 1
    assert "is not an evalkit workspace" in capsys.readouterr().err


def test_two_adjudicators_clicking_take_at_once_one_gets_it_the_other_is_told_who(store, demo_copy):
    """Two adjudicators' pages (each its own kernel's store) take the same waiting submission at the same instant:
    one opens it, the other's page shows the one line naming who has it, and lists it no more."""
    other = open_store(demo_copy)
    try:
        apps = {"adj.hughes": AdjudicationApp(store, "adj.hughes", autosave_seconds=SLOW),
                "adj.grant": AdjudicationApp(other, "adj.grant", autosave_seconds=SLOW)}
        both = set.intersection(*({r["submission"] for r in app.waiting.rows} for app in apps.values()))
        assert both, "the demo has no submission both adjudicators may take"
        sid = min(both)
        with store.read() as conn:
            start = conn.execute(sa.select(sa.func.max(audit.c.id))).scalar()
        barrier = threading.Barrier(2)

        def take(app):
            barrier.wait(30)
            app.take(sid)
        threads = [threading.Thread(target=take, args=(app,)) for app in apps.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        opened = [u for u, app in apps.items() if app.form is not None and app.form.submission_id == sid]
        assert len(opened) == 1, {u: app.message.value for u, app in apps.items()}
        (winner,), (loser,) = opened, [u for u in apps if u not in opened]
        line = f"submission {sid} was taken by {winner} a moment ago"
        assert apps[loser].message.value == message(f"{line}.", "error")  # that line alone, no driver text
        assert sid not in [r["submission"] for r in apps[loser].waiting.rows]
        assert [q["submission"] for q in workflow.queue(store, loser) if q["role"] == "adjudicator"
                and q["submission"] == sid] == []
        with store.read() as conn:
            assert conn.execute(sa.select(audit.c.actor).where(audit.c.id > start)).scalars().all() == [winner]
    finally:
        other.dispose()
