/* SPDX-License-Identifier: Apache-2.0 */
/* Sigma front end: a correlation rule (type: event_count, group-by,
 * timespan, condition gte/gt) over one network_connection base rule, read
 * with libyaml and compiled into the same tree as the EQL parser's.
 * `event_count >= N within timespan` is read as the EQL sliding window:
 * runs = N, maxspan = timespan (README "Sigma").  Sysmon-style field names
 * map to ECS; dotted ECS names are taken as they are.  Anything else is
 * refused with its line and column. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <yaml.h>

#include "rule/rule.h"
#include "util/timefmt.h"

#define MAX_DOCS 8
#define MAX_VISITS 100000

struct sctx {
    struct t1071i_rule *r;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    bool failed;
    unsigned visits;
};

static void
serr(struct sctx *c, const yaml_node_t *n, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
serr(struct sctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    int k = 0;

    if (c->failed)
        return;
    c->failed = true;
    if (n)
        k = snprintf(c->err, c->errlen, "line %zu, column %zu: ", n->start_mark.line + 1,
                     n->start_mark.column + 1);
    if (k < 0 || (size_t)k >= c->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

static yaml_node_t *
node(struct sctx *c, int id)
{
    if (++c->visits > MAX_VISITS) {
        serr(c, NULL, "YAML document too complex");
        return NULL;
    }
    return yaml_document_get_node(c->doc, id);
}

static const char *
scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A YAML null: ~, null, or nothing, unquoted. */
static bool
is_null(const yaml_node_t *n)
{
    const char *s = scalar(n);

    return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
            !strcmp(s, "NULL"));
}

static yaml_node_t *
map_get(struct sctx *c, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(node(c, p->key));
        if (k && !strcmp(k, key))
            return node(c, p->value);
    }
    return NULL;
}

/* ===== Fields ===== */

static const struct {
    const char *sigma, *ecs;
} field_map[] = {
    {"DestinationPort", "destination.port"},
    {"DestinationIp", "destination.ip"},
    {"DestinationHostname", "destination.domain"},
    {"SourceIp", "source.ip"},
    {"SourcePort", "source.port"},
    {"Initiated", "network.direction"},
    {"Image", "process.executable"},
    {"ProcessId", "process.pid"},
    {"ProcessGuid", "process.entity_id"},
    {"User", "user.name"},
    {"Protocol", "network.transport"},
    {"Computer", "host.name"},
};

static const char *
ecs_name(const char *sigma)
{
    for (size_t i = 0; i < sizeof(field_map) / sizeof(field_map[0]); i++)
        if (!strcmp(field_map[i].sigma, sigma))
            return field_map[i].ecs;
    return strchr(sigma, '.') ? sigma : NULL;
}

/* ===== Detection items ===== */

enum { M_CONTAINS = 1, M_STARTS = 2, M_ENDS = 4, M_ALL = 8, M_CIDR = 16, M_CASED = 32,
       M_EXISTS = 64 };

/* Sigma string value to a pattern: * and ? are wildcards, \* \? \\ escape. */
static bool
sigma_pattern(struct t1071i_lit *lit, const char *v, unsigned mods)
{
    size_t n = strlen(v);
    char *s = g_malloc(n + 3);
    uint8_t *w = g_malloc0(n + 3);
    size_t k = 0;
    bool ok;

    if (mods & (M_CONTAINS | M_ENDS))
        w[k] = 1, s[k++] = '*';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\\' && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
            s[k++] = v[++i];
            continue;
        }
        if (v[i] == '*' || v[i] == '?')
            w[k] = v[i] == '*' ? 1 : 2;
        s[k++] = v[i];
    }
    if (mods & (M_CONTAINS | M_STARTS))
        w[k] = 1, s[k++] = '*';
    ok = t1071i_lit_pattern(lit, s, w, k, (mods & M_CASED) != 0);
    g_free(s);
    g_free(w);
    return ok;
}

static bool
has_wildcard(const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' && v[1]) {
            v++;
            continue;
        }
        if (*v == '*' || *v == '?')
            return true;
    }
    return false;
}

/* One value of a field item as a node (NULL on error). */
static struct t1071i_node *
item_value(struct sctx *c, const struct t1071i_fdesc *f, bool initiated, unsigned mods,
           yaml_node_t *vn)
{
    const char *v = scalar(vn);
    struct t1071i_node *n;
    char e[200];

    if (!v) {
        serr(c, vn, "expected a scalar value");
        return NULL;
    }
    if (is_null(vn)) {
        if (mods) {
            serr(c, vn, "null takes no modifiers");
            return NULL;
        }
        /* Field: null  =  the field has no value. */
        n = t1071i_node_new(c->r, T1071I_N_NOT);
        struct t1071i_node *x = t1071i_node_new(c->r, T1071I_N_EXISTS);
        if (!n || !x) {
            t1071i_node_free(n);
            t1071i_node_free(x);
            serr(c, vn, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            return NULL;
        }
        x->f = f;
        t1071i_node_add_kid(n, x);
        return n;
    }
    if (mods & M_EXISTS) {
        bool yes = !g_ascii_strcasecmp(v, "true"), no = !g_ascii_strcasecmp(v, "false");
        if (!yes && !no) {
            serr(c, vn, "|exists takes true or false");
            return NULL;
        }
        n = t1071i_node_new(c->r, T1071I_N_EXISTS);
        if (!n)
            goto big;
        n->f = f;
        if (no) {
            struct t1071i_node *x = t1071i_node_new(c->r, T1071I_N_NOT);
            if (!x) {
                t1071i_node_free(n);
                goto big;
            }
            t1071i_node_add_kid(x, n);
            n = x;
        }
        return n;
    }
    if (mods & M_CIDR) {
        struct t1071i_cidr cidr;
        if (t1071i_fdesc_type(f) != T1071I_FT_IP) {
            serr(c, vn, "|cidr needs an address field, not %s", t1071i_fdesc_name(f));
            return NULL;
        }
        if (!t1071i_parse_cidr(v, &cidr)) {
            serr(c, vn, "bad CIDR \"%s\" (expected ADDRESS/PREFIX, IPv4 or IPv6)", v);
            return NULL;
        }
        n = t1071i_node_new(c->r, T1071I_N_CIDR);
        if (!n)
            goto big;
        n->f = f;
        n->cidrs = g_new(struct t1071i_cidr, 1);
        n->cidrs[0] = cidr;
        n->n_cidrs = 1;
        return n;
    }
    if (initiated) {
        /* Sysmon's Initiated is ECS network.direction (Winlogbeat's
         * mapping): true = egress, false = ingress, compared exactly. */
        const char *dir = !g_ascii_strcasecmp(v, "true") ? "egress"
                        : !g_ascii_strcasecmp(v, "false") ? "ingress" : NULL;
        if (!dir || (mods & ~(unsigned)M_CASED)) {
            serr(c, vn, "Initiated takes true or false, without modifiers");
            return NULL;
        }
        n = t1071i_node_new(c->r, T1071I_N_EQ);
        if (!n)
            goto big;
        n->f = f;
        n->lits = g_new0(struct t1071i_lit, 1);
        n->lits[0].s = g_strdup(dir);
        n->lits[0].len = strlen(dir);
        n->n_lits = 1;
        return n;
    }
    if (t1071i_fdesc_type(f) != T1071I_FT_STR) {
        if (mods & ~(unsigned)M_CASED) {
            serr(c, vn, "%s is %s: |contains, |startswith and |endswith do not apply",
                 t1071i_fdesc_name(f),
                 t1071i_fdesc_type(f) == T1071I_FT_NUM ? "numeric" : "an address (use |cidr)");
            return NULL;
        }
        if (has_wildcard(v)) {
            serr(c, vn, "wildcards do not apply to %s", t1071i_fdesc_name(f));
            return NULL;
        }
        n = t1071i_node_new(c->r, T1071I_N_EQ);
        if (!n)
            goto big;
        n->f = f;
        n->lits = g_new0(struct t1071i_lit, 1);
        if (!t1071i_lit_from_text(f, v, strlen(v), &n->lits[0], e, sizeof(e))) {
            t1071i_node_free(n);
            serr(c, vn, "%s", e);
            return NULL;
        }
        n->n_lits = 1;
        return n;
    }
    /* Strings: case-insensitive unless |cased, with wildcards. */
    n = t1071i_node_new(c->r, T1071I_N_LIKE);
    if (!n)
        goto big;
    n->f = f;
    n->cased = (mods & M_CASED) != 0;
    n->lits = g_new0(struct t1071i_lit, 1);
    if (!sigma_pattern(&n->lits[0], v, mods)) {
        t1071i_node_free(n);
        serr(c, vn, "value holds a NUL byte");
        return NULL;
    }
    n->n_lits = 1;
    return n;
big:
    serr(c, vn, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
    return NULL;
}

/* FIELD|mod|mod: value-or-list */
static struct t1071i_node *
field_item(struct sctx *c, yaml_node_t *kn, yaml_node_t *vn)
{
    const char *key = scalar(kn);
    char **parts;
    const char *ecs;
    const struct t1071i_fdesc *f;
    unsigned mods = 0;
    struct t1071i_node *group = NULL;

    if (!key || !*key) {
        serr(c, kn, "expected a field name");
        return NULL;
    }
    parts = g_strsplit(key, "|", -1);
    ecs = ecs_name(parts[0]);
    if (!ecs || !(f = t1071i_rule_field(ecs))) {
        serr(c, kn, "unsupported field \"%s\" (Sysmon names: DestinationPort, DestinationIp, "
                    "DestinationHostname, SourceIp, SourcePort, Initiated, Image, ProcessId, "
                    "ProcessGuid, User, Protocol, Computer; or a dotted ECS name)", parts[0]);
        g_strfreev(parts);
        return NULL;
    }
    for (size_t i = 1; parts[i]; i++) {
        static const struct {
            const char *name;
            unsigned bit;
        } known[] = {{"contains", M_CONTAINS}, {"startswith", M_STARTS}, {"endswith", M_ENDS},
                     {"all", M_ALL}, {"cidr", M_CIDR}, {"cased", M_CASED},
                     {"exists", M_EXISTS}};
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (!strcmp(parts[i], known[k].name))
                bit = known[k].bit;
        if (!bit) {
            serr(c, kn, "unsupported modifier |%s (supported: contains, startswith, endswith, "
                        "all, cidr, cased, exists)", parts[i]);
            g_strfreev(parts);
            return NULL;
        }
        mods |= bit;
    }
    if (((mods & M_CONTAINS) != 0) + ((mods & M_STARTS) != 0) + ((mods & M_ENDS) != 0) > 1) {
        serr(c, kn, "|contains, |startswith and |endswith exclude each other");
        g_strfreev(parts);
        return NULL;
    }
    {
        bool initiated = !strcmp(parts[0], "Initiated");
        unsigned vmods = mods & ~(unsigned)M_ALL;
        g_strfreev(parts);
        if (vn->type == YAML_SEQUENCE_NODE) {
            size_t n = (size_t)(vn->data.sequence.items.top - vn->data.sequence.items.start);
            if (n == 0) {
                serr(c, vn, "empty list of values");
                return NULL;
            }
            group = t1071i_node_new(c->r, (mods & M_ALL) ? T1071I_N_AND : T1071I_N_OR);
            if (!group) {
                serr(c, vn, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
                return NULL;
            }
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++) {
                struct t1071i_node *x = item_value(c, f, initiated, vmods, node(c, *it));
                if (!x) {
                    t1071i_node_free(group);
                    return NULL;
                }
                t1071i_node_add_kid(group, x);
            }
            return group;
        }
        if (mods & M_ALL) {
            serr(c, kn, "|all needs a list of values");
            return NULL;
        }
        return item_value(c, f, initiated, vmods, vn);
    }
}

/* A search identifier: a map (all items) or a list of maps (any). */
static struct t1071i_node *
search(struct sctx *c, yaml_node_t *sn, int depth)
{
    struct t1071i_node *n;

    if (depth > 2) {
        serr(c, sn, "search nested too deeply");
        return NULL;
    }
    if (sn->type == YAML_MAPPING_NODE) {
        n = t1071i_node_new(c->r, T1071I_N_AND);
        if (!n) {
            serr(c, sn, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            return NULL;
        }
        for (yaml_node_pair_t *p = sn->data.mapping.pairs.start; p < sn->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
            struct t1071i_node *x = k && v ? field_item(c, k, v) : NULL;
            if (!x) {
                t1071i_node_free(n);
                return NULL;
            }
            t1071i_node_add_kid(n, x);
        }
        if (n->n_kids == 0) {
            serr(c, sn, "empty search");
            t1071i_node_free(n);
            return NULL;
        }
        return n;
    }
    if (sn->type == YAML_SEQUENCE_NODE) {
        n = t1071i_node_new(c->r, T1071I_N_OR);
        if (!n) {
            serr(c, sn, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            return NULL;
        }
        for (yaml_node_item_t *it = sn->data.sequence.items.start;
             it < sn->data.sequence.items.top; it++) {
            yaml_node_t *x = node(c, *it);
            struct t1071i_node *k;
            if (!x || x->type != YAML_MAPPING_NODE) {
                serr(c, x ? x : sn, "keyword searches (plain values without a field) are "
                                    "not supported");
                t1071i_node_free(n);
                return NULL;
            }
            k = search(c, x, depth + 1);
            if (!k) {
                t1071i_node_free(n);
                return NULL;
            }
            t1071i_node_add_kid(n, k);
        }
        if (n->n_kids == 0) {
            serr(c, sn, "empty search");
            t1071i_node_free(n);
            return NULL;
        }
        return n;
    }
    serr(c, sn, "keyword searches (plain values without a field) are not supported");
    return NULL;
}

/* ===== The condition ===== */

struct cond {
    struct sctx *c;
    yaml_node_t *det, *at;
    const char *s, *p;
    int depth;
};

static void
cerr(struct cond *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
cerr(struct cond *q, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    serr(q->c, q->at, "condition, at offset %zu: %s", (size_t)(q->p - q->s), msg);
}

/* The next word (identifier, pattern or operator) without consuming. */
static size_t
peek_word(struct cond *q, const char **start)
{
    const char *p = q->p;

    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    *start = p;
    if (*p == '(' || *p == ')')
        return 1;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '(' && *p != ')')
        p++;
    return (size_t)(p - *start);
}

static bool
word_is(struct cond *q, const char *w)
{
    const char *s;
    size_t n = peek_word(q, &s);

    return n == strlen(w) && !strncmp(s, w, n);
}

static void
skip_word(struct cond *q)
{
    const char *s;
    size_t n = peek_word(q, &s);

    q->p = s + n;
}

static bool
glob_match(const char *pat, size_t plen, const char *s)
{
    /* Identifiers: only a trailing or inner '*' matters here. */
    if (plen == 0)
        return !*s;
    if (*pat == '*') {
        for (;; s++) {
            if (glob_match(pat + 1, plen - 1, s))
                return true;
            if (!*s)
                return false;
        }
    }
    return *s == *pat && glob_match(pat + 1, plen - 1, s + 1);
}

static struct t1071i_node *cond_or(struct cond *q);

static struct t1071i_node *
ident_node(struct cond *q, const char *name, size_t n)
{
    char *id = g_strndup(name, n);
    yaml_node_t *sn = strcmp(id, "condition") ? map_get(q->c, q->det, id) : NULL;
    struct t1071i_node *x;

    if (!sn) {
        cerr(q, "no search identifier \"%s\" in detection", id);
        g_free(id);
        return NULL;
    }
    g_free(id);
    x = search(q->c, sn, 0);
    return x;
}

static struct t1071i_node *
cond_unary(struct cond *q)
{
    const char *s;
    size_t n;
    struct t1071i_node *x;

    if (++q->depth > T1071I_RULE_MAX_DEPTH) {
        cerr(q, "nested deeper than %d", T1071I_RULE_MAX_DEPTH);
        return NULL;
    }
    n = peek_word(q, &s);
    if (n == 0) {
        cerr(q, "unexpected end of condition");
        x = NULL;
    } else if (n == 3 && !strncmp(s, "not", 3)) {
        skip_word(q);
        x = cond_unary(q);
        if (x) {
            struct t1071i_node *y = t1071i_node_new(q->c->r, T1071I_N_NOT);
            if (!y) {
                t1071i_node_free(x);
                cerr(q, "rule too large");
                x = NULL;
            } else {
                t1071i_node_add_kid(y, x);
                x = y;
            }
        }
    } else if (*s == '(') {
        skip_word(q);
        x = cond_or(q);
        if (x && !word_is(q, ")")) {
            cerr(q, "expected \")\"");
            t1071i_node_free(x);
            x = NULL;
        } else if (x) {
            skip_word(q);
        }
    } else if ((n == 1 && *s == '1') || (n == 3 && !strncmp(s, "all", 3)) ||
               (n == 3 && !strncmp(s, "any", 3))) {
        bool all = *s == 'a' && s[1] == 'l';
        const char *pat;
        size_t pn;
        skip_word(q);
        if (!word_is(q, "of")) {
            cerr(q, "expected \"of\"");
            q->depth--;
            return NULL;
        }
        skip_word(q);
        pn = peek_word(q, &pat);
        if (pn == 0 || *pat == '(' || *pat == ')') {
            cerr(q, "expected a pattern or \"them\" after \"of\"");
            q->depth--;
            return NULL;
        }
        x = t1071i_node_new(q->c->r, all ? T1071I_N_AND : T1071I_N_OR);
        if (!x) {
            cerr(q, "rule too large");
            q->depth--;
            return NULL;
        }
        for (yaml_node_pair_t *p = q->det->data.mapping.pairs.start;
             p < q->det->data.mapping.pairs.top; p++) {
            const char *k = scalar(node(q->c, p->key));
            struct t1071i_node *y;
            if (!k || !strcmp(k, "condition"))
                continue;
            if (!(pn == 4 && !strncmp(pat, "them", 4)) && !glob_match(pat, pn, k))
                continue;
            y = search(q->c, node(q->c, p->value), 0);
            if (!y) {
                t1071i_node_free(x);
                q->depth--;
                return NULL;
            }
            t1071i_node_add_kid(x, y);
        }
        if (x->n_kids == 0) {
            cerr(q, "\"%.*s\" names no search identifier", (int)pn, pat);
            t1071i_node_free(x);
            x = NULL;
        } else {
            skip_word(q);
        }
    } else if (n == 1 && *s == ')') {
        cerr(q, "unexpected \")\"");
        x = NULL;
    } else if ((n == 3 && !strncmp(s, "and", 3)) || (n == 2 && !strncmp(s, "or", 2))) {
        cerr(q, "unexpected \"%.*s\"", (int)n, s);
        x = NULL;
    } else if (memchr(s, '|', n)) {
        cerr(q, "aggregations in the condition (\"|\") are not supported: use a "
                "correlation rule");
        x = NULL;
    } else {
        x = ident_node(q, s, n);
        if (x)
            skip_word(q);
    }
    q->depth--;
    return x;
}

static struct t1071i_node *
cond_chain(struct cond *q, bool is_and)
{
    const char *kw = is_and ? "and" : "or";
    struct t1071i_node *first = is_and ? cond_unary(q) : cond_chain(q, true), *chain = NULL;

    if (!first)
        return NULL;
    while (word_is(q, kw)) {
        struct t1071i_node *x;
        skip_word(q);
        if (!chain) {
            chain = t1071i_node_new(q->c->r, is_and ? T1071I_N_AND : T1071I_N_OR);
            if (!chain) {
                t1071i_node_free(first);
                cerr(q, "rule too large");
                return NULL;
            }
            t1071i_node_add_kid(chain, first);
        }
        x = is_and ? cond_unary(q) : cond_chain(q, true);
        if (!x) {
            t1071i_node_free(chain);
            return NULL;
        }
        t1071i_node_add_kid(chain, x);
    }
    return chain ? chain : first;
}

static struct t1071i_node *
cond_or(struct cond *q)
{
    struct t1071i_node *x;

    if (++q->depth > T1071I_RULE_MAX_DEPTH) {
        cerr(q, "nested deeper than %d", T1071I_RULE_MAX_DEPTH);
        return NULL;
    }
    x = cond_chain(q, false);
    q->depth--;
    return x;
}

/* ===== Documents ===== */

static bool
check_keys(struct sctx *c, yaml_node_t *map, const char *const *allowed, const char *what)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = node(c, p->key);
        const char *k = scalar(kn);
        bool ok = false;
        for (size_t i = 0; k && allowed[i]; i++)
            ok = ok || !strcmp(k, allowed[i]);
        if (!ok) {
            serr(c, kn, "%s: \"%s\" is not supported", what, k ? k : "(non-scalar key)");
            return false;
        }
    }
    return true;
}

static bool
compile_base(struct sctx *c, yaml_node_t *root)
{
    static const char *const logsource_keys[] = {"category", NULL};
    yaml_node_t *ls = map_get(c, root, "logsource"), *det = map_get(c, root, "detection");
    yaml_node_t *cat, *cond;
    struct cond q = {0};

    if (!ls || ls->type != YAML_MAPPING_NODE) {
        serr(c, ls ? ls : root, "the base rule needs a logsource mapping");
        return false;
    }
    if (!check_keys(c, ls, logsource_keys,
                    "logsource (only category: network_connection; the event schema has no "
                    "product or service)"))
        return false;
    cat = map_get(c, ls, "category");
    if (!scalar(cat) || strcmp(scalar(cat), "network_connection") != 0) {
        serr(c, cat ? cat : ls, "logsource category must be network_connection");
        return false;
    }
    if (!det || det->type != YAML_MAPPING_NODE) {
        serr(c, det ? det : root, "the base rule needs a detection mapping");
        return false;
    }
    if (map_get(c, det, "timeframe")) {
        serr(c, det, "detection.timeframe is not supported: use the correlation's timespan");
        return false;
    }
    cond = map_get(c, det, "condition");
    if (!scalar(cond)) {
        serr(c, cond ? cond : det, "detection.condition must be one string");
        return false;
    }
    q.c = c;
    q.det = det;
    q.at = cond;
    q.s = q.p = scalar(cond);
    c->r->root = cond_or(&q);
    if (!c->r->root)
        return false;
    {
        const char *rest;
        if (peek_word(&q, &rest) != 0) {
            if (*rest == '|')
                cerr(&q, "aggregations in the condition (\"|\") are not supported: use a "
                         "correlation rule");
            else
                cerr(&q, "unexpected \"%.20s\"", rest);
            return false;
        }
    }
    return true;
}

static bool
compile_correlation(struct sctx *c, yaml_node_t *corr)
{
    static const char *const keys[] = {"type", "rules", "group-by", "timespan", "condition",
                                       "generate", NULL};
    yaml_node_t *type = map_get(c, corr, "type"), *gb = map_get(c, corr, "group-by");
    yaml_node_t *ts = map_get(c, corr, "timespan"), *cond = map_get(c, corr, "condition");
    struct t1071i_rule *r = c->r;
    int64_t ms;

    if (corr->type != YAML_MAPPING_NODE) {
        serr(c, corr, "correlation must be a mapping");
        return false;
    }
    if (!check_keys(c, corr, keys, "correlation"))
        return false;
    if (!scalar(type) || strcmp(scalar(type), "event_count") != 0) {
        serr(c, type ? type : corr, "correlation type must be event_count");
        return false;
    }
    if (!gb || (gb->type != YAML_SEQUENCE_NODE && !scalar(gb))) {
        serr(c, gb ? gb : corr, "correlation needs group-by (the sequence's join key)");
        return false;
    }
    {
        yaml_node_item_t one, *it, *end;
        if (gb->type == YAML_SEQUENCE_NODE) {
            it = gb->data.sequence.items.start;
            end = gb->data.sequence.items.top;
        } else {
            one = 0;
            it = &one;
            end = it + 1;
        }
        if (it == end) {
            serr(c, gb, "group-by is empty");
            return false;
        }
        for (; it < end; it++) {
            yaml_node_t *fn = gb->type == YAML_SEQUENCE_NODE ? node(c, *it) : gb;
            const char *name = scalar(fn), *ecs = name ? ecs_name(name) : NULL;
            enum t1071i_field kf;
            if (!ecs || !t1071i_key_field(ecs, &kf)) {
                serr(c, fn, "cannot group by \"%s\" (supported: ProcessGuid, Image, User, "
                            "Computer, SourceIp, or process.entity_id, process.name, "
                            "process.executable, host.id, host.name, source.ip, user.name)",
                     name ? name : "?");
                return false;
            }
            if (r->n_key_fields >= T1071I_MAX_KEY_FIELDS) {
                serr(c, fn, "more than %d group-by fields", T1071I_MAX_KEY_FIELDS);
                return false;
            }
            r->key_fields[r->n_key_fields++] = kf;
        }
    }
    if (!scalar(ts) || !t1071i_parse_duration(scalar(ts), &ms) || ms > T1071I_MAX_SPAN_MS) {
        serr(c, ts ? ts : corr, "correlation needs timespan, a duration such as 24h, 90s or 7d "
                                "(at most 3650d)");
        return false;
    }
    r->maxspan_ms = ms;
    r->has_maxspan = true;
    if (!cond || cond->type != YAML_MAPPING_NODE ||
        cond->data.mapping.pairs.top - cond->data.mapping.pairs.start != 1) {
        serr(c, cond ? cond : corr, "correlation condition must be one of gte: N or gt: N");
        return false;
    }
    {
        yaml_node_pair_t *p = cond->data.mapping.pairs.start;
        yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
        const char *op = scalar(kn), *v = scalar(vn);
        char *end;
        long long n;
        if (!op || (strcmp(op, "gte") && strcmp(op, "gt"))) {
            serr(c, kn, "correlation condition \"%s\" is not supported (gte: N or gt: N; an "
                        "upper bound has no EQL sequence equivalent)", op ? op : "?");
            return false;
        }
        n = v && *v >= '0' && *v <= '9' ? strtoll(v, &end, 10) : -1;
        if (n < 0 || *end || n > T1071I_MAX_RUNS - (strcmp(op, "gt") == 0)) {
            serr(c, vn, "expected an integer count in [2, %d]", T1071I_MAX_RUNS);
            return false;
        }
        if (!strcmp(op, "gt"))
            n++;
        if (n < 2) {
            serr(c, vn, "a count below 2 is not a sequence (runs >= 2)");
            return false;
        }
        r->runs = (uint32_t)n;
    }
    return true;
}

int
t1071i_rule_compile_sigma(const char *text, struct t1071i_rule **out, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t docs[MAX_DOCS];
    size_t n_docs = 0;
    struct sctx c = {0};
    struct t1071i_rule *r = g_new0(struct t1071i_rule, 1);
    int corr = -1, base = -1;
    int rc = T1071_E_RULE;

    *out = NULL;
    c.r = r;
    c.err = err;
    c.errlen = errlen;
    r->lang = g_strdup("sigma");
    if (!yaml_parser_initialize(&parser)) {
        g_free(r->lang);
        g_free(r);
        return T1071_E_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    for (;;) {
        yaml_node_t *root;
        if (n_docs == MAX_DOCS) {
            snprintf(err, errlen, "more than %d YAML documents", MAX_DOCS);
            c.failed = true;
            goto out;
        }
        if (!yaml_parser_load(&parser, &docs[n_docs])) {
            snprintf(err, errlen, "line %zu, column %zu: YAML: %s%s%s",
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "syntax error",
                     parser.context ? " " : "", parser.context ? parser.context : "");
            c.failed = true;
            goto out;
        }
        root = yaml_document_get_root_node(&docs[n_docs]);
        if (!root) {
            yaml_document_delete(&docs[n_docs]);
            break;
        }
        n_docs++;
    }
    for (size_t i = 0; i < n_docs; i++) {
        yaml_node_t *root = yaml_document_get_root_node(&docs[i]);
        c.doc = &docs[i];
        if (root->type != YAML_MAPPING_NODE) {
            serr(&c, root, "a Sigma rule is a YAML mapping");
            goto out;
        }
        if (map_get(&c, root, "correlation")) {
            if (corr >= 0) {
                serr(&c, root, "more than one correlation");
                goto out;
            }
            corr = (int)i;
        } else if (map_get(&c, root, "detection")) {
            base = base < 0 ? (int)i : base;
        } else if (!map_get(&c, root, "action")) {
            serr(&c, root, "neither a detection nor a correlation rule");
            goto out;
        }
    }
    if (corr < 0) {
        snprintf(err, errlen, "a Sigma rule without a correlation is not a sequence: add a "
                              "correlation document (type: event_count, group-by, timespan, "
                              "condition: gte: N)");
        c.failed = true;
        goto out;
    }
    /* The correlation names its base rule. */
    {
        yaml_node_t *croot, *cn, *rules, *ref;
        const char *want;
        c.doc = &docs[corr];
        croot = yaml_document_get_root_node(c.doc);
        cn = map_get(&c, croot, "correlation");
        rules = map_get(&c, cn, "rules");
        if (!rules || rules->type != YAML_SEQUENCE_NODE ||
            rules->data.sequence.items.top - rules->data.sequence.items.start != 1) {
            serr(&c, rules ? rules : cn, "correlation rules must list exactly one base rule");
            goto out;
        }
        ref = node(&c, *rules->data.sequence.items.start);
        want = scalar(ref);
        base = -1;
        for (size_t i = 0; want && i < n_docs; i++) {
            yaml_node_t *root = yaml_document_get_root_node(&docs[i]);
            const char *nm, *id;
            if ((int)i == corr)
                continue;
            c.doc = &docs[i];
            nm = scalar(map_get(&c, root, "name"));
            id = scalar(map_get(&c, root, "id"));
            if ((nm && !strcmp(nm, want)) || (id && !strcmp(id, want)))
                base = (int)i;
        }
        if (base < 0) {
            c.doc = &docs[corr];
            serr(&c, ref, "no base rule named \"%s\" (its name: or id:) in this file",
                 want ? want : "?");
            goto out;
        }
        c.doc = &docs[corr];
        if (!compile_correlation(&c, cn))
            goto out;
        {
            yaml_node_t *t = map_get(&c, croot, "title"), *id = map_get(&c, croot, "id");
            yaml_node_t *lv = map_get(&c, croot, "level");
            /* They name the alerts: the bounds of rule.name, rule.rule_id
             * and rule.severity. */
            if (scalar(t) && strlen(scalar(t)) > 1024) {
                serr(&c, t, "title longer than 1024 bytes");
                goto out;
            }
            if (scalar(id) && strlen(scalar(id)) > 256) {
                serr(&c, id, "id longer than 256 bytes");
                goto out;
            }
            if (scalar(lv) && strlen(scalar(lv)) > 64) {
                serr(&c, lv, "level longer than 64 bytes");
                goto out;
            }
            if (scalar(t) && *scalar(t))
                r->name = g_strdup(scalar(t));
            if (scalar(id) && *scalar(id))
                r->id = g_strdup(scalar(id));
            if (scalar(lv) && *scalar(lv))
                r->severity = g_strdup(scalar(lv));
        }
    }
    c.doc = &docs[base];
    if (!compile_base(&c, yaml_document_get_root_node(c.doc)))
        goto out;
    /* network_connection: ECS network events of type connection or start
     * (Sysmon event 3 as Winlogbeat writes it; Elastic Endpoint; flows). */
    {
        struct t1071i_node *types = t1071i_node_new(r, T1071I_N_EQ), *and;
        if (!types) {
            snprintf(err, errlen, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            c.failed = true;
            goto out;
        }
        types->f = t1071i_rule_field("event.type");
        types->lits = g_new0(struct t1071i_lit, 2);
        types->lits[0].s = g_strdup("connection");
        types->lits[0].len = 10;
        types->lits[1].s = g_strdup("start");
        types->lits[1].len = 5;
        types->n_lits = 2;
        and = t1071i_node_new(r, T1071I_N_AND);
        if (!and) {
            t1071i_node_free(types);
            snprintf(err, errlen, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            c.failed = true;
            goto out;
        }
        t1071i_node_add_kid(and, types);
        if (r->root->kind == T1071I_N_AND) {
            for (size_t i = 0; i < r->root->n_kids; i++)
                t1071i_node_add_kid(and, r->root->kids[i]);
            r->root->n_kids = 0;
            t1071i_node_free(r->root);
        } else {
            t1071i_node_add_kid(and, r->root);
        }
        r->root = and;
    }
    rc = t1071i_rule_finish(r, "network", err, errlen);
    if (rc != T1071_OK) {
        c.failed = true;
        goto out;
    }
out:
    for (size_t i = 0; i < n_docs; i++)
        yaml_document_delete(&docs[i]);
    yaml_parser_delete(&parser);
    if (rc != T1071_OK) {
        if (!c.failed)
            snprintf(err, errlen, "invalid Sigma rule");
        t1071i_rule_free(r);
        return T1071_E_RULE;
    }
    *out = r;
    return T1071_OK;
}
