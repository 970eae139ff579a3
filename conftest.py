"""Root conftest: the notebooks under nbval read $EVALKIT_WORKSPACE; give them a throw-away demo workspace."""
import os
import shutil
import tempfile
from pathlib import Path


def pytest_configure(config):
    if os.environ.get("EVALKIT_WORKSPACE") or not _collects_notebooks(config):
        return
    from evalkit.demo import build_demo

    folder = Path(tempfile.mkdtemp(prefix="evalkit-nbval-"))
    build_demo(folder / "ws")
    os.environ["EVALKIT_WORKSPACE"] = str(folder / "ws")  # inherited by the kernels nbval starts
    config._evalkit_nbval_folder = folder


def pytest_unconfigure(config):
    folder = getattr(config, "_evalkit_nbval_folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("EVALKIT_WORKSPACE", None)


def _collects_notebooks(config) -> bool:
    return bool(config.getoption("nbval_lax", False) or config.getoption("nbval", False))
