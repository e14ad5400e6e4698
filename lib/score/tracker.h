/* SPDX-License-Identifier: Apache-2.0 */
/* The beacon tracker and the tuning verdict (README "Beacon score and the tuned profile"): the engine's
 * side of lib/beacon.c.  Never installed; internal symbols are t1071i_.
 *
 * Per key (the engine's join key value), a struct t1071i_kbeacon holds:
 * - one pair per destination (destination.domain / tls.client.server_name
 *   when present, else ip:port), at most beacon.max_destinations, most
 *   recently used first; the least recently used is dropped past the cap;
 * - an aggregate pair over every destination of the key, so a beacon whose
 *   CDN rotates addresses is not split;
 * - the alert suppression state (tuning.suppress_period).
 * A pair is tier 0 (its first T1071I_TRACKER_T0 events, inline) until its
 * next event promotes it to a full candidate (struct t1071i_beacon_state),
 * replaying the inline events, so the candidate is exactly the one a
 * promotion at the first event would have built.
 *
 * The key's state lives and dies with the engine's key: it is counted in
 * engine.memory_limit (the engine adds the deltas reported here) and falls
 * under the same expiry and eviction.  Per context, the tracker holds the
 * prevalence table (tuning.prevalence_hosts), bounded and counted too. */
#ifndef T1071_TRACKER_H
#define T1071_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "input/event.h"
#include "score/beacon.h"

#define T1071I_TRACKER_T0 4          /* events a pair keeps inline before promotion */
#define T1071I_PREVALENCE_MAX 16384  /* (destination, executable) entries per context */

struct t1071i_tracker;
struct t1071i_kbeacon;

/* NULL when beacon.enabled is false and no tuning key is set (the bare
 * rule): the engine then skips every call.  With tuning but without the
 * score, keys hold only their tuning state and verdicts carry no score. */
int t1071i_tracker_new(const struct t1071_config *cfg, uint64_t seed,
                       struct t1071i_tracker **out);
void t1071i_tracker_free(struct t1071i_tracker *t);

/* Bytes the prevalence table holds (counted by the engine). */
size_t t1071i_tracker_bytes(const struct t1071i_tracker *t);

/* An upper bound of the bytes one observe of @p p may add. */
size_t t1071i_tracker_need(const struct t1071i_tracker *t, const struct t1071i_pev *p);

/* Observe the event once per context (the prevalence table).  *mem_delta
 * receives the change in bytes. */
void t1071i_tracker_observe_event(struct t1071i_tracker *t, const struct t1071i_pev *p,
                                  int64_t *mem_delta);

/* Observe @p p under one key (*kb created when NULL; @p fallback marks a
 * tuning.fallback_key key).  Returns T1071_OK or T1071_E_NOMEM (the state
 * is then unchanged).  *mem_delta receives the change in bytes. */
int t1071i_tracker_observe(struct t1071i_tracker *t, struct t1071i_kbeacon **kb,
                           bool fallback, const struct t1071i_pev *p, int64_t *mem_delta);

/* Free a key's state; returns the bytes it held. */
size_t t1071i_tracker_free_key(struct t1071i_kbeacon *kb);

/* The fallback key value of an event (host + executable), or NULL when
 * tuning.fallback_key is off or the event lacks either.  Owned by the
 * tracker, valid until the next call. */
const char *t1071i_tracker_fallback_key(struct t1071i_tracker *t, const struct t1071i_pev *p);

/* What the tracker says about one completed sequence. */
struct t1071i_judgement {
    struct t1071i_beacon_verdict v; /* the chosen pair's verdict (score adjusted) */
    const char *scope;              /* "destination" or "key" */
    char destination[256];          /* the pair's destination, truncated */
    double rita_ts;                 /* RITA's timestamp score, -1 when too few */
    double raw_score;               /* before the prevalence penalty */
    bool scored;                    /* false: beacon.enabled = false, v is neutral */
    bool fallback;                  /* the key is a tuning.fallback_key key */
    bool suppressed;
    const char *reason;             /* static string, NULL when delivered */
    uint64_t sequences;             /* sequences the alert stands for */
    uint32_t prevalence_hosts;
};

/* Score the sequence @p members[0..n) completed under @p kb and apply the
 * tuning (allowlists, heartbeat, fallback, prevalence, threshold,
 * suppression period, in that order).  Updates kb's suppression state. */
void t1071i_tracker_judge(struct t1071i_tracker *t, struct t1071i_kbeacon *kb,
                          struct t1071i_pev *const *members, size_t n,
                          struct t1071i_judgement *j);

/* ===== Snapshots (protobuf-c messages of ecs.proto) ===== */

/* Build the message of @p kb; everything allocated goes on @p to_free
 * (a GPtrArray with g_free), strings point into @p kb. */
T1071__Ecs__V1__SnapshotBeacon *t1071i_tracker_snap_key(const struct t1071i_kbeacon *kb,
                                                                void *to_free);
/* Rebuild a key's state; T1071_E_SNAPSHOT when inconsistent. */
int t1071i_tracker_restore_key(struct t1071i_tracker *t,
                               const T1071__Ecs__V1__SnapshotBeacon *m,
                               struct t1071i_kbeacon **out, size_t *bytes);

/* The prevalence table into / out of a Snapshot. */
void t1071i_tracker_snap(const struct t1071i_tracker *t, T1071__Ecs__V1__Snapshot *s,
                         void *to_free);
int t1071i_tracker_restore(struct t1071i_tracker *t, const T1071__Ecs__V1__Snapshot *s);

/* source.bytes + destination.bytes of an event; false when neither is
 * present (Sysmon).  Negative counts are treated as absent. */
bool t1071i_event_xfer(const t1071i_event *ev, int64_t *out);

/* ===== Fleet prevalence (score/prevalence-sync.c, tuning.fleet_key) ===== */

/* The entries changed after change number @p since, as a delta
 * (README "Fleet prevalence across contexts"); *cursor receives the last
 * change number.  T1071_E_UNSUPPORTED without a fleet key. */
int t1071i_prev_export(const struct t1071i_tracker *t, uint64_t since,
                       struct t1071_buffer **out, uint64_t *cursor);
/* Merge a delta; on error *why says what in a sentence.  *changed counts
 * the hosts that changed the table. */
int t1071i_prev_merge(struct t1071i_tracker *t, const uint8_t *buf, size_t len,
                      const char **why, uint64_t *changed);

/* Bytes of one pair, tier 0 and promoted, for a destination of @p len. */
size_t t1071i_tracker_pair_bytes(size_t len, bool promoted);

#endif
