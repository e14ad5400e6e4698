/* SPDX-License-Identifier: Apache-2.0 */
/* The public calls of mergeable fleet prevalence (tuning.fleet_key):
 * t1071_prevalence_export and t1071_prevalence_merge over
 * score/prevalence-sync.c, with the context's memory counted. */
#include "engine/engine-priv.h"
#include "score/tracker.h"
#include "util/status.h"

T1071_API int
t1071_prevalence_export(const t1071_ctx *ctx, uint64_t since, t1071_buffer **out,
                        uint64_t *cursor)
{
    if (out)
        *out = NULL;
    if (cursor)
        *cursor = 0;
    if (!ctx || !out || !cursor)
        return T1071_E_INVALID_ARG;
    if (ctx->n_rules)
        return T1071_E_UNSUPPORTED; /* one table per rule: not mergeable as one */
    return t1071i_prev_export(ctx->tracker, since, out, cursor);
}

T1071_API int
t1071_prevalence_merge(t1071_ctx *ctx, const uint8_t *buf, size_t len)
{
    const char *why = NULL;
    uint64_t changed = 0;
    size_t before;
    int rc;

    if (!ctx || (!buf && len))
        return T1071_E_INVALID_ARG;
    if (ctx->n_rules) {
        t1071i_set_err(ctx, "prevalence merging is not supported with several rules");
        return T1071_E_UNSUPPORTED;
    }
    before = ctx->tracker ? t1071i_tracker_bytes(ctx->tracker) : 0;
    rc = t1071i_prev_merge(ctx->tracker, buf, len, &why, &changed);
    if (ctx->tracker)
        mem_delta(ctx, (int64_t)t1071i_tracker_bytes(ctx->tracker) - (int64_t)before);
    if (rc != T1071_OK)
        t1071i_set_err(ctx, "%s", why ? why : t1071i_strerror(rc));
    return rc;
}
