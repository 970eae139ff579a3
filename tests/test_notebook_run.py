"""Running a notebook on a warm kernel (evalkit.letters.execute): the record is what nbclient and papermill write,
a failing cell stops the run as nbclient would, a dead or hung kernel is retired."""
from __future__ import annotations

import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from evalkit.letters.engine import WarmKernel


@pytest.fixture(scope="module")
def kernel():
    with WarmKernel() as kernel:
        yield kernel


def notebook(*sources):
    return new_notebook(cells=[new_markdown_cell("# title"), *(new_code_cell(s) for s in sources)])


def test_outputs_counts_and_metadata_are_recorded_as_nbclient_and_papermill_do(kernel):
    nb = kernel.run(notebook(
        "print('a', end='')\nprint('b')\nimport sys; print('e', file=sys.stderr)",
        "from IPython.display import display, HTML, clear_output\n"
        "h = display(HTML('<i>one</i>'), display_id=True)\nh.update(HTML('<b>two</b>'))",
        "clear_output()\nprint('after clear')",
        "",  # an empty cell is not run
        "40 + 2"))
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, None, 4]
    # consecutive writes to one stream make one output; another stream another
    assert [(o.output_type, o.name, o.text) for o in code[0].outputs] == [
        ("stream", "stdout", "ab\n"), ("stream", "stderr", "e\n")]
    assert code[1].outputs[0].data["text/html"] == "<b>two</b>"  # the display was updated in place
    assert [o.text for o in code[2].outputs] == ["after clear\n"]
    assert code[4].outputs[0].output_type == "execute_result" and code[4].outputs[0].data["text/plain"] == "42"
    for cell in code[:3] + code[4:]:
        assert cell.metadata.papermill["status"] == "completed" and cell.metadata.papermill["exception"] is False
        assert cell.metadata.papermill["duration"] >= 0
        assert {"iopub.status.busy", "iopub.execute_input", "shell.execute_reply", "iopub.status.idle"} <= \
            set(cell.metadata.execution)
    assert nb.metadata.papermill["duration"] > 0 and nb.metadata.papermill["exception"] is None
    assert nb.metadata.language_info["name"] == "python"
    assert kernel.retire_reason is None  # printing and displaying change nothing the next notebook sees


def test_a_failing_cell_stops_the_run_and_retires_the_kernel(kernel):
    nb = kernel.run(notebook("x = 1", "1 / 0", "x = 2"))
    ok, failed, after = (c for c in nb.cells if c.cell_type == "code")
    assert ok.metadata.papermill["status"] == "completed"
    assert failed.metadata.papermill["status"] == "failed" and failed.metadata.papermill["exception"] is True
    assert failed.outputs[0].output_type == "error" and failed.outputs[0].ename == "ZeroDivisionError"
    # the cell after the failure was not run, as nbclient would not have sent it
    assert after.execution_count is None and after.outputs == [] and after.metadata.papermill["status"] == "pending"
    assert nb.metadata.papermill["exception"] is True
    assert kernel.retire_reason == "a cell failed"
    # the next notebook gets a new kernel, numbered from 1
    starts = kernel.starts
    nb = kernel.run(notebook("'x' in globals()"))
    assert kernel.starts == starts + 1 and nb.cells[1].outputs[0].data["text/plain"] == "False"


def test_a_cell_past_its_time_or_a_dead_kernel_raises_and_retires_the_kernel(kernel):
    with pytest.raises(CellTimeoutError):
        kernel.run(notebook("import time; time.sleep(5)"), timeout=1)
    assert kernel.retire_reason == "CellTimeoutError"
    with pytest.raises(DeadKernelError):
        kernel.run(notebook("import os; os._exit(1)"))
    assert kernel.retire_reason == "the kernel died"
    nb = kernel.run(notebook("1 + 1"))
    assert nb.cells[1].outputs[0].data["text/plain"] == "2" and kernel.retire_reason is None
