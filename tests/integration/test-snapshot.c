/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot / restore: a stream cut at 100 random points, snapshotted,
 * restored into a fresh context and continued gives exactly the alerts of
 * an uninterrupted run, byte for byte (reorder buffers, held suspects,
 * evictions under a memory cap and undelivered alerts included).  Bad
 * snapshots are refused with the right status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "testutil.h"

#define T0 INT64_C(1704067200000)
#define N_EVENTS 3000

struct stream {
    uint8_t *rec[N_EVENTS];
    size_t len[N_EVENTS];
};

static const char *const ips[] = {"203.0.113.7", "198.51.100.9", "10.1.2.3", "::ffff:8.8.8.8",
                                  "2001:db8::1", "not-an-ip"};

/* A deterministic stream: beacons and noise over several hosts and keys,
 * out of order within a few seconds, with rare forged far-future events. */
static void
make_stream(struct stream *st, uint64_t seed)
{
    uint64_t r = seed;
    int64_t t = T0;

    for (int i = 0; i < N_EVENTS; i++) {
        tu_event ev = T1071__ECS__V1__EVENT__INIT;
        char id[32], key[32], host[16];
        char *cat[] = {(char *)"network"};
        char *type[] = {(char *)(tu_chance(&r, 50) ? "start" : "connection")};
        char *dir[] = {(char *)"egress"};
        char *ip[] = {(char *)ips[tu_below(&r, 6)]};
        char *keys[] = {key};
        char *names[] = {(char *)"beacon.exe"};
        char exe[64];
        int64_t port[] = {tu_chance(&r, 90) ? 443 : 22};

        t += (int64_t)tu_below(&r, 40000);
        snprintf(id, sizeof(id), "e%d", i);
        /* half the events on 10 hot keys, half on 1,000 cold ones */
        if (tu_chance(&r, 50))
            snprintf(key, sizeof(key), "K%u", (unsigned)tu_below(&r, 10));
        else
            snprintf(key, sizeof(key), "cold%u", (unsigned)tu_below(&r, 1000));
        snprintf(host, sizeof(host), "h%u", (unsigned)tu_below(&r, 4));
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = t - (int64_t)tu_below(&r, 5000); /* within the lateness */
        if (tu_chance(&r, 1))
            ev.timestamp_ms = t + INT64_C(400) * 86400000; /* forged: held as suspect */
        ev.event_id = id;
        ev.n_event_category = 1;
        ev.event_category = cat;
        ev.n_event_type = 1;
        ev.event_type = type;
        ev.n_network_direction = 1;
        ev.network_direction = dir;
        ev.n_destination_ip = 1;
        ev.destination_ip = ip;
        ev.n_destination_port = 1;
        ev.destination_port = port;
        ev.n_process_entity_id = 1;
        ev.process_entity_id = keys;
        ev.n_process_name = 1;
        ev.process_name = names;
        ev.host_name = host;
        /* Executables and byte counts feed the beacon tracker (size
         * factor, prevalence, the fallback key). */
        snprintf(exe, sizeof(exe), "C:\\Users\\u\\AppData\\Local\\Temp\\b%u.exe",
                 (unsigned)tu_below(&r, 3));
        ev.process_executable = exe;
        if (tu_chance(&r, 60)) {
            ev.has_source_bytes = 1;
            ev.source_bytes = 200 + (int64_t)tu_below(&r, 3) * 1000;
        }
        st->rec[i] = tu_pack_event(&ev, &st->len[i]);
    }
}

static const char *const config_faithful[] = {
    "engine.lateness", "5s",
    "rule.maxspan", "4h",
    "rule.runs", "5",
    "engine.alert_queue", "7",
    "engine.memory_limit", "96KiB",
    "engine.hash_seed", "12345",
    NULL,
};

/* The same with every piece of tuning state in play: prevalence table,
 * fallback keys, suppression periods (suppressed alerts emitted too, so
 * the bytes compared cover every verdict). */
static const char *const config_tuned[] = {
    "engine.lateness", "5s",
    "rule.maxspan", "4h",
    "rule.runs", "5",
    "engine.alert_queue", "7",
    "engine.memory_limit", "160KiB",
    "engine.hash_seed", "12345",
    "beacon.max_destinations", "3",
    "tuning.prevalence_hosts", "2",
    "tuning.prevalence_suppress_hosts", "4",
    "tuning.fallback_key", "true",
    "tuning.suppress_period", "20m",
    "tuning.score_threshold", "0.2",
    "tuning.emit_suppressed", "true",
    NULL,
};

/* Tuning without the score: keys hold only their tuning state. */
static const char *const config_tuned_noscore[] = {
    "engine.lateness", "5s",
    "rule.maxspan", "4h",
    "rule.runs", "5",
    "engine.alert_queue", "7",
    "engine.memory_limit", "128KiB",
    "engine.hash_seed", "12345",
    "beacon.enabled", "false",
    "tuning.prevalence_suppress_hosts", "3",
    "tuning.fallback_key", "true",
    "tuning.suppress_period", "20m",
    "tuning.emit_suppressed", "true",
    NULL,
};

/* Feed events [from, to) polling only when the queue is full (so alerts
 * stay queued at the cut), appending alert bytes to @p out. */
static void
feed_range(t1071_ctx *ctx, const struct stream *st, int from, int to, struct tu_buf *out)
{
    for (int i = from; i < to; i++) {
        int rc;
        while ((rc = t1071_feed_event(ctx, st->rec[i], st->len[i])) == T1071_E_QUEUE_FULL) {
            t1071_alert_batch *b = NULL;
            assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
            for (size_t k = 0; k < t1071_alert_batch_count(b); k++) {
                const uint8_t *d;
                size_t n;
                assert_int_equal(t1071_alert_batch_get(b, k, &d, &n), T1071_OK);
                tu_append_delimited(out, d, n);
            }
            t1071_alert_batch_free(b);
        }
        assert_true(rc == T1071_OK || rc == T1071_E_NOMEM);
    }
}

static void
finish(t1071_ctx *ctx, struct tu_buf *out)
{
    for (;;) {
        t1071_alert_batch *b = NULL;
        int rc = t1071_advance(ctx, INT64_MAX);
        assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
        for (size_t k = 0; k < t1071_alert_batch_count(b); k++) {
            const uint8_t *d;
            size_t n;
            assert_int_equal(t1071_alert_batch_get(b, k, &d, &n), T1071_OK);
            tu_append_delimited(out, d, n);
        }
        t1071_alert_batch_free(b);
        if (rc == T1071_OK)
            break;
        assert_int_equal(rc, T1071_E_QUEUE_FULL);
    }
}

static t1071_ctx *
snapshot_and_restore(t1071_ctx *ctx)
{
    t1071_buffer *snap = NULL;
    t1071_ctx *r = NULL;

    assert_int_equal(t1071_snapshot(ctx, &snap), T1071_OK);
    t1071_free(ctx);
    assert_int_equal(t1071_restore(&r, t1071_buffer_data(snap), t1071_buffer_size(snap)),
                     T1071_OK);
    t1071_buffer_free(snap);
    return r;
}

static void
test_snapshot_cut_at_100_points_equals_uninterrupted(void **state)
{
    struct stream st;
    struct tu_buf ref = {0};
    uint64_t r = 99;
    t1071_ctx *ctx;
    uint64_t suspect = 0, evicted = 0, buffered_at_cut = 0, suppressed = 0;
    const char *const *config = *state ? (const char *const *)*state : config_faithful;

    make_stream(&st, 7);
    ctx = tu_ctx_new(config);
    feed_range(ctx, &st, 0, N_EVENTS, &ref);
    finish(ctx, &ref);
    t1071_stats_get(ctx, T1071_STAT_EVENTS_SUSPECT, &suspect);
    t1071_stats_get(ctx, T1071_STAT_KEYS_EVICTED, &evicted);
    t1071_stats_get(ctx, T1071_STAT_ALERTS_SUPPRESSED, &suppressed);
    t1071_free(ctx);
    assert_true(ref.len > 0);
    if (config != config_faithful)
        assert_true(suppressed > 0); /* the tuned stream exercises the verdicts */
    assert_true(suspect > 0); /* the stream exercises held suspects */
    assert_true(evicted > 0); /* and the memory cap */

    for (int cut = 0; cut < 100; cut++) {
        struct tu_buf got = {0};
        int at = (int)tu_below(&r, N_EVENTS);
        uint64_t b = 0;
        ctx = tu_ctx_new(config);
        feed_range(ctx, &st, 0, at, &got);
        t1071_stats_get(ctx, T1071_STAT_EVENTS_BUFFERED, &b);
        buffered_at_cut += b;
        ctx = snapshot_and_restore(ctx);
        feed_range(ctx, &st, at, N_EVENTS, &got);
        finish(ctx, &got);
        t1071_free(ctx);
        assert_int_equal(got.len, ref.len);
        assert_memory_equal(got.data, ref.data, ref.len);
        tu_buf_free(&got);
    }
    assert_true(buffered_at_cut > 0); /* cuts fell with events in reorder buffers */
    tu_buf_free(&ref);
    for (int i = 0; i < N_EVENTS; i++)
        free(st.rec[i]);
}

/* Several cuts in one run: snapshot, restore, snapshot again... */
static void
test_snapshot_repeated_restores_equal_uninterrupted(void **state)
{
    struct stream st;
    struct tu_buf ref = {0}, got = {0};
    t1071_ctx *ctx;
    const char *const *config = *state ? (const char *const *)*state : config_faithful;

    make_stream(&st, 8);
    ctx = tu_ctx_new(config);
    feed_range(ctx, &st, 0, N_EVENTS, &ref);
    finish(ctx, &ref);
    t1071_free(ctx);
    ctx = tu_ctx_new(config);
    for (int at = 0; at < N_EVENTS; at += 250) {
        feed_range(ctx, &st, at, at + 250 < N_EVENTS ? at + 250 : N_EVENTS, &got);
        ctx = snapshot_and_restore(ctx);
    }
    finish(ctx, &got);
    t1071_free(ctx);
    assert_int_equal(got.len, ref.len);
    assert_memory_equal(got.data, ref.data, ref.len);
    tu_buf_free(&ref);
    tu_buf_free(&got);
    for (int i = 0; i < N_EVENTS; i++)
        free(st.rec[i]);
}

static void
test_restore_bad_snapshots_refused(void **state)
{
    struct stream st;
    struct tu_buf out = {0};
    t1071_ctx *ctx, *r = (t1071_ctx *)1;
    t1071_buffer *snap = NULL;
    uint8_t *copy;
    size_t n;

    (void)state;
    make_stream(&st, 9);
    ctx = tu_ctx_new(config_faithful);
    feed_range(ctx, &st, 0, 500, &out);
    assert_int_equal(t1071_snapshot(ctx, &snap), T1071_OK);
    n = t1071_buffer_size(snap);
    copy = malloc(n);

    /* every truncation */
    for (size_t cut = 0; cut < n; cut += 1 + cut / 16) {
        assert_int_equal(t1071_restore(&r, t1071_buffer_data(snap), cut), T1071_E_SNAPSHOT);
        assert_null(r);
    }
    /* a flipped bit anywhere */
    for (size_t i = 0; i < n; i += 1 + i / 8) {
        memcpy(copy, t1071_buffer_data(snap), n);
        copy[i] ^= 0x10;
        int rc = t1071_restore(&r, copy, n);
        assert_true(rc == T1071_E_SNAPSHOT || rc == T1071_E_VERSION);
        assert_null(r);
    }
    /* a newer format version */
    memcpy(copy, t1071_buffer_data(snap), n);
    copy[8] = T1071_SNAPSHOT_VERSION + 1;
    assert_int_equal(t1071_restore(&r, copy, n), T1071_E_VERSION);
    /* the original still restores */
    assert_int_equal(t1071_restore(&r, t1071_buffer_data(snap), n), T1071_OK);
    t1071_free(r);
    assert_int_equal(t1071_restore(NULL, copy, n), T1071_E_INVALID_ARG);
    {
        t1071_buffer *none = (t1071_buffer *)1;
        assert_int_equal(t1071_snapshot(NULL, &none), T1071_E_INVALID_ARG);
        assert_null(none);
    }
    free(copy);
    t1071_buffer_free(snap);
    t1071_free(ctx);
    tu_buf_free(&out);
    for (int i = 0; i < N_EVENTS; i++)
        free(st.rec[i]);
}

/* Re-sign a modified snapshot payload (a hostile writer can compute the
 * checksum too) and try to restore it. */
static int
restore_resigned(const T1071__Ecs__V1__Snapshot *s)
{
    size_t plen = t1071__ecs__v1__snapshot__get_packed_size(s), dlen = 32;
    uint8_t *buf = malloc(48 + plen);
    t1071_ctx *r = NULL;
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    int rc;

    memcpy(buf, "T1071SNP", 8);
    buf[8] = T1071_SNAPSHOT_VERSION;
    buf[9] = buf[10] = buf[11] = 0;
    buf[12] = buf[13] = buf[14] = buf[15] = 0;
    t1071__ecs__v1__snapshot__pack(s, buf + 48);
    g_checksum_update(sum, buf + 48, (gssize)plen);
    g_checksum_get_digest(sum, buf + 16, &dlen);
    g_checksum_free(sum);
    rc = t1071_restore(&r, buf, 48 + plen);
    if (rc == T1071_OK)
        t1071_free(r);
    else
        assert_null(r);
    free(buf);
    return rc;
}

/* lateness_max_ms (issue 12) is state: a snapshot carries it, and a
 * snapshot written before it existed (one stat fewer) still restores, the
 * gauge starting from 0 and every other counter as saved. */
static void
test_snapshot_carries_lateness_max_old_snapshot_restores(void **state)
{
    static const int mins[] = {5, 0, 1, 7, 6};
    t1071_ctx *ctx = NULL, *r = NULL;
    t1071_buffer *snap = NULL;
    T1071__Ecs__V1__Snapshot *s;
    uint64_t v;
    char ev[512];

    (void)state;
    assert_int_equal(t1071_init(&ctx, NULL), T1071_OK); /* engine.lateness 0s */
    for (size_t i = 0; i < sizeof(mins) / sizeof(mins[0]); i++) {
        snprintf(ev, sizeof(ev),
                 "{\"@timestamp\":\"2024-01-01T00:%02d:00Z\",\"event\":{\"id\":\"e%zu\","
                 "\"category\":[\"network\"],\"type\":[\"start\"]},\"host\":{\"name\":\"h\"},"
                 "\"network\":{\"direction\":\"egress\"},\"destination\":{\"ip\":\"8.8.8.8\","
                 "\"port\":443},\"process\":{\"name\":\"a\",\"entity_id\":\"E\"}}",
                 mins[i], i);
        assert_int_equal(t1071_feed_json(ctx, ev, strlen(ev)), T1071_OK);
    }
    assert_int_equal(t1071_stats_get(ctx, T1071_STAT_EVENTS_LATE, &v), T1071_OK);
    assert_int_equal(v, 3);
    assert_int_equal(t1071_stats_get(ctx, T1071_STAT_LATENESS_MAX_MS, &v), T1071_OK);
    assert_int_equal(v, 5 * 60000); /* e1 came 5 minutes behind e0 */
    assert_int_equal(t1071_snapshot(ctx, &snap), T1071_OK);
    assert_int_equal(t1071_restore(&r, t1071_buffer_data(snap), t1071_buffer_size(snap)), T1071_OK);
    assert_int_equal(t1071_stats_get(r, T1071_STAT_LATENESS_MAX_MS, &v), T1071_OK);
    assert_int_equal(v, 5 * 60000);
    t1071_free(r);
    r = NULL;
    /* As an older library wrote it: the stats end before lateness_max_ms. */
    s = t1071__ecs__v1__snapshot__unpack(NULL, t1071_buffer_size(snap) - 48,
                                         t1071_buffer_data(snap) + 48);
    assert_non_null(s);
    {
        size_t n_stats = 0; /* every stat this library names */
        while (t1071_stat_name((int)n_stats))
            n_stats++;
        assert_int_equal(s->n_stats, n_stats);
    }
    s->n_stats = T1071_STAT_LATENESS_MAX_MS; /* and every stat after it */
    {
        size_t plen = t1071__ecs__v1__snapshot__get_packed_size(s), dlen = 32;
        uint8_t *buf = calloc(1, 48 + plen);
        GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
        assert_non_null(buf);
        memcpy(buf, "T1071SNP", 8);
        buf[8] = T1071_SNAPSHOT_VERSION;
        t1071__ecs__v1__snapshot__pack(s, buf + 48);
        g_checksum_update(sum, buf + 48, (gssize)plen);
        g_checksum_get_digest(sum, buf + 16, &dlen);
        g_checksum_free(sum);
        assert_int_equal(t1071_restore(&r, buf, 48 + plen), T1071_OK);
        free(buf);
    }
    assert_int_equal(t1071_stats_get(r, T1071_STAT_LATENESS_MAX_MS, &v), T1071_OK);
    assert_int_equal(v, 0);
    assert_int_equal(t1071_stats_get(r, T1071_STAT_EVENTS_LATE, &v), T1071_OK);
    assert_int_equal(v, 3);
    /* and it goes on measuring: e5 comes 2 minutes behind e3 */
    snprintf(ev, sizeof(ev),
             "{\"@timestamp\":\"2024-01-01T00:05:00Z\",\"event\":{\"id\":\"e5\","
             "\"category\":[\"network\"],\"type\":[\"start\"]},\"host\":{\"name\":\"h\"},"
             "\"process\":{\"name\":\"a\",\"entity_id\":\"E\"}}");
    assert_int_equal(t1071_feed_json(r, ev, strlen(ev)), T1071_OK);
    assert_int_equal(t1071_stats_get(r, T1071_STAT_LATENESS_MAX_MS, &v), T1071_OK);
    assert_int_equal(v, 2 * 60000);
    t1071__ecs__v1__snapshot__free_unpacked(s, NULL);
    t1071_buffer_free(snap);
    t1071_free(r);
    t1071_free(ctx);
}

/* Regressions (fuzzing): a correctly signed snapshot that states a huge
 * reorder-buffer capacity must not make restore allocate it; undelivered
 * alerts that do not decode are refused; so is one that would overflow a
 * pending record's reference count. */
static void
test_restore_hostile_but_signed_snapshots(void **state)
{
    struct stream st;
    struct tu_buf out = {0};
    t1071_ctx *ctx;
    t1071_buffer *snap = NULL;
    T1071__Ecs__V1__Snapshot *s;
    uint8_t junk[] = {0xff, 0xff, 0xff};
    ProtobufCBinaryData *alerts, *saved;
    size_t n_saved;

    (void)state;
    make_stream(&st, 11);
    ctx = tu_ctx_new(config_faithful);
    feed_range(ctx, &st, 0, 700, &out);
    assert_int_equal(t1071_snapshot(ctx, &snap), T1071_OK);
    s = t1071__ecs__v1__snapshot__unpack(NULL, t1071_buffer_size(snap) - 48,
                                         t1071_buffer_data(snap) + 48);
    assert_non_null(s);
    assert_true(s->n_hosts > 0);
    /* unchanged, it restores */
    assert_int_equal(restore_resigned(s), T1071_OK);
    /* a stated capacity of 2^60 slots is ignored, not allocated */
    for (size_t i = 0; i < s->n_hosts; i++) {
        s->hosts[i]->has_heap_cap = 1;
        s->hosts[i]->heap_cap = UINT64_C(1) << 60;
    }
    assert_int_equal(restore_resigned(s), T1071_OK);
    /* 70,000 reorder-buffer slots naming one event: a record's reference
     * count is 16 bits, so this is refused, not wrapped */
    {
        T1071__Ecs__V1__SnapshotHost *h = s->hosts[0];
        uint32_t *saved_heap = h->heap, *many = calloc(70000, sizeof(*many));
        size_t saved_n = h->n_heap;
        assert_true(s->n_events > 0);
        assert_non_null(many);
        h->heap = many;
        h->n_heap = 70000;
        assert_int_equal(restore_resigned(s), T1071_E_SNAPSHOT);
        h->heap = saved_heap;
        h->n_heap = saved_n;
        free(many);
    }
    assert_int_equal(restore_resigned(s), T1071_OK);
    /* an undelivered alert that is not an Alert */
    saved = s->alerts;
    n_saved = s->n_alerts;
    alerts = calloc(n_saved + 1, sizeof(*alerts));
    for (size_t i = 0; i < n_saved; i++)
        alerts[i] = saved[i];
    alerts[n_saved].data = junk;
    alerts[n_saved].len = sizeof(junk);
    s->alerts = alerts;
    s->n_alerts = n_saved + 1;
    assert_int_equal(restore_resigned(s), T1071_E_SNAPSHOT);
    s->alerts = saved;
    s->n_alerts = n_saved;
    free(alerts);
    t1071__ecs__v1__snapshot__free_unpacked(s, NULL);
    t1071_buffer_free(snap);
    t1071_free(ctx);
    tu_buf_free(&out);
    for (int i = 0; i < N_EVENTS; i++)
        free(st.rec[i]);
}

/* A signed snapshot whose beacon state is inconsistent is refused, not
 * trusted (ring index out of range, a tier-0 pair stating more events
 * than it holds, a key holding beacon state under beacon.enabled=false). */
static void
test_restore_corrupt_beacon_state_refused(void **state)
{
    struct stream st;
    struct tu_buf out = {0};
    t1071_ctx *ctx;
    t1071_buffer *snap = NULL;
    T1071__Ecs__V1__Snapshot *s;
    T1071__Ecs__V1__SnapshotBeaconState *bs = NULL;
    T1071__Ecs__V1__SnapshotBeaconPair *t0 = NULL;
    size_t with_beacon = 0;

    (void)state;
    make_stream(&st, 12);
    ctx = tu_ctx_new(config_tuned);
    feed_range(ctx, &st, 0, 900, &out);
    assert_int_equal(t1071_snapshot(ctx, &snap), T1071_OK);
    s = t1071__ecs__v1__snapshot__unpack(NULL, t1071_buffer_size(snap) - 48,
                                         t1071_buffer_data(snap) + 48);
    assert_non_null(s);
    assert_true(s->n_prevalence > 0);
    for (size_t i = 0; i < s->n_keys; i++) {
        T1071__Ecs__V1__SnapshotBeacon *b = s->keys[i]->beacon;
        if (!b)
            continue;
        with_beacon++;
        if (!bs && b->aggregate->state)
            bs = b->aggregate->state;
        for (size_t j = 0; j < b->n_pairs && !t0; j++)
            if (!b->pairs[j]->state && b->pairs[j]->n_t0_ts > 0)
                t0 = b->pairs[j];
    }
    assert_int_equal(with_beacon, s->n_keys); /* every key carries its state */
    assert_non_null(bs);
    assert_non_null(t0);
    assert_int_equal(restore_resigned(s), T1071_OK);
    {
        uint32_t saved = bs->ring_head;
        bs->ring_head = 200;
        assert_int_equal(restore_resigned(s), T1071_E_SNAPSHOT);
        bs->ring_head = saved;
    }
    {
        uint32_t saved = t0->count;
        t0->count = saved + 1;
        assert_int_equal(restore_resigned(s), T1071_E_SNAPSHOT);
        t0->count = saved;
    }
    /* The same state under a config without the tracker. */
    for (size_t i = 0; i < s->n_config; i++) {
        if (!strcmp(s->config[i]->key, "beacon.enabled")) {
            char *saved = s->config[i]->value;
            s->config[i]->value = (char *)"false";
            assert_int_equal(restore_resigned(s), T1071_E_SNAPSHOT);
            s->config[i]->value = saved;
        }
    }
    assert_int_equal(restore_resigned(s), T1071_OK);
    t1071__ecs__v1__snapshot__free_unpacked(s, NULL);
    t1071_buffer_free(snap);
    t1071_free(ctx);
    tu_buf_free(&out);
    for (int i = 0; i < N_EVENTS; i++)
        free(st.rec[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_cut_at_100_points_equals_uninterrupted),
        cmocka_unit_test(test_snapshot_repeated_restores_equal_uninterrupted),
        cmocka_unit_test_prestate(test_snapshot_cut_at_100_points_equals_uninterrupted,
                                  (void *)config_tuned),
        cmocka_unit_test_prestate(test_snapshot_repeated_restores_equal_uninterrupted,
                                  (void *)config_tuned),
        cmocka_unit_test_prestate(test_snapshot_cut_at_100_points_equals_uninterrupted,
                                  (void *)config_tuned_noscore),
        cmocka_unit_test(test_restore_corrupt_beacon_state_refused),
        cmocka_unit_test(test_restore_bad_snapshots_refused),
        cmocka_unit_test(test_restore_hostile_but_signed_snapshots),
        cmocka_unit_test(test_snapshot_carries_lateness_max_old_snapshot_restores),
    };
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
