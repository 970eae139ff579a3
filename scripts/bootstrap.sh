#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment in .venv: evalkit, editable, with the test extras.
# Re-running is cheap: nothing is installed again unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$(command -v "$candidate"); break
  fi
done
[ -n "$python" ] || { echo "bootstrap: Python 3.11 is required (python3.11 not found)" >&2; exit 1; }

stamp=.venv/.evalkit-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
echo "bootstrap: installing evalkit and its dependencies into .venv (1-3 minutes on a fresh machine)" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# irrCAC (a test-only reference implementation) pins pandas<3 and scipy==1.12 in its metadata but runs on ours.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps irrCAC==0.4.4
echo "$want" > "$stamp"
