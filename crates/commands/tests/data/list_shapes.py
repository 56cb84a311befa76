#!/usr/bin/env python3
"""Records how valkey-server 8.0.1 lays out lists, for tests/list_shapes.rs.

Runs seeded random list commands (pushes, pops, LSET, LINSERT, LREM, LTRIM, LMOVE) on two
keys under several `list-max-listpack-size` / `DEBUG QUICKLIST-PACKED-THRESHOLD` settings and
writes, after every command, the encoding, node layout and DEBUG DIGEST-VALUE of the keys it
wrote to:

    config <fill> <packed-threshold>
    cmd <arg> <arg> ...                  (an argument `c*N` is the character c repeated N times)
    key <name> listpack <bytes> <entries> <digest>
    key <name> quicklist <node>,<node>,... <digest>   (node = P<count>:<bytes> or L<bytes>)
    key <name> none

The layout is what DEBUG LISTPACK / DEBUG QUICKLIST print on the server's stdout, which is
why the server runs unbuffered under stdbuf and a DEBUG LOG marker ends each dump.

Usage: python3 list_shapes.py /path/to/valkey-server > list_shapes.txt
"""

import queue
import random
import re
import socket
import subprocess
import sys
import threading
import time

SEED = 20250101
COMMANDS_PER_CONFIG = 350
# (fill, packed threshold, small elements only: many per node, node limits hit exactly)
CONFIGS = [(-2, 0, False), (-1, 0, False), (3, 0, False), (1, 0, False), (5, 0, False),
           (-1, 200, False), (4, 40, False), (-1, 0, True), (-2, 0, True), (7, 0, True)]


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def call(self, *args):
        self.s.sendall(encode(args))
        return self.reply()

    def reply(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b":":
            return int(rest)
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"bad reply {line!r}")


def token(elem):
    m = re.fullmatch(rb"(.)\1{7,}", elem)
    return f"{chr(elem[0])}*{len(elem)}" if m else elem.decode()


def element(rng, fill, small):
    limit = 4096 if fill == -1 else 8192
    k = rng.random()
    if small:
        if k < 0.3:
            return str(rng.randint(-300, 70000)).encode()
        if k < 0.4:
            return b"v%d" % rng.randint(0, 12)
        return rng.choice(b"abcdef").to_bytes(1, "big") * rng.randint(8, 140)
    if k < 0.25:
        return str(rng.randint(-20, 200)).encode()
    if k < 0.3:
        return str(rng.randint(-2**63, 2**63 - 1)).encode()
    if k < 0.55:
        return b"v%d" % rng.randint(0, 12)
    if k < 0.9:
        return rng.choice(b"abcdef").to_bytes(1, "big") * rng.randint(8, limit // 3)
    return rng.choice(b"XYZ").to_bytes(1, "big") * rng.randint(limit - 200, limit + 400)


def command(rng, c, fill, small):
    key = rng.choice(["a", "b"])
    other = "b" if key == "a" else "a"
    llen = c.call("LLEN", key)
    r = rng.random()
    if r < (0.5 if small else 0.35) or llen == 0:
        n = rng.choice([1, 1, 2, 3, 5] if small else [1, 1, 1, 2, 3])
        return [rng.choice(["LPUSH", "RPUSH"]), key] + [element(rng, fill, small) for _ in range(n)]
    if r < 0.47:
        cmd = [rng.choice(["LPOP", "RPOP"]), key]
        if rng.random() < 0.3:
            cmd.append(str(rng.randint(1, 4)))
        return cmd
    if r < 0.57:
        return ["LSET", key, str(rng.randint(-llen, llen - 1)), element(rng, fill, small)]
    if r < 0.72:
        pivot = c.call("LINDEX", key, str(rng.randint(0, llen - 1)))
        return ["LINSERT", key, rng.choice(["BEFORE", "AFTER"]), pivot, element(rng, fill, small)]
    if r < 0.8:
        pivot = c.call("LINDEX", key, str(rng.randint(0, llen - 1)))
        return ["LREM", key, str(rng.randint(-2, 2)), pivot]
    if r < 0.86:
        a = rng.randint(0, llen)
        return ["LTRIM", key, str(a), str(rng.randint(a, llen + 2))]
    return ["LMOVE", key, other, rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])]


class Stdout:
    """Lines the server prints, read on a thread."""

    def __init__(self, pipe):
        self.q = queue.Queue()
        threading.Thread(target=self._run, args=(pipe,), daemon=True).start()

    def _run(self, pipe):
        for line in pipe:
            self.q.put(line.decode(errors="replace").rstrip("\n"))

    def until(self, marker):
        lines = []
        while True:
            line = self.q.get(timeout=30)
            if marker in line:
                return lines
            lines.append(line)


def layout(c, out, key, mark):
    enc = c.call("OBJECT", "ENCODING", key)
    if enc is None or isinstance(enc, str) and enc.startswith("ERR"):
        return f"key {key} none"
    enc = enc.decode()
    digest = c.call("DEBUG", "DIGEST-VALUE", key)[0]
    if enc == "listpack":
        c.call("DEBUG", "LISTPACK", key)
    else:
        c.call("DEBUG", "QUICKLIST", key)
    c.call("DEBUG", "LOG", mark)
    lines = out.until(mark)
    if enc == "listpack":
        head = next(l for l in lines if l.startswith("{total bytes"))
        m = re.match(r"\{total bytes (\d+)\} \{num entries (\d+)\}", head)
        return f"key {key} listpack {m.group(1)} {m.group(2)} {digest}"
    nodes = []
    for l in lines:
        m = re.match(r"\{container : (\w+), encoding: \w+, size: (\d+), count: (\d+)", l)
        if m:
            kind, size, count = m.groups()
            nodes.append(f"L{size}" if kind == "PLAIN" else f"P{count}:{size}")
    return f"key {key} quicklist {','.join(nodes)} {digest}"


def main():
    binary = sys.argv[1]
    port = random.randint(30000, 39999)
    proc = subprocess.Popen(
        ["stdbuf", "-o0", binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--enable-debug-command", "local", "--daemonize", "no"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                c = Conn(port)
                if c.call("PING") == "PONG":
                    break
            except OSError:
                time.sleep(0.1)
        out = Stdout(proc.stdout)
        rng = random.Random(SEED)
        n = 0
        print(f"# valkey-server 8.0.1, list_shapes.py seed {SEED}")
        for fill, threshold, small in CONFIGS:
            c.call("FLUSHALL")
            c.call("CONFIG", "SET", "list-max-listpack-size", str(fill))
            c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", str(threshold))
            print(f"config {fill} {threshold}")
            for _ in range(COMMANDS_PER_CONFIG):
                cmd = command(rng, c, fill, small)
                reply = c.call(*cmd)
                if isinstance(reply, str) and reply.startswith(("ERR", "WRONGTYPE")):
                    continue
                print("cmd " + " ".join(token(a if isinstance(a, bytes) else a.encode())
                                        for a in cmd))
                for key in (cmd[1], cmd[2]) if cmd[0] == "LMOVE" else (cmd[1],):
                    n += 1
                    print(layout(c, out, key, f"MARK-{n}"))
        c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
