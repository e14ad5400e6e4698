# SPDX-License-Identifier: Apache-2.0
"""Replay the EQL test vectors (tests/integration/fixtures/eql-vectors) through
every ingest path of the bindings; each must give *.expected byte for byte."""
import json

import t1071detect as t
from conftest import sequences, vector_expected, vector_lines


def _replay(feed, items, **kw):
    alerts = []
    with t.Detector(**kw) as det:
        for item in items:
            feed(det, item)
            alerts.extend(det.alerts())
        det.flush()
        alerts.extend(det.alerts())
        stats = det.stats()
    return sequences(alerts), stats


def test_feed_json(vector):
    lines = vector_lines(vector)
    got, stats = _replay(lambda d, line: d.feed_json(line), lines)
    assert got == vector_expected(vector)
    assert stats["records_in"] == len(lines)
    assert stats["alerts_emitted"] == stats["alerts_polled"] == got.count(b"\n")


def test_feed_json_bytes(vector):
    lines = [line.encode("utf-8") for line in vector_lines(vector)]
    got, _ = _replay(lambda d, line: d.feed_json(line), lines)
    assert got == vector_expected(vector)


def test_protobuf_from_json_text(vector):
    """python3-protobuf encoding of the JSON text (numbers keep their text)."""
    events = [t.encode_event(line) for line in vector_lines(vector)]
    got, stats = _replay(lambda d, ev: d.feed_event(ev), events)
    assert got == vector_expected(vector)
    assert stats["events_decoded"] == len(events)


def test_protobuf_from_dict(vector):
    """python3-protobuf encoding of the parsed documents (dicts)."""
    events = [t.encode_event(json.loads(line)) for line in vector_lines(vector)]
    got, _ = _replay(lambda d, ev: d.feed_event(ev), events)
    assert got == vector_expected(vector)


def test_protobuf_messages(vector):
    """feed_event() takes Event messages too."""
    events = [t.event_from_ecs(line) for line in vector_lines(vector)]
    got, _ = _replay(lambda d, ev: d.feed_event(ev), events)
    assert got == vector_expected(vector)


def test_feed_batch(vector):
    stream = t.encode_batch(json.loads(line) for line in vector_lines(vector))
    got, stats = _replay(lambda d, s: d.feed_batch(s), [stream])
    assert got == vector_expected(vector)
    assert stats["records_in"] == len(vector_lines(vector))


def test_library_encoding(vector):
    """t1071_event_from_json() bytes fed back through feed_event()."""
    events = [t.event_from_json(line, n) for n, line in enumerate(vector_lines(vector), 1)]
    got, _ = _replay(lambda d, ev: d.feed_event(ev), events)
    assert got == vector_expected(vector)


def test_encoder_matches_library(vector):
    """The Python encoder builds the same Event as the C JSON reader."""
    for n, line in enumerate(vector_lines(vector), 1):
        ours = t.event_from_ecs(line, record_number=n)
        theirs = t.Event.FromString(t.event_from_json(line, n))
        assert ours == theirs, line
        assert t.event_from_ecs(json.loads(line), record_number=n) == theirs, line


def test_auto_drain_tiny_queue(vector):
    """alert_queue=1 with auto_drain: the same alerts, none lost."""
    lines = vector_lines(vector)
    alerts = []
    with t.Detector({"engine.alert_queue": 1}, auto_drain=True) as det:
        for line in lines:
            det.feed_json(line)          # never raises QueueFull
        det.flush()
        alerts.extend(det.alerts())
    assert sequences(alerts) == vector_expected(vector)


def test_queue_full_retry_tiny_queue(vector):
    """alert_queue=1, default mode: QueueFull, drain, feed the same line again."""
    alerts = []
    refusals = 0
    with t.Detector({"engine.alert_queue": 1}) as det:
        for line in vector_lines(vector):
            while True:
                try:
                    det.feed_json(line)
                    break
                except t.QueueFull:
                    refusals += 1
                    alerts.extend(det.alerts())
        while True:
            try:
                det.flush()
                break
            except t.QueueFull:
                refusals += 1
                alerts.extend(det.alerts())
        alerts.extend(det.alerts())
        assert det.stats()["queue_full_refusals"] == refusals
    assert sequences(alerts) == vector_expected(vector)


def test_alert_json_matches_protobuf(vector):
    """alerts_json(): one ECS JSON line per alert, the same alerts."""
    with t.Detector() as det:
        for line in vector_lines(vector):
            det.feed_json(line)
        det.flush()
        docs = [json.loads(js) for js in det.alerts_json()]
    want = vector_expected(vector).splitlines()
    assert len(docs) == len(want)
    for doc, ids in zip(docs, want):
        assert "\n" not in json.dumps(doc)
        assert doc["t1071"]["event_ids"] == json.loads(ids)
