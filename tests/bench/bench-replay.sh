#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# t1071-replay on the bench stream, as NDJSON and as protobuf (meson
# benchmark 'replay'): median wall time of RUNS runs, one process, one core.
# Then the fleet stream (gen-stream --fleet: 301,000 events, 0.3 %
# completing a sequence), alerts rendered (--output pb to /dev/null):
# protobuf bare (beacon.enabled=false), default and tuned, NDJSON default.
#   bench-replay.sh GEN-STREAM T1071-REPLAY [EVENTS [RUNS]]
set -eu
gen=$1 replay=$2 n=${3:-1000000} runs=${4:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$gen" --events "$n" --ndjson > "$dir/s.ndjson"
"$gen" --events "$n" > "$dir/s.pb"
now() { date +%s.%N; }
run() { # label, args...
    label=$1; shift
    : > "$dir/times"
    i=0
    while [ "$i" -lt "$runs" ]; do
        t0=$(now)
        "$replay" --output "$out" "$@" > /dev/null
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$dir/times"
        i=$((i + 1))
    done
    med=$(sort -g "$dir/times" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    awk -v l="$label" -v n="$n" -v t="$med" \
        'BEGIN {printf "%-35s %10.3f %10.0f   (%.2f s)\n", l, n/t/1e6, t/n*1e9, t}'
}
out=none
printf '%-35s %10s %10s\n' "t1071-replay, $n events" "M ev/s" "ns/event"
run "NDJSON ($(wc -c < "$dir/s.ndjson") bytes)" "$dir/s.ndjson"
run "protobuf ($(wc -c < "$dir/s.pb") bytes)" --input pb "$dir/s.pb"

"$gen" --fleet --ndjson > "$dir/f.ndjson"
"$gen" --fleet > "$dir/f.pb"
n=$(wc -l < "$dir/f.ndjson")
out=pb
printf '%-35s %10s %10s\n' "fleet stream, $n events, --output pb" "M ev/s" "ns/event"
run "protobuf, beacon.enabled=false" --input pb --set beacon.enabled=false "$dir/f.pb"
run "protobuf, default" --input pb "$dir/f.pb"
run "protobuf, --profile tuned" --input pb --profile tuned "$dir/f.pb"
run "NDJSON, default" "$dir/f.ndjson"
