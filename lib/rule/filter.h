/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in filter (lib/rule/filter.c): the seed rule's predicate as
 * configuration keys set it (rule.ports, rule.category, rule.event_types,
 * rule.direction, rule.require_process_name, rule.exclude_cidrs), or a
 * compiled rule (rule.query) in its place.  Internal. */
#ifndef T1071_RULE_FILTER_H
#define T1071_RULE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/event.h"
#include "rule/rule.h"
#include "util/addr.h"

struct t1071i_filter {
    uint8_t port_bits[65536 / 8];
    char *category;               /* "" = any category */
    char **event_types;           /* any value equal to one of these */
    size_t n_event_types;
    char *direction;              /* "" = any direction */
    bool require_process_name;
    struct t1071i_cidr cidrs[T1071I_MAX_CIDRS];
    size_t n_cidrs;
};

static inline bool
t1071i_filter_port(const struct t1071i_filter *f, int64_t port)
{
    if (port < 0 || port > 65535)
        return false;
    return (f->port_bits[port >> 3] >> (port & 7)) & 1;
}

/* Evaluate the filter on an event (two-valued, any-value-matches: README
 * "Semantics").  @p rule, when not NULL, replaces the built-in predicate.
 * Returns true when the event passes. */
bool t1071i_filter_match(const struct t1071i_filter *f, const struct t1071i_rule *rule,
                         const t1071i_event *ev, struct t1071i_match *m);

#endif /* T1071_RULE_FILTER_H */
