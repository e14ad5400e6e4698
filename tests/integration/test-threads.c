/* SPDX-License-Identifier: Apache-2.0 */
/* Threads (the header's contract: one context per thread, no global
 * state): 8 threads, each creating its own config and context and feeding
 * its own deterministic stream (half as protobuf, half as ECS JSON), give
 * exactly the alerts and counters of the same streams run one after
 * another; the last batch of each thread is read and freed by another
 * thread.  The shard helper keeps every host on one shard, and one stream
 * sharded over 8 contexts on 8 threads finds the alerts one context finds.
 *
 * Run under TSan by .ci/test-sanitizers (tests/tsan.supp holds glib's
 * internals only).  Worker threads never call cmocka: they record, the
 * main thread asserts. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "testutil.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define NTHREADS 8
#define NEVENTS 2500
#define NHOSTS 4
#define NPROCS 3

/* ===== Deterministic streams ===== */

struct event {
    uint8_t *pb;  /* packed Event */
    size_t pb_len;
    char *json;   /* the same event as ECS JSON */
    size_t json_len;
    char host[32];
};

struct stream {
    struct event *ev;
    size_t n;
};

/* Stream @p s: NHOSTS hosts with NPROCS processes each, every host's clock
 * moving 5 s to 3 min per event with occasional 30 s reordering (within
 * engine.lateness), a tenth of the events outside the rule. */
static void
gen_stream(struct stream *st, int s)
{
    uint64_t r = UINT64_C(0x7431303731) + (uint64_t)s * 7919;
    int64_t clock[NHOSTS];

    for (int h = 0; h < NHOSTS; h++)
        clock[h] = T0 + (int64_t)s * 3600000 + h * 1000;
    st->ev = calloc(NEVENTS, sizeof(*st->ev));
    assert_non_null(st->ev);
    st->n = NEVENTS;
    for (size_t i = 0; i < NEVENTS; i++) {
        struct event *e = &st->ev[i];
        tu_event ev = T1071__ECS__V1__EVENT__INIT;
        int h = (int)tu_below(&r, NHOSTS), p = (int)tu_below(&r, NPROCS);
        bool miss = tu_chance(&r, 10);
        int64_t port = miss ? 22 : (tu_chance(&r, 50) ? 443 : 80);
        int64_t ts;
        char id[48], key[48], ip[32];
        char *cat[] = {(char *)"network"}, *type[] = {(char *)"connection"};
        char *dir[] = {(char *)"egress"}, *ips[] = {ip}, *keys[] = {key};
        char *names[] = {(char *)"beacon.exe"};
        struct tu_buf js = {0};

        clock[h] += 5000 + (int64_t)tu_below(&r, 175000);
        ts = clock[h] - (tu_chance(&r, 15) ? 30000 : 0);
        snprintf(e->host, sizeof(e->host), "s%d-host%d", s, h);
        snprintf(id, sizeof(id), "s%d-e%zu", s, i);
        snprintf(key, sizeof(key), "s%d-h%d-proc%d", s, h, p);
        snprintf(ip, sizeof(ip), "198.51.100.%d", 1 + (int)tu_below(&r, 3));

        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = ts;
        ev.event_id = id;
        ev.event_category = cat;
        ev.n_event_category = 1;
        ev.event_type = type;
        ev.n_event_type = 1;
        ev.network_direction = dir;
        ev.n_network_direction = 1;
        ev.destination_ip = ips;
        ev.n_destination_ip = 1;
        ev.destination_port = &port;
        ev.n_destination_port = 1;
        ev.process_entity_id = keys;
        ev.n_process_entity_id = 1;
        ev.process_name = names;
        ev.n_process_name = 1;
        ev.host_id = e->host;
        e->pb = tu_pack_event(&ev, &e->pb_len);

        {
            char when[40];
            int64_t sec = ts / 1000;
            struct tm tm;
            time_t tt = (time_t)sec;
            gmtime_r(&tt, &tm);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
            tu_buf_printf(&js,
                          "{\"@timestamp\":\"%s.%03dZ\",\"event\":{\"id\":\"%s\","
                          "\"category\":[\"network\"],\"type\":[\"connection\"]},"
                          "\"network\":{\"direction\":\"egress\"},\"destination\":"
                          "{\"ip\":\"%s\",\"port\":%" PRId64 "},\"process\":{\"entity_id\":"
                          "\"%s\",\"name\":\"beacon.exe\"},\"host\":{\"id\":\"%s\"}}",
                          when, (int)(ts % 1000), id, ip, port, key, e->host);
        }
        e->json = js.data;
        e->json_len = js.len;
    }
}

static void
stream_free(struct stream *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->ev[i].pb);
        free(st->ev[i].json);
    }
    free(st->ev);
}

/* ===== One run (no cmocka: it runs on worker threads) ===== */

struct run {
    const struct event *ev; /* the events */
    size_t n;
    const size_t *idx;  /* events to feed, by index into ev; NULL = all */
    size_t n_idx;
    bool json;          /* feed as ECS JSON instead of protobuf */
    /* results */
    const char *error;  /* first failure, or NULL */
    uint8_t *alerts;    /* every alert's bytes, each after a 4-byte length */
    size_t alerts_len, alerts_cap, n_alerts;
    uint64_t stats[64];
    int n_stats;
    t1071_alert_batch *last; /* the final poll, handed to another thread */
};

static bool
run_append(struct run *r, const uint8_t *data, size_t len)
{
    if (r->alerts_len + len + 4 > r->alerts_cap) {
        size_t nc = r->alerts_cap ? r->alerts_cap * 2 : 65536;
        uint8_t *na;
        while (nc < r->alerts_len + len + 4)
            nc *= 2;
        na = realloc(r->alerts, nc);
        if (!na)
            return false;
        r->alerts = na;
        r->alerts_cap = nc;
    }
    for (int i = 0; i < 4; i++)
        r->alerts[r->alerts_len++] = (uint8_t)(len >> (8 * i));
    memcpy(r->alerts + r->alerts_len, data, len);
    r->alerts_len += len;
    r->n_alerts++;
    return true;
}

static bool
run_batch(struct run *r, t1071_alert_batch *b)
{
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *data;
        const char *json;
        size_t len, jlen;
        if (t1071_alert_batch_get(b, i, &data, &len) != T1071_OK || !run_append(r, data, len))
            return false;
        if (t1071_alert_batch_get_json(b, i, &json, &jlen) != T1071_OK || strlen(json) != jlen)
            return false;
    }
    return true;
}

static bool
run_poll(struct run *r, t1071_ctx *ctx)
{
    t1071_alert_batch *b = NULL;
    bool ok = t1071_poll_alerts(ctx, &b) == T1071_OK && run_batch(r, b);

    t1071_alert_batch_free(b);
    return ok;
}

static void *
run_stream(void *arg)
{
    struct run *r = arg;
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    size_t n = r->idx ? r->n_idx : r->n;
    int rc;

    r->error = "config";
    if (t1071_config_new(&cfg) != T1071_OK || t1071_config_set(cfg, "rule.runs", "4") ||
        t1071_config_set(cfg, "rule.maxspan", "1h") ||
        t1071_config_set(cfg, "engine.lateness", "2m") ||
        t1071_config_set(cfg, "engine.alert_queue", "16"))
        goto out;
    r->error = "init";
    if (t1071_init(&ctx, cfg) != T1071_OK)
        goto out;
    t1071_config_free(cfg);
    cfg = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct event *e = &r->ev[r->idx ? r->idx[i] : i];
        for (;;) {
            rc = r->json ? t1071_feed_json(ctx, e->json, e->json_len)
                         : t1071_feed_event(ctx, e->pb, e->pb_len);
            if (rc != T1071_E_QUEUE_FULL)
                break;
            r->error = "poll";
            if (!run_poll(r, ctx))
                goto out;
        }
        r->error = "feed";
        if (rc != T1071_OK)
            goto out;
    }
    while ((rc = t1071_advance(ctx, INT64_MAX)) == T1071_E_QUEUE_FULL) {
        r->error = "poll";
        if (!run_poll(r, ctx))
            goto out;
    }
    r->error = "advance";
    if (rc != T1071_OK)
        goto out;
    r->error = "stats";
    for (r->n_stats = 0; t1071_stat_name(r->n_stats) && r->n_stats < 64; r->n_stats++)
        if (t1071_stats_get(ctx, r->n_stats, &r->stats[r->n_stats]) != T1071_OK)
            goto out;
    r->error = "last poll";
    if (t1071_poll_alerts(ctx, &r->last) != T1071_OK)
        goto out;
    r->error = NULL;
out:
    t1071_config_free(cfg);
    t1071_free(ctx); /* the batch in r->last outlives its context */
    return NULL;
}

/* Read and free the batch a worker left (on this, another, thread). */
static void
run_finish(struct run *r)
{
    assert_null(r->error);
    assert_true(run_batch(r, r->last));
    t1071_alert_batch_free(r->last);
    r->last = NULL;
}

static void
run_free(struct run *r)
{
    free(r->alerts);
    memset(r, 0, sizeof(*r));
}

static void
run_threads(struct run *runs, int n)
{
    pthread_t th[NTHREADS];

    assert_true(n <= NTHREADS);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_stream, &runs[i]), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < n; i++)
        run_finish(&runs[i]);
}

/* ===== Tests ===== */

static struct stream streams[NTHREADS];

static int
setup(void **state)
{
    (void)state;
    for (int s = 0; s < NTHREADS; s++)
        gen_stream(&streams[s], s);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    for (int s = 0; s < NTHREADS; s++)
        stream_free(&streams[s]);
    return 0;
}

static void
test_threads_eight_contexts_equal_sequential_runs(void **state)
{
    struct run par[NTHREADS], seq[NTHREADS];
    size_t total = 0;

    (void)state;
    memset(par, 0, sizeof(par));
    memset(seq, 0, sizeof(seq));
    for (int i = 0; i < NTHREADS; i++) {
        par[i].ev = seq[i].ev = streams[i].ev;
        par[i].n = seq[i].n = streams[i].n;
        par[i].json = seq[i].json = i % 2 == 1;
    }
    run_threads(par, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        run_stream(&seq[i]);
        run_finish(&seq[i]);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_true(seq[i].n_alerts > 0);
        assert_int_equal(par[i].n_alerts, seq[i].n_alerts);
        assert_int_equal(par[i].alerts_len, seq[i].alerts_len);
        assert_memory_equal(par[i].alerts, seq[i].alerts, seq[i].alerts_len);
        assert_int_equal(par[i].n_stats, seq[i].n_stats);
        for (int s = 0; s < seq[i].n_stats; s++)
            if (par[i].stats[s] != seq[i].stats[s])
                fail_msg("stream %d: %s is %" PRIu64 " on a thread, %" PRIu64 " alone", i,
                         t1071_stat_name(s), par[i].stats[s], seq[i].stats[s]);
        total += seq[i].n_alerts;
        run_free(&par[i]);
        run_free(&seq[i]);
    }
    assert_true(total > 100);
}

static void
test_event_shard_keeps_each_host_on_one_shard(void **state)
{
    static const uint32_t nshards[] = {1, 2, 3, 8, 13, 64};

    (void)state;
    for (size_t k = 0; k < sizeof(nshards) / sizeof(nshards[0]); k++) {
        for (int s = 0; s < NTHREADS; s++) {
            uint32_t first[NHOSTS];
            bool seen[NHOSTS] = {false};
            for (size_t i = 0; i < streams[s].n; i++) {
                const struct event *e = &streams[s].ev[i];
                int h = e->host[strlen(e->host) - 1] - '0';
                uint32_t shard = UINT32_MAX;
                assert_int_equal(t1071_event_shard(e->pb, e->pb_len, nshards[k], &shard),
                                 T1071_OK);
                assert_true(shard < nshards[k]);
                if (!seen[h]) {
                    seen[h] = true;
                    first[h] = shard;
                }
                assert_int_equal(shard, first[h]);
            }
        }
    }
}

static int
cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decoded alerts as sorted "key ids" lines: the sequences found, without
 * the per-context alert numbers. */
static char *
alert_lines(const struct run *runs, int n)
{
    struct tu_buf out = {0};
    char **lines = NULL;
    size_t nl = 0;

    for (int i = 0; i < n; i++) {
        size_t off = 0;
        while (off < runs[i].alerts_len) {
            size_t len = 0;
            struct tu_alert_text t;
            struct tu_buf l = {0};
            for (int b = 0; b < 4; b++)
                len |= (size_t)runs[i].alerts[off + b] << (8 * b);
            off += 4;
            assert_true(tu_alert_text(runs[i].alerts + off, len, &t));
            off += len;
            tu_buf_printf(&l, "%s %s", t.key, t.ids);
            free(t.key);
            free(t.ids);
            free(t.group_id);
            lines = realloc(lines, (nl + 1) * sizeof(*lines));
            assert_non_null(lines);
            lines[nl++] = l.data;
        }
    }
    qsort(lines, nl, sizeof(*lines), cmp_lines);
    for (size_t i = 0; i < nl; i++) {
        tu_buf_puts(&out, lines[i]);
        tu_buf_puts(&out, "\n");
        free(lines[i]);
    }
    free(lines);
    return (char *)tu_buf_str(&out);
}

static void
test_threads_sharded_stream_finds_single_context_alerts(void **state)
{
    size_t n = 0, *idx[NTHREADS], nidx[NTHREADS] = {0};
    struct event *flat = calloc(NTHREADS * NEVENTS, sizeof(*flat));
    struct run sharded[NTHREADS], single;
    char *a, *b;

    (void)state;
    assert_non_null(flat);
    memset(sharded, 0, sizeof(sharded));
    memset(&single, 0, sizeof(single));
    /* One stream: the eight interleaved, each host's order kept (events
     * copied by reference: the streams own the bytes). */
    for (size_t i = 0; i < NEVENTS; i++)
        for (int s = 0; s < NTHREADS; s++)
            flat[n++] = streams[s].ev[i];
    for (int t = 0; t < NTHREADS; t++) {
        idx[t] = calloc(n, sizeof(**idx));
        assert_non_null(idx[t]);
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t shard = UINT32_MAX;
        assert_int_equal(t1071_event_shard(flat[i].pb, flat[i].pb_len, NTHREADS, &shard),
                         T1071_OK);
        assert_true(shard < NTHREADS);
        idx[shard][nidx[shard]++] = i;
    }
    for (int t = 0; t < NTHREADS; t++) {
        sharded[t].ev = flat;
        sharded[t].n = n;
        sharded[t].idx = idx[t];
        sharded[t].n_idx = nidx[t];
        sharded[t].json = t % 2 == 0;
    }
    single.ev = flat;
    single.n = n;
    run_threads(sharded, NTHREADS);
    run_stream(&single);
    run_finish(&single);
    a = alert_lines(sharded, NTHREADS);
    b = alert_lines(&single, 1);
    assert_true(single.n_alerts > 100);
    assert_string_equal(a, b);
    free(a);
    free(b);
    for (int t = 0; t < NTHREADS; t++) {
        free(idx[t]);
        run_free(&sharded[t]);
    }
    run_free(&single);
    free(flat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_eight_contexts_equal_sequential_runs),
        cmocka_unit_test(test_event_shard_keeps_each_host_on_one_shard),
        cmocka_unit_test(test_threads_sharded_stream_finds_single_context_alerts),
    };
    return cmocka_run_group_tests_name("threads", tests, setup, teardown);
}
