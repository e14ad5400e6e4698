/* SPDX-License-Identifier: Apache-2.0 */
/* The sequence engine: decode, normalise, filter, per-host time (reorder
 * buffer, watermark, lateness, max_jump), per-key EQL sequence state, and
 * the bounded alert queue.
 *
 * Exactness (SEMANTICS §1.3): per key, over the matching events e1, e2, ...
 * in (timestamp, arrival) order, at e_j (j >= runs) emit [e_{j-runs+1} ..
 * e_j] exactly when ts(e_j) - ts(e_{j-runs+1}) <= maxspan.  A key keeps the
 * last runs-1 events in a ring.  A ring entry older than (current - maxspan)
 * can never start or join a passing window again, so it is dropped; a ring
 * that is short after drops emits nothing, which is exactly the closed form
 * (the true window would contain the dropped event and fail maxspan). */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <glib.h>

#include "alert/alert-pack.h"
#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/ecs-json.h"
#include "input/wire.h"
#include "rule/rule.h"
#include "score/tracker.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/pool.h"

#define MIN_TS INT64_C(0)                /* 1970-01-01 */
#define MAX_TS INT64_C(253402300799999)  /* 9999-12-31T23:59:59.999Z */
#define MAX_KEY_VALUES 64               /* distinct key values one event joins */
#define SHARD_SEED UINT64_C(0x54313037315f7368) /* fixed: shards are stable across runs */

/* ===== A small chained hash table, seeded ===== */

struct hnode {
    struct hnode *next;
    uint64_t hash;
    uint32_t len;
    uint32_t aux;               /* key atoms: references */
};

struct htable {
    struct hnode **buckets;
    size_t mask;    /* buckets - 1 */
    size_t count;
    size_t str_off; /* a node's string is at this offset from the node */
};

static int
ht_init(struct htable *t, size_t n, size_t str_off)
{
    t->buckets = calloc(n, sizeof(*t->buckets));
    t->mask = n - 1;
    t->count = 0;
    t->str_off = str_off;
    return t->buckets ? T1071_OK : T1071_E_NOMEM;
}

static struct hnode *
ht_find(const struct htable *t, uint64_t hash, const char *s, size_t len)
{
    for (struct hnode *n = t->buckets[hash & t->mask]; n; n = n->next)
        if (n->hash == hash && n->len == len && !memcmp((const char *)n + t->str_off, s, len))
            return n;
    return NULL;
}

static void
ht_grow(struct htable *t)
{
    size_t nb = (t->mask + 1) * 2;
    struct hnode **b = calloc(nb, sizeof(*b));

    if (!b)
        return; /* keep the old, longer chains: still correct */
    for (size_t i = 0; i <= t->mask; i++) {
        struct hnode *n = t->buckets[i];
        while (n) {
            struct hnode *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = nb - 1;
}

static void
ht_insert(struct htable *t, struct hnode *n)
{
    if (t->count >= t->mask + 1)
        ht_grow(t);
    n->next = t->buckets[n->hash & t->mask];
    t->buckets[n->hash & t->mask] = n;
    t->count++;
}

static void
ht_remove(struct htable *t, struct hnode *n)
{
    struct hnode **pp = &t->buckets[n->hash & t->mask];

    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = n->next;
        t->count--;
    }
}

/* ===== State ===== */

struct key;

struct host {
    struct hnode node;          /* keyed by host.id, else host.name, else ""; first */
    struct host *next;          /* creation order, for deterministic flushes */
    bool has_max;
    bool has_held;              /* a suspect far-future event, held */
    bool first_open;            /* only one event yet: its clock unconfirmed */
    int64_t max_ts;             /* newest timestamp seen from this host */
    struct rec **heap;          /* reorder buffer: min-heap on (ts, seq) */
    size_t heap_n, heap_cap;
    int64_t held_ts;
    struct rec *held;           /* NULL when the held event did not match */
    int64_t first_ts;
    struct rec *first;          /* that event (a reference), or NULL */
    struct key *lru_head, *lru_tail; /* keys by last event time, oldest first */
    char name[];
};

/* A key value, interned: one copy per distinct value, shared by the key
 * of that value (when it exists) and every pending event that joins it.
 * Lives while referenced (node.aux counts references). */
struct katom {
    struct hnode node;          /* in ctx->keys */
    struct key *key;            /* the live key of this value, or NULL */
    char str[];
};

/* What the engine keeps of a matching event: a compact record, one
 * allocation.  After the header: the atoms of the key values it joins
 * (deduplicated), then the transfer size (R_XFER) and the full port
 * (R_WIDE_PORT) when present, the destination address in binary (R_IP4:
 * 4 bytes, R_IP6: 16; its text is formatted when read), then the strings
 * id, ip (only when the text is not what the binary formats to: restored
 * from a snapshot), domain, host_name, host_id, pname, exe, each
 * NUL-terminated, absent ones left out.  The
 * alert and tracker code read a struct t1071i_pev view of it (rec_view). */
struct rec {
    int64_t ts;
    uint64_t seq;               /* arrival ordinal: ties keep arrival order */
    uint16_t refs;
    uint8_t n_keys;             /* <= MAX_KEY_VALUES */
    uint8_t flags;
    int32_t port;               /* the destination.port that matched, unless R_WIDE_PORT */
    uint8_t len[7];             /* string i: 0 absent, else strlen + 1; REC_LONG: strlen it */
    uint8_t spare;
    struct katom *keys[];
};

#define R_XFER 1u
#define R_WIDE_PORT 2u
#define R_IP4 4u
#define R_IP6 8u
#define REC_LONG 255u
/* refs is 16 bits: a live record has at most a few dozen references (its
 * keys, the fallback key, heap or held/first slot); restore refuses a
 * snapshot that would take one past this. */
#define REC_REFS_MAX (UINT16_MAX - T1071I_MAX_RUNS)
#define REC_STRS 7

struct key {
    struct katom *atom;         /* its value */
    struct host *host;
    struct key *prev, *next;    /* host list, by last event time (expiry) */
    struct key *gprev, *gnext;  /* global eviction list of its tier */
    struct t1071i_kbeacon *beacon; /* beacon tracker state (lib/tracker.c), or NULL */
    int64_t last_ts;
    uint16_t head, count;       /* ring of the last runs-1 members (runs <= T1071I_MAX_RUNS) */
    uint8_t tier;               /* 0: at most one member (cold), 1: more */
    bool proven;                /* re-created after eviction: recurrent */
    struct rec *ring[];         /* runs - 1 slots */
};

struct qalert {
    size_t len;
    uint8_t data[];
};

/* Eviction tiers: a flood of one-event junk keys churns tier 0 and never
 * pushes out a key holding a partial sequence (tier 1). */
struct tier {
    struct key *head, *tail;    /* least recently used first */
};

/* Hashes of recently evicted keys (direct-mapped, lossy).  A key that comes
 * back after eviction is recurrent, like a beacon, unlike one-shot junk:
 * it goes straight to the protected tier (2Q's ghost list). */
#define GHOSTS 8192

struct t1071_ctx {
    struct t1071_config *cfg;
    struct tier tiers[2];
    uint64_t *ghosts;
    uint64_t seed;
    struct htable hosts, keys;
    struct host *hosts_first, *hosts_last;
    int64_t floor;              /* t1071_advance(): nothing older may come */
    bool has_floor;
    struct key *pinned;         /* the key being stepped: never evicted */
    struct qalert **queue;
    size_t q_n, q_cap;
    uint64_t stats[T1071I_STAT_COUNT];
    char errmsg[256];
    struct rec **members;        /* scratch: one sequence's members */
    struct t1071i_pev **window;  /* scratch: their views, for the alert */
    struct t1071i_pev *views;
    struct t1071i_mlen *mlens;   /* scratch: their string lengths */
    const char **vkeys;          /* scratch: the views' key values */
    size_t vkeys_cap;
    struct t1071i_tracker *tracker; /* NULL: beacon.enabled = false */
    struct t1071i_wire *wire;    /* zero-copy decoder (lib/wire.c), made on first use */
    struct t1071i_pool *pool;    /* pending event records (lib/pool.c) */
    bool wire_unusable;          /* schema it cannot read: protobuf-c decodes */
    /* Several rules (t1071_config_add_rule): one whole engine state per
     * rule, each event fanned out to all, alerts moved into this queue. */
    struct t1071_ctx **rules;
    size_t n_rules;
};

/* Several rules (end of file): fan-out, per-rule states, counters. */
static int rules_event(struct t1071_ctx *ctx, const t1071i_event *ev);
static int rules_advance(struct t1071_ctx *ctx, int64_t t);
static int rules_init(struct t1071_ctx *ctx);
static uint64_t rules_stat(const struct t1071_ctx *ctx, int id);
static int rules_snapshot(const struct t1071_ctx *ctx, struct t1071_buffer **out);
static int rules_restore(struct t1071_ctx **out, const uint8_t *buf, size_t len);
#define RULES_MAGIC "T1071MRS"

struct t1071_alert_batch {
    size_t n;
    struct qalert **items;
    char **json;
    size_t *json_len;
};

static void
mem_add(struct t1071_ctx *ctx, size_t n)
{
    ctx->stats[T1071_STAT_MEMORY_BYTES] += n;
    if (ctx->stats[T1071_STAT_MEMORY_BYTES] > ctx->stats[T1071_STAT_MEMORY_PEAK_BYTES])
        ctx->stats[T1071_STAT_MEMORY_PEAK_BYTES] = ctx->stats[T1071_STAT_MEMORY_BYTES];
}

static void
mem_sub(struct t1071_ctx *ctx, size_t n)
{
    ctx->stats[T1071_STAT_MEMORY_BYTES] -= n;
}

static void
mem_delta(struct t1071_ctx *ctx, int64_t d)
{
    if (d >= 0)
        mem_add(ctx, (size_t)d);
    else
        mem_sub(ctx, (size_t)-d);
}

static void
set_err(struct t1071_ctx *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
set_err(struct t1071_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
    va_end(ap);
}

static bool make_room(struct t1071_ctx *ctx, size_t need);

/* ===== Key atoms ===== */

static size_t
atom_bytes(const struct katom *a)
{
    return sizeof(*a) + a->node.len + 1;
}

/* The atom of @p s (length @p len, hash @p h), or NULL when none exists. */
static struct katom *
atom_find(const struct t1071_ctx *ctx, uint64_t h, const char *s, size_t len)
{
    return (struct katom *)ht_find(&ctx->keys, h, s, len);
}

/* The atom of @p s, created (unreferenced) when missing; NULL when out of
 * memory.  The caller takes a reference (atom_ref) at once. */
static struct katom *
atom_get(struct t1071_ctx *ctx, uint64_t h, const char *s, size_t len)
{
    struct katom *a = atom_find(ctx, h, s, len);

    if (a)
        return a;
    a = malloc(sizeof(*a) + len + 1);
    if (!a)
        return NULL;
    memcpy(a->str, s, len);
    a->str[len] = '\0';
    a->node.hash = h;
    a->node.len = (uint32_t)len;
    a->node.aux = 0;
    a->key = NULL;
    ht_insert(&ctx->keys, &a->node);
    mem_add(ctx, atom_bytes(a));
    return a;
}

static void
atom_unref(struct t1071_ctx *ctx, struct katom *a)
{
    if (--a->node.aux == 0) {
        ht_remove(&ctx->keys, &a->node);
        mem_sub(ctx, atom_bytes(a));
        free(a);
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
static const char *
format_ip(bool v4, const uint8_t *a, char buf[INET6_ADDRSTRLEN])
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
static struct t1071i_mlen
rec_lens(const struct rec *r)
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
static void
rec_view(const struct rec *r, struct t1071i_pev *v, const char **keys)
{
    const char *strs[REC_STRS];

    rec_strs(r, strs);
    /* Every field but the scratch ipbuf (written only when used). */
    v->refs = 1;
    v->bytes = 0;
    v->n_keys = r->n_keys;
    v->ts = r->ts;
    v->seq = r->seq;
    v->port = (r->flags & R_WIDE_PORT) ? rec_tail_i64(r, R_WIDE_PORT) : r->port;
    v->has_xfer = (r->flags & R_XFER) != 0;
    v->xfer = v->has_xfer ? rec_tail_i64(r, R_XFER) : 0;
    v->id = strs[0];
    v->ip = strs[1];
    if (r->flags & (R_IP4 | R_IP6))
        v->ip = format_ip((r->flags & R_IP4) != 0, rec_ip(r), v->ipbuf);
    v->domain = strs[2];
    v->host_name = strs[3];
    v->host_id = strs[4];
    v->pname = strs[5];
    v->exe = strs[6];
    for (uint32_t i = 0; i < r->n_keys; i++)
        keys[i] = r->keys[i]->str;
    v->keys = keys;
}

static void
pev_unref(struct t1071_ctx *ctx, struct rec *p)
{
    if (p && --p->refs == 0) {
        size_t bytes = rec_size(p);
        for (uint32_t i = 0; i < p->n_keys; i++)
            atom_unref(ctx, p->keys[i]);
        mem_sub(ctx, bytes);
        t1071i_pool_put(ctx->pool, p, bytes);
    }
}

/* One allocation holding the record, its key atoms and every string.
 * strs[]: id, ip, domain, host_name, host_id, pname, exe (NULL = absent). */
/* @p ip_flags: R_IP4 or R_IP6 when @p ip holds the destination address in
 * binary (strs[1] is then NULL), else 0. */
static struct rec *
pev_alloc(struct t1071_ctx *ctx, const char *const strs[REC_STRS], const char *const *keys,
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
    p->spare = 0;
    for (size_t i = 0; i < n_keys; i++) {
        struct katom *a =
            atom_get(ctx, t1071i_hash(ctx->seed, keys[i], key_lens[i]), keys[i], key_lens[i]);
        if (!a) {
            for (size_t j = 0; j < i; j++)
                atom_unref(ctx, p->keys[j]);
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
static struct rec *
pev_new(struct t1071_ctx *ctx, const t1071i_event *ev, const struct t1071i_match *m,
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
    has_xfer = t1071i_event_xfer(ev, &xfer);
    return pev_alloc(ctx, strs, keys, key_lens, n_keys, ev->timestamp_ms, seq, m->port,
                     has_xfer, has_xfer ? xfer : 0, ip_flags,
                     ip_flags == R_IP4 ? m->ip + 12 : m->ip);
}

/* ===== Hosts ===== */

static const char *
event_host(const t1071i_event *ev)
{
    if (ev->host_id)
        return ev->host_id;
    if (ev->host_name)
        return ev->host_name;
    return "";
}

static struct host *
host_get(struct t1071_ctx *ctx, const char *name)
{
    size_t len = strlen(name);
    uint64_t h = t1071i_hash(ctx->seed, name, len);
    struct hnode *n = ht_find(&ctx->hosts, h, name, len);
    struct host *host;

    if (n)
        return (struct host *)n;
    if (!make_room(ctx, sizeof(*host) + len + 1))
        return NULL;
    host = calloc(1, sizeof(*host) + len + 1);
    if (!host)
        return NULL;
    memcpy(host->name, name, len + 1);
    host->node.hash = h;
    host->node.len = (uint32_t)len;
    ht_insert(&ctx->hosts, &host->node);
    if (ctx->hosts_last)
        ctx->hosts_last->next = host;
    else
        ctx->hosts_first = host;
    ctx->hosts_last = host;
    ctx->stats[T1071_STAT_HOSTS]++;
    mem_add(ctx, sizeof(*host) + len + 1);
    return host;
}

static bool
heap_less(const struct rec *a, const struct rec *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static int
heap_push(struct t1071_ctx *ctx, struct host *h, struct rec *p)
{
    size_t i;

    if (h->heap_n == h->heap_cap) {
        size_t nc = h->heap_cap ? h->heap_cap * 2 : 16;
        struct rec **nh = realloc(h->heap, nc * sizeof(*nh));
        if (!nh)
            return T1071_E_NOMEM;
        h->heap = nh;
        h->heap_cap = nc;
    }
    /* The budget counts slots in use, not capacity: capacity depends on
     * history, and a restored context must account exactly the same. */
    (void)make_room(ctx, sizeof(*h->heap));
    mem_add(ctx, sizeof(*h->heap));
    i = h->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(p, h->heap[parent]))
            break;
        h->heap[i] = h->heap[parent];
        i = parent;
    }
    h->heap[i] = p;
    ctx->stats[T1071_STAT_EVENTS_BUFFERED]++;
    return T1071_OK;
}

static void
heap_sift_down(struct host *h, size_t i)
{
    struct rec *x = h->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->heap_n)
            break;
        if (c + 1 < h->heap_n && heap_less(h->heap[c + 1], h->heap[c]))
            c++;
        if (!heap_less(h->heap[c], x))
            break;
        h->heap[i] = h->heap[c];
        i = c;
    }
    h->heap[i] = x;
}

static struct rec *
heap_pop(struct t1071_ctx *ctx, struct host *h)
{
    struct rec *top = h->heap[0];

    h->heap[0] = h->heap[--h->heap_n];
    if (h->heap_n > 0)
        heap_sift_down(h, 0);
    mem_sub(ctx, sizeof(*h->heap));
    ctx->stats[T1071_STAT_EVENTS_BUFFERED]--;
    return top;
}

/* ===== Keys ===== */

static void
lru_unlink(struct host *h, struct key *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        h->lru_head = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        h->lru_tail = k->prev;
    k->prev = k->next = NULL;
}

static void
lru_append(struct host *h, struct key *k)
{
    k->prev = h->lru_tail;
    k->next = NULL;
    if (h->lru_tail)
        h->lru_tail->next = k;
    else
        h->lru_head = k;
    h->lru_tail = k;
}

static void
tier_unlink(struct t1071_ctx *ctx, struct key *k)
{
    struct tier *t = &ctx->tiers[k->tier];

    if (k->gprev)
        k->gprev->gnext = k->gnext;
    else
        t->head = k->gnext;
    if (k->gnext)
        k->gnext->gprev = k->gprev;
    else
        t->tail = k->gprev;
    k->gprev = k->gnext = NULL;
}

static void
tier_append(struct t1071_ctx *ctx, struct key *k)
{
    struct tier *t;

    k->tier = k->count > 1 || k->proven ? 1 : 0;
    t = &ctx->tiers[k->tier];
    k->gprev = t->tail;
    k->gnext = NULL;
    if (t->tail)
        t->tail->gnext = k;
    else
        t->head = k;
    t->tail = k;
}

static size_t
ring_cap(const struct t1071_ctx *ctx)
{
    return ctx->cfg->runs - 1;
}

/* Bytes of a key (its value is its atom's). */
static size_t
key_bytes(const struct t1071_ctx *ctx)
{
    return sizeof(struct key) + ring_cap(ctx) * sizeof(struct rec *);
}

static void
key_free(struct t1071_ctx *ctx, struct key *k)
{
    size_t cap = ring_cap(ctx);

    tier_unlink(ctx, k);
    for (uint32_t i = 0; i < k->count; i++)
        pev_unref(ctx, k->ring[(k->head + i) % cap]);
    mem_sub(ctx, key_bytes(ctx));
    mem_sub(ctx, t1071i_tracker_free_key(k->beacon));
    k->atom->key = NULL;
    atom_unref(ctx, k->atom);
    free(k);
    ctx->stats[T1071_STAT_KEYS]--;
}

/* Unlink and free a key: expiry and eviction. */
static void
key_drop(struct t1071_ctx *ctx, struct key *k)
{
    lru_unlink(k->host, k);
    key_free(ctx, k);
}

/* Memory budget (engine.memory_limit): evict keys until @p need more
 * bytes fit: cold ones (at most one member) first, newest first, then
 * the least recently used of the rest.
 * Returns false when nothing is left to evict. */
static bool
make_room(struct t1071_ctx *ctx, size_t need)
{
    uint64_t limit = ctx->cfg->memory_limit;

    while (limit && ctx->stats[T1071_STAT_MEMORY_BYTES] + need > limit) {
        /* Cold keys newest first: a flood of one-shot keys then churns
         * only itself, and keys that were there before it (an implant
         * after its first beat) stay.  Then the least recently used. */
        struct key *k = ctx->tiers[0].tail;
        if (k && k == ctx->pinned)
            k = k->gprev;
        if (!k) {
            k = ctx->tiers[1].head;
            if (k && k == ctx->pinned)
                k = k->gnext;
        }
        if (!k)
            return false;
        ctx->ghosts[k->atom->node.hash & (GHOSTS - 1)] = k->atom->node.hash;
        key_drop(ctx, k);
        ctx->stats[T1071_STAT_KEYS_EVICTED]++;
    }
    return true;
}

/* The key of atom @p a (referenced by the caller), created when missing. */
static struct key *
key_get(struct t1071_ctx *ctx, struct katom *a, struct host *host)
{
    uint64_t h = a->node.hash;
    struct key *k = a->key;

    if (k) {
        if (k->host != host) {
            /* An entity id is host-local; if one shows up under another
             * host, its state follows the newest host's clock. */
            lru_unlink(k->host, k);
            k->host = host;
            lru_append(host, k);
        }
        return k;
    }
    if (!make_room(ctx, key_bytes(ctx)))
        return NULL;
    k = calloc(1, key_bytes(ctx));
    if (!k)
        return NULL;
    k->atom = a;
    a->node.aux++;
    a->key = k;
    k->host = host;
    k->proven = ctx->ghosts[h & (GHOSTS - 1)] == h;
    lru_append(host, k);
    tier_append(ctx, k);
    ctx->stats[T1071_STAT_KEYS]++;
    mem_add(ctx, key_bytes(ctx));
    return k;
}

/* The key of value @p value, created (with its atom) when missing. */
static struct key *
key_get_value(struct t1071_ctx *ctx, const char *value, struct host *host)
{
    size_t len = strlen(value);
    struct katom *a = atom_get(ctx, t1071i_hash(ctx->seed, value, len), value, len);
    struct key *k;

    if (!a)
        return NULL;
    a->node.aux++;
    k = key_get(ctx, a, host);
    atom_unref(ctx, a);
    return k;
}

/* ===== Alert queue ===== */

/* Room in the queue array for one more alert. */
static int
queue_reserve(struct t1071_ctx *ctx)
{
    if (ctx->q_n == ctx->q_cap) {
        size_t nc = ctx->q_cap ? ctx->q_cap * 2 : 64;
        struct qalert **nq = realloc(ctx->queue, nc * sizeof(*nq));
        if (!nq)
            return T1071_E_NOMEM;
        ctx->queue = nq;
        ctx->q_cap = nc;
    }
    return T1071_OK;
}

static void
queue_append(struct t1071_ctx *ctx, struct qalert *q)
{
    ctx->queue[ctx->q_n++] = q;
    ctx->stats[T1071_STAT_ALERTS_QUEUED]++;
    mem_add(ctx, sizeof(*q) + q->len);
}

static int
queue_push(struct t1071_ctx *ctx, uint8_t *data, size_t len)
{
    struct qalert *q;
    int rc = queue_reserve(ctx);

    if (rc != T1071_OK)
        return rc;
    /* Alerts are never dropped for the budget: keys make way for them. */
    (void)make_room(ctx, sizeof(*q) + len);
    q = malloc(sizeof(*q) + len);
    if (!q)
        return T1071_E_NOMEM;
    q->len = len;
    if (len)
        memcpy(q->data, data, len);
    queue_append(ctx, q);
    return T1071_OK;
}

/* Queue @p q, an alert built in place (t1071i_alert_build_at): the same
 * steps and accounting as queue_push, without the copy. */
static int
queue_push_block(struct t1071_ctx *ctx, struct qalert *q)
{
    int rc = queue_reserve(ctx);

    if (rc != T1071_OK) {
        free(q);
        return rc;
    }
    (void)make_room(ctx, sizeof(*q) + q->len);
    queue_append(ctx, q);
    return T1071_OK;
}

static bool
queue_full(const struct t1071_ctx *ctx)
{
    return ctx->q_n >= ctx->cfg->alert_queue;
}

/* ===== The sequence step ===== */

static int
emit(struct t1071_ctx *ctx, struct key *k, struct rec *last)
{
    size_t cap = ring_cap(ctx), n = 0, nk = 0;
    uint8_t *block = NULL;
    size_t pb_len = 0;
    struct qalert *q;
    struct t1071i_judgement j, *jp = NULL;
    struct rec **w = ctx->members;
    int rc;

    /* Members are old events, cold in memory: start every load at once
     * (the record and the strings stored after it) rather than missing
     * the cache once per member while reading them. */
    for (uint32_t i = 0; i < k->count; i++) {
        struct rec *m = k->ring[(k->head + i) % cap];
        __builtin_prefetch(m);
        __builtin_prefetch((const char *)m + 64);
        w[n++] = m;
        nk += m->n_keys;
    }
    w[n++] = last;
    nk += last->n_keys;
    if (nk > ctx->vkeys_cap) {
        const char **nv = realloc(ctx->vkeys, nk * sizeof(*nv));
        if (!nv)
            return T1071_E_NOMEM;
        ctx->vkeys = nv;
        ctx->vkeys_cap = nk;
    }
    nk = 0;
    for (size_t i = 0; i < n; i++) {
        rec_view(w[i], &ctx->views[i], ctx->vkeys + nk);
        ctx->mlens[i] = rec_lens(w[i]);
        nk += w[i]->n_keys;
        ctx->window[i] = &ctx->views[i];
    }
    if (ctx->tracker) {
        /* Beacon score and tuning verdict (lib/tracker.c). */
        jp = &j;
        t1071i_tracker_judge(ctx->tracker, k->beacon, ctx->window, n, &j);
        if (j.suppressed) {
            ctx->stats[T1071_STAT_ALERTS_SUPPRESSED]++;
            if (!ctx->cfg->tun.emit_suppressed)
                return T1071_OK;
        }
    }
    /* Built straight into its queue entry (malloc: the batch frees it). */
    rc = t1071i_alert_build_at(ctx->cfg, k->atom->str, ctx->window, n,
                               ctx->stats[T1071_STAT_ALERTS] + 1, jp, ctx->mlens, malloc,
                               offsetof(struct qalert, data), &block, &pb_len);
    if (rc != T1071_OK)
        return rc;
    q = (struct qalert *)(void *)block;
    q->len = pb_len;
    rc = queue_push_block(ctx, q);
    if (rc == T1071_OK)
        ctx->stats[T1071_STAT_ALERTS]++;
    return rc;
}

/* Feed @p v (the view of the event being run) to key @p k's beacon
 * state; counted in the budget. */
static void
track(struct t1071_ctx *ctx, struct key *k, const struct t1071i_pev *v, bool fallback)
{
    int64_t d = 0;

    ctx->pinned = k; /* making room must not evict the key being fed */
    (void)make_room(ctx, t1071i_tracker_need(ctx->tracker, v));
    ctx->pinned = NULL;
    (void)t1071i_tracker_observe(ctx->tracker, &k->beacon, fallback, v, &d);
    mem_delta(ctx, d);
}

static int step_key(struct t1071_ctx *ctx, struct host *host, struct rec *p,
                    const struct t1071i_pev *v, struct katom *atom, const char *value,
                    bool fallback);

static int
run_event(struct t1071_ctx *ctx, struct host *host, struct rec *p)
{
    struct t1071i_pev view, *v = NULL;
    const char *vkeys[MAX_KEY_VALUES];
    int rc = T1071_OK;

    if (ctx->tracker) {
        int64_t d = 0;
        rec_view(p, &view, vkeys);
        v = &view;
        t1071i_tracker_observe_event(ctx->tracker, v, &d);
        mem_delta(ctx, d);
    }
    for (uint32_t i = 0; i < p->n_keys; i++) {
        int erc = step_key(ctx, host, p, v, p->keys[i], NULL, false);
        if (erc != T1071_OK)
            rc = erc;
    }
    if (ctx->tracker) {
        /* tuning.fallback_key: host + executable, a key of its own. */
        const char *fk = t1071i_tracker_fallback_key(ctx->tracker, v);
        if (fk) {
            int erc = step_key(ctx, host, p, v, NULL, fk, true);
            if (erc != T1071_OK)
                rc = erc;
        }
    }
    return rc;
}

/* The sequence step of @p p (view @p v when the tracker is on) under one
 * key value: atom @p atom, or else the string @p value. */
static int
step_key(struct t1071_ctx *ctx, struct host *host, struct rec *p, const struct t1071i_pev *v,
         struct katom *atom, const char *value, bool fallback)
{
    size_t cap = ring_cap(ctx);
    int64_t maxspan = ctx->cfg->maxspan_ms;
    int rc = T1071_OK;

    {
        struct key *k = atom ? key_get(ctx, atom, host) : key_get_value(ctx, value, host);
        if (!k) {
            ctx->stats[T1071_STAT_EVENTS_DROPPED_MEMORY]++;
            return T1071_E_NOMEM;
        }
        /* Everything this step touches is scattered over the heap: the
         * ring, its oldest member, and the neighbours the two list moves
         * below write to.  Start those loads together, not one miss after
         * another. */
        if (cap && k->count)
            __builtin_prefetch(k->ring[k->head]);
        __builtin_prefetch(k->prev, 1);
        __builtin_prefetch(k->next, 1);
        __builtin_prefetch(k->gprev, 1);
        __builtin_prefetch(k->gnext, 1);
        /* Drop members that no window ending here or later can hold. */
        while (k->count > 0 && p->ts - k->ring[k->head]->ts > maxspan) {
            pev_unref(ctx, k->ring[k->head]);
            k->head = (uint16_t)((k->head + 1) % cap);
            k->count--;
        }
        if (ctx->tracker)
            track(ctx, k, v, fallback);
        if (k->count == cap) {
            /* Emitting may need room: the budget must not evict the key
             * whose sequence is being emitted. */
            ctx->pinned = k;
            int erc = emit(ctx, k, p);
            ctx->pinned = NULL;
            if (erc != T1071_OK)
                rc = erc;
            if (cap) {
                pev_unref(ctx, k->ring[k->head]);
                k->head = (uint16_t)((k->head + 1) % cap);
                k->count--;
            }
        }
        if (cap) {
            p->refs++;
            k->ring[(k->head + k->count) % cap] = p;
            k->count++;
        }
        k->last_ts = p->ts;
        lru_unlink(k->host, k);
        lru_append(k->host, k);
        tier_unlink(ctx, k);
        tier_append(ctx, k);
    }
    return rc;
}

/* ===== Time ===== */

static bool
watermark(const struct t1071_ctx *ctx, const struct host *h, int64_t *w)
{
    bool has = false;

    if (h->has_max) {
        *w = h->max_ts - ctx->cfg->lateness_ms;
        has = true;
    }
    if (ctx->has_floor && (!has || ctx->floor > *w)) {
        *w = ctx->floor;
        has = true;
    }
    return has;
}

/* Run every buffered event of @p h at or before its watermark, then free
 * keys whose newest member fell out of maxspan behind it. */
static int
release(struct t1071_ctx *ctx, struct host *h)
{
    int64_t w;
    int rc = T1071_OK;

    if (!watermark(ctx, h, &w))
        return T1071_OK;
    while (h->heap_n > 0 && h->heap[0]->ts <= w) {
        struct rec *p = heap_pop(ctx, h);
        int erc = run_event(ctx, h, p);
        if (erc != T1071_OK)
            rc = erc;
        pev_unref(ctx, p);
    }
    /* Every event still to run here has ts >= w, so a key whose newest
     * member is older than w - maxspan can never complete a window.  Its
     * beacon history (beacon.horizon) may be kept longer. */
    int64_t keep = ctx->cfg->maxspan_ms;
    if (ctx->tracker && ctx->cfg->tun.beacon_enabled && ctx->cfg->tun.horizon_ms > keep)
        keep = ctx->cfg->tun.horizon_ms;
    if (w > INT64_MIN + keep) {
        int64_t horizon = w - keep;
        while (h->lru_head && h->lru_head->last_ts < horizon) {
            key_drop(ctx, h->lru_head);
            ctx->stats[T1071_STAT_KEYS_EXPIRED]++;
        }
    }
    return rc;
}

/* An event arriving in order (not a suspect jump).  @p p is NULL for an
 * event that only moves time.  Takes ownership of @p p. */
static int
admit(struct t1071_ctx *ctx, struct host *h, int64_t ts, struct rec *p)
{
    int64_t w;
    int rc;

    if (watermark(ctx, h, &w) && ts < w) {
        ctx->stats[T1071_STAT_EVENTS_LATE]++;
        pev_unref(ctx, p);
        return T1071_OK;
    }
    if (!h->has_max || ts > h->max_ts) {
        h->max_ts = ts;
        h->has_max = true;
    }
    if (p) {
        rc = heap_push(ctx, h, p);
        if (rc != T1071_OK) {
            pev_unref(ctx, p);
            return rc;
        }
    }
    return release(ctx, h);
}

static void
take_held(struct host *h, int64_t *ts, struct rec **p)
{
    *ts = h->held_ts;
    *p = h->held;
    h->held = NULL;
    h->has_held = false;
}

/* Take @p f (a host's unconfirmed first event) back out of the state it
 * entered: its reorder buffer, or the rings of the keys it joined. */
static void
retract(struct t1071_ctx *ctx, struct host *h, struct rec *f)
{
    size_t cap = ring_cap(ctx);

    for (size_t i = 0; i < h->heap_n; i++) {
        if (h->heap[i] != f)
            continue;
        /* Replace by the last, then restore heap order (Floyd). */
        h->heap[i] = h->heap[--h->heap_n];
        for (size_t j = h->heap_n / 2; j-- > 0;)
            heap_sift_down(h, j);
        mem_sub(ctx, sizeof(*h->heap));
        ctx->stats[T1071_STAT_EVENTS_BUFFERED]--;
        pev_unref(ctx, f);
        return;
    }
    /* Its keys, and the fallback key (tuning.fallback_key) it joined too. */
    struct t1071i_pev view;
    const char *vkeys[MAX_KEY_VALUES];
    const char *fk = NULL;
    if (ctx->tracker) {
        rec_view(f, &view, vkeys);
        fk = t1071i_tracker_fallback_key(ctx->tracker, &view);
    }
    for (uint32_t i = 0; i < (uint32_t)f->n_keys + (fk != NULL); i++) {
        struct katom *a;
        if (i < f->n_keys) {
            a = f->keys[i];
        } else {
            size_t len = strlen(fk);
            a = atom_find(ctx, t1071i_hash(ctx->seed, fk, len), fk, len);
        }
        struct key *k = a ? a->key : NULL;
        uint32_t kept = 0;
        int64_t newest = INT64_MIN;
        if (!k)
            continue;
        for (uint32_t j = 0; j < k->count; j++) {
            struct rec *q = k->ring[(k->head + j) % cap];
            if (q == f) {
                pev_unref(ctx, f);
                continue;
            }
            k->ring[(k->head + kept++) % cap] = q;
            if (q->ts > newest)
                newest = q->ts;
        }
        k->count = kept;
        if (kept == 0 && k->last_ts == f->ts)
            key_drop(ctx, k);  /* it held nothing but the suspect */
        else if (kept > 0)
            k->last_ts = newest;
    }
}

static int
on_time(struct t1071_ctx *ctx, struct host *h, int64_t ts, struct rec *p)
{
    int64_t jump = ctx->cfg->max_jump_ms;
    int rc;

    if (!h->has_max && !h->has_held) {
        /* A host's first event runs at once, but its clock stays open to
         * question until the next event: no other host's time is a
         * reference (hosts never interact; sharded contexts must see what
         * one context sees). */
        if (h->first_open)
            pev_unref(ctx, h->first); /* an earlier first event was late: replaced */
        h->first_open = true;
        h->first_ts = ts;
        h->first = p;
        if (p)
            p->refs++;
        return admit(ctx, h, ts, p);
    }
    if (h->first_open) {
        struct rec *f = h->first;
        h->first_open = false;
        h->first = NULL;
        if (ts < h->first_ts && h->first_ts - ts > jump) {
            /* The first event was a forward jump from this one: it is the
             * suspect (a forged first event would otherwise blind the
             * host).  Take it back, restart the clock from this event,
             * and hold it as any suspect is held. */
            ctx->stats[T1071_STAT_EVENTS_SUSPECT]++;
            if (f)
                retract(ctx, h, f);
            h->has_max = false;
            h->has_held = true;
            h->held_ts = h->first_ts;
            h->held = f;
            return admit(ctx, h, ts, p);
        }
        pev_unref(ctx, f);
    }
    if (h->has_max && ts - h->max_ts > jump) {
        ctx->stats[T1071_STAT_EVENTS_SUSPECT]++;
        if (h->has_held && (ts > h->held_ts ? ts - h->held_ts : h->held_ts - ts) <= jump) {
            /* A second event near the first: the host's clock really
             * moved (a machine back from a long idle).  Admit both, in
             * time order. */
            int64_t hts;
            struct rec *hp;
            take_held(h, &hts, &hp);
            if (hts <= ts) {
                rc = admit(ctx, h, hts, hp);
                int rc2 = admit(ctx, h, ts, p);
                return rc != T1071_OK ? rc : rc2;
            }
            rc = admit(ctx, h, ts, p);
            int rc2 = admit(ctx, h, hts, hp);
            return rc != T1071_OK ? rc : rc2;
        }
        /* Hold it: it neither moves the watermark nor runs until another
         * event confirms the jump, time catches up, or t1071_advance()
         * passes it.  An older held suspect is dropped. */
        if (h->has_held) {
            ctx->stats[T1071_STAT_SUSPECT_DROPPED]++;
            pev_unref(ctx, h->held);
        }
        h->has_held = true;
        h->held_ts = ts;
        h->held = p;
        return T1071_OK;
    }
    rc = admit(ctx, h, ts, p);
    if (h->has_held && h->has_max && h->held_ts - h->max_ts <= jump) {
        int64_t hts;
        struct rec *hp;
        take_held(h, &hts, &hp);
        int rc2 = admit(ctx, h, hts, hp);
        if (rc == T1071_OK)
            rc = rc2;
    }
    return rc;
}

/* ===== Keys of an event ===== */

struct keyvals {
    size_t n;
    const char *v[MAX_KEY_VALUES];
    size_t len[MAX_KEY_VALUES];
    char *joined; /* compound keys: owned */
    size_t dropped; /* distinct values past MAX_KEY_VALUES */
};

static void
field_values(const t1071i_event *ev, enum t1071i_field f, char *const **vals, size_t *n,
             const char **single)
{
    *vals = NULL;
    *n = 0;
    *single = NULL;
    switch (f) {
    case T1071I_F_PROCESS_ENTITY_ID:
        *vals = ev->process_entity_id;
        *n = ev->n_process_entity_id;
        break;
    case T1071I_F_PROCESS_NAME:
        *vals = ev->process_name;
        *n = ev->n_process_name;
        break;
    case T1071I_F_SOURCE_IP:
        *vals = ev->source_ip;
        *n = ev->n_source_ip;
        break;
    case T1071I_F_PROCESS_EXECUTABLE:
        *single = ev->process_executable;
        break;
    case T1071I_F_HOST_ID:
        *single = ev->host_id;
        break;
    case T1071I_F_HOST_NAME:
        *single = ev->host_name;
        break;
    case T1071I_F_USER_NAME:
        *single = ev->user_name;
        break;
    default:
        break;
    }
}

/* The key values an event joins: each distinct value of a single key
 * field (a multi-valued key joins each value separately), or for a
 * compound key the first value of each field joined with U+001F.  A
 * missing field gives no key. */
static void
event_keys(const struct t1071_config *cfg, const t1071i_event *ev, struct keyvals *kv)
{
    kv->n = 0;
    kv->dropped = 0;
    kv->joined = NULL;
    if (cfg->n_key_fields == 1) {
        char *const *vals;
        size_t n;
        const char *single;
        field_values(ev, cfg->key_fields[0], &vals, &n, &single);
        if (single) {
            kv->v[0] = single;
            kv->len[0] = strlen(single);
            kv->n = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(vals[i]);
            bool dup = false;
            for (size_t j = 0; j < kv->n && !dup; j++)
                dup = kv->len[j] == len && !memcmp(kv->v[j], vals[i], len);
            if (dup)
                continue;
            if (kv->n == MAX_KEY_VALUES) {
                kv->dropped++;
                continue;
            }
            kv->v[kv->n] = vals[i];
            kv->len[kv->n++] = len;
        }
        return;
    }
    {
        GString *s = g_string_new(NULL);
        for (size_t f = 0; f < cfg->n_key_fields; f++) {
            char *const *vals;
            size_t n;
            const char *single;
            field_values(ev, cfg->key_fields[f], &vals, &n, &single);
            if (!single && n > 0)
                single = vals[0];
            if (!single) {
                g_string_free(s, TRUE);
                return;
            }
            if (f)
                g_string_append_c(s, '\x1f');
            g_string_append(s, single);
        }
        kv->len[0] = s->len;
        kv->joined = g_string_free(s, FALSE);
        kv->v[0] = kv->joined;
        kv->n = 1;
    }
}

/* ===== Feeding ===== */

static int
process_event(struct t1071_ctx *ctx, const t1071i_event *ev)
{
    struct t1071i_match m;
    struct rec *p = NULL;
    struct host *h;
    uint64_t seq = ctx->stats[T1071_STAT_RECORDS_IN];
    int rc;

    if (ctx->n_rules)
        return rules_event(ctx, ev);
    ctx->stats[T1071_STAT_EVENTS_DECODED]++;
    if (!ev->has_timestamp_ms || ev->timestamp_ms < MIN_TS || ev->timestamp_ms > MAX_TS) {
        ctx->stats[T1071_STAT_ERR_TIMESTAMP]++;
        set_err(ctx, "record %" PRIu64 ": %s", seq,
                ev->has_timestamp_ms ? "@timestamp outside 1970..9999" : "no @timestamp");
        return T1071_E_TIMESTAMP;
    }
    /* rule.derive fills gaps (entity id, direction, flow key) in place:
     * every event reaching here was allocated by unpack or the JSON reader. */
    if (ctx->cfg->derive && t1071i_config_derive(ctx->cfg, (t1071i_event *)ev) != T1071_OK)
        return T1071_E_NOMEM;
    h = host_get(ctx, event_host(ev));
    if (!h)
        return T1071_E_NOMEM;

    if (t1071i_config_match(ctx->cfg, ev, &m)) {
        struct keyvals kv;
        event_keys(ctx->cfg, ev, &kv);
        ctx->stats[T1071_STAT_KEY_VALUES_DROPPED] += kv.dropped;
        if (kv.n == 0) {
            ctx->stats[T1071_STAT_EVENTS_NO_KEY]++;
        } else {
            ctx->stats[T1071_STAT_EVENTS_MATCHED]++;
            if (!make_room(ctx, 512)) {
                g_free(kv.joined);
                ctx->stats[T1071_STAT_EVENTS_DROPPED_MEMORY]++;
                set_err(ctx, "record %" PRIu64 ": engine.memory_limit reached", seq);
                return T1071_E_NOMEM;
            }
            p = pev_new(ctx, ev, &m, kv.v, kv.len, kv.n, seq);
            g_free(kv.joined);
            if (!p)
                return T1071_E_NOMEM;
        }
    } else {
        ctx->stats[T1071_STAT_EVENTS_FILTERED]++;
    }
    ctx->stats[T1071_STAT_MALFORMED_IP] += m.malformed_ips;
    rc = on_time(ctx, h, ev->timestamp_ms, p);
    return rc;
}

static int
feed_one(struct t1071_ctx *ctx, const uint8_t *buf, size_t len)
{
    t1071i_event *ev;
    int rc;

    ctx->stats[T1071_STAT_RECORDS_IN]++;
    if (len > ctx->cfg->max_event_bytes) {
        ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        set_err(ctx, "record %" PRIu64 ": %zu bytes, more than engine.max_event_bytes (%" PRIu32 ")",
                ctx->stats[T1071_STAT_RECORDS_IN], len, ctx->cfg->max_event_bytes);
        return T1071_E_TOO_LARGE;
    }
    /* The zero-copy reader accepts and yields exactly what protobuf-c
     * does; rule.derive edits the event in place (malloc'ed fields), so it
     * keeps the unpacked event. */
    /* A rule given as text (rule.query, added rules) may read any field:
     * then the reader materialises them all. */
    if (!ctx->cfg->derive && !ctx->wire && !ctx->wire_unusable)
        ctx->wire_unusable =
            (ctx->wire = t1071i_wire_new(ctx->cfg->rule != NULL || ctx->n_rules > 0)) == NULL;
    if (!ctx->cfg->derive && ctx->wire) {
        t1071i_event wev;
        rc = t1071i_wire_decode(ctx->wire, buf, len, &wev);
        if (rc == T1071_OK)
            return process_event(ctx, &wev);
        if (rc == T1071_E_NOMEM) {
            set_err(ctx, "record %" PRIu64 ": out of memory decoding the Event",
                    ctx->stats[T1071_STAT_RECORDS_IN]);
            return rc;
        }
        ev = NULL;
    } else {
        ev = t1071__ecs__v1__event__unpack(NULL, len, buf);
    }
    if (!ev) {
        ctx->stats[T1071_STAT_ERR_DECODE]++;
        set_err(ctx, "record %" PRIu64 ": malformed protobuf Event",
                ctx->stats[T1071_STAT_RECORDS_IN]);
        return T1071_E_DECODE;
    }
    rc = process_event(ctx, ev);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return rc;
}

T1071_API int
t1071_feed_event(t1071_ctx *ctx, const uint8_t *buf, size_t len)
{
    if (!ctx || (!buf && len))
        return T1071_E_INVALID_ARG;
    if (queue_full(ctx)) {
        ctx->stats[T1071_STAT_QUEUE_FULL]++;
        set_err(ctx, "alert queue full (%zu alerts): poll alerts, then feed again", ctx->q_n);
        return T1071_E_QUEUE_FULL;
    }
    return feed_one(ctx, buf ? buf : (const uint8_t *)"", len);
}

/* Read a base-128 varint of at most 10 bytes.  Returns bytes read, 0 when
 * the buffer ends inside it, -1 when it is malformed or over 64 bits. */
static int
read_varint(const uint8_t *p, size_t avail, uint64_t *out)
{
    uint64_t v = 0;

    for (int i = 0; i < 10; i++) {
        if ((size_t)i >= avail)
            return 0;
        if (i == 9 && p[i] > 1)
            return -1;
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return -1;
}

T1071_API int
t1071_feed_batch(t1071_ctx *ctx, const uint8_t *buf, size_t len, size_t *consumed)
{
    size_t off = 0;

    if (consumed)
        *consumed = 0;
    if (!ctx || (!buf && len))
        return T1071_E_INVALID_ARG;
    while (off < len) {
        uint64_t rlen;
        int n;
        if (queue_full(ctx)) {
            ctx->stats[T1071_STAT_QUEUE_FULL]++;
            set_err(ctx, "alert queue full (%zu alerts): poll alerts, then feed the rest",
                    ctx->q_n);
            if (consumed)
                *consumed = off;
            return T1071_E_QUEUE_FULL;
        }
        n = read_varint(buf + off, len - off, &rlen);
        if (n <= 0 || rlen > len - off - (size_t)n) {
            ctx->stats[T1071_STAT_ERR_TRUNCATED]++;
            set_err(ctx, "stream cut at byte %zu: %s", off,
                    n < 0 ? "malformed length prefix" : "record extends past the end");
            if (consumed)
                *consumed = off;
            return T1071_E_TRUNCATED;
        }
        {
            int rc = feed_one(ctx, buf + off + n, (size_t)rlen);
            /* Per-record errors are counted; the stream goes on. */
            if (rc == T1071_E_NOMEM) {
                if (consumed)
                    *consumed = off + (size_t)n + (size_t)rlen;
                return rc;
            }
        }
        off += (size_t)n + (size_t)rlen;
    }
    if (consumed)
        *consumed = off;
    return T1071_OK;
}

T1071_API int
t1071_feed_json(t1071_ctx *ctx, const char *json, size_t len)
{
    t1071i_event *ev = NULL;
    char err[160];
    int rc;

    if (!ctx || (!json && len))
        return T1071_E_INVALID_ARG;
    if (queue_full(ctx)) {
        ctx->stats[T1071_STAT_QUEUE_FULL]++;
        set_err(ctx, "alert queue full (%zu alerts): poll alerts, then feed again", ctx->q_n);
        return T1071_E_QUEUE_FULL;
    }
    ctx->stats[T1071_STAT_RECORDS_IN]++;
    if (len > T1071I_JSON_MAX_BYTES) {
        ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        set_err(ctx, "record %" PRIu64 ": JSON event of %zu bytes is too large",
                ctx->stats[T1071_STAT_RECORDS_IN], len);
        return T1071_E_TOO_LARGE;
    }
    err[0] = '\0';
    rc = t1071i_ecs_json_to_event(json ? json : "", len, &ev, err, sizeof(err));
    if (rc == T1071_OK && t1071__ecs__v1__event__get_packed_size(ev) > ctx->cfg->max_event_bytes) {
        /* Same limit as the protobuf path: the event as it would be encoded. */
        snprintf(err, sizeof(err), "event encodes to more than engine.max_event_bytes (%" PRIu32 ")",
                 ctx->cfg->max_event_bytes);
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
        ev = NULL;
        rc = T1071_E_TOO_LARGE;
    }
    if (rc != T1071_OK) {
        if (rc == T1071_E_JSON)
            ctx->stats[T1071_STAT_ERR_JSON]++;
        else if (rc == T1071_E_TOO_LARGE)
            ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        set_err(ctx, "record %" PRIu64 ": %s", ctx->stats[T1071_STAT_RECORDS_IN], err);
        return rc;
    }
    rc = process_event(ctx, ev);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return rc;
}

T1071_API int
t1071_advance(t1071_ctx *ctx, int64_t event_time_ms)
{
    int rc = T1071_OK;

    if (!ctx)
        return T1071_E_INVALID_ARG;
    if (queue_full(ctx)) {
        ctx->stats[T1071_STAT_QUEUE_FULL]++;
        set_err(ctx, "alert queue full (%zu alerts): poll alerts, then advance", ctx->q_n);
        return T1071_E_QUEUE_FULL;
    }
    if (ctx->n_rules)
        return rules_advance(ctx, event_time_ms);
    if (ctx->has_floor && event_time_ms <= ctx->floor)
        return T1071_OK;
    ctx->floor = event_time_ms;
    ctx->has_floor = true;
    for (struct host *h = ctx->hosts_first; h; h = h->next) {
        int erc;
        if (h->has_held && h->held_ts <= event_time_ms) {
            /* Time has been declared past the held suspect: it is no
             * longer in the future, run it. */
            int64_t hts;
            struct rec *hp;
            take_held(h, &hts, &hp);
            if (hts > h->max_ts || !h->has_max) {
                h->max_ts = hts;
                h->has_max = true;
            }
            if (hp) {
                erc = heap_push(ctx, h, hp);
                if (erc != T1071_OK) {
                    pev_unref(ctx, hp);
                    rc = erc;
                }
            }
        }
        erc = release(ctx, h);
        if (erc != T1071_OK)
            rc = erc;
    }
    return rc;
}

T1071_API int
t1071_event_shard(const uint8_t *buf, size_t len, uint32_t nshards, uint32_t *shard)
{
    t1071i_event *ev;
    const char *name;

    if (shard)
        *shard = 0;
    if (!shard || nshards == 0 || (!buf && len))
        return T1071_E_INVALID_ARG;
    if (len > T1071_MAX_EVENT_BYTES)
        return T1071_E_TOO_LARGE;
    ev = t1071__ecs__v1__event__unpack(NULL, len, buf ? buf : (const uint8_t *)"");
    if (!ev)
        return T1071_E_DECODE;
    name = event_host(ev);
    *name ? (void)(*shard = (uint32_t)(t1071i_hash(SHARD_SEED, name, strlen(name)) % nshards))
          : (void)(*shard = 0);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return T1071_OK;
}

/* ===== Output ===== */

T1071_API int
t1071_poll_alerts(t1071_ctx *ctx, t1071_alert_batch **out)
{
    struct t1071_alert_batch *b;

    if (out)
        *out = NULL;
    if (!ctx || !out)
        return T1071_E_INVALID_ARG;
    if (ctx->q_n == 0)
        return T1071_OK;
    b = calloc(1, sizeof(*b));
    if (!b)
        return T1071_E_NOMEM;
    b->json = calloc(ctx->q_n, sizeof(*b->json));
    b->json_len = calloc(ctx->q_n, sizeof(*b->json_len));
    if (!b->json || !b->json_len) {
        free(b->json);
        free(b->json_len);
        free(b);
        return T1071_E_NOMEM;
    }
    b->n = ctx->q_n;
    b->items = ctx->queue;
    for (size_t i = 0; i < b->n; i++)
        mem_sub(ctx, sizeof(*b->items[i]) + b->items[i]->len);
    ctx->queue = NULL;
    ctx->q_n = ctx->q_cap = 0;
    ctx->stats[T1071_STAT_ALERTS_POLLED] += b->n;
    ctx->stats[T1071_STAT_ALERTS_QUEUED] = 0;
    *out = b;
    return T1071_OK;
}

T1071_API size_t
t1071_alert_batch_count(const t1071_alert_batch *batch)
{
    return batch ? batch->n : 0;
}

T1071_API int
t1071_alert_batch_get(const t1071_alert_batch *batch, size_t i, const uint8_t **data,
                      size_t *len)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (!batch || !data || !len)
        return T1071_E_INVALID_ARG;
    if (i >= batch->n)
        return T1071_E_RANGE;
    *data = batch->items[i]->data;
    *len = batch->items[i]->len;
    return T1071_OK;
}

T1071_API int
t1071_alert_batch_get_json(t1071_alert_batch *batch, size_t i, const char **json,
                           size_t *len)
{
    if (json)
        *json = NULL;
    if (len)
        *len = 0;
    if (!batch || !json || !len)
        return T1071_E_INVALID_ARG;
    if (i >= batch->n)
        return T1071_E_RANGE;
    if (!batch->json[i]) {
        int rc = t1071i_alert_render_json(batch->items[i]->data, batch->items[i]->len,
                                          &batch->json[i], &batch->json_len[i]);
        if (rc != T1071_OK)
            return rc;
    }
    *json = batch->json[i];
    *len = batch->json_len[i];
    return T1071_OK;
}

T1071_API void
t1071_alert_batch_free(t1071_alert_batch *batch)
{
    if (!batch)
        return;
    for (size_t i = 0; i < batch->n; i++) {
        free(batch->items[i]);
        g_free(batch->json[i]);
    }
    free(batch->items);
    free(batch->json);
    free(batch->json_len);
    free(batch);
}

/* ===== Lifecycle ===== */

T1071_API int
t1071_init(t1071_ctx **out, const t1071_config *cfg)
{
    struct t1071_ctx *ctx;
    int rc;

    if (!out)
        return T1071_E_INVALID_ARG;
    *out = NULL;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return T1071_E_NOMEM;
    if (cfg)
        rc = t1071i_config_copy(cfg, &ctx->cfg);
    else
        rc = t1071_config_new(&ctx->cfg);
    if (rc != T1071_OK)
        goto fail;
    ctx->seed = ctx->cfg->hash_seed ? ctx->cfg->hash_seed : t1071i_random_seed();
    ctx->window = calloc(ctx->cfg->runs, sizeof(*ctx->window));
    ctx->members = calloc(ctx->cfg->runs, sizeof(*ctx->members));
    ctx->views = calloc(ctx->cfg->runs, sizeof(*ctx->views));
    ctx->mlens = calloc(ctx->cfg->runs, sizeof(*ctx->mlens));
    ctx->ghosts = calloc(GHOSTS, sizeof(*ctx->ghosts));
    ctx->pool = t1071i_pool_new();
    rc = T1071_E_NOMEM;
    if (!ctx->window || !ctx->members || !ctx->views || !ctx->mlens || !ctx->ghosts ||
        !ctx->pool)
        goto fail;
    mem_add(ctx, GHOSTS * sizeof(*ctx->ghosts));
    if ((rc = t1071i_tracker_new(ctx->cfg, ctx->seed, &ctx->tracker)) != T1071_OK)
        goto fail;
    mem_add(ctx, t1071i_tracker_bytes(ctx->tracker));
    if ((rc = ht_init(&ctx->hosts, 64, offsetof(struct host, name))) != T1071_OK ||
        (rc = ht_init(&ctx->keys, 1024, offsetof(struct katom, str))) != T1071_OK)
        goto fail;
    if (ctx->cfg->n_extra && (rc = rules_init(ctx)) != T1071_OK)
        goto fail;
    *out = ctx;
    return T1071_OK;
fail:
    t1071_free(ctx);
    return rc;
}

T1071_API void
t1071_free(t1071_ctx *ctx)
{
    struct host *h, *next;

    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->n_rules; i++)
        t1071_free(ctx->rules[i]);
    free(ctx->rules);
    for (unsigned t = 0; t < 2; t++)
        while (ctx->tiers[t].head)
            key_free(ctx, ctx->tiers[t].head);
    for (h = ctx->hosts_first; h; h = next) {
        next = h->next;
        for (size_t i = 0; i < h->heap_n; i++)
            pev_unref(ctx, h->heap[i]);
        pev_unref(ctx, h->held);
        pev_unref(ctx, h->first);
        free(h->heap);
        free(h);
    }
    for (size_t i = 0; i < ctx->q_n; i++)
        free(ctx->queue[i]);
    free(ctx->queue);
    free(ctx->keys.buckets);
    free(ctx->hosts.buckets);
    free(ctx->window);
    free(ctx->members);
    free(ctx->views);
    free(ctx->mlens);
    free(ctx->vkeys);
    free(ctx->ghosts);
    t1071i_tracker_free(ctx->tracker);
    t1071i_wire_free(ctx->wire);
    t1071i_pool_free(ctx->pool);
    t1071_config_free(ctx->cfg);
    free(ctx);
}

T1071_API const char *
t1071_errmsg(const t1071_ctx *ctx)
{
    return ctx ? ctx->errmsg : "";
}

T1071_API int
t1071_stats_get(const t1071_ctx *ctx, int id, uint64_t *value)
{
    if (value)
        *value = 0;
    if (!ctx || !value)
        return T1071_E_INVALID_ARG;
    if (id < 0 || id >= T1071I_STAT_COUNT)
        return T1071_E_RANGE;
    *value = ctx->n_rules ? rules_stat(ctx, id) : ctx->stats[id];
    return T1071_OK;
}

/* ===== Snapshot and restore ===== */

#define SNAP_MAGIC "T1071SNP"
#define SNAP_HEADER (8 + 4 + 4 + 32)

typedef T1071__Ecs__V1__Snapshot snap_t;
typedef T1071__Ecs__V1__SnapshotEvent snap_event_t;
typedef T1071__Ecs__V1__SnapshotHost snap_host_t;
typedef T1071__Ecs__V1__SnapshotKey snap_key_t;

struct snap_builder {
    GHashTable *index;          /* record pointer -> index + 1 */
    GPtrArray *events;          /* snap_event_t * */
    GPtrArray *to_free;
};

static uint32_t
snap_event_index(struct snap_builder *sb, const struct rec *p)
{
    gpointer v = g_hash_table_lookup(sb->index, p);
    struct t1071i_pev view;
    const char **keys;
    snap_event_t *e;

    if (v)
        return GPOINTER_TO_UINT(v) - 1;
    keys = g_new(const char *, p->n_keys ? p->n_keys : 1);
    g_ptr_array_add(sb->to_free, keys);
    rec_view(p, &view, keys);
    e = g_new0(snap_event_t, 1);
    t1071__ecs__v1__snapshot_event__init(e);
    e->event_id = (char *)view.id;
    e->has_timestamp_ms = 1;
    e->timestamp_ms = view.ts;
    e->has_seq = 1;
    e->seq = view.seq;
    e->has_destination_port = 1;
    e->destination_port = view.port;
    e->destination_ip = NULL;
    if (view.ip) {
        e->destination_ip = g_strdup(view.ip);
        g_ptr_array_add(sb->to_free, e->destination_ip);
    }
    e->destination_domain = (char *)view.domain;
    e->host_name = (char *)view.host_name;
    e->host_id = (char *)view.host_id;
    e->process_name = (char *)view.pname;
    e->process_executable = (char *)view.exe;
    e->n_keys = view.n_keys;
    e->keys = (char **)keys;
    if (view.has_xfer) {
        e->has_bytes = 1;
        e->bytes = view.xfer;
    }
    g_ptr_array_add(sb->events, e);
    g_hash_table_insert(sb->index, (gpointer)p, GUINT_TO_POINTER(sb->events->len));
    return sb->events->len - 1;
}

T1071_API int
t1071_snapshot(const t1071_ctx *ctx, t1071_buffer **out)
{
    snap_t s = T1071__ECS__V1__SNAPSHOT__INIT;
    struct snap_builder sb;
    GPtrArray *cfgv, *hosts, *keys, *to_free;
    GHashTable *host_index, *key_index;
    GArray *ghosts;
    ProtobufCBinaryData *alerts = NULL;
    struct t1071_buffer *b = NULL;
    size_t cap, plen;
    uint8_t *payload;
    GChecksum *sum;
    gsize dlen = 32;
    uint32_t ver = T1071_SNAPSHOT_VERSION;

    if (out)
        *out = NULL;
    if (!ctx || !out)
        return T1071_E_INVALID_ARG;
    if (ctx->n_rules)
        return rules_snapshot(ctx, out);
    cap = ring_cap(ctx);
    cfgv = g_ptr_array_new_with_free_func(g_free);
    hosts = g_ptr_array_new_with_free_func(g_free);
    keys = g_ptr_array_new_with_free_func(g_free);
    to_free = g_ptr_array_new_with_free_func(g_free);
    host_index = g_hash_table_new(NULL, NULL);
    key_index = g_hash_table_new(NULL, NULL);
    ghosts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    sb.index = g_hash_table_new(NULL, NULL);
    sb.events = g_ptr_array_new_with_free_func(g_free);
    sb.to_free = to_free;

    for (size_t i = 0; t1071i_config_key(i); i++) {
        T1071__Ecs__V1__SnapshotConfigValue *cv = g_new0(T1071__Ecs__V1__SnapshotConfigValue, 1);
        t1071__ecs__v1__snapshot_config_value__init(cv);
        cv->key = (char *)t1071i_config_key(i);
        cv->value = ctx->cfg->values[i];
        g_ptr_array_add(cfgv, cv);
    }
    s.n_config = cfgv->len;
    s.config = (T1071__Ecs__V1__SnapshotConfigValue **)cfgv->pdata;
    s.has_seed = 1;
    s.seed = ctx->seed;

    {
        uint32_t hi = 0;
        for (struct host *h = ctx->hosts_first; h; h = h->next)
            g_hash_table_insert(host_index, h, GUINT_TO_POINTER(++hi));
    }
    /* Keys: tier 0 then tier 1, each in eviction order. */
    for (unsigned t = 0; t < 2; t++) {
        for (struct key *k = ctx->tiers[t].head; k; k = k->gnext) {
            snap_key_t *sk = g_new0(snap_key_t, 1);
            uint32_t *ring = g_new(uint32_t, k->count ? k->count : 1);
            t1071__ecs__v1__snapshot_key__init(sk);
            sk->value = k->atom->str;
            sk->has_host = 1;
            sk->host = GPOINTER_TO_UINT(g_hash_table_lookup(host_index, k->host)) - 1;
            sk->has_last_ts = 1;
            sk->last_ts = k->last_ts;
            for (uint32_t i = 0; i < k->count; i++)
                ring[i] = snap_event_index(&sb, k->ring[(k->head + i) % cap]);
            sk->n_ring = k->count;
            sk->ring = ring;
            g_ptr_array_add(to_free, ring);
            sk->has_tier = 1;
            sk->tier = t;
            sk->has_proven = 1;
            sk->proven = k->proven;
            if (k->beacon)
                sk->beacon = t1071i_tracker_snap_key(k->beacon, to_free);
            g_ptr_array_add(keys, sk);
            g_hash_table_insert(key_index, k, GUINT_TO_POINTER(keys->len));
        }
    }
    s.n_keys = keys->len;
    s.keys = (snap_key_t **)keys->pdata;

    for (struct host *h = ctx->hosts_first; h; h = h->next) {
        snap_host_t *sh = g_new0(snap_host_t, 1);
        uint32_t *heap = g_new(uint32_t, h->heap_n ? h->heap_n : 1);
        GArray *lru = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        t1071__ecs__v1__snapshot_host__init(sh);
        sh->name = h->name;
        if (h->has_max) {
            sh->has_max_ts = 1;
            sh->max_ts = h->max_ts;
        }
        for (size_t i = 0; i < h->heap_n; i++)
            heap[i] = snap_event_index(&sb, h->heap[i]);
        sh->n_heap = h->heap_n;
        sh->heap = heap;
        g_ptr_array_add(to_free, heap);
        if (h->has_held) {
            sh->has_held_ts = 1;
            sh->held_ts = h->held_ts;
            sh->has_held = 1;
            sh->held = h->held ? snap_event_index(&sb, h->held) + 1 : 0;
        }
        if (h->first_open) {
            sh->has_first_ts = 1;
            sh->first_ts = h->first_ts;
            sh->has_first = 1;
            sh->first = h->first ? snap_event_index(&sb, h->first) + 1 : 0;
        }
        for (struct key *k = h->lru_head; k; k = k->next) {
            uint32_t ki = GPOINTER_TO_UINT(g_hash_table_lookup(key_index, k)) - 1;
            g_array_append_val(lru, ki);
        }
        sh->n_lru = lru->len;
        sh->lru = (uint32_t *)g_array_free(lru, FALSE);
        g_ptr_array_add(to_free, sh->lru);
        g_ptr_array_add(hosts, sh);
    }
    s.n_hosts = hosts->len;
    s.hosts = (snap_host_t **)hosts->pdata;
    s.n_events = sb.events->len;
    s.events = (snap_event_t **)sb.events->pdata;

    alerts = g_new0(ProtobufCBinaryData, ctx->q_n ? ctx->q_n : 1);
    for (size_t i = 0; i < ctx->q_n; i++) {
        alerts[i].len = ctx->queue[i]->len;
        alerts[i].data = ctx->queue[i]->data;
    }
    s.n_alerts = ctx->q_n;
    s.alerts = alerts;
    s.n_stats = T1071I_STAT_COUNT;
    s.stats = (uint64_t *)ctx->stats;
    if (ctx->has_floor) {
        s.has_floor = 1;
        s.floor = ctx->floor;
    }
    for (uint64_t i = 0; i < GHOSTS; i++) {
        if (ctx->ghosts[i]) {
            g_array_append_val(ghosts, i);
            g_array_append_val(ghosts, ctx->ghosts[i]);
        }
    }
    s.n_ghosts = ghosts->len;
    s.ghosts = (uint64_t *)ghosts->data;
    t1071i_tracker_snap(ctx->tracker, &s, to_free);

    plen = t1071__ecs__v1__snapshot__get_packed_size(&s);
    b = t1071i_buffer_new(SNAP_HEADER + plen);
    if (b) {
        payload = b->data + SNAP_HEADER;
        t1071__ecs__v1__snapshot__pack(&s, payload);
        memcpy(b->data, SNAP_MAGIC, 8);
        for (int i = 0; i < 4; i++) {
            b->data[8 + i] = (uint8_t)(ver >> (8 * i));
            b->data[12 + i] = 0;
        }
        sum = g_checksum_new(G_CHECKSUM_SHA256);
        g_checksum_update(sum, payload, (gssize)plen);
        g_checksum_get_digest(sum, b->data + 16, &dlen);
        g_checksum_free(sum);
    }

    g_free(alerts);
    g_array_free(ghosts, TRUE);
    g_ptr_array_free(to_free, TRUE);
    g_hash_table_destroy(host_index);
    g_hash_table_destroy(key_index);
    g_hash_table_destroy(sb.index);
    g_ptr_array_free(sb.events, TRUE);
    g_ptr_array_free(keys, TRUE);
    g_ptr_array_free(hosts, TRUE);
    g_ptr_array_free(cfgv, TRUE);
    if (!b)
        return T1071_E_NOMEM;
    *out = b;
    return T1071_OK;
}

/* Rebuild a context from an unpacked snapshot; every index is checked. */
static int
restore_state(struct t1071_ctx *ctx, const snap_t *s)
{
    struct rec **ev = NULL;
    struct host **hosts = NULL;
    struct key **keys = NULL;
    size_t cap = ring_cap(ctx);
    int rc = T1071_E_SNAPSHOT;

    ev = calloc(s->n_events ? s->n_events : 1, sizeof(*ev));
    hosts = calloc(s->n_hosts ? s->n_hosts : 1, sizeof(*hosts));
    keys = calloc(s->n_keys ? s->n_keys : 1, sizeof(*keys));
    if (!ev || !hosts || !keys) {
        rc = T1071_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->n_events; i++) {
        const snap_event_t *e = s->events[i];
        const char *strs[7] = {e->event_id, e->destination_ip, e->destination_domain,
                               e->host_name, e->host_id, e->process_name,
                               e->process_executable};
        size_t *lens = g_new(size_t, e->n_keys ? e->n_keys : 1);
        if (!e->event_id || !e->has_timestamp_ms || e->n_keys == 0 || e->n_keys > MAX_KEY_VALUES) {
            g_free(lens);
            goto out;
        }
        for (size_t k = 0; k < e->n_keys; k++)
            lens[k] = strlen(e->keys[k]);
        {
            /* Binary when the text is exactly what the binary formats to. */
            uint8_t a[16];
            char buf[INET6_ADDRSTRLEN];
            bool v4 = false;
            unsigned ipf = 0;
            if (e->destination_ip && t1071i_parse_ip(e->destination_ip, a, &v4)) {
                const char *t = format_ip(v4, v4 ? a + 12 : a, buf);
                if (t && !strcmp(t, e->destination_ip)) {
                    ipf = v4 ? R_IP4 : R_IP6;
                    strs[1] = NULL;
                }
            }
            ev[i] = pev_alloc(ctx, strs, (const char *const *)e->keys, lens, e->n_keys,
                              e->timestamp_ms, e->seq, e->destination_port, e->has_bytes,
                              e->has_bytes ? e->bytes : 0, ipf, v4 ? a + 12 : a);
        }
        g_free(lens);
        if (!ev[i]) {
            rc = T1071_E_NOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < s->n_hosts; i++) {
        const snap_host_t *sh = s->hosts[i];
        struct host *h;
        if (!sh->name || ht_find(&ctx->hosts, t1071i_hash(ctx->seed, sh->name, strlen(sh->name)),
                                 sh->name, strlen(sh->name)))
            goto out;
        h = host_get(ctx, sh->name);
        if (!h) {
            rc = T1071_E_NOMEM;
            goto out;
        }
        hosts[i] = h;
        h->has_max = sh->has_max_ts;
        h->max_ts = sh->max_ts;
        /* Sized from what the snapshot holds (n_heap is bounded by its
         * bytes), never from a count it merely states. */
        if (sh->n_heap) {
            size_t nc = 16;
            while (nc < sh->n_heap)
                nc *= 2;
            h->heap = malloc(nc * sizeof(*h->heap));
            if (!h->heap) {
                rc = T1071_E_NOMEM;
                goto out;
            }
            h->heap_cap = nc;
            mem_add(ctx, sh->n_heap * sizeof(*h->heap));
        }
        for (size_t j = 0; j < sh->n_heap; j++) {
            if (sh->heap[j] >= s->n_events || ev[sh->heap[j]]->refs >= REC_REFS_MAX)
                goto out;
            h->heap[j] = ev[sh->heap[j]];
            h->heap[j]->refs++;
            h->heap_n++;
        }
        if (sh->has_held_ts) {
            if (sh->held > s->n_events || (sh->held && ev[sh->held - 1]->refs >= REC_REFS_MAX))
                goto out;
            h->has_held = true;
            h->held_ts = sh->held_ts;
            h->held = sh->held ? ev[sh->held - 1] : NULL;
            if (h->held)
                h->held->refs++;
        }
        if (sh->has_first_ts) {
            if (sh->first > s->n_events ||
                (sh->first && ev[sh->first - 1]->refs >= REC_REFS_MAX))
                goto out;
            h->first_open = true;
            h->first_ts = sh->first_ts;
            h->first = sh->first ? ev[sh->first - 1] : NULL;
            if (h->first)
                h->first->refs++;
        }
    }
    for (size_t i = 0; i < s->n_keys; i++) {
        const snap_key_t *sk = s->keys[i];
        size_t len;
        uint64_t hh;
        struct katom *a;
        struct key *k;
        if (!sk->value || sk->host >= s->n_hosts || sk->n_ring > cap || sk->tier > 1)
            goto out;
        for (size_t j = 0; j < sk->n_ring; j++)
            if (sk->ring[j] >= s->n_events || ev[sk->ring[j]]->refs >= REC_REFS_MAX)
                goto out;
        len = strlen(sk->value);
        hh = t1071i_hash(ctx->seed, sk->value, len);
        a = atom_find(ctx, hh, sk->value, len);
        if (a && a->key)
            goto out;
        if (!a && !(a = atom_get(ctx, hh, sk->value, len))) {
            rc = T1071_E_NOMEM;
            goto out;
        }
        k = calloc(1, key_bytes(ctx));
        if (!k) {
            if (!a->node.aux) {
                a->node.aux++;
                atom_unref(ctx, a);
            }
            rc = T1071_E_NOMEM;
            goto out;
        }
        k->atom = a;
        a->node.aux++;
        a->key = k;
        k->host = hosts[sk->host];
        k->last_ts = sk->last_ts;
        k->proven = sk->proven;
        for (size_t j = 0; j < sk->n_ring; j++) {
            k->ring[j] = ev[sk->ring[j]];
            k->ring[j]->refs++;
            k->count++;
        }
        /* Tier membership as saved (not recomputed). */
        k->tier = sk->tier;
        {
            struct tier *t = &ctx->tiers[k->tier];
            k->gprev = t->tail;
            if (t->tail)
                t->tail->gnext = k;
            else
                t->head = k;
            t->tail = k;
        }
        ctx->stats[T1071_STAT_KEYS]++;
        mem_add(ctx, key_bytes(ctx));
        keys[i] = k;
        if (sk->beacon) {
            size_t bytes = 0;
            int brc = ctx->tracker ? t1071i_tracker_restore_key(ctx->tracker, sk->beacon,
                                                                &k->beacon, &bytes)
                                   : T1071_E_SNAPSHOT;
            if (brc != T1071_OK) {
                rc = brc;
                goto out;
            }
            mem_add(ctx, bytes);
        }
    }
    /* Host lists: every key exactly once, in its own host's list. */
    {
        size_t listed = 0;
        for (size_t i = 0; i < s->n_hosts; i++) {
            for (size_t j = 0; j < s->hosts[i]->n_lru; j++) {
                uint32_t ki = s->hosts[i]->lru[j];
                if (ki >= s->n_keys || keys[ki]->host != hosts[i] || keys[ki]->prev ||
                    hosts[i]->lru_head == keys[ki])
                    goto out;
                lru_append(hosts[i], keys[ki]);
                listed++;
            }
        }
        if (listed != s->n_keys)
            goto out;
    }
    for (size_t i = 0; i < s->n_alerts; i++) {
        /* Undelivered alerts must be alerts: a host decodes them. */
        T1071__Ecs__V1__Alert *a =
            t1071__ecs__v1__alert__unpack(NULL, s->alerts[i].len, s->alerts[i].data);
        if (!a) {
            rc = T1071_E_SNAPSHOT;
            goto out;
        }
        t1071__ecs__v1__alert__free_unpacked(a, NULL);
        rc = queue_push(ctx, s->alerts[i].data, s->alerts[i].len);
        if (rc != T1071_OK)
            goto out;
    }
    rc = T1071_E_SNAPSHOT;
    if (s->n_stats > T1071I_STAT_COUNT)
        goto out;
    {
        uint64_t mem = ctx->stats[T1071_STAT_MEMORY_BYTES];
        for (size_t i = 0; i < s->n_stats; i++)
            ctx->stats[i] = s->stats[i];
        /* Gauges describe this context's state as rebuilt. */
        ctx->stats[T1071_STAT_MEMORY_BYTES] = mem;
        ctx->stats[T1071_STAT_KEYS] = s->n_keys;
        ctx->stats[T1071_STAT_HOSTS] = s->n_hosts;
        ctx->stats[T1071_STAT_ALERTS_QUEUED] = s->n_alerts;
        ctx->stats[T1071_STAT_EVENTS_BUFFERED] = 0;
        for (size_t i = 0; i < s->n_hosts; i++)
            ctx->stats[T1071_STAT_EVENTS_BUFFERED] += hosts[i]->heap_n;
    }
    {
        size_t before = t1071i_tracker_bytes(ctx->tracker);
        int brc = t1071i_tracker_restore(ctx->tracker, s);
        mem_add(ctx, t1071i_tracker_bytes(ctx->tracker) - before);
        if (brc != T1071_OK) {
            rc = brc;
            goto out;
        }
    }
    rc = T1071_E_SNAPSHOT;
    ctx->has_floor = s->has_floor;
    ctx->floor = s->floor;
    if (s->n_ghosts % 2)
        goto out;
    for (size_t i = 0; i < s->n_ghosts; i += 2) {
        if (s->ghosts[i] >= GHOSTS)
            goto out;
        ctx->ghosts[s->ghosts[i]] = s->ghosts[i + 1];
    }
    rc = T1071_OK;
out:
    if (ev) {
        /* Drop the construction references: what remains is owned by
         * rings, heaps and held slots (or freed on error with the ctx). */
        for (size_t i = 0; i < s->n_events; i++)
            if (ev[i])
                pev_unref(ctx, ev[i]);
    }
    free(ev);
    free(hosts);
    free(keys);
    return rc;
}

T1071_API int
t1071_restore(t1071_ctx **out, const uint8_t *buf, size_t len)
{
    t1071_config *cfg = NULL;
    struct t1071_ctx *ctx = NULL;
    snap_t *s = NULL;
    uint8_t digest[32];
    gsize dlen = sizeof(digest);
    GChecksum *sum;
    uint32_t ver = 0;
    int rc;

    if (out)
        *out = NULL;
    if (!out || (!buf && len))
        return T1071_E_INVALID_ARG;
    if (len >= 8 && !memcmp(buf, RULES_MAGIC, 8))
        return rules_restore(out, buf, len);
    if (len < SNAP_HEADER || memcmp(buf, SNAP_MAGIC, 8) != 0)
        return T1071_E_SNAPSHOT;
    for (int i = 0; i < 4; i++)
        ver |= (uint32_t)buf[8 + i] << (8 * i);
    if (ver > T1071_SNAPSHOT_VERSION)
        return T1071_E_VERSION;
    if (ver == 0 || buf[12] || buf[13] || buf[14] || buf[15])
        return T1071_E_SNAPSHOT;
    sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, buf + SNAP_HEADER, (gssize)(len - SNAP_HEADER));
    g_checksum_get_digest(sum, digest, &dlen);
    g_checksum_free(sum);
    if (memcmp(digest, buf + 16, 32) != 0)
        return T1071_E_SNAPSHOT;
    s = t1071__ecs__v1__snapshot__unpack(NULL, len - SNAP_HEADER, buf + SNAP_HEADER);
    if (!s)
        return T1071_E_SNAPSHOT;
    rc = t1071_config_new(&cfg);
    if (rc != T1071_OK)
        goto out;
    for (size_t i = 0; i < s->n_config; i++) {
        if (!s->config[i]->key || !s->config[i]->value ||
            t1071_config_set(cfg, s->config[i]->key, s->config[i]->value) != T1071_OK) {
            rc = T1071_E_SNAPSHOT;
            goto out;
        }
    }
    if (!s->has_seed || s->seed == 0) {
        rc = T1071_E_SNAPSHOT;
        goto out;
    }
    {
        char seed[32];
        snprintf(seed, sizeof(seed), "%" PRIu64, s->seed);
        t1071_config_set(cfg, "engine.hash_seed", seed);
    }
    rc = t1071_init(&ctx, cfg);
    if (rc != T1071_OK)
        goto out;
    /* The seed key is part of the restored config text too. */
    rc = restore_state(ctx, s);
    if (rc != T1071_OK) {
        t1071_free(ctx);
        ctx = NULL;
        goto out;
    }
    *out = ctx;
out:
    t1071_config_free(cfg);
    t1071__ecs__v1__snapshot__free_unpacked(s, NULL);
    return rc;
}

size_t
t1071i_ctx_longest_chain(const t1071_ctx *ctx, int which)
{
    const struct htable *t = which ? &ctx->hosts : &ctx->keys;
    size_t longest = 0;

    for (size_t b = 0; b <= t->mask; b++) {
        size_t n = 0;
        for (const struct hnode *x = t->buckets[b]; x; x = x->next)
            n++;
        if (n > longest)
            longest = n;
    }
    return longest;
}

/* ===== Several rules ===== */

/* Move a rule's queued alerts into the context's queue, in order. */
static int
rules_collect(struct t1071_ctx *ctx, struct t1071_ctx *r)
{
    if (r->q_n == 0)
        return T1071_OK;
    if (ctx->q_n + r->q_n > ctx->q_cap) {
        size_t nc = ctx->q_cap ? ctx->q_cap : 64;
        struct qalert **nq;
        while (nc < ctx->q_n + r->q_n)
            nc *= 2;
        nq = realloc(ctx->queue, nc * sizeof(*nq));
        if (!nq)
            return T1071_E_NOMEM; /* they wait in the rule's queue */
        ctx->queue = nq;
        ctx->q_cap = nc;
    }
    for (size_t i = 0; i < r->q_n; i++) {
        size_t sz = sizeof(*r->queue[i]) + r->queue[i]->len;
        ctx->queue[ctx->q_n++] = r->queue[i];
        mem_sub(r, sz);
        mem_add(ctx, sz);
    }
    ctx->stats[T1071_STAT_ALERTS_QUEUED] += r->q_n;
    r->stats[T1071_STAT_ALERTS_QUEUED] = 0;
    r->q_n = 0;
    return T1071_OK;
}

/* One decoded event through every rule (each runs exactly as it would
 * alone in a context: same clock, same arrival ordinal). */
static int
rules_event(struct t1071_ctx *ctx, const t1071i_event *ev)
{
    int rc = T1071_OK;

    for (size_t i = 0; i < ctx->n_rules; i++) {
        struct t1071_ctx *r = ctx->rules[i];
        int erc;
        r->stats[T1071_STAT_RECORDS_IN] = ctx->stats[T1071_STAT_RECORDS_IN];
        /* Alerts are numbered across the context: the rule counts on from
         * the context's total. */
        r->stats[T1071_STAT_ALERTS] = ctx->stats[T1071_STAT_ALERTS];
        erc = process_event(r, ev);
        ctx->stats[T1071_STAT_ALERTS] = r->stats[T1071_STAT_ALERTS];
        if (erc != T1071_OK && rc == T1071_OK) {
            rc = erc;
            memcpy(ctx->errmsg, r->errmsg, sizeof(ctx->errmsg));
        }
        erc = rules_collect(ctx, r);
        if (erc != T1071_OK && rc == T1071_OK)
            rc = erc;
    }
    return rc;
}

static int
rules_advance(struct t1071_ctx *ctx, int64_t t)
{
    int rc = T1071_OK;

    for (size_t i = 0; i < ctx->n_rules; i++) {
        int erc;
        ctx->rules[i]->stats[T1071_STAT_ALERTS] = ctx->stats[T1071_STAT_ALERTS];
        erc = t1071_advance(ctx->rules[i], t);
        ctx->stats[T1071_STAT_ALERTS] = ctx->rules[i]->stats[T1071_STAT_ALERTS];
        if (erc == T1071_OK)
            erc = rules_collect(ctx, ctx->rules[i]);
        if (erc != T1071_OK && rc == T1071_OK)
            rc = erc;
    }
    return rc;
}

/* Make the per-rule states: rule 1 is the config's own (rule.query or
 * the built-in filter), then each added rule with its own name and id.
 * The memory budget is shared out evenly. */
static int
rules_init(struct t1071_ctx *ctx)
{
    const struct t1071_config *cfg = ctx->cfg;
    size_t n = 1 + cfg->n_extra;
    char buf[64];
    int rc;

    ctx->rules = calloc(n, sizeof(*ctx->rules));
    if (!ctx->rules)
        return T1071_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct t1071_config *rc_cfg = NULL;
        rc = t1071i_config_copy(cfg, &rc_cfg);
        if (rc != T1071_OK)
            return rc;
        /* A rule's own config runs one rule. */
        for (size_t k = 0; k < rc_cfg->n_extra; k++) {
            g_free(rc_cfg->extra_text[k]);
            g_free(rc_cfg->extra_name[k]);
        }
        rc_cfg->n_extra = 0;
        snprintf(buf, sizeof(buf), "%" PRIu64, ctx->seed);
        rc = t1071_config_set(rc_cfg, "engine.hash_seed", buf);
        if (rc == T1071_OK && cfg->memory_limit) {
            snprintf(buf, sizeof(buf), "%" PRIu64, cfg->memory_limit / n ? cfg->memory_limit / n : 1);
            rc = t1071_config_set(rc_cfg, "engine.memory_limit", buf);
        }
        if (rc == T1071_OK && i > 0) {
            const char *name = cfg->extra_name[i - 1];
            char *id;
            /* Back to the built-in filter's keys, then the added rule. */
            rc = t1071_config_set(rc_cfg, "rule.query", "");
            if (rc == T1071_OK)
                rc = t1071_config_set(rc_cfg, "rule.query", cfg->extra_text[i - 1]);
            if (rc == T1071_OK) {
                const struct t1071i_rule *rr = rc_cfg->rule;
                char *fallback = g_strdup_printf("rule %zu", i + 1);
                rc = t1071_config_set(rc_cfg, "rule.name",
                                      name ? name : rr && rr->name ? rr->name : fallback);
                g_free(fallback);
                id = rr && rr->id ? g_strdup(rr->id)
                                  : g_strdup_printf("%s/%zu", cfg->rule_id, i + 1);
                if (rc == T1071_OK)
                    rc = t1071_config_set(rc_cfg, "rule.rule_id", id);
                g_free(id);
                if (rc == T1071_OK && rr && rr->severity)
                    rc = t1071_config_set(rc_cfg, "rule.severity", rr->severity);
            }
        }
        if (rc == T1071_OK)
            rc = t1071_init(&ctx->rules[i], rc_cfg);
        if (rc != T1071_OK)
            snprintf(ctx->errmsg, sizeof(ctx->errmsg), "rule %zu: %.200s", i + 1,
                     rc_cfg->errmsg[0] ? rc_cfg->errmsg : t1071_strerror(rc));
        t1071_config_free(rc_cfg);
        if (rc != T1071_OK)
            return rc;
        ctx->n_rules = i + 1;
    }
    return T1071_OK;
}

/* Counters of a context running several rules: what happens once per
 * record is the context's own (and the alert count, kept across rules);
 * what every rule sees alike (time, hosts) is the first rule's; what each
 * rule does on its own is summed. */
static uint64_t
rules_stat(const struct t1071_ctx *ctx, int id)
{
    uint64_t v = 0;

    switch (id) {
    case T1071_STAT_RECORDS_IN:
    case T1071_STAT_ERR_DECODE:
    case T1071_STAT_ERR_TOO_LARGE:
    case T1071_STAT_ERR_TRUNCATED:
    case T1071_STAT_ERR_JSON:
    case T1071_STAT_QUEUE_FULL:
    case T1071_STAT_ALERTS_POLLED:
    case T1071_STAT_ALERTS_QUEUED:
    case T1071_STAT_ALERTS:
        return ctx->stats[id];
    case T1071_STAT_EVENTS_DECODED:
    case T1071_STAT_ERR_TIMESTAMP:
    case T1071_STAT_EVENTS_LATE:
    case T1071_STAT_EVENTS_SUSPECT:
    case T1071_STAT_SUSPECT_DROPPED:
    case T1071_STAT_HOSTS:
        return ctx->rules[0]->stats[id];
    case T1071_STAT_MEMORY_BYTES:
    case T1071_STAT_MEMORY_PEAK_BYTES:
        v = ctx->stats[id];
        break;
    default:
        break;
    }
    for (size_t i = 0; i < ctx->n_rules; i++)
        v += ctx->rules[i]->stats[id];
    return v;
}

/* Snapshot of several rules: an envelope of whole snapshots, one of the
 * context itself (config, seed, undelivered alerts, counters: a context
 * with no keyed state) and one per rule.
 *   "T1071MRS" | u32 version | u32 parts | SHA-256 of the payload |
 *   payload = parts x (u64 length | a T1071SNP snapshot)
 * Little-endian; every part is checked again by t1071_restore(). */
#define RULES_HEADER (8 + 4 + 4 + 32)

static void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int
rules_snapshot(const struct t1071_ctx *ctx, struct t1071_buffer **out)
{
    struct t1071_buffer **parts = calloc(ctx->n_rules + 1, sizeof(*parts));
    struct t1071_config *cfg = NULL;
    struct t1071_ctx *shell = NULL;
    struct t1071_buffer *b = NULL;
    size_t total = RULES_HEADER;
    int rc;

    if (!parts)
        return T1071_E_NOMEM;
    /* The context's own part: a context with its config (one rule), its
     * seed, its queue and its counters, and no keyed state. */
    rc = t1071i_config_copy(ctx->cfg, &cfg);
    if (rc == T1071_OK) {
        char seed[32];
        for (size_t k = 0; k < cfg->n_extra; k++) {
            g_free(cfg->extra_text[k]);
            g_free(cfg->extra_name[k]);
        }
        cfg->n_extra = 0;
        snprintf(seed, sizeof(seed), "%" PRIu64, ctx->seed);
        rc = t1071_config_set(cfg, "engine.hash_seed", seed);
    }
    if (rc == T1071_OK)
        rc = t1071_init(&shell, cfg);
    for (size_t i = 0; rc == T1071_OK && i < ctx->q_n; i++)
        rc = queue_push(shell, ctx->queue[i]->data, ctx->queue[i]->len);
    if (rc == T1071_OK) {
        memcpy(shell->stats, ctx->stats, sizeof(shell->stats));
        rc = t1071_snapshot(shell, &parts[0]);
    }
    for (size_t i = 0; rc == T1071_OK && i < ctx->n_rules; i++)
        rc = t1071_snapshot(ctx->rules[i], &parts[i + 1]);
    for (size_t i = 0; rc == T1071_OK && i <= ctx->n_rules; i++)
        total += 8 + parts[i]->len;
    if (rc == T1071_OK && !(b = t1071i_buffer_new(total)))
        rc = T1071_E_NOMEM;
    if (rc == T1071_OK) {
        uint8_t *w = b->data + RULES_HEADER;
        GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
        gsize dlen = 32;
        memcpy(b->data, RULES_MAGIC, 8);
        put_le(b->data + 8, 1, 4);
        put_le(b->data + 12, ctx->n_rules + 1, 4);
        for (size_t i = 0; i <= ctx->n_rules; i++) {
            put_le(w, parts[i]->len, 8);
            memcpy(w + 8, parts[i]->data, parts[i]->len);
            w += 8 + parts[i]->len;
        }
        g_checksum_update(sum, b->data + RULES_HEADER, (gssize)(total - RULES_HEADER));
        g_checksum_get_digest(sum, b->data + 16, &dlen);
        g_checksum_free(sum);
        *out = b;
    }
    for (size_t i = 0; i <= ctx->n_rules; i++)
        t1071_buffer_free(parts[i]);
    free(parts);
    t1071_free(shell);
    t1071_config_free(cfg);
    return rc;
}

static int
rules_restore(struct t1071_ctx **out, const uint8_t *buf, size_t len)
{
    struct t1071_ctx *ctx = NULL;
    uint8_t digest[32];
    gsize dlen = sizeof(digest);
    GChecksum *sum;
    size_t n, off = RULES_HEADER;
    int rc;

    if (len < RULES_HEADER)
        return T1071_E_SNAPSHOT;
    if (get_le(buf + 8, 4) > 1)
        return T1071_E_VERSION;
    n = (size_t)get_le(buf + 12, 4);
    if (get_le(buf + 8, 4) != 1 || n < 2 || n > T1071I_MAX_RULES + 1)
        return T1071_E_SNAPSHOT;
    sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, buf + RULES_HEADER, (gssize)(len - RULES_HEADER));
    g_checksum_get_digest(sum, digest, &dlen);
    g_checksum_free(sum);
    if (memcmp(digest, buf + 16, 32) != 0)
        return T1071_E_SNAPSHOT;
    for (size_t i = 0; i < n; i++) {
        uint64_t plen;
        struct t1071_ctx *part = NULL;
        if (len - off < 8 || (plen = get_le(buf + off, 8)) > len - off - 8) {
            rc = T1071_E_SNAPSHOT;
            goto fail;
        }
        off += 8;
        /* Parts are single-rule snapshots; an envelope inside is refused. */
        if (plen >= 8 && !memcmp(buf + off, RULES_MAGIC, 8)) {
            rc = T1071_E_SNAPSHOT;
            goto fail;
        }
        rc = t1071_restore(&part, buf + off, (size_t)plen);
        if (rc != T1071_OK)
            goto fail;
        off += (size_t)plen;
        if (i == 0) {
            ctx = part;
            ctx->rules = calloc(n - 1, sizeof(*ctx->rules));
            if (!ctx->rules) {
                rc = T1071_E_NOMEM;
                goto fail;
            }
        } else {
            ctx->rules[ctx->n_rules++] = part;
        }
    }
    if (off != len) {
        rc = T1071_E_SNAPSHOT;
        goto fail;
    }
    *out = ctx;
    return T1071_OK;
fail:
    t1071_free(ctx);
    return rc;
}
