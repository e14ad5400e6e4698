/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots (lib/README.md "Snapshot format"): the envelope every
 * snapshot is sealed in, and one rule's state as a t1071.ecs.v1.Snapshot
 * message (proto/t1071/ecs/v1/ecs.proto), written by t1071i_snapshot and
 * read back by t1071i_restore.  Several rules wrap one such snapshot per
 * rule in a T1071MRS envelope (lib/engine/rules.c). */
#include "engine/engine-priv.h"
#include "util/sha256.h"

/* ===== The envelope ===== */

static void
payload_digest(const uint8_t *b, size_t len, uint8_t out[32])
{
    struct t1071i_sha256 sum;

    t1071i_sha256_init(&sum, T1071I_SHA256_AUTO);
    t1071i_sha256_update(&sum, b + T1071I_ENVELOPE_HEADER, len - T1071I_ENVELOPE_HEADER);
    t1071i_sha256_digest(&sum, out);
}

void
t1071i_envelope_seal(uint8_t *b, size_t len, const char magic[8], uint32_t ver, uint32_t aux)
{
    memcpy(b, magic, 8);
    t1071i_put_le(b + 8, ver, 4);
    t1071i_put_le(b + 12, aux, 4);
    payload_digest(b, len, b + 16);
}

int
t1071i_envelope_open(const uint8_t *b, size_t len, const char magic[8], uint32_t max_ver,
                     uint32_t *ver, uint32_t *aux)
{
    uint8_t digest[32];

    if (len < T1071I_ENVELOPE_HEADER || memcmp(b, magic, 8) != 0)
        return T1071_E_SNAPSHOT;
    *ver = (uint32_t)t1071i_get_le(b + 8, 4);
    *aux = (uint32_t)t1071i_get_le(b + 12, 4);
    if (*ver > max_ver)
        return T1071_E_VERSION;
    if (*ver == 0)
        return T1071_E_SNAPSHOT;
    payload_digest(b, len, digest);
    return memcmp(digest, b + 16, 32) ? T1071_E_SNAPSHOT : T1071_OK;
}

/* ===== One rule's state ===== */

#define SNAP_MAGIC "T1071SNP"
#define SNAP_HEADER T1071I_ENVELOPE_HEADER

typedef T1071__Ecs__V1__Snapshot snap_t;
typedef T1071__Ecs__V1__SnapshotEvent snap_event_t;
typedef T1071__Ecs__V1__SnapshotHost snap_host_t;
typedef T1071__Ecs__V1__SnapshotKey snap_key_t;

struct snap_builder {
    GHashTable *index;          /* record pointer -> index + 1 */
    GPtrArray *events;          /* snap_event_t * */
    GPtrArray *to_free;
};

static uint32_t
snap_event_index(struct snap_builder *sb, const struct rec *p)
{
    gpointer v = g_hash_table_lookup(sb->index, p);
    struct t1071i_pev view;
    const char **keys;
    snap_event_t *e;

    if (v)
        return GPOINTER_TO_UINT(v) - 1;
    keys = g_new(const char *, p->n_keys ? p->n_keys : 1);
    g_ptr_array_add(sb->to_free, keys);
    t1071i_rec_view(p, &view, keys);
    e = g_new0(snap_event_t, 1);
    t1071__ecs__v1__snapshot_event__init(e);
    e->event_id = (char *)view.id;
    e->has_timestamp_ms = 1;
    e->timestamp_ms = view.ts;
    e->has_seq = 1;
    e->seq = p->seq;
    e->has_destination_port = 1;
    e->destination_port = view.port;
    e->destination_ip = NULL;
    if (view.ip) {
        e->destination_ip = g_strdup(view.ip);
        g_ptr_array_add(sb->to_free, e->destination_ip);
    }
    e->destination_domain = (char *)view.domain;
    e->host_name = (char *)view.host_name;
    e->host_id = (char *)view.host_id;
    e->process_name = (char *)view.pname;
    e->process_executable = (char *)view.exe;
    e->network_community_id = (char *)view.flow;
    e->n_keys = view.n_keys;
    e->keys = (char **)keys;
    if (view.has_xfer) {
        e->has_bytes = 1;
        e->bytes = view.xfer;
    }
    g_ptr_array_add(sb->events, e);
    g_hash_table_insert(sb->index, (gpointer)p, GUINT_TO_POINTER(sb->events->len));
    return sb->events->len - 1;
}

T1071_API int
t1071_snapshot(const t1071_ctx *ctx, t1071_buffer **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !out)
        return T1071_E_INVALID_ARG;
    return t1071i_snapshot(ctx, out);
}

int
t1071i_snapshot(const struct t1071_ctx *ctx, struct t1071_buffer **out)
{
    snap_t s = T1071__ECS__V1__SNAPSHOT__INIT;
    struct snap_builder sb;
    GPtrArray *cfgv, *hosts, *keys, *to_free;
    GHashTable *host_index, *key_index;
    GArray *ghosts;
    ProtobufCBinaryData *alerts = NULL;
    struct t1071_buffer *b = NULL;
    size_t cap, plen;

    *out = NULL;
    if (ctx->n_rules)
        return t1071i_rules_snapshot(ctx, out);
    cap = t1071i_ring_cap(ctx);
    cfgv = g_ptr_array_new_with_free_func(g_free);
    hosts = g_ptr_array_new_with_free_func(g_free);
    keys = g_ptr_array_new_with_free_func(g_free);
    to_free = g_ptr_array_new_with_free_func(g_free);
    host_index = g_hash_table_new(NULL, NULL);
    key_index = g_hash_table_new(NULL, NULL);
    ghosts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    sb.index = g_hash_table_new(NULL, NULL);
    sb.events = g_ptr_array_new_with_free_func(g_free);
    sb.to_free = to_free;

    for (size_t i = 0; t1071i_config_key(i); i++) {
        T1071__Ecs__V1__SnapshotConfigValue *cv = g_new0(T1071__Ecs__V1__SnapshotConfigValue, 1);
        t1071__ecs__v1__snapshot_config_value__init(cv);
        cv->key = (char *)t1071i_config_key(i);
        cv->value = ctx->cfg->values[i];
        g_ptr_array_add(cfgv, cv);
    }
    s.n_config = cfgv->len;
    s.config = (T1071__Ecs__V1__SnapshotConfigValue **)cfgv->pdata;
    s.has_seed = 1;
    s.seed = ctx->seed;

    {
        uint32_t hi = 0;
        for (struct host *h = ctx->hosts_first; h; h = h->next)
            g_hash_table_insert(host_index, h, GUINT_TO_POINTER(++hi));
    }
    /* Keys: tier 0 then tier 1, each in eviction order. */
    for (unsigned t = 0; t < 2; t++) {
        for (struct key *k = ctx->tiers[t].head; k; k = k->gnext) {
            snap_key_t *sk = g_new0(snap_key_t, 1);
            uint32_t *ring = g_new(uint32_t, k->count ? k->count : 1);
            t1071__ecs__v1__snapshot_key__init(sk);
            sk->value = k->atom->str;
            sk->has_host = 1;
            sk->host = GPOINTER_TO_UINT(g_hash_table_lookup(host_index, k->host)) - 1;
            sk->has_last_ts = 1;
            sk->last_ts = k->last_ts;
            for (uint32_t i = 0; i < k->count; i++)
                ring[i] = snap_event_index(&sb, k->ring[(k->head + i) % cap]);
            sk->n_ring = k->count;
            sk->ring = ring;
            g_ptr_array_add(to_free, ring);
            sk->has_tier = 1;
            sk->tier = t;
            sk->has_proven = 1;
            sk->proven = k->proven;
            if (k->beacon)
                sk->beacon = t1071i_tracker_snap_key(k->beacon, to_free);
            g_ptr_array_add(keys, sk);
            g_hash_table_insert(key_index, k, GUINT_TO_POINTER(keys->len));
        }
    }
    s.n_keys = keys->len;
    s.keys = (snap_key_t **)keys->pdata;

    for (struct host *h = ctx->hosts_first; h; h = h->next) {
        snap_host_t *sh = g_new0(snap_host_t, 1);
        uint32_t *heap = g_new(uint32_t, h->heap_n ? h->heap_n : 1);
        GArray *lru = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        t1071__ecs__v1__snapshot_host__init(sh);
        sh->name = h->name;
        if (h->has_max) {
            sh->has_max_ts = 1;
            sh->max_ts = h->max_ts;
        }
        for (size_t i = 0; i < h->heap_n; i++)
            heap[i] = snap_event_index(&sb, h->heap[i]);
        sh->n_heap = h->heap_n;
        sh->heap = heap;
        g_ptr_array_add(to_free, heap);
        if (h->has_held) {
            sh->has_held_ts = 1;
            sh->held_ts = h->held_ts;
            sh->has_held = 1;
            sh->held = h->held ? snap_event_index(&sb, h->held) + 1 : 0;
        }
        if (h->first_open) {
            sh->has_first_ts = 1;
            sh->first_ts = h->first_ts;
            sh->has_first = 1;
            sh->first = h->first ? snap_event_index(&sb, h->first) + 1 : 0;
        }
        for (struct key *k = h->lru_head; k; k = k->next) {
            uint32_t ki = GPOINTER_TO_UINT(g_hash_table_lookup(key_index, k)) - 1;
            g_array_append_val(lru, ki);
        }
        sh->n_lru = lru->len;
        sh->lru = (uint32_t *)g_array_free(lru, FALSE);
        g_ptr_array_add(to_free, sh->lru);
        g_ptr_array_add(hosts, sh);
    }
    s.n_hosts = hosts->len;
    s.hosts = (snap_host_t **)hosts->pdata;
    s.n_events = sb.events->len;
    s.events = (snap_event_t **)sb.events->pdata;

    alerts = g_new0(ProtobufCBinaryData, ctx->q_n ? ctx->q_n : 1);
    for (size_t i = 0; i < ctx->q_n; i++) {
        alerts[i].len = ctx->queue[i]->len;
        alerts[i].data = ctx->queue[i]->data;
    }
    s.n_alerts = ctx->q_n;
    s.alerts = alerts;
    s.n_stats = T1071I_STAT_COUNT;
    s.stats = (uint64_t *)ctx->stats;
    if (ctx->has_floor) {
        s.has_floor = 1;
        s.floor = ctx->floor;
    }
    for (uint64_t i = 0; i < GHOSTS; i++) {
        if (ctx->ghosts[i]) {
            g_array_append_val(ghosts, i);
            g_array_append_val(ghosts, ctx->ghosts[i]);
        }
    }
    s.n_ghosts = ghosts->len;
    s.ghosts = (uint64_t *)ghosts->data;
    t1071i_tracker_snap(ctx->tracker, &s, to_free);

    plen = t1071__ecs__v1__snapshot__get_packed_size(&s);
    b = t1071i_buffer_new(SNAP_HEADER + plen);
    if (b) {
        t1071__ecs__v1__snapshot__pack(&s, b->data + SNAP_HEADER);
        t1071i_envelope_seal(b->data, b->len, SNAP_MAGIC, T1071_SNAPSHOT_VERSION, 0);
    }

    g_free(alerts);
    g_array_free(ghosts, TRUE);
    g_ptr_array_free(to_free, TRUE);
    g_hash_table_destroy(host_index);
    g_hash_table_destroy(key_index);
    g_hash_table_destroy(sb.index);
    g_ptr_array_free(sb.events, TRUE);
    g_ptr_array_free(keys, TRUE);
    g_ptr_array_free(hosts, TRUE);
    g_ptr_array_free(cfgv, TRUE);
    if (!b)
        return T1071_E_NOMEM;
    *out = b;
    return T1071_OK;
}

/* Rebuild a context from an unpacked snapshot; every index is checked. */
static int
restore_state(struct t1071_ctx *ctx, const snap_t *s)
{
    struct rec **ev = NULL;
    struct host **hosts = NULL;
    struct key **keys = NULL;
    size_t cap = t1071i_ring_cap(ctx);
    int rc = T1071_E_SNAPSHOT;

    ev = calloc(s->n_events ? s->n_events : 1, sizeof(*ev));
    hosts = calloc(s->n_hosts ? s->n_hosts : 1, sizeof(*hosts));
    keys = calloc(s->n_keys ? s->n_keys : 1, sizeof(*keys));
    if (!ev || !hosts || !keys) {
        rc = T1071_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->n_events; i++) {
        const snap_event_t *e = s->events[i];
        const char *strs[REC_STRS] = {e->event_id, e->destination_ip, e->destination_domain,
                                      e->host_name, e->host_id, e->process_name,
                                      e->process_executable, e->network_community_id};
        size_t *lens = g_new(size_t, e->n_keys ? e->n_keys : 1);
        if (!e->event_id || !e->has_timestamp_ms || e->n_keys == 0 || e->n_keys > MAX_KEY_VALUES) {
            g_free(lens);
            goto out;
        }
        for (size_t k = 0; k < e->n_keys; k++)
            lens[k] = strlen(e->keys[k]);
        {
            /* Binary when the text is exactly what the binary formats to. */
            uint8_t a[16];
            char buf[INET6_ADDRSTRLEN];
            bool v4 = false;
            unsigned ipf = 0;
            if (e->destination_ip && t1071i_parse_ip(e->destination_ip, a, &v4)) {
                const char *t = t1071i_format_ip(v4, v4 ? a + 12 : a, buf);
                if (t && !strcmp(t, e->destination_ip)) {
                    ipf = v4 ? R_IP4 : R_IP6;
                    strs[1] = NULL;
                }
            }
            ev[i] = t1071i_pev_alloc(ctx, strs, (const char *const *)e->keys, lens, e->n_keys,
                              e->timestamp_ms, e->seq, e->destination_port, e->has_bytes,
                              e->has_bytes ? e->bytes : 0, ipf, v4 ? a + 12 : a);
        }
        g_free(lens);
        if (!ev[i]) {
            rc = T1071_E_NOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < s->n_hosts; i++) {
        const snap_host_t *sh = s->hosts[i];
        struct host *h;
        if (!sh->name || t1071i_ht_find(&ctx->hosts, t1071i_hash(ctx->seed, sh->name, strlen(sh->name)),
                                 sh->name, strlen(sh->name)))
            goto out;
        h = t1071i_host_get(ctx, sh->name);
        if (!h) {
            rc = T1071_E_NOMEM;
            goto out;
        }
        hosts[i] = h;
        h->has_max = sh->has_max_ts;
        h->max_ts = sh->max_ts;
        /* Sized from what the snapshot holds (n_heap is bounded by its
         * bytes), never from a count it merely states. */
        if (sh->n_heap) {
            size_t nc = 16;
            while (nc < sh->n_heap)
                nc *= 2;
            h->heap = malloc(nc * sizeof(*h->heap));
            if (!h->heap) {
                rc = T1071_E_NOMEM;
                goto out;
            }
            h->heap_cap = nc;
            mem_add(ctx, sh->n_heap * sizeof(*h->heap));
        }
        for (size_t j = 0; j < sh->n_heap; j++) {
            if (sh->heap[j] >= s->n_events || ev[sh->heap[j]]->refs >= REC_REFS_MAX)
                goto out;
            h->heap[j] = ev[sh->heap[j]];
            h->heap[j]->refs++;
            h->heap_n++;
        }
        if (sh->has_held_ts) {
            if (sh->held > s->n_events || (sh->held && ev[sh->held - 1]->refs >= REC_REFS_MAX))
                goto out;
            h->has_held = true;
            h->held_ts = sh->held_ts;
            h->held = sh->held ? ev[sh->held - 1] : NULL;
            if (h->held)
                h->held->refs++;
        }
        if (sh->has_first_ts) {
            if (sh->first > s->n_events ||
                (sh->first && ev[sh->first - 1]->refs >= REC_REFS_MAX))
                goto out;
            h->first_open = true;
            h->first_ts = sh->first_ts;
            h->first = sh->first ? ev[sh->first - 1] : NULL;
            if (h->first)
                h->first->refs++;
        }
    }
    for (size_t i = 0; i < s->n_keys; i++) {
        const snap_key_t *sk = s->keys[i];
        size_t len;
        uint64_t hh;
        struct katom *a;
        struct key *k;
        if (!sk->value || sk->host >= s->n_hosts || sk->n_ring > cap || sk->tier > 1)
            goto out;
        for (size_t j = 0; j < sk->n_ring; j++)
            if (sk->ring[j] >= s->n_events || ev[sk->ring[j]]->refs >= REC_REFS_MAX)
                goto out;
        len = strlen(sk->value);
        hh = t1071i_hash(ctx->seed, sk->value, len);
        a = t1071i_atom_find(ctx, hh, sk->value, len);
        if (a && a->key)
            goto out;
        if (!a && !(a = t1071i_atom_get(ctx, hh, sk->value, len))) {
            rc = T1071_E_NOMEM;
            goto out;
        }
        k = t1071i_key_alloc(ctx);
        if (!k) {
            if (!a->node.aux) {
                a->node.aux++;
                t1071i_atom_unref(ctx, a);
            }
            rc = T1071_E_NOMEM;
            goto out;
        }
        k->atom = a;
        a->node.aux++;
        a->key = k;
        k->host = hosts[sk->host];
        k->last_ts = sk->last_ts;
        k->proven = sk->proven;
        for (size_t j = 0; j < sk->n_ring; j++) {
            k->ring[j] = ev[sk->ring[j]];
            k->ring[j]->refs++;
            k->count++;
        }
        /* Tier membership as saved (not recomputed). */
        k->tier = sk->tier;
        {
            struct tier *t = &ctx->tiers[k->tier];
            k->gprev = t->tail;
            if (t->tail)
                t->tail->gnext = k;
            else
                t->head = k;
            t->tail = k;
        }
        ctx->stats[T1071_STAT_KEYS]++;
        mem_add(ctx, t1071i_key_bytes(ctx));
        keys[i] = k;
        if (sk->beacon) {
            size_t bytes = 0;
            int brc = ctx->tracker ? t1071i_tracker_restore_key(ctx->tracker, sk->beacon,
                                                                &k->beacon, &bytes)
                                   : T1071_E_SNAPSHOT;
            if (brc != T1071_OK) {
                rc = brc;
                goto out;
            }
            mem_add(ctx, bytes);
        }
    }
    /* Host lists: every key exactly once, in its own host's list. */
    {
        size_t listed = 0;
        for (size_t i = 0; i < s->n_hosts; i++) {
            for (size_t j = 0; j < s->hosts[i]->n_lru; j++) {
                uint32_t ki = s->hosts[i]->lru[j];
                if (ki >= s->n_keys || keys[ki]->host != hosts[i] || keys[ki]->prev ||
                    hosts[i]->lru_head == keys[ki])
                    goto out;
                t1071i_lru_append(hosts[i], keys[ki]);
                listed++;
            }
        }
        if (listed != s->n_keys)
            goto out;
    }
    for (size_t i = 0; i < s->n_alerts; i++) {
        /* Undelivered alerts must be alerts: a host decodes them. */
        T1071__Ecs__V1__Alert *a =
            t1071__ecs__v1__alert__unpack(NULL, s->alerts[i].len, s->alerts[i].data);
        if (!a) {
            rc = T1071_E_SNAPSHOT;
            goto out;
        }
        t1071__ecs__v1__alert__free_unpacked(a, NULL);
        rc = t1071i_queue_push(ctx, s->alerts[i].data, s->alerts[i].len);
        if (rc != T1071_OK)
            goto out;
    }
    rc = T1071_E_SNAPSHOT;
    if (s->n_stats > T1071I_STAT_COUNT)
        goto out;
    {
        uint64_t mem = ctx->stats[T1071_STAT_MEMORY_BYTES];
        for (size_t i = 0; i < s->n_stats; i++)
            ctx->stats[i] = s->stats[i];
        /* Gauges describe this context's state as rebuilt. */
        ctx->stats[T1071_STAT_MEMORY_BYTES] = mem;
        ctx->stats[T1071_STAT_KEYS] = s->n_keys;
        ctx->stats[T1071_STAT_HOSTS] = s->n_hosts;
        ctx->stats[T1071_STAT_ALERTS_QUEUED] = s->n_alerts;
        ctx->stats[T1071_STAT_EVENTS_BUFFERED] = 0;
        for (size_t i = 0; i < s->n_hosts; i++)
            ctx->stats[T1071_STAT_EVENTS_BUFFERED] += hosts[i]->heap_n;
    }
    {
        size_t before = t1071i_tracker_bytes(ctx->tracker);
        int brc = t1071i_tracker_restore(ctx->tracker, s);
        mem_add(ctx, t1071i_tracker_bytes(ctx->tracker) - before);
        if (brc != T1071_OK) {
            rc = brc;
            goto out;
        }
    }
    rc = T1071_E_SNAPSHOT;
    ctx->has_floor = s->has_floor;
    ctx->floor = s->floor;
    if (s->n_ghosts % 2)
        goto out;
    for (size_t i = 0; i < s->n_ghosts; i += 2) {
        if (s->ghosts[i] >= GHOSTS)
            goto out;
        ctx->ghosts[s->ghosts[i]] = s->ghosts[i + 1];
    }
    rc = T1071_OK;
out:
    if (ev) {
        /* Drop the construction references: what remains is owned by
         * rings, heaps and held slots (or freed on error with the ctx). */
        for (size_t i = 0; i < s->n_events; i++)
            if (ev[i])
                t1071i_pev_unref(ctx, ev[i]);
    }
    free(ev);
    free(hosts);
    free(keys);
    return rc;
}

T1071_API int
t1071_restore(t1071_ctx **out, const uint8_t *buf, size_t len)
{
    if (out)
        *out = NULL;
    if (!out || (!buf && len))
        return T1071_E_INVALID_ARG;
    return t1071i_restore(out, buf ? buf : (const uint8_t *)"", len);
}

int
t1071i_restore(struct t1071_ctx **out, const uint8_t *buf, size_t len)
{
    if (len >= 8 && !memcmp(buf, RULES_MAGIC, 8))
        return t1071i_rules_restore(out, buf, len);
    return t1071i_restore_one(out, buf, len);
}

int
t1071i_restore_one(struct t1071_ctx **out, const uint8_t *buf, size_t len)
{
    struct t1071_config *cfg = NULL;
    struct t1071_ctx *ctx = NULL;
    snap_t *s = NULL;
    uint32_t ver, aux;
    int rc;

    *out = NULL;
    rc = t1071i_envelope_open(buf, len, SNAP_MAGIC, T1071_SNAPSHOT_VERSION, &ver, &aux);
    if (rc != T1071_OK)
        return rc;
    if (aux != 0)
        return T1071_E_SNAPSHOT;
    s = t1071__ecs__v1__snapshot__unpack(NULL, len - SNAP_HEADER, buf + SNAP_HEADER);
    if (!s)
        return T1071_E_SNAPSHOT;
    rc = t1071i_config_new(&cfg);
    if (rc != T1071_OK)
        goto out;
    for (size_t i = 0; i < s->n_config; i++) {
        if (!s->config[i]->key || !s->config[i]->value ||
            t1071i_config_set(cfg, s->config[i]->key, s->config[i]->value) != T1071_OK) {
            rc = T1071_E_SNAPSHOT;
            goto out;
        }
    }
    if (!s->has_seed || s->seed == 0) {
        rc = T1071_E_SNAPSHOT;
        goto out;
    }
    {
        char seed[32];
        snprintf(seed, sizeof(seed), "%" PRIu64, s->seed);
        t1071i_config_set(cfg, "engine.hash_seed", seed);
    }
    rc = t1071i_ctx_new(&ctx, cfg);
    if (rc != T1071_OK)
        goto out;
    /* The seed key is part of the restored config text too. */
    rc = restore_state(ctx, s);
    if (rc != T1071_OK) {
        t1071i_ctx_free(ctx);
        ctx = NULL;
        goto out;
    }
    *out = ctx;
out:
    t1071i_config_free(cfg);
    t1071__ecs__v1__snapshot__free_unpacked(s, NULL);
    return rc;
}
