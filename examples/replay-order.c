/* SPDX-License-Identifier: Apache-2.0 */
/* Stable external sort of encoded events by event time (replay-order.h). */
#include "replay-order.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RO_MIN_BUDGET ((size_t)1024)
#define RO_IO_BUF ((size_t)64 << 10)
#define RO_HDR 20 /* ts (8) | ord (8) | len (4), little-endian */
#define RO_MAX_RECORD UINT32_MAX
#define RO_AHEAD 4 /* records prefetched ahead of the one handed out */

/* One record in the in-memory run: its bytes are arena[off, off + len). */
struct mrec {
    int64_t ts;
    uint64_t ord;
    size_t off;
    size_t len;
};

/* A spilled, sorted run: an unlinked temporary file. */
struct frun {
    FILE *f;
    unsigned level;
};

/* A merge input: a spilled run being read back, or the in-memory run. */
struct src {
    FILE *f;            /* NULL: the in-memory run */
    size_t pos;         /* in-memory run: next index */
    int64_t ts;
    uint64_t ord;
    uint8_t *buf;       /* a file run's current record */
    size_t cap, len;
    const uint8_t *data;
};

struct ro_sorter {
    size_t budget;
    unsigned fanin;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    const uint8_t *base; /* ro_use_base(): records lie here, not in arena */
    struct mrec *idx;
    size_t n, idx_cap;
    struct frun *runs;
    size_t n_runs, runs_cap;
    bool finished;
    /* The final merge. */
    struct src *srcs;
    size_t n_srcs;
    size_t *heap;       /* indices into srcs */
    size_t heap_n;
    bool advance_top;   /* the top's record was handed out: advance it first */
    struct ro_stats st;
    char err[256];
};

static void
set_err(struct ro_sorter *s, const char *what, int e)
{
    snprintf(s->err, sizeof(s->err), "%s: %s", what, strerror(e));
}

struct ro_sorter *
ro_new(size_t mem_budget, unsigned fanin)
{
    struct ro_sorter *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->budget = mem_budget < RO_MIN_BUDGET ? RO_MIN_BUDGET : mem_budget;
    s->fanin = fanin < RO_MIN_FANIN ? RO_MIN_FANIN : fanin;
    return s;
}

static void
src_close(struct src *c)
{
    if (c->f)
        fclose(c->f);
    free(c->buf);
    memset(c, 0, sizeof(*c));
}

void
ro_free(struct ro_sorter *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_srcs; i++)
        src_close(&s->srcs[i]);
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].f)
            fclose(s->runs[i].f);
    free(s->srcs);
    free(s->heap);
    free(s->runs);
    free(s->idx);
    free(s->arena);
    free(s);
}

const char *
ro_error(const struct ro_sorter *s)
{
    return s && s->err[0] ? s->err : "no error";
}

void
ro_get_stats(const struct ro_sorter *s, struct ro_stats *st)
{
    *st = s->st;
}

static int
mrec_cmp(const void *a, const void *b)
{
    const struct mrec *x = a, *y = b;

    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Sort the in-memory run by (time, order).  Most inputs arrive in time
 * order already (a file a shipper wrote as events came): one pass checks
 * that and skips qsort, whose result on sorted input is the same array. */
static void
sort_run(struct ro_sorter *s)
{
    size_t i = 1;

    while (i < s->n && mrec_cmp(&s->idx[i - 1], &s->idx[i]) <= 0)
        i++;
    if (i < s->n) /* qsort: the array must not be NULL, even when empty */
        qsort(s->idx, s->n, sizeof(*s->idx), mrec_cmp);
}

/* Where the in-memory run's record offsets point. */
static inline const uint8_t *
rec_base(const struct ro_sorter *s)
{
    return s->base ? s->base : s->arena;
}

static size_t
mem_used(const struct ro_sorter *s)
{
    return s->arena_cap + s->idx_cap * sizeof(struct mrec);
}

/* ===== Temporary files ===== */

static FILE *
spill_file(struct ro_sorter *s)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;
    FILE *f;

    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(path, sizeof(path), "%s/t1071-replay-sort-XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0) {
        int e = errno;
        snprintf(s->err, sizeof(s->err), "creating a sort file in %s: %s", dir, strerror(e));
        return NULL;
    }
    unlink(path); /* gone from the directory; the space is freed at fclose */
    f = fdopen(fd, "w+b");
    if (!f) {
        set_err(s, "opening a sort file", errno);
        close(fd);
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, RO_IO_BUF);
    return f;
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static int
write_rec(struct ro_sorter *s, FILE *f, int64_t ts, uint64_t ord, const uint8_t *d, size_t len)
{
    uint8_t h[RO_HDR];

    put_le(h, (uint64_t)ts, 8);
    put_le(h + 8, ord, 8);
    put_le(h + 16, len, 4);
    if (fwrite(h, 1, RO_HDR, f) != RO_HDR || (len && fwrite(d, 1, len, f) != len)) {
        set_err(s, "writing a sort file (set TMPDIR to a roomier place, or raise --sort-memory)",
                errno ? errno : EIO);
        return -1;
    }
    s->st.bytes_spilled += RO_HDR + len;
    return 0;
}

/* Ready a written run for reading from its start. */
static int
rewind_run(struct ro_sorter *s, FILE *f)
{
    if (fflush(f) != 0 || ferror(f)) {
        set_err(s, "writing a sort file (set TMPDIR to a roomier place, or raise --sort-memory)",
                errno ? errno : EIO);
        return -1;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        set_err(s, "rewinding a sort file", errno);
        return -1;
    }
    return 0;
}

/* ===== Merging ===== */

/* Load a source's next record.  1, 0 at its end, -1 on error. */
static int
src_next(struct ro_sorter *s, struct src *c)
{
    if (!c->f) {
        const struct mrec *m;
        if (c->pos >= s->n)
            return 0;
        m = &s->idx[c->pos++];
        if (c->pos + RO_AHEAD < s->n) {
            /* The records were written long ago: start loading one a few
             * places ahead while the engine works on this one. */
            const struct mrec *a = &s->idx[c->pos + RO_AHEAD];
            for (size_t o = 0; o < a->len; o += 64)
                __builtin_prefetch(rec_base(s) + a->off + o);
        }
        c->ts = m->ts;
        c->ord = m->ord;
        c->data = rec_base(s) + m->off;
        c->len = m->len;
        return 1;
    }
    uint8_t h[RO_HDR];
    size_t got = fread(h, 1, RO_HDR, c->f);
    if (got == 0 && feof(c->f))
        return 0;
    if (got != RO_HDR) {
        snprintf(s->err, sizeof(s->err), "reading a sort file: %s",
                 ferror(c->f) ? strerror(errno) : "cut short");
        return -1;
    }
    c->ts = (int64_t)get_le(h, 8);
    c->ord = get_le(h + 8, 8);
    c->len = (size_t)get_le(h + 16, 4);
    if (c->len > c->cap) {
        uint8_t *nb = realloc(c->buf, c->len);
        if (!nb) {
            set_err(s, "reading a sort file", ENOMEM);
            return -1;
        }
        c->buf = nb;
        c->cap = c->len;
    }
    if (c->len && fread(c->buf, 1, c->len, c->f) != c->len) {
        snprintf(s->err, sizeof(s->err), "reading a sort file: %s",
                 ferror(c->f) ? strerror(errno) : "cut short");
        return -1;
    }
    c->data = c->buf;
    return 1;
}

static bool
src_less(const struct src *a, const struct src *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->ord < b->ord);
}

static void
sift_down(const struct src *srcs, size_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && src_less(&srcs[heap[l]], &srcs[heap[m]]))
            m = l;
        if (l + 1 < n && src_less(&srcs[heap[l + 1]], &srcs[heap[m]]))
            m = l + 1;
        if (m == i)
            return;
        size_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* Set up a heap over srcs[0..n): load each one's first record. */
static int
heap_build(struct ro_sorter *s, struct src *srcs, size_t n, size_t *heap, size_t *heap_n)
{
    *heap_n = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = src_next(s, &srcs[i]);
        if (rc < 0)
            return -1;
        if (rc > 0)
            heap[(*heap_n)++] = i;
    }
    for (size_t i = *heap_n / 2; i-- > 0;)
        sift_down(srcs, heap, *heap_n, i);
    return 0;
}

/* Advance the top source and restore the heap. */
static int
heap_advance(struct ro_sorter *s, struct src *srcs, size_t *heap, size_t *heap_n)
{
    int rc = src_next(s, &srcs[heap[0]]);

    if (rc < 0)
        return -1;
    if (rc == 0)
        heap[0] = heap[--*heap_n];
    sift_down(srcs, heap, *heap_n, 0);
    return 0;
}

/* Merge the last @p k spilled runs into one run of level @p level. */
static int
merge_tail(struct ro_sorter *s, size_t k, unsigned level)
{
    size_t first = s->n_runs - k, heap_n = 0;
    struct src *srcs = calloc(k, sizeof(*srcs));
    size_t *heap = calloc(k, sizeof(*heap));
    FILE *out = NULL;
    int rc = -1;

    if (!srcs || !heap) {
        set_err(s, "merging sorted runs", ENOMEM);
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        srcs[i].f = s->runs[first + i].f;
        s->runs[first + i].f = NULL;
    }
    out = spill_file(s);
    if (!out || heap_build(s, srcs, k, heap, &heap_n) != 0)
        goto done;
    while (heap_n > 0) {
        const struct src *c = &srcs[heap[0]];
        if (write_rec(s, out, c->ts, c->ord, c->data, c->len) != 0 ||
            heap_advance(s, srcs, heap, &heap_n) != 0)
            goto done;
    }
    if (rewind_run(s, out) != 0)
        goto done;
    s->n_runs = first;
    s->runs[s->n_runs].f = out;
    s->runs[s->n_runs].level = level;
    s->n_runs++;
    s->st.runs_spilled++;
    s->st.merges++;
    out = NULL;
    rc = 0;
done:
    if (srcs)
        for (size_t i = 0; i < k; i++)
            src_close(&srcs[i]);
    if (rc != 0) {
        /* The runs were taken over by srcs and are closed: forget them. */
        s->n_runs = first;
    }
    if (out)
        fclose(out);
    free(srcs);
    free(heap);
    return rc;
}

/* Sort the in-memory run and write it out as a level-0 run; then merge
 * every level that holds fanin runs into one run of the next level. */
static int
spill(struct ro_sorter *s)
{
    FILE *f;

    if (s->n_runs == s->runs_cap) {
        size_t nc = s->runs_cap ? s->runs_cap * 2 : 8;
        struct frun *nr = realloc(s->runs, nc * sizeof(*nr));
        if (!nr) {
            set_err(s, "spilling a sorted run", ENOMEM);
            return -1;
        }
        s->runs = nr;
        s->runs_cap = nc;
    }
    sort_run(s);
    f = spill_file(s);
    if (!f)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        const struct mrec *m = &s->idx[i];
        if (write_rec(s, f, m->ts, m->ord, rec_base(s) + m->off, m->len) != 0) {
            fclose(f);
            return -1;
        }
    }
    if (rewind_run(s, f) != 0) {
        fclose(f);
        return -1;
    }
    s->runs[s->n_runs].f = f;
    s->runs[s->n_runs].level = 0;
    s->n_runs++;
    s->st.runs_spilled++;
    s->n = 0;
    s->arena_len = 0;
    /* Runs are kept in non-increasing level order, so a full level is
     * always the tail of the array. */
    for (;;) {
        size_t k = 0;
        unsigned level = s->runs[s->n_runs - 1].level;
        while (k < s->n_runs && s->runs[s->n_runs - 1 - k].level == level)
            k++;
        if (k < s->fanin)
            return 0;
        if (merge_tail(s, k, level + 1) != 0)
            return -1;
    }
}

/* A capacity of at least @p need, doubling from @p cap, kept within
 * @p room when @p need fits in it. */
static size_t
grow_to(size_t cap, size_t need, size_t first, size_t room)
{
    size_t nc = cap ? cap : first;

    if (need > room)
        return need; /* over the budget: only what is needed (held alone) */
    while (nc < need)
        nc *= 2;
    return nc > room ? room : nc;
}

int
ro_add(struct ro_sorter *s, int64_t ts, uint64_t ord, const void *data, size_t len)
{
    const size_t rs = sizeof(struct mrec);

    if (s->finished || s->base) {
        snprintf(s->err, sizeof(s->err), s->base ? "record added out of turn" : "record added after the end");
        return -1;
    }
    if (len > RO_MAX_RECORD) {
        set_err(s, "a record for the sort", EFBIG);
        return -1;
    }
    for (;;) {
        size_t icap = s->idx_cap, acap = s->arena_cap;
        if (s->n == icap)
            icap = grow_to(icap, s->n + 1, 64,
                           (acap < s->budget - s->budget / 4 ? s->budget / 4 : s->budget - acap) / rs);
        if (s->arena_len + len > acap)
            acap = grow_to(acap, s->arena_len + len, 4096,
                           s->budget > icap * rs ? s->budget - icap * rs : 0);
        if (acap == s->arena_cap && icap == s->idx_cap)
            break;
        /* Growing past the budget with something held: spill it and
         * reuse the space (a record larger than the budget is held alone). */
        if (s->n > 0 && acap + icap * rs > s->budget) {
            if (spill(s) != 0)
                return -1;
            continue;
        }
        if (acap != s->arena_cap) {
            uint8_t *na = realloc(s->arena, acap);
            if (!na) {
                set_err(s, "holding records for the sort (lower --sort-memory)", ENOMEM);
                return -1;
            }
            s->arena = na;
            s->arena_cap = acap;
        }
        if (icap != s->idx_cap) {
            struct mrec *ni = realloc(s->idx, icap * rs);
            if (!ni) {
                set_err(s, "holding records for the sort (lower --sort-memory)", ENOMEM);
                return -1;
            }
            s->idx = ni;
            s->idx_cap = icap;
        }
        break;
    }
    if (len)
        memcpy(s->arena + s->arena_len, data, len);
    s->idx[s->n].ts = ts;
    s->idx[s->n].ord = ord;
    s->idx[s->n].off = s->arena_len;
    s->idx[s->n].len = len;
    s->n++;
    s->arena_len += len;
    s->st.records++;
    if (mem_used(s) > s->st.mem_peak)
        s->st.mem_peak = mem_used(s);
    return 0;
}

void
ro_use_base(struct ro_sorter *s, const uint8_t *base)
{
    s->base = base;
}

int
ro_add_at(struct ro_sorter *s, int64_t ts, uint64_t ord, size_t off, size_t len)
{
    const size_t rs = sizeof(struct mrec);

    if (s->finished || !s->base || s->arena_len) {
        snprintf(s->err, sizeof(s->err), "record added out of turn");
        return -1;
    }
    if (len > RO_MAX_RECORD) {
        set_err(s, "a record for the sort", EFBIG);
        return -1;
    }
    while (s->n == s->idx_cap) {
        size_t icap = grow_to(s->idx_cap, s->n + 1, 64, s->budget / rs);
        if (s->n > 0 && icap * rs > s->budget) {
            if (spill(s) != 0) /* the index is full: sort it out to disk */
                return -1;
            continue;
        }
        struct mrec *ni = realloc(s->idx, icap * rs);
        if (!ni) {
            set_err(s, "holding records for the sort (lower --sort-memory)", ENOMEM);
            return -1;
        }
        s->idx = ni;
        s->idx_cap = icap;
    }
    s->idx[s->n].ts = ts;
    s->idx[s->n].ord = ord;
    s->idx[s->n].off = off;
    s->idx[s->n].len = len;
    s->n++;
    s->st.records++;
    if (mem_used(s) > s->st.mem_peak)
        s->st.mem_peak = mem_used(s);
    return 0;
}

int
ro_finish(struct ro_sorter *s)
{
    if (s->finished) {
        snprintf(s->err, sizeof(s->err), "finished twice");
        return -1;
    }
    s->finished = true;
    sort_run(s);
    /* At most fanin inputs to the final merge, the in-memory run being
     * one: merge the newest (smallest) runs together until they fit. */
    while (s->n_runs + 1 > s->fanin) {
        size_t k = s->n_runs + 2 - s->fanin; /* k runs become 1 */
        if (k < 2)
            k = 2;
        if (k > s->fanin)
            k = s->fanin;
        if (merge_tail(s, k, s->runs[s->n_runs - k].level + 1) != 0)
            return -1;
    }
    s->n_srcs = s->n_runs + 1;
    s->srcs = calloc(s->n_srcs, sizeof(*s->srcs));
    s->heap = calloc(s->n_srcs, sizeof(*s->heap));
    if (!s->srcs || !s->heap) {
        set_err(s, "merging sorted runs", ENOMEM);
        return -1;
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        s->srcs[i].f = s->runs[i].f;
        s->runs[i].f = NULL;
    }
    s->n_runs = 0;
    return heap_build(s, s->srcs, s->n_srcs, s->heap, &s->heap_n);
}

int
ro_next(struct ro_sorter *s, int64_t *ts, uint64_t *ord, const uint8_t **data, size_t *len)
{
    if (!s->finished || !s->srcs) {
        snprintf(s->err, sizeof(s->err), "records read before the end of input");
        return -1;
    }
    if (s->advance_top) {
        s->advance_top = false;
        if (heap_advance(s, s->srcs, s->heap, &s->heap_n) != 0)
            return -1;
    }
    if (s->heap_n == 0)
        return 0;
    const struct src *c = &s->srcs[s->heap[0]];
    *ts = c->ts;
    *ord = c->ord;
    *data = c->data;
    *len = c->len;
    s->advance_top = true;
    return 1;
}

/* ===== The event time of a packed Event ===== */

static inline bool
varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t x = 0;

    if (*i < n && p[*i] < 0x80) { /* keys and lengths: one byte */
        *v = p[(*i)++];
        return true;
    }
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return false;
        uint8_t b = p[(*i)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

bool
ro_event_time(const uint8_t *pb, size_t len, int64_t *ts)
{
    size_t i = 0;
    bool found = false;

    while (i < len) {
        uint64_t tag, v;
        if (!varint(pb, len, &i, &tag))
            break;
        switch (tag & 7) {
        case 0:
            if (!varint(pb, len, &i, &v))
                return found;
            if (tag >> 3 == 1) {
                *ts = (int64_t)v;
                found = true;
            }
            break;
        case 1:
            if (len - i < 8)
                return found;
            i += 8;
            break;
        case 2:
            if (!varint(pb, len, &i, &v) || v > len - i)
                return found;
            i += (size_t)v;
            break;
        case 5:
            if (len - i < 4)
                return found;
            i += 4;
            break;
        default:
            return found; /* groups and bad wire types: the decoder refuses it */
        }
    }
    return found;
}

bool
ro_parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    if (!strcmp(end, "") || !strcmp(end, "B"))
        shift = 0;
    else if (!strcmp(end, "KiB"))
        shift = 10;
    else if (!strcmp(end, "MiB"))
        shift = 20;
    else if (!strcmp(end, "GiB"))
        shift = 30;
    else
        return false;
    if (v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)v << shift;
    return true;
}
