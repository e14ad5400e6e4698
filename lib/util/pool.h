/* SPDX-License-Identifier: Apache-2.0 */
/* Size-class pools for the engine's per-event records (util/pool.c).
 * Internal, never installed. */
#ifndef T1071_POOL_H
#define T1071_POOL_H

#include <stddef.h>

struct t1071i_pool;

/* NULL when out of memory. */
struct t1071i_pool *t1071i_pool_new(void);
/* Frees every slab and the pool: blocks still out are gone with it (give
 * them back first; never free() a pool block). */
void t1071i_pool_free(struct t1071i_pool *pool);
/* A block of at least @p n bytes (8-byte aligned), from the free list of
 * its size class, else carved from the class's slab.  NULL when out of
 * memory. */
void *t1071i_pool_get(struct t1071i_pool *pool, size_t n);
/* Give back a block from t1071i_pool_get(@p n, the same n). */
void t1071i_pool_put(struct t1071i_pool *pool, void *p, size_t n);
/* Slabs and large blocks malloc'ed so far (a test's view of steady state). */
size_t t1071i_pool_mallocs(const struct t1071i_pool *pool);

#endif /* T1071_POOL_H */
