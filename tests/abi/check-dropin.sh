#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Check the drop-in libt1071detect.so.0 (meson -Ddropin=true): protobuf-c and
# glib linked in, so it needs nothing but glibc and the loader, exports
# exactly the names of the symbol map, and works in place of the regular
# library.  Prints TAP.
#
#   check-dropin.sh LIBRARY MAPFILE [NM [T1071_REPLAY EQL_VECTORS_DIR]]
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 LIBRARY MAPFILE [NM [T1071_REPLAY EQL_VECTORS_DIR]]" >&2
  exit 2
fi
lib=$1 map=$2 nm=${3:-nm} replay=${4:-} vectors=${5:-}

n=0 failed=0
ok() {   # ok COND-STATUS NAME [DIAG]
  n=$((n + 1))
  if [ "$1" = 0 ]; then
    echo "ok $n - $2"
  else
    failed=$((failed + 1))
    echo "not ok $n - $2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
  fi
}

# Libraries of glibc itself, plus the loader and the vDSO.
glibc_re='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux[-.a-z0-9_]*\.so\.[0-9]+|linux-vdso\.so\.1|linux-gate\.so\.1)$'

# 1. DT_NEEDED: glibc only.
needed=$(LC_ALL=C readelf -d "$lib" 2>&1 | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
bad=$(printf '%s\n' "$needed" | grep -Ev "$glibc_re" | grep -v '^$')
printf '%s\n' "$needed" | grep -qx 'libc.so.6'
has_libc=$?
[ -z "$bad" ] && [ "$has_libc" = 0 ]
ok $? "DT_NEEDED holds only glibc: $(echo $needed)" "unexpected: $bad"

# 2. ldd: the same, resolved, nothing missing.
lddout=$(ldd "$lib" 2>&1)
ldd_rc=$?
bad=$(printf '%s\n' "$lddout" | awk '{print $1}' | sed 's,.*/,,' | grep -Ev "$glibc_re")
[ "$ldd_rc" = 0 ] && [ -z "$bad" ] && ! printf '%s\n' "$lddout" | grep -q 'not found'
ok $? "ldd shows only glibc and the loader" "$lddout"

# 3. SONAME: a drop-in replacement of the regular library.
soname=$(LC_ALL=C readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libt1071detect.so.0" ]
ok $? "SONAME is libt1071detect.so.0 (got $soname)"

# 4. Exports: exactly the global names of the version script.
want=$(sed -e 's,/\*.*\*/,,g' "$map" | awk '
  /global:/ { g = 1; sub(/.*global:/, "") }
  /local:/  { g = 0 }
  g { gsub(/[;{}]/, " "); for (i = 1; i <= NF; i++) if ($i ~ /^[A-Za-z_][A-Za-z0-9_]*$/) print $i }' | sort -u)
nodes=$(sed -e 's,/\*.*\*/,,g' "$map" | sed -n 's/^[[:space:]]*\([A-Za-z0-9_.]*\)[[:space:]]*{.*/\1/p' | sort -u)
symout=$("$nm" -D --defined-only "$lib" 2>&1)
nm_rc=$?
got=$(printf '%s\n' "$symout" | awk 'NF >= 2 { t = $(NF-1); s = $NF; sub(/@.*/, "", s); print t, s }' |
  while read -r t s; do
    if [ "$t" = A ] && printf '%s\n' "$nodes" | grep -qx "$s"; then continue; fi
    echo "$s"
  done | sort -u)
[ "$nm_rc" = 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]
ok $? "exports exactly the $(printf '%s\n' "$want" | wc -l) names of $(basename "$map")" \
  "$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' | sed 's/^</missing:/; s/^>/leaked:/')"

# 5. Imports: only glibc's versioned symbols (and the usual weak hooks), so
#    no protobuf_c_* or g_* is left to resolve at run time.
und=$("$nm" -D --undefined-only "$lib" 2>&1 | awk '$1 == "U" && $2 !~ /@GLIBC_/ { print $2 }')
[ -z "$und" ]
ok $? "every undefined symbol is glibc's" "$und"

# 6. It works in place of the regular library: t1071-replay (linked against
#    libt1071detect.so.0) loads it through LD_LIBRARY_PATH, next to its own
#    shared libprotobuf-c, and reproduces an EQL vector.
if [ -n "$replay" ] && [ -n "$vectors" ]; then
  dir=$(cd "$(dirname "$lib")" && pwd)
  resolved=$(LD_LIBRARY_PATH="$dir" ldd "$replay" 2>&1 | awk '$1 == "libt1071detect.so.0" { print $3 }')
  case "$resolved" in
    "$dir"/*) r=0 ;;
    *) r=1 ;;
  esac
  ok $r "t1071-replay resolves libt1071detect.so.0 to the drop-in (LD_LIBRARY_PATH)" "resolved: $resolved"
  out=$(LD_LIBRARY_PATH="$dir" "$replay" --output sequences "$vectors/a_25_one_entity.ndjson" 2>&1)
  [ "$out" = "$(cat "$vectors/a_25_one_entity.expected")" ]
  ok $? "t1071-replay on the drop-in gives a_25's 16 expected sequences" "$out"
fi

echo "1..$n"
[ "$failed" = 0 ]
