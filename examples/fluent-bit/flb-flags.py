#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Print, one per line, the compiler arguments a Fluent Bit filter plugin
needs: the defines and include folders CMake gave Fluent Bit's own filter
plugins in a configured build directory (flags.make), includes as -isystem
so Fluent Bit's headers do not trip our warnings.

    flb-flags.py FLUENT_BIT_SOURCE FLUENT_BIT_BUILD

Exit 1 with a sentence when the build directory is not a configured
Fluent Bit build of that source.
"""
import glob
import os
import shlex
import sys


def main():
    if len(sys.argv) != 3:
        print("usage: flb-flags.py FLUENT_BIT_SOURCE FLUENT_BIT_BUILD", file=sys.stderr)
        return 2
    src, build = (os.path.abspath(p) for p in sys.argv[1:])
    if not os.path.isfile(os.path.join(src, "include", "fluent-bit", "flb_filter_plugin.h")):
        print(f"{src} is not a Fluent Bit source tree (no include/fluent-bit/flb_filter_plugin.h)",
              file=sys.stderr)
        return 1
    # cmake writes the generated flb_info.h (FLB_HAVE_*) into the source
    # tree's include/ (this version) or the build's.
    if not any(os.path.isfile(os.path.join(d, "include", "fluent-bit", "flb_info.h"))
               for d in (src, build)):
        print(f"no generated include/fluent-bit/flb_info.h in {src} or {build}:"
              " run Fluent Bit's cmake first", file=sys.stderr)
        return 1
    candidates = (glob.glob(os.path.join(build, "plugins", "filter_lua", "CMakeFiles", "*", "flags.make")) +
                  sorted(glob.glob(os.path.join(build, "plugins", "filter_*", "CMakeFiles", "*", "flags.make"))) +
                  glob.glob(os.path.join(build, "src", "CMakeFiles", "fluent-bit-static.dir", "flags.make")))
    if not candidates:
        print(f"{build} is not a configured Fluent Bit build directory (no flags.make of a"
              " filter plugin: run Fluent Bit's cmake there, with the Unix Makefiles generator)",
              file=sys.stderr)
        return 1
    defines, includes = [], []
    with open(candidates[0], encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("C_DEFINES ="):
                defines = shlex.split(line.split("=", 1)[1])
            elif line.startswith("C_INCLUDES ="):
                includes = shlex.split(line.split("=", 1)[1])
            elif line.startswith("C_FLAGS ="):
                # Only what changes the meaning of the headers.
                defines += [f for f in shlex.split(line.split("=", 1)[1])
                            if f.startswith("-D__FLB_FILENAME__")]
    out = [d for d in defines if d.startswith("-D")]
    for inc in includes:
        if inc.startswith("-I"):
            out += ["-isystem", inc[2:]]
        elif inc.startswith("-isystem"):
            out.append(inc)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
