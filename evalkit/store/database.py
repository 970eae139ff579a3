"""The database: connection, transactions and the audit log.

SQLAlchemy Core. A workspace folder holds ``evalkit.db`` (SQLite, WAL, foreign keys on) and ``settings.yaml``;
any other SQLAlchemy URL (``postgresql+psycopg://...``) works the same. Every write goes through
:meth:`Store.transaction`, and every change is appended to the ``audit`` table (who, when, before, after) in the
same transaction, so the log and the data cannot disagree. Evaluation data is confidential: the workspace and
the database file are created readable by their owner only, and nothing here logs candidate data.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy import event

from .schema import audit, meta, metadata

__all__ = ["SCHEMA_VERSION", "StoreError", "Store", "open_store", "metadata", "utcnow"]

#: Bump when the schema changes and add an upgrade step to ``_UPGRADES``.
SCHEMA_VERSION = 1

DB_FILENAME = "evalkit.db"


class StoreError(RuntimeError):
    """The database cannot be used as asked (missing, wrong schema version, unreachable)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _dump(row: dict | None) -> str | None:
    if row is None:
        return None
    return json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True, ensure_ascii=False)


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


# Each step upgrades a database from version N to N + 1.
_UPGRADES: dict[int, Any] = {}


class Store:
    """A connection to an evalkit database.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL. ``sqlite:///path/evalkit.db`` or ``postgresql+psycopg://user@host:port/db``.
    create : bool
        Create the schema when the database is empty. When False, an empty database is an error.
    """

    def __init__(self, url: str, create: bool = False):
        self.url = url
        self.workspace: Path | None = None
        self.cache: dict = {}  # definitions read from the database that do not change while it is open
        try:
            url_obj = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise StoreError("the database URL cannot be parsed; expected a workspace folder or a URL such as "
                             "postgresql+psycopg://user@host/database") from None
        self.is_sqlite = url_obj.get_backend_name() == "sqlite"
        if self.is_sqlite and url_obj.database not in (None, "", ":memory:"):
            db_path = Path(url_obj.database)
            if not db_path.exists():  # an existing file's (and folder's) permissions are not ours to change
                if not create:
                    raise StoreError(f"no database at {db_path}: run `evalkit init DIR` first")
                _private_dir(db_path.parent)
                _private_file(db_path)
            self.workspace = db_path.parent
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            # Several SMEs' kernels write to one file: wait for a lock rather than fail at once.
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = sa.create_engine(url, **kwargs)
        except sa.exc.NoSuchModuleError:
            raise StoreError(f"cannot open database {self.safe_url}: unknown kind of database "
                             f"{url_obj.drivername!r}; expected sqlite:///PATH or postgresql+psycopg://...") from None
        except ImportError as exc:
            raise StoreError(f"cannot open database {self.safe_url}: its driver is not installed ({exc})") from None
        self._reader = self.engine
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._reader = self.engine.execution_options(evalkit_read_only=True)
        try:
            self._check_schema(create)
        except sa.exc.DatabaseError as exc:  # unreachable, or not a database file at all
            raise StoreError(f"cannot open database {self.safe_url}: {str(exc.orig).splitlines()[0]}") from None

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _check_schema(self, create: bool) -> None:
        inspector = sa.inspect(self.engine)
        if not inspector.has_table("meta"):
            if not create:
                raise StoreError(f"{self.safe_url} is not an evalkit database (no meta table): run `evalkit init`")
            with self.transaction("system") as tx:
                metadata.create_all(tx.conn)
                tx.conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        found = int(found or 0)
        if found > SCHEMA_VERSION:
            raise StoreError(f"database schema version {found} is newer than this evalkit's {SCHEMA_VERSION}: "
                             "upgrade evalkit")
        if found < SCHEMA_VERSION:
            missing = [v for v in range(found, SCHEMA_VERSION) if v not in _UPGRADES]
            if missing:
                raise StoreError(f"database schema version {found} is too old to upgrade to {SCHEMA_VERSION}: "
                                 "export it with the evalkit that wrote it")
            with self.transaction("system") as tx:
                for v in range(found, SCHEMA_VERSION):
                    _UPGRADES[v](tx.conn)
                tx.conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))

    @contextlib.contextmanager
    def transaction(self, actor: str) -> Iterator["Transaction"]:
        """One unit of work: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield Transaction(conn, actor)

    def read(self):
        """A connection for reading: it takes no write lock, so it may be opened inside a transaction."""
        return self._reader.connect()

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.read() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == f"setting:{key}")).scalar()
        return default if value is None else json.loads(value)

    def set_setting(self, key: str, value: Any, actor: str = "admin") -> None:
        with self.transaction(actor) as tx:
            tx.upsert(meta, {"key": f"setting:{key}"}, {"value": json.dumps(value)})

    def dispose(self) -> None:
        self.engine.dispose()


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


class Transaction:
    """A connection inside a transaction that records every change in the audit log."""

    def __init__(self, conn: sa.Connection, actor: str):
        self.conn = conn
        self.actor = actor

    def execute(self, statement, *args):
        return self.conn.execute(statement, *args)

    def _log(self, action: str, table: sa.Table, key: dict, before: dict | None, after: dict | None) -> None:
        self.conn.execute(audit.insert().values(
            at=utcnow(), actor=self.actor, action=action, entity=table.name,
            entity_id=json.dumps({k: _jsonable(v) for k, v in key.items()}, sort_keys=True),
            before=_dump(before), after=_dump(after),
        ))

    def _where(self, table: sa.Table, key: dict):
        return sa.and_(*[table.c[k] == v for k, v in key.items()])

    def get(self, table: sa.Table, key: dict) -> dict | None:
        row = self.conn.execute(sa.select(table).where(self._where(table, key))).mappings().first()
        return dict(row) if row else None

    def insert(self, table: sa.Table, values: dict, action: str | None = None) -> dict:
        """Insert a row and log it; returns the row as stored (with its generated id)."""
        result = self.conn.execute(table.insert().values(**values))
        row = dict(values)
        if "id" in table.c and table.c.id.primary_key and "id" not in values:
            row["id"] = result.inserted_primary_key[0]
        key = {c.name: row[c.name] for c in table.primary_key.columns}
        self._log(action or "insert", table, key, None, row)
        return row

    def update(self, table: sa.Table, key: dict, values: dict, action: str | None = None) -> dict:
        """Update one row by primary key and log before and after."""
        before = self.get(table, key)
        if before is None:
            raise StoreError(f"no {table.name} row {key}")
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        if not changed:
            return before
        self.conn.execute(table.update().where(self._where(table, key)).values(**changed))
        after = {**before, **changed}
        self._log(action or "update", table, key, before, after)
        return after

    def upsert(self, table: sa.Table, key: dict, values: dict, action: str | None = None) -> dict:
        if self.get(table, key) is None:
            return self.insert(table, {**key, **values}, action)
        return self.update(table, key, values, action)

    def delete(self, table: sa.Table, key: dict, action: str | None = None) -> None:
        before = self.get(table, key)
        if before is None:
            return
        self.conn.execute(table.delete().where(self._where(table, key)))
        self._log(action or "delete", table, key, before, None)


def workspace_url(workspace) -> str:
    return f"sqlite:///{Path(workspace).resolve() / DB_FILENAME}"


def open_store(target, create: bool = False) -> Store:
    """Open a workspace folder or a database URL.

    A folder means its ``evalkit.db``; a string with ``://`` is a SQLAlchemy URL.
    """
    target = str(target)
    if "://" in target:
        return Store(target, create=create)
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
    store = Store(workspace_url(workspace), create=create)
    store.workspace = workspace.resolve()
    return store
