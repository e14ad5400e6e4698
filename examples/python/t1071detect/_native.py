# SPDX-License-Identifier: Apache-2.0
"""ctypes declarations of the libt1071detect C ABI (include/t1071/t1071detect.h).

The library is found, in order, at $T1071_LIBRARY (a path), by
ctypes.util.find_library("t1071detect"), and as "libt1071detect.so.0" through
the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache).
"""
import ctypes
import ctypes.util
import os

from ._errors import LibraryNotFound

SONAME = "libt1071detect.so.0"

# Status codes (pinned in the header).
OK = 0
E_INVALID_ARG = -1
E_NOMEM = -2
E_DECODE = -3
E_TOO_LARGE = -4
E_TRUNCATED = -5
E_QUEUE_FULL = -6
E_STATE = -7
E_UNKNOWN_KEY = -8
E_TIMESTAMP = -9
E_IO = -10
E_JSON = -11
E_RANGE = -12
E_SNAPSHOT = -13
E_VERSION = -14
E_RULE = -15
E_UNSUPPORTED = -16

#: Snapshot format version this binding was written against (T1071_SNAPSHOT_VERSION).
SNAPSHOT_VERSION = 1

INT64_MAX = (1 << 63) - 1
MAX_EVENT_BYTES = 1 << 20


class _Config(ctypes.Structure):
    pass


class _Ctx(ctypes.Structure):
    pass


class _Batch(ctypes.Structure):
    pass


class _Buffer(ctypes.Structure):
    pass


config_p = ctypes.POINTER(_Config)
ctx_p = ctypes.POINTER(_Ctx)
batch_p = ctypes.POINTER(_Batch)
buffer_p = ctypes.POINTER(_Buffer)

c_int = ctypes.c_int
c_size = ctypes.c_size_t
c_str = ctypes.c_char_p
c_void = ctypes.c_void_p

# (name, restype, argtypes).  Byte buffers are declared c_char_p: ctypes then
# passes a bytes object's own storage, without a copy, for the call only
# (the library never keeps a pointer into it).
_PROTOTYPES = [
    ("t1071_version_number", ctypes.c_uint, []),
    ("t1071_version_string", c_str, []),
    ("t1071_strerror", c_str, [c_int]),
    ("t1071_config_new", c_int, [ctypes.POINTER(config_p)]),
    ("t1071_config_free", None, [config_p]),
    ("t1071_config_set", c_int, [config_p, c_str, c_str]),
    ("t1071_config_get", c_int, [config_p, c_str, c_void, c_size, ctypes.POINTER(c_size)]),
    ("t1071_config_load_file", c_int, [config_p, c_str]),
    ("t1071_config_load_data", c_int, [config_p, c_str, c_size]),
    ("t1071_config_errmsg", c_str, [config_p]),
    ("t1071_config_set_rule", c_int, [config_p, c_str]),
    ("t1071_config_add_rule", c_int, [config_p, c_str, c_str]),
    ("t1071_config_rule_count", c_size, [config_p]),
    ("t1071_init", c_int, [ctypes.POINTER(ctx_p), config_p]),
    ("t1071_free", None, [ctx_p]),
    ("t1071_errmsg", c_str, [ctx_p]),
    ("t1071_feed_event", c_int, [ctx_p, c_str, c_size]),
    ("t1071_feed_batch", c_int, [ctx_p, c_str, c_size, ctypes.POINTER(c_size)]),
    ("t1071_feed_json", c_int, [ctx_p, c_str, c_size]),
    ("t1071_advance", c_int, [ctx_p, ctypes.c_int64]),
    ("t1071_event_shard", c_int, [c_str, c_size, ctypes.c_uint32,
                                  ctypes.POINTER(ctypes.c_uint32)]),
    ("t1071_poll_alerts", c_int, [ctx_p, ctypes.POINTER(batch_p)]),
    ("t1071_alert_batch_count", c_size, [batch_p]),
    ("t1071_alert_batch_get", c_int, [batch_p, c_size, ctypes.POINTER(c_void),
                                      ctypes.POINTER(c_size)]),
    ("t1071_alert_batch_get_json", c_int, [batch_p, c_size, ctypes.POINTER(c_void),
                                           ctypes.POINTER(c_size)]),
    ("t1071_alert_batch_free", None, [batch_p]),
    ("t1071_event_from_json", c_int, [c_str, c_size, ctypes.c_uint64,
                                      ctypes.POINTER(buffer_p)]),
    ("t1071_event_from_json_as", c_int, [c_str, c_size, ctypes.c_uint64, c_str,
                                         ctypes.POINTER(buffer_p)]),
    ("t1071_buffer_data", c_void, [buffer_p]),
    ("t1071_buffer_size", c_size, [buffer_p]),
    ("t1071_buffer_free", None, [buffer_p]),
    ("t1071_snapshot", c_int, [ctx_p, ctypes.POINTER(buffer_p)]),
    ("t1071_restore", c_int, [ctypes.POINTER(ctx_p), c_str, c_size]),
    ("t1071_prevalence_export", c_int, [ctx_p, ctypes.c_uint64, ctypes.POINTER(buffer_p),
                                        ctypes.POINTER(ctypes.c_uint64)]),
    ("t1071_prevalence_merge", c_int, [ctx_p, c_str, c_size]),
    ("t1071_stat_name", c_str, [c_int]),
    ("t1071_stats_get", c_int, [ctx_p, c_int, ctypes.POINTER(ctypes.c_uint64)]),
    ("t1071_key_history", c_int, [ctx_p, c_str, c_size, ctypes.POINTER(buffer_p)]),
    ("t1071_feed_msgpack", c_int, [ctx_p, c_str, c_size]),
    ("t1071_event_from_msgpack", c_int, [c_str, c_size, ctypes.c_uint64, c_str,
                                         ctypes.POINTER(buffer_p)]),
]


def _candidates():
    path = os.environ.get("T1071_LIBRARY")
    if path:
        # An explicit path is the only candidate: a wrong one must fail loudly,
        # not fall back to some other copy of the library.
        return [path], "T1071_LIBRARY=%s" % path
    found = ctypes.util.find_library("t1071detect")
    names = [found] if found else []
    names.append(SONAME)
    return names, "ctypes.util.find_library('t1071detect') and %s" % SONAME


def load():
    names, how = _candidates()
    errors = []
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
            continue
        for fname, restype, argtypes in _PROTOTYPES:
            try:
                fn = getattr(lib, fname)
            except AttributeError:
                raise LibraryNotFound(
                    "%s lacks %s: libt1071detect too old for these bindings" % (name, fname))
            fn.restype = restype
            fn.argtypes = argtypes
        return lib
    raise LibraryNotFound(
        "libt1071detect not found (tried %s): %s.  Set T1071_LIBRARY to the path of "
        "libt1071detect.so, e.g. BUILD/lib/libt1071detect.so, or install the library."
        % (how, "; ".join(errors) or "nothing found"))


_lib = None


def lib():
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = load()
    return _lib
