/* SPDX-License-Identifier: Apache-2.0 */
/* Beacon statistics (README "Beacon score and the tuned profile"): pure functions, no engine state.
 *
 * 1. A RITA v5 compatible mode (timestamp, data size, histogram and
 *    duration scores with RITA's default weights), so users can compare our
 *    score with the one they know.  Tested with RITA's own unit-test vectors.
 * 2. Our own score over a bounded per (key, destination) candidate state:
 *    timing T, count regularity C, size S, persistence R, combined as
 *    B = max(T, C) * (0.75 + 0.25 S) * (0.6 + 0.4 R).
 *
 * Everything here is deterministic: only + - * / on IEEE 754 doubles, plus
 * exact floor/ceil/round and a correctly rounded sqrt done in integers (no
 * libm, no exp/log/pow, no FMA contraction).  Never installed; internal symbols are t1071i_ and hidden. */
#ifndef T1071_BEACON_H
#define T1071_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ===== RITA v5 compatible statistics ===== */

/* round(x * 1000) / 1000 with halves away from zero, as Go's math.Round. */
double t1071i_round3(double x);

/* Correctly rounded square root (IEEE sqrt, bit for bit) by integer
 * arithmetic: the library links no libm.  NaN for x < 0. */
double t1071i_sqrt(double x);

/* RITA's statistics of one sample (quartiles = Tukey hinges: the median of
 * each half, the median itself excluded from both halves when n is odd). */
struct t1071i_rita_stats {
    double q1, q2, q3;  /* hinges and median */
    double skew;        /* Bowley skew; 0 unless IQR >= 10 and q2 != q1, q3 */
    double mad;         /* median absolute deviation about the median */
    double skew_score;  /* 1 - |skew| */
    double mad_score;   /* (median - MAD) / median, default when median < 1, clamped to [0,1] */
    double score;       /* round3((skew_score + mad_score) / 2) */
};

/* Statistics of @p values (n >= 3), which are sorted in place.
 * @p default_mad_score is the MAD score when the median is below 1 (RITA:
 * 1 for intervals, 0 for data sizes).
 * Returns T1071_OK, T1071_E_INVALID_ARG (NULL, n < 3, NaN), T1071_E_NOMEM. */
int t1071i_rita_stats(double *values, size_t n, double default_mad_score,
                      struct t1071i_rita_stats *out);

/* RITA's timestamp score of @p n connection times in seconds (any order;
 * intervals are taken between the sorted times and zero intervals are
 * dropped).  Returns the score in [0,1], or -1 when RITA would refuse
 * (fewer than 4 timestamps or fewer than 3 non-zero intervals) or on
 * allocation failure.  @p out (may be NULL) receives the details. */
double t1071i_rita_ts_score(const int64_t *ts_sec, size_t n, struct t1071i_rita_stats *out);

/* RITA's data size score of @p n byte counts (any order).  Returns the
 * score in [0,1], or -1 when n < 3 or on allocation failure. */
double t1071i_rita_size_score(const int64_t *bytes, size_t n, struct t1071i_rita_stats *out);

/* The whole RITA v5 beacon score with its default configuration (weights
 * 0.25 each; 24 histogram bins over the dataset range; mode sensitivity
 * 0.05; bimodal outlier removal 1, minimum 11 hours; duration minimum 6
 * hours, ideal 12 consistent hours). */
struct t1071i_rita_beacon {
    double score;       /* round3(0.25 (ts + ds + hist + dur)) */
    double ts_score, ds_score, hist_score, dur_score;
    struct t1071i_rita_stats ts, ds;
};

/* @p ts_sec and @p bytes are parallel arrays of @p n connections (bytes may
 * be NULL: data size score 0, as RITA has no such case); the dataset spans
 * [dataset_min_sec, dataset_max_sec].  Returns T1071_OK, T1071_E_INVALID_ARG
 * (RITA refuses: n < 4, fewer than 3 non-zero intervals, an empty dataset
 * range), T1071_E_NOMEM. */
int t1071i_rita_beacon_score(const int64_t *ts_sec, const int64_t *bytes, size_t n,
                             int64_t dataset_min_sec, int64_t dataset_max_sec,
                             struct t1071i_rita_beacon *out);

/* ===== Our beacon score: candidate state ===== */

#define T1071I_BEACON_RING 128        /* last beat intervals kept */
#define T1071I_BEACON_HOURS 48        /* hourly beat counts kept */
#define T1071I_BEACON_SIZE_SLOTS 8    /* size clusters (Misra-Gries) */
#define T1071I_BEACON_MERGE_MS 1000   /* an event closer than this to the previous one joins its beat */
#define T1071I_BEACON_STROBE_MS 60000 /* a beat (chain of merged events) this long is a strobe */

/* One (key, destination) candidate, 736 bytes.  Plain integers only (no
 * pointers, no floating point) and fixed size, so a snapshot can copy it
 * field by field.  Zero it (memset, `= {0}`) before the first observe.
 *
 * Events less than MERGE_MS after the previous event form one beat (an
 * implant's check-in often opens two or three connections); intervals are
 * beat start to beat start.  A chain of merged events never ends while
 * the traffic is >= 1/s, so strobes store no intervals. */
struct t1071i_beacon_state {
    int64_t first_ms;    /* earliest event */
    int64_t last_ms;     /* latest event */
    int64_t beat_ms;     /* start of the current beat */
    int64_t hour_head;   /* floor(last_ms / 3600000): the newest hourly slot */
    uint64_t n_events;   /* every observed event */
    uint64_t n_beats;
    uint64_t active;     /* bit (hour mod 48) set: that hour saw an event */
    uint32_t ring[T1071I_BEACON_RING]; /* beat intervals in ms, saturating at UINT32_MAX */
    uint32_t n_sized;    /* events that carried a byte count */
    uint16_t hours[T1071I_BEACON_HOURS]; /* beats starting in hour (h mod 48), saturating */
    uint8_t ring_head;   /* next ring slot to write */
    uint8_t ring_len;    /* 0..128 */
    uint8_t flags;       /* T1071I_BEACON_F_* */
    uint8_t reserved;    /* 0 */
    struct {
        uint32_t center; /* bytes, saturating at UINT32_MAX */
        uint32_t count;  /* 0: free slot */
    } sizes[T1071I_BEACON_SIZE_SLOTS];
};

#define T1071I_BEACON_F_STARTED 0x01u /* at least one event seen */
#define T1071I_BEACON_F_STROBE 0x02u  /* some beat lasted STROBE_MS or more */

/* Add one event at @p ts_ms with @p bytes transferred (whatever sum the
 * caller defines; negative = absent, as in Sysmon).  Events are expected in
 * time order (after the engine's reorder buffer); an event older than the
 * latest is counted, sized and marks its hour active, but adds no
 * interval.  O(1) (O(48) when hours are skipped), no allocation. */
void t1071i_beacon_observe(struct t1071i_beacon_state *st, int64_t ts_ms, int64_t bytes);

/* ===== Timing component T ===== */

/* Log-window widths W scanned by the timing component. */
#define T1071I_BEACON_NW 11
extern const double t1071i_beacon_windows[T1071I_BEACON_NW];

/* T = max(window score, bound score):
 * - window: the largest share of intervals inside [P, P(1+W)] or its 2x,
 *   3x multiples (missed beats; 2x only for W <= 0.5, 3x for W <= 0.25,
 *   where the windows are apart), less the intervals in the gaps between
 *   them, for each W, against what the worst of four benign null families
 *   (Poisson, full-jitter uniform, Pareto 1.5, bursty on/off) reaches for
 *   the same n and W (its mean + Z sd, tabulated; Z 3.5 up to 8 intervals,
 *   2 from 24); T_W = (share - base) / (0.75 (1 - base)), clamped.
 * - bound: rho = 95th percentile / median of the intervals (less the merge
 *   threshold).  A sleep loop has a hard maximum (rho <= 1.9 even for a
 *   99 % jitter), exponential gaps a tail (rho ~ 4.3); scored between the
 *   Poisson null's 0.5 % quantile (0) and 1.9 (1), times a ramp from 0 at
 *   32 intervals to 1 at 128, and at most 0.7: full-jitter polling is
 *   bounded too, so a bound alone never reaches the tuned threshold.
 * quality-report --calibrate measures the share of null sequences scoring
 * >= 0.8 for every n and family (at most 1 %). */
struct t1071i_beacon_timing {
    double t;                          /* T in [0, 1] */
    double period_ms;                  /* centre of the matched intervals, or of the 5-95 % range; median when T = 0 */
    double jitter;                     /* half range / centre of the same intervals */
    double window;                     /* W of the best window (0 when the bound won or T = 0) */
    double t_window;                   /* best calibrated window score */
    double win_period_ms, win_jitter;  /* centre and half range of its matched intervals */
    double t_bound;                    /* calibrated bound score */
    double bound_rho;                  /* rho, 0 when not computed */
    double bound_base;                 /* the null's 0.5 % quantile of rho */
    double frac[T1071I_BEACON_NW];     /* best share inside the window, per W */
    double base[T1071I_BEACON_NW];     /* null mean + 3 sd, per W */
    double tw[T1071I_BEACON_NW];       /* calibrated score per W */
};

/* Timing component over @p n intervals in ms (any order; when n > 128 the
 * last 128 are used).  Intervals below 1.5 merge thresholds never match
 * a window; fewer than 5 intervals give T = 0.  No allocation. */
void t1071i_beacon_timing(const uint32_t *iv, size_t n, struct t1071i_beacon_timing *out);

/* ===== Score ===== */

/* What the score says, with every component (README "Beacon score and the tuned profile").  A factor the
 * data cannot inform is neutral: S = 1 without byte counts, C = 0 (unused
 * in the max) and R = 1 with fewer than 6 full hours observed. */
struct t1071i_beacon_verdict {
    double score;        /* B = max(T, C) (0.75 + 0.25 S) (0.6 + 0.4 R), in [0, 1] */
    double timing;       /* T in [0, 1] */
    double timing_window;/* T's window part */
    double timing_bound; /* T's bound part */
    double count_reg;    /* C in [0, 1]: hourly beat counts less dispersed than Poisson */
    double size;         /* S in [0, 1]: share of the modal size cluster */
    double persistence;  /* R in [0, 1]: active hours / hours observed (period-aware) */
    int64_t period_ms;   /* estimated period (median interval when T = 0) */
    double jitter;       /* period * (1 +- jitter) covers the matched intervals */
    double window;       /* the log-window width W that gave T (0: bound, or T = 0) */
    uint32_t n_intervals;   /* intervals in the ring */
    uint32_t full_hours;    /* full hours behind C and R (0 when not hourly) */
    uint64_t n_events;
    uint64_t n_beats;
    bool size_known;     /* S was informed by >= 4 byte counts */
    bool hourly;         /* C and R were informed by >= 6 full hours */
    bool strobe;         /* a beat lasted >= T1071I_BEACON_STROBE_MS */
};

/* Score the state.  Pure: @p st is not modified.  Safe on a zeroed state
 * (everything 0, S = R = 1).  No allocation; some 50 us with a full ring. */
void t1071i_beacon_score(const struct t1071i_beacon_state *st,
                         struct t1071i_beacon_verdict *out);

/* RITA's timestamp score over the state's ring (intervals rounded to whole
 * seconds, zeros dropped), or -1 below 3 intervals.  Merged beats and the
 * 128-interval horizon make it an approximation of RITA on the raw stream,
 * good enough to show next to our score in an alert. */
double t1071i_beacon_rita_ts_score(const struct t1071i_beacon_state *st);

#endif
