"""Eligibility as a rule set: alternative routes to a title or designation, checked against a candidate's profile.

A rule set is a YAML file in ``rubrics/eligibility/`` (see ``nys_ccm.yaml`` for a full one)::

    id: NYS-CCM
    title: Call Center Manager, Grade 25 (New York State)
    source: New York State Department of Civil Service, Classification Standard, Minimum Qualifications
    routes:                                  # eligible when any one route is met
      - id: promotion
        says: one year of permanent competitive service as a Call Center Representative 4.
        promotion: {title: NYS-CCR4, years: 1, permanent_competitive: true}
      - id: open-competitive
        says: Eight years of management experience within a telephone call center ...  # the source's words
        education: {highest: high_school, college_credits: 0}      # optional; none < high_school < associate
                                                                   #   < bachelor < master
        experience:
          years: 8                           # qualifying years needed (the general experience)
          role: [management]                 # optional conditions on the setting: the roles that count,
          call_center: true                  #   in a call centre (true) or outside one (false),
          employer: [government]             #   the employer types that count
          including:                         # parts of the qualifying experience with a property
            - {property: directs_projects}   #   some of it (no years: more than none)
            - {property: supervision, years: 2}
        substitutions:                       # education for general experience, up to a cap
          - {education: associate, years: 2}
          - {education: bachelor, years: 4}  # a higher degree includes the lower ones' substitutions:
          - {education: master, years: 1, additional: true}  # a master's gives 4 + 1

Substitutions reduce the general experience only: the parts required by ``including`` stay required. A
substitution counts for a candidate whose highest education is at its level or above; of those, the largest plain
one counts, plus every ``additional`` one.

A profile is a mapping::

    {"education": {"highest": "bachelor", "college_credits": 120},
     "experience": [{"years": 3, "role": "supervision", "call_center": True, "employer": "government",
                     "supervision_years": 2, "directs_projects": False}],
     "service": [{"title": "NYS-CCR3", "years": 1, "permanent_competitive": True}]}

``education.college_credits``, ``supervision_years``, ``directs_projects``, ``experience`` and ``service`` may be
left out (0, false, none). :func:`check_eligibility` validates the profile first (:class:`ProfileError`, one line
per problem naming its place) and says, for each route that failed, what it lacks. A rule-set file that cannot
be used raises :class:`EligibilityError`, one line per problem naming the file, line and YAML path.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..messages import one_line, show
from .yamltext import Checker, duplicate_keys, format_path, line_index, load_yaml_text

__all__ = [
    "EDUCATION_LEVELS",
    "ROLES",
    "EMPLOYERS",
    "PROPERTIES",
    "EligibilityError",
    "ProfileError",
    "Education",
    "Experience",
    "Service",
    "Profile",
    "Promotion",
    "EducationRequirement",
    "Including",
    "ExperienceRequirement",
    "Substitution",
    "Route",
    "RuleSet",
    "EligibilityResult",
    "default_rule_sets_dir",
    "parse_rule_set",
    "load_rule_set",
    "shipped_rule_sets",
    "get_rule_set",
    "validate_profile",
    "check_eligibility",
]

#: Education levels, lowest first; a higher level meets a lower one's requirement.
EDUCATION_LEVELS = ("none", "high_school", "associate", "bachelor", "master")
#: The kinds of role an experience entry may have.
ROLES = ("customer_service", "supervision", "management", "strategic_leadership", "consulting", "training", "other")
EMPLOYERS = ("government", "private")
#: Properties a part of the qualifying experience may be required to have (``including``).
PROPERTIES = ("supervision", "directs_projects")

_EDUCATION_WORDS = {"none": "no diploma", "high_school": "a high school diploma or GED",
                    "associate": "an associate's degree", "bachelor": "a bachelor's degree",
                    "master": "a master's degree"}
_PROPERTY_WORDS = {"supervision": "supervision",
                   "directs_projects": "directing projects or process-improvement initiatives"}
_EPS = 1e-9  # years are summed as floats: 0.1 + 0.2 must meet 0.3


class _Problems(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))


class EligibilityError(_Problems):
    """A rule set that cannot be used. ``problems`` holds one line per problem found."""


class ProfileError(_Problems):
    """A candidate profile that cannot be checked. ``problems`` holds one line per problem found."""


# --- the profile -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Education:
    highest: str
    college_credits: float = 0.0


@dataclass(frozen=True)
class Experience:
    years: float
    role: str
    call_center: bool
    employer: str
    supervision_years: float = 0.0
    directs_projects: bool = False


@dataclass(frozen=True)
class Service:
    title: str
    years: float
    permanent_competitive: bool


@dataclass(frozen=True)
class Profile:
    education: Education
    experience: tuple[Experience, ...] = ()
    service: tuple[Service, ...] = ()


class _ProfileChecker(Checker):
    """The rubric checker's tests, with places named from ``profile`` (a profile has no file or lines)."""

    def __init__(self):
        super().__init__("profile", {})

    def fail(self, path: tuple, message: str, line: int | None = None) -> None:
        self.problems.append(f"{format_path(('profile',) + path)}: {message}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unknown_keys(check: Checker, mapping: dict, path: tuple, allowed: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in allowed:
            check.fail(path + (key,), f"unknown key {show(key)}; expected only {', '.join(allowed)}")


def _years(check: Checker, mapping: dict, path: tuple, key: str, required: bool = True, what: str = "years"):
    """A finite number >= 0 under ``key``, or None (reported) when it is not one."""
    if key not in mapping or mapping[key] is None:
        if required:
            check.fail(path + (key,), f"missing; expected a number of {what} >= 0")
        return None
    value = mapping[key]
    if not _is_number(value) or value < 0:
        check.fail(path + (key,), f"is {show(value)}; expected a number of {what} >= 0")
        return None
    return float(value)


def _choice(check: Checker, mapping: dict, path: tuple, key: str, choices: tuple[str, ...], required: bool = True):
    if key not in mapping or mapping[key] is None:
        if required:
            check.fail(path + (key,), f"missing; expected one of {', '.join(choices)}")
        return None
    value = mapping[key]
    if value not in choices:
        check.fail(path + (key,), f"is {show(value)}; expected one of {', '.join(choices)}")
        return None
    return value


def _flag(check: Checker, mapping: dict, path: tuple, key: str, default: bool | None = None):
    if key not in mapping or mapping[key] is None:
        if default is None:
            check.fail(path + (key,), "missing; expected true or false")
        return default
    value = mapping[key]
    if not isinstance(value, bool):
        check.fail(path + (key,), f"is {show(value)}; expected true or false")
        return default
    return value


def _entries(check: Checker, mapping: dict, path: tuple, key: str, keys: tuple[str, ...]) -> list[tuple]:
    """The (path, mapping) of each entry of the list under ``key``; a missing list is empty."""
    raw = mapping.get(key)
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        check.fail(path + (key,), f"is {show(raw)}; expected a list of mappings with {', '.join(keys)}")
        return []
    found = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            check.fail(path + (key, i), f"is {show(item)}; expected a mapping with {', '.join(keys)}")
            continue
        _unknown_keys(check, item, path + (key, i), keys)
        found.append((path + (key, i), item))
    return found


_EXPERIENCE_KEYS = ("years", "role", "call_center", "employer", "supervision_years", "directs_projects")
_SERVICE_KEYS = ("title", "years", "permanent_competitive")


def validate_profile(profile) -> Profile:
    """A candidate profile (a mapping, see the module's docstring) checked and normalised.

    Raises :class:`ProfileError` with one line per problem, naming its place in the profile.

    Examples
    --------
    >>> validate_profile({"education": {"highest": "bachelor"}}).education
    Education(highest='bachelor', college_credits=0.0)
    >>> validate_profile({"education": {"highest": "bachelor"},
    ...                   "experience": [{"years": -2, "role": "management", "call_center": True,
    ...                                   "employer": "government"}]})
    Traceback (most recent call last):
    ...
    evalkit.instruments.eligibility.ProfileError: profile.experience[0].years: is -2; expected a number of years >= 0
    """
    if isinstance(profile, Profile):
        return profile
    check = _ProfileChecker()
    if not isinstance(profile, dict):
        raise ProfileError([f"profile: is {show(profile)}; expected a mapping with education, experience, service"])
    _unknown_keys(check, profile, (), ("education", "experience", "service"))
    education = None
    raw_education = check.get(profile, (), "education", dict, "a mapping with highest and college_credits")
    if raw_education is not None:
        _unknown_keys(check, raw_education, ("education",), ("highest", "college_credits"))
        highest = _choice(check, raw_education, ("education",), "highest", EDUCATION_LEVELS)
        credits = _years(check, raw_education, ("education",), "college_credits", required=False,
                         what="college credits")
        education = Education(highest, credits or 0.0)
    experience = []
    for path, raw in _entries(check, profile, (), "experience", _EXPERIENCE_KEYS):
        years = _years(check, raw, path, "years")
        supervision = _years(check, raw, path, "supervision_years", required=False)
        if years is not None and supervision is not None and supervision > years:
            check.fail(path + ("supervision_years",), f"is {show(raw['supervision_years'])}, more than the entry's "
                                                      f"{show(raw['years'])} years; expected at most its years")
        experience.append(Experience(
            years, _choice(check, raw, path, "role", ROLES), _flag(check, raw, path, "call_center"),
            _choice(check, raw, path, "employer", EMPLOYERS), supervision or 0.0,
            _flag(check, raw, path, "directs_projects", default=False)))
    service = []
    for path, raw in _entries(check, profile, (), "service", _SERVICE_KEYS):
        service.append(Service(check.get(raw, path, "title", str, "a title such as NYS-CCR3"),
                               _years(check, raw, path, "years"), _flag(check, raw, path, "permanent_competitive")))
    if check.problems:
        raise ProfileError(check.problems)
    return Profile(education, tuple(experience), tuple(service))


# --- the rule set ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    title: str
    years: float
    permanent_competitive: bool = True


@dataclass(frozen=True)
class EducationRequirement:
    highest: str | None = None
    college_credits: float = 0.0


@dataclass(frozen=True)
class Including:
    property: str
    years: float | None = None  # None: some of it


@dataclass(frozen=True)
class ExperienceRequirement:
    years: float
    role: tuple[str, ...] = ()  # empty: any role
    call_center: bool | None = None
    employer: tuple[str, ...] = ()  # empty: any employer
    including: tuple[Including, ...] = ()

    def counts(self, entry: Experience) -> bool:
        """Whether an experience entry is in a qualifying setting."""
        return ((not self.role or entry.role in self.role)
                and (self.call_center is None or entry.call_center == self.call_center)
                and (not self.employer or entry.employer in self.employer))

    def words(self) -> str:
        """The qualifying experience in words, e.g. 'management experience in a government call centre'."""
        roles = [r.replace("_", " ") for r in self.role]
        kind = (", ".join(roles[:-1]) + " or " + roles[-1] if len(roles) > 1 else "".join(roles)) or "qualifying"
        employer = " or ".join(self.employer) + " " if self.employer else ""
        if self.call_center is True:
            return f"{kind} experience in a {employer}call centre"
        where = " outside call centres" if self.call_center is False else ""
        return f"{kind} experience{where}" + (f" with a {employer.strip()} employer" if employer else "")


@dataclass(frozen=True)
class Substitution:
    education: str
    years: float
    additional: bool = False


@dataclass(frozen=True)
class Route:
    id: str
    says: str
    promotion: Promotion | None = None
    education: EducationRequirement | None = None
    experience: ExperienceRequirement | None = None
    substitutions: tuple[Substitution, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    source: str
    routes: tuple[Route, ...]


_TOP_KEYS = ("id", "title", "source", "routes")
_ROUTE_KEYS = ("id", "says", "promotion", "education", "experience", "substitutions")


def parse_rule_set(text: str, name: str = "<rule set>") -> RuleSet:
    """Parse and validate rule-set YAML text; ``name`` is used in messages. Raises :class:`EligibilityError`.

    Examples
    --------
    >>> rules = parse_rule_set('''
    ... id: DEMO
    ... title: Demo
    ... source: an example
    ... routes:
    ...   - {id: in-role, says: one year managing, experience: {years: 1, role: [management]}}
    ... ''')
    >>> rules.routes[0].experience.years
    1.0
    >>> parse_rule_set("id: DEMO\\ntitle: Demo\\nsource: x\\nroutes: []\\n", "demo.yaml")
    Traceback (most recent call last):
    ...
    evalkit.instruments.eligibility.EligibilityError: demo.yaml:4: routes: is empty; expected at least one route
    """
    node, data = load_yaml_text(text, name, lambda problem: EligibilityError([problem]))
    if node is None or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        found = "an empty file" if node is None else show(data)
        raise EligibilityError([f"{name}:{line}: (top level): is {found}; expected a mapping with "
                                f"{', '.join(_TOP_KEYS)}"])
    check = Checker(name, line_index(node))
    for path, line, key in duplicate_keys(node):
        check.fail(path, f"duplicate key {show(key)}; each key may appear once", line=line)
    _unknown_keys(check, data, (), _TOP_KEYS)
    set_id = check.get(data, (), "id", str, "a non-empty identifier such as NYS-CCM")
    title = check.get(data, (), "title", str, "a non-empty title")
    source = check.get(data, (), "source", str, "the document the rules come from")
    raw_routes = check.get(data, (), "routes", list, "a non-empty list of routes")
    if raw_routes == []:
        check.fail(("routes",), "is empty; expected at least one route")
    routes, seen = [], set()
    for path, raw in _entries(check, data, (), "routes", _ROUTE_KEYS) if raw_routes else []:
        route = _parse_route(check, path, raw)
        if route is not None and route.id in seen:
            check.fail(path + ("id",), f"duplicate route id {show(route.id)}; route ids must be unique")
        elif route is not None:
            seen.add(route.id)
            routes.append(route)
    if check.problems:
        raise EligibilityError(check.problems)
    return RuleSet(set_id.strip(), title.strip(), " ".join(source.split()), tuple(routes))


def _parse_route(check: Checker, path: tuple, raw: dict) -> Route | None:
    route_id = check.get(raw, path, "id", str, "a non-empty route id such as promotion")
    says = check.get(raw, path, "says", str, "the source's words for this route")
    promotion = education = experience = None
    if not any(raw.get(k) is not None for k in ("promotion", "education", "experience")):
        check.fail(path, "has no requirement; expected at least one of promotion, education, experience")
    raw_promotion = check.get(raw, path, "promotion", dict, "a mapping with title, years, permanent_competitive",
                              required=False)
    if raw_promotion is not None:
        where = path + ("promotion",)
        _unknown_keys(check, raw_promotion, where, ("title", "years", "permanent_competitive"))
        promotion = Promotion(check.get(raw_promotion, where, "title", str, "a title such as NYS-CCR3"),
                              _years(check, raw_promotion, where, "years"),
                              _flag(check, raw_promotion, where, "permanent_competitive", default=True))
    raw_education = check.get(raw, path, "education", dict, "a mapping with highest and/or college_credits",
                              required=False)
    if raw_education is not None:
        where = path + ("education",)
        _unknown_keys(check, raw_education, where, ("highest", "college_credits"))
        education = EducationRequirement(
            _choice(check, raw_education, where, "highest", EDUCATION_LEVELS, required=False),
            _years(check, raw_education, where, "college_credits", required=False, what="college credits") or 0.0)
    raw_experience = check.get(raw, path, "experience", dict, "a mapping with years and the setting's conditions",
                               required=False)
    if raw_experience is not None:
        experience = _parse_experience(check, path + ("experience",), raw_experience)
    substitutions = []
    for where, sub in _entries(check, raw, path, "substitutions", ("education", "years", "additional")):
        if raw_experience is None:
            check.fail(where, "substitutes for experience the route does not require; expected an experience "
                              "requirement in the route")
        level = _choice(check, sub, where, "education", EDUCATION_LEVELS[1:])
        substitutions.append(Substitution(level, _years(check, sub, where, "years"),
                                          _flag(check, sub, where, "additional", default=False)))
    if check.problems:
        return None
    return Route(route_id.strip(), " ".join(says.split()), promotion, education, experience, tuple(substitutions))


def _parse_experience(check: Checker, path: tuple, raw: dict) -> ExperienceRequirement:
    _unknown_keys(check, raw, path, ("years", "role", "call_center", "employer", "including"))
    years = _years(check, raw, path, "years")
    lists = {}
    for key, choices in (("role", ROLES), ("employer", EMPLOYERS)):
        value = raw.get(key) or []
        if not isinstance(value, list) or not value and key in raw:
            check.fail(path + (key,), f"is {show(raw.get(key))}; expected a non-empty list of {', '.join(choices)}")
            value = []
        for i, item in enumerate(value):
            if item not in choices:
                check.fail(path + (key, i), f"is {show(item)}; expected one of {', '.join(choices)}")
        lists[key] = tuple(value)
    including = []
    for where, inc in _entries(check, raw, path, "including", ("property", "years")):
        including.append(Including(_choice(check, inc, where, "property", PROPERTIES),
                                   _years(check, inc, where, "years", required=False)))
    return ExperienceRequirement(years, lists["role"],
                                 _flag(check, raw, path, "call_center", default=None) if "call_center" in raw else None,
                                 lists["employer"], tuple(including))


def load_rule_set(path) -> RuleSet:
    """Load and validate a rule-set file. Raises :class:`EligibilityError` naming the file, line and YAML path.

    Examples
    --------
    >>> load_rule_set(default_rule_sets_dir() / "ciac_ccom.yaml").routes[0].experience.role
    ('management',)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EligibilityError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EligibilityError([f"{path}: cannot be read: {exc}"]) from None
    return parse_rule_set(text, str(path))


def default_rule_sets_dir() -> Path:
    """The shipped rule sets' folder, ``rubrics/eligibility``."""
    return Path(__file__).resolve().parents[2] / "rubrics" / "eligibility"


def shipped_rule_sets(folder=None) -> dict[str, RuleSet]:
    """Every rule set in ``folder`` (default :func:`default_rule_sets_dir`) by id; ids must be unique.

    Examples
    --------
    >>> sorted(shipped_rule_sets())
    ['CIAC-CCOM', 'CIAC-CCSL', 'NYS-CCM', 'NYS-CCR4']
    """
    found: dict[str, RuleSet] = {}
    where: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(Path(folder or default_rule_sets_dir()).glob("*.yaml")):
        try:
            rules = load_rule_set(path)
        except EligibilityError as exc:
            problems += exc.problems
            continue
        if rules.id in found:
            problems.append(f"{path}: id: {show(rules.id)} is also the id of {where[rules.id]}; expected unique ids")
        found[rules.id], where[rules.id] = rules, path
    if problems:
        raise EligibilityError(problems)
    return found


def get_rule_set(rules) -> RuleSet:
    """A rule set from a loaded :class:`RuleSet`, a shipped rule set's id, or a path to a YAML file.

    Examples
    --------
    >>> get_rule_set("NYS-CCM").title
    'Call Center Manager, Grade 25 (New York State)'
    >>> get_rule_set("NYS-CCX")
    Traceback (most recent call last):
    ...
    evalkit.instruments.eligibility.EligibilityError: unknown rule set 'NYS-CCX'; expected one of CIAC-CCOM, \
CIAC-CCSL, NYS-CCM, NYS-CCR4, or a path to a rule-set YAML file
    """
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, Path) or isinstance(rules, str) and (rules.endswith((".yaml", ".yml")) or "/" in rules
                                                              or "\\" in rules):
        return load_rule_set(rules)
    if not isinstance(rules, str):
        raise EligibilityError([f"rule set: is {show(rules)}; expected a rule set id, a path to a YAML file or a "
                                "loaded RuleSet"])
    known = shipped_rule_sets()
    if rules not in known:
        raise EligibilityError([f"unknown rule set {show(rules)}; expected one of {', '.join(sorted(known))}, or a "
                                "path to a rule-set YAML file"])
    return known[rules]


# --- checking ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityResult:
    """``eligible``; ``route``, the id of the first route met (None if none is); ``reasons``, one line for each
    route that failed saying what it lacks; ``lacks``, the same by route id."""

    rule_set: str
    eligible: bool
    route: str | None
    reasons: tuple[str, ...]
    lacks: dict

    def __bool__(self) -> bool:
        return self.eligible


def _n(value: float) -> str:
    return f"{value:g}"


def _promotion_lacks(need: Promotion, profile: Profile) -> list[str]:
    held = [s for s in profile.service if s.title == need.title]
    if not held:
        return [f"no service as {need.title}"]
    counted = [s for s in held if s.permanent_competitive or not need.permanent_competitive]
    have = sum(s.years for s in counted)
    if have + _EPS >= need.years:
        return []
    if not counted:
        return [f"{sum(s.years for s in held):.1f} years of service as {need.title}, none of it permanent "
                f"competitive, needs {_n(need.years)}"]
    kind = "permanent competitive service" if need.permanent_competitive else "service"
    return [f"{have:.1f} years of {kind} as {need.title}, needs {_n(need.years)}"]


def _education_lacks(need: EducationRequirement, education: Education) -> list[str]:
    lacks = []
    if need.highest and EDUCATION_LEVELS.index(education.highest) < EDUCATION_LEVELS.index(need.highest):
        lacks.append(f"education is {_EDUCATION_WORDS[education.highest]}, needs {_EDUCATION_WORDS[need.highest]} "
                     "or higher")
    if education.college_credits + _EPS < need.college_credits:
        lacks.append(f"{_n(education.college_credits)} college credits, needs {_n(need.college_credits)}")
    return lacks


def _substitution(subs: tuple[Substitution, ...], highest: str) -> float:
    """Years of general experience the candidate's education substitutes for: the largest plain substitution at or
    below their level, plus every additional one at or below it."""
    rank = EDUCATION_LEVELS.index(highest)
    held = [s for s in subs if EDUCATION_LEVELS.index(s.education) <= rank]
    return max((s.years for s in held if not s.additional), default=0.0) + sum(s.years for s in held if s.additional)


def _experience_lacks(need: ExperienceRequirement, subs, profile: Profile) -> list[str]:
    counted = [e for e in profile.experience if need.counts(e)]
    credit = min(_substitution(subs, profile.education.highest), need.years)
    needed = need.years - credit
    have = sum(e.years for e in counted)
    lacks = []
    if have + _EPS < needed:
        less = f" ({_n(need.years)} less {_n(credit)} for {_EDUCATION_WORDS[profile.education.highest]})" \
            if credit else ""
        other = sum(e.years for e in profile.experience) - have
        elsewhere = f" ({other:.1f} other years do not count)" if other > _EPS else ""
        lacks.append(f"{have:.1f} years of {need.words()}{elsewhere}, needs {_n(needed)}{less}")
    for part in need.including:
        if part.property == "supervision":
            have_part = sum(e.supervision_years for e in counted)
        else:
            have_part = sum(e.years for e in counted if e.directs_projects)
        words = _PROPERTY_WORDS[part.property]
        if part.years is None and have_part <= 0:
            lacks.append(f"no {words} in that experience, needs some")
        elif part.years is not None and have_part + _EPS < part.years:
            lacks.append(f"{have_part:.1f} years of {words} in that experience, needs {_n(part.years)}")
    return lacks


def _route_lacks(route: Route, profile: Profile) -> list[str]:
    lacks = []
    if route.promotion:
        lacks += _promotion_lacks(route.promotion, profile)
    if route.education:
        lacks += _education_lacks(route.education, profile.education)
    if route.experience:
        lacks += _experience_lacks(route.experience, route.substitutions, profile)
    return lacks


def check_eligibility(rule_set_id_or_rules, profile) -> EligibilityResult:
    """Whether a candidate meets any route of a rule set, which one, and what each failed route lacks.

    ``rule_set_id_or_rules`` is a shipped rule set's id (``NYS-CCR4``, ``NYS-CCM``, ``CIAC-CCSL``,
    ``CIAC-CCOM``), a path to a rule-set YAML file or a loaded :class:`RuleSet`; ``profile`` is a mapping as the
    module's docstring shows. Raises :class:`ProfileError` for a profile that cannot be checked and
    :class:`EligibilityError` for a rule set that cannot be used.

    Examples
    --------
    >>> manager = {"education": {"highest": "bachelor"},
    ...            "experience": [{"years": 4, "role": "management", "call_center": True, "employer": "government",
    ...                            "supervision_years": 2, "directs_projects": True}]}
    >>> result = check_eligibility("NYS-CCM", manager)
    >>> result.eligible, result.route
    (True, 'open-competitive')
    >>> result.reasons
    ('route 1 (promotion): no service as NYS-CCR4',)
    >>> check_eligibility("CIAC-CCOM", {"education": {"highest": "none"}}).reasons
    ('route 1 (in-role): 0.0 years of management experience in a call centre, needs 1',)
    """
    checked = validate_profile(profile)
    rules = get_rule_set(rule_set_id_or_rules)
    met, reasons, lacks = None, [], {}
    for number, route in enumerate(rules.routes, 1):
        missing = _route_lacks(route, checked)
        if missing:
            lacks[route.id] = tuple(missing)
            reasons.append(f"route {number} ({route.id}): {'; '.join(missing)}")
        elif met is None:
            met = route.id
    return EligibilityResult(rules.id, met is not None, met, tuple(reasons), lacks)
