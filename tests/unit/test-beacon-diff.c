/* SPDX-License-Identifier: Apache-2.0 */
/* The timing component and the beacon score against their original
 * implementation (beacon-ref.c: lib/score/beacon.c before the fused window
 * scan, names renamed t1071i_ -> ref_): on random rings the outputs must
 * be identical bit for bit, every field, so verdicts, alerts and the
 * quality table stay exactly what they were.  Rings: exponential
 * intervals of many scales, beacons (period +- jitter, missed beats, with
 * noise), few distinct values (duplicates), intervals on and next to the
 * window edges (some within an ulp of an integer, where only the same
 * rounding sequence gives the same count), values near the 1.5 M candidate
 * floor, saturated UINT32_MAX
 * and near-saturated values; n = 0..140.
 * T1071_DIFF_RINGS overrides the number of rings (default 300000). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "t1071/t1071detect.h"
#include "score/beacon.h"

void ref_beacon_timing(const uint32_t *iv, size_t n, struct t1071i_beacon_timing *out);
void ref_beacon_score(const struct t1071i_beacon_state *st, struct t1071i_beacon_verdict *out);
double ref_beacon_rita_ts_score(const struct t1071i_beacon_state *st);
extern const double ref_beacon_windows[T1071I_BEACON_NW];

#define M ((double)T1071I_BEACON_MERGE_MS)
#define MAX_N 140

static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double
unif(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static uint64_t
below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/* A rough exponential draw (mean 1) without libm: the sum of a few
 * uniforms' shape does not matter here, only spread and a long tail. */
static double
expish(uint64_t *s)
{
    double u = unif(s), v = 0;
    while (u < 0.5 && v < 40) {
        v += 0.6931471805599453;
        u *= 2;
    }
    return v + (1 - u) * 1.3862943611198906;
}

static uint32_t
clamp_u32(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 4294967295.0)
        return UINT32_MAX;
    return (uint32_t)v;
}

/* Integers on and next to the upper edge of window W, multiple k, of
 * candidate a' (the same expression as the scan). */
static uint32_t
edge_value(double a, int k, double w, int off)
{
    double e = (double)k * a + (double)(k - 1) * M;
    double u = ((e + M) * (1.0 + w) - M) * (1.0 + 1e-9);
    double f = (double)(int64_t)u;
    return clamp_u32(f + M + (double)off);
}

static size_t
gen_ring(uint64_t *s, uint32_t *iv)
{
    size_t n;
    uint64_t r = below(s, 100);
    if (r < 3)
        n = below(s, 8); /* 0..7: the short paths */
    else if (r < 6)
        n = 129 + below(s, MAX_N - 128); /* more than the ring */
    else
        n = 8 + below(s, 121);
    int mode = (int)below(s, 8);
    double scale = 0, period = 0, jit = 0, miss = 0, noise = 0;
    uint32_t vals[4];
    int nvals = 1 + (int)below(s, 4);
    static const double scales[] = {300, 1500, 3000, 6000, 20000, 60000, 200000, 3.6e6, 1e9};
    static const double jits[] = {0, 0.001, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9};
    scale = scales[below(s, sizeof(scales) / sizeof(scales[0]))];
    period = 2500 + unif(s) * (below(s, 2) ? 120000 : 3.6e6);
    if (below(s, 8) == 0)
        period = 1000 + (double)below(s, 6000); /* near the candidate floor, 1.5 M */
    jit = jits[below(s, sizeof(jits) / sizeof(jits[0]))];
    miss = below(s, 3) * 0.15;
    noise = below(s, 3) * 0.2;
    for (int i = 0; i < nvals; i++)
        vals[i] = clamp_u32(below(s, 3) == 0 ? 2000 + (double)below(s, 8000) : scale * (1 + expish(s)));
    double a = 0.5 * M + (double)below(s, 100000);
    if (below(s, 2))
        a = (double)(below(s, 2000000)) / 2 + 0.5 * M;
    if (below(s, 3) == 0) {
        /* (e + M) (1 + W) - M a whole number of 1e9: then the upper edge
         * ((e + M) (1 + W) - M) (1 + 1e-9) is within an ulp or so of an
         * integer, and only the exact rounding sequence puts that integer
         * in or out */
        int k = 1 + (int)below(s, 3);
        double w = t1071i_beacon_windows[below(s, T1071I_BEACON_NW)];
        double j = (double)(1 + below(s, 3));
        a = (double)(int64_t)(((j * 1e9 + M) / (1.0 + w) - M - (double)(k - 1) * M) / (double)k) +
            (double)below(s, 601) - 300;
    }
    for (size_t i = 0; i < n; i++) {
        double v;
        switch (mode) {
        case 0: /* exponential */
            v = scale * expish(s);
            break;
        case 1: /* beacon: period +- jitter, missed beats, noise */
        case 2: {
            int k = 1;
            while (k < 4 && unif(s) < miss)
                k++;
            v = period * k * (1 - jit + 2 * jit * unif(s));
            if (unif(s) < noise)
                v = scale * expish(s);
            break;
        }
        case 3: /* exact multiples of a period (k P: on the lower edges) */
            v = (double)(int64_t)period * (double)(1 + below(s, 3)) + (double)below(s, 3) - 1;
            if (unif(s) < noise)
                v = scale * expish(s);
            break;
        case 4: /* few distinct values: duplicates */
            v = vals[below(s, (uint64_t)nvals)];
            break;
        case 5: { /* on and next to the upper edges */
            int k = 1 + (int)below(s, 3);
            double w = t1071i_beacon_windows[below(s, T1071I_BEACON_NW)];
            if (below(s, 4) == 0)
                v = (double)k * a + (double)(k - 1) * M + M + (double)below(s, 3) - 1;
            else
                v = edge_value(a, k, w, (int)below(s, 3) - 1);
            break;
        }
        case 6: /* small: around M, 3 M (the candidate floor), 5 M, 7 M */
            v = (double)below(s, 9000);
            break;
        default: /* uniform over a range */
            v = scale * 4 * unif(s);
            break;
        }
        iv[i] = clamp_u32(v);
        uint64_t t = below(s, 64);
        if (t == 0)
            iv[i] = UINT32_MAX;
        else if (t == 1)
            iv[i] = UINT32_MAX - (uint32_t)below(s, 3);
        else if (t == 2 && i > 0)
            iv[i] = iv[i - 1];
    }
    if (n > 0 && below(s, 200) == 0) /* all saturated */
        for (size_t i = 0; i < n; i++)
            iv[i] = UINT32_MAX - (uint32_t)below(s, 2);
    return n;
}

static void
print_ring(const uint32_t *iv, size_t n)
{
    fprintf(stderr, "# ring n=%zu:", n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %" PRIu32, iv[i]);
    fprintf(stderr, "\n");
}

#define SAME_D(a, b) (memcmp(&(a), &(b), sizeof(double)) == 0)

static void
check_timing(const uint32_t *iv, size_t n, uint64_t ring)
{
    struct t1071i_beacon_timing got, want;
    memset(&got, 0xa5, sizeof(got));
    memset(&want, 0x5a, sizeof(want));
    t1071i_beacon_timing(iv, n, &got);
    ref_beacon_timing(iv, n, &want);
    if (memcmp(&got, &want, sizeof(got)) != 0) {
        print_ring(iv, n);
        fail_msg("ring %" PRIu64 ": timing differs (t %.17g vs %.17g, period %.17g vs %.17g)",
                 ring, got.t, want.t, got.period_ms, want.period_ms);
    }
}

static void
check_score(const uint32_t *iv, size_t n, uint64_t ring, uint64_t *s)
{
    struct t1071i_beacon_state st;
    memset(&st, 0, sizeof(st));
    if (n > T1071I_BEACON_RING)
        n = T1071I_BEACON_RING;
    st.flags = (uint8_t)(below(s, 50) == 0 ? 0 : T1071I_BEACON_F_STARTED);
    if (below(s, 10) == 0)
        st.flags |= T1071I_BEACON_F_STROBE;
    st.ring_len = (uint8_t)n;
    st.ring_head = (uint8_t)below(s, T1071I_BEACON_RING);
    /* the ring in arrival order, oldest first, ending before ring_head */
    size_t start = (st.ring_head + T1071I_BEACON_RING - n) % T1071I_BEACON_RING;
    for (size_t i = 0; i < n; i++)
        st.ring[(start + i) % T1071I_BEACON_RING] = iv[i];
    st.n_events = n + below(s, 1000);
    st.n_beats = n + 1;
    st.first_ms = (int64_t)below(s, UINT64_C(1) << 40);
    st.hour_head = st.first_ms / 3600000 + (int64_t)below(s, 100);
    st.last_ms = st.hour_head * 3600000;
    st.beat_ms = st.last_ms;
    st.active = rng_next(s);
    for (int h = 0; h < T1071I_BEACON_HOURS; h++)
        st.hours[h] = (uint16_t)below(s, below(s, 2) ? 5 : 300);
    st.n_sized = (uint32_t)below(s, 200);
    for (int i = 0; i < T1071I_BEACON_SIZE_SLOTS; i++) {
        st.sizes[i].center = (uint32_t)rng_next(s);
        st.sizes[i].count = (uint32_t)below(s, 100);
    }

    struct t1071i_beacon_verdict got, want;
    t1071i_beacon_score(&st, &got);
    ref_beacon_score(&st, &want);
    int same = SAME_D(got.score, want.score) && SAME_D(got.timing, want.timing) &&
               SAME_D(got.timing_window, want.timing_window) &&
               SAME_D(got.timing_bound, want.timing_bound) &&
               SAME_D(got.count_reg, want.count_reg) && SAME_D(got.size, want.size) &&
               SAME_D(got.persistence, want.persistence) && got.period_ms == want.period_ms &&
               SAME_D(got.jitter, want.jitter) && SAME_D(got.window, want.window) &&
               got.n_intervals == want.n_intervals && got.full_hours == want.full_hours &&
               got.n_events == want.n_events && got.n_beats == want.n_beats &&
               got.size_known == want.size_known && got.hourly == want.hourly &&
               got.strobe == want.strobe;
    double r1 = t1071i_beacon_rita_ts_score(&st), r2 = ref_beacon_rita_ts_score(&st);
    if (!same || !SAME_D(r1, r2)) {
        print_ring(iv, n);
        fail_msg("ring %" PRIu64 ": score differs (%.17g vs %.17g, rita %.17g vs %.17g)", ring,
                 got.score, want.score, r1, r2);
    }
}

static void
test_windows_table_unchanged(void **state)
{
    (void)state;
    assert_memory_equal(t1071i_beacon_windows, ref_beacon_windows, sizeof(ref_beacon_windows));
}

static void
test_timing_and_score_match_reference(void **state)
{
    (void)state;
    uint64_t rings = 300000;
    const char *e = getenv("T1071_DIFF_RINGS");
    if (e != NULL && *e != '\0')
        rings = strtoull(e, NULL, 10);
    uint64_t s = 61071;
    uint32_t iv[MAX_N];
    for (uint64_t r = 0; r < rings; r++) {
        size_t n = gen_ring(&s, iv);
        check_timing(iv, n, r);
        check_score(iv, n, r, &s);
    }
    /* A few fixed shapes: strictly periodic, all equal, all saturated. */
    for (size_t n = 0; n <= MAX_N; n++) {
        for (size_t i = 0; i < n; i++)
            iv[i] = 60000;
        check_timing(iv, n, rings);
        for (size_t i = 0; i < n; i++)
            iv[i] = (uint32_t)(3000 + 1000 * (i % 7));
        check_timing(iv, n, rings);
        for (size_t i = 0; i < n; i++)
            iv[i] = UINT32_MAX;
        check_timing(iv, n, rings);
    }
    printf("# %" PRIu64 " random rings: timing, score and RITA ts score identical\n", rings);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_table_unchanged),
        cmocka_unit_test(test_timing_and_score_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
