/* SPDX-License-Identifier: Apache-2.0 */
/* The tuning allowlists: executable path globs, domain suffixes, CIDRs,
 * and the fallback key's member check. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "score/tracker-priv.h"
#include "util/addr.h"
#include "util/hash.h"
#include "util/timefmt.h"



/* ===== Matching ===== */

static bool
is_sep(char c)
{
    return c == '/' || c == '\\';
}

static inline char
lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Length of the segment starting at @p s (up to a separator or the end). */
static inline size_t
seg_len(const char *s)
{
    size_t n = 0;

    while (s[n] && !is_sep(s[n]))
        n++;
    return n;
}

/* Glob within one path segment: '*' any run, '?' one character; ASCII
 * case-insensitive (Windows paths).  Iterative, one backtrack point.
 * Judged on every alert of the tuned profile, against every listed
 * pattern: plain loops, no library call per character. */
static bool
seg_match(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

    while (si < sn) {
        if (pi < pn && (p[pi] == '?' || lower_ascii(p[pi]) == lower_ascii(s[si]))) {
            pi++;
            si++;
        } else if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

/* A full path against a pattern: the same number of segments ('/' and
 * '\' alike), each matching.  A bare name never matches a path: a
 * pattern is always a full path (config refuses names). */
static bool
path_match(const char *pat, const char *path)
{
    for (;;) {
        size_t pn = seg_len(pat), sn = seg_len(path);
        if (!seg_match(pat, pn, path, sn))
            return false;
        pat += pn;
        path += sn;
        if (!*pat || !*path)
            return !*pat && !*path;
        if (!is_sep(*pat) || !is_sep(*path))
            return false;
        pat++;
        path++;
    }
}

bool
t1071i_path_listed(char *const *list, size_t n, const char *exe)
{
    if (!exe)
        return false;
    for (size_t i = 0; i < n; i++)
        if (path_match(list[i], exe))
            return true;
    return false;
}

static bool
domain_listed(const struct t1071i_tuning_cfg *tun, const char *domain)
{
    size_t dn;

    if (!domain)
        return false;
    dn = strlen(domain);
    while (dn && domain[dn - 1] == '.')
        dn--;
    for (size_t i = 0; i < tun->n_allow_domains; i++) {
        const char *sfx = tun->allow_domains[i];
        size_t sn = strlen(sfx);
        if (sn > dn || g_ascii_strncasecmp(domain + dn - sn, sfx, sn) != 0)
            continue;
        if (sn == dn || domain[dn - sn - 1] == '.')
            return true;
    }
    return false;
}

bool
t1071i_dest_allowlisted(const struct t1071i_tuning_cfg *tun, const struct t1071i_pev *p)
{
    if (domain_listed(tun, p->domain))
        return true;
    if (p->ip && tun->n_allow_cidrs) {
        uint8_t a[16];
        bool v4;
        if (t1071i_parse_ip(p->ip, a, &v4))
            for (size_t i = 0; i < tun->n_allow_cidrs; i++)
                if (t1071i_cidr_contains(&tun->allow_cidrs[i], a))
                    return true;
    }
    return false;
}

/* A fallback key's sequence adds nothing when one process made it all (its
 * own key sees it) or when processes interleave (concurrent instances, not
 * one implant restarting).  Returns the reason, or NULL. */
const char *
t1071i_fallback_reason(struct t1071i_pev *const *m, size_t n)
{
    size_t changes = 0;
    const char *reason = NULL;
    GHashTable *seen;

    for (size_t i = 1; i < n; i++)
        if (strcmp(m[i]->keys[0], m[i - 1]->keys[0]) != 0)
            changes++;
    if (changes == 0)
        return "fallback_same_process";
    /* Restarts: each process's events are one contiguous run.  Sequences
     * are short (rule.runs events): compare each run's process with the
     * earlier runs' rather than build a hash table (a malloc per alert). */
    if (n <= 64) {
        const char *starts[64];
        size_t ns = 0;
        for (size_t i = 0; i < n; i++) {
            if (i && !strcmp(m[i]->keys[0], m[i - 1]->keys[0]))
                continue;
            for (size_t k = 0; k < ns; k++)
                if (!strcmp(starts[k], m[i]->keys[0]))
                    return "fallback_concurrent";
            starts[ns++] = m[i]->keys[0];
        }
        return NULL;
    }
    seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < n && !reason; i++) {
        if (i && !strcmp(m[i]->keys[0], m[i - 1]->keys[0]))
            continue;
        if (g_hash_table_contains(seen, m[i]->keys[0]))
            reason = "fallback_concurrent";
        g_hash_table_add(seen, (gpointer)m[i]->keys[0]);
    }
    g_hash_table_destroy(seen);
    return reason;
}

/* Issue 13: a fallback sequence joins processes of one executable on one
 * host as restarts of one implant.  Many unrelated things run under one
 * executable (a Windows service host), so restarts must be related by
 * what the schema shows: every process (run of members) in the sequence
 * reached the destination being scored.  A restarted implant calls the
 * same C2; a benign service and an implant that migrated into another
 * process of the same binary do not share it, and the sequence's timing
 * evidence (the pair of that destination) then comes from one of them
 * alone, which its own key judges.  @p dest is the scored destination
 * (the last member's).  Returns "fallback_unrelated",
 * "fallback_same_process" (all members but one from one process), or
 * NULL. */
const char *
t1071i_fallback_unrelated(struct t1071i_pev *const *m, size_t n, const char *dest)
{
    char d[256];
    size_t i = 0;

    /* All but one member from one process: the evidence is that
     * process's, which its own key judges (at its next event, when it has
     * one); the one other member adds nothing. */
    if (n >= 3) {
        size_t longest = 0;
        for (size_t a = 0, b; a < n; a = b) {
            for (b = a + 1; b < n && !strcmp(m[b]->keys[0], m[a]->keys[0]); b++)
                ;
            if (b - a > longest)
                longest = b - a;
        }
        if (longest >= n - 1)
            return "fallback_same_process";
    }
    while (i < n) {
        size_t j = i;
        bool reached = false;
        while (j < n && !strcmp(m[j]->keys[0], m[i]->keys[0])) {
            if (!reached) {
                t1071i_pev_dest(m[j], d, sizeof(d));
                reached = !strcmp(d, dest);
            }
            j++;
        }
        if (!reached)
            return "fallback_unrelated";
        i = j;
    }
    return NULL;
}
