/* SPDX-License-Identifier: Apache-2.0 */
/* Feed-path benchmark (meson benchmark): a deterministic stream encoded
 * once, then timed on one core, each figure the median of several runs:
 *   - decode-only ceilings on the same buffers: protobuf-c unpack + free
 *     with the default allocator, and with a bump arena allocator;
 *   - the full feed, faithful profile (with beacon.enabled=false when the
 *     build has that key), alerts polled as a host would;
 *   - library memory and RSS per tracked key, and per key holding nine
 *     pending events (the ring of a 10-run sequence one short of firing);
 *   - the three configurations again on the fleet stream (gen-fleet.c:
 *     301,000 events on 20,000 hosts, 0.3 % completing a sequence).
 * Prints a table; asserts nothing about speed (shared machines are noisy).
 *
 *   bench-feed [EVENTS [RUNS [KEYS]]]      defaults: 1000000 5 20000 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ecs.pb-c.h"
#include "gen-stream.h"
#include "t1071/t1071detect.h"

#define MAX_RUNS 31

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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

/* A bump arena for protobuf-c: reset per event, free is a no-op. */
struct arena {
    uint8_t *base;
    size_t used, cap;
};

static void *
arena_alloc(void *data, size_t size)
{
    struct arena *a = data;
    size_t n = (size + 15) & ~(size_t)15;
    void *p;

    if (a->used + n > a->cap)
        return NULL;
    p = a->base + a->used;
    a->used += n;
    return p;
}

static void
arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static long
rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * 4;
}

#ifndef T1071_PROFILES_DIR
#define T1071_PROFILES_DIR "examples/profiles"
#endif

/* The three configurations the issue measures. */
enum mode { M_BARE, M_SCORED, M_TUNED, N_MODES };
static const char *const mode_name[N_MODES] = {
    "feed, faithful, beacon.enabled=false",
    "feed, faithful (scoring, default)",
    "feed, tuned profile",
};

static int
make_ctx(t1071_ctx **ctx, enum mode m, int *beacon_off)
{
    t1071_config *cfg = NULL;
    int rc;

    if (t1071_config_new(&cfg) != T1071_OK)
        return -1;
    if (m == M_BARE)
        *beacon_off = t1071_config_set(cfg, "beacon.enabled", "false") == T1071_OK;
    if (m == M_TUNED &&
        t1071_config_load_file(cfg, T1071_PROFILES_DIR "/tuned.ini") != T1071_OK) {
        fprintf(stderr, "tuned.ini: %s\n", t1071_config_errmsg(cfg));
        t1071_config_free(cfg);
        return -1;
    }
    rc = t1071_init(ctx, cfg);
    t1071_config_free(cfg);
    return rc == T1071_OK ? 0 : -1;
}

/* Feed the whole buffer through t1071_feed_batch, polling alerts when the
 * queue fills.  Returns the alert count, or UINT64_MAX on an error. */
static uint64_t
feed_all(t1071_ctx *ctx, const uint8_t *b, size_t len)
{
    uint64_t alerts = 0;
    t1071_alert_batch *batch;

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
            return UINT64_MAX;
        }
    }
    return alerts;
}

/* @p keys keys, nine matching events each (public destination, one minute
 * apart): every key ends holding nine pending events and no alert. */
static int
nine_pending(uint32_t keys, double *lib_per_key, double *rss_per_key)
{
    char *data = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&data, &len);
    uint8_t buf[1024];
    t1071_ctx *ctx;
    int beacon_off;
    uint64_t mem_bytes = 0, nkeys = 0;
    long rss0, rss1;

    if (!mem)
        return -1;
    for (uint32_t round = 0; round < 9; round++) {
        for (uint32_t k = 0; k < keys; k++) {
            T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
            char id[32], ent[48], host[32], ip[32];
            char *cat = (char *)"network", *type = (char *)"connection";
            char *dir = (char *)"egress", *ipv = ip, *entv = ent;
            char *name = (char *)"rundll32.exe";
            int64_t port = 443;
            uint8_t pre[10];
            size_t n, np = 0;
            uint64_t v;

            snprintf(id, sizeof(id), "p%u-%u", k, round);
            snprintf(ent, sizeof(ent), "{%08x-4f1c-0000-%012" PRIx32 "}", k * 2654435761u, k);
            snprintf(host, sizeof(host), "ws-%05u", k % 5000);
            snprintf(ip, sizeof(ip), "203.0.%u.%u", (k >> 8) & 255, k & 255);
            ev.has_timestamp_ms = 1;
            ev.timestamp_ms = INT64_C(1732780800000) + (int64_t)round * 60000 + k % 1000;
            ev.event_id = id;
            ev.n_event_category = 1;
            ev.event_category = &cat;
            ev.n_event_type = 1;
            ev.event_type = &type;
            ev.n_network_direction = 1;
            ev.network_direction = &dir;
            ev.n_destination_ip = 1;
            ev.destination_ip = &ipv;
            ev.n_destination_port = 1;
            ev.destination_port = &port;
            ev.n_process_entity_id = 1;
            ev.process_entity_id = &entv;
            ev.n_process_name = 1;
            ev.process_name = &name;
            ev.host_name = host;
            n = t1071__ecs__v1__event__get_packed_size(&ev);
            v = n;
            do {
                pre[np] = (uint8_t)(v & 0x7f);
                v >>= 7;
                if (v)
                    pre[np] |= 0x80;
                np++;
            } while (v);
            t1071__ecs__v1__event__pack(&ev, buf);
            fwrite(pre, 1, np, mem);
            fwrite(buf, 1, n, mem);
        }
    }
    fclose(mem);
    rss0 = rss_kib();
    if (make_ctx(&ctx, M_BARE, &beacon_off) != 0 || feed_all(ctx, (uint8_t *)data, len) != 0)
        return -1;
    rss1 = rss_kib();
    t1071_stats_get(ctx, T1071_STAT_KEYS, &nkeys);
    t1071_stats_get(ctx, T1071_STAT_MEMORY_BYTES, &mem_bytes);
    *lib_per_key = nkeys ? (double)mem_bytes / (double)nkeys : 0;
    *rss_per_key = nkeys ? (double)(rss1 - rss0) * 1024.0 / (double)nkeys : 0;
    t1071_free(ctx);
    free(data);
    return nkeys == keys ? 0 : -1;
}

/* The three configurations on the fleet stream, each the median of @p runs. */
static int
fleet_rows(int runs, bool feed_only)
{
    struct gen_fleet_stats st;
    char *data = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&data, &len);
    double t[MAX_RUNS];

    if (!mem || gen_fleet(mem, false, 1071, &st) != 0)
        return -1;
    fclose(mem);
    printf("fleet stream, seed 1071: %" PRIu64 " events on %u hosts, %zu bytes (%.0f/event), "
           "%" PRIu64 " completing a sequence (%.2f %%)\n",
           st.events, GEN_FLEET_HOSTS, len, (double)len / (double)st.events, st.completing,
           100.0 * (double)st.completing / (double)st.events);
    for (int m = 0; m < N_MODES; m++) {
        uint64_t a = 0, peak = 0;
        int beacon_off = 0;
        for (int r = 0; r < runs; r++) {
            t1071_ctx *ctx;
            double t0;
            if (make_ctx(&ctx, (enum mode)m, &beacon_off) != 0)
                return -1;
            t0 = now();
            a = feed_all(ctx, (const uint8_t *)data, len);
            t[r] = now() - t0;
            t1071_stats_get(ctx, T1071_STAT_MEMORY_PEAK_BYTES, &peak);
            t1071_free(ctx);
            if (a == UINT64_MAX)
                return -1;
        }
        double md = median(t, runs);
        printf("fleet: %-28s %10.2f %10.0f   %" PRIu64 " alerts, memory peak %" PRIu64
               " bytes\n",
               mode_name[m], (double)st.events / md / 1e6, md / (double)st.events * 1e9, a, peak);
        if (feed_only)
            break;
    }
    free(data);
    return 0;
}

int
main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    uint32_t nkeys = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 20000;
    char *data = NULL;
    size_t len = 0;
    FILE *mem;
    const uint8_t *b;
    double t_dec[MAX_RUNS], t_arena[MAX_RUNS], t_feed[MAX_RUNS], t_mode[N_MODES][MAX_RUNS];
    double md, ma, mf, mm[N_MODES], nine_lib = 0, nine_rss = 0;
    uint64_t alerts = 0, keys = 0, mem_now = 0, mem_peak = 0, m_alerts[N_MODES] = {0},
             m_peak[N_MODES] = {0};
    int beacon_off = 0;
    struct arena ar;
    ProtobufCAllocator pa = {arena_alloc, arena_free, &ar};
    struct rusage ru;

    if (runs < 1 || runs > MAX_RUNS || nkeys == 0) {
        fprintf(stderr, "usage: bench-feed [EVENTS [RUNS(1..%d) [KEYS]]]\n", MAX_RUNS);
        return 2;
    }
    /* First, on a fresh heap: memory of keys holding nine pending events. */
    if (nine_pending(20000, &nine_lib, &nine_rss) != 0) {
        fprintf(stderr, "nine-pending scenario failed\n");
        return 1;
    }

    mem = open_memstream(&data, &len);
    if (!mem || gen_stream(mem, false, n, nkeys, 1071) != 0)
        return 1;
    fclose(mem);
    b = (const uint8_t *)data;
    ar.cap = T1071_MAX_EVENT_BYTES * 16;
    ar.base = malloc(ar.cap);
    if (!ar.base)
        return 1;

    /* T1071_BENCH_FEED_ONLY=1: time the feed alone (for perf record). */
    bool feed_only = getenv("T1071_BENCH_FEED_ONLY") != NULL;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        for (size_t off = 0; off < len && !feed_only;) {
            size_t rl;
            off = next_record(b, len, off, &rl);
            T1071__Ecs__V1__Event *ev = t1071__ecs__v1__event__unpack(NULL, rl, b + off);
            if (!ev)
                return 1;
            t1071__ecs__v1__event__free_unpacked(ev, NULL);
            off += rl;
        }
        t_dec[r] = now() - t0;

        t0 = now();
        for (size_t off = 0; off < len && !feed_only;) {
            size_t rl;
            off = next_record(b, len, off, &rl);
            ar.used = 0;
            T1071__Ecs__V1__Event *ev = t1071__ecs__v1__event__unpack(&pa, rl, b + off);
            if (!ev)
                return 1;
            t1071__ecs__v1__event__free_unpacked(ev, &pa);
            off += rl;
        }
        t_arena[r] = now() - t0;

        for (int m = 0; m < N_MODES; m++) {
            t1071_ctx *ctx;
            uint64_t a;
            if (make_ctx(&ctx, (enum mode)m, &beacon_off) != 0)
                return 1;
            t0 = now();
            a = feed_all(ctx, b, len);
            t_mode[m][r] = now() - t0;
            if (a == UINT64_MAX)
                return 1;
            m_alerts[m] = a;
            t1071_stats_get(ctx, T1071_STAT_MEMORY_PEAK_BYTES, &m_peak[m]);
            if (m == M_BARE) {
                alerts = a;
                t_feed[r] = t_mode[m][r];
                t1071_stats_get(ctx, T1071_STAT_KEYS, &keys);
                t1071_stats_get(ctx, T1071_STAT_MEMORY_BYTES, &mem_now);
                mem_peak = m_peak[m];
            }
            t1071_free(ctx);
            if (feed_only)
                break;
        }
    }
    md = median(t_dec, runs);
    ma = median(t_arena, runs);
    mf = median(t_feed, runs);
    for (int m = 0; m < N_MODES; m++)
        mm[m] = feed_only ? 0 : median(t_mode[m], runs);
    getrusage(RUSAGE_SELF, &ru);

    printf("libt1071detect %s feed benchmark: %" PRIu64 " events, %u keys, seed 1071, "
           "median of %d runs, one core\n",
           t1071_version_string(), n, nkeys, runs);
    printf("stream                              %zu bytes, %.0f bytes/event\n", len,
           (double)len / (double)n);
    printf("%-35s %10s %10s\n", "measure", "M ev/s", "ns/event");
    printf("%-35s %10.2f %10.0f\n", "decode-only protobuf-c (malloc)", n / md / 1e6, md / n * 1e9);
    printf("%-35s %10.2f %10.0f\n", "decode-only protobuf-c (arena)", n / ma / 1e6, ma / n * 1e9);
    printf("%-35s %10.2f %10.0f\n",
           beacon_off ? mode_name[M_BARE] : "feed, faithful",
           n / mf / 1e6, mf / n * 1e9);
    for (int m = M_SCORED; m < N_MODES && !feed_only; m++)
        printf("%-35s %10.2f %10.0f   %" PRIu64 " alerts, memory peak %" PRIu64 " bytes\n",
               mode_name[m], n / mm[m] / 1e6, mm[m] / n * 1e9, m_alerts[m], m_peak[m]);
    printf("feed / arena decode-only ceiling    %.2fx\n", ma / mf);
    printf("alerts                              %" PRIu64 " (%.0f alerts/s)\n", alerts,
           alerts / mf);
    printf("keys tracked at end                 %" PRIu64 "\n", keys);
    printf("library memory at end / peak        %" PRIu64 " / %" PRIu64 " bytes "
           "(%.0f bytes/key at end)\n",
           mem_now, mem_peak, keys ? (double)mem_now / (double)keys : 0.0);
    printf("key with 9 pending events           %.0f bytes (library), %.0f bytes (RSS)\n",
           nine_lib, nine_rss);
    printf("process peak RSS                    %ld KiB\n", ru.ru_maxrss);
    free(ar.base);
    free(data);
    return fleet_rows(runs, feed_only) == 0 ? 0 : 1;
}
