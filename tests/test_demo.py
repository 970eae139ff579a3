import datetime as dt
import hashlib

import sqlalchemy as sa

from evalkit.certification import standings
from evalkit.demo import build_demo
from evalkit.evaluation import workflow as wf
from evalkit.store import decisions, open_store, submissions


def _fingerprint(store):
    with store.read() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.id, s.program_id, s.state, s.received_on, c.last_name, cs.criterion_id, cs.level, cs.feedback "
            "FROM submissions s JOIN candidates c ON c.id = s.candidate_id "
            "LEFT JOIN assignments a ON a.submission_id = s.id "
            "LEFT JOIN criterion_scores cs ON cs.assignment_id = a.id ORDER BY 1, 6, 7")).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_demo_has_every_state_in_every_program(demo_workspace):
    store = open_store(demo_workspace)
    counts = wf.pipeline_counts(store)
    assert set(counts) == {"CCOM", "CCSL", "ICMI-SL", "ICMI-OM", "ICMI-MC"}
    totals = {state: sum(c[state] for c in counts.values()) for state in wf.STATES}
    assert all(n > 0 for n in totals.values()), totals
    with store.read() as conn:
        results = dict(conn.execute(sa.select(decisions.c.result, sa.func.count()).group_by(decisions.c.result)).all())
        methods = set(conn.execute(sa.select(decisions.c.method)).scalars())
        resubmitted = conn.execute(sa.select(sa.func.count()).where(submissions.c.previous_id.is_not(None))).scalar()
        gold = conn.execute(sa.select(sa.func.count()).where(submissions.c.is_benchmark.is_(True))).scalar()
    assert results["pass"] > 5 and results["deficient"] > 5
    assert methods == {"agreement", "adjudication", "benchmark"}
    assert resubmitted > 0 and gold > 0
    due = wf.due_report(store)
    assert any(r["late"] for r in due) and any(r["due_this_week"] for r in due)
    drafts = [q for q in wf.queue(store, "sme.brooks") if q["state"] == "draft"]
    assert drafts


def test_demo_is_reproducible_from_its_seed(tmp_path):
    day = dt.date(2026, 11, 24)
    build_demo(tmp_path / "a", seed=7, today=day, n_candidates=20)
    build_demo(tmp_path / "b", seed=7, today=day, n_candidates=20)
    build_demo(tmp_path / "c", seed=8, today=day, n_candidates=20)
    prints = [_fingerprint(open_store(tmp_path / x)) for x in "abc"]
    assert prints[0] == prints[1] != prints[2]


def test_the_demo_has_candidates_in_every_certification_state(demo_workspace):
    store = open_store(demo_workspace)
    states = {s.status.state for s in standings(store)}
    store.dispose()
    assert {"certified", "recertification due", "expired", "in progress"} <= states


def test_the_demo_shows_admission_clocks_deadlines_and_advancement(demo_workspace):
    """Every new view of issue 11 has something real to show: overrides, late work products, an extension, and a
    CCMA holder certified as CCOM by advancement."""
    store = open_store(demo_workspace)
    try:
        with store.read() as conn:
            overrides = conn.execute(sa.text("SELECT count(*) FROM candidacies WHERE override_by IS NOT NULL")).scalar()
            by_route = conn.execute(sa.text("SELECT count(*) FROM candidacies WHERE route IS NOT NULL")).scalar()
            late = conn.execute(sa.text("SELECT count(*) FROM submissions WHERE received_on > complete_by")).scalar()
            extended = conn.execute(sa.text("SELECT count(*) FROM resubmission_extensions")).scalar()
            deadlines = conn.execute(sa.text("SELECT count(*) FROM decisions WHERE resubmit_by IS NOT NULL")).scalar()
        advanced = [s for s in standings(store) if s.advancing_from and s.status.holds]
        from evalkit.widgets.admin import candidates_table
        page = candidates_table(store)
    finally:
        store.dispose()
    assert overrides > 0 and by_route > overrides and late > 0 and extended > 0 and deadlines > 0
    assert [(s.advancing_from, s.program.id) for s in advanced] == [("CCMA", "CCOM")]
    for text in ("admitted by override of setup", "advancing from CCMA", "eligible by route in-role",
                 "no eligibility requirement", "work product due"):
        assert text in page, text


def test_the_demo_shows_certificates_in_every_state_and_appeals(demo_workspace):
    from evalkit.certification import certificates
    from evalkit.evaluation import appeals
    store = open_store(demo_workspace)
    try:
        held = certificates.certificates(store)
        today = dt.date.today()
        due = [c for c in held if c["state"] == "valid" and (c["valid_until"] - today).days <= 90]
        made = appeals.appeals_of(store)
    finally:
        store.dispose()
    assert {c["state"] for c in held} >= {"valid", "expired", "suspended"} and due
    assert {c["decided_by"] for c in held} == {"director"}
    assert {a["outcome"] for a in made} == {"upheld", None}
    upheld = next(a for a in made if a["outcome"] == "upheld")
    assert upheld["reevaluation_id"] and upheld["decided_by"] == "director"


def test_the_demo_compares_self_assessments_with_the_evaluation(demo_workspace):
    """The agreement report's self-assessment section has numbers on the demo: CCOM and CCSL candidates with a
    decided work product have self-assessed, some over- and some under-estimating."""
    from evalkit.psychometrics.self_assessment import self_assessment_comparison
    store = open_store(demo_workspace)
    try:
        found = {program: self_assessment_comparison(store, program) for program in ("CCOM", "CCSL")}
    finally:
        store.dispose()
    for program, result in found.items():
        assert result.candidates >= 5, program
        assert result.bias["over"].sum() > 0 and result.bias["under"].sum() > 0, program
        assert result.prediction.loc["All domains", "r"] > 0, program
