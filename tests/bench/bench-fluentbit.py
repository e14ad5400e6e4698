#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CPU cost inside a real Fluent Bit (issue 16): CPU seconds (user + system
of the fluent-bit process) per million records, for

  alone   tail (JSON lines) -> null output
  lua     tail -> examples/fluent-bit/t1071.lua (LuaJIT FFI) -> null
  native  tail -> flb-filter_t1071.so -> null (alerts to null too)
  native-noalert  the same with rule.runs 1000: no alert, the feed alone

on gen-stream's NDJSON (seed 1071).  Each configuration runs RUNS times;
the median is reported, and the filters' cost above Fluent Bit's own.

    meson test -C build --benchmark fluent-bit -v
    T1071_BENCH_EVENTS=1000000 T1071_BENCH_RUNS=3 ...    (defaults 500000, 3)

Goal (not asserted): native adds <= 50 % to Fluent Bit's own cost and is
>= 3x cheaper than the Lua filter.
"""
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fluentbit"))
import flbhost as H  # noqa: E402


def main():
    events = int(os.environ.get("T1071_BENCH_EVENTS", "500000"))
    runs = int(os.environ.get("T1071_BENCH_RUNS", "3"))
    lateness = os.environ.get("T1071_BENCH_LATENESS", "0s")
    try:
        binary, plugin = H.fluent_bit()
    except H.NoSource:
        print(H.SKIP_LINE)
        return 0
    with H.Workdir("bench") as work:
        stream = os.path.join(work, "stream.ndjson")
        with open(stream, "wb") as fh:
            subprocess.run([H.env_path("T1071_GEN_STREAM"), "--ndjson", "--events", str(events)],
                           stdout=fh, check=True)
        null_out = [[("Name", "null"), ("Match", "*")]]
        lua_flt, lua_env = H.lua_filter(lateness)
        setups = [
            ("alone", [], None, None),
            ("lua", [lua_flt], None, lua_env),
            ("native", [H.native_filter(lateness)], plugin, None),
            # The same with no alert at all (a sequence of 1000 never
            # completes): the cost of feeding alone.
            ("native-noalert", [H.native_filter(lateness, **{"rule.runs": "1000"})], plugin, None),
        ]
        cpu = {}
        for name, filters, plg, env in setups:
            samples = []
            for i in range(runs):
                sub = os.path.join(work, f"{name}-{i}")
                os.mkdir(sub)
                conf = H.classic_config(sub, stream, filters, outputs=null_out)
                r = H.run(binary, conf, plugin=plg, env=env, timeout=3600, work=sub)
                if r.rc != 0:
                    print(f"{name}: fluent-bit exited with {r.rc}\n" + r.stderr[-3000:])
                    return 1
                samples.append(r.cpu)
                print(f"# {name} run {i + 1}: {r.cpu:.2f} CPU s, {r.seconds:.2f} s wall",
                      flush=True)
            cpu[name] = statistics.median(samples)
    per_m = {k: v * 1e6 / events for k, v in cpu.items()}
    base = per_m["alone"]
    print(f"\nFluent Bit 5.1.1, {events} records (gen-stream seed 1071), "
          f"engine.lateness={lateness}, median of {runs}")
    print("| pipeline | CPU s per 1M records | above Fluent Bit alone |")
    print("|---|---|---|")
    for k in ("alone", "lua", "native", "native-noalert"):
        extra = "—" if k == "alone" else f"+{per_m[k] - base:.2f} s (+{(per_m[k] - base) / base * 100:.0f} %)"
        print(f"| {k} | {per_m[k]:.2f} | {extra} |")
    lua_add, nat_add = per_m["lua"] - base, per_m["native"] - base
    print(f"\nnative vs lua, whole pipeline: {per_m['lua'] / per_m['native']:.2f}x; "
          f"filter cost alone: {lua_add / nat_add if nat_add > 0 else float('inf'):.2f}x")
    return 0


if __name__ == "__main__":
    H.exit_cleanly_on_signals()
    sys.exit(main())
