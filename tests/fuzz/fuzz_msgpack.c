/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the msgpack entry points, t1071_feed_msgpack() and
 * t1071_event_from_msgpack(), against each other.
 *
 * Input: byte 0 picks a configuration (fuzz.h; some turn rule.derive on,
 * which t1071_feed_msgpack() reads by another path); the rest is a list of
 * records, each a little-endian u16 length then that many bytes (the last
 * one cut short where the input ends).  Each record goes to two contexts:
 * t1071_feed_msgpack() on one, t1071_event_from_msgpack() then
 * t1071_feed_event() on the other.  The header says the encoder reads a
 * map "exactly as t1071_feed_msgpack() reads it", so both must return the
 * same status for every record and end with byte-identical alerts; and no
 * bytes (not a map, cut, nested too deep, lengths past the end) may crash,
 * leak or read out of bounds (ASan). */
#include "fuzz.h"

struct alerts {
    uint8_t *data;
    size_t len, cap, n;
};

static void
append(struct alerts *a, const void *p, size_t n)
{
    if (a->len + n + 8 > a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 4096;
        while (nc < a->len + n + 8)
            nc *= 2;
        a->data = realloc(a->data, nc);
        FUZZ_CHECK(a->data != NULL);
        a->cap = nc;
    }
    memcpy(a->data + a->len, &n, sizeof(n) < 8 ? sizeof(n) : 8);
    a->len += 8;
    memcpy(a->data + a->len, p, n);
    a->len += n;
}

static size_t
collect(t1071_ctx *ctx, struct alerts *a)
{
    t1071_alert_batch *b = NULL;
    size_t n;

    FUZZ_CHECK(t1071_poll_alerts(ctx, &b) == T1071_OK);
    n = t1071_alert_batch_count(b);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pb = NULL;
        size_t len = 0;
        FUZZ_CHECK(t1071_alert_batch_get(b, i, &pb, &len) == T1071_OK);
        append(a, pb, len);
        a->n++;
    }
    t1071_alert_batch_free(b);
    return n;
}

static int
feed_direct(t1071_ctx *ctx, struct alerts *a, const uint8_t *rec, size_t len)
{
    int rc;

    while ((rc = t1071_feed_msgpack(ctx, rec, len)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(collect(ctx, a) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE, T1071_E_DECODE,
                  T1071_E_TIMESTAMP, T1071_E_NOMEM);
    if (rc == T1071_E_JSON)
        FUZZ_CHECK(strstr(t1071_errmsg(ctx), "msgpack") != NULL ||
                   strstr(t1071_errmsg(ctx), "expected") != NULL);
    return rc;
}

static int
feed_encoded(t1071_ctx *ctx, struct alerts *a, const uint8_t *rec, size_t len)
{
    t1071_buffer *ev = NULL;
    int rc = t1071_event_from_msgpack(rec, len, 0, NULL, &ev);

    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE, T1071_E_NOMEM);
    if (rc != T1071_OK) {
        /* A bad record still counts as a record (it names events without
         * event.id by their ordinal): feed one that cannot decode. */
        static const uint8_t junk[] = {0x07};
        FUZZ_CHECK(ev == NULL);
        while (t1071_feed_event(ctx, junk, sizeof(junk)) == T1071_E_QUEUE_FULL)
            FUZZ_CHECK(collect(ctx, a) > 0);
        return rc;
    }
    FUZZ_CHECK(ev != NULL && t1071_buffer_size(ev) <= T1071_MAX_EVENT_BYTES);
    while ((rc = t1071_feed_event(ctx, t1071_buffer_data(ev), t1071_buffer_size(ev))) ==
           T1071_E_QUEUE_FULL)
        FUZZ_CHECK(collect(ctx, a) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_TOO_LARGE, T1071_E_TIMESTAMP, T1071_E_NOMEM);
    t1071_buffer_free(ev);
    return rc;
}

static void
finish(t1071_ctx *ctx, struct alerts *a)
{
    int rc;

    collect(ctx, a);
    while ((rc = t1071_advance(ctx, INT64_MAX)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(collect(ctx, a) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_NOMEM);
    collect(ctx, a);
    fuzz_check_counters(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    t1071_ctx *direct, *encoded;
    struct alerts ad = {0}, ae = {0};
    const uint8_t *p, *end;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    direct = fuzz_ctx_new(data[0]);
    encoded = fuzz_ctx_new(data[0]);
    p = data + 1;
    end = data + size;
    while (p < end) {
        size_t len = end - p >= 2 ? (size_t)(p[0] | p[1] << 8) : 0;
        const uint8_t *rec;
        int rd, re;

        p += end - p >= 2 ? 2 : (size_t)(end - p);
        if (len > (size_t)(end - p))
            len = (size_t)(end - p);
        /* A copy of exactly the record, so ASan sees any read past it. */
        rec = malloc(len ? len : 1);
        FUZZ_CHECK(rec != NULL);
        memcpy((void *)rec, p, len);
        rd = feed_direct(direct, &ad, rec, len);
        re = feed_encoded(encoded, &ae, rec, len);
        if (rd != re) {
            fprintf(stderr, "feed_msgpack: %s, event_from_msgpack+feed_event: %s\n",
                    t1071_strerror(rd), t1071_strerror(re));
            abort();
        }
        free((void *)rec);
        p += len;
    }
    finish(direct, &ad);
    finish(encoded, &ae);
    FUZZ_CHECK(ad.n == ae.n);
    FUZZ_CHECK(ad.len == ae.len && (ad.len == 0 || !memcmp(ad.data, ae.data, ad.len)));
    free(ad.data);
    free(ae.data);
    t1071_free(direct);
    t1071_free(encoded);
    return 0;
}
