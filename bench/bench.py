#!/usr/bin/env python3
"""Side-by-side benchmark: redwing-server vs the reference servers, Valkey 8.0.1 (built from
the reference tarball by scripts/build-valkey.sh) and Debian's redis-server 7.0.

The three servers run at once on loopback ports, with persistence off. For every round the
workloads alternate between the servers (the order flips each round), so a noisy neighbour
on this shared machine hits them alike. We report medians over the rounds and the ratios
Redwing/Valkey and Redwing/Redis (>1 means Redwing is faster, or for memory, uses more).

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
VALKEY = os.path.join(ROOT, ".cache", "valkey-8.0.1", "src", "valkey-server")
# The servers in the order the tables show them: Redwing, then the references, Valkey first.
REFERENCES = ("valkey", "redis")
LABEL = {"redwing": "Redwing", "valkey": "Valkey 8.0.1", "redis": "redis-server 7.0"}

TESTS = ["set", "get", "incr", "lpush", "lpop", "sadd", "hset", "zadd", "mset"]
# The data families of issue 12, as redis-benchmark custom commands (`__rand_int__` is drawn
# from the 1M key space). Every server gets the same commands against the same data.
CUSTOM = {
    "xadd": ["XADD", "bench:stream", "MAXLEN", "~", "100000", "*", "field", "x" * 64],
    "xrange": ["XRANGE", "bench:stream", "-", "+", "COUNT", "10"],
    # (`__rand_int__` is zero-padded, which a bit offset may not be: random keys instead.)
    "setbit": ["SETBIT", "bitmap:__rand_int__", "1000", "1"],
    "getbit": ["GETBIT", "bitmap:__rand_int__", "1000"],
    "bitcount": ["BITCOUNT", "bench:bitmap", "0", "1023"],
    # GEOADD to a key of its own: GEOSEARCH keeps reading the 10,000 pre-filled points.
    "geoadd": ["GEOADD", "bench:geoadd", "13.361389", "38.115556", "member:__rand_int__"],
    "geosearch": ["GEOSEARCH", "bench:geo", "FROMLONLAT", "13.36", "38.11", "BYRADIUS", "10", "km",
                  "COUNT", "10", "ASC"],
    "lrange_100": None,  # redis-benchmark's own test: LRANGE of the first 100 elements
}
DATA_TESTS = list(CUSTOM)
KEYSPACE = 1_000_000
VALUE = b"x" * 64


def start_servers(binaries, workdir, extra=()):
    """One server per name in `binaries` (name -> executable), persistence off, each on its own
    free loopback port; stopped by pid by the caller."""
    servers = []
    try:
        for name, binary in binaries.items():
            port = free_port()
            argv = [binary, "--port", str(port), "--save", "", "--dir", workdir, "--appendonly", "no",
                    *extra]
            if name != "redwing":
                argv += ["--daemonize", "no"]
            servers.append(Server(name, argv, port, workdir))
    except Exception:
        for s in servers:
            s.stop()
        raise
    return servers


def version(binary):
    return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()


def prefill(port):
    cmds = [encode((b"SET", b"key:%012d" % i, VALUE)) for i in range(KEYSPACE)]
    # The stream, bitmap and geo set the data tests read (10,000 entries each).
    cmds += [encode((b"XADD", b"bench:stream", b"*", b"field", VALUE)) for _ in range(10_000)]
    cmds += [encode((b"SETBIT", b"bench:bitmap", b"%d" % (i * 97), b"1")) for i in range(10_000)]
    cmds += [encode((b"GEOADD", b"bench:geo", b"%.6f" % (13.0 + (i % 100) / 100),
                     b"%.6f" % (38.0 + (i // 100) / 100), b"member:%d" % i)) for i in range(10_000)]
    pipeline_load(port, cmds)


def run_benchmark(port, test, pipeline, requests, clients):
    argv = [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
        "-n", str(requests), "-c", str(clients), "-d", "64",
        "-r", str(KEYSPACE), "-P", str(pipeline), "--csv",
    ]
    if CUSTOM.get(test):
        argv += CUSTOM[test]
    else:
        argv += ["-t", test]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True).stdout
    # The last line is the test's own (LRANGE tests print their LPUSH preparation first).
    result = None
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            result = {"rps": float(cells[1]), "p50_ms": float(cells[5]) if len(cells) > 5 else None,
                      "p99_ms": float(cells[7]) if len(cells) > 7 else None}
    if result is None:
        raise RuntimeError(f"no result from redis-benchmark for {test}: {out!r}")
    return result


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
            row = {"pipeline": p, "test": t}
            for name in ("redwing",) + REFERENCES:
                row[f"{name}_rps"] = statistics.median(x["rps"] for x in tp[name][p][t])
                row[f"{name}_cpu_us"] = statistics.median(x["cpu_us_per_req"] for x in tp[name][p][t])
            for ref in REFERENCES:
                row[f"ratio_{ref}"] = row["redwing_rps"] / row[f"{ref}_rps"]
            rows.append(row)
    return rows


def markdown(rows, mem, meta):
    lines = [
        f"Medians of {meta['rounds']} alternating rounds, redis-benchmark -c {meta['clients']} -d 64 "
        f"-r 1000000 (pre-filled), {meta['host']}; references: {meta['valkey_version']}; "
        f"{meta['redis_version']}.",
        "",
        "Server CPU is the server process's user+system time per request: where redis-benchmark",
        "itself saturates a core (pipeline 1), it shows the difference throughput cannot.",
        "",
        "| test | pipeline | Redwing req/s | Valkey req/s | redis-server req/s | Redwing / Valkey "
        "| Redwing / Redis | CPU µs/req Redwing · Valkey · Redis |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['test'].upper()} | {r['pipeline']} | {r['redwing_rps']:,.0f} | {r['valkey_rps']:,.0f} | "
            f"{r['redis_rps']:,.0f} | **{r['ratio_valkey']:.2f}×** | {r['ratio_redis']:.2f}× | "
            f"{r['redwing_cpu_us']:.2f} · {r['valkey_cpu_us']:.2f} · {r['redis_cpu_us']:.2f} |")
    if mem:
        lines += ["", f"| memory per entry ({meta['entries']:,} entries) | Redwing | Valkey | redis-server "
                  "| Redwing / Valkey | Redwing / Redis | RSS Redwing · Valkey · Redis |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for label, m in mem.items():
            a, v, b = m["redwing"], m["valkey"], m["redis"]
            lines.append(
                f"| {label} | {a['used_memory_per_entry']:.1f} B | {v['used_memory_per_entry']:.1f} B | "
                f"{b['used_memory_per_entry']:.1f} B | "
                f"**{a['used_memory_per_entry'] / v['used_memory_per_entry']:.2f}×** | "
                f"{a['used_memory_per_entry'] / b['used_memory_per_entry']:.2f}× | "
                f"{a['rss_per_entry']:.1f} · {v['rss_per_entry']:.1f} · {b['rss_per_entry']:.1f} B |")
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
    names = ("redwing",) + REFERENCES
    width = 0.8 / len(names)
    for ax, p in zip(axes, pipelines):
        sub = [r for r in rows if r["pipeline"] == p]
        xs = range(len(sub))
        for i, name in enumerate(names):
            ax.bar([x - 0.4 + width * (i + 0.5) for x in xs], [r[f"{name}_rps"] / 1000 for r in sub],
                   width, label=LABEL[name])
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r["test"].upper() for r in sub], rotation=45)
        ax.set_ylabel("thousand requests/s (median)")
        ax.set_title(f"pipeline {p} (label: Redwing / Valkey)")
        for x, r in zip(xs, sub):
            top = max(r[f"{n}_rps"] for n in names) / 1000
            ax.text(x, top, f"{r['ratio_valkey']:.2f}×", ha="center", va="bottom", fontsize=8)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--valkey", default=VALKEY)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200_000, help="requests per run at pipeline 1 (x4 at 16)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--tests", default=",".join(TESTS + DATA_TESTS))
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
        return start_servers({"redwing": args.redwing, "valkey": args.valkey, "redis": args.redis}, workdir)

    meta = {"rounds": args.rounds, "clients": args.clients, "requests": args.requests,
            "host": f"{os.cpu_count()} cores", "redis_version": version(args.redis),
            "valkey_version": version(args.valkey),
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
