/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the libFuzzer targets (tests/fuzz/fuzz_<api>.c).
 *
 * Every target uses the public API only.  A failed check is a finding: it
 * prints what broke and calls abort(), which libFuzzer (and the corpus
 * replay driver, regression_driver.c) reports as a crash with the input
 * that caused it.
 *
 * Most targets read the first input byte as a configuration selector, so
 * the corpus reaches the rarely used engine paths too (tiny alert queue,
 * reorder buffer, memory budget, derive, compound keys, a permissive
 * filter). */
#ifndef T1071_FUZZ_H
#define T1071_FUZZ_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <t1071/t1071detect.h>

/* libFuzzer's entry point, defined by each target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longest input the targets look at (larger ones are cut): keeps one run
 * fast and the engine's per-call limits reachable. */
#define FUZZ_MAX_INPUT (256u * 1024u)

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define FUZZ_CHECK_RC(rc, ...)                                                 \
    do {                                                                       \
        const int fuzz_ok_[] = {__VA_ARGS__};                                  \
        bool fuzz_hit_ = false;                                                \
        for (size_t fuzz_i_ = 0;                                               \
             fuzz_i_ < sizeof(fuzz_ok_) / sizeof(fuzz_ok_[0]); fuzz_i_++)      \
            fuzz_hit_ = fuzz_hit_ || (rc) == fuzz_ok_[fuzz_i_];                \
        if (!fuzz_hit_) {                                                      \
            fprintf(stderr, "%s:%d: undocumented status %d (%s) from %s\n",    \
                    __FILE__, __LINE__, (rc), t1071_strerror(rc), #rc);        \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Configuration variants, chosen by an input byte. */
#define FUZZ_N_CONFIGS 6

static inline const char *const *
fuzz_config_kv(unsigned sel)
{
    static const char *const v0[] = {NULL}; /* the faithful defaults */
    static const char *const v1[] = {
        "rule.runs", "3", "engine.alert_queue", "1", "engine.lateness", "5m",
        "engine.max_jump", "1m", "engine.hash_seed", "1", NULL};
    static const char *const v2[] = {
        "rule.runs", "2", "rule.derive", "true", "rule.key", "host.name,source.ip",
        "engine.memory_limit", "80KiB", "engine.alert_queue", "2", NULL};
    /* Permissive filter: most decodable events match, so junk reaches the
     * keyed state, the rings and the alert builder. */
    static const char *const v3[] = {
        "rule.runs", "1", "rule.category", "", "rule.direction", "",
        "rule.require_process_name", "false", "rule.ports", "0-65535",
        "rule.exclude_cidrs", "", "rule.event_types", "connection,start,end,info,",
        "rule.key", "process.entity_id", "engine.alert_queue", "3", NULL};
    static const char *const v4[] = {
        "rule.runs", "4", "rule.maxspan", "0", "rule.category", "",
        "rule.direction", "", "rule.require_process_name", "false",
        "rule.ports", "0-65535", "rule.key", "process.name,user.name,host.id",
        "engine.lateness", "7d", "engine.max_jump", "1m", "engine.max_event_bytes", "64",
        NULL};
    static const char *const v5[] = {
        "rule.runs", "3", "rule.derive", "true", "rule.category", "",
        "rule.require_process_name", "false", "rule.ports", "0-65535",
        "engine.memory_limit", "72KiB", "engine.lateness", "1h", "engine.alert_queue", "1",
        NULL};
    static const char *const *const all[FUZZ_N_CONFIGS] = {v0, v1, v2, v3, v4, v5};

    return all[sel % FUZZ_N_CONFIGS];
}

static inline t1071_ctx *
fuzz_ctx_new(unsigned sel)
{
    const char *const *kv = fuzz_config_kv(sel);
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    FUZZ_CHECK(t1071_config_new(&cfg) == T1071_OK);
    for (size_t i = 0; kv[i]; i += 2) {
        if (t1071_config_set(cfg, kv[i], kv[i + 1]) != T1071_OK) {
            fprintf(stderr, "fuzz config %s=%s: %s\n", kv[i], kv[i + 1],
                    t1071_config_errmsg(cfg));
            abort();
        }
    }
    FUZZ_CHECK(t1071_init(&ctx, cfg) == T1071_OK);
    t1071_config_free(cfg);
    return ctx;
}

static inline uint64_t
fuzz_stat(const t1071_ctx *ctx, int id)
{
    uint64_t v = UINT64_MAX;

    FUZZ_CHECK(t1071_stats_get(ctx, id, &v) == T1071_OK);
    return v;
}

/* Take every queued alert; each must render as one line of JSON and
 * borrow as protobuf bytes.  Returns how many there were. */
static inline size_t
fuzz_drain(t1071_ctx *ctx)
{
    t1071_alert_batch *b = NULL;
    size_t n;
    int rc = t1071_poll_alerts(ctx, &b);

    FUZZ_CHECK_RC(rc, T1071_OK);
    n = t1071_alert_batch_count(b);
    FUZZ_CHECK((b == NULL) == (n == 0));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pb = NULL;
        const char *json = NULL;
        size_t len = 0, jlen = 0;
        FUZZ_CHECK(t1071_alert_batch_get(b, i, &pb, &len) == T1071_OK);
        FUZZ_CHECK(pb != NULL && len > 0);
        FUZZ_CHECK(t1071_alert_batch_get_json(b, i, &json, &jlen) == T1071_OK);
        FUZZ_CHECK(json != NULL && strlen(json) == jlen);
        FUZZ_CHECK(jlen >= 2 && json[0] == '{' && json[jlen - 1] == '}');
        for (size_t j = 0; j < jlen; j++)
            FUZZ_CHECK(json[j] != '\n' && json[j] != '\r');
    }
    if (b) {
        const uint8_t *pb = NULL;
        size_t len = 0;
        FUZZ_CHECK(t1071_alert_batch_get(b, n, &pb, &len) == T1071_E_RANGE);
    }
    t1071_alert_batch_free(b);
    return n;
}

/* Counters add up (as tests/integration/test-hostile.c states them). */
static inline void
fuzz_check_counters(const t1071_ctx *ctx)
{
    uint64_t in = fuzz_stat(ctx, T1071_STAT_RECORDS_IN);
    uint64_t dec = fuzz_stat(ctx, T1071_STAT_EVENTS_DECODED);
    uint64_t rejected = fuzz_stat(ctx, T1071_STAT_ERR_DECODE) +
                        fuzz_stat(ctx, T1071_STAT_ERR_TOO_LARGE) +
                        fuzz_stat(ctx, T1071_STAT_ERR_JSON);
    uint64_t sorted = fuzz_stat(ctx, T1071_STAT_EVENTS_MATCHED) +
                      fuzz_stat(ctx, T1071_STAT_EVENTS_FILTERED) +
                      fuzz_stat(ctx, T1071_STAT_EVENTS_NO_KEY) +
                      fuzz_stat(ctx, T1071_STAT_ERR_TIMESTAMP);

    /* Every decoded record is counted once by shape (lib/input/shapes.c). */
    uint64_t shaped = fuzz_stat(ctx, T1071_STAT_RECORDS_ECS) +
                      fuzz_stat(ctx, T1071_STAT_RECORDS_SURICATA) +
                      fuzz_stat(ctx, T1071_STAT_RECORDS_SYSMON) +
                      fuzz_stat(ctx, T1071_STAT_RECORDS_ZEEK) +
                      fuzz_stat(ctx, T1071_STAT_RECORDS_UNRECOGNISED);

    if (in != dec + rejected || dec < sorted || shaped != dec) {
        fprintf(stderr, "counters: decoded %" PRIu64 ", by shape %" PRIu64 "\n", dec, shaped);
        fprintf(stderr, "counters: records_in %" PRIu64 ", decoded %" PRIu64
                        ", rejected %" PRIu64 ", matched+filtered+no_key+ts %" PRIu64 "\n",
                in, dec, rejected, sorted);
        abort();
    }
    FUZZ_CHECK(fuzz_stat(ctx, T1071_STAT_ALERTS) ==
               fuzz_stat(ctx, T1071_STAT_ALERTS_POLLED) +
                   fuzz_stat(ctx, T1071_STAT_ALERTS_QUEUED));
    FUZZ_CHECK(fuzz_stat(ctx, T1071_STAT_MEMORY_PEAK_BYTES) >=
               fuzz_stat(ctx, T1071_STAT_MEMORY_BYTES));
}

/* End of input: flush everything (retrying after polls), drain, check. */
static inline void
fuzz_finish(t1071_ctx *ctx)
{
    int rc;

    fuzz_drain(ctx);
    while ((rc = t1071_advance(ctx, INT64_MAX)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(fuzz_drain(ctx) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_NOMEM);
    fuzz_drain(ctx);
    FUZZ_CHECK(fuzz_stat(ctx, T1071_STAT_ALERTS_QUEUED) == 0);
    if (rc == T1071_OK)
        FUZZ_CHECK(fuzz_stat(ctx, T1071_STAT_EVENTS_BUFFERED) == 0);
    fuzz_check_counters(ctx);
}

/* Feed one encoded event, polling while the queue is full.  Every status
 * is one t1071_feed_event() documents. */
static inline int
fuzz_feed_event(t1071_ctx *ctx, const uint8_t *buf, size_t len)
{
    int rc;

    while ((rc = t1071_feed_event(ctx, buf, len)) == T1071_E_QUEUE_FULL)
        FUZZ_CHECK(fuzz_drain(ctx) > 0);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_TOO_LARGE, T1071_E_DECODE, T1071_E_TIMESTAMP,
                  T1071_E_NOMEM);
    return rc;
}

/* The shard helper on the same bytes: a valid shard or a documented error. */
static inline void
fuzz_shard(const uint8_t *buf, size_t len)
{
    uint32_t s1 = UINT32_MAX, s2 = UINT32_MAX;
    int rc = t1071_event_shard(buf, len, 7, &s1);

    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_DECODE, T1071_E_TOO_LARGE);
    if (rc == T1071_OK) {
        FUZZ_CHECK(s1 < 7);
        FUZZ_CHECK(t1071_event_shard(buf, len, 7, &s2) == T1071_OK && s1 == s2);
        FUZZ_CHECK(t1071_event_shard(buf, len, 1, &s2) == T1071_OK && s2 == 0);
    } else {
        FUZZ_CHECK(s1 == 0);
    }
}

#endif /* T1071_FUZZ_H */
