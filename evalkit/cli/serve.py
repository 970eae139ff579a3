"""`evalkit serve`: the scoring, adjudication and call-certification pages served to their users, or with
``--candidates`` the candidates' self-assessment link page.

By default Voila serves ``notebooks/score_submissions.ipynb`` and ``notebooks/adjudicate.ipynb`` as an app: the
rendered widgets only, with no code, menus or kernel dialogs, one fresh kernel per browser tab. ``--lab`` opens
JupyterLab on the notebooks folder instead (for admins). The server listens on localhost only, with a random token
in the printed URL, and the workspace is handed to every kernel through ``$EVALKIT_WORKSPACE``.

``--candidates`` serves ``notebooks/self_assessment.ipynb`` alone, for bodies without a hub: Voila in its
one-notebook mode (no file list, no other page, no contents API) without Jupyter's token, since the candidate's
link token is the access and the page checks it before it reads or writes anything. Voila's kernels take only
the widgets' messages from a browser (comm and kernel-info messages; an execute request is dropped), so a visitor
cannot run code in them; tracebacks are not shown. It listens on ``--ip`` (default 127.0.0.1), behind the
body's HTTPS reverse proxy; the path of the workspace setting ``candidate_link_base`` (the address the proxy
serves it at) is Voila's base URL. Before a page starts a kernel, :class:`CandidateGate` (Voila's pre-launch hook
there) checks the link's token without using it up and counts the kernels running: a link that opens nothing is
refused with 403 and the page's one line, a page beyond ``--max-pages`` with 503, and no kernel is started for
either (the page checks the token again itself).

Several evaluators scoring at once each have their own kernel; they share the workspace's database, which queues
writers (SQLite WAL, ``BEGIN IMMEDIATE``, a 30 s busy timeout), so no one is locked out and no save is lost.
"""
from __future__ import annotations

import collections
import errno
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import NoReturn

from .common import CommandError, add_workspace_arg, default_workspace

__all__ = ["NOTEBOOKS_DIR", "SERVED_NOTEBOOKS", "DEFAULT_PORT", "CANDIDATE_NOTEBOOK", "CANDIDATE_PORT",
           "DEFAULT_MAX_PAGES", "MAX_PAGES_ENV", "TOO_MANY_PAGES", "NOT_AVAILABLE", "LINK_OPENS", "LINK_WINDOW",
           "LINK_OPENED_TOO_OFTEN", "VOILA_CONFIG_DIR", "issue_xsrf_cookie", "running_kernels", "refusal_page",
           "CandidateGate", "server_command", "candidate_command", "page_urls", "serve", "serve_candidates",
           "register"]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: The pages served, in the order they are listed: the evaluators' and the call certifiers'.
SERVED_NOTEBOOKS = ("score_submissions.ipynb", "adjudicate.ipynb", "call_certification.ipynb")

DEFAULT_PORT = 8866

#: The candidates' link page, served alone by ``evalkit serve --candidates`` (on its own port by default, so that
#: it runs beside the evaluators' pages).
CANDIDATE_NOTEBOOK = "self_assessment.ipynb"
CANDIDATE_PORT = 8867

#: How many pages (kernels, about 100 MB each) the candidates' server runs at once by default (``--max-pages``).
DEFAULT_MAX_PAGES = 40

#: The environment variable through which ``evalkit serve --candidates`` hands ``--max-pages`` to the Voila
#: server; where it is set, Voila's configuration (``voila_config/voila.py``) installs :class:`CandidateGate`.
MAX_PAGES_ENV = "EVALKIT_CANDIDATE_MAX_PAGES"


#: The candidates' server running ``--max-pages`` pages already.
TOO_MANY_PAGES = "too many people are completing their self-assessment right now; try again in a few minutes"

#: Page loads one link may make within :data:`LINK_WINDOW` seconds (reloads, tabs): each starts a kernel that
#: lives until its tab closes or it is culled after 15 idle minutes, so one link cannot hold the server's pages.
LINK_OPENS = 5
LINK_WINDOW = 15 * 60

#: A link opened :data:`LINK_OPENS` times within :data:`LINK_WINDOW`.
LINK_OPENED_TOO_OFTEN = ("this link was opened too many times in the last few minutes; close the other tabs or "
                         "windows showing it and try again in 15 minutes")

#: The candidates' server unable to read the workspace to check a link.
NOT_AVAILABLE = "the self-assessment page cannot open right now; try again in a few minutes"

#: The folder of Voila's configuration file (``voila.py``): the tab-close kernel shutdown, idle culling and, on
#: the candidates' server, :class:`CandidateGate`.
VOILA_CONFIG_DIR = Path(__file__).resolve().parent / "voila_config"

log = logging.getLogger(__name__)


def issue_xsrf_cookie(handler, notebook, cwd) -> None:
    """Voila's pre-launch hook: reading ``xsrf_token`` makes tornado set the ``_xsrf`` cookie on the page, which
    the page sends back when its tab closes so that the server accepts the request to stop its kernel."""
    handler.xsrf_token  # noqa: B018 - read for its side effect


def running_kernels(kernel_manager) -> int:
    """How many kernels the server runs, those still starting included (jupyter_client holds a starting kernel
    apart until it is ready; Voila's request registers it there without yielding after the pre-launch hook, so
    two page loads at once are both counted)."""
    ids = set(kernel_manager.list_kernel_ids())
    ids.update(getattr(kernel_manager, "_pending_kernels", {}))
    return len(ids)


def refusal_page(line: str, title: str | None = "Self-assessment", kind: str = "error") -> str:
    """The static page the candidates' server answers with instead of starting a kernel: ``line`` under
    ``title`` (none: the line alone), as the self-assessment notebook shows it (``kind``: error or info).

    Examples
    --------
    >>> page = refusal_page("this link is <not> valid")
    >>> '<div class="ek-title">Self-assessment</div>' in page, "this link is &lt;not&gt; valid" in page
    (True, True)
    """
    from ..templates import environment

    return environment(True).get_template("candidate_refusal.html.j2").render(line=line, title=title, kind=kind)


class CandidateGate:
    """Voila's pre-launch hook on the candidates' server: called for each page load after the notebook is read
    and before its kernel starts, it refuses, with a small static page and no kernel,

    * a link that opens nothing (no token, guessed, expired, used): HTTP 403 and the one line the page itself
      shows (:func:`~evalkit.certification.self_assessment.link_usable`: the rules of ``open_link``, and the link
      is not used up);
    * a page beyond ``max_pages`` kernels running at once: HTTP 503, :data:`TOO_MANY_PAGES`;
    * a link opened ``link_opens`` times within the last ``link_window`` seconds (reloads, tabs, a script): HTTP
      429, :data:`LINK_OPENED_TOO_OFTEN`, so that one link cannot hold the server's pages;
    * a workspace it cannot read: HTTP 503, :data:`NOT_AVAILABLE` (the error goes to the server's log).

    Otherwise it lets the page start, with the ``_xsrf`` cookie (:func:`issue_xsrf_cookie`). The workspace
    (``$EVALKIT_WORKSPACE`` unless ``store`` is given) is opened at the first page load and kept for the server's
    life. The page checks its token again before it reads or writes anything.

    Parameters
    ----------
    max_pages : int
        Kernels running at once beyond which a page is refused (at least 1).
    store : Store, optional
        The workspace's store (tests); by default opened from ``$EVALKIT_WORKSPACE``.
    link_opens, link_window : int, float
        Page loads one link may make within ``link_window`` seconds (default :data:`LINK_OPENS` in
        :data:`LINK_WINDOW`).
    clock : callable
        Seconds, monotonic (tests).
    """

    def __init__(self, max_pages: int = DEFAULT_MAX_PAGES, store=None, link_opens: int = LINK_OPENS,
                 link_window: float = LINK_WINDOW, clock=time.monotonic):
        for name, value in (("max_pages", max_pages), ("link_opens", link_opens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} {value!r}: expected a whole number of at least 1")
        self.max_pages, self.link_opens, self.link_window, self.clock = max_pages, link_opens, link_window, clock
        self._store = store
        self._opened: dict[str, collections.deque] = {}  # a usable link's hash: when its pages were let start

    @classmethod
    def from_environment(cls) -> CandidateGate:
        """The gate with the ``--max-pages`` that ``evalkit serve --candidates`` put in ``$``:data:`MAX_PAGES_ENV`."""
        return cls(int(os.environ.get(MAX_PAGES_ENV) or DEFAULT_MAX_PAGES))

    @property
    def store(self):
        """The workspace's store, opened once per server process."""
        if self._store is None:
            from ..store import open_store

            self._store = open_store(os.environ["EVALKIT_WORKSPACE"])
        return self._store

    def __call__(self, handler, notebook=None, cwd=None) -> None:
        from ..certification.self_assessment import NO_LINK, link_usable, token_hash

        # read as the page reads it (its $QUERY_STRING, the last ``token``, blank values dropped), so the two agree
        tokens = urllib.parse.parse_qs(handler.request.query).get("token")
        token = tokens[-1] if tokens else None
        if token is None:
            self._refuse(handler, 403, NO_LINK, title=None, kind="info")
        try:
            reason = link_usable(self.store, token)
        except Exception:  # noqa: BLE001 - a database that does not answer: refuse the page, log the error
            log.exception("the candidates' page could not check a link")
            self._refuse(handler, 503, NOT_AVAILABLE)
        if reason is not None:
            self._refuse(handler, 403, reason)
        opened = self._recent_opens(token_hash(token))
        if len(opened) >= self.link_opens:
            log.warning("candidates' page refused: one link opened %d times within %d s", len(opened),
                        self.link_window)
            self._refuse(handler, 429, LINK_OPENED_TOO_OFTEN)
        if running_kernels(handler.kernel_manager) >= self.max_pages:
            log.warning("candidates' page refused: %d pages running (--max-pages %d)",
                        running_kernels(handler.kernel_manager), self.max_pages)
            self._refuse(handler, 503, TOO_MANY_PAGES)
        opened.append(self.clock())
        issue_xsrf_cookie(handler, notebook, cwd)

    def _recent_opens(self, key: str) -> collections.deque:
        """When the link's pages were let start within the window (older ones, and links with none, forgotten)."""
        since = self.clock() - self.link_window
        for other in [k for k, times in self._opened.items() if k != key and (not times or times[-1] < since)]:
            del self._opened[other]
        opened = self._opened.setdefault(key, collections.deque())
        while opened and opened[0] < since:
            opened.popleft()
        return opened

    @staticmethod
    def _refuse(handler, status: int, line: str, title: str | None = "Self-assessment",
                kind: str = "error") -> NoReturn:
        """Answer ``status`` with the refusal page and end the request: tornado's ``Finish`` stops Voila's handler
        before it starts a kernel (an ``HTTPError`` would show Jupyter's error page instead of the line)."""
        from tornado.web import Finish

        handler.set_status(status)
        handler.set_header("Content-Type", "text/html; charset=UTF-8")
        handler.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        if status in (429, 503):
            handler.set_header("Retry-After", "120" if status == 503 else str(LINK_WINDOW))
        raise Finish(refusal_page(line, title, kind))


def _voila_command(served: Path, ip: str, port: int, token: str) -> list[str]:
    """Voila serving ``served`` (a folder, or one notebook alone) on ``ip:port``; ``port_retries=0``: a busy port
    is an error, never a silent move to another port the printed URL does not name."""
    return [sys.executable, "-m", "voila", str(served), "--no-browser", f"--Voila.ip={ip}", f"--Voila.port={port}",
            "--Voila.port_retries=0", f"--Voila.token={token}", "--VoilaConfiguration.show_tracebacks=False",
            f"--Voila.config_file_paths={VOILA_CONFIG_DIR}"]


def server_command(root: Path, port: int, token: str, lab: bool = False) -> list[str]:
    """The command line of the Voila (or JupyterLab) server on ``127.0.0.1:port`` serving the folder ``root``."""
    if lab:
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                   f"--ServerApp.root_dir={root}"]
        if os.geteuid() == 0:
            command.append("--allow-root")  # JupyterLab refuses root without it (containers often run as root)
        return command
    return _voila_command(root, "127.0.0.1", port, token)


def candidate_command(notebook: Path, ip: str, port: int, base_path: str = "/") -> list[str]:
    """The command line of the candidates' page: Voila serving the one ``notebook`` on ``ip:port`` at
    ``base_path``, without Jupyter's token."""
    return [*_voila_command(notebook, ip, port, ""), f"--Voila.base_url={base_path}"]


def page_urls(port: int, token: str, lab: bool = False) -> dict[str, str]:
    """The address of each served page, token included."""
    base = f"http://127.0.0.1:{port}"
    if lab:
        return {nb: f"{base}/lab/tree/{nb}?token={token}" for nb in SERVED_NOTEBOOKS}
    return {nb: f"{base}/voila/render/{nb}?token={token}" for nb in SERVED_NOTEBOOKS}


def _check_port(port: int, ip: str = "127.0.0.1") -> None:
    if not 1 <= port <= 65535:
        raise CommandError(f"--port {port} is not a TCP port (expected 1-65535)")
    try:
        family = socket.getaddrinfo(ip, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except (socket.gaierror, UnicodeError):
        raise CommandError(f"--ip {ip!r} is not an address (expected one such as 127.0.0.1 or 0.0.0.0)") from None
    with socket.socket(family) as s:
        try:
            s.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} on {ip} is in use; choose another with --port") from None
            raise CommandError(f"--ip {ip}: this machine cannot listen there ({exc.strerror})") from None


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
    copy = None if lab else _private_copy(SERVED_NOTEBOOKS)
    kind = "JupyterLab" if lab else "Voila"
    print(f"evalkit: serving workspace {target} with {kind}; open:")
    for nb, url in page_urls(port, token, lab).items():
        print(f"  {nb:<24} {url}")
    return _run(server_command(copy or NOTEBOOKS_DIR, port, token, lab), target, copy)


def serve_candidates(workspace: str, port: int = CANDIDATE_PORT, ip: str = "127.0.0.1",
                     max_pages: int = DEFAULT_MAX_PAGES) -> int:
    """Serve the candidates' link page alone on ``ip:port`` in the foreground until Ctrl-C (or SIGTERM); returns
    the server's exit status. Its base URL is the path of the workspace's ``candidate_link_base``; at most
    ``max_pages`` pages (kernels) run at once (:class:`CandidateGate`)."""
    from ..certification.self_assessment import link_base
    from ..store import open_store

    if not (NOTEBOOKS_DIR / CANDIDATE_NOTEBOOK).is_file():
        raise CommandError(f"{NOTEBOOKS_DIR}: {CANDIDATE_NOTEBOOK} not found; run evalkit from its repository")
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or not 1 <= max_pages <= 10000:
        raise CommandError(f"--max-pages {max_pages}: expected a whole number of pages from 1 to 10000")
    target = _workspace_target(workspace)
    store = open_store(workspace)
    try:
        base = link_base(store)
    finally:
        store.dispose()
    _check_port(port, ip)
    path = (urllib.parse.urlsplit(base).path if base else "").rstrip("/") + "/"
    copy = _private_copy([CANDIDATE_NOTEBOOK])
    host = f"[{ip}]" if ":" in ip else ip
    print(f"evalkit: serving the candidates' self-assessment page of workspace {target} with Voila at "
          f"http://{host}:{port}{path} (no Jupyter token: each candidate's link is their access; at most "
          f"{max_pages} pages at once)")
    print(f"evalkit: links start {base}/?token= (evalkit candidates self-assessment-link ID PROGRAM)" if base else
          "evalkit: no address for the links yet: evalkit candidates link-base URL (where the HTTPS proxy serves "
          "this page)")
    return _run(candidate_command(copy / CANDIDATE_NOTEBOOK, ip, port, path), target, copy, max_pages)


def _private_copy(notebooks) -> Path:
    """A new temporary folder holding copies of ``notebooks`` only: what Voila can see, and all it can change."""
    copy = Path(tempfile.mkdtemp(prefix="evalkit-serve-"))
    for nb in notebooks:
        shutil.copy(NOTEBOOKS_DIR / nb, copy / nb)
    return copy


def _run(command: list[str], workspace: str, copy: Path | None, max_pages: int | None = None) -> int:
    """Run the server with ``$EVALKIT_WORKSPACE`` until it stops or Ctrl-C; then stop it and remove ``copy``.
    ``max_pages`` (the candidates' server only) goes to it as ``$EVALKIT_CANDIDATE_MAX_PAGES``, which installs
    :class:`CandidateGate`; the other servers never have that variable, whatever the caller's environment holds."""
    print("evalkit: press Ctrl-C to stop", flush=True)
    env = dict(os.environ, EVALKIT_WORKSPACE=workspace)
    env.pop(MAX_PAGES_ENV, None)
    if max_pages is not None:
        env[MAX_PAGES_ENV] = str(max_pages)
    proc = subprocess.Popen(command, env=env)
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

    if args.candidates and args.token is not None:
        raise CommandError("--token: the candidates' page has no Jupyter token (each candidate's link is their "
                           "access)")
    if args.ip is not None and not args.candidates:
        raise CommandError("--ip is for --candidates; the evaluators' pages listen on 127.0.0.1 only")
    if args.max_pages is not None and not args.candidates:
        raise CommandError("--max-pages is for --candidates; the evaluators' pages are not capped")
    # A service manager (or a test) stops us with SIGTERM: stop the server and its kernels too, not orphan them.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    workspace = args.workspace or default_workspace()
    if args.candidates:
        port = CANDIDATE_PORT if args.port is None else args.port
        code = serve_candidates(workspace, port, args.ip or "127.0.0.1",
                                DEFAULT_MAX_PAGES if args.max_pages is None else args.max_pages)
    else:
        code = serve(workspace, DEFAULT_PORT if args.port is None else args.port, args.lab, args.token)
    if code not in (0, 130, -15):
        raise CommandError(f"the {'JupyterLab' if args.lab else 'Voila'} server stopped with exit status {code}")


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the scoring, adjudication and call-certification pages (Voila; --lab: "
                                     "JupyterLab) on localhost, or --candidates: the candidates' link page")
    add_workspace_arg(p)
    p.add_argument("--port", type=int, default=None,
                   help=f"TCP port (default {DEFAULT_PORT}; with --candidates {CANDIDATE_PORT})")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--lab", action="store_true", help="open JupyterLab on the notebooks folder instead of Voila")
    which.add_argument("--candidates", action="store_true",
                       help="serve only the candidates' self-assessment page, opened by their single-use links "
                            "(no Jupyter token), for bodies without a hub")
    p.add_argument("--token", default=None, help="the access token in the URL (default: a new random one)")
    p.add_argument("--ip", default=None,
                   help="with --candidates: the address to listen on (default 127.0.0.1; the HTTPS reverse proxy "
                        "in front of it forwards to it)")
    p.add_argument("--max-pages", type=int, default=None, metavar="N",
                   help=f"with --candidates: at most N pages open at once, each a kernel of about 100 MB (default "
                        f"{DEFAULT_MAX_PAGES}); beyond it a page load is refused with 503 and no kernel")
    p.set_defaults(func=cmd_serve)
