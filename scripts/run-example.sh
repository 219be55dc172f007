#!/usr/bin/env bash
# Install Hatchway with its local and none communicators into .venv, then run examples/hello.json.
# Needs nothing but Python 3.9+ (on Debian, as root, python3-venv is installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
fi
VENV=${HATCHWAY_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check . ./plugins/local ./plugins/none
exec "$VENV/bin/hatchway" build examples/hello.json
