/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/config/config.c: defaults (the seed rule), set/get, value
 * validation, error messages, INI loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

/* The seed rule (shared/seed, Elastic's T1071 EQL rule) and the documented
 * engine defaults, as canonical text. */
static const struct {
    const char *key, *value;
} defaults[] = {
    {"rule.name", "Application Layer Protocol (T1071) beaconing"},
    {"rule.rule_id", "5f1c4e2a-7b0d-4c1e-9a3f-71a1e0c0d071"},
    {"rule.severity", "high"},
    {"rule.risk_score", "73"},
    {"rule.profile", "faithful"},
    {"rule.runs", "10"},
    {"rule.maxspan", "24h"},
    {"rule.ports", "80,443,53,21,25,110,143,8080,8443,1883,5222"},
    {"rule.exclude_cidrs",
     "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,169.254.0.0/16"},
    {"rule.category", "network"},
    {"rule.event_types", "connection,start"},
    {"rule.direction", "egress"},
    {"rule.require_process_name", "true"},
    {"rule.key", "process.entity_id"},
    {"engine.lateness", "0s"},
    {"engine.max_jump", "30d"},
    {"engine.alert_queue", "4096"},
    {"engine.max_event_bytes", "65536"},
    {"engine.hash_seed", "0"},
};
#define N_DEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

static const int seed_ports[] = {80, 443, 53, 21, 25, 110, 143, 8080, 8443, 1883, 5222};

static int
setup_cfg(void **state)
{
    t1071_config *cfg = NULL;

    if (t1071_config_new(&cfg) != T1071_OK || !cfg)
        return -1;
    *state = cfg;
    return 0;
}

static int
teardown_cfg(void **state)
{
    t1071_config_free(*state);
    return 0;
}

static void
assert_value(const t1071_config *cfg, const char *key, const char *want)
{
    char buf[512];
    size_t needed = 0;

    assert_int_equal(t1071_config_get(cfg, key, buf, sizeof(buf), &needed), T1071_OK);
    assert_string_equal(buf, want);
    assert_int_equal(needed, strlen(want) + 1);
}

static bool
port_set(const struct t1071_config *cfg, int port)
{
    return t1071i_port_in_set(cfg, port);
}

/* ===== Defaults ===== */

static void
test_config_new_every_key_text_equals_seed_rule(void **state)
{
    t1071_config *cfg = *state;

    for (size_t i = 0; i < N_DEFAULTS; i++)
        assert_value(cfg, defaults[i].key, defaults[i].value);
    assert_string_equal(t1071_config_errmsg(cfg), "");
}

static void
test_config_new_compiled_fields_equal_seed_rule(void **state)
{
    const struct t1071_config *cfg = *state;
    struct t1071i_cidr want;
    static const char *const cidrs[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                        "127.0.0.0/8", "169.254.0.0/16"};
    size_t n_ports = 0;

    assert_int_equal(cfg->runs, 10);
    assert_int_equal(cfg->maxspan_ms, INT64_C(86400000));
    assert_string_equal(cfg->severity, "high");
    assert_int_equal(cfg->risk_score, 73);
    assert_string_equal(cfg->profile, "faithful");
    assert_string_equal(cfg->filter.category, "network");
    assert_string_equal(cfg->filter.direction, "egress");
    assert_true(cfg->filter.require_process_name);
    assert_int_equal(cfg->filter.n_event_types, 2);
    assert_string_equal(cfg->filter.event_types[0], "connection");
    assert_string_equal(cfg->filter.event_types[1], "start");
    assert_int_equal(cfg->n_key_fields, 1);
    assert_int_equal(cfg->key_fields[0], T1071I_F_PROCESS_ENTITY_ID);
    assert_int_equal(cfg->lateness_ms, 0);
    assert_int_equal(cfg->max_jump_ms, INT64_C(30) * 86400000);
    assert_int_equal(cfg->alert_queue, 4096);
    assert_int_equal(cfg->max_event_bytes, 65536);
    assert_int_equal(cfg->hash_seed, 0);

    /* Exactly the eleven seed ports, nothing else. */
    for (int p = 0; p <= 65535; p++) {
        bool want_in = false;
        for (size_t i = 0; i < sizeof(seed_ports) / sizeof(seed_ports[0]); i++)
            want_in = want_in || seed_ports[i] == p;
        assert_int_equal(port_set(cfg, p), want_in);
        n_ports += want_in;
    }
    assert_int_equal(n_ports, 11);

    assert_int_equal(cfg->filter.n_cidrs, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_true(t1071i_parse_cidr(cidrs[i], &want));
        assert_int_equal(cfg->filter.cidrs[i].prefix, want.prefix);
        assert_memory_equal(cfg->filter.cidrs[i].addr, want.addr, 16);
    }
}

static void
test_config_get_unknown_key_returns_unknown_key(void **state)
{
    char buf[16];

    assert_int_equal(t1071_config_get(*state, "rule.nope", buf, sizeof(buf), NULL),
                     T1071_E_UNKNOWN_KEY);
    assert_int_equal(t1071_config_get(*state, "", buf, sizeof(buf), NULL), T1071_E_UNKNOWN_KEY);
}

static void
test_config_get_small_buffer_truncates_and_reports_needed(void **state)
{
    char buf[4];
    size_t needed = 0;

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(t1071_config_get(*state, "rule.category", buf, sizeof(buf), &needed),
                     T1071_OK);
    assert_string_equal(buf, "net");
    assert_int_equal(needed, strlen("network") + 1);
    needed = 0;
    assert_int_equal(t1071_config_get(*state, "rule.category", NULL, 0, &needed), T1071_OK);
    assert_int_equal(needed, 8);
}

static void
test_config_get_null_args_return_invalid_arg(void **state)
{
    char buf[8];
    size_t needed = 99;

    assert_int_equal(t1071_config_get(NULL, "rule.runs", buf, sizeof(buf), &needed),
                     T1071_E_INVALID_ARG);
    assert_int_equal(needed, 0);
    assert_int_equal(t1071_config_get(*state, NULL, buf, sizeof(buf), NULL),
                     T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_get(*state, "rule.runs", NULL, 8, NULL),
                     T1071_E_INVALID_ARG);
}

/* ===== Set / get round trip ===== */

static void
test_config_set_valid_values_round_trip(void **state)
{
    t1071_config *cfg = *state;
    static const struct {
        const char *key, *value;
    } cases[] = {
        {"rule.name", "my rule"},
        {"rule.rule_id", "abc-123"},
        {"rule.severity", "critical"},
        {"rule.risk_score", "0"},
        {"rule.risk_score", "100"},
        {"rule.profile", "tuned"},
        {"rule.runs", "1"},
        {"rule.runs", "1000"},
        {"rule.maxspan", "90s"},
        {"rule.maxspan", "500ms"},
        {"rule.maxspan", "7d"},
        {"rule.maxspan", "15m"},
        {"rule.maxspan", "0"},
        {"rule.ports", "443"},
        {"rule.ports", "1-1024,8080"},
        {"rule.exclude_cidrs", "10.0.0.0/8,fc00::/7"},
        {"rule.category", ""},
        {"rule.event_types", "connection"},
        {"rule.direction", "outbound"},
        {"rule.direction", ""},
        {"rule.require_process_name", "false"},
        {"rule.key", "host.id,process.executable"},
        {"engine.lateness", "5m"},
        {"engine.max_jump", "1m"},
        {"engine.alert_queue", "1"},
        {"engine.max_event_bytes", "64"},
        {"engine.hash_seed", "18446744073709551615"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(t1071_config_set(cfg, cases[i].key, cases[i].value), T1071_OK);
        assert_string_equal(t1071_config_errmsg(cfg), "");
        assert_value(cfg, cases[i].key, cases[i].value);
    }
}

static void
test_config_set_values_reach_compiled_fields(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(t1071_config_set(cfg, "rule.runs", "3"), T1071_OK);
    assert_int_equal(cfg->runs, 3);
    assert_int_equal(t1071_config_set(cfg, "rule.maxspan", "90s"), T1071_OK);
    assert_int_equal(cfg->maxspan_ms, 90000);
    assert_int_equal(t1071_config_set(cfg, "rule.maxspan", "1500ms"), T1071_OK);
    assert_int_equal(cfg->maxspan_ms, 1500);
    assert_int_equal(t1071_config_set(cfg, "rule.maxspan", "2d"), T1071_OK);
    assert_int_equal(cfg->maxspan_ms, INT64_C(172800000));
    assert_int_equal(t1071_config_set(cfg, "engine.lateness", "15m"), T1071_OK);
    assert_int_equal(cfg->lateness_ms, 900000);
    assert_int_equal(t1071_config_set(cfg, "engine.alert_queue", "3"), T1071_OK);
    assert_int_equal(cfg->alert_queue, 3);
    assert_int_equal(t1071_config_set(cfg, "rule.require_process_name", "no"), T1071_OK);
    assert_false(cfg->filter.require_process_name);
    assert_int_equal(t1071_config_set(cfg, "rule.require_process_name", "yes"), T1071_OK);
    assert_true(cfg->filter.require_process_name);
    assert_int_equal(t1071_config_set(cfg, "rule.event_types", " a , b ,, c "), T1071_OK);
    assert_int_equal(cfg->filter.n_event_types, 3);
    assert_string_equal(cfg->filter.event_types[0], "a");
    assert_string_equal(cfg->filter.event_types[2], "c");
    assert_int_equal(t1071_config_set(cfg, "rule.key", "host.name, user.name"), T1071_OK);
    assert_int_equal(cfg->n_key_fields, 2);
    assert_int_equal(cfg->key_fields[0], T1071I_F_HOST_NAME);
    assert_int_equal(cfg->key_fields[1], T1071I_F_USER_NAME);
}

static void
test_config_set_ports_range_is_a_set(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(t1071_config_set(cfg, "rule.ports", "0, 100-102 ,65535,101"), T1071_OK);
    assert_true(port_set(cfg, 0));
    assert_false(port_set(cfg, 99));
    assert_true(port_set(cfg, 100));
    assert_true(port_set(cfg, 101));
    assert_true(port_set(cfg, 102));
    assert_false(port_set(cfg, 103));
    assert_true(port_set(cfg, 65535));
    assert_false(port_set(cfg, 443));
    assert_false(port_set(cfg, 65536));
    assert_false(port_set(cfg, -1));
}

static void
test_config_set_exclude_cidrs_empty_clears_list(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(cfg->filter.n_cidrs, 5);
    assert_int_equal(t1071_config_set(cfg, "rule.exclude_cidrs", ""), T1071_OK);
    assert_int_equal(cfg->filter.n_cidrs, 0);
    assert_value(cfg, "rule.exclude_cidrs", "");
    assert_int_equal(t1071_config_set(cfg, "rule.exclude_cidrs", "8.8.8.0/24"), T1071_OK);
    assert_int_equal(cfg->filter.n_cidrs, 1);
    assert_int_equal(cfg->filter.cidrs[0].prefix, 96 + 24);
}

static void
test_config_set_ports_empty_clears_set(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(t1071_config_set(cfg, "rule.ports", ""), T1071_OK);
    for (int p = 0; p <= 65535; p++)
        assert_false(port_set(cfg, p));
}

/* ===== Bad values ===== */

struct bad_case {
    const char *key, *value;
    int rc;
};

static const struct bad_case bad_cases[] = {
    {"rule.runs", "0", T1071_E_INVALID_ARG},
    {"rule.runs", "abc", T1071_E_INVALID_ARG},
    {"rule.runs", "-1", T1071_E_INVALID_ARG},
    {"rule.runs", "10x", T1071_E_INVALID_ARG},
    {"rule.runs", "", T1071_E_INVALID_ARG},
    {"rule.runs", "1001", T1071_E_INVALID_ARG},
    {"rule.runs", "99999999999999999999999", T1071_E_INVALID_ARG},
    {"rule.maxspan", "30", T1071_E_INVALID_ARG},
    {"rule.maxspan", "24", T1071_E_INVALID_ARG},
    {"rule.maxspan", "h", T1071_E_INVALID_ARG},
    {"rule.maxspan", "24x", T1071_E_INVALID_ARG},
    {"rule.maxspan", "-1h", T1071_E_INVALID_ARG},
    {"rule.maxspan", "", T1071_E_INVALID_ARG},
    {"rule.maxspan", "3651d", T1071_E_INVALID_ARG},
    {"rule.ports", "70000", T1071_E_INVALID_ARG},
    {"rule.ports", "65536", T1071_E_INVALID_ARG},
    {"rule.ports", "-1", T1071_E_INVALID_ARG},
    {"rule.ports", "80,http", T1071_E_INVALID_ARG},
    {"rule.ports", "100-50", T1071_E_INVALID_ARG},
    {"rule.ports", "1-70000", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "10.0.0.0/33", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "10.0.0/8", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "256.0.0.0/8", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "10.0.0.0/", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "10.0.0.0/x", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "fc00::/129", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "not-a-cidr", T1071_E_INVALID_ARG},
    {"rule.exclude_cidrs", "10.0.0.0/8,bogus", T1071_E_INVALID_ARG},
    {"rule.risk_score", "101", T1071_E_INVALID_ARG},
    {"rule.require_process_name", "maybe", T1071_E_INVALID_ARG},
    {"rule.key", "process.pid", T1071_E_INVALID_ARG},
    {"rule.key", "", T1071_E_INVALID_ARG},
    {"rule.key", "a,b,c,d,e", T1071_E_INVALID_ARG},
    {"rule.event_types", "", T1071_E_INVALID_ARG},
    {"rule.name", "", T1071_E_INVALID_ARG},
    {"rule.severity", "", T1071_E_INVALID_ARG},
    {"engine.lateness", "8d", T1071_E_INVALID_ARG},
    {"engine.max_jump", "59s", T1071_E_INVALID_ARG},
    {"engine.alert_queue", "0", T1071_E_INVALID_ARG},
    {"engine.max_event_bytes", "63", T1071_E_INVALID_ARG},
    {"engine.max_event_bytes", "1048577", T1071_E_INVALID_ARG},
    {"engine.hash_seed", "18446744073709551616", T1071_E_INVALID_ARG},
    {"rule.unknown", "1", T1071_E_UNKNOWN_KEY},
    {"runs", "10", T1071_E_UNKNOWN_KEY},
    {"RULE.RUNS", "10", T1071_E_UNKNOWN_KEY},
    {"engine.nope", "", T1071_E_UNKNOWN_KEY},
};

static void
test_config_set_bad_value_fails_names_key_and_keeps_value(void **state)
{
    t1071_config *cfg = *state;

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char before[512], after[512];
        const char *msg;
        bool known = t1071_config_get(cfg, c->key, before, sizeof(before), NULL) == T1071_OK;

        assert_int_equal(t1071_config_set(cfg, c->key, c->value), c->rc);
        msg = t1071_config_errmsg(cfg);
        assert_non_null(msg);
        if (!strstr(msg, c->key))
            fail_msg("errmsg for %s=\"%s\" does not name the key: \"%s\"", c->key, c->value,
                     msg);
        if (known) {
            assert_int_equal(t1071_config_get(cfg, c->key, after, sizeof(after), NULL),
                             T1071_OK);
            assert_string_equal(after, before);
        }
    }
    /* The compiled fields are unchanged too. */
    assert_int_equal(cfg->runs, 10);
    assert_int_equal(cfg->maxspan_ms, INT64_C(86400000));
    assert_int_equal(cfg->filter.n_cidrs, 5);
    assert_true(port_set(cfg, 443));
    assert_false(port_set(cfg, 70000 & 0xffff));
}

static void
test_config_set_bad_value_then_good_clears_errmsg(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(t1071_config_set(cfg, "rule.runs", "abc"), T1071_E_INVALID_ARG);
    assert_string_not_equal(t1071_config_errmsg(cfg), "");
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "5"), T1071_OK);
    assert_string_equal(t1071_config_errmsg(cfg), "");
}

static void
test_config_set_null_args_return_invalid_arg(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(t1071_config_set(NULL, "rule.runs", "1"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, NULL, "1"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", NULL), T1071_E_INVALID_ARG);
    assert_string_not_equal(t1071_config_errmsg(cfg), "");
    assert_int_equal(cfg->runs, 10);
    assert_string_equal(t1071_config_errmsg(NULL), "");
}

static void
test_config_set_unknown_key_errmsg_names_key(void **state)
{
    t1071_config *cfg = *state;

    assert_int_equal(t1071_config_set(cfg, "rule.maxspam", "24h"), T1071_E_UNKNOWN_KEY);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rule.maxspam"));
}

/* ===== Durations ===== */

static void
test_parse_duration_units_give_ms(void **state)
{
    int64_t ms = -1;

    (void)state;
    assert_true(t1071i_parse_duration("0", &ms));
    assert_int_equal(ms, 0);
    assert_true(t1071i_parse_duration("7ms", &ms));
    assert_int_equal(ms, 7);
    assert_true(t1071i_parse_duration("90s", &ms));
    assert_int_equal(ms, 90000);
    assert_true(t1071i_parse_duration("15m", &ms));
    assert_int_equal(ms, 900000);
    assert_true(t1071i_parse_duration("24h", &ms));
    assert_int_equal(ms, 86400000);
    assert_true(t1071i_parse_duration("7d", &ms));
    assert_int_equal(ms, INT64_C(604800000));
    assert_false(t1071i_parse_duration("30", &ms));
    assert_false(t1071i_parse_duration("1w", &ms));
    assert_false(t1071i_parse_duration("1.5h", &ms));
    assert_false(t1071i_parse_duration("", &ms));
    assert_false(t1071i_parse_duration("99999999999999999999d", &ms));
    assert_false(t1071i_parse_duration("9223372036854775807d", &ms));
}

static void
test_format_duration_shortest_exact_text(void **state)
{
    char out[32];

    (void)state;
    t1071i_format_duration(0, out);
    assert_string_equal(out, "0s");
    t1071i_format_duration(86400000, out);
    assert_string_equal(out, "1d");
    t1071i_format_duration(90000, out);
    assert_string_equal(out, "90s");
    t1071i_format_duration(1500, out);
    assert_string_equal(out, "1500ms");
    t1071i_format_duration(3600000 * 25, out);
    assert_string_equal(out, "25h");
    t1071i_format_duration(60000, out);
    assert_string_equal(out, "1m");
}

/* ===== INI ===== */

static void
test_config_load_data_sets_every_value(void **state)
{
    t1071_config *cfg = *state;
    static const char ini[] = "# comment\n"
                              "[rule]\n"
                              "runs = 4\n"
                              "maxspan=1h\n"
                              "ports = 443, 8443\n"
                              "exclude_cidrs=\n"
                              "\n"
                              "[engine]\n"
                              "lateness = 30s\n"
                              "alert_queue=7\n";

    assert_int_equal(t1071_config_load_data(cfg, ini, strlen(ini)), T1071_OK);
    assert_string_equal(t1071_config_errmsg(cfg), "");
    assert_int_equal(cfg->runs, 4);
    assert_int_equal(cfg->maxspan_ms, 3600000);
    assert_true(port_set(cfg, 8443));
    assert_false(port_set(cfg, 80));
    assert_int_equal(cfg->filter.n_cidrs, 0);
    assert_int_equal(cfg->lateness_ms, 30000);
    assert_int_equal(cfg->alert_queue, 7);
    assert_value(cfg, "rule.runs", "4");
    assert_value(cfg, "engine.lateness", "30s");
    /* Untouched keys keep their defaults. */
    assert_value(cfg, "rule.direction", "egress");
}

static void
test_config_load_data_bad_value_changes_nothing(void **state)
{
    t1071_config *cfg = *state;
    static const char ini[] = "[rule]\n"
                              "runs = 4\n"
                              "maxspan = 30\n"
                              "[engine]\n"
                              "alert_queue = 7\n";

    assert_int_equal(t1071_config_load_data(cfg, ini, strlen(ini)), T1071_E_INVALID_ARG);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rule.maxspan"));
    assert_int_equal(cfg->runs, 10);
    assert_int_equal(cfg->maxspan_ms, 86400000);
    assert_int_equal(cfg->alert_queue, 4096);
    assert_value(cfg, "rule.runs", "10");
}

static void
test_config_load_data_unknown_key_returns_unknown_key(void **state)
{
    t1071_config *cfg = *state;
    static const char ini[] = "[rule]\n"
                              "runs = 3\n"
                              "bogus = 1\n";

    assert_int_equal(t1071_config_load_data(cfg, ini, strlen(ini)), T1071_E_UNKNOWN_KEY);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rule.bogus"));
    assert_int_equal(cfg->runs, 10);
}

static void
test_config_load_data_unknown_section_returns_unknown_key(void **state)
{
    t1071_config *cfg = *state;
    static const char ini[] = "[rules]\nruns = 3\n";

    assert_int_equal(t1071_config_load_data(cfg, ini, strlen(ini)), T1071_E_UNKNOWN_KEY);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rules.runs"));
    assert_int_equal(cfg->runs, 10);
}

static void
test_config_load_data_syntax_error_returns_invalid_arg(void **state)
{
    t1071_config *cfg = *state;
    static const char ini[] = "runs = 3\n[rule\n";

    assert_int_equal(t1071_config_load_data(cfg, ini, strlen(ini)), T1071_E_INVALID_ARG);
    assert_string_not_equal(t1071_config_errmsg(cfg), "");
    assert_int_equal(cfg->runs, 10);
}

static void
test_config_load_data_null_returns_invalid_arg(void **state)
{
    assert_int_equal(t1071_config_load_data(NULL, "", 0), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_load_data(*state, NULL, 0), T1071_E_INVALID_ARG);
}

static void
test_config_load_file_missing_returns_io(void **state)
{
    t1071_config *cfg = *state;
    static const char path[] = "/nonexistent/t1071/definitely-missing.ini";

    assert_int_equal(t1071_config_load_file(cfg, path), T1071_E_IO);
    assert_string_not_equal(t1071_config_errmsg(cfg), "");
    assert_int_equal(cfg->runs, 10);
    assert_int_equal(t1071_config_load_file(cfg, NULL), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_load_file(NULL, path), T1071_E_INVALID_ARG);
}

static void
test_config_load_file_reads_values_and_names_file_on_error(void **state)
{
    t1071_config *cfg = *state;
    char path[] = "/tmp/t1071-test-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("[rule]\nruns = 2\n[engine]\nlateness = 1m\n", f);
    fclose(f);
    assert_int_equal(t1071_config_load_file(cfg, path), T1071_OK);
    assert_int_equal(cfg->runs, 2);
    assert_int_equal(cfg->lateness_ms, 60000);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[rule]\nruns = 5\nports = 70000\n", f);
    fclose(f);
    assert_int_equal(t1071_config_load_file(cfg, path), T1071_E_INVALID_ARG);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rule.ports"));
    assert_non_null(strstr(t1071_config_errmsg(cfg), path));
    assert_int_equal(cfg->runs, 2);
    remove(path);
}

/* ===== Copy ===== */

static void
test_config_copy_is_independent(void **state)
{
    t1071_config *cfg = *state;
    struct t1071_config *copy = NULL;

    assert_int_equal(t1071_config_set(cfg, "rule.runs", "7"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.exclude_cidrs", "1.2.3.0/24"), T1071_OK);
    assert_int_equal(t1071i_config_copy(cfg, &copy), T1071_OK);
    assert_int_equal(copy->runs, 7);
    assert_int_equal(copy->filter.n_cidrs, 1);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "8"), T1071_OK);
    assert_int_equal(copy->runs, 7);
    assert_value(copy, "rule.runs", "7");
    t1071_config_free(copy);
}

static void
test_config_free_null_is_noop(void **state)
{
    (void)state;
    t1071_config_free(NULL);
    assert_int_equal(t1071_config_new(NULL), T1071_E_INVALID_ARG);
}

static void
test_field_name_unknown_field_returns_question_mark(void **state)
{
    (void)state;
    assert_string_equal(t1071i_field_name(T1071I_F_PROCESS_ENTITY_ID), "process.entity_id");
    assert_string_equal(t1071i_field_name(T1071I_F_USER_NAME), "user.name");
    assert_string_equal(t1071i_field_name(T1071I_F__COUNT), "?");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_cfg, teardown_cfg)

/* Every key is documented: README's configuration table names it, and the
 * shipped profiles load (issue 3: new keys go through the table and into
 * the README). */
static void
test_config_every_key_documented_and_profiles_load(void **state)
{
    gchar *readme = NULL;
    struct t1071_config *cfg = NULL;

    (void)state;
    char *table, *end;

    assert_true(g_file_get_contents(T1071_SRCDIR "/README.md", &readme, NULL, NULL));
    table = strstr(readme, "## Configuration keys");
    assert_non_null(table);
    end = strstr(table + 1, "\n## ");
    if (end)
        *end = '\0';
    for (size_t i = 0; t1071i_config_key(i); i++) {
        gchar *cell = g_strdup_printf("| `%s`", t1071i_config_key(i));
        gchar *shared = g_strdup_printf(", `%s`", t1071i_config_key(i));
        if (!strstr(table, cell) && !strstr(table, shared))
            fail_msg("README's configuration table lacks %s", t1071i_config_key(i));
        g_free(cell);
        g_free(shared);
    }
    g_free(readme);
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_load_file(cfg, T1071_SRCDIR "/examples/profiles/faithful.ini"),
                     T1071_OK);
    if (t1071_config_load_file(cfg, T1071_SRCDIR "/examples/profiles/tuned.ini") != T1071_OK)
        fail_msg("tuned.ini: %s", t1071_config_errmsg(cfg));
    assert_true(cfg->tun.score_threshold > 0);
    assert_true(cfg->tun.n_allow_exes > 0 && cfg->tun.n_heartbeat_exes > 0);
    assert_true(t1071i_port_in_set(cfg, 6667));
    t1071_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config_new_every_key_text_equals_seed_rule),
        T(test_config_new_compiled_fields_equal_seed_rule),
        T(test_config_get_unknown_key_returns_unknown_key),
        T(test_config_get_small_buffer_truncates_and_reports_needed),
        T(test_config_get_null_args_return_invalid_arg),
        T(test_config_set_valid_values_round_trip),
        T(test_config_set_values_reach_compiled_fields),
        T(test_config_set_ports_range_is_a_set),
        T(test_config_set_exclude_cidrs_empty_clears_list),
        T(test_config_set_ports_empty_clears_set),
        T(test_config_set_bad_value_fails_names_key_and_keeps_value),
        T(test_config_set_bad_value_then_good_clears_errmsg),
        T(test_config_set_null_args_return_invalid_arg),
        T(test_config_set_unknown_key_errmsg_names_key),
        cmocka_unit_test(test_parse_duration_units_give_ms),
        cmocka_unit_test(test_format_duration_shortest_exact_text),
        T(test_config_load_data_sets_every_value),
        T(test_config_load_data_bad_value_changes_nothing),
        T(test_config_load_data_unknown_key_returns_unknown_key),
        T(test_config_load_data_unknown_section_returns_unknown_key),
        T(test_config_load_data_syntax_error_returns_invalid_arg),
        T(test_config_load_data_null_returns_invalid_arg),
        T(test_config_load_file_missing_returns_io),
        T(test_config_load_file_reads_values_and_names_file_on_error),
        T(test_config_copy_is_independent),
        cmocka_unit_test(test_config_free_null_is_noop),
        cmocka_unit_test(test_field_name_unknown_field_returns_question_mark),
        cmocka_unit_test(test_config_every_key_documented_and_profiles_load),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
