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
