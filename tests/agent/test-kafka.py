#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""t1071-agent against a Kafka-protocol cluster (issue 15; suite kafka).

    test-kafka.py AGENT REPLAY KAFKA_MOCK GEN_STREAM FAITHFUL_INI

kafka-mock starts a 3-broker mock cluster (librdkafka's) on loopback; every
topic, group and checkpoint directory is the test's own.  TAP output.

  a. failover, faithful (beacon.enabled=false) and default (scoring on)
     profiles: two agents in one group on a
     4-partition topic keyed by host; one is SIGKILLed mid-stream at seeded
     points; the survivor takes its partitions and restores their
     checkpoints; the alerts' group ids are those of t1071-replay over the
     same stream (none missing, none extra), every repeated alert is byte
     identical to its first emission; how many repeated is printed;
  b. poison records (not JSON, not an event, oversized) in one partition are
     skipped, counted, logged with their offset, and the partition flows on;
  c. checkpoints planted corrupt (a snapshot t1071_restore refuses; a bad
     record framing) are refused and counted, the partitions start from the
     committed offset;
  d. /metrics answers on loopback with Prometheus text, 404 elsewhere;
  e. secrets are refused on the command line and never printed.

Every process is started in its own process group and killed in a finally
block, whatever fails."""
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

AGENT, REPLAY, MOCK, GEN, FAITHFUL = sys.argv[1:6]
TUNED = os.path.join(os.path.dirname(FAITHFUL), "tuned.ini")
# Set by meson when the agent is built with hiredis (--redis).
WITH_REDIS = os.environ.get("T1071_AGENT_REDIS") == "1"
PARTITIONS = 4
EVENTS = int(os.environ.get("T1071_KAFKA_EVENTS", "8000"))
# The seeded kill points (at least three; fewer only by hand, to iterate).
SEEDS = [int(x) for x in os.environ.get("T1071_KAFKA_SEEDS", "1,2,3").split(",") if x]
# Quick failover on the mock cluster: a dead member is noticed in 3 s.
FAST = ["-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300",
        "-X", "topic.metadata.refresh.interval.ms=1000"]

procs = []
n_test = 0
failures = 0


def ok(cond, what, detail=""):
    global n_test, failures
    n_test += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n_test, what), flush=True)
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:40]:
            print("#   " + line, flush=True)
    return cond


def note(s):
    for line in str(s).splitlines() or [""]:
        print("# " + line, flush=True)


def spawn(args, **kw):
    p = subprocess.Popen(args, start_new_session=True, **kw)
    procs.append(p)
    return p


def kill_all():
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def wait_until(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Mock:
    def __init__(self):
        self.p = spawn([MOCK, "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("bootstrap "):
            raise RuntimeError("kafka-mock did not start: %r %s" % (line, self.p.stderr.read()))
        self.bootstrap = line.split()[1]

    def topic(self, name, parts=PARTITIONS):
        self.p.stdin.write("topic %s %d\n" % (name, parts))
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        if ans != "ok":
            raise RuntimeError("topic %s: %s" % (name, ans))

    def produce(self, topic, records, hex=False):
        """records: (partition or -1, key, value) -> {partition: end offset}"""
        data = "".join("%d\t%s\t%s\n" % r for r in records)
        r = subprocess.run([MOCK, "--produce", self.bootstrap, topic] + (["hex"] if hex else []),
                           input=data, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("produce: " + r.stderr)
        return {int(l.split()[1]): int(l.split()[2]) for l in r.stdout.splitlines()}

    def stop(self):
        self.p.stdin.close()  # the mock stops when stdin closes
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)


class Agent:
    def __init__(self, tmp, name, mock, topic, group, ckdir, extra=()):
        self.out = os.path.join(tmp, name + ".out")
        self.err = os.path.join(tmp, name + ".err")
        store = ["--checkpoint-dir", ckdir] if ckdir else []  # else: in extra
        self.args = [AGENT, "--kafka-topic", topic, "--kafka-brokers", mock.bootstrap,
                     "--kafka-group", group] + store + ["--metrics", "0",
                     "--stats"] + FAST + list(extra)
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.p = spawn(self.args, stdout=o, stderr=e)
        m = wait_until(lambda: re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics",
                                         self.stderr()), 10)
        if not m:
            raise RuntimeError("agent %s: no metrics line: %s" % (name, self.stderr()))
        self.port = int(m.group(1))

    def stderr(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def metrics(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as r:
                text = r.read().decode()
        except (urllib.error.URLError, OSError):
            return None
        vals = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                vals[k] = float(v)
        return vals

    def value(self, name, default=0.0):
        m = self.metrics()
        return m.get(name, default) if m else default

    def partitions(self, name):
        """{partition: value} of a per-partition metric"""
        m = self.metrics() or {}
        out = {}
        for k, v in m.items():
            mm = re.match(re.escape(name) + r'\{topic="[^"]*",partition="(\d+)"\}$', k)
            if mm:
                out[int(mm.group(1))] = v
        return out

    def done(self, ends):
        """owns every partition of ends and has read each to its end"""
        nxt = self.partitions("t1071_agent_partition_next_offset")
        return set(nxt) == set(ends) and all(nxt[p] >= ends[p] for p in ends)

    def term(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=60)

    def kill(self):
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)

    def alerts(self):
        with open(self.out, "rb") as f:
            return [l for l in f.read().split(b"\n") if l]


def gid(line):
    return json.loads(line)["kibana"]["alert"]["group"]["id"]


def host_key(line):
    h = json.loads(line).get("host") or {}
    return h.get("id") or h.get("name") or ""


def failover(tmp, mock, stream, keys, profile, args, ref, seed):
    topic = "ev-%s-%d" % (profile, seed)
    ckdir = os.path.join(tmp, "ck-" + topic)
    mock.topic(topic)
    extra = list(args) + ["--checkpoint-every", "250", "--checkpoint-interval", "60s"]
    a = Agent(tmp, "a-" + topic, mock, topic, topic, ckdir, extra)
    b = Agent(tmp, "b-" + topic, mock, topic, topic, ckdir, extra)
    both = wait_until(lambda: a.value("t1071_agent_partitions_assigned") >= 1 and
                      b.value("t1071_agent_partitions_assigned") >= 1 and
                      a.value("t1071_agent_partitions_assigned") +
                      b.value("t1071_agent_partitions_assigned") == PARTITIONS, 30, 0.2)
    if not ok(both, "%s seed %d: both agents own partitions" % (profile, seed),
              a.stderr() + b.stderr()):
        return
    rng = random.Random(seed)
    share = a.value("t1071_agent_partitions_assigned") / PARTITIONS
    kill_at = int(len(stream) * share * rng.uniform(0.2, 0.7))
    # Produce in chunks while A consumes, and kill A when it has read
    # kill_at records: mid-stream, between two of its checkpoints.
    ends = {}
    chunks = 10

    def producer():
        for c in range(chunks):
            part = stream[c * len(stream) // chunks:(c + 1) * len(stream) // chunks]
            keyed = keys[c * len(stream) // chunks:(c + 1) * len(stream) // chunks]
            for p, e in mock.produce(topic, [(-1, k, l) for k, l in zip(keyed, part)]).items():
                ends[p] = max(ends.get(p, 0), e)
            time.sleep(0.1)

    t = threading.Thread(target=producer)
    t.start()
    reached = wait_until(lambda: a.value("t1071_agent_records_total") >= kill_at, 60, 0.01)
    a_read = a.value("t1071_agent_records_total")
    a_ckpts = a.value("t1071_agent_checkpoints_written_total")
    a.kill()
    t.join()
    ok(reached, "%s seed %d: agent A killed mid-stream (after %d of %d records, %d checkpoints)"
       % (profile, seed, a_read, len(stream), a_ckpts), a.stderr())
    finished = wait_until(lambda: b.done(ends), 90, 0.2)
    ok(finished, "%s seed %d: the survivor took every partition and read it to its end" %
       (profile, seed), b.stderr()[-3000:])
    owned = re.findall(r"assigned %s\[([0-9,]*)\]" % re.escape(topic), a.stderr())
    a_parts = {int(x) for x in owned[-1].split(",") if x} if owned else set()
    restored = {int(x) for x in re.findall(r"%s\[(\d+)\]: restored the checkpoint" % re.escape(topic),
                                         b.stderr())}
    ok(a_parts and restored & a_parts,
       "%s seed %d: the survivor restored A's checkpoints (A owned %s; restored %s)"
       % (profile, seed, sorted(a_parts), sorted(restored & a_parts)), b.stderr()[-3000:])
    rc = b.term()
    ok(rc == 0, "%s seed %d: the survivor stops cleanly on SIGTERM" % (profile, seed), b.stderr()[-2000:])

    first = {}
    repeated = mismatched = 0
    for line in a.alerts() + b.alerts():
        g = gid(line)
        if g in first:
            repeated += 1
            if first[g] != line:
                mismatched += 1
        else:
            first[g] = line
    ids = set(first)
    ok(ids == ref, "%s seed %d: alert group ids equal t1071-replay's (%d): %d missing, %d extra"
       % (profile, seed, len(ref), len(ref - ids), len(ids - ref)))
    ok(mismatched == 0, "%s seed %d: %d alert(s) repeated after the failover, all byte-identical"
       % (profile, seed, repeated), "%d differ" % mismatched)
    note("%s seed %d: killed after %d records; %d alerts repeated" % (profile, seed, a_read, repeated))
    if seed == 1:
        # One agent alone over the same topic (its own group): every alert
        # byte for byte the same as the failover run's first emission.
        s1 = Agent(tmp, "s-" + topic, mock, topic, "single-" + topic, ckdir + "-single", args)
        ok(wait_until(lambda: s1.done(ends), 60, 0.2), "%s: one agent alone reads the topic" % profile,
           s1.stderr()[-2000:])
        s1.term()
        alone = {gid(l): l for l in s1.alerts()}
        ok(alone == first, "%s: one agent alone gives the same alerts byte for byte (%d)"
           % (profile, len(alone)), "%d differ" % sum(1 for g in alone if first.get(g) != alone[g]))
    return repeated


def redis_server_or_skip(part):
    """redis-server's path, or None after saying why the part is skipped
    (a failure under T1071_NO_SKIP)."""
    redis = shutil.which("redis-server")
    if WITH_REDIS and redis:
        return redis
    why = "the agent was built without hiredis" if not WITH_REDIS else "no redis-server"
    if os.environ.get("T1071_NO_SKIP"):
        ok(False, part + ": " + why)
    else:
        note(part + " part skipped: " + why)
    return None


def free_port():
    s0 = socket.socket()
    s0.bind(("127.0.0.1", 0))
    port = s0.getsockname()[1]
    s0.close()
    return port


def resp(port, *cmds):
    """A minimal Redis client: send commands (lists of bytes/str), return the
    replies (bytes, int, str for status/errors, None for nil)."""
    def enc(c):
        parts = [x if isinstance(x, bytes) else str(x).encode() for x in c]
        return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"".join(enc(x) for x in cmds))
        f = c.makefile("rb")
        out = []
        for _ in cmds:
            line = f.readline().rstrip(b"\r\n")
            t, rest = line[:1], line[1:]
            if t in (b"+", b"-"):
                out.append(rest.decode())
            elif t == b":":
                out.append(int(rest))
            elif t == b"$":
                n = int(rest)
                out.append(None if n < 0 else f.read(n + 2)[:n])
            else:
                raise RuntimeError("unexpected Redis reply %r" % line)
        return out


def frame(partition, offset, payload):
    """checkpoint-file.h's framing"""
    head = b"T1071CKP" + struct.pack("<IiqQ", 1, partition, offset, len(payload))
    h = 0xcbf29ce484222325
    for byte in head + payload:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return head + struct.pack("<Q", h) + payload


def main():
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="t1071-kafka-")
    mock = None
    try:
        mock = Mock()
        note("mock cluster: " + mock.bootstrap)
        with open(os.path.join(tmp, "s.ndjson"), "w") as f:
            subprocess.run([GEN, "--ndjson", "--events", str(EVENTS), "--keys", "700", "--seed", "15"],
                           stdout=f, check=True)
        with open(os.path.join(tmp, "s.ndjson")) as f:
            stream = [l.rstrip("\n") for l in f]
        keys = [host_key(l) for l in stream]

        # e. secrets never on the command line, never in messages.
        r = subprocess.run([AGENT, "--kafka-topic", "x", "--checkpoint-dir", tmp,
                            "-X", "sasl.password=hunter2"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        ok(r.returncode == 2 and "sasl.password" in r.stderr and "hunter2" not in r.stderr,
           "-X sasl.password is refused (exit 2), the value not repeated", r.stderr)
        conf = os.path.join(tmp, "kafka.conf")
        with open(conf, "w") as f:
            f.write("# secrets\nsasl.password = hunter2\nssl.key.password=hunter3\nno.such.property=1\n")
        os.chmod(conf, 0o644)
        r = subprocess.run([AGENT, "--kafka-topic", "x", "--checkpoint-dir", tmp,
                            "--kafka-config", conf], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        ok(r.returncode == 2 and "line 4" in r.stderr and "no.such.property" in r.stderr and
           "hunter" not in r.stderr and "open to other users (mode 644)" in r.stderr,
           "--kafka-config: a bad property named with its line, secrets from the file never "
           "printed, a file open to others warned about", r.stderr)
        r = subprocess.run([AGENT, "--kafka-topic", "x", "--checkpoint-dir", tmp,
                            "-X", "no.such.property=1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30,
                           env=dict(os.environ, T1071_KAFKA_SASL_PASSWORD="hunter4"))
        ok(r.returncode == 2 and "no.such.property" in r.stderr and "hunter" not in r.stderr,
           "a secret in T1071_KAFKA_SASL_PASSWORD is never printed", r.stderr)

        # a. failover, two profiles, three seeded kill points each.
        # faithful: the bare rule (no score in the state); default: the
        # library's defaults, scoring on (the tracker's state is checkpointed).
        profiles = [("faithful", ["--config", FAITHFUL, "--set", "beacon.enabled=false"]),
                    ("default", [])]
        total_rep = 0
        for profile, args in profiles:
            r = subprocess.run([REPLAY] + args + [os.path.join(tmp, "s.ndjson")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
            ref = {gid(l) for l in r.stdout.split(b"\n") if l}
            note("%s: t1071-replay gives %d alerts" % (profile, len(ref)))
            ok(len(ref) > 100, "%s: the stream alerts (%d)" % (profile, len(ref)))
            for seed in SEEDS:
                rep = failover(tmp, mock, stream, keys, profile, args, ref, seed)
                total_rep += rep or 0
        note("failover: %d alerts repeated in all" % total_rep)

        # b. poison records in partition 2; the partition keeps flowing.
        topic = "poison"
        mock.topic(topic)
        ckdir = os.path.join(tmp, "ck-poison")
        c = Agent(tmp, "c", mock, topic, "gp", ckdir,
                  ["--max-record-bytes", "4096", "--checkpoint-every", "100000",
                   "--checkpoint-interval", "300ms"])
        ok(wait_until(lambda: c.value("t1071_agent_partitions_assigned") == PARTITIONS, 30, 0.2),
           "poison: one agent owns the 4 partitions", c.stderr())
        half = len(stream) // 2
        ends = mock.produce(topic, [(-1, k, l) for k, l in zip(keys[:half], stream[:half])])
        poison = [(2, "p", "this is not JSON"), (2, "p", '{"just": "an object"}'),
                  (2, "p", '{"@timestamp": "2024-01-01T00:00:00Z", "pad": "' + "x" * 5000 + '"}')]
        pe = mock.produce(topic, poison)
        poison_offsets = list(range(pe[2] - 3, pe[2]))
        for p, e in mock.produce(topic, [(-1, k, l) for k, l in zip(keys[half:], stream[half:])]).items():
            ends[p] = e
        ends[2] = max(ends[2], pe[2])
        ok(wait_until(lambda: c.done(ends), 60, 0.2), "poison: every partition read to its end",
           c.stderr()[-2000:])
        m = c.metrics() or {}
        sk = {r: m.get('t1071_agent_records_skipped_total{reason="%s"}' % r) for r in
              ("not_json", "not_event", "oversized")}
        ok(sk == {"not_json": 1, "not_event": 1, "oversized": 1},
           "poison: counted by reason (not_json, not_event, oversized)", sk)
        err = c.stderr()
        ok(all(("poison[2]@%d skipped" % o) in err for o in poison_offsets),
           "poison: each logged with topic, partition and offset (%s)" % poison_offsets, err[-2000:])
        ok(wait_until(lambda: c.partitions("t1071_agent_partition_checkpoint_offset") ==
                      {p: float(e) for p, e in ends.items()}, 10, 0.2),
           "poison: checkpoints by time commit past the poison", c.partitions(
               "t1071_agent_partition_checkpoint_offset"))

        # d. /metrics
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % c.port, timeout=5) as r:
            body = r.read().decode()
            ctype = r.headers.get("Content-Type", "")
        sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
                            r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? -?[0-9.e+]+$')
        badl = [l for l in body.splitlines() if l and not l.startswith("# TYPE ") and not sample.match(l)]
        ok(ctype.startswith("text/plain") and "version=0.0.4" in ctype and not badl and
           't1071_records_in_total{topic="poison",partition="2"}' in body and
           "t1071_agent_checkpoints_written_total" in body,
           "metrics: Prometheus text, per-partition context stats and agent counters", badl[:5])
        codes = []
        for req in (b"GET /nope HTTP/1.0\r\n\r\n", b"POST /metrics HTTP/1.0\r\n\r\n",
                    b"GET /metrics HTTP/1.0\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"garbage\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", c.port), timeout=5)
            try:
                s.sendall(req)
            except OSError:
                pass
            data = b""
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    data += d
            except OSError:
                pass
            s.close()
            codes.append(data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "?")
        ok(codes == ["404", "404", "431", "400"], "metrics: 404 elsewhere, 431 too large, 400 not HTTP",
           codes)
        ok(c.term() == 0, "poison: the agent stops cleanly", c.stderr()[-2000:])
        cal = {gid(l) for l in c.alerts()}
        r = subprocess.run([REPLAY, os.path.join(tmp, "s.ndjson")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
        ok(cal == {gid(l) for l in r.stdout.split(b"\n") if l},
           "poison: the alerts are t1071-replay's, the poison changed nothing")

        # c. corrupted checkpoints planted in the file store.
        files = sorted(os.listdir(ckdir))
        p1 = os.path.join(ckdir, "gp.poison.1.ckpt")
        p3 = os.path.join(ckdir, "gp.poison.3.ckpt")
        ok(os.path.exists(p1) and os.path.exists(p3), "checkpoints written, one file per partition", files)
        with open(p1, "rb") as f:
            raw = f.read()
        off = struct.unpack("<q", raw[16:24])[0]
        snap = bytearray(raw[40:])
        snap[len(snap) // 2] ^= 0x40  # the framing is right, the snapshot is not
        with open(p1, "wb") as f:
            f.write(frame(1, off, bytes(snap)))
        with open(p3, "r+b") as f:
            f.write(b"XXXX")  # the framing itself is broken
        d = Agent(tmp, "d", mock, topic, "gp", ckdir, ["--checkpoint-interval", "200ms"])
        ok(wait_until(lambda: d.value("t1071_agent_partitions_assigned") == PARTITIONS, 30, 0.2),
           "corrupt: the agent owns the 4 partitions", d.stderr())
        ok(wait_until(lambda: d.value("t1071_agent_snapshots_refused_total") == 2, 10, 0.2),
           "corrupt: both planted checkpoints refused and counted (snapshots_refused_total 2)",
           d.stderr())
        err = d.stderr()
        ok("poison[1]: snapshot refused by t1071_restore" in err and
           "poison[3]: checkpoint refused" in err and err.count("restored the checkpoint") == 2,
           "corrupt: refusals logged; the two good checkpoints restored", err)
        more = mock.produce(topic, [(1, "k", stream[i]) for i in range(5)] +
                            [(3, "k", stream[i]) for i in range(5)])
        ok(wait_until(lambda: d.partitions("t1071_agent_partition_next_offset").get(1) == more[1] and
                      d.partitions("t1071_agent_partition_next_offset").get(3) == more[3], 20, 0.2),
           "corrupt: the refused partitions start from the committed offset and keep flowing",
           (d.partitions("t1071_agent_partition_next_offset"), more, ends))
        ok(d.term() == 0, "corrupt: the agent stops cleanly", d.stderr()[-2000:])
        ok("snapshots_refused 2" in d.stderr(), "corrupt: --stats says snapshots_refused 2")

        # g. a checkpoint that cannot be stored commits nothing, is counted,
        # and is tried again: a directory in the way of partition 0's
        # temporary file (root ignores permissions; EISDIR does not).
        mock.topic("ckfail")
        ckf = os.path.join(tmp, "ck-fail")
        g = Agent(tmp, "g", mock, "ckfail", "gf", ckf, ["--checkpoint-interval", "200ms"])
        blocker = os.path.join(ckf, "gf.ckfail.0.ckpt.tmp.%d" % g.p.pid)
        os.makedirs(blocker)
        ok(wait_until(lambda: g.value("t1071_agent_partitions_assigned") == PARTITIONS, 30, 0.2),
           "store failure: the agent owns the 4 partitions", g.stderr())
        fe = mock.produce("ckfail", [(-1, k, l) for k, l in zip(keys[:2000], stream[:2000])])
        ok(wait_until(lambda: g.done(fe) and all(
            g.partitions("t1071_agent_partition_checkpoint_offset").get(p) == fe[p] for p in fe if p),
            30, 0.2), "store failure: the other partitions are checkpointed",
           g.partitions("t1071_agent_partition_checkpoint_offset"))
        ok(g.value("t1071_agent_checkpoints_failed_total") >= 1 and
           g.partitions("t1071_agent_partition_checkpoint_offset").get(0) == -1 and
           "ckfail[0]: checkpoint (periodic) not stored" in g.stderr(),
           "store failure: partition 0's checkpoint failed, counted (%d), logged, nothing committed"
           % g.value("t1071_agent_checkpoints_failed_total"), g.stderr()[-2000:])
        os.rmdir(blocker)
        ok(wait_until(lambda: g.partitions("t1071_agent_partition_checkpoint_offset").get(0) == fe[0],
                      10, 0.2), "store failure: retried once the store works again")
        ok(g.term() == 0, "store failure: the agent stops cleanly", g.stderr()[-2000:])

        # f. protobuf Events in, alerts out to a Kafka topic keyed by group id
        # (ref: the default profile's, the last above).
        pbs = subprocess.run([REPLAY, "--encode", os.path.join(tmp, "s.ndjson")],
                             stdout=subprocess.PIPE, check=True).stdout
        recs, i = [], 0
        while i < len(pbs):
            n = shift = 0
            while True:
                b = pbs[i]
                i += 1
                n |= (b & 0x7f) << shift
                shift += 7
                if not b & 0x80:
                    break
            recs.append(pbs[i:i + n])
            i += n
        ok(len(recs) == len(stream), "pb: %d protobuf Events encoded" % len(recs))
        mock.topic("pbin")
        mock.topic("alerts", 2)
        pe = mock.produce("pbin", [(-1, k, r.hex()) for k, r in zip(keys, recs)], hex=True)
        e = Agent(tmp, "e", mock, "pbin", "gpb", os.path.join(tmp, "ck-pb"),
                  ["--input", "pb", "--output", "pb", "--alerts-topic", "alerts",
                   "--checkpoint-interval", "200ms"])
        ok(wait_until(lambda: e.done(pe), 60, 0.2), "pb: every partition read to its end",
           e.stderr()[-2000:])
        ok(e.term() == 0 and not e.alerts(), "pb: stops cleanly, nothing on stdout", e.stderr()[-2000:])
        r = subprocess.run([MOCK, "--consume", mock.bootstrap, "alerts", "2", "hex"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        got = [l.split("\t") for l in r.stdout.splitlines()]
        keys_out = [g[1] for g in got]
        ok(r.returncode == 0 and set(keys_out) == ref and len(keys_out) == len(ref) and
           all(g[1].encode() in bytes.fromhex(g[2]) for g in got),
           "pb: the alerts topic holds t1071-replay's alerts once each, keyed by group id, "
           "protobuf values (%d)" % len(keys_out), r.stderr)

        # i. shared prevalence through a real redis-server, per partition
        # context: pushes and pulls for every partition; Redis stopped,
        # the contexts say degraded and the partitions keep flowing;
        # restarted, they catch up.
        redis = redis_server_or_skip("redis")
        if redis:
            rport = free_port()
            rargs = [redis, "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no"]

            def redis_up():
                try:
                    with socket.create_connection(("127.0.0.1", rport), timeout=1) as c0:
                        c0.sendall(b"PING\r\n")
                        return c0.recv(16).startswith(b"+PONG")
                except OSError:
                    return False

            rp = spawn(rargs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ok(wait_until(redis_up, 10, 0.1), "redis: redis-server answers on loopback")
            mock.topic("prev")
            ra = ["--config", TUNED, "--set", "tuning.fleet_key=kafka-test-fleet", "--redis",
                  "127.0.0.1:%d" % rport, "--redis-sync", "50", "--redis-timeout", "500",
                  "--checkpoint-interval", "300ms"]
            r1 = Agent(tmp, "r1", mock, "prev", "gprev", os.path.join(tmp, "ck-prev"), ra)
            r2 = Agent(tmp, "r2", mock, "prev", "gprev", os.path.join(tmp, "ck-prev"), ra)
            ok(wait_until(lambda: r1.value("t1071_agent_partitions_assigned") +
                          r2.value("t1071_agent_partitions_assigned") == PARTITIONS and
                          r1.value("t1071_agent_partitions_assigned") > 0, 30, 0.2),
               "redis: two agents share the 4 partitions", r1.stderr() + r2.stderr())
            third = len(stream) // 3
            pend = mock.produce("prev", [(-1, k, l) for k, l in zip(keys[:third], stream[:third])])

            def both_done(ends):
                n1 = r1.partitions("t1071_agent_partition_next_offset")
                n2 = r2.partitions("t1071_agent_partition_next_offset")
                n1.update(n2)
                return set(n1) == set(ends) and all(n1[p] >= ends[p] for p in ends)

            def rstat(name):
                out = {}
                for ag in (r1, r2):
                    for k, v in (ag.metrics() or {}).items():
                        mm = re.match(r't1071_agent_redis_%s\{context="prev/(\d+)"\}$' % name, k)
                        if mm:
                            out[int(mm.group(1))] = v
                return out

            ok(wait_until(lambda: both_done(pend), 60, 0.2), "redis: every partition read")
            ok(wait_until(lambda: len(rstat("pushes_total")) == PARTITIONS and
                          all(v > 0 for v in rstat("pushes_total").values()) and
                          all(v > 0 for v in rstat("pulls_total").values()) and
                          not any(rstat("degraded").values()), 10, 0.2),
               "redis: every partition's context pushed and pulled its prevalence, not degraded",
               (rstat("pushes_total"), rstat("pulls_total"), rstat("degraded")))
            rp.send_signal(signal.SIGTERM)
            rp.wait(timeout=10)
            for p, e in mock.produce("prev", [(-1, k, l) for k, l in
                                              zip(keys[third:2 * third], stream[third:2 * third])]).items():
                pend[p] = e
            ok(wait_until(lambda: both_done(pend), 60, 0.2) and
               wait_until(lambda: all(v == 1 for v in rstat("degraded").values()), 10, 0.2),
               "redis: stopped, every context says degraded and the partitions keep flowing",
               (rstat("degraded"), r1.stderr()[-1500:]))
            rp = spawn(rargs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ok(wait_until(redis_up, 10, 0.1), "redis: restarted")
            for p, e in mock.produce("prev", [(-1, k, l) for k, l in
                                              zip(keys[2 * third:], stream[2 * third:])]).items():
                pend[p] = e
            ok(wait_until(lambda: both_done(pend), 60, 0.2) and
               wait_until(lambda: not any(rstat("degraded").values()), 20, 0.2),
               "redis: back, every context catches up (degraded 0)",
               (rstat("degraded"), rstat("failures_total")))
            ok(r1.term() == 0 and r2.term() == 0, "redis: both agents stop cleanly",
               r1.stderr()[-1500:] + r2.stderr()[-1500:])
            r = subprocess.run([AGENT, "--kafka-topic", "x", "--checkpoint-dir", tmp, "--redis",
                                "127.0.0.1:%d" % rport], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30)
            ok(r.returncode == 2 and "tuning.fleet_key" in r.stderr,
               "redis: --redis without a fleet key is refused (exit 2)", r.stderr)

        # j. checkpoints in Redis (--checkpoint-redis) behind requirepass:
        # the password comes from a file; a wrong one stops the agent at
        # start; checkpoints planted corrupt in Redis are refused, counted,
        # and the partitions go on from the committed offset.
        redis = redis_server_or_skip("redis checkpoints")
        if redis:
            cport = free_port()
            secret = "ck-%d-secret" % os.getpid()
            spawn([redis, "--port", str(cport), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--requirepass", secret],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def cred_up():
                try:
                    return resp(cport, ["AUTH", secret], ["PING"]) == ["OK", "PONG"]
                except OSError:
                    return False

            ok(wait_until(cred_up, 10, 0.1), "redis checkpoints: redis-server with requirepass")
            good = os.path.join(tmp, "redis-pass")
            bad = os.path.join(tmp, "redis-pass-wrong")
            for fn, pw in ((good, secret + "\n"), (bad, "not-" + secret + "\n")):
                with open(fn, "w") as f:
                    f.write(pw)
                os.chmod(fn, 0o600)
            mock.topic("ckr")
            base = ["--checkpoint-redis", "127.0.0.1:%d" % cport, "--redis-prefix", "ckt"]
            r = subprocess.run([AGENT, "--kafka-topic", "ckr", "--kafka-brokers", mock.bootstrap,
                                "--kafka-group", "gck", "--redis-password-file", bad] + base,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=30)
            ok(r.returncode == 1 and "--checkpoint-redis" in r.stderr and
               "password" in r.stderr and secret not in r.stderr + r.stdout,
               "redis checkpoints: a wrong password stops the agent at start, clearly, "
               "without printing a secret", (r.returncode, r.stderr))
            cka = ["--redis-password-file", good, "--checkpoint-interval", "200ms"] + base
            k1 = Agent(tmp, "k1", mock, "ckr", "gck", None, cka)
            ok(wait_until(lambda: k1.value("t1071_agent_partitions_assigned") == PARTITIONS, 30,
                          0.2), "redis checkpoints: the agent owns the 4 partitions", k1.stderr())
            ke = mock.produce("ckr", [(-1, k, l) for k, l in zip(keys[:1200], stream[:1200])])
            ok(wait_until(lambda: k1.done(ke) and all(
                k1.partitions("t1071_agent_partition_checkpoint_offset").get(p) == ke[p]
                for p in ke), 30, 0.2),
               "redis checkpoints: every partition checkpointed into Redis",
               k1.partitions("t1071_agent_partition_checkpoint_offset"))
            ok(k1.term() == 0, "redis checkpoints: the agent stops cleanly", k1.stderr()[-2000:])
            key1, key3 = "ckt:ckpt:gck:ckr:1", "ckt:ckpt:gck:ckr:3"
            _, raw1, raw3 = resp(cport, ["AUTH", secret], ["GET", key1], ["GET", key3])
            ok(isinstance(raw1, bytes) and raw1[:8] == b"T1071CKR" and isinstance(raw3, bytes),
               "redis checkpoints: one framed record per partition under the prefix",
               (raw1 or b"")[:16])
            if isinstance(raw1, bytes) and isinstance(raw3, bytes):
                snap = bytearray(raw1)
                snap[32 + (len(snap) - 32) // 2] ^= 0x40  # framing right, snapshot not
                resp(cport, ["AUTH", secret], ["SET", key1, bytes(snap)],
                     ["SET", key3, b"XXXX" + raw3[4:]])  # the framing itself broken
            k2 = Agent(tmp, "k2", mock, "ckr", "gck", None, cka)
            ok(wait_until(lambda: k2.value("t1071_agent_partitions_assigned") == PARTITIONS, 30,
                          0.2), "redis checkpoints: restarted, owns the 4 partitions", k2.stderr())
            ok(wait_until(lambda: k2.value("t1071_agent_snapshots_refused_total") == 2, 10, 0.2),
               "redis checkpoints: both planted checkpoints refused and counted "
               "(snapshots_refused_total 2)", k2.stderr())
            err = k2.stderr()
            ok(err.count("restored the checkpoint") == 2 and secret not in err,
               "redis checkpoints: the two good checkpoints restored; no secret in the log", err)
            more = mock.produce("ckr", [(1, "k", stream[i]) for i in range(5)] +
                                [(3, "k", stream[i]) for i in range(5)])
            ok(wait_until(lambda: k2.partitions("t1071_agent_partition_next_offset").get(1) ==
                          more[1] and
                          k2.partitions("t1071_agent_partition_next_offset").get(3) == more[3],
                          20, 0.2),
               "redis checkpoints: the refused partitions go on from the committed offset",
               (k2.partitions("t1071_agent_partition_next_offset"), more))
            ok(k2.term() == 0, "redis checkpoints: the agent stops cleanly", k2.stderr()[-2000:])

        # h. the brokers go away: commits are asynchronous, so the agent never
        # freezes (a synchronous commit waited for the coordinator forever);
        # SIGTERM still writes every checkpoint and the agent exits within its
        # close timeout (10 s, then exit 1).
        mock.topic("gone")
        hk = os.path.join(tmp, "ck-gone")
        h = Agent(tmp, "h", mock, "gone", "gg", hk, ["--checkpoint-interval", "60s"])
        ok(wait_until(lambda: h.value("t1071_agent_partitions_assigned") == PARTITIONS, 30, 0.2),
           "brokers gone: the agent owns the 4 partitions", h.stderr())
        he = mock.produce("gone", [(-1, k, l) for k, l in zip(keys[:1000], stream[:1000])])
        ok(wait_until(lambda: h.done(he), 30, 0.2), "brokers gone: read to the end first")
        mock.stop()
        time.sleep(1)
        t0 = time.monotonic()
        h.p.send_signal(signal.SIGTERM)
        try:
            rc = h.p.wait(timeout=40)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        files = sorted(os.listdir(hk))
        ok(rc in (0, 1) and took < 30 and len(files) == PARTITIONS and
           "stopping: 4 partition(s) checkpointed" in h.stderr() and
           re.search(r"commits_failed [1-9]", h.stderr()),
           "brokers gone: SIGTERM checkpoints every partition, counts the failed commits, "
           "exits (%s) in %.1f s" % (rc, took), (rc, files, h.stderr()[-1500:]))
    except Exception as e:  # noqa: BLE001 - reported as a failure, cleanup below
        import traceback
        ok(False, "test driver: %s" % e, traceback.format_exc())
    finally:
        if mock:
            mock.stop()
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)
    note("suite wall time %.1f s" % (time.monotonic() - t_start))
    print("1..%d" % n_test, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
