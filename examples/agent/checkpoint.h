/* SPDX-License-Identifier: Apache-2.0 */
/* Where the fleet agent keeps a partition's checkpoint (issue 15).
 *
 * A checkpoint is the partition context's snapshot (t1071_snapshot bytes,
 * opaque here) and the offset of the next record to consume.  A store makes
 * the pair durable in one step (a file renamed into place after fsync, one
 * Redis SET): a reader sees the old pair or the new one, never a mix.  The
 * agent commits the offset to Kafka only after put() returned 0.
 * The store does not judge the snapshot: t1071_restore verifies it
 * (checksum, bounds) like any other restore input. */
#ifndef T1071_AGENT_CHECKPOINT_H
#define T1071_AGENT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

struct t1071a_ckpt_ops {
    /* 0: durable; -1: not stored (err says why, never a secret). */
    int (*put)(void *impl, const char *group, const char *topic, int32_t partition,
               const void *snap, size_t len, int64_t next_offset, char *err, size_t errlen);
    /* 1: found (*snap is malloc'd, the caller frees it); 0: none; -1: error
     * (the store could not be read, or the record's own framing is bad). */
    int (*get)(void *impl, const char *group, const char *topic, int32_t partition,
               void **snap, size_t *len, int64_t *next_offset, char *err, size_t errlen);
    void (*close)(void *impl);
};

struct t1071a_ckpt_store {
    const struct t1071a_ckpt_ops *ops;
    void *impl;
};

#endif
