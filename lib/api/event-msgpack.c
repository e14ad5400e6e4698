/* SPDX-License-Identifier: Apache-2.0 */
/* t1071_event_from_msgpack: a msgpack map to a protobuf Event, exactly as
 * t1071_feed_msgpack() reads it (input/msgpack.h). */
#include <stddef.h>

#include "engine/engine.h"
#include "input/msgpack.h"
#include "input/shapes.h"
#include "util/buffer.h"

T1071_API int
t1071_event_from_msgpack(const void *map, size_t len, uint64_t record_number,
                         const char *source, t1071_buffer **out)
{
    uint8_t *block = NULL;
    size_t n = 0;
    int rc, src = source ? t1071i_source_parse(source) : T1071I_SOURCE_AUTO;

    if (out)
        *out = NULL;
    if (!out || (!map && len) || src < 0)
        return T1071_E_INVALID_ARG;
    if (len > T1071I_JSON_MAX_BYTES)
        return T1071_E_TOO_LARGE;
    rc = t1071i_msgpack_to_packed_as(map, len, src, record_number, T1071_MAX_EVENT_BYTES, &block,
                                     &n, offsetof(struct t1071_buffer, data), NULL, 0);
    if (rc != T1071_OK)
        return rc;
    ((struct t1071_buffer *)(void *)block)->len = n;
    *out = (struct t1071_buffer *)(void *)block;
    return T1071_OK;
}
