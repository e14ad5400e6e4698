/* SPDX-License-Identifier: Apache-2.0 */
/* The public t1071_buffer (snapshots, encoded events): lib/util/buffer.c. */
#ifndef T1071_UTIL_BUFFER_H
#define T1071_UTIL_BUFFER_H

#include <stddef.h>
#include <stdint.h>

struct t1071_buffer {
    size_t len;
    uint8_t data[];
};

/* A buffer of @p len bytes (contents undefined), or NULL. */
struct t1071_buffer *t1071i_buffer_new(size_t len);

#endif /* T1071_UTIL_BUFFER_H */
