#!/usr/bin/env bash
# The multi-user set-up on a fresh Debian machine, in one command, as root: the Debian packages (PostgreSQL, Node.js
# and npm, Python 3.11), the venv, JupyterHub's proxy, then `evalkit hub --demo`: a PostgreSQL cluster of its own
# with peer authentication (.hub/state/pg), the demo workspace in it, and the hub on http://127.0.0.1:8000/ (set
# EVALKIT_HUB_PORT for another port). The first start prints the demo admin's password. Ctrl-C stops everything;
# the data stays for the next start. Extra arguments go to `evalkit hub` (e.g. --idle-timeout 600).
# For a real workspace: docs/operators.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "hub: run as root (sudo bash scripts/hub.sh): the hub starts each person's server as their own system user" >&2
  exit 1
fi
bash scripts/system_packages.sh
bash scripts/bootstrap.sh
bash scripts/hub_packages.sh
exec .venv/bin/evalkit hub --demo --port "${EVALKIT_HUB_PORT:-8000}" "$@"
