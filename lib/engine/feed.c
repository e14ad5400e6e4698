/* SPDX-License-Identifier: Apache-2.0 */
/* The feed entry points: decode (zero-copy reader or protobuf-c), check
 * time, derive, filter, extract the key values, then the clock. */
#include "engine/engine-priv.h"
#include "input/shapes.h"

/* ===== Keys of an event ===== */

struct keyvals {
    size_t n;
    const char *v[MAX_KEY_VALUES];
    size_t len[MAX_KEY_VALUES];
    char *joined; /* compound keys: owned */
    size_t dropped; /* distinct values past MAX_KEY_VALUES */
};

static void
field_values(const t1071i_event *ev, enum t1071i_field f, char *const **vals, size_t *n,
             const char **single)
{
    *vals = NULL;
    *n = 0;
    *single = NULL;
    switch (f) {
    case T1071I_F_PROCESS_ENTITY_ID:
        *vals = ev->process_entity_id;
        *n = ev->n_process_entity_id;
        break;
    case T1071I_F_PROCESS_NAME:
        *vals = ev->process_name;
        *n = ev->n_process_name;
        break;
    case T1071I_F_SOURCE_IP:
        *vals = ev->source_ip;
        *n = ev->n_source_ip;
        break;
    case T1071I_F_PROCESS_EXECUTABLE:
        *single = ev->process_executable;
        break;
    case T1071I_F_HOST_ID:
        *single = ev->host_id;
        break;
    case T1071I_F_HOST_NAME:
        *single = ev->host_name;
        break;
    case T1071I_F_USER_NAME:
        *single = ev->user_name;
        break;
    default:
        break;
    }
}

/* The key values an event joins: each distinct value of a single key
 * field (a multi-valued key joins each value separately), or for a
 * compound key the first value of each field joined with U+001F.  A
 * missing field gives no key. */
static void
event_keys(const struct t1071_config *cfg, const t1071i_event *ev, struct keyvals *kv)
{
    kv->n = 0;
    kv->dropped = 0;
    kv->joined = NULL;
    if (cfg->n_key_fields == 1) {
        char *const *vals;
        size_t n;
        const char *single;
        field_values(ev, cfg->key_fields[0], &vals, &n, &single);
        if (single) {
            kv->v[0] = single;
            kv->len[0] = strlen(single);
            kv->n = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(vals[i]);
            bool dup = false;
            for (size_t j = 0; j < kv->n && !dup; j++)
                dup = kv->len[j] == len && !memcmp(kv->v[j], vals[i], len);
            if (dup)
                continue;
            if (kv->n == MAX_KEY_VALUES) {
                kv->dropped++;
                continue;
            }
            kv->v[kv->n] = vals[i];
            kv->len[kv->n++] = len;
        }
        return;
    }
    {
        GString *s = g_string_new(NULL);
        for (size_t f = 0; f < cfg->n_key_fields; f++) {
            char *const *vals;
            size_t n;
            const char *single;
            field_values(ev, cfg->key_fields[f], &vals, &n, &single);
            if (!single && n > 0)
                single = vals[0];
            if (!single) {
                g_string_free(s, TRUE);
                return;
            }
            if (f)
                g_string_append_c(s, '\x1f');
            g_string_append(s, single);
        }
        kv->len[0] = s->len;
        kv->joined = g_string_free(s, FALSE);
        kv->v[0] = kv->joined;
        kv->n = 1;
    }
}

/* ===== Feeding ===== */

int
t1071i_process_event(struct t1071_ctx *ctx, const t1071i_event *ev)
{
    struct t1071i_match m;
    struct rec *p = NULL;
    struct host *h;
    uint64_t seq = ctx->stats[T1071_STAT_RECORDS_IN];
    int rc;

    if (t1071i_shape_account(ctx->stats, ev))
        return T1071_OK; /* passed over (input/shapes.c): counted, not an error */
    if (ctx->n_rules)
        return t1071i_rules_event(ctx, ev);
    ctx->stats[T1071_STAT_EVENTS_DECODED]++;
    if (!ev->has_timestamp_ms || ev->timestamp_ms < MIN_TS || ev->timestamp_ms > MAX_TS) {
        ctx->stats[T1071_STAT_ERR_TIMESTAMP]++;
        t1071i_set_err(ctx, "record %" PRIu64 ": %s", seq,
                ev->has_timestamp_ms ? "@timestamp outside 1970..9999" : t1071i_shape_no_time(ev));
        return T1071_E_TIMESTAMP;
    }
    /* rule.derive fills gaps (entity id, direction, flow key) in place:
     * every event reaching here was allocated by unpack or the JSON reader. */
    if (ctx->cfg->derive && t1071i_config_derive(ctx->cfg, (t1071i_event *)ev) != T1071_OK)
        return T1071_E_NOMEM;
    h = t1071i_host_get(ctx, t1071i_event_host(ev));
    if (!h)
        return T1071_E_NOMEM;

    if (t1071i_config_match(ctx->cfg, ev, &m)) {
        struct keyvals kv;
        event_keys(ctx->cfg, ev, &kv);
        ctx->stats[T1071_STAT_KEY_VALUES_DROPPED] += kv.dropped;
        if (kv.n == 0) {
            ctx->stats[T1071_STAT_EVENTS_NO_KEY]++;
        } else {
            ctx->stats[T1071_STAT_EVENTS_MATCHED]++;
            if (!t1071i_make_room(ctx, 512)) {
                g_free(kv.joined);
                ctx->stats[T1071_STAT_EVENTS_DROPPED_MEMORY]++;
                t1071i_set_err(ctx, "record %" PRIu64 ": engine.memory_limit reached", seq);
                return T1071_E_NOMEM;
            }
            p = t1071i_pev_new(ctx, ev, &m, kv.v, kv.len, kv.n, seq);
            g_free(kv.joined);
            if (!p)
                return T1071_E_NOMEM;
        }
    } else {
        ctx->stats[T1071_STAT_EVENTS_FILTERED]++;
    }
    ctx->stats[T1071_STAT_MALFORMED_IP] += m.malformed_ips;
    rc = t1071i_on_time(ctx, h, ev->timestamp_ms, p);
    return rc;
}

static int
feed_one(struct t1071_ctx *ctx, const uint8_t *buf, size_t len)
{
    t1071i_event *ev;
    int rc;

    ctx->stats[T1071_STAT_RECORDS_IN]++;
    if (len > ctx->cfg->max_event_bytes) {
        ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        t1071i_set_err(ctx, "record %" PRIu64 ": %zu bytes, more than engine.max_event_bytes (%" PRIu32 ")",
                ctx->stats[T1071_STAT_RECORDS_IN], len, ctx->cfg->max_event_bytes);
        return T1071_E_TOO_LARGE;
    }
    /* The zero-copy reader accepts and yields exactly what protobuf-c
     * does; rule.derive edits the event in place (malloc'ed fields), so it
     * keeps the unpacked event. */
    /* A rule given as text (rule.query, added rules) may read any field:
     * then the reader materialises them all. */
    if (!ctx->cfg->derive && !ctx->wire && !ctx->wire_unusable)
        ctx->wire_unusable =
            (ctx->wire = t1071i_wire_new(ctx->cfg->rule != NULL || ctx->n_rules > 0)) == NULL;
    if (!ctx->cfg->derive && ctx->wire) {
        t1071i_event wev;
        rc = t1071i_wire_decode(ctx->wire, buf, len, &wev);
        if (rc == T1071_OK)
            return t1071i_process_event(ctx, &wev);
        if (rc == T1071_E_NOMEM) {
            t1071i_set_err(ctx, "record %" PRIu64 ": out of memory decoding the Event",
                    ctx->stats[T1071_STAT_RECORDS_IN]);
            return rc;
        }
        ev = NULL;
    } else {
        ev = t1071__ecs__v1__event__unpack(NULL, len, buf);
    }
    if (!ev) {
        ctx->stats[T1071_STAT_ERR_DECODE]++;
        t1071i_set_err(ctx, "record %" PRIu64 ": malformed protobuf Event",
                ctx->stats[T1071_STAT_RECORDS_IN]);
        return T1071_E_DECODE;
    }
    rc = t1071i_process_event(ctx, ev);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return rc;
}

T1071_API int
t1071_feed_event(t1071_ctx *ctx, const uint8_t *buf, size_t len)
{
    if (!ctx || (!buf && len))
        return T1071_E_INVALID_ARG;
    if (t1071i_queue_refuse(ctx, "feed again"))
        return T1071_E_QUEUE_FULL;
    return feed_one(ctx, buf ? buf : (const uint8_t *)"", len);
}

/* Read a base-128 varint of at most 10 bytes.  Returns bytes read, 0 when
 * the buffer ends inside it, -1 when it is malformed or over 64 bits. */
static int
read_varint(const uint8_t *p, size_t avail, uint64_t *out)
{
    uint64_t v = 0;

    for (int i = 0; i < 10; i++) {
        if ((size_t)i >= avail)
            return 0;
        if (i == 9 && p[i] > 1)
            return -1;
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return -1;
}

T1071_API int
t1071_feed_batch(t1071_ctx *ctx, const uint8_t *buf, size_t len, size_t *consumed)
{
    size_t off = 0;

    if (consumed)
        *consumed = 0;
    if (!ctx || (!buf && len))
        return T1071_E_INVALID_ARG;
    while (off < len) {
        uint64_t rlen;
        int n;
        if (t1071i_queue_refuse(ctx, "feed the rest")) {
            if (consumed)
                *consumed = off;
            return T1071_E_QUEUE_FULL;
        }
        n = read_varint(buf + off, len - off, &rlen);
        if (n <= 0 || rlen > len - off - (size_t)n) {
            ctx->stats[T1071_STAT_ERR_TRUNCATED]++;
            t1071i_set_err(ctx, "stream cut at byte %zu: %s", off,
                    n < 0 ? "malformed length prefix" : "record extends past the end");
            if (consumed)
                *consumed = off;
            return T1071_E_TRUNCATED;
        }
        {
            int rc = feed_one(ctx, buf + off + n, (size_t)rlen);
            /* Per-record errors are counted; the stream goes on. */
            if (rc == T1071_E_NOMEM) {
                if (consumed)
                    *consumed = off + (size_t)n + (size_t)rlen;
                return rc;
            }
        }
        off += (size_t)n + (size_t)rlen;
    }
    if (consumed)
        *consumed = off;
    return T1071_OK;
}

T1071_API int
t1071_feed_json(t1071_ctx *ctx, const char *json, size_t len)
{
    t1071i_event *ev = NULL;
    char err[160];
    int rc;

    if (!ctx || (!json && len))
        return T1071_E_INVALID_ARG;
    if (t1071i_queue_refuse(ctx, "feed again"))
        return T1071_E_QUEUE_FULL;
    ctx->stats[T1071_STAT_RECORDS_IN]++;
    if (len > T1071I_JSON_MAX_BYTES) {
        ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        t1071i_set_err(ctx, "record %" PRIu64 ": JSON event of %zu bytes is too large",
                ctx->stats[T1071_STAT_RECORDS_IN], len);
        return T1071_E_TOO_LARGE;
    }
    err[0] = '\0';
    rc = t1071i_json_to_event_as(json ? json : "", len, ctx->cfg->input_source, &ev, err,
                                 sizeof(err));
    if (rc == T1071_OK && t1071__ecs__v1__event__get_packed_size(ev) > ctx->cfg->max_event_bytes) {
        /* Same limit as the protobuf path: the event as it would be encoded. */
        snprintf(err, sizeof(err), "event encodes to more than engine.max_event_bytes (%" PRIu32 ")",
                 ctx->cfg->max_event_bytes);
        t1071__ecs__v1__event__free_unpacked(ev, NULL);
        ev = NULL;
        rc = T1071_E_TOO_LARGE;
    }
    if (rc != T1071_OK) {
        if (rc == T1071_E_JSON)
            ctx->stats[T1071_STAT_ERR_JSON]++;
        else if (rc == T1071_E_TOO_LARGE)
            ctx->stats[T1071_STAT_ERR_TOO_LARGE]++;
        t1071i_set_err(ctx, "record %" PRIu64 ": %s", ctx->stats[T1071_STAT_RECORDS_IN], err);
        return rc;
    }
    rc = t1071i_process_event(ctx, ev);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return rc;
}

T1071_API int
t1071_advance(t1071_ctx *ctx, int64_t event_time_ms)
{
    if (!ctx)
        return T1071_E_INVALID_ARG;
    return t1071i_advance(ctx, event_time_ms);
}

int
t1071i_advance(struct t1071_ctx *ctx, int64_t event_time_ms)
{
    int rc = T1071_OK;

    if (t1071i_queue_refuse(ctx, "advance"))
        return T1071_E_QUEUE_FULL;
    if (ctx->n_rules)
        return t1071i_rules_advance(ctx, event_time_ms);
    if (ctx->has_floor && event_time_ms <= ctx->floor)
        return T1071_OK;
    ctx->floor = event_time_ms;
    ctx->has_floor = true;
    for (struct host *h = ctx->hosts_first; h; h = h->next) {
        int erc;
        if (h->has_held && h->held_ts <= event_time_ms) {
            /* Time has been declared past the held suspect: it is no
             * longer in the future, run it. */
            int64_t hts;
            struct rec *hp;
            t1071i_take_held(h, &hts, &hp);
            if (hts > h->max_ts || !h->has_max) {
                h->max_ts = hts;
                h->has_max = true;
            }
            if (hp) {
                erc = t1071i_heap_push(ctx, h, hp);
                if (erc != T1071_OK) {
                    t1071i_pev_unref(ctx, hp);
                    rc = erc;
                }
            }
        }
        erc = t1071i_release(ctx, h);
        if (erc != T1071_OK)
            rc = erc;
    }
    return rc;
}

T1071_API int
t1071_event_shard(const uint8_t *buf, size_t len, uint32_t nshards, uint32_t *shard)
{
    t1071i_event *ev;
    const char *name;

    if (shard)
        *shard = 0;
    if (!shard || nshards == 0 || (!buf && len))
        return T1071_E_INVALID_ARG;
    if (len > T1071_MAX_EVENT_BYTES)
        return T1071_E_TOO_LARGE;
    ev = t1071__ecs__v1__event__unpack(NULL, len, buf ? buf : (const uint8_t *)"");
    if (!ev)
        return T1071_E_DECODE;
    name = t1071i_event_host(ev);
    *name ? (void)(*shard = (uint32_t)(t1071i_hash(SHARD_SEED, name, strlen(name)) % nshards))
          : (void)(*shard = 0);
    t1071__ecs__v1__event__free_unpacked(ev, NULL);
    return T1071_OK;
}
