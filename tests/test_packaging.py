"""The project's set-up files agree with each other and with what the README tells a user to run."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_pins_exactly_the_pyproject_requirements():
    project = _pyproject()["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    assert sorted(p for p in pip_section if not p.startswith("-e")) == sorted(wanted)
    assert "-e ." in pip_section


def test_every_requirement_is_pinned():
    project = _pyproject()["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", req), req


def test_installed_versions_match_the_pins():
    from importlib.metadata import version
    for req in _pyproject()["project"]["dependencies"]:
        name, pinned = req.split("==")
        assert version(name.split("[")[0]) == pinned, name


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["bash scripts/test.sh"]
    assert "bash scripts/test.sh" in readme and "bash scripts/workbench.sh" in readme


def test_generated_things_are_ignored_by_git():
    for path in (".venv/x", "workspace/evalkit.db", "letters/a.html", "evalkit.egg-info/PKG-INFO",
                 "test-artifacts/shot.png"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert done.returncode == 0, f"{path} is not ignored"


def test_console_command_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "evalkit.cli", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0
    for command in ("init", "rubric", "submissions", "assign", "status"):
        assert command in out.stdout


def test_the_lock_pins_every_requirement_at_the_pyproject_version():
    # requirements/lock.txt is what scripts/bootstrap.sh installs; it is made from pyproject.toml by
    # scripts/lock.sh, and must be remade when a pin changes.
    locked = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (ROOT / "requirements" / "lock.txt").read_text(), re.M))
    locked = {name.lower().replace("_", "-"): v for name, v in locked.items()}
    project = _pyproject()["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, pinned = req.split("==")
        assert locked.get(name.split("[")[0].lower().replace("_", "-")) == pinned, req
    assert "--hash=sha256:" in (ROOT / "requirements" / "lock.txt").read_text()
