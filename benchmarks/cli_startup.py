"""CLI start-up: ``evalkit --help`` and ``evalkit status`` on the demo, beside the interpreter and library floors.

Builds the demo workspace in a temporary folder (``evalkit init --demo``), then runs each command in a fresh
interpreter, interleaved round by round so that all see the same load, and prints the median and best wall time
of each with the machine's load:

* ``python -c pass``: the interpreter alone;
* ``import sqlalchemy, numpy, yaml``: the libraries ``evalkit status`` needs (its floor);
* ``evalkit --help`` (``python -m evalkit.cli --help``): every command listed, nothing of theirs imported;
* ``evalkit status -w demo``;
* with ``--before REV``: ``evalkit --help`` of an earlier revision (``git archive`` into a temporary folder), the
  reference the figures improve on.

Targets: ``--help`` under 0.3 s, ``status`` under 1 s. Run: ``.venv/bin/python benchmarks/cli_startup.py [--runs 7]
[--before REV]``. Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def wall(argv: list[str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--before", metavar="REV", help="also time `evalkit --help` of this git revision")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
    py = sys.executable
    try:
        demo = base / "demo"
        t = time.perf_counter()
        subprocess.run([py, "-m", "evalkit.cli", "init", str(demo), "--demo"], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"demo workspace built in {time.perf_counter() - t:.1f} s")
        commands = {
            "python -c pass (the interpreter)": ([py, "-c", "pass"], ROOT),
            "import sqlalchemy, numpy, yaml (status's floor)": ([py, "-c", "import sqlalchemy, numpy, yaml"], ROOT),
            "evalkit --help": ([py, "-m", "evalkit.cli", "--help"], ROOT),
            "evalkit status -w demo": ([py, "-m", "evalkit.cli", "status", "-w", str(demo)], ROOT),
        }
        if args.before:
            old = base / "before"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "evalkit"], cwd=ROOT, capture_output=True,
                                     check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            # run from that folder: `python -m` puts it first on sys.path, before the installed source tree
            commands[f"evalkit --help at {args.before} (reference)"] = ([py, "-m", "evalkit.cli", "--help"], old)
        times: dict[str, list[float]] = {name: [] for name in commands}
        print(f"before: {load()}")
        for _ in range(args.runs):
            for name, (cmd, cwd) in commands.items():
                times[name].append(wall(cmd, cwd))
        print(f"after:  {load()}\n")
        print(f"{'command':<52}{'median':>9}{'best':>9}")
        for name, seconds in times.items():
            print(f"{name:<52}{statistics.median(seconds):>8.3f}s{min(seconds):>8.3f}s")
        print("\ntargets: evalkit --help < 0.3 s; evalkit status < 1 s")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
