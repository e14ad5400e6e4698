/* SPDX-License-Identifier: Apache-2.0 */
/* Several rules in one context (t1071_config_add_rule): one engine state
 * per rule, each event fanned out to all, alerts moved into the context's
 * queue, counters combined, and the T1071MRS envelope of snapshots. */
#include "engine/engine-priv.h"
#include "util/status.h"

/* ===== Several rules ===== */

/* Move a rule's queued alerts into the context's queue, in order. */
static int
rules_collect(struct t1071_ctx *ctx, struct t1071_ctx *r)
{
    if (r->q_n == 0)
        return T1071_OK;
    if (ctx->q_n + r->q_n > ctx->q_cap) {
        size_t nc = ctx->q_cap ? ctx->q_cap : 64;
        struct qalert **nq;
        while (nc < ctx->q_n + r->q_n)
            nc *= 2;
        nq = realloc(ctx->queue, nc * sizeof(*nq));
        if (!nq)
            return T1071_E_NOMEM; /* they wait in the rule's queue */
        ctx->queue = nq;
        ctx->q_cap = nc;
    }
    for (size_t i = 0; i < r->q_n; i++) {
        size_t sz = sizeof(*r->queue[i]) + r->queue[i]->len;
        ctx->queue[ctx->q_n++] = r->queue[i];
        mem_sub(r, sz);
        mem_add(ctx, sz);
    }
    ctx->stats[T1071_STAT_ALERTS_QUEUED] += r->q_n;
    r->stats[T1071_STAT_ALERTS_QUEUED] = 0;
    r->q_n = 0;
    return T1071_OK;
}

/* The context's config as one rule's: no added rules, the context's seed.
 * On error *out is freed and NULL. */
static int
one_rule_config(const struct t1071_ctx *ctx, struct t1071_config **out)
{
    char seed[32];
    int rc = t1071i_config_copy(ctx->cfg, out);

    if (rc != T1071_OK)
        return rc;
    for (size_t k = 0; k < (*out)->n_extra; k++) {
        g_free((*out)->extra_text[k]);
        g_free((*out)->extra_name[k]);
    }
    (*out)->n_extra = 0;
    snprintf(seed, sizeof(seed), "%" PRIu64, ctx->seed);
    rc = t1071i_config_set(*out, "engine.hash_seed", seed);
    if (rc != T1071_OK) {
        t1071i_config_free(*out);
        *out = NULL;
    }
    return rc;
}

/* One decoded event through every rule (each runs exactly as it would
 * alone in a context: same clock, same arrival ordinal). */
int
t1071i_rules_event(struct t1071_ctx *ctx, const t1071i_event *ev)
{
    int rc = T1071_OK;

    for (size_t i = 0; i < ctx->n_rules; i++) {
        struct t1071_ctx *r = ctx->rules[i];
        int erc;
        r->stats[T1071_STAT_RECORDS_IN] = ctx->stats[T1071_STAT_RECORDS_IN];
        /* Alerts are numbered across the context: the rule counts on from
         * the context's total. */
        r->stats[T1071_STAT_ALERTS] = ctx->stats[T1071_STAT_ALERTS];
        erc = t1071i_process_event(r, ev);
        ctx->stats[T1071_STAT_ALERTS] = r->stats[T1071_STAT_ALERTS];
        if (erc != T1071_OK && rc == T1071_OK) {
            rc = erc;
            memcpy(ctx->errmsg, r->errmsg, sizeof(ctx->errmsg));
        }
        erc = rules_collect(ctx, r);
        if (erc != T1071_OK && rc == T1071_OK)
            rc = erc;
    }
    return rc;
}

int
t1071i_rules_advance(struct t1071_ctx *ctx, int64_t t)
{
    int rc = T1071_OK;

    for (size_t i = 0; i < ctx->n_rules; i++) {
        int erc;
        ctx->rules[i]->stats[T1071_STAT_ALERTS] = ctx->stats[T1071_STAT_ALERTS];
        erc = t1071i_advance(ctx->rules[i], t);
        ctx->stats[T1071_STAT_ALERTS] = ctx->rules[i]->stats[T1071_STAT_ALERTS];
        if (erc == T1071_OK)
            erc = rules_collect(ctx, ctx->rules[i]);
        if (erc != T1071_OK && rc == T1071_OK)
            rc = erc;
    }
    return rc;
}

/* Make the per-rule states: rule 1 is the config's own (rule.query or
 * the built-in filter), then each added rule with its own name and id.
 * The memory budget is shared out evenly. */
int
t1071i_rules_init(struct t1071_ctx *ctx)
{
    const struct t1071_config *cfg = ctx->cfg;
    size_t n = 1 + cfg->n_extra;
    char buf[64];
    int rc;

    ctx->rules = calloc(n, sizeof(*ctx->rules));
    if (!ctx->rules)
        return T1071_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct t1071_config *rc_cfg = NULL;
        rc = one_rule_config(ctx, &rc_cfg);
        if (rc != T1071_OK)
            return rc;
        if (cfg->memory_limit) {
            snprintf(buf, sizeof(buf), "%" PRIu64, cfg->memory_limit / n ? cfg->memory_limit / n : 1);
            rc = t1071i_config_set(rc_cfg, "engine.memory_limit", buf);
        }
        if (rc == T1071_OK && i > 0) {
            const char *name = cfg->extra_name[i - 1];
            char *id;
            /* Back to the built-in filter's keys, then the added rule. */
            rc = t1071i_config_set(rc_cfg, "rule.query", "");
            if (rc == T1071_OK)
                rc = t1071i_config_set(rc_cfg, "rule.query", cfg->extra_text[i - 1]);
            if (rc == T1071_OK) {
                const struct t1071i_rule *rr = rc_cfg->rule;
                char *fallback = g_strdup_printf("rule %zu", i + 1);
                rc = t1071i_config_set(rc_cfg, "rule.name",
                                      name ? name : rr && rr->name ? rr->name : fallback);
                g_free(fallback);
                id = rr && rr->id ? g_strdup(rr->id)
                                  : g_strdup_printf("%s/%zu", cfg->rule_id, i + 1);
                if (rc == T1071_OK)
                    rc = t1071i_config_set(rc_cfg, "rule.rule_id", id);
                g_free(id);
                if (rc == T1071_OK && rr && rr->severity)
                    rc = t1071i_config_set(rc_cfg, "rule.severity", rr->severity);
            }
        }
        if (rc == T1071_OK)
            rc = t1071i_ctx_new(&ctx->rules[i], rc_cfg);
        if (rc != T1071_OK)
            snprintf(ctx->errmsg, sizeof(ctx->errmsg), "rule %zu: %.200s", i + 1,
                     rc_cfg->errmsg[0] ? rc_cfg->errmsg : t1071i_strerror(rc));
        t1071i_config_free(rc_cfg);
        if (rc != T1071_OK)
            return rc;
        ctx->n_rules = i + 1;
    }
    return T1071_OK;
}

/* Counters of a context running several rules: what happens once per
 * record is the context's own (and the alert count, kept across rules);
 * what every rule sees alike (time, hosts) is the first rule's; what each
 * rule does on its own is summed. */
uint64_t
t1071i_rules_stat(const struct t1071_ctx *ctx, int id)
{
    uint64_t v = 0;

    if (!ctx->n_rules)
        return ctx->stats[id];
    switch (id) {
    case T1071_STAT_RECORDS_IN:
    case T1071_STAT_ERR_DECODE:
    case T1071_STAT_ERR_TOO_LARGE:
    case T1071_STAT_ERR_TRUNCATED:
    case T1071_STAT_ERR_JSON:
    case T1071_STAT_QUEUE_FULL:
    case T1071_STAT_ALERTS_POLLED:
    case T1071_STAT_ALERTS_QUEUED:
    case T1071_STAT_ALERTS:
    case T1071_STAT_RECORDS_ECS:          /* shapes: counted once, before the fan-out */
    case T1071_STAT_RECORDS_SURICATA:
    case T1071_STAT_RECORDS_SYSMON:
    case T1071_STAT_RECORDS_ZEEK:
    case T1071_STAT_RECORDS_UNRECOGNISED:
    case T1071_STAT_RECORDS_NO_TIME:
    case T1071_STAT_RECORDS_NOT_NETWORK:
    case T1071_STAT_EVENTS_NETWORK:
        return ctx->stats[id];
    case T1071_STAT_EVENTS_DECODED:
    case T1071_STAT_ERR_TIMESTAMP:
    case T1071_STAT_EVENTS_LATE:
    case T1071_STAT_EVENTS_SUSPECT:
    case T1071_STAT_SUSPECT_DROPPED:
    case T1071_STAT_HOSTS:
    case T1071_STAT_LATENESS_MAX_MS:
        return ctx->rules[0]->stats[id];
    case T1071_STAT_MEMORY_BYTES:
    case T1071_STAT_MEMORY_PEAK_BYTES:
        v = ctx->stats[id];
        break;
    default:
        break;
    }
    for (size_t i = 0; i < ctx->n_rules; i++)
        v += ctx->rules[i]->stats[id];
    return v;
}

/* Snapshot of several rules: an envelope of whole snapshots, one of the
 * context itself (config, seed, undelivered alerts, counters: a context
 * with no keyed state) and one per rule.
 *   "T1071MRS" | u32 version | u32 parts | SHA-256 of the payload |
 *   payload = parts x (u64 length | a T1071SNP snapshot)
 * Little-endian; every part is checked again by t1071i_restore_one(). */
#define RULES_HEADER T1071I_ENVELOPE_HEADER

void
t1071i_rules_free(struct t1071_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_rules; i++)
        t1071i_ctx_free(ctx->rules[i]);
    free(ctx->rules);
    ctx->rules = NULL;
    ctx->n_rules = 0;
}

int
t1071i_rules_snapshot(const struct t1071_ctx *ctx, struct t1071_buffer **out)
{
    struct t1071_buffer **parts = calloc(ctx->n_rules + 1, sizeof(*parts));
    struct t1071_config *cfg = NULL;
    struct t1071_ctx *shell = NULL;
    struct t1071_buffer *b = NULL;
    size_t total = RULES_HEADER;
    int rc;

    if (!parts)
        return T1071_E_NOMEM;
    /* The context's own part: a context with its config (one rule), its
     * seed, its queue and its counters, and no keyed state. */
    rc = one_rule_config(ctx, &cfg);
    if (rc == T1071_OK)
        rc = t1071i_ctx_new(&shell, cfg);
    for (size_t i = 0; rc == T1071_OK && i < ctx->q_n; i++)
        rc = t1071i_queue_push(shell, ctx->queue[i]->data, ctx->queue[i]->len);
    if (rc == T1071_OK) {
        memcpy(shell->stats, ctx->stats, sizeof(shell->stats));
        rc = t1071i_snapshot(shell, &parts[0]);
    }
    for (size_t i = 0; rc == T1071_OK && i < ctx->n_rules; i++)
        rc = t1071i_snapshot(ctx->rules[i], &parts[i + 1]);
    for (size_t i = 0; rc == T1071_OK && i <= ctx->n_rules; i++)
        total += 8 + parts[i]->len;
    if (rc == T1071_OK && !(b = t1071i_buffer_new(total)))
        rc = T1071_E_NOMEM;
    if (rc == T1071_OK) {
        uint8_t *w = b->data + RULES_HEADER;
        for (size_t i = 0; i <= ctx->n_rules; i++) {
            t1071i_put_le(w, parts[i]->len, 8);
            memcpy(w + 8, parts[i]->data, parts[i]->len);
            w += 8 + parts[i]->len;
        }
        t1071i_envelope_seal(b->data, total, RULES_MAGIC, 1, (uint32_t)(ctx->n_rules + 1));
        *out = b;
    }
    for (size_t i = 0; i <= ctx->n_rules; i++)
        free(parts[i]);
    free(parts);
    t1071i_ctx_free(shell);
    t1071i_config_free(cfg);
    return rc;
}

int
t1071i_rules_restore(struct t1071_ctx **out, const uint8_t *buf, size_t len)
{
    struct t1071_ctx *ctx = NULL;
    uint32_t ver, parts;
    size_t n, off = RULES_HEADER;
    int rc;

    rc = t1071i_envelope_open(buf, len, RULES_MAGIC, 1, &ver, &parts);
    if (rc != T1071_OK)
        return rc;
    n = parts;
    if (n < 2 || n > T1071I_MAX_RULES + 1)
        return T1071_E_SNAPSHOT;
    for (size_t i = 0; i < n; i++) {
        uint64_t plen;
        struct t1071_ctx *part = NULL;
        if (len - off < 8 || (plen = t1071i_get_le(buf + off, 8)) > len - off - 8) {
            rc = T1071_E_SNAPSHOT;
            goto fail;
        }
        off += 8;
        /* Parts are single-rule snapshots; an envelope inside is refused. */
        if (plen >= 8 && !memcmp(buf + off, RULES_MAGIC, 8)) {
            rc = T1071_E_SNAPSHOT;
            goto fail;
        }
        rc = t1071i_restore_one(&part, buf + off, (size_t)plen);
        if (rc != T1071_OK)
            goto fail;
        off += (size_t)plen;
        if (i == 0) {
            ctx = part;
            ctx->rules = calloc(n - 1, sizeof(*ctx->rules));
            if (!ctx->rules) {
                rc = T1071_E_NOMEM;
                goto fail;
            }
        } else {
            ctx->rules[ctx->n_rules++] = part;
        }
    }
    if (off != len) {
        rc = T1071_E_SNAPSHOT;
        goto fail;
    }
    *out = ctx;
    return T1071_OK;
fail:
    t1071i_ctx_free(ctx);
    return rc;
}
