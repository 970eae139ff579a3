"""Self-assessment instruments: competency statements per designation, grouped by the four competency domains,
each rated by the candidate on a proficiency scale with anchored descriptors.

A file lives beside the rubrics, in ``rubrics/self_assessment/`` (see ``ccom.yaml`` there for a full one)::

    id: ccom-self-assessment
    designation: CCOM                    # a program of rubrics/programs.yaml
    title: CCOM Self-Assessment
    version_notes: First release.
    work_product: ../ccom_wpa.yaml       # optional: the rubric whose criteria the domains relate to
    scale:
      strength_at: 3                     # a domain rated at or above this on average is a strength
      levels:                            # ascending
        - {level: 1, label: Aware, descriptor: I know the term and ...}
        - {level: 2, label: Developing, descriptor: ...}
        - {level: 3, label: Proficient, descriptor: ...}
        - {level: 4, label: Expert, descriptor: ...}
    domains:                             # the four competency domains, each once
      - name: People Management
        knowledge_assessment: knowledge_1    # the knowledge assessment that covers the domain
        work_product_criteria: [PM1, PM2]    # criteria of the work_product rubric in this domain
        study: [Coaching and performance management: ...]   # what to study when it is a development area
        statements:
          - {id: PM-1, text: I define roles and an organisational structure ...}

Every problem is reported, one line each, naming the file, the YAML path, the line and what was expected, as the
rubric loader does (:mod:`evalkit.instruments.rubric`); :func:`load_self_assessment` raises
:class:`SelfAssessmentError` carrying all of them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import show
from .rubric import COMPETENCY_DOMAINS, Rubric, RubricError, load_rubric
from .yamltext import Checker, duplicate_keys, line_index, load_yaml_text

__all__ = ["SelfAssessmentError", "ScaleLevel", "Statement", "Domain", "SelfAssessment", "parse_self_assessment",
           "load_self_assessment", "shipped_self_assessments", "self_assessment_for", "SELF_ASSESSMENT_DIR"]

#: Where the shipped instruments are: ``rubrics/self_assessment/<designation in lower case>.yaml``.
SELF_ASSESSMENT_DIR = Path(__file__).resolve().parents[2] / "rubrics" / "self_assessment"

#: The CCMC list spells the third domain "Customer Relationship"; it is the same domain.
_ALIASES = {"Customer Relationship": "Customer Relationships"}
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,31}")
_KNOWLEDGE = re.compile(r"knowledge_[1-9][0-9]?")


class SelfAssessmentError(RubricError):
    """A self-assessment file that cannot be used. ``problems`` holds one line per problem found."""


@dataclass(frozen=True)
class ScaleLevel:
    level: int
    label: str
    descriptor: str


@dataclass(frozen=True)
class Statement:
    id: str
    domain: str
    text: str


@dataclass(frozen=True)
class Domain:
    name: str
    knowledge_assessment: str
    work_product_criteria: tuple[str, ...]
    study: tuple[str, ...]
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class SelfAssessment:
    id: str
    designation: str
    title: str
    version_notes: str
    scale: tuple[ScaleLevel, ...]
    strength_at: int
    domains: tuple[Domain, ...]
    work_product: str | None = None  # the rubric file as written in the instrument
    source: str = field(repr=False, compare=False, default="")
    version: str = ""  # content hash

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(s for d in self.domains for s in d.statements)

    @property
    def statement_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.statements)

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(lv.level for lv in self.scale)

    def domain(self, name: str) -> Domain:
        for d in self.domains:
            if d.name == _ALIASES.get(name, name):
                return d
        raise KeyError(f"self-assessment {self.id}: no domain {show(name)}")

    def statement(self, statement_id: str) -> Statement:
        for s in self.statements:
            if s.id == statement_id:
                return s
        raise KeyError(f"self-assessment {self.id}: no statement {show(statement_id)}")

    def label(self, level: int) -> str:
        for lv in self.scale:
            if lv.level == level:
                return lv.label
        raise KeyError(f"self-assessment {self.id}: no level {show(level)}")


# --- parsing -------------------------------------------------------------------------------------------------

_TOP = "a mapping with id, designation, title, scale and domains"


def parse_self_assessment(text: str, name: str = "<self-assessment>", rubric: Rubric | None = None) -> SelfAssessment:
    """Parse and validate self-assessment YAML; ``name`` is used in messages.

    ``rubric`` is the work-product rubric the domains' ``work_product_criteria`` are checked against (each id must
    be one of its criteria, in the same domain); without it they are checked for form only.

    Raises
    ------
    SelfAssessmentError
        Every problem, one line each, naming ``name``, the line, the YAML path and what was expected.

    Examples
    --------
    >>> parse_self_assessment("id: x\\n", "sa.yaml")
    Traceback (most recent call last):
    ...
    evalkit.instruments.self_assessment.SelfAssessmentError: sa.yaml:1: designation: missing; expected a program id such as CCOM
    sa.yaml:1: title: missing; expected a non-empty title
    sa.yaml:1: scale: missing; expected a mapping with strength_at and levels
    sa.yaml:1: domains: missing; expected the four competency domains, each with knowledge_assessment and statements
    """
    node, data = load_yaml_text(text, name, lambda problem: SelfAssessmentError([problem]))
    if node is None or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        found = "an empty file" if node is None else f"{show(data)}"
        raise SelfAssessmentError([f"{name}:{line}: (top level): is {found}; expected {_TOP}"])
    check = Checker(name, line_index(node))
    for path, line, key in duplicate_keys(node):
        check.fail(path, f"duplicate key {show(key)}; each key may appear once", line=line)

    sa_id = check.get(data, (), "id", str, "a non-empty identifier such as ccom-self-assessment")
    designation = check.get(data, (), "designation", str, "a program id such as CCOM")
    title = check.get(data, (), "title", str, "a non-empty title")
    notes = data.get("version_notes") or ""
    if not isinstance(notes, str):
        check.fail(("version_notes",), f"is {show(notes)}; expected text")
        notes = ""
    work_product = data.get("work_product")
    if work_product is not None and not (isinstance(work_product, str) and work_product.strip()):
        check.fail(("work_product",), f"is {show(work_product)}; expected the rubric file, such as ../ccom_wpa.yaml")
        work_product = None

    scale, strength_at = _parse_scale(check, data)
    domains = _parse_domains(check, data, rubric)
    if check.problems:
        raise SelfAssessmentError(check.problems)
    instrument = SelfAssessment(id=sa_id, designation=designation, title=title.strip(), version_notes=notes.strip(),
                                scale=scale, strength_at=strength_at, domains=domains,
                                work_product=work_product.strip() if work_product else None, source=text)
    content = {k: v for k, v in dataclasses.asdict(instrument).items() if k not in ("source", "version")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return dataclasses.replace(instrument, version=digest)


def _parse_scale(check: Checker, data: dict) -> tuple[tuple[ScaleLevel, ...], int]:
    raw = check.get(data, (), "scale", dict, "a mapping with strength_at and levels")
    if raw is None:
        return (), 0
    path = ("scale",)
    raw_levels = check.get(raw, path, "levels", list, "a list of at least three levels in ascending order")
    levels: list[ScaleLevel] = []
    ok = raw_levels is not None
    if raw_levels is not None and len(raw_levels) < 3:
        check.fail(path + ("levels",), f"has {len(raw_levels)} level(s); expected at least three")
    for j, lv in enumerate(raw_levels or []):
        lpath = path + ("levels", j)
        if not isinstance(lv, dict):
            check.fail(lpath, f"is {show(lv)}; expected a mapping with level, label, descriptor")
            ok = False
            continue
        level = check.get(lv, lpath, "level", int, "an integer level")
        label = check.get(lv, lpath, "label", str, "a short label such as 'Proficient'")
        descriptor = check.get(lv, lpath, "descriptor", str, "the anchor text describing this proficiency")
        if None in (level, label, descriptor):
            ok = False
            continue
        if levels and level <= levels[-1].level:
            check.fail(lpath + ("level",), f"is {level}, not above the previous level's {levels[-1].level}; "
                                            "expected levels in ascending order")
            ok = False
        levels.append(ScaleLevel(level, label.strip(), descriptor.strip()))
    strength_at = check.get(raw, path, "strength_at", int, "the lowest level that counts as a strength")
    if not ok:
        pass  # the levels' own problems are reported; strength_at is checked against a usable scale only
    elif strength_at is not None and levels and strength_at not in [lv.level for lv in levels]:
        check.fail(path + ("strength_at",), f"is {strength_at}; expected one of the levels "
                                            f"{[lv.level for lv in levels]}")
    elif strength_at is not None and levels and strength_at == levels[0].level:
        check.fail(path + ("strength_at",), f"is the lowest level {strength_at}; expected a level above it, so "
                                            "that a development area can exist")
    return tuple(levels), strength_at or 0


def _parse_domains(check: Checker, data: dict, rubric: Rubric | None) -> tuple[Domain, ...]:
    raw = check.get(data, (), "domains", list, "the four competency domains, each with knowledge_assessment and "
                                                 "statements")
    if raw is None:
        return ()
    domains: list[Domain] = []
    names: list[str] = []
    seen_ids: set[str] = set()
    seen_knowledge: set[str] = set()
    for i, rd in enumerate(raw):
        path = ("domains", i)
        if not isinstance(rd, dict):
            check.fail(path, f"is {show(rd)}; expected a mapping with name, knowledge_assessment, statements")
            continue
        name = check.get(rd, path, "name", str, f"one of {list(COMPETENCY_DOMAINS)}")
        if name is not None:
            name = _ALIASES.get(name.strip(), name.strip())
            if name not in COMPETENCY_DOMAINS:
                check.fail(path + ("name",), f"unknown domain {show(name)}; expected one of {list(COMPETENCY_DOMAINS)}")
            elif name in names:
                check.fail(path + ("name",), f"duplicate domain {show(name)}; each domain appears once")
            names.append(name)
        knowledge = check.get(rd, path, "knowledge_assessment", str, "the knowledge assessment covering the domain, "
                                                                      "such as knowledge_1")
        if knowledge is not None:
            if not _KNOWLEDGE.fullmatch(knowledge):
                check.fail(path + ("knowledge_assessment",), f"is {show(knowledge)}; expected knowledge_1, "
                                                            "knowledge_2, ...")
            elif knowledge in seen_knowledge:
                check.fail(path + ("knowledge_assessment",), f"{knowledge} is already another domain's; expected "
                                                            "one knowledge assessment per domain")
            seen_knowledge.add(knowledge)
        criteria = _strings(check, rd, path, "work_product_criteria", "a list of work-product criterion ids")
        if rubric is not None and name in COMPETENCY_DOMAINS:
            for k, cid in enumerate(criteria):
                try:
                    crit = rubric.criterion(cid)
                except KeyError:
                    check.fail(path + ("work_product_criteria", k), f"unknown criterion {show(cid)}; expected one "
                                                                   f"of {list(rubric.criterion_ids)} ({rubric.id})")
                    continue
                if crit.domain != name:
                    check.fail(path + ("work_product_criteria", k), f"criterion {cid} is in {crit.domain}, not "
                                                                   f"{name}; expected this domain's criteria")
        study = _strings(check, rd, path, "study", "a list of study suggestions (text)", required=True)
        raw_statements = check.get(rd, path, "statements", list, "a list of competency statements")
        if raw_statements == []:
            check.fail(path + ("statements",), "is empty; expected at least two statements")
        elif raw_statements is not None and len(raw_statements) < 2:
            check.fail(path + ("statements",), f"has {len(raw_statements)} statement; expected at least two")
        statements: list[Statement] = []
        for j, rs in enumerate(raw_statements or []):
            spath = path + ("statements", j)
            if not isinstance(rs, dict):
                check.fail(spath, f"is {show(rs)}; expected a mapping with id and text")
                continue
            sid = check.get(rs, spath, "id", str, "a statement id such as PM-1")
            text = check.get(rs, spath, "text", str, "the competency statement, such as 'I can ...'")
            if sid is not None:
                if not _ID.fullmatch(sid):
                    check.fail(spath + ("id",), f"is {show(sid)}; expected a letter then letters, digits, '-', '_' "
                                                "or '.' (at most 32)")
                elif sid in seen_ids:
                    check.fail(spath + ("id",), f"duplicate statement id {show(sid)}; ids must be unique")
                seen_ids.add(sid)
            if sid is not None and text is not None and name is not None:
                statements.append(Statement(sid, name, " ".join(text.split())))
        if name is not None and knowledge is not None:
            domains.append(Domain(name, knowledge, tuple(criteria), tuple(study), tuple(statements)))
    missing = [d for d in COMPETENCY_DOMAINS if d not in names]
    if missing and not check.problems:
        check.fail(("domains",), f"lacks {', '.join(missing)}; expected the four competency domains "
                                 f"{list(COMPETENCY_DOMAINS)}")
    order = {d: k for k, d in enumerate(COMPETENCY_DOMAINS)}
    return tuple(sorted(domains, key=lambda d: order.get(d.name, 99)))


def _strings(check: Checker, mapping: dict, path: tuple, key: str, what: str, required: bool = False) -> list[str]:
    value = mapping.get(key)
    if value is None:
        if required:
            check.fail(path + (key,), f"missing; expected {what}")
        return []
    if not isinstance(value, list):
        check.fail(path + (key,), f"is {show(value)}; expected {what}")
        return []
    if required and not value:
        check.fail(path + (key,), f"is empty; expected {what}")
    out = []
    for k, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            check.fail(path + (key, k), f"is {show(item)}; expected text")
        else:
            out.append(" ".join(item.split()))
    return out


def load_self_assessment(path, check_rubric: bool = True) -> SelfAssessment:
    """Load and validate a self-assessment file; its ``work_product`` rubric (relative to the file) is loaded and
    the domains' criteria checked against it when ``check_rubric``.

    Raises :class:`SelfAssessmentError` naming the file, the place in it and what is wrong.

    Examples
    --------
    >>> sa = load_self_assessment(SELF_ASSESSMENT_DIR / "ccom.yaml")
    >>> sa.designation, [d.knowledge_assessment for d in sa.domains]
    ('CCOM', ['knowledge_1', 'knowledge_2', 'knowledge_3', 'knowledge_4'])
    >>> sa.domain("Operations Management").work_product_criteria
    ('OM1', 'OM2', 'OM3')
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SelfAssessmentError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SelfAssessmentError([f"{path}: cannot be read: {exc}"]) from None
    rubric = None
    if check_rubric:
        instrument = parse_self_assessment(text, str(path))  # form first: a broken file is reported as itself
        if instrument.work_product:
            try:
                rubric = load_rubric(path.parent / instrument.work_product)
            except RubricError as exc:
                line = next((n for n, t in enumerate(text.splitlines(), 1) if t.startswith("work_product")), 1)
                raise SelfAssessmentError([f"{path}:{line}: work_product: {show(instrument.work_product)} cannot be "
                                           f"used ({exc.problems[0]}); expected a valid rubric file relative to this "
                                           "file"]) from None
    return parse_self_assessment(text, str(path), rubric)


def shipped_self_assessments(folder=None) -> dict[str, SelfAssessment]:
    """Every instrument in ``folder`` (default :data:`SELF_ASSESSMENT_DIR`) by designation.

    Raises
    ------
    SelfAssessmentError
        A file that does not load, or two files for one designation.
    """
    folder = Path(folder) if folder is not None else SELF_ASSESSMENT_DIR
    out: dict[str, SelfAssessment] = {}
    for path in sorted(folder.glob("*.yaml")):
        instrument = load_self_assessment(path)
        if instrument.designation in out:
            raise SelfAssessmentError([f"{path}: designation {instrument.designation} already has the instrument "
                                       f"{out[instrument.designation].id}; expected one file per designation"])
        out[instrument.designation] = instrument
    return out


def self_assessment_for(designation: str, folder=None) -> SelfAssessment:
    """The shipped instrument of ``designation`` (such as ``"CCOM"``).

    Raises
    ------
    SelfAssessmentError
        No instrument for that designation.
    """
    instruments = shipped_self_assessments(folder)
    if designation not in instruments:
        raise SelfAssessmentError([f"no self-assessment for {show(designation)}; expected one of "
                                   f"{sorted(instruments)}"])
    return instruments[designation]
