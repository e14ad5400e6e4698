/* SPDX-License-Identifier: Apache-2.0 */
/* Seeded keyed hashing (lib/util/hash.c) and the chained hash table the
 * engine keys its hosts and key values with.  Internal, never installed. */
#ifndef T1071_UTIL_HASH_H
#define T1071_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SipHash-1-3 of @p len bytes under a 128-bit key derived from @p seed. */
uint64_t t1071i_hash(uint64_t seed, const void *data, size_t len);
/* A seed from the OS's random source; never 0. */
uint64_t t1071i_random_seed(void);

/* ===== A small chained hash table over caller-owned nodes =====
 * A node is embedded first in the caller's struct; its string (the key)
 * sits @p str_off bytes after the node.  The hash is the caller's
 * (t1071i_hash under the context's seed): lookups compare it first. */
struct t1071i_hnode {
    struct t1071i_hnode *next;
    uint64_t hash;
    uint32_t len;
    uint32_t aux;               /* the caller's (key atoms: references) */
};

struct t1071i_htable {
    struct t1071i_hnode **buckets;
    size_t mask;    /* buckets - 1 */
    size_t count;
    size_t str_off; /* a node's string is at this offset from the node */
};

/* @p n buckets, a power of two.  T1071_OK or T1071_E_NOMEM. */
int t1071i_ht_init(struct t1071i_htable *t, size_t n, size_t str_off);
void t1071i_ht_insert(struct t1071i_htable *t, struct t1071i_hnode *n);
void t1071i_ht_remove(struct t1071i_htable *t, struct t1071i_hnode *n);
/* Longest bucket chain (the hash-flood test measures the real tables). */
size_t t1071i_ht_longest_chain(const struct t1071i_htable *t);

/* On the feed path for every event: inline. */
static inline struct t1071i_hnode *
t1071i_ht_find(const struct t1071i_htable *t, uint64_t hash, const char *s, size_t len)
{
    for (struct t1071i_hnode *n = t->buckets[hash & t->mask]; n; n = n->next)
        if (n->hash == hash && n->len == len && !memcmp((const char *)n + t->str_off, s, len))
            return n;
    return NULL;
}

#endif /* T1071_UTIL_HASH_H */
