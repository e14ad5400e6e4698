/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: configuration loading, t1071_config_load_data() (INI
 * text, GKeyFile syntax) and t1071_config_set() on the same text split
 * into "key=value" lines.
 *
 * Checks: only documented statuses; a failed load or set changes nothing
 * (every key reads back as before); every value reads back in a canonical
 * form that sets again to itself (contexts and snapshots copy configs
 * through that text); every accepted config makes a working context. */
#include "fuzz.h"

#include "alert/alert.h"
#include "config/config.h"
#include "engine/engine.h"
#include "input/derive.h"
#include "input/ecs-json.h"
#include "util/addr.h"
#include "util/buffer.h"
#include "util/hash.h"
#include "util/timefmt.h"

#define MAX_KEYS 64

struct values {
    size_t n;
    char *v[MAX_KEYS];
};

static char *
get(const t1071_config *cfg, const char *key)
{
    size_t needed = 0;
    char *buf;

    FUZZ_CHECK(t1071_config_get(cfg, key, NULL, 0, &needed) == T1071_OK);
    FUZZ_CHECK(needed >= 1);
    buf = malloc(needed);
    FUZZ_CHECK(buf != NULL);
    FUZZ_CHECK(t1071_config_get(cfg, key, buf, needed, NULL) == T1071_OK);
    FUZZ_CHECK(strlen(buf) == needed - 1);
    return buf;
}

static void
values_read(const t1071_config *cfg, struct values *vs)
{
    vs->n = 0;
    for (size_t i = 0; t1071i_config_key(i); i++) {
        FUZZ_CHECK(i < MAX_KEYS);
        vs->v[vs->n++] = get(cfg, t1071i_config_key(i));
    }
}

static void
values_free(struct values *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        free(vs->v[i]);
    vs->n = 0;
}

static void
check_unchanged(const t1071_config *cfg, const struct values *before)
{
    struct values now;

    values_read(cfg, &now);
    FUZZ_CHECK(now.n == before->n);
    for (size_t i = 0; i < now.n; i++) {
        if (strcmp(now.v[i], before->v[i]) != 0) {
            fprintf(stderr, "failed call changed %s: \"%s\" -> \"%s\"\n", t1071i_config_key(i),
                    before->v[i], now.v[i]);
            abort();
        }
    }
    values_free(&now);
}

/* Every value's canonical text sets to itself. */
static void
check_canonical(t1071_config *cfg)
{
    for (size_t i = 0; t1071i_config_key(i); i++) {
        const char *key = t1071i_config_key(i);
        char *c1 = get(cfg, key), *c2;
        int rc = t1071_config_set(cfg, key, c1);
        if (rc != T1071_OK) {
            fprintf(stderr, "canonical %s=\"%s\" refused: %s\n", key, c1,
                    t1071_config_errmsg(cfg));
            abort();
        }
        c2 = get(cfg, key);
        if (strcmp(c1, c2) != 0) {
            fprintf(stderr, "%s: canonical \"%s\" reads back as \"%s\"\n", key, c1, c2);
            abort();
        }
        free(c1);
        free(c2);
    }
}

/* A context from @p cfg works: a short beacon, flushed and drained. */
static void
check_context(const t1071_config *cfg)
{
    static const char *const lines[] = {
        "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":[\"network\"],"
        "\"type\":[\"connection\"]},\"network\":{\"direction\":\"egress\"},\"destination\":"
        "{\"ip\":\"198.51.100.9\",\"port\":443},\"process\":{\"name\":\"b.exe\","
        "\"entity_id\":\"E1\",\"pid\":7},\"source\":{\"ip\":\"10.0.0.2\"},"
        "\"host\":{\"name\":\"h\",\"id\":\"H\"},\"user\":{\"name\":\"u\"}}",
        "{\"@timestamp\":\"2024-01-01T00:01:00Z\",\"event\":{\"category\":[\"network\"],"
        "\"type\":[\"start\"]},\"network\":{\"direction\":\"egress\"},\"destination\":"
        "{\"ip\":\"198.51.100.9\",\"port\":80},\"process\":{\"name\":\"b.exe\","
        "\"entity_id\":\"E1\",\"pid\":7},\"source\":{\"ip\":\"10.0.0.2\"},"
        "\"host\":{\"name\":\"h\",\"id\":\"H\"},\"user\":{\"name\":\"u\"}}",
    };
    t1071_ctx *ctx = NULL;
    int rc = t1071_init(&ctx, cfg);

    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_NOMEM);
    if (rc != T1071_OK) {
        FUZZ_CHECK(ctx == NULL);
        return;
    }
    for (int rep = 0; rep < 6; rep++) {
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
            int frc;
            while ((frc = t1071_feed_json(ctx, lines[i], strlen(lines[i]))) ==
                   T1071_E_QUEUE_FULL)
                FUZZ_CHECK(fuzz_drain(ctx) > 0);
            FUZZ_CHECK_RC(frc, T1071_OK, T1071_E_TOO_LARGE, T1071_E_NOMEM);
        }
    }
    fuzz_finish(ctx);
    t1071_free(ctx);
}

static void
fuzz_load(const char *data, size_t size)
{
    t1071_config *cfg = NULL;
    struct values before;
    int rc;

    FUZZ_CHECK(t1071_config_new(&cfg) == T1071_OK);
    values_read(cfg, &before);
    rc = t1071_config_load_data(cfg, data, size);
    FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_UNKNOWN_KEY, T1071_E_INVALID_ARG, T1071_E_NOMEM);
    FUZZ_CHECK(t1071_config_errmsg(cfg) != NULL);
    if (rc != T1071_OK) {
        FUZZ_CHECK(t1071_config_errmsg(cfg)[0] != '\0');
        check_unchanged(cfg, &before);
    } else {
        check_canonical(cfg);
        check_context(cfg);
    }
    values_free(&before);
    t1071_config_free(cfg);
}

static void
fuzz_set(const char *data, size_t size)
{
    t1071_config *cfg = NULL;
    const char *p = data, *end = data + size;
    size_t accepted = 0;

    FUZZ_CHECK(t1071_config_new(&cfg) == T1071_OK);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        char *line = malloc(len + 1), *eq;
        FUZZ_CHECK(line != NULL);
        memcpy(line, p, len);
        line[len] = '\0';
        eq = strchr(line, '=');
        if (eq) {
            struct values before;
            int rc;
            *eq = '\0';
            values_read(cfg, &before);
            rc = t1071_config_set(cfg, line, eq + 1);
            FUZZ_CHECK_RC(rc, T1071_OK, T1071_E_UNKNOWN_KEY, T1071_E_INVALID_ARG,
                          T1071_E_NOMEM);
            if (rc != T1071_OK) {
                FUZZ_CHECK(t1071_config_errmsg(cfg)[0] != '\0');
                check_unchanged(cfg, &before);
            } else {
                accepted++;
            }
            values_free(&before);
        }
        free(line);
        p += len + 1;
    }
    if (accepted) {
        check_canonical(cfg);
        check_context(cfg);
    }
    t1071_config_free(cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    fuzz_load((const char *)data, size);
    fuzz_set((const char *)data, size);
    return 0;
}
