"""Shared pieces of the benchmark scripts: server processes by pid on loopback ports, a
minimal RESP encoder/reader, pipelined loading, latency probes and process memory."""

import os
import signal
import socket
import subprocess
import threading
import time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a loopback port, stopped by pid."""

    def __init__(self, name, argv, port, workdir, allow_loading=False):
        self.name = name
        self.port = port
        self.log = open(os.path.join(workdir, f"{name}.log"), "wb")
        self.proc = subprocess.Popen(argv, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                reply = self.command(b"PING")
                if reply == b"+PONG\r\n" or (allow_loading and reply.startswith(b"-LOADING")):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up; see {self.log.name}")
            if time.time() > deadline:
                raise RuntimeError(f"{name} not answering PING after 30s; see {self.log.name}")
            time.sleep(0.05)

    def command(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
            s.sendall(encode(args))
            return read_reply(s)

    def info(self, section):
        raw = self.command(b"INFO", section.encode())
        body = raw.split(b"\r\n", 1)[1].decode()
        out = {}
        for line in body.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def cpu_seconds(self, children=False):
        """User + system CPU time the server process has used so far; with `children`, also
        that of its exited and reaped children (a forking server's BGSAVE child)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        if children:
            ticks += int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(s):
    """Reads one reply (a simple line, or a bulk string) from a fresh connection."""
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    if buf[:1] != b"$":
        return buf
    n = int(buf[1 : buf.index(b"\r\n")])
    need = buf.index(b"\r\n") + 2 + max(n, 0) + 2
    while len(buf) < need:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def pipeline_load(port, commands, batch=10_000):
    """Sends commands pipelined in batches and checks every reply is not an error."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        f = s.makefile("rb")
        for i in range(0, len(commands), batch):
            chunk = commands[i : i + batch]
            s.sendall(b"".join(chunk))
            for _ in chunk:
                line = f.readline()
                if line.startswith(b"-"):
                    raise RuntimeError(f"load failed: {line!r}")
                if line.startswith(b"$") and not line.startswith(b"$-1"):
                    f.readline()


def proc_mem(pid):
    """(RSS, private dirty) bytes of a process, from /proc/<pid>/smaps_rollup."""
    rss = dirty = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Private_Dirty:"):
                    dirty = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, dirty


def children(pid):
    """Pids of a process's children (a forked redis-server saving or syncing)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class LatencyProbe:
    """Sends PING in a loop on its own connection and records each round trip (seconds)."""

    def __init__(self, port):
        self.port = port
        self.samples = []
        self.marks = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            f = s.makefile("rb")
            while not self._stop.is_set():
                t0 = time.perf_counter()
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                f.readline()
                self.samples.append((t0, time.perf_counter() - t0))
                time.sleep(0.001)

    def mark(self, name):
        self.marks[name] = time.perf_counter()

    def window(self, start, end):
        """Round trips that started between two marks."""
        a, b = self.marks[start], self.marks.get(end, time.perf_counter())
        return [d for (t, d) in self.samples if a <= t < b]

    def stop(self):
        self._stop.set()
        self._t.join(timeout=10)


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


class RateWriter:
    """Writes SETs of `size`-byte values to random keys at about `rate` per second, in small
    pipelined batches, on its own thread."""

    def __init__(self, port, rate, size, keyspace):
        self.port, self.rate, self.size, self.keyspace = port, rate, size, keyspace
        self.sent = 0
        self.errors = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        import random
        rnd = random.Random(7)
        value = b"v" * self.size
        batch = max(1, self.rate // 100)
        with socket.create_connection(("127.0.0.1", self.port), timeout=120) as s:
            f = s.makefile("rb")
            next_t = time.perf_counter()
            while not self._stop.is_set():
                cmds = b"".join(
                    encode((b"SET", b"key:%d" % rnd.randrange(self.keyspace), value))
                    for _ in range(batch)
                )
                s.sendall(cmds)
                for _ in range(batch):
                    if f.readline().startswith(b"-"):
                        self.errors += 1
                self.sent += batch
                next_t += 0.01
                delay = next_t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

    def stop(self):
        self._stop.set()
        self._t.join(timeout=30)


def bar_plot(path, title, groups, series, ylabel):
    """Grouped bar chart: `groups` are x labels, `series` maps a name to one value per group.
    Skipped (with a note) when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed; skipping", path)
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + i * width - 0.4 + width / 2 for x in range(len(groups))]
        ax.bar(xs, values, width, label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
