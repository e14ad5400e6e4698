/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/rule/filter.c and lib/util/addr.c: address and CIDR parsing, containment edges
 * (IPv4, IPv6, IPv4-mapped), and every predicate of README "Semantics". */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
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

/* ===== Event builder ===== */

#define MAXV 4

struct evb {
    t1071i_event ev;
    char *cat[MAXV], *type[MAXV], *dir[MAXV], *ip[MAXV], *name[MAXV], *eid[MAXV];
    int64_t port[MAXV];
};

#define S(x) ((char *)(x))

/* An event that passes the seed rule: network/connection/egress, 8.8.8.8:443,
 * process.name beacon.exe, process.entity_id E1. */
static void
evb_init(struct evb *b)
{
    memset(b, 0, sizeof(*b));
    t1071__ecs__v1__event__init(&b->ev);
    b->ev.has_timestamp_ms = 1;
    b->ev.timestamp_ms = INT64_C(1704067200000);
    b->cat[0] = S("network");
    b->type[0] = S("connection");
    b->dir[0] = S("egress");
    b->ip[0] = S("8.8.8.8");
    b->name[0] = S("beacon.exe");
    b->eid[0] = S("E1");
    b->port[0] = 443;
    b->ev.event_category = b->cat;
    b->ev.n_event_category = 1;
    b->ev.event_type = b->type;
    b->ev.n_event_type = 1;
    b->ev.network_direction = b->dir;
    b->ev.n_network_direction = 1;
    b->ev.destination_ip = b->ip;
    b->ev.n_destination_ip = 1;
    b->ev.process_name = b->name;
    b->ev.n_process_name = 1;
    b->ev.process_entity_id = b->eid;
    b->ev.n_process_entity_id = 1;
    b->ev.destination_port = b->port;
    b->ev.n_destination_port = 1;
}

/* Set a repeated string field from a NULL-terminated list (empty = missing). */
static void
set_strs(char **arr, size_t *n, const char *const *vals)
{
    size_t i = 0;
    for (; vals && vals[i]; i++) {
        assert_true(i < MAXV);
        arr[i] = S(vals[i]);
    }
    *n = i;
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const *)NULL)

static void
set_ports(struct evb *b, size_t n, const int64_t *ports)
{
    assert_true(n <= MAXV);
    memcpy(b->port, ports, n * sizeof(*ports));
    b->ev.n_destination_port = n;
}

struct fixture {
    t1071_config *cfg;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f || t1071_config_new(&f->cfg) != T1071_OK)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    t1071_config_free(f->cfg);
    free(f);
    return 0;
}

static bool
passes(const struct t1071_config *cfg, const struct evb *b)
{
    struct t1071i_match m;
    return t1071i_config_match(cfg, &b->ev, &m);
}

/* ===== Address parsing ===== */

static void
test_parse_ip_v4_is_stored_mapped(void **state)
{
    uint8_t a[16];
    bool v4 = false;
    static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};

    (void)state;
    assert_true(t1071i_parse_ip("10.1.2.3", a, &v4));
    assert_true(v4);
    assert_memory_equal(a, want, 16);
}

static void
test_parse_ip_mapped_v6_syntax_equals_v4_bytes(void **state)
{
    uint8_t a[16], b[16], c[16];
    bool v4a, v4b, v4c;

    (void)state;
    assert_true(t1071i_parse_ip("10.1.2.3", a, &v4a));
    assert_true(t1071i_parse_ip("::ffff:10.1.2.3", b, &v4b));
    assert_true(t1071i_parse_ip("::FFFF:0a01:0203", c, &v4c));
    assert_true(v4a);
    assert_false(v4b);
    assert_false(v4c);
    assert_memory_equal(a, b, 16);
    assert_memory_equal(a, c, 16);
}

static void
test_parse_ip_v6_bytes(void **state)
{
    uint8_t a[16];
    bool v4 = true;
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    (void)state;
    assert_true(t1071i_parse_ip("2001:db8::1", a, &v4));
    assert_false(v4);
    assert_memory_equal(a, want, 16);
}

static void
test_parse_ip_garbage_returns_false(void **state)
{
    static const char *const bad[] = {
        "", "1.2.3", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/32", "::g", ":::",
        "1:2:3:4:5:6:7:8:9", "not-an-ip", "8.8.8.8.8", "0x08.8.8.8",
        "1234:1234:1234:1234:1234:1234:1234:1234:1234:1234", /* > 45 chars */
    };
    uint8_t a[16];
    bool v4;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (t1071i_parse_ip(bad[i], a, &v4))
            fail_msg("\"%s\" parsed as an address", bad[i]);
    assert_false(t1071i_parse_ip(NULL, a, &v4));
}

/* ===== CIDR parsing ===== */

static void
test_parse_cidr_v4_prefix_in_v6_bits_host_bits_cleared(void **state)
{
    struct t1071i_cidr c;
    uint8_t want[16];
    bool v4;

    (void)state;
    assert_true(t1071i_parse_cidr("10.1.2.3/8", &c));
    assert_int_equal(c.prefix, 104);
    assert_true(t1071i_parse_ip("10.0.0.0", want, &v4));
    assert_memory_equal(c.addr, want, 16);

    assert_true(t1071i_parse_cidr("172.31.255.255/12", &c));
    assert_int_equal(c.prefix, 108);
    assert_true(t1071i_parse_ip("172.16.0.0", want, &v4));
    assert_memory_equal(c.addr, want, 16);
}

static void
test_parse_cidr_bare_address_is_host_route(void **state)
{
    struct t1071i_cidr c;

    (void)state;
    assert_true(t1071i_parse_cidr("8.8.8.8", &c));
    assert_int_equal(c.prefix, 128);
    assert_true(t1071i_parse_cidr("2001:db8::1", &c));
    assert_int_equal(c.prefix, 128);
    assert_true(t1071i_parse_cidr("fc00::/7", &c));
    assert_int_equal(c.prefix, 7);
    assert_true(t1071i_parse_cidr("0.0.0.0/0", &c));
    assert_int_equal(c.prefix, 96);
    assert_true(t1071i_parse_cidr("::/0", &c));
    assert_int_equal(c.prefix, 0);
}

static void
test_parse_cidr_garbage_returns_false(void **state)
{
    static const char *const bad[] = {
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.0/x",
        "::/129", "10.0.0/8", "300.0.0.0/8", "10.0.0.0//8", "fe80::/1000",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/8",
    };
    struct t1071i_cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (t1071i_parse_cidr(bad[i], &c))
            fail_msg("\"%s\" parsed as a CIDR", bad[i]);
}

/* ===== Containment edges ===== */

struct contain_case {
    const char *cidr, *addr;
    bool in;
};

static const struct contain_case contain_cases[] = {
    /* the seed rule's ranges: one below, first, last, one above */
    {"10.0.0.0/8", "9.255.255.255", false},
    {"10.0.0.0/8", "10.0.0.0", true},
    {"10.0.0.0/8", "10.255.255.255", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"172.16.0.0/12", "172.15.255.255", false},
    {"172.16.0.0/12", "172.16.0.0", true},
    {"172.16.0.0/12", "172.31.255.255", true},
    {"172.16.0.0/12", "172.32.0.0", false},
    {"192.168.0.0/16", "192.167.255.255", false},
    {"192.168.0.0/16", "192.168.0.0", true},
    {"192.168.0.0/16", "192.168.255.255", true},
    {"192.168.0.0/16", "192.169.0.0", false},
    {"127.0.0.0/8", "126.255.255.255", false},
    {"127.0.0.0/8", "127.0.0.0", true},
    {"127.0.0.0/8", "127.255.255.255", true},
    {"127.0.0.0/8", "128.0.0.0", false},
    {"169.254.0.0/16", "169.253.255.255", false},
    {"169.254.0.0/16", "169.254.0.0", true},
    {"169.254.0.0/16", "169.254.255.255", true},
    {"169.254.0.0/16", "169.255.0.0", false},
    /* IPv4-mapped IPv6 is IPv4 */
    {"10.0.0.0/8", "::ffff:10.1.2.3", true},
    {"10.0.0.0/8", "::ffff:0a01:0203", true},
    {"192.168.0.0/16", "0:0:0:0:0:ffff:c0a8:0101", true},
    {"10.0.0.0/8", "::ffff:8.8.8.8", false},
    {"10.0.0.0/8", "::ffff:9.255.255.255", false},
    /* IPv4-compatible (::a.b.c.d) is not mapped: never in an IPv4 range */
    {"10.0.0.0/8", "::10.1.2.3", false},
    /* native IPv6 never matches an IPv4 range */
    {"127.0.0.0/8", "::1", false},
    {"0.0.0.0/0", "::1", false},
    {"0.0.0.0/0", "::", false},
    {"0.0.0.0/0", "fe80::1", false},
    {"0.0.0.0/0", "8.8.8.8", true},
    {"0.0.0.0/0", "::ffff:8.8.8.8", true},
    {"10.0.0.0/8", "fc00::1", false},
    /* IPv6 ranges */
    {"fc00::/7", "fc00::1", true},
    {"fc00::/7", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"fc00::/7", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"fc00::/7", "fe00::", false},
    {"fe80::/10", "fe80::1", true},
    {"fe80::/10", "febf:ffff::1", true},
    {"fe80::/10", "fec0::", false},
    {"fe80::/10", "fe7f:ffff::", false},
    {"::/0", "8.8.8.8", true},
    {"::/0", "2001:db8::1", true},
    {"2001:db8::1/128", "2001:db8::1", true},
    {"2001:db8::1/128", "2001:db8::2", false},
    {"::ffff:10.0.0.0/104", "10.9.9.9", true},
    /* host routes */
    {"8.8.8.8/32", "8.8.8.8", true},
    {"8.8.8.8/32", "8.8.8.9", false},
    {"8.8.8.8", "::ffff:8.8.8.8", true},
};

static void
test_cidr_contains_edges_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(contain_cases) / sizeof(contain_cases[0]); i++) {
        const struct contain_case *c = &contain_cases[i];
        struct t1071i_cidr cidr;
        uint8_t addr[16];
        bool v4;

        if (!t1071i_parse_cidr(c->cidr, &cidr))
            fail_msg("CIDR %s did not parse", c->cidr);
        if (!t1071i_parse_ip(c->addr, addr, &v4))
            fail_msg("address %s did not parse", c->addr);
        if (t1071i_cidr_contains(&cidr, addr) != c->in)
            fail_msg("%s in %s: expected %s", c->addr, c->cidr, c->in ? "true" : "false");
    }
}

/* ===== The filter ===== */

static void
test_filter_seed_event_passes_and_reports_match(void **state)
{
    struct fixture *f = *state;
    struct evb b;
    struct t1071i_match m;
    uint8_t want[16];
    bool v4;

    evb_init(&b);
    assert_true(t1071i_config_match(f->cfg, &b.ev, &m));
    assert_int_equal(m.port, 443);
    assert_int_equal(m.ip_index, 0);
    assert_true(m.ip_is_v4);
    assert_true(t1071i_parse_ip("8.8.8.8", want, &v4));
    assert_memory_equal(m.ip, want, 16);
    assert_int_equal(m.malformed_ips, 0);
}

struct strs_case {
    const char *const *vals;
    bool pass;
};

static void
test_filter_category_needs_exact_network_value(void **state)
{
    struct fixture *f = *state;
    const struct strs_case cases[] = {
        {L("network"), true},          {L("process", "network"), true},
        {L("network", "network"), true}, {NONE, false},
        {L("process"), false},         {L("Network"), false},
        {L("NETWORK"), false},         {L(""), false},
        {L("network "), false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct evb b;
        evb_init(&b);
        set_strs(b.cat, &b.ev.n_event_category, cases[i].vals);
        if (passes(f->cfg, &b) != cases[i].pass)
            fail_msg("event.category case %zu: expected %d", i, cases[i].pass);
    }
}

static void
test_filter_event_type_any_value_in_set(void **state)
{
    struct fixture *f = *state;
    const struct strs_case cases[] = {
        {L("connection"), true},       {L("start"), true},
        {L("connection", "end"), true}, {L("info", "start"), true},
        {L("end", "protocol", "connection"), true},
        {NONE, false},                 {L("end"), false},
        {L("Connection"), false},      {L("START"), false},
        {L(""), false},                {L("info", "end"), false},
        {L("connection_attempted"), false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct evb b;
        evb_init(&b);
        set_strs(b.type, &b.ev.n_event_type, cases[i].vals);
        if (passes(f->cfg, &b) != cases[i].pass)
            fail_msg("event.type case %zu: expected %d", i, cases[i].pass);
    }
}

static void
test_filter_direction_exact_case_sensitive(void **state)
{
    struct fixture *f = *state;
    const struct strs_case cases[] = {
        {L("egress"), true},   {L("ingress", "egress"), true},
        {NONE, false},         {L("EGRESS"), false},
        {L("Egress"), false},  {L("outbound"), false},
        {L("egress "), false}, {L(""), false},
        {L("ingress"), false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct evb b;
        evb_init(&b);
        set_strs(b.dir, &b.ev.n_network_direction, cases[i].vals);
        if (passes(f->cfg, &b) != cases[i].pass)
            fail_msg("network.direction case %zu: expected %d", i, cases[i].pass);
    }
}

static void
test_filter_port_in_seed_set_only(void **state)
{
    struct fixture *f = *state;
    static const int64_t in[] = {80, 443, 53, 21, 25, 110, 143, 8080, 8443, 1883, 5222};
    static const int64_t out[] = {0,     22,    79,    81,    442,   444,
                                  6667,  8081,  65535, -443,  -1,    65536 + 443,
                                  INT64_MAX, INT64_MIN, 4294967296 + 443};

    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct evb b;
        struct t1071i_match m;
        evb_init(&b);
        set_ports(&b, 1, &in[i]);
        assert_true(t1071i_config_match(f->cfg, &b.ev, &m));
        assert_int_equal(m.port, in[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        struct evb b;
        evb_init(&b);
        set_ports(&b, 1, &out[i]);
        if (passes(f->cfg, &b))
            fail_msg("port %" PRId64 " passed", out[i]);
    }
}

static void
test_filter_port_array_any_value_first_match_reported(void **state)
{
    struct fixture *f = *state;
    struct evb b;
    struct t1071i_match m;
    static const int64_t p1[] = {22, 443};
    static const int64_t p2[] = {8080, 443};
    static const int64_t p3[] = {22, 6667};

    evb_init(&b);
    set_ports(&b, 2, p1);
    assert_true(t1071i_config_match(f->cfg, &b.ev, &m));
    assert_int_equal(m.port, 443);
    set_ports(&b, 2, p2);
    assert_true(t1071i_config_match(f->cfg, &b.ev, &m));
    assert_int_equal(m.port, 8080);
    set_ports(&b, 2, p3);
    assert_false(passes(f->cfg, &b));
    set_ports(&b, 0, p1);
    assert_false(passes(f->cfg, &b));
}

struct ip_case {
    const char *const *ips;
    bool pass;
    int ip_index;
    uint32_t malformed;
};

static void
test_filter_destination_ip_cidrmatch_semantics(void **state)
{
    struct fixture *f = *state;
    const struct ip_case cases[] = {
        {NONE, true, -1, 0},                          /* missing passes */
        {L("8.8.8.8"), true, 0, 0},
        {L("10.1.2.3"), false, -1, 0},
        {L("172.16.5.4"), false, -1, 0},
        {L("192.168.1.1"), false, -1, 0},
        {L("127.0.0.1"), false, -1, 0},
        {L("169.254.169.254"), false, -1, 0},
        {L("172.32.0.1"), true, 0, 0},
        {L("::ffff:10.1.2.3"), false, -1, 0},         /* mapped private excluded */
        {L("::ffff:8.8.8.8"), true, 0, 0},
        {L("::1"), true, 0, 0},                       /* IPv6 never in IPv4 ranges */
        {L("fe80::1"), true, 0, 0},
        {L("fc00::1"), true, 0, 0},
        {L("2001:4860:4860::8888"), true, 0, 0},
        {L("not-an-ip"), true, -1, 1},                /* unparsable = absent */
        {L(""), true, -1, 1},
        {L("10.1.1.1", "8.8.8.8"), false, -1, 0},     /* any private value excludes */
        {L("8.8.8.8", "10.1.1.1"), false, 0, 0},
        {L("bogus", "8.8.8.8"), true, 1, 1},
        {L("bogus", "10.0.0.1"), false, -1, 1},
        {L("bad1", "bad2", "1.1.1.1"), true, 2, 2},
        {L("::1", "::ffff:192.168.0.1"), false, 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct evb b;
        struct t1071i_match m;
        bool got;

        evb_init(&b);
        set_strs(b.ip, &b.ev.n_destination_ip, cases[i].ips);
        got = t1071i_config_match(f->cfg, &b.ev, &m);
        if (got != cases[i].pass)
            fail_msg("destination.ip case %zu: expected pass=%d", i, cases[i].pass);
        if (got) {
            if (m.ip_index != cases[i].ip_index)
                fail_msg("destination.ip case %zu: ip_index %d, expected %d", i, m.ip_index,
                         cases[i].ip_index);
            if (m.malformed_ips != cases[i].malformed)
                fail_msg("destination.ip case %zu: %u malformed, expected %u", i,
                         m.malformed_ips, cases[i].malformed);
        }
    }
}

static void
test_filter_unparsable_ip_counted_even_when_excluded_later(void **state)
{
    struct fixture *f = *state;
    struct evb b;
    struct t1071i_match m;

    evb_init(&b);
    set_strs(b.ip, &b.ev.n_destination_ip, L("x", "y", "8.8.8.8"));
    assert_true(t1071i_config_match(f->cfg, &b.ev, &m));
    assert_int_equal(m.malformed_ips, 2);
    assert_int_equal(m.ip_index, 2);
    assert_true(m.ip_is_v4);
}

static void
test_filter_process_name_presence(void **state)
{
    struct fixture *f = *state;
    const struct strs_case cases[] = {
        {L("beacon.exe"), true},
        {L(""), true}, /* an empty string is a value */
        {L("a", "b"), true},
        {NONE, false}, /* empty array / null */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct evb b;
        evb_init(&b);
        set_strs(b.name, &b.ev.n_process_name, cases[i].vals);
        if (passes(f->cfg, &b) != cases[i].pass)
            fail_msg("process.name case %zu: expected %d", i, cases[i].pass);
    }
}

static void
test_filter_key_field_not_part_of_filter(void **state)
{
    struct fixture *f = *state;
    struct evb b;

    evb_init(&b);
    b.ev.n_process_entity_id = 0;
    assert_true(passes(f->cfg, &b));
}

static void
test_filter_missing_everything_fails(void **state)
{
    struct fixture *f = *state;
    t1071i_event ev = T1071__ECS__V1__EVENT__INIT;
    struct t1071i_match m;

    assert_false(t1071i_config_match(f->cfg, &ev, &m));
}

/* ===== Configured variants ===== */

static void
test_filter_empty_category_and_direction_accept_missing(void **state)
{
    struct fixture *f = *state;
    struct evb b;

    evb_init(&b);
    b.ev.n_event_category = 0;
    b.ev.n_network_direction = 0;
    assert_false(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.category", ""), T1071_OK);
    assert_false(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.direction", ""), T1071_OK);
    assert_true(passes(f->cfg, &b));
}

static void
test_filter_require_process_name_false_accepts_missing(void **state)
{
    struct fixture *f = *state;
    struct evb b;

    evb_init(&b);
    b.ev.n_process_name = 0;
    assert_false(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.require_process_name", "false"),
                     T1071_OK);
    assert_true(passes(f->cfg, &b));
}

static void
test_filter_configured_cidrs_and_ports_apply(void **state)
{
    struct fixture *f = *state;
    struct evb b;
    static const int64_t p6667 = 6667;

    evb_init(&b);
    set_strs(b.ip, &b.ev.n_destination_ip, L("10.1.2.3"));
    assert_false(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.exclude_cidrs", ""), T1071_OK);
    assert_true(passes(f->cfg, &b));

    set_strs(b.ip, &b.ev.n_destination_ip, L("fc00::1"));
    assert_true(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.exclude_cidrs", "fc00::/7"), T1071_OK);
    assert_false(passes(f->cfg, &b));
    set_strs(b.ip, &b.ev.n_destination_ip, L("fe80::1"));
    assert_true(passes(f->cfg, &b));

    set_ports(&b, 1, &p6667);
    assert_false(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.ports", "6667"), T1071_OK);
    assert_true(passes(f->cfg, &b));
}

static void
test_filter_configured_event_types_apply(void **state)
{
    struct fixture *f = *state;
    struct evb b;

    evb_init(&b);
    set_strs(b.type, &b.ev.n_event_type, L("end"));
    assert_false(passes(f->cfg, &b));
    assert_int_equal(t1071_config_set(f->cfg, "rule.event_types", "end"), T1071_OK);
    assert_true(passes(f->cfg, &b));
    set_strs(b.type, &b.ev.n_event_type, L("connection"));
    assert_false(passes(f->cfg, &b));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ip_v4_is_stored_mapped),
        cmocka_unit_test(test_parse_ip_mapped_v6_syntax_equals_v4_bytes),
        cmocka_unit_test(test_parse_ip_v6_bytes),
        cmocka_unit_test(test_parse_ip_garbage_returns_false),
        cmocka_unit_test(test_parse_cidr_v4_prefix_in_v6_bits_host_bits_cleared),
        cmocka_unit_test(test_parse_cidr_bare_address_is_host_route),
        cmocka_unit_test(test_parse_cidr_garbage_returns_false),
        cmocka_unit_test(test_cidr_contains_edges_match_table),
        T(test_filter_seed_event_passes_and_reports_match),
        T(test_filter_category_needs_exact_network_value),
        T(test_filter_event_type_any_value_in_set),
        T(test_filter_direction_exact_case_sensitive),
        T(test_filter_port_in_seed_set_only),
        T(test_filter_port_array_any_value_first_match_reported),
        T(test_filter_destination_ip_cidrmatch_semantics),
        T(test_filter_unparsable_ip_counted_even_when_excluded_later),
        T(test_filter_process_name_presence),
        T(test_filter_key_field_not_part_of_filter),
        T(test_filter_missing_everything_fails),
        T(test_filter_empty_category_and_direction_accept_missing),
        T(test_filter_require_process_name_false_accepts_missing),
        T(test_filter_configured_cidrs_and_ports_apply),
        T(test_filter_configured_event_types_apply),
    };

    return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
