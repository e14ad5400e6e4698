/* SPDX-License-Identifier: Apache-2.0 */
/* Size-class pools for the engine's per-event records: in steady state the
 * engine frees one pending event (leaving a key's ring) for each one it
 * creates, of about the same size, so a free list per class turns malloc +
 * free per event into two pointer moves.
 *
 * Blocks are carved from slabs (issue 17): a class's block is its size
 * rounded up to 8 bytes, with no per-block malloc header or 16-byte
 * rounding (a 75-byte record took a 96-byte malloc chunk; it now takes 80
 * bytes).  A class's slabs start small and double up to SLAB_MAX, so a
 * small context holds little.  A carved block is never handed back to
 * malloc on its own: a class keeps, on its free list, as many blocks as it
 * ever had out at once (the peak of pending records, which
 * engine.memory_limit bounds), and everything goes back at
 * t1071i_pool_free().  Blocks larger than the last class are plain
 * malloc.  Under AddressSanitizer every block is plain malloc, so
 * use-after-free of a record is still caught. */
#include <stdint.h>
#include <stdlib.h>

#include "util/pool.h"

#define GRAIN 8
#define CLASSES 129              /* blocks up to 1024 bytes */
#define SLAB_MIN_BLOCKS 16       /* a class's first slab */
#define SLAB_MAX ((size_t)64 << 10)
#define SLAB_HDR 16              /* keeps blocks 16-byte aligned at the start */

#if defined(__SANITIZE_ADDRESS__)
#define POOL_CACHES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_CACHES 0
#endif
#endif
#ifndef POOL_CACHES
#define POOL_CACHES 1
#endif

struct block {
    struct block *next;
};

struct slab {
    struct slab *next;
};

struct t1071i_pool {
    struct block *free[CLASSES];
    uint8_t *cur[CLASSES], *end[CLASSES]; /* the class's slab being carved */
    size_t slab_bytes[CLASSES];           /* its next slab's size */
    struct slab *slabs;
    size_t mallocs;
};

struct t1071i_pool *
t1071i_pool_new(void)
{
    return calloc(1, sizeof(struct t1071i_pool));
}

void
t1071i_pool_free(struct t1071i_pool *pool)
{
    if (!pool)
        return;
    while (pool->slabs) {
        struct slab *next = pool->slabs->next;
        free(pool->slabs);
        pool->slabs = next;
    }
    free(pool);
}

static size_t
class_of(size_t n)
{
    return (n + GRAIN - 1) / GRAIN;
}

/* A new block of class @p c from a fresh slab, NULL when out of memory. */
static void *
carve_new_slab(struct t1071i_pool *pool, size_t c)
{
    size_t bs = c * GRAIN, sz = pool->slab_bytes[c];
    struct slab *sl;

    if (!sz)
        sz = SLAB_HDR + SLAB_MIN_BLOCKS * bs;
    sl = malloc(sz);
    if (!sl)
        return NULL;
    pool->mallocs++;
    sl->next = pool->slabs;
    pool->slabs = sl;
    if (sz < SLAB_MAX)
        pool->slab_bytes[c] = sz * 2 > SLAB_MAX ? SLAB_MAX : sz * 2;
    else
        pool->slab_bytes[c] = sz;
    pool->cur[c] = (uint8_t *)sl + SLAB_HDR + bs;
    pool->end[c] = (uint8_t *)sl + SLAB_HDR + (sz - SLAB_HDR) / bs * bs;
    return (uint8_t *)sl + SLAB_HDR;
}

void *
t1071i_pool_get(struct t1071i_pool *pool, size_t n)
{
    size_t c = class_of(n ? n : 1);

    if (!pool)
        return malloc(n);
    if (!POOL_CACHES || c >= CLASSES) {
        pool->mallocs++;
        return malloc(n);
    }
    if (pool->free[c]) {
        struct block *b = pool->free[c];
        pool->free[c] = b->next;
        return b;
    }
    if (pool->cur[c] && pool->cur[c] + c * GRAIN <= pool->end[c]) {
        void *p = pool->cur[c];
        pool->cur[c] += c * GRAIN;
        return p;
    }
    return carve_new_slab(pool, c);
}

void
t1071i_pool_put(struct t1071i_pool *pool, void *p, size_t n)
{
    size_t c = class_of(n ? n : 1);
    struct block *b = p;

    if (!p)
        return;
    if (!POOL_CACHES || !pool || c >= CLASSES) {
        free(p);
        return;
    }
    b->next = pool->free[c];
    pool->free[c] = b;
}

size_t
t1071i_pool_mallocs(const struct t1071i_pool *pool)
{
    return pool ? pool->mallocs : 0;
}
