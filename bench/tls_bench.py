#!/usr/bin/env python3
"""Security, side by side: Redwing, Valkey 8.0.1 and redis-server 7.0 (both built with TLS).

TLS throughput: redis-benchmark --tls (client certificate, `tls-auth-clients yes`) SET and GET,
50 clients, 64-byte values, 1M-key space, at pipeline 1 and 16. The three servers run at once,
each with a plaintext port (admin) and a TLS port; every round runs each workload on each
server, the order flipping each round. Medians over the rounds, ratios Redwing/Valkey and
Redwing/Redis (>1: Redwing faster), and each server's CPU time per request (where the
benchmark client saturates a core, pipeline 1, it shows what throughput cannot).

ACL cost: the same SET/GET in plaintext as the default user and as a user with key patterns
(`~key:* ~bench:* +@all`), on each server: the user's throughput relative to the default
user's (medians; a negative figure is a slowdown).

Full sync over TLS: a primary holding N keys (64-byte values) and an empty replica of the same
kind; REPLICAOF to the primary's TLS port (`tls-replication yes`) or to its plaintext port,
timed to `master_link_status:up`, with the primary's CPU time during the sync (a forking
primary's child included).

Usage: bench/run.sh tls [--rounds N] [--requests N] [--keys N]   (see --help)
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench import version, VALKEY, KEYSPACE, VALUE
from common import Server, encode, free_port, pipeline_load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
LABEL = {"redwing": "Redwing", "valkey": "Valkey 8.0.1", "redis": "redis-server 7.0"}
NAMES = ("redwing", "valkey", "redis")


def make_certs(d):
    """A CA and one certificate (server and client use) signed by it, X.509 v3."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "30", "-subj", "/CN=Bench CA")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
        "-subj", "/CN=node")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "30", "-extfile", "ext.cnf", "-out", "node.crt")
    return {k: os.path.join(d, f) for k, f in (("ca", "ca.crt"), ("cert", "node.crt"), ("key", "node.key"))}


class TlsServer(Server):
    def __init__(self, name, binary, workdir, certs, extra=()):
        os.makedirs(workdir, exist_ok=True)
        self.tls_port = free_port()
        port = free_port()
        argv = [binary, "--port", str(port), "--tls-port", str(self.tls_port), "--save", "",
                "--dir", workdir, "--appendonly", "no",
                "--tls-cert-file", certs["cert"], "--tls-key-file", certs["key"],
                "--tls-ca-cert-file", certs["ca"], "--tls-replication", "yes",
                "--repl-diskless-sync-delay", "0", *extra]
        if name != "redwing":
            argv += ["--daemonize", "no"]
        super().__init__(name, argv, port, workdir)


def benchmark(port, test, pipeline, requests, tls=None, user=None):
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(requests),
            "-c", "50", "-d", "64", "-r", str(KEYSPACE), "-P", str(pipeline), "-t", test, "--csv"]
    if tls:
        argv += ["--tls", "--cacert", tls["ca"], "--cert", tls["cert"], "--key", tls["key"]]
    if user:
        argv += ["--user", user[0], "-a", user[1]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True).stdout
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            return float(cells[1])
    raise RuntimeError(f"no result from redis-benchmark: {out!r}")


def prefill(port):
    pipeline_load(port, [encode((b"SET", b"key:%012d" % i, VALUE)) for i in range(KEYSPACE)])


def throughput(servers, certs, rounds, requests):
    """Per server and test: [(requests/s, server CPU µs per request)] over the rounds."""
    res = {s.name: {f"{t} P{p}": [] for t in ("set", "get") for p in (1, 16)} for s in servers}
    for r in range(rounds):
        order = servers if r % 2 == 0 else list(reversed(servers))
        for p in (1, 16):
            for t in ("set", "get"):
                for s in order:
                    n = requests * (4 if p > 1 else 1)
                    cpu0 = s.cpu_seconds()
                    rps = benchmark(s.tls_port, t, p, n, tls=certs)
                    cpu_us = (s.cpu_seconds() - cpu0) * 1e6 / n
                    res[s.name][f"{t} P{p}"].append((rps, cpu_us))
                    print(f"tls round {r + 1}/{rounds} P{p:<2} {t} {s.name:<8} {rps:>11,.0f}/s "
                          f"{cpu_us:6.2f} cpu µs/req", flush=True)
    return res


def acl_cost(servers, rounds, requests):
    user = ("bench", "benchpw")
    for s in servers:
        s.command(b"ACL", b"SETUSER", b"bench", b"on", b">benchpw", b"~key:*", b"~bench:*", b"+@all")
    res = {s.name: {f"{t} P{p} {who}": [] for t in ("set", "get") for p in (1, 16)
                    for who in ("default", "user")} for s in servers}
    for r in range(rounds):
        order = servers if r % 2 == 0 else list(reversed(servers))
        for p in (1, 16):
            for t in ("set", "get"):
                for s in order:
                    whos = ("default", "user") if r % 2 == 0 else ("user", "default")
                    for who in whos:
                        rps = benchmark(s.port, t, p, requests * (4 if p > 1 else 1),
                                        user=user if who == "user" else None)
                        res[s.name][f"{t} P{p} {who}"].append(rps)
                        print(f"acl round {r + 1}/{rounds} P{p:<2} {t} {s.name:<8} {who:<7} {rps:>11,.0f}/s",
                              flush=True)
    return res


def full_sync(binaries, base, certs, keys, rounds):
    """Per server kind: [(secs, primary cpu secs)] over TLS and in plaintext."""
    res = {}
    for name in ("redwing", "valkey"):
        d = os.path.join(base, f"sync-{name}")
        primary = TlsServer(name, binaries[name], os.path.join(d, "p"), certs)
        try:
            pipeline_load(primary.port, [encode((b"SET", b"key:%012d" % i, VALUE)) for i in range(keys)])
            res[name] = {"tls": [], "plain": []}
            for r in range(rounds):
                for mode in (("tls", "plain") if r % 2 == 0 else ("plain", "tls")):
                    replica = TlsServer(name, binaries[name], os.path.join(d, f"r{r}{mode}"), certs,
                                        extra=("--tls-replication", "yes" if mode == "tls" else "no"))
                    try:
                        port = primary.tls_port if mode == "tls" else primary.port
                        cpu0 = primary.cpu_seconds(children=True)
                        t0 = time.time()
                        replica.command(b"REPLICAOF", b"127.0.0.1", str(port).encode())
                        while replica.info("replication").get("master_link_status") != "up":
                            if time.time() - t0 > 600:
                                raise RuntimeError(f"{name} {mode}: no sync after 600 s")
                            time.sleep(0.01)
                        secs = time.time() - t0
                        # A forking primary's child is counted once it has exited and been
                        # reaped (its snapshot done).
                        while primary.info("persistence").get("rdb_bgsave_in_progress") != "0":
                            if time.time() - t0 > 600:
                                raise RuntimeError(f"{name} {mode}: snapshot still running")
                            time.sleep(0.01)
                        time.sleep(0.2)
                        cpu = primary.cpu_seconds(children=True) - cpu0
                        res[name][mode].append((secs, cpu))
                        print(f"sync round {r + 1}/{rounds} {name:<8} {mode:<5} {secs:6.2f} s, "
                              f"primary cpu {cpu:6.2f} s", flush=True)
                    finally:
                        replica.stop()
        finally:
            primary.stop()
    return res


def markdown(tp, acl, sync, meta):
    med = statistics.median
    lines = [f"Security benchmark, {meta['date']}, {meta['host']}, {meta['rounds']} rounds, medians "
             f"({meta['valkey_version']}; {meta['redis_version']})", "",
             "Over TLS (redis-benchmark --tls with a client certificate, 50 clients, 64-byte values):", "",
             "| test | Redwing /s | Valkey 8.0.1 | redis-server 7.0 | vs Valkey | vs Redis | CPU µs/req Redwing · Valkey · Redis |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for k in tp["redwing"]:
        w, v, r = (med(x[0] for x in tp[n][k]) for n in NAMES)
        cw, cv, cr = (med(x[1] for x in tp[n][k]) for n in NAMES)
        lines.append(f"| {k.upper()} | {w:,.0f} | {v:,.0f} | {r:,.0f} | {w / v:.2f}× | {w / r:.2f}× | "
                     f"{cw:.2f} · {cv:.2f} · {cr:.2f} |")
    lines += ["", "ACL checks: a user with key patterns (`~key:* ~bench:* +@all`) against the default user, "
              "plaintext (change in throughput, medians):", "",
              "| test | Redwing | Valkey 8.0.1 | redis-server 7.0 |", "|---|---:|---:|---:|"]
    for t in ("set", "get"):
        for p in (1, 16):
            cells = []
            for n in NAMES:
                d, u = med(acl[n][f"{t} P{p} default"]), med(acl[n][f"{t} P{p} user"])
                cells.append(f"{(u / d - 1) * 100:+.1f}%")
            lines.append(f"| {t.upper()} P{p} | " + " | ".join(cells) + " |")
    lines += ["", f"Full sync of {meta['sync_keys']:,} keys (64-byte values) to an empty replica of the "
              "same kind, over TLS and in plaintext (time to link up; primary CPU during it):", "",
              "| primary | TLS s | plaintext s | TLS / plain | TLS primary CPU s | plaintext primary CPU s |",
              "|---|---:|---:|---:|---:|---:|"]
    for n in ("redwing", "valkey"):
        ts, tc = med(x[0] for x in sync[n]["tls"]), med(x[1] for x in sync[n]["tls"])
        ps, pc = med(x[0] for x in sync[n]["plain"]), med(x[1] for x in sync[n]["plain"])
        lines.append(f"| {LABEL[n]} | {ts:.2f} | {ps:.2f} | {ts / ps:.2f}× | {tc:.2f} | {pc:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--valkey", default=VALKEY)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100_000, help="requests per run at pipeline 1 (x4 at 16)")
    ap.add_argument("--keys", type=int, default=2_000_000, help="keys in the full-sync dataset")
    ap.add_argument("--sync-rounds", type=int, default=3)
    ap.add_argument("--parts", default="tls,acl,sync",
                    help="which parts to run; the others are kept from the previous results file")
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    binaries = {"redwing": args.redwing, "valkey": args.valkey, "redis": args.redis}
    base = tempfile.mkdtemp(prefix="redwing-tls-bench-")
    meta = {"rounds": args.rounds, "date": time.strftime("%Y-%m-%d"), "host": f"{os.cpu_count()} cores",
            "redis_version": version(args.redis), "valkey_version": version(args.valkey),
            "sync_keys": args.keys}
    parts = set(args.parts.split(","))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "tls.json")
    old = {}
    if parts != {"tls", "acl", "sync"} and os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    tp, acl, sync = old.get("throughput"), old.get("acl"), old.get("sync")
    try:
        certs = make_certs(base)
        if parts & {"tls", "acl"}:
            servers = [TlsServer(n, binaries[n], os.path.join(base, n), certs) for n in NAMES]
            try:
                for s in servers:
                    prefill(s.port)
                if "tls" in parts:
                    tp = throughput(servers, certs, args.rounds, args.requests)
                if "acl" in parts:
                    acl = acl_cost(servers, args.rounds, args.requests)
            finally:
                for s in servers:
                    s.stop()
        if "sync" in parts:
            sync = full_sync(binaries, base, certs, args.keys, args.sync_rounds)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if tp is None or acl is None or sync is None:
        raise SystemExit("a part is missing: run every part once (--parts tls,acl,sync)")
    meta = {**old.get("meta", {}), **meta, "parts_run": sorted(parts)}
    with open(path, "w") as f:
        json.dump({"meta": meta, "throughput": tp, "acl": acl, "sync": sync}, f, indent=1)
    table = markdown(tp, acl, sync, meta)
    with open(os.path.join(args.out, "tls.md"), "w") as f:
        f.write(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
