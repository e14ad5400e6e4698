/* SPDX-License-Identifier: Apache-2.0 */
/* Raw input shapes (issue 12) against their converted twins, field by
 * field, through the public t1071_event_from_json():
 *
 *   - each raw Sysmon capture in fixtures/real/raw/ (NXLog im_msvistalog
 *     JSON, Winlogbeat 6.7 without the ECS mapping) holds the events of its
 *     converted twin fixtures/real/<name>.ecs.ndjson in another order:
 *     matched by (ProcessGuid, SourcePort, UtcTime), every Event field
 *     except input_shape must be equal;
 *   - the raw json-streaming Zeek conn log of day 2's NEWYORK sensor gives
 *     the twin's day2_NEWYORK flows (matched by uid = the twin's flow.id),
 *     every Event field equal, event.id aside (the uid: the twin has none);
 *   - Winlogbeat 7 (winlog.event_data), Zeek's own writer (id.orig_h, ts
 *     as ISO 8601 or epoch) and input.source forcing. */
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

#define REAL T1071_FIXTURES "/real/"

typedef T1071__Ecs__V1__Event event_t;

struct rec {
    event_t *ev;
    const char *line;
    size_t len;
    bool used;
};

static event_t *
decode_as(const char *line, size_t len, const char *source)
{
    t1071_buffer *b = NULL;
    event_t *ev;

    assert_int_equal(t1071_event_from_json_as(line, len, 0, source, &b), T1071_OK);
    ev = t1071__ecs__v1__event__unpack(NULL, t1071_buffer_size(b), t1071_buffer_data(b));
    assert_non_null(ev);
    t1071_buffer_free(b);
    return ev;
}

static event_t *
decode(const char *line, size_t len)
{
    return decode_as(line, len, NULL);
}

/* Every line of @p path decoded; the file text stays alive in *text. */
static struct rec *
read_recs(const char *path, size_t *n_out, char **text)
{
    size_t len, n = 0, cap = 0;
    char *data = tu_read_file(path, &len), *p;
    struct rec *recs = NULL;

    assert_non_null(data);
    for (p = data; p < data + len;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        if (l) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                recs = realloc(recs, cap * sizeof(*recs));
                assert_non_null(recs);
            }
            recs[n].ev = decode(p, l);
            recs[n].line = p;
            recs[n].len = l;
            recs[n].used = false;
            n++;
        }
        p += l + 1;
    }
    *n_out = n;
    *text = data;
    return recs;
}

static void
free_recs(struct rec *r, size_t n, char *text)
{
    for (size_t i = 0; i < n; i++)
        t1071__ecs__v1__event__free_unpacked(r[i].ev, NULL);
    free(r);
    free(text);
}

static bool
same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool
same_strs(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

#define SAME_INT(f) (a->has_##f == b->has_##f && (!a->has_##f || a->f == b->f))
#define SAME_STR(f) same_str(a->f, b->f)
#define SAME_STRS(f) same_strs(a->f, a->n_##f, b->f, b->n_##f)

/* Every Event field but input_shape, event_id (when !with_id) and
 * record_number; on a difference, the name of the first that differs. */
static const char *
differs(const event_t *a, const event_t *b, bool with_id)
{
    if (!SAME_INT(timestamp_ms)) return "timestamp_ms";
    if (with_id && !SAME_STR(event_id)) return "event_id";
    if (!SAME_STR(event_kind)) return "event_kind";
    if (!SAME_STRS(event_category)) return "event_category";
    if (!SAME_STRS(event_type)) return "event_type";
    if (!SAME_STR(event_action)) return "event_action";
    if (!SAME_STR(event_dataset)) return "event_dataset";
    if (!SAME_STR(event_module)) return "event_module";
    if (!SAME_STRS(network_direction)) return "network_direction";
    if (!SAME_STR(network_transport)) return "network_transport";
    if (!SAME_STR(network_protocol)) return "network_protocol";
    if (!SAME_STR(network_community_id)) return "network_community_id";
    if (!SAME_STRS(source_ip)) return "source_ip";
    if (!SAME_INT(source_port)) return "source_port";
    if (!SAME_INT(source_bytes)) return "source_bytes";
    if (!SAME_STRS(destination_ip)) return "destination_ip";
    if (a->n_destination_port != b->n_destination_port ||
        (a->n_destination_port && a->destination_port[0] != b->destination_port[0]))
        return "destination_port";
    if (!SAME_STR(destination_domain)) return "destination_domain";
    if (!SAME_INT(destination_bytes)) return "destination_bytes";
    if (!SAME_STRS(process_entity_id)) return "process_entity_id";
    if (!SAME_INT(process_pid)) return "process_pid";
    if (!SAME_STRS(process_name)) return "process_name";
    if (!SAME_STR(process_executable)) return "process_executable";
    if (!SAME_INT(process_start_ms)) return "process_start_ms";
    if (!SAME_STR(host_id)) return "host_id";
    if (!SAME_STR(host_name)) return "host_name";
    if (!SAME_STR(user_name)) return "user_name";
    if (!SAME_STR(url_full)) return "url_full";
    if (!SAME_STR(url_path)) return "url_path";
    if (!SAME_STR(user_agent_original)) return "user_agent_original";
    if (!SAME_STR(tls_client_server_name)) return "tls_client_server_name";
    if (!SAME_STR(agent_type)) return "agent_type";
    if (!SAME_STR(passed_over)) return "passed_over";
    return NULL;
}

/* (ProcessGuid, SourcePort, UtcTime) */
static bool
same_sysmon_key(const event_t *a, const event_t *b)
{
    return a->n_process_entity_id == 1 && b->n_process_entity_id == 1 &&
           !strcmp(a->process_entity_id[0], b->process_entity_id[0]) &&
           a->has_source_port && b->has_source_port && a->source_port == b->source_port &&
           a->has_timestamp_ms && b->has_timestamp_ms && a->timestamp_ms == b->timestamp_ms;
}

static void
sysmon_twin(const char *raw_path, const char *twin_path, size_t want)
{
    size_t nr, nt, matched = 0;
    char *rt, *tt;
    struct rec *raw = read_recs(raw_path, &nr, &rt);
    struct rec *twin = read_recs(twin_path, &nt, &tt);

    assert_int_equal(nr, want);
    assert_int_equal(nt, want);
    for (size_t i = 0; i < nr; i++) {
        const event_t *r = raw[i].ev;
        size_t j;

        assert_string_equal(r->input_shape, "sysmon");
        for (j = 0; j < nt; j++)
            if (!twin[j].used && same_sysmon_key(r, twin[j].ev))
                break;
        if (j == nt)
            fail_msg("%s line %zu: no twin event with its (ProcessGuid, SourcePort, UtcTime)",
                     raw_path, i + 1);
        assert_null(twin[j].ev->input_shape);
        {
            const char *d = differs(r, twin[j].ev, true);
            if (d)
                fail_msg("%s line %zu: %s differs from its twin (line %zu)", raw_path, i + 1, d,
                         j + 1);
        }
        twin[j].used = true;
        matched++;
    }
    assert_int_equal(matched, want);
    print_message("# %s: %zu of %zu events equal to their twin's, field by field\n", raw_path,
                  matched, nt);
    free_recs(raw, nr, rt);
    free_recs(twin, nt, tt);
}

static void
test_sysmon_nxlog_twin(void **state)
{
    (void)state;
    sysmon_twin(REAL "raw/mordor-covenant-iertutil.sysmon-raw.ndjson",
                REAL "mordor-covenant-iertutil.ecs.ndjson", 184);
}

static void
test_sysmon_winlogbeat6_twin(void **state)
{
    (void)state;
    sysmon_twin(REAL "raw/mordor-empire-ikeext.sysmon-raw.ndjson",
                REAL "mordor-empire-ikeext.ecs.ndjson", 275);
}

static void
test_zeek_twin(void **state)
{
    size_t nr, nt, matched = 0;
    char *rt, *tt;
    struct rec *raw = read_recs(REAL "raw/mordor-apt29-day2-newyork.zeek-conn.ndjson", &nr, &rt);
    struct rec *twin = read_recs(REAL "mordor-apt29-zeek.ecs.ndjson", &nt, &tt);

    (void)state;
    assert_int_equal(nr, 314);
    for (size_t i = 0; i < nr; i++) {
        const event_t *r = raw[i].ev;
        char pat[96];
        size_t j;

        assert_string_equal(r->input_shape, "zeek");
        assert_non_null(r->event_id);
        snprintf(pat, sizeof(pat), "\"flow\":{\"final\":true,\"id\":\"%s\"}", r->event_id);
        for (j = 0; j < nt; j++)
            if (!twin[j].used && memmem(twin[j].line, twin[j].len, pat, strlen(pat)))
                break;
        if (j == nt)
            fail_msg("zeek line %zu: no twin flow with id %s", i + 1, r->event_id);
        assert_non_null(memmem(twin[j].line, twin[j].len, "\"observer\":{\"name\":\"day2_NEWYORK\"}",
                               strlen("\"observer\":{\"name\":\"day2_NEWYORK\"}")));
        assert_null(twin[j].ev->event_id);
        {
            const char *d = differs(r, twin[j].ev, false);
            if (d)
                fail_msg("zeek line %zu (uid %s): %s differs from its twin (line %zu)", i + 1,
                         r->event_id, d, j + 1);
        }
        twin[j].used = true;
        matched++;
    }
    assert_int_equal(matched, 314);
    print_message("# zeek: %zu of 314 day2_NEWYORK flows equal to their twin's, field by field\n",
                  matched);
    free_recs(raw, nr, rt);
    free_recs(twin, nt, tt);
}

/* Winlogbeat 7 without the sysmon module: the same event as Winlogbeat 6. */
static void
test_winlogbeat7(void **state)
{
    const char *w7 =
        "{\"@timestamp\":\"2019-04-03T17:36:47.609Z\",\"agent\":{\"type\":\"winlogbeat\"},"
        "\"host\":{\"name\":\"WECserver\"},\"event\":{\"code\":3,\"kind\":\"event\","
        "\"provider\":\"Microsoft-Windows-Sysmon\"},\"winlog\":{\"channel\":"
        "\"Microsoft-Windows-Sysmon/Operational\",\"event_id\":3,\"provider_name\":"
        "\"Microsoft-Windows-Sysmon\",\"computer_name\":\"IT001.shire.com\",\"event_data\":{"
        "\"Initiated\":\"true\",\"UtcTime\":\"2019-04-03 17:36:46.021\",\"DestinationPort\":"
        "\"443\",\"ProcessId\":\"6348\",\"DestinationPortName\":\"https\",\"SourceIp\":"
        "\"172.18.39.105\",\"Image\":\"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0"
        "\\\\powershell.exe\",\"Protocol\":\"tcp\",\"ProcessGuid\":"
        "\"{aa6b4a20-bc60-5ca4-0000-0010b5ffc401}\",\"SourcePort\":\"56860\",\"User\":"
        "\"SHIRE\\\\pgustavo\",\"DestinationIp\":\"10.0.10.106\"}}}";
    size_t nt;
    char *tt;
    struct rec *twin = read_recs(REAL "mordor-empire-ikeext.ecs.ndjson", &nt, &tt);
    event_t *ev = decode(w7, strlen(w7));

    (void)state;
    assert_string_equal(ev->input_shape, "sysmon");
    /* The twin's first line is this event (its agent.type aside). */
    assert_string_equal(twin[0].ev->process_entity_id[0], ev->process_entity_id[0]);
    assert_string_equal(ev->agent_type ? "x" : "", ""); /* the raw walk keeps no agent.type */
    assert_null(differs(ev, twin[0].ev, true));
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    free_recs(twin, nt, tt);
}

/* Zeek's own JSON writer: dotted id.* keys, ts as epoch or ISO 8601; local_orig. */
static void
test_zeek_own_writer(void **state)
{
    const char *epoch = "{\"ts\":1588316619.797806,\"uid\":\"CyLse01Jig9yHofDXc\","
                        "\"id.orig_h\":\"10.0.1.5\",\"id.orig_p\":55979,\"id.resp_h\":"
                        "\"10.0.0.4\",\"id.resp_p\":53,\"proto\":\"udp\",\"service\":\"dns\","
                        "\"duration\":0.064,\"orig_ip_bytes\":138,\"resp_ip_bytes\":235,"
                        "\"conn_state\":\"SF\"}";
    const char *iso = "{\"ts\":\"2020-05-01T07:03:39.797806Z\",\"uid\":\"CyLse01Jig9yHofDXc\","
                      "\"id.orig_h\":\"10.0.1.5\",\"id.orig_p\":55979,\"id.resp_h\":"
                      "\"10.0.0.4\",\"id.resp_p\":53,\"proto\":\"udp\",\"service\":\"dns\","
                      "\"orig_ip_bytes\":138,\"resp_ip_bytes\":235,\"conn_state\":\"SF\"}";
    const char *local = "{\"ts\":1588316619.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.1.5\","
                        "\"id.orig_p\":1,\"id.resp_h\":\"203.0.113.9\",\"id.resp_p\":443,"
                        "\"proto\":\"tcp\",\"local_orig\":true,\"local_resp\":true,"
                        "\"conn_state\":\"SF\"}";
    const char *dns = "{\"ts\":1588316619.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.1.5\","
                      "\"id.orig_p\":1,\"id.resp_h\":\"10.0.0.4\",\"id.resp_p\":53,"
                      "\"proto\":\"udp\",\"query\":\"example.org\"}";
    event_t *a = decode(epoch, strlen(epoch)), *b = decode(iso, strlen(iso));
    event_t *c = decode(local, strlen(local)), *d = decode(dns, strlen(dns));

    (void)state;
    assert_string_equal(a->input_shape, "zeek");
    assert_int_equal(a->timestamp_ms, INT64_C(1588316619797));
    assert_string_equal(a->network_community_id, "1:NBaAxFAuJG6Jyfos8kyR/6bW9uU=");
    assert_null(differs(a, b, true));
    assert_string_equal(c->network_direction[0], "internal"); /* local_* win */
    assert_int_equal(c->timestamp_ms, INT64_C(1588316619500));
    assert_string_equal(d->passed_over, "not_network"); /* a dns.log record */
    t1071__ecs__v1__event__free_unpacked(a, NULL);
    t1071__ecs__v1__event__free_unpacked(b, NULL);
    t1071__ecs__v1__event__free_unpacked(c, NULL);
    t1071__ecs__v1__event__free_unpacked(d, NULL);
}

/* input.source forces one shape; ECS and EVE lines are untouched in auto. */
static void
test_forced_source(void **state)
{
    const char *zeek = "{\"ts\":1588316619.5,\"uid\":\"C1\",\"id_orig_h\":\"10.0.1.5\","
                       "\"id_orig_p\":1,\"id_resp_h\":\"10.0.0.4\",\"id_resp_p\":53,"
                       "\"proto\":\"udp\",\"@stream\":\"conn\"}";
    const char *ecs = "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":"
                      "[\"network\"]},\"ts\":5,\"destination\":{\"ip\":\"8.8.8.8\"}}";
    const char *nothing = "{\"hello\":\"world\"}";
    event_t *ev;
    t1071_buffer *b = NULL, *b2 = NULL;

    (void)state;
    ev = decode_as(zeek, strlen(zeek), "sysmon");
    assert_string_equal(ev->input_shape, "unrecognised");
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    ev = decode_as(zeek, strlen(zeek), "ecs");
    assert_null(ev->input_shape);
    assert_false(ev->has_timestamp_ms);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    ev = decode_as(zeek, strlen(zeek), "zeek");
    assert_string_equal(ev->input_shape, "zeek");
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    /* An ECS line with a stray "ts" stays ECS, byte for byte. */
    assert_int_equal(t1071_event_from_json_as(ecs, strlen(ecs), 0, "auto", &b), T1071_OK);
    assert_int_equal(t1071_event_from_json_as(ecs, strlen(ecs), 0, "ecs", &b2), T1071_OK);
    assert_int_equal(t1071_buffer_size(b), t1071_buffer_size(b2));
    assert_memory_equal(t1071_buffer_data(b), t1071_buffer_data(b2), t1071_buffer_size(b));
    t1071_buffer_free(b);
    t1071_buffer_free(b2);
    ev = decode(nothing, strlen(nothing));
    assert_null(ev->input_shape); /* no shape: an ECS line without @timestamp, as ever */
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    assert_int_equal(t1071_event_from_json_as(ecs, strlen(ecs), 0, "netflow", &b),
                     T1071_E_INVALID_ARG);
    assert_null(b);
}

/* The library's own counters, through t1071_feed_json and input.source. */
static void
test_feed_json_counters(void **state)
{
    const char *lines[] = {
        /* Sysmon 3 (NXLog), Sysmon 1 (passed over), Sysmon 3 without UtcTime */
        "{\"EventID\":3,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Hostname\":"
        "\"h\",\"UtcTime\":\"2020-10-09 22:27:50.747\",\"Image\":\"C:\\\\a.exe\",\"ProcessGuid\":"
        "\"{g}\",\"Initiated\":\"true\",\"DestinationIp\":\"8.8.8.8\",\"DestinationPort\":\"443\"}",
        "{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"UtcTime\":"
        "\"2020-10-09 22:27:50.747\"}",
        "{\"EventID\":3,\"SourceName\":\"Microsoft-Windows-Sysmon\",\"@timestamp\":"
        "\"2020-10-09T22:27:50.747Z\",\"Image\":\"C:\\\\a.exe\"}",
        /* Zeek, ECS network, ECS logon, unrecognised */
        "{\"ts\":1588316619.5,\"uid\":\"C1\",\"id_orig_h\":\"10.0.1.5\",\"id_orig_p\":1,"
        "\"id_resp_h\":\"10.0.0.4\",\"id_resp_p\":53,\"proto\":\"udp\",\"@stream\":\"conn\"}",
        "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":[\"network\"]}}",
        "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":[\"authentication\"]}}",
        "{\"EventID\":4624,\"Channel\":\"Security\"}",
    };
    const int want_rc[] = {T1071_OK, T1071_OK, T1071_E_TIMESTAMP, T1071_OK,
                           T1071_OK, T1071_OK, T1071_E_TIMESTAMP};
    static const struct {
        int id;
        uint64_t v;
    } want[] = {
        {T1071_STAT_RECORDS_IN, 7},          {T1071_STAT_RECORDS_SYSMON, 3},
        {T1071_STAT_RECORDS_ZEEK, 1},        {T1071_STAT_RECORDS_ECS, 2},
        {T1071_STAT_RECORDS_SURICATA, 0},    {T1071_STAT_RECORDS_UNRECOGNISED, 1},
        {T1071_STAT_RECORDS_NO_TIME, 1},     {T1071_STAT_RECORDS_NOT_NETWORK, 2},
        {T1071_STAT_EVENTS_NETWORK, 3},      {T1071_STAT_ERR_TIMESTAMP, 2},
    };
    t1071_ctx *ctx = NULL;
    uint64_t v;

    (void)state;
    assert_int_equal(t1071_init(&ctx, NULL), T1071_OK);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        int rc = t1071_feed_json(ctx, lines[i], strlen(lines[i]));
        if (rc != want_rc[i])
            fail_msg("line %zu: %s (%s)", i, t1071_strerror(rc), t1071_errmsg(ctx));
        if (i == 2)
            assert_non_null(strstr(t1071_errmsg(ctx), "Sysmon record without a usable UtcTime"));
        if (i == 6)
            assert_non_null(strstr(t1071_errmsg(ctx), "not a shape the reader knows"));
    }
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(t1071_stats_get(ctx, want[i].id, &v), T1071_OK);
        if (v != want[i].v)
            fail_msg("%s: %" PRIu64 ", expected %" PRIu64, t1071_stat_name(want[i].id), v,
                     want[i].v);
    }
    t1071_free(ctx);
    /* input.source = ecs: the Sysmon line is an ECS line without @timestamp. */
    {
        t1071_config *cfg = NULL;
        assert_int_equal(t1071_config_new(&cfg), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "input.source", "ecs"), T1071_OK);
        assert_int_equal(t1071_config_set(cfg, "input.source", "syslog"), T1071_E_INVALID_ARG);
        assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
        t1071_config_free(cfg);
        assert_int_equal(t1071_feed_json(ctx, lines[0], strlen(lines[0])), T1071_E_TIMESTAMP);
        assert_int_equal(t1071_stats_get(ctx, T1071_STAT_RECORDS_UNRECOGNISED, &v), T1071_OK);
        assert_int_equal(v, 1);
        assert_int_equal(t1071_stats_get(ctx, T1071_STAT_RECORDS_SYSMON, &v), T1071_OK);
        assert_int_equal(v, 0);
        t1071_free(ctx);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysmon_nxlog_twin),
        cmocka_unit_test(test_sysmon_winlogbeat6_twin),
        cmocka_unit_test(test_zeek_twin),
        cmocka_unit_test(test_winlogbeat7),
        cmocka_unit_test(test_zeek_own_writer),
        cmocka_unit_test(test_forced_source),
        cmocka_unit_test(test_feed_json_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
