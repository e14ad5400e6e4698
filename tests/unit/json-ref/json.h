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

/* t1071-private.h (T1071I_JSON_MAX_DEPTH) must be included first. */
#ifndef T1071I_JSON_MAX_DEPTH
#error "include t1071-private.h before json.h"
#endif

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

/* A scalar as it appears in the input (points into it). */
struct t1071i_json_scalar {
    enum t1071i_json_type type;
    const char *text; /* STRING: raw bytes between the quotes; NUMBER: its text */
    size_t len;
    unsigned flags;   /* STRING: T1071I_JSON_STR_* */
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
};

void t1071i_json_init(struct t1071i_json_reader *r, const char *s, size_t n);

/* Record an error at the current position (the first error sticks).
 * Always returns false. */
bool t1071i_json_fail(struct t1071i_json_reader *r, const char *msg);

/* Skip whitespace and tell the type of the next value from its first byte,
 * without consuming it.  T1071I_JSON_ERROR (and the reader fails) when no
 * value can start there. */
enum t1071i_json_type t1071i_json_peek(struct t1071i_json_reader *r);

/* Read the scalar value that comes next (string, number, true, false,
 * null).  False on error, or when the next value is a container. */
bool t1071i_json_scalar(struct t1071i_json_reader *r, struct t1071i_json_scalar *out);

/* Skip (and validate) the value that comes next, whatever it is. */
bool t1071i_json_skip(struct t1071i_json_reader *r);

/* Consume the '{' or '[' that comes next (the caller peeked it). */
bool t1071i_json_enter(struct t1071i_json_reader *r);

/* Step through an entered object.  *first must be true before the first
 * call.  Returns 1 with the key in *key and the ':' consumed (read or skip
 * the value next), 0 at the closing '}' (consumed), -1 on error. */
int t1071i_json_object_next(struct t1071i_json_reader *r, bool *first,
                            struct t1071i_json_scalar *key);

/* Step through an entered array: 1 when an element follows (read or skip
 * it next), 0 at the closing ']' (consumed), -1 on error. */
int t1071i_json_array_next(struct t1071i_json_reader *r, bool *first);

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

#endif
