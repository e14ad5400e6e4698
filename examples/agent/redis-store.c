/* SPDX-License-Identifier: Apache-2.0 */
/* The fleet agent's Redis side (issue 15); see redis-store.h and
 * examples/agent/README.md "Shared prevalence through Redis".
 *
 * Prevalence through Redis.  The library's delta (README "Fleet prevalence
 * across contexts", delta format) is parsed here: each entry (destination +
 * executable) becomes the sorted set <prefix>:prev:<fleet>:e:<entry> of host
 * hashes (16 hex digits, so Redis's tie order on equal scores is the
 * numeric order) scored by their latest event time.  One Lua script merges
 * a push atomically in one round trip: ZADD GT (a host's time only grows),
 * prune hosts older than the fleet's latest event time minus the window,
 * keep the K greatest by (time, host hash) as the library does, remember in
 * <..>:idx which push changed each entry last (a sequence number), drop
 * whole entries that fell behind the horizon, refresh the TTL (garbage
 * collection only).  A pull reads every entry changed after the sequence
 * number it last saw and the agent rebuilds a valid delta of them (SHA-256
 * by GLib's GChecksum, the context's own fleet fingerprint and K) for
 * t1071_prevalence_merge: the library applies its own rules (floor, K,
 * fingerprint) to what it merges, so Redis holding a superset or a
 * K-trimmed subset of the observations never makes a context count a host
 * that was not observed. */
#include "redis-store.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#define PASSWORD_ENV "T1071_REDIS_PASSWORD"
#define DELTA_HEAD 88u
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ===== Small helpers ===== */

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)(v & 0xff);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int64_t
t1071a_parse_duration_ms(const char *s)
{
    char *end;
    double v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || v < 0 || end == s)
        return -1;
    if (!*end)
        return v == 0 ? 0 : -1;
    if (!strcmp(end, "ms"))
        return (int64_t)v;
    if (!strcmp(end, "s"))
        return (int64_t)(v * 1000);
    if (!strcmp(end, "m"))
        return (int64_t)(v * 60000);
    if (!strcmp(end, "h"))
        return (int64_t)(v * 3600000);
    if (!strcmp(end, "d"))
        return (int64_t)(v * 86400000);
    return -1;
}

/* ===== Connection ===== */

struct t1071a_rconn {
    char *host;          /* NULL for a unix socket */
    char *path;
    int port;
    char *user, *password;
    char *prefix;
    int connect_ms, command_ms;
    redisContext *rc;
    int64_t next_try_ms; /* monotonic; no connect attempt before it */
    int backoff_ms;
};

static void
wipe_free(char *s)
{
    if (s) {
        volatile char *v = s;
        while (*v)
            *v++ = 0;
        free(s);
    }
}

static char *
read_password_file(const char *file, char *err, size_t errlen)
{
    FILE *f = fopen(file, "rb");
    char buf[1025];
    size_t n;

    if (!f) {
        snprintf(err, errlen, "--redis-password-file %s: %s", file, strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == sizeof buf) {
        snprintf(err, errlen, "--redis-password-file %s: longer than 1024 bytes", file);
        return NULL;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (!n || memchr(buf, '\0', n)) {
        snprintf(err, errlen, "--redis-password-file %s: empty or not a text password", file);
        return NULL;
    }
    return strdup(buf);
}

int
t1071a_rconn_new(struct t1071a_rconn **out, const struct t1071a_redis_opts *o, char *err,
                 size_t errlen)
{
    struct t1071a_rconn *c = calloc(1, sizeof *c);
    const char *addr = o->addr, *env;

    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
    c->command_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : 5000;
    c->prefix = strdup(o->prefix && *o->prefix ? o->prefix : "t1071");
    c->user = o->user && *o->user ? strdup(o->user) : NULL;
    if (!addr || !*addr) {
        snprintf(err, errlen, "--redis wants HOST:PORT or unix:/path");
        goto fail;
    }
    if (!strncmp(addr, "unix:", 5) || addr[0] == '/') {
        c->path = strdup(addr[0] == '/' ? addr : addr + 5);
    } else {
        const char *colon = strrchr(addr, ':');
        char *end;
        long port;
        size_t hl;
        if (!colon || colon == addr) {
            snprintf(err, errlen, "--redis %s: wants HOST:PORT or unix:/path", addr);
            goto fail;
        }
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno || *end || port < 1 || port > 65535) {
            snprintf(err, errlen, "--redis %s: bad port", addr);
            goto fail;
        }
        hl = (size_t)(colon - addr);
        if (addr[0] == '[' && hl > 2 && addr[hl - 1] == ']')
            c->host = g_strndup(addr + 1, hl - 2);
        else
            c->host = g_strndup(addr, hl);
        c->port = (int)port;
    }
    if (o->password_file) {
        if (!(c->password = read_password_file(o->password_file, err, errlen)))
            goto fail;
    } else if ((env = getenv(PASSWORD_ENV)) && *env) {
        c->password = strdup(env);
    }
    *out = c;
    return 0;
fail:
    t1071a_rconn_free(c);
    return -1;
}

void
t1071a_rconn_free(struct t1071a_rconn *c)
{
    if (!c)
        return;
    if (c->rc)
        redisFree(c->rc);
    g_free(c->host);
    free(c->path);
    free(c->user);
    wipe_free(c->password);
    free(c->prefix);
    free(c);
}

const char *
t1071a_rconn_prefix(const struct t1071a_rconn *c)
{
    return c->prefix;
}

static void
describe(const struct t1071a_rconn *c, char *buf, size_t size)
{
    if (c->path)
        snprintf(buf, size, "unix:%s", c->path);
    else
        snprintf(buf, size, "%s:%d", c->host, c->port);
}

int
t1071a_rconn_connect(struct t1071a_rconn *c, bool *auth_failed, char *err, size_t errlen)
{
    struct timeval ct = {c->connect_ms / 1000, (c->connect_ms % 1000) * 1000};
    struct timeval mt = {c->command_ms / 1000, (c->command_ms % 1000) * 1000};
    char where[300];
    redisReply *r;

    if (auth_failed)
        *auth_failed = false;
    describe(c, where, sizeof where);
    if (c->rc) {
        redisFree(c->rc);
        c->rc = NULL;
    }
    c->rc = c->path ? redisConnectUnixWithTimeout(c->path, ct)
                    : redisConnectWithTimeout(c->host, c->port, ct);
    if (!c->rc || c->rc->err) {
        snprintf(err, errlen, "cannot connect to Redis at %s: %s", where,
                 c->rc ? c->rc->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c->rc, mt);
    if (c->password) {
        if (c->user)
            r = redisCommand(c->rc, "AUTH %s %s", c->user, c->password);
        else
            r = redisCommand(c->rc, "AUTH %s", c->password);
        if (!r) {
            snprintf(err, errlen, "Redis at %s: AUTH: %s", where, c->rc->errstr);
            goto fail;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            /* The server's message (WRONGPASS ...) never echoes the password. */
            snprintf(err, errlen,
                     "Redis at %s refused the credentials%s%s (%.*s): check "
                     "--redis-password-file / " PASSWORD_ENV " and --redis-user",
                     where, c->user ? " of user " : "", c->user ? c->user : "",
                     (int)(r->len > 200 ? 200 : r->len), r->str);
            freeReplyObject(r);
            if (auth_failed)
                *auth_failed = true;
            goto fail;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c->rc, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        bool noauth = r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOAUTH", 6);
        if (noauth) {
            snprintf(err, errlen,
                     "Redis at %s requires authentication: give --redis-password-file FILE or "
                     "the environment variable " PASSWORD_ENV, where);
            if (auth_failed)
                *auth_failed = true;
        } else {
            snprintf(err, errlen, "Redis at %s: PING: %s", where,
                     r ? r->str : c->rc->errstr);
        }
        if (r)
            freeReplyObject(r);
        goto fail;
    }
    freeReplyObject(r);
    c->backoff_ms = 0;
    c->next_try_ms = 0;
    return 0;
fail:
    if (c->rc) {
        redisFree(c->rc);
        c->rc = NULL;
    }
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (c->backoff_ms > BACKOFF_MAX_MS)
        c->backoff_ms = BACKOFF_MAX_MS;
    c->next_try_ms = now_ms() + c->backoff_ms;
    return -1;
}

/* Connected, or reconnects when the backoff allows: the context or NULL. */
static redisContext *
ensure(struct t1071a_rconn *c)
{
    char err[512];

    if (c->rc)
        return c->rc;
    if (now_ms() < c->next_try_ms)
        return NULL;
    if (t1071a_rconn_connect(c, NULL, err, sizeof err) != 0)
        return NULL;
    return c->rc;
}

/* After a failed command: an I/O error drops the connection (reconnect
 * with backoff); a server error keeps it. */
static void
after_failure(struct t1071a_rconn *c)
{
    if (c->rc && c->rc->err) {
        redisFree(c->rc);
        c->rc = NULL;
        c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (c->backoff_ms > BACKOFF_MAX_MS)
            c->backoff_ms = BACKOFF_MAX_MS;
        c->next_try_ms = now_ms() + c->backoff_ms;
    }
}

void *
t1071a_rconn_ctx(struct t1071a_rconn *c)
{
    return ensure(c);
}

/* ===== Scripts ===== */

/* KEYS: seq, epoch, maxt, floor, idx, times.
 * ARGV: expected epoch ("" = none yet), fresh epoch, window ms, ttl s, K,
 *       floor ("" = none), latest event time in the push ("" = none),
 *       entry key prefix, then per entry: entry, n, n x (score, member). */
static const char PUSH_LUA[] =
    "local ep = redis.call('GET', KEYS[2])\n"
    "if not ep then redis.call('SET', KEYS[2], ARGV[2]); ep = ARGV[2] end\n"
    "if ARGV[1] ~= '' and ARGV[1] ~= ep then return {'EPOCH', ep} end\n"
    "local seq = redis.call('INCR', KEYS[1])\n"
    "local window, ttl, K = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "if ARGV[6] ~= '' then\n"
    "  local f = redis.call('GET', KEYS[4])\n"
    "  if (not f) or tonumber(f) < tonumber(ARGV[6]) then redis.call('SET', KEYS[4], ARGV[6]) end\n"
    "end\n"
    "local m = redis.call('GET', KEYS[3])\n"
    "local maxt = m and tonumber(m) or nil\n"
    "if ARGV[7] ~= '' and (maxt == nil or tonumber(ARGV[7]) > maxt) then\n"
    "  redis.call('SET', KEYS[3], ARGV[7]); maxt = tonumber(ARGV[7])\n"
    "end\n"
    "local hz = nil\n"
    "if maxt then hz = '(' .. string.format('%.0f', maxt - window) end\n"
    "local pre = ARGV[8]\n"
    "local i = 9\n"
    "while i <= #ARGV do\n"
    "  local k, n = ARGV[i], tonumber(ARGV[i + 1])\n"
    "  local zk = pre .. k\n"
    "  i = i + 2\n"
    "  if n > 0 then redis.call('ZADD', zk, 'GT', unpack(ARGV, i, i + 2 * n - 1)) end\n"
    "  i = i + 2 * n\n"
    "  if hz then redis.call('ZREMRANGEBYSCORE', zk, '-inf', hz) end\n"
    "  redis.call('ZREMRANGEBYRANK', zk, 0, -(K + 1))\n"
    "  local top = redis.call('ZRANGE', zk, -1, -1, 'WITHSCORES')\n"
    "  if #top == 0 then\n"
    "    redis.call('ZREM', KEYS[5], k); redis.call('ZREM', KEYS[6], k)\n"
    "  else\n"
    "    redis.call('EXPIRE', zk, ttl)\n"
    "    redis.call('ZADD', KEYS[5], seq, k); redis.call('ZADD', KEYS[6], top[2], k)\n"
    "  end\n"
    "end\n"
    "if hz then\n"
    "  local old = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', hz, 'LIMIT', 0, 1024)\n"
    "  for _, k in ipairs(old) do\n"
    "    redis.call('DEL', pre .. k); redis.call('ZREM', KEYS[5], k); redis.call('ZREM', KEYS[6], k)\n"
    "  end\n"
    "end\n"
    "for j = 1, 6 do redis.call('EXPIRE', KEYS[j], ttl) end\n"
    "return {'OK', ep, seq}\n";

/* KEYS: seq, epoch, floor, idx.  ARGV: since sequence, entry key prefix.
 * Returns {epoch, seq, floor, entry, {member, score, ...}, ...}. */
static const char PULL_LUA[] =
    "local ep = redis.call('GET', KEYS[2]) or ''\n"
    "local seq = redis.call('GET', KEYS[1]) or '0'\n"
    "local fl = redis.call('GET', KEYS[3]) or ''\n"
    "local out = {ep, seq, fl}\n"
    "local ks = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[1], '+inf')\n"
    "for _, k in ipairs(ks) do\n"
    "  out[#out + 1] = k\n"
    "  out[#out + 1] = redis.call('ZRANGE', ARGV[2] .. k, 0, -1, 'WITHSCORES')\n"
    "end\n"
    "return out\n";

struct script {
    const char *text;
    char sha[41];
};

static void
script_sha(struct script *s)
{
    gchar *h = g_compute_checksum_for_string(G_CHECKSUM_SHA1, s->text, -1);

    snprintf(s->sha, sizeof s->sha, "%s", h);
    g_free(h);
}

/* EVALSHA, and EVAL when the server does not know the script (NOSCRIPT:
 * restarted, SCRIPT FLUSH): one round trip in the usual case. */
static redisReply *
run_script(redisContext *rc, const struct script *s, int nargs, const char **argv,
           size_t *lens)
{
    redisReply *r;

    argv[0] = "EVALSHA";
    lens[0] = 7;
    argv[1] = s->sha;
    lens[1] = 40;
    r = redisCommandArgv(rc, nargs, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = s->text;
        lens[1] = strlen(s->text);
        r = redisCommandArgv(rc, nargs, argv, lens);
    }
    return r;
}

/* ===== Prevalence ===== */

struct t1071a_redis {
    struct t1071a_rconn *conn;
    t1071_ctx *ctx;
    char *label;
    int64_t window_ms;
    uint64_t cursor;      /* export cursor of the last successful push */
    uint64_t seen_seq;    /* Redis sequence of the last pull merged */
    char epoch[40];       /* Redis's data epoch ("" unknown; ours are 16 hex digits) */
    uint64_t fleet;       /* the context's fleet-key fingerprint */
    uint32_t k;           /* hosts per entry */
    char keys[6][320];    /* seq, epoch, maxt, floor, idx, times */
    char entry_prefix[320];
    struct script push_s, pull_s;
    struct t1071a_redis_stats st;
};

int
t1071a_redis_new(struct t1071a_redis **out, struct t1071a_rconn *conn, t1071_ctx *ctx,
                 const char *label, int64_t window_ms, char *err, size_t errlen)
{
    struct t1071a_redis *r;
    t1071_buffer *d = NULL;
    uint64_t cur;
    int rc;
    static const char *names[6] = {"seq", "epoch", "maxt", "floor", "idx", "times"};

    *out = NULL;
    rc = t1071_prevalence_export(ctx, UINT64_MAX, &d, &cur);
    if (rc != T1071_OK) {
        snprintf(err, errlen,
                 "shared prevalence needs tuning.fleet_key and tuning.prevalence_hosts (or "
                 "_suppress_hosts), one rule: %s",
                 t1071_strerror(rc));
        return -1;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        t1071_buffer_free(d);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->fleet = get_le(t1071_buffer_data(d) + 48, 8);
    r->k = (uint32_t)get_le(t1071_buffer_data(d) + 12, 4);
    t1071_buffer_free(d);
    r->conn = conn;
    r->ctx = ctx;
    r->label = strdup(label ? label : "0");
    r->window_ms = window_ms;
    for (int i = 0; i < 6; i++)
        snprintf(r->keys[i], sizeof r->keys[i], "%s:prev:%016" PRIx64 ":%s",
                 t1071a_rconn_prefix(conn), r->fleet, names[i]);
    snprintf(r->entry_prefix, sizeof r->entry_prefix, "%s:prev:%016" PRIx64 ":e:",
             t1071a_rconn_prefix(conn), r->fleet);
    r->push_s.text = PUSH_LUA;
    r->pull_s.text = PULL_LUA;
    script_sha(&r->push_s);
    script_sha(&r->pull_s);
    *out = r;
    return 0;
}

void
t1071a_redis_free(struct t1071a_redis *r)
{
    if (!r)
        return;
    free(r->label);
    free(r);
}

void
t1071a_redis_retry_now(struct t1071a_redis *r)
{
    r->conn->next_try_ms = 0;
}

/* An exchange not done: said once per outage (no log flood), counted
 * always.  @p why is the server's or the connection's message, never a
 * secret. */
static void
failed(struct t1071a_redis *r, const char *why)
{
    r->st.failures++;
    if (!r->st.degraded)
        fprintf(stderr, "t1071-agent: redis %s: exchange failed (%s); going on with local "
                "prevalence and retrying with backoff (redis_degraded 1)\n", r->label, why);
    r->st.degraded = 1;
    after_failure(r->conn);
}

/* A fresh epoch for an empty Redis (random, not secret). */
static void
fresh_epoch(char *buf, size_t size)
{
    snprintf(buf, size, "%08" PRIx32 "%08" PRIx32, g_random_int(), g_random_int());
}

/* Forget what Redis had: its data is gone (restarted without persistence,
 * flushed, expired).  The whole table goes out again. */
static void
epoch_changed(struct t1071a_redis *r, const char *ep, size_t len)
{
    snprintf(r->epoch, sizeof r->epoch, "%.*s", (int)(len < 39 ? len : 39), ep);
    r->cursor = 0;
    r->seen_seq = 0;
    r->st.resets++;
}

static int push_once(struct t1071a_redis *r, bool *again);
static void fresh_epoch(char *buf, size_t size);

int
t1071a_redis_push(struct t1071a_redis *r)
{
    bool again = false;
    int rc = push_once(r, &again);

    if (rc == 0 && again) /* a new epoch: push the whole table to it */
        rc = push_once(r, &again);
    if (rc == 0 && again) {
        failed(r, "Redis's data epoch keeps changing");
        return -1;
    }
    return rc;
}

/* One script call for the @p n entries from @p q (already bounds-checked):
 * 0 merged, 1 Redis has another epoch (reset done), -1 failed (why set). */
static int
push_chunk(struct t1071a_redis *r, redisContext *rc, const uint8_t *q, size_t n, int64_t floor,
           int64_t maxt, char *why, size_t whylen)
{
    const uint8_t *c = q;
    size_t hosts = 0, nargs, ai;
    const char **argv;
    size_t *lens;
    char (*num)[24], (*mem)[17], (*nbuf)[12];
    char window[24], ttl[24], kbuf[16], floorbuf[24], maxtbuf[24], fresh[24];
    redisReply *rep = NULL;
    int ret = -1;

    for (size_t i = 0; i < n; i++) {
        size_t kl = get_le(c, 2), nh = get_le(c + 2 + kl, 2);
        hosts += nh;
        c += 4 + kl + nh * 16;
    }
    nargs = 3 + 6 + 8 + 2 * n + 2 * hosts;
    argv = calloc(nargs, sizeof *argv);
    lens = calloc(nargs, sizeof *lens);
    num = calloc(hosts + 1, sizeof *num);
    mem = calloc(hosts + 1, sizeof *mem);
    nbuf = calloc(n + 1, sizeof *nbuf);
    if (!argv || !lens || !num || !mem || !nbuf) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    argv[2] = "6", lens[2] = 1;
    for (int i = 0; i < 6; i++)
        argv[3 + i] = r->keys[i], lens[3 + i] = strlen(r->keys[i]);
    fresh_epoch(fresh, sizeof fresh);
    snprintf(window, sizeof window, "%" PRId64, r->window_ms);
    snprintf(ttl, sizeof ttl, "%" PRId64, 2 * (r->window_ms / 1000) + 3600);
    snprintf(kbuf, sizeof kbuf, "%" PRIu32, r->k);
    floorbuf[0] = maxtbuf[0] = '\0';
    if (floor != INT64_MIN)
        snprintf(floorbuf, sizeof floorbuf, "%" PRId64, floor);
    if (maxt != INT64_MIN)
        snprintf(maxtbuf, sizeof maxtbuf, "%" PRId64, maxt);
    ai = 9;
    argv[ai] = r->epoch, lens[ai++] = strlen(r->epoch);
    argv[ai] = fresh, lens[ai++] = strlen(fresh);
    argv[ai] = window, lens[ai++] = strlen(window);
    argv[ai] = ttl, lens[ai++] = strlen(ttl);
    argv[ai] = kbuf, lens[ai++] = strlen(kbuf);
    argv[ai] = floorbuf, lens[ai++] = strlen(floorbuf);
    argv[ai] = maxtbuf, lens[ai++] = strlen(maxtbuf);
    argv[ai] = r->entry_prefix, lens[ai++] = strlen(r->entry_prefix);
    c = q;
    for (size_t i = 0, hi = 0; i < n; i++) {
        size_t kl = get_le(c, 2), nh = get_le(c + 2 + kl, 2);
        argv[ai] = (const char *)c + 2, lens[ai++] = kl;
        snprintf(nbuf[i], sizeof nbuf[i], "%zu", nh);
        argv[ai] = nbuf[i], lens[ai++] = strlen(nbuf[i]);
        c += 4 + kl;
        for (size_t h = 0; h < nh; h++, c += 16, hi++) {
            snprintf(num[hi], sizeof num[hi], "%" PRId64, (int64_t)get_le(c + 8, 8));
            snprintf(mem[hi], sizeof mem[hi], "%016" PRIx64, get_le(c, 8));
            argv[ai] = num[hi], lens[ai++] = strlen(num[hi]);
            argv[ai] = mem[hi], lens[ai++] = 16;
        }
    }
    rep = run_script(rc, &r->push_s, (int)ai, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_STRING) {
        snprintf(why, whylen, "%.*s",
                 rep && rep->type == REDIS_REPLY_ERROR ? (int)(rep->len > 300 ? 300 : rep->len) : 300,
                 rep && rep->type == REDIS_REPLY_ERROR ? rep->str
                 : rc->err ? rc->errstr : "unexpected reply to the push script");
        goto out;
    }
    if (!strcmp(rep->element[0]->str, "EPOCH")) {
        epoch_changed(r, rep->element[1]->str, rep->element[1]->len);
        ret = 1;
        goto out;
    }
    if (!r->epoch[0])
        snprintf(r->epoch, sizeof r->epoch, "%.*s",
                 (int)(rep->element[1]->len < 39 ? rep->element[1]->len : 39), rep->element[1]->str);
    ret = 0;
out:
    if (rep)
        freeReplyObject(rep);
    free(argv);
    free(lens);
    free(num);
    free(mem);
    free(nbuf);
    return ret;
}

/* Entries per script call: a whole table (16,384 entries) goes in a few
 * short calls rather than one long one that blocks Redis.  Each call is
 * atomic and idempotent; the cursor moves only once all have succeeded, so a
 * push cut in the middle is simply sent again whole. */
#define PUSH_CHUNK 512

static int
push_once(struct t1071a_redis *r, bool *again)
{
    redisContext *rc = ensure(r->conn);
    t1071_buffer *d = NULL;
    uint64_t cur = 0;
    const uint8_t *p, *end, *q;
    size_t n_ent, done = 0;
    int64_t floor, maxt = INT64_MIN;
    bool was_degraded = r->st.degraded != 0;
    char why[400];

    *again = false;
    if (!rc) {
        failed(r, "unreachable");
        return -1;
    }
    if (t1071_prevalence_export(r->ctx, r->cursor, &d, &cur) != T1071_OK) {
        failed(r, "t1071_prevalence_export failed");
        return -1;
    }
    p = t1071_buffer_data(d);
    end = p + t1071_buffer_size(d);
    n_ent = (size_t)get_le(p + 80, 4);
    floor = (int64_t)get_le(p + 72, 8);
    /* Walk the whole delta first: bounds, and the latest time in it (the
     * same prune horizon for every chunk). */
    q = p + DELTA_HEAD;
    for (size_t i = 0; i < n_ent; i++) {
        size_t kl, nh;
        if (end - q < 2 || (size_t)(end - q) < 4 + (kl = get_le(q, 2)))
            goto bad;
        nh = get_le(q + 2 + kl, 2);
        q += 4 + kl;
        if ((size_t)(end - q) < nh * 16)
            goto bad;
        for (size_t h = 0; h < nh; h++, q += 16)
            if ((int64_t)get_le(q + 8, 8) > maxt)
                maxt = (int64_t)get_le(q + 8, 8);
    }
    if (n_ent == 0 && floor == INT64_MIN) {
        r->cursor = cur; /* nothing to send */
        t1071_buffer_free(d);
        return 0;
    }
    q = p + DELTA_HEAD;
    do { /* at least one call: a delta of no entry still carries the floor */
        size_t take = n_ent - done < PUSH_CHUNK ? n_ent - done : PUSH_CHUNK;
        const uint8_t *chunk = q;
        int c;
        for (size_t i = 0; i < take; i++) {
            size_t kl = get_le(q, 2);
            q += 4 + kl + get_le(q + 2 + kl, 2) * 16;
        }
        c = push_chunk(r, rc, chunk, take, floor, maxt, why, sizeof why);
        if (c < 0) {
            failed(r, why);
            t1071_buffer_free(d);
            return -1;
        }
        if (c > 0) { /* another epoch: the caller pushes the whole table */
            *again = true;
            t1071_buffer_free(d);
            return 0;
        }
        done += take;
    } while (done < n_ent);
    r->cursor = cur; /* only now: Redis has all of it */
    r->st.pushes++;
    r->st.entries_pushed += n_ent;
    if (was_degraded) {
        r->st.catchups++;
        fprintf(stderr, "t1071-agent: redis %s: back; pushed what was missed (%zu entries, "
                "redis_catchups %" PRIu64 ", redis_degraded 0)\n", r->label, n_ent, r->st.catchups);
    }
    r->st.degraded = 0;
    t1071_buffer_free(d);
    return 0;
bad:
    failed(r, "the library's delta does not parse");
    t1071_buffer_free(d);
    return -1;
}

/* A delta in the library's documented format from the pulled state. */
static int
merge_pulled(struct t1071a_redis *r, const redisReply *rep, const char *floor_s)
{
    GByteArray *b = g_byte_array_new();
    GChecksum *sum;
    uint8_t head[DELTA_HEAD] = {0}, digest[32];
    gsize dlen = sizeof digest;
    uint32_t n = 0;
    int rc;

    memcpy(head, "T1071PRV", 8);
    put_le(head + 8, 1, 4);
    put_le(head + 12, r->k, 4);
    put_le(head + 48, r->fleet, 8);
    put_le(head + 72, floor_s && *floor_s ? (uint64_t)strtoll(floor_s, NULL, 10)
                                          : (uint64_t)INT64_MIN, 8);
    g_byte_array_append(b, head, DELTA_HEAD);
    for (size_t i = 3; i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *z = rep->element[i + 1];
        uint8_t tmp[16];
        size_t nh;
        if (k->type != REDIS_REPLY_STRING || z->type != REDIS_REPLY_ARRAY)
            continue;
        if (k->len == 0 || k->len >= 512 || memchr(k->str, '\0', k->len))
            continue;
        nh = z->elements / 2;
        if (nh == 0)
            continue; /* pruned since */
        if (nh > 64)
            nh = 64;  /* never more than K <= 64 after the script's trim */
        put_le(tmp, k->len, 2);
        g_byte_array_append(b, tmp, 2);
        g_byte_array_append(b, (const guint8 *)k->str, (guint)k->len);
        {
            size_t at = b->len;
            uint16_t got = 0;
            put_le(tmp, 0, 2);
            g_byte_array_append(b, tmp, 2);
            /* The greatest are last in ZRANGE order. */
            for (size_t h = z->elements / 2 - nh; h < z->elements / 2; h++) {
                const redisReply *m = z->element[2 * h], *s = z->element[2 * h + 1];
                char hex[17], *e;
                uint64_t hh;
                double t;
                if (m->type != REDIS_REPLY_STRING || m->len != 16 || s->type != REDIS_REPLY_STRING)
                    continue;
                memcpy(hex, m->str, 16);
                hex[16] = '\0';
                hh = strtoull(hex, &e, 16);
                if (*e)
                    continue;
                t = strtod(s->str, &e);
                if (*e || !isfinite(t))
                    continue;
                put_le(tmp, hh, 8);
                put_le(tmp + 8, (uint64_t)(int64_t)llround(t), 8);
                g_byte_array_append(b, tmp, 16);
                got++;
            }
            if (!got) {
                g_byte_array_set_size(b, (guint)(at - 2 - k->len));
                continue;
            }
            put_le(b->data + at, got, 2);
        }
        n++;
        r->st.entries_pulled++;
    }
    put_le(b->data + 80, n, 4);
    sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, b->data, 16);
    g_checksum_update(sum, b->data + 48, b->len - 48);
    g_checksum_get_digest(sum, digest, &dlen);
    g_checksum_free(sum);
    memcpy(b->data + 16, digest, 32);
    rc = n || (floor_s && *floor_s) ? t1071_prevalence_merge(r->ctx, b->data, b->len) : T1071_OK;
    g_byte_array_free(b, TRUE);
    if (rc != T1071_OK) {
        fprintf(stderr, "t1071-agent: redis pull (%s): the library refused the state: %s (%s)\n",
                r->label, t1071_strerror(rc), t1071_errmsg(r->ctx));
        r->st.merge_refused++;
        return -1;
    }
    return 0;
}

static int pull_once(struct t1071a_redis *r, int depth);

int
t1071a_redis_pull(struct t1071a_redis *r)
{
    return pull_once(r, 0);
}

static int
pull_once(struct t1071a_redis *r, int depth)
{
    redisContext *rc = ensure(r->conn);
    const char *argv[8];
    size_t lens[8];
    char since[24];
    redisReply *rep;
    uint64_t seq;
    int ret = -1;

    if (!rc) {
        failed(r, "unreachable");
        return -1;
    }
    snprintf(since, sizeof since, "%" PRIu64, r->seen_seq);
    argv[2] = "4", lens[2] = 1;
    argv[3] = r->keys[0], lens[3] = strlen(r->keys[0]);
    argv[4] = r->keys[1], lens[4] = strlen(r->keys[1]);
    argv[5] = r->keys[3], lens[5] = strlen(r->keys[3]);
    argv[6] = r->keys[4], lens[6] = strlen(r->keys[4]);
    argv[7] = since, lens[7] = strlen(since);
    {
        const char *a9[9];
        size_t l9[9];
        memcpy(a9, argv, sizeof argv);
        memcpy(l9, lens, sizeof lens);
        a9[8] = r->entry_prefix, l9[8] = strlen(r->entry_prefix);
        rep = run_script(rc, &r->pull_s, 9, a9, l9);
    }
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_STRING) {
        char why[400];
        snprintf(why, sizeof why, "%.*s",
                 rep && rep->type == REDIS_REPLY_ERROR ? (int)(rep->len > 300 ? 300 : rep->len) : 300,
                 rep && rep->type == REDIS_REPLY_ERROR ? rep->str
                 : rc->err ? rc->errstr : "unexpected reply to the pull script");
        if (rep)
            freeReplyObject(rep);
        failed(r, why);
        return -1;
    }
    if (!rep->element[0]->len) {
        /* Redis is empty (restarted without persistence, flushed,
         * expired): if we had seen data there, it is gone; the next push
         * sends the whole table. */
        if (r->epoch[0] || r->seen_seq) {
            r->epoch[0] = '\0';
            r->cursor = 0;
            r->seen_seq = 0;
            r->st.resets++;
        }
    } else if (!r->epoch[0]) {
        /* first contact (nothing pushed yet): remember its epoch */
        snprintf(r->epoch, sizeof r->epoch, "%.*s",
                 (int)(rep->element[0]->len < 39 ? rep->element[0]->len : 39), rep->element[0]->str);
    } else if (strlen(r->epoch) != rep->element[0]->len ||
               memcmp(r->epoch, rep->element[0]->str, rep->element[0]->len)) {
        /* Redis lost its data and someone pushed since: push everything
         * again (the next push), and read everything there is. */
        epoch_changed(r, rep->element[0]->str, rep->element[0]->len);
        freeReplyObject(rep);
        if (depth > 0) { /* changed twice in a row: try at the next exchange */
            failed(r, "Redis's data epoch keeps changing");
            return -1;
        }
        return pull_once(r, depth + 1);
    }
    seq = strtoull(rep->element[1]->str, NULL, 10);
    if (merge_pulled(r, rep,
                     rep->element[2]->type == REDIS_REPLY_STRING ? rep->element[2]->str : NULL) == 0) {
        r->seen_seq = seq;
        r->st.pulls++;
        ret = 0;
    } else {
        r->st.failures++;
    }
    freeReplyObject(rep);
    return ret;
}

int
t1071a_redis_sync(struct t1071a_redis *r)
{
    t1071_buffer *d = NULL;
    uint64_t cur;

    if (t1071a_redis_push(r) != 0)
        return -1;
    if (t1071a_redis_pull(r) != 0)
        return -1;
    /* Everything that changed since the push came from Redis (nothing was
     * fed in between): it is there already, no need to echo it back. */
    if (r->cursor != 0 && t1071_prevalence_export(r->ctx, UINT64_MAX, &d, &cur) == T1071_OK)
        r->cursor = cur;
    t1071_buffer_free(d);
    return 0;
}

void
t1071a_redis_stats(const struct t1071a_redis *r, struct t1071a_redis_stats *out)
{
    *out = r->st;
}

void
t1071a_redis_stats_line(const struct t1071a_redis *r, GString *out)
{
    g_string_append_printf(out,
                           "redis %s: redis_degraded %d redis_pushes %" PRIu64
                           " redis_pulls %" PRIu64 " redis_failures %" PRIu64
                           " redis_catchups %" PRIu64 " redis_resets %" PRIu64
                           " redis_merge_refused %" PRIu64 " redis_entries_pushed %" PRIu64
                           " redis_entries_pulled %" PRIu64,
                           r->label, r->st.degraded, r->st.pushes, r->st.pulls, r->st.failures,
                           r->st.catchups, r->st.resets, r->st.merge_refused,
                           r->st.entries_pushed, r->st.entries_pulled);
}

void
t1071a_redis_metrics(struct t1071a_redis *r, GString *out)
{
    struct {
        const char *name, *type, *help;
        uint64_t v;
    } m[] = {
        {"degraded", "gauge", "1 while Redis is unreachable: local prevalence only", (uint64_t)r->st.degraded},
        {"pushes_total", "counter", "prevalence deltas merged into Redis", r->st.pushes},
        {"pulls_total", "counter", "Redis prevalence states merged into the context", r->st.pulls},
        {"failures_total", "counter", "failed Redis exchanges", r->st.failures},
        {"catchups_total", "counter", "pushes of what was missed while degraded", r->st.catchups},
        {"resets_total", "counter", "Redis lost its data: whole table pushed again", r->st.resets},
        {"merge_refused_total", "counter", "pulled states the library refused", r->st.merge_refused},
    };
    GString *lab = g_string_new(NULL);

    /* label values escaped as the text format wants (\\, \", \n) */
    for (const char *s = r->label; *s; s++) {
        if (*s == '\\' || *s == '"')
            g_string_append_c(lab, '\\');
        if (*s == '\n')
            g_string_append(lab, "\\n");
        else
            g_string_append_c(lab, *s);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(m); i++)
        g_string_append_printf(out,
                               "# HELP t1071_agent_redis_%s %s\n# TYPE t1071_agent_redis_%s %s\n"
                               "t1071_agent_redis_%s{context=\"%s\"} %" PRIu64 "\n",
                               m[i].name, m[i].help, m[i].name, m[i].type, m[i].name, lab->str,
                               m[i].v);
    g_string_free(lab, TRUE);
}

/* ===== Lockstep turn and barrier ===== */

static redisReply *
simple(struct t1071a_redis *r, const char *fmt, const char *key, const char *arg)
{
    redisContext *rc = ensure(r->conn);
    redisReply *rep;

    if (!rc)
        return NULL;
    rep = arg ? redisCommand(rc, fmt, key, arg) : redisCommand(rc, fmt, key);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        if (rep)
            freeReplyObject(rep);
        after_failure(r->conn);
        return NULL;
    }
    return rep;
}

int
t1071a_redis_turn_get(struct t1071a_redis *r, uint64_t *turn)
{
    char key[400];
    redisReply *rep;

    snprintf(key, sizeof key, "%s:lockstep:turn", t1071a_rconn_prefix(r->conn));
    if (!(rep = simple(r, "GET %s", key, NULL)))
        return -1;
    *turn = rep->type == REDIS_REPLY_STRING ? strtoull(rep->str, NULL, 10) : 0;
    freeReplyObject(rep);
    return 0;
}

int
t1071a_redis_turn_set(struct t1071a_redis *r, uint64_t turn)
{
    char key[400], v[24];
    redisReply *rep;

    snprintf(key, sizeof key, "%s:lockstep:turn", t1071a_rconn_prefix(r->conn));
    snprintf(v, sizeof v, "%" PRIu64, turn);
    if (!(rep = simple(r, "SET %s %s", key, v)))
        return -1;
    freeReplyObject(rep);
    return 0;
}

int
t1071a_redis_barrier(struct t1071a_redis *r, uint64_t n, int timeout_ms)
{
    char key[400];
    redisReply *rep;
    int64_t deadline = now_ms() + timeout_ms;
    bool counted = false;

    snprintf(key, sizeof key, "%s:barrier", t1071a_rconn_prefix(r->conn));
    while (now_ms() < deadline) {
        r->conn->next_try_ms = 0;
        rep = simple(r, counted ? "GET %s" : "INCR %s", key, NULL);
        if (rep) {
            uint64_t v = rep->type == REDIS_REPLY_INTEGER ? (uint64_t)rep->integer
                         : rep->type == REDIS_REPLY_STRING ? strtoull(rep->str, NULL, 10) : 0;
            counted = true;
            freeReplyObject(rep);
            if (v >= n)
                return 0;
        }
        sleep_ms(5);
    }
    return -1;
}

/* ===== Checkpoints ===== */

#define CKPT_MAGIC "T1071CKR"
#define CKPT_HEAD 32u

static void
ckpt_key(const struct t1071a_rconn *c, const char *group, const char *topic, int32_t part,
         GString *k)
{
    g_string_printf(k, "%s:ckpt:", c->prefix);
    for (const char *s = group; *s; s++) {
        if (*s == ':')
            g_string_append(k, "%3A");
        else if (*s == '%')
            g_string_append(k, "%25");
        else
            g_string_append_c(k, *s);
    }
    g_string_append_printf(k, ":%s:%" PRId32, topic, part);
}

static int
ckpt_put(void *impl, const char *group, const char *topic, int32_t partition, const void *snap,
         size_t len, int64_t next_offset, char *err, size_t errlen)
{
    struct t1071a_rconn *c = impl;
    redisContext *rc = ensure(c);
    GString *k = g_string_new(NULL);
    uint8_t *rec;
    redisReply *rep;
    int ret = -1;

    if (!rc) {
        snprintf(err, errlen, "Redis is unreachable (reconnecting with backoff)");
        g_string_free(k, TRUE);
        return -1;
    }
    rec = malloc(CKPT_HEAD + len);
    if (!rec) {
        snprintf(err, errlen, "out of memory");
        g_string_free(k, TRUE);
        return -1;
    }
    memcpy(rec, CKPT_MAGIC, 8);
    put_le(rec + 8, 1, 4);
    put_le(rec + 12, 0, 4);
    put_le(rec + 16, (uint64_t)next_offset, 8);
    put_le(rec + 24, len, 8);
    if (len)
        memcpy(rec + CKPT_HEAD, snap, len);
    ckpt_key(c, group, topic, partition, k);
    rep = redisCommand(rc, "SET %b %b", k->str, (size_t)k->len, rec, (size_t)(CKPT_HEAD + len));
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis SET of the checkpoint failed: %s",
                 rep ? rep->str : rc->errstr);
        after_failure(c);
    } else {
        ret = 0;
    }
    if (rep)
        freeReplyObject(rep);
    free(rec);
    g_string_free(k, TRUE);
    return ret;
}

static int
ckpt_get(void *impl, const char *group, const char *topic, int32_t partition, void **snap,
         size_t *len, int64_t *next_offset, char *err, size_t errlen)
{
    struct t1071a_rconn *c = impl;
    redisContext *rc = ensure(c);
    GString *k = g_string_new(NULL);
    redisReply *rep;
    int ret = -1;

    *snap = NULL;
    *len = 0;
    if (!rc) {
        snprintf(err, errlen, "Redis is unreachable (reconnecting with backoff)");
        g_string_free(k, TRUE);
        return -1;
    }
    ckpt_key(c, group, topic, partition, k);
    rep = redisCommand(rc, "GET %b", k->str, (size_t)k->len);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis GET of the checkpoint failed: %s", rep ? rep->str : rc->errstr);
        after_failure(c);
    } else if (rep->type == REDIS_REPLY_NIL) {
        ret = 0;
    } else if (rep->type != REDIS_REPLY_STRING || rep->len < CKPT_HEAD ||
               memcmp(rep->str, CKPT_MAGIC, 8)) {
        snprintf(err, errlen, "checkpoint %s: not a checkpoint record (bad magic or too short)",
                 k->str);
    } else if (get_le((const uint8_t *)rep->str + 8, 4) != 1) {
        snprintf(err, errlen, "checkpoint %s: record of an unknown version", k->str);
    } else if (get_le((const uint8_t *)rep->str + 24, 8) != rep->len - CKPT_HEAD) {
        snprintf(err, errlen, "checkpoint %s: length %" PRIu64 " but %zu bytes (truncated?)",
                 k->str, get_le((const uint8_t *)rep->str + 24, 8), rep->len - CKPT_HEAD);
    } else {
        size_t n = rep->len - CKPT_HEAD;
        *snap = malloc(n ? n : 1);
        if (!*snap) {
            snprintf(err, errlen, "out of memory");
        } else {
            memcpy(*snap, rep->str + CKPT_HEAD, n);
            *len = n;
            *next_offset = (int64_t)get_le((const uint8_t *)rep->str + 16, 8);
            ret = 1;
        }
    }
    if (rep)
        freeReplyObject(rep);
    g_string_free(k, TRUE);
    return ret;
}

static void
ckpt_close(void *impl)
{
    t1071a_rconn_free(impl);
}

static const struct t1071a_ckpt_ops ckpt_redis_ops = {ckpt_put, ckpt_get, ckpt_close};

void
t1071a_ckpt_redis_init(struct t1071a_ckpt_store *st, struct t1071a_rconn *conn)
{
    st->ops = &ckpt_redis_ops;
    st->impl = conn;
}

int
t1071a_ckpt_load(const struct t1071a_ckpt_store *st, const char *group, const char *topic,
                 int32_t partition, t1071_ctx **ctx, int64_t *next_offset, uint64_t *refused,
                 char *err, size_t errlen)
{
    void *snap = NULL;
    size_t len = 0;
    int rc = st->ops->get(st->impl, group, topic, partition, &snap, &len, next_offset, err, errlen);

    *ctx = NULL;
    if (rc == 0)
        return 0;
    if (rc < 0) {
        (*refused)++;
        return -1;
    }
    rc = t1071_restore(ctx, snap, len);
    free(snap);
    if (rc != T1071_OK) {
        snprintf(err, errlen, "checkpoint of %s/%" PRId32 " refused by t1071_restore: %s", topic,
                 partition, t1071_strerror(rc));
        *ctx = NULL;
        (*refused)++;
        return -2;
    }
    return 1;
}
