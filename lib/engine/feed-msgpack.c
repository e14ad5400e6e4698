/* SPDX-License-Identifier: Apache-2.0 */
/* t1071_feed_msgpack: one msgpack map through the JSON entry points'
 * record mapping (input/msgpack.h), packed, then fed as a protobuf Event. */
#include "engine/engine-priv.h"
#include "input/msgpack.h"

/* Called with the Event read: count the record, then the engine (as
 * feed_one does after decoding). */
struct feed {
    struct t1071_ctx *ctx;
    bool called;
};

static int
process(void *arg, const t1071i_event *ev)
{
    struct feed *f = arg;

    f->called = true;
    f->ctx->stats[T1071_STAT_RECORDS_IN]++;
    return t1071i_process_event(f->ctx, ev);
}

T1071_API int
t1071_feed_msgpack(t1071_ctx *ctx, const void *map, size_t len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    char err[160];
    int rc;

    if (!ctx || (!map && len))
        return T1071_E_INVALID_ARG;
    if (t1071i_queue_refuse(ctx, "feed again"))
        return T1071_E_QUEUE_FULL;
    err[0] = '\0';
    if (!ctx->cfg->derive) {
        /* The engine only reads the event (and keeps copies): read it into
         * a scratch arena and hand it over, no packing and decoding. */
        struct feed f = {ctx, false};

        rc = t1071i_msgpack_with_event(map, len, ctx->cfg->input_source,
                                       ctx->cfg->max_event_bytes, process, &f, err,
                                       sizeof(err));
        if (!f.called) {
            /* Not read: counted as t1071_feed_json counts a bad line. */
            ctx->stats[T1071_STAT_RECORDS_IN]++;
            if (rc == T1071_E_JSON)
                ctx->stats[T1071_STAT_ERR_JSON]++;
            else if (rc == T1071_E_TOO_LARGE)
                ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
            t1071i_set_err(ctx, "record %" PRIu64 ": %s", ctx->stats[T1071_STAT_RECORDS_IN],
                           err[0] ? err : "out of memory");
        }
        return rc;
    }
    /* rule.derive edits the event: the protobuf path, which unpacks it. */
    rc = t1071i_msgpack_to_packed_as(map, len, ctx->cfg->input_source, 0,
                                     ctx->cfg->max_event_bytes, &buf, &n, 0, err, sizeof(err));
    if (rc != T1071_OK) {
        /* Counted as t1071_feed_json counts a bad line. */
        ctx->stats[T1071_STAT_RECORDS_IN]++;
        if (rc == T1071_E_JSON)
            ctx->stats[T1071_STAT_ERR_JSON]++;
        else if (rc == T1071_E_TOO_LARGE)
            ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        t1071i_set_err(ctx, "record %" PRIu64 ": %s", ctx->stats[T1071_STAT_RECORDS_IN],
                       err[0] ? err : "out of memory");
        return rc;
    }
    /* The same path as a protobuf Event (counts the record). */
    rc = t1071_feed_event(ctx, buf, n);
    free(buf);
    return rc;
}
