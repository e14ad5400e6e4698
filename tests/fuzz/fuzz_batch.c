/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: t1071_feed_batch() (length-delimited Event streams).
 *
 * Input: byte 0 picks a configuration (fuzz.h), byte 1 a split point; the
 * rest is the stream.  It is fed in two calls cut at the split point (the
 * host resumes at *consumed, as the API says), re-feeding from *consumed
 * after every T1071_E_QUEUE_FULL.  The same stream is also fed whole into
 * a second context: both must end with the same counters and alerts. */
#include "fuzz.h"

struct run {
    t1071_ctx *ctx;
    uint64_t alerts;
};

static size_t
drain_count(struct run *r)
{
    size_t n = fuzz_drain(r->ctx);
    r->alerts += n;
    return n;
}

/* Feed buf[0..len) until it is consumed or the stream is cut; returns how
 * many bytes were consumed. */
static size_t
feed_all(struct run *r, const uint8_t *buf, size_t len, int *last_rc)
{
    size_t off = 0;
    int rc;

    for (;;) {
        size_t consumed = SIZE_MAX;
        rc = t1071_feed_batch(r->ctx, buf + off, len - off, &consumed);
        FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_QUEUE_FULL, T1071_E_TRUNCATED, T1071_E_NOMEM);
        FUZZ_CHECK(consumed <= len - off);
        off += consumed;
        if (rc == T1071_OK)
            FUZZ_CHECK(off == len);
        if (rc == T1071_E_QUEUE_FULL) {
            FUZZ_CHECK(off < len);
            FUZZ_CHECK(drain_count(r) > 0);
            continue;
        }
        if (rc == T1071_E_NOMEM && off < len)
            continue; /* a dropped record; the rest of the stream goes on */
        break;
    }
    *last_rc = rc;
    return off;
}

static void
finish(struct run *r)
{
    int rc;

    drain_count(r);
    while ((rc = t1071_advance(r->ctx, INT64_MAX)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(drain_count(r) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_NOMEM);
    drain_count(r);
    fuzz_check_counters(r->ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run split = {0}, whole = {0};
    const uint8_t *stream;
    size_t len, cut, done;
    int rc = T1071_OK, rc_whole = T1071_OK;
    bool nomem = false;

    if (size < 2 || size > FUZZ_MAX_INPUT)
        return 0;
    stream = data + 2;
    len = size - 2;
    cut = len ? (size_t)data[1] * len / 255 : 0;
    split.ctx = fuzz_ctx_new(data[0]);
    whole.ctx = fuzz_ctx_new(data[0]);

    /* Split feeding: the first part, then whatever was not consumed of it
     * together with the rest (a record cut by the split point is fed again
     * whole, as a host reading a socket would). */
    done = feed_all(&split, stream, cut, &rc);
    nomem = nomem || rc == T1071_E_NOMEM;
    done += feed_all(&split, stream + done, len - done, &rc);
    nomem = nomem || rc == T1071_E_NOMEM;

    FUZZ_CHECK(feed_all(&whole, stream, len, &rc_whole) == done);
    nomem = nomem || rc_whole == T1071_E_NOMEM;
    FUZZ_CHECK(rc == rc_whole);
    finish(&split);
    finish(&whole);

    /* The truncation counter may differ (the first part may end inside a
     * record); everything the engine saw is the same. */
    if (!nomem) {
        static const int same[] = {T1071_STAT_EVENTS_DECODED, T1071_STAT_EVENTS_MATCHED,
                                   T1071_STAT_ERR_DECODE,     T1071_STAT_ERR_TOO_LARGE,
                                   T1071_STAT_ERR_TIMESTAMP,  T1071_STAT_EVENTS_LATE,
                                   T1071_STAT_ALERTS};
        for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
            FUZZ_CHECK(fuzz_stat(split.ctx, same[i]) == fuzz_stat(whole.ctx, same[i]));
        FUZZ_CHECK(split.alerts == whole.alerts);
    }
    t1071_free(split.ctx);
    t1071_free(whole.ctx);
    return 0;
}
