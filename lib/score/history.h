/* SPDX-License-Identifier: Apache-2.0 */
/* A key's beacon history as JSON (lib/score/history.c), for
 * t1071_key_history (lib/engine/history.c).  Internal. */
#ifndef T1071_SCORE_HISTORY_H
#define T1071_SCORE_HISTORY_H

#include <glib.h>

struct t1071i_kbeacon;

/* Append the JSON object of @p kb's state to @p o (README "Key history"). */
void t1071i_tracker_history(const struct t1071i_kbeacon *kb, GString *o);

/* Append @p s[0..n) as a JSON string safe to embed in HTML: <, >, &, ',
 * U+2028, U+2029 and control characters as \u escapes, invalid UTF-8 as
 * U+FFFD. */
void t1071i_history_string(GString *o, const char *s, size_t n);

#endif /* T1071_SCORE_HISTORY_H */
