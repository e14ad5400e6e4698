/* SPDX-License-Identifier: Apache-2.0 */
/* Differential target: the zero-copy Event reader (lib/input/wire.c) must accept
 * exactly what protobuf-c's unpack accepts and yield the same values, both
 * materialising every field and with the engine's field set.  Unlike the
 * other targets it reaches internals (t1071i_wire_*), which is its point.
 * Seeds: corpus/wire (well-formed events and the wire edge cases). */
#include "fuzz.h"
#include "wire-diff.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct t1071i_wire *all, *engine;
    const char *why;

    if (!all) {
        all = t1071i_wire_new(true);
        engine = t1071i_wire_new(false);
        FUZZ_CHECK(all && engine);
    }
    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT;
    why = wire_check(all, data, size);
    if (why)
        fprintf(stderr, "wire vs protobuf-c (all fields): %s\n", why);
    FUZZ_CHECK(why == NULL);
    why = wire_check(engine, data, size);
    if (why)
        fprintf(stderr, "wire vs protobuf-c (engine fields): %s\n", why);
    FUZZ_CHECK(why == NULL);
    return 0;
}
