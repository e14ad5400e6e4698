/* SPDX-License-Identifier: Apache-2.0 */
/* The file backend of the checkpoint store (checkpoint.h): one file per
 * (group, topic, partition) in a directory. */
#ifndef T1071_AGENT_CHECKPOINT_FILE_H
#define T1071_AGENT_CHECKPOINT_FILE_H

#include <stddef.h>

#include "checkpoint.h"

/* Record framing (little-endian), 40 bytes then the snapshot:
 *   "T1071CKP" | u32 version (1) | i32 partition | i64 next_offset |
 *   u64 snapshot length | u64 FNV-1a 64 of bytes 0..32 and the snapshot.
 * A file is written to "<name>.tmp.<pid>", fsync'ed, renamed over
 * "<name>", and the directory fsync'ed.  Names: "<group>.<topic>.<P>.ckpt"
 * with every byte outside [A-Za-z0-9_-] of group and topic written %XX. */
#define T1071A_CKPT_FILE_MAGIC "T1071CKP"
#define T1071A_CKPT_FILE_VERSION 1u
#define T1071A_CKPT_FILE_HEADER 40u

/* Opens (creates, mode 0700, when missing) the directory @p dir.  0, or -1
 * with @p err filled. */
int t1071a_ckpt_file_open(const char *dir, struct t1071a_ckpt_store *out, char *err,
                          size_t errlen);

#endif
