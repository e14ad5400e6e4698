/* SPDX-License-Identifier: Apache-2.0 */
/* The msgpack entry points (t1071_feed_msgpack, t1071_event_from_msgpack;
 * lib/input/msgpack.c) against the JSON ones: every line of every NDJSON
 * fixture and of the sample, written as msgpack by the small encoder below
 * (from the JSON reader's own reading of the line), gives the same Event
 * bytes under every input.source, and fed to a context the same alerts and
 * counters.  Then the encodings the encoder never picks (every integer and
 * string width, bin, ext, float32, integer keys, NUL and bad UTF-8), and
 * bad input: not a map, cut at every byte, too deep, lengths past the end,
 * bytes after the map, bad keys, too large. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "input/json.h"
#include "input/msgpack.h"

/* ===== A growing byte buffer and a msgpack writer ===== */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void
put(struct buf *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void
put_be(struct buf *b, unsigned lead, uint64_t v, unsigned bytes)
{
    uint8_t t[9];

    t[0] = (uint8_t)lead;
    for (unsigned i = 0; i < bytes; i++)
        t[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(b, t, 1 + bytes);
}

static void
mp_str(struct buf *b, const char *s, size_t n)
{
    if (n < 32)
        put_be(b, 0xa0 | (unsigned)n, 0, 0);
    else if (n < 256)
        put_be(b, 0xd9, n, 1);
    else if (n < 65536)
        put_be(b, 0xda, n, 2);
    else
        put_be(b, 0xdb, n, 4);
    put(b, s, n);
}

static void
mp_int(struct buf *b, int64_t v)
{
    if (v >= 0 && v < 128)
        put_be(b, (unsigned)v, 0, 0);
    else if (v >= 0 && v < 256)
        put_be(b, 0xcc, (uint64_t)v, 1);
    else if (v >= 0 && v < 65536)
        put_be(b, 0xcd, (uint64_t)v, 2);
    else if (v >= 0 && v <= UINT32_MAX)
        put_be(b, 0xce, (uint64_t)v, 4);
    else if (v >= 0)
        put_be(b, 0xcf, (uint64_t)v, 8);
    else if (v >= -32)
        put_be(b, (uint8_t)(int8_t)v, 0, 0);
    else if (v >= INT8_MIN)
        put_be(b, 0xd0, (uint8_t)(int8_t)v, 1);
    else if (v >= INT16_MIN)
        put_be(b, 0xd1, (uint16_t)(int16_t)v, 2);
    else if (v >= INT32_MIN)
        put_be(b, 0xd2, (uint32_t)(int32_t)v, 4);
    else
        put_be(b, 0xd3, (uint64_t)v, 8);
}

static void
mp_double(struct buf *b, double d)
{
    uint64_t u;

    memcpy(&u, &d, 8);
    put_be(b, 0xcb, u, 8);
}

static void
mp_count(struct buf *b, bool map, size_t n)
{
    if (n < 16)
        put_be(b, (map ? 0x80 : 0x90) | (unsigned)n, 0, 0);
    else if (n < 65536)
        put_be(b, map ? 0xde : 0xdc, n, 2);
    else
        put_be(b, map ? 0xdf : 0xdd, n, 4);
}

/* ===== JSON -> msgpack, as a JSON parser (Fluent Bit's) would write it =====
 * Objects become maps, arrays arrays, strings their decoded text, integer
 * numbers (no '.', no exponent, in int64) integers, other numbers float64,
 * true / false / null themselves.  Duplicate keys stay (a map keeps them). */

static bool
encode_value(struct t1071i_json_reader *r, struct buf *out, unsigned depth)
{
    enum t1071i_json_type t = t1071i_json_peek(r);
    struct t1071i_json_scalar sc;

    if (t == T1071I_JSON_OBJECT || t == T1071I_JSON_ARRAY) {
        struct buf kids = {NULL, 0, 0};
        bool first = true, ok = true;
        size_t n = 0;
        int k;

        if (depth > 60 || !t1071i_json_enter(r))
            return false;
        if (t == T1071I_JSON_OBJECT) {
            struct t1071i_json_scalar key;

            while (ok && (k = t1071i_json_object_next(r, &first, &key)) == 1) {
                size_t kl;
                char *kd = t1071i_json_string_dup(&key, &kl);

                assert_non_null(kd);
                mp_str(&kids, kd, kl);
                free(kd);
                ok = encode_value(r, &kids, depth + 1);
                n++;
            }
        } else {
            while (ok && (k = t1071i_json_array_next(r, &first)) == 1) {
                ok = encode_value(r, &kids, depth + 1);
                n++;
            }
        }
        if (ok && k == 0) {
            mp_count(out, t == T1071I_JSON_OBJECT, n);
            put(out, kids.p, kids.n);
        }
        free(kids.p);
        return ok && k == 0;
    }
    if (!t1071i_json_scalar(r, &sc))
        return false;
    switch (sc.type) {
    case T1071I_JSON_NULL: put_be(out, 0xc0, 0, 0); return true;
    case T1071I_JSON_FALSE: put_be(out, 0xc2, 0, 0); return true;
    case T1071I_JSON_TRUE: put_be(out, 0xc3, 0, 0); return true;
    case T1071I_JSON_STRING: {
        size_t n;
        char *d = t1071i_json_string_dup(&sc, &n);

        assert_non_null(d);
        mp_str(out, d, n);
        free(d);
        return true;
    }
    default: {
        char tmp[64];
        int64_t v;
        bool integer = !memchr(sc.text, '.', sc.len) && !memchr(sc.text, 'e', sc.len) &&
                       !memchr(sc.text, 'E', sc.len);

        if (integer && t1071i_json_number_to_int64(sc.text, sc.len, &v)) {
            mp_int(out, v);
        } else {
            snprintf(tmp, sizeof(tmp), "%.*s", (int)(sc.len < 63 ? sc.len : 63), sc.text);
            mp_double(out, strtod(tmp, NULL));
        }
        return true;
    }
    }
}

/* The msgpack of one JSON line; false when the line is not valid JSON. */
static bool
json_to_msgpack(const char *json, size_t len, struct buf *out)
{
    struct t1071i_json_reader r;

    out->n = 0;
    t1071i_json_init(&r, json, len);
    if (len >= 3 && !memcmp(json, "\xEF\xBB\xBF", 3))
        r.p += 3;
    return encode_value(&r, out, 0) && t1071i_json_finish(&r);
}

/* ===== The fixtures ===== */

static const char *const files[] = {
    "examples/sample/sample.ndjson",
    "tests/integration/fixtures/real/mordor-apt29-zeek.ecs.ndjson",
    "tests/integration/fixtures/real/mordor-covenant-iertutil.ecs.ndjson",
    "tests/integration/fixtures/real/mordor-empire-ikeext.ecs.ndjson",
    "tests/integration/fixtures/real/raw/mordor-apt29-day2-newyork.zeek-conn.ndjson",
    "tests/integration/fixtures/real/raw/mordor-empire-ikeext.sysmon-raw.ndjson",
    "tests/integration/fixtures/real/raw/mordor-covenant-iertutil.sysmon-raw.ndjson",
    "tests/integration/fixtures/shapes/zeek-conn.json.ndjson",
    "tests/integration/fixtures/sources/auditbeat-socket.ndjson",
    "tests/integration/fixtures/sources/elastic-endpoint-linux.ndjson",
    "tests/integration/fixtures/sources/elastic-endpoint-windows.ndjson",
    "tests/integration/fixtures/sources/packetbeat-flow-pre711.ndjson",
    "tests/integration/fixtures/sources/packetbeat-flow.ndjson",
    "tests/integration/fixtures/sources/suricata-eve-flow.ndjson",
    "tests/integration/fixtures/sources/winlogbeat-sysmon3.ndjson",
    "tests/integration/fixtures/eql-vectors/a_25_one_entity.ndjson",
    "tests/integration/fixtures/eql-vectors/b_gap.ndjson",
    "tests/integration/fixtures/eql-vectors/c_maxspan_boundary.ndjson",
    "tests/integration/fixtures/eql-vectors/d_predicates.ndjson",
    "tests/integration/fixtures/eql-vectors/e_keys.ndjson",
    "tests/integration/fixtures/eql-vectors/f_equal_ts.ndjson",
    "tests/integration/fixtures/eql-vectors/g_predicates_each.ndjson",
    "tests/integration/fixtures/eql-vectors/h_edges_each.ndjson",
};

static const char *const sources[] = {NULL, "ecs", "sysmon", "zeek", "suricata"};

static char *
slurp(const char *rel, size_t *len)
{
    char path[1024];
    FILE *f;
    char *s;
    long n;

    snprintf(path, sizeof(path), "%s/%s", T1071_SRCDIR, rel);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return s;
}

/* Call @p fn on every non-empty line of @p rel. */
static size_t
each_line(const char *rel, void (*fn)(const char *line, size_t n, void *arg), void *arg)
{
    size_t len, count = 0;
    char *text = slurp(rel, &len);

    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (n && p[n - 1] == '\r')
            n--;
        if (n) {
            fn(p, n, arg);
            count++;
        }
        p = nl ? nl + 1 : end;
    }
    free(text);
    return count;
}

static size_t n_events, n_encoded;

static void
same_event(const char *line, size_t n, void *arg)
{
    struct buf mp = {NULL, 0, 0};

    (void)arg;
    if (!json_to_msgpack(line, n, &mp)) {
        free(mp.p);
        return; /* not JSON: nothing to compare (the JSON tests cover it) */
    }
    n_encoded++;
    for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
        t1071_buffer *a = NULL, *b = NULL;
        uint64_t recno = n_encoded;
        int ra = t1071_event_from_json_as(line, n, recno, sources[s], &a);
        int rb = t1071_event_from_msgpack(mp.p, mp.n, recno, sources[s], &b);

        if (ra != rb || t1071_buffer_size(a) != t1071_buffer_size(b) ||
            (ra == T1071_OK &&
             memcmp(t1071_buffer_data(a), t1071_buffer_data(b), t1071_buffer_size(a)))) {
            fprintf(stderr, "source %s: rc %d (json) vs %d (msgpack), %zu vs %zu bytes: %.*s\n",
                    sources[s] ? sources[s] : "auto", ra, rb, t1071_buffer_size(a),
                    t1071_buffer_size(b), (int)(n < 400 ? n : 400), line);
            fail();
        }
        n_events += ra == T1071_OK;
        t1071_buffer_free(a);
        t1071_buffer_free(b);
    }
    free(mp.p);
}

static void
test_events_equal(void **state)
{
    (void)state;
    n_events = n_encoded = 0;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
        each_line(files[f], same_event, NULL);
    fprintf(stderr, "# %zu records, %zu events compared\n", n_encoded, n_events);
    assert_true(n_encoded > 1000);
    assert_true(n_events > n_encoded); /* every record under several sources */
}

/* ===== Fed to a context: the same alerts and counters ===== */

struct pair {
    t1071_ctx *json, *mp;
    struct buf enc;
};

static t1071_ctx *
new_ctx(const char *const *kv)
{
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;

    assert_int_equal(t1071_config_new(&cfg), T1071_OK);
    for (size_t i = 0; kv && kv[i]; i += 2)
        assert_int_equal(t1071_config_set(cfg, kv[i], kv[i + 1]), T1071_OK);
    assert_int_equal(t1071_init(&ctx, cfg), T1071_OK);
    t1071_config_free(cfg);
    return ctx;
}

static void
feed_both(const char *line, size_t n, void *arg)
{
    struct pair *p = arg;
    int ra = t1071_feed_json(p->json, line, n), rb;

    if (!json_to_msgpack(line, n, &p->enc)) {
        /* Not JSON: msgpack of a string instead, bad for both. */
        p->enc.n = 0;
        mp_str(&p->enc, line, n);
    }
    rb = t1071_feed_msgpack(p->mp, p->enc.p, p->enc.n);
    if (ra != rb) {
        fprintf(stderr, "feed: %d (json) vs %d (msgpack): %s / %s\n", ra, rb,
                t1071_errmsg(p->json), t1071_errmsg(p->mp));
        fail();
    }
}

static char *
drain(t1071_ctx *ctx, size_t *count)
{
    struct buf all = {NULL, 0, 0};
    t1071_alert_batch *batch = NULL;

    assert_int_equal(t1071_advance(ctx, INT64_MAX), T1071_OK);
    assert_int_equal(t1071_poll_alerts(ctx, &batch), T1071_OK);
    *count = t1071_alert_batch_count(batch);
    for (size_t i = 0; i < *count; i++) {
        const char *j;
        size_t n;

        assert_int_equal(t1071_alert_batch_get_json(batch, i, &j, &n), T1071_OK);
        put(&all, j, n);
        put(&all, "\n", 1);
    }
    put(&all, "", 1);
    t1071_alert_batch_free(batch);
    return (char *)all.p;
}

static void
alerts_equal(const char *const *kv, size_t *alerts_out)
{
    size_t total = 0;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        struct pair p = {new_ctx(kv), new_ctx(kv), {NULL, 0, 0}};
        size_t na, nb;
        char *a, *b;

        each_line(files[f], feed_both, &p);
        a = drain(p.json, &na);
        b = drain(p.mp, &nb);
        if (na != nb || strcmp(a, b)) {
            fprintf(stderr, "%s: %zu alerts (json) vs %zu (msgpack)\n", files[f], na, nb);
            fail();
        }
        for (int id = 0; t1071_stat_name(id); id++) {
            uint64_t va = 0, vb = 0;

            assert_int_equal(t1071_stats_get(p.json, id, &va), T1071_OK);
            assert_int_equal(t1071_stats_get(p.mp, id, &vb), T1071_OK);
            if (va != vb) {
                fprintf(stderr, "%s: %s %llu (json) vs %llu (msgpack)\n", files[f],
                        t1071_stat_name(id), (unsigned long long)va, (unsigned long long)vb);
                fail();
            }
        }
        total += na;
        free(a);
        free(b);
        free(p.enc.p);
        t1071_free(p.json);
        t1071_free(p.mp);
    }
    *alerts_out = total;
}

static void
test_alerts_equal(void **state)
{
    static const char *const faithful[] = {"engine.lateness", "1h", NULL};
    static const char *const derive[] = {"engine.lateness", "1h", "rule.derive", "true",
                                         "rule.runs", "3", NULL};
    size_t a = 0, b = 0;

    (void)state;
    alerts_equal(faithful, &a);
    alerts_equal(derive, &b);
    fprintf(stderr, "# %zu alerts (faithful), %zu (derive, runs 3), equal\n", a, b);
    assert_true(a > 0);
    assert_true(b > 0);
}

/* ===== Encodings the encoder never picks ===== */

/* The Event of @p mp equals the Event of @p json. */
static void
same_as_json(const struct buf *mp, const char *json)
{
    t1071_buffer *a = NULL, *b = NULL;
    int ra = t1071_event_from_json(json, strlen(json), 0, &a);
    int rb = t1071_event_from_msgpack(mp->p, mp->n, 0, NULL, &b);

    assert_int_equal(ra, T1071_OK);
    assert_int_equal(rb, T1071_OK);
    if (t1071_buffer_size(a) != t1071_buffer_size(b) ||
        memcmp(t1071_buffer_data(a), t1071_buffer_data(b), t1071_buffer_size(a))) {
        fprintf(stderr, "differs from %s\n", json);
        fail();
    }
    t1071_buffer_free(a);
    t1071_buffer_free(b);
}

static void
kv_str(struct buf *b, const char *k, const char *v)
{
    mp_str(b, k, strlen(k));
    mp_str(b, v, strlen(v));
}

static void
test_encodings(void **state)
{
    struct buf b = {NULL, 0, 0};
    static const char big[300] = "x"; /* "x" then NULs: str16 / bin16 with NULs */
    float f32 = 0.1f;
    uint32_t u32;

    (void)state;
    /* Every integer width, as port, pid and bytes. */
    static const struct {
        unsigned lead, bytes;
        uint64_t v;
        const char *text;
    } ints[] = {
        {0x05, 0, 0, "5"},          {0xcc, 1, 200, "200"},     {0xcd, 2, 443, "443"},
        {0xce, 4, 70000, "70000"},  {0xcf, 8, 1ull << 40, "1099511627776"},
        {0xf9, 0, 0, "-7"},         {0xd0, 1, 0x80, "-128"},   {0xd1, 2, 0xff00, "-256"},
        {0xd2, 4, 0xfffe7960, "-100000"}, {0xd3, 8, (uint64_t)INT64_MIN, "-9223372036854775808"},
        {0xcf, 8, UINT64_MAX, "18446744073709551615"},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        char json[256];

        b.n = 0;
        mp_count(&b, true, 4);
        kv_str(&b, "@timestamp", "2024-01-01T00:00:00Z");
        mp_str(&b, "destination.port", 16);
        put_be(&b, ints[i].lead, ints[i].v, ints[i].bytes);
        mp_str(&b, "process.pid", 11);
        put_be(&b, ints[i].lead, ints[i].v, ints[i].bytes);
        mp_str(&b, "event.id", 8); /* a string field: the number's text */
        put_be(&b, ints[i].lead, ints[i].v, ints[i].bytes);
        snprintf(json, sizeof(json),
                 "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"destination.port\":%s,"
                 "\"process.pid\":%s,\"event.id\":%s}",
                 ints[i].text, ints[i].text, ints[i].text);
        same_as_json(&b, json);
    }
    /* Floats: float64 443.0 is the port 443; float32 0.1 prints "0.1";
     * NaN is null; ext is null; an integer key is its text; bin a string. */
    b.n = 0;
    mp_count(&b, true, 7);
    kv_str(&b, "@timestamp", "2024-01-01T00:00:00Z");
    mp_str(&b, "destination.port", 16);
    mp_double(&b, 443.0);
    mp_str(&b, "event.id", 8);
    memcpy(&u32, &f32, 4);
    put_be(&b, 0xca, u32, 4);
    mp_str(&b, "event.kind", 10);
    mp_double(&b, NAN);
    mp_str(&b, "host.name", 9);
    put(&b, "\xd6\x01\x00\x00\x00\x01", 6); /* fixext 4 */
    put_be(&b, 0x07, 0, 0);                  /* key 7 */
    mp_str(&b, "x", 1);
    mp_str(&b, "user.name", 9);
    put(&b, "\xc4\x03" "bob", 5);            /* bin8 */
    same_as_json(&b, "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"destination.port\":443,"
                     "\"event.id\":0.1,\"event.kind\":null,\"host.name\":null,\"7\":\"x\","
                     "\"user.name\":\"bob\"}");
    /* NUL and bad UTF-8 decode as the JSON escapes do; str16, bin16, str32,
     * map16 and array16 heads. */
    b.n = 0;
    put_be(&b, 0xde, 5, 2);
    kv_str(&b, "@timestamp", "2024-01-01T00:00:00Z");
    mp_str(&b, "host.name", 9);
    mp_str(&b, "a\0b\xff" "c\xe2\x82", 7);
    mp_str(&b, "user.name", 9);
    put_be(&b, 0xc5, sizeof(big), 2);
    put(&b, big, sizeof(big));
    mp_str(&b, "url.path", 8);
    put_be(&b, 0xdb, 3, 4);
    put(&b, "/a\\", 3);
    mp_str(&b, "process.name", 12);
    put_be(&b, 0xdc, 2, 2);
    mp_str(&b, "a.exe", 5);
    put_be(&b, 0xdd, 0, 4);
    {
        struct buf j = {NULL, 0, 0};
        const char *head = "{\"@timestamp\":\"2024-01-01T00:00:00Z\","
                           "\"host.name\":\"a\\u0000b\xff" "c\xe2\x82\",\"user.name\":\"x";

        put(&j, head, strlen(head));
        for (size_t i = 1; i < sizeof(big); i++)
            put(&j, "\\u0000", 6);
        const char *tail = "\",\"url.path\":\"/a\\\\\",\"process.name\":[\"a.exe\",[]]}";
        put(&j, tail, strlen(tail));
        put(&j, "", 1);
        same_as_json(&b, (const char *)j.p);
        free(j.p);
    }
    free(b.p);
}

/* ===== Bad input ===== */

static void
bad(const void *mp, size_t n, int want, const char *says)
{
    t1071_buffer *out = (t1071_buffer *)1;
    static const char *const kv[] = {NULL};
    t1071_ctx *ctx = new_ctx(kv);
    uint64_t records = 0, errs = 0;

    assert_int_equal(t1071_event_from_msgpack(mp, n, 0, NULL, &out), want);
    assert_null(out);
    assert_int_equal(t1071_feed_msgpack(ctx, mp, n), want);
    assert_int_equal(t1071_stats_get(ctx, T1071_STAT_RECORDS_IN, &records), T1071_OK);
    assert_int_equal(t1071_stats_get(ctx, want == T1071_E_JSON ? T1071_STAT_ERR_JSON
                                                                : T1071_STAT_ERR_TOO_LARGE,
                                     &errs),
                     T1071_OK);
    assert_int_equal(records, 1);
    assert_int_equal(errs, 1);
    if (says && !strstr(t1071_errmsg(ctx), says)) {
        fprintf(stderr, "errmsg '%s' does not say '%s'\n", t1071_errmsg(ctx), says);
        fail();
    }
    t1071_free(ctx);
}

static void
test_bad_input(void **state)
{
    struct buf b = {NULL, 0, 0};
    const char *line = "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"destination\":{\"ip\":"
                       "[\"10.0.0.1\",1.5,null,{\"a\":[1,2]}],\"port\":443},\"x\":[[[]],{}],"
                       "\"process\":{\"pid\":-70000,\"name\":\"a.exe\"}}";
    struct buf good = {NULL, 0, 0};

    (void)state;
    /* Not a map. */
    bad("\x93\x01\x02\x03", 4, T1071_E_JSON, "not a map");
    bad("\xa3" "abc", 4, T1071_E_JSON, "not a map");
    bad("", 0, T1071_E_JSON, "end of input");
    bad("\xc1", 1, T1071_E_JSON, "0xc1");
    /* A valid record cut at every byte, and with a byte after it. */
    assert_true(json_to_msgpack(line, strlen(line), &good));
    same_as_json(&good, line);
    for (size_t cut = 0; cut < good.n; cut++)
        bad(good.p, cut, T1071_E_JSON, "msgpack");
    put(&good, "\xc0", 1);
    bad(good.p, good.n, T1071_E_JSON, "bytes after the map");
    /* Lengths past the end: a string, a map, an array, an ext. */
    bad("\x81\xa1" "a\xdb\xff\xff\xff\xf0" "abc", 11, T1071_E_JSON, "string longer");
    bad("\xdf\xff\xff\xff\xff\xa1" "a", 7, T1071_E_JSON, "more entries");
    bad("\x81\xa1" "a\xdd\x7f\xff\xff\xff\x01", 9, T1071_E_JSON, "more entries");
    bad("\x81\xa1" "a\xc9\x00\x00\x10\x00\x01" "ab", 11, T1071_E_JSON, "truncated");
    /* Keys that are neither strings nor integers. */
    bad("\x81\xc0\x01", 3, T1071_E_JSON, "map key");
    bad("\x81\x90\x01", 3, T1071_E_JSON, "map key");
    bad("\x81\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\x01", 11, T1071_E_JSON, "map key");
    /* Nested 64 deep passes, 65 deep does not (in a skipped value). */
    for (int depth = 64; depth <= 65; depth++) {
        b.n = 0;
        put(&b, "\x82\xaa@timestamp\xb4" "2024-01-01T00:00:00Z\xa1x", 35);
        for (int i = 2; i < depth; i++) /* the top map and depth - 1 arrays */
            put(&b, "\x91", 1);
        put(&b, "\x90", 1);
        if (depth == 64) {
            t1071_buffer *out = NULL;
            assert_int_equal(t1071_event_from_msgpack(b.p, b.n, 0, NULL, &out), T1071_OK);
            t1071_buffer_free(out);
        } else {
            bad(b.p, b.n, T1071_E_JSON, "too deep");
        }
    }
    /* Over 4 MiB. */
    b.n = 0;
    put_be(&b, 0x81, 0, 0);
    mp_str(&b, "a", 1);
    put_be(&b, 0xdb, T1071I_JSON_MAX_BYTES, 4);
    for (size_t i = 0; i < T1071I_JSON_MAX_BYTES / 64; i++)
        put(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 64);
    bad(b.p, b.n, T1071_E_TOO_LARGE, "exceeds");
    /* Arguments. */
    assert_int_equal(t1071_feed_msgpack(NULL, "\x80", 1), T1071_E_INVALID_ARG);
    {
        t1071_buffer *out = NULL;
        assert_int_equal(t1071_event_from_msgpack(NULL, 1, 0, NULL, &out), T1071_E_INVALID_ARG);
        assert_int_equal(t1071_event_from_msgpack("\x80", 1, 0, "nope", &out),
                         T1071_E_INVALID_ARG);
        assert_int_equal(t1071_event_from_msgpack("\x80", 1, 0, NULL, NULL),
                         T1071_E_INVALID_ARG);
    }
    free(b.p);
    free(good.p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_equal),
        cmocka_unit_test(test_alerts_equal),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
