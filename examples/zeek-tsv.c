/* SPDX-License-Identifier: Apache-2.0 */
/* Zeek TSV logs (zeek-tsv.h).  Everything is bounded by the line given:
 * no allocation is sized by anything but its length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeek-tsv.h"

void
zeek_tsv_init(struct zeek_tsv *z)
{
    memset(z, 0, sizeof(*z));
    z->sep = '\t';
}

static void
free_fields(struct zeek_tsv *z)
{
    for (size_t i = 0; i < z->n_fields; i++)
        free(z->fields[i]);
    z->n_fields = 0;
}

void
zeek_tsv_free(struct zeek_tsv *z)
{
    free_fields(z);
    free(z->unset);
    free(z->empty);
    free(z->path);
    zeek_tsv_init(z);
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

/* Zeek's \xHH escapes decoded into a fresh string. */
static char *
unescape(const char *s, size_t n, size_t *out_len)
{
    char *d = malloc(n + 1);
    size_t o = 0;

    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
            hexval(s[i + 3]) >= 0) {
            d[o++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
            i += 3;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    if (out_len)
        *out_len = o;
    return d;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* The text after a header keyword and one separator ("#path<sep>conn"). */
static bool
header_value(const struct zeek_tsv *z, const char *line, size_t len, const char *kw,
             const char **v, size_t *vn)
{
    size_t k = strlen(kw);

    if (len < k + 1 || memcmp(line, kw, k) || line[k] != z->sep)
        return false;
    *v = line + k + 1;
    *vn = len - k - 1;
    return true;
}

static int
set_string(char **slot, const char *v, size_t n, char *err, size_t errlen)
{
    char *d = unescape(v, n, NULL);

    if (!d)
        return ERR("out of memory");
    free(*slot);
    *slot = d;
    return 0;
}

static int header_line(struct zeek_tsv *z, const char *line, size_t len, char *err,
                       size_t errlen);

int
zeek_tsv_header(struct zeek_tsv *z, const char *line, size_t len, char *err, size_t errlen)
{
    int rc = header_line(z, line, len, err, errlen);

    if (rc == 0)
        z->seen_header = true; /* from now on, a line not starting with '{' is TSV data */
    return rc;
}

static int
header_line(struct zeek_tsv *z, const char *line, size_t len, char *err, size_t errlen)
{
    const char *v;
    size_t vn;

    if (len >= 11 && !memcmp(line, "#separator ", 11)) {
        /* "#separator \x09": the separator itself written as an escape. */
        size_t n;
        char *d = unescape(line + 11, len - 11, &n);
        if (!d)
            return ERR("out of memory");
        if (n != 1 || d[0] == '\n' || d[0] == '\0') {
            free(d);
            return ERR("#separator must name one character (\\x09 for a tab)");
        }
        z->sep = d[0];
        free(d);
        return 0;
    }
    if (header_value(z, line, len, "#unset_field", &v, &vn))
        return set_string(&z->unset, v, vn, err, errlen);
    if (header_value(z, line, len, "#empty_field", &v, &vn))
        return set_string(&z->empty, v, vn, err, errlen);
    if (header_value(z, line, len, "#path", &v, &vn))
        return set_string(&z->path, v, vn, err, errlen);
    if (header_value(z, line, len, "#fields", &v, &vn)) {
        const char *p = v, *end = v + vn;
        free_fields(z);
        while (p <= end) {
            const char *q = memchr(p, z->sep, (size_t)(end - p));
            size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
            char *name;
            if (n == 0) {
                free_fields(z);
                return ERR("#fields holds an empty field name");
            }
            if (z->n_fields == ZEEK_TSV_MAX_FIELDS) {
                free_fields(z);
                return ERR("#fields names more than %d fields", ZEEK_TSV_MAX_FIELDS);
            }
            name = unescape(p, n, NULL);
            if (!name) {
                free_fields(z);
                return ERR("out of memory");
            }
            for (size_t i = 0; i < z->n_fields; i++)
                if (!strcmp(z->fields[i], name)) {
                    int rc = ERR("#fields names \"%.64s\" twice", name);
                    free(name);
                    free_fields(z);
                    return rc;
                }
            z->fields[z->n_fields++] = name;
            if (!q)
                break;
            p = q + 1;
        }
        return 0;
    }
    if (len >= 7 && !memcmp(line, "#fields", 7))
        return ERR("#fields with no field names");
    {
        /* Nothing to keep from the others; any other '#' line is no Zeek header. */
        static const char *const known[] = {"#set_separator", "#types", "#open", "#close",
                                            "#unset_field", "#empty_field", "#path"};
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            size_t k = strlen(known[i]);
            if (len >= k && !memcmp(line, known[i], k) && (len == k || line[k] == z->sep))
                return 0;
        }
    }
    return ERR("a line starting with # that is no Zeek TSV header (#separator, #fields, "
               "#types, ...)");
}

/* Append @p s (n bytes) as a JSON string body (quotes not included). */
static void
json_escape(char *out, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[(*o)++] = '\\';
            out[(*o)++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *o += (size_t)sprintf(out + *o, "\\u%04x", c);
        } else {
            out[(*o)++] = (char)c;
        }
    }
}

int
zeek_tsv_to_json(const struct zeek_tsv *z, const char *line, size_t len, char **json,
                 size_t *json_len, char *err, size_t errlen)
{
    const char *unset = z->unset ? z->unset : "-";
    const char *p = line, *end = line + len;
    size_t cols = 1, names = 0, o = 0, cap;
    char *out;

    *json = NULL;
    *json_len = 0;
    if (!z->n_fields)
        return ERR("Zeek TSV data line before any #fields header");
    for (size_t i = 0; i < len; i++)
        cols += line[i] == z->sep;
    if (cols != z->n_fields)
        return ERR("%zu columns where #fields names %zu", cols, z->n_fields);
    for (size_t i = 0; i < z->n_fields; i++)
        names += strlen(z->fields[i]);
    /* Every byte may become a 6-byte \u escape; plus quotes, colons, commas. */
    cap = 6 * len + 6 * names + 8 * z->n_fields + 3;
    out = malloc(cap);
    if (!out)
        return ERR("out of memory");
    out[o++] = '{';
    for (size_t i = 0; i < z->n_fields; i++) {
        const char *q = memchr(p, z->sep, (size_t)(end - p));
        size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
        if (!(n == strlen(unset) && !memcmp(p, unset, n))) {
            size_t vn;
            char *v = unescape(p, n, &vn);
            if (!v) {
                free(out);
                return ERR("out of memory");
            }
            if (o > 1)
                out[o++] = ',';
            out[o++] = '"';
            json_escape(out, &o, z->fields[i], strlen(z->fields[i]));
            out[o++] = '"';
            out[o++] = ':';
            out[o++] = '"';
            json_escape(out, &o, v, vn);
            out[o++] = '"';
            free(v);
        }
        p = q ? q + 1 : end;
    }
    if (z->path) {
        /* The log's #path, as the json-streaming package's @stream. */
        const char *k = ",\"_path\":\"";
        size_t pn = strlen(z->path);
        char *grown = realloc(out, o + strlen(k) + 6 * pn + 4);
        if (!grown) {
            free(out);
            return ERR("out of memory");
        }
        out = grown;
        if (o == 1) {
            memcpy(out + o, k + 1, strlen(k) - 1);
            o += strlen(k) - 1;
        } else {
            memcpy(out + o, k, strlen(k));
            o += strlen(k);
        }
        json_escape(out, &o, z->path, pn);
        out[o++] = '"';
    }
    out[o++] = '}';
    out[o] = '\0';
    *json = out;
    *json_len = o;
    return 0;
}
