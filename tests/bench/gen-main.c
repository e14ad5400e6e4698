/* SPDX-License-Identifier: Apache-2.0 */
/* gen-stream [--ndjson] [--events N] [--keys K] [--seed S] > stream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen-stream.h"

int
main(int argc, char **argv)
{
    bool ndjson = false;
    unsigned long long events = 1000000, keys = 20000, seed = 1071;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ndjson"))
            ndjson = true;
        else if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            keys = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: gen-stream [--ndjson] [--events N] [--keys K] [--seed S]\n");
            return 2;
        }
    }
    if (keys == 0 || keys > UINT32_MAX) {
        fprintf(stderr, "gen-stream: --keys must be 1..%u\n", UINT32_MAX);
        return 2;
    }
    return gen_stream(stdout, ndjson, events, (uint32_t)keys, seed) == 0 ? 0 : 1;
}
