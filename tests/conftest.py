"""Shared fixtures: throw-away workspaces, the demo workspace, and a throw-away PostgreSQL server."""
from __future__ import annotations

import datetime as dt
import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from evalkit.demo import build_demo, init_workspace
from evalkit.evaluation import workflow
from evalkit.store import open_store


@pytest.fixture(autouse=True)
def _logging_left_as_found():
    """Logging as it was before each test. JupyterHub's database set-up, run in-process by the hub's tests, gives
    the root logger a StreamHandler on that test's captured stderr and disables other loggers; a later test that
    logs (Alembic's migrations do) would write "--- Logging error ---" into its own stderr."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    enabled = [logger for logger in logging.Logger.manager.loggerDict.values()
               if isinstance(logger, logging.Logger) and not logger.disabled]
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for logger in enabled:
        logger.disabled = False

ROOT = Path(__file__).resolve().parent.parent



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workspace(tmp_path) -> Path:
    """An empty workspace with the programs and rubrics registered."""
    path = tmp_path / "ws"
    init_workspace(path).dispose()
    return path


@pytest.fixture
def store(workspace):
    s = open_store(workspace)
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> Path:
    """The demo workspace, built once per test session. Treat it as read-only (copy it to change it)."""
    path = tmp_path_factory.mktemp("demo") / "ws"
    build_demo(path, seed=2026, today=dt.date.today())
    return path


@pytest.fixture
def demo_copy(demo_workspace, tmp_path) -> Path:
    """A private copy of the demo workspace that a test may change."""
    target = tmp_path / "demo"
    shutil.copytree(demo_workspace, target)
    return target


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server on a free localhost port for this test session, stopped afterwards.

    ``EVALKIT_PG_URL`` points at an existing server instead. Debian's server refuses to run as root, so as root
    the cluster belongs to the ``postgres`` user. ``scripts/test.sh`` installs the server package.
    """
    if os.environ.get("EVALKIT_PG_URL"):
        yield os.environ["EVALKIT_PG_URL"]
        return
    bindir = _pg_bindir()
    if bindir is None:
        message = "PostgreSQL server not installed (scripts/test.sh installs Debian's postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's root-only temp folder: the server's user must be able to reach it.
    base = Path(tempfile.mkdtemp(prefix="evalkit-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for p in (base, sock):
            os.chown(p, user.pw_uid, user.pw_gid)
        base.chmod(0o700)
        run_as = ["runuser", "-u", "postgres", "--"]
    owner = "postgres" if run_as else pwd.getpwuid(os.geteuid()).pw_name
    port = free_port()
    for step in ([str(bindir / "initdb"), "-D", str(data), "-U", owner, "-A", "trust", "-E", "UTF8", "--no-sync"],
                 [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                  f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]):
        done = subprocess.run(run_as + step, capture_output=True, text=True)
        if done.returncode:
            shutil.rmtree(base, ignore_errors=True)
            pytest.fail(f"{Path(step[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    try:
        yield f"postgresql+psycopg://{owner}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the throw-away server."""
    import sqlalchemy as sa
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store(request, tmp_path):
    """The same store API on SQLite and on PostgreSQL: workflow tests run on both."""
    if request.param == "sqlite":
        s = open_store(tmp_path / "ws", create=True)
    else:
        s = open_store(request.getfixturevalue("pg_url"), create=True)
    workflow.sync_programs(s)
    yield s
    s.dispose()
