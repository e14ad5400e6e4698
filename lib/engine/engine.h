/* SPDX-License-Identifier: Apache-2.0 */
/* What the engine shows the layer above it (lib/api/) and the unit tests.
 * Its state lives in engine-priv.h, for lib/engine/ files only. */
#ifndef T1071_ENGINE_ENGINE_H
#define T1071_ENGINE_ENGINE_H

#include <stddef.h>

#include "t1071/t1071detect.h"

#define T1071I_STAT_COUNT (T1071_STAT_EVENTS_NETWORK + 1)

/* Longest bucket chain of a context's keyed tables (0: keys, 1: hosts):
 * lets the hash-flood test measure the real tables, not a model. */
#define T1071I_HAVE_LONGEST_CHAIN 1
size_t t1071i_ctx_longest_chain(const t1071_ctx *ctx, int which);

#endif /* T1071_ENGINE_ENGINE_H */
