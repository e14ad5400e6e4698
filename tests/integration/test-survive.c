/* SPDX-License-Identifier: Apache-2.0 */
/* Surviving hostile conditions through the public API: the memory budget
 * (a flood of junk keys at the cap must not evict an implant's partial
 * sequence), forged far-future timestamps (first event of a host, and
 * later ones), absurd timestamps, oversized multi-valued keys. */
#include <inttypes.h>
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

/* Hosts never interact: host B replaying 2023 and host A live in 2024,
 * interleaved, give the same alerts in one context as in one context per
 * host (a sharded deployment), and neither host's events are suspect. */
static void
test_hosts_on_distant_clocks_are_independent(void **state)
{
    const int64_t year = 365 * DAY;
    t1071_ctx *one = tu_ctx_new(NULL), *shard[2] = {tu_ctx_new(NULL), tu_ctx_new(NULL)};
    struct tu_alerts a1 = {0}, as[2] = {{0}};
    char id[32];

    (void)state;
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "b%d", i);
        feed(one, &a1, T0 - year + i * MIN, id, "KB", "host-b", "203.0.113.7");
        feed(shard[1], &as[1], T0 - year + i * MIN, id, "KB", "host-b", "203.0.113.7");
        snprintf(id, sizeof(id), "a%d", i);
        feed(one, &a1, T0 + i * MIN, id, "KA", "host-a", "203.0.113.9");
        feed(shard[0], &as[0], T0 + i * MIN, id, "KA", "host-a", "203.0.113.9");
    }
    tu_collect(one, &a1);
    tu_collect(shard[0], &as[0]);
    tu_collect(shard[1], &as[1]);
    assert_int_equal(stat(one, T1071_STAT_EVENTS_SUSPECT), 0);
    assert_int_equal(a1.n, as[0].n + as[1].n);
    assert_int_equal(alerts_for(&a1, "KA"), 3);
    assert_int_equal(alerts_for(&a1, "KB"), 3);
    for (size_t i = 0; i < a1.n; i++) {
        const struct tu_alerts *s = !strcmp(a1.a[i].key, "KA") ? &as[0] : &as[1];
        bool found = false;
        for (size_t j = 0; j < s->n; j++)
            found |= !strcmp(s->a[j].group_id, a1.a[i].group_id) && !strcmp(s->a[j].ids, a1.a[i].ids);
        assert_true(found);
    }
    tu_alerts_free(&a1);
    tu_alerts_free(&as[0]);
    tu_alerts_free(&as[1]);
    t1071_free(one);
    t1071_free(shard[0]);
    t1071_free(shard[1]);
}

/* A forged first event a year ahead has already run when the host's real
 * events show it up: it is taken back out of its key's sequence, so the
 * implant's alert holds only real members. */
static void
test_forged_first_event_taken_back_out_of_sequence(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL);
    struct tu_alerts all = {0};
    char id[32];

    (void)state;
    feed(ctx, &all, T0 + 365 * DAY, "forged", "K", "host-f", "203.0.113.7");
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        feed(ctx, &all, T0 + i * MIN, id, "K", "host-f", "203.0.113.7");
    }
    tu_collect(ctx, &all);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_SUSPECT), 1);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 0);
    assert_int_equal(all.n, 1);
    assert_string_equal(all.a[0].ids,
                        "[\"r0\",\"r1\",\"r2\",\"r3\",\"r4\",\"r5\",\"r6\",\"r7\",\"r8\",\"r9\"]");
    tu_alerts_free(&all);
    t1071_free(ctx);
}

/* Regression (fuzzing, ASan use-after-free): at the memory cap, the room
 * an alert needs was made by evicting the very key emitting it. */
static void
test_memory_cap_never_evicts_the_emitting_key(void **state)
{
    static const char *const probe_kv[] = {"rule.runs", "2", NULL};
    t1071_ctx *probe = tu_ctx_new(probe_kv), *ctx;
    struct tu_alerts all = {0};
    char limit[32];
    const char *kv[] = {"rule.runs", "2", "engine.memory_limit", limit, NULL};

    (void)state;
    /* A budget with room for the second event (feeding reserves 512
     * bytes) but not for its alert: the alert's room must come from
     * somewhere, and the only key is the one emitting. */
    feed(probe, &all, T0, "e0", "K", "h", "203.0.113.7");
    snprintf(limit, sizeof(limit), "%" PRIu64, stat(probe, T1071_STAT_MEMORY_BYTES) + 512);
    t1071_free(probe);
    ctx = tu_ctx_new(kv);
    feed(ctx, &all, T0, "e0", "K", "h", "203.0.113.7");
    feed(ctx, &all, T0 + MIN, "e1", "K", "h", "203.0.113.7");
    tu_collect(ctx, &all);
    assert_int_equal(all.n, 1);
    assert_string_equal(all.a[0].ids, "[\"e0\",\"e1\"]");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 1);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS_EVICTED), 0);
    /* and the key goes on: the next event completes the next window */
    feed(ctx, &all, T0 + 2 * MIN, "e2", "K", "h", "203.0.113.7");
    tu_collect(ctx, &all);
    assert_true(all.n >= 2);
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
        cmocka_unit_test(test_hosts_on_distant_clocks_are_independent),
        cmocka_unit_test(test_forged_first_event_taken_back_out_of_sequence),
        cmocka_unit_test(test_memory_cap_never_evicts_the_emitting_key),
    };
    return cmocka_run_group_tests_name("survive", tests, NULL, NULL);
}
