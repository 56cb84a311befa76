#!/usr/bin/env bash
# Builds the reference Valkey 8.0.1 (valkey-server, valkey-cli, valkey-benchmark) from the
# source tarball in ../shared/reference, into .cache/valkey-8.0.1 (ignored by git), and keeps
# it there between runs. With libssl-dev present the build has TLS (BUILD_TLS=yes).
#
#   scripts/build-valkey.sh          # build if missing, print the source directory
#   VALKEY_TARBALL=... scripts/build-valkey.sh
#
# The last line printed is the directory that holds src/valkey-server and tests/ (the suite).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tarball=${VALKEY_TARBALL:-$root/../shared/reference/valkey-8.0.1.tar.gz}
want_sha=bccb382a0f583fb419526348ed07c3d19e0b6fe8f5492aa3b3037793016ea478
dest=$root/.cache/valkey-8.0.1
stamp=$dest/.redwing-built

if [ -f "$stamp" ] && [ -x "$dest/src/valkey-server" ]; then
    echo "build-valkey: cached build in $dest ($(cat "$stamp"))" >&2
    echo "$dest"
    exit 0
fi

[ -f "$tarball" ] || { echo "build-valkey: reference tarball not found: $tarball" >&2; exit 1; }
got_sha=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$got_sha" != "$want_sha" ]; then
    echo "build-valkey: $tarball has SHA-256 $got_sha, expected $want_sha" >&2
    exit 1
fi
for tool in make gcc pkg-config tclsh; do
    command -v "$tool" >/dev/null || { echo "build-valkey: $tool missing (scripts/setup-test-deps.sh installs it)" >&2; exit 1; }
done

tls=no
if pkg-config --exists openssl 2>/dev/null; then tls=yes; fi

rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp"
tar xzf "$tarball" -C "$dest.tmp" --strip-components=1
echo "build-valkey: building Valkey 8.0.1 (BUILD_TLS=$tls) in $dest" >&2
GIT_CEILING_DIRECTORIES="$root/.cache" make -C "$dest.tmp" -j"$(nproc)" BUILD_TLS=$tls >"$dest.tmp/build.log" 2>&1 || {
    tail -40 "$dest.tmp/build.log" >&2
    echo "build-valkey: make failed (log: $dest.tmp/build.log)" >&2
    exit 1
}
mv "$dest.tmp" "$dest"
"$dest/src/valkey-server" --version >&2
echo "tls=$tls $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$stamp"
echo "$dest"
