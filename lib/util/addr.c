/* SPDX-License-Identifier: Apache-2.0 */
/* IP address and CIDR parsing and matching, over 16-byte addresses
 * (IPv4 held as IPv4-mapped IPv6, as Elasticsearch's ip field does). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"

/* Dotted-quad IPv4 exactly as glibc's inet_pton(AF_INET) reads it (four
 * decimal octets of at most 255, no leading zeros, nothing else), without
 * its call overhead: the common case of every event.  Anything it rejects
 * still goes through inet_pton, so the result is the same. */
static bool
parse_v4(const char *s, uint8_t out[16])
{
    unsigned octets = 0, cur = 0;
    bool digit = false;
    uint8_t tmp[4];

    for (; *s; s++) {
        unsigned ch = (unsigned char)*s;
        if (ch >= '0' && ch <= '9') {
            unsigned v = cur * 10 + (ch - '0');
            if (digit && cur == 0)
                return false;
            if (v > 255)
                return false;
            cur = v;
            if (!digit) {
                if (++octets > 4)
                    return false;
                digit = true;
            }
        } else if (ch == '.' && digit) {
            if (octets == 4)
                return false;
            tmp[octets - 1] = (uint8_t)cur;
            cur = 0;
            digit = false;
        } else {
            return false;
        }
    }
    if (octets < 4 || !digit)
        return false;
    tmp[3] = (uint8_t)cur;
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, tmp, 4);
    return true;
}

bool
t1071i_parse_ip(const char *s, uint8_t out[16], bool *is_v4)
{
    struct in_addr a4;
    struct in6_addr a6;
    size_t n;

    if (!s)
        return false;
    n = strlen(s);
    if (n == 0 || n > 45)
        return false;
    if (parse_v4(s, out)) {
        *is_v4 = true;
        return true;
    }
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *is_v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        *is_v4 = false;
        return true;
    }
    return false;
}

char *
t1071i_format_v4(const uint8_t a[4], char out[16])
{
    char *w = out;

    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            *w++ = (char)('0' + v / 100);
        if (v >= 10)
            *w++ = (char)('0' + v / 10 % 10);
        *w++ = (char)('0' + v % 10);
        *w++ = i < 3 ? '.' : '\0';
    }
    return out;
}

bool
t1071i_parse_cidr(const char *s, struct t1071i_cidr *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    bool v4;
    unsigned long prefix;

    if (alen == 0 || alen >= sizeof(buf))
        return false;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (!t1071i_parse_ip(buf, out->addr, &v4))
        return false;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        if (*p < '0' || *p > '9')
            return false;
        prefix = strtoul(p, &end, 10);
        if (*end != '\0' || prefix > (v4 ? 32u : 128u))
            return false;
    } else {
        prefix = v4 ? 32 : 128;
    }
    out->prefix = (uint8_t)(v4 ? prefix + 96 : prefix);
    /* Clear host bits so containment is a plain masked compare. */
    for (unsigned bit = out->prefix; bit < 128; bit++)
        out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    return true;
}
