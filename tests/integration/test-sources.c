/* SPDX-License-Identifier: Apache-2.0 */
/* Every real source (README "Sources", issue 4): one fixture per source under
 * fixtures/sources/, written from its public field documentation, must give
 * NAME.faithful.expected with the defaults and NAME.derive.expected with
 * rule.derive=true, byte for byte (the --output sequences format: one JSON
 * array of member ids per line).  Each is fed line by line as JSON and, to
 * cover the protobuf path too, converted with t1071_event_from_json and fed
 * as events.
 *
 * Then the real Zeek capture (fixtures/real/mordor-apt29-zeek): the
 * faithful rule raises nothing on it; with derive, no excluded CIDRs and the
 * lab's own home network (10.0.0.0/8: the C2 server 192.168.0.4 sits
 * outside it) both lab C2 flows alert under their flow keys. */
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

#ifndef T1071_FIXTURES
#error "T1071_FIXTURES must name tests/integration/fixtures"
#endif

#define SOURCES_DIR T1071_FIXTURES "/sources"
#define ZEEK_PATH T1071_FIXTURES "/real/mordor-apt29-zeek.ecs.ndjson"

enum mode { MODE_JSON, MODE_EVENT };

struct line {
    const char *s;
    size_t len;
    uint64_t lineno; /* 1-based */
};

/* Split NDJSON into its non-empty lines (without "\n" / "\r\n"). */
static struct line *
split_lines(char *data, size_t len, size_t *n_out)
{
    struct line *lines = NULL;
    size_t n = 0, cap = 0;
    uint64_t lineno = 0;
    char *p = data, *end = data + len;

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t l = (size_t)(e - p);

        lineno++;
        if (l && p[l - 1] == '\r')
            l--;
        if (l) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                lines = realloc(lines, cap * sizeof(*lines));
                assert_non_null(lines);
            }
            lines[n].s = p;
            lines[n].len = l;
            lines[n].lineno = lineno;
            n++;
        }
        p = nl ? nl + 1 : end;
    }
    *n_out = n;
    return lines;
}

/* Feed a whole NDJSON file into @p ctx, every line accepted. */
static void
feed_file(t1071_ctx *ctx, const char *path, enum mode mode, struct tu_alerts *all,
          size_t *n_lines_out)
{
    size_t len, n_lines;
    char *data = tu_read_file(path, &len);
    struct line *lines;
    int rc;

    if (!data)
        fail_msg("cannot read %s", path);
    lines = split_lines(data, len, &n_lines);
    assert_true(n_lines > 0);
    for (size_t i = 0; i < n_lines; i++) {
        const struct line *l = &lines[i];
        t1071_buffer *buf = NULL;

        if (mode == MODE_JSON) {
            while ((rc = t1071_feed_json(ctx, l->s, l->len)) == T1071_E_QUEUE_FULL)
                tu_collect(ctx, all);
            if (rc != T1071_OK)
                fail_msg("%s line %" PRIu64 ": t1071_feed_json: %s (%s)", path, l->lineno,
                         t1071_strerror(rc), t1071_errmsg(ctx));
            continue;
        }
        rc = t1071_event_from_json(l->s, l->len, l->lineno, &buf);
        if (rc != T1071_OK)
            fail_msg("%s line %" PRIu64 ": t1071_event_from_json: %s", path, l->lineno,
                     t1071_strerror(rc));
        rc = tu_feed_event_retry(ctx, t1071_buffer_data(buf), t1071_buffer_size(buf), all, NULL);
        t1071_buffer_free(buf);
        if (rc != T1071_OK)
            fail_msg("%s line %" PRIu64 ": t1071_feed_event: %s (%s)", path, l->lineno,
                     t1071_strerror(rc), t1071_errmsg(ctx));
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, all, NULL), T1071_OK);
    tu_collect(ctx, all);
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), n_lines);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_TIMESTAMP), 0);
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_LATE), 0);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS), all->n);
    if (n_lines_out)
        *n_lines_out = n_lines;
    free(lines);
    free(data);
}

static char *
run_source(const char *name, bool derive, enum mode mode)
{
    const char *kv[] = {"rule.derive", derive ? "true" : "false", NULL};
    char path[4096];
    t1071_ctx *ctx = tu_ctx_new(kv);
    struct tu_alerts all = {0};
    struct tu_buf out = {0};

    snprintf(path, sizeof(path), "%s/%s.ndjson", SOURCES_DIR, name);
    feed_file(ctx, path, mode, &all, NULL);
    for (size_t i = 0; i < all.n; i++) {
        tu_buf_puts(&out, all.a[i].ids);
        tu_buf_puts(&out, "\n");
    }
    tu_buf_str(&out);
    tu_alerts_free(&all);
    t1071_free(ctx);
    return out.data;
}

static void
check_source(const char *name, bool derive, enum mode mode)
{
    char epath[4096];
    char *got, *want;
    size_t want_len;

    snprintf(epath, sizeof(epath), "%s/%s.%s.expected", SOURCES_DIR, name,
             derive ? "derive" : "faithful");
    want = tu_read_file(epath, &want_len);
    if (!want)
        fail_msg("cannot read %s", epath);
    got = run_source(name, derive, mode);
    if (strcmp(got, want) != 0) {
        const char *g = got, *w = want;
        size_t line = 1;

        while (*g && *g == *w) {
            if (*g == '\n')
                line++;
            g++;
            w++;
        }
        while (g > got && g[-1] != '\n')
            g--;
        while (w > want && w[-1] != '\n')
            w--;
        print_error("%s (%s, %s): first difference on output line %zu\n  got:      %.*s\n"
                    "  expected: %.*s\n",
                    name, derive ? "derive" : "faithful", mode == MODE_JSON ? "json" : "event",
                    line, (int)strcspn(g, "\n"), g, (int)strcspn(w, "\n"), w);
        if (derive && !*got)
            print_error("derive raised nothing: is t1071i_config_derive() called from "
                        "process_event() in lib/engine/?\n");
        free(got);
        free(want);
        fail();
    }
    free(got);
    free(want);
}

#define SOURCES(X)                                                             \
    X(elastic_endpoint_windows, "elastic-endpoint-windows")                    \
    X(elastic_endpoint_linux, "elastic-endpoint-linux")                        \
    X(packetbeat_flow, "packetbeat-flow")                                      \
    X(packetbeat_flow_pre711, "packetbeat-flow-pre711")                        \
    X(winlogbeat_sysmon3, "winlogbeat-sysmon3")                                \
    X(auditbeat_socket, "auditbeat-socket")                                    \
    X(suricata_eve_flow, "suricata-eve-flow")

#define DEFINE_TESTS(id, name)                                                 \
    static void test_sources_##id##_faithful_json(void **s)                    \
    {                                                                          \
        (void)s;                                                               \
        check_source(name, false, MODE_JSON);                                  \
    }                                                                          \
    static void test_sources_##id##_faithful_event(void **s)                   \
    {                                                                          \
        (void)s;                                                               \
        check_source(name, false, MODE_EVENT);                                 \
    }                                                                          \
    static void test_sources_##id##_derive_json(void **s)                      \
    {                                                                          \
        (void)s;                                                               \
        check_source(name, true, MODE_JSON);                                   \
    }                                                                          \
    static void test_sources_##id##_derive_event(void **s)                     \
    {                                                                          \
        (void)s;                                                               \
        check_source(name, true, MODE_EVENT);                                  \
    }
SOURCES(DEFINE_TESTS)

/* ===== The real Zeek capture ===== */

struct zeek_tally {
    size_t alerts;
    size_t by_key[2];     /* flow:10.0.1.6, flow:10.0.1.5 */
    size_t pure_c2[2];    /* of those, alerts whose every member goes to the C2 */
    size_t other_keys;
};

static const char *const c2_keys[2] = {"flow:10.0.1.6", "flow:10.0.1.5"};
static const int64_t c2_ports[2] = {8443, 443};

static void
zeek_poll(t1071_ctx *ctx, struct zeek_tally *t)
{
    t1071_alert_batch *b = NULL;

    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *data = NULL;
        size_t len = 0;
        tu_alert *a;
        int k = -1;

        assert_int_equal(t1071_alert_batch_get(b, i, &data, &len), T1071_OK);
        a = t1071__ecs__v1__alert__unpack(NULL, len, data);
        assert_non_null(a);
        assert_non_null(a->key);
        t->alerts++;
        for (int j = 0; j < 2; j++)
            if (!strcmp(a->key, c2_keys[j]))
                k = j;
        if (k < 0) {
            t->other_keys++;
        } else {
            bool pure = a->n_members == 10;

            t->by_key[k]++;
            /* A flow has no process: derive names it "unknown". */
            assert_non_null(a->process_name);
            assert_string_equal(a->process_name, "unknown");
            for (size_t m = 0; m < a->n_members; m++) {
                const T1071__Ecs__V1__AlertMember *mb = a->members[m];
                if (!mb->destination_ip || strcmp(mb->destination_ip, "192.168.0.4") != 0 ||
                    mb->destination_port != c2_ports[k])
                    pure = false;
            }
            t->pure_c2[k] += pure;
        }
        t1071__ecs__v1__alert__free_unpacked(a, NULL);
    }
    t1071_alert_batch_free(b);
}

static void
zeek_run(const char *const *kv, struct zeek_tally *t)
{
    size_t len, n_lines;
    char *data = tu_read_file(ZEEK_PATH, &len);
    struct line *lines;
    t1071_ctx *ctx = tu_ctx_new(kv);
    int rc;

    memset(t, 0, sizeof(*t));
    if (!data)
        fail_msg("cannot read %s", ZEEK_PATH);
    lines = split_lines(data, len, &n_lines);
    for (size_t i = 0; i < n_lines; i++) {
        while ((rc = t1071_feed_json(ctx, lines[i].s, lines[i].len)) == T1071_E_QUEUE_FULL)
            zeek_poll(ctx, t);
        if (rc != T1071_OK)
            fail_msg("%s line %" PRIu64 ": %s (%s)", ZEEK_PATH, lines[i].lineno,
                     t1071_strerror(rc), t1071_errmsg(ctx));
    }
    while ((rc = t1071_advance(ctx, INT64_MAX)) == T1071_E_QUEUE_FULL)
        zeek_poll(ctx, t);
    assert_int_equal(rc, T1071_OK);
    zeek_poll(ctx, t);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS), t->alerts);
    t1071_free(ctx);
    free(lines);
    free(data);
}

static void
test_sources_zeek_faithful_raises_nothing(void **s)
{
    const char *kv_open[] = {"rule.exclude_cidrs", "", NULL};
    struct zeek_tally t;

    (void)s;
    zeek_run(NULL, &t);
    assert_int_equal(t.alerts, 0);
    /* Not even with every destination allowed: flows carry no process. */
    zeek_run(kv_open, &t);
    assert_int_equal(t.alerts, 0);
}

static void
test_sources_zeek_derive_alerts_on_both_lab_c2_flows(void **s)
{
    const char *kv[] = {"rule.derive", "true", "rule.exclude_cidrs", "",
                        "rule.home_networks", "10.0.0.0/8", NULL};
    struct zeek_tally t;

    (void)s;
    zeek_run(kv, &t);
    /* 10.0.1.6 -> 192.168.0.4:8443: 376 flows within 24 h, nothing else to
     * a rule port from it: 376 - 9 windows, all pure C2. */
    assert_int_equal(t.by_key[0], 367);
    assert_int_equal(t.pure_c2[0], 367);
    /* 10.0.1.5 -> 192.168.0.4:443 (676 flows, PoshC2) plus a few Microsoft
     * and proxy connections from the same host under the same flow key. */
    assert_int_equal(t.by_key[1], 678);
    assert_int_equal(t.pure_c2[1], 638);
    assert_int_equal(t.other_keys, 0);
    assert_int_equal(t.alerts, 1045);
}

/* With the default home networks 192.168.0.0/16 is home too, so the lab C2
 * traffic is internal and (rightly) not egress: derive alone does not
 * invent a perimeter the operator has not described. */
static void
test_sources_zeek_derive_default_home_keeps_lab_c2_internal(void **s)
{
    const char *kv[] = {"rule.derive", "true", "rule.exclude_cidrs", "", NULL};
    struct zeek_tally t;

    (void)s;
    zeek_run(kv, &t);
    assert_int_equal(t.by_key[0], 0);
    assert_int_equal(t.pure_c2[1], 0);
}

/* The EVE mapping leaves ECS lines alone: an ECS line carrying EVE-looking
 * keys next to "@timestamp" is read as ECS. */
static void
test_sources_eve_keys_beside_timestamp_stay_ecs(void **s)
{
    static const char line[] =
        "{\"@timestamp\":\"2024-03-04T07:00:00Z\",\"event_type\":\"flow\","
        "\"src_ip\":\"192.168.1.50\",\"dest_ip\":\"203.0.113.200\",\"dest_port\":443}";
    static const char eve[] =
        "{\"timestamp\":\"2024-03-04T08:00:00.123456+0100\",\"flow_id\":42,"
        "\"event_type\":\"flow\",\"src_ip\":\"192.168.1.50\",\"dest_ip\":\"203.0.113.200\","
        "\"dest_port\":443,\"proto\":\"TCP\",\"flow\":{\"reason\":\"timeout\"}}";
    t1071_buffer *buf = NULL;
    tu_event *ev;

    (void)s;
    assert_int_equal(t1071_event_from_json(line, sizeof(line) - 1, 0, &buf), T1071_OK);
    ev = t1071__ecs__v1__event__unpack(NULL, t1071_buffer_size(buf), t1071_buffer_data(buf));
    assert_non_null(ev);
    assert_int_equal(ev->n_source_ip, 0);
    assert_int_equal(ev->n_destination_port, 0);
    assert_int_equal(ev->n_event_category, 0);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    t1071_buffer_free(buf);

    assert_int_equal(t1071_event_from_json(eve, sizeof(eve) - 1, 0, &buf), T1071_OK);
    ev = t1071__ecs__v1__event__unpack(NULL, t1071_buffer_size(buf), t1071_buffer_data(buf));
    assert_non_null(ev);
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, INT64_C(1709535600123));
    assert_string_equal(ev->event_id, "42");
    assert_int_equal(ev->n_source_ip, 1);
    assert_string_equal(ev->destination_ip[0], "203.0.113.200");
    assert_string_equal(ev->network_transport, "tcp");
    assert_int_equal(ev->n_event_type, 2);
    assert_string_equal(ev->event_type[1], "end");
    assert_int_equal(ev->n_network_direction, 0);
    assert_int_equal(ev->n_process_entity_id, 0);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    t1071_buffer_free(buf);
}

static tu_event *
event_of(const char *json)
{
    t1071_buffer *buf = NULL;
    tu_event *ev;

    assert_int_equal(t1071_event_from_json(json, strlen(json), 0, &buf), T1071_OK);
    ev = t1071__ecs__v1__event__unpack(NULL, t1071_buffer_size(buf), t1071_buffer_data(buf));
    assert_non_null(ev);
    t1071_buffer_free(buf);
    return ev;
}

/* The EVE mapping, record type by record type. */
static void
test_sources_eve_record_types(void **s)
{
    tu_event *ev;

    (void)s;
    /* netflow: a connection, never "end"; its bytes are the source's. */
    ev = event_of("{\"timestamp\":\"2024-03-04T08:01:02.5+0100\",\"flow_id\":\"77\","
                  "\"event_type\":\"netflow\",\"src_ip\":\"192.168.1.77\",\"src_port\":51000,"
                  "\"dest_ip\":\"198.51.100.10\",\"dest_port\":\"80\",\"proto\":\"Tcp\","
                  "\"app_proto\":\"http\",\"host\":\"ids-dmz-1\",\"netflow\":{\"bytes\":1234}}");
    assert_int_equal(ev->timestamp_ms, INT64_C(1709535662500));
    assert_int_equal(ev->n_event_category, 1);
    assert_string_equal(ev->event_category[0], "network");
    assert_int_equal(ev->n_event_type, 1);
    assert_string_equal(ev->event_type[0], "connection");
    assert_string_equal(ev->event_id, "77");
    assert_string_equal(ev->network_transport, "tcp");
    assert_string_equal(ev->network_protocol, "http");
    assert_string_equal(ev->host_name, "ids-dmz-1");
    assert_true(ev->has_source_port);
    assert_int_equal(ev->source_port, 51000);
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 80);
    assert_true(ev->has_source_bytes);
    assert_int_equal(ev->source_bytes, 1234);
    assert_string_equal(ev->event_module, "suricata");
    assert_string_equal(ev->event_dataset, "suricata.eve");
    t1071__ecs__v1__event__free_unpacked(ev, NULL);

    /* flow without an end: a connection; an explicit event.id wins over flow_id. */
    ev = event_of("{\"timestamp\":\"2024-03-04T08:01:02+0100\",\"flow_id\":9,"
                  "\"event\":{\"id\":\"evt-1\"},\"event_type\":\"flow\","
                  "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"203.0.113.5\",\"dest_port\":443,"
                  "\"flow\":{\"bytes_toserver\":10,\"bytes_toclient\":20,\"reason\":null}}");
    assert_int_equal(ev->n_event_type, 1);
    assert_string_equal(ev->event_id, "evt-1");
    assert_int_equal(ev->source_bytes, 10);
    assert_int_equal(ev->destination_bytes, 20);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    /* flow.end says it ended even when flow.reason is null. */
    ev = event_of("{\"timestamp\":\"2024-03-04T08:01:02+0100\",\"event_type\":\"flow\","
                  "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"203.0.113.5\","
                  "\"flow\":{\"end\":\"2024-03-04T08:01:01.000000+0100\",\"reason\":null}}");
    assert_int_equal(ev->n_event_type, 2);
    assert_string_equal(ev->event_type[1], "end");
    t1071__ecs__v1__event__free_unpacked(ev, NULL);

    /* alert / tls / dns records are not connections: no category, so one
     * connection is counted once (by its flow record). */
    ev = event_of("{\"timestamp\":\"2024-03-04T08:01:02+0100\",\"flow_id\":9,"
                  "\"event_type\":\"tls\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"203.0.113.5\","
                  "\"dest_port\":443,\"proto\":\"TCP\",\"tls\":{\"sni\":\"c2.example.net\"}}");
    assert_int_equal(ev->n_event_category, 0);
    assert_int_equal(ev->n_event_type, 0);
    assert_string_equal(ev->tls_client_server_name, "c2.example.net");
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    ev = event_of("{\"timestamp\":\"2024-03-04T08:01:02+0100\",\"event_type\":\"alert\","
                  "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"203.0.113.5\",\"dest_port\":80,"
                  "\"http\":{\"hostname\":\"c2.example.net\"}}");
    assert_int_equal(ev->n_event_category, 0);
    assert_string_equal(ev->destination_domain, "c2.example.net");
    assert_null(ev->event_id);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
}

#define LIST_TESTS(id, name)                                                   \
    cmocka_unit_test(test_sources_##id##_faithful_json),                       \
    cmocka_unit_test(test_sources_##id##_faithful_event),                      \
    cmocka_unit_test(test_sources_##id##_derive_json),                         \
    cmocka_unit_test(test_sources_##id##_derive_event),

int
main(void)
{
    const struct CMUnitTest tests[] = {
        SOURCES(LIST_TESTS)
        cmocka_unit_test(test_sources_zeek_faithful_raises_nothing),
        cmocka_unit_test(test_sources_zeek_derive_alerts_on_both_lab_c2_flows),
        cmocka_unit_test(test_sources_zeek_derive_default_home_keeps_lab_c2_internal),
        cmocka_unit_test(test_sources_eve_keys_beside_timestamp_stay_ecs),
        cmocka_unit_test(test_sources_eve_record_types),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
