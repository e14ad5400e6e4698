/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the integration tests.  They use only the public API,
 * the tests' own copy of the generated protobuf code and protobuf-c. */
#ifndef T1071_TESTUTIL_H
#define T1071_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <t1071/t1071detect.h>

#include "ecs.pb-c.h"

typedef T1071__Ecs__V1__Event tu_event;
typedef T1071__Ecs__V1__Alert tu_alert;

/* ===== Growable byte string ===== */

struct tu_buf {
    char *data;
    size_t len, cap;
};

void tu_buf_append(struct tu_buf *b, const void *data, size_t len);
void tu_buf_puts(struct tu_buf *b, const char *s);
void tu_buf_printf(struct tu_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents (never NULL). */
const char *tu_buf_str(struct tu_buf *b);
void tu_buf_free(struct tu_buf *b);

/* Append @p s as a JSON string literal, ASCII only, escaped exactly as
 * Python's json.dumps (ensure_ascii): \" \\ \n \r \t \b \f, other
 * characters outside 0x20..0x7e as lowercase \uXXXX (surrogate pairs above
 * U+FFFF); invalid UTF-8 bytes as \ufffd. */
void tu_json_ascii_string(struct tu_buf *b, const char *s, size_t n);

/* ===== Files ===== */

/* Read a whole file (NUL-terminated); NULL when it cannot be read. */
char *tu_read_file(const char *path, size_t *len);

/* ===== Random numbers (splitmix64: fixed seeds, same on every platform) ===== */

uint64_t tu_rand(uint64_t *state);
/* Uniform in [0, n); n > 0. */
uint64_t tu_below(uint64_t *state, uint64_t n);
/* true with probability pct/100. */
bool tu_chance(uint64_t *state, unsigned pct);

/* ===== Events and alerts ===== */

/* Pack an Event (malloc'ed, caller frees). */
uint8_t *tu_pack_event(const tu_event *ev, size_t *len);
/* Append @p data as one length-delimited record (varint length + bytes). */
void tu_append_delimited(struct tu_buf *b, const void *data, size_t len);
/* Append a base-128 varint. */
void tu_append_varint(struct tu_buf *b, uint64_t v);

/* Create a context with the defaults plus "key", "value" pairs
 * (NULL-terminated list); aborts the test on failure.  With the
 * environment variable T1071_TEST_RULE=eql or =sigma, the built-in
 * filter's keys are then written out as rule text in that language
 * (tu_rule_text) and run through t1071_config_set_rule() instead: meson
 * runs the vector, differential and other suites a second and third time
 * that way, so rule text is checked against the same models. */
t1071_ctx *tu_ctx_new(const char *const *kv);

/* The rule @p cfg's built-in filter keys describe, as EQL ("eql") or Sigma
 * ("sigma") text (malloc'ed); NULL when that language cannot say it (runs
 * 1; for Sigma, a category other than network or event types outside
 * connection/start). */
char *tu_rule_text(const t1071_config *cfg, const char *lang);
/* How many contexts tu_ctx_new() made from rule text, and how many it
 * could not (kept the built-in filter). */
extern unsigned tu_rule_translated, tu_rule_untranslatable;

/* One alert as text. */
struct tu_alert_text {
    char *key;      /* Alert.key */
    char *ids;      /* members' event_ids as a compact ASCII JSON array */
    char *group_id;
    uint64_t seqno;
};

struct tu_alerts {
    size_t n, cap;
    struct tu_alert_text *a;
};

/* Decode one packed Alert into @p out; false when it does not decode. */
bool tu_alert_text(const uint8_t *data, size_t len, struct tu_alert_text *out);
/* Poll every queued alert of @p ctx and append them. Returns how many. */
size_t tu_collect(t1071_ctx *ctx, struct tu_alerts *all);
void tu_alerts_free(struct tu_alerts *all);

/* Feed with retry on T1071_E_QUEUE_FULL (poll into @p all, then again),
 * counting refusals in *refusals when given.  Return the final status. */
int tu_feed_event_retry(t1071_ctx *ctx, const uint8_t *buf, size_t len, struct tu_alerts *all,
                        uint64_t *refusals);
int tu_advance_retry(t1071_ctx *ctx, int64_t t, struct tu_alerts *all, uint64_t *refusals);
/* Feed a whole length-delimited buffer, resuming at *consumed after
 * polling whenever the queue is full.  Returns the final status. */
int tu_feed_batch_all(t1071_ctx *ctx, const uint8_t *buf, size_t len, struct tu_alerts *all,
                      uint64_t *refusals);

uint64_t tu_stat(const t1071_ctx *ctx, int id);

/* ===== A small strict JSON parser (RFC 8259), for checking output ===== */

enum tu_json_type { TU_JNULL, TU_JBOOL, TU_JNUM, TU_JSTR, TU_JARR, TU_JOBJ };

struct tu_json {
    enum tu_json_type type;
    bool b;
    double num;
    char *str;              /* TU_JSTR: decoded UTF-8; TU_JNUM: the literal text */
    size_t n;               /* items / members */
    struct tu_json **items; /* array items or member values */
    char **keys;            /* object member names */
};

/* Parse exactly one JSON value filling the whole input (whitespace around
 * allowed).  NULL on any syntax error; @p err (if given) says where. */
struct tu_json *tu_json_parse(const char *s, size_t len, char *err, size_t errlen);
void tu_json_free(struct tu_json *j);
/* Look up "a.b.c": each step matches a member name, or a dotted member name
 * covering several steps ("kibana.alert" then "rule").  Digits index arrays. */
const struct tu_json *tu_json_get(const struct tu_json *j, const char *path);

#endif
