/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay's running reports on stderr (README "t1071-replay"):
 *  - progress, only when stderr is a terminal and the run has lasted more
 *    than 2 s (T1071_PROGRESS_AFTER_MS overrides the delay): one line
 *    rewritten in place, at most once a second: phase, events and events/s,
 *    bytes read of the input's size, alerts so far;
 *  - late events, always: while running, at most once a second when the
 *    count grew, and once at the end: how many events were older than
 *    their host's watermark (dropped) and the engine.lateness that would
 *    have kept them (the library's lateness_max_ms gauge). */
#ifndef T1071_REPLAY_PROGRESS_H
#define T1071_REPLAY_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "t1071/t1071detect.h"

struct rp_state {
    bool tty;              /* progress shown at all */
    bool shown;            /* a progress line is on screen */
    bool redraw;           /* the phase changed: draw at the next check */
    FILE *in;              /* the input, for its read offset */
    uint64_t total;        /* the input's size; 0 = unknown (a pipe) */
    double t0, after, phase_t0, last_draw, last_late;
    uint64_t late_reported;
    uint32_t calls;
    const char *phase;     /* "reading", "sorting", "detecting", NULL */
    uint64_t phase_total;  /* events to detect in the "detecting" phase */
};

/* Start: @p in is the input (its size is read when it is a regular file). */
void rp_init(struct rp_state *p, FILE *in, double t0);

/* Name the current phase ("reading" while a finite input is sorted,
 * "detecting" while it is fed; NULL: one streaming phase).  @p total:
 * events the phase will handle, 0 when unknown. */
void rp_phase(struct rp_state *p, const char *phase, uint64_t total);

/* Call once per event read or fed (cheap: looks at the clock every 256
 * calls).  @p ctx may be NULL before detection starts. */
void rp_tick(struct rp_state *p, const t1071_ctx *ctx, uint64_t events);

/* The end of the run: clear the progress line and say, once, how many
 * events were late and the lateness that would have kept them. */
void rp_end(struct rp_state *p, const t1071_ctx *ctx);

/* A duration engine.lateness accepts, at least @p ms: "0s", "750ms",
 * "12s" (whole seconds are rounded up when above 10 s). */
void rp_format_lateness(uint64_t ms, char *out, size_t n);

#endif
