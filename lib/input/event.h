/* SPDX-License-Identifier: Apache-2.0 */
/* The decoded ECS event every layer reads, and the view of a pending event
 * that scoring and alert building read.  Internal, never installed. */
#ifndef T1071_INPUT_EVENT_H
#define T1071_INPUT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t1071/t1071detect.h"
#include "ecs.pb-c.h"

typedef T1071__Ecs__V1__Event t1071i_event;

/* One rule-matching event as the engine keeps it, seen through the view
 * the engine builds from its compact record (lib/engine/record.c,
 * t1071i_rec_view): what the tracker and the alert builder read. */
struct t1071i_pev {
    uint32_t n_keys;
    int64_t ts;
    int64_t port;         /* the destination.port value that matched */
    bool has_xfer;        /* the event carried source.bytes or destination.bytes */
    int64_t xfer;         /* their sum, for the beacon size factor */
    const char *id;       /* event.id, or "line:N"; never NULL */
    const char *ip;       /* first parseable destination.ip, normalised; or NULL */
    const char *domain;   /* destination.domain or tls.client.server_name, or NULL */
    const char *host_name;
    const char *host_id;
    const char *pname;    /* first process.name value */
    const char *exe;
    const char *flow;     /* network.community_id (kept while scoring), or NULL */
    const char **keys;    /* the key values it joins (deduplicated) */
    char ipbuf[46];       /* the engine's views: ip points here (INET6_ADDRSTRLEN) */
};

#endif /* T1071_INPUT_EVENT_H */
