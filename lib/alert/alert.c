/* SPDX-License-Identifier: Apache-2.0 */
/* Alerts: build the protobuf Alert for a completed sequence (rule
 * metadata, MITRE mapping from the members' ports, deterministic group id,
 * members, destinations, reason) and render it as Elastic-shaped ECS JSON.
 * Nothing here reads the clock: the same sequence gives the same bytes. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "alert/alert.h"
#include "alert/alert-pack.h"
#include "score/reading.h"
#include "util/sha256.h"
#include "util/timefmt.h"

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

#define SMALL_N 16

/* printf("%" PRId64) without printf: the group id hashes every member's
 * time as decimal text (lib/alert-pack.c). */
#define format_i64 t1071i_format_i64

/* Append the decimal text of @p v and the unit @p u at @p w. */
static char *
span_part(char *w, int64_t v, const char *u)
{
    w += format_i64(v, w);
    while (*u)
        *w++ = *u++;
    *w = '\0';
    return w;
}

/* The same text as the snprintf chain it replaced: "%" PRId64 "ms", then
 * "%dd%dh" / "%dd", "%dh%dm" / "%dh", "%dm%ds" / "%dm", "%ds". */
static void
format_span(int64_t ms, char out[48])
{
    int64_t s = ms / 1000;
    int64_t d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
    char *w = out;

    if (ms < 1000) {
        span_part(w, ms, "ms");
    } else if (d) {
        w = span_part(w, d, "d");
        if (h)
            span_part(w, h, "h");
    } else if (h) {
        w = span_part(w, h, "h");
        if (m)
            span_part(w, m, "m");
    } else if (m) {
        w = span_part(w, m, "m");
        if (sec)
            span_part(w, sec, "s");
    } else {
        span_part(w, sec, "s");
    }
}

/* A string grown in a caller's buffer, moving to the heap when it must
 * (the alert reason: one per alert, almost always short). */
struct sbuf {
    char *p;
    size_t n, cap;
    bool heap;
};

static void
sb_init(struct sbuf *b, char *stack, size_t cap)
{
    b->p = stack;
    b->n = 0;
    b->cap = cap;
    b->heap = false;
    b->p[0] = '\0';
}

static void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap * 2 > b->n + n + 1 ? b->cap * 2 : b->n + n + 1;
        char *np = g_malloc(cap);
        memcpy(np, b->p, b->n);
        if (b->heap)
            g_free(b->p);
        b->p = np;
        b->cap = cap;
        b->heap = true;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

static void
sb_addc(struct sbuf *b, char c)
{
    sb_addn(b, &c, 1);
}

static char *
sb_str(struct sbuf *b)
{
    return b->p;
}

/* ===== Build ===== */

/* The threat block depends only on which subtechniques the members' ports
 * imply (it holds nothing else but constants): packed once per set, per
 * process, and copied into each alert. */
#define THREAT_CAP 1024
#define THREAT_SETS (1u << G_N_ELEMENTS(subtechs))
static size_t threat_len[THREAT_SETS];       /* 0: did not fit */
static uint8_t threat_bytes[THREAT_SETS][THREAT_CAP];
static pthread_once_t threat_once = PTHREAD_ONCE_INIT;

/* The threat block of subtechnique set @p mask; @p st and @p stp hold
 * its subtechniques (room for all). */
static void
threat_fill(unsigned mask, T1071__Ecs__V1__AlertThreat *t, T1071__Ecs__V1__AlertSubtechnique *st,
            T1071__Ecs__V1__AlertSubtechnique **stp)
{
    size_t ns = 0;

    t1071__ecs__v1__alert_threat__init(t);
    for (size_t i = 0; i < G_N_ELEMENTS(subtechs); i++) {
        if (!(mask & (1u << i)))
            continue;
        t1071__ecs__v1__alert_subtechnique__init(&st[ns]);
        st[ns].id = (char *)subtechs[i].id;
        st[ns].name = (char *)subtechs[i].name;
        st[ns].reference = (char *)subtechs[i].ref;
        stp[ns] = &st[ns];
        ns++;
    }
    t->framework = (char *)"MITRE ATT&CK";
    t->tactic_id = (char *)"TA0011";
    t->tactic_name = (char *)"Command and Control";
    t->tactic_reference = (char *)"https://attack.mitre.org/tactics/TA0011/";
    t->technique_id = (char *)"T1071";
    t->technique_name = (char *)"Application Layer Protocol";
    t->technique_reference = (char *)"https://attack.mitre.org/techniques/T1071/";
    t->n_subtechnique = ns;
    t->subtechnique = stp;
}

/* All 32 sets at once, under pthread_once (TSan sees it, unlike GOnce's
 * fast path inside an uninstrumented glib: .ci/test-sanitizers reported
 * the lazy per-set version as a race). */
static void
threat_init(void)
{
    for (unsigned mask = 0; mask < THREAT_SETS; mask++) {
        T1071__Ecs__V1__AlertThreat t;
        T1071__Ecs__V1__AlertSubtechnique st[G_N_ELEMENTS(subtechs)];
        T1071__Ecs__V1__AlertSubtechnique *stp[G_N_ELEMENTS(subtechs)];
        threat_fill(mask, &t, st, stp);
        threat_len[mask] = t1071i_alert_threat_pack(&t, threat_bytes[mask], THREAT_CAP);
    }
}

/* The packed threat block of subtechnique set @p mask, or NULL. */
static const uint8_t *
threat_packed(unsigned mask, size_t *len)
{
    if (pthread_once(&threat_once, threat_init) != 0 || !threat_len[mask])
        return NULL;
    *len = threat_len[mask];
    return threat_bytes[mask];
}

int
t1071i_alert_build_at(const struct t1071_config *cfg, const char *key,
                      struct t1071i_pev *const *members, size_t n, uint64_t seqno,
                      const struct t1071i_judgement *j, const struct t1071i_mlen *lens,
                      void *(*alloc)(size_t), size_t head, uint8_t **out, size_t *out_len)
{
    T1071__Ecs__V1__AlertBeacon beacon = T1071__ECS__V1__ALERT_BEACON__INIT;
    char reading[256];
    T1071__Ecs__V1__AlertTuning tuning = T1071__ECS__V1__ALERT_TUNING__INIT;
    T1071__Ecs__V1__Alert a = T1071__ECS__V1__ALERT__INIT;
    T1071__Ecs__V1__AlertThreat threat = T1071__ECS__V1__ALERT_THREAT__INIT;
    T1071__Ecs__V1__AlertSubtechnique st[G_N_ELEMENTS(subtechs)];
    T1071__Ecs__V1__AlertSubtechnique *stp[G_N_ELEMENTS(subtechs)];
    /* Sequences of up to SMALL_N members (runs = 10 by default) build on
     * the stack; longer ones on the heap. */
    T1071__Ecs__V1__AlertMember mem_s[SMALL_N], *mem_s_p[SMALL_N];
    T1071__Ecs__V1__AlertDestination dst_s[SMALL_N], *dst_s_p[SMALL_N];
    struct t1071i_mlen ml_s[SMALL_N], dl_s[SMALL_N];
    bool small = n <= SMALL_N;
    struct t1071i_mlen *ml = small ? ml_s : g_new(struct t1071i_mlen, n);
    struct t1071i_mlen *dl = small ? dl_s : g_new(struct t1071i_mlen, n);
    T1071__Ecs__V1__AlertMember *mem = small ? mem_s : g_new(T1071__Ecs__V1__AlertMember, n);
    T1071__Ecs__V1__AlertMember **memp =
        small ? mem_s_p : g_new(T1071__Ecs__V1__AlertMember *, n);
    T1071__Ecs__V1__AlertDestination *dst =
        small ? dst_s : g_new(T1071__Ecs__V1__AlertDestination, n);
    T1071__Ecs__V1__AlertDestination **dstp =
        small ? dst_s_p : g_new(T1071__Ecs__V1__AlertDestination *, n);
    char kf[T1071I_MAX_KEY_FIELDS * 32];
    const struct t1071i_pev *last = members[n - 1];
    struct t1071i_sha256 sum;
    char group_id[65];
    char span[48], tsbuf[32], *reason, reason_s[512];
    size_t nd = 0;
    unsigned seen_mask = 0;
    int rc;

    t1071i_sha256_init(&sum, T1071I_SHA256_AUTO);
    /* Members and destinations (in order of first appearance). */
    for (size_t i = 0; i < n; i++) {
        const struct t1071i_pev *p = members[i];
        int s = subtech_of_port(p->port);
        size_t d;

        /* Each string measured once here (or known to the caller), then
         * handed to the encoder: strlen + 1, 0 when absent. */
        struct t1071i_mlen l = lens ? lens[i] : (struct t1071i_mlen){0, 0, 0};
        if (!l.id)
            l.id = (uint32_t)strlen(p->id) + 1;
        if (!p->ip)
            l.ip = 0;
        else if (!l.ip)
            l.ip = (uint32_t)strlen(p->ip) + 1;
        if (!p->domain)
            l.domain = 0;
        else if (!l.domain)
            l.domain = (uint32_t)strlen(p->domain) + 1;
        ml[i] = l;

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
            seen_mask |= 1u << s;

        /* Same test as str_eq on ip and domain (a length of 0 is NULL). */
        for (d = 0; d < nd; d++)
            if (dst[d].port == p->port && dl[d].ip == l.ip && dl[d].domain == l.domain &&
                (!l.ip || !memcmp(dst[d].ip, p->ip, l.ip)) &&
                (!l.domain || !memcmp(dst[d].domain, p->domain, l.domain)))
                break;
        if (d == nd) {
            t1071__ecs__v1__alert_destination__init(&dst[d]);
            dst[d].ip = (char *)p->ip;
            dst[d].has_port = true;
            dst[d].port = p->port;
            dst[d].domain = (char *)p->domain;
            dst[d].has_count = true;
            dstp[d] = &dst[d];
            dl[d] = l;
            nd++;
        }
        dst[d].count++;

        /* Group id: rule, key, and every member's id and time. */
        t1071i_sha256_update(&sum, p->id, l.id);
        t1071i_sha256_update(&sum, tsbuf, format_i64(p->ts, tsbuf) + 1);
    }
    t1071i_sha256_update(&sum, cfg->rule_id, strlen(cfg->rule_id) + 1);
    t1071i_sha256_update(&sum, key, strlen(key) + 1);
    t1071i_sha256_hex(&sum, group_id);

    threat_fill(seen_mask, &threat, st, stp);

    a.rule_id = cfg->rule_id;
    a.rule_name = cfg->name;
    a.rule_type = (char *)"eql";
    a.severity = cfg->severity;
    a.has_risk_score = true;
    a.risk_score = cfg->risk_score;
    a.threat = &threat;
    a.group_id = group_id;
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
    if (j && j->scored) {
        beacon.has_score = beacon.has_timing = beacon.has_count_regularity = true;
        beacon.score = j->v.score;
        beacon.timing = j->v.timing;
        beacon.count_regularity = j->v.count_reg;
        beacon.has_size = beacon.has_persistence = true;
        beacon.size = j->v.size;
        beacon.persistence = j->v.persistence;
        beacon.has_period_ms = beacon.has_jitter = true;
        beacon.period_ms = j->v.period_ms;
        beacon.jitter = j->v.jitter;
        beacon.scope = (char *)j->scope;
        beacon.destination = (char *)j->destination;
        beacon.has_intervals = beacon.has_events = true;
        beacon.intervals = j->v.n_intervals;
        beacon.events = j->v.n_events;
        beacon.has_size_known = beacon.has_hourly = true;
        beacon.size_known = j->v.size_known;
        beacon.hourly = j->v.hourly;
        beacon.has_rita_ts_score = true;
        beacon.rita_ts_score = j->rita_ts;
        t1071i_beacon_reading(&j->v, T1071I_READING_SUMMARY, reading, sizeof(reading));
        beacon.reading = reading;
        a.beacon = &beacon;
    }
    if (j) {
        tuning.has_suppressed = true;
        tuning.suppressed = j->suppressed;
        tuning.reason = (char *)j->reason;
        tuning.has_sequences = true;
        tuning.sequences = j->sequences;
        if (cfg->tun.prevalence_hosts || cfg->tun.prevalence_suppress_hosts) {
            tuning.has_prevalence_hosts = true;
            tuning.prevalence_hosts = j->prevalence_hosts;
        }
        if (j->raw_score != j->v.score) {
            tuning.has_raw_score = true;
            tuning.raw_score = j->raw_score;
        }
        a.tuning = &tuning;
    }

    if (j && j->fallback) {
        /* tuning.fallback_key: the key is host + executable, not an entity
         * id; process.entity_id names the newest member's process. */
        a.key_field = (char *)"host.id,process.executable";
        a.process_entity_id = last->n_keys ? (char *)last->keys[0] : NULL;
    } else {
        size_t off = 0;
        kf[0] = '\0';
        for (size_t i = 0; i < cfg->n_key_fields; i++) {
            const char *name = t1071i_field_name(cfg->key_fields[i]);
            size_t l = strlen(name);
            if (off + l + 2 > sizeof(kf))
                break; /* field names are short: never */
            if (i)
                kf[off++] = ',';
            memcpy(kf + off, name, l + 1);
            off += l;
        }
        a.key_field = kf;
    }

    format_span(last->ts - members[0]->ts, span);
    /* The reason line, built without printf (same text as
     * "%s (%s %s) on %s made %zu %s%sconnections to %s within %s"). */
    {
        struct sbuf r;
        const char *pname = last->pname ? last->pname : "unknown process";
        const char *host = last->host_name ? last->host_name : "unknown host";
        char num[32];

        sb_init(&r, reason_s, sizeof(reason_s));
        sb_add(&r, pname);
        sb_add(&r, " (");
        sb_add(&r, cfg->n_key_fields == 1 && cfg->key_fields[0] == T1071I_F_PROCESS_ENTITY_ID &&
                           !(j && j->fallback)
                       ? "entity "
                       : "key ");
        /* A printable key: compound keys use U+001F between fields. */
        if (!key)
            sb_add(&r, "?");
        else if (!strchr(key, '\x1f'))
            sb_add(&r, key);
        else
            for (const char *k = key; *k; k++)
                sb_addc(&r, *k == '\x1f' ? '|' : *k);
        sb_add(&r, ") on ");
        sb_add(&r, host);
        sb_add(&r, " made ");
        format_i64((int64_t)n, num);
        sb_add(&r, num);
        sb_addc(&r, ' ');
        sb_add(&r, t1071i_config_direction(cfg));
        if (t1071i_config_direction(cfg)[0])
            sb_addc(&r, ' ');
        sb_add(&r, "connections to ");
        if (nd == 1) {
            const char *dh = dst[0].domain ? dst[0].domain : dst[0].ip ? dst[0].ip : "?";
            bool bracket = strchr(dh, ':') && !dst[0].domain;
            if (bracket)
                sb_addc(&r, '[');
            sb_add(&r, dh);
            if (bracket)
                sb_addc(&r, ']');
            sb_addc(&r, ':');
            format_i64(dst[0].port, num);
            sb_add(&r, num);
        } else {
            format_i64((int64_t)nd, num);
            sb_add(&r, num);
            sb_add(&r, " destinations");
        }
        sb_add(&r, " within ");
        sb_add(&r, span);
        reason = sb_str(&r);
    }
    a.reason = reason;

    {
        /* The schema check is a few dozen compares: once per process.
         * Threads may race to store the same answer: atomics keep that
         * defined (no lock, no global init). */
        static atomic_int usable = -1;
        int fast = atomic_load_explicit(&usable, memory_order_relaxed);
        if (fast < 0) {
            fast = t1071i_alert_pack_usable();
            atomic_store_explicit(&usable, fast, memory_order_relaxed);
        }
        if (fast) {
            struct t1071i_alert_hints h = {ml, dl, NULL, 0};
            h.threat = threat_packed(seen_mask, &h.threat_len);
            *out = t1071i_alert_encode_hinted(&a, &h, alloc, head, out_len);
        } else {
            *out_len = t1071__ecs__v1__alert__get_packed_size(&a);
            *out = alloc(head + *out_len ? head + *out_len : 1);
            if (*out)
                t1071__ecs__v1__alert__pack(&a, *out + head);
        }
    }
    rc = *out ? T1071_OK : T1071_E_NOMEM;

    if (reason != reason_s)
        g_free(reason);
    if (!small) {
        g_free(mem);
        g_free(memp);
        g_free(dst);
        g_free(dstp);
        g_free(ml);
        g_free(dl);
    }
    return rc;
}

/* ===== JSON ===== */

void
t1071i_json_append_string(GString *out, const char *s, size_t n, bool ascii)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    g_string_append_c(out, '"');
    while (p < end) {
        unsigned char c = *p;
        /* A run of bytes that need no escape goes in as one append: one
         * call per string instead of one per character (rendering was most
         * of `t1071-replay --output alerts`). */
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            const unsigned char *q = p + 1;
            while (q < end && *q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
                q++;
            g_string_append_len(out, (const gchar *)p, (gssize)(q - p));
            p = q;
            continue;
        }
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

/* A score with 3 decimals, locale-free ("0.873"). */
static void
jnum3(GString *o, double x)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(o, g_ascii_formatd(buf, sizeof(buf), "%.3f", x));
}

static void
render_beacon(GString *o, const T1071__Ecs__V1__AlertBeacon *b)
{
    g_string_append(o, ",\"beacon\":{\"score\":");
    jnum3(o, b->score);
    g_string_append_printf(o, ",\"period_ms\":%" PRId64 ",\"jitter\":", b->period_ms);
    jnum3(o, b->jitter);
    g_string_append(o, ",\"timing\":");
    jnum3(o, b->timing);
    g_string_append(o, ",\"count_regularity\":");
    jnum3(o, b->count_regularity);
    g_string_append(o, ",\"size\":");
    jnum3(o, b->size);
    g_string_append(o, ",\"persistence\":");
    jnum3(o, b->persistence);
    g_string_append_c(o, ','); jkey(o, "scope"); jstr(o, b->scope);
    g_string_append_c(o, ','); jkey(o, "destination"); jstr(o, b->destination);
    g_string_append_printf(o, ",\"intervals\":%" PRIu32 ",\"events\":%" PRIu64, b->intervals,
                           b->events);
    g_string_append_printf(o, ",\"size_known\":%s,\"hourly\":%s",
                           b->size_known ? "true" : "false", b->hourly ? "true" : "false");
    g_string_append(o, ",\"rita_ts_score\":");
    jnum3(o, b->rita_ts_score);
    if (b->reading) {
        g_string_append_c(o, ',');
        jkey(o, "reading");
        jstr(o, b->reading);
    }
    g_string_append_c(o, '}');
}

static void
render_tuning(GString *o, const T1071__Ecs__V1__AlertTuning *t)
{
    g_string_append_printf(o, ",\"tuning\":{\"suppressed\":%s", t->suppressed ? "true" : "false");
    if (t->reason) {
        g_string_append_c(o, ',');
        jkey(o, "reason");
        jstr(o, t->reason);
    }
    g_string_append_printf(o, ",\"sequences\":%" PRIu64, t->sequences);
    if (t->has_prevalence_hosts)
        g_string_append_printf(o, ",\"prevalence_hosts\":%" PRIu32, t->prevalence_hosts);
    if (t->has_raw_score) {
        g_string_append(o, ",\"raw_score\":");
        jnum3(o, t->raw_score);
    }
    g_string_append_c(o, '}');
}

/* A bump arena for unpacking one Alert to render it: protobuf-c makes an
 * allocation per string and per member (some 40 per alert), and malloc +
 * free of those was a third of `t1071-replay --output alerts`.  What
 * does not fit the stack block is malloc'ed and listed for the end; past
 * the list, allocation fails and the caller unpacks with malloc instead. */
#define RENDER_ARENA 8192
#define RENDER_SPILL 32

struct render_arena {
    size_t used;
    size_t n_spill;
    void *spill[RENDER_SPILL];
    _Alignas(max_align_t) unsigned char block[RENDER_ARENA];
};

static void *
arena_alloc(void *data, size_t size)
{
    struct render_arena *ar = data;
    size_t n = (size + (_Alignof(max_align_t) - 1)) & ~(size_t)(_Alignof(max_align_t) - 1);

    if (n >= size && n <= RENDER_ARENA - ar->used) {
        void *p = ar->block + ar->used;
        ar->used += n;
        return p;
    }
    if (ar->n_spill == RENDER_SPILL)
        return NULL;
    return ar->spill[ar->n_spill++] = malloc(size);
}

static void
arena_free(void *data, void *p)
{
    (void)data; /* everything goes at once, in arena_release() */
    (void)p;
}

static void
arena_release(struct render_arena *ar)
{
    for (size_t i = 0; i < ar->n_spill; i++)
        free(ar->spill[i]);
}

int
t1071i_alert_render_json(const uint8_t *pb, size_t len, char **json, size_t *json_len)
{
    struct render_arena ar;
    ProtobufCAllocator pa = {arena_alloc, arena_free, &ar};
    T1071__Ecs__V1__Alert *a;
    bool in_arena = true;
    GString *o;

    ar.used = 0;
    ar.n_spill = 0;
    a = t1071__ecs__v1__alert__unpack(&pa, len, pb);
    if (!a) {
        /* Malformed, or larger than the arena and its spill list: decide
         * with the plain allocator. */
        arena_release(&ar);
        in_arena = false;
        a = t1071__ecs__v1__alert__unpack(NULL, len, pb);
    }
    *json = NULL;
    *json_len = 0;
    if (!a)
        return T1071_E_DECODE;
    /* The JSON is about 1.5 to 2 times the protobuf: one allocation. */
    o = g_string_sized_new(len * 2 + 512);
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
    g_string_append_c(o, ']');
    if (a->beacon)
        render_beacon(o, a->beacon);
    if (a->tuning)
        render_tuning(o, a->tuning);
    g_string_append(o, "}}");
    if (in_arena)
        arena_release(&ar);
    else
        t1071__ecs__v1__alert__free_unpacked(a, NULL);
    *json_len = o->len;
    *json = g_string_free(o, FALSE);
    return T1071_OK;
}
