/* SPDX-License-Identifier: Apache-2.0 */
/* Hash flooding (issue 5): 50,000 keys crafted to collide under the
 * unseeded hash (SipHash with seed 0: every one lands in bucket 0 of the
 * engine's initial 1,024-bucket table) must not build long chains in a
 * context, whose hash is seeded.
 *
 * The engine's tables are private to lib/engine/; with the read-only
 * accessor t1071i_ctx_longest_chain() (announced by
 * T1071I_HAVE_LONGEST_CHAIN in t1071-private.h) the test measures the
 * context's own key and host tables.  Without it, it measures a model of
 * the table (same bucket index, hash & mask; same growth, doubling when
 * the count reaches the bucket count) under the context's seed
 * derivation, and feeds the flood through the engine for correctness. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define NKEYS 50000
#define INITIAL_BUCKETS 1024      /* ht_init(&ctx->keys, 1024) in lib/engine/ */
#define MAX_CHAIN 16

static char (*keys)[16];

/* Strings whose seed-0 hash is 0 modulo INITIAL_BUCKETS. */
static int
setup(void **state)
{
    size_t n = 0;

    (void)state;
    keys = calloc(NKEYS, sizeof(*keys));
    if (!keys)
        return -1;
    for (uint64_t i = 0; n < NKEYS; i++) {
        char s[16];
        int len = snprintf(s, sizeof(s), "k%" PRIx64, i);
        if ((t1071i_hash(0, s, (size_t)len) & (INITIAL_BUCKETS - 1)) == 0)
            memcpy(keys[n++], s, (size_t)len + 1);
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    free(keys);
    return 0;
}

/* The engine's table, modelled: longest chain after inserting every key. */
static size_t
model_longest_chain(uint64_t seed)
{
    size_t buckets = INITIAL_BUCKETS, longest = 0;
    uint32_t *chain;

    while (buckets < NKEYS)
        buckets *= 2; /* ht_insert grows when count >= buckets */
    chain = calloc(buckets, sizeof(*chain));
    assert_non_null(chain);
    for (size_t i = 0; i < NKEYS; i++) {
        uint64_t h = t1071i_hash(seed, keys[i], strlen(keys[i]));
        uint32_t c = ++chain[h & (buckets - 1)];
        if (c > longest)
            longest = c;
    }
    free(chain);
    return longest;
}

/* The flood is real: without a secret seed, these keys share few buckets. */
static void
test_hashflood_crafted_keys_collide_unseeded(void **state)
{
    size_t longest = model_longest_chain(0);

    (void)state;
    print_message("# model, seed 0: longest chain %zu\n", longest);
    assert_true(longest > 500);
}

/* Under any other seed (the configured one, a random one) they spread. */
static void
test_hashflood_crafted_keys_spread_when_seeded(void **state)
{
    const uint64_t seeds[] = {1, UINT64_C(0x5eed), UINT64_C(0xdeadbeefcafef00d),
                              t1071i_random_seed(), t1071i_random_seed()};

    (void)state;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        size_t longest = model_longest_chain(seeds[i]);
        print_message("# model, seed %" PRIu64 ": longest chain %zu\n", seeds[i], longest);
        if (longest > MAX_CHAIN)
            fail_msg("seed %" PRIu64 ": longest chain %zu > %d", seeds[i], longest, MAX_CHAIN);
    }
}

static void
feed_flood(t1071_ctx *ctx)
{
    char *cat[] = {(char *)"network"}, *type[] = {(char *)"connection"};
    char *dir[] = {(char *)"egress"}, *ip[] = {(char *)"198.51.100.7"};
    char *name[] = {(char *)"beacon.exe"};
    int64_t port[] = {443};

    for (size_t i = 0; i < NKEYS; i++) {
        t1071i_event ev = T1071__ECS__V1__EVENT__INIT;
        char *key[] = {keys[i]};
        uint8_t buf[256];
        size_t len;

        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = T0 + (int64_t)i;
        ev.event_category = cat;
        ev.n_event_category = 1;
        ev.event_type = type;
        ev.n_event_type = 1;
        ev.network_direction = dir;
        ev.n_network_direction = 1;
        ev.destination_ip = ip;
        ev.n_destination_ip = 1;
        ev.destination_port = port;
        ev.n_destination_port = 1;
        ev.process_name = name;
        ev.n_process_name = 1;
        ev.process_entity_id = key;
        ev.n_process_entity_id = 1;
        ev.host_id = keys[i]; /* the host table too */
        assert_true(t1071__ecs__v1__event__get_packed_size(&ev) <= sizeof(buf));
        len = t1071__ecs__v1__event__pack(&ev, buf);
        assert_int_equal(t1071_feed_event(ctx, buf, len), T1071_OK);
    }
}

/* The flood through a context: every key and host tracked, and (with the
 * accessor) both tables' chains short, with a configured seed and with a
 * random one. */
static void
test_hashflood_engine_key_flood_chains_stay_short(void **state)
{
    const char *seeds[] = {"24301", "0" /* random at init */};

    (void)state;
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        t1071_config *cfg = NULL;
        t1071_ctx *ctx = NULL;
        uint64_t v = 0;

        assert_int_equal(t1071_config_new(&cfg), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "engine.hash_seed", seeds[s]), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "rule.runs", "2"), T1071_OK);
        assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
        t1071_config_free(cfg);
        feed_flood(ctx);
        assert_int_equal(t1071_stats_get(ctx, T1071_STAT_KEYS, &v), T1071_OK);
        assert_int_equal(v, NKEYS);
        assert_int_equal(t1071_stats_get(ctx, T1071_STAT_HOSTS, &v), T1071_OK);
        assert_int_equal(v, NKEYS);
#ifdef T1071I_HAVE_LONGEST_CHAIN
        {
            size_t kc = t1071i_ctx_longest_chain(ctx, 0), hc = t1071i_ctx_longest_chain(ctx, 1);
            if (kc > MAX_CHAIN || hc > MAX_CHAIN)
                fail_msg("hash_seed=%s: longest key chain %zu, host chain %zu (max %d)",
                         seeds[s], kc, hc, MAX_CHAIN);
            assert_true(kc >= 1 && hc >= 1);
            print_message("# hash_seed=%s: longest key chain %zu, host chain %zu\n", seeds[s],
                          kc, hc);
        }
#endif
        t1071_free(ctx);
    }
#ifndef T1071I_HAVE_LONGEST_CHAIN
    print_message("# t1071i_ctx_longest_chain() not available: the chains were measured on "
                  "the model only\n");
#endif
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashflood_crafted_keys_collide_unseeded),
        cmocka_unit_test(test_hashflood_crafted_keys_spread_when_seeded),
        cmocka_unit_test(test_hashflood_engine_key_flood_chains_stay_short),
    };
    return cmocka_run_group_tests_name("hashflood", tests, setup, teardown);
}
