"""The people being assessed, in a real browser (Voila): a candidate completes and submits a self-assessment
through their link and sees the report; an agent, signed in, sees a call's scorecard with the coaching note and
sends the end-of-day self-report; the Cert Coordinator sees the missing-report flag. What the pages stored is
read back from the database. Screenshots go to ``test-artifacts/``. Harness: tests/browser/conftest.py."""
from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest

from evalkit import callcert
from evalkit import certification as cert
from evalkit.evaluation import workflow as wf
from evalkit.store import open_store

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _folder(tmp_path_factory, *notebooks: str) -> Path:
    root = tmp_path_factory.mktemp("people-voila")
    for name in notebooks:
        shutil.copy(NOTEBOOKS / name, root / name)
    return root


@pytest.fixture(scope="module")
def token_voila(start_server, tmp_path_factory):
    """The office's token page: Voila without Jupyter's own token (the candidate's link token is the access)."""
    root = _folder(tmp_path_factory, "self_assessment.ipynb")
    command = [sys.executable, "-m", "voila", str(root), "--no-browser", "--Voila.ip=127.0.0.1",
               "--Voila.port={port}", "--Voila.port_retries=0", "--Voila.token=",
               "--VoilaConfiguration.show_tracebacks=False"]
    return start_server("voila", root, command=command)


@pytest.fixture(scope="module")
def agent_voila(start_server, tmp_path_factory):
    """The agent's own server: as the hub starts it, with the signed-in person in $JUPYTERHUB_USER."""
    return start_server("voila", _folder(tmp_path_factory, "agent.ipynb"), env={"JUPYTERHUB_USER": "agent.browser"})


@pytest.fixture(scope="module")
def coordinator_voila(start_server, tmp_path_factory):
    return start_server("voila", _folder(tmp_path_factory, "call_certification.ipynb"))


@pytest.fixture
def ws_store(browser_workspace):
    store = open_store(browser_workspace)
    yield store
    store.dispose()


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_candidate_completes_and_submits_through_their_link(page, token_voila, ws_store):
    wf.add_candidate(ws_store, "CCMA-BROWSER-1", "Amara", "Okafor", "amara@example.org")
    token, _ = cert.issue_link(ws_store, "CCMA-BROWSER-1", "CCMA", actor="office")

    # a guessed token: one line, nothing opened
    page.goto(f"{token_voila.url}/voila/render/self_assessment.ipynb?token={'g' * 43}")
    page.locator(".ek-sa-message").filter(has_text="this link is not valid").wait_for(timeout=60_000)

    page.goto(f"{token_voila.url}/voila/render/self_assessment.ipynb?token={token}")
    page.wait_for_selector(".ek-sa-save", timeout=60_000)
    record = cert.start_self_assessment(ws_store, "CCMA-BROWSER-1", "CCMA")
    instrument = record["instrument"]
    first, *rest = instrument.statement_ids
    page.locator(f".ek-sa-rate-{first} button").nth(3).click()  # 4 Expert
    page.locator("button.ek-sa-save").click()
    page.locator(".ek-sa-message").filter(has_text="Draft saved").wait_for()
    assert cert.self_assessment_record(ws_store, record["id"])["answers"] == {first: 4}

    # submitted with unrated statements: refused, still a draft
    page.locator("button.ek-sa-submit").click()
    page.locator(".ek-sa-message").filter(has_text=f"Not submitted: {len(rest)} statements are not rated").wait_for()
    assert cert.self_assessment_record(ws_store, record["id"])["state"] == "draft"

    ops = {s.id for s in instrument.domain("Operations Management").statements}
    for sid in rest:
        page.locator(f".ek-sa-rate-{sid} button").nth(1 if sid in ops else 2).click()  # 2 Developing / 3 Proficient
    page.locator(".ek-sa-progress").filter(has_text=f"{len(instrument.statement_ids)} of "
                                                    f"{len(instrument.statement_ids)} rated").wait_for()
    _shot(page, "self_assessment_form.png")
    page.locator("button.ek-sa-submit").click()
    page.locator(".ek-sa-summary").wait_for()
    summary = page.locator(".ek-sa-summary").inner_text()
    assert "Development areas: Operations Management" in summary
    assert page.locator("a.ek-sa-pdf").get_attribute("href").startswith("data:application/pdf;base64,")
    frame = page.frame_locator(".ek-sa-result iframe")
    assert "What to study" in frame.locator("body").inner_text()
    _shot(page, "self_assessment_result.png")
    stored = cert.self_assessment_record(ws_store, record["id"])
    assert stored["state"] == "final" and stored["answers"][first] == 4
    assert all(stored["answers"][s] == 2 for s in ops)

    # the link is used up
    page.goto(f"{token_voila.url}/voila/render/self_assessment.ipynb?token={token}")
    page.locator(".ek-sa-message").filter(has_text="this link was used on").wait_for(timeout=60_000)


def test_an_agent_sees_a_scorecard_and_sends_a_self_report(page, agent_voila, ws_store):
    aid = callcert.add_agent(ws_store, "Bruno", "Ferreira", dt.date.today(), certifier="Lin Chen")
    cert.link_person(ws_store, "agent.browser", agent_id=aid, actor="office")
    callcert.score_call(ws_store, aid, "Lin Chen", {c.id: 4 for c in callcert.load_scorecard().criteria},
                        "Verified the caller before anything else.", "", "Friendly, patient tone throughout.")
    page.goto(agent_voila.page_url("agent.ipynb"))
    page.wait_for_selector(".ek-agent-page", timeout=60_000)
    call = page.locator(".ek-agent-call-1")
    assert "Verified the caller before anything else." in call.inner_text()
    assert "Friendly, patient tone throughout." in call.inner_text() and "100.0" in call.inner_text()
    assert "Training day 1" in page.locator(".ek-agent-timeline").inner_text()

    page.locator("button.ek-agent-send").click()  # empty: refused
    page.locator(".ek-agent-message").filter(has_text="Not sent: progress is empty").wait_for()
    page.locator(".ek-agent-progress textarea").fill("First call passed; shadowed two billing calls.")
    page.locator(".ek-agent-modules input").fill("Billing 1, Billing 2")
    page.locator(".ek-agent-blockers textarea").fill("Second monitor not delivered yet")
    page.locator("button.ek-agent-send").click()
    page.locator(".ek-agent-message").filter(has_text="sent to the Cert Coordinator").wait_for()
    _shot(page, "agent_page.png")
    [report] = callcert.self_reports(ws_store, aid)
    assert (report["progress"], report["tbt_modules"], report["blockers"], report["via"], report["entered_by"]) == \
        ("First call passed; shadowed two billing calls.", ["Billing 1", "Billing 2"],
         "Second monitor not delivered yet", "form", "agent.browser")


def test_the_coordinator_sees_the_missing_report_flag(page, coordinator_voila, ws_store):
    aid = callcert.add_agent(ws_store, "Quinn", "Silent", dt.date.today(), certifier="Sam Brooks")
    page.goto(coordinator_voila.page_url("call_certification.ipynb"))
    page.wait_for_selector(".ek-cc-dashboard", timeout=60_000)
    flag = page.locator(".ek-cc-missing-reports")
    flag.filter(has_text="have not self-reported").wait_for()
    assert f"Silent, Quinn (#{aid})" in flag.inner_text()
    assert aid in {m["agent_id"] for m in callcert.missing_reports(ws_store)}
    flag.scroll_into_view_if_needed()
    _shot(page, "coordinator_missing_reports.png")
