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
/* Size and pack in one go, each string measured once, the bytes written
 * @p head bytes into a block of head + *len bytes from @p alloc (the
 * caller's header first; NULL when @p alloc fails); returns the block. */
uint8_t *t1071i_alert_encode_at(const T1071__Ecs__V1__Alert *a, void *(*alloc)(size_t),
                                size_t head, size_t *len);
/* What the caller already knows about an alert, so the encoder need not
 * measure it again.  Lengths are strlen + 1, 0 when unknown (then the
 * encoder measures).  Every entry must describe exactly the string the
 * Alert points at: the bytes are the same as without hints. */
struct t1071i_mlen {
    uint32_t id, ip, domain;    /* a member's event_id, destination_ip, _domain */
};
struct t1071i_alert_hints {
    const struct t1071i_mlen *mem;  /* a->n_members entries, or NULL */
    const struct t1071i_mlen *dst;  /* a->n_destinations entries (ip, domain), or NULL */
    const uint8_t *threat;          /* the packed body of a->threat, or NULL */
    size_t threat_len;
};
uint8_t *t1071i_alert_encode_hinted(const T1071__Ecs__V1__Alert *a,
                                    const struct t1071i_alert_hints *h,
                                    void *(*alloc)(size_t), size_t head, size_t *len);
/* Pack the body of @p t (what field 6 holds) into @p out (@p cap bytes);
 * returns its length, 0 when it does not fit. */
size_t t1071i_alert_threat_pack(const T1071__Ecs__V1__AlertThreat *t, uint8_t *out, size_t cap);

/* snprintf(out, 32, "%" PRId64, v) without printf; returns the length
 * (NUL added). */
size_t t1071i_format_i64(int64_t v, char out[32]);

/* True when the compiled schema is the one the encoder knows. */
bool t1071i_alert_pack_usable(void);

#endif /* T1071_ALERT_PACK_H */
