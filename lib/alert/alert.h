/* SPDX-License-Identifier: Apache-2.0 */
/* Alert building and rendering (lib/alert/alert.c; the protobuf encoder is
 * lib/alert/alert-pack.c).  Internal, never installed. */
#ifndef T1071_ALERT_ALERT_H
#define T1071_ALERT_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "input/event.h"
#include "alert/alert-pack.h"
#include "score/tracker.h"

/* Build and pack one alert for a completed sequence of @p n members (in
 * sequence order) under key value @p key, with the beacon and tuning
 * verdict @p j (lib/score/tracker.h; NULL when beacon.enabled is false),
 * into a block from @p alloc of @p head + *out_len bytes, the alert @p head
 * bytes in: the engine builds straight into its queue entry.  *out is
 * the block; T1071_E_NOMEM when @p alloc returns NULL.  @p lens: n
 * entries (lengths of each member's id, ip and domain, see struct
 * t1071i_mlen), or NULL. */
int t1071i_alert_build_at(const struct t1071_config *cfg, const char *key,
                          struct t1071i_pev *const *members, size_t n, uint64_t seqno,
                          const struct t1071i_judgement *j, const struct t1071i_mlen *lens,
                          void *(*alloc)(size_t), size_t head, uint8_t **out, size_t *out_len);

/* Render a packed Alert as one line of ECS JSON (g_malloc'ed, NUL-terminated). */
int t1071i_alert_render_json(const uint8_t *pb, size_t len, char **json, size_t *json_len);

/* Append @p s (length @p n) to @p out as a JSON string literal, quotes
 * included; control characters and non-ASCII escaped as \uXXXX when
 * @p ascii, else control characters only.  Invalid UTF-8 becomes U+FFFD. */
struct _GString;
void t1071i_json_append_string(struct _GString *out, const char *s, size_t n, bool ascii);

#endif /* T1071_ALERT_ALERT_H */
