/* SPDX-License-Identifier: Apache-2.0 */
/* rule.derive: fill the gaps real sources leave in the fields the rule
 * reads, so their events are not silently lost (README "Sources
 * and the derive option").  Off by default: the faithful profile uses every
 * field exactly as it arrives.
 *
 * The event is a protobuf-c struct owned by the caller and freed with
 * t1071__ecs__v1__event__free_unpacked(ev, NULL), i.e. with free() field by
 * field.  Everything set here is therefore malloc'ed, and whatever it
 * replaces is freed here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/derive.h"
#include "util/addr.h"

static char *
dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

/* Replace a repeated string field with the single value @p v (copied). */
static int
set_single(char ***arr, size_t *n, const char *v)
{
    char **a = malloc(sizeof(char *));
    char *s = dup_str(v);

    if (!a || !s) {
        free(a);
        free(s);
        return T1071_E_NOMEM;
    }
    for (size_t i = 0; i < *n; i++)
        free((*arr)[i]);
    free(*arr);
    a[0] = s;
    *arr = a;
    *n = 1;
    return T1071_OK;
}

int
t1071i_derive_is_home(const struct t1071i_derive_cfg *cfg, const char *ip)
{
    uint8_t a[16];
    bool v4;

    if (!t1071i_parse_ip(ip, a, &v4))
        return -1;
    for (size_t i = 0; i < cfg->n_home; i++)
        if (t1071i_cidr_contains(&cfg->home[i], a))
            return 1;
    return 0;
}

/* The first value of @p vals that parses as an address, or NULL. */
static const char *
first_ip(char **vals, size_t n)
{
    uint8_t a[16];
    bool v4;

    for (size_t i = 0; i < n; i++)
        if (t1071i_parse_ip(vals[i], a, &v4))
            return vals[i];
    return NULL;
}

/* The direction the address classes give, or NULL when either end has no
 * parseable address. */
static const char *
class_direction(const struct t1071i_derive_cfg *cfg, const t1071i_event *ev)
{
    const char *src = first_ip(ev->source_ip, ev->n_source_ip);
    const char *dst = first_ip(ev->destination_ip, ev->n_destination_ip);
    int s, d;

    if (!src || !dst)
        return NULL;
    s = t1071i_derive_is_home(cfg, src);
    d = t1071i_derive_is_home(cfg, dst);
    if (s && !d)
        return "egress";
    if (!s && d)
        return "ingress";
    return s ? "internal" : "external";
}

/* (1) process.entity_id from host + pid + process.start. */
static int
derive_entity_id(t1071i_event *ev)
{
    const char *host;
    char *buf;
    size_t cap;
    int rc;

    if (ev->n_process_entity_id || !ev->has_process_pid)
        return T1071_OK;
    host = ev->host_id ? ev->host_id : ev->host_name ? ev->host_name : "";
    cap = strlen(host) + 64;
    buf = malloc(cap);
    if (!buf)
        return T1071_E_NOMEM;
    if (ev->has_process_start_ms)
        snprintf(buf, cap, "derived:%s:%" PRId64 ":%" PRId64, host, ev->process_pid,
                 ev->process_start_ms);
    else
        snprintf(buf, cap, "derived:%s:%" PRId64, host, ev->process_pid);
    rc = set_single(&ev->process_entity_id, &ev->n_process_entity_id, buf);
    free(buf);
    return rc;
}

/* (2) network.direction: perimeter values mapped, gaps from addresses. */
static int
derive_direction(const struct t1071i_derive_cfg *cfg, t1071i_event *ev)
{
    const char *cls = class_direction(cfg, ev);
    char **out;
    size_t n = 0;

    if (ev->n_network_direction == 0)
        return cls ? set_single(&ev->network_direction, &ev->n_network_direction, cls)
                   : T1071_OK;
    /* Map value by value, dropping duplicates; an unmappable value stays. */
    out = calloc(ev->n_network_direction, sizeof(char *));
    if (!out)
        return T1071_E_NOMEM;
    for (size_t i = 0; i < ev->n_network_direction; i++) {
        const char *v = ev->network_direction[i], *nv = v;
        bool dup = false;

        if (!strcmp(v, "outbound"))
            nv = "egress";
        else if (!strcmp(v, "inbound"))
            nv = "ingress";
        else if ((!strcmp(v, "internal") || !strcmp(v, "external") ||
                  !strcmp(v, "unknown")) && cls)
            nv = cls;
        for (size_t j = 0; j < n && !dup; j++)
            dup = !strcmp(out[j], nv);
        if (dup)
            continue;
        out[n] = dup_str(nv);
        if (!out[n]) {
            for (size_t j = 0; j < n; j++)
                free(out[j]);
            free(out);
            return T1071_E_NOMEM;
        }
        n++;
    }
    for (size_t i = 0; i < ev->n_network_direction; i++)
        free(ev->network_direction[i]);
    free(ev->network_direction);
    ev->network_direction = out;
    ev->n_network_direction = n;
    return T1071_OK;
}

/* (3) the flow key, and process.name for a process-less flow. */
static int
derive_flow_key(t1071i_event *ev)
{
    const char *src;
    char *key;
    int rc;

    if (ev->n_process_entity_id || ev->has_process_pid)
        return T1071_OK;
    src = first_ip(ev->source_ip, ev->n_source_ip);
    if (!src)
        return T1071_OK;
    key = malloc(strlen(src) + sizeof("flow:"));
    if (!key)
        return T1071_E_NOMEM;
    memcpy(key, "flow:", 5);
    memcpy(key + 5, src, strlen(src) + 1);
    rc = set_single(&ev->process_entity_id, &ev->n_process_entity_id, key);
    free(key);
    if (rc == T1071_OK && ev->n_process_name == 0)
        rc = set_single(&ev->process_name, &ev->n_process_name, T1071I_DERIVED_PROCESS_NAME);
    return rc;
}

int
t1071i_derive(const struct t1071i_derive_cfg *cfg, t1071i_event *ev)
{
    int rc;

    if (!cfg || !ev)
        return T1071_E_INVALID_ARG;
    if (!cfg->on)
        return T1071_OK;
    rc = derive_entity_id(ev);
    if (rc == T1071_OK)
        rc = derive_direction(cfg, ev);
    if (rc == T1071_OK)
        rc = derive_flow_key(ev);
    return rc;
}
