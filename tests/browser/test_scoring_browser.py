"""The scoring workbench in a real browser: an evaluator scores a work product end to end in Voila (as served by
`evalkit serve`), an adjudicator resolves one, and the notebook runs in JupyterLab. What the widgets stored is then
read back from the database. Harness and fixtures: tests/browser/conftest.py."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from evalkit.evaluation import workflow
from evalkit.store import open_store
from evalkit.widgets.common import css_name

pytestmark = pytest.mark.browser

# The README's screenshot: refreshed with EVALKIT_UPDATE_SCREENSHOTS=1; otherwise kept with the test artifacts so
# that a test run leaves the work tree as it found it.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = (_ROOT / "docs" / "screenshots" if os.environ.get("EVALKIT_UPDATE_SCREENSHOTS") else
              _ROOT / "test-artifacts") / "scoring_form.png"


@pytest.fixture
def ws_store(browser_workspace):
    store = open_store(browser_workspace)
    yield store
    store.dispose()


def _not_started_pair(store) -> tuple[int, str]:
    """A submission whose two raters have not started, and one of them (the test scores as that rater)."""
    by_sub: dict[int, dict[str, str]] = {}
    for r in workflow.list_raters(store):
        for q in workflow.queue(store, r["username"]):
            if q["role"] == "rater":
                by_sub.setdefault(q["submission"], {})[r["username"]] = q["state"]
    sid, states = next((sid, st) for sid, st in sorted(by_sub.items())
                       if len(st) == 2 and set(st.values()) == {"not started"})
    return sid, sorted(states)[0]


def _level_button(page, criterion, score):
    index = criterion.scores.index(score)
    return page.locator(f".ek-criterion-{css_name(criterion.id)} .ek-levels button").nth(index)


def _feedback(page, criterion):
    return page.locator(f".ek-criterion-{css_name(criterion.id)} .ek-feedback textarea")


def test_an_evaluator_scores_a_work_product_in_voila(page, voila, open_voila, ws_store):
    sid, rater = _not_started_pair(ws_store)
    rubric = workflow.rubric_for(ws_store, workflow.submission(ws_store, sid)["rubric_version"])
    name = next(r["name"] for r in workflow.list_raters(ws_store) if r["username"] == rater)
    open_voila(page, voila, "score_submissions.ipynb")

    page.locator(".ek-identity select").select_option(label=f"{name} ({rater})")
    page.locator(f"button.ek-open-{sid}").click()
    page.wait_for_selector(f".ek-form-{sid}")
    document = page.locator(".ek-docpane").inner_text()
    assert any(title in document for title in ("Operational Improvement Plan", "Strategic Improvement Plan",
                                               "Performance Optimization Plan"))
    assert f"Candidate #{sid:05d}" in page.locator(".ek-form").inner_text()  # anonymised for raters

    weak, *others = rubric.criteria
    low = weak.scores[0]
    _level_button(page, weak, low).click()
    page.wait_for_selector(f".ek-criterion-{css_name(weak.id)} .ek-feedback-label.ek-required")
    page.locator(f".ek-criterion-{css_name(weak.id)} .ek-bank-insert").first.click()
    sentence = weak.level(low).feedback[0]
    textarea = _feedback(page, weak)
    page.wait_for_function("([el, s]) => el.value === s", arg=[textarea.element_handle(), sentence])
    written = sentence + " Twelve months of figures would show the trend."
    textarea.fill(written)
    chosen = {weak.id: low}
    half = others[: len(others) // 2]
    for c in half:
        _level_button(page, c, c.meets_standard).click()
        chosen[c.id] = c.meets_standard

    # The draft saves itself a moment after the last edit (the asyncio timer in Voila's kernel).
    page.wait_for_selector(".ek-status:has-text('saved automatically')", timeout=15_000)
    draft = workflow.rater_scores(ws_store, sid, rater)
    assert draft["status"] == "draft" and {k: v for k, v in draft["levels"].items() if v is not None} == chosen
    assert draft["feedback"][weak.id] == written

    page.locator(".ek-rubricpane").evaluate("el => el.scrollTop = 0")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.locator("button.ek-submit").click()
    page.locator("button.ek-confirm-submit").click()
    refusal = page.locator(".ek-message .ek-msg-error")
    refusal.wait_for()
    text = refusal.inner_text()
    assert f"submission {sid} cannot be final" in text
    for c in others[len(half):]:
        assert f"{c.id}: no level chosen" in text
    assert page.locator(".ek-criterion.ek-gap").count() == len(others) - len(half)
    assert workflow.rater_scores(ws_store, sid, rater)["status"] == "draft"

    for c in others[len(half):]:
        top = c.scores[-1]
        _level_button(page, c, top).click()
        chosen[c.id] = top
    page.locator(".ek-comment textarea").fill("A clear plan; the people analysis needs the centre's own data.")
    page.locator("button.ek-submit").click()
    page.locator("button.ek-confirm-submit").click()
    page.wait_for_selector(".ek-message .ek-msg-ok:has-text('Submitted as final')")
    assert page.locator("button.ek-save").is_disabled()
    assert _level_button(page, weak, weak.scores[-1]).is_disabled()

    final = workflow.rater_scores(ws_store, sid, rater)
    assert final["status"] == "final"
    assert final["levels"] == chosen
    assert {cid: text for cid, text in final["feedback"].items() if text} == {weak.id: written}
    assert final["comment"] == "A clear plan; the people analysis needs the centre's own data."

    page.locator(".ek-queue-section .jupyter-widget-Collapse-header").first.click()  # unfold the queue
    todo = [q["submission"] for q in workflow.queue(ws_store, rater) if q["state"] in ("not started", "draft")]
    page.wait_for_function("n => document.querySelectorAll('.ek-queue .ek-queue-row').length === n",
                           arg=min(len(todo), 12))
    assert page.locator(f".ek-row-{sid}").count() == 0  # done: off the to-do list


def test_an_adjudicator_takes_and_decides_in_voila(page, voila, open_voila, ws_store):
    waiting = workflow.open_adjudications(ws_store, "adj.hughes")
    sid = waiting[0]["submission"]
    open_voila(page, voila, "adjudicate.ipynb")
    page.locator(".ek-identity select").select_option(label="Robin Hughes (adj.hughes)")
    page.locator(f".ek-waiting button.ek-open-{sid}").click()
    page.wait_for_selector(f".ek-form-{sid}")
    view = workflow.adjudication_view(ws_store, sid, "adj.hughes")
    disputed = [r["criterion"] for r in view["criteria"] if r["disputed"]]
    assert page.locator(".ek-criterion.ek-disputed").count() == len(disputed) > 0
    rubric = view["rubric"]
    for c in rubric.criteria:
        _level_button(page, c, c.meets_standard).click()
    page.locator("button.ek-submit").click()
    page.locator("button.ek-confirm-submit").click()
    page.wait_for_selector(".ek-message .ek-msg-ok:has-text('Decided')")
    result = workflow.decided_result(ws_store, sid)
    assert result["method"] == "adjudication" and result["decided_by"] == "adj.hughes"
    assert result["levels"] == {c.id: float(c.meets_standard) for c in rubric.criteria}


def test_the_scoring_notebook_runs_in_jupyterlab(page, lab, run_in_lab):
    run_in_lab(page, lab, "score_submissions.ipynb")
    app = page.locator(".ek-app")
    assert "Work product scoring" in app.inner_text()
    page.locator(".ek-app .ek-identity select").select_option(label="Dana Alvarez (sme.alvarez)")
    page.wait_for_selector(".ek-app .ek-queue-row")
    assert page.locator(".ek-app .ek-queue-row").count() > 0


def test_closing_a_voila_tab_stops_its_kernel(voila, chromium):
    # The page's shutdown request on unload was refused ("'_xsrf' argument missing"): every closed tab kept its
    # kernel until the server stopped.
    import time
    before = voila.kernels()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route("https://**", lambda route: route.abort())
    page.goto(voila.page_url("score_submissions.ipynb"))
    page.wait_for_selector(".ek-app", timeout=60_000)
    assert "_xsrf" in {c["name"] for c in context.cookies()}
    assert voila.kernels() == before + 1
    page.close(run_before_unload=True)
    deadline = time.monotonic() + 20
    while voila.kernels() > before and time.monotonic() < deadline:
        time.sleep(0.2)
    context.close()
    assert voila.kernels() == before, "the closed tab's kernel is still running"
    assert "_xsrf' argument missing" not in voila.log.read_text()


_CLIPPED = """(selector) => [...document.querySelectorAll(selector)]
    .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
    .map(el => el.innerText.trim())"""


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_the_scoring_page_is_readable_at_common_widths(chromium, voila, ws_store, width):
    # The queue's State column was cut to "Sta" and level labels to "3 · Meets the st..." at common widths.
    sid, rater = _not_started_pair(ws_store)
    name = next(r["name"] for r in workflow.list_raters(ws_store) if r["username"] == rater)
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.route("https://**", lambda route: route.abort())
    try:
        page.goto(voila.page_url("score_submissions.ipynb"))
        page.wait_for_selector(".ek-app", timeout=60_000)
        shown = page.locator(".ek-identity select").evaluate("s => s.options[s.selectedIndex].text")
        assert shown.replace("\xa0", " ") == "Choose who you are…"  # the prompt, not an empty box
        assert "Choose who you are in the" in page.locator(".ek-app").inner_text().replace("\xa0", " ")
        page.locator(".ek-identity select").select_option(label=f"{name} ({rater})")
        page.wait_for_selector(".ek-queue-head")
        page.screenshot(path=str(_artifact(f"queue_{width}.png")), full_page=False)
        assert page.evaluate(_CLIPPED, ".ek-queue-head *, .ek-queue-row *") == []
        page.locator(f"button.ek-open-{sid}").click()
        page.wait_for_selector(f".ek-form-{sid}")
        page.screenshot(path=str(_artifact(f"form_{width}.png")), full_page=False)
        assert page.evaluate(_CLIPPED, ".ek-levels button") == []
    finally:
        context.close()


def _artifact(name: str) -> Path:
    folder = _ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder / name
