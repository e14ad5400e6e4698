/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/rule/ and lib/rule/sigma.c: the EQL parser (precedence,
 * every operator, error positions, bounds), the Sigma front end (modifiers,
 * conditions, the correlation, errors), and the expression evaluator
 * against an independent model written here: random expressions over
 * random events, printed as EQL text with minimal parentheses, must give
 * the model's verdict on every event. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "rule/rule.h"
#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

#define S(x) ((char *)(x))

static struct t1071i_rule *
compile_ok(const char *text)
{
    struct t1071i_rule *r = NULL;
    char err[512] = "";
    int rc = t1071i_rule_compile(text, &r, err, sizeof(err));

    if (rc != T1071_OK)
        fail_msg("rule rejected: %s\n%s", err, text);
    assert_non_null(r);
    return r;
}

static void
compile_err(const char *text, const char *want)
{
    struct t1071i_rule *r = NULL;
    char err[512] = "";
    int rc = t1071i_rule_compile(text, &r, err, sizeof(err));

    if (rc == T1071_OK)
        fail_msg("accepted, expected \"%s\":\n%s", want, text);
    assert_int_equal(rc, T1071_E_RULE);
    assert_null(r);
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\" for:\n%s", err, want, text);
}

/* ===== The seed ===== */

static const char seed_eql[] =
    "sequence by process.entity_id with maxspan=24h\n"
    "  [network where event.type in (\"connection\", \"start\") and\n"
    "   network.direction == \"egress\" and\n"
    "   destination.port in (80, 443, 53, 21, 25, 110, 143, 8080, 8443, 1883, 5222) and\n"
    "   not cidrmatch(destination.ip, \"10.0.0.0/8\", \"172.16.0.0/12\", \"192.168.0.0/16\", "
    "\"127.0.0.0/8\", \"169.254.0.0/16\") and\n"
    "   process.name != null\n"
    "  ] with runs=10\n";

static void
test_rule_seed_query_compiles_to_seed_parameters(void **state)
{
    struct t1071i_rule *r = compile_ok(seed_eql);

    (void)state;
    assert_int_equal(r->runs, 10);
    assert_true(r->has_maxspan);
    assert_int_equal(r->maxspan_ms, INT64_C(86400000));
    assert_int_equal(r->n_key_fields, 1);
    assert_int_equal(r->key_fields[0], T1071I_F_PROCESS_ENTITY_ID);
    assert_string_equal(r->lang, "eql");
    assert_true(r->has_port_hint);
    t1071i_rule_free(r);
}

static void
test_rule_config_query_sets_runs_maxspan_key_and_refuses_conflicts(void **state)
{
    t1071_config *cfg;
    char buf[128];

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set_rule(cfg,
        "sequence by host.id, process.name [network where destination.port == 4444] "
        "with runs=3"), T1071_OK);
    assert_int_equal(t1071_config_get(cfg, "rule.runs", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "3");
    assert_int_equal(t1071_config_get(cfg, "rule.maxspan", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "unbounded");
    assert_int_equal(t1071_config_get(cfg, "rule.key", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "host.id,process.name");
    /* Unchanged values are accepted (copies, restores); others refused. */
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "3"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "4"), T1071_E_INVALID_ARG);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "set by rule.query"));
    assert_int_equal(t1071_config_set(cfg, "rule.ports", "1-2"), T1071_E_INVALID_ARG);
    /* A bad query leaves the config as it was. */
    assert_int_equal(t1071_config_set_rule(cfg, "sequence by host.id [network where x]"),
                     T1071_E_RULE);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rule.query: line 1, column 36: unsupported field \"x\""));
    assert_int_equal(t1071_config_get(cfg, "rule.runs", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "3");
    /* "" goes back to the built-in filter, whose keys are free again. */
    assert_int_equal(t1071_config_set_rule(cfg, ""), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "4"), T1071_OK);
    assert_int_equal(t1071_config_rule_count(cfg), 1);
    t1071_config_free(cfg);
}

static void
test_rule_ini_rule_query_loads(void **state)
{
    static const char ini[] =
        "[rule]\n"
        "query = sequence by process.entity_id with maxspan=1h "
        "[network where destination.port in (80, 443)] with runs=5\n";
    t1071_config *cfg;
    char buf[64];

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_load_data(cfg, ini, sizeof(ini) - 1), T1071_OK);
    assert_int_equal(t1071_config_get(cfg, "rule.runs", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "5");
    assert_int_equal(t1071_config_get(cfg, "rule.maxspan", buf, sizeof(buf), NULL), T1071_OK);
    assert_string_equal(buf, "1h");
    assert_int_equal(t1071_config_load_data(cfg, "[rule]\nquery = sequence\n", 25),
                     T1071_E_RULE);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "config: rule.query: line 1, column 9"));
    t1071_config_free(cfg);
}

/* ===== Errors, with positions ===== */

static void
test_rule_eql_errors_name_line_and_column(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "line 1, column 1: expected \"sequence\""},
        {"network where true", "line 1, column 1: a plain event query is not a sequence"},
        {"join [network where true]", "\"join\" queries are not supported"},
        {"sequence [network where true] with runs=2", "needs a join key"},
        {"sequence by process.entity_id [network where true]", "at least 2 events"},
        {"sequence by process.entity_id\n  [network where true] with runs=0",
         "line 2, column 34: runs must be an integer in [1, 1000]"},
        {"sequence by process.entity_id [network where true] with runs=1001",
         "runs must be an integer"},
        {"sequence by foo.bar [network where true] with runs=2",
         "line 1, column 13: cannot join by \"foo.bar\""},
        {"sequence by process.entity_id with maxspan=24 [network where true] with runs=2",
         "line 1, column 44: maxspan needs a unit"},
        {"sequence by process.entity_id with maxspan=2y [network where true] with runs=2",
         "expected a duration"},
        {"sequence by process.entity_id\n[network where\n  foo.bar == 1] with runs=2",
         "line 3, column 3: unsupported field \"foo.bar\""},
        {"sequence by process.entity_id [network where destination.port > 5] with runs=2",
         "line 1, column 63: > is not supported"},
        {"sequence by process.entity_id [network where destination.port == \"x\"] with runs=2",
         "destination.port is numeric"},
        {"sequence by process.entity_id [network where destination.ip == \"nope\"] with runs=2",
         "not an IPv4 or IPv6 address"},
        {"sequence by process.entity_id [network where destination.port : \"8*\"] with runs=2",
         "\":\" compares strings"},
        {"sequence by process.entity_id [network where length(process.name) == 1] with runs=2",
         "function length() is not supported"},
        {"sequence by process.entity_id [network where cidrmatch(process.name, \"1.0.0.0/8\")] "
         "with runs=2", "cidrmatch() needs an address field"},
        {"sequence by process.entity_id [network where cidrmatch(destination.ip, \"1.0.0.0/99\")]"
         " with runs=2", "bad CIDR \"1.0.0.0/99\""},
        {"sequence by process.entity_id [network where process.name == 'x'] with runs=2",
         "single-quoted strings are not EQL"},
        {"sequence by process.entity_id [network where process.name == \"x] with runs=2",
         "unterminated string"},
        {"sequence by process.entity_id [network where process.name == \"\\q\"] with runs=2",
         "unsupported escape"},
        {"sequence by process.entity_id [network where process.name regex \"x\"] with runs=2",
         "\"regex\" is not supported"},
        {"sequence by process.entity_id [network where process.name in~ \"x\"] with runs=2",
         "in~ takes a list"},
        {"sequence by process.entity_id [network where destination.port like \"8*\"] with runs=2",
         "like compares strings"},
        {"sequence by process.entity_id [network where process.name = \"x\"] with runs=2",
         "\"=\" is not a comparison"},
        {"sequence by process.entity_id [network where (true] with runs=2", "expected \")\""},
        {"sequence by process.entity_id [network where true and] with runs=2",
         "expected a condition"},
        {"sequence by process.entity_id [network where destination.port == 1.5] with runs=2",
         "decimal numbers are not supported"},
        {"sequence by process.entity_id [network where true] [process where true]",
         "line 1, column 52: this stage differs from the first"},
        {"sequence by process.entity_id [network where true] by process.name with runs=2",
         "per-stage join keys are not supported"},
        {"sequence by process.entity_id [network where true] with runs=2 until [network where true]",
         "\"until\" is not supported"},
        {"sequence by process.entity_id [network where true] with runs=2 | head 5",
         "pipes are not supported"},
        {"sequence by process.entity_id /* open [network where true] with runs=2",
         "line 1, column 31: unterminated comment"},
        {"sequence by process.entity_id [network where \"x\" == process.name] with runs=2",
         "a literal must be compared with a field"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        compile_err(cases[i].text, cases[i].want);
}

static void
test_rule_bounds_deep_long_wide_refused_cleanly(void **state)
{
    GString *s = g_string_new("sequence by process.entity_id [network where ");
    struct t1071i_rule *r = NULL;
    char err[256];

    (void)state;
    /* Nesting past the depth bound. */
    for (int i = 0; i < 10000; i++)
        g_string_append_c(s, '(');
    g_string_append(s, "true");
    compile_err(s->str, "nested deeper than");
    g_string_truncate(s, 0);
    g_string_append(s, "sequence by process.entity_id [network where ");
    for (int i = 0; i < 10000; i++)
        g_string_append(s, "not ");
    g_string_append(s, "true] with runs=2");
    compile_err(s->str, "nested deeper than");
    /* More nodes than the bound, in a flat chain. */
    g_string_truncate(s, 0);
    g_string_append(s, "sequence by process.entity_id [network where true");
    for (int i = 0; i < 5000; i++)
        g_string_append(s, " or true");
    g_string_append(s, "] with runs=2");
    compile_err(s->str, "rule larger than");
    /* A list longer than the bound. */
    g_string_truncate(s, 0);
    g_string_append(s, "sequence by process.entity_id [network where destination.port in (1");
    for (int i = 0; i < 1100; i++)
        g_string_append(s, ",1");
    g_string_append(s, ")] with runs=2");
    compile_err(s->str, "more than 1024 values");
    /* Text longer than 64 KiB. */
    g_string_truncate(s, 0);
    g_string_append(s, "sequence by process.entity_id [network where true] with runs=2 ");
    while (s->len <= T1071I_RULE_MAX_BYTES)
        g_string_append(s, "// padding padding padding\n");
    assert_int_equal(t1071i_rule_compile(s->str, &r, err, sizeof(err)), T1071_E_RULE);
    assert_non_null(strstr(err, "longer than 65536 bytes"));
    g_string_free(s, TRUE);
}

static void
test_rule_repeated_identical_stages_are_runs(void **state)
{
    struct t1071i_rule *r = compile_ok(
        "sequence by process.entity_id with maxspan=5m\n"
        "  [network where destination.port == 80] with runs=2\n"
        "  [ network  where destination.port==80 /* same */ ]\n"
        "  [network where destination.port == 80] with runs=3");

    (void)state;
    assert_int_equal(r->runs, 6);
    assert_int_equal(r->maxspan_ms, 300000);
    t1071i_rule_free(r);
    /* maxspan before by, and comments, are accepted too. */
    r = compile_ok("// leading comment\nsequence with maxspan=90s by user.name\n"
                   "[any where true] with runs=2");
    assert_int_equal(r->maxspan_ms, 90000);
    assert_int_equal(r->key_fields[0], T1071I_F_USER_NAME);
    t1071i_rule_free(r);
}

/* ===== The evaluator against an independent model ===== */

/* The model's event: a few fields of each kind. */
#define MV 3
enum mf { MF_TYPE, MF_DIR, MF_NAME, MF_EXE, MF_USER, MF_IP, MF_SIP, MF_PORT, MF_SPORT, MF__N };
static const char *const mf_name[MF__N] = {
    "event.type", "network.direction", "process.name", "process.executable", "user.name",
    "destination.ip", "source.ip", "destination.port", "source.port"};
static const bool mf_repeated[MF__N] = {true, true, true, false, false, true, true, true, false};
enum mk { MK_STR, MK_IP, MK_NUM };
static const enum mk mf_kind[MF__N] = {MK_STR, MK_STR, MK_STR, MK_STR, MK_STR,
                                       MK_IP, MK_IP, MK_NUM, MK_NUM};

struct mev {
    size_t n[MF__N];
    const char *s[MF__N][MV];
    int64_t num[MF__N][MV];
};

static const char *const str_pool[] = {"egress", "EGRESS", "Egress", "ingress", "", "start",
                                       "connection", "chrome.exe", "Chrome.EXE", "curl",
                                       "a*b", "x\"y", "C:\\Temp\\x.exe", "ab", "b",
                                       "\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", "a?b",
                                       "\xff\xfe"};
static const char *const pat_pool[] = {"*", "egr*", "*ESS", "c*o*e", "*.exe", "", "**",
                                       "e*s*s", "A*B", "*\\\\*", "b", "*b", "a*",
                                       "?gress", "c?rl", "?", "a?b", "?t?", "*?*?", "\xc3\xa9*",
                                       "\xff*", "??"};
static const char *const ip_pool[] = {"8.8.8.8", "10.1.2.3", "192.168.0.1", "::1", "fe80::1",
                                      "::ffff:10.0.0.1", "2001:db8::1", "bogus", "300.1.1.1",
                                      "172.16.5.4", "::ffff:8.8.8.8"};
static const char *const cidr_pool[] = {"10.0.0.0/8", "192.168.0.0/16", "fe80::/10",
                                        "2001:db8::/32", "8.8.8.8/32", "0.0.0.0/0",
                                        "172.16.0.0/12", "::/0"};
static const int64_t num_pool[] = {80, 443, 53, -1, 0, 65535, 8080};

#define NP(a) (sizeof(a) / sizeof(a[0]))

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t
below(uint64_t *s, size_t n)
{
    return (size_t)(rnd(s) % n);
}

/* The model's expression. */
enum mop { MO_AND, MO_OR, MO_NOT, MO_TRUE, MO_FALSE, MO_EQ, MO_NE, MO_IN, MO_NOTIN, MO_LIKE,
           MO_LIKELIST, MO_NULL, MO_NOTNULL, MO_CIDR, MO_LIKECS, MO_LIKEI, MO_INI, MO_NOTINI };
struct mexpr {
    enum mop op;
    struct mexpr *a, *b;
    enum mf f;
    size_t n;
    const char *s[4];
    int64_t num[4];
};

static struct mexpr *
gen_expr(uint64_t *r, int depth)
{
    struct mexpr *e = calloc(1, sizeof(*e));
    unsigned pick = (unsigned)below(r, depth >= 3 ? 10 : 14);
    bool str;

    assert_non_null(e);
    if (pick >= 10) {
        e->op = pick == 10 ? MO_AND : pick == 11 ? MO_OR : pick == 12 ? MO_NOT : MO_AND;
        e->a = gen_expr(r, depth + 1);
        if (e->op != MO_NOT)
            e->b = gen_expr(r, depth + 1);
        return e;
    }
    e->f = (enum mf)below(r, MF__N);
    str = mf_kind[e->f] == MK_STR;
    switch (pick) {
    case 0:
        e->op = below(r, 20) ? MO_EQ : MO_TRUE;
        break;
    case 1:
        e->op = below(r, 20) ? MO_NE : MO_FALSE;
        break;
    case 2:
        e->op = MO_IN;
        break;
    case 3:
        e->op = MO_NOTIN;
        break;
    case 4:
    case 5: {
        static const enum mop pat_ops[] = {MO_LIKE, MO_LIKELIST, MO_LIKECS, MO_LIKEI, MO_INI,
                                           MO_NOTINI};
        e->op = str ? pat_ops[below(r, 6)] : MO_EQ;
        break;
    }
    case 6:
        e->op = MO_NULL;
        break;
    case 7:
        e->op = MO_NOTNULL;
        break;
    default:
        e->op = mf_kind[e->f] == MK_IP ? MO_CIDR : MO_IN;
        break;
    }
    e->n = e->op == MO_EQ || e->op == MO_NE || e->op == MO_LIKE ? 1 : 1 + below(r, 3);
    for (size_t i = 0; i < e->n; i++) {
        if (e->op == MO_CIDR)
            e->s[i] = cidr_pool[below(r, NP(cidr_pool))];
        else if (e->op == MO_INI || e->op == MO_NOTINI)
            e->s[i] = below(r, 2) ? str_pool[below(r, NP(str_pool))] : pat_pool[below(r, NP(pat_pool))];
        else if (e->op == MO_LIKE || e->op == MO_LIKELIST || e->op == MO_LIKECS ||
                 e->op == MO_LIKEI)
            e->s[i] = pat_pool[below(r, NP(pat_pool))];
        else if (mf_kind[e->f] == MK_IP)
            e->s[i] = ip_pool[below(r, 7)]; /* parseable ones */
        else if (mf_kind[e->f] == MK_NUM)
            e->num[i] = num_pool[below(r, NP(num_pool))];
        else
            e->s[i] = str_pool[below(r, NP(str_pool))];
    }
    return e;
}

static void
free_expr(struct mexpr *e)
{
    if (!e)
        return;
    free_expr(e->a);
    free_expr(e->b);
    free(e);
}

static void
put_str(GString *o, const char *s)
{
    g_string_append_c(o, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            g_string_append_c(o, '\\');
        g_string_append_c(o, *s);
    }
    g_string_append_c(o, '"');
}

static void
put_lit(GString *o, const struct mexpr *e, size_t i)
{
    if (mf_kind[e->f] == MK_NUM)
        g_string_append_printf(o, "%" PRId64, e->num[i]);
    else
        put_str(o, e->s[i]);
}

static void
put_list(GString *o, const struct mexpr *e)
{
    g_string_append_c(o, '(');
    for (size_t i = 0; i < e->n; i++) {
        if (i)
            g_string_append(o, ", ");
        put_lit(o, e, i);
    }
    g_string_append_c(o, ')');
}

/* Print with the fewest parentheses EQL's precedence allows (not > and >
 * or), so the parser's precedence is what is tested. */
static void
print_expr(GString *o, const struct mexpr *e, int ctx_prec)
{
    int prec = e->op == MO_OR ? 1 : e->op == MO_AND ? 2 : 3;
    bool paren = prec < ctx_prec;

    if (paren)
        g_string_append_c(o, '(');
    switch (e->op) {
    case MO_AND:
    case MO_OR:
        print_expr(o, e->a, prec);
        g_string_append(o, e->op == MO_AND ? " and " : " or ");
        print_expr(o, e->b, prec + 1);
        break;
    case MO_NOT:
        g_string_append(o, "not ");
        print_expr(o, e->a, 3);
        break;
    case MO_TRUE:
        g_string_append(o, "true");
        break;
    case MO_FALSE:
        g_string_append(o, "false");
        break;
    case MO_EQ:
    case MO_NE:
        g_string_append_printf(o, "%s %s ", mf_name[e->f], e->op == MO_EQ ? "==" : "!=");
        put_lit(o, e, 0);
        break;
    case MO_IN:
    case MO_NOTIN:
        g_string_append_printf(o, "%s %s ", mf_name[e->f], e->op == MO_IN ? "in" : "not in");
        put_list(o, e);
        break;
    case MO_LIKE:
        g_string_append_printf(o, "%s : ", mf_name[e->f]);
        put_str(o, e->s[0]);
        break;
    case MO_LIKELIST:
        g_string_append_printf(o, "%s : ", mf_name[e->f]);
        put_list(o, e);
        break;
    case MO_LIKECS:
    case MO_LIKEI:
        g_string_append_printf(o, "%s %s ", mf_name[e->f], e->op == MO_LIKECS ? "like" : "like~");
        if (e->n == 1)
            put_str(o, e->s[0]);
        else
            put_list(o, e);
        break;
    case MO_INI:
    case MO_NOTINI:
        g_string_append_printf(o, "%s %s ", mf_name[e->f], e->op == MO_INI ? "in~" : "not in~");
        put_list(o, e);
        break;
    case MO_NULL:
    case MO_NOTNULL:
        g_string_append_printf(o, "%s %s null", mf_name[e->f], e->op == MO_NULL ? "==" : "!=");
        break;
    case MO_CIDR:
        g_string_append_printf(o, "cidrmatch(%s", mf_name[e->f]);
        for (size_t i = 0; i < e->n; i++) {
            g_string_append(o, ", ");
            put_str(o, e->s[i]);
        }
        g_string_append_c(o, ')');
        break;
    }
    if (paren)
        g_string_append_c(o, ')');
}

/* The model's own address parsing: IPv4 as ::ffff:a.b.c.d. */
static bool
m_addr(const char *s, uint8_t out[16])
{
    struct in_addr a4;

    if (inet_pton(AF_INET, s, &a4) == 1) {
        static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(out, prefix, 12);
        memcpy(out + 12, &a4, 4);
        return true;
    }
    return inet_pton(AF_INET6, s, out) == 1;
}

static bool
m_in_cidr(const uint8_t a[16], const char *cidr)
{
    char buf[64];
    char *slash;
    uint8_t net[16];
    int bits;
    bool v4;

    snprintf(buf, sizeof(buf), "%s", cidr);
    slash = strchr(buf, '/');
    *slash = '\0';
    v4 = strchr(buf, ':') == NULL;
    assert_true(m_addr(buf, net));
    bits = atoi(slash + 1) + (v4 ? 96 : 0);
    for (int i = 0; i < bits; i++) {
        int byte = i / 8, bit = 7 - i % 8;
        if (((a[byte] >> bit) & 1) != ((net[byte] >> bit) & 1))
            return false;
    }
    return true;
}

/* Glob over code points, recursive (a different algorithm from the
 * library's): '*' any run, '?' one code point (when @p wild), letters
 * compared after g_unichar_tolower unless @p cased; bytes that are not
 * UTF-8 compare as themselves. */
static bool
m_cp(const char **s, uint32_t *c)
{
    gunichar u;

    if (!**s)
        return false;
    u = g_utf8_get_char_validated(*s, -1);
    if (u == (gunichar)-1 || u == (gunichar)-2) {
        *c = 0x200000u + (unsigned char)**s;
        (*s)++;
    } else {
        *c = u;
        *s = g_utf8_next_char(*s);
    }
    return true;
}

static bool
m_glob(const char *p, const char *s, bool cased, bool wild)
{
    const char *p2 = p, *s2 = s;
    uint32_t pc, sc;

    if (!m_cp(&p2, &pc))
        return !*s;
    if (wild && pc == '*')
        return m_glob(p2, s, cased, wild) || (m_cp(&s2, &sc) && m_glob(p, s2, cased, wild));
    if (!m_cp(&s2, &sc))
        return false;
    if (wild && pc == '?')
        return m_glob(p2, s2, cased, wild);
    if (!cased && pc < 0x110000u && sc < 0x110000u) {
        pc = g_unichar_tolower(pc);
        sc = g_unichar_tolower(sc);
    }
    return pc == sc && m_glob(p2, s2, cased, wild);
}

/* Any value equal to literal i (two-valued: no value, no match). */
static bool
m_any_eq(const struct mev *ev, const struct mexpr *e)
{
    for (size_t v = 0; v < ev->n[e->f]; v++) {
        for (size_t i = 0; i < e->n; i++) {
            if (mf_kind[e->f] == MK_NUM) {
                if (ev->num[e->f][v] == e->num[i])
                    return true;
            } else if (mf_kind[e->f] == MK_IP) {
                uint8_t a[16], b[16];
                if (m_addr(ev->s[e->f][v], a) && m_addr(e->s[i], b) && !memcmp(a, b, 16))
                    return true;
            } else if (!strcmp(ev->s[e->f][v], e->s[i])) {
                return true;
            }
        }
    }
    return false;
}

static bool
m_eval(const struct mexpr *e, const struct mev *ev)
{
    switch (e->op) {
    case MO_AND:
        return m_eval(e->a, ev) && m_eval(e->b, ev);
    case MO_OR:
        return m_eval(e->a, ev) || m_eval(e->b, ev);
    case MO_NOT:
        return !m_eval(e->a, ev);
    case MO_TRUE:
        return true;
    case MO_FALSE:
        return false;
    case MO_EQ:
    case MO_IN:
        return m_any_eq(ev, e);
    case MO_NE:
    case MO_NOTIN:
        return !m_any_eq(ev, e);
    case MO_LIKE:
    case MO_LIKELIST:
    case MO_LIKECS:
    case MO_LIKEI:
    case MO_INI:
        for (size_t v = 0; v < ev->n[e->f]; v++)
            for (size_t i = 0; i < e->n; i++)
                if (m_glob(e->s[i], ev->s[e->f][v], e->op == MO_LIKECS, e->op != MO_INI))
                    return true;
        return false;
    case MO_NOTINI: {
        struct mexpr x = *e;
        x.op = MO_INI;
        return !m_eval(&x, ev);
    }
    case MO_NULL:
        return ev->n[e->f] == 0;
    case MO_NOTNULL:
        return ev->n[e->f] > 0;
    case MO_CIDR:
        for (size_t v = 0; v < ev->n[e->f]; v++) {
            uint8_t a[16];
            if (!m_addr(ev->s[e->f][v], a))
                continue;
            for (size_t i = 0; i < e->n; i++)
                if (m_in_cidr(a, e->s[i]))
                    return true;
        }
        return false;
    }
    return false;
}

static void
gen_event(uint64_t *r, struct mev *ev)
{
    memset(ev, 0, sizeof(*ev));
    for (int f = 0; f < MF__N; f++) {
        ev->n[f] = below(r, mf_repeated[f] ? MV + 1 : 2);
        for (size_t v = 0; v < ev->n[f]; v++) {
            if (mf_kind[f] == MK_NUM)
                ev->num[f][v] = num_pool[below(r, NP(num_pool))];
            else if (mf_kind[f] == MK_IP)
                ev->s[f][v] = ip_pool[below(r, NP(ip_pool))];
            else
                ev->s[f][v] = str_pool[below(r, NP(str_pool))];
        }
    }
}

/* The same event as the library decodes it. */
struct lev {
    t1071i_event ev;
    char *cat[1], *type[MV], *dir[MV], *name[MV], *ip[MV], *sip[MV];
    int64_t port[MV];
};

static void
to_lib(const struct mev *m, struct lev *l)
{
    memset(l, 0, sizeof(*l));
    t1071__ecs__v1__event__init(&l->ev);
    l->cat[0] = S("network");
    l->ev.event_category = l->cat;
    l->ev.n_event_category = 1;
#define REP(F, arr, field)                                                     \
    for (size_t i = 0; i < m->n[F]; i++)                                       \
        l->arr[i] = S(m->s[F][i]);                                             \
    l->ev.field = l->arr;                                                      \
    l->ev.n_##field = m->n[F];
    REP(MF_TYPE, type, event_type)
    REP(MF_DIR, dir, network_direction)
    REP(MF_NAME, name, process_name)
    REP(MF_IP, ip, destination_ip)
    REP(MF_SIP, sip, source_ip)
#undef REP
    for (size_t i = 0; i < m->n[MF_PORT]; i++)
        l->port[i] = m->num[MF_PORT][i];
    l->ev.destination_port = l->port;
    l->ev.n_destination_port = m->n[MF_PORT];
    l->ev.process_executable = m->n[MF_EXE] ? S(m->s[MF_EXE][0]) : NULL;
    l->ev.user_name = m->n[MF_USER] ? S(m->s[MF_USER][0]) : NULL;
    l->ev.has_source_port = m->n[MF_SPORT] > 0;
    l->ev.source_port = m->n[MF_SPORT] ? m->num[MF_SPORT][0] : 0;
}

static void
test_rule_eval_random_expressions_equal_model(void **state)
{
    uint64_t r = 7;
    size_t checked = 0, passed = 0;

    (void)state;
    for (int x = 0; x < 3000; x++) {
        struct mexpr *e = gen_expr(&r, 0);
        GString *text = g_string_new("sequence by process.entity_id\n  [network where ");
        struct t1071i_rule *rule;

        print_expr(text, e, 0);
        g_string_append(text, "] with runs=2");
        rule = compile_ok(text->str);
        for (int k = 0; k < 20; k++) {
            struct mev mev;
            struct lev lev;
            struct t1071i_match m;
            bool want, got;
            gen_event(&r, &mev);
            to_lib(&mev, &lev);
            want = m_eval(e, &mev);
            got = t1071i_rule_match(rule, &lev.ev, &m);
            if (want != got)
                fail_msg("expression %d event %d: library %d, model %d\n%s", x, k, got, want,
                         text->str);
            checked++;
            passed += got;
        }
        t1071i_rule_free(rule);
        g_string_free(text, TRUE);
        free_expr(e);
    }
    /* Both verdicts well represented. */
    assert_true(passed > checked / 10);
    assert_true(passed < checked * 9 / 10);
}

/* The category is one more conjunct: event.category must hold it. */
static void
test_rule_eval_category_any_and_named(void **state)
{
    struct t1071i_rule *net = compile_ok("sequence by user.name [network where true] with runs=2");
    struct t1071i_rule *any = compile_ok("sequence by user.name [any where true] with runs=2");
    struct t1071i_rule *proc = compile_ok("sequence by user.name [process where true] with runs=2");
    struct lev lev;
    struct mev mev;
    struct t1071i_match m;

    (void)state;
    memset(&mev, 0, sizeof(mev));
    to_lib(&mev, &lev);
    assert_true(t1071i_rule_match(net, &lev.ev, &m));
    assert_true(t1071i_rule_match(any, &lev.ev, &m));
    assert_false(t1071i_rule_match(proc, &lev.ev, &m));
    lev.ev.n_event_category = 0;
    assert_false(t1071i_rule_match(net, &lev.ev, &m));
    assert_true(t1071i_rule_match(any, &lev.ev, &m));
    t1071i_rule_free(net);
    t1071i_rule_free(any);
    t1071i_rule_free(proc);
}

/* ===== Sigma ===== */

static char *
sigma_doc(const char *detection, const char *correlation)
{
    return g_strdup_printf("title: base\nname: b\nlogsource:\n  category: network_connection\n"
                           "detection:\n%s---\ntitle: Corr title\nid: corr-id\nlevel: medium\n"
                           "correlation:\n%s",
                           detection,
                           correlation ? correlation
                                       : "  type: event_count\n  rules: [b]\n  group-by:\n"
                                         "    - ProcessGuid\n  timespan: 1h\n  condition:\n"
                                         "    gte: 3\n");
}

/* One Sigma detection against the equivalent EQL condition, on random
 * events: the EQL side is itself checked against the model above. */
static void
sigma_equals_eql(const char *detection, const char *eql_cond)
{
    char *y = sigma_doc(detection, NULL);
    char *q = g_strdup_printf("sequence by process.entity_id with maxspan=1h\n"
                              "[network where event.type in (\"connection\", \"start\") and (%s)]"
                              " with runs=3", eql_cond);
    struct t1071i_rule *rs = compile_ok(y), *rq = compile_ok(q);
    uint64_t r = 11;

    assert_string_equal(rs->lang, "sigma");
    assert_int_equal(rs->runs, 3);
    assert_int_equal(rs->maxspan_ms, 3600000);
    assert_int_equal(rs->key_fields[0], T1071I_F_PROCESS_ENTITY_ID);
    assert_string_equal(rs->name, "Corr title");
    assert_string_equal(rs->id, "corr-id");
    assert_string_equal(rs->severity, "medium");
    for (int k = 0; k < 3000; k++) {
        struct mev mev;
        struct lev lev;
        struct t1071i_match m;
        gen_event(&r, &mev);
        to_lib(&mev, &lev);
        if (t1071i_rule_match(rs, &lev.ev, &m) != t1071i_rule_match(rq, &lev.ev, &m))
            fail_msg("Sigma and EQL disagree on event %d:\n%s\n%s", k, y, q);
    }
    t1071i_rule_free(rs);
    t1071i_rule_free(rq);
    g_free(y);
    g_free(q);
}

static void
test_rule_sigma_modifiers_equal_eql(void **state)
{
    (void)state;
    sigma_equals_eql("  sel:\n    Initiated: 'true'\n  condition: sel\n",
                     "network.direction == \"egress\"");
    sigma_equals_eql("  sel:\n    Initiated: false\n  condition: sel\n",
                     "network.direction == \"ingress\"");
    sigma_equals_eql("  sel:\n    DestinationPort: [80, '443']\n  condition: sel\n",
                     "destination.port in (80, 443)");
    sigma_equals_eql("  sel:\n    DestinationIp|cidr:\n      - 10.0.0.0/8\n      - fe80::/10\n"
                     "  condition: not sel\n",
                     "not cidrmatch(destination.ip, \"10.0.0.0/8\", \"fe80::/10\")");
    sigma_equals_eql("  sel:\n    Image|endswith: '.exe'\n  condition: sel\n",
                     "process.executable : \"*.exe\"");
    sigma_equals_eql("  sel:\n    Image|startswith: 'c:\\temp'\n  condition: sel\n",
                     "process.executable : \"C:\\\\TEMP*\"");
    sigma_equals_eql("  sel:\n    process.name|contains: 'Ro'\n  condition: sel\n",
                     "process.name : \"*ro*\"");
    sigma_equals_eql("  sel:\n    process.name|contains|cased: 'ro'\n  condition: sel\n",
                     "process.name in (\"chrome.exe\", \"Chrome.EXE\")");
    sigma_equals_eql("  sel:\n    process.name: 'a*'\n  condition: sel\n",
                     "process.name : \"a*\"");
    sigma_equals_eql("  sel:\n    process.name: 'a\\*b'\n  condition: sel\n",
                     "process.name in (\"a*b\", \"A*b\", \"a*B\", \"A*B\")");
    sigma_equals_eql("  sel:\n    process.name|cased: 'Chrome.EXE'\n  condition: sel\n",
                     "process.name == \"Chrome.EXE\"");
    sigma_equals_eql("  sel:\n    User: null\n  condition: sel\n", "user.name == null");
    sigma_equals_eql("  sel:\n    User|exists: true\n  condition: sel\n", "user.name != null");
    sigma_equals_eql("  sel:\n    event.type|cased|all: [start, connection]\n  condition: sel\n",
                     "event.type == \"start\" and event.type == \"connection\"");
    sigma_equals_eql("  sel_a:\n    User: 'ab'\n  sel_b:\n    - process.name: b\n"
                     "    - SourcePort: 80\n  filter:\n    DestinationPort: 53\n"
                     "  condition: 1 of sel_* and not filter\n",
                     "(user.name : \"ab\" or (process.name : \"b\" or source.port == 80)) and "
                     "not destination.port == 53");
    sigma_equals_eql("  sel_a:\n    User: 'ab'\n  sel_b:\n    SourcePort: 80\n"
                     "  condition: all of them or (not sel_a)\n",
                     "(user.name : \"ab\" and source.port == 80) or not user.name : \"ab\"");
}

static void
test_rule_sigma_seed_rule_shipped_in_examples(void **state)
{
    char *text = NULL, *eql = NULL;
    gsize len;
    struct t1071i_rule *rs, *rq;
    uint64_t r = 5;

    (void)state;
    assert_true(g_file_get_contents(T1071_SRCDIR "/examples/rules/t1071-beaconing.yml", &text,
                                    &len, NULL));
    assert_true(g_file_get_contents(T1071_SRCDIR "/examples/rules/t1071-beaconing.eql", &eql,
                                    &len, NULL));
    rs = compile_ok(text);
    rq = compile_ok(eql);
    assert_int_equal(rs->runs, 10);
    assert_int_equal(rs->maxspan_ms, INT64_C(86400000));
    assert_int_equal(rq->runs, 10);
    for (int k = 0; k < 5000; k++) {
        struct mev mev;
        struct lev lev;
        struct t1071i_match m1, m2;
        gen_event(&r, &mev);
        to_lib(&mev, &lev);
        assert_int_equal(t1071i_rule_match(rs, &lev.ev, &m1), t1071i_rule_match(rq, &lev.ev, &m2));
    }
    t1071i_rule_free(rs);
    t1071i_rule_free(rq);
    g_free(text);
    g_free(eql);
}

static void
test_rule_sigma_errors_name_line_and_column(void **state)
{
    static const struct {
        const char *det, *corr, *want;
    } cases[] = {
        {"  sel:\n    Bogus: 1\n  condition: sel\n", NULL,
         "line 7, column 5: unsupported field \"Bogus\""},
        {"  sel:\n    Image|re: 'x'\n  condition: sel\n", NULL, "unsupported modifier |re"},
        {"  sel:\n    DestinationPort|contains: 1\n  condition: sel\n", NULL,
         "destination.port is numeric"},
        {"  sel:\n    DestinationPort: abc\n  condition: sel\n", NULL,
         "line 7, column 22: destination.port is numeric"},
        {"  sel:\n    DestinationIp|cidr: 1.2.3.4/40\n  condition: sel\n", NULL, "bad CIDR"},
        {"  sel:\n    Image: x\n  condition: sel and nope\n", NULL,
         "no search identifier \"nope\""},
        {"  sel:\n    Image: x\n  condition: sel |count() > 5\n", NULL, "aggregations"},
        {"  sel:\n    Image: x\n  condition: (sel\n", NULL, "expected \")\""},
        {"  sel:\n    Image: x\n  condition: 1 of foo*\n", NULL, "names no search identifier"},
        {"  sel:\n    - x\n  condition: sel\n", NULL, "keyword searches"},
        {"  sel:\n    Image: x\n  condition: sel\n",
         "  type: value_count\n  rules: [b]\n  group-by: [ProcessGuid]\n  timespan: 1h\n"
         "  condition:\n    gte: 3\n", "correlation type must be event_count"},
        {"  sel:\n    Image: x\n  condition: sel\n",
         "  type: event_count\n  rules: [zz]\n  group-by: [ProcessGuid]\n  timespan: 1h\n"
         "  condition:\n    gte: 3\n", "no base rule named \"zz\""},
        {"  sel:\n    Image: x\n  condition: sel\n",
         "  type: event_count\n  rules: [b]\n  group-by: [DestinationPort]\n  timespan: 1h\n"
         "  condition:\n    gte: 3\n", "cannot group by \"DestinationPort\""},
        {"  sel:\n    Image: x\n  condition: sel\n",
         "  type: event_count\n  rules: [b]\n  group-by: [ProcessGuid]\n  timespan: 1y\n"
         "  condition:\n    gte: 3\n", "timespan"},
        {"  sel:\n    Image: x\n  condition: sel\n",
         "  type: event_count\n  rules: [b]\n  group-by: [ProcessGuid]\n  timespan: 1h\n"
         "  condition:\n    lte: 3\n", "correlation condition \"lte\" is not supported"},
        {"  sel:\n    Image: x\n  condition: sel\n",
         "  type: event_count\n  rules: [b]\n  group-by: [ProcessGuid]\n  timespan: 1h\n"
         "  condition:\n    gte: 1\n", "a count below 2"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *y = sigma_doc(cases[i].det, cases[i].corr);
        compile_err(y, cases[i].want);
        g_free(y);
    }
    compile_err("title: x\nlogsource:\n  category: network_connection\ndetection:\n"
                "  sel:\n    Image: x\n  condition: sel\n", "without a correlation");
    compile_err("title: x\nlogsource:\n  product: windows\n  category: network_connection\n"
                "detection:\n  sel:\n    Image: x\n  condition: sel\n---\ncorrelation:\n"
                "  type: event_count\n  rules: [x]\n", "");
    compile_err("title: [unclosed\n", "YAML:");
    compile_err("title: x\nfoo: &a [*a]\n", "");
}

static void
test_rule_sigma_logsource_product_refused(void **state)
{
    static const char y[] =
        "title: x\nname: b\nlogsource:\n  product: windows\n  category: network_connection\n"
        "detection:\n  sel:\n    Image: x\n  condition: sel\n---\ntitle: c\ncorrelation:\n"
        "  type: event_count\n  rules: [b]\n  group-by: [ProcessGuid]\n  timespan: 1h\n"
        "  condition:\n    gte: 2\n";

    (void)state;
    compile_err(y, "line 4, column 3: logsource");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_seed_query_compiles_to_seed_parameters),
        cmocka_unit_test(test_rule_config_query_sets_runs_maxspan_key_and_refuses_conflicts),
        cmocka_unit_test(test_rule_ini_rule_query_loads),
        cmocka_unit_test(test_rule_eql_errors_name_line_and_column),
        cmocka_unit_test(test_rule_bounds_deep_long_wide_refused_cleanly),
        cmocka_unit_test(test_rule_repeated_identical_stages_are_runs),
        cmocka_unit_test(test_rule_eval_random_expressions_equal_model),
        cmocka_unit_test(test_rule_eval_category_any_and_named),
        cmocka_unit_test(test_rule_sigma_modifiers_equal_eql),
        cmocka_unit_test(test_rule_sigma_seed_rule_shipped_in_examples),
        cmocka_unit_test(test_rule_sigma_errors_name_line_and_column),
        cmocka_unit_test(test_rule_sigma_logsource_product_refused),
    };

    return cmocka_run_group_tests_name("rule", tests, NULL, NULL);
}
