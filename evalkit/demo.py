"""Workspaces: a new empty one, or a demo with realistic synthetic data in every state.

The demo is generated from a random seed (and the day it is built on, so that "overdue" means overdue today):
the same seed on the same day gives the same workspace. Raters have a severity of their own, so the agreement
notebook has something real to find.
"""
from __future__ import annotations

import datetime as dt
import random
import warnings
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from .calendar import add_business_days, as_date
from .access import grant
from .callcert import build_demo_agents
from .certification import apply, issue_assignment, record_result, set_profile
from .evaluation import admission, workflow
from .psychometrics.workshops import build_demo_workshop
from .store import Store, open_store

__all__ = ["DEFAULT_SETTINGS", "init_workspace", "build_demo"]

DEFAULT_SETTINGS = {
    "organisation": "Call Center Industry Advisory Council",
    "letterhead": ["Call Center Industry Advisory Council (CIAC)", "Certification Office"],
    "signatory": {"name": "Director of Certification", "title": "Certification Office"},
    "contact": "certification@example.org",
    # Raters pick who they are in the scoring notebook (demo/training); off: the Jupyter user is the rater.
    "allow_rater_choice": False,
    "confidentiality": "This notification and the evaluation it reports are held in strict confidence and used "
                       "for the purpose of certification only.",
}

_FIRST = ["Avery", "Jordan", "Priya", "Mateo", "Grace", "Wei", "Fatima", "Liam", "Sofia", "Noah", "Amara", "Ethan",
          "Chloe", "Diego", "Hana", "Oliver", "Zara", "Lucas", "Maya", "Samuel", "Ines", "Kofi", "Elena", "Ravi"]
_LAST = ["Nguyen", "Okafor", "Schmidt", "Patel", "Garcia", "Kowalski", "Haddad", "O'Brien", "Tanaka", "Moreau",
         "Silva", "Johansson", "Mensah", "Rossi", "Kim", "Novak", "Ibrahim", "Fischer", "Lopez", "Walsh"]
_ORGS = ["Northwind Utilities", "Contoso Health", "Fabrikam Insurance", "Tailspin Airlines", "Adatum Bank",
         "Litware Telecom", "Wingtip Retail", "Proseware Government Services"]
_RATERS = [("sme.alvarez", "Dana Alvarez", False, True, -0.1), ("sme.brooks", "Sam Brooks", False, False, 0.0),
           ("sme.chen", "Lin Chen", False, False, 0.35), ("sme.diallo", "Awa Diallo", False, False, -0.35),
           ("sme.evans", "Kit Evans", False, False, 0.1), ("sme.farah", "Omar Farah", False, False, -0.15),
           ("adj.grant", "Morgan Grant", True, True, 0.0), ("adj.hughes", "Robin Hughes", True, False, 0.05)]

_FINDINGS = {
    "People Management": "Attrition ran at {a}% last year against a {t}% target; exit interviews point to schedule "
                         "inflexibility and thin coaching. Team leads hold monthly one-to-ones at best.",
    "Operations Management": "Service level averaged {s}% in {p} seconds against an 80/20 objective; interval "
                             "forecasts miss Monday peaks by up to 18%, and adherence is not reported by team.",
    "Customer Relationships": "Customer satisfaction is surveyed on one channel only; quality monitoring forms "
                              "have not been calibrated across the three sites since last spring.",
    "Leadership & Business": "The centre's budget is built bottom-up from last year's spend with no link to the "
                             "company's retention goal; cost per contact is not tracked.",
}


def init_workspace(target, settings: dict | None = None, programs_path=None) -> Store:
    """Create an empty workspace (owner-only folder and database), register the programs and rubrics."""
    target = Path(target)
    store = open_store(target, create=True)
    (target / "documents").mkdir(mode=0o700, exist_ok=True)
    workflow.sync_programs(store, programs_path)
    for key, value in {**DEFAULT_SETTINGS, **(settings or {})}.items():
        store.set_setting(key, value, actor="setup")
    return store


def _work_product(rng: random.Random, program: str, org: str, quality: float) -> str:
    """A plausible improvement plan; weaker plans leave sections thin, as weak submissions do."""
    title = {"CCOM": "Operational Improvement Plan", "CCSL": "Strategic Improvement Plan"}.get(
        program, "Performance Optimization Plan")
    lines = [f"# {title}",
             # No candidate name: every program hides the candidate from raters, and the document is shown to them.
             "", f"**Organisation:** {org}  ", f"**Program:** {program}", "",
             "## 1. Current state", ""]
    numbers = {"a": rng.randint(28, 55), "t": rng.randint(20, 30), "s": rng.randint(62, 84), "p": 20}
    for domain, text in _FINDINGS.items():
        lines += [f"### {domain}", "", text.format(**numbers), ""]
        if quality < 2.4:
            lines += ["(Further analysis to follow.)", ""]
    lines += ["## 2. Strengths and opportunities", "",
              "| Area | Strength | Opportunity |", "|---|---|---|",
              "| Workforce management | Experienced analysts | Interval forecasting by channel |",
              "| Quality | Established monitoring form | Cross-site calibration |", ""]
    lines += ["## 3. Improvement plan", ""]
    actions = [("Re-forecast by 30-minute interval with day-of-week seasonality", "WFM lead", "Q1",
                "forecast error under 5%"),
               ("Monthly calibration sessions across sites", "Quality manager", "Q1", "score variance under 5 points"),
               ("Flexible shift bidding pilot", "Operations manager", "Q2", "attrition to 30%"),
               ("Tie the budget to the retention goal; report cost per contact", "Centre director", "Q2",
                "cost per contact reported monthly")]
    keep = actions if quality >= 2.6 else actions[:2]
    lines += ["| Action | Owner | When | Measure |", "|---|---|---|---|"]
    lines += [f"| {a} | {o} | {w} | {m} |" for a, o, w, m in keep]
    lines += ["", "## 4. Manager review", "", "Reviewed and signed off by the candidate's manager."]
    return "\n".join(lines) + "\n"


def _levels(rng: random.Random, rubric, quality: float, severity: float) -> dict[str, int]:
    out = {}
    for c in rubric.criteria:
        raw = quality + severity + rng.gauss(0, 0.45)
        out[c.id] = min(max(int(round(raw)), c.scores[0]), c.scores[-1])
    return out


def _feedback(rubric, levels: dict[str, int], rng: random.Random) -> dict[str, str]:
    out = {}
    for c in rubric.criteria:
        if levels[c.id] < c.meets_standard:
            out[c.id] = rng.choice(c.level(levels[c.id]).feedback)
    return out


def _score(store, sid, username, rubric, quality, severity, rng, final=True, today=None):
    levels = _levels(rng, rubric, quality, severity)
    feedback = _feedback(rubric, levels, rng)
    if final:
        return workflow.submit_final(store, sid, username, levels, feedback, today=today)
    partial = dict(list(levels.items())[: max(1, len(levels) // 2)])
    workflow.save_draft(store, sid, username, partial, {k: v for k, v in feedback.items() if k in partial})
    return "scoring"


def build_demo(target, seed: int = 2026, today: dt.date | None = None, n_candidates: int = 72,
               progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Create a workspace with synthetic candidates, raters and submissions in every state.

    Returns counts by state. Submissions spread over the past year (for drift), a few are benchmark ("gold")
    submissions scored by the lead SME, some were resubmitted after a deficient result, some are overdue.
    ``progress(message)`` is told what is being built, from the start and then every few candidates.
    """
    say = progress or (lambda message: None)
    today = today or dt.date.today()
    rng = random.Random(seed)
    say("creating the workspace and registering the programs and rubrics")
    store = init_workspace(target, {"allow_rater_choice": True})
    docs = Path(target) / "documents"
    severity = {}
    for username, name, adjudicator, lead, sev in _RATERS:
        workflow.add_rater(store, username, name, f"{username}@example.org", is_adjudicator=adjudicator,
                           is_lead=lead, actor="setup")
        severity[username] = sev
    programs = ["CCOM"] * 5 + ["CCSL"] * 2 + ["ICMI-SL", "ICMI-OM", "ICMI-MC"]
    people = rng.sample([(f, l) for f in _FIRST for l in _LAST], n_candidates)
    plan = _plan(n_candidates)
    with warnings.catch_warnings():
        for quiet in (workflow.SignoffWarning, admission.LateReceiptWarning, admission.KnowledgeFirstWarning):
            warnings.simplefilter("ignore", quiet)
        for i, ((first, last), state) in enumerate(zip(people, plan)):
            if i % 12 == 0:
                say(f"candidates {i + 1}-{min(i + 12, n_candidates)} of {n_candidates}: work products and scores")
            program = rng.choice(programs)
            org = rng.choice(_ORGS)
            ext = f"{program.split('-')[0]}-{today.year - (i % 2)}-{1000 + i}"
            workflow.add_candidate(store, ext, first, last, f"{first.lower()}.{last.lower().replace(chr(39), '')}"
                                   f"@{org.split()[0].lower()}.example", org, actor="setup")
            if i % 11 == 3:
                workflow.declare_conflict(store, "sme.brooks", ext, "former colleague", actor="setup")
            quality = rng.uniform(1.7, 2.3) if state == "resubmitted" else rng.uniform(1.7, 3.9)
            _make_submission(store, docs, rng, severity, ext, f"{first} {last}", program, org, quality, state, today,
                             i)
        say("knowledge-assessment candidates: certified, recertification due, expired, in progress; advancement")
        _knowledge_only_candidates(store, rng, today)
        _advancing_candidate(store, docs, rng, severity, today)
    say("certificates (valid, due for recertification, expired, suspended) and appeals")
    _certificates(store, Path(target) / "certificates", today)
    _appeals(store, today)
    say("a completed standard-setting workshop (modified Angoff, two rounds) on CCOM's rubric")
    build_demo_workshop(store, "CCOM", seed=seed, held_on=today - dt.timedelta(days=30))
    say("call-certification agents in every stage")
    build_demo_agents(store, seed, today)
    _self_assessments(store, random.Random(seed + 15))
    for username, role in _demo_roles():
        grant(store, username, role, actor="setup")
    return {s: sum(v[s] for v in workflow.pipeline_counts(store).values()) for s in workflow.STATES}


def _demo_roles() -> list[tuple[str, str]]:
    """Who holds which role in the demo (what `evalkit hub` signs people in to): every rater, adjudicator and lead
    SME above, the office's admin, a psychometrician, the Cert Coordinator and the certifiers."""
    roles = [("office.kim", "admin"), ("psy.moreau", "psychometrician"), ("cc.coordinator", "coordinator"),
             ("agent.jane", "agent")]  # cand.demo's candidate role comes with its link (link_person)
    # the call certifiers of evalkit.callcert's demo are four of the SMEs
    roles += [(username, "certifier") for username in ("sme.alvarez", "sme.brooks", "sme.chen", "sme.evans")]
    for username, _, adjudicator, lead, _ in _RATERS:
        roles += [(username, "adjudicator" if adjudicator else "rater")] + [(username, "lead_sme")] * lead
    return roles


def _plan(n: int) -> list[str]:
    """The states the demo's submissions end in; the cycle puts every state in every program."""
    cycle = ["notified", "decided", "notified", "notified", "scoring-draft", "received", "adjudication", "notified",
             "scoring-new", "resubmitted", "notified", "decided", "overdue", "benchmark", "notified", "letter-late"]
    return [cycle[i % len(cycle)] for i in range(n)]


# What candidates bring: (role, years) of call-centre experience; every fifth CIAC candidate is short of the
# one year in role and is admitted by an admin's recorded override.
_PROFILE_ROLES = {"CCOM": "management", "CCSL": "strategic_leadership"}


def _admit(store, rng, ext, program, received, i, knowledge: bool = True):
    """The candidate's profile, application and assignment before their work product: an application some months
    before, the assignment issued within its 60 business days (one in nine received late)."""
    role = _PROFILE_ROLES.get(program, "management")
    short = program in _PROFILE_ROLES and i % 5 == 2
    set_profile(store, ext, {
        "education": {"highest": rng.choice(["high_school", "associate", "bachelor", "master"])},
        "experience": [{"years": 0.5 if short else round(rng.uniform(1.5, 12), 1), "role": role, "call_center": True,
                        "employer": rng.choice(["private", "private", "government"]),
                        "supervision_years": 0.5 if short else 1.0}]}, actor="setup")
    issued = add_business_days(received, -(70 if i % 9 == 4 else rng.randint(20, 55)))
    applied = add_business_days(issued, -rng.randint(60, 130) if knowledge else -5)
    apply(store, ext, program, applied, override="verified by phone with the employer: acting manager since "
          "the site opened" if short else None, actor="setup")
    if knowledge:
        _knowledge_results(store, rng, ext, program, add_business_days(issued, -rng.randint(3, 20)))
    issue_assignment(store, ext, program, issued, actor="setup")


def _make_submission(store, docs, rng, severity, ext, name, program, org, quality, state, today, i,
                     knowledge: bool = True):
    fmt = ["md", "md", "txt", "docx"][i % 4]
    age = {"received": 3, "scoring-new": 6, "scoring-draft": 10, "adjudication": 20, "overdue": 40,
           "letter-late": 34, "decided": rng.randint(22, 29)}.get(state, rng.randint(35, 240))
    received = add_business_days(today, -age)
    doc = _write_document(docs, f"{ext}-1", fmt, _work_product(rng, program, org, quality))
    if state != "benchmark":
        _admit(store, rng, ext, program, received, i, knowledge and workflow.program(store, program).components[0]
               .startswith("knowledge_"))
    signoff = not program.startswith("ICMI") or rng.random() < 0.7
    sid = workflow.receive_submission(store, ext, program, received, signoff, doc, actor="setup",
                                      is_benchmark=state == "benchmark")
    if state == "received":
        return
    if state == "benchmark":
        # The lead SME's gold scores, and two SMEs scoring the same work for calibration.
        calibrating = rng.sample(["sme.chen", "sme.diallo", "sme.evans", "sme.farah"], 2)
        workflow.assign_raters(store, sid, ["sme.alvarez", *calibrating], actor="setup")
        rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
        for u in ("sme.alvarez", *calibrating):
            _score(store, sid, u, rubric, quality, 0.0 if u == "sme.alvarez" else severity[u], rng, today=received)
        return
    names = workflow.assign_raters(store, sid, actor="setup")
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    decided_on = min(add_business_days(received, rng.randint(8, 26)), today)
    if state == "scoring-new":
        return
    if state in ("scoring-draft", "overdue"):
        _score(store, sid, names[0], rubric, quality, severity[names[0]], rng, final=state == "overdue",
               today=decided_on)
        _score(store, sid, names[1], rubric, quality, severity[names[1]], rng, final=False)
        return
    if state == "adjudication":
        # Two raters far apart: one generous, one strict.
        workflow.submit_final(store, sid, names[0], *_spread(rubric, rng, high=True), today=decided_on)
        workflow.submit_final(store, sid, names[1], *_spread(rubric, rng, high=False), today=decided_on)
        return
    result = None
    for u in names:
        result = _score(store, sid, u, rubric, quality, severity[u], rng, today=decided_on)
    if result == "adjudication":
        adj = workflow.assign_adjudicator(store, sid, actor="setup")
        levels = _levels(rng, rubric, quality, 0.0)
        workflow.adjudicate(store, sid, adj, levels, _feedback(rubric, levels, rng), today=decided_on)
    if state in ("notified", "resubmitted"):
        workflow.record_notification(store, sid, min(add_business_days(decided_on, 2), today), [], actor="setup")
    if state == "resubmitted" and workflow.decided_result(store, sid)["result"] == "deficient":
        again = add_business_days(today, -4)
        deadline = workflow.resubmission_deadline(store, sid)
        if deadline is not None and deadline < again:
            workflow.grant_extension(store, sid, again, "hospitalised for three weeks (doctor's note on file)",
                                     actor="setup")
        doc2 = _write_document(docs, f"{ext}-2", "md", _work_product(rng, program, org, quality + 0.8))
        sid2 = workflow.resubmit(store, sid, again, True, doc2, actor="setup")
        workflow.assign_raters(store, sid2, actor="setup")


def _knowledge_results(store, rng, ext, program, last_day, retake: bool | None = None, passing: bool = True):
    """The four knowledge assessments, the last one taken on ``last_day``: a component sometimes failed once and
    retaken; with ``passing`` False the fourth is failed."""
    mark = workflow.program(store, program).pass_mark
    for i in range(1, 5):
        day = add_business_days(last_day, -(4 - i) * 5)
        if retake if retake is not None else rng.random() < 0.15:
            record_result(store, ext, program, f"knowledge_{i}", round(mark - rng.uniform(3, 12)), 100,
                          add_business_days(day, -15), actor="setup")
        good = passing or i < 4
        score = round(rng.uniform(mark, 98)) if good else round(mark - rng.uniform(2, 10))
        record_result(store, ext, program, f"knowledge_{i}", score, 100, day, actor="setup")


# Knowledge-assessment-only designations (CCMA, CCMC) in every certification state: (years ago the last
# assessment was taken, whether all four were passed).
_KNOWLEDGE_ONLY = [("CCMA", 0.4, True), ("CCMA", 2.85, True), ("CCMA", 3.3, True), ("CCMA", 0.2, False),
                   ("CCMC", 1.0, True), ("CCMC", 2.3, False), ("CCMC", 0.1, False), ("CCMA", 1.5, True)]


def _knowledge_only_candidates(store, rng, today: dt.date) -> None:
    """Candidates of CCMA and CCMC: certified, recertification due, expired, in progress, testing window over."""
    for k, (program, years_ago, passing) in enumerate(_KNOWLEDGE_ONLY):
        first, last = _FIRST[k], _LAST[-1 - k]
        ext = f"{program}-{today.year}-{2000 + k}"
        workflow.add_candidate(store, ext, first, last, f"{first.lower()}.{last.lower()}@example.org",
                               _ORGS[k % len(_ORGS)], actor="setup")
        _knowledge_results(store, rng, ext, program, today - dt.timedelta(days=int(365.25 * years_ago)),
                           retake=k % 3 == 0, passing=passing)


def _advancing_candidate(store, docs, rng, severity, today: dt.date) -> None:
    """A CCMA holder who advances to CCOM with a year managing and a passed work product, keeping their CCMA
    knowledge assessments."""
    ext, first, last = f"CCMA-{today.year}-2100", "Ines", "Walsh"
    workflow.add_candidate(store, ext, first, last, "ines.walsh@example.org", _ORGS[0], actor="setup")
    _knowledge_results(store, rng, ext, "CCMA", today - dt.timedelta(days=700), retake=False)
    _make_submission(store, docs, rng, severity, ext, f"{first} {last}", "CCOM", _ORGS[0], 3.6, "notified", today,
                     1, knowledge=False)


def _certificates(store, folder: Path, today: dt.date) -> None:
    """Certificates for those who hold a designation, decided by the director of certification (who scored
    nothing): valid, due for recertification, one from a designation since expired, one suspended."""
    from .certification import certificates, standings
    held = [s for s in standings(store, today) if s.status.holds]
    for s in held[:8]:
        certificates.decide_and_issue(store, s.candidate, s.program.id, folder, on=today, actor="director")
    lapsed = [s for s in standings(store, today, "expired") if s.status.since]
    for s in lapsed[:1]:  # issued while it was valid; the register now says expired
        certificates.decide_and_issue(store, s.candidate, s.program.id, folder, on=s.status.since, actor="director")
    issued = certificates.certificates(store, state="valid", today=today)
    if len(issued) >= 3:
        certificates.suspend(store, issued[-1]["number"], "complaint under investigation (case 2026-07)",
                             actor="director", on=today)


def _appeals(store, today: dt.date) -> None:
    """Two deficient results notified the day after their decision and appealed: one upheld, its fresh evaluation by
    other raters under way, one open."""
    from .evaluation import appeals
    with store.read() as conn:
        waiting = conn.execute(sa.text(
            "SELECT s.id, d.decided_on FROM submissions s JOIN decisions d ON d.submission_id = s.id WHERE "
            "s.state = 'decided' AND d.result = 'deficient' AND s.is_benchmark = :no ORDER BY s.id"),
            {"no": False}).all()
    for k, (sid, decided_on) in enumerate(waiting[:2]):
        on = min(add_business_days(as_date(decided_on), 1), today)
        workflow.record_notification(store, sid, on, [], actor="setup")
        row = appeals.lodge(store, sid, min(on + dt.timedelta(days=5), today),
                            "The feedback on the operations plan does not match the rubric's anchors.", actor="setup")
        appeals.acknowledge(store, row["id"], min(on + dt.timedelta(days=6), today), actor="setup")
        if k == 0:
            decided = appeals.decide(store, row["id"], "upheld", "The OM2 anchor was applied to the wrong section.",
                                     min(on + dt.timedelta(days=8), today), actor="director")
            workflow.assign_raters(store, decided["reevaluation_id"], actor="setup")


def _spread(rubric, rng, high: bool):
    levels = {c.id: (c.scores[-1] if high else c.scores[0]) if k % 3 == 0 else c.meets_standard
              for k, c in enumerate(rubric.criteria)}
    return levels, _feedback(rubric, levels, rng)


def _plain_text(markdown: str) -> str:
    """The work product as a candidate would type it in a .txt file: no Markdown marks, tables as aligned columns."""
    lines, table = [], []

    def flush():
        if table:
            widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
            lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)
            table.clear()
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not set(line) <= set("|-: "):  # the |---| rule under a header
                table.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        flush()
        lines.append(line.lstrip("#").strip().replace("**", "") if line.startswith("#") else line.replace("**", ""))
    flush()
    return "\n".join(lines) + "\n"


def _write_document(folder: Path, stem: str, fmt: str, markdown: str) -> str:
    path = folder / f"{stem}.{fmt}"
    if fmt == "docx":
        import docx
        document = docx.Document()
        for line in markdown.splitlines():
            if line.startswith("#"):
                document.add_heading(line.lstrip("# "), level=min(line.count("#"), 3))
            elif line.strip():
                document.add_paragraph(line)
        document.save(path)
    else:
        path.write_text(markdown if fmt == "md" else _plain_text(markdown), encoding="utf-8")
    path.chmod(0o600)
    return str(path.relative_to(folder.parent))


#: The work-product programs whose candidates self-assess in the demo (the programs with an instrument).
_SELF_ASSESSED = ("CCOM", "CCSL")


def _self_assessments(store, rng: random.Random) -> None:
    """Submitted CCOM and CCSL self-assessments of the candidates with a decided work product (ratings near the
    SMEs' resolved levels, some over- and some under-estimating), one CCOM draft, and the hub user ``cand.demo``
    linked to a CCOM candidate with a self-assessment still to do."""
    import sqlalchemy as sa

    from .certification import link_person, save_draft, start_self_assessment, submit_self_assessment
    from .store import candidacies, candidates, decisions, resolved_scores, submissions

    with store.read() as conn:
        decided = conn.execute(sa.select(submissions.c.program_id, candidates.c.external_id, submissions.c.id)
                               .join(submissions, submissions.c.candidate_id == candidates.c.id)
                               .join(decisions, decisions.c.submission_id == submissions.c.id)
                               .where(submissions.c.program_id.in_(_SELF_ASSESSED),
                                      submissions.c.is_benchmark.is_(False))
                               .order_by(candidates.c.external_id, submissions.c.attempt)).all()
        levels = {}
        for r in conn.execute(sa.select(resolved_scores)):
            levels.setdefault(r.submission_id, {})[r.criterion_id] = r.level
        waiting = conn.execute(sa.select(candidates.c.external_id)
                               .join(candidacies, candidacies.c.candidate_id == candidates.c.id)
                               .where(candidacies.c.program_id == "CCOM")
                               .order_by(candidates.c.external_id)).scalars().all()
    latest = {program: {ext: sid for p, ext, sid in decided if p == program} for program in _SELF_ASSESSED}
    for program in _SELF_ASSESSED:
        for k, ext in enumerate(sorted(latest[program])):
            record = start_self_assessment(store, ext, program, actor="setup")
            resolved = levels.get(latest[program][ext], {})
            bias = (1, 0, 0, -1)[k % 4]  # over-, accurate, accurate, under-estimating
            answers = {}
            for d in record["instrument"].domains:
                crit = [resolved[c] for c in d.work_product_criteria if c in resolved]
                base = sum(crit) / len(crit) if crit else 3
                for s in d.statements:
                    answers[s.id] = max(1, min(4, round(base + bias + rng.choice((-1, 0, 0, 0, 1)) * 0.6)))
            submit_self_assessment(store, record["id"], answers, actor="setup")
    rest = [ext for ext in waiting if ext not in latest["CCOM"]]
    if rest:
        draft = start_self_assessment(store, rest[0], "CCOM", actor="setup")
        save_draft(store, draft["id"], {s: 3 for s in draft["instrument"].statement_ids[:5]}, actor="setup")
    if len(rest) > 1:
        link_person(store, "cand.demo", candidate=rest[1], actor="setup")
