/* SPDX-License-Identifier: Apache-2.0 */
/* Rules as data (issue 7): an EQL sequence query or a Sigma correlation,
 * compiled into an expression tree over the decoded Event plus the
 * sequence parameters (by key, maxspan, runs).  lib/rule.c holds the tree,
 * its evaluation and the EQL parser; lib/sigma.c builds the same tree from
 * a Sigma rule read with libyaml.  Never installed. */
#ifndef T1071_RULE_H
#define T1071_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input/event.h"
#include "input/fields.h"
#include "util/addr.h"

/* The longest sequence a rule may ask for (runs). */
#define T1071I_MAX_RUNS 1000

/* Bounds for hostile rule text: bytes, nesting depth, tree nodes,
 * literals in one list. */
#define T1071I_RULE_MAX_BYTES 65536
#define T1071I_RULE_MAX_DEPTH 48
#define T1071I_RULE_MAX_NODES 4096
#define T1071I_RULE_MAX_LIST 1024

/* maxspan when the query names none: longer than any two timestamps the
 * engine accepts (1970..9999) are apart. */
#define T1071I_MAXSPAN_UNBOUNDED INT64_C(253402300800000)

enum t1071i_ftype { T1071I_FT_STR, T1071I_FT_IP, T1071I_FT_NUM };

struct t1071i_fdesc;

enum t1071i_nkind {
    T1071I_N_TRUE,
    T1071I_N_FALSE,
    T1071I_N_AND,    /* kids[] */
    T1071I_N_OR,     /* kids[] */
    T1071I_N_NOT,    /* kids[0] */
    T1071I_N_EQ,     /* any value equal to any literal (==, in): exact */
    T1071I_N_LIKE,   /* any value matching any pattern (:, Sigma strings) */
    T1071I_N_EXISTS, /* at least one value (!= null) */
    T1071I_N_CIDR,   /* any parseable address in any range (cidrmatch) */
};

/* A literal: text (N_EQ on strings, N_LIKE patterns), number, address. */
struct t1071i_lit {
    char *s;        /* N_EQ on strings: the text */
    size_t len;
    uint32_t *cp;   /* N_LIKE: the pattern's code points (folded unless cased) */
    uint8_t *wild;  /* N_LIKE: per code point, 1 = '*', 2 = '?', 0 = literal */
    size_t n_cp;
    int64_t num;
    uint8_t ip[16];
};

struct t1071i_node {
    enum t1071i_nkind kind;
    bool cased;                      /* N_LIKE: case-sensitive (Sigma |cased) */
    const struct t1071i_fdesc *f;
    struct t1071i_node **kids;
    size_t n_kids;
    struct t1071i_lit *lits;
    size_t n_lits;
    struct t1071i_cidr *cidrs;
    size_t n_cidrs;
};

struct t1071i_rule {
    struct t1071i_node *root;
    size_t n_nodes;
    uint32_t runs;
    int64_t maxspan_ms;
    bool has_maxspan;
    enum t1071i_field key_fields[T1071I_MAX_KEY_FIELDS];
    size_t n_key_fields;
    bool has_port_hint;             /* destination.port literals seen */
    uint8_t port_hint[65536 / 8];
    char *direction_hint;           /* the one network.direction every match has, or "" */
    char *lang;                     /* "eql" or "sigma" */
    char *name, *id, *severity;     /* from a Sigma rule; NULL otherwise */
};

/* Field table lookups. */
const struct t1071i_fdesc *t1071i_rule_field(const char *name);
enum t1071i_ftype t1071i_fdesc_type(const struct t1071i_fdesc *f);
const char *t1071i_fdesc_name(const struct t1071i_fdesc *f);

/* Tree building, shared by both front ends.  Every constructor counts the
 * node in @p r (NULL when r->n_nodes reached T1071I_RULE_MAX_NODES). */
struct t1071i_node *t1071i_node_new(struct t1071i_rule *r, enum t1071i_nkind kind);
bool t1071i_node_add_kid(struct t1071i_node *n, struct t1071i_node *kid);
void t1071i_node_free(struct t1071i_node *n);
/* Fill a literal for field @p f from text; false (and @p err) when the
 * text is no value of that field's type ("80x" for destination.port). */
bool t1071i_lit_from_text(const struct t1071i_fdesc *f, const char *s, size_t len,
                          struct t1071i_lit *lit, char *err, size_t errlen);
/* A pattern literal from @p len bytes of @p s: @p wild[i] marks the byte
 * at i as a wildcard, 1 '*' or 2 '?' (may be NULL: none).  Matching goes by
 * code point; unless @p cased, both sides are case-folded (Unicode simple
 * lowercase, as Elasticsearch's case-insensitive term and wildcard
 * queries).  Bytes that are not UTF-8 match only themselves. */
bool t1071i_lit_pattern(struct t1071i_lit *lit, const char *s, const uint8_t *wild, size_t len,
                        bool cased);
/* Finish a compiled rule: category conjunct, cidrmatch conjuncts last,
 * port hint.  @p category NULL or "any" = none. */
int t1071i_rule_finish(struct t1071i_rule *r, const char *category, char *err, size_t errlen);

/* Compile rule text: EQL, or Sigma when the text is YAML (detected by
 * content).  Returns T1071_OK, T1071_E_RULE (err says what and where:
 * "line L, column C: ..."), T1071_E_NOMEM. */
int t1071i_rule_compile(const char *text, struct t1071i_rule **out, char *err, size_t errlen);
/* The EQL and Sigma front ends. */
int t1071i_rule_compile_eql(const char *text, struct t1071i_rule **out, char *err,
                            size_t errlen);
int t1071i_rule_compile_sigma(const char *text, struct t1071i_rule **out, char *err,
                              size_t errlen);
void t1071i_rule_free(struct t1071i_rule *r);

/* What the filter extracts from a passing event. */
struct t1071i_match {
    int64_t port;          /* first destination.port value in the port set */
    int ip_index;          /* index of the first parseable destination.ip, -1 if none */
    bool ip_is_v4;
    uint8_t ip[16];
    uint32_t malformed_ips;
};

/* Evaluate on an event; fills @p m like t1071i_filter_match. */
bool t1071i_rule_match(const struct t1071i_rule *r, const t1071i_event *ev,
                       struct t1071i_match *m);

#endif /* T1071_RULE_H */
