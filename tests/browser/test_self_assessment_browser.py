"""The people being assessed, in a real browser (Voila): a candidate completes and submits a self-assessment
through the link the office issued, on ``evalkit serve --candidates``, and sees the report (a link that is
guessed, expired or used shows one line and stores nothing, refused by the server before any kernel starts; beyond
``--max-pages`` a page is refused with 503, no kernel either); an agent, signed in, sees a call's scorecard with the coaching note and
sends the end-of-day self-report; the Cert Coordinator sees the missing-report flag. What the pages stored is
read back from the database. Screenshots go to ``test-artifacts/``. Harness: tests/browser/conftest.py."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalkit import callcert
from evalkit import certification as cert
from evalkit.certification import self_assessment as cert_sa
from evalkit.evaluation import workflow as wf
from evalkit.store import access_tokens, audit, open_store, self_assessment_answers, self_assessments

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _folder(tmp_path_factory, *notebooks: str) -> Path:
    root = tmp_path_factory.mktemp("people-voila")
    for name in notebooks:
        shutil.copy(NOTEBOOKS / name, root / name)
    return root


def _set_link_base(workspace: Path, url: str) -> None:
    store = open_store(workspace)
    try:
        cert_sa.set_link_base(store, url, actor="office")
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def candidates_page(start_server, browser_workspace, tmp_path_factory):
    """The office's link page as bodies without a hub run it: ``evalkit serve --candidates``, no Jupyter token
    (the candidate's link token is the access), at the path of the workspace's ``candidate_link_base``."""
    _set_link_base(browser_workspace, "https://office.example/self-assessment")  # the path is Voila's base URL
    command = [sys.executable, "-m", "evalkit.cli", "serve", "--candidates", "--workspace", str(browser_workspace),
               "--port", "{port}"]
    server = start_server("voila", tmp_path_factory.mktemp("serve-candidates-cwd"), command=command)
    _set_link_base(browser_workspace, f"{server.url}/self-assessment")  # no proxy here: the links go straight to it
    return server


@pytest.fixture(scope="module")
def crowded_candidates_page(start_server, candidates_page, tmp_path_factory, browser_workspace):
    """A second candidates' server, with ``--max-pages 1``: one page open at a time."""
    command = [sys.executable, "-m", "evalkit.cli", "serve", "--candidates", "--workspace", str(browser_workspace),
               "--port", "{port}", "--max-pages", "1"]
    return start_server("voila", tmp_path_factory.mktemp("serve-candidates-crowded-cwd"), command=command)


def _kernels_started(server) -> int:
    """How many kernels the server has started so far, from its log (jupyter_server logs each one)."""
    return len(re.findall(r"Kernel started: ", server.log.read_text(errors="replace")))


def _get(url: str) -> tuple[int, str]:
    """The status and the body of a plain GET (no browser)."""
    try:
        with urllib.request.urlopen(url, timeout=120) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


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


def _link(workspace: Path, candidate: str, program: str) -> str:
    """The link as the office issues it: ``evalkit candidates self-assessment-link``, its first line."""
    done = subprocess.run([sys.executable, "-m", "evalkit.cli", "candidates", "self-assessment-link", "-w",
                           str(workspace), candidate, program], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[0]


def test_a_candidate_completes_and_submits_through_their_link(page, candidates_page, browser_workspace, ws_store):
    wf.add_candidate(ws_store, "CCMA-BROWSER-1", "Amara", "Okafor", "amara@example.org")
    link = _link(browser_workspace, "CCMA-BROWSER-1", "CCMA")
    assert link.startswith(f"{candidates_page.url}/self-assessment/?token=")

    page.goto(link)
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
    page.goto(link)
    page.locator(".ek-sa-message").filter(has_text="this link was used on").wait_for(timeout=60_000)


def _stored(store) -> tuple:
    """What a page could have written: self-assessments, their answers, links used, audit entries."""
    def count(table, *where) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()

    with store.read() as conn:
        return (count(self_assessments), count(self_assessment_answers),
                count(access_tokens, access_tokens.c.used_at.is_not(None)), count(audit))


@pytest.mark.parametrize("which, shown", [
    ("guessed", "this link is not valid; ask the certification office for a new one"),
    ("expired", "this link expired on "),
    ("used", "this link was used on "),
    ("missing", "Open this page through the self-assessment link you were sent, or sign in as a candidate."),
])
def test_a_link_that_is_not_valid_shows_one_line_and_stores_nothing(page, candidates_page, ws_store, which, shown):
    base = f"{candidates_page.url}/self-assessment/"
    if which == "guessed":
        url = f"{base}?token={'g' * 43}"
    elif which == "expired":
        wf.add_candidate(ws_store, "CCMA-BROWSER-LATE", "Lee", "Late")
        token, _ = cert.issue_link(ws_store, "CCMA-BROWSER-LATE", "CCMA", days=1, actor="office",
                                   now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=2))
        url = f"{base}?token={token}"
    elif which == "used":
        wf.add_candidate(ws_store, "CCMA-BROWSER-DONE", "Dana", "Done")
        token, _ = cert.issue_link(ws_store, "CCMA-BROWSER-DONE", "CCMA", actor="office")
        record = cert.start_self_assessment(ws_store, "CCMA-BROWSER-DONE", "CCMA")
        cert.submit_self_assessment(ws_store, record["id"], {sid: 3 for sid in record["instrument"].statement_ids},
                                    token_id=cert.open_link(ws_store, token)["token_id"])
        url = f"{base}?token={token}"
    else:
        url = base
    before, started, running = _stored(ws_store), _kernels_started(candidates_page), candidates_page.kernels()
    reply = page.goto(url)
    assert reply.status == 403  # refused by the server (CandidateGate), before any kernel
    page.get_by_text(shown).wait_for(timeout=60_000)
    # the page is that one line (under the page's title where there was a token): no form, result, code or files
    lines = [line for line in page.locator("body").inner_text().splitlines() if line.strip()]
    assert lines[-1].startswith(shown) and lines[:-1] == ([] if which == "missing" else ["Self-assessment"]), lines
    assert page.locator(".ek-sa-save, .ek-sa-submit, .ek-sa-result, .widget-toggle-buttons").count() == 0
    if which == "guessed":
        _shot(page, "self_assessment_link_not_valid.png")
    assert _stored(ws_store) == before
    # no kernel was started for it: none in the server's log, no new kernel process under the server
    assert _kernels_started(candidates_page) == started
    assert candidates_page.kernels() <= running


def test_a_guessed_link_starts_no_kernel_however_often_it_is_loaded(candidates_page):
    """The flood the gate is for: 30 page loads with guessed tokens, 10 at a time, each 403 with the one line and
    no kernel started."""
    base = f"{candidates_page.url}/self-assessment/"
    started, running = _kernels_started(candidates_page), candidates_page.kernels()
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(_get, [f"{base}?token={i:043d}" for i in range(30)]))
    assert {status for status, _ in replies} == {403}
    assert all("this link is not valid; ask the certification office for a new one" in body for _, body in replies)
    assert _kernels_started(candidates_page) == started and candidates_page.kernels() <= running


def test_beyond_max_pages_a_page_gets_503_and_no_kernel(page, crowded_candidates_page, browser_workspace, ws_store):
    """``--max-pages 1``: of three usable links opened at once, one page starts (its kernel stays until its page
    goes), the other two get 503 with one line; a guessed link is still 403."""
    server = crowded_candidates_page
    base = f"{server.url}/self-assessment/"
    tokens = []
    for i in range(3):
        wf.add_candidate(ws_store, f"CCMA-BROWSER-CROWD-{i}", "Casey", f"Crowd{i}")
        tokens.append(cert.issue_link(ws_store, f"CCMA-BROWSER-CROWD-{i}", "CCMA", actor="office")[0])
    started = _kernels_started(server)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(_get, [f"{base}?token={t}" for t in tokens]))
    assert sorted(status for status, _ in replies) == [200, 503, 503], [s for s, _ in replies]
    busy = "too many people are completing their self-assessment right now; try again in a few minutes"
    assert all(busy in body for status, body in replies if status == 503)
    assert _kernels_started(server) == started + 1 and server.kernels() == 1
    assert _get(f"{base}?token={'g' * 43}")[0] == 403
    # in a browser: the one line under the page's title, nothing else
    reply = page.goto(f"{base}?token={tokens[0]}")
    assert reply.status == 503
    page.get_by_text(busy).wait_for()
    lines = [line for line in page.locator("body").inner_text().splitlines() if line.strip()]
    assert lines == ["Self-assessment", busy]
    _shot(page, "self_assessment_too_many_pages.png")
    assert _kernels_started(server) == started + 1
    # the links are not used up by any of it
    assert all(cert.open_link(ws_store, t)["program_id"] == "CCMA" for t in tokens)


def test_the_candidates_server_serves_that_page_only(candidates_page):
    """No file list, no other notebook, no contents or kernels API: every other address is refused."""
    for path in ("/self-assessment/voila/tree", "/self-assessment/voila/api/contents/",
                 "/self-assessment/voila/render/score_submissions.ipynb", "/self-assessment/api/kernels",
                 "/self-assessment/self_assessment.ipynb", "/"):
        try:
            with urllib.request.urlopen(f"{candidates_page.url}{path}", timeout=10) as reply:
                status = reply.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status in (403, 404), (path, status)


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
