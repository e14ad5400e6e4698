/* SPDX-License-Identifier: Apache-2.0 */
/* A msgpack reader behind the JSON reader's interface (lib/input/msgpack.c).
 * Internal, never installed.
 *
 * The record mapping (lib/input/ecs-json.c, lib/input/shapes.c) walks a
 * struct t1071i_json_reader.  A reader started with t1071i_mp_start() reads
 * one msgpack map instead of JSON text and yields the same scalars the JSON
 * reader yields for the same record written as JSON, so every shape (ECS,
 * Suricata EVE, Sysmon, Zeek) is read by the one table, never a copy:
 *
 *   nil                 -> null
 *   false, true         -> false, true
 *   integers            -> a number, its decimal text ("443", "-7")
 *   float32, float64    -> a number, the shortest text that reads back to
 *                          the same value ("0.1", "443" for 443.0); NaN
 *                          and infinities -> null (JSON has neither)
 *   str, bin            -> a string of those bytes, as they are (a NUL and
 *                          invalid UTF-8 decode to U+FFFD, as the JSON
 *                          reader decodes "\u0000" and bad bytes)
 *   ext                 -> null
 *   map, array          -> object, array; map keys must be str, bin or an
 *                          integer (its decimal text)
 *
 * Bounds: the whole record is at most T1071I_JSON_MAX_BYTES (the caller
 * checks), every length is checked against the bytes left, containers nest
 * at most T1071I_JSON_MAX_DEPTH deep, nothing recurses.  Errors stop the
 * reader like JSON errors (err_msg, err_off = the byte offset). */
#ifndef T1071_INPUT_MSGPACK_H
#define T1071_INPUT_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "input/event.h"
#include "input/json.h"

/* Text of the numbers read so far (a walk may keep scalars: shapes.c):
 * a small block inside the state, then heap chunks. */
struct t1071i_mp_chunk;

struct t1071i_mp_state {
    const char *data;                          /* the map's bytes */
    size_t len;
    uint32_t left[T1071I_JSON_MAX_DEPTH];      /* entries left per open container */
    struct t1071i_mp_chunk *chunks;            /* heap text, newest first */
    char *text;                                /* current text block */
    size_t text_used, text_cap;
    char first[1024];
};

/* Start (or start again from the first byte) reader @p r on @p st's bytes.
 * Number texts of an earlier walk are dropped. */
void t1071i_mp_start(struct t1071i_json_reader *r, struct t1071i_mp_state *st,
                     const void *data, size_t len);
void t1071i_mp_restart(struct t1071i_json_reader *r);
/* Free the heap text of @p st (the state itself is the caller's). */
void t1071i_mp_release(struct t1071i_mp_state *st);

/* One msgpack map (the same mapping as the JSON entry points) straight to
 * the packed Event, as t1071i_json_to_packed_as (input/shapes.h) does for
 * JSON text.  Bad msgpack is T1071_E_JSON (errbuf, when given, says what
 * and at which byte); T1071_E_TOO_LARGE over T1071I_JSON_MAX_BYTES or
 * @p max_bytes packed; T1071_E_NOMEM. */
int t1071i_msgpack_to_packed_as(const void *data, size_t len, int source,
                                uint64_t record_number, size_t max_bytes, uint8_t **out,
                                size_t *out_len, size_t headroom, char *errbuf, size_t errlen);

/* The same reading into an Event that lives in a scratch arena for the
 * call of @p fn only (nothing may keep or edit it): no packing, no malloc
 * per field.  The packed size is still held to @p max_bytes
 * (T1071_E_TOO_LARGE).  Returns a reading error, or what @p fn returns. */
int t1071i_msgpack_with_event(const void *data, size_t len, int source, size_t max_bytes,
                              int (*fn)(void *arg, const t1071i_event *ev), void *arg,
                              char *errbuf, size_t errlen);

#endif
