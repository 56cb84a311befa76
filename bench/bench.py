#!/usr/bin/env python3
"""Side-by-side benchmark: redwing-server vs the reference redis-server.

Both servers run at once on loopback ports, with persistence off. For every round the
workloads alternate between the two servers (the order flips each round), so a noisy
neighbour on this shared machine hits both alike. We report medians over the rounds and
the Redwing/Redis ratio (>1 means Redwing is faster, or for memory, uses more).

Throughput: redis-benchmark (the neutral client shipped with Redis) for SET GET INCR LPUSH
LPOP SADD HSET ZADD MSET(10 keys), 50 clients, 64-byte values, keys drawn from a 1M key
space (-r 1000000) that is pre-filled so GETs hit, at pipeline 1 and 16.

Memory: bytes per key for 1M string keys with 64-byte values; bytes per member of one
1M-member hash (64-byte values) and of one 1M-member sorted set. Measured as the growth of
used_memory (allocator statistics) and of RSS from an empty server.

Usage: bench/run.sh [--rounds N] [--requests N]   (see --help)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import Server, encode, free_port, pipeline_load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")

TESTS = ["set", "get", "incr", "lpush", "lpop", "sadd", "hset", "zadd", "mset"]
KEYSPACE = 1_000_000
VALUE = b"x" * 64


def prefill(port):
    cmds = [encode((b"SET", b"key:%012d" % i, VALUE)) for i in range(KEYSPACE)]
    pipeline_load(port, cmds)


def run_benchmark(port, test, pipeline, requests, clients):
    argv = [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
        "-t", test, "-n", str(requests), "-c", str(clients), "-d", "64",
        "-r", str(KEYSPACE), "-P", str(pipeline), "--csv",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True).stdout
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            return {"rps": float(cells[1]), "p50_ms": float(cells[5]) if len(cells) > 5 else None,
                    "p99_ms": float(cells[7]) if len(cells) > 7 else None}
    raise RuntimeError(f"no result from redis-benchmark for {test}: {out!r}")


def throughput(servers, rounds, requests, clients, pipelines, tests):
    results = {s.name: {p: {t: [] for t in tests} for p in pipelines} for s in servers}
    for r in range(rounds):
        order = servers if r % 2 == 0 else list(reversed(servers))
        for p in pipelines:
            for t in tests:
                for s in order:
                    n = requests * (4 if p > 1 else 1)
                    cpu = s.cpu_seconds()
                    res = run_benchmark(s.port, t, p, n, clients)
                    res["cpu_us_per_req"] = (s.cpu_seconds() - cpu) * 1e6 / n
                    results[s.name][p][t].append(res)
                    print(f"round {r + 1}/{rounds} P{p:<2} {t:<6} {s.name:<8} "
                          f"{res['rps']:>11,.0f} req/s {res['cpu_us_per_req']:6.2f} cpu µs/req",
                          flush=True)
    return results


def memory(make_servers, n):
    """Bytes per entry for three datasets, each loaded into fresh servers."""
    datasets = {
        "string (64B value)": lambda i: encode((b"SET", b"key:%012d" % i, VALUE)),
        "hash member (64B value)": lambda i: encode((b"HSET", b"myhash", b"field:%012d" % i, VALUE)),
        "zset member": lambda i: encode((b"ZADD", b"myzset", b"%d" % i, b"member:%012d" % i)),
    }
    out = {}
    for label, gen in datasets.items():
        cmds = [gen(i) for i in range(n)]
        out[label] = {}
        servers = make_servers()
        try:
            for s in servers:
                before_used = int(s.info("memory")["used_memory"])
                before_rss = s.rss()
                pipeline_load(s.port, cmds)
                after_used = int(s.info("memory")["used_memory"])
                after_rss = s.rss()
                out[label][s.name] = {
                    "used_memory_per_entry": (after_used - before_used) / n,
                    "rss_per_entry": (after_rss - before_rss) / n,
                }
                print(f"memory {label:<24} {s.name:<8} used_memory/entry "
                      f"{(after_used - before_used) / n:7.1f}  rss/entry {(after_rss - before_rss) / n:7.1f}",
                      flush=True)
        finally:
            for s in servers:
                s.stop()
    return out


def summarize(tp, pipelines, tests):
    rows = []
    for p in pipelines:
        for t in tests:
            a = statistics.median(x["rps"] for x in tp["redwing"][p][t])
            b = statistics.median(x["rps"] for x in tp["redis"][p][t])
            ca = statistics.median(x["cpu_us_per_req"] for x in tp["redwing"][p][t])
            cb = statistics.median(x["cpu_us_per_req"] for x in tp["redis"][p][t])
            rows.append({"pipeline": p, "test": t, "redwing_rps": a, "redis_rps": b, "ratio": a / b,
                         "redwing_cpu_us": ca, "redis_cpu_us": cb})
    return rows


def markdown(rows, mem, meta):
    lines = [
        f"Medians of {meta['rounds']} alternating rounds, redis-benchmark -c {meta['clients']} -d 64 "
        f"-r 1000000 (pre-filled), {meta['host']}; reference {meta['redis_version']}.",
        "",
        "Server CPU is the server process's user+system time per request: where redis-benchmark",
        "itself saturates a core (pipeline 1), it shows the difference throughput cannot.",
        "",
        "| test | pipeline | Redwing req/s | redis-server req/s | Redwing / Redis "
        "| Redwing CPU µs/req | redis-server CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['test'].upper()} | {r['pipeline']} | {r['redwing_rps']:,.0f} | "
                     f"{r['redis_rps']:,.0f} | **{r['ratio']:.2f}×** | {r.get('redwing_cpu_us', 0):.2f} | "
                     f"{r.get('redis_cpu_us', 0):.2f} |")
    if mem:
        lines += ["", f"| memory per entry ({meta['entries']:,} entries) | Redwing used_memory | redis-server used_memory "
                  "| ratio | Redwing RSS | redis-server RSS | ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
        for label, m in mem.items():
            a, b = m["redwing"], m["redis"]
            lines.append(
                f"| {label} | {a['used_memory_per_entry']:.1f} B | {b['used_memory_per_entry']:.1f} B | "
                f"{a['used_memory_per_entry'] / b['used_memory_per_entry']:.2f}× | {a['rss_per_entry']:.1f} B | "
                f"{b['rss_per_entry']:.1f} B | {a['rss_per_entry'] / b['rss_per_entry']:.2f}× |")
    return "\n".join(lines) + "\n"


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed; skipping the plot", file=sys.stderr)
        return
    pipelines = sorted({r["pipeline"] for r in rows})
    fig, axes = plt.subplots(1, len(pipelines), figsize=(6 * len(pipelines), 4.5))
    if len(pipelines) == 1:
        axes = [axes]
    for ax, p in zip(axes, pipelines):
        sub = [r for r in rows if r["pipeline"] == p]
        xs = range(len(sub))
        ax.bar([x - 0.2 for x in xs], [r["redis_rps"] / 1000 for r in sub], 0.4, label="redis-server")
        ax.bar([x + 0.2 for x in xs], [r["redwing_rps"] / 1000 for r in sub], 0.4, label="redwing")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r["test"].upper() for r in sub], rotation=45)
        ax.set_ylabel("thousand requests/s (median)")
        ax.set_title(f"pipeline {p}")
        for x, r in zip(xs, sub):
            ax.text(x, max(r["redis_rps"], r["redwing_rps"]) / 1000, f"{r['ratio']:.2f}×",
                    ha="center", va="bottom", fontsize=8)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200_000, help="requests per run at pipeline 1 (x4 at 16)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--tests", default=",".join(TESTS))
    ap.add_argument("--memory-entries", type=int, default=1_000_000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    pipelines = [int(p) for p in args.pipelines.split(",")]
    tests = args.tests.split(",")
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="redwing-bench-")

    def make_servers():
        p1, p2 = free_port(), free_port()
        rw = Server("redwing", [args.redwing, "--port", str(p1), "--save", "", "--dir", workdir,
                                "--appendonly", "no"], p1, workdir)
        rd = Server("redis", [args.redis, "--port", str(p2), "--save", "", "--dir", workdir,
                              "--appendonly", "no", "--daemonize", "no"], p2, workdir)
        return [rw, rd]

    redis_version = subprocess.run([args.redis, "--version"], capture_output=True, text=True).stdout.strip()
    meta = {"rounds": args.rounds, "clients": args.clients, "requests": args.requests,
            "host": f"{os.cpu_count()} cores", "redis_version": redis_version,
            "date": time.strftime("%Y-%m-%d"), "entries": args.memory_entries}
    rows, mem = [], None
    if not args.skip_throughput:
        servers = make_servers()
        try:
            for s in servers:
                prefill(s.port)
            tp = throughput(servers, args.rounds, args.requests, args.clients, pipelines, tests)
        finally:
            for s in servers:
                s.stop()
        rows = summarize(tp, pipelines, tests)
        with open(os.path.join(args.out, "throughput.json"), "w") as f:
            json.dump({"meta": meta, "summary": rows, "raw": tp}, f, indent=1)
        plot(rows, os.path.join(args.out, "throughput.png"))
    if not args.skip_memory:
        mem = memory(make_servers, args.memory_entries)
        with open(os.path.join(args.out, "memory.json"), "w") as f:
            json.dump({"meta": meta, "memory": mem}, f, indent=1)
    elif os.path.exists(os.path.join(args.out, "memory.json")):
        with open(os.path.join(args.out, "memory.json")) as f:
            mem = json.load(f)["memory"]
    if not rows and os.path.exists(os.path.join(args.out, "throughput.json")):
        with open(os.path.join(args.out, "throughput.json")) as f:
            rows = json.load(f)["summary"]
    table = markdown(rows, mem, meta)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
