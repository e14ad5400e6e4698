/* SPDX-License-Identifier: Apache-2.0 */
/* The tracker's state, shared by lib/score/ tracker files.  Internal. */
#ifndef T1071_SCORE_TRACKER_PRIV_H
#define T1071_SCORE_TRACKER_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "score/tracker.h"

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

/* snprintf's semantics by hand (it was a tenth of the tuned feed): @p b
 * receives what fits of the output, NUL-terminated; @p n counts the full
 * length. */
struct sbuf {
    char *b;
    size_t size, n;
};

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
    uint32_t *tags;       /* t1071i_pair_tag() of each, in the same allocation */
    struct bpair *agg;    /* every destination of the key */
    uint32_t n_pairs;
    uint32_t slots_cap;
    bool fallback;        /* a tuning.fallback_key key */
    bool has_last_alert;
    int64_t last_alert_ms;
    uint64_t pending;     /* sequences suppressed by the period since then */
    uint64_t *flows;      /* NULL until a flow-tagged event: FLOW_SEEN recent flow hashes */
    uint8_t n_flows, flow_head;
};

/* Flow reports are not beats (issue 13): Packetbeat reports a long flow
 * every 10 s, each report an event with the flow's network.community_id.
 * The faithful rule counts every report, as Elasticsearch does; the score
 * counts a flow once, the first time one of the key's last FLOW_SEEN
 * flows is reported. */
#define FLOW_SEEN 8
#define FLOW_BYTES (FLOW_SEEN * sizeof(uint64_t))

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
    /* tuning.fleet_key set (score/prevalence-sync.c): the table is
     * mergeable.  Then host hashes use host_seed (from the fleet key, the
     * same in every context), each entry carries the change number it was
     * last changed at (u64, after host_ts), the list is ordered by each
     * entry's latest host time instead of by use, and hosts before @c floor
     * count as absent.  Left out of TRACKER_BYTES like fk. */
    bool sync;
    uint64_t host_seed;
    uint64_t fleet_id;                /* fingerprint of the fleet key, in deltas */
    uint64_t change;                  /* last change number handed out */
    int64_t floor;                    /* INT64_MIN: none yet */
    struct prev_entry **heap;         /* min-heap on entry time, counted in bytes */
    size_t heap_n;
};

#define TRACKER_BYTES offsetof(struct t1071i_tracker, fk)

/* Sync mode (tuning.fleet_key): after an entry's host slots, before its
 * key.  The entries are also in a min-heap on their time. */
struct prev_sync {
    uint64_t change;  /* the change number it was last changed at */
    int64_t time;     /* its latest host's time */
    uint64_t idx;     /* its index in t->heap */
};

static inline struct prev_sync *
t1071i_prev_sync(const struct t1071i_tracker *t, const struct prev_entry *e)
{
    return (struct prev_sync *)(e->host_ts + t->slots);
}

static inline uint64_t *
t1071i_prev_change(const struct t1071i_tracker *t, const struct prev_entry *e)
{
    return &t1071i_prev_sync(t, e)->change;
}

static inline char *
t1071i_prev_kptr(const struct t1071i_tracker *t, const struct prev_entry *e)
{
    return (char *)(e->host_ts + t->slots) + (t->sync ? sizeof(struct prev_sync) : 0);
}

/* Bytes of one pair slot in a key's array (pointer and tag). */
#define SLOT_BYTES (sizeof(struct bpair *) + sizeof(uint32_t))

/* lib/score/tracker.c */
size_t t1071i_pair_bytes(const struct bpair *pr);
struct bpair * t1071i_pair_new(const char *dest, size_t len);
uint32_t t1071i_pair_tag(const char *dest, size_t len);
size_t t1071i_pev_dest(const struct t1071i_pev *p, char *buf, size_t size);
size_t t1071i_prev_entry_bytes(const struct t1071i_tracker *t, size_t len);
size_t t1071i_sb_end(struct sbuf *sb);
void t1071i_sb_put(struct sbuf *sb, const char *s, size_t len);
bool t1071i_slots_reserve(struct t1071i_kbeacon *kb, uint32_t want, uint32_t max, int64_t *delta);

/* lib/score/prevalence.c */
const char * t1071i_prev_entry_key(const struct t1071i_tracker *t, const struct prev_entry *e);
struct prev_entry * t1071i_prev_find(const struct t1071i_tracker *t, const char *key, size_t len, uint64_t h);
struct prev_entry * t1071i_prev_insert(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h);
uint32_t t1071i_prevalence_hosts(const struct t1071i_tracker *t, const struct t1071i_pev *p);
void t1071i_prev_drop(struct t1071i_tracker *t, struct prev_entry *e);

/* lib/score/prevalence-sync.c */
int t1071i_prev_sync_init(struct t1071i_tracker *t);
void t1071i_prev_sync_free(struct t1071i_tracker *t);
void t1071i_prev_sync_restored(struct t1071i_tracker *t, struct prev_entry *e);
/* One observation under the order-free rules: 1 when it changed the
 * table, 0 when not, -1 when out of memory (nothing changed). */
int t1071i_prev_sync_add(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h,
                         uint64_t hh, int64_t ts);

/* lib/score/allowlist.c */
bool t1071i_dest_allowlisted(const struct t1071i_tuning_cfg *tun, const struct t1071i_pev *p);
const char *t1071i_fallback_unrelated(struct t1071i_pev *const *m, size_t n, const char *dest);
const char * t1071i_fallback_reason(struct t1071i_pev *const *m, size_t n);
bool t1071i_path_listed(char *const *list, size_t n, const char *exe);

#endif /* T1071_SCORE_TRACKER_PRIV_H */
