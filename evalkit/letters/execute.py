"""Run a notebook's code cells on a :class:`~evalkit.letters.engine.WarmKernel`, as nbclient would, for less.

nbclient (under papermill) sends a cell, waits for all its messages, then sends the next. Here every code cell's
execute request is sent at once, the last one carrying the kernel's reset as a user expression (IPython evaluates
it after the cell's code, in the same request): the kernel runs them in order and stops at the first failing cell
(``stop_on_error``: the requests after it are aborted, as nbclient would not have sent them), and the notebook
costs the kernel one request per cell and nothing more.

The record is what nbclient and papermill write: each cell's outputs (consecutive streams joined, display updates
applied), its ``execution_count``, ``metadata.execution`` (the kernel's message times) and ``metadata.papermill``
(status, start, end, duration, exception), and the notebook's ``metadata.papermill`` times. A dead kernel raises
:class:`nbclient.exceptions.DeadKernelError`, a cell that runs past ``timeout`` seconds
:class:`nbclient.exceptions.CellTimeoutError`; either leaves the kernel retired.
"""
from __future__ import annotations

import datetime as dt
import queue
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import output_from_msg

__all__ = ["start_notebook", "Run", "code_cells"]

#: Seconds between checks that the kernel is alive while waiting for it.
_POLL = 1.0


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _stamp(msg: dict) -> str:
    date = msg["header"]["date"]
    return date.isoformat().replace("+00:00", "Z") if isinstance(date, dt.datetime) else str(date)


def code_cells(nb, skip=()) -> list[int]:
    """The indices of the cells to run: code cells with code, except those in ``skip``."""
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()
            and i not in skip]


def _start_metadata(nb, run: list[int]) -> None:
    """papermill's metadata at the start: every cell pending, code cells without outputs or count."""
    nb.metadata.setdefault("papermill", {}).update(start_time=_now(), end_time=None, duration=None, exception=None)
    for i, cell in enumerate(nb.cells):
        cell.metadata["papermill"] = {"exception": None, "start_time": None, "end_time": None, "duration": None,
                                      "status": "pending" if i in run else "completed"}
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = []


def start_notebook(kernel, nb, skip=(), timeout: float | None = None) -> "Run":
    """Send a notebook's code cells to a warm kernel, the reset riding on the last; :meth:`Run.finish` waits for them.

    The kernel runs them while the caller does other work (the previous letter's files). ``finish`` returns the
    notebook, executed in place. A failed cell does not raise: its error is in its outputs, as papermill's
    ``raise_for_execution_errors`` expects, and the kernel is retired. A dead kernel raises
    :class:`~nbclient.exceptions.DeadKernelError`, a cell running past ``timeout``
    :class:`~nbclient.exceptions.CellTimeoutError`; either retires the kernel.

    Parameters
    ----------
    kernel : WarmKernel
        A kernel that is ready (:meth:`WarmKernel.ensure_ready`) and has no notebook running.
    nb : NotebookNode
        The (parameterised) notebook; its cells get their outputs and metadata in place.
    skip : set of int
        Indices of code cells not to run (papermill's ``parameters`` cell that the injected cell overrides).
    timeout : float, optional
        Seconds a cell may run (None: no limit).
    """
    return Run(kernel, nb, skip, timeout)


class Run:
    """A notebook's execute requests, sent (:func:`start_notebook`); :meth:`finish` fills the notebook in from the
    kernel's messages and takes the reset's verdict."""

    def __init__(self, kernel, nb, skip=(), timeout: float | None = None):
        self.kernel, self.nb, self.timeout = kernel, nb, timeout
        self.order = code_cells(nb, skip)
        _start_metadata(nb, self.order)
        kc = kernel.kc
        # the reset rides on the last cell's request (evaluated after its code): one request fewer per notebook
        reset = {"reset": kernel.RESET_EXPRESSION}
        self.requests = [kc.execute(nb.cells[i].source, store_history=True, allow_stdin=False, stop_on_error=True,
                                    user_expressions=reset if i == self.order[-1] else None)
                         for i in self.order]
        if not self.requests:
            self.requests = [kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                        user_expressions=reset)]
        self.reset_reply: dict | None = None
        self.started = time.perf_counter()
        self.failed = False

    # --- receiving -------------------------------------------------------------------------------------------

    async def _message(self, get, msg_id: str, deadline: float | None) -> dict:
        """The next message on a channel (``get``) answering ``msg_id``; others (earlier notebooks') are dropped."""
        while True:
            wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if wait <= 0:
                raise CellTimeoutError(f"a cell ran for more than {self.timeout} s")
            try:
                msg = await get(timeout=wait)
            except queue.Empty:
                if not await self.kernel.km.is_alive():
                    raise DeadKernelError("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _cell(self, index: int, msg_id: str) -> None:
        cell, kc = self.nb.cells[index], self.kernel.kc
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        cell.metadata.papermill.update(start_time=_now(), status="running", exception=False)
        timing = cell.metadata.setdefault("execution", {})
        reply = await self._message(kc.get_shell_msg, msg_id, deadline)
        status = reply["content"]["status"]
        if status == "aborted":  # an earlier cell failed: this one was not run
            cell.metadata.papermill.update(start_time=None, status="pending", exception=None)
            cell.metadata.pop("execution")
            return
        timing["shell.execute_reply"] = _stamp(reply)
        if msg_id == self.requests[-1] and status == "ok":
            self.reset_reply = reply["content"].get("user_expressions", {}).get("reset")
        cell.execution_count = reply["content"].get("execution_count")
        displays: dict[str, list] = {}
        clear_pending = False
        while True:
            msg = await self._message(kc.get_iopub_msg, msg_id, deadline)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status":
                timing[f"iopub.status.{content['execution_state']}"] = _stamp(msg)
                if content["execution_state"] == "idle":
                    break
                continue
            if kind == "execute_input":
                timing["iopub.execute_input"] = _stamp(msg)
                continue
            if kind == "clear_output":
                if content.get("wait"):
                    clear_pending = True
                else:
                    cell.outputs, displays = [], {}
                continue
            if kind == "update_display_data":
                for output in displays.get(content.get("transient", {}).get("display_id"), []):
                    output.data, output.metadata = content["data"], content.get("metadata", {})
                continue
            if kind not in ("stream", "display_data", "execute_result", "error"):
                continue
            if clear_pending:
                cell.outputs, displays, clear_pending = [], {}, False
            output = output_from_msg(msg)
            last = cell.outputs[-1] if cell.outputs else None
            if kind == "stream" and last is not None and last.output_type == "stream" and last.name == output.name:
                last.text += output.text
                continue
            cell.outputs.append(output)
            display_id = content.get("transient", {}).get("display_id")
            if display_id:
                displays.setdefault(display_id, []).append(output)
        end = _now()
        cell.metadata.papermill.update(end_time=end, duration=round(
            (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(cell.metadata.papermill["start_time"]))
            .total_seconds(), 6))
        if status == "error":
            cell.metadata.papermill.update(status="failed", exception=True)
            self.nb.metadata.papermill["exception"] = self.failed = True
        else:
            cell.metadata.papermill["status"] = "completed"

    async def _receive(self) -> None:
        try:
            if not self.order:
                self.reset_reply = (await self._message(self.kernel.kc.get_shell_msg, self.requests[0], None)
                                    )["content"].get("user_expressions", {}).get("reset")
            for index, msg_id in zip(self.order, self.requests):
                await self._cell(index, msg_id)
        finally:
            self.nb.metadata["language_info"] = self.kernel.language_info
            papermill = self.nb.metadata.papermill
            papermill["end_time"] = _now()
            papermill["duration"] = round(time.perf_counter() - self.started, 6)

    def finish(self):
        """Wait for the cells; returns the notebook (see :func:`start_notebook`)."""
        try:
            run_sync(self._receive)()
        except BaseException as exc:
            self.kernel.retire("the kernel died" if isinstance(exc, DeadKernelError) else type(exc).__name__)
            raise
        self.kernel.after_notebook(self.failed, self.reset_reply)
        return self.nb
