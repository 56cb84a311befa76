#!/usr/bin/env python3
"""Full-sync benchmark under writes, with default output-buffer limits.

Four setups, alternating in each round, fresh servers every time: Valkey 8.0.1 dual-channel
(the reference build), redis-server 7.0, Redwing single-channel, Redwing dual-channel. For
each: a primary holding --keys keys of 200-byte values (about 2 GB), a writer on it, and an
empty replica told REPLICAOF. The writer is either closed-loop (--writer closed, the default:
`redis-benchmark -t set -c 50 -d 200 -r <keys>` with no rate cap, as fast as the primary
answers) or a steady --rate SET/s (--writer rate). Measured per round:

- whether the sync completes within --timeout s and how many full syncs it took (a replica
  dropped at its output-buffer limit starts over);
- time from REPLICAOF to the replica's link up;
- the primary's memory above its baseline (RSS growth, plus a forked child's private dirty
  pages), its peak replica output buffers, the replica's peak RSS and local buffer (dual-channel);
- the writer's SET/s in the 5 s before the sync and during it (from INFO commandstats);
- for Redwing, what backpressure did: writes delayed, their total delay, time writes were slowed;
- client PING p99 on the primary before vs during the sync.

The table gives medians over the rounds and ratios against Valkey dual-channel.

Usage: bench/run.sh sync [--writer closed|rate] [--keys 8000000] [--rounds 3] [--rate 40000]
Writes bench/results/sync-<writer>.json and .md (and .png with matplotlib).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import LatencyProbe, RateWriter, Server, bar_plot, children, free_port, percentile
from common import proc_mem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
VALKEY = os.path.join(ROOT, ".cache", "valkey-8.0.1", "src", "valkey-server")

SETUPS = [
    ("Valkey 8.0.1 dual-channel", "valkey", True),
    ("redis-server 7.0", "redis", False),
    ("Redwing single-channel", "redwing", False),
    ("Redwing dual-channel", "redwing", True),
]


def start(kind, args, workdir, name, dual):
    port = free_port()
    common = ["--port", str(port), "--dir", workdir, "--save", "", "--appendonly", "no",
              "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]
    if kind == "redwing":
        argv = [args.redwing] + common + [
            "--dual-channel-replication-enabled", "yes" if dual else "no"]
    elif kind == "valkey":
        argv = [args.valkey] + common + [
            "--daemonize", "no", "--dual-channel-replication-enabled", "yes" if dual else "no"]
    else:
        argv = [args.redis] + common + ["--daemonize", "no"]
    return Server(name, argv, port, workdir, allow_loading=True)


class ClosedWriter:
    """redis-benchmark SETs with no rate cap, until stopped."""

    def __init__(self, port, args):
        self.proc = subprocess.Popen(
            [args.benchmark, "-h", "127.0.0.1", "-p", str(port), "-t", "set", "-c",
             str(args.clients), "-d", "200", "-r", str(args.keys), "-n", "2000000000", "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def set_calls(server):
    stats = server.info("commandstats").get("cmdstat_set", "")
    for part in stats.split(","):
        if part.startswith("calls="):
            return int(part[6:])
    return 0


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
    writer = probe = None
    try:
        reply = p.command(b"DEBUG", b"POPULATE", str(args.keys).encode(), b"key", b"200")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"DEBUG POPULATE failed: {reply!r}")
        probe = LatencyProbe(p.port)
        if args.writer == "closed":
            writer = ClosedWriter(p.port, args)
        else:
            writer = RateWriter(p.port, args.rate, 200, args.keys)
        time.sleep(5)
        base_rss = p.rss()
        probe.mark("before")
        calls0, tb0 = set_calls(p), time.perf_counter()
        time.sleep(5)
        calls1, t0 = set_calls(p), time.perf_counter()
        probe.mark("sync")
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
        calls2, t2 = set_calls(p), time.perf_counter()
        probe.mark("after")
        writer.stop()
        probe.stop()
        stats = p.info("stats")
        repl = p.info("replication")
        peak_local = max(peak_local, int(r.info("replication").get("replicas_repl_buffer_peak", "0")))
        before = probe.window("before", "sync")
        during = probe.window("sync", "after")
        return {
            "setup": label,
            "completed": online is not None,
            "online_s": online,
            "full_syncs": int(stats.get("sync_full", "0")),
            "main_channel_psyncs": int(stats.get("sync_partial_ok", "0")),
            "primary_overhead_bytes": peak_over,
            "primary_repl_buffers_peak": peak_cob,
            "replica_peak_rss": peak_replica,
            "replica_local_buffer_peak": peak_local,
            "primary_baseline_rss": base_rss,
            "sets_per_s_before": (calls1 - calls0) / (t0 - tb0),
            "sets_per_s_during": (calls2 - calls1) / (t2 - t0),
            "bp_delayed_commands": int(repl.get("repl_backpressure_delayed_commands", "0")),
            "bp_delay_total_ms": int(repl.get("repl_backpressure_delay_total_ms", "0")),
            "bp_time_ms": int(repl.get("repl_backpressure_time_ms", "0")),
            "p99_before_ms": percentile(before, 99) * 1e3,
            "p99_during_ms": percentile(during, 99) * 1e3,
        }
    finally:
        if writer is not None:
            writer.stop()
        if probe is not None:
            probe.stop()
        p.stop()
        r.stop()
        shutil.rmtree(work, ignore_errors=True)


def fmt_mb(b):
    return f"{b / 1e6:,.0f} MB"


def med(rows, key):
    vals = [r[key] for r in rows if r[key] is not None]
    return statistics.median(vals) if vals else None


def summarize(results, rounds):
    out = []
    for label, _, _ in SETUPS:
        rows = [r for r in results if r["setup"] == label]
        done = [r for r in rows if r["completed"]]
        s = {"setup": label, "rounds": len(rows), "completed": len(done)}
        for key in ("online_s", "primary_overhead_bytes", "primary_repl_buffers_peak",
                    "replica_peak_rss", "replica_local_buffer_peak", "sets_per_s_before",
                    "sets_per_s_during", "bp_delayed_commands", "bp_delay_total_ms", "bp_time_ms",
                    "p99_before_ms", "p99_during_ms"):
            s[key] = med(done if key == "online_s" else rows, key)
        s["full_syncs_max"] = max((r["full_syncs"] for r in rows), default=0)
        out.append(s)
    ref = out[0]
    for s in out:
        for key in ("online_s", "primary_overhead_bytes"):
            a, b = s[key], ref[key]
            s[f"{key}_vs_valkey"] = a / b if a is not None and b else None
    return out


def markdown(summary, args):
    if args.writer == "closed":
        load = (f"a closed-loop writer (redis-benchmark -t set -c {args.clients} -d 200 -r {args.keys:,}, "
                f"no rate cap)")
    else:
        load = f"{args.rate:,} SET/s of 200-byte values"
    lines = [
        f"Medians of {args.rounds} alternating rounds. Primary with {args.keys:,} keys of 200-byte "
        f"values, {load} during the sync, default client-output-buffer-limit (replica 256mb 64mb 60), "
        f"diskless sync (repl-diskless-sync-delay 0 on both, so the time measured is the sync's). "
        f"Ratios against Valkey dual-channel.",
        "",
        "| | completed | time to online | full syncs (max) | primary memory above baseline | "
        "primary replica buffers (peak) | replica peak RSS | replica local buffer (peak) | "
        "writer SET/s before → during | writes delayed · total delay · time slowed | PING p99 before → during |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        online = f"{s['online_s']:.1f} s" if s["online_s"] is not None else "—"
        if s["online_s_vs_valkey"] is not None and s is not summary[0]:
            online += f" ({s['online_s_vs_valkey']:.2f}×)"
        mem = fmt_mb(s["primary_overhead_bytes"])
        if s["primary_overhead_bytes_vs_valkey"] is not None and s is not summary[0]:
            mem += f" ({s['primary_overhead_bytes_vs_valkey']:.2f}×)"
        before, during = s["sets_per_s_before"], s["sets_per_s_during"]
        writer = f"{before:,.0f} → {during:,.0f} ({during / before:.2f}×)" if before else "—"
        bp = (f"{s['bp_delayed_commands']:,.0f} · {s['bp_delay_total_ms'] / 1e3:,.1f} s · "
              f"{s['bp_time_ms'] / 1e3:,.1f} s") if "Redwing" in s["setup"] else "—"
        done = f"{s['completed']}/{s['rounds']}"
        if s["completed"] < s["rounds"]:
            done = f"**{done}**"
        lines.append(
            f"| {s['setup']} | {done} | {online} | {s['full_syncs_max']} | {mem} | "
            f"{fmt_mb(s['primary_repl_buffers_peak'])} | {fmt_mb(s['replica_peak_rss'])} | "
            f"{fmt_mb(s['replica_local_buffer_peak'])} | {writer} | {bp} | "
            f"{s['p99_before_ms']:.2f} → {s['p99_during_ms']:.2f} ms |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--valkey", default=VALKEY)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--benchmark", default="redis-benchmark")
    ap.add_argument("--writer", choices=("closed", "rate"), default="closed")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keys", type=int, default=8_000_000)
    ap.add_argument("--rate", type=int, default=40_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--setups", default="", help="comma-separated setup numbers (1-4) to run; all by default")
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    chosen = [SETUPS[int(i) - 1] for i in args.setups.split(",")] if args.setups else SETUPS
    results = []
    for rnd in range(args.rounds):
        for label, kind, dual in chosen:
            res = run_setup(label, kind, dual, args)
            res["round"] = rnd + 1
            results.append(res)
            print(json.dumps(res), flush=True)
    summary = [s for s in summarize(results, args.rounds) if s["rounds"]]
    name = f"sync-{args.writer}"
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump({"keys": args.keys, "writer": args.writer, "rate": args.rate,
                   "clients": args.clients, "rounds": args.rounds, "timeout": args.timeout,
                   "summary": summary, "results": results}, f, indent=1)
    table = markdown(summary, args)
    with open(os.path.join(args.out, f"{name}.md"), "w") as f:
        f.write(table)
    bar_plot(
        os.path.join(args.out, f"{name}.png"),
        f"Full sync of {args.keys:,} keys under a {args.writer} writer (medians; lower is better)",
        [s["setup"].replace(" dual-channel", "\ndual").replace(" single-channel", "\nsingle") for s in summary],
        {
            "time to online (s / 10)": [(s["online_s"] or 0) / 10 for s in summary],
            "primary memory above baseline (GB)": [s["primary_overhead_bytes"] / 1e9 for s in summary],
            "primary replica buffers peak (GB)": [s["primary_repl_buffers_peak"] / 1e9 for s in summary],
        },
        "",
    )
    print()
    print(table)


if __name__ == "__main__":
    main()
