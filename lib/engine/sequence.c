/* SPDX-License-Identifier: Apache-2.0 */
/* The sequence step: a released event joins the ring of each key it
 * belongs to; a full window within maxspan emits an alert (README
 * "Semantics"). */
#include "engine/engine-priv.h"

/* ===== The sequence step ===== */

static int
emit(struct t1071_ctx *ctx, struct key *k, struct rec *last)
{
    size_t cap = t1071i_ring_cap(ctx), n = 0, nk = 0;
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
        t1071i_rec_view(w[i], &ctx->views[i], ctx->vkeys + nk);
        ctx->mlens[i] = t1071i_rec_lens(w[i]);
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
    rc = t1071i_queue_push_block(ctx, q);
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
    (void)t1071i_make_room(ctx, t1071i_tracker_need(ctx->tracker, v));
    ctx->pinned = NULL;
    (void)t1071i_tracker_observe(ctx->tracker, &k->beacon, fallback, v, &d);
    mem_delta(ctx, d);
}

static int step_key(struct t1071_ctx *ctx, struct host *host, struct rec *p,
                    const struct t1071i_pev *v, struct katom *atom, const char *value,
                    bool fallback);

int
t1071i_run_event(struct t1071_ctx *ctx, struct host *host, struct rec *p)
{
    struct t1071i_pev view, *v = NULL;
    const char *vkeys[MAX_KEY_VALUES];
    int rc = T1071_OK;

    if (ctx->tracker) {
        int64_t d = 0;
        t1071i_rec_view(p, &view, vkeys);
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
    size_t cap = t1071i_ring_cap(ctx);
    int64_t maxspan = ctx->cfg->maxspan_ms;
    int rc = T1071_OK;

    {
        struct key *k = atom ? t1071i_key_get(ctx, atom, host) : t1071i_key_get_value(ctx, value, host);
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
            t1071i_pev_unref(ctx, k->ring[k->head]);
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
                t1071i_pev_unref(ctx, k->ring[k->head]);
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
        t1071i_lru_unlink(k->host, k);
        t1071i_lru_append(k->host, k);
        t1071i_tier_unlink(ctx, k);
        t1071i_tier_append(ctx, k);
    }
    return rc;
}
