/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration: every rule parameter is a "section.key" string value whose
 * default is the seed rule.  One table drives t1071_config_set, the INI
 * loader and t1071_config_get, so C, INI, CLI and FFI share one vocabulary. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "config/config.h"
#include "input/shapes.h"
#include "rule/rule.h"
#include "util/timefmt.h"

/* ===== Value parsers ===== */

static bool
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Split a comma-separated list, trimming spaces; empty items are dropped. */
static char **
split_list(const char *s, size_t *n_out)
{
    char **parts = g_strsplit(s, ",", -1);
    size_t n = 0;

    for (size_t i = 0; parts[i]; i++) {
        g_strstrip(parts[i]);
        if (parts[i][0] != '\0')
            parts[n++] = parts[i];
        else
            g_free(parts[i]);
    }
    parts[n] = NULL;
    *n_out = n;
    return parts;
}

/* ===== The key table ===== */

struct key_desc;
typedef int (*setter_fn)(struct t1071_config *cfg, const struct key_desc *d,
                         const char *v, char *err, size_t errlen);

struct key_desc {
    const char *key;
    const char *def;  /* default, in canonical text */
    setter_fn set;
    size_t off;       /* offset of the target field, where generic */
    uint64_t lo, hi;  /* bounds, for integers */
};

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), T1071_E_INVALID_ARG)

static int
set_string(struct t1071_config *cfg, const struct key_desc *d, const char *v,
           char *err, size_t errlen)
{
    char **slot = (char **)((char *)cfg + d->off);

    if (strlen(v) > d->hi)
        return ERR("longer than %" PRIu64 " bytes", d->hi);
    g_free(*slot);
    *slot = g_strdup(v);
    return T1071_OK;
}

static int
set_nonempty_string(struct t1071_config *cfg, const struct key_desc *d, const char *v,
                    char *err, size_t errlen)
{
    if (!*v)
        return ERR("must not be empty");
    return set_string(cfg, d, v, err, errlen);
}

/* rule.risk_score, rule.runs, engine.alert_queue, engine.hash_seed...: an
 * integer in [lo, hi], stored in a field of @p width bytes. */
static int
set_integer(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
            size_t errlen, int width)
{
    uint64_t n;
    char *field = (char *)cfg + d->off;

    if (!parse_u64(v, d->lo, d->hi, &n))
        return ERR("expected an integer in [%" PRIu64 ", %" PRIu64 "], got \"%s\"", d->lo,
                   d->hi, v);
    if (width == 8) {
        *(uint64_t *)(void *)field = n;
    } else {
        uint32_t w = (uint32_t)n; /* int32_t fields have hi <= INT32_MAX */
        memcpy(field, &w, sizeof(w));
    }
    return T1071_OK;
}

static int
set_int32(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
        size_t errlen)
{
    return set_integer(cfg, d, v, err, errlen, 4);
}

static int
set_int64(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
        size_t errlen)
{
    return set_integer(cfg, d, v, err, errlen, 8);
}

static int
set_duration(struct t1071_config *cfg, const struct key_desc *d, const char *v,
             char *err, size_t errlen)
{
    int64_t ms;

    if (!t1071i_parse_duration(v, &ms))
        return ERR("expected a duration such as 24h, 90s, 500ms or 7d, got \"%s\"", v);
    if ((uint64_t)ms < d->lo || (uint64_t)ms > d->hi) {
        char lo[32], hi[32];
        t1071i_format_duration((int64_t)d->lo, lo);
        t1071i_format_duration((int64_t)d->hi, hi);
        return ERR("duration \"%s\" out of range [%s, %s]", v, lo, hi);
    }
    *(int64_t *)((char *)cfg + d->off) = ms;
    return T1071_OK;
}

static int
set_bool(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
         size_t errlen)
{
    bool *slot = (bool *)((char *)cfg + d->off);

    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *slot = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *slot = false;
    else
        return ERR("expected true or false, got \"%s\"", v);
    return T1071_OK;
}

/* input.source: auto, ecs, sysmon, zeek, suricata (lib/input/shapes.h). */
static int
set_source(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
           size_t errlen)
{
    int src = t1071i_source_parse(v);

    (void)d;
    if (src < 0)
        return ERR("expected auto, ecs, sysmon, zeek or suricata, got \"%s\"", v);
    cfg->input_source = src;
    return T1071_OK;
}

/* A byte size: "1048576", "512KiB", "64MiB", "1GiB" (0 = unlimited). */
static int
set_size(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
         size_t errlen)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1024 * 1024},
                 {"GiB", UINT64_C(1024) * 1024 * 1024}};
    char *end;
    unsigned long long n;

    if (*v < '0' || *v > '9')
        return ERR("expected a size such as 64MiB, 1GiB or 0 (unlimited), got \"%s\"", v);
    errno = 0;
    n = strtoull(v, &end, 10);
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (!strcmp(end, units[i].unit)) {
            if (errno || n > UINT64_MAX / units[i].mul)
                return ERR("size \"%s\" out of range", v);
            *(uint64_t *)((char *)cfg + d->off) = n * units[i].mul;
            return T1071_OK;
        }
    }
    return ERR("expected a size such as 64MiB, 1GiB or 0 (unlimited), got \"%s\"", v);
}

static int
set_ports(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
          size_t errlen)
{
    uint8_t bits[sizeof(cfg->filter.port_bits)] = {0};
    size_t n;
    char **parts = split_list(v, &n);
    int rc = T1071_OK;

    for (size_t i = 0; i < n; i++) {
        uint64_t lo, hi;
        char *dash = strchr(parts[i], '-');
        if (dash) {
            *dash = '\0';
            if (!parse_u64(parts[i], 0, 65535, &lo) || !parse_u64(dash + 1, 0, 65535, &hi) ||
                lo > hi) {
                *dash = '-';
                rc = ERR("bad port range \"%s\" (expected LOW-HIGH within 0-65535)", parts[i]);
                goto out;
            }
        } else if (!parse_u64(parts[i], 0, 65535, &lo)) {
            rc = ERR("bad port \"%s\" (expected an integer 0-65535)", parts[i]);
            goto out;
        } else {
            hi = lo;
        }
        for (uint64_t p = lo; p <= hi; p++)
            bits[p >> 3] |= (uint8_t)(1u << (p & 7));
    }
    memcpy(cfg->filter.port_bits, bits, sizeof(bits));
out:
    g_strfreev(parts);
    return rc;
}

/* A CIDR list (rule.exclude_cidrs, rule.home_networks,
 * tuning.allow_cidrs): the array at d->off, its count at d->hi.  All or
 * nothing: a bad item leaves the list as it was. */
static int
set_cidrs(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
          size_t errlen)
{
    struct t1071i_cidr tmp[T1071I_MAX_CIDRS];
    size_t n;
    char **parts = split_list(v, &n);
    int rc = T1071_OK;

    if (n > T1071I_MAX_CIDRS) {
        rc = ERR("%zu CIDRs, at most %d", n, T1071I_MAX_CIDRS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!t1071i_parse_cidr(parts[i], &tmp[i])) {
            rc = ERR("bad CIDR \"%s\" (expected ADDRESS/PREFIX, IPv4 or IPv6)", parts[i]);
            goto out;
        }
    }
    memcpy((char *)cfg + d->off, tmp, n * sizeof(tmp[0]));
    *(size_t *)((char *)cfg + d->hi) = n;
out:
    g_strfreev(parts);
    return rc;
}


static int
set_event_types(struct t1071_config *cfg, const struct key_desc *d, const char *v,
                char *err, size_t errlen)
{
    size_t n;
    char **parts = split_list(v, &n);

    if (n == 0 || n > T1071I_MAX_LIST) {
        g_strfreev(parts);
        return ERR("expected 1 to %d comma-separated event types", T1071I_MAX_LIST);
    }
    g_strfreev(cfg->filter.event_types);
    cfg->filter.event_types = parts;
    cfg->filter.n_event_types = n;
    return T1071_OK;
}

static int
set_key(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
        size_t errlen)
{
    enum t1071i_field fields[T1071I_MAX_KEY_FIELDS];
    size_t n;
    char **parts = split_list(v, &n);
    int rc = T1071_OK;

    if (n == 0 || n > T1071I_MAX_KEY_FIELDS) {
        rc = ERR("expected 1 to %d comma-separated fields", T1071I_MAX_KEY_FIELDS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t f;
        for (f = 0; f < T1071I_F__COUNT; f++)
            if (!strcmp(parts[i], t1071i_field_name((enum t1071i_field)f)))
                break;
        if (f == T1071I_F__COUNT) {
            GString *known = g_string_new(NULL);
            for (size_t k = 0; k < T1071I_F__COUNT; k++)
                g_string_append_printf(known, "%s%s", k ? ", " : "", t1071i_field_name((enum t1071i_field)k));
            rc = ERR("unsupported key field \"%s\" (supported: %s)", parts[i], known->str);
            g_string_free(known, TRUE);
            goto out;
        }
        fields[i] = (enum t1071i_field)f;
    }
    memcpy(cfg->key_fields, fields, n * sizeof(fields[0]));
    cfg->n_key_fields = n;
out:
    g_strfreev(parts);
    return rc;
}

/* ===== [beacon] and [tuning] values ===== */

/* A decimal in [lo, hi] thousandths ("0.8", "1", "0.05"), locale-free. */
static int
set_fraction(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
             size_t errlen)
{
    char *end;
    double x;

    if (!*v || !((*v >= '0' && *v <= '9') || *v == '.'))
        return ERR("expected a number in [%g, %g], got \"%s\"", (double)d->lo / 1000,
                   (double)d->hi / 1000, v);
    x = g_ascii_strtod(v, &end);
    if (*end != '\0' || !(x >= (double)d->lo / 1000 && x <= (double)d->hi / 1000))
        return ERR("expected a number in [%g, %g], got \"%s\"", (double)d->lo / 1000,
                   (double)d->hi / 1000, v);
    *(double *)((char *)cfg + d->off) = x;
    return T1071_OK;
}

/* Executables by full path: a bare name is what malware forges, so an
 * item without a directory separator is refused. */
static int
set_paths(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
          size_t errlen)
{
    size_t n;
    char **parts = split_list(v, &n);
    char ***slot = (char ***)((char *)cfg + d->off);
    size_t *count = (size_t *)((char *)cfg + d->hi);

    if (n > T1071I_MAX_CIDRS) {
        g_strfreev(parts);
        return ERR("%zu paths, at most %d", n, T1071I_MAX_CIDRS);
    }
    for (size_t i = 0; i < n; i++) {
        if (!strchr(parts[i], '\\') && !strchr(parts[i], '/')) {
            int rc = ERR("\"%s\" is a name, not a full path (a name alone never allowlists)",
                         parts[i]);
            g_strfreev(parts);
            return rc;
        }
    }
    g_strfreev(*slot);
    *slot = parts;
    *count = n;
    return T1071_OK;
}

/* Domain suffixes, matched on label boundaries, case-insensitively. */
static int
set_domains(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
            size_t errlen)
{
    size_t n;
    char **parts = split_list(v, &n);

    (void)d;
    if (n > T1071I_MAX_CIDRS) {
        g_strfreev(parts);
        return ERR("%zu domains, at most %d", n, T1071I_MAX_CIDRS);
    }
    for (size_t i = 0; i < n; i++) {
        char *p = parts[i];
        while (*p == '.' || *p == '*')
            p++;
        if (!*p) {
            int rc = ERR("empty domain suffix \"%s\"", parts[i]);
            g_strfreev(parts);
            return rc;
        }
        memmove(parts[i], p, strlen(p) + 1);
        for (p = parts[i]; *p; p++)
            *p = g_ascii_tolower(*p);
    }
    g_strfreev(cfg->tun.allow_domains);
    cfg->tun.allow_domains = parts;
    cfg->tun.n_allow_domains = n;
    return T1071_OK;
}


/* rule.maxspan: a duration, or "unbounded" (an EQL query without maxspan). */
static int
set_maxspan(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
            size_t errlen)
{
    if (!strcmp(v, "unbounded")) {
        cfg->maxspan_ms = T1071I_MAXSPAN_UNBOUNDED;
        return T1071_OK;
    }
    return set_duration(cfg, d, v, err, errlen);
}

static int set_query(struct t1071_config *cfg, const struct key_desc *d, const char *v,
                     char *err, size_t errlen);

#define OFF(f) offsetof(struct t1071_config, f)
#define DAY_MS T1071I_DAY_MS

static const struct key_desc keys[] = {
    {"rule.name", "Application Layer Protocol (T1071) beaconing", set_nonempty_string,
     OFF(name), 0, 1024},
    {"rule.rule_id", "5f1c4e2a-7b0d-4c1e-9a3f-71a1e0c0d071", set_nonempty_string,
     OFF(rule_id), 0, 256},
    {"rule.severity", "high", set_nonempty_string, OFF(severity), 0, 64},
    {"rule.risk_score", "73", set_int32, OFF(risk_score), 0, 100},
    {"rule.profile", "faithful", set_nonempty_string, OFF(profile), 0, 64},
    {"rule.runs", "10", set_int32, OFF(runs), 1, T1071I_MAX_RUNS},
    {"rule.maxspan", "24h", set_maxspan, OFF(maxspan_ms), 0, (uint64_t)T1071I_MAX_SPAN_MS},
    {"rule.ports", "80,443,53,21,25,110,143,8080,8443,1883,5222", set_ports, 0, 0, 0},
    {"rule.exclude_cidrs",
     "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,169.254.0.0/16", set_cidrs,
     OFF(filter.cidrs), 0, OFF(filter.n_cidrs)},
    {"rule.category", "network", set_string, OFF(filter.category), 0, 256},
    {"rule.event_types", "connection,start", set_event_types, 0, 0, 0},
    {"rule.direction", "egress", set_string, OFF(filter.direction), 0, 256},
    {"rule.require_process_name", "true", set_bool, OFF(filter.require_process_name), 0, 0},
    {"rule.key", "process.entity_id", set_key, 0, 0, 0},
    {"rule.derive", "false", set_bool, OFF(derive), 0, 0},
    {"rule.home_networks", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
     set_cidrs, OFF(home_cidrs), 0, OFF(n_home_cidrs)},
    /* After runs, maxspan and key: a copy re-applies the query last. */
    {"rule.query", "", set_query, 0, 0, 0},
    {"engine.lateness", "0s", set_duration, OFF(lateness_ms), 0, (uint64_t)(7 * DAY_MS)},
    {"engine.max_jump", "30d", set_duration, OFF(max_jump_ms), 60000,
     (uint64_t)(36500 * DAY_MS)},
    {"engine.alert_queue", "4096", set_int32, OFF(alert_queue), 1, 1u << 24},
    {"engine.max_event_bytes", "65536", set_int32, OFF(max_event_bytes), 64,
     T1071_MAX_EVENT_BYTES},
    {"engine.hash_seed", "0", set_int64, OFF(hash_seed), 0, UINT64_MAX},
    {"engine.memory_limit", "1GiB", set_size, OFF(memory_limit), 0, 0},
    /* [beacon] and [tuning] (lib/tracker.c); fractions in thousandths */
    {"beacon.enabled", "true", set_bool, OFF(tun.beacon_enabled), 0, 0},
    {"beacon.max_destinations", "32", set_int32, OFF(tun.max_destinations), 1, 4096},
    {"beacon.horizon", "48h", set_duration, OFF(tun.horizon_ms), 0, (uint64_t)(30 * DAY_MS)},
    {"tuning.score_threshold", "0", set_fraction, OFF(tun.score_threshold), 0, 1000},
    {"tuning.allow_executables", "", set_paths, OFF(tun.allow_exes), 0,
     OFF(tun.n_allow_exes)},
    {"tuning.heartbeat_executables", "", set_paths, OFF(tun.heartbeat_exes), 0,
     OFF(tun.n_heartbeat_exes)},
    {"tuning.heartbeat_max_jitter", "0.02", set_fraction, OFF(tun.heartbeat_max_jitter), 0,
     1000},
    {"tuning.allow_cidrs", "", set_cidrs, OFF(tun.allow_cidrs), 0, OFF(tun.n_allow_cidrs)},
    {"tuning.allow_domains", "", set_domains, 0, 0, 0},
    {"tuning.prevalence_hosts", "0", set_int32, OFF(tun.prevalence_hosts), 0, 64},
    {"tuning.prevalence_suppress_hosts", "0", set_int32, OFF(tun.prevalence_suppress_hosts), 0,
     64},
    {"tuning.prevalence_window", "24h", set_duration, OFF(tun.prevalence_window_ms), 60000,
     (uint64_t)(30 * DAY_MS)},
    {"tuning.prevalence_penalty", "0.5", set_fraction, OFF(tun.prevalence_penalty), 0, 1000},
    {"tuning.fallback_key", "false", set_bool, OFF(tun.fallback_key), 0, 0},
    {"tuning.suppress_period", "0s", set_duration, OFF(tun.suppress_period_ms), 0,
     (uint64_t)(30 * DAY_MS)},
    {"tuning.emit_suppressed", "false", set_bool, OFF(tun.emit_suppressed), 0, 0},
    {"tuning.fleet_key", "", set_string, OFF(tun.fleet_key), 0, 256},
    {"input.source", "auto", set_source, OFF(input_source), 0, 0},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

const char *
t1071i_config_key(size_t i)
{
    return i < N_KEYS ? keys[i].key : NULL;
}

static const struct key_desc *find_key(const char *key, size_t *index);

/* Keys a rule.query decides; setting one to another value while a query
 * is set would be silently ignored, so it is refused instead. */
static const char *const query_owned[] = {
    "rule.runs", "rule.maxspan", "rule.key", "rule.ports", "rule.exclude_cidrs",
    "rule.category", "rule.event_types", "rule.direction", "rule.require_process_name",
};

static void
set_value(struct t1071_config *cfg, const char *key, const char *value)
{
    size_t idx;

    if (find_key(key, &idx)) {
        g_free(cfg->values[idx]);
        cfg->values[idx] = g_strdup(value);
    }
}

static bool
is_default(const struct t1071_config *cfg, const char *key)
{
    size_t idx;
    const struct key_desc *d = find_key(key, &idx);

    return d && cfg->values[idx] && !strcmp(cfg->values[idx], d->def);
}

static int
set_query(struct t1071_config *cfg, const struct key_desc *d, const char *v, char *err,
          size_t errlen)
{
    struct t1071i_rule *r = NULL;
    const char *p = v;
    char buf[32];
    GString *kf;
    int rc;

    (void)d;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (!*p) {
        t1071i_rule_free(cfg->rule);
        cfg->rule = NULL;
        return T1071_OK;
    }
    rc = t1071i_rule_compile(v, &r, err, errlen);
    if (rc != T1071_OK)
        return rc;
    /* The engine reads runs, maxspan and the key from the config: the
     * query's values go there, and into the keys' text. */
    cfg->runs = r->runs;
    cfg->maxspan_ms = r->maxspan_ms;
    memcpy(cfg->key_fields, r->key_fields, sizeof(cfg->key_fields));
    cfg->n_key_fields = r->n_key_fields;
    snprintf(buf, sizeof(buf), "%" PRIu32, r->runs);
    set_value(cfg, "rule.runs", buf);
    if (r->has_maxspan)
        t1071i_format_duration(r->maxspan_ms, buf);
    else
        snprintf(buf, sizeof(buf), "unbounded");
    set_value(cfg, "rule.maxspan", buf);
    kf = g_string_new(NULL);
    for (size_t i = 0; i < r->n_key_fields; i++)
        g_string_append_printf(kf, "%s%s", i ? "," : "", t1071i_field_name(r->key_fields[i]));
    set_value(cfg, "rule.key", kf->str);
    g_string_free(kf, TRUE);
    /* A Sigma rule's title, id and level name the alerts, unless the
     * config already names them. */
    if (r->name && strlen(r->name) <= 1024 && is_default(cfg, "rule.name")) {
        g_free(cfg->name);
        cfg->name = g_strdup(r->name);
        set_value(cfg, "rule.name", r->name);
    }
    if (r->id && strlen(r->id) <= 256 && is_default(cfg, "rule.rule_id")) {
        g_free(cfg->rule_id);
        cfg->rule_id = g_strdup(r->id);
        set_value(cfg, "rule.rule_id", r->id);
    }
    if (r->severity && strlen(r->severity) <= 64 && is_default(cfg, "rule.severity")) {
        g_free(cfg->severity);
        cfg->severity = g_strdup(r->severity);
        set_value(cfg, "rule.severity", r->severity);
    }
    t1071i_rule_free(cfg->rule);
    cfg->rule = r;
    return T1071_OK;
}

static const struct key_desc *
find_key(const char *key, size_t *index)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!strcmp(keys[i].key, key)) {
            *index = i;
            return &keys[i];
        }
    }
    return NULL;
}

static int
config_set(struct t1071_config *cfg, const char *key, const char *value, const char *where)
{
    size_t idx;
    const struct key_desc *d;
    char err[T1071I_ERRMSG_LEN - 128];
    int rc;

    cfg->errmsg[0] = '\0';
    d = find_key(key, &idx);
    if (!d) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "%s%sunknown key \"%s\"", where,
                 *where ? ": " : "", key);
        return T1071_E_UNKNOWN_KEY;
    }
    if (strlen(value) > 65536) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "%s%s%s: value longer than 65536 bytes",
                 where, *where ? ": " : "", key);
        return T1071_E_INVALID_ARG;
    }
    if (cfg->rule) {
        for (size_t i = 0; i < sizeof(query_owned) / sizeof(query_owned[0]); i++) {
            if (strcmp(key, query_owned[i]) != 0)
                continue;
            if (!strcmp(value, cfg->values[idx]))
                return T1071_OK; /* unchanged: a copy or a restore */
            snprintf(cfg->errmsg, sizeof(cfg->errmsg),
                     "%s%s%s: set by rule.query; clear rule.query (set it to \"\") first",
                     where, *where ? ": " : "", key);
            return T1071_E_INVALID_ARG;
        }
    }
    err[0] = '\0';
    rc = d->set(cfg, d, value, err, sizeof(err));
    if (rc != T1071_OK) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "%s%s%s: %s", where, *where ? ": " : "",
                 key, err);
        return rc;
    }
    g_free(cfg->values[idx]);
    cfg->values[idx] = g_strdup(value);
    return T1071_OK;
}

int
t1071i_config_new(t1071_config **out)
{
    struct t1071_config *cfg;

    if (!out)
        return T1071_E_INVALID_ARG;
    *out = NULL;
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return T1071_E_NOMEM;
    cfg->values = g_new0(char *, N_KEYS);
    for (size_t i = 0; i < N_KEYS; i++) {
        if (config_set(cfg, keys[i].key, keys[i].def, "") != T1071_OK) {
            /* The defaults are constants: failing here is a bug. */
            g_error("default for %s rejected: %s", keys[i].key, cfg->errmsg);
        }
    }
    cfg->errmsg[0] = '\0';
    *out = cfg;
    return T1071_OK;
}

void
t1071i_config_free(t1071_config *cfg)
{
    if (!cfg)
        return;
    g_free(cfg->name);
    g_free(cfg->rule_id);
    g_free(cfg->severity);
    g_free(cfg->profile);
    g_free(cfg->filter.category);
    g_free(cfg->tun.fleet_key);
    g_free(cfg->filter.direction);
    g_strfreev(cfg->filter.event_types);
    g_strfreev(cfg->tun.allow_exes);
    g_strfreev(cfg->tun.heartbeat_exes);
    g_strfreev(cfg->tun.allow_domains);
    t1071i_rule_free(cfg->rule);
    for (size_t i = 0; i < cfg->n_extra; i++) {
        g_free(cfg->extra_text[i]);
        g_free(cfg->extra_name[i]);
    }
    g_free(cfg->extra_text);
    g_free(cfg->extra_name);
    if (cfg->values) {
        for (size_t i = 0; i < N_KEYS; i++)
            g_free(cfg->values[i]);
        g_free(cfg->values);
    }
    free(cfg);
}

int
t1071i_config_copy(const struct t1071_config *src, struct t1071_config **out)
{
    struct t1071_config *cfg;
    int rc = t1071i_config_new(&cfg);

    if (rc != T1071_OK)
        return rc;
    for (size_t i = 0; i < N_KEYS; i++) {
        rc = config_set(cfg, keys[i].key, src->values[i], "");
        if (rc != T1071_OK) {
            t1071i_config_free(cfg);
            return rc;
        }
    }
    if (src->n_extra) {
        cfg->extra_text = g_new0(char *, src->n_extra);
        cfg->extra_name = g_new0(char *, src->n_extra);
        for (size_t i = 0; i < src->n_extra; i++) {
            cfg->extra_text[i] = g_strdup(src->extra_text[i]);
            cfg->extra_name[i] = g_strdup(src->extra_name[i]);
        }
        cfg->n_extra = src->n_extra;
    }
    *out = cfg;
    return T1071_OK;
}

int
t1071i_config_set(t1071_config *cfg, const char *key, const char *value)
{
    if (!cfg)
        return T1071_E_INVALID_ARG;
    if (!key || !value) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "key and value must not be NULL");
        return T1071_E_INVALID_ARG;
    }
    return config_set(cfg, key, value, "");
}

T1071_API int
t1071_config_get(const t1071_config *cfg, const char *key, char *buf, size_t size,
                 size_t *needed)
{
    size_t idx, n;

    if (needed)
        *needed = 0;
    if (!cfg || !key || (!buf && size))
        return T1071_E_INVALID_ARG;
    if (!find_key(key, &idx))
        return T1071_E_UNKNOWN_KEY;
    n = strlen(cfg->values[idx]) + 1;
    if (needed)
        *needed = n;
    if (size) {
        size_t c = n <= size ? n - 1 : size - 1;
        memcpy(buf, cfg->values[idx], c);
        buf[c] = '\0';
    }
    return T1071_OK;
}

static int
load_keyfile(struct t1071_config *cfg, GKeyFile *kf, const char *where)
{
    gsize n_groups = 0;
    gchar **groups = g_key_file_get_groups(kf, &n_groups);
    int rc = T1071_OK;

    for (gsize g = 0; g < n_groups && rc == T1071_OK; g++) {
        gsize n_keys = 0;
        gchar **names = g_key_file_get_keys(kf, groups[g], &n_keys, NULL);
        for (gsize k = 0; names && k < n_keys && rc == T1071_OK; k++) {
            GError *gerr = NULL;
            /* Raw value: lists use commas, not GKeyFile's ';' lists. */
            gchar *value = g_key_file_get_value(kf, groups[g], names[k], &gerr);
            gchar *full = g_strdup_printf("%s.%s", groups[g], names[k]);
            if (!value) {
                snprintf(cfg->errmsg, sizeof(cfg->errmsg), "%s: %s: %s", where, full,
                         gerr ? gerr->message : "unreadable value");
                rc = T1071_E_INVALID_ARG;
            } else {
                g_strstrip(value);
                rc = config_set(cfg, full, value, where);
            }
            g_clear_error(&gerr);
            g_free(value);
            g_free(full);
        }
        g_strfreev(names);
    }
    g_strfreev(groups);
    return rc;
}

/* Loading is all or nothing: work on a copy, swap on success. */
static int
load_into(struct t1071_config *cfg, GKeyFile *kf, const char *where)
{
    struct t1071_config *tmp;
    int rc = t1071i_config_copy(cfg, &tmp);

    if (rc != T1071_OK)
        return rc;
    rc = load_keyfile(tmp, kf, where);
    if (rc != T1071_OK) {
        memcpy(cfg->errmsg, tmp->errmsg, sizeof(cfg->errmsg));
        t1071i_config_free(tmp);
        return rc;
    }
    /* Swap contents; tmp takes the old ones and is freed. */
    {
        struct t1071_config swap = *cfg;
        *cfg = *tmp;
        *tmp = swap;
    }
    t1071i_config_free(tmp);
    cfg->errmsg[0] = '\0';
    return T1071_OK;
}

T1071_API int
t1071_config_load_data(t1071_config *cfg, const char *data, size_t len)
{
    GKeyFile *kf;
    GError *gerr = NULL;
    int rc;

    if (!cfg)
        return T1071_E_INVALID_ARG;
    if (!data) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "data must not be NULL");
        return T1071_E_INVALID_ARG;
    }
    if (len > 16u << 20) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "configuration larger than 16 MiB");
        return T1071_E_INVALID_ARG;
    }
    kf = g_key_file_new();
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "config: %s", gerr->message);
        g_error_free(gerr);
        g_key_file_free(kf);
        return T1071_E_INVALID_ARG;
    }
    rc = load_into(cfg, kf, "config");
    g_key_file_free(kf);
    return rc;
}

T1071_API int
t1071_config_load_file(t1071_config *cfg, const char *path)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    GKeyFile *kf;
    int rc;

    if (!cfg)
        return T1071_E_INVALID_ARG;
    if (!path) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "path must not be NULL");
        return T1071_E_INVALID_ARG;
    }
    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "%s", gerr->message);
        g_error_free(gerr);
        return T1071_E_IO;
    }
    kf = g_key_file_new();
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &gerr)) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "%s: %s", path, gerr->message);
        g_error_free(gerr);
        rc = T1071_E_INVALID_ARG;
    } else {
        rc = load_into(cfg, kf, path);
    }
    g_key_file_free(kf);
    g_free(data);
    return rc;
}

T1071_API const char *
t1071_config_errmsg(const t1071_config *cfg)
{
    return cfg ? cfg->errmsg : "";
}

/* ===== Rules as data ===== */

static void
drop_extra_rules(struct t1071_config *cfg)
{
    for (size_t i = 0; i < cfg->n_extra; i++) {
        g_free(cfg->extra_text[i]);
        g_free(cfg->extra_name[i]);
    }
    g_free(cfg->extra_text);
    g_free(cfg->extra_name);
    cfg->extra_text = cfg->extra_name = NULL;
    cfg->n_extra = 0;
}

T1071_API int
t1071_config_set_rule(t1071_config *cfg, const char *text)
{
    int rc;

    if (!cfg)
        return T1071_E_INVALID_ARG;
    if (!text) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "rule text must not be NULL");
        return T1071_E_INVALID_ARG;
    }
    rc = config_set(cfg, "rule.query", text, "");
    if (rc == T1071_OK)
        drop_extra_rules(cfg);
    return rc;
}

T1071_API int
t1071_config_add_rule(t1071_config *cfg, const char *name, const char *text)
{
    struct t1071i_rule *r = NULL;
    char err[T1071I_ERRMSG_LEN - 64];
    int rc;

    if (!cfg)
        return T1071_E_INVALID_ARG;
    cfg->errmsg[0] = '\0';
    if (!text) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "rule text must not be NULL");
        return T1071_E_INVALID_ARG;
    }
    if (name && (!*name || strlen(name) > 1024)) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "rule name must be 1 to 1024 bytes");
        return T1071_E_INVALID_ARG;
    }
    if (cfg->n_extra + 1 >= T1071I_MAX_RULES) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "at most %d rules in one context",
                 T1071I_MAX_RULES);
        return T1071_E_INVALID_ARG;
    }
    err[0] = '\0';
    rc = t1071i_rule_compile(text, &r, err, sizeof(err));
    if (rc != T1071_OK) {
        snprintf(cfg->errmsg, sizeof(cfg->errmsg), "rule %zu: %s", cfg->n_extra + 2, err);
        return rc;
    }
    t1071i_rule_free(r);
    cfg->extra_text = g_renew(char *, cfg->extra_text, cfg->n_extra + 1);
    cfg->extra_name = g_renew(char *, cfg->extra_name, cfg->n_extra + 1);
    cfg->extra_text[cfg->n_extra] = g_strdup(text);
    cfg->extra_name[cfg->n_extra] = g_strdup(name);
    cfg->n_extra++;
    return T1071_OK;
}

T1071_API size_t
t1071_config_rule_count(const t1071_config *cfg)
{
    return cfg ? 1 + cfg->n_extra : 0;
}

int
t1071i_config_derive(const struct t1071_config *cfg, t1071i_event *ev)
{
    struct t1071i_derive_cfg d;

    if (!cfg)
        return T1071_E_INVALID_ARG;
    d = t1071i_config_derive_cfg(cfg);
    return t1071i_derive(&d, ev);
}

/* The public calls; the library itself calls the t1071i_ names. */
T1071_API int
t1071_config_new(t1071_config **out)
{
    return t1071i_config_new(out);
}

T1071_API void
t1071_config_free(t1071_config *cfg)
{
    t1071i_config_free(cfg);
}

T1071_API int
t1071_config_set(t1071_config *cfg, const char *key, const char *value)
{
    return t1071i_config_set(cfg, key, value);
}
