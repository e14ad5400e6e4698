/* SPDX-License-Identifier: Apache-2.0 */
/* Rules as data through the public API (issue 7): variants of the seed
 * rule written as EQL or Sigma text (other ports, runs, maxspan, extra
 * conditions, `:` wildcards, or/not, compound keys, repeated stages, no
 * maxspan) over a generated stream, checked against an independent model
 * written here: each variant's filter as plain C, then the closed form of README "Semantics"'s
 * closed form per key.  Then several rules in one context: each rule's
 * alerts are exactly what it gives alone, each alert names its rule, and
 * snapshots refuse with T1071_E_UNSUPPORTED. */
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

#include "testutil.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define N_EVENTS 4000
#define MIN_MS INT64_C(60000)

/* ===== The stream ===== */

struct sev {
    int64_t ts;
    char id[16];
    const char *eid, *host, *pname, *user, *dir, *ip, *type;
    int64_t port;
};

static const char *
pick(uint64_t *r, const char *const *v, size_t n)
{
    return v[tu_below(r, n)];
}

#define PICK(r, arr) pick((r), (arr), sizeof(arr) / sizeof(arr[0]))

static struct sev *
gen_stream(uint64_t seed)
{
    static const char *const eids[] = {"P1", "P2", "P3", "P4", NULL};
    static const char *const hosts[] = {"h1", "h2"};
    static const char *const names[] = {"chrome.exe", "Beacon.EXE", "curl", NULL};
    static const char *const users[] = {"bob", "alice", NULL};
    static const char *const dirs[] = {"egress", "egress", "ingress", "EGRESS", NULL};
    static const char *const ips[] = {"8.8.8.8", "10.0.0.5", "1.1.1.1", "::ffff:10.1.1.1"};
    static const char *const types[] = {"start", "connection", "end"};
    static const int64_t ports[] = {80, 443, 8443, 4444, 53};
    struct sev *s = calloc(N_EVENTS, sizeof(*s));
    uint64_t r = seed;
    int64_t ts = T0;

    assert_non_null(s);
    for (size_t i = 0; i < N_EVENTS; i++) {
        /* Mostly seconds apart, sometimes equal, now and then hours:
         * per key, gaps on both sides of every variant's maxspan. */
        unsigned g = (unsigned)tu_below(&r, 100);
        ts += g < 10 ? 0 : g < 98 ? 1000 * (int64_t)(1 + tu_below(&r, 20))
                                  : MIN_MS * (int64_t)(30 + tu_below(&r, 150));
        s[i].ts = ts;
        snprintf(s[i].id, sizeof(s[i].id), "e%zu", i);
        s[i].eid = PICK(&r, eids);
        s[i].host = PICK(&r, hosts);
        s[i].pname = PICK(&r, names);
        s[i].user = PICK(&r, users);
        s[i].dir = PICK(&r, dirs);
        s[i].ip = PICK(&r, ips);
        s[i].type = PICK(&r, types);
        s[i].port = ports[tu_below(&r, sizeof(ports) / sizeof(ports[0]))];
    }
    return s;
}

static uint8_t *
encode(const struct sev *e, size_t *len)
{
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char *cat[1] = {(char *)"network"}, *type[1] = {(char *)e->type};
    char *dir[1] = {(char *)e->dir}, *ip[1] = {(char *)e->ip};
    char *eid[1] = {(char *)e->eid}, *name[1] = {(char *)e->pname};
    int64_t port[1] = {e->port};

    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = e->ts;
    ev.event_id = (char *)e->id;
    ev.event_category = cat;
    ev.n_event_category = 1;
    ev.event_type = type;
    ev.n_event_type = 1;
    if (e->dir) {
        ev.network_direction = dir;
        ev.n_network_direction = 1;
    }
    ev.destination_ip = ip;
    ev.n_destination_ip = 1;
    ev.destination_port = port;
    ev.n_destination_port = 1;
    if (e->eid) {
        ev.process_entity_id = eid;
        ev.n_process_entity_id = 1;
    }
    if (e->pname) {
        ev.process_name = name;
        ev.n_process_name = 1;
    }
    ev.host_id = (char *)e->host;
    ev.user_name = (char *)e->user;
    return tu_pack_event(&ev, len);
}

/* ===== The model ===== */

static bool
eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static bool
ends_with_ci(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, m = strlen(suffix);

    return s && n >= m && !g_ascii_strcasecmp(s + n - m, suffix);
}

static bool
private_ip(const char *ip)
{
    return !strncmp(ip, "10.", 3) || !strncmp(ip, "::ffff:10.", 10);
}

struct variant {
    const char *name;
    const char *text;
    bool (*pred)(const struct sev *);
    const char *key1, *key2; /* field names of the model's key */
    unsigned runs;
    int64_t maxspan;         /* -1: unbounded */
};

static bool
p_ports(const struct sev *e)
{
    return (e->port == 8443 || e->port == 4444) && eq(e->dir, "egress");
}

static bool
p_wild(const struct sev *e)
{
    return (eq(e->type, "start") || eq(e->type, "connection")) && ends_with_ci(e->pname, ".exe") &&
           !eq(e->user, "alice");
}

static bool
p_ornot(const struct sev *e)
{
    return (e->port == 80 || e->port == 443) && !private_ip(e->ip);
}

static bool
p_ci_dir(const struct sev *e)
{
    return e->dir && !g_ascii_strncasecmp(e->dir, "egr", 3);
}

static bool
p_sigma(const struct sev *e)
{
    return (eq(e->type, "start") || eq(e->type, "connection")) && eq(e->dir, "egress") &&
           e->port != 53 && ends_with_ci(e->pname, ".exe") &&
           !eq(e->user, "alice") && !private_ip(e->ip);
}

static const struct variant variants[] = {
    {"ports-runs3-30m",
     "sequence by process.entity_id with maxspan=30m\n"
     "  [network where destination.port in (8443, 4444) and network.direction == \"egress\"]\n"
     "  with runs=3",
     p_ports, "process.entity_id", NULL, 3, 30 * MIN_MS},
    {"wildcard-not-runs5-2h",
     "sequence by process.entity_id with maxspan=2h\n"
     "  [network where event.type in (\"start\", \"connection\") and\n"
     "   process.name : \"*.exe\" and not user.name == \"alice\"] with runs=5",
     p_wild, "process.entity_id", NULL, 5, 120 * MIN_MS},
    {"or-cidr-compound-key",
     "sequence by host.id, process.name with maxspan=1h\n"
     "  [network where (destination.port == 80 or destination.port == 443) and\n"
     "   not cidrmatch(destination.ip, \"10.0.0.0/8\")] with runs=4",
     p_ornot, "host.id", "process.name", 4, 60 * MIN_MS},
    {"stages-unbounded",
     "sequence by user.name\n"
     "  [network where network.direction : \"EGR*\"]\n"
     "  [network where network.direction : \"EGR*\"] with runs=2",
     p_ci_dir, "user.name", NULL, 3, -1},
    {"sigma-45m",
     "title: Sigma variant\n"
     "name: base\n"
     "logsource:\n"
     "  category: network_connection\n"
     "detection:\n"
     "  selection:\n"
     "    Initiated: 'true'\n"
     "    DestinationPort: [443, 8443, 80, 4444]\n"
     "    process.name|endswith: '.EXE'\n"
     "  filter_user:\n"
     "    User: alice\n"
     "  filter_private:\n"
     "    DestinationIp|cidr: 10.0.0.0/8\n"
     "  condition: selection and not 1 of filter_*\n"
     "---\n"
     "title: Sigma variant correlation\n"
     "id: sigma-variant-id\n"
     "correlation:\n"
     "  type: event_count\n"
     "  rules:\n"
     "    - base\n"
     "  group-by:\n"
     "    - ProcessGuid\n"
     "  timespan: 45m\n"
     "  condition:\n"
     "    gte: 3\n",
     p_sigma, "process.entity_id", NULL, 3, 45 * MIN_MS},
};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static const char *
field(const struct sev *e, const char *name)
{
    if (!strcmp(name, "process.entity_id"))
        return e->eid;
    if (!strcmp(name, "host.id"))
        return e->host;
    if (!strcmp(name, "process.name"))
        return e->pname;
    if (!strcmp(name, "user.name"))
        return e->user;
    fail_msg("model: no field %s", name);
    return NULL;
}

/* Sequences in emission order: the stream is in time order, so each
 * event, when it completes a window of its key, emits it there. */
static size_t model_too_long; /* windows maxspan refused, for coverage */

static void
model(const struct sev *s, const struct variant *v, struct tu_buf *out)
{
    char **keys = calloc(N_EVENTS, sizeof(*keys));
    size_t *idx = calloc(N_EVENTS, sizeof(*idx));

    assert_non_null(keys);
    assert_non_null(idx);
    for (size_t j = 0; j < N_EVENTS; j++) {
        const char *k1, *k2;
        size_t n = 0;
        if (!v->pred(&s[j]))
            continue;
        k1 = field(&s[j], v->key1);
        k2 = v->key2 ? field(&s[j], v->key2) : "";
        if (!k1 || !k2)
            continue;
        keys[j] = g_strdup_printf("%s\x1f%s", k1, k2);
        /* The key's matching events so far, this one last. */
        for (size_t i = 0; i <= j; i++)
            if (keys[i] && !strcmp(keys[i], keys[j]))
                idx[n++] = i;
        if (n >= v->runs) {
            size_t first = idx[n - v->runs];
            if (v->maxspan < 0 || s[j].ts - s[first].ts <= v->maxspan) {
                tu_buf_puts(out, "[");
                for (size_t m = n - v->runs; m < n; m++)
                    tu_buf_printf(out, "%s\"%s\"", m > n - v->runs ? "," : "", s[idx[m]].id);
                tu_buf_puts(out, "]\n");
            } else {
                model_too_long++;
            }
        }
    }
    for (size_t j = 0; j < N_EVENTS; j++)
        g_free(keys[j]);
    free(keys);
    free(idx);
}

/* ===== The library ===== */

struct got {
    struct tu_buf ids[8];     /* per rule name index */
    const char *names[8];
    size_t n_names;
    size_t total;
    uint64_t seq_base;        /* sequence numbers before this collection */
};

static void
poll_into(t1071_ctx *ctx, struct got *g, const char *only_id)
{
    t1071_alert_batch *b = NULL;

    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *d;
        size_t len, slot;
        tu_alert *a;
        assert_int_equal(t1071_alert_batch_get(b, i, &d, &len), T1071_OK);
        a = t1071__ecs__v1__alert__unpack(NULL, len, d);
        assert_non_null(a);
        assert_non_null(a->rule_name);
        assert_non_null(a->rule_id);
        if (only_id)
            assert_string_equal(a->rule_id, only_id);
        for (slot = 0; slot < g->n_names; slot++)
            if (!strcmp(g->names[slot], a->rule_name))
                break;
        if (slot == g->n_names) {
            assert_true(g->n_names < 8);
            g->names[g->n_names++] = strdup(a->rule_name);
        }
        tu_buf_puts(&g->ids[slot], "[");
        for (size_t m = 0; m < a->n_members; m++)
            tu_buf_printf(&g->ids[slot], "%s\"%s\"", m ? "," : "", a->members[m]->event_id);
        tu_buf_puts(&g->ids[slot], "]\n");
        g->total++;
        /* Numbered across the context, whatever the rule. */
        assert_int_equal(a->sequence_number, g->total + g->seq_base);
        t1071__ecs__v1__alert__free_unpacked(a, NULL);
    }
    t1071_alert_batch_free(b);
}

static void
got_free(struct got *g)
{
    for (size_t i = 0; i < 8; i++)
        tu_buf_free(&g->ids[i]);
    for (size_t i = 0; i < g->n_names; i++)
        free((void *)g->names[i]);
}

static void
feed_stream(t1071_ctx *ctx, const struct sev *s, struct got *g)
{
    for (size_t i = 0; i < N_EVENTS; i++) {
        size_t len;
        uint8_t *buf = encode(&s[i], &len);
        int rc;
        while ((rc = t1071_feed_event(ctx, buf, len)) == T1071_E_QUEUE_FULL)
            poll_into(ctx, g, NULL);
        assert_int_equal(rc, T1071_OK);
        free(buf);
        if (i % 97 == 0)
            poll_into(ctx, g, NULL);
    }
    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    poll_into(ctx, g, NULL);
}

static void
test_rules_variants_equal_independent_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct sev *s = gen_stream(seed);
        for (size_t v = 0; v < N_VARIANTS; v++) {
            t1071_config *cfg;
            t1071_ctx *ctx;
            struct got g = {0};
            struct tu_buf want = {0};
            assert_int_equal(t1071_config_new(&cfg), T1071_OK);
            if (t1071_config_set_rule(cfg, variants[v].text) != T1071_OK)
                fail_msg("%s: %s", variants[v].name, t1071_config_errmsg(cfg));
            assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
            t1071_config_free(cfg);
            feed_stream(ctx, s, &g);
            model_too_long = 0;
            model(s, &variants[v], &want);
            /* Both sides of maxspan must occur (when it has one). */
            if (seed == 1 && variants[v].maxspan >= 0 && model_too_long == 0)
                fail_msg("variant %s: no window longer than maxspan", variants[v].name);
            if (strcmp(tu_buf_str(&want), tu_buf_str(&g.ids[0])) != 0)
                fail_msg("variant %s, seed %" PRIu64 ": library gave\n%.2000s\nmodel\n%.2000s",
                         variants[v].name, seed, tu_buf_str(&g.ids[0]), tu_buf_str(&want));
            /* Every variant must have something to compare. */
            if (seed == 1)
                print_message("# variant %s: %zu bytes of sequences, %zu windows over maxspan\n",
                              variants[v].name, want.len, model_too_long);
            if (seed == 1 && want.len == 0)
                fail_msg("variant %s: the stream gives it no sequence", variants[v].name);
            assert_true(g.n_names <= 1);
            tu_buf_free(&want);
            got_free(&g);
            t1071_free(ctx);
        }
        free(s);
    }
}

/* Several rules in one context: each gives exactly what it gives alone,
 * under its own name and id. */
static void
test_rules_several_in_one_context_each_as_alone_and_named(void **state)
{
    struct sev *s = gen_stream(42);
    t1071_config *cfg;
    t1071_ctx *ctx;
    struct got all = {0};
    const size_t picks[] = {0, 2, 4};
    uint64_t alerts = 0;
    t1071_buffer *snap = NULL;
    char name[64];

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.name", "first"), T1071_OK);
    assert_int_equal(t1071_config_set_rule(cfg, variants[0].text), T1071_OK);
    assert_int_equal(t1071_config_add_rule(cfg, "second", variants[2].text), T1071_OK);
    assert_int_equal(t1071_config_add_rule(cfg, NULL, variants[4].text), T1071_OK);
    assert_int_equal(t1071_config_rule_count(cfg), 3);
    /* A bad added rule is refused with its position and changes nothing. */
    assert_int_equal(t1071_config_add_rule(cfg, NULL, "sequence by host.id [network where (]"),
                     T1071_E_RULE);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "rule 4: line 1, column 37"));
    assert_int_equal(t1071_config_rule_count(cfg), 3);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    feed_stream(ctx, s, &all);
    assert_int_equal(all.n_names, 3);
    for (size_t k = 0; k < 3; k++) {
        const struct variant *v = &variants[picks[k]];
        struct tu_buf want = {0};
        const char *nm = k == 0 ? "first" : k == 1 ? "second" : "Sigma variant correlation";
        size_t slot;
        for (slot = 0; slot < all.n_names; slot++)
            if (!strcmp(all.names[slot], nm))
                break;
        if (slot == all.n_names)
            fail_msg("no alert named \"%s\"", nm);
        model(s, v, &want);
        assert_true(want.len > 0);
        if (strcmp(tu_buf_str(&want), tu_buf_str(&all.ids[slot])) != 0)
            fail_msg("rule %s: alerts differ from the rule alone", nm);
        tu_buf_free(&want);
    }
    /* Counters: records once, alerts summed. */
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), N_EVENTS);
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_DECODED), N_EVENTS);
    assert_int_equal(t1071_stats_get(ctx, T1071_STAT_ALERTS, &alerts), T1071_OK);
    assert_int_equal(alerts, all.total);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS_POLLED), all.total);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS_QUEUED), 0);
    /* A snapshot holds every rule; a damaged one is refused. */
    assert_int_equal(t1071_snapshot(ctx, &snap), T1071_OK);
    assert_non_null(snap);
    {
        size_t len = t1071_buffer_size(snap);
        uint8_t *bad = malloc(len);
        t1071_ctx *r = NULL;
        assert_non_null(bad);
        memcpy(bad, t1071_buffer_data(snap), len);
        bad[len / 2] ^= 1;
        assert_int_equal(t1071_restore(&r, bad, len), T1071_E_SNAPSHOT);
        assert_null(r);
        assert_int_equal(t1071_restore(&r, t1071_buffer_data(snap), len - 1), T1071_E_SNAPSHOT);
        memcpy(bad, t1071_buffer_data(snap), len);
        bad[8] = 2; /* a newer envelope version */
        assert_int_equal(t1071_restore(&r, bad, len), T1071_E_VERSION);
        assert_int_equal(t1071_restore(&r, t1071_buffer_data(snap), len), T1071_OK);
        assert_int_equal(tu_stat(r, T1071_STAT_RECORDS_IN), N_EVENTS);
        assert_int_equal(tu_stat(r, T1071_STAT_ALERTS), all.total);
        t1071_free(r);
        free(bad);
    }
    t1071_buffer_free(snap);
    t1071_free(ctx);
    got_free(&all);
    free(s);
    (void)name;
}

/* The added rules' ids: a Sigma rule's own, else the context's plus /N. */
static void
test_rules_added_rule_ids_and_default_names(void **state)
{
    struct sev *s = gen_stream(3);
    t1071_config *cfg;
    t1071_ctx *ctx;
    struct got all = {0};

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.rule_id", "base-id"), T1071_OK);
    assert_int_equal(t1071_config_add_rule(cfg, NULL, variants[1].text), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    feed_stream(ctx, s, &all);
    {
        bool saw_rule2 = false;
        for (size_t i = 0; i < all.n_names; i++)
            saw_rule2 = saw_rule2 || !strcmp(all.names[i], "rule 2");
        assert_true(saw_rule2);
    }
    t1071_free(ctx);
    got_free(&all);
    free(s);
}

/* A single rule given as text snapshots and restores like any config:
 * the rule travels as its text and is compiled again. */
static void
test_rules_single_query_snapshot_restore_continues_exactly(void **state)
{
    struct sev *s = gen_stream(9);
    t1071_config *cfg;
    t1071_ctx *a, *b, *c;
    struct got ga = {0}, gb = {0};
    t1071_buffer *snap = NULL;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set_rule(cfg, variants[4].text), T1071_OK);
    assert_int_equal(t1071_init(&a, cfg), T1071_OK);
    assert_int_equal(t1071_init(&c, cfg), T1071_OK);
    t1071_config_free(cfg);
    /* a: the whole stream; c: half, snapshot, restore into b, the rest. */
    feed_stream(a, s, &ga);
    for (size_t i = 0; i < N_EVENTS / 2; i++) {
        size_t len;
        uint8_t *buf = encode(&s[i], &len);
        assert_int_equal(t1071_feed_event(c, buf, len), T1071_OK);
        free(buf);
        poll_into(c, &gb, "sigma-variant-id");
    }
    assert_int_equal(t1071_snapshot(c, &snap), T1071_OK);
    t1071_free(c);
    assert_int_equal(t1071_restore(&b, t1071_buffer_data(snap), t1071_buffer_size(snap)),
                     T1071_OK);
    t1071_buffer_free(snap);
    for (size_t i = N_EVENTS / 2; i < N_EVENTS; i++) {
        size_t len;
        uint8_t *buf = encode(&s[i], &len);
        assert_int_equal(t1071_feed_event(b, buf, len), T1071_OK);
        free(buf);
        poll_into(b, &gb, "sigma-variant-id");
    }
    assert_int_equal(t1071_advance(b, INT64_MAX), T1071_OK);
    poll_into(b, &gb, "sigma-variant-id");
    assert_true(ga.total > 0);
    assert_string_equal(tu_buf_str(&ga.ids[0]), tu_buf_str(&gb.ids[0]));
    t1071_free(a);
    t1071_free(b);
    got_free(&ga);
    got_free(&gb);
    free(s);
}

/* Several rules cut mid-stream, snapshot, restore, go on: every alert as
 * in one uninterrupted run, in the same order with the same numbers. */
static void
test_rules_several_snapshot_restore_continues_exactly(void **state)
{
    struct sev *s = gen_stream(77);
    t1071_config *cfg;
    t1071_ctx *whole, *first, *second;
    struct got gw = {0}, gs = {0};
    t1071_buffer *snap = NULL;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.lateness", "90s"), T1071_OK);
    assert_int_equal(t1071_config_set_rule(cfg, variants[1].text), T1071_OK);
    assert_int_equal(t1071_config_add_rule(cfg, "ports", variants[0].text), T1071_OK);
    assert_int_equal(t1071_config_add_rule(cfg, NULL, variants[4].text), T1071_OK);
    assert_int_equal(t1071_init(&whole, cfg), T1071_OK);
    assert_int_equal(t1071_init(&first, cfg), T1071_OK);
    t1071_config_free(cfg);
    feed_stream(whole, s, &gw);
    for (size_t cut = 0; cut < 3; cut++) {
        size_t from = cut * N_EVENTS / 3, to = (cut + 1) * N_EVENTS / 3;
        for (size_t i = from; i < to; i++) {
            size_t len;
            uint8_t *buf = encode(&s[i], &len);
            assert_int_equal(t1071_feed_event(first, buf, len), T1071_OK);
            free(buf);
            poll_into(first, &gs, NULL);
        }
        /* Events wait in the reorder buffers (lateness) at each cut. */
        assert_int_equal(t1071_snapshot(first, &snap), T1071_OK);
        t1071_free(first);
        assert_int_equal(t1071_restore(&second, t1071_buffer_data(snap),
                                       t1071_buffer_size(snap)), T1071_OK);
        t1071_buffer_free(snap);
        snap = NULL;
        first = second;
    }
    assert_int_equal(t1071_advance(first, INT64_MAX), T1071_OK);
    poll_into(first, &gs, NULL);
    assert_true(gw.total > 0);
    assert_int_equal(gw.total, gs.total);
    assert_int_equal(gw.n_names, gs.n_names);
    for (size_t i = 0; i < gw.n_names; i++) {
        assert_string_equal(gw.names[i], gs.names[i]);
        assert_string_equal(tu_buf_str(&gw.ids[i]), tu_buf_str(&gs.ids[i]));
    }
    t1071_free(whole);
    t1071_free(first);
    got_free(&gw);
    got_free(&gs);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_variants_equal_independent_model),
        cmocka_unit_test(test_rules_several_in_one_context_each_as_alone_and_named),
        cmocka_unit_test(test_rules_added_rule_ids_and_default_names),
        cmocka_unit_test(test_rules_single_query_snapshot_restore_continues_exactly),
        cmocka_unit_test(test_rules_several_snapshot_restore_continues_exactly),
    };

    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
