/* SPDX-License-Identifier: Apache-2.0 */
/* lib/util/sha256.c against GLib's GChecksum (what alert group ids were made
 * with): every length 0..1100, random splits into updates, both the
 * portable code and the x86 SHA extensions (when this CPU has them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "util/sha256.h"

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void
check_impl(enum t1071i_sha256_impl impl)
{
    static uint8_t msg[1100];
    uint64_t s = 1071 + (uint64_t)impl;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)rnd(&s);
    for (size_t len = 0; len <= sizeof(msg); len++) {
        for (int split = 0; split < 3; split++) {
            struct t1071i_sha256 h;
            char got[65];
            GChecksum *ref = g_checksum_new(G_CHECKSUM_SHA256);
            size_t off = 0;

            t1071i_sha256_init(&h, impl);
            while (off < len) {
                size_t n = split == 0 ? len - off : 1 + rnd(&s) % (split == 1 ? 7 : 130);
                if (n > len - off)
                    n = len - off;
                t1071i_sha256_update(&h, msg + off, n);
                g_checksum_update(ref, msg + off, (gssize)n);
                off += n;
            }
            t1071i_sha256_hex(&h, got);
            assert_string_equal(got, g_checksum_get_string(ref));
            g_checksum_free(ref);
        }
    }
}

static void
test_sha256_portable_equals_gchecksum(void **state)
{
    (void)state;
    check_impl(T1071I_SHA256_C);
}

static void
test_sha256_x86_extensions_equal_gchecksum(void **state)
{
    (void)state;
    if (!t1071i_sha256_have_ni()) {
        fprintf(stderr, "# no SHA extensions on this CPU: the portable code runs\n");
    } else {
        struct t1071i_sha256 h;
        t1071i_sha256_init(&h, T1071I_SHA256_NI);
        assert_int_equal(h.impl, T1071I_SHA256_NI);
    }
    check_impl(T1071I_SHA256_NI);
    check_impl(T1071I_SHA256_AUTO);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_portable_equals_gchecksum),
        cmocka_unit_test(test_sha256_x86_extensions_equal_gchecksum),
    };
    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
