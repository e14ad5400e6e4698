#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Lua filter and the native plugin inside a real Fluent Bit (issue 16).

Every case runs the real fluent-bit binary: tail (JSON lines) -> filter ->
file outputs, and checks that the alert records equal t1071-replay's on the
same input and settings (group ids and member ids) and that every input
record is accounted for at the output.

    test-fluentbit.py [CASE...]      # default: every case

Without any Fluent Bit source (T1071_FLUENT_BIT_SOURCE, or
../shared/vendor/fluent-bit beside the clone) it prints one
"skipped: no Fluent Bit source" line and passes, even under T1071_NO_SKIP:
the source is an optional input, not a missing tool.
"""
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flbhost as H  # noqa: E402

STREAM_EVENTS = int(os.environ.get("T1071_FLB_STREAM_EVENTS", "200000"))


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def sample_path():
    return os.path.join(H.repo_root(), "examples", "sample", "sample.ndjson")


def count_lines(path):
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def event_ids(path):
    ids = []
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("event"), dict) and "id" in rec["event"]:
                ids.append(rec["event"]["id"])
    return ids


def compare_alerts(got, want, label):
    g = collections.Counter(H.alert_key(a) for a in got)
    w = collections.Counter(H.alert_key(a) for a in want)
    check(len(want) > 0, f"{label}: t1071-replay gives no alert: the case proves nothing")
    if g != w:
        missing = w - g
        extra = g - w
        raise Fail(f"{label}: {sum(g.values())} alerts, t1071-replay {sum(w.values())}; "
                   f"{sum(missing.values())} missing (e.g. {list(missing)[:1]}), "
                   f"{sum(extra.values())} unexpected (e.g. {list(extra)[:1]})")


def check_records(records, input_path, label, expect=None):
    """Every input record reached the output, each exactly once."""
    n_in = count_lines(input_path)
    n_expect = n_in if expect is None else expect
    check(len(records) == n_expect,
          f"{label}: {len(records)} records at the output, {n_expect} expected ({n_in} input lines)")
    if expect is None:
        want = collections.Counter(event_ids(input_path))
        got = collections.Counter(r["event"]["id"] for r in records
                                  if isinstance(r.get("event"), dict) and "id" in r["event"])
        check(got == want, f"{label}: the records' event ids differ from the input's "
                           f"({sum((want - got).values())} missing, {sum((got - want).values())} extra)")


def check_host(run, label):
    check(run.rc == 0, f"{label}: fluent-bit exited with {run.rc}; log tail:\n" +
          "\n".join(run.stderr.splitlines()[-25:]))
    for bad in ("SIGSEGV", "SIGABRT", "AddressSanitizer", "stack trace"):
        check(bad not in run.stderr, f"{label}: '{bad}' in the log")


def split_lua_output(work):
    """The Lua filter appends alerts to the stream (mark t1071_alert)."""
    recs, alerts = [], []
    for r in H.read_ndjson(os.path.join(work, "records.ndjson")):
        (alerts if r.get("t1071_alert") is True else recs).append(r)
    return recs, alerts


# ===== Cases =====

def case_lua(binary, plugin, input_path, label, timeout=900):
    with H.Workdir(label) as work:
        flt, env = H.lua_filter("0s")
        conf = H.classic_config(work, input_path, [flt], alerts_file=False)
        run = H.run(binary, conf, env=env, timeout=timeout)
        check_host(run, label)
        recs, alerts = split_lua_output(work)
        check_records(recs, input_path, label)
        compare_alerts(alerts, H.replay_alerts(input_path, ["engine.lateness=0s"]), label)
        return f"{len(recs)} records, {len(alerts)} alerts in {run.seconds:.1f} s ({run.cpu:.1f} CPU s)"


def case_native(binary, plugin, input_path, label, yaml=False, timeout=900, input_extra=(),
                lateness="5s", **extra):
    with H.Workdir(label) as work:
        flt = H.native_filter(lateness, **extra)
        conf = (H.yaml_config(work, input_path, [flt]) if yaml
                else H.classic_config(work, input_path, [flt], input_extra=input_extra))
        run = H.run(binary, conf, plugin=plugin, timeout=timeout)
        check_host(run, label)
        c = run.counters()
        check(c is not None, f"{label}: no 'counters:' line in the log")
        recs = H.read_ndjson(os.path.join(work, "records.ndjson"))
        alerts = H.read_ndjson(os.path.join(work, "alerts.ndjson"))
        keep = extra.get("keep_records", "true") == "true"
        check_records(recs, input_path, label, expect=None if keep else 0)
        check(c["records"] == count_lines(input_path),
              f"{label}: the filter saw {c['records']} records, not {count_lines(input_path)}")
        check(all(a.get("t1071_alert") is True for a in alerts), f"{label}: an alert lacks its mark")
        want = H.replay_alerts(input_path, [f"engine.lateness={lateness}"])
        compare_alerts(alerts, want, label)
        check(c["alerts_emitted"] == len(want) and c["alerts_lost"] == 0,
              f"{label}: counters say {c['alerts_emitted']} emitted, {c['alerts_lost']} lost")
        return (f"{len(recs)} records, {len(alerts)} alerts in {run.seconds:.1f} s "
                f"({run.cpu:.1f} CPU s)")


def case_settings(binary, plugin, label, props, replay_args):
    """Profiles, INI files and rule files as properties: the alerts of
    t1071-replay given the same as --profile, --config, --rule."""
    with H.Workdir(label) as work:
        flt = H.native_filter("5s", **props)
        conf = H.classic_config(work, sample_path(), [flt])
        run = H.run(binary, conf, plugin=plugin, timeout=300)
        check_host(run, label)
        alerts = H.read_ndjson(os.path.join(work, "alerts.ndjson"))
        want = H.replay_alerts(sample_path(), ["engine.lateness=5s"], replay_args)
        compare_alerts(alerts, want, label)
        return f"{len(alerts)} alerts, as t1071-replay {' '.join(replay_args)}"


def case_fill_timestamp(binary, plugin):
    """fill_timestamp: the parser moves @timestamp into Fluent Bit's record
    time and drops it from the record; the filter feeds that time as
    @timestamp and the alerts are the sample's."""
    label = "native-fill-timestamp"
    with H.Workdir(label) as work:
        flt = H.native_filter("5s", fill_timestamp="true")
        conf = H.classic_config(work, sample_path(), [flt], parser="json_time")
        run = H.run(binary, conf, plugin=plugin, timeout=300)
        check_host(run, label)
        recs = H.read_ndjson(os.path.join(work, "records.ndjson"))
        check(recs and all("@timestamp" not in r for r in recs),
              f"{label}: the parser did not take @timestamp out of the records")
        c = run.counters()
        check(c and c["fed"] == len(recs) and c["bad"] == 0, f"{label}: counters {c}")
        alerts = H.read_ndjson(os.path.join(work, "alerts.ndjson"))
        compare_alerts(alerts, H.replay_alerts(sample_path(), ["engine.lateness=5s"]), label)
        return f"{len(recs)} records without @timestamp fed with their record time, {len(alerts)} alerts"


class Skip(Exception):
    pass


def case_memcheck(binary, plugin):
    """The whole host under valgrind memcheck with the native filter (state
    file, idle flush, exit flush): no error, nothing definitely or
    indirectly lost, the sample's alerts.  (A plain plugin in a plain
    fluent-bit: no sanitizer runtime involved.)"""
    label = "native-memcheck"
    vg = shutil.which("valgrind")
    if not vg:
        raise Skip("valgrind not installed (.ci/test-sanitizers installs it)")
    with H.Workdir(label) as work:
        flt = H.native_filter("5s", idle_flush="1", state_file=os.path.join(work, "state"))
        conf = H.classic_config(work, sample_path(), [flt])
        log_path = os.path.join(work, "valgrind.txt")
        r = subprocess.run([vg, "--leak-check=full", "--show-leak-kinds=definite,indirect",
                            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                            f"--log-file={log_path}", binary, "-e", plugin, "-c", conf],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        with open(log_path, errors="replace") as fh:
            text = fh.read()
        check(r.returncode == 0, f"{label}: exit {r.returncode}; valgrind:\n" + text[-3000:])
        check("ERROR SUMMARY: 0 errors" in text, f"{label}: valgrind errors:\n" + text[-3000:])
        alerts = H.read_ndjson(os.path.join(work, "alerts.ndjson"))
        compare_alerts(alerts, H.replay_alerts(sample_path(), ["engine.lateness=5s"]), label)
        return f"0 errors, nothing lost, {len(alerts)} alerts"


def gen_stream(work, n):
    path = os.path.join(work, "stream.ndjson")
    with open(path, "wb") as fh:
        r = subprocess.run([H.env_path("T1071_GEN_STREAM"), "--ndjson", "--events",
                                          str(n)], stdout=fh)
    check(r.returncode == 0, "gen-stream failed")
    return path


def malformed_input(work):
    """The sample with bad lines between its events: JSON that is not an
    object, text that is not JSON, events without a time or with a bad one,
    a 2 MiB string, deep nesting and bytes that are not UTF-8."""
    with open(sample_path(), "rb") as fh:
        good = [l.rstrip(b"\n") for l in fh if l.strip()]
    bad = [
        b'[1,2,3]',
        b'"just a string"',
        b'42',
        b'not json at all {',
        b'{"event":{"id":"nt1","category":["network"]},"host":{"name":"x"}}',
        b'{"@timestamp":"yesterday","event":{"id":"nt2"}}',
        b'{"@timestamp":"2024-11-28T08:05:00.000Z","event":{"id":"big1"},"message":"' +
        b"A" * (2 << 20) + b'"}',
        b'{"@timestamp":"2024-11-28T08:06:00.000Z","event":{"id":"deep1"},"x":' +
        b'{"a":' * 150 + b'1' + b'}' * 150 + b'}',
        b'{"@timestamp":"2024-11-28T08:07:00.000Z","event":{"id":"bytes1"},"message":"\xff\xfe\x80"}',
    ]
    lines = []
    for i, g in enumerate(good):
        lines.append(g)
        if i % 8 == 3 and bad:
            lines.append(bad.pop(0))
    lines += bad
    path = os.path.join(work, "malformed.ndjson")
    with open(path, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    return path, len(good)


def case_malformed(binary, plugin, mode):
    label = f"native-malformed-{mode}"
    with H.Workdir(label) as work:
        input_path, n_good = malformed_input(work)
        n_in = count_lines(input_path)
        flt = H.native_filter("5s", bad_records=mode)
        conf = H.classic_config(work, input_path, [flt])
        run = H.run(binary, conf, plugin=plugin, timeout=300)
        check_host(run, label)
        c = run.counters()
        check(c is not None, f"{label}: no 'counters:' line in the log")
        recs = H.read_ndjson(os.path.join(work, "records.ndjson"))
        alerts = H.read_ndjson(os.path.join(work, "alerts.ndjson"))
        check(c["records"] == n_in, f"{label}: the filter saw {c['records']} of {n_in} records")
        check(c["bad"] >= 6, f"{label}: only {c['bad']} bad records counted: {c}")
        check(c["fed"] + c["bad"] == c["records"], f"{label}: fed + bad != records: {c}")
        check(c["bad_too_large"] >= 1 and c["bad_no_time"] >= 2,
              f"{label}: the huge string or the missing times were not counted: {c}")
        if mode == "pass":
            check(len(recs) == n_in and c["passed"] == n_in and c["dropped"] == 0,
                  f"{label}: {len(recs)} records out of {n_in}, counters {c}")
        else:
            check(len(recs) == n_in - c["bad"] and c["dropped"] == c["bad"],
                  f"{label}: {len(recs)} records out, {n_in} in, {c['bad']} bad, counters {c}")
        compare_alerts(alerts, H.replay_alerts(input_path, ["engine.lateness=5s"]), label)
        return f"{n_in} records, {c['bad']} bad ({mode}), {len(recs)} out, {len(alerts)} alerts"


def case_lua_malformed(binary, plugin):
    label = "lua-malformed"
    with H.Workdir(label) as work:
        input_path, n_good = malformed_input(work)
        flt, env = H.lua_filter("0s")
        conf = H.classic_config(work, input_path, [flt], alerts_file=False)
        run = H.run(binary, conf, env=env, timeout=300)
        check_host(run, label)
        recs, alerts = split_lua_output(work)
        n_in = count_lines(input_path)
        check(len(recs) == n_in, f"{label}: {len(recs)} records out of {n_in}")
        check("[t1071] record" in run.stderr and "skipped" in run.stderr,
              f"{label}: the Lua filter did not report the bad records")
        compare_alerts(alerts, H.replay_alerts(input_path, ["engine.lateness=0s"]), label)
        return f"{n_in} records (all passed), {len(alerts)} alerts"


def case_state(binary, plugin):
    """state_file: the sample cut in two runs equals one replay."""
    label = "native-state"
    with H.Workdir(label) as work:
        with open(sample_path(), "rb") as fh:
            lines = [l for l in fh if l.strip()]
        cut = len(lines) // 2
        state = os.path.join(work, "t1071.state")
        alerts = []
        for part, chunk in (("a", lines[:cut]), ("b", lines[cut:])):
            sub = os.path.join(work, part)
            os.mkdir(sub)
            inp = os.path.join(sub, "in.ndjson")
            with open(inp, "wb") as fh:
                fh.writelines(chunk)
            conf = H.classic_config(sub, inp, [H.native_filter("5s", state_file=state)])
            run = H.run(binary, conf, plugin=plugin, timeout=300)
            check_host(run, f"{label} run {part}")
            check(os.path.exists(state), f"{label}: no state file after run {part}")
            check(("state restored" in run.stderr) == (part == "b"),
                  f"{label}: run {part} restored state: {'state restored' in run.stderr}")
            alerts += H.read_ndjson(os.path.join(sub, "alerts.ndjson"))
        # The second run saved without flushing (flush_on_exit auto): what
        # is still buffered goes out when the input really ends.
        want = H.replay_alerts(sample_path(), ["engine.lateness=5s"])
        got_keys = collections.Counter(H.alert_key(a) for a in alerts)
        want_keys = collections.Counter(H.alert_key(a) for a in want)
        check(got_keys <= want_keys, f"{label}: alerts t1071-replay does not raise")
        # A third run with flush_on_exit true and no input ends the stream.
        sub = os.path.join(work, "c")
        os.mkdir(sub)
        inp = os.path.join(sub, "in.ndjson")
        with open(inp, "wb") as fh:
            fh.write(b'{"log":"end"}\n')
        conf = H.classic_config(sub, inp, [H.native_filter("5s", state_file=state,
                                                           flush_on_exit="true")])
        run = H.run(binary, conf, plugin=plugin, timeout=300)
        check_host(run, f"{label} run c")
        alerts += H.read_ndjson(os.path.join(sub, "alerts.ndjson"))
        compare_alerts(alerts, want, label)
        return f"{len(alerts)} alerts over three runs sharing {os.path.basename(state)}"


def case_idle(binary, plugin):
    """idle_flush: with a lateness of an hour nothing is released by the
    stream itself; after 2 idle seconds the filter advances to the newest
    event time and every alert comes out while Fluent Bit keeps running."""
    label = "native-idle"
    with H.Workdir(label) as work:
        inp = os.path.join(work, "in.ndjson")
        with open(sample_path(), "rb") as src, open(inp, "wb") as dst:
            dst.write(src.read())
        flt = H.native_filter("1h", idle_flush="2")
        conf = H.classic_config(work, inp, [flt], exit_on_eof=False)
        want = H.replay_alerts(inp, ["engine.lateness=1h"])
        p = H.start(binary, conf, plugin, None, os.path.join(work, "fluent-bit.log"))
        try:
            deadline = time.monotonic() + 60
            alerts = []
            while time.monotonic() < deadline:
                alerts = H.read_ndjson(os.path.join(work, "alerts.ndjson"))
                if len(alerts) >= len(want):
                    break
                check(p.poll() is None, f"{label}: fluent-bit stopped by itself ({p.returncode})")
                time.sleep(0.5)
            check(p.poll() is None, f"{label}: fluent-bit is not running any more")
            compare_alerts(alerts, want, label + " (before shutdown)")
        finally:
            H.stop(p, signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except Exception:
                H.stop(p, signal.SIGKILL)
                p.wait()
        with open(os.path.join(work, "fluent-bit.log"), errors="replace") as fh:
            text = fh.read()
        run = H.Run(p.returncode, text, 0, 0)
        check_host(run, label)
        c = run.counters()
        check(c and c["idle_flushes"] >= 1, f"{label}: no idle flush counted: {c}")
        return f"{len(alerts)} alerts released by idle_flush before shutdown"


def case_config(binary, plugin):
    """The example configurations pass Fluent Bit's --dry-run with the
    plugin loaded; a bad library key or value, or a bad property, stops
    fluent-bit at start-up with a message naming it."""
    label = "native-config"
    ex = os.path.join(H.repo_root(), "examples", "fluent-bit")
    with H.Workdir(label) as work:
        with open(os.path.join(work, "parsers.conf"), "w") as fh:
            fh.write(H.PARSERS)
        for name in ("fluent-bit-native.conf", "fluent-bit-native.yaml"):
            with open(os.path.join(ex, name)) as src, open(os.path.join(work, name), "w") as dst:
                dst.write(src.read())
            r = subprocess.run(
                [binary, "--dry-run", "-e", plugin, "-c", os.path.join(work, name)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, timeout=60)
            check(r.returncode == 0 and "configuration test is successful" in r.stdout,
                  f"{label}: {name} fails --dry-run:\n{r.stdout[-1500:]}")
        bad = [
            ({"engine.latenes": "5s"}, "engine.latenes"),
            ({"rule.runs": "0"}, "rule.runs"),
            ({"bad_records": "maybe"}, "bad_records"),
            ({"config": os.path.join(work, "missing.ini")}, "missing.ini"),
        ]
        inp = os.path.join(work, "in.ndjson")
        with open(sample_path(), "rb") as src, open(inp, "wb") as dst:
            dst.write(src.read())
        for i, (props, word) in enumerate(bad):
            sub = os.path.join(work, f"bad{i}")
            os.mkdir(sub)
            flt = H.native_filter("5s", **props)
            conf = H.classic_config(sub, inp, [flt])
            run = H.run(binary, conf, plugin=plugin, timeout=60)
            check(run.rc not in (0, "timeout"), f"{label}: {props} did not stop fluent-bit ({run.rc})")
            msg = [l for l in run.stderr.splitlines() if "[filter:t1071" in l and "error" in l]
            check(any(word in l for l in msg), f"{label}: no error naming '{word}': {msg[:3]}")
        return "example configs pass --dry-run; 4 bad settings stop the host, each named"


def main(argv):
    try:
        binary, plugin = H.fluent_bit()
    except H.NoSource:
        print(H.SKIP_LINE)
        return 0
    H.log(f"fluent-bit: {binary}")
    H.log(f"plugin:     {plugin}")
    sample = sample_path()
    streams = {}

    def stream():
        if "path" not in streams:
            streams["dir"] = H.Workdir("stream")
            streams["path"] = gen_stream(streams["dir"].__enter__(), STREAM_EVENTS)
        return streams["path"]

    cases = collections.OrderedDict([
        ("lua-sample", lambda: case_lua(binary, plugin, sample, "lua-sample")),
        ("native-sample", lambda: case_native(binary, plugin, sample, "native-sample")),
        ("native-sample-yaml-alerts-only", lambda: case_native(
            binary, plugin, sample, "native-sample-yaml-alerts-only", yaml=True,
            keep_records="false")),
        # A threaded tail: its records reach the filter from a ring buffer,
        # after the stop has begun.  A lateness of an hour keeps every
        # event buffered: every alert comes from the shutdown flush.
        ("native-sample-threaded-input", lambda: case_native(
            binary, plugin, sample, "native-sample-threaded-input",
            input_extra=[("Threaded", "true")], lateness="1h")),
        ("native-config", lambda: case_config(binary, plugin)),
        ("native-profile", lambda: case_settings(
            binary, plugin, "native-profile", {"profile": "tuned"}, ["--profile", "tuned"])),
        ("native-config-file-and-rule", lambda: case_settings(
            binary, plugin, "native-config-file-and-rule",
            # Two rules side by side: every sequence alerts once per rule,
            # each alert naming its rule.
            {"config": os.path.join(H.repo_root(), "examples", "profiles", "faithful.ini"),
             "_pairs": [("rule", os.path.join(H.repo_root(), "examples", "rules", r))
                        for r in ("t1071-beaconing.eql", "t1071-beaconing.yml")]},
            ["--config", os.path.join(H.repo_root(), "examples", "profiles", "faithful.ini"),
             "--rule", os.path.join(H.repo_root(), "examples", "rules", "t1071-beaconing.eql"),
             "--rule", os.path.join(H.repo_root(), "examples", "rules", "t1071-beaconing.yml")])),
        ("native-fill-timestamp", lambda: case_fill_timestamp(binary, plugin)),
        ("native-malformed-pass", lambda: case_malformed(binary, plugin, "pass")),
        ("native-malformed-drop", lambda: case_malformed(binary, plugin, "drop")),
        ("lua-malformed", lambda: case_lua_malformed(binary, plugin)),
        ("native-state", lambda: case_state(binary, plugin)),
        ("native-idle", lambda: case_idle(binary, plugin)),
        ("native-memcheck", lambda: case_memcheck(binary, plugin)),
        ("lua-stream", lambda: case_lua(binary, plugin, stream(), "lua-stream")),
        ("native-stream", lambda: case_native(binary, plugin, stream(), "native-stream")),
    ])
    wanted = argv or list(cases)
    unknown = [c for c in wanted if c not in cases]
    if unknown:
        print(f"unknown case(s): {' '.join(unknown)}; cases: {' '.join(cases)}", file=sys.stderr)
        return 2
    failed = 0
    print(f"1..{len(wanted)}")
    try:
        for i, name in enumerate(wanted, 1):
            t0 = time.monotonic()
            try:
                detail = cases[name]()
                print(f"ok {i} - {name}: {detail} [{time.monotonic() - t0:.1f} s]", flush=True)
            except Skip as e:
                print(f"ok {i} - {name} # SKIP {e}", flush=True)
            except Fail as e:
                failed += 1
                print(f"not ok {i} - {name}: {e} [{time.monotonic() - t0:.1f} s]", flush=True)
    finally:
        if "dir" in streams:
            streams["dir"].__exit__(None, None, None)
    return 1 if failed else 0


if __name__ == "__main__":
    H.exit_cleanly_on_signals()
    sys.exit(main(sys.argv[1:]))
