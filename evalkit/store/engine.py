"""Reaching a database: what a workspace folder or URL means, the SQLite file and its settings, the error.

Below both the :class:`~evalkit.store.database.Store` (which checks the schema and keeps the audit log) and
:mod:`evalkit.store.migrate` (which reads and upgrades a schema the Store refuses), so the two open a database
the same way: a workspace folder means its ``evalkit.db`` (SQLite, WAL, foreign keys on, created readable by its
owner only); a string with ``://`` is a SQLAlchemy URL (``postgresql+psycopg://...``).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["DB_FILENAME", "StoreError", "StoreConflict", "find_workspace", "workspace_url", "resolve_target",
           "make_engine", "safe_url", "target_of"]

DB_FILENAME = "evalkit.db"


class StoreError(RuntimeError):
    """The database cannot be used as asked (missing, wrong schema version, unreachable)."""


class StoreConflict(StoreError):
    """A change refused because another process saved a record with the same key first; nothing was saved."""


def workspace_url(workspace) -> str:
    """The SQLite URL of a workspace folder's database."""
    return f"sqlite:///{Path(workspace).resolve() / DB_FILENAME}"


def _private_dir(path: Path) -> None:
    """Create the folder readable by its owner only; an existing one (``/tmp``, a home folder) is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True)
        os.chmod(path, stat.S_IRWXU)


def _private_file(path: Path) -> None:
    """Create the file readable by its owner only before SQLite opens it (SQLite would use the umask)."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def find_workspace(workspace=None, start: Path | None = None) -> str:
    """The workspace a notebook or view opens: the argument, else ``$EVALKIT_WORKSPACE``, else a ``workspace/``
    folder in the current folder or its parent (the repository root when a notebook runs in ``notebooks/``).

    Raises :class:`StoreError` saying what to do when none is found.
    """
    chosen = workspace or os.environ.get("EVALKIT_WORKSPACE")
    if chosen:
        return str(chosen)
    start = Path(start or Path.cwd())
    for folder in (start, start.parent):
        if (folder / "workspace" / DB_FILENAME).exists():
            return str(folder / "workspace")
    raise StoreError(f"no workspace found: set EVALKIT_WORKSPACE, or create one with "
                     f"`evalkit init workspace --demo` in {start.parent}")


def resolve_target(target, create: bool = False) -> tuple[str, Path | None]:
    """The URL of a workspace folder or database URL, and the workspace folder (None for a URL).

    With ``create`` a missing workspace folder is made (owner-only); without it, a folder with no ``evalkit.db``
    is an error.
    """
    target = str(target)
    if "://" in target:
        return target, None
    workspace = Path(target)
    if not create and not (workspace / DB_FILENAME).exists():
        raise StoreError(f"{workspace} is not an evalkit workspace (no {DB_FILENAME}): run `evalkit init {workspace}`")
    if create:
        if workspace.exists() and not workspace.is_dir():
            raise StoreError(f"{workspace} is a file; expected a folder for the workspace")
        try:
            _private_dir(workspace)
        except OSError as exc:
            raise StoreError(f"cannot create the workspace folder {workspace}: {exc.strerror}") from None
        if not (workspace / DB_FILENAME).exists():
            _private_workspace(workspace)
    return workspace_url(workspace), workspace.resolve()


def _private_workspace(folder: Path) -> None:
    """A new workspace's folder must be private: an existing empty folder of ours that others may read or write is
    made owner-only; one with other content, or someone else's, is refused (its permissions are not ours to
    change, and the evaluations must not sit where others can read or replace them)."""
    info = folder.stat()
    if not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return
    if info.st_uid == os.getuid() and not any(folder.iterdir()):
        os.chmod(folder, stat.S_IRWXU)
        return
    raise StoreError(f"{folder} can be read or written by other users (mode {stat.S_IMODE(info.st_mode):o}); a "
                     f"workspace holds confidential evaluations: use a new folder, or `chmod 700 {folder}` first")


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def target_of(url: str) -> str:
    """What ``-w`` takes to reach the database at ``url``: its workspace folder, or the URL (password hidden)."""
    url_obj = sa.engine.make_url(url)
    if url_obj.get_backend_name() == "sqlite" and url_obj.database and Path(url_obj.database).name == DB_FILENAME:
        return str(Path(url_obj.database).parent)
    return safe_url(url)


def make_engine(url: str, create: bool = False) -> tuple[sa.Engine, bool, Path | None]:
    """An engine for ``url`` with evalkit's settings.

    Returns
    -------
    tuple
        The engine, whether it is SQLite, and the folder of the SQLite file (None otherwise). A SQLite connection
        turns on WAL and foreign keys, and its transactions start with ``BEGIN IMMEDIATE`` (the write lock) unless
        the connection has the ``evalkit_read_only`` execution option.

    Raises
    ------
    StoreError
        The URL cannot be parsed, names an unknown kind of database or one whose driver is missing, or names a
        SQLite file that does not exist (unless ``create``: then it is made, readable by its owner only).
    """
    try:
        url_obj = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError("the database URL cannot be parsed; expected a workspace folder or a URL such as "
                         "postgresql+psycopg://user@host/database") from None
    is_sqlite = url_obj.get_backend_name() == "sqlite"
    folder = None
    if is_sqlite and url_obj.database not in (None, "", ":memory:"):
        db_path = Path(url_obj.database)
        if not db_path.exists():  # an existing file's (and folder's) permissions are not ours to change
            if not create:
                raise StoreError(f"no database at {db_path}: run `evalkit init DIR` first")
            _private_dir(db_path.parent)
            _private_file(db_path)
        folder = db_path.parent
    kwargs: dict[str, Any] = {"future": True}
    if is_sqlite:
        # Several SMEs' kernels write to one file: wait for a lock rather than fail at once.
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(url, **kwargs)
    except sa.exc.NoSuchModuleError:
        raise StoreError(f"cannot open database {safe_url(url)}: unknown kind of database "
                         f"{url_obj.drivername!r}; expected sqlite:///PATH or postgresql+psycopg://...") from None
    except ImportError as exc:
        raise StoreError(f"cannot open database {safe_url(url)}: its driver is not installed ({exc})") from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine, is_sqlite, folder


def _sqlite_begin(conn) -> None:
    # BEGIN IMMEDIATE takes the write lock at the start, so two writers queue instead of one failing when it
    # upgrades a read lock; readers (WAL) never wait.
    read_only = conn.get_execution_options().get("evalkit_read_only")
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" event issue BEGIN IMMEDIATE
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
