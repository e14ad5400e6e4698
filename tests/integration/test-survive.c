/* SPDX-License-Identifier: Apache-2.0 */
/* Surviving hostile conditions through the public API: the memory budget
 * (a flood of junk keys at the cap must not evict an implant's partial
 * sequence), forged far-future timestamps (first event of a host, and
 * later ones), absurd timestamps, oversized multi-valued keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define MIN INT64_C(60000)
#define DAY INT64_C(86400000)

/* Feed one matching event; returns the feed status. */
static int
feed(t1071_ctx *ctx, struct tu_alerts *all, int64_t ts, const char *id, const char *key,
     const char *host, const char *ip)
{
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char *cat[] = {(char *)"network"}, *type[] = {(char *)"connection"},
         *dir[] = {(char *)"egress"}, *ips[] = {(char *)ip}, *keys[] = {(char *)key},
         *names[] = {(char *)"beacon.exe"};
    int64_t port[] = {443};
    uint8_t *buf;
    size_t len;
    int rc;

    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = ts;
    ev.event_id = (char *)id;
    ev.n_event_category = 1;
    ev.event_category = cat;
    ev.n_event_type = 1;
    ev.event_type = type;
    ev.n_network_direction = 1;
    ev.network_direction = dir;
    ev.n_destination_ip = 1;
    ev.destination_ip = ips;
    ev.n_destination_port = 1;
    ev.destination_port = port;
    ev.n_process_entity_id = key ? 1 : 0;
    ev.process_entity_id = keys;
    ev.n_process_name = 1;
    ev.process_name = names;
    ev.host_name = (char *)host;
    buf = tu_pack_event(&ev, &len);
    rc = tu_feed_event_retry(ctx, buf, len, all, NULL);
    free(buf);
    return rc;
}

static uint64_t
stat(t1071_ctx *ctx, int id)
{
    uint64_t v = 0;
    assert_int_equal(t1071_stats_get(ctx, id, &v), T1071_OK);
    return v;
}

static size_t
alerts_for(const struct tu_alerts *all, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++)
        n += !strcmp(all->a[i].key, key);
    return n;
}

/* At the memory cap, 24,000 one-event junk keys interleaved with an
 * implant's beacons evict only junk: the implant's sequence completes. */
static void
test_memory_cap_junk_flood_keeps_implant_alerting(void **state)
{
    const char *kv[] = {"engine.memory_limit", "256KiB", NULL};
    t1071_ctx *ctx = tu_ctx_new(kv);
    struct tu_alerts all = {0};
    char id[32], key[48];
    int64_t ts = T0;

    (void)state;
    assert_non_null(ctx);
    for (int beat = 0; beat < 12; beat++) {
        snprintf(id, sizeof(id), "implant-%d", beat);
        assert_int_equal(feed(ctx, &all, ts, id, "IMPLANT", "victim", "203.0.113.7"), T1071_OK);
        for (int j = 0; j < 2000; j++) {
            snprintf(id, sizeof(id), "junk-%d-%d", beat, j);
            snprintf(key, sizeof(key), "junk-%d-%d", beat, j);
            assert_int_equal(feed(ctx, &all, ts + j, id, key, "noisy", "198.51.100.1"), T1071_OK);
        }
        ts += MIN;
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, &all, NULL), T1071_OK);
    tu_collect(ctx, &all);
    assert_true(stat(ctx, T1071_STAT_KEYS_EVICTED) > 10000);
    assert_true(stat(ctx, T1071_STAT_MEMORY_PEAK_BYTES) <= 256 * 1024);
    assert_int_equal(alerts_for(&all, "IMPLANT"), 3); /* beats 1..10, 2..11, 3..12 */
    tu_alerts_free(&all);
    t1071_free(ctx);
}

/* Without the budget (memory_limit=0) nothing is evicted. */
static void
test_memory_cap_zero_unlimited_no_eviction(void **state)
{
    const char *kv[] = {"engine.memory_limit", "0", NULL};
    t1071_ctx *ctx = tu_ctx_new(kv);
    struct tu_alerts all = {0};
    char id[32];

    (void)state;
    for (int j = 0; j < 5000; j++) {
        snprintf(id, sizeof(id), "k%d", j);
        assert_int_equal(feed(ctx, &all, T0 + j, id, id, "h", "198.51.100.1"), T1071_OK);
    }
    assert_int_equal(stat(ctx, T1071_STAT_KEYS_EVICTED), 0);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 5000);
    tu_alerts_free(&all);
    t1071_free(ctx);
}

/* A bad memory_limit value is refused with a message naming the key. */
static void
test_memory_limit_bad_value_names_key(void **state)
{
    t1071_config *cfg = NULL;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.memory_limit", "lots"), T1071_E_INVALID_ARG);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "engine.memory_limit"));
    assert_int_equal(t1071_config_set(cfg, "engine.memory_limit", "64MiB"), T1071_OK);
    t1071_config_free(cfg);
}

/* One event forged a year ahead on host A (after A's normal traffic) and
 * one as the FIRST event of host B: both hosts keep detecting, and so does
 * host C. */
static void
test_forged_future_event_does_not_blind_any_host(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL);
    struct tu_alerts all = {0};
    char id[32];

    (void)state;
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "a%d", i);
        feed(ctx, &all, T0 + i * MIN, id, "A", "host-a", "203.0.113.7");
    }
    feed(ctx, &all, T0 + 365 * DAY, "forged-a", "A", "host-a", "203.0.113.7");
    feed(ctx, &all, T0 + 365 * DAY, "forged-b", "B", "host-b", "203.0.113.7");
    for (int i = 3; i < 10; i++) {
        snprintf(id, sizeof(id), "a%d", i);
        feed(ctx, &all, T0 + i * MIN, id, "A", "host-a", "203.0.113.7");
    }
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "b%d", i);
        feed(ctx, &all, T0 + i * MIN, id, "B", "host-b", "203.0.113.7");
        snprintf(id, sizeof(id), "c%d", i);
        feed(ctx, &all, T0 + i * MIN, id, "C", "host-c", "203.0.113.7");
    }
    tu_collect(ctx, &all);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_SUSPECT), 2);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 0);
    assert_int_equal(alerts_for(&all, "A"), 1);
    assert_int_equal(alerts_for(&all, "B"), 1);
    assert_int_equal(alerts_for(&all, "C"), 1);
    assert_string_equal(all.a[0].ids, "[\"a0\",\"a1\",\"a2\",\"a3\",\"a4\",\"a5\",\"a6\",\"a7\",\"a8\",\"a9\"]");
    tu_alerts_free(&all);
    t1071_free(ctx);
}

/* Timestamps before 1970 or after 9999 are refused and counted; the
 * context goes on. */
static void
test_absurd_timestamps_refused_counted(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL);
    struct tu_alerts all = {0};

    (void)state;
    assert_int_equal(feed(ctx, &all, -1, "neg", "K", "h", "203.0.113.7"), T1071_E_TIMESTAMP);
    assert_int_equal(feed(ctx, &all, INT64_C(253402300800000), "y10k", "K", "h", "203.0.113.7"),
                     T1071_E_TIMESTAMP);
    assert_int_equal(feed(ctx, &all, INT64_MAX, "max", "K", "h", "203.0.113.7"), T1071_E_TIMESTAMP);
    assert_int_equal(stat(ctx, T1071_STAT_ERR_TIMESTAMP), 3);
    assert_int_equal(feed(ctx, &all, 0, "epoch", "K", "h", "203.0.113.7"), T1071_OK);
    tu_alerts_free(&all);
    t1071_free(ctx);
}

/* 10,000 events with one equal timestamp: every window of 10 forms (the
 * closed form at equal times), in arrival order. */
static void
test_equal_timestamps_in_bulk_all_windows(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL);
    struct tu_alerts all = {0};
    char id[32];

    (void)state;
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "e%d", i);
        assert_int_equal(feed(ctx, &all, T0, id, "K", "h", "203.0.113.7"), T1071_OK);
    }
    tu_collect(ctx, &all);
    assert_int_equal(all.n, 10000 - 9);
    assert_string_equal(all.a[9990].ids,
                        "[\"e9990\",\"e9991\",\"e9992\",\"e9993\",\"e9994\",\"e9995\",\"e9996\","
                        "\"e9997\",\"e9998\",\"e9999\"]");
    tu_alerts_free(&all);
    t1071_free(ctx);
}

/* An event may join at most 64 distinct key values; the rest are counted. */
static void
test_multi_valued_key_over_limit_counted(void **state)
{
    const char *kv[] = {"rule.runs", "1", NULL};
    t1071_ctx *ctx = tu_ctx_new(kv);
    struct tu_alerts all = {0};
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char *cat[] = {(char *)"network"}, *type[] = {(char *)"start"}, *dir[] = {(char *)"egress"},
         *names[] = {(char *)"x"};
    int64_t port[] = {80};
    char *keys[70], kbuf[70][8];
    uint8_t *buf;
    size_t len;

    (void)state;
    for (int i = 0; i < 70; i++) {
        snprintf(kbuf[i], sizeof(kbuf[i]), "K%d", i);
        keys[i] = kbuf[i];
    }
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = T0;
    ev.n_event_category = 1;
    ev.event_category = cat;
    ev.n_event_type = 1;
    ev.event_type = type;
    ev.n_network_direction = 1;
    ev.network_direction = dir;
    ev.n_destination_port = 1;
    ev.destination_port = port;
    ev.n_process_name = 1;
    ev.process_name = names;
    ev.n_process_entity_id = 70;
    ev.process_entity_id = keys;
    buf = tu_pack_event(&ev, &len);
    assert_int_equal(t1071_feed_event(ctx, buf, len), T1071_OK);
    free(buf);
    tu_collect(ctx, &all);
    assert_int_equal(all.n, 64);
    assert_int_equal(stat(ctx, T1071_STAT_KEY_VALUES_DROPPED), 6);
    tu_alerts_free(&all);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_cap_junk_flood_keeps_implant_alerting),
        cmocka_unit_test(test_memory_cap_zero_unlimited_no_eviction),
        cmocka_unit_test(test_memory_limit_bad_value_names_key),
        cmocka_unit_test(test_forged_future_event_does_not_blind_any_host),
        cmocka_unit_test(test_absurd_timestamps_refused_counted),
        cmocka_unit_test(test_equal_timestamps_in_bulk_all_windows),
        cmocka_unit_test(test_multi_valued_key_over_limit_counted),
    };
    return cmocka_run_group_tests_name("survive", tests, NULL, NULL);
}
