#!/usr/bin/env bash
# Set everything up and open the workbench: the venv, a demo workspace (./workspace) and JupyterLab on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export EVALKIT_WORKSPACE="$PWD/workspace"
if [ ! -e workspace/evalkit.db ]; then
  .venv/bin/evalkit init workspace --demo
fi
port="${EVALKIT_PORT:-8888}"
token=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')
echo "workbench: open http://127.0.0.1:${port}/lab/tree/score_submissions.ipynb?token=${token}"
root_flag=()
[ "$(id -u)" -ne 0 ] || root_flag=(--allow-root)
exec .venv/bin/jupyter lab --no-browser "${root_flag[@]}" --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" \
  --ServerApp.port_retries=0 --IdentityProvider.token="$token" --ServerApp.root_dir="$PWD/notebooks"
