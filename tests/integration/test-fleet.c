/* SPDX-License-Identifier: Apache-2.0 */
/* Fleet prevalence across contexts (issue 14, README "Fleet prevalence
 * across contexts"), through the public library only.  One fleet updater
 * reaches one destination from 24 hosts that come online one after the
 * other, so it crosses the tuned profile's 5- and 20-host thresholds only
 * when every shard's hosts are counted together; a small implant on three
 * hosts beacons beside it.  N = 2, 4, 8 contexts sharded by host that
 * exchange deltas under the documented condition give exactly the single
 * context's alerts and suppression reasons; without the exchange they do
 * not; deltas delivered late, twice and reordered converge to the single
 * context's table; a snapshot keeps the table and the cursor. */
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

#ifndef T1071_PROFILES
#error "T1071_PROFILES must be examples/profiles"
#endif

#define T0 INT64_C(1704067200000)
#define MAX_EVENTS 4096
#define MAX_SHARDS 8

struct ev {
    int64_t ts;
    uint8_t *buf;
    size_t len;
    uint32_t host;
};

static struct ev events[MAX_EVENTS];
static size_t n_events;

static void
iso(int64_t t, char *out, size_t size)
{
    int64_t s = t / 1000, ms = t % 1000, days = s / 86400, rem = s % 86400;
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)ms);
}

static void
add(int64_t ts, uint32_t host, const char *entity, const char *exe_json, const char *name,
    const char *ip, int port)
{
    char json[1024], t[64];
    t1071_buffer *b = NULL;

    assert_true(n_events < MAX_EVENTS);
    iso(ts, t, sizeof(t));
    snprintf(json, sizeof(json),
             "{\"@timestamp\":\"%s\",\"event\":{\"category\":[\"network\"],\"type\":[\"start\"]},"
             "\"network\":{\"direction\":\"egress\"},"
             "\"destination\":{\"ip\":\"%s\",\"port\":%d},"
             "\"process\":{\"entity_id\":\"%s\",\"name\":\"%s\",\"executable\":\"%s\"},"
             "\"host\":{\"id\":\"HOST%u\",\"name\":\"host%u\"}}",
             t, ip, port, entity, name, exe_json, host, host);
    /* a record number of its own: the same event id in every context */
    assert_int_equal(t1071_event_from_json(json, strlen(json), n_events + 1, &b), T1071_OK);
    events[n_events].ts = ts;
    events[n_events].len = t1071_buffer_size(b);
    events[n_events].buf = malloc(events[n_events].len);
    memcpy(events[n_events].buf, t1071_buffer_data(b), events[n_events].len);
    events[n_events].host = host;
    n_events++;
    t1071_buffer_free(b);
}

static int
by_time(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->host < y->host ? -1 : x->host > y->host;
}

/* The stream, sorted by time (ties by host). */
static void
make_stream(void)
{
    uint64_t s = 14;

    if (n_events)
        return;
    for (uint32_t h = 0; h < 24; h++) {
        char ent[32];
        int64_t t = T0 + (int64_t)h * 900000; /* a host every 15 minutes */
        snprintf(ent, sizeof(ent), "U%u", h);
        for (int i = 0; i < 40; i++) {
            add(t, h, ent, "C:\\\\Program Files\\\\Vendor\\\\updater.exe", "updater.exe",
                "198.51.100.77", 443);
            t += 300000 + (int64_t)tu_below(&s, 3001) - 1500;
        }
    }
    for (uint32_t h = 30; h < 33; h++) {
        char ent[32];
        int64_t t = T0 + (int64_t)(h - 30) * 7000;
        snprintf(ent, sizeof(ent), "I%u", h);
        for (int i = 0; i < 60; i++) {
            add(t, h, ent, "C:\\\\Users\\\\bob\\\\AppData\\\\Local\\\\Temp\\\\svc.exe", "svc.exe",
                "203.0.113.9", 8080);
            t += 600000 + (int64_t)tu_below(&s, 2001) - 1000;
        }
    }
    qsort(events, n_events, sizeof(events[0]), by_time);
}

static t1071_ctx *
fleet_ctx(const char *fleet_key)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    if (t1071_config_load_file(cfg, T1071_PROFILES "/tuned.ini") != T1071_OK)
        fail_msg("tuned.ini: %s", t1071_config_errmsg(cfg));
    assert_int_equal(t1071_config_set(cfg, "engine.hash_seed", "7"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "tuning.emit_suppressed", "true"), T1071_OK);
    if (fleet_key)
        assert_int_equal(t1071_config_set(cfg, "tuning.fleet_key", fleet_key), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    return ctx;
}

/* Every alert as one line: group id, suppressed, reason, host count. */
struct lines {
    size_t n;
    char *l[MAX_EVENTS];
};

static void
collect(t1071_ctx *ctx, struct lines *out)
{
    t1071_alert_batch *b = NULL;

    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *d;
        size_t n;
        char line[256];
        tu_alert *a;
        assert_int_equal(t1071_alert_batch_get(b, i, &d, &n), T1071_OK);
        a = t1071__ecs__v1__alert__unpack(NULL, n, d);
        assert_non_null(a);
        assert_non_null(a->tuning);
        snprintf(line, sizeof(line), "%s %d %s %u", a->group_id, (int)a->tuning->suppressed,
                 a->tuning->reason ? a->tuning->reason : "-", a->tuning->prevalence_hosts);
        assert_true(out->n < MAX_EVENTS);
        out->l[out->n++] = strdup(line);
        t1071__ecs__v1__alert__free_unpacked(a, NULL);
    }
    t1071_alert_batch_free(b);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->l[i]);
    l->n = 0;
}

static size_t
count_reason(const struct lines *l, const char *what)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strstr(l->l[i], what) != NULL;
    return n;
}

static bool
lines_equal(struct lines *a, struct lines *b)
{
    qsort(a->l, a->n, sizeof(char *), cmp_str);
    qsort(b->l, b->n, sizeof(char *), cmp_str);
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->l[i], b->l[i])) {
            print_message("# first difference: %s | %s\n", a->l[i], b->l[i]);
            return false;
        }
    return true;
}

static void
run_single(const char *fleet_key, struct lines *out, t1071_ctx **keep)
{
    t1071_ctx *ctx = fleet_ctx(fleet_key);

    for (size_t i = 0; i < n_events; i++) {
        assert_int_equal(t1071_feed_event(ctx, events[i].buf, events[i].len), T1071_OK);
        collect(ctx, out);
    }
    /* Every host's events are released as they come (engine.lateness 0):
     * the end flush has nothing left to score. */
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    collect(ctx, out);
    if (keep)
        *keep = ctx;
    else
        t1071_free(ctx);
}

/* The shard of event @p i among @p n. */
static uint32_t
shard_of(size_t i, uint32_t n)
{
    uint32_t s;
    assert_int_equal(t1071_event_shard(events[i].buf, events[i].len, n, &s), T1071_OK);
    return s;
}

/* Under the documented condition: after each feed, the fed context's delta
 * since its cursor is merged into every other context before the next. */
static void
run_sharded(uint32_t n, bool exchange, struct lines *out, t1071_ctx **ctxs)
{
    uint64_t cursor[MAX_SHARDS] = {0};

    for (uint32_t k = 0; k < n; k++)
        ctxs[k] = fleet_ctx("fleet-test-key");
    for (size_t i = 0; i < n_events; i++) {
        uint32_t s = shard_of(i, n);
        assert_int_equal(t1071_feed_event(ctxs[s], events[i].buf, events[i].len), T1071_OK);
        collect(ctxs[s], out);
        if (exchange) {
            t1071_buffer *d = NULL;
            assert_int_equal(t1071_prevalence_export(ctxs[s], cursor[s], &d, &cursor[s]),
                             T1071_OK);
            for (uint32_t k = 0; k < n; k++)
                if (k != s)
                    assert_int_equal(t1071_prevalence_merge(ctxs[k], t1071_buffer_data(d),
                                                            t1071_buffer_size(d)),
                                     T1071_OK);
            t1071_buffer_free(d);
        }
    }
    for (uint32_t k = 0; k < n; k++) {
        assert_int_equal(t1071_advance(ctxs[k], INT64_MAX), T1071_OK);
        collect(ctxs[k], out);
    }
}

/* The whole table of @p ctx, and whether two are the same table. */
static t1071_buffer *
table(const t1071_ctx *ctx)
{
    t1071_buffer *b = NULL;
    uint64_t c;
    assert_int_equal(t1071_prevalence_export(ctx, 0, &b, &c), T1071_OK);
    return b;
}

static bool
same_table(const t1071_buffer *a, const t1071_buffer *b)
{
    const uint8_t *x = t1071_buffer_data(a), *y = t1071_buffer_data(b);
    size_t n = t1071_buffer_size(a);
    return n == t1071_buffer_size(b) && n >= 88 && !memcmp(x, y, 16) &&
           !memcmp(x + 48, y + 48, 16) && !memcmp(x + 72, y + 72, n - 72);
}

static void
test_fleet_sharded_equals_single(void **state)
{
    struct lines single = {0}, plain = {0};
    t1071_ctx *one = NULL;
    t1071_buffer *want;

    (void)state;
    make_stream();
    run_single("fleet-test-key", &single, &one);
    want = table(one);
    /* The stream does what it is for: the updater is lowered from 5 hosts
     * and suppressed from 20; the implant is delivered. */
    print_message("# single context: %zu events, %zu alerts, %zu suppressed for prevalence\n",
                  n_events, single.n, count_reason(&single, " prevalence "));
    assert_true(count_reason(&single, " 1 prevalence ") > 0);
    assert_true(count_reason(&single, " 0 - ") > 0);
    /* The fleet key alone changes nothing in one context. */
    run_single(NULL, &plain, NULL);
    if (!lines_equal(&single, &plain))
        fail_msg("a fleet key changed a single context's alerts");
    lines_free(&plain);

    for (uint32_t n = 2; n <= 8; n *= 2) {
        struct lines got = {0}, apart = {0};
        t1071_ctx *ctxs[MAX_SHARDS];
        run_sharded(n, true, &got, ctxs);
        print_message("# %u shards exchanging deltas: %zu alerts, %zu suppressed for prevalence\n",
                      n, got.n, count_reason(&got, " prevalence "));
        if (!lines_equal(&single, &got))
            fail_msg("%u shards exchanging deltas differ from the single context", n);
        for (uint32_t k = 0; k < n; k++) {
            t1071_buffer *b = table(ctxs[k]);
            if (!same_table(b, want))
                fail_msg("%u shards: shard %u's table differs from the single context's", n, k);
            t1071_buffer_free(b);
            t1071_free(ctxs[k]);
        }
        run_sharded(n, false, &apart, ctxs);
        print_message("# %u shards apart: %zu alerts, %zu suppressed for prevalence\n", n, apart.n,
                      count_reason(&apart, " prevalence "));
        if (lines_equal(&single, &apart))
            fail_msg("%u shards without the exchange gave the single context's alerts", n);
        for (uint32_t k = 0; k < n; k++)
            t1071_free(ctxs[k]);
        lines_free(&got);
        lines_free(&apart);
    }
    t1071_buffer_free(want);
    t1071_free(one);
    lines_free(&single);
}

/* Deltas held back, delivered late, twice and in a shuffled order: every
 * context ends with the single context's table. */
static void
test_fleet_delayed_reordered_converge(void **state)
{
    struct lines single = {0}, got = {0};
    t1071_ctx *one = NULL, *ctxs[4];
    t1071_buffer *want, **deltas = calloc(4 * MAX_EVENTS, sizeof(*deltas));
    size_t n_deltas = 0, *order;
    uint64_t cursor[4] = {0}, s = 99;

    (void)state;
    make_stream();
    run_single("fleet-test-key", &single, &one);
    want = table(one);
    for (uint32_t k = 0; k < 4; k++)
        ctxs[k] = fleet_ctx("fleet-test-key");
    for (size_t i = 0; i < n_events; i++) {
        uint32_t sh = shard_of(i, 4);
        assert_int_equal(t1071_feed_event(ctxs[sh], events[i].buf, events[i].len), T1071_OK);
        collect(ctxs[sh], &got);
        if (tu_below(&s, 10) < 3) /* now and then, not after every event */
            assert_int_equal(t1071_prevalence_export(ctxs[sh], cursor[sh], &deltas[n_deltas++],
                                                     &cursor[sh]),
                             T1071_OK);
    }
    for (uint32_t k = 0; k < 4; k++)
        assert_int_equal(t1071_prevalence_export(ctxs[k], cursor[k], &deltas[n_deltas++],
                                                 &cursor[k]),
                         T1071_OK);
    order = malloc(2 * n_deltas * sizeof(*order));
    for (uint32_t k = 0; k < 4; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n_deltas; i++) {
            order[m++] = i;
            if (tu_below(&s, 4) == 0)
                order[m++] = i; /* at least once */
        }
        for (size_t i = m; i > 1; i--) {
            size_t j = tu_below(&s, i), x = order[i - 1];
            order[i - 1] = order[j];
            order[j] = x;
        }
        for (size_t i = 0; i < m; i++)
            assert_int_equal(t1071_prevalence_merge(ctxs[k], t1071_buffer_data(deltas[order[i]]),
                                                    t1071_buffer_size(deltas[order[i]])),
                             T1071_OK);
    }
    for (uint32_t k = 0; k < 4; k++) {
        t1071_buffer *b = table(ctxs[k]);
        if (!same_table(b, want))
            fail_msg("shard %u did not converge to the single context's table", k);
        t1071_buffer_free(b);
        t1071_free(ctxs[k]);
    }
    print_message("# 4 shards, %zu deltas delivered late, duplicated and shuffled: converged\n",
                  n_deltas);
    for (size_t i = 0; i < n_deltas; i++)
        t1071_buffer_free(deltas[i]);
    free(deltas);
    free(order);
    lines_free(&got);
    lines_free(&single);
    t1071_buffer_free(want);
    t1071_free(one);
}

/* t1071_snapshot / t1071_restore keep the table and the cursor exactly:
 * the restored context exports the same bytes from 0 and from the cursor,
 * and goes on giving the same alerts and deltas. */
static void
test_fleet_snapshot_keeps_table_and_cursor(void **state)
{
    t1071_ctx *a = fleet_ctx("fleet-test-key"), *b = NULL;
    t1071_buffer *snap = NULL;
    uint64_t mid = 0;
    struct lines la = {0}, lb = {0};

    (void)state;
    make_stream();
    for (size_t i = 0; i < n_events / 2; i++) {
        assert_int_equal(t1071_feed_event(a, events[i].buf, events[i].len), T1071_OK);
        if (i == n_events / 4) {
            t1071_buffer *d;
            assert_int_equal(t1071_prevalence_export(a, 0, &d, &mid), T1071_OK);
            t1071_buffer_free(d);
        }
    }
    collect(a, &la);
    lines_free(&la);
    assert_int_equal(t1071_snapshot(a, &snap), T1071_OK);
    assert_int_equal(t1071_restore(&b, t1071_buffer_data(snap), t1071_buffer_size(snap)),
                     T1071_OK);
    for (int step = 0; step < 2; step++) {
        uint64_t cursors[2] = {0, mid};
        for (int c = 0; c < 2; c++) {
            t1071_buffer *x, *y;
            uint64_t cx, cy;
            assert_int_equal(t1071_prevalence_export(a, cursors[c], &x, &cx), T1071_OK);
            assert_int_equal(t1071_prevalence_export(b, cursors[c], &y, &cy), T1071_OK);
            assert_int_equal(cx, cy);
            assert_int_equal(t1071_buffer_size(x), t1071_buffer_size(y));
            assert_memory_equal(t1071_buffer_data(x), t1071_buffer_data(y), t1071_buffer_size(x));
            t1071_buffer_free(x);
            t1071_buffer_free(y);
        }
        for (size_t i = n_events / 2; step == 0 && i < n_events; i++) {
            assert_int_equal(t1071_feed_event(a, events[i].buf, events[i].len), T1071_OK);
            assert_int_equal(t1071_feed_event(b, events[i].buf, events[i].len), T1071_OK);
        }
        collect(a, &la);
        collect(b, &lb);
    }
    if (!lines_equal(&la, &lb))
        fail_msg("the restored context's alerts differ");
    lines_free(&la);
    lines_free(&lb);
    t1071_buffer_free(snap);
    t1071_free(a);
    t1071_free(b);
}

/* Refusals: no fleet key, several rules, another fleet's delta, garbage;
 * each with a status and a message, nothing merged. */
static void
test_fleet_refusals(void **state)
{
    t1071_ctx *plain = fleet_ctx(NULL), *a = fleet_ctx("fleet-a"), *b = fleet_ctx("fleet-b");
    t1071_buffer *d = NULL, *before, *after;
    uint64_t c = 7;
    const uint8_t junk[100] = {'T', '1', '0', '7', '1', 'P', 'R', 'V', 1};

    (void)state;
    make_stream();
    for (size_t i = 0; i < 200; i++) {
        assert_int_equal(t1071_feed_event(a, events[i].buf, events[i].len), T1071_OK);
        assert_int_equal(t1071_feed_event(b, events[i + 200].buf, events[i + 200].len), T1071_OK);
    }
    assert_int_equal(t1071_prevalence_export(plain, 0, &d, &c), T1071_E_UNSUPPORTED);
    assert_null(d);
    assert_int_equal(c, 0);
    assert_int_equal(t1071_prevalence_export(NULL, 0, &d, &c), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_prevalence_export(a, 0, NULL, &c), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_prevalence_merge(NULL, junk, sizeof(junk)), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_prevalence_merge(a, NULL, 5), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_prevalence_export(a, 0, &d, &c), T1071_OK);
    assert_true(c > 0);
    assert_int_equal(t1071_prevalence_merge(plain, t1071_buffer_data(d), t1071_buffer_size(d)),
                     T1071_E_UNSUPPORTED);
    assert_non_null(strstr(t1071_errmsg(plain), "fleet_key"));
    before = table(b);
    assert_int_equal(t1071_prevalence_merge(b, t1071_buffer_data(d), t1071_buffer_size(d)),
                     T1071_E_SNAPSHOT);
    assert_non_null(strstr(t1071_errmsg(b), "another tuning.fleet_key"));
    assert_int_equal(t1071_prevalence_merge(b, junk, sizeof(junk)), T1071_E_SNAPSHOT);
    assert_int_equal(t1071_prevalence_merge(b, junk, 3), T1071_E_SNAPSHOT);
    after = table(b);
    assert_true(same_table(before, after));
    t1071_buffer_free(before);
    t1071_buffer_free(after);
    t1071_buffer_free(d);
    {
        t1071_config *cfg = NULL;
        t1071_ctx *multi = NULL;
        assert_int_equal(t1071_config_new(&cfg), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "tuning.prevalence_hosts", "5"), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "tuning.fleet_key", "k"), T1071_OK);
        assert_int_equal(t1071_config_add_rule(cfg, "second",
                                               "sequence by process.entity_id with maxspan=1h "
                                               "[network where destination.port == 443] "
                                               "[network where destination.port == 443]"),
                         T1071_OK);
        assert_int_equal(t1071_init(&multi, cfg), T1071_OK);
        assert_int_equal(t1071_prevalence_export(multi, 0, &d, &c), T1071_E_UNSUPPORTED);
        t1071_free(multi);
        t1071_config_free(cfg);
    }
    t1071_free(plain);
    t1071_free(a);
    t1071_free(b);
}

/* A snapshot written before the fleet prevalence fields existed (by the
 * library of commit e8ccd13, fixtures/snapshots/make-old-snapshot.c)
 * restores, and the restored context goes on exactly like today's library
 * run uninterrupted over the same events: the same alerts, in the same
 * order, with the same prevalence counts. */
static void
test_fleet_old_snapshot_restores(void **state)
{
    size_t ev_len = 0, snap_len = 0, off = 0, n_rec = 0, max_hosts = 0;
    char *evs = tu_read_file(T1071_FIXTURES "/snapshots/prevalence-0.1.events", &ev_len);
    char *snap = tu_read_file(T1071_FIXTURES "/snapshots/prevalence-0.1.snap", &snap_len);
    const uint8_t *rec[256];
    size_t rec_len[256];
    t1071_ctx *old = NULL, *fresh = fleet_ctx(NULL);
    struct lines a = {0}, b = {0};

    (void)state;
    assert_non_null(evs);
    assert_non_null(snap);
    while (off < ev_len) { /* length-delimited records */
        uint64_t len = 0;
        int shift = 0;
        while (off < ev_len && (evs[off] & 0x80))
            len |= (uint64_t)(evs[off++] & 0x7f) << shift, shift += 7;
        assert_true(off < ev_len);
        len |= (uint64_t)(evs[off++] & 0x7f) << shift;
        assert_true(n_rec < 256 && len <= ev_len - off);
        rec[n_rec] = (const uint8_t *)evs + off;
        rec_len[n_rec++] = len;
        off += len;
    }
    assert_int_equal(n_rec, 110);
    assert_int_equal(t1071_restore(&old, (const uint8_t *)snap, snap_len), T1071_OK);
    for (size_t i = 0; i < n_rec; i++) {
        if (i >= 70)
            assert_int_equal(t1071_feed_event(old, rec[i], rec_len[i]), T1071_OK);
        assert_int_equal(t1071_feed_event(fresh, rec[i], rec_len[i]), T1071_OK);
    }
    collect(old, &a);
    collect(fresh, &b);
    for (size_t i = 0; i < b.n; i++) {
        const char *sp = strrchr(b.l[i], ' ');
        size_t h = sp ? strtoul(sp + 1, NULL, 10) : 0;
        if (h > max_hosts)
            max_hosts = h;
    }
    print_message("# old snapshot: %zu alerts after restore, up to %zu hosts counted\n", a.n,
                  max_hosts);
    assert_true(b.n > 0);
    assert_true(max_hosts >= 5); /* the restored table was in use */
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) /* in order */
        assert_string_equal(a.l[i], b.l[i]);
    lines_free(&a);
    lines_free(&b);
    t1071_free(old);
    t1071_free(fresh);
    free(evs);
    free(snap);
}

static int
teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_events; i++)
        free(events[i].buf);
    n_events = 0;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_sharded_equals_single),
        cmocka_unit_test(test_fleet_delayed_reordered_converge),
        cmocka_unit_test(test_fleet_snapshot_keeps_table_and_cursor),
        cmocka_unit_test(test_fleet_refusals),
        cmocka_unit_test(test_fleet_old_snapshot_restores),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
