"""A letters batch's worker process: one warm kernel, letters in turn (see :mod:`evalkit.letters.batch`).

A worker runs the template on its kernel (:mod:`evalkit.letters.engine`), exports the letter's page (and PDF) and
writes the files; the parent records the notifications. It imports only what that takes (papermill, nbformat, the
engine, :mod:`evalkit.letters.page`), not the database layer: with its kernel booting meanwhile, a worker is ready
in about as long as the kernel takes.

The worker runs papermill's own steps (parameterise, record the metadata, execute on the warm kernel, raise for
errors) on a copy of the template it read once, rather than :func:`papermill.execute_notebook`, which reads and
validates the template again for every notebook and serialises the executed notebook even when not asked to
write it. The record is papermill's, except that its ``output_path`` is the record's final name.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .. import outputs
from .page import export_html, export_pdf, letter_output

#: Seconds allowed for one cell of a letter before the letter fails (and its kernel is replaced).
CELL_TIMEOUT = 120

_worker: dict = {}


def _watch_parent(parent: int, kernel) -> None:
    """A worker outlives a killed batch by at most half a second: it kills its kernel and exits."""
    while os.getppid() == parent:
        time.sleep(0.5)
    kernel.kill_now()
    os._exit(1)


def _skip_iri_grammar() -> None:
    """jsonschema imports ``rfc3987_syntax`` if it is installed (it comes with JupyterLab), which builds a grammar
    for about a second, for an ``iri`` format that no notebook schema uses. A worker process, which only validates
    notebooks, does without it (jsonschema treats it as not installed)."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def init(template: str, workspace: str, out: str, pdf: bool, parent: int, samples: list) -> None:
    """Set up a worker process: its warm kernel (booting while the worker imports papermill), the template."""
    from multiprocessing.util import Finalize

    _skip_iri_grammar()
    from .engine import WarmKernel

    os.umask(0o077)  # letters are confidential: owner-only files
    # Ctrl-C is the batch's to handle: it stops handing out letters and lets each worker finish the letters it was handed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the warm-up produces a letter of each rubric version in the batch: ``samples`` are (submission, issue date)
    warm_up = f"from evalkit.letters.content import warm_up as _w\n_w({workspace!r}, {list(samples)!r})\ndel _w"
    kernel = WarmKernel(preload=["evalkit.letters.content", "IPython.display"], warm_up_code=warm_up)
    Finalize(kernel, kernel.shutdown, exitpriority=10)  # worker processes skip atexit handlers
    threading.Thread(target=_watch_parent, args=(parent, kernel), daemon=True).start()
    kernel.launch()  # the kernel boots while this process imports papermill

    from papermill.iorw import load_notebook_node

    nb = load_notebook_node(template)
    _worker.update(template=json.dumps(nb), template_path=template, workspace=workspace, out=Path(out), pdf=pdf,
                   kernel=kernel)


def _send(job: dict) -> dict:
    """The template with the letter's parameters, sent to the worker's kernel (papermill's own steps: parameterise,
    record the metadata). Returns the letter in flight: its ``run`` to wait for, or the ``error`` of sending it."""
    import nbformat
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.parameterize import parameterize_notebook

    record = _worker["out"] / f"{job['stem']}.ipynb"
    letter = {"job": job, "record": record, "started": time.perf_counter(), "nb": None, "run": None, "error": None}
    try:
        nb = nbformat.from_dict(json.loads(_worker["template"]))
        nb = parameterize_notebook(nb, {"workspace": _worker["workspace"], "submission_id": job["submission"],
                                        "issue_date": job["issue_date"]}, kernel_name="python3",
                                   engine_name="evalkit_warm")
        letter["nb"] = remove_error_markers(prepare_notebook_metadata(nb, _worker["template_path"], str(record)))
        letter["run"] = _worker["kernel"].start(letter["nb"], CELL_TIMEOUT)
    except Exception as exc:  # the kernel could not be started: this letter fails, the next one tries again
        letter["error"] = exc
    return letter


def _wait(letter: dict) -> None:
    """Wait for a letter in flight: its notebook executed (``nb``), or its ``error`` (papermill's
    ``PapermillExecutionError`` for a failed cell, marked in the notebook as papermill marks it)."""
    from papermill.execute import raise_for_execution_errors

    if letter["error"] is not None:
        return
    try:
        letter["nb"] = letter["run"].finish()
        raise_for_execution_errors(letter["nb"], None)
    except Exception as exc:
        letter["error"] = exc


def one_line(exc: BaseException) -> str:
    """An exception as one line (a failed cell: its error name and message)."""
    if type(exc).__name__ == "PapermillExecutionError":  # not imported for this: the parent has no papermill
        text = f"{exc.ename}: {exc.evalue}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def produce(jobs: list[dict]) -> list[dict]:
    """Produce letters in turn (each ``job``: submission, stem, issue_date): run the template, export the letter,
    write its files. Each letter's cells go to the kernel as soon as the previous letter's have run and its reset
    found the kernel clean, so the kernel runs the next letter while this process writes the previous one's files.

    Never raises: a failed letter's row has status ``failed`` and its error; its notebook is kept in ``failed/``.
    """
    rows = []
    letter = _send(jobs[0]) if jobs else None
    for i in range(len(jobs)):
        _wait(letter)
        following = _send(jobs[i + 1]) if i + 1 < len(jobs) else None
        rows.append(_write(letter))
        letter = following
    return rows


def _write(letter: dict) -> dict:
    """A letter's files (the page, the PDF, the executed notebook last), or its failure; its manifest row."""
    import nbformat

    job, record, nb, out = letter["job"], letter["record"], letter["nb"], _worker["out"]
    kernel = _worker["kernel"]
    row = {"submission": job["submission"], "status": "failed", "files": [], "error": None, "result": None,
           "candidate": None}
    try:
        if letter["error"] is not None:
            raise letter["error"]
        content, _ = letter_output(nb)
        page = export_html(nb)
        files = {".html": page.encode("utf-8")}
        if _worker["pdf"]:
            files[".pdf"] = export_pdf(page)
        written = []
        for suffix, data in files.items():
            path = out / f"{job['stem']}{suffix}"
            written.append({"path": path.name, "sha256": outputs.write_private(path, data)})
        # the record comes last: its files are on disk before it is
        written.insert(0, {"path": record.name, "sha256": outputs.write_private(record, nbformat.writes(nb))})
        with contextlib.suppress(FileNotFoundError):
            (out / "failed" / f"{job['stem']}.ipynb").unlink()
        row.update(status="done", files=written, result=content["result"], candidate=content["candidate"]["name"])
    except Exception as exc:  # a failed letter is reported; the batch goes on
        row["error"] = one_line(exc)
        if nb is not None:
            with contextlib.suppress(Exception):
                (out / "failed").mkdir(mode=0o700, exist_ok=True)
                outputs.write_private(out / "failed" / f"{job['stem']}.ipynb", nbformat.writes(nb))
    row["seconds"] = round(time.perf_counter() - letter["started"], 3)
    row["kernel"] = {"pid": os.getpid(), "kernel_starts": kernel.starts, "letters": kernel.runs,
                     "retirements": list(kernel.retirements)}
    return row
