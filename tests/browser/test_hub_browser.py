"""The multi-user set-up in a real browser: `evalkit hub` on a PostgreSQL cluster with peer authentication, the
proxy and one server per person, all on free localhost ports and all stopped afterwards.

Two SMEs in two browser contexts each land on the scoring page, see only their own assignment and save it (the
audit log names each of them, as the database session does); a psychometrician lands on the agreement page; an
admin approves a new sign-up, who holds no role and sees the one-line page; a wrong password is refused; and one
person's server (as their own system user) cannot read another's home folder or process environment.

Usernames carry a per-run suffix: the system users are real, and another run of the suite may be going on at once.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from eligible_profiles import add_eligible_candidate
from evalkit.access import grant
from evalkit.evaluation import workflow
from evalkit.store import audit, open_store
from evalkit.widgets.common import css_name

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
TAG = secrets.token_hex(2)
ANA, BO, CY = f"sme.ana.{TAG}", f"sme.bo.{TAG}", f"sme.cy.{TAG}"
PSY, ADMIN, NEW = f"psy.pat.{TAG}", f"office.ida.{TAG}", f"sme.new.{TAG}"
PASSWORD = "correct horse battery"
RECEIVED = "2026-09-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _needs(condition: bool, message: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _build_workspace(url: str) -> dict[str, int]:
    """Two candidates' work products: ANA scores the first, BO the second (CY is the other rater of both)."""
    store = open_store(url, create=True)
    try:
        workflow.sync_programs(store)
        store.set_setting("allow_rater_choice", False, actor="setup")
        for username, name in ((ANA, "Ana Lima"), (BO, "Bo Berg"), (CY, "Cy Park")):
            workflow.add_rater(store, username, name)
            grant(store, username, "rater", actor="setup")
        grant(store, PSY, "psychometrician", actor="setup")
        grant(store, ADMIN, "admin", actor="setup")
        subs = {}
        for rater, candidate in ((ANA, "CCOM-101"), (BO, "CCOM-102")):
            add_eligible_candidate(store, candidate, "Jane", candidate[-3:])
            sid = workflow.receive_submission(store, candidate, "CCOM", RECEIVED, True)  # (knowledge-first: a warning)
            workflow.assign_raters(store, sid, [rater, CY])
            subs[rater] = sid
        return subs
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The hub on a fresh cluster; yields a dict: url, owner database url, submissions by rater, state dir."""
    from evalkit.hub import run
    from evalkit.hub.accounts import add_accounts
    from evalkit.hub.people import is_hub_user
    from evalkit.hub.postgres import LocalCluster, bindir

    _needs(os.geteuid() == 0, "the hub runs people's servers as their own system users: needs root")
    _needs(bindir() is not None, "PostgreSQL server not installed (scripts/system_packages.sh)")
    _needs(shutil.which("chromium") is not None, "Debian's chromium is not installed")
    try:
        run.find_proxy()
        run.find_python()
    except run.HubError as exc:
        _needs(False, str(exc))
    # Not under pytest's root-only temp folder: people's servers and the postgres user must reach into it.
    base = Path(tempfile.mkdtemp(prefix="evalkit-hub-"))
    base.chmod(0o711)
    cluster = LocalCluster(base / "pg")
    proc = None
    log = tmp_path_factory.mktemp("hub") / "hub.log"
    port = _free_port()
    try:
        cluster.start()
        url = cluster.owner_url()
        subs = _build_workspace(url)
        state = base / "state"
        add_accounts(state / "hub" / "jupyterhub.sqlite", dict.fromkeys((ANA, BO, PSY, ADMIN), PASSWORD))
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "evalkit.cli", "hub", "-w", url, "--port", str(port),
                                     "--state-dir", str(state), "--idle-timeout", "600"],
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"evalkit hub exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the hub did not answer in 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"url": f"http://127.0.0.1:{port}", "db": url, "subs": subs, "state": state, "log": log,
               "proc": proc}
    finally:
        if proc is not None:
            run.stop(proc)
        cluster.stop()
        for name in (ANA, BO, CY, PSY, ADMIN, NEW):
            if is_hub_user(name):
                subprocess.run(["userdel", "--remove", name], capture_output=True)
                subprocess.run(["groupdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def owner(hub):
    store = open_store(hub["db"])
    yield store
    store.dispose()


@pytest.fixture
def shots(tmp_path):
    """Screenshots go to the test's tmp dir and, for a look afterwards, to test-artifacts/hub/."""
    keep = ROOT / "test-artifacts" / "hub"
    keep.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path))
        shutil.copy(path, keep / f"{name}.png")
        return path
    return shot


def _context(chromium):
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    context.route("https://**", lambda route: route.abort())  # no internet: Voila's CDN fonts fail fast
    return context


def _sign_in(page, hub, username: str, password: str = PASSWORD, then: str = ""):
    """Sign in on the hub's page; ``then``: where to go instead of the person's server (e.g. /hub/authorize)."""
    page.goto(f"{hub['url']}/hub/login" + (f"?next={then}" if then else ""))
    page.fill("#username_input", username)
    page.fill("#password_input", password)
    page.click("#login_submit")


def _wait_landed(page, username: str, path: str, selector: str):
    page.wait_for_url(re.compile(rf"/user/{re.escape(username)}/{re.escape(path)}"), timeout=120_000)
    page.wait_for_selector(selector, timeout=90_000)


def _server_pid(username: str) -> int:
    """The pid of ``username``'s single-user server (a process of that user running jupyterhub.singleuser)."""
    uid = pwd.getpwnam(username).pw_uid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and b"jupyterhub.singleuser" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    raise AssertionError(f"no server running as {username}")


def test_two_smes_each_score_their_own_assignment(chromium, hub, owner, shots):
    contexts = [_context(chromium) for _ in (ANA, BO)]
    try:
        pages = {name: ctx.new_page() for name, ctx in zip((ANA, BO), contexts)}
        for name, page in pages.items():  # both sign in before either server is up: the hub starts them at once
            _sign_in(page, hub, name)
        for name, page in pages.items():
            _wait_landed(page, name, "voila/render/score_submissions.ipynb", ".ek-app")
        for name, page in pages.items():
            other = BO if name == ANA else ANA
            mine, theirs = hub["subs"][name], hub["subs"][other]
            identity = page.locator(".ek-identity").inner_text()
            assert name in identity  # who is scoring comes from the hub: no chooser of raters
            assert page.locator(".ek-identity select").count() == 0
            page.wait_for_selector(f".ek-row-{mine}")
            assert page.locator(f".ek-row-{theirs}").count() == 0  # the other's work product is not in the queue
            page.locator(f"button.ek-open-{mine}").click()
            page.wait_for_selector(f".ek-form-{mine}")
            rubric = workflow.rubric_for(owner, workflow.submission(owner, mine)["rubric_version"])
            first = rubric.criteria[0]
            index = first.scores.index(first.meets_standard)
            page.locator(f".ek-criterion-{css_name(first.id)} .ek-levels button").nth(index).click()
            page.locator("button.ek-save").click()
            page.wait_for_selector(".ek-status .ek-saved", timeout=30_000)
        shots(pages[ANA], "hub_sme_ana_scoring")
        shots(pages[BO], "hub_sme_bo_scoring")
        for name in (ANA, BO):
            sid = hub["subs"][name]
            draft = workflow.rater_scores(owner, sid, name)
            assert draft["status"] == "draft"
            first = workflow.rubric_for(owner, workflow.submission(owner, sid)["rubric_version"]).criteria[0]
            assert draft["levels"][first.id] == first.meets_standard
            with owner.read() as conn:
                actors = set(conn.execute(sa.select(audit.c.actor).where(audit.c.entity == "criterion_scores"))
                             .scalars())
            assert name in actors  # the save is in the audit log under the person's own name
    finally:
        for ctx in contexts:
            ctx.close()


def _run_in_kernel(hub, context, username: str, code: str) -> str:
    """Run ``code`` in a new kernel of ``username``'s own server, with the browser context's sign-in (as the page's
    JavaScript would, through Jupyter's REST and websocket API); returns what it printed."""
    import requests
    import websocket

    session = requests.Session()
    for c in context.cookies():
        session.cookies.set(c["name"], c["value"], domain=c["domain"], path=c["path"])
    api = f"{hub['url']}/user/{username}/api"
    session.get(f"{api}/status", timeout=60).raise_for_status()
    xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith(f"/user/{username}"))
    r = session.post(f"{api}/kernels", json={"name": "python3"}, headers={"X-XSRFToken": xsrf}, timeout=120)
    r.raise_for_status()
    kernel = r.json()["id"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = websocket.create_connection(f"{api.replace('http', 'ws', 1)}/kernels/{kernel}/channels",
                                     header=[f"Cookie: {cookie}"], timeout=120)
    try:
        msg_id = secrets.token_hex(8)
        ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "",
                                       "session": "", "version": "5.3", "date": ""},
                            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                            "content": {"code": code, "silent": False, "store_history": False,
                                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        out = []
        while True:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["header"]["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["header"]["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif msg["header"]["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
    finally:
        ws.close()
        session.delete(f"{api}/kernels/{kernel}", headers={"X-XSRFToken": xsrf}, timeout=60)


_SNOOP = """
import json, os
from evalkit.store import open_store
found = {}
for path in %r:
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read()
        found[path] = "read"
    except PermissionError:
        found[path] = "refused"
store = open_store(os.environ["EVALKIT_WORKSPACE"])
with store.read() as conn:
    found["person"] = store.person
    found["assignments"] = sorted(conn.exec_driver_sql("SELECT DISTINCT submission_id FROM assignments").scalars())
print(json.dumps(found))
"""


def test_a_raters_kernel_cannot_read_another_persons_home_environment_or_scores(chromium, hub):
    # Both SMEs' servers run (signed in above), each as its own system user. From a kernel in ANA's own server,
    # BO's home folder, BO's server's environment (its hub API token) and BO's work are out of reach.
    bo_pid = _server_pid(BO)
    assert pwd.getpwnam(ANA).pw_uid != pwd.getpwnam(BO).pw_uid
    assert b"JUPYTERHUB_API_TOKEN=" in Path(f"/proc/{bo_pid}/environ").read_bytes()  # there is a secret to keep
    bo_home = pwd.getpwnam(BO).pw_dir
    assert Path(bo_home).stat().st_mode & 0o777 == 0o700
    ana_home = pwd.getpwnam(ANA).pw_dir
    context = _context(chromium)
    try:
        page = context.new_page()
        _sign_in(page, hub, ANA)  # her server is already running: straight to her page
        _wait_landed(page, ANA, "voila/render/score_submissions.ipynb", ".ek-app")
        paths = [bo_home, f"/proc/{bo_pid}/environ", f"{bo_home}/.local/share/jupyter/runtime", ana_home]
        found = json.loads(_run_in_kernel(hub, context, ANA, _SNOOP % (paths,)).strip().splitlines()[-1])
    finally:
        context.close()
    assert found[bo_home] == found[f"/proc/{bo_pid}/environ"] == "refused"
    assert found[f"{bo_home}/.local/share/jupyter/runtime"] == "refused"
    assert found[ana_home] == "read"  # her own: the refusals are about the other person, not a broken set-up
    assert found["person"] == ANA  # the database session is hers (peer authentication), whatever she claims
    assert found["assignments"] == [hub["subs"][ANA]]  # row-level security: not BO's work product
    ana_pid = _server_pid(ANA)
    environ = dict(line.split(b"=", 1) for line in Path(f"/proc/{ana_pid}/environ").read_bytes().split(b"\0")
                   if b"=" in line)
    assert environ[b"JUPYTERHUB_USER"] == ANA.encode()
    assert environ[b"EVALKIT_WORKSPACE"].startswith(f"postgresql+psycopg://{ANA}@/".encode())
    assert environ[b"EVALKIT_WORKSPACE"].split(b"://", 1)[1].split(b"@")[0] == ANA.encode()  # no password in it
    assert b"PGPASSWORD" not in environ


def test_the_psychometrician_lands_on_the_agreement_page(chromium, hub, shots):
    context = _context(chromium)
    try:
        page = context.new_page()
        _sign_in(page, hub, PSY)
        _wait_landed(page, PSY, "lab/tree/rater_agreement.ipynb", ".jp-NotebookPanel")
        page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:has-text('rater_agreement.ipynb')", timeout=60_000)
        shots(page, "hub_psychometrician")
    finally:
        context.close()


def test_a_wrong_password_is_refused(chromium, hub, shots):
    context = _context(chromium)
    try:
        page = context.new_page()
        _sign_in(page, hub, ANA, "not the password at all")
        page.wait_for_selector("text=Invalid username or password")
        assert "/hub/login" in page.url
        shots(page, "hub_wrong_password")
    finally:
        context.close()


def test_an_admin_approves_a_sign_up_who_without_a_role_sees_one_line(chromium, hub, shots):
    newcomer, admin = _context(chromium), _context(chromium)
    try:
        page = newcomer.new_page()
        page.goto(f"{hub['url']}/hub/signup")
        page.fill("#username_input", NEW)
        page.fill("#password_input", PASSWORD)
        page.fill("#password_confirmation_input", PASSWORD)
        page.click("#signup_submit")
        page.wait_for_selector("text=Your information has been sent to the admin")
        _sign_in(page, hub, NEW)
        page.wait_for_selector(f"text=User {NEW} has not been authorized by an administrator yet")
        with pytest.raises(KeyError):
            pwd.getpwnam(NEW)  # no system user before the approval

        office = admin.new_page()
        _sign_in(office, hub, ADMIN, then="/hub/authorize")  # straight to the approvals: no server to start
        office.wait_for_url(re.compile(r"/hub/authorize"))
        row = office.locator("tr", has_text=NEW)
        shots(office, "hub_admin_authorize")
        row.locator("a", has_text=re.compile(r"^\s*Authorize\s*$")).click()
        office.wait_for_url(re.compile(r"/hub/authorize"))
        office.locator("tr", has_text=NEW).locator("a", has_text="Unauthorize").wait_for()
        entry = pwd.getpwnam(NEW)  # approved: the hub made the person's system user, home folder 0700
        assert Path(entry.pw_dir).stat().st_mode & 0o777 == 0o700

        _sign_in(page, hub, NEW)
        page.wait_for_url(re.compile(rf"/user/{re.escape(NEW)}/"), timeout=120_000)
        line = page.locator(".ek-no-role")
        line.wait_for()
        assert f"{NEW} holds no role in this workspace" in line.inner_text()
        assert page.locator("p").count() == 1
        shots(page, "hub_no_role")
    finally:
        newcomer.close()
        admin.close()
