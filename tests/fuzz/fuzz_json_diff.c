/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target, differential: the JSON reader against its frozen copy
 * (tests/unit/json-ref: lib/input/json.c and lib/input/ecs-json.c before the NDJSON
 * fast path, names renamed ref_*).
 *
 * Input: the whole input, then each '\n'-separated slice, is read by both:
 * t1071i_ecs_json_to_packed (t1071_event_from_json, t1071-replay) must
 * give the same status and the same bytes, t1071i_ecs_json_to_event
 * (t1071_feed_json) the same status, error text and event.  Replays
 * corpus/json and corpus/ndjson in the regression build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int ref_ecs_json_to_event(const char *json, size_t len, t1071i_event **out, char *errbuf,
                          size_t errlen);
int ref_ecs_json_to_packed(const char *json, size_t len, uint64_t record_number,
                           size_t max_bytes, uint8_t **out, size_t *out_len, size_t headroom);

#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: %s differs on \"%.*s\"\n", __FILE__, __LINE__, #c, \
                    (int)(len > 300 ? 300 : len), json);                                \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static uint8_t *
pack(const t1071i_event *ev, size_t *n)
{
    uint8_t *b;

    *n = t1071__ecs__v1__event__get_packed_size(ev);
    b = malloc(*n + 1);
    if (!b)
        abort();
    t1071__ecs__v1__event__pack(ev, b);
    return b;
}

/* A raw shape (lib/input/shapes.c), which the frozen reference does not know:
 * today's two readers must agree with each other.  True when it is one. */
static bool
raw_shape(const char *json, size_t len, uint64_t recno)
{
    t1071i_event *ev = NULL;
    uint8_t *a, *b = NULL;
    size_t an, bn = 0;

    if (t1071i_ecs_json_to_event(json, len, &ev, NULL, 0) != T1071_OK || !ev->input_shape) {
        if (ev)
            t1071__ecs__v1__event__free_unpacked(ev, NULL);
        return false;
    }
    if (recno) {
        ev->has_record_number = 1;
        ev->record_number = recno;
    }
    a = pack(ev, &an);
    CHECK(t1071i_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &b, &bn, 2) ==
              T1071_OK &&
          an == bn && !memcmp(a, b + 2, an));
    free(a);
    free(b);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return true;
}

static void
one(const char *json, size_t len, uint64_t recno)
{
    uint8_t *a = NULL, *b = NULL;
    size_t an = 0, bn = 0;
    t1071i_event *ea = NULL, *eb = NULL;
    char erra[256], errb[256];
    int ra, rb;

    if (raw_shape(json, len, recno))
        return;

    ra = ref_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &a, &an, 2);
    rb = t1071i_ecs_json_to_packed(json, len, recno, T1071_MAX_EVENT_BYTES, &b, &bn, 2);
    CHECK(ra == rb && an == bn && (ra != T1071_OK || !memcmp(a + 2, b + 2, an)));
    free(a);
    free(b);

    ra = ref_ecs_json_to_event(json, len, &ea, erra, sizeof(erra));
    rb = t1071i_ecs_json_to_event(json, len, &eb, errb, sizeof(errb));
    CHECK(ra == rb && !strcmp(erra, errb));
    if (ra == T1071_OK) {
        a = pack(ea, &an);
        b = pack(eb, &bn);
        CHECK(an == bn && !memcmp(a, b, an));
        free(a);
        free(b);
        t1071__ecs__v1__event__free_unpacked(ea, NULL);
        t1071__ecs__v1__event__free_unpacked(eb, NULL);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    uint64_t recno = 1;

    if (size > (1u << 20))
        return 0;
    one(p, size, 0);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        one(p, len, recno++);
        p += len + 1;
    }
    return 0;
}
