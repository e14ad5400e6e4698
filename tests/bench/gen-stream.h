/* SPDX-License-Identifier: Apache-2.0 */
#ifndef T1071_GEN_STREAM_H
#define T1071_GEN_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ecs.pb-c.h"

/* Write @p n_events synthetic events over @p n_keys process keys. */
int gen_stream(FILE *out, bool ndjson, uint64_t n_events, uint32_t n_keys, uint64_t seed);

/* One event as an NDJSON line (newline included) or a length-delimited
 * protobuf record; see gen-stream.c. */
long gen_emit(FILE *out, bool ndjson, const T1071__Ecs__V1__Event *ev, uint8_t *buf, size_t cap);
int gen_ndjson_line(const T1071__Ecs__V1__Event *ev, char *line, size_t cap);

/* The fleet stream (gen-fleet.c): fleet-shaped endpoint traffic, fixed
 * size (GEN_FLEET_EVENTS events on GEN_FLEET_HOSTS hosts). */
#define GEN_FLEET_HOSTS 20000u
#define GEN_FLEET_PROCS_PER_HOST 3u   /* ordinary processes per host */
#define GEN_FLEET_EVENTS_PER_PROC 5u  /* events per ordinary process */
#define GEN_FLEET_BEACONS 10u         /* beaconing processes (hosts 0, 2000, ...) */
#define GEN_FLEET_BEACON_EVENTS 100u  /* events per beaconing process */
#define GEN_FLEET_EVENTS                                                                  \
    ((uint64_t)GEN_FLEET_HOSTS * GEN_FLEET_PROCS_PER_HOST * GEN_FLEET_EVENTS_PER_PROC +   \
     (uint64_t)GEN_FLEET_BEACONS * GEN_FLEET_BEACON_EVENTS)

struct gen_fleet_stats {
    uint64_t events;      /* events written */
    uint64_t matching;    /* events the faithful rule's filter keeps */
    uint64_t completing;  /* events that complete a sequence (10 matching
                             events of one process.entity_id within 24 h) */
    uint64_t ndjson_bytes; /* total length of the NDJSON lines (newlines
                              included), whatever the output format */
};

/* Write the fleet stream; @p st (may be NULL) gets what it measured. */
int gen_fleet(FILE *out, bool ndjson, uint64_t seed, struct gen_fleet_stats *st);
#endif
