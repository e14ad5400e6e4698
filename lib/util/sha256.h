/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 (lib/util/sha256.c): incremental; the digest in bytes or
 * as lowercase hex (as GChecksum gives it).
 * Internal, never installed. */
#ifndef T1071_SHA256_H
#define T1071_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum t1071i_sha256_impl {
    T1071I_SHA256_AUTO = 0, /* the SHA extensions when the CPU has them */
    T1071I_SHA256_C,        /* portable C */
    T1071I_SHA256_NI,       /* x86 SHA extensions (falls back to C without) */
};

struct t1071i_sha256 {
    uint32_t h[8];
    uint64_t len;
    size_t used;
    uint8_t buf[64];
    enum t1071i_sha256_impl impl;
};

void t1071i_sha256_init(struct t1071i_sha256 *s, enum t1071i_sha256_impl impl);
void t1071i_sha256_update(struct t1071i_sha256 *s, const void *data, size_t n);
/* Finish: the 32-byte digest. */
void t1071i_sha256_digest(struct t1071i_sha256 *s, uint8_t out[32]);
/* Finish: 64 lowercase hex digits and a NUL. */
void t1071i_sha256_hex(struct t1071i_sha256 *s, char out[65]);
bool t1071i_sha256_have_ni(void);

#endif /* T1071_SHA256_H */
