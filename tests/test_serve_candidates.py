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
    assert out.splitlines() == [
        f"evalkit: serving the candidates' self-assessment page of workspace {workspace.resolve()} with Voila at "
        f"http://127.0.0.1:{port}/self-assessment/ (no Jupyter token: each candidate's link is their access)",
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
