"""Schema migrations: which revision a database is at, and bringing an older one up to the code's.

The schema's history is a chain of Alembic revisions in ``evalkit/store/migrations/versions`` (``0001``, ``0002``,
...); every database, new or old, gets its schema from them. A database records its revision in Alembic's
``alembic_version`` table and, for evalkit releases from before the migrations, the same number as
``schema_version`` in the ``meta`` table (an older evalkit refuses a database whose number is newer than its own).

Opening a database (:func:`evalkit.store.open_store`) only compares ``alembic_version`` with
:data:`HEAD_REVISION` in plain SQL and does not import Alembic; it refuses a database at any other revision. Only
:func:`upgrade` (``evalkit db upgrade``) changes the schema of an existing database, after a backup.

Alembic is configured in code, with no ``alembic.ini``. To add a revision, call :func:`new_revision` (it numbers
it), write its upgrade and downgrade, set :data:`HEAD_REVISION` to it and change ``schema.py`` to match.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import sqlalchemy as sa

from .engine import StoreError, make_engine, resolve_target, safe_url, target_of

__all__ = ["HEAD_REVISION", "SCHEMA_VERSION", "MIGRATIONS", "SCHEMA1", "SchemaState", "UpgradeResult", "read_state",
           "refusal", "schema_state", "current_revision", "upgrade", "run_migrations", "stamp", "alembic_config",
           "script_directory", "new_revision"]

#: The revision this code reads and writes. ``tests/test_migrations.py`` checks it is the newest in ``versions/``.
HEAD_REVISION = "0009"

#: The ``meta`` schema_version that goes with :data:`HEAD_REVISION` (a revision NNNN writes the number NNNN).
SCHEMA_VERSION = int(HEAD_REVISION)

#: Alembic's script folder: ``env.py``, ``script.py.mako`` and ``versions/``.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: The first revision: the schema of evalkit 0.1, whose databases have no ``alembic_version`` table.
FIRST_REVISION = "0001"

#: How :attr:`SchemaState.label` and a backup's name call a database made by evalkit 0.1.
SCHEMA1 = "schema1"


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this code.

    Attributes
    ----------
    revision : str or None
        The row of ``alembic_version``; None for a database from before the migrations (evalkit 0.1).
    schema_version : int
        The ``meta`` table's ``schema_version`` (0 when missing).
    status : str
        ``"head"`` (this code's revision: usable), ``"behind"`` (an older revision: ``evalkit db upgrade``),
        ``"schema1"`` (made by evalkit 0.1: ``evalkit db upgrade``), ``"newer"`` (made by a newer evalkit, or at a
        revision this code does not know: upgrade evalkit) or ``"unknown"`` (no revision and no schema version
        this code can upgrade).
    """

    revision: str | None
    schema_version: int
    status: str

    @property
    def label(self) -> str:
        """The revision, or ``"schema1"`` for a database made by evalkit 0.1 (as in a backup's name)."""
        return self.revision if self.revision is not None else f"schema{self.schema_version}"


@dataclass(frozen=True)
class UpgradeResult:
    """What :func:`upgrade` did.

    Attributes
    ----------
    target : str
        The workspace folder or the database URL (password hidden).
    old, new : str
        The revision before and after (``"schema1"`` for a database made by evalkit 0.1); equal when it was at head
        already and nothing was done.
    backup_path : Path or None
        The SQLite copy made before the upgrade; None when nothing was done, and always on PostgreSQL, where the
        administrator's ``pg_dump`` is the backup.
    """

    target: str
    old: str
    new: str
    backup_path: Path | None

    @property
    def changed(self) -> bool:
        """Whether the schema was upgraded (False: it was at head already)."""
        return self.old != self.new


# --- reading the revision: plain SQL, no Alembic -------------------------------------------------------------


def read_state(conn: sa.Connection) -> SchemaState | None:
    """The schema state of the database on ``conn``, or None when it has no ``meta`` table (not evalkit's).

    Plain SQL over the given connection: Alembic is imported only when the revision is neither
    :data:`HEAD_REVISION` nor clearly newer, to tell an older revision from an unknown one.
    """
    inspector = sa.inspect(conn)
    if not inspector.has_table("meta"):
        return None
    found = conn.execute(sa.text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    try:
        schema_version = int(found or 0)
    except ValueError:
        schema_version = 0
    revisions = []
    if inspector.has_table("alembic_version"):
        revisions = list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    if len(revisions) > 1:  # several heads: a branch this code never makes
        return SchemaState(",".join(sorted(revisions)), schema_version, "newer")
    revision = revisions[0] if revisions else None
    if schema_version > SCHEMA_VERSION:
        status = "newer"
    elif revision == HEAD_REVISION:
        status = "head"
    elif revision is None:
        status = SCHEMA1 if schema_version == 1 else "unknown"
    else:
        status = "behind" if _is_known(revision) else "newer"
    return SchemaState(revision, schema_version, status)


def _is_known(revision: str) -> bool:
    """Whether ``revision`` is one of this code's, exactly (Alembic would also accept a unique prefix)."""
    return revision in {script.revision for script in script_directory().walk_revisions()}


def _instruction(url: str) -> str:
    if sa.engine.make_url(url).get_backend_name() == "sqlite":
        return f"run `evalkit db upgrade -w {target_of(url)}` (it keeps a backup of the database beside it)"
    return f"back it up (pg_dump) and run `evalkit db upgrade -w {target_of(url)}`"


def refusal(state: SchemaState, url: str) -> str | None:
    """The one-line reason this code cannot use the database at ``url``, or None when it is at head.

    Parameters
    ----------
    state : SchemaState
        As :func:`read_state` found it.
    url : str
        The database's URL: the message names its workspace folder, or the URL with the password hidden.
    """
    where = target_of(url)
    if state.status == "head":
        return None
    if state.status == "newer":
        what = (f"version {state.schema_version}" if state.schema_version > SCHEMA_VERSION
                else f"revision {state.revision}")
        return (f"{where}: database schema {what} is newer than this evalkit (which knows up to revision "
                f"{HEAD_REVISION}, schema version {SCHEMA_VERSION}): upgrade evalkit")
    if state.status == SCHEMA1:
        return (f"{where} was made by an earlier evalkit (schema version 1, before migrations): "
                f"{_instruction(url)}")
    if state.status == "behind":
        return f"{where} is at schema revision {state.revision}, behind this evalkit's {HEAD_REVISION}: " \
               f"{_instruction(url)}"
    if state.schema_version < 1:
        return (f"{where}: database schema version {state.schema_version} is too old to upgrade: export it with "
                "the evalkit that wrote it")
    return (f"{where}: database schema version {state.schema_version} has no record of its revision (the "
            "alembic_version table is missing): it was changed by hand; restore it from a backup")


# --- Alembic -------------------------------------------------------------------------------------------------


def alembic_config(url: str | None = None, connection: sa.Connection | None = None):
    """Alembic's configuration, built in code (there is no ``alembic.ini``).

    Parameters
    ----------
    url : str, optional
        A database URL for Alembic commands run by hand (``env.py`` opens it as evalkit does).
    connection : sqlalchemy.Connection, optional
        An open connection, inside the transaction the migrations should run in.

    Returns
    -------
    alembic.config.Config
    """
    from alembic.config import Config
    # quiet: Alembic's own messages ("Generating ...") would go to standard output; x: no -x arguments.
    config = Config(cmd_opts=SimpleNamespace(quiet=True, x=None))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.lru_cache(maxsize=None)
def _script_directory(location: str):
    from alembic.script import ScriptDirectory
    config = alembic_config()
    config.set_main_option("script_location", location)
    return ScriptDirectory.from_config(config)


def script_directory():
    """Alembic's script directory of :data:`MIGRATIONS`, read once per process.

    Returns
    -------
    alembic.script.ScriptDirectory
    """
    return _script_directory(str(MIGRATIONS))


def _run(connection: sa.Connection, revision: str, stamp_only: bool) -> None:
    from alembic.runtime.environment import EnvironmentContext
    script = script_directory()

    def steps(current, _context):
        if stamp_only:
            return script._stamp_revs(revision, current)
        return script._upgrade_revs(revision, current)

    # What alembic.command.upgrade/stamp do, with the script directory read once per process instead of per call.
    with EnvironmentContext(alembic_config(connection=connection), script, fn=steps, destination_rev=revision):
        script.run_env()


def run_migrations(connection: sa.Connection, revision: str = "head") -> None:
    """Run the migrations on ``connection`` up to ``revision``, inside the caller's transaction.

    Parameters
    ----------
    connection : sqlalchemy.Connection
        Open, and already in the transaction to run in (``engine.begin()``): nothing is committed here.
    revision : str
        The revision to stop at (default: the newest).
    """
    _run(connection, revision, stamp_only=False)


def stamp(connection: sa.Connection, revision: str) -> None:
    """Record ``revision`` in ``alembic_version`` without running anything (the schema already is that revision)."""
    _run(connection, revision, stamp_only=True)


def new_revision(message: str) -> Path:
    """Write the next revision's file (``versions/NNNN_<message>.py``) for a developer to fill in.

    Parameters
    ----------
    message : str
        What the revision changes, a few words.

    Returns
    -------
    Path
        The new file. Then set :data:`HEAD_REVISION` to its number and change ``schema.py`` to match.
    """
    from alembic import command
    number = max(int(s.revision) for s in script_directory().walk_revisions()) + 1
    command.revision(alembic_config(), message, rev_id=f"{number:04d}")
    _script_directory.cache_clear()
    return next((MIGRATIONS / "versions").glob(f"{number:04d}_*.py"))


# --- the administrator's commands ----------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(target, doing: str) -> Iterator[tuple[str, sa.Engine, bool]]:
    """The database at ``target`` without the schema check that refuses it: its URL, engine, and whether SQLite.

    A database error (unreachable, not a database file, a failed migration) becomes one-line StoreError.
    """
    url, _ = resolve_target(target)
    engine, is_sqlite, _ = make_engine(url)
    try:
        yield url, engine, is_sqlite
    except sa.exc.DatabaseError as exc:
        raise StoreError(f"cannot {doing} {safe_url(url)}: {str(exc.orig).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _not_evalkits(url: str) -> StoreError:
    return StoreError(f"{safe_url(url)} is not an evalkit database (no meta table): run `evalkit init`")


def schema_state(target) -> SchemaState:
    """Where the database at ``target`` stands against this code, read without changing anything.

    Parameters
    ----------
    target : str or Path
        A workspace folder (its ``evalkit.db``) or a database URL (anything with ``://``).

    Raises
    ------
    StoreError
        No database there, or not an evalkit database.
    """
    with _opened(target, "open database") as (url, engine, _):
        with engine.execution_options(evalkit_read_only=True).connect() as conn:
            state = read_state(conn)
    if state is None:
        raise _not_evalkits(url)
    return state


def current_revision(target) -> str | None:
    """The revision of the database at ``target``; None for a database made by evalkit 0.1 (before migrations).

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.store import open_store
    >>> folder = tempfile.mkdtemp() + "/ws"
    >>> open_store(folder, create=True).dispose()
    >>> current_revision(folder) == HEAD_REVISION
    True
    """
    return schema_state(target).revision


def _backup(url: str, label: str) -> Path:
    """Copy the SQLite database beside itself as ``evalkit.db.bak-<label>``, readable by its owner only.

    Called while the caller's connection holds the write lock (``BEGIN IMMEDIATE``) and has written nothing: the
    copy, made with SQLite's online backup API over a read-only connection of its own, is the last committed state
    including what the WAL holds, and no other writer can change it meanwhile. (A connection cannot be the source
    of a backup while it holds the write lock itself.) An existing backup is never overwritten: the name then gets
    a UTC timestamp.
    """
    db_path = Path(sa.engine.make_url(url).database)
    base = db_path.with_name(f"{db_path.name}.bak-{label}")
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    names = [base] + [base.with_name(f"{base.name}-{when}" + (f"-{n}" if n > 1 else "")) for n in range(1, 100)]
    try:
        for path in names:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, stat.S_IRUSR | stat.S_IWUSR)
            except FileExistsError:
                continue
            os.close(fd)
            break
        else:
            raise StoreError(f"cannot back up {db_path}: {base.name} and 99 timestamped names beside it exist")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    except OSError as exc:
        raise StoreError(f"cannot back up {db_path} beside it: {exc.strerror}") from None
    try:
        source = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        copy = sqlite3.connect(path)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, not WAL with files beside it
        finally:
            copy.close()
            source.close()
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot back up {db_path} to {path.name}: {exc}") from None
        raise
    return path


def upgrade(target) -> UpgradeResult:
    """Bring the database at ``target`` up to :data:`HEAD_REVISION` (``evalkit db upgrade``).

    On SQLite it first copies the database beside itself as ``evalkit.db.bak-<old revision>`` (``-schema1`` for a
    database made by evalkit 0.1), then upgrades, all while holding the database's write lock, so that a second
    ``evalkit db upgrade`` waits and then finds nothing to do. On PostgreSQL it locks the ``meta`` table and runs in
    one transaction (a failure leaves the database as it was); it makes no copy: the administrator's ``pg_dump``
    is the backup. A database made by evalkit 0.1 already has the schema of revision 0001: it is stamped with it,
    then upgraded from there.

    Parameters
    ----------
    target : str or Path
        A workspace folder (its ``evalkit.db``) or a database URL (anything with ``://``).

    Returns
    -------
    UpgradeResult
        The revision before and after, and the backup's path; ``changed`` is False (and no backup is made) when
        the database was at head already.

    Raises
    ------
    StoreError
        No database there, not an evalkit database, or one newer than this evalkit.
    """
    with _opened(target, "upgrade") as (url, engine, is_sqlite):
        # SQLite: engine.begin() issues BEGIN IMMEDIATE (the write lock), see evalkit.store.engine.
        with engine.begin() as conn:
            if not is_sqlite:
                if not sa.inspect(conn).has_table("meta"):
                    raise _not_evalkits(url)
                conn.exec_driver_sql("LOCK TABLE meta IN ACCESS EXCLUSIVE MODE")
            state = read_state(conn)
            if state is None:
                raise _not_evalkits(url)
            if state.status == "head":
                return UpgradeResult(target_of(url), HEAD_REVISION, HEAD_REVISION, None)
            if state.status not in ("behind", SCHEMA1):
                raise StoreError(refusal(state, url))
            on_disk = is_sqlite and sa.engine.make_url(url).database not in (None, "", ":memory:")
            backup = _backup(url, state.label) if on_disk else None
            if state.revision is None:
                stamp(conn, FIRST_REVISION)
            run_migrations(conn, "head")
            new = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return UpgradeResult(target_of(url), state.label, new, backup)
