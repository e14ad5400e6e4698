/* SPDX-License-Identifier: Apache-2.0 */
/* Specialised Alert encoder (lib/alert-pack.c).  Internal, never installed. */
#ifndef T1071_ALERT_PACK_H
#define T1071_ALERT_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecs.pb-c.h"

/* Same result as t1071__ecs__v1__alert__get_packed_size / __pack (no
 * unknown fields). */
size_t t1071i_alert_packed_size(const T1071__Ecs__V1__Alert *a);
size_t t1071i_alert_pack(const T1071__Ecs__V1__Alert *a, uint8_t *out);
/* Size and pack in one go, each string measured once: a block from
 * @p alloc (NULL when it fails) holding *len bytes. */
uint8_t *t1071i_alert_encode(const T1071__Ecs__V1__Alert *a, void *(*alloc)(size_t),
                             size_t *len);
/* The same, the bytes written @p head bytes into a block of head + *len
 * bytes (the caller's header first); returns the block. */
uint8_t *t1071i_alert_encode_at(const T1071__Ecs__V1__Alert *a, void *(*alloc)(size_t),
                                size_t head, size_t *len);
/* t1071i_alert_build (lib/t1071-private.h) into a block from @p alloc of
 * @p head + *out_len bytes, the alert @p head bytes in: the engine builds
 * straight into its queue entry.  *out is the block; T1071_E_NOMEM when
 * @p alloc returns NULL. */
struct t1071_config;
struct t1071i_pev;
struct t1071i_judgement;
int t1071i_alert_build_at(const struct t1071_config *cfg, const char *key,
                          struct t1071i_pev *const *members, size_t n, uint64_t seqno,
                          const struct t1071i_judgement *j, void *(*alloc)(size_t), size_t head,
                          uint8_t **out, size_t *out_len);
/* True when the compiled schema is the one the encoder knows. */
bool t1071i_alert_pack_usable(void);

#endif /* T1071_ALERT_PACK_H */
