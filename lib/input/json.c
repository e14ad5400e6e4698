/* SPDX-License-Identifier: Apache-2.0 */
/* A small strict JSON reader (RFC 8259): see json.h.
 *
 * Strictness: no comments, no trailing commas, no single quotes, no NaN or
 * Infinity, no leading zeros or '+' in numbers, no bare control characters
 * in strings, only the escapes RFC 8259 lists.  Whitespace is the four
 * bytes RFC 8259 names.  Hostile input is bounded: nesting by the fixed
 * stack, time by one pass over the input (a skipped value is scanned once,
 * a decoded string twice), memory by the caller's strings only. */
#include <stdlib.h>
#include <string.h>

#include "input/json.h"



/* ===== Errors and whitespace ===== */


bool
t1071i_json_fail(struct t1071i_json_reader *r, const char *msg)
{
    return jr_fail_at(r, r->p, msg);
}

void
t1071i_json_init(struct t1071i_json_reader *r, const char *s, size_t n)
{
    r->begin = s;
    r->p = s;
    r->end = s + n;
    r->depth = 0;
    r->failed = false;
    r->err_msg = NULL;
    r->err_off = 0;
    r->mp = NULL;
}



/* ===== Scalars ===== */





enum t1071i_json_type
t1071i_json_peek_slow(struct t1071i_json_reader *r)
{
    if (T1071I_JSON_MP(r))
        return t1071i_mp_peek(r);
    if (r->failed)
        return T1071I_JSON_ERROR;
    jr_skip_ws(r);
    if (!jr_more(r))
        return T1071I_JSON_ERROR;
    switch (*r->p) {
    case '{':
        return T1071I_JSON_OBJECT;
    case '[':
        return T1071I_JSON_ARRAY;
    case '"':
        return T1071I_JSON_STRING;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return T1071I_JSON_NUMBER;
    case 't':
        return T1071I_JSON_TRUE;
    case 'f':
        return T1071I_JSON_FALSE;
    case 'n':
        return T1071I_JSON_NULL;
    default:
        jr_fail_at(r, r->p, "expected a value");
        return T1071I_JSON_ERROR;
    }
}


/* ===== Containers ===== */






bool
t1071i_json_skip(struct t1071i_json_reader *r)
{
    const unsigned base = r->depth;
    struct t1071i_json_scalar tmp;

    if (T1071I_JSON_MP(r))
        return t1071i_mp_skip(r);
    for (;;) {
        /* A value starts here. */
        enum t1071i_json_type t = t1071i_json_peek(r);
        bool open = false;

        if (t == T1071I_JSON_ERROR)
            return false;
        if (t == T1071I_JSON_OBJECT || t == T1071I_JSON_ARRAY) {
            const char close = t == T1071I_JSON_OBJECT ? '}' : ']';

            if (!jr_open_container(r))
                return false;
            jr_skip_ws(r);
            if (!jr_more(r))
                return false;
            if (*r->p == close) {
                r->p++;
                r->depth--;
            } else {
                if (t == T1071I_JSON_OBJECT && !jr_read_key(r, &tmp))
                    return false;
                open = true;
            }
        } else if (!t1071i_json_scalar(r, &tmp)) {
            return false;
        }
        if (open)
            continue;
        /* A value is complete: close containers until a ',' or the end. */
        for (;;) {
            unsigned char k;

            if (r->depth == base)
                return true;
            jr_skip_ws(r);
            if (!jr_more(r))
                return false;
            k = r->kind[r->depth - 1];
            if (*r->p == ',') {
                r->p++;
                if (k == '{') {
                    jr_skip_ws(r);
                    if (!jr_more(r) || !jr_read_key(r, &tmp))
                        return false;
                }
                break;
            }
            if (*r->p == (k == '{' ? '}' : ']')) {
                r->p++;
                r->depth--;
                continue;
            }
            return jr_fail_at(r, r->p, k == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

bool
t1071i_json_finish(struct t1071i_json_reader *r)
{
    if (T1071I_JSON_MP(r))
        return t1071i_mp_finish(r);
    if (r->failed)
        return false;
    jr_skip_ws(r);
    if (r->p != r->end)
        return jr_fail_at(r, r->p, "trailing characters after the JSON value");
    return true;
}

/* ===== Decoding ===== */

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), or 0
 * with *bad = the length of its maximal ill-formed subpart (>= 1), which
 * becomes one U+FFFD as the Unicode standard recommends. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end, size_t *bad)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((size_t)(end - p) <= i || p[i] < lo || p[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

static unsigned
hex4(const unsigned char *p)
{
    return (unsigned)(jr_hex_val(p[0]) << 12 | jr_hex_val(p[1]) << 8 | jr_hex_val(p[2]) << 4 |
                      jr_hex_val(p[3]));
}

#define PUT(b)                                                                 \
    do {                                                                       \
        if (o < cap)                                                           \
            out[o] = (char)(b);                                                \
        o++;                                                                   \
    } while (0)

size_t
t1071i_json_string_decode(const struct t1071i_json_scalar *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s->text;
    const unsigned char *end = p + s->len;
    size_t o = 0;

    if (!(s->flags & (T1071I_JSON_STR_ESCAPE | T1071I_JSON_STR_HIGH))) {
        if (out)
            memcpy(out, p, s->len < cap ? s->len : cap);
        return s->len;
    }
    if (s->flags & T1071I_JSON_STR_RAW) {
        /* msgpack bytes: no escapes; a NUL and ill-formed UTF-8 become
         * U+FFFD, as "\u0000" and bad bytes do in JSON text. */
        while (p < end) {
            size_t bad = 0, n;

            if (*p != 0 && *p < 0x80) {
                PUT(*p);
                p++;
                continue;
            }
            n = *p ? utf8_seq(p, end, &bad) : 0;
            if (n) {
                for (size_t i = 0; i < n; i++)
                    PUT(p[i]);
                p += n;
                continue;
            }
            p += *p ? bad : 1;
            PUT(0xEF);
            PUT(0xBF);
            PUT(0xBD);
        }
        return o;
    }
    while (p < end) {
        unsigned c = *p, cp;

        if (c < 0x80 && c != '\\') {
            PUT(c);
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t bad = 0, n = utf8_seq(p, end, &bad);

            if (n) {
                for (size_t i = 0; i < n; i++)
                    PUT(p[i]);
                p += n;
                continue;
            }
            p += bad;
            cp = 0xFFFD;
        } else {
            /* An escape, validated when the string was scanned. */
            unsigned char e = p[1];

            p += 2;
            switch (e) {
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                cp = hex4(p);
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;

                    if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                        (lo = hex4(p + 2)) >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    } else {
                        cp = 0xFFFD;
                    }
                } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
                    cp = 0xFFFD;
                }
                break;
            default: /* '"', '\\', '/' */
                cp = e;
                break;
            }
        }
        if (cp < 0x80) {
            PUT(cp);
        } else if (cp < 0x800) {
            PUT(0xC0 | cp >> 6);
            PUT(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            PUT(0xE0 | cp >> 12);
            PUT(0x80 | (cp >> 6 & 0x3F));
            PUT(0x80 | (cp & 0x3F));
        } else {
            PUT(0xF0 | cp >> 18);
            PUT(0x80 | (cp >> 12 & 0x3F));
            PUT(0x80 | (cp >> 6 & 0x3F));
            PUT(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

#undef PUT

char *
t1071i_json_string_dup(const struct t1071i_json_scalar *s, size_t *len_out)
{
    /* Decoding never more than triples the raw length (one byte -> U+FFFD),
     * and the raw length is bounded by the input's. */
    size_t n = t1071i_json_string_decode(s, NULL, 0);
    char *buf = malloc(n + 1);

    if (!buf)
        return NULL;
    t1071i_json_string_decode(s, buf, n);
    buf[n] = '\0';
    if (len_out)
        *len_out = n;
    return buf;
}

/* ===== Numbers ===== */

bool
t1071i_json_number_to_int64(const char *s, size_t n, int64_t *out)
{
    const char *end = s + n, *ip, *fp = NULL;
    size_t ilen, flen = 0, lo, hi, total;
    int64_t exp = 0, e10;
    bool neg = false, eneg = false;
    uint64_t v = 0, limit;

    if (s < end && *s == '-') {
        neg = true;
        s++;
    }
    /* The usual case: at most 18 digits, no leading zero, nothing else. */
    if (s < end && (size_t)(end - s) <= 18 && *s != '0') {
        const char *q = s;
        uint64_t u = 0;
        while (q < end && JR_IS_DIGIT(*q))
            u = u * 10 + (uint64_t)(*q++ - '0');
        if (q == end) {
            *out = neg ? -(int64_t)u : (int64_t)u;
            return true;
        }
    }
    ip = s;
    while (s < end && JR_IS_DIGIT(*s))
        s++;
    ilen = (size_t)(s - ip);
    if (ilen == 0)
        return false;
    if (s < end && *s == '.') {
        fp = ++s;
        while (s < end && JR_IS_DIGIT(*s))
            s++;
        flen = (size_t)(s - fp);
        if (flen == 0)
            return false;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            eneg = *s++ == '-';
        if (s >= end || !JR_IS_DIGIT(*s))
            return false;
        /* Saturate: anything past 1e9 is out of range either way. */
        while (s < end && JR_IS_DIGIT(*s)) {
            if (exp < 1000000000)
                exp = exp * 10 + (*s - '0');
            s++;
        }
        if (eneg)
            exp = -exp;
    }
    if (s != end)
        return false;

    /* The digits D = int ++ frac, value = D * 10^(exp - flen). */
#define DIGIT(k) ((k) < ilen ? ip[(k)] : fp[(k) - ilen])
    total = ilen + flen;
    lo = 0;
    while (lo < total && DIGIT(lo) == '0')
        lo++;
    if (lo == total) {
        *out = 0;
        return true;
    }
    e10 = exp - (int64_t)flen;
    hi = total;
    while (DIGIT(hi - 1) == '0') {
        hi--;
        e10++;
    }
    if (e10 < 0 || (int64_t)(hi - lo) + e10 > 19)
        return false;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t k = lo; k < hi; k++)
        v = v * 10 + (uint64_t)(DIGIT(k) - '0');
#undef DIGIT
    /* At most 19 digits: v < 10^19 < 2^64, so only the scaling can overflow. */
    for (int64_t i = 0; i < e10; i++) {
        if (v > UINT64_MAX / 10)
            return false;
        v *= 10;
    }
    if (v > limit)
        return false;
    *out = !neg ? (int64_t)v : v == limit ? INT64_MIN : -(int64_t)v;
    return true;
}
