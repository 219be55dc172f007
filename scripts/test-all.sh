#!/usr/bin/env bash
# Install everything the test suite needs on a Debian machine (as root), then run it.
# The fixtures start their own servers (sshd, dockerd, the WS-Management server) on loopback.
# Extra arguments go to pytest, e.g.: scripts/test-all.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(openssh-server openssh-client docker.io busybox-static microsocks tar openssl docker-registry apache2-utils podman)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
    echo "==> installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV=${HATCHWAY_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
echo "==> installing hatchway, its plugins and the test tools into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/requirements.txt

exec "$VENV/bin/python" -m pytest "${@:-tests}"
