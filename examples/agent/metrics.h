/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's /metrics endpoint (issue 15): Prometheus text format over a
 * small HTTP/1.0 server on its own thread.
 *
 * Components add lines by registering a source: a callback that appends
 * text to the response.  Sources are called on the metrics thread, one
 * request at a time, so a source reads only what it has published under its
 * own lock (never a t1071_ctx another thread feeds: the library's "one
 * context, one thread at a time" rule).  Each source writes complete
 * families ("# TYPE name kind" then samples); names start with t1071_. */
#ifndef T1071_AGENT_METRICS_H
#define T1071_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct t1071a_text; /* a growing response body */
struct t1071a_metrics;

/* Appends printf-style text; on out of memory the response becomes a 500. */
void t1071a_text_printf(struct t1071a_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends @p s as a Prometheus label value (backslash, quote, newline
 * escaped), without the quotes. */
void t1071a_text_label(struct t1071a_text *t, const char *s);

typedef void (*t1071a_metrics_fn)(void *arg, struct t1071a_text *out);

/* Listens on @p addr: "PORT", ":PORT" (127.0.0.1), "HOST:PORT" or
 * "[V6]:PORT"; PORT 0 takes a free port.  0 on success (*out set, the
 * thread running; "t1071-agent: metrics on http://A:P/metrics" on stderr),
 * -1 with @p err filled. */
int t1071a_metrics_start(const char *addr, struct t1071a_metrics **out, char *err, size_t errlen);

/* Adds a source; sources are called in the order they were added.  Safe at
 * any time (under the server's lock).  0, or -1 when 32 sources are
 * registered already. */
int t1071a_metrics_add(struct t1071a_metrics *m, t1071a_metrics_fn fn, void *arg);

/* Removes every source registered with @p arg; once it returns, none of them
 * runs or will run. */
void t1071a_metrics_remove(struct t1071a_metrics *m, void *arg);

/* Whether library stat @p id (t1071_stat_name) is a gauge (keys, hosts,
 * memory, queued alerts, ...) rather than a counter: a gauge is exported as
 * t1071_NAME, a counter as t1071_NAME_total. */
bool t1071a_stat_is_gauge(int id);

/* Stops the thread, closes the socket, frees; NULL is a no-op. */
void t1071a_metrics_stop(struct t1071a_metrics *m);

#endif
