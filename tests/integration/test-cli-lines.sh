#!/usr/bin/env bash
# t1071-replay's NDJSON line reader (block reads + memchr): the same lines
# as a byte-at-a-time reader on the edges — a line over 4 MiB skipped and
# reported, a line of exactly 4 MiB kept, lines spanning read blocks, CRLF,
# blank lines, a last line without a newline.  TAP output.
set -u
replay="$1"
fixtures="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

a25="$fixtures/eql-vectors/a_25_one_entity.ndjson"
exp="$fixtures/eql-vectors/a_25_one_entity.expected"

# Pad a line to exactly N bytes with spaces inside the JSON object.
pad() { python3 -c '
import sys
line, n = sys.argv[1], int(sys.argv[2])
sys.stdout.write(line[:-1] + " " * (n - len(line)) + "}")' "$1" "$2"; }

first="$(head -n 1 "$a25")"
{
  pad "$first" $((4 * 1024 * 1024 + 1)); echo                   # one byte too long: skipped
  pad "$first" $((3 * 1024 * 1024)) | tr -d '\n'; printf '\r\n'  # spans read blocks, CRLF
  echo; printf '   \r\n'                                         # blank lines
  tail -n +2 "$a25" | head -n -1
  tail -n 1 "$a25" | tr -d '\n'                                   # no newline at the end
} > "$tmp/edges"
"$replay" --output sequences --stats-format json "$tmp/edges" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "edges: exit 0" "[ $rc -eq 0 ]"
check "edges: over-long line reported as line 1" "grep -q 'line 1:' '$tmp/err' && grep -q '1 bad line' '$tmp/err'"
check "edges: same sequences" "cmp -s '$tmp/out' '$exp'"

# A line of exactly 4 MiB is kept.
{ pad "$first" $((4 * 1024 * 1024)); echo; tail -n +2 "$a25"; } > "$tmp/max"
"$replay" --output sequences "$tmp/max" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "4 MiB line kept" "[ $rc -eq 0 ] && cmp -s '$tmp/out' '$exp' && ! grep -q 'bad line' '$tmp/err'"

# Lines counted: --stats reports every line read, blank ones included.
printf '\n\n%s\n\n' "$(head -n 3 "$a25")" > "$tmp/count"
"$replay" --stats-format json --output none "$tmp/count" 2> "$tmp/json"; rc=$?
check "line count" "[ $rc -eq 0 ] && grep -q '\"input_records\":6,' '$tmp/json'"

echo "1..$n"
[ "$fails" -eq 0 ]
