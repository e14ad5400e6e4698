/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the CLI's NDJSON reader, re-implemented line for line
 * from examples/t1071-replay.c (for_each_line, ndjson_line, feed, drain,
 * finish) on a memory buffer instead of a FILE: every line, without its
 * '\n', through replay_line_event() (examples/replay-shapes.c: the JSON
 * shapes, and a Zeek TSV log read through its # header lines, as the CLI
 * reads it) with its line number, then
 * t1071_feed_event(), draining alerts as ECS JSON whenever the queue is
 * full; blank lines skipped; a last line without '\n' still read.
 *
 * Input: byte 0 picks a configuration (the CLI's --set / --config can
 * give any of them), the rest is the NDJSON stream. */
#include "fuzz.h"
#include "replay-shapes.h"

#define MAX_LINE (4u << 20) /* t1071-replay's: longer lines are skipped as bad */

struct run {
    t1071_ctx *ctx;
    struct replay_shapes shapes;
    uint64_t lines, events, bad, alerts;
};

static bool
blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static int
drain(struct run *r)
{
    size_t n = fuzz_drain(r->ctx); /* renders each alert as JSON, as --output alerts */

    r->alerts += n;
    return T1071_OK;
}

static int
feed(struct run *r, const uint8_t *buf, size_t len)
{
    for (;;) {
        int rc = t1071_feed_event(r->ctx, buf, len);
        if (rc == T1071_E_QUEUE_FULL) {
            if (drain(r) != T1071_OK)
                return -1;
            continue;
        }
        FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_TOO_LARGE, T1071_E_TIMESTAMP, T1071_E_NOMEM);
        if (rc != T1071_OK)
            r->bad++;
        else
            r->events++;
        return 0;
    }
}

static int
ndjson_line(struct run *r, const char *line, size_t len, uint64_t lineno)
{
    t1071_buffer *ev = NULL;
    char err[160];
    int rc = replay_line_event(&r->shapes, line, len, lineno, &ev, err, sizeof(err));

    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_JSON, T1071_E_TOO_LARGE, T1071_E_NOMEM,
                  T1071_E_INVALID_ARG);
    if (rc == T1071_E_NOMEM)
        return -1;
    if (rc != T1071_OK) {
        FUZZ_CHECK(ev == NULL);
        /* A TSV line the header cannot explain always says why. */
        FUZZ_CHECK(rc != T1071_E_INVALID_ARG || err[0] != '\0');
        r->bad++;
        return 0;
    }
    if (!ev)
        return 0; /* a Zeek TSV header line */
    rc = feed(r, t1071_buffer_data(ev), t1071_buffer_size(ev));
    t1071_buffer_free(ev);
    return rc;
}

static int
finish(struct run *r)
{
    for (;;) {
        int rc = t1071_advance(r->ctx, INT64_MAX);
        if (rc == T1071_E_QUEUE_FULL) {
            if (drain(r) != T1071_OK)
                return -1;
            continue;
        }
        FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_NOMEM);
        if (rc != T1071_OK)
            return -1;
        return drain(r) == T1071_OK ? 0 : -1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run r = {0};
    size_t cap = 1 << 16, len = 0;
    char *buf;
    bool skipping = false;
    int rc = 0;

    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    r.ctx = fuzz_ctx_new(data[0]);
    replay_shapes_init(&r.shapes, NULL);
    buf = malloc(cap);
    FUZZ_CHECK(buf != NULL);
    /* for_each_line(), reading bytes from the input instead of getc(). */
    for (size_t i = 1; rc == 0; i++) {
        int c = i < size ? data[i] : EOF;
        if (c == EOF || c == '\n') {
            if (c == EOF && len == 0 && !skipping)
                break;
            r.lines++;
            if (skipping)
                r.bad++;
            else if (!blank(buf, len))
                rc = ndjson_line(&r, buf, len, r.lines);
            len = 0;
            skipping = false;
            if (c == EOF)
                break;
            continue;
        }
        if (skipping)
            continue;
        if (len == MAX_LINE) {
            skipping = true;
            continue;
        }
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            FUZZ_CHECK(nb != NULL);
            buf = nb;
            cap *= 2;
        }
        buf[len++] = (char)c;
    }
    free(buf);
    if (rc == 0)
        rc = finish(&r);
    FUZZ_CHECK(r.events + r.bad <= r.lines);
    fuzz_check_counters(r.ctx);
    {
        /* The end-of-run account never fails, whatever the input was. */
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            int code = replay_shapes_report(&r.shapes, r.ctx, r.alerts, null);
            FUZZ_CHECK(code == 0 || code == REPLAY_EXIT_NO_NETWORK);
            fclose(null);
        }
    }
    replay_shapes_free(&r.shapes);
    t1071_free(r.ctx);
    return 0;
}
