#!/usr/bin/env python3
"""Scripting benchmark: redwing-server against Valkey 8.0.1 (reference build) and Debian's
redis-server 7.0, side by side.

Throughput, with redis-benchmark as the neutral client (50 clients, keys drawn from 1,000,000,
64-byte values), at pipeline 1 and 16, rounds alternating the servers' order:

  evalsha-1    EVALSHA of a script doing one SET
  evalsha-10   EVALSHA of a script doing ten commands (SET GET INCR HSET HGET LPUSH LTRIM SADD
               EXPIRE EXISTS) on five keys
  fcall-1      FCALL of a library function doing one SET

Memory, each measured in fresh servers: bytes per cached script (SCRIPT LOAD of N distinct
scripts) and per loaded library (FUNCTION LOAD of N one-function libraries), as the growth of
used_memory plus the Lua VM's own memory (used_memory_vm_eval / used_memory_vm_functions,
which Valkey and Redis keep outside used_memory), and of RSS.

Usage: bench/run.sh scripting [--rounds N] [--requests N] [--scripts N] [--libraries N]
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import LABEL, REFERENCES, RESULTS, ROOT, VALKEY, start_servers, summarize, version  # noqa: E402
from common import bar_plot, encode, pipeline_load  # noqa: E402

import subprocess  # noqa: E402

ONE_SET = "return redis.call('SET', KEYS[1], ARGV[1])"
TEN = (
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "redis.call('GET', KEYS[1]) "
    "redis.call('INCR', KEYS[2]) "
    "redis.call('HSET', KEYS[3], 'f', ARGV[1]) "
    "redis.call('HGET', KEYS[3], 'f') "
    "redis.call('LPUSH', KEYS[4], ARGV[1]) "
    "redis.call('LTRIM', KEYS[4], 0, 9) "
    "redis.call('SADD', KEYS[5], ARGV[1]) "
    "redis.call('EXPIRE', KEYS[1], 100000) "
    "return redis.call('EXISTS', KEYS[1])"
)
LIBRARY = (
    "#!lua name=benchlib\n"
    "redis.register_function('setone', function(keys, args) return redis.call('SET', keys[1], args[1]) end)"
)
VALUE = "x" * 64
KEYSPACE = 1_000_000


def workloads(shas):
    r = "__rand_int__"
    return {
        "evalsha-1": ["EVALSHA", shas["one"], "1", f"k:{r}", VALUE],
        "evalsha-10": ["EVALSHA", shas["ten"], "5", f"s:{r}", f"c:{r}", f"h:{r}", f"l:{r}", f"z:{r}",
                       VALUE],
        "fcall-1": ["FCALL", "setone", "1", f"k:{r}", VALUE],
    }


def bulk(reply):
    """The payload of a bulk-string reply (as common.read_reply returns it)."""
    if not reply.startswith(b"$"):
        raise RuntimeError(f"unexpected reply {reply!r}")
    return reply.split(b"\r\n")[1].decode()


def prepare(server):
    shas = {"one": bulk(server.command(b"SCRIPT", b"LOAD", ONE_SET.encode())),
            "ten": bulk(server.command(b"SCRIPT", b"LOAD", TEN.encode()))}
    reply = server.command(b"FUNCTION", b"LOAD", b"REPLACE", LIBRARY.encode())
    if reply.startswith(b"-"):
        raise RuntimeError(f"FUNCTION LOAD failed on {server.name}: {reply!r}")
    return shas


def run_benchmark(port, argv_cmd, pipeline, requests, clients):
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
            "-c", str(clients), "-r", str(KEYSPACE), "-P", str(pipeline), "--csv", *argv_cmd]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=True).stdout
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            return float(cells[1])
    raise RuntimeError(f"no result from redis-benchmark: {out!r}")


def throughput(servers, rounds, requests, clients, pipelines):
    shas = {s.name: prepare(s) for s in servers}
    names = list(workloads({"one": "", "ten": ""}))
    raw = {s.name: {p: {w: [] for w in names} for p in pipelines} for s in servers}
    for r in range(rounds):
        order = servers if r % 2 == 0 else list(reversed(servers))
        for p in pipelines:
            for w in names:
                for s in order:
                    n = requests * (4 if p > 1 else 1)
                    cpu = s.cpu_seconds()
                    rps = run_benchmark(s.port, workloads(shas[s.name])[w], p, n, clients)
                    cpu_us = (s.cpu_seconds() - cpu) * 1e6 / n
                    raw[s.name][p][w].append({"rps": rps, "cpu_us_per_req": cpu_us})
                    print(f"round {r + 1}/{rounds} P{p:<2} {w:<10} {s.name:<8} {rps:>11,.0f} calls/s "
                          f"{cpu_us:6.2f} cpu µs/call", flush=True)
        # Every server checks the same effects: the ten-command script's keys exist.
        for s in servers:
            if s.command(b"DBSIZE") == b":0\r\n":
                raise RuntimeError(f"{s.name}: the scripts wrote nothing")
    rows = summarize(raw, pipelines, names)
    return rows, raw


def vm_and_used(server, vm_field):
    info = server.info("memory")
    return int(info["used_memory"]) + int(info.get(vm_field, 0)), server.rss()


def memory(make_servers, n_scripts, n_libraries):
    out = {}
    cases = {
        "cached script (SCRIPT LOAD)": (
            "used_memory_vm_eval",
            lambda i: encode((b"SCRIPT", b"LOAD",
                              b"return redis.call('GET', KEYS[1]) .. '%d' .. ARGV[1]" % i))),
        "library of one function (FUNCTION LOAD)": (
            "used_memory_vm_functions",
            lambda i: encode((b"FUNCTION", b"LOAD",
                              b"#!lua name=lib%d\nredis.register_function('f%d', function(keys, args) "
                              b"return redis.call('GET', keys[1]) end)" % (i, i)))),
    }
    for label, (vm_field, gen) in cases.items():
        n = n_scripts if label.startswith("cached") else n_libraries
        cmds = [gen(i) for i in range(n)]
        out[label] = {"entries": n}
        servers = make_servers()
        try:
            for s in servers:
                used0, rss0 = vm_and_used(s, vm_field)
                pipeline_load(s.port, cmds, batch=1000)
                used1, rss1 = vm_and_used(s, vm_field)
                out[label][s.name] = {"bytes_per_entry": (used1 - used0) / n, "rss_per_entry": (rss1 - rss0) / n}
                print(f"memory {label:<40} {s.name:<8} {(used1 - used0) / n:9.1f} B  rss {(rss1 - rss0) / n:9.1f} B",
                      flush=True)
        finally:
            for s in servers:
                s.stop()
    return out


def markdown(rows, mem, meta):
    lines = [
        f"Medians of {meta['rounds']} alternating rounds, redis-benchmark -c {meta['clients']} -r 1000000, "
        f"64-byte values, {meta['host']}; references: {meta['valkey_version']}; {meta['redis_version']}.",
        "",
        "| workload | pipeline | Redwing calls/s | Valkey calls/s | redis-server calls/s | Redwing / Valkey "
        "| Redwing / Redis | CPU µs/call Redwing · Valkey · Redis |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['test']} | {r['pipeline']} | {r['redwing_rps']:,.0f} | {r['valkey_rps']:,.0f} | "
            f"{r['redis_rps']:,.0f} | **{r['ratio_valkey']:.2f}×** | {r['ratio_redis']:.2f}× | "
            f"{r['redwing_cpu_us']:.2f} · {r['valkey_cpu_us']:.2f} · {r['redis_cpu_us']:.2f} |")
    if mem:
        lines += ["", "| memory per entry (used_memory + Lua VM) | entries | Redwing | Valkey | redis-server "
                  "| Redwing / Valkey | RSS Redwing · Valkey · Redis |", "|---|---:|---:|---:|---:|---:|---:|"]
        for label, m in mem.items():
            a, v, b = m["redwing"], m["valkey"], m["redis"]
            lines.append(
                f"| {label} | {m['entries']:,} | {a['bytes_per_entry']:,.0f} B | {v['bytes_per_entry']:,.0f} B | "
                f"{b['bytes_per_entry']:,.0f} B | **{a['bytes_per_entry'] / v['bytes_per_entry']:.2f}×** | "
                f"{a['rss_per_entry']:,.0f} · {v['rss_per_entry']:,.0f} · {b['rss_per_entry']:,.0f} B |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--valkey", default=VALKEY)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100_000, help="calls per run at pipeline 1 (x4 at 16)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--scripts", type=int, default=10_000)
    ap.add_argument("--libraries", type=int, default=2_000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    pipelines = [int(p) for p in args.pipelines.split(",")]
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="redwing-script-bench-")

    def make_servers():
        return start_servers({"redwing": args.redwing, "valkey": args.valkey, "redis": args.redis}, workdir)

    meta = {"rounds": args.rounds, "clients": args.clients, "requests": args.requests,
            "host": f"{os.cpu_count()} cores", "redis_version": version(args.redis),
            "valkey_version": version(args.valkey), "date": time.strftime("%Y-%m-%d")}
    servers = make_servers()
    try:
        rows, raw = throughput(servers, args.rounds, args.requests, args.clients, pipelines)
    finally:
        for s in servers:
            s.stop()
    mem = None if args.skip_memory else memory(make_servers, args.scripts, args.libraries)
    with open(os.path.join(args.out, "scripting.json"), "w") as f:
        json.dump({"meta": meta, "summary": rows, "memory": mem, "raw": raw}, f, indent=1)
    groups = [f"{r['test']} P{r['pipeline']}" for r in rows]
    bar_plot(os.path.join(args.out, "scripting.png"), "Scripting: calls/s (median)", groups,
             {LABEL[n]: [r[f"{n}_rps"] / 1000 for r in rows] for n in ("redwing",) + REFERENCES},
             "thousand calls/s")
    table = markdown(rows, mem, meta)
    with open(os.path.join(args.out, "scripting.md"), "w") as f:
        f.write(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
