#!/usr/bin/env python3
"""t1071-replay FILE detects in event-time order (issue 12): a file in any
arrival order gives, through the CLI, exactly what the same file stably
sorted by event time gives to the engine in order.  TAP output.

    test-time-order.py T1071-REPLAY GEN-STREAM FIXTURES_DIR

The reference is always the unmodified streaming path on the sorted file:
`t1071-replay --order arrival --set engine.lateness=0s < SORTED` (every
event in order, nothing waits, nothing is late).  Compared byte for byte:
`--output sequences` and `--output alerts`.

1. Random streams (tests/bench/gen-stream, event ids on every event),
   shuffled within a bounded disorder D (each event's arrival = its time
   plus a uniform delay in [0, D]), for several D and seeds; also with a
   memory budget so small that the sort spills and merges on disk, and as
   length-delimited protobuf (--input pb).
2. The APT29 Zeek capture reordered into Zeek's natural order, by
   connection end (ts + event.duration): conn records are written when the
   connection ends and stamped with its start.  Its events have no
   event.id, so alerts name them line:N of the file given; the reference's
   line numbers are mapped back to the reordered file's.
Also: the sort's peak memory follows --sort-memory, not the file's size.
Each case also shows the check can fail: the same disordered file streamed
with engine.lateness=0s loses events and sequences, and says so on stderr
with the lateness that would have kept them.
"""
import calendar
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

replay, gen, fixtures = sys.argv[1:4]
n = 0
fails = 0


def ok(cond, what, detail=""):
    global n, fails
    n += 1
    if cond:
        print("ok %d - %s" % (n, what))
    else:
        fails += 1
        print("not ok %d - %s" % (n, what))
        for line in str(detail).splitlines()[:20]:
            print("# " + line)


def ms_of(ts):
    """ms since the epoch of an ECS @timestamp "YYYY-MM-DDTHH:MM:SS.mmm...Z"
    (what the library reads: fractions truncated to ms)."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$", ts)
    assert m, ts
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000 + int(frac)


def run(args, stdin_path=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    with open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb") as stdin:
        p = subprocess.run([replay] + args, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=e, check=False)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def write(path, lines):
    with open(path, "w") as f:
        f.writelines(lines)


def stable_time_sort(lines):
    """(sorted lines, for each sorted position the 1-based line it came from)"""
    keyed = sorted(range(len(lines)), key=lambda i: (ms_of(json.loads(lines[i])["@timestamp"]), i))
    return [lines[i] for i in keyed], [i + 1 for i in keyed]


def late_count(err):
    m = re.search(r"(\d+) events? (?:was|were) late", err)
    return int(m.group(1)) if m else 0


tmp = tempfile.mkdtemp(prefix="t1071-time-order-")

# ===== 1. Random streams, bounded disorder =====

CASES = [  # (seed, events, keys, disorder ms)
    (1, 20000, 300, 3000),
    (2, 20000, 150, 60000),
    (3, 15000, 40, 900000),
]
for seed, events, keys, disorder in CASES:
    name = "random seed %d, disorder %ds" % (seed, disorder // 1000)
    raw = subprocess.run([gen, "--ndjson", "--events", str(events), "--keys", str(keys),
                          "--seed", str(seed)], stdout=subprocess.PIPE, check=True).stdout
    lines = raw.decode().splitlines(True)
    rnd = random.Random(seed)
    arrival = sorted(range(len(lines)),
                     key=lambda i: (ms_of(json.loads(lines[i])["@timestamp"]) + rnd.randint(0, disorder), i))
    shuffled = [lines[i] for i in arrival]
    moved = sum(1 for a, b in zip(shuffled, lines) if a != b)
    srt, _ = stable_time_sort(shuffled)
    xf, sf = os.path.join(tmp, "x-%d.ndjson" % seed), os.path.join(tmp, "s-%d.ndjson" % seed)
    write(xf, shuffled)
    write(sf, srt)
    ok(moved > len(lines) // 4, "%s: %d of %d events out of place" % (name, moved, len(lines)))
    for out in ("sequences", "alerts"):
        rc_r, want, err_r = run(["--order", "arrival", "--set", "engine.lateness=0s", "--output", out], sf)
        rc_x, got, err_x = run(["--output", out, xf])
        ok(rc_r == 0 and rc_x == 0 and want and got == want,
           "%s: --output %s of the disordered file = the time-sorted file's (%d lines)"
           % (name, out, want.count(b"\n")), err_r + err_x)
        if out == "sequences":
            seqs = want
    rc, got, err = run(["--output", "sequences", "--sort-memory", "64KiB", xf])
    ok(rc == 0 and got == seqs, "%s: the same through a 64 KiB sort (runs spilled and merged on disk)" % name, err)
    pb = os.path.join(tmp, "x-%d.pb" % seed)
    with open(pb, "wb") as f:
        subprocess.run([replay, "--encode", xf], stdout=f, check=True)
    rc, got, err = run(["--input", "pb", "--output", "sequences", "--sort-memory", "256KiB", pb])
    ok(rc == 0 and got == seqs, "%s: the same as length-delimited protobuf (--input pb)" % name, err)
    # The check can fail: streamed as it arrives with lateness 0, events are
    # dropped, sequences lost, and stderr says so with the lateness needed.
    rc, got, err = run(["--set", "engine.lateness=0s", "--output", "sequences"], xf.replace(".ndjson", ".ndjson"))
    ok(rc == 0 and late_count(err) > 0 and got != seqs and "--set engine.lateness=" in err,
       "%s: streamed with lateness 0: %d events late, announced, sequences differ" % (name, late_count(err)),
       err)
    m = re.search(r"--set engine\.lateness=(\d+)(ms|s)", err)
    need = int(m.group(1)) * (1 if m.group(2) == "ms" else 1000) if m else -1
    ok(0 < need <= disorder + 1000, "%s: the lateness announced (%d ms) is within the disorder" % (name, need), err)
    # ... and the lateness it names does keep every event: the same sequences.
    if m:
        rc, got, err2 = run(["--set", "engine.lateness=%s%s" % (m.group(1), m.group(2)), "--output", "sequences"], xf)
        ok(rc == 0 and late_count(err2) == 0 and sorted(got.splitlines()) == sorted(seqs.splitlines()),
           "%s: streamed with the announced lateness: nothing late, the same sequences" % name, err2)

# ===== Bounded memory: the sort holds --sort-memory, not the file =====

def peak_rss_kib(args):
    # Through a shell that forks: Linux keeps the peak RSS across exec, so
    # a process this script started directly would report this script's.
    p = subprocess.run(["sh", "-c", '"$@"; exit $?', "sh", replay] + args +
                       ["--output", "none", "--stats-format", "json"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    m = re.search(r'"peak_rss_kib":(\d+)', p.stderr.decode())
    return int(m.group(1)) if p.returncode == 0 and m else -1


big = os.path.join(tmp, "big.ndjson")
with open(big, "wb") as f:
    subprocess.run([gen, "--ndjson", "--events", "60000", "--keys", "300", "--seed", "9"], stdout=f, check=True)
whole = peak_rss_kib([big])
small = peak_rss_kib(["--sort-memory", "1MiB", big])
stream = peak_rss_kib(["--order", "arrival", big])
ok(whole > 0 and small > 0 and stream > 0 and whole >= small + 10 * 1024 and small <= stream + 4 * 1024,
   "bounded memory on a %d MB file: peak RSS %d KiB in memory, %d KiB with --sort-memory 1MiB, "
   "%d KiB streaming" % (os.path.getsize(big) >> 20, whole, small, stream))

# ===== 2. APT29 Zeek capture in Zeek's natural (end-time) order =====

apt = os.path.join(fixtures, "real", "mordor-apt29-zeek.ecs.ndjson")
lines = [l for l in open(apt) if l.strip()]
docs = [json.loads(l) for l in lines]
end_order = sorted(range(len(lines)),
                   key=lambda i: (ms_of(docs[i]["@timestamp"]) + docs[i]["event"].get("duration", 0) // 1000000, i))
zeek = [lines[i] for i in end_order]
srt, origin = stable_time_sort(zeek)
zf, sf = os.path.join(tmp, "apt29-end.ndjson"), os.path.join(tmp, "apt29-sorted.ndjson")
write(zf, zeek)
write(sf, srt)
back = {str(k + 1): str(v) for k, v in enumerate(origin)}  # sorted line -> end-ordered line
derive = ["--set", "rule.derive=true", "--set", "rule.exclude_cidrs=", "--set", "rule.home_networks=10.0.0.0/8"]
ok(sum(1 for a, b in zip(zeek, lines) if a != b) > 100, "apt29 in end-time order: records out of timestamp order")
rc_r, want, err_r = run(derive + ["--order", "arrival", "--set", "engine.lateness=0s", "--output", "sequences"], sf)
want = re.sub(rb'"line:(\d+)"', lambda m: b'"line:' + back[m.group(1).decode()].encode() + b'"', want)
rc_x, got, err_x = run(derive + ["--output", "sequences", zf])
ok(rc_r == 0 and rc_x == 0 and got == want and want.count(b"\n") == 1045,
   "apt29 end-time order: --output sequences = the time-sorted file's (%d lines; line:N mapped)"
   % want.count(b"\n"), err_r + err_x)
seqs = want
# Alerts carry a group id hashed from the member names, so for the byte
# comparison every record gets an event.id: its line in the end-ordered file.
named = []
for i, l in enumerate(zeek):
    d = json.loads(l)
    d["event"]["id"] = "zeek-%d" % (i + 1)
    named.append(json.dumps(d, separators=(",", ":")) + "\n")
nsrt, _ = stable_time_sort(named)
nzf, nsf = os.path.join(tmp, "apt29-end-ids.ndjson"), os.path.join(tmp, "apt29-sorted-ids.ndjson")
write(nzf, named)
write(nsf, nsrt)
rc_r, want, err_r = run(derive + ["--order", "arrival", "--set", "engine.lateness=0s"], nsf)
rc_x, got, err_x = run(derive + [nzf])
ok(rc_r == 0 and rc_x == 0 and got == want and want.count(b"\n") == 1045,
   "apt29 end-time order: --output alerts = the time-sorted file's (%d alerts, byte for byte)"
   % want.count(b"\n"), err_r + err_x)
rc, got, err = run(derive + ["--set", "engine.lateness=0s", "--output", "sequences"], zf)
ok(late_count(err) > 0 and got != seqs,
   "apt29 end-time order streamed with lateness 0: %d events late and announced, sequences lost"
   % late_count(err), err)
rc, got, err = run(derive + ["--output", "sequences"], zf)  # the CLI's streaming default, 5s
ok(late_count(err) > 0 and "engine.lateness=1783s" in err,
   "apt29 streamed with the default 5s: Zeek's long connections still late, lateness 1783s named", err)

# ===== 3. Streaming default keeps Sysmon/Endpoint-style disorder =====

raw = subprocess.run([gen, "--ndjson", "--events", "20000", "--keys", "200", "--seed", "7"],
                     stdout=subprocess.PIPE, check=True).stdout.decode().splitlines(True)
rnd = random.Random(7)
x = [raw[i] for i in sorted(range(len(raw)), key=lambda i: (ms_of(json.loads(raw[i])["@timestamp"]) + rnd.randint(0, 4000), i))]
xf = os.path.join(tmp, "few-seconds.ndjson")
write(xf, x)
rc, want, _ = run(["--output", "sequences", xf])
rc2, got, err = run(["--output", "sequences"], xf)  # stdin: streaming, default lateness
ok(rc2 == 0 and late_count(err) == 0 and "late" not in err and sorted(got.splitlines()) == sorted(want.splitlines()) and want,
   "stdin with up to 4 s of disorder and the default lateness: nothing late, the sorted file's sequences", err)

shutil.rmtree(tmp, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if fails else 0)
