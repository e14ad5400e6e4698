/* SPDX-License-Identifier: Apache-2.0 */
/* A specialised encoder for t1071.ecs.v1.Alert: the same bytes as
 * protobuf-c's generic get_packed_size + pack (fields in number order,
 * optional strings and messages when non-NULL, scalars when has_*,
 * negative int32 sign-extended to ten bytes), without walking descriptors
 * twice per alert, which cost about a third of a faithful feed.
 * tests/unit/test-alert-pack.c holds it to protobuf-c on random alerts. */
#include <string.h>

#include "alert/alert-pack.h"
#include "util/timefmt.h"
#include "util/varint.h"

/* key = field number << 3 | wire type */
#define KEY(num, wt) (((uint64_t)(num) << 3) | (wt))

static size_t
str_size(unsigned num, const char *s)
{
    size_t l;

    if (!s)
        return 0;
    l = strlen(s);
    return t1071i_varint_size(KEY(num, 2)) + t1071i_varint_size(l) + l;
}

static uint8_t *
str_put(uint8_t *w, unsigned num, const char *s)
{
    size_t l;

    if (!s)
        return w;
    l = strlen(s);
    w = t1071i_varint_put(w, KEY(num, 2));
    w = t1071i_varint_put(w, l);
    memcpy(w, s, l);
    return w + l;
}

static size_t
u64_size(unsigned num, protobuf_c_boolean has, uint64_t v)
{
    return has ? t1071i_varint_size(KEY(num, 0)) + t1071i_varint_size(v) : 0;
}

static uint8_t *
u64_put(uint8_t *w, unsigned num, protobuf_c_boolean has, uint64_t v)
{
    if (!has)
        return w;
    w = t1071i_varint_put(w, KEY(num, 0));
    return t1071i_varint_put(w, v);
}

/* A sub-message field of body size @p n. */
static size_t
msg_size(unsigned num, size_t n)
{
    return t1071i_varint_size(KEY(num, 2)) + t1071i_varint_size(n) + n;
}

static uint8_t *
msg_head(uint8_t *w, unsigned num, size_t n)
{
    w = t1071i_varint_put(w, KEY(num, 2));
    return t1071i_varint_put(w, n);
}

static size_t
member_body(const T1071__Ecs__V1__AlertMember *m)
{
    return str_size(1, m->event_id) + u64_size(2, m->has_timestamp_ms, (uint64_t)m->timestamp_ms) +
           str_size(3, m->destination_ip) +
           u64_size(4, m->has_destination_port, (uint64_t)m->destination_port) +
           str_size(5, m->destination_domain);
}

static uint8_t *
member_put(uint8_t *w, const T1071__Ecs__V1__AlertMember *m)
{
    w = str_put(w, 1, m->event_id);
    w = u64_put(w, 2, m->has_timestamp_ms, (uint64_t)m->timestamp_ms);
    w = str_put(w, 3, m->destination_ip);
    w = u64_put(w, 4, m->has_destination_port, (uint64_t)m->destination_port);
    return str_put(w, 5, m->destination_domain);
}

static size_t
dest_body(const T1071__Ecs__V1__AlertDestination *d)
{
    return str_size(1, d->ip) + u64_size(2, d->has_port, (uint64_t)d->port) +
           u64_size(3, d->has_count, d->count) + str_size(4, d->domain);
}

static uint8_t *
dest_put(uint8_t *w, const T1071__Ecs__V1__AlertDestination *d)
{
    w = str_put(w, 1, d->ip);
    w = u64_put(w, 2, d->has_port, (uint64_t)d->port);
    w = u64_put(w, 3, d->has_count, d->count);
    return str_put(w, 4, d->domain);
}

static size_t
sub_body(const T1071__Ecs__V1__AlertSubtechnique *s)
{
    return str_size(1, s->id) + str_size(2, s->name) + str_size(3, s->reference);
}

static uint8_t *
sub_put(uint8_t *w, const T1071__Ecs__V1__AlertSubtechnique *s)
{
    w = str_put(w, 1, s->id);
    w = str_put(w, 2, s->name);
    return str_put(w, 3, s->reference);
}

static size_t
threat_body(const T1071__Ecs__V1__AlertThreat *t)
{
    size_t n = str_size(1, t->framework) + str_size(2, t->tactic_id) +
               str_size(3, t->tactic_name) + str_size(4, t->tactic_reference) +
               str_size(5, t->technique_id) + str_size(6, t->technique_name) +
               str_size(7, t->technique_reference);
    for (size_t i = 0; i < t->n_subtechnique; i++)
        n += msg_size(8, sub_body(t->subtechnique[i]));
    return n;
}

static uint8_t *
threat_put(uint8_t *w, const T1071__Ecs__V1__AlertThreat *t)
{
    w = str_put(w, 1, t->framework);
    w = str_put(w, 2, t->tactic_id);
    w = str_put(w, 3, t->tactic_name);
    w = str_put(w, 4, t->tactic_reference);
    w = str_put(w, 5, t->technique_id);
    w = str_put(w, 6, t->technique_name);
    w = str_put(w, 7, t->technique_reference);
    for (size_t i = 0; i < t->n_subtechnique; i++) {
        w = msg_head(w, 8, sub_body(t->subtechnique[i]));
        w = sub_put(w, t->subtechnique[i]);
    }
    return w;
}

/* The beacon (22) and tuning (23) verdicts: a handful of scalars, packed
 * by protobuf-c itself (the same bytes it writes for them nested).  Their
 * body sizes are measured once per alert and handed to the writer. */
struct verdicts {
    size_t beacon, tuning;  /* body sizes, when present */
};

static size_t
verdicts_measure(const T1071__Ecs__V1__Alert *a, struct verdicts *v)
{
    size_t n = 0;
    if (a->beacon) {
        v->beacon = protobuf_c_message_get_packed_size(&a->beacon->base);
        n += msg_size(22, v->beacon);
    }
    if (a->tuning) {
        v->tuning = protobuf_c_message_get_packed_size(&a->tuning->base);
        n += msg_size(23, v->tuning);
    }
    return n;
}

static uint8_t *
verdicts_put(uint8_t *w, const T1071__Ecs__V1__Alert *a, const struct verdicts *v)
{
    if (a->beacon) {
        w = msg_head(w, 22, v->beacon);
        w += protobuf_c_message_pack(&a->beacon->base, w);
    }
    if (a->tuning) {
        w = msg_head(w, 23, v->tuning);
        w += protobuf_c_message_pack(&a->tuning->base, w);
    }
    return w;
}

size_t
t1071i_alert_packed_size(const T1071__Ecs__V1__Alert *a)
{
    struct verdicts v = {0, 0};
    size_t n = str_size(1, a->rule_id) + str_size(2, a->rule_name) + str_size(3, a->rule_type) +
               str_size(4, a->severity) +
               /* int32: a negative value is sign-extended to 64 bits */
               u64_size(5, a->has_risk_score, (uint64_t)(int64_t)a->risk_score);
    if (a->threat)
        n += msg_size(6, threat_body(a->threat));
    n += str_size(7, a->group_id) + str_size(8, a->key) + str_size(9, a->key_field) +
         str_size(10, a->host_name) + str_size(11, a->host_id) +
         str_size(12, a->process_entity_id) + str_size(13, a->process_name) +
         str_size(14, a->process_executable) +
         u64_size(15, a->has_first_ms, (uint64_t)a->first_ms) +
         u64_size(16, a->has_last_ms, (uint64_t)a->last_ms);
    for (size_t i = 0; i < a->n_members; i++)
        n += msg_size(17, member_body(a->members[i]));
    for (size_t i = 0; i < a->n_destinations; i++)
        n += msg_size(18, dest_body(a->destinations[i]));
    n += str_size(19, a->reason) + str_size(20, a->profile) +
         u64_size(21, a->has_sequence_number, a->sequence_number) + verdicts_measure(a, &v);
    return n;
}

size_t
t1071i_alert_pack(const T1071__Ecs__V1__Alert *a, uint8_t *out)
{
    uint8_t *w = out;
    struct verdicts v = {0, 0};

    w = str_put(w, 1, a->rule_id);
    w = str_put(w, 2, a->rule_name);
    w = str_put(w, 3, a->rule_type);
    w = str_put(w, 4, a->severity);
    w = u64_put(w, 5, a->has_risk_score, (uint64_t)(int64_t)a->risk_score);
    if (a->threat) {
        w = msg_head(w, 6, threat_body(a->threat));
        w = threat_put(w, a->threat);
    }
    w = str_put(w, 7, a->group_id);
    w = str_put(w, 8, a->key);
    w = str_put(w, 9, a->key_field);
    w = str_put(w, 10, a->host_name);
    w = str_put(w, 11, a->host_id);
    w = str_put(w, 12, a->process_entity_id);
    w = str_put(w, 13, a->process_name);
    w = str_put(w, 14, a->process_executable);
    w = u64_put(w, 15, a->has_first_ms, (uint64_t)a->first_ms);
    w = u64_put(w, 16, a->has_last_ms, (uint64_t)a->last_ms);
    for (size_t i = 0; i < a->n_members; i++) {
        w = msg_head(w, 17, member_body(a->members[i]));
        w = member_put(w, a->members[i]);
    }
    for (size_t i = 0; i < a->n_destinations; i++) {
        w = msg_head(w, 18, dest_body(a->destinations[i]));
        w = dest_put(w, a->destinations[i]);
    }
    w = str_put(w, 19, a->reason);
    w = str_put(w, 20, a->profile);
    w = u64_put(w, 21, a->has_sequence_number, a->sequence_number);
    (void)verdicts_measure(a, &v);
    w = verdicts_put(w, a, &v);
    return (size_t)(w - out);
}

/* ===== One pass over the strings =====
 * The functions above measure each string once for the size and again for
 * every enclosing length prefix: three strlen per string.  The encoder
 * below measures each once, keeps the lengths, and writes.  Sequences
 * longer than MAX_CACHED members or destinations use the functions above. */

#define MAX_CACHED 64

struct slen {
    const char *s;
    size_t n;       /* strlen, when s */
};

static size_t
sl_size(unsigned num, const struct slen *l)
{
    return l->s ? t1071i_varint_size(KEY(num, 2)) + t1071i_varint_size(l->n) + l->n : 0;
}

static uint8_t *
sl_put(uint8_t *w, unsigned num, const struct slen *l)
{
    if (!l->s)
        return w;
    w = t1071i_varint_put(w, KEY(num, 2));
    w = t1071i_varint_put(w, l->n);
    memcpy(w, l->s, l->n);
    return w + l->n;
}

static void
sl_set(struct slen *l, const char *s)
{
    l->s = s;
    l->n = s ? strlen(s) : 0;
}

/* @p len1: strlen + 1 when known, else 0. */
static void
sl_set_n(struct slen *l, const char *s, uint32_t len1)
{
    l->s = s;
    l->n = !s ? 0 : len1 ? len1 - 1 : strlen(s);
}

static const struct t1071i_mlen no_len = {0, 0, 0};

struct cache {
    struct slen top[15];                    /* by field number; 0 unused */
    struct slen reason, profile;
    struct slen th[8];                      /* threat fields 1..7 */
    struct slen sub[8][4];                  /* subtechniques, fields 1..3 */
    size_t sub_body[8], threat_body;
    struct slen mem[MAX_CACHED][6];         /* member fields 1, 3, 5 */
    size_t mem_body[MAX_CACHED];
    struct slen dst[MAX_CACHED][5];         /* destination fields 1, 4 */
    size_t dst_body[MAX_CACHED];
    struct verdicts verdicts;
};

static bool
cacheable(const T1071__Ecs__V1__Alert *a)
{
    return a->n_members <= MAX_CACHED && a->n_destinations <= MAX_CACHED &&
           (!a->threat || a->threat->n_subtechnique <= 8);
}

static size_t
cache_fill(const T1071__Ecs__V1__Alert *a, const struct t1071i_alert_hints *h, struct cache *c)
{
    const char *top[15] = {NULL, a->rule_id, a->rule_name, a->rule_type, a->severity, NULL, NULL,
                           a->group_id, a->key, a->key_field, a->host_name, a->host_id,
                           a->process_entity_id, a->process_name, a->process_executable};
    size_t n = 0;

    for (unsigned f = 1; f < 15; f++) {
        sl_set(&c->top[f], top[f]);
        n += sl_size(f, &c->top[f]);
    }
    n += u64_size(5, a->has_risk_score, (uint64_t)(int64_t)a->risk_score);
    if (a->threat && h->threat) {
        n += msg_size(6, h->threat_len);
    } else if (a->threat) {
        const T1071__Ecs__V1__AlertThreat *t = a->threat;
        const char *ts[8] = {NULL, t->framework, t->tactic_id, t->tactic_name,
                             t->tactic_reference, t->technique_id, t->technique_name,
                             t->technique_reference};
        size_t tb = 0;
        for (unsigned f = 1; f < 8; f++) {
            sl_set(&c->th[f], ts[f]);
            tb += sl_size(f, &c->th[f]);
        }
        for (size_t i = 0; i < t->n_subtechnique; i++) {
            const T1071__Ecs__V1__AlertSubtechnique *st = t->subtechnique[i];
            sl_set(&c->sub[i][1], st->id);
            sl_set(&c->sub[i][2], st->name);
            sl_set(&c->sub[i][3], st->reference);
            c->sub_body[i] = sl_size(1, &c->sub[i][1]) + sl_size(2, &c->sub[i][2]) +
                             sl_size(3, &c->sub[i][3]);
            tb += msg_size(8, c->sub_body[i]);
        }
        c->threat_body = tb;
        n += msg_size(6, tb);
    }
    n += u64_size(15, a->has_first_ms, (uint64_t)a->first_ms) +
         u64_size(16, a->has_last_ms, (uint64_t)a->last_ms);
    for (size_t i = 0; i < a->n_members; i++) {
        const T1071__Ecs__V1__AlertMember *m = a->members[i];
        const struct t1071i_mlen *ml = h->mem ? &h->mem[i] : &no_len;
        sl_set_n(&c->mem[i][1], m->event_id, ml->id);
        sl_set_n(&c->mem[i][3], m->destination_ip, ml->ip);
        sl_set_n(&c->mem[i][5], m->destination_domain, ml->domain);
        c->mem_body[i] = sl_size(1, &c->mem[i][1]) +
                         u64_size(2, m->has_timestamp_ms, (uint64_t)m->timestamp_ms) +
                         sl_size(3, &c->mem[i][3]) +
                         u64_size(4, m->has_destination_port, (uint64_t)m->destination_port) +
                         sl_size(5, &c->mem[i][5]);
        n += msg_size(17, c->mem_body[i]);
    }
    for (size_t i = 0; i < a->n_destinations; i++) {
        const T1071__Ecs__V1__AlertDestination *d = a->destinations[i];
        const struct t1071i_mlen *dl = h->dst ? &h->dst[i] : &no_len;
        sl_set_n(&c->dst[i][1], d->ip, dl->ip);
        sl_set_n(&c->dst[i][4], d->domain, dl->domain);
        c->dst_body[i] = sl_size(1, &c->dst[i][1]) + u64_size(2, d->has_port, (uint64_t)d->port) +
                         u64_size(3, d->has_count, d->count) + sl_size(4, &c->dst[i][4]);
        n += msg_size(18, c->dst_body[i]);
    }
    sl_set(&c->reason, a->reason);
    sl_set(&c->profile, a->profile);
    n += sl_size(19, &c->reason) + sl_size(20, &c->profile) +
         u64_size(21, a->has_sequence_number, a->sequence_number) +
         verdicts_measure(a, &c->verdicts);
    return n;
}

static size_t
cache_pack(const T1071__Ecs__V1__Alert *a, const struct t1071i_alert_hints *h,
           const struct cache *c, uint8_t *out)
{
    uint8_t *w = out;

    for (unsigned f = 1; f <= 4; f++)
        w = sl_put(w, f, &c->top[f]);
    w = u64_put(w, 5, a->has_risk_score, (uint64_t)(int64_t)a->risk_score);
    if (a->threat && h->threat) {
        w = msg_head(w, 6, h->threat_len);
        memcpy(w, h->threat, h->threat_len);
        w += h->threat_len;
    } else if (a->threat) {
        w = msg_head(w, 6, c->threat_body);
        for (unsigned f = 1; f < 8; f++)
            w = sl_put(w, f, &c->th[f]);
        for (size_t i = 0; i < a->threat->n_subtechnique; i++) {
            w = msg_head(w, 8, c->sub_body[i]);
            for (unsigned f = 1; f <= 3; f++)
                w = sl_put(w, f, &c->sub[i][f]);
        }
    }
    for (unsigned f = 7; f < 15; f++)
        w = sl_put(w, f, &c->top[f]);
    w = u64_put(w, 15, a->has_first_ms, (uint64_t)a->first_ms);
    w = u64_put(w, 16, a->has_last_ms, (uint64_t)a->last_ms);
    for (size_t i = 0; i < a->n_members; i++) {
        const T1071__Ecs__V1__AlertMember *m = a->members[i];
        w = msg_head(w, 17, c->mem_body[i]);
        w = sl_put(w, 1, &c->mem[i][1]);
        w = u64_put(w, 2, m->has_timestamp_ms, (uint64_t)m->timestamp_ms);
        w = sl_put(w, 3, &c->mem[i][3]);
        w = u64_put(w, 4, m->has_destination_port, (uint64_t)m->destination_port);
        w = sl_put(w, 5, &c->mem[i][5]);
    }
    for (size_t i = 0; i < a->n_destinations; i++) {
        const T1071__Ecs__V1__AlertDestination *d = a->destinations[i];
        w = msg_head(w, 18, c->dst_body[i]);
        w = sl_put(w, 1, &c->dst[i][1]);
        w = u64_put(w, 2, d->has_port, (uint64_t)d->port);
        w = u64_put(w, 3, d->has_count, d->count);
        w = sl_put(w, 4, &c->dst[i][4]);
    }
    w = sl_put(w, 19, &c->reason);
    w = sl_put(w, 20, &c->profile);
    w = u64_put(w, 21, a->has_sequence_number, a->sequence_number);
    w = verdicts_put(w, a, &c->verdicts);
    return (size_t)(w - out);
}

uint8_t *
t1071i_alert_encode_hinted(const T1071__Ecs__V1__Alert *a, const struct t1071i_alert_hints *h,
                           void *(*alloc)(size_t), size_t head, size_t *len)
{
    static const struct t1071i_alert_hints none = {NULL, NULL, NULL, 0};
    struct cache c;
    uint8_t *out;

    if (!cacheable(a)) {
        *len = t1071i_alert_packed_size(a);
        out = alloc(head + *len ? head + *len : 1);
        if (out)
            t1071i_alert_pack(a, out + head);
        return out;
    }
    if (!h)
        h = &none;
    *len = cache_fill(a, h, &c);
    out = alloc(head + *len ? head + *len : 1);
    if (out)
        cache_pack(a, h, &c, out + head);
    return out;
}

uint8_t *
t1071i_alert_encode_at(const T1071__Ecs__V1__Alert *a, void *(*alloc)(size_t), size_t head,
                       size_t *len)
{
    return t1071i_alert_encode_hinted(a, NULL, alloc, head, len);
}

size_t
t1071i_alert_threat_pack(const T1071__Ecs__V1__AlertThreat *t, uint8_t *out, size_t cap)
{
    size_t n = threat_body(t);

    if (n > cap)
        return 0;
    return (size_t)(threat_put(out, t) - out);
}

/* The schema this encoder was written for: (number, label, type) of every
 * field of each message, in order.  Another schema (a field appended by a
 * later change) makes t1071i_alert_pack_usable() false, and the alert
 * builder keeps protobuf-c's packer until this file learns the field. */
struct fshape {
    unsigned id;
    ProtobufCLabel label;
    ProtobufCType type;
};

#define OPT PROTOBUF_C_LABEL_OPTIONAL
#define REP PROTOBUF_C_LABEL_REPEATED
#define STR PROTOBUF_C_TYPE_STRING
#define I64 PROTOBUF_C_TYPE_INT64
#define MSG PROTOBUF_C_TYPE_MESSAGE

static bool
same_shape(const ProtobufCMessageDescriptor *d, const struct fshape *f, size_t n)
{
    if (d->n_fields != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (d->fields[i].id != f[i].id || d->fields[i].label != f[i].label ||
            d->fields[i].type != f[i].type || d->fields[i].default_value)
            return false;
    return true;
}

bool
t1071i_alert_pack_usable(void)
{
    static const struct fshape alert[] = {
        {1, OPT, STR}, {2, OPT, STR}, {3, OPT, STR}, {4, OPT, STR},
        {5, OPT, PROTOBUF_C_TYPE_INT32}, {6, OPT, MSG}, {7, OPT, STR}, {8, OPT, STR},
        {9, OPT, STR}, {10, OPT, STR}, {11, OPT, STR}, {12, OPT, STR}, {13, OPT, STR},
        {14, OPT, STR}, {15, OPT, I64}, {16, OPT, I64}, {17, REP, MSG}, {18, REP, MSG},
        {19, OPT, STR}, {20, OPT, STR}, {21, OPT, PROTOBUF_C_TYPE_UINT64},
        {22, OPT, MSG}, {23, OPT, MSG},
    };
    static const struct fshape member[] = {
        {1, OPT, STR}, {2, OPT, I64}, {3, OPT, STR}, {4, OPT, I64}, {5, OPT, STR},
    };
    static const struct fshape dest[] = {
        {1, OPT, STR}, {2, OPT, I64}, {3, OPT, PROTOBUF_C_TYPE_UINT32}, {4, OPT, STR},
    };
    static const struct fshape threat[] = {
        {1, OPT, STR}, {2, OPT, STR}, {3, OPT, STR}, {4, OPT, STR},
        {5, OPT, STR}, {6, OPT, STR}, {7, OPT, STR}, {8, REP, MSG},
    };
    static const struct fshape sub[] = {{1, OPT, STR}, {2, OPT, STR}, {3, OPT, STR}};
#define SHAPE(d, f) same_shape(&(d), f, sizeof(f) / sizeof(f[0]))
    return SHAPE(t1071__ecs__v1__alert__descriptor, alert) &&
           SHAPE(t1071__ecs__v1__alert_member__descriptor, member) &&
           SHAPE(t1071__ecs__v1__alert_destination__descriptor, dest) &&
           SHAPE(t1071__ecs__v1__alert_threat__descriptor, threat) &&
           SHAPE(t1071__ecs__v1__alert_subtechnique__descriptor, sub);
#undef SHAPE
}
