"""The instrument: a rubric in YAML, validated, with its content hash as the instrument version.

A rubric file looks like this (see ``rubrics/ccom_wpa.yaml`` for a full one)::

    id: ccom-wpa
    title: CIAC CCOM Work Product Assignment: Operational Improvement Plan
    version_notes: First release.
    domains: [People Management, Operations Management, Customer Relationships, Leadership & Business]
    criteria:
      - id: OM1
        domain: Operations Management
        assesses: Assessment of current workforce management practice
        weight: 2
        meets_standard: 3          # the lowest level score that meets the standard
        levels:                    # ascending scores
          - {score: 1, label: Not evident, descriptor: ..., feedback: [..]}   # feedback required below meets_standard
          - {score: 2, label: Developing, descriptor: ..., feedback: [..]}
          - {score: 3, label: Meets, descriptor: ...}
          - {score: 4, label: Exemplary, descriptor: ...}
    pass_rule:
      pass_mark: 75                # percent of the weighted maximum
      must_meet: [OM1]             # criteria that must each meet the standard, or "all"
    tolerance:
      levels: 1                    # raters further apart than this on a criterion go to adjudication
      decision: true               # raters disagreeing on pass/deficient go to adjudication

Every problem found is reported, one line each, naming the file, the YAML path, the line where it is known and
what was expected; :func:`load_rubric` raises :class:`RubricError` carrying all of them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import one_line, show
from .yamltext import Checker, duplicate_keys, line_index, load_yaml_text

__all__ = [
    "COMPETENCY_DOMAINS",
    "RubricError",
    "Level",
    "Criterion",
    "PassRule",
    "Tolerance",
    "Rubric",
    "load_rubric",
    "parse_rubric",
    "validate_files",
]

#: The certification body's four competency domains (CIAC designations; the CCMC list says "Customer Relationship").
COMPETENCY_DOMAINS = ("People Management", "Operations Management", "Customer Relationships", "Leadership & Business")


class RubricError(ValueError):
    """A rubric file that cannot be used. ``problems`` holds one line per problem found."""

    def __init__(self, problems: list[str]):
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Level:
    score: int
    label: str
    descriptor: str
    feedback: tuple[str, ...] = ()


@dataclass(frozen=True)
class Criterion:
    id: str
    domain: str
    assesses: str
    weight: float
    meets_standard: int
    levels: tuple[Level, ...]

    @property
    def scores(self) -> tuple[int, ...]:
        return tuple(level.score for level in self.levels)

    @property
    def max_score(self) -> int:
        return self.levels[-1].score

    def level(self, score: int) -> Level:
        for level in self.levels:
            if level.score == score:
                return level
        raise ValueError(f"criterion {self.id}: level {show(score)} is not one of {list(self.scores)}")

    def meets(self, score: int) -> bool:
        return score >= self.meets_standard


@dataclass(frozen=True)
class PassRule:
    pass_mark: float
    must_meet: tuple[str, ...]


@dataclass(frozen=True)
class Tolerance:
    levels: int
    decision: bool


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    version_notes: str
    domains: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    pass_rule: PassRule
    tolerance: Tolerance
    source: str = field(repr=False, compare=False, default="")
    version: str = ""  # content hash

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(f"rubric {self.id}: no criterion {show(criterion_id)}")

    @property
    def criterion_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)

    def by_domain(self) -> dict[str, list[Criterion]]:
        """Criteria grouped by domain, in the rubric's domain order."""
        groups: dict[str, list[Criterion]] = {d: [] for d in self.domains}
        for c in self.criteria:
            groups[c.domain].append(c)
        return {d: cs for d, cs in groups.items() if cs}

    @property
    def weighted_max(self) -> float:
        return sum(c.weight * c.max_score for c in self.criteria)



# --- parsing -------------------------------------------------------------------------------------------------


def parse_rubric(text: str, name: str = "<rubric>") -> Rubric:
    """Parse and validate rubric YAML text; ``name`` is used in messages. Raises :class:`RubricError`."""
    node, data = load_yaml_text(text, name, lambda problem: RubricError([problem]))
    if node is None or not isinstance(data, dict):
        kinds = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}
        found = "an empty file" if node is None else kinds.get(type(data), type(data).__name__)
        raise RubricError([f"{name}:{node.start_mark.line + 1 if node is not None else 1}: (top level): is {found}; "
                           "expected a mapping with id, title, domains, criteria, pass_rule, tolerance"])
    check = Checker(name, line_index(node))
    for path, line, key in duplicate_keys(node):
        check.fail(path, f"duplicate key {show(key)}; each key may appear once", line=line)

    rubric_id = check.get(data, (), "id", str, "a non-empty identifier such as ccom-wpa")
    title = check.get(data, (), "title", str, "a non-empty title")
    notes = data.get("version_notes") or ""
    if not isinstance(notes, str):
        check.fail(("version_notes",), f"is {show(notes)}; expected text")
        notes = ""

    domains = check.get(data, (), "domains", list, "a list of competency domain names") or []
    domain_names: list[str] = []
    for i, d in enumerate(domains):
        if not isinstance(d, str) or not d.strip():
            check.fail(("domains", i), f"is {show(d)}; expected a domain name")
        elif d in domain_names:
            check.fail(("domains", i), f"duplicate domain {show(d)}")
        else:
            domain_names.append(d)

    criteria: list[Criterion] = []
    raw_criteria = check.get(data, (), "criteria", list, "a non-empty list of criteria")
    if raw_criteria == []:
        check.fail(("criteria",), "is empty; expected at least one criterion")
    seen_ids: set[str] = set()
    for i, raw in enumerate(raw_criteria or []):
        path = ("criteria", i)
        if not isinstance(raw, dict):
            check.fail(path, f"is {show(raw)}; expected a mapping with id, domain, assesses, weight, meets_standard, "
                             "levels")
            continue
        crit = _parse_criterion(check, path, raw, domain_names, seen_ids)
        if crit is not None:
            criteria.append(crit)

    pass_rule = _parse_pass_rule(check, data, {c.id for c in criteria} | seen_ids)
    tolerance = _parse_tolerance(check, data)

    if check.problems:
        raise RubricError(check.problems)
    used_domains = tuple(d for d in domain_names if any(c.domain == d for c in criteria))
    rubric = Rubric(
        id=rubric_id, title=title, version_notes=notes.strip(), domains=used_domains, criteria=tuple(criteria),
        pass_rule=pass_rule, tolerance=tolerance, source=text,
    )
    return _with_version(rubric)


def _parse_criterion(check: Checker, path: tuple, raw: dict, domains: list[str], seen_ids: set[str]):
    cid = check.get(raw, path, "id", str, "a non-empty criterion id")
    if cid is not None:
        if cid in seen_ids:
            check.fail(path + ("id",), f"duplicate criterion id {show(cid)}; ids must be unique")
        seen_ids.add(cid)
    domain = check.get(raw, path, "domain", str, "one of the rubric's domains")
    if domain is not None and domain not in domains:
        check.fail(path + ("domain",), f"unknown domain {show(domain)}; expected one of {domains}")
    assesses = check.get(raw, path, "assesses", str, "a sentence saying what is assessed")
    weight = check.get(raw, path, "weight", float, "a positive number")
    if weight is not None and not (weight > 0 and math.isfinite(weight)):
        check.fail(path + ("weight",), f"is {show(weight)}; expected a positive, finite number")
    meets = check.get(raw, path, "meets_standard", int, "the integer score of the lowest level that meets the standard")
    raw_levels = check.get(raw, path, "levels", list, "a list of at least two levels in ascending score order")
    levels: list[Level] = []
    level_ok = raw_levels is not None
    if raw_levels is not None and len(raw_levels) < 2:
        check.fail(path + ("levels",), f"has {len(raw_levels)} level(s); expected at least two")
        level_ok = False
    for j, lv in enumerate(raw_levels or []):
        lpath = path + ("levels", j)
        if not isinstance(lv, dict):
            check.fail(lpath, f"is {show(lv)}; expected a mapping with score, label, descriptor")
            level_ok = False
            continue
        score = check.get(lv, lpath, "score", int, "an integer score")
        label = check.get(lv, lpath, "label", str, "a short label such as 'Meets the standard'")
        descriptor = check.get(lv, lpath, "descriptor", str, "the anchor text describing work at this level")
        feedback = lv.get("feedback") or []
        if isinstance(feedback, str):
            feedback = [feedback]
        if not isinstance(feedback, list) or not all(isinstance(f, str) and f.strip() for f in feedback):
            check.fail(lpath + ("feedback",), "expected a list of feedback sentences")
            feedback = []
        if score is None or label is None or descriptor is None:
            level_ok = False
            continue
        if levels and score <= levels[-1].score:
            check.fail(lpath + ("score",), f"is {score}, not above the previous level's {levels[-1].score}; "
                                            "expected levels in ascending score order")
            level_ok = False
        levels.append(Level(score, label, descriptor.strip(), tuple(f.strip() for f in feedback)))
    if level_ok and meets is not None:
        scores = [lv.score for lv in levels]
        if meets not in scores:
            check.fail(path + ("meets_standard",), f"is {meets}; expected one of the level scores {scores}")
        for j, lv in enumerate(levels):
            if lv.score < meets and not lv.feedback:
                check.fail(path + ("levels", j, "feedback"),
                           f"missing for deficient level {lv.score} ({lv.label}); expected at least one feedback-bank "
                           "sentence for each level below the standard")
    if None in (cid, domain, assesses, weight, meets) or not level_ok or check.problems:
        return None
    return Criterion(cid, domain, assesses.strip(), float(weight), meets, tuple(levels))


def _parse_pass_rule(check: Checker, data: dict, criterion_ids: set[str]) -> PassRule | None:
    raw = check.get(data, (), "pass_rule", dict, "a mapping with pass_mark (percent) and must_meet")
    if raw is None:
        return None
    mark = check.get(raw, ("pass_rule",), "pass_mark", float, "a percentage between 0 and 100")
    if mark is not None and not 0 < mark <= 100:
        check.fail(("pass_rule", "pass_mark"), f"is {mark}; expected a percentage between 0 and 100")
    must = raw.get("must_meet", [])
    if must == "all":
        must = sorted(criterion_ids)
    if not isinstance(must, list):
        check.fail(("pass_rule", "must_meet"), f"is {show(must)}; expected a list of criterion ids or 'all'")
        must = []
    for k, cid in enumerate(must):
        if not isinstance(cid, str):
            check.fail(("pass_rule", "must_meet", k), f"is {show(cid)}; expected a criterion id")
        elif cid not in criterion_ids:
            check.fail(("pass_rule", "must_meet", k),
                       f"unknown criterion {show(cid)}; expected one of the criteria's ids")
    return PassRule(float(mark) if mark is not None else 0.0, tuple(must))


def _parse_tolerance(check: Checker, data: dict) -> Tolerance | None:
    raw = check.get(data, (), "tolerance", dict, "a mapping with levels (integer >= 0) and decision (true/false)")
    if raw is None:
        return None
    levels = check.get(raw, ("tolerance",), "levels", int, "the largest level difference between raters that is "
                                                         "not sent to adjudication (integer >= 0)")
    if levels is not None and levels < 0:
        check.fail(("tolerance", "levels"), f"is {levels}; expected an integer >= 0")
    decision = raw.get("decision", True)
    if not isinstance(decision, bool):
        check.fail(("tolerance", "decision"), f"is {show(decision)}; expected true or false")
    return Tolerance(levels or 0, bool(decision))


def _with_version(rubric: Rubric) -> Rubric:
    """The version is a hash of the validated content, so comments and formatting do not change it.

    It is computed from the normalised :class:`Rubric` (weights as numbers, text stripped, ``must_meet: all``
    expanded), not from the raw YAML: ``weight: 2`` and ``weight: 2.0``, or a descriptor written as a folded block,
    give the same version, and keys the validator does not read cannot change it (nor break the hash).
    """
    content = {k: v for k, v in dataclasses.asdict(rubric).items() if k not in ("source", "version")}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return Rubric(**{**rubric.__dict__, "version": digest})


def load_rubric(path) -> Rubric:
    """Load and validate a rubric file.

    Raises :class:`RubricError` naming the file, the place in it and what is wrong.

    Examples
    --------
    >>> from pathlib import Path
    >>> rubric = load_rubric(Path(__file__).parents[2] / "rubrics" / "ccom_wpa.yaml")
    >>> rubric.pass_rule.pass_mark
    75.0
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError([f"{path}: cannot be read: {exc}"]) from None
    return parse_rubric(text, str(path))


def validate_files(paths) -> list[str]:
    """Validate several rubric files; returns every problem found (empty when all are valid)."""
    problems: list[str] = []
    for p in paths:
        try:
            load_rubric(p)
        except RubricError as exc:
            problems += exc.problems
    return problems
