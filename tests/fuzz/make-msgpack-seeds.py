#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpus of tests/fuzz/corpus/msgpack/ (fuzz_msgpack.c's
layout: byte 0 a configuration, then records as a little-endian u16 length
and that many bytes) from the integration fixtures, each JSON line written
as msgpack by the small encoder below (Python's json, no msgpack module).
Run once; libFuzzer's -merge=1 then keeps what adds coverage.

usage: make-msgpack-seeds.py [OUT_DIR]   (default tests/fuzz/corpus/msgpack)"""
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'integration', 'fixtures')
N_CONFIGS = 6

SOURCES = [
    ('eql-vectors/a_25_one_entity.ndjson', 25),
    ('eql-vectors/e_keys.ndjson', 24),
    ('sources/elastic-endpoint-windows.ndjson', 12),
    ('sources/suricata-eve-flow.ndjson', 12),
    ('sources/winlogbeat-sysmon3.ndjson', 12),
    ('sources/packetbeat-flow.ndjson', 12),
    ('real/raw/mordor-empire-ikeext.sysmon-raw.ndjson', 12),
    ('shapes/zeek-conn.json.ndjson', 12),
]


def enc(v):
    """msgpack of a JSON value: the smallest head for each item."""
    if v is None:
        return b'\xc0'
    if v is True:
        return b'\xc3'
    if v is False:
        return b'\xc2'
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack('b', v)
        if 0 <= v < 1 << 8:
            return b'\xcc' + struct.pack('>B', v)
        if 0 <= v < 1 << 16:
            return b'\xcd' + struct.pack('>H', v)
        if 0 <= v < 1 << 32:
            return b'\xce' + struct.pack('>I', v)
        if 0 <= v < 1 << 64:
            return b'\xcf' + struct.pack('>Q', v)
        if -(1 << 7) <= v:
            return b'\xd0' + struct.pack('>b', v)
        if -(1 << 15) <= v:
            return b'\xd1' + struct.pack('>h', v)
        if -(1 << 31) <= v:
            return b'\xd2' + struct.pack('>i', v)
        if -(1 << 63) <= v:
            return b'\xd3' + struct.pack('>q', v)
        return b'\xcb' + struct.pack('>d', float(v))
    if isinstance(v, float):
        return b'\xcb' + struct.pack('>d', v)
    if isinstance(v, str):
        b = v.encode('utf-8', 'surrogatepass')
        n = len(b)
        if n < 32:
            return bytes([0xa0 | n]) + b
        if n < 1 << 8:
            return b'\xd9' + struct.pack('>B', n) + b
        if n < 1 << 16:
            return b'\xda' + struct.pack('>H', n) + b
        return b'\xdb' + struct.pack('>I', n) + b
    if isinstance(v, list):
        n = len(v)
        head = bytes([0x90 | n]) if n < 16 else b'\xdc' + struct.pack('>H', n)
        return head + b''.join(enc(x) for x in v)
    n = len(v)
    head = bytes([0x80 | n]) if n < 16 else b'\xde' + struct.pack('>H', n)
    return head + b''.join(enc(k) + enc(x) for k, x in v.items())


def pairs(line):
    """object_pairs_hook keeping duplicate keys, as a map keeps them."""
    return json.loads(line, object_pairs_hook=lambda kv: _Ordered(kv))


class _Ordered(dict):
    def __init__(self, kv):
        super().__init__()
        self._kv = kv

    def items(self):
        return self._kv

    def __len__(self):
        return len(self._kv)


def record(b):
    return struct.pack('<H', len(b)) + b


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus', 'msgpack')
    os.makedirs(out, exist_ok=True)
    seeds = []
    for i, (rel, n) in enumerate(SOURCES):
        with open(os.path.join(FIX, rel), encoding='utf-8') as fh:
            lines = [l for l in fh.read().splitlines() if l.strip()][:n]
        body = b''.join(record(enc(pairs(l))) for l in lines if len(enc(pairs(l))) < 65536)
        seeds.append(bytes([i % N_CONFIGS]) + body)
    # Bad records: not a map, cut, too deep, a length past the end, a bad key.
    good = enc(pairs(open(os.path.join(FIX, SOURCES[0][0])).readline()))
    bad = [b'\x93\x01\x02\x03', good[:len(good) // 2], good + b'\xc0',
           b'\x81\xa1x' + b'\x91' * 70 + b'\x90', b'\x81\xa1a\xdb\xff\xff\xff\xf0abc',
           b'\x81\xc0\x01', b'\xdf\xff\xff\xff\xff', b'\x81\xa1a\xd7\x00' + b'\x00' * 8]
    seeds.append(b'\x00' + b''.join(record(b) for b in bad) + record(good))
    for s in seeds:
        name = hashlib.sha1(s).hexdigest()
        with open(os.path.join(out, name), 'wb') as fh:
            fh.write(s)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == '__main__':
    main()
