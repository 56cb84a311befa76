#!/usr/bin/env python3
"""The append-only file, side by side: Redwing, Valkey 8.0.1 and redis-server 7.0 with
`appendonly yes`.

Throughput: redis-benchmark SET (50 clients, 64-byte values, 1M-key space) at pipeline 1 and
16 with `appendfsync everysec` and with `always`. The three servers run at once, each in its
own directory; every round runs each workload on each server, the order flipping each round.
Medians over the rounds, and the ratios Redwing/Valkey and Redwing/Redis (>1: Redwing faster).

Rewrite: BGREWRITEAOF of a dataset of N string keys (64-byte values) under a steady writer,
timed from the command to `aof_rewrite_in_progress:0`, and the memory above the baseline
during it: the server's RSS growth plus, for the forking servers, the private dirty pages of
the rewrite child (its copy-on-write cost), sampled every 20 ms.

Usage: bench/run.sh aof [--rounds N] [--requests N] [--keys N]   (see --help)
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench import run_benchmark, version, VALKEY, KEYSPACE, VALUE
from common import RateWriter, Server, children, encode, free_port, pipeline_load, proc_mem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
LABEL = {"redwing": "Redwing", "valkey": "Valkey 8.0.1", "redis": "redis-server 7.0"}


def start(binaries, base, fsync):
    servers = []
    for name, binary in binaries.items():
        d = os.path.join(base, f"{name}-{fsync}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        port = free_port()
        argv = [binary, "--port", str(port), "--save", "", "--dir", d, "--appendonly", "yes",
                "--appendfsync", fsync, "--auto-aof-rewrite-percentage", "0"]
        if name != "redwing":
            argv += ["--daemonize", "no"]
        servers.append(Server(name, argv, port, d))
    return servers


def wait_rewrite(s, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        i = s.info("persistence")
        if i.get("aof_rewrite_in_progress") == "0" and i.get("aof_rewrite_scheduled") == "0":
            return
        time.sleep(0.01)
    raise RuntimeError(f"{s.name}: rewrite not done after {timeout}s")


def throughput(binaries, base, rounds, requests):
    out = {}
    for fsync in ("everysec", "always"):
        servers = start(binaries, base, fsync)
        try:
            res = {s.name: {1: [], 16: []} for s in servers}
            for r in range(rounds):
                order = servers if r % 2 == 0 else list(reversed(servers))
                for p in (1, 16):
                    for s in order:
                        n = requests * (4 if p > 1 else 1)
                        x = run_benchmark(s.port, "set", p, n, 50)
                        res[s.name][p].append(x["rps"])
                        print(f"{fsync:<8} round {r + 1}/{rounds} P{p:<2} {s.name:<8} "
                              f"{x['rps']:>11,.0f} SET/s", flush=True)
            out[fsync] = res
        finally:
            for s in servers:
                s.stop()
    return out


def rewrite(binaries, base, keys, rounds):
    out = {}
    servers = start(binaries, base, "everysec")
    try:
        for s in servers:
            pipeline_load(s.port, [encode((b"SET", b"key:%012d" % i, VALUE)) for i in range(keys)])
            s.command(b"BGREWRITEAOF")
            wait_rewrite(s)
        res = {s.name: {"secs": [], "extra_mb": []} for s in servers}
        for r in range(rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for s in order:
                writer = RateWriter(s.port, 20_000, 64, keys)
                try:
                    time.sleep(0.5)
                    rss0, _ = proc_mem(s.proc.pid)
                    peak = 0
                    t0 = time.time()
                    s.command(b"BGREWRITEAOF")
                    while True:
                        rss, _ = proc_mem(s.proc.pid)
                        child = sum(proc_mem(c)[1] for c in children(s.proc.pid))
                        peak = max(peak, rss - rss0 + child)
                        i = s.info("persistence")
                        if i.get("aof_rewrite_in_progress") == "0" and i.get("aof_rewrite_scheduled") == "0":
                            break
                        time.sleep(0.02)
                    secs = time.time() - t0
                finally:
                    writer.stop()
                res[s.name]["secs"].append(secs)
                res[s.name]["extra_mb"].append(max(peak, 0) / 2**20)
                print(f"rewrite round {r + 1}/{rounds} {s.name:<8} {secs:6.2f} s "
                      f"{max(peak, 0) / 2**20:8.1f} MB above baseline", flush=True)
        out = res
    finally:
        for s in servers:
            s.stop()
    return out


def ratio(a, b):
    return a / b if b else float("nan")


def markdown(tp, rw, meta, keys):
    med = statistics.median
    lines = [f"AOF benchmark, {meta['date']}, {meta['host']}, {meta['rounds']} rounds, medians "
             f"({meta['valkey_version']}; {meta['redis_version']})", "",
             "| appendfsync | pipeline | Redwing SET/s | Valkey 8.0.1 | redis-server 7.0 | vs Valkey | vs Redis |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for fsync, res in tp.items():
        for p in ("1", "16"):
            w, v, r = (med(res[n][p]) for n in ("redwing", "valkey", "redis"))
            lines.append(f"| {fsync} | {p} | {w:,.0f} | {v:,.0f} | {r:,.0f} | "
                         f"{ratio(w, v):.2f}× | {ratio(w, r):.2f}× |")
    lines += ["", f"BGREWRITEAOF of {keys:,} keys under 20,000 SET/s (time; memory above the "
              "baseline during it: RSS growth + the fork child's private dirty pages):", "",
              "| server | rewrite s | extra MB |", "|---|---:|---:|"]
    for n in ("redwing", "valkey", "redis"):
        lines.append(f"| {LABEL[n]} | {med(rw[n]['secs']):.2f} | {med(rw[n]['extra_mb']):.1f} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--valkey", default=VALKEY)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100_000, help="SETs per run at pipeline 1 (x4 at 16)")
    ap.add_argument("--keys", type=int, default=1_000_000, help="keys in the rewritten dataset")
    ap.add_argument("--rewrite-rounds", type=int, default=3)
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    binaries = {"redwing": args.redwing, "valkey": args.valkey, "redis": args.redis}
    base = tempfile.mkdtemp(prefix="redwing-aof-bench-")
    meta = {"rounds": args.rounds, "date": time.strftime("%Y-%m-%d"), "host": f"{os.cpu_count()} cores",
            "redis_version": version(args.redis), "valkey_version": version(args.valkey)}
    try:
        tp = throughput(binaries, base, args.rounds, args.requests)
        rw = rewrite(binaries, base, args.keys, args.rewrite_rounds)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    tp = {f: {n: {str(p): v for p, v in per.items()} for n, per in res.items()} for f, res in tp.items()}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "aof.json"), "w") as f:
        json.dump({"meta": meta, "throughput": tp, "rewrite": rw, "keys": args.keys}, f, indent=1)
    table = markdown(tp, rw, meta, args.keys)
    with open(os.path.join(args.out, "aof.md"), "w") as f:
        f.write(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
