# SPDX-License-Identifier: Apache-2.0
"""Config and Detector: the libt1071detect C ABI as Python objects."""
import ctypes
import os
import threading

from . import _native as N
from . import ecs_pb2
from ._errors import QueueFull, StateError, T1071Error, Truncated, error_for

__all__ = ["Config", "Detector", "stat_names", "strerror", "version", "version_number",
           "event_shard", "event_from_json", "event_from_msgpack"]


def _strerror(code):
    return N.lib().t1071_strerror(code).decode("utf-8", "replace")


def strerror(code):
    """t1071_strerror(): the library's description of a status code."""
    return _strerror(int(code))


def version():
    """The runtime library's version, "MAJOR.MINOR.PATCH"."""
    return N.lib().t1071_version_string().decode("ascii")


def version_number():
    """The runtime library's version as MAJOR*10000 + MINOR*100 + PATCH."""
    return N.lib().t1071_version_number()


def _raise(code, detail=b""):
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    raise error_for(code, _strerror(code), detail)


def _as_bytes(data, what="data"):
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError("%s must be bytes-like, not %s" % (what, type(data).__name__))


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_as_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _copy(ptr, size):
    """Copy size bytes at a c_void_p (borrowed from the library)."""
    return ctypes.string_at(ptr.value, size.value) if size.value else b""


def _key(key):
    if not isinstance(key, str):
        raise TypeError("configuration keys are str, e.g. 'rule.runs'")
    return key.encode("ascii")


def _stat_names():
    names = []
    lib = N.lib()
    while True:
        name = lib.t1071_stat_name(len(names))
        if name is None:
            return tuple(names)
        names.append(name.decode("ascii"))


_STAT_NAMES = None


def stat_names():
    """Every stat name the library knows, in id order (t1071_stat_name)."""
    global _STAT_NAMES
    if _STAT_NAMES is None:
        _STAT_NAMES = _stat_names()
    return _STAT_NAMES


class Config:
    """Rule and engine settings (t1071_config).

    ``Config()`` holds the defaults (Elastic's T1071 rule, faithful profile).
    Settings may be given as a mapping: ``Config({"rule.runs": 5})``.  Values
    may be str, int, bool or a list (joined with commas).  Errors raise
    UnknownKey or InvalidArgument whose ``detail`` is t1071_config_errmsg().
    """

    def __init__(self, settings=None, **kwargs):
        if kwargs:
            raise TypeError("keys contain dots: pass them as a mapping, "
                            "Config({'rule.runs': 10})")
        self._lib = N.lib()
        p = N.config_p()
        rc = self._lib.t1071_config_new(ctypes.byref(p))
        if rc != N.OK:
            _raise(rc)
        self._p = p
        if settings:
            for k, v in dict(settings).items():
                self.set(k, v)

    def _check(self, rc):
        if rc != N.OK:
            _raise(rc, self._lib.t1071_config_errmsg(self._ptr()))

    def _ptr(self):
        if not self._p:
            raise StateError("config is closed", code=N.E_STATE)
        return self._p

    def set(self, key, value):
        """Set "section.key" to value; returns self."""
        self._check(self._lib.t1071_config_set(self._ptr(), _key(key),
                                               _as_text(value).encode("utf-8")))
        return self

    def get(self, key):
        """The canonical text of "section.key"."""
        p = self._ptr()
        needed = ctypes.c_size_t(0)
        rc = self._lib.t1071_config_get(p, _key(key), None, 0, ctypes.byref(needed))
        self._check(rc)
        buf = ctypes.create_string_buffer(max(needed.value, 1))
        self._check(self._lib.t1071_config_get(p, _key(key), buf, len(buf), ctypes.byref(needed)))
        return buf.value.decode("utf-8")

    __getitem__ = get
    __setitem__ = set

    def load_file(self, path):
        """Apply an INI file (GKeyFile syntax: [section] then key = value)."""
        self._check(self._lib.t1071_config_load_file(self._ptr(), os.fsencode(path)))
        return self

    def load_data(self, text):
        """Apply INI text (str or bytes)."""
        data = text.encode("utf-8") if isinstance(text, str) else _as_bytes(text, "text")
        self._check(self._lib.t1071_config_load_data(self._ptr(), data, len(data)))
        return self

    def set_rule(self, text):
        """Run this rule instead of the built-in one: an EQL sequence query or
        a Sigma correlation rule (str or bytes), told apart by content.  It
        decides rule.runs, rule.maxspan and rule.key; "" goes back to the
        built-in rule.  Removes rules added with add_rule().  Raises RuleError
        (``detail`` names line and column) for text it does not run."""
        data = text.encode("utf-8") if isinstance(text, str) else _as_bytes(text, "text")
        self._check(self._lib.t1071_config_set_rule(self._ptr(), data))
        return self

    def add_rule(self, text, name=None):
        """Run one more rule beside this config's own, in the same detector;
        its alerts carry ``name`` (default: a Sigma rule's title, else
        "rule N")."""
        data = text.encode("utf-8") if isinstance(text, str) else _as_bytes(text, "text")
        self._check(self._lib.t1071_config_add_rule(
            self._ptr(), None if name is None else name.encode("utf-8"), data))
        return self

    @property
    def rule_count(self):
        """How many rules a detector made from this config runs."""
        return int(self._lib.t1071_config_rule_count(self._ptr()))

    @property
    def errmsg(self):
        return self._lib.t1071_config_errmsg(self._ptr()).decode("utf-8", "replace")

    def close(self):
        if getattr(self, "_p", None):
            self._lib.t1071_config_free(self._p)
            self._p = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Detector:
    """One detection context (t1071_ctx).

    ``Detector(config=None, *, auto_drain=False)``: config is a Config, a
    mapping of settings, or None for the defaults; it is copied.

    Backpressure: when the library's alert queue is at engine.alert_queue,
    a feed call is refused and nothing is consumed.  By default that raises
    QueueFull: take the alerts (``alerts()``) and feed the same input again
    (for feed_batch resume at ``exc.consumed``).  With ``auto_drain=True``
    the Detector instead moves the queued alerts to a Python-side list that
    ``alerts()`` returns first, and retries: nothing is lost, but memory is
    then bounded only by how often you call alerts().

    Bad input (DecodeError, TooLarge, TimestampError, JSONError) is consumed,
    counted and dropped; the Detector stays usable.

    A Detector may be used from several threads (calls are serialised by a
    lock); for parallelism use one Detector per thread and event_shard().
    """

    def __init__(self, config=None, *, auto_drain=False):
        self._setup(auto_drain)
        own = None
        if config is not None and not isinstance(config, Config):
            config = own = Config(config)
        p = N.ctx_p()
        try:
            rc = self._lib.t1071_init(ctypes.byref(p), config._ptr() if config else None)
        finally:
            if own is not None:
                own.close()
        if rc != N.OK:
            _raise(rc)
        self._p = p

    def _setup(self, auto_drain):
        self._p = None
        self._lib = N.lib()
        self._lock = threading.Lock()
        self._pending = []           # (pb bytes, json str) taken on auto-drain
        self.auto_drain = bool(auto_drain)

    # -- snapshot and restore --

    def snapshot(self):
        """All of the detector's state as bytes (t1071_snapshot): config, hash
        seed, sequence state, reorder buffers, held suspects, alerts still
        queued in the library, counters.  Detector.restore() of them goes on
        exactly: the same later input gives the same alerts.

        The blob is versioned and checksummed but neither encrypted nor
        signed: it holds event data, so store it as such.  Alerts already
        moved to the Python side by auto_drain are not in the library, so
        take them (alerts()) first; StateError otherwise.
        """
        lib = self._lib
        buf = N.buffer_p()
        with self._lock:
            p = self._ptr()
            if self._pending:
                raise StateError("detector holds %d auto-drained alerts that a snapshot "
                                 "would lose: take alerts() first" % len(self._pending),
                                 code=N.E_STATE)
            rc = lib.t1071_snapshot(p, ctypes.byref(buf))
            if rc != N.OK:
                self._fail(rc)
        try:
            return ctypes.string_at(lib.t1071_buffer_data(buf), lib.t1071_buffer_size(buf))
        finally:
            lib.t1071_buffer_free(buf)

    def key_history(self, key):
        """A tracked key's beacon history (t1071_key_history, README "Key
        history") as a dict: per destination and for the aggregate, beat
        starts, the intervals the scorer uses, hourly counts, the verdict and
        its one-line readings.  Take it when the key's alert is polled: an
        expired key raises RangeError (T1071_E_RANGE), a key without beacon
        state StateError."""
        import json
        key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        lib = self._lib
        buf = N.buffer_p()
        with self._lock:
            rc = lib.t1071_key_history(self._ptr(), key, len(key), ctypes.byref(buf))
            if rc != N.OK:
                self._fail(rc)
        try:
            return json.loads(ctypes.string_at(lib.t1071_buffer_data(buf),
                                               lib.t1071_buffer_size(buf)).decode("utf-8"))
        finally:
            lib.t1071_buffer_free(buf)

    @classmethod
    def restore(cls, data, *, auto_drain=False):
        """A new Detector from snapshot() bytes (t1071_restore), with the
        snapshot's own config.  Raises SnapshotError for truncated, corrupted
        or inconsistent data and VersionError for a snapshot written by a
        newer format version than the loaded library reads."""
        data = _as_bytes(data, "snapshot")
        self = cls.__new__(cls)
        self._setup(auto_drain)
        p = N.ctx_p()
        rc = self._lib.t1071_restore(ctypes.byref(p), data, len(data))
        if rc != N.OK:
            _raise(rc, "restoring a %d-byte snapshot" % len(data))
        self._p = p
        return self

    # -- fleet prevalence (tuning.fleet_key) --

    def prevalence_export(self, since=0):
        """The prevalence entries changed after change number ``since``
        (t1071_prevalence_export) as ``(delta bytes, cursor)``: pass the
        cursor as ``since`` next time, one per receiver; 0 gives the whole
        table.  Needs tuning.fleet_key and prevalence (Unsupported
        otherwise).  README "Fleet prevalence across contexts"."""
        lib = self._lib
        buf = N.buffer_p()
        cursor = ctypes.c_uint64()
        with self._lock:
            rc = lib.t1071_prevalence_export(self._ptr(), int(since), ctypes.byref(buf),
                                             ctypes.byref(cursor))
            if rc != N.OK:
                self._fail(rc)
        try:
            return (ctypes.string_at(lib.t1071_buffer_data(buf), lib.t1071_buffer_size(buf)),
                    cursor.value)
        finally:
            lib.t1071_buffer_free(buf)

    def prevalence_merge(self, delta):
        """Merge prevalence_export() bytes of any Detector with the same
        tuning.fleet_key (t1071_prevalence_merge): commutative and idempotent,
        so deltas may come late, twice or reordered.  SnapshotError for a
        corrupted, truncated or other-fleet delta (nothing merged)."""
        data = _as_bytes(delta, "delta")
        with self._lock:
            rc = self._lib.t1071_prevalence_merge(self._ptr(), data, len(data))
            if rc != N.OK:
                self._fail(rc)

    # -- plumbing --

    def _ptr(self):
        if not self._p:
            raise StateError("detector is closed", code=N.E_STATE)
        return self._p

    def _fail(self, rc, **attrs):
        exc = error_for(rc, _strerror(rc),
                        self._lib.t1071_errmsg(self._p).decode("utf-8", "replace"))
        for k, v in attrs.items():
            setattr(exc, k, v)
        raise exc

    def _drain_locked(self):
        """Move every queued alert to self._pending; how many there were."""
        got = self._poll_locked(want_json=True)
        self._pending.extend(got)
        return len(got)

    def _poll_locked(self, want_json):
        lib = self._lib
        batch = N.batch_p()
        rc = lib.t1071_poll_alerts(self._ptr(), ctypes.byref(batch))
        if rc != N.OK:
            self._fail(rc)
        out = []
        if not batch:
            return out
        try:
            data = ctypes.c_void_p()
            size = ctypes.c_size_t()
            for i in range(lib.t1071_alert_batch_count(batch)):
                rc = lib.t1071_alert_batch_get(batch, i, ctypes.byref(data), ctypes.byref(size))
                if rc != N.OK:
                    _raise(rc)
                pb = _copy(data, size)
                js = None
                if want_json:
                    rc = lib.t1071_alert_batch_get_json(batch, i, ctypes.byref(data),
                                                        ctypes.byref(size))
                    if rc != N.OK:
                        _raise(rc)
                    js = _copy(data, size).decode("utf-8")
                out.append((pb, js))
        finally:
            lib.t1071_alert_batch_free(batch)
        return out

    def _call(self, fn, *args):
        """Call a feed/advance function under the lock, honouring auto_drain."""
        with self._lock:
            while True:
                rc = fn(self._ptr(), *args)
                if rc == N.E_QUEUE_FULL and self.auto_drain and self._drain_locked():
                    continue
                if rc != N.OK:
                    self._fail(rc)
                return

    # -- ingest --

    def feed_event(self, data):
        """Feed one protobuf-encoded t1071.ecs.v1.Event (bytes, or an Event message)."""
        if isinstance(data, ecs_pb2.Event):
            data = data.SerializeToString()
        data = _as_bytes(data)
        self._call(self._lib.t1071_feed_event, data, len(data))

    def feed_json(self, line):
        """Feed one ECS JSON event (str or UTF-8 bytes, one NDJSON line)."""
        data = line.encode("utf-8") if isinstance(line, str) else _as_bytes(line, "line")
        self._call(self._lib.t1071_feed_json, data, len(data))

    def feed_msgpack(self, data):
        """Feed one event given as a msgpack map (bytes: a Fluent Bit record's
        body, say), read exactly as feed_json() reads the same record as JSON."""
        data = _as_bytes(data, "data")
        self._call(self._lib.t1071_feed_msgpack, data, len(data))

    def feed_batch(self, data):
        """Feed a length-delimited stream of Events; returns the bytes consumed.

        Returns len(data) when everything was consumed.  A full queue raises
        QueueFull (or, with auto_drain, is drained and feeding goes on); a cut
        last record raises Truncated.  Both exceptions carry ``consumed``:
        the records before it were fed, feed data[consumed:] again.
        Records whose bytes are bad are skipped and counted, not raised.
        """
        data = _as_bytes(data)
        view = memoryview(data)
        done = 0
        consumed = ctypes.c_size_t()
        with self._lock:
            while True:
                chunk = data if done == 0 else bytes(view[done:])
                rc = self._lib.t1071_feed_batch(self._ptr(), chunk, len(chunk),
                                                ctypes.byref(consumed))
                done += consumed.value
                if rc == N.E_QUEUE_FULL and self.auto_drain and self._drain_locked():
                    continue
                if rc != N.OK:
                    self._fail(rc, consumed=done)
                return done

    def advance(self, event_time_ms):
        """Declare that no event at or before event_time_ms (ms since the epoch)
        will come: buffered events up to it run.  advance(None) or
        flush() flushes everything (end of input)."""
        t = N.INT64_MAX if event_time_ms is None else int(event_time_ms)
        self._call(self._lib.t1071_advance, t)

    def flush(self):
        """End of input: advance(INT64_MAX)."""
        self.advance(None)

    # -- output --

    def alerts(self):
        """Take every alert waiting: an iterator of ecs_pb2.Alert messages.

        The alerts are taken when alerts() is called, not lazily.
        """
        return iter([ecs_pb2.Alert.FromString(pb) for pb, _ in self._take(False)])

    def alerts_json(self):
        """Take every alert waiting: an iterator of ECS JSON str (one line each)."""
        return iter([js for _, js in self._take(True)])

    def alerts_raw(self):
        """Take every alert waiting: an iterator of protobuf Alert bytes."""
        return iter([pb for pb, _ in self._take(False)])

    def _take(self, want_json):
        with self._lock:
            out = self._pending
            self._pending = []
            out.extend(self._poll_locked(want_json))
        return out

    def __iter__(self):
        """``for alert in detector`` is ``for alert in detector.alerts()``."""
        return self.alerts()

    # -- stats --

    def stat(self, name):
        """One counter or gauge by name (or id)."""
        ident = name if isinstance(name, int) else stat_names().index(name)
        v = ctypes.c_uint64()
        with self._lock:
            rc = self._lib.t1071_stats_get(self._ptr(), ident, ctypes.byref(v))
        if rc != N.OK:
            _raise(rc)
        return v.value

    def stats(self):
        """Every counter and gauge: {name: value}, in id order."""
        v = ctypes.c_uint64()
        out = {}
        with self._lock:
            p = self._ptr()
            for i, name in enumerate(stat_names()):
                rc = self._lib.t1071_stats_get(p, i, ctypes.byref(v))
                if rc != N.OK:
                    _raise(rc)
                out[name] = v.value
        return out

    @property
    def errmsg(self):
        """t1071_errmsg(): what the last failed call was about."""
        return self._lib.t1071_errmsg(self._ptr()).decode("utf-8", "replace")

    # -- lifecycle --

    def close(self):
        """Free the context (alerts still queued in the library are lost)."""
        p = getattr(self, "_p", None)
        if p:
            self._p = None
            self._lib.t1071_free(p)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def event_shard(data, nshards):
    """The shard in [0, nshards) of an encoded event, by host."""
    data = _as_bytes(data)
    out = ctypes.c_uint32()
    rc = N.lib().t1071_event_shard(data, len(data), nshards, ctypes.byref(out))
    if rc != N.OK:
        _raise(rc)
    return out.value


def event_from_json(line, record_number=0, source=None):
    """The library's own JSON -> protobuf Event encoding (bytes).

    source: None or "auto" recognises each record's shape (ECS, Suricata
    EVE, raw Sysmon, Zeek conn JSON); "ecs", "sysmon", "zeek" or "suricata"
    reads it as that shape (the input.source config key's values)."""
    data = line.encode("utf-8") if isinstance(line, str) else _as_bytes(line, "line")
    lib = N.lib()
    buf = N.buffer_p()
    if source is None:
        rc = lib.t1071_event_from_json(data, len(data), int(record_number), ctypes.byref(buf))
    else:
        rc = lib.t1071_event_from_json_as(data, len(data), int(record_number),
                                          str(source).encode("utf-8"), ctypes.byref(buf))
    if rc != N.OK:
        _raise(rc)
    try:
        return ctypes.string_at(lib.t1071_buffer_data(buf), lib.t1071_buffer_size(buf))
    finally:
        lib.t1071_buffer_free(buf)


def event_from_msgpack(data, record_number=0, source=None):
    """The library's msgpack map -> protobuf Event encoding (bytes), exactly
    as Detector.feed_msgpack() reads it; source as for event_from_json()."""
    data = _as_bytes(data, "data")
    lib = N.lib()
    buf = N.buffer_p()
    rc = lib.t1071_event_from_msgpack(data, len(data), int(record_number),
                                      None if source is None else str(source).encode("utf-8"),
                                      ctypes.byref(buf))
    if rc != N.OK:
        _raise(rc)
    try:
        return ctypes.string_at(lib.t1071_buffer_data(buf), lib.t1071_buffer_size(buf))
    finally:
        lib.t1071_buffer_free(buf)
