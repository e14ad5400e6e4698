/* SPDX-License-Identifier: Apache-2.0 */
/* One-line readings of a beacon verdict: see reading.h. */
#include "score/reading.h"

#include <stdio.h>

/* "54.8 s", "12 min", "2.0 h": a period for a person. */
static void
span_text(double ms, char *buf, size_t size)
{
    if (ms < 1000.0)
        snprintf(buf, size, "%.0f ms", ms);
    else if (ms < 120000.0)
        snprintf(buf, size, "%.1f s", ms / 1000.0);
    else if (ms < 7200000.0)
        snprintf(buf, size, "%.1f min", ms / 60000.0);
    else
        snprintf(buf, size, "%.1f h", ms / 3600000.0);
}

static const char *
strength(double x)
{
    return x >= 0.8 ? "strong" : x >= 0.5 ? "moderate" : x > 0.0 ? "weak" : "none";
}

size_t
t1071i_beacon_reading(const struct t1071i_beacon_verdict *v, enum t1071i_reading part,
                      char *buf, size_t size)
{
    char per[32];
    int n = 0;

    if (!buf || size == 0)
        return 0;
    buf[0] = '\0';
    if (!v)
        return 0;
    span_text((double)v->period_ms, per, sizeof(per));
    switch (part) {
    case T1071I_READING_SUMMARY:
        if (v->n_intervals < 5)
            n = snprintf(buf, size, "score %.2f: only %u intervals, too few to judge the timing",
                         v->score, (unsigned)v->n_intervals);
        else
            n = snprintf(buf, size, "score %.2f: %s timing (%.2f), one beat every %s +-%.0f%%%s%s",
                         v->score, strength(v->timing), v->timing, per, v->jitter * 100.0,
                         v->hourly ? (v->count_reg > v->timing ? ", steady hourly counts" : "")
                                   : "",
                         v->strobe ? ", with a strobe (a beat over 60 s long)" : "");
        break;
    case T1071I_READING_TIMELINE:
        n = snprintf(buf, size, "%llu events in %llu beats (events under 1 s apart form one beat)%s",
                     (unsigned long long)v->n_events, (unsigned long long)v->n_beats,
                     v->strobe ? "; a strobe" : "");
        break;
    case T1071I_READING_INTERVALS:
        if (v->n_intervals < 5)
            n = snprintf(buf, size, "%u intervals: too few for the timing scan (5 needed)",
                         (unsigned)v->n_intervals);
        else if (v->window > 0.0)
            n = snprintf(buf, size, "%u intervals; %s timing %.2f: the tallest window (width %.0f%%) "
                         "centres on %s, jitter +-%.0f%%",
                         (unsigned)v->n_intervals, strength(v->timing), v->timing,
                         v->window * 100.0, per, v->jitter * 100.0);
        else if (v->timing > 0.0)
            n = snprintf(buf, size, "%u intervals; timing %.2f from a bounded spread (no sharp peak), "
                         "centre %s +-%.0f%%",
                         (unsigned)v->n_intervals, v->timing, per, v->jitter * 100.0);
        else
            n = snprintf(buf, size, "%u intervals spread like benign traffic: timing 0, median %s",
                         (unsigned)v->n_intervals, per);
        break;
    case T1071I_READING_HOURS:
        if (!v->hourly)
            n = snprintf(buf, size, "%u full hours observed: fewer than 6, count regularity and "
                         "persistence are neutral", (unsigned)v->full_hours);
        else
            n = snprintf(buf, size, "%u full hours: count regularity %.2f (%s), persistence %.2f "
                         "(share of active hours)",
                         (unsigned)v->full_hours, v->count_reg, strength(v->count_reg),
                         v->persistence);
        break;
    case T1071I_READING_COMPONENTS:
        n = snprintf(buf, size, "score %.2f = max(timing %.2f, count %.2f) x (0.75 + 0.25 size %.2f%s) "
                     "x (0.6 + 0.4 persistence %.2f%s)",
                     v->score, v->timing, v->count_reg, v->size, v->size_known ? "" : ", unknown",
                     v->persistence, v->hourly ? "" : ", neutral");
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}
