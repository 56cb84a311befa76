#!/usr/bin/env python3
"""Records the keyspace events a valkey-server 8.0.1 raises for each command line of
notify_cases.txt, and writes them to ../data/notify_valkey.txt for tests/notify.rs.

    valkey-server --port 31779 --save '' --daemonize no --enable-debug-command local &
    python3 capture_notify.py 31779

(any free port; DEBUG is needed to stop the active expiry cycle, so that keys expire only
when a command looks them up, as in the in-process harness.)

How: one connection runs the command lines in order (from FLUSHALL, in database 0); another
PSUBSCRIBEs to `__keyevent@*__:*`. After each command the first connection PUBLISHes a marker
on a keyevent channel, so the events the subscriber receives before the marker are exactly the
ones that command raised, in order. The class of each event is not visible on the channel: the
whole list is run once with `notify-keyspace-events EAn` (every class, and `new`), then once per
class with only that class enabled, and each event of the full run takes the class of the
single-class run that raised it at that point.

Case file: one command per line, arguments separated by single spaces and escaped as in the
output (`\\`, `\\r`, `\\n`, `\\xNN`; a space is `\\x20`); `#` starts a comment line. A line
prefixed with `~ ` has a reply that may differ (random members): its events are compared but
not its reply. `@advance <ms>` lets that much time pass (the capture sleeps, the harness moves
its clock), so that keys given a short TTL before are expired when the next command looks.

Output: `> args` (same escaping, `~ ` kept), then `2 <RESP2 reply>` (none after `@advance`),
then one line per event: `@ <db> <class letter> <event> <key>`.
"""
import os
import socket
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
CLASSES = "g$lshzxetn"  # generic string list set hash zset expired evicted stream new


def cmd(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    t = line[:1]
    out = line
    if t in b"$=!":
        n = int(line[1:-2])
        if n >= 0:
            out += f.read(n + 2)
    elif t in b"*~>":
        n = int(line[1:-2])
        for _ in range(max(n, 0)):
            out += read_reply(f)
    elif t in b"%|":
        n = int(line[1:-2])
        for _ in range(2 * n):
            out += read_reply(f)
    return out


def parse_array(raw):
    """The bulk strings of a flat RESP2 array of bulks (a pub/sub message)."""
    parts = raw.split(b"\r\n")
    n = int(parts[0][1:])
    items, i = [], 1
    for _ in range(n):
        ln = int(parts[i][1:])
        items.append(parts[i + 1][:ln] if ln >= 0 else None)
        i += 2
    return items


def unescape(s):
    out, i, b = bytearray(), 0, s.encode()
    while i < len(b):
        if b[i] == 0x5C and i + 1 < len(b):
            c = chr(b[i + 1])
            if c == "r":
                out.append(13)
            elif c == "n":
                out.append(10)
            elif c == "\\":
                out.append(0x5C)
            elif c == "x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 2
            else:
                raise ValueError("bad escape in %r" % s)
            i += 2
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def escape(b):
    s = ""
    for c in b:
        if c == 0x5C:
            s += "\\\\"
        elif c == 13:
            s += "\\r"
        elif c == 10:
            s += "\\n"
        elif 0x21 <= c < 0x7F:
            s += chr(c)
        else:
            s += "\\x%02x" % c
    return s


def load_cases():
    cases = []
    for line in open(os.path.join(here, "notify_cases.txt"), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        loose = line.startswith("~ ")
        if loose:
            line = line[2:]
        cases.append((loose, [unescape(a) for a in line.split(" ")]))
    return cases


class Server:
    def __init__(self, port):
        self.c = socket.create_connection(("127.0.0.1", port))
        self.cf = self.c.makefile("rb")
        self.s = socket.create_connection(("127.0.0.1", port))
        self.sf = self.s.makefile("rb")
        self.s.sendall(cmd([b"PSUBSCRIBE", b"__keyevent@*__:*"]))
        read_reply(self.sf)
        self.marks = 0

    def call(self, args):
        self.c.sendall(cmd(args))
        return read_reply(self.cf)

    def events_until_marker(self):
        """Publishes a marker and returns the (db, event, key) received before it."""
        self.marks += 1
        mark = b"mark%d" % self.marks
        self.call([b"PUBLISH", b"__keyevent@0__:__marker__", mark])
        out = []
        while True:
            msg = parse_array(read_reply(self.sf))
            if msg[0] != b"pmessage":
                continue
            channel, payload = msg[2], msg[3]
            if channel == b"__keyevent@0__:__marker__" and payload == mark:
                return out
            head, event = channel.split(b"__:", 1)
            db = int(head[len(b"__keyevent@"):])
            out.append((db, event.decode(), payload))

    def run(self, flags, cases):
        """Runs every case from an empty server with `flags`; per case (reply, events)."""
        self.call([b"CONFIG", b"SET", b"notify-keyspace-events", b""])
        self.call([b"SELECT", b"0"])
        self.call([b"FLUSHALL"])
        self.call([b"CONFIG", b"SET", b"notify-keyspace-events", flags.encode()])
        self.events_until_marker()
        out = []
        for _, args in cases:
            if args[0] == b"@advance":
                time.sleep(int(args[1]) / 1000)
                reply = None
            else:
                reply = self.call(args)
            out.append((reply, self.events_until_marker()))
        return out


def classify(full, per_class):
    """Gives each event of the full run the class whose run raised it at that point."""
    queues = {c: list(evs) for c, evs in per_class.items()}
    out = []
    for e in full:
        owners = [c for c, q in queues.items() if q and q[0] == e]
        if len(owners) != 1:
            raise RuntimeError("cannot classify %r (candidates %r)" % (e, owners))
        queues[owners[0]].pop(0)
        out.append((owners[0],) + e)
    left = {c: q for c, q in queues.items() if q}
    if left:
        raise RuntimeError("events only in single-class runs: %r" % left)
    return out


def main():
    port = int(sys.argv[1])
    cases = load_cases()
    srv = Server(port)
    if srv.call([b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"]) != b"+OK\r\n":
        sys.exit("DEBUG SET-ACTIVE-EXPIRE 0 failed: start the server with --enable-debug-command")
    full = srv.run("EAn", cases)
    runs = {c: srv.run("E" + c, cases) for c in CLASSES}
    lines = [
        "# Keyspace events raised by valkey-server 8.0.1 for each command line, recorded by",
        "# tests/reference/capture_notify.py from tests/reference/notify_cases.txt.",
        "# \"> args\" (escaped: \\\\ \\r \\n \\xNN; \"~ \" = reply not compared), \"2 <RESP2 reply>\",",
        "# then \"@ <db> <class> <event> <key>\" per event, in the order Valkey raised them.",
    ]
    total = 0
    for i, (loose, args) in enumerate(cases):
        reply, events = full[i]
        classified = classify(events, {c: runs[c][i][1] for c in CLASSES})
        lines.append(("> ~ " if loose else "> ") + " ".join(escape(a) for a in args))
        if reply is not None:
            lines.append("2 " + escape(reply))
        for cls, db, event, key in classified:
            lines.append("@ %d %s %s %s" % (db, cls, event, escape(key)))
            total += 1
    path = os.path.join(here, "..", "data", "notify_valkey.txt")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(len(cases), "commands,", total, "events")


if __name__ == "__main__":
    main()
