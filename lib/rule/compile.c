/* SPDX-License-Identifier: Apache-2.0 */
/* Compiling rule text: EQL or Sigma, told apart by content. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "rule/rule.h"

/* ===== Entry point ===== */

/* YAML (Sigma) or EQL, by content: EQL starts with a keyword after
 * comments; a Sigma rule is a YAML mapping ("title:", "---", "# ..."). */
static bool
looks_like_yaml(const char *s)
{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        if (s[0] == '/' && (s[1] == '/' || s[1] == '*'))
            return false;
        if (*s == '#' || !strncmp(s, "---", 3) || !strncmp(s, "%YAML", 5))
            return true;
        break;
    }
    /* KEY: at the start of the first line. */
    while (*s && (g_ascii_isalnum(*s) || *s == '_' || *s == '@' || *s == '.' || *s == '-'))
        s++;
    return *s == ':' && (s[1] == ' ' || s[1] == '\n' || s[1] == '\r' || s[1] == '\0');
}

int
t1071i_rule_compile(const char *text, struct t1071i_rule **out, char *err, size_t errlen)
{
    size_t len;

    *out = NULL;
    if (!text) {
        snprintf(err, errlen, "rule text is NULL");
        return T1071_E_INVALID_ARG;
    }
    len = strlen(text);
    if (len > T1071I_RULE_MAX_BYTES) {
        snprintf(err, errlen, "rule text longer than %d bytes", T1071I_RULE_MAX_BYTES);
        return T1071_E_RULE;
    }
    if (looks_like_yaml(text))
        return t1071i_rule_compile_sigma(text, out, err, errlen);
    return t1071i_rule_compile_eql(text, out, err, errlen);
}
