/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay's progress line and late-event reports (replay-progress.h). */
#include "replay-progress.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "t1071-replay"

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
rp_format_lateness(uint64_t ms, char *out, size_t n)
{
    if (ms == 0)
        snprintf(out, n, "0s");
    else if (ms % 1000 == 0)
        snprintf(out, n, "%" PRIu64 "s", ms / 1000);
    else if (ms < 10000)
        snprintf(out, n, "%" PRIu64 "ms", ms);
    else
        snprintf(out, n, "%" PRIu64 "s", ms / 1000 + 1);
}

void
rp_init(struct rp_state *p, FILE *in, double t0)
{
    struct stat st;
    const char *after = getenv("T1071_PROGRESS_AFTER_MS");

    memset(p, 0, sizeof(*p));
    p->in = in;
    p->t0 = t0;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->after = 2.0;
    if (after && *after) {
        char *end;
        double v = strtod(after, &end);
        if (!*end && v >= 0)
            p->after = v / 1000.0;
    }
    p->last_late = t0;
    if (in && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
        p->total = (uint64_t)st.st_size;
}

void
rp_phase(struct rp_state *p, const char *phase, uint64_t total)
{
    p->phase = phase;
    p->phase_total = total;
    p->phase_t0 = mono_s();
    p->redraw = true; /* a new phase shows at once (once past the delay) */
}

static void
human(double v, char *out, size_t n)
{
    if (v >= 1e9)
        snprintf(out, n, "%.1fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, n, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, n, "%.0fk", v / 1e3);
    else
        snprintf(out, n, "%.0f", v);
}

static void
bytes(uint64_t v, char *out, size_t n)
{
    if (v >= (UINT64_C(1) << 30))
        snprintf(out, n, "%.1f GiB", (double)v / (double)(UINT64_C(1) << 30));
    else
        snprintf(out, n, "%.1f MiB", (double)v / (double)(UINT64_C(1) << 20));
}

static void
clear_line(struct rp_state *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        p->shown = false;
    }
}

static void
draw(struct rp_state *p, const t1071_ctx *ctx, uint64_t events, double now)
{
    char ev[32], rate[32], pos[32], tot[32], line[256];
    uint64_t alerts = 0;
    double secs = now - p->t0;
    size_t o = 0;

    if (ctx)
        t1071_stats_get(ctx, T1071_STAT_ALERTS, &alerts);
    if (p->phase_total)
        secs = now - p->phase_t0;
    human((double)events, ev, sizeof(ev));
    human(secs > 0 ? (double)events / secs : 0, rate, sizeof(rate));
    tot[0] = '\0';
    if (p->phase_total) {
        memcpy(tot, " of ", 5);
        human((double)p->phase_total, tot + 4, sizeof(tot) - 4);
    }
    o += (size_t)snprintf(line + o, sizeof(line) - o, PROG ": %s%s%s%s events (%s/s)",
                          p->phase ? p->phase : "", p->phase ? ": " : "", ev, tot, rate);
    if (p->total && p->in && !p->phase_total) {
        off_t at = ftello(p->in);
        if (at >= 0) {
            bytes((uint64_t)at, pos, sizeof(pos));
            bytes(p->total, tot, sizeof(tot));
            o += (size_t)snprintf(line + o, sizeof(line) - o, ", %s of %s read (%.0f%%)", pos,
                                  tot, 100.0 * (double)at / (double)p->total);
        }
    }
    if (o < sizeof(line))
        snprintf(line + o, sizeof(line) - o, ", %" PRIu64 " alerts", alerts);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->shown = true;
    p->redraw = false;
    p->last_draw = now;
}

static void
say_late(const t1071_ctx *ctx, uint64_t late, bool end)
{
    uint64_t max = 0;
    char lat[32];

    t1071_stats_get(ctx, T1071_STAT_LATENESS_MAX_MS, &max);
    rp_format_lateness(max, lat, sizeof(lat));
    fprintf(stderr,
            PROG ": %" PRIu64 " event%s %s (dropped: older than their host's newest time "
                 "minus engine.lateness); --set engine.lateness=%s would have kept %s\n",
            late, late == 1 ? "" : "s",
            !end ? "late so far" : late == 1 ? "was late" : "were late",
            lat, late == 1 ? "it" : "them");
}

void
rp_tick(struct rp_state *p, const t1071_ctx *ctx, uint64_t events)
{
    double now;

    if (++p->calls & 255)
        return;
    now = mono_s();
    if (ctx && now - p->last_late >= 1.0) {
        uint64_t late = 0;
        t1071_stats_get(ctx, T1071_STAT_EVENTS_LATE, &late);
        if (late > p->late_reported) {
            clear_line(p);
            say_late(ctx, late, false);
            p->late_reported = late;
            p->last_late = now;
        }
    }
    if (p->tty && now - p->t0 >= p->after &&
        (!p->shown || p->redraw || now - p->last_draw >= 1.0))
        draw(p, ctx, events, now);
}

void
rp_end(struct rp_state *p, const t1071_ctx *ctx)
{
    uint64_t late = 0;

    clear_line(p);
    if (ctx && t1071_stats_get(ctx, T1071_STAT_EVENTS_LATE, &late) == T1071_OK && late > 0)
        say_late(ctx, late, true);
    fflush(stderr);
}
