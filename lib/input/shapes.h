/* SPDX-License-Identifier: Apache-2.0 */
/* Raw input shapes read per record by the JSON entry points (lib/input/shapes.c):
 * Sysmon as NXLog or Winlogbeat 6.x/7.x write it without the ECS mapping,
 * and Zeek conn logs as JSON.  lib/ecs-json.c walks every record as ECS
 * first; when that walk saw the keys of a raw shape (and, in auto mode, the
 * record carries no ECS network mapping of its own), the record is read
 * again here into a fresh Event.  The engine counts every record by shape
 * (t1071i_shape_account).  Internal, never installed. */
#ifndef T1071_INPUT_SHAPES_H
#define T1071_INPUT_SHAPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/event.h"

/* input.source: which shape a JSON record is read as. */
enum t1071i_source {
    T1071I_SOURCE_AUTO = 0, /* per record: ECS, EVE, Sysmon, Zeek */
    T1071I_SOURCE_ECS,      /* ECS only */
    T1071I_SOURCE_SYSMON,   /* raw Sysmon only */
    T1071I_SOURCE_ZEEK,     /* Zeek JSON only */
    T1071I_SOURCE_SURICATA  /* Suricata EVE only */
};

/* The source named @p name ("auto", "ecs", "sysmon", "zeek", "suricata");
 * -1 when unknown. */
int t1071i_source_parse(const char *name);
const char *t1071i_source_name(int source);

/* Top-level keys the ECS walk noticed that hint at a raw shape. */
#define T1071I_HINT_SYSMON 1u /* EventID, event_id, event_data, winlog */
#define T1071I_HINT_ZEEK 2u   /* id.orig_h, id_orig_h, id (object), ts */

/* The hint bits of one top-level key (0 for most keys). */
unsigned t1071i_shape_hint(const char *key, size_t n);

/* What the record is read as after the ECS walk. */
enum t1071i_shape_pick {
    T1071I_PICK_ECS = 0,      /* keep the ECS walk's event */
    T1071I_PICK_EVE,          /* read again as Suricata EVE */
    T1071I_PICK_RAW           /* read again here (Sysmon or Zeek) */
};

/* Decide from the source, the hints and what the ECS walk found:
 * @p timestamp (a top-level "@timestamp" key), @p eve (EVE's keys and no
 * "@timestamp"), @p ecs_network (the walk set event.category or
 * destination.ip: the record is already ECS-mapped). */
enum t1071i_shape_pick t1071i_shape_pick(int source, unsigned hints, bool timestamp, bool eve,
                                         bool ecs_network);

/* Allocation for the Event built here: the ECS reader's (malloc, or its
 * arena).  alloc returns NULL when out of memory. */
struct t1071i_shape_mem {
    void *(*alloc)(void *m, size_t n);
    void (*free)(void *m, void *p);   /* a no-op in an arena */
    void *m;
};

/* Read @p json (already validated by the ECS walk) as raw Sysmon or Zeek
 * (@p source AUTO: whichever its keys say; SYSMON / ZEEK: that one) into a
 * fresh Event in *out.  A record of neither shape: with a forced source, an
 * Event with input_shape "unrecognised"; in auto mode *out stays NULL (the
 * caller keeps its ECS reading, byte for byte).  Returns T1071_OK, T1071_E_JSON,
 * T1071_E_NOMEM. */
int t1071i_shape_read(const char *json, size_t len, int source,
                      const struct t1071i_shape_mem *mem, T1071__Ecs__V1__Event **out);

/* The same from a reader at the record's start (a msgpack reader:
 * input/msgpack.h). */
struct t1071i_json_reader;
int t1071i_shape_read_reader(struct t1071i_json_reader *r, int source,
                             const struct t1071i_shape_mem *mem, T1071__Ecs__V1__Event **out);

/* Count @p ev by shape in @p stats (T1071I_STAT_COUNT counters); true when
 * the record is passed over (not a network event of a raw shape): counted,
 * not processed, not an error. */
bool t1071i_shape_account(uint64_t *stats, const T1071__Ecs__V1__Event *ev);

/* What a record of @p ev's shape lacks when it has no time ("no
 * @timestamp", "Sysmon record without UtcTime", ...). */
const char *t1071i_shape_no_time(const T1071__Ecs__V1__Event *ev);

/* lib/ecs-json.c's readers with input.source @p source (the plain ones
 * in input/ecs-json.h read with T1071I_SOURCE_AUTO). */
int t1071i_json_to_event_as(const char *json, size_t len, int source,
                            T1071__Ecs__V1__Event **out, char *errbuf, size_t errlen);
int t1071i_json_to_packed_as(const char *json, size_t len, int source,
                             uint64_t record_number, size_t max_bytes, uint8_t **out,
                             size_t *out_len, size_t headroom);

#endif
