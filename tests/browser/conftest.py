"""Real-browser test harness: JupyterLab and Voila on free localhost ports, driven by Python Playwright with
Debian's chromium (``/usr/bin/chromium``; ``playwright install`` is not needed). See
/work/shared/notes/browser_testing.md for why each step is done this way.

Fixtures
--------
``browser_workspace`` (session)
    A throw-away copy of the demo workspace that this session's servers use. Tests that change it pick
    submissions no other test uses (e.g. by rater or state), since the copy is shared by the session.
``chromium`` (session)
    The Playwright ``Browser``. Skipped when chromium is not installed, failed instead under ``CI``.
``page`` (function)
    A fresh browser context and page (1440x1000, no internet: ``https://**`` is aborted, so Voila's CDN fonts
    fail fast). When the test fails, a screenshot and the servers' log tails go to ``test-artifacts/``.
``start_server`` (session)
    A factory: ``start_server(kind, root, env=None)`` with ``kind`` ``"voila"`` or ``"lab"`` starts that server
    on a free port serving the folder ``root``, with ``EVALKIT_WORKSPACE`` set to ``browser_workspace`` (``env``
    adds or overrides variables), waits until it is ready and returns a :class:`Server`; every server started
    is stopped (its whole process group, kernels included) at the end of the session, pass or fail.
``voila`` (session)
    ``evalkit serve`` itself (the command evaluators run) on ``browser_workspace``: a :class:`Server` whose
    ``page_url("score_submissions.ipynb")`` / ``page_url("adjudicate.ipynb")`` are the evaluators' pages.
``lab`` (session)
    JupyterLab on a temporary copy of ``notebooks/`` (the UI dirties notebooks; the repository's stay clean).

``open_voila`` / ``run_in_lab`` (fixtures returning helpers)
    ``open_voila(page, server, notebook, selector=".ek-app")`` loads a Voila page and waits for ``selector``;
    ``run_in_lab(page, server, notebook, selector=".ek-app")`` opens a notebook in JupyterLab, waits until its
    kernel is really there, runs all cells and waits for ``selector``.

Another view (e.g. call certification) copies its notebook into a temporary folder, then in its test::

    server = start_server("voila", folder)
    open_voila(page, server, "its.ipynb", selector=".its-root")

Selectors that work for ipywidgets 8 are in the notes; give widgets stable classes with ``add_class``.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running Jupyter server: ``url`` (no trailing slash), ``token``, the served ``root`` and its ``log`` file."""

    kind: str
    url: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen = field(repr=False)

    def kernels(self) -> int:
        """How many kernel processes run under this server (the server is started in a session of its own)."""
        parents, kernel = {}, set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat, cmdline = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                if b"ipykernel" in cmdline:
                    kernel.add(int(entry.name))

        def descends(pid: int) -> bool:
            while pid in parents and pid > 1:
                pid = parents[pid]
                if pid == self.proc.pid:
                    return True
            return False
        return sum(1 for pid in kernel if descends(pid))

    def page_url(self, notebook: str) -> str:
        where = "lab/tree" if self.kind == "lab" else "voila/render"
        return f"{self.url}/{where}/{notebook}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_ready(server: Server, timeout: float = 60) -> None:
    """Voila: the TCP port answers (a GET would start a kernel). JupyterLab: ``/api/status`` answers 200."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            if server.kind == "lab":
                with urllib.request.urlopen(f"{server.url}/api/status?token={server.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            else:
                port = int(server.url.rsplit(":", 1)[1])
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.kind} not ready after {timeout:.0f} s:\n{server.log_tail()}")


def _stop(server: Server) -> None:
    """SIGTERM to the whole process group (the server shuts its kernels down), SIGKILL if still alive 10 s later."""
    if server.proc.poll() is not None:
        return
    try:
        os.killpg(server.proc.pid, signal.SIGTERM)
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
    except ProcessLookupError:
        pass


def _seed_lab_settings(settings: Path) -> None:
    """No "get notified about Jupyter news" toast over the widgets."""
    target = settings / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                         "checkForUpdates": False}))


@pytest.fixture(scope="session")
def browser_workspace(demo_workspace, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("browser") / "ws"
    shutil.copytree(demo_workspace, target)
    return target


@pytest.fixture(scope="session")
def start_server(browser_workspace, tmp_path_factory):
    started: list[Server] = []
    home = tmp_path_factory.mktemp("jupyter-home")

    def start(kind: str, root: Path, env: dict | None = None, command: list[str] | None = None) -> Server:
        if kind not in ("voila", "lab"):
            raise ValueError(f"server kind {kind!r}; expected 'voila' or 'lab'")
        port, token = free_port(), secrets.token_hex(16)
        if command is None:
            from evalkit.cli.serve import server_command
            command = server_command(Path(root), port, token, lab=kind == "lab")
            if kind == "lab":
                command += [f"--LabApp.user_settings_dir={home / 'settings'}",
                            f"--LabApp.workspaces_dir={home / 'workspaces'}"]
                _seed_lab_settings(home / "settings")
        else:
            command = [part.format(port=port, token=token) for part in command]
        variables = dict(os.environ, EVALKIT_WORKSPACE=str(browser_workspace), JUPYTER_CONFIG_DIR=str(home / "cfg"),
                         JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
                         PYTHONUNBUFFERED="1", **(env or {}))
        log = home / f"{kind}-{port}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=variables, cwd=root,
                                    start_new_session=True)
        server = Server(kind, f"http://127.0.0.1:{port}", token, Path(root), log, proc)
        started.append(server)
        _wait_ready(server)
        return server

    start.started = started
    try:
        yield start
    finally:
        for server in started:
            _stop(server)


@pytest.fixture(scope="session")
def voila(start_server, browser_workspace, tmp_path_factory) -> Server:
    root = tmp_path_factory.mktemp("serve-cwd")
    command = [sys.executable, "-m", "evalkit.cli", "serve", "--workspace", str(browser_workspace),
               "--port", "{port}", "--token", "{token}"]
    return start_server("voila", root, command=command)


@pytest.fixture(scope="session")
def lab(start_server, tmp_path_factory) -> Server:
    root = tmp_path_factory.mktemp("lab-root")
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    return start_server("lab", root)


# Module scope, not session: while Playwright's sync API is open it keeps an asyncio loop marked as running on the
# main thread, which would confuse every later test that uses asyncio (the autosave timer's tests).
@pytest.fixture(scope="module")
def chromium():
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium; scripts/test.sh does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(chromium, request, start_server):
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.route("https://**", lambda route: route.abort())
    try:
        yield pg
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            try:
                pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception as exc:  # noqa: BLE001 - the failure being reported matters more than this one
                print(f"screenshot failed: {exc}", file=sys.stderr)
            logs = "\n\n".join(f"== {s.kind} {s.url} ==\n{s.log_tail(200)}" for s in start_server.started)
            (ARTIFACTS / f"{name}.log").write_text(logs)
        context.close()


def _open_voila(page, server: Server, notebook: str, selector: str = ".ek-app"):
    """Load a Voila page; Voila starts a kernel and runs the notebook, then the widgets appear."""
    page.goto(server.page_url(notebook))
    page.wait_for_selector(selector, timeout=60_000)


def _run_in_lab(page, server: Server, notebook: str, selector: str = ".ek-app"):
    """Open a notebook in JupyterLab, wait until its kernel is really there, run all cells, wait for ``selector``.

    The kernel websocket is awaited first: right after load the status bar briefly says "Idle" before any kernel
    exists, and "Run All" then would open a "Select Kernel" dialog.
    """
    with page.expect_websocket(lambda ws: "/api/kernels/" in ws.url, timeout=60_000):
        page.goto(server.page_url(notebook))
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
    page.wait_for_function("!document.querySelector('#jp-main-statusbar')?.innerText.includes('No Kernel')")
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_selector(selector, timeout=60_000)


@pytest.fixture(scope="session")
def open_voila():
    return _open_voila


@pytest.fixture(scope="session")
def run_in_lab():
    return _run_in_lab
