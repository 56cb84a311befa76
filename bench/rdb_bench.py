#!/usr/bin/env python3
"""RDB benchmark: redwing-server vs redis-server on the same RDB file, in one run.

1. A dataset of about --gb GB is built in redis-server (DEBUG POPULATE strings, plus hashes,
   sets and sorted sets written in pipelines) and saved: one dump.rdb both servers load.
2. Load time: each server starts on a copy of the file; the time until INFO persistence
   reports loading:0. Rounds alternate the order; medians are reported.
3. BGSAVE under a steady write load (--rate SETs/s of 100-byte values): wall time of the
   save; memory above the baseline while it runs (Redwing: its RSS growth; redis-server:
   the parent's RSS growth plus the forked child's private dirty pages, i.e. what the fork
   really costs); client PING p99/max before vs during the save.

Usage: bench/run.sh rdb [--gb 1] [--rounds 3] [--rate 20000]
Writes bench/results/rdb.json and rdb.md (and rdb.png with matplotlib).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import LatencyProbe, RateWriter, Server, children, encode, free_port, percentile
from common import bar_plot, pipeline_load, proc_mem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def start(kind, args, workdir):
    port = free_port()
    if kind == "redwing":
        argv = [args.redwing, "--port", str(port), "--dir", workdir, "--save", "",
                "--appendonly", "no", "--enable-debug-command", "yes"]
    else:
        argv = [args.redis, "--port", str(port), "--dir", workdir, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--enable-debug-command", "yes"]
    return Server(kind, argv, port, workdir, allow_loading=True)


def wait_loaded(s, timeout=1800):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if s.info("persistence").get("loading") == "0":
                return
        except (OSError, IndexError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{s.name} still loading after {timeout}s")


def build_dataset(args, workdir):
    s = start("redis", args, workdir)
    try:
        # Uncompressed, so that the file's size is the data's (DEBUG POPULATE values compress).
        s.command(b"CONFIG", b"SET", b"rdbcompression", b"no")
        n_str = int(args.gb * 7_500_000)
        reply = s.command(b"DEBUG", b"POPULATE", str(n_str).encode(), b"key", b"100")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"DEBUG POPULATE failed: {reply!r}")
        n_coll = int(args.gb * 60_000)
        cmds = []
        for i in range(n_coll):
            fields = []
            for j in range(20):
                fields += [b"f%d" % j, b"value-%d-%d" % (i, j)]
            cmds.append(encode([b"HSET", b"hash:%d" % i] + fields))
            cmds.append(encode([b"SADD", b"set:%d" % i] + [b"member-%d" % j for j in range(20)]))
            zadd = [b"ZADD", b"zset:%d" % i]
            for j in range(20):
                zadd += [b"%d" % (j * 7), b"m-%d" % j]
            cmds.append(encode(zadd))
        pipeline_load(s.port, cmds, batch=2000)
        s.command(b"SAVE")
        size = os.path.getsize(os.path.join(workdir, "dump.rdb"))
        keys = int(s.info("keyspace").get("db0", "keys=0").split(",")[0].split("=")[1])
        return size, keys
    finally:
        s.stop()


def measure_load(kind, args, rdb):
    d = tempfile.mkdtemp(prefix=f"rdb-load-{kind}-")
    shutil.copy(rdb, os.path.join(d, "dump.rdb"))
    t0 = time.perf_counter()
    s = start(kind, args, d)
    try:
        wait_loaded(s)
        elapsed = time.perf_counter() - t0
        digest = s.command(b"DEBUG", b"DIGEST")
        if not digest.startswith(b"+"):
            raise RuntimeError(f"{kind}: DEBUG DIGEST failed: {digest!r}")
        rss = s.rss()
        return elapsed, digest, rss
    finally:
        s.stop()
        shutil.rmtree(d, ignore_errors=True)


def measure_bgsave(kind, args, rdb):
    d = tempfile.mkdtemp(prefix=f"rdb-save-{kind}-")
    shutil.copy(rdb, os.path.join(d, "dump.rdb"))
    s = start(kind, args, d)
    try:
        wait_loaded(s)
        probe = LatencyProbe(s.port)
        writer = RateWriter(s.port, args.rate, 100, int(args.gb * 7_500_000))
        time.sleep(3)
        base_rss = s.rss()
        probe.mark("before")
        time.sleep(5)
        probe.mark("save")
        t0 = time.perf_counter()
        s.command(b"BGSAVE")
        peak = 0
        peak_child = 0
        while True:
            rss, _ = proc_mem(s.proc.pid)
            child_dirty = sum(proc_mem(c)[1] for c in children(s.proc.pid))
            peak_child = max(peak_child, child_dirty)
            peak = max(peak, (rss - base_rss) + child_dirty)
            if s.info("persistence").get("rdb_bgsave_in_progress") == "0":
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        probe.mark("after")
        writer.stop()
        probe.stop()
        before = probe.window("before", "save")
        during = probe.window("save", "after")
        return {
            "bgsave_s": elapsed,
            "mem_overhead_bytes": peak,
            "child_private_dirty_peak": peak_child,
            "baseline_rss": base_rss,
            "p99_before_ms": percentile(before, 99) * 1e3,
            "p99_during_ms": percentile(during, 99) * 1e3,
            "max_before_ms": max(before) * 1e3 if before else float("nan"),
            "max_during_ms": max(during) * 1e3 if during else float("nan"),
            "writes": writer.sent,
            "status": s.info("persistence").get("rdb_last_bgsave_status"),
        }
    finally:
        s.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=20000, help="SET/s during BGSAVE")
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="rdb-bench-")
    size, keys = build_dataset(args, work)
    rdb = os.path.join(work, "dump.rdb")
    print(f"dataset: {keys:,} keys, RDB {size / 1e9:.2f} GB", flush=True)
    loads = {"redwing": [], "redis": []}
    digests = {}
    saves = {"redwing": [], "redis": []}
    for r in range(args.rounds):
        order = ["redwing", "redis"] if r % 2 == 0 else ["redis", "redwing"]
        for kind in order:
            t, digest, rss = measure_load(kind, args, rdb)
            loads[kind].append(t)
            digests[kind] = digest
            print(f"round {r + 1} load {kind:<8} {t:7.2f} s  rss {rss / 1e9:.2f} GB", flush=True)
        for kind in order:
            m = measure_bgsave(kind, args, rdb)
            saves[kind].append(m)
            print(f"round {r + 1} bgsave {kind:<8} {m['bgsave_s']:6.2f} s  overhead "
                  f"{m['mem_overhead_bytes'] / 1e6:8.1f} MB  p99 {m['p99_before_ms']:.2f} -> "
                  f"{m['p99_during_ms']:.2f} ms  max {m['max_before_ms']:.1f} -> {m['max_during_ms']:.1f} ms",
                  flush=True)
    shutil.rmtree(work, ignore_errors=True)
    med = lambda xs: statistics.median(xs)
    summary = {
        "rdb_bytes": size, "keys": keys, "rate": args.rate, "rounds": args.rounds,
        "same_digest": digests.get("redwing") == digests.get("redis"),
        "load_s": {k: med(v) for k, v in loads.items()},
    }
    for k in saves:
        summary[k] = {f: med([m[f] for m in saves[k]]) for f in saves[k][0] if f != "status"}
        summary[k]["statuses"] = [m["status"] for m in saves[k]]
    with open(os.path.join(args.out, "rdb.json"), "w") as f:
        json.dump({"summary": summary, "loads": loads, "saves": saves}, f, indent=1)
    rw, rd = summary["redwing"], summary["redis"]
    lines = [
        f"RDB of {size / 1e9:.2f} GB ({keys:,} keys: strings, hashes, sets, sorted sets) built by "
        f"redis-server; medians of {args.rounds} alternating rounds; BGSAVE under {args.rate:,} SET/s. "
        f"Same DEBUG DIGEST after loading: {'yes' if summary['same_digest'] else 'NO'}.",
        "",
        "| | Redwing | redis-server | Redwing / Redis |",
        "|---|---:|---:|---:|",
        f"| load time | {summary['load_s']['redwing']:.2f} s | {summary['load_s']['redis']:.2f} s | "
        f"**{summary['load_s']['redwing'] / summary['load_s']['redis']:.2f}×** |",
        f"| BGSAVE time | {rw['bgsave_s']:.2f} s | {rd['bgsave_s']:.2f} s | **{rw['bgsave_s'] / rd['bgsave_s']:.2f}×** |",
        f"| memory above baseline during BGSAVE | {rw['mem_overhead_bytes'] / 1e6:.1f} MB | "
        f"{rd['mem_overhead_bytes'] / 1e6:.1f} MB (child private dirty {rd['child_private_dirty_peak'] / 1e6:.1f} MB) | "
        f"**{rw['mem_overhead_bytes'] / max(rd['mem_overhead_bytes'], 1):.2f}×** |",
        f"| PING p99 before → during BGSAVE | {rw['p99_before_ms']:.2f} → {rw['p99_during_ms']:.2f} ms | "
        f"{rd['p99_before_ms']:.2f} → {rd['p99_during_ms']:.2f} ms | |",
        f"| PING max before → during BGSAVE | {rw['max_before_ms']:.1f} → {rw['max_during_ms']:.1f} ms | "
        f"{rd['max_before_ms']:.1f} → {rd['max_during_ms']:.1f} ms | |",
    ]
    table = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "rdb.md"), "w") as f:
        f.write(table)
    bar_plot(
        os.path.join(args.out, "rdb.png"),
        f"RDB {size / 1e9:.1f} GB: load, BGSAVE, memory during BGSAVE (lower is better)",
        ["load (s)", "BGSAVE (s)", "memory above baseline (GB)"],
        {
            "redwing": [summary["load_s"]["redwing"], rw["bgsave_s"], rw["mem_overhead_bytes"] / 1e9],
            "redis-server": [summary["load_s"]["redis"], rd["bgsave_s"], rd["mem_overhead_bytes"] / 1e9],
        },
        "seconds / GB",
    )
    print()
    print(table)


if __name__ == "__main__":
    main()
