/* SPDX-License-Identifier: Apache-2.0 */
/* Fleet prevalence (tuning.prevalence_hosts): per (destination,
 * executable), the hosts seen within tuning.prevalence_window, in a
 * bounded table (T1071I_PREVALENCE_MAX entries, least recently used
 * replaced). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "score/tracker-priv.h"
#include "util/addr.h"
#include "util/hash.h"
#include "util/timefmt.h"



/* ===== Prevalence ===== */

static size_t
prev_key(const struct t1071i_pev *p, char *buf, size_t size)
{
    const char *exe = p->exe ? p->exe : p->pname;
    size_t n, w;

    if (!exe)
        return 0;
    n = t1071i_pev_dest(p, buf, size);
    {
        struct sbuf sb = {buf + n, size - n, 0};
        t1071i_sb_put(&sb, "\x1f", 1);
        t1071i_sb_put(&sb, exe, strlen(exe));
        w = t1071i_sb_end(&sb);
    }
    n += w;
    return n < size ? n : size - 1;
}

struct prev_entry *
t1071i_prev_find(const struct t1071i_tracker *t, const char *key, size_t len, uint64_t h)
{
    for (struct prev_entry *e = t->buckets[h & (t->n_buckets - 1)]; e; e = e->chain)
        if (e->hash == h && e->len == len &&
            !memcmp(t1071i_prev_kptr(t, e), key, len))
            return e;
    return NULL;
}

/* t1071i_prev_find, moving a hit to the front of its bucket's chain: a
 * destination seen again is usually seen again soon (beacons), and at the
 * cap chains are 16 long.  Chain order is never observable (snapshots
 * walk the LRU list). */
static struct prev_entry *
prev_find_front(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h)
{
    struct prev_entry **head = &t->buckets[h & (t->n_buckets - 1)];

    for (struct prev_entry **pp = head, *e; (e = *pp) != NULL; pp = &e->chain)
        if (e->hash == h && e->len == len &&
            !memcmp(t1071i_prev_kptr(t, e), key, len)) {
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
    t->bytes -= t1071i_prev_entry_bytes(t, e->len);
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

struct prev_entry *
t1071i_prev_insert(struct t1071i_tracker *t, const char *key, size_t len, uint64_t h)
{
    struct prev_entry *e = NULL;

    prev_grow(t);
    if (t->n_entries >= T1071I_PREVALENCE_MAX) {
        struct prev_entry *o = t->oldest;
        if (o->cap >= len && o->cap - len <= REUSE_SLACK) {
            /* Take the oldest entry over rather than free + calloc. */
            uint16_t cap = o->cap;
            size_t whole = t1071i_prev_entry_bytes(t, cap);
            prev_detach(t, o);
            memset(o, 0, whole);
            o->cap = cap;
            e = o;
        } else {
            prev_drop(t, o);
        }
    }
    if (!e) {
        e = calloc(1, t1071i_prev_entry_bytes(t, len));
        if (!e)
            return NULL;
        e->cap = (uint16_t)len;
    }
    e->host_hash = (uint64_t *)(e + 1);
    e->host_ts = (int64_t *)(e->host_hash + t->slots);
    {
        char *k = t1071i_prev_kptr(t, e);
        memcpy(k, key, len);
        k[len] = '\0';
    }
    e->hash = h;
    e->len = (uint16_t)len;
    e->chain = t->buckets[h & (t->n_buckets - 1)];
    t->buckets[h & (t->n_buckets - 1)] = e;
    prev_append(t, e);
    t->n_entries++;
    t->bytes += t1071i_prev_entry_bytes(t, len);
    return e;
}

const char *
t1071i_prev_entry_key(const struct t1071i_tracker *t, const struct prev_entry *e)
{
    return t1071i_prev_kptr(t, e);
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
    if (t->sync) {
        /* tuning.fleet_key: the order-free rules of score/prevalence-sync.c. */
        (void)t1071i_prev_sync_add(t, key, len, h, t1071i_hash(t->host_seed, host, strlen(host)),
                                   p->ts);
        *mem_delta = (int64_t)t->bytes - (int64_t)before;
        return;
    }
    hh = t1071i_hash(t->seed, host, strlen(host));
    e = prev_find_front(t, key, len, h);
    if (e)
        prev_unlink(t, e), prev_append(t, e);
    else if (!(e = t1071i_prev_insert(t, key, len, h)))
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

uint32_t
t1071i_prevalence_hosts(const struct t1071i_tracker *t, const struct t1071i_pev *p)
{
    char key[512];
    size_t len;
    struct prev_entry *e;
    uint32_t n = 0;
    int64_t horizon = p->ts - t->tun->prevalence_window_ms;

    if (!t->slots || !(len = prev_key(p, key, sizeof(key))))
        return 0;
    e = t1071i_prev_find(t, key, len, t1071i_hash(t->seed, key, len));
    if (!e)
        return 0;
    /* A host seen "later" than a window ahead is a forged clock (a
     * retracted first event): it does not count. */
    if (t->sync && t->floor > horizon)
        horizon = t->floor; /* hosts before the floor are absent */
    for (uint32_t i = 0; i < e->n; i++)
        if (e->host_ts[i] >= horizon && e->host_ts[i] - p->ts <= t->tun->prevalence_window_ms)
            n++;
    return n;
}

void
t1071i_prev_drop(struct t1071i_tracker *t, struct prev_entry *e)
{
    prev_drop(t, e);
}
