#!/usr/bin/env python3
"""Compare servers key by key (semantic content, independent of DEBUG DIGEST):
type, PEXPIRETIME, value (strings; hash/set sorted; list in order; zset member->float score).
Also reports keys whose DEBUG DIGEST-VALUE differs although content is equal.
usage: cmpkeys.py PORTA PORTB [maxshow]; exit 0 if contents equal"""
import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp import R
a, b = R(int(sys.argv[1])), R(int(sys.argv[2])); maxshow = int(sys.argv[3]) if len(sys.argv) > 3 else 10
def keys(r):
    cur, ks = b"0", set()
    while True:
        cur, batch = r("SCAN", cur, "COUNT", 1000); ks.update(batch)
        if cur == b"0": return ks
import re
def dbs(r):
    ks = r("INFO", "keyspace").decode()
    return set(int(m) for m in re.findall(r"^db(\d+):", ks, re.M))
def compare_db():
    ka, kb = keys(a), keys(b)
    print("keys: A=%d B=%d onlyA=%d onlyB=%d" % (len(ka), len(kb), len(ka - kb), len(kb - ka)))
    for k in sorted(ka - kb)[:maxshow]: print("  only in A:", k)
    for k in sorted(kb - ka)[:maxshow]: print("  only in B:", k)
    common = sorted(ka & kb)
    import os; IGN_EXP = os.environ.get("CMP_IGNORE_EXPIRE") == "1"
    READ = {"string": ("GET",), "hash": ("HGETALL",), "list": ("LRANGE", 0, -1), "set": ("SMEMBERS",),
            "zset": ("ZRANGE", 0, -1, "WITHSCORES")}
    def norm(t, v):
        if t == "hash": return sorted(zip(v[0::2], v[1::2]))
        if t == "set": return sorted(v)
        if t == "zset": return [(m, float(s)) for m, s in zip(v[0::2], v[1::2])]
        return v
    def fetch(r, ks):
        types = r.pipe([("TYPE", k) for k in ks])
        res = r.pipe([c for k, t in zip(ks, types) for c in (("PEXPIRETIME", k), (READ.get(t, ("EXISTS",))[0], k) + READ.get(t, ("EXISTS",))[1:], ("DEBUG", "DIGEST-VALUE", k))])
        return [(t, None if IGN_EXP else res[i*3], norm(t, res[i*3+1]), res[i*3+2]) for i, t in enumerate(types)]
    bad, dig_only = [], []
    for i in range(0, len(common), 300):
        ks = common[i:i+300]
        for k, x, y in zip(ks, fetch(a, ks), fetch(b, ks)):
            if x[:3] != y[:3]: bad.append((k, x[:3], y[:3]))
            elif x[3] != y[3]: dig_only.append((k, x[3], y[3]))
    print("keys with different content/type/expire:", len(bad))
    for k, x, y in bad[:maxshow]: print("  ", k, "\n     A:", str(x)[:300], "\n     B:", str(y)[:300])
    print("keys with equal content but different DEBUG DIGEST-VALUE:", len(dig_only))
    for k, x, y in dig_only[:maxshow]: print("  ", k, x, y)
    return (not bad and ka == kb)

alldbs = sorted(dbs(a) | dbs(b)) or [0]
ok = True
for db in alldbs:
    a("SELECT", db); b("SELECT", db)
    if alldbs != [0]: print("db%d:" % db)
    ok = compare_db() and ok
sys.exit(0 if ok else 1)
