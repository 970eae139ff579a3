"""Knowledge & Skills Assessment results and the certification status they give (issue 11, items 3 and 4)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from evalkit.certification import (ResultError, attempts, candidate_status, import_results, passed_on, record_result,
                                   standings)
from evalkit.cli import main
from evalkit.evaluation import workflow
from evalkit.store import assessment_results, audit
from eligible_profiles import add_eligible_candidate

D = dt.date


@pytest.fixture
def s(store):
    add_eligible_candidate(store, "C-1", "Ann", "Lee")
    return store


def _count(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(assessment_results)).scalar()


@pytest.mark.parametrize("program, score, passed", [
    ("CCOM", 74.99, False), ("CCOM", 75, True), ("CCSL", 74, False), ("CCMA", 69.99, False), ("CCMA", 70, True),
    ("CCMC", 75, True),
])
def test_a_component_passes_at_its_programs_mark(s, program, score, passed):
    record_result(s, "C-1", program, "knowledge_2", score, 100, D(2026, 3, 2))
    assert attempts(s, "C-1", program)[0]["passed"] is passed
    assert passed_on(s, "C-1", program)["knowledge_2"] == (D(2026, 3, 2) if passed else None)


def test_retakes_are_attempts_and_the_first_pass_counts(s):
    for day, score in ((D(2026, 1, 5), 60), (D(2026, 2, 5), 80), (D(2026, 3, 5), 90)):
        record_result(s, "C-1", "CCOM", "knowledge_1", score, 100, day)
    tried = attempts(s, "C-1", "CCOM")
    assert [(a["attempt"], a["passed"]) for a in tried] == [(1, False), (2, True), (3, True)]
    assert passed_on(s, "C-1", "CCOM")["knowledge_1"] == D(2026, 2, 5)
    with s.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)
                            .where(audit.c.entity == "assessment_results")).scalar() == 3


@pytest.mark.parametrize("args, message", [
    (("C-1", "CCOM", "knowledge_1", 101, 100, "2026-03-02"), "score 101 is above the maximum 100"),
    (("C-1", "CCOM", "knowledge_1", -1, 100, "2026-03-02"), "score -1: expected a number >= 0"),
    (("C-1", "CCOM", "knowledge_1", "abc", 100, "2026-03-02"), "score 'abc' is not a number"),
    (("C-1", "CCOM", "knowledge_1", 5, 0, "2026-03-02"), "maximum is 0"),
    (("C-1", "CCOM", "knowledge_5", 80, 100, "2026-03-02"), "knowledge_5' is not one of CCOM's knowledge"),
    (("C-1", "CCOM", "work_product", 80, 100, "2026-03-02"), "'work_product' is not one of CCOM's knowledge"),
    (("C-1", "NOPE", "knowledge_1", 80, 100, "2026-03-02"), "unknown program 'NOPE'"),
    (("C-9", "CCOM", "knowledge_1", 80, 100, "2026-03-02"), "unknown candidate 'C-9'"),
    (("C-1", "CCOM", "knowledge_1", 80, 100, "2026-02-30"), "date taken '2026-02-30' is not a date"),
    (("C-1", "CCOM", "knowledge_1", 80, 100, "2199-01-01"), "is in the future"),
])
def test_a_bad_result_is_refused_in_one_line_and_nothing_is_stored(s, args, message):
    with pytest.raises(workflow.WorkflowError, match=message):
        record_result(s, *args)
    assert _count(s) == 0


HEADER = "candidate_id,program,component,score,maximum,taken_on,attempt\n"


def test_results_import_is_all_rows_or_none_with_line_numbers(s, tmp_path, capsys):
    path = tmp_path / "results.csv"
    path.write_text(HEADER + "C-1,CCMA,knowledge_1,70,100,2026-03-02,\nC-1,CCMA,knowledge_2,71,100,2026-03-02,\n"
                    "C-1,CCMA,knowledge_3,110,100,2026-03-02,\n")
    assert main(["results", "import", str(path), "-w", str(s.workspace)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"evalkit: error: {path}:4: score 110 is above the maximum 100; nothing was imported")
    assert _count(s) == 0
    path.write_text(HEADER + "".join(f"C-1,CCMA,knowledge_{i},70,100,2026-03-0{i},\n" for i in range(1, 5)) +
                    "C-1,CCMA,knowledge_1,90,100,2026-03-09,2\n")
    assert main(["results", "import", str(path), "-w", str(s.workspace)]) == 0
    assert capsys.readouterr().out == "imported 5 result(s): 1-5\n"
    path.write_text(HEADER + "C-1,CCMA,knowledge_1,90,100,2026-03-09,2\n")
    with pytest.raises(ResultError, match=r"results.csv:2: candidate C-1 already has attempt 2 at CCMA knowledge_1"):
        import_results(s, path)
    assert _count(s) == 5


def test_status_from_every_component_the_window_and_recertification(s):
    for i in range(1, 5):
        record_result(s, "C-1", "CCMA", f"knowledge_{i}", 80, 100, D(2025, 3, i))
    assert str(candidate_status(s, "C-1", "CCMA", D(2026, 1, 1)).status) == "certified until 2028-03-04"
    assert candidate_status(s, "C-1", "CCMA", D(2028, 1, 1)).status.state == "recertification due"
    assert candidate_status(s, "C-1", "CCMA", D(2028, 3, 5)).status.state == "expired"
    # CCOM also needs its work product: four passed assessments leave it in progress, past the window expired
    # (for a candidate who holds no CCMA: see the advancement tests for one who does)
    add_eligible_candidate(s, "C-2", "Bo", "Ng")
    for i in range(1, 5):
        record_result(s, "C-2", "CCOM", f"knowledge_{i}", 80, 100, D(2025, 3, i))
    ccom = candidate_status(s, "C-2", "CCOM", D(2026, 1, 1))
    assert ccom.status.state == "in progress" and ccom.missing == ["work_product"]
    assert candidate_status(s, "C-2", "CCOM", D(2027, 3, 2)).status.state == "expired"


def test_candidates_show_prints_components_attempts_and_status(s, capsys):
    record_result(s, "C-1", "CCMA", "knowledge_1", 69, 100, D(2026, 3, 2))
    record_result(s, "C-1", "CCMA", "knowledge_1", 70, 100, D(2026, 4, 2))
    assert main(["candidates", "show", "C-1", "--today", "2026-05-01", "-w", str(s.workspace)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("C-1 · CIAC-Certified Management Associate (CCMA): in progress (missing knowledge_2, "
                      "knowledge_3, knowledge_4; complete by 2028-04-02)")
    assert out[1] == "  knowledge_1    passed 2026-04-02  [2026-03-02 69/100 = 69.0%; 2026-04-02 70/100 = 70.0% pass]"
    assert out[2] == "  knowledge_2    not yet passed"
    assert main(["candidates", "show", "C-9", "-w", str(s.workspace)]) == 1
    assert capsys.readouterr().err.strip() == "evalkit: error: unknown candidate 'C-9'"


def test_a_passed_work_product_completes_ccom(s):
    for i in range(1, 5):
        record_result(s, "C-1", "CCOM", f"knowledge_{i}", 80, 100, D(2026, 3, i))
    for username in ("r1", "r2"):
        workflow.add_rater(s, username, username.upper())
    sid = workflow.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    workflow.assign_raters(s, sid, ["r1", "r2"])
    rubric = workflow.rubric_for(s, workflow.submission(s, sid)["rubric_version"])
    levels = {c.id: c.meets_standard for c in rubric.criteria}
    for username in ("r1", "r2"):
        workflow.submit_final(s, sid, username, levels, {}, today=D(2026, 9, 22))
    standing = candidate_status(s, "C-1", "CCOM", D(2026, 10, 1))
    assert standing.passed_on["work_product"] == D(2026, 9, 22) and standing.missing == []
    assert str(standing.status) == "certified until 2029-09-22"


def test_candidates_list_puts_what_needs_attention_first_and_filters_by_status(s, capsys):
    add_eligible_candidate(s, "C-2", "Bo", "Ng")
    for i in range(1, 5):
        record_result(s, "C-1", "CCMA", f"knowledge_{i}", 80, 100, D(2023, 3, i))   # certified until 2026-03-04
        record_result(s, "C-2", "CCMA", f"knowledge_{i}", 80, 100, D(2025, 3, i))   # certified until 2028-03-04
    assert main(["candidates", "list", "--today", "2026-01-15", "-w", str(s.workspace)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [["C-1", "CCMA", "recertification"], ["C-2", "CCMA", "certified"]]
    assert main(["candidates", "list", "--status", "certified", "--today", "2026-01-15",
                 "-w", str(s.workspace)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["C-2"]
    with pytest.raises(ResultError, match="status 'lapsed': expected one of"):
        standings(s, state="lapsed")


@pytest.mark.parametrize("score", [None, "", "1e400", "nan", 10**400])
def test_a_score_that_is_no_number_is_refused_in_one_line(s, score):
    with pytest.raises(ResultError, match=r"^score .*(is not a number|expected a number >= 0)$"):
        record_result(s, "C-1", "CCOM", "knowledge_1", score, 100, D(2026, 3, 2))
    assert _count(s) == 0


def test_a_recertification_extends_the_status_the_components_give(s, tmp_path):
    from evalkit.certification import certificates as certs
    for i in range(1, 5):
        record_result(s, "C-1", "CCMA", f"knowledge_{i}", 80, 100, D(2023, 12, i))   # until 2026-12-04
    assert candidate_status(s, "C-1", "CCMA", D(2026, 12, 1)).status.state == "recertification due"
    cert = certs.decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2026, 11, 30), actor="director")
    certs.recertify(s, cert["number"], on=D(2026, 12, 1), actor="director")
    after = candidate_status(s, "C-1", "CCMA", D(2026, 12, 2)).status
    assert (after.state, after.until, after.since) == ("certified", D(2029, 12, 4), D(2023, 12, 4))
    assert candidate_status(s, "C-1", "CCMA", D(2029, 12, 5)).status.state == "expired"
    certs.suspend(s, cert["number"], "complaint", actor="director", on=D(2026, 12, 2))
    assert candidate_status(s, "C-1", "CCMA", D(2026, 12, 2)).status.until == D(2026, 12, 4)  # only an active one
