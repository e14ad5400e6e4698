/* SPDX-License-Identifier: Apache-2.0 */
/* The rule's filter, compiled: port bitmap, CIDR set over 16-byte
 * addresses, event types, direction, category and name presence.  Evaluated
 * like Elasticsearch's term queries (README "Semantics"): two-valued, and a field
 * holding an array matches when any value does. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "rule/filter.h"
#include "util/addr.h"

static bool
any_equals(char **vals, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(vals[i], want))
            return true;
    return false;
}

bool
t1071i_filter_match(const struct t1071i_filter *cfg, const struct t1071i_rule *rule,
                    const t1071i_event *ev, struct t1071i_match *m)
{
    bool port_ok = false, type_ok = false;

    /* A rule given as text (rule.query) replaces the built-in filter. */
    if (rule)
        return t1071i_rule_match(rule, ev, m);
    m->port = -1;
    m->ip_index = -1;
    m->malformed_ips = 0;

    /* destination.port in (...) */
    for (size_t i = 0; i < ev->n_destination_port; i++) {
        if (t1071i_filter_port(cfg, ev->destination_port[i])) {
            m->port = ev->destination_port[i];
            port_ok = true;
            break;
        }
    }
    if (!port_ok)
        return false;

    /* network.direction == "egress" (exact, case-sensitive) */
    if (cfg->direction[0] && !any_equals(ev->network_direction, ev->n_network_direction,
                                         cfg->direction))
        return false;

    /* event.type in ("connection", "start") */
    for (size_t i = 0; i < cfg->n_event_types && !type_ok; i++)
        type_ok = any_equals(ev->event_type, ev->n_event_type, cfg->event_types[i]);
    if (!type_ok)
        return false;

    /* network where  =>  event.category contains "network" */
    if (cfg->category[0] && !any_equals(ev->event_category, ev->n_event_category,
                                        cfg->category))
        return false;

    /* process.name != null: at least one value ("" counts) */
    if (cfg->require_process_name && ev->n_process_name == 0)
        return false;

    /* not cidrmatch(destination.ip, ...): excluded when any value is in a
     * range; values that do not parse are treated as absent; a missing
     * destination.ip passes. */
    for (size_t i = 0; i < ev->n_destination_ip; i++) {
        uint8_t addr[16];
        bool v4;
        if (!t1071i_parse_ip(ev->destination_ip[i], addr, &v4)) {
            m->malformed_ips++;
            continue;
        }
        for (size_t c = 0; c < cfg->n_cidrs; c++)
            if (t1071i_cidr_contains(&cfg->cidrs[c], addr))
                return false;
        if (m->ip_index < 0) {
            m->ip_index = (int)i;
            m->ip_is_v4 = v4;
            memcpy(m->ip, addr, 16);
        }
    }
    return true;
}
