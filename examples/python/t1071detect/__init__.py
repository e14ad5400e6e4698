# SPDX-License-Identifier: Apache-2.0
"""Python bindings for libt1071detect (ctypes over the C ABI).

    import t1071detect as t

    with t.Detector({"engine.lateness": "5s"}) as det:
        for line in open("events.ndjson", encoding="utf-8"):
            det.feed_json(line)
        det.flush()
        for alert in det.alerts():          # t1071.ecs.v1.Alert messages
            print(alert.process_entity_id, [m.event_id for m in alert.members])

Checkpoint a detector mid-stream (before flush()) and resume it elsewhere:

    state = det.snapshot()                  # bytes: all of its state
    det = t.Detector.restore(state)         # later input: the same alerts

The shared library is loaded on first use from $T1071_LIBRARY, else
ctypes.util.find_library("t1071detect"), else "libt1071detect.so.0".
"""
from . import ecs_pb2
from ._core import (Config, Detector, event_from_json, event_from_msgpack, event_shard,
                    stat_names, strerror, version, version_number)
from ._errors import (DecodeError, FileError, InvalidArgument, JSONError, LibraryNotFound,
                      NoMemory, QueueFull, RangeError, RuleError, SnapshotError, StateError,
                      T1071Error, TimestampError, TooLarge, Truncated, UnknownKey, Unsupported,
                      VersionError)
from .ecs import (ECS_FIELDS, Alert, Event, decode_batch, encode_batch, encode_event,
                  event_from_ecs, parse_time)

__version__ = "0.1.0"

#: Pass to Detector.advance() to flush everything (end of input).
INT64_MAX = (1 << 63) - 1

__all__ = [
    "Config", "Detector", "Alert", "Event", "ecs_pb2",
    "encode_event", "encode_batch", "decode_batch", "event_from_ecs", "event_from_json",
    "event_from_msgpack",
    "event_shard", "parse_time", "stat_names", "strerror", "version", "version_number",
    "ECS_FIELDS", "INT64_MAX",
    "T1071Error", "LibraryNotFound", "InvalidArgument", "NoMemory", "DecodeError", "TooLarge",
    "Truncated", "QueueFull", "StateError", "UnknownKey", "TimestampError", "FileError",
    "JSONError", "RangeError", "SnapshotError", "VersionError", "RuleError", "Unsupported",
]
