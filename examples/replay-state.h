/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay's exactly-once resume (README "t1071-replay", --state and
 * --output-file; issue 14).
 *
 * With each checkpoint the state file holds, after the snapshot's bytes, a
 * small position record: the input's identity (size, and a hash of its
 * first 64 KiB; none for a pipe) and how far this run got, in input lines
 * (records for --input pb) counted from the start of the file, and for a
 * time-ordered run the number of sorted records fed.  A resumed run skips
 * the lines already read (or re-reads and re-sorts the interrupted run's
 * exact range and skips the records already fed), so every event is fed
 * once.  The record ends with a magic and a checksum; a state file without
 * one (older versions) is a bare snapshot and resumes as before.
 *
 * No libt1071detect call here. */
#ifndef T1071_REPLAY_STATE_H
#define T1071_REPLAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RS_RECORD_LEN 88u
#define RS_HEAD_BYTES 65536u

struct rs_pos {
    uint64_t flags;       /* RS_F_* */
    uint64_t lines_start; /* the run's range starts after this line */
    uint64_t lines;       /* lines read (time order) or consumed (arrival) */
    uint64_t fed;         /* time order: sorted records fed */
    uint64_t size;        /* input bytes known to exist */
    uint64_t head_len;    /* bytes hashed at the start of the input */
    uint64_t head_hash;
    uint64_t out_size;    /* --output-file bytes at the checkpoint */
};

#define RS_F_COMPLETED 1u /* the input was read and fed to its end */
#define RS_F_IDENTITY 2u  /* a regular file: size and head identify it */
#define RS_F_SORTED 4u    /* time order */
#define RS_F_OUTPUT 8u    /* out_size is set */

struct rs {
    bool have_prev;        /* the state file held a position record */
    struct rs_pos prev;
    bool sorted;           /* this run feeds in time order */
    bool has_id;           /* this run's input is a regular file */
    uint64_t head_len, head_hash;
    uint64_t lines_start;  /* lines <= this are skipped */
    uint64_t stop_after;   /* 0, or lines > this are not read */
    uint64_t skip_fed;     /* sorted records to skip */
    uint64_t fed;          /* sorted records taken (skipped ones included) */
    bool completed;
    int out_fd;            /* --output-file, or -1 */
};

enum rs_line { RS_FEED, RS_SKIP, RS_STOP };

void rs_init(struct rs *s);

/* Split a state file's bytes: the snapshot's length (all of @p len when
 * there is no position record); fills s->prev. */
size_t rs_split(struct rs *s, const uint8_t *buf, size_t len);

/* Open --output-file @p path and make it stdout: truncated back to the
 * checkpointed size when the state records one, to 0 without a state;
 * appended to when an older state has no record.  -1 with a message. */
int rs_open_output(struct rs *s, const char *path, bool state_existed, const char *prog);

/* Decide where this run starts in @p in (named @p name): continue an
 * interrupted run, continue a grown file, or take a new input.  -1 with a
 * message when a run that stopped mid-input is given another input. */
int rs_begin(struct rs *s, FILE *in, const char *name, bool sorted, const char *prog);

/* Line (record) number @p n was read: feed it, skip it, or stop reading. */
enum rs_line rs_line(const struct rs *s, uint64_t n);

/* The next sorted record is taken: true when it was fed before. */
bool rs_skip_sorted(struct rs *s);

/* The position record for a checkpoint after @p lines lines; flushes and
 * fsyncs --output-file first.  -1 with errno on an output error. */
int rs_record(struct rs *s, FILE *in, uint64_t lines, uint8_t out[RS_RECORD_LEN]);

#endif
