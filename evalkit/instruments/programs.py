"""Designations and their rules: pass marks, components, windows, sign-off, admission, eligibility rule set.

The rules are data in ``rubrics/programs.yaml``; this module validates them and answers questions about them:
a candidate's certification status from component results, and a program's holiday calendar and deadlines.
Eligibility is a rule set of :mod:`evalkit.instruments.eligibility` named by the program.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..calendar import HolidayCalendar, add_business_days
from ..messages import one_line, show
from .eligibility import EligibilityError, shipped_rule_sets
from .yamltext import load_yaml_text

__all__ = [
    "ProgramError",
    "WorkProduct",
    "CertifyingBody",
    "Admission",
    "Program",
    "CertificationStatus",
    "load_programs",
    "default_programs_path",
    "certification_status",
    "add_years",
]

SIGNOFF_RULES = ("required", "encouraged", "none")
KNOWLEDGE_FIRST_RULES = ("refuse", "warn", "none")
LATE_RECEIPT_RULES = ("refuse", "flag")


class ProgramError(ValueError):
    """programs.yaml (or a question about a program) that cannot be answered; the message is one line."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


@dataclass(frozen=True)
class CertifyingBody:
    """Who certifies: what its letters are headed and signed with, how to reach it, what its evaluators are called."""

    id: str
    name: str
    letterhead: tuple[str, ...]
    signatory_name: str
    signatory_title: str
    contact: str
    experts: str  # e.g. "ICMI subject matter experts", as a letter names who evaluated the work product


@dataclass(frozen=True)
class WorkProduct:
    name: str
    rubric: str  # file name of the rubric, relative to the programs file


@dataclass(frozen=True)
class Admission:
    """What receipt of a work product checks beyond eligibility: a work product before every knowledge assessment
    is passed (``refuse``, ``warn`` or ``none``), and one received after its completion deadline (``refuse`` or
    ``flag``)."""

    knowledge_first: str = "warn"
    late_receipt: str = "flag"


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    body: str
    knowledge_assessments: int
    pass_mark: float
    work_product: WorkProduct | None
    manager_signoff: str
    testing_window_years: int
    recertification_years: int
    recertification_notice_days: int
    completion_business_days: int
    notification_business_days: int
    resubmission_business_days: int
    appeal_days: int
    appeal_decision_business_days: int
    raters_per_submission: int
    hide_candidate_from_raters: bool
    disclose_scores: bool
    holidays: HolidayCalendar = field(compare=False)
    eligibility: str | None = None  # the id of its eligibility rule set; None: no eligibility requirement
    admission: Admission = Admission()
    advances_to: str | None = None
    replaced_by: tuple[str, ...] | None = None  # a retired program: kept readable, closed to new work
    rubric_path: Path | None = None
    certifying_body: CertifyingBody | None = None  # None only for a programs file without ``bodies``

    @property
    def components(self) -> tuple[str, ...]:
        """The components a candidate must pass: the knowledge assessments and, where there is one, the work product."""
        names = tuple(f"knowledge_{i}" for i in range(1, self.knowledge_assessments + 1))
        return names + (("work_product",) if self.work_product else ())

    def passes(self, score: float, maximum: float) -> bool:
        """Whether a knowledge-assessment score passes at the program's mark (on the percentage, to 6 places, so
        that 52.5 of 70 meets 75 %)."""
        return round(100 * score / maximum, 6) >= self.pass_mark

    def notification_due(self, received_on: dt.date) -> dt.date:
        """The last day the candidate may be notified: N business days after receipt."""
        return add_business_days(received_on, self.notification_business_days, self.holidays)

    def completion_due(self, started_on: dt.date) -> dt.date:
        """The last day to hand in the work product: N business days after the assignment was issued."""
        return add_business_days(started_on, self.completion_business_days, self.holidays)

    def appeal_due(self, received_on: dt.date) -> dt.date:
        """The last day to decide an appeal: N business days after its receipt."""
        return add_business_days(received_on, self.appeal_decision_business_days, self.holidays)

    def resubmission_due(self, decided_on: dt.date) -> dt.date:
        """The last day to hand in a corrected work product: N business days after the deficient decision."""
        return add_business_days(decided_on, self.resubmission_business_days, self.holidays)

    @property
    def retired(self) -> bool:
        return self.replaced_by is not None

    def check_open(self) -> None:
        """Refuse new work (an application, a work product) under a retired program, naming its successors."""
        if self.retired:
            raise ProgramError(f"program {self.id} is retired; use {' or '.join(self.replaced_by)}")

    def to_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "body": self.body, "pass_mark": self.pass_mark,
            "components": list(self.components), "manager_signoff": self.manager_signoff,
            "work_product": self.work_product.name if self.work_product else None,
            "notification_business_days": self.notification_business_days,
            "completion_business_days": self.completion_business_days,
            "resubmission_business_days": self.resubmission_business_days,
            "eligibility": self.eligibility, "advances_to": self.advances_to,
            "hide_candidate_from_raters": self.hide_candidate_from_raters,
            "disclose_scores": self.disclose_scores,
        }


def default_programs_path() -> Path:
    return Path(__file__).resolve().parents[2] / "rubrics" / "programs.yaml"


_INT_FIELDS = ("knowledge_assessments", "testing_window_years", "recertification_years", "recertification_notice_days",
               "completion_business_days", "notification_business_days", "resubmission_business_days",
               "appeal_days", "appeal_decision_business_days", "raters_per_submission")
_BOOL_FIELDS = ("hide_candidate_from_raters", "disclose_scores")


def load_programs(path=None) -> dict[str, Program]:
    """Load and validate programs.yaml; raises :class:`ProgramError` naming the file, program and field.

    Examples
    --------
    >>> programs = load_programs()
    >>> programs["CCMA"].pass_mark, programs["CCOM"].components[-1]
    (70.0, 'work_product')
    """
    path = Path(path) if path else default_programs_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProgramError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, not text
        raise ProgramError(f"{path}: cannot be read: {exc}") from None
    _, data = load_yaml_text(text, str(path), ProgramError, compose=False)
    if not isinstance(data, dict) or not isinstance(data.get("programs"), dict):
        raise ProgramError(f"{path}: expected a mapping with 'defaults' and 'programs'")
    defaults = data.get("defaults") or {}
    bodies = _bodies(path, data.get("bodies"))
    out = {}
    for pid, raw in data["programs"].items():
        if not isinstance(raw, dict):
            raise ProgramError(f"{path}: programs.{pid}: expected a mapping")
        merged = {**defaults, **raw}
        if isinstance(defaults.get("admission"), dict) and isinstance(raw.get("admission"), dict):
            merged["admission"] = {**defaults["admission"], **raw["admission"]}
        program = _program(path, str(pid), merged)
        if bodies is not None:
            if program.body not in bodies:
                raise ProgramError(f"{path}: programs.{pid}.body: unknown certifying body {show(program.body)}; "
                                   f"expected one of {sorted(bodies)} (the bodies section)")
            program = dataclasses.replace(program, certifying_body=bodies[program.body])
        out[str(pid)] = program
    rule_sets = None
    for p in out.values():
        if p.advances_to and p.advances_to not in out:
            raise ProgramError(f"{path}: programs.{p.id}.advances_to: unknown program {show(p.advances_to)}")
        for successor in p.replaced_by or ():
            if successor not in out:
                raise ProgramError(f"{path}: programs.{p.id}.retired.replaced_by: unknown program {show(successor)}")
        if p.eligibility:
            try:
                beside = path.parent / "eligibility"  # the rule sets beside programs.yaml, else the shipped ones
                rule_sets = rule_sets or shipped_rule_sets(beside if beside.is_dir() else None)
            except EligibilityError as exc:
                raise ProgramError(exc.problems[0]) from None
            if p.eligibility not in rule_sets:
                raise ProgramError(f"{path}: programs.{p.id}.eligibility: unknown rule set {show(p.eligibility)}; "
                                   f"expected one of {', '.join(sorted(rule_sets))} (rubrics/eligibility/)")
    return out


def _bodies(path: Path, raw) -> dict[str, CertifyingBody] | None:
    """The ``bodies`` section: each certifying body's letterhead, signatory, contact and name for its experts."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise ProgramError(f"{path}: bodies: is {show(raw)}; expected a mapping of body ids to their details")
    bodies = {}
    for bid, b in raw.items():
        where = f"{path}: bodies.{bid}"
        if not isinstance(b, dict):
            raise ProgramError(f"{where}: expected a mapping with name, letterhead, signatory, contact, experts")
        for key in ("name", "contact", "experts"):
            if not isinstance(b.get(key), str) or not b[key].strip():
                raise ProgramError(f"{where}.{key}: is {show(b.get(key))}; expected text")
        letterhead, signatory = b.get("letterhead"), b.get("signatory")
        if not isinstance(letterhead, list) or not letterhead or not all(isinstance(x, str) for x in letterhead):
            raise ProgramError(f"{where}.letterhead: is {show(letterhead)}; expected a list of lines")
        if not isinstance(signatory, dict) or not all(isinstance(signatory.get(k), str) for k in ("name", "title")):
            raise ProgramError(f"{where}.signatory: is {show(signatory)}; expected a mapping with name and title")
        bodies[str(bid)] = CertifyingBody(str(bid), b["name"].strip(), tuple(letterhead), signatory["name"],
                                          signatory["title"], b["contact"].strip(), b["experts"].strip())
    return bodies


def _program(path: Path, pid: str, raw: dict) -> Program:
    where = f"{path}: programs.{pid}"

    def need(key, kind, what):
        value = raw.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ProgramError(f"{where}.{key}: is {show(value)}; expected {what}")
        return value

    name = need("name", str, "the designation's name")
    body = need("body", str, "the certifying body (CIAC or ICMI)")
    pass_mark = need("pass_mark", (int, float), "a percentage")
    if not 0 < pass_mark <= 100:
        raise ProgramError(f"{where}.pass_mark: is {pass_mark}; expected a percentage between 0 and 100")
    ints = {k: need(k, int, "a whole number >= 0") for k in _INT_FIELDS}
    for k, v in ints.items():
        if v < 0:
            raise ProgramError(f"{where}.{k}: is {v}; expected a whole number >= 0")
    bools = {k: need(k, bool, "true or false") for k in _BOOL_FIELDS}
    signoff = raw.get("manager_signoff", "none")
    if signoff not in SIGNOFF_RULES:
        raise ProgramError(f"{where}.manager_signoff: is {show(signoff)}; expected one of {list(SIGNOFF_RULES)}")
    wp = raw.get("work_product")
    work_product = None
    rubric_path = None
    if wp is not None:
        if not isinstance(wp, dict) or not isinstance(wp.get("rubric"), str) or not isinstance(wp.get("name"), str):
            raise ProgramError(f"{where}.work_product: expected a mapping with name and rubric (a file name)")
        work_product = WorkProduct(wp["name"], wp["rubric"])
        rubric_path = path.parent / wp["rubric"]
        if not rubric_path.exists():
            raise ProgramError(f"{where}.work_product.rubric: {rubric_path} does not exist")
    hol = raw.get("holidays") or {}
    try:
        holidays = HolidayCalendar(extra=hol.get("extra") or (), federal=bool(hol.get("federal", True)))
    except (ValueError, AttributeError) as exc:
        raise ProgramError(f"{where}.holidays: {exc}") from None
    eligibility = raw.get("eligibility")
    if eligibility is not None and (not isinstance(eligibility, str) or not eligibility.strip()):
        raise ProgramError(f"{where}.eligibility: is {show(eligibility)}; expected the id of a rule set in "
                           "rubrics/eligibility/ (such as CIAC-CCOM)")
    advances_to = raw.get("advances_to")
    if advances_to is not None and not isinstance(advances_to, str):
        raise ProgramError(f"{where}.advances_to: is {show(advances_to)}; expected a program id")
    return Program(
        id=pid, name=name, body=body, pass_mark=float(pass_mark), work_product=work_product, manager_signoff=signoff,
        holidays=holidays, eligibility=eligibility, admission=_admission(where, raw.get("admission")),
        advances_to=advances_to, replaced_by=_replaced_by(where, raw.get("retired")), rubric_path=rubric_path,
        **ints, **bools,
    )


def _admission(where: str, raw) -> Admission:
    raw = {} if raw is None else raw
    if not isinstance(raw, dict) or set(raw) - {"knowledge_first", "late_receipt"}:
        raise ProgramError(f"{where}.admission: is {show(raw)}; expected a mapping with knowledge_first and "
                           "late_receipt")
    rules = {}
    for key, allowed in (("knowledge_first", KNOWLEDGE_FIRST_RULES), ("late_receipt", LATE_RECEIPT_RULES)):
        value = raw.get(key, getattr(Admission, key))
        if value not in allowed:
            raise ProgramError(f"{where}.admission.{key}: is {show(value)}; expected one of {list(allowed)}")
        rules[key] = value
    return Admission(**rules)


def _replaced_by(where: str, raw) -> tuple[str, ...] | None:
    if raw is None:
        return None
    successors = raw.get("replaced_by") if isinstance(raw, dict) else None
    if not isinstance(successors, list) or not successors or not all(isinstance(x, str) for x in successors):
        raise ProgramError(f"{where}.retired: is {show(raw)}; expected {{replaced_by: [program ids]}}")
    return tuple(successors)


@dataclass(frozen=True)
class CertificationStatus:
    state: str  # in progress | certified | recertification due | expired
    until: dt.date | None
    detail: str
    since: dt.date | None = None  # the day the designation was earned (its last component passed)

    def __str__(self) -> str:
        if self.state == "certified":
            return f"certified until {self.until.isoformat()}"
        return self.state

    @property
    def holds(self) -> bool:
        """Whether the designation is held now (certified, or certified with recertification due)."""
        return self.state in ("certified", "recertification due")


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 28 February in a year that has none.

    Examples
    --------
    >>> add_years(dt.date(2024, 2, 29), 3), add_years(dt.date(2025, 3, 4), 3)
    (datetime.date(2027, 2, 28), datetime.date(2028, 3, 4))
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def certification_status(program: Program, results: dict, today: dt.date,
                         credited: frozenset | set = frozenset()) -> CertificationStatus:
    """A candidate's status from the date each component was passed (None or absent: not yet).

    Testing must be completed within the program's window from the first component passed; the designation
    then lasts ``recertification_years`` from the date the last component was passed, and "recertification
    due" starts ``recertification_notice_days`` before it ends. Components in ``credited`` were met by
    advancement from a lower designation (a CCMA holder's knowledge assessments towards CCOM): they count as
    passed but neither open nor close the testing window.

    Examples
    --------
    >>> import datetime as dt
    >>> p = load_programs()["CCMA"]
    >>> done = {f"knowledge_{i}": dt.date(2025, 3, i) for i in range(1, 5)}
    >>> str(certification_status(p, done, dt.date(2026, 1, 1)))
    'certified until 2028-03-04'
    """
    unknown = (set(results) | set(credited)) - set(program.components)
    if unknown:
        raise ProgramError(f"program {program.id}: unknown component(s) {sorted(unknown)}; "
                           f"expected {list(program.components)}")
    passed = {k: v for k, v in results.items() if v is not None and k not in credited}
    missing = [c for c in program.components if c not in passed and c not in credited]
    if not passed:
        return CertificationStatus("in progress", None, f"missing {', '.join(missing)}" if credited
                                   else "no component passed yet")
    first = min(passed.values())
    window_end = add_years(first, program.testing_window_years)
    if missing:
        if today > window_end:
            return CertificationStatus("expired", window_end, f"testing not completed within "
                                       f"{program.testing_window_years} years (window ended {window_end}); "
                                       f"missing {', '.join(missing)}")
        return CertificationStatus("in progress", window_end, f"missing {', '.join(missing)}; "
                                   f"complete by {window_end}")
    last = max(passed.values())
    if last > window_end:
        return CertificationStatus("expired", window_end, f"testing completed {last}, after the "
                                   f"{program.testing_window_years}-year window ended {window_end}")
    until = add_years(last, program.recertification_years)
    how = " (knowledge assessments credited by advancement)" if credited else ""
    if today > until:
        return CertificationStatus("expired", until, f"certification lapsed on {until}; recertify", last)
    if (until - today).days <= program.recertification_notice_days:
        return CertificationStatus("recertification due", until, f"certified {last}{how} until {until}; "
                                   "recertify before then", last)
    return CertificationStatus("certified", until, f"certified {last}{how} until {until}", last)
