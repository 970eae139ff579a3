import datetime as dt
import re
from pathlib import Path

import pytest

from evalkit.instruments.programs import ProgramError, certification_status, default_programs_path, load_programs

D = dt.date


@pytest.fixture(scope="module")
def programs():
    return load_programs()


ICMI = ("ICMI-SL", "ICMI-OM", "ICMI-MC")


def test_designations_and_their_rules(programs):
    assert set(programs) == {"CCSL", "CCOM", "CCMA", "CCMC", *ICMI, "ICMI-PA"}
    assert {p: programs[p].pass_mark for p in programs} == {
        "CCSL": 75, "CCOM": 75, "CCMA": 70, "CCMC": 75, **{p: 75 for p in ICMI}, "ICMI-PA": 75}
    for pid in ("CCSL", "CCOM", *ICMI):
        assert programs[pid].components[-1] == "work_product"
        assert programs[pid].rubric_path.exists()
    for pid in ("CCMA", "CCMC"):
        assert "work_product" not in programs[pid].components
    for pid in ("CCSL", "CCOM", "CCMA", "CCMC"):
        assert len([c for c in programs[pid].components if c.startswith("knowledge_")]) == 4
        assert programs[pid].manager_signoff == "required" and programs[pid].certifying_body.id == "CIAC"
    for pid in ICMI:  # ICMI's page: the Performance Assessment, manager review encouraged, no other component
        p = programs[pid]
        assert p.components == ("work_product",) and p.work_product.name == "Performance Assessment"
        assert p.manager_signoff == "encouraged" and p.certifying_body.id == "ICMI" and not p.retired
    assert [programs[p].name for p in ICMI] == ["ICMI Strategic Leader", "ICMI Operations Manager",
                                                "ICMI Management Consultant"]
    for p in programs.values():
        assert (p.testing_window_years, p.recertification_years) == (2, 3)
        assert (p.completion_business_days, p.notification_business_days) == (60, 30)
    assert (programs["CCOM"].eligibility, programs["CCSL"].eligibility) == ("CIAC-CCOM", "CIAC-CCSL")
    assert (programs["CCMA"].advances_to, programs["CCMC"].advances_to) == ("CCOM", "CCSL")
    assert programs["CCOM"].admission.knowledge_first == "warn" and programs["CCOM"].admission.late_receipt == "flag"


def test_the_old_icmi_program_is_retired_readable_and_closed(programs):
    old = programs["ICMI-PA"]
    assert old.retired and old.replaced_by == ICMI and old.rubric_path.exists()
    with pytest.raises(ProgramError, match="program ICMI-PA is retired; use ICMI-SL or ICMI-OM or ICMI-MC"):
        old.check_open()
    programs["ICMI-OM"].check_open()


def test_resubmission_deadline_uses_business_days(programs):
    # 60 business days from Wednesday 25 November 2026: Thanksgiving, Christmas, New Year, MLK Day and Presidents'
    # Day are skipped (counted by hand: the 60th business day is Wednesday 24 February 2027).
    assert programs["CCOM"].resubmission_due(D(2026, 11, 25)) == D(2027, 2, 24)


def test_notification_deadline_uses_business_days(programs):
    assert programs["CCOM"].notification_due(D(2026, 11, 25)) == D(2027, 1, 11)


def _all(program, day):
    return {c: day for c in program.components}


def test_status_in_progress_certified_due_and_expired(programs):
    ccom = programs["CCOM"]
    partial = {"knowledge_1": D(2025, 1, 10), "knowledge_2": D(2025, 2, 10)}
    status = certification_status(ccom, partial, D(2025, 6, 1))
    assert status.state == "in progress" and "work_product" in status.detail and status.until == D(2027, 1, 10)
    assert certification_status(ccom, partial, D(2027, 1, 11)).state == "expired"

    done = _all(ccom, D(2025, 3, 1))
    assert str(certification_status(ccom, done, D(2026, 1, 1))) == "certified until 2028-03-01"
    assert certification_status(ccom, done, D(2027, 12, 15)).state == "recertification due"
    assert certification_status(ccom, done, D(2028, 3, 2)).state == "expired"
    assert certification_status(ccom, {}, D(2026, 1, 1)).state == "in progress"


def test_testing_finished_after_the_two_year_window_does_not_certify(programs):
    ccma = programs["CCMA"]
    results = {"knowledge_1": D(2022, 1, 3), "knowledge_2": D(2022, 2, 1), "knowledge_3": D(2023, 1, 1),
               "knowledge_4": D(2024, 1, 4)}
    status = certification_status(ccma, results, D(2024, 2, 1))
    assert status.state == "expired" and "window" in status.detail


def test_unknown_component_refused(programs):
    with pytest.raises(ProgramError, match="unknown component"):
        certification_status(programs["CCMA"], {"work_product": D(2025, 1, 1)}, D(2025, 2, 1))


@pytest.mark.parametrize("edit, message", [
    (("pass_mark: 70", "pass_mark: 170"), "programs.CCMA.pass_mark: is 170; expected a percentage"),
    (("manager_signoff: encouraged", "manager_signoff: maybe"), "programs.ICMI-SL.manager_signoff: is 'maybe'"),
    (("eligibility: CIAC-CCOM", "eligibility: CIAC-CCXX"), "programs.CCOM.eligibility: unknown rule set 'CIAC-CCXX'"),
    (("eligibility: CIAC-CCOM", "eligibility: [1]"), "programs.CCOM.eligibility: is [1]; expected the id of a rule"),
    (("    knowledge_first: warn", "    knowledge_first: maybe"),
     "programs.CCSL.admission.knowledge_first: is 'maybe'; expected one of ['refuse', 'warn', 'none']"),
    (("    late_receipt: flag", "    late_receipt: ignore"), "programs.CCSL.admission.late_receipt: is 'ignore'"),
    (("replaced_by: [ICMI-SL, ICMI-OM, ICMI-MC]", "replaced_by: [ICMI-XX]"),
     "programs.ICMI-PA.retired.replaced_by: unknown program 'ICMI-XX'"),
    (("rubric: ccom_wpa.yaml", "rubric: nowhere.yaml"), "programs.CCOM.work_product.rubric: "),
    (("advances_to: CCOM", "advances_to: CCXX"), "programs.CCMA.advances_to: unknown program 'CCXX'"),
    (("  knowledge_assessments: 4", "  knowledge_assessments: four"), "knowledge_assessments: is 'four'"),
])
def test_bad_programs_file_names_the_place(tmp_path, programs, edit, message):
    src = Path(programs["CCOM"].rubric_path).parent
    for f in src.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text())
    text = (src / "programs.yaml").read_text()
    assert edit[0] in text
    (tmp_path / "programs.yaml").write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ProgramError, match=re.escape(message)) as info:
        load_programs(tmp_path / "programs.yaml")
    assert str(tmp_path / "programs.yaml") in str(info.value)


def test_missing_programs_file():
    with pytest.raises(ProgramError, match="file not found"):
        load_programs("/nonexistent/programs.yaml")


@pytest.mark.parametrize("text, message", [
    ("defaults: &d {pass_mark: 75}\nprograms: {X: *d}\n", r"programs\.yaml:1: anchor &d; expected plain YAML"),
    ("programs:\n  X:\n    pass_mark: " + "9" * 5000 + "\n", r"programs\.yaml:3: pass_mark: is a 5000-character number"),
    ("programs:\n  \"A\\nB\": 3\n", r"programs\.yaml: programs\.A\\nB: expected a mapping$"),
])
def test_hostile_programs_file_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "programs.yaml"
    path.write_text(text)
    with pytest.raises(ProgramError) as info:
        load_programs(path)
    assert "\n" not in str(info.value)
    assert re.search(message, str(info.value)), str(info.value)


def test_every_program_names_a_certifying_body_from_the_bodies_section(tmp_path, programs):
    assert programs["ICMI-SL"].certifying_body.experts == "ICMI subject matter experts"
    assert {p.certifying_body.id for p in programs.values()} == {"CIAC", "ICMI"}
    source = (Path(default_programs_path()).read_text())
    for edit, message in [(("body: ICMI", "body: IMCI"), r"programs\.ICMI-SL\.body: unknown certifying body 'IMCI'"),
                          (("experts: ICMI subject matter experts", "experts: ''"), r"bodies\.ICMI\.experts: is ''"),
                          (("signatory: {name: Certification Manager, title: ICMI Professional Certification}",
                            "signatory: Certification Manager"), r"bodies\.ICMI\.signatory: .* name and title")]:
        path = tmp_path / "programs.yaml"
        for rubric in Path(default_programs_path()).parent.glob("*.yaml"):
            (tmp_path / rubric.name).write_text(rubric.read_text())
        path.write_text(source.replace(*edit))
        with pytest.raises(ProgramError, match=message):
            load_programs(path)
