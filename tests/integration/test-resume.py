#!/usr/bin/env python3
"""t1071-replay's exactly-once resume (issue 14).  TAP output.

    test-resume.py T1071-REPLAY GEN-STREAM [SEED]

- kill -9 at 20 seeded random points of a generated file, re-running the
  same command (--state S --checkpoint-every N --flush) each time until it
  completes: with --output-file the file equals the uninterrupted run's
  byte for byte (no repeats); on stdout every line is whole, its group id
  is one of the uninterrupted run's, repeats are byte-identical, and none
  is missing.  Once in time order (a file's default), once in arrival order.
- A run stopped mid-input and then given another or a truncated input is
  refused (exit 1, a sentence); given its input again it finishes exactly.
- Rotation (a completed run, then a new file) and an appended file (only
  the new lines are read).
The seeds are printed with every failure; T1071_RESUME_SEED=N reruns one.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

replay, gen = sys.argv[1:3]
seed = int(os.environ.get("T1071_RESUME_SEED", sys.argv[3] if len(sys.argv) > 3 else random.randrange(1 << 30)))
rng = random.Random(seed)
n = 0
fails = 0
EVERY = "600"


def ok(cond, what, detail=""):
    global n, fails
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s (seed %d)") % ((n, what) if cond else (n, what, seed)))
    if not cond:
        fails += 1
        for line in str(detail)[:3000].split("\n")[:30]:
            print("# " + line)
    sys.stdout.flush()


def gid(line):
    return json.loads(line)["kibana"]["alert"]["group"]["id"]


def run(args, **kw):
    return subprocess.run([replay] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


tmp = tempfile.mkdtemp(prefix="t1071-resume-")
try:
    big = os.path.join(tmp, "big.ndjson")
    with open(big, "wb") as f:
        subprocess.run([gen, "--ndjson", "--events", "12000", "--keys", "1200", "--seed", "3"],
                       stdout=f, check=True)

    bigpb = os.path.join(tmp, "big.pb")
    with open(bigpb, "wb") as f:
        subprocess.run([replay, "--encode", big], stdout=f, check=True)

    def cmd(state, order, out=None, pb=False):
        a = ["--state", state, "--checkpoint-every", EVERY, "--flush"]
        if order:
            a += ["--order", order]
        if out:
            a += ["--output-file", out]
        return a + (["--input", "pb", bigpb] if pb else [big])

    # (order, --input pb, kills, outputs)
    for order, pb, nkills, outputs in ((None, False, 20, (True, False)),
                                       ("arrival", False, 20, (True, False)),
                                       (None, True, 4, (True,)),
                                       ("arrival", True, 4, (True,))):
        name = (order or "time") + (" pb" if pb else "")
        refst = os.path.join(tmp, "ref-%s.state" % name)
        t0 = time.monotonic()
        r = run(cmd(refst, order, pb=pb))
        t_ref = time.monotonic() - t0  # kill points scale with it: fast or loaded machine alike
        ok(r.returncode == 0, "%s order: the uninterrupted run succeeds" % name, r.stderr)
        ref = r.stdout
        ref_lines = ref.splitlines(keepends=True)
        ref_ids = [gid(l) for l in ref_lines]
        ok(len(ref_lines) > 500 and len(set(ref_ids)) == len(ref_ids),
           "%s order: %d alerts, distinct group ids" % (name, len(ref_lines)))
        ref_by_id = dict(zip(ref_ids, ref_lines))
        for use_file in outputs:
            how = "--output-file" if use_file else "stdout"
            kills = sorted(rng.uniform(0.05, 0.9) * t_ref for _ in range(nkills))
            rng.shuffle(kills)
            st = os.path.join(tmp, "s-%s-%s.state" % (name, use_file))
            out = os.path.join(tmp, "o-%s.out" % name) if use_file else None
            got = []            # stdout of every run of the current sequence
            problems = []
            sequences = 0
            killed = 0
            mid_state = 0

            def finish_sequence():
                global fails
                if use_file:
                    with open(out, "rb") as f:
                        data = f.read()
                    if data != ref:
                        problems.append("sequence %d: the output file differs from the uninterrupted run's "
                                        "(%d vs %d bytes, %d vs %d lines)" % (sequences, len(data), len(ref),
                                                                              data.count(b"\n"), len(ref_lines)))
                    return
                data = b"".join(got)
                lines = data.splitlines(keepends=True)
                seen = set()
                for l in lines:
                    if not l.endswith(b"\n"):
                        problems.append("torn line: %r" % l[-80:])
                        continue
                    try:
                        g = gid(l)
                    except Exception as e:
                        problems.append("not an alert: %r (%s)" % (l[:80], e))
                        continue
                    if ref_by_id.get(g) != l:
                        problems.append("an alert the uninterrupted run has not (or not byte-identical): %s" % g)
                    seen.add(g)
                missing = set(ref_ids) - seen
                if missing:
                    problems.append("%d alerts missing, e.g. %s" % (len(missing), sorted(missing)[:3]))
                repeats.append(len(lines) - len(seen))

            repeats = []
            for i, delay in enumerate(kills + [None]):
                tries = 0
                while True:
                    p = subprocess.Popen([replay] + cmd(st, order, out, pb), stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
                    if delay is None:
                        o, e = p.communicate()
                    else:
                        time.sleep(delay)
                        p.kill()
                        o, e = p.communicate()
                    got.append(o)
                    if p.returncode == -9:
                        killed += 1
                        mid_state += os.path.exists(st)  # the next run resumes a checkpoint
                        break
                    if p.returncode != 0:
                        problems.append("run after kill %d exits %d: %s" % (i, p.returncode, e.decode()[-300:]))
                        break
                    # Completed: check this sequence, start a new one.
                    sequences += 1
                    finish_sequence()
                    got = []
                    for fn in (st, out):
                        if fn and os.path.exists(fn):
                            os.unlink(fn)
                    if delay is None:
                        break
                    # The kill came too late: spend it on the next sequence,
                    # sooner each time (a bounded number of tries, so a run
                    # faster than any kill point cannot loop for ever).
                    tries += 1
                    delay *= 0.5
                    if tries >= 8:
                        break
                if problems:
                    break
            ok(not problems and killed >= nkills // 2 and mid_state >= nkills // 4,
               "%s order, %s: %d kill -9s (%d after a checkpoint) over %d completed sequences give exactly "
               "the uninterrupted run's alerts%s" % (name, how, killed, mid_state, sequences,
                                   "" if use_file else " (repeats, byte-identical: %s)" % repeats),
               "\n".join(problems[:20]))

    # Refusals, rotation, appended input (time order).
    cur = os.path.join(tmp, "cur.ndjson")
    other = os.path.join(tmp, "other.ndjson")
    with open(other, "wb") as f:
        subprocess.run([gen, "--ndjson", "--events", "3000", "--keys", "300", "--seed", "11"],
                       stdout=f, check=True)
    shutil.copy(big, cur)
    st = os.path.join(tmp, "mid.state")
    outf = os.path.join(tmp, "mid.out")
    mid = ["--state", st, "--checkpoint-every", EVERY, "--flush", "--output-file", outf]
    stopped = False
    for attempt in range(40):
        for fn in (st, outf):
            if os.path.exists(fn):
                os.unlink(fn)
        p = subprocess.Popen([replay] + mid + [cur], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t0 = time.time()
        while not os.path.exists(st) and p.poll() is None and time.time() - t0 < 30:
            time.sleep(0.005)
        p.kill()
        p.communicate()
        if p.returncode == -9 and os.path.exists(st):
            stopped = True
            break
    ok(stopped, "a run is stopped mid-input after a checkpoint")
    r = run(mid + [other])
    ok(r.returncode == 1 and b"not the input" in r.stderr, "another input after a mid-input stop is refused",
       (r.returncode, r.stderr))
    with open(big, "rb") as f:
        whole = f.read()
    with open(cur, "wb") as f:
        f.write(whole[:len(whole) // 3])
    r = run(mid + [cur])
    ok(r.returncode == 1 and b"shorter" in r.stderr, "a truncated input after a mid-input stop is refused",
       (r.returncode, r.stderr))
    with open(cur, "wb") as f:
        f.write(whole)
    r = run(mid + ["--order", "arrival", cur])
    ok(r.returncode == 1 and b"order" in r.stderr, "the same input in the other order is refused",
       (r.returncode, r.stderr))
    r = run(mid + [cur])
    with open(outf, "rb") as f:
        data = f.read()
    refst = os.path.join(tmp, "whole.state")
    full = run(["--state", refst, "--checkpoint-every", EVERY, "--flush", big]).stdout
    ok(r.returncode == 0 and data == full, "given its input again, the stopped run finishes exactly",
       (r.returncode, r.stderr, len(data), len(full)))

    # Rotation: a completed run, then the next file: all of it is read.
    r = run(mid + ["--stats", "--stats-format", "json", other])
    stats = json.loads(r.stderr.decode().strip().splitlines()[-1])
    with open(other, "rb") as f:
        other_lines = f.read().count(b"\n")
    ok(r.returncode == 0 and stats["input_records"] == other_lines,
       "rotation: after a completed run a new file is read whole (%d records)" % stats.get("input_records", -1),
       (r.returncode, r.stderr[-500:]))

    # Appended: the first half, completed; then the file grows: only the new
    # lines are read, and the result is the whole file's.
    lines = whole.splitlines(keepends=True)
    half = b"".join(lines[:len(lines) // 2])
    app = os.path.join(tmp, "app.ndjson")
    with open(app, "wb") as f:
        f.write(half)
    ast, aout = os.path.join(tmp, "app.state"), os.path.join(tmp, "app.out")
    r1 = run(["--state", ast, "--output-file", aout, app])
    with open(app, "ab") as f:
        f.write(whole[len(half):])
    r2 = run(["--state", ast, "--flush", "--output-file", aout, "--stats", "--stats-format", "json", app])
    stats = json.loads(r2.stderr.decode().strip().splitlines()[-1])
    with open(aout, "rb") as f:
        data = f.read()
    # records_in is the context's, kept by the snapshot: every line once.
    ok(r1.returncode == 0 and r2.returncode == 0 and stats["records_in"] == len(lines),
       "appended: the grown file continues after the lines read (%d records fed in all, %d lines)"
       % (stats.get("records_in", -1), len(lines)),
       (r1.stderr[-300:], r2.stderr[-300:]))
    ok(data == full, "appended: the output is the whole file's (%d vs %d bytes)" % (len(data), len(full)))

    # A Zeek TSV log grown since: its #fields header is read again, so the
    # new lines are read as the old ones were (none is a bad line).
    zeek = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "shapes", "zeek-conn.log")
    with open(zeek, "rb") as f:
        zl = f.read().splitlines(keepends=True)
    data_lines = sum(1 for l in zl if not l.startswith(b"#"))
    zp, zst = os.path.join(tmp, "conn.log"), os.path.join(tmp, "zeek.state")
    with open(zp, "wb") as f:
        f.write(b"".join(zl[:len(zl) // 2]))
    r1 = run(["--state", zst, "--output", "none", zp])
    with open(zp, "ab") as f:
        f.write(b"".join(zl[len(zl) // 2:]))
    r2 = run(["--state", zst, "--output", "none", "--flush", "--stats", "--stats-format", "json", zp])
    stats = json.loads(r2.stderr.decode().strip().splitlines()[-1])
    ok(r1.returncode == 0 and r2.returncode == 0 and stats["records_in"] == data_lines
       and stats["bad_records"] == 0,
       "appended Zeek TSV: the header is read again, every line once (%d records, %d bad)"
       % (stats.get("records_in", -1), stats.get("bad_records", -1)), (r1.stderr[-300:], r2.stderr[-300:]))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print("1..%d" % n)
if fails:
    print("# seed %d; rerun with T1071_RESUME_SEED=%d" % (seed, seed))
sys.exit(1 if fails else 0)
