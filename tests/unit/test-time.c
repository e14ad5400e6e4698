/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: ECS dates <-> ms since the epoch (lib/util/timefmt.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

#define DAY_MS INT64_C(86400000)

static bool
parse(const char *s, int64_t *ms)
{
    return t1071i_parse_time(s, strlen(s), ms);
}

static int64_t
parse_ok(const char *s)
{
    int64_t ms = 0;

    if (!parse(s, &ms))
        fail_msg("rejected %s", s);
    return ms;
}

/* Days from 1970-01-01 to y-01-01, counted the slow way. */
static int64_t
naive_days_to_year(int y)
{
    int64_t days = 0;

    for (int k = 1970; k < y; k++)
        days += (k % 4 == 0 && (k % 100 != 0 || k % 400 == 0)) ? 366 : 365;
    for (int k = y; k < 1970; k++)
        days -= (k % 4 == 0 && (k % 100 != 0 || k % 400 == 0)) ? 366 : 365;
    return days;
}

/* ===== Parsing ===== */

static void
test_parse_time_utc_z_parsed(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-01-01T00:00:00.000Z"), INT64_C(1704067200000));
    assert_int_equal(parse_ok("2024-01-01T00:00:00Z"), INT64_C(1704067200000));
    assert_int_equal(parse_ok("2020-04-30T00:06:38.899Z"), INT64_C(1588205198899));
    assert_int_equal(parse_ok("2019-04-03T17:36:46.021Z"), INT64_C(1554313006021));
    assert_int_equal(parse_ok("2024-01-01t00:00:00z"), INT64_C(1704067200000));
}

static void
test_parse_time_epoch_1970_is_zero(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.001Z"), 1);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("1970-01-02T00:00:00Z"), DAY_MS);
}

static void
test_parse_time_offsets_applied(void **state)
{
    const int64_t base = INT64_C(1704067200000); /* 2024-01-01T00:00:00Z */

    (void)state;
    assert_int_equal(parse_ok("2024-01-01T01:00:00+01:00"), base);
    assert_int_equal(parse_ok("2024-01-01T01:00:00+0100"), base);
    assert_int_equal(parse_ok("2024-01-01T01:00:00+01"), base);
    assert_int_equal(parse_ok("2023-12-31T19:00:00-05:00"), base);
    assert_int_equal(parse_ok("2023-12-31T18:30:00-0530"), base);
    assert_int_equal(parse_ok("2024-01-01T05:45:00.000+05:45"), base);
    assert_int_equal(parse_ok("2024-01-01T00:00:00+00:00"), base);
    assert_int_equal(parse_ok("2024-01-01T00:00:00-00:00"), base);
    assert_int_equal(parse_ok("2024-01-01T23:59:00+23:59"), base);
    assert_int_equal(parse_ok("2023-12-31T00:01:00-23:59"), base);
    /* An offset can cross a year boundary, also at the epoch. */
    assert_int_equal(parse_ok("1970-01-01T00:00:00+01:00"), -3600000);
}

static void
test_parse_time_no_offset_is_utc(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-01-01T00:00:00"), INT64_C(1704067200000));
    assert_int_equal(parse_ok("2024-01-01T00:00:00.250"), INT64_C(1704067200250));
    assert_int_equal(parse_ok("2024-01-01T10:20"), INT64_C(1704067200000) + 37200000);
    assert_int_equal(parse_ok("2024-01-01T10:20Z"), INT64_C(1704067200000) + 37200000);
}

/* Regression (clang UBSan, pointer-overflow): the JSON reader passes an
 * empty string as (NULL, 0); it is refused without computing NULL + 0. */
static void
test_parse_time_empty_and_null_refused(void **state)
{
    int64_t ms = 7;

    (void)state;
    assert_false(t1071i_parse_time(NULL, 0, &ms));
    assert_false(t1071i_parse_time("", 0, &ms));
    assert_int_equal(ms, 7);
}

static void
test_parse_time_fraction_truncated_to_ms(void **state)
{
    const int64_t base = INT64_C(1704067200000);

    (void)state;
    assert_int_equal(parse_ok("2024-01-01T00:00:00.1Z"), base + 100);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.12Z"), base + 120);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.123Z"), base + 123);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.1239Z"), base + 123);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.999999999Z"), base + 999);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.000001Z"), base);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.12345678901234567890123456789012345Z"),
                     base + 123);
    assert_int_equal(parse_ok("2024-01-01T00:00:00.5+01:00"), base + 500 - 3600000);
    /* Truncation, not floor, before the epoch: the fraction adds. */
    assert_int_equal(parse_ok("1969-12-31T23:59:59.9999Z"), -1);
}

static void
test_parse_time_space_separator_accepted(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-01-01 00:00:00Z"), INT64_C(1704067200000));
    assert_int_equal(parse_ok("2024-01-01 01:00:00.000+01:00"), INT64_C(1704067200000));
}

static void
test_parse_time_date_only_is_midnight_utc(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-01-01"), INT64_C(1704067200000));
    assert_int_equal(parse_ok("1970-01-01"), 0);
}

static void
test_parse_time_leap_years_checked(void **state)
{
    int64_t ms;

    (void)state;
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), INT64_C(1709164800000));
    assert_int_equal(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"),
                     2 * DAY_MS);
    assert_int_equal(parse_ok("2023-03-01T00:00:00Z") - parse_ok("2023-02-28T00:00:00Z"),
                     DAY_MS);
    assert_true(parse("2000-02-29T00:00:00Z", &ms));
    assert_true(parse("2400-02-29T00:00:00Z", &ms));
    assert_true(parse("0004-02-29T00:00:00Z", &ms));
    assert_false(parse("2023-02-29T00:00:00Z", &ms));
    assert_false(parse("1900-02-29T00:00:00Z", &ms));
    assert_false(parse("2100-02-29T00:00:00Z", &ms));
    assert_false(parse("0001-02-29", &ms));
}

static void
test_parse_time_year_limits_accepted(void **state)
{
    int64_t ms;

    (void)state;
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), INT64_C(-62135596800000));
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));
    assert_int_equal(parse_ok("0001-01-01T00:00:00-01:00"), INT64_C(-62135593200000));
    assert_false(parse("0000-01-01T00:00:00Z", &ms));
    assert_false(parse("10000-01-01T00:00:00Z", &ms));
    assert_false(parse("-0001-01-01T00:00:00Z", &ms));
    assert_false(parse("+2024-01-01T00:00:00Z", &ms));
}

static void
test_parse_time_matches_naive_day_count(void **state)
{
    (void)state;
    for (int y = 1; y <= 9999; y++) {
        char buf[32];
        int64_t ms = 0;

        snprintf(buf, sizeof(buf), "%04d-01-01T00:00:00Z", y);
        assert_true(parse(buf, &ms));
        if (ms != naive_days_to_year(y) * DAY_MS)
            fail_msg("%s: %lld", buf, (long long)ms);
    }
}

static void
test_parse_time_bad_dates_rejected(void **state)
{
    static const char *const bad[] = {
        "", "2024", "2024-01", "2024-01-01T", "2024-01-01T10", "2024-01-01T10:",
        "2024-01-01T10:00:", "2024-01-01T10:00:00.", "2024-01-01T10:00:00.Z",
        "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z",
        "2024-01-32T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z",
        "2024-06-31T00:00:00Z", "2024-09-31T00:00:00Z", "2024-11-31T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T25:00:00Z", "2024-01-01T00:60:00Z",
        "2024-01-01T00:00:60Z", "2024-01-01T00:00:61Z", "2024-01-01T00:00:00+24:00",
        "2024-01-01T00:00:00+01:60", "2024-01-01T00:00:00+1", "2024-01-01T00:00:00+01:",
        "2024-01-01T00:00:00+01:0", "2024-01-01T00:00:00+010", "2024-01-01T00:00:00+01:00:00",
        "2024-01-01T00:00:00ZZ", "2024-01-01T00:00:00Z ", " 2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00 Z", "2024-01-01T00:00:00,5Z", "2024-01-01X00:00:00Z",
        "2024-01-01  00:00:00Z", "2024-1-01T00:00:00Z", "2024-01-1T00:00:00Z",
        "24-01-01T00:00:00Z", "2024/01/01T00:00:00Z", "20240101T000000Z",
        "2024-01-01T0:00:00Z", "2024-01-01T00:0:00Z", "2024-01-01T00:00:0Z",
        "2024-01-01T00:00:00GMT", "2024-01-01T00:00:00UTC", "yesterday", "1704067200000",
        "2024-01-01T00:00:00.+01:00", "2024-0a-01", "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x94-01-01",
        "2024-01-01Z", "2024-01-01+01:00",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 777;

        if (parse(bad[i], &ms))
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, 777); /* untouched on failure */
    }
}

static void
test_parse_time_length_bounds_input(void **state)
{
    static const char s[] = "2024-01-01T00:00:00.123Zgarbage";
    int64_t ms = 0;

    (void)state;
    assert_true(t1071i_parse_time(s, 24, &ms));
    assert_int_equal(ms, INT64_C(1704067200123));
    assert_true(t1071i_parse_time(s, 10, &ms)); /* the date alone */
    assert_int_equal(ms, INT64_C(1704067200000));
    assert_false(t1071i_parse_time(s, 25, &ms));
    assert_false(t1071i_parse_time(s, 0, &ms));
    assert_false(t1071i_parse_time(NULL, 0, &ms));
    /* Every prefix that is not a whole date is rejected without overreading. */
    for (size_t n = 0; n < 24; n++) {
        bool whole = n == 10 || n == 16 || n == 19 || n >= 21;

        assert_int_equal(t1071i_parse_time(s, n, &ms), whole);
    }
}

/* ===== Formatting ===== */

static void
assert_format(int64_t ms, const char *want)
{
    char out[32];

    memset(out, 'x', sizeof(out));
    t1071i_format_time(ms, out);
    assert_string_equal(out, want);
}

static void
test_format_time_known_values(void **state)
{
    (void)state;
    assert_format(0, "1970-01-01T00:00:00.000Z");
    assert_format(1, "1970-01-01T00:00:00.001Z");
    assert_format(-1, "1969-12-31T23:59:59.999Z");
    assert_format(-DAY_MS, "1969-12-31T00:00:00.000Z");
    assert_format(INT64_C(1704067200123), "2024-01-01T00:00:00.123Z");
    assert_format(INT64_C(1709164800000), "2024-02-29T00:00:00.000Z");
    assert_format(INT64_C(1709251199999), "2024-02-29T23:59:59.999Z");
    assert_format(INT64_C(951782400000), "2000-02-29T00:00:00.000Z");
    assert_format(INT64_C(1588205198899), "2020-04-30T00:06:38.899Z");
}

static void
test_format_time_year_limits_formatted(void **state)
{
    (void)state;
    assert_format(INT64_C(-62135596800000), "0001-01-01T00:00:00.000Z");
    assert_format(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
    assert_format(INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z");
    assert_format(INT64_C(253402300800000), "+10000-01-01T00:00:00.000Z");
    assert_format(INT64_C(-62167219200001), "-0001-12-31T23:59:59.999Z");
}

static void
test_format_time_extreme_values_terminated(void **state)
{
    const int64_t v[] = {INT64_MAX, INT64_MIN, INT64_MIN + 1, INT64_MAX - 1};

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[32];

        memset(out, 'x', sizeof(out));
        t1071i_format_time(v[i], out);
        assert_non_null(memchr(out, '\0', sizeof(out)));
        assert_true(out[0] == '+' || out[0] == '-');
        assert_int_equal(out[strlen(out) - 1], 'Z');
    }
    assert_format(INT64_MAX, "+292278994-08-17T07:12:55.807Z");
    assert_format(INT64_MIN, "-292275055-05-16T16:47:04.192Z");
}

static void
test_format_time_round_trip_exact(void **state)
{
    const int64_t lo = INT64_C(-62135596800000), hi = INT64_C(253402300799999);
    /* A step coprime with a day, a second and a ms walks every field. */
    const int64_t step = INT64_C(86400000) * 29 + INT64_C(3600000) * 7 + 61 * 1000 + 7;
    size_t n = 0;

    (void)state;
    for (int64_t ms = lo; ms <= hi; ms += step, n++) {
        char out[32];
        int64_t back = 0;

        t1071i_format_time(ms, out);
        assert_int_equal(strlen(out), 24);
        if (!t1071i_parse_time(out, 24, &back) || back != ms)
            fail_msg("%lld -> %s -> %lld", (long long)ms, out, (long long)back);
    }
    assert_true(n > 100000);
    /* The ends themselves. */
    {
        const int64_t ends[] = {lo, hi, 0, -1, 1};

        for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
            char out[32];
            int64_t back = 0;

            t1071i_format_time(ends[i], out);
            assert_true(t1071i_parse_time(out, strlen(out), &back));
            assert_int_equal(back, ends[i]);
        }
    }
}

static void
test_format_time_parse_round_trip_canonical(void **state)
{
    static const char *const canon[] = {
        "1970-01-01T00:00:00.000Z", "2024-02-29T12:34:56.789Z", "1999-12-31T23:59:59.999Z",
        "2000-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
        "1900-03-01T00:00:00.000Z", "2100-02-28T00:00:00.000Z", "1969-07-20T20:17:40.000Z",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++)
        assert_format(parse_ok(canon[i]), canon[i]);
    /* Other spellings of the same instant format canonically. */
    assert_format(parse_ok("2024-01-01 01:00:00.5+01:00"), "2024-01-01T00:00:00.500Z");
    assert_format(parse_ok("2023-12-31T19:00:00-0500"), "2024-01-01T00:00:00.000Z");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time_utc_z_parsed),
        cmocka_unit_test(test_parse_time_epoch_1970_is_zero),
        cmocka_unit_test(test_parse_time_offsets_applied),
        cmocka_unit_test(test_parse_time_no_offset_is_utc),
        cmocka_unit_test(test_parse_time_empty_and_null_refused),
        cmocka_unit_test(test_parse_time_fraction_truncated_to_ms),
        cmocka_unit_test(test_parse_time_space_separator_accepted),
        cmocka_unit_test(test_parse_time_date_only_is_midnight_utc),
        cmocka_unit_test(test_parse_time_leap_years_checked),
        cmocka_unit_test(test_parse_time_year_limits_accepted),
        cmocka_unit_test(test_parse_time_matches_naive_day_count),
        cmocka_unit_test(test_parse_time_bad_dates_rejected),
        cmocka_unit_test(test_parse_time_length_bounds_input),
        cmocka_unit_test(test_format_time_known_values),
        cmocka_unit_test(test_format_time_year_limits_formatted),
        cmocka_unit_test(test_format_time_extreme_values_terminated),
        cmocka_unit_test(test_format_time_round_trip_exact),
        cmocka_unit_test(test_format_time_parse_round_trip_canonical),
    };

    return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
