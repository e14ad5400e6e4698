/* SPDX-License-Identifier: Apache-2.0 */
/* rule.derive (lib/input/derive.c): fill the gaps real sources leave.
 * Internal, never installed. */
#ifndef T1071_INPUT_DERIVE_H
#define T1071_INPUT_DERIVE_H

#include <stddef.h>

#include "input/event.h"
#include "util/addr.h"

/* The value derive gives process.name for a process-less flow. */
#define T1071I_DERIVED_PROCESS_NAME "unknown"

/* What derive reads of the configuration. */
struct t1071i_derive_cfg {
    bool on;                            /* rule.derive */
    const struct t1071i_cidr *home;     /* rule.home_networks */
    size_t n_home;
};

/* Fill the gaps of an event when rule.derive is on (README "Sources and the
 * derive option"); a no-op when it is off.  In order:
 *   1. process.entity_id absent and process.pid present:
 *      "derived:<host.id, else host.name, else empty>:<pid>[:<process.start ms>]";
 *   2. network.direction absent, or holding perimeter values: "outbound" ->
 *      "egress", "inbound" -> "ingress"; "internal", "external", "unknown"
 *      and absent -> from the address classes of the first parseable
 *      source.ip and destination.ip against rule.home_networks (source home
 *      and destination not: egress; the reverse: ingress; both: internal;
 *      neither: external).  "egress" / "ingress" and any other value are
 *      kept as they are;
 *   3. process.entity_id still absent (no pid): the flow key
 *      "flow:<first parseable source.ip, as written>", and then, when
 *      process.name is absent, process.name = T1071I_DERIVED_PROCESS_NAME.
 * Every string and array it sets is malloc'ed and replaces (and frees) what
 * it replaces, so the event is still freed with
 * t1071__ecs__v1__event__free_unpacked(ev, NULL).  Returns T1071_OK or
 * T1071_E_NOMEM (the event is then left valid, perhaps partly derived). */
int t1071i_derive(const struct t1071i_derive_cfg *cfg, t1071i_event *ev);

/* The address class derive uses: 1 when @p ip (text) parses and lies in
 * rule.home_networks, 0 when it parses and does not, -1 when it does not
 * parse. */
int t1071i_derive_is_home(const struct t1071i_derive_cfg *cfg, const char *ip);

#endif /* T1071_INPUT_DERIVE_H */
