#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment in .venv: the locked requirements
# (requirements/lock.txt: every package pinned with its hashes, made from pyproject.toml by `uv pip compile`),
# then evalkit itself, editable. uv installs the ~150 packages in seconds; pip is the fallback where uv cannot be
# had. Re-running is cheap: nothing is installed again unless the lock or pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
say() { echo "bootstrap: $*" >&2; }

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python=$(command -v "$candidate"); break
  fi
done
[ -n "$python" ] || { say "Python 3.11 is required (python3.11 not found)"; exit 1; }

stamp=.venv/.evalkit-installed
want=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
start=$SECONDS
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $python"
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
if [ ! -x .venv/bin/uv ] || [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  say "installing uv $UV_VERSION (the installer)"
  "${pip[@]}" install --quiet "uv==$UV_VERSION" || say "uv is not available; falling back to pip (slower)"
fi
count=$(grep -c '==' requirements/lock.txt)
if [ -x .venv/bin/uv ]; then
  say "installing $count locked packages with uv"
  VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install --quiet --require-hashes -r requirements/lock.txt
  say "installing evalkit (editable)"
  VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install --quiet --no-deps -e .
  # irrCAC (a test-only reference implementation) pins pandas<3 and scipy==1.12 in its metadata but runs on ours.
  VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install --quiet --no-deps irrCAC==0.4.4
else
  say "installing $count locked packages with pip (1-3 minutes)"
  "${pip[@]}" install --progress-bar on --require-hashes -r requirements/lock.txt
  "${pip[@]}" install --quiet --no-deps -e . irrCAC==0.4.4
fi
echo "$want" > "$stamp"
say "ready in $((SECONDS - start)) s"
