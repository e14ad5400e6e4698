/* SPDX-License-Identifier: Apache-2.0 */
/* Zeek's ASCII (TSV) log format, read by t1071-replay at stream level: the
 * header lines (#separator, #set_separator, #empty_field, #unset_field,
 * #path, #fields, #types, #open, #close) say how to split the data lines,
 * and each data line becomes one JSON object with Zeek's own field names
 * ("id.orig_h": ...), read by the library as a Zeek record
 * (t1071_event_from_json_as(..., "zeek", ...)).  Format: Zeek's
 * documentation, "Zeek Logs" / logging framework, ASCII writer. */
#ifndef T1071_ZEEK_TSV_H
#define T1071_ZEEK_TSV_H

#include <stdbool.h>
#include <stddef.h>

#define ZEEK_TSV_MAX_FIELDS 256

struct zeek_tsv {
    bool seen_header;      /* any Zeek header line so far */
    char sep;              /* #separator (default tab) */
    char *unset;           /* #unset_field (default "-") */
    char *empty;           /* #empty_field (default "(empty)") */
    char *path;            /* #path, or NULL */
    char *fields[ZEEK_TSV_MAX_FIELDS];
    size_t n_fields;       /* 0 until #fields */
};

void zeek_tsv_init(struct zeek_tsv *z);
void zeek_tsv_free(struct zeek_tsv *z);

/* One '#' line (without its newline).  0, or -1 with a sentence in @p err
 * (a malformed #separator, a #fields line with no or too many names, an
 * empty or duplicate name, a '#' line that is no Zeek header). */
int zeek_tsv_header(struct zeek_tsv *z, const char *line, size_t len, char *err, size_t errlen);

/* One data line as a JSON object (malloc'ed, NUL-terminated, *json_len
 * bytes): unset fields are left out, every other value is a JSON string
 * (\xHH escapes decoded).  0, or -1 with a sentence in @p err (no #fields
 * header yet, a line with another number of columns, out of memory). */
int zeek_tsv_to_json(const struct zeek_tsv *z, const char *line, size_t len, char **json,
                     size_t *json_len, char *err, size_t errlen);

#endif
