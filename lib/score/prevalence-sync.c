/* SPDX-License-Identifier: Apache-2.0 */
/* Mergeable fleet prevalence (tuning.fleet_key; README "Fleet prevalence
 * across contexts").  No I/O, no wall clock.
 *
 * With a fleet key the table is a join-semilattice: its state is a
 * function of the set of observations (destination+executable, host, event
 * time) every context has seen, so merging is commutative, associative and
 * idempotent:
 * - hosts are hashed under host_seed, derived from the fleet key, so a host
 *   is the same slot in every context;
 * - a host's time is the latest one seen (max);
 * - an entry keeps its K = slots hosts greatest by (time, host hash): a
 *   full entry replaces its least only by a greater one;
 * - the floor: at T1071I_PREVALENCE_MAX entries a new one raises the floor
 *   to one past the least entry time among the old entries and the new one
 *   (an entry's time is its latest host's), and every entry whose time is
 *   below the floor goes, ties together; hosts below the floor count as
 *   absent.  The floor travels in deltas and merges by max.
 * The entries are in a min-heap on their time, so the floor drops from its
 * top; the LRU list stays as it is (not observable).
 * A change number (t->change) is handed to an entry each time it changes;
 * a delta since cursor c holds every entry changed after c, whole. */
#include <stdlib.h>
#include <string.h>

#include "score/tracker-priv.h"
#include "util/buffer.h"
#include "util/bytes.h"
#include "util/hash.h"
#include "util/sha256.h"

#define FLEET_SEED_HOST 0x74313037316c7468ull /* constants, not secrets: */
#define FLEET_SEED_ID 0x7431303731666964ull   /* the fleet key is the secret */

#define DELTA_MAGIC "T1071PRV"
#define DELTA_VERSION 1u
/* magic 8, version 4, slots 4, SHA-256 of the rest (bytes 0..16 and 48..)
 * 32, fleet 8, since 8, cursor 8, floor 8, entries 4, reserved 4 */
#define DELTA_HEAD 88u

int
t1071i_prev_sync_init(struct t1071i_tracker *t)
{
    const char *k = t->tun->fleet_key;

    t->floor = INT64_MIN;
    t->change = 0;
    t->sync = k && *k && t->slots;
    if (!t->sync)
        return T1071_OK;
    t->host_seed = t1071i_hash(FLEET_SEED_HOST, k, strlen(k));
    t->fleet_id = t1071i_hash(FLEET_SEED_ID, k, strlen(k));
    t->heap = malloc(T1071I_PREVALENCE_MAX * sizeof(*t->heap));
    if (!t->heap)
        return T1071_E_NOMEM;
    t->bytes += T1071I_PREVALENCE_MAX * sizeof(*t->heap);
    return T1071_OK;
}

void
t1071i_prev_sync_free(struct t1071i_tracker *t)
{
    free(t->heap);
}

/* ===== The min-heap on entry time ===== */

static inline int64_t
etime(const struct t1071i_tracker *t, size_t i)
{
    return t1071i_prev_sync(t, t->heap[i])->time;
}

static inline void
heap_set(struct t1071i_tracker *t, size_t i, struct prev_entry *e)
{
    t->heap[i] = e;
    t1071i_prev_sync(t, e)->idx = i;
}

static void
sift_up(struct t1071i_tracker *t, size_t i)
{
    struct prev_entry *e = t->heap[i];
    int64_t v = t1071i_prev_sync(t, e)->time;

    while (i > 0 && etime(t, (i - 1) / 2) > v) {
        heap_set(t, i, t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(t, i, e);
}

static void
sift_down(struct t1071i_tracker *t, size_t i)
{
    struct prev_entry *e = t->heap[i];
    int64_t v = t1071i_prev_sync(t, e)->time;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->heap_n)
            break;
        if (c + 1 < t->heap_n && etime(t, c + 1) < etime(t, c))
            c++;
        if (etime(t, c) >= v)
            break;
        heap_set(t, i, t->heap[c]);
        i = c;
    }
    heap_set(t, i, e);
}

/* A restored entry (its slots and change number set) joins the heap. */
void
t1071i_prev_sync_restored(struct t1071i_tracker *t, struct prev_entry *e)
{
    int64_t m = INT64_MIN;

    for (uint32_t i = 0; i < e->n; i++)
        if (e->host_ts[i] > m)
            m = e->host_ts[i];
    t1071i_prev_sync(t, e)->time = m;
    t->heap[t->heap_n] = e;
    sift_up(t, t->heap_n++);
}

/* Raise the floor to @p f: every entry whose time is below it goes. */
static void
raise_floor(struct t1071i_tracker *t, int64_t f)
{
    if (f <= t->floor)
        return;
    t->floor = f;
    while (t->heap_n && etime(t, 0) < f) {
        struct prev_entry *e = t->heap[0];
        if (--t->heap_n) {
            t->heap[0] = t->heap[t->heap_n];
            sift_down(t, 0);
        }
        t1071i_prev_drop(t, e);
    }
}

static inline bool
greater(int64_t ts_a, uint64_t h_a, int64_t ts_b, uint64_t h_b)
{
    return ts_a > ts_b || (ts_a == ts_b && h_a > h_b);
}

int
t1071i_prev_sync_add(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h,
                     uint64_t hh, int64_t ts)
{
    struct prev_entry *e;
    uint32_t slot;

    if (ts < t->floor)
        return 0;
    e = t1071i_prev_find(t, key, len, h);
    if (!e) {
        if (t->n_entries >= T1071I_PREVALENCE_MAX && t->heap_n) {
            int64_t least = etime(t, 0);
            if (ts < least)
                least = ts;
            raise_floor(t, least < INT64_MAX ? least + 1 : least);
            if (ts < t->floor)
                return 0;
        }
        if (t->heap_n >= T1071I_PREVALENCE_MAX || !(e = t1071i_prev_insert(t, key, len, h)))
            return -1;
        e->n = 1;
        e->host_hash[0] = hh;
        e->host_ts[0] = ts;
        t1071i_prev_sync(t, e)->change = ++t->change;
        t1071i_prev_sync(t, e)->time = ts;
        t->heap[t->heap_n] = e;
        sift_up(t, t->heap_n++);
        return 1;
    }
    for (slot = 0; slot < e->n; slot++)
        if (e->host_hash[slot] == hh)
            break;
    if (slot < e->n) {
        /* Known (a slot below the floor is taken back the same way). */
        if (e->host_ts[slot] >= ts && e->host_ts[slot] >= t->floor)
            return 0;
        if (e->host_ts[slot] < ts)
            e->host_ts[slot] = ts;
        goto changed;
    }
    if (e->n < t->slots) {
        slot = e->n++;
    } else {
        /* Full: a slot below the floor, else the least by (time, hash). */
        slot = 0;
        for (uint32_t i = 1; i < e->n; i++)
            if (greater(e->host_ts[slot], e->host_hash[slot], e->host_ts[i], e->host_hash[i]))
                slot = i;
        if (e->host_ts[slot] >= t->floor &&
            !greater(ts, hh, e->host_ts[slot], e->host_hash[slot]))
            return 0;
    }
    e->host_hash[slot] = hh;
    e->host_ts[slot] = ts;
changed:
    t1071i_prev_sync(t, e)->change = ++t->change;
    if (ts > t1071i_prev_sync(t, e)->time) {
        /* times only grow: down the heap */
        t1071i_prev_sync(t, e)->time = ts;
        sift_down(t, t1071i_prev_sync(t, e)->idx);
    }
    return 1;
}

/* ===== Deltas ===== */

struct sortent {
    const char *key;
    uint16_t len;
    const struct prev_entry *e;
};

static int
cmp_ent(const void *a, const void *b)
{
    const struct sortent *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

struct host_ts {
    uint64_t h;
    int64_t ts;
};

static int
cmp_host(const void *a, const void *b)
{
    const struct host_ts *x = a, *y = b;

    return (x->h > y->h) - (x->h < y->h);
}

int
t1071i_prev_export(const struct t1071i_tracker *t, uint64_t since, struct t1071_buffer **out,
                   uint64_t *cursor)
{
    struct sortent *v;
    struct host_ts hs[64];
    size_t n = 0, size = DELTA_HEAD;
    uint8_t *p, *base;
    struct t1071i_sha256 sum;

    *out = NULL;
    *cursor = 0;
    if (!t || !t->sync)
        return T1071_E_UNSUPPORTED;
    v = malloc((t->n_entries ? t->n_entries : 1) * sizeof(*v));
    if (!v)
        return T1071_E_NOMEM;
    for (const struct prev_entry *e = t->oldest; e; e = e->newer) {
        uint32_t live = 0;
        if (*t1071i_prev_change(t, e) <= since)
            continue;
        for (uint32_t i = 0; i < e->n; i++)
            live += e->host_ts[i] >= t->floor;
        v[n].key = t1071i_prev_kptr(t, e);
        v[n].len = e->len;
        v[n].e = e;
        n++;
        size += 4 + e->len + (size_t)live * 16;
    }
    if (n > 1) /* v may be NULL when n is 0 */
        qsort(v, n, sizeof(*v), cmp_ent);
    *out = t1071i_buffer_new(size);
    if (!*out) {
        free(v);
        return T1071_E_NOMEM;
    }
    base = (uint8_t *)t1071_buffer_data(*out);
    memcpy(base, DELTA_MAGIC, 8);
    t1071i_put_le(base + 8, DELTA_VERSION, 4);
    t1071i_put_le(base + 12, t->slots, 4);
    t1071i_put_le(base + 48, t->fleet_id, 8);
    t1071i_put_le(base + 56, since, 8);
    t1071i_put_le(base + 64, t->change, 8);
    t1071i_put_le(base + 72, (uint64_t)t->floor, 8);
    t1071i_put_le(base + 80, n, 4);
    t1071i_put_le(base + 84, 0, 4);
    p = base + DELTA_HEAD;
    for (size_t i = 0; i < n; i++) {
        const struct prev_entry *e = v[i].e;
        uint32_t live = 0;
        for (uint32_t k = 0; k < e->n && k < 64; k++)
            if (e->host_ts[k] >= t->floor)
                hs[live].h = e->host_hash[k], hs[live++].ts = e->host_ts[k];
        if (live > 1)
            qsort(hs, live, sizeof(hs[0]), cmp_host);
        t1071i_put_le(p, v[i].len, 2);
        memcpy(p + 2, v[i].key, v[i].len);
        p += 2 + v[i].len;
        t1071i_put_le(p, live, 2);
        p += 2;
        for (uint32_t k = 0; k < live; k++, p += 16) {
            t1071i_put_le(p, hs[k].h, 8);
            t1071i_put_le(p + 8, (uint64_t)hs[k].ts, 8);
        }
    }
    free(v);
    t1071i_sha256_init(&sum, T1071I_SHA256_AUTO);
    t1071i_sha256_update(&sum, base, 16);
    t1071i_sha256_update(&sum, base + 48, size - 48);
    t1071i_sha256_digest(&sum, base + 16);
    *cursor = t->change;
    return T1071_OK;
}

/* Check the whole delta before any of it is applied. */
static const char *
delta_check(const struct t1071i_tracker *t, const uint8_t *buf, size_t len, size_t *n_out)
{
    struct t1071i_sha256 sum;
    uint8_t digest[32];
    const uint8_t *p, *end = buf + len;
    size_t n;

    if (len < DELTA_HEAD || memcmp(buf, DELTA_MAGIC, 8))
        return "not a prevalence delta (bad magic or too short)";
    if (t1071i_get_le(buf + 8, 4) != DELTA_VERSION)
        return "prevalence delta of an unknown version";
    t1071i_sha256_init(&sum, T1071I_SHA256_AUTO);
    t1071i_sha256_update(&sum, buf, 16);
    t1071i_sha256_update(&sum, buf + 48, len - 48);
    t1071i_sha256_digest(&sum, digest);
    if (memcmp(digest, buf + 16, 32))
        return "prevalence delta checksum mismatch (corrupted or truncated)";
    if (t1071i_get_le(buf + 48, 8) != t->fleet_id)
        return "prevalence delta from a context with another tuning.fleet_key";
    n = t1071i_get_le(buf + 80, 4);
    if (n > T1071I_PREVALENCE_MAX * 64ull)
        return "prevalence delta with too many entries";
    p = buf + DELTA_HEAD;
    for (size_t i = 0; i < n; i++) {
        size_t kl, nh;
        if (end - p < 2)
            return "prevalence delta truncated inside an entry";
        kl = t1071i_get_le(p, 2);
        if (kl == 0 || kl >= 512 || (size_t)(end - p) < 4 + kl)
            return "prevalence delta with a bad key length";
        if (memchr(p + 2, '\0', kl))
            return "prevalence delta with a NUL inside a key";
        nh = t1071i_get_le(p + 2 + kl, 2);
        if (nh == 0 || nh > 64)
            return "prevalence delta with a bad host count";
        p += 4 + kl;
        if ((size_t)(end - p) < nh * 16)
            return "prevalence delta truncated inside an entry's hosts";
        p += nh * 16;
    }
    if (p != end)
        return "prevalence delta with trailing bytes";
    *n_out = n;
    return NULL;
}

int
t1071i_prev_merge(struct t1071i_tracker *t, const uint8_t *buf, size_t len, const char **why,
                  uint64_t *changed)
{
    const uint8_t *p;
    size_t n = 0;
    bool nomem = false;

    *why = NULL;
    *changed = 0;
    if (!t || !t->sync) {
        *why = "prevalence merging needs tuning.fleet_key and tuning.prevalence_hosts";
        return T1071_E_UNSUPPORTED;
    }
    if ((*why = delta_check(t, buf, len, &n)) != NULL)
        return T1071_E_SNAPSHOT;
    raise_floor(t, (int64_t)t1071i_get_le(buf + 72, 8));
    p = buf + DELTA_HEAD;
    for (size_t i = 0; i < n; i++) {
        size_t kl = t1071i_get_le(p, 2), nh = t1071i_get_le(p + 2 + kl, 2);
        const char *key = (const char *)p + 2;
        uint64_t h = t1071i_hash(t->seed, key, kl);
        p += 4 + kl;
        for (size_t k = 0; k < nh; k++, p += 16) {
            int c = t1071i_prev_sync_add(t, key, kl, h, t1071i_get_le(p, 8), (int64_t)t1071i_get_le(p + 8, 8));
            if (c < 0)
                nomem = true;
            else
                *changed += (uint64_t)c;
        }
    }
    if (nomem) {
        *why = "out of memory: the delta is merged in part; merging it again completes it";
        return T1071_E_NOMEM;
    }
    return T1071_OK;
}
