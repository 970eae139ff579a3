"""The candidate's record from application to certified (issue 11, items 2, 4 and 5): profiles in the store,
eligibility at application and at receipt with an admin's override, knowledge assessments before the work product,
the work product's completion clock, resubmission deadlines and extensions, and advancement CCMA -> CCOM and
CCMC -> CCSL."""
import dataclasses
import datetime as dt
import json
import warnings

import pytest
import sqlalchemy as sa

from eligible_profiles import ELIGIBLE
from evalkit.calendar import add_business_days
from evalkit.certification import (ResultError, apply, candidacy, candidate_status, eligibility, import_profiles,
                                   issue_assignment, profile, record_result, set_profile)
from evalkit.cli import main
from evalkit.evaluation import workflow as wf
from evalkit.evaluation.admission import KnowledgeFirstWarning, LateReceiptWarning
from evalkit.evaluation.importer import import_submissions
from evalkit.letters.content import letter_content
from evalkit.store import audit, candidacies, submissions

D = dt.date
SHORT = {"education": {"highest": "bachelor"},  # half a year managing: short of CIAC's one year in role
         "experience": [{"years": 0.5, "role": "management", "call_center": True, "employer": "private"}]}


@pytest.fixture
def s(store):
    wf.add_candidate(store, "C-1", "Ann", "Lee")
    for name in ("r1", "r2"):
        wf.add_rater(store, name, name.upper())
    return store


def _count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def _audit_actions(store, entity: str) -> list[tuple[str, str]]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit.c.actor, audit.c.action)
                                               .where(audit.c.entity == entity).order_by(audit.c.id))]


def _decide(store, sid, level, day=D(2026, 9, 22)):
    wf.assign_raters(store, sid, ["r1", "r2"])
    rubric = wf.rubric_for(store, wf.submission(store, sid)["rubric_version"])
    chosen = {c.id: level for c in rubric.criteria}
    for r in ("r1", "r2"):
        wf.submit_final(store, sid, r, chosen, {c: "Develop further." for c in chosen} if level < 3 else {},
                        today=day)
    return wf.decided_result(store, sid)["result"]


# --- profiles ----------------------------------------------------------------------------------------------------


def test_a_profile_is_validated_stored_and_audited(s):
    assert profile(s, "C-1") is None and eligibility(s, "C-1", "CCOM").reasons == (
        "no profile on record (experience, education)",)
    set_profile(s, "C-1", ELIGIBLE, actor="office.kim")
    assert profile(s, "C-1") == ELIGIBLE
    assert eligibility(s, "C-1", "CCOM").route == "in-role" and eligibility(s, "C-1", "CCMA") is None
    with pytest.raises(ResultError, match=r"^candidate C-1's profile: profile.experience\[0\].years: is -1; expected "
                                          r"a number of years >= 0$"):
        set_profile(s, "C-1", {"education": {"highest": "bachelor"}, "experience": [
            {"years": -1, "role": "management", "call_center": True, "employer": "private"}]})
    with pytest.raises(ResultError, match=r"profile.education.highest: is 'phd'"):
        set_profile(s, "C-1", {"education": {"highest": "phd"}})
    with pytest.raises(wf.WorkflowError, match="unknown candidate 'C-9'"):
        set_profile(s, "C-9", ELIGIBLE)
    assert profile(s, "C-1") == ELIGIBLE  # nothing was lost to the refusals
    assert _audit_actions(s, "candidates")[-1] == ("office.kim", "profile")


def test_profiles_import_from_yaml_and_csv_all_or_none_with_places(s, tmp_path):
    wf.add_candidate(s, "C-2", "Bo", "Ng")
    path = tmp_path / "profiles.yaml"
    path.write_text("C-1:\n  education: {highest: master}\n  experience:\n"
                    "    - {years: 9, role: management, call_center: true, employer: government, supervision_years: 3}\n"
                    "C-2:\n  education: {highest: high_school}\n")
    assert import_profiles(s, path) == ["C-1", "C-2"]
    assert profile(s, "C-1")["experience"][0]["supervision_years"] == 3
    path.write_text("C-1:\n  education: {highest: associate}\nC-9:\n  education: {highest: master}\n")
    with pytest.raises(ResultError, match=r"profiles.yaml: C-9: unknown candidate 'C-9'; nothing was imported"):
        import_profiles(s, path)
    assert profile(s, "C-1")["education"] == {"highest": "master"}  # all or none

    csv = tmp_path / "profiles.csv"
    header = ("candidate_id,education,college_credits,kind,years,role,call_center,employer,supervision_years,"
              "directs_projects,title,permanent_competitive\n")
    csv.write_text(header + "C-2,bachelor,,experience,2,management,yes,private,1,no,,\n"
                            "C-2,bachelor,,service,1.5,,,,,,NYS-CCR3,yes\n"
                            "C-1,associate,30,,,,,,,,,\n")
    assert main(["candidates", "profiles", str(csv), "-w", str(s.workspace)]) == 0
    assert profile(s, "C-2") == {"education": {"highest": "bachelor"}, "experience": [
        {"years": 2.0, "role": "management", "call_center": True, "employer": "private", "supervision_years": 1.0,
         "directs_projects": False}], "service": [{"title": "NYS-CCR3", "years": 1.5, "permanent_competitive": True}]}
    assert profile(s, "C-1") == {"education": {"highest": "associate", "college_credits": 30.0}}
    for row, message in [
        ("C-1,bachelor,,experience,two,management,yes,private,,,,\n", r"profiles.csv:3: years 'two' is not a number"),
        ("C-1,doctorate,,,,,,,,,,\n", r"profiles.csv:3: profile: profile.education.highest: is 'doctorate'"),
        ("C-1,bachelor,,job,,,,,,,,\n", r"profiles.csv:3: kind 'job': expected experience, service"),
        ("C-2,master,,,,,,,,,,\n", r"profiles.csv:3: education 'master' differs from .*profiles.csv:2's"),
    ]:
        csv.write_text(header + "C-2,bachelor,,,,,,,,,,\n" + row)
        with pytest.raises(ResultError, match=message + ".*nothing was imported"):
            import_profiles(s, csv)
    assert profile(s, "C-1") == {"education": {"highest": "associate", "college_credits": 30.0}}


# --- eligibility on application ------------------------------------------------------------------------------


def test_applying_admits_by_a_route_refuses_with_reasons_or_records_an_override(s, capsys):
    set_profile(s, "C-1", SHORT)
    with pytest.raises(ResultError, match=r"^candidate C-1 is not eligible for CCOM: route 1 \(in-role\): 0.5 years of management "
                                          r"experience in a call centre, needs 1$"):
        apply(s, "C-1", "CCOM", D(2026, 3, 2))
    assert _count(s, candidacies) == 0
    admitted = apply(s, "C-1", "CCOM", D(2026, 3, 2), override="acting manager since March; employer's letter",
                     actor="office.kim")
    assert (admitted["override_by"], admitted["override_reason"], admitted["route"]) == (
        "office.kim", "acting manager since March; employer's letter", None)
    assert ("office.kim", "apply") in _audit_actions(s, "candidacies")
    with pytest.raises(ResultError, match=r"C-1 already applied to CCOM on 2026-03-02 \(admitted by override of "
                                          r"office.kim"):
        apply(s, "C-1", "CCOM", D(2026, 4, 1))
    set_profile(s, "C-1", ELIGIBLE)
    assert apply(s, "C-1", "CCSL", D(2026, 3, 2))["route"] == "in-role"
    assert apply(s, "C-1", "CCMA", D(2026, 3, 2))["route"] is None  # no eligibility requirement
    with pytest.raises(ResultError, match="program ICMI-PA is retired; use ICMI-SL or ICMI-OM or ICMI-MC"):
        apply(s, "C-1", "ICMI-PA")
    with pytest.raises(wf.WorkflowError, match="the override reason is empty; say why the candidate is admitted"):
        apply(s, "C-1", "ICMI-OM", override="   ")
    assert main(["candidates", "apply", "C-1", "ICMI-OM", "--on", "2026-03-02", "-w", str(s.workspace)]) == 0
    assert capsys.readouterr().out == ("candidate C-1 admitted to ICMI-OM on 2026-03-02: no eligibility "
                                       "requirement\n")


# --- eligibility and knowledge assessments at receipt --------------------------------------------------------


def test_receipt_refuses_an_ineligible_candidate_unless_an_admin_overrides(s):
    with pytest.raises(wf.WorkflowError, match=r"^candidate C-1 is not eligible for CCOM: no profile on record"):
        wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    set_profile(s, "C-1", SHORT)
    with pytest.raises(wf.WorkflowError, match=r"not eligible for CCOM: route 1 \(in-role\): 0.5 years"):
        wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    assert (_count(s, submissions), _count(s, candidacies)) == (0, 0)
    sid = wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True, override="board waiver 2026-14",
                                actor="office.kim")
    admitted = candidacy(s, "C-1", "CCOM")
    assert (admitted["override_by"], admitted["override_reason"], admitted["applied_on"]) == (
        "office.kim", "board waiver 2026-14", D(2026, 9, 1))
    assert wf.submission(s, sid)["state"] == "received"
    # ICMI's designations have no eligibility rule: anyone is received, and the old ICMI-PA takes nothing new
    wf.add_candidate(s, "C-2", "Bo", "Ng")
    wf.receive_submission(s, "C-2", "ICMI-SL", D(2026, 9, 1), True)
    with pytest.raises(wf.WorkflowError, match="program ICMI-PA is retired"):
        wf.receive_submission(s, "C-2", "ICMI-PA", D(2026, 9, 1), True)


def test_an_applied_candidate_is_received_on_their_candidacy(s):
    set_profile(s, "C-1", ELIGIBLE)
    apply(s, "C-1", "CCOM", D(2026, 3, 2))
    set_profile(s, "C-1", SHORT)  # the admission stands: it was checked when they applied
    wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    assert candidacy(s, "C-1", "CCOM")["route"] == "in-role"


def test_the_work_product_after_the_knowledge_assessments_warns_or_refuses_per_program(s):
    set_profile(s, "C-1", ELIGIBLE)
    for i in (1, 2, 3):
        record_result(s, "C-1", "CCOM", f"knowledge_{i}", 80, 100, D(2026, 3, i))
    record_result(s, "C-1", "CCOM", "knowledge_4", 74, 100, D(2026, 3, 4))
    strict = dataclasses.replace(wf.program(s, "CCOM"), admission=dataclasses.replace(
        wf.program(s, "CCOM").admission, knowledge_first="refuse"))
    s.cache[("program", "CCOM")] = strict
    with pytest.raises(wf.WorkflowError, match=r"C-1 had not passed knowledge_4 of CCOM by 2026-09-01; the Work "
                                               r"Product Assignment comes after the knowledge assessments"):
        wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    assert _count(s, submissions) == 0
    s.cache.clear()  # CIAC's programs.yaml: a warning
    with pytest.warns(KnowledgeFirstWarning, match="had not passed knowledge_4"):
        wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    wf.add_candidate(s, "C-2", "Bo", "Ng")
    set_profile(s, "C-2", ELIGIBLE)
    for i in range(1, 5):
        record_result(s, "C-2", "CCOM", f"knowledge_{i}", 75, 100, D(2026, 3, i))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wf.receive_submission(s, "C-2", "CCOM", D(2026, 9, 1), True)  # all four passed: no warning


# --- the completion clock ------------------------------------------------------------------------------------


def test_the_completion_clock_runs_from_the_assignments_issue(s, capsys):
    set_profile(s, "C-1", ELIGIBLE)
    with pytest.raises(ResultError, match=r"C-1 has not applied to CCOM; apply first"):
        issue_assignment(s, "C-1", "CCOM", D(2026, 6, 1))
    apply(s, "C-1", "CCOM", D(2026, 5, 4))
    with pytest.raises(ResultError, match="issue date 2026-05-01 is before the application of 2026-05-04"):
        issue_assignment(s, "C-1", "CCOM", D(2026, 5, 1))
    with pytest.raises(ResultError, match="program CCMA has no work product"):
        issue_assignment(s, "C-1", "CCMA", D(2026, 6, 1))
    assert main(["candidates", "issue", "C-1", "CCOM", "--on", "2026-06-01", "-w", str(s.workspace)]) == 0
    # 60 business days from Monday 1 June 2026, Juneteenth and Independence Day (observed Friday 3 July)
    # skipped: Wednesday 26 August (counted by hand)
    assert capsys.readouterr().out == ("candidate C-1's CCOM work product assignment issued 2026-06-01; due "
                                       "2026-08-26\n")
    assert add_business_days(D(2026, 6, 1), 60, wf.program(s, "CCOM").holidays) == D(2026, 8, 26)
    with pytest.warns(LateReceiptWarning, match=r"received 2026-08-27, after its completion deadline 2026-08-26 "
                                                r"\(60 business days from 2026-06-01\)"):
        sid = wf.receive_submission(s, "C-1", "CCOM", D(2026, 8, 27), True)
    sub = wf.submission(s, sid)
    assert sub["complete_by"] == D(2026, 8, 26) and sub["received_on"] > sub["complete_by"]
    with pytest.raises(ResultError, match="already received; its issue date can no longer change"):
        issue_assignment(s, "C-1", "CCOM", D(2026, 6, 8))


def test_a_late_work_product_is_refused_where_the_program_refuses_and_on_time_is_received(s):
    set_profile(s, "C-1", ELIGIBLE)
    apply(s, "C-1", "CCOM", D(2026, 5, 4))
    issue_assignment(s, "C-1", "CCOM", D(2026, 6, 1))
    ccom = wf.program(s, "CCOM")
    s.cache[("program", "CCOM")] = dataclasses.replace(
        ccom, admission=dataclasses.replace(ccom.admission, late_receipt="refuse"))
    with pytest.raises(wf.WorkflowError, match="after its completion deadline 2026-08-26"):
        wf.receive_submission(s, "C-1", "CCOM", D(2026, 8, 27), True)
    assert _count(s, submissions) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", LateReceiptWarning)
        sid = wf.receive_submission(s, "C-1", "CCOM", D(2026, 8, 26), True)  # on the last day
    assert wf.submission(s, sid)["complete_by"] == D(2026, 8, 26)


# --- resubmission deadline and extensions --------------------------------------------------------------------


def _deficient_and_notified(s, letter_on=D(2026, 5, 29)):
    set_profile(s, "C-1", ELIGIBLE)
    sid = wf.receive_submission(s, "C-1", "CCOM", D(2026, 5, 1), True)
    assert _decide(s, sid, 1, D(2026, 5, 22)) == "deficient"
    wf.record_notification(s, sid, letter_on, [])
    return sid


def test_the_resubmission_deadline_is_the_letters_and_is_enforced(s):
    sid = _deficient_and_notified(s)
    # 60 business days from Friday 29 May 2026 (Juneteenth and Independence Day, observed Friday 3 July, skipped):
    # Tuesday 25 August 2026, counted by hand
    deadline = wf.resubmission_deadline(s, sid)
    assert deadline == D(2026, 8, 25) == letter_content(s, sid, D(2026, 5, 29))["resubmit_by"]
    with pytest.raises(wf.WorkflowError, match=rf"the resubmission of {sid} was received 2026-08-26, after its "
                                               r"deadline 2026-08-25; an admin may grant an extension"):
        wf.resubmit(s, sid, D(2026, 8, 26), True)
    assert _count(s, submissions) == 1
    again = wf.resubmit(s, sid, D(2026, 8, 25), True)  # on the last day
    assert wf.submission(s, again)["previous_id"] == sid


def test_an_extension_lets_a_late_resubmission_in_and_records_who_and_why(s, capsys):
    sid = _deficient_and_notified(s)
    ws = str(s.workspace)
    with pytest.raises(wf.WorkflowError, match="after its deadline 2026-08-25"):
        wf.resubmit(s, sid, D(2026, 9, 8), True)
    with pytest.raises(wf.WorkflowError, match="extension to 2026-08-20 is not after the present deadline 2026-08-25"):
        wf.grant_extension(s, sid, D(2026, 8, 20), "illness")
    assert main(["submissions", "extend", str(sid), "--until", "2026-09-15", "--reason", "hospitalised; note on file",
                 "-w", ws]) == 0
    assert capsys.readouterr().out == f"submission {sid}: resubmission deadline extended to 2026-09-15\n"
    assert wf.resubmission_deadline(s, sid) == D(2026, 9, 15)
    with s.read() as conn:
        granted = conn.execute(sa.text("SELECT granted_by, reason FROM resubmission_extensions")).all()
    assert [tuple(g) for g in granted] == [(_actor(), "hospitalised; note on file")]
    assert main(["submissions", "resubmit", str(sid), "--received", "2026-09-08", "--signoff", "-w", ws]) == 0
    assert capsys.readouterr().out == f"submission {sid + 1} received: the resubmission of {sid}\n"
    with pytest.raises(wf.WorkflowError, match=f"already resubmitted as {sid + 1}"):
        wf.grant_extension(s, sid, D(2026, 10, 1), "again")


def _actor() -> str:
    from evalkit.cli.common import actor
    return actor()


def test_only_a_deficient_result_gets_an_extension_and_a_reason_is_required(s):
    set_profile(s, "C-1", ELIGIBLE)
    sid = wf.receive_submission(s, "C-1", "CCOM", D(2026, 9, 1), True)
    assert _decide(s, sid, 3) == "pass"
    with pytest.raises(wf.WorkflowError, match="is not decided as deficient"):
        wf.grant_extension(s, sid, D(2027, 1, 15), "illness")
    assert wf.resubmission_deadline(s, sid) is None
    wf.add_candidate(s, "C-2", "Bo", "Ng")
    set_profile(s, "C-2", ELIGIBLE)
    sid2 = wf.receive_submission(s, "C-2", "CCOM", D(2026, 9, 1), True)
    assert _decide(s, sid2, 1) == "deficient"
    with pytest.raises(wf.WorkflowError, match="needs a reason"):
        wf.grant_extension(s, sid2, D(2027, 1, 15), None)


def test_the_import_csv_takes_a_resubmission_by_its_previous_submission(s, tmp_path):
    sid = _deficient_and_notified(s)
    path = tmp_path / "in.csv"
    header = "candidate_id,program,received_on,manager_signoff,previous_submission\n"
    path.write_text(header + f"C-1,CCOM,2026-09-01,yes,{sid}\n")
    with pytest.raises(wf.WorkflowError, match=rf"in.csv:2: the resubmission of {sid} was received 2026-09-01, "
                                               r"after its deadline 2026-08-25.*nothing was imported"):
        import_submissions(s, path)
    path.write_text(header + f"C-1,CCOM,2026-08-03,yes,{sid}\n")
    [again] = import_submissions(s, path)
    assert (wf.submission(s, again)["previous_id"], wf.submission(s, again)["attempt"]) == (sid, 2)
    path.write_text(header + "C-1,CCOM,2026-08-03,yes,abc\n")
    with pytest.raises(wf.WorkflowError, match=r"in.csv:2: previous_submission 'abc': expected the id"):
        import_submissions(s, path)


# --- advancement -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lower, higher", [("CCMA", "CCOM"), ("CCMC", "CCSL")])
def test_a_holder_advances_with_the_work_product_alone(s, lower, higher):
    for i in range(1, 5):
        record_result(s, "C-1", lower, f"knowledge_{i}", 80, 100, D(2025, 3, i))
    assert candidate_status(s, "C-1", lower, D(2026, 1, 5)).status.holds
    set_profile(s, "C-1", ELIGIBLE)
    admitted = apply(s, "C-1", higher, D(2026, 1, 5))
    assert admitted["advancing_from"] == lower and admitted["route"] == "in-role"
    before = candidate_status(s, "C-1", higher, D(2026, 2, 1))
    assert before.status.state == "in progress" and before.missing == ["work_product"]
    assert before.credited == [f"knowledge_{i}" for i in range(1, 5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", KnowledgeFirstWarning)  # the knowledge assessments are credited
        sid = wf.receive_submission(s, "C-1", higher, D(2026, 9, 1), True)
    assert _decide(s, sid, 3) == "pass"
    after = candidate_status(s, "C-1", higher, D(2026, 10, 1))
    assert after.status.state == "certified" and after.status.since == D(2026, 9, 22)
    assert after.status.until == D(2029, 9, 22) and "credited by advancement" in after.status.detail


def test_no_advancement_once_the_lower_designation_has_lapsed(s):
    for i in range(1, 5):
        record_result(s, "C-1", "CCMA", f"knowledge_{i}", 80, 100, D(2022, 3, i))  # until 2025-03-04
    set_profile(s, "C-1", ELIGIBLE)
    assert apply(s, "C-1", "CCOM", D(2026, 1, 5))["advancing_from"] is None
    standing = candidate_status(s, "C-1", "CCOM", D(2026, 2, 1))
    assert standing.credited == [] and len(standing.missing) == 5


def test_candidates_show_tells_the_candidacy_credit_and_eligibility(s, capsys):
    for i in range(1, 5):
        record_result(s, "C-1", "CCMA", f"knowledge_{i}", 80, 100, D(2025, 3, i))
    set_profile(s, "C-1", ELIGIBLE)
    apply(s, "C-1", "CCOM", D(2026, 1, 5))
    issue_assignment(s, "C-1", "CCOM", D(2026, 1, 12))
    assert main(["candidates", "show", "C-1", "--program", "CCOM", "--today", "2026-02-01",
                 "-w", str(s.workspace)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  applied 2026-01-05: advancing from CCMA, eligible by route in-role; assignment issued " \
                     "2026-01-12, due 2026-04-08"
    assert out[2] == "  knowledge_1    credited (holder of CCMA)" and out[-1] == "  work_product   not yet passed"
    wf.add_candidate(s, "C-2", "Bo", "Ng")
    set_profile(s, "C-2", SHORT)
    record_result(s, "C-2", "CCOM", "knowledge_1", 80, 100, D(2026, 1, 5))
    assert main(["candidates", "show", "C-2", "-w", str(s.workspace)]) == 0
    assert "  not applied; not eligible: route 1 (in-role): 0.5 years" in capsys.readouterr().out


def test_every_change_to_the_record_is_in_the_audit_log(s):
    set_profile(s, "C-1", ELIGIBLE, actor="office.kim")
    apply(s, "C-1", "CCOM", D(2026, 5, 4), actor="office.kim")
    issue_assignment(s, "C-1", "CCOM", D(2026, 6, 1), actor="office.lee")
    assert _audit_actions(s, "candidacies") == [("office.kim", "apply"), ("office.lee", "issue")]
    with s.read() as conn:
        after = conn.execute(sa.select(audit.c.after).where(audit.c.action == "profile")).scalar()
    assert json.loads(json.loads(after)["profile"]) == ELIGIBLE


# --- the admin notebook's candidate record form ------------------------------------------------------------------


def test_the_admin_form_saves_a_profile_admits_with_an_override_and_extends_a_deadline(s, monkeypatch):
    from evalkit.widgets.admin import CandidateRecordForm
    from evalkit.access import grant
    monkeypatch.setenv("JUPYTERHUB_USER", "office.kim")
    changes = []
    form = CandidateRecordForm(s, ["CCOM", "CCSL", "ICMI-OM"], on_change=lambda: changes.append(1))
    form.candidate.value = "C-1"
    form.profile_text.value = "education: {highest: bachelor}\n"
    form.save_button.click()  # signed in through the hub without the admin role: refused, nothing saved
    assert form.result.value == ('<div class="ek-msg ek-msg-error">office.kim does not hold the role admin (no role '
                                 'at all); ask an admin of the certification office</div>')
    assert profile(s, "C-1") is None and changes == []
    grant(s, "office.kim", "admin", actor="setup")
    form.profile_text.value = ""
    form.load_button.click()
    assert "No profile on record yet" in form.result.value and form.profile_text.value == ""
    form.profile_text.value = "education: {highest: bachelor}\nexperience: [{years: -2}]\n"
    form.save_button.click()
    assert "ek-msg-error" in form.result.value and "profile.experience[0].years: is -2" in form.result.value
    assert profile(s, "C-1") is None and changes == []
    form.profile_text.value = "education: &e {highest: bachelor}\n"
    form.save_button.click()
    assert "anchor &amp;e; expected plain YAML" in form.result.value
    form.profile_text.value = ("education: {highest: bachelor}\nexperience:\n  - {years: 0.5, role: management, "
                               "call_center: true, employer: private}\n")
    form.save_button.click()
    assert "Profile of C-1 saved." in form.result.value and profile(s, "C-1") == SHORT
    form.load_button.click()
    assert "years: 0.5" in form.profile_text.value

    form.program.value, form.applied_on.value = "CCOM", D(2026, 3, 2)
    form.apply_button.click()
    assert "not eligible for CCOM: route 1 (in-role)" in form.result.value and candidacy(s, "C-1", "CCOM") is None
    form.override.value = "acting manager since the site opened <script>"
    form.apply_button.click()
    assert "admitted by override of office.kim" in form.result.value and "&lt;script&gt;" in form.result.value
    assert candidacy(s, "C-1", "CCOM")["override_by"] == "office.kim"

    sid = wf.receive_submission(s, "C-1", "CCOM", D(2026, 5, 1), True)
    assert _decide(s, sid, 1, D(2026, 5, 22)) == "deficient"
    wf.record_notification(s, sid, D(2026, 5, 29), [])
    form.submission.value = sid
    form.extend_button.click()
    assert "choose the new deadline" in form.result.value
    form.until.value, form.reason.value = D(2026, 9, 15), "bereavement"
    form.extend_button.click()
    assert "extended to 2026-09-15" in form.result.value and wf.resubmission_deadline(s, sid) == D(2026, 9, 15)
    assert len(changes) == 3  # saved, admitted, extended: the candidates table was refreshed each time
    form.close()
