#!/usr/bin/env python3
"""Prints the import graph of a crate's modules (one node per .rs file) and any cycle in it.

    scripts/modgraph.py crates/server/src        # exit status 1 if there is a cycle

An edge A -> B means a path `crate::b...` (or `super::b` resolved to it) appears in A outside
its `#[cfg(test)]` part. ARCHITECTURE.md states the layering this keeps."""
import os
import re
import sys

root = sys.argv[1]
files = {}
for dp, _, fn in os.walk(root):
    for f in fn:
        if f.endswith(".rs"):
            rel = os.path.relpath(os.path.join(dp, f), root)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = ["lib"]
            files["::".join(rel)] = os.path.join(dp, f)


def resolve(path):
    """The longest module prefix of `a::b::c` that is a file."""
    parts = path.split("::")
    for n in range(len(parts), 0, -1):
        cand = "::".join(parts[:n])
        if cand in files:
            return cand
    return None


graph = {}
for mod, path in files.items():
    src = open(path).read()
    src = re.split(r"#\[cfg\(test\)\]\s*mod tests", src)[0]
    # Comments (docs included) name modules without depending on them.
    src = re.sub(r"//[^\n]*", "", src)
    deps = set()
    for m in re.findall(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", src):
        r = resolve(m)
        if r and r != mod:
            deps.add(r)
    parent = mod.rsplit("::", 1)[0] if "::" in mod else ""
    for m in re.findall(r"\bsuper::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", src):
        r = resolve((parent + "::" if parent else "") + m)
        if r and r != mod:
            deps.add(r)
    for m in re.findall(r"\buse (?:self::)?([a-z_][a-z0-9_]*)::", src):
        r = resolve((mod + "::" + m) if mod != "lib" else m)
        if r and r != mod and r.startswith(mod + "::"):
            pass  # a module's own children are not edges back
    graph[mod] = deps

# Tarjan's strongly connected components.
sys.setrecursionlimit(10000)
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        sccs.append(comp)


for v in graph:
    if v not in index:
        strong(v)
cycles = [sorted(c) for c in sccs if len(c) > 1]
# lib (the crate root) declares every module; parents declare their children: not cycles.
for mod in sorted(graph):
    print(f"{mod} -> {', '.join(sorted(graph[mod])) or '-'}")
for c in cycles:
    print("CYCLE:", " ".join(c))
sys.exit(1 if cycles else 0)
