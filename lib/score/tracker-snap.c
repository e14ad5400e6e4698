/* SPDX-License-Identifier: Apache-2.0 */
/* The tracker's state in snapshots: pairs, candidates, cached
 * verdicts, suppression, and the prevalence table. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "score/tracker-priv.h"
#include "util/addr.h"
#include "util/hash.h"
#include "util/timefmt.h"



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
    if (kb->flows) {
        /* oldest first */
        uint64_t *f = keep(to_free, g_new(uint64_t, FLOW_SEEN));
        size_t start = (kb->flow_head + FLOW_SEEN - kb->n_flows) % FLOW_SEEN;
        for (size_t k = 0; k < kb->n_flows; k++)
            f[k] = kb->flows[(start + k) % FLOW_SEEN];
        m->n_flows = kb->n_flows;
        m->flows = f;
    }
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
    pr = t1071i_pair_new(m->destination, len);
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
    *bytes += t1071i_pair_bytes(pr);
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
    if (m->n_flows > FLOW_SEEN || (m->n_flows && !t->score)) {
        free(kb);
        *bytes = 0;
        return T1071_E_SNAPSHOT;
    }
    if (m->n_flows) {
        kb->flows = calloc(FLOW_SEEN, sizeof(*kb->flows));
        if (!kb->flows) {
            free(kb);
            *bytes = 0;
            return T1071_E_NOMEM;
        }
        memcpy(kb->flows, m->flows, m->n_flows * sizeof(*kb->flows));
        kb->n_flows = (uint8_t)m->n_flows;
        kb->flow_head = (uint8_t)(m->n_flows % FLOW_SEEN);
        *bytes += FLOW_BYTES;
    }
    kb->agg = m->aggregate ? restore_pair(m->aggregate, bytes) : NULL;
    /* The array grows as it did observing the pairs one by one (a key's
     * pair count never falls): the same bytes in the budget. */
    for (size_t i = 0; i < m->n_pairs && kb->agg; i++) {
        struct bpair *pr;
        if (!t1071i_slots_reserve(kb, kb->n_pairs + 1, t->tun->max_destinations, &slot_bytes))
            break;
        if (!(pr = restore_pair(m->pairs[i], bytes)))
            break;
        kb->pairs[kb->n_pairs] = pr;
        kb->tags[kb->n_pairs] = t1071i_pair_tag(pr->dest, pr->len);
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

    if (t && t->sync) {
        s->has_prevalence_change = true;
        s->prevalence_change = t->change;
        if (t->floor != INT64_MIN) {
            s->has_prevalence_floor = true;
            s->prevalence_floor = t->floor;
        }
    }
    if (!t || !t->n_entries)
        return;
    v = keep(to_free, g_new(T1071__Ecs__V1__SnapshotPrevalence *, t->n_entries));
    for (const struct prev_entry *e = t->oldest; e; e = e->newer) {
        T1071__Ecs__V1__SnapshotPrevalence *m =
            keep(to_free, g_new0(T1071__Ecs__V1__SnapshotPrevalence, 1));
        t1071__ecs__v1__snapshot_prevalence__init(m);
        m->key = (char *)t1071i_prev_entry_key(t, e);
        m->n_host_hash = m->n_host_ts = e->n;
        m->host_hash = e->host_hash;
        m->host_ts = e->host_ts;
        if (t->sync) {
            m->has_change = true;
            m->change = *t1071i_prev_change(t, e);
        }
        v[i++] = m;
    }
    s->n_prevalence = i;
    s->prevalence = v;
}

int
t1071i_tracker_restore(struct t1071i_tracker *t, const T1071__Ecs__V1__Snapshot *s)
{
    if (t && t->sync) {
        t->change = s->has_prevalence_change ? s->prevalence_change : 0;
        t->floor = s->has_prevalence_floor ? s->prevalence_floor : INT64_MIN;
    }
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
        if (t1071i_prev_find(t, m->key, len, h))
            return T1071_E_SNAPSHOT;
        e = t1071i_prev_insert(t, m->key, len, h);
        if (!e)
            return T1071_E_NOMEM;
        e->n = (uint32_t)m->n_host_hash;
        for (uint32_t k = 0; k < e->n; k++) {
            e->host_hash[k] = m->host_hash[k];
            e->host_ts[k] = m->host_ts[k];
        }
        if (t->sync) {
            /* Written without a fleet key: changed at the restored cursor. */
            uint64_t c = m->has_change ? m->change : t->change;
            if (!e->n || c > t->change)
                return T1071_E_SNAPSHOT;
            *t1071i_prev_change(t, e) = c;
            t1071i_prev_sync_restored(t, e);
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
