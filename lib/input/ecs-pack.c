/* SPDX-License-Identifier: Apache-2.0 */
/* The Event's protobuf encoding without protobuf-c (ecs-pack.h). */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "input/ecs-pack.h"
#include "util/varint.h"

typedef T1071__Ecs__V1__Event event_t;

/* ===== Packing =====
 * protobuf-c's pack, specialised: the Event is proto2 with optional and
 * repeated (unpacked) int64 / uint64 / string fields only, so its encoding
 * is fields in tag order, each present value as key + varint or key +
 * length + bytes (strlen, as protobuf-c takes it).  Same bytes as
 * t1071__ecs__v1__event__pack (tests/unit/test-json-diff.c holds it to
 * that); a schema with anything else packs with protobuf-c. */

/* The Event's fields in tag order: kind, tag, value, has_ / n_ offsets.
 * Checked once against protobuf-c's descriptor (t1071i_ecs_pack_usable); a
 * schema that differs packs with protobuf-c. */
enum { PF_INT, PF_STR, PF_INTS, PF_STRS };

struct pfield {
    uint8_t kind;
    uint8_t tag;
    uint16_t off;
    uint16_t qoff;
};

#define PF_STR(n, f) {PF_STR, n, offsetof(event_t, f), 0}
#define PF_STRS(n, f) {PF_STRS, n, offsetof(event_t, f), offsetof(event_t, n_##f)}
#define PF_INTS(n, f) {PF_INTS, n, offsetof(event_t, f), offsetof(event_t, n_##f)}
#define PF_INT(n, f) {PF_INT, n, offsetof(event_t, f), offsetof(event_t, has_##f)}

static const struct pfield pfields[] = {
    PF_INT(1, timestamp_ms),
    PF_STR(2, event_id),
    PF_STR(3, event_kind),
    PF_STRS(4, event_category),
    PF_STRS(5, event_type),
    PF_STR(6, event_action),
    PF_STR(7, event_dataset),
    PF_STR(8, event_module),
    PF_STRS(9, network_direction),
    PF_STR(10, network_transport),
    PF_STR(11, network_protocol),
    PF_STR(12, network_community_id),
    PF_STRS(13, source_ip),
    PF_INT(14, source_port),
    PF_INT(15, source_bytes),
    PF_STRS(16, destination_ip),
    PF_INTS(17, destination_port),
    PF_STR(18, destination_domain),
    PF_INT(19, destination_bytes),
    PF_STRS(20, process_entity_id),
    PF_INT(21, process_pid),
    PF_STRS(22, process_name),
    PF_STR(23, process_executable),
    PF_INT(24, process_start_ms),
    PF_STR(25, host_id),
    PF_STR(26, host_name),
    PF_STR(27, user_name),
    PF_STR(28, url_full),
    PF_STR(29, url_path),
    PF_STR(30, user_agent_original),
    PF_STR(31, tls_client_server_name),
    PF_STR(32, agent_type),
    PF_INT(100, record_number),
    PF_STR(101, input_shape),
    PF_STR(102, passed_over),
};

#define N_PFIELDS (sizeof(pfields) / sizeof(pfields[0]))

/* Whether pfields[] is exactly the Event descriptor's field list. */
bool
t1071i_ecs_pack_usable(void)
{
    /* Every thread computes the same answer: relaxed atomics suffice. */
    static _Atomic int usable = -1;
    const ProtobufCMessageDescriptor *d = &t1071__ecs__v1__event__descriptor;
    int u = atomic_load_explicit(&usable, memory_order_relaxed);

    if (u < 0) {
        int ok = d->n_fields == N_PFIELDS;
        for (unsigned i = 0; i < d->n_fields && ok; i++) {
            const ProtobufCFieldDescriptor *fd = &d->fields[i];
            const struct pfield *pf = &pfields[i];
            bool rep = pf->kind == PF_INTS || pf->kind == PF_STRS;
            bool str = pf->kind == PF_STR || pf->kind == PF_STRS;
            if (fd->label != (rep ? PROTOBUF_C_LABEL_REPEATED : PROTOBUF_C_LABEL_OPTIONAL) ||
                (fd->flags & (PROTOBUF_C_FIELD_FLAG_PACKED | PROTOBUF_C_FIELD_FLAG_ONEOF)) ||
                fd->default_value || fd->id != pf->tag || fd->offset != pf->off ||
                (pf->kind != PF_STR && fd->quantifier_offset != pf->qoff) ||
                (str ? fd->type != PROTOBUF_C_TYPE_STRING
                     : fd->type != PROTOBUF_C_TYPE_INT64 && fd->type != PROTOBUF_C_TYPE_UINT64))
                ok = 0;
        }
        atomic_store_explicit(&usable, ok, memory_order_relaxed);
        u = ok;
    }
    return u == 1;
}

/* A field key: tag and wire type as a varint (tags below 2048: 1 or 2 bytes). */
static inline uint8_t *
put_key(uint8_t *o, unsigned tag, unsigned wt)
{
    unsigned k = tag << 3 | wt;

    if (k < 0x80) {
        *o++ = (uint8_t)k;
    } else {
        *o++ = (uint8_t)(k | 0x80);
        *o++ = (uint8_t)(k >> 7);
    }
    return o;
}

static inline size_t
key_size(unsigned tag)
{
    return tag < 16 ? 1 : 2;
}

/* The packed size; string lengths go to lens[] (as many as fit). */
size_t
t1071i_ecs_pack_size(const event_t *ev, size_t *lens, size_t *n_lens)
{
    const char *base = (const char *)ev;
    size_t total = 0, li = 0;

    for (size_t i = 0; i < N_PFIELDS; i++) {
        const struct pfield *pf = &pfields[i];
        const char *m = base + pf->off;

        switch (pf->kind) {
        case PF_STR: {
            const char *str = *(char *const *)m;
            size_t n;
            if (!str)
                break;
            n = strlen(str);
            if (li < T1071I_PACK_LENS)
                lens[li] = n;
            li++;
            total += key_size(pf->tag) + t1071i_varint_size(n) + n;
            break;
        }
        case PF_INT:
            if (*(const protobuf_c_boolean *)(base + pf->qoff))
                total += key_size(pf->tag) + t1071i_varint_size(*(const uint64_t *)m);
            break;
        case PF_STRS: {
            size_t cnt = *(const size_t *)(base + pf->qoff);
            char *const *arr = *(char *const *const *)m;
            for (size_t k = 0; k < cnt; k++) {
                size_t n = strlen(arr[k]);
                if (li < T1071I_PACK_LENS)
                    lens[li] = n;
                li++;
                total += key_size(pf->tag) + t1071i_varint_size(n) + n;
            }
            break;
        }
        default: {
            size_t cnt = *(const size_t *)(base + pf->qoff);
            const uint64_t *arr = *(const uint64_t *const *)m;
            for (size_t k = 0; k < cnt; k++)
                total += key_size(pf->tag) + t1071i_varint_size(arr[k]);
            break;
        }
        }
    }
    *n_lens = li < T1071I_PACK_LENS ? li : T1071I_PACK_LENS;
    return total;
}

/* Write the packed Event at @p o (sized by fast_pack_size); its length. */
size_t
t1071i_ecs_pack_write(const event_t *ev, uint8_t *o, const size_t *lens, size_t n_lens)
{
    const char *base = (const char *)ev;
    uint8_t *start = o;
    size_t li = 0;

    for (size_t i = 0; i < N_PFIELDS; i++) {
        const struct pfield *pf = &pfields[i];
        const char *m = base + pf->off;

        switch (pf->kind) {
        case PF_STR: {
            const char *str = *(char *const *)m;
            size_t n;
            if (!str)
                break;
            n = li < n_lens ? lens[li] : strlen(str);
            li++;
            o = t1071i_varint_put(put_key(o, pf->tag, 2), n);
            memcpy(o, str, n);
            o += n;
            break;
        }
        case PF_INT:
            if (*(const protobuf_c_boolean *)(base + pf->qoff))
                o = t1071i_varint_put(put_key(o, pf->tag, 0), *(const uint64_t *)m);
            break;
        case PF_STRS: {
            size_t cnt = *(const size_t *)(base + pf->qoff);
            char *const *arr = *(char *const *const *)m;
            for (size_t k = 0; k < cnt; k++) {
                size_t n = li < n_lens ? lens[li] : strlen(arr[k]);
                li++;
                o = t1071i_varint_put(put_key(o, pf->tag, 2), n);
                memcpy(o, arr[k], n);
                o += n;
            }
            break;
        }
        default: {
            size_t cnt = *(const size_t *)(base + pf->qoff);
            const uint64_t *arr = *(const uint64_t *const *)m;
            for (size_t k = 0; k < cnt; k++)
                o = t1071i_varint_put(put_key(o, pf->tag, 0), arr[k]);
            break;
        }
        }
    }
    return (size_t)(o - start);
}

size_t
t1071i_ecs_pack_bounded(const event_t *ev, uint8_t *o, size_t cap)
{
    const char *base = (const char *)ev;
    uint8_t *start = o, *end = o + cap;

    /* Room is checked per value for its worst case: a 2-byte key and a
     * 10-byte varint, plus the bytes of a string. */
    for (size_t i = 0; i < N_PFIELDS; i++) {
        const struct pfield *pf = &pfields[i];
        const char *m = base + pf->off;

        switch (pf->kind) {
        case PF_STR: {
            const char *str = *(char *const *)m;
            size_t n;
            if (!str)
                break;
            n = strlen(str);
            if ((size_t)(end - o) < 12 + n)
                return SIZE_MAX;
            o = t1071i_varint_put(put_key(o, pf->tag, 2), n);
            memcpy(o, str, n);
            o += n;
            break;
        }
        case PF_INT:
            if (*(const protobuf_c_boolean *)(base + pf->qoff)) {
                if (end - o < 12)
                    return SIZE_MAX;
                o = t1071i_varint_put(put_key(o, pf->tag, 0), *(const uint64_t *)m);
            }
            break;
        case PF_STRS: {
            size_t cnt = *(const size_t *)(base + pf->qoff);
            char *const *arr = *(char *const *const *)m;
            for (size_t k = 0; k < cnt; k++) {
                size_t n = strlen(arr[k]);
                if ((size_t)(end - o) < 12 + n)
                    return SIZE_MAX;
                o = t1071i_varint_put(put_key(o, pf->tag, 2), n);
                memcpy(o, arr[k], n);
                o += n;
            }
            break;
        }
        default: {
            size_t cnt = *(const size_t *)(base + pf->qoff);
            const uint64_t *arr = *(const uint64_t *const *)m;
            for (size_t k = 0; k < cnt; k++) {
                if (end - o < 12)
                    return SIZE_MAX;
                o = t1071i_varint_put(put_key(o, pf->tag, 0), arr[k]);
            }
            break;
        }
        }
    }
    return (size_t)(o - start);
}
