/* SPDX-License-Identifier: Apache-2.0 */
/* The beacon tracker and the tuning verdict: see tracker.h.  Everything
 * here is a pure function of the events observed (event time only, no
 * wall clock, no iteration over hash order), so a restored context gives
 * the same alerts byte for byte. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "score/tracker.h"
#include "util/addr.h"
#include "util/hash.h"
#include "util/timefmt.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* same bits everywhere: no FMA */
#endif

#define T0 T1071I_TRACKER_T0
/* Prevalence buckets: 1024 (8 KiB) at first, doubled whenever the
 * entries outnumber them, up to one per entry at the cap (128 KiB at
 * 16,384 entries).  Fixed at 1024, chains at the cap were 16 entries long,
 * a cache miss each, and a destination seen once (a browser's) walked a
 * whole chain on every event.  Entries only ever leave at the cap, to be
 * replaced, so the size is a function of the entry count: a restored
 * tracker grows the same way. */
#define PREV_BUCKETS_MIN 1024u
#define PREV_BUCKETS_MAX ((uint32_t)T1071I_PREVALENCE_MAX)
/* A dropped pair or prevalence entry is reused for the one replacing it
 * (no malloc + free per new destination in steady state) when its key
 * room is at most this much larger than needed.  Accounting stays by
 * length, so such an entry holds at most this many bytes uncounted. */
#define REUSE_SLACK 32u

/* ===== State ===== */

/* A promoted pair: the candidate state and its cached verdict.  Scoring
 * a full ring costs tens of microseconds and in the faithful profile an
 * alert may come with every event, so the verdict is recomputed once
 * 1 + ring_len / 16 new beats have arrived (at most 9 beats stale, exact
 * below 16 intervals).  The cache is state: it is in snapshots. */
struct cand {
    struct t1071i_beacon_state st;
    struct t1071i_beacon_verdict v;
    double rita;
    uint64_t beats;      /* st.n_beats when v was computed */
    bool valid;
};

struct bpair {
    struct cand *cand;                 /* NULL while tier 0 */
    int64_t t0_ts[T0];                 /* tier 0: the first events */
    int64_t t0_bytes[T0];
    uint32_t count;                    /* events observed, saturating */
    uint16_t len;                      /* < 256 */
    uint16_t cap;                      /* dest[] holds cap + 1 bytes */
    char dest[];
};

/* A key's pairs are an array, most recently used first, with a tag (a
 * hash of the destination) per slot beside it: finding a destination
 * reads the tags, one or two cache lines, instead of chasing a list
 * through every pair's allocation (a cache miss each: a browser key
 * with beacon.max_destinations pairs paid 32 of them per event). */
struct t1071i_kbeacon {
    struct bpair **pairs; /* n_pairs of slots_cap, most recently used first */
    uint32_t *tags;       /* pair_tag() of each, in the same allocation */
    struct bpair *agg;    /* every destination of the key */
    uint32_t n_pairs;
    uint32_t slots_cap;
    bool fallback;        /* a tuning.fallback_key key */
    bool has_last_alert;
    int64_t last_alert_ms;
    uint64_t pending;     /* sequences suppressed by the period since then */
};

struct prev_entry {
    struct prev_entry *older, *newer; /* LRU list */
    struct prev_entry *chain;
    uint64_t hash;
    uint32_t n;                       /* host slots in use */
    uint16_t len;                     /* < 512 */
    uint16_t cap;                     /* the key's room, len <= cap */
    uint64_t *host_hash;              /* slots, inline after the struct */
    int64_t *host_ts;                 /* then the key, NUL-terminated */
};

struct t1071i_tracker {
    const struct t1071_config *cfg;
    const struct t1071i_tuning_cfg *tun;
    bool score;                       /* beacon.enabled: keep pairs and score */
    uint64_t seed;
    uint32_t slots;                   /* host slots per prevalence entry; 0 = off */
    struct prev_entry **buckets;
    uint32_t n_buckets;               /* a power of two */
    struct prev_entry *oldest, *newest;
    size_t n_entries;
    size_t bytes;
    /* Scratch, not state: the last fallback key value, one key value
     * long.  Left out of the accounted bytes (TRACKER_BYTES), so the
     * memory counters and engine.memory_limit read as they did. */
    char *fk;
    size_t fk_cap;
};

#define TRACKER_BYTES offsetof(struct t1071i_tracker, fk)

/* Bytes of one pair slot in a key's array (pointer and tag). */
#define SLOT_BYTES (sizeof(struct bpair *) + sizeof(uint32_t))

size_t
t1071i_tracker_pair_bytes(size_t len, bool promoted)
{
    return sizeof(struct bpair) + len + 1 +
           (promoted ? sizeof(struct cand) : 0);
}

static size_t
prev_entry_bytes(const struct t1071i_tracker *t, size_t len)
{
    return sizeof(struct prev_entry) + t->slots * (sizeof(uint64_t) + sizeof(int64_t)) + len + 1;
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
    g_free(t->fk);
    free(t);
}

size_t
t1071i_tracker_bytes(const struct t1071i_tracker *t)
{
    return t ? t->bytes : 0;
}

/* ===== Destinations ===== */

/* The pair's destination: domain (or TLS server name) when present, else
 * ip:port ([v6]:port), "?:port" without an address.  Truncated to fit. */
/* snprintf's semantics by hand (it was a tenth of the tuned feed): @p b
 * receives what fits of the output, NUL-terminated; @p n counts the full
 * length. */
struct sbuf {
    char *b;
    size_t size, n;
};

static void
sb_put(struct sbuf *sb, const char *s, size_t len)
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

    sb_put(sb, d, t1071i_format_i64(v, d));
}

/* Terminate; returns the full length (snprintf's return value). */
static size_t
sb_end(struct sbuf *sb)
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
        sb_put(&sb, p->domain, strlen(p->domain));
    } else if (p->ip && strchr(p->ip, ':')) {
        sb_put(&sb, "[", 1);
        sb_put(&sb, p->ip, strlen(p->ip));
        sb_put(&sb, "]:", 2);
        sb_i64(&sb, p->port);
    } else {
        const char *ip = p->ip ? p->ip : "?";
        sb_put(&sb, ip, strlen(ip));
        sb_put(&sb, ":", 1);
        sb_i64(&sb, p->port);
    }
    return sb_end(&sb);
}

/* The same, truncated to fit: the length written. */
static size_t
pev_dest(const struct t1071i_pev *p, char *buf, size_t size)
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

static struct bpair *
pair_new(const char *dest, size_t len)
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

static size_t
pair_bytes(const struct bpair *pr)
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
static uint32_t
pair_tag(const char *dest, size_t len)
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
static bool
slots_reserve(struct t1071i_kbeacon *kb, uint32_t want, uint32_t max, int64_t *delta)
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
           t1071i_tracker_pair_bytes(len, true);

    if (t->slots)
        need += prev_entry_bytes(t, len + 1 + (p->exe ? strlen(p->exe) : 0) +
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
    size_t len = pev_dest(p, dest, sizeof(dest));
    int64_t bytes = pev_bytes(p);

    *mem_delta = 0;
    if (!kb) {
        kb = calloc(1, sizeof(*kb));
        if (!kb)
            return T1071_E_NOMEM;
        if (t->score && !(kb->agg = pair_new("*", 1))) {
            free(kb);
            return T1071_E_NOMEM;
        }
        kb->fallback = fallback;
        *mem_delta += (int64_t)(sizeof(*kb) + (kb->agg ? pair_bytes(kb->agg) : 0));
        *kbp = kb;
    }
    if (!t->score)
        return T1071_OK; /* tuning state only */
    uint32_t max = t->tun->max_destinations, tag = pair_tag(dest, len);
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
        *mem_delta -= (int64_t)pair_bytes(pr);
        free(pr->cand);
        memset(pr, 0, sizeof(*pr));
        memcpy(pr->dest, dest, len);
        pr->dest[len] = '\0';
        pr->len = (uint16_t)len;
        pr->cap = cap;
        kb->tags[last] = tag;
        slot_to_front(kb, last);
        *mem_delta += (int64_t)pair_bytes(pr);
    } else if (slots_reserve(kb, kb->n_pairs < max ? kb->n_pairs + 1 : max, max, mem_delta) &&
               (pr = pair_new(dest, len)) != NULL) {
        if (kb->n_pairs >= max) {
            /* Drop the least recently used destination (the aggregate
             * keeps its history). */
            *mem_delta -= (int64_t)pair_bytes(kb->pairs[kb->n_pairs - 1]);
            pair_free(kb->pairs[--kb->n_pairs]);
        }
        kb->pairs[kb->n_pairs] = pr;
        kb->tags[kb->n_pairs] = tag;
        slot_to_front(kb, kb->n_pairs++);
        *mem_delta += (int64_t)pair_bytes(pr);
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
    freed = sizeof(*kb) + (size_t)kb->slots_cap * SLOT_BYTES;
    for (uint32_t i = 0; i < kb->n_pairs; i++) {
        freed += pair_bytes(kb->pairs[i]);
        pair_free(kb->pairs[i]);
    }
    free(kb->pairs);
    if (kb->agg) {
        freed += pair_bytes(kb->agg);
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

/* ===== Prevalence ===== */

static size_t
prev_key(const struct t1071i_pev *p, char *buf, size_t size)
{
    const char *exe = p->exe ? p->exe : p->pname;
    size_t n, w;

    if (!exe)
        return 0;
    n = pev_dest(p, buf, size);
    {
        struct sbuf sb = {buf + n, size - n, 0};
        sb_put(&sb, "\x1f", 1);
        sb_put(&sb, exe, strlen(exe));
        w = sb_end(&sb);
    }
    n += w;
    return n < size ? n : size - 1;
}

static struct prev_entry *
prev_find(const struct t1071i_tracker *t, const char *key, size_t len, uint64_t h)
{
    for (struct prev_entry *e = t->buckets[h & (t->n_buckets - 1)]; e; e = e->chain)
        if (e->hash == h && e->len == len &&
            !memcmp((const char *)(e->host_ts + t->slots), key, len))
            return e;
    return NULL;
}

/* prev_find, moving a hit to the front of its bucket's chain: a
 * destination seen again is usually seen again soon (beacons), and at the
 * cap chains are 16 long.  Chain order is never observable (snapshots
 * walk the LRU list). */
static struct prev_entry *
prev_find_front(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h)
{
    struct prev_entry **head = &t->buckets[h & (t->n_buckets - 1)];

    for (struct prev_entry **pp = head, *e; (e = *pp) != NULL; pp = &e->chain)
        if (e->hash == h && e->len == len &&
            !memcmp((const char *)(e->host_ts + t->slots), key, len)) {
            if (pp != head) {
                *pp = e->chain;
                e->chain = *head;
                *head = e;
            }
            return e;
        }
    return NULL;
}

static void
prev_unlink(struct t1071i_tracker *t, struct prev_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    e->older = e->newer = NULL;
}

static void
prev_append(struct t1071i_tracker *t, struct prev_entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest)
        t->newest->newer = e;
    else
        t->oldest = e;
    t->newest = e;
}

/* Take @p e out of the table (chain, LRU list, counts), not freed. */
static void
prev_detach(struct t1071i_tracker *t, struct prev_entry *e)
{
    struct prev_entry **pp = &t->buckets[e->hash & (t->n_buckets - 1)];

    while (*pp && *pp != e)
        pp = &(*pp)->chain;
    if (*pp)
        *pp = e->chain;
    prev_unlink(t, e);
    t->bytes -= prev_entry_bytes(t, e->len);
    t->n_entries--;
}

static void
prev_drop(struct t1071i_tracker *t, struct prev_entry *e)
{
    prev_detach(t, e);
    free(e);
}

/* Double the buckets once the entries outnumber them (see
 * PREV_BUCKETS_MIN); on failure the chains just stay longer. */
static void
prev_grow(struct t1071i_tracker *t)
{
    uint32_t n = t->n_buckets * 2;
    struct prev_entry **b;

    if (t->n_entries < t->n_buckets || t->n_buckets >= PREV_BUCKETS_MAX)
        return;
    b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (struct prev_entry *e = t->oldest; e; e = e->newer) {
        e->chain = b[e->hash & (n - 1)];
        b[e->hash & (n - 1)] = e;
    }
    free(t->buckets);
    t->buckets = b;
    t->bytes += (size_t)(n - t->n_buckets) * sizeof(*b);
    t->n_buckets = n;
}

static struct prev_entry *
prev_insert(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h)
{
    struct prev_entry *e = NULL;

    prev_grow(t);
    if (t->n_entries >= T1071I_PREVALENCE_MAX) {
        struct prev_entry *o = t->oldest;
        if (o->cap >= len && o->cap - len <= REUSE_SLACK) {
            /* Take the oldest entry over rather than free + calloc. */
            uint16_t cap = o->cap;
            size_t whole = prev_entry_bytes(t, cap);
            prev_detach(t, o);
            memset(o, 0, whole);
            o->cap = cap;
            e = o;
        } else {
            prev_drop(t, o);
        }
    }
    if (!e) {
        e = calloc(1, prev_entry_bytes(t, len));
        if (!e)
            return NULL;
        e->cap = (uint16_t)len;
    }
    e->host_hash = (uint64_t *)(e + 1);
    e->host_ts = (int64_t *)(e->host_hash + t->slots);
    {
        char *k = (char *)(e->host_ts + t->slots);
        memcpy(k, key, len);
        k[len] = '\0';
    }
    e->hash = h;
    e->len = (uint16_t)len;
    e->chain = t->buckets[h & (t->n_buckets - 1)];
    t->buckets[h & (t->n_buckets - 1)] = e;
    prev_append(t, e);
    t->n_entries++;
    t->bytes += prev_entry_bytes(t, len);
    return e;
}

static const char *
prev_entry_key(const struct t1071i_tracker *t, const struct prev_entry *e)
{
    return (const char *)(e->host_ts + t->slots);
}

void
t1071i_tracker_observe_event(struct t1071i_tracker *t, const struct t1071i_pev *p,
                             int64_t *mem_delta)
{
    char key[512];
    size_t len, before;
    uint64_t h, hh;
    struct prev_entry *e;
    const char *host = p->host_id ? p->host_id : p->host_name ? p->host_name : "";
    uint32_t slot;

    *mem_delta = 0;
    if (!t || !t->slots || !(len = prev_key(p, key, sizeof(key))))
        return;
    before = t->bytes;
    h = t1071i_hash(t->seed, key, len);
    hh = t1071i_hash(t->seed, host, strlen(host));
    e = prev_find_front(t, key, len, h);
    if (e)
        prev_unlink(t, e), prev_append(t, e);
    else if (!(e = prev_insert(t, key, len, h)))
        return;
    for (slot = 0; slot < e->n; slot++)
        if (e->host_hash[slot] == hh)
            break;
    if (slot == e->n) {
        if (e->n < t->slots) {
            e->n++;
        } else {
            /* Full: the host seen longest ago makes way. */
            slot = 0;
            for (uint32_t i = 1; i < e->n; i++)
                if (e->host_ts[i] < e->host_ts[slot])
                    slot = i;
        }
        e->host_hash[slot] = hh;
        e->host_ts[slot] = p->ts;
    } else if (p->ts > e->host_ts[slot]) {
        e->host_ts[slot] = p->ts;
    }
    *mem_delta = (int64_t)t->bytes - (int64_t)before;
}

static uint32_t
prevalence_hosts(const struct t1071i_tracker *t, const struct t1071i_pev *p)
{
    char key[512];
    size_t len;
    struct prev_entry *e;
    uint32_t n = 0;
    int64_t horizon = p->ts - t->tun->prevalence_window_ms;

    if (!t->slots || !(len = prev_key(p, key, sizeof(key))))
        return 0;
    e = prev_find(t, key, len, t1071i_hash(t->seed, key, len));
    if (!e)
        return 0;
    /* A host seen "later" than a window ahead is a forged clock (a
     * retracted first event): it does not count. */
    for (uint32_t i = 0; i < e->n; i++)
        if (e->host_ts[i] >= horizon && e->host_ts[i] - p->ts <= t->tun->prevalence_window_ms)
            n++;
    return n;
}

/* ===== Matching ===== */

static bool
is_sep(char c)
{
    return c == '/' || c == '\\';
}

static inline char
lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Length of the segment starting at @p s (up to a separator or the end). */
static inline size_t
seg_len(const char *s)
{
    size_t n = 0;

    while (s[n] && !is_sep(s[n]))
        n++;
    return n;
}

/* Glob within one path segment: '*' any run, '?' one character; ASCII
 * case-insensitive (Windows paths).  Iterative, one backtrack point.
 * Judged on every alert of the tuned profile, against every listed
 * pattern: plain loops, no library call per character. */
static bool
seg_match(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

    while (si < sn) {
        if (pi < pn && (p[pi] == '?' || lower_ascii(p[pi]) == lower_ascii(s[si]))) {
            pi++;
            si++;
        } else if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

/* A full path against a pattern: the same number of segments ('/' and
 * '\' alike), each matching.  A bare name never matches a path: a
 * pattern is always a full path (config refuses names). */
static bool
path_match(const char *pat, const char *path)
{
    for (;;) {
        size_t pn = seg_len(pat), sn = seg_len(path);
        if (!seg_match(pat, pn, path, sn))
            return false;
        pat += pn;
        path += sn;
        if (!*pat || !*path)
            return !*pat && !*path;
        if (!is_sep(*pat) || !is_sep(*path))
            return false;
        pat++;
        path++;
    }
}

static bool
path_listed(char *const *list, size_t n, const char *exe)
{
    if (!exe)
        return false;
    for (size_t i = 0; i < n; i++)
        if (path_match(list[i], exe))
            return true;
    return false;
}

static bool
domain_listed(const struct t1071i_tuning_cfg *tun, const char *domain)
{
    size_t dn;

    if (!domain)
        return false;
    dn = strlen(domain);
    while (dn && domain[dn - 1] == '.')
        dn--;
    for (size_t i = 0; i < tun->n_allow_domains; i++) {
        const char *sfx = tun->allow_domains[i];
        size_t sn = strlen(sfx);
        if (sn > dn || g_ascii_strncasecmp(domain + dn - sn, sfx, sn) != 0)
            continue;
        if (sn == dn || domain[dn - sn - 1] == '.')
            return true;
    }
    return false;
}

static bool
dest_allowlisted(const struct t1071i_tuning_cfg *tun, const struct t1071i_pev *p)
{
    if (domain_listed(tun, p->domain))
        return true;
    if (p->ip && tun->n_allow_cidrs) {
        uint8_t a[16];
        bool v4;
        if (t1071i_parse_ip(p->ip, a, &v4))
            for (size_t i = 0; i < tun->n_allow_cidrs; i++)
                if (t1071i_cidr_contains(&tun->allow_cidrs[i], a))
                    return true;
    }
    return false;
}

/* A fallback key's sequence adds nothing when one process made it all (its
 * own key sees it) or when processes interleave (concurrent instances, not
 * one implant restarting).  Returns the reason, or NULL. */
static const char *
fallback_reason(struct t1071i_pev *const *m, size_t n)
{
    size_t changes = 0;
    const char *reason = NULL;
    GHashTable *seen;

    for (size_t i = 1; i < n; i++)
        if (strcmp(m[i]->keys[0], m[i - 1]->keys[0]) != 0)
            changes++;
    if (changes == 0)
        return "fallback_same_process";
    /* Restarts: each process's events are one contiguous run.  Sequences
     * are short (rule.runs events): compare each run's process with the
     * earlier runs' rather than build a hash table (a malloc per alert). */
    if (n <= 64) {
        const char *starts[64];
        size_t ns = 0;
        for (size_t i = 0; i < n; i++) {
            if (i && !strcmp(m[i]->keys[0], m[i - 1]->keys[0]))
                continue;
            for (size_t k = 0; k < ns; k++)
                if (!strcmp(starts[k], m[i]->keys[0]))
                    return "fallback_concurrent";
            starts[ns++] = m[i]->keys[0];
        }
        return NULL;
    }
    seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < n && !reason; i++) {
        if (i && !strcmp(m[i]->keys[0], m[i - 1]->keys[0]))
            continue;
        if (g_hash_table_contains(seen, m[i]->keys[0]))
            reason = "fallback_concurrent";
        g_hash_table_add(seen, (gpointer)m[i]->keys[0]);
    }
    g_hash_table_destroy(seen);
    return reason;
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
    size_t len = pev_dest(last, dest, sizeof(dest));
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
        long at = pair_find(kb, dest, len, pair_tag(dest, len));
        pr = at >= 0 ? kb->pairs[at] : NULL;
        if (pr) {
            pair_verdict(pr, &j->v, &j->rita_ts);
            snprintf(j->destination, sizeof(j->destination), "%s", pr->dest);
        }
        if (kb->agg && (!pr || kb->agg->count > pr->count)) {
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
    if (path_listed(tun->allow_exes, tun->n_allow_exes, last->exe)) {
        j->reason = "allowlisted_executable";
    } else if (tun->n_allow_cidrs || tun->n_allow_domains) {
        size_t i;
        for (i = 0; i < n; i++)
            if (!dest_allowlisted(tun, members[i]))
                break;
        if (i == n)
            j->reason = "allowlisted_destination";
    }
    if (!j->reason && j->scored &&
        path_listed(tun->heartbeat_exes, tun->n_heartbeat_exes, last->exe) &&
        j->v.timing >= 0.5 && j->v.jitter <= tun->heartbeat_max_jitter)
        j->reason = "heartbeat";
    if (!j->reason && kb && kb->fallback)
        j->reason = fallback_reason(members, n);
    if (t->slots) {
        j->prevalence_hosts = prevalence_hosts(t, last);
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

/* ===== Snapshots ===== */

typedef T1071__Ecs__V1__SnapshotBeacon snap_beacon_t;
typedef T1071__Ecs__V1__SnapshotBeaconPair snap_pair_t;
typedef T1071__Ecs__V1__SnapshotBeaconState snap_state_t;

static void *
keep(void *to_free, void *p)
{
    g_ptr_array_add((GPtrArray *)to_free, p);
    return p;
}

static snap_pair_t *
snap_pair(const struct bpair *pr, void *to_free)
{
    snap_pair_t *m = keep(to_free, g_new0(snap_pair_t, 1));

    t1071__ecs__v1__snapshot_beacon_pair__init(m);
    m->destination = (char *)pr->dest;
    m->has_count = 1;
    m->count = pr->count;
    if (!pr->cand) {
        size_t n = pr->count; /* <= T0 until promoted */
        m->n_t0_ts = m->n_t0_bytes = n;
        m->t0_ts = (int64_t *)pr->t0_ts;
        m->t0_bytes = (int64_t *)pr->t0_bytes;
    } else {
        const struct t1071i_beacon_state *c = &pr->cand->st;
        snap_state_t *s = keep(to_free, g_new0(snap_state_t, 1));
        uint32_t *hours = keep(to_free, g_new(uint32_t, T1071I_BEACON_HOURS));
        uint32_t *sc = keep(to_free, g_new(uint32_t, T1071I_BEACON_SIZE_SLOTS));
        uint32_t *sn = keep(to_free, g_new(uint32_t, T1071I_BEACON_SIZE_SLOTS));
        t1071__ecs__v1__snapshot_beacon_state__init(s);
        s->has_first_ms = s->has_last_ms = s->has_beat_ms = s->has_hour_head = 1;
        s->first_ms = c->first_ms;
        s->last_ms = c->last_ms;
        s->beat_ms = c->beat_ms;
        s->hour_head = c->hour_head;
        s->has_n_events = s->has_n_beats = s->has_active = 1;
        s->n_events = c->n_events;
        s->n_beats = c->n_beats;
        s->active = c->active;
        s->n_ring = T1071I_BEACON_RING;
        s->ring = (uint32_t *)c->ring;
        s->has_n_sized = 1;
        s->n_sized = c->n_sized;
        for (int i = 0; i < T1071I_BEACON_HOURS; i++)
            hours[i] = c->hours[i];
        s->n_hours = T1071I_BEACON_HOURS;
        s->hours = hours;
        s->has_ring_head = s->has_ring_len = s->has_flags = 1;
        s->ring_head = c->ring_head;
        s->ring_len = c->ring_len;
        s->flags = c->flags;
        for (int i = 0; i < T1071I_BEACON_SIZE_SLOTS; i++) {
            sc[i] = c->sizes[i].center;
            sn[i] = c->sizes[i].count;
        }
        s->n_size_center = s->n_size_count = T1071I_BEACON_SIZE_SLOTS;
        s->size_center = sc;
        s->size_count = sn;
        m->state = s;
        if (pr->cand->valid) {
            const struct t1071i_beacon_verdict *v = &pr->cand->v;
            T1071__Ecs__V1__SnapshotBeaconVerdict *sv =
                keep(to_free, g_new0(T1071__Ecs__V1__SnapshotBeaconVerdict, 1));
            t1071__ecs__v1__snapshot_beacon_verdict__init(sv);
#define SET(f, x) (sv->has_##f = 1, sv->f = (x))
            SET(beats, pr->cand->beats);
            SET(score, v->score);
            SET(timing, v->timing);
            SET(timing_window, v->timing_window);
            SET(timing_bound, v->timing_bound);
            SET(count_reg, v->count_reg);
            SET(size, v->size);
            SET(persistence, v->persistence);
            SET(period_ms, v->period_ms);
            SET(jitter, v->jitter);
            SET(window, v->window);
            SET(n_intervals, v->n_intervals);
            SET(full_hours, v->full_hours);
            SET(n_events, v->n_events);
            SET(n_beats, v->n_beats);
            SET(size_known, v->size_known);
            SET(hourly, v->hourly);
            SET(strobe, v->strobe);
            SET(rita_ts, pr->cand->rita);
#undef SET
            m->verdict = sv;
        }
    }
    return m;
}

snap_beacon_t *
t1071i_tracker_snap_key(const struct t1071i_kbeacon *kb, void *to_free)
{
    snap_beacon_t *m = keep(to_free, g_new0(snap_beacon_t, 1));
    snap_pair_t **pairs = keep(to_free, g_new(snap_pair_t *, kb->n_pairs ? kb->n_pairs : 1));
    size_t i = 0;

    t1071__ecs__v1__snapshot_beacon__init(m);
    for (; i < kb->n_pairs; i++)
        pairs[i] = snap_pair(kb->pairs[i], to_free);
    m->n_pairs = i;
    m->pairs = pairs;
    if (kb->agg)
        m->aggregate = snap_pair(kb->agg, to_free);
    m->has_fallback = 1;
    m->fallback = kb->fallback;
    if (kb->has_last_alert) {
        m->has_last_alert_ms = 1;
        m->last_alert_ms = kb->last_alert_ms;
    }
    m->has_pending = 1;
    m->pending = kb->pending;
    return m;
}

static struct bpair *
restore_pair(const snap_pair_t *m, size_t *bytes)
{
    struct bpair *pr;
    size_t len;

    if (!m || !m->destination || m->n_t0_ts != m->n_t0_bytes || m->n_t0_ts > T0)
        return NULL;
    len = strlen(m->destination);
    if (len >= 256)
        return NULL;
    if (m->state) {
        const snap_state_t *s = m->state;
        if (m->n_t0_ts || s->n_ring != T1071I_BEACON_RING || s->n_hours != T1071I_BEACON_HOURS ||
            s->n_size_center != T1071I_BEACON_SIZE_SLOTS ||
            s->n_size_count != T1071I_BEACON_SIZE_SLOTS || s->ring_head >= T1071I_BEACON_RING ||
            s->ring_len > T1071I_BEACON_RING ||
            (s->flags & ~(uint32_t)(T1071I_BEACON_F_STARTED | T1071I_BEACON_F_STROBE)) ||
            !(s->flags & T1071I_BEACON_F_STARTED))
            return NULL;
        for (int i = 0; i < T1071I_BEACON_HOURS; i++)
            if (s->hours[i] > UINT16_MAX)
                return NULL;
        if (m->verdict && (m->verdict->beats > s->n_beats ||
                           !(m->verdict->score >= 0 && m->verdict->score <= 1)))
            return NULL;
    } else if (m->verdict || m->count > T0 || m->n_t0_ts != m->count) {
        return NULL; /* tier 0 holds every event it counts */
    }
    pr = pair_new(m->destination, len);
    if (!pr)
        return NULL;
    pr->count = m->count;
    for (size_t i = 0; i < m->n_t0_ts; i++) {
        pr->t0_ts[i] = m->t0_ts[i];
        pr->t0_bytes[i] = m->t0_bytes[i];
    }
    if (m->state) {
        const snap_state_t *s = m->state;
        const T1071__Ecs__V1__SnapshotBeaconVerdict *sv = m->verdict;
        struct cand *cd = calloc(1, sizeof(*cd));
        struct t1071i_beacon_state *c = cd ? &cd->st : NULL;
        if (!cd) {
            free(pr);
            return NULL;
        }
        if (sv) {
            struct t1071i_beacon_verdict *v = &cd->v;
            cd->valid = true;
            cd->beats = sv->beats;
            v->score = sv->score;
            v->timing = sv->timing;
            v->timing_window = sv->timing_window;
            v->timing_bound = sv->timing_bound;
            v->count_reg = sv->count_reg;
            v->size = sv->size;
            v->persistence = sv->persistence;
            v->period_ms = sv->period_ms;
            v->jitter = sv->jitter;
            v->window = sv->window;
            v->n_intervals = sv->n_intervals;
            v->full_hours = sv->full_hours;
            v->n_events = sv->n_events;
            v->n_beats = sv->n_beats;
            v->size_known = sv->size_known;
            v->hourly = sv->hourly;
            v->strobe = sv->strobe;
            cd->rita = sv->rita_ts;
        }
        c->first_ms = s->first_ms;
        c->last_ms = s->last_ms;
        c->beat_ms = s->beat_ms;
        c->hour_head = s->hour_head;
        c->n_events = s->n_events;
        c->n_beats = s->n_beats;
        c->active = s->active;
        memcpy(c->ring, s->ring, sizeof(c->ring));
        c->n_sized = s->n_sized;
        for (int i = 0; i < T1071I_BEACON_HOURS; i++)
            c->hours[i] = (uint16_t)s->hours[i];
        c->ring_head = (uint8_t)s->ring_head;
        c->ring_len = (uint8_t)s->ring_len;
        c->flags = (uint8_t)s->flags;
        for (int i = 0; i < T1071I_BEACON_SIZE_SLOTS; i++) {
            c->sizes[i].center = s->size_center[i];
            c->sizes[i].count = s->size_count[i];
        }
        pr->cand = cd;
    }
    *bytes += pair_bytes(pr);
    return pr;
}

int
t1071i_tracker_restore_key(struct t1071i_tracker *t, const snap_beacon_t *m,
                           struct t1071i_kbeacon **out, size_t *bytes)
{
    struct t1071i_kbeacon *kb;
    int64_t slot_bytes = 0;

    *out = NULL;
    *bytes = 0;
    /* With the score: an aggregate; without: tuning state only. */
    if (!t || !m || m->n_pairs > t->tun->max_destinations || !m->aggregate != !t->score ||
        (!t->score && m->n_pairs))
        return T1071_E_SNAPSHOT;
    kb = calloc(1, sizeof(*kb));
    if (!kb)
        return T1071_E_NOMEM;
    *bytes = sizeof(*kb);
    kb->fallback = m->fallback;
    kb->has_last_alert = m->has_last_alert_ms;
    kb->last_alert_ms = m->last_alert_ms;
    kb->pending = m->pending;
    kb->agg = m->aggregate ? restore_pair(m->aggregate, bytes) : NULL;
    /* The array grows as it did observing the pairs one by one (a key's
     * pair count never falls): the same bytes in the budget. */
    for (size_t i = 0; i < m->n_pairs && kb->agg; i++) {
        struct bpair *pr;
        if (!slots_reserve(kb, kb->n_pairs + 1, t->tun->max_destinations, &slot_bytes))
            break;
        if (!(pr = restore_pair(m->pairs[i], bytes)))
            break;
        kb->pairs[kb->n_pairs] = pr;
        kb->tags[kb->n_pairs] = pair_tag(pr->dest, pr->len);
        kb->n_pairs++;
    }
    *bytes += (size_t)slot_bytes;
    if ((m->aggregate && !kb->agg) || kb->n_pairs != m->n_pairs) {
        t1071i_tracker_free_key(kb);
        *bytes = 0;
        return T1071_E_SNAPSHOT;
    }
    *out = kb;
    return T1071_OK;
}

void
t1071i_tracker_snap(const struct t1071i_tracker *t, T1071__Ecs__V1__Snapshot *s, void *to_free)
{
    T1071__Ecs__V1__SnapshotPrevalence **v;
    size_t i = 0;

    if (!t || !t->n_entries)
        return;
    v = keep(to_free, g_new(T1071__Ecs__V1__SnapshotPrevalence *, t->n_entries));
    for (const struct prev_entry *e = t->oldest; e; e = e->newer) {
        T1071__Ecs__V1__SnapshotPrevalence *m =
            keep(to_free, g_new0(T1071__Ecs__V1__SnapshotPrevalence, 1));
        t1071__ecs__v1__snapshot_prevalence__init(m);
        m->key = (char *)prev_entry_key(t, e);
        m->n_host_hash = m->n_host_ts = e->n;
        m->host_hash = e->host_hash;
        m->host_ts = e->host_ts;
        v[i++] = m;
    }
    s->n_prevalence = i;
    s->prevalence = v;
}

int
t1071i_tracker_restore(struct t1071i_tracker *t, const T1071__Ecs__V1__Snapshot *s)
{
    if (!s->n_prevalence)
        return T1071_OK;
    if (!t || !t->slots || s->n_prevalence > T1071I_PREVALENCE_MAX)
        return T1071_E_SNAPSHOT;
    for (size_t i = 0; i < s->n_prevalence; i++) {
        const T1071__Ecs__V1__SnapshotPrevalence *m = s->prevalence[i];
        size_t len;
        uint64_t h;
        struct prev_entry *e;
        if (!m->key || m->n_host_hash != m->n_host_ts || m->n_host_hash > t->slots)
            return T1071_E_SNAPSHOT;
        len = strlen(m->key);
        if (len >= 512)
            return T1071_E_SNAPSHOT;
        h = t1071i_hash(t->seed, m->key, len);
        if (prev_find(t, m->key, len, h))
            return T1071_E_SNAPSHOT;
        e = prev_insert(t, m->key, len, h);
        if (!e)
            return T1071_E_NOMEM;
        e->n = (uint32_t)m->n_host_hash;
        for (uint32_t k = 0; k < e->n; k++) {
            e->host_hash[k] = m->host_hash[k];
            e->host_ts[k] = m->host_ts[k];
        }
    }
    return T1071_OK;
}

bool
t1071i_event_xfer(const t1071i_event *ev, int64_t *out)
{
    int64_t sum = 0;
    bool any = false;

    /* Negative counts are garbage: absent.  Each term is capped so the sum
     * cannot overflow. */
    if (ev->has_source_bytes && ev->source_bytes >= 0) {
        sum += ev->source_bytes < INT64_MAX / 2 ? ev->source_bytes : INT64_MAX / 2;
        any = true;
    }
    if (ev->has_destination_bytes && ev->destination_bytes >= 0) {
        sum += ev->destination_bytes < INT64_MAX / 2 ? ev->destination_bytes : INT64_MAX / 2;
        any = true;
    }
    *out = any ? sum : 0;
    return any;
}
