"""Bad input to every command: exit 1 with one line ``evalkit: error: ...`` naming what and where (2 with argparse's
usage message), and nothing written to the workspace.

Each case runs ``evalkit.cli.main`` in-process on a private copy of the demo workspace. Placeholders in the
arguments: ``{ws}`` that workspace, ``{tmp}`` an empty folder, ``{file}`` a text file, ``{corrupt}`` a folder whose
``evalkit.db`` is not a database, ``{empty_csv}``, ``{bad_date_csv}`` (a good row, then 2026-02-30),
``{broken_programs}`` (programs.yaml pointing at a rubric with four problems), and demo ids by state:
``{received} {scoring} {decided} {benchmark}`` (submissions), ``{agent_new}`` (no call yet), ``{agent_done}`` (five
calls), ``{agent_equipment}`` (open equipment issue).
"""
import os
import shutil
import signal
import socket
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalkit import callcert
from evalkit.cli import main
from evalkit.store import audit, notifications, open_store, submissions

ROOT = Path(__file__).resolve().parent.parent
LEVELS = "OPEN1=4,OPEN2=4,HAND1=4,HAND2=4,HAND3=4,RES1=4,RES2=4,RES3=4,CLOSE1=4,CLOSE2=4"
COACHING = ["--certifier", "Pat Lee", "--went-well", "Clear greeting", "--positive", "Calm tone"]

CASES = [
    # workspace and database
    (["status", "-w", "{tmp}/nowhere"], 1, "{tmp}/nowhere is not an evalkit workspace"),
    (["status", "-w", "foo://bar"], 1, "cannot open database foo://bar: unknown kind of database 'foo'"),
    (["status", "-w", "://x"], 1, "the database URL cannot be parsed"),
    (["status", "-w", "mysql://u@127.0.0.1:1/db"], 1, "cannot open database mysql://u@127.0.0.1:1/db"),
    (["status", "-w", "postgresql+psycopg://u:secret@127.0.0.1:1/db"], 1,
     "cannot open database postgresql+psycopg://u:***@127.0.0.1:1/db"),
    (["status", "-w", "{corrupt}"], 1, "evalkit.db: file is not a database"),
    (["status", "--today", "2026-02-30", "-w", "{ws}"], 1, "--today '2026-02-30' is not a date"),
    # init
    (["init", ""], 1, "the folder name is empty"),
    (["init", "{file}"], 1, "{file} is a file; expected a folder"),
    (["init", "{file}/ws"], 1, "cannot create the workspace folder {file}/ws"),
    (["init", "{ws}"], 1, "{ws} already holds a workspace"),
    (["init", "{tmp}/new", "--seed", "abc"], 2, "invalid int value: 'abc'"),
    # sync
    (["sync", "--programs", "{tmp}", "-w", "{ws}"], 1, "{tmp}: cannot be read"),
    (["sync", "--programs", "{tmp}/none.yaml", "-w", "{ws}"], 1, "none.yaml: file not found"),
    (["sync", "--programs", "{broken_programs}", "-w", "{ws}"], 1,
     "several_problems.yaml:9: criteria[0].weight: is 'heavy'; expected a positive number (and 3 more: "
     "`evalkit rubric validate FILE`"),
    # raters and conflicts
    (["raters", "add", "new rater", "New Rater", "-w", "{ws}"], 1, "rater username 'new rater' contains a space"),
    (["raters", "add", "", "Nobody", "-w", "{ws}"], 1, "rater username is empty"),
    (["raters", "add", "sme.chen", "Again", "-w", "{ws}"], 1, "rater sme.chen is already registered"),
    (["conflicts", "add", "ghost", "CCOM-2025-1001", "-w", "{ws}"], 1, "unknown rater 'ghost'"),
    (["conflicts", "add", "sme.chen", "NOPE-1", "-w", "{ws}"], 1, "unknown candidate 'NOPE-1'"),
    # submissions import: all rows or none
    (["submissions", "import", "{tmp}", "-w", "{ws}"], 1, "{tmp}: cannot be read: Is a directory"),
    (["submissions", "import", "{tmp}/missing.csv", "-w", "{ws}"], 1, "missing.csv: file not found"),
    (["submissions", "import", "{empty_csv}", "-w", "{ws}"], 1, "empty.csv:1: header is empty; expected columns"),
    (["submissions", "import", "{bad_date_csv}", "-w", "{ws}"], 1,
     "bad_date.csv:3: received date '2026-02-30' is not a date (expected YYYY-MM-DD); nothing was imported"),
    # assign: a mistyped id is refused before any other submission is assigned
    (["assign", "{received}", "99999", "-w", "{ws}"], 1, "unknown submission 99999"),
    (["assign", "{decided}", "-w", "{ws}"], 1, "submission {decided} is decided; raters can only be assigned"),
    (["assign", "{received}", "--rater", "ghost", "-w", "{ws}"], 1, "unknown rater 'ghost'"),
    (["assign", "abc", "-w", "{ws}"], 2, "invalid int value: 'abc'"),
    # agreement
    (["agreement", "--program", "NOPE", "-w", "{ws}"], 1, "unknown program 'NOPE'"),
    (["agreement", "--program", "CCOM", "--bootstrap", "-1", "-w", "{ws}"], 2, "expected 0 or more, got -1"),
    (["agreement", "--program", "CCOM", "--seed", "-1", "-w", "{ws}"], 2, "expected 0 or more, got -1"),
    (["agreement", "--program", "CCOM", "--min-shared", "0", "-w", "{ws}"], 2, "expected 1 or more, got 0"),
    (["agreement", "--program", "CCOM", "--out", "{tmp}", "-w", "{ws}"], 1, "{tmp} is a folder"),
    (["agreement", "--program", "CCOM", "--out", "", "-w", "{ws}"], 1, ". is a folder"),
    (["agreement", "--program", "CCOM", "--out", "{tmp}/no/r.html", "-w", "{ws}"], 1,
     "folder {tmp}/no does not exist"),
    # call certification
    (["callcert", "score-call", "99999", "--levels", LEVELS, *COACHING, "-w", "{ws}"], 1, "unknown agent 99999"),
    (["callcert", "score-call", "{agent_done}", "--levels", LEVELS, *COACHING, "-w", "{ws}"], 1,
     "agent {agent_done} already has 5 scored calls"),
    (["callcert", "score-call", "{agent_equipment}", "--levels", LEVELS, *COACHING, "-w", "{ws}"], 1,
     "agent {agent_equipment} has an open equipment issue"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS.replace("OPEN1=4", "OPEN1=5"), *COACHING,
      "-w", "{ws}"], 1, "criterion OPEN1: level 5 is not on the scale [0, 1, 2, 3, 4]"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS + ",OPEN1=3", *COACHING, "-w", "{ws}"], 1,
     "--levels gives OPEN1 twice"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS.replace(",CLOSE2=4", ""), *COACHING,
      "-w", "{ws}"], 1, "no level for CLOSE2"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS, *COACHING, "--date", "2026-02-30",
      "-w", "{ws}"], 1, "call date '2026-02-30' is not a date"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS, *COACHING, "--hours", "-1", "-w", "{ws}"], 1,
     "call duration -1.0 is not a number of hours"),
    (["callcert", "note", "{agent_new}", "--name", "Jo", "--text", "", "-w", "{ws}"], 1,
     "note text is empty"),
    (["callcert", "tbt", "{agent_new}", "--hours", "0", "-w", "{ws}"], 1, "TBT hours 0.0 is not a number of hours"),
    (["callcert", "export", "{agent_new}", "-w", "{ws}"], 1, "calls scored; the scorecard is exported after"),
    (["callcert", "export", "{agent_done}", "--out", "{file}", "-w", "{ws}"], 1, "{file} is not a folder"),
    (["callcert", "eod-report", "--out", "{tmp}", "-w", "{ws}"], 1, "{tmp} is a folder; expected a file name"),
    (["callcert", "eod-report", "--date", "2026-02-30", "-w", "{ws}"], 1, "--date '2026-02-30' is not a date"),
    # serve: argument checks only (no server is started)
    (["serve", "--port", "0", "-w", "{ws}"], 1, "--port 0 is not a TCP port"),
    (["serve", "-w", "{tmp}/nowhere"], 1, "{tmp}/nowhere is not an evalkit workspace"),
    # letters: a half-finished evaluation gets no letter and no notification
    (["letters", "--only", "{scoring}", "-w", "{ws}"], 1,
     "no letter issued, 1 refused: submission {scoring} is not decided (scoring)"),
    (["letters", "--only", "{received}", "99999", "--dry-run", "-w", "{ws}"], 1,
     "no letter issued, 2 refused: submission {received} is not decided (received)"),
    (["letters", "--only", "{benchmark}", "-w", "{ws}"], 1, "is a benchmark (calibration) submission"),
    (["letters", "--only", "{decided}", "--issue-date", "2000-01-03", "-w", "{ws}"], 1,
     "issue date 2000-01-03 is before the decision of submission {decided}"),
    (["letters", "--only", "{decided}", "--out", "{file}", "-w", "{ws}"], 1, "letters folder {file} is not a folder"),
    (["letters", "--issue-date", "2026-02-30", "--dry-run", "-w", "{ws}"], 1,
     "issue date '2026-02-30' is not a date"),
    (["letters", "--issue-date", "2199-01-04", "--dry-run", "-w", "{ws}"], 1, "issue date 2199-01-04 is in the future"),
    (["letters", "--jobs", "-1", "--dry-run", "-w", "{ws}"], 1, "jobs -1: expected a whole number >= 1"),
    (["letters", "--program", "NOPE", "--dry-run", "-w", "{ws}"], 1, "unknown program 'NOPE'"),
    # --out: the same rule everywhere (the leaf folder is created, a missing parent is refused)
    (["letters", "--only", "{decided}", "--out", "{tmp}/no/letters", "-w", "{ws}"], 1,
     "cannot create the letters folder {tmp}/no/letters: folder {tmp}/no does not exist"),
    (["callcert", "export", "{agent_done}", "--out", "{tmp}/no/cards", "-w", "{ws}"], 1,
     "cannot create the scorecards folder {tmp}/no/cards: folder {tmp}/no does not exist"),
    (["callcert", "eod-report", "--out", "{tmp}/no/eod.md", "-w", "{ws}"], 1,
     "cannot write {tmp}/no/eod.md: folder {tmp}/no does not exist"),
    # numbers and dates: ASCII digits in range, dates a calendar can count from
    (["assign", "123456789012345678901", "-w", "{ws}"], 2, "expected 1 or more, got a 21-digit number"),
    (["assign", "\u0664", "-w", "{ws}"], 2, "invalid int value: '\u0664'"),
    (["letters", "--only", "99999999999999999999", "--dry-run", "-w", "{ws}"], 2, "got a 20-digit number"),
    (["callcert", "tbt", "99999999999999999999", "--hours", "1", "-w", "{ws}"], 2, "got a 20-digit number"),
    (["status", "--today", "9999-12-31", "-w", "{ws}"], 1, "--today 9999-12-31 is outside the years 1900-2199"),
    (["callcert", "eod-report", "--date", "9999-12-31", "-w", "{ws}"], 1, "is outside the years 1900-2199"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS.replace("OPEN1=4", "OPEN1=\u0664"), *COACHING,
      "-w", "{ws}"], 1, "--levels item 'OPEN1=\u0664' is not ITEM=LEVEL"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS.replace("OPEN1=4", "OPEN1=\u00b2"), *COACHING,
      "-w", "{ws}"], 1, "--levels item 'OPEN1=\u00b2' is not ITEM=LEVEL"),
    (["callcert", "score-call", "{agent_new}", "--levels", LEVELS.replace("OPEN1=4", "OPEN1=" + "9" * 400), *COACHING,
      "-w", "{ws}"], 1, "is not ITEM=LEVEL"),
]


@pytest.fixture(scope="module")
def demo_ids(demo_workspace) -> dict:
    """Ids of the demo's submissions by state and of agents in a few situations (the same in every copy)."""
    store = open_store(demo_workspace)
    with store.read() as conn:
        subs = conn.execute(sa.select(submissions.c.id, submissions.c.state, submissions.c.is_benchmark)
                            .order_by(submissions.c.id)).all()
    agents = callcert.overview(store)
    store.dispose()
    ids = {}
    for sid, state, benchmark in subs:
        ids.setdefault("benchmark" if benchmark else state, sid)
    ids["agent_done"] = next(a.agent_id for a in agents if a.certification.calls_scored == 5)
    ids["agent_equipment"] = next(a.agent_id for a in agents if a.equipment_issue)
    ids["agent_new"] = next(a.agent_id for a in agents if a.certification.calls_scored == 0
                            and not a.equipment_issue and a.day is not None)
    return ids


@pytest.fixture
def places(demo_copy, demo_ids, tmp_path) -> dict:
    tmp = tmp_path / "scratch"
    tmp.mkdir()
    files = tmp_path / "files"
    (files / "corrupt").mkdir(parents=True)
    (files / "corrupt" / "evalkit.db").write_text("not a database\n")
    (files / "notes.txt").write_text("a file, not a folder\n")
    (files / "empty.csv").write_text("")
    (files / "bad_date.csv").write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff\n"
                                        "C-1,Ann,Lee,CCOM,2026-02-03,yes\nC-2,Bo,Ng,CCOM,2026-02-30,yes\n")
    shutil.copytree(ROOT / "rubrics", files / "rubrics")
    programs = files / "rubrics" / "programs.yaml"
    broken = ROOT / "tests" / "fixtures" / "rubrics" / "several_problems.yaml"
    programs.write_text(programs.read_text().replace("rubric: ccom_wpa.yaml", f"rubric: {broken}"))
    return {**demo_ids, "ws": demo_copy, "tmp": tmp, "file": files / "notes.txt", "corrupt": files / "corrupt",
            "empty_csv": files / "empty.csv", "bad_date_csv": files / "bad_date.csv",
            "broken_programs": programs}


@pytest.fixture(autouse=True)
def keep_sigterm_handler():
    """`evalkit serve` installs a SIGTERM handler before it checks its arguments: give pytest its own back."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def audit_count(workspace) -> int:
    store = open_store(workspace)
    with store.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar()
    store.dispose()
    return count


def run(capsys, argv) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv, code, message", CASES, ids=[" ".join(c[0][:3]) + f" #{i}" for i, c in
                                                             enumerate(CASES)])
def test_bad_input_is_one_line_and_changes_nothing(places, capsys, argv, code, message):
    before = audit_count(places["ws"])
    got, err = run(capsys, [a.format(**places) for a in argv])
    lines = err.strip().splitlines()
    assert got == code, err
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("evalkit: error: "), err
    else:
        assert lines[0].startswith("usage: evalkit") and ": error: " in lines[-1], err
    assert message.format(**places) in lines[-1]
    assert audit_count(places["ws"]) == before  # nothing half-saved


def test_undecided_submission_sent_to_letters_is_not_notified(places, capsys):
    store = open_store(places["ws"])
    with store.read() as conn:
        notified_before = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar()
    assert run(capsys, ["letters", "--only", str(places["scoring"]), str(places["decided"]), "--issue-date",
                        "2000-01-03", "-w", str(places["ws"])])[0] == 1
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar() == notified_before
        assert conn.execute(sa.select(submissions.c.state).where(submissions.c.id == places["scoring"])
                            ).scalar() == "scoring"
    store.dispose()


def test_a_sqlite_url_to_a_foreign_file_leaves_its_permissions_alone(tmp_path, capsys):
    folder = tmp_path / "shared"
    folder.mkdir()
    other = folder / "passwd"
    other.write_text("root:x:0:0\n")
    os.chmod(folder, 0o755)
    os.chmod(other, 0o644)
    for target in (other, folder):
        code, err = run(capsys, ["status", "-w", f"sqlite:///{target}"])
        assert code == 1 and err.startswith(f"evalkit: error: cannot open database sqlite:///{target}: ")
        assert len(err.strip().splitlines()) == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755 and stat.S_IMODE(other.stat().st_mode) == 0o644
    assert other.read_text() == "root:x:0:0\n"


def test_serve_refuses_a_busy_port(demo_copy, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        code, err = run(capsys, ["serve", "--port", str(port), "-w", str(demo_copy)])
    assert code == 1 and err == f"evalkit: error: port {port} on 127.0.0.1 is in use; choose another with --port\n"
