import os
import sqlite3
import stat
import threading

import pytest
import sqlalchemy as sa

from evalkit.evaluation import workflow as wf
from evalkit.store import SCHEMA_VERSION, StoreError, meta, open_store
from eligible_profiles import add_eligible_candidate


def test_workspace_and_database_are_readable_by_their_owner_only(workspace):
    assert stat.S_IMODE(os.stat(workspace).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(workspace / "evalkit.db").st_mode) == 0o600


def test_sqlite_uses_wal_and_foreign_keys(store):
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_missing_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="is not an evalkit workspace .* run `evalkit init"):
        open_store(tmp_path / "nowhere")


def test_unreachable_database_url_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot open database postgresql\\+psycopg://u:\\*\\*\\*@127.0.0.1:9/x"):
        open_store("postgresql+psycopg://u:secret@127.0.0.1:9/x")


def _set_version(store, version):
    with store.engine.begin() as conn:
        conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(version)))


def test_newer_schema_refused(workspace, store):
    _set_version(store, SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer .* upgrade evalkit"):
        open_store(workspace)


def _schema_and_rows(path):
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                conn.execute("SELECT * FROM meta ORDER BY key").fetchall())
    finally:
        conn.close()


def test_an_older_database_is_refused_with_the_upgrade_instruction_and_left_as_it_was(workspace, store):
    """Opening never upgrades: a database made by evalkit 0.1 (no alembic_version) is refused, not changed."""
    from alembic import command

    from evalkit.store import migrate
    with store.engine.begin() as conn:  # what evalkit 0.1 made: revision 0001's schema, no alembic_version
        command.downgrade(migrate.alembic_config(connection=conn), "0001")
        conn.exec_driver_sql("DROP TABLE alembic_version")
    store.dispose()
    before = _schema_and_rows(workspace / "evalkit.db")
    with pytest.raises(StoreError, match=r"made by an earlier evalkit \(schema version 1, before migrations\): "
                                         rf"run `evalkit db upgrade -w {workspace.resolve()}`"):
        open_store(workspace)
    assert _schema_and_rows(workspace / "evalkit.db") == before


def test_a_schema_version_too_old_for_any_upgrade_is_refused(workspace, store):
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    _set_version(store, 0)
    with pytest.raises(StoreError, match="schema version 0 is too old to upgrade: export it with the evalkit"):
        open_store(workspace)


def test_a_database_that_is_not_evalkits_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x int)")
    with pytest.raises(StoreError, match="is not an evalkit database"):
        open_store(url)


def test_settings_round_trip(store):
    store.set_setting("signatory", {"name": "Dr. A", "title": "Director"})
    assert store.get_setting("signatory") == {"name": "Dr. A", "title": "Director"}
    assert store.get_setting("absent", 7) == 7


def test_concurrent_writers_from_separate_connections_lose_nothing(workspace):
    """Several SMEs' kernels save at once: each has its own Store (own connection pool)."""
    setup = open_store(workspace)
    add_eligible_candidate(setup, "C-1", "A", "B")
    for r in ("r1", "r2"):
        wf.add_rater(setup, r, r)
    sid = wf.receive_submission(setup, "C-1", "CCOM", "2026-09-01", True)
    wf.assign_raters(setup, sid, ["r1", "r2"])
    criteria = wf.rubric_for(setup, wf.submission(setup, sid)["rubric_version"]).criterion_ids
    errors = []

    def rater(name):
        own = open_store(workspace)
        try:
            for k in range(30):
                cid = criteria[k % len(criteria)]
                wf.save_draft(own, sid, name, {cid: 1 + k % 4}, {cid: f"{name} note {k}"})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=rater, args=(n,)) for n in ("r1", "r2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name in ("r1", "r2"):
        mine = wf.rater_scores(setup, sid, name)
        assert len(mine["levels"]) == len(criteria)
        assert mine["feedback"][criteria[29 % len(criteria)]] == f"{name} note 29"


@pytest.mark.parametrize("values, message", [
    ({"username": "u" * 65, "name": "N"}, r"raters.username: is 65 characters long; expected at most 64"),
    ({"username": "u1", "name": "Nul\x00byte"}, r"raters.name: the text contains a NUL character"),
    ({"id": 2**64, "username": "u2", "name": "N"}, r"raters.id: 18446744073709551616... does not fit a 64-bit"),
])
def test_values_are_checked_alike_on_sqlite_and_postgresql(any_store, values, message):
    # SQLite stored these and PostgreSQL failed with a DataError traceback: both refuse them in one line now.
    from evalkit.store import raters
    with pytest.raises(StoreError, match=message):
        with any_store.transaction("test") as tx:
            tx.insert(raters, {"is_adjudicator": False, "is_lead": False, "active": True, **values})
    with any_store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raters)).scalar() == 0


def test_opening_and_reading_never_wait_for_a_writer(workspace):
    # The schema check ran in BEGIN IMMEDIATE, so while an import or a letter batch held the write lock every
    # command, notebook and letter kernel failed after 30 s with "database is locked". WAL readers never wait.
    import sqlite3
    import subprocess
    import sys
    writer = sqlite3.connect(workspace / "evalkit.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        code = ("import sys; from evalkit.store import open_store; from evalkit.evaluation import workflow\n"
                "s = open_store(sys.argv[1]); print(len(workflow.due_report(s)), workflow.pipeline_counts(s) == {})")
        run = subprocess.run([sys.executable, "-c", code, str(workspace)], capture_output=True, text=True, timeout=20)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert run.returncode == 0, run.stderr[-400:]


def test_a_workspace_folder_is_private_even_when_it_existed(tmp_path):
    from evalkit.demo import init_workspace
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # `init` on it left a world-writable workspace
    init_workspace(shared).dispose()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    crowded = tmp_path / "crowded"
    crowded.mkdir()
    (crowded / "someone-elses.txt").write_text("x")
    os.chmod(crowded, 0o777)
    with pytest.raises(StoreError, match=r"crowded can be read or written by other users \(mode 777\)"):
        init_workspace(crowded)
    assert stat.S_IMODE(crowded.stat().st_mode) == 0o777 and not (crowded / "evalkit.db").exists()
