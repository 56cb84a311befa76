#!/usr/bin/env bash
# The project's test command (README): installs the test dependencies, then builds and runs
# every test. CI runs exactly this through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-deps.sh
# The reference Valkey 8.0.1 for crates/server/tests/interop_valkey.rs (built once into .cache).
VALKEY_SERVER="$(scripts/build-valkey.sh)/src/valkey-server"
export VALKEY_SERVER
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The server crate's modules stay layered (ARCHITECTURE.md): a cycle between them fails.
python3 scripts/modgraph.py crates/server/src > /dev/null
cargo test --workspace --no-fail-fast
# Valkey 8.0.1's own test suite, unmodified, against the release binary: the replication and
# data-type units and the AOF units of the CI set (conformance/run.py --set ci), checked against the tracked skip
# list (conformance/skiplist.txt). The whole suite: `conformance/run.py --set all`.
cargo build --release --bin redwing-server
python3 conformance/run.py --set ci --jobs 2 --valkey-dir "$(dirname "$(dirname "$VALKEY_SERVER")")"
# The same suite in its TLS mode (runtest --tls: clients and replication over TLS only) for the
# TLS unit and a few replication units, including dual-channel (conformance/run.py --set tls).
python3 conformance/run.py --tls --set tls --jobs 2 --valkey-dir "$(dirname "$(dirname "$VALKEY_SERVER")")"
# Every fuzz target runs briefly in CI (scripts/fuzz.sh installs cargo-fuzz if missing);
# RUN_FUZZ=1 does the same locally, FUZZ_SECONDS sets the time per target, FUZZ_SEED the seed
# (1 unless set, so that a failure replays; scripts/fuzz.sh alone explores from a new seed).
if [ "${CI:-}" = "true" ] || [ "${RUN_FUZZ:-}" = "1" ]; then
    for target in reader lzf_decompress dump_payload resp_request resp_frame repl_replies script_reply function_restore bitfield_args geo_args stream_id acl_rules acl_file; do
        FUZZ_SEED="${FUZZ_SEED:-1}" scripts/fuzz.sh "$target" "${FUZZ_SECONDS:-15}"
    done
fi
