/* SPDX-License-Identifier: Apache-2.0 */
/* protobuf-c's pack of t1071.ecs.v1.Event, specialised (ecs-pack.c): what
 * t1071i_ecs_json_to_packed and t1071i_msgpack_with_event size and write
 * with.  Same bytes as t1071__ecs__v1__event__pack. */
#ifndef T1071_ECS_PACK_H
#define T1071_ECS_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/event.h"

/* String lengths t1071i_ecs_pack_size hands to t1071i_ecs_pack_write. */
#define T1071I_PACK_LENS 96

/* Whether the specialised pack matches the Event descriptor (else pack
 * with protobuf-c). */
bool t1071i_ecs_pack_usable(void);

/* The packed size of @p ev; string lengths go to lens[] (*n_lens of them). */
size_t t1071i_ecs_pack_size(const T1071__Ecs__V1__Event *ev, size_t *lens, size_t *n_lens);

/* Write @p ev at @p o (room: t1071i_ecs_pack_size); the length written. */
size_t t1071i_ecs_pack_write(const T1071__Ecs__V1__Event *ev, uint8_t *o, const size_t *lens,
                             size_t n_lens);

/* Write @p ev at @p o in one pass when it fits in @p cap bytes: its length,
 * or SIZE_MAX when it may not fit (then size and write it as above). */
size_t t1071i_ecs_pack_bounded(const T1071__Ecs__V1__Event *ev, uint8_t *o, size_t cap);

#endif
