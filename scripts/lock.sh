#!/usr/bin/env bash
# Remake requirements/lock.txt (every package bootstrap.sh installs, pinned with hashes) after editing the pins in
# pyproject.toml. Needs the venv (for uv): run scripts/bootstrap.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes --no-header \
  --quiet -o requirements/lock.txt
echo "lock: requirements/lock.txt has $(grep -c '==' requirements/lock.txt) packages"
