/* SPDX-License-Identifier: Apache-2.0 */
/* ECS dates <-> ms since the epoch, in pure integer arithmetic (Howard
 * Hinnant's days_from_civil / civil_from_days): no timegm, no time zone
 * database, no locale, no clock.
 *
 * Accepted: YYYY-MM-DD, optionally followed by 'T' (or 't' or ' ') and
 * HH:MM, HH:MM:SS or HH:MM:SS.fff... (any number of fraction digits,
 * truncated to ms), optionally followed by 'Z' / 'z' or an offset +HH:MM,
 * +HHMM or +HH (or '-').  No offset means UTC.  Years 0001..9999; month,
 * day (leap years included), hour 00..23, minute and second 00..59 and the
 * offset's 00..23 / 00..59 are range-checked, so leap second 60 and hour 24
 * are rejected.  Nothing else may precede or follow. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/timefmt.h"

#define MS_PER_DAY INT64_C(86400000)

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y_out, unsigned *m_out, unsigned *d_out)
{
    int64_t era, y;
    unsigned doe, yoe, doy, mp, d, m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    *y_out = y + (m <= 2);
    *m_out = m;
    *d_out = d;
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* Exactly @p n digits at *p (within end): their value, or -1. */
static int
digits(const char **p, const char *end, int n)
{
    int v = 0;

    if (end - *p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)(*p)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

bool
t1071i_parse_time(const char *s, size_t n, int64_t *ms_out)
{
    const char *p = s, *end;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;

    /* The JSON reader hands an empty string over as (NULL, 0): no
     * arithmetic on NULL, not even + 0 (undefined in C). */
    if (!s)
        return false;
    end = s + n;
    y = digits(&p, end, 4);
    if (y < 1 || p >= end || *p++ != '-')
        return false;
    mo = digits(&p, end, 2);
    if (mo < 1 || mo > 12 || p >= end || *p++ != '-')
        return false;
    d = digits(&p, end, 2);
    if (d < 1 || d > (int)days_in_month((unsigned)y, (unsigned)mo))
        return false;
    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return false;
        p++;
        h = digits(&p, end, 2);
        if (h < 0 || h > 23 || p >= end || *p++ != ':')
            return false;
        mi = digits(&p, end, 2);
        if (mi < 0 || mi > 59)
            return false;
        if (p < end && *p == ':') {
            p++;
            sec = digits(&p, end, 2);
            if (sec < 0 || sec > 59)
                return false;
            if (p < end && *p == '.') {
                int k = 0;

                p++;
                if (p >= end || *p < '0' || *p > '9')
                    return false;
                for (; p < end && *p >= '0' && *p <= '9'; p++, k++) {
                    if (k < 3)
                        ms = ms * 10 + (*p - '0');
                }
                for (; k < 3; k++)
                    ms *= 10;
            }
        }
        if (p < end) {
            if (*p == 'Z' || *p == 'z') {
                p++;
            } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '+' ? 1 : -1, oh, om = 0;

                oh = digits(&p, end, 2);
                if (oh < 0 || oh > 23)
                    return false;
                if (p < end) {
                    if (*p == ':')
                        p++;
                    om = digits(&p, end, 2);
                    if (om < 0 || om > 59)
                        return false;
                }
                off_min = sign * (oh * 60 + om);
            } else {
                return false;
            }
        }
        if (p != end)
            return false;
    }
    *ms_out = days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY +
              ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms - (int64_t)off_min * 60000;
    return true;
}

/* Write @p n digits of @p v (zero-padded) at out; returns out + n. */
static char *
put_digits(char *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return out + n;
}

void
t1071i_format_time(int64_t ms, char out[32])
{
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY, y;
    unsigned m, d;
    char *p = out;

    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) {
        p = put_digits(p, (uint64_t)y, 4);
    } else {
        /* ISO 8601 expanded years, for absurd values only. */
        uint64_t a = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
        int nd = 0;

        for (uint64_t t = a; t; t /= 10)
            nd++;
        *p++ = y < 0 ? '-' : '+';
        p = put_digits(p, a, nd < 4 ? 4 : nd);
    }
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, (uint64_t)(rem / 3600000), 2);
    *p++ = ':';
    p = put_digits(p, (uint64_t)(rem / 60000 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (uint64_t)(rem / 1000 % 60), 2);
    *p++ = '.';
    p = put_digits(p, (uint64_t)(rem % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}

/* ===== Durations ===== */

bool
t1071i_parse_duration(const char *s, int64_t *ms_out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    const char *p = s;
    int64_t n = 0;

    if (!s || !*s)
        return false;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (INT64_MAX - 9) / 10)
            return false;
        n = n * 10 + (*p - '0');
    }
    if (*p == '\0' || !strcmp(p, " ")) {
        /* A bare number is allowed only for zero: "30" is ambiguous. */
        if (n != 0)
            return false;
        *ms_out = 0;
        return true;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (!strcmp(p, units[i].unit)) {
            if (n > INT64_MAX / units[i].ms)
                return false;
            *ms_out = n * units[i].ms;
            return true;
        }
    }
    return false;
}

void
t1071i_format_duration(int64_t ms, char out[32])
{
    if (ms == 0)
        snprintf(out, 32, "0s");
    else if (ms % 86400000 == 0)
        snprintf(out, 32, "%" PRId64 "d", ms / 86400000);
    else if (ms % 3600000 == 0)
        snprintf(out, 32, "%" PRId64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(out, 32, "%" PRId64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(out, 32, "%" PRId64 "s", ms / 1000);
    else
        snprintf(out, 32, "%" PRId64 "ms", ms);
}

/* ===== Decimal text ===== */

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Two digits of @p v (< 100) at @p w. */
static void
put2(char *w, uint32_t v)
{
    memcpy(w, digit_pairs + 2 * v, 2);
}

/* Written in place from the right, eight digits per 64-bit division and
 * two per 32-bit step: the digit-at-a-time loop was a chain of 13
 * dependent 64-bit divisions per millisecond timestamp, ten per alert. */
size_t
t1071i_format_i64(int64_t v, char out[32])
{
    static const uint64_t pow10[20] = {
        UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000), UINT64_C(10000),
        UINT64_C(100000), UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000),
        UINT64_C(1000000000), UINT64_C(10000000000), UINT64_C(100000000000),
        UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
        UINT64_C(1000000000000000), UINT64_C(10000000000000000),
        UINT64_C(100000000000000000), UINT64_C(1000000000000000000),
        UINT64_C(10000000000000000000)};
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t len = v < 0, digits = 1;
    char *p;
    uint32_t w;

    while (digits < 20 && u >= pow10[digits])
        digits++;
    if (v < 0)
        out[0] = '-';
    len += digits;
    out[len] = '\0';
    p = out + len;  /* digits written from here leftwards */
    while (u >= 100000000u) {
        uint32_t lo = (uint32_t)(u % 100000000u), a = lo / 10000u, b = lo % 10000u;
        u /= 100000000u;
        p -= 8;
        put2(p, a / 100u);
        put2(p + 2, a % 100u);
        put2(p + 4, b / 100u);
        put2(p + 6, b % 100u);
    }
    w = (uint32_t)u;
    while (w >= 100u) {
        p -= 2;
        put2(p, w % 100u);
        w /= 100u;
    }
    if (w >= 10u)
        put2(p - 2, w);
    else
        p[-1] = (char)('0' + w);
    return len;
}
