/* SPDX-License-Identifier: Apache-2.0 */
/* Mergeable fleet prevalence (lib/score/prevalence-sync.c, issue 14): the
 * table is a function of the observations, whatever the order and however
 * often deltas are merged.  Random observations are split over source
 * tables; their deltas (whole and since a cursor) are merged in random
 * orders with duplicates into fresh tables, which must all equal the table
 * of one context that observed everything, byte for byte.  Also past the
 * entry cap (the floor) and through a snapshot. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "score/tracker.h"
#include "util/buffer.h"

#define T0 INT64_C(1704067200000)

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static struct t1071_config *
cfg_fleet(const char *key)
{
    struct t1071_config *cfg = NULL;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "tuning.prevalence_hosts", "4"), T1071_OK);
    if (key)
        assert_int_equal(t1071_config_set(cfg, "tuning.fleet_key", key), T1071_OK);
    return cfg;
}

struct obs {
    uint32_t key, host;
    int64_t ts;
};

static void
observe(struct t1071i_tracker *t, const struct obs *o)
{
    static const char *keys[1] = {"E"};
    char ip[32], host[16];
    struct t1071i_pev p;
    int64_t d;

    memset(&p, 0, sizeof(p));
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", o->key >> 16, (o->key >> 8) & 255, o->key & 255);
    snprintf(host, sizeof(host), "HOST%u", o->host);
    p.keys = keys;
    p.n_keys = 1;
    p.ts = o->ts;
    p.port = 443;
    p.id = "x";
    p.ip = ip;
    p.exe = (o->key & 1) ? "C:\\a\\updater.exe" : "C:\\b\\agent.exe";
    p.pname = "p.exe";
    p.host_id = host;
    t1071i_tracker_observe_event(t, &p, &d);
}

static struct t1071i_tracker *
tracker(const struct t1071_config *cfg, uint64_t seed)
{
    struct t1071i_tracker *t = NULL;
    assert_int_equal(t1071i_tracker_new(cfg, seed, &t), T1071_OK);
    assert_non_null(t);
    return t;
}

/* Equal tables give equal bytes but for the checksum and the cursor. */
static bool
same_table(const struct t1071_buffer *a, const struct t1071_buffer *b)
{
    const uint8_t *x = t1071_buffer_data(a), *y = t1071_buffer_data(b);
    size_t n = t1071_buffer_size(a);

    return n == t1071_buffer_size(b) && n >= 88 && !memcmp(x, y, 16) &&
           !memcmp(x + 48, y + 48, 16) && !memcmp(x + 72, y + 72, n - 72);
}

static struct t1071_buffer *
whole(const struct t1071i_tracker *t)
{
    struct t1071_buffer *b = NULL;
    uint64_t c;
    assert_int_equal(t1071i_prev_export(t, 0, &b, &c), T1071_OK);
    return b;
}

static void
property(unsigned n_keys, unsigned n_obs, unsigned n_sources, uint64_t seed, bool expect_floor)
{
    struct t1071_config *cfg = cfg_fleet("fleet-property");
    struct obs *o = malloc(n_obs * sizeof(*o));
    struct t1071i_tracker *single = tracker(cfg, 1), **src = calloc(n_sources, sizeof(*src));
    struct t1071_buffer **deltas = calloc(2 * n_sources, sizeof(*deltas)), *want;
    size_t n_deltas = 0;
    uint64_t s = seed;
    int64_t floor;

    assert_non_null(o);
    for (unsigned i = 0; i < n_obs; i++) {
        o[i].key = (uint32_t)(rnd(&s) % n_keys);
        o[i].host = (uint32_t)(rnd(&s) % 12);
        o[i].ts = T0 + (int64_t)(rnd(&s) % 2000000); /* ties happen */
        observe(single, &o[i]);
    }
    want = whole(single);
    /* Sources see a random subset each (every observation somewhere, some
     * twice); each gives a delta half-way and one since that cursor. */
    for (unsigned k = 0; k < n_sources; k++)
        src[k] = tracker(cfg, 100 + k); /* each its own context seed */
    for (unsigned i = 0; i < n_obs; i++) {
        observe(src[rnd(&s) % n_sources], &o[i]);
        if (rnd(&s) % 8 == 0)
            observe(src[rnd(&s) % n_sources], &o[i]);
        if (i == n_obs / 2)
            for (unsigned k = 0; k < n_sources; k++) {
                uint64_t c;
                assert_int_equal(t1071i_prev_export(src[k], 0, &deltas[n_deltas++], &c), T1071_OK);
                assert_int_equal(t1071i_prev_export(src[k], c, &deltas[n_sources + k], &c),
                                 T1071_OK);
                /* nothing changed since the cursor: an empty delta */
                assert_int_equal(t1071_buffer_size(deltas[n_sources + k]), 88);
                t1071_buffer_free(deltas[n_sources + k]);
                deltas[n_sources + k] = (struct t1071_buffer *)(uintptr_t)c; /* keep the cursor */
            }
    }
    for (unsigned k = 0; k < n_sources; k++) {
        uint64_t c = (uint64_t)(uintptr_t)deltas[n_sources + k], c2;
        assert_int_equal(t1071i_prev_export(src[k], c, &deltas[n_deltas++], &c2), T1071_OK);
        assert_true(c2 >= c);
    }
    /* Random orders, with duplicates: always the single table. */
    for (int round = 0; round < 6; round++) {
        struct t1071i_tracker *m = tracker(cfg, 1000 + round);
        size_t order[64];
        struct t1071_buffer *got;
        for (size_t i = 0; i < n_deltas; i++)
            order[i] = i;
        for (size_t i = n_deltas; i > 1; i--) {
            size_t j = rnd(&s) % i, x = order[i - 1];
            order[i - 1] = order[j];
            order[j] = x;
        }
        for (size_t i = 0; i < n_deltas; i++) {
            const struct t1071_buffer *d = deltas[order[i]];
            const char *why;
            uint64_t changed;
            int reps = 1 + (int)(rnd(&s) % 2);
            for (int r = 0; r < reps; r++) {
                assert_int_equal(t1071i_prev_merge(m, t1071_buffer_data(d), t1071_buffer_size(d),
                                                   &why, &changed), T1071_OK);
                if (r)
                    assert_int_equal(changed, 0); /* idempotent */
            }
        }
        got = whole(m);
        if (!same_table(got, want))
            fail_msg("seed %" PRIu64 " round %d: merged table differs from the single one", seed,
                     round);
        t1071_buffer_free(got);
        t1071i_tracker_free(m);
    }
    memcpy(&floor, t1071_buffer_data(want) + 72, 8);
    if (expect_floor)
        assert_true(floor > INT64_MIN); /* the cap was reached: the floor rose */
    else
        assert_true(floor == INT64_MIN);
    for (size_t i = 0; i < n_deltas; i++)
        t1071_buffer_free(deltas[i]);
    for (unsigned k = 0; k < n_sources; k++)
        t1071i_tracker_free(src[k]);
    free(src);
    free(deltas);
    free(o);
    t1071_buffer_free(want);
    t1071i_tracker_free(single);
    t1071_config_free(cfg);
}

static void
test_prevalence_merge_property_small(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++)
        property(60, 3000, 2 + (unsigned)(seed % 7), seed * 0x9e3779b97f4a7c15ull, false);
}

static void
test_prevalence_merge_property_cap(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++)
        property(20000, 60000, 4, seed * 0x2545f4914f6cdd1dull, true);
}

/* Merging refuses what is not a delta of this fleet, whole. */
static void
test_prevalence_merge_refusals(void **state)
{
    struct t1071_config *a = cfg_fleet("fleet-a"), *b = cfg_fleet("fleet-b"), *off = cfg_fleet(NULL);
    struct t1071i_tracker *ta = tracker(a, 1), *tb = tracker(b, 1), *toff = tracker(off, 1);
    struct t1071_buffer *d = NULL, *x;
    struct obs o = {5, 1, T0};
    const char *why;
    uint64_t c, changed;
    uint8_t *copy;
    size_t n;

    (void)state;
    observe(ta, &o);
    assert_int_equal(t1071i_prev_export(toff, 0, &d, &c), T1071_E_UNSUPPORTED);
    assert_null(d);
    assert_int_equal(t1071i_prev_export(ta, 0, &d, &c), T1071_OK);
    n = t1071_buffer_size(d);
    assert_int_equal(t1071i_prev_merge(toff, t1071_buffer_data(d), n, &why, &changed),
                     T1071_E_UNSUPPORTED);
    assert_int_equal(t1071i_prev_merge(tb, t1071_buffer_data(d), n, &why, &changed),
                     T1071_E_SNAPSHOT);
    assert_non_null(strstr(why, "fleet_key"));
    copy = malloc(n);
    for (size_t cut = 0; cut < n; cut++) { /* every truncation */
        memcpy(copy, t1071_buffer_data(d), n);
        assert_int_equal(t1071i_prev_merge(ta, copy, cut, &why, &changed), T1071_E_SNAPSHOT);
    }
    for (size_t i = 0; i < n; i++) { /* every flipped byte */
        memcpy(copy, t1071_buffer_data(d), n);
        copy[i] ^= 0x40;
        assert_int_equal(t1071i_prev_merge(ta, copy, n, &why, &changed), T1071_E_SNAPSHOT);
    }
    free(copy);
    assert_int_equal(t1071i_prev_merge(ta, t1071_buffer_data(d), n, &why, &changed), T1071_OK);
    assert_int_equal(changed, 0);
    x = whole(ta);
    assert_true(same_table(x, d));
    t1071_buffer_free(x);
    t1071_buffer_free(d);
    t1071i_tracker_free(ta);
    t1071i_tracker_free(tb);
    t1071i_tracker_free(toff);
    t1071_config_free(a);
    t1071_config_free(b);
    t1071_config_free(off);
}

/* A snapshot keeps the table, its order, the change numbers, the cursor
 * and the floor: the restored tracker exports the same bytes from any
 * cursor and goes on the same way. */
static void
test_prevalence_sync_snapshot(void **state)
{
    struct t1071_config *cfg = cfg_fleet("fleet-snap");
    struct t1071i_tracker *t = tracker(cfg, 3), *r = tracker(cfg, 3);
    T1071__Ecs__V1__Snapshot snap = T1071__ECS__V1__SNAPSHOT__INIT;
    GPtrArray *to_free = g_ptr_array_new_with_free_func(g_free);
    uint64_t s = 77, mid = 0;

    (void)state;
    for (unsigned i = 0; i < 40000; i++) {
        struct obs o = {(uint32_t)(rnd(&s) % 30000), (uint32_t)(rnd(&s) % 9),
                        T0 + (int64_t)i * 10 + (int64_t)(rnd(&s) % 500)};
        observe(t, &o);
        if (i == 20000) {
            struct t1071_buffer *b;
            assert_int_equal(t1071i_prev_export(t, 0, &b, &mid), T1071_OK);
            t1071_buffer_free(b);
        }
    }
    t1071i_tracker_snap(t, &snap, to_free);
    assert_true(snap.has_prevalence_change && snap.has_prevalence_floor);
    assert_int_equal(t1071i_tracker_restore(r, &snap), T1071_OK);
    assert_int_equal(t1071i_tracker_bytes(r), t1071i_tracker_bytes(t));
    for (int step = 0; step < 2; step++) {
        uint64_t cursors[3] = {0, mid, mid + 5000};
        for (int i = 0; i < 3; i++) {
            struct t1071_buffer *a, *b;
            uint64_t ca, cb;
            assert_int_equal(t1071i_prev_export(t, cursors[i], &a, &ca), T1071_OK);
            assert_int_equal(t1071i_prev_export(r, cursors[i], &b, &cb), T1071_OK);
            assert_int_equal(ca, cb);
            assert_int_equal(t1071_buffer_size(a), t1071_buffer_size(b));
            assert_memory_equal(t1071_buffer_data(a), t1071_buffer_data(b), t1071_buffer_size(a));
            t1071_buffer_free(a);
            t1071_buffer_free(b);
        }
        for (unsigned i = 0; i < 3000; i++) { /* and both go on alike */
            struct obs o = {(uint32_t)(rnd(&s) % 30000), (uint32_t)(rnd(&s) % 9),
                            T0 + 400000 + (int64_t)i * 10};
            observe(t, &o);
            observe(r, &o);
        }
    }
    g_ptr_array_free(to_free, TRUE);
    t1071i_tracker_free(t);
    t1071i_tracker_free(r);
    t1071_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prevalence_merge_property_small),
        cmocka_unit_test(test_prevalence_merge_property_cap),
        cmocka_unit_test(test_prevalence_merge_refusals),
        cmocka_unit_test(test_prevalence_sync_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
