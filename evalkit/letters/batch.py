"""Result letters: one papermill run of ``notebooks/templates/result_letter.ipynb`` per decided submission.

:func:`run_batch` (and ``evalkit letters``) picks the decided submissions that have no letter yet, runs the
template once per letter on warm kernels (:mod:`evalkit.letters.engine`, one kernel per worker process
(:mod:`evalkit.letters.worker`), reset and verified between letters), keeps each executed notebook as the record of
what was computed, exports the letter to HTML (nbconvert's letter template, which loads nothing and shows no code;
:mod:`evalkit.letters.page`) and optionally to PDF (WeasyPrint), and records the notification in the store once the
letter's files are completely written. A manifest (CSV and JSON) in the output folder lists every letter with its
files and their SHA-256; each letter's row is appended as it is done.

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
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import re
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
from . import worker
from .content import letter_content, letter_refusal, render_letter_html
from .page import CONTENT_MIMETYPE, export_html, export_pdf, letter_output
from .worker import CELL_TIMEOUT

#: The letter of an executed template (its data and HTML); kept here under its former name.
_letter_output = letter_output

__all__ = ["TEMPLATE", "LetterJob", "BatchResult", "plan_batch", "run_batch", "export_html", "export_pdf",
           "letter_content", "render_letter_html", "MANIFEST_FIELDS", "CONTENT_MIMETYPE", "CELL_TIMEOUT"]

#: The papermill template of the result letter.
TEMPLATE = Path(__file__).resolve().parents[2] / "notebooks" / "templates" / "result_letter.ipynb"

#: Letters handed to a worker at a time, at most (fewer in a small batch, so that every worker gets some): the
#: kernel runs the next while the worker writes one's files; the manifest and the progress follow a chunk at a time.
CHUNK = 8

MANIFEST_FIELDS = ("submission", "candidate", "candidate_id", "program", "attempt", "result", "issue_date",
                   "due_on", "late", "status", "seconds", "files", "sha256", "error", "emailed")


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
    rubric_version: str | None = None

    def for_worker(self) -> dict:
        """What a worker process needs to produce the letter (plain values: workers do not import this module)."""
        return {"submission": self.submission, "stem": self.stem, "issue_date": self.issue_date.isoformat()}


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
                       notifications.c.files, notifications.c.late, decisions.c.decided_on,
                       submissions.c.rubric_version)
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
        # without ``only`` the query kept decided and notified submissions only, none a benchmark: none is refused
        refusal = letter_refusal(store, sid) if only is not None else None
        if refusal:
            not_done.append(_row(sid, row, status="refused", error=refusal))
            continue
        job = LetterJob(sid, row["external_id"], row["program_id"], row["attempt"], as_date(row["due_on"], "due"),
                        issue_date, _stem(sid, row["external_id"]), rubric_version=row["rubric_version"])
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
            try:
                manifest.append(not_done)
                rows, stats = _run_jobs(store, planned, str(workspace), out, pdf, jobs, template, progress,
                                        manifest, actor, stage or (lambda message: None))
            finally:
                manifest.close()
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
          "(the first letters take a few seconds, the next ones a fraction of a second each)")
    rows: list[dict] = []
    kernels: dict[int, dict] = {}
    # Each kernel's warm-up produces one letter of every rubric version in the batch, so that no letter meets a
    # rubric (or imports a module) its kernel has not seen: that would change the kernel's state and replace it.
    samples = {}
    for job in planned:
        samples.setdefault((job.program, job.rubric_version), (job.submission, job.issue_date.isoformat()))
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(n_workers, mp_context=context, initializer=worker.init,
                                initargs=(str(template), workspace, str(out), pdf, os.getpid(),
                                          list(samples.values()))) as pool:
        # A worker is handed a few letters at a time: while it writes one letter's files, its kernel runs the next.
        size = max(1, min(CHUNK, total // (4 * n_workers)))
        chunks = [planned[i:i + size] for i in range(0, total, size)]
        futures = {pool.submit(worker.produce, [job.for_worker() for job in chunk]): chunk for chunk in chunks}
        try:
            for future in cf.as_completed(futures):
                chunk = futures[future]
                try:
                    produced = future.result()
                except Exception as exc:  # the worker process itself died
                    produced = [{"status": "failed", "files": [], "error": worker.one_line(exc), "seconds": None}
                                for _ in chunk]
                for job, letter in zip(chunk, produced):
                    if "kernel" in letter:
                        kernels[letter["kernel"]["pid"]] = letter["kernel"]
                    row = _finish(store, job, letter, out, actor)
                    rows.append(row)
                    manifest.append([row])
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
        row.update(status="failed", error=f"letter written but not recorded: {worker.one_line(exc)}")
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

    While a batch runs, each letter's row is appended to both files as it is done, at a cost that does not grow with
    the batch (rewriting both files for every letter made a batch quadratic); a submission may then have two rows,
    and the later one counts (as :meth:`load` reads them). :meth:`close` writes both files anew with one row per
    submission. Both files stay valid whatever moment the batch is killed at: each append is one ``write`` that
    lies within one page of the file (a write that crosses a page boundary is the only kind a kill can cut in
    two), into whitespace the JSON array keeps before its closing brackets (grown, when full, by writing the file
    anew and renaming it into place, which doubles the room); a CSV line that would cross a page boundary is
    moved past it with empty lines, which CSV readers skip.
    """

    #: The unit within which a write cannot be cut by a kill (Linux copies a write to the page cache page by page
    #: and checks for a fatal signal only between pages).
    PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    #: Room reserved for rows in the JSON file at least (bytes of whitespace before the closing brackets).
    ROOM = 64 * 1024
    _CLOSE = b"\n]}\n"

    def __init__(self, out: Path, store: Store):
        self.out = out
        self.rows: dict[int, dict] = self.load(out)
        self._recover(store)
        self._json = self._csv = None
        self._open()

    @staticmethod
    def load(out: Path) -> dict[int, dict]:
        """The rows of an output folder's ``manifest.json`` by submission (a later row of a submission counts)."""
        path = out / "manifest.json"
        if not path.exists():
            return {}
        try:
            return {int(r["submission"]): r for r in json.loads(path.read_text("utf-8"))["letters"]}
        except (ValueError, KeyError, TypeError):
            raise workflow.WorkflowError(f"{path} is not a letters manifest; move it away and run again") from None

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

    # --- the files ---------------------------------------------------------------------------------------

    def _json_text(self, room: int) -> tuple[bytes, int]:
        """The JSON file with one row per submission and ``room`` bytes of whitespace before its closing brackets;
        and where the next row goes."""
        rows = [json.dumps(_jsonable(self.rows[k]), ensure_ascii=False) for k in sorted(self.rows)]
        head = json.dumps({"generated_at": dt.datetime.now().isoformat(timespec="seconds")})[:-1]
        body = (head + ', "letters": [' + ("\n" + ",\n".join(rows) if rows else "")).encode("utf-8")
        return body + b" " * room + self._CLOSE, len(body)

    def _csv_text(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        for k in sorted(self.rows):
            writer.writerow(_csv_row(self.rows[k]))
        return buffer.getvalue().encode("utf-8")

    def _open(self, room: int | None = None) -> None:
        """Write both files anew (one row per submission), with room in the JSON file, and keep them open."""
        self._close_files()
        text, self._json_at = self._json_text(max(self.ROOM, room or 0))
        self._json_end = len(text) - len(self._CLOSE)  # where the room ends
        self._json_rows = len(self.rows)
        outputs.write_private(self.out / "manifest.json", text)
        data = self._csv_text()
        outputs.write_private(self.out / "manifest.csv", data)
        self._csv_at = len(data)
        self._json = os.open(self.out / "manifest.json", os.O_WRONLY)
        self._csv = os.open(self.out / "manifest.csv", os.O_WRONLY)

    def _close_files(self) -> None:
        for fd in (self._json, self._csv):
            if fd is not None:
                os.close(fd)
        self._json = self._csv = None

    def _page_fit(self, at: int, size: int) -> int:
        """Where a write of ``size`` bytes (at most a page) starting at ``at`` or later lies within one page: ``at``
        itself if it fits, else the next page boundary."""
        if at // self.PAGE == (at + size - 1) // self.PAGE:
            return at
        return (at // self.PAGE + 1) * self.PAGE

    def append(self, rows: Iterable[dict]) -> None:
        """Add rows (a ``skipped`` row does not replace an earlier one) to both files, each in one write."""
        for row in rows:
            if row["status"] == "skipped" and row["submission"] in self.rows:
                continue
            self.rows[row["submission"]] = row
            json_row = (",\n" if self._json_rows else "\n").encode() + \
                json.dumps(_jsonable(row), ensure_ascii=False).encode("utf-8")
            buffer = io.StringIO()
            csv.DictWriter(buffer, MANIFEST_FIELDS, lineterminator="\n").writerow(_csv_row(row))
            csv_row = buffer.getvalue().encode("utf-8")
            json_at = self._page_fit(self._json_at, len(json_row))
            if max(len(json_row), len(csv_row)) > self.PAGE or json_at + len(json_row) > self._json_end:
                # a row longer than a page, or no room left: both files anew (with the row), with twice the room
                self._open(room=2 * self._json_end)
                continue
            os.pwrite(self._json, json_row, json_at)
            self._json_at = json_at + len(json_row)
            self._json_rows += 1
            csv_at = self._page_fit(self._csv_at, len(csv_row))
            if csv_at > self._csv_at:  # empty lines up to the page boundary: one write within the last page
                os.pwrite(self._csv, b"\n" * (csv_at - self._csv_at), self._csv_at)
            os.pwrite(self._csv, csv_row, csv_at)
            self._csv_at = csv_at + len(csv_row)

    def close(self) -> None:
        """Write both files anew with one row per submission and nothing else (at the end of a batch)."""
        self._close_files()
        text, _ = self._json_text(0)
        outputs.write_private(self.out / "manifest.json", text)
        outputs.write_private(self.out / "manifest.csv", self._csv_text())


def _csv_row(row: dict) -> dict:
    return {**{k: _csv_value(row.get(k)) for k in MANIFEST_FIELDS},
            "files": ";".join(f["path"] for f in row.get("files") or []),
            "sha256": ";".join(f["sha256"] for f in row.get("files") or [])}


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
