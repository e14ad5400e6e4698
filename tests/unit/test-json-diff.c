/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON readers against their frozen reference (tests/unit/json-ref/:
 * lib/input/json.c and lib/input/ecs-json.c as they were before the NDJSON fast path,
 * names renamed ref_*).  For every input: t1071i_ecs_json_to_packed (the
 * reader behind t1071_event_from_json and so t1071-replay) gives the same
 * status and the same bytes, and t1071i_ecs_json_to_event (behind
 * t1071_feed_json) the same status, the same error text (message and byte
 * offset) and the same event.  Inputs: every line of every NDJSON fixture,
 * the JSON and NDJSON fuzz corpora (whole and line by line), strings with
 * every special byte at every offset of every short length (the 8-byte
 * string scan), and mutated lines. */
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

int ref_ecs_json_to_event(const char *json, size_t len, t1071i_event **out, char *errbuf,
                          size_t errlen);
int ref_ecs_json_to_packed(const char *json, size_t len, uint64_t record_number,
                           size_t max_bytes, uint8_t **out, size_t *out_len, size_t headroom);

static size_t n_checked, n_ok;

static uint8_t *
pack(const t1071i_event *ev, size_t *n)
{
    uint8_t *b;

    *n = t1071__ecs__v1__event__get_packed_size(ev);
    b = malloc(*n + 1);
    assert_non_null(b);
    t1071__ecs__v1__event__pack(ev, b);
    return b;
}

static void
differs(const char *what, const char *json, size_t len)
{
    fprintf(stderr, "%s differs on (%zu bytes): %.*s\n", what, len, (int)(len < 400 ? len : 400),
            json);
    fail();
}

/* A raw shape (lib/input/shapes.c: Sysmon, Zeek), which the frozen reference
 * does not know: the two readers of today must agree with each other
 * (arena and packed against malloc'ed and protobuf-c).  True when @p json
 * is one (and was checked so). */
static bool
check_raw_shape(const char *json, size_t len, uint64_t recno)
{
    t1071i_event *ev = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t an = 0, bn = 0;
    int rc = t1071i_ecs_json_to_event(json, len, &ev, NULL, 0);

    if (rc != T1071_OK || !ev->input_shape) {
        if (ev)
            t1071__ecs__v1__event__free_unpacked(ev, NULL);
        return false;
    }
    if (recno) {
        ev->has_record_number = 1;
        ev->record_number = recno;
    }
    a = pack(ev, &an);
    if (t1071i_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &b, &bn, 5) !=
            T1071_OK ||
        an != bn || memcmp(a, b + 5, an))
        differs("raw shape: to_packed against to_event", json, len);
    free(a);
    free(b);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    n_checked++;
    n_ok++;
    return true;
}

static void
check(const char *json, size_t len, uint64_t recno)
{
    uint8_t *ref = NULL, *got = NULL;
    size_t ref_len = 0, got_len = 0;
    int ref_rc, got_rc;
    t1071i_event *ref_ev = NULL, *got_ev = NULL;
    char ref_err[256], got_err[256];

    if (check_raw_shape(json, len, recno))
        return;

    ref_rc = ref_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &ref, &ref_len, 5);
    got_rc = t1071i_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &got, &got_len,
                                       5);
    if (got_rc != ref_rc || got_len != ref_len ||
        (ref_rc == T1071_OK && memcmp(ref + 5, got + 5, ref_len)))
        differs("to_packed", json, len);
    free(ref);
    free(got);

    ref_rc = ref_ecs_json_to_event(json, len, &ref_ev, ref_err, sizeof(ref_err));
    got_rc = t1071i_ecs_json_to_event(json, len, &got_ev, got_err, sizeof(got_err));
    if (got_rc != ref_rc || strcmp(got_err, ref_err))
        differs("to_event status or error text", json, len);
    if (ref_rc == T1071_OK) {
        ref = pack(ref_ev, &ref_len);
        got = pack(got_ev, &got_len);
        if (got_len != ref_len || memcmp(ref, got, ref_len))
            differs("to_event", json, len);
        free(ref);
        free(got);
        t1071__ecs__v1__event__free_unpacked(ref_ev, NULL);
        t1071__ecs__v1__event__free_unpacked(got_ev, NULL);
    }
    n_checked++;
    n_ok += ref_rc == T1071_OK;
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
check_dir(const char *dir, const char *suffix, uint64_t *recno)
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
        check_text(buf, n, true, recno);
        /* fuzz_json / fuzz_ndjson read a selector byte first */
        if (n > 1 && !suffix)
            check_text(buf + 1, n - 1, true, recno);
    }
    closedir(d);
}

static void
test_json_readers_equal_reference_on_fixtures_and_corpora(void **state)
{
    static const char *const dirs[][2] = {
        {"tests/integration/fixtures/eql-vectors", ".ndjson"},
        {"tests/integration/fixtures/sources", ".ndjson"},
        {"tests/integration/fixtures/real", ".ndjson"},
        {"tests/integration/fixtures", ".ndjson"},
        {"examples/sample", ".ndjson"},
        {"tests/fuzz/corpus/json", NULL},
        {"tests/fuzz/corpus/ndjson", NULL},
    };
    uint64_t recno = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char dir[2048];
        snprintf(dir, sizeof(dir), "%s/%s", T1071_SRCDIR, dirs[i][0]);
        check_dir(dir, dirs[i][1], &recno);
    }
    assert_true(n_checked > 1000);
    assert_true(n_ok > 300);
}

/* Every special byte (and a few ordinary ones) at every offset of strings
 * of length 0..40, as a value, as a key, and as an array element, with
 * the line ending right after the string or going on. */
static void
test_json_readers_equal_reference_on_string_bytes(void **state)
{
    static const char specials[] = "\"\\\x01\x1f\x7f\x80\xbf\xc3\xe2\xf0\xff a/u";
    static const char *const shapes[][2] = {
        {"{\"host\":{\"name\":\"", "\"}}"},
        {"{\"host\":{\"name\":\"", "\""},
        {"{\"", "\":1,\"host.id\":\"x\"}"},
        {"{\"process\":{\"name\":[\"", "\",\"y\"]}}"},
        {"{\"destination.ip\":\"", "\",\"destination.port\":\"443\"}"},
    };
    char s[64], line[256];
    uint64_t recno = 0;

    (void)state;
    for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                for (size_t c = 0; c < sizeof(specials) - 1; c++) {
                    size_t n = 0;
                    for (size_t k = 0; k < len; k++)
                        s[k] = (char)('a' + k % 26);
                    if (at < len)
                        s[at] = specials[c];
                    n = (size_t)snprintf(line, sizeof(line), "%s%.*s%s", shapes[sh][0], (int)len,
                                         s, shapes[sh][1]);
                    check(line, n, ++recno);
                    /* escapes: \uXXXX and the short ones at the same offset */
                    if (at < len && len + 6 < sizeof(s)) {
                        static const char *const esc[] = {"\\u00e9", "\\n", "\\\"", "\\ud83d",
                                                          "\\u0000", "\\x", "\\u12"};
                        for (size_t e = 0; e < sizeof(esc) / sizeof(esc[0]); e++) {
                            n = (size_t)snprintf(line, sizeof(line), "%s%.*s%s%.*s%s",
                                                 shapes[sh][0], (int)at, s, esc[e],
                                                 (int)(len - at), s + at, shapes[sh][1]);
                            check(line, n, ++recno);
                        }
                    }
                }
            }
        }
    }
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
test_json_readers_equal_reference_on_mutations(void **state)
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
        "{\"@timestamp\":1732780800013,\"event.id\":\"a-rather-long-identifier-0123456789abcdef\","
        "\"event.category\":\"network\",\"event.type\":[null,[\"x\"],{\"y\":1},\"connection\"],"
        "\"network.direction\":[\"egress\",\"ingress\"],\"url\":{\"full\":\"https://example.com/"
        "a/very/long/path?with=query&and=more&\\u00fc=\\ud83d\\ude00\"},\"user_agent.original\":"
        "\"Mozilla/5.0 (X11; Linux x86_64) \\\"quoted\\\" \\t tab\",\"unknown\":{\"deep\":[[[[1]]]],"
        "\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9\"},\"destination\":{\"port\":"
        "-1,\"bytes\":1e3,\"domain\":\"c2.example.org\"},\"source.bytes\":\"12\","
        "\"process.start\":\"2024-11-28T07:00:00+01:00\",\"agent\":{\"type\":\"endpoint\"}}",
    };
    char buf[4096];
    uint64_t s = 1071;

    (void)state;
    for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
        size_t len0 = strlen(lines[l]);
        check(lines[l], len0, 7);
        for (int i = 0; i < 30000; i++) {
            size_t n = len0;
            memcpy(buf, lines[l], n);
            for (int k = 1 + (int)(rnd(&s) % 3); k > 0 && n > 0; k--) {
                static const char bytes[] = "\"{}[],:\\0123456789.e-nulltrue \x01\xc3\xa9\x80\xff\t\n";
                size_t at = rnd(&s) % n;
                switch (rnd(&s) % 4) {
                case 0:
                    buf[at] = bytes[rnd(&s) % (sizeof(bytes) - 1)];
                    break;
                case 1:
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                    break;
                case 2:
                    n = at + 1; /* truncate */
                    break;
                default:
                    if (n + 16 < sizeof(buf)) {
                        size_t k2 = 1 + rnd(&s) % 16, from = rnd(&s) % n;
                        memmove(buf + at + k2, buf + at, n - at);
                        for (size_t j = 0; j < k2; j++)
                            buf[at + j] = lines[l][(from + j) % len0];
                        n += k2;
                    }
                    break;
                }
            }
            check(buf, n, rnd(&s) % 2 ? rnd(&s) : 0);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_readers_equal_reference_on_fixtures_and_corpora),
        cmocka_unit_test(test_json_readers_equal_reference_on_string_bytes),
        cmocka_unit_test(test_json_readers_equal_reference_on_mutations),
    };
    return cmocka_run_group_tests_name("json-diff", tests, NULL, NULL);
}
