/* SPDX-License-Identifier: Apache-2.0 */
/* ECS JSON -> Event (lib/input/ecs-json.c, over the reader in json.c).
 * Internal, never installed. */
#ifndef T1071_INPUT_ECS_JSON_H
#define T1071_INPUT_ECS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/event.h"
#include "input/json.h"   /* T1071I_JSON_MAX_DEPTH, T1071I_JSON_MAX_BYTES */

/* Parse one ECS JSON event (nested objects as Elastic exports them; dotted
 * keys such as "process.entity_id" at any level are accepted too) into a
 * freshly allocated Event.  Every string and array is malloc'ed, so the
 * result is freed with t1071__ecs__v1__event__free_unpacked(ev, NULL).
 * Returns T1071_OK, T1071_E_JSON (errbuf says what and at which byte),
 * T1071_E_TOO_LARGE, T1071_E_NOMEM.  A missing or unparsable @timestamp is
 * NOT an error here (has_timestamp_ms stays false): the engine decides. */
int t1071i_ecs_json_to_event(const char *json, size_t len, t1071i_event **out,
                             char *errbuf, size_t errlen);
/* The same reading, straight to the packed Event (record_number set when
 * nonzero): *out is malloc'ed, @p headroom bytes then *out_len bytes of
 * protobuf.  Strings live in a scratch arena meanwhile (no malloc per
 * field).  Returns T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE (the text, or
 * the packed event over @p max_bytes), T1071_E_NOMEM. */
int t1071i_ecs_json_to_packed(const char *json, size_t len, uint64_t record_number,
                              size_t max_bytes, uint8_t **out, size_t *out_len,
                              size_t headroom);

#endif /* T1071_INPUT_ECS_JSON_H */
