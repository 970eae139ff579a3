"""Schema migrations (Alembic): every database gets its schema from them, an older one is refused until
`evalkit db upgrade` has backed it up and upgraded it, every row is kept, and the migrations agree with schema.py.

For the next migration's test, :func:`database_at` makes a database at the previous revision: insert rows into
it, run ``evalkit db upgrade`` (or :func:`evalkit.store.migrate.upgrade`), and check the rows.
"""
from __future__ import annotations

import ast
import datetime as dt
import hashlib
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from evalkit.cli import main
from evalkit.store import HEAD_REVISION, SCHEMA_VERSION, StoreError, migrate, open_store, schema, workspace_url
from evalkit.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
SQLITE_AND_POSTGRES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


# --- helpers -------------------------------------------------------------------------------------------------


def database_at(revision: str, url: str) -> str:
    """An empty database (a SQLite file, made owner-only, or an empty PostgreSQL database) upgraded to
    ``revision`` by the migrations; returns ``url``.

    A new migration's test: ``database_at(<previous revision>, url)``, insert rows as the previous code did,
    ``migrate.upgrade(url)``, check the rows.
    """
    engine, _, _ = make_engine(url, create=True)
    try:
        with engine.begin() as conn:
            migrate.run_migrations(conn, revision)
    finally:
        engine.dispose()
    return url


def _engine(url: str) -> sa.Engine:
    return make_engine(url)[0]


def _url(kind: str, request, tmp_path: Path) -> str:
    """A fresh, empty database of the kind: a workspace's SQLite file, or a PostgreSQL database."""
    if kind == "sqlite":
        return workspace_url(tmp_path / "ws")
    return request.getfixturevalue("pg_url")


def _target(url: str) -> str:
    """What ``-w`` takes for ``url``: the workspace folder of a SQLite URL, else the URL."""
    if url.startswith("sqlite:///"):
        return str(Path(sa.engine.make_url(url).database).parent)
    return url


def as_made_by_evalkit_01(url: str) -> None:
    """Make the database exactly what evalkit 0.1 left: the schema of revision 0001 (later revisions downgraded
    away, with their triggers), no alembic_version table, meta schema_version "1"."""
    from alembic import command
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(migrate.alembic_config(connection=conn), "0001")
            conn.exec_driver_sql("DROP TABLE alembic_version")
            assert conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema_version'").scalar() == "1"
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (but Alembic's own), sorted, by table name."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
            tables = sa.MetaData()
            tables.reflect(conn, only=names)
            return {name: sorted((tuple(r) for r in conn.execute(sa.select(tables.tables[name]))), key=repr)
                    for name in names}
    finally:
        engine.dispose()


def rows_kept(before: dict, after: dict, added_columns_empty: bool = True, version: int = SCHEMA_VERSION) -> bool:
    """Every row of every table in ``before`` is in ``after`` unchanged, and nothing else: tables added since are
    empty, columns added since (at the end of a row) are empty (NULL) unless ``added_columns_empty`` is False, and
    only meta's schema_version has moved, to ``version`` (default: this code's)."""
    def rows(snap):
        return {**snap, "meta": [r for r in snap["meta"] if r[0] != "schema_version"]}

    def old_columns(table: str) -> list[tuple]:
        width = len(before[table][0]) if before[table] else 0
        if added_columns_empty and any(any(v is not None for v in r[width:]) for r in after[table]):
            return [("a column added since holds a value",)]
        return sorted((r[:width] for r in after[table]), key=repr)
    added = set(after) - set(before)
    return (rows({t: old_columns(t) for t in before}) == rows(before) and not any(after[t] for t in added)
            and ("schema_version", str(version)) in after["meta"])


def _set_revision(url: str, revision: str) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    finally:
        engine.dispose()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _copy_demo_to(url: str, demo_workspace: Path) -> None:
    """Fill the new database at ``url`` with every row of the demo workspace (a demo database on PostgreSQL)."""
    open_store(url, create=True).dispose()
    source, target = _engine(workspace_url(demo_workspace)), _engine(url)
    try:
        with source.connect() as src, target.begin() as dst:
            dst.execute(schema.meta.delete())
            for table in schema.metadata.sorted_tables:
                rows = [dict(r) for r in src.execute(sa.select(table)).mappings()]
                if rows:
                    dst.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()


# --- the revisions ---------------------------------------------------------------------------------------------


def test_head_revision_is_the_script_directorys_head_and_the_chain_is_linear():
    script = migrate.script_directory()
    assert script.get_heads() == [HEAD_REVISION]
    chain = list(reversed(list(script.walk_revisions())))  # base first
    assert [r.revision for r in chain] == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    assert chain[0].down_revision is None
    for before, after in zip(chain, chain[1:]):
        assert after.down_revision == before.revision
    for rev in chain:
        assert Path(rev.path).name.startswith(f"{rev.revision}_")
        assert rev.module.SCHEMA_VERSION == int(rev.revision)  # written to meta for an older evalkit to refuse
        # A migration is a frozen copy of its change: it never imports evalkit (whose schema.py moves on).
        tree = ast.parse(Path(rev.path).read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m and m.startswith("evalkit")], rev.path
    assert SCHEMA_VERSION == int(HEAD_REVISION)


@pytest.fixture(params=SQLITE_AND_POSTGRES)
def migrated(request, tmp_path):
    """An engine on an empty database of each kind, upgraded to head by the migrations."""
    engine = _engine(database_at("head", _url(request.param, request, tmp_path)))
    yield engine
    engine.dispose()


def test_the_migrations_make_exactly_the_schema_the_code_uses(migrated):
    with migrated.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        assert conn.execute(sa.text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar() == \
            str(migrate.SCHEMA_VERSION)


def test_the_audit_log_of_a_migrated_database_is_append_only(migrated):
    with migrated.begin() as conn:
        conn.execute(schema.audit.insert().values(at=sa.func.now(), actor="t", action="insert", entity="x",
                                                  entity_id="1"))
    for statement in ("UPDATE audit SET actor = 'someone else'", "DELETE FROM audit"):
        with pytest.raises(sa.exc.DBAPIError, match="the audit log is append-only"):
            with migrated.begin() as conn:
                conn.exec_driver_sql(statement)
    with migrated.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM audit")).scalars().all() == ["t"]


def test_a_new_workspace_is_at_head_and_opening_it_does_not_load_alembic(workspace):
    assert migrate.current_revision(workspace) == HEAD_REVISION
    code = ("import sys\nfrom evalkit.cli import main\n"
            f"assert main(['status', '-w', {str(workspace)!r}]) == 0\n"
            "print('alembic' in ' '.join(sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


# --- a database made by evalkit 0.1 --------------------------------------------------------------------------


def test_a_workspace_made_by_evalkit_01_is_refused_then_upgraded_keeping_every_row(demo_copy, capsys):
    ws = demo_copy.resolve()
    url = workspace_url(ws)
    as_made_by_evalkit_01(url)
    before = snapshot(url)
    assert sum(len(rows) for rows in before.values()) > 1000 and all(before[t] for t in ("submissions", "audit"))

    for argv in (["status", "-w", ws], ["letters", "--dry-run", "-w", ws]):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == ""
        assert err.strip() == (f"evalkit: error: {ws} was made by an earlier evalkit (schema version 1, before "
                               f"migrations): run `evalkit db upgrade -w {ws}` (it keeps a backup of the database "
                               "beside it)")
    with pytest.raises(StoreError, match="`evalkit db upgrade"):
        open_store(ws)
    assert snapshot(url) == before  # refusing changed nothing

    code, out, _ = run(capsys, "db", "current", "-w", ws)
    assert code == 0 and out == "none: made by evalkit 0.1 (schema version 1); run `evalkit db upgrade`\n"
    assert migrate.current_revision(ws) is None

    code, out, err = run(capsys, "db", "upgrade", "-w", ws)
    backup = ws / "evalkit.db.bak-schema1"
    assert (code, err) == (0, "")
    assert out == f"upgraded {ws} from schema1 to {HEAD_REVISION}; backup: {backup}\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert snapshot(f"sqlite:///{backup}") == before  # the backup opens and holds every row
    conn = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, nothing beside it
        assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchall()
    finally:
        conn.close()
    after = snapshot(url)
    documents = after.pop("submission_documents")  # 0006 copies the workspace's work products in
    assert rows_kept(before, after)  # every row of every table kept
    conn = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
    try:
        with_document = conn.execute("SELECT count(*) FROM submissions WHERE document IS NOT NULL").fetchone()[0]
    finally:
        conn.close()
    assert len(documents) == with_document > 0
    assert migrate.current_revision(ws) == HEAD_REVISION

    code, out, _ = run(capsys, "status", "-w", ws)
    assert code == 0 and out.startswith("pipeline:")
    code, out, _ = run(capsys, "db", "current", "-w", ws)
    assert out == f"{HEAD_REVISION} (head)\n"

    # A second upgrade has nothing to do and makes no second backup.
    code, out, _ = run(capsys, "db", "upgrade", "-w", ws)
    assert code == 0 and out == f"{ws} is already at {HEAD_REVISION} (head)\n"
    assert sorted(p.name for p in ws.glob("evalkit.db.bak-*")) == ["evalkit.db.bak-schema1"]
    assert snapshot(url) == {**after, "submission_documents": documents}


@pytest.mark.postgres
def test_a_postgresql_database_made_by_evalkit_01_is_refused_then_upgraded_keeping_every_row(
        demo_workspace, pg_url, capsys):
    _copy_demo_to(pg_url, demo_workspace)
    as_made_by_evalkit_01(pg_url)
    before = snapshot(pg_url)
    demo = snapshot(workspace_url(demo_workspace))
    # every table 0.1 had, with every row of the demo (less the columns added since, such as candidates' profiles)
    assert rows_kept(before, {t: demo[t] for t in before}, added_columns_empty=False)
    assert len(before["submissions"]) > 50 and ("schema_version", "1") in before["meta"]

    code, out, err = run(capsys, "status", "-w", pg_url)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert (f"{pg_url} was made by an earlier evalkit (schema version 1, before migrations): back it up (pg_dump) "
            f"and run `evalkit db upgrade -w {pg_url}`") in err
    with pytest.raises(StoreError, match="`evalkit db upgrade"):
        open_store(pg_url)
    assert run(capsys, "db", "current", "-w", pg_url)[1] == \
        "none: made by evalkit 0.1 (schema version 1); run `evalkit db upgrade`\n"

    code, out, _ = run(capsys, "db", "upgrade", "-w", pg_url)
    assert code == 0
    assert out == f"upgraded {pg_url} from schema1 to {HEAD_REVISION} (no copy made: pg_dump is the backup)\n"
    assert rows_kept(before, snapshot(pg_url))
    assert migrate.current_revision(pg_url) == HEAD_REVISION
    code, out, _ = run(capsys, "status", "-w", pg_url)
    assert code == 0 and out.startswith("pipeline:")
    assert run(capsys, "db", "upgrade", "-w", pg_url)[1] == f"{pg_url} is already at {HEAD_REVISION} (head)\n"


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_two_upgrades_at_once_upgrade_once(kind, request, tmp_path):
    url = database_at("head", _url(kind, request, tmp_path))
    as_made_by_evalkit_01(url)
    results, errors = [], []

    def upgrade():
        try:
            results.append(migrate.upgrade(_target(url)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted((r.old, r.new, r.changed) for r in results) == [
        (HEAD_REVISION, HEAD_REVISION, False), ("schema1", HEAD_REVISION, True)]
    if kind == "sqlite":
        assert [p.name for p in (tmp_path / "ws").glob("evalkit.db.bak-*")] == ["evalkit.db.bak-schema1"]


def test_an_existing_backup_is_never_overwritten(workspace):
    url = workspace_url(workspace)
    as_made_by_evalkit_01(url)
    old = workspace / "evalkit.db.bak-schema1"
    old.write_bytes(b"an earlier backup")
    result = migrate.upgrade(workspace)
    assert old.read_bytes() == b"an earlier backup"
    assert result.backup_path.parent == workspace.resolve()
    assert result.backup_path.name.startswith("evalkit.db.bak-schema1-") and result.backup_path.name.endswith("Z")
    assert snapshot(f"sqlite:///{result.backup_path}")["programs"] == snapshot(url)["programs"]


def test_the_backup_holds_what_is_still_in_the_wal(workspace, tmp_path):
    """The backup uses SQLite's backup API: a copy of evalkit.db alone would miss rows committed to the WAL."""
    as_made_by_evalkit_01(workspace_url(workspace))
    writer = sqlite3.connect(workspace / "evalkit.db")
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")  # the row stays in evalkit.db-wal
        writer.execute("INSERT INTO candidates (external_id, first_name, last_name) VALUES ('C-WAL', 'In', 'Wal')")
        writer.commit()
        shutil.copy(workspace / "evalkit.db", tmp_path / "file-copy.db")
        result = migrate.upgrade(workspace)
    finally:
        writer.close()
    query = "SELECT external_id FROM candidates"
    for path, expected in ((tmp_path / "file-copy.db", []), (result.backup_path, [("C-WAL",)])):
        conn = sqlite3.connect(path)
        try:
            assert conn.execute(query).fetchall() == expected, path
        finally:
            conn.close()


# --- newer than this evalkit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_a_database_at_an_unknown_newer_revision_is_refused(kind, request, tmp_path, capsys):
    url = database_at("head", _url(kind, request, tmp_path))
    _set_revision(url, "0999")
    target = _target(url)
    message = (f"{target}: database schema revision 0999 is newer than this evalkit (which knows up to revision "
               f"{HEAD_REVISION}, schema version {SCHEMA_VERSION}): upgrade evalkit")
    with pytest.raises(StoreError) as info:
        open_store(target)
    assert str(info.value) == message
    code, out, err = run(capsys, "db", "upgrade", "-w", target)
    assert (code, out, err) == (1, "", f"evalkit: error: {message}\n")
    code, out, _ = run(capsys, "db", "current", "-w", target)
    assert code == 0 and out.startswith(f"0999, schema version {SCHEMA_VERSION} (newer than this evalkit's head")
    if kind == "sqlite":
        assert not list((tmp_path / "ws").glob("evalkit.db.bak-*"))


def test_a_missing_revision_record_is_refused_not_guessed(workspace):
    url = workspace_url(workspace)
    engine = _engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION} has no record of its revision .* restore "
                                         "it from a backup"):
        open_store(workspace)


def test_a_newer_schema_version_without_alembic_is_refused(workspace, capsys):
    url = workspace_url(workspace)
    as_made_by_evalkit_01(url)
    engine = _engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'")
    engine.dispose()
    with pytest.raises(StoreError, match=f"database schema version {SCHEMA_VERSION + 1} is newer than this evalkit "
                                         ".*: upgrade evalkit"):
        open_store(workspace)
    code, _, err = run(capsys, "db", "upgrade", "-w", workspace)
    assert code == 1 and "is newer than this evalkit" in err


@pytest.mark.parametrize("argv, message", [
    (["db", "current", "-w", "{tmp}/nowhere"], "{tmp}/nowhere is not an evalkit workspace (no evalkit.db)"),
    (["db", "upgrade", "-w", "{tmp}/nowhere"], "{tmp}/nowhere is not an evalkit workspace (no evalkit.db)"),
    (["db", "upgrade", "-w", "sqlite:///{tmp}/other.db"], "sqlite:///{tmp}/other.db is not an evalkit database"),
    (["db", "current", "-w", "sqlite:///{tmp}/other.db"], "sqlite:///{tmp}/other.db is not an evalkit database"),
    (["db", "upgrade", "-w", "{corrupt}"], "cannot upgrade sqlite:///{corrupt}/evalkit.db: file is not a database"),
    (["db", "upgrade", "-w", "postgresql+psycopg://u:secret@127.0.0.1:1/db"],
     "cannot upgrade postgresql+psycopg://u:***@127.0.0.1:1/db"),
])
def test_db_commands_on_bad_targets_are_one_line(tmp_path, capsys, argv, message):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x int)")
    engine.dispose()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "evalkit.db").write_text("not a database " * 100)
    fill = {"tmp": tmp_path, "corrupt": corrupt.resolve()}
    code, out, err = run(capsys, *[a.format(**fill) for a in argv])
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("evalkit: error: ")
    assert message.format(**fill) in err


# --- a later revision: behind, upgraded, rows kept ---------------------------------------------------------------


@pytest.fixture
def with_next_revision(tmp_path, monkeypatch):
    """This code's migrations plus the next revision (adds ``candidates.phone``), written from the project's
    template by :func:`migrate.new_revision`, as the next schema change will be. Yields its id."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS", location)
    migrate._script_directory.cache_clear()
    following = f"{int(HEAD_REVISION) + 1:04d}"
    path = migrate.new_revision("candidate phone")
    assert path.name == f"{following}_candidate_phone.py"
    source = path.read_text()
    upgrade_body = "def upgrade() -> None:\n    pass\n"
    downgrade_body = "def downgrade() -> None:\n    pass\n"
    assert upgrade_body in source and downgrade_body in source
    path.write_text(source.replace(upgrade_body, "def upgrade() -> None:\n"
                                                 "    op.add_column('candidates', sa.Column('phone', sa.Text))\n")
                          .replace(downgrade_body, "def downgrade() -> None:\n"
                                                   "    op.drop_column('candidates', 'phone')\n"))
    migrate._script_directory.cache_clear()
    monkeypatch.setattr(migrate, "HEAD_REVISION", following)
    monkeypatch.setattr(migrate, "SCHEMA_VERSION", int(following))
    yield following
    migrate._script_directory.cache_clear()


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_a_database_behind_head_is_refused_then_upgraded_keeping_its_rows(kind, request, tmp_path, capsys,
                                                                          with_next_revision):
    following = with_next_revision
    url = database_at(HEAD_REVISION, _url(kind, request, tmp_path))
    target = _target(url)
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(schema.candidates.insert(), [{"external_id": f"C-{i}", "first_name": "A", "last_name": "B"}
                                                  for i in range(5)])
    engine.dispose()
    before = snapshot(url)

    with pytest.raises(StoreError, match=re.escape(target) + f" is at schema revision {HEAD_REVISION}, behind this "
                                         f"evalkit's {following}: .*`evalkit db upgrade -w "):
        open_store(target)
    assert run(capsys, "db", "current", "-w", target)[1] == \
        f"{HEAD_REVISION} (behind head {following}; run `evalkit db upgrade`)\n"

    result = migrate.upgrade(target)
    assert (result.old, result.new, result.changed) == (HEAD_REVISION, following, True)
    if kind == "sqlite":
        assert result.backup_path == tmp_path / "ws" / f"evalkit.db.bak-{HEAD_REVISION}"
        assert snapshot(f"sqlite:///{result.backup_path}") == before
    else:
        assert result.backup_path is None
    after = snapshot(url)
    assert after["meta"] == [("schema_version", str(int(following)))]
    assert [row[:-1] for row in after["candidates"]] == before["candidates"]  # the new column comes last
    assert {row[-1] for row in after["candidates"]} == {None}
    assert {k: v for k, v in after.items() if k not in ("meta", "candidates")} == \
        {k: v for k, v in before.items() if k not in ("meta", "candidates")}
    assert migrate.current_revision(target) == following
    assert migrate.upgrade(target).changed is False


# --- 0002: the audit log's REPLACE and TRUNCATE guards ------------------------------------------------------------


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0002_upgrades_a_0001_database_keeping_its_rows_and_closes_replace_and_truncate(kind, request, tmp_path):
    url = database_at("0001", _url(kind, request, tmp_path))
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(schema.candidates.insert(), [{"external_id": "C-1", "first_name": "A", "last_name": "B"}])
        conn.execute(schema.audit.insert(), [{"at": dt.datetime(2026, 1, 1), "actor": "admin", "action": "insert",
                                              "entity": "candidates", "entity_id": str(i), "before": None,
                                              "after": "{}"} for i in range(3)])
        first_id = conn.execute(sa.select(sa.func.min(schema.audit.c.id))).scalar()
        if kind == "sqlite":  # what 0001 let through: REPLACE rewrote a row without its DELETE trigger firing
            conn.exec_driver_sql(f"INSERT OR REPLACE INTO audit (id, at, actor, action, entity, entity_id) VALUES "
                                 f"({first_id}, '2026-01-01', 'mallory', 'insert', 'x', 'x')")
    engine.dispose()
    before = snapshot(url)
    assert migrate.upgrade(_target(url)).new == HEAD_REVISION
    assert rows_kept(before, snapshot(url))
    after = snapshot(url)
    assert [r[:len(before["candidates"][0])] for r in after["candidates"]] == before["candidates"]
    assert after["audit"] == before["audit"]
    engine = _engine(url)
    try:
        attack = (f"INSERT OR REPLACE INTO audit (id, at, actor, action, entity, entity_id) VALUES ({first_id}, "
                  "'2026-01-02', 'mallory', 'insert', 'x', 'x')" if kind == "sqlite" else "TRUNCATE audit")
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql(attack)
    finally:
        engine.dispose()
    assert snapshot(url)["audit"] == after["audit"]


# --- 0003: Knowledge & Skills Assessment results ---------------------------------------------------------------


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0003_upgrades_a_0002_database_keeping_its_rows_and_adds_assessment_results(kind, request, tmp_path):
    url = database_at("0002", _url(kind, request, tmp_path))
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(schema.candidates.insert(), [{"external_id": f"C-{i}", "first_name": "A", "last_name": "B"}
                                                  for i in range(3)])
    engine.dispose()
    before = snapshot(url)
    assert "assessment_results" not in before
    migrate.upgrade(_target(url))
    assert rows_kept(before, snapshot(url))
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            row = {"candidate_id": 1, "program_id": "CCOM", "component": "knowledge_1", "attempt": 1, "score": 80,
                   "maximum": 100, "taken_on": dt.date(2026, 3, 2), "created_at": dt.datetime(2026, 3, 2)}
            conn.execute(schema.assessment_results.insert(), [row])
        with pytest.raises(sa.exc.IntegrityError):  # an attempt is recorded once
            with engine.begin() as conn:
                conn.execute(schema.assessment_results.insert(), [row])
    finally:
        engine.dispose()


# --- 0004: profiles, candidacies, the completion clock, resubmission deadlines and extensions ------------------


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0004_upgrades_a_0003_database_keeping_its_rows_and_adds_candidacies_and_deadlines(kind, request, tmp_path):
    url = database_at("0003", _url(kind, request, tmp_path))
    engine = _engine(url)
    day, now = dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, 9)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(sa.text("INSERT INTO rubric_versions (version, rubric_id, title, source, registered_at) "
                             "VALUES ('v1', 'ccom', 'CCOM', 'x', :now)"), {"now": now})
        conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name) VALUES ('C-1', 'A', 'B')"))
        conn.execute(sa.text(
            "INSERT INTO submissions (candidate_id, program_id, rubric_version, attempt, received_on, due_on, "
            "manager_signoff, is_benchmark, state, created_at) VALUES (1, 'CCOM', 'v1', 1, :day, :day, true, false, "
            "'decided', :now)"), {"day": day, "now": now})
        conn.execute(sa.text(
            "INSERT INTO decisions (submission_id, result, total_percent, method, decided_on, decided_by, "
            "rubric_version) VALUES (1, 'deficient', 61.5, 'agreement', :day, 'raters', 'v1')"), {"day": day})
        conn.execute(sa.text(
            "INSERT INTO assessment_results (candidate_id, program_id, component, attempt, score, maximum, taken_on, "
            "created_at) VALUES (1, 'CCOM', 'knowledge_1', 1, 80, 100, :day, :now)"), {"day": day, "now": now})
    engine.dispose()
    before = snapshot(url)
    assert "candidacies" not in before and "resubmission_extensions" not in before
    migrate.upgrade(_target(url))
    after = snapshot(url)
    assert rows_kept(before, after)
    # the new columns are there and empty: the old deficient decision has no recorded deadline (none is enforced)
    assert after["decisions"][0][-1] is None and after["submissions"][0][-1] is None
    assert after["candidates"][0][-1] is None
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            row = {"candidate_id": 1, "program_id": "CCOM", "applied_on": day, "route": "in-role",
                   "created_at": now}
            conn.execute(schema.candidacies.insert(), [row])
            conn.execute(schema.resubmission_extensions.insert(), [{
                "submission_id": 1, "until": dt.date(2027, 1, 4), "granted_by": "admin", "reason": "illness",
                "granted_at": now}])
        with pytest.raises(sa.exc.IntegrityError):  # one candidacy per candidate and program
            with engine.begin() as conn:
                conn.execute(schema.candidacies.insert(), [row])
    finally:
        engine.dispose()


# --- 0005: certificates, appeals, re-evaluation, the outbox ----------------------------------------------------


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0005_upgrades_a_0004_database_keeping_its_rows_and_adds_certificates_appeals_and_the_outbox(
        kind, request, tmp_path):
    url = database_at("0004", _url(kind, request, tmp_path))
    engine = _engine(url)
    day, now = dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, 9)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(sa.text("INSERT INTO rubric_versions (version, rubric_id, title, source, registered_at) "
                             "VALUES ('v1', 'ccom', 'CCOM', 'x', :now)"), {"now": now})
        conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name, profile) "
                             "VALUES ('C-1', 'A', 'B', '{\"education\": {\"highest\": \"master\"}}')"))
        conn.execute(sa.text(
            "INSERT INTO submissions (candidate_id, program_id, rubric_version, attempt, received_on, due_on, "
            "complete_by, manager_signoff, is_benchmark, state, created_at) VALUES (1, 'CCOM', 'v1', 1, :day, :day, "
            ":day, true, false, 'decided', :now)"), {"day": day, "now": now})
        conn.execute(sa.text(
            "INSERT INTO candidacies (candidate_id, program_id, applied_on, route, created_at) "
            "VALUES (1, 'CCOM', :day, 'in-role', :now)"), {"day": day, "now": now})
    engine.dispose()
    before = snapshot(url)
    assert not {"certificates", "certificate_events", "appeals", "outbox"} & set(before)
    migrate.upgrade(_target(url))
    after = snapshot(url)
    assert rows_kept(before, after)
    assert after["submissions"][0][-1] is None  # reevaluates_id: no appeal yet
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            certificate = {"number": "CIAC-CCOM-2026-000001", "code": "K7Q2M9XW4T", "candidate_id": 1,
                           "program_id": "CCOM", "certified_on": day, "valid_until": dt.date(2029, 9, 1),
                           "status": "active", "decided_by": "office.kim", "issued_on": day, "created_at": now}
            conn.execute(schema.certificates.insert(), [certificate])
            conn.execute(schema.appeals.insert(), [{"submission_id": 1, "received_on": day, "grounds": "x",
                                                    "due_on": day, "created_at": now}])
            message = {"kind": "certificate", "recipient": "a@example.org", "subject": "s", "body": "b",
                       "attachments": "[]", "message_id": "<1@evalkit>", "status": "pending", "attempts": 0,
                       "created_at": now}
            conn.execute(schema.outbox.insert(), [message])
        for table, row in ((schema.certificates, {**certificate, "code": "OTHER"}), (schema.outbox, message)):
            with pytest.raises(sa.exc.IntegrityError):  # one certificate per candidate and program; one message id
                with engine.begin() as conn:
                    conn.execute(table.insert(), [row])
    finally:
        engine.dispose()


# --- 0006: roles recorded in the workspace, work products in the database --------------------------------------


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0006_upgrades_a_0005_database_keeping_its_rows_and_adds_roles_and_documents(kind, request, tmp_path):
    url = database_at("0005", _url(kind, request, tmp_path))
    engine = _engine(url)
    day, now = dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, 9)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(sa.text("INSERT INTO rubric_versions (version, rubric_id, title, source, registered_at) "
                             "VALUES ('v1', 'ccom', 'CCOM', 'x', :now)"), {"now": now})
        conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name) VALUES ('C-1', 'A', 'B')"))
        conn.execute(sa.text("INSERT INTO raters (username, name, is_adjudicator, is_lead, active) "
                             "VALUES ('sme.ana', 'Ana', false, false, true)"))
        conn.execute(sa.text(
            "INSERT INTO submissions (candidate_id, program_id, rubric_version, attempt, received_on, due_on, "
            "manager_signoff, document, is_benchmark, state, created_at) VALUES (1, 'CCOM', 'v1', 1, :day, :day, "
            "true, 'documents/gone.md', false, 'scoring', :now)"), {"day": day, "now": now})
    engine.dispose()
    before = snapshot(url)
    assert not {"person_roles", "submission_documents"} & set(before)
    migrate.upgrade(_target(url))
    after = snapshot(url)
    assert rows_kept(before, after)  # a document that is not in the folder is not invented
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(schema.person_roles.insert(), [{"username": "sme.ana", "role": "rater",
                                                         "granted_by": "office.kim", "granted_at": now}])
        with pytest.raises(sa.exc.IntegrityError):  # a role is held once
            with engine.begin() as conn:
                conn.execute(schema.person_roles.insert(), [{"username": "sme.ana", "role": "rater",
                                                             "granted_by": "x", "granted_at": now}])
        with pytest.raises(sa.exc.IntegrityError):  # a document belongs to a submission that exists
            with engine.begin() as conn:
                conn.execute(schema.submission_documents.insert(), [{
                    "submission_id": 99, "name": "x.md", "content": b"x", "sha256": "0" * 64, "stored_at": now}])
    finally:
        engine.dispose()


def test_0006_copies_a_sqlite_workspaces_documents_into_the_database(tmp_path):
    url = database_at("0005", workspace_url(tmp_path / "ws"))
    (tmp_path / "ws" / "documents").mkdir()
    plan = "# Plan\n\nReduce the abandon rate to 5 %.\n".encode()
    (tmp_path / "ws" / "documents" / "plan.md").write_bytes(plan)
    (tmp_path / "outside.md").write_text("not a work product")
    engine = _engine(url)
    now = dt.datetime(2026, 9, 1, 9)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(sa.text("INSERT INTO rubric_versions (version, rubric_id, title, source, registered_at) "
                             "VALUES ('v1', 'ccom', 'CCOM', 'x', :now)"), {"now": now})
        for n in (1, 2):
            conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name) "
                                 f"VALUES ('C-{n}', 'A', 'B')"))
        for n, document in ((1, "documents/plan.md"), (2, "documents/../../outside.md")):
            conn.execute(sa.text(
                "INSERT INTO submissions (candidate_id, program_id, rubric_version, attempt, received_on, due_on, "
                "manager_signoff, document, is_benchmark, state, created_at) VALUES (:n, 'CCOM', 'v1', 1, :now, "
                ":now, 1, :document, 0, 'scoring', :now)"), {"n": n, "document": document, "now": now})
    engine.dispose()
    migrate.upgrade(str(tmp_path / "ws"))
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(schema.submission_documents)).mappings().all()
    finally:
        engine.dispose()
    assert [(r["submission_id"], r["name"], r["content"]) for r in rows] == [(1, "plan.md", plan)]
    assert rows[0]["sha256"] == hashlib.sha256(plan).hexdigest()  # the path leading outside was not followed
