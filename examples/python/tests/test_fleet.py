# SPDX-License-Identifier: Apache-2.0
"""Fleet prevalence across Detectors (tuning.fleet_key):
Detector.prevalence_export() / prevalence_merge()."""
import json

import pytest

import t1071detect as t

T0 = 1704067200000  # 2024-01-01T00:00:00Z
SETTINGS = {"tuning.prevalence_hosts": "3", "tuning.fleet_key": "python-fleet",
            "engine.hash_seed": "7"}


def event(i, host, entity):
    return json.dumps({
        "@timestamp": T0 + i * 60000 + "ABC".index(host[-1]) * 1000,
        "event": {"category": ["network"], "type": ["connection"], "id": "%s-%d" % (entity, i)},
        "network": {"direction": "egress"},
        "destination": {"ip": "198.51.100.7", "port": 443},
        "process": {"name": "updater.exe", "entity_id": entity,
                    "executable": "C:\\Vendor\\updater.exe"},
        "host": {"id": host, "name": host},
    })


def table(det):
    """The whole table, without the checksum (16..48) and cursor (64..72)."""
    data, _ = det.prevalence_export(0)
    return data[:16] + data[48:64] + data[72:]


def test_merge_counts_other_detectors_hosts():
    with t.Detector(SETTINGS) as a, t.Detector(SETTINGS) as b:
        for i in range(3):
            a.feed_json(event(i, "HOSTA", "EA"))
            a.feed_json(event(i, "HOSTB", "EB"))
        delta, cursor = a.prevalence_export(0)
        assert cursor > 0
        # nothing changed since the cursor: only the header
        again, cursor2 = a.prevalence_export(cursor)
        assert cursor2 == cursor and len(again) == 88
        b.prevalence_merge(delta)
        b.prevalence_merge(delta)            # idempotent
        for i in range(12):
            b.feed_json(event(i, "HOSTC", "EC"))
        b.flush()
        alerts = list(b.alerts())
        assert alerts
        # HOSTA and HOSTB were seen by the other Detector only
        assert alerts[-1].tuning.prevalence_hosts == 3
        back, _ = b.prevalence_export(0)
        a.prevalence_merge(back)
        assert table(a) == table(b)


def test_refusals():
    with t.Detector({"tuning.prevalence_hosts": "3"}) as plain, \
            t.Detector(SETTINGS) as a, \
            t.Detector(dict(SETTINGS, **{"tuning.fleet_key": "other"})) as other:
        with pytest.raises(t.Unsupported):
            plain.prevalence_export()
        a.feed_json(event(0, "HOSTA", "EA"))
        delta, _ = a.prevalence_export()
        with pytest.raises(t.SnapshotError) as info:
            other.prevalence_merge(delta)
        assert "fleet_key" in info.value.detail
        with pytest.raises(t.SnapshotError):
            a.prevalence_merge(delta[:-1])
        with pytest.raises(t.SnapshotError):
            a.prevalence_merge(b"not a delta")
