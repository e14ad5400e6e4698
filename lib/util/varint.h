/* SPDX-License-Identifier: Apache-2.0 */
/* Protobuf base-128 varints: the size and the bytes of one (the alert and
 * event encoders).  Internal; inline, they are on every encoded field. */
#ifndef T1071_UTIL_VARINT_H
#define T1071_UTIL_VARINT_H

#include <stddef.h>
#include <stdint.h>

static inline size_t
t1071i_varint_size(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes t1071i_varint_size(v) bytes at @p w; returns the end. */
static inline uint8_t *
t1071i_varint_put(uint8_t *w, uint64_t v)
{
    while (v >= 0x80) {
        *w++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w++ = (uint8_t)v;
    return w;
}

#endif /* T1071_UTIL_VARINT_H */
