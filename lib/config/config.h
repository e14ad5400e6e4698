/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration (lib/config/config.c): struct t1071_config behind the
 * public t1071_config_* calls, its key table, and what the layers above
 * read of it.  Internal, never installed. */
#ifndef T1071_CONFIG_CONFIG_H
#define T1071_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t1071/t1071detect.h"
#include "input/derive.h"
#include "input/event.h"
#include "input/fields.h"
#include "rule/filter.h"
#include "rule/rule.h"
#include "util/addr.h"

#define T1071I_MAX_LIST 64          /* event types, key fields */
#define T1071I_ERRMSG_LEN 512
#define T1071I_MAX_RULES 64         /* rules in one context */

/* [beacon] and [tuning] (lib/score/tracker.c): the score and the tuned
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
    char *fleet_key;              /* tuning.fleet_key: "" = off (score/prevalence-sync.c) */
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
    struct t1071i_filter filter;  /* ports, category, event types, direction, CIDRs */
    enum t1071i_field key_fields[T1071I_MAX_KEY_FIELDS];
    size_t n_key_fields;
    bool derive;                  /* rule.derive: fill gaps (lib/input/derive.c) */
    struct t1071i_cidr home_cidrs[T1071I_MAX_CIDRS]; /* rule.home_networks */
    size_t n_home_cidrs;
    /* [engine] */
    int64_t lateness_ms;
    int64_t max_jump_ms;
    uint32_t alert_queue;
    uint32_t max_event_bytes;
    uint64_t hash_seed;           /* 0 = draw one at init */
    uint64_t memory_limit;        /* bytes of state; 0 = unlimited */
    int input_source;             /* input.source (input/shapes.h) */
    /* [beacon] [tuning] */
    struct t1071i_tuning_cfg tun;
    /* rule.query (lib/rule/): when set, its compiled tree replaces the
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

/* t1071_config_new, _free and _set, for the library's own use. */
int t1071i_config_new(struct t1071_config **out);
void t1071i_config_free(struct t1071_config *cfg);
int t1071i_config_set(struct t1071_config *cfg, const char *key, const char *value);
int t1071i_config_copy(const struct t1071_config *src, struct t1071_config **out);
/* The config key table, for snapshots: key i's name; NULL past the end. */
const char *t1071i_config_key(size_t i);

/* The port set, the filter and derive as this configuration sets them. */
static inline bool
t1071i_port_in_set(const struct t1071_config *cfg, int64_t port)
{
    return t1071i_filter_port(&cfg->filter, port);
}
static inline bool
t1071i_config_match(const struct t1071_config *cfg, const t1071i_event *ev,
                    struct t1071i_match *m)
{
    return t1071i_filter_match(&cfg->filter, cfg->rule, ev, m);
}
static inline struct t1071i_derive_cfg
t1071i_config_derive_cfg(const struct t1071_config *cfg)
{
    struct t1071i_derive_cfg d = {cfg->derive, cfg->home_cidrs, cfg->n_home_cidrs};
    return d;
}
/* t1071i_derive under this configuration; T1071_E_INVALID_ARG on NULL. */
int t1071i_config_derive(const struct t1071_config *cfg, t1071i_event *ev);

/* The direction an alert's reason names: the rule's, when every event it
 * matches has one exact network.direction; else the built-in filter's. */
static inline const char *
t1071i_config_direction(const struct t1071_config *cfg)
{
    return cfg->rule ? cfg->rule->direction_hint : cfg->filter.direction;
}

#endif /* T1071_CONFIG_CONFIG_H */
