#!/usr/bin/env python3
"""Disk backlog benchmark: a replica restarted for maintenance while 1 GB is written.

A Redwing primary with a 10 MB memory backlog (`repl-backlog-size 10mb`), with and without a
2 GB disk backlog (`repl-backlog-disk-size`), and a Redwing replica that holds --keys keys.
The replica is stopped with SHUTDOWN SAVE (its RDB keeps its replication id and offset); the
primary takes --gigabytes of writes (redis-benchmark SET of 10 KB values); the replica is
started again and asks to continue. Measured: whether it resynced partially (primary's
sync_partial_ok / sync_partial_disk / sync_full), the time from its start to being in sync
(link up, equal offsets), what the disk backlog held (INFO repl_backlog_disk_histlen), and that
the data are equal (DEBUG DIGEST).

Usage: cargo build --release && python3 bench/disk_backlog_bench.py [--gigabytes 1] [--keys 1000000]
Writes bench/results/disk-backlog.md.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time

from common import Server, encode, free_port, pipeline_load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
REDWING = os.path.join(ROOT, "target", "release", "redwing-server")


def wait(what, cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def in_sync(p, r):
    ri = r.info("replication")
    return (ri.get("master_link_status") == "up"
            and p.info("replication")["master_repl_offset"] == ri.get("master_repl_offset"))


def run(disk, gigabytes, keys):
    work = tempfile.mkdtemp(prefix="redwing-diskbl-")
    pdir, rdir = os.path.join(work, "p"), os.path.join(work, "r")
    os.makedirs(pdir)
    os.makedirs(rdir)
    pport, rport = free_port(), free_port()
    pargv = [REDWING, "--port", str(pport), "--bind", "127.0.0.1", "--save", "",
             "--repl-backlog-size", "10mb", "--repl-backlog-disk-size", "2gb" if disk else "0",
             "--repl-diskless-sync-delay", "0"]
    rargv = [REDWING, "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
             "--replicaof", "127.0.0.1", str(pport)]
    p = Server("primary", pargv, pport, pdir)
    r = Server("replica", rargv, rport, rdir)
    try:
        pipeline_load(pport, [encode((b"SET", b"key:%012d" % i, b"x" * 100)) for i in range(keys)])
        wait("first sync", lambda: in_sync(p, r), 600)
        # Maintenance: the replica saves (its RDB keeps the replication id and offset) and stops.
        try:
            r.command(b"SHUTDOWN", b"SAVE")
        except OSError:
            pass
        r.proc.wait(timeout=120)
        r.log.close()
        n = int(gigabytes * 100_000)
        subprocess.run(["redis-benchmark", "-p", str(pport), "-t", "set", "-n", str(n), "-d", "10000",
                        "-r", "1000000", "-P", "16", "-c", "4", "-q"], check=True,
                       stdout=subprocess.DEVNULL)
        written = int(p.info("replication")["master_repl_offset"])
        held = int(p.info("replication").get("repl_backlog_disk_histlen", "0"))
        t0 = time.time()
        r = Server("replica2", rargv, rport, rdir, allow_loading=True)
        wait("resync", lambda: in_sync(p, r), 1200)
        secs = time.time() - t0
        st = p.info("stats")
        same = p.command(b"DEBUG", b"DIGEST") == r.command(b"DEBUG", b"DIGEST")
        return {
            "disk": disk, "written": written, "held": held, "secs": secs,
            "full": int(st["sync_full"]), "partial": int(st["sync_partial_ok"]),
            "from_disk": int(st.get("sync_partial_disk", "0")), "same": same,
        }
    finally:
        for s in (p, r):
            try:
                s.stop()
            except Exception:
                pass
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gigabytes", type=float, default=1.0)
    ap.add_argument("--keys", type=int, default=1_000_000)
    args = ap.parse_args()
    rows = []
    for disk in (True, False):
        res = run(disk, args.gigabytes, args.keys)
        print(res, flush=True)
        rows.append(res)
    lines = [
        f"Replica stopped (SHUTDOWN SAVE) while {args.gigabytes:g} GB of SETs are written, restarted; "
        f"primary with a 10 MB memory backlog; replica holding {args.keys:,} keys before.",
        "",
        "| disk backlog | stream written while away | held on disk | resync | time to in sync | data equal |",
        "|---|---:|---:|---|---:|---|",
    ]
    for r in rows:
        kind = "partial (+CONTINUE), from disk" if r["from_disk"] else (
            "partial" if r["partial"] else "full")
        if r["full"] > 1:
            kind = "full"
        lines.append(
            f"| {'2 GB' if r['disk'] else 'off'} | {r['written'] / 1e9:.2f} GB | {r['held'] / 1e9:.2f} GB "
            f"| {kind} | {r['secs']:.1f} s | {'yes' if r['same'] else 'NO'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "disk-backlog.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
