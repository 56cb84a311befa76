import socket
class R:
    def __init__(s, port, host="127.0.0.1"):
        s.s = socket.create_connection((host, port)); s.f = s.s.makefile("rb")
    def send(s, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        s.s.sendall(b"".join(out))
    def read(s):
        l = s.f.readline()
        t, rest = l[:1], l[1:-2]
        if t == b"+": return rest.decode()
        if t == b"-": return Exception(rest.decode())
        if t == b":": return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            d = s.f.read(n + 2); return d[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0: return None
            return [s.read() for _ in range(n)]
        raise ValueError(l)
    def __call__(s, *args):
        s.send(*args); return s.read()
    def pipe(s, cmds):
        for c in cmds: s.send(*c)
        return [s.read() for _ in cmds]
