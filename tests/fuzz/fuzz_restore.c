/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: t1071_restore() (snapshot decoding and the rebuilt
 * context).
 *
 * A random snapshot almost never passes the SHA-256 check, so by default
 * the input is the snapshot's payload (the protobuf Snapshot message) and
 * the target writes the header itself: "T1071SNP", format version
 * (4 bytes LE), 4 zero bytes, SHA-256 of the payload (the layout in
 * lib/engine/).  Input byte 0 chooses: bit 0 clear = wrap as above; bit 0
 * set = feed the rest as a whole snapshot, header and all (bit 1 then
 * fixes its checksum, bits 2-3 pick the version word).
 *
 * A restored context must work and must continue exactly: its snapshot
 * restores to a context whose snapshot is the same bytes, and both
 * contexts give the same alerts on the same later events. */
#include <glib.h>

#include "fuzz.h"

#define SNAP_HEADER (8 + 4 + 4 + 32)

static void
sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    gsize dlen = 32;

    g_checksum_update(sum, data, (gssize)len);
    g_checksum_get_digest(sum, out, &dlen);
    g_checksum_free(sum);
}

struct alerts {
    GByteArray *bytes;
    size_t n;
};

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
        uint32_t l32;
        FUZZ_CHECK(t1071_alert_batch_get(b, i, &pb, &len) == T1071_OK);
        l32 = (uint32_t)len;
        g_byte_array_append(a->bytes, (const guint8 *)&l32, sizeof(l32));
        g_byte_array_append(a->bytes, pb, (guint)len);
        /* Alerts come from the snapshot as opaque bytes: rendering them
         * must cope with anything. */
        FUZZ_CHECK_RC(t1071_alert_batch_get_json(b, i, &json, &jlen), T1071_OK, T1071_E_DECODE,
                      T1071_E_NOMEM);
        a->n++;
    }
    t1071_alert_batch_free(b);
    return n;
}

/* The same later input into a restored context. */
static void
continue_run(t1071_ctx *ctx, struct alerts *a)
{
    static const char *const hosts[] = {"h", "H", ""};
    int rc;

    for (int i = 0; i < 12; i++) {
        char line[512];
        t1071_buffer *ev = NULL;
        snprintf(line, sizeof(line),
                 "{\"@timestamp\":\"2024-01-01T00:%02d:00Z\",\"event\":{\"category\":[\"network\"],"
                 "\"type\":[\"connection\"]},\"network\":{\"direction\":\"egress\"},"
                 "\"destination\":{\"ip\":\"198.51.100.9\",\"port\":443},\"process\":"
                 "{\"name\":\"b.exe\",\"entity_id\":\"E%d\"},\"source\":{\"ip\":\"10.0.0.2\"},"
                 "\"host\":{\"name\":\"%s\"}}",
                 i * 3, i % 2, hosts[i % 3]);
        FUZZ_CHECK(t1071_event_from_json(line, strlen(line), 0, &ev) == T1071_OK);
        while ((rc = t1071_feed_event(ctx, t1071_buffer_data(ev), t1071_buffer_size(ev))) ==
               T1071_E_QUEUE_FULL)
            FUZZ_CHECK(collect(ctx, a) > 0);
        FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_TOO_LARGE, T1071_E_NOMEM);
        t1071_buffer_free(ev);
    }
    collect(ctx, a);
    while ((rc = t1071_advance(ctx, INT64_MAX)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(collect(ctx, a) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_NOMEM);
    collect(ctx, a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *snap;
    size_t len;
    t1071_ctx *ctx = NULL, *again = NULL;
    t1071_buffer *s2 = NULL, *s3 = NULL;
    struct alerts a1, a2;
    int rc;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    if (!(data[0] & 1)) {
        len = SNAP_HEADER + size - 1;
        snap = malloc(len);
        FUZZ_CHECK(snap != NULL);
        memcpy(snap, "T1071SNP", 8);
        memcpy(snap + 8, "\x01\0\0\0\0\0\0\0", 8);
        memcpy(snap + SNAP_HEADER, data + 1, size - 1);
        sha256(snap + SNAP_HEADER, len - SNAP_HEADER, snap + 16);
    } else {
        len = size - 1;
        snap = malloc(len ? len : 1);
        FUZZ_CHECK(snap != NULL);
        memcpy(snap, data + 1, len);
        if (len >= SNAP_HEADER && (data[0] & 2))
            sha256(snap + SNAP_HEADER, len - SNAP_HEADER, snap + 16);
        if (len >= 12 && (data[0] & 12)) {
            static const uint8_t vers[4][4] = {
                {0, 0, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}};
            memcpy(snap + 8, vers[(data[0] >> 2) & 3], 4);
        }
    }

    rc = t1071_restore(&ctx, snap, len);
    free(snap);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_SNAPSHOT, T1071_E_VERSION, T1071_E_NOMEM);
    if (rc != T1071_OK) {
        FUZZ_CHECK(ctx == NULL);
        return 0;
    }
    FUZZ_CHECK(ctx != NULL);

    /* Nothing is allocated from an unchecked length: the state rebuilt is
     * bounded by the snapshot's size (per byte at most one key with a
     * full ring of rule.runs <= 1000 slots), plus the fixed tables. */
    {
        uint64_t mem = fuzz_stat(ctx, T1071_STAT_MEMORY_BYTES);
        uint64_t bound = UINT64_C(1) << 20 | (uint64_t)len * 8192;
        if (mem > bound) {
            fprintf(stderr, "a %zu-byte snapshot restored %" PRIu64 " bytes of state\n", len,
                    mem);
            abort();
        }
    }

    /* Snapshot, restore, snapshot: a fixed point. */
    FUZZ_CHECK(t1071_snapshot(ctx, &s2) == T1071_OK);
    rc = t1071_restore(&again, t1071_buffer_data(s2), t1071_buffer_size(s2));
    if (rc != T1071_OK) {
        fprintf(stderr, "a restored context's own snapshot does not restore: %s\n",
                t1071_strerror(rc));
        abort();
    }
    FUZZ_CHECK(t1071_snapshot(again, &s3) == T1071_OK);
    FUZZ_CHECK(t1071_buffer_size(s2) == t1071_buffer_size(s3));
    FUZZ_CHECK(!memcmp(t1071_buffer_data(s2), t1071_buffer_data(s3), t1071_buffer_size(s2)));
    t1071_buffer_free(s2);
    t1071_buffer_free(s3);

    /* Both continue alike. */
    a1.bytes = g_byte_array_new();
    a1.n = 0;
    a2.bytes = g_byte_array_new();
    a2.n = 0;
    continue_run(ctx, &a1);
    continue_run(again, &a2);
    FUZZ_CHECK(a1.n == a2.n);
    FUZZ_CHECK(a1.bytes->len == a2.bytes->len);
    FUZZ_CHECK(a1.bytes->len == 0 || !memcmp(a1.bytes->data, a2.bytes->data, a1.bytes->len));
    g_byte_array_free(a1.bytes, TRUE);
    g_byte_array_free(a2.bytes, TRUE);
    FUZZ_CHECK(fuzz_stat(ctx, T1071_STAT_ALERTS_QUEUED) == 0);
    t1071_free(ctx);
    t1071_free(again);
    return 0;
}
