import pytest
import sqlalchemy as sa

from evalkit.evaluation import workflow as wf
from evalkit.evaluation.importer import import_submissions
from evalkit.store import candidates, open_store, submissions

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
    path = write(tmp_path, "C-1,Ann,Lee,ann@x.org,CCOM,2026-09-01,yes,documents/a.md,,acting manager (letter on file)\n"
                           "C-2,Bo,Ng,,ICMI-OM,2026-09-02,no,,,\n", header=HEADER.strip() + ",previous_submission,"
                                                                    "eligibility_override\n")
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


# --- hostile CSV: parsed by the csv module on the file, validated alike on SQLite and PostgreSQL --------------

def _write_bytes(tmp_path, body: str):
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + body).encode("utf-8"))
    return path


@pytest.mark.parametrize("body, message", [
    ('C-2,"' + "x" * 140_000 + '",Ng,,CCOM,2026-09-02,yes,\n', r"in.csv:2: field larger than field limit"),
    ("C-\x002,Bo,Ng,,CCOM,2026-09-02,yes,\n", r"in.csv:2: candidate id 'C-\\x002' contains a line break or control"),
    ("C" * 65 + ",Bo,Ng,,CCOM,2026-09-02,yes,\n", r"in.csv:2: candidate id is 65 characters long; expected at most 64"),
    ('C-2,"Ann\nMarie",Ng,,CCOM,2026-09-02,yes,\n', r"in.csv:2: first name 'Ann\\nMarie' contains a line break"),
    ('C-2,Bo,"Ng\u2028Lee",,CCOM,2026-09-02,yes,\n', r"in.csv:2: last name 'Ng\\u2028Lee' contains a line break"),
    ('C-2,Bo,"Ng\x85Lee",,CCOM,2026-09-02,yes,\n', r"in.csv:2: last name 'Ng\\x85Lee' contains a line break"),
    ('C-2,Bo,"Ng\x0cLee",,CCOM,2026-09-02,yes,\n', r"in.csv:2: last name 'Ng\\x0cLee' contains a line break"),
    ("C-2,Bo,Ng," + "a" * 250 + "@x.org,CCOM,2026-09-02,yes,\n", r"in.csv:2: e-mail is 256 characters long"),
])
def test_hostile_fields_are_refused_with_their_line_on_both_databases(any_store, tmp_path, body, message):
    with pytest.raises(wf.WorkflowError, match=message):
        import_submissions(any_store, _write_bytes(tmp_path, body))
    assert counts(any_store) == (0, 0)


def test_a_line_separator_inside_a_quoted_field_does_not_split_the_row(store, tmp_path):
    # str.splitlines() broke records at U+2028, NEL and form feed; the csv module keeps them in the field. The
    # line after the quoted field is still named correctly.
    body = 'C-1,Ann,Lee,"a\u2028b@x.org",CCOM,2026-09-01,yes,\nC-2,Bo,Ng,,CCOM,2026-09-02,yes,\n'
    with pytest.raises(wf.WorkflowError, match=r"in.csv:2: e-mail 'a\\u2028b@x.org' contains a line break"):
        import_submissions(store, _write_bytes(tmp_path, body))
    body = 'C-1,Ann,Lee,,CCOM,2026-09-01,yes,\n"C-2",Bo,"Ng",,CCXX,2026-09-02,yes,\n'
    with pytest.raises(wf.WorkflowError, match=r"in.csv:3: unknown program 'CCXX'"):
        import_submissions(store, _write_bytes(tmp_path, body))


def test_a_record_spanning_lines_is_named_by_its_first_line(store, tmp_path):
    body = 'C-1,Ann,Lee,,CCOM,2026-09-01,yes,\n\nC-2,"Bo\nBo",Ng,,CCOM,2026-09-02,yes,\nC-3,Cy,Ng,,CCOM,2026-09-02,yes,\n'
    with pytest.raises(wf.WorkflowError, match=r"in.csv:4: first name 'Bo\\nBo'"):
        import_submissions(store, _write_bytes(tmp_path, body))


def test_a_repeated_header_column_is_refused(store, tmp_path):
    header = "candidate_id,program,received_on,manager_signoff,program\n"
    with pytest.raises(wf.WorkflowError, match=r"in.csv:1: header repeats program; expected columns .* each once"):
        import_submissions(store, write(tmp_path, "C-1,CCOM,2026-09-01,yes,CCSL\n", header=header))


def test_a_large_import_holds_the_write_lock_briefly_and_is_all_or_nothing(store, tmp_path):
    # 40,000 rows held SQLite's write lock for about a minute (every command and kernel waited, then failed);
    # the rows are now checked before the transaction and written in a few statements. Readers never wait.
    import threading
    rows = "".join(f"C-{i},Ann,Lee{i},,CCOM,2026-09-01,yes,,employer's letter\n" for i in range(3000))
    path = write(tmp_path, rows, header=HEADER.strip() + ",eligibility_override\n")
    seen = []
    reader = open_store(store.workspace)

    def read_while_importing():
        with reader.read() as conn:
            seen.append(conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar())

    original = store.transaction

    def transaction_with_a_reader(actor):
        cm = original(actor)

        class Wrapped:
            def __enter__(self):
                tx = cm.__enter__()
                thread = threading.Thread(target=read_while_importing)
                thread.start()
                thread.join(10)  # a reader is answered while the write lock is held
                assert not thread.is_alive(), "a reader waited for the writer"
                return tx

            def __exit__(self, *exc):
                return cm.__exit__(*exc)
        return Wrapped()

    store.transaction = transaction_with_a_reader
    ids = import_submissions(store, path)
    reader.dispose()
    assert len(ids) == 3000 and seen == [0] and counts(store) == (3000, 3000)
    with store.read() as conn:  # every row audited
        from evalkit.store import audit
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)
                            .where(audit.c.entity == "submissions")).scalar() == 3000
    bad = write(tmp_path, "".join(f"D-{i},Bo,Ng{i},,CCOM,2026-09-01,yes,\n" for i in range(2000)) +
                "C-5,Ann,Lee5,,CCOM,2026-09-01,yes,\n")
    with pytest.raises(wf.WorkflowError, match=r"in.csv:2002: candidate C-5 already has a CCOM submission"):
        import_submissions(store, bad)
    assert counts(store) == (3000, 3000)
