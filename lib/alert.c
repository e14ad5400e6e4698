/* SPDX-License-Identifier: Apache-2.0 */
/* Alerts: build the protobuf Alert for a completed sequence (rule
 * metadata, MITRE mapping from the members' ports, deterministic group id,
 * members, destinations, reason) and render it as Elastic-shaped ECS JSON.
 * Nothing here reads the clock: the same sequence gives the same bytes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "rule.h"
#include "t1071-private.h"

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

int
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
                             t1071i_rule_direction(cfg), t1071i_rule_direction(cfg)[0] ? " " : "",
                             dest_text, span);
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

/* ===== JSON ===== */

void
t1071i_json_append_string(GString *out, const char *s, size_t n, bool ascii)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    g_string_append_c(out, '"');
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': g_string_append(out, "\\\""); break;
            case '\\': g_string_append(out, "\\\\"); break;
            case '\n': g_string_append(out, "\\n"); break;
            case '\r': g_string_append(out, "\\r"); break;
            case '\t': g_string_append(out, "\\t"); break;
            case '\b': g_string_append(out, "\\b"); break;
            case '\f': g_string_append(out, "\\f"); break;
            default:
                if (c < 0x20 || c == 0x7f)
                    g_string_append_printf(out, "\\u%04x", c);
                else
                    g_string_append_c(out, (char)c);
            }
            p++;
            continue;
        }
        {
            const gchar *next;
            gunichar u = g_utf8_get_char_validated((const gchar *)p, (gssize)(end - p));
            if (u == (gunichar)-1 || u == (gunichar)-2) {
                u = 0xfffd;
                next = (const gchar *)p + 1;
            } else {
                next = g_utf8_next_char(p);
            }
            if (ascii || u == 0x2028 || u == 0x2029 || (u >= 0x80 && u < 0xa0) || u == 0xfffd) {
                if (u >= 0x10000) {
                    u -= 0x10000;
                    g_string_append_printf(out, "\\u%04x\\u%04x", 0xd800 + (u >> 10),
                                           0xdc00 + (u & 0x3ff));
                } else {
                    g_string_append_printf(out, "\\u%04x", u);
                }
            } else {
                g_string_append_len(out, (const gchar *)p, (gssize)(next - (const gchar *)p));
            }
            p = (const unsigned char *)next;
        }
    }
    g_string_append_c(out, '"');
}

static void
jstr(GString *o, const char *s)
{
    if (s)
        t1071i_json_append_string(o, s, strlen(s), false);
    else
        g_string_append(o, "null");
}

static void
jkey(GString *o, const char *k)
{
    jstr(o, k);
    g_string_append_c(o, ':');
}

static void
jtime(GString *o, int64_t ms)
{
    char t[32];
    t1071i_format_time(ms, t);
    jstr(o, t);
}

static void
render_threat(GString *o, const T1071__Ecs__V1__AlertThreat *t)
{
    g_string_append(o, "[{");
    jkey(o, "framework"); jstr(o, t->framework);
    g_string_append(o, ",\"tactic\":{");
    jkey(o, "id"); jstr(o, t->tactic_id);
    g_string_append_c(o, ','); jkey(o, "name"); jstr(o, t->tactic_name);
    g_string_append_c(o, ','); jkey(o, "reference"); jstr(o, t->tactic_reference);
    g_string_append(o, "},\"technique\":[{");
    jkey(o, "id"); jstr(o, t->technique_id);
    g_string_append_c(o, ','); jkey(o, "name"); jstr(o, t->technique_name);
    g_string_append_c(o, ','); jkey(o, "reference"); jstr(o, t->technique_reference);
    g_string_append(o, ",\"subtechnique\":[");
    for (size_t i = 0; i < t->n_subtechnique; i++) {
        const T1071__Ecs__V1__AlertSubtechnique *s = t->subtechnique[i];
        g_string_append(o, i ? ",{" : "{");
        jkey(o, "id"); jstr(o, s->id);
        g_string_append_c(o, ','); jkey(o, "name"); jstr(o, s->name);
        g_string_append_c(o, ','); jkey(o, "reference"); jstr(o, s->reference);
        g_string_append_c(o, '}');
    }
    g_string_append(o, "]}]}]");
}

int
t1071i_alert_render_json(const uint8_t *pb, size_t len, char **json, size_t *json_len)
{
    T1071__Ecs__V1__Alert *a = t1071__ecs__v1__alert__unpack(NULL, len, pb);
    GString *o;

    *json = NULL;
    *json_len = 0;
    if (!a)
        return T1071_E_DECODE;
    o = g_string_sized_new(2048);
    g_string_append_c(o, '{');
    jkey(o, "@timestamp"); jtime(o, a->last_ms);
    g_string_append(o, ",\"event\":{\"kind\":\"signal\"}");
    g_string_append(o, ",\"kibana\":{\"alert\":{");
    jkey(o, "original_time"); jtime(o, a->first_ms);
    g_string_append_c(o, ','); jkey(o, "severity"); jstr(o, a->severity);
    g_string_append_printf(o, ",\"risk_score\":%" PRId32, a->risk_score);
    g_string_append_c(o, ','); jkey(o, "reason"); jstr(o, a->reason);
    g_string_append(o, ",\"group\":{"); jkey(o, "id"); jstr(o, a->group_id);
    g_string_append(o, "},\"rule\":{");
    jkey(o, "name"); jstr(o, a->rule_name);
    g_string_append_c(o, ','); jkey(o, "rule_id"); jstr(o, a->rule_id);
    g_string_append_c(o, ','); jkey(o, "type"); jstr(o, a->rule_type);
    g_string_append_c(o, ','); jkey(o, "severity"); jstr(o, a->severity);
    g_string_append_printf(o, ",\"risk_score\":%" PRId32, a->risk_score);
    if (a->threat) {
        g_string_append(o, ",\"threat\":");
        render_threat(o, a->threat);
    }
    g_string_append(o, "}}}");
    g_string_append(o, ",\"process\":{");
    jkey(o, "entity_id"); jstr(o, a->process_entity_id);
    g_string_append_c(o, ','); jkey(o, "name"); jstr(o, a->process_name);
    if (a->process_executable) {
        g_string_append_c(o, ','); jkey(o, "executable"); jstr(o, a->process_executable);
    }
    g_string_append(o, "},\"host\":{");
    jkey(o, "name"); jstr(o, a->host_name);
    if (a->host_id) {
        g_string_append_c(o, ','); jkey(o, "id"); jstr(o, a->host_id);
    }
    g_string_append(o, "},\"t1071\":{");
    jkey(o, "profile"); jstr(o, a->profile);
    g_string_append_c(o, ','); jkey(o, "key"); jstr(o, a->key);
    g_string_append_c(o, ','); jkey(o, "key_field"); jstr(o, a->key_field);
    g_string_append_printf(o, ",\"sequence_number\":%" PRIu64, a->sequence_number);
    g_string_append(o, ",\"event_ids\":[");
    for (size_t i = 0; i < a->n_members; i++) {
        if (i)
            g_string_append_c(o, ',');
        jstr(o, a->members[i]->event_id);
    }
    g_string_append(o, "],\"destinations\":[");
    for (size_t i = 0; i < a->n_destinations; i++) {
        const T1071__Ecs__V1__AlertDestination *d = a->destinations[i];
        g_string_append(o, i ? ",{" : "{");
        jkey(o, "ip"); jstr(o, d->ip);
        g_string_append_printf(o, ",\"port\":%" PRId64, d->port);
        if (d->domain) {
            g_string_append_c(o, ','); jkey(o, "domain"); jstr(o, d->domain);
        }
        g_string_append_printf(o, ",\"count\":%" PRIu32 "}", d->count);
    }
    g_string_append(o, "]}}");
    t1071__ecs__v1__alert__free_unpacked(a, NULL);
    *json_len = o->len;
    *json = g_string_free(o, FALSE);
    return T1071_OK;
}
