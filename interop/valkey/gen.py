#!/usr/bin/env python3
"""Deterministic RESP generator for mixed-type data sets (pipe into redis-cli --pipe).

usage: gen.py load PREFIX [NKEYS]   -> initial load (~NKEYS keys of mixed types)
       gen.py more PREFIX SEED      -> follow-up writes: new keys, modifications, deletes
"""
import os
import random
import sys

FULL_DOUBLES = os.environ.get("GEN_FULL_DOUBLES") == "1"

out = sys.stdout.buffer


def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(parts))


def load(prefix, n):
    rnd = random.Random(prefix)
    ns = n * 60 // 100   # strings
    nh = n * 10 // 100   # hashes
    nl = n * 10 // 100   # lists
    nset = n * 10 // 100  # sets
    nz = n - ns - nh - nl - nset  # zsets
    for i in range(ns):
        k = f"{prefix}:str:{i}"
        kind = i % 6
        if kind == 0:
            cmd("SET", k, rnd.randint(-10**12, 10**12))          # int encoding
        elif kind == 1:
            cmd("SET", k, f"v{i}")                                # embstr
        elif kind == 2:
            cmd("SET", k, "x" * rnd.randint(45, 300))           # raw, LZF compressible
        elif kind == 3:
            cmd("SET", k, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(20, 200))))  # binary
        elif kind == 4:
            cmd("SET", k, f"ttl{i}", "EX", 100000 + i)            # with expire
        else:
            cmd("APPEND", k, "a" * 10)
            cmd("INCRBYFLOAT", f"{prefix}:flt:{i}", "1.5")
    for i in range(nh):
        k = f"{prefix}:hash:{i}"
        nf = 300 if i % 50 == 0 else rnd.randint(1, 20)         # some hashtable-encoded
        args = []
        for f in range(nf):
            args += [f"f{f}", rnd.choice([str(rnd.randint(0, 10**6)), "val" * rnd.randint(1, 30)])]
        cmd("HSET", k, *args)
    for i in range(nl):
        k = f"{prefix}:list:{i}"
        ne = 1000 if i % 100 == 0 else rnd.randint(1, 30)       # some multi-node quicklists
        cmd("RPUSH", k, *[rnd.choice([str(rnd.randint(0, 10**9)), "e" * rnd.randint(1, 80)]) for _ in range(ne)])
    for i in range(nset):
        k = f"{prefix}:set:{i}"
        t = i % 3
        if t == 0:
            members = [str(rnd.randint(0, 10**6)) for _ in range(rnd.randint(1, 40))]   # intset
        elif t == 1:
            members = [f"m{rnd.randint(0, 10**6)}" for _ in range(rnd.randint(1, 40))]  # listpack
        else:
            members = [f"m{rnd.randint(0, 10**6)}" for _ in range(300)]                 # hashtable
        cmd("SADD", k, *members)
    for i in range(nz):
        k = f"{prefix}:zset:{i}"
        nm = 300 if i % 40 == 0 else rnd.randint(1, 30)         # some skiplist-encoded
        args = []
        for m in range(nm):
            x = rnd.uniform(-1000, 1000)
            if not FULL_DOUBLES:
                x = round(x, 4)   # see README: full-precision doubles trip a DEBUG DIGEST formatting difference
            args += [repr(x) if m % 3 else str(rnd.randint(-50, 50)), f"zm{m}"]
        cmd("ZADD", k, *args)
    out.flush()


def more(prefix, seed):
    rnd = random.Random(f"{prefix}-{seed}")
    if os.environ.get("GEN_KILL_FIRST") == "1":
        cmd("CLIENT", "KILL", "TYPE", "replica")   # same pipeline: writes land in the backlog before the replica can reconnect
    for i in range(2000):
        r = i % 14
        k = rnd.randint(0, 999)
        if r == 0:
            cmd("SET", f"{prefix}:new{seed}:{i}", rnd.randint(0, 10**9))
        elif r == 1:
            cmd("INCRBY", f"{prefix}:cnt:{k % 50}", rnd.randint(1, 100))
        elif r == 2:
            cmd("HSET", f"{prefix}:hash:{k}", f"nf{seed}", "newval", "f0", str(i))
        elif r == 3:
            cmd("LPUSH", f"{prefix}:list:{k}", f"lp{seed}-{i}")
        elif r == 4:
            cmd("RPOP", f"{prefix}:list:{k}")
        elif r == 5:
            cmd("SADD", f"{prefix}:set:{k}", f"s{seed}-{i}")
        elif r == 6:
            cmd("SREM", f"{prefix}:set:{k}", f"m{k}")
        elif r == 7:
            cmd("ZINCRBY", f"{prefix}:zset:{k}", 2.5, "zm0")
        elif r == 8:
            cmd("DEL", f"{prefix}:str:{rnd.randint(0, 11999)}")
        elif r == 9:
            cmd("EXPIRE", f"{prefix}:str:{rnd.randint(0, 11999)}", 500000)
        elif r == 10:
            cmd("SET", f"{prefix}:px{seed}:{i}", "v", "PX", 900000000)
        elif r == 11:
            cmd("HINCRBY", f"{prefix}:hash:{k}", "ctr", 3)
        elif r == 12:
            cmd("ZADD", f"{prefix}:zset:{k}", 1.25, f"new{seed}")
        else:
            cmd("MSET", f"{prefix}:ms{seed}:{i}a", "1", f"{prefix}:ms{seed}:{i}b", "2")
    out.flush()


def extra(prefix, seed):
    """multi-db, MULTI/EXEC, SWAPDB, FLUSHDB, big values, short TTLs"""
    rnd = random.Random(f"{prefix}-x-{seed}")
    for db in (1, 3, 15):
        cmd("SELECT", db)
        for i in range(300):
            cmd("SET", f"{prefix}:db{db}:{i}", f"v{seed}-{i}")
            cmd("HSET", f"{prefix}:db{db}:h{i % 20}", f"f{i}", i)
        cmd("MULTI")
        cmd("INCR", f"{prefix}:db{db}:ctr")
        cmd("LPUSH", f"{prefix}:db{db}:tx", seed)
        cmd("ZADD", f"{prefix}:db{db}:z", 1.5, f"m{seed}")
        cmd("EXEC")
    cmd("SELECT", 3)
    cmd("FLUSHDB")
    for i in range(50):
        cmd("SET", f"{prefix}:db3after:{i}", i)
    cmd("SWAPDB", 1, 2)
    cmd("SELECT", 0)
    cmd("SET", f"{prefix}:big:{seed}", "B" * (3 * 1024 * 1024 + 7))
    cmd("RPUSH", f"{prefix}:biglist:{seed}", *[str(i) for i in range(100000)])
    cmd("HSET", f"{prefix}:bighash:{seed}", *[x for i in range(20000) for x in (f"f{i}", f"v{i}")])
    cmd("SADD", f"{prefix}:bigset:{seed}", *[f"m{i}" for i in range(20000)])
    cmd("SADD", f"{prefix}:bigintset:{seed}", *[str(i * 7) for i in range(500)])
    for i in range(500):
        cmd("SET", f"{prefix}:short:{seed}:{i}", "x", "PX", 200 + i)
    cmd("SETRANGE", f"{prefix}:sr:{seed}", 100, "tail")
    cmd("COPY", f"{prefix}:big:{seed}", f"{prefix}:bigcopy:{seed}")
    cmd("RENAME", f"{prefix}:bigcopy:{seed}", f"{prefix}:bigcopy2:{seed}")
    out.flush()


def overflow(prefix, seed, mb):
    """CLIENT KILL TYPE replica followed by one command larger than the backlog"""
    cmd("CLIENT", "KILL", "TYPE", "replica")
    cmd("SET", f"{prefix}:overflow:{seed}", "O" * (mb * 1024 * 1024))
    out.flush()


if __name__ == "__main__":
    mode, prefix = sys.argv[1], sys.argv[2]
    if mode == "extra":
        extra(prefix, sys.argv[3])
    elif mode == "overflow":
        overflow(prefix, sys.argv[3], int(sys.argv[4]))
    elif mode == "load":
        load(prefix, int(sys.argv[3]) if len(sys.argv) > 3 else 20000)
    else:
        more(prefix, sys.argv[3])
