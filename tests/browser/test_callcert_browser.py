"""Call certification in a real browser: in Voila, a Certifier scores a call on the scorecard widgets (a refused save
first, then a stored one) and the Cert Coordinator creates the end-of-day report in one click. What the widgets
stored is read back from the database. Harness and fixtures: tests/browser/conftest.py."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from evalkit import callcert
from evalkit.store import open_store

pytestmark = pytest.mark.browser

NOTEBOOK = "call_certification.ipynb"
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture(scope="module")
def callcert_voila(start_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("callcert-voila")
    shutil.copy(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    return start_server("voila", root)


@pytest.fixture
def ws_store(browser_workspace):
    store = open_store(browser_workspace)
    yield store
    store.dispose()


def _label(store, agent_id: int) -> str:
    status = callcert.agent_status(store, agent_id)
    return (f"{status.name} (#{agent_id}) · {status.certification.calls_scored}/{callcert.CALLS_REQUIRED} calls · "
            f"{status.stage}")


def test_a_certifier_scores_a_call_in_voila(page, callcert_voila, open_voila, ws_store):
    # An agent of this test's own, so that nothing else in the shared workspace depends on what it stores.
    aid = callcert.add_agent(ws_store, "Bianca", "O'Connor", dt.date.today(), certifier="Lin Chen")
    rubric = callcert.load_scorecard()
    open_voila(page, callcert_voila, NOTEBOOK, selector=".ek-cc-form")

    page.locator(".ek-cc-agent select").select_option(label=_label(ws_store, aid))
    page.wait_for_function("document.querySelector('.ek-cc-certifier input').value === 'Lin Chen'")
    chosen = {c.id: 4 for c in rubric.criteria}
    chosen["HAND2"] = 3
    for c in rubric.criteria:
        page.locator(f".ek-criterion-{c.id} .ek-levels button").nth(c.scores.index(chosen[c.id])).click()
    page.locator(".ek-criterion-HAND2 .ek-bank-insert").first.click()   # a coaching sentence from the scorecard
    sentence = rubric.criterion("HAND2").level(3).feedback[0]
    page.wait_for_function("s => document.querySelector('.ek-criterion-HAND2 .ek-feedback textarea').value === s",
                           arg=sentence)
    page.locator(".ek-cc-went-well textarea").fill("Verified the caller before touching the account.")
    page.locator(".ek-cc-summary").filter(has_text="PASS").wait_for()
    assert "97.9" in page.locator(".ek-cc-summary").inner_text()

    # No positive remark yet: refused, nothing stored.
    page.locator("button.ek-cc-save").click()
    page.locator(".ek-cc-message").filter(has_text="Positive remark: at least one, for the agent").wait_for()
    assert callcert.calls(ws_store, aid) == []

    page.locator(".ek-cc-positive textarea").fill("Calm, friendly tone from start to finish.")
    page.locator(".ek-cc-hours input").fill("0.75")
    page.locator(".ek-cc-hours input").press("Tab")
    page.locator("button.ek-cc-save").click()
    page.locator(".ek-cc-message").filter(has_text="Call 1 saved: 97.9, passed").wait_for()
    assert "Lin Chen" in page.locator(".ek-cc-progress table").inner_text()

    (row,) = callcert.calls(ws_store, aid)
    assert row["levels"] == chosen and row["score"] == pytest.approx(100 * 94 / 96)
    assert (row["call_no"], row["certifier"], row["scored_on"], row["duration_hours"]) == \
        (1, "Lin Chen", dt.date.today(), 0.75)
    assert row["marked_down"] == f"HAND2 (Minor lapse): {sentence}"
    assert row["went_well"] == "Verified the caller before touching the account."
    assert row["positive"] == "Calm, friendly tone from start to finish."
    assert row["rubric_version"] == rubric.version


def test_the_coordinator_creates_the_end_of_day_report_in_voila(page, callcert_voila, open_voila, browser_workspace):
    open_voila(page, callcert_voila, NOTEBOOK, selector=".ek-cc-dashboard")
    assert "ladder action(s) due" in page.locator(".ek-cc-overview").inner_text()
    page.locator(".ek-cc-dashboard .lm-TabBar-tab, .ek-cc-dashboard .p-TabBar-tab").filter(
        has_text="End-of-day report").click()
    page.locator("button.ek-cc-eod").click()
    page.locator(".ek-cc-report-message").filter(has_text="Report written to").wait_for()
    frame = page.frame_locator(".ek-cc-report iframe")
    assert "Call Certification: end-of-day report" in frame.locator("h1").inner_text()
    report = browser_workspace / "reports" / f"callcert-eod-{dt.date.today()}.html"
    assert report.exists() and "Ladder actions" in report.read_text(encoding="utf-8")
