/* SPDX-License-Identifier: Apache-2.0 */
/* The zero-copy Event reader (lib/input/wire.c) against protobuf-c, the
 * reference: same acceptance, same values, on generated events, mutations
 * of them, the wire edge cases and every fuzz corpus file. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/wire-diff.h"

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void
check(struct t1071i_wire *w, const uint8_t *buf, size_t len, const char *what)
{
    const char *why = wire_check(w, buf, len);
    if (why) {
        fprintf(stderr, "%s (%zu bytes): %s\n", what, len, why);
        for (size_t i = 0; i < len && i < 64; i++)
            fprintf(stderr, "%02x ", buf[i]);
        fprintf(stderr, "\n");
    }
    assert_null(why);
}

/* A random Event: each field present or not, repeated fields with 0..3
 * values, strings of any non-NUL bytes (empty included), integers of any
 * size and sign.  Packed with protobuf-c into @p out. */
static size_t
random_event(uint64_t *s, uint8_t *out)
{
    const ProtobufCMessageDescriptor *d = &t1071__ecs__v1__event__descriptor;
    T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
    static char strs[256][24];
    static char *arrs[64][3];
    static int64_t ints[64][3];
    size_t ns = 0, size;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        char *base = (char *)&ev;
        if (rnd(s) % 3 == 0)
            continue;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = rnd(s) % 4;
            for (size_t j = 0; j < n; j++) {
                if (fd->type == PROTOBUF_C_TYPE_STRING) {
                    char *str = strs[ns++ % 256];
                    size_t l = rnd(s) % 20;
                    for (size_t k = 0; k < l; k++)
                        str[k] = (char)(1 + rnd(s) % 255);
                    str[l] = '\0';
                    arrs[i][j] = str;
                } else {
                    ints[i][j] = (int64_t)(rnd(s) >> (rnd(s) % 64));
                    if (rnd(s) & 1)
                        ints[i][j] = -ints[i][j];
                }
            }
            *(size_t *)(base + fd->quantifier_offset) = n;
            *(void **)(base + fd->offset) =
                fd->type == PROTOBUF_C_TYPE_STRING ? (void *)arrs[i] : (void *)ints[i];
        } else if (fd->type == PROTOBUF_C_TYPE_STRING) {
            char *str = strs[ns++ % 256];
            size_t l = rnd(s) % 20;
            for (size_t k = 0; k < l; k++)
                str[k] = (char)('a' + rnd(s) % 26);
            str[l] = '\0';
            *(char **)(base + fd->offset) = str;
        } else {
            *(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
            *(uint64_t *)(base + fd->offset) = rnd(s) >> (rnd(s) % 64);
        }
    }
    size = t1071__ecs__v1__event__get_packed_size(&ev);
    assert_true(size < 8192);
    return t1071__ecs__v1__event__pack(&ev, out);
}

static void
test_wire_generated_events_equal_protobuf_c(void **state)
{
    struct t1071i_wire *all = t1071i_wire_new(true), *eng = t1071i_wire_new(false);
    uint64_t s = 1071;
    uint8_t buf[8192], mut[8192 + 64];

    (void)state;
    assert_non_null(all);
    assert_non_null(eng);
    for (int i = 0; i < 20000; i++) {
        size_t len = random_event(&s, buf);
        check(all, buf, len, "generated");
        check(eng, buf, len, "generated (engine fields)");
        /* Mutations: flipped bytes, cuts, inserted and duplicated bytes. */
        for (int m = 0; m < 8; m++) {
            size_t n = len;
            memcpy(mut, buf, len);
            switch (rnd(&s) % 5) {
            case 0:
                if (n)
                    mut[rnd(&s) % n] ^= (uint8_t)(1u << (rnd(&s) % 8));
                break;
            case 1:
                if (n)
                    mut[rnd(&s) % n] = (uint8_t)rnd(&s);
                break;
            case 2:
                n = n ? rnd(&s) % n : 0;
                break;
            case 3: {
                size_t at = n ? rnd(&s) % n : 0, k = 1 + rnd(&s) % 6;
                memmove(mut + at + k, mut + at, n - at);
                for (size_t j = 0; j < k; j++)
                    mut[at + j] = (uint8_t)rnd(&s);
                n += k;
                break;
            }
            default: {
                size_t k = 1 + rnd(&s) % 32;
                if (k > n)
                    k = n;
                memcpy(mut + n, mut + (n - k), k);
                n += k;
                break;
            }
            }
            check(all, mut, n, "mutated");
            check(eng, mut, n, "mutated (engine fields)");
        }
    }
    t1071i_wire_free(all);
    t1071i_wire_free(eng);
}

#define EDGE(...) {(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})}

static void
test_wire_edge_cases_equal_protobuf_c(void **state)
{
    const struct {
        const uint8_t *b;
        size_t n;
    } cases[] = {
        EDGE(0x00, 0x00),                         /* key 0 */
        EDGE(0x07, 0x00),                         /* key 0, wire type 7 */
        EDGE(0x80, 0x00, 0x00),                   /* field 0, two-byte key */
        EDGE(0x80, 0x80, 0x80, 0x80, 0x00, 0x00), /* field 0, five-byte key */
        EDGE(0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00), /* largest field number */
        EDGE(0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00), /* key over 32 bits */
        EDGE(0xf8, 0xff, 0xff, 0xff, 0xff, 0x00), /* key over 5 bytes */
        EDGE(0x08, 0x01),                         /* timestamp 1 */
        EDGE(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), /* 10 bytes */
        EDGE(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /* 11 */
        EDGE(0x08, 0x80),                         /* cut varint */
        EDGE(0x09, 1, 2, 3, 4, 5, 6, 7, 8),       /* timestamp as fixed64 */
        EDGE(0x0a, 0x00),                         /* timestamp length-delimited */
        EDGE(0x0d, 1, 2, 3, 4),                   /* timestamp as fixed32 */
        EDGE(0x0b),                               /* start group */
        EDGE(0x0c),                               /* end group */
        EDGE(0x0e),                               /* wire type 6 */
        EDGE(0x12, 0x00),                         /* empty event.id */
        EDGE(0x12, 0x03, 'a', 0x00, 'b'),         /* NUL inside a string */
        EDGE(0x12, 0x05, 'a'),                    /* string cut */
        EDGE(0x10, 0x01),                         /* event.id as varint */
        EDGE(0x12, 0x80, 0x80, 0x80, 0x80, 0x10), /* length 2^32 */
        EDGE(0x12, 0xff, 0xff, 0xff, 0xff, 0x0f), /* length 2^32 - 1 */
        EDGE(0x12, 0xfc, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0), /* length wraps */
        EDGE(0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), /* 6-byte length */
        EDGE(0x12, 0x81, 0x00, 'x'),              /* length in 2 bytes */
        EDGE(0x12, 0x01, 'a', 0x12, 0x01, 'b'),   /* last one wins */
        EDGE(0x8a, 0x01, 0x01, '1', 0x8a, 0x01, 0x00), /* repeated ports? no: field 17 */
        EDGE(0x88, 0x01, 0xbb, 0x03),             /* port 443 unpacked */
        EDGE(0x8a, 0x01, 0x03, 0x50, 0xbb, 0x03), /* ports 80, 443 packed */
        EDGE(0x8a, 0x01, 0x00),                   /* empty packed */
        EDGE(0x8a, 0x01, 0x02, 0x50, 0xbb),       /* packed, last varint cut */
        EDGE(0x8a, 0x01, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
             0x01),                               /* packed 11-byte varint */
        EDGE(0x8a, 0x01, 0x01, 0x50, 0x88, 0x01, 0x35), /* packed then unpacked */
        EDGE(0x8d, 0x01, 0, 0, 0, 0),             /* port as fixed32 */
        EDGE(0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0), /* port as fixed64 */
        EDGE(0x22, 0x07, 'n', 'e', 't', 'w', 'o', 'r', 'k', 0x22, 0x00), /* categories */
        EDGE(0x20, 0x01),                         /* category as varint */
        EDGE(0xa0, 0x06, 0x05),                   /* record_number 5 */
        EDGE(0xa2, 0x06, 0x00),                   /* record_number length-delimited */
        EDGE(0xa8, 0x06, 0x05),                   /* unknown field 101 */
        EDGE(0xfa, 0x3f, 0x02, 0x01, 0x02),       /* unknown field 1023, bytes */
        EDGE(0xf9, 0x3f, 1, 2, 3, 4, 5, 6, 7),    /* unknown fixed64 cut */
        EDGE(0xfd, 0x3f, 1, 2, 3, 4),             /* unknown fixed32 */
        EDGE(0xfd, 0x3f, 1, 2, 3),                /* unknown fixed32 cut */
        EDGE(0xfb, 0x3f),                         /* unknown start group */
        EDGE(0x80),                               /* key cut */
    };
    struct t1071i_wire *all = t1071i_wire_new(true), *eng = t1071i_wire_new(false);

    (void)state;
    check(all, (const uint8_t *)"", 0, "empty");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[32];
        snprintf(what, sizeof(what), "edge case %zu", i);
        check(all, cases[i].b, cases[i].n, what);
        check(eng, cases[i].b, cases[i].n, what);
    }
    t1071i_wire_free(all);
    t1071i_wire_free(eng);
}

static void
check_dir(struct t1071i_wire *all, struct t1071i_wire *eng, const char *dir, size_t *files)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[4096 + 512];
        FILE *f;
        static uint8_t buf[1 << 20];
        size_t n;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        if (!f)
            continue;
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        check(all, buf, n, path);
        check(eng, buf, n, path);
        /* The event and batch targets read a selector byte first. */
        if (n > 1) {
            check(all, buf + 1, n - 1, path);
            check(eng, buf + 1, n - 1, path);
        }
        (*files)++;
    }
    closedir(d);
}

static void
test_wire_fuzz_corpora_equal_protobuf_c(void **state)
{
    static const char *const dirs[] = {"event", "batch", "wire", "restore"};
    struct t1071i_wire *all = t1071i_wire_new(true), *eng = t1071i_wire_new(false);
    size_t files = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char dir[2048];
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", T1071_SRCDIR, dirs[i]);
        check_dir(all, eng, dir, &files);
    }
    assert_true(files >= 100);
    t1071i_wire_free(all);
    t1071i_wire_free(eng);
}

/* More wanted fields than the scan keeps notes for: the reader parses the
 * event a second time, with the same result. */
static void
test_wire_many_fields_equal_protobuf_c(void **state)
{
    struct t1071i_wire *all = t1071i_wire_new(true), *eng = t1071i_wire_new(false);
    T1071__Ecs__V1__Event ev = T1071__ECS__V1__EVENT__INIT;
    static char vals[300][8];
    char *ptrs[300];
    int64_t ports[300];
    static uint8_t buf[16384];
    size_t len;

    (void)state;
    for (int i = 0; i < 300; i++) {
        snprintf(vals[i], sizeof(vals[i]), "v%d", i);
        ptrs[i] = vals[i];
        ports[i] = i * 7;
    }
    for (size_t n = 60; n <= 300; n += 30) {
        ev.n_event_type = n;
        ev.event_type = ptrs;
        ev.n_destination_port = n;
        ev.destination_port = ports;
        ev.n_process_name = n / 2;
        ev.process_name = ptrs;
        ev.event_id = vals[1];
        len = t1071__ecs__v1__event__pack(&ev, buf);
        check(all, buf, len, "many fields");
        check(eng, buf, len, "many fields (engine)");
    }
    t1071i_wire_free(all);
    t1071i_wire_free(eng);
}

static void
test_wire_arena_reused_not_per_event(void **state)
{
    struct t1071i_wire *eng = t1071i_wire_new(false);
    uint64_t s = 7;
    uint8_t buf[8192];
    size_t cap;
    t1071i_event ev;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        size_t len = random_event(&s, buf);
        assert_int_equal(t1071i_wire_decode(eng, buf, len, &ev), T1071_OK);
    }
    cap = t1071i_wire_arena_bytes(eng);
    assert_true(cap > 0);
    for (int i = 0; i < 1000; i++) {
        size_t len = random_event(&s, buf);
        assert_int_equal(t1071i_wire_decode(eng, buf, len, &ev), T1071_OK);
    }
    /* Grown once to the largest event, then reused. */
    assert_true(t1071i_wire_arena_bytes(eng) <= 2 * cap);
    t1071i_wire_free(eng);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_generated_events_equal_protobuf_c),
        cmocka_unit_test(test_wire_edge_cases_equal_protobuf_c),
        cmocka_unit_test(test_wire_fuzz_corpora_equal_protobuf_c),
        cmocka_unit_test(test_wire_many_fields_equal_protobuf_c),
        cmocka_unit_test(test_wire_arena_reused_not_per_event),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
