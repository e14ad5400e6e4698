/* SPDX-License-Identifier: Apache-2.0 */
/* Stack depth of the feed path.  Hosts call t1071_feed_event() from
 * threads they size themselves (Fluent Bit's coroutines, Go's cgo calls
 * on a runtime thread, a Suricata worker), so the deepest call chain, a
 * full beacon score inside an alert inside the reorder-buffer release, is
 * a number to know and keep.  A thread runs the feed on a stack this test
 * allocates and paints; the untouched paint left below the high-water
 * mark tells how deep it went, less what an empty thread function uses
 * (glibc keeps the thread's descriptor and TLS at the top of that stack).
 *
 * The stream makes the beacon score do its most: 128-interval rings
 * (T1071I_BEACON_RING), beacons and random intervals, with the default
 * profile and the tuned one (prevalence, allowlists, fallback key). */
#include <inttypes.h>
#include <pthread.h>
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
#define STACK_BYTES (512 * 1024)
#define PAINT 0xA5
/* The bound this test keeps: the feed path's own stack use.  README
 * ("Embedding") promises hosts 64 KiB is plenty. */
#define FEED_STACK_MAX (40 * 1024)

struct job {
    const uint8_t *stream;
    size_t len;
    t1071_ctx *ctx;
    uint64_t alerts;
    int rc;
};

/* Feed the whole stream, polling as a host does, then flush. */
static void *
run_feed(void *arg)
{
    struct job *j = arg;
    t1071_ctx *ctx = j->ctx;

    for (size_t off = 0; j->rc == T1071_OK && off < j->len;) {
        size_t used = 0;
        t1071_alert_batch *b = NULL;
        int rc = t1071_feed_batch(ctx, j->stream + off, j->len - off, &used);
        off += used;
        if (rc != T1071_OK && rc != T1071_E_QUEUE_FULL) {
            j->rc = rc;
            break;
        }
        if (t1071_poll_alerts(ctx, &b) == T1071_OK) {
            j->alerts += t1071_alert_batch_count(b);
            t1071_alert_batch_free(b);
        }
    }
    return NULL;
}

static void *
run_nothing(void *arg)
{
    return arg;
}

/* Bytes of the painted stack a thread running @p fn touched. */
static size_t
stack_used(void *(*fn)(void *), void *arg)
{
    uint8_t *stack = aligned_alloc(4096, STACK_BYTES);
    pthread_attr_t attr;
    pthread_t th;
    size_t low = 0;

    assert_non_null(stack);
    memset(stack, PAINT, STACK_BYTES);
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstack(&attr, stack, STACK_BYTES), 0);
    assert_int_equal(pthread_create(&th, &attr, fn, arg), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
    /* Under valgrind (meson test --setup valgrind) the dead thread's
     * stack is unaddressable to memcheck, and the depth would be
     * valgrind's anyway: the feed still runs under memcheck, unmeasured. */
    if (getenv("T1071_UNDER_VALGRIND"))
        low = STACK_BYTES;
    while (low < STACK_BYTES && stack[low] == PAINT)
        low++;
    free(stack);
    return STACK_BYTES - low;
}

/* 40 processes on 8 hosts for 6 hours: half beacon (60 s, 20 % jitter,
 * one destination), half browse (random gaps and destinations). */
static uint8_t *
make_stream(size_t *len)
{
    struct tu_buf b = {0};
    uint64_t r = 1071;
    int64_t next[40];

    for (int k = 0; k < 40; k++)
        next[k] = T0 + k * 1000;
    for (;;) {
        int k = 0;
        for (int i = 1; i < 40; i++)
            if (next[i] < next[k])
                k = i;
        if (next[k] > T0 + 6 * 3600000)
            break;
        tu_event ev = T1071__ECS__V1__EVENT__INIT;
        char id[32], ent[32], host[16], ip[32], exe[64];
        char *cat = (char *)"network", *type = (char *)"connection", *dir = (char *)"egress";
        char *ipv = ip, *entv = ent, *name = (char *)"rundll32.exe";
        int64_t port = 443;
        size_t n;
        uint8_t *pb;
        snprintf(id, sizeof(id), "e%" PRIu64, (uint64_t)b.len);
        snprintf(ent, sizeof(ent), "{proc-%02d}", k);
        snprintf(host, sizeof(host), "ws-%d", k % 8);
        snprintf(exe, sizeof(exe), "C:\\Users\\u%d\\AppData\\Local\\Temp\\r%d.exe", k % 8, k);
        if (k % 2)
            snprintf(ip, sizeof(ip), "203.0.113.%d", k);
        else
            snprintf(ip, sizeof(ip), "198.51.%d.%d", (int)tu_below(&r, 200),
                     (int)tu_below(&r, 250));
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = next[k];
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
        ev.n_process_entity_id = 1;
        ev.process_entity_id = &entv;
        ev.n_process_name = 1;
        ev.process_name = &name;
        ev.process_executable = exe;
        ev.host_name = host;
        ev.has_source_bytes = 1;
        ev.source_bytes = 300 + (int64_t)tu_below(&r, 40);
        pb = tu_pack_event(&ev, &n);
        tu_append_delimited(&b, pb, n);
        free(pb);
        next[k] += k % 2 ? 48000 + (int64_t)tu_below(&r, 24000) /* 60 s +- 20 % */
                         : 2000 + (int64_t)tu_below(&r, 300000);
    }
    *len = b.len;
    return (uint8_t *)b.data;
}

static void
test_feed_stack_depth(void **state)
{
    size_t len, base, used;
    uint8_t *stream = make_stream(&len);
    char tuned[1024];
    const char *profiles[] = {NULL, tuned};

    (void)state;
    snprintf(tuned, sizeof(tuned), "%s/tuned.ini", T1071_PROFILES);
    base = stack_used(run_nothing, NULL);
    for (size_t i = 0; i < 2; i++) {
        /* The context is made here: the feed is what runs on the
         * measured stack (contexts may change threads between calls). */
        t1071_config *cfg = NULL;
        struct job j = {stream, len, NULL, 0, 0};
        assert_int_equal(t1071_config_new(&cfg), T1071_OK);
        if (profiles[i])
            assert_int_equal(t1071_config_load_file(cfg, profiles[i]), T1071_OK);
        assert_int_equal(t1071_init(&j.ctx, cfg), T1071_OK);
        t1071_config_free(cfg);
        used = stack_used(run_feed, &j);
        t1071_free(j.ctx);
        assert_int_equal(j.rc, T1071_OK);
        assert_true(j.alerts > 0);
        if (getenv("T1071_UNDER_VALGRIND"))
            continue;
        print_message("# %s profile: feed path stack %zu bytes (thread total %zu, "
                      "empty thread %zu), %" PRIu64 " alerts\n",
                      i ? "tuned" : "default", used - base, used, base, j.alerts);
        assert_true(used - base <= FEED_STACK_MAX);
    }
    free(stream);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_stack_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
