/* SPDX-License-Identifier: Apache-2.0 */
/* gen-stream [--ndjson] [--events N] [--keys K] [--seed S] > stream
 * gen-stream --fleet [--ndjson] [--seed S] > stream   (the fleet stream:
 *   301,000 events on 20,000 hosts; prints its completion rate on stderr) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen-stream.h"

int
main(int argc, char **argv)
{
    bool ndjson = false, fleet = false;
    unsigned long long events = 1000000, keys = 20000, seed = 1071;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ndjson"))
            ndjson = true;
        else if (!strcmp(argv[i], "--fleet"))
            fleet = true;
        else if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            keys = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: gen-stream [--ndjson] [--events N] [--keys K] [--seed S]\n"
                            "       gen-stream --fleet [--ndjson] [--seed S]\n");
            return 2;
        }
    }
    if (keys == 0 || keys > UINT32_MAX) {
        fprintf(stderr, "gen-stream: --keys must be 1..%u\n", UINT32_MAX);
        return 2;
    }
    if (fleet) {
        struct gen_fleet_stats st;
        if (gen_fleet(stdout, ndjson, seed, &st) != 0 || fflush(stdout) != 0)
            return 1;
        fprintf(stderr,
                "fleet stream, seed %llu: %llu events on %u hosts, %llu matching the faithful "
                "filter, %llu completing a sequence (%.3f %%), mean NDJSON line %.1f bytes\n",
                seed, (unsigned long long)st.events, GEN_FLEET_HOSTS,
                (unsigned long long)st.matching, (unsigned long long)st.completing,
                100.0 * (double)st.completing / (double)st.events,
                (double)st.ndjson_bytes / (double)st.events);
        return 0;
    }
    return gen_stream(stdout, ndjson, events, (uint32_t)keys, seed) == 0 ? 0 : 1;
}
