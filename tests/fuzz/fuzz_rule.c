/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: rule text, t1071_config_set_rule() and
 * t1071_config_add_rule() (the EQL parser and the Sigma reader).
 *
 * Checks: only documented statuses; a refused rule leaves the config as
 * it was (rule.query, rule.runs and the rule count read back the same) and
 * says why; an accepted rule reads back as rule.query, survives a config
 * copy (t1071_init) and runs a few events, alone and beside the built-in
 * rule, without a crash. */
#include "fuzz.h"

static char *
get(const t1071_config *cfg, const char *key)
{
    size_t needed = 0;
    char *buf;

    FUZZ_CHECK(t1071_config_get(cfg, key, NULL, 0, &needed) == T1071_OK);
    buf = malloc(needed);
    FUZZ_CHECK(buf != NULL);
    FUZZ_CHECK(t1071_config_get(cfg, key, buf, needed, NULL) == T1071_OK);
    return buf;
}

static const char *const events[] = {
    "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":[\"network\"],"
    "\"type\":[\"start\"]},\"network\":{\"direction\":\"egress\"},\"destination\":{\"ip\":"
    "\"8.8.8.8\",\"port\":443},\"process\":{\"name\":\"a.exe\",\"entity_id\":\"E\"},"
    "\"host\":{\"id\":\"h\"},\"user\":{\"name\":\"u\"},\"source\":{\"ip\":\"10.0.0.1\"}}",
    "{\"@timestamp\":\"2024-01-01T00:00:01Z\",\"event\":{\"category\":\"network\","
    "\"type\":[\"connection\",\"start\"]},\"network\":{\"direction\":[\"egress\",\"EGRESS\"]},"
    "\"destination\":{\"ip\":[\"::1\",\"bad\"],\"port\":[80,\"443\"]},\"process\":{\"name\":"
    "[\"\"],\"entity_id\":[\"E\",\"F\"],\"executable\":\"C:\\\\x.exe\"},\"host\":{\"name\":\"h\"}}",
    "{\"@timestamp\":\"2024-01-01T00:00:02Z\",\"process\":{\"entity_id\":\"E\"}}",
};

static void
run(const t1071_config *cfg)
{
    t1071_ctx *ctx = NULL;
    t1071_alert_batch *b = NULL;
    int rc = t1071_init(&ctx, cfg);

    FUZZ_CHECK(rc == T1071_OK || rc == T1071_E_NOMEM);
    if (!ctx)
        return;
    for (int round = 0; round < 4; round++)
        for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
            rc = t1071_feed_json(ctx, events[i], strlen(events[i]));
            FUZZ_CHECK(rc == T1071_OK || rc == T1071_E_QUEUE_FULL || rc == T1071_E_NOMEM);
        }
    rc = t1071_advance(ctx, INT64_MAX);
    FUZZ_CHECK(rc == T1071_OK || rc == T1071_E_QUEUE_FULL || rc == T1071_E_NOMEM);
    FUZZ_CHECK(t1071_poll_alerts(ctx, &b) == T1071_OK);
    for (size_t i = 0; i < t1071_alert_batch_count(b); i++) {
        const char *json;
        size_t len;
        FUZZ_CHECK(t1071_alert_batch_get_json(b, i, &json, &len) == T1071_OK);
    }
    t1071_alert_batch_free(b);
    t1071_free(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    t1071_config *cfg = NULL;
    char *text, *q0, *r0, *q1;
    int rc;

    if (size > FUZZ_MAX_INPUT)
        size = FUZZ_MAX_INPUT;
    text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    FUZZ_CHECK(t1071_config_new(&cfg) == T1071_OK);

    q0 = get(cfg, "rule.query");
    r0 = get(cfg, "rule.runs");
    rc = t1071_config_set_rule(cfg, text);
    FUZZ_CHECK(rc == T1071_OK || rc == T1071_E_RULE || rc == T1071_E_INVALID_ARG ||
               rc == T1071_E_NOMEM);
    if (rc != T1071_OK) {
        char *q = get(cfg, "rule.query"), *r = get(cfg, "rule.runs");
        FUZZ_CHECK(t1071_config_errmsg(cfg)[0] != '\0');
        FUZZ_CHECK(!strcmp(q, q0) && !strcmp(r, r0));
        free(q);
        free(r);
    } else {
        q1 = get(cfg, "rule.query");
        FUZZ_CHECK(!strcmp(q1, text));
        free(q1);
        run(cfg);
    }
    /* The same text as an added rule, beside the config's own. */
    rc = t1071_config_add_rule(cfg, NULL, text);
    FUZZ_CHECK(rc == T1071_OK || rc == T1071_E_RULE || rc == T1071_E_INVALID_ARG ||
               rc == T1071_E_NOMEM);
    FUZZ_CHECK(t1071_config_rule_count(cfg) == (rc == T1071_OK ? 2u : 1u));
    if (rc == T1071_OK)
        run(cfg);
    else
        FUZZ_CHECK(t1071_config_errmsg(cfg)[0] != '\0');

    free(q0);
    free(r0);
    free(text);
    t1071_config_free(cfg);
    return 0;
}
