/* SPDX-License-Identifier: Apache-2.0 */
/* Time, duration and integer text (lib/util/timefmt.c).  Internal. */
#ifndef T1071_UTIL_TIMEFMT_H
#define T1071_UTIL_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define T1071I_DAY_MS INT64_C(86400000)
/* The longest duration a rule's maxspan may name: 3650 days (rule.maxspan,
 * EQL `with maxspan=`, Sigma `timespan`). */
#define T1071I_MAX_SPAN_MS (INT64_C(3650) * T1071I_DAY_MS)

/* Parse an ECS date: RFC 3339 / ISO 8601 ("2024-01-01T00:00:00.123Z",
 * "+01:00" / "+0100" offsets, fractions of any length truncated to ms,
 * "2024-01-01 00:00:00Z" with a space) into ms since the epoch.  Returns
 * true on success.  Years 0001..9999 only. */
bool t1071i_parse_time(const char *s, size_t n, int64_t *ms_out);

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL). */
void t1071i_format_time(int64_t ms, char out[32]);

/* Parse "24h", "90s", "500ms", "7d", "15m", "0" into ms. */
bool t1071i_parse_duration(const char *s, int64_t *ms_out);
/* Format ms as the shortest exact duration text ("24h", "90s", "1500ms"). */
void t1071i_format_duration(int64_t ms, char out[32]);

/* snprintf(out, 32, "%" PRId64, v) without printf; returns the length
 * (NUL added). */
size_t t1071i_format_i64(int64_t v, char out[32]);

#endif /* T1071_UTIL_TIMEFMT_H */
