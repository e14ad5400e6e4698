/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-agent's Kafka input (issue 15): a consumer group over one topic,
 * one libt1071detect context per assigned partition, checkpoints through a
 * t1071a_ckpt_store, alerts to stdout or a Kafka topic. */
#ifndef T1071_AGENT_KAFKA_IN_H
#define T1071_AGENT_KAFKA_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "metrics.h"
#include "t1071/t1071detect.h"

enum t1071a_out { T1071A_OUT_ALERTS, T1071A_OUT_PB, T1071A_OUT_NONE };

#define T1071A_KAFKA_DEFAULT_GROUP "t1071-agent"
#define T1071A_KAFKA_DEFAULT_CKPT_RECORDS 10000
#define T1071A_KAFKA_DEFAULT_CKPT_MS 5000
#define T1071A_KAFKA_DEFAULT_MAX_RECORD (1u << 20)
#define T1071A_KAFKA_MAX_PROPS 256

struct t1071a_kafka_opts {
    const char *brokers;       /* --kafka-brokers (bootstrap.servers), or NULL */
    const char *topic;         /* --kafka-topic: the events */
    const char *group;         /* --kafka-group: group.id, and the checkpoints' group */
    const char *alerts_topic;  /* --alerts-topic, NULL: stdout */
    const char *config_file;   /* --kafka-config FILE of key=value librdkafka properties */
    const char *props[T1071A_KAFKA_MAX_PROPS]; /* -X key=value, in order */
    size_t nprops;
    bool pb_in;                /* --input pb: each message is one protobuf Event */
    enum t1071a_out out;
    uint64_t ckpt_records;     /* --checkpoint-every N records of a partition */
    uint64_t ckpt_ms;          /* --checkpoint-interval MS */
    size_t max_record;         /* --max-record-bytes */
    bool stats;                /* --stats: counters on stderr at exit */
    /* --redis (built with hiredis): each partition's context shares its
     * prevalence through Redis (redis-store.h), synced every redis_sync
     * records; NULL: local prevalence only. */
    const struct t1071a_redis_opts *redis;
    int64_t redis_window_ms;   /* tuning.prevalence_window */
    uint64_t redis_sync;
};

/* A -X KEY=VALUE from the command line: 0, or -1 with @p err filled when it
 * is malformed or names a secret (those come from --kafka-config or the
 * environment only; the value is never repeated). */
int t1071a_kafka_check_cli_prop(const char *kv, char *err, size_t errlen);

/* Runs until SIGTERM or SIGINT (checkpoints every partition, commits,
 * leaves the group) or a fatal error.  @p cfg makes the contexts of
 * partitions without a checkpoint; it is used by this thread only.
 * Returns the exit status: 0, or 1 on failure. */
int t1071a_kafka_run(const struct t1071a_kafka_opts *o, const t1071_config *cfg,
                     struct t1071a_ckpt_store *store, struct t1071a_metrics *metrics);

#endif
