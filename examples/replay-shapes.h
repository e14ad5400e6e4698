/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay's reading of input shapes (issue 12): --source, Zeek TSV at
 * stream level (zeek-tsv.h), and the end-of-run account of what the input
 * was when it held no network connection event (exit status 3) or when most
 * of it was passed over for one input-shape reason. */
#ifndef T1071_REPLAY_SHAPES_H
#define T1071_REPLAY_SHAPES_H

#include <stdint.h>
#include <stdio.h>

#include "t1071/t1071detect.h"
#include "zeek-tsv.h"

#define REPLAY_EXIT_NO_NETWORK 3

struct replay_shapes {
    char source[16];        /* input.source: auto, ecs, sysmon, zeek, suricata */
    struct zeek_tsv tsv;    /* Zeek TSV header state */
    uint64_t tsv_lines;     /* TSV data lines read through the header */
    uint64_t tsv_orphans;   /* TSV data lines before any #fields header */
};

void replay_shapes_init(struct replay_shapes *s, const t1071_config *cfg);
void replay_shapes_free(struct replay_shapes *s);

/* What one input line is, before it is read as JSON. */
enum replay_line { LINE_JSON, LINE_TSV_HEADER, LINE_TSV_DATA };
enum replay_line replay_line_kind(const struct replay_shapes *s, const char *line, size_t len);

/* Convert one NDJSON or Zeek TSV data line to an Event (as
 * t1071_event_from_json_as): T1071_OK with *ev, or a status with a
 * sentence in @p err for a TSV line the header cannot explain. */
int replay_line_event(struct replay_shapes *s, const char *line, size_t len, uint64_t lineno,
                      t1071_buffer **ev, char *err, size_t errlen);

/* After the run: say on @p f what the input was when no record was a
 * network connection event (then REPLAY_EXIT_NO_NETWORK is returned) or
 * when >= 90 % of the records were passed over for one input-shape reason
 * (0 is returned).  Silent (0) otherwise. */
int replay_shapes_report(const struct replay_shapes *s, t1071_ctx *ctx, uint64_t alerts, FILE *f);

#endif
