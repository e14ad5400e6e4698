/* SPDX-License-Identifier: Apache-2.0 */
/* t1071_key_history: a tracked key's beacon history (README "Key
 * history"), the JSON of lib/score/history.c wrapped with the key. */
#include <string.h>

#include <glib.h>

#include "engine/engine-priv.h"
#include "score/history.h"
#include "util/buffer.h"
#include "util/hash.h"

/* The live key of @p value in one engine state, or NULL. */
static const struct key *
find_key(const struct t1071_ctx *ctx, const char *value, size_t len)
{
    const struct katom *a = t1071i_atom_find(ctx, t1071i_hash(ctx->seed, value, len), value, len);
    return a ? a->key : NULL;
}

T1071_API int
t1071_key_history(const t1071_ctx *ctx, const char *key, size_t key_len, t1071_buffer **out)
{
    const struct key *k = NULL;
    size_t rule = 0;
    GString *o;

    if (out)
        *out = NULL;
    if (!ctx || !key || !out)
        return T1071_E_INVALID_ARG;
    if (memchr(key, '\0', key_len))
        return T1071_E_INVALID_ARG;
    /* With several rules, the first rule's state that tracks the key. */
    if (ctx->n_rules) {
        for (rule = 0; rule < ctx->n_rules && !k; rule++)
            k = find_key(ctx->rules[rule], key, key_len);
        rule--;
    } else {
        k = find_key(ctx, key, key_len);
    }
    if (!k)
        return T1071_E_RANGE;
    if (!k->beacon)
        return T1071_E_STATE;
    o = g_string_sized_new(4096);
    g_string_append(o, "{\"key\":");
    t1071i_history_string(o, key, key_len);
    g_string_append_printf(o, ",\"rule\":%zu,\"last_ms\":%" G_GINT64_FORMAT ",\"beacon\":", rule,
                           (gint64)k->last_ts);
    t1071i_tracker_history(k->beacon, o);
    g_string_append(o, "}");
    *out = t1071i_buffer_new(o->len);
    if (!*out) {
        g_string_free(o, TRUE);
        return T1071_E_NOMEM;
    }
    memcpy((*out)->data, o->str, o->len);
    g_string_free(o, TRUE);
    return T1071_OK;
}
