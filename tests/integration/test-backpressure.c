/* SPDX-License-Identifier: Apache-2.0 */
/* Backpressure: with a tiny alert queue (engine.alert_queue = 3) a stream
 * producing hundreds of alerts, fed with retry on T1071_E_QUEUE_FULL (poll,
 * then feed the same event again) or as a batch resumed at *consumed, gives
 * exactly the alerts of an unbounded run: none lost, none duplicated, same
 * order, and every refusal counted. */
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
#define N_EVENTS 300

/* Event i: one second apart on host H; even ones join key A, odd ones the
 * multi-valued key [B, C, A] (three sequences completed by one event). */
static uint8_t *
make_event(int i, size_t *len)
{
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char id[32];
    char *cat[] = {(char *)"network"}, *type[] = {(char *)"connection"};
    char *dir[] = {(char *)"egress"}, *ip[] = {(char *)"203.0.113.7"};
    char *name[] = {(char *)"implant"};
    char *ka[] = {(char *)"A"}, *kbca[] = {(char *)"B", (char *)"C", (char *)"A"};
    int64_t port[] = {i % 5 ? 443 : 53};

    snprintf(id, sizeof(id), "bp-%03d", i);
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = T0 + i * INT64_C(1000);
    ev.event_id = id;
    ev.host_id = (char *)"H";
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
    if (i % 2 == 0) {
        ev.process_entity_id = ka;
        ev.n_process_entity_id = 1;
    } else {
        ev.process_entity_id = kbca;
        ev.n_process_entity_id = 3;
    }
    return tu_pack_event(&ev, len);
}

/* The same event as ECS JSON. */
static char *
make_json(int i)
{
    struct tu_buf b = {0};
    int64_t s = i;

    tu_buf_printf(&b,
                  "{\"@timestamp\":\"2024-01-01T00:%02" PRId64 ":%02" PRId64 ".000Z\","
                  "\"event\":{\"id\":\"bp-%03d\",\"category\":[\"network\"],"
                  "\"type\":[\"connection\"]},\"network\":{\"direction\":\"egress\"},"
                  "\"destination\":{\"ip\":\"203.0.113.7\",\"port\":%d},"
                  "\"process\":{\"name\":\"implant\",\"entity_id\":%s},\"host\":{\"id\":\"H\"}}",
                  s / 60, s % 60, i, i % 5 ? 443 : 53,
                  i % 2 == 0 ? "\"A\"" : "[\"B\",\"C\",\"A\"]");
    return b.data;
}

static struct tu_buf
make_batch(size_t *bounds, size_t *n_bounds)
{
    struct tu_buf b = {0};

    *n_bounds = 0;
    for (int i = 0; i < N_EVENTS; i++) {
        size_t len;
        uint8_t *ev = make_event(i, &len);
        bounds[(*n_bounds)++] = b.len;
        tu_append_delimited(&b, ev, len);
        free(ev);
    }
    bounds[(*n_bounds)++] = b.len;
    return b;
}

#define CFG(...) ((const char *const[]){"rule.runs", "2", "rule.maxspan", "1h", __VA_ARGS__, NULL})

/* The reference: a queue that never fills. */
static void
reference(struct tu_alerts *ref)
{
    t1071_ctx *ctx = tu_ctx_new(CFG("engine.alert_queue", "16777216"));

    for (int i = 0; i < N_EVENTS; i++) {
        size_t len;
        uint8_t *ev = make_event(i, &len);
        assert_int_equal(t1071_feed_event(ctx, ev, len), T1071_OK);
        free(ev);
    }
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    tu_collect(ctx, ref);
    assert_int_equal(tu_stat(ctx, T1071_STAT_QUEUE_FULL), 0);
    t1071_free(ctx);
    /* A: 299, B: 149, C: 149 */
    assert_int_equal(ref->n, 597);
}

static void
assert_same_alerts(const struct tu_alerts *got, const struct tu_alerts *ref)
{
    for (size_t i = 0; i < got->n && i < ref->n; i++) {
        if (strcmp(got->a[i].key, ref->a[i].key) || strcmp(got->a[i].ids, ref->a[i].ids) ||
            strcmp(got->a[i].group_id, ref->a[i].group_id) || got->a[i].seqno != ref->a[i].seqno)
            fail_msg("alert %zu: got %s %s #%" PRIu64 ", expected %s %s #%" PRIu64, i,
                     got->a[i].key, got->a[i].ids, got->a[i].seqno, ref->a[i].key,
                     ref->a[i].ids, ref->a[i].seqno);
    }
    assert_int_equal(got->n, ref->n);
}

static void
assert_counters(const t1071_ctx *ctx, size_t n_alerts, uint64_t refusals)
{
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), N_EVENTS);
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_MATCHED), N_EVENTS);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS), n_alerts);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS_POLLED), n_alerts);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS_QUEUED), 0);
    assert_int_equal(tu_stat(ctx, T1071_STAT_QUEUE_FULL), refusals);
}

static void
test_backpressure_feed_event_retry_loses_nothing(void **state)
{
    struct tu_alerts ref = {0}, got = {0};
    t1071_ctx *ctx = tu_ctx_new(CFG("engine.alert_queue", "3"));
    uint64_t refusals = 0;
    size_t max_batch = 0;

    (void)state;
    reference(&ref);
    for (int i = 0; i < N_EVENTS; i++) {
        size_t len;
        uint8_t *ev = make_event(i, &len);
        int rc;
        while ((rc = t1071_feed_event(ctx, ev, len)) == T1071_E_QUEUE_FULL) {
            size_t n;
            refusals++;
            /* refused: nothing consumed */
            assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), (uint64_t)i);
            assert_true(tu_stat(ctx, T1071_STAT_ALERTS_QUEUED) >= 3);
            n = tu_collect(ctx, &got);
            assert_true(n >= 3);
            if (n > max_batch)
                max_batch = n;
        }
        assert_int_equal(rc, T1071_OK);
        free(ev);
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, &got, &refusals), T1071_OK);
    tu_collect(ctx, &got);
    assert_true(refusals > 100);
    /* one event may push the queue past the mark by what it completes */
    assert_true(max_batch <= 3 + 2);
    assert_same_alerts(&got, &ref);
    assert_counters(ctx, ref.n, refusals);
    tu_alerts_free(&ref);
    tu_alerts_free(&got);
    t1071_free(ctx);
}

static void
test_backpressure_feed_batch_resumes_at_consumed_record_boundary(void **state)
{
    struct tu_alerts ref = {0}, got = {0};
    t1071_ctx *ctx = tu_ctx_new(CFG("engine.alert_queue", "3"));
    size_t bounds[N_EVENTS + 1], n_bounds, off = 0;
    struct tu_buf batch = make_batch(bounds, &n_bounds);
    uint64_t refusals = 0;

    (void)state;
    reference(&ref);
    while (off < batch.len) {
        size_t consumed = SIZE_MAX;
        bool boundary = false;
        int rc = t1071_feed_batch(ctx, (const uint8_t *)batch.data + off, batch.len - off,
                                  &consumed);
        assert_true(consumed <= batch.len - off);
        off += consumed;
        for (size_t b = 0; b < n_bounds; b++)
            boundary = boundary || bounds[b] == off;
        assert_true(boundary);
        if (rc == T1071_OK) {
            assert_int_equal(off, batch.len);
            break;
        }
        assert_int_equal(rc, T1071_E_QUEUE_FULL);
        refusals++;
        assert_true(tu_collect(ctx, &got) >= 3);
        /* With the queue empty again the next call must make progress. */
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, &got, &refusals), T1071_OK);
    tu_collect(ctx, &got);
    assert_true(refusals > 100);
    assert_same_alerts(&got, &ref);
    assert_counters(ctx, ref.n, refusals);
    tu_buf_free(&batch);
    tu_alerts_free(&ref);
    tu_alerts_free(&got);
    t1071_free(ctx);
}

static void
test_backpressure_feed_batch_full_at_entry_consumes_nothing(void **state)
{
    t1071_ctx *ctx = tu_ctx_new(CFG("engine.alert_queue", "1"));
    size_t bounds[N_EVENTS + 1], n_bounds, consumed = 99;
    struct tu_buf batch = make_batch(bounds, &n_bounds);
    struct tu_alerts got = {0};

    (void)state;
    /* the first three records complete a sequence: the queue fills */
    assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)batch.data, bounds[3], &consumed),
                     T1071_E_QUEUE_FULL);
    assert_true(consumed > 0 && consumed < bounds[3]);
    assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)batch.data + consumed,
                                      batch.len - consumed, &consumed),
                     T1071_E_QUEUE_FULL);
    assert_int_equal(consumed, 0);
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_E_QUEUE_FULL);
    assert_int_equal(tu_stat(ctx, T1071_STAT_QUEUE_FULL), 3);
    assert_true(tu_collect(ctx, &got) > 0);
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    tu_buf_free(&batch);
    tu_alerts_free(&got);
    t1071_free(ctx);
}

static void
test_backpressure_lateness_release_bursts_lose_nothing(void **state)
{
    struct tu_alerts ref = {0}, got = {0};
    t1071_ctx *ctx = tu_ctx_new(CFG("engine.alert_queue", "3", "engine.lateness", "10s"));
    uint64_t refusals = 0;

    (void)state;
    reference(&ref);
    for (int i = 0; i < N_EVENTS; i++) {
        size_t len;
        uint8_t *ev = make_event(i, &len);
        int rc;
        while ((rc = t1071_feed_event(ctx, ev, len)) == T1071_E_QUEUE_FULL) {
            refusals++;
            tu_collect(ctx, &got);
        }
        assert_int_equal(rc, T1071_OK);
        free(ev);
    }
    /* ten seconds of events are still buffered: advance releases them at
     * once, past the mark */
    assert_true(tu_stat(ctx, T1071_STAT_EVENTS_BUFFERED) >= 10);
    while (t1071_advance(ctx, INT64_MAX) == T1071_E_QUEUE_FULL) {
        refusals++;
        tu_collect(ctx, &got);
    }
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_BUFFERED), 0);
    tu_collect(ctx, &got);
    assert_true(refusals > 50);
    assert_same_alerts(&got, &ref);
    assert_counters(ctx, ref.n, refusals);
    tu_alerts_free(&ref);
    tu_alerts_free(&got);
    t1071_free(ctx);
}

static void
test_backpressure_feed_json_retry_loses_nothing(void **state)
{
    struct tu_alerts ref = {0}, got = {0};
    t1071_ctx *ctx = tu_ctx_new(CFG("engine.alert_queue", "3"));
    uint64_t refusals = 0;

    (void)state;
    reference(&ref);
    for (int i = 0; i < N_EVENTS; i++) {
        char *json = make_json(i);
        int rc;
        while ((rc = t1071_feed_json(ctx, json, strlen(json))) == T1071_E_QUEUE_FULL) {
            refusals++;
            assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), (uint64_t)i);
            tu_collect(ctx, &got);
        }
        if (rc != T1071_OK)
            fail_msg("line %d: %s (%s): %s", i, t1071_strerror(rc), t1071_errmsg(ctx), json);
        free(json);
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, &got, &refusals), T1071_OK);
    tu_collect(ctx, &got);
    assert_true(refusals > 100);
    assert_same_alerts(&got, &ref);
    assert_counters(ctx, ref.n, refusals);
    tu_alerts_free(&ref);
    tu_alerts_free(&got);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backpressure_feed_event_retry_loses_nothing),
        cmocka_unit_test(test_backpressure_feed_batch_resumes_at_consumed_record_boundary),
        cmocka_unit_test(test_backpressure_feed_batch_full_at_entry_consumes_nothing),
        cmocka_unit_test(test_backpressure_lateness_release_bursts_lose_nothing),
        cmocka_unit_test(test_backpressure_feed_json_retry_loses_nothing),
    };

    return cmocka_run_group_tests_name("backpressure", tests, NULL, NULL);
}
