/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: t1071-replay's time order for a finite input
 * (examples/replay-order.c): the stable external sort and the event-time
 * reader it keys on.
 *
 * Input: byte 0 picks the memory budget (1 KiB .. 64 KiB, or 256 MiB: all
 * in memory) and the merge fan-in (2..9), so small inputs spill many runs
 * and merge them level by level; byte 1's low bit picks the record source:
 *   0: 3 bytes per record: a signed time step (-128..127 ms, so time goes
 *      back and forth), a length (0..255) and a fill byte;
 *   1: the rest is a length-delimited stream of packed Events (as
 *      `t1071-replay --input pb` reads), keyed by ro_event_time(), which
 *      must agree with protobuf-c's own decoding wherever that succeeds.
 * Checks: every record comes out exactly once with its bytes, in
 * (time, ordinal) order; the ordinal is the input position, so equal times
 * keep input order (a stable sort). */
#include "fuzz.h"

#include "ecs.pb-c.h"
#include "replay-order.h"

struct want {
    int64_t ts;
    uint32_t len;
    uint64_t sum; /* FNV-1a of the bytes */
};

static uint64_t
fnv(const uint8_t *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

static bool
read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t x = 0;

    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return false;
        x |= (uint64_t)(p[*i] & 0x7f) << shift;
        if (!(p[(*i)++] & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t budgets[8] = {1024, 2048, 4096, 8192, 16384, 65536, 3000, (size_t)256 << 20};
    struct ro_sorter *s;
    struct want *w = NULL;
    uint8_t *seen = NULL, *buf = NULL;
    size_t n = 0, cap = 0;
    int64_t t = 0;

    if (size < 2)
        return 0;
    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT;
    s = ro_new(budgets[data[0] & 7], 2u + ((data[0] >> 3) & 7u));
    FUZZ_CHECK(s != NULL);
    bool events = data[1] & 1;
    const uint8_t *p = data + 2;
    size_t left = size - 2, i = 0;

    buf = malloc(256);
    FUZZ_CHECK(buf != NULL);
    for (;;) {
        const uint8_t *rec;
        size_t len;
        int64_t ts;
        if (!events) {
            if (left - i < 3)
                break;
            t += (int8_t)p[i];
            len = p[i + 1];
            memset(buf, p[i + 2], len);
            for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)(buf[k] + k * 7 + n);
            rec = buf;
            ts = t;
            i += 3;
        } else {
            uint64_t l;
            if (i >= left || !read_varint(p, left, &i, &l) || l > left - i)
                break;
            rec = p + i;
            len = (size_t)l;
            i += len;
            bool has = ro_event_time(rec, len, &ts);
            T1071__Ecs__V1__Event *ev = t1071__ecs__v1__event__unpack(NULL, len, rec);
            if (ev) {
                /* Where protobuf-c decodes the record, the cheap reader
                 * finds the same time (or, like it, none). */
                FUZZ_CHECK(has == (bool)ev->has_timestamp_ms);
                if (has)
                    FUZZ_CHECK(ts == ev->timestamp_ms);
                t1071__ecs__v1__event__free_unpacked(ev, NULL);
            }
            if (!has)
                ts = INT64_MIN;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            w = realloc(w, cap * sizeof(*w));
            FUZZ_CHECK(w != NULL);
        }
        w[n].ts = ts;
        w[n].len = (uint32_t)len;
        w[n].sum = fnv(rec, len);
        FUZZ_CHECK(ro_add(s, ts, n, rec, len) == 0);
        n++;
    }
    FUZZ_CHECK(ro_finish(s) == 0);
    seen = calloc(n ? n : 1, 1);
    FUZZ_CHECK(seen != NULL);
    size_t out = 0;
    int64_t pts = INT64_MIN;
    uint64_t pord = 0;
    for (;;) {
        int64_t ts;
        uint64_t ord;
        const uint8_t *d;
        size_t len;
        int rc = ro_next(s, &ts, &ord, &d, &len);
        FUZZ_CHECK(rc >= 0);
        if (rc == 0)
            break;
        FUZZ_CHECK(ord < n && !seen[ord]);
        seen[ord] = 1;
        FUZZ_CHECK(ts == w[ord].ts && len == w[ord].len && fnv(d, len) == w[ord].sum);
        if (out > 0)
            FUZZ_CHECK(ts > pts || (ts == pts && ord > pord));
        pts = ts;
        pord = ord;
        out++;
    }
    FUZZ_CHECK(out == n);
    {
        const uint8_t *d;
        size_t len;
        FUZZ_CHECK(ro_next(s, &pts, &pord, &d, &len) == 0); /* the end stays the end */
    }
    struct ro_stats st;
    ro_get_stats(s, &st);
    FUZZ_CHECK(st.records == n);
    ro_free(s);
    free(seen);
    free(w);
    free(buf);
    return 0;
}
