# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures.  Environment:

T1071_LIBRARY    path of libt1071detect.so (else the loader's search)
T1071_SOURCE     repository root (else found from this file's location)
T1071_NO_SKIP=1  turn skips into failures (CI: nothing may be skipped)
"""
import json
import os
import pathlib

import pytest

import t1071detect

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(os.environ.get("T1071_SOURCE") or HERE.parents[2])
VECTORS = SOURCE / "tests" / "integration" / "fixtures" / "eql-vectors"
PROTO = SOURCE / "proto"
VECTOR_NAMES = sorted(p.stem for p in VECTORS.glob("*.ndjson"))


def pytest_configure(config):
    if not VECTOR_NAMES:
        raise pytest.UsageError("no EQL vectors under %s: set T1071_SOURCE" % VECTORS)
    # Fail early and clearly when the native library cannot be loaded.
    t1071detect.version()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if os.environ.get("T1071_NO_SKIP") == "1" and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = "skipped, and T1071_NO_SKIP=1: %s" % (rep.longrepr,)


def vector_lines(name):
    with open(VECTORS / (name + ".ndjson"), encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def vector_expected(name):
    return (VECTORS / (name + ".expected")).read_bytes()


def sequences(alerts):
    """Alerts in the .expected format: one compact JSON array of member ids per line."""
    return b"".join(
        json.dumps([m.event_id for m in a.members], separators=(",", ":")).encode("ascii") + b"\n"
        for a in alerts)


@pytest.fixture(params=VECTOR_NAMES)
def vector(request):
    return request.param
