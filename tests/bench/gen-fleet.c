/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet stream (issue 17): fleet-shaped endpoint network traffic, where
 * few events complete a sequence, as opposed to gen_stream's worst case
 * (41 % of events completing one).  Seeded and fixed in size:
 *
 *   - 20,000 hosts (ws-00000 ... ws-19999), each with 3 ordinary processes
 *     of 5 network events each, spread over the stream's 17 hours with
 *     gaps of 1 s to 30 min:
 *       0  a browser (chrome.exe or msedge.exe from their install
 *          directories) to random public addresses on 443 or 80: matches
 *          the faithful rule's filter;
 *       1  svchost.exe to 10.x.y.z on 53 or 445: excluded by 10.0.0.0/8;
 *       2  OneDrive.exe, Teams.exe or ssh to public addresses on 443
 *          (OneDrive, Teams: they match) or 22 (ssh: not in the port list);
 *     five matching events per process never make a 10-event sequence;
 *   - 10 beaconing processes (rundll32.exe on hosts 0, 2000, ..., 18000),
 *     100 events each to one 203.0.113.x address on 443, event k at
 *     k * 600 s + 0..120 s after a start within the first 10 minutes: events 10 to 100 of each complete a sequence, 910 in all;
 *   - 301,000 events, 0.30 % of them completing a sequence under the
 *     faithful rule (process.entity_id, 10 runs, maxspan 24 h), NDJSON
 *     lines of about 460 bytes (15 ECS fields: gen_stream's without
 *     event.kind, event.dataset, network.transport and user.name).
 *
 * Events are written in time order (ties by process, then event number).
 * The completion count is measured on what is written: the generator
 * applies the rule's filter to each event's fields and counts, per
 * entity id, the events whose ninth matching predecessor is within 24 h
 * (test-fleet-stream checks it against the library's alert count). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen-stream.h"

#define SPAN_MS INT64_C(61200000)     /* 17 h */
#define T0_MS INT64_C(1732780800000)  /* 2024-11-28T08:00:00Z */
#define MAXSPAN_MS INT64_C(86400000)  /* the faithful rule's 24 h */
#define N_PROCS (GEN_FLEET_HOSTS * GEN_FLEET_PROCS_PER_HOST + GEN_FLEET_BEACONS)

static uint64_t
rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

struct slot {
    int64_t t;
    uint32_t proc; /* host * 3 + kind, or hosts * 3 + beacon */
    uint32_t k;    /* event number within the process */
};

static int
cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->proc != y->proc)
        return x->proc < y->proc ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* The faithful rule's filter on the fields gen_fleet sets (one value
 * each): network, start/connection, egress, the default port list, the
 * destination outside the five default CIDRs, a process name. */
static bool
matches(const T1071__Ecs__V1__Event *ev)
{
    static const int64_t ports[] = {80, 443, 53, 21, 25, 110, 143, 8080, 8443, 1883, 5222};
    unsigned a, b;
    bool port = false;

    if (strcmp(ev->event_category[0], "network") || strcmp(ev->network_direction[0], "egress") ||
        (strcmp(ev->event_type[0], "start") && strcmp(ev->event_type[0], "connection")) ||
        ev->n_process_name == 0)
        return false;
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        port |= ev->destination_port[0] == ports[i];
    if (!port)
        return false;
    if (sscanf(ev->destination_ip[0], "%u.%u.", &a, &b) != 2)
        return true; /* IPv6: none of the five ranges */
    return !(a == 10 || a == 127 || (a == 172 && b >= 16 && b < 32) || (a == 192 && b == 168) ||
             (a == 169 && b == 254));
}

int
gen_fleet(FILE *out, bool ndjson, uint64_t seed, struct gen_fleet_stats *st)
{
    static const char *const browsers[2][2] = {
        {"chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"},
        {"msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"}};
    static const char *const others[3][2] = {
        {"OneDrive.exe", "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe"},
        {"Teams.exe", "C:\\Program Files\\Microsoft\\Teams\\current\\Teams.exe"},
        {"ssh", "C:\\Windows\\System32\\OpenSSH\\ssh.exe"}};
    const uint64_t n = GEN_FLEET_EVENTS;
    struct slot *slots = malloc(n * sizeof(*slots));
    /* per process: the times of its last 10 matching events (a ring) */
    int64_t(*ring)[10] = calloc(N_PROCS, sizeof(*ring));
    uint32_t *ring_n = calloc(N_PROCS, sizeof(*ring_n));
    uint8_t *buf = malloc(4096);
    struct gen_fleet_stats s = {0};
    uint64_t r = seed, m = 0;
    int rc = 0;

    if (!slots || !ring || !ring_n || !buf) {
        rc = -1;
        goto out;
    }
    /* When each process's events happen. */
    for (uint32_t p = 0; p < GEN_FLEET_HOSTS * GEN_FLEET_PROCS_PER_HOST; p++) {
        int64_t t = (int64_t)(rng_next(&r) % (uint64_t)(SPAN_MS - 4 * INT64_C(1800000)));
        for (uint32_t k = 0; k < GEN_FLEET_EVENTS_PER_PROC; k++) {
            slots[m++] = (struct slot){t, p, k};
            t += 1000 + (int64_t)(rng_next(&r) % 1799000);
        }
    }
    for (uint32_t b = 0; b < GEN_FLEET_BEACONS; b++) {
        int64_t start = (int64_t)(rng_next(&r) % 600000);
        for (uint32_t k = 0; k < GEN_FLEET_BEACON_EVENTS; k++)
            slots[m++] = (struct slot){start + (int64_t)k * 600000 +
                                           (int64_t)(rng_next(&r) % 120001),
                                       GEN_FLEET_HOSTS * GEN_FLEET_PROCS_PER_HOST + b, k};
    }
    qsort(slots, n, sizeof(*slots), cmp_slot);

    for (uint64_t i = 0; i < n; i++) {
        T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
        uint32_t p = slots[i].proc, host, kind;
        uint64_t x = rng_next(&r);
        char id[32], ent[48], hostname[32], hostid[48], sip[32], ip[64], line[2048];
        char *category = (char *)"network", *dir = (char *)"egress", *ipv = ip, *entv = ent;
        char *sipv = sip, *type = (char *)(x & 1 ? "start" : "connection"), *name;
        int64_t port;
        const char *exe;

        if (p < GEN_FLEET_HOSTS * GEN_FLEET_PROCS_PER_HOST) {
            host = p / GEN_FLEET_PROCS_PER_HOST;
            kind = p % GEN_FLEET_PROCS_PER_HOST;
        } else {
            host = (p - GEN_FLEET_HOSTS * GEN_FLEET_PROCS_PER_HOST) *
                   (GEN_FLEET_HOSTS / GEN_FLEET_BEACONS);
            kind = 3;
        }
        switch (kind) {
        case 0: {
            const char *const *br = browsers[(p >> 2) & 1];
            name = (char *)br[0];
            exe = br[1];
            snprintf(ip, sizeof(ip), "%u.%u.%u.%u", 100 + (unsigned)(x >> 8) % 100,
                     (unsigned)(x >> 16) & 255, (unsigned)(x >> 24) & 255,
                     (unsigned)(x >> 32) & 255);
            port = (x >> 40) & 1 ? 443 : 80;
            break;
        }
        case 1:
            name = (char *)"svchost.exe";
            exe = "C:\\Windows\\System32\\svchost.exe";
            snprintf(ip, sizeof(ip), "10.%u.%u.%u", (unsigned)(x >> 8) & 255,
                     (unsigned)(x >> 16) & 255, (unsigned)(x >> 24) & 255);
            port = (x >> 40) & 1 ? 53 : 445;
            break;
        case 2: {
            const char *const *o = others[(p >> 2) % 3];
            name = (char *)o[0];
            exe = o[1];
            snprintf(ip, sizeof(ip), "%u.%u.%u.%u", 13 + (unsigned)(x >> 8) % 40,
                     (unsigned)(x >> 16) & 255, (unsigned)(x >> 24) & 255,
                     (unsigned)(x >> 32) & 255);
            port = o[0][0] == 's' ? 22 : 443;
            break;
        }
        default:
            name = (char *)"rundll32.exe";
            exe = "C:\\Windows\\System32\\rundll32.exe";
            snprintf(ip, sizeof(ip), "203.0.113.%u", 10 + p % 200);
            port = 443;
            break;
        }
        snprintf(id, sizeof(id), "f%" PRIu64, i);
        snprintf(ent, sizeof(ent), "{%08x-%04x-4f1c-%04x-%012" PRIx32 "}", p * 2654435761u,
                 host & 0xffff, kind, p);
        snprintf(hostname, sizeof(hostname), "ws-%05u", host);
        snprintf(hostid, sizeof(hostid), "%08x-5c1d-4e2f-8a3b-%012u", host * 2246822519u, host);
        snprintf(sip, sizeof(sip), "10.%u.%u.%u", host >> 8 & 255, host & 255, 10 + kind);
        ev.has_timestamp_ms = 1;
        ev.timestamp_ms = T0_MS + slots[i].t;
        ev.event_id = id;
        ev.n_event_category = 1;
        ev.event_category = &category;
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
        ev.host_name = hostname;
        ev.n_source_ip = 1;
        ev.source_ip = &sipv;
        ev.has_source_port = 1;
        ev.source_port = 49152 + (int64_t)((x >> 44) % 16384);
        ev.has_process_pid = 1;
        ev.process_pid = 1000 + (int64_t)(p % 60000);
        ev.process_executable = (char *)exe;
        ev.host_id = hostid;

        int len = gen_ndjson_line(&ev, line, sizeof(line));
        if (len < 0 || gen_emit(out, ndjson, &ev, buf, 4096) < 0) {
            rc = -1;
            goto out;
        }
        s.events++;
        s.ndjson_bytes += (uint64_t)len;
        if (matches(&ev)) {
            int64_t *rg = ring[p];
            s.matching++;
            /* rg holds the last min(ring_n, 10) matching times, newest at
             * (ring_n - 1) % 10; after this one is stored, the oldest of
             * the last ten sits at the next slot. */
            rg[ring_n[p] % 10] = ev.timestamp_ms;
            ring_n[p]++;
            if (ring_n[p] >= 10 && ev.timestamp_ms - rg[ring_n[p] % 10] <= MAXSPAN_MS)
                s.completing++;
        }
    }
out:
    if (st)
        *st = s;
    free(slots);
    free(ring);
    free(ring_n);
    free(buf);
    return rc == 0 && !ferror(out) ? 0 : -1;
}
