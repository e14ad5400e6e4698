# SPDX-License-Identifier: Apache-2.0
"""The Python API: config, errors, backpressure, stats, helpers."""
import json
import os

import pytest

import t1071detect as t
from conftest import sequences, vector_expected, vector_lines

BEACON = {
    "event": {"category": ["network"], "type": ["connection"]},
    "network": {"direction": "egress"},
    "destination": {"ip": "8.8.8.8", "port": 443},
    "process": {"name": "beacon.exe", "entity_id": "E1"},
    "host": {"name": "h1"},
}
T0 = 1704067200000  # 2024-01-01T00:00:00Z


def beacon(i, entity="E1", **over):
    doc = json.loads(json.dumps(BEACON))
    doc["@timestamp"] = T0 + i * 60000
    doc["event"]["id"] = "%s-%02d" % (entity, i)
    doc["process"]["entity_id"] = entity
    doc.update(over)
    return doc


# ===== Library and stats =====

STAT_NAMES = (
    "records_in", "events_decoded", "events_matched", "events_filtered", "events_no_key",
    "errors_decode", "errors_too_large", "errors_truncated", "errors_json", "errors_timestamp",
    "malformed_ips", "events_late", "events_suspect_future", "events_suspect_dropped",
    "queue_full_refusals", "alerts_emitted", "alerts_polled", "alerts_queued", "keys_tracked",
    "hosts_tracked", "events_buffered", "keys_expired", "memory_bytes", "memory_peak_bytes",
    "keys_evicted", "events_dropped_memory", "key_values_dropped", "alerts_suppressed",
    "lateness_max_ms",
)


def test_version():
    assert t.version() == "%d.%d.%d" % (t.version_number() // 10000,
                                        t.version_number() // 100 % 100,
                                        t.version_number() % 100)


def test_stat_names_pinned():
    # Ids are pinned and only appended: the first names never change.
    names = t.stat_names()
    assert names[:len(STAT_NAMES)] == STAT_NAMES
    assert len(set(names)) == len(names)


def test_stats_dict():
    with t.Detector() as det:
        stats = det.stats()
        assert tuple(stats) == t.stat_names()
        assert all(isinstance(v, int) for v in stats.values())
        assert stats["records_in"] == 0
        for i in range(12):
            det.feed_event(t.encode_event(beacon(i)))
        det.feed_event(t.encode_event(beacon(12, event={"category": "process", "type": "start"})))
        stats = det.stats()
        assert stats["records_in"] == 13
        assert stats["events_decoded"] == 13
        assert stats["events_matched"] == 12
        assert stats["events_filtered"] == 1
        assert stats["alerts_emitted"] == 3
        assert stats["alerts_queued"] == 3
        assert stats["keys_tracked"] == 1
        assert stats["hosts_tracked"] == 1
        assert stats["memory_bytes"] > 0
        assert det.stat("alerts_emitted") == 3
        assert len(list(det.alerts())) == 3
        assert det.stats()["alerts_polled"] == 3
        assert det.stats()["alerts_queued"] == 0


def test_library_not_found(monkeypatch, tmp_path):
    from t1071detect import _native
    monkeypatch.setenv("T1071_LIBRARY", str(tmp_path / "nope.so"))
    with pytest.raises(t.LibraryNotFound, match="T1071_LIBRARY"):
        _native.load()


# ===== Config =====

def test_config_set_get():
    cfg = t.Config()
    assert cfg.get("rule.runs") == "10"
    cfg.set("rule.runs", 5)
    assert cfg["rule.runs"] == "5"
    cfg["rule.require_process_name"] = False
    assert cfg["rule.require_process_name"] == "false"
    cfg.set("rule.ports", [443, 8443])
    assert cfg.get("rule.ports") == "443,8443"
    long_value = ",".join(["10.0.0.0/8"] * 40)   # longer than a first guess of buffer
    cfg.set("rule.exclude_cidrs", long_value)
    assert cfg.get("rule.exclude_cidrs").count("/8") == 40
    cfg.close()
    with pytest.raises(t.StateError):
        cfg.get("rule.runs")


def test_config_errors():
    cfg = t.Config()
    with pytest.raises(t.UnknownKey) as e:
        cfg.set("rule.nope", "1")
    assert e.value.code == -8 and "rule.nope" in e.value.detail
    assert isinstance(e.value, LookupError) and isinstance(e.value, t.T1071Error)
    with pytest.raises(t.InvalidArgument) as e:
        cfg.set("rule.runs", "many")
    assert e.value.code == -1 and "rule.runs" in str(e.value)
    assert isinstance(e.value, ValueError)
    assert cfg.get("rule.runs") == "10"              # unchanged on error
    with pytest.raises(t.UnknownKey):
        cfg.get("nope.nope")
    with pytest.raises(TypeError):
        t.Config(runs=3)


def test_config_memory_limit():
    cfg = t.Config()
    assert cfg["engine.memory_limit"] == "1GiB"
    cfg["engine.memory_limit"] = "64MiB"
    assert cfg.get("engine.memory_limit") == "64MiB"
    cfg.set("engine.memory_limit", 0)                # 0: unlimited
    assert cfg.get("engine.memory_limit") == "0"
    cfg.load_data("[engine]\nmemory_limit = 512KiB\n")
    assert cfg.get("engine.memory_limit") == "512KiB"
    for bad in ("lots", "64MB", "-1", "64 MiB", "99999999999999999999GiB"):
        with pytest.raises(t.InvalidArgument) as e:
            cfg.set("engine.memory_limit", bad)
        assert "memory_limit" in str(e.value) or e.value.detail
    assert cfg.get("engine.memory_limit") == "512KiB"          # unchanged on error
    with t.Detector(cfg) as det:                               # accepted by a detector
        det.feed_event(t.encode_event(beacon(0)))
        stats = det.stats()
        assert stats["events_dropped_memory"] == stats["keys_evicted"] == 0
        assert stats["key_values_dropped"] == 0


def test_config_files(tmp_path):
    ini = tmp_path / "rule.ini"
    ini.write_text("[rule]\nruns = 3\nmaxspan = 1h\n[engine]\nlateness = 5s\n")
    cfg = t.Config().load_file(ini)
    assert (cfg["rule.runs"], cfg["rule.maxspan"], cfg["engine.lateness"]) == ("3", "1h", "5s")
    cfg.load_data("[rule]\nruns = 4\n")
    assert cfg["rule.runs"] == "4"
    with pytest.raises(t.FileError) as e:
        cfg.load_file(tmp_path / "missing.ini")
    assert isinstance(e.value, OSError) and e.value.code == -10
    with pytest.raises(t.UnknownKey):
        cfg.load_data(b"[rule]\nbogus = 1\n")
    with pytest.raises(t.InvalidArgument):
        cfg.load_data("[rule]\nruns = 0\n")


def test_config_applies():
    with t.Detector({"rule.runs": 3}) as det:
        for i in range(4):
            det.feed_event(t.encode_event(beacon(i)))
        assert [len(a.members) for a in det.alerts()] == [3, 3]
    cfg = t.Config({"rule.runs": 2})
    det = t.Detector(cfg)
    cfg.close()                              # the detector holds a copy
    det.feed_event(t.encode_event(beacon(0)))
    det.feed_event(t.encode_event(beacon(1)))
    assert len(list(det)) == 1
    det.close()


def test_alert_beacon_and_tuning():
    """Every alert carries the beacon verdict; tuning keys suppress."""
    with t.Detector({"engine.hash_seed": 1}) as det:
        for i in range(12):
            det.feed_event(t.encode_event(beacon(i)))
        alerts = list(det.alerts())
        assert len(alerts) == 3
        for a in alerts:
            assert a.HasField("beacon") and 0 <= a.beacon.score <= 1
            assert a.beacon.period_ms == 60000
            assert a.beacon.destination == "8.8.8.8:443"
            assert not a.tuning.suppressed and a.tuning.sequences == 1
        js = [json.loads(j) for j in det.alerts_json()]
        assert js == []
    with t.Detector({"tuning.suppress_period": "1h"}) as det:
        for i in range(12):
            det.feed_event(t.encode_event(beacon(i)))
        assert len(list(det.alerts())) == 1
        assert det.stats()["alerts_suppressed"] == 2
    with t.Detector({"beacon.enabled": "false"}) as det:
        for i in range(10):
            det.feed_event(t.encode_event(beacon(i)))
        assert not list(det.alerts())[0].HasField("beacon")


# ===== Bad input =====

def test_bad_json():
    with t.Detector() as det:
        with pytest.raises(t.JSONError) as e:
            det.feed_json('{"@timestamp": ')
        assert e.value.code == -11 and e.value.detail
        with pytest.raises(t.JSONError):
            det.feed_json("[1, 2]")
        with pytest.raises(t.JSONError):
            det.feed_json(b"\xff{}")
        assert det.stats()["errors_json"] == 3
        det.feed_json(json.dumps(beacon(0)))      # still usable
        assert det.stats()["events_decoded"] == 1


def test_bad_protobuf():
    with t.Detector() as det:
        with pytest.raises(t.DecodeError) as e:
            det.feed_event(b"\x0a\xff\xff\xff\xff")
        assert e.value.code == -3
        assert det.stats()["errors_decode"] == 1
        with pytest.raises(TypeError):
            det.feed_event("not bytes")


def test_bad_timestamp():
    with t.Detector() as det:
        no_ts = beacon(0)
        del no_ts["@timestamp"]
        with pytest.raises(t.TimestampError):
            det.feed_event(t.encode_event(no_ts))
        with pytest.raises(t.TimestampError):
            det.feed_json(json.dumps(beacon(0, **{"@timestamp": "yesterday"})))
        with pytest.raises(t.TimestampError):
            det.feed_event(t.encode_event(beacon(0), timestamp_ms=-1))
        assert det.stats()["errors_timestamp"] == 3


def test_too_large():
    with t.Detector({"engine.max_event_bytes": 64}) as det:
        big = t.encode_event(beacon(0), url_full="http://x/" + "a" * 100)
        with pytest.raises(t.TooLarge) as e:
            det.feed_event(big)
        assert e.value.code == -4
        assert det.stats()["errors_too_large"] == 1


def test_batch_truncated_and_bad_records():
    good = [t.encode_event(beacon(i)) for i in range(3)]
    stream = t.encode_batch(good)
    with t.Detector() as det:
        with pytest.raises(t.Truncated) as e:
            det.feed_batch(stream + b"\x20\x01\x02")      # says 32 bytes, has 2
        assert e.value.consumed == len(stream)
        stats = det.stats()
        assert stats["errors_truncated"] == 1 and stats["events_decoded"] == 3
        # A bad record inside the stream is skipped and counted, not raised.
        assert det.feed_batch(t.encode_batch([good[0], b"\x0a\xff\xff", good[1]])) > 0
        assert det.stats()["errors_decode"] == 1


def test_closed_detector():
    det = t.Detector()
    det.close()
    det.close()                                # idempotent
    with pytest.raises(t.StateError):
        det.feed_json("{}")
    with pytest.raises(t.StateError):
        list(det.alerts())


def test_error_classes():
    from t1071detect import _errors, _native
    for code, cls in [(-1, t.InvalidArgument), (-2, t.NoMemory), (-3, t.DecodeError),
                      (-4, t.TooLarge), (-5, t.Truncated), (-6, t.QueueFull),
                      (-7, t.StateError), (-8, t.UnknownKey), (-9, t.TimestampError),
                      (-10, t.FileError), (-11, t.JSONError), (-12, t.RangeError),
                      (-13, t.SnapshotError), (-14, t.VersionError), (-15, t.RuleError),
                      (-16, t.Unsupported)]:
        assert cls.code == code
        assert issubclass(cls, t.T1071Error)
        assert t.strerror(code) != "unknown error"
        exc = _errors.error_for(code, t.strerror(code))
        assert type(exc) is cls and exc.code == code
    assert t.strerror(-999) == "unknown error"
    assert t.strerror(-17) == "unknown error"       # no code past the last pinned one yet
    assert "snapshot" in t.strerror(-13) and "version" in t.strerror(-14)
    assert (_native.E_SNAPSHOT, _native.E_VERSION) == (-13, -14)
    assert (_native.E_RULE, _native.E_UNSUPPORTED) == (-15, -16)


# ===== Backpressure =====

def test_queue_full_not_consumed():
    with t.Detector({"rule.runs": 2, "engine.alert_queue": 2}) as det:
        for i in range(3):
            det.feed_event(t.encode_event(beacon(i)))   # 2 alerts: the mark
        before = det.stats()
        ev = t.encode_event(beacon(3))
        with pytest.raises(t.QueueFull) as e:
            det.feed_event(ev)
        assert e.value.code == -6 and "poll" in e.value.detail
        with pytest.raises(t.QueueFull):
            det.feed_json(json.dumps(beacon(3)))
        with pytest.raises(t.QueueFull):
            det.advance(t.INT64_MAX)
        after = det.stats()
        assert after["records_in"] == before["records_in"]       # nothing consumed
        assert after["queue_full_refusals"] == 3
        assert len(list(det.alerts())) == 2
        det.feed_event(ev)                                          # the same event again
        assert [a.members[-1].event_id for a in det.alerts()] == ["E1-03"]


def test_queue_full_batch_resume():
    events = [t.encode_event(beacon(i)) for i in range(30)]
    stream = t.encode_batch(events)
    ids = []
    with t.Detector({"engine.alert_queue": 3}) as det:
        off = 0
        refusals = 0
        while off < len(stream):
            try:
                off += det.feed_batch(stream[off:])
            except t.QueueFull as e:
                refusals += 1
                assert 0 < e.consumed < len(stream) - off
                off += e.consumed
            ids += [a.members[-1].event_id for a in det.alerts()]
        assert refusals > 0
        assert det.stats()["records_in"] == 30
    assert ids == ["E1-%02d" % i for i in range(9, 30)]


def test_auto_drain_keeps_everything():
    with t.Detector({"rule.runs": 2, "engine.alert_queue": 1}, auto_drain=True) as det:
        consumed = det.feed_batch(t.encode_batch(beacon(i) for i in range(50)))
        assert consumed > 0
        for i in range(50, 60):
            det.feed_json(json.dumps(beacon(i)))
        det.flush()
        assert det.stats()["queue_full_refusals"] > 0
        js = list(det.alerts_json())          # buffered alerts come out as JSON too
        assert len(js) == 59
        assert json.loads(js[0])["t1071"]["event_ids"] == ["E1-00", "E1-01"]


# ===== Time and lateness =====

def test_advance_flushes_reorder_buffer():
    with t.Detector({"engine.lateness": "1h", "rule.runs": 3}) as det:
        for i in (2, 0, 1):                   # out of order, within lateness
            det.feed_json(json.dumps(beacon(i)))
        assert list(det.alerts()) == []
        assert det.stats()["events_buffered"] == 3
        det.advance(T0 + 2 * 60000)
        got = list(det.alerts())
        assert [m.event_id for m in got[0].members] == ["E1-00", "E1-01", "E1-02"]
        assert det.stats()["lateness_max_ms"] == 2 * 60000  # E1-00 came 2 min behind E1-02


def test_late_drop_reports_the_lateness_that_would_keep_it():
    with t.Detector({"rule.runs": 3}) as det:  # the library's default lateness: 0s
        for i in (5, 0, 4, 2):
            det.feed_json(json.dumps(beacon(i)))
        st = det.stats()
        assert st["events_late"] == 3
        assert st["lateness_max_ms"] == 5 * 60000


# ===== Helpers =====

def test_event_shard():
    a = t.encode_event(beacon(0), host_name="alpha")
    b = t.encode_event(beacon(5), host_name="alpha")
    assert t.event_shard(a, 8) == t.event_shard(b, 8)
    assert all(0 <= t.event_shard(t.encode_event(host_name="h%d" % i), 4) < 4 for i in range(50))
    assert len({t.event_shard(t.encode_event(host_name="h%d" % i), 4) for i in range(50)}) > 1
    assert t.event_shard(t.encode_event(timestamp_ms=1), 4) == 0
    with pytest.raises(t.InvalidArgument):
        t.event_shard(a, 0)
    with pytest.raises(t.DecodeError):
        t.event_shard(b"\x0a\xff\xff", 4)


def test_encode_event_kwargs():
    raw = t.encode_event(timestamp_ms="2024-01-01T00:00:00Z", event_type="connection",
                         destination_port=443, process_name=["a", "b"], record_number=7)
    ev = t.Event.FromString(raw)
    assert ev.timestamp_ms == T0
    assert list(ev.event_type) == ["connection"]
    assert list(ev.destination_port) == [443]
    assert list(ev.process_name) == ["a", "b"]
    assert ev.record_number == 7
    assert not ev.HasField("host_name")
    import datetime
    ev = t.Event.FromString(t.encode_event(timestamp_ms=datetime.datetime(2024, 1, 1)))
    assert ev.timestamp_ms == T0
    with pytest.raises(TypeError):
        t.encode_event(no_such_field=1)


def test_decode_batch_roundtrip():
    evs = [t.event_from_ecs(beacon(i)) for i in range(3)]
    assert t.decode_batch(t.encode_batch(evs)) == evs


# Tricky JSON: the Python encoder must read it exactly as lib/input/ecs-json.c does.
TRICKY = [
    '{"@timestamp": "2024-01-01T00:00:00.123456+01:30", "destination.port": "443"}',
    '{"@timestamp": 1704067200000, "destination": {"port": [443, "80", "x", null, 8.0e1]}}',
    '{"@timestamp": "2024-01-01 00:00:00z", "source": {"port": "-12", "bytes": 1.5}}',
    '{"@timestamp": "2024-02-30T00:00:00Z", "source": {"port": "+1", "bytes": 4.43e2}}',
    '{"@timestamp": "2024-01-01T24:00:00Z", "process": {"pid": true, "name": [null, "a"]}}',
    '{"@timestamp": "2024-01-01T00:00Z", "process": {"name": [[], {}, 7, 1.50, true]}}',
    '{"@timestamp": "2024-01-01", "process.entity_id": ["a", "a", ""], "host": {"id": [null, 3]}}',
    '{"@timestamp": "2024-01-01T00:00:00+0530", "tls": {"client.server_name": "x"}}',
    '{"@timestamp": "2024-01-01T00:00:00+05", "tls.client": {"server_name": ["y", "z"]}}',
    '{"@timestamp": ["2024-01-01T00:00:00Z"], "event": {"id": "a\\u0000b\\ud800c"}}',
    '{"@timestamp": "0000-01-01T00:00:00Z", "event": {"type": "x", "type": ["y"]}}',
    '{"@timestamp": "9999-12-31T23:59:59.999Z", "event": "flat", "network": {"direction": {}}}',
    '{"@timestamp": -5, "process": {"start": "2023-12-31T23:59:59.9Z", "executable": 1e400}}',
    '{"@timestamp": 1.7e12, "user": {"name": false}, "url": {"full": 12.50, "path": -0}}',
    '{"@timestamp": "2024-01-01T00:00:60Z", "destination": {"port": 9223372036854775808}}',
    '{"@timestamp": "2024-13-01", "destination": {"port": -9223372036854775808, "ip": [1, 2]}}',
    '{"@timestamp": "\\u0032024-01-01T00:00:00Z", "ev\\u0065nt": {"kind": "signal"}}',
    '\ufeff{"agent": {"type": "endpoint"}, "user_agent": {"original": "curl/8"}}',
    '{"destination": {"ip": "10.0.0.1"}, "destination": {"domain": "d"}}',
]


@pytest.mark.parametrize("line", TRICKY)
def test_encoder_matches_library_tricky(line):
    theirs = t.Event.FromString(t.event_from_json(line))
    assert t.event_from_ecs(line) == theirs


@pytest.mark.parametrize("text", [
    "2024-01-01", "2024-01-01T00:00", "2024-01-01T00:00:00", "2024-01-01t00:00:00.1z",
    "2024-02-29T12:00:00-02:00", "2023-02-29T00:00:00Z", "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60", "24-01-01", "2024-1-01",
    "2024-01-01T00:00:00Z ", " 2024-01-01", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z",
])
def test_parse_time_matches_library(text):
    ev = t.Event.FromString(t.event_from_json(json.dumps({"@timestamp": text})))
    want = ev.timestamp_ms if ev.HasField("timestamp_ms") else None
    assert t.parse_time(text) == want


def test_sample_file_through_every_path():
    """The bundled sample: feed_json and protobuf give the same alerts."""
    from conftest import SOURCE
    path = SOURCE / "examples" / "sample" / "sample.ndjson"
    if not path.exists():
        pytest.skip("no sample")
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    outs = []
    for feed in (lambda d, x: d.feed_json(x), lambda d, x: d.feed_event(t.encode_event(x))):
        with t.Detector(auto_drain=True) as det:
            for x in lines:
                try:
                    feed(det, x)
                except (t.JSONError, t.TimestampError):
                    pass
            det.flush()
            outs.append(sequences(det.alerts()))
    assert outs[0] == outs[1] and outs[0]


def test_expected_format_helper():
    # Guard the test helper itself against the .expected format.
    name = "a_25_one_entity"
    first = vector_expected(name).splitlines()[0]
    assert first == b'["e00","e01","e02","e03","e04","e05","e06","e07","e08","e09"]'
    assert len(vector_lines(name)) == 25
    assert os.path.basename(t.__file__) == "__init__.py"


SYSMON_NXLOG = ('{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational",'
                '"Hostname":"WS5","UtcTime":"2020-10-09 22:27:50.747","Image":"C:\\\\x\\\\a.exe",'
                '"ProcessGuid":"{g}","Initiated":"true","Protocol":"tcp","DestinationIp":"8.8.8.8",'
                '"DestinationPort":"443","@timestamp":"2020-10-09T22:30:08.595Z"}')


def test_event_from_json_reads_raw_sysmon_and_source_forces_a_shape():
    ev = t.Event.FromString(t.event_from_json(SYSMON_NXLOG))
    assert ev.input_shape == "sysmon"
    assert ev.timestamp_ms == 1602282470747  # UtcTime, not the shipper's @timestamp
    assert list(ev.process_name) == ["a.exe"] and list(ev.network_direction) == ["egress"]
    forced = t.Event.FromString(t.event_from_json(SYSMON_NXLOG, source="ecs"))
    assert not forced.HasField("input_shape") and forced.timestamp_ms == 1602282608595
    with pytest.raises(t.T1071Error):
        t.event_from_json(SYSMON_NXLOG, source="netflow")
    assert "records_sysmon" in t.stat_names() and "events_network" in t.stat_names()


def test_key_history():
    """t1071_key_history: the key's intervals and verdict; its summary reading
    is the alert's t1071.beacon.reading; an unknown key is RangeError."""
    with t.Detector({"engine.hash_seed": "1"}) as det:
        alerts = []
        for i in range(12):
            det.feed_json(json.dumps(beacon(i)))
            alerts += det.alerts_json()
        assert alerts
        h = det.key_history("E1")
        assert h["key"] == "E1"
        (d,) = h["beacon"]["destinations"]
        assert d["destination"] == "8.8.8.8:443"
        assert d["intervals_ms"] == [60000] * 11
        assert len(d["beats_ms"]) == 12
        last = json.loads(alerts[-1]) if isinstance(alerts[-1], str) else alerts[-1]
        assert last["t1071"]["beacon"]["reading"] == d["readings"]["summary"]
        with pytest.raises(t.RangeError):
            det.key_history("nope")


def test_key_history_errors():
    """No beacon state: StateError; a key with a NUL byte: InvalidArgument."""
    with t.Detector({"beacon.enabled": "false"}) as det:
        for i in range(3):
            det.feed_json(json.dumps(beacon(i)))
        with pytest.raises(t.StateError):
            det.key_history("E1")
    with t.Detector() as det:
        det.feed_json(json.dumps(beacon(0)))
        with pytest.raises(t.InvalidArgument):
            det.key_history("E\x001")
