/* SPDX-License-Identifier: Apache-2.0 */
/* Hosts and keys: the per-host table, the per-key rings, expiry by host,
 * the two eviction tiers and the ghost list, and the memory budget
 * (engine.memory_limit). */
#include "engine/engine-priv.h"

/* ===== Hosts ===== */

const char *
t1071i_event_host(const t1071i_event *ev)
{
    if (ev->host_id)
        return ev->host_id;
    if (ev->host_name)
        return ev->host_name;
    return "";
}

struct host *
t1071i_host_get(struct t1071_ctx *ctx, const char *name)
{
    size_t len = strlen(name);
    uint64_t h = t1071i_hash(ctx->seed, name, len);
    struct t1071i_hnode *n = t1071i_ht_find(&ctx->hosts, h, name, len);
    struct host *host;

    if (n)
        return (struct host *)n;
    if (!t1071i_make_room(ctx, sizeof(*host) + len + 1))
        return NULL;
    host = calloc(1, sizeof(*host) + len + 1);
    if (!host)
        return NULL;
    memcpy(host->name, name, len + 1);
    host->node.hash = h;
    host->node.len = (uint32_t)len;
    t1071i_ht_insert(&ctx->hosts, &host->node);
    if (ctx->hosts_last)
        ctx->hosts_last->next = host;
    else
        ctx->hosts_first = host;
    ctx->hosts_last = host;
    ctx->stats[T1071_STAT_HOSTS]++;
    mem_add(ctx, sizeof(*host) + len + 1);
    return host;
}

/* ===== Keys ===== */

void
t1071i_lru_unlink(struct host *h, struct key *k)
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

void
t1071i_lru_append(struct host *h, struct key *k)
{
    k->prev = h->lru_tail;
    k->next = NULL;
    if (h->lru_tail)
        h->lru_tail->next = k;
    else
        h->lru_head = k;
    h->lru_tail = k;
}

void
t1071i_tier_unlink(struct t1071_ctx *ctx, struct key *k)
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

void
t1071i_tier_append(struct t1071_ctx *ctx, struct key *k)
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

size_t
t1071i_ring_cap(const struct t1071_ctx *ctx)
{
    return ctx->cfg->runs - 1;
}

/* Bytes of a key (its value is its atom's). */
size_t
t1071i_key_bytes(const struct t1071_ctx *ctx)
{
    return sizeof(struct key) + t1071i_ring_cap(ctx) * sizeof(struct rec *);
}

/* A zeroed key with its ring (from the records' pool: t1071i_key_free
 * gives it back), NULL when out of memory. */
struct key *
t1071i_key_alloc(struct t1071_ctx *ctx)
{
    size_t n = t1071i_key_bytes(ctx);
    struct key *k = t1071i_pool_get(ctx->pool, n);

    if (k)
        memset(k, 0, n);
    return k;
}

void
t1071i_key_free(struct t1071_ctx *ctx, struct key *k)
{
    size_t cap = t1071i_ring_cap(ctx);

    t1071i_tier_unlink(ctx, k);
    for (uint32_t i = 0; i < k->count; i++)
        t1071i_pev_unref(ctx, k->ring[(k->head + i) % cap]);
    mem_sub(ctx, t1071i_key_bytes(ctx));
    mem_sub(ctx, t1071i_tracker_free_key(k->beacon));
    k->atom->key = NULL;
    t1071i_atom_unref(ctx, k->atom);
    t1071i_pool_put(ctx->pool, k, t1071i_key_bytes(ctx));
    ctx->stats[T1071_STAT_KEYS]--;
}

/* Unlink and free a key: expiry and eviction. */
void
t1071i_key_drop(struct t1071_ctx *ctx, struct key *k)
{
    t1071i_lru_unlink(k->host, k);
    t1071i_key_free(ctx, k);
}

/* Memory budget (engine.memory_limit): evict keys until @p need more
 * bytes fit: cold ones (at most one member) first, newest first, then
 * the least recently used of the rest.
 * Returns false when nothing is left to evict. */
bool
t1071i_make_room(struct t1071_ctx *ctx, size_t need)
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
        t1071i_key_drop(ctx, k);
        ctx->stats[T1071_STAT_KEYS_EVICTED]++;
    }
    return true;
}

/* The key of atom @p a (referenced by the caller), created when missing. */
struct key *
t1071i_key_get(struct t1071_ctx *ctx, struct katom *a, struct host *host)
{
    uint64_t h = a->node.hash;
    struct key *k = a->key;

    if (k) {
        if (k->host != host) {
            /* An entity id is host-local; if one shows up under another
             * host, its state follows the newest host's clock. */
            t1071i_lru_unlink(k->host, k);
            k->host = host;
            t1071i_lru_append(host, k);
        }
        return k;
    }
    if (!t1071i_make_room(ctx, t1071i_key_bytes(ctx)))
        return NULL;
    k = t1071i_key_alloc(ctx);
    if (!k)
        return NULL;
    k->atom = a;
    a->node.aux++;
    a->key = k;
    k->host = host;
    k->proven = ctx->ghosts[h & (GHOSTS - 1)] == h;
    t1071i_lru_append(host, k);
    t1071i_tier_append(ctx, k);
    ctx->stats[T1071_STAT_KEYS]++;
    mem_add(ctx, t1071i_key_bytes(ctx));
    return k;
}

/* The key of value @p value, created (with its atom) when missing. */
struct key *
t1071i_key_get_value(struct t1071_ctx *ctx, const char *value, struct host *host)
{
    size_t len = strlen(value);
    struct katom *a = t1071i_atom_get(ctx, t1071i_hash(ctx->seed, value, len), value, len);
    struct key *k;

    if (!a)
        return NULL;
    a->node.aux++;
    k = t1071i_key_get(ctx, a, host);
    t1071i_atom_unref(ctx, a);
    return k;
}
