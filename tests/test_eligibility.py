"""Eligibility rule sets (rubrics/eligibility/): every route of the NYS titles, substitutions, promotion, CIAC's
in-role year, the reasons an officer reads, and the one-line errors for bad profiles and bad rule-set files."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from evalkit.instruments.eligibility import (EligibilityError, ProfileError, check_eligibility, get_rule_set,
                                             load_rule_set, parse_rule_set, shipped_rule_sets, validate_profile)

RULE_SETS = Path(__file__).resolve().parent.parent / "rubrics" / "eligibility"


def job(years, role="customer_service", call_center=True, employer="government", supervision=0.0, projects=False):
    return {"years": years, "role": role, "call_center": call_center, "employer": employer,
            "supervision_years": supervision, "directs_projects": projects}


def person(highest="high_school", credits=0, experience=(), service=()):
    return {"education": {"highest": highest, "college_credits": credits}, "experience": list(experience),
            "service": list(service)}


def served(title, years, permanent=True):
    return {"title": title, "years": years, "permanent_competitive": permanent}


def lacks(result, route_id) -> str:
    return "; ".join(result.lacks.get(route_id, ()))


# --- the shipped rule sets ---------------------------------------------------------------------------------------


def test_the_shipped_rule_sets_load_with_their_routes():
    sets = shipped_rule_sets()
    assert sorted(sets) == ["CIAC-CCOM", "CIAC-CCSL", "NYS-CCM", "NYS-CCR4"]
    assert [r.id for r in sets["NYS-CCR4"].routes] == ["promotion", "open-bachelor", "open-credits",
                                                       "open-high-school"]
    assert [r.id for r in sets["NYS-CCM"].routes] == ["promotion", "open-competitive"]
    assert "Classification Standard" in sets["NYS-CCM"].source
    assert all(route.says for rules in sets.values() for route in rules.routes)


# --- Call Center Representative 4 --------------------------------------------------------------------------------

# One profile per route that meets that route and no other.
CCR4_MEETS = {
    "promotion": person("none", service=[served("NYS-CCR3", 1)]),
    "open-bachelor": person("bachelor", experience=[job(1, supervision=0), job(2, "supervision", supervision=2)]),
    "open-credits": person("high_school", credits=60, experience=[job(4, supervision=2)]),
    "open-high-school": person("high_school", experience=[job(5, "management", supervision=2)]),
}


@pytest.mark.parametrize("route", sorted(CCR4_MEETS))
def test_each_ccr4_route_is_met(route):
    result = check_eligibility("NYS-CCR4", CCR4_MEETS[route])
    assert result.eligible and result.route == route
    assert len(result.reasons) == 3  # the other three routes failed, each with its reason


# (route, change to its passing profile, words that must be in that route's reasons)
CCR4_FAILS = [
    ("promotion", lambda p: p["service"][0].update(years=0.9), "0.9 years of permanent competitive service as "
                                                               "NYS-CCR3, needs 1"),
    ("promotion", lambda p: p["service"][0].update(permanent_competitive=False), "none of it permanent competitive"),
    ("promotion", lambda p: p["service"][0].update(title="NYS-CCR2"), "no service as NYS-CCR3"),
    ("open-bachelor", lambda p: p["education"].update(highest="associate"),
     "education is an associate's degree, needs a bachelor's degree or higher"),
    ("open-bachelor", lambda p: p["experience"][0].update(years=0.5), "2.5 years of customer service, supervision "
                                                                     "or management experience in a government "
                                                                     "call centre, needs 3"),
    ("open-bachelor", lambda p: p["experience"][1].update(supervision_years=1.5),
     "1.5 years of supervision in that experience, needs 2"),
    ("open-bachelor", lambda p: p["experience"][1].update(employer="private"),
     "1.0 years of customer service, supervision or management experience in a government call centre (2.0 other "
     "years do not count), needs 3"),
    ("open-bachelor", lambda p: p["experience"][0].update(call_center=False), "2.0 years of customer service"),
    ("open-bachelor", lambda p: p["experience"][0].update(role="consulting"), "2.0 years of customer service"),
    ("open-credits", lambda p: p["education"].update(college_credits=59.5), "59.5 college credits, needs 60"),
    ("open-credits", lambda p: p["experience"][0].update(years=3.5), "3.5 years of customer service"),
    ("open-credits", lambda p: p["experience"][0].update(supervision_years=1), "1.0 years of supervision"),
    ("open-credits", lambda p: p["experience"][0].update(employer="private"), "0.0 years of customer service"),
    ("open-credits", lambda p: p["experience"][0].update(call_center=False), "0.0 years of customer service"),
    ("open-credits", lambda p: p["experience"][0].update(role="training"), "0.0 years of customer service"),
    ("open-high-school", lambda p: p["education"].update(highest="none"),
     "education is no diploma, needs a high school diploma or GED or higher"),
    ("open-high-school", lambda p: p["experience"][0].update(years=4.9), "4.9 years of customer service"),
    ("open-high-school", lambda p: p["experience"][0].update(supervision_years=0), "0.0 years of supervision"),
    ("open-high-school", lambda p: p["experience"][0].update(employer="private"), "0.0 years of customer service"),
    ("open-high-school", lambda p: p["experience"][0].update(call_center=False), "0.0 years of customer service"),
    ("open-high-school", lambda p: p["experience"][0].update(role="other"), "0.0 years of customer service"),
]


@pytest.mark.parametrize("route,change,words", CCR4_FAILS,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CCR4_FAILS)])
def test_each_ccr4_route_fails_on_each_condition(route, change, words):
    profile = copy.deepcopy(CCR4_MEETS[route])
    change(profile)
    result = check_eligibility("NYS-CCR4", profile)
    assert not result.eligible and result.route is None
    assert words in lacks(result, route)


def test_a_masters_substitutes_one_more_year_on_the_bachelors_route():
    def ccr4(highest, years):
        return check_eligibility("NYS-CCR4", person(highest, experience=[job(years, "supervision", supervision=min(years, 2))]))
    assert ccr4("master", 2).route == "open-bachelor"  # at the cap: 3 - 1
    assert ccr4("master", 2.5).eligible  # above the need
    below = ccr4("master", 1.9)
    assert not below.eligible  # the substitution is capped at one year
    assert "needs 2 (3 less 1 for a master's degree)" in lacks(below, "open-bachelor")
    assert not ccr4("bachelor", 2).eligible  # a bachelor's alone substitutes nothing: it is the route's education


def test_substitution_never_waives_the_required_supervision():
    result = check_eligibility("NYS-CCR4", person("master", experience=[job(2, supervision=1)]))
    assert not result.eligible
    assert lacks(result, "open-bachelor") == "1.0 years of supervision in that experience, needs 2"


# --- Call Center Manager -----------------------------------------------------------------------------------------


def manager(highest="high_school", years=8, **changes):
    entry = job(years, "management", supervision=2, projects=True)
    entry.update(changes)
    return person(highest, experience=[entry])


def test_each_ccm_route_is_met():
    promoted = check_eligibility("NYS-CCM", person("none", service=[served("NYS-CCR4", 1.5)]))
    assert promoted.route == "promotion" and promoted.reasons[0].startswith("route 2 (open-competitive): ")
    open_route = check_eligibility("NYS-CCM", manager())
    assert open_route.route == "open-competitive"
    assert open_route.reasons == ("route 1 (promotion): no service as NYS-CCR4",)


CCM_FAILS = {
    "too few years": ({"years": 7.5}, "7.5 years of management experience in a government call centre, needs 8"),
    "not management": ({"role": "supervision"}, "0.0 years of management experience"),
    "not a call centre": ({"call_center": False}, "0.0 years of management experience"),
    "private employer": ({"employer": "private"}, "(8.0 other years do not count)"),
    "too little supervision": ({"supervision_years": 1.9}, "1.9 years of supervision in that experience, needs 2"),
    "no projects": ({"directs_projects": False}, "no directing projects or process-improvement initiatives in that "
                                                 "experience, needs some"),
}


@pytest.mark.parametrize("case", sorted(CCM_FAILS))
def test_the_ccm_open_route_fails_on_each_condition(case):
    changes, words = CCM_FAILS[case]
    result = check_eligibility("NYS-CCM", manager(**changes))
    assert not result.eligible
    assert words in lacks(result, "open-competitive")


@pytest.mark.parametrize("title,years,permanent,words", [
    ("NYS-CCR4", 0.5, True, "0.5 years of permanent competitive service as NYS-CCR4, needs 1"),
    ("NYS-CCR4", 3, False, "3.0 years of service as NYS-CCR4, none of it permanent competitive, needs 1"),
    ("NYS-CCR3", 3, True, "no service as NYS-CCR4"),
])
def test_the_ccm_promotion_route_fails(title, years, permanent, words):
    result = check_eligibility("NYS-CCM", person("none", service=[served(title, years, permanent)]))
    assert not result.eligible
    assert lacks(result, "promotion") == words


def test_promotion_service_adds_up_over_entries_and_ignores_provisional_time():
    two_halves = [served("NYS-CCR4", 0.5), served("NYS-CCR4", 0.5)]
    assert check_eligibility("NYS-CCM", person("none", service=two_halves)).route == "promotion"
    mixed = [served("NYS-CCR4", 0.5), served("NYS-CCR4", 2, permanent=False)]
    assert not check_eligibility("NYS-CCM", person("none", service=mixed)).eligible


# (highest education, years of experience, eligible): 8 years less 2 / 4 / 5.
CCM_SUBSTITUTIONS = [
    ("high_school", 8, True), ("high_school", 7.9, False),
    ("associate", 6, True), ("associate", 6.5, True), ("associate", 5.9, False),
    ("bachelor", 4, True), ("bachelor", 5, True), ("bachelor", 3.9, False),
    ("master", 3, True), ("master", 3.5, True), ("master", 2.9, False),
]


@pytest.mark.parametrize("highest,years,eligible", CCM_SUBSTITUTIONS)
def test_ccm_substitution_caps(highest, years, eligible):
    result = check_eligibility("NYS-CCM", manager(highest, years))
    assert result.eligible is eligible
    assert (result.route == "open-competitive") is eligible


def test_a_higher_degree_includes_the_lower_ones_substitutions():
    result = check_eligibility("NYS-CCM", manager("master", 2.5))
    assert lacks(result, "open-competitive") == ("2.5 years of management experience in a government call centre, "
                                                 "needs 3 (8 less 5 for a master's degree)")
    bachelor = check_eligibility("NYS-CCM", manager("bachelor", 3))
    assert "needs 4 (8 less 4 for a bachelor's degree)" in lacks(bachelor, "open-competitive")
    associate = check_eligibility("NYS-CCM", manager("associate", 5))
    assert "needs 6 (8 less 2 for an associate's degree)" in lacks(associate, "open-competitive")


def test_experience_adds_up_over_qualifying_entries_only():
    entries = [job(3, "management", supervision=1, projects=True), job(1, "management", supervision=1),
               job(5, "management", employer="private", supervision=5, projects=True)]
    result = check_eligibility("NYS-CCM", person("bachelor", experience=entries))
    assert result.route == "open-competitive"  # 4 government years, 2 of supervision, with projects
    entries[1]["employer"] = "private"
    result = check_eligibility("NYS-CCM", person("bachelor", experience=entries))
    assert lacks(result, "open-competitive") == (
        "3.0 years of management experience in a government call centre (6.0 other years do not count), needs 4 "
        "(8 less 4 for a bachelor's degree); 1.0 years of supervision in that experience, needs 2")


# --- CIAC ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rules,role", [("CIAC-CCSL", "strategic_leadership"), ("CIAC-CCOM", "management")])
def test_ciac_one_year_in_role(rules, role):
    assert check_eligibility(rules, person("none", experience=[job(1, role, employer="private")])).route == "in-role"
    short = check_eligibility(rules, person("none", experience=[job(0.9, role)]))
    assert not short.eligible
    assert short.reasons == (f"route 1 (in-role): 0.9 years of {role.replace('_', ' ')} experience in a call centre, "
                             "needs 1",)
    assert not check_eligibility(rules, person("none", experience=[job(3, role, call_center=False)])).eligible
    assert not check_eligibility(rules, person("none", experience=[job(3, "customer_service")])).eligible


# --- how a rule set is named ------------------------------------------------------------------------------------


def test_a_rule_set_by_id_path_or_object(tmp_path):
    profile = person("none", experience=[job(1, "management")])
    path = RULE_SETS / "ciac_ccom.yaml"
    assert check_eligibility(str(path), profile).route == "in-role"
    assert check_eligibility(path, profile).route == "in-role"
    assert check_eligibility(load_rule_set(path), profile).route == "in-role"
    assert get_rule_set("CIAC-CCOM") == load_rule_set(path)


def test_an_unknown_rule_set_id_names_the_known_ones():
    with pytest.raises(EligibilityError) as info:
        check_eligibility("NYS-CCR9", person())
    assert str(info.value) == ("unknown rule set 'NYS-CCR9'; expected one of CIAC-CCOM, CIAC-CCSL, NYS-CCM, NYS-CCR4, "
                               "or a path to a rule-set YAML file")


def test_the_re_export_path():
    from evalkit import eligibility
    from evalkit.eligibility import check_eligibility as exported
    from evalkit.instruments import eligibility as real
    assert exported is real.check_eligibility
    assert eligibility.ProfileError is real.ProfileError
    assert exported("NYS-CCM", manager()).eligible


# --- bad profiles ------------------------------------------------------------------------------------------------

BAD_PROFILES = {
    "unknown education level": ({"education": {"highest": "phd"}},
                                "profile.education.highest: is 'phd'; expected one of none, high_school, associate, "
                                "bachelor, master"),
    "missing education": ({}, "profile.education: missing; expected a mapping with highest and college_credits"),
    "missing highest": ({"education": {}}, "profile.education.highest: missing; expected one of none, high_school"),
    "negative credits": ({"education": {"highest": "none", "college_credits": -1}},
                         "profile.education.college_credits: is -1; expected a number of college credits >= 0"),
    "negative years": ({"experience": [job(1), job(-2)]},
                       "profile.experience[1].years: is -2; expected a number of years >= 0"),
    "text years": ({"experience": [job("3")]}, "profile.experience[0].years: is '3'; expected a number of years >= 0"),
    "true as years": ({"experience": [job(True)]}, "profile.experience[0].years: is True; expected a number"),
    "infinite years": ({"experience": [job(float("inf"))]}, "profile.experience[0].years: is inf; expected"),
    "missing years": ({"experience": [{"role": "management", "call_center": True, "employer": "private"}]},
                      "profile.experience[0].years: missing; expected a number of years >= 0"),
    "missing call_center": ({"experience": [{"years": 1, "role": "management", "employer": "private"}]},
                            "profile.experience[0].call_center: missing; expected true or false"),
    "unknown role": ({"experience": [job(1, "boss")]}, "profile.experience[0].role: is 'boss'; expected one of "
                                                       "customer_service"),
    "unknown employer": ({"experience": [job(1, employer="nonprofit")]},
                         "profile.experience[0].employer: is 'nonprofit'; expected one of government, private"),
    "text call_center": ({"experience": [job(1, call_center="yes")]},
                         "profile.experience[0].call_center: is 'yes'; expected true or false"),
    "supervision over years": ({"experience": [job(3, supervision=4)]},
                               "profile.experience[0].supervision_years: is 4, more than the entry's 3 years; "
                               "expected at most its years"),
    "unknown experience key": ({"experience": [{**job(1), "yeers": 2}]},
                               "profile.experience[0].yeers: unknown key 'yeers'; expected only years, role"),
    "unknown top key": ({"educaton": {}}, "profile.educaton: unknown key 'educaton'; expected only education, "
                                          "experience, service"),
    "experience not a list": ({"experience": job(1)}, "profile.experience: is {"),
    "entry not a mapping": ({"experience": [5]}, "profile.experience[0]: is 5; expected a mapping with years"),
    "negative service": ({"service": [served("NYS-CCR3", -1)]},
                         "profile.service[0].years: is -1; expected a number of years >= 0"),
    "service not permanent flag": ({"service": [{"title": "NYS-CCR3", "years": 1}]},
                                   "profile.service[0].permanent_competitive: missing; expected true or false"),
    "service missing title": ({"service": [{"years": 1, "permanent_competitive": True}]},
                              "profile.service[0].title: missing; expected a title such as NYS-CCR3"),
    "not a mapping": ("bachelor", "profile: is 'bachelor'; expected a mapping with education, experience, service"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_a_bad_profile_is_refused_with_one_line_naming_the_place(case):
    changes, expected = BAD_PROFILES[case]
    profile = {**person(), **changes} if isinstance(changes, dict) and changes else changes
    with pytest.raises(ProfileError) as info:
        check_eligibility("NYS-CCM", profile)
    assert isinstance(info.value, ValueError)
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(expected), info.value.problems[0]
    assert "\n" not in info.value.problems[0]


def test_every_profile_problem_is_reported():
    with pytest.raises(ProfileError) as info:
        validate_profile({"education": {"highest": "phd"}, "experience": [job(-1), job(1, "boss")]})
    assert [p.split(":")[0] for p in info.value.problems] == [
        "profile.education.highest", "profile.experience[0].years", "profile.experience[1].role"]


def test_a_profile_is_checked_before_the_rule_set_is_looked_up():
    with pytest.raises(ProfileError):
        check_eligibility("NO-SUCH-SET", {"education": {"highest": "phd"}})


# --- bad rule-set files ------------------------------------------------------------------------------------------

GOOD = """\
id: DEMO
title: Demo designation
source: a test
routes:
  - id: promotion
    says: one year as DEMO-1
    promotion: {title: DEMO-1, years: 1}
  - id: open
    says: two years managing
    education: {highest: associate, college_credits: 30}
    experience:
      years: 2
      role: [management]
      call_center: true
      employer: [government]
      including:
        - {property: supervision, years: 1}
    substitutions:
      - {education: bachelor, years: 1}
"""

# (what to replace in GOOD, with what, the expected problem line after "demo.yaml:")
BAD_RULE_SETS = {
    "missing id": ("id: DEMO\n", "", "1: id: missing; expected a non-empty identifier"),
    "unknown top key": ("source: a test\n", "source: a test\nsorce: x\n", "4: sorce: unknown key 'sorce'"),
    "no routes": ("routes:\n  - id: promotion", "routes: []\nx:\n  - id: promotion",
                  "4: routes: is empty; expected at least one route"),
    "route without requirement": ("    promotion: {title: DEMO-1, years: 1}\n", "",
                                  "5: routes[0]: has no requirement; expected at least one of promotion"),
    "negative years": ("years: 2\n", "years: -2\n", "12: routes[1].experience.years: is -2; expected a number of "
                                                     "years >= 0"),
    "unknown level": ("highest: associate", "highest: doctorate",
                      "10: routes[1].education.highest: is 'doctorate'; expected one of none, high_school"),
    "unknown role": ("role: [management]", "role: [manager]", "13: routes[1].experience.role[0]: is 'manager'; "
                                                              "expected one of customer_service"),
    "role not a list": ("role: [management]", "role: management", "13: routes[1].experience.role: is 'management';"
                                                                  " expected a non-empty list"),
    "unknown property": ("property: supervision", "property: coaching",
                         "17: routes[1].experience.including[0].property: is 'coaching'; expected one of "
                         "supervision, directs_projects"),
    "call_center as text": ("call_center: true", "call_center: yes please",
                            "14: routes[1].experience.call_center: is 'yes please'; expected true or false"),
    "duplicate route id": ("  - id: open\n", "  - id: promotion\n",
                           "8: routes[1].id: duplicate route id 'promotion'; route ids must be unique"),
    "duplicate key": ("    says: two years managing\n", "    says: two years managing\n    says: again\n",
                      "10: routes[1].says: duplicate key 'says'; each key may appear once"),
    "substitution level": ("{education: bachelor, years: 1}", "{education: none, years: 1}",
                           "19: routes[1].substitutions[0].education: is 'none'; expected one of high_school"),
    "substitution years": ("{education: bachelor, years: 1}", "{education: bachelor, years: lots}",
                           "19: routes[1].substitutions[0].years: is 'lots'; expected a number of years >= 0"),
    "promotion missing title": ("{title: DEMO-1, years: 1}", "{years: 1}",
                                "7: routes[0].promotion.title: missing; expected a title"),
    "says missing": ("    says: one year as DEMO-1\n", "", "5: routes[0].says: missing; expected the source's words"),
    "syntax error": ("title: Demo designation", "title: [Demo", "3: YAML syntax error"),
    "alias": ("source: a test", "source: &s a test\nx: *s", "3: anchor &s; expected plain YAML"),
}


def test_the_good_rule_set_parses():
    rules = parse_rule_set(GOOD, "demo.yaml")
    profile = person("bachelor", credits=120, experience=[job(1, "management", supervision=1)])
    assert check_eligibility(rules, profile).route == "open"
    profile["education"]["highest"] = "associate"
    assert lacks(check_eligibility(rules, profile), "open") == (
        "1.0 years of management experience in a government call centre, needs 2")


@pytest.mark.parametrize("case", sorted(BAD_RULE_SETS))
def test_a_bad_rule_set_names_file_line_and_path(case):
    old, new, expected = BAD_RULE_SETS[case]
    assert old in GOOD
    with pytest.raises(EligibilityError) as info:
        parse_rule_set(GOOD.replace(old, new, 1), "demo.yaml")
    assert isinstance(info.value, ValueError)
    assert any(p.startswith("demo.yaml:" + expected) for p in info.value.problems), info.value.problems
    assert all(re.match(r"demo\.yaml:\d+: ", p) for p in info.value.problems), info.value.problems


def test_a_bad_rule_set_file_is_named_by_its_path(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(GOOD.replace("years: 2\n", "years: -2\n"), encoding="utf-8")
    with pytest.raises(EligibilityError) as info:
        check_eligibility(path, person())
    assert str(info.value).startswith(f"{path}:12: routes[1].experience.years: is -2")
    with pytest.raises(EligibilityError, match="missing.yaml: file not found"):
        check_eligibility(tmp_path / "missing.yaml", person())


def test_every_rule_set_problem_is_reported():
    text = GOOD.replace("years: 2\n", "years: -2\n").replace("role: [management]", "role: [boss]")
    with pytest.raises(EligibilityError) as info:
        parse_rule_set(text, "demo.yaml")
    assert [p.split(": ")[0] for p in info.value.problems] == ["demo.yaml:12", "demo.yaml:13"]


def test_shipped_rule_set_ids_must_be_unique(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(EligibilityError, match=r"b\.yaml: id: 'DEMO' is also the id of .*a\.yaml"):
        shipped_rule_sets(tmp_path)


def test_the_first_route_met_is_named_and_met_routes_give_no_reasons():
    both = manager()
    both["service"] = [served("NYS-CCR4", 1)]
    result = check_eligibility("NYS-CCM", both)
    assert result.eligible and result.route == "promotion"
    assert result.reasons == () and result.lacks == {}
