import pytest
import sqlalchemy as sa

from evalkit.evaluation import workflow as wf
from evalkit.evaluation.importer import import_submissions
from evalkit.store import candidates, submissions

HEADER = "candidate_id,first_name,last_name,email,program,received_on,manager_signoff,document\n"


def write(tmp_path, body, header=HEADER):
    path = tmp_path / "in.csv"
    path.write_text(header + body)
    return path


def counts(store):
    with store.read() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(candidates)).scalar(),
                conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar())


def test_all_rows_imported_new_candidates_registered(store, tmp_path):
    (store.workspace / "documents" / "a.md").write_text("# Plan")
    path = write(tmp_path, "C-1,Ann,Lee,ann@x.org,CCOM,2026-09-01,yes,documents/a.md\n"
                           "C-2,Bo,Ng,,ICMI-PA,2026-09-02,no,\n")
    with pytest.warns(wf.SignoffWarning):
        ids = import_submissions(store, path)
    assert len(ids) == 2 and counts(store) == (2, 2)
    assert wf.submission(store, ids[0])["document"] == "documents/a.md"
    assert wf.submission(store, ids[1])["manager_signoff"] is False


@pytest.mark.parametrize("row, message", [
    ("C-2,Bo,Ng,,CCOM,2026-09-02,no,", r"in.csv:3: CCOM requires the manager's sign-off"),
    ("C-2,Bo,Ng,,CCOM,2026-13-02,yes,", r"in.csv:3: received date '2026-13-02' is not a date"),
    ("C-2,Bo,Ng,,CCXX,2026-09-02,yes,", r"in.csv:3: unknown program 'CCXX'"),
    ("C-2,,Ng,,CCOM,2026-09-02,yes,", r"in.csv:3: first name is empty"),
    ("C-2,Bo,Ng,,CCOM,2026-09-02,perhaps,", r"in.csv:3: manager_signoff 'perhaps' is not yes or no"),
    ("C-1,Ann,Lee,,CCOM,2026-09-02,yes,", r"in.csv:3: candidate C-1 appears twice for CCOM"),
    ("C-2,Bo,Ng,,CCOM,2026-09-02,yes,,extra", r"in.csv:3: more fields than the header's 8"),
    ("C-2,Bo,Ng,,CCOM,2026-09-02,yes,documents/missing.md", r"in.csv:3: document documents/missing.md not found"),
])
def test_a_bad_row_names_its_line_and_nothing_is_imported(store, tmp_path, row, message):
    path = write(tmp_path, "C-1,Ann,Lee,,CCOM,2026-09-01,yes,\n" + row + "\n")
    with pytest.raises(wf.WorkflowError, match=message + ".*nothing was imported"):
        import_submissions(store, path)
    assert counts(store) == (0, 0)


def test_bad_header_and_missing_file(store, tmp_path):
    with pytest.raises(wf.WorkflowError, match=r"in.csv:1: header has unknown column\(s\) recieved_on"):
        import_submissions(store, write(tmp_path, "", header="candidate_id,program,recieved_on,manager_signoff\n"))
    with pytest.raises(wf.WorkflowError, match="lacks received_on"):
        import_submissions(store, write(tmp_path, "", header="candidate_id,program,manager_signoff\n"))
    with pytest.raises(wf.WorkflowError, match="nope.csv: file not found"):
        import_submissions(store, tmp_path / "nope.csv")
