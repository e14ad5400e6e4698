/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: t1071-replay's Zeek TSV reader (examples/zeek-tsv.c).
 *
 * Input: lines split on '\n'.  A line starting with '#' goes to
 * zeek_tsv_header(), any other to zeek_tsv_to_json(), as t1071-replay
 * does.  Checks: a failure always leaves a sentence; every JSON object the
 * reader writes is one the library reads (t1071_event_from_json_as(...,
 * "zeek") never answers T1071_E_JSON), NUL-terminated at its length; a data
 * line is refused exactly when no #fields header is in force or its column
 * count differs. */
#include "fuzz.h"
#include "zeek-tsv.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end;
    struct zeek_tsv z;
    char err[160];

    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT;
    end = p + size;
    zeek_tsv_init(&z);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);

        err[0] = '\0';
        if (len && p[0] == '#') {
            if (zeek_tsv_header(&z, p, len, err, sizeof(err)) != 0)
                FUZZ_CHECK(err[0] != '\0');
            FUZZ_CHECK(z.n_fields <= ZEEK_TSV_MAX_FIELDS);
        } else {
            char *json = NULL;
            size_t jl = 0, cols = 1;
            int rc = zeek_tsv_to_json(&z, p, len, &json, &jl, err, sizeof(err));

            for (size_t i = 0; i < len; i++)
                cols += p[i] == z.sep;
            if (rc != 0) {
                FUZZ_CHECK(err[0] != '\0' && json == NULL);
                FUZZ_CHECK(z.n_fields == 0 || cols != z.n_fields ||
                           strstr(err, "out of memory") != NULL);
            } else {
                t1071_buffer *ev = NULL;
                int frc;

                FUZZ_CHECK(z.n_fields > 0 && cols == z.n_fields);
                FUZZ_CHECK(json != NULL && strlen(json) == jl);
                frc = t1071_event_from_json_as(json, jl, 1, "zeek", &ev);
                if (frc == T1071_E_JSON)
                    fprintf(stderr, "zeek-tsv wrote JSON the library refuses: %s\n", json);
                FUZZ_CHECK(frc == T1071_OK || frc == T1071_E_TOO_LARGE);
                t1071_buffer_free(ev);
                free(json);
            }
        }
        p += len + 1;
    }
    zeek_tsv_free(&z);
    return 0;
}
