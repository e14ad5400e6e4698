/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet stream stays fleet-shaped (issue 17): a property check, not a
 * timed test.  At its seed, gen_fleet must write 301,000 events on 20,000
 * hosts, 0.30 % +- 0.05 of them completing a sequence under the faithful
 * rule, with NDJSON lines of 460 bytes +- 10 % on average; and the
 * library, fed the stream (protobuf through t1071_feed_batch, NDJSON line
 * by line through t1071_feed_json, beacon.enabled=false), must raise
 * exactly as many alerts as the generator counted completing events.
 *
 *   test-fleet-stream [SEED]      (default 1071, the benchmarks' seed) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen-stream.h"
#include "t1071/t1071detect.h"

static int failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                           \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static t1071_ctx *
bare_ctx(void)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    if (t1071_config_new(&cfg) != T1071_OK)
        return NULL;
    if (t1071_config_set(cfg, "beacon.enabled", "false") != T1071_OK ||
        t1071_init(&ctx, cfg) != T1071_OK)
        ctx = NULL;
    t1071_config_free(cfg);
    return ctx;
}

static uint64_t
drain(t1071_ctx *ctx)
{
    t1071_alert_batch *batch;
    uint64_t n = 0;

    if (t1071_poll_alerts(ctx, &batch) == T1071_OK) {
        n = t1071_alert_batch_count(batch);
        t1071_alert_batch_free(batch);
    }
    return n;
}

/* Alerts from the length-delimited protobuf stream, or UINT64_MAX. */
static uint64_t
alerts_pb(const uint8_t *b, size_t len)
{
    t1071_ctx *ctx = bare_ctx();
    uint64_t alerts = 0;

    if (!ctx)
        return UINT64_MAX;
    for (size_t off = 0; off < len;) {
        size_t used = 0;
        int rc = t1071_feed_batch(ctx, b + off, len - off, &used);
        off += used;
        if (rc == T1071_E_QUEUE_FULL || off == len)
            alerts += drain(ctx);
        else if (rc != T1071_OK) {
            fprintf(stderr, "t1071_feed_batch: %s\n", t1071_strerror(rc));
            alerts = UINT64_MAX;
            break;
        }
    }
    t1071_free(ctx);
    return alerts;
}

/* Alerts from the NDJSON stream fed line by line, or UINT64_MAX. */
static uint64_t
alerts_ndjson(const char *s, size_t len, uint64_t *lines)
{
    t1071_ctx *ctx = bare_ctx();
    uint64_t alerts = 0;

    *lines = 0;
    if (!ctx)
        return UINT64_MAX;
    for (size_t off = 0; off < len;) {
        const char *nl = memchr(s + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (s + off)) : len - off;
        int rc = t1071_feed_json(ctx, s + off, n);
        if (rc == T1071_E_QUEUE_FULL) {
            alerts += drain(ctx);
            continue; /* refused: feed the same line again */
        }
        if (rc != T1071_OK) {
            fprintf(stderr, "t1071_feed_json, line %" PRIu64 ": %s\n", *lines + 1,
                    t1071_strerror(rc));
            alerts = UINT64_MAX;
            break;
        }
        (*lines)++;
        off += n + 1;
    }
    if (alerts != UINT64_MAX)
        alerts += drain(ctx);
    t1071_free(ctx);
    return alerts;
}

int
main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1071;
    struct gen_fleet_stats st, st2;
    char *pb = NULL, *nd = NULL;
    size_t pb_len = 0, nd_len = 0;
    FILE *f;
    uint64_t a_pb, a_nd, lines;
    double rate, mean;

    f = open_memstream(&pb, &pb_len);
    if (!f || gen_fleet(f, false, seed, &st) != 0 || fclose(f) != 0)
        return 1;
    f = open_memstream(&nd, &nd_len);
    if (!f || gen_fleet(f, true, seed, &st2) != 0 || fclose(f) != 0)
        return 1;
    rate = 100.0 * (double)st.completing / (double)st.events;
    mean = (double)st.ndjson_bytes / (double)st.events;
    printf("fleet stream, seed %" PRIu64 ": %" PRIu64 " events, %" PRIu64 " matching, %" PRIu64
           " completing (%.3f %%), mean NDJSON line %.1f bytes, protobuf %.1f bytes/event\n",
           seed, st.events, st.matching, st.completing, rate, mean,
           (double)pb_len / (double)st.events);

    CHECK(st.events == 301000 && st.events == GEN_FLEET_EVENTS, "events %" PRIu64, st.events);
    CHECK(memcmp(&st, &st2, sizeof(st)) == 0, "the NDJSON and protobuf runs differ");
    CHECK(st2.ndjson_bytes == nd_len, "NDJSON bytes written %zu, counted %" PRIu64, nd_len,
          st2.ndjson_bytes);
    CHECK(rate >= 0.25 && rate <= 0.35, "completion rate %.3f %% outside 0.30 +- 0.05", rate);
    CHECK(mean >= 414.0 && mean <= 506.0, "mean line %.1f B outside 460 +- 10 %%", mean);

    a_pb = alerts_pb((const uint8_t *)pb, pb_len);
    a_nd = alerts_ndjson(nd, nd_len, &lines);
    printf("library, faithful, beacon.enabled=false: %" PRIu64 " alerts from protobuf, %" PRIu64
           " from NDJSON (%" PRIu64 " lines)\n",
           a_pb, a_nd, lines);
    CHECK(a_pb == st.completing, "library alerts (protobuf) %" PRIu64 " != generator's %" PRIu64,
          a_pb, st.completing);
    CHECK(a_nd == st.completing, "library alerts (NDJSON) %" PRIu64 " != generator's %" PRIu64,
          a_nd, st.completing);
    CHECK(lines == st.events, "NDJSON lines %" PRIu64, lines);
    free(pb);
    free(nd);
    puts(failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
