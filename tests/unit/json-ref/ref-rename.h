/* SPDX-License-Identifier: Apache-2.0 */
/* Force-included (-include) into the frozen copies of lib/json.c and
 * lib/ecs-json.c in this directory (main @ dd7b682, before the NDJSON fast
 * path): their t1071i_* names become ref_*, so test-json-diff links the
 * old reader beside the current one and compares them.  Do not edit the
 * copies: they are the reference. */
#define t1071i_json_init ref_json_init
#define t1071i_json_fail ref_json_fail
#define t1071i_json_peek ref_json_peek
#define t1071i_json_scalar ref_json_scalar
#define t1071i_json_skip ref_json_skip
#define t1071i_json_enter ref_json_enter
#define t1071i_json_object_next ref_json_object_next
#define t1071i_json_array_next ref_json_array_next
#define t1071i_json_finish ref_json_finish
#define t1071i_json_string_decode ref_json_string_decode
#define t1071i_json_string_dup ref_json_string_dup
#define t1071i_json_number_to_int64 ref_json_number_to_int64
#define t1071i_ecs_json_to_event ref_ecs_json_to_event
#define t1071i_ecs_json_to_packed ref_ecs_json_to_packed

/* The copies predate lib/'s per-room headers: the JSON limits they read
 * from the old catch-all header (the same values as lib/input/json.h). */
#define T1071I_JSON_MAX_DEPTH 64
#define T1071I_JSON_MAX_BYTES (4u << 20)
/* ...and their two entry points' prototypes, which came from there too. */
#include <stddef.h>
#include <stdint.h>
struct T1071__Ecs__V1__Event;
int t1071i_ecs_json_to_event(const char *json, size_t len, struct T1071__Ecs__V1__Event **out,
                             char *errbuf, size_t errlen);
int t1071i_ecs_json_to_packed(const char *json, size_t len, uint64_t record_number,
                              size_t max_bytes, uint8_t **out, size_t *out_len,
                              size_t headroom);
