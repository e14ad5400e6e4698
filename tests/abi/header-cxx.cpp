// SPDX-License-Identifier: Apache-2.0
// Build-only check of the public header as C++ (-pedantic -Werror): C
// linkage, no C-only constructs.  Exits 0 when the header's version macros
// agree with the library it links.
#include <t1071/t1071detect.h>
#include <t1071/t1071detect.h>

#include <cstdio>
#include <cstring>

int
main()
{
    int (*init)(t1071_ctx **, const t1071_config *) = &t1071_init;
    void (*fr)(t1071_ctx *) = &t1071_free;
    int (*feed)(t1071_ctx *, const uint8_t *, size_t) = &t1071_feed_event;
    int (*get)(const t1071_alert_batch *, size_t, const uint8_t **, size_t *) =
        &t1071_alert_batch_get;
    int (*getj)(t1071_alert_batch *, size_t, const char **, size_t *) =
        &t1071_alert_batch_get_json;
    int (*add)(t1071_config *, const char *, const char *) = &t1071_config_add_rule;
    int (*pexp)(const t1071_ctx *, uint64_t, t1071_buffer **, uint64_t *) =
        &t1071_prevalence_export;
    int (*pmerge)(t1071_ctx *, const uint8_t *, size_t) = &t1071_prevalence_merge;
    t1071_stat s = T1071_STAT_EVENTS_LATE;
    char want[32];

    if (!init || !fr || !feed || !get || !getj || !add || !pexp || !pmerge || s != 11)
        return 1;
    if (std::strcmp(t1071_strerror(T1071_E_QUEUE_FULL), t1071_strerror(12345)) == 0)
        return 2;
    std::snprintf(want, sizeof(want), "%d.%d.%d", T1071_VERSION_MAJOR, T1071_VERSION_MINOR,
                  T1071_VERSION_PATCH);
    if (t1071_version_number() != static_cast<unsigned>(T1071_VERSION_NUMBER) ||
        std::strcmp(t1071_version_string(), want) != 0)
        return 3;
    return 0;
}
