/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: rule.derive (lib/input/derive.c) and its two config keys. */
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

/* ===== Helpers ===== */

struct fx {
    t1071_config *cfg;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (!f || t1071_config_new(&f->cfg) != T1071_OK)
        return -1;
    if (t1071_config_set(f->cfg, "rule.derive", "true") != T1071_OK)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    t1071_config_free(f->cfg);
    free(f);
    return 0;
}

static t1071i_event *
parse(const char *json)
{
    t1071i_event *ev = NULL;
    char err[160];

    assert_int_equal(t1071i_ecs_json_to_event(json, strlen(json), &ev, err, sizeof(err)),
                     T1071_OK);
    assert_non_null(ev);
    return ev;
}

/* Parse, derive, and hand back the event (free with free_event). */
static t1071i_event *
derived(const struct fx *f, const char *json)
{
    t1071i_event *ev = parse(json);

    assert_int_equal(t1071i_config_derive(f->cfg, ev), T1071_OK);
    return ev;
}

/* rule.derive's address class under @p cfg's rule.home_networks. */
static int
is_home(const t1071_config *cfg, const char *ip)
{
    struct t1071i_derive_cfg d = t1071i_config_derive_cfg(cfg);

    return t1071i_derive_is_home(&d, ip);
}

static void
free_event(t1071i_event *ev)
{
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
}

static void
assert_strs(char **vals, size_t n, const char *const *want, size_t n_want)
{
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(vals[i], want[i]);
}

#define ASSERT_DIR(ev, ...)                                                    \
    do {                                                                       \
        static const char *const w_[] = {__VA_ARGS__};                         \
        assert_strs((ev)->network_direction, (ev)->n_network_direction, w_,    \
                    sizeof(w_) / sizeof(w_[0]));                               \
    } while (0)

static void
assert_one(char **vals, size_t n, const char *want)
{
    assert_int_equal(n, 1);
    assert_string_equal(vals[0], want);
}

/* ===== Config ===== */

static void
test_derive_config_defaults(void **state)
{
    t1071_config *cfg = NULL;
    char buf[256];

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_false(cfg->derive);
    assert_int_equal(t1071_config_get(cfg, "rule.derive", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "false");
    assert_int_equal(t1071_config_get(cfg, "rule.home_networks", buf, sizeof(buf), NULL),
                     T1071_OK);
    assert_string_equal(buf, "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7");
    assert_int_equal(cfg->n_home_cidrs, 4);
    t1071_config_free(cfg);
}

static void
test_derive_config_home_networks_set_and_rejected(void **state)
{
    struct fx *f = *state;

    assert_int_equal(t1071_config_set(f->cfg, "rule.home_networks", "198.51.100.0/24, 2001:db8::/32"),
                     T1071_OK);
    assert_int_equal(f->cfg->n_home_cidrs, 2);
    assert_int_equal(is_home(f->cfg, "198.51.100.7"), 1);
    assert_int_equal(is_home(f->cfg, "2001:db8::1"), 1);
    assert_int_equal(is_home(f->cfg, "10.1.1.1"), 0);
    assert_int_equal(is_home(f->cfg, "not-an-ip"), -1);
    /* A bad list leaves the config as it was and names the key. */
    assert_int_equal(t1071_config_set(f->cfg, "rule.home_networks", "10.0.0.0/33"),
                     T1071_E_INVALID_ARG);
    assert_non_null(strstr(t1071_config_errmsg(f->cfg), "rule.home_networks"));
    assert_int_equal(f->cfg->n_home_cidrs, 2);
    assert_int_equal(t1071_config_set(f->cfg, "rule.derive", "maybe"), T1071_E_INVALID_ARG);
    /* Empty: nothing is home. */
    assert_int_equal(t1071_config_set(f->cfg, "rule.home_networks", ""), T1071_OK);
    assert_int_equal(f->cfg->n_home_cidrs, 0);
    assert_int_equal(is_home(f->cfg, "10.1.1.1"), 0);
}

static void
test_derive_off_changes_nothing(void **state)
{
    t1071_config *cfg = NULL;
    t1071i_event *ev = parse("{\"host\":{\"id\":\"h1\"},\"process\":{\"pid\":42},"
                             "\"source\":{\"ip\":\"10.0.0.5\"},"
                             "\"destination\":{\"ip\":\"203.0.113.9\"},"
                             "\"network\":{\"direction\":\"outbound\"}}");

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071i_config_derive(cfg, ev), T1071_OK);
    assert_int_equal(ev->n_process_entity_id, 0);
    assert_int_equal(ev->n_process_name, 0);
    ASSERT_DIR(ev, "outbound");
    assert_int_equal(t1071i_config_derive(NULL, ev), T1071_E_INVALID_ARG);
    assert_int_equal(t1071i_config_derive(cfg, NULL), T1071_E_INVALID_ARG);
    free_event(ev);
    t1071_config_free(cfg);
}

/* ===== (1) entity id ===== */

static void
test_derive_entity_id_from_host_pid_start(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev = derived(f, "{\"host\":{\"id\":\"h-1\",\"name\":\"web\"},"
                                  "\"process\":{\"pid\":4242,\"name\":\"curl\","
                                  "\"start\":\"2024-01-01T00:00:01.500Z\"}}");

    assert_one(ev->process_entity_id, ev->n_process_entity_id,
               "derived:h-1:4242:1704067201500");
    assert_one(ev->process_name, ev->n_process_name, "curl");
    free_event(ev);

    /* host.name when host.id is missing; no process.start: no third part. */
    ev = derived(f, "{\"host\":{\"name\":\"web-07\"},\"process\":{\"pid\":7}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "derived:web-07:7");
    /* Not a flow: process.name is not invented. */
    assert_int_equal(ev->n_process_name, 0);
    free_event(ev);

    /* No host at all. */
    ev = derived(f, "{\"process\":{\"pid\":\"19\"}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "derived::19");
    free_event(ev);
}

static void
test_derive_entity_id_present_is_kept(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev = derived(f, "{\"host\":{\"id\":\"h\"},\"process\":{\"pid\":1,"
                                  "\"entity_id\":[\"a\",\"b\"]}}");

    assert_int_equal(ev->n_process_entity_id, 2);
    assert_string_equal(ev->process_entity_id[0], "a");
    free_event(ev);
    /* An empty string is a value (README "Semantics": "" joins): kept, no flow key. */
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.0.1\"},\"process\":{\"entity_id\":\"\"}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "");
    assert_int_equal(ev->n_process_name, 0);
    free_event(ev);
}

/* ===== (2) direction ===== */

static void
test_derive_direction_from_address_classes(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev;

    ev = derived(f, "{\"source\":{\"ip\":\"10.1.2.3\"},\"destination\":{\"ip\":\"203.0.113.9\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"198.51.100.4\"},\"destination\":{\"ip\":\"192.168.1.1\"}}");
    ASSERT_DIR(ev, "ingress");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"172.16.0.1\"},\"destination\":{\"ip\":\"10.9.9.9\"}}");
    ASSERT_DIR(ev, "internal");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"8.8.8.8\"},\"destination\":{\"ip\":\"1.1.1.1\"}}");
    ASSERT_DIR(ev, "external");
    free_event(ev);
    /* IPv6: fc00::/7 is home; an IPv4-mapped address counts as IPv4. */
    ev = derived(f, "{\"source\":{\"ip\":\"fd12:3456::1\"},\"destination\":{\"ip\":\"2001:db8::1\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"::ffff:10.0.0.1\"},\"destination\":{\"ip\":\"203.0.113.1\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    /* The first parseable value of each array. */
    ev = derived(f, "{\"source\":{\"ip\":[\"junk\",\"10.0.0.1\",\"8.8.8.8\"]},"
                    "\"destination\":{\"ip\":[\"203.0.113.1\",\"10.0.0.2\"]}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
}

static void
test_derive_direction_needs_both_addresses(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev;

    ev = derived(f, "{\"source\":{\"ip\":\"10.1.2.3\"}}");
    assert_int_equal(ev->n_network_direction, 0);
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"10.1.2.3\"},\"destination\":{\"ip\":\"bogus\"},"
                    "\"network\":{\"direction\":\"internal\"}}");
    ASSERT_DIR(ev, "internal");
    free_event(ev);
    /* Mapping perimeter values needs no address. */
    ev = derived(f, "{\"network\":{\"direction\":\"outbound\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    ev = derived(f, "{\"network\":{\"direction\":\"inbound\"}}");
    ASSERT_DIR(ev, "ingress");
    free_event(ev);
}

static void
test_derive_direction_perimeter_values(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev;

    /* internal / external / unknown are recomputed from the addresses. */
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.1.6\"},\"destination\":{\"ip\":\"203.0.113.4\"},"
                    "\"network\":{\"direction\":\"internal\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.1.6\"},\"destination\":{\"ip\":\"203.0.113.4\"},"
                    "\"network\":{\"direction\":\"unknown\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.1.6\"},\"destination\":{\"ip\":\"192.168.0.4\"},"
                    "\"network\":{\"direction\":\"external\"}}");
    ASSERT_DIR(ev, "internal");
    free_event(ev);
    /* outbound / inbound map as they are, whatever the addresses say. */
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.1.6\"},\"destination\":{\"ip\":\"10.0.0.4\"},"
                    "\"network\":{\"direction\":\"outbound\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    /* Host-based values and anything else are kept (derive fills gaps, it
     * does not correct case). */
    ev = derived(f, "{\"source\":{\"ip\":\"8.8.8.8\"},\"destination\":{\"ip\":\"10.0.0.4\"},"
                    "\"network\":{\"direction\":\"egress\"}}");
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.0.4\"},\"destination\":{\"ip\":\"8.8.8.8\"},"
                    "\"network\":{\"direction\":\"EGRESS\"}}");
    ASSERT_DIR(ev, "EGRESS");
    free_event(ev);
    /* Arrays map value by value without duplicates. */
    ev = derived(f, "{\"network\":{\"direction\":[\"outbound\",\"egress\",\"inbound\"]}}");
    ASSERT_DIR(ev, "egress", "ingress");
    free_event(ev);
}

static void
test_derive_direction_follows_home_networks(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev;
    static const char lab[] = "{\"source\":{\"ip\":\"10.0.1.6\"},"
                              "\"destination\":{\"ip\":\"192.168.0.4\"},"
                              "\"network\":{\"direction\":\"internal\"}}";

    ev = derived(f, lab);
    ASSERT_DIR(ev, "internal");
    free_event(ev);
    assert_int_equal(t1071_config_set(f->cfg, "rule.home_networks", "10.0.0.0/8"), T1071_OK);
    ev = derived(f, lab);
    ASSERT_DIR(ev, "egress");
    free_event(ev);
}

/* ===== (3) flow key ===== */

static void
test_derive_flow_key_for_processless_flows(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev;

    ev = derived(f, "{\"source\":{\"ip\":[\"10.1.2.31\",\"10.9.0.2\"]},"
                    "\"destination\":{\"ip\":\"203.0.113.50\"}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "flow:10.1.2.31");
    assert_one(ev->process_name, ev->n_process_name, T1071I_DERIVED_PROCESS_NAME);
    ASSERT_DIR(ev, "egress");
    free_event(ev);
    /* The first parseable source address, as written. */
    ev = derived(f, "{\"source\":{\"ip\":[\"\",\"2001:DB8::1\"]}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "flow:2001:DB8::1");
    free_event(ev);
    /* A process.name already there is kept. */
    ev = derived(f, "{\"source\":{\"ip\":\"10.0.0.1\"},\"process\":{\"name\":\"nginx\"}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "flow:10.0.0.1");
    assert_one(ev->process_name, ev->n_process_name, "nginx");
    free_event(ev);
    /* No source address: no key, no name. */
    ev = derived(f, "{\"destination\":{\"ip\":\"203.0.113.50\"}}");
    assert_int_equal(ev->n_process_entity_id, 0);
    assert_int_equal(ev->n_process_name, 0);
    free_event(ev);
    /* A pid means a process: the entity id, never the flow key. */
    ev = derived(f, "{\"host\":{\"id\":\"h\"},\"source\":{\"ip\":\"10.0.0.1\"},\"process\":{\"pid\":3}}");
    assert_one(ev->process_entity_id, ev->n_process_entity_id, "derived:h:3");
    free_event(ev);
}

/* The derived event survives the protobuf round trip and is freed like any
 * unpacked event (ASan/valgrind catch a mismatch). */
static void
test_derive_on_unpacked_protobuf_event(void **state)
{
    struct fx *f = *state;
    t1071i_event *ev = parse("{\"@timestamp\":\"2024-01-01T00:00:00Z\","
                             "\"source\":{\"ip\":\"10.0.0.1\"},"
                             "\"destination\":{\"ip\":\"203.0.113.1\",\"port\":443},"
                             "\"network\":{\"direction\":[\"internal\",\"outbound\"]}}");
    size_t len = t1071__ecs__v1__event__get_packed_size(ev);
    uint8_t *buf = malloc(len ? len : 1);
    t1071i_event *u;

    assert_non_null(buf);
    t1071__ecs__v1__event__pack(ev, buf);
    free_event(ev);
    u = t1071__ecs__v1__event__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(u);
    assert_int_equal(t1071i_config_derive(f->cfg, u), T1071_OK);
    ASSERT_DIR(u, "egress");
    assert_one(u->process_entity_id, u->n_process_entity_id, "flow:10.0.0.1");
    assert_one(u->process_name, u->n_process_name, "unknown");
    /* Deriving twice changes nothing more. */
    assert_int_equal(t1071i_config_derive(f->cfg, u), T1071_OK);
    ASSERT_DIR(u, "egress");
    assert_one(u->process_entity_id, u->n_process_entity_id, "flow:10.0.0.1");
    free_event(u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_config_defaults),
        T(test_derive_config_home_networks_set_and_rejected),
        cmocka_unit_test(test_derive_off_changes_nothing),
        T(test_derive_entity_id_from_host_pid_start),
        T(test_derive_entity_id_present_is_kept),
        T(test_derive_direction_from_address_classes),
        T(test_derive_direction_needs_both_addresses),
        T(test_derive_direction_perimeter_values),
        T(test_derive_direction_follows_home_networks),
        T(test_derive_flow_key_for_processless_flows),
        T(test_derive_on_unpacked_protobuf_event),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
