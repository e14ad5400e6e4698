/* SPDX-License-Identifier: Apache-2.0 */
/* The feed path's shortcuts equal what they replace (IPv4 parsing and
 * formatting against glibc's inet_pton / inet_ntop), the record pool, and
 * no heap allocation per event in steady state, counted by interposing
 * malloc in this executable. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/pool.h"
#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

/* ===== A counting allocator (this executable's malloc wins over libc's
 * for the whole process, the library included); not under
 * AddressSanitizer, which has its own ===== */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifdef UNDER_ASAN
#define COUNTING 0
#else
#define COUNTING 1
#endif

#if COUNTING
static unsigned long long n_allocs;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);

void *
malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
    n_allocs++;
    return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}

void
free(void *p)
{
    __libc_free(p);
}
#endif

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The reference: what t1071i_parse_ip did before its IPv4 shortcut. */
static bool
ref_parse_ip(const char *s, uint8_t out[16], bool *is_v4)
{
    struct in_addr a4;
    struct in6_addr a6;
    size_t n = strlen(s);

    if (n == 0 || n > 45)
        return false;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *is_v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        *is_v4 = false;
        return true;
    }
    return false;
}

static void
same_parse(const char *s)
{
    uint8_t a[16], b[16];
    bool va = false, vb = false;
    bool ra = t1071i_parse_ip(s, a, &va), rb = ref_parse_ip(s, b, &vb);

    if (ra != rb || (ra && (va != vb || memcmp(a, b, 16)))) {
        fprintf(stderr, "parse_ip(\"%s\"): %d vs inet_pton %d\n", s, ra, rb);
        fail();
    }
}

static void
test_fastpath_parse_ip_equals_inet_pton(void **state)
{
    static const char *const fixed[] = {
        "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.", "1.2.3.4.5", ".1.2.3",
        "01.2.3.4", "1.02.3.4", "0.0.0.00", "1..2.3", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4",
        "10.1.2.3", "192.168.000.1", "::ffff:10.1.2.3", "::1", "1.2.3.4/8", "1.2.3.999",
        "4294967296", "1.2.3.4\t", "0x1.2.3.4", "1e1.2.3.4", "",
    };
    const char alpha[] = "0123456789...:af";
    uint64_t s = 1071;
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        same_parse(fixed[i]);
    for (int i = 0; i < 300000; i++) {
        size_t n = 1 + rnd(&s) % 18;
        if (i % 3 == 0) {
            snprintf(buf, sizeof(buf), "%u.%u.%u.%u", (unsigned)(rnd(&s) % 300),
                     (unsigned)(rnd(&s) % 300), (unsigned)(rnd(&s) % 300),
                     (unsigned)(rnd(&s) % 300));
        } else {
            for (size_t j = 0; j < n; j++)
                buf[j] = alpha[rnd(&s) % (sizeof(alpha) - 1)];
            buf[n] = '\0';
        }
        same_parse(buf);
    }
}

static void
test_fastpath_format_v4_equals_inet_ntop(void **state)
{
    char a[16], b[INET_ADDRSTRLEN];
    uint64_t s = 7;

    (void)state;
    for (unsigned pos = 0; pos < 4; pos++) {
        for (unsigned v = 0; v < 256; v++) {
            uint8_t ip[4];
            for (unsigned i = 0; i < 4; i++)
                ip[i] = (uint8_t)rnd(&s);
            ip[pos] = (uint8_t)v;
            assert_non_null(inet_ntop(AF_INET, ip, b, sizeof(b)));
            assert_string_equal(t1071i_format_v4(ip, a), b);
        }
    }
}

static void
test_fastpath_pool_reuses_blocks(void **state)
{
    struct t1071i_pool *pool = t1071i_pool_new();
    void *p[100];
    size_t before;

    (void)state;
    assert_non_null(pool);
    for (int i = 0; i < 100; i++)
        p[i] = t1071i_pool_get(pool, 200 + (size_t)i % 7);
    for (int i = 0; i < 100; i++)
        t1071i_pool_put(pool, p[i], 200 + (size_t)i % 7);
    before = t1071i_pool_mallocs(pool);
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100; i++) {
            p[i] = t1071i_pool_get(pool, 200 + (size_t)i % 7);
            assert_non_null(p[i]);
            memset(p[i], 0xa5, 200 + (size_t)i % 7);
        }
        for (int i = 0; i < 100; i++)
            t1071i_pool_put(pool, p[i], 200 + (size_t)i % 7);
    }
#ifndef UNDER_ASAN
    assert_int_equal(t1071i_pool_mallocs(pool), before); /* ASan: the pool caches nothing */
#else
    (void)before;
#endif
    /* Past the largest class: plain malloc. */
    p[0] = t1071i_pool_get(pool, 5000);
    assert_non_null(p[0]);
    t1071i_pool_put(pool, p[0], 5000);
    t1071i_pool_free(pool);
}

static size_t
put_varint(uint8_t *w, uint64_t v)
{
    size_t n = 0;
    do {
        w[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            w[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* One length-delimited event shaped like bench-feed's nine-pending
 * scenario: a 34-character entity id, host k % 5000, a public
 * destination on 443, process rundll32.exe, round r a minute later. */
static size_t
nine_event(uint8_t *out, uint32_t k, uint32_t round)
{
    T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
    char id[32], ent[48], host[32], ip[32];
    char *cat = (char *)"network", *type = (char *)"connection", *dir = (char *)"egress";
    char *ipv = ip, *entv = ent, *name = (char *)"rundll32.exe";
    int64_t port = 443;
    uint8_t buf[512];
    size_t n, np;

    snprintf(id, sizeof(id), "p%u-%u", k, round);
    snprintf(ent, sizeof(ent), "{%08x-4f1c-0000-%012" PRIx32 "}", k * 2654435761u, k);
    snprintf(host, sizeof(host), "ws-%05u", k % 5000);
    snprintf(ip, sizeof(ip), "203.0.%u.%u", (k >> 8) & 255, k & 255);
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = INT64_C(1732780800000) + (int64_t)round * 60000 + k % 1000;
    ev.event_id = id;
    ev.n_event_category = 1;
    ev.event_category = &cat;
    ev.n_event_type = 1;
    ev.event_type = &type;
    ev.n_network_direction = 1;
    ev.network_direction = &dir;
    ev.n_destination_ip = 1;
    ev.destination_ip = &ipv;
    ev.n_destination_port = 1;
    ev.destination_port = &port;
    ev.n_process_entity_id = 1;
    ev.process_entity_id = &entv;
    ev.n_process_name = 1;
    ev.process_name = &name;
    ev.host_name = host;
    n = t1071__ecs__v1__event__pack(&ev, buf);
    np = put_varint(out, n);
    memcpy(out + np, buf, n);
    return np + n;
}

/* Issue #6's memory bound: a key holding nine pending events (with its
 * share of its host) is accounted at most 1 KiB. */
static void
test_fastpath_nine_pending_within_1kib(void **state)
{
    enum { KEYS = 20000 };
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    uint8_t *buf = malloc((size_t)KEYS * 256);
    uint64_t keys = 0, bytes = 0, matched = 0, alerts = 0;

    (void)state;
    assert_non_null(buf);
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "beacon.enabled", "false"), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    for (uint32_t round = 0; round < 9; round++) {
        size_t len = 0, consumed = 0;
        for (uint32_t k = 0; k < KEYS; k++)
            len += nine_event(buf + len, k, round);
        assert_int_equal(t1071_feed_batch(ctx, buf, len, &consumed), T1071_OK);
        assert_int_equal(consumed, len);
    }
    t1071_stats_get(ctx, T1071_STAT_KEYS, &keys);
    t1071_stats_get(ctx, T1071_STAT_MEMORY_BYTES, &bytes);
    t1071_stats_get(ctx, T1071_STAT_EVENTS_MATCHED, &matched);
    t1071_stats_get(ctx, T1071_STAT_ALERTS, &alerts);
    assert_int_equal(keys, KEYS);
    assert_int_equal(matched, 9 * KEYS);
    assert_int_equal(alerts, 0);
    if (bytes > (uint64_t)KEYS * 1024) {
        fprintf(stderr, "%.1f bytes per key with nine pending events (> 1024)\n",
                (double)bytes / KEYS);
        fail();
    }
    t1071_free(ctx);
    free(buf);
}

#if COUNTING
/* One length-delimited event: key k of host k % 50, public destination on
 * port 443 (matches) or a private one (filtered). */
static size_t
event(uint8_t *out, uint32_t k, uint32_t round, bool match)
{
    T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
    char id[32], ent[32], host[16], ip[32];
    char *cat = (char *)"network", *type = (char *)"connection", *dir = (char *)"egress";
    char *ipv = ip, *entv = ent, *name = (char *)"implant.exe";
    int64_t port = 443;
    uint8_t buf[512];
    size_t n, np;

    snprintf(id, sizeof(id), "e%u-%u", k, round);
    snprintf(ent, sizeof(ent), "ent-%u", k);
    snprintf(host, sizeof(host), "h%u", k % 50);
    snprintf(ip, sizeof(ip), match ? "203.0.113.%u" : "10.0.0.%u", k % 250);
    ev.has_timestamp_ms = 1;
    ev.timestamp_ms = INT64_C(1700000000000) + (int64_t)round * 1000 + k;
    ev.event_id = id;
    ev.n_event_category = 1;
    ev.event_category = &cat;
    ev.n_event_type = 1;
    ev.event_type = &type;
    ev.n_network_direction = 1;
    ev.network_direction = &dir;
    ev.n_destination_ip = 1;
    ev.destination_ip = &ipv;
    ev.n_destination_port = 1;
    ev.destination_port = &port;
    ev.n_process_entity_id = 1;
    ev.process_entity_id = &entv;
    ev.n_process_name = 1;
    ev.process_name = &name;
    ev.host_name = host;
    n = t1071__ecs__v1__event__pack(&ev, buf);
    np = put_varint(out, n);
    memcpy(out + np, buf, n);
    return np + n;
}

static void
test_fastpath_steady_state_feed_does_not_allocate(void **state)
{
    enum { KEYS = 200, WARM = 40, MEASURED = 200 };
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    static uint8_t buf[KEYS * 2 * 256];
    unsigned long long before;

    (void)state;
    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    /* No sequence completes (alerts are caller-owned output, they
     * allocate): a key sees one event a second and keeps 5 s of them, so
     * each new record takes the place of one that expired. */
    assert_int_equal(t1071_config_set(cfg, "rule.runs", "1000"), T1071_OK);
    assert_int_equal(t1071_config_set(cfg, "rule.maxspan", "5s"), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    for (uint32_t round = 0; round < WARM + MEASURED; round++) {
        size_t len = 0, consumed = 0;
        uint64_t matched = 0;
        for (uint32_t k = 0; k < KEYS; k++) {
            len += event(buf + len, k, round, true);
            len += event(buf + len, k, round, false);
        }
        before = n_allocs;
        assert_int_equal(t1071_feed_batch(ctx, buf, len, &consumed), T1071_OK);
        assert_int_equal(consumed, len);
        t1071_stats_get(ctx, T1071_STAT_EVENTS_MATCHED, &matched);
        assert_int_equal(matched, (uint64_t)(round + 1) * KEYS);
        if (round >= WARM && n_allocs != before) {
            fprintf(stderr, "round %u: %llu allocations for %d events\n", round,
                    n_allocs - before, 2 * KEYS);
            fail();
        }
    }
    t1071_free(ctx);
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fastpath_parse_ip_equals_inet_pton),
        cmocka_unit_test(test_fastpath_format_v4_equals_inet_ntop),
        cmocka_unit_test(test_fastpath_pool_reuses_blocks),
        cmocka_unit_test(test_fastpath_nine_pending_within_1kib),
#if COUNTING
        /* Under AddressSanitizer malloc is its own: nothing to count. */
        cmocka_unit_test(test_fastpath_steady_state_feed_does_not_allocate),
#endif
    };
    return cmocka_run_group_tests_name("fastpath", tests, NULL, NULL);
}
