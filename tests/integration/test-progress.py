#!/usr/bin/env python3
"""t1071-replay's reports on stderr (issue 12).  TAP output.

    test-progress.py T1071-REPLAY GEN-STREAM

- Progress: only when stderr is a terminal (here a pty) and the run lasts
  longer than the delay (2 s; T1071_PROGRESS_AFTER_MS=0 makes every run
  long enough): events, events/s, bytes read of the file's size, alerts;
  nothing at all when stderr is a pipe, and nothing on a short run.
- Late events: announced whether or not stderr is a terminal, at most once
  a second while running and once at the end.
"""
import os
import pty
import random
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

replay, gen = sys.argv[1:3]
n = 0
fails = 0


def ok(cond, what, detail=""):
    global n, fails
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
    if not cond:
        fails += 1
        for line in repr(detail)[:2000].split("\\n")[:30]:
            print("# " + line)


def run_pty(args, stdin_path=None, env=None, pipe_in=None):
    """Run with stderr on a pseudo-terminal; returns (rc, stderr bytes).
    pipe_in: a file fed through a pipe (`cat FILE |`), so stdin has no size."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.update(env or {})
    cat = None
    if pipe_in:
        cat = subprocess.Popen(["cat", pipe_in], stdout=subprocess.PIPE)
        stdin = cat.stdout
    else:
        stdin = open(stdin_path or os.devnull, "rb")
    p = subprocess.Popen([replay] + args, stdin=stdin, stdout=subprocess.DEVNULL,
                         stderr=slave, env=e)
    stdin.close()
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    if cat:
        cat.wait()
    return p.wait(), out


def run_pipe(args, stdin_path=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    with open(stdin_path or os.devnull, "rb") as stdin:
        t0 = time.monotonic()
        p = subprocess.run([replay] + args, stdin=stdin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=e, check=False)
        return p.returncode, p.stderr, time.monotonic() - t0


tmp = tempfile.mkdtemp(prefix="t1071-progress-")
big = os.path.join(tmp, "big.ndjson")
with open(big, "wb") as f:
    subprocess.run([gen, "--ndjson", "--events", "60000", "--keys", "500", "--seed", "12"],
                   stdout=f, check=True)
size = os.path.getsize(big)
now = {"T1071_PROGRESS_AFTER_MS": "0"}

# A file on a terminal: reading (bytes of the file's size), then detecting.
rc, err = run_pty(["--output", "none", big], env=now)
text = err.decode("utf-8", "replace")
ok(rc == 0 and "\r" in text and re.search(r"t1071-replay: reading: [0-9.]+[kM]? events \([0-9.]+[kM]?/s\), "
                                          r"[0-9.]+ MiB of [0-9.]+ MiB read \(\d+%\), \d+ alerts", text),
   "terminal, file: progress while reading, with bytes read of the file's size", text)
ok(re.search(r"detecting: [0-9.]+[kM]? of 60k events \([0-9.]+[kM]?/s\), \d+ alerts", text) is not None,
   "terminal, file: progress while detecting, events of the total and alerts so far", text)
ok(text.endswith("\r\033[K"), "terminal: the progress line is cleared at the end", text[-80:])

# Alerts on the same terminal: no progress line cutting into them.
master, slave = pty.openpty()
p = subprocess.Popen([replay, "--output", "sequences", big], stdin=subprocess.DEVNULL, stdout=slave,
                     stderr=slave, env=dict(os.environ, **now))
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 1 << 16)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.close(master)
ok(p.wait() == 0 and b"\r\n" in out and b"events (" not in out and b"\x1b[K" not in out,
   "stdout on the terminal too: sequences, no progress", out[:300])

# The same on a pipe: not a word.
rc, err, _ = run_pipe(["--output", "none", big], env=now)
ok(rc == 0 and err == b"", "stderr a pipe: no progress at all", err)

# A stream through a pipe on a terminal: no phase, no size; drawn from
# 200 ms on, when alerts have come.
rc, err = run_pty(["--output", "none"], pipe_in=big, env={"T1071_PROGRESS_AFTER_MS": "200"})
text = err.decode("utf-8", "replace")
m = re.findall(r"t1071-replay: [0-9.]+[kM]? events \([0-9.]+[kM]?/s\), (\d+) alerts", text)
ok(rc == 0 and m and int(m[-1]) > 0 and "read (" not in text,
   "terminal, a pipe: events, events/s and alerts so far (%s)" % (m[-1] if m else None), text)
rc, err = run_pty(["--output", "none"], stdin_path=big, env=now)
text = err.decode("utf-8", "replace")
ok(rc == 0 and re.search(r"t1071-replay: [0-9.]+[kM]? events \([0-9.]+[kM]?/s\), [0-9.]+ MiB of "
                         r"[0-9.]+ MiB read \(\d+%\), \d+ alerts", text),
   "terminal, stdin redirected from a file: its size is known", text)

# A short run on a terminal, with the default 2 s delay: nothing.
small = os.path.join(tmp, "small.ndjson")
with open(big, "rb") as src, open(small, "wb") as dst:
    for _ in range(200):
        dst.write(src.readline())
rc, err = run_pty(["--output", "none", small], env={"T1071_PROGRESS_AFTER_MS": ""})
ok(rc == 0 and err == b"", "terminal, a run shorter than 2 s: no progress", err)

# Late events: disorder streamed with lateness 0.  Reported while running
# at most once a second, and once at the end, terminal or not.
lines = open(big, "rb").read().splitlines(True)
rnd = random.Random(5)
for i in range(len(lines) - 1, 0, -1):
    if rnd.random() < 0.05:
        j = max(0, i - rnd.randint(1, 300))
        lines[i], lines[j] = lines[j], lines[i]
late = os.path.join(tmp, "late.ndjson")
with open(late, "wb") as f:
    f.writelines(lines * 4)  # long enough to run past a second on a busy machine
rc, err, secs = run_pipe(["--set", "engine.lateness=0s", "--output", "none"], stdin_path=late)
text = err.decode()
running = re.findall(r"^t1071-replay: \d+ events? late so far \(dropped: .*\); "
                     r"--set engine\.lateness=\w+ would have kept them$", text, re.M)
final = re.findall(r"^t1071-replay: (\d+) events were late \(dropped: .*\); "
                   r"--set engine\.lateness=(\w+) would have kept them$", text, re.M)
ok(rc == 0 and len(final) == 1 and int(final[0][0]) > 0,
   "late events: one line at the end with the count and the lateness (%s)" % (final[0],) if final else "late events: no line at the end", text)
ok(len(running) <= int(secs) + 1,
   "late events: at most once a second while running (%d in %.1f s)" % (len(running), secs), text)
ok("\r" not in text, "late events on a pipe: no progress mixed in", text)
rc, err, _ = run_pipe(["--set", "engine.lateness=0s", "--output", "none", late])
ok(rc == 0 and b"late" not in err, "the same file given by name: time order, nothing late, nothing said", err)

shutil.rmtree(tmp, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if fails else 0)
