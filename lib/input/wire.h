/* SPDX-License-Identifier: Apache-2.0 */
/* The zero-copy Event reader (lib/wire.c).  Internal, never installed. */
#ifndef T1071_WIRE_H
#define T1071_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/event.h"

struct t1071i_wire;

/* A reader with its own reusable arena.  @p all_fields: materialise every
 * field (the differential tests); otherwise only the fields the engine
 * reads, the rest validated and skipped.  NULL when out of memory or when
 * the schema uses a feature the reader does not implement: then use
 * protobuf-c. */
struct t1071i_wire *t1071i_wire_new(bool all_fields);
void t1071i_wire_free(struct t1071i_wire *w);

/* Decode one Event of @p len bytes into @p ev: exactly what
 * t1071__ecs__v1__event__unpack accepts and yields (for the materialised
 * fields; the others are NULL / 0).  Strings and arrays point into the
 * reader's arena and stay valid until the next decode or free; nothing in
 * @p ev may be freed or replaced.  Returns T1071_OK, T1071_E_DECODE (where
 * unpack returns NULL) or T1071_E_NOMEM (the arena could not grow). */
int t1071i_wire_decode(struct t1071i_wire *w, const uint8_t *buf, size_t len,
                       t1071i_event *ev);

/* Whether the reader materialises field @p index of the Event descriptor. */
bool t1071i_wire_wants(const struct t1071i_wire *w, unsigned index);

/* Bytes the arena holds now (grows to the largest event seen). */
size_t t1071i_wire_arena_bytes(const struct t1071i_wire *w);

#endif /* T1071_WIRE_H */
