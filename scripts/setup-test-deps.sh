#!/usr/bin/env bash
# Installs what the tests need that is not in the repository, from Debian's packages: the
# reference redis-server 7.0 and redis-tools (redis-cli, redis-benchmark); Tcl 8.6 (Valkey's test
# suite); and what building the reference Valkey 8.0.1 needs (make, gcc, pkg-config, libssl-dev
# for its TLS build); tcl-tls and openssl (the suite's TLS mode: its client, its test
# certificates); nutcracker (twemproxy, the sharding proxy of tests/twemproxy.rs). Idempotent:
# installs only what is missing.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
have redis-server && have redis-cli && have redis-benchmark || missing+=(redis-server redis-tools)
have tclsh8.6 || missing+=(tcl8.6)
have make || missing+=(make)
have gcc || missing+=(gcc)
have pkg-config || missing+=(pkg-config)
have_pkg libssl-dev || missing+=(libssl-dev)
have_pkg tcl-tls || missing+=(tcl-tls)
have openssl || missing+=(openssl)
[ -x /usr/sbin/nutcracker ] || have nutcracker || missing+=(nutcracker)

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-test-deps: all present (redis-server $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p'), tclsh8.6, make, gcc, pkg-config, libssl-dev, tcl-tls, openssl, nutcracker)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if have sudo; then SUDO="sudo"; else echo "setup-test-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; fi
fi

echo "setup-test-deps: installing from Debian: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Do not let the redis-server package start a system service on port 6379.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    CREATED_POLICY=1
fi
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ "$CREATED_POLICY" = "1" ]; then $SUDO rm -f "$POLICY"; fi

for tool in redis-server redis-cli redis-benchmark tclsh8.6 make gcc pkg-config; do
    have "$tool" || { echo "setup-test-deps: $tool still missing after install" >&2; exit 1; }
done
for pkg in libssl-dev tcl-tls; do
    have_pkg "$pkg" || { echo "setup-test-deps: $pkg still missing after install" >&2; exit 1; }
done
have openssl || { echo "setup-test-deps: openssl still missing after install" >&2; exit 1; }
[ -x /usr/sbin/nutcracker ] || have nutcracker || { echo "setup-test-deps: nutcracker still missing after install" >&2; exit 1; }
echo "setup-test-deps: installed $(redis-server --version)"
