/* SPDX-License-Identifier: Apache-2.0 */
/* Checkpoints as files (checkpoint-file.h): durable before put() returns
 * (write, fsync, rename, fsync of the directory), and read back whole or
 * refused: get() checks the framing (magic, version, partition, length,
 * checksum) and leaves the snapshot's own checks to t1071_restore. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "checkpoint-file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* No checkpoint is larger: engine.memory_limit caps a context at 1 GiB by
 * default, and its snapshot is smaller than its memory.  A bigger file is a
 * bad one, not a reason to allocate. */
#define MAX_SNAPSHOT ((uint64_t)8 << 30)

struct filestore {
    char *dir;
    int dirfd;
};

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#define FNV_INIT UINT64_C(0xcbf29ce484222325)

static void
le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void
le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
rd32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t
rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* "<group>.<topic>.<P>.ckpt" (%XX outside [A-Za-z0-9_-]); -1 if too long. */
static int
file_name(char *out, size_t cap, const char *group, const char *topic, int32_t partition)
{
    size_t n = 0;
    const char *parts[2] = {group, topic};

    for (int k = 0; k < 2; k++) {
        for (const unsigned char *s = (const unsigned char *)parts[k]; *s; s++) {
            bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                         (*s >= '0' && *s <= '9') || *s == '_' || *s == '-';
            if (n + 4 >= cap)
                return -1;
            if (plain)
                out[n++] = (char)*s;
            else
                n += (size_t)snprintf(out + n, cap - n, "%%%02X", *s);
        }
        out[n++] = '.';
    }
    int w = snprintf(out + n, cap - n, "%d.ckpt", (int)partition);
    return w < 0 || (size_t)w >= cap - n ? -1 : 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
file_put(void *impl, const char *group, const char *topic, int32_t partition, const void *snap,
         size_t len, int64_t next_offset, char *err, size_t errlen)
{
    struct filestore *fs = impl;
    char name[NAME_MAX + 1], tmp[NAME_MAX + 32];
    unsigned char head[T1071A_CKPT_FILE_HEADER];
    uint64_t h;
    int fd;

    if (file_name(name, sizeof name, group, topic, partition) != 0) {
        snprintf(err, errlen, "checkpoint name too long (group and topic)");
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", name, (long)getpid());
    memcpy(head, T1071A_CKPT_FILE_MAGIC, 8);
    le32(head + 8, T1071A_CKPT_FILE_VERSION);
    le32(head + 12, (uint32_t)partition);
    le64(head + 16, (uint64_t)next_offset);
    le64(head + 24, (uint64_t)len);
    h = fnv1a(fnv1a(FNV_INIT, head, 32), snap, len);
    le64(head + 32, h);

    fd = openat(fs->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s/%s: %s", fs->dir, tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, head, sizeof head) != 0 || write_all(fd, snap, len) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s/%s: %s", fs->dir, tmp, strerror(errno));
        close(fd);
        unlinkat(fs->dirfd, tmp, 0);
        return -1;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "%s/%s: %s", fs->dir, tmp, strerror(errno));
        unlinkat(fs->dirfd, tmp, 0);
        return -1;
    }
    if (renameat(fs->dirfd, tmp, fs->dirfd, name) != 0) {
        snprintf(err, errlen, "%s/%s: rename: %s", fs->dir, name, strerror(errno));
        unlinkat(fs->dirfd, tmp, 0);
        return -1;
    }
    /* The rename itself is durable only once the directory is. */
    if (fsync(fs->dirfd) != 0) {
        snprintf(err, errlen, "%s: fsync: %s", fs->dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int
file_get(void *impl, const char *group, const char *topic, int32_t partition, void **snap,
         size_t *len, int64_t *next_offset, char *err, size_t errlen)
{
    struct filestore *fs = impl;
    char name[NAME_MAX + 1];
    unsigned char head[T1071A_CKPT_FILE_HEADER];
    struct stat st;
    uint64_t n, h;
    unsigned char *buf = NULL;
    int fd;

    *snap = NULL;
    *len = 0;
    *next_offset = 0;
    if (file_name(name, sizeof name, group, topic, partition) != 0) {
        snprintf(err, errlen, "checkpoint name too long (group and topic)");
        return -1;
    }
    fd = openat(fs->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s/%s: %s", fs->dir, name, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s/%s: %s", fs->dir, name, strerror(errno));
        goto fail;
    }
    if ((uint64_t)st.st_size < sizeof head || pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head) {
        snprintf(err, errlen, "%s/%s: shorter than a checkpoint header", fs->dir, name);
        goto fail;
    }
    if (memcmp(head, T1071A_CKPT_FILE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s/%s: not a checkpoint (bad magic)", fs->dir, name);
        goto fail;
    }
    if (rd32(head + 8) != T1071A_CKPT_FILE_VERSION) {
        snprintf(err, errlen, "%s/%s: checkpoint format version %u, this agent reads %u", fs->dir,
                 name, rd32(head + 8), T1071A_CKPT_FILE_VERSION);
        goto fail;
    }
    n = rd64(head + 24);
    if ((int32_t)rd32(head + 12) != partition || n > MAX_SNAPSHOT ||
        n != (uint64_t)st.st_size - sizeof head || (int64_t)rd64(head + 16) < 0) {
        snprintf(err, errlen, "%s/%s: inconsistent checkpoint header", fs->dir, name);
        goto fail;
    }
    buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        snprintf(err, errlen, "%s/%s: out of memory", fs->dir, name);
        goto fail;
    }
    for (uint64_t off = 0; off < n;) {
        ssize_t r = pread(fd, buf + off, (size_t)(n - off), (off_t)(sizeof head + off));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "%s/%s: %s", fs->dir, name, r < 0 ? strerror(errno) : "cut short");
            goto fail;
        }
        off += (uint64_t)r;
    }
    h = fnv1a(fnv1a(FNV_INIT, head, 32), buf, (size_t)n);
    if (h != rd64(head + 32)) {
        snprintf(err, errlen, "%s/%s: checkpoint checksum mismatch", fs->dir, name);
        goto fail;
    }
    close(fd);
    *snap = buf;
    *len = (size_t)n;
    *next_offset = (int64_t)rd64(head + 16);
    return 1;
fail:
    free(buf);
    close(fd);
    return -1;
}

static void
file_close(void *impl)
{
    struct filestore *fs = impl;

    if (!fs)
        return;
    close(fs->dirfd);
    free(fs->dir);
    free(fs);
}

static const struct t1071a_ckpt_ops file_ops = {file_put, file_get, file_close};

int
t1071a_ckpt_file_open(const char *dir, struct t1071a_ckpt_store *out, char *err, size_t errlen)
{
    struct filestore *fs = calloc(1, sizeof *fs);

    out->ops = NULL;
    out->impl = NULL;
    if (!fs || !(fs->dir = strdup(dir))) {
        free(fs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    fs->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->dirfd < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    out->ops = &file_ops;
    out->impl = fs;
    return 0;
fail:
    free(fs->dir);
    free(fs);
    return -1;
}
