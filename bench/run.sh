#!/usr/bin/env bash
# Reproduces the benchmark tables and plots in the README.
#
#   bench/run.sh [throughput] [options]   # redis-benchmark side by side (bench.py)
#   bench/run.sh rdb [options]            # RDB load, BGSAVE time, memory, p99 (rdb_bench.py)
#   bench/run.sh sync [options]           # full sync under writes, single/dual-channel (sync_bench.py)
#   bench/run.sh scripting [options]      # EVALSHA / FCALL throughput, script memory (script_bench.py)
#   bench/run.sh aof [options]            # SET with appendonly yes, BGREWRITEAOF time/memory (aof_bench.py)
#   bench/run.sh tls [options]            # SET/GET over TLS, ACL cost, full sync over TLS (tls_bench.py)
#   bench/run.sh disk-backlog [options]   # a replica restarted while 1 GB is written (disk_backlog_bench.py)
#
# Each script's --help lists its options. This builds redwing-server in release mode,
# installs the reference redis-server/redis-benchmark (Debian packages), builds the reference
# Valkey 8.0.1 (scripts/build-valkey.sh, cached in .cache/) and installs matplotlib (in
# bench/.venv) when missing, and writes bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
script=bench/bench.py
case "${1:-}" in
    throughput) shift ;;
    rdb) script=bench/rdb_bench.py; shift ;;
    sync) script=bench/sync_bench.py; shift ;;
    scripting) script=bench/script_bench.py; shift ;;
    aof) script=bench/aof_bench.py; shift ;;
    tls) script=bench/tls_bench.py; shift ;;
    disk-backlog) script=bench/disk_backlog_bench.py; shift ;;
esac
bash scripts/setup-test-deps.sh
bash scripts/build-valkey.sh >/dev/null
cargo build --release -p redwing-server
PY=python3
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    [ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
    bench/.venv/bin/python -c 'import matplotlib' 2>/dev/null || bench/.venv/bin/pip install -q matplotlib
    PY=bench/.venv/bin/python
fi
exec "$PY" "$script" "$@"
