/* SPDX-License-Identifier: Apache-2.0 */
/* The sequence engine's state, shared by lib/engine/ files: decode,
 * normalise, filter, per-host time (reorder buffer, watermark, lateness,
 * max_jump), per-key EQL sequence state, and the bounded alert queue.
 * Internal, never installed.
 *
 * Exactness (README "Semantics"): per key, over the matching events e1, e2, ...
 * in (timestamp, arrival) order, at e_j (j >= runs) emit [e_{j-runs+1} ..
 * e_j] exactly when ts(e_j) - ts(e_{j-runs+1}) <= maxspan.  A key keeps the
 * last runs-1 events in a ring.  A ring entry older than (current - maxspan)
 * can never start or join a passing window again, so it is dropped; a ring
 * that is short after drops emits nothing, which is exactly the closed form
 * (the true window would contain the dropped event and fail maxspan). */
#ifndef T1071_ENGINE_PRIV_H
#define T1071_ENGINE_PRIV_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <glib.h>

#include "alert/alert-pack.h"
#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/ecs-json.h"
#include "input/wire.h"
#include "rule/rule.h"
#include "score/tracker.h"
#include "util/buffer.h"
#include "util/bytes.h"
#include "util/hash.h"
#include "util/pool.h"

#define MIN_TS INT64_C(0)                /* 1970-01-01 */
#define MAX_TS INT64_C(253402300799999)  /* 9999-12-31T23:59:59.999Z */
#define MAX_KEY_VALUES 64               /* distinct key values one event joins */
#define SHARD_SEED UINT64_C(0x54313037315f7368) /* fixed: shards are stable across runs */


/* ===== State ===== */

struct key;

struct host {
    struct t1071i_hnode node;          /* keyed by host.id, else host.name, else ""; first */
    struct host *next;          /* creation order, for deterministic flushes */
    bool has_max;
    bool has_held;              /* a suspect far-future event, held */
    bool first_open;            /* only one event yet: its clock unconfirmed */
    int64_t max_ts;             /* newest timestamp seen from this host */
    struct rec **heap;          /* reorder buffer: min-heap on (ts, seq) */
    size_t heap_n, heap_cap;
    int64_t held_ts;
    struct rec *held;           /* NULL when the held event did not match */
    int64_t first_ts;
    struct rec *first;          /* that event (a reference), or NULL */
    struct key *lru_head, *lru_tail; /* keys by last event time, oldest first */
    char name[];
};

/* A key value, interned: one copy per distinct value, shared by the key
 * of that value (when it exists) and every pending event that joins it.
 * Lives while referenced (node.aux counts references). */
struct katom {
    struct t1071i_hnode node;          /* in ctx->keys */
    struct key *key;            /* the live key of this value, or NULL */
    char str[];
};

/* What the engine keeps of a matching event: a compact record, one
 * allocation.  After the header: the atoms of the key values it joins
 * (deduplicated), then the transfer size (R_XFER) and the full port
 * (R_WIDE_PORT) when present, the destination address in binary (R_IP4:
 * 4 bytes, R_IP6: 16; its text is formatted when read), then the strings
 * id, ip (only when the text is not what the binary formats to: restored
 * from a snapshot), domain, host_name, host_id, pname, exe, each
 * NUL-terminated, absent ones left out.  The
 * alert and tracker code read a struct t1071i_pev view of it (t1071i_rec_view). */
struct rec {
    int64_t ts;
    uint64_t seq;               /* arrival ordinal: ties keep arrival order */
    uint16_t refs;
    uint8_t n_keys;             /* <= MAX_KEY_VALUES */
    uint8_t flags;
    int32_t port;               /* the destination.port that matched, unless R_WIDE_PORT */
    uint8_t len[8];             /* string i: 0 absent, else strlen + 1; REC_LONG: strlen it */
    struct katom *keys[];
};

#define R_XFER 1u
#define R_WIDE_PORT 2u
#define R_IP4 4u
#define R_IP6 8u
#define REC_LONG 255u
/* refs is 16 bits: a live record has at most a few dozen references (its
 * keys, the fallback key, heap or held/first slot); restore refuses a
 * snapshot that would take one past this. */
#define REC_REFS_MAX (UINT16_MAX - T1071I_MAX_RUNS)
#define REC_STRS 8 /* the 8th: network.community_id, kept only while scoring */

struct key {
    struct katom *atom;         /* its value */
    struct host *host;
    struct key *prev, *next;    /* host list, by last event time (expiry) */
    struct key *gprev, *gnext;  /* global eviction list of its tier */
    struct t1071i_kbeacon *beacon; /* beacon tracker state (lib/tracker.c), or NULL */
    int64_t last_ts;
    uint16_t head, count;       /* ring of the last runs-1 members (runs <= T1071I_MAX_RUNS) */
    uint8_t tier;               /* 0: at most one member (cold), 1: more */
    bool proven;                /* re-created after eviction: recurrent */
    struct rec *ring[];         /* runs - 1 slots */
};

struct qalert {
    size_t len;
    uint8_t data[];
};

/* Eviction tiers: a flood of one-event junk keys churns tier 0 and never
 * pushes out a key holding a partial sequence (tier 1). */
struct tier {
    struct key *head, *tail;    /* least recently used first */
};

/* Hashes of recently evicted keys (direct-mapped, lossy).  A key that comes
 * back after eviction is recurrent, like a beacon, unlike one-shot junk:
 * it goes straight to the protected tier (2Q's ghost list). */
#define GHOSTS 8192

struct t1071_ctx {
    struct t1071_config *cfg;
    struct tier tiers[2];
    uint64_t *ghosts;
    uint64_t seed;
    struct t1071i_htable hosts, keys;
    struct host *hosts_first, *hosts_last;
    int64_t floor;              /* t1071_advance(): nothing older may come */
    bool has_floor;
    struct key *pinned;         /* the key being stepped: never evicted */
    struct qalert **queue;
    size_t q_n, q_cap;
    uint64_t stats[T1071I_STAT_COUNT];
    char errmsg[256];
    struct rec **members;        /* scratch: one sequence's members */
    struct t1071i_pev **window;  /* scratch: their views, for the alert */
    struct t1071i_pev *views;
    struct t1071i_mlen *mlens;   /* scratch: their string lengths */
    const char **vkeys;          /* scratch: the views' key values */
    size_t vkeys_cap;
    struct t1071i_tracker *tracker; /* NULL: beacon.enabled = false */
    struct t1071i_wire *wire;    /* zero-copy decoder (lib/wire.c), made on first use */
    struct t1071i_pool *pool;    /* pending event records (lib/pool.c) */
    bool wire_unusable;          /* schema it cannot read: protobuf-c decodes */
    /* Several rules (t1071_config_add_rule): one whole engine state per
     * rule, each event fanned out to all, alerts moved into this queue. */
    struct t1071_ctx **rules;
    size_t n_rules;
};

#define RULES_MAGIC "T1071MRS"

struct t1071_alert_batch {
    size_t n;
    struct qalert **items;
    char **json;
    size_t *json_len;
};

static inline void
mem_add(struct t1071_ctx *ctx, size_t n)
{
    ctx->stats[T1071_STAT_MEMORY_BYTES] += n;
    if (ctx->stats[T1071_STAT_MEMORY_BYTES] > ctx->stats[T1071_STAT_MEMORY_PEAK_BYTES])
        ctx->stats[T1071_STAT_MEMORY_PEAK_BYTES] = ctx->stats[T1071_STAT_MEMORY_BYTES];
}

static inline void
mem_sub(struct t1071_ctx *ctx, size_t n)
{
    ctx->stats[T1071_STAT_MEMORY_BYTES] -= n;
}

static inline void
mem_delta(struct t1071_ctx *ctx, int64_t d)
{
    if (d >= 0)
        mem_add(ctx, (size_t)d);
    else
        mem_sub(ctx, (size_t)-d);
}





/* lib/engine/record.c */
struct katom * t1071i_atom_find(const struct t1071_ctx *ctx, uint64_t h, const char *s, size_t len);
struct katom * t1071i_atom_get(struct t1071_ctx *ctx, uint64_t h, const char *s, size_t len);
void t1071i_atom_unref(struct t1071_ctx *ctx, struct katom *a);
const char * t1071i_format_ip(bool v4, const uint8_t *a, char buf[INET6_ADDRSTRLEN]);
struct rec * t1071i_pev_alloc(struct t1071_ctx *ctx, const char *const strs[REC_STRS], const char *const *keys, const size_t *key_lens, size_t n_keys, int64_t ts, uint64_t seq, int64_t port, bool has_xfer, int64_t xfer, unsigned ip_flags, const uint8_t *ip);
struct rec * t1071i_pev_new(struct t1071_ctx *ctx, const t1071i_event *ev, const struct t1071i_match *m, const char *const *keys, const size_t *key_lens, size_t n_keys, uint64_t seq);
void t1071i_pev_unref(struct t1071_ctx *ctx, struct rec *p);
struct t1071i_mlen t1071i_rec_lens(const struct rec *r);
void t1071i_rec_view(const struct rec *r, struct t1071i_pev *v, const char **keys);

/* lib/engine/keys.c */
const char * t1071i_event_host(const t1071i_event *ev);
struct host * t1071i_host_get(struct t1071_ctx *ctx, const char *name);
size_t t1071i_key_bytes(const struct t1071_ctx *ctx);
void t1071i_key_drop(struct t1071_ctx *ctx, struct key *k);
struct key *t1071i_key_alloc(struct t1071_ctx *ctx);
void t1071i_key_free(struct t1071_ctx *ctx, struct key *k);
struct key * t1071i_key_get(struct t1071_ctx *ctx, struct katom *a, struct host *host);
struct key * t1071i_key_get_value(struct t1071_ctx *ctx, const char *value, struct host *host);
void t1071i_lru_append(struct host *h, struct key *k);
void t1071i_lru_unlink(struct host *h, struct key *k);
bool t1071i_make_room(struct t1071_ctx *ctx, size_t need);
size_t t1071i_ring_cap(const struct t1071_ctx *ctx);
void t1071i_tier_append(struct t1071_ctx *ctx, struct key *k);
void t1071i_tier_unlink(struct t1071_ctx *ctx, struct key *k);

/* lib/engine/clock.c */
int t1071i_heap_push(struct t1071_ctx *ctx, struct host *h, struct rec *p);
int t1071i_on_time(struct t1071_ctx *ctx, struct host *h, int64_t ts, struct rec *p);
int t1071i_release(struct t1071_ctx *ctx, struct host *h);
void t1071i_take_held(struct host *h, int64_t *ts, struct rec **p);

/* lib/engine/sequence.c */
int t1071i_run_event(struct t1071_ctx *ctx, struct host *host, struct rec *p);

/* lib/engine/queue.c */
bool t1071i_queue_refuse_full(struct t1071_ctx *ctx, const char *then);
/* At its high-water mark (engine.alert_queue) the queue refuses more work:
 * counted, and the error text says what to do; true when refused.  The
 * check is on every feed call: inline. */
static inline bool
t1071i_queue_refuse(struct t1071_ctx *ctx, const char *then)
{
    return ctx->q_n >= ctx->cfg->alert_queue && t1071i_queue_refuse_full(ctx, then);
}
int t1071i_queue_push(struct t1071_ctx *ctx, uint8_t *data, size_t len);
int t1071i_queue_push_block(struct t1071_ctx *ctx, struct qalert *q);

/* lib/engine/feed.c */
int t1071i_process_event(struct t1071_ctx *ctx, const t1071i_event *ev);

/* lib/engine/rules.c */
int t1071i_rules_advance(struct t1071_ctx *ctx, int64_t t);
int t1071i_rules_event(struct t1071_ctx *ctx, const t1071i_event *ev);
int t1071i_rules_init(struct t1071_ctx *ctx);
int t1071i_rules_restore(struct t1071_ctx **out, const uint8_t *buf, size_t len);
int t1071i_rules_snapshot(const struct t1071_ctx *ctx, struct t1071_buffer **out);
uint64_t t1071i_rules_stat(const struct t1071_ctx *ctx, int id);

/* lib/engine/context.c: what t1071_init and t1071_free do, for the engine's
 * own use (the public calls are thin wrappers). */
int t1071i_ctx_new(struct t1071_ctx **out, const struct t1071_config *cfg);
void t1071i_ctx_free(struct t1071_ctx *ctx);
void t1071i_set_err(struct t1071_ctx *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* lib/engine/feed.c: t1071_advance without the argument check. */
int t1071i_advance(struct t1071_ctx *ctx, int64_t event_time_ms);

/* lib/engine/snapshot.c.  Every snapshot is sealed in a 48-byte envelope:
 *   magic (8: "T1071SNP" one rule, "T1071MRS" several) | u32 version |
 *   u32 aux (0 for T1071SNP; the number of parts for T1071MRS) |
 *   SHA-256 of the payload (32) | payload
 * little-endian.  open: T1071_OK, T1071_E_VERSION (newer than max_ver),
 * T1071_E_SNAPSHOT (short, wrong magic, version 0, bad checksum). */
#define T1071I_ENVELOPE_HEADER 48
void t1071i_envelope_seal(uint8_t *b, size_t len, const char magic[8], uint32_t ver, uint32_t aux);
int t1071i_envelope_open(const uint8_t *b, size_t len, const char magic[8], uint32_t max_ver,
                         uint32_t *ver, uint32_t *aux);
/* t1071_snapshot / t1071_restore without the argument checks; restore_one
 * reads only a T1071SNP snapshot (the parts of a T1071MRS one). */
int t1071i_snapshot(const struct t1071_ctx *ctx, struct t1071_buffer **out);
int t1071i_restore(struct t1071_ctx **out, const uint8_t *buf, size_t len);
int t1071i_restore_one(struct t1071_ctx **out, const uint8_t *buf, size_t len);

/* lib/engine/rules.c */
void t1071i_rules_free(struct t1071_ctx *ctx);

#endif /* T1071_ENGINE_PRIV_H */
