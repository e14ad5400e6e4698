# SPDX-License-Identifier: Apache-2.0
"""Shared by the real-host tests (test-fluentbit.py) and the benchmark
(tests/bench/bench-fluentbit.py): find Fluent Bit's source, build it once per
machine (.ci/fluent-bit-build, cached by the source's hash), build the
native plugin against it with meson, and run the real fluent-bit binary.

Environment (meson sets the first group):
  T1071_REPO_ROOT, T1071_BUILD_ROOT   the source and build roots
  T1071_REPLAY, T1071_GEN_STREAM      t1071-replay and gen-stream
  T1071_LIBRARY                       libt1071detect.so (the Lua filter's)
  T1071_FLB_PLUGIN, T1071_FLB_BUILD   set when meson was given
                                      -Dfluent_bit_source/-Dfluent_bit_build
  T1071_FLUENT_BIT_SOURCE             a tarball or a tree (else
                                      ../shared/vendor/fluent-bit/)
  T1071_KEEP=1                        keep the run folders (printed)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP_LINE = "skipped: no Fluent Bit source"


class NoSource(Exception):
    pass


def exit_cleanly_on_signals():
    """meson's timeout (SIGTERM) and ^C end the script through SystemExit,
    so every finally: block runs: fluent-bit killed, run folders removed."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)


def env_path(name, required=True):
    v = os.environ.get(name, "")
    if required and not v:
        raise SystemExit(f"{name} is not set (run through meson test)")
    return v


def repo_root():
    return os.path.abspath(env_path("T1071_REPO_ROOT"))


def build_root():
    return os.path.abspath(env_path("T1071_BUILD_ROOT"))


def log(msg):
    print(f"# {msg}", flush=True)


def fluent_bit():
    """(fluent-bit binary, plugin .so).  Raises NoSource when there is no
    Fluent Bit source anywhere."""
    plugin = os.environ.get("T1071_FLB_PLUGIN", "")
    flb_build = os.environ.get("T1071_FLB_BUILD", "")
    if plugin and flb_build:
        binary = os.path.join(flb_build, "bin", "fluent-bit")
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"{binary} is missing: build Fluent Bit in {flb_build} first "
                             "(make fluent-bit-bin)")
        return binary, plugin
    # Build (or find) Fluent Bit in the per-machine cache.
    script = os.path.join(repo_root(), ".ci", "fluent-bit-build")
    t0 = time.monotonic()
    r = subprocess.run(["bash", script], stdout=subprocess.PIPE, text=True)
    if r.returncode == 3:
        raise NoSource()
    if r.returncode != 0:
        raise SystemExit("building Fluent Bit failed (see above)")
    cache = r.stdout.strip().splitlines()[-1]
    if time.monotonic() - t0 > 5:
        log(f"Fluent Bit built in {time.monotonic() - t0:.0f} s into {cache}")
    binary = os.path.join(cache, "build", "bin", "fluent-bit")
    return binary, build_plugin(cache)


def build_plugin(cache):
    """meson-build flb-filter_t1071.so against the cached Fluent Bit, in a
    build folder of its own under the test's build root (incremental)."""
    src, bld = os.path.join(cache, "src"), os.path.join(cache, "build")
    pdir = os.path.join(build_root(), "fluentbit-plugin")
    want = f"{src}\n{bld}\n"
    stamp = os.path.join(pdir, ".t1071-fluent-bit")
    if os.path.exists(os.path.join(pdir, "build.ninja")):
        try:
            with open(stamp) as fh:
                same = fh.read() == want
        except OSError:
            same = False
        if not same:
            shutil.rmtree(pdir)
    if not os.path.exists(os.path.join(pdir, "build.ninja")):
        cmd = ["meson", "setup", pdir, repo_root(), "--wrap-mode=nofallback", "-Dwerror=true",
               "-Dtests=false", f"-Dfluent_bit_source={src}", f"-Dfluent_bit_build={bld}"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            print(r.stdout)
            raise SystemExit("meson setup of the plugin build failed")
        with open(stamp, "w") as fh:
            fh.write(want)
    r = subprocess.run(["nice", "-n", "5", "meson", "compile", "-C", pdir, "flb-filter_t1071"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout)
        raise SystemExit("building flb-filter_t1071.so failed")
    return os.path.join(pdir, "examples", "flb-filter_t1071.so")


# ===== Configurations =====

PARSERS = """[PARSER]
    Name   json
    Format json

# The record's time from its @timestamp, which leaves the record.
[PARSER]
    Name        json_time
    Format      json
    Time_Key    @timestamp
    Time_Format %Y-%m-%dT%H:%M:%S.%LZ
    Time_Keep   Off
"""


def classic_config(work, input_path, filters, *, exit_on_eof=True, alerts_file=True,
                   outputs=None, grace=10, input_extra=(), parser="json"):
    """A classic-format configuration: tail (JSON lines) -> filters -> file
    outputs records.ndjson (ecs.*) and alerts.ndjson (t1071.alerts)."""
    with open(os.path.join(work, "parsers.conf"), "w") as fh:
        fh.write(PARSERS)
    lines = [
        "[SERVICE]",
        "    Flush        0.5",
        f"    Grace        {grace}",
        "    Log_Level    info",
        f"    Parsers_File {os.path.join(work, 'parsers.conf')}",
        "",
        "[INPUT]",
        "    Name              tail",
        "    Tag               ecs.network",
        f"    Path              {input_path}",
        f"    Parser            {parser}",
        "    Read_from_Head    true",
        f"    Exit_On_Eof       {'true' if exit_on_eof else 'false'}",
        "    Refresh_Interval  1",
        "    Buffer_Chunk_Size 1M",
        "    Buffer_Max_Size   16M",
    ]
    lines += [f"    {k:<17} {v}" for k, v in input_extra]
    lines.append("")
    for flt in filters:
        lines.append("[FILTER]")
        for k, v in flt:
            lines.append(f"    {k:<16} {v}")
        lines.append("")
    if outputs is None:
        outputs = [[("Name", "file"), ("Match", "ecs.*"), ("Path", work),
                    ("File", "records.ndjson"), ("Format", "plain")]]
        if alerts_file:
            outputs.append([("Name", "file"), ("Match", "t1071.alerts"), ("Path", work),
                            ("File", "alerts.ndjson"), ("Format", "plain")])
    for out in outputs:
        lines.append("[OUTPUT]")
        for k, v in out:
            lines.append(f"    {k:<16} {v}")
        lines.append("")
    path = os.path.join(work, "fluent-bit.conf")
    with open(path, "w") as fh:
        fh.write("\n".join(lines))
    return path


def yaml_config(work, input_path, filters, grace=10):
    """The same pipeline in Fluent Bit's YAML format."""
    with open(os.path.join(work, "parsers.conf"), "w") as fh:
        fh.write(PARSERS)

    def item(pairs, indent):
        out = []
        for i, (k, v) in enumerate(pairs):
            lead = "- " if i == 0 else "  "
            out.append(" " * indent + lead + f"{k.lower()}: {json.dumps(str(v))}")
        return out

    lines = ["service:", "  flush: 0.5", f"  grace: {grace}", "  log_level: info",
             f"  parsers_file: {json.dumps(os.path.join(work, 'parsers.conf'))}",
             "pipeline:", "  inputs:"]
    lines += item([("name", "tail"), ("tag", "ecs.network"), ("path", input_path),
                   ("parser", "json"), ("read_from_head", "true"), ("exit_on_eof", "true"),
                   ("buffer_chunk_size", "1M"), ("buffer_max_size", "16M")], 4)
    lines.append("  filters:")
    for flt in filters:
        lines += item(flt, 4)
    lines.append("  outputs:")
    lines += item([("name", "file"), ("match", "ecs.*"), ("path", work),
                   ("file", "records.ndjson"), ("format", "plain")], 4)
    lines += item([("name", "file"), ("match", "t1071.alerts"), ("path", work),
                   ("file", "alerts.ndjson"), ("format", "plain")], 4)
    path = os.path.join(work, "fluent-bit.yaml")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def lua_filter(lateness="0s"):
    script = os.path.join(repo_root(), "examples", "fluent-bit", "t1071.lua")
    return [("Name", "lua"), ("Match", "ecs.*"), ("script", script), ("call", "cb")], \
        {"T1071_LIBRARY": env_path("T1071_LIBRARY"), "T1071_SET": f"engine.lateness={lateness}"}


def native_filter(lateness="5s", **extra):
    pairs = [("Name", "t1071"), ("Match", "ecs.*"), ("alert_tag", "t1071.alerts"),
             ("engine.lateness", lateness)]
    more = extra.pop("_pairs", [])
    pairs += [(k, v) for k, v in extra.items()] + list(more)
    return pairs


# ===== Running =====

class Run:
    def __init__(self, rc, stderr, seconds, cpu):
        self.rc, self.stderr, self.seconds, self.cpu = rc, stderr, seconds, cpu

    def counters(self):
        """The native filter's exit line 'counters: k=v ...' as a dict."""
        for line in self.stderr.splitlines():
            if "counters: records=" in line:
                return {k: int(v) for k, v in
                        (kv.split("=") for kv in line.split("counters: ", 1)[1].split())}
        return None


def start(binary, config, plugin=None, env=None, stderr_path=None):
    args = [binary]
    if plugin:
        args += ["-e", plugin]
    args += ["-c", config]
    e = dict(os.environ)
    e.update(env or {})
    err = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                         env=e, start_new_session=True)
    if stderr_path:
        err.close()
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass


def run(binary, config, plugin=None, env=None, timeout=600, work=None):
    """Run fluent-bit to its end (Exit_On_Eof); kill it on timeout.  Returns
    a Run with the exit status, the log and the CPU seconds it used."""
    log_path = os.path.join(work or os.path.dirname(config), "fluent-bit.log")
    t0 = time.monotonic()
    p = start(binary, config, plugin, env, log_path)
    try:
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                p.returncode = rc
                break
            if time.monotonic() > deadline:
                stop(p, signal.SIGKILL)
                pid, status, ru = os.wait4(p.pid, 0)
                p.returncode = -9
                rc = "timeout"
                break
            time.sleep(0.05)
    finally:
        stop(p, signal.SIGKILL)
    with open(log_path, errors="replace") as fh:
        text = fh.read()
    return Run(rc, text, time.monotonic() - t0, ru.ru_utime + ru.ru_stime)


def read_ndjson(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, "rb") as fh:
        for raw in fh:
            raw = raw.strip()
            if raw:
                # A record is a record even if Fluent Bit wrote bytes that
                # are not UTF-8 or JSON: it is counted, as unparsed.
                try:
                    out.append(json.loads(raw.decode("utf-8", "replace")))
                except ValueError:
                    out.append({"_unparsed": raw[:200].decode("utf-8", "replace")})
    return out


def alert_key(a):
    """What must match t1071-replay: group id, member ids, rule name."""
    k = a["kibana"]["alert"]
    return (k["group"]["id"], tuple(a["t1071"]["event_ids"]), k["rule"]["name"])


def replay_alerts(input_path, sets=(), extra=()):
    cmd = [env_path("T1071_REPLAY")]
    for s in sets:
        cmd += ["--set", s]
    cmd += list(extra) + ["--output", "alerts", input_path]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit(f"t1071-replay failed: {r.stderr.decode(errors='replace')}")
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


class Workdir:
    """A temporary folder removed at the end, even on failure (kept with
    T1071_KEEP=1)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix=f"t1071-flb-{self.name}-")
        return self.path

    def __exit__(self, *exc):
        if os.environ.get("T1071_KEEP"):
            log(f"kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        return False
