#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The structure of lib/ as lib/README.md states it.

Checks, over every lib/<room>/*.[ch]:
  1. every path lib/README.md names exists;
  2. the rooms in the README's table are exactly lib/'s folders;
  3. no #include of another room's header goes against the layer order;
  4. no call of a function defined in another room goes against it (the
     definition is found by name: `name(` at the start of a line in a .c
     file, or a `static inline` one in a header);
  5. no include cycle between lib/ files;
  6. each function the "Where things live" table names is defined in the
     file it names;
  7. no file over 1,300 lines unless the README's "Files over 1,200 lines"
     section names it.
Prints one line per problem and exits 1 when there is any.
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
lib = os.path.join(root, "lib")
readme = open(os.path.join(lib, "README.md"), encoding="utf-8").read()
problems = []


def problem(msg):
    problems.append(msg)


# ---- the rooms and their order, from the first table
rooms = []
for m in re.finditer(r"^\| (\d+) \| `([a-z]+)/` \|", readme, re.M):
    rooms.append(m.group(2))
if not rooms:
    problem("lib/README.md: no room table (| 1 | `util/` | ...)")
order = {r: i for i, r in enumerate(rooms)}
folders = sorted(d for d in os.listdir(lib)
                 if os.path.isdir(os.path.join(lib, d)) and d != "dropin")
if sorted(rooms) != folders:
    problem("lib/README.md rooms %s differ from lib/'s folders %s" % (sorted(rooms), folders))

# ---- the files
files = {}
for r in folders:
    for f in sorted(os.listdir(os.path.join(lib, r))):
        if f.endswith((".c", ".h")):
            rel = r + "/" + f
            files[rel] = open(os.path.join(lib, rel), encoding="utf-8").read()
if not files:
    problem("no source files under lib/<room>/")

# ---- 1. every path the README names exists
for m in re.finditer(r"`((?:lib/)?(?:[a-z]+/)+[A-Za-z0-9_.-]+\.(?:c|h|map|proto|md|py|build))`", readme):
    p = m.group(1)
    cands = [os.path.join(lib, p), os.path.join(root, p)]
    if p.startswith("lib/t1071-private.h") or p.startswith("lib/engine.c") or re.match(
            r"lib/(rule|filter|config|sigma|tracker|beacon|alert|alert-pack|json|ecs-json|wire|derive|hash|sha256|pool|timefmt|api)\.[ch]$", p):
        continue  # the old names in the rename table
    if not any(os.path.exists(c) for c in cands):
        problem("lib/README.md names %s, which does not exist" % p)


def strip_comments(s):
    s = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), s, flags=re.S)
    s = re.sub(r"//[^\n]*", "", s)
    s = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', s)
    return s


def room_of(rel):
    return rel.split("/", 1)[0]


# ---- 3. includes, 5. cycles
graph = {}
for rel, text in files.items():
    graph[rel] = []
    for m in re.finditer(r'^#include "([^"]+)"', text, re.M):
        inc = m.group(1)
        if "/" not in inc or inc.startswith("t1071/"):
            continue  # generated protobuf header, the public header
        if inc not in files:
            problem("%s includes \"%s\", which is not a lib/ file" % (rel, inc))
            continue
        graph[rel].append(inc)
        if order.get(room_of(inc), -1) > order.get(room_of(rel), -1):
            problem("%s includes %s: %s/ comes after %s/ in the layer order"
                    % (rel, inc, room_of(inc), room_of(rel)))

state = {}


def visit(n, stack):
    state[n] = 1
    for d in graph.get(n, []):
        if state.get(d) == 1:
            problem("include cycle: %s" % " -> ".join(stack + [n, d]))
        elif not state.get(d):
            visit(d, stack + [n])
    state[n] = 2


for n in graph:
    if not state.get(n):
        visit(n, [])

# ---- 4. calls
defs = {}
for rel, text in files.items():
    code = strip_comments(text)
    if rel.endswith(".c"):
        for m in re.finditer(r"^(t1071i?_[a-z0-9_]+)\(", code, re.M):
            defs.setdefault(m.group(1), rel)
    for m in re.finditer(r"^static inline [^\n(]*\n?(t1071i?_[a-z0-9_]+)\(", code, re.M):
        defs.setdefault(m.group(1), rel)
for rel, text in files.items():
    code = strip_comments(text)
    for m in re.finditer(r"(?<![\w.>])(t1071i?_[a-z0-9_]+)\s*\(", code):
        name = m.group(1)
        where = defs.get(name)
        if not where or room_of(where) == room_of(rel):
            continue
        if order[room_of(where)] > order[room_of(rel)]:
            line = code.count("\n", 0, m.start()) + 1
            problem("%s:%d calls %s (%s): %s/ comes after %s/ in the layer order"
                    % (rel, line, name, where, room_of(where), room_of(rel)))

# ---- 6. the "Where things live" table
sec = readme.split("## Where things live", 1)[-1].split("\n## ", 1)[0]
for row in sec.splitlines():
    cells = [c.strip() for c in row.split("|")]
    if len(cells) < 4 or not cells[2].startswith("`"):
        continue
    path = cells[2].strip("`")
    if path not in files:
        problem("Where things live: %s is not a lib/ file" % path)
        continue
    names = re.findall(r"`([a-z_][a-z0-9_]*)`", cells[3].split(";")[0])
    code = strip_comments(files[path])
    for n in names:
        if not re.search(r"^(?:static )?[^\n;]*\n?%s\(" % re.escape(n), code, re.M) and \
                not re.search(r"\n%s\(" % re.escape(n), code):
            problem("Where things live: %s names %s, not defined there" % (path, n))

# ---- 7. sizes
big = readme.split("## Files over 1,200 lines", 1)[-1].split("\n## ", 1)[0]
for rel, text in files.items():
    n = text.count("\n")
    if n > 1300 and ("`%s`" % rel) not in big:
        problem("%s has %d lines: split it, or say in lib/README.md why it is one algorithm" % (rel, n))

for p in problems:
    print("structure: " + p)
print("structure: %d files in %d rooms, %d problems" % (len(files), len(rooms), len(problems)))
sys.exit(1 if problems else 0)
