"""Two people doing the same thing at the same moment on PostgreSQL: the second waits for the first and then
either finds the work done (registering a rubric version, a conflict of interest, programs) or is refused with one
line (importing the same CSV twice, taking the same adjudication); never an IntegrityError traceback (issue 10
item 1).

Each test holds the first change open in a transaction, starts the second in a thread (it blocks on the first's
row), then commits the first: the interleaving that used to fail, made deterministic. The adjudicators' "Take" is
also run as two real attempts released together by a barrier, on SQLite and on PostgreSQL."""
import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from evalkit.evaluation import workflow
from evalkit.evaluation.importer import import_submissions
from evalkit.instruments.programs import default_programs_path
from evalkit.instruments.rubric import load_rubric
from evalkit.store import (StoreConflict, assignments, audit, candidates, conflicts, open_store, programs,
                           rubric_versions, utcnow)
from eligible_profiles import add_eligible_candidate

postgres = pytest.mark.postgres


@pytest.fixture
def two(pg_url):
    first = open_store(pg_url, create=True)
    workflow.sync_programs(first)
    second = open_store(pg_url)
    yield first, second
    first.dispose()
    second.dispose()


def _while_held(first, hold, then):
    """Run ``hold(tx)`` in an open transaction of ``first``, start ``then()`` in a thread, commit; return what
    ``then`` returned or raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = then()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    with first.transaction("first") as tx:
        hold(tx)
        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.5)  # the second is now waiting on the first's uncommitted row
        assert thread.is_alive(), "the second did not wait for the first"
    thread.join(30)
    return outcome


def _count(store, table) -> int:
    import sqlalchemy as sa
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


@postgres
def test_the_same_new_rubric_version_registered_twice_at_once(two, tmp_path):
    first, second = two
    source = (default_programs_path().parent / "call_scorecard.yaml").read_text().replace(
        "title: ", "title: Edited ", 1)  # a new scorecard version, as two certifiers' first calls would register
    (tmp_path / "card.yaml").write_text(source)
    rubric = load_rubric(tmp_path / "card.yaml")
    before = _count(first, rubric_versions)
    outcome = _while_held(first, lambda tx: workflow._register_rubric(tx, rubric),
                          lambda: workflow.register_rubric(second, rubric, actor="second"))
    assert outcome == {"value": rubric.version}
    assert _count(first, rubric_versions) == before + 1


@postgres
def test_the_same_conflict_declared_twice_at_once(two):
    first, second = two
    workflow.add_rater(first, "sme.a", "A")
    workflow.add_candidate(first, "C-1", "Ann", "Lee")
    rid, cid = workflow._rater(first.read(), "sme.a")["id"], 1

    def hold(tx):
        tx.insert_if_absent(conflicts, {"rater_id": rid, "candidate_id": cid, "reason": "same employer"})

    outcome = _while_held(first, hold, lambda: workflow.declare_conflict(second, "sme.a", "C-1", "same employer"))
    assert "error" not in outcome, outcome
    assert _count(first, conflicts) == 1


@postgres
def test_the_same_csv_imported_twice_at_once_is_refused_in_one_line(two, tmp_path):
    first, second = two
    path = tmp_path / "in.csv"
    path.write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff\n"
                    "C-1,Ann,Lee,CCOM,2026-09-01,yes\n")

    def hold(tx):  # the first import, part-way: its candidate inserted, not yet committed
        tx.insert(candidates, {"external_id": "C-1", "first_name": "Ann", "last_name": "Lee"})

    outcome = _while_held(first, hold, lambda: import_submissions(second, path))
    error = outcome.get("error")
    assert isinstance(error, StoreConflict) and "\n" not in str(error), outcome
    assert str(error).startswith("not saved: it conflicts with a record saved at the same moment")
    assert _count(first, candidates) == 1


@postgres
def test_programs_synced_twice_at_once(two):
    first, second = two
    outcome = _while_held(first, lambda tx: tx.update(programs, {"id": "CCOM"}, {"name": "held"}),
                          lambda: workflow.sync_programs(second))
    assert "error" not in outcome, outcome
    assert outcome["value"]["CCOM"] == workflow.rubric_version_of(first, "CCOM")


# --- two adjudicators take the same submission at the same instant ------------------------------------------------

RECEIVED = dt.date(2026, 9, 1)


def _in_adjudication(store) -> int:
    """A CCOM submission whose raters r1 and r2 disagreed, waiting for an adjudicator; adj.lee and adj.kim may
    both take it."""
    add_eligible_candidate(store, "CCOM-1", "Jane", "Smith")
    for name, adjudicator in (("r1", False), ("r2", False), ("adj.lee", True), ("adj.kim", True)):
        workflow.add_rater(store, name, name.title(), is_adjudicator=adjudicator)
    sid = workflow.receive_submission(store, "CCOM-1", "CCOM", RECEIVED, True)
    workflow.assign_raters(store, sid, ["r1", "r2"])
    levels = {c.id: 3 for c in workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"]).criteria}
    workflow.submit_final(store, sid, "r1", levels)
    split = {**levels, next(iter(levels)): 1}
    assert workflow.submit_final(store, sid, "r2", split, {c: "Missing." for c in split}) == "adjudication"
    return sid


def _at_once(*calls, timeout: float = 60):
    """Run each call in a thread of its own, all released together by a barrier; each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout)
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "an attempt never finished"
    return results


def _adjudicators(store, sid) -> list[str]:
    with store.read() as conn:
        return conn.execute(sa.select(workflow.raters.c.username)
                            .join(assignments, assignments.c.rater_id == workflow.raters.c.id)
                            .where(assignments.c.submission_id == sid, assignments.c.role == "adjudicator")
                            ).scalars().all()


def _takes_logged(store) -> list[str]:
    with store.read() as conn:
        return conn.execute(sa.select(audit.c.actor).where(audit.c.action == "assign_adjudicator")).scalars().all()


def _one_won(results, names, sid, loser_sees: str | None = None) -> tuple[str, str]:
    """Exactly one take won; the other was refused with the one line naming the winner. (winner, loser)."""
    won = [n for n, r in zip(names, results) if not isinstance(r, Exception)]
    lost = [(n, r) for n, r in zip(names, results) if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    (winner,), ((loser, error),) = won, lost
    assert results[names.index(winner)] == winner
    assert isinstance(error, workflow.WorkflowError), repr(error)
    assert str(error) == f"submission {sid} was taken by {loser_sees or winner} a moment ago"
    return winner, loser


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_kernels(request, tmp_path):
    """Two stores on one database (two adjudicators' kernels), SQLite file or PostgreSQL."""
    target = tmp_path / "ws" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    first = open_store(target, create=True)
    workflow.sync_programs(first)
    second = open_store(first.url)
    yield first, second
    first.dispose()
    second.dispose()


@pytest.mark.parametrize("attempt", range(3))
def test_two_adjudicators_taking_one_submission_at_once_one_wins_the_other_is_told_who(two_kernels, attempt):
    first, second = two_kernels
    sid = _in_adjudication(first)
    names = ["adj.lee", "adj.kim"] if attempt % 2 == 0 else ["adj.kim", "adj.lee"]
    results = _at_once(lambda: workflow.take_adjudication(first, sid, names[0]),
                       lambda: workflow.take_adjudication(second, sid, names[1]))
    winner, loser = _one_won(results, names, sid)
    assert _adjudicators(first, sid) == [winner]  # nothing stored for the loser, not even in the audit log
    assert _takes_logged(first) == [winner]
    assert [q["submission"] for q in workflow.open_adjudications(first, loser)] == []


@postgres
def test_a_take_refused_by_a_serialization_failure_names_the_winner(two, pg_url):
    """Where the server runs SERIALIZABLE, the second take read before the first committed: PostgreSQL refuses its
    write (SQLSTATE 40001), and the adjudicator is told who took it instead."""
    first, second = two
    sid = _in_adjudication(first)
    with first.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"ALTER DATABASE {first.engine.url.database} "
                             "SET default_transaction_isolation = 'serializable'")
    first.dispose()  # new connections take the setting
    second.dispose()
    lee = workflow._rater(first.read(), "adj.lee")["id"]

    def hold(tx):  # adj.lee's take, part-way: the submission locked, nobody on it, the assignment written
        workflow._lock_submission(tx, sid)
        assert tx.execute(sa.select(assignments.c.id).where(assignments.c.submission_id == sid,
                                                            assignments.c.role == "adjudicator")).first() is None
        tx.insert(assignments, {"submission_id": sid, "rater_id": lee, "role": "adjudicator", "status": "assigned",
                                "assigned_at": utcnow()}, action="assign_adjudicator")

    outcome = _while_held(first, hold, lambda: workflow.take_adjudication(second, sid, "adj.kim"))
    error = outcome.get("error")
    assert isinstance(error, workflow.WorkflowError), outcome
    assert str(error) == f"submission {sid} was taken by adj.lee a moment ago"
    assert _adjudicators(first, sid) == ["adj.lee"]


@postgres
def test_two_signed_in_adjudicators_taking_one_submission_at_once(pg_url, tmp_path, monkeypatch):
    """Each adjudicator connects as themselves (row-level security): the second's write is refused by the policy
    that sees the first's assignment. It is told in one line that another adjudicator took it (the policies do not
    let it read who), and nothing of it is stored."""
    from test_rls import _waiting_for_an_adjudicator, as_person, build_office
    build_office(pg_url, tmp_path / "rubrics")
    sid = _waiting_for_an_adjudicator(pg_url)  # adj.dee and adj.zed may both take it
    stores = {u: open_store(as_person(pg_url, u)) for u in ("adj.dee", "adj.zed")}
    owner = open_store(pg_url)
    original = workflow._lock_submission
    inside = threading.Barrier(2)

    def together(tx, submission_id):  # both inside their transactions, then both ask for the row lock
        inside.wait(30)
        return original(tx, submission_id)

    monkeypatch.setattr(workflow, "_lock_submission", together)
    try:
        names = ["adj.dee", "adj.zed"]
        results = _at_once(*[lambda u=u: workflow.take_adjudication(stores[u], sid, u) for u in names])
        winner, loser = _one_won(results, names, sid, loser_sees="another adjudicator")
        assert _adjudicators(owner, sid) == [winner]
        assert _takes_logged(owner).count(loser) == 0
    finally:
        for s in (*stores.values(), owner):
            s.dispose()
