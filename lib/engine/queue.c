/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded alert queue and the public alert batches. */
#include "engine/engine-priv.h"

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

int
t1071i_queue_push(struct t1071_ctx *ctx, uint8_t *data, size_t len)
{
    struct qalert *q;
    int rc = queue_reserve(ctx);

    if (rc != T1071_OK)
        return rc;
    /* Alerts are never dropped for the budget: keys make way for them. */
    (void)t1071i_make_room(ctx, sizeof(*q) + len);
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
 * steps and accounting as t1071i_queue_push, without the copy. */
int
t1071i_queue_push_block(struct t1071_ctx *ctx, struct qalert *q)
{
    int rc = queue_reserve(ctx);

    if (rc != T1071_OK) {
        free(q);
        return rc;
    }
    (void)t1071i_make_room(ctx, sizeof(*q) + q->len);
    queue_append(ctx, q);
    return T1071_OK;
}

/* At its high-water mark (engine.alert_queue) the queue refuses more work:
 * counted, and the error text says what to do ("poll alerts, then
 * @p then").  True when refused. */
bool
t1071i_queue_refuse_full(struct t1071_ctx *ctx, const char *then)
{
    if (ctx->q_n < ctx->cfg->alert_queue)
        return false;
    ctx->stats[T1071_STAT_QUEUE_FULL]++;
    t1071i_set_err(ctx, "alert queue full (%zu alerts): poll alerts, then %s", ctx->q_n, then);
    return true;
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
