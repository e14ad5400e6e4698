/* SPDX-License-Identifier: Apache-2.0 */
/* Rules as data: the fields a rule may read, the expression tree and its
 * evaluation on a decoded Event (README "Rules as data").  Semantics as
 * README "Semantics": two-valued logic, a field holding an array matches
 * when any value does, `==` and `in` exact, `:` case-insensitive with `*`
 * and `?` wildcards, a missing field makes every comparison false (so
 * `!=`, `not in` and `not cidrmatch` pass it), an address that does not
 * parse is absent.  The EQL front end is eql.c, Sigma's sigma.c, the
 * dispatcher compile.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "rule/rule.h"
#include "util/addr.h"
#include "util/timefmt.h"

/* ===== Fields ===== */

enum fstore { FS_REP_STR, FS_OPT_STR, FS_REP_NUM, FS_OPT_NUM };

struct t1071i_fdesc {
    const char *name;
    enum t1071i_ftype type;
    enum fstore store;
    size_t off_n; /* n_x (repeated) or has_x (optional number) */
    size_t off_v;
};

#define EV(f) offsetof(t1071i_event, f)
#define REPS(name, f) {name, T1071I_FT_STR, FS_REP_STR, EV(n_##f), EV(f)}
#define OPTS(name, f) {name, T1071I_FT_STR, FS_OPT_STR, 0, EV(f)}
#define OPTN(name, f) {name, T1071I_FT_NUM, FS_OPT_NUM, EV(has_##f), EV(f)}

static const struct t1071i_fdesc fields[] = {
    OPTS("event.id", event_id),
    OPTS("event.kind", event_kind),
    REPS("event.category", event_category),
    REPS("event.type", event_type),
    OPTS("event.action", event_action),
    OPTS("event.dataset", event_dataset),
    OPTS("event.module", event_module),
    REPS("network.direction", network_direction),
    OPTS("network.transport", network_transport),
    OPTS("network.protocol", network_protocol),
    OPTS("network.community_id", network_community_id),
    {"source.ip", T1071I_FT_IP, FS_REP_STR, EV(n_source_ip), EV(source_ip)},
    OPTN("source.port", source_port),
    OPTN("source.bytes", source_bytes),
    {"destination.ip", T1071I_FT_IP, FS_REP_STR, EV(n_destination_ip), EV(destination_ip)},
    {"destination.port", T1071I_FT_NUM, FS_REP_NUM, EV(n_destination_port),
     EV(destination_port)},
    OPTS("destination.domain", destination_domain),
    OPTN("destination.bytes", destination_bytes),
    REPS("process.entity_id", process_entity_id),
    OPTN("process.pid", process_pid),
    REPS("process.name", process_name),
    OPTS("process.executable", process_executable),
    OPTS("host.id", host_id),
    OPTS("host.name", host_name),
    OPTS("user.name", user_name),
    OPTS("url.full", url_full),
    OPTS("url.path", url_path),
    OPTS("user_agent.original", user_agent_original),
    OPTS("tls.client.server_name", tls_client_server_name),
    OPTS("agent.type", agent_type),
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define F_DESTINATION_IP (&fields[14])
#define F_DESTINATION_PORT (&fields[15])

const struct t1071i_fdesc *
t1071i_rule_field(const char *name)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

enum t1071i_ftype
t1071i_fdesc_type(const struct t1071i_fdesc *f)
{
    return f->type;
}

const char *
t1071i_fdesc_name(const struct t1071i_fdesc *f)
{
    return f->name;
}

static size_t
n_values(const t1071i_event *ev, const struct t1071i_fdesc *f)
{
    const char *base = (const char *)ev;

    switch (f->store) {
    case FS_REP_STR:
    case FS_REP_NUM:
        return *(const size_t *)(base + f->off_n);
    case FS_OPT_STR:
        return *(char *const *)(base + f->off_v) ? 1 : 0;
    case FS_OPT_NUM:
        return *(const protobuf_c_boolean *)(base + f->off_n) ? 1 : 0;
    }
    return 0;
}

static const char *
str_value(const t1071i_event *ev, const struct t1071i_fdesc *f, size_t i)
{
    const char *base = (const char *)ev;

    if (f->store == FS_OPT_STR)
        return *(char *const *)(base + f->off_v);
    return (*(char **const *)(base + f->off_v))[i];
}

static int64_t
num_value(const t1071i_event *ev, const struct t1071i_fdesc *f, size_t i)
{
    const char *base = (const char *)ev;

    if (f->store == FS_OPT_NUM)
        return *(const int64_t *)(base + f->off_v);
    return (*(int64_t *const *)(base + f->off_v))[i];
}

/* ===== Tree ===== */

struct t1071i_node *
t1071i_node_new(struct t1071i_rule *r, enum t1071i_nkind kind)
{
    struct t1071i_node *n;

    if (r->n_nodes >= T1071I_RULE_MAX_NODES)
        return NULL;
    n = g_new0(struct t1071i_node, 1);
    n->kind = kind;
    r->n_nodes++;
    return n;
}

bool
t1071i_node_add_kid(struct t1071i_node *n, struct t1071i_node *kid)
{
    if (n->n_kids >= T1071I_RULE_MAX_NODES)
        return false;
    n->kids = g_renew(struct t1071i_node *, n->kids, n->n_kids + 1);
    n->kids[n->n_kids++] = kid;
    return true;
}

void
t1071i_node_free(struct t1071i_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        t1071i_node_free(n->kids[i]);
    for (size_t i = 0; i < n->n_lits; i++) {
        g_free(n->lits[i].s);
        g_free(n->lits[i].cp);
        g_free(n->lits[i].wild);
    }
    g_free(n->kids);
    g_free(n->lits);
    g_free(n->cidrs);
    g_free(n);
}

bool
t1071i_lit_from_text(const struct t1071i_fdesc *f, const char *s, size_t len,
                     struct t1071i_lit *lit, char *err, size_t errlen)
{
    memset(lit, 0, sizeof(*lit));
    if (f->type == T1071I_FT_NUM) {
        /* A numeric field compares numerically: "443" is 443, as
         * Elasticsearch's term query on a long field. */
        char buf[32];
        char *end;
        long long v;
        if (len == 0 || len >= sizeof(buf)) {
            snprintf(err, errlen, "%s is numeric: \"%.*s\" is not an integer", f->name,
                     (int)(len > 40 ? 40 : len), s);
            return false;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        v = strtoll(buf, &end, 10);
        if (*end != '\0' || !((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-')) {
            snprintf(err, errlen, "%s is numeric: \"%s\" is not an integer", f->name, buf);
            return false;
        }
        lit->num = v;
        return true;
    }
    if (f->type == T1071I_FT_IP) {
        char buf[64];
        bool v4;
        if (len >= sizeof(buf)) {
            snprintf(err, errlen, "%s is an address: value too long", f->name);
            return false;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (!t1071i_parse_ip(buf, lit->ip, &v4)) {
            snprintf(err, errlen, "%s is an address: \"%s\" is not an IPv4 or IPv6 address",
                     f->name, buf);
            return false;
        }
        return true;
    }
    if (memchr(s, '\0', len)) {
        snprintf(err, errlen, "string literal holds a NUL byte");
        return false;
    }
    lit->s = g_strndup(s, len);
    lit->len = len;
    return true;
}

/* The next code point of @p s (length @p n) at *i, advancing *i; a byte
 * that does not start valid UTF-8 is 0x110000 + byte (no code point), so it
 * matches only itself. */
static uint32_t
next_cp(const char *s, size_t n, size_t *i)
{
    gunichar c = g_utf8_get_char_validated(s + *i, (gssize)(n - *i));

    if (c == (gunichar)-1 || c == (gunichar)-2) {
        return 0x110000u + (uint8_t)s[(*i)++];
    }
    *i = (size_t)(g_utf8_next_char(s + *i) - s);
    return c;
}

static uint32_t
fold(uint32_t c)
{
    if (c < 0x80)
        return (uint32_t)g_ascii_tolower((gchar)c);
    return c < 0x110000u ? g_unichar_tolower(c) : c;
}

bool
t1071i_lit_pattern(struct t1071i_lit *lit, const char *s, const uint8_t *wild, size_t len,
                   bool cased)
{
    size_t i = 0;

    memset(lit, 0, sizeof(*lit));
    if (memchr(s, '\0', len))
        return false;
    lit->cp = g_new(uint32_t, len + 1);
    lit->wild = g_malloc0(len + 1);
    while (i < len) {
        size_t at = i;
        uint32_t c = next_cp(s, len, &i);
        lit->wild[lit->n_cp] = wild ? wild[at] : 0;
        lit->cp[lit->n_cp++] = cased ? c : fold(c);
    }
    return true;
}

/* ===== Evaluation ===== */

/* Wildcard match over code points, iterative with one backtrack point
 * per '*': O(n*m) at worst, never exponential. */
static bool
like(const struct t1071i_lit *p, const char *s, bool cased)
{
    size_t pi = 0, si = 0, n = strlen(s), star = SIZE_MAX, mark = 0;

    while (si < n) {
        size_t at = si;
        uint32_t c = next_cp(s, n, &si);
        if (!cased)
            c = fold(c);
        if (pi < p->n_cp && p->wild[pi] == 1) {
            star = pi++;
            mark = at;
            si = at; /* '*' consumed nothing yet */
        } else if (pi < p->n_cp && (p->wild[pi] == 2 || c == p->cp[pi])) {
            pi++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            si = mark;
            (void)next_cp(s, n, &si); /* the star takes one more */
            mark = si;
        } else {
            return false;
        }
    }
    while (pi < p->n_cp && p->wild[pi] == 1)
        pi++;
    return pi == p->n_cp;
}

struct evalctx {
    const t1071i_event *ev;
    uint32_t malformed;     /* unparseable destination.ip values */
    bool counted;           /* ... counted once per event */
};

static void
count_malformed(struct evalctx *c)
{
    const struct t1071i_fdesc *f = F_DESTINATION_IP;
    uint8_t a[16];
    bool v4;

    if (c->counted)
        return;
    c->counted = true;
    for (size_t i = 0; i < n_values(c->ev, f); i++)
        if (!t1071i_parse_ip(str_value(c->ev, f, i), a, &v4))
            c->malformed++;
}

static bool
eval(const struct t1071i_node *n, struct evalctx *c)
{
    const t1071i_event *ev = c->ev;
    size_t nv;

    switch (n->kind) {
    case T1071I_N_TRUE:
        return true;
    case T1071I_N_FALSE:
        return false;
    case T1071I_N_AND:
        for (size_t i = 0; i < n->n_kids; i++)
            if (!eval(n->kids[i], c))
                return false;
        return true;
    case T1071I_N_OR:
        for (size_t i = 0; i < n->n_kids; i++)
            if (eval(n->kids[i], c))
                return true;
        return false;
    case T1071I_N_NOT:
        return !eval(n->kids[0], c);
    case T1071I_N_EXISTS:
        return n_values(ev, n->f) > 0;
    case T1071I_N_EQ:
        nv = n_values(ev, n->f);
        for (size_t i = 0; i < nv; i++) {
            if (n->f->type == T1071I_FT_NUM) {
                int64_t v = num_value(ev, n->f, i);
                for (size_t j = 0; j < n->n_lits; j++)
                    if (v == n->lits[j].num)
                        return true;
            } else if (n->f->type == T1071I_FT_IP) {
                uint8_t a[16];
                bool v4;
                if (!t1071i_parse_ip(str_value(ev, n->f, i), a, &v4))
                    continue;
                for (size_t j = 0; j < n->n_lits; j++)
                    if (!memcmp(a, n->lits[j].ip, 16))
                        return true;
            } else {
                const char *v = str_value(ev, n->f, i);
                for (size_t j = 0; j < n->n_lits; j++)
                    if (!strcmp(v, n->lits[j].s))
                        return true;
            }
        }
        return false;
    case T1071I_N_LIKE:
        nv = n_values(ev, n->f);
        for (size_t i = 0; i < nv; i++) {
            const char *v = str_value(ev, n->f, i);
            for (size_t j = 0; j < n->n_lits; j++)
                if (like(&n->lits[j], v, n->cased))
                    return true;
        }
        return false;
    case T1071I_N_CIDR:
        if (n->f == F_DESTINATION_IP)
            count_malformed(c);
        nv = n_values(ev, n->f);
        for (size_t i = 0; i < nv; i++) {
            uint8_t a[16];
            bool v4;
            if (!t1071i_parse_ip(str_value(ev, n->f, i), a, &v4))
                continue;
            for (size_t j = 0; j < n->n_cidrs; j++)
                if (t1071i_cidr_contains(&n->cidrs[j], a))
                    return true;
        }
        return false;
    }
    return false;
}

bool
t1071i_rule_match(const struct t1071i_rule *r, const t1071i_event *ev, struct t1071i_match *m)
{
    struct evalctx c = {ev, 0, false};
    bool ok = eval(r->root, &c);

    m->port = -1;
    m->ip_index = -1;
    if (ok) {
        /* What the alert reports: the destination.port value the rule's
         * port literals select (the first value otherwise) and the first
         * destination.ip that parses, as the built-in filter does. */
        for (size_t i = 0; i < ev->n_destination_port; i++) {
            int64_t p = ev->destination_port[i];
            if (!r->has_port_hint ||
                (p >= 0 && p <= 65535 && ((r->port_hint[p >> 3] >> (p & 7)) & 1))) {
                m->port = p;
                break;
            }
        }
        if (m->port < 0 && ev->n_destination_port)
            m->port = ev->destination_port[0];
        count_malformed(&c);
        for (size_t i = 0; i < ev->n_destination_ip; i++) {
            bool v4;
            if (t1071i_parse_ip(ev->destination_ip[i], m->ip, &v4)) {
                m->ip_index = (int)i;
                m->ip_is_v4 = v4;
                break;
            }
        }
    }
    m->malformed_ips = c.malformed;
    return ok;
}

/* ===== Finishing a compiled rule ===== */

static bool
mentions_dest_ip_cidr(const struct t1071i_node *n)
{
    if (n->kind == T1071I_N_CIDR && n->f == F_DESTINATION_IP)
        return true;
    for (size_t i = 0; i < n->n_kids; i++)
        if (mentions_dest_ip_cidr(n->kids[i]))
            return true;
    return false;
}

static void
collect_ports(struct t1071i_rule *r, const struct t1071i_node *n)
{
    if (n->kind == T1071I_N_EQ && n->f == F_DESTINATION_PORT) {
        for (size_t i = 0; i < n->n_lits; i++) {
            int64_t p = n->lits[i].num;
            if (p >= 0 && p <= 65535) {
                r->port_hint[p >> 3] |= (uint8_t)(1u << (p & 7));
                r->has_port_hint = true;
            }
        }
    }
    for (size_t i = 0; i < n->n_kids; i++)
        collect_ports(r, n->kids[i]);
}

/* The direction literal of a network.direction == "X" that every match
 * satisfies: found through conjunctions (and one-branch disjunctions,
 * which Sigma lists of one value give), at any depth. */
static const char *
pinned_direction(const struct t1071i_node *n)
{
    if (n->kind == T1071I_N_EQ && n->n_lits == 1 &&
        n->f == t1071i_rule_field("network.direction"))
        return n->lits[0].s;
    if (n->kind == T1071I_N_AND || (n->kind == T1071I_N_OR && n->n_kids == 1)) {
        for (size_t i = 0; i < n->n_kids; i++) {
            const char *d = pinned_direction(n->kids[i]);
            if (d)
                return d;
        }
    }
    return NULL;
}

int
t1071i_rule_finish(struct t1071i_rule *r, const char *category, char *err, size_t errlen)
{
    struct t1071i_node *and;

    if (category && strcmp(category, "any") != 0) {
        struct t1071i_node *cat = t1071i_node_new(r, T1071I_N_EQ);
        struct t1071i_node *top = r->root;
        if (!cat) {
            snprintf(err, errlen, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            return T1071_E_RULE;
        }
        cat->f = t1071i_rule_field("event.category");
        cat->lits = g_new0(struct t1071i_lit, 1);
        cat->n_lits = 1;
        cat->lits[0].s = g_strdup(category);
        cat->lits[0].len = strlen(category);
        and = t1071i_node_new(r, T1071I_N_AND);
        if (!and) {
            t1071i_node_free(cat);
            snprintf(err, errlen, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
            return T1071_E_RULE;
        }
        t1071i_node_add_kid(and, cat);
        /* Flatten a top-level conjunction into the category's. */
        if (top->kind == T1071I_N_AND) {
            for (size_t i = 0; i < top->n_kids; i++)
                t1071i_node_add_kid(and, top->kids[i]);
            top->n_kids = 0;
            t1071i_node_free(top);
        } else {
            t1071i_node_add_kid(and, top);
        }
        r->root = and;
    }
    /* Conjuncts are pure, so their order is free; cidrmatch on
     * destination.ip goes last so that malformed addresses are counted
     * exactly when the built-in filter counts them (after every other
     * condition passed). */
    if (r->root->kind == T1071I_N_AND) {
        struct t1071i_node **k = r->root->kids;
        size_t n = r->root->n_kids, w = 0;
        struct t1071i_node **tmp = g_new(struct t1071i_node *, n ? n : 1);
        for (size_t i = 0; i < n; i++)
            if (!mentions_dest_ip_cidr(k[i]))
                tmp[w++] = k[i];
        for (size_t i = 0; i < n; i++)
            if (mentions_dest_ip_cidr(k[i]))
                tmp[w++] = k[i];
        memcpy(k, tmp, n * sizeof(*k));
        g_free(tmp);
    }
    collect_ports(r, r->root);
    /* A network.direction == "X" conjunct: every match is X. */
    g_free(r->direction_hint);
    {
        const char *d = pinned_direction(r->root);
        r->direction_hint = g_strdup(d ? d : "");
    }
    return T1071_OK;
}

void
t1071i_rule_free(struct t1071i_rule *r)
{
    if (!r)
        return;
    t1071i_node_free(r->root);
    g_free(r->direction_hint);
    g_free(r->lang);
    g_free(r->name);
    g_free(r->id);
    g_free(r->severity);
    g_free(r);
}
