/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic synthetic ECS stream for benchmarks: beacons, browsers,
 * internal noise and non-matching events over many hosts and processes,
 * written as length-delimited t1071.ecs.v1.Event records (or NDJSON with
 * --ndjson).  Same seed, same bytes.
 *
 *   gen-stream [--ndjson] [--events N] [--keys K] [--seed S] > stream.pb */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecs.pb-c.h"
#include "gen-stream.h"

static uint64_t
rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void
iso(int64_t ms, char out[48])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Write one event: NDJSON (the same 19 fields, nested as Elastic exports
 * them) or a length-delimited protobuf record.  Returns the bytes written
 * (for NDJSON, the line with its newline), -1 on an error.  @p buf holds
 * the packed record (@p cap bytes). */
long
gen_emit(FILE *out, bool ndjson, const T1071__Ecs__V1__Event *ev, uint8_t *buf, size_t cap)
{
    if (ndjson) {
        char line[2048];
        int n = gen_ndjson_line(ev, line, sizeof(line));
        if (n < 0 || fwrite(line, 1, (size_t)n, out) != (size_t)n)
            return -1;
        return n;
    } else {
        size_t n = t1071__ecs__v1__event__get_packed_size(ev);
        uint8_t pre[10];
        size_t np = 0;
        uint64_t v = n;
        if (n > cap)
            return -1;
        do {
            pre[np] = (uint8_t)(v & 0x7f);
            v >>= 7;
            if (v)
                pre[np] |= 0x80;
            np++;
        } while (v);
        t1071__ecs__v1__event__pack(ev, buf);
        if (fwrite(pre, 1, np, out) != np || fwrite(buf, 1, n, out) != n)
            return -1;
        return (long)(np + n);
    }
}

/* The NDJSON line of an event gen_stream or gen_fleet made (one value per
 * repeated field), newline included; event.kind, event.dataset,
 * network.transport and user.name are left out when unset.  Returns its
 * length, -1 when @p cap is too small.  The executable's backslashes are
 * escaped. */
int
gen_ndjson_line(const T1071__Ecs__V1__Event *ev, char *line, size_t cap)
{
    char ts[48], exe[256], kind[64] = "", dataset[96] = "", transport[64] = "", user[96] = "";
    size_t j = 0;
    int n;

    for (const char *c = ev->process_executable; *c && j + 2 < sizeof(exe); c++) {
        if (*c == '\\')
            exe[j++] = '\\';
        exe[j++] = *c;
    }
    exe[j] = 0;
    iso(ev->timestamp_ms, ts);
    if (ev->event_kind)
        snprintf(kind, sizeof(kind), ",\"kind\":\"%s\"", ev->event_kind);
    if (ev->event_dataset)
        snprintf(dataset, sizeof(dataset), ",\"dataset\":\"%s\"", ev->event_dataset);
    if (ev->network_transport)
        snprintf(transport, sizeof(transport), ",\"transport\":\"%s\"", ev->network_transport);
    if (ev->user_name)
        snprintf(user, sizeof(user), ",\"user\":{\"name\":\"%s\"}", ev->user_name);
    n = snprintf(line, cap,
                 "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"%s\"%s,"
                 "\"category\":[\"%s\"],\"type\":[\"%s\"]%s},"
                 "\"network\":{\"direction\":\"%s\"%s},"
                 "\"source\":{\"ip\":\"%s\",\"port\":%" PRId64 "},"
                 "\"destination\":{\"ip\":\"%s\",\"port\":%" PRId64 "},"
                 "\"process\":{\"entity_id\":\"%s\",\"pid\":%" PRId64 ",\"name\":\"%s\","
                 "\"executable\":\"%s\"},"
                 "\"host\":{\"id\":\"%s\",\"name\":\"%s\"}%s}\n",
                 ts, ev->event_id, kind, ev->event_category[0], ev->event_type[0], dataset,
                 ev->network_direction[0], transport, ev->source_ip[0], ev->source_port,
                 ev->destination_ip[0], ev->destination_port[0], ev->process_entity_id[0],
                 ev->process_pid, ev->process_name[0], exe, ev->host_id, ev->host_name, user);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int
gen_stream(FILE *out, bool ndjson, uint64_t n_events, uint32_t n_keys, uint64_t seed)
{
    uint64_t s = seed;
    int64_t t = INT64_C(1732780800000);
    uint8_t *buf = malloc(4096);

    if (!buf)
        return -1;
    for (uint64_t i = 0; i < n_events; i++) {
        T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
        uint64_t r = rng_next(&s);
        uint32_t key = (uint32_t)(r % n_keys);
        uint32_t kind = key % 10; /* 0-1 beacon, 2-4 browser, 5-7 internal, 8-9 other ports */
        char id[32], ent[48], host[32], hostid[48], sip[32], exe[96], user[32], ip[64];
        char *category[1] = {(char *)"network"};
        char *type[1] = {(char *)(r & 0x100 ? "start" : "connection")};
        char *dir[1] = {(char *)"egress"};
        char *ipv[1] = {ip};
        int64_t port[1];
        char *entv[1] = {ent};
        char *name[1];
        char *sipv = sip;
        static const char *const names[] = {"rundll32.exe", "chrome.exe", "chrome.exe", "msedge.exe",
                                            "svchost.exe", "explorer.exe", "lsass.exe",
                                            "ssh", "python3", "curl"};
        const char *transport = kind >= 5 && kind <= 7 && (r >> 12) & 1 ? "udp" : "tcp";

        t += (int64_t)(rng_next(&s) % 20); /* ~10 ms apart on average */
        snprintf(id, sizeof(id), "g%" PRIu64, i);
        snprintf(ent, sizeof(ent), "{%08x-4f1c-0000-%012" PRIx32 "}", key * 2654435761u, key);
        snprintf(host, sizeof(host), "ws-%05u", key % 5000);
        snprintf(hostid, sizeof(hostid), "%08x-5c1d-4e2f-8a3b-%012u", (key % 5000) * 2246822519u,
                 key % 5000);
        snprintf(sip, sizeof(sip), "10.%u.%u.%u", (key % 5000) >> 8 & 255, (key % 5000) & 255,
                 10 + key % 200);
        snprintf(exe, sizeof(exe), "C:\\Windows\\System32\\%s", names[kind]);
        snprintf(user, sizeof(user), "user%04u", key % 7000);
        name[0] = (char *)names[kind];
        switch (kind) {
        case 0: case 1:
            snprintf(ip, sizeof(ip), "203.0.%u.%u", (key >> 8) & 255, key & 255);
            port[0] = 443;
            break;
        case 2: case 3: case 4:
            snprintf(ip, sizeof(ip), "%u.%u.%u.%u", 100 + (unsigned)(r >> 20) % 100,
                     (unsigned)(r >> 28) & 255, (unsigned)(r >> 36) & 255, (unsigned)(r >> 44) & 255);
            port[0] = (r >> 12) & 1 ? 443 : 80;
            break;
        case 5: case 6: case 7:
            snprintf(ip, sizeof(ip), "10.%u.%u.%u", (unsigned)(r >> 20) & 255,
                     (unsigned)(r >> 28) & 255, (unsigned)(r >> 36) & 255);
            port[0] = (r >> 12) & 1 ? 53 : 445;
            break;
        default:
            snprintf(ip, sizeof(ip), "2001:db8::%x", (unsigned)(r >> 20) & 0xffff);
            port[0] = 22;
            break;
        }
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = t;
        ev.event_id = id;
        ev.n_event_category = 1;
        ev.event_category = category;
        ev.n_event_type = 1;
        ev.event_type = type;
        ev.n_network_direction = 1;
        ev.network_direction = dir;
        ev.n_destination_ip = 1;
        ev.destination_ip = ipv;
        ev.n_destination_port = 1;
        ev.destination_port = port;
        ev.n_process_entity_id = 1;
        ev.process_entity_id = entv;
        ev.n_process_name = 1;
        ev.process_name = name;
        ev.host_name = host;
        /* The rest of a realistic endpoint network event: the rule never
         * reads these, a decoder still has to get past them. */
        ev.event_kind = (char *)"event";
        ev.event_dataset = (char *)"endpoint.events.network";
        ev.network_transport = (char *)transport;
        ev.n_source_ip = 1;
        ev.source_ip = &sipv;
        ev.has_source_port = 1;
        ev.source_port = 49152 + (int64_t)((r >> 40) % 16384);
        ev.has_process_pid = 1;
        ev.process_pid = 1000 + (int64_t)(key % 60000);
        ev.process_executable = exe;
        ev.host_id = hostid;
        ev.user_name = user;
        if (gen_emit(out, ndjson, &ev, buf, 4096) < 0) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return ferror(out) ? -1 : 0;
}
