"""evalkit.outputs: where files go, how they are written, what a spreadsheet cell may hold; and the commands that
write files follow those rules (issue 10 items 3, 7 and 8)."""
import csv
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from evalkit import outputs
from evalkit.callcert import export_scorecard
from evalkit.letters import batch
from evalkit.letters.engine import _SOCKET_PREFIX, _remove_orphaned_socket_dirs
from evalkit.store import StoreError, open_store


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_output_folder_is_created_only_as_the_last_step(tmp_path):
    assert outputs.output_folder(tmp_path / "letters").is_dir()
    assert stat.S_IMODE((tmp_path / "letters").stat().st_mode) == 0o700
    with pytest.raises(outputs.OutputError, match="folder .*/no does not exist"):
        outputs.output_folder(tmp_path / "no" / "letters")
    (tmp_path / "file").write_text("x")
    with pytest.raises(outputs.OutputError, match="is not a folder"):
        outputs.output_folder(tmp_path / "file")


def test_an_output_folder_made_by_another_thread_meanwhile_is_used(tmp_path, monkeypatch):
    # two certificates issued at once into a new folder: the other one creates it just after this one looked;
    # that is the folder wanted, not "is not a folder"
    target, original, looked = tmp_path / "pdf", outputs.Path.is_dir, []

    def made_just_after_looking(self):
        seen = original(self)
        if self == target and not looked:
            looked.append(self)
            os.mkdir(target, 0o700)
        return seen

    monkeypatch.setattr(outputs.Path, "is_dir", made_just_after_looking)
    assert outputs.output_folder(target) == target and looked


def test_write_private_is_atomic_owner_only_and_hashes(tmp_path):
    digest = outputs.write_private(tmp_path / "a.txt", "héllo")
    assert (tmp_path / "a.txt").read_text() == "héllo" and len(digest) == 64
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o600
    outputs.write_private(tmp_path / "b.bin", lambda p: p.write_bytes(b"\x00\x01"))
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]  # no temporary left
    with pytest.raises(outputs.OutputError, match="is a folder"):
        outputs.write_private(tmp_path, "x")


def test_only_evalkits_own_dead_temporaries_are_removed(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    stale = tmp_path / f".a.html{outputs.TEMP_MARK}{dead}.tmp"
    stale_nb = tmp_path / f".a{outputs.TEMP_MARK}{dead}.tmp.ipynb"
    writing = tmp_path / f".b.html{outputs.TEMP_MARK}{alive}.tmp"
    foreign = [tmp_path / ".editor-swap.tmp", tmp_path / ".x.tmp.ipynb", tmp_path / "notes.tmp"]
    for path in [stale, stale_nb, writing, *foreign]:
        path.write_text("x")
    assert sorted(outputs.remove_stale_temporaries(tmp_path)) == sorted([stale, stale_nb])
    assert writing.exists() and all(p.exists() for p in foreign)


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\uff1d1+1"])
def test_formula_like_text_is_made_text_for_csv(text):
    assert outputs.is_formula_like(text) and outputs.csv_text(text) == "'" + text
    assert outputs.csv_text("Smith") == "Smith" and outputs.csv_text(7) == 7


def test_a_scorecard_workbook_holds_no_formula_from_typed_text(demo_copy):
    from openpyxl import load_workbook

    from evalkit.callcert import overview
    from evalkit.callcert.records import agent
    store = open_store(demo_copy)
    done = next(a for a in overview(store) if a.certification.calls_scored == 5)
    with store.transaction("test") as tx:  # a name as someone might type it to attack the office's Excel
        from evalkit.store import cc_agents
        tx.update(cc_agents, {"id": done.agent_id}, {"last_name": "=HYPERLINK(\"http://evil\",\"x\")"})
    path = export_scorecard(store, done.agent_id, demo_copy / "out")
    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    summary = load_workbook(path)["Summary"]
    assert summary["B2"].data_type == "s" and summary["B2"].value.startswith("=HYPERLINK")
    assert agent(store, done.agent_id)["last_name"].startswith("=HYPERLINK")
    store.dispose()


def test_one_letter_batch_per_database_whatever_its_output_folder(demo_copy, tmp_path):
    store = open_store(demo_copy)
    with store.exclusive("letters"):
        with pytest.raises(StoreError, match="another letters run is working on"):
            batch.run_batch(demo_copy, out=tmp_path / "elsewhere", jobs=1)
    store.dispose()


def test_the_database_lock_holds_across_processes_on_postgresql_too(pg_url):
    store = open_store(pg_url, create=True)
    code = ("import sys; from evalkit.store import open_store, StoreError\n"
            "s = open_store(sys.argv[1])\n"
            "try:\n    with s.exclusive('letters'): print('got it')\n"
            "except StoreError as e: print(e)\n")
    with store.exclusive("letters"):
        held = subprocess.run([sys.executable, "-c", code, pg_url], capture_output=True, text=True, timeout=60)
    free = subprocess.run([sys.executable, "-c", code, pg_url], capture_output=True, text=True, timeout=60)
    store.dispose()
    assert "another letters run is working on" in held.stdout, held.stderr
    assert free.stdout.strip() == "got it", free.stderr


def test_a_batch_leaves_other_programs_temporary_files_alone(demo_copy, tmp_path):
    out = tmp_path / "letters"
    out.mkdir()
    foreign = out / ".report.docx.tmp"
    foreign.write_text("someone else's")
    ours = out / f".00001_x.html{outputs.TEMP_MARK}{_dead_pid()}.tmp"
    ours.write_text("left by a killed batch")
    result = batch.run_batch(demo_copy, out=out, jobs=1)
    assert result.ok and result.count("issued") > 0
    assert foreign.read_text() == "someone else's" and not ours.exists()


def test_manifest_csv_cells_are_text_in_a_spreadsheet(tmp_path):
    manifest_row = {"candidate": "=cmd|' /C calc'!A0", "late": True, "submission": 3}
    assert batch._csv_value(manifest_row["candidate"]) == "'=cmd|' /C calc'!A0"
    path = tmp_path / "m.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerow([batch._csv_value(v) for v in manifest_row.values()])
    assert path.read_text().startswith("'=cmd")


def test_orphaned_kernel_socket_folders_are_removed(tmp_path, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    orphan = tmp_path / f"{_SOCKET_PREFIX}{_dead_pid()}-abc"
    live = tmp_path / f"{_SOCKET_PREFIX}{os.getpid()}-def"
    other = tmp_path / "evalkit-kernel-notapid"
    for folder in (orphan, live, other):
        folder.mkdir()
        (folder / "kernel-1").write_text("")
    _remove_orphaned_socket_dirs()
    assert not orphan.exists() and live.exists() and other.exists()


def test_a_zombie_process_counts_as_ended():
    # Under a container's init a killed letter worker stays a zombie; its temporary files are still stale.
    import time
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until it has exited, unreaped (we do not wait for it yet)
        if open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    try:
        assert not outputs.process_running(child.pid)
        assert outputs.process_running(os.getpid())
    finally:
        child.wait()
