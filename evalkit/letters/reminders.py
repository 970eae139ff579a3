"""Recertification reminders: a letter to each certified person whose certificate expires within the reminder
window, produced by the papermill template ``notebooks/templates/reminder_letter.ipynb`` on the same warm kernel
machinery as the result letters (:mod:`evalkit.letters.engine`).

:func:`due_for_reminder` lists the valid certificates that expire within the window (default: each program's
``recertification_notice_days``, 90) and have had no reminder for their present expiry date. :func:`run_reminders`
runs the template once per certificate on one warm kernel, keeps the executed notebook as the record, exports the
letter to HTML and PDF (files written to temporary names and renamed into place), then in one transaction records a
``remind`` event on the certificate and queues the letter by e-mail to the holder: a run killed at any point and run
again reminds each person once. Reminders are few (those due in a day), so one kernel serves them in turn.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from .. import outputs
from ..calendar import as_date
from ..certification import certificates as certs
from ..certification.results import ResultError
from ..delivery.outbox import enqueue
from ..evaluation import workflow
from ..instruments.programs import add_years
from ..store import Store, candidates, certificate_events, open_store
from ..templates import environment
from .page import export_html, export_pdf, letter_output as _letter_output
from .worker import CELL_TIMEOUT
from .content import _HELPERS, _issuer, _jsonable, CONTENT_MIMETYPE

__all__ = ["TEMPLATE", "due_for_reminder", "reminder_content", "render_reminder_html", "show_reminder",
           "run_reminders"]

#: The papermill template of the reminder.
TEMPLATE = Path(__file__).resolve().parents[2] / "notebooks" / "templates" / "reminder_letter.ipynb"


def due_for_reminder(store: Store, today: dt.date | None = None, window_days: int | None = None) -> list[dict]:
    """The valid certificates expiring within ``window_days`` of ``today`` (default: the program's notice days)
    that have had no reminder for their present expiry date, soonest first."""
    today = today or dt.date.today()
    with store.read() as conn:
        reminded = {(cid, as_date(until)) for cid, until in conn.execute(
            sa.select(certificate_events.c.certificate_id, certificate_events.c.valid_until)
            .where(certificate_events.c.event == "remind"))}
    due = []
    for cert in certs.certificates(store, state="valid", today=today):
        notice = window_days if window_days is not None else \
            workflow.program(store, cert["program_id"]).recertification_notice_days
        until = as_date(cert["valid_until"])
        if (until - today).days <= notice and (cert["id"], until) not in reminded:
            due.append(cert)
    return sorted(due, key=lambda c: (c["valid_until"], c["number"]))


def reminder_content(store: Store, number_or_code, issue_date) -> dict:
    """What the reminder of a certificate states, as plain data."""
    cert = certs.certificate(store, number_or_code)
    prog = workflow.program(store, cert["program_id"])
    with store.read() as conn:
        email = conn.execute(sa.select(candidates.c.email).where(candidates.c.id == cert["candidate_id"])).scalar()
    until = as_date(cert["valid_until"])
    return {**_issuer(store, prog), "title": f"Recertification reminder: {cert['name']} ({cert['number']})",
            "confidentiality": store.get_setting("confidentiality") or "",
            "issue_date": as_date(issue_date, "letter date"), "number": cert["number"], "code": cert["code"],
            "designation": prog.name, "program": {"id": prog.id, "name": prog.name},
            "candidate": {"name": cert["name"], "external_id": cert.get("candidate", ""), "email": email or "",
                          "organisation": ""},
            "valid_until": until, "recertification_years": prog.recertification_years,
            "renewed_until": add_years(until, prog.recertification_years)}


def render_reminder_html(content: dict) -> str:
    """The reminder as an HTML fragment; every value escaped."""
    return environment(True).get_template("reminder_letter.html.j2", globals=_HELPERS).render(c=content)


def show_reminder(workspace=None, certificate=None, issue_date=None) -> None:
    """Display a certificate's reminder in a notebook (the HTML, with its content as data): the papermill
    template's whole work. Run by hand, the defaults preview the first reminder due."""
    from IPython.display import display

    store = open_store(workspace or os.environ.get("EVALKIT_WORKSPACE") or "workspace")
    try:
        if certificate is None:
            due = due_for_reminder(store)
            if not due:
                display({"text/plain": "No certificate is due for a recertification reminder."}, raw=True)
                return
            certificate = due[0]["number"]
        content = reminder_content(store, certificate, issue_date or dt.date.today())
    finally:
        store.dispose()
    display({"text/html": render_reminder_html(content), CONTENT_MIMETYPE: _jsonable(content)}, raw=True)


def warm_up(workspace) -> None:
    """Preview (and throw away) the first reminder due, so that a warm kernel has imported and read what a reminder
    needs before its baseline is taken (see :mod:`evalkit.letters.engine`). Never raises."""
    with contextlib.suppress(Exception):
        show_reminder(workspace)


def run_reminders(workspace, out, *, issue_date=None, window_days: int | None = None, pdf: bool = True,
                  actor: str = "admin", progress: Callable[[int, int, dict], None] | None = None) -> list[dict]:
    """Produce, record and queue the reminders due (:func:`due_for_reminder`); returns a row per reminder with its
    ``status`` (issued or failed), ``files`` and ``emailed`` (the outbox id, or None without an address)."""
    import papermill

    from .engine import WarmKernel

    issue_date = as_date(issue_date or dt.date.today(), "letter date", ResultError)
    store = open_store(workspace)
    if store.workspace is not None and "://" not in str(workspace):
        workspace = store.workspace.resolve()
    folder = outputs.output_folder(out, "reminders")
    rows: list[dict] = []
    try:
        with store.exclusive("letters"):
            outputs.remove_stale_temporaries(folder)
            due = due_for_reminder(store, issue_date, window_days)
            if not due:
                return rows
            # the warm-up previews the first reminder due, so that what a reminder imports and reads is there
            warm_up = f"from evalkit.letters.reminders import warm_up as _w\n_w({str(workspace)!r})\ndel _w"
            kernel = WarmKernel(preload=["evalkit.letters.reminders", "IPython.display"], warm_up_code=warm_up)
            try:
                for cert in due:
                    rows.append(_one(store, kernel, papermill, str(workspace), folder, cert, issue_date, pdf, actor))
                    if progress:
                        progress(len(rows), len(due), rows[-1])
            finally:
                kernel.shutdown()
    finally:
        store.dispose()
    return rows


def _one(store, kernel, papermill, workspace: str, folder: Path, cert: dict, issue_date: dt.date, pdf: bool,
         actor: str) -> dict:
    stem = f"reminder_{cert['number']}_{issue_date.isoformat()}"
    executed = outputs.temporary_name(folder / stem, ".ipynb")
    row = {"certificate": cert["number"], "name": cert["name"], "valid_until": cert["valid_until"],
           "status": "failed", "files": [], "emailed": None, "error": None}
    try:
        nb = papermill.execute_notebook(
            str(TEMPLATE), str(executed),
            parameters={"workspace": workspace, "certificate": cert["number"], "issue_date": issue_date.isoformat()},
            engine_name="evalkit_warm", warm_kernel=kernel, kernel_name="python3", progress_bar=False,
            request_save_on_cell_execute=False, execution_timeout=CELL_TIMEOUT)
        content, _ = _letter_output(nb)
        page = export_html(nb)
        files = {".html": page.encode("utf-8"), **({".pdf": export_pdf(page)} if pdf else {})}
        for suffix, data in files.items():
            path = folder / f"{stem}{suffix}"
            row["files"].append({"path": str(path), "sha256": outputs.write_private(path, data)})
        os.replace(executed, folder / f"{stem}.ipynb")
        letter = Path(row["files"][-1]["path"])
        with store.transaction(actor) as tx:
            certs.mark_reminded(tx, cert["number"], issue_date, letter, row["files"][-1]["sha256"])
            if content["candidate"]["email"]:
                row["emailed"] = enqueue(
                    tx, "reminder", content["candidate"]["email"],
                    f"{content['organisation']}: your {content['designation']} certification expires "
                    f"{content['valid_until']}",
                    f"Dear {content['candidate']['name']},\n\nYour certificate {cert['number']} is valid until "
                    f"{content['valid_until']}. Please find attached our reminder to recertify.\n\n"
                    f"{content['organisation']}\n", [letter], ref=f"certificate:{cert['number']}")["id"]
        row["status"] = "issued"
    except Exception as exc:  # one reminder's failure is reported; the others go on
        row["error"] = " ".join(str(exc).split())[:300] or type(exc).__name__
    finally:
        with contextlib.suppress(FileNotFoundError):
            executed.unlink()
    return row
