"""The layout's import rules (pyproject.toml [tool.importlinter], docs/architecture.md) hold, and break loudly.

Imports run one way (cli and widgets -> domain packages -> store, instruments, templates, calendar), there are
no cycles, only ``evalkit.cli`` imports argparse and only ``evalkit.widgets`` imports ipywidgets.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()", "--no-cache"]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the evalkit under cwd, not the installed one
    return subprocess.run([*LINT], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_every_import_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert result.stdout.count(" KEPT") == 5


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("layout")
    shutil.copytree(ROOT / "evalkit", target / "evalkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target)
    return target


# Each case adds one module that breaks one rule; the linter must name the broken contract.
BREAKS = {
    "domain imports the CLI": ("evaluation/probe.py", "from ..cli import common\n",
                               "Imports run one way: interfaces -> domain packages -> foundations BROKEN"),
    "store imports a domain package": ("store/probe.py", "from ..evaluation import workflow\n",
                                       "Imports run one way: interfaces -> domain packages -> foundations BROKEN"),
    "argparse outside the CLI": ("letters/probe.py", "import argparse\n", "Only evalkit.cli parses arguments BROKEN"),
    "ipywidgets outside the widgets": ("psychometrics/probe.py", "import ipywidgets\n",
                                       "Only evalkit.widgets builds widgets BROKEN"),
    "a domain module uses a re-exporting path": ("evaluation/probe.py", "from .. import rubric\n",
                                                 "for users, not for evalkit's own modules BROKEN"),
    "a cycle inside a package": ("evaluation/probe.py", "from . import probe_two\n",
                                 "No import cycles, between packages or between the modules of one BROKEN"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_broken_rule_is_named(tree_copy, case):
    relative, source, expected = BREAKS[case]
    probe = tree_copy / "evalkit" / relative
    extra = []
    if "probe_two" in source:  # probe -> probe_two -> probe
        extra.append(probe.with_name("probe_two.py"))
        extra[0].write_text("from . import probe\n")
    probe.write_text(source)
    try:
        result = _lint(tree_copy)
    finally:
        for path in [probe, *extra]:
            path.unlink()
    assert result.returncode == 1, result.stdout
    assert expected in result.stdout, result.stdout
