#!/usr/bin/env python3
"""Full-sync benchmark under a steady write load, with default output-buffer limits.

Three setups, one after the other in one run: redis-server -> redis-server, Redwing ->
Redwing single-channel, Redwing -> Redwing dual-channel. For each: a primary holding
--keys keys of 200-byte values (about 2 GB in redis-server), a steady load of --rate SET/s
of 200-byte values on it, and an empty replica told REPLICAOF. Measured:

- whether the sync completes within --timeout s, and how many full syncs it took (Redis
  7.0 drops a replica whose output buffer passes the limit before the forked BGSAVE ends,
  then starts over);
- time from REPLICAOF to the replica's link up;
- the primary's memory above its baseline (RSS growth, plus for redis-server the forked
  child's private dirty pages), its peak replica output buffers, the replica's peak RSS,
  and the replica's local buffer peak (dual-channel);
- client PING p99 on the primary before vs during the sync.

Usage: bench/run.sh sync [--keys 7000000] [--rate 40000]
Writes bench/results/sync.json and sync.md (sync.png with matplotlib).
"""

import argparse
import json
import os
import shutil
import tempfile
import time

from common import LatencyProbe, RateWriter, Server, bar_plot, children, free_port, percentile
from common import proc_mem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")

SETUPS = [
    ("redis-server", "redis", False),
    ("Redwing single-channel", "redwing", False),
    ("Redwing dual-channel", "redwing", True),
]


def start(kind, args, workdir, name, dual):
    port = free_port()
    if kind == "redwing":
        argv = [args.redwing, "--port", str(port), "--dir", workdir, "--save", "",
                "--appendonly", "no", "--enable-debug-command", "yes",
                "--repl-diskless-sync-delay", "0",
                "--dual-channel-replication-enabled", "yes" if dual else "no"]
    else:
        argv = [args.redis, "--port", str(port), "--dir", workdir, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--enable-debug-command", "yes",
                "--repl-diskless-sync-delay", "0"]
    return Server(name, argv, port, workdir, allow_loading=True)


def mem_with_children(pid):
    rss, _ = proc_mem(pid)
    return rss, sum(proc_mem(c)[1] for c in children(pid))


def run_setup(label, kind, dual, args):
    work = tempfile.mkdtemp(prefix="sync-bench-")
    pdir, rdir = os.path.join(work, "p"), os.path.join(work, "r")
    os.makedirs(pdir)
    os.makedirs(rdir)
    p = start(kind, args, pdir, "primary", dual)
    r = start(kind, args, rdir, "replica", dual)
    try:
        reply = p.command(b"DEBUG", b"POPULATE", str(args.keys).encode(), b"key", b"200")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"DEBUG POPULATE failed: {reply!r}")
        probe = LatencyProbe(p.port)
        writer = RateWriter(p.port, args.rate, 200, args.keys)
        time.sleep(5)
        base_rss = p.rss()
        probe.mark("before")
        time.sleep(5)
        probe.mark("sync")
        t0 = time.perf_counter()
        r.command(b"REPLICAOF", b"127.0.0.1", str(p.port).encode())
        peak_over = peak_cob = peak_replica = peak_local = 0
        online = None
        while time.perf_counter() - t0 < args.timeout:
            rss, child = mem_with_children(p.proc.pid)
            peak_over = max(peak_over, rss - base_rss + child)
            peak_replica = max(peak_replica, r.rss())
            try:
                pm = p.info("memory")
                peak_cob = max(peak_cob, int(pm.get("mem_clients_slaves", "0")))
                rr = r.info("replication")
                peak_local = max(peak_local, int(rr.get("replicas_repl_buffer_size", "0")))
            except (OSError, ValueError, IndexError):
                rr = {}
            if rr.get("master_link_status") == "up":
                online = time.perf_counter() - t0
                break
            time.sleep(0.1)
        probe.mark("after")
        time.sleep(3)
        writer.stop()
        probe.stop()
        stats = p.info("stats")
        full_syncs = int(stats.get("sync_full", "0"))
        partial = int(stats.get("sync_partial_ok", "0"))
        peak_local = max(peak_local, int(r.info("replication").get("replicas_repl_buffer_peak", "0")))
        before = probe.window("before", "sync")
        during = probe.window("sync", "after")
        return {
            "setup": label,
            "completed": online is not None,
            "online_s": online,
            "full_syncs": full_syncs,
            "main_channel_psyncs": partial,
            "primary_overhead_bytes": peak_over,
            "primary_repl_buffers_peak": peak_cob,
            "replica_peak_rss": peak_replica,
            "replica_local_buffer_peak": peak_local,
            "primary_baseline_rss": base_rss,
            "p99_before_ms": percentile(before, 99) * 1e3,
            "p99_during_ms": percentile(during, 99) * 1e3,
            "writes": writer.sent,
        }
    finally:
        p.stop()
        r.stop()
        shutil.rmtree(work, ignore_errors=True)


def fmt_mb(b):
    return f"{b / 1e6:,.0f} MB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--keys", type=int, default=7_000_000)
    ap.add_argument("--rate", type=int, default=40_000)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = []
    for label, kind, dual in SETUPS:
        res = run_setup(label, kind, dual, args)
        results.append(res)
        print(json.dumps(res), flush=True)
    with open(os.path.join(args.out, "sync.json"), "w") as f:
        json.dump({"keys": args.keys, "rate": args.rate, "timeout": args.timeout,
                   "results": results}, f, indent=1)
    lines = [
        f"Primary with {args.keys:,} keys of 200-byte values, {args.rate:,} SET/s of 200-byte values "
        f"during the sync, default client-output-buffer-limit (replica 256mb 64mb 60), diskless sync "
        f"(repl-diskless-sync-delay 0 on both, so the time measured is the sync's).",
        "",
        "| | completed | time to online | full syncs | primary memory above baseline | "
        "primary replica buffers (peak) | replica peak RSS | replica local buffer (peak) | PING p99 before → during |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        online = f"{r['online_s']:.1f} s" if r["completed"] else f"no (> {args.timeout} s)"
        lines.append(
            f"| {r['setup']} | {'yes' if r['completed'] else '**no**'} | {online} | {r['full_syncs']} | "
            f"{fmt_mb(r['primary_overhead_bytes'])} | {fmt_mb(r['primary_repl_buffers_peak'])} | "
            f"{fmt_mb(r['replica_peak_rss'])} | {fmt_mb(r['replica_local_buffer_peak'])} | "
            f"{r['p99_before_ms']:.2f} → {r['p99_during_ms']:.2f} ms |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "sync.md"), "w") as f:
        f.write(table)
    bar_plot(
        os.path.join(args.out, "sync.png"),
        f"Full sync of {args.keys:,} keys under {args.rate:,} SET/s (lower is better)",
        [r["setup"] for r in results],
        {
            "primary memory above baseline (GB)": [r["primary_overhead_bytes"] / 1e9 for r in results],
            "primary replica buffers peak (GB)": [r["primary_repl_buffers_peak"] / 1e9 for r in results],
            "replica local buffer peak (GB)": [r["replica_local_buffer_peak"] / 1e9 for r in results],
        },
        "GB",
    )
    print()
    print(table)


if __name__ == "__main__":
    main()
