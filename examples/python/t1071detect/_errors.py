# SPDX-License-Identifier: Apache-2.0
"""Exceptions: one class per T1071_E_* status code."""


class T1071Error(Exception):
    """A libt1071detect call failed.

    ``code`` is the T1071_E_* status (negative int), ``reason`` the library's
    t1071_strerror() text and ``detail`` the context's or config's last error
    message (t1071_errmsg / t1071_config_errmsg, may be empty).
    """

    code = None

    def __init__(self, reason, detail="", code=None):
        if code is not None:
            self.code = code
        self.reason = reason
        self.detail = detail or ""
        super().__init__("%s: %s" % (reason, detail) if detail else reason)


class LibraryNotFound(T1071Error, ImportError):
    """libt1071detect.so could not be loaded."""

    def __init__(self, message):
        super().__init__(message)


class InvalidArgument(T1071Error, ValueError):
    code = -1


class NoMemory(T1071Error, MemoryError):
    code = -2


class DecodeError(T1071Error, ValueError):
    """A malformed protobuf event (consumed, counted and dropped)."""
    code = -3


class TooLarge(T1071Error, ValueError):
    """An event over engine.max_event_bytes (consumed, counted and dropped)."""
    code = -4


class Truncated(T1071Error, ValueError):
    """feed_batch(): the last record is cut.  ``consumed`` says where it starts."""
    code = -5
    consumed = 0


class QueueFull(T1071Error):
    """The alert queue is at its high-water mark: the input was NOT consumed.

    Take the alerts (Detector.alerts()) and feed the same input again; for
    feed_batch() resume at ``consumed``.
    """
    code = -6
    consumed = 0


class StateError(T1071Error):
    """Call not valid in this state (e.g. a closed Detector)."""
    code = -7


class UnknownKey(T1071Error, LookupError):
    """Unknown configuration key."""
    code = -8


class TimestampError(T1071Error, ValueError):
    """Event without @timestamp or with an absurd one (consumed, counted, dropped)."""
    code = -9


class FileError(T1071Error, OSError):
    """A file could not be read (Config.load_file)."""
    code = -10


class JSONError(T1071Error, ValueError):
    """Malformed or hostile JSON (consumed, counted and dropped)."""
    code = -11


class RangeError(T1071Error, IndexError):
    """Index out of range."""
    code = -12


class SnapshotError(T1071Error, ValueError):
    """Detector.restore(): the snapshot is truncated, corrupted (checksum) or
    inconsistent."""
    code = -13


class VersionError(T1071Error, ValueError):
    """Detector.restore(): the snapshot was written by a newer snapshot format
    version than this library reads (upgrade the library)."""
    code = -14


class RuleError(T1071Error, ValueError):
    """Config.set_rule() / add_rule(): the rule text does not parse or uses
    syntax the library does not run; ``detail`` says what and where
    ("rule.query: line L, column C: ...")."""
    code = -15


class Unsupported(T1071Error):
    """Not supported in this configuration: Detector.prevalence_export() /
    prevalence_merge() without tuning.fleet_key and prevalence, or with
    several rules."""
    code = -16


BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, NoMemory, DecodeError, TooLarge, Truncated, QueueFull, StateError,
    UnknownKey, TimestampError, FileError, JSONError, RangeError, SnapshotError,
    VersionError, RuleError, Unsupported)}


def error_for(code, reason, detail=""):
    """The exception instance for status ``code``."""
    cls = BY_CODE.get(code, T1071Error)
    return cls(reason, detail, code=code)
