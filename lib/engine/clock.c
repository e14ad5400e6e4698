/* SPDX-License-Identifier: Apache-2.0 */
/* The per-host clock: the reorder buffer (a min-heap on (timestamp,
 * arrival)), the watermark (max_ts - engine.lateness), late events, and
 * suspects (a far-future first event held, a forged clock taken back). */
#include "engine/engine-priv.h"

static bool
heap_less(const struct rec *a, const struct rec *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

int
t1071i_heap_push(struct t1071_ctx *ctx, struct host *h, struct rec *p)
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
    (void)t1071i_make_room(ctx, sizeof(*h->heap));
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
int
t1071i_release(struct t1071_ctx *ctx, struct host *h)
{
    int64_t w;
    int rc = T1071_OK;

    if (!watermark(ctx, h, &w))
        return T1071_OK;
    while (h->heap_n > 0 && h->heap[0]->ts <= w) {
        struct rec *p = heap_pop(ctx, h);
        int erc = t1071i_run_event(ctx, h, p);
        if (erc != T1071_OK)
            rc = erc;
        t1071i_pev_unref(ctx, p);
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
            t1071i_key_drop(ctx, h->lru_head);
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

    /* lateness_max_ms: how far behind its host's newest time an event
     * came, kept or not (the engine.lateness that would keep them all). */
    if (h->has_max && ts < h->max_ts && (uint64_t)(h->max_ts - ts) > ctx->stats[T1071_STAT_LATENESS_MAX_MS])
        ctx->stats[T1071_STAT_LATENESS_MAX_MS] = (uint64_t)(h->max_ts - ts);
    if (watermark(ctx, h, &w) && ts < w) {
        ctx->stats[T1071_STAT_EVENTS_LATE]++;
        t1071i_pev_unref(ctx, p);
        return T1071_OK;
    }
    if (!h->has_max || ts > h->max_ts) {
        h->max_ts = ts;
        h->has_max = true;
    }
    if (p && h->heap_n == 0 && watermark(ctx, h, &w) && ts <= w) {
        /* In order with nothing buffered: the heap would take it and
         * hand it straight back.  Run it here; the budget sees the same
         * slot come and go (make_room, the peak), as the heap does. */
        (void)t1071i_make_room(ctx, sizeof(*h->heap));
        mem_add(ctx, sizeof(*h->heap));
        mem_sub(ctx, sizeof(*h->heap));
        rc = t1071i_run_event(ctx, h, p);
        t1071i_pev_unref(ctx, p);
        int rrc = t1071i_release(ctx, h);
        return rc != T1071_OK ? rc : rrc;
    }
    if (p) {
        rc = t1071i_heap_push(ctx, h, p);
        if (rc != T1071_OK) {
            t1071i_pev_unref(ctx, p);
            return rc;
        }
    }
    return t1071i_release(ctx, h);
}

void
t1071i_take_held(struct host *h, int64_t *ts, struct rec **p)
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
    size_t cap = t1071i_ring_cap(ctx);

    for (size_t i = 0; i < h->heap_n; i++) {
        if (h->heap[i] != f)
            continue;
        /* Replace by the last, then restore heap order (Floyd). */
        h->heap[i] = h->heap[--h->heap_n];
        for (size_t j = h->heap_n / 2; j-- > 0;)
            heap_sift_down(h, j);
        mem_sub(ctx, sizeof(*h->heap));
        ctx->stats[T1071_STAT_EVENTS_BUFFERED]--;
        t1071i_pev_unref(ctx, f);
        return;
    }
    /* Its keys, and the fallback key (tuning.fallback_key) it joined too. */
    struct t1071i_pev view;
    const char *vkeys[MAX_KEY_VALUES];
    const char *fk = NULL;
    if (ctx->tracker) {
        t1071i_rec_view(f, &view, vkeys);
        fk = t1071i_tracker_fallback_key(ctx->tracker, &view);
    }
    for (uint32_t i = 0; i < (uint32_t)f->n_keys + (fk != NULL); i++) {
        struct katom *a;
        if (i < f->n_keys) {
            a = f->keys[i];
        } else {
            size_t len = strlen(fk);
            a = t1071i_atom_find(ctx, t1071i_hash(ctx->seed, fk, len), fk, len);
        }
        struct key *k = a ? a->key : NULL;
        uint32_t kept = 0;
        int64_t newest = INT64_MIN;
        if (!k)
            continue;
        for (uint32_t j = 0; j < k->count; j++) {
            struct rec *q = k->ring[(k->head + j) % cap];
            if (q == f) {
                t1071i_pev_unref(ctx, f);
                continue;
            }
            k->ring[(k->head + kept++) % cap] = q;
            if (q->ts > newest)
                newest = q->ts;
        }
        k->count = kept;
        if (kept == 0 && k->last_ts == f->ts)
            t1071i_key_drop(ctx, k);  /* it held nothing but the suspect */
        else if (kept > 0)
            k->last_ts = newest;
    }
}

int
t1071i_on_time(struct t1071_ctx *ctx, struct host *h, int64_t ts, struct rec *p)
{
    int64_t jump = ctx->cfg->max_jump_ms;
    int rc;

    if (!h->has_max && !h->has_held) {
        /* A host's first event runs at once, but its clock stays open to
         * question until the next event: no other host's time is a
         * reference (hosts never interact; sharded contexts must see what
         * one context sees). */
        if (h->first_open)
            t1071i_pev_unref(ctx, h->first); /* an earlier first event was late: replaced */
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
        t1071i_pev_unref(ctx, f);
    }
    if (h->has_max && ts - h->max_ts > jump) {
        ctx->stats[T1071_STAT_EVENTS_SUSPECT]++;
        if (h->has_held && (ts > h->held_ts ? ts - h->held_ts : h->held_ts - ts) <= jump) {
            /* A second event near the first: the host's clock really
             * moved (a machine back from a long idle).  Admit both, in
             * time order. */
            int64_t hts;
            struct rec *hp;
            t1071i_take_held(h, &hts, &hp);
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
            t1071i_pev_unref(ctx, h->held);
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
        t1071i_take_held(h, &hts, &hp);
        int rc2 = admit(ctx, h, hts, hp);
        if (rc == T1071_OK)
            rc = rc2;
    }
    return rc;
}
