"""Designations and their rules: pass marks, components, windows, sign-off, eligibility.

The rules are data in ``rubrics/programs.yaml``; this module validates them and answers questions about them:
a candidate's certification status from component results, eligibility from experience and credentials, and a
program's holiday calendar and deadlines.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..calendar import HolidayCalendar, add_business_days
from ..messages import one_line, show
from .yamltext import Loader, screen, yaml_error

__all__ = [
    "ProgramError",
    "WorkProduct",
    "Substitution",
    "CertifyingBody",
    "Eligibility",
    "Program",
    "CertificationStatus",
    "load_programs",
    "default_programs_path",
    "certification_status",
    "check_eligibility",
]

SIGNOFF_RULES = ("required", "encouraged", "none")


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
class Substitution:
    credential: str
    years: float
    group: str


@dataclass(frozen=True)
class Eligibility:
    experience_years: float = 0.0
    experience: str = ""
    substitutions: tuple[Substitution, ...] = ()


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
    raters_per_submission: int
    hide_candidate_from_raters: bool
    disclose_scores: bool
    holidays: HolidayCalendar = field(compare=False)
    eligibility: Eligibility = Eligibility()
    advances_to: str | None = None
    rubric_path: Path | None = None
    certifying_body: CertifyingBody | None = None  # None only for a programs file without ``bodies``

    @property
    def components(self) -> tuple[str, ...]:
        """The components a candidate must pass: the knowledge assessments and, where there is one, the work product."""
        names = tuple(f"knowledge_{i}" for i in range(1, self.knowledge_assessments + 1))
        return names + (("work_product",) if self.work_product else ())

    def notification_due(self, received_on: dt.date) -> dt.date:
        """The last day the candidate may be notified: N business days after receipt."""
        return add_business_days(received_on, self.notification_business_days, self.holidays)

    def completion_due(self, started_on: dt.date) -> dt.date:
        """The last day to hand in the work product: N business days after the assignment was issued."""
        return add_business_days(started_on, self.completion_business_days, self.holidays)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "body": self.body, "pass_mark": self.pass_mark,
            "components": list(self.components), "manager_signoff": self.manager_signoff,
            "work_product": self.work_product.name if self.work_product else None,
            "notification_business_days": self.notification_business_days,
            "completion_business_days": self.completion_business_days,
            "hide_candidate_from_raters": self.hide_candidate_from_raters,
            "disclose_scores": self.disclose_scores,
        }


def default_programs_path() -> Path:
    return Path(__file__).resolve().parents[2] / "rubrics" / "programs.yaml"


_INT_FIELDS = ("knowledge_assessments", "testing_window_years", "recertification_years", "recertification_notice_days",
               "completion_business_days", "notification_business_days", "raters_per_submission")
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
    refusal = screen(text, str(path))
    if refusal:
        raise ProgramError(refusal)
    try:
        data = yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise ProgramError(yaml_error(str(path), exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("programs"), dict):
        raise ProgramError(f"{path}: expected a mapping with 'defaults' and 'programs'")
    defaults = data.get("defaults") or {}
    bodies = _bodies(path, data.get("bodies"))
    out = {}
    for pid, raw in data["programs"].items():
        if not isinstance(raw, dict):
            raise ProgramError(f"{path}: programs.{pid}: expected a mapping")
        program = _program(path, str(pid), {**defaults, **raw})
        if bodies is not None:
            if program.body not in bodies:
                raise ProgramError(f"{path}: programs.{pid}.body: unknown certifying body {show(program.body)}; "
                                   f"expected one of {sorted(bodies)} (the bodies section)")
            program = dataclasses.replace(program, certifying_body=bodies[program.body])
        out[str(pid)] = program
    for p in out.values():
        if p.advances_to and p.advances_to not in out:
            raise ProgramError(f"{path}: programs.{p.id}.advances_to: unknown program {show(p.advances_to)}")
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
    return Program(
        id=pid, name=name, body=body, pass_mark=float(pass_mark), work_product=work_product, manager_signoff=signoff,
        holidays=holidays, eligibility=_eligibility(where, raw.get("eligibility") or {}),
        advances_to=raw.get("advances_to"), rubric_path=rubric_path, **ints, **bools,
    )


def _eligibility(where: str, raw: dict) -> Eligibility:
    try:
        subs = tuple(Substitution(str(s["credential"]), float(s["years"]), str(s.get("group", s["credential"])))
                     for s in raw.get("substitutions") or ())
        return Eligibility(float(raw.get("experience_years", 0)), str(raw.get("experience", "")), subs)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProgramError(f"{where}.eligibility: {exc!s}; expected experience_years and substitutions "
                           "[{credential, years, group}]") from None


def check_eligibility(program: Program, experience_years: float, credentials=()) -> tuple[bool, str]:
    """Whether a candidate's experience, with any credentials that substitute for it, meets the minimum.

    Within a substitution group only the largest applicable substitution counts; groups add up (a bachelor's
    degree and an associate's do not both count, a master's adds to either).

    Examples
    --------
    >>> p = load_programs()["CCOM"]
    >>> check_eligibility(p, 1.5)
    (True, '1.5 years of experience meet the minimum of 1 in managing a call center operation')
    """
    need = program.eligibility.experience_years
    held = set(credentials)
    best: dict[str, float] = {}
    for s in program.eligibility.substitutions:
        if s.credential in held:
            best[s.group] = max(best.get(s.group, 0.0), s.years)
    credit = sum(best.values())
    total = experience_years + credit
    what = f" in {program.eligibility.experience}" if program.eligibility.experience else ""
    extra = f" (+{credit:g} for credentials)" if credit else ""
    if total >= need:
        return True, f"{experience_years:g} years of experience{extra} meet the minimum of {need:g}{what}"
    return False, f"{experience_years:g} years of experience{extra} are short of the minimum of {need:g}{what}"


@dataclass(frozen=True)
class CertificationStatus:
    state: str  # in progress | certified | recertification due | expired
    until: dt.date | None
    detail: str

    def __str__(self) -> str:
        if self.state == "certified":
            return f"certified until {self.until.isoformat()}"
        return self.state


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def certification_status(program: Program, results: dict, today: dt.date) -> CertificationStatus:
    """A candidate's status from the date each component was passed (None or absent: not yet).

    Testing must be completed within the program's window from the first component passed; the designation
    then lasts ``recertification_years`` from the date the last component was passed, and "recertification
    due" starts ``recertification_notice_days`` before it ends.

    Examples
    --------
    >>> import datetime as dt
    >>> p = load_programs()["CCMA"]
    >>> done = {f"knowledge_{i}": dt.date(2025, 3, i) for i in range(1, 5)}
    >>> str(certification_status(p, done, dt.date(2026, 1, 1)))
    'certified until 2028-03-04'
    """
    unknown = set(results) - set(program.components)
    if unknown:
        raise ProgramError(f"program {program.id}: unknown component(s) {sorted(unknown)}; "
                           f"expected {list(program.components)}")
    passed = {k: v for k, v in results.items() if v is not None}
    if not passed:
        return CertificationStatus("in progress", None, "no component passed yet")
    first = min(passed.values())
    window_end = _add_years(first, program.testing_window_years)
    missing = [c for c in program.components if c not in passed]
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
    until = _add_years(last, program.recertification_years)
    if today > until:
        return CertificationStatus("expired", until, f"certification lapsed on {until}; recertify")
    if (until - today).days <= program.recertification_notice_days:
        return CertificationStatus("recertification due", until, f"certified until {until}; recertify before then")
    return CertificationStatus("certified", until, f"certified until {until}")
