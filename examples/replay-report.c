/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay --report FILE.html: see replay-report.h.
 *
 * The file is static HTML (summary, key table, one section per key with
 * its readings) plus one JSON data block and one script that draws the
 * charts as SVG and makes the table sortable.  Content-Security-Policy:
 * default-src 'none'; the one <style> and <script> carry a random nonce.
 * Every string from the events is escaped where it lands: HTML text and
 * attributes here (html_put), JSON in the data block with <, >, &, ',
 * U+2028/9 as \u escapes (json_embed), and the script only ever sets
 * textContent and attributes, never markup. */
#include "replay-report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecs.pb-c.h"

struct rkey {
    char *key;
    char *alert;       /* latest alert JSON, embed-ready */
    char *history;     /* t1071_key_history JSON, or NULL */
    double score;      /* highest beacon score among its alerts */
    uint64_t alerts;
    bool delivered;    /* at least one alert not suppressed */
};

struct reason {
    char name[64];
    uint64_t n;
};

struct report {
    char *path;
    size_t max_keys;
    struct rkey *keys;
    size_t n_keys, cap;
    size_t *index;     /* open addressing over keys[], n_index slots */
    size_t n_index;
    struct reason reasons[16];
    size_t n_reasons;
    uint64_t suppressed_emitted;
};

/* ===== Escaping ===== */

/* Text for HTML text and quoted attribute values: & < > " ' as entities,
 * control characters dropped, U+2028/9 as character references. */
static void
html_put(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (c == 0xe2 && i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
                fprintf(f, "&#x%x;", p[i + 2] == 0xa8 ? 0x2028 : 0x2029);
                i += 2;
            } else if (c >= 0x20 && c != 0x7f) {
                fputc(c, f);
            } else if (c == '\t') {
                fputc(' ', f);
            }
        }
    }
}

static void
html_str(FILE *f, const char *s)
{
    html_put(f, s, s ? strlen(s) : 0);
}

/* JSON text (already valid) made safe inside <script type=application/json>:
 * the characters that could end the element or confuse a parser only ever
 * occur inside strings, where their \u escapes mean the same. */
static char *
json_embed(const char *s, size_t n)
{
    char *o = malloc(n * 6 + 1), *w = o;
    const unsigned char *p = (const unsigned char *)s;

    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '<' || c == '>' || c == '&' || c == '\'') {
            w += sprintf(w, "\\u%04x", c);
        } else if (c == 0xe2 && i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
            w += sprintf(w, "\\u%04x", p[i + 2] == 0xa8 ? 0x2028 : 0x2029);
            i += 2;
        } else {
            *w++ = (char)c;
        }
    }
    *w = '\0';
    return o;
}

/* ===== Collecting ===== */

static uint64_t
fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool
index_grow(struct report *rep)
{
    size_t n = rep->n_index ? rep->n_index * 2 : 1024;
    size_t *ix = malloc(n * sizeof(*ix));

    if (!ix)
        return false;
    for (size_t i = 0; i < n; i++)
        ix[i] = SIZE_MAX;
    for (size_t k = 0; k < rep->n_keys; k++) {
        size_t at = fnv(rep->keys[k].key) & (n - 1);
        while (ix[at] != SIZE_MAX)
            at = (at + 1) & (n - 1);
        ix[at] = k;
    }
    free(rep->index);
    rep->index = ix;
    rep->n_index = n;
    return true;
}

static struct rkey *
key_get(struct report *rep, const char *key)
{
    size_t at;

    if ((rep->n_keys + 1) * 2 > rep->n_index && !index_grow(rep))
        return NULL;
    at = fnv(key) & (rep->n_index - 1);
    while (rep->index[at] != SIZE_MAX) {
        if (!strcmp(rep->keys[rep->index[at]].key, key))
            return &rep->keys[rep->index[at]];
        at = (at + 1) & (rep->n_index - 1);
    }
    if (rep->n_keys == rep->cap) {
        size_t nc = rep->cap ? rep->cap * 2 : 64;
        struct rkey *nk = realloc(rep->keys, nc * sizeof(*nk));
        if (!nk)
            return NULL;
        rep->keys = nk;
        rep->cap = nc;
    }
    memset(&rep->keys[rep->n_keys], 0, sizeof(struct rkey));
    rep->keys[rep->n_keys].key = strdup(key);
    if (!rep->keys[rep->n_keys].key)
        return NULL;
    rep->keys[rep->n_keys].score = -1;
    rep->index[at] = rep->n_keys;
    return &rep->keys[rep->n_keys++];
}

struct report *
report_new(const char *path, size_t max_keys)
{
    struct report *rep = calloc(1, sizeof(*rep));

    if (!rep)
        return NULL;
    rep->path = strdup(path);
    if (!rep->path) {
        free(rep);
        return NULL;
    }
    rep->max_keys = max_keys;
    return rep;
}

void
report_free(struct report *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n_keys; i++) {
        free(rep->keys[i].key);
        free(rep->keys[i].alert);
        free(rep->keys[i].history);
    }
    free(rep->keys);
    free(rep->index);
    free(rep->path);
    free(rep);
}

static void
count_reason(struct report *rep, const char *reason)
{
    size_t i;

    rep->suppressed_emitted++;
    for (i = 0; i < rep->n_reasons; i++)
        if (!strcmp(rep->reasons[i].name, reason))
            break;
    if (i == rep->n_reasons) {
        if (rep->n_reasons == sizeof(rep->reasons) / sizeof(rep->reasons[0]))
            return;
        snprintf(rep->reasons[i].name, sizeof(rep->reasons[i].name), "%s", reason);
        rep->n_reasons++;
    }
    rep->reasons[i].n++;
}

int
report_alert(struct report *rep, const t1071_ctx *ctx, const char *json, size_t json_len,
             const uint8_t *pb, size_t pb_len)
{
    T1071__Ecs__V1__Alert *a = t1071__ecs__v1__alert__unpack(NULL, pb_len, pb);
    struct rkey *k;
    t1071_buffer *h = NULL;
    bool suppressed;
    int rc = 0;

    if (!a)
        return 0; /* the library wrote it: not expected; nothing to show */
    suppressed = a->tuning && a->tuning->suppressed;
    if (suppressed)
        count_reason(rep, a->tuning->reason ? a->tuning->reason : "unknown");
    k = key_get(rep, a->key ? a->key : "");
    if (!k) {
        rc = -1;
        goto out;
    }
    k->alerts++;
    if (!suppressed)
        k->delivered = true;
    /* The latest alert stands for the key; a delivered one is preferred
     * over a later suppressed one. */
    if (!suppressed || !k->delivered || !k->alert) {
        char *e = json_embed(json, json_len);
        if (!e) {
            rc = -1;
            goto out;
        }
        free(k->alert);
        k->alert = e;
    }
    if (a->beacon && a->beacon->score > k->score)
        k->score = a->beacon->score;
    else if (!a->beacon && k->score < 0)
        k->score = 0;
    if (t1071_key_history(ctx, a->key ? a->key : "", a->key ? strlen(a->key) : 0, &h) == T1071_OK) {
        char *e = json_embed((const char *)t1071_buffer_data(h), t1071_buffer_size(h));
        t1071_buffer_free(h);
        if (!e) {
            rc = -1;
            goto out;
        }
        free(k->history);
        k->history = e;
    }
out:
    t1071__ecs__v1__alert__free_unpacked(a, NULL);
    return rc;
}

/* ===== Writing ===== */

static int
by_score(const void *x, const void *y)
{
    const struct rkey *a = *(struct rkey *const *)x, *b = *(struct rkey *const *)y;
    if (a->delivered != b->delivered)
        return a->delivered ? -1 : 1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp(a->key, b->key);
}

extern const unsigned char t1071_report_css[];
extern const unsigned char t1071_report_js[];

static void
stat_row(FILE *f, const char *label, uint64_t v)
{
    fputs("<tr><th scope=\"row\">", f);
    html_str(f, label);
    fprintf(f, "</th><td>%" PRIu64 "</td></tr>\n", v);
}

static uint64_t
stat_of(const t1071_ctx *ctx, const char *name)
{
    uint64_t v = 0;
    for (int id = 0; t1071_stat_name(id); id++)
        if (!strcmp(t1071_stat_name(id), name)) {
            t1071_stats_get(ctx, id, &v);
            break;
        }
    return v;
}

int
report_write(struct report *rep, const t1071_ctx *ctx, const struct report_run *run)
{
    char tmp[4096], nonce[33];
    unsigned char rnd[16];
    struct rkey **order = NULL;
    size_t shown = 0, budget;
    FILE *f;
    int fd, rc = -1;
    long at;

    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
        fprintf(stderr, "t1071-replay: --report: no random nonce: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    order = malloc((rep->n_keys ? rep->n_keys : 1) * sizeof(*order));
    if (!order) {
        fprintf(stderr, "t1071-replay: --report: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < rep->n_keys; i++)
        order[i] = &rep->keys[i];
    if (rep->n_keys > 1)
        qsort(order, rep->n_keys, sizeof(*order), by_score);

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", rep->path, (long)getpid());
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "t1071-replay: --report %s: %s\n", tmp, strerror(errno));
        free(order);
        return -1;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'nonce-%s'; script-src 'nonce-%s'; img-src 'none'; base-uri 'none'; "
               "form-action 'none'\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta name=\"referrer\" content=\"no-referrer\">\n"
               "<title>T1071 beacon triage: ", nonce, nonce);
    html_str(f, run->input);
    fprintf(f, "</title>\n<style nonce=\"%s\">%s</style>\n</head><body>\n", nonce, (const char *)t1071_report_css);
    fputs("<header><h1>T1071 beacon triage</h1><p class=\"sub\">libt1071detect ", f);
    html_str(f, t1071_version_string());
    fputs(" &middot; t1071-replay --report</p></header>\n<main>\n"
          "<section id=\"summary\" aria-labelledby=\"summary-h\"><h2 id=\"summary-h\">Summary</h2>\n"
          "<table class=\"summary\"><tbody>\n<tr><th scope=\"row\">input</th><td>", f);
    html_str(f, run->input);
    fputs("</td></tr>\n<tr><th scope=\"row\">profile</th><td>", f);
    html_str(f, run->profile);
    fputs("</td></tr>\n", f);
    stat_row(f, "events read", run->lines);
    stat_row(f, "events matched", stat_of(ctx, "events_matched"));
    stat_row(f, "events late", stat_of(ctx, "events_late"));
    stat_row(f, "bad records", run->bad);
    stat_row(f, "alerts", stat_of(ctx, "alerts_polled") - rep->suppressed_emitted);
    stat_row(f, "alerts suppressed (all)", stat_of(ctx, "alerts_suppressed"));
    for (size_t i = 0; i < rep->n_reasons; i++) {
        char label[96];
        snprintf(label, sizeof(label), "suppressed and emitted: %s", rep->reasons[i].name);
        stat_row(f, label, rep->reasons[i].n);
    }
    stat_row(f, "keys alerting", rep->n_keys);
    fprintf(f, "<tr><th scope=\"row\">run time</th><td>%.3f s</td></tr>\n</tbody></table>\n",
            run->seconds);

    /* Keys: highest scores first, within the count and the byte budget
     * (the rest of the file is a few tens of KiB). */
    at = ftell(f);
    budget = REPORT_MAX_BYTES - 64 * 1024 - (at > 0 ? (size_t)at : 0) - strlen((const char *)t1071_report_js);
    {
        size_t used = 0;
        for (; shown < rep->n_keys && shown < rep->max_keys; shown++) {
            const struct rkey *k = order[shown];
            size_t need = strlen(k->alert) + (k->history ? strlen(k->history) : 4) + 64;
            /* The HTML the script makes is not in the file. */
            if (used + need > budget)
                break;
            used += need;
        }
    }
    if (shown < rep->n_keys)
        fprintf(f, "<p class=\"left-out\" id=\"left-out\">%zu of %zu alerting keys shown (highest "
                   "scores first); %zu left out (--report-keys, or the 5 MB bound).</p>\n",
                shown, rep->n_keys, rep->n_keys - shown);
    else
        fprintf(f, "<p class=\"left-out\" id=\"left-out\">All %zu alerting keys shown.</p>\n",
                rep->n_keys);
    fputs("</section>\n<section id=\"keys\" aria-labelledby=\"keys-h\"><h2 id=\"keys-h\">Alerting "
          "keys</h2>\n<p class=\"hint\">Sort with the column buttons; each key's charts follow "
          "the table.</p>\n<div id=\"table\"></div></section>\n<div id=\"details\"></div>\n"
          "<noscript><p>The table and charts need the report's inline script.</p></noscript>\n"
          "</main>\n<script type=\"application/json\" id=\"t1071-data\">{\"marks_max\":", f);
    fprintf(f, "%d,\"keys_total\":%zu,\"keys\":[", REPORT_MAX_MARKS, rep->n_keys);
    for (size_t i = 0; i < shown; i++) {
        const struct rkey *k = order[i];
        fprintf(f, "%s{\"alerts\":%" PRIu64 ",\"delivered\":%s,\"alert\":%s,\"history\":%s}",
                i ? ",\n" : "\n", k->alerts, k->delivered ? "true" : "false", k->alert,
                k->history ? k->history : "null");
    }
    fprintf(f, "]}</script>\n<script nonce=\"%s\">%s</script>\n</body></html>\n", nonce,
            (const char *)t1071_report_js);
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "t1071-replay: --report %s: write error\n", tmp);
        unlink(tmp);
    } else if (rename(tmp, rep->path) != 0) {
        fprintf(stderr, "t1071-replay: --report %s: %s\n", rep->path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    free(order);
    return rc;
}
