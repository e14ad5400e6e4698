/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flb-filter_t1071.so: a native Fluent Bit filter that runs every record
 * through libt1071detect (Elastic Security's T1071 beaconing rule) and emits
 * each alert as a record of its own, under its own tag.
 *
 *   fluent-bit -e /path/flb-filter_t1071.so -c fluent-bit.conf
 *
 *   [FILTER]
 *       Name             t1071
 *       Match            ecs.*
 *       alert_tag        t1071.alerts
 *       engine.lateness  5s
 *
 * Records reach the library through t1071_feed_msgpack(): the record's
 * msgpack map, the bytes Fluent Bit holds, with no JSON round trip, read by
 * the same record mapping (ECS nested or dotted, Suricata EVE, Sysmon, Zeek)
 * as the library's JSON entry points.  With fill_timestamp, a record without
 * a date is fed as a copy of its map with "@timestamp" added first.
 *
 * Alerts are appended, synchronously, to a private "emitter" input instance
 * that this filter owns (as rewrite_tag does), with the tag alert_tag.  They
 * never wait in the emitter's own queue, so a shutdown cannot lose them
 * there (see README.md, "shutdown").  When the record came from a threaded
 * input (the filter then runs on that input's thread), alerts are queued
 * here and appended by this filter's timer on the engine thread.
 *
 * Built against a configured Fluent Bit source tree (meson options
 * fluent_bit_source / fluent_bit_build): Fluent Bit copies the plugin
 * struct by value and its layouts depend on the generated flb_info.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fluent-bit/flb_filter_plugin.h>
#include <fluent-bit/flb_config.h>
#include <fluent-bit/flb_config_map.h>
#include <fluent-bit/flb_input.h>
#include <fluent-bit/flb_input_log.h>
#include <fluent-bit/flb_kv.h>
#include <fluent-bit/flb_log_event_encoder.h>
#include <fluent-bit/flb_mem.h>
#include <fluent-bit/flb_pack.h>
#include <fluent-bit/flb_scheduler.h>
#include <fluent-bit/flb_storage.h>
#include <fluent-bit/flb_time.h>
#include <fluent-bit/flb_utils.h>
#include <msgpack.h>

#include <t1071/t1071detect.h>

#ifndef T1071_PROFILE_DIR
#define T1071_PROFILE_DIR "/usr/local/share/t1071/profiles"
#endif

#define TICK_MS 200           /* timer: idle flush, queued alerts, shutdown */
#define QUEUE_FULL_TRIES 8

struct t1071_filter {
    struct flb_filter_instance *ins;
    struct flb_config *config;

    /* Properties (config map). */
    flb_sds_t alert_tag;
    int keep_records;
    flb_sds_t bad_records;
    flb_sds_t mark;
    int fill_timestamp;
    int idle_flush;
    flb_sds_t flush_on_exit;
    flb_sds_t state_file;
    flb_sds_t profile;
    flb_sds_t profile_path;
    struct mk_list *config_files;
    struct mk_list *rule_files;
    flb_sds_t emitter_name;
    size_t emitter_mem_buf_limit;

    /* Derived settings. */
    int drop_bad;
    int exit_flush;            /* advance to the end of time at shutdown */
    size_t max_event_bytes;
    char *mark_json;           /* ,"mark":true  (NULL: no mark) */
    size_t mark_json_len;

    /* Runtime. */
    pthread_mutex_t lock;      /* ctx, counters, pending: filter vs timer */
    t1071_ctx *ctx;
    struct flb_input_instance *emitter;
    struct flb_sched_timer *timer;
    char *scratch;             /* fill_timestamp: the map with @timestamp, reused */
    size_t scratch_cap;
    int64_t newest_ms;         /* newest accepted event time */
    int64_t advanced_ms;       /* last idle-flush watermark */
    uint64_t last_activity_ms; /* monotonic time of the last record */
    int exit_done;
    uint64_t exit_records;     /* records when the shutdown flush ran */
    pthread_t engine_thread;   /* cb_init and the timer run there */
    msgpack_sbuffer pending;   /* alerts from threaded inputs, encoded */
    size_t pending_n;
    int cycle_reported;

    /* Counters (README "counters"). */
    uint64_t records, fed, bad, bad_not_map, bad_no_time, bad_json,
             bad_too_large, bad_other, passed, dropped, alerts,
             alerts_emitted, alerts_lost, queue_full, idle_flushes,
             own_records;
};

/* ===== Small helpers ===== */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* ECS dates as the library reads them (lib/timefmt.c): YYYY-MM-DD[THH:MM
 * [:SS[.fff]]][Z|+HH[:MM]].  Used only to know the newest event time for
 * the idle flush; the library parses every record itself. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

static int digits(const char **p, const char *end, int n)
{
    int v = 0;
    int i;

    if (end - *p < n) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) (*p)[i];
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int parse_time(const char *s, size_t n, int64_t *out)
{
    const char *p = s, *end = s + n;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;

    y = digits(&p, end, 4);
    if (y < 1 || p >= end || *p++ != '-') {
        return -1;
    }
    mo = digits(&p, end, 2);
    if (mo < 1 || mo > 12 || p >= end || *p++ != '-') {
        return -1;
    }
    d = digits(&p, end, 2);
    if (d < 1 || d > 31) {
        return -1;
    }
    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ') {
            return -1;
        }
        p++;
        h = digits(&p, end, 2);
        if (h < 0 || h > 23 || p >= end || *p++ != ':') {
            return -1;
        }
        mi = digits(&p, end, 2);
        if (mi < 0 || mi > 59) {
            return -1;
        }
        if (p < end && *p == ':') {
            int k = 0;
            p++;
            sec = digits(&p, end, 2);
            if (sec < 0 || sec > 59) {
                return -1;
            }
            if (p < end && *p == '.') {
                p++;
                for (; p < end && *p >= '0' && *p <= '9'; p++, k++) {
                    if (k < 3) {
                        ms = ms * 10 + (*p - '0');
                    }
                }
                for (; k < 3; k++) {
                    ms *= 10;
                }
            }
        }
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
        }
        else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p++ == '+' ? 1 : -1, oh, om = 0;
            oh = digits(&p, end, 2);
            if (oh < 0 || oh > 23) {
                return -1;
            }
            if (p < end && *p == ':') {
                p++;
            }
            if (p < end) {
                om = digits(&p, end, 2);
                if (om < 0 || om > 59) {
                    return -1;
                }
            }
            off = sign * (oh * 60 + om);
        }
        if (p != end) {
            return -1;
        }
    }
    *out = days_from_civil(y, (unsigned) mo, (unsigned) d) * INT64_C(86400000) +
           ((int64_t) h * 3600 + mi * 60 + sec) * 1000 + ms - (int64_t) off * 60000;
    return 0;
}

/* ===== Raw msgpack ===== */

static uint64_t be_uint(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* The end of the msgpack value at @p p, NULL when it is broken or runs
 * past @p end.  No recursion: a count of the values still to step over. */
static const unsigned char *mp_skip(const unsigned char *p, const unsigned char *end)
{
    uint64_t pending = 1;

    while (pending > 0) {
        unsigned c, w = 0;
        uint64_t n = 0, payload = 0;
        size_t head = 1;

        if (p >= end) {
            return NULL;
        }
        pending--;
        c = *p;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            p++;
            continue;
        }
        if (c >= 0xa0 && c <= 0xbf) {
            payload = c & 0x1f;
        }
        else if (c >= 0x80 && c <= 0x9f) {
            n = c & 0x0f;
            pending += c <= 0x8f ? 2 * n : n;
            if (n > (size_t) (end - p)) {
                return NULL;
            }
        }
        else {
            switch (c) {
            case 0xc4: case 0xd9: case 0xc7: w = 1; break;
            case 0xc5: case 0xda: case 0xc8: w = 2; break;
            case 0xc6: case 0xdb: case 0xc9: w = 4; break;
            case 0xca: case 0xce: case 0xd2: payload = 4; break;
            case 0xcb: case 0xcf: case 0xd3: payload = 8; break;
            case 0xcc: case 0xd0: payload = 1; break;
            case 0xcd: case 0xd1: payload = 2; break;
            case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
                payload = 1 + ((uint64_t) 1 << (c - 0xd4));
                break;
            case 0xdc: case 0xde: w = 2; break;
            case 0xdd: case 0xdf: w = 4; break;
            default:
                return NULL; /* 0xc1 */
            }
            if (w) {
                if ((size_t) (end - p) < 1 + (size_t) w) {
                    return NULL;
                }
                n = be_uint(p + 1, w);
                head += w;
                if (c >= 0xdc) {
                    if (n > (size_t) (end - p)) {
                        return NULL;
                    }
                    pending += c >= 0xde ? 2 * n : n;
                }
                else {
                    payload = n + (c >= 0xc7 && c <= 0xc9); /* ext: its type byte */
                }
            }
        }
        if (payload > (uint64_t) (end - p) - head) {
            return NULL;
        }
        p += head + payload;
    }
    return p;
}

/* One record of a chunk, read in place (no unpacking): [[time, metadata],
 * body] or the older [time, body]. */
struct raw_record {
    const char *base;          /* the whole record */
    size_t len;
    const char *body;          /* its body, a map */
    size_t body_len;
    struct flb_time tm;        /* its Fluent Bit time */
    int group;                 /* a group start / end marker */
    const unsigned char *ts;   /* the body's "@timestamp" value, or NULL */
    const unsigned char *eve;  /* its "timestamp" value (EVE), or NULL */
};

/* A str value's bytes, or -1 when it is not a str. */
static int raw_str(const unsigned char *p, const unsigned char *end, const char **s,
                   size_t *n)
{
    size_t h;

    if (p >= end) {
        return -1;
    }
    if ((p[0] & 0xe0) == 0xa0) {
        *n = p[0] & 0x1f;
        h = 1;
    }
    else if (p[0] == 0xd9 && end - p >= 2) {
        *n = p[1];
        h = 2;
    }
    else if (p[0] == 0xda && end - p >= 3) {
        *n = (size_t) be_uint(p + 1, 2);
        h = 3;
    }
    else if (p[0] == 0xdb && end - p >= 5) {
        *n = (size_t) be_uint(p + 1, 4);
        h = 5;
    }
    else {
        return -1;
    }
    if (*n > (size_t) (end - p) - h) {
        return -1;
    }
    *s = (const char *) p + h;
    return 0;
}

/* A map's entry count and where its first entry starts, or -1. */
static int raw_map(const unsigned char *p, const unsigned char *end, uint64_t *n,
                   const unsigned char **first)
{
    if (p >= end) {
        return -1;
    }
    if (p[0] >= 0x80 && p[0] <= 0x8f) {
        *n = p[0] & 0x0f;
        *first = p + 1;
    }
    else if (p[0] == 0xde && end - p >= 3) {
        *n = be_uint(p + 1, 2);
        *first = p + 3;
    }
    else if (p[0] == 0xdf && end - p >= 5) {
        *n = be_uint(p + 1, 4);
        *first = p + 5;
    }
    else {
        return -1;
    }
    return 0;
}

/* The record at @p p (the chunk ends at @p rec_end): 0 and *r filled, the
 * body's top-level keys walked once for its end and its time keys; -1 when
 * it is not a log event with a map body (Fluent Bit's decoder refuses
 * those too) or is cut. */
static int raw_record(const unsigned char *p, const unsigned char *rec_end,
                      struct raw_record *r)
{
    const unsigned char *ts, *q, *first, *start = p;
    uint64_t n, i;
    const char *s;
    size_t sn;

    r->base = (const char *) p;
    r->group = 0;
    r->ts = r->eve = NULL;
    if (p[0] == 0x92) {
        p += 1;
    }
    else if (p[0] == 0xdc && rec_end - p >= 3 && p[1] == 0 && p[2] == 2) {
        p += 3;
    }
    else if (p[0] == 0xdd && rec_end - p >= 5 && be_uint(p + 1, 4) == 2) {
        p += 5;
    }
    else {
        return -1;
    }
    /* The header: [time, metadata map] or the time alone. */
    ts = p;
    if (p < rec_end && p[0] == 0x92) {
        ts = p + 1;
        q = mp_skip(ts, rec_end);
        if (!q || raw_map(q, rec_end, &n, &first) != 0) {
            return -1;
        }
    }
    q = mp_skip(p, rec_end);
    if (!q || raw_map(q, rec_end, &n, &first) != 0) {
        return -1;
    }
    r->body = (const char *) q;
    for (i = 0, p = first; i < n; i++) {
        const unsigned char *v = mp_skip(p, rec_end);

        if (!v || v >= rec_end) {
            return -1;
        }
        if (raw_str(p, rec_end, &s, &sn) == 0) {
            if (sn == 10 && memcmp(s, "@timestamp", 10) == 0) {
                r->ts = v;
            }
            else if (sn == 9 && memcmp(s, "timestamp", 9) == 0) {
                r->eve = v;
            }
        }
        p = mp_skip(v, rec_end);
        if (!p) {
            return -1;
        }
    }
    r->body_len = (size_t) (p - q);
    r->len = (size_t) (p - start);
    /* The time: EventTime (ext 0 of 8 bytes), an integer or a float;
     * seconds 0xffffffff / 0xfffffffe, or a negative integer, mark groups. */
    if ((ts[0] == 0xd7 && ts[1] == 0) ||
        (ts[0] == 0xc7 && ts[1] == 8 && ts[2] == 0)) {
        const unsigned char *v = ts + (ts[0] == 0xd7 ? 2 : 3);
        uint64_t sec = be_uint(v, 4);

        r->group = sec >= UINT32_MAX - 1;
        r->tm.tm.tv_sec = (time_t) sec;
        r->tm.tm.tv_nsec = (long) be_uint(v + 4, 4);
    }
    else if (ts[0] <= 0x7f || (ts[0] >= 0xcc && ts[0] <= 0xcf)) {
        r->tm.tm.tv_sec = (time_t) (ts[0] <= 0x7f ? ts[0]
                                                  : be_uint(ts + 1, 1u << (ts[0] & 3)));
        r->tm.tm.tv_nsec = 0;
    }
    else if (ts[0] >= 0xe0 || (ts[0] >= 0xd0 && ts[0] <= 0xd3)) {
        r->group = 1;
        r->tm.tm.tv_sec = 0;
        r->tm.tm.tv_nsec = 0;
    }
    else if (ts[0] == 0xcb || ts[0] == 0xca) {
        double d;

        if (ts[0] == 0xcb) {
            uint64_t u = be_uint(ts + 1, 8);
            memcpy(&d, &u, 8);
        }
        else {
            uint32_t u = (uint32_t) be_uint(ts + 1, 4);
            float fl;
            memcpy(&fl, &u, 4);
            d = fl;
        }
        if (!(d >= 0 && d < 1e15)) {
            return -1;
        }
        r->tm.tm.tv_sec = (time_t) d;
        r->tm.tm.tv_nsec = (long) ((d - (double) r->tm.tm.tv_sec) * 1e9);
    }
    else {
        return -1;
    }
    return 0;
}

/* The record's event time: top-level "@timestamp", else "timestamp" (EVE);
 * a string date or a non-negative number of ms.  Returns 0 and sets *ms
 * when found; *has_any when either key is there. */
static int record_time(const struct raw_record *r, int64_t *ms, int *has_any)
{
    const unsigned char *end = (const unsigned char *) r->body + r->body_len;
    const unsigned char *ts = r->ts, *eve = r->eve;
    uint64_t u;
    const char *s;
    size_t sn;
    unsigned w;

    *has_any = ts != NULL || eve != NULL;
    if (!ts) {
        ts = eve;
    }
    if (!ts) {
        return -1;
    }
    if (raw_str(ts, end, &s, &sn) == 0) {
        return parse_time(s, sn, ms);
    }
    if (ts[0] <= 0x7f) {
        *ms = ts[0];
        return 0;
    }
    if (!((ts[0] >= 0xcc && ts[0] <= 0xcf) || (ts[0] >= 0xd0 && ts[0] <= 0xd3))) {
        return -1;
    }
    w = 1u << (ts[0] & 3);
    if ((size_t) (end - ts) <= w) {
        return -1;
    }
    u = be_uint(ts + 1, w);
    if (ts[0] >= 0xd0 && (u >> (8 * w - 1)) != 0) {
        return -1; /* a negative signed integer */
    }
    if (u > INT64_MAX) {
        return -1;
    }
    *ms = (int64_t) u;
    return 0;
}

/* With fill_timestamp and no date in the record: the map of @p body with
 * "@timestamp" (the record's Fluent Bit time) first, in f->scratch.
 * Returns 0 and sets *out / *out_len, or -1 (out of memory, not a map). */
static int record_with_time(struct t1071_filter *f, const char *body, size_t body_len,
                            const struct flb_time *tm, const char **out, size_t *out_len)
{
    const unsigned char *p = (const unsigned char *) body;
    uint64_t n;
    size_t head, need;
    char ts[32];
    struct tm g;
    time_t sec = tm->tm.tv_sec;
    int tn;
    unsigned char *o;

    if (body_len < 1) {
        return -1;
    }
    if (p[0] >= 0x80 && p[0] <= 0x8f) {
        n = p[0] & 0x0f;
        head = 1;
    }
    else if (p[0] == 0xde && body_len >= 3) {
        n = be_uint(p + 1, 2);
        head = 3;
    }
    else if (p[0] == 0xdf && body_len >= 5) {
        n = be_uint(p + 1, 4);
        head = 5;
    }
    else {
        return -1;
    }
    if (n >= UINT32_MAX) {
        return -1;
    }
    gmtime_r(&sec, &g);
    tn = snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                  g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour, g.tm_min,
                  g.tm_sec, (long) (tm->tm.tv_nsec / 1000000));
    if (tn <= 0 || tn >= 32) {
        return -1;
    }
    /* map32 head, fixstr "@timestamp", fixstr date, the old entries */
    need = 5 + 11 + 1 + (size_t) tn + (body_len - head);
    if (need > f->scratch_cap) {
        char *q = flb_realloc(f->scratch, need);
        if (!q) {
            return -1;
        }
        f->scratch = q;
        f->scratch_cap = need;
    }
    o = (unsigned char *) f->scratch;
    *o++ = 0xdf;
    n++;
    *o++ = (unsigned char) (n >> 24);
    *o++ = (unsigned char) (n >> 16);
    *o++ = (unsigned char) (n >> 8);
    *o++ = (unsigned char) n;
    *o++ = 0xaa;
    memcpy(o, "@timestamp", 10);
    o += 10;
    *o++ = (unsigned char) (0xa0 | tn);
    memcpy(o, ts, (size_t) tn);
    o += tn;
    memcpy(o, body + head, body_len - head);
    *out = f->scratch;
    *out_len = need;
    return 0;
}

/* ===== Alerts out ===== */

/* The alert's JSON (the library's own output: compact, valid UTF-8) as
 * msgpack, as Fluent Bit's JSON parser would write it (objects as maps,
 * integers as integers, other numbers as float64), without a DOM: heads of
 * maps, arrays and strings are written 32-bit wide and patched when their
 * end is reached.  Returns 0, or -1 on anything unexpected. */
struct mpbuf {
    unsigned char *p;
    size_t n, cap;
};

static int mb_room(struct mpbuf *b, size_t n)
{
    size_t cap;
    unsigned char *q;

    if (b->cap - b->n >= n) {
        return 0;
    }
    cap = b->cap ? b->cap : 4096;
    while (cap - b->n < n) {
        cap *= 2;
    }
    q = flb_realloc(b->p, cap);
    if (!q) {
        return -1;
    }
    b->p = q;
    b->cap = cap;
    return 0;
}

static void mb_be(struct mpbuf *b, uint64_t v, unsigned bytes)
{
    while (bytes-- > 0) {
        b->p[b->n++] = (unsigned char) (v >> (8 * bytes));
    }
}

static int hex4v(const char *p, unsigned *v)
{
    unsigned i, c;

    *v = 0;
    for (i = 0; i < 4; i++) {
        c = (unsigned char) p[i];
        if (c >= '0' && c <= '9') c -= '0';
        else if (c >= 'a' && c <= 'f') c -= 'a' - 10;
        else if (c >= 'A' && c <= 'F') c -= 'A' - 10;
        else return -1;
        *v = *v << 4 | c;
    }
    return 0;
}

static int j2m_value(const char **pp, const char *end, struct mpbuf *b, int depth);

/* A string at the opening quote: str32 head, the decoded bytes. */
static int j2m_string(const char **pp, const char *end, struct mpbuf *b)
{
    const char *p = *pp + 1;
    size_t head;

    if (mb_room(b, 5) != 0) {
        return -1;
    }
    b->p[b->n++] = 0xdb;
    head = b->n;
    b->n += 4;
    while (p < end && *p != '"') {
        const char *run = p;
        unsigned cp, lo;

        while (p < end && *p != '"' && *p != '\\') {
            p++;
        }
        if (mb_room(b, (size_t) (p - run) + 4) != 0) {
            return -1;
        }
        memcpy(b->p + b->n, run, (size_t) (p - run));
        b->n += (size_t) (p - run);
        if (p >= end || *p == '"') {
            break;
        }
        if (end - p < 2) {
            return -1;
        }
        switch (p[1]) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (end - p < 6 || hex4v(p + 2, &cp) != 0) {
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 12 && p[6] == '\\' &&
                p[7] == 'u' && hex4v(p + 8, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            p += 4;
            break;
        default: cp = (unsigned char) p[1]; break;
        }
        p += 2;
        if (cp < 0x80) {
            b->p[b->n++] = (unsigned char) cp;
        }
        else if (cp < 0x800) {
            b->p[b->n++] = (unsigned char) (0xC0 | cp >> 6);
            b->p[b->n++] = (unsigned char) (0x80 | (cp & 0x3F));
        }
        else if (cp < 0x10000) {
            b->p[b->n++] = (unsigned char) (0xE0 | cp >> 12);
            b->p[b->n++] = (unsigned char) (0x80 | (cp >> 6 & 0x3F));
            b->p[b->n++] = (unsigned char) (0x80 | (cp & 0x3F));
        }
        else {
            b->p[b->n++] = (unsigned char) (0xF0 | cp >> 18);
            b->p[b->n++] = (unsigned char) (0x80 | (cp >> 12 & 0x3F));
            b->p[b->n++] = (unsigned char) (0x80 | (cp >> 6 & 0x3F));
            b->p[b->n++] = (unsigned char) (0x80 | (cp & 0x3F));
        }
    }
    if (p >= end) {
        return -1;
    }
    {
        size_t len = b->n - head - 4, at = b->n;
        b->n = head;
        mb_be(b, len, 4);
        b->n = at;
    }
    *pp = p + 1;
    return 0;
}

static int j2m_value(const char **pp, const char *end, struct mpbuf *b, int depth)
{
    const char *p = *pp;

    if (p >= end || depth > 64 || mb_room(b, 9) != 0) {
        return -1;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        size_t head, count = 0, at;

        b->p[b->n++] = *p == '{' ? 0xdf : 0xdd;
        head = b->n;
        b->n += 4;
        p++;
        while (p < end && *p != close) {
            if (count > 0) {
                if (*p != ',') {
                    return -1;
                }
                p++;
            }
            if (close == '}') {
                if (p >= end || *p != '"' || j2m_string(&p, end, b) != 0 ||
                    p >= end || *p != ':') {
                    return -1;
                }
                p++;
            }
            if (j2m_value(&p, end, b, depth + 1) != 0) {
                return -1;
            }
            count++;
        }
        if (p >= end) {
            return -1;
        }
        at = b->n;
        b->n = head;
        mb_be(b, count, 4);
        b->n = at;
        *pp = p + 1;
        return 0;
    }
    if (*p == '"') {
        return j2m_string(pp, end, b);
    }
    if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
        b->p[b->n++] = 0xc3;
        *pp = p + 4;
        return 0;
    }
    if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
        b->p[b->n++] = 0xc2;
        *pp = p + 5;
        return 0;
    }
    if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
        b->p[b->n++] = 0xc0;
        *pp = p + 4;
        return 0;
    }
    {
        char num[64];
        const char *q = p;
        int real = 0;
        size_t n;

        while (q < end && (isdigit((unsigned char) *q) || *q == '-' || *q == '+' ||
                           *q == '.' || *q == 'e' || *q == 'E')) {
            real |= *q == '.' || *q == 'e' || *q == 'E';
            q++;
        }
        n = (size_t) (q - p);
        if (n == 0 || n >= sizeof(num)) {
            return -1;
        }
        memcpy(num, p, n);
        num[n] = '\0';
        errno = 0;
        if (!real && num[0] == '-') {
            long long v = strtoll(num, NULL, 10);
            real = errno != 0;
            if (!real) {
                b->p[b->n++] = 0xd3;
                mb_be(b, (uint64_t) v, 8);
            }
        }
        else if (!real) {
            unsigned long long v = strtoull(num, NULL, 10);
            real = errno != 0;
            if (!real) {
                b->p[b->n++] = 0xcf;
                mb_be(b, (uint64_t) v, 8);
            }
        }
        if (real) {
            double d = strtod(num, NULL);
            uint64_t u;
            memcpy(&u, &d, 8);
            b->p[b->n++] = 0xcb;
            mb_be(b, u, 8);
        }
        *pp = q;
        return 0;
    }
}

/* Encode every alert of @p batch as a record (body: the alert's ECS JSON
 * plus the mark) into @p enc.  Returns the number encoded. */
static size_t encode_alerts(struct t1071_filter *f, t1071_alert_batch *batch,
                            struct flb_log_event_encoder *enc)
{
    size_t i, n = t1071_alert_batch_count(batch), done = 0;
    struct flb_time now;
    char *text = NULL;
    size_t cap = 0;
    struct mpbuf mb = {NULL, 0, 0};

    flb_time_get(&now);
    for (i = 0; i < n; i++) {
        const char *json;
        size_t len, tlen;
        const char *jp;
        int ret;

        if (t1071_alert_batch_get_json(batch, i, &json, &len) != T1071_OK || len < 2) {
            f->alerts_lost++;
            continue;
        }
        /* {...} -> {...,"mark":true} */
        tlen = len + f->mark_json_len;
        if (tlen + 1 > cap) {
            char *p = flb_realloc(text, tlen + 1);
            if (!p) {
                f->alerts_lost++;
                continue;
            }
            text = p;
            cap = tlen + 1;
        }
        memcpy(text, json, len - 1);
        if (f->mark_json) {
            memcpy(text + len - 1, f->mark_json, f->mark_json_len);
        }
        text[tlen - 1] = '}';
        text[tlen] = '\0';
        jp = text;
        mb.n = 0;
        if (j2m_value(&jp, text + tlen, &mb, 0) != 0 || jp != text + tlen) {
            f->alerts_lost++;
            continue;
        }
        ret = flb_log_event_encoder_begin_record(enc);
        if (ret == FLB_EVENT_ENCODER_SUCCESS) {
            ret = flb_log_event_encoder_set_timestamp(enc, &now);
        }
        if (ret == FLB_EVENT_ENCODER_SUCCESS) {
            ret = flb_log_event_encoder_set_body_from_raw_msgpack(enc, (char *) mb.p, mb.n);
        }
        if (ret == FLB_EVENT_ENCODER_SUCCESS) {
            ret = flb_log_event_encoder_commit_record(enc);
        }
        if (ret != FLB_EVENT_ENCODER_SUCCESS) {
            flb_log_event_encoder_rollback_record(enc);
            f->alerts_lost++;
            continue;
        }
        done++;
    }
    flb_free(text);
    flb_free(mb.p);
    return done;
}

/* Append encoded alert records to the emitter (engine thread only). */
static void append_alerts(struct t1071_filter *f, const char *buf, size_t size, size_t n)
{
    int ret;

    if (n == 0 || size == 0) {
        return;
    }
    ret = flb_input_log_append(f->emitter, f->alert_tag, flb_sds_len(f->alert_tag),
                               buf, size);
    if (ret == 0) {
        f->alerts_emitted += n;
    }
    else {
        f->alerts_lost += n;
        flb_plg_error(f->ins, "%zu alert(s) could not be appended to '%s' "
                      "(emitter_mem_buf_limit reached?); counted in alerts_lost",
                      n, flb_input_name(f->emitter));
    }
}

/* Take every queued alert and send it on: directly when on the engine
 * thread, else into f->pending for the timer.  Lock held. */
static void drain(struct t1071_filter *f, int direct)
{
    t1071_alert_batch *batch = NULL;
    struct flb_log_event_encoder enc;
    size_t n;
    int rc;

    rc = t1071_poll_alerts(f->ctx, &batch);
    if (rc != T1071_OK || !batch) {
        if (rc != T1071_OK) {
            flb_plg_error(f->ins, "t1071_poll_alerts: %s", t1071_strerror(rc));
        }
        return;
    }
    f->alerts += t1071_alert_batch_count(batch);
    if (flb_log_event_encoder_init(&enc, FLB_LOG_EVENT_FORMAT_DEFAULT) != FLB_EVENT_ENCODER_SUCCESS) {
        f->alerts_lost += t1071_alert_batch_count(batch);
        t1071_alert_batch_free(batch);
        return;
    }
    n = encode_alerts(f, batch, &enc);
    t1071_alert_batch_free(batch);
    if (direct) {
        append_alerts(f, enc.output_buffer, enc.output_length, n);
    }
    else if (n > 0) {
        msgpack_sbuffer_write(&f->pending, enc.output_buffer, enc.output_length);
        f->pending_n += n;
    }
    flb_log_event_encoder_destroy(&enc);
}

static void drain_pending(struct t1071_filter *f)
{
    if (f->pending_n == 0) {
        return;
    }
    append_alerts(f, f->pending.data, f->pending.size, f->pending_n);
    msgpack_sbuffer_clear(&f->pending);
    f->pending_n = 0;
}

/* t1071_advance(t), polling when the queue is full.  Lock held. */
static void advance(struct t1071_filter *f, int64_t t, int direct)
{
    int i, rc = T1071_E_QUEUE_FULL;

    for (i = 0; i < 1000 && rc == T1071_E_QUEUE_FULL; i++) {
        rc = t1071_advance(f->ctx, t);
        if (rc == T1071_E_QUEUE_FULL) {
            drain(f, direct);
        }
    }
    if (rc != T1071_OK) {
        flb_plg_error(f->ins, "t1071_advance: %s", t1071_strerror(rc));
    }
    drain(f, direct);
}

/* ===== The timer (engine thread): queued alerts, idle flush, shutdown ===== */

/* The shutdown flush: every buffered event runs (advance to the newest
 * event time seen: all of them are at or before it, and a record still on
 * its way, a threaded input's ring buffer being drained, is not made late
 * by an end of time).  Repeated when records came since the last one. */
static void exit_flush(struct t1071_filter *f)
{
    if (f->exit_done && f->records == f->exit_records) {
        return;
    }
    f->exit_done = 1;
    f->exit_records = f->records;
    /* No record yet: a threaded input's may still be on their way, and an
     * end of time now would make them all late. */
    if (f->exit_flush && f->records > 0) {
        advance(f, f->newest_ms > INT64_MIN ? f->newest_ms : INT64_MAX, FLB_TRUE);
    }
    else {
        drain(f, FLB_TRUE);
    }
}

static void cb_tick(struct flb_config *config, void *data)
{
    struct t1071_filter *f = data;

    pthread_mutex_lock(&f->lock);
    drain_pending(f);
    if (config->is_shutting_down) {
        /* Fluent Bit is stopping (SIGTERM, Exit_On_Eof...): inputs are
         * paused, outputs still run for the grace period, and the engine
         * stops as soon as no chunk is left, a second after the stop at
         * the earliest: flush on this tick, so the alerts go out with the
         * last chunks.  Records of a threaded input may still come out of
         * its ring buffer (the engine filters them) after the stop: each
         * tick that saw new records flushes again. */
        exit_flush(f);
    }
    else if (f->idle_flush > 0 && f->newest_ms > f->advanced_ms &&
             mono_ms() - f->last_activity_ms >= (uint64_t) f->idle_flush * 1000) {
        advance(f, f->newest_ms, FLB_TRUE);
        f->advanced_ms = f->newest_ms;
        f->idle_flushes++;
    }
    pthread_mutex_unlock(&f->lock);
}

/* ===== Set-up ===== */

static int load_file(const char *path, char **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long size;

    if (!fp) {
        return -1;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return -1;
    }
    buf = flb_malloc((size_t) size + 1);
    if (!buf) {
        fclose(fp);
        return -1;
    }
    if (size > 0 && fread(buf, 1, (size_t) size, fp) != (size_t) size) {
        flb_free(buf);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    buf[size] = '\0';
    *out = buf;
    *len = (size_t) size;
    return 0;
}

static int is_library_key(const char *k)
{
    static const char *prefixes[] = {"rule.", "engine.", "beacon.", "tuning."};
    size_t i;

    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncasecmp(k, prefixes[i], strlen(prefixes[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The library config: profile, then config files, then library keys in
 * the order they are written, then rule files (as t1071-replay applies
 * --profile, --config, --set, --rule). */
static t1071_config *build_config(struct t1071_filter *f)
{
    t1071_config *cfg = NULL;
    struct mk_list *head;
    struct flb_config_map_val *mv;
    int rc, nrules = 0;

    if (t1071_config_new(&cfg) != T1071_OK) {
        flb_plg_error(f->ins, "t1071_config_new failed");
        return NULL;
    }
    if (f->profile && flb_sds_len(f->profile) > 0 && strcmp(f->profile, "faithful") != 0) {
        char path[PATH_MAX];
        if (strchr(f->profile, '/')) {
            snprintf(path, sizeof(path), "%s", f->profile);
        }
        else {
            snprintf(path, sizeof(path), "%s/%s.ini",
                     f->profile_path ? f->profile_path : T1071_PROFILE_DIR, f->profile);
#ifdef T1071_PROFILE_DIR_SOURCE
            /* Not installed: the profiles of the source tree it was built from. */
            if (access(path, R_OK) != 0 && f->profile_path &&
                strcmp(f->profile_path, T1071_PROFILE_DIR) == 0) {
                snprintf(path, sizeof(path), "%s/%s.ini", T1071_PROFILE_DIR_SOURCE, f->profile);
            }
#endif
        }
        rc = t1071_config_load_file(cfg, path);
        if (rc != T1071_OK) {
            flb_plg_error(f->ins, "profile '%s' (%s): %s", f->profile, path,
                          t1071_config_errmsg(cfg));
            goto fail;
        }
    }
    if (f->config_files) {
        flb_config_map_foreach(head, mv, f->config_files) {
            rc = t1071_config_load_file(cfg, mv->val.str);
            if (rc != T1071_OK) {
                flb_plg_error(f->ins, "config %s: %s", mv->val.str, t1071_config_errmsg(cfg));
                goto fail;
            }
        }
    }
    mk_list_foreach(head, &f->ins->properties) {
        struct flb_kv *kv = mk_list_entry(head, struct flb_kv, _head);
        char key[128];
        size_t i, n;

        if (!is_library_key(kv->key)) {
            continue;
        }
        n = flb_sds_len(kv->key);
        if (n >= sizeof(key)) {
            flb_plg_error(f->ins, "property '%s': key too long", kv->key);
            goto fail;
        }
        for (i = 0; i < n; i++) {
            key[i] = (char) tolower((unsigned char) kv->key[i]);
        }
        key[n] = '\0';
        rc = t1071_config_set(cfg, key, kv->val ? kv->val : "");
        if (rc != T1071_OK) {
            flb_plg_error(f->ins, "property '%s': %s", kv->key, t1071_config_errmsg(cfg));
            goto fail;
        }
    }
    if (f->rule_files) {
        flb_config_map_foreach(head, mv, f->rule_files) {
            char *text;
            size_t len;
            if (load_file(mv->val.str, &text, &len) != 0) {
                flb_plg_error(f->ins, "rule %s: cannot read it: %s", mv->val.str, strerror(errno));
                goto fail;
            }
            rc = nrules == 0 ? t1071_config_set_rule(cfg, text)
                             : t1071_config_add_rule(cfg, NULL, text);
            flb_free(text);
            if (rc != T1071_OK) {
                flb_plg_error(f->ins, "rule %s: %s", mv->val.str, t1071_config_errmsg(cfg));
                goto fail;
            }
            nrules++;
        }
    }
    return cfg;

fail:
    t1071_config_free(cfg);
    return NULL;
}

static int emitter_create(struct t1071_filter *f)
{
    struct flb_input_instance *in;
    char name[96];

    if (f->emitter_name && flb_sds_len(f->emitter_name) > 0) {
        snprintf(name, sizeof(name), "%s", f->emitter_name);
    }
    else {
        snprintf(name, sizeof(name), "emitter_for_%s", flb_filter_name(f->ins));
    }
    if (flb_input_name_exists(name, f->config) == FLB_TRUE) {
        flb_plg_error(f->ins, "emitter_name '%s' already exists", name);
        return -1;
    }
    in = flb_input_new(f->config, "emitter", NULL, FLB_FALSE);
    if (!in) {
        flb_plg_error(f->ins, "cannot create the emitter input");
        return -1;
    }
    flb_input_set_property(in, "alias", name);
    if (f->emitter_mem_buf_limit > 0) {
        in->mem_buf_limit = f->emitter_mem_buf_limit;
    }
    flb_input_set_property(in, "storage.type", "memory");
    if (flb_input_instance_init(in, f->config) == -1) {
        flb_plg_error(f->ins, "cannot initialize the emitter input '%s'", name);
        flb_input_instance_exit(in, f->config);
        flb_input_instance_destroy(in);
        return -1;
    }
    if (flb_storage_input_create(f->config->cio, in) == -1) {
        flb_plg_error(f->ins, "cannot initialize storage for '%s'", name);
        flb_input_instance_exit(in, f->config);
        flb_input_instance_destroy(in);
        return -1;
    }
    f->emitter = in;
    return 0;
}

static int restore_state(struct t1071_filter *f)
{
    char *data;
    size_t len;
    int rc;

    if (load_file(f->state_file, &data, &len) != 0) {
        if (errno == ENOENT) {
            flb_plg_info(f->ins, "state_file %s does not exist yet: starting fresh",
                         f->state_file);
            return 0;
        }
        flb_plg_error(f->ins, "state_file %s: %s", f->state_file, strerror(errno));
        return -1;
    }
    rc = t1071_restore(&f->ctx, (const uint8_t *) data, len);
    flb_free(data);
    if (rc != T1071_OK) {
        flb_plg_error(f->ins, "state_file %s: %s (move it away to start fresh)",
                      f->state_file, t1071_strerror(rc));
        return -1;
    }
    flb_plg_info(f->ins, "state restored from %s (the saved configuration is used)",
                 f->state_file);
    return 1;
}

static void save_state(struct t1071_filter *f)
{
    t1071_buffer *buf = NULL;
    char tmp[PATH_MAX];
    const uint8_t *p;
    size_t len, off = 0;
    int fd, rc;

    rc = t1071_snapshot(f->ctx, &buf);
    if (rc != T1071_OK) {
        flb_plg_error(f->ins, "t1071_snapshot: %s", t1071_strerror(rc));
        return;
    }
    p = t1071_buffer_data(buf);
    len = t1071_buffer_size(buf);
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        flb_plg_error(f->ins, "state_file %s: %s", tmp, strerror(errno));
        t1071_buffer_free(buf);
        return;
    }
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        off += (size_t) w;
    }
    t1071_buffer_free(buf);
    if (off != len || fsync(fd) != 0) {
        flb_plg_error(f->ins, "state_file %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return;
    }
    close(fd);
    if (rename(tmp, f->state_file) != 0) {
        flb_plg_error(f->ins, "state_file %s: %s", f->state_file, strerror(errno));
        unlink(tmp);
        return;
    }
    flb_plg_info(f->ins, "state saved to %s (%zu bytes)", f->state_file, len);
}

static void filter_free(struct t1071_filter *f)
{
    if (!f) {
        return;
    }
    if (f->timer) {
        flb_sched_timer_cb_destroy(f->timer);
    }
    t1071_free(f->ctx);
    flb_free(f->scratch);
    flb_free(f->mark_json);
    msgpack_sbuffer_destroy(&f->pending);
    pthread_mutex_destroy(&f->lock);
    flb_free(f);
}

static int cb_t1071_init(struct flb_filter_instance *ins, struct flb_config *config, void *data)
{
    struct t1071_filter *f;
    t1071_config *cfg = NULL;
    char val[32];
    int restored = 0;

    (void) data;
    f = flb_calloc(1, sizeof(*f));
    if (!f) {
        flb_errno();
        return -1;
    }
    f->ins = ins;
    f->config = config;
    f->engine_thread = pthread_self();
    pthread_mutex_init(&f->lock, NULL);
    msgpack_sbuffer_init(&f->pending);
    f->newest_ms = INT64_MIN;
    f->advanced_ms = INT64_MIN;
    f->last_activity_ms = mono_ms();

    if (flb_filter_config_map_set(ins, f) == -1) {
        flb_plg_error(ins, "bad configuration");
        goto fail;
    }
    if (!f->alert_tag || flb_sds_len(f->alert_tag) == 0) {
        flb_plg_error(ins, "alert_tag must not be empty");
        goto fail;
    }
    if (strcasecmp(f->bad_records, "pass") == 0) {
        f->drop_bad = 0;
    }
    else if (strcasecmp(f->bad_records, "drop") == 0) {
        f->drop_bad = 1;
    }
    else {
        flb_plg_error(ins, "bad_records is '%s': use pass or drop", f->bad_records);
        goto fail;
    }
    if (f->idle_flush < 0) {
        flb_plg_error(ins, "idle_flush must be 0 (off) or a number of seconds");
        goto fail;
    }
    if (strcasecmp(f->flush_on_exit, "auto") == 0) {
        /* As t1071-replay: with a state file the buffered events are saved
         * for the next run instead of being flushed. */
        f->exit_flush = f->state_file == NULL || flb_sds_len(f->state_file) == 0;
    }
    else if (flb_utils_bool(f->flush_on_exit) != -1) {
        f->exit_flush = flb_utils_bool(f->flush_on_exit);
    }
    else {
        flb_plg_error(ins, "flush_on_exit is '%s': use auto, true or false", f->flush_on_exit);
        goto fail;
    }
    if (f->mark && flb_sds_len(f->mark) > 0) {
        size_t i, n = flb_sds_len(f->mark);
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char) f->mark[i];
            if (c < 0x20 || c == '"' || c == '\\') {
                flb_plg_error(ins, "mark '%s': quotes, backslashes and control "
                              "characters are not allowed", f->mark);
                goto fail;
            }
        }
        f->mark_json = flb_malloc(n + 9);
        if (!f->mark_json) {
            goto fail;
        }
        f->mark_json_len = (size_t) snprintf(f->mark_json, n + 9, ",\"%s\":true", f->mark);
    }

    if (f->state_file && flb_sds_len(f->state_file) > 0) {
        restored = restore_state(f);
        if (restored < 0) {
            goto fail;
        }
    }
    /* engine.max_event_bytes bounds the JSON buffer: a longer record is
     * refused (T1071_E_TOO_LARGE) without being written out in full.  A
     * restored context keeps its saved value, unknown here: the hard
     * bound then, and the library refuses what is over its own. */
    f->max_event_bytes = T1071_MAX_EVENT_BYTES;
    if (!restored) {
        int rc;
        cfg = build_config(f);
        if (!cfg) {
            goto fail;
        }
        if (t1071_config_get(cfg, "engine.max_event_bytes", val, sizeof(val), NULL) == T1071_OK) {
            unsigned long long v = strtoull(val, NULL, 10);
            if (v > 0 && v <= T1071_MAX_EVENT_BYTES) {
                f->max_event_bytes = (size_t) v;
            }
        }
        rc = t1071_init(&f->ctx, cfg);
        t1071_config_free(cfg);
        if (rc != T1071_OK) {
            flb_plg_error(ins, "t1071_init: %s", t1071_strerror(rc));
            goto fail;
        }
    }

    if (emitter_create(f) != 0) {
        goto fail;
    }
    if (flb_sched_timer_cb_create(config->sched, FLB_SCHED_TIMER_CB_PERM, TICK_MS,
                                  cb_tick, f, &f->timer) == -1) {
        flb_plg_error(ins, "cannot create the timer");
        goto fail;
    }
    flb_filter_set_context(ins, f);
    flb_plg_info(ins, "libt1071detect %s; alerts tagged '%s' via '%s'; originals %s; "
                 "bad records %s; idle_flush %ds; flush at exit %s",
                 t1071_version_string(), f->alert_tag, flb_input_name(f->emitter),
                 f->keep_records ? "kept" : "dropped", f->drop_bad ? "dropped" : "passed",
                 f->idle_flush, f->exit_flush ? "on" : "off");
    return 0;

fail:
    /* The emitter input, once created, belongs to Fluent Bit's input list
     * and is released with it. */
    filter_free(f);
    return -1;
}

/* ===== The filter ===== */

static int cb_t1071_filter(const void *data, size_t bytes,
                           const char *tag, int tag_len,
                           void **out_buf, size_t *out_bytes,
                           struct flb_filter_instance *ins,
                           struct flb_input_instance *i_ins,
                           void *context, struct flb_config *config)
{
    struct t1071_filter *f = context;
    struct flb_log_event_encoder enc;
    const unsigned char *chunk = data, *chunk_end = chunk + bytes;
    int direct, rewrite, changed = 0;
    size_t prev;

    (void) tag;
    (void) tag_len;
    (void) ins;
    (void) config;

    if (i_ins == f->emitter) {
        /* Our own alerts matched by our Match: never feed them back. */
        if (!f->cycle_reported) {
            f->cycle_reported = 1;
            flb_plg_warn(f->ins, "the alerts' tag '%s' matches this filter's Match: "
                         "they pass through unchanged (narrow Match)", f->alert_tag);
        }
        f->own_records++;
        return FLB_FILTER_NOTOUCH;
    }
    /* On the engine thread (every non-threaded input, and threaded ones
     * whose records the engine takes from their ring buffer) alerts are
     * appended at once; on any other thread they wait for the timer. */
    direct = pthread_equal(pthread_self(), f->engine_thread);
    rewrite = !f->keep_records || f->drop_bad;

    /* The chunk is read in place (raw_record), not unpacked: Fluent Bit's
     * decoder would build every record's object tree only for us to walk
     * it once. */
    if (rewrite && flb_log_event_encoder_init(&enc, FLB_LOG_EVENT_FORMAT_DEFAULT) !=
                   FLB_EVENT_ENCODER_SUCCESS) {
        return FLB_FILTER_NOTOUCH;
    }

    pthread_mutex_lock(&f->lock);
    f->last_activity_ms = mono_ms();
    prev = 0;
    while (prev < bytes) {
        int keep = f->keep_records, bad = 0, rc = T1071_OK, has_time_key = 0, tries;
        int64_t ms = 0;
        int have_ms;
        size_t start = prev;
        const unsigned char *rec_end = NULL;
        struct raw_record rr;
        const char *body = NULL;
        size_t body_len = 0;

        if (raw_record(chunk + start, chunk_end, &rr) == 0) {
            rec_end = (const unsigned char *) rr.base + rr.len;
        }
        else {
            /* Not a log event [[ts, meta], map]: a body that is not a map,
             * or broken msgpack (then the rest of the chunk goes with it). */
            const unsigned char *skip = mp_skip(chunk + start, chunk_end);
            size_t end = skip ? (size_t) (skip - chunk) : bytes;

            f->records++;
            f->bad++;
            f->bad_not_map++;
            if (f->drop_bad) {
                f->dropped++;
                changed = 1;
            }
            else {
                f->passed++;
                if (rewrite) {
                    flb_log_event_encoder_emit_raw_record(&enc, (const char *) data + start,
                                                          end - start);
                }
            }
            prev = end;
            continue;
        }
        prev = (size_t) (rec_end - chunk);
        if (rr.group) {
            /* Group markers pass as they are. */
            if (rewrite) {
                flb_log_event_encoder_emit_raw_record(&enc, rr.base, rr.len);
            }
            continue;
        }
        f->records++;
        body = rr.body;
        body_len = rr.body_len;
        have_ms = record_time(&rr, &ms, &has_time_key) == 0;
        if (body_len > f->max_event_bytes) {
            /* Bigger than engine.max_event_bytes as msgpack: refused
             * before the library reads a byte, whatever it holds. */
            rc = T1071_E_TOO_LARGE;
        }
        else {
            if (f->fill_timestamp && !has_time_key &&
                record_with_time(f, body, body_len, &rr.tm, &body, &body_len) != 0) {
                rc = T1071_E_NOMEM;
            }
            if (rc == T1071_OK) {
                rc = t1071_feed_msgpack(f->ctx, body, body_len);
            }
            for (tries = 0; rc == T1071_E_QUEUE_FULL && tries < QUEUE_FULL_TRIES; tries++) {
                f->queue_full++;
                drain(f, direct);
                rc = t1071_feed_msgpack(f->ctx, body, body_len);
            }
        }
        if (rc == T1071_OK) {
            f->fed++;
            if (have_ms && ms > f->newest_ms) {
                f->newest_ms = ms;
            }
        }
        else {
            bad = 1;
            f->bad++;
            switch (rc) {
            case T1071_E_TIMESTAMP: f->bad_no_time++; break;
            case T1071_E_JSON: f->bad_json++; break;
            case T1071_E_TOO_LARGE: f->bad_too_large++; break;
            default: f->bad_other++; break;
            }
            if (f->bad <= 5) {
                flb_plg_warn(f->ins, "record %" PRIu64 " not fed: %s%s%s%s", f->records,
                             t1071_strerror(rc), rc == T1071_E_TOO_LARGE ? "" : " (",
                             rc == T1071_E_TOO_LARGE ? "" : t1071_errmsg(f->ctx),
                             rc == T1071_E_TOO_LARGE ? "" : ")",
                             f->bad == 5 ? "; further bad records are only counted" : "");
            }
            keep = !f->drop_bad;
        }
        if (keep) {
            f->passed++;
            if (rewrite) {
                flb_log_event_encoder_emit_raw_record(&enc, rr.base, rr.len);
            }
        }
        else {
            f->dropped++;
            changed = 1;
        }
        (void) bad;
    }
    drain(f, direct);
    if (direct) {
        drain_pending(f);
    }
    pthread_mutex_unlock(&f->lock);

    if (!rewrite) {
        return FLB_FILTER_NOTOUCH;
    }
    if (!changed) {
        flb_log_event_encoder_destroy(&enc);
        return FLB_FILTER_NOTOUCH;
    }
    *out_buf = enc.output_buffer;
    *out_bytes = enc.output_length;
    flb_log_event_encoder_claim_internal_buffer_ownership(&enc);
    flb_log_event_encoder_destroy(&enc);
    return FLB_FILTER_MODIFIED;
}

static int cb_t1071_exit(void *data, struct flb_config *config)
{
    struct t1071_filter *f = data;
    uint64_t late = 0, matched = 0;
    int id;

    (void) config;
    if (!f) {
        return 0;
    }
    pthread_mutex_lock(&f->lock);
    if (!f->exit_done || f->records != f->exit_records || f->exit_flush) {
        /* What the timer did not flush (the engine stopped within a tick,
         * or records came after its flush): the outputs are gone, what
         * the end of time releases now is lost.  Count it and say so
         * (normally nothing). */
        t1071_alert_batch *batch = NULL;
        uint64_t lost = f->pending_n;
        int i, rc = T1071_E_QUEUE_FULL;

        f->exit_done = 1;
        for (i = 0; i < 1000; i++) {
            if (f->exit_flush && rc == T1071_E_QUEUE_FULL) {
                rc = t1071_advance(f->ctx, INT64_MAX);
            }
            else {
                rc = T1071_OK;
            }
            if (t1071_poll_alerts(f->ctx, &batch) == T1071_OK && batch) {
                lost += t1071_alert_batch_count(batch);
                f->alerts += t1071_alert_batch_count(batch);
                t1071_alert_batch_free(batch);
                batch = NULL;
            }
            if (rc != T1071_E_QUEUE_FULL) {
                break;
            }
        }
        f->alerts_lost += lost;
        f->pending_n = 0;
        if (lost > 0) {
            flb_plg_error(f->ins, "%" PRIu64 " alert(s) released after the outputs "
                          "stopped are lost (the service's grace was too short?)", lost);
        }
    }
    for (id = 0; t1071_stat_name(id); id++) {
        if (strcmp(t1071_stat_name(id), "events_late") == 0) {
            t1071_stats_get(f->ctx, id, &late);
        }
        else if (strcmp(t1071_stat_name(id), "events_matched") == 0) {
            t1071_stats_get(f->ctx, id, &matched);
        }
    }
    flb_plg_info(f->ins, "counters: records=%" PRIu64 " fed=%" PRIu64 " bad=%" PRIu64
                 " bad_not_map=%" PRIu64 " bad_no_time=%" PRIu64 " bad_json=%" PRIu64
                 " bad_too_large=%" PRIu64 " bad_other=%" PRIu64 " passed=%" PRIu64
                 " dropped=%" PRIu64 " alerts=%" PRIu64 " alerts_emitted=%" PRIu64
                 " alerts_lost=%" PRIu64 " queue_full=%" PRIu64 " idle_flushes=%" PRIu64
                 " own_records=%" PRIu64 " events_matched=%" PRIu64 " events_late=%" PRIu64,
                 f->records, f->fed, f->bad, f->bad_not_map, f->bad_no_time, f->bad_json,
                 f->bad_too_large, f->bad_other, f->passed, f->dropped, f->alerts,
                 f->alerts_emitted, f->alerts_lost, f->queue_full, f->idle_flushes,
                 f->own_records, matched, late);
    if (f->state_file && flb_sds_len(f->state_file) > 0) {
        save_state(f);
    }
    pthread_mutex_unlock(&f->lock);
    filter_free(f);
    return 0;
}

/* Designated initializers: the struct has runtime fields after these. */
#define CM(t, n, d, fl, sp, off, ds)                                            \
    {.type = (t), .name = (n), .def_value = (d), .flags = (fl),                \
     .set_property = (sp), .offset = (off), .desc = (ds)}

static struct flb_config_map config_map[] = {
    CM(FLB_CONFIG_MAP_STR, "alert_tag", "t1071.alerts", 0, FLB_TRUE,
     offsetof(struct t1071_filter, alert_tag),
     "tag of the alert records"),
    CM(FLB_CONFIG_MAP_BOOL, "keep_records", "true", 0, FLB_TRUE,
     offsetof(struct t1071_filter, keep_records),
     "pass the input records on (false: only the alerts remain)"),
    CM(FLB_CONFIG_MAP_STR, "bad_records", "pass", 0, FLB_TRUE,
     offsetof(struct t1071_filter, bad_records),
     "records the library refuses (no time, not a map, too large): pass or drop"),
    CM(FLB_CONFIG_MAP_STR, "mark", "t1071_alert", 0, FLB_TRUE,
     offsetof(struct t1071_filter, mark),
     "field set to true on every alert; empty for none"),
    CM(FLB_CONFIG_MAP_BOOL, "fill_timestamp", "false", 0, FLB_TRUE,
     offsetof(struct t1071_filter, fill_timestamp),
     "feed a record without @timestamp/timestamp with its Fluent Bit time"),
    CM(FLB_CONFIG_MAP_TIME, "idle_flush", "0", 0, FLB_TRUE,
     offsetof(struct t1071_filter, idle_flush),
     "after this long without records, t1071_advance to the newest event time (0: off)"),
    CM(FLB_CONFIG_MAP_STR, "flush_on_exit", "auto", 0, FLB_TRUE,
     offsetof(struct t1071_filter, flush_on_exit),
     "flush the reorder buffers when Fluent Bit stops: auto (yes unless state_file), true, false"),
    CM(FLB_CONFIG_MAP_STR, "state_file", NULL, 0, FLB_TRUE,
     offsetof(struct t1071_filter, state_file),
     "snapshot the detection state here at exit, restore it at start"),
    CM(FLB_CONFIG_MAP_STR, "profile", NULL, 0, FLB_TRUE,
     offsetof(struct t1071_filter, profile),
     "faithful, tuned or NAME (NAME.ini in profile_path) or a path"),
    CM(FLB_CONFIG_MAP_STR, "profile_path", T1071_PROFILE_DIR, 0, FLB_TRUE,
     offsetof(struct t1071_filter, profile_path),
     "folder of the profile files"),
    CM(FLB_CONFIG_MAP_STR, "config", NULL, FLB_CONFIG_MAP_MULT, FLB_TRUE,
     offsetof(struct t1071_filter, config_files),
     "an INI file of library keys; may be given more than once"),
    CM(FLB_CONFIG_MAP_STR, "rule", NULL, FLB_CONFIG_MAP_MULT, FLB_TRUE,
     offsetof(struct t1071_filter, rule_files),
     "an EQL or Sigma rule file; the first replaces the built-in rule, others run beside it"),
    CM(FLB_CONFIG_MAP_STR, "emitter_name", NULL, 0, FLB_TRUE,
     offsetof(struct t1071_filter, emitter_name),
     "name of the emitter input the alerts enter by"),
    CM(FLB_CONFIG_MAP_SIZE, "emitter_mem_buf_limit", "0", 0, FLB_TRUE,
     offsetof(struct t1071_filter, emitter_mem_buf_limit),
     "mem_buf_limit of that emitter (0: none)"),
    CM(FLB_CONFIG_MAP_STR_PREFIX, "rule.", NULL, 0, FLB_FALSE, 0, "library key rule.*"),
    CM(FLB_CONFIG_MAP_STR_PREFIX, "engine.", NULL, 0, FLB_FALSE, 0, "library key engine.*"),
    CM(FLB_CONFIG_MAP_STR_PREFIX, "beacon.", NULL, 0, FLB_FALSE, 0, "library key beacon.*"),
    CM(FLB_CONFIG_MAP_STR_PREFIX, "tuning.", NULL, 0, FLB_FALSE, 0, "library key tuning.*"),
    {.type = 0}
};

/* The one exported symbol: Fluent Bit looks it up by name
 * (flb-filter_<name>.so -> filter_<name>_plugin). */
__attribute__((visibility("default")))
struct flb_filter_plugin filter_t1071_plugin = {
    .name = "t1071",
    .description = "T1071 beaconing detection (libt1071detect); alerts as records",
    .cb_init = cb_t1071_init,
    .cb_filter = cb_t1071_filter,
    .cb_exit = cb_t1071_exit,
    .config_map = config_map,
    .flags = 0,
    .event_type = FLB_FILTER_LOGS,
};
