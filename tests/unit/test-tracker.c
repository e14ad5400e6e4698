/* SPDX-License-Identifier: Apache-2.0 */
/* The beacon tracker (lib/score/tracker.c): tier-0 promotion is exact, memory
 * deltas add up, destinations are bounded, the verdict's tuning rules
 * (path globs, fallback reasons) and the byte-count helper. */
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

#define T0 INT64_C(1704067200000)

static struct t1071_config *
cfg_with(const char *const *kv)
{
    struct t1071_config *cfg = NULL;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    for (size_t i = 0; kv && kv[i]; i += 2)
        assert_int_equal(t1071_config_set(cfg, kv[i], kv[i + 1]), T1071_OK);
    return cfg;
}

static struct t1071i_pev
pev(int64_t ts, const char *entity, const char *exe, const char *ip, int64_t port)
{
    static const char *keys[64][1];
    static int next;
    struct t1071i_pev p;

    memset(&p, 0, sizeof(p));
    keys[next % 64][0] = entity;
    p.keys = keys[next++ % 64];
    p.n_keys = 1;
    p.ts = ts;
    p.port = port;
    p.id = "x";
    p.ip = ip;
    p.exe = exe;
    p.pname = "p.exe";
    p.host_id = "H";
    return p;
}

/* A pair promoted at its fifth event scores exactly as a state that saw
 * every event (the inline events are replayed). */
static void
test_tracker_promotion_replays_tier0_exactly(void **state)
{
    struct t1071_config *cfg = cfg_with(NULL);
    struct t1071i_tracker *t = NULL;
    struct t1071i_kbeacon *kb = NULL;
    struct t1071i_beacon_state direct;
    struct t1071i_beacon_verdict v;
    uint64_t r = 5;
    int64_t ts = T0, total = 0;

    (void)state;
    memset(&direct, 0, sizeof(direct));
    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    assert_non_null(t);
    for (int i = 0; i < 40; i++) {
        struct t1071i_pev p = pev(ts, "E", "C:\\a\\b.exe", "203.0.113.1", 443);
        struct t1071i_pev *members[1] = {&p};
        struct t1071i_judgement j;
        int64_t d = 0;
        p.has_xfer = i % 3 != 0;
        p.xfer = 500 + i % 2;
        assert_int_equal(t1071i_tracker_observe(t, &kb, false, &p, &d), T1071_OK);
        total += d;
        t1071i_beacon_observe(&direct, ts, p.has_xfer ? p.xfer : -1);
        t1071i_beacon_score(&direct, &v);
        t1071i_tracker_judge(t, kb, members, 1, &j);
        /* exact while the cache refreshes every beat (below 16 intervals),
         * then at most 1 + intervals / 16 beats stale */
        if (i < 16)
            assert_memory_equal(&j.v, &v, sizeof(v));
        assert_true(j.v.n_beats + 1 + v.n_intervals / 16 > v.n_beats);
        assert_true(j.v.score >= 0 && j.v.score <= 1);
        assert_string_equal(j.scope, "destination");
        assert_string_equal(j.destination, "203.0.113.1:443");
        r = r * UINT64_C(6364136223846793005) + 1;
        ts += 60000 + (int64_t)((r >> 33) % 5000);
    }
    assert_int_equal((uint64_t)total, t1071i_tracker_free_key(kb));
    t1071i_tracker_free(t);
    t1071_config_free(cfg);
}

/* The destination is formatted by hand (hot path): it must read exactly
 * as snprintf("%s:%" PRId64) and friends, truncation included.  The
 * fallback key value likewise reads "fallback:HOST|EXE". */
static void
test_tracker_destination_format_matches_snprintf(void **state)
{
    static const char *const ips[] = {"203.0.113.1", "2001:db8::1", NULL, ""};
    static const int64_t ports[] = {443, 0, -1, INT64_MAX, INT64_MIN, 65535};
    struct t1071_config *cfg = cfg_with((const char *const[]){"tuning.fallback_key", "true", NULL});
    struct t1071i_tracker *t = NULL;
    char longname[400], want[512]; /* snprintf into 256 = the first 255 of this */

    (void)state;
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    for (size_t d = 0; d < 3; d++) {
        for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
            for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
                struct t1071i_kbeacon *kb = NULL;
                struct t1071i_pev p = pev(T0, "E", "C:\\a\\b.exe", ips[i], ports[k]);
                struct t1071i_pev *members[1] = {&p};
                struct t1071i_judgement j;
                int64_t delta = 0;
                p.domain = d == 0 ? NULL : d == 1 ? "c2.example" : longname;
                if (p.domain)
                    snprintf(want, sizeof(want), "%s", p.domain);
                else if (p.ip && strchr(p.ip, ':'))
                    snprintf(want, sizeof(want), "[%s]:%" PRId64, p.ip, p.port);
                else
                    snprintf(want, sizeof(want), "%s:%" PRId64, p.ip ? p.ip : "?", p.port);
                want[255] = '\0';
                assert_int_equal(t1071i_tracker_observe(t, &kb, false, &p, &delta), T1071_OK);
                t1071i_tracker_judge(t, kb, members, 1, &j);
                assert_string_equal(j.destination, want);
                t1071i_tracker_free_key(kb);
            }
        }
    }
    {
        struct t1071i_pev p = pev(T0, "E", "/usr/bin/x", "203.0.113.1", 443);
        assert_string_equal(t1071i_tracker_fallback_key(t, &p), "fallback:H|/usr/bin/x");
        p.host_id = NULL;
        p.host_name = longname;
        snprintf(want, sizeof(want), "fallback:%s", longname);
        assert_memory_equal(t1071i_tracker_fallback_key(t, &p), want, strlen(want));
        assert_int_equal(strlen(t1071i_tracker_fallback_key(t, &p)),
                         strlen("fallback:|/usr/bin/x") + strlen(longname));
        p.exe = NULL;
        assert_null(t1071i_tracker_fallback_key(t, &p));
    }
    t1071i_tracker_free(t);
    t1071_config_free(cfg);
}

/* Bytes per (key, destination) pair: tier 0 inline, then the candidate. */
static void
test_tracker_pair_bytes(void **state)
{
    size_t t0 = t1071i_tracker_pair_bytes(15, false), cand = t1071i_tracker_pair_bytes(15, true);

    (void)state;
    print_message("# pair bytes (destination of 15 chars): tier 0 %zu, promoted %zu "
                  "(beacon state %zu + cached verdict)\n", t0, cand,
                  sizeof(struct t1071i_beacon_state));
    assert_true(t0 <= 128);
    assert_true(cand - t0 >= sizeof(struct t1071i_beacon_state));
    assert_true(cand <= 1024);
}

/* At most beacon.max_destinations pairs, least recently used dropped; the
 * deltas always add up to what freeing returns. */
static void
test_tracker_destinations_bounded(void **state)
{
    struct t1071_config *cfg = cfg_with((const char *const[]){"beacon.max_destinations", "3", NULL});
    struct t1071i_tracker *t = NULL;
    struct t1071i_kbeacon *kb = NULL;
    int64_t total = 0;
    char ip[32];

    (void)state;
    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    for (int i = 0; i < 200; i++) {
        snprintf(ip, sizeof(ip), "198.51.100.%d", i % 50);
        struct t1071i_pev p = pev(T0 + i * 1000, "E", "C:\\a\\b.exe", ip, 443);
        int64_t d = 0;
        assert_int_equal(t1071i_tracker_observe(t, &kb, false, &p, &d), T1071_OK);
        total += d;
    }
    /* key struct + aggregate (promoted) + 3 tier-0 pairs at most */
    assert_true((uint64_t)total <= 64 + t1071i_tracker_pair_bytes(1, true) +
                                       3 * t1071i_tracker_pair_bytes(20, true));
    assert_int_equal((uint64_t)total, t1071i_tracker_free_key(kb));
    t1071i_tracker_free(t);
    t1071_config_free(cfg);
}

/* The pair slots: most recently used first, a full key drops (or reuses)
 * its least recently used destination, and destinations whose tags
 * collide stay two pairs.  Checked
 * through the snapshot, which lists the pairs in that order, and through
 * restore, which must account the same bytes. */
static void
test_tracker_pair_slots(void **state)
{
    struct t1071_config *cfg = cfg_with((const char *const[]){"beacon.max_destinations", "5", NULL});
    struct t1071i_tracker *t = NULL;
    struct t1071i_kbeacon *kb = NULL, *back = NULL;
    /* the first two have equal tags and equal lengths (FNV-1a 32 collides) */
    const char *ips[] = {"203.124.164.179", "203.140.127.196", "203.0.113.1", "203.0.113.2",
                         "203.0.113.3", "203.0.113.4", "203.0.113.55"};
    /* visit order; the expected MRU order after it */
    const int visit[] = {0, 1, 0, 2, 3, 4, 1, 5, 6, 0};
    const char *expect[] = {"203.124.164.179:443", "203.0.113.55:443", "203.0.113.4:443",
                            "203.140.127.196:443", "203.0.113.3:443"};
    int64_t total = 0;
    size_t bytes = 0;
    GPtrArray *to_free = g_ptr_array_new_with_free_func(g_free);

    (void)state;
    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    for (size_t i = 0; i < sizeof(visit) / sizeof(visit[0]); i++) {
        struct t1071i_pev p = pev(T0 + (int64_t)i * 60000, "E", "C:\\a\\b.exe", ips[visit[i]], 443);
        int64_t d = 0;
        assert_int_equal(t1071i_tracker_observe(t, &kb, false, &p, &d), T1071_OK);
        total += d;
    }
    T1071__Ecs__V1__SnapshotBeacon *m = t1071i_tracker_snap_key(kb, to_free);
    assert_int_equal(m->n_pairs, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(m->pairs[i]->destination, expect[i]);
    /* 203.124.164.179 was seen at visits 0, 2 and 9 (dropped in between:
     * visit 8 pushed it out as the least recently used) */
    assert_int_equal(m->pairs[0]->count, 1);
    assert_int_equal(m->pairs[3]->count, 2); /* the colliding one, visits 1 and 6 */
    assert_int_equal(t1071i_tracker_restore_key(t, m, &back, &bytes), T1071_OK);
    assert_int_equal((uint64_t)bytes, (uint64_t)total);
    assert_int_equal(t1071i_tracker_free_key(back), bytes);
    assert_int_equal((uint64_t)total, t1071i_tracker_free_key(kb));
    g_ptr_array_free(to_free, TRUE);
    t1071i_tracker_free(t);
    t1071_config_free(cfg);
}

/* The prevalence buckets grow with the entries (1024 at first, one per
 * entry at most): a tracker restored from a snapshot counts the same
 * bytes and answers the same host counts as the one it was taken from. */
static void
test_tracker_prevalence_grows_and_restores(void **state)
{
    struct t1071_config *cfg = cfg_with((const char *const[]){"tuning.prevalence_hosts", "3", NULL});
    struct t1071i_tracker *t = NULL, *r = NULL;
    T1071__Ecs__V1__Snapshot snap = T1071__ECS__V1__SNAPSHOT__INIT;
    GPtrArray *to_free = g_ptr_array_new_with_free_func(g_free);
    size_t empty;
    char ip[32], host[16];

    (void)state;
    assert_int_equal(t1071i_tracker_new(cfg, 7, &t), T1071_OK);
    empty = t1071i_tracker_bytes(t);
    /* Destinations of one length: each new entry adds the same bytes,
     * except the 1025th, which doubles the buckets (1024 more pointers). */
    int64_t first = -1;
    for (int i = 0; i < 5000; i++) {
        struct t1071i_pev p;
        int64_t d = 0;
        snprintf(ip, sizeof(ip), "198.51.%03d.%03d", (i / 3) / 250, (i / 3) % 250);
        snprintf(host, sizeof(host), "H%d", i % 3);
        p = pev(T0 + i * 1000, "E", "C:\\a\\b.exe", ip, 443);
        p.host_id = host;
        t1071i_tracker_observe_event(t, &p, &d);
        if (i % 3)
            assert_int_equal(d, 0); /* a host slot of an entry: no bytes */
        else if (first < 0)
            first = d;
        else
            assert_int_equal(d, first + (i / 3 == 1024 ? 1024 * (int64_t)sizeof(void *) : 0));
    }
    /* 1667 entries: doubled once, to 2048 buckets */
    assert_int_equal(t1071i_tracker_bytes(t), empty + 1667 * (size_t)first + 1024 * sizeof(void *));
    t1071i_tracker_snap(t, &snap, to_free);
    assert_int_equal(t1071i_tracker_new(cfg, 7, &r), T1071_OK);
    assert_int_equal(t1071i_tracker_restore(r, &snap), T1071_OK);
    assert_int_equal(t1071i_tracker_bytes(r), t1071i_tracker_bytes(t));
    for (int i = 0; i < 4998; i += 7) { /* whole groups of three hosts */
        snprintf(ip, sizeof(ip), "198.51.%03d.%03d", (i / 3) / 250, (i / 3) % 250);
        struct t1071i_pev p = pev(T0 + (int64_t)i * 1000 + 2000, "E", "C:\\a\\b.exe", ip, 443);
        struct t1071i_pev *m[1] = {&p};
        struct t1071i_judgement a, b;
        t1071i_tracker_judge(t, NULL, m, 1, &a);
        t1071i_tracker_judge(r, NULL, m, 1, &b);
        assert_int_equal(a.prevalence_hosts, 3);
        assert_int_equal(b.prevalence_hosts, 3);
    }
    g_ptr_array_free(to_free, TRUE);
    t1071i_tracker_free(t);
    t1071i_tracker_free(r);
    t1071_config_free(cfg);
}

static const char *
verdict_for(const char *allow, const char *exe)
{
    struct t1071_config *cfg = cfg_with((const char *const[]){"tuning.allow_executables", allow, NULL});
    struct t1071i_tracker *t = NULL;
    struct t1071i_pev p = pev(T0, "E", exe, "203.0.113.1", 443);
    struct t1071i_pev *m[1] = {&p};
    struct t1071i_judgement j;

    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    t1071i_tracker_judge(t, NULL, m, 1, &j);
    t1071i_tracker_free(t);
    t1071_config_free(cfg);
    return j.reason;
}

/* Globs stay within a path segment; case and separators are Windows'. */
static void
test_tracker_path_globs(void **state)
{
    const char *chrome = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe";

    (void)state;
    assert_non_null(verdict_for(chrome, chrome));
    assert_non_null(verdict_for(chrome, "c:/program files/google/CHROME/application/Chrome.EXE"));
    assert_null(verdict_for(chrome, "C:\\Users\\bob\\AppData\\Local\\Temp\\chrome.exe"));
    assert_null(verdict_for(chrome, "chrome.exe"));
    assert_null(verdict_for(chrome, NULL));
    assert_null(verdict_for(chrome, "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\\x"));
    assert_non_null(verdict_for("C:\\ProgramData\\Defender\\*\\MsMpEng.exe",
                                "C:\\ProgramData\\Defender\\4.18.2\\MsMpEng.exe"));
    /* '*' never crosses a separator: a deeper planted copy does not match */
    assert_null(verdict_for("C:\\ProgramData\\Defender\\*\\MsMpEng.exe",
                            "C:\\ProgramData\\Defender\\x\\Temp\\MsMpEng.exe"));
    assert_non_null(verdict_for("/opt/dynatrace/oneagent/agent/lib64/oneagent*",
                                "/opt/dynatrace/oneagent/agent/lib64/oneagentos"));
    assert_null(verdict_for("/opt/dynatrace/oneagent/agent/lib64/oneagent*",
                            "/tmp/opt/dynatrace/oneagent/agent/lib64/oneagentos"));
}

static const char *
fallback_verdict(const char *const *entities, size_t n)
{
    struct t1071_config *cfg = cfg_with((const char *const[]){"tuning.fallback_key", "true", NULL});
    struct t1071i_tracker *t = NULL;
    struct t1071i_kbeacon *kb = NULL;
    struct t1071i_pev p[16], *m[16];
    struct t1071i_judgement j;

    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    for (size_t i = 0; i < n; i++) {
        int64_t d;
        p[i] = pev(T0 + (int64_t)i * 60000, entities[i], "C:\\t\\x.exe", "203.0.113.1", 443);
        m[i] = &p[i];
        assert_int_equal(t1071i_tracker_observe(t, &kb, true, &p[i], &d), T1071_OK);
    }
    t1071i_tracker_judge(t, kb, m, n, &j);
    t1071i_tracker_free_key(kb);
    t1071i_tracker_free(t);
    t1071_config_free(cfg);
    return j.reason;
}

static void
test_tracker_fallback_reasons(void **state)
{
    (void)state;
    assert_string_equal(fallback_verdict((const char *const[]){"a", "a", "a", "a"}, 4),
                        "fallback_same_process");
    assert_string_equal(fallback_verdict((const char *const[]){"a", "b", "a", "b"}, 4),
                        "fallback_concurrent");
    assert_string_equal(fallback_verdict((const char *const[]){"a", "a", "b", "b", "c", "a"}, 6),
                        "fallback_concurrent");
    assert_null(fallback_verdict((const char *const[]){"a", "a", "b", "b", "c", "c"}, 6));
}

static void
test_tracker_event_bytes(void **state)
{
    t1071i_event ev = T1071__ECS__V1__EVENT__INIT;
    int64_t b = 7;

    (void)state;
    assert_false(t1071i_event_xfer(&ev, &b)); /* Sysmon: none */
    ev.has_source_bytes = 1;
    ev.source_bytes = -5;
    assert_false(t1071i_event_xfer(&ev, &b)); /* garbage is absent */
    ev.source_bytes = 100;
    ev.has_destination_bytes = 1;
    ev.destination_bytes = 23;
    assert_true(t1071i_event_xfer(&ev, &b));
    assert_int_equal(b, 123);
    ev.source_bytes = INT64_MAX;
    ev.destination_bytes = INT64_MAX;
    assert_true(t1071i_event_xfer(&ev, &b)); /* no overflow */
    assert_true(b > 0);
}

/* beacon.enabled=false: no tracker at all. */
static void
test_tracker_disabled_is_null(void **state)
{
    struct t1071_config *cfg = cfg_with((const char *const[]){"beacon.enabled", "false", NULL});
    struct t1071i_tracker *t = (struct t1071i_tracker *)1;

    (void)state;
    assert_int_equal(t1071i_tracker_new(cfg, 1, &t), T1071_OK);
    assert_null(t);
    assert_int_equal(t1071i_tracker_bytes(NULL), 0);
    t1071_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker_promotion_replays_tier0_exactly),
        cmocka_unit_test(test_tracker_pair_bytes),
        cmocka_unit_test(test_tracker_pair_slots),
        cmocka_unit_test(test_tracker_prevalence_grows_and_restores),
        cmocka_unit_test(test_tracker_destination_format_matches_snprintf),
        cmocka_unit_test(test_tracker_destinations_bounded),
        cmocka_unit_test(test_tracker_path_globs),
        cmocka_unit_test(test_tracker_fallback_reasons),
        cmocka_unit_test(test_tracker_event_bytes),
        cmocka_unit_test(test_tracker_disabled_is_null),
    };
    return cmocka_run_group_tests_name("tracker", tests, NULL, NULL);
}
