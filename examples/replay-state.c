/* SPDX-License-Identifier: Apache-2.0 */
/* t1071-replay's exactly-once resume: see replay-state.h. */
#include "replay-state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout (little-endian u64s): version, the eight rs_pos fields, a
 * checksum of those nine, then the magic. */
static const uint8_t magic[8] = {'t', '1', '0', '7', '1', 'R', 'S', '\n'};
#define RS_VERSION 1u

static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV0 0xcbf29ce484222325ull

static void
put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void
rs_init(struct rs *s)
{
    memset(s, 0, sizeof(*s));
    s->out_fd = -1;
}

size_t
rs_split(struct rs *s, const uint8_t *buf, size_t len)
{
    const uint8_t *r;
    uint64_t f[9];

    s->have_prev = false;
    if (len < RS_RECORD_LEN || memcmp(buf + len - 8, magic, 8) != 0)
        return len;
    r = buf + len - RS_RECORD_LEN;
    if (get64(r + 72) != fnv(FNV0, r, 72))
        return len;
    for (int i = 0; i < 9; i++)
        f[i] = get64(r + 8 * i);
    if (f[0] != RS_VERSION)
        return len;
    s->prev = (struct rs_pos){f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
    s->have_prev = true;
    return len - RS_RECORD_LEN;
}

int
rs_open_output(struct rs *s, const char *path, bool state_existed, const char *prog)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    off_t keep = 0;

    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: --output-file %s: %s\n", prog, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (s->have_prev && (s->prev.flags & RS_F_OUTPUT)) {
        if ((uint64_t)st.st_size < s->prev.out_size) {
            fprintf(stderr,
                    "%s: --output-file %s holds %lld bytes but the state's checkpoint wrote "
                    "%" PRIu64 "; it was changed outside this command\n",
                    prog, path, (long long)st.st_size, s->prev.out_size);
            close(fd);
            return -1;
        }
        keep = (off_t)s->prev.out_size;
    } else if (state_existed) {
        keep = st.st_size; /* a state without a record: append */
    }
    if ((S_ISREG(st.st_mode) && ftruncate(fd, keep) != 0) || lseek(fd, 0, SEEK_END) < 0) {
        fprintf(stderr, "%s: --output-file %s: %s\n", prog, path, strerror(errno));
        close(fd);
        return -1;
    }
    /* Nothing is written to stdout yet (its buffer is set up after this). */
    if (dup2(fd, STDOUT_FILENO) < 0) {
        fprintf(stderr, "%s: --output-file %s: %s\n", prog, path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    s->out_fd = STDOUT_FILENO;
    return 0;
}

/* Hash the first @p n bytes of @p fd (from offset 0); false when fewer. */
static bool
head_hash(int fd, uint64_t n, uint64_t *h)
{
    uint8_t buf[8192];
    uint64_t off = 0;

    *h = FNV0;
    while (off < n) {
        size_t want = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        *h = fnv(*h, buf, (size_t)got);
        off += (uint64_t)got;
    }
    return true;
}

int
rs_begin(struct rs *s, FILE *in, const char *name, bool sorted, const char *prog)
{
    const struct rs_pos *p = &s->prev;
    struct stat st;
    int fd = fileno(in);
    bool same = false, mid;

    s->sorted = sorted;
    s->has_id = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (s->has_id) {
        s->head_len = (uint64_t)st.st_size < RS_HEAD_BYTES ? (uint64_t)st.st_size : RS_HEAD_BYTES;
        if (!head_hash(fd, s->head_len, &s->head_hash)) {
            fprintf(stderr, "%s: %s: %s\n", prog, name, errno ? strerror(errno) : "read error");
            return -1;
        }
    }
    if (!s->have_prev)
        return 0; /* no state, or an older one: a new input, as before */
    mid = !(p->flags & RS_F_COMPLETED);
    if (s->has_id && (p->flags & RS_F_IDENTITY) && (uint64_t)st.st_size >= p->size) {
        uint64_t h;
        same = head_hash(fd, p->head_len, &h) && h == p->head_hash;
    }
    if (!mid) {
        /* The last run read its input to the end: the same file grown
         * continues after the lines read; anything else is the next input
         * (log rotation). */
        if (same)
            s->lines_start = p->lines;
        return 0;
    }
    if (!(p->flags & RS_F_IDENTITY)) {
        /* Interrupted on a pipe: nothing to check or skip; the input given
         * now is taken as the stream's continuation. */
        return 0;
    }
    if (!same) {
        fprintf(stderr,
                "%s: %s is not the input the interrupted run was reading (it stopped at line "
                "%" PRIu64 " of a %" PRIu64 "-byte %s; this one is %s): refusing to continue "
                "the state with it. Give that input again to finish it, or remove the state "
                "file to start over\n",
                prog, name, p->lines, p->size, "file",
                !s->has_id ? "not a regular file"
                : (uint64_t)st.st_size < p->size ? "shorter (truncated?)"
                                                 : "a different file (its start differs)");
        return -1;
    }
    if (!!(p->flags & RS_F_SORTED) != sorted) {
        fprintf(stderr,
                "%s: the interrupted run read %s in %s order and this one would read it in %s "
                "order: run the same command (--order %s) to finish it\n",
                prog, name, (p->flags & RS_F_SORTED) ? "time" : "arrival",
                sorted ? "time" : "arrival", (p->flags & RS_F_SORTED) ? "time" : "arrival");
        return -1;
    }
    if (sorted) {
        /* Re-read exactly its range, sort it the same way (event time,
         * then line number) and skip the records already fed. */
        s->lines_start = p->lines_start;
        s->stop_after = p->lines;
        s->skip_fed = p->fed;
    } else {
        s->lines_start = p->lines;
    }
    return 0;
}

enum rs_line
rs_line(const struct rs *s, uint64_t n)
{
    if (s->stop_after && n > s->stop_after)
        return RS_STOP;
    return n <= s->lines_start ? RS_SKIP : RS_FEED;
}

bool
rs_skip_sorted(struct rs *s)
{
    return ++s->fed <= s->skip_fed;
}

int
rs_record(struct rs *s, FILE *in, uint64_t lines, uint8_t out[RS_RECORD_LEN])
{
    struct rs_pos p = {0};
    uint64_t f[9];
    off_t at;

    p.flags = (s->completed ? RS_F_COMPLETED : 0) | (s->has_id ? RS_F_IDENTITY : 0) |
              (s->sorted ? RS_F_SORTED : 0);
    p.lines_start = s->lines_start;
    p.lines = lines;
    p.fed = s->fed;
    at = in ? ftello(in) : -1;
    p.size = at > 0 ? (uint64_t)at : 0;
    p.head_len = s->head_len;
    p.head_hash = s->head_hash;
    if (s->out_fd >= 0) {
        off_t o;
        if (fsync(s->out_fd) != 0 && errno != EINVAL)
            return -1;
        o = lseek(s->out_fd, 0, SEEK_CUR);
        if (o >= 0) {
            p.flags |= RS_F_OUTPUT;
            p.out_size = (uint64_t)o;
        }
    }
    f[0] = RS_VERSION;
    f[1] = p.flags;
    f[2] = p.lines_start;
    f[3] = p.lines;
    f[4] = p.fed;
    f[5] = p.size;
    f[6] = p.head_len;
    f[7] = p.head_hash;
    f[8] = p.out_size;
    for (int i = 0; i < 9; i++)
        put64(out + 8 * i, f[i]);
    put64(out + 72, fnv(FNV0, out, 72));
    memcpy(out + 80, magic, 8);
    return 0;
}
