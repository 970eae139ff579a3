"""Demo call-certification agents in every stage, for the demo workspace (:func:`evalkit.demo.build_demo`)."""
from __future__ import annotations

import datetime as dt
import random

from ..calendar import add_business_days, is_business_day
from ..instruments.rubric import Rubric
from ..store import Store
from .records import add_agent, add_note, overview, record_action, record_tbt, score_call
from .self_report import submit_self_report
from .rules import CALLS_REQUIRED, STEP_LABEL, TARGET_DAYS, ladder_dates, load_scorecard, marked_down_note

__all__ = ["build_demo_agents"]

_DEMO_AGENTS = [("Jane", "Smith"), ("Marcus", "O'Brien"), ("Ana Lucia", "De la Cruz"), ("Tomás", "Reyes"),
                ("Keisha", "Howard"), ("Ben", "Carter"), ("Mei", "Lin"), ("Arjun", "Mehta"), ("Rosa", "Delgado"),
                ("Tyler", "Brooks"), ("Nadia", "Haddad"), ("Chris", "Walker"), ("Leah", "Goldberg"),
                ("Samuel", "Osei"), ("Grace", "Kim")]
_DEMO_CERTIFIERS = ["Dana Alvarez", "Sam Brooks", "Lin Chen", "Kit Evans"]
_WENT_WELL = ["Warm, confident greeting and a clear verification.", "Good empathy when the caller was frustrated.",
              "Found the right knowledge-base article quickly.", "Clear summary of next steps at the close."]
_POSITIVE = ["Great progress since your first call; keep it up.", "Your tone put the caller at ease.",
             "You stayed calm and in control throughout.", "You are clearly ready for live calls on this call type."]


def _demo_levels(rng: random.Random, rubric: Rubric, passed: bool) -> dict[str, int]:
    levels = {c.id: 4 for c in rubric.criteria}
    light = [c.id for c in rubric.criteria if c.weight <= 2]
    for cid in rng.sample(light, rng.randint(0, 3)):
        levels[cid] = 3  # at most 6 points of 96 lost: still >= 85
    if not passed:
        heavy = [c.id for c in rubric.criteria if c.weight >= 5]
        levels[rng.choice(heavy)] = 1  # 15 points lost: below 85 whatever else
    return levels


def build_demo_agents(store: Store, rng_seed: int = 2026, today: dt.date | None = None) -> dict[str, int]:
    """Add demo agents in every stage as of ``today``; returns the number of agents per stage.

    Not started, in progress (days 1 and 2), past target, each ladder step due (one with a step recorded late,
    one with every step before termination recorded), passed 5/5 and 4/5 (one finishing today), failed 3/5,
    terminated, an open equipment issue, over-time calls and TBTs, and progress notes.
    """
    today = today or dt.date.today()
    ref = today if is_business_day(today) else add_business_days(today, -1)
    rng = random.Random(rng_seed)
    rubric = load_scorecard()
    me = "Cert Coordinator"
    # (business day the agent is on today, call outcomes, TBT hours or None, ladder steps recorded, progress note
    # (None: the agent's own), extra)
    plan = [
        (1, [], None, [], (None, "Systems check done; TBT modules 1-2 complete."), {}),
        (2, [True, True, False], 7.0, [], (None, "Emailed progress: 3 calls done, TBTs finished."), {}),
        (9, [True] * 5, 6.5, [], (None, "All 5 calls and TBTs complete."), {}),
        (2, [True, False, True, True, True], 7.5, [], (None, "Self-reported: calls and TBTs complete."),
         {"finish_today": True}),
        (4, [True, False, True, True, False], None, [], (me, "Calls 2 and 5 below 85: certification not passed."), {}),
        (3, [True] * 4, None, [], (None, "4 calls done; TBT modules 5-6 outstanding."), {}),
        (4, [True, True], 7.0, [], (None, "Waited most of day 2 for a certifier; 2 calls done."), {}),
        (5, [True, False, True], 8.0, ["coaching"], (None, "TBTs done; call 2 type still difficult."), {}),
        (6, [True] * 3, None, ["coaching"], (me, "No progress report yesterday; followed up by email."),
         {"late": True}),
        (7, [True, True, False, True], 9.5, ["coaching", "written_cap", "final_cap"],
         (None, "TBTs took longer than planned."), {}),
        (2, [], None, [], (me, "Cannot log in to the softphone; IT ticket open."),
         {"equipment": "Softphone login fails; IT ticket open"}),
        (3, [True] * 5, 6.0, [], (None, "Calls ran long because of system slowness."), {"slow_calls": True}),
        (12, [True, False], None, ["coaching", "written_cap", "final_cap", "termination"], None, {}),
        (1, [True], None, [], (None, "First call passed; TBT modules 1-3 done."), {}),
        (0, [], None, [], None, {}),
    ]
    for (first, last), (day, outcomes, tbt, steps, note, extra) in zip(_DEMO_AGENTS, plan):
        start = add_business_days(ref, -(day - 1))
        certifier = None if "equipment" in extra else rng.choice(_DEMO_CERTIFIERS)
        aid = add_agent(store, first, last, start, certifier, extra.get("equipment"), actor="setup")
        last_day = day if extra.get("finish_today") else min(day, TARGET_DAYS)  # calls spread over days 1..last
        for k, ok in enumerate(outcomes):
            on = add_business_days(start, (k + 1) * last_day // len(outcomes) - 1) if k < len(outcomes) - 1 \
                else add_business_days(start, last_day - 1)
            levels = _demo_levels(rng, rubric, ok)
            tips = {c.id: rng.choice(c.level(levels[c.id]).feedback) for c in rubric.criteria
                    if levels[c.id] < c.meets_standard}
            score_call(store, aid, certifier or rng.choice(_DEMO_CERTIFIERS), levels, rng.choice(_WENT_WELL),
                       marked_down_note(rubric, levels, tips), rng.choice(_POSITIVE), scored_on=max(on, start),
                       duration_hours=1.0 if extra.get("slow_calls") else rng.choice([0.5, 0.6, 0.75]),
                       rubric=rubric, actor="setup")
        if tbt is not None:
            record_tbt(store, aid, tbt, add_business_days(start, last_day - 1), actor="setup")
        dates = ladder_dates(start)
        for step in steps:
            on = min(add_business_days(dates[step], 1 if extra.get("late") else 0), ref)
            record_action(store, aid, step, on, me, f"{STEP_LABEL[step]} delivered; expectation set to finish within "
                          "one business day.", actor="setup")
        if note:
            on = ref if day <= TARGET_DAYS or not outcomes or len(outcomes) < CALLS_REQUIRED else \
                add_business_days(start, last_day - 1)
            add_note(store, aid, note[0] or f"{first} {last}", note[1], on, actor="setup")
    _demo_self_reports(store, ref)
    counts: dict[str, int] = {}
    for s in overview(store, today):
        counts[s.stage] = counts.get(s.stage, 0) + 1
    return counts


def _demo_self_reports(store: Store, day: dt.date) -> None:
    """Today's end-of-day self-reports: Jane Smith through the form (signed in as ``agent.jane``), Marcus O'Brien by
    e-mail entered by the coordinator; every other agent in call certs has not reported (the coordinator's flag)."""
    import sqlalchemy as sa

    from ..store import cc_agents, person_links, utcnow

    with store.read() as conn:
        ids = {(r.first_name, r.last_name): r.id for r in conn.execute(sa.select(cc_agents))}
    jane, marcus = ids[_DEMO_AGENTS[0]], ids[_DEMO_AGENTS[1]]
    with store.transaction("setup") as tx:
        tx.insert(person_links, {"username": "agent.jane", "candidate_id": None, "agent_id": jane,
                                 "linked_by": "setup", "linked_at": utcnow()}, action="person_link")
    submit_self_report(store, jane, "Systems check done; shadowed two calls.", ["Welcome", "Billing 1"], "",
                       on_date=day, reporter="agent.jane", today=day)
    submit_self_report(store, marcus, "Three calls done, TBTs finished.", ["Billing 2"], "Headset crackles on calls",
                       on_date=day, via="email", actor="Cert Coordinator", today=day)
