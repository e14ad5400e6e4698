/* SPDX-License-Identifier: Apache-2.0 */
/* The public t1071_buffer: snapshots and encoded events handed to hosts. */
#include <stdlib.h>

#include "t1071/t1071detect.h"
#include "util/buffer.h"

struct t1071_buffer *
t1071i_buffer_new(size_t len)
{
    struct t1071_buffer *b = malloc(sizeof(*b) + (len ? len : 1));

    if (b)
        b->len = len;
    return b;
}

T1071_API const uint8_t *
t1071_buffer_data(const t1071_buffer *buf)
{
    return buf ? buf->data : NULL;
}

T1071_API size_t
t1071_buffer_size(const t1071_buffer *buf)
{
    return buf ? buf->len : 0;
}

T1071_API void
t1071_buffer_free(t1071_buffer *buf)
{
    free(buf);
}
