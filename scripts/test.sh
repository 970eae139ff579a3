#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages, the venv, then pytest over tests/ and every notebook.
# PostgreSQL, JupyterLab/Voila servers and the hub are started by the tests on free localhost ports and always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system_packages.sh
bash scripts/bootstrap.sh
bash scripts/hub_packages.sh
# timeout: a hung browser or server must not hold CI to its limit; pytest's own teardown stops the servers.
exec timeout --kill-after=30 2700 .venv/bin/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
  tests notebooks "$@"
