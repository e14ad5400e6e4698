/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis checkpoint store (checkpoint.h, redis-store.c) against a real
 * redis-server: test-redis-store HOST:PORT PREFIX [PASSWORD_FILE], started by
 * test-redis.py.  TAP on stdout.
 *
 * put/get roundtrip of a real snapshot (and the context it restores goes on
 * with the same alerts); an absent checkpoint is 0; a record cut short, one
 * with a bad magic and one of another version are -1 at the store and
 * counted by t1071a_ckpt_load; a record whose framing is intact but whose
 * snapshot bytes were altered passes the store and is refused by
 * t1071_restore (-2, counted), which is the path the Kafka agent takes
 * before starting the partition from its committed offset; a store whose
 * Redis is gone says so (-1) and works again once it is back. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis-store.h"

static int n_test, n_fail;

static void __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
    va_list ap;

    n_test++;
    if (!cond)
        n_fail++;
    printf("%sok %d - ", cond ? "" : "not ", n_test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

#define EVENT \
    "{\"@timestamp\":\"2024-01-01T00:%02d:00.000Z\",\"event\":{\"category\":[\"network\"]," \
    "\"type\":[\"start\"]},\"network\":{\"direction\":\"egress\"}," \
    "\"destination\":{\"ip\":\"203.0.113.9\",\"port\":443}," \
    "\"process\":{\"entity_id\":\"E1\",\"name\":\"svc.exe\",\"executable\":\"C:\\\\svc.exe\"}," \
    "\"host\":{\"id\":\"H1\",\"name\":\"h1\"}}"

static void
feed_n(t1071_ctx *ctx, int from, int to)
{
    for (int i = from; i < to; i++) {
        char json[1024];
        snprintf(json, sizeof json, EVENT, i);
        t1071_feed_json(ctx, json, strlen(json));
    }
}

static size_t
alerts(t1071_ctx *ctx)
{
    t1071_alert_batch *b = NULL;
    size_t n;

    t1071_advance(ctx, INT64_MAX);
    t1071_poll_alerts(ctx, &b);
    n = t1071_alert_batch_count(b);
    t1071_alert_batch_free(b);
    return n;
}

/* SET a raw value under the checkpoint key of (g, t, p). */
static void
plant(redisContext *rc, const char *prefix, const char *key_tail, const void *v, size_t len)
{
    char key[512];
    redisReply *r;

    snprintf(key, sizeof key, "%s:ckpt:%s", prefix, key_tail);
    r = redisCommand(rc, "SET %s %b", key, v, len);
    if (r)
        freeReplyObject(r);
}

int
main(int argc, char **argv)
{
    struct t1071a_redis_opts o = {0};
    struct t1071a_rconn *conn = NULL, *raw_conn = NULL;
    struct t1071a_ckpt_store st;
    char err[600];
    t1071_ctx *ctx = NULL, *back = NULL;
    t1071_buffer *snap = NULL;
    void *got = NULL;
    size_t got_len = 0;
    int64_t off = -1;
    uint64_t refused = 0;
    bool auth_failed;
    redisContext *rc;
    uint8_t *rec;
    size_t snap_len;

    signal(SIGPIPE, SIG_IGN); /* as the agent: a dead Redis is an error, not a signal */
    if (argc < 3) {
        fprintf(stderr, "usage: test-redis-store HOST:PORT PREFIX [PASSWORD_FILE]\n");
        return 2;
    }
    o.addr = argv[1];
    o.prefix = argv[2];
    o.password_file = argc > 3 ? argv[3] : NULL;
    if (t1071a_rconn_new(&conn, &o, err, sizeof err) != 0 ||
        t1071a_rconn_connect(conn, &auth_failed, err, sizeof err) != 0) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    t1071a_ckpt_redis_init(&st, conn);

    /* a context with a partial sequence, so the snapshot carries state */
    t1071_init(&ctx, NULL);
    feed_n(ctx, 0, 6);
    t1071_snapshot(ctx, &snap);
    snap_len = t1071_buffer_size(snap);

    ok(st.ops->get(st.impl, "grp:a%", "events", 3, &got, &got_len, &off, err, sizeof err) == 0,
       "get of an absent checkpoint is 0");
    ok(st.ops->put(st.impl, "grp:a%", "events", 3, t1071_buffer_data(snap), snap_len, 1234, err,
                   sizeof err) == 0,
       "put of a real snapshot with offset 1234");
    ok(st.ops->get(st.impl, "grp:a%", "events", 3, &got, &got_len, &off, err, sizeof err) == 1 &&
           got_len == snap_len && off == 1234 && !memcmp(got, t1071_buffer_data(snap), snap_len),
       "get returns the same bytes and offset");
    free(got);
    got = NULL;
    ok(t1071a_ckpt_load(&st, "grp:a%", "events", 3, &back, &off, &refused, err, sizeof err) == 1 &&
           back && refused == 0,
       "t1071a_ckpt_load restores the context");
    if (back) {
        feed_n(ctx, 6, 12);
        feed_n(back, 6, 12);
        size_t a = alerts(ctx), b = alerts(back);
        ok(a > 0 && a == b, "the restored context goes on with the same alerts");
        t1071_free(back);
        back = NULL;
    } else {
        ok(0, "the restored context goes on with the same alerts");
    }

    /* raw access to plant bad records; the group's ':' and '%' are escaped */
    rc = redisConnect("127.0.0.1", atoi(strrchr(argv[1], ':') + 1));
    if (o.password_file) {
        FILE *f = fopen(o.password_file, "r");
        char pw[256] = "";
        if (f && fgets(pw, sizeof pw, f))
            pw[strcspn(pw, "\r\n")] = '\0';
        if (f)
            fclose(f);
        freeReplyObject(redisCommand(rc, "AUTH %s", pw));
    }
    {
        redisReply *r = redisCommand(rc, "EXISTS %s:ckpt:grp%%3Aa%%25:events:3", argv[2]);
        ok(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1,
           "the key is <prefix>:ckpt:<group escaped>:<topic>:<partition>");
        if (r)
            freeReplyObject(r);
    }
    rec = malloc(32 + snap_len);
    memcpy(rec, "T1071CKR", 8);
    memset(rec + 8, 0, 24);
    rec[8] = 1;
    rec[16] = 7; /* offset 7 */
    for (int i = 0; i < 8; i++)
        rec[24 + i] = (uint8_t)((uint64_t)snap_len >> (8 * i));
    memcpy(rec + 32, t1071_buffer_data(snap), snap_len);

    plant(rc, argv[2], "g:t:0", rec, 32 + snap_len / 2); /* cut short */
    ok(st.ops->get(st.impl, "g", "t", 0, &got, &got_len, &off, err, sizeof err) == -1 &&
           strstr(err, "truncated"),
       "a truncated record is -1 at the store");
    ok(t1071a_ckpt_load(&st, "g", "t", 0, &back, &off, &refused, err, sizeof err) == -1 &&
           !back && refused == 1,
       "... and t1071a_ckpt_load counts it (refused 1)");

    plant(rc, argv[2], "g:t:1", "not a checkpoint at all, just junk bytes", 40);
    ok(st.ops->get(st.impl, "g", "t", 1, &got, &got_len, &off, err, sizeof err) == -1 &&
           strstr(err, "magic"),
       "a record with a bad magic is -1");
    rec[8] = 2;
    plant(rc, argv[2], "g:t:2", rec, 32 + snap_len);
    ok(st.ops->get(st.impl, "g", "t", 2, &got, &got_len, &off, err, sizeof err) == -1 &&
           strstr(err, "version"),
       "a record of another version is -1");
    rec[8] = 1;

    rec[32 + snap_len / 2] ^= 0x40; /* framing intact, snapshot altered */
    plant(rc, argv[2], "g:t:3", rec, 32 + snap_len);
    ok(st.ops->get(st.impl, "g", "t", 3, &got, &got_len, &off, err, sizeof err) == 1 && off == 7,
       "a corrupted snapshot in a well-framed record passes the store");
    free(got);
    got = NULL;
    ok(t1071a_ckpt_load(&st, "g", "t", 3, &back, &off, &refused, err, sizeof err) == -2 &&
           !back && refused == 2 && strstr(err, "refused by t1071_restore"),
       "... and is refused by t1071_restore and counted (refused 2)");
    printf("# %s\n", err);

    /* the store without its Redis */
    {
        struct t1071a_redis_opts bad = o;
        struct t1071a_ckpt_store st2;
        bad.addr = "127.0.0.1:1";
        bad.password_file = NULL;
        t1071a_rconn_new(&raw_conn, &bad, err, sizeof err);
        t1071a_ckpt_redis_init(&st2, raw_conn);
        ok(st2.ops->put(st2.impl, "g", "t", 9, "x", 1, 1, err, sizeof err) == -1 && err[0],
           "put without a reachable Redis is -1 with a reason");
        printf("# %s\n", err);
        st2.ops->close(st2.impl);
    }

    /* The prevalence module on its own: A pushes, B pulls; metrics text. */
    {
        t1071_config *cfg;
        t1071_ctx *a = NULL, *b = NULL;
        struct t1071a_rconn *ca = NULL, *cb = NULL;
        struct t1071a_redis *ra = NULL, *rb = NULL;
        struct t1071a_redis_stats sa, sb;
        struct t1071a_redis_opts po = o;
        t1071_buffer *d = NULL;
        uint64_t cur;
        GString *m = g_string_new(NULL);
        char pfx[300];

        snprintf(pfx, sizeof pfx, "%s-prev", argv[2]);
        po.prefix = pfx;
        t1071_config_new(&cfg);
        t1071_config_set(cfg, "tuning.prevalence_hosts", "5");
        t1071_config_set(cfg, "tuning.fleet_key", "unit-key");
        t1071_init(&a, cfg);
        t1071_init(&b, cfg);
        t1071_config_free(cfg);
        t1071a_rconn_new(&ca, &po, err, sizeof err);
        t1071a_rconn_new(&cb, &po, err, sizeof err);
        ok(t1071a_redis_new(&ra, ca, a, "a\"b", 86400000, err, sizeof err) == 0 &&
               t1071a_redis_new(&rb, cb, b, "b", 86400000, err, sizeof err) == 0,
           "prevalence handles on contexts with a fleet key");
        feed_n(a, 0, 3);
        ok(t1071a_redis_sync(ra) == 0 && t1071a_redis_sync(rb) == 0, "A pushes, B pulls");
        t1071_prevalence_export(b, 0, &d, &cur);
        ok(d && t1071_buffer_size(d) > 88 && t1071_buffer_data(d)[80] == 1,
           "B's table now holds A's entry");
        t1071_buffer_free(d);
        t1071a_redis_stats(ra, &sa);
        t1071a_redis_stats(rb, &sb);
        ok(sa.pushes == 1 && sb.pulls == 1 && !sa.degraded && !sb.degraded && sb.entries_pulled == 1,
           "stats: pushes, pulls, not degraded");
        t1071a_redis_metrics(ra, m);
        ok(strstr(m->str, "t1071_agent_redis_pushes_total{context=\"a\\\"b\"} 1\n") &&
               strstr(m->str, "# TYPE t1071_agent_redis_degraded gauge\n") &&
               strstr(m->str, "t1071_agent_redis_degraded{context=\"a\\\"b\"} 0\n"),
           "Prometheus text with an escaped label");
        g_string_free(m, TRUE);
        /* a malformed host planted in the entry is skipped on the way back */
        {
            redisReply *k = redisCommand(rc, "KEYS %s:prev:*:e:*", pfx);
            if (k && k->type == REDIS_REPLY_ARRAY && k->elements == 1) {
                freeReplyObject(redisCommand(rc, "ZADD %s 1704067200000 not-a-host-hash", k->element[0]->str));
                char idx[400];
                snprintf(idx, sizeof idx, "%s:prev:%.16s:idx", pfx, k->element[0]->str + strlen(pfx) + 6);
                freeReplyObject(redisCommand(rc, "ZADD %s 999 %s", idx,
                                             k->element[0]->str + strlen(pfx) + 6 + 19));
            }
            if (k)
                freeReplyObject(k);
        }
        ok(t1071a_redis_pull(rb) == 0, "a pull over a malformed member still merges the rest");
        t1071a_redis_stats(rb, &sb);
        ok(sb.merge_refused == 0 && sb.entries_pulled == 2 && sb.pulls == 2,
           "... and the library accepts the rebuilt delta (the planted member was read)");
        /* A table larger than one push chunk (512 entries) goes whole. */
        for (int i = 0; i < 700; i++) {
            char json[1024];
            snprintf(json, sizeof json,
                     "{\"@timestamp\":\"2024-01-01T01:00:00.000Z\",\"event\":{\"category\":"
                     "[\"network\"],\"type\":[\"start\"]},\"network\":{\"direction\":\"egress\"},"
                     "\"destination\":{\"ip\":\"198.51.%d.%d\",\"port\":443},\"process\":"
                     "{\"entity_id\":\"E%d\",\"name\":\"x.exe\",\"executable\":\"C:\\\\x.exe\"},"
                     "\"host\":{\"id\":\"H2\"}}", 100 + i / 250, i % 250, i);
            t1071_feed_json(a, json, strlen(json));
        }
        ok(t1071a_redis_sync(ra) == 0 && t1071a_redis_sync(rb) == 0, "a 700-entry push and pull");
        t1071a_redis_stats(rb, &sb);
        t1071_prevalence_export(b, 0, &d, &cur);
        ok(d && (t1071_buffer_data(d)[80] | t1071_buffer_data(d)[81] << 8) == 701 &&
               sb.entries_pulled >= 702,
           "B holds all 701 entries (pulled %" PRIu64 ")", sb.entries_pulled);
        t1071_buffer_free(d);
        d = NULL;

        /* Redis loses its data (restarted without persistence: FLUSHALL
         * here).  A has nothing new, yet its next exchanges see the new
         * epoch and push its whole table again. */
        freeReplyObject(redisCommand(rc, "FLUSHALL"));
        t1071a_redis_sync(ra);
        t1071a_redis_sync(ra);
        t1071a_redis_stats(ra, &sa);
        {
            redisReply *k = redisCommand(rc, "KEYS %s:prev:*:e:*", pfx);
            ok(k && k->type == REDIS_REPLY_ARRAY && k->elements == 701 && sa.resets >= 1 &&
                   sa.pushes == 3,
               "after Redis lost its data, A pushes its whole table again (resets %" PRIu64
               ", pushes %" PRIu64 ")", sa.resets, sa.pushes);
            if (k)
                freeReplyObject(k);
        }
        t1071a_redis_free(ra);
        t1071a_redis_free(rb);
        t1071a_rconn_free(ca);
        t1071a_rconn_free(cb);
        t1071_free(a);
        t1071_free(b);
    }

    free(rec);
    redisFree(rc);
    t1071_buffer_free(snap);
    t1071_free(ctx);
    st.ops->close(st.impl);
    printf("1..%d\n", n_test);
    return n_fail ? 1 : 0;
}
