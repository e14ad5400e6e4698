/* SPDX-License-Identifier: Apache-2.0 */
/* Seeded keyed hashing for attacker-chosen strings (entity ids, host
 * names): SipHash-1-3, so a flood of crafted keys cannot force collisions
 * without knowing the per-context seed. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "t1071/t1071detect.h"
#include "util/hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);               \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                 \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                 \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);               \
    } while (0)

static uint64_t
load64_le(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint64_t
t1071i_hash(uint64_t seed, const void *data, size_t len)
{
    /* Expand the 64-bit seed into SipHash's two key words. */
    uint64_t k0 = seed ^ UINT64_C(0x9e3779b97f4a7c15);
    uint64_t k1 = (seed * UINT64_C(0xbf58476d1ce4e5b9)) ^ UINT64_C(0x94d049bb133111eb);
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    const uint8_t *p = data;
    const uint8_t *end = p + (len & ~(size_t)7);
    uint64_t b = (uint64_t)len << 56;

    for (; p != end; p += 8) {
        uint64_t m = load64_le(p);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    switch (len & 7) {
    case 7: b |= (uint64_t)p[6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[0];       /* fall through */
    default: break;
    }
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
t1071i_random_seed(void)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        /* No entropy yet (early boot): fall back to an address-derived
         * value; results never depend on the seed, only collision
         * resistance does. */
        uintptr_t a = (uintptr_t)&seed;
        seed = (uint64_t)a * UINT64_C(0x9e3779b97f4a7c15);
    }
    return seed ? seed : 1;
}

/* ===== The chained table ===== */

int
t1071i_ht_init(struct t1071i_htable *t, size_t n, size_t str_off)
{
    t->buckets = calloc(n, sizeof(*t->buckets));
    t->mask = n - 1;
    t->count = 0;
    t->str_off = str_off;
    return t->buckets ? T1071_OK : T1071_E_NOMEM;
}

static void
ht_grow(struct t1071i_htable *t)
{
    size_t nb = (t->mask + 1) * 2;
    struct t1071i_hnode **b = calloc(nb, sizeof(*b));

    if (!b)
        return; /* keep the old, longer chains: still correct */
    for (size_t i = 0; i <= t->mask; i++) {
        struct t1071i_hnode *n = t->buckets[i];
        while (n) {
            struct t1071i_hnode *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = nb - 1;
}

void
t1071i_ht_insert(struct t1071i_htable *t, struct t1071i_hnode *n)
{
    if (t->count >= t->mask + 1)
        ht_grow(t);
    n->next = t->buckets[n->hash & t->mask];
    t->buckets[n->hash & t->mask] = n;
    t->count++;
}

void
t1071i_ht_remove(struct t1071i_htable *t, struct t1071i_hnode *n)
{
    struct t1071i_hnode **pp = &t->buckets[n->hash & t->mask];

    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = n->next;
        t->count--;
    }
}


size_t
t1071i_ht_longest_chain(const struct t1071i_htable *t)
{
    size_t longest = 0;

    for (size_t b = 0; b <= t->mask; b++) {
        size_t n = 0;
        for (const struct t1071i_hnode *x = t->buckets[b]; x; x = x->next)
            n++;
        if (n > longest)
            longest = n;
    }
    return longest;
}
