/* SPDX-License-Identifier: Apache-2.0 */
/* Pending-event records and key atoms: the compact record the engine keeps
 * of a matching event, its view for the tracker and the alert builder, and
 * the interned key values records and keys share. */
#include "engine/engine-priv.h"

/* ===== Key atoms ===== */

static size_t
atom_bytes(const struct katom *a)
{
    return sizeof(*a) + a->node.len + 1;
}

/* The atom of @p s (length @p len, hash @p h), or NULL when none exists. */
struct katom *
t1071i_atom_find(const struct t1071_ctx *ctx, uint64_t h, const char *s, size_t len)
{
    return (struct katom *)t1071i_ht_find(&ctx->keys, h, s, len);
}

/* The atom of @p s, created (unreferenced) when missing; NULL when out of
 * memory.  The caller takes a reference (atom_ref) at once. */
struct katom *
t1071i_atom_get(struct t1071_ctx *ctx, uint64_t h, const char *s, size_t len)
{
    struct katom *a = t1071i_atom_find(ctx, h, s, len);

    if (a)
        return a;
    a = t1071i_pool_get(ctx->pool, sizeof(*a) + len + 1);
    if (!a)
        return NULL;
    memcpy(a->str, s, len);
    a->str[len] = '\0';
    a->node.hash = h;
    a->node.len = (uint32_t)len;
    a->node.aux = 0;
    a->key = NULL;
    t1071i_ht_insert(&ctx->keys, &a->node);
    mem_add(ctx, atom_bytes(a));
    return a;
}

void
t1071i_atom_unref(struct t1071_ctx *ctx, struct katom *a)
{
    if (--a->node.aux == 0) {
        t1071i_ht_remove(&ctx->keys, &a->node);
        mem_sub(ctx, atom_bytes(a));
        t1071i_pool_put(ctx->pool, a, sizeof(*a) + a->node.len + 1);
    }
}

/* ===== Pending events ===== */

static size_t
rec_tail_bytes(unsigned flags)
{
    return ((flags & R_XFER) ? 8 : 0) + ((flags & R_WIDE_PORT) ? 8 : 0) +
           ((flags & R_IP4) ? 4 : 0) + ((flags & R_IP6) ? 16 : 0);
}

static const char *
rec_strings(const struct rec *r)
{
    return (const char *)(r->keys + r->n_keys) + rec_tail_bytes(r->flags);
}

/* The binary destination address (R_IP4 / R_IP6). */
static const uint8_t *
rec_ip(const struct rec *r)
{
    return (const uint8_t *)(r->keys + r->n_keys) + rec_tail_bytes(r->flags & (R_XFER | R_WIDE_PORT));
}

/* The text of a binary address, exactly as a matching event's is made. */
const char *
t1071i_format_ip(bool v4, const uint8_t *a, char buf[INET6_ADDRSTRLEN])
{
    return v4 ? t1071i_format_v4(a, buf) : inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static int64_t
rec_tail_i64(const struct rec *r, unsigned which)
{
    const char *s = (const char *)(r->keys + r->n_keys);
    int64_t v;

    if (which == R_WIDE_PORT && (r->flags & R_XFER))
        s += sizeof(int64_t);
    memcpy(&v, s, sizeof(v));
    return v;
}

/* The strings of @p r: out[i] NULL when absent. */
static void
rec_strs(const struct rec *r, const char *out[REC_STRS])
{
    const char *s = rec_strings(r);

    for (size_t i = 0; i < REC_STRS; i++) {
        if (!r->len[i]) {
            out[i] = NULL;
            continue;
        }
        out[i] = s;
        s += r->len[i] == REC_LONG ? strlen(s) + 1 : r->len[i];
    }
}

/* Bytes of the record's allocation (what it is accounted as). */
static size_t
rec_size(const struct rec *r)
{
    const char *s = rec_strings(r), *p = s;

    for (size_t i = 0; i < REC_STRS; i++)
        p += r->len[i] == REC_LONG ? strlen(p) + 1 : r->len[i];
    return (size_t)(p - (const char *)r);
}

/* The lengths of @p r's id, address text and domain as its view shows
 * them (strlen + 1; 0 when not known without measuring: the alert builder
 * then measures). */
struct t1071i_mlen
t1071i_rec_lens(const struct rec *r)
{
    struct t1071i_mlen l = {0, 0, 0};

    l.id = r->len[0] == REC_LONG ? 0 : r->len[0];
    if (r->flags & R_IP4) {
        /* t1071i_format_v4: each octet without leading zeros, 3 dots, NUL */
        const uint8_t *a = rec_ip(r);
        l.ip = 4;
        for (int i = 0; i < 4; i++)
            l.ip += 1u + (a[i] >= 10) + (a[i] >= 100);
    } else if (!(r->flags & R_IP6)) {
        l.ip = r->len[1] == REC_LONG ? 0 : r->len[1];
    }
    l.domain = r->len[2] == REC_LONG ? 0 : r->len[2];
    return l;
}

/* The view the alert and tracker code read; @p keys holds n_keys slots. */
void
t1071i_rec_view(const struct rec *r, struct t1071i_pev *v, const char **keys)
{
    const char *strs[REC_STRS];

    rec_strs(r, strs);
    /* Every field but the scratch ipbuf (written only when used). */
    v->n_keys = r->n_keys;
    v->ts = r->ts;
    v->port = (r->flags & R_WIDE_PORT) ? rec_tail_i64(r, R_WIDE_PORT) : r->port;
    v->has_xfer = (r->flags & R_XFER) != 0;
    v->xfer = v->has_xfer ? rec_tail_i64(r, R_XFER) : 0;
    v->id = strs[0];
    v->ip = strs[1];
    if (r->flags & (R_IP4 | R_IP6))
        v->ip = t1071i_format_ip((r->flags & R_IP4) != 0, rec_ip(r), v->ipbuf);
    v->domain = strs[2];
    v->host_name = strs[3];
    v->host_id = strs[4];
    v->pname = strs[5];
    v->exe = strs[6];
    v->flow = strs[7];
    for (uint32_t i = 0; i < r->n_keys; i++)
        keys[i] = r->keys[i]->str;
    v->keys = keys;
}

void
t1071i_pev_unref(struct t1071_ctx *ctx, struct rec *p)
{
    if (p && --p->refs == 0) {
        size_t bytes = rec_size(p);
        for (uint32_t i = 0; i < p->n_keys; i++)
            t1071i_atom_unref(ctx, p->keys[i]);
        mem_sub(ctx, bytes);
        t1071i_pool_put(ctx->pool, p, bytes);
    }
}

/* One allocation holding the record, its key atoms and every string.
 * strs[]: id, ip, domain, host_name, host_id, pname, exe (NULL = absent). */
/* @p ip_flags: R_IP4 or R_IP6 when @p ip holds the destination address in
 * binary (strs[1] is then NULL), else 0. */
struct rec *
t1071i_pev_alloc(struct t1071_ctx *ctx, const char *const strs[REC_STRS], const char *const *keys,
          const size_t *key_lens, size_t n_keys, int64_t ts, uint64_t seq, int64_t port,
          bool has_xfer, int64_t xfer, unsigned ip_flags, const uint8_t *ip)
{
    size_t lens[REC_STRS], total;
    bool wide = port < INT32_MIN || port > INT32_MAX;
    unsigned flags = (has_xfer ? R_XFER : 0) | (wide ? R_WIDE_PORT : 0) | ip_flags;
    struct rec *p;
    char *w;

    total = sizeof(*p) + n_keys * sizeof(p->keys[0]) + rec_tail_bytes(flags);
    for (size_t i = 0; i < REC_STRS; i++) {
        lens[i] = strs[i] ? strlen(strs[i]) + 1 : 0;
        total += lens[i];
    }
    p = t1071i_pool_get(ctx->pool, total);
    if (!p)
        return NULL;
    p->refs = 1;
    p->n_keys = 0;
    p->flags = (uint8_t)flags;
    p->ts = ts;
    p->seq = seq;
    p->port = wide ? 0 : (int32_t)port;
    for (size_t i = 0; i < n_keys; i++) {
        struct katom *a =
            t1071i_atom_get(ctx, t1071i_hash(ctx->seed, keys[i], key_lens[i]), keys[i], key_lens[i]);
        if (!a) {
            for (size_t j = 0; j < i; j++)
                t1071i_atom_unref(ctx, p->keys[j]);
            t1071i_pool_put(ctx->pool, p, total);
            return NULL;
        }
        a->node.aux++;
        p->keys[i] = a;
    }
    p->n_keys = (uint8_t)n_keys;
    w = (char *)(p->keys + n_keys);
    if (has_xfer) {
        memcpy(w, &xfer, 8);
        w += 8;
    }
    if (wide) {
        memcpy(w, &port, 8);
        w += 8;
    }
    if (ip_flags) {
        size_t n = ip_flags == R_IP4 ? 4 : 16;
        memcpy(w, ip, n);
        w += n;
    }
    for (size_t i = 0; i < REC_STRS; i++) {
        p->len[i] = (uint8_t)(lens[i] < REC_LONG ? lens[i] : REC_LONG);
        if (!strs[i])
            continue;
        memcpy(w, strs[i], lens[i]);
        w += lens[i];
    }
    mem_add(ctx, total);
    return p;
}

/* Copy what the engine keeps of a matching event. */
struct rec *
t1071i_pev_new(struct t1071_ctx *ctx, const t1071i_event *ev, const struct t1071i_match *m,
        const char *const *keys, const size_t *key_lens, size_t n_keys, uint64_t seq)
{
    char idbuf[40];
    const char *strs[REC_STRS];
    int64_t xfer = 0;
    bool has_xfer;
    unsigned ip_flags = 0;

    strs[0] = ev->event_id;
    if (!strs[0]) {
        uint64_t n = ev->has_record_number && ev->record_number ? ev->record_number : seq;
        snprintf(idbuf, sizeof(idbuf), "line:%" PRIu64, n);
        strs[0] = idbuf;
    }
    strs[1] = NULL; /* the address is kept in binary */
    if (m->ip_index >= 0)
        ip_flags = m->ip_is_v4 ? R_IP4 : R_IP6;
    strs[2] = ev->destination_domain ? ev->destination_domain : ev->tls_client_server_name;
    strs[3] = ev->host_name;
    strs[4] = ev->host_id;
    strs[5] = ev->n_process_name ? ev->process_name[0] : NULL;
    strs[6] = ev->process_executable;
    /* flow reports count once for the score (lib/score/tracker.c) */
    strs[7] = ctx->tracker && ctx->cfg->tun.beacon_enabled ? ev->network_community_id : NULL;
    has_xfer = t1071i_event_xfer(ev, &xfer);
    return t1071i_pev_alloc(ctx, strs, keys, key_lens, n_keys, ev->timestamp_ms, seq, m->port,
                     has_xfer, has_xfer ? xfer : 0, ip_flags,
                     ip_flags == R_IP4 ? m->ip + 12 : m->ip);
}
