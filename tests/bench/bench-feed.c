/* SPDX-License-Identifier: Apache-2.0 */
/* Feed-path benchmark (meson benchmark): a deterministic stream encoded
 * once, then timed on one core — decode-only ceiling (protobuf-c unpack +
 * free) and the full feed (faithful profile).  Prints a table; asserts
 * nothing about speed (shared machines are noisy). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ecs.pb-c.h"
#include "gen-stream.h"
#include "t1071/t1071detect.h"

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
next_record(const uint8_t *b, size_t len, size_t off, size_t *rlen)
{
    uint64_t v = 0;
    int shift = 0;
    while (off < len) {
        uint8_t c = b[off++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            break;
        shift += 7;
    }
    *rlen = (size_t)v;
    return off;
}

#ifndef T1071_PROFILES_DIR
#define T1071_PROFILES_DIR "examples/profiles"
#endif

struct run {
    double secs;
    uint64_t alerts, keys, mem_peak;
};

/* Feed the whole stream into a context made from @p profile ("" = the
 * defaults, else a file) plus one optional key=value. */
static int
run_feed(const uint8_t *b, size_t len, const char *profile, const char *key, const char *val,
         struct run *r)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    t1071_alert_batch *batch;
    double t0;

    memset(r, 0, sizeof(*r));
    if (t1071_config_new(&cfg) != T1071_OK ||
        (*profile && t1071_config_load_file(cfg, profile) != T1071_OK) ||
        (key && t1071_config_set(cfg, key, val) != T1071_OK) || t1071_init(&ctx, cfg) != T1071_OK) {
        fprintf(stderr, "config: %s\n", t1071_config_errmsg(cfg));
        t1071_config_free(cfg);
        return 1;
    }
    t1071_config_free(cfg);
    t0 = now();
    for (size_t off = 0; off < len;) {
        size_t consumed = 0;
        int rc = t1071_feed_batch(ctx, b + off, len - off, &consumed);
        off += consumed;
        if (rc == T1071_E_QUEUE_FULL || off == len) {
            if (t1071_poll_alerts(ctx, &batch) == T1071_OK) {
                r->alerts += t1071_alert_batch_count(batch);
                t1071_alert_batch_free(batch);
            }
        } else if (rc != T1071_OK) {
            fprintf(stderr, "feed: %s\n", t1071_strerror(rc));
            t1071_free(ctx);
            return 1;
        }
    }
    r->secs = now() - t0;
    t1071_stats_get(ctx, T1071_STAT_KEYS, &r->keys);
    t1071_stats_get(ctx, T1071_STAT_MEMORY_PEAK_BYTES, &r->mem_peak);
    t1071_free(ctx);
    return 0;
}

int
main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char *data = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&data, &len);
    const uint8_t *b;
    double t0, t_dec, t_feed;
    uint64_t alerts = 0, keys = 0, mem_peak = 0;
    t1071_ctx *ctx;
    t1071_alert_batch *batch;
    struct rusage ru;

    if (!mem || gen_stream(mem, false, n, 20000, 1071) != 0)
        return 1;
    fclose(mem);
    b = (const uint8_t *)data;

    t0 = now();
    for (size_t off = 0; off < len;) {
        size_t rl;
        off = next_record(b, len, off, &rl);
        T1071__Ecs__V1__Event *ev = t1071__ecs__v1__event__unpack(NULL, rl, b + off);
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
        off += rl;
    }
    t_dec = now() - t0;

    {
        struct run off, tuned;
        if (run_feed(b, len, "", "beacon.enabled", "false", &off) != 0 ||
            run_feed(b, len, T1071_PROFILES_DIR "/tuned.ini", NULL, NULL, &tuned) != 0)
            return 1;
        printf("feed, beacon.enabled=false %.2f M events/s  %.0f ns/event  %" PRIu64
               " alerts  memory peak %" PRIu64 " bytes\n",
               n / off.secs / 1e6, off.secs / n * 1e9, off.alerts, off.mem_peak);
        printf("feed, tuned profile        %.2f M events/s  %.0f ns/event  %" PRIu64
               " alerts  memory peak %" PRIu64 " bytes\n",
               n / tuned.secs / 1e6, tuned.secs / n * 1e9, tuned.alerts, tuned.mem_peak);
    }
    if (t1071_init(&ctx, NULL) != T1071_OK)
        return 1;
    t0 = now();
    for (size_t off = 0; off < len;) {
        size_t consumed = 0;
        int rc = t1071_feed_batch(ctx, b + off, len - off, &consumed);
        off += consumed;
        if (rc == T1071_E_QUEUE_FULL || off == len) {
            if (t1071_poll_alerts(ctx, &batch) == T1071_OK) {
                alerts += t1071_alert_batch_count(batch);
                t1071_alert_batch_free(batch);
            }
        } else if (rc != T1071_OK) {
            fprintf(stderr, "feed: %s\n", t1071_strerror(rc));
            return 1;
        }
    }
    t_feed = now() - t0;
    t1071_stats_get(ctx, T1071_STAT_KEYS, &keys);
    t1071_stats_get(ctx, T1071_STAT_MEMORY_PEAK_BYTES, &mem_peak);
    getrusage(RUSAGE_SELF, &ru);

    printf("events                     %" PRIu64 " (%zu bytes, %.0f bytes/event)\n", n, len,
           (double)len / (double)n);
    printf("decode-only (protobuf-c)   %.2f M events/s  %.0f ns/event\n", n / t_dec / 1e6,
           t_dec / n * 1e9);
    printf("feed, faithful             %.2f M events/s  %.0f ns/event  (%.2fx decode-only)\n",
           n / t_feed / 1e6, t_feed / n * 1e9, t_dec / t_feed);
    printf("alerts                     %" PRIu64 " (%.0f alerts/s)\n", alerts, alerts / t_feed);
    printf("keys tracked at end        %" PRIu64 "\n", keys);
    printf("library memory peak        %" PRIu64 " bytes (%.0f bytes/key at end)\n", mem_peak,
           keys ? (double)mem_peak / (double)keys : 0.0);
    printf("process peak RSS           %ld KiB\n", ru.ru_maxrss);
    t1071_free(ctx);
    free(data);
    return 0;
}
