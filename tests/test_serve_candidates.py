"""`evalkit serve --candidates` (the candidates' link page) and the link's address: the command line it builds,
what it serves, the workspace setting ``candidate_link_base`` and the full link `self-assessment-link` prints.
No server is started here (tests/browser/test_self_assessment_browser.py runs the real one)."""
from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalkit.certification import self_assessment as sa_links
from evalkit.cli import main
from evalkit.cli import serve as serve_module
from evalkit.evaluation import workflow as wf
from evalkit.store import access_tokens, open_store


@pytest.fixture(autouse=True)
def keep_sigterm_handler():
    """`evalkit serve` installs a SIGTERM handler: give pytest its own back."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


class FakeServer:
    """Stands in for the Voila process: records its command line, environment and the folder it would serve."""

    started: list[FakeServer] = []

    def __init__(self, command, env):
        self.command, self.env = command, env
        served = Path(command[3])
        self.served_folder = sorted(p.name for p in served.parent.iterdir())
        FakeServer.started.append(self)

    def wait(self, timeout=None):
        return 0

    def poll(self):
        return 0


@pytest.fixture
def fake_server(monkeypatch):
    FakeServer.started = []
    monkeypatch.setattr(serve_module.subprocess, "Popen", FakeServer)
    return FakeServer.started


def _set_base(workspace, url) -> None:
    store = open_store(workspace)
    try:
        sa_links.set_link_base(store, url)
    finally:
        store.dispose()


def test_the_candidate_command_line(tmp_path):
    notebook = tmp_path / "self_assessment.ipynb"
    assert serve_module.candidate_command(notebook, "0.0.0.0", 8867, "/self-assessment/") == [
        sys.executable, "-m", "voila", str(notebook), "--no-browser", "--Voila.ip=0.0.0.0", "--Voila.port=8867",
        "--Voila.port_retries=0", "--Voila.token=", "--VoilaConfiguration.show_tracebacks=False",
        f"--Voila.config_file_paths={serve_module.VOILA_CONFIG_DIR}", "--Voila.base_url=/self-assessment/"]


def test_serve_candidates_serves_a_private_copy_of_the_page_alone_at_the_link_base(workspace, fake_server, capsys):
    _set_base(workspace, "https://office.example/self-assessment/")
    port = _free_port()
    code, out, err = run(capsys, "serve", "--candidates", "-w", workspace, "--port", port, "--ip", "127.0.0.1")
    assert (code, err) == (0, "")
    [server] = fake_server
    notebook = Path(server.command[3])
    assert notebook.name == "self_assessment.ipynb" and notebook.parent != serve_module.NOTEBOOKS_DIR
    assert server.served_folder == ["self_assessment.ipynb"]  # no other notebook, nothing else to list
    assert not notebook.parent.exists()  # removed when the server stopped
    assert server.command[4:] == serve_module.candidate_command(notebook, "127.0.0.1", port,
                                                                 "/self-assessment/")[4:]
    assert server.env["EVALKIT_WORKSPACE"] == str(workspace.resolve())
    assert server.env[serve_module.MAX_PAGES_ENV] == "40"  # the gate's cap, --max-pages' default
    assert out.splitlines() == [
        f"evalkit: serving the candidates' self-assessment page of workspace {workspace.resolve()} with Voila at "
        f"http://127.0.0.1:{port}/self-assessment/ (no Jupyter token: each candidate's link is their access; at most "
        "40 pages at once)",
        "evalkit: links start https://office.example/self-assessment/?token= (evalkit candidates "
        "self-assessment-link ID PROGRAM)",
        "evalkit: press Ctrl-C to stop"]


def test_serve_candidates_without_a_link_base_serves_at_the_root_and_says_how_to_set_it(workspace, fake_server,
                                                                                       capsys):
    code, out, _ = run(capsys, "serve", "--candidates", "-w", workspace, "--port", _free_port())
    assert code == 0 and "--Voila.base_url=/" in fake_server[0].command
    assert "--Voila.ip=127.0.0.1" in fake_server[0].command  # the default address
    assert out.splitlines()[1] == ("evalkit: no address for the links yet: evalkit candidates link-base URL (where "
                                   "the HTTPS proxy serves this page)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv, message", [
    (["--candidates", "--token", "abc"], "--token: the candidates' page has no Jupyter token (each candidate's "
                                         "link is their access)"),
    (["--ip", "0.0.0.0"], "--ip is for --candidates; the evaluators' pages listen on 127.0.0.1 only"),
    (["--candidates", "--ip", "no such host.invalid"], "--ip 'no such host.invalid' is not an address (expected "
                                                       "one such as 127.0.0.1 or 0.0.0.0)"),
    (["--candidates", "--ip", "192.0.2.1"], "--ip 192.0.2.1: this machine cannot listen there (Cannot assign "
                                            "requested address)"),
    (["--candidates", "--port", "70000"], "--port 70000 is not a TCP port (expected 1-65535)"),
])
def test_serve_candidates_bad_input_is_one_line_and_starts_nothing(workspace, fake_server, capsys, argv, message):
    code, out, err = run(capsys, "serve", "-w", workspace, *argv)
    assert (code, out, err) == (1, "", f"evalkit: error: {message}\n") and fake_server == []


def test_serve_candidates_refuses_a_busy_port_and_lab_with_candidates(workspace, fake_server, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "serve", "--candidates", "-w", workspace, "--port", port)
    assert code == 1 and err == f"evalkit: error: port {port} on 127.0.0.1 is in use; choose another with --port\n"
    code, _, err = run(capsys, "serve", "--candidates", "--lab", "-w", workspace)
    assert code == 2 and "--lab: not allowed with argument --candidates" in err and fake_server == []


# --- the link's address ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, stored", [
    ("https://office.example", "https://office.example"),
    (" https://office.example:8443/self-assessment/ ", "https://office.example:8443/self-assessment"),
    ("http://127.0.0.1:8867", "http://127.0.0.1:8867"),
])
def test_a_link_base_is_stored_without_its_trailing_slash(store, url, stored):
    assert sa_links.set_link_base(store, url) == stored == sa_links.link_base(store)


@pytest.mark.parametrize("url", ["office.example", "ftp://office.example", "https://", "https://u:p@office.example",
                                 "https://office.example/?x=1", "https://office.example/#top", "https://office.example?",
                                 "https://office.example:99999", "", None, 8867])
def test_a_bad_link_base_is_one_line_and_not_stored(store, url):
    with pytest.raises(sa_links.SelfAssessmentRefused, match=r"^candidate_link_base .*: expected the address the "
                       r"candidates' page is served at, such as https://office.example/self-assessment \(http or "
                       r"https, no user, query or fragment\)$"):
        sa_links.set_link_base(store, url)
    assert sa_links.link_base(store) is None


def _tokens(workspace) -> int:
    store = open_store(workspace)
    try:
        with store.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(access_tokens)).scalar()
    finally:
        store.dispose()


def test_the_office_sets_the_link_base_and_the_printed_link_is_full(workspace, capsys):
    store = open_store(workspace)
    try:
        wf.add_candidate(store, "C-9", "Noor", "Aziz")
    finally:
        store.dispose()
    code, out, _ = run(capsys, "candidates", "link-base", "-w", workspace)
    assert (code, out) == (0, "not set: evalkit candidates link-base URL (the address `evalkit serve --candidates` "
                              "is reached at)\n")
    # no address: refused before a token is made
    code, out, err = run(capsys, "candidates", "self-assessment-link", "-w", workspace, "C-9", "CCMC")
    assert (code, out) == (1, "") and err == (
        "evalkit: error: the candidates' page has no address yet: set it with `evalkit candidates link-base URL` "
        "(where `evalkit serve --candidates` is reached), or pass --base-url\n")
    assert _tokens(workspace) == 0
    code, out, err = run(capsys, "candidates", "link-base", "-w", workspace, "office.example")
    assert code == 1 and err.startswith("evalkit: error: candidate_link_base 'office.example': expected")
    code, out, _ = run(capsys, "candidates", "link-base", "-w", workspace, "https://office.example/self-assessment/")
    assert (code, out) == (0, "candidates' links start https://office.example/self-assessment/?token=\n")

    code, out, _ = run(capsys, "candidates", "self-assessment-link", "-w", workspace, "C-9", "CCMC")
    link, expiry = out.splitlines()
    assert code == 0 and link.startswith("https://office.example/self-assessment/?token=")
    assert expiry.startswith("single use, expires ")
    store = open_store(workspace)
    try:
        assert sa_links.open_link(store, link.split("?token=", 1)[1])["program_id"] == "CCMC"
    finally:
        store.dispose()
    # --base-url: this link only, checked the same way
    code, out, _ = run(capsys, "candidates", "self-assessment-link", "-w", workspace, "C-9", "CCMC", "--base-url",
                       "http://10.0.0.5:8867")
    assert code == 0 and out.startswith("http://10.0.0.5:8867/?token=")
    code, _, err = run(capsys, "candidates", "self-assessment-link", "-w", workspace, "C-9", "CCMC", "--base-url",
                       "10.0.0.5")
    assert code == 1 and err.startswith("evalkit: error: --base-url '10.0.0.5': expected the address")
    assert _tokens(workspace) == 2


# --- the gate: Voila's pre-launch hook on the candidates' server ------------------------------------------------


class FakeKernels:
    """Voila's kernel manager as the gate sees it: the kernels running, and those still starting."""

    def __init__(self, running=0, starting=0):
        self.running = [f"k{i}" for i in range(running)]
        self._pending_kernels = {f"s{i}": None for i in range(starting)}

    def list_kernel_ids(self):
        return list(self.running)


class FakeHandler:
    """Voila's page handler as the gate sees it: the request (tornado's own), the kernel manager, the status,
    headers and the ``_xsrf`` cookie it would send."""

    def __init__(self, query: str, kernels: FakeKernels | None = None):
        from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

        self.request = HTTPServerRequest(start_line=RequestStartLine("GET", f"/self-assessment/{query}", "HTTP/1.1"),
                                         headers=HTTPHeaders({"Host": "office.example"}))
        self.kernel_manager = kernels or FakeKernels()
        self.status, self.headers, self.xsrf_issued = 200, {}, False

    @property
    def xsrf_token(self):
        self.xsrf_issued = True
        return b"xsrf"

    def set_status(self, status):
        self.status = status

    def set_header(self, name, value):
        self.headers[name] = value


def _gate(gate, handler) -> str | None:
    """The page the gate answers with (its status is on the handler), or None where it lets the page start."""
    from tornado.web import Finish

    try:
        gate(handler, notebook=None, cwd="/tmp")
    except Finish as done:
        [page] = done.args
        return page
    return None


def _line(page: str) -> list[str]:
    """The visible text of a refusal page, line by line."""
    import re

    body = page.split("<body>", 1)[1]
    return [line for line in (re.sub(r"<[^>]+>", "", part).strip() for part in body.splitlines()) if line]


@pytest.fixture
def links(store):
    """A candidate with a usable link, an expired one and a used one (CCMA)."""
    import datetime as dt

    from evalkit import certification as cert

    wf.add_candidate(store, "G-1", "Gale", "Open")
    wf.add_candidate(store, "G-2", "Lee", "Late")
    wf.add_candidate(store, "G-3", "Dana", "Done")
    usable, _ = cert.issue_link(store, "G-1", "CCMA", actor="office")
    expired, _ = cert.issue_link(store, "G-2", "CCMA", days=1, actor="office",
                                 now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=2))
    used, _ = cert.issue_link(store, "G-3", "CCMA", actor="office")
    record = cert.start_self_assessment(store, "G-3", "CCMA")
    cert.submit_self_assessment(store, record["id"], {sid: 3 for sid in record["instrument"].statement_ids},
                                token_id=cert.open_link(store, used)["token_id"])
    return {"usable": usable, "expired": expired, "used": used}


def _stored_links(store) -> list:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(access_tokens).order_by(access_tokens.c.id))]


def test_the_gate_lets_a_usable_link_start_its_page_without_using_it_up(store, links):
    before = _stored_links(store)
    handler = FakeHandler(f"?token={links['usable']}", FakeKernels(running=3, starting=2))
    assert _gate(serve_module.CandidateGate(max_pages=6, store=store), handler) is None
    assert handler.status == 200 and handler.xsrf_issued  # the tab-close shutdown still works
    assert _stored_links(store) == before  # not used up, nothing written
    assert sa_links.link_usable(store, links["usable"]) is None
    assert sa_links.open_link(store, links["usable"])["external_id"] == "G-1"


@pytest.mark.parametrize("which, title, line", [
    ("guessed", ["Self-assessment"], "this link is not valid; ask the certification office for a new one"),
    ("short", ["Self-assessment"], "this link is not valid; ask the certification office for a new one"),
    ("expired", ["Self-assessment"], "this link expired on "),
    ("used", ["Self-assessment"], "this link was used on "),
    ("missing", [], "Open this page through the self-assessment link you were sent, or sign in as a candidate."),
    ("blank", [], "Open this page through the self-assessment link you were sent, or sign in as a candidate."),
])
def test_the_gate_refuses_a_link_that_opens_nothing_with_403_and_the_pages_line(store, links, which, title, line):
    query = {"guessed": f"?token={'g' * 43}", "short": "?token=abc", "missing": "", "blank": "?token=&x=1",
             "expired": f"?token={links['expired']}", "used": f"?token={links['used']}"}[which]
    before = _stored_links(store)
    handler = FakeHandler(query)
    page = _gate(serve_module.CandidateGate(store=store), handler)
    assert handler.status == 403 and handler.headers["Content-Type"] == "text/html; charset=UTF-8"
    *heading, shown = _line(page)
    assert heading == title and shown.startswith(line)
    if which in ("expired", "used"):  # the very line the page shows, from the same rules
        token = links[which]
        assert shown == sa_links.link_usable(store, token)
        with pytest.raises(sa_links.SelfAssessmentRefused) as refused:
            sa_links.open_link(store, token)
        assert str(refused.value) == shown
    assert "<script" not in page and not handler.xsrf_issued
    assert _stored_links(store) == before


def test_the_gates_line_for_no_token_is_the_one_the_page_shows(workspace):
    from evalkit.widgets.self_assessment import self_assessment_app

    shown = self_assessment_app(workspace, query="")
    assert sa_links.NO_LINK in shown.value


@pytest.mark.parametrize("running, starting, refused", [(4, 0, False), (5, 0, True), (3, 2, True), (9, 0, True)])
def test_the_gate_caps_the_pages_running_at_once_with_503(store, links, running, starting, refused):
    handler = FakeHandler(f"?token={links['usable']}", FakeKernels(running, starting))
    page = _gate(serve_module.CandidateGate(max_pages=5, store=store), handler)
    if not refused:
        assert page is None and handler.status == 200
        return
    assert handler.status == 503 and handler.headers["Retry-After"] == "120"
    assert _line(page) == ["Self-assessment", "too many people are completing their self-assessment right now; "
                                              "try again in a few minutes"]


def test_a_link_that_opens_nothing_is_403_even_when_the_server_is_full(store):
    handler = FakeHandler(f"?token={'g' * 43}", FakeKernels(running=40))
    page = _gate(serve_module.CandidateGate(max_pages=40, store=store), handler)
    assert handler.status == 403 and "this link is not valid" in page


def test_the_gate_opens_the_workspace_once_per_server(workspace, monkeypatch, links):
    from evalkit import store as store_module

    opened = []
    real = store_module.open_store

    def counting(target):
        opened.append(target)
        return real(target)

    monkeypatch.setattr(store_module, "open_store", counting)
    monkeypatch.setenv("EVALKIT_WORKSPACE", str(workspace))
    monkeypatch.setenv(serve_module.MAX_PAGES_ENV, "7")
    gate = serve_module.CandidateGate.from_environment()
    assert gate.max_pages == 7
    for query in (f"?token={links['usable']}", f"?token={'g' * 43}", f"?token={links['usable']}"):
        _gate(gate, FakeHandler(query))
    assert opened == [str(workspace)]
    gate.store.dispose()


def test_a_workspace_the_gate_cannot_read_is_503_and_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("EVALKIT_WORKSPACE", str(tmp_path / "no-such-workspace"))
    handler = FakeHandler(f"?token={'g' * 43}")
    page = _gate(serve_module.CandidateGate(), handler)
    assert handler.status == 503
    assert _line(page)[-1] == "the self-assessment page cannot open right now; try again in a few minutes"
    assert "could not check a link" in caplog.text


@pytest.mark.parametrize("max_pages", [0, -1, True, "5"])
def test_the_gate_needs_a_cap_of_at_least_one(max_pages):
    with pytest.raises(ValueError, match="expected a whole number of at least 1"):
        serve_module.CandidateGate(max_pages=max_pages)


def test_max_pages_reaches_the_candidates_server_only(workspace, fake_server, capsys, monkeypatch):
    monkeypatch.setenv(serve_module.MAX_PAGES_ENV, "3")  # left in the operator's shell: never reaches the SMEs' pages
    code, out, err = run(capsys, "serve", "--candidates", "-w", workspace, "--port", _free_port(), "--max-pages", 12)
    assert (code, err) == (0, "") and fake_server[0].env[serve_module.MAX_PAGES_ENV] == "12"
    assert "at most 12 pages at once" in out.splitlines()[0]
    code, _, _ = run(capsys, "serve", "--candidates", "-w", workspace, "--port", _free_port())
    assert code == 0 and fake_server[1].env[serve_module.MAX_PAGES_ENV] == "40"
    code, _, _ = run(capsys, "serve", "-w", workspace, "--port", _free_port())
    assert code == 0 and serve_module.MAX_PAGES_ENV not in fake_server[2].env


@pytest.mark.parametrize("argv, message", [
    (["--candidates", "--max-pages", "0"], "--max-pages 0: expected a whole number of pages from 1 to 10000"),
    (["--max-pages", "5"], "--max-pages is for --candidates; the evaluators' pages are not capped"),
])
def test_a_bad_max_pages_is_one_line_and_starts_nothing(workspace, fake_server, capsys, argv, message):
    code, out, err = run(capsys, "serve", "-w", workspace, "--port", _free_port(), *argv)
    assert (code, out, err) == (1, "", f"evalkit: error: {message}\n") and fake_server == []


def test_voilas_configuration_installs_the_gate_on_the_candidates_server_only(monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    def hook():
        return PyFileConfigLoader("voila.py", str(serve_module.VOILA_CONFIG_DIR)).load_config() \
            .VoilaConfiguration.prelaunch_hook

    monkeypatch.delenv(serve_module.MAX_PAGES_ENV, raising=False)
    assert hook() is serve_module.issue_xsrf_cookie
    monkeypatch.setenv(serve_module.MAX_PAGES_ENV, "9")
    gate = hook()
    assert isinstance(gate, serve_module.CandidateGate) and gate.max_pages == 9


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_one_link_opened_too_often_is_429_until_its_window_has_passed(store, links):
    clock = FakeClock()
    gate = serve_module.CandidateGate(max_pages=40, store=store, link_opens=3, link_window=900, clock=clock)
    for _ in range(3):  # a reload, another tab: each lets a page start
        handler = FakeHandler(f"?token={links['usable']}")
        assert _gate(gate, handler) is None and handler.status == 200
        clock.now += 60
    handler = FakeHandler(f"?token={links['usable']}")
    page = _gate(gate, handler)
    assert handler.status == 429 and handler.headers["Retry-After"] == "900"
    assert _line(page) == ["Self-assessment", serve_module.LINK_OPENED_TOO_OFTEN]
    # another candidate's link is not held up by this one
    from evalkit import certification as cert

    other, _ = cert.issue_link(store, "G-2", "CCMA", actor="office")
    assert _gate(gate, FakeHandler(f"?token={other}")) is None
    # once the first load is older than the window, one more page may start
    clock.now = 1000.0 + 900 + 1
    assert _gate(gate, FakeHandler(f"?token={links['usable']}")) is None
    assert _gate(gate, FakeHandler(f"?token={links['usable']}")).count(serve_module.LINK_OPENED_TOO_OFTEN) == 1


def test_a_refused_page_does_not_count_as_an_open_of_its_link(store, links):
    gate = serve_module.CandidateGate(max_pages=1, store=store, link_opens=2, clock=FakeClock())
    for _ in range(3):  # the server is full: 503 each time, and the link is not used up meanwhile
        handler = FakeHandler(f"?token={links['usable']}", FakeKernels(running=1))
        _gate(gate, handler)
        assert handler.status == 503
    assert _gate(gate, FakeHandler(f"?token={links['usable']}")) is None


@pytest.mark.parametrize("opens", [0, -1, 2.5, True])
def test_the_gate_needs_a_whole_number_of_opens_per_link(opens):
    with pytest.raises(ValueError, match="link_opens"):
        serve_module.CandidateGate(link_opens=opens)
