/* SPDX-License-Identifier: Apache-2.0 */
/* A small strict JSON reader (RFC 8259) for lib/ecs-json.c.  Never
 * installed.
 *
 * It is a pull reader without a DOM: the caller walks the objects it cares
 * about (t1071i_json_object_next / t1071i_json_array_next) and hands every
 * other value to t1071i_json_skip(), which validates it without decoding.
 * Nothing recurses: containers are tracked on a fixed stack of
 * T1071I_JSON_MAX_DEPTH entries inside the reader, and nothing allocates
 * except t1071i_json_string_dup().  Strings are validated when scanned
 * (escapes, control characters) and decoded only on request; decoding maps
 * \u0000, lone surrogates and invalid UTF-8 to U+FFFD, so a decoded string
 * is always valid UTF-8 without NUL bytes.
 *
 * On the first error the reader stops: every later call fails too, and
 * err_msg / err_off say what went wrong and at which byte (0-based). */
#ifndef T1071_JSON_H
#define T1071_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Limits for hostile JSON: nesting depth and one line's length. */
#define T1071I_JSON_MAX_DEPTH 64
#define T1071I_JSON_MAX_BYTES (4u << 20)

enum t1071i_json_type {
    T1071I_JSON_ERROR = 0,
    T1071I_JSON_NULL,
    T1071I_JSON_FALSE,
    T1071I_JSON_TRUE,
    T1071I_JSON_NUMBER,
    T1071I_JSON_STRING,
    T1071I_JSON_OBJECT,
    T1071I_JSON_ARRAY
};

/* Flags of a scanned string. */
#define T1071I_JSON_STR_ESCAPE 1u /* holds at least one backslash escape */
#define T1071I_JSON_STR_HIGH 2u   /* holds at least one byte >= 0x80 */
#define T1071I_JSON_STR_RAW 4u    /* msgpack: bytes as they are, no escapes (a
                                   * NUL sets ESCAPE | HIGH: it decodes to U+FFFD) */
#define T1071I_JSON_NUM_INT 8u    /* msgpack: a NUMBER that is an integer in
                                   * int64, its value in ival too */

/* A scalar as it appears in the input (points into it). */
struct t1071i_json_scalar {
    enum t1071i_json_type type;
    const char *text; /* STRING: raw bytes between the quotes; NUMBER: its text */
    size_t len;
    unsigned flags;   /* STRING: T1071I_JSON_STR_*; NUMBER: T1071I_JSON_NUM_INT */
    int64_t ival;     /* NUMBER with T1071I_JSON_NUM_INT: its value */
};

struct t1071i_json_reader {
    const char *begin;
    const char *p;
    const char *end;
    unsigned depth;                              /* open containers */
    bool failed;
    const char *err_msg;                         /* static text */
    size_t err_off;                              /* byte offset of the error */
    unsigned char kind[T1071I_JSON_MAX_DEPTH];   /* '{' or '[' per level */
    struct t1071i_mp_state *mp;                  /* msgpack instead of JSON (msgpack.h) */
};

/* The msgpack reader behind the same calls (lib/input/msgpack.c): every
 * call below hands a reader with r->mp set to its twin there. */
enum t1071i_json_type t1071i_mp_peek(struct t1071i_json_reader *r);
bool t1071i_mp_scalar(struct t1071i_json_reader *r, struct t1071i_json_scalar *out);
bool t1071i_mp_enter(struct t1071i_json_reader *r);
int t1071i_mp_object_next(struct t1071i_json_reader *r, struct t1071i_json_scalar *key);
int t1071i_mp_array_next(struct t1071i_json_reader *r);
bool t1071i_mp_skip(struct t1071i_json_reader *r);
bool t1071i_mp_finish(struct t1071i_json_reader *r);
#define T1071I_JSON_MP(r) __builtin_expect((r)->mp != NULL, 0)

void t1071i_json_init(struct t1071i_json_reader *r, const char *s, size_t n);

/* Record an error at the current position (the first error sticks).
 * Always returns false. */
bool t1071i_json_fail(struct t1071i_json_reader *r, const char *msg);

/* Skip whitespace and tell the type of the next value from its first byte,
 * without consuming it.  T1071I_JSON_ERROR (and the reader fails) when no
 * value can start there. */
enum t1071i_json_type t1071i_json_peek_slow(struct t1071i_json_reader *r);
static inline enum t1071i_json_type
t1071i_json_peek(struct t1071i_json_reader *r)
{
    if (T1071I_JSON_MP(r))
        return t1071i_mp_peek(r);
    /* The usual case inline: no whitespace before a string or container. */
    if (!r->failed && r->p < r->end) {
        switch (*r->p) {
        case '"': return T1071I_JSON_STRING;
        case '{': return T1071I_JSON_OBJECT;
        case '[': return T1071I_JSON_ARRAY;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            return T1071I_JSON_NUMBER;
        default: break;
        }
    }
    return t1071i_json_peek_slow(r);
}

/* Read the scalar value that comes next (string, number, true, false,
 * null).  False on error, or when the next value is a container. */
static inline bool t1071i_json_scalar(struct t1071i_json_reader *r, struct t1071i_json_scalar *out);

/* Skip (and validate) the value that comes next, whatever it is. */
bool t1071i_json_skip(struct t1071i_json_reader *r);

/* Consume the '{' or '[' that comes next (the caller peeked it). */
static inline bool t1071i_json_enter(struct t1071i_json_reader *r);

/* Step through an entered object.  *first must be true before the first
 * call.  Returns 1 with the key in *key and the ':' consumed (read or skip
 * the value next), 0 at the closing '}' (consumed), -1 on error. */
static inline int t1071i_json_object_next(struct t1071i_json_reader *r, bool *first,
                            struct t1071i_json_scalar *key);

/* Step through an entered array: 1 when an element follows (read or skip
 * it next), 0 at the closing ']' (consumed), -1 on error. */
static inline int t1071i_json_array_next(struct t1071i_json_reader *r, bool *first);

/* After the top-level value: only whitespace may follow. */
bool t1071i_json_finish(struct t1071i_json_reader *r);

/* Decode a scanned string into @p out (at most @p cap bytes are written,
 * no NUL is added; @p out may be NULL when @p cap is 0).  Returns the full
 * decoded length, which may exceed @p cap. */
size_t t1071i_json_string_decode(const struct t1071i_json_scalar *s, char *out, size_t cap);

/* The decoded string, malloc'ed and NUL-terminated; NULL when out of memory. */
char *t1071i_json_string_dup(const struct t1071i_json_scalar *s, size_t *len_out);

/* The exact value of a JSON number text when it is an integer that fits in
 * int64 ("443", "-7", "443.0", "4.43e2", "-0"); false otherwise (fraction,
 * out of range). */
bool t1071i_json_number_to_int64(const char *s, size_t n, int64_t *out);


/* ===== The hot part of the reader, inline (lib/json.c has the rest) =====
 * Everything here is defined once for every file that includes json.h, so
 * lib/ecs-json.c's walk calls none of it through a function call. */

/* Byte classes inside a string: 0 ordinary, 1 '"', 2 '\\', 3 control,
 * 4 a byte >= 0x80. */
static const unsigned char jr_str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x00 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0x80 */
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

#define JR_IS_DIGIT(c) ((unsigned char)((c) - '0') < 10u)

static inline bool
jr_fail_at(struct t1071i_json_reader *r, const char *at, const char *msg)
{
    if (!r->failed) {
        r->failed = true;
        r->err_msg = msg;
        r->err_off = (size_t)(at - r->begin);
    }
    return false;
}

static inline void
jr_skip_ws(struct t1071i_json_reader *r)
{
    const char *p = r->p, *end = r->end;

    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    r->p = p;
}

/* After skip_ws: false (and fail) at the end of the input. */
static inline bool
jr_more(struct t1071i_json_reader *r)
{
    if (r->p < r->end)
        return true;
    return jr_fail_at(r, r->p, "unexpected end of input");
}

static inline int
jr_hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* r->p is at the opening quote. */
static inline bool
jr_scan_string(struct t1071i_json_reader *r, struct t1071i_json_scalar *out)
{
    const unsigned char *start = (const unsigned char *)r->p + 1;
    const unsigned char *p = start;
    const unsigned char *end = (const unsigned char *)r->end;
    unsigned flags = 0;

    for (;;) {
        unsigned cls;

        /* Eight bytes at a time to the next special byte ('"', '\\', a
         * control character, a byte >= 0x80), the last few one by one.  In
         * each term of the mask a borrow can only mark bytes above a real
         * match, so its lowest set bit (little-endian: the first byte) is
         * a real one. */
        while (end - p >= 8) {
            const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
            uint64_t w, q, b, m;

            memcpy(&w, p, 8);
            q = w ^ (ones * '"');
            b = w ^ (ones * '\\');
            m = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & high;
            if (m) {
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
                unsigned bit = (unsigned)__builtin_ctzll(m);
                p += bit >> 3;
                /* The byte is in w already: the closing quote, the usual
                 * case, ends the string without reading it again. */
                if ((unsigned char)(w >> (bit & ~7u)) == '"')
                    goto closed;
#endif
                break; /* (big-endian: the byte loop finds it) */
            }
            p += 8;
        }
        while (p < end && !jr_str_class[*p])
            p++;
        if (p >= end)
            return jr_fail_at(r, (const char *)p, "unterminated string");
        cls = jr_str_class[*p];
        if (cls == 1)
            break;
        if (cls == 4) {
            flags |= T1071I_JSON_STR_HIGH;
            p++;
            continue;
        }
        if (cls == 3)
            return jr_fail_at(r, (const char *)p, "control character in string");
        /* A backslash. */
        flags |= T1071I_JSON_STR_ESCAPE;
        if (end - p < 2)
            return jr_fail_at(r, (const char *)end, "unterminated string");
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u':
            for (int i = 2; i < 6; i++) {
                if (p + i >= end)
                    return jr_fail_at(r, (const char *)end, "unterminated string");
                if (jr_hex_val(p[i]) < 0)
                    return jr_fail_at(r, (const char *)p, "bad \\u escape");
            }
            p += 6;
            break;
        default:
            return jr_fail_at(r, (const char *)p, "bad escape in string");
        }
    }
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
closed:
#endif
    out->type = T1071I_JSON_STRING;
    out->text = (const char *)start;
    out->len = (size_t)(p - start);
    out->flags = flags;
    r->p = (const char *)p + 1;
    return true;
}

/* r->p is at '-' or a digit. */
static inline bool
jr_scan_number(struct t1071i_json_reader *r, struct t1071i_json_scalar *out)
{
    const char *start = r->p, *p = r->p, *end = r->end;

    if (*p == '-')
        p++;
    if (p >= end || !JR_IS_DIGIT(*p))
        return jr_fail_at(r, p, "bad number");
    if (*p == '0') {
        p++;
        if (p < end && JR_IS_DIGIT(*p))
            return jr_fail_at(r, p - 1, "leading zero in number");
    } else {
        while (p < end && JR_IS_DIGIT(*p))
            p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !JR_IS_DIGIT(*p))
            return jr_fail_at(r, p, "bad number: digit expected after '.'");
        while (p < end && JR_IS_DIGIT(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !JR_IS_DIGIT(*p))
            return jr_fail_at(r, p, "bad number: digit expected in exponent");
        while (p < end && JR_IS_DIGIT(*p))
            p++;
    }
    out->type = T1071I_JSON_NUMBER;
    out->text = start;
    out->len = (size_t)(p - start);
    out->flags = 0;
    r->p = p;
    return true;
}

static inline bool
jr_scan_literal(struct t1071i_json_reader *r, const char *word, size_t n,
             enum t1071i_json_type type, struct t1071i_json_scalar *out)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return jr_fail_at(r, r->p, "bad literal");
    out->type = type;
    out->text = r->p;
    out->len = n;
    out->flags = 0;
    r->p += n;
    return true;
}

static inline bool
t1071i_json_scalar(struct t1071i_json_reader *r, struct t1071i_json_scalar *out)
{
    if (T1071I_JSON_MP(r))
        return t1071i_mp_scalar(r, out);
    switch (t1071i_json_peek(r)) {
    case T1071I_JSON_STRING:
        return jr_scan_string(r, out);
    case T1071I_JSON_NUMBER:
        return jr_scan_number(r, out);
    case T1071I_JSON_TRUE:
        return jr_scan_literal(r, "true", 4, T1071I_JSON_TRUE, out);
    case T1071I_JSON_FALSE:
        return jr_scan_literal(r, "false", 5, T1071I_JSON_FALSE, out);
    case T1071I_JSON_NULL:
        return jr_scan_literal(r, "null", 4, T1071I_JSON_NULL, out);
    case T1071I_JSON_OBJECT:
    case T1071I_JSON_ARRAY:
        return jr_fail_at(r, r->p, "expected a scalar");
    case T1071I_JSON_ERROR:
    default:
        return false;
    }
}

static inline bool
jr_open_container(struct t1071i_json_reader *r)
{
    if (r->depth >= T1071I_JSON_MAX_DEPTH)
        return jr_fail_at(r, r->p, "nesting too deep");
    r->kind[r->depth++] = (unsigned char)*r->p;
    r->p++;
    return true;
}

static inline bool
t1071i_json_enter(struct t1071i_json_reader *r)
{
    enum t1071i_json_type t;

    if (T1071I_JSON_MP(r))
        return t1071i_mp_enter(r);
    t = t1071i_json_peek(r);
    if (t != T1071I_JSON_OBJECT && t != T1071I_JSON_ARRAY)
        return t == T1071I_JSON_ERROR ? false : jr_fail_at(r, r->p, "expected '{' or '['");
    return jr_open_container(r);
}

/* At '"' (after whitespace): a key, then ':'. */
static inline bool
jr_read_key(struct t1071i_json_reader *r, struct t1071i_json_scalar *key)
{
    if (*r->p != '"')
        return jr_fail_at(r, r->p, "expected a string key");
    if (!jr_scan_string(r, key))
        return false;
    jr_skip_ws(r);
    if (r->p >= r->end || *r->p != ':')
        return jr_fail_at(r, r->p, "expected ':'");
    r->p++;
    return true;
}

static inline int
t1071i_json_object_next(struct t1071i_json_reader *r, bool *first,
                        struct t1071i_json_scalar *key)
{
    if (T1071I_JSON_MP(r))
        return t1071i_mp_object_next(r, key);
    if (r->failed)
        return -1;
    if (r->depth == 0 || r->kind[r->depth - 1] != '{') {
        jr_fail_at(r, r->p, "not in an object");
        return -1;
    }
    jr_skip_ws(r);
    if (!jr_more(r))
        return -1;
    if (*r->p == '}') {
        r->p++;
        r->depth--;
        *first = false;
        return 0;
    }
    if (!*first) {
        if (*r->p != ',') {
            jr_fail_at(r, r->p, "expected ',' or '}'");
            return -1;
        }
        r->p++;
        jr_skip_ws(r);
        if (!jr_more(r))
            return -1;
    }
    *first = false;
    return jr_read_key(r, key) ? 1 : -1;
}

static inline int
t1071i_json_array_next(struct t1071i_json_reader *r, bool *first)
{
    if (T1071I_JSON_MP(r))
        return t1071i_mp_array_next(r);
    if (r->failed)
        return -1;
    if (r->depth == 0 || r->kind[r->depth - 1] != '[') {
        jr_fail_at(r, r->p, "not in an array");
        return -1;
    }
    jr_skip_ws(r);
    if (!jr_more(r))
        return -1;
    if (*r->p == ']') {
        r->p++;
        r->depth--;
        *first = false;
        return 0;
    }
    if (!*first) {
        if (*r->p != ',') {
            jr_fail_at(r, r->p, "expected ',' or ']'");
            return -1;
        }
        r->p++;
    }
    *first = false;
    return 1;
}

#endif
