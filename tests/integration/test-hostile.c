/* SPDX-License-Identifier: Apache-2.0 */
/* Hostile input: more than 10,000 random, truncated, bit-flipped and
 * mutated buffers and crafted huge varint lengths go to t1071_feed_event,
 * t1071_feed_batch, t1071_event_shard (and JSON to t1071_feed_json).  Only
 * documented statuses come back, nothing crashes, the counters add up, and
 * a valid beacon fed afterwards still alerts.  Oversized input gives
 * T1071_E_TOO_LARGE. */
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

#define T0 INT64_C(1704067200000)
#define N_VALID 32

struct blob {
    uint8_t *data;
    size_t len;
};

struct corpus {
    size_t n, cap;
    struct blob *b;
};

static void
corpus_add(struct corpus *c, const void *data, size_t len)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->b = realloc(c->b, c->cap * sizeof(*c->b));
        assert_non_null(c->b);
    }
    c->b[c->n].data = malloc(len ? len : 1);
    assert_non_null(c->b[c->n].data);
    if (len)
        memcpy(c->b[c->n].data, data, len);
    c->b[c->n].len = len;
    c->n++;
}

static void
corpus_free(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->b[i].data);
    free(c->b);
    memset(c, 0, sizeof(*c));
}

/* A valid event using every field, with random values. */
static uint8_t *
gen_valid(uint64_t *r, int i, size_t *len)
{
    static const char *const hosts[] = {"hA", "hB", "hC", "hD"};
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char id[32], key[32], key2[32];
    char *cat[] = {(char *)"network", (char *)"host"};
    char *type[] = {(char *)"connection", (char *)"start", (char *)"end"};
    char *dir[] = {(char *)"egress"};
    char *sip[] = {(char *)"10.0.0.5"};
    char *dip[] = {(char *)"8.8.8.8", (char *)"2001:db8::1"};
    int64_t dport[] = {443, 8080};
    char *keys[] = {key, key2};
    char *name[] = {(char *)"beacon.exe"};

    snprintf(id, sizeof(id), "valid-%d", i);
    snprintf(key, sizeof(key), "K%d", (int)tu_below(r, 4));
    snprintf(key2, sizeof(key2), "K%d", (int)tu_below(r, 4));
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = T0 + (int64_t)tu_below(r, 3600000);
    ev.event_id = id;
    ev.event_kind = (char *)"event";
    ev.event_category = cat;
    ev.n_event_category = 1 + tu_below(r, 2);
    ev.event_type = type;
    ev.n_event_type = 1 + tu_below(r, 3);
    ev.event_action = (char *)"connection_attempted";
    ev.event_dataset = (char *)"endpoint.events.network";
    ev.event_module = (char *)"endpoint";
    ev.network_direction = dir;
    ev.n_network_direction = 1;
    ev.network_transport = (char *)"tcp";
    ev.network_protocol = (char *)"http";
    ev.network_community_id = (char *)"1:abcdefghijklmnopqrstuvwxyz0=";
    ev.source_ip = sip;
    ev.n_source_ip = 1;
    ev.has_source_port = 1;
    ev.source_port = 49152 + (int64_t)tu_below(r, 10000);
    ev.has_source_bytes = 1;
    ev.source_bytes = (int64_t)tu_below(r, 100000);
    ev.destination_ip = dip;
    ev.n_destination_ip = 1 + tu_below(r, 2);
    ev.destination_port = dport;
    ev.n_destination_port = 1 + tu_below(r, 2);
    ev.destination_domain = (char *)"c2.example.com";
    ev.has_destination_bytes = 1;
    ev.destination_bytes = -1;
    ev.process_entity_id = keys;
    ev.n_process_entity_id = tu_below(r, 3);
    ev.has_process_pid = 1;
    ev.process_pid = 4242;
    ev.process_name = name;
    ev.n_process_name = 1;
    ev.process_executable = (char *)"C:\\Users\\x\\AppData\\Local\\Temp\\beacon.exe";
    ev.has_process_start_ms = 1;
    ev.process_start_ms = T0 - 1000;
    ev.host_id = (char *)hosts[tu_below(r, 4)];
    ev.host_name = (char *)"workstation";
    ev.user_name = (char *)"alice";
    ev.url_full = (char *)"https://c2.example.com/pixel.gif?x=1";
    ev.url_path = (char *)"/pixel.gif";
    ev.user_agent_original = (char *)"Mozilla/5.0 (compatible; MSIE 9.0)";
    ev.tls_client_server_name = (char *)"c2.example.com";
    ev.agent_type = (char *)"endpoint";
    ev.has_record_number = 1;
    ev.record_number = (uint64_t)i + 1;
    return tu_pack_event(&ev, len);
}

static void
build_corpus(struct corpus *c, struct corpus *valid)
{
    uint64_t r = UINT64_C(0x4057113);
    uint8_t tmp[512];

    for (int i = 0; i < N_VALID; i++) {
        size_t len;
        uint8_t *v = gen_valid(&r, i, &len);
        corpus_add(valid, v, len);
        free(v);
    }
    /* 1. every truncation of the valid events */
    for (size_t i = 0; i < valid->n; i++)
        for (size_t l = 0; l < valid->b[i].len; l++)
            corpus_add(c, valid->b[i].data, l);
    /* 2. bit flips (1 to 3 bits) */
    for (int k = 0; k < 3000; k++) {
        const struct blob *v = &valid->b[tu_below(&r, valid->n)];
        int flips = 1 + (int)tu_below(&r, 3);
        assert_true(v->len <= sizeof(tmp));
        memcpy(tmp, v->data, v->len);
        for (int f = 0; f < flips; f++) {
            size_t bit = tu_below(&r, v->len * 8);
            tmp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        corpus_add(c, tmp, v->len);
    }
    /* 3. random bytes */
    for (int k = 0; k < 2000; k++) {
        size_t len = tu_below(&r, 257);
        for (size_t i = 0; i < len; i++)
            tmp[i] = (uint8_t)tu_rand(&r);
        corpus_add(c, tmp, len);
    }
    /* 4. byte mutations: overwrite, insert, delete, splice */
    for (int k = 0; k < 1000; k++) {
        const struct blob *v = &valid->b[tu_below(&r, valid->n)];
        size_t len = v->len, pos;
        memcpy(tmp, v->data, len);
        pos = tu_below(&r, len);
        switch (k % 4) {
        case 0: tmp[pos] = (uint8_t)tu_rand(&r); break;
        case 1:
            memmove(tmp + pos + 1, tmp + pos, len - pos);
            tmp[pos] = (uint8_t)tu_rand(&r);
            len++;
            break;
        case 2:
            memmove(tmp + pos, tmp + pos + 1, len - pos - 1);
            len--;
            break;
        default: {
            const struct blob *w = &valid->b[tu_below(&r, valid->n)];
            size_t from = tu_below(&r, w->len), n = w->len - from;
            if (pos + n > sizeof(tmp))
                n = sizeof(tmp) - pos;
            memcpy(tmp + pos, w->data + from, n);
            len = pos + n;
        }
        }
        corpus_add(c, tmp, len);
    }
    /* 5. huge or overlong varint lengths and values, after a valid prefix
     *    or alone, for every field number of the schema */
    {
        static const uint8_t lens[][11] = {
            {0x80, 0x80, 0x80, 0x80, 0x08},                   /* 2^31 */
            {0x80, 0x80, 0x80, 0x80, 0x10},                   /* 2^32 */
            {0xff, 0xff, 0xff, 0xff, 0x0f},                   /* 2^32 - 1 */
            {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
            {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, /* 2^64 - 1 */
            {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, /* 11 bytes */
            {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, /* overlong 1 */
            {0xff, 0xff, 0xff},                               /* cut varint */
        };
        static const size_t lens_n[] = {5, 5, 5, 9, 10, 11, 11, 3};
        static const int fields[] = {1, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                     32, 100, 101, 536870911};
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            for (int wt = 0; wt <= 7; wt++) {
                for (size_t l = 0; l < sizeof(lens_n) / sizeof(lens_n[0]); l++) {
                    struct tu_buf b = {0};
                    if (wt != 2 && wt != 0 && l > 0)
                        continue; /* only length- and varint-typed fields take a number */
                    if ((f + l + (size_t)wt) % 2)
                        tu_buf_append(&b, valid->b[f % valid->n].data, valid->b[f % valid->n].len);
                    tu_append_varint(&b, ((uint64_t)fields[f] << 3) | (uint64_t)wt);
                    tu_buf_append(&b, lens[l], lens_n[l]);
                    tu_buf_append(&b, "abc", 3);
                    corpus_add(c, b.data, b.len);
                    tu_buf_free(&b);
                }
            }
        }
    }
}

static bool
status_in(int rc, const int *ok, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == ok[i])
            return true;
    return false;
}

static void
drain(t1071_ctx *ctx)
{
    t1071_alert_batch *b = NULL;
    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const char *json;
        size_t len;
        /* rendering junk-derived alerts must work too */
        assert_int_equal(t1071_alert_batch_get_json(b, i, &json, &len), T1071_OK);
        assert_int_equal(strlen(json), len);
    }
    t1071_alert_batch_free(b);
}

/* Counters add up: every record is decoded or rejected, every decoded
 * event is matched, filtered, keyless or without a usable timestamp. */
static void
assert_counters_consistent(const t1071_ctx *ctx)
{
    uint64_t in = tu_stat(ctx, T1071_STAT_RECORDS_IN);
    uint64_t dec = tu_stat(ctx, T1071_STAT_EVENTS_DECODED);
    uint64_t edec = tu_stat(ctx, T1071_STAT_ERR_DECODE);
    uint64_t ebig = tu_stat(ctx, T1071_STAT_ERR_TOO_LARGE);
    uint64_t ejson = tu_stat(ctx, T1071_STAT_ERR_JSON);
    uint64_t ets = tu_stat(ctx, T1071_STAT_ERR_TIMESTAMP);
    uint64_t m = tu_stat(ctx, T1071_STAT_EVENTS_MATCHED);
    uint64_t f = tu_stat(ctx, T1071_STAT_EVENTS_FILTERED);
    uint64_t nk = tu_stat(ctx, T1071_STAT_EVENTS_NO_KEY);

    if (in != dec + edec + ebig + ejson)
        fail_msg("records_in %" PRIu64 " != decoded %" PRIu64 " + errors_decode %" PRIu64
                 " + errors_too_large %" PRIu64 " + errors_json %" PRIu64,
                 in, dec, edec, ebig, ejson);
    if (dec != m + f + nk + ets)
        fail_msg("decoded %" PRIu64 " != matched %" PRIu64 " + filtered %" PRIu64
                 " + no_key %" PRIu64 " + errors_timestamp %" PRIu64,
                 dec, m, f, nk, ets);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS),
                     tu_stat(ctx, T1071_STAT_ALERTS_POLLED) + tu_stat(ctx, T1071_STAT_ALERTS_QUEUED));
    assert_true(tu_stat(ctx, T1071_STAT_MEMORY_PEAK_BYTES) >= tu_stat(ctx, T1071_STAT_MEMORY_BYTES));
}

/* Ten beacon connections on a fresh host: with runs=R, exactly 11-R
 * alerts, the first made of the first R connections. */
static void
assert_beacon_still_alerts(t1071_ctx *ctx, int runs)
{
    struct tu_alerts all = {0};
    struct tu_buf first = {0};
    size_t found = 0;

    drain(ctx);
    for (int i = 0; i < 10; i++) {
        tu_event ev = T1071__ECS__V1__EVENT__INIT;
        char id[16];
        char *cat[] = {(char *)"network"}, *type[] = {(char *)"connection"};
        char *dir[] = {(char *)"egress"}, *ip[] = {(char *)"198.51.100.9"};
        char *name[] = {(char *)"implant.exe"}, *key[] = {(char *)"beacon-key-after-junk"};
        int64_t port[] = {443};
        size_t len;
        uint8_t *buf;

        snprintf(id, sizeof(id), "after-%d", i);
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = T0 + i * INT64_C(60000);
        ev.event_id = id;
        ev.host_id = (char *)"beacon-host-after-junk";
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
        buf = tu_pack_event(&ev, &len);
        assert_int_equal(tu_feed_event_retry(ctx, buf, len, &all, NULL), T1071_OK);
        free(buf);
    }
    tu_collect(ctx, &all);
    tu_buf_puts(&first, "[");
    for (int i = 0; i < runs; i++)
        tu_buf_printf(&first, "%s\"after-%d\"", i ? "," : "", i);
    tu_buf_puts(&first, "]");
    for (size_t i = 0; i < all.n; i++) {
        if (strcmp(all.a[i].key, "beacon-key-after-junk") != 0)
            continue;
        if (found == 0)
            assert_string_equal(all.a[i].ids, first.data);
        found++;
    }
    assert_int_equal(found, (size_t)(11 - runs));
    tu_buf_free(&first);
    tu_alerts_free(&all);
}

static const int event_statuses[] = {T1071_OK, T1071_E_DECODE, T1071_E_TIMESTAMP};
static const int batch_statuses[] = {T1071_OK, T1071_E_TRUNCATED};
static const int shard_statuses[] = {T1071_OK, T1071_E_DECODE};
static const int json_statuses[] = {T1071_OK, T1071_E_JSON, T1071_E_TIMESTAMP};

static void
test_hostile_buffers_feed_event_documented_statuses_only(void **state)
{
    struct corpus c = {0}, valid = {0};
    t1071_ctx *ctx = tu_ctx_new((const char *const[]){"rule.runs", "2", NULL});
    uint64_t n_decode = 0, n_ts = 0, n_ok = 0;

    (void)state;
    build_corpus(&c, &valid);
    print_message("# %zu hostile buffers\n", c.n);
    assert_true(c.n >= 10000);
    for (size_t i = 0; i < c.n; i++) {
        int rc;
        uint32_t shard = 99;
        int src;

        while ((rc = t1071_feed_event(ctx, c.b[i].data, c.b[i].len)) == T1071_E_QUEUE_FULL)
            drain(ctx);
        if (!status_in(rc, event_statuses, 3))
            fail_msg("buffer %zu (%zu bytes): t1071_feed_event returned %d (%s)", i, c.b[i].len,
                     rc, t1071_strerror(rc));
        n_decode += rc == T1071_E_DECODE;
        n_ts += rc == T1071_E_TIMESTAMP;
        n_ok += rc == T1071_OK;
        if (rc == T1071_E_DECODE)
            assert_string_not_equal(t1071_errmsg(ctx), "");

        /* the shard helper decodes the same way */
        src = t1071_event_shard(c.b[i].data, c.b[i].len, 7, &shard);
        if (!status_in(src, shard_statuses, 2))
            fail_msg("buffer %zu: t1071_event_shard returned %d", i, src);
        assert_int_equal(src == T1071_E_DECODE, rc == T1071_E_DECODE);
        if (src == T1071_OK)
            assert_true(shard < 7);
        else
            assert_int_equal(shard, 0);
        if ((i & 1023) == 0)
            drain(ctx);
    }
    print_message("# ok %" PRIu64 ", decode %" PRIu64 ", timestamp %" PRIu64 "\n", n_ok, n_decode,
                  n_ts);
    /* the corpus reaches every outcome */
    assert_true(n_decode > 1000);
    assert_true(n_ok > 1000);
    assert_true(n_ts > 20);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_DECODE), n_decode);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_TIMESTAMP), n_ts);
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), c.n);
    assert_counters_consistent(ctx);
    assert_beacon_still_alerts(ctx, 2);
    assert_counters_consistent(ctx);
    corpus_free(&c);
    corpus_free(&valid);
    t1071_free(ctx);
}

static void
test_hostile_buffers_as_delimited_batch_counted_like_events(void **state)
{
    struct corpus c = {0}, valid = {0};
    t1071_ctx *single = tu_ctx_new(NULL), *batched = tu_ctx_new(NULL);
    struct tu_buf batch = {0};
    size_t off = 0;

    (void)state;
    build_corpus(&c, &valid);
    for (size_t i = 0; i < c.n; i++) {
        while (t1071_feed_event(single, c.b[i].data, c.b[i].len) == T1071_E_QUEUE_FULL)
            drain(single);
        tu_append_delimited(&batch, c.b[i].data, c.b[i].len);
    }
    /* fed in chunks that end on record boundaries or cut records alike */
    while (off < batch.len) {
        size_t chunk = 1 + (off * 7919) % 5000, consumed = SIZE_MAX;
        int rc;
        if (chunk > batch.len - off)
            chunk = batch.len - off;
        rc = t1071_feed_batch(batched, (const uint8_t *)batch.data + off, chunk, &consumed);
        assert_true(consumed <= chunk);
        if (rc == T1071_E_TRUNCATED && consumed == 0) {
            /* a record longer than the chunk: give it room (records are
             * at most a few hundred bytes) */
            chunk = batch.len - off < 4096 ? batch.len - off : 4096;
            rc = t1071_feed_batch(batched, (const uint8_t *)batch.data + off, chunk, &consumed);
            assert_true(consumed > 0 || rc == T1071_E_QUEUE_FULL);
        }
        off += consumed;
        if (rc == T1071_E_QUEUE_FULL)
            drain(batched);
        else if (!status_in(rc, batch_statuses, 2))
            fail_msg("t1071_feed_batch returned %d (%s)", rc, t1071_strerror(rc));
        else if (rc == T1071_OK)
            assert_int_equal(consumed, chunk);
    }
    /* the same records give the same outcomes */
    assert_int_equal(tu_stat(batched, T1071_STAT_RECORDS_IN), c.n);
    assert_int_equal(tu_stat(batched, T1071_STAT_ERR_DECODE),
                     tu_stat(single, T1071_STAT_ERR_DECODE));
    assert_int_equal(tu_stat(batched, T1071_STAT_ERR_TIMESTAMP),
                     tu_stat(single, T1071_STAT_ERR_TIMESTAMP));
    assert_int_equal(tu_stat(batched, T1071_STAT_EVENTS_MATCHED),
                     tu_stat(single, T1071_STAT_EVENTS_MATCHED));
    assert_int_equal(tu_stat(batched, T1071_STAT_ALERTS), tu_stat(single, T1071_STAT_ALERTS));
    assert_true(tu_stat(batched, T1071_STAT_ERR_TRUNCATED) > 0);
    assert_counters_consistent(batched);
    assert_beacon_still_alerts(batched, 10);
    tu_buf_free(&batch);
    corpus_free(&c);
    corpus_free(&valid);
    t1071_free(single);
    t1071_free(batched);
}

static void
test_hostile_raw_bytes_as_batch_truncated_or_ok(void **state)
{
    struct corpus c = {0}, valid = {0};
    t1071_ctx *ctx = tu_ctx_new(NULL);
    uint64_t truncated = 0;

    (void)state;
    build_corpus(&c, &valid);
    for (size_t i = 0; i < c.n; i++) {
        size_t consumed = SIZE_MAX;
        int rc;
        while ((rc = t1071_feed_batch(ctx, c.b[i].data, c.b[i].len, &consumed)) ==
               T1071_E_QUEUE_FULL)
            drain(ctx);
        if (!status_in(rc, batch_statuses, 2))
            fail_msg("buffer %zu: t1071_feed_batch returned %d (%s)", i, rc, t1071_strerror(rc));
        assert_true(consumed <= c.b[i].len);
        if (rc == T1071_OK)
            assert_int_equal(consumed, c.b[i].len);
        else
            assert_true(consumed < c.b[i].len);
        truncated += rc == T1071_E_TRUNCATED;
    }
    assert_true(truncated > 1000);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_TRUNCATED), truncated);
    assert_counters_consistent(ctx);
    assert_beacon_still_alerts(ctx, 10);
    corpus_free(&c);
    corpus_free(&valid);
    t1071_free(ctx);
}

static void
test_hostile_json_documented_statuses_only(void **state)
{
    static const char line[] =
        "{\"@timestamp\":\"2024-01-01T00:00:00.000Z\",\"event\":{\"id\":\"j\\u00e9\","
        "\"category\":[\"network\"],\"type\":[\"start\",\"connection\"]},"
        "\"network\":{\"direction\":\"egress\"},\"destination\":{\"ip\":[\"8.8.8.8\",\"::1\"],"
        "\"port\":\"443\"},\"process\":{\"name\":\"b\",\"entity_id\":[\"A\",\"\"]},"
        "\"host\":{\"id\":\"h\",\"name\":\"n\"},\"url\":{\"full\":\"http://x/\\\"\"},"
        "\"process.executable\":\"C:\\\\x.exe\",\"n\":-1.5e300,\"z\":[true,false,null,{}]}";
    t1071_ctx *ctx = tu_ctx_new(NULL);
    uint64_t r = 77, n = 0, n_json = 0, n_ok = 0;
    char tmp[sizeof(line) + 16];
    int rc;

    (void)state;
    assert_int_equal(t1071_feed_json(ctx, line, strlen(line)), T1071_OK);
    /* every truncation, and random single-byte damage */
    for (size_t l = 0; l < strlen(line); l++, n++) {
        while ((rc = t1071_feed_json(ctx, line, l)) == T1071_E_QUEUE_FULL)
            drain(ctx);
        if (!status_in(rc, json_statuses, 3))
            fail_msg("truncated at %zu: %d (%s)", l, rc, t1071_strerror(rc));
        n_json += rc == T1071_E_JSON;
    }
    for (int k = 0; k < 4000; k++, n++) {
        size_t len = strlen(line);
        memcpy(tmp, line, len);
        for (int f = 0; f < 1 + k % 3; f++)
            tmp[tu_below(&r, len)] = (char)tu_rand(&r);
        while ((rc = t1071_feed_json(ctx, tmp, len)) == T1071_E_QUEUE_FULL)
            drain(ctx);
        if (!status_in(rc, json_statuses, 3))
            fail_msg("mutation %d: %d (%s)", k, rc, t1071_strerror(rc));
        n_json += rc == T1071_E_JSON;
        n_ok += rc == T1071_OK;
    }
    /* deep nesting, huge numbers, bad escapes, NUL bytes */
    {
        static const char *const bad[] = {
            "", " ", "{", "}", "[]", "null", "\"str\"", "{\"@timestamp\":}",
            "{\"a\":\"\\ud800\"}", "{\"a\":\"\\uZZZZ\"}", "{\"a\":1e999999}",
            "{\"@timestamp\":\"9999-99-99T99:99:99Z\"}", "{\"@timestamp\":12345678901234567890}",
            "{\"destination\":{\"port\":1e400}}", "{\"a\":\"\xff\xfe\"}",
            "{\"a\":1}{\"b\":2}", "{\"a\":[1,2,]}", "{'a':1}",
        };
        struct tu_buf deep = {0};
        static const char nul[] = "{\"a\":\"x\0y\"}";
        drain(ctx);
        rc = t1071_feed_json(ctx, nul, sizeof(nul) - 1); /* embedded NUL */
        if (!status_in(rc, json_statuses, 3))
            fail_msg("embedded NUL: %d (%s)", rc, t1071_strerror(rc));
        n++;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++, n++) {
            size_t len = strlen(bad[i]);
            rc = t1071_feed_json(ctx, bad[i], len);
            if (!status_in(rc, json_statuses, 3))
                fail_msg("\"%s\": %d (%s)", bad[i], rc, t1071_strerror(rc));
        }
        for (int d = 0; d < 100000; d++)
            tu_buf_puts(&deep, "[");
        rc = t1071_feed_json(ctx, deep.data, deep.len);
        assert_int_equal(rc, T1071_E_JSON);
        tu_buf_free(&deep);
        for (int d = 0; d < 50000; d++)
            tu_buf_puts(&deep, "{\"a\":");
        rc = t1071_feed_json(ctx, deep.data, deep.len);
        assert_int_equal(rc, T1071_E_JSON);
        tu_buf_free(&deep);
        n += 2;
    }
    assert_true(n_json > 1000);
    assert_true(n_ok > 100);
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), n + 1);
    assert_counters_consistent(ctx);
    assert_beacon_still_alerts(ctx, 10);
    t1071_free(ctx);
}

/* ===== Oversize ===== */

/* A valid Event of exactly @p want bytes (a long url.full, trimmed with
 * user.name). */
static uint8_t *
event_of_size(size_t want, size_t *len)
{
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char *fill = malloc(want + 1);

    assert_non_null(fill);
    memset(fill, 'u', want);
    fill[want] = '\0';
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = T0;
    ev.host_id = (char *)"big-host";
    for (size_t l = want > 200 ? want - 200 : 0; l <= want; l++) {
        for (int u = -1; u < 8; u++) {
            ev.url_full = fill + want - l;
            ev.user_name = u < 0 ? NULL : fill + want - (size_t)u;
            if (t1071__ecs__v1__event__get_packed_size(&ev) == want) {
                uint8_t *buf = tu_pack_event(&ev, len);
                free(fill);
                return buf;
            }
        }
    }
    fail_msg("no event of %zu bytes", want);
    return NULL;
}

static void
test_hostile_oversize_event_returns_too_large(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL); /* engine.max_event_bytes = 65536 */
    size_t len;
    uint8_t *at = event_of_size(65536, &len);
    uint8_t *over = event_of_size(65537, &len);
    uint8_t *huge = calloc(1, T1071_MAX_EVENT_BYTES + 1);
    uint32_t shard = 5;

    (void)state;
    assert_non_null(huge);
    assert_int_equal(t1071_feed_event(ctx, at, 65536), T1071_OK);
    assert_int_equal(t1071_feed_event(ctx, over, 65537), T1071_E_TOO_LARGE);
    assert_int_equal(t1071_feed_event(ctx, huge, T1071_MAX_EVENT_BYTES + 1), T1071_E_TOO_LARGE);
    assert_int_equal(t1071_feed_event(ctx, huge, SIZE_MAX), T1071_E_TOO_LARGE);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_TOO_LARGE), 3);
    assert_string_not_equal(t1071_errmsg(ctx), "");
    /* the shard helper has the hard limit only */
    assert_int_equal(t1071_event_shard(over, 65537, 4, &shard), T1071_OK);
    assert_int_equal(t1071_event_shard(huge, T1071_MAX_EVENT_BYTES + 1, 4, &shard),
                     T1071_E_TOO_LARGE);
    assert_int_equal(shard, 0);
    assert_counters_consistent(ctx);
    assert_beacon_still_alerts(ctx, 10);
    free(at);
    free(over);
    free(huge);
    t1071_free(ctx);
}

static void
test_hostile_oversize_record_in_batch_skipped_stream_goes_on(void **state)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    struct tu_buf b = {0};
    size_t len, small_len, consumed = 0;
    uint8_t *over, *small;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.max_event_bytes", "1024"), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    over = event_of_size(1025, &len);
    small = event_of_size(1024, &small_len);
    tu_append_delimited(&b, small, small_len);
    tu_append_delimited(&b, over, len);
    tu_append_delimited(&b, small, small_len);
    assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)b.data, b.len, &consumed), T1071_OK);
    assert_int_equal(consumed, b.len);
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), 3);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_TOO_LARGE), 1);
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_DECODED), 2);
    /* a length prefix far beyond the buffer is a truncation, not an allocation */
    tu_buf_free(&b);
    tu_append_varint(&b, UINT64_C(1) << 62);
    tu_buf_append(&b, "xyz", 3);
    assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)b.data, b.len, &consumed),
                     T1071_E_TRUNCATED);
    assert_int_equal(consumed, 0);
    assert_counters_consistent(ctx);
    tu_buf_free(&b);
    free(over);
    free(small);
    t1071_free(ctx);
}

static void
test_hostile_oversize_json_returns_too_large(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL);
    size_t n = (size_t)5 << 20;
    char *big = malloc(n);
    t1071_buffer *out = (t1071_buffer *)1;

    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    assert_int_equal(t1071_feed_json(ctx, big, n), T1071_E_TOO_LARGE);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_TOO_LARGE), 1);
    assert_int_equal(t1071_event_from_json(big, n, 1, &out), T1071_E_TOO_LARGE);
    assert_null(out);
    assert_counters_consistent(ctx);
    free(big);
    t1071_free(ctx);
}

/* NDJSON and protobuf input give the same result (t1071_feed_json: "same
 * semantics and statuses as t1071_feed_event()"): an event whose encoding
 * exceeds engine.max_event_bytes is refused on both paths alike. */
static void
test_hostile_large_event_same_status_json_and_protobuf(void **state)
{
    t1071_ctx *json_ctx = tu_ctx_new(NULL), *pb_ctx = tu_ctx_new(NULL);
    struct tu_buf line = {0};
    t1071_buffer *buf = NULL;
    int rc_json, rc_pb;

    (void)state;
    tu_buf_puts(&line, "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"id\":\"big\","
                       "\"category\":[\"network\"],\"type\":[\"start\"]},"
                       "\"network\":{\"direction\":\"egress\"},"
                       "\"destination\":{\"ip\":\"203.0.113.5\",\"port\":443},"
                       "\"process\":{\"name\":\"x\",\"entity_id\":\"BIG\"},\"url\":{\"full\":\"");
    for (int i = 0; i < 100000; i++)
        tu_buf_puts(&line, "u");
    tu_buf_puts(&line, "\"}}");
    assert_int_equal(t1071_event_from_json(line.data, line.len, 1, &buf), T1071_OK);
    assert_true(t1071_buffer_size(buf) > 65536);
    rc_pb = t1071_feed_event(pb_ctx, t1071_buffer_data(buf), t1071_buffer_size(buf));
    rc_json = t1071_feed_json(json_ctx, line.data, line.len);
    assert_int_equal(rc_pb, T1071_E_TOO_LARGE);
    if (rc_json != rc_pb)
        fail_msg("a %zu-byte event (%zu bytes as JSON): t1071_feed_event gives %s, "
                 "t1071_feed_json gives %s",
                 t1071_buffer_size(buf), line.len, t1071_strerror(rc_pb), t1071_strerror(rc_json));
    assert_int_equal(tu_stat(json_ctx, T1071_STAT_ERR_TOO_LARGE),
                     tu_stat(pb_ctx, T1071_STAT_ERR_TOO_LARGE));
    t1071_buffer_free(buf);
    tu_buf_free(&line);
    t1071_free(json_ctx);
    t1071_free(pb_ctx);
}

/* Regression (fuzz corpus restore/6eb737...): a host whose first events
 * all come late (behind t1071_advance's floor) never sets its clock, so
 * each one was taken as the "first" event again and the previous one's
 * reference leaked: memory_bytes grew with every late event. */
static void
test_issue_3_late_first_events_do_not_leak(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(NULL);
    uint64_t after_one = 0;

    (void)state;
    assert_int_equal(t1071_advance(ctx, INT64_C(1704240000000)), T1071_OK); /* 2024-01-03 */
    for (int i = 0; i < 6; i++) {
        char line[512];
        snprintf(line, sizeof(line),
                 "{\"@timestamp\":\"2024-01-01T00:%02d:00Z\",\"event\":{\"category\":[\"network\"],"
                 "\"type\":[\"connection\"]},\"network\":{\"direction\":\"egress\"},"
                 "\"destination\":{\"ip\":\"198.51.100.9\",\"port\":443},\"process\":"
                 "{\"name\":\"b.exe\",\"entity_id\":\"E\"},\"host\":{\"name\":\"h\"}}",
                 i);
        assert_int_equal(t1071_feed_json(ctx, line, strlen(line)), T1071_OK);
        if (i == 0)
            after_one = tu_stat(ctx, T1071_STAT_MEMORY_BYTES);
    }
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_LATE), 6);
    assert_int_equal(tu_stat(ctx, T1071_STAT_MEMORY_BYTES), after_one);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_buffers_feed_event_documented_statuses_only),
        cmocka_unit_test(test_hostile_buffers_as_delimited_batch_counted_like_events),
        cmocka_unit_test(test_hostile_raw_bytes_as_batch_truncated_or_ok),
        cmocka_unit_test(test_hostile_json_documented_statuses_only),
        cmocka_unit_test(test_hostile_oversize_event_returns_too_large),
        cmocka_unit_test(test_hostile_oversize_record_in_batch_skipped_stream_goes_on),
        cmocka_unit_test(test_hostile_oversize_json_returns_too_large),
        cmocka_unit_test(test_hostile_large_event_same_status_json_and_protobuf),
        cmocka_unit_test(test_issue_3_late_first_events_do_not_leak),
    };

    return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
