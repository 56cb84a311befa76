#!/usr/bin/env bash
# Reproduces the benchmark table in the README:
#   bench/run.sh                 # full run: 5 rounds, pipeline 1 and 16, memory
#   bench/run.sh --rounds 3      # any bench.py option passes through (bench/bench.py --help)
# Builds redwing-server in release mode, installs the reference redis-server/redis-benchmark
# (Debian packages) and matplotlib (in bench/.venv) when missing, then runs bench.py, which
# writes bench/results/{throughput.json,memory.json,table.md,throughput.png}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
cargo build --release -p redwing-server
PY=python3
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    [ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
    bench/.venv/bin/python -c 'import matplotlib' 2>/dev/null || bench/.venv/bin/pip install -q matplotlib
    PY=bench/.venv/bin/python
fi
exec "$PY" bench/bench.py "$@"
