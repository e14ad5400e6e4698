/* SPDX-License-Identifier: Apache-2.0 */
/* IP addresses and CIDR ranges (lib/util/addr.c).  Internal. */
#ifndef T1071_UTIL_ADDR_H
#define T1071_UTIL_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* CIDR ranges in one list (rule.exclude_cidrs, rule.home_networks,
 * tuning.allow_cidrs). */
#define T1071I_MAX_CIDRS 256

/* A CIDR over 16-byte addresses: IPv4 is held as IPv4-mapped IPv6
 * (::ffff:a.b.c.d), an IPv4 /n becomes /(96+n), so "10.0.0.0/8" matches
 * 10.x and ::ffff:10.x alike, as Elasticsearch's ip field does. */
struct t1071i_cidr {
    uint8_t addr[16];
    uint8_t prefix; /* 0..128, in IPv6 bits */
};

/* Parse an IPv4 or IPv6 literal into 16 bytes (IPv4 as ::ffff:a.b.c.d).
 * *is_v4 tells which syntax it was.  Returns false when it does not parse. */
bool t1071i_parse_ip(const char *s, uint8_t out[16], bool *is_v4);
/* Format 4 bytes as inet_ntop(AF_INET) does ("%u.%u.%u.%u"); returns out. */
char *t1071i_format_v4(const uint8_t a[4], char out[16]);
/* Parse "a.b.c.d/n" or "x::y/n" (a bare address is /32 or /128). */
bool t1071i_parse_cidr(const char *s, struct t1071i_cidr *out);

/* On the filter path for every address and range: inline. */
static inline bool
t1071i_cidr_contains(const struct t1071i_cidr *c, const uint8_t addr[16])
{
    unsigned full = c->prefix / 8, rest = c->prefix % 8;

    if (memcmp(c->addr, addr, full) != 0)
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        if ((addr[full] & mask) != c->addr[full])
            return false;
    }
    return true;
}

#endif /* T1071_UTIL_ADDR_H */
