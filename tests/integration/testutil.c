/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* ===== Byte strings ===== */

void
tu_buf_append(struct tu_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + len + 1)
            nc *= 2;
        b->data = realloc(b->data, nc);
        assert_non_null(b->data);
        b->cap = nc;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void
tu_buf_puts(struct tu_buf *b, const char *s)
{
    tu_buf_append(b, s, strlen(s));
}

void
tu_buf_printf(struct tu_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if ((size_t)n < sizeof(small)) {
        tu_buf_append(b, small, (size_t)n);
        return;
    }
    {
        char *big = malloc((size_t)n + 1);
        assert_non_null(big);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        tu_buf_append(b, big, (size_t)n);
        free(big);
    }
}

const char *
tu_buf_str(struct tu_buf *b)
{
    if (!b->data)
        tu_buf_append(b, "", 0);
    return b->data;
}

void
tu_buf_free(struct tu_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Decode one UTF-8 sequence at @p p; returns its length (1 with U+FFFD for
 * an invalid byte). */
static size_t
utf8_decode(const unsigned char *p, size_t avail, uint32_t *cp)
{
    uint32_t c = p[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (n > avail) {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = c;
    return n;
}

void
tu_json_ascii_string(struct tu_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    tu_buf_puts(b, "\"");
    while (p < end) {
        uint32_t c;
        size_t k = utf8_decode(p, (size_t)(end - p), &c);
        p += k;
        switch (c) {
        case '"': tu_buf_puts(b, "\\\""); break;
        case '\\': tu_buf_puts(b, "\\\\"); break;
        case '\n': tu_buf_puts(b, "\\n"); break;
        case '\r': tu_buf_puts(b, "\\r"); break;
        case '\t': tu_buf_puts(b, "\\t"); break;
        case '\b': tu_buf_puts(b, "\\b"); break;
        case '\f': tu_buf_puts(b, "\\f"); break;
        default:
            if (c >= 0x20 && c <= 0x7e) {
                char ch = (char)c;
                tu_buf_append(b, &ch, 1);
            } else if (c >= 0x10000) {
                c -= 0x10000;
                tu_buf_printf(b, "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
            } else {
                tu_buf_printf(b, "\\u%04x", c);
            }
        }
    }
    tu_buf_puts(b, "\"");
}

/* ===== Files ===== */

char *
tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct tu_buf b = {0};
    char chunk[65536];
    size_t n;

    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        tu_buf_append(&b, chunk, n);
    fclose(f);
    tu_buf_str(&b);
    if (len)
        *len = b.len;
    return b.data;
}

/* ===== Random ===== */

uint64_t
tu_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t
tu_below(uint64_t *state, uint64_t n)
{
    return tu_rand(state) % n;
}

bool
tu_chance(uint64_t *state, unsigned pct)
{
    return tu_below(state, 100) < pct;
}

/* ===== Events and alerts ===== */

uint8_t *
tu_pack_event(const tu_event *ev, size_t *len)
{
    size_t n = t1071__ecs__v1__event__get_packed_size(ev);
    uint8_t *buf = malloc(n ? n : 1);

    assert_non_null(buf);
    *len = t1071__ecs__v1__event__pack(ev, buf);
    assert_int_equal(*len, n);
    return buf;
}

void
tu_append_varint(struct tu_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    tu_buf_append(b, tmp, n);
}

void
tu_append_delimited(struct tu_buf *b, const void *data, size_t len)
{
    tu_append_varint(b, len);
    tu_buf_append(b, data, len);
}

unsigned tu_rule_translated, tu_rule_untranslatable;

static void
report_rule_text(void)
{
    fprintf(stderr, "rule text (%s): %u contexts from rule text, %u kept the built-in filter\n",
            getenv("T1071_TEST_RULE"), tu_rule_translated, tu_rule_untranslatable);
}

static char *
cfg_value(const t1071_config *cfg, const char *key)
{
    size_t need = 0;
    char *v;

    assert_int_equal(t1071_config_get(cfg, key, NULL, 0, &need), T1071_OK);
    v = malloc(need);
    assert_non_null(v);
    assert_int_equal(t1071_config_get(cfg, key, v, need, NULL), T1071_OK);
    return v;
}

/* Comma-separated items, trimmed, empty ones dropped; NULL-terminated. */
static char **
split_items(const char *s, size_t *n)
{
    char **out = calloc(strlen(s) + 2, sizeof(*out));
    const char *p = s;

    assert_non_null(out);
    *n = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *a = p, *b = p + len;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        if (b > a) {
            out[*n] = strndup(a, (size_t)(b - a));
            (*n)++;
        }
        p = e ? e + 1 : p + len;
    }
    return out;
}

static void
free_items(char **v)
{
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

static void
eql_string(struct tu_buf *b, const char *s)
{
    tu_buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            tu_buf_puts(b, "\\");
        tu_buf_append(b, s, 1);
    }
    tu_buf_puts(b, "\"");
}

static void
yaml_string(struct tu_buf *b, const char *s)
{
    tu_buf_puts(b, "'");
    for (; *s; s++) {
        if (*s == '\'')
            tu_buf_puts(b, "'");
        tu_buf_append(b, s, 1);
    }
    tu_buf_puts(b, "'");
}

char *
tu_rule_text(const t1071_config *cfg, const char *lang)
{
    char *runs = cfg_value(cfg, "rule.runs"), *maxspan = cfg_value(cfg, "rule.maxspan");
    char *ports = cfg_value(cfg, "rule.ports"), *cidrs = cfg_value(cfg, "rule.exclude_cidrs");
    char *cat = cfg_value(cfg, "rule.category"), *types = cfg_value(cfg, "rule.event_types");
    char *dir = cfg_value(cfg, "rule.direction"), *key = cfg_value(cfg, "rule.key");
    char *name = cfg_value(cfg, "rule.require_process_name");
    bool sigma = !strcmp(lang, "sigma"), need_name = !strcmp(name, "true") ||
                 !strcmp(name, "1") || !strcmp(name, "yes");
    size_t np, nc, nt, nk;
    char **pv = split_items(ports, &np), **cv = split_items(cidrs, &nc);
    char **tv = split_items(types, &nt), **kv = split_items(key, &nk);
    struct tu_buf b = {0}, pl = {0};
    size_t n_ports = 0;
    bool ok = strcmp(runs, "1") != 0;

    /* Ports: ranges expanded, as literals. */
    for (size_t i = 0; ok && i < np; i++) {
        unsigned lo, hi;
        if (sscanf(pv[i], "%u-%u", &lo, &hi) != 2)
            hi = lo = (unsigned)strtoul(pv[i], NULL, 10);
        if (n_ports + (hi - lo + 1) > 1000) {
            ok = false;
            break;
        }
        for (unsigned p = lo; p <= hi; p++)
            tu_buf_printf(&pl, "%s%u", n_ports++ ? ", " : "", p);
    }
    if (ok && sigma) {
        /* No port passes: Sigma has no "false".  network_connection means category network and type connection
         * or start; the filter may only narrow the types. */
        ok = n_ports > 0 && !strcmp(cat, "network");
        for (size_t i = 0; ok && i < nt; i++)
            ok = !strcmp(tv[i], "connection") || !strcmp(tv[i], "start");
    }
    if (ok && !sigma) {
        tu_buf_puts(&b, "sequence by ");
        for (size_t i = 0; i < nk; i++)
            tu_buf_printf(&b, "%s%s", i ? ", " : "", kv[i]);
        tu_buf_printf(&b, " with maxspan=%s\n  [%s where event.type in (", maxspan,
                      *cat ? cat : "any");
        for (size_t i = 0; i < nt; i++) {
            if (i)
                tu_buf_puts(&b, ", ");
            eql_string(&b, tv[i]);
        }
        tu_buf_puts(&b, ")");
        if (*dir) {
            tu_buf_puts(&b, " and\n   network.direction == ");
            eql_string(&b, dir);
        }
        tu_buf_printf(&b, " and\n   %s", n_ports ? "destination.port in (" : "false");
        if (n_ports)
            tu_buf_printf(&b, "%s)", tu_buf_str(&pl));
        if (nc) {
            tu_buf_puts(&b, " and\n   not cidrmatch(destination.ip");
            for (size_t i = 0; i < nc; i++) {
                tu_buf_puts(&b, ", ");
                eql_string(&b, cv[i]);
            }
            tu_buf_puts(&b, ")");
        }
        if (need_name)
            tu_buf_puts(&b, " and\n   process.name != null");
        tu_buf_printf(&b, "\n  ] with runs=%s\n", runs);
    } else if (ok) {
        tu_buf_puts(&b, "title: from the config\nname: base\nlogsource:\n"
                        "  category: network_connection\ndetection:\n  selection:\n");
        tu_buf_puts(&b, "    event.type|cased:\n");
        for (size_t i = 0; i < nt; i++) {
            tu_buf_puts(&b, "      - ");
            yaml_string(&b, tv[i]);
            tu_buf_puts(&b, "\n");
        }
        if (*dir) {
            tu_buf_puts(&b, "    network.direction|cased: ");
            yaml_string(&b, dir);
            tu_buf_puts(&b, "\n");
        }
        if (n_ports)
            tu_buf_printf(&b, "    DestinationPort: [%s]\n", tu_buf_str(&pl));
        tu_buf_puts(&b, "  filter_cidr:\n    DestinationIp|cidr:\n");
        for (size_t i = 0; i < nc; i++) {
            tu_buf_puts(&b, "      - ");
            yaml_string(&b, cv[i]);
            tu_buf_puts(&b, "\n");
        }
        if (!nc)
            tu_buf_puts(&b, "      - '0.0.0.0/32'\n");
        tu_buf_puts(&b, "  filter_name:\n    process.name: null\n");
        tu_buf_printf(&b, "  condition: selection%s%s\n", nc ? " and not filter_cidr" : "",
                      need_name ? " and not filter_name" : "");
        tu_buf_puts(&b, "---\ntitle: from the config\ncorrelation:\n  type: event_count\n"
                        "  rules: [base]\n  group-by:\n");
        for (size_t i = 0; i < nk; i++)
            tu_buf_printf(&b, "    - %s\n", kv[i]);
        tu_buf_printf(&b, "  timespan: %s\n  condition:\n    gte: %s\n", maxspan, runs);
    }
    free_items(pv);
    free_items(cv);
    free_items(tv);
    free_items(kv);
    free(runs);
    free(maxspan);
    free(ports);
    free(cidrs);
    free(cat);
    free(types);
    free(dir);
    free(key);
    free(name);
    tu_buf_free(&pl);
    if (!ok) {
        tu_buf_free(&b);
        return NULL;
    }
    tu_buf_str(&b);
    return b.data;
}

t1071_ctx *
tu_ctx_new(const char *const *kv)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (t1071_config_set(cfg, kv[i], kv[i + 1]) != T1071_OK)
            fail_msg("config %s=%s: %s", kv[i], kv[i + 1], t1071_config_errmsg(cfg));
    if (getenv("T1071_TEST_RULE") && *getenv("T1071_TEST_RULE")) {
        static bool reported;
        char *text = tu_rule_text(cfg, getenv("T1071_TEST_RULE"));
        if (text) {
            if (t1071_config_set_rule(cfg, text) != T1071_OK)
                fail_msg("rule text rejected: %s\n%s", t1071_config_errmsg(cfg), text);
            tu_rule_translated++;
            free(text);
        } else {
            tu_rule_untranslatable++;
        }
        if (!reported) {
            reported = true;
            atexit(report_rule_text);
        }
    }
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    assert_non_null(ctx);
    t1071_config_free(cfg);
    return ctx;
}

bool
tu_alert_text(const uint8_t *data, size_t len, struct tu_alert_text *out)
{
    tu_alert *a = t1071__ecs__v1__alert__unpack(NULL, len, data);
    struct tu_buf ids = {0};

    memset(out, 0, sizeof(*out));
    if (!a)
        return false;
    tu_buf_puts(&ids, "[");
    for (size_t i = 0; i < a->n_members; i++) {
        const char *id = a->members[i]->event_id ? a->members[i]->event_id : "";
        if (i)
            tu_buf_puts(&ids, ",");
        tu_json_ascii_string(&ids, id, strlen(id));
    }
    tu_buf_puts(&ids, "]");
    out->ids = ids.data;
    out->key = strdup(a->key ? a->key : "");
    out->group_id = strdup(a->group_id ? a->group_id : "");
    out->seqno = a->sequence_number;
    assert_non_null(out->key);
    assert_non_null(out->group_id);
    t1071__ecs__v1__alert__free_unpacked(a, NULL);
    return true;
}

size_t
tu_collect(t1071_ctx *ctx, struct tu_alerts *all)
{
    t1071_alert_batch *b = NULL;
    size_t n;

    assert_int_equal(t1071_poll_alerts(ctx, &b), T1071_OK);
    n = t1071_alert_batch_count(b);
    if (!b) {
        assert_int_equal(n, 0);
        return 0;
    }
    assert_true(n > 0);
    if (all->n + n > all->cap) {
        all->cap = (all->n + n) * 2;
        all->a = realloc(all->a, all->cap * sizeof(*all->a));
        assert_non_null(all->a);
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *data = NULL;
        size_t len = 0;
        assert_int_equal(t1071_alert_batch_get(b, i, &data, &len), T1071_OK);
        if (!tu_alert_text(data, len, &all->a[all->n]))
            fail_msg("alert %zu of a batch does not decode as t1071.ecs.v1.Alert", i);
        all->n++;
    }
    t1071_alert_batch_free(b);
    return n;
}

void
tu_alerts_free(struct tu_alerts *all)
{
    for (size_t i = 0; i < all->n; i++) {
        free(all->a[i].key);
        free(all->a[i].ids);
        free(all->a[i].group_id);
    }
    free(all->a);
    memset(all, 0, sizeof(*all));
}

int
tu_feed_event_retry(t1071_ctx *ctx, const uint8_t *buf, size_t len, struct tu_alerts *all,
                    uint64_t *refusals)
{
    int rc;

    while ((rc = t1071_feed_event(ctx, buf, len)) == T1071_E_QUEUE_FULL) {
        if (refusals)
            (*refusals)++;
        assert_true(tu_collect(ctx, all) > 0);
    }
    return rc;
}

int
tu_advance_retry(t1071_ctx *ctx, int64_t t, struct tu_alerts *all, uint64_t *refusals)
{
    int rc;

    while ((rc = t1071_advance(ctx, t)) == T1071_E_QUEUE_FULL) {
        if (refusals)
            (*refusals)++;
        assert_true(tu_collect(ctx, all) > 0);
    }
    return rc;
}

int
tu_feed_batch_all(t1071_ctx *ctx, const uint8_t *buf, size_t len, struct tu_alerts *all,
                  uint64_t *refusals)
{
    size_t off = 0;

    for (;;) {
        size_t consumed = SIZE_MAX;
        int rc = t1071_feed_batch(ctx, buf + off, len - off, &consumed);
        assert_true(consumed <= len - off);
        off += consumed;
        if (rc != T1071_E_QUEUE_FULL) {
            if (rc == T1071_OK)
                assert_int_equal(off, len);
            return rc;
        }
        if (refusals)
            (*refusals)++;
        assert_true(off < len);
        assert_true(tu_collect(ctx, all) > 0);
    }
}

uint64_t
tu_stat(const t1071_ctx *ctx, int id)
{
    uint64_t v = UINT64_MAX;

    assert_int_equal(t1071_stats_get(ctx, id, &v), T1071_OK);
    return v;
}

/* ===== JSON parser ===== */

struct jp {
    const char *s, *end, *p;
    int depth;
    char *err;
    size_t errlen;
};

static struct tu_json *jp_value(struct jp *j);

static void
jp_fail(struct jp *j, const char *what)
{
    if (j->err && j->errlen && !j->err[0])
        snprintf(j->err, j->errlen, "%s at byte %zu", what, (size_t)(j->p - j->s));
}

static void
jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static struct tu_json *
jnew(enum tu_json_type t)
{
    struct tu_json *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    v->type = t;
    return v;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool
jp_hex4(struct jp *j, uint32_t *out)
{
    uint32_t v = 0;

    if (j->end - j->p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int h = hexval(j->p[i]);
        if (h < 0)
            return false;
        v = v * 16 + (uint32_t)h;
    }
    j->p += 4;
    *out = v;
    return true;
}

static void
put_utf8(struct tu_buf *b, uint32_t c)
{
    char o[4];

    if (c < 0x80) {
        o[0] = (char)c;
        tu_buf_append(b, o, 1);
    } else if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        tu_buf_append(b, o, 2);
    } else if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        tu_buf_append(b, o, 3);
    } else {
        o[0] = (char)(0xf0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[3] = (char)(0x80 | (c & 0x3f));
        tu_buf_append(b, o, 4);
    }
}

static char *
jp_string(struct jp *j)
{
    struct tu_buf b = {0};

    if (j->p >= j->end || *j->p != '"') {
        jp_fail(j, "expected a string");
        return NULL;
    }
    j->p++;
    for (;;) {
        unsigned char c;
        if (j->p >= j->end) {
            jp_fail(j, "unterminated string");
            goto fail;
        }
        c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            tu_buf_str(&b);
            return b.data;
        }
        if (c < 0x20) {
            jp_fail(j, "control character in string");
            goto fail;
        }
        if (c == '\\') {
            uint32_t cp;
            j->p++;
            if (j->p >= j->end) {
                jp_fail(j, "unterminated escape");
                goto fail;
            }
            switch (*j->p++) {
            case '"': tu_buf_puts(&b, "\""); break;
            case '\\': tu_buf_puts(&b, "\\"); break;
            case '/': tu_buf_puts(&b, "/"); break;
            case 'b': tu_buf_puts(&b, "\b"); break;
            case 'f': tu_buf_puts(&b, "\f"); break;
            case 'n': tu_buf_puts(&b, "\n"); break;
            case 'r': tu_buf_puts(&b, "\r"); break;
            case 't': tu_buf_puts(&b, "\t"); break;
            case 'u':
                if (!jp_hex4(j, &cp)) {
                    jp_fail(j, "bad \\u escape");
                    goto fail;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    uint32_t lo;
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
                        jp_fail(j, "lone high surrogate");
                        goto fail;
                    }
                    j->p += 2;
                    if (!jp_hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        jp_fail(j, "bad low surrogate");
                        goto fail;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    jp_fail(j, "lone low surrogate");
                    goto fail;
                }
                put_utf8(&b, cp);
                break;
            default:
                jp_fail(j, "bad escape");
                goto fail;
            }
            continue;
        }
        {
            uint32_t cp;
            size_t k = utf8_decode((const unsigned char *)j->p, (size_t)(j->end - j->p), &cp);
            if (cp == 0xfffd && k == 1 && c >= 0x80) {
                jp_fail(j, "invalid UTF-8");
                goto fail;
            }
            tu_buf_append(&b, j->p, k);
            j->p += k;
        }
    }
fail:
    tu_buf_free(&b);
    return NULL;
}

static bool
isdig(char c)
{
    return c >= '0' && c <= '9';
}

static struct tu_json *
jp_number(struct jp *j)
{
    const char *start = j->p;
    struct tu_json *v;

    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || !isdig(*j->p)) {
        jp_fail(j, "bad number");
        return NULL;
    }
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && isdig(*j->p))
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !isdig(*j->p)) {
            jp_fail(j, "bad fraction");
            return NULL;
        }
        while (j->p < j->end && isdig(*j->p))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || !isdig(*j->p)) {
            jp_fail(j, "bad exponent");
            return NULL;
        }
        while (j->p < j->end && isdig(*j->p))
            j->p++;
    }
    v = jnew(TU_JNUM);
    v->str = strndup(start, (size_t)(j->p - start));
    assert_non_null(v->str);
    v->num = strtod(v->str, NULL);
    return v;
}

static bool
jp_lit(struct jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

static void
jpush(struct tu_json *v, char *key, struct tu_json *item)
{
    v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
    assert_non_null(v->items);
    if (v->type == TU_JOBJ) {
        v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
        assert_non_null(v->keys);
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
}

static struct tu_json *
jp_value(struct jp *j)
{
    struct tu_json *v = NULL;

    jp_ws(j);
    if (j->p >= j->end) {
        jp_fail(j, "unexpected end");
        return NULL;
    }
    if (++j->depth > 200) {
        jp_fail(j, "too deep");
        return NULL;
    }
    switch (*j->p) {
    case '{':
        j->p++;
        v = jnew(TU_JOBJ);
        jp_ws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            break;
        }
        for (;;) {
            char *key;
            struct tu_json *item;
            jp_ws(j);
            key = jp_string(j);
            if (!key)
                goto fail;
            jp_ws(j);
            if (j->p >= j->end || *j->p != ':') {
                free(key);
                jp_fail(j, "expected ':'");
                goto fail;
            }
            j->p++;
            item = jp_value(j);
            if (!item) {
                free(key);
                goto fail;
            }
            jpush(v, key, item);
            jp_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                break;
            }
            jp_fail(j, "expected ',' or '}'");
            goto fail;
        }
        break;
    case '[':
        j->p++;
        v = jnew(TU_JARR);
        jp_ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            break;
        }
        for (;;) {
            struct tu_json *item = jp_value(j);
            if (!item)
                goto fail;
            jpush(v, NULL, item);
            jp_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == ']') {
                j->p++;
                break;
            }
            jp_fail(j, "expected ',' or ']'");
            goto fail;
        }
        break;
    case '"': {
        char *s = jp_string(j);
        if (!s)
            goto fail;
        v = jnew(TU_JSTR);
        v->str = s;
        break;
    }
    case 't':
    case 'f':
    case 'n':
        if (jp_lit(j, "true")) {
            v = jnew(TU_JBOOL);
            v->b = true;
        } else if (jp_lit(j, "false")) {
            v = jnew(TU_JBOOL);
        } else if (jp_lit(j, "null")) {
            v = jnew(TU_JNULL);
        } else {
            jp_fail(j, "bad literal");
            goto fail;
        }
        break;
    default:
        v = jp_number(j);
        if (!v)
            goto fail;
    }
    j->depth--;
    return v;
fail:
    tu_json_free(v);
    return NULL;
}

struct tu_json *
tu_json_parse(const char *s, size_t len, char *err, size_t errlen)
{
    struct jp j = {s, s + len, s, 0, err, errlen};
    struct tu_json *v;

    if (err && errlen)
        err[0] = '\0';
    v = jp_value(&j);
    if (!v)
        return NULL;
    jp_ws(&j);
    if (j.p != j.end) {
        jp_fail(&j, "trailing bytes");
        tu_json_free(v);
        return NULL;
    }
    return v;
}

void
tu_json_free(struct tu_json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        tu_json_free(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

const struct tu_json *
tu_json_get(const struct tu_json *j, const char *path)
{
    if (!j)
        return NULL;
    if (!*path)
        return j;
    if (j->type == TU_JARR) {
        char *end;
        unsigned long i = strtoul(path, &end, 10);
        if (end == path || (*end && *end != '.') || i >= j->n)
            return NULL;
        return tu_json_get(j->items[i], *end ? end + 1 : end);
    }
    if (j->type != TU_JOBJ)
        return NULL;
    for (size_t i = 0; i < j->n; i++) {
        size_t kl = strlen(j->keys[i]);
        if (strncmp(path, j->keys[i], kl) == 0 && (path[kl] == '\0' || path[kl] == '.')) {
            const struct tu_json *r =
                tu_json_get(j->items[i], path[kl] ? path + kl + 1 : path + kl);
            if (r)
                return r;
        }
    }
    return NULL;
}
