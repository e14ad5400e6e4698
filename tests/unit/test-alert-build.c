/* SPDX-License-Identifier: Apache-2.0 */
/* The alert builder against its original implementation (protobuf-c
 * packer, GChecksum, printf; copied below from commit cd590a2 as
 * ref_alert_build): on random sequences (missing and IPv6 addresses,
 * domains, compound keys, 1..20 members, any direction and key field) the
 * bytes must be identical, so group ids, reasons and every field stay what
 * users and snapshots already hold. */
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

#include "alert/alert-pack.h"
#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

#define t1071i_alert_build ref_alert_build
/* ===== MITRE ATT&CK ===== */

struct subtech {
    const char *id, *name, *ref;
};

static const struct subtech subtechs[] = {
    {"T1071.001", "Web Protocols", "https://attack.mitre.org/techniques/T1071/001/"},
    {"T1071.002", "File Transfer Protocols", "https://attack.mitre.org/techniques/T1071/002/"},
    {"T1071.003", "Mail Protocols", "https://attack.mitre.org/techniques/T1071/003/"},
    {"T1071.004", "DNS", "https://attack.mitre.org/techniques/T1071/004/"},
    {"T1071.005", "Publish/Subscribe Protocols",
     "https://attack.mitre.org/techniques/T1071/005/"},
};

/* Index into subtechs[] implied by a port, or -1. */
static int
subtech_of_port(int64_t port)
{
    switch (port) {
    case 80: case 443: case 8080: case 8443: return 0;
    case 21: return 1;
    case 25: case 110: case 143: return 2;
    case 53: return 3;
    case 1883: case 5222: return 4;
    default: return -1;
    }
}

/* ===== Helpers ===== */

static void
format_span(int64_t ms, char out[48])
{
    int64_t s = ms / 1000;
    int64_t d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;

    if (ms < 1000)
        snprintf(out, 48, "%" PRId64 "ms", ms);
    else if (d)
        h ? snprintf(out, 48, "%" PRId64 "d%" PRId64 "h", d, h)
          : snprintf(out, 48, "%" PRId64 "d", d);
    else if (h)
        m ? snprintf(out, 48, "%" PRId64 "h%" PRId64 "m", h, m)
          : snprintf(out, 48, "%" PRId64 "h", h);
    else if (m)
        sec ? snprintf(out, 48, "%" PRId64 "m%" PRId64 "s", m, sec)
            : snprintf(out, 48, "%" PRId64 "m", m);
    else
        snprintf(out, 48, "%" PRId64 "s", sec);
}

static bool
str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* A printable version of a key: compound keys use U+001F between fields. */
static char *
display(const char *s)
{
    return s ? g_strdelimit(g_strdup(s), "\x1f", '|') : g_strdup("?");
}

/* ===== Build ===== */

static int
t1071i_alert_build(const struct t1071_config *cfg, const char *key,
                   struct t1071i_pev *const *members, size_t n, uint64_t seqno,
                   uint8_t **out, size_t *out_len)
{
    T1071__Ecs__V1__Alert a = T1071__ECS__V1__ALERT__INIT;
    T1071__Ecs__V1__AlertThreat threat = T1071__ECS__V1__ALERT_THREAT__INIT;
    T1071__Ecs__V1__AlertSubtechnique st[G_N_ELEMENTS(subtechs)];
    T1071__Ecs__V1__AlertSubtechnique *stp[G_N_ELEMENTS(subtechs)];
    T1071__Ecs__V1__AlertMember *mem = g_new(T1071__Ecs__V1__AlertMember, n);
    T1071__Ecs__V1__AlertMember **memp = g_new(T1071__Ecs__V1__AlertMember *, n);
    T1071__Ecs__V1__AlertDestination *dst = g_new(T1071__Ecs__V1__AlertDestination, n);
    T1071__Ecs__V1__AlertDestination **dstp = g_new(T1071__Ecs__V1__AlertDestination *, n);
    bool seen[G_N_ELEMENTS(subtechs)] = {false};
    const struct t1071i_pev *last = members[n - 1];
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    char span[48], tsbuf[32], *reason, *kdisp, *dest_text;
    size_t nd = 0, ns = 0;

    /* Members and destinations (in order of first appearance). */
    for (size_t i = 0; i < n; i++) {
        const struct t1071i_pev *p = members[i];
        int s = subtech_of_port(p->port);
        size_t d;

        t1071__ecs__v1__alert_member__init(&mem[i]);
        mem[i].event_id = (char *)p->id;
        mem[i].has_timestamp_ms = true;
        mem[i].timestamp_ms = p->ts;
        mem[i].destination_ip = (char *)p->ip;
        mem[i].has_destination_port = true;
        mem[i].destination_port = p->port;
        mem[i].destination_domain = (char *)p->domain;
        memp[i] = &mem[i];
        if (s >= 0)
            seen[s] = true;

        for (d = 0; d < nd; d++)
            if (str_eq(dst[d].ip, p->ip) && dst[d].port == p->port &&
                str_eq(dst[d].domain, p->domain))
                break;
        if (d == nd) {
            t1071__ecs__v1__alert_destination__init(&dst[d]);
            dst[d].ip = (char *)p->ip;
            dst[d].has_port = true;
            dst[d].port = p->port;
            dst[d].domain = (char *)p->domain;
            dst[d].has_count = true;
            dstp[d] = &dst[d];
            nd++;
        }
        dst[d].count++;

        /* Group id: rule, key, and every member's id and time. */
        g_checksum_update(sum, (const guchar *)p->id, (gssize)strlen(p->id) + 1);
        snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, p->ts);
        g_checksum_update(sum, (const guchar *)tsbuf, (gssize)strlen(tsbuf) + 1);
    }
    g_checksum_update(sum, (const guchar *)cfg->rule_id, (gssize)strlen(cfg->rule_id) + 1);
    g_checksum_update(sum, (const guchar *)key, (gssize)strlen(key) + 1);

    for (size_t i = 0; i < G_N_ELEMENTS(subtechs); i++) {
        if (!seen[i])
            continue;
        t1071__ecs__v1__alert_subtechnique__init(&st[ns]);
        st[ns].id = (char *)subtechs[i].id;
        st[ns].name = (char *)subtechs[i].name;
        st[ns].reference = (char *)subtechs[i].ref;
        stp[ns] = &st[ns];
        ns++;
    }
    threat.framework = (char *)"MITRE ATT&CK";
    threat.tactic_id = (char *)"TA0011";
    threat.tactic_name = (char *)"Command and Control";
    threat.tactic_reference = (char *)"https://attack.mitre.org/tactics/TA0011/";
    threat.technique_id = (char *)"T1071";
    threat.technique_name = (char *)"Application Layer Protocol";
    threat.technique_reference = (char *)"https://attack.mitre.org/techniques/T1071/";
    threat.n_subtechnique = ns;
    threat.subtechnique = stp;

    a.rule_id = cfg->rule_id;
    a.rule_name = cfg->name;
    a.rule_type = (char *)"eql";
    a.severity = cfg->severity;
    a.has_risk_score = true;
    a.risk_score = cfg->risk_score;
    a.threat = &threat;
    a.group_id = (char *)g_checksum_get_string(sum);
    a.key = (char *)key;
    a.host_name = (char *)last->host_name;
    a.host_id = (char *)last->host_id;
    if (cfg->n_key_fields == 1 && cfg->key_fields[0] == T1071I_F_PROCESS_ENTITY_ID)
        a.process_entity_id = (char *)key;
    a.process_name = (char *)last->pname;
    a.process_executable = (char *)last->exe;
    a.has_first_ms = true;
    a.first_ms = members[0]->ts;
    a.has_last_ms = true;
    a.last_ms = last->ts;
    a.n_members = n;
    a.members = memp;
    a.n_destinations = nd;
    a.destinations = dstp;
    a.profile = cfg->profile;
    a.has_sequence_number = true;
    a.sequence_number = seqno;

    {
        GString *kf = g_string_new(NULL);
        for (size_t i = 0; i < cfg->n_key_fields; i++)
            g_string_append_printf(kf, "%s%s", i ? "," : "",
                                   t1071i_field_name(cfg->key_fields[i]));
        a.key_field = g_string_free(kf, FALSE);
    }

    format_span(last->ts - members[0]->ts, span);
    kdisp = display(key);
    if (nd == 1) {
        const char *host = dst[0].domain ? dst[0].domain : dst[0].ip ? dst[0].ip : "?";
        dest_text = strchr(host, ':') && !dst[0].domain
                        ? g_strdup_printf("[%s]:%" PRId64, host, dst[0].port)
                        : g_strdup_printf("%s:%" PRId64, host, dst[0].port);
    } else {
        dest_text = g_strdup_printf("%zu destinations", nd);
    }
    reason = g_strdup_printf("%s (%s %s) on %s made %zu %s%sconnections to %s within %s",
                             last->pname ? last->pname : "unknown process",
                             cfg->n_key_fields == 1 &&
                                     cfg->key_fields[0] == T1071I_F_PROCESS_ENTITY_ID
                                 ? "entity"
                                 : "key",
                             kdisp, last->host_name ? last->host_name : "unknown host", n,
                             cfg->filter.direction, cfg->filter.direction[0] ? " " : "", dest_text, span);
    a.reason = reason;

    *out_len = t1071__ecs__v1__alert__get_packed_size(&a);
    *out = g_malloc(*out_len ? *out_len : 1);
    t1071__ecs__v1__alert__pack(&a, *out);

    g_free(a.key_field);
    g_free(reason);
    g_free(kdisp);
    g_free(dest_text);
    g_checksum_free(sum);
    g_free(mem);
    g_free(memp);
    g_free(dst);
    g_free(dstp);
    return T1071_OK;
}

#undef t1071i_alert_build

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static const char *
pick(uint64_t *s, const char *const *v, size_t n)
{
    return v[rnd(s) % n];
}

#define PICK(s, v) pick(s, v, sizeof(v) / sizeof(v[0]))

/* mode 0: t1071i_alert_build_at into a plain g_malloc block.  mode 1: t1071i_alert_build_at as the
 * engine calls it (member lengths known or not, a header before the
 * bytes), spans on and next to unit boundaries. */
static void
alert_build_vs_original(int mode)
{
    static const int64_t spans[] = {0, 1, 999, 1000, 1001, 59000, 59999, 60000, 60999, 61000,
                                    3599999, 3600000, 3601000, 3660000, 86399999, 86400000,
                                    86460000, 90000000, 3 * 86400000 + 1000, 400 * 86400000LL};
    static const char *const ids[] = {"a", "e1", "line:7", "{0b4c-12}", "x\"y", ""};
    static const char *const ips[] = {NULL, "203.0.113.9", "2001:db8::1", "::ffff:1.2.3.4",
                                      "8.8.8.8"};
    static const char *const doms[] = {NULL, NULL, "evil.example", "c2.test", ""};
    static const char *const names[] = {NULL, "rundll32.exe", "", "p y"};
    static const char *const keys[] = {"{ent-1}", "k", "", "host\x1f" "10.0.0.1",
                                       "a\x1f" "b\x1f" "c"};
    static const char *const keycfg[] = {"process.entity_id", "host.name,source.ip",
                                         "process.name", "user.name,host.id,process.name"};
    static const char *const dirs[] = {"egress", "", "ingress"};
    static const int64_t ports[] = {443, 80, 53, 21, 25, 1883, 9999, 0, 65535};
    uint64_t s = 1071 + (uint64_t)mode;

    for (int iter = 0; iter < 4000; iter++) {
        t1071_config *pub = NULL;
        struct t1071_config *cfg;
        struct t1071i_pev pev[20], *mem[20];
        size_t n = 1 + rnd(&s) % 20;
        const char *key = PICK(&s, keys);
        uint8_t *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        int64_t t0 = (int64_t)(rnd(&s) % UINT64_C(253402300799999));
        uint64_t seqno = rnd(&s) >> (rnd(&s) % 64);

        assert_int_equal(t1071_config_new(&pub), T1071_OK);
        assert_int_equal(t1071_config_set(pub, "rule.key", PICK(&s, keycfg)), T1071_OK);
        assert_int_equal(t1071_config_set(pub, "rule.direction", PICK(&s, dirs)), T1071_OK);
        cfg = (struct t1071_config *)pub;
        for (size_t i = 0; i < n; i++) {
            memset(&pev[i], 0, sizeof(pev[i]));
            pev[i].id = PICK(&s, ids);
            pev[i].ts = t0 + (int64_t)(rnd(&s) % (rnd(&s) & 1 ? 1000 : 90000000));
            pev[i].port = ports[rnd(&s) % (sizeof(ports) / sizeof(ports[0]))];
            pev[i].ip = rnd(&s) % 3 ? PICK(&s, ips) : NULL;
            pev[i].domain = PICK(&s, doms);
            pev[i].host_name = rnd(&s) % 4 ? "ws-1" : NULL;
            pev[i].host_id = rnd(&s) % 2 ? "h-1" : NULL;
            pev[i].pname = PICK(&s, names);
            pev[i].exe = rnd(&s) % 2 ? "C:\\x.exe" : NULL;
            mem[i] = &pev[i];
        }
        if (mode == 1 && n > 1 && rnd(&s) % 2) {
            /* first to last exactly a boundary span */
            int64_t sp = spans[rnd(&s) % (sizeof(spans) / sizeof(spans[0]))];
            for (size_t i = 0; i < n; i++)
                pev[i].ts = t0 + (i == n - 1 ? sp : (int64_t)(rnd(&s) % (uint64_t)(sp + 1)));
        }
        /* Members run in time order in the engine; sort to stay realistic. */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && mem[j]->ts < mem[j - 1]->ts; j--) {
                struct t1071i_pev *t = mem[j];
                mem[j] = mem[j - 1];
                mem[j - 1] = t;
            }
        if (mode == 0) {
            assert_int_equal(t1071i_alert_build_at(cfg, key, mem, n, seqno, NULL, NULL, g_malloc, 0, &a, &alen),
                             T1071_OK);
        } else {
            struct t1071i_mlen lens[20];
            size_t head = rnd(&s) % 24;
            uint8_t *blk = NULL;
            for (size_t i = 0; i < n; i++) {
                bool known = rnd(&s) % 4;
                lens[i].id = known ? (uint32_t)strlen(mem[i]->id) + 1 : 0;
                lens[i].ip = known && mem[i]->ip ? (uint32_t)strlen(mem[i]->ip) + 1 : 0;
                lens[i].domain =
                    known && mem[i]->domain ? (uint32_t)strlen(mem[i]->domain) + 1 : 0;
            }
            assert_int_equal(t1071i_alert_build_at(cfg, key, mem, n, seqno, NULL,
                                                   rnd(&s) % 2 ? lens : NULL, g_malloc, head,
                                                   &blk, &alen),
                             T1071_OK);
            a = g_malloc(alen ? alen : 1);
            memcpy(a, blk + head, alen);
            g_free(blk);
        }
        assert_int_equal(ref_alert_build(cfg, key, mem, n, seqno, &b, &blen), T1071_OK);
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
        g_free(a);
        g_free(b);
        t1071_config_free(pub);
    }
}

static void
test_alert_build_equals_original(void **state)
{
    (void)state;
    alert_build_vs_original(0);
}

static void
test_alert_build_at_equals_original(void **state)
{
    (void)state;
    alert_build_vs_original(1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_build_equals_original),
        cmocka_unit_test(test_alert_build_at_equals_original),
    };
    return cmocka_run_group_tests_name("alert-build", tests, NULL, NULL);
}
