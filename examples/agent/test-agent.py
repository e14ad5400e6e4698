#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""t1071-agent against t1071-replay: the alerts of N sharded contexts must be
those of one context over the same stream (as a multiset, by key and member
event ids), for several N and both input formats.

usage: test-agent.py AGENT REPLAY EQL_VECTORS_DIR SAMPLE_NDJSON
Prints TAP.

The stream: every EQL vector with its own host (a_25 keeps none, so shard 0
gets host-less events), its event and entity ids prefixed with the vector's
name so no key spans two hosts, interleaved line by line (each host keeps
its order), plus the bundled sample (several hosts of its own)."""
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

tests = 0
failed = 0


def ok(cond, name, diag=None):
    global tests, failed
    tests += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', tests, name))
    if not cond:
        failed += 1
        for line in str(diag or '').splitlines()[:20]:
            print('# ' + line)
    return cond


def prefixed(value, prefix):
    if isinstance(value, str):
        return prefix + value
    if isinstance(value, list):
        return [prefixed(v, prefix) for v in value]
    return value


def build_stream(vectors_dir, sample):
    per_host = []
    expected = 0
    for path in sorted(glob.glob(os.path.join(vectors_dir, '*.ndjson'))):
        name = os.path.basename(path)[:-len('.ndjson')]
        with open(os.path.splitext(path)[0] + '.expected', encoding='utf-8') as f:
            expected += sum(1 for line in f if line.strip())
        lines = []
        with open(path, encoding='utf-8') as f:
            for line in f:
                if not line.strip():
                    continue
                ev = json.loads(line)
                ev.setdefault('event', {})
                if 'id' in ev['event']:
                    ev['event']['id'] = prefixed(ev['event']['id'], name + '/')
                proc = ev.get('process')
                if isinstance(proc, dict) and 'entity_id' in proc:
                    proc['entity_id'] = prefixed(proc['entity_id'], name + '/')
                if not name.startswith('a_'):
                    ev['host'] = {'id': 'h-' + name, 'name': name}
                lines.append(json.dumps(ev, separators=(',', ':')))
        per_host.append(lines)
    with open(sample, encoding='utf-8') as f:
        per_host.append([line.rstrip('\n') for line in f if line.strip()])
    out = []
    for i in range(max(len(h) for h in per_host)):
        for h in per_host:
            if i < len(h):
                out.append(h[i])
    return out, expected


def alerts_of(cmd, stdin=None):
    p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        return None, 'exit %d: %s' % (p.returncode, p.stderr.decode(errors='replace'))
    got = collections.Counter()
    for line in p.stdout.decode().splitlines():
        a = json.loads(line)
        got[(a['t1071']['key'], tuple(a['t1071']['event_ids']))] += 1
    return got, p.stderr.decode(errors='replace')


def diff(got, want):
    lines = []
    for k in sorted(set(got) | set(want)):
        if got[k] != want[k]:
            lines.append('%s: got %d want %d' % (k, got[k], want[k]))
    return '\n'.join(lines)


def scrape(port):
    import urllib.request
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


def samples(text):
    """{name{labels}: value} of a Prometheus text body; None when a sample's
    family has no # TYPE line before it."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith('# TYPE '):
            typed.add(line.split()[2])
        elif line and not line.startswith('#'):
            k, v = line.rsplit(' ', 1)
            if k.split('{')[0] not in typed:
                return None
            out[k] = float(v)
    return out


def metrics_test(agent, stream, nlines, tmp):
    """--metrics with file/stdin input: per-worker counts and every library
    stat, on loopback, while the agent runs (stdin held open)."""
    import re
    import time
    err_path = os.path.join(tmp, 'metrics.err')
    with open(err_path, 'w') as err:
        p = subprocess.Popen([agent, '-j', '2', '--output', 'none', '--metrics', '0', '-'],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    try:
        port = None
        for _ in range(100):
            m = re.search(r'metrics on http://127\.0\.0\.1:(\d+)/metrics', open(err_path).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        ok(port is not None, '--metrics 0: serves on 127.0.0.1 (a free port)', open(err_path).read())
        if port is None:
            return
        with open(stream, 'rb') as f:
            p.stdin.write(f.read())
        p.stdin.flush()
        vals = None
        for _ in range(100):
            text = scrape(port)
            vals = samples(text) if text else None
            if vals and sum(v for k, v in vals.items()
                            if k.startswith('t1071_agent_worker_events_total{')) == nlines:
                break
            time.sleep(0.05)
        ok(vals is not None, '/metrics: Prometheus text, every sample under its TYPE line', text)
        vals = vals or {}
        ev = [vals.get('t1071_agent_worker_events_total{worker="%d"}' % i) for i in range(2)]
        rin = [vals.get('t1071_records_in_total{worker="%d"}' % i) for i in range(2)]
        ok(None not in ev and sum(ev) == nlines and rin == ev,
           '/metrics while running: per-worker events (%s) add up to the %d lines, as the '
           'contexts\' records_in' % (ev, nlines), (ev, rin))
        ok('t1071_keys_tracked{worker="0"}' in vals and 't1071_memory_bytes{worker="1"}' in vals,
           '/metrics: the library\'s gauges per worker')
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    ok(p.returncode == 0, '--metrics: the agent ends cleanly at the end of input')


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    agent, replay, vectors_dir, sample = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        stream = os.path.join(tmp, 'stream.ndjson')
        lines, expected_vectors = build_stream(vectors_dir, sample)
        with open(stream, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')
        pb = os.path.join(tmp, 'stream.pb')
        with open(pb, 'wb') as f:
            enc = subprocess.run([replay, '--encode', stream], stdout=f, check=False)
        ok(enc.returncode == 0 and os.path.getsize(pb) > 0, 't1071-replay --encode the stream')

        want, err = alerts_of([replay, '--output', 'alerts', stream])
        ok(want is not None, 'single context (t1071-replay): %d alerts' % sum((want or {}).values()), err)
        if want is None:
            print('1..%d' % tests)
            return 1
        sample_alerts = sum(n for (k, ids), n in want.items() if ids and ids[0].startswith('s'))
        ok(sum(want.values()) - sample_alerts == expected_vectors and sample_alerts > 0,
           'the stream keeps every vector\'s expected sequences (%d) plus the sample\'s (%d)'
           % (expected_vectors, sample_alerts))

        runs = [
            (['-j', '1'], stream, 'ndjson'),
            (['-j', '4'], stream, 'ndjson'),
            (['-j', '3', '--queue', '2'], stream, 'ndjson'),
            (['-j', '4', '--input', 'pb'], pb, 'pb'),
        ]
        for opts, path, fmt in runs:
            cmd = [agent] + opts + ['--stats', path]
            got, err = alerts_of(cmd)
            name = ' '.join(opts) + ' (' + fmt + ')'
            if got is None:
                ok(False, name + ': runs', err)
                continue
            ok(got == want, name + ': the same multiset of alerts as one context', diff(got, want))
            busy = [l for l in err.splitlines() if 'worker' in l and ' events 0 ' not in l]
            nworkers = int(opts[1])
            ok(len(busy) == nworkers or (nworkers > 1 and len(busy) > 1),
               name + ': events reached %d of %d workers' % (len(busy), nworkers), err)

        # stdin, and --set reaches every context.
        with open(stream, 'rb') as f:
            got, err = alerts_of([agent, '-j', '2', '--set', 'rule.runs=12', '-'], stdin=f)
        want12, err12 = alerts_of([replay, '--set', 'rule.runs=12', stream])
        ok(got is not None and want12 is not None and got == want12 and got != want,
           '-j 2 --set rule.runs=12 from stdin: as t1071-replay --set', err if got is None else err12)

        # Bad lines are skipped and counted; the rest still alerts.
        bad = os.path.join(tmp, 'bad.ndjson')
        with open(bad, 'w', encoding='utf-8') as f:
            f.write('not json\n{"event":{"id":"x"}}\n\n' + '\n'.join(lines) + '\n')
        got, err = alerts_of([agent, '-j', '2', '--stats', bad])
        ok(got is not None and sum(got.values()) == sum(want.values()) and 'reader: records %d bad 1' % (len(lines) + 2) in err,
           'a malformed line is skipped and counted', err)

        metrics_test(agent, stream, len(lines), tmp)

        p = subprocess.run([agent, '-j', '0', stream], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        ok(p.returncode == 2, '-j 0 is a usage error (exit 2)')
        p = subprocess.run([agent, '--set', 'rule.nope=1', stream], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, check=False)
        ok(p.returncode == 2 and b'rule.nope' in p.stderr, 'an unknown key is a usage error naming it')
    print('1..%d' % tests)
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
