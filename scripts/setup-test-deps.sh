#!/usr/bin/env bash
# Installs what the tests need that is not in the repository: the reference redis-server 7.0
# and redis-tools (redis-cli, redis-benchmark) from Debian's packages. Idempotent.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

if have redis-server && have redis-cli && have redis-benchmark; then
    echo "setup-test-deps: redis-server $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if have sudo; then SUDO="sudo"; else echo "setup-test-deps: need root (or sudo) to install redis-server" >&2; exit 1; fi
fi

echo "setup-test-deps: installing redis-server and redis-tools from Debian"
export DEBIAN_FRONTEND=noninteractive
# Do not let the package start a system service on port 6379.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    CREATED_POLICY=1
fi
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends redis-server redis-tools
if [ "$CREATED_POLICY" = "1" ]; then $SUDO rm -f "$POLICY"; fi

for tool in redis-server redis-cli redis-benchmark; do
    have "$tool" || { echo "setup-test-deps: $tool still missing after install" >&2; exit 1; }
done
echo "setup-test-deps: installed $(redis-server --version)"
