/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: t1071_prevalence_merge() (delta decoding and the
 * order-free merge, README "Fleet prevalence across contexts").
 *
 * A random delta almost never passes the SHA-256 check, so the input is
 * the delta's tail and the target writes the head: bytes 0..3 of the input
 * are the entry count, 4..11 the floor, the rest the entries; the magic,
 * version, K and fleet fingerprint come from a real export of a context
 * with the same fleet key, and the checksum is computed.  Input byte 0 with
 * bit 7 set instead feeds the whole input as it is (the checks before the
 * checksum).
 *
 * Whatever merges must keep the table's laws: merging the same delta again
 * changes nothing (idempotent), and a fresh context that merges the
 * context's whole table holds the same table (the table is a function of
 * what it merged). */
#include <glib.h>

#include "fuzz.h"

#define HEAD 88u
#define KV "tuning.prevalence_hosts", "3", "tuning.prevalence_suppress_hosts", "5", \
           "tuning.fleet_key", "fuzz-fleet"

static t1071_ctx *
fleet_ctx(void)
{
    static const char *const kv[] = {KV, NULL};
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    FUZZ_CHECK(t1071_config_new(&cfg) == T1071_OK);
    for (size_t i = 0; kv[i]; i += 2)
        FUZZ_CHECK(t1071_config_set(cfg, kv[i], kv[i + 1]) == T1071_OK);
    FUZZ_CHECK(t1071_init(&ctx, cfg) == T1071_OK);
    t1071_config_free(cfg);
    return ctx;
}

static t1071_buffer *
whole(const t1071_ctx *ctx)
{
    t1071_buffer *b = NULL;
    uint64_t c;

    FUZZ_CHECK(t1071_prevalence_export(ctx, 0, &b, &c) == T1071_OK);
    return b;
}

/* Same table: same bytes but for the checksum (16..48) and cursor (64..72). */
static bool
same_table(const t1071_buffer *a, const t1071_buffer *b)
{
    const uint8_t *x = t1071_buffer_data(a), *y = t1071_buffer_data(b);
    size_t n = t1071_buffer_size(a);

    return n == t1071_buffer_size(b) && n >= HEAD && !memcmp(x, y, 16) &&
           !memcmp(x + 48, y + 48, 16) && !memcmp(x + 72, y + 72, n - 72);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    t1071_ctx *ctx, *fresh;
    t1071_buffer *empty, *t1, *t2, *t3;
    uint8_t *delta;
    size_t len;
    int rc;

    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT;
    ctx = fleet_ctx();
    empty = whole(ctx);
    FUZZ_CHECK(t1071_buffer_size(empty) == HEAD);
    if (size && (data[0] & 0x80)) {
        len = size - 1;
        delta = g_memdup2(data + 1, len ? len : 1);
    } else {
        GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
        gsize dlen = 32;
        size_t body = size > 12 ? size - 12 : 0;
        len = HEAD + body;
        delta = g_malloc0(len);
        memcpy(delta, t1071_buffer_data(empty), HEAD);
        memcpy(delta + 80, data, size < 4 ? size : 4);            /* entries */
        memset(delta + 72, 0, 8);
        if (size > 4)
            memcpy(delta + 72, data + 4, size - 4 < 8 ? size - 4 : 8); /* floor */
        if (body)
            memcpy(delta + HEAD, data + 12, body);
        g_checksum_update(sum, delta, 16);
        g_checksum_update(sum, delta + 48, (gssize)(len - 48));
        g_checksum_get_digest(sum, delta + 16, &dlen);
        g_checksum_free(sum);
    }
    rc = t1071_prevalence_merge(ctx, delta, len);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_SNAPSHOT);
    t1 = whole(ctx);
    if (rc == T1071_E_SNAPSHOT)
        FUZZ_CHECK(same_table(t1, empty)); /* nothing merged */
    /* idempotent */
    FUZZ_CHECK(t1071_prevalence_merge(ctx, delta, len) == rc);
    t2 = whole(ctx);
    FUZZ_CHECK(same_table(t1, t2));
    /* a function of what it merged */
    fresh = fleet_ctx();
    FUZZ_CHECK(t1071_prevalence_merge(fresh, t1071_buffer_data(t2), t1071_buffer_size(t2)) ==
               T1071_OK);
    t3 = whole(fresh);
    FUZZ_CHECK(same_table(t2, t3));
    t1071_buffer_free(empty);
    t1071_buffer_free(t1);
    t1071_buffer_free(t2);
    t1071_buffer_free(t3);
    g_free(delta);
    t1071_free(fresh);
    t1071_free(ctx);
    return 0;
}
