/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces shared by lib/ *.c.  Never installed.  Non-static
 * internals are prefixed t1071i_ and hidden by the symbol map. */
#ifndef T1071_PRIVATE_H
#define T1071_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t1071/t1071detect.h"
#include "ecs.pb-c.h"

typedef T1071__Ecs__V1__Event t1071i_event;

#define T1071I_STAT_COUNT (T1071_STAT_ALERTS_SUPPRESSED + 1)

/* ===== ECS JSON (lib/json.c, lib/ecs-json.c) ===== */

/* Limits for hostile JSON: nesting depth and one line's length. */
#define T1071I_JSON_MAX_DEPTH 64
#define T1071I_JSON_MAX_BYTES (4u << 20)

/* Parse one ECS JSON event (nested objects as Elastic exports them; dotted
 * keys such as "process.entity_id" at any level are accepted too) into a
 * freshly allocated Event.  Every string and array is malloc'ed, so the
 * result is freed with t1071__ecs__v1__event__free_unpacked(ev, NULL).
 * Returns T1071_OK, T1071_E_JSON (errbuf says what and at which byte),
 * T1071_E_TOO_LARGE, T1071_E_NOMEM.  A missing or unparsable @timestamp is
 * NOT an error here (has_timestamp_ms stays false): the engine decides. */
int t1071i_ecs_json_to_event(const char *json, size_t len, t1071i_event **out,
                             char *errbuf, size_t errlen);
/* The same reading, straight to the packed Event (record_number set when
 * nonzero): *out is malloc'ed, @p headroom bytes then *out_len bytes of
 * protobuf.  Strings live in a scratch arena meanwhile (no malloc per
 * field).  Returns T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE (the text, or
 * the packed event over @p max_bytes), T1071_E_NOMEM. */
int t1071i_ecs_json_to_packed(const char *json, size_t len, uint64_t record_number,
                              size_t max_bytes, uint8_t **out, size_t *out_len,
                              size_t headroom);

/* Parse an ECS date: RFC 3339 / ISO 8601 ("2024-01-01T00:00:00.123Z",
 * "+01:00" / "+0100" offsets, fractions of any length truncated to ms,
 * "2024-01-01 00:00:00Z" with a space) into ms since the epoch.  Returns
 * true on success.  Years 0001..9999 only. */
bool t1071i_parse_time(const char *s, size_t n, int64_t *ms_out);

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL). */
void t1071i_format_time(int64_t ms, char out[32]);

/* ===== Configuration (lib/config.c) ===== */

#define T1071I_MAX_RUNS 1000
#define T1071I_MAX_CIDRS 256
#define T1071I_MAX_LIST 64          /* event types, key fields */
#define T1071I_MAX_KEY_FIELDS 4
#define T1071I_ERRMSG_LEN 512
#define T1071I_MAX_RULES 64         /* rules in one context */

struct t1071i_rule;

/* A CIDR over 16-byte addresses: IPv4 is held as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), an IPv4 /n becomes /(96+n), so "10.0.0.0/8" matches
 * 10.x and ::ffff:10.x alike, as Elasticsearch's ip field does. */
struct t1071i_cidr {
    uint8_t addr[16];
    uint8_t prefix; /* 0..128, in IPv6 bits */
};

/* Fields the join key (and a compound key) may use. */
enum t1071i_field {
    T1071I_F_PROCESS_ENTITY_ID = 0,
    T1071I_F_PROCESS_NAME,
    T1071I_F_PROCESS_EXECUTABLE,
    T1071I_F_HOST_ID,
    T1071I_F_HOST_NAME,
    T1071I_F_SOURCE_IP,
    T1071I_F_USER_NAME,
    T1071I_F__COUNT
};

/* [beacon] and [tuning] (lib/tracker.c): the score and the tuned
 * profile.  Every tuning key defaults to off: the faithful profile. */
struct t1071i_tuning_cfg {
    bool beacon_enabled;          /* beacon.enabled */
    uint32_t max_destinations;    /* beacon.max_destinations: pairs per key */
    int64_t horizon_ms;           /* beacon.horizon: a silent key's history is kept this long */
    double score_threshold;       /* tuning.score_threshold; 0 = off */
    char **allow_exes;            /* tuning.allow_executables: full paths, '*' globs */
    size_t n_allow_exes;
    char **heartbeat_exes;        /* tuning.heartbeat_executables */
    size_t n_heartbeat_exes;
    double heartbeat_max_jitter;  /* tuning.heartbeat_max_jitter */
    struct t1071i_cidr allow_cidrs[T1071I_MAX_CIDRS]; /* tuning.allow_cidrs */
    size_t n_allow_cidrs;
    char **allow_domains;         /* tuning.allow_domains: lowercase suffixes */
    size_t n_allow_domains;
    uint32_t prevalence_hosts;    /* tuning.prevalence_hosts: K; 0 = off */
    uint32_t prevalence_suppress_hosts; /* tuning.prevalence_suppress_hosts; 0 = never */
    int64_t prevalence_window_ms; /* tuning.prevalence_window */
    double prevalence_penalty;    /* tuning.prevalence_penalty: score factor at K */
    bool fallback_key;            /* tuning.fallback_key */
    int64_t suppress_period_ms;   /* tuning.suppress_period; 0 = off */
    bool emit_suppressed;         /* tuning.emit_suppressed */
};

struct t1071_config {
    /* [rule] */
    char *name;
    char *rule_id;
    char *severity;
    int32_t risk_score;
    char *profile;
    uint32_t runs;
    int64_t maxspan_ms;
    uint8_t port_bits[65536 / 8];
    char *category;               /* "" = any category */
    char **event_types;           /* any value equal to one of these */
    size_t n_event_types;
    char *direction;              /* "" = any direction */
    bool require_process_name;
    struct t1071i_cidr cidrs[T1071I_MAX_CIDRS];
    size_t n_cidrs;
    enum t1071i_field key_fields[T1071I_MAX_KEY_FIELDS];
    size_t n_key_fields;
    bool derive;                  /* rule.derive: fill gaps (lib/derive.c) */
    struct t1071i_cidr home_cidrs[T1071I_MAX_CIDRS]; /* rule.home_networks */
    size_t n_home_cidrs;
    /* [engine] */
    int64_t lateness_ms;
    int64_t max_jump_ms;
    uint32_t alert_queue;
    uint32_t max_event_bytes;
    uint64_t hash_seed;           /* 0 = draw one at init */
    uint64_t memory_limit;        /* bytes of state; 0 = unlimited */
    /* [beacon] [tuning] */
    struct t1071i_tuning_cfg tun;
    /* rule.query (lib/rule.c): when set, its compiled tree replaces the
     * built-in filter and it owns runs, maxspan and key. */
    struct t1071i_rule *rule;
    /* Rules added with t1071_config_add_rule(), run beside this one. */
    char **extra_text;
    char **extra_name;            /* NULL entries: from the rule or "rule N" */
    size_t n_extra;
    /* canonical text of every key, for t1071_config_get */
    char **values;
    char errmsg[T1071I_ERRMSG_LEN];
};

int t1071i_config_copy(const struct t1071_config *src, struct t1071_config **out);
const char *t1071i_field_name(enum t1071i_field f);
bool t1071i_port_in_set(const struct t1071_config *cfg, int64_t port);

/* Parse "24h", "90s", "500ms", "7d", "15m", "0" into ms. */
bool t1071i_parse_duration(const char *s, int64_t *ms_out);
/* Format ms as the shortest exact duration text ("24h", "90s", "1500ms"). */
void t1071i_format_duration(int64_t ms, char out[32]);

/* ===== Addresses and the filter (lib/filter.c) ===== */

/* Parse an IPv4 or IPv6 literal into 16 bytes (IPv4 as ::ffff:a.b.c.d).
 * *is_v4 tells which syntax it was.  Returns false when it does not parse. */
bool t1071i_parse_ip(const char *s, uint8_t out[16], bool *is_v4);
/* Format 4 bytes as inet_ntop(AF_INET) does ("%u.%u.%u.%u"); returns out. */
char *t1071i_format_v4(const uint8_t a[4], char out[16]);
/* Parse "a.b.c.d/n" or "x::y/n" (a bare address is /32 or /128). */
bool t1071i_parse_cidr(const char *s, struct t1071i_cidr *out);
bool t1071i_cidr_contains(const struct t1071i_cidr *c, const uint8_t addr[16]);

/* What the filter extracts from a passing event. */
struct t1071i_match {
    int64_t port;          /* first destination.port value in the port set */
    int ip_index;          /* index of the first parseable destination.ip, -1 if none */
    bool ip_is_v4;
    uint8_t ip[16];
    uint32_t malformed_ips;
};

/* Evaluate the rule's filter on an event (two-valued, any-value-matches,
 * SEMANTICS §2).  Returns true when the event passes. */
bool t1071i_filter_match(const struct t1071_config *cfg, const t1071i_event *ev,
                         struct t1071i_match *m);

/* ===== Hashing (lib/hash.c) ===== */

/* SipHash-1-3 of @p len bytes under a 128-bit key derived from @p seed. */
uint64_t t1071i_hash(uint64_t seed, const void *data, size_t len);
/* A seed from the OS's random source; never 0. */
uint64_t t1071i_random_seed(void);

/* ===== Engine records (lib/engine.c) ===== */

/* One rule-matching event as the engine keeps it: in its host's reorder
 * buffer, then in the ring of each key value it joins.  One allocation
 * (struct, key pointers, strings), reference-counted because a multi-valued
 * key shares it between rings. */
struct t1071i_pev {
    uint32_t refs;
    uint32_t n_keys;
    int64_t ts;
    uint64_t seq;         /* arrival ordinal: ties keep arrival order */
    int64_t port;         /* the destination.port value that matched */
    size_t bytes;         /* size of the allocation, for memory accounting */
    bool has_xfer;        /* the event carried source.bytes or destination.bytes */
    int64_t xfer;         /* their sum, for the beacon size factor */
    const char *id;       /* event.id, or "line:N"; never NULL */
    const char *ip;       /* first parseable destination.ip, normalised; or NULL */
    const char *domain;   /* destination.domain or tls.client.server_name, or NULL */
    const char *host_name;
    const char *host_id;
    const char *pname;    /* first process.name value */
    const char *exe;
    const char **keys;    /* the key values it joins (deduplicated) */
    char ipbuf[46];       /* the engine's views: ip points here (INET6_ADDRSTRLEN) */
};

/* ===== Buffers (lib/api.c) ===== */

struct t1071_buffer {
    size_t len;
    uint8_t data[];
};

/* A buffer of @p len bytes (contents undefined), or NULL. */
struct t1071_buffer *t1071i_buffer_new(size_t len);

/* The config key table, for snapshots: key i's name; NULL past the end. */
const char *t1071i_config_key(size_t i);

/* ===== Alerts (lib/alert.c) ===== */

/* Build and pack one alert for a completed sequence of @p n members (in
 * sequence order) under key value @p key, with the beacon and tuning
 * verdict @p j (lib/tracker.h; NULL when beacon.enabled is false).  *out
 * is g_malloc'ed. */
struct t1071i_judgement;
int t1071i_alert_build(const struct t1071_config *cfg, const char *key,
                       struct t1071i_pev *const *members, size_t n, uint64_t seqno,
                       const struct t1071i_judgement *j, uint8_t **out, size_t *out_len);

/* Render a packed Alert as one line of ECS JSON (g_malloc'ed, NUL-terminated). */
int t1071i_alert_render_json(const uint8_t *pb, size_t len, char **json, size_t *json_len);

/* Append @p s (length @p n) to @p out as a JSON string literal, quotes
 * included; control characters and non-ASCII escaped as \uXXXX when
 * @p ascii, else control characters only.  Invalid UTF-8 becomes U+FFFD. */
struct _GString;
void t1071i_json_append_string(struct _GString *out, const char *s, size_t n, bool ascii);

/* ===== Derive (lib/derive.c) ===== */

/* The value derive gives process.name for a process-less flow. */
#define T1071I_DERIVED_PROCESS_NAME "unknown"

/* Fill the gaps of an event when rule.derive is on (README "Sources and the
 * derive option"); a no-op when it is off.  In order:
 *   1. process.entity_id absent and process.pid present:
 *      "derived:<host.id, else host.name, else empty>:<pid>[:<process.start ms>]";
 *   2. network.direction absent, or holding perimeter values: "outbound" ->
 *      "egress", "inbound" -> "ingress"; "internal", "external", "unknown"
 *      and absent -> from the address classes of the first parseable
 *      source.ip and destination.ip against rule.home_networks (source home
 *      and destination not: egress; the reverse: ingress; both: internal;
 *      neither: external).  "egress" / "ingress" and any other value are
 *      kept as they are;
 *   3. process.entity_id still absent (no pid): the flow key
 *      "flow:<first parseable source.ip, as written>", and then, when
 *      process.name is absent, process.name = T1071I_DERIVED_PROCESS_NAME.
 * Every string and array it sets is malloc'ed and replaces (and frees) what
 * it replaces, so the event is still freed with
 * t1071__ecs__v1__event__free_unpacked(ev, NULL).  Returns T1071_OK or
 * T1071_E_NOMEM (the event is then left valid, perhaps partly derived). */
int t1071i_derive(const struct t1071_config *cfg, t1071i_event *ev);

/* The address class derive uses: 1 when @p ip (text) parses and lies in
 * rule.home_networks, 0 when it parses and does not, -1 when it does not
 * parse. */
int t1071i_derive_is_home(const struct t1071_config *cfg, const char *ip);

/* Longest bucket chain of a context's keyed tables (0: keys, 1: hosts):
 * lets the hash-flood test measure the real tables, not a model. */
#define T1071I_HAVE_LONGEST_CHAIN 1
size_t t1071i_ctx_longest_chain(const t1071_ctx *ctx, int which);

#endif /* T1071_PRIVATE_H */
