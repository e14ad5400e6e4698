/* SPDX-License-Identifier: Apache-2.0 */
/* Zero-copy protobuf reader for t1071.ecs.v1.Event: the feed path's
 * decoder.  It reads straight from the wire into a t1071i_event (the
 * protobuf-c struct, so everything downstream is unchanged), with arrays
 * and NUL-terminated string copies in one per-context arena that is reused
 * for every event: no allocation per event once the arena has grown to the
 * largest event seen (bounded by engine.max_event_bytes).  Fields nobody
 * reads are validated and skipped, never copied.
 *
 * It accepts exactly the inputs protobuf-c 1.4.1's unpack accepts and gives
 * the same values (tests/unit/test-wire.c and the differential fuzz target
 * tests/fuzz/fuzz_wire.c hold it to that; protobuf-c stays the schema, the
 * encoder and the reference):
 *   - a field key is a varint of at most 5 bytes; field number = key >> 3
 *     (numbers the schema lacks are unknown fields, skipped); a key whose
 *     first byte has no field number bits (0x00..0x07) is an error, a
 *     longer encoding of field 0 is an unknown field;
 *   - wire types 0 (varint, at most 10 bytes), 1 (8 bytes), 2 (length
 *     prefix of at most 5 bytes, then that many bytes) and 5 (4 bytes);
 *     3, 4 (groups), 6 and 7 are errors;
 *   - a varint's value is the low 64 bits of its 7-bit groups;
 *   - a known field with the wrong wire type is an error; a repeated
 *     integer field also takes the packed form (wire type 2 holding
 *     varints, each complete and at most 10 bytes);
 *   - a singular field given twice: the last one wins; repeated fields
 *     concatenate in wire order.
 * Field layout comes from protobuf-c's generated descriptor, so fields
 * appended to the schema are known here without a change; a schema feature
 * this reader does not implement (another scalar type, a required field, a
 * oneof, a default value) makes t1071i_wire_new() return NULL and the
 * engine keeps using protobuf-c. */
#include <stdlib.h>
#include <string.h>

#include "input/wire.h"
#include "util/timefmt.h"

#define TAG_TABLE 128            /* field numbers below this: direct lookup */
#define MAX_FIELDS 64

/* Every field the engine reads from a decoded event (lib/engine.c,
 * lib/filter.c, alert members): the others are validated and skipped.
 * A module that starts reading another field adds it here. */
static const char *const engine_fields[] = {
    "timestamp_ms", "event_id", "event_category", "event_type", "network_direction",
    "source_ip", "destination_ip", "destination_port", "destination_domain",
    "process_entity_id", "process_name", "process_executable", "host_id", "host_name",
    "user_name", "tls_client_server_name", "record_number",
    /* beacon tracker (sizes) and rule.derive (entity id from pid + start) */
    "source_bytes", "destination_bytes", "process_pid", "process_start_ms",
    /* the tracker's flow identity (engine/record.c: a flow reported again counts once) */
    "network_community_id",
    /* input shape accounting (lib/shapes.c) */
    "input_shape", "passed_over", "event_module", "event_dataset",
};

enum kind { K_INT, K_STR, K_RINT, K_RSTR };

struct wfield {
    uint8_t kind;
    bool want;
    uint32_t offset;       /* value, pointer or array */
    uint32_t qoffset;      /* has_ flag (protobuf_c_boolean) or n_ count (size_t) */
};

/* Where the scan found a wanted field: filled from here without parsing
 * the event twice. */
#define SEEN_MAX 64

struct seen {
    uint32_t off;          /* of the field's data (after its key), from the start */
    uint32_t flen;         /* data length, length prefix included */
    uint8_t hdr;           /* length prefix bytes */
    uint8_t wt;
    int16_t fi;
    uint64_t v;            /* varint value (or the length) */
};

struct t1071i_wire {
    const ProtobufCMessageDescriptor *desc;
    int8_t by_tag[TAG_TABLE];   /* field index, or -1 */
    struct wfield f[MAX_FIELDS];
    size_t counts[MAX_FIELDS];  /* scratch: elements per repeated field */
    uint8_t counted[MAX_FIELDS]; /* the fields whose count is not 0, in the
                                    order first seen (resets and arrays
                                    touch only these) */
    size_t n_counted;
    uint8_t *arena;
    size_t arena_cap;
    size_t n_seen;
    struct seen seen[SEEN_MAX];
};

static int
field_index(const struct t1071i_wire *w, uint32_t tag)
{
    const ProtobufCFieldDescriptor *fd;

    if (tag < TAG_TABLE)
        return w->by_tag[tag];
    fd = protobuf_c_message_descriptor_get_field(w->desc, tag);
    return fd ? (int)(fd - w->desc->fields) : -1;
}

struct t1071i_wire *
t1071i_wire_new(bool all_fields)
{
    const ProtobufCMessageDescriptor *d = &t1071__ecs__v1__event__descriptor;
    struct t1071i_wire *w;

    if (d->n_fields > MAX_FIELDS)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->desc = d;
    memset(w->by_tag, -1, sizeof(w->by_tag));
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        bool repeated = fd->label == PROTOBUF_C_LABEL_REPEATED;

        if ((fd->label != PROTOBUF_C_LABEL_OPTIONAL && !repeated) ||
            (fd->flags & (PROTOBUF_C_FIELD_FLAG_ONEOF)) || fd->default_value)
            goto unsupported;
        switch (fd->type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_UINT64:
            w->f[i].kind = repeated ? K_RINT : K_INT;
            break;
        case PROTOBUF_C_TYPE_STRING:
            w->f[i].kind = repeated ? K_RSTR : K_STR;
            break;
        default:
            goto unsupported;
        }
        w->f[i].offset = fd->offset;
        w->f[i].qoffset = fd->quantifier_offset;
        w->f[i].want = all_fields;
        if (fd->id < TAG_TABLE)
            w->by_tag[fd->id] = (int8_t)i;
    }
    if (!all_fields) {
        for (size_t i = 0; i < sizeof(engine_fields) / sizeof(engine_fields[0]); i++) {
            const ProtobufCFieldDescriptor *fd =
                protobuf_c_message_descriptor_get_field_by_name(d, engine_fields[i]);
            if (fd)
                w->f[fd - d->fields].want = true;
        }
    }
    return w;

unsupported:
    free(w);
    return NULL;
}

void
t1071i_wire_free(struct t1071i_wire *w)
{
    if (w) {
        free(w->arena);
        free(w);
    }
}

bool
t1071i_wire_wants(const struct t1071i_wire *w, unsigned index)
{
    return w && index < w->desc->n_fields && w->f[index].want;
}

size_t
t1071i_wire_arena_bytes(const struct t1071i_wire *w)
{
    return w ? w->arena_cap : 0;
}

/* A varint of at most @p max bytes within @p rem: its length, 0 if it is
 * unterminated.  protobuf-c's value: the low 64 bits of the groups. */
static inline unsigned
varint(const uint8_t *p, size_t rem, unsigned max, uint64_t *out)
{
    uint64_t v = 0;
    unsigned n = rem < max ? (unsigned)rem : max;

    if (rem && p[0] < 0x80) { /* keys, lengths, small values: one byte */
        *out = p[0];
        return 1;
    }
    if (n >= 2 && p[1] < 0x80) { /* keys of fields 16-2047, lengths < 16 KiB */
        *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        return 2;
    }
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

/* Pass 1: check the whole message as protobuf-c does, count the elements
 * of wanted repeated fields and the arena bytes.  Returns false when
 * protobuf-c would reject it. */
static bool
scan(struct t1071i_wire *w, const uint8_t *p, size_t len, size_t *arena_need)
{
    const uint8_t *start = p;
    size_t rem = len, need = 0;
    /* Kept in registers (w's arrays would alias them): written back at
     * the end.  A record too long for the notes' offsets is parsed twice. */
    size_t n_seen = len > UINT32_MAX ? SEEN_MAX + 1 : 0;

    while (rem > 0) {
        uint64_t key = 0, v = 0;
        unsigned used = varint(p, rem, 5, &key), wt;
        size_t flen, hdr = 0;
        int fi;

        /* protobuf-c rejects a key whose first byte holds field number
         * bits 0 (a one-byte key for field 0), not longer encodings. */
        if (!used || (p[0] & 0xf8) == 0)
            return false;
        wt = (unsigned)(key & 7);
        fi = field_index(w, (uint32_t)(key >> 3));
        p += used;
        rem -= used;
        switch (wt) {
        case 0:
            flen = varint(p, rem, 10, &v);
            if (!flen)
                return false;
            break;
        case 1:
            if (rem < 8)
                return false;
            flen = 8;
            break;
        case 2:
            hdr = varint(p, rem, 5, &v);
            if (!hdr || v > rem - hdr)
                return false;
            flen = hdr + (size_t)v;
            break;
        case 5:
            if (rem < 4)
                return false;
            flen = 4;
            break;
        default:
            return false;
        }
        if (fi >= 0) {
            const struct wfield *f = &w->f[fi];
            if (f->want) {
                if (n_seen >= SEEN_MAX) {
                    n_seen = SEEN_MAX + 1; /* too many: parse twice */
                } else {
                    struct seen *m = &w->seen[n_seen++];
                    m->off = (uint32_t)(p - start);
                    m->flen = (uint32_t)flen;
                    m->hdr = (uint8_t)hdr;
                    m->wt = (uint8_t)wt;
                    m->fi = (int16_t)fi;
                    m->v = v;
                }
            }
            switch (f->kind) {
            case K_INT:
                if (wt != 0)
                    return false;
                break;
            case K_STR:
                if (wt != 2)
                    return false;
                if (f->want)
                    need += flen - hdr + 1;
                break;
            case K_RSTR:
                if (wt != 2)
                    return false;
                if (f->want) {
                    need += flen - hdr + 1;
                    if (w->counts[fi]++ == 0)
                        w->counted[w->n_counted++] = (uint8_t)fi;
                }
                break;
            case K_RINT:
                if (wt == 2) {
                    const uint8_t *q = p + hdr;
                    size_t r = flen - hdr, n = 0;
                    while (r > 0) {
                        unsigned s = varint(q, r, 10, &v);
                        if (!s)
                            return false;
                        q += s;
                        r -= s;
                        n++;
                    }
                    if (f->want && n) {
                        if (w->counts[fi] == 0)
                            w->counted[w->n_counted++] = (uint8_t)fi;
                        w->counts[fi] += n;
                    }
                } else if (wt == 0) {
                    if (f->want && w->counts[fi]++ == 0)
                        w->counted[w->n_counted++] = (uint8_t)fi;
                } else {
                    return false;
                }
                break;
            default:
                break;
            }
        }
        p += flen;
        rem -= flen;
    }
    w->n_seen = n_seen;
    /* Arrays first (8-byte elements, aligned), then the strings. */
    for (size_t i = 0; i < w->n_counted; i++)
        need += w->counts[w->counted[i]] * 8;
    *arena_need = need;
    return true;
}

#define COPY_SLACK 32

/* Store one wanted field's value: @p p is its data (after the key),
 * @p flen its length with the length prefix of @p hdr bytes, @p v its
 * varint value, @p end the end of the record.  Strings go to the arena at
 * *s. */
static inline void
fill(const struct t1071i_wire *w, t1071i_event *ev, int fi, unsigned wt, const uint8_t *p,
     size_t flen, size_t hdr, uint64_t v, uint8_t **s, const uint8_t *end)
{
    const struct wfield *f = &w->f[fi];
    char *base = (char *)ev;

    switch (f->kind) {
    case K_INT:
        *(uint64_t *)(base + f->offset) = v;
        *(protobuf_c_boolean *)(base + f->qoffset) = 1;
        break;
    case K_STR:
    case K_RSTR: {
        size_t n = flen - hdr;
        /* Short strings (most of an event's) in one or two fixed-size
         * moves instead of a memcpy call: the bytes past the string are
         * still the record's (@p end), and the arena has COPY_SLACK
         * bytes past what the event needs. */
        if (n <= 16 && p + hdr + 16 <= end)
            memcpy(*s, p + hdr, 16);
        else if (n <= COPY_SLACK && p + hdr + COPY_SLACK <= end)
            memcpy(*s, p + hdr, COPY_SLACK);
        else
            memcpy(*s, p + hdr, n);
        (*s)[n] = '\0';
        if (f->kind == K_STR) {
            *(char **)(base + f->offset) = (char *)*s;
        } else {
            size_t *cnt = (size_t *)(base + f->qoffset);
            (*(char ***)(base + f->offset))[(*cnt)++] = (char *)*s;
        }
        *s += n + 1;
        break;
    }
    case K_RINT: {
        size_t *cnt = (size_t *)(base + f->qoffset);
        int64_t *arr = *(int64_t **)(base + f->offset);
        if (wt == 0) {
            arr[(*cnt)++] = (int64_t)v;
        } else {
            const uint8_t *q = p + hdr;
            size_t r = flen - hdr;
            while (r > 0) {
                unsigned sl = varint(q, r, 10, &v);
                arr[(*cnt)++] = (int64_t)v;
                q += sl;
                r -= sl;
            }
        }
        break;
    }
    default:
        break;
    }
}

int
t1071i_wire_decode(struct t1071i_wire *w, const uint8_t *buf, size_t len, t1071i_event *ev)
{
    size_t need = 0, rem = len;
    const uint8_t *p = buf;
    uint8_t *a, *s;

    for (size_t i = 0; i < w->n_counted; i++)
        w->counts[w->counted[i]] = 0;
    w->n_counted = 0;
    w->n_seen = 0;
    if (!scan(w, buf, len, &need))
        return T1071_E_DECODE;
    need += COPY_SLACK; /* fill's short copies may write this far past */
    if (need > w->arena_cap) {
        size_t cap = w->arena_cap ? w->arena_cap : 1024;
        uint8_t *na;
        while (cap < need)
            cap *= 2;
        na = realloc(w->arena, cap);
        if (!na)
            return T1071_E_NOMEM;
        w->arena = na;
        w->arena_cap = cap;
    }
    t1071__ecs__v1__event__init(ev);
    a = w->arena;
    for (size_t i = 0; i < w->n_counted; i++) {
        unsigned fi = w->counted[i];
        *(void **)((char *)ev + w->f[fi].offset) = a;
        a += w->counts[fi] * 8;
    }
    s = a;

    /* The scan noted where each wanted field is (the usual event has a
     * dozen): fill from those notes. */
    if (w->n_seen <= SEEN_MAX) {
        for (size_t i = 0; i < w->n_seen; i++) {
            const struct seen *m = &w->seen[i];
            fill(w, ev, m->fi, m->wt, buf + m->off, m->flen, m->hdr, m->v, &s, buf + len);
        }
        return T1071_OK;
    }

    /* More wanted fields than notes: parse again (the input is valid). */
    while (rem > 0) {
        uint64_t key = 0, v = 0;
        unsigned used = varint(p, rem, 5, &key), wt = (unsigned)(key & 7);
        size_t flen, hdr = 0;
        int fi = field_index(w, (uint32_t)(key >> 3));

        p += used;
        rem -= used;
        switch (wt) {
        case 0:
            flen = varint(p, rem, 10, &v);
            break;
        case 1:
            flen = 8;
            break;
        case 2:
            hdr = varint(p, rem, 5, &v);
            flen = hdr + (size_t)v;
            break;
        default:
            flen = 4;
            break;
        }
        if (fi >= 0 && w->f[fi].want)
            fill(w, ev, fi, wt, p, flen, hdr, v, &s, buf + len);
        p += flen;
        rem -= flen;
    }
    return T1071_OK;
}
