/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-agent's Kafka input (kafka-in.h).
 *
 * One thread (this one) polls the consumer and owns every context, so a
 * context is never used by two threads; the /metrics thread reads only the
 * text this thread publishes under pub_mu.
 *
 * Per assigned partition: a context restored from the partition's
 * checkpoint (then the consumer seeks to the checkpoint's offset), or, with
 * no checkpoint or a refused one, a fresh context from the committed offset.
 * A checkpoint is taken every --checkpoint-every records or
 * --checkpoint-interval ms with new records, on revocation and at SIGTERM:
 * poll and write the alerts, flush the alert producer, t1071_snapshot, put()
 * into the store, and only once put() returned 0 commit next_offset to
 * Kafka.  A partition whose assignment was lost (session timeout) is dropped
 * without a checkpoint: another member may own it already.
 *
 * Output is idempotent: a partition's context sees the partition's records
 * in offset order, from a state that is exactly the checkpoint's, so what a
 * new owner re-emits after a crash is byte for byte what was emitted before
 * (same group id, same sequence number). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kafka-in.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#ifdef T1071_AGENT_REDIS
#include "redis-store.h"
#endif

#define PROG "t1071-agent"
#define POLL_MS 100
#define PUBLISH_MS 500
#define FLUSH_MS 10000
#define CLOSE_TIMEOUT_S 10 /* leaving the group, once the checkpoints are written */
#define CKPT_RETRY_MS 1000
#define SKIP_LOGGED 100 /* the first skipped records logged one by one */

enum skip_reason { SKIP_NOT_JSON, SKIP_NOT_EVENT, SKIP_OVERSIZED, SKIP_N };
static const char *const skip_names[SKIP_N] = {"not_json", "not_event", "oversized"};

struct part {
    int32_t partition;
    t1071_ctx *ctx;
    int64_t next_offset;   /* of the next record to feed; -1: not known yet */
    int64_t ckpt_offset;   /* the last checkpoint's; -1: none */
    uint64_t since_ckpt;   /* records fed since */
    int64_t ckpt_at_ms;    /* monotonic time of the last checkpoint (or assignment) */
    int64_t retry_at_ms;   /* after a failed checkpoint, not before this */
    uint64_t records, skipped, alerts;
    bool restored;
    struct t1071a_rconn *rconn; /* --redis: this context's connection, */
    struct t1071a_redis *rs;    /* its shared prevalence */
    uint64_t since_sync;
};

struct agent {
    const struct t1071a_kafka_opts *o;
    const t1071_config *cfg;
    struct t1071a_ckpt_store *store;
    rd_kafka_t *rk, *prod;
    struct part *parts;
    size_t nparts, capparts;
    bool fatal;
    /* Agent counters (this thread). */
    uint64_t records, skipped[SKIP_N], bad_events, alerts, ckpt_written, ckpt_failed,
        snap_refused, rebalances, commits_failed, consume_errors;
    uint64_t delivery_failed; /* written by the producer's callback, on this thread */
    /* Output to stdout: one write() per alert. */
    char *line;
    size_t linecap;
    /* What /metrics shows, published by this thread. */
    pthread_mutex_t pub_mu;
    char *pub;
    size_t publen;
};

static volatile sig_atomic_t stop_flag;

/* A second SIGTERM or SIGINT, or SIGALRM while leaving the group (brokers
 * unreachable), ends the process at once: every checkpoint written so far
 * is durable, and a commit that did not happen is only a later start. */
static void
on_signal(int sig)
{
    static const char msg[] = PROG ": stopping now, without leaving the group cleanly\n";

    if (stop_flag || sig == SIGALRM) {
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(1);
    }
    stop_flag = 1;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ===== Configuration ===== */

/* Properties that hold secrets: never on the command line (visible in ps),
 * never repeated in a message. */
static bool
is_secret(const char *key)
{
    return strstr(key, "password") || strstr(key, "secret") || !strcmp(key, "ssl.key.pem") ||
           !strcmp(key, "sasl.oauthbearer.config") || !strcmp(key, "ssl_key");
}

int
t1071a_kafka_check_cli_prop(const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    char key[128];

    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
        snprintf(err, errlen, "-X wants a librdkafka property as KEY=VALUE");
        return -1;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    if (is_secret(key)) {
        snprintf(err, errlen,
                 "-X %s: secrets are not taken on the command line (every user sees it in ps); "
                 "put it in the --kafka-config file or set T1071_KAFKA_SASL_PASSWORD / "
                 "T1071_KAFKA_SSL_KEY_PASSWORD",
                 key);
        return -1;
    }
    return 0;
}

/* Sets one property on both configurations; the message names the key and
 * where it came from, and repeats librdkafka's reason only for a non-secret. */
static int
set_prop(rd_kafka_conf_t *c, rd_kafka_conf_t *p, const char *key, const char *val, const char *where)
{
    char e[512];

    if (rd_kafka_conf_set(c, key, val, e, sizeof e) != RD_KAFKA_CONF_OK ||
        (p && rd_kafka_conf_set(p, key, val, e, sizeof e) != RD_KAFKA_CONF_OK)) {
        if (is_secret(key))
            fprintf(stderr, PROG ": %s: %s: refused by librdkafka\n", where, key);
        else
            fprintf(stderr, PROG ": %s: %s\n", where, e);
        return -1;
    }
    return 0;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* --kafka-config FILE: "key=value" lines, '#' comments, blank lines. */
static int
load_config_file(const char *path, rd_kafka_conf_t *c, rd_kafka_conf_t *p)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, where[512];
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;

    struct stat st;

    if (!f) {
        fprintf(stderr, PROG ": --kafka-config %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        fprintf(stderr, PROG ": warning: --kafka-config %s is open to other users (mode %03o); "
                "it may hold secrets: chmod 600 it\n", path, (unsigned)(st.st_mode & 0777));
    while (getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq;
        lineno++;
        if (!*s || *s == '#')
            continue;
        eq = strchr(s, '=');
        snprintf(where, sizeof where, "--kafka-config %s line %u", path, lineno);
        if (!eq) {
            fprintf(stderr, PROG ": %s: not KEY=VALUE\n", where);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (set_prop(c, p, trim(s), trim(eq + 1), where) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, PROG ": --kafka-config %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    /* The line may hold a secret: clear it before it goes back to malloc. */
    if (line)
        memset(line, 0, cap);
    free(line);
    fclose(f);
    return rc;
}

static const struct {
    const char *env, *key;
} env_secrets[] = {
    {"T1071_KAFKA_SASL_PASSWORD", "sasl.password"},
    {"T1071_KAFKA_SSL_KEY_PASSWORD", "ssl.key.password"},
};

/* ===== Output ===== */

static int
line_reserve(struct agent *a, size_t n)
{
    if (n <= a->linecap)
        return 0;
    size_t cap = a->linecap ? a->linecap : 4096;
    while (cap < n)
        cap *= 2;
    char *p = realloc(a->line, cap);
    if (!p)
        return -1;
    a->line = p;
    a->linecap = cap;
    return 0;
}

static int
write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The alert's kibana.alert.group.id, the message key: the only "group"
 * member of the rendering (user strings have their quotes escaped). */
static const char *
group_id(const char *json, size_t len, size_t *idlen)
{
    static const char pat[] = "\"group\":{\"id\":\"";
    const char *p = memmem(json, len, pat, sizeof pat - 1);

    if (!p)
        return NULL;
    p += sizeof pat - 1;
    const char *q = memchr(p, '"', len - (size_t)(p - json));
    if (!q)
        return NULL;
    *idlen = (size_t)(q - p);
    return p;
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct agent *a = opaque;
    (void)rk;
    if (m->err) {
        if (a->delivery_failed++ == 0)
            fprintf(stderr, PROG ": alert not delivered to %s: %s\n", a->o->alerts_topic,
                    rd_kafka_err2str(m->err));
    }
}

static int
emit_alert(struct agent *a, t1071_alert_batch *b, size_t i)
{
    const char *json = NULL;
    const uint8_t *data = NULL;
    size_t jlen = 0, len = 0;

    if (a->o->out == T1071A_OUT_NONE)
        return 0;
    if ((a->o->out == T1071A_OUT_ALERTS || a->prod) &&
        t1071_alert_batch_get_json(b, i, &json, &jlen) != T1071_OK)
        return -1;
    if (a->o->out == T1071A_OUT_PB && t1071_alert_batch_get(b, i, &data, &len) != T1071_OK)
        return -1;
    if (a->o->out == T1071A_OUT_ALERTS) {
        data = (const uint8_t *)json;
        len = jlen;
    }
    if (a->prod) {
        size_t klen = 0;
        const char *key = group_id(json, jlen, &klen);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                a->prod, RD_KAFKA_V_TOPIC(a->o->alerts_topic),
                RD_KAFKA_V_KEY(key, key ? klen : 0), RD_KAFKA_V_VALUE((void *)data, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, PROG ": alert to %s: %s\n", a->o->alerts_topic, rd_kafka_err2str(e));
                return -1;
            }
            rd_kafka_poll(a->prod, 100); /* backpressure: wait for deliveries */
        }
    }
    /* stdout: each alert with one write(), so a kill never tears a line. */
    size_t n = 0;
    if (a->o->out == T1071A_OUT_ALERTS) {
        if (line_reserve(a, len + 1) != 0)
            return -1;
        memcpy(a->line, data, len);
        a->line[len] = '\n';
        n = len + 1;
    } else {
        if (line_reserve(a, len + 10) != 0)
            return -1;
        uint64_t v = len;
        do {
            a->line[n] = (char)(v & 0x7f);
            v >>= 7;
            if (v)
                a->line[n] |= (char)0x80;
            n++;
        } while (v);
        memcpy(a->line + n, data, len);
        n += len;
    }
    return write_all(a->line, n);
}

/* Polls @p p's alerts and writes them; a failed write is fatal (the alerts
 * after the last checkpoint are then emitted again by the next owner). */
static int
drain(struct agent *a, struct part *p)
{
    t1071_alert_batch *b = NULL;
    int rc = t1071_poll_alerts(p->ctx, &b);

    if (rc != T1071_OK) {
        fprintf(stderr, PROG ": %s[%d]: poll: %s\n", a->o->topic, (int)p->partition, t1071_strerror(rc));
        a->fatal = true;
        return -1;
    }
    size_t n = t1071_alert_batch_count(b);
    for (size_t i = 0; i < n; i++) {
        if (emit_alert(a, b, i) != 0) {
            fprintf(stderr, PROG ": write error: %s\n", strerror(errno));
            a->fatal = true;
            t1071_alert_batch_free(b);
            return -1;
        }
    }
    p->alerts += n;
    a->alerts += n;
    t1071_alert_batch_free(b);
    return 0;
}

/* ===== Partitions ===== */

static struct part *
part_find(struct agent *a, int32_t partition)
{
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].partition == partition)
            return &a->parts[i];
    return NULL;
}

static void
part_free(struct part *p)
{
#ifdef T1071_AGENT_REDIS
    if (p->rs) {
        /* What this context observed since its last sync: pushing it twice
         * (the next owner pushes it too) changes nothing. */
        t1071a_redis_push(p->rs);
        t1071a_redis_free(p->rs);
        p->rs = NULL;
    }
    t1071a_rconn_free(p->rconn);
    p->rconn = NULL;
#endif
    t1071_free(p->ctx);
    p->ctx = NULL;
}

static void
part_remove(struct agent *a, struct part *p)
{
    part_free(p);
    *p = a->parts[--a->nparts];
}

/* Checkpoint: alerts out and delivered, snapshot durable, then commit. */
static int
checkpoint(struct agent *a, struct part *p, const char *why)
{
    char err[512];
    t1071_buffer *snap = NULL;
    int rc;

    if (a->fatal || p->next_offset < 0)
        return -1;
    if (drain(a, p) != 0)
        return -1;
    if (a->prod) {
        rd_kafka_resp_err_t e = rd_kafka_flush(a->prod, FLUSH_MS);
        if (a->delivery_failed) {
            /* Never commit past an alert that is not in the topic: stop, and
             * the next owner emits it again from the last checkpoint. */
            fprintf(stderr, PROG ": %s[%d]: alerts not delivered; stopping without a checkpoint\n",
                    a->o->topic, (int)p->partition);
            a->ckpt_failed++;
            a->fatal = true;
            return -1;
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Still on their way (brokers slow or away): no checkpoint yet. */
            if (a->ckpt_failed++ < 20 || a->ckpt_failed % 100 == 0)
                fprintf(stderr, PROG ": %s[%d]: checkpoint (%s) deferred: alerts not yet delivered "
                        "(%s)\n", a->o->topic, (int)p->partition, why, rd_kafka_err2str(e));
            p->retry_at_ms = now_ms() + CKPT_RETRY_MS;
            return -1;
        }
    }
    if ((rc = t1071_snapshot(p->ctx, &snap)) != T1071_OK) {
        fprintf(stderr, PROG ": %s[%d]: snapshot: %s\n", a->o->topic, (int)p->partition, t1071_strerror(rc));
        a->ckpt_failed++;
        p->retry_at_ms = now_ms() + CKPT_RETRY_MS;
        return -1;
    }
    rc = a->store->ops->put(a->store->impl, a->o->group, a->o->topic, p->partition,
                            t1071_buffer_data(snap), t1071_buffer_size(snap), p->next_offset, err,
                            sizeof err);
    t1071_buffer_free(snap);
    if (rc != 0) {
        /* Nothing is committed: the records since the last checkpoint are
         * read again by the next owner.  Try again in a second. */
        if (a->ckpt_failed++ < 20 || a->ckpt_failed % 100 == 0)
            fprintf(stderr, PROG ": %s[%d]: checkpoint (%s) not stored: %s\n", a->o->topic,
                    (int)p->partition, why, err);
        p->retry_at_ms = now_ms() + CKPT_RETRY_MS;
        return -1;
    }
    a->ckpt_written++;
    p->ckpt_offset = p->next_offset;
    p->since_ckpt = 0;
    p->ckpt_at_ms = now_ms();

    /* Asynchronous: a commit never blocks the thread (a coordinator away
     * would freeze every partition).  The checkpoint holds the offset, so
     * a commit that fails only means the next owner without a checkpoint
     * starts earlier; offset_commit_cb counts it. */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, a->o->topic, p->partition)->offset = p->next_offset;
    rd_kafka_resp_err_t e = rd_kafka_commit(a->rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (a->commits_failed++ < 20)
            fprintf(stderr, PROG ": %s[%d]: commit of offset %" PRId64 ": %s\n", a->o->topic,
                    (int)p->partition, p->next_offset, rd_kafka_err2str(e));
    }
    return 0;
}

static void
commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l, void *opaque)
{
    struct agent *a = opaque;
    (void)rk;

    for (int i = 0; l && i < l->cnt; i++) {
        rd_kafka_resp_err_t e = err ? err : l->elems[i].err;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
            continue;
        if (a->commits_failed++ < 20)
            fprintf(stderr, PROG ": %s[%d]: commit of offset %" PRId64 ": %s\n", l->elems[i].topic,
                    (int)l->elems[i].partition, l->elems[i].offset, rd_kafka_err2str(e));
    }
}

/* A newly assigned partition: its context and the offset to start from. */
static int
part_open(struct agent *a, int32_t partition, int64_t *offset)
{
    char err[512];
    void *snap = NULL;
    size_t len = 0;
    int64_t off = -1;
    struct part p = {.partition = partition, .next_offset = -1, .ckpt_offset = -1};
    int rc;

    *offset = RD_KAFKA_OFFSET_STORED; /* the committed offset, else auto.offset.reset */
    rc = a->store->ops->get(a->store->impl, a->o->group, a->o->topic, partition, &snap, &len, &off,
                            err, sizeof err);
    if (rc < 0) {
        a->snap_refused++;
        fprintf(stderr, PROG ": %s[%d]: checkpoint refused (%s); starting from the committed offset "
                "with a fresh context\n", a->o->topic, (int)partition, err);
    } else if (rc == 1) {
        int r = off < 0 ? T1071_E_RANGE : t1071_restore(&p.ctx, snap, len);
        if (r == T1071_E_NOMEM) {
            /* Not the snapshot's fault: refusing it would drop good state. */
            fprintf(stderr, PROG ": %s[%d]: restore: out of memory\n", a->o->topic, (int)partition);
            free(snap);
            return -1;
        }
        if (r != T1071_OK) {
            a->snap_refused++;
            p.ctx = NULL;
            fprintf(stderr, PROG ": %s[%d]: snapshot refused by t1071_restore (%s); starting from "
                    "the committed offset with a fresh context\n", a->o->topic, (int)partition,
                    off < 0 ? "negative offset" : t1071_strerror(r));
        } else {
            p.restored = true;
            p.next_offset = p.ckpt_offset = off;
            *offset = off;
            fprintf(stderr, PROG ": %s[%d]: restored the checkpoint at offset %" PRId64 "\n",
                    a->o->topic, (int)partition, off);
        }
    }
    free(snap);
    if (!p.ctx && (rc = t1071_init(&p.ctx, a->cfg)) != T1071_OK) {
        fprintf(stderr, PROG ": %s[%d]: t1071_init: %s\n", a->o->topic, (int)partition, t1071_strerror(rc));
        return -1;
    }
#ifdef T1071_AGENT_REDIS
    if (a->o->redis) {
        char label[300];
        bool auth_failed = false;

        snprintf(label, sizeof label, "%s/%d", a->o->topic, (int)partition);
        if (t1071a_rconn_new(&p.rconn, a->o->redis, err, sizeof err) != 0 ||
            t1071a_redis_new(&p.rs, p.rconn, p.ctx, label, a->o->redis_window_ms, err, sizeof err) != 0) {
            fprintf(stderr, PROG ": %s[%d]: --redis: %s\n", a->o->topic, (int)partition, err);
            part_free(&p);
            return -1;
        }
        if (t1071a_rconn_connect(p.rconn, &auth_failed, err, sizeof err) != 0) {
            if (auth_failed) {
                fprintf(stderr, PROG ": --redis: %s\n", err);
                part_free(&p);
                return -1;
            }
            /* Down: the context goes on with its local prevalence (the
             * stats say degraded) and catches up when Redis returns. */
        }
        t1071a_redis_sync(p.rs); /* what the other contexts pushed so far */
    }
#endif
    if (a->nparts == a->capparts) {
        size_t cap = a->capparts ? a->capparts * 2 : 16;
        struct part *np = realloc(a->parts, cap * sizeof *np);
        if (!np) {
            t1071_free(p.ctx);
            fprintf(stderr, PROG ": out of memory\n");
            return -1;
        }
        a->parts = np;
        a->capparts = cap;
    }
    p.ckpt_at_ms = now_ms();
    a->parts[a->nparts++] = p;
    return 0;
}

/* "t1071-agent: assigned ev[0,2], 2 owned" */
static void
log_parts(struct agent *a, const char *what, const rd_kafka_topic_partition_list_t *l)
{
    char buf[512];
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < l->cnt && n < sizeof buf - 16; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? "," : "", (int)l->elems[i].partition);
    fprintf(stderr, PROG ": %s %s[%s%s], %zu owned\n", what, a->o->topic, buf,
            n >= sizeof buf - 16 ? ",..." : "", a->nparts);
}

static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l, void *opaque)
{
    struct agent *a = opaque;
    bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *e = NULL;

    a->rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < l->cnt; i++) {
            int64_t off;
            if (strcmp(l->elems[i].topic, a->o->topic) != 0)
                continue;
            if (part_find(a, l->elems[i].partition))
                continue;
            if (part_open(a, l->elems[i].partition, &off) != 0) {
                a->fatal = true;
                off = RD_KAFKA_OFFSET_STORED;
            }
            l->elems[i].offset = off;
        }
        if (coop)
            e = rd_kafka_incremental_assign(rk, l);
        else
            rd_kafka_assign(rk, l);
        log_parts(a, "assigned", l);
    } else {
        /* Revoked: checkpoint and drop; lost (the session timed out): only
         * drop, another member may own the partition and checkpoint it. */
        bool lost = rd_kafka_assignment_lost(rk) || err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
        for (int i = 0; i < l->cnt; i++) {
            struct part *p = part_find(a, l->elems[i].partition);
            if (!p || strcmp(l->elems[i].topic, a->o->topic) != 0)
                continue;
            if (!lost && p->since_ckpt)
                checkpoint(a, p, "revoked");
            part_remove(a, p);
        }
        if (coop)
            e = rd_kafka_incremental_unassign(rk, l);
        else
            rd_kafka_assign(rk, NULL);
        log_parts(a, lost ? "lost" : "revoked", l);
    }
    if (e) {
        fprintf(stderr, PROG ": rebalance: %s\n", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* ===== Records ===== */

static void
skip(struct agent *a, struct part *p, const rd_kafka_message_t *m, enum skip_reason r, const char *detail)
{
    uint64_t total = 0;

    a->skipped[r]++;
    p->skipped++;
    for (int i = 0; i < SKIP_N; i++)
        total += a->skipped[i];
    if (total <= SKIP_LOGGED || total % 1000 == 0)
        fprintf(stderr, PROG ": %s[%d]@%" PRId64 " skipped: %s (%s)%s\n", a->o->topic,
                (int)m->partition, m->offset, skip_names[r], detail,
                total == SKIP_LOGGED ? "; further skipped records are logged every 1000th" : "");
}

static void
handle(struct agent *a, const rd_kafka_message_t *m)
{
    struct part *p;
    t1071_buffer *buf = NULL;
    const uint8_t *data;
    size_t len = m->len;
    int rc;

    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return;
        if (a->consume_errors++ < 20)
            fprintf(stderr, PROG ": consumer: %s\n", rd_kafka_message_errstr(m));
        return;
    }
    if (!m->rkt || strcmp(rd_kafka_topic_name(m->rkt), a->o->topic) != 0)
        return;
    p = part_find(a, m->partition);
    if (!p || (p->next_offset >= 0 && m->offset < p->next_offset))
        return; /* not ours (any more), or seen already */
    a->records++;
    p->records++;
    p->next_offset = m->offset + 1;
    p->since_ckpt++;
    if (len > a->o->max_record) {
        char d[96];
        snprintf(d, sizeof d, "%zu bytes, --max-record-bytes %zu", len, a->o->max_record);
        skip(a, p, m, SKIP_OVERSIZED, d);
        return;
    }
    if (a->o->pb_in) {
        data = m->payload;
    } else {
        const char *s = m->payload;
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            len--;
        /* The offset names events without event.id ("line:<offset+1>"):
         * the same name whichever member reads the record. */
        rc = t1071_event_from_json(s ? s : "", len, (uint64_t)m->offset + 1, &buf);
        if (rc == T1071_E_NOMEM) {
            fprintf(stderr, PROG ": out of memory\n");
            a->fatal = true;
            return;
        }
        if (rc != T1071_OK) {
            skip(a, p, m, rc == T1071_E_JSON ? SKIP_NOT_JSON : SKIP_NOT_EVENT, t1071_strerror(rc));
            return;
        }
        data = t1071_buffer_data(buf);
        len = t1071_buffer_size(buf);
    }
    while ((rc = t1071_feed_event(p->ctx, data ? data : (const uint8_t *)"", len)) == T1071_E_QUEUE_FULL)
        if (drain(a, p) != 0)
            break;
    t1071_buffer_free(buf);
#ifdef T1071_AGENT_REDIS
    if (p->rs && ++p->since_sync >= a->o->redis_sync) {
        t1071a_redis_sync(p->rs);
        p->since_sync = 0;
    }
#endif
    if (rc != T1071_OK && rc != T1071_E_QUEUE_FULL) {
        /* Consumed, counted and dropped by the library. */
        a->bad_events++;
        skip(a, p, m, SKIP_NOT_EVENT, t1071_errmsg(p->ctx));
    }
    drain(a, p);
}

/* ===== Metrics ===== */

static void
publish(struct agent *a)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);

    if (!f)
        return;
#define C(name, v) fprintf(f, "# TYPE t1071_agent_" name " counter\nt1071_agent_" name " %" PRIu64 "\n", (uint64_t)(v))
    C("records_total", a->records);
    fprintf(f, "# TYPE t1071_agent_records_skipped_total counter\n");
    for (int i = 0; i < SKIP_N; i++)
        fprintf(f, "t1071_agent_records_skipped_total{reason=\"%s\"} %" PRIu64 "\n", skip_names[i],
                a->skipped[i]);
    C("alerts_total", a->alerts);
    C("checkpoints_written_total", a->ckpt_written);
    C("checkpoints_failed_total", a->ckpt_failed);
    C("snapshots_refused_total", a->snap_refused);
    C("rebalances_total", a->rebalances);
    C("commits_failed_total", a->commits_failed);
    C("consume_errors_total", a->consume_errors);
    C("alerts_undelivered_total", a->delivery_failed);
#undef C
    fprintf(f, "# TYPE t1071_agent_partitions_assigned gauge\nt1071_agent_partitions_assigned %zu\n",
            a->nparts);
    /* Per partition: the agent's own, then the context's stats. */
    static const char *const pnames[] = {"partition_next_offset", "partition_checkpoint_offset",
                                         "partition_records_total", "partition_records_skipped_total",
                                         "partition_alerts_total", "partition_restored"};
    for (int k = 0; k < 6; k++) {
        fprintf(f, "# TYPE t1071_agent_%s %s\n", pnames[k], strstr(pnames[k], "_total") ? "counter" : "gauge");
        for (size_t i = 0; i < a->nparts; i++) {
            struct part *p = &a->parts[i];
            int64_t v = k == 0 ? p->next_offset : k == 1 ? p->ckpt_offset : k == 2 ? (int64_t)p->records
                      : k == 3 ? (int64_t)p->skipped : k == 4 ? (int64_t)p->alerts : p->restored;
            fprintf(f, "t1071_agent_%s{topic=\"%s\",partition=\"%d\"} %" PRId64 "\n", pnames[k],
                    a->o->topic, (int)p->partition, v);
        }
    }
#ifdef T1071_AGENT_REDIS
    /* Shared prevalence, per context (redis-store.h's names, one family
     * each with every context's sample). */
    static const char *const rnames[] = {"degraded", "pushes_total", "pulls_total",
                                         "failures_total", "catchups_total", "resets_total",
                                         "merge_refused_total"};
    for (int k = 0; a->o->redis && k < 7; k++) {
        fprintf(f, "# TYPE t1071_agent_redis_%s %s\n", rnames[k], k ? "counter" : "gauge");
        for (size_t i = 0; i < a->nparts; i++) {
            struct t1071a_redis_stats st;
            uint64_t v;
            if (!a->parts[i].rs)
                continue;
            t1071a_redis_stats(a->parts[i].rs, &st);
            v = k == 0 ? (uint64_t)st.degraded : k == 1 ? st.pushes : k == 2 ? st.pulls
              : k == 3 ? st.failures : k == 4 ? st.catchups : k == 5 ? st.resets : st.merge_refused;
            fprintf(f, "t1071_agent_redis_%s{context=\"%s/%d\"} %" PRIu64 "\n", rnames[k],
                    a->o->topic, (int)a->parts[i].partition, v);
        }
    }
#endif
    for (int id = 0; t1071_stat_name(id); id++) {
        const char *name = t1071_stat_name(id);
        bool g = t1071a_stat_is_gauge(id);
        fprintf(f, "# TYPE t1071_%s%s %s\n", name, g ? "" : "_total", g ? "gauge" : "counter");
        for (size_t i = 0; i < a->nparts; i++) {
            uint64_t v;
            if (t1071_stats_get(a->parts[i].ctx, id, &v) == T1071_OK)
                fprintf(f, "t1071_%s%s{topic=\"%s\",partition=\"%d\"} %" PRIu64 "\n", name,
                        g ? "" : "_total", a->o->topic, (int)a->parts[i].partition, v);
        }
    }
    if (fclose(f) != 0) {
        free(s);
        return;
    }
    pthread_mutex_lock(&a->pub_mu);
    free(a->pub);
    a->pub = s;
    a->publen = n;
    pthread_mutex_unlock(&a->pub_mu);
}

static void
metrics_source(void *arg, struct t1071a_text *out)
{
    struct agent *a = arg;

    pthread_mutex_lock(&a->pub_mu);
    if (a->pub)
        t1071a_text_printf(out, "%.*s", (int)a->publen, a->pub);
    pthread_mutex_unlock(&a->pub_mu);
}

static void
print_stats(struct agent *a)
{
    fprintf(stderr, PROG ": kafka: records %" PRIu64 " skipped not_json %" PRIu64 " not_event %" PRIu64
            " oversized %" PRIu64 " alerts %" PRIu64 " checkpoints %" PRIu64 " failed %" PRIu64
            " snapshots_refused %" PRIu64 " rebalances %" PRIu64 " commits_failed %" PRIu64 "\n",
            a->records, a->skipped[SKIP_NOT_JSON], a->skipped[SKIP_NOT_EVENT],
            a->skipped[SKIP_OVERSIZED], a->alerts, a->ckpt_written, a->ckpt_failed, a->snap_refused,
            a->rebalances, a->commits_failed);
}

/* ===== Run ===== */

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    fprintf(stderr, PROG ": librdkafka %d %s: %s\n", level, fac, buf);
}

int
t1071a_kafka_run(const struct t1071a_kafka_opts *o, const t1071_config *cfg,
                 struct t1071a_ckpt_store *store, struct t1071a_metrics *metrics)
{
    struct agent a = {.o = o, .cfg = cfg, .store = store};
    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = o->alerts_topic ? rd_kafka_conf_new() : NULL;
    char e[512];
    int status = 1;
    struct sigaction sa = {0};
    int64_t last_pub = 0;

    pthread_mutex_init(&a.pub_mu, NULL);
    /* A partition nobody committed yet is read from its start (librdkafka's
     * default is its end); the user's settings may say otherwise. */
    if (set_prop(cc, NULL, "auto.offset.reset", "earliest", "agent") != 0)
        goto out_conf;
    /* The user's settings (security, brokers) go to both clients. */
    rd_kafka_conf_set_log_cb(cc, log_cb);
    if (pc)
        rd_kafka_conf_set_log_cb(pc, log_cb);
    if (o->config_file && load_config_file(o->config_file, cc, pc) != 0)
        goto out_conf;
    for (size_t i = 0; i < sizeof env_secrets / sizeof env_secrets[0]; i++) {
        const char *v = getenv(env_secrets[i].env);
        if (v && *v && set_prop(cc, pc, env_secrets[i].key, v, env_secrets[i].env) != 0)
            goto out_conf;
    }
    for (size_t i = 0; i < o->nprops; i++) {
        char kv[1024];
        snprintf(kv, sizeof kv, "%s", o->props[i]);
        char *eq = strchr(kv, '=');
        if (!eq)
            goto out_conf;
        *eq = '\0';
        if (set_prop(cc, pc, kv, eq + 1, "-X") != 0)
            goto out_conf;
    }
    if (o->brokers && set_prop(cc, pc, "bootstrap.servers", o->brokers, "--kafka-brokers") != 0)
        goto out_conf;
    /* Offsets are ours to commit, after the checkpoint. */
    if (set_prop(cc, NULL, "group.id", o->group, "--kafka-group") != 0 ||
        set_prop(cc, NULL, "enable.auto.commit", "false", "agent") != 0 ||
        set_prop(cc, NULL, "enable.auto.offset.store", "false", "agent") != 0)
        goto out_conf;
    rd_kafka_conf_set_opaque(cc, &a);
    rd_kafka_conf_set_rebalance_cb(cc, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(cc, commit_cb);

    if (pc) {
        rd_kafka_conf_set_opaque(pc, &a);
        rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
        if (!(a.prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof e))) {
            fprintf(stderr, PROG ": alert producer: %s\n", e);
            goto out_conf;
        }
        pc = NULL;
    }
    if (!(a.rk = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof e))) {
        fprintf(stderr, PROG ": consumer: %s\n", e);
        goto out_conf;
    }
    cc = NULL;
    rd_kafka_poll_set_consumer(a.rk);
    {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(a.rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
            fprintf(stderr, PROG ": subscribe %s: %s\n", o->topic, rd_kafka_err2str(err));
            goto out;
        }
    }
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    publish(&a);
    if (metrics && t1071a_metrics_add(metrics, metrics_source, &a) != 0)
        fprintf(stderr, PROG ": metrics: too many sources; the Kafka input's are left out\n");
    fprintf(stderr, PROG ": consuming %s as group %s\n", o->topic, o->group);

    while (!stop_flag && !a.fatal) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a.rk, POLL_MS);
        int64_t now;
        if (m) {
            handle(&a, m);
            rd_kafka_message_destroy(m);
        }
        if (a.prod)
            rd_kafka_poll(a.prod, 0);
        now = now_ms();
        for (size_t i = 0; i < a.nparts && !a.fatal; i++) {
            struct part *p = &a.parts[i];
            if (p->since_ckpt && now >= p->retry_at_ms &&
                (p->since_ckpt >= o->ckpt_records || now - p->ckpt_at_ms >= (int64_t)o->ckpt_ms))
                checkpoint(&a, p, "periodic");
        }
        if (now - last_pub >= PUBLISH_MS) {
            publish(&a);
            last_pub = now;
        }
    }
    if (!a.fatal) {
        /* Leaving: every partition checkpointed and committed, then the
         * group is left (its revocation finds nothing new). */
        size_t failed = 0;
        for (size_t i = 0; i < a.nparts; i++)
            if (a.parts[i].since_ckpt && checkpoint(&a, &a.parts[i], "shutdown") != 0)
                failed++;
        if (failed)
            fprintf(stderr, PROG ": stopping: %zu of %zu partition(s) not checkpointed (their "
                    "records since the last checkpoint are read again)\n", failed, a.nparts);
        else
            fprintf(stderr, PROG ": stopping: %zu partition(s) checkpointed\n", a.nparts);
        status = a.fatal || failed ? 1 : 0;
    }
    alarm(CLOSE_TIMEOUT_S);
out:
    if (metrics)
        t1071a_metrics_remove(metrics, &a);
    if (a.fatal) {
        /* Leave without a checkpoint: drop the contexts first, so the
         * revocation below writes nothing. */
        for (size_t i = 0; i < a.nparts; i++)
            a.parts[i].since_ckpt = 0;
    }
    rd_kafka_consumer_close(a.rk);
    rd_kafka_destroy(a.rk);
    if (a.prod) {
        if (!a.fatal)
            rd_kafka_flush(a.prod, FLUSH_MS);
        else
            rd_kafka_purge(a.prod, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(a.prod);
    }
    alarm(0);
    if (o->stats)
        print_stats(&a);
    for (size_t i = 0; i < a.nparts; i++)
        part_free(&a.parts[i]);
    free(a.parts);
    free(a.line);
    free(a.pub);
    pthread_mutex_destroy(&a.pub_mu);
    return status;
out_conf:
    if (cc)
        rd_kafka_conf_destroy(cc);
    if (pc)
        rd_kafka_conf_destroy(pc);
    if (a.prod)
        rd_kafka_destroy(a.prod);
    pthread_mutex_destroy(&a.pub_mu);
    return 2;
}
