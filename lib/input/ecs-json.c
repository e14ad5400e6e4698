/* SPDX-License-Identifier: Apache-2.0 */
/* ECS JSON -> t1071.ecs.v1.Event, in one pass over the text.
 *
 * The fields the Event holds form a small tree (event -> id, kind, ...).
 * Every key of an object we walk is split at its dots and looked up in
 * that tree from the object's own node, so nested objects, dotted keys and
 * any mix of both ("destination": {"ip": ...}, "process.entity_id": ...,
 * "tls": {"client.server_name": ...}) reach the same field.  Values under
 * keys that lead nowhere in the tree are skipped (validated, not decoded).
 *
 * Value rules (each occurrence of a field's key replaces what an earlier
 * occurrence set, so the last duplicate wins, whatever it holds):
 *   - null, [], an object, or a value that does not convert: absent;
 *   - a repeated field takes a scalar as a one-element list and an array
 *     element by element (null, nested arrays and objects skipped, values
 *     that do not convert dropped);
 *   - a single-valued field given an array takes its first non-null scalar;
 *   - a string field takes a number as its text as written, a boolean as
 *     "true" / "false";
 *   - an integer field takes an integer-valued number in int64 ("443",
 *     "443.0", "4.43e2") or a string of an optional '-' and decimal digits;
 *   - a date field takes a string t1071i_parse_time accepts, or a number of
 *     ms since the epoch (integer-valued, int64).
 *
 * Suricata EVE.  A line whose top level has the keys "event_type" and
 * "src_ip" and no "@timestamp" is Suricata's own EVE JSON, not ECS: it is
 * walked a second time with the EVE tree below (timestamp, src_ip,
 * src_port, dest_ip, dest_port, proto, app_proto, community_id, host,
 * flow.bytes_toserver / bytes_toclient, netflow.bytes, tls.sni,
 * http.hostname, dns.rrname, event.id), then completed as Filebeat's
 * Suricata module would: network.transport lowercased; event.kind "event",
 * event.module "suricata", event.dataset "suricata.eve"; for event_type
 * "flow" and "netflow" only, event.category ["network"] and event.type
 * ["connection"], plus "end" for a "flow" record that says it ended
 * (flow.end or flow.reason present: Suricata writes a flow record once,
 * when the flow is done); flow_id (as written) becomes event.id when the
 * line has no event.id.  Nothing else is invented: EVE has no direction
 * and no process, so in the faithful profile an EVE flow never passes the
 * rule (rule.derive fills those gaps).  Other event types (alert, dns, tls,
 * http, ...) get no category, so the same connection is never counted
 * twice.  Every ECS line (any line with "@timestamp") is read exactly as
 * before. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "input/ecs-json.h"
#include "input/ecs-pack.h"
#include "input/json.h"
#include "input/msgpack.h"
#include "input/shapes.h"
#include "util/timefmt.h"

typedef T1071__Ecs__V1__Event event_t;

/* ===== Memory =====
 * By default every string and array is malloc'ed (the event is freed with
 * t1071__ecs__v1__event__free_unpacked, and rule.derive may replace
 * fields).  t1071i_ecs_json_to_packed() instead takes everything from a
 * bump arena that starts on its stack and is dropped whole at the end:
 * no malloc and free per string for an event that is only packed. */

struct jchunk {
    struct jchunk *next;
    size_t cap, used;
    max_align_t data[];
};

struct jmem {
    bool arena;
    struct jchunk *chunks;     /* heap chunks, newest first */
    uint8_t *cur;              /* current block (stack or chunk) */
    size_t used, cap;
};

static void *
jm_alloc(struct jmem *m, size_t n)
{
    void *p;

    if (!m->arena)
        return malloc(n);
    n = (n + 15) & ~(size_t)15;
    if (m->used + n > m->cap) {
        size_t cap = n > 16384 ? n : 16384;
        struct jchunk *c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = m->chunks;
        m->chunks = c;
        m->cur = (uint8_t *)c->data;
        m->used = 0;
        m->cap = cap;
    }
    p = m->cur + m->used;
    m->used += n;
    return p;
}

static void
jm_free(struct jmem *m, void *p)
{
    if (!m->arena)
        free(p);
}

/* realloc: in the arena, a fresh block and a copy of the old @p old_n bytes. */
static void *
jm_realloc(struct jmem *m, void *p, size_t old_n, size_t n)
{
    void *q;

    if (!m->arena)
        return realloc(p, n);
    q = jm_alloc(m, n);
    if (q && p && old_n)
        memcpy(q, p, old_n < n ? old_n : n);
    return q;
}

static void
jm_release(struct jmem *m)
{
    while (m->chunks) {
        struct jchunk *c = m->chunks;
        m->chunks = c->next;
        free(c);
    }
}

/* Free an event built with @p m. */
static void
jm_free_event(struct jmem *m, event_t *ev)
{
    if (!m->arena)
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
}

static char *
jm_string_dup(struct jmem *m, const struct t1071i_json_scalar *s, size_t *len_out)
{
    size_t n;
    char *buf;

    if (!m->arena)
        return t1071i_json_string_dup(s, len_out);
    if (!(s->flags & (T1071I_JSON_STR_ESCAPE | T1071I_JSON_STR_HIGH))) {
        /* Nothing to decode: the raw bytes are the text. */
        buf = jm_alloc(m, s->len + 1);
        if (!buf)
            return NULL;
        memcpy(buf, s->text, s->len);
        buf[s->len] = '\0';
        if (len_out)
            *len_out = s->len;
        return buf;
    }
    if (s->len <= 4096) {
        /* One pass into room for the longest outcome: an escape never
         * decodes longer than it is written, and only a byte >= 0x80 can
         * become the 3 bytes of U+FFFD. */
        size_t cap = s->flags & T1071I_JSON_STR_HIGH ? 3 * s->len : s->len;
        buf = jm_alloc(m, cap + 1);
        if (!buf)
            return NULL;
        n = t1071i_json_string_decode(s, buf, cap);
        if (n <= cap) {
            buf[n] = '\0';
            if (len_out)
                *len_out = n;
            return buf;
        }
        /* (cannot happen; fall through to the two passes) */
    }
    n = t1071i_json_string_decode(s, NULL, 0);
    buf = jm_alloc(m, n + 1);
    if (!buf)
        return NULL;
    t1071i_json_string_decode(s, buf, n);
    buf[n] = '\0';
    if (len_out)
        *len_out = n;
    return buf;
}

/* ===== The field tree ===== */

enum kind {
    K_NODE = 0, /* inner node: an object holding more fields */
    K_STR,      /* optional string */
    K_STRS,     /* repeated string */
    K_INT,      /* optional int64 */
    K_INTS,     /* repeated int64 */
    K_TIME,     /* optional int64, a date */
    K_EVE       /* EVE only: kept aside (off: an EVE_* slot), see eve_finish */
};

/* Slots of the EVE values kept aside. */
enum { EVE_TYPE = 0, EVE_FLOW_ID, EVE_FLOW_END, EVE_FLOW_REASON };

struct node {
    const char *name;
    unsigned char len;
    unsigned char kind;
    unsigned short off;   /* the value (char *, char **, int64_t, int64_t *) */
    unsigned short aux;   /* has_* or n_* */
    unsigned char nkids;
    const struct node *kids;
};

#define STR(nm, f) {nm, sizeof(nm) - 1, K_STR, offsetof(event_t, f), 0, 0, NULL}
#define STRS(nm, f)                                                            \
    {nm, sizeof(nm) - 1, K_STRS, offsetof(event_t, f), offsetof(event_t, n_##f), 0, NULL}
#define INT(nm, f)                                                             \
    {nm, sizeof(nm) - 1, K_INT, offsetof(event_t, f), offsetof(event_t, has_##f), 0, NULL}
#define INTS(nm, f)                                                            \
    {nm, sizeof(nm) - 1, K_INTS, offsetof(event_t, f), offsetof(event_t, n_##f), 0, NULL}
#define TIME(nm, f)                                                            \
    {nm, sizeof(nm) - 1, K_TIME, offsetof(event_t, f), offsetof(event_t, has_##f), 0, NULL}
#define NODE(nm, kids)                                                         \
    {nm, sizeof(nm) - 1, K_NODE, 0, 0, sizeof(kids) / sizeof((kids)[0]), kids}

static const struct node event_kids[] = {
    STR("id", event_id),
    STR("kind", event_kind),
    STRS("category", event_category),
    STRS("type", event_type),
    STR("action", event_action),
    STR("dataset", event_dataset),
    STR("module", event_module),
};
static const struct node network_kids[] = {
    STRS("direction", network_direction),
    STR("transport", network_transport),
    STR("protocol", network_protocol),
    STR("community_id", network_community_id),
};
static const struct node source_kids[] = {
    STRS("ip", source_ip),
    INT("port", source_port),
    INT("bytes", source_bytes),
};
static const struct node destination_kids[] = {
    STRS("ip", destination_ip),
    INTS("port", destination_port),
    STR("domain", destination_domain),
    INT("bytes", destination_bytes),
};
static const struct node process_kids[] = {
    STRS("entity_id", process_entity_id),
    INT("pid", process_pid),
    STRS("name", process_name),
    STR("executable", process_executable),
    TIME("start", process_start_ms),
};
static const struct node host_kids[] = {
    STR("id", host_id),
    STR("name", host_name),
};
static const struct node user_kids[] = {
    STR("name", user_name),
};
static const struct node url_kids[] = {
    STR("full", url_full),
    STR("path", url_path),
};
static const struct node user_agent_kids[] = {
    STR("original", user_agent_original),
};
static const struct node tls_client_kids[] = {
    STR("server_name", tls_client_server_name),
};
static const struct node tls_kids[] = {
    NODE("client", tls_client_kids),
};
static const struct node agent_kids[] = {
    STR("type", agent_type),
};
static const struct node root_kids[] = {
    TIME("@timestamp", timestamp_ms),
    NODE("event", event_kids),
    NODE("network", network_kids),
    NODE("source", source_kids),
    NODE("destination", destination_kids),
    NODE("process", process_kids),
    NODE("host", host_kids),
    NODE("user", user_kids),
    NODE("url", url_kids),
    NODE("user_agent", user_agent_kids),
    NODE("tls", tls_kids),
    NODE("agent", agent_kids),
};

#define EVE(nm, slot) {nm, sizeof(nm) - 1, K_EVE, slot, 0, 0, NULL}

static const struct node eve_flow_kids[] = {
    INT("bytes_toserver", source_bytes),
    INT("bytes_toclient", destination_bytes),
    EVE("end", EVE_FLOW_END),
    EVE("reason", EVE_FLOW_REASON),
};
static const struct node eve_netflow_kids[] = {
    INT("bytes", source_bytes),
};
static const struct node eve_tls_kids[] = {
    STR("sni", tls_client_server_name),
};
static const struct node eve_http_kids[] = {
    STR("hostname", destination_domain),
};
static const struct node eve_dns_kids[] = {
    STR("rrname", destination_domain),
};
static const struct node eve_event_kids[] = {
    STR("id", event_id),
};
static const struct node eve_root_kids[] = {
    TIME("timestamp", timestamp_ms),
    EVE("event_type", EVE_TYPE),
    EVE("flow_id", EVE_FLOW_ID),
    STRS("src_ip", source_ip),
    INT("src_port", source_port),
    STRS("dest_ip", destination_ip),
    INTS("dest_port", destination_port),
    STR("proto", network_transport),
    STR("app_proto", network_protocol),
    STR("community_id", network_community_id),
    STR("host", host_name),
    NODE("flow", eve_flow_kids),
    NODE("netflow", eve_netflow_kids),
    NODE("tls", eve_tls_kids),
    NODE("http", eve_http_kids),
    NODE("dns", eve_dns_kids),
    NODE("event", eve_event_kids),
};

/* What the first walk notes about the top level, to tell EVE from ECS. */
struct top_keys {
    bool timestamp;  /* "@timestamp" */
    bool event_type; /* "event_type" */
    bool src_ip;     /* "src_ip" */
    unsigned hints;  /* keys of a raw shape (shapes.h) */
};

/* The EVE values kept aside until the walk ends. */
struct eve_side {
    char *slot_text[2]; /* EVE_TYPE, EVE_FLOW_ID: decoded text (malloc'ed) */
    bool seen[2];       /* EVE_FLOW_END, EVE_FLOW_REASON: a non-null value */
};

/* Longest key worth decoding when it holds escapes: longer ones cannot
 * name a field. */
#define KEY_MAX 64

/* Whether the @p n bytes at @p a and @p b are the same, without a call:
 * names are short, so two (overlapping) loads from each side for n >= 4,
 * never a byte beyond either. */
static inline bool
same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;

    if (n >= 8 && n <= 16) {
        memcpy(&x, a, 8), memcpy(&y, b, 8), memcpy(&u, a + n - 8, 8), memcpy(&v, b + n - 8, 8);
        return x == y && u == v;
    }
    if (n >= 4 && n < 8) {
        uint32_t x4, y4, u4, v4;
        memcpy(&x4, a, 4), memcpy(&y4, b, 4), memcpy(&u4, a + n - 4, 4), memcpy(&v4, b + n - 4, 4);
        return x4 == y4 && u4 == v4;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* The child named by the @p clen bytes at @p p, or NULL; @p next: the
 * index to try first, and where the next try starts after a hit.
 * Producers write keys in a fixed order, mostly the tree's; names are
 * unique, so the first match is the only one. */
static inline const struct node *
find_kid(const struct node *kids, size_t nkids, const char *p, size_t clen, size_t *next)
{
    size_t i = next ? *next : nkids;

    if (i >= nkids || kids[i].len != clen || !same_bytes(kids[i].name, p, clen)) {
        for (i = 0; i < nkids; i++)
            if (kids[i].len == clen && same_bytes(kids[i].name, p, clen))
                break;
        if (i == nkids)
            return NULL;
    }
    if (next)
        *next = i + 1;
    return &kids[i];
}

/* lookup() for a key that names no child: its dotted parts, if any. */
static const struct node *
lookup_parts(const struct node *kids, size_t nkids, const char *key, size_t klen, size_t *next)
{
    const char *p = key, *end = key + klen;
    const struct node *hit;

    if (!memchr(key, '.', klen))
        return NULL;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t clen = dot ? (size_t)(dot - p) : (size_t)(end - p);

        hit = find_kid(kids, nkids, p, clen, next);
        if (!hit || !dot)
            return hit;
        if (hit->kind != K_NODE)
            return NULL;
        kids = hit->kids;
        nkids = hit->nkids;
        next = NULL;
        p = dot + 1;
    }
}

/* Find the node a (decoded) key leads to from @p kids, or NULL.  No name
 * holds a dot: a whole-key match is the answer, and a key without a dot
 * has no other. */
static inline const struct node *
lookup(const struct node *kids, size_t nkids, const char *key, size_t klen, size_t *next)
{
    const struct node *hit;

    if (klen <= 16 && (hit = find_kid(kids, nkids, key, klen, next)))
        return hit;
    return lookup_parts(kids, nkids, key, klen, next);
}

/* ===== Field values ===== */

#define AT(ev, off, type) ((type *)(void *)((char *)(ev) + (off)))

static void
clear_field(struct jmem *m, event_t *ev, const struct node *f)
{
    switch (f->kind) {
    case K_STR: {
        char **s = AT(ev, f->off, char *);

        jm_free(m, *s);
        *s = NULL;
        break;
    }
    case K_STRS: {
        char ***a = AT(ev, f->off, char **);
        size_t *n = AT(ev, f->aux, size_t);

        for (size_t i = 0; i < *n; i++)
            jm_free(m, (*a)[i]);
        jm_free(m, *a);
        *a = NULL;
        *n = 0;
        break;
    }
    case K_INTS: {
        int64_t **a = AT(ev, f->off, int64_t *);

        jm_free(m, *a);
        *a = NULL;
        *AT(ev, f->aux, size_t) = 0;
        break;
    }
    case K_INT:
    case K_TIME:
        *AT(ev, f->aux, protobuf_c_boolean) = 0;
        break;
    default:
        break;
    }
}

/* Room for element n of array @p arr of @p size-byte elements: the
 * capacity is the smallest power of two >= n, so it grows when n is 0 or a
 * power of two.  n is bounded by the input length, so nothing overflows.
 * Returns the array (perhaps moved), or NULL when out of memory (then
 * @p arr is untouched). */
static void *
grow(struct jmem *m, void *arr, size_t n, size_t size)
{
    if (n != 0 && (n & (n - 1)) != 0)
        return arr;
    return jm_realloc(m, arr, n * size, (n ? 2 * n : 1) * size);
}

static char *
dup_bytes(struct jmem *m, const char *s, size_t n)
{
    char *d = jm_alloc(m, n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The text of a scalar for a string field (NULL when out of memory). */
static char *
scalar_text(struct jmem *m, const struct t1071i_json_scalar *sc)
{
    if (sc->type == T1071I_JSON_STRING)
        return jm_string_dup(m, sc, NULL);
    return dup_bytes(m, sc->text, sc->len); /* number as written, true, false */
}

/* A string field's raw text when it has no escape, else its decoded copy
 * in *heap (to free).  T1071_OK or T1071_E_NOMEM. */
static int
string_bytes(const struct t1071i_json_scalar *sc, const char **s, size_t *n, char **heap)
{
    *heap = NULL;
    if (!(sc->flags & T1071I_JSON_STR_ESCAPE)) {
        *s = sc->text;
        *n = sc->len;
        return T1071_OK;
    }
    *heap = t1071i_json_string_dup(sc, n);
    if (!*heap)
        return T1071_E_NOMEM;
    *s = *heap;
    return T1071_OK;
}

/* An integer field's value: *ok tells whether the scalar converts. */
static int
scalar_int(const struct t1071i_json_scalar *sc, bool time, int64_t *v, bool *ok)
{
    const char *s;
    char *heap;
    size_t n;
    int rc;

    *ok = false;
    if (sc->type == T1071I_JSON_NUMBER) {
        /* (a msgpack integer: its value, as its text would read) */
        if (sc->flags & T1071I_JSON_NUM_INT)
            *v = sc->ival, *ok = true;
        else
            *ok = t1071i_json_number_to_int64(sc->text, sc->len, v);
        return T1071_OK;
    }
    if (sc->type != T1071I_JSON_STRING)
        return T1071_OK;
    rc = string_bytes(sc, &s, &n, &heap);
    if (rc != T1071_OK)
        return rc;
    if (time) {
        *ok = t1071i_parse_time(s, n, v);
    } else {
        /* Only an optional '-' and decimal digits. */
        size_t i = n && s[0] == '-';
        bool digits = i < n;

        for (; i < n && digits; i++)
            digits = s[i] >= '0' && s[i] <= '9';
        *ok = digits && t1071i_json_number_to_int64(s, n, v);
    }
    free(heap);
    return T1071_OK;
}

/* Add one non-null scalar to field @p f (cleared before by the caller when
 * single-valued).  Values that do not convert are dropped. */
static int
add_value(struct jmem *m, event_t *ev, const struct node *f, const struct t1071i_json_scalar *sc)
{
    int64_t v = 0;
    bool ok;
    int rc;

    switch (f->kind) {
    case K_STR: {
        char *s = scalar_text(m, sc);

        if (!s)
            return T1071_E_NOMEM;
        jm_free(m, *AT(ev, f->off, char *));
        *AT(ev, f->off, char *) = s;
        return T1071_OK;
    }
    case K_STRS: {
        char ***a = AT(ev, f->off, char **);
        size_t *n = AT(ev, f->aux, size_t);
        char *s = scalar_text(m, sc);
        char **g = s ? grow(m, *a, *n, sizeof(char *)) : NULL;

        if (!g) {
            jm_free(m, s);
            return T1071_E_NOMEM;
        }
        *a = g;
        g[(*n)++] = s;
        return T1071_OK;
    }
    case K_INT:
    case K_TIME:
        rc = scalar_int(sc, f->kind == K_TIME, &v, &ok);
        if (rc == T1071_OK && ok) {
            *AT(ev, f->off, int64_t) = v;
            *AT(ev, f->aux, protobuf_c_boolean) = 1;
        }
        return rc;
    case K_INTS: {
        int64_t **a = AT(ev, f->off, int64_t *);
        size_t *n = AT(ev, f->aux, size_t);
        int64_t *g;

        rc = scalar_int(sc, false, &v, &ok);
        if (rc != T1071_OK || !ok)
            return rc;
        g = grow(m, *a, *n, sizeof(int64_t));
        if (!g)
            return T1071_E_NOMEM;
        *a = g;
        g[(*n)++] = v;
        return T1071_OK;
    }
    default:
        return T1071_OK;
    }
}

/* ===== The walk ===== */

static int
map_field(struct jmem *m, struct t1071i_json_reader *r, event_t *ev, const struct node *f)
{
    struct t1071i_json_scalar sc;
    enum t1071i_json_type t = t1071i_json_peek(r);
    bool repeated = f->kind == K_STRS || f->kind == K_INTS;
    bool first = true, taken = false;
    int rc = T1071_OK, k = -1;

    if (t == T1071I_JSON_ERROR)
        return T1071_E_JSON;
    clear_field(m, ev, f);
    if (t == T1071I_JSON_OBJECT)
        return t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
    if (t != T1071I_JSON_ARRAY) {
        if (!t1071i_json_scalar(r, &sc))
            return T1071_E_JSON;
        return sc.type == T1071I_JSON_NULL ? T1071_OK : add_value(m, ev, f, &sc);
    }
    if (!t1071i_json_enter(r))
        return T1071_E_JSON;
    while (rc == T1071_OK && (k = t1071i_json_array_next(r, &first)) == 1) {
        t = t1071i_json_peek(r);
        if (t == T1071I_JSON_OBJECT || t == T1071I_JSON_ARRAY) {
            if (!t1071i_json_skip(r))
                return T1071_E_JSON;
            continue;
        }
        if (!t1071i_json_scalar(r, &sc))
            return T1071_E_JSON;
        if (sc.type == T1071I_JSON_NULL || (!repeated && taken))
            continue;
        taken = true;
        rc = add_value(m, ev, f, &sc);
    }
    if (rc != T1071_OK)
        return rc;
    return k == 0 ? T1071_OK : T1071_E_JSON;
}

/* Keep an EVE value aside: the text of a scalar for EVE_TYPE and
 * EVE_FLOW_ID, presence of a non-null scalar for EVE_FLOW_END and
 * EVE_FLOW_REASON.  Objects, arrays and null leave the slot absent (the
 * last occurrence wins). */
static int
map_eve(struct jmem *m, struct t1071i_json_reader *r, struct eve_side *eve, unsigned slot)
{
    struct t1071i_json_scalar sc;
    enum t1071i_json_type t = t1071i_json_peek(r);

    if (t == T1071I_JSON_ERROR)
        return T1071_E_JSON;
    if (slot >= EVE_FLOW_END)
        eve->seen[slot - EVE_FLOW_END] = false;
    else {
        jm_free(m, eve->slot_text[slot]);
        eve->slot_text[slot] = NULL;
    }
    if (t == T1071I_JSON_OBJECT || t == T1071I_JSON_ARRAY)
        return t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
    if (!t1071i_json_scalar(r, &sc))
        return T1071_E_JSON;
    if (sc.type == T1071I_JSON_NULL)
        return T1071_OK;
    if (slot >= EVE_FLOW_END) {
        eve->seen[slot - EVE_FLOW_END] = true;
        return T1071_OK;
    }
    eve->slot_text[slot] = scalar_text(m, &sc);
    return eve->slot_text[slot] ? T1071_OK : T1071_E_NOMEM;
}

static void
note_top_key(struct top_keys *top, const char *k, size_t n)
{
    if (n == 10 && !memcmp(k, "@timestamp", 10))
        top->timestamp = true;
    else if (n == 10 && !memcmp(k, "event_type", 10))
        top->event_type = true;
    else if (n == 6 && !memcmp(k, "src_ip", 6))
        top->src_ip = true;
    else
        top->hints |= t1071i_shape_hint(k, n);
}

/* Walk the object that comes next, whose keys are looked up from @p kids.
 * Recursion follows the field tree only, so it is at most 3 deep.  @p top
 * (top level of the first walk only) notes the keys that tell EVE from
 * ECS; @p eve (EVE walk only) receives the K_EVE values. */
static int
map_object(struct jmem *m, struct t1071i_json_reader *r, event_t *ev, const struct node *kids,
           size_t nkids, struct top_keys *top, struct eve_side *eve)
{
    struct t1071i_json_scalar key;
    bool first = true;
    int k = -1, rc = T1071_OK;
    size_t next = 0; /* lookup's guess */

    if (!t1071i_json_enter(r))
        return T1071_E_JSON;
    while (rc == T1071_OK && (k = t1071i_json_object_next(r, &first, &key)) == 1) {
        const struct node *hit = NULL;

        if (!(key.flags & (T1071I_JSON_STR_ESCAPE | T1071I_JSON_STR_HIGH))) {
            hit = lookup(kids, nkids, key.text, key.len, &next);
            if (top)
                note_top_key(top, key.text, key.len);
        } else if (key.flags & T1071I_JSON_STR_ESCAPE) {
            char buf[KEY_MAX];
            size_t n = t1071i_json_string_decode(&key, buf, sizeof(buf));

            if (n <= sizeof(buf)) {
                hit = lookup(kids, nkids, buf, n, &next);
                if (top)
                    note_top_key(top, buf, n);
            }
        }
        /* else: raw non-ASCII bytes never name a field. */
        if (!hit)
            rc = t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
        else if (hit->kind == K_EVE)
            rc = eve ? map_eve(m, r, eve, hit->off)
                     : (t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON);
        else if (hit->kind != K_NODE)
            rc = map_field(m, r, ev, hit);
        else if (t1071i_json_peek(r) == T1071I_JSON_OBJECT)
            rc = map_object(m, r, ev, hit->kids, hit->nkids, NULL, eve);
        else
            rc = t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
    }
    if (rc != T1071_OK)
        return rc;
    return k == 0 ? T1071_OK : T1071_E_JSON;
}

/* Set a repeated string field to @p n static values (copied). */
static int
set_strs(struct jmem *m, char ***arr, size_t *count, const char *const *vals, size_t n)
{
    char **a = jm_alloc(m, n * sizeof(char *));

    if (!a)
        return T1071_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        a[i] = dup_bytes(m, vals[i], strlen(vals[i]));
        if (!a[i]) {
            for (size_t j = 0; j < i; j++)
                jm_free(m, a[j]);
            jm_free(m, a);
            return T1071_E_NOMEM;
        }
    }
    for (size_t i = 0; i < *count; i++)
        jm_free(m, (*arr)[i]);
    jm_free(m, *arr);
    *arr = a;
    *count = n;
    return T1071_OK;
}

static int
set_str(struct jmem *m, char **slot, const char *v)
{
    char *d = dup_bytes(m, v, strlen(v));

    if (!d)
        return T1071_E_NOMEM;
    jm_free(m, *slot);
    *slot = d;
    return T1071_OK;
}

/* Complete an EVE event from what the walk kept aside (see the top). */
static int
eve_finish(struct jmem *m, event_t *ev, struct eve_side *eve)
{
    static const char *const network[] = {"network"};
    static const char *const conn_end[] = {"connection", "end"};
    const char *type = eve->slot_text[EVE_TYPE];
    int rc = T1071_OK;

    if (ev->network_transport)
        for (char *p = ev->network_transport; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    if (rc == T1071_OK)
        rc = set_str(m, &ev->event_kind, "event");
    if (rc == T1071_OK)
        rc = set_str(m, &ev->event_module, "suricata");
    if (rc == T1071_OK)
        rc = set_str(m, &ev->event_dataset, "suricata.eve");
    if (rc == T1071_OK && type && (!strcasecmp(type, "flow") || !strcasecmp(type, "netflow"))) {
        bool end = !strcasecmp(type, "flow") && (eve->seen[0] || eve->seen[1]);

        rc = set_strs(m, &ev->event_category, &ev->n_event_category, network, 1);
        if (rc == T1071_OK)
            rc = set_strs(m, &ev->event_type, &ev->n_event_type, conn_end, end ? 2 : 1);
    }
    if (rc == T1071_OK && !ev->event_id && eve->slot_text[EVE_FLOW_ID]) {
        ev->event_id = eve->slot_text[EVE_FLOW_ID];
        eve->slot_text[EVE_FLOW_ID] = NULL;
    }
    return rc;
}

/* Walk the whole text as Suricata EVE into a fresh event (*evp is freed
 * and replaced).  The text was validated by the first walk. */
static int
map_eve_line(struct jmem *m, struct t1071i_json_reader *r, const char *json, size_t len,
             event_t **evp)
{
    struct eve_side eve = {{NULL, NULL}, {false, false}};
    event_t *ev = jm_alloc(m, sizeof(*ev));
    int rc;

    if (!ev)
        return T1071_E_NOMEM;
    t1071__ecs__v1__event__init(ev);
    jm_free_event(m, *evp);
    *evp = ev;
    if (r->mp) {
        t1071i_mp_restart(r);
    } else {
        t1071i_json_init(r, json, len);
        if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
            r->p += 3;
    }
    if (t1071i_json_peek(r) != T1071I_JSON_OBJECT)
        rc = T1071_E_JSON;
    else
        rc = map_object(m, r, ev, eve_root_kids,
                        sizeof(eve_root_kids) / sizeof(eve_root_kids[0]), NULL, &eve);
    if (rc == T1071_OK)
        rc = eve_finish(m, ev, &eve);
    jm_free(m, eve.slot_text[0]);
    jm_free(m, eve.slot_text[1]);
    return rc;
}

static void *
shape_alloc(void *m, size_t n)
{
    return jm_alloc(m, n);
}

static void
shape_free(void *m, void *p)
{
    jm_free(m, p);
}

/* After the ECS walk: read the record again as the shape it is (see
 * lib/input/shapes.c); ECS and EVE records come out exactly as before. */
static int
reshape(struct jmem *m, struct t1071i_json_reader *r, const char *json, size_t len, int source,
        const struct top_keys *top, event_t **evp)
{
    bool eve = top->event_type && top->src_ip && !top->timestamp;
    bool ecs_net = (*evp)->n_event_category > 0 || (*evp)->n_destination_ip > 0;
    struct t1071i_shape_mem sm = {shape_alloc, shape_free, m};
    event_t *nev = NULL;
    int rc;

    switch (t1071i_shape_pick(source, top->hints, top->timestamp, eve, ecs_net)) {
    case T1071I_PICK_EVE:
        return map_eve_line(m, r, json, len, evp);
    case T1071I_PICK_RAW:
        if (r->mp) {
            t1071i_mp_restart(r);
            rc = t1071i_shape_read_reader(r, source, &sm, &nev);
        } else {
            rc = t1071i_shape_read(json, len, source, &sm, &nev);
        }
        if (nev && rc == T1071_OK) {
            jm_free_event(m, *evp);
            *evp = nev;
            return T1071_OK;
        }
        if (nev)
            jm_free_event(m, nev);
        return rc;
    default:
        return T1071_OK;
    }
}

/* @p mp: read @p json as one msgpack map (msgpack.h) with this state. */
static int
to_event(struct jmem *m, const char *json, size_t len, int source, t1071i_event **out,
         char *errbuf, size_t errlen, struct t1071i_mp_state *mp)
{
    struct t1071i_json_reader r;
    struct top_keys top = {false, false, false, 0};
    event_t *ev = NULL;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out)
        return T1071_E_INVALID_ARG;
    *out = NULL;
    if (!json && len)
        return T1071_E_INVALID_ARG;
    if (len > T1071I_JSON_MAX_BYTES) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s of %zu bytes exceeds the limit of %u bytes",
                     mp ? "msgpack record" : "JSON text", len, (unsigned)T1071I_JSON_MAX_BYTES);
        return T1071_E_TOO_LARGE;
    }
    if (mp)
        t1071i_mp_start(&r, mp, json, len);
    else
        t1071i_json_init(&r, json ? json : "", len);
    ev = jm_alloc(m, sizeof(*ev));
    if (!ev) {
        rc = T1071_E_NOMEM;
        goto out;
    }
    t1071__ecs__v1__event__init(ev);
    /* RFC 8259 lets a parser ignore a byte order mark: Windows tools write one. */
    if (!mp && len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3;
    if (t1071i_json_peek(&r) != T1071I_JSON_OBJECT) {
        t1071i_json_fail(&r, mp ? "msgpack: the record is not a map" : "expected a JSON object");
        rc = T1071_E_JSON;
        goto out;
    }
    rc = map_object(m, &r, ev, root_kids, sizeof(root_kids) / sizeof(root_kids[0]), &top, NULL);
    if (rc == T1071_OK && !t1071i_json_finish(&r))
        rc = T1071_E_JSON;
    if (rc == T1071_OK)
        rc = reshape(m, &r, json, len, source, &top, &ev);

out:
    if (rc == T1071_OK) {
        *out = ev;
        return T1071_OK;
    }
    if (ev)
        jm_free_event(m, ev);
    if (errbuf && errlen) {
        if (rc == T1071_E_JSON)
            snprintf(errbuf, errlen, "%s at byte %zu",
                     r.err_msg ? r.err_msg : mp ? "malformed msgpack" : "malformed JSON",
                     r.err_off);
        else
            snprintf(errbuf, errlen, "out of memory");
    }
    return rc;
}

int
t1071i_ecs_json_to_event(const char *json, size_t len, t1071i_event **out, char *errbuf,
                         size_t errlen)
{
    return t1071i_json_to_event_as(json, len, T1071I_SOURCE_AUTO, out, errbuf, errlen);
}

int
t1071i_json_to_event_as(const char *json, size_t len, int source, t1071i_event **out,
                        char *errbuf, size_t errlen)
{
    struct jmem m = {false, NULL, NULL, 0, 0};

    return to_event(&m, json, len, source, out, errbuf, errlen, NULL);
}

/* ===== Packing: see ecs-pack.c ===== */

int
t1071i_ecs_json_to_packed(const char *json, size_t len, uint64_t record_number,
                          size_t max_bytes, uint8_t **out, size_t *out_len, size_t headroom)
{
    return t1071i_json_to_packed_as(json, len, T1071I_SOURCE_AUTO, record_number, max_bytes,
                                    out, out_len, headroom);
}

static int
to_packed(const char *json, size_t len, int source, uint64_t record_number, size_t max_bytes,
          uint8_t **out, size_t *out_len, size_t headroom, char *errbuf, size_t errlen,
          struct t1071i_mp_state *mp)
{
    /* A typical ECS line needs a few hundred bytes of arena: start on the
     * stack, spill into heap chunks for big ones. */
    max_align_t stack[4096 / sizeof(max_align_t)];
    struct jmem m = {true, NULL, (uint8_t *)stack, 0, sizeof(stack)};
    t1071i_event *ev = NULL;
    size_t n;
    int rc;

    *out = NULL;
    *out_len = 0;
    rc = to_event(&m, json, len, source, &ev, errbuf, errlen, mp);
    if (rc == T1071_OK) {
        if (record_number) {
            ev->has_record_number = 1;
            ev->record_number = record_number;
        }
        bool fast = t1071i_ecs_pack_usable();
        size_t lens[T1071I_PACK_LENS], n_lens = 0;
        /* Most events fit a small buffer: written there in one pass and
         * copied; a bigger one is sized, then written. */
        uint8_t small[2048];
        size_t one = fast ? t1071i_ecs_pack_bounded(ev, small, sizeof(small)) : SIZE_MAX;

        if (one != SIZE_MAX)
            n = one;
        else
            n = fast ? t1071i_ecs_pack_size(ev, lens, &n_lens)
                     : t1071__ecs__v1__event__get_packed_size(ev);
        if (n > max_bytes) {
            rc = T1071_E_TOO_LARGE;
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "the event encodes to %zu bytes, more than %zu", n,
                         max_bytes);
        } else if (!(*out = malloc(headroom + n))) {
            rc = T1071_E_NOMEM;
        } else if (one != SIZE_MAX) {
            memcpy(*out + headroom, small, n);
            *out_len = n;
        } else {
            *out_len = fast ? t1071i_ecs_pack_write(ev, *out + headroom, lens, n_lens)
                            : t1071__ecs__v1__event__pack(ev, *out + headroom);
        }
    }
    jm_release(&m);
    return rc;
}

int
t1071i_json_to_packed_as(const char *json, size_t len, int source, uint64_t record_number,
                         size_t max_bytes, uint8_t **out, size_t *out_len, size_t headroom)
{
    return to_packed(json, len, source, record_number, max_bytes, out, out_len, headroom, NULL,
                     0, NULL);
}

int
t1071i_msgpack_to_packed_as(const void *data, size_t len, int source, uint64_t record_number,
                            size_t max_bytes, uint8_t **out, size_t *out_len, size_t headroom,
                            char *errbuf, size_t errlen)
{
    struct t1071i_mp_state st;
    int rc;

    st.chunks = NULL;
    rc = to_packed(data, len, source, record_number, max_bytes, out, out_len, headroom, errbuf,
                   errlen, &st);
    t1071i_mp_release(&st);
    return rc;
}

int
t1071i_msgpack_with_event(const void *data, size_t len, int source, size_t max_bytes,
                          int (*fn)(void *arg, const t1071i_event *ev), void *arg, char *errbuf,
                          size_t errlen)
{
    max_align_t stack[4096 / sizeof(max_align_t)];
    struct jmem m = {true, NULL, (uint8_t *)stack, 0, sizeof(stack)};
    struct t1071i_mp_state st;
    t1071i_event *ev = NULL;
    int rc;

    st.chunks = NULL;
    rc = to_event(&m, data, len, source, &ev, errbuf, errlen, &st);
    t1071i_mp_release(&st);
    if (rc == T1071_OK) {
        size_t lens[T1071I_PACK_LENS], n_lens = 0;
        size_t n = t1071i_ecs_pack_usable() ? t1071i_ecs_pack_size(ev, lens, &n_lens)
                                      : t1071__ecs__v1__event__get_packed_size(ev);

        if (n > max_bytes) {
            rc = T1071_E_TOO_LARGE;
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "the event encodes to %zu bytes, more than %zu", n,
                         max_bytes);
        } else {
            rc = fn(arg, ev);
        }
    }
    jm_release(&m);
    return rc;
}
