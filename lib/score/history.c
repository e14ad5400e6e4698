/* SPDX-License-Identifier: Apache-2.0 */
/* A key's beacon history as JSON (t1071_key_history, README "Key
 * history"): per destination and for the aggregate, the beat starts, the
 * intervals the scorer uses, the hourly counts, the verdict and its
 * readings (lib/score/reading.c).  Read only: the cached verdicts are used
 * as they are, never refreshed, so a history taken right after an alert
 * shows the verdict that alert carried (before the tuning's adjustments). */
#include <string.h>

#include <glib.h>

#include "score/history.h"
#include "score/reading.h"
#include "score/tracker-priv.h"

#define HOUR_MS 3600000

/* A JSON string safe to embed anywhere: <, >, &, ', U+2028, U+2029,
 * control characters and invalid UTF-8 bytes are escaped. */
void
t1071i_history_string(GString *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    g_string_append_c(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == 0xe2 && i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
            g_string_append_printf(o, "\\u%04x", p[i + 2] == 0xa8 ? 0x2028 : 0x2029);
            i += 2;
        } else if (c == '"' || c == '\\') {
            g_string_append_c(o, '\\');
            g_string_append_c(o, (char)c);
        } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&' || c == '\'') {
            g_string_append_printf(o, "\\u%04x", c);
        } else if (c < 0x80) {
            g_string_append_c(o, (char)c);
        } else {
            /* Copy a valid UTF-8 sequence whole, else U+FFFD. */
            size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            size_t k;
            if (c >= 0xf5)
                len = 0;
            for (k = 1; len && k < len; k++)
                if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
                    len = 0;
            if (len) {
                g_string_append_len(o, (const char *)p + i, (gssize)len);
                i += len - 1;
            } else {
                g_string_append(o, "\\ufffd");
            }
        }
    }
    g_string_append_c(o, '"');
}

static void
put_verdict(GString *o, const struct t1071i_beacon_verdict *v)
{
    static const struct {
        const char *name;
        enum t1071i_reading part;
    } parts[] = {
        {"summary", T1071I_READING_SUMMARY},     {"timeline", T1071I_READING_TIMELINE},
        {"intervals", T1071I_READING_INTERVALS}, {"hours", T1071I_READING_HOURS},
        {"components", T1071I_READING_COMPONENTS},
    };
    char line[512];

    g_string_append_printf(o,
        ",\"verdict\":{\"score\":%.3f,\"timing\":%.3f,\"count_regularity\":%.3f,\"size\":%.3f,"
        "\"persistence\":%.3f,\"period_ms\":%" G_GINT64_FORMAT ",\"jitter\":%.3f,\"window\":%.3f,"
        "\"intervals\":%u,\"full_hours\":%u,\"events\":%" G_GUINT64_FORMAT ",\"beats\":%" G_GUINT64_FORMAT
        ",\"size_known\":%s,\"hourly\":%s,\"strobe\":%s}",
        v->score, v->timing, v->count_reg, v->size, v->persistence, (gint64)v->period_ms, v->jitter,
        v->window, (unsigned)v->n_intervals, (unsigned)v->full_hours, (guint64)v->n_events,
        (guint64)v->n_beats, v->size_known ? "true" : "false", v->hourly ? "true" : "false",
        v->strobe ? "true" : "false");
    g_string_append(o, ",\"readings\":{");
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        size_t n = t1071i_beacon_reading(v, parts[i].part, line, sizeof(line));
        g_string_append_printf(o, "%s\"%s\":", i ? "," : "", parts[i].name);
        t1071i_history_string(o, line, n < sizeof(line) ? n : sizeof(line) - 1);
    }
    g_string_append_c(o, '}');
}

static void
put_pair(GString *o, const struct bpair *pr)
{
    struct t1071i_beacon_state tmp;
    const struct t1071i_beacon_state *st;
    struct t1071i_beacon_verdict v;
    int64_t b;

    if (pr->cand) {
        st = &pr->cand->st;
        /* The cache as the judge would use it (tracker.c, pair_verdict). */
        if (pr->cand->valid && st->n_beats >= pr->cand->beats &&
            st->n_beats - pr->cand->beats < 1u + st->ring_len / 16u)
            v = pr->cand->v;
        else
            t1071i_beacon_score(st, &v);
    } else {
        memset(&tmp, 0, sizeof(tmp));
        for (uint32_t i = 0; i < pr->count && i < T0; i++)
            t1071i_beacon_observe(&tmp, pr->t0_ts[i], pr->t0_bytes[i]);
        st = &tmp;
        t1071i_beacon_score(st, &v);
    }
    g_string_append(o, "{\"destination\":");
    t1071i_history_string(o, pr->dest, pr->len);
    g_string_append_printf(o, ",\"events\":%u,\"first_ms\":%" G_GINT64_FORMAT ",\"last_ms\":%"
                           G_GINT64_FORMAT, (unsigned)pr->count, (gint64)st->first_ms,
                           (gint64)st->last_ms);
    /* Intervals oldest first; the ring's newest is at ring_head - 1. */
    g_string_append(o, ",\"intervals_ms\":[");
    for (unsigned i = 0; i < st->ring_len; i++) {
        unsigned at = (st->ring_head + T1071I_BEACON_RING - st->ring_len + i) % T1071I_BEACON_RING;
        g_string_append_printf(o, "%s%u", i ? "," : "", (unsigned)st->ring[at]);
    }
    /* Beat starts, oldest first: the current beat less the intervals. */
    g_string_append(o, "],\"beats_ms\":[");
    b = st->beat_ms;
    for (unsigned i = 0; i < st->ring_len; i++)
        b -= st->ring[(st->ring_head + T1071I_BEACON_RING - 1 - i) % T1071I_BEACON_RING];
    for (unsigned i = 0; i <= st->ring_len && (st->flags & T1071I_BEACON_F_STARTED); i++) {
        g_string_append_printf(o, "%s%" G_GINT64_FORMAT, i ? "," : "", (gint64)b);
        if (i < st->ring_len)
            b += st->ring[(st->ring_head + T1071I_BEACON_RING - st->ring_len + i) % T1071I_BEACON_RING];
    }
    /* Hourly beat counts, oldest first, over the hours observed (48 at most). */
    g_string_append(o, "],\"hours\":[");
    if (st->flags & T1071I_BEACON_F_STARTED) {
        int64_t first = st->first_ms / HOUR_MS, h;
        if (first < st->hour_head - (T1071I_BEACON_HOURS - 1))
            first = st->hour_head - (T1071I_BEACON_HOURS - 1);
        for (h = first; h <= st->hour_head; h++)
            g_string_append_printf(o, "%s%u", h > first ? "," : "",
                                   (unsigned)st->hours[((h % T1071I_BEACON_HOURS) + T1071I_BEACON_HOURS) %
                                                       T1071I_BEACON_HOURS]);
        g_string_append_printf(o, "],\"hour_first_ms\":%" G_GINT64_FORMAT, (gint64)(first * HOUR_MS));
    } else {
        g_string_append(o, "],\"hour_first_ms\":0");
    }
    put_verdict(o, &v);
    g_string_append_c(o, '}');
}

void
t1071i_tracker_history(const struct t1071i_kbeacon *kb, GString *o)
{
    g_string_append_printf(o, "{\"fallback\":%s,\"aggregate\":", kb->fallback ? "true" : "false");
    if (kb->agg)
        put_pair(o, kb->agg);
    else
        g_string_append(o, "null");
    g_string_append(o, ",\"destinations\":[");
    for (uint32_t i = 0; i < kb->n_pairs; i++) {
        if (i)
            g_string_append_c(o, ',');
        put_pair(o, kb->pairs[i]);
    }
    g_string_append(o, "]}");
}
