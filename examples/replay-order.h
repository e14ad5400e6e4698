/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay's time order for a finite input (README "t1071-replay",
 * "Time"): a stable external sort of encoded events by event time.
 *
 * Records (event time, ordinal, bytes) go in in any order; they come out
 * sorted by (time, ordinal).  The CLI's ordinal is the line (or record)
 * number, so ties keep line order: the result is the input stably sorted
 * by event time.  Up to @p mem_budget bytes of records are held and sorted
 * in memory; past it each sorted run is spilled to an unlinked temporary
 * file (in $TMPDIR, else /tmp) and the runs are merged at the end, at most
 * @p fanin at a time (runs are merged level by level as in an LSM tree, so
 * the number of open runs never exceeds @p fanin).  Memory: the budget,
 * plus one record when a single record is larger than the budget, plus
 * for each of at most @p fanin open runs a stdio buffer (64 KiB) and its
 * largest record.  Disk: the encoded events once per merge level.
 *
 * No libt1071detect call here: the fuzz target (tests/fuzz/fuzz_order.c)
 * and unit test link this file alone. */
#ifndef T1071_REPLAY_ORDER_H
#define T1071_REPLAY_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RO_DEFAULT_BUDGET ((size_t)256 << 20)
#define RO_DEFAULT_FANIN 16u
#define RO_MIN_FANIN 2u

struct ro_sorter;

struct ro_stats {
    uint64_t records;       /* records added */
    uint64_t runs_spilled;  /* sorted runs written to disk (merge outputs included) */
    uint64_t bytes_spilled; /* bytes written to disk */
    uint64_t merges;        /* intermediate merges (fan-in reached) */
    size_t mem_peak;        /* most bytes of records held in memory at once */
};

/* A sorter holding at most @p mem_budget bytes of records in memory (at
 * least 1 KiB is used) and merging at most @p fanin runs at once (at least
 * RO_MIN_FANIN).  NULL on allocation failure. */
struct ro_sorter *ro_new(size_t mem_budget, unsigned fanin);
void ro_free(struct ro_sorter *s);

/* Add one record (copied).  Not after ro_finish().  Returns 0, or -1 with
 * ro_error() saying why (out of memory, a temporary file not written). */
int ro_add(struct ro_sorter *s, int64_t ts, uint64_t ord, const void *data, size_t len);

/* Records that lie in memory the caller keeps mapped until ro_free()
 * (a regular input file mapped whole): after ro_use_base(), add them with
 * ro_add_at() as offsets from @p base; they are not copied, and only
 * their index counts against the budget.  Not mixed with ro_add(). */
void ro_use_base(struct ro_sorter *s, const uint8_t *base);
int ro_add_at(struct ro_sorter *s, int64_t ts, uint64_t ord, size_t off, size_t len);

/* No more records: sort what is in memory and open the merge.  0 or -1. */
int ro_finish(struct ro_sorter *s);

/* The next record in (ts, ord) order: 1 and the record (data valid until
 * the next call), 0 at the end, -1 on a read error (ro_error()). */
int ro_next(struct ro_sorter *s, int64_t *ts, uint64_t *ord, const uint8_t **data, size_t *len);

const char *ro_error(const struct ro_sorter *s);
void ro_get_stats(const struct ro_sorter *s, struct ro_stats *st);

/* The event time of a length-delimited stream's record body: the packed
 * t1071.ecs.v1.Event's timestamp_ms (field 1; the last one wins, as when
 * protobuf decodes it).  false when the record has none or is cut before
 * it is found; the engine then refuses the record, wherever it is fed. */
bool ro_event_time(const uint8_t *pb, size_t len, int64_t *ts);

/* "256MiB", "64KiB", "1GiB", "4096B" or a bare number of bytes (the
 * units of engine.memory_limit).  false when @p s is not one. */
bool ro_parse_size(const char *s, size_t *out);

#endif
