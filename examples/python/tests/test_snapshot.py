# SPDX-License-Identifier: Apache-2.0
"""Detector.snapshot() / Detector.restore() (t1071_snapshot / t1071_restore)."""
import json

import pytest

import t1071detect as t
from conftest import sequences, vector_expected, vector_lines

VECTOR = "h_edges_each"
SETTINGS = {"engine.lateness": "5m"}
VERSION_OFFSET = 8          # little-endian u32 after the 8-byte magic


def _counters(stats):
    """The stats a restore must carry over (memory gauges are re-measured)."""
    return {k: v for k, v in stats.items() if not k.startswith("memory_")}


def _uninterrupted(lines):
    with t.Detector(SETTINGS) as det:
        for line in lines:
            det.feed_json(line)
        det.flush()
        return sequences(det.alerts()), det.stats()


def _half_snapshot(lines, poll_first):
    """Feed the first half; return (alerts taken so far, snapshot bytes)."""
    with t.Detector(SETTINGS) as det:
        for line in lines[:len(lines) // 2]:
            det.feed_json(line)
        taken = list(det.alerts()) if poll_first else []
        return taken, det.snapshot()


@pytest.fixture(scope="module")
def lines():
    return vector_lines(VECTOR)


@pytest.fixture(scope="module")
def snap(lines):
    return _half_snapshot(lines, poll_first=False)[1]


@pytest.mark.parametrize("poll_first", [False, True], ids=["queued-alerts", "polled-alerts"])
def test_snapshot_restore_continues(lines, poll_first):
    whole, whole_stats = _uninterrupted(lines)
    assert whole == vector_expected(VECTOR)

    taken, state = _half_snapshot(lines, poll_first)
    assert isinstance(state, bytes) and state[:8] == b"T1071SNP"
    assert state[VERSION_OFFSET] == 1
    assert (len(taken) > 0) == poll_first
    with t.Detector.restore(state) as det:
        assert isinstance(det, t.Detector)
        for line in lines[len(lines) // 2:]:
            det.feed_json(line)
        det.advance(t.INT64_MAX)
        got = sequences(taken) + sequences(det.alerts())
        stats = det.stats()
    assert got == whole == vector_expected(VECTOR)
    # The counters went on from the snapshot's.
    for name in ("records_in", "events_decoded", "events_matched", "alerts_emitted",
                 "events_late", "keys_expired"):
        assert stats[name] == whole_stats[name], name
    assert stats["records_in"] == len(lines)


def test_restored_keeps_config_and_buffers():
    # runs=3, lateness=1h: out-of-order events wait in the reorder buffer.
    def ev(i):
        return json.dumps({
            "@timestamp": 1704067200000 + i * 60000, "event": {
                "category": "network", "type": "connection", "id": "e%d" % i},
            "network": {"direction": "egress"}, "destination": {"ip": "8.8.8.8", "port": 443},
            "process": {"name": "b.exe", "entity_id": "E1"}, "host": {"name": "h1"}})
    with t.Detector({"rule.runs": 3, "engine.lateness": "1h"}) as det:
        det.feed_json(ev(2))
        det.feed_json(ev(0))
        state = det.snapshot()
        before = det.stats()
    assert before["events_buffered"] == 2
    with t.Detector.restore(state) as det:
        assert _counters(det.stats()) == _counters(before)
        det.feed_json(ev(1))             # earlier than e2: not late with lateness=1h
        assert list(det.alerts()) == []
        det.flush()
        assert [[m.event_id for m in a.members] for a in det.alerts()] == [["e0", "e1", "e2"]]
        # A snapshot of a restored detector restores too.
        with t.Detector.restore(det.snapshot()) as again:
            assert _counters(again.stats()) == _counters(det.stats())


def test_snapshot_fresh_and_bytes_like():
    with t.Detector() as det:
        state = det.snapshot()
    with t.Detector.restore(bytearray(state)) as det:
        assert det.stats()["records_in"] == 0
        det.feed_json(json.dumps({"@timestamp": "2024-01-01T00:00:00Z"}))
        assert det.stats()["records_in"] == 1
    with t.Detector.restore(memoryview(state), auto_drain=True) as det:
        assert det.auto_drain


@pytest.mark.parametrize("cut", [0, 1, 8, 12, 47, 48, 49, -1, "half"])
def test_truncated_snapshot(snap, cut):
    n = len(snap) // 2 if cut == "half" else cut
    with pytest.raises(t.SnapshotError) as e:
        t.Detector.restore(snap[:n])
    assert e.value.code == -13 and isinstance(e.value, ValueError)
    assert e.value.reason == t.strerror(-13)


@pytest.mark.parametrize("where", [0, 12, 16, 47, 48, "middle", -1])
def test_bit_flipped_snapshot(snap, where):
    i = len(snap) // 2 if where == "middle" else where
    bad = bytearray(snap)
    bad[i] ^= 0x10
    with pytest.raises(t.SnapshotError):
        t.Detector.restore(bytes(bad))


def test_trailing_garbage_snapshot(snap):
    with pytest.raises(t.SnapshotError):
        t.Detector.restore(snap + b"\x00")


def test_newer_version_snapshot(snap):
    bad = bytearray(snap)
    bad[VERSION_OFFSET] += 1
    with pytest.raises(t.VersionError) as e:
        t.Detector.restore(bytes(bad))
    assert e.value.code == -14 and not isinstance(e.value, t.SnapshotError)
    bad[VERSION_OFFSET] = 0                           # version 0 was never written
    with pytest.raises(t.SnapshotError):
        t.Detector.restore(bytes(bad))


def test_snapshot_errors():
    with pytest.raises(TypeError):
        t.Detector.restore("not bytes")
    with pytest.raises(TypeError):
        t.Detector.restore(None)
    det = t.Detector()
    det.close()
    with pytest.raises(t.StateError):
        det.snapshot()


def test_snapshot_refuses_to_lose_auto_drained_alerts():
    beacon = {"event": {"category": "network", "type": "connection", "id": None},
              "network": {"direction": "egress"}, "destination": {"ip": "8.8.8.8", "port": 443},
              "process": {"name": "b.exe", "entity_id": "E1"}, "host": {"name": "h1"}}
    with t.Detector({"rule.runs": 2, "engine.alert_queue": 1}, auto_drain=True) as det:
        for i in range(4):
            beacon["event"]["id"] = "e%d" % i
            beacon["@timestamp"] = 1704067200000 + i * 60000
            det.feed_json(json.dumps(beacon))
        with pytest.raises(t.StateError, match="alerts"):
            det.snapshot()
        assert len(list(det.alerts())) == 3
        with t.Detector.restore(det.snapshot()) as det2:
            assert list(det2.alerts()) == []
