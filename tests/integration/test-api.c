/* SPDX-License-Identifier: Apache-2.0 */
/* The public API contract: NULL handling and out-parameters of every
 * function, status strings, stat names, version sync, sharding, the alert
 * JSON, determinism across runs, and batch ownership. */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef T1071_PROJECT_VERSION
#error "T1071_PROJECT_VERSION must be meson.project_version()"
#endif

#define T0 INT64_C(1704067200000)

/* A beacon: @p n connections a minute apart to 203.0.113.5:@p port from
 * one process on one host. */
static struct tu_buf
beacon(int n, int64_t port, const char *key, const char *host)
{
    struct tu_buf b = {0};

    for (int i = 0; i < n; i++) {
        tu_event ev = T1071__ECS__V1__EVENT__INIT;
        char id[32];
        char *cat[] = {(char *)"network"}, *type[] = {(char *)"start"};
        char *dir[] = {(char *)"egress"}, *ip[] = {(char *)"203.0.113.5"};
        char *name[] = {(char *)"rundll32.exe"}, *keys[] = {(char *)key};
        int64_t ports[] = {port};
        size_t len;
        uint8_t *buf;

        snprintf(id, sizeof(id), "%s-%02d", key, i);
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = T0 + i * INT64_C(60000);
        ev.event_id = id;
        ev.host_id = (char *)host;
        ev.host_name = (char *)"WS-01";
        ev.event_category = cat;
        ev.n_event_category = 1;
        ev.event_type = type;
        ev.n_event_type = 1;
        ev.network_direction = dir;
        ev.n_network_direction = 1;
        ev.destination_ip = ip;
        ev.n_destination_ip = 1;
        ev.destination_port = ports;
        ev.n_destination_port = 1;
        ev.destination_domain = (char *)"cdn.example.net";
        ev.process_name = name;
        ev.n_process_name = 1;
        ev.process_executable = (char *)"C:\\Windows\\System32\\rundll32.exe";
        ev.process_entity_id = keys;
        ev.n_process_entity_id = 1;
        buf = tu_pack_event(&ev, &len);
        tu_append_delimited(&b, buf, len);
        free(buf);
    }
    return b;
}

/* Run @p stream through a fresh default context and return its batch. */
static t1071_alert_batch *
run_stream(const struct tu_buf *stream, t1071_ctx **ctx_out)
{
    t1071_ctx *ctx = NULL;
    t1071_alert_batch *b = NULL;
    size_t consumed = 0;

    assert_int_equal(t1071_init(&ctx, NULL), T1071_OK);
    assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)stream->data, stream->len, &consumed),
                     T1071_OK);
    assert_int_equal(consumed, stream->len);
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    if (ctx_out)
        *ctx_out = ctx;
    else
        t1071_free(ctx);
    return b;
}

/* ===== NULL handling ===== */

static void
test_api_config_null_args_fail_and_clear_out_params(void **state)
{
    t1071_config *cfg = (t1071_config *)1;
    char buf[8] = "xxxxxxx";
    size_t needed = 99;

    (void)state;
    assert_int_equal(t1071_config_new(NULL), T1071_E_INVALID_ARG);
    t1071_config_free(NULL);
    assert_int_equal(t1071_config_set(NULL, "rule.runs", "3"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_get(NULL, "rule.runs", buf, sizeof(buf), &needed),
                     T1071_E_INVALID_ARG);
    assert_int_equal(needed, 0);
    assert_int_equal(t1071_config_load_file(NULL, "/dev/null"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_load_data(NULL, "", 0), T1071_E_INVALID_ARG);
    assert_non_null(t1071_config_errmsg(NULL));
    assert_string_equal(t1071_config_errmsg(NULL), "");

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_non_null(cfg);
    assert_int_equal(t1071_config_set(cfg, NULL, "3"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", NULL), T1071_E_INVALID_ARG);
    needed = 99;
    assert_int_equal(t1071_config_get(cfg, NULL, buf, sizeof(buf), &needed),
                     T1071_E_INVALID_ARG);
    assert_int_equal(needed, 0);
    assert_int_equal(t1071_config_get(cfg, "rule.runs", NULL, 4, NULL), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_load_file(cfg, NULL), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_load_data(cfg, NULL, 3), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_load_file(cfg, "/nonexistent/dir/t1071.ini"), T1071_E_IO);
    assert_string_not_equal(t1071_config_errmsg(cfg), "");
    t1071_config_free(cfg);
}

static void
test_api_ctx_null_args_fail_and_clear_out_params(void **state)
{
    t1071_ctx *ctx = (t1071_ctx *)1;
    t1071_alert_batch *batch = (t1071_alert_batch *)1;
    size_t consumed = 99;
    uint64_t v = 99;
    static const uint8_t one[] = {0};

    (void)state;
    assert_int_equal(t1071_init(NULL, NULL), T1071_E_INVALID_ARG);
    t1071_free(NULL);
    assert_string_equal(t1071_errmsg(NULL), "");
    assert_int_equal(t1071_feed_event(NULL, one, 1), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_feed_batch(NULL, one, 1, &consumed), T1071_E_INVALID_ARG);
    assert_int_equal(consumed, 0);
    assert_int_equal(t1071_feed_json(NULL, "{}", 2), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_advance(NULL, 0), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_poll_alerts(NULL, &batch), T1071_E_INVALID_ARG);
    assert_null(batch);
    assert_int_equal(t1071_stats_get(NULL, 0, &v), T1071_E_INVALID_ARG);
    assert_int_equal(v, 0);

    assert_int_equal(t1071_init(&ctx, NULL), T1071_OK);
    assert_non_null(ctx);
    assert_string_equal(t1071_errmsg(ctx), "");
    assert_int_equal(t1071_feed_event(ctx, NULL, 5), T1071_E_INVALID_ARG);
    consumed = 99;
    assert_int_equal(t1071_feed_batch(ctx, NULL, 5, &consumed), T1071_E_INVALID_ARG);
    assert_int_equal(consumed, 0);
    assert_int_equal(t1071_feed_batch(ctx, NULL, 0, NULL), T1071_OK); /* nothing to do */
    assert_int_equal(t1071_feed_json(ctx, NULL, 5), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_poll_alerts(ctx, NULL), T1071_E_INVALID_ARG);
    batch = (t1071_alert_batch *)1;
    assert_int_equal(t1071_poll_alerts(ctx, &batch), T1071_OK);
    assert_null(batch); /* no alert: NULL, not an empty batch */
    assert_int_equal(t1071_stats_get(ctx, 0, NULL), T1071_E_INVALID_ARG);
    v = 99;
    assert_int_equal(t1071_stats_get(ctx, -1, &v), T1071_E_RANGE);
    assert_int_equal(v, 0);
    v = 99;
    assert_int_equal(t1071_stats_get(ctx, T1071_STAT_EVENTS_NETWORK + 1, &v), T1071_E_RANGE);
    assert_int_equal(v, 0);
    /* a failed call leaves a message */
    assert_int_equal(t1071_feed_event(ctx, one, 1), T1071_E_DECODE);
    assert_string_not_equal(t1071_errmsg(ctx), "");
    t1071_free(ctx);
}

static void
test_api_batch_and_buffer_null_args_fail_and_clear_out_params(void **state)
{
    const uint8_t *data = (const uint8_t *)1;
    const char *json = (const char *)1;
    size_t len = 99;
    t1071_buffer *buf = (t1071_buffer *)1;
    struct tu_buf stream = beacon(10, 443, "K", "H");
    t1071_alert_batch *b;

    (void)state;
    assert_int_equal(t1071_alert_batch_count(NULL), 0);
    assert_int_equal(t1071_alert_batch_get(NULL, 0, &data, &len), T1071_E_INVALID_ARG);
    assert_null(data);
    assert_int_equal(len, 0);
    json = (const char *)1;
    len = 99;
    assert_int_equal(t1071_alert_batch_get_json(NULL, 0, &json, &len), T1071_E_INVALID_ARG);
    assert_null(json);
    assert_int_equal(len, 0);
    t1071_alert_batch_free(NULL);

    assert_int_equal(t1071_event_from_json(NULL, 3, 0, &buf), T1071_E_INVALID_ARG);
    assert_null(buf);
    assert_int_equal(t1071_event_from_json("{}", 2, 0, NULL), T1071_E_INVALID_ARG);
    buf = (t1071_buffer *)1;
    assert_int_equal(t1071_event_from_json("{", 1, 0, &buf), T1071_E_JSON);
    assert_null(buf);
    assert_null(t1071_buffer_data(NULL));
    assert_int_equal(t1071_buffer_size(NULL), 0);
    t1071_buffer_free(NULL);

    b = run_stream(&stream, NULL);
    assert_int_equal(t1071_alert_batch_count(b), 1);
    assert_int_equal(t1071_alert_batch_get(b, 0, NULL, &len), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_alert_batch_get(b, 0, &data, NULL), T1071_E_INVALID_ARG);
    assert_null(data);
    data = (const uint8_t *)1;
    len = 99;
    assert_int_equal(t1071_alert_batch_get(b, 1, &data, &len), T1071_E_RANGE);
    assert_null(data);
    assert_int_equal(len, 0);
    json = (const char *)1;
    len = 99;
    assert_int_equal(t1071_alert_batch_get_json(b, 1, &json, &len), T1071_E_RANGE);
    assert_null(json);
    assert_int_equal(len, 0);
    assert_int_equal(t1071_alert_batch_get_json(b, SIZE_MAX, &json, &len), T1071_E_RANGE);
    assert_int_equal(t1071_alert_batch_get_json(b, 0, NULL, &len), T1071_E_INVALID_ARG);
    t1071_alert_batch_free(b);
    tu_buf_free(&stream);
}

static void
test_api_event_shard_null_args_invalid(void **state)
{
    uint32_t shard = 99;
    static const uint8_t empty[1] = {0};

    (void)state;
    assert_int_equal(t1071_event_shard(NULL, 3, 4, &shard), T1071_E_INVALID_ARG);
    assert_int_equal(shard, 0);
    shard = 99;
    assert_int_equal(t1071_event_shard(empty, 0, 0, &shard), T1071_E_INVALID_ARG);
    assert_int_equal(shard, 0);
    assert_int_equal(t1071_event_shard(empty, 0, 4, NULL), T1071_E_INVALID_ARG);
    shard = 99;
    assert_int_equal(t1071_event_shard(empty, 1, 4, &shard), T1071_E_DECODE);
    assert_int_equal(shard, 0);
    shard = 99;
    assert_int_equal(t1071_event_shard(empty, 0, 4, &shard), T1071_OK); /* no host: shard 0 */
    assert_int_equal(shard, 0);
}

/* ===== Status strings, stat names, version ===== */

static void
test_api_strerror_every_code_distinct_unknown_generic(void **state)
{
    const char *seen[17];
    static const int unknown[] = {1, 2, -17, -100, INT_MAX, INT_MIN};

    (void)state;
    for (int code = 0; code >= T1071_E_UNSUPPORTED; code--) {
        const char *s = t1071_strerror(code);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        if (!strcmp(s, "unknown error"))
            fail_msg("code %d has no description", code);
        for (int j = 0; j < -code; j++)
            if (!strcmp(seen[j], s))
                fail_msg("codes %d and %d share \"%s\"", -j, code, s);
        seen[-code] = s;
    }
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_string_equal(t1071_strerror(unknown[i]), "unknown error");
    /* pinned values */
    assert_int_equal(T1071_E_INVALID_ARG, -1);
    assert_int_equal(T1071_E_QUEUE_FULL, -6);
    assert_int_equal(T1071_E_RANGE, -12);
    assert_int_equal(T1071_E_SNAPSHOT, -13);
    assert_int_equal(T1071_E_VERSION, -14);
    assert_int_equal(T1071_E_RULE, -15);
    assert_int_equal(T1071_E_UNSUPPORTED, -16);
}

static void
test_api_stat_names_dense_unique_snake_case(void **state)
{
    static const struct {
        int id;
        const char *name;
    } pinned[] = {
        {T1071_STAT_RECORDS_IN, "records_in"},
        {T1071_STAT_ERR_DECODE, "errors_decode"},
        {T1071_STAT_EVENTS_LATE, "events_late"},
        {T1071_STAT_QUEUE_FULL, "queue_full_refusals"},
        {T1071_STAT_KEYS, "keys_tracked"},
        {T1071_STAT_MEMORY_BYTES, "memory_bytes"},
        {T1071_STAT_MEMORY_PEAK_BYTES, "memory_peak_bytes"},
        {T1071_STAT_KEYS_EVICTED, "keys_evicted"},
        {T1071_STAT_EVENTS_DROPPED_MEMORY, "events_dropped_memory"},
        {T1071_STAT_KEY_VALUES_DROPPED, "key_values_dropped"},
        {T1071_STAT_ALERTS_SUPPRESSED, "alerts_suppressed"},
        {T1071_STAT_LATENESS_MAX_MS, "lateness_max_ms"},
        {T1071_STAT_RECORDS_ECS, "records_ecs"},
        {T1071_STAT_RECORDS_SURICATA, "records_suricata"},
        {T1071_STAT_RECORDS_SYSMON, "records_sysmon"},
        {T1071_STAT_RECORDS_ZEEK, "records_zeek"},
        {T1071_STAT_RECORDS_UNRECOGNISED, "records_unrecognised"},
        {T1071_STAT_RECORDS_NO_TIME, "records_no_time"},
        {T1071_STAT_RECORDS_NOT_NETWORK, "records_not_network"},
        {T1071_STAT_EVENTS_NETWORK, "events_network"},
    };
    t1071_ctx *ctx = NULL;
    int n = 0;

    (void)state;
    assert_null(t1071_stat_name(-1));
    assert_null(t1071_stat_name(INT_MIN));
    while (t1071_stat_name(n))
        n++;
    assert_int_equal(n, T1071_STAT_EVENTS_NETWORK + 1);
    assert_null(t1071_stat_name(INT_MAX));
    assert_int_equal(t1071_init(&ctx, NULL), T1071_OK);
    for (int i = 0; i < n; i++) {
        const char *s = t1071_stat_name(i);
        uint64_t v = 99;
        assert_true(strlen(s) > 0);
        assert_int_equal(strspn(s, "abcdefghijklmnopqrstuvwxyz_"), strlen(s));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(t1071_stat_name(j), s);
        /* every named id can be read */
        assert_int_equal(t1071_stats_get(ctx, i, &v), T1071_OK);
    }
    for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
        assert_string_equal(t1071_stat_name(pinned[i].id), pinned[i].name);
    t1071_free(ctx);
}

static void
test_api_version_header_runtime_and_meson_agree(void **state)
{
    char header[32];

    (void)state;
    snprintf(header, sizeof(header), "%d.%d.%d", T1071_VERSION_MAJOR, T1071_VERSION_MINOR,
             T1071_VERSION_PATCH);
    assert_string_equal(header, T1071_PROJECT_VERSION);
    assert_string_equal(t1071_version_string(), T1071_PROJECT_VERSION);
    assert_int_equal(t1071_version_number(), T1071_VERSION_NUMBER);
    assert_int_equal(T1071_VERSION_NUMBER, T1071_VERSION_MAJOR * 10000 +
                                               T1071_VERSION_MINOR * 100 + T1071_VERSION_PATCH);
}

/* ===== Sharding ===== */

static uint8_t *
host_event(const char *host_id, const char *host_name, int64_t ts, size_t *len)
{
    tu_event ev = T1071__ECS__V1__EVENT__INIT;

    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = ts;
    ev.host_id = (char *)host_id;
    ev.host_name = (char *)host_name;
    ev.event_id = (char *)"shard";
    return tu_pack_event(&ev, len);
}

static uint32_t
shard_of(const char *host_id, const char *host_name, int64_t ts, uint32_t n)
{
    size_t len;
    uint8_t *buf = host_event(host_id, host_name, ts, &len);
    uint32_t shard = UINT32_MAX;

    assert_int_equal(t1071_event_shard(buf, len, n, &shard), T1071_OK);
    free(buf);
    assert_true(shard < n);
    return shard;
}

static void
test_api_event_shard_stable_in_range_by_host(void **state)
{
    unsigned used[8] = {0};
    char host[32];

    (void)state;
    for (int h = 0; h < 2000; h++) {
        uint32_t s;
        snprintf(host, sizeof(host), "host-%d", h);
        s = shard_of(host, NULL, T0, 8);
        used[s]++;
        /* same host, other events: same shard; host.id wins over host.name */
        assert_int_equal(shard_of(host, "some-name", T0 + h, 8), s);
        assert_int_equal(shard_of(NULL, host, T0 + 7, 8), s);
        assert_int_equal(shard_of(host, NULL, T0, 1), 0);
        assert_true(shard_of(host, NULL, T0, 1000) < 1000);
    }
    for (int s = 0; s < 8; s++)
        if (used[s] < 100)
            fail_msg("shard %d got %u of 2000 hosts", s, used[s]);
    assert_int_equal(shard_of(NULL, NULL, T0, 8), 0);
    assert_int_equal(shard_of("", NULL, T0, 8), 0);
    /* fixed across calls: a known host keeps a known shard within a run */
    assert_int_equal(shard_of("host-1", NULL, T0, 8), shard_of("host-1", NULL, T0 + 1, 8));
    /* different hosts do not all collapse to one shard */
    assert_int_not_equal(shard_of("host-1", NULL, T0, 1u << 31),
                         shard_of("host-2", NULL, T0, 1u << 31));
}

/* ===== Alert JSON ===== */

static const struct tu_json *
need(const struct tu_json *root, const char *path, enum tu_json_type type)
{
    const struct tu_json *v = tu_json_get(root, path);

    if (!v)
        fail_msg("alert JSON has no %s", path);
    if (v->type != type)
        fail_msg("alert JSON %s has type %d, expected %d", path, v->type, type);
    return v;
}

static bool
has_subtechnique(const struct tu_json *root, const char *id)
{
    const struct tu_json *subs = need(root, "kibana.alert.rule.threat.0.technique.0.subtechnique",
                                      TU_JARR);
    for (size_t i = 0; i < subs->n; i++) {
        const struct tu_json *sid = tu_json_get(subs->items[i], "id");
        if (sid && sid->type == TU_JSTR && !strcmp(sid->str, id))
            return true;
    }
    return false;
}

static struct tu_json *
alert_json(t1071_alert_batch *b, size_t i)
{
    const char *json = NULL;
    size_t len = 0;
    char err[128];
    struct tu_json *root;

    assert_int_equal(t1071_alert_batch_get_json(b, i, &json, &len), T1071_OK);
    assert_non_null(json);
    assert_int_equal(strlen(json), len);
    assert_null(memchr(json, '\n', len));
    root = tu_json_parse(json, len, err, sizeof(err));
    if (!root)
        fail_msg("alert JSON is not valid JSON (%s): %s", err, json);
    assert_int_equal(root->type, TU_JOBJ);
    return root;
}

static void
test_api_alert_json_valid_with_elastic_fields_port_443(void **state)
{
    struct tu_buf stream = beacon(10, 443, "proc-443", "H");
    t1071_alert_batch *b = run_stream(&stream, NULL);
    t1071_config *cfg = NULL;
    char rule_id[128];
    struct tu_json *root;
    const struct tu_json *v;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_get(cfg, "rule.rule_id", rule_id, sizeof(rule_id), NULL),
                     T1071_OK);
    t1071_config_free(cfg);
    assert_int_equal(t1071_alert_batch_count(b), 1);
    root = alert_json(b, 0);
    assert_string_equal(need(root, "kibana.alert.rule.rule_id", TU_JSTR)->str, rule_id);
    assert_string_equal(need(root, "kibana.alert.severity", TU_JSTR)->str, "high");
    v = need(root, "kibana.alert.risk_score", TU_JNUM);
    assert_string_equal(v->str, "73");
    assert_string_equal(need(root, "kibana.alert.rule.threat.0.tactic.id", TU_JSTR)->str,
                        "TA0011");
    assert_string_equal(need(root, "kibana.alert.rule.threat.0.technique.0.id", TU_JSTR)->str,
                        "T1071");
    assert_true(has_subtechnique(root, "T1071.001"));
    assert_false(has_subtechnique(root, "T1071.004"));
    need(root, "kibana.alert.group.id", TU_JSTR);
    need(root, "@timestamp", TU_JSTR);
    assert_string_equal(need(root, "process.entity_id", TU_JSTR)->str, "proc-443");
    tu_json_free(root);
    t1071_alert_batch_free(b);
    tu_buf_free(&stream);
}

/* Alerts of every size render whole: the renderer unpacks into a stack
 * arena, spills past it to malloc, and past its spill list unpacks with
 * malloc alone.  Members with long ids full of characters to escape
 * (quote, backslash, control, DEL, UTF-8, invalid UTF-8) at runs 10
 * (arena), 40 (spills) and 400 (falls back): every id comes back exactly,
 * in order. */
static void
test_api_alert_json_large_alerts_render_whole(void **state)
{
    const int runs[] = {10, 40, 400};

    (void)state;
    for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
        int n = runs[r];
        struct tu_buf stream = {0};
        char **ids = calloc((size_t)n, sizeof(*ids));
        t1071_config *cfg = NULL;
        t1071_ctx *ctx = NULL;
        t1071_alert_batch *b = NULL;
        size_t consumed = 0;
        char nbuf[16];

        for (int i = 0; i < n; i++) {
            tu_event ev = T1071__ECS__V1__EVENT__INIT;
            char *cat[] = {(char *)"network"}, *type[] = {(char *)"start"};
            char *dir[] = {(char *)"egress"}, *ip[] = {(char *)"203.0.113.5"};
            char *name[] = {(char *)"rundll32.exe"}, *keys[] = {(char *)"big"};
            int64_t ports[] = {443};
            size_t len;
            uint8_t *buf;
            struct tu_buf id = {0};

            tu_buf_printf(&id, "%04d-", i);
            for (int k = 0; k < 12; k++)
                tu_buf_puts(&id, "plain text \"q\" back\\slash \x01\x1f\x7f caf\xc3\xa9 \xff|");
            ids[i] = strdup(tu_buf_str(&id));
            tu_buf_free(&id);
            ev.has_timestamp_ms = 1;
            ev.timestamp_ms = T0 + i * INT64_C(1000);
            ev.event_id = ids[i];
            ev.host_id = (char *)"H";
            ev.event_category = cat;
            ev.n_event_category = 1;
            ev.event_type = type;
            ev.n_event_type = 1;
            ev.network_direction = dir;
            ev.n_network_direction = 1;
            ev.destination_ip = ip;
            ev.n_destination_ip = 1;
            ev.destination_port = ports;
            ev.n_destination_port = 1;
            ev.process_name = name;
            ev.n_process_name = 1;
            ev.process_entity_id = keys;
            ev.n_process_entity_id = 1;
            buf = tu_pack_event(&ev, &len);
            tu_append_delimited(&stream, buf, len);
            free(buf);
        }
        snprintf(nbuf, sizeof(nbuf), "%d", n);
        assert_int_equal(t1071_config_new(&cfg), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "rule.runs", nbuf), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "engine.max_event_bytes", "65536"), T1071_OK);
        assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
        t1071_config_free(cfg);
        assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)stream.data, stream.len,
                                          &consumed), T1071_OK);
        assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
        assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
        assert_int_equal(t1071_alert_batch_count(b), 1);
        {
            struct tu_json *root = alert_json(b, 0);
            const struct tu_json *ev = need(root, "t1071.event_ids", TU_JARR);
            assert_int_equal(ev->n, (size_t)n);
            for (int i = 0; i < n; i++) {
                /* invalid UTF-8 comes back as U+FFFD, as it always did */
                struct tu_buf want = {0};
                const char *p = ids[i];
                for (; *p; p++) {
                    if ((unsigned char)*p == 0xff)
                        tu_buf_puts(&want, "\xef\xbf\xbd");
                    else
                        tu_buf_append(&want, p, 1);
                }
                assert_int_equal(ev->items[i]->type, TU_JSTR);
                assert_string_equal(ev->items[i]->str, tu_buf_str(&want));
                tu_buf_free(&want);
            }
            tu_json_free(root);
        }
        t1071_alert_batch_free(b);
        t1071_free(ctx);
        tu_buf_free(&stream);
        for (int i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
    }
}

static void
test_api_alert_json_port_53_maps_to_dns_subtechnique(void **state)
{
    struct tu_buf stream = beacon(10, 53, "proc-53", "H");
    t1071_alert_batch *b = run_stream(&stream, NULL);
    struct tu_json *root;

    (void)state;
    assert_int_equal(t1071_alert_batch_count(b), 1);
    root = alert_json(b, 0);
    assert_true(has_subtechnique(root, "T1071.004"));
    assert_false(has_subtechnique(root, "T1071.001"));
    assert_string_equal(need(root, "kibana.alert.rule.threat.0.tactic.id", TU_JSTR)->str,
                        "TA0011");
    tu_json_free(root);
    t1071_alert_batch_free(b);
    tu_buf_free(&stream);
}

static void
test_api_alert_json_escapes_hostile_strings(void **state)
{
    /* a key with quotes, backslashes, control characters, invalid UTF-8 */
    struct tu_buf stream = beacon(10, 443, "k\"\\\n\t\x01\x7f\xc3\xa9\xff/</script>", "h\"");
    t1071_alert_batch *b = run_stream(&stream, NULL);
    struct tu_json *root;

    (void)state;
    assert_int_equal(t1071_alert_batch_count(b), 1);
    root = alert_json(b, 0);
    assert_non_null(strstr(need(root, "process.entity_id", TU_JSTR)->str, "k\"\\\n\t\x01"));
    tu_json_free(root);
    t1071_alert_batch_free(b);
    tu_buf_free(&stream);
}

static void
test_api_group_id_identical_across_two_runs(void **state)
{
    struct tu_buf stream = beacon(14, 443, "proc-g", "H");
    t1071_alert_batch *b1 = run_stream(&stream, NULL), *b2 = run_stream(&stream, NULL);
    size_t n = t1071_alert_batch_count(b1);

    (void)state;
    assert_int_equal(n, 5);
    assert_int_equal(t1071_alert_batch_count(b2), n);
    for (size_t i = 0; i < n; i++) {
        struct tu_json *j1 = alert_json(b1, i), *j2 = alert_json(b2, i);
        const uint8_t *p1, *p2;
        size_t l1, l2;
        struct tu_alert_text t1, t2;

        assert_string_equal(need(j1, "kibana.alert.group.id", TU_JSTR)->str,
                            need(j2, "kibana.alert.group.id", TU_JSTR)->str);
        /* and every alert of one run has its own group */
        if (i > 0) {
            struct tu_json *prev = alert_json(b1, i - 1);
            assert_string_not_equal(need(prev, "kibana.alert.group.id", TU_JSTR)->str,
                                    need(j1, "kibana.alert.group.id", TU_JSTR)->str);
            tu_json_free(prev);
        }
        /* the protobuf alerts are byte for byte the same too */
        assert_int_equal(t1071_alert_batch_get(b1, i, &p1, &l1), T1071_OK);
        assert_int_equal(t1071_alert_batch_get(b2, i, &p2, &l2), T1071_OK);
        assert_int_equal(l1, l2);
        assert_memory_equal(p1, p2, l1);
        assert_true(tu_alert_text(p1, l1, &t1));
        assert_true(tu_alert_text(p2, l2, &t2));
        assert_string_equal(t1.group_id, t2.group_id);
        assert_true(strlen(t1.group_id) > 0);
        free(t1.key);
        free(t1.ids);
        free(t1.group_id);
        free(t2.key);
        free(t2.ids);
        free(t2.group_id);
        tu_json_free(j1);
        tu_json_free(j2);
    }
    t1071_alert_batch_free(b1);
    t1071_alert_batch_free(b2);
    tu_buf_free(&stream);
}

/* ===== Ownership ===== */

static void
test_api_batch_usable_after_ctx_freed(void **state)
{
    struct tu_buf stream = beacon(12, 8080, "proc-own", "H");
    t1071_ctx *ctx = NULL;
    t1071_alert_batch *b = run_stream(&stream, &ctx);
    const uint8_t *data;
    size_t len;
    struct tu_alert_text t;
    struct tu_json *root;

    (void)state;
    t1071_free(ctx);
    tu_buf_free(&stream); /* the input is gone too */
    assert_int_equal(t1071_alert_batch_count(b), 3);
    assert_int_equal(t1071_alert_batch_get(b, 2, &data, &len), T1071_OK);
    assert_true(tu_alert_text(data, len, &t));
    assert_string_equal(t.ids, "[\"proc-own-02\",\"proc-own-03\",\"proc-own-04\",\"proc-own-05\","
                               "\"proc-own-06\",\"proc-own-07\",\"proc-own-08\",\"proc-own-09\","
                               "\"proc-own-10\",\"proc-own-11\"]");
    assert_string_equal(t.key, "proc-own");
    free(t.key);
    free(t.ids);
    free(t.group_id);
    root = alert_json(b, 1);
    assert_true(has_subtechnique(root, "T1071.001"));
    tu_json_free(root);
    t1071_alert_batch_free(b);
}

static void
test_api_config_copied_at_init(void **state)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    struct tu_buf stream = beacon(3, 443, "proc-cfg", "H");
    t1071_alert_batch *b = NULL;
    size_t consumed;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "3"), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    /* later changes do not reach the context */
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "100"), T1071_OK);
    t1071_config_free(cfg);
    assert_int_equal(t1071_feed_batch(ctx, (const uint8_t *)stream.data, stream.len, &consumed),
                     T1071_OK);
    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    assert_int_equal(t1071_alert_batch_count(b), 1);
    t1071_alert_batch_free(b);
    t1071_free(ctx);
    tu_buf_free(&stream);
}

static void
test_api_config_bad_value_and_unknown_key_rejected(void **state)
{
    t1071_config *cfg = NULL;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "0"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "no.such.key", "1"), T1071_E_UNKNOWN_KEY);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "no.such.key"));
    t1071_config_free(cfg);
}

static void
test_api_event_from_json_round_trips_through_feed(void **state)
{
    static const char line[] =
        "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":\"network\","
        "\"type\":[\"start\"]},\"network\":{\"direction\":\"egress\"},"
        "\"destination\":{\"ip\":\"203.0.113.5\",\"port\":\"443\"},"
        "\"process\":{\"name\":\"x\",\"entity_id\":\"J\"}}";
    t1071_buffer *buf = NULL;
    t1071_ctx *ctx = NULL;
    t1071_config *cfg = NULL;
    t1071_alert_batch *b = NULL;
    const uint8_t *data;
    size_t len;
    struct tu_alert_text t;
    tu_event *ev;

    (void)state;
    assert_int_equal(t1071_event_from_json(line, strlen(line), 42, &buf), T1071_OK);
    assert_non_null(buf);
    assert_true(t1071_buffer_size(buf) > 0);
    ev = t1071__ecs__v1__event__unpack(NULL, t1071_buffer_size(buf), t1071_buffer_data(buf));
    assert_non_null(ev);
    assert_true(ev->has_record_number);
    assert_int_equal(ev->record_number, 42);
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 443); /* "443" counts as 443 */
    t1071__ecs__v1__event__free_unpacked(ev, NULL);

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "1"), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    assert_int_equal(t1071_feed_event(ctx, t1071_buffer_data(buf), t1071_buffer_size(buf)),
                     T1071_OK);
    t1071_buffer_free(buf);
    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    assert_int_equal(t1071_alert_batch_count(b), 1);
    assert_int_equal(t1071_alert_batch_get(b, 0, &data, &len), T1071_OK);
    assert_true(tu_alert_text(data, len, &t));
    assert_string_equal(t.ids, "[\"line:42\"]"); /* no event.id: named by its line */
    free(t.key);
    free(t.ids);
    free(t.group_id);
    t1071_alert_batch_free(b);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_config_null_args_fail_and_clear_out_params),
        cmocka_unit_test(test_api_ctx_null_args_fail_and_clear_out_params),
        cmocka_unit_test(test_api_batch_and_buffer_null_args_fail_and_clear_out_params),
        cmocka_unit_test(test_api_event_shard_null_args_invalid),
        cmocka_unit_test(test_api_strerror_every_code_distinct_unknown_generic),
        cmocka_unit_test(test_api_stat_names_dense_unique_snake_case),
        cmocka_unit_test(test_api_version_header_runtime_and_meson_agree),
        cmocka_unit_test(test_api_event_shard_stable_in_range_by_host),
        cmocka_unit_test(test_api_alert_json_valid_with_elastic_fields_port_443),
        cmocka_unit_test(test_api_alert_json_port_53_maps_to_dns_subtechnique),
        cmocka_unit_test(test_api_alert_json_large_alerts_render_whole),
        cmocka_unit_test(test_api_alert_json_escapes_hostile_strings),
        cmocka_unit_test(test_api_group_id_identical_across_two_runs),
        cmocka_unit_test(test_api_batch_usable_after_ctx_freed),
        cmocka_unit_test(test_api_config_copied_at_init),
        cmocka_unit_test(test_api_config_bad_value_and_unknown_key_rejected),
        cmocka_unit_test(test_api_event_from_json_round_trips_through_feed),
    };

    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
