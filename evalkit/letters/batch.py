"""Result letters: one papermill run of ``notebooks/templates/result_letter.ipynb`` per decided submission.

:func:`run_batch` (and ``evalkit letters``) picks the decided submissions that have no letter yet, runs the
template once per letter on warm kernels (:mod:`evalkit.letters.engine`, one kernel per worker process, reset and
verified between letters), keeps each executed notebook as the record of what was computed, exports the letter to HTML
(nbconvert in-process, a template that loads nothing and shows no code) and optionally to PDF (WeasyPrint), and
records the notification in the store once the letter's files are completely written. A manifest (CSV and JSON)
in the output folder lists every letter with its files and their SHA-256.

Guarantees:

* a letter's files are written to temporary names and renamed into place; the notification is recorded after
  that, in one transaction. A batch killed at any point and run again ends with each letter issued once;
* a letter that fails (bad data, a dead kernel) is reported with its error; the others go on;
* re-running skips letters already issued. ``force`` re-issues the files of already notified submissions with
  their original issue date and leaves the notification record (date, late flag, files and hashes as first
  issued) untouched: the manifest marks them ``reissued`` and says whether the files are identical to the
  recorded ones;
* one batch at a time per output folder (a lock file).

Output folder layout: ``<stem>.ipynb`` (the executed notebook), ``<stem>.html``, ``<stem>.pdf``, where
``<stem>`` is ``<submission id>_<candidate id>``; ``failed/<stem>.ipynb`` keeps the notebook of a failed run
until the letter succeeds; ``manifest.csv``, ``manifest.json``.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import multiprocessing
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import sqlalchemy as sa

from .. import outputs
from ..calendar import as_date
from ..delivery.outbox import DeliveryError, enqueue
from ..evaluation import workflow
from ..store import Store, candidates, decisions, notifications, open_store, submissions
from ..templates import TEMPLATES_DIR
from .content import CONTENT_MIMETYPE, letter_content, letter_refusal, render_letter_html

__all__ = ["TEMPLATE", "LetterJob", "BatchResult", "plan_batch", "run_batch", "export_html", "export_pdf",
           "letter_content", "render_letter_html", "MANIFEST_FIELDS"]

#: The papermill template of the result letter.
TEMPLATE = Path(__file__).resolve().parents[2] / "notebooks" / "templates" / "result_letter.ipynb"

MANIFEST_FIELDS = ("submission", "candidate", "candidate_id", "program", "attempt", "result", "issue_date",
                   "due_on", "late", "status", "seconds", "files", "sha256", "error", "emailed")

#: Seconds allowed for one cell of a letter before the letter fails (and its kernel is replaced).
CELL_TIMEOUT = 120


# --- planning ----------------------------------------------------------------------------------------------


@dataclass
class LetterJob:
    """One letter to produce: what the worker needs, and what the manifest says about it."""
    submission: int
    candidate_id: str
    program: str
    attempt: int
    due_on: dt.date
    issue_date: dt.date
    stem: str
    reissue: bool = False
    recorded_files: list = field(default_factory=list)  # for a re-issue: the files as first issued


def _stem(submission_id: int, external_id: str) -> str:
    return f"{submission_id:05d}_" + (re.sub(r"[^A-Za-z0-9._-]+", "-", external_id).strip("-.") or "candidate")


def plan_batch(store: Store, issue_date=None, program: str | None = None, only: Iterable[int] | None = None,
               force: bool = False) -> tuple[list[LetterJob], list[dict]]:
    """Which letters to produce, and which requested submissions are refused or skipped (with the reason).

    Without ``only``: every decided submission (benchmark submissions aside) of ``program`` or of all programs;
    with ``force`` also every notified one (re-issued). With ``only``: those submissions; an undecided one, one in
    adjudication, a benchmark or unknown one is refused, a notified one is skipped unless ``force``. A submission
    decided after ``issue_date`` is refused.

    Returns
    -------
    jobs : list of LetterJob
    not_done : list of dict
        Manifest rows with status ``refused`` or ``skipped`` and the reason in ``error``.
    """
    issue_date = as_date(issue_date or dt.date.today(), "issue date")
    if issue_date > dt.date.today():
        raise ValueError(f"issue date {issue_date} is in the future")
    if program is not None:
        workflow.program(store, program)  # unknown program: one-line error
    query = (sa.select(submissions.c.id, submissions.c.state, submissions.c.program_id, submissions.c.attempt,
                       submissions.c.due_on, submissions.c.is_benchmark, candidates.c.external_id,
                       candidates.c.first_name, candidates.c.last_name, notifications.c.issued_on,
                       notifications.c.files, notifications.c.late, decisions.c.decided_on)
             .join(candidates, candidates.c.id == submissions.c.candidate_id)
             .outerjoin(notifications, notifications.c.submission_id == submissions.c.id)
             .outerjoin(decisions, decisions.c.submission_id == submissions.c.id)
             .order_by(submissions.c.id))
    if program is not None:
        query = query.where(submissions.c.program_id == program)
    if only is not None:
        only = sorted({int(i) for i in only})
        query = query.where(submissions.c.id.in_(only))
    else:
        states = ("decided", "notified") if force else ("decided",)
        query = query.where(submissions.c.state.in_(states), submissions.c.is_benchmark.is_(False))
    with store.read() as conn:
        rows = {r["id"]: dict(r) for r in conn.execute(query).mappings()}
    jobs, not_done = [], []
    for sid in (only if only is not None else list(rows)):
        row = rows.get(sid)
        if row is None:
            reason = (f"submission {sid} is not in program {program}" if program is not None
                      and letter_refusal(store, sid) is None else letter_refusal(store, sid))
            not_done.append(_row(sid, status="refused", error=reason))
            continue
        refusal = letter_refusal(store, sid)
        if refusal:
            not_done.append(_row(sid, row, status="refused", error=refusal))
            continue
        job = LetterJob(sid, row["external_id"], row["program_id"], row["attempt"], as_date(row["due_on"], "due"),
                        issue_date, _stem(sid, row["external_id"]))
        if row["state"] == "notified":
            issued = as_date(row["issued_on"], "issued")
            if not force:
                not_done.append(_row(sid, row, status="skipped", late=row["late"], issue_date=issued,
                                     error=f"already notified on {issued}; --force re-issues its files"))
                continue
            job.reissue, job.issue_date = True, issued
            job.recorded_files = json.loads(row["files"] or "[]")
        elif row["decided_on"] is not None and issue_date < as_date(row["decided_on"], "decided"):
            not_done.append(_row(sid, row, status="refused", error=f"issue date {issue_date} is before the decision "
                                                                   f"of submission {sid} on {row['decided_on']}"))
            continue
        jobs.append(job)
    return jobs, not_done


def _row(sid: int, row: dict | None = None, **values) -> dict:
    out = {k: None for k in MANIFEST_FIELDS}
    out.update(submission=sid, files=[])
    if row:
        out.update(candidate=f"{row['first_name']} {row['last_name']}", candidate_id=row["external_id"],
                   program=row["program_id"], attempt=row["attempt"], due_on=row["due_on"])
    out.update(values)
    return out


# --- export ------------------------------------------------------------------------------------------------

_exporter = None


def _letter_output(nb) -> tuple[dict, str]:
    """The letter's data and HTML from an executed template (the output carrying the letter mimetype)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result") and \
                    CONTENT_MIMETYPE in output.get("data", {}):
                return output["data"][CONTENT_MIMETYPE], output["data"]["text/html"]
    raise ValueError("the executed template displayed no letter (expected an output with "
                     f"{CONTENT_MIMETYPE}; does it call evalkit.letters.content.show_letter?)")


def export_html(nb) -> str:
    """The letter of an executed template as a standalone HTML page (no code, nothing loaded from elsewhere)."""
    global _exporter
    import jinja2
    import nbformat
    from nbconvert.exporters import TemplateExporter

    if _exporter is None:
        _exporter = TemplateExporter(extra_loaders=[jinja2.FileSystemLoader(TEMPLATES_DIR)],
                                     template_file="nbconvert_letter.html.j2")
        _exporter.file_extension = ".html"
    content, letter = _letter_output(nb)
    only_letter = nbformat.v4.new_notebook(metadata=nb.metadata)
    only_letter.cells = [nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": letter})])]
    title = content.get("title") or (f"Result letter: {content['candidate']['name']} ({content['program']['id']}, "
                                     f"submission {content['submission']})")
    body, _ = _exporter.from_notebook_node(only_letter, resources={"letter_title": title})
    return body


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"letters load nothing from elsewhere (refused {url[:80]})")


def export_pdf(page_html: str) -> bytes:
    """The letter page as PDF (WeasyPrint; any URL in the page is refused rather than fetched)."""
    import weasyprint

    return weasyprint.HTML(string=page_html, url_fetcher=_no_fetch).write_pdf()


# --- worker processes --------------------------------------------------------------------------------------

_worker: dict = {}


def _watch_parent(parent: int, kernel) -> None:
    """A worker outlives a killed batch by at most half a second: it kills its kernel and exits."""
    while os.getppid() == parent:
        time.sleep(0.5)
    kernel.kill_now()
    os._exit(1)


def _worker_init(template: str, workspace: str, out: str, pdf: bool, parent: int) -> None:
    from multiprocessing.util import Finalize

    from .engine import WarmKernel

    os.umask(0o077)  # letters are confidential: owner-only files
    # Ctrl-C is the batch's to handle: it stops handing out letters and lets each worker finish the one it is on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up = f"from evalkit.letters.content import warm_up as _w\n_w({workspace!r})\ndel _w"
    kernel = WarmKernel(preload=["evalkit.letters.content", "IPython.display"], warm_up_code=warm_up)
    Finalize(kernel, kernel.shutdown, exitpriority=10)  # worker processes skip atexit handlers
    threading.Thread(target=_watch_parent, args=(parent, kernel), daemon=True).start()
    kernel.launch()  # the kernel boots while this process imports papermill and nbconvert

    import nbconvert.exporters  # noqa: F401
    import nbformat
    import papermill  # noqa: F401

    _worker.update(template=nbformat.read(template, as_version=4), workspace=workspace, out=Path(out), pdf=pdf,
                   kernel=kernel)


def _one_line(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        text = f"{exc.ename}: {exc.evalue}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _produce(job: LetterJob) -> dict:
    """In a worker: run the template for one letter, export it, write its files. Never raises."""
    import papermill

    started = time.perf_counter()
    out: Path = _worker["out"]
    executed = outputs.temporary_name(out / job.stem, ".ipynb")  # papermill wants the .ipynb suffix
    row = {"submission": job.submission, "status": "failed", "files": [], "error": None, "result": None,
           "candidate": None}
    try:
        nb = papermill.execute_notebook(
            _worker["template"], str(executed),
            parameters={"workspace": _worker["workspace"], "submission_id": job.submission,
                        "issue_date": job.issue_date.isoformat()},
            engine_name="evalkit_warm", warm_kernel=_worker["kernel"], kernel_name="python3",
            progress_bar=False, request_save_on_cell_execute=False, execution_timeout=CELL_TIMEOUT)
        content, _ = _letter_output(nb)
        page = export_html(nb)
        files = {".html": page.encode("utf-8")}
        if _worker["pdf"]:
            files[".pdf"] = export_pdf(page)
        written = []
        for suffix, data in files.items():
            path = out / f"{job.stem}{suffix}"
            written.append({"path": path.name, "sha256": outputs.write_private(path, data)})
        with open(executed, "rb") as f:  # written by papermill: on disk before it becomes the record
            data = f.read()
            os.fsync(f.fileno())
        record = out / f"{job.stem}.ipynb"
        os.replace(executed, record)
        written.insert(0, {"path": record.name, "sha256": hashlib.sha256(data).hexdigest()})
        with contextlib.suppress(FileNotFoundError):
            (out / "failed" / f"{job.stem}.ipynb").unlink()
        row.update(status="done", files=written, result=content["result"], candidate=content["candidate"]["name"])
    except Exception as exc:  # a failed letter is reported; the batch goes on
        row["error"] = _one_line(exc)
        if executed.exists():
            (out / "failed").mkdir(mode=0o700, exist_ok=True)
            os.replace(executed, out / "failed" / f"{job.stem}.ipynb")
    finally:
        with contextlib.suppress(FileNotFoundError):
            executed.unlink()
    row["seconds"] = round(time.perf_counter() - started, 3)
    kernel = _worker["kernel"]
    row["kernel"] = {"pid": os.getpid(), "kernel_starts": kernel.starts, "letters": kernel.runs,
                     "retirements": list(kernel.retirements)}
    return row


# --- the batch ---------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch did: one manifest row per submission considered, and where the manifest is."""
    rows: list[dict]
    out: Path
    seconds: float
    #: Per worker: kernels started, letters run, and why kernels were replaced (see :mod:`evalkit.letters.engine`).
    kernel_stats: list[dict] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def ok(self) -> bool:
        """True when nothing failed and nothing asked for was refused."""
        return not any(r["status"] in ("failed", "refused") for r in self.rows)

    @property
    def manifest(self) -> tuple[Path, Path]:
        return self.out / "manifest.csv", self.out / "manifest.json"


def default_out(store: Store) -> Path:
    """``letters/`` in the workspace folder; ``./letters`` for a database URL."""
    return (store.workspace / "letters") if store.workspace else Path("letters")


def run_batch(workspace, *, program: str | None = None, only: Iterable[int] | None = None, jobs: int | None = None,
              out=None, pdf: bool = False, dry_run: bool = False, force: bool = False, issue_date=None,
              progress: Callable[[int, int, dict], None] | None = None, template=None,
              actor: str = "admin", stage: Callable[[str], None] | None = None) -> BatchResult:
    """Produce the result letters of decided submissions and record the notifications.

    Parameters
    ----------
    workspace : str or Path
        Workspace folder or database URL.
    program : str, optional
        Only this program's submissions.
    only : iterable of int, optional
        Only these submission ids (undecided ones are refused with the reason).
    jobs : int, optional
        Worker processes, each with one warm kernel (default: the number of CPUs, at most 4, at most one per
        letter).
    out : str or Path, optional
        Output folder (default :func:`default_out`).
    pdf : bool
        Also export each letter to PDF.
    dry_run : bool
        Plan only: the manifest rows of what would be done (status ``planned``); nothing is written.
    force : bool
        Re-issue the files of already notified submissions (original issue date; notification record kept).
    issue_date : date or str, optional
        The date the letters bear and the notifications are recorded with (default today).
    progress : callable, optional
        Called as ``progress(done, total, row)`` after each letter.
    stage : callable, optional
        Called with a sentence saying what the batch is doing before the first letter is done (starting the
        workers and their kernels takes most of the first 10-20 s), so that no one waits in silence.
    template : str or Path, optional
        Another papermill template (default :data:`TEMPLATE`); it must call ``show_letter``.

    Returns
    -------
    BatchResult
    """
    started = time.perf_counter()
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs {jobs!r}: expected a whole number >= 1")
    template = Path(template or TEMPLATE)
    if not template.exists():
        raise FileNotFoundError(f"letter template {template} does not exist")
    store = open_store(workspace)
    if store.workspace is not None and "://" not in str(workspace):
        workspace = store.workspace.resolve()  # the kernels and the records get an absolute folder
    try:
        planned, not_done = plan_batch(store, issue_date, program, only, force)
        out = (Path(out) if out else default_out(store)).resolve()
        if dry_run:
            rows = not_done + [_planned_row(j) for j in planned]
            return BatchResult(sorted(rows, key=lambda r: r["submission"]), out, time.perf_counter() - started)
        outputs.output_folder(out, "letters")
        with store.exclusive("letters"):  # one batch per database, whatever its output folder
            outputs.remove_stale_temporaries(out)  # left by a batch killed mid-write; nothing of other programs
            manifest = _Manifest(out, store)
            manifest.update(not_done)
            rows, stats = _run_jobs(store, planned, str(workspace), out, pdf, jobs, template, progress, manifest,
                                    actor, stage or (lambda message: None))
            manifest.write()
        return BatchResult(sorted(not_done + rows, key=lambda r: r["submission"]), out,
                           time.perf_counter() - started, stats)
    finally:
        store.dispose()


def _planned_row(job: LetterJob) -> dict:
    return {**{k: None for k in MANIFEST_FIELDS}, "submission": job.submission, "candidate_id": job.candidate_id,
            "program": job.program, "attempt": job.attempt, "issue_date": job.issue_date, "due_on": job.due_on,
            "late": job.issue_date > job.due_on, "status": "planned", "files": []}


def _run_jobs(store, planned, workspace, out, pdf, jobs, template, progress, manifest, actor, stage):
    total = len(planned)
    if not total:
        return [], []
    n_workers = min(jobs or min(os.cpu_count() or 1, 4), total)
    stage(f"{total} letter(s) to issue; starting {n_workers} worker(s), each with a kernel of its own "
          "(the first letter takes 10-20 s, the next ones a fraction of a second)")
    rows: list[dict] = []
    kernels: dict[int, dict] = {}
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(n_workers, mp_context=context, initializer=_worker_init,
                                initargs=(str(template), workspace, str(out), pdf, os.getpid())) as pool:
        futures = {pool.submit(_produce, job): job for job in planned}
        try:
            for future in cf.as_completed(futures):
                job = futures[future]
                try:
                    produced = future.result()
                except Exception as exc:  # the worker process itself died
                    produced = {"status": "failed", "files": [], "error": _one_line(exc), "seconds": None}
                if "kernel" in produced:
                    kernels[produced["kernel"]["pid"]] = produced["kernel"]
                row = _finish(store, job, produced, out, actor)
                rows.append(row)
                manifest.update([row])
                manifest.write(throttle=True)
                if progress:
                    progress(len(rows), total, row)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return rows, list(kernels.values())


def _finish(store: Store, job: LetterJob, produced: dict, out: Path, actor: str) -> dict:
    """Record the notification of a letter whose files are written; returns its manifest row."""
    row = {**_planned_row(job), **{k: produced.get(k) for k in ("result", "candidate", "seconds", "error")},
           "files": produced.get("files", []), "status": produced["status"]}
    if row["status"] != "done":
        return row
    if job.reissue:
        # The letter page is compared; the notebook (timings) and the PDF (creation time) differ by nature.
        recorded = {Path(f["path"]).name: f.get("sha256") for f in job.recorded_files}
        page = next(f for f in row["files"] if f["path"].endswith(".html"))
        note = None
        if page["path"] not in recorded:
            note = "no letter page was recorded when it was first issued"
        elif recorded[page["path"]] != page["sha256"]:
            note = "the re-issued letter differs from the one recorded when it was first issued"
        row.update(status="reissued", late=job.issue_date > job.due_on, error=note)
        return row
    files = [{"path": str((out / f["path"]).resolve()), "sha256": f["sha256"]} for f in row["files"]]
    try:
        with store.transaction(actor) as tx:
            row["late"] = workflow.mark_notified(tx, store, job.submission, job.issue_date, files)
            row["emailed"] = _queue_email(tx, store, job, row, out)
        row["status"] = "issued"
    except (workflow.WorkflowError, DeliveryError, sa.exc.SQLAlchemyError) as exc:
        row.update(status="failed", error=f"letter written but not recorded: {_one_line(exc)}")
    return row


def _queue_email(tx, store: Store, job: LetterJob, row: dict, out: Path) -> int | None:
    """Queue the letter (its PDF, else its page) to the candidate's e-mail address, in the transaction that records
    the notification: both or neither. None where no address is on record."""
    email, first, last = tx.execute(sa.select(candidates.c.email, candidates.c.first_name, candidates.c.last_name)
                                    .where(candidates.c.external_id == job.candidate_id)).one()
    if not email:
        return None
    files = {Path(f["path"]).suffix: out / f["path"] for f in row["files"]}
    attachment = files.get(".pdf") or files[".html"]
    prog = workflow.program(store, job.program)
    body = prog.certifying_body.name if prog.certifying_body else prog.name
    work = prog.work_product.name if prog.work_product else "work product"
    return enqueue(tx, "result_letter", email, f"{body}: the result of your {work}",
                   f"Dear {first} {last},\n\nPlease find attached the result of the {work} you submitted for the "
                   f"{prog.name} designation.\n\n{body}\n", [attachment], ref=f"submission:{job.submission}")["id"]


# --- manifest ----------------------------------------------------------------------------------------------


class _Manifest:
    """``manifest.csv`` and ``manifest.json`` of an output folder: one row per submission, across batches.

    A row of this batch replaces the earlier row of its submission, except that a ``skipped`` row keeps an earlier
    row. Letters recorded in the store with files in this folder but missing from the manifest (a batch killed
    between recording and writing the manifest) get their row back from the notification record.
    """

    def __init__(self, out: Path, store: Store):
        self.out = out
        self.rows: dict[int, dict] = {}
        self._written = 0.0
        path = out / "manifest.json"
        if path.exists():
            try:
                self.rows = {int(r["submission"]): r for r in json.loads(path.read_text("utf-8"))["letters"]}
            except (ValueError, KeyError, TypeError):
                raise workflow.WorkflowError(f"{path} is not a letters manifest; move it away and run again") \
                    from None
        self._recover(store)

    def _recover(self, store: Store) -> None:
        folder = str(self.out.resolve()) + os.sep
        query = (sa.select(notifications, submissions.c.program_id, submissions.c.attempt, submissions.c.due_on,
                           candidates.c.external_id, candidates.c.first_name, candidates.c.last_name)
                 .join(submissions, submissions.c.id == notifications.c.submission_id)
                 .join(candidates, candidates.c.id == submissions.c.candidate_id))
        with store.read() as conn:
            for r in conn.execute(query).mappings():
                files = json.loads(r["files"] or "[]")
                if r["submission_id"] in self.rows or not files or not files[0]["path"].startswith(folder):
                    continue
                result = workflow.decided_result(store, r["submission_id"])
                self.rows[r["submission_id"]] = _row(
                    r["submission_id"], {**dict(r), "id": r["submission_id"]}, result=result["result"],
                    issue_date=r["issued_on"], late=r["late"], status="issued",
                    files=[{"path": Path(f["path"]).name, "sha256": f["sha256"]} for f in files])

    def update(self, rows: Iterable[dict]) -> None:
        for row in rows:
            if row["status"] == "skipped" and row["submission"] in self.rows:
                continue
            self.rows[row["submission"]] = row

    def write(self, throttle: bool = False) -> None:
        """Write both files atomically (with ``throttle``, at most once a second)."""
        if throttle and time.monotonic() - self._written < 1.0:
            return
        rows = [self.rows[k] for k in sorted(self.rows)]
        doc = {"generated_at": dt.datetime.now().isoformat(timespec="seconds"), "letters": [_jsonable(r) for r in rows]}
        outputs.write_private(self.out / "manifest.json", json.dumps(doc, indent=1, ensure_ascii=False))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({**{k: _csv_value(r.get(k)) for k in MANIFEST_FIELDS},
                             "files": ";".join(f["path"] for f in r.get("files") or []),
                             "sha256": ";".join(f["sha256"] for f in r.get("files") or [])})
        outputs.write_private(self.out / "manifest.csv", buffer.getvalue())
        self._written = time.monotonic()


def _jsonable(row: dict) -> dict:
    out = {}
    for k in MANIFEST_FIELDS:
        v = row.get(k)
        out[k] = v.isoformat() if isinstance(v, dt.date) else v
    out.pop("sha256")  # in JSON each file carries its own hash
    return out


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return outputs.csv_text(value)  # a name typed as "=HYPERLINK(...)" stays text in a spreadsheet
