/* SPDX-License-Identifier: Apache-2.0 */
/* lib/alert/alert-pack.c against protobuf-c's packer: random Alerts (every
 * field present or absent, empty strings, negative and huge integers, 0..12
 * members and destinations, 0..5 subtechniques) must give the same size
 * and the same bytes. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert/alert-pack.h"

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static char pool[4096][40];
static size_t npool;

static char *
rstr(uint64_t *s)
{
    char *p;
    size_t n;

    if (rnd(s) % 4 == 0)
        return NULL;
    p = pool[npool++ % 4096];
    n = rnd(s) % 39;
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(1 + rnd(s) % 255);
    p[n] = '\0';
    return p;
}

static int64_t
rint64(uint64_t *s)
{
    int64_t v = (int64_t)(rnd(s) >> (rnd(s) % 64));
    return rnd(s) & 1 ? -v : v;
}

static void
test_alert_pack_equals_protobuf_c(void **state)
{
    static uint8_t a_buf[1 << 16], b_buf[1 << 16];
    uint64_t s = 1071;

    (void)state;
    assert_true(t1071i_alert_pack_usable());
    for (int iter = 0; iter < 20000; iter++) {
        T1071__Ecs__V1__Alert a = T1071__ECS__V1__ALERT__INIT;
        T1071__Ecs__V1__AlertThreat th = T1071__ECS__V1__ALERT_THREAT__INIT;
        T1071__Ecs__V1__AlertSubtechnique st[5], *stp[5];
        T1071__Ecs__V1__AlertMember m[12], *mp[12];
        T1071__Ecs__V1__AlertDestination d[12], *dp[12];
        size_t n1, n2, w1, w2;

        a.rule_id = rstr(&s);
        a.rule_name = rstr(&s);
        a.rule_type = rstr(&s);
        a.severity = rstr(&s);
        a.has_risk_score = rnd(&s) & 1;
        a.risk_score = (int32_t)rint64(&s);
        if (rnd(&s) % 3) {
            th.framework = rstr(&s);
            th.tactic_id = rstr(&s);
            th.tactic_name = rstr(&s);
            th.tactic_reference = rstr(&s);
            th.technique_id = rstr(&s);
            th.technique_name = rstr(&s);
            th.technique_reference = rstr(&s);
            th.n_subtechnique = rnd(&s) % 6;
            for (size_t i = 0; i < th.n_subtechnique; i++) {
                t1071__ecs__v1__alert_subtechnique__init(&st[i]);
                st[i].id = rstr(&s);
                st[i].name = rstr(&s);
                st[i].reference = rstr(&s);
                stp[i] = &st[i];
            }
            th.subtechnique = stp;
            a.threat = &th;
        }
        a.group_id = rstr(&s);
        a.key = rstr(&s);
        a.key_field = rstr(&s);
        a.host_name = rstr(&s);
        a.host_id = rstr(&s);
        a.process_entity_id = rstr(&s);
        a.process_name = rstr(&s);
        a.process_executable = rstr(&s);
        a.has_first_ms = rnd(&s) & 1;
        a.first_ms = rint64(&s);
        a.has_last_ms = rnd(&s) & 1;
        a.last_ms = rint64(&s);
        a.n_members = rnd(&s) % 13;
        for (size_t i = 0; i < a.n_members; i++) {
            t1071__ecs__v1__alert_member__init(&m[i]);
            m[i].event_id = rstr(&s);
            m[i].has_timestamp_ms = rnd(&s) & 1;
            m[i].timestamp_ms = rint64(&s);
            m[i].destination_ip = rstr(&s);
            m[i].has_destination_port = rnd(&s) & 1;
            m[i].destination_port = rint64(&s);
            m[i].destination_domain = rstr(&s);
            mp[i] = &m[i];
        }
        a.members = mp;
        a.n_destinations = rnd(&s) % 13;
        for (size_t i = 0; i < a.n_destinations; i++) {
            t1071__ecs__v1__alert_destination__init(&d[i]);
            d[i].ip = rstr(&s);
            d[i].has_port = rnd(&s) & 1;
            d[i].port = rint64(&s);
            d[i].has_count = rnd(&s) & 1;
            d[i].count = (uint32_t)rnd(&s) >> (rnd(&s) % 32);
            d[i].domain = rstr(&s);
            dp[i] = &d[i];
        }
        a.destinations = dp;
        a.reason = rstr(&s);
        a.profile = rstr(&s);
        a.has_sequence_number = rnd(&s) & 1;
        a.sequence_number = rnd(&s) >> (rnd(&s) % 64);
        /* the beacon and tuning verdicts, present or not */
        {
            static T1071__Ecs__V1__AlertBeacon b;
            static T1071__Ecs__V1__AlertTuning t;
            t1071__ecs__v1__alert_beacon__init(&b);
            t1071__ecs__v1__alert_tuning__init(&t);
            b.has_score = rnd(&s) & 1;
            b.score = (double)(rnd(&s) % 1001) / 1000;
            b.has_period_ms = rnd(&s) & 1;
            b.period_ms = rint64(&s);
            b.has_jitter = rnd(&s) & 1;
            b.jitter = (double)(rnd(&s) % 997) / 991;
            b.scope = rstr(&s);
            b.destination = rstr(&s);
            b.has_intervals = rnd(&s) & 1;
            b.intervals = (uint32_t)rnd(&s);
            b.has_size_known = rnd(&s) & 1;
            b.size_known = rnd(&s) & 1;
            b.has_rita_ts_score = rnd(&s) & 1;
            b.rita_ts_score = -1;
            t.has_suppressed = rnd(&s) & 1;
            t.suppressed = rnd(&s) & 1;
            t.reason = rstr(&s);
            t.has_sequences = rnd(&s) & 1;
            t.sequences = rnd(&s) >> (rnd(&s) % 64);
            t.has_raw_score = rnd(&s) & 1;
            t.raw_score = 0.5;
            a.beacon = rnd(&s) % 3 ? &b : NULL;
            a.tuning = rnd(&s) % 3 ? &t : NULL;
        }

        n1 = t1071__ecs__v1__alert__get_packed_size(&a);
        n2 = t1071i_alert_packed_size(&a);
        assert_int_equal(n1, n2);
        assert_true(n1 <= sizeof(a_buf));
        w1 = t1071__ecs__v1__alert__pack(&a, a_buf);
        w2 = t1071i_alert_pack(&a, b_buf);
        assert_int_equal(w1, n1);
        assert_int_equal(w2, n2);
        assert_memory_equal(a_buf, b_buf, n1);
        {
            size_t n3 = 0;
            uint8_t *c = t1071i_alert_encode_at(&a, malloc, 0, &n3);
            assert_non_null(c);
            assert_int_equal(n3, n1);
            assert_memory_equal(a_buf, c, n1);
            free(c);
        }
        {
            /* With every hint (lengths, some unknown; the threat block
             * packed beforehand) and a header before the bytes. */
            struct t1071i_mlen ml[12], dl[12];
            static uint8_t tb[4096];
            struct t1071i_alert_hints h = {ml, dl, NULL, 0};
            size_t n4 = 0, head = 1 + rnd(&s) % 16;
            uint8_t *c;
            for (size_t i = 0; i < a.n_members; i++) {
                const T1071__Ecs__V1__AlertMember *mm = a.members[i];
                bool known = rnd(&s) % 4;
                ml[i].id = mm->event_id && known ? (uint32_t)strlen(mm->event_id) + 1 : 0;
                ml[i].ip = mm->destination_ip && known ? (uint32_t)strlen(mm->destination_ip) + 1 : 0;
                ml[i].domain = mm->destination_domain && known
                                   ? (uint32_t)strlen(mm->destination_domain) + 1 : 0;
            }
            for (size_t i = 0; i < a.n_destinations; i++) {
                const T1071__Ecs__V1__AlertDestination *dd = a.destinations[i];
                dl[i].id = 0;
                dl[i].ip = dd->ip ? (uint32_t)strlen(dd->ip) + 1 : 0;
                dl[i].domain = dd->domain ? (uint32_t)strlen(dd->domain) + 1 : 0;
            }
            if (a.threat && rnd(&s) % 2) {
                h.threat_len = t1071i_alert_threat_pack(a.threat, tb, sizeof(tb));
                assert_true(h.threat_len > 0 || (!a.threat->framework && !a.threat->tactic_id &&
                                                 !a.threat->tactic_name));
                h.threat = tb;
            }
            c = t1071i_alert_encode_hinted(&a, &h, malloc, head, &n4);
            assert_non_null(c);
            assert_int_equal(n4, n1);
            assert_memory_equal(a_buf, c + head, n1);
            free(c);
        }
    }
}

/* t1071i_format_i64 is snprintf's %" PRId64 "  (the group id hashes it). */
static void
test_format_i64(void **state)
{
    static const int64_t edge[] = {0, 1, -1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000,
                                   99999999, 100000000, 100000001, 999999999999,
                                   1732780800000, 253402300799999, 9999999999999999,
                                   10000000000000000, INT64_MAX, INT64_MIN, INT64_MIN + 1,
                                   -100000000, -1732780800000};
    char a[32], b[32];
    uint64_t s = 6;

    (void)state;
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        size_t n = t1071i_format_i64(edge[i], a);
        snprintf(b, sizeof(b), "%" PRId64, edge[i]);
        assert_string_equal(a, b);
        assert_int_equal(n, strlen(b));
    }
    for (int i = 0; i < 2000000; i++) {
        int64_t v = rint64(&s);
        size_t n = t1071i_format_i64(v, a);
        snprintf(b, sizeof(b), "%" PRId64, v);
        assert_int_equal(n, strlen(b));
        assert_memory_equal(a, b, n + 1);
    }
    /* every power of ten and its neighbours */
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10)
        for (int64_t d = -1; d <= 1; d++)
            for (int sg = -1; sg <= 1; sg += 2) {
                int64_t v = sg * (p + d);
                t1071i_format_i64(v, a);
                snprintf(b, sizeof(b), "%" PRId64, v);
                assert_string_equal(a, b);
            }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_pack_equals_protobuf_c),
        cmocka_unit_test(test_format_i64),
    };
    return cmocka_run_group_tests_name("alert-pack", tests, NULL, NULL);
}
