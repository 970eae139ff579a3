#!/usr/bin/env bash
# What the multi-user set-up (`evalkit hub`) needs beyond the venv, installed only when missing, all under .hub/
# (git-ignored):
# - configurable-http-proxy, JupyterHub's proxy, from the npm registry into .hub/node (Node.js and npm come from
#   Debian: scripts/system_packages.sh). 5.x needs Node.js 20; Debian 12's own nodejs is 18, which takes 4.6.
# - the Python that people's servers run (its path goes to .hub/python). Each person's server runs as their own
#   system user, so its interpreter must be readable by every user: the project's .venv when it is, otherwise (a
#   .venv made from a Python under /root, e.g. pyenv's) a second venv, .hub/venv, made from Debian's
#   /usr/bin/python3.11 with the same locked packages and evalkit itself (editable: people's servers run this
#   checkout's code); when other users cannot read the checkout at all, that venv and a copy of the code it runs
#   are under /opt/evalkit-hub/.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "hub_packages: $*" >&2; }
mkdir -p .hub

CHP_VERSION=5.3.0
CHP_VERSION_NODE18=4.6.3
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || CHP_VERSION=$CHP_VERSION_NODE18
chp=.hub/node/node_modules/configurable-http-proxy/package.json
if [ ! -f "$chp" ] || ! grep -q "\"version\": \"$CHP_VERSION\"" "$chp"; then
  command -v npm >/dev/null || { say "npm is missing: run scripts/system_packages.sh"; exit 1; }
  say "installing configurable-http-proxy $CHP_VERSION (npm)"
  npm install --prefix .hub/node --no-audit --no-fund --loglevel=error "configurable-http-proxy@$CHP_VERSION" >/dev/null
fi

# Can a user other than root run the project's venv (and read this checkout)?
if runuser -u nobody -- /bin/sh -c "cd / && '$PWD/.venv/bin/python' -c 'import evalkit.hub, jupyterhub'" \
    >/dev/null 2>&1; then
  rm -rf .hub/venv
  echo "$PWD/.venv/bin/python" > .hub/python
  exit 0
fi
python=/usr/bin/python3.11
[ -x "$python" ] || { say "$python is missing (apt-get install python3.11)"; exit 1; }
if runuser -u nobody -- test -r "$PWD/pyproject.toml"; then
  venv="$PWD/.hub/venv"
  source="$PWD"  # editable: people's servers run this checkout's code
  copied=""
else
  # A checkout other users cannot read (e.g. in a private temporary folder): people's servers run a copy of its
  # code (evalkit and the rubrics it reads), refreshed at every run, with a venv beside it.
  base="/opt/evalkit-hub/$(echo "$PWD" | sha256sum | cut -c1-12)"
  venv="$base/venv"
  source="$base/src"
  say "other users cannot read $PWD: people's servers run a copy of it in $source"
  rm -rf "$source"
  mkdir -p "$source"
  cp -a evalkit rubrics pyproject.toml README.md "$source/"
  find "$source" -name __pycache__ -prune -exec rm -rf {} +
  chmod 755 /opt/evalkit-hub "$base"
  /usr/bin/python3.11 -m compileall -q "$source/evalkit" >/dev/null  # people cannot write the .pyc files
  chmod -R a+rX "$source"
  copied="from $source"
fi
stamp="$venv/.evalkit-installed"
want=$( (cat requirements/lock.txt pyproject.toml; echo "compiled $copied") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$venv/bin/python" > .hub/python
  exit 0
fi
start=$SECONDS
say "making $venv for people's servers (the .venv's Python is not readable by other users)"
rm -rf "$venv"
VIRTUAL_ENV= .venv/bin/uv venv --quiet --python "$python" "$venv"
# Compiled now: people's servers cannot write .pyc files into it, and would compile every module at every start.
VIRTUAL_ENV="$venv" .venv/bin/uv pip install --quiet --compile-bytecode --require-hashes -r requirements/lock.txt
VIRTUAL_ENV="$venv" .venv/bin/uv pip install --quiet --no-deps -e "$source"
chmod -R a+rX "$venv"
echo "$want" > "$stamp"
echo "$venv/bin/python" > .hub/python
say "ready in $((SECONDS - start)) s"
