/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet agent's Redis side (issue 15): one connection module, fleet
 * prevalence shared through an atomic server-side merge (Lua), the lockstep
 * turn of the verification mode, and a Redis backend of checkpoint.h.
 * examples/agent/README.md, "Shared prevalence through Redis", describes
 * the keys, the scripts and the failure behaviour.
 *
 * Threads: one struct per thread (each holds its own connection). */
#ifndef T1071_AGENT_REDIS_STORE_H
#define T1071_AGENT_REDIS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "checkpoint.h"
#include "t1071/t1071detect.h"

/* Where and how to connect.  The password is never an option value: it is
 * read from password_file, else from the environment variable
 * T1071_REDIS_PASSWORD (t1071a_redis_opts_secret()). */
struct t1071a_redis_opts {
    const char *addr;          /* "HOST:PORT", "[V6]:PORT", "unix:/path" or "/path" */
    const char *user;          /* ACL user (NULL: the default user) */
    const char *password_file; /* NULL: T1071_REDIS_PASSWORD, else no AUTH */
    const char *prefix;        /* key prefix per deployment (default "t1071") */
    int connect_timeout_ms;    /* default 2000 */
    int command_timeout_ms;    /* default 5000 */
};

/* One connection with AUTH and reconnect-with-backoff. */
struct t1071a_rconn;

/* Reads the password (file or environment) into the options' private copy.
 * 0 on success (also when there is none); -1 with err set. */
int t1071a_rconn_new(struct t1071a_rconn **out, const struct t1071a_redis_opts *o, char *err,
                     size_t errlen);
/* Connects now (AUTH included).  0 on success; -1 with err set (never the
 * password).  *auth_failed is set when the server refused the credentials. */
int t1071a_rconn_connect(struct t1071a_rconn *c, bool *auth_failed, char *err, size_t errlen);
void t1071a_rconn_free(struct t1071a_rconn *c);
const char *t1071a_rconn_prefix(const struct t1071a_rconn *c);
/* The underlying redisContext (connected, or NULL while down / in backoff);
 * for tests and the checkpoint backend. */
void *t1071a_rconn_ctx(struct t1071a_rconn *c);

/* ===== Fleet prevalence through Redis ===== */

struct t1071a_redis_stats {
    int degraded;          /* 1 while the last exchange failed */
    uint64_t pushes;       /* successful pushes of a delta */
    uint64_t pulls;        /* successful pulls merged */
    uint64_t failures;     /* failed exchanges (push or pull, connect) */
    uint64_t catchups;     /* successful pushes after degraded (what was missed) */
    uint64_t resets;       /* Redis lost its data (new epoch): whole table pushed again */
    uint64_t merge_refused;/* pulled states the library refused (never expected) */
    uint64_t entries_pushed, entries_pulled;
};

struct t1071a_redis;

/* @p label names the context in stats and metrics (e.g. "0" or "shard-1/4").
 * @p window_ms is tuning.prevalence_window (the prune horizon).  The context
 * must have tuning.fleet_key and prevalence (t1071_prevalence_export works).
 * Returns 0, or -1 with err set. */
int t1071a_redis_new(struct t1071a_redis **out, struct t1071a_rconn *conn, t1071_ctx *ctx,
                     const char *label, int64_t window_ms, char *err, size_t errlen);
void t1071a_redis_free(struct t1071a_redis *r);

/* Push what changed since the last successful push (the export cursor only
 * moves after Redis acknowledged), then pull what the others pushed and merge
 * it.  Never blocks longer than the command timeout; while Redis is down it
 * returns at once until the backoff has passed.  0: both done; -1: not (the
 * context goes on with its local prevalence; stats say degraded). */
int t1071a_redis_sync(struct t1071a_redis *r);
int t1071a_redis_push(struct t1071a_redis *r);
int t1071a_redis_pull(struct t1071a_redis *r);
/* Ignore the backoff for the next attempt (lockstep waits, final sync). */
void t1071a_redis_retry_now(struct t1071a_redis *r);

void t1071a_redis_stats(const struct t1071a_redis *r, struct t1071a_redis_stats *out);
/* One line for --stats (no secret in it). */
void t1071a_redis_stats_line(const struct t1071a_redis *r, GString *out);
/* Prometheus text lines (t1071_agent_redis_*{context="label"}), for /metrics. */
void t1071a_redis_metrics(struct t1071a_redis *r, GString *out);

/* ===== Lockstep turn (test / verification mode) and barrier ===== */

/* The turn counter <prefix>:lockstep:turn: *turn is its value (0 absent).
 * 0 or -1 (Redis down). */
int t1071a_redis_turn_get(struct t1071a_redis *r, uint64_t *turn);
int t1071a_redis_turn_set(struct t1071a_redis *r, uint64_t turn);
/* INCR <prefix>:barrier and wait until it reaches n (or timeout_ms passes):
 * 0, or -1. */
int t1071a_redis_barrier(struct t1071a_redis *r, uint64_t n, int timeout_ms);

/* ===== Checkpoints in Redis (checkpoint.h) ===== */

/* A store over its own connection (the store takes @p conn).  Records are
 * framed: "T1071CKR" | u32 version 1 | u32 0 | i64 next offset | u64 length |
 * snapshot bytes, under <prefix>:ckpt:<group>:<topic>:<partition> (':' and
 * '%' in the group written as %3A and %25), one SET each. */
void t1071a_ckpt_redis_init(struct t1071a_ckpt_store *st, struct t1071a_rconn *conn);

/* Restores a partition's context from any store: 1 restored (*ctx set),
 * 0 no checkpoint, -1 the store failed or the record's framing is bad,
 * -2 t1071_restore refused the snapshot (T1071_E_SNAPSHOT / _VERSION).  -1
 * and -2 add one to *refused; the caller then starts the partition from its
 * committed offset without the snapshot. */
int t1071a_ckpt_load(const struct t1071a_ckpt_store *st, const char *group, const char *topic,
                     int32_t partition, t1071_ctx **ctx, int64_t *next_offset, uint64_t *refused,
                     char *err, size_t errlen);

/* Durations as the config writes them ("24h", "90s", "500ms", "0"): ms, or -1. */
int64_t t1071a_parse_duration_ms(const char *s);

#endif
