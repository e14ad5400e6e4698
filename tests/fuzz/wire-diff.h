/* SPDX-License-Identifier: Apache-2.0 */
/* The zero-copy reader (lib/input/wire.c) against protobuf-c, field by field:
 * shared by tests/unit/test-wire.c and tests/fuzz/fuzz_wire.c. */
#ifndef T1071_WIRE_DIFF_H
#define T1071_WIRE_DIFF_H

#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"
#include "input/wire.h"

static inline bool
wire_str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* NULL when @p got (from @p w) holds what @p ref (protobuf-c) holds in
 * every field @p w materialises, and nothing in the others; else the name
 * of the first field that differs. */
static inline const char *
wire_diff(const struct t1071i_wire *w, const t1071i_event *got, const t1071i_event *ref)
{
    const ProtobufCMessageDescriptor *d = &t1071__ecs__v1__event__descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        const char *g = (const char *)got, *r = (const char *)ref;
        bool want = t1071i_wire_wants(w, i);

        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t gn = *(const size_t *)(g + fd->quantifier_offset);
            size_t rn = want ? *(const size_t *)(r + fd->quantifier_offset) : 0;
            if (gn != rn)
                return fd->name;
            for (size_t j = 0; j < gn; j++) {
                if (fd->type == PROTOBUF_C_TYPE_STRING) {
                    if (!wire_str_eq((*(char *const *const *)(g + fd->offset))[j],
                                     (*(char *const *const *)(r + fd->offset))[j]))
                        return fd->name;
                } else if ((*(int64_t *const *)(g + fd->offset))[j] !=
                           (*(int64_t *const *)(r + fd->offset))[j]) {
                    return fd->name;
                }
            }
        } else if (fd->type == PROTOBUF_C_TYPE_STRING) {
            if (!wire_str_eq(*(char *const *)(g + fd->offset),
                             want ? *(char *const *)(r + fd->offset) : NULL))
                return fd->name;
        } else {
            protobuf_c_boolean gh = *(const protobuf_c_boolean *)(g + fd->quantifier_offset);
            protobuf_c_boolean rh =
                want && *(const protobuf_c_boolean *)(r + fd->quantifier_offset);
            if (gh != rh)
                return fd->name;
            if (gh && *(const uint64_t *)(g + fd->offset) != *(const uint64_t *)(r + fd->offset))
                return fd->name;
        }
    }
    return NULL;
}

/* Decode @p buf both ways; NULL when they agree (acceptance and values),
 * else what differs. */
static inline const char *
wire_check(struct t1071i_wire *w, const uint8_t *buf, size_t len)
{
    t1071i_event got;
    t1071i_event *ref = t1071__ecs__v1__event__unpack(NULL, len, buf);
    int rc = t1071i_wire_decode(w, buf, len, &got);
    const char *why = NULL;

    if (rc == T1071_E_NOMEM)
        why = NULL; /* nothing to compare */
    else if ((rc == T1071_OK) != (ref != NULL))
        why = ref ? "wire rejects what protobuf-c accepts" : "wire accepts what protobuf-c rejects";
    else if (ref)
        why = wire_diff(w, &got, ref);
    t1071__ecs__v1__event__free_unpacked(ref, NULL);
    return why;
}

#endif /* T1071_WIRE_DIFF_H */
