"""The admin's command line: each command works, and bad input exits non-zero with one line naming what."""
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_import_assign_status(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert run(capsys, "init", ws)[0] == 0
    code, _, err = run(capsys, "init", ws)
    assert code == 1 and err.strip() == f"evalkit: error: {ws} already holds a workspace; choose another folder"
    for u in ("r1", "r2"):
        assert run(capsys, "raters", "add", u, f"Rater {u}", "-w", ws)[0] == 0
    csv = tmp_path / "in.csv"
    csv.write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff\n"
                   "C-1,Ann,Lee,CCOM,2026-09-01,yes\nC-2,Bo,Ng,ICMI-OM,2026-09-02,no\n")
    code, out, err = run(capsys, "submissions", "import", csv, "-w", ws)
    assert code == 1 and err.strip() == (f"evalkit: error: {csv}:2: candidate C-1 is not eligible for CCOM: no profile on "
                                         "record (experience, education); record their profile, or admit them with an "
                                         "override and its reason; nothing was imported")
    csv.write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff,eligibility_override\n"
                   "C-1,Ann,Lee,CCOM,2026-09-01,yes,employer confirms a year as acting manager\n"
                   "C-2,Bo,Ng,ICMI-OM,2026-09-02,no,\n")
    code, out, err = run(capsys, "submissions", "import", csv, "-w", ws)
    assert code == 0 and "imported 2 submission(s): 1, 2" in out and "warning: ICMI-OM" in err
    code, out, _ = run(capsys, "assign", "-w", ws)
    assert code == 0 and "submission 1: r1, r2" in out
    code, out, _ = run(capsys, "status", "-w", ws, "--today", "2026-10-20")
    assert code == 0 and "overdue (2):" in out and "#1     CCOM     scoring" in out


@pytest.mark.parametrize("argv, message", [
    (["status", "-w", "{tmp}/none"], "is not an evalkit workspace"),
    (["assign", "99", "-w", "{ws}"], "unknown submission 99"),
    (["raters", "add", "r1", "Again", "-w", "{ws}"], "rater r1 is already registered"),
    (["conflicts", "add", "ghost", "C-1", "-w", "{ws}"], "unknown rater 'ghost'"),
    (["submissions", "import", "{tmp}/missing.csv", "-w", "{ws}"], "missing.csv: file not found"),
    (["status", "--today", "someday", "-w", "{ws}"], "--today 'someday' is not a date (expected YYYY-MM-DD)"),
])
def test_bad_input_is_one_line_and_exit_1(tmp_path, capsys, argv, message):
    ws = tmp_path / "ws"
    main(["init", str(ws)])
    main(["raters", "add", "r1", "R", "-w", str(ws)])
    capsys.readouterr()
    code, _, err = run(capsys, *[a.format(tmp=tmp_path, ws=ws) for a in argv])
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("evalkit: error: ") and message in err


def test_rubric_validate_reports_every_problem_per_file(tmp_path, capsys):
    good = ROOT / "rubrics" / "ccom_wpa.yaml"
    code, out, _ = run(capsys, "rubric", "validate", good, ROOT / "rubrics" / "call_scorecard.yaml")
    assert code == 0 and "2 rubric file(s) valid" in out
    bad = ROOT / "tests" / "fixtures" / "rubrics" / "several_problems.yaml"
    with pytest.raises(SystemExit) as info:
        main(["rubric", "validate", str(good), str(bad)])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith(f"{bad}:") for line in err)


def test_console_script_runs_and_usage_errors_exit_2():
    exe = Path(sys.executable).parent / "evalkit"
    done = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "init" in done.stdout
    done = subprocess.run([exe, "frobnicate"], capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice: 'frobnicate'" in done.stderr


def test_sync_reports_versions(tmp_path, capsys):
    ws = tmp_path / "ws"
    main(["init", str(ws)])
    code, out, _ = run(capsys, "sync", "-w", ws)
    assert code == 0 and "CCOM: rubric version " in out


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(demo_copy):
    exe = Path(sys.executable).parent / "evalkit"
    done = subprocess.run(f"'{exe}' status -w '{demo_copy}' | head -1", shell=True, capture_output=True, text=True,
                          executable="/bin/bash")
    assert done.stdout.startswith("pipeline:") and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_conflict_command_releases_an_open_assignment(tmp_path, capsys):
    ws = tmp_path / "ws"
    main(["init", str(ws)])
    for u in ("r1", "r2", "r3"):
        main(["raters", "add", u, u.upper(), "-w", str(ws)])
    csv = tmp_path / "in.csv"
    csv.write_text("candidate_id,first_name,last_name,program,received_on,manager_signoff\n"
                   "C-1,Ann,Lee,ICMI-OM,2026-09-01,yes\n")
    main(["submissions", "import", str(csv), "-w", str(ws)])
    main(["assign", "-w", str(ws)])
    capsys.readouterr()
    code, out, _ = run(capsys, "conflicts", "add", "r1", "C-1", "-w", ws)
    assert code == 0 and "released from submission(s) 1" in out
    code, out, _ = run(capsys, "assign", "-w", ws)
    assert code == 0 and "submission 1: r3" in out


def test_init_demo_says_what_it_is_doing_from_the_start(tmp_path, capsys):
    assert main(["init", str(tmp_path / "ws"), "--demo"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "demo: creating the workspace and registering the programs and rubrics"
    assert "demo: candidates 1-12 of 72: work products and scores" in err
    assert err[-1] == "demo: call-certification agents in every stage"


# --- start-up -----------------------------------------------------------------------------------------------------

#: What a command that does not need them must not import: the report's numerics, plotting and PDF libraries, and
#: (for ``--help``) the database layer.
HEAVY = ("pandas", "scipy", "matplotlib", "weasyprint")


def _imported_after(argv: list[str]) -> set[str]:
    """The top-level packages imported by ``evalkit ARGV`` run in a fresh interpreter (whatever its exit status)."""
    code = ("import sys\nfrom evalkit.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT)
    return set(done.stderr.strip().splitlines()[-1].split())


def test_help_imports_no_heavy_library_and_no_database_layer():
    # `evalkit --help` lists every command without importing what the commands use; an option whose choices come
    # from a domain module is added when its command is parsed (a command's own --help still shows them)
    imported = _imported_after(["--help"])
    assert not imported & {*HEAVY, "sqlalchemy", "numpy", "yaml", "nbformat", "papermill"}, imported
    assert "{valid,expired,suspended,withdrawn}" in subprocess.run(
        [sys.executable, "-m", "evalkit.cli", "certificates", "list", "--help"], capture_output=True, text=True,
        cwd=ROOT).stdout


def test_status_imports_only_what_it_uses(demo_workspace):
    imported = _imported_after(["status", "-w", str(demo_workspace)])
    assert "sqlalchemy" in imported  # it did read the workspace
    assert not imported & set(HEAVY), imported
