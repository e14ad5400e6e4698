/* SPDX-License-Identifier: Apache-2.0 */
/* Differential test: the engine against an independent, obviously-correct
 * model of README "Semantics" (the sequence and the filter), over random streams from a fixed-seed
 * PRNG.
 *
 * Model: an event takes part when it has a @timestamp, passes every
 * predicate (decided here from hand-written truth tables, not by parsing)
 * and has at least one key value.  Each distinct key value gets the list
 * of its events, sorted stably by timestamp (ties keep arrival order);
 * for j >= runs-1 the window [j-runs+1 .. j] is a sequence when
 * ts[j] - ts[j-runs+1] <= maxspan.
 *
 * Streams: several hosts (one without host fields), keys local to a host
 * (multi-valued, duplicated, empty-string and case-variant ones, and
 * events without a key), gaps at maxspan-1, maxspan, maxspan+1, equal
 * timestamps, every predicate edge, events without @timestamp, and arrival
 * shuffled within the configured lateness L: event e arrives after f only
 * if ts(f) - ts(e) <= L, so no event is ever late.  Streams are fed one
 * event at a time, as one batch, or as a batch cut at random bytes. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define N_STREAMS 1200
#define MAXV 4

/* ===== Truth tables ===== */

static const char *const seed_port_names = "80,443,53,21,25,110,143,8080,8443,1883,5222";
static const int64_t ports_in[] = {80, 443, 53, 21, 25, 110, 143, 8080, 8443, 1883, 5222};
static const int64_t ports_out[] = {0,    22,   79,    81,    442,   444,
                                    6667, 8081, 65535, -443,  65536 + 443,
                                    INT64_C(4294967296) + 443};

struct ip_truth {
    const char *ip;
    bool excluded; /* in one of the seed rule's IPv4 ranges (mapped included) */
};

static const struct ip_truth ips[] = {
    /* public: pass */
    {"8.8.8.8", false},
    {"1.1.1.1", false},
    {"9.255.255.255", false},
    {"11.0.0.0", false},
    {"172.15.255.255", false},
    {"172.32.0.0", false},
    {"192.167.255.255", false},
    {"192.169.0.0", false},
    {"126.255.255.255", false},
    {"128.0.0.0", false},
    {"169.253.255.255", false},
    {"169.255.0.0", false},
    {"::ffff:8.8.8.8", false},
    {"::1", false},
    {"fe80::1", false},
    {"fc00::1", false},
    {"fd12:3456::1", false},
    {"2001:4860:4860::8888", false},
    {"::", false},
    {"::10.1.2.3", false}, /* IPv4-compatible, not mapped */
    /* unparsable: treated as absent, pass */
    {"not-an-ip", false},
    {"", false},
    {"10.1.2", false},
    {"10.0.0.256", false},
    {"10.0.0.1/8", false},
    {"10.0.0.1 ", false},
    /* private (the seed ranges, edges included): excluded */
    {"10.0.0.0", true},
    {"10.0.0.1", true},
    {"10.255.255.255", true},
    {"172.16.0.0", true},
    {"172.31.255.255", true},
    {"192.168.0.0", true},
    {"192.168.255.255", true},
    {"127.0.0.1", true},
    {"127.255.255.255", true},
    {"169.254.0.0", true},
    {"169.254.255.255", true},
    {"::ffff:10.1.2.3", true},
    {"::FFFF:c0a8:0101", true},
    {"::ffff:127.0.0.1", true},
    {"0:0:0:0:0:ffff:a9fe:0001", true},
};
#define N_IPS (sizeof(ips) / sizeof(ips[0]))
#define N_PUBLIC_IPS 20

static const char *const categories[] = {"network", "Network", "process", "host", "",
                                         "network "};
static const char *const types[] = {"connection", "start",    "end", "info",
                                    "protocol",   "Connection", "START", "",
                                    "connection_attempted"};
static const char *const directions[] = {"egress", "EGRESS", "Egress", "ingress",
                                         "outbound", "egress ", ""};
static const char *const pnames[] = {"beacon.exe", "", "svc.exe"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ===== A generated stream ===== */

struct gev {
    int64_t ts;
    bool has_ts;
    int host;
    int host_enc;            /* 0 host.id (+ another host.name), 1 host.name, 2 none, 3 host.id "" */
    int id_kind;             /* 0 event.id, 1 record_number, 2 neither */
    char id[48];
    uint64_t record_number;
    const char *keys[MAXV];
    size_t nkeys;
    const char *cat[3], *type[3], *dir[3], *ip[3], *name[2];
    size_t ncat, ntype, ndir, nip, nname;
    int64_t port[3];
    size_t nport;
    bool pass;               /* the model's filter verdict */
    uint64_t akey, tie;      /* arrival sort key, random tie-break */
    char member[64];         /* the name an alert gives it */
};

struct stream {
    unsigned runs;
    int64_t maxspan, lateness;
    unsigned alert_queue;    /* 0: default */
    int mode;                /* 0 events, 1 one batch, 2 batch cut at random bytes */
    int nhosts;
    bool hostless;           /* the last host has no host fields */
    char host_ids[5][16];
    char key_names[5][8][24];
    int npool[5];
    int64_t cursor[5][8];
    int64_t clock[5];        /* offset of each host's clock */
    size_t n;
    struct gev *ev;          /* in arrival order after shuffle() */
};

static const char *
pick(uint64_t *r, const char *const *tab, size_t n)
{
    return tab[tu_below(r, n)];
}

static bool
any_eq(const char *const *vals, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(vals[i], want))
            return true;
    return false;
}

static int64_t
gap(uint64_t *r, const struct stream *s)
{
    int64_t m = s->maxspan;

    switch (tu_below(r, 20)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return m;
    case 3: return m > 0 ? m - 1 : 0;
    case 4: return m + 1;
    case 5: return 3 * m + 1 + (int64_t)tu_below(r, 1000);
    case 6:
    case 7: return (int64_t)tu_below(r, (uint64_t)m + 1);
    case 8: return (int64_t)tu_below(r, 2 * (uint64_t)m + 2);
    default: return (int64_t)tu_below(r, (uint64_t)(m / s->runs) + 1);
    }
}

static void
gen_filter_fields(uint64_t *r, struct gev *e)
{
    /* each predicate: mostly clean, sometimes any mix of edge values */
    if (tu_chance(r, 93)) {
        e->cat[0] = "network";
        e->ncat = 1;
    } else {
        e->ncat = tu_below(r, 4);
        for (size_t i = 0; i < e->ncat; i++)
            e->cat[i] = pick(r, categories, NELEM(categories));
    }
    if (tu_chance(r, 93)) {
        e->type[0] = tu_chance(r, 50) ? "connection" : "start";
        e->ntype = 1;
        if (tu_chance(r, 20))
            e->type[e->ntype++] = "protocol";
    } else {
        e->ntype = tu_below(r, 4);
        for (size_t i = 0; i < e->ntype; i++)
            e->type[i] = pick(r, types, NELEM(types));
    }
    if (tu_chance(r, 93)) {
        e->dir[0] = "egress";
        e->ndir = 1;
    } else {
        e->ndir = tu_below(r, 3);
        for (size_t i = 0; i < e->ndir; i++)
            e->dir[i] = pick(r, directions, NELEM(directions));
    }
    if (tu_chance(r, 93)) {
        e->port[0] = ports_in[tu_below(r, NELEM(ports_in))];
        e->nport = 1;
    } else {
        e->nport = tu_below(r, 4);
        for (size_t i = 0; i < e->nport; i++)
            e->port[i] = tu_chance(r, 30) ? ports_in[tu_below(r, NELEM(ports_in))]
                                          : ports_out[tu_below(r, NELEM(ports_out))];
    }
    if (tu_chance(r, 88)) {
        e->ip[0] = ips[tu_below(r, N_PUBLIC_IPS)].ip;
        e->nip = 1;
    } else {
        e->nip = tu_below(r, 4);
        for (size_t i = 0; i < e->nip; i++)
            e->ip[i] = ips[tu_below(r, N_IPS)].ip;
    }
    if (tu_chance(r, 96)) {
        e->name[0] = "beacon.exe";
        e->nname = 1;
    } else {
        e->nname = tu_below(r, 3);
        for (size_t i = 0; i < e->nname; i++)
            e->name[i] = pick(r, pnames, NELEM(pnames));
    }
}

static bool
model_filter(const struct gev *e)
{
    bool type_ok = any_eq(e->type, e->ntype, "connection") || any_eq(e->type, e->ntype, "start");
    bool port_ok = false, ip_ok = true;

    for (size_t i = 0; i < e->nport; i++)
        for (size_t j = 0; j < NELEM(ports_in); j++)
            port_ok = port_ok || e->port[i] == ports_in[j];
    for (size_t i = 0; i < e->nip; i++)
        for (size_t j = 0; j < N_IPS; j++)
            if (!strcmp(e->ip[i], ips[j].ip) && ips[j].excluded)
                ip_ok = false;
    return any_eq(e->cat, e->ncat, "network") && type_ok && any_eq(e->dir, e->ndir, "egress") &&
           port_ok && ip_ok && e->nname > 0;
}

static int
cmp_arrival(const void *a, const void *b)
{
    const struct gev *x = a, *y = b;
    if (x->akey != y->akey)
        return x->akey < y->akey ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

static void
gen_stream(uint64_t seed, struct stream *s)
{
    static const int64_t spans[] = {0, 1, 2, 10, 1000, 60000, 3600000, 86400000};
    uint64_t r = seed;

    memset(s, 0, sizeof(*s));
    s->runs = 1 + (unsigned)tu_below(&r, 12);
    s->maxspan = tu_chance(&r, 80) ? spans[tu_below(&r, NELEM(spans))]
                                   : (int64_t)tu_below(&r, 100000);
    switch (tu_below(&r, 6)) {
    case 0:
    case 1: s->lateness = 0; break;
    case 2: s->lateness = 1; break;
    case 3: s->lateness = s->maxspan; break;
    case 4: s->lateness = (int64_t)tu_below(&r, (uint64_t)s->maxspan + 2); break;
    default: s->lateness = 60000; break;
    }
    if (s->lateness > INT64_C(604800000))
        s->lateness = INT64_C(604800000);
    s->alert_queue = tu_chance(&r, 20) ? 1 + (unsigned)tu_below(&r, 8) : 0;
    s->mode = (int)tu_below(&r, 3);
    s->nhosts = 1 + (int)tu_below(&r, 4);
    s->hostless = tu_chance(&r, 30);
    for (int h = 0; h < s->nhosts; h++) {
        /* some hosts run hours ahead of others: watermarks are per host */
        s->clock[h] = tu_chance(&r, 50) ? 0 : INT64_C(21600000) + (int64_t)tu_below(&r, 3600000);
        snprintf(s->host_ids[h], sizeof(s->host_ids[h]), "h%d", h);
        s->npool[h] = 1 + (int)tu_below(&r, 4);
        for (int k = 0; k < s->npool[h]; k++)
            snprintf(s->key_names[h][k], sizeof(s->key_names[h][k]), "e%d-%d", h, k);
        if (h == 0) {
            /* the empty string is a key; so is a case variant */
            s->key_names[0][s->npool[0]++][0] = '\0';
            snprintf(s->key_names[0][s->npool[0]++], 24, "E0-0");
        }
        for (int k = 0; k < s->npool[h]; k++)
            s->cursor[h][k] = T0 + s->clock[h] + (int64_t)tu_below(&r, (uint64_t)s->maxspan + 1);
    }
    s->n = 20 + tu_below(&r, 160);
    s->ev = calloc(s->n, sizeof(*s->ev));
    assert_non_null(s->ev);
    for (size_t i = 0; i < s->n; i++) {
        struct gev *e = &s->ev[i];
        int h = (int)tu_below(&r, (uint64_t)s->nhosts);
        int idx[MAXV];
        uint64_t kind = tu_below(&r, 100);
        int64_t base = 0;

        e->host = h;
        if (s->hostless && h == s->nhosts - 1)
            e->host_enc = tu_chance(&r, 70) ? 2 : 3;
        else
            e->host_enc = (int)tu_below(&r, 2);
        if (kind < 6) {
            e->nkeys = 0;
        } else if (kind < 14) {
            e->nkeys = 2 + tu_below(&r, 2);
            for (size_t k = 0; k < e->nkeys; k++)
                idx[k] = (int)tu_below(&r, (uint64_t)s->npool[h]);
        } else {
            e->nkeys = 1;
            idx[0] = (int)tu_below(&r, (uint64_t)s->npool[h]);
        }
        if (e->nkeys == 0) {
            base = s->cursor[h][tu_below(&r, (uint64_t)s->npool[h])];
        } else {
            for (size_t k = 0; k < e->nkeys; k++) {
                e->keys[k] = s->key_names[h][idx[k]];
                if (s->cursor[h][idx[k]] > base)
                    base = s->cursor[h][idx[k]];
            }
        }
        e->ts = base + gap(&r, s);
        for (size_t k = 0; k < e->nkeys; k++)
            s->cursor[h][idx[k]] = e->ts;
        e->has_ts = !tu_chance(&r, 2);

        kind = tu_below(&r, 100);
        if (kind < 4) {
            e->id_kind = 1;
            e->record_number = 1000000 + i;
        } else if (kind < 7) {
            e->id_kind = 2;
        } else if (kind < 10) {
            /* quotes, backslash, control and non-ASCII characters */
            snprintf(e->id, sizeof(e->id), "s%" PRIu64 "-%zu\"\\\n\x01\xc3\xa9\xf0\x9f\x98\x80",
                     seed % 100000, i);
        } else {
            snprintf(e->id, sizeof(e->id), "s%" PRIu64 "-%zu", seed % 100000, i);
        }
        gen_filter_fields(&r, e);
        e->pass = model_filter(e);
    }
    /* Arrival, per host: sort by ts + jitter, jitter in [0, L]: an event
     * arrives after another of its host only if it is at most L older.
     * The hosts' sequences are then interleaved at random. */
    for (size_t i = 0; i < s->n; i++) {
        struct gev *e = &s->ev[i];
        uint64_t j;
        switch (tu_below(&r, 5)) {
        case 0:
        case 1: j = 0; break;
        case 2: j = (uint64_t)s->lateness; break;
        default: j = tu_below(&r, (uint64_t)s->lateness + 1);
        }
        e->akey = (uint64_t)e->ts + j;
        e->tie = tu_rand(&r);
    }
    for (size_t i = 0; i < s->n; i++)
        if (!s->ev[i].has_ts) /* goes anywhere */
            s->ev[i].akey = s->ev[tu_below(&r, s->n)].akey;
    qsort(s->ev, s->n, sizeof(*s->ev), cmp_arrival);
    {
        struct gev *merged = calloc(s->n, sizeof(*merged));
        size_t next[5] = {0}, left[5] = {0}, remaining = s->n;
        assert_non_null(merged);
        for (size_t i = 0; i < s->n; i++)
            left[s->ev[i].host]++;
        for (size_t o = 0; o < s->n; o++) {
            uint64_t pickn = tu_below(&r, remaining);
            int h = 0;
            while (pickn >= left[h])
                pickn -= left[h++];
            while (s->ev[next[h]].host != h)
                next[h]++;
            merged[o] = s->ev[next[h]++];
            left[h]--;
            remaining--;
        }
        free(s->ev);
        s->ev = merged;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct gev *e = &s->ev[i];
        switch (e->id_kind) {
        case 1:
            snprintf(e->member, sizeof(e->member), "line:%" PRIu64, e->record_number);
            break;
        case 2: /* the record's ordinal in the context */
            snprintf(e->member, sizeof(e->member), "line:%zu", i + 1);
            break;
        default:
            snprintf(e->member, sizeof(e->member), "%s", e->id);
        }
    }
}

static uint8_t *
encode(const struct stream *s, const struct gev *e, size_t *len)
{
    tu_event ev = T1071__ECS__V1__EVENT__INIT;
    char hname[24];

    if (e->has_ts) {
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = e->ts;
    }
    if (e->id_kind != 1 && e->id_kind != 2)
        ev.event_id = (char *)e->id;
    if (e->id_kind == 1) {
        ev.has_record_number = 1;
        ev.record_number = e->record_number;
    }
    switch (e->host_enc) {
    case 0:
        snprintf(hname, sizeof(hname), "name-%s", s->host_ids[e->host]);
        ev.host_id = (char *)s->host_ids[e->host];
        ev.host_name = hname;
        break;
    case 1: ev.host_name = (char *)s->host_ids[e->host]; break;
    case 3: ev.host_id = (char *)""; break;
    default: break;
    }
    ev.process_entity_id = (char **)e->keys;
    ev.n_process_entity_id = e->nkeys;
    ev.event_category = (char **)e->cat;
    ev.n_event_category = e->ncat;
    ev.event_type = (char **)e->type;
    ev.n_event_type = e->ntype;
    ev.network_direction = (char **)e->dir;
    ev.n_network_direction = e->ndir;
    ev.destination_port = (int64_t *)e->port;
    ev.n_destination_port = e->nport;
    ev.destination_ip = (char **)e->ip;
    ev.n_destination_ip = e->nip;
    ev.process_name = (char **)e->name;
    ev.n_process_name = e->nname;
    return tu_pack_event(&ev, len);
}

/* ===== The model ===== */

struct mkey {
    const char *key;
    size_t n, cap;
    const struct gev **ev;
};

static int
cmp_ts(const void *a, const void *b)
{
    const struct gev *x = *(const struct gev *const *)a, *y = *(const struct gev *const *)b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    /* stable: arrival order (the array index) */
    return x < y ? -1 : x > y;
}

struct expected {
    char *key;
    char *ids;
};

static size_t
model(const struct stream *s, struct expected **out, size_t *matched)
{
    struct mkey keys[64];
    size_t nk = 0, n = 0, cap = 64;
    struct expected *exp = malloc(cap * sizeof(*exp));

    assert_non_null(exp);
    *matched = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct gev *e = &s->ev[i];
        if (!e->has_ts || !e->pass || e->nkeys == 0)
            continue;
        (*matched)++;
        for (size_t k = 0; k < e->nkeys; k++) {
            size_t m;
            bool dup = false;
            for (size_t d = 0; d < k; d++)
                dup = dup || !strcmp(e->keys[d], e->keys[k]);
            if (dup)
                continue;
            for (m = 0; m < nk; m++)
                if (!strcmp(keys[m].key, e->keys[k]))
                    break;
            if (m == nk) {
                assert_true(nk < 64);
                memset(&keys[nk], 0, sizeof(keys[nk]));
                keys[nk++].key = e->keys[k];
            }
            if (keys[m].n == keys[m].cap) {
                keys[m].cap = keys[m].cap ? keys[m].cap * 2 : 16;
                keys[m].ev = realloc(keys[m].ev, keys[m].cap * sizeof(*keys[m].ev));
                assert_non_null(keys[m].ev);
            }
            keys[m].ev[keys[m].n++] = e;
        }
    }
    for (size_t m = 0; m < nk; m++) {
        struct mkey *k = &keys[m];
        qsort(k->ev, k->n, sizeof(*k->ev), cmp_ts);
        for (size_t j = 0; j < k->n; j++) {
            struct tu_buf ids = {0};
            size_t first;
            if (j + 1 < s->runs)
                continue;
            first = j + 1 - s->runs;
            if (k->ev[j]->ts - k->ev[first]->ts > s->maxspan)
                continue;
            tu_buf_puts(&ids, "[");
            for (size_t x = first; x <= j; x++) {
                if (x > first)
                    tu_buf_puts(&ids, ",");
                tu_json_ascii_string(&ids, k->ev[x]->member, strlen(k->ev[x]->member));
            }
            tu_buf_puts(&ids, "]");
            if (n == cap) {
                cap *= 2;
                exp = realloc(exp, cap * sizeof(*exp));
                assert_non_null(exp);
            }
            exp[n].key = strdup(k->key);
            exp[n].ids = ids.data;
            n++;
        }
        free(k->ev);
    }
    *out = exp;
    return n;
}

/* ===== The engine ===== */

static void
run_engine(const struct stream *s, uint64_t seed, struct tu_alerts *all, t1071_ctx **ctx_out)
{
    char runs[16], maxspan[32], lateness[32], queue[16];
    const char *kv[16];
    size_t nkv = 0;
    t1071_ctx *ctx;
    struct tu_buf batch = {0};
    uint64_t r = seed ^ UINT64_C(0x5eed);

    snprintf(runs, sizeof(runs), "%u", s->runs);
    snprintf(maxspan, sizeof(maxspan), "%" PRId64 "ms", s->maxspan);
    snprintf(lateness, sizeof(lateness), "%" PRId64 "ms", s->lateness);
    snprintf(queue, sizeof(queue), "%u", s->alert_queue);
    kv[nkv++] = "rule.runs";
    kv[nkv++] = runs;
    kv[nkv++] = "rule.maxspan";
    kv[nkv++] = maxspan;
    kv[nkv++] = "engine.lateness";
    kv[nkv++] = lateness;
    kv[nkv++] = "engine.max_jump";
    kv[nkv++] = "36500d";
    kv[nkv++] = "rule.ports";
    kv[nkv++] = seed_port_names;
    if (s->alert_queue) {
        kv[nkv++] = "engine.alert_queue";
        kv[nkv++] = queue;
    }
    kv[nkv] = NULL;
    ctx = tu_ctx_new(kv);

    for (size_t i = 0; i < s->n; i++) {
        size_t len;
        uint8_t *buf = encode(s, &s->ev[i], &len);
        if (s->mode == 0) {
            int rc = tu_feed_event_retry(ctx, buf, len, all, NULL);
            int want = s->ev[i].has_ts ? T1071_OK : T1071_E_TIMESTAMP;
            if (rc != want)
                fail_msg("stream %" PRIu64 " event %zu: %s, expected %s", seed, i,
                         t1071_strerror(rc), t1071_strerror(want));
        } else {
            tu_append_delimited(&batch, buf, len);
        }
        free(buf);
    }
    if (s->mode == 1) {
        assert_int_equal(tu_feed_batch_all(ctx, (const uint8_t *)batch.data, batch.len, all, NULL),
                         T1071_OK);
    } else if (s->mode == 2) {
        size_t off = 0;
        bool whole = false;
        while (off < batch.len) {
            size_t cut = whole ? batch.len : off + 1 + tu_below(&r, 300), consumed = SIZE_MAX;
            int rc;
            if (cut > batch.len)
                cut = batch.len;
            rc = t1071_feed_batch(ctx, (const uint8_t *)batch.data + off, cut - off, &consumed);
            assert_true(consumed <= cut - off);
            if (rc == T1071_E_QUEUE_FULL)
                tu_collect(ctx, all);
            else if (rc == T1071_OK)
                assert_int_equal(consumed, cut - off);
            else if (rc != T1071_E_TRUNCATED)
                fail_msg("stream %" PRIu64 ": feed_batch: %s", seed, t1071_strerror(rc));
            /* a record longer than the cut: give it the rest once */
            whole = rc == T1071_E_TRUNCATED && consumed == 0;
            off += consumed;
        }
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, all, NULL), T1071_OK);
    tu_collect(ctx, all);
    tu_buf_free(&batch);
    *ctx_out = ctx;
}

/* ===== Comparison ===== */

static int
cmp_pair(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    int c = strcmp(x[0], y[0]);
    return c ? c : strcmp(x[1], y[1]);
}

static void
dump_stream(const struct stream *s, const char *key)
{
    print_message("# runs=%u maxspan=%" PRId64 "ms lateness=%" PRId64 "ms queue=%u mode=%d\n",
                  s->runs, s->maxspan, s->lateness, s->alert_queue, s->mode);
    for (size_t i = 0; i < s->n; i++) {
        const struct gev *e = &s->ev[i];
        bool has = key == NULL;
        for (size_t k = 0; k < e->nkeys; k++)
            has = has || !strcmp(e->keys[k], key);
        if (!has)
            continue;
        print_message("#   arrival %zu: ts=%" PRId64 "%s host=%s keys=%zu pass=%d id=%s\n", i + 1,
                      e->ts, e->has_ts ? "" : "(none)", s->host_ids[e->host], e->nkeys, e->pass,
                      e->member);
    }
}

/* Returns false (after printing why) when the engine differs. */
static bool
compare(const struct stream *s, uint64_t seed, const struct expected *exp, size_t n_exp,
        const struct tu_alerts *got)
{
    const char **a, **b;
    bool ok = true;

    /* per key: the same ordered list of sequences */
    for (size_t i = 0; i < n_exp && ok; i++) {
        size_t ie = 0, ig = 0;
        const char *key = exp[i].key;
        bool seen = false;
        for (size_t p = 0; p < i; p++)
            seen = seen || !strcmp(exp[p].key, key);
        if (seen)
            continue;
        for (;;) {
            while (ie < n_exp && strcmp(exp[ie].key, key))
                ie++;
            while (ig < got->n && strcmp(got->a[ig].key, key))
                ig++;
            if (ie == n_exp && ig == got->n)
                break;
            if (ie == n_exp || ig == got->n || strcmp(exp[ie].ids, got->a[ig].ids)) {
                print_error("stream %" PRIu64 " key \"%s\": expected %s, got %s\n", seed, key,
                            ie < n_exp ? exp[ie].ids : "(nothing)",
                            ig < got->n ? got->a[ig].ids : "(nothing)");
                dump_stream(s, key);
                ok = false;
                break;
            }
            ie++;
            ig++;
        }
    }
    if (!ok)
        return false;
    if (got->n != n_exp) {
        print_error("stream %" PRIu64 ": %zu sequences, expected %zu\n", seed, got->n, n_exp);
        for (size_t i = 0; i < got->n; i++)
            print_error("#   got key \"%s\" %s\n", got->a[i].key, got->a[i].ids);
        dump_stream(s, NULL);
        return false;
    }
    /* the overall multiset */
    a = malloc(2 * (n_exp + 1) * sizeof(*a));
    b = malloc(2 * (n_exp + 1) * sizeof(*b));
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < n_exp; i++) {
        a[2 * i] = exp[i].key;
        a[2 * i + 1] = exp[i].ids;
        b[2 * i] = got->a[i].key;
        b[2 * i + 1] = got->a[i].ids;
    }
    qsort(a, n_exp, 2 * sizeof(*a), cmp_pair);
    qsort(b, n_exp, 2 * sizeof(*b), cmp_pair);
    for (size_t i = 0; i < 2 * n_exp && ok; i++)
        if (strcmp(a[i], b[i]) != 0) {
            print_error("stream %" PRIu64 ": multisets differ at %s\n", seed, a[i]);
            ok = false;
        }
    free(a);
    free(b);
    return ok;
}

/* ===== Tests ===== */

static void
test_differential_random_streams_engine_equals_model(void **state)
{
    size_t total_alerts = 0, total_events = 0, streams_with_alerts = 0, failures = 0;
    size_t by_runs[13] = {0};

    (void)state;
    for (uint64_t i = 0; i < N_STREAMS; i++) {
        uint64_t seed = UINT64_C(0x7107100000) + i;
        struct stream s;
        struct expected *exp = NULL;
        size_t n_exp, matched, no_ts = 0;
        struct tu_alerts got = {0};
        t1071_ctx *ctx = NULL;

        gen_stream(seed, &s);
        n_exp = model(&s, &exp, &matched);
        run_engine(&s, seed, &got, &ctx);
        if (!compare(&s, seed, exp, n_exp, &got))
            failures++;
        for (size_t e = 0; e < s.n; e++)
            no_ts += !s.ev[e].has_ts;
        if (tu_stat(ctx, T1071_STAT_EVENTS_LATE) != 0) {
            print_error("stream %" PRIu64 ": %" PRIu64 " late events, expected none\n", seed,
                        tu_stat(ctx, T1071_STAT_EVENTS_LATE));
            failures++;
        }
        if (tu_stat(ctx, T1071_STAT_EVENTS_MATCHED) != matched ||
            tu_stat(ctx, T1071_STAT_ERR_TIMESTAMP) != no_ts ||
            tu_stat(ctx, T1071_STAT_ALERTS) != got.n ||
            tu_stat(ctx, T1071_STAT_ALERTS_POLLED) != got.n ||
            tu_stat(ctx, T1071_STAT_EVENTS_SUSPECT) != 0 ||
            tu_stat(ctx, T1071_STAT_EVENTS_BUFFERED) != 0) {
            print_error("stream %" PRIu64 ": counters: matched %" PRIu64 "/%zu, no-ts %" PRIu64
                        "/%zu, alerts %" PRIu64 "/%zu\n",
                        seed, tu_stat(ctx, T1071_STAT_EVENTS_MATCHED), matched,
                        tu_stat(ctx, T1071_STAT_ERR_TIMESTAMP), no_ts,
                        tu_stat(ctx, T1071_STAT_ALERTS), got.n);
            failures++;
        }
        total_alerts += got.n;
        total_events += s.n;
        streams_with_alerts += got.n > 0;
        by_runs[s.runs] += got.n > 0;
        for (size_t k = 0; k < n_exp; k++) {
            free(exp[k].key);
            free(exp[k].ids);
        }
        free(exp);
        tu_alerts_free(&got);
        t1071_free(ctx);
        free(s.ev);
        if (failures >= 5)
            break;
    }
    print_message("# %d streams, %zu events, %zu sequences, %zu streams with sequences\n",
                  N_STREAMS, total_events, total_alerts, streams_with_alerts);
    assert_int_equal(failures, 0);
    /* The generator must exercise what it claims to. */
    assert_true(streams_with_alerts > N_STREAMS / 3);
    for (unsigned r = 1; r <= 12; r++)
        if (by_runs[r] == 0)
            fail_msg("no stream with runs=%u produced a sequence", r);
}

/* The generator's arrival order honours the lateness bound, and the model
 * is not vacuous: both are checked here so that a broken generator cannot
 * make the differential test pass trivially. */
static void
test_differential_generator_covers_edges_within_lateness(void **state)
{
    size_t multi = 0, empty_key = 0, nokey = 0, fail_filter = 0, eq_ts = 0, at_maxspan = 0,
           over_maxspan = 0, reordered = 0, special_id = 0, line_ids = 0, behind_global = 0;

    (void)state;
    for (uint64_t i = 0; i < N_STREAMS; i++) {
        struct stream s;
        int64_t max_seen[5] = {0}, global_max = INT64_MIN;
        bool has_max[5] = {false};

        gen_stream(UINT64_C(0x7107100000) + i, &s);
        for (size_t e = 0; e < s.n; e++) {
            const struct gev *g = &s.ev[e];
            multi += g->nkeys > 1;
            nokey += g->nkeys == 0;
            fail_filter += !g->pass;
            special_id += g->id_kind == 0 && strchr(g->id, '"') != NULL;
            line_ids += g->id_kind != 0;
            for (size_t k = 0; k < g->nkeys; k++)
                empty_key += g->keys[k][0] == '\0';
            if (!g->has_ts)
                continue;
            /* would be late under one watermark for all hosts */
            behind_global += global_max != INT64_MIN && g->ts < global_max - s.lateness;
            if (g->ts > global_max)
                global_max = g->ts;
            if (has_max[g->host]) {
                /* README "Semantics", time: never older than the host's watermark */
                assert_true(g->ts >= max_seen[g->host] - s.lateness);
                reordered += g->ts < max_seen[g->host];
                eq_ts += g->ts == max_seen[g->host];
                at_maxspan += g->ts - max_seen[g->host] == s.maxspan;
                over_maxspan += g->ts - max_seen[g->host] == s.maxspan + 1;
            }
            if (!has_max[g->host] || g->ts > max_seen[g->host]) {
                max_seen[g->host] = g->ts;
                has_max[g->host] = true;
            }
        }
        free(s.ev);
    }
    print_message("# multi %zu, empty key %zu, no key %zu, filtered %zu, equal ts %zu, "
                  "gap=maxspan %zu, gap=maxspan+1 %zu, reordered %zu, special ids %zu, "
                  "line ids %zu, behind another host %zu\n",
                  multi, empty_key, nokey, fail_filter, eq_ts, at_maxspan, over_maxspan,
                  reordered, special_id, line_ids, behind_global);
    assert_true(behind_global > 1000);
    assert_true(multi > 1000);
    assert_true(empty_key > 1000);
    assert_true(nokey > 1000);
    assert_true(fail_filter > 1000);
    assert_true(eq_ts > 1000);
    assert_true(at_maxspan > 100);
    assert_true(over_maxspan > 100);
    assert_true(reordered > 1000);
    assert_true(special_id > 100);
    assert_true(line_ids > 100);
}

/* Every truth-table row, alone in a clean event, gives the verdict the
 * table states: the model's tables are what the engine is checked against,
 * so they are checked against the engine row by row too. */
static void
test_differential_truth_tables_match_engine_one_by_one(void **state)
{
    t1071_ctx *ctx = tu_ctx_new((const char *const[]){"rule.runs", "1", NULL});
    struct tu_alerts all = {0};
    size_t n_expected = 0;

    (void)state;
    for (size_t i = 0; i < N_IPS; i++) {
        struct stream s;
        struct gev e;
        size_t len;
        uint8_t *buf;

        memset(&s, 0, sizeof(s));
        memset(&e, 0, sizeof(e));
        snprintf(s.host_ids[0], sizeof(s.host_ids[0]), "h0");
        e.has_ts = true;
        e.ts = T0 + (int64_t)i;
        snprintf(e.id, sizeof(e.id), "ip-%zu", i);
        e.keys[0] = "K";
        e.nkeys = 1;
        e.cat[0] = "network";
        e.ncat = 1;
        e.type[0] = "start";
        e.ntype = 1;
        e.dir[0] = "egress";
        e.ndir = 1;
        e.port[0] = 443;
        e.nport = 1;
        e.ip[0] = ips[i].ip;
        e.nip = 1;
        e.name[0] = "x";
        e.nname = 1;
        assert_int_equal(model_filter(&e), !ips[i].excluded);
        buf = encode(&s, &e, &len);
        assert_int_equal(tu_feed_event_retry(ctx, buf, len, &all, NULL), T1071_OK);
        free(buf);
        tu_collect(ctx, &all);
        n_expected += !ips[i].excluded;
        if (all.n != n_expected)
            fail_msg("destination.ip \"%s\": engine says %s, table says %s", ips[i].ip,
                     ips[i].excluded ? "pass" : "excluded",
                     ips[i].excluded ? "excluded" : "pass");
    }
    tu_alerts_free(&all);
    t1071_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential_generator_covers_edges_within_lateness),
        cmocka_unit_test(test_differential_truth_tables_match_engine_one_by_one),
        cmocka_unit_test(test_differential_random_streams_engine_equals_model),
    };

    return cmocka_run_group_tests_name("differential", tests, NULL, NULL);
}
