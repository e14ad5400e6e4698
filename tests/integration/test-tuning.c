/* SPDX-License-Identifier: Apache-2.0 */
/* Beacon score on every alert, and the tuned profile (issue 3): the
 * shipped examples/profiles/tuned.ini, allowlists by full path (a name
 * alone never allowlists), heartbeats, prevalence, the fallback key, alert
 * suppression, IPv6 exclusions, extra ports, and the real lab captures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef T1071_PROFILES
#error "T1071_PROFILES must be examples/profiles"
#endif

#define T0 INT64_C(1704067200000)
#define TEMP_EXE "C:\\Users\\bob\\AppData\\Local\\Temp\\chrome.exe"
#define CHROME_EXE "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
#define DD_EXE "C:\\Program Files\\Datadog\\Datadog Agent\\bin\\agent.exe"

/* ===== Helpers ===== */

struct conn {
    int64_t ts;
    const char *entity, *exe, *host, *ip;
    int64_t port;
    const char *domain; /* may be NULL */
};

static void
feed_conn(t1071_ctx *ctx, const struct conn *c)
{
    char json[2048], dom[300] = "";
    const char *name = strrchr(c->exe, '\\') ? strrchr(c->exe, '\\') + 1 : c->exe;
    struct tu_buf exe = {0};
    char tbuf[64];
    int64_t s = c->ts / 1000, ms = c->ts % 1000;
    int64_t days = s / 86400, rem = s % 86400;
    int rc;

    /* civil date from days since the epoch (H. Hinnant's algorithm) */
    {
        int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        int64_t y = yoe + era * 400 + (m <= 2);
        snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m,
                 (int)d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)ms);
    }
    tu_json_ascii_string(&exe, c->exe, strlen(c->exe));
    if (c->domain)
        snprintf(dom, sizeof(dom), ",\"domain\":\"%s\"", c->domain);
    snprintf(json, sizeof(json),
             "{\"@timestamp\":\"%s\",\"event\":{\"category\":[\"network\"],\"type\":[\"start\"]},"
             "\"network\":{\"direction\":\"egress\"},"
             "\"destination\":{\"ip\":\"%s\",\"port\":%lld%s},"
             "\"process\":{\"entity_id\":\"%s\",\"name\":\"%s\",\"executable\":%s},"
             "\"host\":{\"id\":\"%s\",\"name\":\"%s\"}}",
             tbuf, c->ip, (long long)c->port, dom, c->entity, name, tu_buf_str(&exe), c->host,
             c->host);
    tu_buf_free(&exe);
    rc = t1071_feed_json(ctx, json, strlen(json));
    assert_int_equal(rc, T1071_OK);
}

struct got {
    size_t n;
    tu_alert *a[4096];
};

static void
drain(t1071_ctx *ctx, struct got *g)
{
    t1071_alert_batch *b = NULL;

    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *d;
        size_t n;
        assert_int_equal(t1071_alert_batch_get(b, i, &d, &n), T1071_OK);
        assert_true(g->n < 4096);
        g->a[g->n] = t1071__ecs__v1__alert__unpack(NULL, n, d);
        assert_non_null(g->a[g->n]);
        g->n++;
    }
    t1071_alert_batch_free(b);
}

static void
got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        t1071__ecs__v1__alert__free_unpacked(g->a[i], NULL);
    g->n = 0;
}

/* Delivered (not suppressed) alerts, and those under key @p key (NULL: any). */
static size_t
delivered(const struct got *g, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        if (!(g->a[i]->tuning && g->a[i]->tuning->suppressed) &&
            (!key || !strcmp(g->a[i]->key, key)))
            n++;
    return n;
}

static size_t
with_reason(const struct got *g, const char *reason)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->a[i]->tuning && g->a[i]->tuning->reason && !strcmp(g->a[i]->tuning->reason, reason))
            n++;
    return n;
}

/* A context from the shipped tuned profile plus overrides. */
static t1071_ctx *
tuned_ctx(const char *const *kv)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    if (t1071_config_load_file(cfg, T1071_PROFILES "/tuned.ini") != T1071_OK)
        fail_msg("tuned.ini: %s", t1071_config_errmsg(cfg));
    assert_int_equal(t1071_config_set(cfg, "engine.hash_seed", "7"), T1071_OK);
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (t1071_config_set(cfg, kv[i], kv[i + 1]) != T1071_OK)
            fail_msg("%s: %s", kv[i], t1071_config_errmsg(cfg));
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    return ctx;
}

/* @p n beats of @p period_ms with jitter drawn from [-j, +j] * period. */
static void
beacon(t1071_ctx *ctx, const char *entity, const char *exe, const char *host, int n,
       int64_t period_ms, unsigned jitter_pct, uint64_t seed)
{
    int64_t t = T0;
    for (int i = 0; i < n; i++) {
        struct conn c = {t, entity, exe, host, "203.0.113.50", 443, NULL};
        feed_conn(ctx, &c);
        t += period_ms;
        if (jitter_pct)
            t += (int64_t)tu_below(&seed, 2 * period_ms * jitter_pct / 100 + 1) -
                 period_ms * jitter_pct / 100;
    }
}

/* ===== Score on every alert ===== */

static void
test_faithful_alerts_carry_the_beacon_score(void **state)
{
    t1071_ctx *ctx = tu_ctx_new((const char *const[]){"engine.hash_seed", "1", NULL});
    struct got g = {0};

    (void)state;
    beacon(ctx, "E1", TEMP_EXE, "H1", 30, 60000, 10, 1);
    drain(ctx, &g);
    assert_int_equal(g.n, 21); /* the rule exactly: 30 - 10 + 1 */
    for (size_t i = 0; i < g.n; i++) {
        const T1071__Ecs__V1__AlertBeacon *b = g.a[i]->beacon;
        assert_non_null(b);
        assert_true(b->has_score && b->score >= 0 && b->score <= 1);
        assert_true(b->has_timing && b->has_count_regularity && b->has_size &&
                    b->has_persistence && b->has_period_ms && b->has_jitter);
        /* no byte counts and a short capture: those factors are neutral */
        assert_true(b->size == 1.0 && b->persistence == 1.0);
        assert_false(b->size_known);
        assert_false(b->hourly);
        assert_string_equal(b->destination, "203.0.113.50:443");
        assert_non_null(g.a[i]->tuning);
        assert_false(g.a[i]->tuning->suppressed);
        assert_int_equal(g.a[i]->tuning->sequences, 1);
    }
    assert_true(g.a[g.n - 1]->beacon->score >= 0.8);
    assert_true(g.a[g.n - 1]->beacon->period_ms > 54000 && g.a[g.n - 1]->beacon->period_ms < 66000);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS_SUPPRESSED), 0);
    got_free(&g);
    t1071_free(ctx);
}

/* beacon.enabled=false: the same alerts without the verdict, and less memory. */
static void
test_beacon_disabled_same_alerts_no_score(void **state)
{
    t1071_ctx *on = tu_ctx_new((const char *const[]){"engine.hash_seed", "1", NULL});
    t1071_ctx *off = tu_ctx_new(
        (const char *const[]){"engine.hash_seed", "1", "beacon.enabled", "false", NULL});
    struct got a = {0}, b = {0};

    (void)state;
    beacon(on, "E1", TEMP_EXE, "H1", 25, 60000, 30, 2);
    beacon(off, "E1", TEMP_EXE, "H1", 25, 60000, 30, 2);
    assert_true(tu_stat(off, T1071_STAT_MEMORY_BYTES) < tu_stat(on, T1071_STAT_MEMORY_BYTES));
    drain(on, &a);
    drain(off, &b);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.a[i]->group_id, b.a[i]->group_id);
        assert_null(b.a[i]->beacon);
        assert_null(b.a[i]->tuning);
    }
    got_free(&a);
    got_free(&b);
    t1071_free(on);
    t1071_free(off);
}

/* The JSON alert carries t1071.beacon and t1071.tuning. */
static void
test_json_alert_has_beacon_fields(void **state)
{
    t1071_ctx *ctx = tu_ctx_new((const char *const[]){"rule.runs", "12", NULL});
    t1071_alert_batch *b = NULL;
    const char *json;
    size_t n;
    struct tu_json *j;

    (void)state;
    beacon(ctx, "E1", TEMP_EXE, "H1", 12, 30000, 0, 0);
    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    assert_int_equal(t1071_alert_batch_count(b), 1);
    assert_int_equal(t1071_alert_batch_get_json(b, 0, &json, &n), T1071_OK);
    j = tu_json_parse(json, n, NULL, 0);
    assert_non_null(j);
    assert_non_null(tu_json_get(j, "t1071.beacon.score"));
    assert_true(tu_json_get(j, "t1071.beacon.score")->num >= 0.8);
    assert_int_equal((int64_t)tu_json_get(j, "t1071.beacon.period_ms")->num, 30000);
    assert_non_null(tu_json_get(j, "t1071.beacon.jitter"));
    assert_non_null(tu_json_get(j, "t1071.beacon.timing"));
    assert_non_null(tu_json_get(j, "t1071.beacon.count_regularity"));
    assert_non_null(tu_json_get(j, "t1071.beacon.size"));
    assert_non_null(tu_json_get(j, "t1071.beacon.persistence"));
    assert_int_equal(tu_json_get(j, "t1071.tuning.suppressed")->type, TU_JBOOL);
    tu_json_free(j);
    t1071_alert_batch_free(b);
    t1071_free(ctx);
}

/* The tuned profile without the score (beacon.enabled=false): allowlists,
 * the fallback key and suppression still apply; the score threshold and
 * heartbeats, which need the score, do not; alerts carry no beacon. */
static void
test_tuned_without_score_still_tunes(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"beacon.enabled", "false", NULL});
    struct got g = {0};

    (void)state;
    beacon(ctx, "implant", TEMP_EXE, "H1", 40, 60000, 20, 3);
    beacon(ctx, "browser", CHROME_EXE, "H2", 40, 60000, 20, 3);
    drain(ctx, &g);
    assert_int_equal(delivered(&g, "implant"), 1);
    assert_int_equal(delivered(&g, "browser"), 0);
    for (size_t i = 0; i < g.n; i++) {
        assert_null(g.a[i]->beacon);
        assert_non_null(g.a[i]->tuning);
    }
    assert_int_equal(g.a[0]->tuning->sequences, 1);
    got_free(&g);
    t1071_free(ctx);
}

/* ===== Allowlists ===== */

/* chrome.exe from a temp folder beaconing alerts; Chrome in its install
 * directory does not (suppressed, counted, emitted with the reason). */
static void
test_tuned_name_alone_never_allowlists(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"tuning.emit_suppressed", "true", NULL});
    struct got g = {0};

    (void)state;
    beacon(ctx, "implant", TEMP_EXE, "H1", 40, 60000, 20, 3);
    beacon(ctx, "browser", CHROME_EXE, "H2", 40, 60000, 20, 3);
    drain(ctx, &g);
    assert_int_equal(delivered(&g, "implant"), 1); /* one per suppress_period */
    assert_int_equal(delivered(&g, "browser"), 0);
    /* 31 sequences under the entity key, 31 under the fallback key
     * (host + executable), all with the allowlist's reason */
    assert_int_equal(with_reason(&g, "allowlisted_executable"), 62);
    assert_true(tu_stat(ctx, T1071_STAT_ALERTS_SUPPRESSED) > 62);
    for (size_t i = 0; i < g.n; i++)
        if (!strcmp(g.a[i]->key, "implant") && !g.a[i]->tuning->suppressed)
            assert_true(g.a[i]->beacon->score >= 0.8);
    got_free(&g);
    t1071_free(ctx);
}

static void
test_tuned_destination_allowlists(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){
        "tuning.allow_cidrs", "203.0.113.0/24", "tuning.allow_domains", "Example.ORG", NULL});
    struct got g = {0};

    (void)state;
    for (int i = 0; i < 20; i++) {
        struct conn a = {T0 + i * INT64_C(60000), "cidr", TEMP_EXE, "H1", "203.0.113.9", 443, NULL};
        struct conn b = {T0 + i * INT64_C(60000), "dom", TEMP_EXE, "H1", "198.51.100.1", 443,
                         "api.example.org"};
        struct conn c = {T0 + i * INT64_C(60000), "lookalike", TEMP_EXE, "H1", "198.51.100.2", 443,
                         "badexample.org"};
        feed_conn(ctx, &a);
        feed_conn(ctx, &b);
        feed_conn(ctx, &c);
    }
    drain(ctx, &g);
    assert_int_equal(delivered(&g, "cidr"), 0);
    assert_int_equal(delivered(&g, "dom"), 0);
    assert_int_equal(delivered(&g, "lookalike"), 1); /* suffix on a label boundary only */
    got_free(&g);
    t1071_free(ctx);
}

/* A bare name in an executable allowlist is a configuration error. */
static void
test_tuned_config_refuses_bare_names(void **state)
{
    t1071_config *cfg = NULL;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "tuning.allow_executables", "chrome.exe"),
                     T1071_E_INVALID_ARG);
    assert_non_null(strstr(t1071_config_errmsg(cfg), "tuning.allow_executables"));
    assert_int_equal(t1071_config_set(cfg, "tuning.heartbeat_executables", "C:\\x\\a.exe,agent"),
                     T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "tuning.score_threshold", "1.5"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "tuning.score_threshold", "abc"), T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "tuning.score_threshold", "0.75"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "tuning.allow_cidrs", "300.1.1.1/8"),
                     T1071_E_INVALID_ARG);
    assert_int_equal(t1071_config_set(cfg, "beacon.max_destinations", "0"), T1071_E_INVALID_ARG);
    t1071_config_free(cfg);
}

/* ===== Heartbeats ===== */

/* Exactly periodic 60 s from the Datadog agent in its install directory is
 * a heartbeat; the same timing from an unknown binary is not; the agent's
 * path with jittered (sleep-loop) timing is not a heartbeat either. */
static void
test_tuned_heartbeat_only_for_known_agents(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"tuning.emit_suppressed", "true", NULL});
    struct got g = {0};

    (void)state;
    beacon(ctx, "dd", DD_EXE, "H1", 30, 60000, 0, 0);
    beacon(ctx, "unknown", "C:\\ProgramData\\dd\\agent.exe", "H2", 30, 60000, 0, 0);
    beacon(ctx, "dd-jittered", DD_EXE, "H3", 30, 60000, 30, 5);
    drain(ctx, &g);
    assert_int_equal(delivered(&g, "dd"), 0);
    assert_int_equal(with_reason(&g, "heartbeat"), 2 * 21); /* entity and fallback key */
    assert_int_equal(delivered(&g, "unknown"), 1);
    assert_int_equal(delivered(&g, "dd-jittered"), 1);
    got_free(&g);
    t1071_free(ctx);
}

/* ===== Prevalence ===== */

static void
test_tuned_prevalence_lowers_then_suppresses(void **state)
{
    const char *const kv[] = {"tuning.prevalence_hosts", "3", "tuning.prevalence_suppress_hosts",
                              "5", "tuning.score_threshold", "0", "tuning.suppress_period", "0",
                              NULL};
    for (int hosts = 2; hosts <= 5; hosts++) {
        t1071_ctx *ctx = tuned_ctx(kv);
        struct got g = {0};
        char ent[8][16], host[8][16];
        for (int h = 0; h < hosts; h++) {
            snprintf(ent[h], sizeof(ent[h]), "E%d", h);
            snprintf(host[h], sizeof(host[h]), "HOST%d", h);
        }
        for (int i = 0; i < 12; i++)
            for (int h = 0; h < hosts; h++) {
                struct conn c = {T0 + i * INT64_C(300000) + h * 1000, ent[h],
                                 "C:\\Program Files\\Vendor\\updater.exe", host[h],
                                 "198.51.100.77", 443, NULL};
                feed_conn(ctx, &c);
            }
        drain(ctx, &g);
        if (hosts < 3) {
            assert_int_equal(delivered(&g, NULL), (size_t)(3 * hosts));
            assert_false(g.a[0]->tuning->has_raw_score);
        } else if (hosts < 5) {
            /* lowered: score = raw score x prevalence_penalty (0.5) */
            assert_int_equal(delivered(&g, NULL), (size_t)(3 * hosts));
            const tu_alert *last = g.a[g.n - 1];
            assert_true(last->tuning->has_raw_score);
            assert_true(last->tuning->prevalence_hosts >= 3);
            assert_true(last->beacon->score == last->tuning->raw_score * 0.5);
        } else {
            /* alerts before the fifth host appeared, none after */
            assert_true(delivered(&g, NULL) < (size_t)(3 * hosts));
            assert_true(tu_stat(ctx, T1071_STAT_ALERTS_SUPPRESSED) > 0);
        }
        got_free(&g);
        t1071_free(ctx);
    }
    (void)state;
}

/* ===== Fallback key ===== */

/* An implant restarting every 4 beats under a new entity id: no entity key
 * ever reaches 10 events, the host + executable key does.  Three
 * concurrent instances of one binary are not merged into a fallback alert. */
static void
test_tuned_fallback_key_catches_restarting_implant(void **state)
{
    t1071_ctx *ctx = tuned_ctx(NULL);
    t1071_ctx *nofb = tuned_ctx((const char *const[]){"tuning.fallback_key", "false", NULL});
    struct got g = {0}, h = {0};

    (void)state;
    for (int i = 0; i < 40; i++) {
        char ent[16];
        snprintf(ent, sizeof(ent), "life%d", i / 4);
        struct conn c = {T0 + i * INT64_C(60000), ent, TEMP_EXE, "H1", "203.0.113.60", 443, NULL};
        feed_conn(ctx, &c);
        feed_conn(nofb, &c);
    }
    drain(ctx, &g);
    drain(nofb, &h);
    assert_int_equal(delivered(&g, NULL), 1);
    assert_string_equal(g.a[0]->key, "fallback:H1|" TEMP_EXE);
    assert_string_equal(g.a[0]->key_field, "host.id,process.executable");
    assert_string_equal(g.a[0]->process_entity_id, "life2"); /* the newest member (10th beat) */
    assert_null(strstr(g.a[0]->reason, "(entity "));
    assert_int_equal(delivered(&h, NULL), 0);
    got_free(&g);
    got_free(&h);
    t1071_free(ctx);
    t1071_free(nofb);

    ctx = tuned_ctx((const char *const[]){"tuning.emit_suppressed", "true", NULL});
    for (int i = 0; i < 20; i++)
        for (int p = 0; p < 3; p++) {
            char ent[16];
            snprintf(ent, sizeof(ent), "agent%d", p);
            struct conn c = {T0 + i * INT64_C(5100) + p * 1700, ent, TEMP_EXE, "H1",
                             "203.0.113.61", 443, NULL};
            feed_conn(ctx, &c);
        }
    drain(ctx, &g);
    assert_int_equal(delivered(&g, NULL), 3);
    assert_int_equal(delivered(&g, "fallback:H1|" TEMP_EXE), 0);
    assert_true(with_reason(&g, "fallback_concurrent") > 0);
    got_free(&g);
    t1071_free(ctx);
}

/* Issue 13: a short-lived benign process and, right after it, an implant
 * in another process of the same executable look like one program
 * restarting.  They share no destination: the fallback key must not join
 * them (fallback_unrelated), and only the implant's own key alerts. */
static void
test_tuned_fallback_key_does_not_join_unrelated_processes(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"tuning.emit_suppressed", "true", NULL});
    struct got g = {0};
    int64_t t = T0;

    (void)state;
    for (int i = 0; i < 8; i++, t += 60000) { /* the benign process: 8 polls, then exits */
        struct conn c = {t, "svc", TEMP_EXE, "H1", "203.0.113.70", 443, NULL};
        feed_conn(ctx, &c);
    }
    for (int i = 0; i < 30; i++, t += 60000) { /* the implant, another C2 */
        struct conn c = {t, "implant", TEMP_EXE, "H1", "203.0.113.71", 443, NULL};
        feed_conn(ctx, &c);
    }
    drain(ctx, &g);
    assert_true(delivered(&g, "implant") >= 1);
    assert_int_equal(delivered(&g, "fallback:H1|" TEMP_EXE), 0);
    assert_int_equal(delivered(&g, "svc"), 0);
    assert_true(with_reason(&g, "fallback_unrelated") > 0);
    /* and no fallback alert is scored on the key aggregate */
    for (size_t i = 0; i < g.n; i++)
        if (!strncmp(g.a[i]->key, "fallback:", 9) && g.a[i]->beacon)
            assert_string_not_equal(g.a[i]->beacon->scope, "key");
    got_free(&g);
    t1071_free(ctx);

    /* One event of another process, then the implant, same C2: the
     * sequence of that event and the implant's first 9 has its evidence
     * from the implant alone, whose own key alerts one event later. */
    ctx = tuned_ctx((const char *const[]){"tuning.emit_suppressed", "true", NULL});
    t = T0;
    {
        struct conn c = {t, "other", TEMP_EXE, "H1", "203.0.113.72", 443, NULL};
        feed_conn(ctx, &c);
        t += 60000;
    }
    for (int i = 0; i < 12; i++, t += 60000) {
        struct conn c = {t, "implant", TEMP_EXE, "H1", "203.0.113.72", 443, NULL};
        feed_conn(ctx, &c);
    }
    drain(ctx, &g);
    assert_int_equal(delivered(&g, "fallback:H1|" TEMP_EXE), 0);
    assert_int_equal(delivered(&g, "implant"), 1);
    got_free(&g);
    t1071_free(ctx);
}

/* Issue 13: repeated reports of one flow (Packetbeat, every 10 s; one
 * network.community_id) count once for the score; the faithful rule
 * still counts every report, as Elasticsearch does. */
static void
feed_flow_report(t1071_ctx *ctx, int64_t ts, const char *cid)
{
    char json[1024];
    int64_t s = ts / 1000;
    snprintf(json, sizeof(json),
             "{\"@timestamp\":\"2024-01-01T%02d:%02d:%02d.%03dZ\",\"event\":{\"category\":"
             "[\"network\"],\"type\":[\"connection\"]},\"network\":{\"direction\":\"egress\","
             "\"community_id\":\"%s\"},\"destination\":{\"ip\":\"203.0.113.80\",\"port\":443},"
             "\"process\":{\"entity_id\":\"P\",\"name\":\"p\",\"executable\":\"/usr/bin/p\"},"
             "\"host\":{\"id\":\"H\"}}",
             (int)(s % 86400 / 3600), (int)(s % 3600 / 60), (int)(s % 60), (int)(ts % 1000), cid);
    assert_int_equal(t1071_feed_json(ctx, json, strlen(json)), T1071_OK);
}

static void
test_flow_reports_count_once_for_the_score(void **state)
{
    (void)state;
    for (int with_cid = 0; with_cid < 2; with_cid++) {
        t1071_config *cfg = NULL;
        t1071_ctx *ctx = NULL;
        struct got g = {0};
        assert_int_equal(t1071_config_new(&cfg), T1071_OK);
        assert_int_equal(t1071_init(&ctx, cfg), T1071_OK); /* faithful */
        t1071_config_free(cfg);
        /* one 20-minute flow reported every 10 s */
        for (int i = 0; i < 120; i++)
            feed_flow_report(ctx, T0 + 3600000 + i * INT64_C(10000),
                             with_cid ? "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=" : "");
        t1071_advance(ctx, INT64_MAX);
        drain(ctx, &g);
        assert_int_equal(g.n, 111); /* every report counts toward runs */
        double best = 0;
        for (size_t i = 0; i < g.n; i++)
            if (g.a[i]->beacon && g.a[i]->beacon->score > best)
                best = g.a[i]->beacon->score;
        if (with_cid)
            assert_true(best < 0.3); /* one flow, not a 10 s beacon */
        else
            assert_true(best >= 0.8); /* without a flow id, the reports look like beats */
        got_free(&g);
        t1071_free(ctx);
    }
}

/* The flows a key remembers are state: a snapshot taken in the middle
 * of a long flow's reports restores them, and the run continues exactly
 * (same alert bytes as without the snapshot). */
static void
test_flow_reports_survive_a_snapshot(void **state)
{
    t1071_config *cfg = NULL;
    t1071_ctx *a = NULL, *b = NULL, *c = NULL;
    t1071_buffer *snap = NULL;
    struct got ga = {0}, gb = {0};
    char cid[32];

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "engine.hash_seed", "9"), T1071_OK);
    assert_int_equal(t1071_init(&a, cfg), T1071_OK);
    assert_int_equal(t1071_init(&b, cfg), T1071_OK);
    t1071_config_free(cfg);
    for (int i = 0; i < 200; i++) {
        /* flows of 12 reports each, every 10 s, a new flow each 2 min */
        snprintf(cid, sizeof(cid), "1:flow%d", i / 12);
        int64_t ts = T0 + 3600000 + i * INT64_C(10000);
        feed_flow_report(a, ts, cid);
        feed_flow_report(b, ts, cid);
        if (i == 101) {
            /* undelivered alerts travel in the snapshot */
            assert_int_equal(t1071_snapshot(b, &snap), T1071_OK);
            t1071_free(b);
            assert_int_equal(t1071_restore(&c, t1071_buffer_data(snap), t1071_buffer_size(snap)),
                             T1071_OK);
            t1071_buffer_free(snap);
            b = c;
        }
    }
    drain(a, &ga);
    drain(b, &gb);
    assert_int_equal(ga.n, 191);
    assert_int_equal(ga.n, gb.n);
    for (size_t i = 0; i < ga.n; i++) {
        assert_non_null(ga.a[i]->beacon);
        assert_true(ga.a[i]->beacon->score == gb.a[i]->beacon->score);
        assert_true(ga.a[i]->beacon->events == gb.a[i]->beacon->events);
    }
    /* each flow counted once: the last alert's pair saw 17 flows, not 200 */
    assert_true(ga.a[ga.n - 1]->beacon->events <= 17);
    got_free(&ga);
    got_free(&gb);
    t1071_free(a);
    t1071_free(b);
}

/* Issue 13: the tuned profile runs on every port; the score decides. */
static void
test_tuned_any_port(void **state)
{
    t1071_ctx *ctx = tuned_ctx(NULL);
    struct got g = {0};

    (void)state;
    for (int i = 0; i < 30; i++) {
        struct conn c = {T0 + i * INT64_C(60000), "rat", TEMP_EXE, "H1", "203.0.113.90", 31337,
                         NULL};
        feed_conn(ctx, &c);
    }
    drain(ctx, &g);
    assert_int_equal(delivered(&g, "rat"), 1);
    got_free(&g);
    t1071_free(ctx);
}

/* Regression: a host's forged first event (400 days ahead) is taken back
 * out of every key it joined once the next event exposes it, the fallback
 * key included: no alert may carry it. */
static void
test_tuned_fallback_key_retracts_forged_first_event(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"tuning.emit_suppressed", "true", NULL});
    struct got g = {0};
    struct conn forged = {T0 + INT64_C(400) * 86400000, "life-x", TEMP_EXE, "H1", "203.0.113.60",
                          443, NULL};

    (void)state;
    feed_conn(ctx, &forged);
    for (int i = 0; i < 40; i++) {
        char ent[16];
        snprintf(ent, sizeof(ent), "life%d", i / 4);
        struct conn c = {T0 + i * INT64_C(60000), ent, TEMP_EXE, "H1", "203.0.113.60", 443, NULL};
        feed_conn(ctx, &c);
    }
    drain(ctx, &g);
    assert_true(tu_stat(ctx, T1071_STAT_EVENTS_SUSPECT) > 0);
    assert_int_equal(delivered(&g, "fallback:H1|" TEMP_EXE), 1);
    for (size_t i = 0; i < g.n; i++)
        for (size_t m = 0; m < g.a[i]->n_members; m++)
            assert_true(g.a[i]->members[m]->timestamp_ms < forged.ts);
    got_free(&g);
    t1071_free(ctx);
}

/* ===== Suppression ===== */

/* 120 beats in 2 h: 111 sequences.  One alert per hour per key; the second
 * stands for itself and the 59 sequences suppressed before it. */
static void
test_tuned_one_alert_per_key_per_period(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"tuning.score_threshold", "0", NULL});
    struct got g = {0};

    (void)state;
    beacon(ctx, "E", TEMP_EXE, "H1", 120, 60000, 0, 0);
    drain(ctx, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.a[0]->tuning->sequences, 1);
    assert_int_equal(g.a[1]->tuning->sequences, 60);
    assert_int_equal(g.a[1]->last_ms - g.a[0]->last_ms, 60 * INT64_C(60000));
    /* 109 by the period, and the fallback key's 111 shadows of the same
     * process's sequences */
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS_SUPPRESSED), 109 + 111);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS), 2);
    got_free(&g);
    t1071_free(ctx);
}

/* ===== Filter additions of the profile ===== */

static void
test_tuned_ipv6_private_excluded_and_extra_ports(void **state)
{
    static const char *const ips[] = {"::1", "fe80::1", "fd12:3456::1", "::ffff:10.1.2.3",
                                      "::ffff:192.168.1.1"};
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"tuning.score_threshold", "0", NULL});
    t1071_ctx *faithful = tu_ctx_new(NULL);
    struct got g = {0}, f = {0};

    (void)state;
    for (int i = 0; i < 12; i++) {
        for (size_t k = 0; k < sizeof(ips) / sizeof(ips[0]); k++) {
            char ent[16];
            snprintf(ent, sizeof(ent), "v6-%zu", k);
            struct conn c = {T0 + i * INT64_C(60000), ent, TEMP_EXE, "H1", ips[k], 443, NULL};
            feed_conn(ctx, &c);
        }
        struct conn irc = {T0 + i * INT64_C(60000), "irc", TEMP_EXE, "H1", "2001:db8::5", 6667,
                           NULL};
        feed_conn(ctx, &irc);
        feed_conn(faithful, &irc);
    }
    drain(ctx, &g);
    drain(faithful, &f);
    assert_int_equal(delivered(&g, NULL), 1);
    assert_string_equal(g.a[0]->key, "irc");
    assert_string_equal(g.a[0]->beacon->destination, "[2001:db8::5]:6667");
    assert_int_equal(f.n, 0); /* 6667 is not one of the seed's ports */
    got_free(&g);
    got_free(&f);
    t1071_free(ctx);
    t1071_free(faithful);
}

/* ===== Bounded memory ===== */

/* A key spraying 500 destinations keeps at most beacon.max_destinations
 * pairs: memory stops growing with destinations. */
static void
test_beacon_state_bounded_per_key(void **state)
{
    t1071_ctx *ctx = tu_ctx_new((const char *const[]){"beacon.max_destinations", "8", NULL});
    uint64_t at100 = 0;

    (void)state;
    for (int i = 0; i < 500; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "198.51.%d.%d", 100 + i / 250, i % 250 + 1);
        for (int k = 0; k < 6; k++) {
            struct conn c = {T0 + (i * 6 + k) * INT64_C(1000), "spray", TEMP_EXE, "H1", ip, 443,
                             NULL};
            feed_conn(ctx, &c);
        }
        if (i == 99) {
            t1071_alert_batch *b = NULL;
            t1071_poll_alerts(ctx, &b);
            t1071_alert_batch_free(b);
            at100 = tu_stat(ctx, T1071_STAT_MEMORY_BYTES);
        }
        if (i > 99) {
            t1071_alert_batch *b = NULL;
            t1071_poll_alerts(ctx, &b);
            t1071_alert_batch_free(b);
        }
    }
    assert_true(at100 > 0);
    /* 400 more destinations, ~100+ bytes each unbounded: only the lengths
     * of the destinations kept differ */
    assert_true(tu_stat(ctx, T1071_STAT_MEMORY_BYTES) < at100 + 256);
    t1071_free(ctx);
}

/* ===== Real lab captures (tests/integration/fixtures/real) ===== */

static void
feed_file(t1071_ctx *ctx, const char *path)
{
    size_t len;
    char *data = tu_read_file(path, &len), *line, *save = NULL;

    assert_non_null(data);
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        (void)t1071_feed_json(ctx, line, strlen(line));
    free(data);
}

/* Internal destinations scored (pivot / enclave C2): exactly the three
 * Empire PowerShell agents alert, each with score >= 0.8. */
static void
test_real_empire_tuned_alerts_the_three_agents(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"rule.exclude_cidrs", "", NULL});
    t1071_ctx *faithful = tu_ctx_new(NULL);
    struct got g = {0}, f = {0};
    const char *keys[3] = {NULL, NULL, NULL};
    size_t nk = 0;

    (void)state;
    feed_file(ctx, T1071_FIXTURES "/real/mordor-empire-ikeext.ecs.ndjson");
    feed_file(faithful, T1071_FIXTURES "/real/mordor-empire-ikeext.ecs.ndjson");
    drain(ctx, &g);
    drain(faithful, &f);
    assert_int_equal(f.n, 0); /* the C2 is RFC 1918: the rule as written is blind */
    for (size_t i = 0; i < g.n; i++) {
        const tu_alert *a = g.a[i];
        size_t k;
        assert_false(a->tuning->suppressed);
        assert_true(a->beacon->score >= 0.8);
        assert_string_equal(a->process_name, "powershell.exe");
        assert_string_equal(a->members[a->n_members - 1]->destination_ip, "10.0.10.106");
        for (k = 0; k < nk; k++)
            if (!strcmp(keys[k], a->key))
                break;
        if (k == nk) {
            assert_true(nk < 3);
            keys[nk++] = a->key;
        }
    }
    assert_int_equal(nk, 3);
    got_free(&g);
    got_free(&f);
    t1071_free(ctx);
    t1071_free(faithful);
}

/* Benign Edge browsing: the faithful rule fires, tuned does not; with the
 * allowlists emptied its best beacon score is still below the threshold. */
static void
test_real_covenant_browser_not_alerted(void **state)
{
    t1071_ctx *ctx = tuned_ctx(NULL);
    t1071_ctx *open_ = tuned_ctx((const char *const[]){
        "tuning.allow_executables", "", "tuning.emit_suppressed", "true", "tuning.suppress_period",
        "0", NULL});
    t1071_ctx *faithful = tu_ctx_new(NULL);
    struct got g = {0}, o = {0}, f = {0};
    double best = 0;

    (void)state;
    feed_file(ctx, T1071_FIXTURES "/real/mordor-covenant-iertutil.ecs.ndjson");
    feed_file(open_, T1071_FIXTURES "/real/mordor-covenant-iertutil.ecs.ndjson");
    feed_file(faithful, T1071_FIXTURES "/real/mordor-covenant-iertutil.ecs.ndjson");
    drain(ctx, &g);
    drain(open_, &o);
    drain(faithful, &f);
    assert_true(f.n > 0);
    for (size_t i = 0; i < f.n; i++)
        assert_string_equal(f.a[i]->process_name, "MicrosoftEdgeCP.exe");
    assert_int_equal(g.n, 0);
    assert_int_equal(delivered(&o, NULL), 0);
    assert_true(o.n > 0);
    for (size_t i = 0; i < o.n; i++)
        if (o.a[i]->beacon->score > best)
            best = o.a[i]->beacon->score;
    assert_true(best < 0.8); /* tuned.ini's tuning.score_threshold */
    got_free(&g);
    got_free(&o);
    got_free(&f);
    t1071_free(ctx);
    t1071_free(open_);
    t1071_free(faithful);
}

/* Zeek flows with derive (flow keys, perimeter directions) and the lab's
 * home network: the day-2 PoshC2 beacon (10.0.1.5 -> 192.168.0.4:443)
 * alerts with score >= 0.8; the day-1 session to :8443 is interactive
 * (sub-second ramps, no period) and scores 0; nothing else alerts. */
static void
test_real_apt29_flows_tuned(void **state)
{
    t1071_ctx *ctx = tuned_ctx((const char *const[]){"rule.derive", "true", "rule.exclude_cidrs",
                                                     "", "rule.home_networks", "10.0.0.0/8",
                                                     "tuning.emit_suppressed", "true", NULL});
    struct got g = {0};
    double best6 = 0;

    (void)state;
    feed_file(ctx, T1071_FIXTURES "/real/mordor-apt29-zeek.ecs.ndjson");
    drain(ctx, &g);
    assert_true(delivered(&g, "flow:10.0.1.5") >= 1);
    assert_int_equal(delivered(&g, NULL), delivered(&g, "flow:10.0.1.5"));
    for (size_t i = 0; i < g.n; i++) {
        const tu_alert *a = g.a[i];
        if (!a->tuning->suppressed)
            assert_true(a->beacon->score >= 0.8);
        if (!strcmp(a->key, "flow:10.0.1.6") && a->beacon->score > best6)
            best6 = a->beacon->score;
    }
    assert_true(best6 < 0.8);
    got_free(&g);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faithful_alerts_carry_the_beacon_score),
        cmocka_unit_test(test_beacon_disabled_same_alerts_no_score),
        cmocka_unit_test(test_json_alert_has_beacon_fields),
        cmocka_unit_test(test_tuned_name_alone_never_allowlists),
        cmocka_unit_test(test_tuned_without_score_still_tunes),
        cmocka_unit_test(test_tuned_destination_allowlists),
        cmocka_unit_test(test_tuned_config_refuses_bare_names),
        cmocka_unit_test(test_tuned_heartbeat_only_for_known_agents),
        cmocka_unit_test(test_tuned_prevalence_lowers_then_suppresses),
        cmocka_unit_test(test_tuned_fallback_key_catches_restarting_implant),
        cmocka_unit_test(test_tuned_fallback_key_retracts_forged_first_event),
        cmocka_unit_test(test_tuned_fallback_key_does_not_join_unrelated_processes),
        cmocka_unit_test(test_flow_reports_count_once_for_the_score),
        cmocka_unit_test(test_flow_reports_survive_a_snapshot),
        cmocka_unit_test(test_tuned_any_port),
        cmocka_unit_test(test_tuned_one_alert_per_key_per_period),
        cmocka_unit_test(test_tuned_ipv6_private_excluded_and_extra_ports),
        cmocka_unit_test(test_beacon_state_bounded_per_key),
        cmocka_unit_test(test_real_empire_tuned_alerts_the_three_agents),
        cmocka_unit_test(test_real_covenant_browser_not_alerted),
        cmocka_unit_test(test_real_apt29_flows_tuned),
    };
    return cmocka_run_group_tests_name("tuning", tests, NULL, NULL);
}
