"""The database: connection, transactions and the audit log.

SQLAlchemy Core. A workspace folder holds ``evalkit.db`` (SQLite, WAL, foreign keys on) and ``settings.yaml``;
any other SQLAlchemy URL (``postgresql+psycopg://...``) works the same. Every write goes through
:meth:`Store.transaction`, and every change is appended to the ``audit`` table (who, when, before, after) in the
same transaction, so the log and the data cannot disagree. Evaluation data is confidential: the workspace and
the database file are created readable by their owner only, and nothing here logs candidate data.

Opening a database compares its schema revision with the code's (:mod:`evalkit.store.migrate`) and refuses any
other: an older one names ``evalkit db upgrade``. A new database gets its schema by running the migrations.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import migrate
from .engine import DB_FILENAME, StoreConflict, StoreError, make_engine, resolve_target, safe_url, workspace_url
from .schema import audit, meta, metadata

__all__ = ["DB_FILENAME", "StoreError", "StoreConflict", "Store", "Transaction", "open_store", "workspace_url",
           "metadata", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):  # a file's content: the log says which, not what (it may be megabytes)
        return f"{len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()}"
    return value


def _dump(row: dict | None) -> str | None:
    if row is None:
        return None
    return json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True, ensure_ascii=False)


class Store:
    """A connection to an evalkit database.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL. ``sqlite:///path/evalkit.db`` or ``postgresql+psycopg://user@host:port/db``.
    create : bool
        Create the schema when the database is empty, by running the migrations (:mod:`evalkit.store.migrate`).
        When False, an empty database is an error.
    check_schema : bool
        Refuse a database whose schema is not this code's (older: ``evalkit db upgrade``; newer: upgrade evalkit).
        Only :mod:`evalkit.store.migrate` opens one with False, to read or upgrade it.
    """

    def __init__(self, url: str, create: bool = False, check_schema: bool = True):
        self.url = url
        self.cache: dict = {}  # definitions read from the database that do not change while it is open
        self.engine, self.is_sqlite, self.workspace = make_engine(url, create=create)
        self._reader = self.engine.execution_options(evalkit_read_only=True)
        if not check_schema:
            return
        try:
            self._check_schema(create)
        except sa.exc.DatabaseError as exc:  # unreachable, or not a database file at all
            raise StoreError(f"cannot open database {self.safe_url}: {str(exc.orig).splitlines()[0]}") from None

    @functools.cached_property
    def person(self) -> str | None:
        """The person this database session belongs to: on PostgreSQL, the session user when it is a person's own
        login role (a member of ``evalkit_people``, made by :func:`evalkit.access.provision_person`); None for the
        database's owner, a service, and SQLite. Row-level security then limits what this store reads and writes,
        and the audit log records this name whatever ``actor`` a caller passes."""
        if self.is_sqlite:
            return None
        with self.read() as conn:
            return conn.execute(sa.text(
                "SELECT session_user WHERE EXISTS (SELECT 1 FROM pg_auth_members m "
                "JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
                "WHERE g.rolname = 'evalkit_people' AND u.rolname = session_user)")).scalar()

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return safe_url(self.url)

    def _check_schema(self, create: bool) -> None:
        """Compare the database's revision with the code's (plain SQL, no Alembic); create the schema if asked."""
        with self.read() as conn:
            state = migrate.read_state(conn)
        if state is None:
            if not create:
                raise StoreError(f"{self.safe_url} is not an evalkit database (no meta table): run `evalkit init`")
            with self.engine.begin() as conn:
                migrate.run_migrations(conn, "head")
            return
        problem = migrate.refusal(state, self.url)
        if problem:
            raise StoreError(problem)

    @contextlib.contextmanager
    def transaction(self, actor: str) -> Iterator["Transaction"]:
        """One unit of work: everything inside commits together or not at all.

        A unique key that another process saved first (two people doing the same thing at the same moment) rolls
        the whole unit back and raises :class:`StoreConflict` with one line, never a driver traceback.
        """
        try:
            with self.engine.begin() as conn:
                yield Transaction(conn, actor)
        except sa.exc.IntegrityError as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
            raise StoreConflict(f"not saved: it conflicts with a record saved at the same moment or already there "
                                f"({detail}); nothing of this change was saved, look again and retry") from None

    @contextlib.contextmanager
    def exclusive(self, job: str) -> Iterator[None]:
        """Run the block as the only ``job`` (e.g. ``"letters"``) on this database; a second one, from any process
        or, on PostgreSQL, any host, is refused at once with :class:`StoreError`.

        SQLite: an advisory lock on a file beside the database (``.evalkit.db.<job>.lock``). PostgreSQL: a session
        advisory lock, held on a connection of its own that is not inside a transaction.
        """
        if self.is_sqlite:
            database = Path(self.engine.url.database or "")
            if not database.name:  # an in-memory database has no other process to exclude
                yield
                return
            fd = os.open(database.with_name(f".{database.name}.{job}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StoreError(f"another {job} run is working on {self.safe_url}; wait for it to finish") \
                        from None
                yield
            finally:
                os.close(fd)  # closing releases the lock
            return
        key = int.from_bytes(hashlib.sha256(f"evalkit:{job}".encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            acquired = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            conn.commit()  # the lock belongs to the session; no transaction stays open while the job runs
            if not acquired:
                raise StoreError(f"another {job} run is working on {self.safe_url}; wait for it to finish")
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()

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


_INT64 = (-2**63, 2**63 - 1)
_AUDIT_INSERT = audit.insert()


def _check_values(table: sa.Table, values: dict) -> None:
    """Refuse, the same way on SQLite and PostgreSQL, what one of them would store and the other reject: text
    longer than its column, a NUL character (PostgreSQL cannot store it), a whole number beyond 64 bits."""
    for name, value in values.items():
        column = table.c[name]
        where = f"{table.name}.{name}"
        if isinstance(value, str):
            if "\x00" in value:
                raise StoreError(f"{where}: the text contains a NUL character; expected printable text")
            limit = getattr(column.type, "length", None)
            if limit and len(value) > limit:
                raise StoreError(f"{where}: is {len(value):,} characters long; expected at most {limit}")
        elif isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
            raise StoreError(f"{where}: {str(value)[:20]}... does not fit a 64-bit whole number")


class Transaction:
    """A connection inside a transaction that records every change in the audit log."""

    def __init__(self, conn: sa.Connection, actor: str):
        self.conn = conn
        self.actor = actor

    def execute(self, statement, *args):
        return self.conn.execute(statement, *args)

    def _log(self, action: str, table: sa.Table, key: dict, before: dict | None, after: dict | None) -> None:
        # Parameters, not .values(): one compiled statement serves every row (a 40,000-row import spends its
        # time here otherwise).
        self.conn.execute(_AUDIT_INSERT, {
            "at": utcnow(), "actor": self.actor, "action": action, "entity": table.name,
            "entity_id": json.dumps({k: _jsonable(v) for k, v in key.items()}, sort_keys=True),
            "before": _dump(before), "after": _dump(after)})

    def _where(self, table: sa.Table, key: dict):
        return sa.and_(*[table.c[k] == v for k, v in key.items()])

    def get(self, table: sa.Table, key: dict) -> dict | None:
        row = self.conn.execute(sa.select(table).where(self._where(table, key))).mappings().first()
        return dict(row) if row else None

    def insert(self, table: sa.Table, values: dict, action: str | None = None) -> dict:
        """Insert a row and log it; returns the row as stored (with its generated id)."""
        _check_values(table, values)
        result = self.conn.execute(table.insert(), values)
        row = dict(values)
        if "id" in table.c and table.c.id.primary_key and "id" not in values:
            row["id"] = result.inserted_primary_key[0]
        key = {c.name: row[c.name] for c in table.primary_key.columns}
        self._log(action or "insert", table, key, None, row)
        return row

    def insert_many(self, table: sa.Table, rows: list[dict], action: str | None = None) -> list[dict]:
        """Insert many rows with one statement (and their audit records with another); returns the rows as stored,
        with their generated ids, in order. For imports: the write lock is held for milliseconds per thousand
        rows instead of a round of statements per row."""
        if not rows:
            return []
        for values in rows:
            _check_values(table, values)
        keys = list(table.primary_key.columns)
        generated = "id" in table.c and table.c.id.primary_key and "id" not in rows[0]
        if generated:
            ids = self.conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True),
                                    rows).scalars().all()
            rows = [{**values, "id": new_id} for values, new_id in zip(rows, ids)]
        else:
            self.conn.execute(table.insert(), rows)
            rows = [dict(values) for values in rows]
        now = utcnow()
        self.conn.execute(_AUDIT_INSERT, [{
            "at": now, "actor": self.actor, "action": action or "insert", "entity": table.name,
            "entity_id": json.dumps({k.name: _jsonable(row[k.name]) for k in keys}, sort_keys=True),
            "before": None, "after": _dump(row)} for row in rows])
        return rows

    def insert_if_absent(self, table: sa.Table, values: dict, action: str | None = None) -> dict | None:
        """Insert a row unless one with its primary key exists (then do nothing); returns the row if inserted.

        Atomic in the database (``INSERT ... ON CONFLICT DO NOTHING``): when two processes register the same thing
        at the same moment (a rubric version, a conflict of interest), PostgreSQL makes the second wait for the
        first and then skip, instead of failing; checking first and inserting after would race.
        """
        _check_values(table, values)
        insert = (sqlite_insert if self.conn.dialect.name == "sqlite" else postgresql_insert)(table)
        keys = list(table.primary_key.columns)
        inserted = self.conn.execute(insert.values(**values).on_conflict_do_nothing(
            index_elements=[c.name for c in keys]).returning(*keys)).first()
        if inserted is None:
            return None
        row = {**values, **inserted._mapping}  # with a generated id
        key = {c.name: row[c.name] for c in keys}
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
        _check_values(table, changed)
        self.conn.execute(table.update().where(self._where(table, key)).values(**changed))
        after = {**before, **changed}
        self._log(action or "update", table, key, before, after)
        return after

    def upsert(self, table: sa.Table, key: dict, values: dict, action: str | None = None) -> dict:
        """Insert the row, or update it where one with ``key`` exists (atomic: see :meth:`insert_if_absent`)."""
        return self.insert_if_absent(table, {**key, **values}, action) or self.update(table, key, values, action)

    def delete(self, table: sa.Table, key: dict, action: str | None = None) -> None:
        before = self.get(table, key)
        if before is None:
            return
        self.conn.execute(table.delete().where(self._where(table, key)))
        self._log(action or "delete", table, key, before, None)


def open_store(target, create: bool = False, check_schema: bool = True) -> Store:
    """Open a workspace folder or a database URL.

    A folder means its ``evalkit.db``; a string with ``://`` is a SQLAlchemy URL. ``create`` and ``check_schema``
    are as for :class:`Store`.
    """
    url, workspace = resolve_target(target, create=create)
    store = Store(url, create=create, check_schema=check_schema)
    if workspace is not None:
        store.workspace = workspace
    return store
