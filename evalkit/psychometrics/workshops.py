"""Standard-setting workshops in the store, and a pass mark adopted from one as a new instrument version.

A modified-Angoff workshop (:mod:`evalkit.psychometrics.standard_setting` computes its numbers) runs on one
program's rubric version: :func:`create_workshop` records the panel and the definition of the minimally competent
candidate and opens round 1; panellists' expected levels are recorded with :func:`record_ratings`;
:func:`close_round` computes the round's cut and stores the *impact data* shown to the panel before the next
round (the share of past candidates, decided under that rubric version, who would pass at the cut);
:func:`open_round` starts the next round and :func:`close_workshop` makes the last round's cut the recommendation.
:func:`workshop_result` reads it all back with the comparison with the pass mark.

Adopting the result: a new rubric version, never a changed past
-----------------------------------------------------------------
:func:`adopt_pass_mark` (an admin's act) writes the recommended cut, or a pass mark the office chose from it, into
the program as a **new rubric version**: the rubric's YAML with ``pass_rule.pass_mark`` replaced (and a comment
naming the workshop) is registered in ``rubric_versions`` under its own content hash, the program's definition
points at it, and a ``pass_mark_changes`` row records the old and new pass mark and versions, the workshop (the
provenance), who adopted it, why and from which day, all in one audit-logged transaction.

Why a new rubric version rather than a pass mark with an effective date beside the rubric: everything that decides
or reads a result already goes through the submission's rubric version (a submission keeps the version it was
received under; a decision stores its version; letters and reports read the rubric registered under it), so

- submissions received from the day of adoption are scored and decided under the new pass mark;
- submissions already received, decided or not, keep the version and pass mark they were received under, exactly
  as when a rubric file is edited mid-scoring, and every past decision stays readable with the pass mark it was
  made under: nothing is recomputed, no past result changes;
- the agreement and validity reports, which never mix rubric versions, keep the data of the two pass marks apart.

A recorded pass mark with an effective date would have needed every reader of a result to consult a second table
and would leave the rubric (which states the pass rule) saying one thing while decisions follow another.

The rubric *file* still holds the old pass mark: ``evalkit sync`` registers the file's rubric again and would point
the program back at it. :func:`pass_mark_status` says when that has happened, and :func:`adopted_rubric_text`
gives the adopted rubric's YAML to put into the rubric file (with ``pass_mark`` in programs.yaml to match, which
``sync_programs`` checks): the content hash is the same, so the program stays on the adopted version.

On PostgreSQL, row-level security (migration 0008) lets admins and psychometricians record workshops and lets only
admins adopt a pass mark.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa
import yaml

from ..evaluation import workflow
from ..instruments.rubric import Rubric, RubricError, parse_rubric
from ..messages import one_line, show
from ..store import (Store, decisions, pass_mark_changes, programs, resolved_scores, rubric_versions,
                     standard_setting_panellists, standard_setting_ratings, standard_setting_rounds,
                     standard_setting_workshops, submissions, utcnow)
from . import standard_setting as ss

__all__ = ["WorkshopError", "WorkshopResult", "create_workshop", "add_panellist", "record_ratings", "close_round",
           "open_round", "close_workshop", "list_workshops", "ratings", "decided_totals", "workshop_result",
           "latest_result", "adopt_pass_mark", "pass_mark_history", "pass_mark_status", "adopted_rubric_text",
           "rubric_with_pass_mark", "build_demo_workshop"]


class WorkshopError(ValueError):
    """A workshop step that cannot be taken (one-line reason)."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


def _text(value, what: str, limit: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkshopError(f"{what} is {show(value)}; expected text")
    value = value.strip()
    if limit and len(value) > limit:
        raise WorkshopError(f"{what} is {len(value)} characters long; expected at most {limit}")
    return value


def _date(value, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise WorkshopError(f"{what} is {show(value)}; expected a date (YYYY-MM-DD)") from None


# --- reading ---------------------------------------------------------------------------------------------------


def _workshop(conn, workshop_id) -> dict:
    if isinstance(workshop_id, bool) or not isinstance(workshop_id, (int, np.integer)):
        raise WorkshopError(f"workshop is {show(workshop_id)}; expected a workshop id (a whole number)")
    row = conn.execute(sa.select(standard_setting_workshops)
                       .where(standard_setting_workshops.c.id == int(workshop_id))).mappings().first()
    if row is None:
        raise WorkshopError(f"no standard-setting workshop {workshop_id}")
    return dict(row)


def _rounds(conn, workshop_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.select(standard_setting_rounds)
                                          .where(standard_setting_rounds.c.workshop_id == workshop_id)
                                          .order_by(standard_setting_rounds.c.number)).mappings()]


def _panellists(conn, workshop_id: int) -> dict[str, int]:
    return dict(conn.execute(sa.select(standard_setting_panellists.c.name, standard_setting_panellists.c.id)
                             .where(standard_setting_panellists.c.workshop_id == workshop_id)
                             .order_by(standard_setting_panellists.c.id)).all())


def list_workshops(store: Store, program_id: str | None = None) -> pd.DataFrame:
    """The workshops held (newest first): ``id, program_id, rubric_version, title, held_on, state,
    recommended_cut, cut_se, rounds, panellists``."""
    rounds = (sa.select(standard_setting_rounds.c.workshop_id, sa.func.count().label("rounds"))
              .group_by(standard_setting_rounds.c.workshop_id).subquery())
    panel = (sa.select(standard_setting_panellists.c.workshop_id, sa.func.count().label("panellists"))
             .group_by(standard_setting_panellists.c.workshop_id).subquery())
    w = standard_setting_workshops
    query = (sa.select(w.c.id, w.c.program_id, w.c.rubric_version, w.c.title, w.c.held_on, w.c.state,
                       w.c.recommended_cut, w.c.cut_se, rounds.c.rounds, panel.c.panellists)
             .select_from(w.outerjoin(rounds, rounds.c.workshop_id == w.c.id)
                          .outerjoin(panel, panel.c.workshop_id == w.c.id))
             .order_by(w.c.held_on.desc(), w.c.id.desc()))
    if program_id is not None:
        query = query.where(w.c.program_id == program_id)
    columns = ["id", "program_id", "rubric_version", "title", "held_on", "state", "recommended_cut", "cut_se",
               "rounds", "panellists"]
    with store.read() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)


def ratings(store: Store, workshop_id: int) -> pd.DataFrame:
    """Every rating of a workshop, long: ``round, panellist, criterion, level, rated_at``."""
    r, p, s = standard_setting_rounds, standard_setting_panellists, standard_setting_ratings
    query = (sa.select(r.c.number.label("round"), p.c.name.label("panellist"), s.c.criterion_id.label("criterion"),
                       s.c.level, s.c.rated_at)
             .select_from(s.join(r, r.c.id == s.c.round_id).join(p, p.c.id == s.c.panellist_id))
             .where(r.c.workshop_id == workshop_id).order_by(r.c.number, p.c.id, s.c.criterion_id))
    with store.read() as conn:
        _workshop(conn, workshop_id)
        return pd.DataFrame(conn.execute(query).mappings().all(),
                            columns=["round", "panellist", "criterion", "level", "rated_at"])


def decided_totals(store: Store, program_id: str, rubric_version: str) -> pd.DataFrame:
    """The past candidates the impact data counts: decided operational submissions of the program under the rubric
    version, with their resolved ``total`` % and ``must_meet_ok`` (every must-meet criterion at or above the
    standard), indexed by submission. Read set-wise: one query for the totals, one for the must-meet levels."""
    rubric = workflow.rubric_for(store, rubric_version)
    scope = sa.and_(submissions.c.program_id == program_id, submissions.c.rubric_version == rubric_version,
                    submissions.c.is_benchmark.is_(False))
    with store.read() as conn:
        totals = pd.DataFrame(conn.execute(
            sa.select(decisions.c.submission_id, decisions.c.total_percent)
            .join(submissions, submissions.c.id == decisions.c.submission_id).where(scope)).all(),
            columns=["submission", "total"])
        must = list(rubric.pass_rule.must_meet)
        below = pd.DataFrame(conn.execute(
            sa.select(resolved_scores.c.submission_id, resolved_scores.c.criterion_id, resolved_scores.c.level)
            .join(submissions, submissions.c.id == resolved_scores.c.submission_id)
            .where(scope, resolved_scores.c.criterion_id.in_(must))).all() if must else [],
            columns=["submission", "criterion", "level"])
    standard = {c.id: c.meets_standard for c in rubric.criteria}
    failed = set(below.loc[below["level"] < below["criterion"].map(standard), "submission"]) if len(below) else set()
    out = totals.set_index("submission").sort_index()
    out["total"] = out["total"].astype(float)
    out["must_meet_ok"] = ~out.index.isin(list(failed))
    return out


# --- recording a workshop --------------------------------------------------------------------------------------


def create_workshop(store: Store, program_id: str, title: str, held_on, facilitator: str, mcc_definition: str,
                    panellists: Iterable, actor: str = "psychometrician") -> int:
    """Record a modified-Angoff workshop on the program's current rubric version and open its round 1.

    Parameters
    ----------
    program_id : str
        A program with a work product.
    title, facilitator : str
    held_on : date or "YYYY-MM-DD"
    mcc_definition : str
        The description of the minimally competent candidate the panel agreed on before rating.
    panellists : iterable
        Names, or ``(name, expertise)`` pairs (at least one; names unique).

    Returns
    -------
    int
        The workshop's id.
    """
    version = workflow.rubric_version_of(store, program_id)  # WorkflowError for an unknown program
    people = []
    for p in panellists if not isinstance(panellists, (str, bytes)) else [panellists]:
        name, expertise = (p, None) if isinstance(p, str) else (tuple(p) + (None,))[:2] if isinstance(
            p, (tuple, list)) else (p, None)
        people.append((_text(name, "panellist name", 128), expertise.strip() if isinstance(expertise, str) else None))
    if not people:
        raise WorkshopError("a workshop needs at least one panellist")
    names = [n for n, _ in people]
    if len(set(names)) < len(names):
        raise WorkshopError(f"panellist {show(next(n for n in names if names.count(n) > 1))} is listed twice; "
                            "expected each panellist once")
    now = utcnow()
    with store.transaction(actor) as tx:
        row = tx.insert(standard_setting_workshops, {
            "program_id": program_id, "rubric_version": version, "method": ss.METHOD, "title": _text(title, "title"),
            "held_on": _date(held_on, "held_on"), "facilitator": _text(facilitator, "facilitator"),
            "mcc_definition": _text(mcc_definition, "the minimally competent candidate's definition"),
            "state": "open", "created_by": store.person or actor, "created_at": now}, action="create_workshop")
        for name, expertise in people:
            tx.insert(standard_setting_panellists, {"workshop_id": row["id"], "name": name, "expertise": expertise})
        tx.insert(standard_setting_rounds, {"workshop_id": row["id"], "number": 1, "opened_at": now},
                  action="open_round")
    return row["id"]


def _open_workshop(tx, workshop_id) -> dict:
    w = _workshop(tx.conn, workshop_id)
    if w["state"] != "open":
        raise WorkshopError(f"workshop {workshop_id} is {w['state']}; it takes no more changes")
    return w


def add_panellist(store: Store, workshop_id: int, name: str, expertise: str | None = None,
                  actor: str = "psychometrician") -> int:
    """Add a panellist to an open workshop; returns their id."""
    with store.transaction(actor) as tx:
        _open_workshop(tx, workshop_id)
        name = _text(name, "panellist name", 128)
        if name in _panellists(tx.conn, workshop_id):
            raise WorkshopError(f"panellist {show(name)} is already on workshop {workshop_id}'s panel")
        return tx.insert(standard_setting_panellists, {"workshop_id": workshop_id, "name": name,
                                                       "expertise": expertise})["id"]


def _current_round(tx, workshop_id: int) -> dict:
    rounds = _rounds(tx.conn, workshop_id)
    if not rounds or rounds[-1]["closed_at"] is not None:
        raise WorkshopError(f"workshop {workshop_id} has no open round (round {rounds[-1]['number'] if rounds else 0} "
                            "is closed); open the next round first")
    return rounds[-1]


def record_ratings(store: Store, workshop_id: int, panellist: str, levels: Mapping[str, float],
                   actor: str = "psychometrician") -> int:
    """Record (or correct) a panellist's expected levels in the workshop's open round; returns the round number.

    ``levels`` maps criterion ids to the level a minimally competent candidate would be expected to reach
    (fractions allowed, within the criterion's scale). A panellist may give some criteria now and the rest later;
    the round closes only when every panellist who rated has rated every criterion.
    """
    if not isinstance(levels, Mapping) or not levels:
        raise WorkshopError(f"levels is {show(levels)}; expected a mapping of criterion id to expected level")
    now = utcnow()
    with store.transaction(actor) as tx:
        w = _open_workshop(tx, workshop_id)
        rnd = _current_round(tx, workshop_id)
        people = _panellists(tx.conn, workshop_id)
        if panellist not in people:
            raise WorkshopError(f"{show(panellist)} is not on workshop {workshop_id}'s panel; panellists: "
                                f"{', '.join(people)}")
        rubric = workflow.rubric_for(store, w["rubric_version"])
        for cid, level in levels.items():
            try:
                c = rubric.criterion(cid)
            except KeyError:
                raise WorkshopError(f"rubric {rubric.id} has no criterion {show(cid)}; expected one of "
                                    f"{list(rubric.criterion_ids)}") from None
            if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(level) or not c.scores[0] <= level <= c.scores[-1]:
                raise WorkshopError(f"criterion {cid}: expected level {show(level)} is not a number on the scale "
                                    f"{c.scores[0]}-{c.scores[-1]}")
            key = {"round_id": rnd["id"], "panellist_id": people[panellist], "criterion_id": cid}
            tx.upsert(standard_setting_ratings, key, {"level": float(level), "rated_at": now}, action="rate")
    return rnd["number"]


def _round_frame(tx_or_conn, round_id: int) -> pd.DataFrame:
    s, p = standard_setting_ratings, standard_setting_panellists
    rows = tx_or_conn.execute(sa.select(p.c.name, s.c.criterion_id, s.c.level).join(p, p.c.id == s.c.panellist_id)
                              .where(s.c.round_id == round_id)).all()
    return pd.DataFrame(rows, columns=["panellist", "criterion", "level"])


def _impact_data(store: Store, w: dict, rubric: Rubric, result: ss.AngoffResult, as_of: dt.date) -> dict:
    totals = decided_totals(store, w["program_id"], w["rubric_version"])
    at_cut = ss.impact(totals["total"], result.cut, must_meet_ok=totals["must_meet_ok"].to_numpy())
    at_mark = ss.impact(totals["total"], rubric.pass_rule.pass_mark, must_meet_ok=totals["must_meet_ok"].to_numpy())
    return {"as_of": as_of.isoformat(), "cut": result.cut, "se": None if math.isnan(result.se) else result.se,
            "n_candidates": at_cut.n_candidates, "n_pass": at_cut.n_pass,
            "pass_rate": None if math.isnan(at_cut.pass_rate) else at_cut.pass_rate,
            "pass_mark": rubric.pass_rule.pass_mark,
            "pass_rate_at_pass_mark": None if math.isnan(at_mark.pass_rate) else at_mark.pass_rate,
            "panellist_cuts": {str(k): float(v) for k, v in result.panellist_cuts.items()},
            "shown": at_cut.describe()}


def close_round(store: Store, workshop_id: int, actor: str = "psychometrician") -> dict:
    """Close the open round: its cut and SE, and the impact data to show the panel, stored with the round.

    Returns the round's record: ``number, cut, cut_se`` and ``impact`` (``cut, se, n_candidates, n_pass,
    pass_rate, pass_mark, pass_rate_at_pass_mark, panellist_cuts, as_of, shown``): the decided candidates as
    they stand at closing.
    """
    with store.transaction(actor) as tx:
        w = _open_workshop(tx, workshop_id)
        rnd = _current_round(tx, workshop_id)
        frame = _round_frame(tx, rnd["id"])
        if frame.empty:
            raise WorkshopError(f"round {rnd['number']} of workshop {workshop_id} has no ratings yet")
        rubric = workflow.rubric_for(store, w["rubric_version"])
        counts = frame.groupby("panellist").size()
        short = counts[counts < len(rubric.criteria)]
        if len(short):
            done = set(frame.loc[frame["panellist"] == short.index[0], "criterion"])
            missing = [c for c in rubric.criterion_ids if c not in done]
            raise WorkshopError(f"round {rnd['number']} cannot close: {short.index[0]} has not rated "
                                f"{', '.join(missing)}")
        result = ss.angoff_cut(frame, rubric, gtheory=False)
        impact = _impact_data(store, w, rubric, result, dt.date.today())
        values = {"closed_at": utcnow(), "cut": result.cut, "cut_se": None if math.isnan(result.se) else result.se,
                  "impact": json.dumps(impact, sort_keys=True)}
        tx.update(standard_setting_rounds, {"id": rnd["id"]}, values, action="close_round")
    return {"number": rnd["number"], "cut": result.cut, "cut_se": values["cut_se"], "impact": impact}


def open_round(store: Store, workshop_id: int, actor: str = "psychometrician") -> int:
    """Open the next round (after the panel has seen the last round's impact data); returns its number."""
    with store.transaction(actor) as tx:
        _open_workshop(tx, workshop_id)
        rounds = _rounds(tx.conn, workshop_id)
        if rounds and rounds[-1]["closed_at"] is None:
            raise WorkshopError(f"round {rounds[-1]['number']} of workshop {workshop_id} is still open; close it "
                                "first")
        number = (rounds[-1]["number"] if rounds else 0) + 1
        tx.insert(standard_setting_rounds, {"workshop_id": workshop_id, "number": number, "opened_at": utcnow()},
                  action="open_round")
    return number


def close_workshop(store: Store, workshop_id: int, actor: str = "psychometrician") -> ss.AngoffResult:
    """End the workshop: the last round's cut is the recommendation (recorded with its SE). Returns it."""
    with store.transaction(actor) as tx:
        w = _open_workshop(tx, workshop_id)
        rounds = _rounds(tx.conn, workshop_id)
        if rounds and rounds[-1]["closed_at"] is None:
            if tx.execute(sa.select(sa.func.count()).select_from(standard_setting_ratings)
                          .where(standard_setting_ratings.c.round_id == rounds[-1]["id"])).scalar():
                raise WorkshopError(f"round {rounds[-1]['number']} of workshop {workshop_id} is open with ratings; "
                                    "close the round first")
            tx.delete(standard_setting_rounds, {"id": rounds[-1]["id"]}, action="drop_empty_round")
            rounds = rounds[:-1]
        if not rounds:
            raise WorkshopError(f"workshop {workshop_id} has no closed round: nothing to recommend")
        result = ss.angoff_cut(_round_frame(tx, rounds[-1]["id"]), workflow.rubric_for(store, w["rubric_version"]))
        tx.update(standard_setting_workshops, {"id": workshop_id}, {
            "state": "closed", "recommended_cut": result.cut, "cut_se": None if math.isnan(result.se) else result.se,
            "closed_by": store.person or actor, "closed_at": utcnow()}, action="close_workshop")
    return result


# --- the result ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopResult:
    """A workshop read back: its rounds, the recommended cut and how it compares with the pass mark.

    Attributes
    ----------
    workshop : dict
        The workshop's record (``id, program_id, rubric_version, title, held_on, facilitator, mcc_definition,
        state, recommended_cut, cut_se`` ...).
    rubric : Rubric
        The rubric version the panel rated.
    panellists : DataFrame
        ``name, expertise``.
    ratings : DataFrame
        Long: ``round, panellist, criterion, level``.
    rounds : DataFrame
        :func:`evalkit.psychometrics.standard_setting.round_summary` of the closed rounds, with the impact data
        shown after each (``pass_rate``, ``n_candidates``, ``pass_rate_at_pass_mark``).
    final : AngoffResult or None
        The last closed round's result (with the G study); None before any round closed.
    comparison : PassMarkComparison or None
        The final cut beside the pass mark of the rubric version rated, with the impact at each.
    impact_curve : DataFrame
        :func:`evalkit.psychometrics.standard_setting.impact_table` of the decided totals now.
    adoption : dict or None
        The ``pass_mark_changes`` record when this workshop's result was adopted.
    status : dict
        :func:`pass_mark_status` of the program now.
    open_round : int or None
        The number of the round open for ratings (None: none is).
    """

    workshop: dict
    rubric: Rubric
    panellists: pd.DataFrame
    ratings: pd.DataFrame
    rounds: pd.DataFrame
    final: ss.AngoffResult | None
    comparison: ss.PassMarkComparison | None
    impact_curve: pd.DataFrame
    adoption: dict | None
    status: dict
    open_round: int | None = None

    def describe(self) -> str:
        """One line: the workshop, its recommendation beside the pass mark, and whether it was adopted."""
        w = self.workshop
        head = f"workshop {w['id']} ({w['title']}, {w['held_on']}, {len(self.panellists)} panellists)"
        if self.comparison is None:
            return f"{head}: no round closed yet"
        out = f"{head}, {len(self.rounds)} round(s): {self.comparison.describe()}"
        if w["state"] == "open":
            out += "; workshop still open"
        if self.adoption:
            out += (f"; adopted as pass mark {self.adoption['new_pass_mark']:g}% from "
                    f"{self.adoption['effective_from']} (rubric version {self.adoption['to_version']})")
        return out


def workshop_result(store: Store, workshop_id: int, totals: pd.DataFrame | None = None) -> WorkshopResult:
    """Read a workshop back with its rounds, result, comparison with the pass mark and adoption.

    ``totals``: :func:`decided_totals` of the workshop's program and rubric version when the caller has them
    (read from the store otherwise).
    """
    with store.read() as conn:
        w = _workshop(conn, workshop_id)
        rounds = _rounds(conn, workshop_id)
        panel = pd.DataFrame(conn.execute(
            sa.select(standard_setting_panellists.c.name, standard_setting_panellists.c.expertise)
            .where(standard_setting_panellists.c.workshop_id == workshop_id)
            .order_by(standard_setting_panellists.c.id)).all(), columns=["name", "expertise"])
        adoption = conn.execute(sa.select(pass_mark_changes).where(pass_mark_changes.c.workshop_id == workshop_id)
                                .order_by(pass_mark_changes.c.id.desc())).mappings().first()
    rubric = workflow.rubric_for(store, w["rubric_version"])
    long = ratings(store, workshop_id)
    closed = [r for r in rounds if r["closed_at"] is not None]
    closed_numbers = [r["number"] for r in closed]
    done = long[long["round"].isin(closed_numbers)]
    summary = ss.round_summary(done, rubric) if len(done) else ss.round_summary(
        pd.DataFrame(columns=["round", "panellist", "criterion", "level"]), rubric)
    shown = {r["number"]: json.loads(r["impact"]) if r["impact"] else {} for r in closed}
    for key in ("n_candidates", "pass_rate", "pass_rate_at_pass_mark"):
        summary[key] = [shown.get(n, {}).get(key) for n in summary["round"]]
    summary[["pass_rate", "pass_rate_at_pass_mark"]] = summary[["pass_rate", "pass_rate_at_pass_mark"]].astype(float)
    if totals is None:
        totals = decided_totals(store, w["program_id"], w["rubric_version"])
    ok = totals["must_meet_ok"].to_numpy(dtype=bool)
    final = comparison = None
    if closed:
        final = ss.angoff_cut(done[done["round"] == closed_numbers[-1]][["panellist", "criterion", "level"]], rubric)
        comparison = ss.compare_with_pass_mark(final, rubric.pass_rule.pass_mark, totals=totals["total"],
                                               must_meet_ok=ok)
    return WorkshopResult(workshop=w, rubric=rubric, panellists=panel, ratings=long[["round", "panellist",
                                                                                     "criterion", "level"]],
                          rounds=summary, final=final, comparison=comparison,
                          impact_curve=ss.impact_table(totals["total"], must_meet_ok=ok),
                          adoption=dict(adoption) if adoption else None, status=pass_mark_status(store, w["program_id"]),
                          open_round=next((r["number"] for r in rounds if r["closed_at"] is None), None))


def latest_result(store: Store, program_id: str, rubric_version: str | None = None,
                  totals: pd.DataFrame | None = None) -> WorkshopResult | None:
    """The most recent closed workshop of the program (on ``rubric_version`` when given, else on any version);
    None when there is none. ``totals`` as :func:`workshop_result` (used only for a workshop on
    ``rubric_version``)."""
    w = standard_setting_workshops
    query = (sa.select(w.c.id).where(w.c.program_id == program_id, w.c.state == "closed")
             .order_by(w.c.held_on.desc(), w.c.id.desc()).limit(1))
    if rubric_version is not None:
        query = query.where(w.c.rubric_version == rubric_version)
    with store.read() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else workshop_result(store, found, totals if rubric_version else None)


# --- adopting a pass mark ----------------------------------------------------------------------------------------

_PASS_RULE = re.compile(r"^pass_rule:[ \t]*(#.*)?$")
_PASS_MARK = re.compile(r"^(?P<indent>[ \t]+)pass_mark:[ \t]*(?P<value>[^\s#,}]+)(?P<rest>.*)$")


def rubric_with_pass_mark(rubric: Rubric, pass_mark: float, comment: str = "") -> Rubric:
    """The rubric with ``pass_rule.pass_mark`` replaced: its YAML edited in place (comments and layout kept, a
    comment line above the pass mark when given), parsed and validated; everything but the pass mark is unchanged.

    Examples
    --------
    >>> from evalkit.instruments.programs import load_programs
    >>> from evalkit.instruments.rubric import load_rubric
    >>> old = load_rubric(load_programs()["CCOM"].rubric_path)
    >>> new = rubric_with_pass_mark(old, 72.5, "set by workshop 1")
    >>> new.pass_rule.pass_mark, new.version != old.version, new.criteria == old.criteria
    (72.5, True, True)
    >>> "  # set by workshop 1\\n  pass_mark: 72.5\\n" in new.source
    True
    """
    mark = float(pass_mark)
    if not 0 < mark <= 100:
        raise WorkshopError(f"pass mark {show(pass_mark)} is not a percentage between 0 and 100")
    value = f"{mark:g}"
    lines = rubric.source.splitlines(keepends=True)
    edited = None
    for k, line in enumerate(lines):
        if _PASS_RULE.match(line.rstrip("\r\n")):
            for j in range(k + 1, len(lines)):
                text = lines[j].rstrip("\r\n")
                if text and not text[0].isspace() and not text.startswith("#"):
                    break
                m = _PASS_MARK.match(text)
                if m:
                    ending = lines[j][len(text):]
                    note = f"{m['indent']}# {one_line(comment)}{ending}" if comment else ""
                    edited = lines[:j] + [note, f"{m['indent']}pass_mark: {value}{m['rest']}{ending}"] + lines[j + 1:]
                    break
            break
    if edited is not None:
        text = "".join(edited)
    else:  # a pass rule written in flow style: rewrite the YAML (comments are lost, the content is the same)
        data = yaml.safe_load(rubric.source)
        data["pass_rule"]["pass_mark"] = mark
        text = (f"# {one_line(comment)}\n" if comment else "") + yaml.safe_dump(data, sort_keys=False,
                                                                                 allow_unicode=True)
    try:
        new = parse_rubric(text, f"<rubric {rubric.id} with pass mark {value}>")
    except RubricError as exc:
        raise WorkshopError(f"the rubric with pass mark {value} does not validate: {exc.problems[0]}") from None
    if new.pass_rule.pass_mark != mark or new.criteria != rubric.criteria or new.tolerance != rubric.tolerance \
            or new.pass_rule.must_meet != rubric.pass_rule.must_meet or new.title != rubric.title:
        raise WorkshopError(f"rubric {rubric.id}: replacing the pass mark changed more than the pass mark")
    return new


def adopt_pass_mark(store: Store, workshop_id: int, pass_mark: float | None = None, reason: str = "",
                    actor: str = "admin", today: dt.date | None = None) -> dict:
    """Write a closed workshop's result into its program as a new pass mark: a new rubric version (see the module
    docstring). An admin's act (on PostgreSQL only admins may).

    Parameters
    ----------
    workshop_id : int
    pass_mark : float, optional
        The pass mark adopted (total %); default: the recommended cut rounded to one decimal.
    reason : str
        Why (e.g. the certification board's minute); recorded with the change.
    today : date, optional
        The day it takes effect (default today): submissions received from then on are under the new version.

    Returns
    -------
    dict
        The ``pass_mark_changes`` record, and ``open_on_old``: submissions still being scored under the old
        version (they keep it).
    """
    today = today or dt.date.today()
    actor = store.person or actor  # on PostgreSQL a person's own session names them, whatever is passed
    with store.read() as conn:
        w = _workshop(conn, workshop_id)
        already = conn.execute(sa.select(pass_mark_changes.c.id, pass_mark_changes.c.new_pass_mark)
                               .where(pass_mark_changes.c.workshop_id == workshop_id)).first()
    if w["state"] != "closed":
        raise WorkshopError(f"workshop {workshop_id} is {w['state']}; close it before adopting its result")
    if already is not None:
        raise WorkshopError(f"workshop {workshop_id}'s result was adopted already (change {already[0]}, pass mark "
                            f"{already[1]:g}%)")
    current = workflow.rubric_version_of(store, w["program_id"])
    if current != w["rubric_version"]:
        raise WorkshopError(f"program {w['program_id']}'s rubric is now version {current}, not the version "
                            f"{w['rubric_version']} the panel rated; hold a workshop on the current rubric")
    old = workflow.rubric_for(store, current)
    mark = round(float(w["recommended_cut"]), 1) if pass_mark is None else pass_mark
    if isinstance(mark, bool) or not isinstance(mark, (int, float, np.integer, np.floating)) \
            or not math.isfinite(mark) or not 0 < mark <= 100:
        raise WorkshopError(f"pass mark {show(pass_mark)} is not a percentage between 0 and 100")
    mark = float(mark)
    if mark == old.pass_rule.pass_mark:
        raise WorkshopError(f"program {w['program_id']}'s pass mark is {mark:g}% already; nothing to adopt")
    note = (f"pass mark {mark:g} (was {old.pass_rule.pass_mark:g}) from {ss.METHOD} workshop {workshop_id} held "
            f"{w['held_on']} (recommended cut {w['recommended_cut']:.2f}), adopted {today} by {actor}")
    new = rubric_with_pass_mark(old, mark, note)
    reason = reason.strip() if isinstance(reason, str) else ""
    now = utcnow()
    with store.transaction(actor) as tx:
        row = tx.get(programs, {"id": w["program_id"]})
        definition = json.loads(row["definition"])
        if definition.get("rubric_version") != current:  # changed since it was read
            raise WorkshopError(f"program {w['program_id']}'s rubric changed meanwhile; try again")
        tx.insert_if_absent(rubric_versions, {"version": new.version, "rubric_id": new.id, "title": new.title,
                                              "source": new.source, "registered_at": now}, action="adopt_pass_mark")
        change = tx.insert(pass_mark_changes, {
            "program_id": w["program_id"], "workshop_id": workshop_id, "from_version": current,
            "to_version": new.version, "old_pass_mark": old.pass_rule.pass_mark, "new_pass_mark": mark,
            "effective_from": today, "reason": reason or f"result of {ss.METHOD} workshop {workshop_id}",
            "adopted_by": actor, "adopted_at": now}, action="adopt_pass_mark")
        definition["rubric_version"] = new.version
        definition["pass_mark_change"] = change["id"]
        tx.update(programs, {"id": w["program_id"]}, {"definition": json.dumps(definition)}, action="adopt_pass_mark")
        open_on_old = tx.execute(sa.select(sa.func.count()).select_from(submissions).where(
            submissions.c.program_id == w["program_id"], submissions.c.rubric_version == current,
            submissions.c.state.in_(("received", "scoring", "adjudication")))).scalar()
    store.cache.clear()
    return {**change, "open_on_old": int(open_on_old)}


def pass_mark_history(store: Store, program_id: str | None = None) -> pd.DataFrame:
    """Every adopted pass mark (oldest first): the ``pass_mark_changes`` records."""
    query = sa.select(pass_mark_changes).order_by(pass_mark_changes.c.id)
    if program_id is not None:
        query = query.where(pass_mark_changes.c.program_id == program_id)
    with store.read() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all(),
                            columns=[c.name for c in pass_mark_changes.columns])


def pass_mark_status(store: Store, program_id: str) -> dict:
    """The program's pass mark in force now and where it comes from.

    Returns
    -------
    dict
        ``rubric_version`` and ``pass_mark`` in force, ``last_change`` (the last adoption's record or None),
        ``in_force`` (the last adopted version is the one in force; True when there is none) and ``note``.
    """
    version = workflow.rubric_version_of(store, program_id)
    mark = workflow.rubric_for(store, version).pass_rule.pass_mark
    history = pass_mark_history(store, program_id)
    last = history.iloc[-1].to_dict() if len(history) else None
    in_force = last is None or last["to_version"] == version
    if last is None:
        note = f"pass mark {mark:g}% from the rubric file (rubric version {version}); none adopted from a workshop"
    elif in_force:
        note = (f"pass mark {mark:g}% adopted from workshop {last['workshop_id']} on {last['effective_from']} "
                f"(rubric version {version})")
    else:
        note = (f"pass mark {mark:g}% (rubric version {version}): the pass mark {last['new_pass_mark']:g}% adopted "
                f"from workshop {last['workshop_id']} is no longer in force (the rubric file was synced again); put "
                "adopted_rubric_text into the rubric file and its pass mark into programs.yaml, then sync")
    return {"rubric_version": version, "pass_mark": mark, "last_change": last, "in_force": in_force, "note": note}


def adopted_rubric_text(store: Store, change_id: int) -> str:
    """The YAML of the rubric version an adoption made: what to write into the program's rubric file (and its
    pass mark into programs.yaml) so that ``evalkit sync`` keeps the program on it."""
    with store.read() as conn:
        to = conn.execute(sa.select(pass_mark_changes.c.to_version).where(pass_mark_changes.c.id == change_id)).scalar()
        if to is None:
            raise WorkshopError(f"no pass mark change {change_id}")
        return conn.execute(sa.select(rubric_versions.c.source).where(rubric_versions.c.version == to)).scalar()


# --- the demo --------------------------------------------------------------------------------------------------

_PANEL = [("Dana Alvarez", "lead SME, contact-centre director"), ("Sam Brooks", "SME, operations manager"),
          ("Lin Chen", "SME, workforce management"), ("Awa Diallo", "SME, quality manager"),
          ("Kit Evans", "certified CCOM, site manager"), ("Omar Farah", "employer representative")]

MCC = ("A minimally competent operations manager assesses their centre with its own data, names the two or three "
       "changes that matter most and plans them with owners, dates and measures; the plan is sound if not "
       "polished.")


def build_demo_workshop(store: Store, program_id: str = "CCOM", seed: int = 2026, held_on: dt.date | None = None,
                        actor: str = "psy.moreau") -> int:
    """A completed two-round modified-Angoff workshop on the program's current rubric (six panellists; round 2
    moves towards the panel after the impact data), closed and not adopted. Returns its id."""
    rng = random.Random(seed)
    held_on = held_on or dt.date.today() - dt.timedelta(days=30)
    rubric = workflow.rubric_for(store, workflow.rubric_version_of(store, program_id))
    wid = create_workshop(store, program_id, f"{program_id} pass mark review", held_on, "psy.moreau", MCC, _PANEL,
                          actor=actor)
    lean = {name: rng.gauss(0, 0.35) for name, _ in _PANEL}
    first = {}
    for name, _ in _PANEL:
        first[name] = {c.id: min(max(round(2 * (c.meets_standard - 0.1 + lean[name] + rng.gauss(0, 0.3))) / 2,
                                     c.scores[0]), c.scores[-1]) for c in rubric.criteria}
        record_ratings(store, wid, name, first[name], actor=actor)
    close_round(store, wid, actor=actor)
    open_round(store, wid, actor=actor)
    panel_mean = {c.id: sum(first[n][c.id] for n in first) / len(first) for c in rubric.criteria}
    for name, _ in _PANEL:  # halfway to the panel's mean, to the nearest half level
        record_ratings(store, wid, name, {cid: round(first[name][cid] + panel_mean[cid]) / 2 for cid in panel_mean},
                       actor=actor)
    close_round(store, wid, actor=actor)
    close_workshop(store, wid, actor=actor)
    return wid
