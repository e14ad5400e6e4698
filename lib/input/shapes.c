/* SPDX-License-Identifier: Apache-2.0 */
/* Raw shapes real pipelines deliver, read per record (see shapes.h).
 *
 * Sysmon Event ID 3 without the ECS mapping:
 *   - NXLog im_msvistalog JSON: flat EventID, Channel, SourceName,
 *     Hostname, UtcTime, Image, ... (DestinationPort a string, Initiated
 *     "true");
 *   - Winlogbeat 6.x: event_id, log_name, source_name, computer_name and
 *     event_data.*;
 *   - Winlogbeat 7.x without the sysmon module: winlog.event_id,
 *     winlog.channel, winlog.provider_name, winlog.computer_name and
 *     winlog.event_data.*.
 * A record is Sysmon when it has an event ID and the Sysmon channel
 * (Microsoft-Windows-Sysmon/Operational) or provider
 * (Microsoft-Windows-Sysmon).  Event ID 3 is mapped as Elastic's Sysmon
 * pipeline maps it: @timestamp from UtcTime (never the shipper's
 * @timestamp: no UtcTime is no time), event.kind "event", event.module
 * "sysmon", event.category ["network"], event.type ["start",
 * "connection", "protocol"], event.action "Network connection",
 * network.transport from Protocol, network.protocol from
 * DestinationPortName (else SourcePortName; "-" and "" are absent),
 * network.direction "egress" / "ingress" from Initiated, source / destination
 * ip and port, destination.domain from DestinationHostname,
 * process.entity_id from ProcessGuid, process.pid from ProcessId,
 * process.executable from Image and process.name its basename (none for a
 * bare name such as "System"), user.name
 * the part of User after the last backslash, host.name from Computer,
 * computer_name, winlog.computer_name or Hostname, and network.community_id
 * computed (Community ID v1, seed 0).  Other event IDs are passed over
 * (passed_over "not_network").
 *
 * Zeek conn logs as JSON: Zeek's own writer (id.orig_h, ts as epoch seconds
 * or ISO 8601) and the json-streaming-logs package (id_orig_h, @stream).
 * Mapped as the converted fixture tests/integration/fixtures/real/
 * mordor-apt29-zeek.ecs.ndjson maps them (a flow that ended): @timestamp
 * from ts (truncated to ms), event.id from uid, event.kind "event",
 * event.category ["network"], event.type ["connection", "end"],
 * event.action "network_flow", event.dataset "flow", network.transport
 * from proto, network.protocol from service (its first name when Zeek lists
 * several: "krb,smb,gssapi" is krb), source / destination ip and
 * port from id.*, source.bytes / destination.bytes from orig_ip_bytes /
 * resp_ip_bytes, network.direction from local_orig / local_resp when both
 * are there (outbound, inbound, internal, external), else from the private
 * address ranges (10/8, 172.16/12, 192.168/16, fd00::/8, as Elasticsearch's
 * network_direction processor names "private"), and community_id.  A
 * record from another Zeek log (@stream or _path other than "conn", or no
 * conn_state) is passed over. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "input/json.h"
#include "input/shapes.h"
#include "util/addr.h"
#include "util/timefmt.h"

typedef T1071__Ecs__V1__Event event_t;

static const char *const source_names[] = {"auto", "ecs", "sysmon", "zeek", "suricata"};

int
t1071i_source_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(source_names) / sizeof(source_names[0]); i++)
        if (!strcmp(name, source_names[i]))
            return (int)i;
    return -1;
}

const char *
t1071i_source_name(int source)
{
    if (source < 0 || (size_t)source >= sizeof(source_names) / sizeof(source_names[0]))
        return "auto";
    return source_names[source];
}

unsigned
t1071i_shape_hint(const char *k, size_t n)
{
    switch (n) {
    case 2:
        return (k[0] == 't' && k[1] == 's') || (k[0] == 'i' && k[1] == 'd') ? T1071I_HINT_ZEEK : 0;
    case 6:
        return !memcmp(k, "winlog", 6) ? T1071I_HINT_SYSMON : 0;
    case 7:
        return !memcmp(k, "EventID", 7) ? T1071I_HINT_SYSMON : 0;
    case 8:
        return !memcmp(k, "event_id", 8) ? T1071I_HINT_SYSMON : 0;
    case 9:
        return !memcmp(k, "id.orig_h", 9) || !memcmp(k, "id_orig_h", 9) ? T1071I_HINT_ZEEK : 0;
    case 10:
        return !memcmp(k, "event_data", 10) ? T1071I_HINT_SYSMON : 0;
    default:
        return 0;
    }
}

enum t1071i_shape_pick
t1071i_shape_pick(int source, unsigned hints, bool timestamp, bool eve, bool ecs_network)
{
    switch (source) {
    case T1071I_SOURCE_ECS:
        return T1071I_PICK_ECS;
    case T1071I_SOURCE_SURICATA:
        return T1071I_PICK_EVE;
    case T1071I_SOURCE_SYSMON:
    case T1071I_SOURCE_ZEEK:
        return T1071I_PICK_RAW;
    default:
        break;
    }
    if (eve)
        return T1071I_PICK_EVE;
    (void)timestamp;
    if (hints && !ecs_network)
        return T1071I_PICK_RAW;
    return T1071I_PICK_ECS;
}

/* ===== Collecting the values ===== */

enum slot {
    /* Sysmon: markers */
    S_EVENT_ID, S_CHANNEL, S_PROVIDER, S_COMPUTER, S_HOSTNAME,
    /* Sysmon: event data */
    S_UTCTIME, S_IMAGE, S_GUID, S_PID, S_INITIATED, S_PROTOCOL, S_SRC_IP, S_SRC_PORT,
    S_DST_IP, S_DST_PORT, S_DST_HOST, S_DST_PORTNAME, S_SRC_PORTNAME, S_USER,
    /* Zeek */
    Z_TS, Z_UID, Z_ORIG_H, Z_ORIG_P, Z_RESP_H, Z_RESP_P, Z_PROTO, Z_SERVICE, Z_ORIG_BYTES,
    Z_RESP_BYTES, Z_LOCAL_ORIG, Z_LOCAL_RESP, Z_CONN_STATE, Z_STREAM,
    N_SLOTS
};

struct path {
    const char *p;
    unsigned char slot;
};

/* Every path a value is read from.  Sysmon's event data may sit at the
 * top (NXLog), under event_data (Winlogbeat 6) or winlog.event_data
 * (Winlogbeat 7): the table lists the names, the prefixes are stripped. */
static const struct path sysmon_top[] = {
    {"EventID", S_EVENT_ID}, {"event_id", S_EVENT_ID}, {"winlog.event_id", S_EVENT_ID},
    {"Channel", S_CHANNEL}, {"log_name", S_CHANNEL}, {"winlog.channel", S_CHANNEL},
    {"SourceName", S_PROVIDER}, {"source_name", S_PROVIDER}, {"ProviderName", S_PROVIDER},
    {"winlog.provider_name", S_PROVIDER},
    {"Computer", S_COMPUTER}, {"computer_name", S_COMPUTER},
    {"winlog.computer_name", S_COMPUTER}, {"Hostname", S_HOSTNAME},
};
static const struct path sysmon_data[] = {
    {"UtcTime", S_UTCTIME}, {"Image", S_IMAGE}, {"ProcessGuid", S_GUID},
    {"ProcessId", S_PID}, {"Initiated", S_INITIATED}, {"Protocol", S_PROTOCOL},
    {"SourceIp", S_SRC_IP}, {"SourcePort", S_SRC_PORT}, {"DestinationIp", S_DST_IP},
    {"DestinationPort", S_DST_PORT}, {"DestinationHostname", S_DST_HOST},
    {"DestinationPortName", S_DST_PORTNAME}, {"SourcePortName", S_SRC_PORTNAME},
    {"User", S_USER},
};
static const struct path zeek_paths[] = {
    {"ts", Z_TS}, {"uid", Z_UID},
    {"id.orig_h", Z_ORIG_H}, {"id_orig_h", Z_ORIG_H}, {"id.orig_p", Z_ORIG_P},
    {"id_orig_p", Z_ORIG_P}, {"id.resp_h", Z_RESP_H}, {"id_resp_h", Z_RESP_H},
    {"id.resp_p", Z_RESP_P}, {"id_resp_p", Z_RESP_P},
    {"proto", Z_PROTO}, {"service", Z_SERVICE}, {"orig_ip_bytes", Z_ORIG_BYTES},
    {"resp_ip_bytes", Z_RESP_BYTES}, {"local_orig", Z_LOCAL_ORIG},
    {"local_resp", Z_LOCAL_RESP}, {"conn_state", Z_CONN_STATE}, {"@stream", Z_STREAM},
    {"_path", Z_STREAM},
};

struct vals {
    struct t1071i_json_scalar v[N_SLOTS];
    bool set[N_SLOTS];
};

static bool
path_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && !memcmp(p, name, n);
}

static int
slot_of(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof(sysmon_top) / sizeof(sysmon_top[0]); i++)
        if (path_is(p, n, sysmon_top[i].p))
            return sysmon_top[i].slot;
    for (size_t i = 0; i < sizeof(zeek_paths) / sizeof(zeek_paths[0]); i++)
        if (path_is(p, n, zeek_paths[i].p))
            return zeek_paths[i].slot;
    if (n > 18 && !memcmp(p, "winlog.event_data.", 18)) {
        p += 18;
        n -= 18;
    } else if (n > 11 && !memcmp(p, "event_data.", 11)) {
        p += 11;
        n -= 11;
    }
    for (size_t i = 0; i < sizeof(sysmon_data) / sizeof(sysmon_data[0]); i++)
        if (path_is(p, n, sysmon_data[i].p))
            return sysmon_data[i].slot;
    return -1;
}

#define PATH_MAX_LEN 96

/* Walk the object that comes next; @p path holds the dotted path of its
 * parent (@p plen bytes).  Keys with escapes never name a slot: skipped.
 * The last occurrence of a slot wins; null leaves it unset. */
static bool
collect(struct t1071i_json_reader *r, struct vals *vs, char *path, size_t plen, unsigned depth)
{
    struct t1071i_json_scalar key;
    bool first = true;
    int k;

    if (!t1071i_json_enter(r))
        return false;
    while ((k = t1071i_json_object_next(r, &first, &key)) == 1) {
        enum t1071i_json_type t = t1071i_json_peek(r);
        size_t n = plen + (plen ? 1 : 0) + key.len;
        int slot;

        if (t == T1071I_JSON_ERROR)
            return false;
        if ((key.flags & T1071I_JSON_STR_ESCAPE) || n > PATH_MAX_LEN) {
            if (!t1071i_json_skip(r))
                return false;
            continue;
        }
        if (plen)
            path[plen] = '.';
        memcpy(path + n - key.len, key.text, key.len);
        if (t == T1071I_JSON_OBJECT) {
            if (depth < 3) {
                if (!collect(r, vs, path, n, depth + 1))
                    return false;
            } else if (!t1071i_json_skip(r)) {
                return false;
            }
            continue;
        }
        slot = slot_of(path, n);
        if (slot < 0 || t == T1071I_JSON_ARRAY) {
            if (!t1071i_json_skip(r))
                return false;
            if (slot >= 0)
                vs->set[slot] = false;
            continue;
        }
        if (!t1071i_json_scalar(r, &vs->v[slot]))
            return false;
        vs->set[slot] = vs->v[slot].type != T1071I_JSON_NULL;
    }
    return k == 0;
}

/* ===== Building the event ===== */

struct builder {
    const struct t1071i_shape_mem *mem;
    event_t *ev;
    bool nomem;
};

static char *
b_dup(struct builder *b, const char *s, size_t n)
{
    char *d = b->mem->alloc(b->mem->m, n + 1);

    if (!d) {
        b->nomem = true;
        return NULL;
    }
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* The decoded text of a slot (a number or boolean as written); NULL when
 * unset, empty or "-" (Sysmon's and Zeek's "no value"). */
static char *
b_text(struct builder *b, const struct vals *vs, int slot)
{
    const struct t1071i_json_scalar *sc = &vs->v[slot];
    char *d;
    size_t n;

    if (!vs->set[slot])
        return NULL;
    if (sc->type != T1071I_JSON_STRING)
        d = b_dup(b, sc->text, sc->len);
    else {
        n = t1071i_json_string_decode(sc, NULL, 0);
        d = b->mem->alloc(b->mem->m, n + 1);
        if (!d) {
            b->nomem = true;
            return NULL;
        }
        t1071i_json_string_decode(sc, d, n);
        d[n] = '\0';
    }
    if (d && (!*d || !strcmp(d, "-"))) {
        b->mem->free(b->mem->m, d);
        return NULL;
    }
    return d;
}

static void
b_str(struct builder *b, char **field, const char *s)
{
    if (s && !b->nomem)
        *field = b_dup(b, s, strlen(s));
}

static void
b_strs(struct builder *b, char ***arr, size_t *n, const char *const *vals, size_t nv)
{
    char **a;

    if (b->nomem)
        return;
    a = b->mem->alloc(b->mem->m, nv * sizeof(char *));
    if (!a) {
        b->nomem = true;
        return;
    }
    for (size_t i = 0; i < nv; i++)
        a[i] = NULL;
    *arr = a;
    for (size_t i = 0; i < nv && !b->nomem; i++) {
        a[i] = b_dup(b, vals[i], strlen(vals[i]));
        if (a[i])
            *n = i + 1;
    }
}

/* Take ownership of @p s as a one-element repeated field. */
static void
b_strs_own(struct builder *b, char ***arr, size_t *n, char *s)
{
    char **a;

    if (!s)
        return;
    a = b->mem->alloc(b->mem->m, sizeof(char *));
    if (!a) {
        b->nomem = true;
        return;
    }
    a[0] = s;
    *arr = a;
    *n = 1;
}

static void
b_int(struct builder *b, int64_t *field, protobuf_c_boolean *has, const int64_t *v)
{
    (void)b;
    if (v) {
        *field = *v;
        *has = 1;
    }
}

/* The integer of a slot: a JSON integer, or a string of decimal digits. */
static bool
slot_int(const struct vals *vs, int slot, int64_t *out)
{
    const struct t1071i_json_scalar *sc = &vs->v[slot];

    if (!vs->set[slot])
        return false;
    if (sc->type == T1071I_JSON_NUMBER)
        return t1071i_json_number_to_int64(sc->text, sc->len, out);
    if (sc->type != T1071I_JSON_STRING || (sc->flags & T1071I_JSON_STR_ESCAPE) || !sc->len)
        return false;
    for (size_t i = 0; i < sc->len; i++)
        if (sc->text[i] < '0' || sc->text[i] > '9')
            return false;
    return sc->len <= 18 && t1071i_json_number_to_int64(sc->text, sc->len, out);
}

/* A slot's raw bytes when it is a string without escapes (else false). */
static bool
slot_raw(const struct vals *vs, int slot, const char **s, size_t *n)
{
    const struct t1071i_json_scalar *sc = &vs->v[slot];

    if (!vs->set[slot] || (sc->type == T1071I_JSON_STRING && (sc->flags & T1071I_JSON_STR_ESCAPE)))
        return false;
    *s = sc->text;
    *n = sc->len;
    return true;
}

static bool
slot_eq(const struct vals *vs, int slot, const char *want)
{
    const char *s;
    size_t n;

    return slot_raw(vs, slot, &s, &n) && n == strlen(want) && !strncasecmp(s, want, n);
}

/* A boolean slot: true / false, "true" / "false", "T" / "F" (Zeek TSV).
 * -1 when unset or something else. */
static int
slot_bool(const struct vals *vs, int slot)
{
    const struct t1071i_json_scalar *sc = &vs->v[slot];

    if (!vs->set[slot])
        return -1;
    if (sc->type == T1071I_JSON_TRUE || slot_eq(vs, slot, "true") || slot_eq(vs, slot, "T"))
        return 1;
    if (sc->type == T1071I_JSON_FALSE || slot_eq(vs, slot, "false") || slot_eq(vs, slot, "F"))
        return 0;
    return -1;
}

static void
lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Community ID v1 (seed 0) of a TCP / UDP / SCTP flow; false when it has
 * none (other transports, unparsable or mixed-family addresses). */
static bool
community_id(const char *transport, const char *sip, int64_t sport, const char *dip,
             int64_t dport, char out[64])
{
    uint8_t a[16], b[16], buf[2 + 16 + 16 + 2 + 4];
    bool a4, b4;
    int proto;
    size_t alen, n = 0;
    uint8_t digest[20];
    gsize dlen = sizeof(digest);
    GChecksum *c;
    gchar *b64;

    if (!transport || !sip || !dip || sport < 0 || sport > 65535 || dport < 0 || dport > 65535)
        return false;
    if (!strcmp(transport, "tcp"))
        proto = 6;
    else if (!strcmp(transport, "udp"))
        proto = 17;
    else if (!strcmp(transport, "sctp"))
        proto = 132;
    else
        return false;
    if (!t1071i_parse_ip(sip, a, &a4) || !t1071i_parse_ip(dip, b, &b4) || a4 != b4)
        return false;
    alen = a4 ? 4 : 16;
    /* Ordered: the smaller (address, port) first. */
    {
        int cmp = memcmp(a4 ? a + 12 : a, b4 ? b + 12 : b, alen);
        if (cmp > 0 || (cmp == 0 && sport > dport)) {
            uint8_t t[16];
            int64_t tp = sport;
            memcpy(t, a, 16);
            memcpy(a, b, 16);
            memcpy(b, t, 16);
            sport = dport;
            dport = tp;
        }
    }
    buf[n++] = 0;
    buf[n++] = 0;
    memcpy(buf + n, a4 ? a + 12 : a, alen);
    n += alen;
    memcpy(buf + n, a4 ? b + 12 : b, alen);
    n += alen;
    buf[n++] = (uint8_t)proto;
    buf[n++] = 0;
    buf[n++] = (uint8_t)(sport >> 8);
    buf[n++] = (uint8_t)sport;
    buf[n++] = (uint8_t)(dport >> 8);
    buf[n++] = (uint8_t)dport;
    c = g_checksum_new(G_CHECKSUM_SHA1);
    if (!c)
        return false;
    g_checksum_update(c, buf, n);
    g_checksum_get_digest(c, digest, &dlen);
    g_checksum_free(c);
    b64 = g_base64_encode(digest, dlen);
    if (!b64)
        return false;
    snprintf(out, 64, "1:%s", b64);
    g_free(b64);
    return true;
}

static void
set_community_id(struct builder *b)
{
    event_t *ev = b->ev;
    char cid[64];

    if (ev->n_source_ip && ev->n_destination_ip && ev->has_source_port &&
        ev->n_destination_port &&
        community_id(ev->network_transport, ev->source_ip[0], ev->source_port,
                     ev->destination_ip[0], ev->destination_port[0], cid))
        b_str(b, &ev->network_community_id, cid);
}

static void
set_ports(struct builder *b, const struct vals *vs, int src, int dst)
{
    event_t *ev = b->ev;
    int64_t v;

    if (slot_int(vs, src, &v)) {
        ev->source_port = v;
        ev->has_source_port = 1;
    }
    if (slot_int(vs, dst, &v) && !b->nomem) {
        int64_t *a = b->mem->alloc(b->mem->m, sizeof(int64_t));
        if (!a) {
            b->nomem = true;
            return;
        }
        a[0] = v;
        ev->destination_port = a;
        ev->n_destination_port = 1;
    }
}

static bool
is_sysmon(const struct vals *vs)
{
    return vs->set[S_EVENT_ID] &&
           (slot_eq(vs, S_CHANNEL, "Microsoft-Windows-Sysmon/Operational") ||
            slot_eq(vs, S_PROVIDER, "Microsoft-Windows-Sysmon"));
}

static bool
is_zeek(const struct vals *vs)
{
    return vs->set[Z_TS] && vs->set[Z_ORIG_H] && vs->set[Z_RESP_H];
}

static void
build_sysmon(struct builder *b, const struct vals *vs)
{
    static const char *const network[] = {"network"};
    static const char *const types[] = {"start", "connection", "protocol"};
    event_t *ev = b->ev;
    int64_t id = -1, t;
    const char *s;
    size_t n;
    char *txt;
    int init;

    b_str(b, &ev->input_shape, "sysmon");
    if (slot_raw(vs, S_UTCTIME, &s, &n) && vs->v[S_UTCTIME].type == T1071I_JSON_STRING &&
        t1071i_parse_time(s, n, &t)) {
        ev->timestamp_ms = t;
        ev->has_timestamp_ms = 1;
    }
    txt = b_text(b, vs, S_COMPUTER);
    ev->host_name = txt ? txt : b_text(b, vs, S_HOSTNAME);
    b_str(b, &ev->event_kind, "event");
    b_str(b, &ev->event_module, "sysmon");
    if (!slot_int(vs, S_EVENT_ID, &id) || id != 3) {
        b_str(b, &ev->passed_over, "not_network");
        return;
    }
    b_strs(b, &ev->event_category, &ev->n_event_category, network, 1);
    b_strs(b, &ev->event_type, &ev->n_event_type, types, 3);
    b_str(b, &ev->event_action, "Network connection");
    ev->network_transport = b_text(b, vs, S_PROTOCOL);
    lower(ev->network_transport);
    txt = b_text(b, vs, S_DST_PORTNAME);
    ev->network_protocol = txt ? txt : b_text(b, vs, S_SRC_PORTNAME);
    lower(ev->network_protocol);
    init = slot_bool(vs, S_INITIATED);
    if (init >= 0) {
        const char *dir = init ? "egress" : "ingress";
        b_strs(b, &ev->network_direction, &ev->n_network_direction, &dir, 1);
    }
    b_strs_own(b, &ev->source_ip, &ev->n_source_ip, b_text(b, vs, S_SRC_IP));
    b_strs_own(b, &ev->destination_ip, &ev->n_destination_ip, b_text(b, vs, S_DST_IP));
    set_ports(b, vs, S_SRC_PORT, S_DST_PORT);
    ev->destination_domain = b_text(b, vs, S_DST_HOST);
    b_strs_own(b, &ev->process_entity_id, &ev->n_process_entity_id, b_text(b, vs, S_GUID));
    if (slot_int(vs, S_PID, &t))
        b_int(b, &ev->process_pid, &ev->has_process_pid, &t);
    ev->process_executable = b_text(b, vs, S_IMAGE);
    if (ev->process_executable) {
        /* As Elastic's pipeline: a name only from a path ("System" has none). */
        const char *base = ev->process_executable, *p;
        for (p = base; *p; p++)
            if (*p == '\\' || *p == '/')
                base = p + 1;
        if (*base && base != ev->process_executable)
            b_strs_own(b, &ev->process_name, &ev->n_process_name, b_dup(b, base, strlen(base)));
    }
    txt = b_text(b, vs, S_USER);
    if (txt) {
        const char *u = strrchr(txt, '\\');
        if (u && u[1]) {
            ev->user_name = b_dup(b, u + 1, strlen(u + 1));
            b->mem->free(b->mem->m, txt);
        } else {
            ev->user_name = txt;
        }
    }
    set_community_id(b);
}

/* Zeek's ts: epoch seconds as a number or a string of digits with an
 * optional fraction (truncated to ms), or an ISO 8601 string. */
static bool
zeek_time(const struct vals *vs, int64_t *ms)
{
    const struct t1071i_json_scalar *sc = &vs->v[Z_TS];
    const char *s = sc->text;
    size_t n = sc->len, i = 0;
    int64_t sec = 0, frac = 0;
    int fd = 0;

    if (!vs->set[Z_TS] || (sc->type != T1071I_JSON_NUMBER && sc->type != T1071I_JSON_STRING) ||
        (sc->type == T1071I_JSON_STRING && (sc->flags & T1071I_JSON_STR_ESCAPE)) || !n)
        return false;
    if (sc->type == T1071I_JSON_STRING && n >= 10 && s[4] == '-')
        return t1071i_parse_time(s, n, ms);
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 12)
            return false; /* beyond year 9999 */
        sec = sec * 10 + (s[i] - '0');
    }
    if (i == 0)
        return false;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (fd < 3) {
                frac = frac * 10 + (s[i] - '0');
                fd++;
            }
    }
    if (i != n)
        return false; /* exponent, sign or junk */
    while (fd < 3) {
        frac *= 10;
        fd++;
    }
    *ms = sec * 1000 + frac;
    return true;
}

static bool
is_private(const char *ip)
{
    static const char *const nets[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                       "fd00::/8"};
    uint8_t a[16];
    bool v4;

    if (!ip || !t1071i_parse_ip(ip, a, &v4))
        return false;
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        struct t1071i_cidr c;
        if (t1071i_parse_cidr(nets[i], &c) && t1071i_cidr_contains(&c, a))
            return true;
    }
    return false;
}

static void
build_zeek(struct builder *b, const struct vals *vs)
{
    static const char *const network[] = {"network"};
    static const char *const types[] = {"connection", "end"};
    event_t *ev = b->ev;
    int64_t t;
    int lo, lr;
    const char *dir;

    b_str(b, &ev->input_shape, "zeek");
    if (zeek_time(vs, &t)) {
        ev->timestamp_ms = t;
        ev->has_timestamp_ms = 1;
    }
    ev->event_id = b_text(b, vs, Z_UID);
    b_str(b, &ev->event_kind, "event");
    if ((vs->set[Z_STREAM] && !slot_eq(vs, Z_STREAM, "conn")) ||
        (!vs->set[Z_STREAM] && !vs->set[Z_CONN_STATE])) {
        b_str(b, &ev->passed_over, "not_network");
        return;
    }
    b_strs(b, &ev->event_category, &ev->n_event_category, network, 1);
    b_strs(b, &ev->event_type, &ev->n_event_type, types, 2);
    b_str(b, &ev->event_action, "network_flow");
    b_str(b, &ev->event_dataset, "flow");
    ev->network_transport = b_text(b, vs, Z_PROTO);
    lower(ev->network_transport);
    ev->network_protocol = b_text(b, vs, Z_SERVICE);
    if (ev->network_protocol) {
        /* "krb,smb,gssapi": the first service Zeek recognised. */
        char *comma = strchr(ev->network_protocol, ',');
        if (comma)
            *comma = '\0';
    }
    b_strs_own(b, &ev->source_ip, &ev->n_source_ip, b_text(b, vs, Z_ORIG_H));
    b_strs_own(b, &ev->destination_ip, &ev->n_destination_ip, b_text(b, vs, Z_RESP_H));
    set_ports(b, vs, Z_ORIG_P, Z_RESP_P);
    if (slot_int(vs, Z_ORIG_BYTES, &t))
        b_int(b, &ev->source_bytes, &ev->has_source_bytes, &t);
    if (slot_int(vs, Z_RESP_BYTES, &t))
        b_int(b, &ev->destination_bytes, &ev->has_destination_bytes, &t);
    lo = slot_bool(vs, Z_LOCAL_ORIG);
    lr = slot_bool(vs, Z_LOCAL_RESP);
    if (lo < 0 || lr < 0) {
        lo = ev->n_source_ip && is_private(ev->source_ip[0]);
        lr = ev->n_destination_ip && is_private(ev->destination_ip[0]);
    }
    dir = lo ? (lr ? "internal" : "outbound") : (lr ? "inbound" : "external");
    if (ev->n_source_ip && ev->n_destination_ip)
        b_strs(b, &ev->network_direction, &ev->n_network_direction, &dir, 1);
    set_community_id(b);
}

int
t1071i_shape_read(const char *json, size_t len, int source, const struct t1071i_shape_mem *mem,
                  event_t **out)
{
    struct t1071i_json_reader r;

    t1071i_json_init(&r, json, len);
    if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        r.p += 3;
    return t1071i_shape_read_reader(&r, source, mem, out);
}

int
t1071i_shape_read_reader(struct t1071i_json_reader *rp, int source,
                         const struct t1071i_shape_mem *mem, event_t **out)
{
    struct t1071i_json_reader r = *rp;
    struct vals *vs;
    struct builder b = {mem, NULL, false};
    char path[PATH_MAX_LEN + 1];
    bool ok, sysmon, zeek;

    *out = NULL;
    vs = calloc(1, sizeof(*vs));
    if (!vs)
        return T1071_E_NOMEM;
    ok = t1071i_json_peek(&r) == T1071I_JSON_OBJECT && collect(&r, vs, path, 0, 0);
    if (!ok) {
        free(vs);
        return T1071_E_JSON;
    }
    sysmon = (source == T1071I_SOURCE_AUTO || source == T1071I_SOURCE_SYSMON) && is_sysmon(vs);
    zeek = !sysmon && (source == T1071I_SOURCE_AUTO || source == T1071I_SOURCE_ZEEK) &&
           is_zeek(vs);
    if (!sysmon && !zeek && source == T1071I_SOURCE_AUTO) {
        free(vs);
        return T1071_OK;
    }
    b.ev = mem->alloc(mem->m, sizeof(event_t));
    if (!b.ev) {
        free(vs);
        return T1071_E_NOMEM;
    }
    t1071__ecs__v1__event__init(b.ev);
    if (sysmon)
        build_sysmon(&b, vs);
    else if (zeek)
        build_zeek(&b, vs);
    else
        b_str(&b, &b.ev->input_shape, "unrecognised");
    free(vs);
    *out = b.ev;
    return b.nomem ? T1071_E_NOMEM : T1071_OK;
}

/* ===== Accounting ===== */

static bool
has_network(const event_t *ev)
{
    for (size_t i = 0; i < ev->n_event_category; i++)
        if (!strcmp(ev->event_category[i], "network"))
            return true;
    return false;
}

bool
t1071i_shape_account(uint64_t *stats, const event_t *ev)
{
    const char *shape = ev->input_shape;

    if (!shape && !ev->has_timestamp_ms) {
        /* ECS needs @timestamp: without one, nothing says what this is. */
        stats[T1071_STAT_RECORDS_UNRECOGNISED]++;
        return false; /* goes on to its timestamp error, as before */
    }
    if (!shape) {
        if (ev->event_module && ev->event_dataset && !strcmp(ev->event_module, "suricata") &&
            !strcmp(ev->event_dataset, "suricata.eve"))
            stats[T1071_STAT_RECORDS_SURICATA]++;
        else
            stats[T1071_STAT_RECORDS_ECS]++;
    } else if (!strcmp(shape, "sysmon")) {
        stats[T1071_STAT_RECORDS_SYSMON]++;
    } else if (!strcmp(shape, "zeek")) {
        stats[T1071_STAT_RECORDS_ZEEK]++;
    } else {
        stats[T1071_STAT_RECORDS_UNRECOGNISED]++;
        return false; /* goes on to its timestamp error, as before */
    }
    if (ev->passed_over) {
        /* Decoded, then passed over: never filtered, keyed or timed. */
        stats[T1071_STAT_EVENTS_DECODED]++;
        stats[T1071_STAT_RECORDS_NOT_NETWORK]++;
        return true;
    }
    if (!ev->has_timestamp_ms)
        stats[T1071_STAT_RECORDS_NO_TIME]++;
    else if (has_network(ev))
        stats[T1071_STAT_EVENTS_NETWORK]++;
    else
        stats[T1071_STAT_RECORDS_NOT_NETWORK]++;
    return false;
}

const char *
t1071i_shape_no_time(const event_t *ev)
{
    if (ev->input_shape && !strcmp(ev->input_shape, "sysmon"))
        return "Sysmon record without a usable UtcTime";
    if (ev->input_shape && !strcmp(ev->input_shape, "zeek"))
        return "Zeek record without a usable ts";
    if (ev->input_shape && !strcmp(ev->input_shape, "unrecognised"))
        return "not of the shape input.source names";
    return "no usable @timestamp, and not a shape the reader knows (ECS, Suricata EVE, "
           "Sysmon, Zeek): see input.source";
}
