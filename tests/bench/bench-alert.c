/* SPDX-License-Identifier: Apache-2.0 */
/* Alert-build benchmark (meson benchmark 'alert'): one ten-member
 * sequence, members in cache, built N times through t1071i_alert_build_at
 * (group id, reason, encoding).  The feed benchmark's alerts cost this
 * plus the cache misses on cold members.  Prints; asserts nothing.
 *
 *   bench-alert [N]        default 300000 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 300000;
    t1071_config *pub = NULL;
    struct t1071i_pev pev[10], *m[10];
    char ids[10][16];
    struct timespec a, b;
    size_t bytes = 0;

    if (n < 1 || t1071_config_new(&pub) != T1071_OK)
        return 2;
    for (int i = 0; i < 10; i++) {
        memset(&pev[i], 0, sizeof(pev[i]));
        snprintf(ids[i], sizeof(ids[i]), "g%d", 123450 + i);
        pev[i].id = ids[i];
        pev[i].ts = INT64_C(1732780800000) + i * 1000;
        pev[i].port = 443;
        pev[i].ip = "203.0.7.119";
        pev[i].host_name = "ws-01911";
        pev[i].host_id = "b3245e51-5c1d-4e2f-8a3b-000000001911";
        pev[i].pname = "rundll32.exe";
        pev[i].exe = "C:\\Windows\\System32\\rundll32.exe";
        m[i] = &pev[i];
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        if (t1071i_alert_build_at((struct t1071_config *)pub, "{101d6847-4f1c-0000-000000000777}",
                               m, 10, (uint64_t)i + 1, NULL, NULL, g_malloc, 0, &out,
                               &len) != T1071_OK)
            return 1;
        bytes += len;
        g_free(out);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("alert build, 10 members in cache   %.0f ns/alert (%zu bytes each)\n",
           ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n,
           bytes / (size_t)n);
    t1071_config_free(pub);
    return 0;
}
