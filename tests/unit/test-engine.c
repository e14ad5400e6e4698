/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/engine/: the EQL sequence closed form (README "Semantics"),
 * keys, per-host time (lateness, watermark, far-future suspects, advance),
 * expiry, memory accounting, backpressure and error accounting. */
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
#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* ===== Events ===== */

struct evspec {
    int64_t ts;
    bool no_ts;
    const char *id;          /* NULL: no event.id */
    const char *host;        /* host.id, NULL: none */
    const char *const *keys; /* NULL-terminated; NULL: no process.entity_id */
    bool nomatch;            /* private destination: filtered out */
    uint64_t record_number;  /* 0: absent */
};

static uint8_t *
pack_event(const struct evspec *s, size_t *len)
{
    t1071i_event ev = T1071__ECS__V1__EVENT__INIT;
    char *cat[] = {(char *)"network"};
    char *type[] = {(char *)"connection"};
    char *dir[] = {(char *)"egress"};
    char *ip[] = {(char *)(s->nomatch ? "10.0.0.1" : "8.8.8.8")};
    char *name[] = {(char *)"beacon.exe"};
    char *keys[8];
    int64_t port[] = {443};
    size_t nk = 0;
    uint8_t *buf;

    if (!s->no_ts) {
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = s->ts;
    }
    ev.event_id = (char *)s->id;
    ev.host_id = (char *)s->host;
    ev.event_category = cat;
    ev.n_event_category = 1;
    ev.event_type = type;
    ev.n_event_type = 1;
    ev.network_direction = dir;
    ev.n_network_direction = 1;
    ev.destination_ip = ip;
    ev.n_destination_ip = 1;
    ev.process_name = name;
    ev.n_process_name = 1;
    ev.destination_port = port;
    ev.n_destination_port = 1;
    for (; s->keys && s->keys[nk]; nk++) {
        assert_true(nk < 8);
        keys[nk] = (char *)s->keys[nk];
    }
    ev.process_entity_id = keys;
    ev.n_process_entity_id = nk;
    if (s->record_number) {
        ev.has_record_number = 1;
        ev.record_number = s->record_number;
    }
    *len = t1071__ecs__v1__event__get_packed_size(&ev);
    buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    t1071__ecs__v1__event__pack(&ev, buf);
    return buf;
}

static int
feed_spec(t1071_ctx *ctx, const struct evspec *s)
{
    size_t len;
    uint8_t *buf = pack_event(s, &len);
    int rc = t1071_feed_event(ctx, buf, len);
    free(buf);
    return rc;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* One matching event on host H under key @p key (NULL: no key). */
static int
feed_kh(t1071_ctx *ctx, int64_t ts, const char *id, const char *host, const char *key)
{
    const char *keys[2] = {key, NULL};
    struct evspec s = {.ts = ts, .id = id, .host = host, .keys = key ? keys : NULL};
    return feed_spec(ctx, &s);
}

static int
feed_k(t1071_ctx *ctx, int64_t ts, const char *id, const char *key)
{
    return feed_kh(ctx, ts, id, "H", key);
}

/* An event that only moves time on host @p host. */
static int
feed_tick(t1071_ctx *ctx, int64_t ts, const char *host)
{
    struct evspec s = {.ts = ts, .id = "tick", .host = host, .keys = KEYS("TICK"),
                       .nomatch = true};
    return feed_spec(ctx, &s);
}

/* ===== Alerts ===== */

struct alerts {
    size_t n;
    char **s; /* "key|id,id,..." */
    uint64_t *seqno;
    int64_t *first, *last;
};

static void
alerts_free(struct alerts *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->s[i]);
    free(a->s);
    free(a->seqno);
    free(a->first);
    free(a->last);
    memset(a, 0, sizeof(*a));
}

/* Poll every queued alert and append it to @p a. */
static void
collect(t1071_ctx *ctx, struct alerts *a)
{
    t1071_alert_batch *b = NULL;
    size_t n;

    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    n = t1071_alert_batch_count(b);
    if (n == 0) {
        assert_null(b);
        return;
    }
    a->s = realloc(a->s, (a->n + n) * sizeof(*a->s));
    a->seqno = realloc(a->seqno, (a->n + n) * sizeof(*a->seqno));
    a->first = realloc(a->first, (a->n + n) * sizeof(*a->first));
    a->last = realloc(a->last, (a->n + n) * sizeof(*a->last));
    assert_non_null(a->s);
    assert_non_null(a->seqno);
    assert_non_null(a->first);
    assert_non_null(a->last);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *data;
        size_t len, cap = 64, used = 0;
        T1071__Ecs__V1__Alert *al;
        char *s;

        assert_int_equal(t1071_alert_batch_get(b, i, &data, &len), T1071_OK);
        al = t1071__ecs__v1__alert__unpack(NULL, len, data);
        assert_non_null(al);
        assert_non_null(al->key);
        s = malloc(cap);
        assert_non_null(s);
        used = (size_t)snprintf(s, cap, "%s|", al->key);
        for (size_t m = 0; m < al->n_members; m++) {
            const char *id = al->members[m]->event_id;
            size_t need = used + strlen(id) + 2;
            if (need > cap) {
                cap = need * 2;
                s = realloc(s, cap);
                assert_non_null(s);
            }
            used += (size_t)snprintf(s + used, cap - used, "%s%s", m ? "," : "", id);
        }
        a->s[a->n] = s;
        a->seqno[a->n] = al->sequence_number;
        a->first[a->n] = al->first_ms;
        a->last[a->n] = al->last_ms;
        a->n++;
        t1071__ecs__v1__alert__free_unpacked(al, NULL);
    }
    t1071_alert_batch_free(b);
}

/* Compare @p a with a NULL-terminated list of expected alerts, in order. */
static void
assert_alerts(const struct alerts *a, const char *const *want)
{
    size_t n = 0;

    while (want[n])
        n++;
    for (size_t i = 0; i < a->n || i < n; i++) {
        const char *got = i < a->n ? a->s[i] : "(none)";
        const char *exp = i < n ? want[i] : "(none)";
        if (strcmp(got, exp) != 0)
            fail_msg("alert %zu: got \"%s\", expected \"%s\" (%zu alerts, %zu expected)", i,
                     got, exp, a->n, n);
    }
}

#define ALERTS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ALERTS ((const char *const[]){NULL})

static uint64_t
stat(const t1071_ctx *ctx, int id)
{
    uint64_t v = UINT64_MAX;
    assert_int_equal(t1071_stats_get(ctx, id, &v), T1071_OK);
    return v;
}

/* A context with the defaults plus "key=value" pairs (NULL-terminated). */
static t1071_ctx *
make_ctx(const char *const *kv)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    for (size_t i = 0; kv && kv[i]; i += 2) {
        if (t1071_config_set(cfg, kv[i], kv[i + 1]) != T1071_OK)
            fail_msg("config %s=%s: %s", kv[i], kv[i + 1], t1071_config_errmsg(cfg));
    }
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    assert_non_null(ctx);
    return ctx;
}

#define CFG(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ===== The closed form ===== */

static void
test_engine_runs3_five_events_emit_three_overlapping(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "10s"));
    struct alerts a = {0};

    (void)state;
    assert_int_equal(feed_k(ctx, T0 + 0, "e0", "K"), T1071_OK);
    assert_int_equal(feed_k(ctx, T0 + 1000, "e1", "K"), T1071_OK);
    collect(ctx, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(feed_k(ctx, T0 + 2000, "e2", "K"), T1071_OK);
    assert_int_equal(feed_k(ctx, T0 + 3000, "e3", "K"), T1071_OK);
    assert_int_equal(feed_k(ctx, T0 + 4000, "e4", "K"), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0,e1,e2", "K|e1,e2,e3", "K|e2,e3,e4"));
    assert_int_equal(a.seqno[0], 1);
    assert_int_equal(a.seqno[2], 3);
    assert_int_equal(a.first[1], T0 + 1000);
    assert_int_equal(a.last[1], T0 + 3000);
    assert_int_equal(stat(ctx, T1071_STAT_ALERTS), 3);
    assert_int_equal(stat(ctx, T1071_STAT_ALERTS_POLLED), 3);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_MATCHED), 5);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_default_rule_120_events_give_111_sequences(void **state)
{
    t1071_ctx *ctx = make_ctx(NULL);
    struct alerts a = {0};
    char id[16];

    (void)state;
    /* README "Semantics": 120 matching connections in two hours, runs=10. */
    for (int i = 0; i < 120; i++) {
        snprintf(id, sizeof(id), "b%03d", i);
        assert_int_equal(feed_k(ctx, T0 + i * MIN, id, "E"), T1071_OK);
        collect(ctx, &a);
    }
    assert_int_equal(a.n, 111);
    assert_string_equal(a.s[0], "E|b000,b001,b002,b003,b004,b005,b006,b007,b008,b009");
    assert_string_equal(a.s[110], "E|b110,b111,b112,b113,b114,b115,b116,b117,b118,b119");
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_maxspan_inclusive_one_ms_over_fails(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "10s"));
    struct alerts a = {0};

    (void)state;
    /* exactly maxspan: emits */
    feed_kh(ctx, T0, "a0", "HA", "A");
    feed_kh(ctx, T0 + 5000, "a1", "HA", "A");
    feed_kh(ctx, T0 + 10000, "a2", "HA", "A");
    /* maxspan + 1 ms: the window fails, the next one is still tried */
    feed_kh(ctx, T0, "b0", "HB", "B");
    feed_kh(ctx, T0 + 5000, "b1", "HB", "B");
    feed_kh(ctx, T0 + 10001, "b2", "HB", "B");
    feed_kh(ctx, T0 + 10002, "b3", "HB", "B");
    /* maxspan - 1 ms */
    feed_kh(ctx, T0 + 10002, "c0", "HC", "C");
    feed_kh(ctx, T0 + 10003, "c1", "HC", "C");
    feed_kh(ctx, T0 + 20001, "c2", "HC", "C");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("A|a0,a1,a2", "B|b1,b2,b3", "C|c0,c1,c2"));
    alerts_free(&a);
    t1071_free(ctx);
}

/* Every sequence of six timestamps with gaps in 0..3 ms, for runs 1..4 and
 * maxspan 0..3 ms, against the closed form of README "Semantics".  Each
 * sequence has its own host and key, so emission order is feed order. */
static void
test_engine_closed_form_exhaustive_small_cases_match(void **state)
{
    enum { LEN = 6, GAPS = 4 };
    size_t n_seq = 1;

    (void)state;
    for (int i = 1; i < LEN; i++)
        n_seq *= GAPS;
    for (unsigned runs = 1; runs <= 4; runs++) {
        for (int64_t maxspan = 0; maxspan <= 3; maxspan++) {
            char rbuf[8], mbuf[16];
            t1071_ctx *ctx;
            struct alerts a = {0};
            size_t n_want = 0, cap_want = 1024;
            char **want = malloc(cap_want * sizeof(*want));

            assert_non_null(want);
            snprintf(rbuf, sizeof(rbuf), "%u", runs);
            snprintf(mbuf, sizeof(mbuf), "%" PRId64 "ms", maxspan);
            ctx = make_ctx(CFG("rule.runs", rbuf, "rule.maxspan", mbuf));
            for (size_t s = 0; s < n_seq; s++) {
                int64_t ts[LEN];
                char host[24], key[24], ids[LEN][24];
                size_t code = s;

                snprintf(host, sizeof(host), "h%zu", s);
                snprintf(key, sizeof(key), "k%zu", s);
                ts[0] = T0;
                for (int j = 1; j < LEN; j++) {
                    ts[j] = ts[j - 1] + (int64_t)(code % GAPS);
                    code /= GAPS;
                }
                for (int j = 0; j < LEN; j++) {
                    snprintf(ids[j], sizeof(ids[j]), "s%zu-%d", s, j);
                    assert_int_equal(feed_kh(ctx, ts[j], ids[j], host, key), T1071_OK);
                    int first = j + 1 - (int)runs;
                    if (first >= 0 && ts[j] - ts[first] <= maxspan) {
                        char buf[256];
                        int w = snprintf(buf, sizeof(buf), "%s|", key);
                        for (int m = first; m <= j; m++)
                            w += snprintf(buf + w, sizeof(buf) - (size_t)w, "%s%s",
                                          m > first ? "," : "", ids[m]);
                        if (n_want + 1 >= cap_want) {
                            cap_want *= 2;
                            want = realloc(want, cap_want * sizeof(*want));
                            assert_non_null(want);
                        }
                        want[n_want++] = strdup(buf);
                    }
                }
                collect(ctx, &a);
            }
            want[n_want] = NULL;
            assert_alerts(&a, (const char *const *)want);
            for (size_t i = 0; i < n_want; i++)
                free(want[i]);
            free(want);
            alerts_free(&a);
            t1071_free(ctx);
        }
    }
}

static void
test_engine_runs1_every_match_alerts_alone(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "rule.maxspan", "0"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "x0", "K");
    feed_k(ctx, T0, "x1", "K");
    feed_tick(ctx, T0 + 1, "H");
    feed_k(ctx, T0 + DAY, "x2", "L");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|x0", "K|x1", "L|x2"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_FILTERED), 1);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_equal_timestamps_sequence_in_arrival_order(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "0"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "z", "K");
    feed_k(ctx, T0, "a", "K");
    feed_k(ctx, T0, "m", "K");
    feed_k(ctx, T0 + 1, "late1", "K"); /* 1 ms after: fails maxspan=0 */
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|z,a", "K|a,m"));
    alerts_free(&a);
    t1071_free(ctx);
}

/* ===== Keys ===== */

static void
test_engine_multi_valued_key_completes_under_each_value(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h"));
    struct alerts a = {0};
    struct evspec m = {.ts = T0 + 2 * SEC, .id = "ab", .host = "H", .keys = KEYS("KA", "KB")};

    (void)state;
    feed_k(ctx, T0, "a0", "KA");
    feed_k(ctx, T0 + SEC, "b0", "KB");
    assert_int_equal(feed_spec(ctx, &m), T1071_OK);
    feed_k(ctx, T0 + 3 * SEC, "b1", "KB");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("KA|a0,ab", "KB|b0,ab", "KB|ab,b1"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_MATCHED), 4);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 2);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_duplicate_key_values_join_once(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h"));
    struct alerts a = {0};
    struct evspec d = {.ts = T0, .id = "dd", .host = "H", .keys = KEYS("KA", "KA")};

    (void)state;
    assert_int_equal(feed_spec(ctx, &d), T1071_OK);
    collect(ctx, &a);
    assert_int_equal(a.n, 0); /* would be [dd,dd] if joined twice */
    feed_k(ctx, T0 + 1, "a1", "KA");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("KA|dd,a1"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_empty_key_joins_missing_key_counted(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "n0", NULL);
    feed_k(ctx, T0 + 1, "n1", NULL);
    feed_k(ctx, T0 + 2, "e0", "");
    feed_k(ctx, T0 + 3, "e1", "");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("|e0,e1"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_NO_KEY), 2);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_MATCHED), 2);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_keys_case_sensitive_and_filtered_events_skipped(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1h"));
    struct alerts a = {0};
    struct evspec f = {.ts = T0 + 2, .id = "private", .host = "H", .keys = KEYS("abc"),
                       .nomatch = true};

    (void)state;
    feed_k(ctx, T0, "l0", "abc");
    feed_k(ctx, T0 + 1, "u0", "ABC");
    feed_spec(ctx, &f);
    feed_k(ctx, T0 + 3, "l1", "abc");
    feed_k(ctx, T0 + 4, "u1", "ABC");
    feed_k(ctx, T0 + 5, "l2", "abc");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("abc|l0,l1,l2"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_FILTERED), 1);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_event_without_id_named_line_n(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1h"));
    struct alerts a = {0};
    const char *k[] = {"K", NULL};
    struct evspec r = {.ts = T0 + 2, .host = "H", .keys = k, .record_number = 77};

    (void)state;
    feed_k(ctx, T0, NULL, "K");     /* record 1 of the context */
    feed_tick(ctx, T0 + 1, "H");    /* record 2 */
    feed_spec(ctx, &r);             /* record 3, but record_number 77 */
    collect(ctx, &a);
    assert_alerts(&a, NO_ALERTS);
    feed_k(ctx, T0 + 3, NULL, "K"); /* record 4 */
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|line:1,line:77,line:4"));
    alerts_free(&a);
    t1071_free(ctx);
}

/* ===== Time: lateness, watermark ===== */

static void
test_engine_late_event_lateness0_counted_and_dropped(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0 + 10 * SEC, "a", "K");
    assert_int_equal(feed_k(ctx, T0 + 9 * SEC, "late", "K"), T1071_OK);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
    feed_k(ctx, T0 + 10 * SEC, "b", "K"); /* equal to the watermark: not late */
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a,b"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_lateness_reorders_within_bound_drops_beyond(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "4", "rule.maxspan", "1h",
                                  "engine.lateness", "1m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0 + 0, "a", "K");
    feed_k(ctx, T0 + 30 * SEC, "b", "K");
    feed_k(ctx, T0 + 10 * SEC, "c", "K");
    feed_k(ctx, T0 + 20 * SEC, "d", "K");
    collect(ctx, &a);
    assert_alerts(&a, NO_ALERTS);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_BUFFERED), 4);
    /* moves the watermark to 40 s: a, c, d, b run in time order */
    feed_tick(ctx, T0 + 100 * SEC, "H");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a,c,d,b"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_BUFFERED), 0);
    /* 40 s is the watermark: not late; 39.999 s is */
    feed_k(ctx, T0 + 40 * SEC, "w", "K");
    feed_k(ctx, T0 + 40 * SEC - 1, "x", "K");
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a,c,d,b", "K|c,d,b,w"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_lateness_equal_timestamps_keep_arrival_order(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "0",
                                  "engine.lateness", "10s"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0 + 5 * SEC, "p", "K");
    feed_k(ctx, T0 + 9 * SEC, "other", "J");
    feed_k(ctx, T0 + 5 * SEC, "q", "K");
    feed_k(ctx, T0 + 1 * SEC, "early", "K");
    feed_k(ctx, T0 + 5 * SEC, "r", "K");
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|p,q,r"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_watermark_is_per_host(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1"));
    struct alerts a = {0};

    (void)state;
    feed_kh(ctx, T0 + HOUR, "a1", "A", "KA");
    feed_kh(ctx, T0, "b1", "B", "KB");  /* another host: its own clock */
    feed_kh(ctx, T0, "a0", "A", "KA");  /* late on host A */
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("KA|a1", "KB|b1"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
    assert_int_equal(stat(ctx, T1071_STAT_HOSTS), 2);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_host_name_used_when_host_id_missing(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1"));
    t1071i_event ev = T1071__ECS__V1__EVENT__INIT;

    (void)state;
    /* host.name "A" and host.id "A" are the same host; no host is a third */
    feed_kh(ctx, T0 + HOUR, "a1", "A", "KA");
    {
        char *cat[] = {(char *)"network"}, *type[] = {(char *)"start"};
        char *dir[] = {(char *)"egress"}, *name[] = {(char *)"p"}, *key[] = {(char *)"KA"};
        int64_t port[] = {80};
        uint8_t buf[512];
        size_t len;

        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = T0;
        ev.host_name = (char *)"A";
        ev.event_category = cat;
        ev.n_event_category = 1;
        ev.event_type = type;
        ev.n_event_type = 1;
        ev.network_direction = dir;
        ev.n_network_direction = 1;
        ev.process_name = name;
        ev.n_process_name = 1;
        ev.process_entity_id = key;
        ev.n_process_entity_id = 1;
        ev.destination_port = port;
        ev.n_destination_port = 1;
        len = t1071__ecs__v1__event__pack(&ev, buf);
        assert_int_equal(t1071_feed_event(ctx, buf, len), T1071_OK);
        assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
        ev.host_name = NULL;
        len = t1071__ecs__v1__event__pack(&ev, buf);
        assert_int_equal(t1071_feed_event(ctx, buf, len), T1071_OK);
        assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
        assert_int_equal(stat(ctx, T1071_STAT_HOSTS), 2);
    }
    t1071_free(ctx);
}

/* ===== Time: far-future suspects ===== */

static void
test_engine_far_future_suspect_held_does_not_blind_host(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1h",
                                  "engine.max_jump", "10m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "e0", "K");
    assert_int_equal(feed_k(ctx, T0 + 100 * DAY, "forged", "K"), T1071_OK);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_SUSPECT), 1);
    feed_k(ctx, T0 + SEC, "e1", "K");
    feed_k(ctx, T0 + 2 * SEC, "e2", "K");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0,e1,e2"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 0);
    assert_int_equal(stat(ctx, T1071_STAT_SUSPECT_DROPPED), 0);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_suspect_confirmed_by_near_event_runs_both(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h",
                                  "engine.max_jump", "10m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "e0", "K");
    feed_k(ctx, T0 + DAY, "f1", "K");
    feed_k(ctx, T0 + SEC, "e1", "K");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0,e1"));
    /* a second event near the held one: the clock really moved */
    feed_k(ctx, T0 + DAY + 5 * SEC, "f2", "K");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0,e1", "K|f1,f2"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_SUSPECT), 2);
    assert_int_equal(stat(ctx, T1071_STAT_SUSPECT_DROPPED), 0);
    /* the watermark moved with them */
    feed_k(ctx, T0 + 2 * SEC, "old", "K");
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_suspect_confirmed_out_of_order_runs_in_time_order(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h",
                                  "engine.max_jump", "10m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "e0", "K");
    feed_k(ctx, T0 + DAY + 5 * SEC, "f1", "K");
    feed_k(ctx, T0 + DAY, "f2", "K");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|f2,f1"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_suspect_replaced_by_other_suspect_dropped(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "engine.max_jump", "10m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "e0", "K");
    feed_k(ctx, T0 + DAY, "f1", "K");
    feed_k(ctx, T0 + 3 * DAY, "f2", "K");
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_SUSPECT), 2);
    assert_int_equal(stat(ctx, T1071_STAT_SUSPECT_DROPPED), 1);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0"));
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0", "K|f2"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_suspect_released_by_advance_past_it(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "engine.max_jump", "10m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "e0", "K");
    feed_k(ctx, T0 + DAY, "f", "K");
    assert_int_equal(t1071_advance(ctx, T0 + DAY - 1), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0"));
    assert_int_equal(t1071_advance(ctx, T0 + DAY), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0", "K|f"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_suspect_admitted_when_time_catches_up(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "engine.max_jump", "10m"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "e0", "K");
    feed_k(ctx, T0 + 15 * MIN, "f", "K"); /* 15 min > 10 min: held */
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0"));
    feed_k(ctx, T0 + 6 * MIN, "e1", "K"); /* now f is 9 min ahead: admitted */
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|e0", "K|e1", "K|f"));
    assert_int_equal(stat(ctx, T1071_STAT_SUSPECT_DROPPED), 0);
    alerts_free(&a);
    t1071_free(ctx);
}

/* ===== advance ===== */

static void
test_engine_advance_flushes_buffer_up_to_time(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1h",
                                  "engine.lateness", "1h"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "a", "K");
    feed_k(ctx, T0 + SEC, "b", "K");
    feed_k(ctx, T0 + 2 * SEC, "c", "K");
    collect(ctx, &a);
    assert_alerts(&a, NO_ALERTS);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_BUFFERED), 3);
    assert_int_equal(t1071_advance(ctx, T0 + SEC), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a,b"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_BUFFERED), 1);
    /* never backwards */
    assert_int_equal(t1071_advance(ctx, T0), T1071_OK);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_BUFFERED), 1);
    /* nothing at or before the declared time may come any more */
    feed_k(ctx, T0 + SEC - 1, "too-late", "K");
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_LATE), 1);
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a,b", "K|b,c"));
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_BUFFERED), 0);
    assert_int_equal(t1071_advance(NULL, 0), T1071_E_INVALID_ARG);
    alerts_free(&a);
    t1071_free(ctx);
}

/* ===== Expiry and memory ===== */

static void
test_engine_key_expires_after_maxspan_behind_watermark(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1m", "beacon.horizon", "0"));

    (void)state;
    feed_k(ctx, T0, "a", "K");
    feed_k(ctx, T0 + 1, "b", "K");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 1);
    feed_tick(ctx, T0 + 1 + MIN, "H"); /* exactly maxspan after the newest */
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 1);
    feed_tick(ctx, T0 + 2 + MIN, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 0);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS_EXPIRED), 1);
    /* a key on another host is not expired by this host's clock */
    feed_kh(ctx, T0, "o", "OTHER", "KO");
    feed_tick(ctx, T0 + DAY, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 1);
    assert_int_equal(t1071_advance(ctx, T0 + DAY), T1071_OK);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 0);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS_EXPIRED), 2);
    t1071_free(ctx);
}

/* With the tracker, a silent key (and its beacon history) outlives
 * maxspan up to beacon.horizon; without it, maxspan alone applies. */
static void
test_engine_beacon_horizon_keeps_history_past_maxspan(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1m"));
    t1071_ctx *bare = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1m", "beacon.enabled", "false"));

    (void)state;
    feed_k(ctx, T0, "a", "K");
    feed_k(bare, T0, "a", "K");
    feed_tick(ctx, T0 + 2 * HOUR, "H");
    feed_tick(bare, T0 + 2 * HOUR, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 1);  /* 48h default */
    assert_int_equal(stat(bare, T1071_STAT_KEYS), 0);
    feed_tick(ctx, T0 + 48 * HOUR, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 1);  /* inclusive, like maxspan */
    feed_tick(ctx, T0 + 48 * HOUR + 1, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 0);
    assert_int_equal(stat(ctx, T1071_STAT_KEYS_EXPIRED), 1);
    t1071_free(ctx);
    t1071_free(bare);
}

static void
test_engine_expiry_keeps_sequence_exact(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "rule.maxspan", "1m", "beacon.horizon", "0"));
    struct alerts a = {0};

    (void)state;
    feed_k(ctx, T0, "a", "K");
    feed_k(ctx, T0 + MIN, "b", "K");     /* [a,b] exactly maxspan */
    feed_k(ctx, T0 + 2 * MIN + 1, "c", "K"); /* [b,c] 1 ms over */
    feed_tick(ctx, T0 + 10 * MIN, "H");  /* K expires */
    feed_k(ctx, T0 + 10 * MIN, "d", "K"); /* a fresh key state */
    feed_k(ctx, T0 + 10 * MIN, "e", "K");
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a,b", "K|d,e"));
    assert_int_equal(stat(ctx, T1071_STAT_KEYS_EXPIRED), 1);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_memory_returns_to_baseline_after_expiry(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "3", "rule.maxspan", "1m", "beacon.horizon", "0"));
    struct alerts a = {0};
    uint64_t base, peak;
    char id[32], key[32];

    (void)state;
    /* warm up: the host and its reorder buffer exist from here on */
    feed_k(ctx, T0, "warm", "W");
    feed_tick(ctx, T0 + 10 * MIN, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 0);
    base = stat(ctx, T1071_STAT_MEMORY_BYTES);
    assert_true(base > 0);

    for (int i = 0; i < 5; i++) {
        for (int k = 0; k < 200; k++) {
            snprintf(id, sizeof(id), "k%d-%d", k, i);
            snprintf(key, sizeof(key), "key-%d", k);
            assert_int_equal(feed_k(ctx, T0 + 20 * MIN + i * SEC, id, key), T1071_OK);
        }
    }
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 200);
    assert_true(stat(ctx, T1071_STAT_MEMORY_BYTES) > base);
    assert_int_equal(stat(ctx, T1071_STAT_ALERTS_QUEUED), 600);
    collect(ctx, &a);
    assert_int_equal(a.n, 600);
    assert_true(stat(ctx, T1071_STAT_MEMORY_BYTES) > base); /* keys still held */
    feed_tick(ctx, T0 + HOUR, "H");
    assert_int_equal(stat(ctx, T1071_STAT_KEYS), 0);
    assert_int_equal(stat(ctx, T1071_STAT_MEMORY_BYTES), base);
    peak = stat(ctx, T1071_STAT_MEMORY_PEAK_BYTES);
    assert_true(peak > base);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_memory_counts_queued_alerts_until_polled(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "rule.maxspan", "1m", "beacon.horizon", "0"));
    struct alerts a = {0};
    uint64_t before, queued;

    (void)state;
    feed_k(ctx, T0, "warm", "W");
    feed_tick(ctx, T0 + 10 * MIN, "H");
    collect(ctx, &a);
    before = stat(ctx, T1071_STAT_MEMORY_BYTES);
    feed_k(ctx, T0 + 10 * MIN, "x", "X");
    feed_tick(ctx, T0 + 20 * MIN, "H");
    queued = stat(ctx, T1071_STAT_MEMORY_BYTES);
    assert_true(queued > before);
    collect(ctx, &a);
    assert_int_equal(stat(ctx, T1071_STAT_MEMORY_BYTES), before);
    alerts_free(&a);
    t1071_free(ctx);
}

/* ===== Backpressure ===== */

static void
test_engine_queue_full_refuses_without_consuming(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "engine.alert_queue", "2"));
    struct alerts a = {0};

    (void)state;
    assert_int_equal(feed_k(ctx, T0, "a", "K"), T1071_OK);
    assert_int_equal(feed_k(ctx, T0 + 1, "b", "K"), T1071_OK);
    assert_int_equal(feed_k(ctx, T0 + 2, "c", "K"), T1071_E_QUEUE_FULL);
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_E_QUEUE_FULL);
    assert_int_equal(stat(ctx, T1071_STAT_QUEUE_FULL), 2);
    assert_int_equal(stat(ctx, T1071_STAT_RECORDS_IN), 2);
    collect(ctx, &a);
    assert_int_equal(feed_k(ctx, T0 + 2, "c", "K"), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|a", "K|b", "K|c"));
    alerts_free(&a);
    t1071_free(ctx);
}

/* ===== Errors ===== */

static void
test_engine_missing_or_absurd_timestamp_returns_timestamp(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1"));
    struct alerts a = {0};
    const char *k[] = {"K", NULL};
    struct evspec none = {.no_ts = true, .id = "none", .host = "H", .keys = k};
    struct evspec neg = {.ts = -1, .id = "neg", .host = "H", .keys = k};
    struct evspec huge = {.ts = INT64_C(253402300800000), .id = "huge", .host = "H", .keys = k};
    struct evspec max = {.ts = INT64_C(253402300799999), .id = "max", .host = "H2", .keys = k};
    struct evspec zero = {.ts = 0, .id = "zero", .host = "H3", .keys = k};

    (void)state;
    assert_int_equal(feed_spec(ctx, &none), T1071_E_TIMESTAMP);
    assert_int_equal(feed_spec(ctx, &neg), T1071_E_TIMESTAMP);
    assert_int_equal(feed_spec(ctx, &huge), T1071_E_TIMESTAMP);
    assert_int_equal(stat(ctx, T1071_STAT_ERR_TIMESTAMP), 3);
    assert_string_not_equal(t1071_errmsg(ctx), "");
    assert_int_equal(feed_spec(ctx, &max), T1071_OK);
    assert_int_equal(feed_spec(ctx, &zero), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|max", "K|zero"));
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_bad_bytes_counted_context_usable(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1", "engine.max_event_bytes", "128"));
    struct alerts a = {0};
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    uint8_t big[129];

    (void)state;
    memset(big, 0, sizeof(big));
    assert_int_equal(t1071_feed_event(ctx, garbage, sizeof(garbage)), T1071_E_DECODE);
    assert_int_equal(t1071_feed_event(ctx, big, sizeof(big)), T1071_E_TOO_LARGE);
    assert_int_equal(t1071_feed_event(ctx, big, 128), T1071_E_DECODE);
    assert_int_equal(stat(ctx, T1071_STAT_ERR_DECODE), 2);
    assert_int_equal(stat(ctx, T1071_STAT_ERR_TOO_LARGE), 1);
    assert_int_equal(t1071_feed_event(NULL, garbage, 1), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_feed_event(ctx, NULL, 1), T1071_E_INVALID_ARG);
    /* an empty buffer is an empty Event: decoded, no timestamp */
    assert_int_equal(t1071_feed_event(ctx, NULL, 0), T1071_E_TIMESTAMP);
    assert_int_equal(feed_k(ctx, T0, "ok", "K"), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|ok"));
    assert_int_equal(stat(ctx, T1071_STAT_RECORDS_IN), 5);
    assert_int_equal(stat(ctx, T1071_STAT_EVENTS_DECODED), 2);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_malformed_ip_counted_event_still_matches(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "1"));
    struct alerts a = {0};
    t1071i_event ev = T1071__ECS__V1__EVENT__INIT;
    char *cat[] = {(char *)"network"}, *type[] = {(char *)"start"};
    char *dir[] = {(char *)"egress"}, *name[] = {(char *)"p"}, *key[] = {(char *)"K"};
    char *ips[] = {(char *)"bogus", (char *)"8.8.8.8", (char *)"1.2.3"};
    int64_t port[] = {443};
    uint8_t buf[512];
    size_t len;

    (void)state;
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = T0;
    ev.event_id = (char *)"m";
    ev.event_category = cat;
    ev.n_event_category = 1;
    ev.event_type = type;
    ev.n_event_type = 1;
    ev.network_direction = dir;
    ev.n_network_direction = 1;
    ev.process_name = name;
    ev.n_process_name = 1;
    ev.process_entity_id = key;
    ev.n_process_entity_id = 1;
    ev.destination_port = port;
    ev.n_destination_port = 1;
    ev.destination_ip = ips;
    ev.n_destination_ip = 3;
    len = t1071__ecs__v1__event__pack(&ev, buf);
    assert_int_equal(t1071_feed_event(ctx, buf, len), T1071_OK);
    collect(ctx, &a);
    assert_alerts(&a, ALERTS("K|m"));
    assert_int_equal(stat(ctx, T1071_STAT_MALFORMED_IP), 2);
    alerts_free(&a);
    t1071_free(ctx);
}

static void
test_engine_counters_add_up(void **state)
{
    t1071_ctx *ctx = make_ctx(CFG("rule.runs", "2", "engine.lateness", "1m"));
    const char *k[] = {"K", NULL};
    struct evspec none = {.no_ts = true, .id = "none", .host = "H", .keys = k};
    static const uint8_t garbage[] = {0xff};
    uint64_t in, dec, matched, filtered, nokey, ets, edec;

    (void)state;
    for (int i = 0; i < 30; i++) {
        switch (i % 5) {
        case 0: feed_k(ctx, T0 + i * SEC, NULL, "K"); break;
        case 1: feed_k(ctx, T0 + i * SEC, NULL, NULL); break;
        case 2: feed_tick(ctx, T0 + i * SEC, "H"); break;
        case 3: feed_spec(ctx, &none); break;
        default: t1071_feed_event(ctx, garbage, sizeof(garbage)); break;
        }
    }
    in = stat(ctx, T1071_STAT_RECORDS_IN);
    dec = stat(ctx, T1071_STAT_EVENTS_DECODED);
    matched = stat(ctx, T1071_STAT_EVENTS_MATCHED);
    filtered = stat(ctx, T1071_STAT_EVENTS_FILTERED);
    nokey = stat(ctx, T1071_STAT_EVENTS_NO_KEY);
    ets = stat(ctx, T1071_STAT_ERR_TIMESTAMP);
    edec = stat(ctx, T1071_STAT_ERR_DECODE);
    assert_int_equal(in, 30);
    assert_int_equal(edec, 6);
    assert_int_equal(dec, 24);
    assert_int_equal(ets, 6);
    assert_int_equal(matched, 6);
    assert_int_equal(nokey, 6);
    assert_int_equal(filtered, 6);
    assert_int_equal(in, dec + edec);
    assert_int_equal(dec, matched + filtered + nokey + ets);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_runs3_five_events_emit_three_overlapping),
        cmocka_unit_test(test_engine_default_rule_120_events_give_111_sequences),
        cmocka_unit_test(test_engine_maxspan_inclusive_one_ms_over_fails),
        cmocka_unit_test(test_engine_closed_form_exhaustive_small_cases_match),
        cmocka_unit_test(test_engine_runs1_every_match_alerts_alone),
        cmocka_unit_test(test_engine_equal_timestamps_sequence_in_arrival_order),
        cmocka_unit_test(test_engine_multi_valued_key_completes_under_each_value),
        cmocka_unit_test(test_engine_duplicate_key_values_join_once),
        cmocka_unit_test(test_engine_empty_key_joins_missing_key_counted),
        cmocka_unit_test(test_engine_keys_case_sensitive_and_filtered_events_skipped),
        cmocka_unit_test(test_engine_event_without_id_named_line_n),
        cmocka_unit_test(test_engine_late_event_lateness0_counted_and_dropped),
        cmocka_unit_test(test_engine_lateness_reorders_within_bound_drops_beyond),
        cmocka_unit_test(test_engine_lateness_equal_timestamps_keep_arrival_order),
        cmocka_unit_test(test_engine_watermark_is_per_host),
        cmocka_unit_test(test_engine_host_name_used_when_host_id_missing),
        cmocka_unit_test(test_engine_far_future_suspect_held_does_not_blind_host),
        cmocka_unit_test(test_engine_suspect_confirmed_by_near_event_runs_both),
        cmocka_unit_test(test_engine_suspect_confirmed_out_of_order_runs_in_time_order),
        cmocka_unit_test(test_engine_suspect_replaced_by_other_suspect_dropped),
        cmocka_unit_test(test_engine_suspect_released_by_advance_past_it),
        cmocka_unit_test(test_engine_suspect_admitted_when_time_catches_up),
        cmocka_unit_test(test_engine_advance_flushes_buffer_up_to_time),
        cmocka_unit_test(test_engine_key_expires_after_maxspan_behind_watermark),
        cmocka_unit_test(test_engine_expiry_keeps_sequence_exact),
        cmocka_unit_test(test_engine_beacon_horizon_keeps_history_past_maxspan),
        cmocka_unit_test(test_engine_memory_returns_to_baseline_after_expiry),
        cmocka_unit_test(test_engine_memory_counts_queued_alerts_until_polled),
        cmocka_unit_test(test_engine_queue_full_refuses_without_consuming),
        cmocka_unit_test(test_engine_missing_or_absurd_timestamp_returns_timestamp),
        cmocka_unit_test(test_engine_bad_bytes_counted_context_usable),
        cmocka_unit_test(test_engine_malformed_ip_counted_event_still_matches),
        cmocka_unit_test(test_engine_counters_add_up),
    };

    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
