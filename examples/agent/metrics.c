/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's /metrics endpoint (see metrics.h).
 *
 * One thread, one connection at a time: a scrape is small and rare.  A
 * request is read up to its blank line within MAX_REQUEST bytes and
 * IO_TIMEOUT_S seconds (a slow or endless client is cut off, it cannot hold
 * memory or the thread); only "GET /metrics" answers 200, anything else 404
 * (400 for a request that is not HTTP, 431 for one too large).  Responses
 * are HTTP/1.0 with Connection: close. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "metrics.h"

#include "t1071/t1071detect.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PROG "t1071-agent"
#define MAX_REQUEST 8192
#define IO_TIMEOUT_S 2
#define MAX_SOURCES 32
#define MAX_BODY (64u << 20) /* a runaway source cannot take the memory */

struct t1071a_text {
    char *s;
    size_t len, cap;
    bool failed;
};

struct source {
    t1071a_metrics_fn fn;
    void *arg;
};

struct t1071a_metrics {
    int fd;
    int wake[2]; /* a byte on wake[1] stops the thread */
    pthread_t thread;
    pthread_mutex_t mu; /* sources, and the call of each */
    struct source sources[MAX_SOURCES];
    size_t nsources;
    uint64_t requests;
};

void
t1071a_text_printf(struct t1071a_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t want = t->cap ? t->cap * 2 : 4096;
        while (want - t->len <= (size_t)n)
            want *= 2;
        if (want > MAX_BODY) {
            t->failed = true;
            return;
        }
        char *p = realloc(t->s, want);
        if (!p) {
            t->failed = true;
            return;
        }
        t->s = p;
        t->cap = want;
    }
}

void
t1071a_text_label(struct t1071a_text *t, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            t1071a_text_printf(t, "\\\\");
        else if (*s == '"')
            t1071a_text_printf(t, "\\\"");
        else if (*s == '\n')
            t1071a_text_printf(t, "\\n");
        else
            t1071a_text_printf(t, "%c", *s);
    }
}

static void
send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the client went away or timed out: nothing to do */
        p += w;
        n -= (size_t)w;
    }
}

static void
respond(int fd, int code, const char *reason, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, type, len);

    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

static void
plain(int fd, int code, const char *reason)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%s\n", reason);

    respond(fd, code, reason, "text/plain; charset=utf-8", body, (size_t)n);
}

static void
serve(struct t1071a_metrics *m, int fd)
{
    char req[MAX_REQUEST + 1];
    size_t got = 0;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    char *end = NULL;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (got < MAX_REQUEST) {
        ssize_t r = recv(fd, req + got, MAX_REQUEST - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if ((end = strstr(req, "\r\n\r\n")) || (end = strstr(req, "\n\n")))
            break;
    }
    if (!end) {
        if (got >= MAX_REQUEST)
            plain(fd, 431, "Request Header Fields Too Large");
        else if (got)
            plain(fd, 400, "Bad Request");
        return;
    }
    /* Request line: METHOD SP TARGET SP HTTP/x.y */
    char *sp1 = memchr(req, ' ', (size_t)(end - req));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/", 5)) {
        plain(fd, 400, "Bad Request");
        return;
    }
    size_t tlen = (size_t)(sp2 - sp1 - 1);
    const char *target = sp1 + 1;
    bool is_metrics = (tlen == 8 && !memcmp(target, "/metrics", 8)) ||
                      (tlen > 8 && !memcmp(target, "/metrics?", 9));
    if ((size_t)(sp1 - req) != 3 || memcmp(req, "GET", 3) || !is_metrics) {
        plain(fd, 404, "Not Found");
        return;
    }

    struct t1071a_text body = {0};
    pthread_mutex_lock(&m->mu);
    m->requests++;
    t1071a_text_printf(&body, "# TYPE t1071_agent_metrics_requests_total counter\n"
                              "t1071_agent_metrics_requests_total %llu\n",
                       (unsigned long long)m->requests);
    for (size_t i = 0; i < m->nsources; i++)
        m->sources[i].fn(m->sources[i].arg, &body);
    pthread_mutex_unlock(&m->mu);
    if (body.failed)
        plain(fd, 500, "Internal Server Error");
    else
        respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body.s, body.len);
    free(body.s);
}

static void *
metrics_main(void *arg)
{
    struct t1071a_metrics *m = arg;

    for (;;) {
        struct pollfd p[2] = {{m->fd, POLLIN, 0}, {m->wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0)
                continue; /* ECONNABORTED, EMFILE...: try the next one */
            serve(m, c);
            close(c);
        }
    }
    return NULL;
}

int
t1071a_metrics_start(const char *addr, struct t1071a_metrics **out, char *err, size_t errlen)
{
    char host[256] = "127.0.0.1";
    const char *port = addr;
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints = {0}, *res = NULL;
    struct t1071a_metrics *m;
    int one = 1, rc;

    *out = NULL;
    if (colon) {
        size_t hl = (size_t)(colon - addr);
        const char *h = addr;
        if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        if (hl >= sizeof host) {
            snprintf(err, errlen, "--metrics: address too long");
            return -1;
        }
        if (hl) {
            memcpy(host, h, hl);
            host[hl] = '\0';
        }
        port = colon + 1;
    }
    if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
        atoi(port) > 65535) {
        snprintf(err, errlen, "--metrics wants [ADDRESS:]PORT, got \"%s\"", addr);
        return -1;
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "--metrics %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        freeaddrinfo(res);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(m->fd, res->ai_addr, res->ai_addrlen) != 0 || listen(m->fd, 16) != 0) {
        snprintf(err, errlen, "--metrics %s: %s", addr, strerror(errno));
        goto fail;
    }
    freeaddrinfo(res);
    res = NULL;
    if (pipe2(m->wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        m->wake[0] = m->wake[1] = -1;
        goto fail;
    }
    pthread_mutex_init(&m->mu, NULL);
    if ((rc = pthread_create(&m->thread, NULL, metrics_main, m)) != 0) {
        snprintf(err, errlen, "pthread_create: %s", strerror(rc));
        pthread_mutex_destroy(&m->mu);
        close(m->wake[0]);
        close(m->wake[1]);
        m->wake[0] = m->wake[1] = -1;
        goto fail;
    }
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char h[128] = "?", p[16] = "?";
        if (getsockname(m->fd, (struct sockaddr *)&ss, &sl) == 0)
            getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p,
                        NI_NUMERICHOST | NI_NUMERICSERV);
        fprintf(stderr, PROG ": metrics on http://%s%s%s:%s/metrics\n", strchr(h, ':') ? "[" : "",
                h, strchr(h, ':') ? "]" : "", p);
    }
    *out = m;
    return 0;
fail:
    if (res)
        freeaddrinfo(res);
    if (m->fd >= 0)
        close(m->fd);
    free(m);
    return -1;
}

int
t1071a_metrics_add(struct t1071a_metrics *m, t1071a_metrics_fn fn, void *arg)
{
    int rc = -1;

    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    if (m->nsources < MAX_SOURCES) {
        m->sources[m->nsources++] = (struct source){fn, arg};
        rc = 0;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void
t1071a_metrics_remove(struct t1071a_metrics *m, void *arg)
{
    size_t j = 0;

    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nsources; i++)
        if (m->sources[i].arg != arg)
            m->sources[j++] = m->sources[i];
    m->nsources = j;
    pthread_mutex_unlock(&m->mu);
}

void
t1071a_metrics_stop(struct t1071a_metrics *m)
{
    if (!m)
        return;
    while (write(m->wake[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(m->thread, NULL);
    close(m->wake[0]);
    close(m->wake[1]);
    close(m->fd);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

bool
t1071a_stat_is_gauge(int id)
{
    return id == T1071_STAT_ALERTS_QUEUED || id == T1071_STAT_KEYS || id == T1071_STAT_HOSTS ||
           id == T1071_STAT_EVENTS_BUFFERED || id == T1071_STAT_MEMORY_BYTES ||
           id == T1071_STAT_MEMORY_PEAK_BYTES || id == T1071_STAT_LATENESS_MAX_MS;
}
