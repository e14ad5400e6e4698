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
 *     ms since the epoch (integer-valued, int64). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t1071-private.h"
#include "json.h"

typedef T1071__Ecs__V1__Event event_t;

/* ===== The field tree ===== */

enum kind {
    K_NODE = 0, /* inner node: an object holding more fields */
    K_STR,      /* optional string */
    K_STRS,     /* repeated string */
    K_INT,      /* optional int64 */
    K_INTS,     /* repeated int64 */
    K_TIME      /* optional int64, a date */
};

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

/* Longest key worth decoding when it holds escapes: longer ones cannot
 * name a field. */
#define KEY_MAX 64

/* Find the node a (decoded) key leads to from @p kids, or NULL. */
static const struct node *
lookup(const struct node *kids, size_t nkids, const char *key, size_t klen)
{
    const char *p = key, *end = key + klen;

    for (;;) {
        const char *dot = p;
        size_t clen;
        const struct node *hit = NULL;

        while (dot < end && *dot != '.')
            dot++;
        clen = (size_t)(dot - p);
        if (dot == end)
            dot = NULL;
        for (size_t i = 0; i < nkids; i++) {
            if (kids[i].len == clen && kids[i].name[0] == p[0] &&
                memcmp(kids[i].name, p, clen) == 0) {
                hit = &kids[i];
                break;
            }
        }
        if (!hit || !dot)
            return hit;
        if (hit->kind != K_NODE)
            return NULL;
        kids = hit->kids;
        nkids = hit->nkids;
        p = dot + 1;
    }
}

/* ===== Field values ===== */

#define AT(ev, off, type) ((type *)(void *)((char *)(ev) + (off)))

static void
clear_field(event_t *ev, const struct node *f)
{
    switch (f->kind) {
    case K_STR: {
        char **s = AT(ev, f->off, char *);

        free(*s);
        *s = NULL;
        break;
    }
    case K_STRS: {
        char ***a = AT(ev, f->off, char **);
        size_t *n = AT(ev, f->aux, size_t);

        for (size_t i = 0; i < *n; i++)
            free((*a)[i]);
        free(*a);
        *a = NULL;
        *n = 0;
        break;
    }
    case K_INTS: {
        int64_t **a = AT(ev, f->off, int64_t *);

        free(*a);
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
grow(void *arr, size_t n, size_t size)
{
    if (n != 0 && (n & (n - 1)) != 0)
        return arr;
    return realloc(arr, (n ? 2 * n : 1) * size);
}

static char *
dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The text of a scalar for a string field (NULL when out of memory). */
static char *
scalar_text(const struct t1071i_json_scalar *sc)
{
    if (sc->type == T1071I_JSON_STRING)
        return t1071i_json_string_dup(sc, NULL);
    return dup_bytes(sc->text, sc->len); /* number as written, true, false */
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
add_value(event_t *ev, const struct node *f, const struct t1071i_json_scalar *sc)
{
    int64_t v = 0;
    bool ok;
    int rc;

    switch (f->kind) {
    case K_STR: {
        char *s = scalar_text(sc);

        if (!s)
            return T1071_E_NOMEM;
        free(*AT(ev, f->off, char *));
        *AT(ev, f->off, char *) = s;
        return T1071_OK;
    }
    case K_STRS: {
        char ***a = AT(ev, f->off, char **);
        size_t *n = AT(ev, f->aux, size_t);
        char *s = scalar_text(sc);
        char **g = s ? grow(*a, *n, sizeof(char *)) : NULL;

        if (!g) {
            free(s);
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
        g = grow(*a, *n, sizeof(int64_t));
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
map_field(struct t1071i_json_reader *r, event_t *ev, const struct node *f)
{
    struct t1071i_json_scalar sc;
    enum t1071i_json_type t = t1071i_json_peek(r);
    bool repeated = f->kind == K_STRS || f->kind == K_INTS;
    bool first = true, taken = false;
    int rc = T1071_OK, k = -1;

    if (t == T1071I_JSON_ERROR)
        return T1071_E_JSON;
    clear_field(ev, f);
    if (t == T1071I_JSON_OBJECT)
        return t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
    if (t != T1071I_JSON_ARRAY) {
        if (!t1071i_json_scalar(r, &sc))
            return T1071_E_JSON;
        return sc.type == T1071I_JSON_NULL ? T1071_OK : add_value(ev, f, &sc);
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
        rc = add_value(ev, f, &sc);
    }
    if (rc != T1071_OK)
        return rc;
    return k == 0 ? T1071_OK : T1071_E_JSON;
}

/* Walk the object that comes next, whose keys are looked up from @p kids.
 * Recursion follows the field tree only, so it is at most 3 deep. */
static int
map_object(struct t1071i_json_reader *r, event_t *ev, const struct node *kids, size_t nkids)
{
    struct t1071i_json_scalar key;
    bool first = true;
    int k = -1, rc = T1071_OK;

    if (!t1071i_json_enter(r))
        return T1071_E_JSON;
    while (rc == T1071_OK && (k = t1071i_json_object_next(r, &first, &key)) == 1) {
        const struct node *hit = NULL;

        if (!(key.flags & (T1071I_JSON_STR_ESCAPE | T1071I_JSON_STR_HIGH))) {
            hit = lookup(kids, nkids, key.text, key.len);
        } else if (key.flags & T1071I_JSON_STR_ESCAPE) {
            char buf[KEY_MAX];
            size_t n = t1071i_json_string_decode(&key, buf, sizeof(buf));

            if (n <= sizeof(buf))
                hit = lookup(kids, nkids, buf, n);
        }
        /* else: raw non-ASCII bytes never name a field. */
        if (!hit)
            rc = t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
        else if (hit->kind != K_NODE)
            rc = map_field(r, ev, hit);
        else if (t1071i_json_peek(r) == T1071I_JSON_OBJECT)
            rc = map_object(r, ev, hit->kids, hit->nkids);
        else
            rc = t1071i_json_skip(r) ? T1071_OK : T1071_E_JSON;
    }
    if (rc != T1071_OK)
        return rc;
    return k == 0 ? T1071_OK : T1071_E_JSON;
}

int
t1071i_ecs_json_to_event(const char *json, size_t len, t1071i_event **out, char *errbuf,
                         size_t errlen)
{
    struct t1071i_json_reader r;
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
            snprintf(errbuf, errlen, "JSON text of %zu bytes exceeds the limit of %u bytes",
                     len, (unsigned)T1071I_JSON_MAX_BYTES);
        return T1071_E_TOO_LARGE;
    }
    t1071i_json_init(&r, json ? json : "", len);
    ev = malloc(sizeof(*ev));
    if (!ev) {
        rc = T1071_E_NOMEM;
        goto out;
    }
    t1071__ecs__v1__event__init(ev);
    /* RFC 8259 lets a parser ignore a byte order mark: Windows tools write one. */
    if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3;
    if (t1071i_json_peek(&r) != T1071I_JSON_OBJECT) {
        t1071i_json_fail(&r, "expected a JSON object");
        rc = T1071_E_JSON;
        goto out;
    }
    rc = map_object(&r, ev, root_kids, sizeof(root_kids) / sizeof(root_kids[0]));
    if (rc == T1071_OK && !t1071i_json_finish(&r))
        rc = T1071_E_JSON;

out:
    if (rc == T1071_OK) {
        *out = ev;
        return T1071_OK;
    }
    if (ev)
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
    if (errbuf && errlen) {
        if (rc == T1071_E_JSON)
            snprintf(errbuf, errlen, "%s at byte %zu",
                     r.err_msg ? r.err_msg : "malformed JSON", r.err_off);
        else
            snprintf(errbuf, errlen, "out of memory");
    }
    return rc;
}
