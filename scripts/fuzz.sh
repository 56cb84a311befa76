#!/usr/bin/env bash
# Run one cargo-fuzz target for a bounded time.
#
#   scripts/fuzz.sh <target> <seconds>
#   scripts/fuzz.sh list
#
# Targets: the RDB codec (crates/rdb/fuzz: reader, lzf_decompress, dump_payload) and the
# protocol parsers (fuzz/: resp_request, resp_frame, repl_replies), the scripting engine
# (fuzz/: script_reply — Lua values to replies, function_restore — FUNCTION RESTORE payloads),
# the BITFIELD and geo argument parsers (fuzz/: bitfield_args, geo_args), and the stream-ID
# parser and stream nodes (fuzz/: stream_id), ACL SETUSER rules and aclfiles (fuzz/: acl_rules,
# acl_file).
# cargo-fuzz needs nightly-only compiler flags (-Zsanitizer=address, ...).
# Only the stable toolchain is installed, so RUSTC_BOOTSTRAP=1 lets the stable
# compiler accept them. Crashes land in <fuzz dir>/artifacts/<target>/; turn each into a
# regression test (crates/rdb/tests/fuzz_regressions.rs, or beside the parser's unit tests).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_dirs=("$root/crates/rdb/fuzz" "$root/fuzz")

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not found; installing it (cargo install cargo-fuzz)" >&2
    cargo install cargo-fuzz --locked -j 1
fi

if [[ "${1:-}" == "list" ]]; then
    for d in "${fuzz_dirs[@]}"; do (cd "$d" && RUSTC_BOOTSTRAP=1 cargo fuzz list); done
    exit 0
fi

if [[ $# -ne 2 || ! "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 <target> <seconds> | $0 list" >&2
    exit 2
fi
target="$1"
seconds="$2"

fuzz_dir=""
for d in "${fuzz_dirs[@]}"; do
    if grep -q "^name = \"$target\"$" "$d/Cargo.toml"; then fuzz_dir="$d"; fi
done
if [[ -z "$fuzz_dir" ]]; then
    echo "unknown fuzz target: $target (scripts/fuzz.sh list)" >&2
    exit 2
fi
mkdir -p "$fuzz_dir/corpus/$target"
cd "$fuzz_dir"
# -j 1 and one fuzzing job: the machine's two cores are shared.
# FUZZ_SEED fixes libFuzzer's seed (CI sets it, so a CI failure replays with the same seed);
# unset, every run explores from a new one.
seed_arg=()
if [[ -n "${FUZZ_SEED:-}" ]]; then seed_arg=(-seed="$FUZZ_SEED"); fi
RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=1 cargo fuzz run "$target" \
    -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    ${seed_arg[@]+"${seed_arg[@]}"}
