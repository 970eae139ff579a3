"""Starting the hub for a workspace: what it needs found and prepared, the line it prints, the process.

:func:`prepare` checks what the hub needs (root, the proxy, a Python every user can run, a free port), makes the
state folder (``hub/``: the hub's database with the accounts' password hashes and its cookie secret, owner-only;
``notebooks/``: the pages people's servers serve, readable by all, changeable by none of them), and reads the
workspace's roles. :func:`start` runs JupyterHub with :data:`~evalkit.hub.config.CONFIG_FILE`; :func:`stop` ends
it and everything it started (people's servers, the proxy, the services).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..store import StoreError, open_store
from .config import CONFIG_FILE, HubSettings, save_settings
from .workspace import groups_and_admins, share_sqlite_workspace

__all__ = ["HubError", "REPO", "NOTEBOOKS", "SERVED", "SQLITE_GROUP", "find_proxy", "find_python", "prepare",
           "start_lines", "start", "stop", "descendants"]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
#: The pages people land on (evalkit.access.LANDING), copied for the hub's servers.
SERVED = ("score_submissions.ipynb", "adjudicate.ipynb", "call_certification.ipynb", "rater_agreement.ipynb",
          "admin.ipynb")
#: On SQLite, the system group every person is in, which may open the workspace's file.
SQLITE_GROUP = "evalkit-workspace"


class HubError(RuntimeError):
    """The hub cannot start as asked; the message says what to do."""


def _free_ports(count: int, taken: int) -> list[int]:
    """``count`` free localhost ports, different from each other and from ``taken`` (all held open while chosen:
    a port closed and asked for again may well come back)."""
    sockets, ports = [], []
    try:
        while len(ports) < count:
            s = socket.socket()
            sockets.append(s)
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] != taken:
                ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def _check_port(ip: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise HubError(f"--port {port} is not a TCP port (expected 1-65535)")
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError:
            raise HubError(f"port {port} on {ip} is in use; choose another with --port") from None


def find_proxy() -> str:
    """configurable-http-proxy: the project's (.hub/node, from scripts/hub_packages.sh), else one on the PATH."""
    local = REPO / ".hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise HubError("configurable-http-proxy is not installed: run `bash scripts/hub_packages.sh`")
    return found


def _runs_as_other_user(python: str) -> bool:
    done = subprocess.run(["runuser", "-u", "nobody", "--", python, "-c", "import evalkit.hub, jupyterhub"],
                          cwd="/", capture_output=True)
    return done.returncode == 0


def find_python() -> str:
    """The Python people's servers run: ``$EVALKIT_HUB_PYTHON``, else the one scripts/hub_packages.sh recorded in
    .hub/python (a venv of its own when the project's is not readable by other users), else this one; it must run
    as another user."""
    recorded = REPO / ".hub" / "python"  # where scripts/hub_packages.sh put it
    candidates = [os.environ.get("EVALKIT_HUB_PYTHON"),
                  recorded.read_text().strip() if recorded.exists() else None,
                  str(REPO / ".hub" / "venv" / "bin" / "python"), str(Path(sys.prefix) / "bin" / "python")]
    for python in filter(None, candidates):
        if Path(python).exists() and _runs_as_other_user(python):
            return python
    raise HubError("no Python that people's servers can run (as their own users): run "
                   "`bash scripts/hub_packages.sh`, or set EVALKIT_HUB_PYTHON")


def _copy_notebooks(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o755)
    for name in SERVED:
        source = NOTEBOOKS / name
        if not source.is_file():
            raise HubError(f"{source} not found; run evalkit hub from its repository")
        shutil.copyfile(source, target / name)
        (target / name).chmod(0o644)


def prepare(workspace: str, state_dir: Path, port: int = 8000, ip: str = "127.0.0.1", idle_timeout: int = 3600,
            person_url: str | None = None, settle: bool = True, extra_config: str | None = None) -> HubSettings:
    """Check and prepare everything the hub needs; returns its settings (saved in ``state_dir``)."""
    if os.geteuid() != 0:
        raise HubError("evalkit hub runs as root: it starts each person's server as that person's own system user")
    _check_port(ip, port)
    if extra_config is not None:
        if not Path(extra_config).is_file():
            raise HubError(f"--config {extra_config}: no such file")
        extra_config = str(Path(extra_config).resolve())
    if "://" not in workspace:
        workspace = str(Path(workspace).resolve())
    try:
        store = open_store(workspace)
    except StoreError as exc:
        raise HubError(str(exc)) from None
    try:
        groups, admins = groups_and_admins(store)
        sqlite_folder = store.workspace if store.is_sqlite else None
    finally:
        store.dispose()
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o711)  # people's servers reach notebooks/ inside; nothing else here is theirs to read
    hub_dir = state_dir / "hub"
    hub_dir.mkdir(exist_ok=True)
    hub_dir.chmod(0o700)
    _copy_notebooks(state_dir / "notebooks")
    lab_settings = state_dir / "lab-settings"  # JupyterLab's defaults: no "official Jupyter news?" pop-up
    lab_settings.mkdir(exist_ok=True)
    lab_settings.chmod(0o755)
    (lab_settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}))
    (lab_settings / "overrides.json").chmod(0o644)
    if sqlite_folder is not None:
        share_sqlite_workspace(Path(sqlite_folder), SQLITE_GROUP)
    hub_port, proxy_api_port = _free_ports(2, taken=port)
    settings = HubSettings(workspace=workspace, state_dir=str(state_dir), python=find_python(), proxy=find_proxy(),
                           notebooks=str(state_dir / "notebooks"), ip=ip, port=port, hub_port=hub_port,
                           proxy_api_port=proxy_api_port, idle_timeout=idle_timeout, person_url=person_url,
                           sqlite_group=SQLITE_GROUP if sqlite_folder is not None else None, admins=admins,
                           groups=groups, settle=settle, extra_config=extra_config)
    save_settings(settings, hub_dir / "settings.json")
    return settings


def start_lines(settings: HubSettings, safe_workspace: str) -> list[str]:
    """What `evalkit hub` prints when it starts: the address, and on SQLite plainly who can read the file."""
    host = "127.0.0.1" if settings.ip in ("127.0.0.1", "") else settings.ip
    lines = [f"evalkit: hub for {safe_workspace} at http://{host}:{settings.port}/ (sign in, or sign up and wait "
             "for an admin's approval at /hub/authorize)"]
    if settings.is_sqlite:
        lines.append("evalkit: SQLite workspace: EVERY signed-in person's kernel can read the whole workspace file "
                     "(all candidates and scores), whatever their role; use PostgreSQL to keep people apart")
    if not settings.admins:
        lines.append("evalkit: nobody holds the admin role, so nobody can approve sign-ups: "
                     "`evalkit roles grant NAME admin`, then `evalkit hub --account NAME`")
    lines.append("evalkit: press Ctrl-C to stop (people's servers stop too)")
    return lines


def start(settings: HubSettings, log=None) -> subprocess.Popen:
    """Start JupyterHub (in a session of its own) with the saved settings; ``log``: a file for its output."""
    env = dict(os.environ, EVALKIT_HUB_SETTINGS=str(settings.hub_dir / "settings.json"), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG_FILE)]
    return subprocess.Popen(command, cwd=settings.hub_dir, env=env, stdout=log, stderr=subprocess.STDOUT if log
                            else None, start_new_session=True)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (people's servers run in sessions of their own, so a process group does not
    reach them; their parent is still the hub)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:1]
    except OSError:
        return False


def stop(proc: subprocess.Popen, settings: HubSettings | None = None, timeout: float = 20) -> None:
    """SIGTERM the hub (it stops people's servers, the proxy and the services), then SIGKILL whatever of what it
    started is still there after ``timeout`` seconds. With ``settings``, also the proxy of a hub that died without
    stopping it (named by the pid file the hub leaves in its folder)."""
    started = descendants(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if settings is not None:
        pid_file = settings.hub_dir / "jupyterhub-proxy.pid"
        try:
            pid = int(pid_file.read_text().strip())
            if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes():
                started.append(pid)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 5
    left = [pid for pid in started if _alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in left if _alive(pid)]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
