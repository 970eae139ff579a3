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
