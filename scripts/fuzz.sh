#!/usr/bin/env bash
# Run one cargo-fuzz target of the RDB codec for a bounded time.
#
#   scripts/fuzz.sh <target> <seconds>      targets: reader, lzf_decompress, dump_payload
#   scripts/fuzz.sh list
#
# cargo-fuzz needs nightly-only compiler flags (-Zsanitizer=address, ...).
# Only the stable toolchain is installed, so RUSTC_BOOTSTRAP=1 lets the stable
# compiler accept them. Crashes land in crates/rdb/fuzz/artifacts/<target>/;
# turn each into a regression test in crates/rdb/tests/fuzz_regressions.rs.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_dir="$root/crates/rdb/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not found; installing it (cargo install cargo-fuzz)" >&2
    cargo install cargo-fuzz --locked -j 1
fi

if [[ "${1:-}" == "list" ]]; then
    (cd "$fuzz_dir" && RUSTC_BOOTSTRAP=1 cargo fuzz list)
    exit 0
fi

if [[ $# -ne 2 || ! "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 <target> <seconds> | $0 list" >&2
    exit 2
fi
target="$1"
seconds="$2"

mkdir -p "$fuzz_dir/corpus/$target"
cd "$fuzz_dir"
# -j 1 and one fuzzing job: the machine's two cores are shared.
RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=1 cargo fuzz run "$target" \
    -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
