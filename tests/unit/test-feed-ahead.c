/* SPDX-License-Identifier: Apache-2.0 */
/* t1071_feed_batch must be exactly feeding its records one by one with
 * t1071_feed_event (a guard for any batch-level shortcut, such as decoding
 * the next record ahead, tried in branch perf-feed).  Random streams with
 * malformed, oversized and cut records, multi-valued and missing keys and
 * hosts, random batch sizes and a small alert queue (E_QUEUE_FULL
 * mid-batch), for several configurations; alert bytes and every counter
 * compared. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t
put_varint(uint8_t *w, uint64_t v)
{
    size_t n = 0;
    do {
        w[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            w[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* One length-delimited record at @p out: mostly events, some garbage. */
static size_t
record(uint8_t *out, uint64_t *s, uint32_t i)
{
    T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
    char id[32], ent[3][32], host[16], hid[16], ip[32], pad[600];
    char *cat = (char *)"network", *type = (char *)"connection", *dir = (char *)"egress";
    char *ipv = ip, *entv[3] = {ent[0], ent[1], ent[2]}, *name = (char *)"implant.exe";
    int64_t port = rnd(s) % 4 ? 443 : 22;
    static uint8_t buf[2048];
    uint32_t k = (uint32_t)(rnd(s) % 60);
    size_t n, np;

    if (rnd(s) % 40 == 0) {
        /* garbage (usually malformed protobuf) */
        n = rnd(s) % 40;
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)rnd(s);
        np = put_varint(out, n);
        memcpy(out + np, buf, n);
        return np + n;
    }
    snprintf(id, sizeof(id), "e%u", i);
    for (int j = 0; j < 3; j++)
        snprintf(ent[j], sizeof(ent[j]), "ent-%u", (k + (uint32_t)j * 7) % 60);
    snprintf(host, sizeof(host), "h%u", k % 9);
    snprintf(hid, sizeof(hid), "id%u", k % 5);
    snprintf(ip, sizeof(ip), rnd(s) % 5 ? "203.0.113.%u" : "10.0.0.%u", k % 250);
    ev.has_timestamp_ms = rnd(s) % 50 != 0;
    ev.timestamp_ms = INT64_C(1700000000000) + (int64_t)i * 700 + (int64_t)(rnd(s) % 5000) -
                      (rnd(s) % 30 == 0 ? 600000 : 0);
    if (rnd(s) % 8)
        ev.event_id = id;
    ev.n_event_category = 1;
    ev.event_category = &cat;
    ev.n_event_type = 1;
    ev.event_type = &type;
    ev.n_network_direction = 1;
    ev.network_direction = &dir;
    ev.n_destination_ip = 1;
    ev.destination_ip = &ipv;
    ev.n_destination_port = 1;
    ev.destination_port = &port;
    ev.n_process_entity_id = rnd(s) % 10 ? 1 : rnd(s) % 4;
    ev.process_entity_id = entv;
    ev.n_process_name = 1;
    ev.process_name = &name;
    if (rnd(s) % 6)
        ev.host_name = host;
    if (rnd(s) % 3)
        ev.host_id = hid;
    if (rnd(s) % 30 == 0) {
        /* over engine.max_event_bytes (set to 400 below) */
        memset(pad, 'x', sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = '\0';
        ev.process_executable = pad;
    }
    n = t1071__ecs__v1__event__pack(&ev, buf);
    np = put_varint(out, n);
    memcpy(out + np, buf, n);
    return np + n;
}

struct out {
    uint8_t *bytes;
    size_t len, cap;
    uint64_t alerts;
};

static void
drain(t1071_ctx *ctx, struct out *o)
{
    t1071_alert_batch *b = NULL;

    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *d;
        size_t n;
        assert_int_equal(t1071_alert_batch_get(b, i, &d, &n), T1071_OK);
        if (o->len + n + 8 > o->cap) {
            o->cap = (o->len + n + 8) * 2;
            o->bytes = realloc(o->bytes, o->cap);
            assert_non_null(o->bytes);
        }
        memcpy(o->bytes + o->len, &n, sizeof(n));
        memcpy(o->bytes + o->len + sizeof(n), d, n);
        o->len += sizeof(n) + n;
        o->alerts++;
    }
    t1071_alert_batch_free(b);
}

static t1071_ctx *
make(const char *const *set)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.hash_seed", "77"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.alert_queue", "5"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.max_event_bytes", "400"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "4"), T1071_OK);
    for (size_t i = 0; set[i]; i += 2)
        assert_int_equal(t1071_config_set(cfg, set[i], set[i + 1]), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    return ctx;
}

static uint64_t total_alerts;

static void
compare(const char *const *set, uint64_t seed)
{
    enum { RECORDS = 6000 };
    static uint8_t stream[RECORDS * 1024];
    size_t len = 0, off;
    uint64_t s = seed;
    struct out a = {0}, b = {0};
    t1071_ctx *ca = make(set), *cb = make(set);
    int last_a = T1071_OK, last_b = T1071_OK;

    for (uint32_t i = 0; i < RECORDS; i++)
        len += record(stream + len, &s, i);
    /* a record cut short at the end */
    len += put_varint(stream + len, 90);
    stream[len++] = 0x0a;

    /* A: batches of random sizes; after E_QUEUE_FULL drain and go on. */
    for (off = 0; off < len;) {
        size_t want = 1 + rnd(&s) % 3000, consumed = 0;
        if (want > len - off)
            want = len - off;
        bool to_end = off + want == len;
        int rc = t1071_feed_batch(ca, stream + off, want, &consumed);
        off += consumed;
        if (rc == T1071_E_QUEUE_FULL) {
            drain(ca, &a);
            continue;
        }
        if (rc == T1071_E_TRUNCATED) {
            last_a = rc;
            if (to_end)
                break; /* the cut record at the end */
            /* the batch ended inside a record: feed it with more */
            continue;
        }
        if (rc == T1071_E_NOMEM)
            continue; /* engine.memory_limit: that record was consumed */
        assert_int_equal(rc, T1071_OK);
        if (consumed == 0)
            break;
    }
    drain(ca, &a);

    /* B: one record at a time. */
    for (off = 0; off < len;) {
        uint64_t rl = 0;
        size_t np = 0;
        int shift = 0;
        while (off + np < len) {
            uint8_t c = stream[off + np++];
            rl |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (!(c & 0x80))
                break;
        }
        if (rl > len - off - np) {
            last_b = T1071_E_TRUNCATED;
            break;
        }
        int rc = t1071_feed_event(cb, stream + off + np, (size_t)rl);
        if (rc == T1071_E_QUEUE_FULL) {
            drain(cb, &b);
            continue;
        }
        off += np + (size_t)rl;
    }
    drain(cb, &b);
    (void)last_a;
    (void)last_b;

    total_alerts += a.alerts;
    assert_int_equal(a.alerts, b.alerts);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.bytes, b.bytes, a.len);
    for (int id = 0; id < T1071I_STAT_COUNT; id++) {
        uint64_t va = 0, vb = 0;
        /* truncation and queue-full counters follow how each was fed */
        if (id == T1071_STAT_ERR_TRUNCATED || id == T1071_STAT_QUEUE_FULL ||
            id == T1071_STAT_ALERTS_POLLED)
            continue;
        t1071_stats_get(ca, id, &va);
        t1071_stats_get(cb, id, &vb);
        if (va != vb)
            fprintf(stderr, "counter %d: batch %" PRIu64 ", one by one %" PRIu64 "\n", id, va,
                    vb);
        assert_int_equal(va, vb);
    }
    free(a.bytes);
    free(b.bytes);
    t1071_free(ca);
    t1071_free(cb);
}

static void
test_feed_ahead_equals_one_by_one(void **state)
{
    static const char *const bare[] = {"beacon.enabled", "false", NULL};
    static const char *const host_key[] = {"beacon.enabled", "false", "rule.key", "host.name",
                                           NULL};
    static const char *const compound[] = {"beacon.enabled", "false", "rule.key",
                                           "host.id,process.name", NULL};
    static const char *const scoring[] = {NULL};
    static const char *const derive[] = {"beacon.enabled", "false", "rule.derive", "true", NULL};
    static const char *const tight[] = {"beacon.enabled", "false", "engine.memory_limit", "40000",
                                        NULL};
    const char *const *sets[] = {bare, host_key, compound, scoring, derive, tight};

    (void)state;
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        for (uint64_t seed = 1; seed <= 3; seed++)
            compare(sets[i], seed * 1000 + i);
    assert_true(total_alerts > 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_ahead_equals_one_by_one),
    };
    return cmocka_run_group_tests_name("feed-ahead", tests, NULL, NULL);
}
