"""The instruments in rubrics/ and the rubric loader's validation, version hash and error messages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from evalkit.instruments.rubric import COMPETENCY_DOMAINS, RubricError, load_rubric, parse_rubric, validate_files

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rubrics"

WORK_PRODUCT_RUBRICS = ("ccom_wpa.yaml", "ccsl_wpa.yaml", "icmi_pa.yaml")
CALL_SCORECARD = "call_scorecard.yaml"


def _is_rubric_file(path: Path) -> bool:
    """Rubric files are the YAML mappings with a ``criteria`` key (programs.yaml, owned elsewhere, has none)."""
    if path.name == "programs.yaml":
        return False
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return True  # a broken file in rubrics/ must fail the load test, not be skipped
    return isinstance(data, dict) and "criteria" in data


SHIPPED = sorted(p for p in RUBRICS.glob("*.yaml") if _is_rubric_file(p))


def _percent(rubric, scores: dict[str, int]) -> float:
    """Weighted total as a percentage of the weighted maximum (the call score for the scorecard)."""
    return 100 * sum(c.weight * scores[c.id] for c in rubric.criteria) / rubric.weighted_max


def _problems(path) -> list[str]:
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def _only_problem(name: str) -> str:
    problems = _problems(FIXTURES / name)
    assert len(problems) == 1, problems
    return problems[0]


# --- the shipped instruments --------------------------------------------------------------------------------


def test_the_expected_rubric_files_are_shipped():
    names = {p.name for p in SHIPPED}
    assert set(WORK_PRODUCT_RUBRICS) | {CALL_SCORECARD} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_rubric_loads(path):
    rubric = load_rubric(path)
    assert rubric.criteria and re.fullmatch(r"[0-9a-f]{16}", rubric.version)
    assert rubric.id and rubric.title
    assert "example instrument" in rubric.version_notes.lower()
    assert rubric.tolerance.levels == 1 and rubric.tolerance.decision is True


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_deficient_level_has_feedback(path):
    rubric = load_rubric(path)
    for c in rubric.criteria:
        assert c.meets_standard in c.scores
        deficient = [lv for lv in c.levels if lv.score < c.meets_standard]
        assert deficient, f"{c.id}: no level below the standard"
        for lv in deficient:
            assert len(lv.feedback) >= 2, f"{path.name} {c.id} level {lv.score}: {lv.feedback}"
            assert all(len(sentence) > 20 for sentence in lv.feedback)
        for lv in c.levels:
            assert lv.descriptor and lv.label


@pytest.mark.parametrize("name", WORK_PRODUCT_RUBRICS)
def test_work_product_rubric_shape(name):
    rubric = load_rubric(RUBRICS / name)
    assert rubric.domains == COMPETENCY_DOMAINS  # exactly the four, each used
    assert {c.domain for c in rubric.criteria} == set(COMPETENCY_DOMAINS)
    assert 8 <= len(rubric.criteria) <= 12
    for c in rubric.criteria:
        assert c.scores == (1, 2, 3, 4), c.id
        assert c.meets_standard == 3, c.id
        assert all(2 <= len(c.level(s).feedback) <= 3 for s in (1, 2)), c.id
    assert rubric.pass_rule.pass_mark == 75
    assert 1 <= len(rubric.pass_rule.must_meet) < len(rubric.criteria)
    # Meeting the standard on every criterion reaches the pass mark; one level lower everywhere does not.
    assert _percent(rubric, {c.id: 3 for c in rubric.criteria}) >= 75
    assert _percent(rubric, {c.id: 2 for c in rubric.criteria}) < 75


def test_call_scorecard_shape_and_pass_mark():
    rubric = load_rubric(RUBRICS / CALL_SCORECARD)
    assert rubric.pass_rule.pass_mark == 85
    assert rubric.pass_rule.must_meet == ()  # a call passes on its score alone
    assert not set(rubric.domains) & set(COMPETENCY_DOMAINS)
    assert len(rubric.domains) >= 3
    for c in rubric.criteria:
        assert c.scores == (0, 1, 2, 3, 4), c.id
        assert c.meets_standard == c.max_score, c.id  # a call that meets every standard scores 100
    best = {c.id: c.max_score for c in rubric.criteria}
    worst = {c.id: c.scores[0] for c in rubric.criteria}
    assert _percent(rubric, best) == pytest.approx(100)
    assert _percent(rubric, worst) == pytest.approx(0)


@pytest.mark.parametrize("keyword", ["verif", "compliance", "accurate resolution"])
def test_call_scorecard_critical_items_fail_the_call(keyword):
    """Poor on verification, compliance or resolution fails an otherwise perfect call; Needs improvement does not."""
    rubric = load_rubric(RUBRICS / CALL_SCORECARD)
    [critical] = [c for c in rubric.criteria if keyword in c.assesses.lower()]
    perfect = {c.id: c.max_score for c in rubric.criteria}
    assert _percent(rubric, {**perfect, critical.id: 1}) < 85
    assert _percent(rubric, {**perfect, critical.id: 2}) >= 85


def test_call_scorecard_minor_items_do_not_fail_a_good_call():
    rubric = load_rubric(RUBRICS / CALL_SCORECARD)
    light = [c for c in rubric.criteria if c.weight == min(x.weight for x in rubric.criteria)]
    scores = {c.id: c.max_score for c in rubric.criteria}
    scores[light[0].id] = 0
    assert _percent(rubric, scores) >= 85


# --- the version (content hash) -----------------------------------------------------------------------------


def test_version_ignores_comments_and_formatting():
    assert load_rubric(FIXTURES / "good.yaml").version == load_rubric(FIXTURES / "good_reformatted.yaml").version


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_version_survives_reformatting_shipped_rubric(path):
    text = path.read_text(encoding="utf-8")
    redone = "# reformatted\n" + yaml.safe_dump(yaml.safe_load(text), default_flow_style=True, width=60)
    assert parse_rubric(redone, "redone.yaml").version == load_rubric(path).version


def test_version_changes_with_descriptor_or_weight():
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    base = parse_rubric(text).version
    descriptor = text.replace("descriptor: Results analysed.", "descriptor: Results analysed by driver.")
    weight = text.replace("    weight: 2\n", "    weight: 3\n")
    feedback = text.replace("[Analyse the drivers.]", "[Analyse the drivers of dissatisfaction.]")
    pass_mark = text.replace("pass_mark: 75", "pass_mark: 80")
    versions = [parse_rubric(t).version for t in (descriptor, weight, feedback, pass_mark)]
    assert all(t != text for t in (descriptor, weight, feedback, pass_mark))
    assert base not in versions and len(set(versions)) == 4


# --- bad rubrics: each problem names the file, the YAML path, the line and what is expected -----------------


@pytest.mark.parametrize(
    "name, line, path, expected",
    [
        ("missing_field.yaml", 14, "criteria[1].assesses", "missing; expected a sentence saying what is assessed"),
        ("duplicate_criterion_id.yaml", 14, "criteria[1].id", "duplicate criterion id 'C1'; ids must be unique"),
        ("duplicate_key.yaml", 18, "criteria[1].weight", "duplicate key 'weight'; each key may appear once"),
        ("nonpositive_weight.yaml", 17, "criteria[1].weight", "is 0; expected a positive"),
        ("nonnumeric_weight.yaml", 17, "criteria[1].weight", "is 'heavy'; expected a positive number"),
        ("levels_out_of_order.yaml", 21, "criteria[1].levels[1].score",
         "is 1, not above the previous level's 2; expected levels in ascending score order"),
        ("meets_standard_not_a_level.yaml", 18, "criteria[1].meets_standard",
         "is 2; expected one of the level scores [1, 3]"),
        ("missing_feedback.yaml", 20, "criteria[1].levels[0].feedback",
         "missing for deficient level 1 (Developing); expected at least one feedback-bank sentence"),
        ("unknown_domain.yaml", 15, "criteria[1].domain",
         "unknown domain 'Customer Relationship'; expected one of ['People Management', 'Customer Relationships']"),
        ("unknown_must_meet.yaml", 22, "pass_rule.must_meet[1]",
         "unknown criterion 'C3'; expected one of the criteria's ids"),
        ("empty_criteria.yaml", 5, "criteria", "is empty; expected at least one criterion"),
        ("not_a_mapping.yaml", 2, "(top level)", "is a list; expected a mapping with id, title, domains, criteria"),
    ],
)
def test_bad_rubric_message(name, line, path, expected):
    problem = _only_problem(name)
    assert problem.startswith(f"{FIXTURES / name}:{line}: {path}: "), problem
    assert expected in problem


def test_yaml_syntax_error_names_file_and_line():
    problem = _only_problem("syntax_error.yaml")
    assert problem.startswith(f"{FIXTURES / 'syntax_error.yaml'}:16: YAML syntax error"), problem
    assert "mapping values are not allowed" in problem
    assert "expected valid YAML" in problem


def test_missing_file():
    missing = FIXTURES / "no_such_rubric.yaml"
    assert _problems(missing) == [f"{missing}: file not found"]


def test_several_problems_are_all_reported_one_line_each():
    name = FIXTURES / "several_problems.yaml"
    problems = _problems(name)
    assert all("\n" not in p and p.startswith(f"{name}:") for p in problems)
    assert [p.split(": ", 2)[:2] for p in problems] == [
        [f"{name}:9", "criteria[0].weight"],
        [f"{name}:15", "criteria[1].domain"],
        [f"{name}:20", "criteria[1].levels[0].feedback"],
        [f"{name}:22", "pass_rule.must_meet[1]"],
    ]


def test_parse_rubric_names_the_given_source():
    text = (FIXTURES / "nonnumeric_weight.yaml").read_text(encoding="utf-8")
    with pytest.raises(RubricError, match=r"^upload\.yaml:17: criteria\[1\]\.weight: "):
        parse_rubric(text, "upload.yaml")


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("    weight: 2\n", "    weight: -1.5\n", "criteria[1].weight: is -1.5; expected a positive"),
        ("    weight: 2\n", "    weight: .inf\n", "criteria[1].weight: is inf; expected a positive, finite number"),
        ("    weight: 2\n", "    weight: true\n", "criteria[1].weight: is True; expected a positive number"),
        ("must_meet: [C1]", "must_meet: [{id: C1}]", "pass_rule.must_meet[0]: is {'id': 'C1'}; expected a criterion id"),
        ("pass_mark: 75", "pass_mark: 175", "pass_rule.pass_mark: is 175; expected a percentage between 0 and 100"),
        ("levels: 1, decision", "levels: -1, decision", "tolerance.levels: is -1; expected an integer >= 0"),
    ],
)
def test_other_bad_values_are_reported_not_crashed(old, new, expected):
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    with pytest.raises(RubricError) as info:
        parse_rubric(text.replace(old, new), "edited.yaml")
    assert any(p.startswith("edited.yaml:") and expected in p for p in info.value.problems), info.value.problems


def test_unread_keys_do_not_break_loading():
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8") + "1: a stray numeric key\n"
    assert parse_rubric(text).version == load_rubric(FIXTURES / "good.yaml").version


# --- validate_files ------------------------------------------------------------------------------------------


def test_validate_files_reports_only_the_bad_files():
    good = [FIXTURES / "good.yaml", FIXTURES / "good_reformatted.yaml", RUBRICS / "ccom_wpa.yaml"]
    bad = [FIXTURES / "duplicate_key.yaml", FIXTURES / "several_problems.yaml", FIXTURES / "no_such_rubric.yaml"]
    problems = validate_files([good[0], bad[0], good[1], bad[1], good[2], bad[2]])
    assert len(problems) == 1 + 4 + 1
    assert all(any(p.startswith(f"{b}:") for b in bad) for p in problems), problems
    assert not any(p.startswith(f"{g}:") for g in good for p in problems)
    assert validate_files(good) == []
    assert validate_files(SHIPPED) == []


# --- hostile YAML: refused before it is composed, in one short line naming the file and the line -------------

_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))

HOSTILE = {
    "recursive alias": ("id: &x [*x]\n", r"evil\.yaml:1: anchor &x; expected plain YAML without anchors"),
    "billion laughs": (_LAUGHS, r"evil\.yaml:1: anchor &a; expected plain YAML"),
    "alias bomb under id": (_LAUGHS + "id: *i\n", r"evil\.yaml:1: anchor &a"),
    "deep flow nesting": ("id: " + "[" * 50_000 + "]" * 50_000 + "\n", r"evil\.yaml:1: nested 33 levels deep; "
                                                                         r"expected at most 32"),
    "deep block nesting": ("".join("  " * i + "k:\n" for i in range(700)), r"evil\.yaml:33: nested 33 levels deep"),
    "4,300-digit integer": ("id: ok\ntitle: t\npass_rule: {pass_mark: " + "7" * 4_300 + "}\n",
                            r"evil\.yaml:3: pass_mark: is a 4300-character number; expected at most 40 characters"),
    "tagged long integer": ("id: !!int " + "1" * 100 + "\n", r"evil\.yaml:1: id: is a 100-character number"),
    "key with a newline": ('"a\\nb": 1\n"a\\nb": 2\n', r"evil\.yaml:2: a\\nb: duplicate key 'a\\nb'"),
    "oversized file": ("# " + "x" * 1_100_000 + "\n", r"evil\.yaml: is 1,100,003 bytes; expected at most 1,048,576"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_yaml_is_refused_in_one_short_line(case, tmp_path):
    text, expected = HOSTILE[case]
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    problems = _problems(path)
    assert re.match(f"{re.escape(str(tmp_path))}/{expected}", problems[0]), problems
    assert all("\n" not in p and len(p) < 400 for p in problems), [p[:200] for p in problems]


def test_deep_nesting_cannot_crash_the_interpreter(tmp_path):
    # 50,000 levels overflowed libyaml's composer (a segfault) before the depth was screened on the event stream.
    import subprocess
    import sys
    path = tmp_path / "deep.yaml"
    path.write_text("id: " + "[" * 50_000 + "]" * 50_000 + "\n")
    code = "import sys; from evalkit.rubric import validate_files; print(validate_files([sys.argv[1]])[0])"
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-500:]
    assert "nested 33 levels deep" in run.stdout


def test_a_long_value_is_shortened_in_its_message(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("id: [" + ", ".join(["word"] * 50_000) + "]\n")
    problems = _problems(path)
    assert any("id: is ['word', 'word', 'word', 'word', ...]; expected" in p for p in problems), problems
    assert all(len(p) < 400 for p in problems)
