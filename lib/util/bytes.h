/* SPDX-License-Identifier: Apache-2.0 */
/* Little-endian integers in byte buffers (snapshot envelopes, prevalence
 * deltas).  Internal; inline. */
#ifndef T1071_UTIL_BYTES_H
#define T1071_UTIL_BYTES_H

#include <stdint.h>

static inline void
t1071i_put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t
t1071i_get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif /* T1071_UTIL_BYTES_H */
