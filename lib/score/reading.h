/* SPDX-License-Identifier: Apache-2.0 */
/* One-line readings of a beacon verdict (lib/score/reading.c): the one
 * function behind the alert's t1071.beacon.reading, the key history's
 * readings and the --report charts, so they can never disagree.  Internal. */
#ifndef T1071_SCORE_READING_H
#define T1071_SCORE_READING_H

#include <stddef.h>

#include "score/beacon.h"

enum t1071i_reading {
    T1071I_READING_SUMMARY,    /* the score and what drives it */
    T1071I_READING_TIMELINE,   /* beats over the span */
    T1071I_READING_INTERVALS,  /* the interval histogram and the period */
    T1071I_READING_HOURS,      /* the hourly count strip */
    T1071I_READING_COMPONENTS, /* T, C, S, R and how they combine */
};

/* Write the reading @p part of @p v into @p buf (NUL-terminated, plain
 * ASCII, truncated to @p size); returns the full length, as snprintf. */
size_t t1071i_beacon_reading(const struct t1071i_beacon_verdict *v, enum t1071i_reading part,
                             char *buf, size_t size);

#endif /* T1071_SCORE_READING_H */
