/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay: replay an ECS event stream through libt1071detect and print
 * the alerts.  The project's main job and a host example: it uses only the
 * public API (plus protobuf-c to read Alert messages for --output sequences).
 *
 * Its command line and output formats are a contract that users' scripts
 * depend on: extend them, never break them.
 *
 *   t1071-replay [--profile NAME] [--config FILE] [--set SECTION.KEY=VALUE]... [--rule FILE]...
 *                [--input ndjson|pb] [--output alerts|sequences|pb|none]
 *                [--stats] [--stats-format text|json|prometheus] [--state FILE [--checkpoint-every N] [--flush]]
 *                [--output-file F]
 *                [--order time|arrival] [--sort-memory SIZE] [FILE|-]
 *   t1071-replay --encode [FILE|-]
 *   t1071-replay --sample        (or no arguments on a terminal)
 *
 * Exit status: 0 on success (bad lines included), 1 when the run itself
 * fails, 2 on a usage error, 3 when no input record was a network
 * connection event (replay-shapes.c says what the input was). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ecs.pb-c.h"
#include "replay-order.h"
#include "replay-state.h"
#include "replay-progress.h"
#include "replay-shapes.h"
#include "replay-report.h"
#include "t1071/t1071detect.h"

#define PROG "t1071-replay"
#define MAX_LINE (4u << 20)     /* longer NDJSON lines are skipped as bad */
#define BAD_LINES_SHOWN 5
/* engine.lateness when records are detected as they arrive (stdin, pipes,
 * --order arrival) and no profile, --config or --set says otherwise: keeps
 * the few seconds of disorder Sysmon and Elastic Endpoint shippers show
 * (README "Time"); the library's own default stays 0s. */
#define REPLAY_STREAM_LATENESS "5s"

extern const unsigned char t1071_sample_ndjson[];
extern const size_t t1071_sample_ndjson_len;

enum input_fmt { IN_NDJSON, IN_PB };
enum output_fmt { OUT_ALERTS, OUT_SEQUENCES, OUT_PB, OUT_NONE, OUT_SUMMARY };

struct run {
    t1071_ctx *ctx;
    enum output_fmt out;
    uint64_t lines, events, bad;
    uint64_t alerts;
    bool write_failed;
    const char *state;          /* --state FILE, or NULL */
    bool flush;                 /* --flush: with --state, advance to the end at exit */
    int stats_fmt;              /* enum stats_fmt */
    uint64_t checkpoint_every;  /* events between checkpoints; 0 = only at exit */
    struct ro_sorter *sorter;   /* --order time: records are sorted here first */
    uint64_t sorted;            /* records handed to the sorter */
    struct rp_state prog;       /* progress and late-event reports on stderr */
    struct replay_shapes shapes; /* --source, Zeek TSV (replay-shapes.c) */
    struct report *report;      /* --report FILE.html, or NULL */
    struct rs rs;               /* --state's input position, --output-file (replay-state.c) */
    FILE *in;                   /* the input, for the position record */
    void *map;                  /* read_pb_mapped(): the input file, mapped */
    size_t map_len;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--profile NAME] [--config FILE] [--set SECTION.KEY=VALUE]...\n"
            "                    [--rule FILE]...\n"
            "                    [--input ndjson|pb] [--output alerts|sequences|pb|none]\n"
            "                    [--source auto|ecs|sysmon|zeek|suricata]\n"
            "                    [--stats] [--state FILE [--checkpoint-every N] [--flush]]\n"
            "                    [--output-file F]\n"
            "                    [--order time|arrival] [--sort-memory SIZE]\n"
            "                    [--report FILE.html [--report-keys N]] [FILE|-]\n"
            "       " PROG " --encode [FILE|-]   ECS NDJSON in, length-delimited protobuf Events out\n"
            "       " PROG " --sample            replay the bundled sample and summarise it\n"
            "       " PROG " --version | --help\n"
            "\n"
            "Replays ECS network events through libt1071detect (Elastic Security's T1071\n"
            "beaconing rule, exactly) and prints one alert per completed sequence.\n"
            "  --profile NAME   faithful (default: the Elastic rule exactly) or a profile\n"
            "                   file NAME.ini from $T1071_PROFILE_PATH or the installed profiles\n"
            "  --config FILE    INI file with [rule] and [engine] keys (see README)\n"
            "  --set S.K=V      one config value, applied after --config, in order\n"
            "  --rule FILE      run the rule in FILE (an EQL sequence query or a Sigma\n"
            "                   correlation rule) instead of the built-in one; repeat it to\n"
            "                   run several rules at once, each alert naming its rule\n"
            "  --input          ndjson (default; one ECS JSON event per line) or pb\n"
            "                   (length-delimited t1071.ecs.v1.Event records)\n"
            "  --source         how ndjson records are read: auto (default: each record's\n"
            "                   shape, ECS, Suricata EVE, raw Sysmon from NXLog or\n"
            "                   Winlogbeat, Zeek conn JSON; a Zeek TSV log with its #fields\n"
            "                   header is recognised too) or one shape for every record\n"
            "                   (the input.source key)\n"
            "  --output         alerts (default; ECS JSON, one per line), sequences\n"
            "                   (JSON array of member event.ids), pb (length-delimited\n"
            "                   t1071.ecs.v1.Alert records) or none\n"
            "  --stats          counters, events/s and peak memory on stderr\n"
            "  --stats-format text|json|prometheus  the --stats format (implies --stats)\n"
            "  --state FILE     resume from FILE (a t1071_snapshot) if it exists, and save\n"
            "                   the state there at exit instead of flushing, so the next\n"
            "                   run continues exactly (the saved config is used)\n"
            "  --checkpoint-every N  also save the state every N events (atomically)\n"
            "  --report FILE.html  also write a self-contained HTML triage report: summary,\n"
            "                   alerting keys, per key its timeline, intervals, hours and\n"
            "                   score components (README \"The triage report\")\n"
            "  --report-keys N  at most N keys in the report, highest scores first (50)\n"
            "  --flush          with --state: the input is over for good; flush buffered\n"
            "                   events (as without --state) before saving\n"
            "  --output-file F  write the output to F; with --state, F is cut back to the\n"
            "                   last checkpoint on resume, so a crash repeats nothing\n"
            "  --order time     read the whole input, then detect in event-time order\n"
            "                   (stable: ties in input order); the default for a regular FILE\n"
            "  --order arrival  detect as records arrive, reordering within engine.lateness\n"
            "                   (default 5s here); the default for stdin and pipes\n"
            "  --sort-memory SIZE  memory for --order time before it sorts on disk\n"
            "                   ($TMPDIR); B, KiB, MiB, GiB (default 256MiB)\n"
            "Exit status: 0 success (bad lines are skipped and reported), 1 run failed,\n"
            "2 usage error, 3 no input record was a network connection event (stderr\n"
            "says what the input was).\n");
}

/* ===== Output ===== */

static void
put_bytes(struct run *r, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, stdout) != n)
        r->write_failed = true;
}

static void
put_varint(struct run *r, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;

    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    put_bytes(r, b, n);
}

/* A JSON string, ASCII only (\uXXXX for the rest): the .expected format. */
static void
put_json_ascii(struct run *r, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char tmp[16];

    putchar('"');
    while (*p) {
        uint32_t u;
        int extra;
        if (*p < 0x80) {
            if (*p == '"' || *p == '\\')
                printf("\\%c", *p);
            else if (*p == '\n')
                fputs("\\n", stdout);
            else if (*p == '\r')
                fputs("\\r", stdout);
            else if (*p == '\t')
                fputs("\\t", stdout);
            else if (*p == '\b')
                fputs("\\b", stdout);
            else if (*p == '\f')
                fputs("\\f", stdout);
            else if (*p < 0x20 || *p == 0x7f)
                printf("\\u%04x", *p);
            else
                putchar(*p);
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) { u = *p & 0x1f; extra = 1; }
        else if ((*p & 0xf0) == 0xe0) { u = *p & 0x0f; extra = 2; }
        else if ((*p & 0xf8) == 0xf0) { u = *p & 0x07; extra = 3; }
        else { u = 0xfffd; extra = 0; }
        p++;
        for (int i = 0; i < extra; i++) {
            if ((*p & 0xc0) != 0x80) {
                u = 0xfffd;
                break;
            }
            u = (u << 6) | (*p++ & 0x3f);
        }
        if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff))
            u = 0xfffd;
        if (u >= 0x10000) {
            u -= 0x10000;
            snprintf(tmp, sizeof(tmp), "\\u%04x\\u%04x", 0xd800 + (u >> 10), 0xdc00 + (u & 0x3ff));
        } else {
            snprintf(tmp, sizeof(tmp), "\\u%04x", u);
        }
        fputs(tmp, stdout);
    }
    putchar('"');
}

/* Terminal text: control characters escaped so hostile event data cannot
 * drive the terminal. */
static void
put_terminal(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

static int
drain(struct run *r)
{
    t1071_alert_batch *b = NULL;
    int rc = t1071_poll_alerts(r->ctx, &b);

    if (rc != T1071_OK) {
        fprintf(stderr, PROG ": polling alerts: %s\n", t1071_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const uint8_t *pb;
        size_t len;
        if (r->out != OUT_PB && fflush(stdout) != 0)
            r->write_failed = true; /* the last alert's line, in one write() */
        r->alerts++;
        if (r->report) {
            const char *json;
            size_t jlen;
            if (t1071_alert_batch_get_json(b, i, &json, &jlen) == T1071_OK &&
                t1071_alert_batch_get(b, i, &pb, &len) == T1071_OK &&
                report_alert(r->report, r->ctx, json, jlen, pb, len) != 0) {
                rc = T1071_E_NOMEM;
                break;
            }
        }
        if (r->out == OUT_NONE)
            continue;
        if (r->out == OUT_ALERTS) {
            const char *json;
            rc = t1071_alert_batch_get_json(b, i, &json, &len);
            if (rc != T1071_OK)
                break;
            put_bytes(r, json, len);
            put_bytes(r, "\n", 1);
            continue;
        }
        rc = t1071_alert_batch_get(b, i, &pb, &len);
        if (rc != T1071_OK)
            break;
        if (r->out == OUT_PB) {
            put_varint(r, len);
            put_bytes(r, pb, len);
            continue;
        }
        {
            T1071__Ecs__V1__Alert *a = t1071__ecs__v1__alert__unpack(NULL, len, pb);
            if (!a) {
                rc = T1071_E_DECODE;
                break;
            }
            if (r->out == OUT_SEQUENCES) {
                putchar('[');
                for (size_t m = 0; m < a->n_members; m++) {
                    if (m)
                        putchar(',');
                    put_json_ascii(r, a->members[m]->event_id);
                }
                puts("]");
            } else {
                const char *sub = a->threat && a->threat->n_subtechnique
                                      ? a->threat->subtechnique[0]->id
                                      : "T1071";
                printf("  ALERT %s  ", a->severity);
                put_terminal(a->reason);
                printf("  [%s]", sub);
                if (a->beacon)
                    printf("  beacon %.2f (period %.1fs, jitter %.0f%%)", a->beacon->score,
                           (double)a->beacon->period_ms / 1000.0, a->beacon->jitter * 100.0);
                putchar('\n');
            }
            t1071__ecs__v1__alert__free_unpacked(a, NULL);
        }
    }
    t1071_alert_batch_free(b);
    if (r->out != OUT_PB && fflush(stdout) != 0)
        r->write_failed = true;
    if (ferror(stdout))
        r->write_failed = true;
    return rc;
}

/* ===== Feeding ===== */

static void
report_bad(struct run *r, const char *what, uint64_t n, int rc, const char *detail)
{
    r->bad++;
    if (r->bad <= BAD_LINES_SHOWN)
        fprintf(stderr, PROG ": %s %" PRIu64 ": %s%s%s\n", what, n,
                rc != T1071_OK ? t1071_strerror(rc) : "",
                rc != T1071_OK && detail && *detail ? ": " : "", detail ? detail : "");
    else if (r->bad == BAD_LINES_SHOWN + 1)
        fprintf(stderr, PROG ": more bad %ss follow; counted, not shown\n", what);
}

/* Save the context to --state atomically: alerts are written out first, so
 * a crash after this point repeats nothing that was not yet printed. */
static int
save_state(struct run *r)
{
    t1071_buffer *snap = NULL;
    char tmp[4096];
    int fd, rc;
    size_t off = 0, n;
    const uint8_t *d;
    uint8_t pos[RS_RECORD_LEN];

    if (drain(r) != T1071_OK || fflush(stdout) != 0)
        return -1;
    if (rs_record(&r->rs, r->in, r->lines, pos) != 0) {
        fprintf(stderr, PROG ": --output-file: %s\n", strerror(errno));
        return -1;
    }
    rc = t1071_snapshot(r->ctx, &snap);
    if (rc != T1071_OK) {
        fprintf(stderr, PROG ": snapshot: %s\n", t1071_strerror(rc));
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", r->state, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
        t1071_buffer_free(snap);
        return -1;
    }
    d = t1071_buffer_data(snap);
    n = t1071_buffer_size(snap);
    while (off < n) {
        ssize_t w = write(fd, d + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    t1071_buffer_free(snap);
    /* The input position and output size after the snapshot, in the same
     * file, so one rename() commits all three. */
    for (size_t o = 0; off == n && o < sizeof(pos);) {
        ssize_t w = write(fd, pos + o, sizeof(pos) - o);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            off = 0;
            break;
        }
        o += (size_t)w;
    }
    if (off != n || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, r->state) != 0) {
        fprintf(stderr, PROG ": writing state %s: %s\n", r->state, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Open --state: restore it, or a fresh context when the file is missing. */
static int
load_state(struct run *r, const t1071_config *cfg)
{
    FILE *f = fopen(r->state, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;

    if (!f) {
        if (errno != ENOENT) {
            fprintf(stderr, PROG ": --state %s: %s\n", r->state, strerror(errno));
            return -1;
        }
        rc = t1071_init(&r->ctx, cfg);
        if (rc != T1071_OK)
            fprintf(stderr, PROG ": init: %s\n", t1071_strerror(rc));
        return rc == T1071_OK ? 0 : -1;
    }
    for (;;) {
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap ? cap * 2 : 1 << 16);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = cap ? cap * 2 : 1 << 16;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    rc = t1071_restore(&r->ctx, buf, rs_split(&r->rs, buf, len));
    free(buf);
    if (rc != T1071_OK) {
        fprintf(stderr, PROG ": --state %s: %s\n", r->state, t1071_strerror(rc));
        return -1;
    }
    return 0;
}

/* ===== --order time (replay-order.c) ===== */

/* Hold one encoded event for the sort, keyed by its event time and its
 * line (or record) number. */
static int
order_put(struct run *r, const uint8_t *buf, size_t len, uint64_t n)
{
    int64_t ts;

    if (!ro_event_time(buf, len, &ts))
        ts = INT64_MIN; /* no time: the engine refuses it wherever it comes */
    if (ro_add(r->sorter, ts, n, buf, len) != 0) {
        fprintf(stderr, PROG ": sorting by event time: %s\n", ro_error(r->sorter));
        return -1;
    }
    rp_tick(&r->prog, NULL, ++r->sorted);
    return 0;
}

/* order_put() for a record of the mapped input: indexed, not copied. */
static int
order_put_at(struct run *r, const uint8_t *base, size_t off, size_t len, uint64_t n)
{
    int64_t ts;

    if (!ro_event_time(base + off, len, &ts))
        ts = INT64_MIN;
    if (ro_add_at(r->sorter, ts, n, off, len) != 0) {
        fprintf(stderr, PROG ": sorting by event time: %s\n", ro_error(r->sorter));
        return -1;
    }
    rp_tick(&r->prog, NULL, ++r->sorted);
    return 0;
}

static int feed(struct run *r, const uint8_t *buf, size_t len, const char *what, uint64_t n);

/* The input is read: feed every held event in (event time, line) order. */
static int
feed_sorted(struct run *r, const char *what)
{
    struct ro_sorter *s = r->sorter;
    const uint8_t *d;
    size_t len;
    int64_t ts;
    uint64_t ord;
    int rc;

    r->sorter = NULL; /* feed() now feeds */
    rp_phase(&r->prog, "sorting", 0);
    if (ro_finish(s) != 0) {
        fprintf(stderr, PROG ": sorting by event time: %s\n", ro_error(s));
        ro_free(s);
        return -1;
    }
    rp_phase(&r->prog, "detecting", r->sorted);
    while ((rc = ro_next(s, &ts, &ord, &d, &len)) > 0)
        if (!rs_skip_sorted(&r->rs) && feed(r, d, len, what, ord) != 0)
            break;
    if (rc < 0)
        fprintf(stderr, PROG ": sorting by event time: %s\n", ro_error(s));
    ro_free(s);
    return rc == 0 ? 0 : -1;
}

/* Feed one encoded event, draining the alert queue whenever it is full.
 * Returns -1 when the run must stop. */
static int
feed(struct run *r, const uint8_t *buf, size_t len, const char *what, uint64_t n)
{
    if (r->sorter)
        return order_put(r, buf, len, n);
    for (;;) {
        int rc = t1071_feed_event(r->ctx, buf, len);
        if (rc == T1071_E_QUEUE_FULL) {
            if (drain(r) != T1071_OK)
                return -1;
            continue;
        }
        /* T1071_E_NOMEM here is engine.memory_limit at work (or a failed
         * allocation): the event is counted as dropped, the run goes on. */
        if (rc != T1071_OK)
            report_bad(r, what, n, rc, t1071_errmsg(r->ctx));
        else
            r->events++;
        rp_tick(&r->prog, r->ctx, r->events);
        /* --report: take each alert's key history while the key is live. */
        if (r->report) {
            uint64_t queued = 0;
            if (t1071_stats_get(r->ctx, T1071_STAT_ALERTS_QUEUED, &queued) == T1071_OK && queued &&
                drain(r) != T1071_OK)
                return -1;
        }
        if (r->state && r->checkpoint_every && rc == T1071_OK &&
            r->events % r->checkpoint_every == 0)
            return save_state(r);
        return 0;
    }
}

static bool
blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* for_each_line() and read_pb() stop: a resumed time-ordered run has
 * read the interrupted run's range (not an error). */
#define STOP_READING 2

/* Call @p fn on every line of @p f (without its newline).  Lines longer
 * than MAX_LINE are reported and skipped without being held in memory. */
typedef int (*line_fn)(struct run *r, const char *line, size_t len, uint64_t lineno);

/* One complete line (without its newline): count it, skip blank ones,
 * report an over-long one. */
static int
end_line(struct run *r, line_fn fn, const char *line, size_t len, bool skipped)
{
    r->lines++;
    switch (rs_line(&r->rs, r->lines)) {
    case RS_SKIP:
        /* Read by the run this one resumes; a '#' line still goes through:
         * a Zeek TSV header says how the lines after it read. */
        if (skipped || !len || line[0] != '#')
            return 0;
        break;
    case RS_STOP:
        r->lines--;
        return STOP_READING; /* past the interrupted run's range */
    case RS_FEED:
        break;
    }
    if (skipped)
        report_bad(r, "line", r->lines, T1071_E_TOO_LARGE, "line longer than 4 MiB");
    else if (!blank(line, len))
        return fn(r, line, len, r->lines);
    return 0;
}

static int
for_each_line(struct run *r, FILE *f, line_fn fn)
{
    /* Read in large blocks and find newlines with memchr; a line that
     * lies whole in the block is handed over in place, one that spans
     * blocks is gathered in @p buf (at most MAX_LINE bytes). */
    size_t cap = 1 << 16, len = 0, rcap = 1 << 20;
    char *buf = malloc(cap), *rbuf = malloc(rcap);
    bool skipping = false;
    int rc = 0;

    if (!buf || !rbuf) {
        free(buf);
        free(rbuf);
        return -1;
    }
    while (rc == 0) {
        size_t n = fread(rbuf, 1, rcap, f), off = 0;
        if (n == 0) {
            if (len > 0 || skipping)
                rc = end_line(r, fn, buf, len, skipping);
            break;
        }
        while (off < n && rc == 0) {
            const char *nl = memchr(rbuf + off, '\n', n - off);
            size_t seg = nl ? (size_t)(nl - (rbuf + off)) : n - off;
            if (!skipping && len == 0 && nl && seg <= MAX_LINE) {
                rc = end_line(r, fn, rbuf + off, seg, false);
            } else {
                if (!skipping && len + seg > MAX_LINE) {
                    skipping = true;
                    len = 0;
                }
                if (!skipping && seg) {
                    if (len + seg + 1 > cap) {
                        size_t nc = cap;
                        char *nb;
                        while (nc < len + seg + 1)
                            nc *= 2;
                        nb = realloc(buf, nc);
                        if (!nb) {
                            rc = -1;
                            break;
                        }
                        buf = nb;
                        cap = nc;
                    }
                    memcpy(buf + len, rbuf + off, seg);
                    len += seg;
                }
                if (nl) {
                    rc = end_line(r, fn, buf, len, skipping);
                    len = 0;
                    skipping = false;
                }
            }
            off += seg + (nl ? 1 : 0);
        }
    }
    if (ferror(f)) {
        fprintf(stderr, PROG ": read error: %s\n", strerror(errno));
        rc = -1;
    }
    free(buf);
    free(rbuf);
    return rc;
}

static int
ndjson_line(struct run *r, const char *line, size_t len, uint64_t lineno)
{
    t1071_buffer *ev = NULL;
    char err[160];
    int rc = replay_line_event(&r->shapes, line, len, lineno, &ev, err, sizeof(err));

    if (rc == T1071_E_NOMEM) {
        fprintf(stderr, PROG ": line %" PRIu64 ": out of memory\n", lineno);
        return -1;
    }
    if (rc != T1071_OK) {
        /* A Zeek TSV line the header cannot explain: the sentence says why. */
        report_bad(r, "line", lineno, err[0] ? T1071_OK : rc, err[0] ? err : NULL);
        return 0;
    }
    if (!ev)
        return 0; /* a Zeek TSV header line */
    rc = feed(r, t1071_buffer_data(ev), t1071_buffer_size(ev), "line", lineno);
    t1071_buffer_free(ev);
    return rc;
}

static int
encode_line(struct run *r, const char *line, size_t len, uint64_t lineno)
{
    t1071_buffer *ev = NULL;
    char err[160];
    int rc = replay_line_event(&r->shapes, line, len, lineno, &ev, err, sizeof(err));

    if (rc == T1071_E_NOMEM)
        return -1;
    if (rc != T1071_OK) {
        report_bad(r, "line", lineno, err[0] ? T1071_OK : rc, err[0] ? err : NULL);
        return 0;
    }
    if (!ev)
        return 0; /* a Zeek TSV header line */
    put_varint(r, t1071_buffer_size(ev));
    put_bytes(r, t1071_buffer_data(ev), t1071_buffer_size(ev));
    t1071_buffer_free(ev);
    r->events++;
    return 0;
}

/* A record's length prefix (a varint of at most 64 bits) from next(), which
 * returns the next byte or EOF: PREFIX_END at a clean end (EOF before any
 * byte), PREFIX_OK, PREFIX_CUT (EOF inside it), PREFIX_BAD (over 64 bits). */
enum { PREFIX_OK, PREFIX_END, PREFIX_CUT, PREFIX_BAD };

static inline int
read_len_prefix(int (*next)(void *), void *src, uint64_t *len)
{
    int shift = 0;

    *len = 0;
    for (;;) {
        int c = next(src);

        if (c == EOF)
            return shift == 0 ? PREFIX_END : PREFIX_CUT;
        if (shift == 63 && (c & 0x7e))
            return PREFIX_BAD;
        *len |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return PREFIX_OK;
        shift += 7;
        if (shift > 63)
            return PREFIX_BAD;
    }
}

struct mapped_src {
    const uint8_t *p;
    size_t n, i;
};

static inline int
mapped_next(void *arg)
{
    struct mapped_src *m = arg;

    return m->i < m->n ? m->p[m->i++] : EOF;
}

static inline int
file_next(void *arg)
{
    return getc_unlocked((FILE *)arg);
}

/* read_pb() for a regular file read in time order: map it and index its
 * records in place instead of copying each into the sort's memory (the
 * page cache holds them; only the index counts against --sort-memory).
 * Same records, numbers, reports and stops as read_pb(); the stream's
 * position is moved along so --state and the progress line see it.
 * 1: not a mapped input (use read_pb), else read_pb()'s result. */
static int
read_pb_mapped(struct run *r, FILE *f)
{
    struct stat st;
    off_t at = ftello(f);
    const uint8_t *p;
    size_t n, i, moved = 0;
    uint64_t rec = 0;
    int rc = 0;

    if (!r->sorter || at < 0 || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size <= at || (uint64_t)st.st_size > SIZE_MAX)
        return 1;
    n = (size_t)st.st_size;
    r->map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        return 1;
    }
    r->map_len = n;
    (void)madvise(r->map, n, MADV_SEQUENTIAL);
    ro_use_base(r->sorter, r->map);
    p = r->map;
    i = (size_t)at;
    for (;;) {
        uint64_t len = 0;
        struct mapped_src src = {p, n, i};
        int pr = read_len_prefix(mapped_next, &src, &len);

        i = src.i;
        if (pr == PREFIX_END)
            break; /* clean end */
        if (rs_line(&r->rs, r->lines + 1) == RS_STOP) {
            rc = STOP_READING;
            break;
        }
        rec++;
        r->lines++;
        if (pr != PREFIX_OK) {
            report_bad(r, "record", rec, T1071_E_TRUNCATED,
                       pr == PREFIX_BAD ? "malformed length prefix; rest of input ignored"
                                        : "input ends inside a length prefix");
            break;
        }
        if (len > T1071_MAX_EVENT_BYTES) {
            bool cut = len > n - i;
            i = cut ? n : i + (size_t)len;
            report_bad(r, "record", rec, T1071_E_TOO_LARGE,
                       cut ? "input ends inside an oversized record" : "record skipped");
            if (cut)
                break;
            continue;
        }
        if (len > n - i) {
            i = n;
            report_bad(r, "record", rec, T1071_E_TRUNCATED, "input ends inside a record");
            break;
        }
        i += (size_t)len;
        if (i - moved >= ((size_t)4 << 20)) { /* the progress line reads the position */
            fseeko(f, (off_t)i, SEEK_SET);
            moved = i;
        }
        if (rs_line(&r->rs, r->lines) == RS_SKIP)
            continue; /* read by the run this one resumes */
        if (order_put_at(r, p, i - (size_t)len, (size_t)len, rec) != 0) {
            rc = -1;
            break;
        }
    }
    if (fseeko(f, (off_t)i, SEEK_SET) != 0 && rc == 0) {
        fprintf(stderr, PROG ": read error: %s\n", strerror(errno));
        rc = -1;
    }
    return rc;
}

/* Length-delimited Events: frame each record here and feed it whole, so a
 * record is never split across reads.  Oversized records are skipped
 * without being buffered. */
static int
read_pb(struct run *r, FILE *f)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint64_t rec = 0;
    int rc = 0;

    for (;;) {
        uint64_t len = 0;
        int pr = read_len_prefix(file_next, f, &len);

        if (pr == PREFIX_END)
            break; /* clean end */
        if (rs_line(&r->rs, r->lines + 1) == RS_STOP) {
            rc = STOP_READING;
            break;
        }
        rec++;
        r->lines++;
        if (pr != PREFIX_OK) {
            report_bad(r, "record", rec, T1071_E_TRUNCATED,
                       pr == PREFIX_BAD ? "malformed length prefix; rest of input ignored"
                                        : "input ends inside a length prefix");
            break;
        }
        if (len > T1071_MAX_EVENT_BYTES) {
            uint64_t left = len;
            while (left > 0 && getc_unlocked(f) != EOF)
                left--;
            report_bad(r, "record", rec, T1071_E_TOO_LARGE,
                       left ? "input ends inside an oversized record" : "record skipped");
            if (left)
                break;
            continue;
        }
        if (len > cap) {
            uint8_t *nb = realloc(buf, (size_t)len);
            if (!nb) {
                rc = -1;
                break;
            }
            buf = nb;
            cap = (size_t)len;
        }
        if (fread(buf, 1, (size_t)len, f) != len) {
            report_bad(r, "record", rec, T1071_E_TRUNCATED, "input ends inside a record");
            break;
        }
        if (rs_line(&r->rs, r->lines) == RS_SKIP)
            continue; /* read by the run this one resumes */
        if (feed(r, buf, (size_t)len, "record", rec) != 0) {
            rc = -1;
            break;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, PROG ": read error: %s\n", strerror(errno));
        rc = -1;
    }
    free(buf);
    return rc;
}

static int
finish(struct run *r)
{
    if (r->state && !r->flush)
        return save_state(r); /* buffered events are kept for the next run */
    for (;;) {
        int rc = t1071_advance(r->ctx, INT64_MAX);
        if (rc == T1071_E_QUEUE_FULL) {
            if (drain(r) != T1071_OK)
                return -1;
            continue;
        }
        if (rc != T1071_OK) {
            fprintf(stderr, PROG ": flushing: %s\n", t1071_strerror(rc));
            return -1;
        }
        if (drain(r) != T1071_OK)
            return -1;
        return r->state ? save_state(r) : 0;
    }
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum stats_fmt { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

/* Gauges (values that go up and down); every other stat is a counter. */
static bool
stat_is_gauge(int id)
{
    return id == T1071_STAT_ALERTS_QUEUED || id == T1071_STAT_KEYS || id == T1071_STAT_HOSTS ||
           id == T1071_STAT_EVENTS_BUFFERED || id == T1071_STAT_MEMORY_BYTES ||
           id == T1071_STAT_MEMORY_PEAK_BYTES || id == T1071_STAT_LATENESS_MAX_MS;
}

static void
print_stats_machine(const struct run *r, double secs, enum stats_fmt fmt)
{
    struct rusage ru;
    uint64_t v;

    getrusage(RUSAGE_SELF, &ru);
    if (fmt == STATS_JSON)
        fputc('{', stderr);
    for (int id = 0; t1071_stat_name(id); id++) {
        const char *name = t1071_stat_name(id);
        if (t1071_stats_get(r->ctx, id, &v) != T1071_OK)
            continue;
        if (fmt == STATS_JSON) {
            fprintf(stderr, "%s\"%s\":%" PRIu64, id ? "," : "", name, v);
        } else {
            bool gauge = stat_is_gauge(id);
            fprintf(stderr, "# TYPE t1071_%s%s %s\nt1071_%s%s %" PRIu64 "\n", name,
                    gauge ? "" : "_total", gauge ? "gauge" : "counter", name,
                    gauge ? "" : "_total", v);
        }
    }
    if (fmt == STATS_JSON) {
        fprintf(stderr, ",\"input_records\":%" PRIu64 ",\"bad_records\":%" PRIu64
                        ",\"elapsed_seconds\":%.3f,\"events_per_second\":%.0f,\"peak_rss_kib\":%ld}\n",
                r->lines, r->bad, secs, secs > 0 ? (double)r->events / secs : 0.0, ru.ru_maxrss);
    } else {
        fprintf(stderr, "# TYPE t1071_replay_input_records_total counter\nt1071_replay_input_records_total %" PRIu64 "\n", r->lines);
        fprintf(stderr, "# TYPE t1071_replay_bad_records_total counter\nt1071_replay_bad_records_total %" PRIu64 "\n", r->bad);
        fprintf(stderr, "# TYPE t1071_replay_elapsed_seconds gauge\nt1071_replay_elapsed_seconds %.3f\n", secs);
        fprintf(stderr, "# TYPE t1071_replay_events_per_second gauge\nt1071_replay_events_per_second %.0f\n",
                secs > 0 ? (double)r->events / secs : 0.0);
        fprintf(stderr, "# TYPE t1071_replay_peak_rss_bytes gauge\nt1071_replay_peak_rss_bytes %ld\n",
                ru.ru_maxrss * 1024L);
    }
}

static void
print_stats(const struct run *r, double secs)
{
    struct rusage ru;
    uint64_t v;

    if (r->stats_fmt != STATS_TEXT) {
        print_stats_machine(r, secs, r->stats_fmt);
        return;
    }
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, PROG ": stats:\n");
    for (int id = 0; t1071_stat_name(id); id++) {
        if (t1071_stats_get(r->ctx, id, &v) == T1071_OK)
            fprintf(stderr, "  %-24s %" PRIu64 "\n", t1071_stat_name(id), v);
    }
    fprintf(stderr, "  %-24s %" PRIu64 "\n", "input_records", r->lines);
    fprintf(stderr, "  %-24s %" PRIu64 "\n", "bad_records", r->bad);
    fprintf(stderr, "  %-24s %.3f\n", "elapsed_seconds", secs);
    fprintf(stderr, "  %-24s %.0f\n", "events_per_second",
            secs > 0 ? (double)r->events / secs : 0.0);
    fprintf(stderr, "  %-24s %ld\n", "peak_rss_kib", ru.ru_maxrss);
}

/* ===== Profiles ===== */

static int
load_profile(t1071_config *cfg, const char *name)
{
    const char *dirs[3];
    size_t nd = 0;
    char path[4096];

    if (!strcmp(name, "faithful"))
        return 0; /* the built-in defaults are the faithful profile */
    if (strchr(name, '/') || strchr(name, '.')) {
        fprintf(stderr, PROG ": --profile takes a name, not a path: %s\n", name);
        return 2;
    }
    if (getenv("T1071_PROFILE_PATH"))
        dirs[nd++] = getenv("T1071_PROFILE_PATH");
    dirs[nd++] = T1071_PROFILE_DIR_INSTALLED;
    dirs[nd++] = T1071_PROFILE_DIR_SOURCE;
    for (size_t i = 0; i < nd; i++) {
        snprintf(path, sizeof(path), "%s/%s.ini", dirs[i], name);
        if (access(path, R_OK) == 0) {
            int rc = t1071_config_load_file(cfg, path);
            if (rc != T1071_OK) {
                fprintf(stderr, PROG ": profile %s: %s\n", name, t1071_config_errmsg(cfg));
                return 1;
            }
            rc = t1071_config_set(cfg, "rule.profile", name);
            return rc == T1071_OK ? 0 : 1;
        }
    }
    fprintf(stderr, PROG ": unknown profile \"%s\" (faithful is built in; others are NAME.ini in "
                    "$T1071_PROFILE_PATH or %s)\n", name, T1071_PROFILE_DIR_INSTALLED);
    return 2;
}

/* ===== Rules ===== */

/* --rule FILE: the first replaces the config's rule, later ones are added
 * beside it (an EQL file is named after its file, a Sigma rule after its
 * title).  Returns 0, or 2 after saying what is wrong. */
static int
add_rule_file(t1071_config *cfg, const char *path, bool first)
{
    char *text = NULL, *name = NULL;
    size_t len = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    int rc;

    if (!f) {
        fprintf(stderr, PROG ": --rule %s: %s\n", path, strerror(errno));
        return 2;
    }
    for (;;) {
        size_t n;
        if (len + 4096 + 1 > cap) {
            char *nt;
            cap = cap ? cap * 2 : 8192;
            nt = realloc(text, cap);
            if (!nt) {
                fclose(f);
                free(text);
                fprintf(stderr, PROG ": out of memory\n");
                return 2;
            }
            text = nt;
        }
        n = fread(text + len, 1, 4096, f);
        len += n;
        if (n < 4096 || len > (1u << 20))
            break;
    }
    fclose(f);
    text[len] = '\0';
    if (strlen(text) != len) {
        fprintf(stderr, PROG ": --rule %s: the file holds a NUL byte\n", path);
        free(text);
        return 2;
    }
    if (first) {
        rc = t1071_config_set_rule(cfg, text);
    } else {
        const char *base = strrchr(path, '/');
        size_t bl;
        base = base ? base + 1 : path;
        bl = strlen(base);
        if (bl > 4 && !strcmp(base + bl - 4, ".eql"))
            name = strndup(base, bl - 4);
        rc = t1071_config_add_rule(cfg, name, text);
    }
    if (rc != T1071_OK)
        fprintf(stderr, PROG ": --rule %s: %s\n", path, t1071_config_errmsg(cfg));
    free(name);
    free(text);
    return rc == T1071_OK ? 0 : 2;
}

/* ===== Main ===== */

static int
run_sample(t1071_config *cfg, bool stats)
{
    struct run r = {0};
    FILE *f;
    int rc;
    uint64_t matched = 0, hosts = 0;
    double t0 = now_s();

    if (t1071_init(&r.ctx, cfg) != T1071_OK)
        return 1;
    replay_shapes_init(&r.shapes, cfg);
    r.out = OUT_SUMMARY;
    printf("libt1071detect %s: replaying the bundled sample (%zu bytes of ECS NDJSON:\n"
           "an implant beaconing among browsers, DNS, SSH and inbound RDP)\n\n",
           t1071_version_string(), t1071_sample_ndjson_len);
    f = fmemopen((void *)t1071_sample_ndjson, t1071_sample_ndjson_len, "r");
    if (!f) {
        t1071_free(r.ctx);
        return 1;
    }
    rc = for_each_line(&r, f, ndjson_line);
    fclose(f);
    if (rc == 0)
        rc = finish(&r);
    t1071_stats_get(r.ctx, T1071_STAT_EVENTS_MATCHED, &matched);
    t1071_stats_get(r.ctx, T1071_STAT_HOSTS, &hosts);
    printf("\n%" PRIu64 " events from %" PRIu64 " hosts, %" PRIu64
           " matched the rule, %" PRIu64 " alerts (overlapping 10-connection sequences).\n"
           "Try: " PROG " --output alerts FILE.ndjson   (ECS JSON alerts, one per line)\n",
           r.events, hosts, matched, r.alerts);
    if (stats)
        print_stats(&r, now_s() - t0);
    t1071_free(r.ctx);
    replay_shapes_free(&r.shapes);
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    t1071_config *cfg = NULL;
    enum input_fmt in = IN_NDJSON;
    struct run r = {0};
    const char *file = NULL, *profile = NULL, *report_path = NULL, *config_file = NULL;
    unsigned long long report_keys = REPORT_DEFAULT_KEYS;
    bool stats = false, encode = false, sample = false, any_arg = argc > 1;
    unsigned n_rules = 0;
    const char *order = NULL, *pre_file = NULL; /* --order; the input as the first pass sees it */
    bool pre_sample = !any_arg && isatty(STDIN_FILENO), time_order;
    size_t sort_memory = RO_DEFAULT_BUDGET;
    FILE *f = stdin;
    const char *output_file = NULL; /* --output-file */
    bool state_existed;
    int rc, exit_code = 0;
    double t0;

    r.out = OUT_ALERTS;
    rs_init(&r.rs);
#if defined(M_TRIM_THRESHOLD)
    /* Each poll hands over up to engine.alert_queue alerts and their JSON
     * (some 10 MB), freed together once written.  glibc would give that
     * top of the heap back to the kernel every time and fault it in again
     * for the next batch: a fifth of `--output alerts` was the kernel
     * clearing pages.  Keep up to 64 MiB of freed heap for reuse instead
     * (a process-wide choice, so the tool's, never the library's). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    if (t1071_config_new(&cfg) != T1071_OK) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    /* Two passes: the profile first, so --config and --set override it. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile")) {
            if (++i >= argc) {
                fprintf(stderr, PROG ": --profile needs a value\n");
                usage(stderr);
                t1071_config_free(cfg);
                return 2;
            }
            profile = argv[i];
        } else if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "--set") ||
                   !strcmp(argv[i], "--rule") ||
                   !strcmp(argv[i], "--input") || !strcmp(argv[i], "--output") ||
                   !strcmp(argv[i], "--state") || !strcmp(argv[i], "--checkpoint-every") ||
                   !strcmp(argv[i], "--output-file") ||
                   !strcmp(argv[i], "--stats-format") || !strcmp(argv[i], "--sort-memory") ||
                   !strcmp(argv[i], "--source") ||
                   !strcmp(argv[i], "--report") || !strcmp(argv[i], "--report-keys")) {
            i++;
        } else if (!strcmp(argv[i], "--order")) {
            if (i + 1 < argc)
                order = argv[++i];
        } else if (!strcmp(argv[i], "--sample") || !strcmp(argv[i], "--encode")) {
            pre_sample = true; /* no detection from an input: no streaming default */
        } else if (argv[i][0] != '-' || !strcmp(argv[i], "-")) {
            pre_file = argv[i];
        }
    }
    /* A regular FILE is read whole and detected in event-time order; stdin
     * and pipes stream, and a stream gets the CLI's own default lateness
     * (README "Time"), set before the profile, --config and --set so that
     * any of them overrides it. */
    {
        struct stat st;
        time_order = order ? !strcmp(order, "time")
                           : pre_file && strcmp(pre_file, "-") && stat(pre_file, &st) == 0 &&
                                 S_ISREG(st.st_mode);
        if (!time_order && !pre_sample &&
            t1071_config_set(cfg, "engine.lateness", REPLAY_STREAM_LATENESS) != T1071_OK) {
            fprintf(stderr, PROG ": %s\n", t1071_config_errmsg(cfg));
            t1071_config_free(cfg);
            return 1;
        }
    }
    if (profile && (rc = load_profile(cfg, profile)) != 0) {
        t1071_config_free(cfg);
        return rc;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--profile") || !strcmp(a, "--config") || !strcmp(a, "--set") ||
                     !strcmp(a, "--rule") ||
                     !strcmp(a, "--input") || !strcmp(a, "--output") || !strcmp(a, "--state") ||
                     !strcmp(a, "--checkpoint-every") || !strcmp(a, "--stats-format") ||
                     !strcmp(a, "--output-file") ||
                     !strcmp(a, "--order") || !strcmp(a, "--sort-memory") ||
                     !strcmp(a, "--source") ||
                     !strcmp(a, "--report") || !strcmp(a, "--report-keys");
        if (takes && !v) {
            fprintf(stderr, PROG ": %s needs a value\n", a);
            usage(stderr);
            exit_code = 2;
            goto out;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            goto out;
        } else if (!strcmp(a, "--version")) {
            printf(PROG " %s\n", t1071_version_string());
            goto out;
        } else if (!strcmp(a, "--profile")) {
            i++;
        } else if (!strcmp(a, "--config")) {
            if (t1071_config_load_file(cfg, v) != T1071_OK) {
                fprintf(stderr, PROG ": --config: %s\n", t1071_config_errmsg(cfg));
                exit_code = 2;
                goto out;
            }
            config_file = v;
            i++;
        } else if (!strcmp(a, "--set")) {
            char *eq = strchr(v, '='), *key;
            if (!eq) {
                fprintf(stderr, PROG ": --set expects SECTION.KEY=VALUE, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            key = strndup(v, (size_t)(eq - v));
            rc = key ? t1071_config_set(cfg, key, eq + 1) : T1071_E_NOMEM;
            free(key);
            if (rc != T1071_OK) {
                fprintf(stderr, PROG ": --set: %s\n", t1071_config_errmsg(cfg));
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--rule")) {
            if (add_rule_file(cfg, v, n_rules++ == 0) != 0) {
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--source")) {
            if (t1071_config_set(cfg, "input.source", v) != T1071_OK) {
                fprintf(stderr, PROG ": --source must be auto, ecs, sysmon, zeek or suricata, "
                                "got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--input")) {
            if (!strcmp(v, "ndjson"))
                in = IN_NDJSON;
            else if (!strcmp(v, "pb"))
                in = IN_PB;
            else {
                fprintf(stderr, PROG ": --input must be ndjson or pb, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--output")) {
            if (!strcmp(v, "alerts"))
                r.out = OUT_ALERTS;
            else if (!strcmp(v, "sequences"))
                r.out = OUT_SEQUENCES;
            else if (!strcmp(v, "pb"))
                r.out = OUT_PB;
            else if (!strcmp(v, "none"))
                r.out = OUT_NONE;
            else {
                fprintf(stderr, PROG ": --output must be alerts, sequences, pb or none, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--state")) {
            r.state = v;
            i++;
        } else if (!strcmp(a, "--output-file")) {
            output_file = v;
            i++;
        } else if (!strcmp(a, "--checkpoint-every")) {
            char *end;
            errno = 0;
            r.checkpoint_every = strtoull(v, &end, 10);
            if (errno || *end || !*v || v[0] == '-' || r.checkpoint_every == 0) {
                fprintf(stderr, PROG ": --checkpoint-every expects a positive integer, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--stats-format")) {
            if (!strcmp(v, "text"))
                r.stats_fmt = STATS_TEXT;
            else if (!strcmp(v, "json"))
                r.stats_fmt = STATS_JSON;
            else if (!strcmp(v, "prometheus"))
                r.stats_fmt = STATS_PROMETHEUS;
            else {
                fprintf(stderr, PROG ": --stats-format must be text, json or prometheus, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            stats = true;
            i++;
        } else if (!strcmp(a, "--report")) {
            report_path = v;
            i++;
        } else if (!strcmp(a, "--report-keys")) {
            char *end;
            errno = 0;
            report_keys = strtoull(v, &end, 10);
            if (errno || *end || !*v || v[0] == '-' || report_keys == 0) {
                fprintf(stderr, PROG ": --report-keys expects a positive integer, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--order")) {
            if (strcmp(v, "time") && strcmp(v, "arrival")) {
                fprintf(stderr, PROG ": --order must be time or arrival, got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--sort-memory")) {
            if (!ro_parse_size(v, &sort_memory) || sort_memory < 1024) {
                fprintf(stderr, PROG ": --sort-memory expects a size of at least 1KiB (B, KiB, MiB, "
                                "GiB), got \"%s\"\n", v);
                exit_code = 2;
                goto out;
            }
            i++;
        } else if (!strcmp(a, "--flush")) {
            r.flush = true;
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (!strcmp(a, "--encode")) {
            encode = true;
        } else if (!strcmp(a, "--sample")) {
            sample = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, PROG ": unknown option %s\n", a);
            usage(stderr);
            exit_code = 2;
            goto out;
        } else if (file) {
            fprintf(stderr, PROG ": only one input file, got %s and %s\n", file, a);
            exit_code = 2;
            goto out;
        } else {
            file = a;
        }
    }

    replay_shapes_init(&r.shapes, cfg);
    if (sample || (!any_arg && isatty(STDIN_FILENO))) {
        if (output_file && rs_open_output(&r.rs, output_file, false, PROG) != 0) {
            exit_code = 1;
            goto out;
        }
        exit_code = run_sample(cfg, stats);
        goto out;
    }
    if (file && strcmp(file, "-")) {
        f = fopen(file, "rb");
        if (!f) {
            fprintf(stderr, PROG ": %s: %s\n", file, strerror(errno));
            exit_code = 1;
            goto out;
        }
    }
    t0 = now_s();
    if (encode) {
        if (output_file && rs_open_output(&r.rs, output_file, false, PROG) != 0) {
            exit_code = 1;
            goto out;
        }
        rc = for_each_line(&r, f, encode_line);
        if (r.bad)
            fprintf(stderr, PROG ": %" PRIu64 " bad lines skipped\n", r.bad);
        if (fflush(stdout) != 0 || r.write_failed) {
            fprintf(stderr, PROG ": write error: %s\n", strerror(errno));
            rc = -1;
        }
        exit_code = rc == 0 ? 0 : 1;
        goto out;
    }
    if (r.checkpoint_every && !r.state) {
        fprintf(stderr, PROG ": --checkpoint-every needs --state FILE\n");
        exit_code = 2;
        goto out;
    }
    state_existed = r.state && access(r.state, F_OK) == 0;
    if (r.state) {
        if (load_state(&r, cfg) != 0) {
            exit_code = 1;
            goto out;
        }
    } else if ((rc = t1071_init(&r.ctx, cfg)) != T1071_OK) {
        fprintf(stderr, PROG ": init: %s\n", t1071_strerror(rc));
        exit_code = 1;
        goto out;
    }
    if (report_path && !(r.report = report_new(report_path, (size_t)report_keys))) {
        fprintf(stderr, PROG ": out of memory\n");
        exit_code = 1;
        goto out;
    }
    /* Exactly-once resume (replay-state.c): where this input starts, and
     * the output file cut back to the last checkpoint.  Alerts are written
     * one whole line per write() (drain()). */
    if ((r.state && rs_begin(&r.rs, f, file ? file : "stdin", time_order, PROG) != 0) ||
        (output_file && rs_open_output(&r.rs, output_file, state_existed, PROG) != 0)) {
        exit_code = 1;
        goto out;
    }
    r.in = f;
    if (r.out != OUT_PB)
        setvbuf(stdout, NULL, _IOFBF, 4u << 20); /* a line up to 4 MiB is one write() */
    rp_init(&r.prog, f, t0);
    if (r.out != OUT_NONE && isatty(STDOUT_FILENO))
        r.prog.tty = false; /* alerts on the terminal: a progress line would cut into them */
    if (time_order) {
        r.sorter = ro_new(sort_memory, RO_DEFAULT_FANIN);
        if (!r.sorter) {
            fprintf(stderr, PROG ": out of memory\n");
            exit_code = 1;
            goto out;
        }
        rp_phase(&r.prog, "reading", 0);
    }
    rc = in == IN_PB ? read_pb_mapped(&r, f) : for_each_line(&r, f, ndjson_line);
    if (in == IN_PB && rc == 1)
        rc = read_pb(&r, f);
    if (rc == STOP_READING)
        rc = 0;
    if (rc == 0 && r.sorter)
        rc = feed_sorted(&r, in == IN_PB ? "record" : "line");
    if (rc == 0) {
        r.rs.completed = true;
        rc = finish(&r);
    }
    rp_end(&r.prog, r.ctx);
    if (rc == 0 && r.report) {
        struct report_run run = {
            .input = file ? file : "-",
            .profile = profile ? profile : config_file ? config_file : "faithful",
            .lines = r.lines, .events = r.events, .bad = r.bad, .seconds = now_s() - t0,
        };
        if (report_write(r.report, r.ctx, &run) != 0)
            rc = -1;
    }
    if (r.bad)
        fprintf(stderr, PROG ": %" PRIu64 " bad %s skipped\n", r.bad,
                in == IN_PB ? "records" : "lines");
    if (stats)
        print_stats(&r, now_s() - t0);
    if (fflush(stdout) != 0 || r.write_failed) {
        fprintf(stderr, PROG ": write error: %s\n", strerror(errno));
        rc = -1;
    }
    exit_code = rc == 0 ? replay_shapes_report(&r.shapes, r.ctx, r.alerts, stderr) : 1;
out:
    ro_free(r.sorter);
    if (r.map)
        munmap(r.map, r.map_len);
    replay_shapes_free(&r.shapes);
    if (f && f != stdin)
        fclose(f);
    report_free(r.report);
    t1071_free(r.ctx);
    t1071_config_free(cfg);
    return exit_code;
}
