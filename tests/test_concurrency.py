"""Two people doing the same thing at the same moment on PostgreSQL: the second waits for the first and then
either finds the work done (registering a rubric version, a conflict of interest, programs) or is refused with one
line (importing the same CSV twice); never an IntegrityError traceback (issue 10 item 1).

Each test holds the first change open in a transaction, starts the second in a thread (it blocks on the first's
row), then commits the first: the interleaving that used to fail, made deterministic."""
import threading
import time

import pytest

from evalkit.evaluation import workflow
from evalkit.evaluation.importer import import_submissions
from evalkit.instruments.programs import default_programs_path
from evalkit.instruments.rubric import load_rubric
from evalkit.store import StoreConflict, candidates, conflicts, open_store, programs, rubric_versions

pytestmark = pytest.mark.postgres


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


def test_programs_synced_twice_at_once(two):
    first, second = two
    outcome = _while_held(first, lambda tx: tx.update(programs, {"id": "CCOM"}, {"name": "held"}),
                          lambda: workflow.sync_programs(second))
    assert "error" not in outcome, outcome
    assert outcome["value"]["CCOM"] == workflow.rubric_version_of(first, "CCOM")
