# helpers for run.sh (sourced)
D=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VK=${VALKEY_SERVER:?set VALKEY_SERVER to a valkey-server 8.x binary}
RW=${REDWING_BIN:-$D/../../target/release/redwing-server}
RES=${RES:-/tmp/valkey-interop-results}
mkdir -p "$RES"
PIDFILE=$RES/pids.all
CASEDIR=$RES
T=$RES/transcript.txt

log() { echo "[$(date +%H:%M:%S.%3N)] $*" | tee -a "$T"; }
# run a command, echo it to the transcript, show output
x() { echo "+ $*" >> "$T"; "$@" 2>&1 | tee -a "$T"; return "${PIPESTATUS[0]}"; }
cli() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" "$@"; }
# field from INFO <section>
inf() { cli "$1" info "$2" | tr -d '\r' | grep "^$3:" | head -1 | cut -d: -f2-; }

begin_case() {
  CASEDIR=$RES/$1; rm -rf "$CASEDIR"; mkdir -p "$CASEDIR"; T=$CASEDIR/transcript.txt; : > "$T"
  log "===== case $1: $2 ====="
}

# start_server KIND NAME PORT [extra args...]; KIND = valkey|redwing
start_server() {
  local kind=$1 name=$2 port=$3; shift 3
  local bin; [ "$kind" = valkey ] && bin=$VK || bin=$RW
  local dir; dir=$(mktemp -d /tmp/vi-$name-XXXXXX)
  local args=(--port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --daemonize no
              --enable-debug-command yes --loglevel verbose "$@")
  echo "+ $bin ${args[*]} > $CASEDIR/$name.log 2>&1 &" >> "$T"
  "$bin" "${args[@]}" > "$CASEDIR/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >> "$PIDFILE"
  eval "PID_$name=$pid"
  local i
  for i in $(seq 1 100); do
    [ "$(cli "$port" ping 2>/dev/null)" = PONG ] && { log "started $kind $name port=$port pid=$pid dir=$dir"; return 0; }
    sleep 0.1
  done
  log "ERROR: $name did not start"; return 1
}

stop_server() { # NAME
  local v="PID_$1"; local pid=${!v:-}
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && log "killed $1 pid=$pid"
  return 0
}

kill_all() {
  [ -f "$PIDFILE" ] || return 0
  local p; for p in $(cat "$PIDFILE"); do kill -9 "$p" 2>/dev/null; done
  : > "$PIDFILE"
}

# sample INFO replication of the listed ports into timeline file
sample() { # FILE PORT...
  local f=$1; shift; local p
  { echo "---- $(date +%H:%M:%S.%3N)"; for p in "$@"; do echo "## port $p"; cli "$p" info replication | tr -d '\r' | grep -v '^#' | grep -v '^$'; done; } >> "$f"
}

# wait_sync PRIMARY_PORT REPLICA_PORT [TIMEOUT_S] : link up + equal offsets; samples INFO into $CASEDIR/timeline.txt
wait_sync() {
  local pp=$1 rp=$2 to=${3:-60}; local tl=$CASEDIR/timeline-$pp-$rp.txt
  local start=$SECONDS po ro st
  while (( SECONDS - start < to )); do
    sample "$tl" "$pp" "$rp"
    st=$(inf "$rp" replication master_link_status)
    po=$(inf "$pp" replication master_repl_offset)
    ro=$(inf "$rp" replication master_repl_offset)
    if [ "$st" = up ] && [ -n "$po" ] && [ "$po" = "$ro" ]; then
      log "in sync: primary:$pp offset=$po replica:$rp offset=$ro link=$st (after $((SECONDS-start))s)"
      return 0
    fi
    sleep 0.25
  done
  log "TIMEOUT waiting for sync primary:$pp ($po) replica:$rp ($ro) link=$st"
  return 1
}

# compare digests; sets DIGEST_OK
digests() { # PORT...
  local p d first= ok=1 line=
  for p in "$@"; do
    d=$(cli "$p" debug digest); line="$line $p=$d(dbsize=$(cli "$p" dbsize))"
    [ -z "$first" ] && first=$d
    [ "$d" != "$first" ] && ok=0
  done
  if [ $ok = 1 ]; then DIGEST_OK=yes; log "DIGEST MATCH:$line"; else DIGEST_OK=no; log "DIGEST MISMATCH:$line"; fi
  # semantic key-by-key comparison (first port vs each other port)
  CONTENT_OK=yes
  for p in "${@:2}"; do
    echo "+ python3 $D/cmpkeys.py $1 $p" >> "$T"
    python3 "$D/cmpkeys.py" "$1" "$p" 5 2>&1 | sed 's/^/    /' | tee -a "$T"
    [ "${PIPESTATUS[0]}" = 0 ] || CONTENT_OK=no
  done
  log "content comparison: $CONTENT_OK"
  DIGEST_OK="$DIGEST_OK/content=$CONTENT_OK"
}

syncstats() { # PORT -> prints sync_full/ok/err
  echo "full=$(inf "$1" stats sync_full) partial_ok=$(inf "$1" stats sync_partial_ok) partial_err=$(inf "$1" stats sync_partial_err)"
}

info_repl() { # PORT LABEL
  log "INFO replication $2 (port $1):"; cli "$1" info replication | tr -d '\r' | grep -v '^$' | sed 's/^/    /' | tee -a "$T"
}

load_data() { # PORT PREFIX [N]
  log "loading data prefix=$2 into $1"
  echo "+ python3 $D/gen.py load $2 ${3:-20000} | redis-cli -p $1 --pipe" >> "$T"
  python3 "$D/gen.py" load "$2" "${3:-20000}" | cli "$1" --pipe 2>&1 | tail -1 | tee -a "$T"
}
more_data() { # PORT PREFIX SEED
  log "writing more prefix=$2 seed=$3 into $1"
  echo "+ ${GEN_KILL_FIRST:+GEN_KILL_FIRST=1 }python3 $D/gen.py more $2 $3 | redis-cli -p $1 --pipe" >> "$T"
  python3 "$D/gen.py" more "$2" "$3" | cli "$1" --pipe 2>&1 | tail -1 | tee -a "$T"
}

# wait until field of INFO section on PORT equals VALUE (bounded)
wait_field() { # PORT SECTION FIELD VALUE [TIMEOUT]
  local start=$SECONDS to=${5:-60} v
  while (( SECONDS - start < to )); do
    v=$(inf "$1" "$2" "$3"); [ "$v" = "$4" ] && return 0; sleep 0.2
  done
  log "TIMEOUT waiting for $3=$4 on $1 (last=$v)"; return 1
}
SUM=${SUM:-$RES/summary.txt}
summ() { echo "$*" | tee -a "$SUM" | tee -a "$T"; }
