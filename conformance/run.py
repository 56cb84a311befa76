#!/usr/bin/env python3
"""Runs Valkey 8.0.1's own Tcl test suite, unmodified, against redwing-server (or, for the
reference figures, against Valkey itself) and checks the results against the tracked skip list.

    conformance/run.py                      # the CI set (see SETS), against Redwing
    conformance/run.py --set all            # every unit of the suite
    conformance/run.py unit/type/list ...   # chosen units
    conformance/run.py --server valkey      # the same units against Valkey 8.0.1 itself
    conformance/run.py --tls --set tls      # the suite's TLS mode (runtest --tls)

The harness is used as it is: a scratch directory gets a copy of the suite's `tests/` and a
`src/` whose `valkey-server` is the server under test (valkey-cli, valkey-benchmark and the
check tools come from the reference build). Each unit runs in its own `runtest` process
(`--single UNIT --clients 1 --durable`), so results are attributed to units and an exception
fails one test instead of aborting the unit.

The skip list (conformance/skiplist.txt) names every gap. A `fail` entry runs and must fail: if
it passes, the run fails ("stale entry"), so the list cannot go stale. A `skip` entry is not run
(it hangs, crashes the harness or cannot apply); a whole unit can be skipped with `*`. Any
failure not listed fails the run. Results go to --out (default .cache/suite-results): one JSON
per unit, the raw logs, and summary.md.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPLIST = ROOT / "conformance" / "skiplist.txt"

# Units run by CI (scripts/test.sh): the replication units and the data-type units that fit the
# 40-minute budget of the whole CI run on a 2-core machine.
REPLICATION_UNITS = [
    "integration/replication",
    "integration/replication-2",
    "integration/replication-3",
    "integration/replication-4",
    "integration/replication-psync",
    "integration/replication-buffer",
    "integration/psync2",
    "integration/psync2-reg",
    "integration/psync2-pingoff",
    "integration/psync2-master-restart",
    "integration/dual-channel-replication",
    "integration/block-repl",
    "integration/failover",
    "integration/rdb",
    "integration/convert-zipmap-hash-on-load",
    "integration/convert-ziplist-hash-on-load",
    "integration/convert-ziplist-zset-on-load",
    "integration/shutdown",
]
DATA_UNITS = [
    "unit/type/string",
    "unit/type/incr",
    "unit/type/list",
    "unit/type/list-2",
    "unit/type/list-3",
    "unit/type/hash",
    "unit/type/set",
    "unit/type/zset",
    "unit/type/stream",
    "unit/type/stream-cgroups",
    "unit/expire",
    "unit/keyspace",
    "unit/multi",
    "unit/pubsub",
    "unit/pubsubshard",
    "unit/info",
    "unit/info-command",
    "unit/bitops",
    "unit/bitfield",
    "unit/geo",
    "unit/hyperloglog",
    "unit/sort",
    "unit/scan",
    "unit/dump",
    "unit/protocol",
    "unit/querybuf",
    "unit/quit",
    "unit/auth",
    "unit/limits",
    "unit/slowlog",
    "unit/latency-monitor",
    "unit/tracking",
    "unit/wait",
    "unit/pause",
    "unit/lazyfree",
]
PERSISTENCE_UNITS = [
    "integration/aof",
    "integration/aof-multi-part",
    "unit/aofrw",
    "unit/shutdown",
]
# Units run by CI a second time in the suite's TLS mode (`--tls`: every server listens on
# tls-port only, replicates with tls-replication, and the suite's client speaks TLS).
TLS_UNITS = [
    "unit/tls",
    "integration/replication-2",
    "integration/replication-4",
    "integration/dual-channel-replication",
    "integration/psync2-reg",
]
SETS = {
    "ci": REPLICATION_UNITS + DATA_UNITS + PERSISTENCE_UNITS,
    "tls": TLS_UNITS,
    "persistence": PERSISTENCE_UNITS,
    "replication": REPLICATION_UNITS,
    "data": DATA_UNITS,
}

ANSI = re.compile(r"\x1b\[[0-9;]*m")
OK = re.compile(r"^\[ok\]: (.*) \((\d+) ms\)$")
ERR = re.compile(r"^\[err\]: (.*) in (tests/\S+\.tcl)$")
SKIP = re.compile(r"^\[skip\]: (.*)$")
IGNORE = re.compile(r"^\[ignore\]: (.*)$")


class SkipEntry:
    def __init__(self, unit, test, expect, reason, line):
        self.unit, self.test, self.expect, self.reason, self.line = unit, test, expect, reason, line

    def matches(self, name):
        if self.test.startswith("@"):
            return False
        if self.test == "*":
            return True
        if self.test.startswith("/"):
            return re.search(self.test[1:], name) is not None
        return self.test == name


def load_skiplist(path, tls=False):
    """Entries: `unit :: test name (or * or /regexp) :: fail|skip :: reason`. A unit written
    `tls:unit` applies only in TLS mode (`--tls`), `notls:unit` only outside it."""
    entries = []
    problems = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" :: ")]
        if len(parts) != 4:
            problems.append(f"{path.name}:{n}: expected 'unit :: test :: fail|skip :: reason'")
            continue
        unit, test, expect, reason = parts
        if unit.startswith("tls:") or unit.startswith("notls:"):
            mode, unit = unit.split(":", 1)
            if (mode == "tls") != tls:
                continue
        if expect not in ("fail", "skip"):
            problems.append(f"{path.name}:{n}: kind must be fail or skip, not {expect!r}")
        if not re.match(r"^(issue \d+|accepted|harness|gap)\b", reason):
            problems.append(
                f"{path.name}:{n}: the reason must start with 'issue N' (a capability of an open"
                " issue, not built yet), 'gap' (a missing behaviour no open issue covers yet),"
                " 'accepted' (a justified difference) or 'harness' (a limit of running the suite"
                " here)"
            )
        if test == "*" and expect != "skip":
            problems.append(f"{path.name}:{n}: a whole unit (*) can only be skipped")
        entries.append(SkipEntry(unit, test, expect, reason, n))
    return entries, problems


def tls_certs(valkey_dir):
    """The suite's test certificates (its utils/gen-test-certs.sh), generated once into .cache."""
    base = ROOT / ".cache" / "tls-certs"
    if not (base / "tests" / "tls" / "valkey.dh").exists():
        (base / "tests").mkdir(parents=True, exist_ok=True)
        subprocess.run(["bash", str(valkey_dir / "utils" / "gen-test-certs.sh")], cwd=base,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return base / "tests" / "tls"


def prepare_workdir(work, valkey_dir, server, certs=None):
    """A scratch copy of the suite whose src/valkey-server is the server under test."""
    if work.exists():
        shutil.rmtree(work)
    (work / "src").mkdir(parents=True)
    shutil.copytree(valkey_dir / "tests", work / "tests", symlinks=True)
    tmp = work / "tests" / "tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for tool in ("valkey-cli", "valkey-benchmark", "valkey-check-aof", "valkey-check-rdb",
                 "valkey-sentinel"):
        src = valkey_dir / "src" / tool
        if src.exists():
            os.symlink(src, work / "src" / tool)
    os.symlink(server, work / "src" / "valkey-server")
    if certs is not None:
        shutil.copytree(certs, work / "tests" / "tls")
    # Some tests read files from the source tree (e.g. src/valkey.conf); keep them reachable.
    for extra in ("valkey.conf", "sentinel.conf"):
        if (valkey_dir / extra).exists():
            shutil.copy(valkey_dir / extra, work / extra)
    return work


def block_error(lines, start):
    """The message under an `[err]:` outside any test. A server that refused a block's
    configuration prints `CONFIGURATION:` (the whole file) then `ERROR:`: the message is the
    error, then the non-default directives of the file that explain it (`appendonly yes`,
    `cluster-enabled yes`, `rename-command`), so a skip-list `@` entry can name either."""
    block = []
    for line in lines[start:start + 120]:
        if not line.strip() or line.startswith("["):
            break
        block.append(line.strip())
    if "ERROR:" in block:
        k = block.index("ERROR:")
        shown = [l for l in block[:k] if l in ("appendonly yes", "cluster-enabled yes")]
        if any(l.startswith("rename-command ") for l in block[:k]):
            shown.append("rename-command")
        return " ".join(block[k + 1:k + 4] + shown)[:400]
    return " ".join(block[:2])[:300]


def parse_output(text):
    """Per-test outcomes from a runtest log: {name: [outcome...]}, the first lines of each
    failure's message ({name: text}), and unit-level errors."""
    tests = {}
    details = {}
    unit_errors = []
    lines = [ANSI.sub("", l) for l in text.splitlines()]
    for i, line in enumerate(lines):
        if m := OK.match(line):
            tests.setdefault(m.group(1), []).append("ok")
        elif m := ERR.match(line):
            tests.setdefault(m.group(1), []).append("err")
            details.setdefault(m.group(1), " ".join(l.strip() for l in lines[i + 1:i + 3])[:400])
        elif line.startswith("[err]: "):
            unit_errors.append(line[7:] + " | " + block_error(lines, i + 1))
        elif line.startswith("[TIMEOUT]: "):
            # runtest's no-progress timeout: the unit stopped at the test in progress.
            stuck = next((l.split("(IN PROGRESS)", 1)[1].strip() for l in lines[i + 1:i + 8]
                          if "(IN PROGRESS)" in l), "?")
            unit_errors.append(f"harness timeout (no progress) in test '{stuck}'")
        elif line.startswith("[exception]: "):
            unit_errors.append("exception: " + line[13:] + " | " + " ".join(lines[i + 1:i + 4])[:300])
        elif m := SKIP.match(line):
            tests.setdefault(m.group(1), []).append("skip")
        elif m := IGNORE.match(line):
            tests.setdefault(m.group(1), []).append("ignore")
    return tests, details, unit_errors


PORTS_PER_SLOT = 1500


def free_port_block(jobs):
    """A port range for `jobs` slots whose harness ports are free now, so that several runs on
    one machine (other checkouts, the reference run) do not collide."""
    import random
    import socket
    # The harness also binds port + 10000 of every port it uses (find_available_port), and
    # its test server listens in the 32 ports below the base: the whole block plus 10000
    # must stay under 65536.
    starts = list(range(20000, 65536 - 10000 - jobs * PORTS_PER_SLOT - 100, 500))
    random.shuffle(starts)
    for base in starts:
        try:
            for slot in range(jobs):
                first = base + slot * PORTS_PER_SLOT
                for port in (first - 32, first - 1, first, first + 100):
                    for p in (port, port + 10000):
                        with socket.socket() as sock:
                            sock.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    sys.exit("valkey-suite: no free port block between 20000 and 60000")


def run_unit(unit, work, slot, args, skips):
    whole = [e for e in skips if e.unit == unit and e.test == "*"]
    if whole:
        return {"unit": unit, "status": "skipped", "reason": whole[0].reason, "tests": {},
                "details": {}, "unit_errors": [], "seconds": 0}
    cmd = ["tclsh8.6", "tests/test_helper.tcl", "--single", unit, "--clients", "1", "--durable",
           "--timeout", str(args.stall_timeout), "--baseport", str(args.baseport + slot * PORTS_PER_SLOT),
           "--portcount", "1400", "--dont-pre-clean"]
    if args.tls:
        cmd.append("--tls")
    for e in skips:
        if e.unit == unit and e.expect == "skip":
            cmd += ["--skiptest", e.test]
    log_path = args.out / (unit.replace("/", "_") + ".log")
    started = time.monotonic()
    for attempt in range(3):
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                proc.wait(timeout=args.unit_timeout)
                status = "finished" if proc.returncode == 0 else "failed"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = "timeout"
        # The harness's own listening port taken by another program between our probe and its
        # start: nothing ran, so run it again.
        head = log_path.read_text(errors="replace")[:2000]
        if status != "failed" or "couldn't open socket: address already in use" not in head:
            break
        time.sleep(1 + attempt)
    seconds = round(time.monotonic() - started, 1)
    text = log_path.read_text(errors="replace")
    tests, details, unit_errors = parse_output(text)
    plain = ANSI.sub("", text)
    if "All tests passed" not in plain and "[err]" not in plain and status == "failed":
        # No result at all: the harness itself failed (not a test).
        unit_errors.append("runtest exited %d without results (see %s)" % (proc.returncode, log_path.name))
    if status == "timeout":
        unit_errors.append(f"unit killed after {args.unit_timeout} s (see {log_path.name})")
    return {"unit": unit, "status": status, "tests": tests, "details": details,
            "unit_errors": unit_errors, "seconds": seconds}


def judge(result, skips):
    """Splits a unit's tests into ok / expected failures / problems."""
    unit = result["unit"]
    entries = [e for e in skips if e.unit == unit]
    counts = {"ok": 0, "err": 0, "listed_fail": 0, "listed_skip": 0, "tag_skip": 0}
    problems = []
    used = set()
    for name, outcomes in sorted(result["tests"].items()):
        entry = next((e for e in entries if e.matches(name)), None)
        if entry:
            used.add(entry.line)
        ran = [o for o in outcomes if o in ("ok", "err")]
        skipped = len(outcomes) - len(ran)
        if entry and entry.expect == "skip":
            counts["listed_skip"] += skipped
        else:
            counts["tag_skip"] += skipped
        if not ran:
            continue
        oks, errs = ran.count("ok"), ran.count("err")
        if entry and entry.expect == "fail":
            counts["listed_fail"] += errs
            counts["ok"] += oks
            if not errs:
                problems.append(f"stale skip-list entry (line {entry.line}): '{name}' now passes")
        else:
            counts["ok"] += oks
            counts["err"] += errs
            if errs:
                problems.append(f"unexpected failure: '{name}'")
    # Errors outside any test (a server that refused to start with a block's configuration,
    # an exception in setup code) are listed as `@<text found in the error>`.
    for err in result["unit_errors"]:
        entry = next((e for e in entries if e.test.startswith("@") and e.test[1:] in err), None)
        if entry:
            used.add(entry.line)
            counts["listed_fail"] += 1
        else:
            problems.append("unit error: " + err)
    if result["status"] == "skipped":
        return counts, problems
    for e in entries:
        if e.line not in used and e.test != "*" and not e.test.startswith("/"):
            what = "error" if e.test.startswith("@") else "test"
            problems.append(f"stale skip-list entry (line {e.line}) matched no {what}: '{e.test}'")
    return counts, problems


# Reasons guessed from a failure's message (a first draft for --propose; reviewed by hand).
GUESSES = [
    (r"unknown command '(eval|evalsha|eval_ro|evalsha_ro|script|function|fcall|fcall_ro)'",
     "issue 13: scripting ({0})"),
    (r"unknown command '(acl|auth)'|NOPERM|WRONGPASS|ACL", "issue 15: ACL ({0})"),
    (r"unknown command '(bgrewriteaof|waitaof)'|loadaof|appendonly|aof", "issue 16: AOF ({0})"),
    (r"unknown command '(failover)'", "issue 14: FAILOVER"),
    (r"unknown command '(x[a-z]+)'", "issue 12: streams ({0})"),
    (r"unknown command '(migrate)'", "gap: MIGRATE is not implemented (no open issue)"),
    (r"unknown subcommand '([a-z-]+)'", "TODO: subcommand {0}"),
    (r"unknown command '([a-z_]+)'", "TODO: command {0}"),
]


def guess_reason(detail):
    for pattern, reason in GUESSES:
        m = re.search(pattern, detail, re.I)
        if m:
            return reason.format(*([g.lower() for g in m.groups() if g] or [""]))
    return "TODO: " + detail[:160].replace(" :: ", " ")


def summary_table(rows, reference):
    out = ["| unit | ok | err | listed fail | listed skip | seconds | Valkey 8.0.1 ok / err |",
           "|---|---:|---:|---:|---:|---:|---|"]
    tot = {"ok": 0, "err": 0, "listed_fail": 0, "listed_skip": 0}
    for unit, counts, res in rows:
        ref = reference.get(unit)
        ref_txt = f"{ref['ok']} / {ref['err']}" if ref else "—"
        if res["status"] == "skipped":
            out.append(f"| {unit} | — | — | — | whole unit | 0 | {ref_txt} |")
            continue
        for k in tot:
            tot[k] += counts[k]
        out.append(f"| {unit} | {counts['ok']} | {counts['err']} | {counts['listed_fail']} | "
                   f"{counts['listed_skip']} | {res['seconds']:.0f} | {ref_txt} |")
    out.append(f"| **total** | **{tot['ok']}** | **{tot['err']}** | **{tot['listed_fail']}** | "
               f"**{tot['listed_skip']}** | | |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("units", nargs="*", help="units to run (default: the --set)")
    ap.add_argument("--set", default="ci", choices=sorted(SETS) + ["all"])
    ap.add_argument("--server", default="redwing",
                    help="'redwing' (target/release/redwing-server), 'valkey' (the reference), or a path")
    ap.add_argument("--valkey-dir", type=Path, help="reference build (default: scripts/build-valkey.sh)")
    ap.add_argument("--jobs", type=int, default=2, help="units run in parallel")
    ap.add_argument("--baseport", type=int,
                    help="first port of the range the harness uses (default: a free block)")
    ap.add_argument("--out", type=Path,
                    help="results (default .cache/suite-results, or suite-results-tls with --tls)")
    ap.add_argument("--tls", action="store_true",
                    help="the suite's TLS mode (needs tcl-tls; certificates from its gen-test-certs.sh)")
    ap.add_argument("--unit-timeout", type=int, default=1200, help="seconds before a unit is killed")
    ap.add_argument("--stall-timeout", type=int, default=300, help="runtest's own no-progress timeout")
    ap.add_argument("--work-name", default="suite-work",
                    help="scratch directories .cache/NAME-<slot> (two runs at once need two names)")
    ap.add_argument("--no-skiplist", action="store_true", help="run everything, judge nothing")
    ap.add_argument("--propose", type=Path,
                    help="write skip-list lines for the unexpected failures to this file, with a "
                         "reason guessed from the failure message (to review before adding)")
    ap.add_argument("--reference", type=Path,
                    help="per-unit figures of Valkey itself, for the table")
    args = ap.parse_args()
    if args.out is None:
        args.out = ROOT / ".cache" / ("suite-results-tls" if args.tls else "suite-results")
    if args.reference is None:
        name = "valkey-8.0.1-tls.json" if args.tls else "valkey-8.0.1.json"
        args.reference = ROOT / "conformance" / "results" / name

    if shutil.which("tclsh8.6") is None:
        sys.exit("valkey-suite: tclsh8.6 not found (scripts/setup-test-deps.sh installs tcl)")
    valkey_dir = args.valkey_dir.resolve() if args.valkey_dir else None
    if valkey_dir is None:
        build = subprocess.run([str(ROOT / "scripts" / "build-valkey.sh")], check=True,
                               stdout=subprocess.PIPE, text=True)
        valkey_dir = Path(build.stdout.strip().splitlines()[-1])
    if args.server == "redwing":
        server = ROOT / "target" / "release" / "redwing-server"
    elif args.server == "valkey":
        server = valkey_dir / "src" / "valkey-server"
    else:
        server = Path(args.server).resolve()
    if not server.exists():
        sys.exit(f"valkey-suite: server binary not found: {server} (cargo build --release?)")

    skips, problems = ([], []) if args.no_skiplist or args.server == "valkey" else load_skiplist(SKIPLIST, args.tls)
    if problems:
        print("\n".join(problems))
        sys.exit("valkey-suite: the skip list is malformed")

    if args.units:
        units = args.units
    elif args.set == "all":
        units = sorted(
            f"{d}/{p.stem}"
            for d in ("unit", "unit/type", "unit/cluster", "integration")
            for p in (valkey_dir / "tests" / d).glob("*.tcl")
        )
    else:
        units = SETS[args.set]

    args.out.mkdir(parents=True, exist_ok=True)
    if args.baseport is None:
        args.baseport = free_port_block(args.jobs)
    certs = None
    if args.tls:
        probe = subprocess.run(["tclsh8.6"], input="package require tls", text=True,
                               capture_output=True)
        if probe.returncode != 0:
            sys.exit("valkey-suite: --tls needs Tcl's tls package (scripts/setup-test-deps.sh installs tcl-tls)")
        certs = tls_certs(valkey_dir)
    works = [prepare_workdir(ROOT / ".cache" / f"{args.work_name}-{i}", valkey_dir, server, certs)
             for i in range(args.jobs)]
    mode = " in TLS mode" if args.tls else ""
    print(f"valkey-suite: {len(units)} units against {server}{mode} ({args.jobs} at a time)", flush=True)

    started = time.monotonic()
    slots = list(range(args.jobs))
    import threading
    lock = threading.Lock()

    def task(unit):
        with lock:
            slot = slots.pop()
        try:
            res = run_unit(unit, works[slot], slot, args, skips)
        finally:
            with lock:
                slots.append(slot)
        counts, probs = judge(res, skips)
        (args.out / (unit.replace("/", "_") + ".json")).write_text(json.dumps(
            {**res, "counts": counts, "problems": probs}, indent=1))
        mark = "SKIPPED" if res["status"] == "skipped" else ("ok" if not probs else "PROBLEMS")
        print(f"  {unit}: {counts['ok']} ok, {counts['err']} err, {counts['listed_fail']} listed"
              f" fail, {counts['listed_skip']} listed skip, {res['seconds']:.0f}s — {mark}", flush=True)
        for p in probs[:20]:
            print(f"      {p}", flush=True)
        return unit, counts, res, probs

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(task, units))

    reference = {}
    if args.reference.exists() and args.server != "valkey":
        reference = json.loads(args.reference.read_text())
    table = summary_table([(u, c, r) for u, c, r, _ in results], reference)
    (args.out / "summary.md").write_text(table)
    if args.server == "valkey":
        ref = {u: {"ok": c["ok"], "err": c["err"]} for u, c, r, _ in results}
        (args.out / "valkey-8.0.1.json").write_text(json.dumps(ref, indent=1, sort_keys=True))
    print(table)
    if args.propose:
        lines = []
        for unit, counts, res, _ in results:
            for name, outcomes in sorted(res["tests"].items()):
                listed = any(e.unit == unit and e.matches(name) for e in skips)
                if "err" in outcomes and not listed:
                    detail = res.get("details", {}).get(name, "")
                    lines.append(f"{unit} :: {name} :: fail :: {guess_reason(detail)}")
        args.propose.write_text("\n".join(lines) + "\n")
        print(f"valkey-suite: {len(lines)} proposed entries in {args.propose}")
    total_problems = sum(len(p) for *_, p in results)
    print(f"valkey-suite: {len(units)} units in {time.monotonic() - started:.0f} s, "
          f"{total_problems} problems; details in {args.out}")
    sys.exit(1 if total_problems and not args.no_skiplist else 0)


if __name__ == "__main__":
    main()
