# SPDX-License-Identifier: Apache-2.0
"""Encode ECS events as t1071.ecs.v1.Event protobuf with python3-protobuf.

These helpers need no native library.  They read an ECS document the way
the library's own JSON reader does (lib/input/ecs-json.c), so feeding
``encode_event(doc)`` gives the same result as ``feed_json(json.dumps(doc))``:

- nested objects and dotted keys ("process.entity_id") at any level, mixed
  freely; keys that name no Event field are ignored;
- null, [], an object, or a value that does not convert: absent;
- a repeated field takes a scalar as a one-element list, an array element by
  element (nulls, nested arrays/objects and values that do not convert are
  dropped); a single-valued field given an array takes its first non-null
  scalar;
- a string field takes a number as its text, a boolean as "true"/"false";
- an integer field takes an integer-valued number in int64 (443, 443.0,
  4.43e2) or a string of an optional '-' and decimal digits ("443");
- a date (@timestamp, process.start) takes an RFC 3339 / ISO 8601 string
  (parse_time) or a number of ms since the epoch.

A number's "text as written" is known only when the input is JSON text
(encode_event(str)); from a dict, numbers given for string fields are
written with str().  For exact C semantics use t1071detect.event_from_json().
"""
import datetime as _dt
import json as _json
import re as _re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from . import ecs_pb2
from ._errors import JSONError

Event = ecs_pb2.Event
Alert = ecs_pb2.Alert

__all__ = ["Event", "Alert", "event_from_ecs", "encode_event", "encode_batch",
           "decode_batch", "parse_time", "ECS_FIELDS"]

_STR, _STRS, _INT, _INTS, _TIME = "str", "strs", "int", "ints", "time"

#: ECS dotted name -> (Event field, kind).  Mirrors lib/input/ecs-json.c's tree.
ECS_FIELDS = {
    "@timestamp": ("timestamp_ms", _TIME),
    "event.id": ("event_id", _STR),
    "event.kind": ("event_kind", _STR),
    "event.category": ("event_category", _STRS),
    "event.type": ("event_type", _STRS),
    "event.action": ("event_action", _STR),
    "event.dataset": ("event_dataset", _STR),
    "event.module": ("event_module", _STR),
    "network.direction": ("network_direction", _STRS),
    "network.transport": ("network_transport", _STR),
    "network.protocol": ("network_protocol", _STR),
    "network.community_id": ("network_community_id", _STR),
    "source.ip": ("source_ip", _STRS),
    "source.port": ("source_port", _INT),
    "source.bytes": ("source_bytes", _INT),
    "destination.ip": ("destination_ip", _STRS),
    "destination.port": ("destination_port", _INTS),
    "destination.domain": ("destination_domain", _STR),
    "destination.bytes": ("destination_bytes", _INT),
    "process.entity_id": ("process_entity_id", _STRS),
    "process.pid": ("process_pid", _INT),
    "process.name": ("process_name", _STRS),
    "process.executable": ("process_executable", _STR),
    "process.start": ("process_start_ms", _TIME),
    "host.id": ("host_id", _STR),
    "host.name": ("host_name", _STR),
    "user.name": ("user_name", _STR),
    "url.full": ("url_full", _STR),
    "url.path": ("url_path", _STR),
    "user_agent.original": ("user_agent_original", _STR),
    "tls.client.server_name": ("tls_client_server_name", _STR),
    "agent.type": ("agent_type", _STR),
}

_KIND_BY_FIELD = {f: k for f, k in ECS_FIELDS.values()}
_KIND_BY_FIELD["record_number"] = "uint"


def _build_tree():
    root = {}
    for dotted, leaf in ECS_FIELDS.items():
        parts = [dotted] if dotted == "@timestamp" else dotted.split(".")
        node = root
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = leaf
    return root


_TREE = _build_tree()

# ===== Scalars =====

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class _Int(int):
    """An int parsed from JSON text, remembering the text."""

    def __new__(cls, text):
        self = int.__new__(cls, text)
        self.text = text
        return self


class _Float(float):
    """A float parsed from JSON text, remembering the text."""

    def __new__(cls, text):
        self = float.__new__(cls, text)
        self.text = text
        return self


class _Obj(list):
    """A JSON object as its (key, value) pairs in document order: duplicate
    keys all count, as in the C reader, where the last occurrence wins per
    field and objects under a repeated key are all walked."""

    def items(self):
        return iter(self)


def _is_obj(v):
    return isinstance(v, (Mapping, _Obj))


def _bad_constant(name):
    raise ValueError("%s is not JSON" % name)


def _loads(text):
    try:
        return _json.loads(text, parse_int=_Int, parse_float=_Float,
                           parse_constant=_bad_constant, object_pairs_hook=_Obj)
    except (ValueError, RecursionError) as e:
        raise JSONError("malformed JSON", str(e)) from None


def _clean(s):
    """Strings as the C reader decodes them: no NUL, no lone surrogate."""
    if "\0" in s or any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        s = "".join("\ufffd" if c == "\0" or 0xD800 <= ord(c) <= 0xDFFF else c for c in s)
    return s


def _is_scalar(v):
    return v is None or isinstance(v, (str, int, float))


def _text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _clean(v)
    if hasattr(v, "text"):
        return v.text
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _number_to_int64(v):
    if isinstance(v, bool):
        return None
    try:
        d = Decimal(v.text) if hasattr(v, "text") else Decimal(v)
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite() or d != d.to_integral_value():
        return None
    i = int(d)
    return i if INT64_MIN <= i <= INT64_MAX else None


_DIGITS = _re.compile(r"-?[0-9]+", _re.ASCII)


def _to_int(v, time=False):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return _number_to_int64(v)
    if isinstance(v, str):
        if time:
            return parse_time(v)
        return _number_to_int64(v) if _DIGITS.fullmatch(v) else None
    if isinstance(v, _dt.datetime) and time:
        return _datetime_ms(v)
    return None


_TIME_RE = _re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?", _re.ASCII)


def _leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(s):
    """An ECS date string -> ms since the epoch (int), or None.

    Exactly lib/util/timefmt.c: YYYY-MM-DD, optionally 'T'/'t'/' ' and HH:MM,
    HH:MM:SS or HH:MM:SS.fff... (truncated to ms), optionally 'Z' or an
    offset +HH:MM / +HHMM / +HH.  No offset means UTC.  Years 0001..9999.
    """
    m = _TIME_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    if y < 1 or not 1 <= mo <= 12:
        return None
    dim = 29 if mo == 2 and _leap(y) else (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[mo - 1]
    if not 1 <= d <= dim:
        return None
    h = int(m[4] or 0)
    mi = int(m[5] or 0)
    sec = int(m[6] or 0)
    if h > 23 or mi > 59 or sec > 59:
        return None
    ms = int((m[7] or "")[:3].ljust(3, "0"))
    off = 0
    if m[9]:
        oh, om = int(m[10]), int(m[11] or 0)
        if oh > 23 or om > 59:
            return None
        off = (1 if m[9] == "+" else -1) * (oh * 60 + om)
    return (_days_from_civil(y, mo, d) * 86400000 + (h * 3600 + mi * 60 + sec) * 1000 + ms
            - off * 60000)


def _datetime_ms(t):
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    delta = t - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


# ===== ECS document -> Event =====

def _convert(kind, v):
    """One scalar for a field of this kind -> the value to store, or None."""
    if kind in (_STR, _STRS):
        return _text(v)
    return _to_int(v, time=kind == _TIME)


def _set_field(ev, field, kind, value):
    ev.ClearField(field)
    repeated = kind in (_STRS, _INTS)
    if value is None or _is_obj(value):
        return
    if isinstance(value, (list, tuple)) and not isinstance(value, _Obj):
        for item in value:
            if item is None or _is_obj(item) or isinstance(item, (list, tuple)):
                continue
            got = _convert(kind, item)
            if repeated:
                if got is not None:
                    getattr(ev, field).append(got)
            else:
                if got is not None:
                    setattr(ev, field, got)
                return                      # first non-null scalar only
        return
    got = _convert(kind, value)
    if got is None:
        return
    if repeated:
        getattr(ev, field).append(got)
    else:
        setattr(ev, field, got)


def _lookup(node, key):
    parts = key.split(".")
    for i, p in enumerate(parts):
        hit = node.get(p) if isinstance(node, dict) else None
        if hit is None:
            return None
        if i < len(parts) - 1 and not isinstance(hit, dict):
            return None
        node = hit
    return node


def _walk(ev, obj, node):
    for key, value in obj.items():
        if not isinstance(key, str):
            continue
        hit = _lookup(node, key)
        if hit is None:
            continue
        if isinstance(hit, dict):
            if _is_obj(value):
                _walk(ev, value, hit)
            continue
        _set_field(ev, hit[0], hit[1], value)


def event_from_ecs(doc, record_number=0):
    """An ECS document (a mapping, or JSON text) -> an ecs_pb2.Event."""
    if isinstance(doc, bytes):
        doc = doc.decode("utf-8")
    if isinstance(doc, str):
        doc = _loads(doc.lstrip("\ufeff"))
    if not _is_obj(doc):
        raise JSONError("malformed JSON", "expected a JSON object")
    ev = Event()
    _walk(ev, doc, _TREE)
    if record_number:
        ev.record_number = int(record_number)
    return ev


def _set_direct(ev, field, value):
    """Set an Event field from a keyword argument."""
    kind = _KIND_BY_FIELD.get(field)
    if kind is None:
        raise TypeError("Event has no field %r" % field)
    if kind == "uint":
        ev.ClearField(field)
        if value is not None:
            ev.record_number = int(value)
        return
    if kind == _TIME and isinstance(value, (_dt.datetime, str)):
        got = _to_int(value, time=True)
        if got is None:
            raise ValueError("%s: cannot parse %r as a date" % (field, value))
        ev.ClearField(field)
        setattr(ev, field, got)
        return
    if kind in (_STRS, _INTS) and not isinstance(value, (list, tuple)) and value is not None:
        value = [value]
    _set_field(ev, field, kind, value)


def encode_event(doc=None, /, **fields):
    """Encode one event; returns its protobuf bytes.

    ``doc`` is an ECS document (mapping or JSON text, see event_from_ecs) or
    an ecs_pb2.Event; keyword arguments set Event fields by their protobuf
    names and override the document, e.g.::

        encode_event(timestamp_ms=1704067200000, event_type="connection",
                     event_category="network", network_direction="egress",
                     destination_ip="8.8.8.8", destination_port=443,
                     process_name="beacon.exe", process_entity_id="E1")

    Repeated fields take a scalar or a list; timestamp_ms / process_start_ms
    also take a datetime (naive = UTC) or an ECS date string.
    """
    if doc is None:
        ev = Event()
    elif isinstance(doc, Event):
        ev = Event()
        ev.CopyFrom(doc)
    else:
        ev = event_from_ecs(doc)
    for field, value in fields.items():
        _set_direct(ev, field, value)
    return ev.SerializeToString()


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_batch(events):
    """A length-delimited stream (for Detector.feed_batch) of events given as
    protobuf bytes, ecs_pb2.Event messages or ECS documents."""
    if isinstance(events, (bytes, str, Mapping, Event)) or not isinstance(events, Iterable):
        raise TypeError("encode_batch takes an iterable of events")
    out = bytearray()
    for e in events:
        if isinstance(e, (bytes, bytearray, memoryview)):
            b = bytes(e)
        elif isinstance(e, Event):
            b = e.SerializeToString()
        else:
            b = encode_event(e)
        out += _varint(len(b))
        out += b
    return bytes(out)


def decode_batch(data, message=Event):
    """Split a length-delimited stream into messages (Event by default)."""
    out = []
    i, n = 0, len(data)
    while i < n:
        size = shift = 0
        while True:
            if i >= n or shift > 63:
                raise ValueError("truncated length prefix")
            b = data[i]
            i += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if i + size > n:
            raise ValueError("truncated record")
        out.append(message.FromString(bytes(data[i:i + size])))
        i += size
    return out
