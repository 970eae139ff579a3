#!/usr/bin/env bash
# The Debian packages the test suite needs: chromium (browser tests), a PostgreSQL server (the workflow tests run
# on it as well as on SQLite), pango (WeasyPrint's PDF letters), and for the hub (`evalkit hub`): Node.js and npm
# (its proxy, configurable-http-proxy, comes from the npm registry: scripts/hub_packages.sh) and Debian's Python
# 3.11, which people's servers run when the venv's own Python is not readable by other users. Installs only what
# is missing; needs root or sudo.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
ldconfig -p | grep -q libpangoft2-1.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -x /usr/bin/python3.11 ] || missing+=(python3.11)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
echo "system_packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
