/* SPDX-License-Identifier: Apache-2.0 */
/* t1071i_ecs_json_to_packed (arena, used by t1071_event_from_json) against
 * the malloc reader plus protobuf-c, the reference: the same status and
 * the same bytes for every line of every NDJSON fixture, every JSON and
 * NDJSON fuzz corpus file (whole and line by line), and mutations. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static size_t n_checked, n_ok;

static void
check(const char *json, size_t len, uint64_t recno)
{
    t1071i_event *ev = NULL;
    uint8_t *ref = NULL, *got = NULL;
    size_t ref_len = 0, got_len = 0;
    int ref_rc = t1071i_ecs_json_to_event(json, len, &ev, NULL, 0);
    int got_rc;

    if (ref_rc == T1071_OK) {
        if (recno) {
            ev->has_record_number = 1;
            ev->record_number = recno;
        }
        ref_len = t1071__ecs__v1__event__get_packed_size(ev);
        if (ref_len > T1071_MAX_EVENT_BYTES) {
            ref_rc = T1071_E_TOO_LARGE;
        } else {
            ref = malloc(ref_len + 1);
            assert_non_null(ref);
            t1071__ecs__v1__event__pack(ev, ref);
        }
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
    }
    got_rc = t1071i_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &got, &got_len,
                                       3);
    if (got_rc != ref_rc || got_len != ref_len ||
        (ref_rc == T1071_OK && memcmp(ref, got + 3, ref_len))) {
        fprintf(stderr, "differs (rc %d vs %d, %zu vs %zu bytes) on: %.*s\n", got_rc, ref_rc,
                got_len, ref_len, (int)(len < 300 ? len : 300), json);
        fail();
    }
    n_checked++;
    n_ok += ref_rc == T1071_OK;
    free(ref);
    free(got);
}

static void
check_text(const char *buf, size_t n, bool lines, uint64_t *recno)
{
    check(buf, n, ++*recno);
    if (!lines)
        return;
    for (size_t off = 0; off < n;) {
        const char *nl = memchr(buf + off, '\n', n - off);
        size_t l = nl ? (size_t)(nl - (buf + off)) : n - off;
        check(buf + off, l, (*recno)++ % 3 ? *recno : 0);
        off += l + 1;
    }
}

static void
check_dir(const char *dir, bool lines, const char *suffix, uint64_t *recno)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[4096 + 512];
        FILE *f;
        static char buf[1 << 22];
        size_t n;

        if (e->d_name[0] == '.')
            continue;
        if (suffix && (strlen(e->d_name) < strlen(suffix) ||
                       strcmp(e->d_name + strlen(e->d_name) - strlen(suffix), suffix)))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        if (!f)
            continue;
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        check_text(buf, n, lines, recno);
        /* fuzz_json / fuzz_ndjson read a selector byte first */
        if (n > 1 && !suffix)
            check_text(buf + 1, n - 1, lines, recno);
    }
    closedir(d);
}

static void
test_json_packed_equals_reference_on_fixtures_and_corpora(void **state)
{
    static const char *const dirs[][2] = {
        {"tests/integration/fixtures/eql-vectors", ".ndjson"},
        {"tests/integration/fixtures/sources", ".ndjson"},
        {"tests/integration/fixtures/real", ".ndjson"},
        {"examples/sample", ".ndjson"},
        {"tests/fuzz/corpus/json", NULL},
        {"tests/fuzz/corpus/ndjson", NULL},
    };
    uint64_t recno = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char dir[2048];
        snprintf(dir, sizeof(dir), "%s/%s", T1071_SRCDIR, dirs[i][0]);
        check_dir(dir, true, dirs[i][1], &recno);
    }
    assert_true(n_checked > 1000);
    assert_true(n_ok > 300);
}

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void
test_json_packed_equals_reference_on_mutations(void **state)
{
    static const char *const lines[] = {
        "{\"@timestamp\":\"2024-11-28T08:00:00.013Z\",\"event\":{\"id\":\"g0\",\"kind\":\"event\","
        "\"category\":[\"network\"],\"type\":[\"connection\",\"start\"],\"dataset\":\"x\"},"
        "\"network\":{\"direction\":\"egress\",\"transport\":\"tcp\"},\"source\":{\"ip\":"
        "\"10.7.119.121\",\"port\":54789},\"destination\":{\"ip\":[\"203.0.7.119\",\"::1\"],"
        "\"port\":[443,\"80\",4.43e2]},\"process\":{\"entity_id\":\"{1}\",\"pid\":2911,\"name\":"
        "\"c.exe\",\"executable\":\"C:\\\\W\\\\c.exe\"},\"host\":{\"id\":\"h\",\"name\":\"ws\"},"
        "\"user\":{\"name\":\"u\\u00e9\"},\"tls.client.server_name\":\"a.b\"}",
        "{\"timestamp\":\"2024-01-01T00:00:00.000000+0000\",\"flow_id\":123,\"event_type\":\"flow\","
        "\"src_ip\":\"10.0.0.1\",\"src_port\":1,\"dest_ip\":\"8.8.8.8\",\"dest_port\":53,\"proto\":"
        "\"UDP\",\"app_proto\":\"dns\",\"flow\":{\"bytes_toserver\":1,\"end\":\"x\"},\"dns\":"
        "{\"rrname\":\"a.example\"}}",
    };
    char buf[2048];
    uint64_t s = 1071;

    (void)state;
    for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
        size_t len0 = strlen(lines[l]);
        check(lines[l], len0, 7);
        for (int i = 0; i < 20000; i++) {
            size_t n = len0;
            memcpy(buf, lines[l], n);
            for (int k = 1 + (int)(rnd(&s) % 3); k > 0; k--) {
                size_t at = rnd(&s) % n;
                switch (rnd(&s) % 3) {
                case 0:
                    buf[at] = "\"{}[],:\\0123456789.e-nulltrue \x01\xc3\xa9"[rnd(&s) % 33];
                    break;
                case 1:
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                    break;
                default:
                    if (n + 8 < sizeof(buf)) {
                        size_t k2 = 1 + rnd(&s) % 8, from = rnd(&s) % n;
                        memmove(buf + at + k2, buf + at, n - at);
                        for (size_t j = 0; j < k2; j++)
                            buf[at + j] = lines[l][(from + j) % len0];
                        n += k2;
                    }
                    break;
                }
            }
            check(buf, n, rnd(&s) % 2);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_packed_equals_reference_on_fixtures_and_corpora),
        cmocka_unit_test(test_json_packed_equals_reference_on_mutations),
    };
    return cmocka_run_group_tests_name("json-packed", tests, NULL, NULL);
}
