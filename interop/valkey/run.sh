#!/usr/bin/env bash
# Valkey 8.0.1 <-> Redwing replication interop checks.
# usage: VALKEY_SERVER=/path/to/valkey-server ./run.sh [0 1 2 3 4 5 6 7 8 ...]   (default: 0-8)
# Results in $RES (default /tmp/valkey-interop-results)/<case>/; summary.txt has one line per case.
# Redwing: $REDWING_BIN (default target/release/redwing-server of this checkout).
#   0 standalone DEBUG DIGEST sanity      1 Valkey->Redwing single channel   2 Redwing->Valkey single channel
#   3 Valkey->Redwing dual channel        4 Redwing->Valkey dual channel     5 psync after CLIENT KILL (both ways, dual off/on)
#   6 failover with REPLICAOF NO ONE      7 disk-based sync, multi-db, big values, TTL, backlog overflow
#   8 mixed dual-channel configurations
# Ports 7600-7699 on 127.0.0.1 only. Every server started here is killed at exit (by pid).
set -u
cd "$(dirname "$0")"
. ./lib.sh

trap kill_all EXIT INT TERM

# ---------------------------------------------------------------- 0: DEBUG DIGEST sanity, no replication
digest_sanity() {
  begin_case case0 "standalone DEBUG DIGEST / score formatting comparison (no replication)"
  export CMP_IGNORE_EXPIRE=1   # relative EX differs between two standalone loads
  start_server valkey c0_valkey 7690 || return 1
  start_server redwing c0_redwing 7691 || return 1
  local p
  for p in 7690 7691; do
    x cli $p zadd fz -1.169947207959808 m
    x cli $p zadd fz2 1.5 m
    x cli $p zscore fz m
    x cli $p debug digest-value fz
    x cli $p debug digest-value fz2
  done
  local zs="valkey=$(cli 7690 zscore fz m) redwing=$(cli 7691 zscore fz m)"
  # same data (round-trip shortest doubles) on both, compare whole-db digest
  for p in 7690 7691; do x cli $p flushall; done
  for p in 7690 7691; do
    echo "+ GEN_FULL_DOUBLES=1 python3 gen.py load c0 20000 | redis-cli -p $p --pipe" >> "$T"
    GEN_FULL_DOUBLES=1 python3 gen.py load c0 20000 | cli $p --pipe | tail -1 | tee -a "$T"
  done
  digests 7690 7691
  summ "case0: standalone, same commands, full-precision zset scores: digest=$DIGEST_OK  (ZSCORE fz: $zs)"
  for p in 7690 7691; do x cli $p flushall; done
  for p in 7690 7691; do
    echo "+ python3 gen.py load c0 20000 | redis-cli -p $p --pipe" >> "$T"
    python3 gen.py load c0 20000 | cli $p --pipe | tail -1 | tee -a "$T"
  done
  digests 7690 7691
  summ "case0: standalone, same commands, 4-decimal zset scores (data set used below): digest=$DIGEST_OK"
  stop_server c0_valkey; stop_server c0_redwing; unset CMP_IGNORE_EXPIRE
}

# ---------------------------------------------------------------- single channel full sync
single_channel() { # NAME PKIND RKIND PPORT RPORT
  local name=$1 pk=$2 rk=$3 pp=$4 rp=$5
  begin_case "$name" "$pk primary -> $rk replica, single channel"
  start_server "$pk" "${name}_P_$pk" "$pp" --dual-channel-replication-enabled no || return 1
  start_server "$rk" "${name}_R_$rk" "$rp" --dual-channel-replication-enabled no || return 1
  x cli "$pp" config get repl-diskless-sync
  load_data "$pp" "$name"
  local s0; s0=$(syncstats "$pp"); log "primary stats before: $s0"
  x cli "$rp" replicaof 127.0.0.1 "$pp"
  wait_sync "$pp" "$rp" 60; local ok1=$?
  info_repl "$pp" "primary after sync"; info_repl "$rp" "replica after sync"
  digests "$pp" "$rp"; local d1=$DIGEST_OK
  more_data "$pp" "$name" 1
  wait_sync "$pp" "$rp" 60; local ok2=$?
  digests "$pp" "$rp"; local d2=$DIGEST_OK
  info_repl "$pp" "primary final"; info_repl "$rp" "replica final"
  local s1; s1=$(syncstats "$pp"); log "primary stats after: $s1   replica stats: $(syncstats "$rp")"
  summ "$name: $pk->$rk single-channel: sync_ok=$((ok1==0)) digest_after_sync=$d1 after_more=$((ok2==0))/$d2 primary[$s1] offset=$(inf "$pp" replication master_repl_offset)"
  stop_server "${name}_P_$pk"; stop_server "${name}_R_$rk"
}

# ---------------------------------------------------------------- dual channel full sync under write load
dual_channel() { # NAME PKIND RKIND PPORT RPORT
  local name=$1 pk=$2 rk=$3 pp=$4 rp=$5
  begin_case "$name" "$pk primary -> $rk replica, dual channel, writes during sync"
  start_server "$pk" "${name}_P_$pk" "$pp" --dual-channel-replication-enabled yes --repl-diskless-sync yes || return 1
  start_server "$rk" "${name}_R_$rk" "$rp" --dual-channel-replication-enabled yes || return 1
  x cli "$pp" config get repl-diskless-sync-delay
  load_data "$pp" "$name"
  x cli "$pp" config set rdb-key-save-delay 200
  local s0; s0=$(syncstats "$pp"); log "primary stats before: $s0"
  # continuous writes during the sync (bounded: each benchmark run is 200k SETs, at most 20 runs / 60 s)
  local flag=$CASEDIR/bench.run; touch "$flag"
  log "starting background writers: redis-benchmark -p $pp -t set -r 100000 -n 200000 -c 4 -q (looped while syncing)"
  ( st=$SECONDS; n=0
    while [ -f "$flag" ] && (( SECONDS - st < 60 && n < 20 )); do
      redis-benchmark -h 127.0.0.1 -p "$pp" -t set -r 100000 -n 200000 -c 4 -q >> "$CASEDIR/bench.out" 2>&1; n=$((n+1))
    done ) &
  local bpid=$!
  sleep 0.5
  x cli "$rp" replicaof 127.0.0.1 "$pp"
  # wait until link up on the replica (samples INFO during sync)
  local st=$SECONDS tl=$CASEDIR/timeline-$pp-$rp.txt
  while (( SECONDS - st < 90 )); do
    sample "$tl" "$pp" "$rp"
    [ "$(inf "$rp" replication master_link_status)" = up ] && break
    sleep 0.2
  done
  log "replica link status: $(inf "$rp" replication master_link_status) after $((SECONDS-st))s"
  sleep 1; rm -f "$flag"
  log "waiting for background writers (pid $bpid) to stop"; wait "$bpid"
  tr "\r" "\n" < "$CASEDIR/bench.out" | grep "requests per second" | tee -a "$T"
  x cli "$pp" config set rdb-key-save-delay 0
  wait_sync "$pp" "$rp" 60; local ok1=$?
  local rdbl mainl
  rdbl=$(grep -c 'type=rdb-channel' "$tl"); mainl=$(grep -c 'type=main-channel' "$tl")
  log "timeline samples with type=rdb-channel: $rdbl, type=main-channel: $mainl"
  grep -m3 -E 'slave[0-9]+:.*type=(rdb|main)-channel' "$tl" | tee -a "$T"
  grep -E 'master_link_status|replicas_waiting_psync|master_sync_in_progress|replicas_repl_buffer|slave[0-9]' "$tl" | sort | uniq -c | sort -rn | head -30 > "$CASEDIR/timeline-summary.txt"
  info_repl "$pp" "primary after sync"; info_repl "$rp" "replica after sync"
  digests "$pp" "$rp"; local d1=$DIGEST_OK
  more_data "$pp" "$name" 1
  wait_sync "$pp" "$rp" 60; local ok2=$?
  digests "$pp" "$rp"; local d2=$DIGEST_OK
  local s1; s1=$(syncstats "$pp"); log "primary stats after: $s1   replica stats: $(syncstats "$rp")"
  summ "$name: $pk->$rk dual-channel: sync_ok=$((ok1==0)) rdb-channel_samples=$rdbl main-channel_samples=$mainl digest_after_sync=$d1 after_more=$((ok2==0))/$d2 primary before[$s0] after[$s1] dbsize=$(cli "$pp" dbsize)"
  stop_server "${name}_P_$pk"; stop_server "${name}_R_$rk"
}

# ---------------------------------------------------------------- partial resync after link kill
psync_kill() { # NAME PKIND RKIND PPORT RPORT [DUAL]
  local name=$1 pk=$2 rk=$3 pp=$4 rp=$5 dual=${6:-no}
  begin_case "$name" "$pk primary -> $rk replica, partial resync after CLIENT KILL TYPE replica (dual-channel=$dual)"
  start_server "$pk" "${name}_P_$pk" "$pp" --dual-channel-replication-enabled $dual || return 1
  start_server "$rk" "${name}_R_$rk" "$rp" --dual-channel-replication-enabled $dual || return 1
  load_data "$pp" "$name" 5000
  x cli "$rp" replicaof 127.0.0.1 "$pp"
  wait_sync "$pp" "$rp" 60
  digests "$pp" "$rp"
  local s0; s0=$(syncstats "$pp"); log "primary stats before kill: $s0"
  local res=""
  for round in 1 2; do
    if [ $round = 1 ]; then
      # as specified: kill, then writes (the replica may already be back when the writes arrive)
      x cli "$pp" client kill type replica
      more_data "$pp" "$name" "k$round"
    else
      # kill and 2000 writes in one pipeline: the writes are executed before the replica can reconnect
      log "GEN_KILL_FIRST=1: CLIENT KILL TYPE replica + writes in one pipeline"
      GEN_KILL_FIRST=1 more_data "$pp" "$name" "k$round"
    fi
    wait_sync "$pp" "$rp" 60
    digests "$pp" "$rp"; res="$res round$round:digest=$DIGEST_OK"
    log "primary stats after round $round: $(syncstats "$pp")"
  done
  info_repl "$pp" "primary final"; info_repl "$rp" "replica final"
  local s1; s1=$(syncstats "$pp")
  local backlog; backlog=$(grep -hoE "Sending [0-9]+ bytes of backlog" "$CASEDIR"/*.log | tr '\n' ',')
  summ "$name: $pk->$rk (dual-channel=$dual) psync after kill: before[$s0] after[$s1] $res primary-log:[$backlog]"
  stop_server "${name}_P_$pk"; stop_server "${name}_R_$rk"
}

# ---------------------------------------------------------------- failover
failover() {
  begin_case case6 "failover: Valkey P, Redwing R1, Valkey R2"
  local P=7650 R1=7651 R2=7652
  start_server valkey c6_P_valkey $P --dual-channel-replication-enabled no || return 1
  start_server redwing c6_R1_redwing $R1 --dual-channel-replication-enabled no || return 1
  start_server valkey c6_R2_valkey $R2 --dual-channel-replication-enabled no || return 1
  load_data $P c6 5000
  x cli $R1 replicaof 127.0.0.1 $P
  x cli $R2 replicaof 127.0.0.1 $P
  wait_sync $P $R1 60; wait_sync $P $R2 60
  more_data $P c6 1
  wait_sync $P $R1 60; wait_sync $P $R2 60
  digests $P $R1 $R2
  info_repl $P "P before failover"; info_repl $R1 "R1 before failover"; info_repl $R2 "R2 before failover"
  log "stats before: P[$(syncstats $P)] R1[$(syncstats $R1)] R2[$(syncstats $R2)]"
  # --- step A: promote Redwing R1
  x cli $R1 replicaof no one
  x cli $R2 replicaof 127.0.0.1 $R1
  x cli $P replicaof 127.0.0.1 $R1
  wait_sync $R1 $R2 60; local a1=$?
  wait_sync $R1 $P 60; local a2=$?
  info_repl $R1 "R1 (new primary)"; info_repl $R2 "R2 -> R1"; info_repl $P "P -> R1"
  local sa; sa=$(syncstats $R1); log "R1 stats after re-point: $sa"
  more_data $R1 c6 2
  wait_sync $R1 $R2 60; wait_sync $R1 $P 60
  digests $R1 $R2 $P; local da=$DIGEST_OK
  sa=$(syncstats $R1)
  summ "case6a: promote Redwing R1, re-point Valkey R2+P: sync_ok=$((a1==0&&a2==0)) R1[$sa] digest=$da"
  # --- step B: reverse: promote Valkey R2, re-point Redwing R1 and Valkey P
  x cli $R2 replicaof no one
  x cli $R1 replicaof 127.0.0.1 $R2
  x cli $P replicaof 127.0.0.1 $R2
  wait_sync $R2 $R1 60; local b1=$?
  wait_sync $R2 $P 60; local b2=$?
  info_repl $R2 "R2 (new primary)"; info_repl $R1 "R1 -> R2"; info_repl $P "P -> R2"
  local sb; sb=$(syncstats $R2); log "R2 stats after re-point: $sb"
  more_data $R2 c6 3
  wait_sync $R2 $R1 60; wait_sync $R2 $P 60
  digests $R2 $R1 $P; local db=$DIGEST_OK
  sb=$(syncstats $R2)
  summ "case6b: promote Valkey R2, re-point Redwing R1 + Valkey P: sync_ok=$((b1==0&&b2==0)) R2[$sb] digest=$db"
  stop_server c6_P_valkey; stop_server c6_R1_redwing; stop_server c6_R2_valkey
}

# ---------------------------------------------------------------- 7: extras
# disk-based (repl-diskless-sync no) full sync, multi-db / MULTI / SWAPDB / FLUSHDB / big values / short TTLs,
# then a backlog overflow (1mb backlog, 2MB command while the link is down) which must give a full resync.
# wait until the primary has deleted every short-TTL key (SCAN lazily expires them -> DEL propagated), bounded 30 s
wait_short_gone() {
  local st=$SECONDS
  while (( SECONDS - st < 30 )); do [ "$(cli "$1" --scan --pattern '*:short:*' | wc -l)" = 0 ] && return 0; sleep 0.3; done
  log "TIMEOUT waiting for short-TTL keys to disappear on $1"; return 1
}
extras() { # NAME PKIND RKIND PPORT RPORT [replica extra args]
  local name=$1 pk=$2 rk=$3 pp=$4 rp=$5; shift 5
  begin_case "$name" "$pk primary -> $rk replica, extras (disk-based sync, multi-db, big values, TTL, backlog overflow)"
  start_server "$pk" "${name}_P_$pk" "$pp" --dual-channel-replication-enabled no --repl-diskless-sync no --repl-backlog-size 1mb || return 1
  start_server "$rk" "${name}_R_$rk" "$rp" --dual-channel-replication-enabled no "$@" || return 1
  load_data "$pp" "$name" 5000
  log "extra data (multi-db, MULTI/EXEC, SWAPDB, FLUSHDB, big values, short TTLs) before sync"
  echo "+ python3 gen.py extra $name 1 | redis-cli -p $pp --pipe" >> "$T"
  python3 gen.py extra "$name" 1 | cli "$pp" --pipe | tail -1 | tee -a "$T"
  x cli "$rp" replicaof 127.0.0.1 "$pp"
  wait_sync "$pp" "$rp" 60; local ok1=$?
  grep -hiE "disk|BGSAVE|Loading|Full resync|receiving" "$CASEDIR"/*.log | cut -c1-200 | tee -a "$T"
  info_repl "$pp" "primary after disk-based sync"; x cli "$pp" info keyspace; x cli "$rp" info keyspace
  # wait for short TTL keys to be actively expired on the primary (DELs propagated), then compare
  wait_short_gone "$pp"
  wait_sync "$pp" "$rp" 60
  digests "$pp" "$rp"; local d1=$DIGEST_OK
  log "extra data while connected"
  echo "+ python3 gen.py extra $name 2 | redis-cli -p $pp --pipe" >> "$T"
  python3 gen.py extra "$name" 2 | cli "$pp" --pipe | tail -1 | tee -a "$T"
  sleep 1.5   # let the 200..700 ms TTL keys expire
  wait_short_gone "$pp"
  wait_sync "$pp" "$rp" 60; local ok2=$?
  digests "$pp" "$rp"; local d2=$DIGEST_OK
  local s0; s0=$(syncstats "$pp"); log "primary stats before overflow: $s0"
  log "backlog overflow: CLIENT KILL TYPE replica + a 2MB SET in one pipeline (backlog 1mb)"
  echo "+ python3 gen.py overflow $name 1 2 | redis-cli -p $pp --pipe" >> "$T"
  python3 gen.py overflow "$name" 1 2 | cli "$pp" --pipe | tail -1 | tee -a "$T"
  sleep 1
  wait_sync "$pp" "$rp" 60; local ok3=$?
  digests "$pp" "$rp"; local d3=$DIGEST_OK
  local s1; s1=$(syncstats "$pp"); log "primary stats after overflow: $s1"
  grep -hE "Unable to partial resync|Partial resynchronization not accepted|backlog|Full resync|FULLRESYNC|Discard" "$CASEDIR"/*.log | tail -6 | cut -c1-220 | tee -a "$T"
  summ "$name: $pk->$rk extras: disk-based sync ok=$((ok1==0)) digest=$d1 | multi-db/big/TTL stream ok=$((ok2==0)) digest=$d2 | backlog overflow: before[$s0] after[$s1] ok=$((ok3==0)) digest=$d3"
  stop_server "${name}_P_$pk"; stop_server "${name}_R_$rk"
}

# ---------------------------------------------------------------- 8: mixed dual-channel configurations (expect plain full sync)
mixed_one() { # TAG PKIND RKIND PPORT RPORT P_DUAL P_DISKLESS R_DUAL
  local tag=$1 pk=$2 rk=$3 pp=$4 rp=$5
  start_server "$pk" "${tag}_P" "$pp" --dual-channel-replication-enabled "$6" --repl-diskless-sync "$7" --repl-diskless-sync-delay 0 || return 1
  start_server "$rk" "${tag}_R" "$rp" --dual-channel-replication-enabled "$8" || return 1
  load_data "$pp" "$tag" 2000
  x cli "$rp" replicaof 127.0.0.1 "$pp"
  local st=$SECONDS tl=$CASEDIR/timeline-$tag.txt
  while (( SECONDS - st < 30 )); do sample "$tl" "$pp" "$rp"; [ "$(inf "$rp" replication master_link_status)" = up ] && break; sleep 0.1; done
  wait_sync "$pp" "$rp" 30; local ok=$?
  more_data "$pp" "$tag" 1; wait_sync "$pp" "$rp" 30
  digests "$pp" "$rp"
  summ "$tag: $pk(dual=$6,diskless=$7) -> $rk(dual=$8): sync_ok=$((ok==0)) rdb-channel-seen=$(grep -c type=rdb-channel "$tl") primary[$(syncstats "$pp")] digest=$DIGEST_OK"
  stop_server "${tag}_P"; stop_server "${tag}_R"
}
mixed() {
  begin_case case8 "mixed dual-channel configurations"
  mixed_one c8a valkey redwing 7600 7601 no yes yes
  mixed_one c8b valkey redwing 7602 7603 yes no yes
  mixed_one c8c valkey redwing 7604 7605 yes yes no
  mixed_one c8d redwing valkey 7606 7607 no yes yes
  mixed_one c8e redwing valkey 7608 7609 yes no yes
  mixed_one c8f redwing valkey 7610 7611 yes yes no
}

cases=("$@"); [ ${#cases[@]} -eq 0 ] && cases=(0 1 2 3 4 5 6 7 8)
for c in "${cases[@]}"; do
  case $c in
    0) digest_sanity ;;
    1) single_channel case1 valkey redwing 7600 7601 ;;
    2) single_channel case2 redwing valkey 7610 7611 ;;
    3) dual_channel case3 valkey redwing 7620 7621 ;;
    4) dual_channel case4 redwing valkey 7630 7631 ;;
    5) psync_kill case5a valkey redwing 7640 7641; psync_kill case5b redwing valkey 7642 7643
       psync_kill case5c valkey redwing 7644 7645 yes; psync_kill case5d redwing valkey 7646 7647 yes ;;
    6) failover ;;
    8) mixed ;;
    7) extras case7a valkey redwing 7660 7661; extras case7b redwing valkey 7662 7663 --repl-diskless-load swapdb ;;
  esac
  kill_all
done
