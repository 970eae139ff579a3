"""`evalkit serve`: the scoring, adjudication and call-certification pages served to their users.

By default Voila serves ``notebooks/score_submissions.ipynb`` and ``notebooks/adjudicate.ipynb`` as an app: the
rendered widgets only, with no code, menus or kernel dialogs, one fresh kernel per browser tab. ``--lab`` opens
JupyterLab on the notebooks folder instead (for admins). The server listens on localhost only, with a random token
in the printed URL, and the workspace is handed to every kernel through ``$EVALKIT_WORKSPACE``.

Several evaluators scoring at once each have their own kernel; they share the workspace's database, which queues
writers (SQLite WAL, ``BEGIN IMMEDIATE``, a 30 s busy timeout), so no one is locked out and no save is lost.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import CommandError, add_workspace_arg, default_workspace

__all__ = ["NOTEBOOKS_DIR", "SERVED_NOTEBOOKS", "DEFAULT_PORT", "VOILA_CONFIG_DIR", "issue_xsrf_cookie",
           "server_command", "page_urls", "serve", "register"]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: The pages served, in the order they are listed: the evaluators' and the call certifiers'.
SERVED_NOTEBOOKS = ("score_submissions.ipynb", "adjudicate.ipynb", "call_certification.ipynb")

DEFAULT_PORT = 8866

#: The folder of Voila's configuration file (``voila.py``): the tab-close kernel shutdown and idle culling.
VOILA_CONFIG_DIR = Path(__file__).resolve().parent / "voila_config"


def issue_xsrf_cookie(handler, notebook, cwd) -> None:
    """Voila's pre-launch hook: reading ``xsrf_token`` makes tornado set the ``_xsrf`` cookie on the page, which
    the page sends back when its tab closes so that the server accepts the request to stop its kernel."""
    handler.xsrf_token  # noqa: B018 - read for its side effect


def server_command(root: Path, port: int, token: str, lab: bool = False) -> list[str]:
    """The command line of the Voila (or JupyterLab) server on ``127.0.0.1:port`` serving the folder ``root``.

    ``port_retries=0``: a busy port is an error, never a silent move to another port the printed URL does not name.
    """
    if lab:
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                   f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:
            command.append("--allow-root")  # JupyterLab refuses root without it (containers often run as root)
        return command
    return [sys.executable, "-m", "voila", str(root), "--no-browser", "--Voila.ip=127.0.0.1", f"--Voila.port={port}",
            "--Voila.port_retries=0", f"--Voila.token={token}", "--VoilaConfiguration.show_tracebacks=False",
            f"--Voila.config_file_paths={VOILA_CONFIG_DIR}"]


def page_urls(port: int, token: str, lab: bool = False) -> dict[str, str]:
    """The address of each served page, token included."""
    base = f"http://127.0.0.1:{port}"
    if lab:
        return {nb: f"{base}/lab/tree/{nb}?token={token}" for nb in SERVED_NOTEBOOKS}
    return {nb: f"{base}/voila/render/{nb}?token={token}" for nb in SERVED_NOTEBOOKS}


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise CommandError(f"--port {port} is not a TCP port (expected 1-65535)")
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise CommandError(f"port {port} on 127.0.0.1 is in use; choose another with --port") from None


def _workspace_target(workspace: str) -> str:
    """Check the workspace opens, and name it so that a kernel started in another folder finds it."""
    from ..store import open_store

    open_store(workspace).dispose()
    return workspace if "://" in workspace else str(Path(workspace).resolve())


def serve(workspace: str, port: int = DEFAULT_PORT, lab: bool = False, token: str | None = None) -> int:
    """Run the server in the foreground until Ctrl-C (or SIGTERM); returns its exit status.

    Voila serves a private copy of the served notebooks, so that its file list shows only them and nothing it
    does can change the repository's notebooks.
    """
    missing = [nb for nb in SERVED_NOTEBOOKS if not (NOTEBOOKS_DIR / nb).is_file()]
    if missing:
        raise CommandError(f"{NOTEBOOKS_DIR}: {', '.join(missing)} not found; run evalkit from its repository")
    target = _workspace_target(workspace)
    _check_port(port)
    token = token or secrets.token_urlsafe(24)
    copy = None
    if lab:
        root = NOTEBOOKS_DIR
    else:
        root = copy = Path(tempfile.mkdtemp(prefix="evalkit-serve-"))
        for nb in SERVED_NOTEBOOKS:
            shutil.copy(NOTEBOOKS_DIR / nb, root / nb)
    env = dict(os.environ, EVALKIT_WORKSPACE=target)
    kind = "JupyterLab" if lab else "Voila"
    print(f"evalkit: serving workspace {target} with {kind}; open:")
    for nb, url in page_urls(port, token, lab).items():
        print(f"  {nb:<24} {url}")
    print("evalkit: press Ctrl-C to stop", flush=True)
    proc = subprocess.Popen(server_command(root, port, token, lab), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        _stop(proc)
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM (the server then shuts its kernels down), SIGKILL if it has not exited 10 s later."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _sigterm_as_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def cmd_serve(args) -> None:
    import signal

    # A service manager (or a test) stops us with SIGTERM: stop the server and its kernels too, not orphan them.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    code = serve(args.workspace or default_workspace(), args.port, args.lab, args.token)
    if code not in (0, 130, -15):
        raise CommandError(f"the {'JupyterLab' if args.lab else 'Voila'} server stopped with exit status {code}")


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the scoring, adjudication and call-certification pages (Voila; --lab: "
                                     "JupyterLab) on localhost")
    add_workspace_arg(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT})")
    p.add_argument("--lab", action="store_true", help="open JupyterLab on the notebooks folder instead of Voila")
    p.add_argument("--token", default=None, help="the access token in the URL (default: a new random one)")
    p.set_defaults(func=cmd_serve)
