/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the JSON reader (lib/input/json.c) and the ECS JSON -> Event
 * mapping (lib/input/ecs-json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
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
#include "input/json.h"

#ifndef T1071_SRCDIR
#error "T1071_SRCDIR must name the source tree"
#endif

#define EQL_DIR T1071_SRCDIR "/tests/integration/fixtures/eql-vectors/"
#define REAL_DIR T1071_SRCDIR "/tests/integration/fixtures/real/"

/* ===== Helpers ===== */

/* True when s is well-formed UTF-8 (Unicode table 3-7) without NUL. */
static bool
utf8_ok(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s) {
        unsigned c = *s, lo = 0x80, hi = 0xBF, need;

        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        for (unsigned i = 1; i <= need; i++) {
            if (s[i] < lo || s[i] > hi)
                return false;
            lo = 0x80;
            hi = 0xBF;
        }
        s += need + 1;
    }
    return true;
}

static void
assert_event_utf8(const t1071i_event *ev)
{
    const char *one[] = {
        ev->event_id, ev->event_kind, ev->event_action, ev->event_dataset, ev->event_module,
        ev->network_transport, ev->network_protocol, ev->network_community_id,
        ev->destination_domain, ev->process_executable, ev->host_id, ev->host_name,
        ev->user_name, ev->url_full, ev->url_path, ev->user_agent_original,
        ev->tls_client_server_name, ev->agent_type,
    };
    char **const many[] = {ev->event_category, ev->event_type, ev->network_direction,
                           ev->source_ip, ev->destination_ip, ev->process_entity_id,
                           ev->process_name};
    const size_t nmany[] = {ev->n_event_category, ev->n_event_type, ev->n_network_direction,
                            ev->n_source_ip, ev->n_destination_ip, ev->n_process_entity_id,
                            ev->n_process_name};

    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
        assert_true(!one[i] || utf8_ok(one[i]));
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
        for (size_t j = 0; j < nmany[i]; j++) {
            assert_non_null(many[i][j]);
            assert_true(utf8_ok(many[i][j]));
        }
    }
}

/* Parse @p len bytes from a malloc'ed copy of exactly that size, so a read
 * past the end is caught by ASan / valgrind.  Returns the status; *out is
 * NULL on error. */
static int
parse_n(const char *json, size_t len, t1071i_event **out, char *err, size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, json, len);
    *out = (t1071i_event *)(uintptr_t)1; /* must be overwritten */
    rc = t1071i_ecs_json_to_event(copy, len, out, err, errlen);
    free(copy);
    if (rc != T1071_OK) {
        assert_null(*out);
        assert_true(err[0] != '\0');
    } else {
        assert_non_null(*out);
        assert_string_equal(err, "");
        assert_event_utf8(*out);
        assert_false((*out)->has_record_number);
    }
    return rc;
}

static t1071i_event *
parse_ok(const char *json)
{
    t1071i_event *ev;
    char err[160];
    int rc = parse_n(json, strlen(json), &ev, err, sizeof(err));

    if (rc != T1071_OK)
        fail_msg("unexpected error %d (%s) for %s", rc, err, json);
    return ev;
}

static int
parse_rc(const char *json)
{
    t1071i_event *ev;
    char err[160];
    int rc = parse_n(json, strlen(json), &ev, err, sizeof(err));

    if (rc == T1071_OK)
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return rc;
}

static void
free_ev(t1071i_event *ev)
{
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
}

/* Assert a repeated string field holds exactly the NULL-terminated list. */
static void
assert_strs(char *const *v, size_t n, ...)
{
    va_list ap;
    size_t i = 0;
    const char *want;

    va_start(ap, n);
    while ((want = va_arg(ap, const char *)) != NULL) {
        assert_true(i < n);
        assert_string_equal(v[i], want);
        i++;
    }
    va_end(ap);
    assert_int_equal(i, n);
}

/* The line of an eql-vectors fixture whose event.id is @p id (malloc'ed). */
static char *
fixture_line(const char *path, const char *id)
{
    char needle[128], buf[8192];
    FILE *f = fopen(path, "rb");
    char *found = NULL;

    assert_non_null(f);
    snprintf(needle, sizeof(needle), "\"id\": \"%s\"", id);
    while (!found && fgets(buf, sizeof(buf), f)) {
        if (strstr(buf, needle)) {
            size_t n = strcspn(buf, "\r\n");

            found = malloc(n + 1);
            assert_non_null(found);
            memcpy(found, buf, n);
            found[n] = '\0';
        }
    }
    fclose(f);
    if (!found)
        fail_msg("no line with event.id %s in %s", id, path);
    return found;
}

static t1071i_event *
parse_fixture(const char *file, const char *id)
{
    char *line = fixture_line(file, id);
    t1071i_event *ev = parse_ok(line);

    free(line);
    return ev;
}

/* ===== Field mapping ===== */

static const char full_nested[] =
    "{\"@timestamp\":\"2024-01-01T00:00:00.123Z\","
    "\"event\":{\"id\":\"e1\",\"kind\":\"event\",\"category\":[\"network\"],"
    "\"type\":[\"connection\",\"start\"],\"action\":\"connect\",\"dataset\":\"ds\","
    "\"module\":\"sysmon\"},"
    "\"network\":{\"direction\":\"egress\",\"transport\":\"tcp\",\"protocol\":\"https\","
    "\"community_id\":\"1:abc=\"},"
    "\"source\":{\"ip\":\"10.0.0.1\",\"port\":51000,\"bytes\":123},"
    "\"destination\":{\"ip\":\"8.8.8.8\",\"port\":443,\"domain\":\"dns.google\",\"bytes\":456},"
    "\"process\":{\"entity_id\":\"{E1}\",\"pid\":4242,\"name\":\"beacon.exe\","
    "\"executable\":\"C:\\\\beacon.exe\",\"start\":\"2023-12-31T23:00:00Z\"},"
    "\"host\":{\"id\":\"h-1\",\"name\":\"ws1\"},\"user\":{\"name\":\"alice\"},"
    "\"url\":{\"full\":\"https://x/y\",\"path\":\"/y\"},"
    "\"user_agent\":{\"original\":\"curl/8\"},"
    "\"tls\":{\"client\":{\"server_name\":\"x.example\"}},\"agent\":{\"type\":\"winlogbeat\"}}";

static const char full_dotted[] =
    "{\"@timestamp\":\"2024-01-01T00:00:00.123Z\","
    "\"event.id\":\"e1\",\"event.kind\":\"event\",\"event.category\":[\"network\"],"
    "\"event.type\":[\"connection\",\"start\"],\"event.action\":\"connect\","
    "\"event.dataset\":\"ds\",\"event.module\":\"sysmon\","
    "\"network.direction\":\"egress\",\"network.transport\":\"tcp\","
    "\"network.protocol\":\"https\",\"network.community_id\":\"1:abc=\","
    "\"source.ip\":\"10.0.0.1\",\"source.port\":51000,\"source.bytes\":123,"
    "\"destination.ip\":\"8.8.8.8\",\"destination.port\":443,"
    "\"destination.domain\":\"dns.google\",\"destination.bytes\":456,"
    "\"process.entity_id\":\"{E1}\",\"process.pid\":4242,\"process.name\":\"beacon.exe\","
    "\"process.executable\":\"C:\\\\beacon.exe\",\"process.start\":\"2023-12-31T23:00:00Z\","
    "\"host.id\":\"h-1\",\"host.name\":\"ws1\",\"user.name\":\"alice\","
    "\"url.full\":\"https://x/y\",\"url.path\":\"/y\",\"user_agent.original\":\"curl/8\","
    "\"tls.client.server_name\":\"x.example\",\"agent.type\":\"winlogbeat\"}";

static void
assert_full_event(const t1071i_event *ev)
{
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, INT64_C(1704067200123));
    assert_string_equal(ev->event_id, "e1");
    assert_string_equal(ev->event_kind, "event");
    assert_strs(ev->event_category, ev->n_event_category, "network", NULL);
    assert_strs(ev->event_type, ev->n_event_type, "connection", "start", NULL);
    assert_string_equal(ev->event_action, "connect");
    assert_string_equal(ev->event_dataset, "ds");
    assert_string_equal(ev->event_module, "sysmon");
    assert_strs(ev->network_direction, ev->n_network_direction, "egress", NULL);
    assert_string_equal(ev->network_transport, "tcp");
    assert_string_equal(ev->network_protocol, "https");
    assert_string_equal(ev->network_community_id, "1:abc=");
    assert_strs(ev->source_ip, ev->n_source_ip, "10.0.0.1", NULL);
    assert_true(ev->has_source_port);
    assert_int_equal(ev->source_port, 51000);
    assert_true(ev->has_source_bytes);
    assert_int_equal(ev->source_bytes, 123);
    assert_strs(ev->destination_ip, ev->n_destination_ip, "8.8.8.8", NULL);
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 443);
    assert_string_equal(ev->destination_domain, "dns.google");
    assert_true(ev->has_destination_bytes);
    assert_int_equal(ev->destination_bytes, 456);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "{E1}", NULL);
    assert_true(ev->has_process_pid);
    assert_int_equal(ev->process_pid, 4242);
    assert_strs(ev->process_name, ev->n_process_name, "beacon.exe", NULL);
    assert_string_equal(ev->process_executable, "C:\\beacon.exe");
    assert_true(ev->has_process_start_ms);
    assert_int_equal(ev->process_start_ms, INT64_C(1704063600000));
    assert_string_equal(ev->host_id, "h-1");
    assert_string_equal(ev->host_name, "ws1");
    assert_string_equal(ev->user_name, "alice");
    assert_string_equal(ev->url_full, "https://x/y");
    assert_string_equal(ev->url_path, "/y");
    assert_string_equal(ev->user_agent_original, "curl/8");
    assert_string_equal(ev->tls_client_server_name, "x.example");
    assert_string_equal(ev->agent_type, "winlogbeat");
    assert_false(ev->has_record_number);
}

static void
test_ecs_json_nested_objects_map_every_field(void **state)
{
    t1071i_event *ev = parse_ok(full_nested);

    (void)state;
    assert_full_event(ev);
    free_ev(ev);
}

static void
test_ecs_json_dotted_keys_map_every_field(void **state)
{
    t1071i_event *ev = parse_ok(full_dotted);

    (void)state;
    assert_full_event(ev);
    free_ev(ev);
}

static void
test_ecs_json_mixed_dotted_and_nested_build_full_path(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"destination\":{\"ip\":\"1.2.3.4\"},\"process.entity_id\":\"P\","
                  "\"process\":{\"name\":\"n.exe\"},\"tls\":{\"client.server_name\":\"a\"},"
                  "\"event\":{\"id\":\"i\"},\"event.kind\":\"k\"}");
    assert_strs(ev->destination_ip, ev->n_destination_ip, "1.2.3.4", NULL);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "P", NULL);
    assert_strs(ev->process_name, ev->n_process_name, "n.exe", NULL);
    assert_string_equal(ev->tls_client_server_name, "a");
    assert_string_equal(ev->event_id, "i");
    assert_string_equal(ev->event_kind, "k");
    free_ev(ev);

    /* Every split of tls.client.server_name reaches the same field. */
    ev = parse_ok("{\"tls.client\":{\"server_name\":\"b\"}}");
    assert_string_equal(ev->tls_client_server_name, "b");
    free_ev(ev);
    ev = parse_ok("{\"tls\":{\"client\":{\"server_name\":\"c\"}}}");
    assert_string_equal(ev->tls_client_server_name, "c");
    free_ev(ev);
}

static void
test_ecs_json_unknown_fields_skipped(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"winlog\":{\"event_id\":3,\"x\":[1,{\"a\":[null,true]}]},"
                  "\"related\":{\"ip\":[\"1.1.1.1\"]},\"ecs.version\":\"8\","
                  "\"process\":{\"name.first\":\"no\",\"parent\":{\"name\":\"no\"},\"x\":1},"
                  "\"process.\":\"no\",\".process\":{\"name\":\"no\"},\"\":\"no\","
                  "\"process..name\":\"no\",\"Process\":{\"name\":\"no\"},"
                  "\"host.name.first\":\"no\",\"tls.client\":\"no\",\"event\":7,"
                  "\"user\":[{\"name\":\"no\"}],\"x\":{\"@timestamp\":\"2024-01-01\"}}");
    assert_int_equal(ev->n_process_name, 0);
    assert_null(ev->host_name);
    assert_null(ev->user_name);
    assert_null(ev->tls_client_server_name);
    assert_false(ev->has_timestamp_ms);
    assert_int_equal(ev->n_source_ip, 0);
    assert_int_equal(ev->n_destination_ip, 0);
    free_ev(ev);
}

static void
test_ecs_json_empty_object_all_absent(void **state)
{
    t1071i_event *ev = parse_ok("{}");

    (void)state;
    assert_int_equal(t1071__ecs__v1__event__get_packed_size(ev), 0);
    assert_false(ev->has_timestamp_ms);
    free_ev(ev);
}

/* ===== @timestamp and process.start ===== */

static void
test_ecs_json_timestamp_string_parsed(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"@timestamp\":\"2024-01-01T01:00:00.5+01:00\"}");
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, INT64_C(1704067200500));
    free_ev(ev);
    ev = parse_ok("{\"@timestamp\":[null,\"1970-01-01T00:00:00Z\"]}");
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, 0);
    free_ev(ev);
    /* An escaped date decodes first. */
    ev = parse_ok("{\"@timestamp\":\"2024-01-01T00:00:00\\u005a\"}");
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, INT64_C(1704067200000));
    free_ev(ev);
}

static void
test_ecs_json_timestamp_number_is_epoch_ms(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"@timestamp\":1704067200123}");
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, INT64_C(1704067200123));
    free_ev(ev);
    ev = parse_ok("{\"@timestamp\":-1}");
    assert_int_equal(ev->timestamp_ms, -1);
    free_ev(ev);
    ev = parse_ok("{\"@timestamp\":1.704067200123e12}");
    assert_int_equal(ev->timestamp_ms, INT64_C(1704067200123));
    free_ev(ev);
}

static void
test_ecs_json_timestamp_unparsable_absent(void **state)
{
    static const char *const bad[] = {
        "{\"@timestamp\":\"yesterday\"}",
        "{\"@timestamp\":\"2024-13-01T00:00:00Z\"}",
        "{\"@timestamp\":\"1704067200000\"}",
        "{\"@timestamp\":\"\"}",
        "{\"@timestamp\":1704067200000.5}",
        "{\"@timestamp\":1e30}",
        "{\"@timestamp\":true}",
        "{\"@timestamp\":null}",
        "{\"@timestamp\":{\"x\":1}}",
        "{\"@timestamp\":[]}",
        "{\"@timestamp\":[null]}",
        "{\"event\":{\"id\":\"no timestamp\"}}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t1071i_event *ev = parse_ok(bad[i]);

        if (ev->has_timestamp_ms)
            fail_msg("timestamp set for %s", bad[i]);
        free_ev(ev);
    }
}

static void
test_ecs_json_process_start_parsed(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"process\":{\"start\":\"2024-01-01 00:00:01Z\"}}");
    assert_true(ev->has_process_start_ms);
    assert_int_equal(ev->process_start_ms, INT64_C(1704067201000));
    free_ev(ev);
    ev = parse_ok("{\"process.start\":42}");
    assert_true(ev->has_process_start_ms);
    assert_int_equal(ev->process_start_ms, 42);
    free_ev(ev);
    ev = parse_ok("{\"process.start\":\"bad\"}");
    assert_false(ev->has_process_start_ms);
    free_ev(ev);
}

/* ===== null, arrays, empty strings ===== */

static void
test_ecs_json_null_means_absent(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"event\":{\"id\":null,\"category\":null,\"type\":null},"
                  "\"source\":{\"port\":null,\"ip\":null},\"destination\":{\"port\":null},"
                  "\"process\":{\"name\":null,\"entity_id\":null,\"pid\":null},"
                  "\"host\":null,\"user.name\":null}");
    assert_int_equal(t1071__ecs__v1__event__get_packed_size(ev), 0);
    assert_null(ev->event_id);
    assert_int_equal(ev->n_event_category, 0);
    assert_false(ev->has_source_port);
    assert_int_equal(ev->n_destination_port, 0);
    free_ev(ev);
}

static void
test_ecs_json_repeated_scalar_becomes_one_element(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"event\":{\"category\":\"network\",\"type\":\"connection\"},"
                  "\"network\":{\"direction\":\"egress\"},\"source\":{\"ip\":\"1.1.1.1\"},"
                  "\"destination\":{\"ip\":\"2.2.2.2\",\"port\":53},"
                  "\"process\":{\"entity_id\":\"E\",\"name\":\"n\"}}");
    assert_strs(ev->event_category, ev->n_event_category, "network", NULL);
    assert_strs(ev->event_type, ev->n_event_type, "connection", NULL);
    assert_strs(ev->network_direction, ev->n_network_direction, "egress", NULL);
    assert_strs(ev->source_ip, ev->n_source_ip, "1.1.1.1", NULL);
    assert_strs(ev->destination_ip, ev->n_destination_ip, "2.2.2.2", NULL);
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 53);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "E", NULL);
    assert_strs(ev->process_name, ev->n_process_name, "n", NULL);
    free_ev(ev);
}

static void
test_ecs_json_repeated_array_keeps_every_element(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"event.type\":[\"a\",\"b\",\"c\",\"b\",\"a\"],"
                  "\"destination.ip\":[\"10.1.1.1\",\"8.8.8.8\"],"
                  "\"process.entity_id\":[\"KA\",\"KB\"],"
                  "\"destination.port\":[443,80,443]}");
    assert_strs(ev->event_type, ev->n_event_type, "a", "b", "c", "b", "a", NULL);
    assert_strs(ev->destination_ip, ev->n_destination_ip, "10.1.1.1", "8.8.8.8", NULL);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "KA", "KB", NULL);
    assert_int_equal(ev->n_destination_port, 3);
    assert_int_equal(ev->destination_port[0], 443);
    assert_int_equal(ev->destination_port[1], 80);
    assert_int_equal(ev->destination_port[2], 443);
    free_ev(ev);
}

static void
test_ecs_json_repeated_empty_array_absent(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"event.category\":[],\"process.name\":[],\"destination.port\":[],"
                  "\"source.ip\":[null,null],\"process.entity_id\":[[],{}]}");
    assert_int_equal(ev->n_event_category, 0);
    assert_null(ev->event_category);
    assert_int_equal(ev->n_process_name, 0);
    assert_int_equal(ev->n_destination_port, 0);
    assert_int_equal(ev->n_source_ip, 0);
    assert_int_equal(ev->n_process_entity_id, 0);
    free_ev(ev);
}

static void
test_ecs_json_repeated_null_and_container_elements_skipped(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"process.name\":[null,\"a\",null,[\"nested\"],{\"o\":1},\"b\",null]}");
    assert_strs(ev->process_name, ev->n_process_name, "a", "b", NULL);
    free_ev(ev);
}

static void
test_ecs_json_empty_string_kept(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"process\":{\"name\":\"\",\"entity_id\":[\"\",\"x\"],\"executable\":\"\"},"
                  "\"host.name\":\"\",\"event.id\":\"\"}");
    assert_strs(ev->process_name, ev->n_process_name, "", NULL);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "", "x", NULL);
    assert_string_equal(ev->process_executable, "");
    assert_string_equal(ev->host_name, "");
    assert_string_equal(ev->event_id, "");
    free_ev(ev);
}

static void
test_ecs_json_single_field_array_takes_first_scalar(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"host.name\":[null,{\"a\":1},[\"n\"],\"first\",\"second\"],"
                  "\"event.id\":[7,\"x\"],\"source.port\":[null,\"80\",81],"
                  "\"process.pid\":[\"x\",5],\"user.name\":[],\"agent.type\":[null]}");
    assert_string_equal(ev->host_name, "first");
    assert_string_equal(ev->event_id, "7");
    assert_true(ev->has_source_port);
    assert_int_equal(ev->source_port, 80);
    /* The first scalar does not convert: absent, the next is not tried. */
    assert_false(ev->has_process_pid);
    assert_null(ev->user_name);
    assert_null(ev->agent_type);
    free_ev(ev);
}

/* ===== Type conversions ===== */

static void
test_ecs_json_string_field_number_keeps_text(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"event.id\":123,\"host.name\":1.50,\"user.name\":-0,"
                  "\"url.path\":1E+3,\"process.name\":[1,2.0,\"3\"],"
                  "\"host.id\":123456789012345678901234567890}");
    assert_string_equal(ev->event_id, "123");
    assert_string_equal(ev->host_name, "1.50");
    assert_string_equal(ev->user_name, "-0");
    assert_string_equal(ev->url_path, "1E+3");
    assert_strs(ev->process_name, ev->n_process_name, "1", "2.0", "3", NULL);
    assert_string_equal(ev->host_id, "123456789012345678901234567890");
    free_ev(ev);
}

static void
test_ecs_json_string_field_boolean_becomes_text(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"event.kind\":true,\"agent.type\":false,\"event.type\":[true,false]}");
    assert_string_equal(ev->event_kind, "true");
    assert_string_equal(ev->agent_type, "false");
    assert_strs(ev->event_type, ev->n_event_type, "true", "false", NULL);
    free_ev(ev);
}

static void
test_ecs_json_scalar_field_container_ignored(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"host.name\":{\"x\":\"y\"},\"event.id\":{},\"source.port\":{\"p\":1},"
                  "\"process.name\":{\"n\":\"x\"},\"url.full\":[[\"x\"]]}");
    assert_null(ev->host_name);
    assert_null(ev->event_id);
    assert_false(ev->has_source_port);
    assert_int_equal(ev->n_process_name, 0);
    assert_null(ev->url_full);
    free_ev(ev);
}

static void
test_ecs_json_event_id_number_becomes_text(void **state)
{
    t1071i_event *ev = parse_ok("{\"event\":{\"id\":4230545}}");

    (void)state;
    assert_string_equal(ev->event_id, "4230545");
    free_ev(ev);
}

static void
test_ecs_json_port_integer_and_string_accepted(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"destination.port\":[443,\"8443\",\"0080\",\"-1\",0,\"\\u0034\\u0034\\u0033\"],"
                  "\"source.port\":\"51000\"}");
    assert_int_equal(ev->n_destination_port, 6);
    assert_int_equal(ev->destination_port[0], 443);
    assert_int_equal(ev->destination_port[1], 8443);
    assert_int_equal(ev->destination_port[2], 80);
    assert_int_equal(ev->destination_port[3], -1);
    assert_int_equal(ev->destination_port[4], 0);
    assert_int_equal(ev->destination_port[5], 443);
    assert_true(ev->has_source_port);
    assert_int_equal(ev->source_port, 51000);
    free_ev(ev);
}

static void
test_ecs_json_port_integral_float_accepted(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"destination.port\":[443.0,4.43e2,44300e-2,-0.0],\"source.port\":8.0E1}");
    assert_int_equal(ev->n_destination_port, 4);
    assert_int_equal(ev->destination_port[0], 443);
    assert_int_equal(ev->destination_port[1], 443);
    assert_int_equal(ev->destination_port[2], 443);
    assert_int_equal(ev->destination_port[3], 0);
    assert_int_equal(ev->source_port, 80);
    free_ev(ev);
}

static void
test_ecs_json_port_bad_values_dropped(void **state)
{
    static const char *const bad[] = {
        "\" 443\"", "\"443 \"", "\"abc\"", "\"\"", "\"4.5\"", "\"443.0\"", "\"+443\"",
        "\"0x1bb\"", "\"-\"", "\"1e3\"", "443.5", "1e400", "1e-400", "-1e400",
        "99999999999999999999", "\"99999999999999999999\"", "9223372036854775808",
        "-9223372036854775809", "true", "false", "{}", "[[443]]", "\"\\u0000443\"",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[256];
        t1071i_event *ev;

        snprintf(json, sizeof(json), "{\"destination.port\":%s,\"source.port\":%s}", bad[i],
                 bad[i]);
        ev = parse_ok(json);
        if (ev->n_destination_port != 0 || ev->has_source_port)
            fail_msg("port kept for %s", bad[i]);
        free_ev(ev);
    }
}

static void
test_ecs_json_port_array_keeps_valid_values(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"destination\":{\"port\":[443,\"80\",\"x\",null,8443.0,1.5,true,[1],\"22\"]}}");
    assert_int_equal(ev->n_destination_port, 4);
    assert_int_equal(ev->destination_port[0], 443);
    assert_int_equal(ev->destination_port[1], 80);
    assert_int_equal(ev->destination_port[2], 8443);
    assert_int_equal(ev->destination_port[3], 22);
    free_ev(ev);
}

static void
test_ecs_json_int64_limits_accepted(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"source.bytes\":9223372036854775807,"
                  "\"destination.bytes\":-9223372036854775808,"
                  "\"process.pid\":\"-9223372036854775808\","
                  "\"destination.port\":[\"9223372036854775807\",9.223372036854775807e18]}");
    assert_int_equal(ev->source_bytes, INT64_MAX);
    assert_int_equal(ev->destination_bytes, INT64_MIN);
    assert_int_equal(ev->process_pid, INT64_MIN);
    assert_int_equal(ev->n_destination_port, 2);
    assert_int_equal(ev->destination_port[0], INT64_MAX);
    assert_int_equal(ev->destination_port[1], INT64_MAX);
    free_ev(ev);
}

static void
test_ecs_json_int_fields_mapped(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"process\":{\"pid\":\"6348\"},\"source\":{\"bytes\":67},"
                  "\"destination\":{\"bytes\":\"83\"}}");
    assert_true(ev->has_process_pid);
    assert_int_equal(ev->process_pid, 6348);
    assert_int_equal(ev->source_bytes, 67);
    assert_int_equal(ev->destination_bytes, 83);
    free_ev(ev);
}

/* ===== Duplicate keys ===== */

static void
test_ecs_json_duplicate_keys_last_wins(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"host\":{\"name\":\"a\",\"name\":\"b\"},"
                  "\"process.name\":[\"x\",\"y\"],\"process\":{\"name\":\"z\"},"
                  "\"destination.port\":[1,2,3],\"destination.port\":4,"
                  "\"event.id\":\"first\",\"event\":{\"id\":\"second\"},"
                  "\"user.name\":\"u\",\"user.name\":null,"
                  "\"source.port\":1,\"source.port\":\"bad\","
                  "\"@timestamp\":0,\"@timestamp\":1000}");
    assert_string_equal(ev->host_name, "b");
    assert_strs(ev->process_name, ev->n_process_name, "z", NULL);
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 4);
    assert_string_equal(ev->event_id, "second");
    assert_null(ev->user_name);
    assert_false(ev->has_source_port);
    assert_int_equal(ev->timestamp_ms, 1000);
    free_ev(ev);

    /* Duplicate objects merge field by field. */
    ev = parse_ok("{\"host\":{\"name\":\"n\"},\"host\":{\"id\":\"i\"}}");
    assert_string_equal(ev->host_name, "n");
    assert_string_equal(ev->host_id, "i");
    free_ev(ev);
}

/* ===== Strings ===== */

static void
test_ecs_json_escapes_decoded(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"host.name\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20AC "
                  "\\ud83d\\ude00 \\uD834\\uDD1E \\u0041\"}");
    assert_string_equal(ev->host_name, "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac "
                                       "\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e A");
    free_ev(ev);
}

static void
test_ecs_json_nul_escape_becomes_replacement(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"host.name\":\"a\\u0000b\",\"process.name\":[\"\\u0000\"]}");
    assert_string_equal(ev->host_name, "a\xef\xbf\xbd" "b");
    assert_strs(ev->process_name, ev->n_process_name, "\xef\xbf\xbd", NULL);
    free_ev(ev);
}

static void
test_ecs_json_lone_surrogates_become_replacement(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\\ud800", "\xef\xbf\xbd"},
        {"\\udc00", "\xef\xbf\xbd"},
        {"a\\ud800b", "a\xef\xbf\xbd" "b"},
        {"\\ud800\\u0041", "\xef\xbf\xbd" "A"},
        {"\\ud800\\ud800\\udc00", "\xef\xbf\xbd\xf0\x90\x80\x80"},
        {"\\udc00\\ud800", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\\udbff\\udfff", "\xf4\x8f\xbf\xbf"},
        {"\\ud800\\n", "\xef\xbf\xbd\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[128];
        t1071i_event *ev;

        snprintf(json, sizeof(json), "{\"user.name\":\"%s\"}", cases[i].in);
        ev = parse_ok(json);
        assert_string_equal(ev->user_name, cases[i].out);
        free_ev(ev);
    }
}

static void
test_ecs_json_invalid_utf8_becomes_replacement(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xff", "\xef\xbf\xbd"},
        {"a\x80z", "a\xef\xbf\xbdz"},
        {"\xc3", "\xef\xbf\xbd"},
        {"\xc3\xa9", "\xc3\xa9"},                              /* valid é */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},              /* overlong '/' */
        {"\xe1\x80", "\xef\xbf\xbd"},                          /* truncated */
        {"\xe1\x80z", "\xef\xbf\xbdz"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},              /* valid emoji */
        {"\xf0\x9f\x98", "\xef\xbf\xbd"},
        {"\xfe\xfe", "\xef\xbf\xbd\xef\xbf\xbd"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[128];
        t1071i_event *ev;

        snprintf(json, sizeof(json), "{\"user.name\":\"%s\",\"x\":\"%s\"}", cases[i].in,
                 cases[i].in);
        ev = parse_ok(json);
        assert_string_equal(ev->user_name, cases[i].out);
        free_ev(ev);
    }
}

static void
test_ecs_json_escaped_key_matches_field(void **state)
{
    t1071i_event *ev;

    (void)state;
    ev = parse_ok("{\"proc\\u0065ss\":{\"n\\u0061me\":\"a\"},\"host\\u002ename\":\"h\","
                  "\"\\u0000host.name\":\"no\",\"h\\u00f6st.name\":\"no\"}");
    assert_strs(ev->process_name, ev->n_process_name, "a", NULL);
    assert_string_equal(ev->host_name, "h");
    free_ev(ev);
}

static void
test_ecs_json_byte_order_mark_skipped(void **state)
{
    t1071i_event *ev = parse_ok("\xef\xbb\xbf{\"host.name\":\"h\"}");

    (void)state;
    assert_string_equal(ev->host_name, "h");
    free_ev(ev);
}

static void
test_ecs_json_surrounding_whitespace_accepted(void **state)
{
    t1071i_event *ev = parse_ok(" \t\r\n{ \"host\" : { \"name\" :\t\"h\" } ,\n\"x\" : [ ] }\r\n");

    (void)state;
    assert_string_equal(ev->host_name, "h");
    free_ev(ev);
}

static void
test_ecs_json_length_bounds_input(void **state)
{
    t1071i_event *ev;
    char err[160];
    static const char text[] = "{\"host.name\":\"h\"}garbage";

    (void)state;
    /* Only len bytes are read: no NUL terminator is needed. */
    assert_int_equal(parse_n(text, 17, &ev, err, sizeof(err)), T1071_OK);
    assert_string_equal(ev->host_name, "h");
    free_ev(ev);
    assert_int_equal(parse_n(text, 18, &ev, err, sizeof(err)), T1071_E_JSON);
    /* A NUL byte is a control character inside a string, garbage outside. */
    assert_int_equal(parse_n("{\"a\":\"\0\"}", 9, &ev, err, sizeof(err)), T1071_E_JSON);
    assert_int_equal(parse_n("{\"a\":1}\0", 8, &ev, err, sizeof(err)), T1071_E_JSON);
}

/* ===== Errors ===== */

static void
test_ecs_json_malformed_input_returns_json_error(void **state)
{
    static const char *const bad[] = {
        "", " ", "\n", "{", "}", "[]", "[{}]", "1", "\"x\"", "null", "true",
        "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1}x", "{\"a\":1}{}",
        "{'a':1}", "{a:1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":1;\"b\":2}",
        "{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":+1}", "{\"a\":0x10}", "{\"a\":NaN}",
        "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":tru}", "{\"a\":nul}",
        "{\"a\":True}", "{\"a\":nulls}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12g4\"}", "{\"a\":\"\\U0041\"}", "{\"a\":\"\\\"}", "{\"a\":\"x\ny\"}",
        "{\"a\":\"x\ty\"}", "{\"a\":\"\x01\"}", "{\"a\":\"\x1f\"}", "{\"a\":[1,]}",
        "{\"a\":[,1]}", "{\"a\":[1 2]}", "{\"a\":[1}", "{\"a\":{]}", "{\"a\":\"abc",
        "{\"a\":\"abc\\", "{\"a\"", "{\"a\":", "{\"a\":[", "/*c*/{}", "{}//c", "{}#",
        "{\"a\":1}\x0b", "\xc2\xa0{}", "{}\xc2\xa0",
        "\xef\xbb\xbf", "\xef\xbb{}",
        /* The same faults under fields the mapper reads. */
        "{\"event\":{\"id\":01}}", "{\"event\":{\"id\":\"x\",}}", "{\"event.id\":\"\\q\"}",
        "{\"process\":{\"name\":[\"a\",]}}", "{\"process\":{\"name\":[\"a\" \"b\"]}}",
        "{\"destination\":{\"port\":[443,]}}", "{\"host.name\":[{\"a\":}]}",
        "{\"host.name\":\"\x1f\"}", "{\"@timestamp\":-}", "{\"source.port\":1.e5}",
        "{\"process\":{\"name\":\"a\"}", "{\"tls\":{\"client\":{\"server_name\":\"a\"}}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_rc(bad[i]);

        if (rc != T1071_E_JSON)
            fail_msg("input %zu (%s): got %d, want T1071_E_JSON", i, bad[i], rc);
    }
}

static void
test_ecs_json_error_message_names_byte(void **state)
{
    t1071i_event *ev;
    char err[160];

    (void)state;
    assert_int_equal(parse_n("{\"a\" 1}", 7, &ev, err, sizeof(err)), T1071_E_JSON);
    assert_string_equal(err, "expected ':' at byte 5");
    assert_int_equal(parse_n("{\"a\":01}", 8, &ev, err, sizeof(err)), T1071_E_JSON);
    assert_string_equal(err, "leading zero in number at byte 5");
    assert_int_equal(parse_n("{} x", 4, &ev, err, sizeof(err)), T1071_E_JSON);
    assert_string_equal(err, "trailing characters after the JSON value at byte 3");
    assert_int_equal(parse_n("[]", 2, &ev, err, sizeof(err)), T1071_E_JSON);
    assert_string_equal(err, "expected a JSON object at byte 0");
    assert_int_equal(parse_n("", 0, &ev, err, sizeof(err)), T1071_E_JSON);
    assert_string_equal(err, "unexpected end of input at byte 0");
}

static void
test_ecs_json_bad_arguments_rejected(void **state)
{
    t1071i_event *ev = NULL;
    char err[8];

    (void)state;
    assert_int_equal(t1071i_ecs_json_to_event("{}", 2, NULL, err, sizeof(err)),
                     T1071_E_INVALID_ARG);
    assert_int_equal(t1071i_ecs_json_to_event(NULL, 2, &ev, err, sizeof(err)),
                     T1071_E_INVALID_ARG);
    assert_null(ev);
    assert_int_equal(t1071i_ecs_json_to_event(NULL, 0, &ev, NULL, 0), T1071_E_JSON);
    assert_null(ev);
    /* A short error buffer is truncated, not overrun. */
    assert_int_equal(t1071i_ecs_json_to_event("{\"a\" 1}", 7, &ev, err, sizeof(err)),
                     T1071_E_JSON);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(t1071i_ecs_json_to_event("{}", 2, &ev, NULL, 0), T1071_OK);
    free_ev(ev);
}

/* ===== Hostile input ===== */

/* prefix, n times open, core, n times close, suffix (malloc'ed). */
static char *
nest(const char *prefix, const char *open, const char *core, const char *close, size_t n,
     const char *suffix)
{
    size_t lp = strlen(prefix), lo = strlen(open), lk = strlen(core), lc = strlen(close);
    size_t ls = strlen(suffix);
    char *s = malloc(lp + n * (lo + lc) + lk + ls + 1);

    if (!s)
        fail_msg("out of memory");
    memcpy(s, prefix, lp);
    for (size_t i = 0; i < n; i++)
        memcpy(s + lp + i * lo, open, lo);
    memcpy(s + lp + n * lo, core, lk);
    for (size_t i = 0; i < n; i++)
        memcpy(s + lp + n * lo + lk + i * lc, close, lc);
    memcpy(s + lp + n * (lo + lc) + lk, suffix, ls + 1);
    return s;
}

static void
test_ecs_json_deep_nesting_rejected(void **state)
{
    static const struct {
        const char *prefix, *open, *core, *close, *suffix;
    } shapes[] = {
        {"{\"x\":", "[", "", "]", "}"},
        {"{\"x\":", "{\"a\":", "1", "}", "}"},
        {"{\"process\":{\"name\":", "[", "\"n\"", "]", "}}"},
        {"{\"host.name\":", "{\"a\":", "1", "}", "}"},
        {"{\"process\":", "{\"process\":", "{}", "}", "}"},
        {"", "[", "", "]", ""},
        {"", "{\"a\":", "{}", "}", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *closed = nest(shapes[i].prefix, shapes[i].open, shapes[i].core,
                            shapes[i].close, 10000, shapes[i].suffix);
        char *unclosed = nest(shapes[i].prefix, shapes[i].open, "", "", 10000, "");
        int rc1 = parse_rc(closed), rc2 = parse_rc(unclosed);

        free(closed);
        free(unclosed);
        assert_int_equal(rc1, T1071_E_JSON);
        assert_int_equal(rc2, T1071_E_JSON);
    }
}

static void
test_ecs_json_nesting_at_limit_accepted(void **state)
{
    /* The event object is level 1, so 63 more levels fit and 64 do not. */
    const size_t max = T1071I_JSON_MAX_DEPTH;
    char *ok = nest("{\"x\":", "[", "", "]", max - 1, "}");
    char *deep = nest("{\"x\":", "[", "", "]", max, "}");
    char *ok_obj = nest("{\"host.name\":", "{\"a\":", "1", "}", max - 1, "}");
    char *deep_obj = nest("{\"host.name\":", "{\"a\":", "1", "}", max, "}");
    int rc[4];

    (void)state;
    rc[0] = parse_rc(ok);
    rc[1] = parse_rc(deep);
    rc[2] = parse_rc(ok_obj);
    rc[3] = parse_rc(deep_obj);
    free(ok);
    free(deep);
    free(ok_obj);
    free(deep_obj);
    assert_int_equal(rc[0], T1071_OK);
    assert_int_equal(rc[1], T1071_E_JSON);
    assert_int_equal(rc[2], T1071_OK);
    assert_int_equal(rc[3], T1071_E_JSON);
}

/* {"x":"aaaa..."} of exactly @p len bytes. */
static char *
long_doc(size_t len)
{
    char *s = malloc(len);

    assert_non_null(s);
    assert_true(len >= 8);
    memcpy(s, "{\"x\":\"", 6);
    memset(s + 6, 'a', len - 8);
    memcpy(s + len - 2, "\"}", 2);
    return s;
}

static void
test_ecs_json_oversized_input_too_large(void **state)
{
    const size_t five_mb = 5u << 20;
    char *big = long_doc(five_mb);
    char *limit = long_doc(T1071I_JSON_MAX_BYTES);
    t1071i_event *ev = NULL;
    char err[160];

    (void)state;
    assert_int_equal(t1071i_ecs_json_to_event(big, five_mb, &ev, err, sizeof(err)),
                     T1071_E_TOO_LARGE);
    assert_null(ev);
    assert_non_null(strstr(err, "exceeds"));
    assert_int_equal(t1071i_ecs_json_to_event(big, T1071I_JSON_MAX_BYTES + 1, &ev, err,
                                              sizeof(err)),
                     T1071_E_TOO_LARGE);
    assert_int_equal(t1071i_ecs_json_to_event(limit, T1071I_JSON_MAX_BYTES, &ev, err,
                                              sizeof(err)),
                     T1071_OK);
    free_ev(ev);
    /* A 4 MiB field value the mapper keeps. */
    memcpy(limit + 1, "\"url.full\":\"", 12);
    memset(limit + 13, 'a', T1071I_JSON_MAX_BYTES - 15);
    assert_int_equal(t1071i_ecs_json_to_event(limit, T1071I_JSON_MAX_BYTES, &ev, err,
                                              sizeof(err)),
                     T1071_OK);
    assert_int_equal(strlen(ev->url_full), T1071I_JSON_MAX_BYTES - 15);
    free_ev(ev);
    free(big);
    free(limit);
}

static void
test_ecs_json_huge_numbers_handled(void **state)
{
    enum { nd = 100000 };
    static char s[nd + 64];
    t1071i_event *ev;

    (void)state;
    memcpy(s, "{\"host.name\":", 13);
    memset(s + 13, '9', nd);
    strcpy(s + 13 + nd, ",\"x\":1}");
    ev = parse_ok(s);
    assert_int_equal(strlen(ev->host_name), nd);
    free_ev(ev);
    memcpy(s, "{\"source.port\":", 15);
    memset(s + 15, '9', nd);
    strcpy(s + 15 + nd, "}");
    ev = parse_ok(s);
    assert_false(ev->has_source_port);
    free_ev(ev);

    ev = parse_ok("{\"destination.port\":[1e999999999999999999,-1e999999999999999999,"
                  "1e-999999999999999999,0e999999999999999999,1.0e-999999999999999999],"
                  "\"@timestamp\":1e999999999999999999,\"x\":1e999999999999999999}");
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 0);
    assert_false(ev->has_timestamp_ms);
    free_ev(ev);
}

static void
test_ecs_json_long_array_kept(void **state)
{
    const size_t n = 100000;
    char *s = malloc(n * 4 + 64), *p = s;
    t1071i_event *ev;

    (void)state;
    assert_non_null(s);
    p += sprintf(p, "{\"destination.port\":[");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%zu", i ? "," : "", i % 100);
    strcpy(p, "]}");
    ev = parse_ok(s);
    assert_int_equal(ev->n_destination_port, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ev->destination_port[i], i % 100);
    free_ev(ev);
    free(s);
}

/* Every proper prefix of a valid line is an error, never a crash. */
static void
assert_truncations_fail(const char *line)
{
    size_t len = strlen(line);
    t1071i_event *ev;
    char err[160];

    assert_int_equal(parse_n(line, len, &ev, err, sizeof(err)), T1071_OK);
    free_ev(ev);
    for (size_t k = 0; k < len; k++) {
        int rc = parse_n(line, k, &ev, err, sizeof(err));

        if (rc != T1071_E_JSON)
            fail_msg("prefix of %zu bytes: got %d", k, rc);
    }
}

static void
test_ecs_json_truncated_at_every_byte_fails(void **state)
{
    static const char *const ids[] = {"e00", "e01", "e07", "e10", "e11"};
    static const char *const edges[] = {"ip_array_mixed-0", "name_empty_array-0",
                                        "name_null-0", "key_multi-0", "direction_missing-0"};

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char *line = fixture_line(EQL_DIR "d_predicates.ndjson", ids[i]);

        assert_truncations_fail(line);
        free(line);
    }
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        char *line = fixture_line(EQL_DIR "h_edges_each.ndjson", edges[i]);

        assert_truncations_fail(line);
        free(line);
    }
    assert_truncations_fail(full_nested);
    assert_truncations_fail(full_dotted);
    assert_truncations_fail("{\"a\":\"\\ud83d\\ude00\\u00e9\xc3\xa9\",\"b\":[true,false,null,"
                            "-1.5e+3,{}],\"host.name\":\"x\"}");
}

/* Overwrite every byte of a line with bytes that matter to the grammar:
 * the result is an error or a well-formed event, never a crash or a leak. */
static void
test_ecs_json_corrupted_bytes_never_crash(void **state)
{
    static const char subst[] = "{}[]\":,\\ 0-.eEtn\x00\x01\x7f\x80\xc3\xff";
    char *line = fixture_line(EQL_DIR "h_edges_each.ndjson", "key_multi-0");
    size_t len = strlen(line);
    size_t oks = 0, errs = 0;

    (void)state;
    for (size_t i = 0; i < len; i++) {
        for (size_t j = 0; j < sizeof(subst) - 1; j++) {
            char saved = line[i];
            t1071i_event *ev;
            char err[160];
            int rc;

            line[i] = subst[j];
            rc = parse_n(line, len, &ev, err, sizeof(err));
            line[i] = saved;
            assert_true(rc == T1071_OK || rc == T1071_E_JSON);
            if (rc == T1071_OK) {
                oks++;
                free_ev(ev);
            } else {
                errs++;
            }
        }
    }
    assert_true(oks > 0);
    assert_true(errs > 0);
    free(line);
}

/* ===== Fixtures ===== */

static void
test_ecs_json_eql_vector_shapes_mapped(void **state)
{
    t1071i_event *ev;
    const char *d = EQL_DIR "d_predicates.ndjson", *h = EQL_DIR "h_edges_each.ndjson";

    (void)state;
    /* The common shape: arrays for category/type, scalars elsewhere. */
    ev = parse_fixture(EQL_DIR "a_25_one_entity.ndjson", "e00");
    assert_int_equal(ev->timestamp_ms, INT64_C(1704067200000));
    assert_string_equal(ev->event_id, "e00");
    assert_strs(ev->event_category, ev->n_event_category, "network", NULL);
    assert_strs(ev->event_type, ev->n_event_type, "connection", NULL);
    assert_strs(ev->network_direction, ev->n_network_direction, "egress", NULL);
    assert_strs(ev->destination_ip, ev->n_destination_ip, "8.8.8.8", NULL);
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 443);
    assert_strs(ev->process_name, ev->n_process_name, "beacon.exe", NULL);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "E1", NULL);
    free_ev(ev);

    ev = parse_fixture(d, "e01"); /* two event types */
    assert_strs(ev->event_type, ev->n_event_type, "start", "info", NULL);
    free_ev(ev);
    ev = parse_fixture(d, "e02"); /* IPv6 destination */
    assert_strs(ev->destination_ip, ev->n_destination_ip, "2001:4860:4860::8888", NULL);
    free_ev(ev);
    ev = parse_fixture(d, "e03"); /* no destination.ip */
    assert_int_equal(ev->n_destination_ip, 0);
    assert_int_equal(ev->destination_port[0], 443);
    free_ev(ev);
    ev = parse_fixture(d, "e04"); /* IPv4-mapped, kept as text */
    assert_strs(ev->destination_ip, ev->n_destination_ip, "::ffff:10.1.2.3", NULL);
    free_ev(ev);
    ev = parse_fixture(d, "e07"); /* port as a string */
    assert_int_equal(ev->n_destination_port, 1);
    assert_int_equal(ev->destination_port[0], 443);
    free_ev(ev);
    ev = parse_fixture(d, "e08"); /* case kept as written */
    assert_strs(ev->network_direction, ev->n_network_direction, "EGRESS", NULL);
    free_ev(ev);
    ev = parse_fixture(d, "e09"); /* no process.name */
    assert_int_equal(ev->n_process_name, 0);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "D", NULL);
    free_ev(ev);
    ev = parse_fixture(d, "e10"); /* event.type a scalar */
    assert_strs(ev->event_type, ev->n_event_type, "connection", NULL);
    free_ev(ev);
    ev = parse_fixture(d, "e11"); /* event.category a scalar */
    assert_strs(ev->event_category, ev->n_event_category, "network", NULL);
    free_ev(ev);

    ev = parse_fixture(h, "ip6_loopback-0"); /* @timestamp last */
    assert_true(ev->has_timestamp_ms);
    assert_int_equal(ev->timestamp_ms, INT64_C(1706745600000));
    assert_strs(ev->destination_ip, ev->n_destination_ip, "::1", NULL);
    free_ev(ev);
    ev = parse_fixture(h, "ip_array_mixed-0");
    assert_strs(ev->destination_ip, ev->n_destination_ip, "10.1.1.1", "8.8.8.8", NULL);
    free_ev(ev);
    ev = parse_fixture(h, "ip_unparsable-0"); /* kept: the filter judges it */
    assert_strs(ev->destination_ip, ev->n_destination_ip, "not-an-ip", NULL);
    free_ev(ev);
    ev = parse_fixture(h, "type_missing-0");
    assert_int_equal(ev->n_event_type, 0);
    free_ev(ev);
    ev = parse_fixture(h, "type_connection_end-0");
    assert_strs(ev->event_type, ev->n_event_type, "connection", "end", NULL);
    free_ev(ev);
    ev = parse_fixture(h, "direction_missing-0"); /* "network": {} */
    assert_int_equal(ev->n_network_direction, 0);
    free_ev(ev);
    ev = parse_fixture(h, "port_missing-0");
    assert_int_equal(ev->n_destination_port, 0);
    free_ev(ev);
    ev = parse_fixture(h, "name_empty_array-0");
    assert_int_equal(ev->n_process_name, 0);
    free_ev(ev);
    ev = parse_fixture(h, "name_empty_string-0");
    assert_strs(ev->process_name, ev->n_process_name, "", NULL);
    free_ev(ev);
    ev = parse_fixture(h, "name_null-0");
    assert_int_equal(ev->n_process_name, 0);
    free_ev(ev);
    ev = parse_fixture(h, "key_empty-0");
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "", NULL);
    free_ev(ev);
    ev = parse_fixture(h, "key_multi-0");
    assert_strs(ev->process_entity_id, ev->n_process_entity_id, "KA", "KB", NULL);
    free_ev(ev);
}

/* Every line of every fixture parses, with a timestamp. */
static void
parse_file(const char *path, bool eql)
{
    FILE *f = fopen(path, "rb");
    static char line[16384];
    size_t lines = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        t1071i_event *ev;
        char err[160];
        size_t n = strlen(line);
        int rc;

        assert_true(n > 0 && line[n - 1] == '\n'); /* the whole line fit */
        rc = parse_n(line, n, &ev, err, sizeof(err));

        if (rc != T1071_OK)
            fail_msg("%s line %zu: %s", path, lines + 1, err);
        assert_true(ev->has_timestamp_ms);
        assert_true(ev->n_event_category > 0);
        if (eql) {
            assert_non_null(ev->event_id);
        } else {
            assert_true(ev->n_source_ip > 0);
            assert_true(ev->n_destination_port > 0);
        }
        free_ev(ev);
        lines++;
    }
    fclose(f);
    assert_true(lines > 0);
}

static void
test_ecs_json_all_fixture_lines_parse(void **state)
{
    static const char *const eql[] = {
        "a_25_one_entity", "b_gap", "c_maxspan_boundary", "d_predicates",
        "e_keys", "f_equal_ts", "g_predicates_each", "h_edges_each",
    };
    static const char *const real[] = {
        "mordor-apt29-zeek", "mordor-covenant-iertutil", "mordor-empire-ikeext",
    };
    char path[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(eql) / sizeof(eql[0]); i++) {
        snprintf(path, sizeof(path), EQL_DIR "%s.ndjson", eql[i]);
        parse_file(path, true);
    }
    for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
        snprintf(path, sizeof(path), REAL_DIR "%s.ecs.ndjson", real[i]);
        parse_file(path, false);
    }
}

static void
test_ecs_json_real_sysmon_line_mapped(void **state)
{
    FILE *f = fopen(REAL_DIR "mordor-empire-ikeext.ecs.ndjson", "rb");
    char buf[8192];
    t1071i_event *ev;

    (void)state;
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    ev = parse_ok(buf);
    assert_int_equal(ev->timestamp_ms, INT64_C(1554313006021));
    assert_string_equal(ev->event_module, "sysmon");
    assert_string_equal(ev->event_action, "Network connection");
    assert_strs(ev->event_type, ev->n_event_type, "start", "connection", "protocol", NULL);
    assert_strs(ev->source_ip, ev->n_source_ip, "172.18.39.105", NULL);
    assert_int_equal(ev->source_port, 56860);
    assert_strs(ev->process_entity_id, ev->n_process_entity_id,
                "{aa6b4a20-bc60-5ca4-0000-0010b5ffc401}", NULL);
    assert_int_equal(ev->process_pid, 6348);
    assert_string_equal(ev->process_executable,
                        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");
    assert_string_equal(ev->host_name, "IT001.shire.com");
    assert_string_equal(ev->user_name, "pgustavo");
    assert_null(ev->event_id); /* winlog.record_id is not event.id */
    free_ev(ev);
}

/* ===== The reader's number conversion ===== */

static void
test_json_number_to_int64_exact(void **state)
{
    static const struct {
        const char *text;
        bool ok;
        int64_t v;
    } cases[] = {
        {"0", true, 0},
        {"-0", true, 0},
        {"443", true, 443},
        {"443.0", true, 443},
        {"443.000000000000000000000000", true, 443},
        {"4.43e2", true, 443},
        {"4.43E+2", true, 443},
        {"44300e-2", true, 443},
        {"0.443e3", true, 443},
        {"0.0", true, 0},
        {"0e-99999999999", true, 0},
        {"1e18", true, INT64_C(1000000000000000000)},
        {"9223372036854775807", true, INT64_MAX},
        {"-9223372036854775808", true, INT64_MIN},
        {"922337203685477580.7e1", true, INT64_MAX},
        {"0009", true, 9},
        {"9223372036854775808", false, 0},
        {"-9223372036854775809", false, 0},
        {"1e19", false, 0},
        {"18446744073709551616", false, 0},
        {"443.5", false, 0},
        {"4.435e2", false, 0},
        {"1e-1", false, 0},
        {"1e999999999999", false, 0},
        {"", false, 0},
        {"-", false, 0},
        {"1.", false, 0},
        {".5", false, 0},
        {"1e", false, 0},
        {"12a", false, 0},
        {"+1", false, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = 12345;
        bool ok = t1071i_json_number_to_int64(cases[i].text, strlen(cases[i].text), &v);

        if (ok != cases[i].ok || (ok && v != cases[i].v))
            fail_msg("%s: ok=%d v=%lld", cases[i].text, ok, (long long)v);
    }
}

static void
test_json_skip_validates_whole_value(void **state)
{
    static const char *const good[] = {
        "{}", "[]", "[[[]]]", "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"\\u0041\"}",
        "\"s\"", "-1.5e3", "true", "false", "null", " [ 1 , 2 ] ",
    };
    static const char *const bad[] = {
        "{", "[", "[1,]", "{\"a\":1,}", "{\"a\"}", "[1 2]", "{\"a\":[}", "{1:2}",
        "[\"\\u00\"]", "[01]", "[nul]", "]", "", "[1]]",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct t1071i_json_reader r;

        t1071i_json_init(&r, good[i], strlen(good[i]));
        if (!t1071i_json_skip(&r) || !t1071i_json_finish(&r))
            fail_msg("rejected %s: %s", good[i], r.err_msg);
        assert_int_equal(r.depth, 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct t1071i_json_reader r;

        t1071i_json_init(&r, bad[i], strlen(bad[i]));
        if (t1071i_json_skip(&r) && t1071i_json_finish(&r))
            fail_msg("accepted %s", bad[i]);
        assert_true(r.failed);
        assert_non_null(r.err_msg);
        assert_true(r.err_off <= strlen(bad[i]));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecs_json_nested_objects_map_every_field),
        cmocka_unit_test(test_ecs_json_dotted_keys_map_every_field),
        cmocka_unit_test(test_ecs_json_mixed_dotted_and_nested_build_full_path),
        cmocka_unit_test(test_ecs_json_unknown_fields_skipped),
        cmocka_unit_test(test_ecs_json_empty_object_all_absent),
        cmocka_unit_test(test_ecs_json_timestamp_string_parsed),
        cmocka_unit_test(test_ecs_json_timestamp_number_is_epoch_ms),
        cmocka_unit_test(test_ecs_json_timestamp_unparsable_absent),
        cmocka_unit_test(test_ecs_json_process_start_parsed),
        cmocka_unit_test(test_ecs_json_null_means_absent),
        cmocka_unit_test(test_ecs_json_repeated_scalar_becomes_one_element),
        cmocka_unit_test(test_ecs_json_repeated_array_keeps_every_element),
        cmocka_unit_test(test_ecs_json_repeated_empty_array_absent),
        cmocka_unit_test(test_ecs_json_repeated_null_and_container_elements_skipped),
        cmocka_unit_test(test_ecs_json_empty_string_kept),
        cmocka_unit_test(test_ecs_json_single_field_array_takes_first_scalar),
        cmocka_unit_test(test_ecs_json_string_field_number_keeps_text),
        cmocka_unit_test(test_ecs_json_string_field_boolean_becomes_text),
        cmocka_unit_test(test_ecs_json_scalar_field_container_ignored),
        cmocka_unit_test(test_ecs_json_event_id_number_becomes_text),
        cmocka_unit_test(test_ecs_json_port_integer_and_string_accepted),
        cmocka_unit_test(test_ecs_json_port_integral_float_accepted),
        cmocka_unit_test(test_ecs_json_port_bad_values_dropped),
        cmocka_unit_test(test_ecs_json_port_array_keeps_valid_values),
        cmocka_unit_test(test_ecs_json_int64_limits_accepted),
        cmocka_unit_test(test_ecs_json_int_fields_mapped),
        cmocka_unit_test(test_ecs_json_duplicate_keys_last_wins),
        cmocka_unit_test(test_ecs_json_escapes_decoded),
        cmocka_unit_test(test_ecs_json_nul_escape_becomes_replacement),
        cmocka_unit_test(test_ecs_json_lone_surrogates_become_replacement),
        cmocka_unit_test(test_ecs_json_invalid_utf8_becomes_replacement),
        cmocka_unit_test(test_ecs_json_escaped_key_matches_field),
        cmocka_unit_test(test_ecs_json_byte_order_mark_skipped),
        cmocka_unit_test(test_ecs_json_surrounding_whitespace_accepted),
        cmocka_unit_test(test_ecs_json_length_bounds_input),
        cmocka_unit_test(test_ecs_json_malformed_input_returns_json_error),
        cmocka_unit_test(test_ecs_json_error_message_names_byte),
        cmocka_unit_test(test_ecs_json_bad_arguments_rejected),
        cmocka_unit_test(test_ecs_json_deep_nesting_rejected),
        cmocka_unit_test(test_ecs_json_nesting_at_limit_accepted),
        cmocka_unit_test(test_ecs_json_oversized_input_too_large),
        cmocka_unit_test(test_ecs_json_huge_numbers_handled),
        cmocka_unit_test(test_ecs_json_long_array_kept),
        cmocka_unit_test(test_ecs_json_truncated_at_every_byte_fails),
        cmocka_unit_test(test_ecs_json_corrupted_bytes_never_crash),
        cmocka_unit_test(test_ecs_json_eql_vector_shapes_mapped),
        cmocka_unit_test(test_ecs_json_all_fixture_lines_parse),
        cmocka_unit_test(test_ecs_json_real_sysmon_line_mapped),
        cmocka_unit_test(test_json_number_to_int64_exact),
        cmocka_unit_test(test_json_skip_validates_whole_value),
    };

    return cmocka_run_group_tests_name("ecs-json", tests, NULL, NULL);
}
