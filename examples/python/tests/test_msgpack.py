# SPDX-License-Identifier: Apache-2.0
"""The msgpack entry points (Detector.feed_msgpack, event_from_msgpack)
against the JSON ones, on the sample and the EQL vectors: each line written
as msgpack by the small encoder below gives the same Event bytes and, fed
to a detector, the same alerts; bad msgpack raises JSONError and counts."""
import json
import struct

import pytest

import t1071detect as t
from conftest import SOURCE, VECTOR_NAMES, vector_lines


def mp(v):
    """msgpack of a JSON value (Python's json types), smallest heads."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        if 0 <= v < 1 << 64:
            return b"\xcf" + struct.pack(">Q", v)
        if -(1 << 63) <= v < 0:
            return b"\xd3" + struct.pack(">q", v)
        return b"\xcb" + struct.pack(">d", float(v))
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode("utf-8", "surrogatepass")
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xdb" + struct.pack(">I", len(b))) + b
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(mp(x) for x in v)
    return b"\xdf" + struct.pack(">I", len(v)) + b"".join(mp(k) + mp(x) for k, x in v.items())


def sample_lines():
    with open(SOURCE / "examples" / "sample" / "sample.ndjson", encoding="utf-8") as f:
        return [l for l in f.read().splitlines() if l.strip()]


def all_lines():
    out = sample_lines()
    for name in VECTOR_NAMES:
        out += vector_lines(name)
    return out


def test_event_from_msgpack_equals_json():
    lines = all_lines()
    assert len(lines) > 100
    for i, line in enumerate(lines):
        doc = json.loads(line)
        for source in (None, "ecs", "suricata"):
            assert (t.event_from_msgpack(mp(doc), i + 1, source) ==
                    t.event_from_json(line, i + 1, source)), line


def test_feed_msgpack_same_alerts():
    lines = sample_lines()
    with t.Detector() as a, t.Detector() as b:
        for line in lines:
            a.feed_json(line)
            b.feed_msgpack(mp(json.loads(line)))
        a.flush()
        b.flush()
        ja, jb = list(a.alerts_json()), list(b.alerts_json())
        assert ja and ja == jb
        assert a.stats() == b.stats()


def test_bad_msgpack():
    with t.Detector() as det:
        with pytest.raises(t.JSONError) as e:
            det.feed_msgpack(b"\x93\x01\x02\x03")          # not a map
        assert e.value.code == -11 and "not a map" in e.value.detail
        with pytest.raises(t.JSONError) as e:
            det.feed_msgpack(mp({"@timestamp": "2024-01-01T00:00:00Z"})[:-3])  # cut
        assert "msgpack" in e.value.detail
        with pytest.raises(t.JSONError):
            det.feed_msgpack(b"\x81\xa1x" + b"\x91" * 70 + b"\x90")  # too deep
        assert det.stats()["errors_json"] == 3
        with pytest.raises(t.JSONError):
            t.event_from_msgpack(b"\xc1")
        with pytest.raises(t.InvalidArgument):
            t.event_from_msgpack(b"\x80", 0, "nope")
