/* SPDX-License-Identifier: Apache-2.0 */
#ifndef T1071_GEN_STREAM_H
#define T1071_GEN_STREAM_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
/* Write @p n_events synthetic events over @p n_keys process keys. */
int gen_stream(FILE *out, bool ndjson, uint64_t n_events, uint32_t n_keys, uint64_t seed);
#endif
