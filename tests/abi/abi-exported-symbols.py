#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare the dynamic symbols a shared library defines with the global names
of its linker version script: the two sets must be equal, so generated
protobuf-c code and t1071i_* internals cannot leak (lib/README.md "Conventions").

usage: abi-exported-symbols.py LIBRARY MAPFILE [NM]
Prints TAP."""
import re
import subprocess
import sys


def map_names(path):
    text = open(path, encoding='utf-8').read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'(#|//)[^\n]*', ' ', text)
    nodes, names = set(), set()
    # node: NAME { body } [PARENT] ;
    for m in re.finditer(r'([A-Za-z0-9_.]+)\s*\{(.*?)\}\s*[A-Za-z0-9_.]*\s*;', text, flags=re.S):
        nodes.add(m.group(1))
        scope = 'global'
        for tok in re.findall(r'[^\s;]+:|[^\s;]+', m.group(2)):
            if tok.endswith(':'):
                scope = tok[:-1]
            elif scope == 'global':
                names.add(tok)
    return nodes, names


def lib_names(lib, nm):
    out = subprocess.run([nm, '-D', '--defined-only', lib], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        syms.append((parts[-2], re.sub(r'@.*', '', parts[-1])))
    return syms


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib, mapfile = sys.argv[1], sys.argv[2]
    nm = sys.argv[3] if len(sys.argv) > 3 else 'nm'
    print('1..3')
    nodes, want = map_names(mapfile)
    ok = bool(want) and bool(nodes)
    print(('ok' if ok else 'not ok') + ' 1 - map %s declares %d global names in %d node(s)'
          % (mapfile, len(want), len(nodes)))
    try:
        syms = lib_names(lib, nm)
    except (OSError, subprocess.CalledProcessError) as e:
        print('not ok 2 - %s -D --defined-only %s: %s' % (nm, lib, e))
        print('not ok 3 - symbols not compared')
        return 1
    # Version nodes show up as absolute symbols: they are not exports.
    got = {name for kind, name in syms if not (kind == 'A' and name in nodes)}
    leaked = sorted(got - want)
    missing = sorted(want - got)
    print(('ok' if not leaked else 'not ok') + ' 2 - no symbol exported outside the map')
    for s in leaked:
        print('# leaked: %s' % s)
    print(('ok' if not missing else 'not ok') + ' 3 - every name of the map is exported')
    for s in missing:
        print('# missing: %s' % s)
    return 0 if ok and not leaked and not missing else 1


if __name__ == '__main__':
    sys.exit(main())
