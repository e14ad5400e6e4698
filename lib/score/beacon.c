/* SPDX-License-Identifier: Apache-2.0 */
/* Beacon statistics: a RITA v5 compatible mode and our own score over a
 * bounded candidate state (README "Beacon score and the tuned profile").
 * See beacon.h for the contract.
 *
 * One file over lib/'s usual size on purpose: it is one algorithm.  The
 * RITA statistics and the timing, count, size and persistence components
 * share the exact sort, median and floating-point helpers at the top, which
 * must give the same bits on every compiler (snapshots hold cached
 * verdicts, tests/unit/test-beacon-diff.c compares them bit for bit);
 * split, they would be copied or exported from a header for one user. */
#include <float.h>
#include <math.h> /* isnan, NAN, HUGE_VAL: macros only, no libm */
#include <stdlib.h>
#include <string.h>

#include "t1071/t1071detect.h"
#include "score/beacon.h"

/* ===== Small helpers ===== */

/* No libm: the library links none, and these are exact (or correctly
 * rounded) with basic IEEE operations only, so every platform gets the
 * same bits.  Clang may fuse a * b + c into an FMA (GCC does not in ISO C
 * mode): forbid it. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define TWO52 4503599627370496.0 /* from here on every double is an integer */

static double
b_fabs(double x)
{
    return x < 0 ? -x : x;
}

static double
b_trunc(double x)
{
    if (!(x > -TWO52 && x < TWO52))
        return x; /* integer already, inf or NaN */
    return (double)(int64_t)x;
}

static double
b_floor(double x)
{
    double t = b_trunc(x);
    return t > x ? t - 1 : t;
}

static double
b_ceil(double x)
{
    double t = b_trunc(x);
    return t < x ? t + 1 : t;
}

/* Halves away from zero, as C's round and Go's math.Round.  x - trunc(x)
 * is exact, so 0.49999999999999994 stays 0. */
static double
b_round(double x)
{
    double t = b_trunc(x), f = x - t;
    if (f >= 0.5)
        return t + 1;
    if (f <= -0.5)
        return t - 1;
    return t;
}

/* 2^k for -1022 <= k <= 1023. */
static double
pow2(int k)
{
    uint64_t b = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

struct u128 {
    uint64_t hi, lo;
};

static bool
u128_ge(struct u128 a, struct u128 b)
{
    return a.hi > b.hi || (a.hi == b.hi && a.lo >= b.lo);
}

static struct u128
u128_add(struct u128 a, struct u128 b)
{
    struct u128 r = {a.hi + b.hi, a.lo + b.lo};
    r.hi += r.lo < a.lo;
    return r;
}

static struct u128
u128_sub(struct u128 a, struct u128 b)
{
    struct u128 r = {a.hi - b.hi, a.lo - b.lo};
    r.hi -= a.lo < b.lo;
    return r;
}

static struct u128
u128_shr(struct u128 a, unsigned s) /* 0 < s < 64 */
{
    struct u128 r = {a.hi >> s, (a.lo >> s) | (a.hi << (64 - s))};
    return r;
}

double
t1071i_sqrt(double x)
{
    if (isnan(x) || x < 0)
        return NAN;
    if (x == 0 || x > DBL_MAX)
        return x;
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int e = (int)((bits >> 52) & 0x7ff);
    uint64_t m = bits & ((UINT64_C(1) << 52) - 1);
    if (e == 0) { /* subnormal: normalise */
        e = 1;
        while (!(m & (UINT64_C(1) << 52))) {
            m <<= 1;
            e--;
        }
    } else {
        m |= UINT64_C(1) << 52;
    }
    int ex = e - 1075; /* x = m 2^ex */
    if (ex % 2 != 0) {
        m <<= 1;
        ex--;
    }
    /* root of N = m 2^52 (2^104 <= N < 2^106) lies in [2^52, 2^53) */
    struct u128 n = {m >> 12, m << 52};
    struct u128 res = {0, 0}, one = {UINT64_C(1) << 42, 0}; /* 4^53 >= N's top */
    while (!u128_ge(n, one))
        one = u128_shr(one, 2);
    while (one.hi != 0 || one.lo != 0) {
        struct u128 t = u128_add(res, one);
        if (u128_ge(n, t)) {
            n = u128_sub(n, t);
            res = u128_add(u128_shr(res, 1), one);
        } else {
            res = u128_shr(res, 1);
        }
        one = u128_shr(one, 2);
    }
    /* n is now N - res^2: round to nearest (never a tie for a root) */
    uint64_t r = res.lo;
    if (n.hi != 0 || n.lo > r)
        r++;
    int k = ex / 2 - 26;
    /* r 2^k; split the scale so every factor is a normal power of two */
    double d = (double)r;
    while (k < -1000) {
        d *= pow2(-1000);
        k += 1000;
    }
    return d * pow2(k);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define SORT_MERGE_MAX (3 * T1071I_BEACON_RING) /* merge sort up to here, on the stack */

static void
sort_doubles(double *v, size_t n)
{
    if (n < 2)
        return;
    if (n <= 32) {
        /* insertion sort: small rings, no call overhead */
        for (size_t i = 1; i < n; i++) {
            double x = v[i];
            size_t j = i;
            while (j > 0 && v[j - 1] > x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    if (n > SORT_MERGE_MAX) {
        qsort(v, n, sizeof(*v), cmp_double);
        return;
    }
    /* Bottom-up merge sort, runs of 16 by insertion first: the timing
     * component sorts up to 384 candidates per call, and qsort's
     * comparator calls were a tenth of its cost.  Any sort gives the same
     * array here (no NaN, no -0 among the values sorted). */
    double tmp[SORT_MERGE_MAX];
    for (size_t lo = 0; lo < n; lo += 16) {
        size_t hi = lo + 16 < n ? lo + 16 : n;
        for (size_t i = lo + 1; i < hi; i++) {
            double x = v[i];
            size_t j = i;
            while (j > lo && v[j - 1] > x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
    }
    double *src = v, *dst = tmp;
    for (size_t width = 16; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j] < src[i] ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        double *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof(*v));
}

/* Median of sorted v[0..n), n >= 1: the middle value, or the mean of the
 * two middle values (as montanaflynn/stats, which RITA uses). */
static double
median_sorted(const double *v, size_t n)
{
    if (n % 2 == 1)
        return v[n / 2];
    return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double
clamp01(double x)
{
    if (!(x > 0.0))
        return 0.0;
    return x > 1.0 ? 1.0 : x;
}

/* ===== RITA v5 compatible statistics ===== */

double
t1071i_round3(double x)
{
    return b_round(x * 1000.0) / 1000.0;
}

/* RITA's calculateStatisticalScore on sorted v[0..n), n >= 3, with a
 * scratch array of n doubles. */
static void
rita_stats_sorted(const double *v, size_t n, double default_mad_score, double *scratch,
                  struct t1071i_rita_stats *o)
{
    /* Tukey hinges: halves exclude the median when n is odd. */
    size_t c1 = n / 2;
    size_t c2 = (n % 2 == 0) ? c1 : c1 + 1;
    o->q1 = median_sorted(v, c1);
    o->q2 = median_sorted(v, n);
    o->q3 = median_sorted(v + c2, n - c2);

    double num = o->q1 + o->q3 - 2 * o->q2;
    double den = o->q3 - o->q1;
    o->skew = 0.0;
    if (den >= 10 && o->q2 != o->q1 && o->q2 != o->q3)
        o->skew = num / den;
    o->skew_score = 1.0 - b_fabs(o->skew);

    for (size_t i = 0; i < n; i++)
        scratch[i] = b_fabs(v[i] - o->q2);
    sort_doubles(scratch, n);
    o->mad = median_sorted(scratch, n);
    double ms = default_mad_score;
    if (o->q2 >= 1)
        ms = (o->q2 - o->mad) / o->q2;
    if (ms < 0 || isnan(ms))
        ms = 0;
    if (ms > 1)
        ms = 1;
    o->mad_score = ms;
    o->score = t1071i_round3((o->skew_score + o->mad_score) / 2.0);
}

int
t1071i_rita_stats(double *values, size_t n, double default_mad_score,
                  struct t1071i_rita_stats *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (values == NULL || out == NULL || n < 3 || n > SIZE_MAX / sizeof(double))
        return T1071_E_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (isnan(values[i]))
            return T1071_E_INVALID_ARG;
    double *scratch = malloc(n * sizeof(double));
    if (scratch == NULL)
        return T1071_E_NOMEM;
    sort_doubles(values, n);
    rita_stats_sorted(values, n, default_mad_score, scratch, out);
    free(scratch);
    return T1071_OK;
}

/* Sorted copy of n int64 values as doubles (2n doubles: the second half is
 * scratch), or NULL. */
static double *
sorted_copy(const int64_t *in, size_t n)
{
    if (n > SIZE_MAX / (2 * sizeof(double)))
        return NULL;
    double *v = malloc(2 * n * sizeof(double));
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (double)in[i];
    sort_doubles(v, n);
    return v;
}

/* Intervals between sorted times v[0..n) into d, zeros dropped and sorted;
 * returns how many. */
static size_t
nonzero_intervals(const double *v, size_t n, double *d)
{
    size_t m = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double x = v[i + 1] - v[i];
        if (x > 0)
            d[m++] = x;
    }
    sort_doubles(d, m);
    return m;
}

double
t1071i_rita_ts_score(const int64_t *ts_sec, size_t n, struct t1071i_rita_stats *out)
{
    struct t1071i_rita_stats tmp;
    if (out == NULL)
        out = &tmp;
    memset(out, 0, sizeof(*out));
    if (ts_sec == NULL || n < 4)
        return -1;
    double *v = sorted_copy(ts_sec, n);
    if (v == NULL)
        return -1;
    /* intervals go to the front half's tail: reuse the scratch half */
    double *d = v + n;
    size_t m = nonzero_intervals(v, n, d);
    double score = -1;
    if (m >= 3) {
        /* v is free now: it is the MAD scratch */
        rita_stats_sorted(d, m, 1.0, v, out);
        score = out->score;
    }
    free(v);
    return score;
}

double
t1071i_rita_size_score(const int64_t *bytes, size_t n, struct t1071i_rita_stats *out)
{
    struct t1071i_rita_stats tmp;
    if (out == NULL)
        out = &tmp;
    memset(out, 0, sizeof(*out));
    if (bytes == NULL || n < 3)
        return -1;
    double *v = sorted_copy(bytes, n);
    if (v == NULL)
        return -1;
    rita_stats_sorted(v, n, 0.0, v + n, out);
    free(v);
    return out->score;
}

#define RITA_BINS 24
#define RITA_MODE_SENSITIVITY 0.05
#define RITA_BIMODAL_OUTLIERS 1
#define RITA_BIMODAL_MIN_HOURS 11
#define RITA_DUR_MIN_HOURS 6
#define RITA_DUR_IDEAL_HOURS 12

/* RITA's histogram score (coefficient of variation, bimodal fit) over
 * sorted times v[0..n); also the bar count and longest run for the
 * duration score. */
static double
rita_hist_score(const double *v, size_t n, double dmin, double dmax, int *total_bars,
                int *longest_run)
{
    double edges[RITA_BINS + 1];
    double step = (dmax - dmin) / RITA_BINS;
    edges[0] = dmin;
    for (int i = 1; i < RITA_BINS; i++)
        edges[i] = dmin + (double)i * step;
    edges[RITA_BINS] = dmax;

    uint64_t hist[RITA_BINS] = {0};
    int cur = 0;
    double next = edges[1];
    for (size_t k = 0; k < n; k++) {
        if (v[k] < next) {
            hist[cur]++;
            continue;
        }
        for (int j = cur + 1; j < RITA_BINS; j++) {
            cur = j;
            next = edges[j + 1];
            if (v[k] < edges[j + 1])
                break;
        }
        hist[cur]++;
    }

    /* frequency counts: bars grouped by height in steps of 5 % of the
     * tallest; longest run of non-empty bins, wrapping around */
    int bars = 0;
    uint64_t largest = 0, total = 0;
    for (int i = 0; i < RITA_BINS; i++) {
        if (hist[i] > 0)
            bars++;
        if (hist[i] > largest)
            largest = hist[i];
        total += hist[i];
    }
    double bin_size = b_ceil((double)largest * RITA_MODE_SENSITIVITY);
    int64_t fbin[RITA_BINS];
    int64_t fcount[RITA_BINS];
    int nf = 0;
    int run = 0, longest = 0;
    for (int i = 0; i < 2 * RITA_BINS; i++) {
        uint64_t f = hist[i % RITA_BINS];
        if (f > 0) {
            run++;
        } else {
            if (run > longest)
                longest = run;
            run = 0;
        }
        if (i < RITA_BINS && f > 0) {
            int64_t b = (int64_t)(b_floor((double)f / bin_size) * bin_size);
            int j = 0;
            while (j < nf && fbin[j] != b)
                j++;
            if (j == nf) {
                fbin[nf] = b;
                fcount[nf++] = 0;
            }
            fcount[j]++;
        }
    }
    if (run > longest)
        longest = run;
    if (longest > RITA_BINS)
        longest = RITA_BINS;
    *total_bars = bars;
    *longest_run = longest;

    /* coefficient of variation over all bins (population sd) */
    double mean = (double)total / RITA_BINS;
    double ss = 0;
    for (int i = 0; i < RITA_BINS; i++) {
        double dd = (double)hist[i] - mean;
        ss += dd * dd;
    }
    double cv = t1071i_sqrt(ss / RITA_BINS) / b_fabs(mean);
    double cv_score = cv > 1.0 ? 0.0 : t1071i_round3(1.0 - cv);
    if (cv_score > 1.0)
        cv_score = 1.0;

    /* bimodal fit: share of bars in the two most common height groups */
    double fit = 0;
    if (bars >= RITA_BIMODAL_MIN_HOURS) {
        int64_t l1 = 0, l2 = 0;
        for (int j = 0; j < nf; j++) {
            if (fcount[j] > l1) {
                l2 = l1;
                l1 = fcount[j];
            } else if (fcount[j] > l2) {
                l2 = fcount[j];
            }
        }
        double adj = (double)(bars - RITA_BIMODAL_OUTLIERS);
        if (adj < 1)
            adj = 1;
        fit = (double)(l1 + l2) / adj;
    }
    double fit_score = t1071i_round3(fit);
    if (fit_score > 1.0)
        fit_score = 1.0;
    return cv_score > fit_score ? cv_score : fit_score;
}

int
t1071i_rita_beacon_score(const int64_t *ts_sec, const int64_t *bytes, size_t n,
                         int64_t dataset_min_sec, int64_t dataset_max_sec,
                         struct t1071i_rita_beacon *out)
{
    if (out == NULL)
        return T1071_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (ts_sec == NULL || n < 4 || dataset_max_sec <= dataset_min_sec)
        return T1071_E_INVALID_ARG;
    double *v = sorted_copy(ts_sec, n);
    if (v == NULL)
        return T1071_E_NOMEM;
    double *d = v + n;
    size_t m = nonzero_intervals(v, n, d);
    if (m < 3) {
        free(v);
        return T1071_E_INVALID_ARG;
    }
    double *scratch = malloc(n * sizeof(double));
    if (scratch == NULL) {
        free(v);
        return T1071_E_NOMEM;
    }
    rita_stats_sorted(d, m, 1.0, scratch, &out->ts);
    out->ts_score = out->ts.score;

    int bars = 0, longest = 0;
    out->hist_score = rita_hist_score(v, n, (double)dataset_min_sec, (double)dataset_max_sec,
                                      &bars, &longest);
    if (bars >= RITA_DUR_MIN_HOURS) {
        double cov = b_ceil((v[n - 1] - v[0]) / (double)(dataset_max_sec - dataset_min_sec) * 1000) /
                     1000;
        if (cov > 1.0)
            cov = 1.0;
        double cons = b_ceil((double)longest / RITA_DUR_IDEAL_HOURS * 1000) / 1000;
        if (cons > 1.0)
            cons = 1.0;
        out->dur_score = cov > cons ? cov : cons;
    }

    if (bytes != NULL) {
        for (size_t i = 0; i < n; i++)
            d[i] = (double)bytes[i];
        sort_doubles(d, n);
        rita_stats_sorted(d, n, 0.0, scratch, &out->ds);
        out->ds_score = out->ds.score;
    }
    free(scratch);
    free(v);
    out->score = t1071i_round3(out->ts_score * 0.25 + out->ds_score * 0.25 +
                               out->dur_score * 0.25 + out->hist_score * 0.25);
    return T1071_OK;
}

/* ===== Candidate state ===== */

#define MS_PER_HOUR INT64_C(3600000)

static int64_t
hour_of(int64_t ms)
{
    int64_t h = ms / MS_PER_HOUR;
    if (ms % MS_PER_HOUR < 0)
        h--;
    return h;
}

static unsigned
hour_slot(int64_t h)
{
    int64_t s = h % T1071I_BEACON_HOURS;
    if (s < 0)
        s += T1071I_BEACON_HOURS;
    return (unsigned)s;
}

/* Move the hourly ring forward to hour h, clearing the hours skipped. */
static void
hours_advance(struct t1071i_beacon_state *st, int64_t h)
{
    if (h <= st->hour_head)
        return;
    if (h - st->hour_head >= T1071I_BEACON_HOURS) {
        memset(st->hours, 0, sizeof(st->hours));
        st->active = 0;
    } else {
        for (int64_t k = st->hour_head + 1; k <= h; k++) {
            unsigned s = hour_slot(k);
            st->hours[s] = 0;
            st->active &= ~(UINT64_C(1) << s);
        }
    }
    st->hour_head = h;
}

/* Is hour h still inside the ring? */
static bool
hour_in_ring(const struct t1071i_beacon_state *st, int64_t h)
{
    return h <= st->hour_head && st->hour_head - h < T1071I_BEACON_HOURS;
}

static void
size_observe(struct t1071i_beacon_state *st, int64_t bytes)
{
    if (bytes < 0)
        return;
    uint32_t b = bytes > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    if (st->n_sized < UINT32_MAX)
        st->n_sized++;
    /* Misra-Gries over clusters: a size joins a slot whose centre is within
     * max(32 bytes, centre / 8); the top count never overestimates. */
    int free_slot = -1;
    for (int i = 0; i < T1071I_BEACON_SIZE_SLOTS; i++) {
        uint32_t c = st->sizes[i].center;
        if (st->sizes[i].count == 0) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        uint32_t tol = c / 8 > 32 ? c / 8 : 32;
        uint32_t diff = b > c ? b - c : c - b;
        if (diff <= tol) {
            if (st->sizes[i].count < UINT32_MAX)
                st->sizes[i].count++;
            return;
        }
    }
    if (free_slot >= 0) {
        st->sizes[free_slot].center = b;
        st->sizes[free_slot].count = 1;
        return;
    }
    for (int i = 0; i < T1071I_BEACON_SIZE_SLOTS; i++)
        st->sizes[i].count--;
}

void
t1071i_beacon_observe(struct t1071i_beacon_state *st, int64_t ts_ms, int64_t bytes)
{
    if (st == NULL)
        return;
    int64_t h = hour_of(ts_ms);
    if (!(st->flags & T1071I_BEACON_F_STARTED)) {
        memset(st, 0, sizeof(*st));
        st->flags = T1071I_BEACON_F_STARTED;
        st->first_ms = st->last_ms = st->beat_ms = ts_ms;
        st->hour_head = h;
        st->n_events = 1;
        st->n_beats = 1;
        st->hours[hour_slot(h)] = 1;
        st->active = UINT64_C(1) << hour_slot(h);
        size_observe(st, bytes);
        return;
    }
    st->n_events++;
    size_observe(st, bytes);
    if (ts_ms < st->first_ms)
        st->first_ms = ts_ms;
    if (ts_ms <= st->last_ms) {
        /* same instant or late: no interval, but the hour was active */
        if (hour_in_ring(st, h))
            st->active |= UINT64_C(1) << hour_slot(h);
        return;
    }
    /* unsigned difference: no overflow whatever the two times are */
    uint64_t gap = (uint64_t)ts_ms - (uint64_t)st->last_ms;
    st->last_ms = ts_ms;
    hours_advance(st, h);
    st->active |= UINT64_C(1) << hour_slot(h);
    if (gap < T1071I_BEACON_MERGE_MS) {
        /* same beat */
        if ((uint64_t)ts_ms - (uint64_t)st->beat_ms >= T1071I_BEACON_STROBE_MS)
            st->flags |= T1071I_BEACON_F_STROBE;
        return;
    }
    uint64_t iv = (uint64_t)ts_ms - (uint64_t)st->beat_ms;
    st->ring[st->ring_head] = iv > UINT32_MAX ? UINT32_MAX : (uint32_t)iv;
    st->ring_head = (uint8_t)((st->ring_head + 1) % T1071I_BEACON_RING);
    if (st->ring_len < T1071I_BEACON_RING)
        st->ring_len++;
    st->beat_ms = ts_ms;
    st->n_beats++;
    unsigned s = hour_slot(h);
    if (st->hours[s] < UINT16_MAX)
        st->hours[s]++;
}

/* ===== Timing T ===== */

const double t1071i_beacon_windows[T1071I_BEACON_NW] = {
    0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60, 0.75, 1.00,
};

/* What exponential (Poisson) intervals reach, per interval count n: mean
 * and standard deviation of the best window fraction per window W; the
 * 0.5 % quantile and the mean of the bound statistic rho.  Generated by
 * `quality-report --null-table` (the line above the rows says how).  Between
 * two rows the values are interpolated linearly in n. */
struct null_row {
    int n;
    double win[T1071I_BEACON_NW][2];
    double bound[2];
};
static const struct null_row null_table[] = {
/* NULL_TABLE_BEGIN */
/* quality-report --null-table --trials 50000 --seed 7 */
    {4,
     {{0.3232, 0.1286}, {0.3998, 0.1713}, {0.4717, 0.1979}, {0.5488, 0.2085},
      {0.6167, 0.2131}, {0.6164, 0.2030}, {0.7115, 0.1932}, {0.7801, 0.1853},
      {0.6421, 0.1891}, {0.6802, 0.1929}, {0.7268, 0.1956}},
     {0.0000, 0.0000}},
    {5,
     {{0.2719, 0.1135}, {0.3492, 0.1507}, {0.4147, 0.1766}, {0.4932, 0.1874},
      {0.5662, 0.1922}, {0.5713, 0.1831}, {0.6714, 0.1814}, {0.7496, 0.1785},
      {0.6158, 0.1750}, {0.6585, 0.1779}, {0.7100, 0.1795}},
     {0.0000, 0.0000}},
    {6,
     {{0.2355, 0.1002}, {0.3112, 0.1326}, {0.3751, 0.1593}, {0.4538, 0.1706},
      {0.5271, 0.1777}, {0.5365, 0.1734}, {0.6411, 0.1735}, {0.7269, 0.1724},
      {0.5957, 0.1650}, {0.6428, 0.1686}, {0.6968, 0.1715}},
     {0.0000, 0.0000}},
    {8,
     {{0.1905, 0.0836}, {0.2615, 0.1085}, {0.3131, 0.1324}, {0.3918, 0.1465},
      {0.4677, 0.1554}, {0.4855, 0.1533}, {0.5945, 0.1562}, {0.6876, 0.1551},
      {0.5652, 0.1485}, {0.6205, 0.1529}, {0.6801, 0.1570}},
     {0.0000, 0.0000}},
    {10,
     {{0.1613, 0.0713}, {0.2268, 0.0922}, {0.2715, 0.1159}, {0.3501, 0.1302},
      {0.4277, 0.1400}, {0.4493, 0.1391}, {0.5603, 0.1444}, {0.6579, 0.1456},
      {0.5404, 0.1385}, {0.6014, 0.1437}, {0.6654, 0.1477}},
     {0.0000, 0.0000}},
    {12,
     {{0.1423, 0.0633}, {0.2030, 0.0817}, {0.2416, 0.1036}, {0.3187, 0.1186},
      {0.3974, 0.1290}, {0.4215, 0.1278}, {0.5339, 0.1343}, {0.6347, 0.1370},
      {0.5225, 0.1302}, {0.5895, 0.1358}, {0.6577, 0.1404}},
     {0.0000, 0.0000}},
    {16,
     {{0.1187, 0.0526}, {0.1738, 0.0680}, {0.2292, 0.0803}, {0.2715, 0.1019},
      {0.3503, 0.1126}, {0.3803, 0.1119}, {0.4963, 0.1212}, {0.6007, 0.1248},
      {0.4945, 0.1187}, {0.5710, 0.1241}, {0.6469, 0.1290}},
     {0.0000, 0.0000}},
    {24,
     {{0.0953, 0.0412}, {0.1445, 0.0539}, {0.1930, 0.0635}, {0.2462, 0.0729},
      {0.2912, 0.0922}, {0.3290, 0.0940}, {0.4481, 0.1048}, {0.5571, 0.1103},
      {0.4595, 0.1057}, {0.5470, 0.1119}, {0.6350, 0.1170}},
     {0.0000, 0.0000}},
    {32,
     {{0.0833, 0.0354}, {0.1299, 0.0471}, {0.1747, 0.0552}, {0.2231, 0.0625},
      {0.2567, 0.0798}, {0.2987, 0.0836}, {0.4199, 0.0948}, {0.5313, 0.1015},
      {0.4385, 0.0980}, {0.5312, 0.1050}, {0.6282, 0.1109}},
     {2.0301, 4.3341}},
    {48,
     {{0.0711, 0.0296}, {0.1157, 0.0402}, {0.1578, 0.0470}, {0.2005, 0.0520},
      {0.2494, 0.0576}, {0.2606, 0.0705}, {0.3846, 0.0832}, {0.4988, 0.0917},
      {0.4133, 0.0885}, {0.5124, 0.0968}, {0.6217, 0.1039}},
     {2.2886, 4.2272}},
    {64,
     {{0.0646, 0.0265}, {0.1086, 0.0364}, {0.1496, 0.0423}, {0.1899, 0.0464},
      {0.2346, 0.0502}, {0.2377, 0.0634}, {0.3636, 0.0767}, {0.4794, 0.0860},
      {0.3984, 0.0837}, {0.5008, 0.0923}, {0.6170, 0.1005}},
     {2.4445, 4.1608}},
    {96,
     {{0.0582, 0.0228}, {0.1017, 0.0319}, {0.1424, 0.0372}, {0.1811, 0.0400},
      {0.2207, 0.0422}, {0.2512, 0.0442}, {0.3399, 0.0692}, {0.4585, 0.0798},
      {0.3826, 0.0779}, {0.4894, 0.0872}, {0.6147, 0.0964}},
     {2.7843, 4.3971}},
    {128,
     {{0.0546, 0.0208}, {0.0977, 0.0294}, {0.1384, 0.0341}, {0.1767, 0.0365},
      {0.2141, 0.0377}, {0.2463, 0.0393}, {0.3253, 0.0649}, {0.4453, 0.0760},
      {0.3722, 0.0749}, {0.4810, 0.0850}, {0.6113, 0.0951}},
     {2.9042, 4.2797}},
/* NULL_TABLE_END */
};
#define NULL_ROWS (sizeof(null_table) / sizeof(null_table[0]))

/* Window baseline = the worst null family's mean + Z sd, Z from
 * TIMING_Z_SMALL at TIMING_Z_SMALL_N intervals and fewer, where the best
 * fraction takes a handful of values and sd describes its tail poorly,
 * down to TIMING_Z at TIMING_Z_N and more (measured by quality-report
 * --calibrate: at most 1 % of any family's sequences reach 0.8). */
#define TIMING_Z 2.0
#define TIMING_Z_N 24
#define TIMING_Z_SMALL 3.5
#define TIMING_Z_SMALL_N 8
#define TIMING_KAPPA 0.75   /* T = 1 once the excess covers this share of the headroom */
/* Fewer intervals: T = 0.  Four intervals line up by chance in more than
 * 1 % of Pareto(1.5) sequences (quality-report --calibrate). */
#define TIMING_MIN_N 5
/* Windows are laid on x' = x - M, M the beat merge threshold: a beat
 * interval is the gap of at least M that ended the beat, and a Poisson gap
 * beyond M is M + exponential (memoryless), so x' keeps the exponential
 * null however close the rate is to 1 / M.  The k-th multiple of a period
 * P = a' + M sits at k P - M = k a' + (k - 1) M.  Windows start at
 * a' >= 2 M: below, chains of sub-M gaps make bursts look regular; faster
 * loops are strobes, left to C. */
#define TIMING_MIN_A_MS (0.5 * T1071I_BEACON_MERGE_MS)
/* Missed beats put intervals at 2x and 3x the period, and a window counts
 * them; but only where the multiples' windows are apart, with an empty gap
 * below each at least as wide as the window under it (1 - W >= W for 2x,
 * 1 - 2 W >= 2 W for 3x).  Wider windows touch: their union is one
 * contiguous range that any smooth distribution fills (a Pareto tail puts
 * 90 % of its gaps in [x_m, 6 x_m]), which is no evidence of a period. */
#define TIMING_W2_MAX 0.5
#define TIMING_W3_MAX 0.25
/* The bound statistic: rho = (x95 - M) / (x50 - M), the 95th percentile of
 * the intervals over their median, both less the merge threshold M.  A
 * sleep loop has a hard maximum (U[0, S] gives 0.95 / 0.5 at worst, the
 * reference); exponential gaps give ln 20 / ln 2 = 4.3.  Used from
 * BOUND_MIN_N intervals with a median of at least BOUND_MIN_MED_MS; below
 * some 48 intervals the null quantile is under the reference anyway. */
#define BOUND_REF (0.95 / 0.5)
#define BOUND_MIN_MED_MS (4.0 * T1071I_BEACON_MERGE_MS)
/* Evidence that grows with the sample (issue 13).  A bound is what a
 * sleep loop has and Poisson gaps lack, but so does every bounded random
 * timer: full-jitter polling (gaps U[0, 2 s]) is exactly a sleep loop with
 * 100 % jitter.  So the bound alone scores at most BOUND_CAP, below the
 * tuned threshold, and only as the sample makes it mean something: 0 up
 * to BOUND_MIN_N intervals (the 95th percentile of 32 intervals is the
 * second largest), rising linearly to the cap at BOUND_FULL_N (the
 * ring).  A few dozen irregular intervals can no longer score high on it. */
#define BOUND_MIN_N 32
#define BOUND_FULL_N 128
#define BOUND_CAP 0.7
/* Relative slack on window edges, so that x / k * k lands inside. */
#define EDGE_EPS 1e-9
/* The upper edge of the window whose lower edge is x' = e: the period's
 * multiple k P = e + M and its jitter are relative to the interval x, not
 * to x' = x - M, so the window is [k P, k P (1 + W)] in x.  Near the merge
 * threshold this matters: a 2 s loop +- 20 % is 1.6-2.4 s in x, a ratio
 * of 1.5, but 0.6-1.4 s in x', a ratio of 2.3 no window holds. */
#define UPPER(e, opw) ((((e) + (double)T1071I_BEACON_MERGE_MS) * (opw) - \
                        (double)T1071I_BEACON_MERGE_MS) * (1.0 + EDGE_EPS))

struct window_hit {
    size_t count;         /* most intervals matched by one window */
    double rank;          /* best count + c1 / 4 (see below) */
    double lo, hi;        /* its matched intervals x, divided by their multiple */
};

/* Best union of the windows [k a' + (k-1) M, (k a' + (k-1) M)(1 + W)],
 * k = 1..3, over sorted x'[0..n), scanning the candidates a' (sorted
 * ascending; an optimum can always be slid up until an interval sits on a
 * lower edge) with monotone pointers.  A window counts only when each
 * multiple holds at most twice what the 1x part holds (missed beats make
 * 2x and 3x rarer than 1x, up to sampling noise), which keeps the wide
 * union of overlapping multiples at large W, or a divisor of the period,
 * from posing as the period.  The count is the statistic; the period and
 * jitter come from the window ranking count + c1 / 4, so that at a wide W,
 * where 1x and 2x touch, a window that explains the bulk as 1x wins over
 * one that matches a few more intervals by calling half of them 2x.
 *
 * The result is a function of the candidate set alone: the count is the
 * largest over the valid candidates, the rank and its intervals those of
 * the first candidate (ascending) with the largest rank.  Every pointer is
 * one too: lo_k = first x >= l_k, hi_k = first x > u_k (>= lo_k, as
 * u_k > l_k), both monotone in a' because every rounding is.  So the scan
 * below may skip candidates below the floor and repeats, share the lower
 * edges between the widths, and stop early, and still give the same bits. */

/* The distinct candidates a' >= TIMING_MIN_A_MS, ascending, with what does
 * not depend on W: the left ends e_k = k a' + (k - 1) M of the windows and
 * the lower pointers lo_k (first x' >= e_k (1 - EDGE_EPS)). */
struct cand_set {
    size_t n;
    double e1[3 * T1071I_BEACON_RING], e2[3 * T1071I_BEACON_RING], e3[3 * T1071I_BEACON_RING];
    uint8_t lo1[3 * T1071I_BEACON_RING], lo2[3 * T1071I_BEACON_RING],
        lo3[3 * T1071I_BEACON_RING];
};

/* Edge pointers fit a byte: x' holds at most T1071I_BEACON_RING values. */
_Static_assert(T1071I_BEACON_RING <= 255, "edge pointers are uint8_t");

/* Intervals in the gap between two windows: [lo_k's edge, hi_{k-1}) when
 * the lower window ends before the upper one starts. */
static inline size_t
gap_count(size_t lo_up, size_t hi_down)
{
    return lo_up > hi_down ? lo_up - hi_down : 0;
}

/* The window statistic: the intervals of the union, less those in the
 * empty gaps a period leaves (between 1x and 2x, and between 2x and 3x
 * when 3x counts), at least 0.  A sleep loop's missed beats leave the gaps
 * empty; a smooth distribution with a floor (Pareto) fills the gap above
 * its mode about as much as the 2x window, and no longer gains from
 * calling its tail a multiple. */
static inline size_t
net_count(size_t cnt1, size_t cnt2, size_t cnt3, size_t gap12, size_t gap23, size_t use3)
{
    size_t pos = cnt1 + cnt2 + cnt3, neg = gap12 + gap23 * use3;
    return pos > neg ? pos - neg : 0;
}

/* Count and 4 rank of candidate @p c alone (pointers from its lower
 * edges), for the width with 1 + W = @p opw; 0 when the window is not
 * valid.  The same arithmetic as the scan. */
static void
eval_candidate(const double *x, const struct cand_set *cs, size_t c, double opw,
               size_t *count, size_t *rank4)
{
    size_t lo1 = cs->lo1[c], lo2 = cs->lo2[c], lo3 = cs->lo3[c];
    double u1 = UPPER(cs->e1[c], opw);
    double u2 = UPPER(cs->e2[c], opw);
    double u3 = UPPER(cs->e3[c], opw);
    size_t hi1 = lo1, hi2 = lo2, hi3 = lo3;
    while (x[hi1] <= u1)
        hi1++;
    while (x[hi2] <= u2)
        hi2++;
    while (x[hi3] <= u3)
        hi3++;
    size_t from2 = lo2 > hi1 ? lo2 : hi1;
    size_t from3 = lo3 > hi2 ? lo3 : hi2;
    size_t cnt1 = hi1 - lo1, cnt2 = (hi2 - from2) * (opw <= 1.0 + TIMING_W2_MAX),
           cnt3 = (hi3 - from3) * (opw <= 1.0 + TIMING_W3_MAX);
    size_t valid = (2 * cnt1 >= cnt2) & (2 * cnt1 >= cnt3);
    *count = net_count(cnt1, cnt2, cnt3, gap_count(lo2, hi1), gap_count(lo3, hi2),
                       opw <= 1.0 + TIMING_W3_MAX) *
             valid;
    *rank4 = (4 * *count + cnt1) * valid;
}

/* Sentinels after the values: the walks read up to x[n + 1]. */
#define WALK_PAD 2

/* @p x holds n values and WALK_PAD sentinels x[n..] = HUGE_VAL (never
 * inside a window: every edge is finite).
 *
 * Pruning, exact: @p ub[c] bounds the count of candidate c at this
 * width, and so its 4 rank by 5 ub[c] (4 count + c1, c1 <= count): n -
 * lo1 at first, then from a wider width W' the smaller of its union
 * (which contains this width's union) and 5 times its 1x part c1 (a valid
 * window holds at most 2 c1 in each of 2x and 3x; c1 only grows with W).
 * @p seed (a candidate, or
 * cs->n for none; the best of the wider width) is evaluated first: its
 * count and 4 rank are attained, so a candidate with ub <= that count
 * cannot raise the largest count, and one with 5 ub < that rank is not
 * the first best-ranked (that one has 5 ub >= its rank >= the seed's);
 * both are left out of the scan, and the best rank is still found in
 * candidate order among the rest.  The scan stores each evaluated
 * candidate's bound in ub[] for the next, narrower width, and returns the
 * index of its best-ranked candidate in *best_c (cs->n if none). */
static void
best_window(const double *x, size_t n, const struct cand_set *cs, double w, uint8_t *ub,
            size_t seed, size_t *best_c, struct window_hit *best)
{
    /* UPPER(e, 1 + W), multiplied in that order as always:
     * folding the two factors into one would round differently. */
    const double M = T1071I_BEACON_MERGE_MS, opw = 1.0 + w;
    const size_t use2 = opw <= 1.0 + TIMING_W2_MAX, use3 = opw <= 1.0 + TIMING_W3_MAX;
    size_t lcount = 0, lrank4 = 0;
    if (seed < cs->n)
        eval_candidate(x, cs, seed, opw, &lcount, &lrank4);
    uint16_t keep[3 * T1071I_BEACON_RING];
    size_t nk = 0;
    /* kept: ub > lcount or 5 ub >= lrank4, that is ub >= thr */
    size_t thr = (lrank4 + 4) / 5 < lcount + 1 ? (lrank4 + 4) / 5 : lcount + 1;
    for (size_t c = 0; c < cs->n; c++) {
        keep[nk] = (uint16_t)c;
        nk += ub[c] >= thr;
    }
    size_t hi1 = 0, hi2 = 0, hi3 = 0;
    /* count and rank; 4 rank is an integer (rank = count + c1 / 4, exact
     * in a double), compared as such.  The largest count is the seed's
     * or more, whatever the order. */
    size_t bcount = lcount, brank4 = 0, bc = cs->n;
    size_t bfrom1 = 0, bhi1 = 0, bfrom2 = 0, bhi2 = 0, bfrom3 = 0, bhi3 = 0;
    for (size_t kc = 0; kc < nk; kc++) {
        size_t c = keep[kc];
        size_t lo1 = cs->lo1[c], lo2 = cs->lo2[c], lo3 = cs->lo3[c];
        /* This and every later candidate match disjoint ranges in
         * [lo1, n) (lo1 only rises): count <= n - lo1 and rank <= 1.25
         * times that.  Once the count cannot beat the best and the rank
         * can neither beat the best nor reach the seed's (then the first
         * best-ranked candidate, never left out, is already passed),
         * nothing after can change the result.  A beacon's scan ends
         * soon after its period. */
        size_t left = n - lo1;
        if (left <= bcount && (5 * left <= brank4 || 5 * left < lrank4))
            break;
        double u1 = UPPER(cs->e1[c], opw);
        double u2 = UPPER(cs->e2[c], opw);
        double u3 = UPPER(cs->e3[c], opw);
        /* The upper pointers mostly move by 0, 1 or 2: two compares
         * (x is sorted, so they count the steps) without a branch, a loop
         * for the rare longer moves. */
        hi1 = hi1 < lo1 ? lo1 : hi1;
        hi2 = hi2 < lo2 ? lo2 : hi2;
        hi3 = hi3 < lo3 ? lo3 : hi3;
        hi1 += (size_t)(x[hi1] <= u1) + (x[hi1 + 1] <= u1);
        hi2 += (size_t)(x[hi2] <= u2) + (x[hi2 + 1] <= u2);
        hi3 += (size_t)(x[hi3] <= u3) + (x[hi3 + 1] <= u3);
        while (x[hi1] <= u1)
            hi1++;
        while (x[hi2] <= u2)
            hi2++;
        while (x[hi3] <= u3)
            hi3++;
        size_t from2 = lo2 > hi1 ? lo2 : hi1;
        size_t from3 = lo3 > hi2 ? lo3 : hi2;
        /* No test for empty parts: u3 > u2 > u1 (e3 > e2 > e1, the same
         * factors), so hi3 >= hi2 >= hi1, and hi_k >= lo_k. */
        size_t cnt1 = hi1 - lo1;
        size_t cnt2 = hi2 - from2;
        size_t cnt3 = hi3 - from3;
        /* the bound for narrower widths counts every multiple: a
         * narrower width may count one this width leaves out */
        size_t uni = cnt1 + cnt2 + cnt3;
        ub[c] = (uint8_t)(uni < 5 * cnt1 ? uni : 5 * cnt1); /* <= 128 */
        cnt2 *= use2;
        cnt3 *= use3;
        /* valid (no multiple above twice the 1x part) or not, without a
         * branch: on random intervals it is a coin toss */
        size_t valid = (2 * cnt1 >= cnt2) & (2 * cnt1 >= cnt3);
        size_t count =
            net_count(cnt1, cnt2, cnt3, gap_count(lo2, hi1), gap_count(lo3, hi2), use3) * valid;
        bcount = count > bcount ? count : bcount;
        size_t rank4 = (4 * count + cnt1) * valid;
        if (rank4 > brank4) {
            brank4 = rank4;
            bc = c;
            bfrom1 = lo1, bhi1 = hi1, bfrom2 = from2, bhi2 = from2 + cnt2, bfrom3 = from3,
            bhi3 = from3 + cnt3;
        }
    }
    *best_c = bc;
    best->count = bcount;
    best->rank = (double)brank4 / 4;
    best->lo = 0;
    best->hi = 0;
    if (brank4 > 0) {
        size_t from[4] = {0, bfrom1, bfrom2, bfrom3}, hi[4] = {0, bhi1, bhi2, bhi3};
        best->lo = HUGE_VAL;
        for (int k = 1; k <= 3; k++) {
            if (hi[k] <= from[k])
                continue;
            double mn = (x[from[k]] + M) / k, mx = (x[hi[k] - 1] + M) / k;
            if (mn < best->lo)
                best->lo = mn;
            if (mx > best->hi)
                best->hi = mx;
        }
    }
}

/* The candidates a' of sorted x'[0..n) (sentinel x[n] = HUGE_VAL): x',
 * (x' - M) / 2 and (x' - 2 M) / 3, so that an interval sits on the lower
 * edge of the 1x, 2x or 3x window.  The three lists are each sorted
 * (monotone in x'): merged, floor and repeats dropped, in O(n). */
static void
candidates(const double *x, size_t n, struct cand_set *cs)
{
    const double M = T1071I_BEACON_MERGE_MS;
    double c2[T1071I_BEACON_RING], c3[T1071I_BEACON_RING];
    for (size_t i = 0; i < n; i++) {
        c2[i] = (x[i] - M) / 2;
        c3[i] = (x[i] - 2 * M) / 3;
    }
    /* skip what is below the floor (a prefix of each list) */
    size_t i1 = 0, i2 = 0, i3 = 0, k = 0, lo1 = 0, lo2 = 0, lo3 = 0;
    while (i1 < n && !(x[i1] >= TIMING_MIN_A_MS))
        i1++;
    while (i2 < n && !(c2[i2] >= TIMING_MIN_A_MS))
        i2++;
    while (i3 < n && !(c3[i3] >= TIMING_MIN_A_MS))
        i3++;
    double prev = 0;
    while (i1 < n || i2 < n || i3 < n) {
        double a = HUGE_VAL;
        int from = 0;
        if (i1 < n)
            a = x[i1], from = 1;
        if (i2 < n && (from == 0 || c2[i2] < a))
            a = c2[i2], from = 2;
        if (i3 < n && (from == 0 || c3[i3] < a))
            a = c3[i3], from = 3;
        if (from == 1)
            i1++;
        else if (from == 2)
            i2++;
        else
            i3++;
        if (a == prev)
            continue;
        prev = a;
        /* e_k = k a' + (k - 1) M, as (double)k * a + (double)(k - 1) * M */
        double e1 = 1.0 * a + 0.0 * M, e2 = 2.0 * a + 1.0 * M, e3 = 3.0 * a + 2.0 * M;
        double l1 = e1 * (1.0 - EDGE_EPS), l2 = e2 * (1.0 - EDGE_EPS), l3 = e3 * (1.0 - EDGE_EPS);
        while (x[lo1] < l1)
            lo1++;
        while (x[lo2] < l2)
            lo2++;
        while (x[lo3] < l3)
            lo3++;
        cs->e1[k] = e1;
        cs->e2[k] = e2;
        cs->e3[k] = e3;
        cs->lo1[k] = (uint8_t)lo1;
        cs->lo2[k] = (uint8_t)lo2;
        cs->lo3[k] = (uint8_t)lo3;
        k++;
    }
    cs->n = k;
}

/* Null mean and sd for n intervals: column wi of the windows, or the bound
 * statistic when wi < 0. */
static void
null_lookup(size_t n, int wi, double *mean, double *sd)
{
    size_t r = 0;
    while (r + 1 < NULL_ROWS && (size_t)null_table[r + 1].n <= n)
        r++;
    const double *pa = wi < 0 ? null_table[r].bound : null_table[r].win[wi];
    *mean = pa[0];
    *sd = pa[1];
    if (r + 1 < NULL_ROWS && (size_t)null_table[r].n < n) {
        const double *pb = wi < 0 ? null_table[r + 1].bound : null_table[r + 1].win[wi];
        double u = (double)(n - (size_t)null_table[r].n) /
                   (double)(null_table[r + 1].n - null_table[r].n);
        *mean = pa[0] + u * (pb[0] - pa[0]);
        *sd = pa[1] + u * (pb[1] - pa[1]);
    }
}

void
t1071i_beacon_timing(const uint32_t *iv, size_t n, struct t1071i_beacon_timing *out)
{
    memset(out, 0, sizeof(*out));
    if (iv == NULL)
        n = 0;
    if (n > T1071I_BEACON_RING) {
        iv += n - T1071I_BEACON_RING;
        n = T1071I_BEACON_RING;
    }
    double x[T1071I_BEACON_RING];
    for (size_t i = 0; i < n; i++)
        x[i] = (double)iv[i];
    sort_doubles(x, n);
    if (n == 0)
        return;
    double med = median_sorted(x, n);
    double lo = x[n / 20], hi = x[n - 1 - n / 20]; /* 5 % .. 95 % */
    out->period_ms = med;
    if (hi + lo > 0)
        out->jitter = (hi - lo) / (hi + lo);
    if (n < TIMING_MIN_N)
        return;

    /* Windows, on x' = x - M (xs, sorted like x).  Saturated intervals
     * (>= 49.7 days, sorted last) are unknown lengths: they never match. */
    const double M = T1071I_BEACON_MERGE_MS;
    double xs[T1071I_BEACON_RING + WALK_PAD];
    size_t nw = n;
    while (nw > 0 && x[nw - 1] >= (double)UINT32_MAX)
        nw--;
    for (size_t i = 0; i < nw; i++)
        xs[i] = x[i] - M;
    for (size_t i = nw; i < nw + WALK_PAD; i++)
        xs[i] = HUGE_VAL;
    struct cand_set cs;
    candidates(xs, nw, &cs);
    /* Widest window first: each width's windows bound the next one's. */
    struct window_hit hits[T1071I_BEACON_NW];
    uint8_t ub[3 * T1071I_BEACON_RING];
    for (size_t c = 0; c < cs.n; c++)
        ub[c] = (uint8_t)(nw - cs.lo1[c]);
    size_t seed = cs.n;
    for (int wi = T1071I_BEACON_NW - 1; wi >= 0; wi--)
        best_window(xs, nw, &cs, t1071i_beacon_windows[wi], ub, seed, &seed, &hits[wi]);
    for (int wi = 0; wi < T1071I_BEACON_NW; wi++) {
        double w = t1071i_beacon_windows[wi];
        const struct window_hit hit = hits[wi];
        double f = (double)hit.count / (double)n;
        double m, sd;
        null_lookup(n, wi, &m, &sd);
        double z = TIMING_Z;
        if (n <= TIMING_Z_SMALL_N)
            z = TIMING_Z_SMALL;
        else if (n < TIMING_Z_N)
            z = TIMING_Z_SMALL - (TIMING_Z_SMALL - TIMING_Z) * (double)(n - TIMING_Z_SMALL_N) /
                                     (double)(TIMING_Z_N - TIMING_Z_SMALL_N);
        double b = m + z * sd;
        double t = 0;
        if (b < 1)
            t = clamp01((f - b) / (TIMING_KAPPA * (1 - b)));
        out->frac[wi] = f;
        out->base[wi] = b;
        out->tw[wi] = t;
        if (t > out->t_window) {
            out->t_window = t;
            out->window = w;
            out->win_period_ms = (hit.lo + hit.hi) / 2;
            out->win_jitter = (hit.hi - hit.lo) / (hit.hi + hit.lo);
        }
    }

    /* Bound: a sleep loop never waits much longer than it usually does;
     * Poisson gaps have an exponential tail. */
    double q50 = x[n / 2], q95 = x[(19 * n) / 20];
    if (n >= BOUND_MIN_N && med >= BOUND_MIN_MED_MS && q50 > M && q95 < (double)UINT32_MAX) {
        double rho = (q95 - M) / (q50 - M);
        double b, m;
        null_lookup(n, -1, &b, &m);
        out->bound_rho = rho;
        out->bound_base = b;
        if (b > BOUND_REF) {
            double ramp = n >= BOUND_FULL_N ? 1.0
                                             : (double)(n - BOUND_MIN_N) /
                                                   (double)(BOUND_FULL_N - BOUND_MIN_N);
            out->t_bound = BOUND_CAP * ramp * clamp01((b - rho) / (b - BOUND_REF));
        }
    }

    if (out->t_window >= out->t_bound && out->t_window > 0) {
        out->t = out->t_window;
        out->period_ms = out->win_period_ms;
        out->jitter = out->win_jitter;
    } else if (out->t_bound > 0) {
        out->t = out->t_bound;
        out->window = 0;
        out->period_ms = (lo + hi) / 2;
    } else {
        out->window = 0;
    }
}

/* ===== Score ===== */

#define HOURLY_MIN_FULL 6   /* full hours needed for hourly statistics */
#define SIZE_MIN 4          /* sized events needed for S */
#define C_Z0 3.0            /* dispersion z (Poisson null) where C starts */
#define C_Z1 4.5            /* ... and where C reaches 1 */
#define C_DISPERSION (1.0 / 3.0) /* null dispersion index of hourly counts (full jitter) */
#define R_PAUSE_HOURS 4     /* idle hours in a row that are a pause, not absence */

void
t1071i_beacon_score(const struct t1071i_beacon_state *st, struct t1071i_beacon_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->size = 1.0;
    out->persistence = 1.0;
    if (st == NULL || !(st->flags & T1071I_BEACON_F_STARTED))
        return;
    out->n_events = st->n_events;
    out->n_beats = st->n_beats;
    out->strobe = (st->flags & T1071I_BEACON_F_STROBE) != 0;

    /* Timing, over the ring in arrival order (oldest first). */
    uint32_t iv[T1071I_BEACON_RING];
    size_t n = st->ring_len > T1071I_BEACON_RING ? T1071I_BEACON_RING : st->ring_len;
    size_t start = (st->ring_head + T1071I_BEACON_RING - n) % T1071I_BEACON_RING;
    for (size_t i = 0; i < n; i++)
        iv[i] = st->ring[(start + i) % T1071I_BEACON_RING];
    struct t1071i_beacon_timing tm;
    t1071i_beacon_timing(iv, n, &tm);
    out->timing = tm.t;
    out->timing_window = tm.t_window;
    out->timing_bound = tm.t_bound;
    out->window = tm.window;
    out->jitter = tm.jitter;
    out->period_ms = (int64_t)(tm.period_ms + 0.5);
    out->n_intervals = (uint32_t)n;

    /* Hourly statistics: the hours of the ring since the first event; the
     * first (if still in the ring) and the current hour are partial. */
    int64_t first_h = hour_of(st->first_ms);
    int64_t lo = st->hour_head - (T1071I_BEACON_HOURS - 1);
    if (lo < first_h)
        lo = first_h;
    int64_t full_lo = lo == first_h ? lo + 1 : lo;
    int64_t full_n = st->hour_head - full_lo; /* hours full_lo .. head-1 */
    if (full_n >= HOURLY_MIN_FULL) {
        out->hourly = true;
        out->full_hours = (uint32_t)full_n;
        double sum = 0, ss = 0;
        for (int64_t h = full_lo; h < st->hour_head; h++)
            sum += st->hours[hour_slot(h)];
        double mean = sum / (double)full_n;
        for (int64_t h = full_lo; h < st->hour_head; h++) {
            double d = st->hours[hour_slot(h)] - mean;
            ss += d * d;
        }
        if (mean >= 1.0) {
            /* Counts of dispersion index D: X = sum (c - mean)^2 / (D mean)
             * ~ chi2(k), k = h - 1; Fisher's approximation z = sqrt(2X) -
             * sqrt(2k - 1).  D is a full-jitter timer's (gaps U[0, 2 s]:
             * 1/3), not Poisson's (1): such a timer is as regular as that
             * by chance, and C must beat it to say anything. */
            double k = (double)(full_n - 1);
            double z = t1071i_sqrt(2 * ss / (mean * C_DISPERSION)) - t1071i_sqrt(2 * k - 1);
            out->count_reg = clamp01((-z - C_Z0) / (C_Z1 - C_Z0));
        }
        /* Persistence: continuity while active.  Share of active hours,
         * against what the period allows (a beacon every 3 h is active in
         * a third of the hours), among the hours that are not a pause: a
         * run of idle hours at least R_PAUSE_HOURS long, and at least
         * twice the period, is the process (or the implant's schedule)
         * asleep — nights, weekends, a laptop's lid — not a gap in its
         * traffic.  Shorter idle runs count against it. */
        double expect = 1.0;
        if (out->period_ms > MS_PER_HOUR)
            expect = (double)MS_PER_HOUR / (double)out->period_ms;
        int64_t pause_len = R_PAUSE_HOURS;
        if (out->period_ms > 0 && 2 * (out->period_ms / MS_PER_HOUR + 1) > pause_len)
            pause_len = 2 * (out->period_ms / MS_PER_HOUR + 1);
        int64_t total = st->hour_head - lo + 1, act = 0, paused = 0, idle = 0;
        for (int64_t h = lo; h <= st->hour_head; h++) {
            if ((st->active >> hour_slot(h)) & 1u) {
                act++;
                paused += idle >= pause_len ? idle : 0;
                idle = 0;
            } else {
                idle++;
            }
        }
        out->persistence = clamp01((double)act / (double)(total - paused) / expect);
    }

    /* Size: share of the modal size cluster. */
    if (st->n_sized >= SIZE_MIN) {
        uint32_t top = 0;
        for (int i = 0; i < T1071I_BEACON_SIZE_SLOTS; i++)
            if (st->sizes[i].count > top)
                top = st->sizes[i].count;
        out->size_known = true;
        out->size = clamp01((double)top / (double)st->n_sized);
    }

    double m = out->timing > out->count_reg ? out->timing : out->count_reg;
    out->score = clamp01(m * (0.75 + 0.25 * out->size) * (0.6 + 0.4 * out->persistence));
}

double
t1071i_beacon_rita_ts_score(const struct t1071i_beacon_state *st)
{
    if (st == NULL || st->ring_len < 3)
        return -1;
    double v[T1071I_BEACON_RING], scratch[T1071I_BEACON_RING];
    size_t m = 0;
    for (size_t i = 0; i < st->ring_len && i < T1071I_BEACON_RING; i++) {
        double s = b_round((double)st->ring[i] / 1000.0);
        if (s > 0)
            v[m++] = s;
    }
    if (m < 3)
        return -1;
    sort_doubles(v, m);
    struct t1071i_rita_stats o;
    rita_stats_sorted(v, m, 1.0, scratch, &o);
    return o.score;
}
