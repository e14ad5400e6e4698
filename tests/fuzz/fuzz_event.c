/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: t1071_feed_event() (protobuf Event decoding and the
 * whole engine behind it) and t1071_event_shard().
 *
 * Input: byte 0 picks a configuration (fuzz.h); the rest is a series of
 * records, each a 2-byte little-endian length and that many bytes (cut at
 * the end of the input), fed in order into one context, so records
 * interact through the engine's state. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    t1071_ctx *ctx;
    size_t off = 1;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    ctx = fuzz_ctx_new(data[0]);
    while (off < size) {
        size_t len = 0;
        if (size - off >= 2) {
            len = (size_t)data[off] | (size_t)data[off + 1] << 8;
            off += 2;
        } else {
            off = size; /* one stray byte: an empty record */
        }
        if (len > size - off)
            len = size - off;
        fuzz_shard(data + off, len);
        fuzz_feed_event(ctx, data + off, len);
        off += len;
    }
    fuzz_finish(ctx);
    t1071_free(ctx);
    return 0;
}
