/* SPDX-License-Identifier: Apache-2.0 */
/* The beacon tracker: per key, one pair per destination plus an
 * aggregate, tier-0 promotion, cached verdicts, and the verdict (judge)
 * that combines the score with the tuning rules.  Everything here is a
 * pure function of the events observed (event time only, no wall clock,
 * no iteration over hash order), so a restored context gives the same
 * alerts byte for byte. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "score/tracker-priv.h"
#include "util/addr.h"
#include "util/hash.h"
#include "util/timefmt.h"



size_t
t1071i_tracker_pair_bytes(size_t len, bool promoted)
{
    return sizeof(struct bpair) + len + 1 +
           (promoted ? sizeof(struct cand) : 0);
}

size_t
t1071i_prev_entry_bytes(const struct t1071i_tracker *t, size_t len)
{
    return sizeof(struct prev_entry) + t->slots * (sizeof(uint64_t) + sizeof(int64_t)) +
           (t->sync ? sizeof(struct prev_sync) : 0) + len + 1;
}

/* Any tuning key set: the tracker then exists even without the score
 * (allowlists, the fallback key and suppression need no timing). */
static bool
tuning_active(const struct t1071i_tuning_cfg *tun)
{
    return tun->score_threshold > 0 || tun->n_allow_exes || tun->n_heartbeat_exes ||
           tun->n_allow_cidrs || tun->n_allow_domains || tun->prevalence_hosts ||
           tun->prevalence_suppress_hosts || tun->fallback_key || tun->suppress_period_ms > 0;
}

int
t1071i_tracker_new(const struct t1071_config *cfg, uint64_t seed, struct t1071i_tracker **out)
{
    struct t1071i_tracker *t;

    *out = NULL;
    if (!cfg->tun.beacon_enabled && !tuning_active(&cfg->tun))
        return T1071_OK; /* the bare rule: no tracker at all */
    t = calloc(1, sizeof(*t));
    if (!t)
        return T1071_E_NOMEM;
    t->cfg = cfg;
    t->tun = &cfg->tun;
    t->score = cfg->tun.beacon_enabled;
    t->seed = seed;
    t->slots = cfg->tun.prevalence_hosts > cfg->tun.prevalence_suppress_hosts
                   ? cfg->tun.prevalence_hosts
                   : cfg->tun.prevalence_suppress_hosts;
    t->bytes = TRACKER_BYTES;
    if (t1071i_prev_sync_init(t) != T1071_OK) {
        free(t);
        return T1071_E_NOMEM;
    }
    if (t->slots) {
        t->buckets = calloc(PREV_BUCKETS_MIN, sizeof(*t->buckets));
        if (!t->buckets) {
            free(t);
            return T1071_E_NOMEM;
        }
        t->n_buckets = PREV_BUCKETS_MIN;
        t->bytes += PREV_BUCKETS_MIN * sizeof(*t->buckets);
    }
    *out = t;
    return T1071_OK;
}

void
t1071i_tracker_free(struct t1071i_tracker *t)
{
    if (!t)
        return;
    for (struct prev_entry *e = t->oldest, *next; e; e = next) {
        next = e->newer;
        free(e);
    }
    free(t->buckets);
    t1071i_prev_sync_free(t);
    g_free(t->fk);
    free(t);
}

size_t
t1071i_tracker_bytes(const struct t1071i_tracker *t)
{
    return t ? t->bytes : 0;
}

/* ===== Destinations ===== */

void
t1071i_sb_put(struct sbuf *sb, const char *s, size_t len)
{
    if (sb->n < sb->size - 1) {
        size_t room = sb->size - 1 - sb->n;
        memcpy(sb->b + sb->n, s, len < room ? len : room);
    }
    sb->n += len;
}

static void
sb_i64(struct sbuf *sb, int64_t v)
{
    char d[32];

    t1071i_sb_put(sb, d, t1071i_format_i64(v, d));
}

/* Terminate; returns the full length (snprintf's return value). */
size_t
t1071i_sb_end(struct sbuf *sb)
{
    sb->b[sb->n < sb->size - 1 ? sb->n : sb->size - 1] = '\0';
    return sb->n;
}

/* The pair's destination: domain (or TLS server name) when present, else
 * ip:port ([v6]:port), "?:port" without an address; the full length. */
static size_t
pev_dest_full(const struct t1071i_pev *p, char *buf, size_t size)
{
    struct sbuf sb = {buf, size, 0};

    if (p->domain) {
        t1071i_sb_put(&sb, p->domain, strlen(p->domain));
    } else if (p->ip && strchr(p->ip, ':')) {
        t1071i_sb_put(&sb, "[", 1);
        t1071i_sb_put(&sb, p->ip, strlen(p->ip));
        t1071i_sb_put(&sb, "]:", 2);
        sb_i64(&sb, p->port);
    } else {
        const char *ip = p->ip ? p->ip : "?";
        t1071i_sb_put(&sb, ip, strlen(ip));
        t1071i_sb_put(&sb, ":", 1);
        sb_i64(&sb, p->port);
    }
    return t1071i_sb_end(&sb);
}

/* The same, truncated to fit: the length written. */
size_t
t1071i_pev_dest(const struct t1071i_pev *p, char *buf, size_t size)
{
    size_t n = pev_dest_full(p, buf, size);

    return n < size ? n : size - 1;
}

static int64_t
pev_bytes(const struct t1071i_pev *p)
{
    return p->has_xfer ? p->xfer : -1;
}

/* ===== Pairs ===== */

struct bpair *
t1071i_pair_new(const char *dest, size_t len)
{
    struct bpair *pr = calloc(1, sizeof(*pr) + len + 1);

    if (!pr)
        return NULL;
    memcpy(pr->dest, dest, len);
    pr->dest[len] = '\0';
    pr->len = (uint16_t)len;
    pr->cap = (uint16_t)len;
    return pr;
}

size_t
t1071i_pair_bytes(const struct bpair *pr)
{
    return t1071i_tracker_pair_bytes(pr->len, pr->cand != NULL);
}

static void
pair_free(struct bpair *pr)
{
    free(pr->cand);
    free(pr);
}

/* FNV-1a of the destination: a filter before the comparison, so it
 * needs no seed (a collision costs one memcmp; the scan is bounded by
 * beacon.max_destinations whatever the tags). */
uint32_t
t1071i_pair_tag(const char *dest, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)dest[i]) * 16777619u;
    return h;
}

/* The slot of @p dest in @p kb, or -1. */
static long
pair_find(const struct t1071i_kbeacon *kb, const char *dest, size_t len, uint32_t tag)
{
    for (uint32_t i = 0; i < kb->n_pairs; i++)
        if (kb->tags[i] == tag && kb->pairs[i]->len == len &&
            !memcmp(kb->pairs[i]->dest, dest, len))
            return (long)i;
    return -1;
}

/* Room for @p want slots, never more than @p max (a full key replaces
 * slots); the array's bytes are in the budget. */
bool
t1071i_slots_reserve(struct t1071i_kbeacon *kb, uint32_t want, uint32_t max, int64_t *delta)
{
    uint32_t cap = kb->slots_cap ? kb->slots_cap : 4;
    void *mem;

    if (want <= kb->slots_cap)
        return true;
    while (cap < want)
        cap *= 2;
    if (cap > max)
        cap = max > want ? max : want;
    mem = malloc((size_t)cap * SLOT_BYTES);
    if (!mem)
        return false;
    if (kb->n_pairs) {
        memcpy(mem, kb->pairs, kb->n_pairs * sizeof(*kb->pairs));
        memcpy((struct bpair **)mem + cap, kb->tags, kb->n_pairs * sizeof(*kb->tags));
    }
    free(kb->pairs);
    kb->pairs = mem;
    kb->tags = (uint32_t *)((struct bpair **)mem + cap);
    *delta += (int64_t)(cap - kb->slots_cap) * (int64_t)SLOT_BYTES;
    kb->slots_cap = cap;
    return true;
}

/* Move slot @p i to the front (most recently used). */
static void
slot_to_front(struct t1071i_kbeacon *kb, uint32_t i)
{
    struct bpair *pr = kb->pairs[i];
    uint32_t tag = kb->tags[i];

    memmove(kb->pairs + 1, kb->pairs, i * sizeof(*kb->pairs));
    memmove(kb->tags + 1, kb->tags, i * sizeof(*kb->tags));
    kb->pairs[0] = pr;
    kb->tags[0] = tag;
}

static void
pair_observe(struct bpair *pr, int64_t ts, int64_t bytes, int64_t *delta)
{
    if (pr->cand) {
        t1071i_beacon_observe(&pr->cand->st, ts, bytes);
    } else if (pr->count < T0) {
        pr->t0_ts[pr->count] = ts;
        pr->t0_bytes[pr->count] = bytes;
    } else {
        /* Promotion: replay the inline events, so the candidate equals one
         * that had seen every event. */
        struct cand *c = calloc(1, sizeof(*c));
        if (!c)
            return; /* stays tier 0 (count <= T0 holds); the event is lost */
        for (int i = 0; i < T0; i++)
            t1071i_beacon_observe(&c->st, pr->t0_ts[i], pr->t0_bytes[i]);
        t1071i_beacon_observe(&c->st, ts, bytes);
        pr->cand = c;
        *delta += (int64_t)sizeof(*c);
    }
    if (pr->count < UINT32_MAX)
        pr->count++;
}

/* The pair's verdict and RITA timestamp score: a tier-0 pair scores its
 * few inline events (cheap: too few intervals for the timing scan); a
 * promoted one uses its cache, refreshed as described at struct cand. */
static void
pair_verdict(struct bpair *pr, struct t1071i_beacon_verdict *v, double *rita)
{
    struct cand *c = pr->cand;

    if (!c) {
        struct t1071i_beacon_state tmp;
        memset(&tmp, 0, sizeof(tmp));
        for (uint32_t i = 0; i < pr->count && i < T0; i++)
            t1071i_beacon_observe(&tmp, pr->t0_ts[i], pr->t0_bytes[i]);
        t1071i_beacon_score(&tmp, v);
        *rita = t1071i_beacon_rita_ts_score(&tmp);
        return;
    }
    if (!c->valid || c->st.n_beats < c->beats ||
        c->st.n_beats - c->beats >= 1u + c->st.ring_len / 16u) {
        t1071i_beacon_score(&c->st, &c->v);
        c->rita = t1071i_beacon_rita_ts_score(&c->st);
        c->beats = c->st.n_beats;
        c->valid = true;
    }
    *v = c->v;
    *rita = c->rita;
}

/* ===== Per key ===== */

size_t
t1071i_tracker_need(const struct t1071i_tracker *t, const struct t1071i_pev *p)
{
    /* A bound, without formatting the destination (hot path):
     * "[ip]:port" adds at most 23 characters to the address. */
    size_t len = p->domain ? strlen(p->domain) : (p->ip ? strlen(p->ip) : 1) + 23;
    size_t need;

    if (len > 255)
        len = 255;
    need = sizeof(struct t1071i_kbeacon) + t1071i_tracker_pair_bytes(1, true) +
           t1071i_tracker_pair_bytes(len, true) + (p->flow ? FLOW_BYTES : 0);

    if (t->slots)
        need += t1071i_prev_entry_bytes(t, len + 1 + (p->exe ? strlen(p->exe) : 0) +
                                        (p->pname ? strlen(p->pname) : 0));
    return need;
}

int
t1071i_tracker_observe(struct t1071i_tracker *t, struct t1071i_kbeacon **kbp, bool fallback,
                       const struct t1071i_pev *p, int64_t *mem_delta)
{
    struct t1071i_kbeacon *kb = *kbp;
    struct bpair *pr = NULL;
    char dest[256];
    size_t len = t1071i_pev_dest(p, dest, sizeof(dest));
    int64_t bytes = pev_bytes(p);

    *mem_delta = 0;
    if (!kb) {
        kb = calloc(1, sizeof(*kb));
        if (!kb)
            return T1071_E_NOMEM;
        if (t->score && !(kb->agg = t1071i_pair_new("*", 1))) {
            free(kb);
            return T1071_E_NOMEM;
        }
        kb->fallback = fallback;
        *mem_delta += (int64_t)(sizeof(*kb) + (kb->agg ? t1071i_pair_bytes(kb->agg) : 0));
        *kbp = kb;
    }
    if (!t->score)
        return T1071_OK; /* tuning state only */
    if (p->flow && *p->flow) {
        uint64_t h = t1071i_hash(t->seed, p->flow, strlen(p->flow));
        for (uint8_t i = 0; i < kb->n_flows; i++)
            if (kb->flows[i] == h)
                return T1071_OK; /* a report of a flow already counted */
        if (!kb->flows) {
            kb->flows = calloc(FLOW_SEEN, sizeof(*kb->flows));
            if (!kb->flows)
                return T1071_E_NOMEM;
            *mem_delta += (int64_t)FLOW_BYTES;
        }
        kb->flows[kb->flow_head] = h;
        kb->flow_head = (uint8_t)((kb->flow_head + 1) % FLOW_SEEN);
        if (kb->n_flows < FLOW_SEEN)
            kb->n_flows++;
    }
    uint32_t max = t->tun->max_destinations, tag = t1071i_pair_tag(dest, len);
    long at = pair_find(kb, dest, len, tag);
    if (at >= 0) {
        pr = kb->pairs[at];
        slot_to_front(kb, (uint32_t)at);
    } else if (kb->n_pairs > 0 && kb->n_pairs >= max &&
               kb->pairs[kb->n_pairs - 1]->cap >= len &&
               kb->pairs[kb->n_pairs - 1]->cap - len <= REUSE_SLACK) {
        /* Full: the least recently used destination makes way.  Reuse
         * its allocation when it fits: the same state as a new pair, as
         * the same accounting (by length) says. */
        uint32_t last = kb->n_pairs - 1;
        uint16_t cap;
        pr = kb->pairs[last];
        cap = pr->cap;
        *mem_delta -= (int64_t)t1071i_pair_bytes(pr);
        free(pr->cand);
        memset(pr, 0, sizeof(*pr));
        memcpy(pr->dest, dest, len);
        pr->dest[len] = '\0';
        pr->len = (uint16_t)len;
        pr->cap = cap;
        kb->tags[last] = tag;
        slot_to_front(kb, last);
        *mem_delta += (int64_t)t1071i_pair_bytes(pr);
    } else if (t1071i_slots_reserve(kb, kb->n_pairs < max ? kb->n_pairs + 1 : max, max, mem_delta) &&
               (pr = t1071i_pair_new(dest, len)) != NULL) {
        if (kb->n_pairs >= max) {
            /* Drop the least recently used destination (the aggregate
             * keeps its history). */
            *mem_delta -= (int64_t)t1071i_pair_bytes(kb->pairs[kb->n_pairs - 1]);
            pair_free(kb->pairs[--kb->n_pairs]);
        }
        kb->pairs[kb->n_pairs] = pr;
        kb->tags[kb->n_pairs] = tag;
        slot_to_front(kb, kb->n_pairs++);
        *mem_delta += (int64_t)t1071i_pair_bytes(pr);
    }
    if (pr) {
        int64_t d = 0;
        pair_observe(pr, p->ts, bytes, &d);
        *mem_delta += d;
    }
    {
        int64_t d = 0;
        pair_observe(kb->agg, p->ts, bytes, &d);
        *mem_delta += d;
    }
    return T1071_OK;
}

size_t
t1071i_tracker_free_key(struct t1071i_kbeacon *kb)
{
    size_t freed;

    if (!kb)
        return 0;
    freed = sizeof(*kb) + (size_t)kb->slots_cap * SLOT_BYTES + (kb->flows ? FLOW_BYTES : 0);
    free(kb->flows);
    for (uint32_t i = 0; i < kb->n_pairs; i++) {
        freed += t1071i_pair_bytes(kb->pairs[i]);
        pair_free(kb->pairs[i]);
    }
    free(kb->pairs);
    if (kb->agg) {
        freed += t1071i_pair_bytes(kb->agg);
        pair_free(kb->agg);
    }
    free(kb);
    return freed;
}

const char *
t1071i_tracker_fallback_key(struct t1071i_tracker *t, const struct t1071i_pev *p)
{
    const char *host = p->host_id ? p->host_id : p->host_name;
    size_t hl, el, need;

    if (!t || !t->tun->fallback_key || !p->exe || !host)
        return NULL;
    /* Built in a buffer the tracker keeps (grown, never per event):
     * g_strdup_printf here was a malloc and a vfprintf per event. */
    hl = strlen(host);
    el = strlen(p->exe);
    need = sizeof("fallback:") - 1 + hl + 1 + el + 1;
    if (need > t->fk_cap) {
        t->fk = g_realloc(t->fk, need);
        t->fk_cap = need;
    }
    memcpy(t->fk, "fallback:", sizeof("fallback:") - 1);
    memcpy(t->fk + sizeof("fallback:") - 1, host, hl);
    t->fk[sizeof("fallback:") - 1 + hl] = '|';
    memcpy(t->fk + sizeof("fallback:") + hl, p->exe, el + 1);
    return t->fk;
}

/* ===== Judge ===== */

void
t1071i_tracker_judge(struct t1071i_tracker *t, struct t1071i_kbeacon *kb,
                     struct t1071i_pev *const *members, size_t n, struct t1071i_judgement *j)
{
    const struct t1071i_tuning_cfg *tun = t->tun;
    const struct t1071i_pev *last = members[n - 1];
    struct t1071i_beacon_verdict va;
    struct bpair *pr = NULL;
    char dest[256];
    size_t len = t1071i_pev_dest(last, dest, sizeof(dest));
    double score;

    memset(j, 0, sizeof(*j));
    j->sequences = 1;
    j->rita_ts = -1;
    j->scope = "destination";
    j->scored = t->score;
    j->fallback = kb && kb->fallback;
    if (!t->score) {
        t1071i_beacon_score(NULL, &j->v); /* neutral; never reported */
    } else if (kb) {
        long at = pair_find(kb, dest, len, t1071i_pair_tag(dest, len));
        pr = at >= 0 ? kb->pairs[at] : NULL;
        if (pr) {
            pair_verdict(pr, &j->v, &j->rita_ts);
            snprintf(j->destination, sizeof(j->destination), "%s", pr->dest);
        }
        /* A fallback key's aggregate mixes every process of the
         * executable on the host, unrelated ones included (issue 13):
         * only a destination's pair speaks for a fallback sequence. */
        if (kb->agg && !kb->fallback && (!pr || kb->agg->count > pr->count)) {
            /* The aggregate differs from the pair only with other
             * destinations: score it then, keep the better. */
            double rita;
            pair_verdict(kb->agg, &va, &rita);
            if (!pr || va.score > j->v.score) {
                j->v = va;
                j->rita_ts = rita;
                j->scope = "key";
                snprintf(j->destination, sizeof(j->destination), "*");
            }
        }
    } else {
        t1071i_beacon_score(NULL, &j->v);
    }
    score = j->v.score;
    j->raw_score = score;

    /* Tuning, first reason wins. */
    if (t1071i_path_listed(tun->allow_exes, tun->n_allow_exes, last->exe)) {
        j->reason = "allowlisted_executable";
    } else if (tun->n_allow_cidrs || tun->n_allow_domains) {
        size_t i;
        for (i = 0; i < n; i++)
            if (!t1071i_dest_allowlisted(tun, members[i]))
                break;
        if (i == n)
            j->reason = "allowlisted_destination";
    }
    if (!j->reason && j->scored &&
        t1071i_path_listed(tun->heartbeat_exes, tun->n_heartbeat_exes, last->exe) &&
        j->v.timing >= 0.5 && j->v.jitter <= tun->heartbeat_max_jitter)
        j->reason = "heartbeat";
    if (!j->reason && kb && kb->fallback)
        j->reason = t1071i_fallback_reason(members, n);
    if (!j->reason && kb && kb->fallback)
        j->reason = t1071i_fallback_unrelated(members, n, dest);
    if (t->slots) {
        j->prevalence_hosts = t1071i_prevalence_hosts(t, last);
        if (!j->reason && tun->prevalence_suppress_hosts &&
            j->prevalence_hosts >= tun->prevalence_suppress_hosts)
            j->reason = "prevalence";
        else if (tun->prevalence_hosts && j->prevalence_hosts >= tun->prevalence_hosts)
            score *= tun->prevalence_penalty;
    }
    j->v.score = score;
    if (!j->reason && j->scored && tun->score_threshold > 0 && score < tun->score_threshold)
        j->reason = "score_below_threshold";
    if (!j->reason && kb && tun->suppress_period_ms > 0) {
        if (kb->has_last_alert && last->ts - kb->last_alert_ms < tun->suppress_period_ms) {
            j->reason = "suppression_window";
            kb->pending++;
        } else {
            j->sequences = kb->pending + 1;
            kb->pending = 0;
            kb->has_last_alert = true;
            kb->last_alert_ms = last->ts;
        }
    }
    j->suppressed = j->reason != NULL;
}
