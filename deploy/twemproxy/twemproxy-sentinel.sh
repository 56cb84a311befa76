#!/bin/sh
# twemproxy (nutcracker) in front of Redwing replica sets managed by Sentinel.
#
# nutcracker does not follow Sentinel: this script is each set's Sentinel
# `client-reconfig-script`. After a failover Sentinel runs it with
#   <set name> <role> <state> <from-ip> <from-port> <to-ip> <to-port>
# and it points nutcracker's server line named <set name> at the new primary, then restarts
# nutcracker (it has no reload; clients reconnect). Every sentinel runs it: the rewrite is
# idempotent and serialised with flock, and nutcracker restarts only if the line changed.
# Name the servers in nutcracker.yml after the Sentinel sets (`- 10.0.0.5:6379:1 shard-a`):
# with names, ketama hashes the name, so keys stay on their set when its address changes.
#
# Also:  twemproxy-sentinel.sh start | stop     (start or stop nutcracker with the settings below)
#
# Settings (environment):
#   NUTCRACKER_CONF        the nutcracker.yml to rewrite      (default /etc/nutcracker/nutcracker.yml)
#   NUTCRACKER_PID         its pid file                        (default /run/nutcracker/nutcracker.pid)
#   NUTCRACKER_LOG         its log file                        (default /var/log/nutcracker/nutcracker.log)
#   NUTCRACKER_STATS_PORT  its stats port, on 127.0.0.1        (default 22222)
#   NUTCRACKER_BIN         the binary                          (default nutcracker)
set -eu

CONF=${NUTCRACKER_CONF:-/etc/nutcracker/nutcracker.yml}
PID=${NUTCRACKER_PID:-/run/nutcracker/nutcracker.pid}
LOG=${NUTCRACKER_LOG:-/var/log/nutcracker/nutcracker.log}
STATS_PORT=${NUTCRACKER_STATS_PORT:-22222}
BIN=${NUTCRACKER_BIN:-nutcracker}
if ! command -v "$BIN" >/dev/null 2>&1 && [ -x /usr/sbin/nutcracker ]; then BIN=/usr/sbin/nutcracker; fi

start() {
    "$BIN" -d -c "$CONF" -p "$PID" -o "$LOG" -s "$STATS_PORT" -a 127.0.0.1
}

stop() {
    [ -f "$PID" ] || return 0
    pid=$(cat "$PID")
    kill "$pid" 2>/dev/null || return 0
    # Bounded wait for the old process to release the listening port.
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        echo "nutcracker $pid did not stop" >&2
        return 1
    fi
}

case "${1:-}" in
    start) start; exit 0 ;;
    stop) stop; exit 0 ;;
esac

if [ $# -ne 7 ]; then
    echo "usage: $0 start|stop  or (from Sentinel) <set> <role> <state> <from-ip> <from-port> <to-ip> <to-port>" >&2
    exit 2
fi
name=$1
to="$6:$7"

(
    flock 9
    # `  - <host>:<port>:<weight> <name>`: only the address of the named line changes.
    new=$(sed "s|^\([[:space:]]*-[[:space:]]*\)[^[:space:]]*:[0-9]*:\([0-9]*\)[[:space:]]\{1,\}$name[[:space:]]*\$|\1$to:\2 $name|" "$CONF")
    if [ "$new" = "$(cat "$CONF")" ]; then
        exit 0
    fi
    printf '%s\n' "$new" > "$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
    stop
    start
) 9>"$CONF.lock"
