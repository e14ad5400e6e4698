/* SPDX-License-Identifier: Apache-2.0 */
/* Context lifecycle: init, free, error text, counters.  The public calls
 * are thin: the engine itself (and the multi-rule fan-out) calls the
 * t1071i_ names. */
#include "engine/engine-priv.h"

void
t1071i_set_err(struct t1071_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
    va_end(ap);
}

/* ===== Lifecycle ===== */

int
t1071i_ctx_new(struct t1071_ctx **out, const struct t1071_config *cfg)
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
        rc = t1071i_config_new(&ctx->cfg);
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
    if ((rc = t1071i_ht_init(&ctx->hosts, 64, offsetof(struct host, name))) != T1071_OK ||
        (rc = t1071i_ht_init(&ctx->keys, 1024, offsetof(struct katom, str))) != T1071_OK)
        goto fail;
    if (ctx->cfg->n_extra && (rc = t1071i_rules_init(ctx)) != T1071_OK)
        goto fail;
    *out = ctx;
    return T1071_OK;
fail:
    t1071i_ctx_free(ctx);
    return rc;
}

void
t1071i_ctx_free(struct t1071_ctx *ctx)
{
    struct host *h, *next;

    if (!ctx)
        return;
    t1071i_rules_free(ctx);
    for (unsigned t = 0; t < 2; t++)
        while (ctx->tiers[t].head)
            t1071i_key_free(ctx, ctx->tiers[t].head);
    for (h = ctx->hosts_first; h; h = next) {
        next = h->next;
        for (size_t i = 0; i < h->heap_n; i++)
            t1071i_pev_unref(ctx, h->heap[i]);
        t1071i_pev_unref(ctx, h->held);
        t1071i_pev_unref(ctx, h->first);
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
    t1071i_config_free(ctx->cfg);
    free(ctx);
}

T1071_API int
t1071_init(t1071_ctx **out, const t1071_config *cfg)
{
    return t1071i_ctx_new(out, cfg);
}

T1071_API void
t1071_free(t1071_ctx *ctx)
{
    t1071i_ctx_free(ctx);
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
    *value = t1071i_rules_stat(ctx, id);
    return T1071_OK;
}

size_t
t1071i_ctx_longest_chain(const t1071_ctx *ctx, int which)
{
    return t1071i_ht_longest_chain(which ? &ctx->hosts : &ctx->keys);
}
