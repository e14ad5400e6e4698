/* SPDX-License-Identifier: Apache-2.0 */
/* The EQL front end: a recursive-descent parser for sequence queries
 * (README "Rules as data", "EQL") into the expression tree of expr.c.
 * Anything outside the supported subset is refused with its line and
 * column, never approximated. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "input/fields.h"
#include "rule/rule.h"
#include "util/timefmt.h"

/* ===== EQL: lexer ===== */

enum tk {
    TK_EOF, TK_IDENT, TK_STR, TK_NUM, TK_DUR, TK_LBRACK, TK_RBRACK, TK_LPAREN, TK_RPAREN,
    TK_COMMA, TK_EQEQ, TK_NE, TK_COLON, TK_ASSIGN, TK_CMP, TK_OTHER,
};

struct tok {
    enum tk k;
    const char *p;     /* start in the text */
    size_t len;
    int line, col;
    char *s;           /* TK_STR: decoded; TK_IDENT: the name */
    size_t slen;
    int64_t num;
};

struct parser {
    const char *text, *p;
    int line;
    const char *line_start;
    struct tok t;          /* current token */
    struct t1071i_rule *r;
    int depth;
    char *err;
    size_t errlen;
    bool failed;
};

static void
perr(struct parser *ps, int line, int col, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void
perr(struct parser *ps, int line, int col, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ps->failed)
        return;
    ps->failed = true;
    n = snprintf(ps->err, ps->errlen, "line %d, column %d: ", line, col);
    if (n < 0 || (size_t)n >= ps->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

#define TERR(ps, ...) perr((ps), (ps)->t.line, (ps)->t.col, __VA_ARGS__)

static bool
is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}

static bool
is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

/* Show a token in an error message. */
static const char *
tok_desc(const struct tok *t, char *buf, size_t n)
{
    if (t->k == TK_EOF)
        return "end of input";
    snprintf(buf, n, "\"%.*s\"", (int)(t->len > 40 ? 40 : t->len), t->p);
    return buf;
}

static void
next(struct parser *ps)
{
    const char *p = ps->p;
    struct tok *t = &ps->t;

    g_free(t->s);
    memset(t, 0, sizeof(*t));
    if (ps->failed) {
        t->k = TK_EOF;
        return;
    }
    for (;;) {
        if (*p == '\n') {
            ps->line++;
            ps->line_start = ++p;
        } else if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
        } else if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int l = ps->line, c = (int)(p - ps->line_start) + 1;
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/')) {
                if (*p == '\n') {
                    ps->line++;
                    ps->line_start = p + 1;
                }
                p++;
            }
            if (!*p) {
                perr(ps, l, c, "unterminated comment");
                t->k = TK_EOF;
                ps->p = p;
                return;
            }
            p += 2;
        } else {
            break;
        }
    }
    t->p = p;
    t->line = ps->line;
    t->col = (int)(p - ps->line_start) + 1;
    if (!*p) {
        t->k = TK_EOF;
    } else if (is_ident_start(*p)) {
        while (is_ident_char(*p))
            p++;
        t->k = TK_IDENT;
        t->s = g_strndup(t->p, (size_t)(p - t->p));
    } else if (*p == '`') {
        const char *q = strchr(p + 1, '`');
        const char *nl = strchr(p + 1, '\n');
        if (!q || (nl && nl < q)) {
            perr(ps, t->line, t->col, "unterminated `quoted` field name");
            t->k = TK_EOF;
            ps->p = p + 1;
            return;
        }
        t->k = TK_IDENT;
        t->s = g_strndup(p + 1, (size_t)(q - p - 1));
        p = q + 1;
    } else if ((*p >= '0' && *p <= '9') || (*p == '-' && p[1] >= '0' && p[1] <= '9')) {
        const char *s = p;
        bool neg = *p == '-';
        int64_t v = 0;
        if (neg)
            p++;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (INT64_MAX - 9) / 10) {
                perr(ps, t->line, t->col, "number too large");
                t->k = TK_EOF;
                ps->p = p;
                return;
            }
            v = v * 10 + (*p - '0');
        }
        if (*p == '.' || *p == 'e' || *p == 'E') {
            if (*p == '.' || p[1] == '+' || p[1] == '-' || (p[1] >= '0' && p[1] <= '9')) {
                perr(ps, t->line, t->col, "decimal numbers are not supported");
                t->k = TK_EOF;
                ps->p = p;
                return;
            }
        }
        t->num = neg ? -v : v;
        t->k = TK_NUM;
        if (is_ident_start(*p)) {
            /* 24h, 500ms: a duration (only valid after maxspan=). */
            while (is_ident_char(*p))
                p++;
            t->k = TK_DUR;
            t->s = g_strndup(s, (size_t)(p - s));
        }
    } else if (*p == '"') {
        GString *b = g_string_new(NULL);
        bool triple = p[1] == '"' && p[2] == '"';
        p += triple ? 3 : 1;
        for (;;) {
            if (!*p || (!triple && *p == '\n')) {
                perr(ps, t->line, t->col, "unterminated string");
                g_string_free(b, TRUE);
                t->k = TK_EOF;
                ps->p = p;
                return;
            }
            if (triple && p[0] == '"' && p[1] == '"' && p[2] == '"') {
                p += 3;
                break;
            }
            if (!triple && *p == '"') {
                p++;
                break;
            }
            if (triple && *p == '\n') {
                ps->line++;
                ps->line_start = p + 1;
            }
            if (!triple && *p == '\\') {
                char e = p[1];
                char c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r'
                       : e == '"' ? '"' : e == '\\' ? '\\' : e == '\'' ? '\'' : 0;
                if (!c) {
                    perr(ps, ps->line, (int)(p - ps->line_start) + 1,
                         "unsupported escape \"\\%c\" (supported: \\\" \\\\ \\n \\r \\t)",
                         e ? e : ' ');
                    g_string_free(b, TRUE);
                    t->k = TK_EOF;
                    ps->p = p;
                    return;
                }
                g_string_append_c(b, c);
                p += 2;
                continue;
            }
            g_string_append_c(b, *p++);
        }
        t->k = TK_STR;
        t->slen = b->len;
        t->s = g_string_free(b, FALSE);
    } else if (*p == '\'') {
        perr(ps, t->line, t->col, "single-quoted strings are not EQL: use double quotes");
        t->k = TK_EOF;
        ps->p = p + 1;
        return;
    } else {
        static const struct {
            const char *s;
            enum tk k;
        } ops[] = {{"==", TK_EQEQ}, {"!=", TK_NE}, {"<=", TK_CMP}, {">=", TK_CMP},
                   {"[", TK_LBRACK}, {"]", TK_RBRACK}, {"(", TK_LPAREN}, {")", TK_RPAREN},
                   {",", TK_COMMA}, {":", TK_COLON}, {"=", TK_ASSIGN}, {"<", TK_CMP},
                   {">", TK_CMP}};
        t->k = TK_OTHER;
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            size_t l = strlen(ops[i].s);
            if (!strncmp(p, ops[i].s, l)) {
                t->k = ops[i].k;
                p += l;
                break;
            }
        }
        if (t->k == TK_OTHER) {
            /* One UTF-8 character (or byte) for the message. */
            p++;
            while ((*p & 0xc0) == 0x80)
                p++;
        }
    }
    t->len = (size_t)(p - t->p);
    ps->p = p;
}

static bool
is_kw(const struct tok *t, const char *kw)
{
    return t->k == TK_IDENT && !strcmp(t->s, kw);
}

static bool
expect(struct parser *ps, enum tk k, const char *what)
{
    char b[64];

    if (ps->t.k != k) {
        TERR(ps, "expected %s, found %s", what, tok_desc(&ps->t, b, sizeof(b)));
        return false;
    }
    next(ps);
    return true;
}

static bool
expect_kw(struct parser *ps, const char *kw)
{
    char b[64];

    if (!is_kw(&ps->t, kw)) {
        TERR(ps, "expected \"%s\", found %s", kw, tok_desc(&ps->t, b, sizeof(b)));
        return false;
    }
    next(ps);
    return true;
}

static const char *const reserved[] = {"and", "or", "not", "in", "where", "by", "with",
                                       "sequence", "until", "null", "true", "false",
                                       "join", "sample", "like", "regex", "of", "any",
                                       "maxspan", "runs", "descendant", "child", "event"};

static bool
is_reserved(const char *s)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!strcmp(s, reserved[i]))
            return true;
    return false;
}

/* ===== EQL: expressions ===== */

static struct t1071i_node *parse_or(struct parser *ps);

static struct t1071i_node *
new_node(struct parser *ps, enum t1071i_nkind kind)
{
    struct t1071i_node *n = t1071i_node_new(ps->r, kind);

    if (!n)
        TERR(ps, "rule larger than %d nodes", T1071I_RULE_MAX_NODES);
    return n;
}

static struct t1071i_node *
wrap_not(struct parser *ps, struct t1071i_node *n)
{
    struct t1071i_node *x;

    if (!n)
        return NULL;
    x = new_node(ps, T1071I_N_NOT);
    if (!x) {
        t1071i_node_free(n);
        return NULL;
    }
    t1071i_node_add_kid(x, n);
    return x;
}

/* A literal for field @p f from the current token (string or number). */
static bool
take_lit(struct parser *ps, const struct t1071i_fdesc *f, struct t1071i_lit *lit)
{
    char e[200], b[64];

    if (ps->t.k == TK_STR) {
        if (!t1071i_lit_from_text(f, ps->t.s, ps->t.slen, lit, e, sizeof(e))) {
            TERR(ps, "%s", e);
            return false;
        }
    } else if (ps->t.k == TK_NUM) {
        char num[32];
        int n = snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, ps->t.num);
        if (t1071i_fdesc_type(f) == T1071I_FT_IP) {
            TERR(ps, "%s is an address: compare it with a string", t1071i_fdesc_name(f));
            return false;
        }
        /* A number against a keyword field compares as its text, as a
         * term query does. */
        if (!t1071i_lit_from_text(f, num, (size_t)n, lit, e, sizeof(e))) {
            TERR(ps, "%s", e);
            return false;
        }
    } else {
        TERR(ps, "expected a string or number literal, found %s",
             tok_desc(&ps->t, b, sizeof(b)));
        return false;
    }
    next(ps);
    return true;
}

/* One pattern literal from the current string token: * and ? are
 * wildcards when @p wildcards (`:`, like), else the text is literal (in~). */
static bool
take_pattern(struct parser *ps, struct t1071i_lit *lit, bool cased, bool wildcards,
             const char *op)
{
    uint8_t *wild;
    bool ok;

    if (ps->t.k != TK_STR) {
        char b[64];
        TERR(ps, "%s takes strings, found %s", op, tok_desc(&ps->t, b, sizeof(b)));
        return false;
    }
    wild = g_malloc0(ps->t.slen + 1);
    for (size_t i = 0; wildcards && i < ps->t.slen; i++)
        wild[i] = ps->t.s[i] == '*' ? 1 : ps->t.s[i] == '?' ? 2 : 0;
    ok = t1071i_lit_pattern(lit, ps->t.s, wild, ps->t.slen, cased);
    g_free(wild);
    if (!ok) {
        TERR(ps, "string literal holds a NUL byte");
        return false;
    }
    next(ps);
    return true;
}

/* `( lit, lit, ... )` into @p n's literals: values of n->f, or patterns
 * when @p op names the pattern operator. */
static bool
take_list(struct parser *ps, struct t1071i_node *n, const char *op, bool cased, bool wildcards)
{
    if (!expect(ps, TK_LPAREN, "\"(\""))
        return false;
    for (;;) {
        struct t1071i_lit lit;
        if (n->n_lits >= T1071I_RULE_MAX_LIST) {
            TERR(ps, "more than %d values in one list", T1071I_RULE_MAX_LIST);
            return false;
        }
        if (op ? !take_pattern(ps, &lit, cased, wildcards, op) : !take_lit(ps, n->f, &lit))
            return false;
        n->lits = g_renew(struct t1071i_lit, n->lits, n->n_lits + 1);
        n->lits[n->n_lits++] = lit;
        if (ps->t.k == TK_COMMA) {
            next(ps);
            continue;
        }
        return expect(ps, TK_RPAREN, "\",\" or \")\"");
    }
}

/* FIELD : / like / like~ / in~ : an N_LIKE node over one pattern or a
 * list (in~ takes a list only). */
static struct t1071i_node *
pattern_node(struct parser *ps, const struct t1071i_fdesc *f, const char *op, bool cased,
             bool wildcards, bool list_only)
{
    struct t1071i_node *n;
    char b[64];

    if (t1071i_fdesc_type(f) != T1071I_FT_STR) {
        TERR(ps, "%s compares strings; %s is %s", op, t1071i_fdesc_name(f),
             t1071i_fdesc_type(f) == T1071I_FT_NUM ? "numeric" : "an address");
        return NULL;
    }
    if (!(n = new_node(ps, T1071I_N_LIKE)))
        return NULL;
    n->f = f;
    n->cased = cased;
    if (ps->t.k == TK_LPAREN) {
        if (!take_list(ps, n, op, cased, wildcards)) {
            t1071i_node_free(n);
            return NULL;
        }
    } else if (ps->t.k == TK_STR && !list_only) {
        n->lits = g_new0(struct t1071i_lit, 1);
        if (!take_pattern(ps, &n->lits[0], cased, wildcards, op)) {
            t1071i_node_free(n);
            return NULL;
        }
        n->n_lits = 1;
    } else {
        TERR(ps, "%s takes %s, found %s", op,
             list_only ? "a list" : "a string pattern or a list", tok_desc(&ps->t, b, sizeof(b)));
        t1071i_node_free(n);
        return NULL;
    }
    return n;
}

/* A '~' right after the keyword just read (in~, like~). */
static bool
take_tilde(struct parser *ps)
{
    if (ps->t.k == TK_OTHER && ps->t.p[0] == '~' && ps->t.p[-1] != ' ' && ps->t.p[-1] != '\t' &&
        ps->t.p[-1] != '\n') {
        next(ps);
        return true;
    }
    return false;
}

static const struct t1071i_fdesc *
field_of(struct parser *ps)
{
    const struct t1071i_fdesc *f;

    if (ps->t.k != TK_IDENT || is_reserved(ps->t.s)) {
        char b[64];
        TERR(ps, "expected a field name, found %s", tok_desc(&ps->t, b, sizeof(b)));
        return NULL;
    }
    f = t1071i_rule_field(ps->t.s);
    if (!f) {
        TERR(ps, "unsupported field \"%s\" (the event schema has: event.category, "
                 "event.type, network.direction, destination.ip, destination.port, "
                 "process.name, ... see README)", ps->t.s);
        return NULL;
    }
    return f;
}

static struct t1071i_node *
parse_cidrmatch(struct parser *ps)
{
    struct t1071i_node *n;
    const struct t1071i_fdesc *f;

    next(ps); /* cidrmatch */
    if (!expect(ps, TK_LPAREN, "\"(\" after cidrmatch"))
        return NULL;
    if (!(f = field_of(ps)))
        return NULL;
    if (t1071i_fdesc_type(f) != T1071I_FT_IP) {
        TERR(ps, "cidrmatch() needs an address field (source.ip, destination.ip), not %s",
             t1071i_fdesc_name(f));
        return NULL;
    }
    next(ps);
    if (!(n = new_node(ps, T1071I_N_CIDR)))
        return NULL;
    n->f = f;
    if (!expect(ps, TK_COMMA, "\",\" and a CIDR string")) {
        t1071i_node_free(n);
        return NULL;
    }
    for (;;) {
        struct t1071i_cidr c;
        if (ps->t.k != TK_STR) {
            char b[64];
            TERR(ps, "expected a CIDR string, found %s", tok_desc(&ps->t, b, sizeof(b)));
            break;
        }
        if (n->n_cidrs >= T1071I_RULE_MAX_LIST) {
            TERR(ps, "more than %d ranges in one cidrmatch()", T1071I_RULE_MAX_LIST);
            break;
        }
        if (strlen(ps->t.s) != ps->t.slen || !t1071i_parse_cidr(ps->t.s, &c)) {
            TERR(ps, "bad CIDR \"%s\" (expected ADDRESS/PREFIX, IPv4 or IPv6)", ps->t.s);
            break;
        }
        n->cidrs = g_renew(struct t1071i_cidr, n->cidrs, n->n_cidrs + 1);
        n->cidrs[n->n_cidrs++] = c;
        next(ps);
        if (ps->t.k == TK_COMMA) {
            next(ps);
            continue;
        }
        if (expect(ps, TK_RPAREN, "\",\" or \")\""))
            return n;
        break;
    }
    t1071i_node_free(n);
    return NULL;
}

/* FIELD op VALUE */
static struct t1071i_node *
parse_comparison(struct parser *ps)
{
    const struct t1071i_fdesc *f = field_of(ps);
    struct t1071i_node *n = NULL;
    bool negate = false;
    char b[64];

    if (!f)
        return NULL;
    next(ps);
    switch (ps->t.k) {
    case TK_EQEQ:
    case TK_NE:
        negate = ps->t.k == TK_NE;
        next(ps);
        if (is_kw(&ps->t, "null")) {
            next(ps);
            if (!(n = new_node(ps, T1071I_N_EXISTS)))
                return NULL;
            n->f = f;
            /* == null: no value; != null: at least one. */
            return negate ? n : wrap_not(ps, n);
        }
        if (!(n = new_node(ps, T1071I_N_EQ)))
            return NULL;
        n->f = f;
        n->lits = g_new0(struct t1071i_lit, 1);
        if (!take_lit(ps, f, &n->lits[0])) {
            t1071i_node_free(n);
            return NULL;
        }
        n->n_lits = 1;
        break;
    case TK_COLON:
        next(ps);
        if (!(n = pattern_node(ps, f, "\":\"", false, true, false)))
            return NULL;
        break;
    case TK_IDENT:
        if (is_kw(&ps->t, "not")) {
            negate = true;
            next(ps);
            if (!is_kw(&ps->t, "in")) {
                TERR(ps, "expected \"in\" after \"%s not\"", t1071i_fdesc_name(f));
                return NULL;
            }
        }
        if (is_kw(&ps->t, "in")) {
            next(ps);
            if (take_tilde(ps)) {
                /* in~: case-insensitive, no wildcards */
                if (!(n = pattern_node(ps, f, "in~", false, false, true)))
                    return NULL;
                break;
            }
            if (!(n = new_node(ps, T1071I_N_EQ)))
                return NULL;
            n->f = f;
            if (!take_list(ps, n, NULL, true, false)) {
                t1071i_node_free(n);
                return NULL;
            }
            break;
        }
        if (is_kw(&ps->t, "like")) {
            bool tilde;
            next(ps);
            tilde = take_tilde(ps);
            if (!(n = pattern_node(ps, f, tilde ? "like~" : "like", !tilde, true, false)))
                return NULL;
            break;
        }
        if (is_kw(&ps->t, "regex")) {
            TERR(ps, "\"regex\" is not supported (use \":\" or like with * and ? wildcards)");
            return NULL;
        }
        TERR(ps, "expected ==, !=, :, in, in~, like, like~ or not in after %s, found %s", t1071i_fdesc_name(f),
             tok_desc(&ps->t, b, sizeof(b)));
        return NULL;
    case TK_CMP:
        TERR(ps, "%.*s is not supported (supported: ==, !=, :, in, in~, like, like~, not in)",
             (int)ps->t.len, ps->t.p);
        return NULL;
    case TK_ASSIGN:
        TERR(ps, "\"=\" is not a comparison: use ==");
        return NULL;
    default:
        TERR(ps, "expected ==, !=, :, in, in~, like, like~ or not in after %s, found %s",
             t1071i_fdesc_name(f), tok_desc(&ps->t, b, sizeof(b)));
        return NULL;
    }
    return negate ? wrap_not(ps, n) : n;
}

static bool
followed_by_paren(const struct parser *ps)
{
    const char *p = ps->p;

    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '(';
}

static struct t1071i_node *
parse_unary(struct parser *ps)
{
    struct t1071i_node *n;
    char b[64];

    if (++ps->depth > T1071I_RULE_MAX_DEPTH) {
        TERR(ps, "expression nested deeper than %d", T1071I_RULE_MAX_DEPTH);
        return NULL;
    }
    if (is_kw(&ps->t, "not")) {
        next(ps);
        n = wrap_not(ps, parse_unary(ps));
    } else if (ps->t.k == TK_LPAREN) {
        next(ps);
        n = parse_or(ps);
        if (n && !expect(ps, TK_RPAREN, "\")\"")) {
            t1071i_node_free(n);
            n = NULL;
        }
    } else if (is_kw(&ps->t, "true") || is_kw(&ps->t, "false")) {
        n = new_node(ps, is_kw(&ps->t, "true") ? T1071I_N_TRUE : T1071I_N_FALSE);
        next(ps);
    } else if (ps->t.k == TK_IDENT && !is_reserved(ps->t.s) && followed_by_paren(ps)) {
        if (!strcmp(ps->t.s, "cidrmatch"))
            n = parse_cidrmatch(ps);
        else {
            TERR(ps, "function %s() is not supported (supported: cidrmatch)", ps->t.s);
            n = NULL;
        }
    } else if (ps->t.k == TK_IDENT && !is_reserved(ps->t.s)) {
        n = parse_comparison(ps);
    } else if (ps->t.k == TK_STR || ps->t.k == TK_NUM) {
        TERR(ps, "a literal must be compared with a field: write FIELD == VALUE");
        n = NULL;
    } else {
        TERR(ps, "expected a condition, found %s", tok_desc(&ps->t, b, sizeof(b)));
        n = NULL;
    }
    ps->depth--;
    return n;
}

/* kind: N_AND over parse_unary, N_OR over parse_and. */
static struct t1071i_node *
parse_chain(struct parser *ps, enum t1071i_nkind kind)
{
    const char *kw = kind == T1071I_N_AND ? "and" : "or";
    struct t1071i_node *first, *chain = NULL;

    first = kind == T1071I_N_AND ? parse_unary(ps) : parse_chain(ps, T1071I_N_AND);
    if (!first)
        return NULL;
    while (is_kw(&ps->t, kw)) {
        struct t1071i_node *n;
        next(ps);
        if (!chain) {
            if (!(chain = new_node(ps, kind))) {
                t1071i_node_free(first);
                return NULL;
            }
            t1071i_node_add_kid(chain, first);
        }
        n = kind == T1071I_N_AND ? parse_unary(ps) : parse_chain(ps, T1071I_N_AND);
        if (!n) {
            t1071i_node_free(chain);
            return NULL;
        }
        t1071i_node_add_kid(chain, n);
    }
    return chain ? chain : first;
}

static struct t1071i_node *
parse_or(struct parser *ps)
{
    struct t1071i_node *n;

    if (++ps->depth > T1071I_RULE_MAX_DEPTH) {
        TERR(ps, "expression nested deeper than %d", T1071I_RULE_MAX_DEPTH);
        return NULL;
    }
    n = parse_chain(ps, T1071I_N_OR);
    ps->depth--;
    return n;
}

/* ===== EQL: the sequence ===== */

/* Tokens of one stage, for comparing stages: [F][F] is [F] with runs=2. */
struct stage_text {
    const char *p;
    size_t len;
};

static bool
same_stage(const struct stage_text *a, const struct stage_text *b)
{
    /* Compare token by token, so whitespace and comments do not matter. */
    struct parser pa = {0}, pb = {0};
    char e1[8], e2[8];
    char *ta = g_strndup(a->p, a->len), *tb = g_strndup(b->p, b->len);
    bool same = true;

    pa.text = pa.p = pa.line_start = ta;
    pb.text = pb.p = pb.line_start = tb;
    pa.err = e1;
    pb.err = e2;
    pa.errlen = pb.errlen = sizeof(e1);
    for (;;) {
        next(&pa);
        next(&pb);
        if (pa.t.k != pb.t.k || pa.t.len != pb.t.len || memcmp(pa.t.p, pb.t.p, pa.t.len)) {
            same = false;
            break;
        }
        if (pa.t.k == TK_EOF)
            break;
    }
    g_free(pa.t.s);
    g_free(pb.t.s);
    g_free(ta);
    g_free(tb);
    return same && !pa.failed && !pb.failed;
}

static bool
parse_by(struct parser *ps)
{
    struct t1071i_rule *r = ps->r;

    next(ps); /* by */
    for (;;) {
        enum t1071i_field kf;
        if (ps->t.k != TK_IDENT || is_reserved(ps->t.s)) {
            char b[64];
            TERR(ps, "expected a field name after \"by\", found %s",
                 tok_desc(&ps->t, b, sizeof(b)));
            return false;
        }
        if (!t1071i_key_field(ps->t.s, &kf)) {
            TERR(ps, "cannot join by \"%s\" (supported: process.entity_id, process.name, "
                     "process.executable, host.id, host.name, source.ip, user.name)",
                 ps->t.s);
            return false;
        }
        if (r->n_key_fields >= T1071I_MAX_KEY_FIELDS) {
            TERR(ps, "more than %d join fields", T1071I_MAX_KEY_FIELDS);
            return false;
        }
        r->key_fields[r->n_key_fields++] = kf;
        next(ps);
        if (ps->t.k != TK_COMMA)
            return true;
        next(ps);
    }
}

static bool
parse_maxspan(struct parser *ps)
{
    struct t1071i_rule *r = ps->r;
    int64_t ms;

    next(ps); /* with */
    if (!expect_kw(ps, "maxspan") || !expect(ps, TK_ASSIGN, "\"=\""))
        return false;
    if (ps->t.k == TK_NUM) {
        TERR(ps, "maxspan needs a unit (ms, s, m, h, d): e.g. maxspan=24h");
        return false;
    }
    if (ps->t.k != TK_DUR || !t1071i_parse_duration(ps->t.s, &ms) || ms < 0 ||
        ms > T1071I_MAX_SPAN_MS) {
        char b[64];
        TERR(ps, "expected a duration such as 24h, 90s, 500ms or 7d (at most 3650d), found %s",
             tok_desc(&ps->t, b, sizeof(b)));
        return false;
    }
    r->maxspan_ms = ms;
    r->has_maxspan = true;
    next(ps);
    return true;
}

int
t1071i_rule_compile_eql(const char *text, struct t1071i_rule **out, char *err, size_t errlen)
{
    struct parser ps = {0};
    struct t1071i_rule *r = g_new0(struct t1071i_rule, 1);
    struct stage_text first = {0};
    char *category = NULL;
    uint64_t runs = 0;
    size_t stages = 0;
    char b[64];

    *out = NULL;
    ps.text = ps.p = ps.line_start = text;
    ps.line = 1;
    ps.r = r;
    ps.err = err;
    ps.errlen = errlen;
    r->lang = g_strdup("eql");
    r->maxspan_ms = T1071I_MAXSPAN_UNBOUNDED;
    next(&ps);
    if (!is_kw(&ps.t, "sequence")) {
        if (ps.t.k == TK_IDENT && ps.t.s && (is_kw(&ps.t, "join") || is_kw(&ps.t, "sample")))
            TERR(&ps, "\"%s\" queries are not supported: only sequence queries", ps.t.s);
        else if (ps.t.k == TK_IDENT && is_kw(&ps.t, "network"))
            TERR(&ps, "a plain event query is not a sequence: write "
                      "sequence by FIELD [network where ...] with runs=N");
        else
            TERR(&ps, "expected \"sequence\", found %s", tok_desc(&ps.t, b, sizeof(b)));
        goto fail;
    }
    next(&ps);
    for (int i = 0; i < 2 && !ps.failed; i++) {
        if (is_kw(&ps.t, "by") && r->n_key_fields == 0) {
            if (!parse_by(&ps))
                goto fail;
        } else if (is_kw(&ps.t, "with") && !r->has_maxspan) {
            if (!parse_maxspan(&ps))
                goto fail;
        }
    }
    if (ps.failed)
        goto fail;
    while (ps.t.k == TK_LBRACK) {
        struct stage_text st;
        struct t1071i_node *expr;
        uint64_t n = 1;
        int sl = ps.t.line, sc = ps.t.col;

        st.p = ps.t.p;
        next(&ps);
        if (ps.t.k != TK_IDENT || (is_reserved(ps.t.s) && !is_kw(&ps.t, "any"))) {
            TERR(&ps, "expected an event category (network, any, ...), found %s",
                 tok_desc(&ps.t, b, sizeof(b)));
            goto fail;
        }
        if (!category)
            category = g_strdup(ps.t.s);
        next(&ps);
        if (!expect_kw(&ps, "where"))
            goto fail;
        expr = parse_or(&ps);
        if (!expr)
            goto fail;
        if (ps.t.k != TK_RBRACK) {
            TERR(&ps, "expected \"]\" or and/or, found %s", tok_desc(&ps.t, b, sizeof(b)));
            t1071i_node_free(expr);
            goto fail;
        }
        st.len = (size_t)(ps.t.p - st.p) + 1;
        next(&ps);
        if (stages == 0) {
            r->root = expr;
            first = st;
        } else {
            t1071i_node_free(expr);
            if (!same_stage(&first, &st)) {
                perr(&ps, sl, sc, "this stage differs from the first: only sequences of one "
                                  "repeated stage ([F] with runs=N, or [F][F]...) are supported");
                goto fail;
            }
        }
        if (is_kw(&ps.t, "by")) {
            TERR(&ps, "per-stage join keys are not supported: put \"by\" after \"sequence\"");
            goto fail;
        }
        if (is_kw(&ps.t, "with")) {
            next(&ps);
            if (!expect_kw(&ps, "runs") || !expect(&ps, TK_ASSIGN, "\"=\""))
                goto fail;
            if (ps.t.k != TK_NUM || ps.t.num < 1 || ps.t.num > T1071I_MAX_RUNS) {
                TERR(&ps, "runs must be an integer in [1, %d]", T1071I_MAX_RUNS);
                goto fail;
            }
            n = (uint64_t)ps.t.num;
            next(&ps);
        }
        runs += n;
        stages++;
        if (runs > T1071I_MAX_RUNS) {
            TERR(&ps, "more than %d events in one sequence", T1071I_MAX_RUNS);
            goto fail;
        }
    }
    if (ps.failed)
        goto fail;
    if (is_kw(&ps.t, "until")) {
        TERR(&ps, "\"until\" is not supported");
        goto fail;
    }
    if (stages == 0) {
        TERR(&ps, "expected a stage \"[CATEGORY where CONDITION]\", found %s",
             tok_desc(&ps.t, b, sizeof(b)));
        goto fail;
    }
    if (ps.t.k != TK_EOF) {
        if (ps.t.k == TK_OTHER && ps.t.p[0] == '|')
            TERR(&ps, "pipes are not supported");
        else
            TERR(&ps, "unexpected %s after the last stage", tok_desc(&ps.t, b, sizeof(b)));
        goto fail;
    }
    if (runs < 2) {
        perr(&ps, 1, 1, "a sequence needs at least 2 events: add \"with runs=N\" (N >= 2)");
        goto fail;
    }
    if (r->n_key_fields == 0) {
        perr(&ps, 1, 1, "the sequence needs a join key: sequence by FIELD");
        goto fail;
    }
    r->runs = (uint32_t)runs;
    {
        int rc = t1071i_rule_finish(r, category, err, errlen);
        if (rc != T1071_OK) {
            ps.failed = true;
            goto fail;
        }
    }
    g_free(category);
    g_free(ps.t.s);
    *out = r;
    return T1071_OK;
fail:
    if (!ps.failed)
        snprintf(err, errlen, "invalid rule");
    g_free(category);
    g_free(ps.t.s);
    t1071i_rule_free(r);
    return T1071_E_RULE;
}
