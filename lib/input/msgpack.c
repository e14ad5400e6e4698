/* SPDX-License-Identifier: Apache-2.0 */
/* The msgpack reader behind the JSON reader's calls: see msgpack.h.
 *
 * The reader keeps JSON's fields: begin / p / end are the msgpack bytes,
 * depth and kind[] the open containers ('{' map, '[' array), failed /
 * err_msg / err_off the first error.  r->mp->left[] holds how many entries
 * (map pairs, array elements) each open container still has.  Nothing
 * recurses; every length is checked against the bytes left before it is
 * used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/msgpack.h"

struct t1071i_mp_chunk {
    struct t1071i_mp_chunk *next;
    char data[];
};

#define CHUNK_BYTES 4096

static const unsigned char *
at(const struct t1071i_json_reader *r)
{
    return (const unsigned char *)r->p;
}

static size_t
avail(const struct t1071i_json_reader *r)
{
    return (size_t)(r->end - r->p);
}

static bool
fail(struct t1071i_json_reader *r, const char *msg)
{
    return jr_fail_at(r, r->p, msg);
}

static uint64_t
be(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* ===== Starting and ending ===== */

void
t1071i_mp_release(struct t1071i_mp_state *st)
{
    while (st->chunks) {
        struct t1071i_mp_chunk *c = st->chunks;
        st->chunks = c->next;
        free(c);
    }
    st->text = st->first;
    st->text_used = 0;
    st->text_cap = sizeof(st->first);
}

void
t1071i_mp_start(struct t1071i_json_reader *r, struct t1071i_mp_state *st, const void *data,
                size_t len)
{
    st->data = data ? data : "";
    st->len = data ? len : 0;
    st->chunks = NULL;
    t1071i_mp_release(st);
    t1071i_json_init(r, st->data, st->len);
    r->mp = st;
}

void
t1071i_mp_restart(struct t1071i_json_reader *r)
{
    struct t1071i_mp_state *st = r->mp;

    t1071i_mp_release(st);
    t1071i_json_init(r, st->data, st->len);
    r->mp = st;
}

/* Room for @p n bytes of number text that stays put until the next start. */
static char *
text_room(struct t1071i_json_reader *r, size_t n)
{
    struct t1071i_mp_state *st = r->mp;
    char *p;

    if (st->text_used + n > st->text_cap) {
        struct t1071i_mp_chunk *c = malloc(sizeof(*c) + CHUNK_BYTES);

        if (!c) {
            fail(r, "out of memory");
            return NULL;
        }
        c->next = st->chunks;
        st->chunks = c;
        st->text = c->data;
        st->text_used = 0;
        st->text_cap = CHUNK_BYTES;
    }
    p = st->text + st->text_used;
    st->text_used += n;
    return p;
}

/* ===== One value's head ===== */

/* What the value at r->p is: its type, how many bytes its head takes, and
 * for strings its length, for containers their entry count. */
struct head {
    enum t1071i_json_type type;
    unsigned char tag; /* 'i' int, 'u' uint, 'f' float32, 'd' float64, 's' str, 'x' ext,
                        * 0 otherwise */
    size_t hlen;       /* bytes of the head (type byte and length / count) */
    uint64_t n;        /* str / bin / ext: payload bytes; map: pairs; array: elements */
};

static bool
read_head(struct t1071i_json_reader *r, struct head *h)
{
    const unsigned char *p = at(r);
    size_t left = avail(r);
    unsigned c, w = 0;

    if (r->failed)
        return false;
    if (left == 0)
        return fail(r, "msgpack: unexpected end of input");
    c = p[0];
    h->tag = 0;
    h->n = 0;
    h->hlen = 1;
    if (c <= 0x7f || c >= 0xe0) {
        h->type = T1071I_JSON_NUMBER;
        h->tag = c <= 0x7f ? 'u' : 'i';
        h->hlen = 0; /* the value is the type byte */
        return true;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        h->type = T1071I_JSON_STRING;
        h->tag = 's';
        h->n = c & 0x1f;
        return true;
    }
    if (c >= 0x80 && c <= 0x8f) {
        h->type = T1071I_JSON_OBJECT;
        h->n = c & 0x0f;
        return true;
    }
    if (c >= 0x90 && c <= 0x9f) {
        h->type = T1071I_JSON_ARRAY;
        h->n = c & 0x0f;
        return true;
    }
    switch (c) {
    case 0xc0: h->type = T1071I_JSON_NULL; return true;
    case 0xc2: h->type = T1071I_JSON_FALSE; return true;
    case 0xc3: h->type = T1071I_JSON_TRUE; return true;
    case 0xc4: case 0xd9: w = 1; h->type = T1071I_JSON_STRING; h->tag = 's'; break;
    case 0xc5: case 0xda: w = 2; h->type = T1071I_JSON_STRING; h->tag = 's'; break;
    case 0xc6: case 0xdb: w = 4; h->type = T1071I_JSON_STRING; h->tag = 's'; break;
    case 0xc7: w = 1; h->type = T1071I_JSON_NULL; h->tag = 'x'; break;
    case 0xc8: w = 2; h->type = T1071I_JSON_NULL; h->tag = 'x'; break;
    case 0xc9: w = 4; h->type = T1071I_JSON_NULL; h->tag = 'x'; break;
    case 0xca: h->type = T1071I_JSON_NUMBER; h->tag = 'f'; h->hlen = 0; return true;
    case 0xcb: h->type = T1071I_JSON_NUMBER; h->tag = 'd'; h->hlen = 0; return true;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        h->type = T1071I_JSON_NUMBER; h->tag = 'u'; h->hlen = 0; return true;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        h->type = T1071I_JSON_NUMBER; h->tag = 'i'; h->hlen = 0; return true;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        /* fixext 1, 2, 4, 8, 16: type byte, ext type, payload */
        h->type = T1071I_JSON_NULL;
        h->tag = 'x';
        h->hlen = 2;
        h->n = (uint64_t)1 << (c - 0xd4);
        if (left < 2)
            return fail(r, "msgpack: truncated value");
        return true;
    case 0xdc: w = 2; h->type = T1071I_JSON_ARRAY; break;
    case 0xdd: w = 4; h->type = T1071I_JSON_ARRAY; break;
    case 0xde: w = 2; h->type = T1071I_JSON_OBJECT; break;
    case 0xdf: w = 4; h->type = T1071I_JSON_OBJECT; break;
    default: /* 0xc1 */
        h->type = T1071I_JSON_ERROR;
        return fail(r, "msgpack: invalid type byte 0xc1");
    }
    if (left < 1 + (size_t)w + (h->tag == 'x'))
        return fail(r, "msgpack: truncated value");
    h->n = be(p + 1, w);
    h->hlen = 1 + w + (h->tag == 'x'); /* ext: its type byte */
    return true;
}

/* Bytes a scalar takes in all (head and payload); 0 after a failure. */
static size_t
scalar_size(struct t1071i_json_reader *r, const struct head *h)
{
    size_t size;

    if (h->hlen == 0) {
        /* Numbers: the type byte says the width. */
        unsigned c = at(r)[0];

        if (c <= 0x7f || c >= 0xe0)
            size = 1;
        else if (c == 0xca)
            size = 5;
        else if (c == 0xcb)
            size = 9;
        else
            size = 1 + ((size_t)1 << (c & 0x03)); /* cc..cf, d0..d3: 1, 2, 4, 8 */
    } else {
        if (h->n > avail(r) - h->hlen) {
            fail(r, h->tag == 's' ? "msgpack: string longer than the bytes left"
                                  : "msgpack: truncated value");
            return 0;
        }
        size = h->hlen + (size_t)h->n;
    }
    if (size > avail(r)) {
        fail(r, "msgpack: truncated value");
        return 0;
    }
    return size;
}

/* ===== Scalars ===== */

/* Decimal text of an integer into the text block. */
static bool
int_text(struct t1071i_json_reader *r, uint64_t mag, bool neg, struct t1071i_json_scalar *out)
{
    char buf[24], *e = buf + sizeof(buf), *p = e, *t;

    do {
        *--p = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    if (neg)
        *--p = '-';
    if (!(t = text_room(r, (size_t)(e - p))))
        return false;
    memcpy(t, p, (size_t)(e - p));
    out->text = t;
    out->len = (size_t)(e - p);
    return true;
}

/* The shortest of %.{lo..hi}g that reads back as @p v (as float when
 * @p single). */
static bool
float_text(struct t1071i_json_reader *r, double v, bool single, struct t1071i_json_scalar *out)
{
    char buf[40], *t;
    int n = 0;

    for (int prec = single ? 6 : 15; prec <= (single ? 9 : 17); prec++) {
        n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (single ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    if (n <= 0 || (size_t)n >= sizeof(buf))
        return fail(r, "msgpack: number does not print");
    if (!(t = text_room(r, (size_t)n)))
        return false;
    memcpy(t, buf, (size_t)n);
    out->text = t;
    out->len = (size_t)n;
    return true;
}

/* Flags of raw string bytes: HIGH for a byte >= 0x80, ESCAPE | HIGH for a
 * NUL (both decode to something else), RAW always. */
static unsigned
raw_flags(const unsigned char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t hi = 0, zero = 0;
    unsigned f = T1071I_JSON_STR_RAW;
    size_t i = 0;

    /* Eight bytes at a time: a high bit, a zero byte ((w - 1) & ~w has
     * the high bit of a byte set exactly when some byte is zero). */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, s + i, 8);
        hi |= w;
        zero |= (w - ones) & ~w;
    }
    /* The rest: one last word overlapping the ones read (keys and short
     * values: two overlapping 4-byte words), never a byte beyond. */
    if (n >= 8) {
        uint64_t w;

        memcpy(&w, s + n - 8, 8);
        hi |= w;
        zero |= (w - ones) & ~w;
    } else if (n >= 4) {
        uint32_t a, b;

        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        hi |= a | b;
        zero |= (uint32_t)((a - 0x01010101u) & ~a) | (uint32_t)((b - 0x01010101u) & ~b);
    } else {
        for (; i < n; i++) {
            hi |= s[i];
            zero |= s[i] == 0 ? 0x80 : 0;
        }
    }
    if (hi & high)
        f |= T1071I_JSON_STR_HIGH;
    if (zero & high)
        f |= T1071I_JSON_STR_HIGH | T1071I_JSON_STR_ESCAPE;
    return f;
}

/* Read the scalar at r->p (head @p h already read), as a map key when
 * @p key (strings and integers only). */
static bool
read_scalar(struct t1071i_json_reader *r, const struct head *h, struct t1071i_json_scalar *out,
            bool key)
{
    const unsigned char *p = at(r);
    size_t size;
    bool ok = true;

    if (h->type == T1071I_JSON_OBJECT || h->type == T1071I_JSON_ARRAY)
        return fail(r, key ? "msgpack: map key is not a string or an integer"
                           : "expected a scalar");
    if (!(size = scalar_size(r, h)))
        return false;
    out->flags = 0;
    switch (h->tag) {
    case 's':
        out->type = T1071I_JSON_STRING;
        out->text = (const char *)p + h->hlen;
        out->len = (size_t)h->n;
        out->flags = raw_flags(p + h->hlen, out->len);
        break;
    case 'u': {
        uint64_t u = size == 1 ? p[0] : be(p + 1, (unsigned)size - 1);

        out->type = T1071I_JSON_NUMBER;
        if (u <= (uint64_t)INT64_MAX) {
            out->flags = T1071I_JSON_NUM_INT;
            out->ival = (int64_t)u;
        }
        ok = int_text(r, u, false, out);
        break;
    }
    case 'i': {
        int64_t v;

        if (size == 1) {
            v = (int8_t)p[0];
        } else {
            unsigned bits = 8 * ((unsigned)size - 1);
            uint64_t u = be(p + 1, (unsigned)size - 1);
            /* sign-extend */
            v = bits == 64 ? (int64_t)u
                           : (int64_t)(u ^ ((uint64_t)1 << (bits - 1))) -
                                 (int64_t)((uint64_t)1 << (bits - 1));
        }
        out->type = T1071I_JSON_NUMBER;
        out->flags = T1071I_JSON_NUM_INT;
        out->ival = v;
        ok = v < 0 ? int_text(r, (uint64_t)0 - (uint64_t)v, true, out)
                   : int_text(r, (uint64_t)v, false, out);
        break;
    }
    case 'f':
    case 'd': {
        double d;

        if (h->tag == 'f') {
            uint32_t u = (uint32_t)be(p + 1, 4);
            float f;
            memcpy(&f, &u, 4);
            d = f;
        } else {
            uint64_t u = be(p + 1, 8);
            memcpy(&d, &u, 8);
        }
        if (!isfinite(d)) {
            out->type = T1071I_JSON_NULL;
            out->text = "null";
            out->len = 4;
        } else {
            out->type = T1071I_JSON_NUMBER;
            ok = float_text(r, d, h->tag == 'f', out);
        }
        break;
    }
    default: /* nil, false, true, ext */
        out->type = h->type;
        out->text = h->type == T1071I_JSON_TRUE ? "true" : h->type == T1071I_JSON_FALSE ? "false"
                                                                                       : "null";
        out->len = strlen(out->text);
        break;
    }
    if (!ok)
        return false;
    if (key && out->type != T1071I_JSON_STRING) {
        if (out->type != T1071I_JSON_NUMBER || h->tag == 'f' || h->tag == 'd')
            return fail(r, "msgpack: map key is not a string or an integer");
        out->type = T1071I_JSON_STRING; /* its decimal text, as a JSON key */
        out->flags = 0;
    }
    r->p += size;
    return true;
}

/* The type of a value from its first byte (0xc1 and the error cases go
 * the slow way, read_head, which says what is wrong). */
#define E T1071I_JSON_ERROR
#define U T1071I_JSON_NUMBER
#define S T1071I_JSON_STRING
#define O T1071I_JSON_OBJECT
#define A T1071I_JSON_ARRAY
#define N T1071I_JSON_NULL
static const unsigned char type_of[256] = {
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, /* 0x00 positive fixint */
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x80 fixmap */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 0x90 fixarray */
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0xa0 fixstr */
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
    /* 0xc0 nil, (c1), false, true, bin8-32, ext8-32, float32, float64 */
    N, E, T1071I_JSON_FALSE, T1071I_JSON_TRUE, S, S, S, N, N, N, U, U,
    U, U, U, U, /* 0xcc uint8-64 */
    U, U, U, U, N, N, N, N, N, S, S, S, A, A, O, O, /* 0xd0 int, fixext, str, array, map */
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, /* 0xe0 negative fixint */
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};
#undef E
#undef U
#undef S
#undef O
#undef A
#undef N

enum t1071i_json_type
t1071i_mp_peek(struct t1071i_json_reader *r)
{
    struct head h;

    if (!r->failed && r->p < r->end && (const unsigned char)*r->p != 0xc1)
        return (enum t1071i_json_type)type_of[(const unsigned char)*r->p];
    if (!read_head(r, &h))
        return T1071I_JSON_ERROR;
    return h.type;
}

/* The usual string (fixstr, str8) without the general head: false when
 * the value is something else or its length is wrong (read_head and
 * read_scalar then say what). */
static inline bool
fast_string(struct t1071i_json_reader *r, struct t1071i_json_scalar *out)
{
    const unsigned char *p = at(r);
    size_t left = avail(r), n, h;

    if (left == 0)
        return false;
    if ((p[0] & 0xe0) == 0xa0) {
        n = p[0] & 0x1f;
        h = 1;
    } else if (p[0] == 0xd9 && left >= 2) {
        n = p[1];
        h = 2;
    } else {
        return false;
    }
    if (n > left - h)
        return false;
    out->type = T1071I_JSON_STRING;
    out->text = (const char *)p + h;
    out->len = n;
    out->flags = raw_flags(p + h, n);
    r->p += h + n;
    return true;
}

bool
t1071i_mp_scalar(struct t1071i_json_reader *r, struct t1071i_json_scalar *out)
{
    struct head h;

    if (!r->failed && fast_string(r, out))
        return true;
    return read_head(r, &h) && read_scalar(r, &h, out, false);
}

/* ===== Containers ===== */

/* Open the container whose head @p h is at r->p. */
static bool
open_container(struct t1071i_json_reader *r, const struct head *h)
{
    if (r->depth >= T1071I_JSON_MAX_DEPTH)
        return fail(r, "msgpack: nesting too deep");
    /* Every entry takes at least one byte (a pair two): a count past the
     * bytes left is a cut record, said at once. */
    if (h->n > (avail(r) - h->hlen) / (h->type == T1071I_JSON_OBJECT ? 2 : 1))
        return fail(r, "msgpack: more entries than bytes left");
    r->kind[r->depth] = h->type == T1071I_JSON_OBJECT ? '{' : '[';
    r->mp->left[r->depth] = (uint32_t)h->n;
    r->depth++;
    r->p += h->hlen;
    return true;
}

bool
t1071i_mp_enter(struct t1071i_json_reader *r)
{
    struct head h;

    if (!read_head(r, &h))
        return false;
    if (h.type != T1071I_JSON_OBJECT && h.type != T1071I_JSON_ARRAY)
        return fail(r, "expected '{' or '['");
    return open_container(r, &h);
}

int
t1071i_mp_object_next(struct t1071i_json_reader *r, struct t1071i_json_scalar *key)
{
    struct head h;

    if (r->failed)
        return -1;
    if (r->depth == 0 || r->kind[r->depth - 1] != '{') {
        fail(r, "not in an object");
        return -1;
    }
    if (r->mp->left[r->depth - 1] == 0) {
        r->depth--;
        return 0;
    }
    r->mp->left[r->depth - 1]--;
    if (fast_string(r, key))
        return 1;
    return read_head(r, &h) && read_scalar(r, &h, key, true) ? 1 : -1;
}

int
t1071i_mp_array_next(struct t1071i_json_reader *r)
{
    if (r->failed)
        return -1;
    if (r->depth == 0 || r->kind[r->depth - 1] != '[') {
        fail(r, "not in an array");
        return -1;
    }
    if (r->mp->left[r->depth - 1] == 0) {
        r->depth--;
        return 0;
    }
    r->mp->left[r->depth - 1]--;
    return 1;
}

bool
t1071i_mp_skip(struct t1071i_json_reader *r)
{
    const unsigned base = r->depth;
    bool started = false;

    /* Inside the containers opened here, left[] counts values (a map's
     * keys and values both), and they are all closed here too. */
    for (;;) {
        struct head h;

        if (started) {
            while (r->depth > base && r->mp->left[r->depth - 1] == 0)
                r->depth--;
            if (r->depth == base)
                return true;
            r->mp->left[r->depth - 1]--;
        }
        started = true;
        if (!read_head(r, &h))
            return false;
        if (h.type == T1071I_JSON_OBJECT || h.type == T1071I_JSON_ARRAY) {
            if (!open_container(r, &h))
                return false;
            if (h.type == T1071I_JSON_OBJECT)
                r->mp->left[r->depth - 1] = (uint32_t)(2 * h.n); /* n <= bytes / 2 */
        } else {
            size_t size = scalar_size(r, &h);

            if (!size)
                return false;
            r->p += size;
        }
    }
}

bool
t1071i_mp_finish(struct t1071i_json_reader *r)
{
    if (r->failed)
        return false;
    if (r->p != r->end)
        return fail(r, "msgpack: bytes after the map");
    return true;
}
