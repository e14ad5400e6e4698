/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-agent: a minimal multi-threaded host of libt1071detect, the pattern
 * an NDR appliance or a collector follows.
 *
 *   t1071-agent [-j N] [--input ndjson|pb] [--config FILE] [--set S.K=V]...
 *               [--output alerts|pb|none] [--queue N] [--stats] [--metrics ADDR:PORT]
 *               [FILE|-]
 *   t1071-agent --kafka-topic T [--kafka-brokers LIST] [--kafka-group G]
 *               [--kafka-config FILE] [-X KEY=VALUE]... [--alerts-topic T]
 *               --checkpoint-dir DIR [--checkpoint-every N] [--checkpoint-interval D]
 *               [--max-record-bytes N] [--metrics ADDR:PORT] [options above]
 *
 * One reader (the main thread) frames the input into protobuf Events
 * (NDJSON lines go through t1071_event_from_json) and hands each to worker
 * t1071_event_shard(event, N): a hash of the event's host, so every host
 * stays on one worker and a key never spans two contexts.  Each worker owns
 * one context (the library's "one context, one thread at a time" rule), takes
 * events from its own bounded queue (the reader blocks when it is full:
 * backpressure reaches the input), feeds them, polls the alerts and writes
 * them under one output mutex so lines never interleave.  At the end of the
 * input each worker flushes its context with t1071_advance(INT64_MAX).
 *
 * Alerts are those of one context over the whole stream (t1071-replay), in
 * another order, as long as no key spans hosts (process.entity_id does not).
 *
 * With --kafka-topic the input is a Kafka consumer group instead, one
 * context per assigned partition (kafka-in.c; README "Scaling out").
 *
 * Exit status: 0 success (bad records are skipped and counted), 1 failure,
 * 2 usage error. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint-file.h"
#include "metrics.h"
#include "t1071/t1071detect.h"
#ifdef T1071_AGENT_KAFKA
#include "kafka-in.h"
#endif

#define PROG "t1071-agent"
#define MAX_WORKERS 256
#define DEFAULT_QUEUE 1024   /* events waiting per worker */
#define POP_MAX 64           /* events a worker takes per lock */
#define BAD_SHOWN 5

/* ===== Bounded queue (one per worker) ===== */

/* An event on its way to a worker: owned bytes, from t1071_event_from_json
 * (tbuf) or read from a protobuf stream (raw). */
struct item {
    t1071_buffer *tbuf;
    uint8_t *raw;
    const uint8_t *data;
    size_t len;
};

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    struct item *ring;
    size_t cap, head, count;
    bool closed;
};

static void
item_free(struct item *it)
{
    t1071_buffer_free(it->tbuf);
    free(it->raw);
}

static int
queue_init(struct queue *q, size_t cap)
{
    q->ring = calloc(cap, sizeof *q->ring);
    if (!q->ring)
        return -1;
    q->cap = cap;
    q->head = q->count = 0;
    q->closed = false;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

static void
queue_destroy(struct queue *q)
{
    while (q->count) {
        item_free(&q->ring[q->head]);
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    free(q->ring);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
}

/* Blocks while the queue is full. */
static void
queue_push(struct queue *q, const struct item *it)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == q->cap)
        pthread_cond_wait(&q->not_full, &q->mu);
    q->ring[(q->head + q->count) % q->cap] = *it;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

/* No more items will come. */
static void
queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

/* Takes up to @p max items, blocking until there is one; 0 once the queue is
 * closed and empty. */
static size_t
queue_pop(struct queue *q, struct item *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mu);
    while (q->count && n < max) {
        out[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    if (n)
        pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* ===== Output ===== */

enum output_fmt { OUT_ALERTS, OUT_PB, OUT_NONE };

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static enum output_fmt out_fmt = OUT_ALERTS;
static bool write_failed;       /* under out_mu */

static void
put_varint(uint64_t v)
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
    if (fwrite(b, 1, n, stdout) != n)
        write_failed = true;
}

/* Writes every alert of @p batch as one block, so the lines of two workers
 * never interleave.  Returns the number written. */
static size_t
write_batch(t1071_alert_batch *batch)
{
    size_t n = t1071_alert_batch_count(batch);

    if (out_fmt == OUT_NONE || n == 0)
        return n;
    pthread_mutex_lock(&out_mu);
    for (size_t i = 0; i < n; i++) {
        const char *json;
        const uint8_t *data;
        size_t len;

        if (out_fmt == OUT_ALERTS) {
            if (t1071_alert_batch_get_json(batch, i, &json, &len) != T1071_OK) {
                write_failed = true;
                continue;
            }
            if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF)
                write_failed = true;
        } else {
            if (t1071_alert_batch_get(batch, i, &data, &len) != T1071_OK) {
                write_failed = true;
                continue;
            }
            put_varint(len);
            if (len && fwrite(data, 1, len, stdout) != len)
                write_failed = true;
        }
    }
    pthread_mutex_unlock(&out_mu);
    return n;
}

/* ===== Workers ===== */

struct worker {
    unsigned id;
    pthread_t thread;
    t1071_ctx *ctx;
    struct queue q;
    uint64_t events, bad, alerts;
    int fatal;                  /* a T1071_E_* that stopped the worker, or 0 */
};

static int
drain(struct worker *w)
{
    t1071_alert_batch *batch = NULL;
    int rc = t1071_poll_alerts(w->ctx, &batch);

    if (rc != T1071_OK)
        return rc;
    w->alerts += write_batch(batch);
    t1071_alert_batch_free(batch);
    return T1071_OK;
}

static void
report(struct worker *w, int rc)
{
    if (w->bad > BAD_SHOWN)
        return;
    pthread_mutex_lock(&out_mu);
    fprintf(stderr, PROG ": worker %u: event skipped: %s (%s)%s\n", w->id, t1071_strerror(rc),
            t1071_errmsg(w->ctx),
            w->bad == BAD_SHOWN ? "; further bad events of this worker are only counted" : "");
    pthread_mutex_unlock(&out_mu);
}

static void
feed(struct worker *w, const struct item *it)
{
    int rc;

    /* Not consumed while the alert queue is full: drain, then feed again. */
    while ((rc = t1071_feed_event(w->ctx, it->data, it->len)) == T1071_E_QUEUE_FULL) {
        if ((rc = drain(w)) != T1071_OK)
            break;
    }
    w->events++;
    if (rc != T1071_OK) {
        /* Consumed, counted and dropped by the library; the context goes on. */
        w->bad++;
        report(w, rc);
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct item items[POP_MAX];
    size_t n;
    int rc;

    while ((n = queue_pop(&w->q, items, POP_MAX)) > 0) {
        for (size_t i = 0; i < n; i++) {
            feed(w, &items[i]);
            item_free(&items[i]);
        }
        if ((rc = drain(w)) != T1071_OK && !w->fatal)
            w->fatal = rc;
    }
    /* End of input: run whatever the reorder buffers still hold. */
    while ((rc = t1071_advance(w->ctx, INT64_MAX)) == T1071_E_QUEUE_FULL) {
        if ((rc = drain(w)) != T1071_OK)
            break;
    }
    if (rc != T1071_OK && !w->fatal)
        w->fatal = rc;
    if ((rc = drain(w)) != T1071_OK && !w->fatal)
        w->fatal = rc;
    return NULL;
}

/* ===== Reader ===== */

struct reader {
    struct worker *workers;
    unsigned nworkers;
    uint64_t records, bad;
};

static void
reader_bad(struct reader *r, const char *what, uint64_t n, int rc, const char *detail)
{
    r->bad++;
    if (r->bad > BAD_SHOWN)
        return;
    pthread_mutex_lock(&out_mu);
    fprintf(stderr, PROG ": %s %" PRIu64 " skipped: %s%s%s%s\n", what, n, t1071_strerror(rc),
            detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    pthread_mutex_unlock(&out_mu);
}

/* Hands @p it (owned) to the worker of its host. */
static void
dispatch(struct reader *r, struct item *it, const char *what, uint64_t n)
{
    uint32_t shard = 0;
    int rc = t1071_event_shard(it->data, it->len, r->nworkers, &shard);

    if (rc != T1071_OK) {
        reader_bad(r, what, n, rc, NULL);
        item_free(it);
        return;
    }
    queue_push(&r->workers[shard].q, it);
}

static bool
blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int
read_ndjson(struct reader *r, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t lineno = 0;
    int rc = 0;

    while ((got = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)got;
        struct item it = {0};
        int st;

        lineno++;
        if (len && line[len - 1] == '\n')
            len--;
        if (blank(line, len))
            continue;
        r->records++;
        /* The line number names events without event.id ("line:N") the way
         * t1071-replay does, whichever worker runs them. */
        st = t1071_event_from_json(line, len, lineno, &it.tbuf);
        if (st == T1071_E_NOMEM) {
            fprintf(stderr, PROG ": line %" PRIu64 ": out of memory\n", lineno);
            rc = -1;
            break;
        }
        if (st != T1071_OK) {
            reader_bad(r, "line", lineno, st, NULL);
            continue;
        }
        it.data = t1071_buffer_data(it.tbuf);
        it.len = t1071_buffer_size(it.tbuf);
        dispatch(r, &it, "line", lineno);
    }
    if (ferror(f)) {
        fprintf(stderr, PROG ": read error: %s\n", strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

/* Length-delimited t1071.ecs.v1.Event records (t1071-replay --encode). */
static int
read_pb(struct reader *r, FILE *f)
{
    for (uint64_t rec = 1;; rec++) {
        uint64_t len = 0;
        int shift = 0, c = 0;
        struct item it = {0};

        for (;;) {
            c = getc(f);
            if (c == EOF || shift > 63)
                break;
            len |= (uint64_t)(c & 0x7f) << shift;
            if (!(c & 0x80))
                break;
            shift += 7;
        }
        if (c == EOF && shift == 0)
            break; /* clean end */
        r->records++;
        if (c == EOF || shift > 63) {
            reader_bad(r, "record", rec, T1071_E_TRUNCATED, "broken length prefix; rest ignored");
            break;
        }
        if (len > T1071_MAX_EVENT_BYTES) {
            uint64_t left = len;
            while (left > 0 && getc(f) != EOF)
                left--;
            reader_bad(r, "record", rec, T1071_E_TOO_LARGE, NULL);
            if (left)
                break;
            continue;
        }
        it.raw = malloc(len ? (size_t)len : 1);
        if (!it.raw) {
            fprintf(stderr, PROG ": record %" PRIu64 ": out of memory\n", rec);
            return -1;
        }
        if (fread(it.raw, 1, (size_t)len, f) != len) {
            free(it.raw);
            reader_bad(r, "record", rec, T1071_E_TRUNCATED, "input ends inside a record");
            break;
        }
        it.data = it.raw;
        it.len = (size_t)len;
        dispatch(r, &it, "record", rec);
    }
    if (ferror(f)) {
        fprintf(stderr, PROG ": read error: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ===== Command line ===== */

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [-j N] [--input ndjson|pb] [--config FILE] [--set S.K=V]...\n"
            "                   [--output alerts|pb|none] [--queue N] [--stats]\n"
            "                   [--metrics ADDR:PORT] [FILE|-]\n"
            "       " PROG " --kafka-topic T [--kafka-brokers LIST] [--kafka-group G]\n"
            "                   [--kafka-config FILE] [-X KEY=VALUE]... [--alerts-topic T]\n"
            "                   --checkpoint-dir DIR [--checkpoint-every N]\n"
            "                   [--checkpoint-interval D] [--max-record-bytes N] [options above]\n"
            "Spreads ECS events over N worker threads, one libt1071detect context each,\n"
            "by host (t1071_event_shard), and writes the alerts of all of them.\n"
            "  -j N           worker threads (default: the online CPUs, at most %d)\n"
            "  --input        ndjson (default; one ECS JSON event per line) or pb\n"
            "                 (length-delimited t1071.ecs.v1.Event records)\n"
            "  --config FILE  INI file with [rule] and [engine] keys\n"
            "  --set S.K=V    one config value, after --config, in order\n"
            "  --output       alerts (default; ECS JSON lines), pb (length-delimited\n"
            "                 t1071.ecs.v1.Alert records) or none\n"
            "  --queue N      events waiting per worker before the reader blocks (default %d)\n"
            "  --stats        per-worker events, bad events and alerts on stderr\n"
            "  --metrics A:P  serve Prometheus text on http://A:P/metrics (A defaults to\n"
            "                 127.0.0.1: \"9100\" or \":9100\"; an explicit address, e.g.\n"
            "                 0.0.0.0:9100, to be scraped from elsewhere)\n"
            "Kafka input (instead of FILE; -j and --queue do not apply):\n"
            "  --kafka-topic T          consume topic T (events keyed by host) in a group,\n"
            "                           one context per assigned partition\n"
            "  --kafka-brokers LIST     bootstrap.servers\n"
            "  --kafka-group G          group.id, and the checkpoints' name (default %s)\n"
            "  --kafka-config FILE      librdkafka properties, KEY=VALUE lines (security,\n"
            "                           SASL/TLS secrets); also T1071_KAFKA_SASL_PASSWORD and\n"
            "                           T1071_KAFKA_SSL_KEY_PASSWORD from the environment\n"
            "  -X KEY=VALUE             one librdkafka property, after the file (no secrets)\n"
            "  --alerts-topic T         alerts to topic T (key: the alert's group id) instead\n"
            "                           of stdout; --output alerts|pb is the message format\n"
            "  --checkpoint-dir DIR     checkpoint store: one file per partition in DIR\n"
            "  --checkpoint-every N     checkpoint a partition every N records (default %d)\n"
            "  --checkpoint-interval D  ...and when it has new records D after the last\n"
            "                           one (default 5s; N, Ns or Nms)\n"
            "  --max-record-bytes N     larger records are skipped and counted (default %u)\n",
            MAX_WORKERS, DEFAULT_QUEUE, "t1071-agent", 10000, 1u << 20);
}

static bool
parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Options followed by a value (configure() skips them). */
static bool
takes_value(const char *a)
{
    static const char *const v[] = {"-j", "--input", "--output", "--queue", "--metrics",
                                    "--kafka-topic", "--kafka-brokers", "--kafka-group",
                                    "--kafka-config", "-X", "--alerts-topic", "--checkpoint-dir",
                                    "--checkpoint-every", "--checkpoint-interval",
                                    "--max-record-bytes"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!strcmp(a, v[i]))
            return true;
    return false;
}

/* "5" or "5s" (seconds), "500ms": milliseconds in *out, 1 ms .. 1 day. */
static bool
parse_duration_ms(const char *s, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno)
        return false;
    if (!strcmp(end, "ms"))
        ;
    else if (!*end || !strcmp(end, "s"))
        v = v > 86400 ? 86400001ul : v * 1000;
    else
        return false;
    if (v < 1 || v > 86400000ul)
        return false;
    *out = v;
    return true;
}

/* Applies --config and --set in order. */
static int
configure(t1071_config *cfg, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = T1071_OK;

        if (!strcmp(a, "--config") && i + 1 < argc) {
            rc = t1071_config_load_file(cfg, argv[++i]);
        } else if (!strcmp(a, "--set") && i + 1 < argc) {
            char *kv = strdup(argv[++i]);
            char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq) {
                fprintf(stderr, PROG ": --set wants SECTION.KEY=VALUE, got \"%s\"\n", argv[i]);
                free(kv);
                return 2;
            }
            *eq = '\0';
            rc = t1071_config_set(cfg, kv, eq + 1);
            free(kv);
        } else if (takes_value(a)) {
            i++;
        }
        if (rc != T1071_OK) {
            fprintf(stderr, PROG ": %s\n", t1071_config_errmsg(cfg));
            return 2;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned long nworkers = 0, qcap = DEFAULT_QUEUE;
    bool pb_in = false, stats = false;
    const char *file = NULL;
    t1071_config *cfg = NULL;
    struct worker *workers = NULL;
    struct reader rd = {0};
    unsigned started = 0;
    FILE *in = stdin;
    int status = 0, rc;
    const char *metrics_addr = NULL, *ckpt_dir = NULL;
    struct t1071a_metrics *metrics = NULL;
    char err[512];
    bool kafka = false;
#ifdef T1071_AGENT_KAFKA
    struct t1071a_kafka_opts ko = {
        .group = T1071A_KAFKA_DEFAULT_GROUP,
        .ckpt_records = T1071A_KAFKA_DEFAULT_CKPT_RECORDS,
        .ckpt_ms = T1071A_KAFKA_DEFAULT_CKPT_MS,
        .max_record = T1071A_KAFKA_DEFAULT_MAX_RECORD,
    };
#endif

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-j")) {
            if (!parse_uint(v, 1, MAX_WORKERS, &nworkers)) {
                fprintf(stderr, PROG ": -j wants 1..%d\n", MAX_WORKERS);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--queue")) {
            if (!parse_uint(v, 1, 1ul << 20, &qcap)) {
                fprintf(stderr, PROG ": --queue wants 1..%lu\n", 1ul << 20);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--input")) {
            if (v && !strcmp(v, "ndjson")) {
                pb_in = false;
            } else if (v && !strcmp(v, "pb")) {
                pb_in = true;
            } else {
                fprintf(stderr, PROG ": --input must be ndjson or pb\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--output")) {
            if (v && !strcmp(v, "alerts")) {
                out_fmt = OUT_ALERTS;
            } else if (v && !strcmp(v, "pb")) {
                out_fmt = OUT_PB;
            } else if (v && !strcmp(v, "none")) {
                out_fmt = OUT_NONE;
            } else {
                fprintf(stderr, PROG ": --output must be alerts, pb or none\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--config") || !strcmp(a, "--set")) {
            if (!v) {
                fprintf(stderr, PROG ": %s needs a value\n", a);
                return 2;
            }
            i++; /* applied by configure(), in order */
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (!strcmp(a, "--metrics")) {
            if (!v) {
                fprintf(stderr, PROG ": --metrics needs [ADDRESS:]PORT\n");
                return 2;
            }
            metrics_addr = v;
            i++;
        } else if (!strcmp(a, "--kafka-topic") || !strcmp(a, "--kafka-brokers") ||
                   !strcmp(a, "--kafka-group") || !strcmp(a, "--kafka-config") ||
                   !strcmp(a, "-X") || !strcmp(a, "--alerts-topic") ||
                   !strcmp(a, "--checkpoint-dir") || !strcmp(a, "--checkpoint-every") ||
                   !strcmp(a, "--checkpoint-interval") || !strcmp(a, "--max-record-bytes")) {
            if (!v || !*v) {
                fprintf(stderr, PROG ": %s needs a value\n", a);
                return 2;
            }
            i++;
            if (!strcmp(a, "--checkpoint-dir")) {
                ckpt_dir = v;
                continue;
            }
#ifdef T1071_AGENT_KAFKA
            unsigned long n;
            if (!strcmp(a, "--kafka-topic")) {
                ko.topic = v;
                kafka = true;
            } else if (!strcmp(a, "--kafka-brokers")) {
                ko.brokers = v;
            } else if (!strcmp(a, "--kafka-group")) {
                ko.group = v;
            } else if (!strcmp(a, "--kafka-config")) {
                ko.config_file = v;
            } else if (!strcmp(a, "--alerts-topic")) {
                ko.alerts_topic = v;
            } else if (!strcmp(a, "-X")) {
                if (t1071a_kafka_check_cli_prop(v, err, sizeof err) != 0) {
                    fprintf(stderr, PROG ": %s\n", err);
                    return 2;
                }
                if (ko.nprops == T1071A_KAFKA_MAX_PROPS || strlen(v) >= 1024) {
                    fprintf(stderr, PROG ": -X: at most %d properties of under 1024 bytes\n",
                            T1071A_KAFKA_MAX_PROPS);
                    return 2;
                }
                ko.props[ko.nprops++] = v;
            } else if (!strcmp(a, "--checkpoint-every")) {
                if (!parse_uint(v, 1, 1ul << 30, &n)) {
                    fprintf(stderr, PROG ": --checkpoint-every wants 1..%lu records\n", 1ul << 30);
                    return 2;
                }
                ko.ckpt_records = n;
            } else if (!strcmp(a, "--checkpoint-interval")) {
                if (!parse_duration_ms(v, &n)) {
                    fprintf(stderr, PROG ": --checkpoint-interval wants 1ms..1 day: N or Ns "
                            "(seconds), Nms\n");
                    return 2;
                }
                ko.ckpt_ms = n;
            } else {
                if (!parse_uint(v, 1, 64ul << 20, &n)) {
                    fprintf(stderr, PROG ": --max-record-bytes wants 1..%lu\n", 64ul << 20);
                    return 2;
                }
                ko.max_record = n;
            }
#else
            (void)parse_duration_ms;
            fprintf(stderr, PROG ": %s: this t1071-agent was built without librdkafka "
                    "(install librdkafka-dev and rebuild)\n", a);
            return 2;
#endif
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, PROG ": unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (file) {
            fprintf(stderr, PROG ": only one input file\n");
            return 2;
        } else {
            file = a;
        }
    }
    if (kafka && file) {
        fprintf(stderr, PROG ": --kafka-topic reads Kafka, not %s: give one input\n", file);
        return 2;
    }
    if (kafka && !ckpt_dir) {
        fprintf(stderr, PROG ": --kafka-topic needs a checkpoint store (--checkpoint-dir DIR): "
                "offsets are committed only after the partition's checkpoint is durable\n");
        return 2;
    }
    if (!kafka && ckpt_dir) {
        fprintf(stderr, PROG ": --checkpoint-dir goes with --kafka-topic\n");
        return 2;
    }
    if (nworkers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nworkers = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned long)n;
    }

    if (t1071_config_new(&cfg) != T1071_OK) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    if ((rc = configure(cfg, argc, argv)) != 0) {
        t1071_config_free(cfg);
        return rc;
    }
    if (metrics_addr && t1071a_metrics_start(metrics_addr, &metrics, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        t1071_config_free(cfg);
        return 1;
    }
#ifdef T1071_AGENT_KAFKA
    if (kafka) {
        struct t1071a_ckpt_store store;

        ko.pb_in = pb_in;
        ko.out = out_fmt == OUT_ALERTS ? T1071A_OUT_ALERTS : out_fmt == OUT_PB ? T1071A_OUT_PB
                                                                              : T1071A_OUT_NONE;
        ko.stats = stats;
        if (t1071a_ckpt_file_open(ckpt_dir, &store, err, sizeof err) != 0) {
            fprintf(stderr, PROG ": --checkpoint-dir %s\n", err);
            status = 1;
        } else {
            status = t1071a_kafka_run(&ko, cfg, &store, metrics);
            store.ops->close(store.impl);
        }
        t1071a_metrics_stop(metrics);
        t1071_config_free(cfg);
        return status;
    }
#endif
    if (file && strcmp(file, "-")) {
        in = fopen(file, "rb");
        if (!in) {
            fprintf(stderr, PROG ": %s: %s\n", file, strerror(errno));
            t1071a_metrics_stop(metrics);
            t1071_config_free(cfg);
            return 1;
        }
    }

    workers = calloc(nworkers, sizeof *workers);
    if (!workers) {
        status = 1;
        goto out;
    }
    /* Every context is created here, before any thread starts: one config
     * must not be used by two threads at once. */
    for (unsigned i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];

        w->id = i;
        if ((rc = t1071_init(&w->ctx, cfg)) != T1071_OK) {
            fprintf(stderr, PROG ": t1071_init: %s\n", t1071_strerror(rc));
            status = 1;
            goto out;
        }
        if (queue_init(&w->q, qcap) != 0) {
            t1071_free(w->ctx);
            w->ctx = NULL;
            fprintf(stderr, PROG ": out of memory\n");
            status = 1;
            goto out;
        }
    }
    for (; started < nworkers; started++) {
        if ((rc = pthread_create(&workers[started].thread, NULL, worker_main, &workers[started])) != 0) {
            fprintf(stderr, PROG ": pthread_create: %s\n", strerror(rc));
            status = 1;
            break;
        }
    }
    if (started == nworkers) {
        rd.workers = workers;
        rd.nworkers = (unsigned)nworkers;
        if ((pb_in ? read_pb(&rd, in) : read_ndjson(&rd, in)) != 0)
            status = 1;
    }

out:
    if (workers) {
        for (unsigned i = 0; i < nworkers; i++)
            if (workers[i].ctx)
                queue_close(&workers[i].q);
        for (unsigned i = 0; i < started; i++)
            pthread_join(workers[i].thread, NULL);
        for (unsigned i = 0; i < nworkers; i++) {
            struct worker *w = &workers[i];

            if (!w->ctx)
                continue;
            if (w->fatal) {
                fprintf(stderr, PROG ": worker %u: %s\n", i, t1071_strerror(w->fatal));
                status = 1;
            }
            if (stats)
                fprintf(stderr, PROG ": worker %u: events %" PRIu64 " bad %" PRIu64
                        " alerts %" PRIu64 "\n", i, w->events, w->bad, w->alerts);
            t1071_free(w->ctx);
            queue_destroy(&w->q);
        }
        free(workers);
    }
    if (stats)
        fprintf(stderr, PROG ": reader: records %" PRIu64 " bad %" PRIu64 "\n", rd.records, rd.bad);
    if (fflush(stdout) != 0 || write_failed) {
        fprintf(stderr, PROG ": write error\n");
        status = 1;
    }
    if (in != stdin)
        fclose(in);
    t1071a_metrics_stop(metrics);
    t1071_config_free(cfg);
    return status;
}
