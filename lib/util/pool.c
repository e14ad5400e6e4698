/* SPDX-License-Identifier: Apache-2.0 */
/* Size-class free lists: in steady state the engine frees one pending
 * event (leaving a key's ring) for each one it creates, of about the same
 * size, so a short cached list per class turns malloc + free per event into
 * two pointer moves.  Each class caches a bounded number of blocks, so the
 * pool never holds more than CLASSES * MAX_CACHED blocks of idle memory;
 * past it, blocks go back to free().  Blocks larger than the last class
 * are plain malloc.  Under AddressSanitizer nothing is cached, so
 * use-after-free of a record is still caught. */
#include <stdint.h>
#include <stdlib.h>

#include "util/pool.h"

/* Class c holds blocks of c * 16 + 8 bytes: glibc's malloc adds an 8-byte
 * header and rounds chunks to 16, so these sizes waste nothing there (a
 * 96-byte class would take a 112-byte chunk for an 88-byte record). */
#define GRAIN 16
#define CLASSES 65               /* blocks up to 1032 bytes */
#define MAX_CACHED 4096          /* per class */

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

struct t1071i_pool {
    struct block *free[CLASSES];
    size_t n_free[CLASSES];
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
    for (size_t c = 0; c < CLASSES; c++) {
        struct block *b = pool->free[c];
        while (b) {
            struct block *next = b->next;
            free(b);
            b = next;
        }
    }
    free(pool);
}

static size_t
class_of(size_t n)
{
    return (n + 7) / GRAIN;
}

static size_t
class_size(size_t c)
{
    return c * GRAIN + 8;
}

void *
t1071i_pool_get(struct t1071i_pool *pool, size_t n)
{
    size_t c = class_of(n);

    if (!pool)
        return malloc(n);
    if (c >= CLASSES) {
        pool->mallocs++;
        return malloc(n);
    }
    if (pool->free[c]) {
        struct block *b = pool->free[c];
        pool->free[c] = b->next;
        pool->n_free[c]--;
        return b;
    }
    pool->mallocs++;
    return malloc(class_size(c));
}

void
t1071i_pool_put(struct t1071i_pool *pool, void *p, size_t n)
{
    size_t c = class_of(n);
    struct block *b = p;

    if (!p)
        return;
    if (!POOL_CACHES || !pool || c >= CLASSES || pool->n_free[c] >= MAX_CACHED) {
        free(p);
        return;
    }
    b->next = pool->free[c];
    pool->free[c] = b;
    pool->n_free[c]++;
}

size_t
t1071i_pool_mallocs(const struct t1071i_pool *pool)
{
    return pool ? pool->mallocs : 0;
}
