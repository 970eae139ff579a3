"""Self-assessment: the instruments in rubrics/self_assessment/ and their loader's messages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalkit.instruments.programs import default_programs_path, load_programs
from evalkit.instruments.rubric import COMPETENCY_DOMAINS, load_rubric
from evalkit.instruments.self_assessment import (SELF_ASSESSMENT_DIR, SelfAssessmentError, load_self_assessment,
                                                 parse_self_assessment, self_assessment_for,
                                                 shipped_self_assessments)

DESIGNATIONS = ("CCSL", "CCOM", "CCMA", "CCMC")
GOOD = (SELF_ASSESSMENT_DIR / "ccom.yaml").read_text(encoding="utf-8")


# --- the shipped instruments --------------------------------------------------------------------------------


def test_one_instrument_per_ciac_designation():
    assert set(shipped_self_assessments()) == set(DESIGNATIONS)


@pytest.mark.parametrize("designation", DESIGNATIONS)
def test_shipped_instrument_shape(designation):
    sa = self_assessment_for(designation)
    programs = load_programs(default_programs_path())
    program = programs[designation]
    assert re.fullmatch(r"[0-9a-f]{16}", sa.version)
    assert "example instrument" in sa.version_notes.lower()
    assert tuple(d.name for d in sa.domains) == COMPETENCY_DOMAINS
    assert sa.levels == (1, 2, 3, 4) and sa.strength_at == 3
    assert all(lv.descriptor and lv.label for lv in sa.scale)
    assert [d.knowledge_assessment for d in sa.domains] == [c for c in program.components
                                                            if c.startswith("knowledge_")]
    for d in sa.domains:
        assert len(d.statements) >= 4 and d.study
    assert len(set(sa.statement_ids)) == len(sa.statement_ids)
    if program.work_product:
        # every work-product criterion belongs to exactly one domain's list, and to that domain in the rubric
        rubric = load_rubric(default_programs_path().parent / program.work_product.rubric)
        listed = [c for d in sa.domains for c in d.work_product_criteria]
        assert sorted(listed) == sorted(rubric.criterion_ids)
        assert Path(sa.work_product).name == program.work_product.rubric
    else:
        assert sa.work_product is None and not any(d.work_product_criteria for d in sa.domains)


def test_ccmc_spelling_of_the_domain_is_accepted():
    sa = self_assessment_for("CCMC")
    assert sa.domain("Customer Relationship").name == "Customer Relationships"


def test_version_ignores_comments_and_layout():
    reformatted = "# a comment\n" + GOOD.replace("level: 1\n      label: Aware", "level: 1\n      label:   Aware")
    assert parse_self_assessment(reformatted).version == parse_self_assessment(GOOD).version
    changed = GOOD.replace("label: Aware", "label: Aware of it")
    assert parse_self_assessment(changed).version != parse_self_assessment(GOOD).version


def test_unknown_designation_is_one_line():
    with pytest.raises(SelfAssessmentError, match=r"^no self-assessment for 'XYZ'; expected one of \['CCMA'"):
        self_assessment_for("XYZ")


# --- malformed files: every problem names the file, the line and the place -----------------------------------


def _problems(tmp_path, text: str, name: str = "bad.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SelfAssessmentError) as info:
        load_self_assessment(path, check_rubric=False)
    for p in info.value.problems:
        assert p.startswith(f"{path}"), p
        assert "\n" not in p
    return info.value.problems


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, expected", [
    ("label: Proficient\n", "label: ''\n", r"scale\.levels\[2\]\.label: is ''; expected a short label"),
    ("    - level: 3\n", "    - level: 2\n", r"scale\.levels\[2\]\.level: is 2, not above the previous level's 2"),
    ("strength_at: 3", "strength_at: 7", r"scale\.strength_at: is 7; expected one of the levels \[1, 2, 3, 4\]"),
    ("strength_at: 3", "strength_at: 1", r"scale\.strength_at: is the lowest level 1"),
    ("name: Customer Relationships", "name: Sales", r"domains\[2\]\.name: unknown domain 'Sales'"),
    ("knowledge_assessment: knowledge_2", "knowledge_assessment: knowledge_1",
     r"domains\[1\]\.knowledge_assessment: knowledge_1 is already another domain's"),
    ("knowledge_assessment: knowledge_3", "knowledge_assessment: quiz", r"domains\[2\]\.knowledge_assessment: is 'quiz'"),
    ("id: OM-2\n", "id: OM-1\n", r"domains\[1\]\.statements\[1\]\.id: duplicate statement id 'OM-1'"),
    ("id: CR-2\n", "id: 2CR\n", r"domains\[2\]\.statements\[1\]\.id: is '2CR'; expected a letter"),
    ("text: I prepare and manage the centre's budget and explain variances.", "text: ''",
     r"domains\[3\]\.statements\[0\]\.text: is ''; expected the competency statement"),
    ("designation: CCOM\n", "", r"designation: missing; expected a program id"),
])
def test_one_problem_named_with_its_place(tmp_path, old, new, expected):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    [problem] = _problems(tmp_path, text)
    assert re.search(expected, problem), problem
    assert re.match(rf"{re.escape(str(tmp_path / 'bad.yaml'))}:\d+: ", problem), problem


def test_the_line_is_where_the_problem_is(tmp_path):
    text = GOOD.replace("name: Customer Relationships", "name: Sales")
    [problem] = _problems(tmp_path, text)
    assert problem.startswith(f"{tmp_path / 'bad.yaml'}:{_line_of(text, 'name: Sales')}: ")


def test_a_missing_domain_is_named(tmp_path):
    start = GOOD.index("  - name: Leadership & Business")
    [problem] = _problems(tmp_path, GOOD[:start])
    assert "domains: lacks Leadership & Business; expected the four competency domains" in problem


def test_several_problems_are_all_reported(tmp_path):
    text = (GOOD.replace("title: ", "title_: ", 1).replace("id: PM-2", "id: PM-1")
            .replace("    study:\n      - \"Workforce", "    study_:\n      - \"Workforce"))
    problems = _problems(tmp_path, text)
    assert len(problems) == 3, problems
    assert any("title: missing" in p for p in problems)
    assert any("duplicate statement id 'PM-1'" in p for p in problems)
    assert any("domains[1].study: missing" in p for p in problems)


@pytest.mark.parametrize("text, expected", [
    ("", r"bad\.yaml:1: \(top level\): is an empty file; expected a mapping"),
    ("- a\n- b\n", r"bad\.yaml:1: \(top level\): is \['a', 'b'\]; expected a mapping"),
    ("id: [unclosed\n", r"bad\.yaml:2: YAML syntax error"),
    ("a: &x [1]\nb: *x\n", r"bad\.yaml:1: anchor &x"),
    ("id: a\nid: b\n", r"bad\.yaml:2: id: duplicate key 'id'"),
])
def test_unusable_files(tmp_path, text, expected):
    problems = _problems(tmp_path, text)
    assert re.search(expected, problems[0]), problems


def test_missing_file(tmp_path):
    with pytest.raises(SelfAssessmentError, match=r"nope\.yaml: file not found"):
        load_self_assessment(tmp_path / "nope.yaml")


def test_work_product_criteria_are_checked_against_the_rubric(tmp_path):
    folder = tmp_path / "self_assessment"
    folder.mkdir()
    (tmp_path / "ccom_wpa.yaml").write_text((SELF_ASSESSMENT_DIR.parent / "ccom_wpa.yaml").read_text())
    text = GOOD.replace("work_product_criteria: [OM1, OM2, OM3]", "work_product_criteria: [OM1, PM2, ZZ9]")
    path = folder / "ccom.yaml"
    path.write_text(text)
    with pytest.raises(SelfAssessmentError) as info:
        load_self_assessment(path)
    line = _line_of(text, "[OM1, PM2, ZZ9]")
    assert info.value.problems == [
        f"{path}:{line}: domains[1].work_product_criteria[1]: criterion PM2 is in People Management, not "
        "Operations Management; expected this domain's criteria",
        f"{path}:{line}: domains[1].work_product_criteria[2]: unknown criterion 'ZZ9'; expected one of ['PM1', "
        "'PM2', 'OM1', 'OM2', 'OM3', 'CR1', 'CR2', 'LB1', 'LB2', 'LB3'] (ccom-wpa)"]


def test_a_work_product_rubric_that_does_not_load(tmp_path):
    path = tmp_path / "ccom.yaml"
    path.write_text(GOOD)  # ../ccom_wpa.yaml does not exist from here
    with pytest.raises(SelfAssessmentError) as info:
        load_self_assessment(path)
    [problem] = info.value.problems
    assert problem.startswith(f"{path}:{_line_of(GOOD, 'work_product:')}: work_product: '../ccom_wpa.yaml' cannot "
                              "be used (")
    assert "file not found" in problem


# --- the comparison statistics on constructed data with known answers ----------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from evalkit.psychometrics.self_assessment import (SelfAssessmentStatsError, compare_domains, domain_bias,  # noqa: E402
                                                   pearson_with_ci, self_assessment_prediction, to_unit)

DOMAINS4 = ["People Management", "Operations Management", "Customer Relationships", "Leadership & Business"]


def test_over_and_under_estimation_per_candidate_and_domain():
    # a rates herself one level above the SMEs everywhere; b one level below in OM; c exactly as evaluated
    self_ = pd.DataFrame({"PM": [4, 2, 3], "OM": [3, 1, 2]}, index=["a", "b", "c"])
    sme = pd.DataFrame({"PM": [3, 2, 3], "OM": [2, 2, 2]}, index=["a", "b", "c"])
    out = compare_domains(self_, sme)
    assert out[["candidate", "domain", "direction"]].values.tolist() == [
        ["a", "PM", "over"], ["a", "OM", "over"], ["b", "PM", "agrees"], ["b", "OM", "under"],
        ["c", "PM", "agrees"], ["c", "OM", "agrees"]]
    assert out["difference"].tolist() == pytest.approx([1 / 3, 1 / 3, 0, -1 / 3, 0, 0])
    assert out.loc[0, "self"] == pytest.approx(1.0) and out.loc[0, "evaluated"] == pytest.approx(2 / 3)


def test_scales_of_different_lengths_meet_on_zero_to_one():
    # 5 on a 1-5 self scale is the top, as 4 on the 1-4 rubric: they agree
    out = compare_domains({"PM": {"a": 5, "b": 3}}, {"PM": {"a": 4, "b": 2.5}}, self_scale=(1, 5))
    assert out["difference"].tolist() == pytest.approx([0.0, 0.0])
    assert to_unit(2.5, 1, 4) == pytest.approx(0.5)


def test_tolerance_is_inclusive_and_nan_is_left_out():
    out = compare_domains({"PM": [2.5, np.nan]}, {"PM": [2, 3]}, tolerance=1 / 6)
    assert out["direction"].tolist() == ["agrees"] and len(out) == 1
    assert compare_domains({"PM": [2.5]}, {"PM": [2]}, tolerance=0.1)["direction"].tolist() == ["over"]


def test_domain_bias_known_mean_sd_and_t_interval():
    # differences (on 0-1) of 4 candidates in one domain: +1/3, +1/3, 0, -1/3 -> mean 1/12, sd known
    out = compare_domains({"PM": [4, 3, 2, 1]}, {"PM": [3, 2, 2, 2]})
    bias = domain_bias(out).loc["PM"]
    d = np.array([1, 1, 0, -1]) / 3
    se = d.std(ddof=1) / 2
    t = 3.182446305284263  # t(0.975, 3)
    assert bias["n"] == 4 and bias["mean_difference"] == pytest.approx(1 / 12)
    assert bias["se"] == pytest.approx(se)
    assert (bias["ci_low"], bias["ci_high"]) == pytest.approx((1 / 12 - t * se, 1 / 12 + t * se))
    assert (bias["over"], bias["under"], bias["agrees"]) == (2, 1, 1)
    assert bias["mean_absolute"] == pytest.approx(0.25)


def test_pearson_and_fisher_interval_by_hand():
    c = pearson_with_ci([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    z, half = math.atanh(0.8), 1.959963984540054 / math.sqrt(2)
    assert c.r == pytest.approx(0.8) and c.rho == pytest.approx(0.8) and c.n == 5
    assert c.ci == pytest.approx((math.tanh(z - half), math.tanh(z + half)))
    assert c.ci == pytest.approx((-0.2796, 0.9862), abs=1e-4)
    assert pearson_with_ci([1, 2, 3], [3, 2, 1]).r == pytest.approx(-1)
    assert math.isnan(pearson_with_ci([1, 2, 3], [1, 2, 3]).ci[0])  # fewer than four pairs: no interval
    assert math.isnan(pearson_with_ci([1, 1, 1, 1], [1, 2, 3, 4]).r)  # no spread


def test_prediction_per_domain_and_overall():
    # PM: perfect linear prediction with a constant over-estimation of one level (1/3); OM: unrelated (r = 0)
    candidates = list("abcdef")
    self_ = pd.DataFrame({"PM": [2, 3, 4, 2, 3, 4], "OM": [1, 4, 1, 4, 2, 3]}, index=candidates)
    sme = pd.DataFrame({"PM": [1, 2, 3, 1, 2, 3], "OM": [2, 2, 3, 3, 1, 4]}, index=candidates)
    cmp = compare_domains(self_, sme)
    pred = self_assessment_prediction(cmp)
    assert list(pred.index) == ["PM", "OM", "All domains"]
    pm = pred.loc["PM"]
    assert pm["r"] == pytest.approx(1) and pm["mean_bias"] == pytest.approx(1 / 3)
    assert pm["bias_ci_low"] == pytest.approx(1 / 3) and pm["bias_ci_high"] == pytest.approx(1 / 3)  # no spread
    om = pred.loc["OM"]
    x, y = np.array([1, 4, 1, 4, 2, 3]), np.array([2, 2, 3, 3, 1, 4])
    assert om["r"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert om["mean_bias"] == pytest.approx((x - y).mean() / 3)
    overall = pred.loc["All domains"]
    assert overall["n"] == 6
    mean_self = (to_unit(self_, 1, 4)).mean(axis=1)
    mean_sme = (to_unit(sme, 1, 4)).mean(axis=1)
    assert overall["r"] == pytest.approx(np.corrcoef(mean_self, mean_sme)[0, 1])
    assert overall["mean_bias"] == pytest.approx((mean_self - mean_sme).mean())


def test_known_correlation_recovered_from_simulation():
    rng = np.random.default_rng(7)
    n, rho = 4000, 0.6
    a = rng.standard_normal(n)
    b = rho * a + math.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    c = pearson_with_ci(a, b)
    assert c.ci[0] < rho < c.ci[1] and c.r == pytest.approx(rho, abs=0.03)


@pytest.mark.parametrize("call, message", [
    (lambda: compare_domains({"PM": [5]}, {"PM": [3]}), r"self_assessed: candidate 0, PM: outside the scale"),
    (lambda: compare_domains({"PM": ["x"]}, {"PM": [3]}), r"self_assessed: expected numbers"),
    (lambda: compare_domains({"PM": [3]}, {"PM": [3]}, tolerance=2), r"tolerance 2: expected a number in \[0, 1\)"),
    (lambda: to_unit(1, 4, 1), r"scale 4-1: expected a lowest level below the highest"),
    (lambda: domain_bias(pd.DataFrame({"x": [1]})), r"comparison: expected compare_domains' result"),
    (lambda: pearson_with_ci([1, 2], [1]), r"x and y: expected two lists of the same length"),
    (lambda: domain_bias(compare_domains({"PM": [3]}, {"PM": [3]}), level=95), r"level 95: expected a confidence"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(SelfAssessmentStatsError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


# --- the candidate's self-assessment in the store ------------------------------------------------------------

import datetime as dt  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from evalkit import certification as cert  # noqa: E402
from evalkit.certification import SelfAssessmentRefused  # noqa: E402
from evalkit.evaluation import workflow as wf  # noqa: E402
from evalkit.store import access_tokens, audit, self_assessment_answers, self_assessments, utcnow  # noqa: E402


def _all(instrument, level=3, **changes):
    return {**{s: level for s in instrument.statement_ids}, **changes}


@pytest.fixture
def cand_store(any_store):
    wf.add_candidate(any_store, "C-1", "Olive", "Ng", "olive@example.org")
    wf.add_candidate(any_store, "C-2", "Pat", "Ode")
    return any_store


def _counts(store):
    with store.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                     for t in (self_assessments, self_assessment_answers, access_tokens, audit))


def test_a_link_opens_drafts_are_saved_and_the_submission_uses_it_up(cand_store):
    store = cand_store
    token, expires = cert.issue_link(store, "C-1", "CCOM", days=7, actor="office")
    assert len(token) >= 40 and expires - utcnow() > dt.timedelta(days=6)
    with store.read() as conn:  # only the hash is stored
        stored = conn.execute(sa.select(access_tokens.c.token_sha256)).scalar_one()
        assert stored == cert.token_hash(token) and token not in str(conn.execute(sa.select(audit)).all())
    opened = cert.open_link(store, token)
    assert (opened["external_id"], opened["program_id"]) == ("C-1", "CCOM")
    record = cert.start_self_assessment(store, opened["candidate_id"], "CCOM")
    instrument = record["instrument"]
    assert record["state"] == "draft" and instrument.designation == "CCOM" and record["answers"] == {}
    draft = cert.save_draft(store, record["id"], {"PM-1": 4, "PM-2": None, "OM-1": 2})
    assert draft["answers"] == {"PM-1": 4, "PM-2": None, "OM-1": 2} and draft["saved_at"] is not None
    again = cert.start_self_assessment(store, "C-1", "CCOM")  # reopening finds the draft
    assert again["id"] == record["id"] and again["answers"]["PM-1"] == 4
    # final with unrated statements: one line, nothing stored
    before = _counts(store)
    with pytest.raises(SelfAssessmentRefused, match=r"^16 statements are not rated \(PM-2, PM-3, PM-4, PM-5, "
                                                    r"OM-2, \.\.\.\); rate every statement before submitting"):
        cert.submit_self_assessment(store, record["id"], {"PM-3": None}, token_id=opened["token_id"])
    assert _counts(store) == before
    done = cert.submit_self_assessment(store, record["id"], _all(instrument, 3, **{"PM-1": 4, "OM-1": 2}),
                                       token_id=opened["token_id"])
    assert done["state"] == "final" and done["submitted_at"] is not None
    with pytest.raises(SelfAssessmentRefused, match=r"^this link was used on \d{4}-\d\d-\d\d: the self-assessment "
                                                    "was submitted"):
        cert.open_link(store, token)
    with pytest.raises(SelfAssessmentRefused, match=r"^this self-assessment was submitted on .*; it can no longer "
                                                    "be changed$"):
        cert.save_draft(store, record["id"], {"PM-1": 1})
    with pytest.raises(SelfAssessmentRefused, match="no new link is needed"):
        cert.issue_link(store, "C-1", "CCOM")


@pytest.mark.parametrize("token, message", [
    ("x" * 43, r"^this link is not valid; ask the certification office for a new one$"),  # guessed
    ("short", r"^this link is not valid"),
    (None, r"^this link is not valid"),
])
def test_a_guessed_token_is_refused_in_one_line(cand_store, token, message):
    cert.issue_link(cand_store, "C-1", "CCOM")
    before = _counts(cand_store)
    with pytest.raises(SelfAssessmentRefused, match=message):
        cert.open_link(cand_store, token)
    assert _counts(cand_store) == before


def test_an_expired_token_is_refused(cand_store):
    token, expires = cert.issue_link(cand_store, "C-1", "CCOM", days=1)
    assert cert.open_link(cand_store, token, now=expires - dt.timedelta(seconds=1))
    with pytest.raises(SelfAssessmentRefused, match=rf"^this link expired on {expires:%Y-%m-%d}; ask"):
        cert.open_link(cand_store, token, now=expires)


@pytest.mark.parametrize("answers, message", [
    ({"PM-1": 5}, r"^statement PM-1: rating 5 is not one of the levels \[1, 2, 3, 4\]$"),
    ({"PM-1": "3"}, r"^statement PM-1: rating '3' is not one of the levels"),
    ({"ZZ-9": 3}, r"^statement 'ZZ-9' is not in ccom-self-assessment$"),
])
def test_bad_ratings_are_refused_and_nothing_is_stored(cand_store, answers, message):
    record = cert.start_self_assessment(cand_store, "C-1", "CCOM")
    before = _counts(cand_store)
    with pytest.raises(SelfAssessmentRefused, match=message):
        cert.save_draft(cand_store, record["id"], {"PM-2": 2, **answers})
    assert _counts(cand_store) == before


@pytest.mark.parametrize("call, message", [
    (lambda s: cert.issue_link(s, "C-404", "CCOM"), r"^unknown candidate 'C-404'$"),
    (lambda s: cert.issue_link(s, "C-1", "NOPE"), r"^unknown program 'NOPE'"),
    (lambda s: cert.issue_link(s, "C-1", "ICMI-SL"), r"^no self-assessment for 'ICMI-SL'; expected one of"),
    (lambda s: cert.issue_link(s, "C-1", "CCOM", days=0), r"^days 0: expected a whole number of days from 1 to 90$"),
])
def test_bad_requests_are_one_line(cand_store, call, message):
    with pytest.raises(SelfAssessmentRefused, match=message):
        call(cand_store)


def test_the_result_shows_strengths_development_areas_and_what_they_relate_to(cand_store):
    store = cand_store
    from evalkit.certification import record_result
    record_result(store, "C-1", "CCOM", "knowledge_2", 60, 100, "2026-01-10")
    record_result(store, "C-1", "CCOM", "knowledge_1", 82, 100, "2026-01-12")
    record = cert.start_self_assessment(store, "C-1", "CCOM")
    instrument = record["instrument"]
    answers = _all(instrument, 3)
    answers.update({s.id: 2 for s in instrument.domain("Operations Management").statements})
    answers.update({s.id: 4 for s in instrument.domain("Customer Relationships").statements})
    cert.submit_self_assessment(store, record["id"], answers)
    result = cert.self_assessment_result(store, record["id"])
    assert result.strengths == ["People Management", "Customer Relationships", "Leadership & Business"]
    assert result.development_areas == ["Operations Management"]
    om = result.domains[1]
    assert (om.mean, om.label, om.knowledge_assessment) == (2.0, "Developing", "knowledge_2")
    assert om.work_product_criteria == ("OM1", "OM2", "OM3") and om.study
    assert om.knowledge_result == "not passed yet (best 60%; pass mark 75%)"
    assert result.domains[0].knowledge_result == "passed (82% on 2026-01-12)"
    assert result.domains[2].knowledge_result == "not taken yet"
    assert result.domains[2].label == "Expert"


def test_a_draft_has_no_result_yet(cand_store):
    record = cert.start_self_assessment(cand_store, "C-1", "CCMA")
    with pytest.raises(SelfAssessmentRefused, match="^this self-assessment is still a draft; submit it"):
        cert.self_assessment_result(cand_store, record["id"])


def test_hub_users_are_linked_to_their_own_records(cand_store):
    cert.link_person(cand_store, "olive", candidate="C-1")
    assert cert.my_candidate(cand_store, "olive") == 1 and cert.my_candidate(cand_store, "pat") is None
    with pytest.raises(SelfAssessmentRefused, match="^that candidate is already linked to olive$"):
        cert.link_person(cand_store, "pat", candidate="C-1")
    with pytest.raises(SelfAssessmentRefused, match="^give a candidate or an agent"):
        cert.link_person(cand_store, "pat")


# --- migration 0009 --------------------------------------------------------------------------------------------

from alembic import command  # noqa: E402

from evalkit.store import migrate, schema  # noqa: E402
from test_migrations import SQLITE_AND_POSTGRES, _engine, _target, _url, database_at, rows_kept, snapshot  # noqa: E402

NEW_TABLES = {"person_links", "self_assessments", "self_assessment_answers", "access_tokens", "cc_self_reports",
              "cc_equipment_tickets", "cc_touch_base"}


@pytest.mark.parametrize("kind", SQLITE_AND_POSTGRES)
def test_0009_upgrades_a_0008_database_keeping_its_rows_and_downgrades(kind, request, tmp_path):
    url = database_at("0008", _url(kind, request, tmp_path))
    engine = _engine(url)
    now = dt.datetime(2026, 9, 1, 9)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO programs (id, name, definition) VALUES ('CCOM', 'CCOM', '{}')"))
        conn.execute(sa.text("INSERT INTO candidates (external_id, first_name, last_name) VALUES ('C-1', 'A', 'B')"))
        conn.execute(sa.text("INSERT INTO cc_agents (first_name, last_name, start_date) VALUES ('J', 'A', :d)"),
                     {"d": dt.date(2026, 9, 1)})
    engine.dispose()
    before = snapshot(url)
    assert not NEW_TABLES & set(before)
    migrate.upgrade(_target(url))
    after = snapshot(url)
    assert NEW_TABLES <= set(after) and rows_kept(before, after)
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(schema.cc_self_reports.insert(), [{
                "agent_id": 1, "on_date": dt.date(2026, 9, 1), "progress": "p", "tbt_modules": "[]", "blockers": "",
                "via": "form", "entered_by": "x", "reported_at": now}])
            conn.execute(schema.access_tokens.insert(), [{
                "token_sha256": "a" * 64, "purpose": "self_assessment", "candidate_id": 1, "program_id": "CCOM",
                "expires_at": now, "created_by": "x", "created_at": now}])
        with pytest.raises(sa.exc.IntegrityError):  # one report per agent and day
            with engine.begin() as conn:
                conn.execute(schema.cc_self_reports.insert(), [{
                    "agent_id": 1, "on_date": dt.date(2026, 9, 1), "progress": "q", "tbt_modules": "[]",
                    "blockers": "", "via": "email", "entered_by": "y", "reported_at": now}])
        with pytest.raises(sa.exc.IntegrityError):  # a token hash is stored once
            with engine.begin() as conn:
                conn.execute(schema.access_tokens.insert(), [{
                    "token_sha256": "a" * 64, "purpose": "self_assessment", "candidate_id": 1, "program_id": "CCOM",
                    "expires_at": now, "created_by": "x", "created_at": now}])
        with engine.begin() as conn:
            command.downgrade(migrate.alembic_config(connection=conn), "0008")
        with engine.connect() as conn:
            assert not NEW_TABLES & set(sa.inspect(conn).get_table_names())
            assert conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema_version'").scalar() == "8"
    finally:
        engine.dispose()


# --- row-level security on PostgreSQL: a candidate and an agent signed in through the hub ---------------------


@pytest.mark.postgres
def test_people_read_and_write_only_their_own_records(pg_url, tmp_path):
    from evalkit import access
    from evalkit import callcert as cc
    from evalkit.store import open_store
    from test_rls import as_person

    office = open_store(pg_url, create=True)
    try:
        wf.sync_programs(office)
        wf.add_candidate(office, "C-1", "Olive", "Ng")
        wf.add_candidate(office, "C-2", "Pat", "Ode")
        mine = cert.start_self_assessment(office, "C-1", "CCOM", actor="office")
        theirs = cert.start_self_assessment(office, "C-2", "CCOM", actor="office")
        cert.issue_link(office, "C-2", "CCOM", actor="office")
        jane = cc.add_agent(office, "Jane", "Agent", "2025-11-24", certifier="cert.gil", actor="office")
        jim = cc.add_agent(office, "Jim", "Other", "2025-11-24", certifier="cert.gil", actor="office")
        cc.score_call(office, jane, "cert.gil", {c.id: 4 for c in cc.load_scorecard().criteria}, "Clear.", "",
                      "Calm.", scored_on=dt.date(2025, 11, 24))
        cc.score_call(office, jim, "cert.gil", {c.id: 4 for c in cc.load_scorecard().criteria}, "Clear.", "",
                      "Calm.", scored_on=dt.date(2025, 11, 24))
        for username in ("olive", "jane", "coord.hal"):
            access.provision_person(office, username)
        access.grant(office, "coord.hal", "coordinator", actor="office")
        cert.link_person(office, "olive", candidate="C-1", actor="office")
        cert.link_person(office, "jane", agent_id=jane, actor="office")
    finally:
        office.dispose()

    olive = open_store(as_person(pg_url, "olive"))
    jane_store = open_store(as_person(pg_url, "jane"))
    coord = open_store(as_person(pg_url, "coord.hal"))
    try:
        with olive.read() as conn:
            assert conn.execute(sa.select(self_assessments.c.id)).scalars().all() == [mine["id"]]
            assert conn.execute(sa.text("SELECT external_id FROM candidates")).scalars().all() == ["C-1"]
            with pytest.raises(sa.exc.ProgrammingError):  # the tokens are the office's alone
                conn.execute(sa.select(access_tokens)).all()
        # through the application: her draft saved and submitted; the other candidate's refused by PostgreSQL
        cert.save_draft(olive, mine["id"], {"PM-1": 3}, actor="olive")
        with pytest.raises(SelfAssessmentRefused):  # not even visible to her
            cert.save_draft(olive, theirs["id"], {"PM-1": 3}, actor="olive")
        with pytest.raises(sa.exc.DBAPIError):
            with olive.engine.begin() as conn:
                conn.execute(self_assessment_answers.insert(), [{"self_assessment_id": theirs["id"],
                                                                 "statement_id": "PM-1", "level": 1,
                                                                 "updated_at": utcnow()}])
        instrument = mine["instrument"]
        cert.submit_self_assessment(olive, mine["id"], {s: 3 for s in instrument.statement_ids}, actor="olive")
        with pytest.raises(SelfAssessmentRefused, match="can no longer be changed"):
            cert.save_draft(olive, mine["id"], {"PM-1": 1}, actor="olive")
        with olive.engine.begin() as conn:  # nor behind the application's back once final: no row to update
            assert conn.execute(sa.text("UPDATE self_assessment_answers SET level = 1")).rowcount == 0
            assert conn.execute(sa.text("UPDATE self_assessments SET state = 'draft'")).rowcount == 0
        # the agent: her own calls (with the coaching note), her own report only
        assert [c["agent_id"] for c in cc.calls(jane_store, jane)] == [jane]
        with pytest.raises(cc.CallCertError, match=f"unknown agent {jim}"):
            cc.calls(jane_store, jim)
        cc.submit_self_report(jane_store, jane, "Two calls shadowed.", ["Billing 1"], "", reporter="jane",
                              today=dt.date(2025, 11, 25), on_date=dt.date(2025, 11, 25))
        with pytest.raises(sa.exc.DBAPIError):
            with jane_store.engine.begin() as conn:
                conn.execute(schema.cc_self_reports.insert(), [{
                    "agent_id": jim, "on_date": dt.date(2025, 11, 25), "progress": "x", "tbt_modules": "[]",
                    "blockers": "", "via": "form", "entered_by": "jane", "reported_at": utcnow()}])
        # the coordinator reads every report and enters the e-mail fallback
        cc.submit_self_report(coord, jim, "Finished TBTs.", "TBT 3", "Headset", via="email", actor="coord.hal",
                              today=dt.date(2025, 11, 25), on_date=dt.date(2025, 11, 25))
        assert {r["agent_id"] for r in cc.self_reports(coord)} == {jane, jim}
        assert {r["agent_id"] for r in cc.self_reports(jane_store)} == {jane}
        # the coordinator's team view: IT tickets and the touch base; an agent reads neither
        cc.open_equipment_ticket(coord, jim, "No headset", "IT-7", actor="coord.hal")
        cc.add_touch_base(coord, "Gil takes Jim after IT.", "coord.hal")
        assert [t["ticket_ref"] for t in cc.equipment_tickets(coord)] == ["IT-7"]
        assert cc.equipment_tickets(jane_store) == [] and cc.touch_base_notes(jane_store) == []
    finally:
        for s in (olive, jane_store, coord):
            s.dispose()


# --- the comparison read from the store (for the agreement report) ---------------------------------------------


def test_the_comparison_from_the_store_matches_a_hand_computation(demo_copy):
    from evalkit.psychometrics.self_assessment import self_and_evaluated, self_assessment_comparison
    from evalkit.store import candidates, decisions, open_store, resolved_scores, submissions
    store = open_store(demo_copy)
    try:
        with store.read() as conn:
            rows = conn.execute(sa.select(candidates.c.external_id, submissions.c.id, submissions.c.rubric_version)
                                .join(submissions, submissions.c.candidate_id == candidates.c.id)
                                .join(decisions, decisions.c.submission_id == submissions.c.id)
                                .where(submissions.c.program_id == "CCOM", submissions.c.is_benchmark.is_(False))
                                .order_by(submissions.c.attempt)).all()
        latest = {r.external_id: r for r in rows}
        chosen = sorted(latest)[:5]
        assert len(chosen) >= 4
        expected_self = {}
        for k, ext in enumerate(chosen):
            record = cert.start_self_assessment(store, ext, "CCOM")
            if record["state"] == "final":
                continue
            instrument = record["instrument"]
            answers = {s.id: 1 + (k + j) % 4 for j, s in enumerate(instrument.statements)}
            cert.submit_self_assessment(store, record["id"], answers)
            expected_self[ext] = {d.name: np.mean([(answers[s.id] - 1) / 3 for s in d.statements])
                                  for d in instrument.domains}
        mine, theirs = self_and_evaluated(store, "CCOM")
        for ext, domains in expected_self.items():
            for d, v in domains.items():
                assert mine.at[ext, d] == pytest.approx(v)
        # the SME side by hand for one candidate: weighted mean of (level - 1) / 3 over the domain's criteria
        ext = chosen[0]
        rubric = wf.rubric_for(store, latest[ext].rubric_version)
        with store.read() as conn:
            levels = dict(conn.execute(sa.select(resolved_scores.c.criterion_id, resolved_scores.c.level)
                                       .where(resolved_scores.c.submission_id == latest[ext].id)).all())
        for domain, criteria in rubric.by_domain().items():
            want = sum(c.weight * (levels[c.id] - 1) / 3 for c in criteria) / sum(c.weight for c in criteria)
            assert theirs.at[ext, domain] == pytest.approx(want)
        result = self_assessment_comparison(store, "CCOM")
        assert result.candidates == len(mine.index.intersection(theirs.index)) >= len(expected_self)
        assert list(result.prediction.index)[-1] == "All domains"
        assert set(result.bias.index) == set(COMPETENCY_DOMAINS)
    finally:
        store.dispose()


def test_the_candidate_page_in_the_kernel(cand_store):
    from evalkit.widgets.self_assessment import SelfAssessmentPage, token_from_query
    token, _ = cert.issue_link(cand_store, "C-1", "CCMA")
    assert token_from_query(f"token={token}") == token
    bad = SelfAssessmentPage(cand_store, token="y" * 43)
    assert "this link is not valid" in bad.message.value and not bad.ratings
    page = SelfAssessmentPage(cand_store, token=token)
    first = next(iter(page.ratings))
    page.ratings[first].value = 2
    assert page.save() and "Draft saved" in page.message.value
    assert not page.submit() and "Not submitted: 17 statements are not rated" in page.message.value
    for b in page.ratings.values():
        b.value = 3
    assert page.submit()
    assert "Strengths:" in page.body.children[0].value and "ek-sa-pdf" in page.body.children[0].value
    again = SelfAssessmentPage(cand_store, token=token)
    assert "this link was used on" in again.message.value


def test_the_result_pdf(cand_store):
    record = cert.start_self_assessment(cand_store, "C-1", "CCOM")
    cert.submit_self_assessment(cand_store, record["id"], _all(record["instrument"], 2, **{"PM-1": 4}))
    result = cert.self_assessment_result(cand_store, record["id"])
    page = cert.result_html(result)
    assert "Development area" in page and "What to study" in page and "OM1, OM2, OM3" in page
    assert cert.result_pdf(result).startswith(b"%PDF")


def test_the_office_issues_a_link_and_links_a_hub_user_from_the_command_line(workspace, capsys):
    from evalkit.cli import main
    from evalkit.store import open_store
    s = open_store(workspace)
    try:
        wf.add_candidate(s, "C-9", "Noor", "Aziz")
    finally:
        s.dispose()
    assert main(["candidates", "self-assessment-link", "-w", str(workspace), "C-9", "CCMC", "--days", "3",
                 "--base-url", "https://office.example:8866/"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("https://office.example:8866/?token=")
    assert out[1].startswith("single use, expires ")
    token = out[0].split("token=")[1]
    s = open_store(workspace)
    try:
        assert cert.open_link(s, token)["program_id"] == "CCMC"
    finally:
        s.dispose()
    assert main(["candidates", "self-assessment-link", "-w", str(workspace), "C-9", "ICMI-SL",
                 "--base-url", "https://office.example:8866"]) == 1
    err = capsys.readouterr().err
    assert "no self-assessment for 'ICMI-SL'" in err and len(err.strip().splitlines()) == 1
    assert main(["candidates", "link-person", "-w", str(workspace), "noor", "--candidate", "C-9"]) == 0
    assert capsys.readouterr().out.strip() == "noor is candidate C-9"
