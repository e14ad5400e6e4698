/* SPDX-License-Identifier: Apache-2.0 */
/* The EQL test vectors (README "Semantics", test vectors): every stream of
 * fixtures/eql-vectors/NAME.ndjson must give NAME.expected byte for byte, in
 * the faithful profile (the defaults), fed three ways: line by line as JSON,
 * converted with t1071_event_from_json then fed as protobuf, and packed into
 * one length-delimited batch. */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef T1071_FIXTURES
#error "T1071_FIXTURES must name tests/integration/fixtures"
#endif

static const char *vectors_dir = T1071_FIXTURES "/eql-vectors";

enum mode { MODE_JSON, MODE_EVENT, MODE_BATCH };

struct line {
    const char *s;
    size_t len;
    uint64_t lineno; /* 1-based */
};

/* Split NDJSON into lines (without the newline, without a trailing '\r').
 * Empty lines are skipped but still counted. */
static struct line *
split_lines(char *data, size_t len, size_t *n_out)
{
    struct line *lines = NULL;
    size_t n = 0, cap = 0;
    uint64_t lineno = 0;
    char *p = data, *end = data + len;

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t l = (size_t)(e - p);
        lineno++;
        if (l && p[l - 1] == '\r')
            l--;
        if (l) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                lines = realloc(lines, cap * sizeof(*lines));
                assert_non_null(lines);
            }
            lines[n].s = p;
            lines[n].len = l;
            lines[n].lineno = lineno;
            n++;
        }
        p = nl ? nl + 1 : end;
    }
    *n_out = n;
    return lines;
}

static char *
run_vector(const char *ndjson_path, enum mode mode)
{
    size_t len, n_lines;
    char *data = tu_read_file(ndjson_path, &len);
    struct line *lines;
    t1071_ctx *ctx;
    struct tu_alerts all = {0};
    struct tu_buf out = {0}, batch = {0};
    int rc;

    if (!data)
        fail_msg("cannot read %s", ndjson_path);
    lines = split_lines(data, len, &n_lines);
    assert_true(n_lines > 0);
    ctx = tu_ctx_new(NULL);
    for (size_t i = 0; i < n_lines; i++) {
        const struct line *l = &lines[i];
        t1071_buffer *buf = NULL;

        /* Every fixture line has a usable @timestamp: each must be accepted. */
        switch (mode) {
        case MODE_JSON:
            while ((rc = t1071_feed_json(ctx, l->s, l->len)) == T1071_E_QUEUE_FULL)
                tu_collect(ctx, &all);
            if (rc != T1071_OK)
                fail_msg("%s line %" PRIu64 ": t1071_feed_json: %s (%s)", ndjson_path,
                         l->lineno, t1071_strerror(rc), t1071_errmsg(ctx));
            break;
        case MODE_EVENT:
        case MODE_BATCH:
            rc = t1071_event_from_json(l->s, l->len, l->lineno, &buf);
            if (rc != T1071_OK)
                fail_msg("%s line %" PRIu64 ": t1071_event_from_json: %s", ndjson_path,
                         l->lineno, t1071_strerror(rc));
            assert_non_null(buf);
            if (mode == MODE_EVENT) {
                rc = tu_feed_event_retry(ctx, t1071_buffer_data(buf), t1071_buffer_size(buf),
                                         &all, NULL);
                if (rc != T1071_OK)
                    fail_msg("%s line %" PRIu64 ": t1071_feed_event: %s (%s)", ndjson_path,
                             l->lineno, t1071_strerror(rc), t1071_errmsg(ctx));
            } else {
                tu_append_delimited(&batch, t1071_buffer_data(buf), t1071_buffer_size(buf));
            }
            t1071_buffer_free(buf);
            break;
        }
    }
    if (mode == MODE_BATCH) {
        rc = tu_feed_batch_all(ctx, (const uint8_t *)batch.data, batch.len, &all, NULL);
        if (rc != T1071_OK)
            fail_msg("%s: t1071_feed_batch: %s (%s)", ndjson_path, t1071_strerror(rc),
                     t1071_errmsg(ctx));
        assert_int_equal(tu_stat(ctx, T1071_STAT_ERR_DECODE), 0);
    }
    assert_int_equal(tu_advance_retry(ctx, INT64_MAX, &all, NULL), T1071_OK);
    tu_collect(ctx, &all);
    assert_int_equal(tu_stat(ctx, T1071_STAT_RECORDS_IN), n_lines);
    assert_int_equal(tu_stat(ctx, T1071_STAT_EVENTS_LATE), 0);
    assert_int_equal(tu_stat(ctx, T1071_STAT_ALERTS), all.n);
    for (size_t i = 0; i < all.n; i++) {
        tu_buf_puts(&out, all.a[i].ids);
        tu_buf_puts(&out, "\n");
    }
    tu_buf_str(&out);
    tu_alerts_free(&all);
    tu_buf_free(&batch);
    t1071_free(ctx);
    free(lines);
    free(data);
    return out.data;
}

static const char *const mode_names[] = {"json", "event", "batch"};

static void
check_vector(const char *name, enum mode mode)
{
    char path[4096], epath[4096];
    char *got, *want;
    size_t want_len;

    snprintf(path, sizeof(path), "%s/%s.ndjson", vectors_dir, name);
    snprintf(epath, sizeof(epath), "%s/%s.expected", vectors_dir, name);
    want = tu_read_file(epath, &want_len);
    if (!want)
        fail_msg("cannot read %s", epath);
    got = run_vector(path, mode);
    if (strcmp(got, want) != 0) {
        /* Show the first line that differs. */
        const char *g = got, *w = want;
        size_t line = 1;
        while (*g && *g == *w) {
            if (*g == '\n')
                line++;
            g++;
            w++;
        }
        while (g > got && g[-1] != '\n')
            g--;
        while (w > want && w[-1] != '\n')
            w--;
        print_error("%s (%s): first difference on output line %zu\n  got:      %.*s\n"
                    "  expected: %.*s\n",
                    name, mode_names[mode], line, (int)strcspn(g, "\n"), g,
                    (int)strcspn(w, "\n"), w);
        free(got);
        free(want);
        fail();
    }
    free(got);
    free(want);
}

/* The streams, each fed three ways. */
#define STREAMS(X)                                                             \
    X(a_25_one_entity)                                                         \
    X(b_gap)                                                                   \
    X(c_maxspan_boundary)                                                      \
    X(d_predicates)                                                            \
    X(e_keys)                                                                  \
    X(f_equal_ts)                                                              \
    X(g_predicates_each)                                                       \
    X(h_edges_each)

#define DEFINE_TESTS(name)                                                     \
    static void test_vectors_##name##_fed_as_json_reproduces_expected(void **s) \
    {                                                                          \
        (void)s;                                                               \
        check_vector(#name, MODE_JSON);                                        \
    }                                                                          \
    static void test_vectors_##name##_fed_as_events_reproduces_expected(void **s) \
    {                                                                          \
        (void)s;                                                               \
        check_vector(#name, MODE_EVENT);                                       \
    }                                                                          \
    static void test_vectors_##name##_fed_as_batch_reproduces_expected(void **s) \
    {                                                                          \
        (void)s;                                                               \
        check_vector(#name, MODE_BATCH);                                       \
    }
STREAMS(DEFINE_TESTS)

#define LIST_TESTS(name)                                                       \
    cmocka_unit_test(test_vectors_##name##_fed_as_json_reproduces_expected),  \
    cmocka_unit_test(test_vectors_##name##_fed_as_events_reproduces_expected), \
    cmocka_unit_test(test_vectors_##name##_fed_as_batch_reproduces_expected),

#define NAME_STRING(name) #name,

/* A stream added to the fixtures must be added to STREAMS too. */
static void
test_vectors_fixture_dir_every_stream_listed(void **state)
{
    static const char *const known[] = {STREAMS(NAME_STRING) NULL};
    DIR *dir = opendir(vectors_dir);
    struct dirent *de;
    size_t found = 0;

    (void)state;
    if (!dir)
        fail_msg("cannot open %s", vectors_dir);
    while ((de = readdir(dir))) {
        size_t l = strlen(de->d_name);
        bool listed = false;
        if (l <= 7 || strcmp(de->d_name + l - 7, ".ndjson") != 0)
            continue;
        for (size_t i = 0; known[i]; i++)
            listed = listed || (strlen(known[i]) == l - 7 && !strncmp(known[i], de->d_name, l - 7));
        if (!listed) {
            closedir(dir);
            fail_msg("%s/%s is not in STREAMS", vectors_dir, de->d_name);
        }
        found++;
    }
    closedir(dir);
    assert_int_equal(found, sizeof(known) / sizeof(known[0]) - 1);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_fixture_dir_every_stream_listed),
        STREAMS(LIST_TESTS)
    };

    if (argc > 1)
        vectors_dir = argv[1];
    return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
