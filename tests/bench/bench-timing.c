/* SPDX-License-Identifier: Apache-2.0 */
/* One timing score (t1071i_beacon_timing) per ring: ns per call on
 * exponential intervals (browser-like, mean 200 s: what the bench stream's
 * non-beacon keys look like) and on beacons (60 s +- 10 %, one beat in 10
 * missed), at n = 10, 22, 48, 128 intervals.  Median (and minimum) of
 * RUNS, in thread CPU time.
 * usage: bench-timing [CALLS_PER_ROW [RUNS]] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "score/beacon.h"

#define RINGS 64

static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double
unif(uint64_t *s)
{
    return (double)((rng_next(s) >> 11) + 1) / 9007199254740992.0;
}

/* -ln(u) for u in (0, 1], without libm: ln u = 2 atanh((u - 1) / (u + 1)),
 * after scaling u into [0.5, 1) by powers of two. */
static double
neg_log(double u)
{
    int e = 0;
    while (u < 0.5) {
        u *= 2;
        e++;
    }
    double t = (u - 1) / (u + 1), t2 = t * t, sum = 0, p = t;
    for (int k = 1; k < 40; k += 2) {
        sum += p / k;
        p *= t2;
    }
    return -2 * sum + e * 0.6931471805599453;
}

static void
fill(uint32_t *iv, size_t n, int beacon, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        if (beacon) {
            v = 60000.0 * (0.9 + 0.2 * unif(s));
            if (rng_next(s) % 10 == 0)
                v *= 2;
        } else {
            v = 200000.0 * neg_log(unif(s));
        }
        iv[i] = v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
    }
}

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* not the time others run */
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 20000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    static const size_t ns[] = {10, 22, 48, 128};
    static uint32_t rings[RINGS][T1071I_BEACON_RING];
    uint64_t s = 1071;
    double sink = 0;

    if (calls < RINGS || runs < 1 || runs > 99) {
        fprintf(stderr, "usage: bench-timing [CALLS_PER_ROW >= %d [RUNS 1..99]]\n", RINGS);
        return 2;
    }
    printf("%-10s %5s %12s %14s %12s\n", "input", "n", "ns/call", "ns/interval", "min ns/call");
    for (int beacon = 0; beacon <= 1; beacon++) {
        for (size_t in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
            size_t n = ns[in];
            double t[99];
            for (int r = 0; r < RINGS; r++)
                fill(rings[r], n, beacon, &s);
            for (int run = 0; run < runs; run++) {
                double t0 = now_ns();
                for (long c = 0; c < calls; c++) {
                    struct t1071i_beacon_timing tm;
                    t1071i_beacon_timing(rings[c % RINGS], n, &tm);
                    sink += tm.t;
                }
                t[run] = (now_ns() - t0) / (double)calls;
            }
            qsort(t, (size_t)runs, sizeof(t[0]), cmp_d);
            double med = t[runs / 2];
            printf("%-10s %5zu %12.0f %14.1f %12.0f\n", beacon ? "beacon" : "random", n, med,
                   med / (double)n, t[0]);
        }
    }
    printf("(checksum %.6f)\n", sink);
    return 0;
}
