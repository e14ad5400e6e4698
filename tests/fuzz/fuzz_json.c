/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the ECS JSON entry points, t1071_feed_json() and
 * t1071_event_from_json(), against each other.
 *
 * Input: byte 0 picks a configuration (fuzz.h); the rest is split on '\n'
 * into JSON documents (exact slices, not NUL-terminated).  Each goes to
 * two contexts: t1071_feed_json() on one, t1071_event_from_json() then
 * t1071_feed_event() on the other.  The header says the encoder reads JSON
 * "exactly as t1071_feed_json() reads it", so both must return the same
 * status for every line and end with byte-identical alerts. */
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

/* fuzz_drain(), keeping a copy of every alert's protobuf bytes. */
static size_t
collect(t1071_ctx *ctx, struct alerts *a)
{
    t1071_alert_batch *b = NULL;
    size_t n;

    FUZZ_CHECK(t1071_poll_alerts(ctx, &b) == T1071_OK);
    n = t1071_alert_batch_count(b);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pb = NULL;
        const char *json = NULL;
        size_t len = 0, jlen = 0;
        FUZZ_CHECK(t1071_alert_batch_get(b, i, &pb, &len) == T1071_OK);
        append(a, pb, len);
        FUZZ_CHECK(t1071_alert_batch_get_json(b, i, &json, &jlen) == T1071_OK);
        FUZZ_CHECK(json != NULL && strlen(json) == jlen);
        a->n++;
    }
    t1071_alert_batch_free(b);
    return n;
}

static int
feed_json(t1071_ctx *ctx, struct alerts *a, const char *line, size_t len)
{
    int rc;

    while ((rc = t1071_feed_json(ctx, line, len)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(collect(ctx, a) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE, T1071_E_DECODE,
                  T1071_E_TIMESTAMP, T1071_E_NOMEM);
    return rc;
}

static int
feed_encoded(t1071_ctx *ctx, struct alerts *a, const char *line, size_t len)
{
    t1071_buffer *ev = NULL;
    int rc = t1071_event_from_json(line, len, 0, &ev);

    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE, T1071_E_NOMEM);
    if (rc != T1071_OK) {
        /* t1071_feed_json() counts a bad line as a record, and a record's
         * ordinal names events without event.id ("line:N"): count one here
         * too, with a record that cannot decode (field number 0). */
        static const uint8_t junk[] = {0x07};
        FUZZ_CHECK(ev == NULL);
        while (t1071_feed_event(ctx, junk, sizeof(junk)) == T1071_E_QUEUE_FULL)
            FUZZ_CHECK(collect(ctx, a) > 0);
        return rc;
    }
    FUZZ_CHECK(ev != NULL && t1071_buffer_size(ev) <= T1071_MAX_EVENT_BYTES);
    fuzz_shard(t1071_buffer_data(ev), t1071_buffer_size(ev));
    while ((rc = t1071_feed_event(ctx, t1071_buffer_data(ev), t1071_buffer_size(ev))) ==
           T1071_E_QUEUE_FULL)
        FUZZ_CHECK(collect(ctx, a) > 0);
    /* What the library encoded must decode. */
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
    const char *p, *end;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    direct = fuzz_ctx_new(data[0]);
    encoded = fuzz_ctx_new(data[0]);
    p = (const char *)data + 1;
    end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        int rd = feed_json(direct, &ad, p, len);
        int re = feed_encoded(encoded, &ae, p, len);
        if (rd != re) {
            fprintf(stderr, "feed_json: %s, event_from_json+feed_event: %s on \"%.*s\"\n",
                    t1071_strerror(rd), t1071_strerror(re), (int)(len > 200 ? 200 : len), p);
            abort();
        }
        p += len + 1;
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
