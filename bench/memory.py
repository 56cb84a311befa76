#!/usr/bin/env python3
"""Bytes per element: one list of N 64-byte values, N string keys with 64-byte values, one
stream of N entries (one field, 64-byte value) and one geo set of N members, in
redwing-server and in the reference valkey-server, side by side.

Each dataset is loaded into fresh servers (persistence off), pipelined; the figure is the
growth of INFO used_memory (allocator statistics) divided by N. The list gets RPUSH of one
element per command (`v:<12-digit i>:xxx...`, 64 bytes, distinct); the strings are
`SET key:<12-digit i> <64 x>` as bench/bench.py's memory section. Also printed: OBJECT
ENCODING of the list, and DEBUG DIGEST-VALUE of the list on both servers (equal data must
give equal digests). Last, the cost of an idle connection: `--connections` clients that each
sent one PING and wait (the growth of used_memory divided by their number).

Usage:
  cargo build --release -p redwing-server
  python3 bench/memory.py [--entries 1000000] [--connections 1000] [--redwing PATH] [--valkey PATH]
"""

import argparse
import os
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Server, encode, pipeline_load  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALKEY = os.path.join(ROOT, ".cache", "valkey-8.0.1", "src", "valkey-server")
if not os.path.exists(VALKEY):
    VALKEY = "/work/main/.cache/valkey-8.0.1/src/valkey-server"


def port_in_range(lo=30000, hi=39999):
    """A free loopback port in [lo, hi] (by binding to it)."""
    import random
    for _ in range(200):
        p = random.randint(lo, hi)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
            return p
    raise RuntimeError("no free port")


def geo_point(i):
    """Deterministic coordinates spread over the valid range (same data on both servers)."""
    lon = -179.0 + (i * 7919 % 358000) / 1000
    lat = -84.0 + (i * 104729 % 168000) / 1000
    return b"%.6f" % lon, b"%.6f" % lat


def datasets(n):
    value = b"x" * 64
    return {
        "list element (64B)": [
            encode((b"RPUSH", b"mylist", (b"v:%012d:" % i).ljust(64, b"x"))) for i in range(n)
        ],
        "string key (64B value)": [
            encode((b"SET", b"key:%012d" % i, value)) for i in range(n)
        ],
        # Explicit ids, so both servers hold the same stream (equal digests).
        "stream entry (one 64B field)": [
            encode((b"XADD", b"mystream", b"%d-0" % (i + 1), b"field", value)) for i in range(n)
        ],
        "geo member": [
            encode((b"GEOADD", b"mygeo", *geo_point(i), b"member:%012d" % i)) for i in range(n)
        ],
    }


# The key each dataset builds, whose encoding and digest are printed (None: many keys).
DATASET_KEY = {"list": b"mylist", "stream": b"mystream", "geo": b"mygeo"}


def idle_clients(port, n):
    """Opens `n` connections that each send PING and read the reply; returns them open."""
    conns = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"PING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            chunk = c.recv(64)
            if not chunk:
                raise RuntimeError("server closed a connection")
            buf += chunk
        conns.append(c)
    return conns


def bulk_text(reply):
    """The text of a bulk or status reply, or of the first element of an array reply."""
    lines = reply.split(b"\r\n")
    if reply.startswith(b"*"):
        lines = lines[1:]
    if lines[0].startswith(b"$"):
        return lines[1].decode() if len(lines) > 1 else ""
    return lines[0].lstrip(b"+").decode()


def complete(buf):
    """True once `buf` holds a whole error, status, or one-element array of a status/bulk."""
    if buf.startswith(b"-") or buf.startswith(b"+"):
        return buf.endswith(b"\r\n")
    n = buf.count(b"\r\n")
    return n >= 3 or (n == 2 and buf[buf.index(b"\r\n") + 2:][:1] == b"+")


def digest_value(port, key):
    """DEBUG DIGEST-VALUE key: an array of one bulk (40 hex digits)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
        c.sendall(encode((b"DEBUG", b"DIGEST-VALUE", key)))
        buf = b""
        while not complete(buf):
            chunk = c.recv(4096)
            if not chunk:
                break
            buf += chunk
    return bulk_text(buf)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--redwing", default=os.path.join(ROOT, "target", "release", "redwing-server"))
    ap.add_argument("--valkey", default=VALKEY)
    ap.add_argument("--connections", type=int, default=1000)
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="redwing-memory-")
    n = args.entries
    results = {}
    sets = list(datasets(n).items()) + [("idle connection", None)]
    for label, cmds in sets:
        results[label] = {}
        for name, binary in (("redwing", args.redwing), ("valkey", args.valkey)):
            port = port_in_range()
            # The slow log is off: an entry keeps its arguments, and Redwing's keeps them as
            # slices of the read buffer, pinning whole pipelined batches when the machine is
            # loaded enough for a command to take 10 ms.
            argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", workdir, "--enable-debug-command", "local",
                    "--slowlog-log-slower-than", "-1"]
            if name == "valkey":
                argv += ["--daemonize", "no"]
            s = Server(name, argv, port, workdir)
            try:
                before = int(s.info("memory")["used_memory"])
                count = n
                if cmds is None:
                    count = args.connections
                    conns = idle_clients(port, count)
                else:
                    pipeline_load(port, cmds)
                after = int(s.info("memory")["used_memory"])
                if cmds is None:
                    for c in conns:
                        c.close()
                extra = ""
                key = DATASET_KEY.get(label.split(" ")[0])
                if key is not None:
                    enc = bulk_text(s.command(b"OBJECT", b"ENCODING", key))
                    dig = digest_value(port, key)
                    extra = f"  encoding {enc}  digest {dig[:16]}"
                results[label][name] = (after - before) / count
                print(f"{label:<24} {name:<8} {(after - before) / count:7.1f} B/entry{extra}", flush=True)
            finally:
                s.stop()
    print()
    print(f"| {n:,} entries ({args.connections:,} connections) | Redwing used_memory | Valkey 8.0.1 used_memory | ratio |")
    print("|---|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['redwing']:.1f} B | {r['valkey']:.1f} B | {r['redwing'] / r['valkey']:.2f}× |")


if __name__ == "__main__":
    main()
