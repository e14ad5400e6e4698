/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay --report FILE.html (issue 18): one self-contained HTML
 * triage report of the run.  README "The triage report". */
#ifndef T1071_REPLAY_REPORT_H
#define T1071_REPLAY_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <t1071/t1071detect.h>

#define REPORT_MAX_BYTES (5u << 20)    /* the whole file */
#define REPORT_MAX_MARKS 2000          /* timeline marks per key */
#define REPORT_DEFAULT_KEYS 50

struct report;

/* A report to be written to @p path with at most @p max_keys keys; NULL
 * when out of memory. */
struct report *report_new(const char *path, size_t max_keys);
void report_free(struct report *rep);

/* One polled alert (its JSON and protobuf forms): remember its key, its
 * latest alert and the key's history (t1071_key_history) as it is now.
 * Returns 0, or -1 when out of memory. */
int report_alert(struct report *rep, const t1071_ctx *ctx, const char *json, size_t json_len,
                 const uint8_t *pb, size_t pb_len);

/* What the summary says besides the context's counters. */
struct report_run {
    const char *input;   /* file name, "-" for stdin */
    const char *profile; /* "faithful", a profile name, or a config file */
    uint64_t lines, events, bad;
    double seconds;
};

/* Write the file (atomically: a temporary file renamed).  Returns 0, or
 * -1 after saying why on stderr. */
int report_write(struct report *rep, const t1071_ctx *ctx, const struct report_run *run);

#endif /* T1071_REPLAY_REPORT_H */
