#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora of tests/fuzz/corpus/<api>/ from the integration
fixtures (run once; the fuzzers' -merge=1 then keeps what adds coverage).

usage: make-seeds.py BUILD_DIR [OUT_DIR]   (OUT_DIR: tests/fuzz/seeds)

Each target's input layout is described at the top of its fuzz_<api>.c:
byte 0 picks one of the FUZZ_N_CONFIGS configurations of fuzz.h."""
import os
import subprocess
import sys
import tempfile

N_CONFIGS = 6
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'integration', 'fixtures')

# (fixture, first N lines)
SOURCES = [
    ('eql-vectors/a_25_one_entity.ndjson', 25),
    ('eql-vectors/b_gap.ndjson', 17),
    ('eql-vectors/c_maxspan_boundary.ndjson', 20),
    ('eql-vectors/d_predicates.ndjson', 12),
    ('eql-vectors/e_keys.ndjson', 24),
    ('eql-vectors/f_equal_ts.ndjson', 12),
    ('eql-vectors/g_predicates_each.ndjson', 12),
    ('eql-vectors/h_edges_each.ndjson', 12),
    ('sources/elastic-endpoint-linux.ndjson', 12),
    ('sources/elastic-endpoint-windows.ndjson', 12),
    ('sources/packetbeat-flow.ndjson', 12),
    ('sources/packetbeat-flow-pre711.ndjson', 12),
    ('sources/winlogbeat-sysmon3.ndjson', 12),
    ('sources/auditbeat-socket.ndjson', 12),
    ('real/mordor-empire-ikeext.ecs.ndjson', 12),
    ('real/mordor-covenant-iertutil.ecs.ndjson', 12),
]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def records(delimited):
    recs, off = [], 0
    while off < len(delimited):
        n, shift = 0, 0
        while True:
            b = delimited[off]
            off += 1
            n |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        recs.append(delimited[off:off + n])
        off += n
    return recs


def write(out, api, name, data):
    d = os.path.join(out, api)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def main():
    build = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, 'seeds')
    replay = os.path.join(build, 'examples', 't1071-replay')
    for i, (fix, n) in enumerate(SOURCES):
        with open(os.path.join(FIX, fix), 'rb') as f:
            lines = [l for l in f.read().split(b'\n') if l.strip()][:n]
        text = b'\n'.join(lines) + b'\n'
        enc = subprocess.run([replay, '--encode', '-'], input=text, check=True,
                             stdout=subprocess.PIPE).stdout
        recs = records(enc)
        name = os.path.basename(fix).split('.')[0]
        sel = i % N_CONFIGS
        write(out, 'event', name, bytes([sel]) + b''.join(
            len(r).to_bytes(2, 'little') + r for r in recs))
        write(out, 'event', name + '-one', bytes([(sel + 3) % N_CONFIGS]) +
              len(recs[0]).to_bytes(2, 'little') + recs[0])
        write(out, 'batch', name, bytes([sel, 128]) + enc)
        write(out, 'json', name, bytes([sel]) + text)
        write(out, 'ndjson', name, bytes([(sel + 1) % N_CONFIGS]) + text)
        # Snapshots: --state saves at exit; lateness keeps events buffered.
        if i % 3 == 0:
            with tempfile.TemporaryDirectory() as tmp:
                state = os.path.join(tmp, 'state')
                subprocess.run([replay, '--set', 'engine.lateness=10m', '--set',
                                'rule.runs=3', '--output', 'none', '--state', state, '-'],
                               input=text, check=True, stdout=subprocess.DEVNULL)
                with open(state, 'rb') as f:
                    snap = f.read()
            write(out, 'restore', name + '-payload', b'\x00' + snap[48:])
            write(out, 'restore', name + '-whole', b'\x01' + snap)
    for api in ('json', 'ndjson'):
        write(out, api, 'empty-object', b'\x03{}\n')
        write(out, api, 'dotted', b'\x03{"@timestamp":"2024-01-01T00:00:00+01:00",'
              b'"event.category":"network","event.type":"connection",'
              b'"process.entity_id":["a","b"],"destination.port":"443",'
              b'"destination.ip":["::ffff:1.2.3.4","x"],"host.id":"h"}\n')
    with open(os.path.join(HERE, '..', '..', 'examples', 'profiles', 'faithful.ini'), 'rb') as f:
        write(out, 'config', 'faithful-ini', f.read())
    write(out, 'config', 'engine-ini', b'[engine]\nlateness = 5m\nmax_jump = 1h\n'
          b'alert_queue = 2\nmax_event_bytes = 4096\nhash_seed = 42\nmemory_limit = 128KiB\n'
          b'[rule]\nderive = true\nhome_networks = 10.0.0.0/8,fd00::/8\n'
          b'key = host.name,source.ip\n# comment\nname[de] = x\n')
    write(out, 'config', 'set-lines', b'rule.runs=3\nrule.maxspan=90s\nrule.ports=80,1000-1010\n'
          b'rule.exclude_cidrs=\nrule.event_types=connection,start\nrule.key=process.name\n'
          b'rule.severity=low\nrule.risk_score=21\nengine.lateness=500ms\n'
          b'engine.memory_limit=0\nrule.require_process_name=no\nrule.direction=\n')
    write(out, 'config', 'bad-values', b'[rule]\nruns = 0\n[engine]\nmax_jump = 1s\n')
    write(out, 'config', 'unknown-key', b'rule.nope=1\nengine.hash_seed=18446744073709551615\n')


if __name__ == '__main__':
    main()
