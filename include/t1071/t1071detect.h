/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file t1071detect.h
 * @brief libt1071detect: detect command-and-control beaconing over
 *        application-layer protocols (MITRE ATT&CK T1071) in a live stream of
 *        ECS network events.
 *
 * Input: protobuf-encoded ECS events (schema `t1071.ecs.v1.Event`, shipped
 * as `proto/t1071/ecs/v1/ecs.proto`), one at a time or as a length-delimited
 * batch, or ECS JSON.  Output: alerts (`t1071.ecs.v1.Alert`), as protobuf
 * bytes or as ECS JSON with Elastic Security's field names.
 *
 * Thread-safety: the SQLite "multi-thread" model.  Different contexts may be
 * used at the same time on different threads; one context (and one config)
 * must never be used by two threads at once.  The library has no global
 * mutable state and no global init: t1071_init() may run concurrently on any
 * thread.  t1071_strerror(), the version getters and t1071_stat_name() are
 * always safe.  An alert batch is independent of its context: it may outlive
 * it and be freed on any thread.  Time comes only from event timestamps,
 * never from the wall clock.
 *
 * Status codes: every fallible call returns T1071_OK (0) or a negative
 * T1071_E_* value.  Failed calls set their out-parameters to NULL / 0 and
 * leak nothing.
 */
#ifndef T1071DETECT_H
#define T1071DETECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(T1071_BUILDING_LIBRARY)
#    define T1071_API __declspec(dllexport)
#  else
#    define T1071_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define T1071_API __attribute__((visibility("default")))
#else
#  define T1071_API
#endif

/* ===== Version ===== */

#define T1071_VERSION_MAJOR 0
#define T1071_VERSION_MINOR 1
#define T1071_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH. */
#define T1071_VERSION_NUMBER                                                   \
    (T1071_VERSION_MAJOR * 10000 + T1071_VERSION_MINOR * 100 + T1071_VERSION_PATCH)

/**
 * @return the runtime library's version as MAJOR*10000 + MINOR*100 + PATCH.
 * @since 0.1
 */
T1071_API unsigned t1071_version_number(void);

/**
 * @return the runtime library's version, "MAJOR.MINOR.PATCH".  Static
 *         string, never freed.
 * @since 0.1
 */
T1071_API const char *t1071_version_string(void);

/* ===== Status codes (values pinned: append only) ===== */

#define T1071_OK               0   /**< success */
#define T1071_E_INVALID_ARG   (-1) /**< NULL pointer, bad value, out of range */
#define T1071_E_NOMEM         (-2) /**< allocation failed or memory cap reached */
#define T1071_E_DECODE        (-3) /**< malformed protobuf event */
#define T1071_E_TOO_LARGE     (-4) /**< event longer than engine.max_event_bytes */
#define T1071_E_TRUNCATED     (-5) /**< length-delimited stream cut inside a record */
#define T1071_E_QUEUE_FULL    (-6) /**< alert queue at its high-water mark: poll, then retry */
#define T1071_E_STATE         (-7) /**< call not valid in this state */
#define T1071_E_UNKNOWN_KEY   (-8) /**< unknown configuration key */
#define T1071_E_TIMESTAMP     (-9) /**< event without @timestamp, or an absurd one */
#define T1071_E_IO           (-10) /**< a file could not be read */
#define T1071_E_JSON         (-11) /**< malformed or hostile JSON */
#define T1071_E_RANGE        (-12) /**< index out of range */
#define T1071_E_SNAPSHOT     (-13) /**< snapshot truncated, corrupted or inconsistent */
#define T1071_E_VERSION      (-14) /**< snapshot written by a newer format version */
#define T1071_E_RULE         (-15) /**< rule text does not parse or uses unsupported syntax */
#define T1071_E_UNSUPPORTED  (-16) /**< not supported in this configuration (t1071_prevalence_export/_merge) */

/**
 * @return a static English description of @p status; "unknown error" for a
 *         code this version does not know.  Never NULL, never freed.
 * @since 0.1
 */
T1071_API const char *t1071_strerror(int status);

/* ===== Limits ===== */

/** Hard upper bound of one encoded event; engine.max_event_bytes may lower it. */
#define T1071_MAX_EVENT_BYTES (1u << 20)

/* ===== Opaque types ===== */

typedef struct t1071_config t1071_config;           /**< rule + engine settings */
typedef struct t1071_ctx t1071_ctx;                 /**< one detection context */
typedef struct t1071_alert_batch t1071_alert_batch; /**< alerts handed to the caller */
typedef struct t1071_buffer t1071_buffer;           /**< bytes handed to the caller */

/* ===== Configuration ===== */

/**
 * Create a configuration holding the defaults: the seed rule (Elastic
 * Security's T1071 EQL rule) in the faithful profile.
 * @param[out] out  the new config; NULL on failure.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_NOMEM.
 * Caller owns *out; free with t1071_config_free().
 * @since 0.1
 */
T1071_API int t1071_config_new(t1071_config **out);

/** Free a config; NULL is a no-op.  @since 0.1 */
T1071_API void t1071_config_free(t1071_config *cfg);

/**
 * Set one value by its "section.key" name, e.g. ("rule.runs", "10").  The
 * keys and value syntax are the INI file's and the CLI's --set (README).
 * @param[in] cfg    config to change.
 * @param[in] key    "section.key", ASCII.
 * @param[in] value  the value as text; copied.
 * @return T1071_OK; T1071_E_UNKNOWN_KEY for a key this version does not know;
 *         T1071_E_INVALID_ARG for a bad value; T1071_E_NOMEM.  On error the
 *         config is unchanged and t1071_config_errmsg() says what is wrong.
 * @since 0.1
 */
T1071_API int t1071_config_set(t1071_config *cfg, const char *key, const char *value);

/**
 * Read a value back as text (the canonical form of what was set).
 * @param[in] cfg  config.
 * @param[in] key  "section.key".
 * @param[out] buf      receives the NUL-terminated value (may be NULL if @p size is 0).
 * @param[in]  size     size of @p buf.
 * @param[out] needed   optional: bytes needed including the NUL.
 * @return T1071_OK (value truncated when @p size is too small, see @p needed),
 *         T1071_E_UNKNOWN_KEY, T1071_E_INVALID_ARG.
 * @since 0.1
 */
T1071_API int t1071_config_get(const t1071_config *cfg, const char *key, char *buf,
                               size_t size, size_t *needed);

/**
 * Load an INI file (GKeyFile syntax: [section] then key=value) with the same
 * keys as t1071_config_set().  Values are applied in file order; the first
 * error stops loading and names the file, line-independent key and problem.
 * @return T1071_OK, T1071_E_IO, T1071_E_UNKNOWN_KEY, T1071_E_INVALID_ARG, T1071_E_NOMEM.
 * @since 0.1
 */
T1071_API int t1071_config_load_file(t1071_config *cfg, const char *path);

/**
 * Same as t1071_config_load_file() from a buffer holding INI text.
 * @since 0.1
 */
T1071_API int t1071_config_load_data(t1071_config *cfg, const char *data, size_t len);

/**
 * @return the message of the last failed call on @p cfg ("" when none).
 *         Owned by @p cfg, valid until the next call on it.
 * @since 0.1
 */
T1071_API const char *t1071_config_errmsg(const t1071_config *cfg);

/**
 * Run a rule given as text instead of the built-in filter: an EQL sequence
 * query (`sequence by F [with maxspan=D] [CATEGORY where EXPR] with runs=N`)
 * or a Sigma correlation rule (YAML: `type: event_count` over a
 * network_connection base rule), told apart by content.  The same as
 * t1071_config_set(cfg, "rule.query", text), and it removes rules added with
 * t1071_config_add_rule().  The rule decides rule.runs, rule.maxspan and
 * rule.key (which then read back its values); "" goes back to the built-in
 * filter.  Syntax and semantics: README "Rules as data".
 * @param[in] cfg   config to change.
 * @param[in] text  NUL-terminated rule text (at most 64 KiB); copied.
 * @return T1071_OK; T1071_E_RULE when the text does not parse or uses
 *         syntax this version does not run (t1071_config_errmsg() gives
 *         "rule.query: line L, column C: what"); T1071_E_INVALID_ARG;
 *         T1071_E_NOMEM.  On error the config is unchanged.
 * @since 0.1
 */
T1071_API int t1071_config_set_rule(t1071_config *cfg, const char *text);

/**
 * Add one more rule, run beside the config's own (rule.query or the
 * built-in filter) in the same context: every event goes to every rule,
 * each rule keeps its own sequence state, and their alerts share the one
 * queue, each naming its rule (rule.name / rule.rule_id).
 * @param[in] cfg   config to change.
 * @param[in] name  the rule's name in its alerts, or NULL: a Sigma rule's
 *                  title, else "rule N" (N its 1-based position).
 * @param[in] text  EQL or Sigma rule text, as for t1071_config_set_rule().
 * @return T1071_OK; T1071_E_RULE (t1071_config_errmsg() says where);
 *         T1071_E_INVALID_ARG (NULL text, bad name, more than 64 rules);
 *         T1071_E_NOMEM.  On error the config is unchanged.
 * @since 0.1
 */
T1071_API int t1071_config_add_rule(t1071_config *cfg, const char *name, const char *text);

/**
 * @return how many rules a context made from @p cfg runs (1 + rules added
 *         with t1071_config_add_rule()); 0 for NULL.
 * @since 0.1
 */
T1071_API size_t t1071_config_rule_count(const t1071_config *cfg);

/* ===== Lifecycle ===== */

/**
 * Create a detection context.  @p cfg is copied: free it whenever you like.
 * @param[out] out  the new context; NULL on failure.
 * @param[in]  cfg  configuration, or NULL for the defaults.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_NOMEM.
 * Caller owns *out; free with t1071_free().
 * @since 0.1
 */
T1071_API int t1071_init(t1071_ctx **out, const t1071_config *cfg);

/** Free a context and all its state; NULL is a no-op.  @since 0.1 */
T1071_API void t1071_free(t1071_ctx *ctx);

/**
 * @return the message of the last failed call on @p ctx ("" when none),
 *         owned by @p ctx, valid until the next call on it.
 * @since 0.1
 */
T1071_API const char *t1071_errmsg(const t1071_ctx *ctx);

/* ===== Ingest ===== */

/**
 * Feed one protobuf-encoded `t1071.ecs.v1.Event`.
 *
 * @p buf is borrowed for the call only: nothing points into it afterwards.
 * An event that does not match the rule is consumed and counted.  An event
 * older than its host's watermark (README "Semantics", time) is consumed, counted as
 * late and dropped; T1071_OK is returned.
 *
 * Backpressure: while the alert queue holds engine.alert_queue alerts or
 * more, the event is NOT consumed and T1071_E_QUEUE_FULL is returned: poll
 * alerts, then feed the same event again.  One accepted call may push the
 * queue past the mark by the alerts it releases (one event completes at most
 * one sequence per key value; with lateness > 0 it may release buffered
 * events, each of which may complete sequences).
 *
 * @return T1071_OK; T1071_E_QUEUE_FULL (not consumed); T1071_E_TOO_LARGE,
 *         T1071_E_DECODE, T1071_E_TIMESTAMP (consumed, counted, dropped;
 *         the context stays usable); T1071_E_INVALID_ARG; T1071_E_NOMEM.
 * @since 0.1
 */
T1071_API int t1071_feed_event(t1071_ctx *ctx, const uint8_t *buf, size_t len);

/**
 * Feed a length-delimited stream of Events (each preceded by its varint
 * length).  Stops early when the alert queue is full.  A record whose bytes
 * are bad is skipped and counted like a bad t1071_feed_event() call; the
 * stream goes on.
 * @param[out] consumed  bytes of @p buf consumed (whole records only); feed
 *                       the rest again after polling.  May be NULL.
 * @return T1071_OK (everything consumed); T1071_E_QUEUE_FULL (stopped
 *         before a record; *consumed says where); T1071_E_TRUNCATED (the
 *         last record is cut or its length prefix is broken: *consumed stops
 *         before it, counted); T1071_E_INVALID_ARG; T1071_E_NOMEM.
 * @since 0.1
 */
T1071_API int t1071_feed_batch(t1071_ctx *ctx, const uint8_t *buf, size_t len,
                               size_t *consumed);

/**
 * Feed one ECS event as JSON (one NDJSON line, nested objects as Elastic
 * exports them; see the README for the fields read).  For hosts without a
 * protobuf encoder.  Same semantics and statuses as t1071_feed_event(),
 * plus T1071_E_JSON for malformed JSON.
 * @since 0.1
 */
T1071_API int t1071_feed_json(t1071_ctx *ctx, const char *json, size_t len);

/**
 * Feed one event given as a msgpack map (a Fluent Bit record's body, a
 * Fluentd or Vector event), read through the same record mapping as
 * t1071_feed_json() (every shape: ECS, Suricata EVE, Sysmon, Zeek) without
 * a JSON round trip: a map is an object, an array an array, str and bin
 * strings, integers and floats numbers (a float as its shortest decimal
 * text), nil and ext null; map keys are str, bin or integers.  Same
 * semantics and statuses as t1071_feed_json(): malformed msgpack (not a
 * map, cut short, nested deeper than 64, a length past the bytes left,
 * bytes after the map, a key of another type) is T1071_E_JSON, counted in
 * T1071_STAT_ERR_JSON, and t1071_errmsg() says what and at which byte
 * ("record N: msgpack: ... at byte B"); over 4 MiB is T1071_E_TOO_LARGE.
 * @since 0.3
 */
T1071_API int t1071_feed_msgpack(t1071_ctx *ctx, const void *map, size_t len);

/**
 * Declare that no event older than @p event_time_ms will come from any
 * host: every buffered event at or before it runs (idle flush); later
 * events older than it are late.  INT64_MAX flushes
 * everything (end of input).  Never moves time backwards.
 * @return T1071_OK; T1071_E_QUEUE_FULL (nothing done: poll first);
 *         T1071_E_INVALID_ARG.
 * @since 0.1
 */
T1071_API int t1071_advance(t1071_ctx *ctx, int64_t event_time_ms);

/**
 * Return the shard in [0, nshards) for an encoded event: a hash of its host
 * (host.id, else host.name), so a host can spread events over @p nshards
 * contexts and keep each host on one.  Events without a host go to shard 0.
 * @param[out] shard  the shard.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_TOO_LARGE, T1071_E_DECODE.
 * @since 0.1
 */
T1071_API int t1071_event_shard(const uint8_t *buf, size_t len, uint32_t nshards,
                                uint32_t *shard);

/* ===== Output ===== */

/**
 * Take every queued alert.
 * @param[out] out  a batch of one or more alerts, or NULL when there is none
 *                  (and T1071_OK is returned).
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_NOMEM.
 * Caller owns *out; free with t1071_alert_batch_free().  The batch does not
 * refer to @p ctx.
 * @since 0.1
 */
T1071_API int t1071_poll_alerts(t1071_ctx *ctx, t1071_alert_batch **out);

/** @return the number of alerts in @p batch (0 for NULL).  @since 0.1 */
T1071_API size_t t1071_alert_batch_count(const t1071_alert_batch *batch);

/**
 * Borrow alert @p i as protobuf bytes (`t1071.ecs.v1.Alert`).
 * @param[out] data  pointer into the batch, valid until t1071_alert_batch_free().
 * @param[out] len   length in bytes.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_RANGE.
 * @since 0.1
 */
T1071_API int t1071_alert_batch_get(const t1071_alert_batch *batch, size_t i,
                                    const uint8_t **data, size_t *len);

/**
 * Borrow alert @p i as one line of ECS JSON (no newline, NUL-terminated,
 * control characters escaped), in Elastic Security's alert shape.
 * @param[out] json  pointer into the batch, valid until t1071_alert_batch_free().
 * @param[out] len   length in bytes, without the NUL.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_RANGE, T1071_E_NOMEM.
 * @since 0.1
 */
T1071_API int t1071_alert_batch_get_json(t1071_alert_batch *batch, size_t i,
                                         const char **json, size_t *len);

/** Free a batch and everything borrowed from it; NULL is a no-op.  @since 0.1 */
T1071_API void t1071_alert_batch_free(t1071_alert_batch *batch);

/* ===== Encoding helpers ===== */

/**
 * Convert one ECS JSON event to a protobuf `t1071.ecs.v1.Event`, exactly as
 * t1071_feed_json() reads it.
 * @param[in]  record_number  stored in Event.record_number when non-zero.
 * @param[out] out  the encoded event; NULL on failure.
 * @return T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE, T1071_E_INVALID_ARG, T1071_E_NOMEM.
 * Caller owns *out; free with t1071_buffer_free().
 * @since 0.1
 */
T1071_API int t1071_event_from_json(const char *json, size_t len, uint64_t record_number,
                                    t1071_buffer **out);

/**
 * t1071_event_from_json() reading the record as @p source, the values of
 * the `input.source` key: "auto" (or NULL: per record, ECS, Suricata EVE,
 * raw Sysmon, Zeek conn JSON, as t1071_event_from_json() does), "ecs",
 * "sysmon", "zeek" or "suricata" (that shape only).
 * @return as t1071_event_from_json(); T1071_E_INVALID_ARG for an unknown
 *         @p source.
 * @since 0.2
 */
T1071_API int t1071_event_from_json_as(const char *json, size_t len, uint64_t record_number,
                                       const char *source, t1071_buffer **out);

/**
 * Convert one msgpack map to a protobuf `t1071.ecs.v1.Event`, exactly as
 * t1071_feed_msgpack() reads it (with input.source @p source: NULL or
 * "auto", "ecs", "sysmon", "zeek", "suricata", as
 * t1071_event_from_json_as()).
 * @param[in]  record_number  stored in Event.record_number when non-zero.
 * @param[out] out  the encoded event; NULL on failure.
 * @return T1071_OK, T1071_E_JSON (malformed msgpack), T1071_E_TOO_LARGE,
 *         T1071_E_INVALID_ARG (also for an unknown @p source), T1071_E_NOMEM.
 * Caller owns *out; free with t1071_buffer_free().
 * @since 0.3
 */
T1071_API int t1071_event_from_msgpack(const void *map, size_t len, uint64_t record_number,
                                       const char *source, t1071_buffer **out);

/** @return the bytes of @p buf (NULL for NULL); valid until t1071_buffer_free(). @since 0.1 */
T1071_API const uint8_t *t1071_buffer_data(const t1071_buffer *buf);

/** @return the length of @p buf (0 for NULL).  @since 0.1 */
T1071_API size_t t1071_buffer_size(const t1071_buffer *buf);

/** Free a buffer; NULL is a no-op.  @since 0.1 */
T1071_API void t1071_buffer_free(t1071_buffer *buf);

/* ===== Snapshot and restore ===== */

/** Snapshot format version written by this library. */
#define T1071_SNAPSHOT_VERSION 1

/**
 * Write every piece of @p ctx's state — config, hash seed, keyed sequence
 * state, reorder buffers, held suspects, undelivered alerts, counters — as
 * a versioned, checksummed blob.  t1071_restore() of it continues exactly:
 * the same later input gives the same alerts, byte for byte.
 * @param[out] out  the snapshot; NULL on failure.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_NOMEM.  A rule given as
 *         text (rule.query) is saved as its text and compiled again by
 *         t1071_restore(); a context running several rules
 *         (t1071_config_add_rule()) is saved whole, every rule with its
 *         state.
 * Caller owns *out; free with t1071_buffer_free().
 * @since 0.1
 */
T1071_API int t1071_snapshot(const t1071_ctx *ctx, t1071_buffer **out);

/**
 * Create a context from a snapshot.  @p buf is borrowed for the call only.
 * @param[out] out  the new context; NULL on failure.
 * @return T1071_OK; T1071_E_SNAPSHOT (truncated, corrupted, checksum or
 *         consistency failure); T1071_E_VERSION (written by a newer format);
 *         T1071_E_INVALID_ARG; T1071_E_NOMEM.
 * Caller owns *out; free with t1071_free().
 * @since 0.1
 */
T1071_API int t1071_restore(t1071_ctx **out, const uint8_t *buf, size_t len);

/**
 * Fleet prevalence across contexts (README "Fleet prevalence across
 * contexts"): with tuning.fleet_key set (and tuning.prevalence_hosts or
 * tuning.prevalence_suppress_hosts), write the prevalence entries that
 * changed after change number @p since as a self-checking delta, for
 * t1071_prevalence_merge() in any other context of the same fleet key.
 * Pass 0 for the whole table; keep *cursor per receiver and pass it next
 * time.  Deltas from @p since = 0 of two equal tables are byte-identical
 * but for the checksum (bytes 16..47) and the cursor (bytes 64..71).
 * No I/O, no wall clock.
 * @param[out] out     the delta; NULL on failure.
 * @param[out] cursor  the context's last change number.
 * @return T1071_OK; T1071_E_UNSUPPORTED (no fleet key, prevalence off, or
 *         several rules); T1071_E_INVALID_ARG; T1071_E_NOMEM.
 * Caller owns *out; free with t1071_buffer_free().
 * @since 0.2
 */
T1071_API int t1071_prevalence_export(const t1071_ctx *ctx, uint64_t since, t1071_buffer **out,
                                      uint64_t *cursor);

/**
 * Merge a delta from t1071_prevalence_export() (of this or any context with
 * the same tuning.fleet_key): union by host, latest event time wins, the
 * order-free cap.  Commutative and idempotent: deltas may arrive late,
 * twice or in any order.  @p buf is borrowed for the call only.
 * @return T1071_OK; T1071_E_SNAPSHOT (not a delta, corrupted, truncated,
 *         or another fleet key; nothing merged; t1071_errmsg() says which);
 *         T1071_E_UNSUPPORTED (no fleet key, prevalence off, or several
 *         rules); T1071_E_INVALID_ARG; T1071_E_NOMEM (merged in part:
 *         merging the same delta again completes it).
 * @since 0.2
 */
T1071_API int t1071_prevalence_merge(t1071_ctx *ctx, const uint8_t *buf, size_t len);

/* ===== Key history (the beacon behind an alert) ===== */

/**
 * A tracked key's beacon history as one JSON object (README "Key
 * history"): per destination and for the key's aggregate, the beat starts
 * and the intervals the scorer uses (its last 128), the hourly beat counts
 * (its last 48 hours), the verdict and one-line readings from the same
 * function as the alert's t1071.beacon.reading.  Every string is escaped so
 * the text can be embedded in HTML <script> as it is (<, >, &, ', U+2028,
 * U+2029 and control characters as \u escapes).  Take it when the alert is
 * polled: a key that expired or was evicted has no history.
 * @param key      the key value (t1071.key of an alert), @p key_len bytes.
 * @param[out] out the JSON text (not NUL-terminated); NULL on failure.
 * @return T1071_OK; T1071_E_RANGE when no such key is tracked;
 *         T1071_E_STATE when the key has no beacon state (beacon.enabled =
 *         false and no tuning); T1071_E_INVALID_ARG; T1071_E_NOMEM.
 * Caller owns *out; free with t1071_buffer_free().
 * @since 0.2
 */
T1071_API int t1071_key_history(const t1071_ctx *ctx, const char *key, size_t key_len,
                                t1071_buffer **out);

/* ===== Statistics ===== */

/**
 * Counter and gauge ids for t1071_stats_get().  Values are pinned: new ones
 * are appended.  t1071_stat_name() gives each one's stable name.
 */
enum t1071_stat {
    T1071_STAT_RECORDS_IN = 0,      /**< records offered (events, batch records, JSON lines) */
    T1071_STAT_EVENTS_DECODED,      /**< records decoded into events */
    T1071_STAT_EVENTS_MATCHED,      /**< events that passed the rule filter with a key */
    T1071_STAT_EVENTS_FILTERED,     /**< events that did not pass the filter */
    T1071_STAT_EVENTS_NO_KEY,       /**< events that passed the filter but had no key value */
    T1071_STAT_ERR_DECODE,          /**< malformed protobuf records */
    T1071_STAT_ERR_TOO_LARGE,       /**< records over engine.max_event_bytes */
    T1071_STAT_ERR_TRUNCATED,       /**< cut length-delimited streams */
    T1071_STAT_ERR_JSON,            /**< malformed JSON events */
    T1071_STAT_ERR_TIMESTAMP,       /**< events without a usable @timestamp */
    T1071_STAT_MALFORMED_IP,        /**< destination.ip values that did not parse (treated as absent) */
    T1071_STAT_EVENTS_LATE,         /**< events older than their host's watermark (dropped) */
    T1071_STAT_EVENTS_SUSPECT,      /**< events jumping more than engine.max_jump ahead */
    T1071_STAT_SUSPECT_DROPPED,     /**< suspect events dropped, never confirmed */
    T1071_STAT_QUEUE_FULL,          /**< calls refused with T1071_E_QUEUE_FULL */
    T1071_STAT_ALERTS,              /**< alerts (sequences) emitted */
    T1071_STAT_ALERTS_POLLED,       /**< alerts handed over by t1071_poll_alerts() */
    T1071_STAT_ALERTS_QUEUED,       /**< gauge: alerts waiting in the queue */
    T1071_STAT_KEYS,                /**< gauge: keys holding sequence state */
    T1071_STAT_HOSTS,               /**< gauge: hosts tracked */
    T1071_STAT_EVENTS_BUFFERED,     /**< gauge: events waiting in reorder buffers */
    T1071_STAT_KEYS_EXPIRED,        /**< keys freed after falling out of maxspan */
    T1071_STAT_MEMORY_BYTES,        /**< gauge: bytes of state held */
    T1071_STAT_MEMORY_PEAK_BYTES,   /**< gauge: highest memory_bytes so far */
    T1071_STAT_KEYS_EVICTED,        /**< keys evicted at engine.memory_limit (cold keys first) */
    T1071_STAT_EVENTS_DROPPED_MEMORY, /**< events dropped: nothing left to evict at the limit */
    T1071_STAT_KEY_VALUES_DROPPED,  /**< key values past the 64 one event may join */
    T1071_STAT_ALERTS_SUPPRESSED,   /**< sequences suppressed by tuning (emitted only with tuning.emit_suppressed) @since 0.1 */
    T1071_STAT_LATENESS_MAX_MS,     /**< gauge: the largest lateness seen, in ms: how far an event came
                                         behind its host's newest time (late or not); an
                                         engine.lateness of at least this keeps every event seen @since 0.1 */
    T1071_STAT_RECORDS_ECS,         /**< records read as ECS (JSON, or protobuf Events) @since 0.1 */
    T1071_STAT_RECORDS_SURICATA,    /**< records read as Suricata EVE @since 0.1 */
    T1071_STAT_RECORDS_SYSMON,      /**< records read as raw Sysmon (NXLog, Winlogbeat without ECS mapping) @since 0.1 */
    T1071_STAT_RECORDS_ZEEK,        /**< records read as Zeek conn logs (JSON or TSV) @since 0.1 */
    T1071_STAT_RECORDS_UNRECOGNISED, /**< records of no known shape: no @timestamp (timestamp_ms) and no other shape's keys; rejected with T1071_E_TIMESTAMP @since 0.1 */
    T1071_STAT_RECORDS_NO_TIME,     /**< records of a known shape without a usable time (rejected with T1071_E_TIMESTAMP) @since 0.1 */
    T1071_STAT_RECORDS_NOT_NETWORK, /**< records that are not network events (raw shapes: passed over; ECS: still offered to the rule) @since 0.1 */
    T1071_STAT_EVENTS_NETWORK       /**< network events (event.category network) with a usable time @since 0.1 */
};

/**
 * @return the stable snake_case name of stat @p id ("events_late"), or NULL
 *         when this version has no such id (the ids are dense from 0, so a
 *         host can enumerate them).
 * @since 0.1
 */
T1071_API const char *t1071_stat_name(int id);

/**
 * Read one counter or gauge.  In a context running several rules, what
 * happens once per record (records_in, decode errors, queue, alerts
 * emitted and polled) counts once, what every rule sees alike (events
 * decoded, late, suspect, hosts) is counted once, and what each rule does
 * on its own (matched, filtered, keys, memory, ...) is summed.
 * @return T1071_OK, T1071_E_INVALID_ARG, T1071_E_RANGE (unknown id).
 * @since 0.1
 */
T1071_API int t1071_stats_get(const t1071_ctx *ctx, int id, uint64_t *value);

#ifdef __cplusplus
}
#endif

#endif /* T1071DETECT_H */
