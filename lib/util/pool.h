/* SPDX-License-Identifier: Apache-2.0 */
/* Size-class free lists for the engine's per-event records (lib/pool.c).
 * Internal, never installed. */
#ifndef T1071_POOL_H
#define T1071_POOL_H

#include <stddef.h>

struct t1071i_pool;

/* NULL when out of memory. */
struct t1071i_pool *t1071i_pool_new(void);
/* Frees the cached blocks and the pool; blocks still out are the
 * caller's (give them back first, or free() them). */
void t1071i_pool_free(struct t1071i_pool *pool);
/* A block of at least @p n bytes, from the free list of its size class
 * when one is cached, else malloc'ed.  NULL when out of memory. */
void *t1071i_pool_get(struct t1071i_pool *pool, size_t n);
/* Give back a block from t1071i_pool_get(@p n, the same n). */
void t1071i_pool_put(struct t1071i_pool *pool, void *p, size_t n);
/* Blocks malloc'ed so far (a test's view of steady state). */
size_t t1071i_pool_mallocs(const struct t1071i_pool *pool);

#endif /* T1071_POOL_H */
