#!/usr/bin/env bash
# t1071-replay's command line contract: output formats, exit codes, bad
# lines, --encode round trip, --state resume.  TAP output.
set -u
replay="$1"
fixtures="$2"
rules="${3:-$(dirname "$0")/../../examples/rules}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

for f in "$fixtures"/eql-vectors/*.ndjson; do
  b="$(basename "$f" .ndjson)"
  "$replay" --output sequences "$f" > "$tmp/out" 2>/dev/null
  check "sequences $b (ndjson)" "cmp -s '$tmp/out' '${f%.ndjson}.expected'"
  "$replay" --encode "$f" > "$tmp/pb" && "$replay" --input pb --output sequences "$tmp/pb" > "$tmp/out"
  check "sequences $b (pb)" "cmp -s '$tmp/out' '${f%.ndjson}.expected'"
done

a25="$fixtures/eql-vectors/a_25_one_entity.ndjson"
"$replay" "$a25" > "$tmp/alerts"
check "alerts: one JSON line per sequence" "[ \$(wc -l < '$tmp/alerts') -eq 16 ]"
check "alerts: Elastic fields" "grep -q '\"kibana\":{\"alert\":{\"original_time\"' '$tmp/alerts' && grep -q '\"risk_score\":73' '$tmp/alerts' && grep -q '\"T1071.001\"' '$tmp/alerts'"
"$replay" --output pb "$a25" > "$tmp/alerts.pb"
check "output pb non-empty" "[ -s '$tmp/alerts.pb' ]"
"$replay" --output none "$a25" > "$tmp/none"
check "output none prints nothing" "[ ! -s '$tmp/none' ]"

# Bad lines: skipped, reported with line numbers, good result unchanged, exit 0.
{ echo '{"bad json'; cat "$a25"; printf '\x00\x01garbage\n'; echo '[]'; } > "$tmp/mixed"
"$replay" --output sequences "$tmp/mixed" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "bad lines: exit 0" "[ $rc -eq 0 ]"
check "bad lines: result unchanged" "cmp -s '$tmp/out' '$fixtures/eql-vectors/a_25_one_entity.expected'"
check "bad lines: reported with line number" "grep -q 'line 1:' '$tmp/err' && grep -q '3 bad lines skipped' '$tmp/err'"

# Exit codes.
"$replay" --output bogus "$a25" >/dev/null 2>&1; rc=$?
check "usage error exits 2" "[ $rc -eq 2 ]"
"$replay" --set rule.nope=1 "$a25" >/dev/null 2>"$tmp/err"; rc=$?
check "unknown config key exits 2 naming the key" "[ $rc -eq 2 ] && grep -q 'rule.nope' '$tmp/err'"
"$replay" "$tmp/does-not-exist" >/dev/null 2>&1; rc=$?
check "missing input exits 1" "[ $rc -eq 1 ]"
"$replay" --stats --output none "$a25" 2> "$tmp/err"; rc=$?
check "stats printed" "[ $rc -eq 0 ] && grep -q 'events_per_second' '$tmp/err' && grep -q 'peak_rss_kib' '$tmp/err'"
"$replay" --set rule.runs=5 --output sequences "$a25" > "$tmp/out"
check "--set changes the rule" "[ \$(wc -l < '$tmp/out') -eq 21 ]"

# --state: a run split in two (lateness 5m keeps events buffered at the cut)
# equals one run; a missing state starts fresh; a corrupt one exits 1.
h="$fixtures/eql-vectors/h_edges_each.ndjson"
"$replay" --set engine.lateness=5m --output sequences "$h" > "$tmp/whole"
head -n 200 "$h" > "$tmp/part1"; tail -n +201 "$h" > "$tmp/part2"
"$replay" --set engine.lateness=5m --state "$tmp/st" --output sequences "$tmp/part1" > "$tmp/split"
check "state saved" "[ -s '$tmp/st' ]"
"$replay" --state "$tmp/st" --flush --output sequences "$tmp/part2" >> "$tmp/split"
check "state: split run equals whole run" "cmp -s '$tmp/whole' '$tmp/split'"
"$replay" --set engine.lateness=5m --state "$tmp/st2" --checkpoint-every 7 --output none "$tmp/part1"; rc=$?
check "checkpoint-every runs" "[ $rc -eq 0 ] && [ -s '$tmp/st2' ] && ! ls '$tmp'/st2.tmp.* >/dev/null 2>&1"
echo garbage > "$tmp/corrupt"
"$replay" --state "$tmp/corrupt" "$a25" >/dev/null 2>&1; rc=$?
check "corrupt state exits 1" "[ $rc -eq 1 ]"
"$replay" --checkpoint-every 5 "$a25" >/dev/null 2>&1; rc=$?
check "checkpoint-every without state exits 2" "[ $rc -eq 2 ]"

# Stats a host can export.
"$replay" --stats-format prometheus --output none "$a25" 2> "$tmp/prom"
check "prometheus stats" "grep -q '^# TYPE t1071_alerts_emitted_total counter' '$tmp/prom' && grep -q '^t1071_alerts_emitted_total 16$' '$tmp/prom' && grep -q '^t1071_memory_bytes ' '$tmp/prom'"
"$replay" --stats-format json --output none "$a25" 2> "$tmp/json"
check "json stats" "grep -q '\"alerts_emitted\":16' '$tmp/json'"

# Sample mode and terminal safety.
"$replay" --sample > "$tmp/sample"
check "sample prints alerts" "grep -q 'ALERT high' '$tmp/sample'"
printf '%s\n' '{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":["network"],"type":["start"],"id":"x\u001b[31m"},"network":{"direction":"egress"},"destination":{"ip":"8.8.8.8","port":443},"process":{"name":"a\u001bb","entity_id":"E"}}' > "$tmp/esc"
"$replay" --set rule.runs=1 "$tmp/esc" > "$tmp/out"
check "control characters escaped in output" "! grep -q \$'\x1b' '$tmp/out' && grep -q 'u001b' '$tmp/out'"

# The tuned profile (a shipped file) on the real Empire capture, internal
# destinations scored: the three agents, one alert each, scored.
empire="$fixtures/real/mordor-empire-ikeext.ecs.ndjson"
"$replay" --profile tuned --set rule.exclude_cidrs= "$empire" > "$tmp/tuned"; rc=$?
check "profile tuned: three Empire agents" "[ $rc -eq 0 ] && [ \$(wc -l < '$tmp/tuned') -eq 3 ] && [ \$(grep -c '\"profile\":\"tuned\"' '$tmp/tuned') -eq 3 ]"
check "profile tuned: beacon score in alerts" "[ \$(grep -c '\"beacon\":{\"score\":' '$tmp/tuned') -eq 3 ]"
"$replay" "$empire" > "$tmp/faithful"
check "profile faithful: blind to the RFC 1918 C2" "[ ! -s '$tmp/faithful' ]"
"$replay" --profile tuned --set rule.exclude_cidrs= --set tuning.emit_suppressed=true "$empire" > "$tmp/supp"
check "suppressed alerts emitted with their reason" "grep -q '\"suppressed\":true,\"reason\":\"suppression_window\"' '$tmp/supp' && [ \$(grep -c '\"suppressed\":false' '$tmp/supp') -eq 3 ]"
"$replay" --profile tuned --set rule.exclude_cidrs= --stats-format json --output none "$empire" 2> "$tmp/json"
check "suppressed alerts counted" "grep -q '\"alerts_suppressed\":[1-9]' '$tmp/json'"
"$replay" --profile nosuch "$a25" >/dev/null 2>&1; rc=$?
check "unknown profile is a usage error" "[ $rc -ne 0 ]"
# --rule FILE: the seed's EQL and the Sigma rule give the faithful vectors;
# bad rules exit 2 with line and column; several rules name their alerts.
for f in "$fixtures"/eql-vectors/*.ndjson; do
  b="$(basename "$f" .ndjson)"
  for r in t1071-beaconing.eql t1071-beaconing.yml; do
    "$replay" --rule "$rules/$r" --output sequences "$f" > "$tmp/out" 2>/dev/null
    check "--rule $r: sequences $b" "cmp -s '$tmp/out' '${f%.ndjson}.expected'"
  done
done
"$replay" "$a25" > "$tmp/builtin"
"$replay" --rule "$rules/t1071-beaconing.eql" "$a25" > "$tmp/fromtext"
check "--rule eql: alerts byte-identical to the built-in rule" "cmp -s '$tmp/builtin' '$tmp/fromtext'"
"$replay" --rule "$rules/t1071-beaconing.yml" "$a25" > "$tmp/fromsigma"
check "--rule sigma: alerts byte-identical to the built-in rule" "cmp -s '$tmp/builtin' '$tmp/fromsigma'"
printf 'sequence by process.entity_id\n  [network where destination.port >= 80] with runs=2\n' > "$tmp/bad.eql"
"$replay" --rule "$tmp/bad.eql" "$a25" >/dev/null 2>"$tmp/err"; rc=$?
check "--rule with unsupported syntax exits 2 with line and column" "[ $rc -eq 2 ] && grep -q 'line 2, column 35: >= is not supported' '$tmp/err'"
"$replay" --rule "$tmp/nope.eql" "$a25" >/dev/null 2>&1; rc=$?
check "--rule missing file exits 2" "[ $rc -eq 2 ]"
printf 'sequence by process.entity_id with maxspan=24h [network where destination.port == 443] with runs=5\n' > "$tmp/p443.eql"
"$replay" --rule "$rules/t1071-beaconing.eql" --rule "$tmp/p443.eql" "$a25" > "$tmp/two"
"$replay" --rule "$tmp/p443.eql" --output sequences "$a25" > "$tmp/p443.seq"
check "two rules: the first's alerts are all there" "[ \$(grep -c '\"name\":\"Application Layer Protocol (T1071) beaconing\"' '$tmp/two') -eq 16 ]"
check "two rules: the second named after its file" "[ \$(grep -c '\"name\":\"p443\"' '$tmp/two') -eq \$(wc -l < '$tmp/p443.seq') ] && [ -s '$tmp/p443.seq' ]"
"$replay" --set engine.lateness=5m --rule "$rules/t1071-beaconing.eql" --rule "$tmp/p443.eql" --output sequences "$h" > "$tmp/two-whole"
"$replay" --set engine.lateness=5m --rule "$rules/t1071-beaconing.eql" --rule "$tmp/p443.eql" --state "$tmp/st3" --output sequences "$tmp/part1" > "$tmp/two-split"
"$replay" --state "$tmp/st3" --flush --output sequences "$tmp/part2" >> "$tmp/two-split"
check "two rules with --state: split run equals whole run" "[ -s '$tmp/two-whole' ] && cmp -s '$tmp/two-whole' '$tmp/two-split'"
printf '[rule]\nquery = sequence by process.entity_id with maxspan=24h [network where destination.port == 443] with runs=5\n' > "$tmp/q.ini"
"$replay" --config "$tmp/q.ini" --output sequences "$a25" > "$tmp/q.seq"
check "[rule] query in INI" "cmp -s '$tmp/q.seq' '$tmp/p443.seq'"

# A rule may read any Event field, not only those the built-in rule reads:
# the protobuf reader must hand them over (network.transport, user_agent).
for i in 0 1 2 3; do
  tr=tcp; [ $i = 3 ] && tr=udp
  printf '{"@timestamp":"2024-01-01T00:0%d:00Z","event":{"category":["network"],"type":["connection"],"id":"t%d","action":"connect"},"network":{"direction":"egress","transport":"%s"},"destination":{"ip":"8.8.8.8","port":443},"user_agent":{"original":"curl/8"},"process":{"name":"x.exe","entity_id":"E"}}\n' $i $i $tr
done > "$tmp/transport.ndjson"
printf 'sequence by process.entity_id [network where network.transport == "tcp" and user_agent.original : "curl*" and event.action == "connect"] with runs=3\n' > "$tmp/transport.eql"
"$replay" --rule "$tmp/transport.eql" --output sequences "$tmp/transport.ndjson" > "$tmp/tr.nd"
"$replay" --encode "$tmp/transport.ndjson" > "$tmp/transport.pb"
"$replay" --rule "$tmp/transport.eql" --input pb --output sequences "$tmp/transport.pb" > "$tmp/tr.pb"
check "--rule on fields the built-in rule never reads (NDJSON)" "[ \"\$(cat '$tmp/tr.nd')\" = '[\"t0\",\"t1\",\"t2\"]' ]"
check "--rule on fields the built-in rule never reads (protobuf)" "cmp -s '$tmp/tr.nd' '$tmp/tr.pb'"
# Event-time order (issue 12): a FILE is detected in time order, stdin as
# it arrives; bad --order / --sort-memory are usage errors; a sort that
# cannot write its temporary files fails saying where.
{ tail -n +13 "$a25"; head -n 12 "$a25"; } > "$tmp/rot"
"$replay" --output sequences "$tmp/rot" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "time order: a rotated file gives the sorted file's sequences, nothing late" "[ $rc -eq 0 ] && cmp -s '$tmp/out' '$fixtures/eql-vectors/a_25_one_entity.expected' && [ ! -s '$tmp/err' ]"
"$replay" --output sequences < "$tmp/rot" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "arrival order (stdin): the rotated events are late and announced" "[ $rc -eq 0 ] && grep -q '12 events were late' '$tmp/err' && grep -q -- '--set engine.lateness=' '$tmp/err'"
"$replay" --order time --output sequences - < "$tmp/rot" > "$tmp/out"; rc=$?
check "--order time on stdin" "[ $rc -eq 0 ] && cmp -s '$tmp/out' '$fixtures/eql-vectors/a_25_one_entity.expected'"
"$replay" --order arrival --set engine.lateness=0s --stats-format json --output none "$tmp/rot" 2> "$tmp/err"; rc=$?
check "--order arrival on a file: late events counted, lateness_max_ms gauge" "[ $rc -eq 0 ] && grep -q '\"events_late\":12' '$tmp/err' && grep -q '\"lateness_max_ms\":[1-9]' '$tmp/err'"
"$replay" --order arrival --output none --stats-format prometheus "$tmp/rot" 2> "$tmp/prom"
check "lateness_max_ms is a gauge in Prometheus" "grep -q '^# TYPE t1071_lateness_max_ms gauge' '$tmp/prom'"
"$replay" --order sideways "$a25" >/dev/null 2>"$tmp/err"; rc=$?
check "--order with a bad value exits 2" "[ $rc -eq 2 ] && grep -q 'time or arrival' '$tmp/err'"
"$replay" --sort-memory 12XB "$a25" >/dev/null 2>"$tmp/err"; rc=$?
check "--sort-memory with a bad value exits 2" "[ $rc -eq 2 ] && grep -q 'sort-memory' '$tmp/err'"
TMPDIR="$tmp/no-such-dir" "$replay" --sort-memory 1KiB --output none "$fixtures/eql-vectors/h_edges_each.ndjson" 2>"$tmp/err"; rc=$?
check "a sort that cannot spill exits 1 naming the directory" "[ $rc -eq 1 ] && grep -q 'no-such-dir' '$tmp/err'"
TMPDIR="$tmp" "$replay" --sort-memory 1KiB --output sequences "$fixtures/eql-vectors/h_edges_each.ndjson" > "$tmp/out"; rc=$?
check "a 1 KiB sort spills and gives the same sequences, leaving no file" "[ $rc -eq 0 ] && cmp -s '$tmp/out' '$fixtures/eql-vectors/h_edges_each.expected' && ! ls '$tmp'/t1071-replay-sort-* >/dev/null 2>&1"

echo "1..$n"
[ $fails -eq 0 ]
