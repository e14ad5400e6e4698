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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint-file.h"
#include "metrics.h"
#include "t1071/t1071detect.h"
#ifdef T1071_AGENT_KAFKA
#include "kafka-in.h"
#endif
#ifdef T1071_AGENT_REDIS
#include "redis-store.h"
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

#define PUB_STATS 96 /* at least the library's stat count (checked at start) */

struct worker {
    unsigned id;
    pthread_t thread;
    t1071_ctx *ctx;
    struct queue q;
    uint64_t events, bad, alerts;
    int fatal;                  /* a T1071_E_* that stopped the worker, or 0 */
#ifdef T1071_AGENT_REDIS
    struct t1071a_rconn *rconn; /* shared prevalence (--redis): this worker's */
    struct t1071a_redis *rs;
    uint64_t since_sync;
#endif
    /* What /metrics shows of this worker, copied by its own thread after
     * each batch (the metrics thread never reads the context itself). */
    pthread_mutex_t pub_mu;
    uint64_t pub_events, pub_bad, pub_alerts;
    uint64_t pub_stats[PUB_STATS];
    int pub_nstats;
#ifdef T1071_AGENT_REDIS
    struct t1071a_redis_stats pub_rs;
#endif
};

/* What the /metrics source reads: every worker's published copy. */
struct worker_set {
    struct worker *w;
    unsigned long n;
    bool redis;
};

static void publish(struct worker *w);

/* --redis settings every worker reads (set before the workers start). */
static unsigned long redis_sync_every = 1000; /* --redis-sync N records */
static unsigned long redis_barrier_n;         /* --redis-barrier N contexts */

#ifdef T1071_AGENT_REDIS
/* End of input: push what is left; with --redis-barrier wait for the other
 * contexts' last pushes, then pull once more (so every context ends with the
 * fleet's whole state). */
static void
redis_final(struct worker *w)
{
    if (!w->rs)
        return;
    t1071a_redis_retry_now(w->rs);
    if (t1071a_redis_push(w->rs) != 0) {
        pthread_mutex_lock(&out_mu);
        fprintf(stderr, PROG ": worker %u: final push to Redis failed; local prevalence only\n",
                w->id);
        pthread_mutex_unlock(&out_mu);
    }
    if (redis_barrier_n && t1071a_redis_barrier(w->rs, redis_barrier_n, 60000) != 0) {
        pthread_mutex_lock(&out_mu);
        fprintf(stderr, PROG ": worker %u: --redis-barrier: not every context arrived\n", w->id);
        pthread_mutex_unlock(&out_mu);
    }
    t1071a_redis_retry_now(w->rs);
    t1071a_redis_sync(w->rs);
}
#endif

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

/* End of input: run whatever the reorder buffers still hold, write the
 * alerts, and (with --redis) push and pull a last time. */
static void
finish(struct worker *w)
{
    int rc;

    while ((rc = t1071_advance(w->ctx, INT64_MAX)) == T1071_E_QUEUE_FULL) {
        if ((rc = drain(w)) != T1071_OK)
            break;
    }
    if (rc != T1071_OK && !w->fatal)
        w->fatal = rc;
    if ((rc = drain(w)) != T1071_OK && !w->fatal)
        w->fatal = rc;
#ifdef T1071_AGENT_REDIS
    redis_final(w);
#endif
    publish(w);
}

/* Copies what /metrics shows of this worker (its own thread calls this). */
static void
publish(struct worker *w)
{
    pthread_mutex_lock(&w->pub_mu);
    w->pub_events = w->events;
    w->pub_bad = w->bad;
    w->pub_alerts = w->alerts;
    for (int id = 0; id < w->pub_nstats; id++)
        if (t1071_stats_get(w->ctx, id, &w->pub_stats[id]) != T1071_OK)
            w->pub_stats[id] = 0;
#ifdef T1071_AGENT_REDIS
    if (w->rs)
        t1071a_redis_stats(w->rs, &w->pub_rs);
#endif
    pthread_mutex_unlock(&w->pub_mu);
}

/* The /metrics source of file and stdin input: per worker (label
 * worker="I"), the agent's counts, the shared prevalence's state and every
 * library stat, one family at a time. */
static void
workers_metrics(void *arg, struct t1071a_text *out)
{
    const struct worker_set *ws = arg;
    static const char *const own[] = {"worker_events_total", "worker_bad_events_total",
                                      "worker_alerts_total"};

    for (unsigned long i = 0; i < ws->n; i++)
        pthread_mutex_lock(&ws->w[i].pub_mu);
    for (int k = 0; k < 3; k++) {
        t1071a_text_printf(out, "# TYPE t1071_agent_%s counter\n", own[k]);
        for (unsigned long i = 0; i < ws->n; i++) {
            const struct worker *w = &ws->w[i];
            uint64_t v = k == 0 ? w->pub_events : k == 1 ? w->pub_bad : w->pub_alerts;
            t1071a_text_printf(out, "t1071_agent_%s{worker=\"%lu\"} %" PRIu64 "\n", own[k], i, v);
        }
    }
#ifdef T1071_AGENT_REDIS
    static const char *const rnames[] = {"degraded", "pushes_total", "pulls_total",
                                         "failures_total", "catchups_total", "resets_total",
                                         "merge_refused_total"};
    for (int k = 0; ws->redis && k < 7; k++) {
        t1071a_text_printf(out, "# TYPE t1071_agent_redis_%s %s\n", rnames[k],
                           k ? "counter" : "gauge");
        for (unsigned long i = 0; i < ws->n; i++) {
            const struct t1071a_redis_stats *st = &ws->w[i].pub_rs;
            uint64_t v = k == 0 ? (uint64_t)st->degraded : k == 1 ? st->pushes
                       : k == 2 ? st->pulls : k == 3 ? st->failures : k == 4 ? st->catchups
                       : k == 5 ? st->resets : st->merge_refused;
            t1071a_text_printf(out, "t1071_agent_redis_%s{worker=\"%lu\"} %" PRIu64 "\n",
                               rnames[k], i, v);
        }
    }
#endif
    for (int id = 0; ws->n && id < ws->w[0].pub_nstats; id++) {
        const char *name = t1071_stat_name(id);
        bool g = t1071a_stat_is_gauge(id);

        t1071a_text_printf(out, "# TYPE t1071_%s%s %s\n", name, g ? "" : "_total",
                           g ? "gauge" : "counter");
        for (unsigned long i = 0; i < ws->n; i++)
            t1071a_text_printf(out, "t1071_%s%s{worker=\"%lu\"} %" PRIu64 "\n", name,
                               g ? "" : "_total", i, ws->w[i].pub_stats[id]);
    }
    for (unsigned long i = ws->n; i-- > 0;)
        pthread_mutex_unlock(&ws->w[i].pub_mu);
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
#ifdef T1071_AGENT_REDIS
            /* Production mode: exchange every N records (a degraded
             * exchange returns at once until its backoff has passed). */
            if (w->rs && ++w->since_sync >= redis_sync_every) {
                w->since_sync = 0;
                t1071a_redis_sync(w->rs);
            }
#endif
        }
        if ((rc = drain(w)) != T1071_OK && !w->fatal)
            w->fatal = rc;
        publish(w);
    }
    finish(w);
    return NULL;
}

/* ===== Reader ===== */

struct reader {
    struct worker *workers;
    unsigned nworkers;
    uint64_t records, bad;
    uint32_t shard_i, shard_n;  /* --shard I/N (n 0: every event) */
    uint64_t other_shards;      /* events left to the other processes */
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
    int rc;

    if (r->shard_n) {
        /* --shard I/N: this process feeds only its shard of the stream. */
        rc = t1071_event_shard(it->data, it->len, r->shard_n, &shard);
        /* an event without a shard is shard 0's to count as bad */
        if (rc != T1071_OK ? r->shard_i != 0 : shard != r->shard_i) {
            r->other_shards++;
            item_free(it);
            return;
        }
    }
    rc = t1071_event_shard(it->data, it->len, r->nworkers, &shard);
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

#ifdef T1071_AGENT_REDIS
/* ===== Lockstep (--lockstep: a test / verification mode) =====
 *
 * Every process reads the whole time-ordered stream.  Record i (0-based,
 * blank lines aside) belongs to the process of its shard (a record that
 * does not decode to shard 0, which counts it as bad).  Its owner waits until
 * the Redis turn counter <prefix>:lockstep:turn says i, pulls and merges the
 * fleet's state, feeds the record, pushes its delta, and sets the turn to
 * i + 1.  So before any process feeds record i it has merged every
 * observation the others made from records 0..i-1: the library's documented
 * condition for "sharded equals single" (README "Fleet prevalence across
 * contexts").  One round of Redis round trips per record and a polled turn:
 * slow by design, not a production mode. */

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Retries @p op until it succeeds or the deadline passes. */
static int
lockstep_retry(struct worker *w, int (*op)(struct t1071a_redis *), int64_t deadline)
{
    while (op(w->rs) != 0) {
        if (mono_ms() > deadline)
            return -1;
        usleep(20000);
        t1071a_redis_retry_now(w->rs);
    }
    return 0;
}

static int
lockstep_wait(struct worker *w, uint64_t i, int64_t deadline)
{
    uint64_t turn = 0;
    unsigned spins = 0;

    for (;;) {
        if (t1071a_redis_turn_get(w->rs, &turn) == 0) {
            if (turn == i)
                return 0;
            if (turn > i) {
                fprintf(stderr, PROG ": --lockstep: the turn counter is at %" PRIu64
                        ", past record %" PRIu64 ": a stale counter? use a fresh --redis-prefix\n",
                        turn, i);
                return -1;
            }
        } else {
            t1071a_redis_retry_now(w->rs);
            usleep(20000);
        }
        if (mono_ms() > deadline) {
            fprintf(stderr, PROG ": --lockstep: waited too long for record %" PRIu64
                    " (turn %" PRIu64 "); is every shard's process running?\n", i, turn);
            return -1;
        }
        usleep(spins++ < 100 ? 100 : 1000);
    }
}

static int
run_lockstep(struct reader *r, FILE *f, int timeout_s)
{
    struct worker *w = &r->workers[0];
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t lineno = 0, idx = 0;
    int status = 0, rc;

    while ((got = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)got;
        t1071_buffer *b = NULL;
        uint32_t owner = 0;
        int st;
        int64_t deadline = mono_ms() + (int64_t)timeout_s * 1000;

        lineno++;
        if (len && line[len - 1] == '\n')
            len--;
        if (blank(line, len))
            continue;
        r->records++;
        st = t1071_event_from_json(line, len, lineno, &b);
        if (st == T1071_OK &&
            t1071_event_shard(t1071_buffer_data(b), t1071_buffer_size(b), r->shard_n, &owner) != T1071_OK)
            owner = 0;
        if (owner != r->shard_i) {
            r->other_shards++;
            t1071_buffer_free(b);
            idx++;
            continue;
        }
        if (lockstep_wait(w, idx, deadline) != 0 ||
            (st == T1071_OK && lockstep_retry(w, t1071a_redis_sync, deadline) != 0)) {
            t1071_buffer_free(b);
            status = -1;
            break;
        }
        if (st != T1071_OK) {
            reader_bad(r, "line", lineno, st, NULL);
        } else {
            struct item it = {.tbuf = b, .data = t1071_buffer_data(b), .len = t1071_buffer_size(b)};
            feed(w, &it);
            b = NULL;
            item_free(&it);
            if ((rc = drain(w)) != T1071_OK && !w->fatal)
                w->fatal = rc;
            if (lockstep_retry(w, t1071a_redis_push, deadline) != 0) {
                status = -1;
                break;
            }
        }
        t1071_buffer_free(b);
        idx++;
        while (t1071a_redis_turn_set(w->rs, idx) != 0) {
            if (mono_ms() > deadline) {
                status = -1;
                break;
            }
            usleep(20000);
            t1071a_redis_retry_now(w->rs);
        }
        if (status)
            break;
    }
    if (status)
        fprintf(stderr, PROG ": --lockstep: Redis unavailable for %d s; giving up\n", timeout_s);
    if (ferror(f)) {
        fprintf(stderr, PROG ": read error: %s\n", strerror(errno));
        status = -1;
    }
    free(line);
    finish(w);
    return status;
}
#endif

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
            "                   --checkpoint-dir DIR|--checkpoint-redis ADDR [--checkpoint-every N]\n"
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
            "                 0.0.0.0:9100, to be scraped from elsewhere)\n",
            MAX_WORKERS, DEFAULT_QUEUE);
    fprintf(f,
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
            "  --checkpoint-redis ADDR  checkpoint store: one Redis key per partition (AUTH\n"
            "                           and prefix: the --redis-* options below)\n"
            "  --checkpoint-every N     checkpoint a partition every N records (default %d)\n"
            "  --checkpoint-interval D  ...and when it has new records D after the last\n"
            "                           one (default 5s; N, Ns or Nms)\n"
            "  --max-record-bytes N     larger records are skipped and counted (default %u)\n"
            "  --redis ... (below)      each partition's context shares its prevalence\n"
            "File and stdin input over several processes:\n"
            "  --shard I/N    feed only the events of shard I of N (t1071_event_shard): N\n"
            "                 processes, one shard each, read the same stream\n"
            "  --prevalence-out FILE  at the end, the whole prevalence table as a delta\n"
            "                 (t1071_prevalence_export from 0; needs -j 1 and tuning.fleet_key)\n"
            "  --print-shards N  print each record's shard of N (\"LINE SHARD\") and exit\n"
            "Shared prevalence through Redis (built with hiredis; examples/agent/README.md):\n"
            "  --redis HOST:PORT|unix:PATH  share prevalence (needs tuning.fleet_key)\n"
            "  --redis-user NAME            ACL user for AUTH\n"
            "  --redis-password-file FILE   AUTH password (else $T1071_REDIS_PASSWORD;\n"
            "                               never on the command line)\n"
            "  --redis-prefix P             key prefix of this deployment (default t1071)\n"
            "  --redis-connect-timeout MS, --redis-timeout MS  (default 2000, 5000)\n"
            "  --redis-sync N               push and pull every N records (default 1000)\n"
            "  --redis-barrier N            at the end, wait for N contexts' last push\n"
            "                               before the last pull (tests)\n"
            "  --lockstep                   test mode: take turns through Redis so N\n"
            "                               processes equal one context (needs --shard, -j 1)\n"
            "  --lockstep-timeout S         give up after S s without progress (default 60)\n",
            "t1071-agent", 10000, 1u << 20);
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

/* Options followed by a value (configure() skips them): the Kafka input's
 * and the fleet's (issue 15). */
static bool
takes_value(const char *a)
{
    static const char *const opts[] = {
        "-j", "--input", "--output", "--queue", "--metrics", "--kafka-topic", "--kafka-brokers",
        "--kafka-group", "--kafka-config", "-X", "--alerts-topic", "--checkpoint-dir",
        "--checkpoint-every", "--checkpoint-interval", "--max-record-bytes",
        "--checkpoint-redis", "--shard", "--redis", "--redis-user", "--redis-password-file", "--redis-prefix",
        "--redis-connect-timeout", "--redis-timeout", "--redis-sync", "--redis-barrier",
        "--lockstep-timeout", "--prevalence-out", "--print-shards", NULL};

    for (size_t i = 0; opts[i]; i++)
        if (!strcmp(a, opts[i]))
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

/* --print-shards N: "LINE SHARD" per NDJSON record ("LINE -" when it does
 * not decode), so a test can build a stream with a known spread. */
static int
print_shards(FILE *f, uint32_t n)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t lineno = 0;

    while ((got = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)got;
        t1071_buffer *b = NULL;
        uint32_t shard;

        lineno++;
        if (len && line[len - 1] == '\n')
            len--;
        if (blank(line, len))
            continue;
        if (t1071_event_from_json(line, len, lineno, &b) == T1071_OK &&
            t1071_event_shard(t1071_buffer_data(b), t1071_buffer_size(b), n, &shard) == T1071_OK)
            printf("%" PRIu64 " %" PRIu32 "\n", lineno, shard);
        else
            printf("%" PRIu64 " -\n", lineno);
        t1071_buffer_free(b);
    }
    free(line);
    return ferror(f) ? 1 : 0;
}

/* --prevalence-out: the whole table (export from 0), for tests to compare. */
static int
write_prevalence(t1071_ctx *ctx, const char *path)
{
    t1071_buffer *b = NULL;
    uint64_t cur;
    FILE *f;
    int rc = t1071_prevalence_export(ctx, 0, &b, &cur);

    if (rc != T1071_OK) {
        fprintf(stderr, PROG ": --prevalence-out: %s (needs tuning.fleet_key and prevalence)\n",
                t1071_strerror(rc));
        return -1;
    }
    f = fopen(path, "wb");
    if (f) {
        bool ok = fwrite(t1071_buffer_data(b), 1, t1071_buffer_size(b), f) == t1071_buffer_size(b);
        if (fclose(f) != 0 || !ok)
            f = NULL;
    }
    t1071_buffer_free(b);
    if (!f) {
        fprintf(stderr, PROG ": --prevalence-out %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
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
    struct worker_set wset = {NULL, 0, false};
    char aerr[512];
    bool kafka = false;
#ifdef T1071_AGENT_KAFKA
    struct t1071a_kafka_opts ko = {
        .group = T1071A_KAFKA_DEFAULT_GROUP,
        .ckpt_records = T1071A_KAFKA_DEFAULT_CKPT_RECORDS,
        .ckpt_ms = T1071A_KAFKA_DEFAULT_CKPT_MS,
        .max_record = T1071A_KAFKA_DEFAULT_MAX_RECORD,
    };
#endif
    unsigned long shard_i = 0, shard_n = 0, print_n = 0, lockstep_timeout = 60;
    bool lockstep = false;
    const char *prev_out = NULL;
#ifdef T1071_AGENT_REDIS
    struct t1071a_redis_opts ropts = {0};
#endif
    const char *redis_addr = NULL;
    const char *ckpt_redis = NULL; /* --checkpoint-redis: checkpoints in Redis */

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
                if (t1071a_kafka_check_cli_prop(v, aerr, sizeof aerr) != 0) {
                    fprintf(stderr, PROG ": %s\n", aerr);
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
        } else if (!strcmp(a, "--shard")) {
            char *slash = v ? strchr(v, '/') : NULL;
            char ibuf[16];
            if (!slash || (size_t)(slash - v) >= sizeof ibuf) {
                fprintf(stderr, PROG ": --shard wants I/N with 0 <= I < N\n");
                return 2;
            }
            memcpy(ibuf, v, (size_t)(slash - v));
            ibuf[slash - v] = '\0';
            if (!parse_uint(slash + 1, 1, 65536, &shard_n) ||
                !parse_uint(ibuf, 0, shard_n - 1, &shard_i)) {
                fprintf(stderr, PROG ": --shard wants I/N with 0 <= I < N <= 65536\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--print-shards")) {
            if (!parse_uint(v, 1, 65536, &print_n)) {
                fprintf(stderr, PROG ": --print-shards wants 1..65536\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--prevalence-out")) {
            if (!v) {
                fprintf(stderr, PROG ": --prevalence-out needs a file\n");
                return 2;
            }
            prev_out = v;
            i++;
        } else if (!strcmp(a, "--redis-password")) {
            fprintf(stderr, PROG ": --redis-password is refused: a password on the command line "
                    "is visible to every user of the machine (ps); put it in a file "
                    "(--redis-password-file FILE) or the environment (T1071_REDIS_PASSWORD)\n");
            return 2;
        } else if (!strcmp(a, "--lockstep")) {
            lockstep = true;
        } else if (takes_value(a)) {
            unsigned long num = 0;
            if (!v) {
                fprintf(stderr, PROG ": %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--redis-sync") || !strcmp(a, "--redis-barrier") ||
                !strcmp(a, "--lockstep-timeout") || !strcmp(a, "--redis-connect-timeout") ||
                !strcmp(a, "--redis-timeout")) {
                if (!parse_uint(v, 1, 1ul << 30, &num)) {
                    fprintf(stderr, PROG ": %s wants a positive integer\n", a);
                    return 2;
                }
            }
            if (!strcmp(a, "--redis"))
                redis_addr = v;
            else if (!strcmp(a, "--checkpoint-redis"))
                ckpt_redis = v;
            else if (!strcmp(a, "--redis-sync"))
                redis_sync_every = num;
            else if (!strcmp(a, "--redis-barrier"))
                redis_barrier_n = num;
            else if (!strcmp(a, "--lockstep-timeout"))
                lockstep_timeout = num;
#ifdef T1071_AGENT_REDIS
            else if (!strcmp(a, "--redis-user"))
                ropts.user = v;
            else if (!strcmp(a, "--redis-password-file"))
                ropts.password_file = v;
            else if (!strcmp(a, "--redis-prefix"))
                ropts.prefix = v;
            else if (!strcmp(a, "--redis-connect-timeout"))
                ropts.connect_timeout_ms = (int)num;
            else if (!strcmp(a, "--redis-timeout"))
                ropts.command_timeout_ms = (int)num;
#endif
            i++;
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
    if (kafka && !ckpt_dir == !ckpt_redis) {
        fprintf(stderr, PROG ": --kafka-topic needs one checkpoint store (--checkpoint-dir DIR "
                "or --checkpoint-redis HOST:PORT): offsets are committed only after the "
                "partition's checkpoint is durable\n");
        return 2;
    }
    if (!kafka && (ckpt_dir || ckpt_redis)) {
        fprintf(stderr, PROG ": --checkpoint-dir and --checkpoint-redis go with --kafka-topic\n");
        return 2;
    }
    if (kafka && (lockstep || shard_n || prev_out || print_n)) {
        /* Kafka spreads the hosts over partitions itself. */
        fprintf(stderr, PROG ": --kafka-topic does not take --lockstep, --shard, "
                "--prevalence-out or --print-shards\n");
        return 2;
    }
#ifndef T1071_AGENT_REDIS
    (void)lockstep_timeout;
    if (redis_addr || lockstep || ckpt_redis) {
        fprintf(stderr, PROG ": built without hiredis: --redis, --checkpoint-redis and "
                "--lockstep are not available\n");
        return 2;
    }
#endif
    if (lockstep && (!redis_addr || !shard_n || pb_in || (nworkers && nworkers != 1))) {
        fprintf(stderr, PROG ": --lockstep needs --redis, --shard I/N, NDJSON input and -j 1\n");
        return 2;
    }
    if (lockstep)
        nworkers = 1;
    if (prev_out && nworkers != 1) {
        fprintf(stderr, PROG ": --prevalence-out needs -j 1 (one context)\n");
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
    if (metrics_addr && t1071a_metrics_start(metrics_addr, &metrics, aerr, sizeof aerr) != 0) {
        fprintf(stderr, PROG ": %s\n", aerr);
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
#ifdef T1071_AGENT_REDIS
        if (redis_addr) {
            char wbuf[64];
            t1071_ctx *probe = NULL;
            t1071_buffer *pb = NULL;
            uint64_t cur;

            ropts.addr = redis_addr;
            signal(SIGPIPE, SIG_IGN); /* a Redis dying mid-command: EPIPE, not death */
            if (t1071_init(&probe, cfg) != T1071_OK ||
                t1071_prevalence_export(probe, UINT64_MAX, &pb, &cur) != T1071_OK ||
                t1071_config_get(cfg, "tuning.prevalence_window", wbuf, sizeof wbuf, NULL) != T1071_OK ||
                (ko.redis_window_ms = t1071a_parse_duration_ms(wbuf)) < 0) {
                fprintf(stderr, PROG ": --redis needs tuning.fleet_key and prevalence "
                        "(tuning.prevalence_hosts or _suppress_hosts), one rule; set them with "
                        "--set or --config\n");
                t1071_free(probe);
                t1071a_metrics_stop(metrics);
                t1071_config_free(cfg);
                return 2;
            }
            t1071_buffer_free(pb);
            t1071_free(probe);
            ko.redis = &ropts;
            ko.redis_sync = redis_sync_every;
        }
#endif
        if (ckpt_redis) {
#ifdef T1071_AGENT_REDIS
            /* Checkpoints in Redis: the same AUTH and prefix as --redis, its
             * own connection.  Credentials are checked now: a wrong password
             * stops the agent at start, before it joins the group. */
            struct t1071a_redis_opts co = ropts;
            struct t1071a_rconn *cc = NULL;
            bool auth_failed = false;

            co.addr = ckpt_redis;
            signal(SIGPIPE, SIG_IGN);
            if (t1071a_rconn_new(&cc, &co, aerr, sizeof aerr) != 0 ||
                t1071a_rconn_connect(cc, &auth_failed, aerr, sizeof aerr) != 0) {
                fprintf(stderr, PROG ": --checkpoint-redis %s: %s%s\n", ckpt_redis, aerr,
                        auth_failed ? " (check --redis-user and the password file or "
                                      "T1071_REDIS_PASSWORD)" : "");
                t1071a_rconn_free(cc);
                status = 1;
            } else {
                t1071a_ckpt_redis_init(&store, cc); /* the store takes the connection */
                status = 0;
            }
#endif
        } else if (t1071a_ckpt_file_open(ckpt_dir, &store, aerr, sizeof aerr) != 0) {
            fprintf(stderr, PROG ": --checkpoint-dir %s\n", aerr);
            status = 1;
        } else {
            status = 0;
        }
        if (status == 0) {
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
    if (print_n) {
        status = print_shards(in, (uint32_t)print_n);
        goto out;
    }

    workers = calloc(nworkers, sizeof *workers);
    if (!workers) {
        status = 1;
        goto out;
    }
    for (unsigned i = 0; i < nworkers; i++)
        pthread_mutex_init(&workers[i].pub_mu, NULL);
    /* Every context is created here, before any thread starts: one config
     * must not be used by two threads at once. */
    for (unsigned i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];

        w->id = i;
        while (w->pub_nstats < PUB_STATS && t1071_stat_name(w->pub_nstats))
            w->pub_nstats++;
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
#ifdef T1071_AGENT_REDIS
    if (redis_addr) {
        char wbuf[64], err[600];
        int64_t window_ms;

        ropts.addr = redis_addr;
        /* hiredis writes with write(): a Redis that died mid-command must
         * be an EPIPE (degraded, retried), not a SIGPIPE killing the agent */
        signal(SIGPIPE, SIG_IGN);
        if (lockstep &&
            (t1071_config_get(cfg, "engine.lateness", wbuf, sizeof wbuf, NULL) != T1071_OK ||
             t1071a_parse_duration_ms(wbuf) != 0)) {
            /* a reorder buffer observes an event after later ones were fed:
             * the turn order would no longer be the observation order */
            fprintf(stderr, PROG ": --lockstep needs engine.lateness = 0 (got %s)\n", wbuf);
            status = 2;
            goto out;
        }
        if (t1071_config_get(cfg, "tuning.prevalence_window", wbuf, sizeof wbuf, NULL) != T1071_OK ||
            (window_ms = t1071a_parse_duration_ms(wbuf)) < 0) {
            fprintf(stderr, PROG ": cannot read tuning.prevalence_window\n");
            status = 1;
            goto out;
        }
        for (unsigned i = 0; i < nworkers; i++) {
            struct worker *w = &workers[i];
            bool auth_failed = false;
            char label[64];

            if (shard_n)
                snprintf(label, sizeof label, "shard%lu-of-%lu.%u", shard_i, shard_n, i);
            else
                snprintf(label, sizeof label, "%u", i);
            if (t1071a_rconn_new(&w->rconn, &ropts, err, sizeof err) != 0) {
                fprintf(stderr, PROG ": %s\n", err);
                status = 1;
                goto out;
            }
            if (t1071a_redis_new(&w->rs, w->rconn, w->ctx, label, window_ms, err, sizeof err) != 0) {
                fprintf(stderr, PROG ": --redis: %s; set them with --set or --config\n", err);
                status = 2;
                goto out;
            }
            if (t1071a_rconn_connect(w->rconn, &auth_failed, err, sizeof err) != 0) {
                if (auth_failed || lockstep) {
                    /* wrong credentials never fix themselves: fail at start */
                    fprintf(stderr, PROG ": %s\n", err);
                    status = 1;
                    goto out;
                }
                fprintf(stderr, PROG ": warning: %s; going on with local prevalence and "
                        "retrying with backoff\n", err);
            }
        }
    }
#endif
    rd.shard_i = (uint32_t)shard_i;
    rd.shard_n = (uint32_t)shard_n;
    if (metrics) {
        wset.w = workers;
        wset.n = nworkers;
#ifdef T1071_AGENT_REDIS
        wset.redis = redis_addr != NULL;
#endif
        for (unsigned i = 0; i < nworkers; i++)
            publish(&workers[i]); /* before any thread: the contexts as created */
        if (t1071a_metrics_add(metrics, workers_metrics, &wset) != 0)
            fprintf(stderr, PROG ": warning: /metrics: no room for the workers' source\n");
    }
#ifdef T1071_AGENT_REDIS
    if (lockstep) {
        rd.workers = workers;
        rd.nworkers = 1;
        if (run_lockstep(&rd, in, (int)lockstep_timeout) != 0)
            status = 1;
        started = 0;
        goto done;
    }
#endif
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

#ifdef T1071_AGENT_REDIS
done:
#endif
out:
    if (metrics)
        t1071a_metrics_remove(metrics, &wset); /* before the workers go */
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
#ifdef T1071_AGENT_REDIS
            if (w->rs && stats) {
                GString *line = g_string_new(PROG ": worker ");
                g_string_append_printf(line, "%u: ", i);
                t1071a_redis_stats_line(w->rs, line);
                fprintf(stderr, "%s\n", line->str);
                g_string_free(line, TRUE);
            }
            t1071a_redis_free(w->rs);
            t1071a_rconn_free(w->rconn);
#endif
            if (prev_out && status == 0 && write_prevalence(w->ctx, prev_out) != 0)
                status = 1;
            t1071_free(w->ctx);
            queue_destroy(&w->q);
        }
        for (unsigned i = 0; i < nworkers; i++)
            pthread_mutex_destroy(&workers[i].pub_mu);
        free(workers);
    }
    if (stats)
        fprintf(stderr, PROG ": reader: records %" PRIu64 " bad %" PRIu64 "\n", rd.records,
                rd.bad);
    if (stats && shard_n)
        fprintf(stderr, PROG ": shard %lu/%lu: other shards' events %" PRIu64 "\n", shard_i,
                shard_n, rd.other_shards);
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
