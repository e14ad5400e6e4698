/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay: input shapes (replay-shapes.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay-shapes.h"

void
replay_shapes_init(struct replay_shapes *s, const t1071_config *cfg)
{
    memset(s, 0, sizeof(*s));
    zeek_tsv_init(&s->tsv);
    if (!cfg || t1071_config_get(cfg, "input.source", s->source, sizeof(s->source), NULL) !=
                    T1071_OK)
        strcpy(s->source, "auto");
}

void
replay_shapes_free(struct replay_shapes *s)
{
    zeek_tsv_free(&s->tsv);
}

enum replay_line
replay_line_kind(const struct replay_shapes *s, const char *line, size_t len)
{
    size_t i = 0;

    if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < len && (line[i] == ' ' || line[i] == '\r'))
        i++;
    if (i < len && line[i] == '#')
        return LINE_TSV_HEADER;
    if ((i < len && line[i] == '{') || !s->tsv.seen_header)
        return LINE_JSON;
    return LINE_TSV_DATA;
}

int
replay_line_event(struct replay_shapes *s, const char *line, size_t len, uint64_t lineno,
                  t1071_buffer **ev, char *err, size_t errlen)
{
    char *json = NULL;
    size_t jl = 0;
    int rc;

    *ev = NULL;
    err[0] = '\0';
    switch (replay_line_kind(s, line, len)) {
    case LINE_TSV_HEADER:
        if (len && line[len - 1] == '\r')
            len--;
        return zeek_tsv_header(&s->tsv, line, len, err, errlen) == 0 ? T1071_OK
                                                                      : T1071_E_INVALID_ARG;
    case LINE_TSV_DATA:
        if (len && line[len - 1] == '\r')
            len--;
        if (!s->tsv.n_fields)
            s->tsv_orphans++;
        if (zeek_tsv_to_json(&s->tsv, line, len, &json, &jl, err, errlen) != 0)
            return T1071_E_INVALID_ARG;
        s->tsv_lines++;
        rc = t1071_event_from_json_as(json, jl, lineno, "zeek", ev);
        free(json);
        return rc;
    default:
        return t1071_event_from_json_as(line, len, lineno, s->source[0] ? s->source : NULL, ev);
    }
}

static uint64_t
get_stat(t1071_ctx *ctx, int id)
{
    uint64_t v = 0;

    t1071_stats_get(ctx, id, &v);
    return v;
}

int
replay_shapes_report(const struct replay_shapes *s, t1071_ctx *ctx, uint64_t alerts, FILE *f)
{
    static const struct {
        int id;
        const char *name;
    } shapes[] = {
        {T1071_STAT_RECORDS_ECS, "ECS"},
        {T1071_STAT_RECORDS_SURICATA, "Suricata EVE"},
        {T1071_STAT_RECORDS_SYSMON, "Sysmon"},
        {T1071_STAT_RECORDS_ZEEK, "Zeek conn"},
    };
    struct {
        uint64_t n;
        const char *what;
    } why[] = {
        {get_stat(ctx, T1071_STAT_RECORDS_UNRECOGNISED) + s->tsv_orphans,
         "of no shape the reader knows (ECS with @timestamp, Suricata EVE, raw Sysmon, Zeek "
         "conn JSON or TSV with its #fields header)"},
        {get_stat(ctx, T1071_STAT_ERR_JSON), "not JSON objects"},
        {get_stat(ctx, T1071_STAT_RECORDS_NO_TIME),
         "without a usable time (Sysmon UtcTime, Zeek ts, ECS @timestamp)"},
        {get_stat(ctx, T1071_STAT_RECORDS_NOT_NETWORK),
         "not network events (other Sysmon event IDs, other Zeek logs, ECS events of "
         "another category)"},
    };
    uint64_t records = get_stat(ctx, T1071_STAT_RECORDS_IN) + s->tsv_orphans;
    uint64_t network = get_stat(ctx, T1071_STAT_EVENTS_NETWORK);
    size_t top = 0;
    bool any = false;

    if (records == 0)
        return 0;
    for (size_t i = 1; i < sizeof(why) / sizeof(why[0]); i++)
        if (why[i].n > why[top].n)
            top = i;
    if (network > 0 || alerts > 0) {
        if (why[top].n * 10 < records * 9)
            return 0;
        fprintf(f,
                "t1071-replay: note: %" PRIu64 " of %" PRIu64 " records (%.0f%%) were passed "
                "over: %s; %" PRIu64 " network events were read%s\n",
                why[top].n, records, 100.0 * (double)why[top].n / (double)records, why[top].what,
                network, strcmp(s->source, "auto") ? " (--source forces one shape)" : "");
        return 0;
    }
    fprintf(f, "t1071-replay: no network connection event in %" PRIu64 " record%s; read as: ",
            records, records == 1 ? "" : "s");
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        uint64_t n = get_stat(ctx, shapes[i].id);
        if (!n)
            continue;
        fprintf(f, "%s%s %" PRIu64, any ? ", " : "", shapes[i].name, n);
        any = true;
    }
    if (s->tsv_lines && !any)
        fprintf(f, "Zeek TSV %" PRIu64, s->tsv_lines);
    else if (!any)
        fprintf(f, "no known shape");
    if (strcmp(s->source, "auto"))
        fprintf(f, " (input.source=%s)", s->source);
    if (why[top].n)
        fprintf(f, "; most passed over: %" PRIu64 " %s", why[top].n, why[top].what);
    fprintf(f, ". Nothing to detect on (exit status 3); --stats has every counter.\n");
    return REPLAY_EXIT_NO_NETWORK;
}
