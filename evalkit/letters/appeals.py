"""Letters about an appeal: its acknowledgement and its outcome, on the program's certifying body's letterhead.

:func:`appeal_letter_content` gathers what the letter states; :func:`write_appeal_letter` writes it as HTML and
PDF, records that it went out (the acknowledgement, or the outcome) and queues it by e-mail to the candidate where
their address is known, all in one transaction after the files are in place: a letter is recorded once or not at
all.
"""
from __future__ import annotations

import datetime as dt
import html
import sqlalchemy as sa

from .. import outputs
from ..calendar import as_date
from ..delivery.outbox import enqueue
from ..evaluation import appeals, workflow
from ..store import Store, decisions, submissions
from ..templates import environment
from .page import export_pdf
from .content import _HELPERS, _issuer, _paragraphs

__all__ = ["appeal_letter_content", "render_appeal_letter", "write_appeal_letter", "next_letter"]


def next_letter(row: dict) -> str | None:
    """Which letter an appeal needs next: ``acknowledgement``, ``outcome``, or None."""
    if row["acknowledged_on"] is None:
        return "acknowledgement"
    if row["outcome"] is not None and row["outcome_notified_on"] is None:
        return "outcome"
    return None


def appeal_letter_content(store: Store, appeal_id: int, kind: str, issue_date) -> dict:
    """What the ``kind`` letter (acknowledgement or outcome) of an appeal states, as plain data."""
    row = appeals.appeal(store, appeal_id)
    if kind not in ("acknowledgement", "outcome"):
        raise workflow.WorkflowError(f"letter {kind!r}: expected acknowledgement or outcome")
    if kind == "outcome" and row["outcome"] is None:
        raise workflow.WorkflowError(f"appeal {appeal_id} is not decided yet: no outcome letter")
    sub = workflow.submission_record(store, row["submission_id"])
    prog = workflow.program(store, sub["program_id"])
    with store.read() as conn:
        decided_on = conn.execute(sa.select(decisions.c.decided_on)
                                  .where(decisions.c.submission_id == sub["id"])).scalar()
        again = conn.execute(sa.select(submissions.c.due_on)
                             .where(submissions.c.id == row["reevaluation_id"])).scalar() \
            if row["reevaluation_id"] else None
    return {**_issuer(store, prog), "kind": kind, "issue_date": as_date(issue_date, "letter date"),
            "confidentiality": store.get_setting("confidentiality") or "",
            "candidate": {"name": f"{sub['first_name']} {sub['last_name']}", "external_id": sub["candidate_external_id"],
                          "email": sub["email"] or "", "organisation": ""},
            "program": {"id": prog.id, "name": prog.name,
                        "work_product": prog.work_product.name if prog.work_product else "work product"},
            "appeal": row, "decided_on": as_date(decided_on), "grounds": _paragraphs(row["grounds"]),
            "reasons": _paragraphs(row["outcome_reason"] or ""), "reevaluation_due": as_date(again) if again else None}


def render_appeal_letter(content: dict) -> str:
    """The letter as an HTML fragment; every value escaped."""
    return environment(True).get_template("appeal_letter.html.j2", globals=_HELPERS).render(c=content)


def _page(title: str, fragment: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'</head><body>{fragment}</body></html>\n')


def write_appeal_letter(store: Store, appeal_id: int, out_dir, issue_date=None, actor: str = "admin") -> dict:
    """Write the appeal's next letter (HTML and PDF) to ``out_dir``, record it, and queue it by e-mail to the
    candidate if their address is known. Returns ``{kind, files, queued}``; refused when no letter is due."""
    issue_date = as_date(issue_date or dt.date.today(), "letter date", workflow.WorkflowError)
    kind = next_letter(appeals.appeal(store, appeal_id))
    if kind is None:
        raise workflow.WorkflowError(f"appeal {appeal_id} needs no letter now (acknowledged, and its outcome is "
                                     "either undecided or already sent)")
    content = appeal_letter_content(store, appeal_id, kind, issue_date)
    folder = outputs.output_folder(out_dir, "appeal letters")
    stem = f"appeal{appeal_id:05d}_{kind}"
    page = _page(f"Appeal {appeal_id}: {kind}", render_appeal_letter(content))
    files = []
    for name, data in ((f"{stem}.html", page), (f"{stem}.pdf", export_pdf(page))):
        files.append({"path": str(folder / name), "sha256": outputs.write_private(folder / name, data)})
    record = appeals.mark_acknowledged if kind == "acknowledgement" else appeals.mark_outcome_notified
    with store.transaction(actor) as tx:
        record(tx, appeal_id, issue_date)
        queued = None
        if content["candidate"]["email"]:
            subject = (f"{content['organisation']}: your appeal no. {appeal_id} "
                       f"{'has been received' if kind == 'acknowledgement' else '- outcome'}")
            queued = enqueue(tx, "appeal_letter", content["candidate"]["email"], subject,
                             f"Dear {content['candidate']['name']},\n\nPlease find attached our letter about your "
                             f"appeal no. {appeal_id}.\n\n{content['signatory']['name']}\n{content['organisation']}\n",
                             [folder / f"{stem}.pdf"], ref=f"appeal:{appeal_id}")["id"]
    return {"kind": kind, "files": files, "queued": queued}
