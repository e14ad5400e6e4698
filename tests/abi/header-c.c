/* SPDX-License-Identifier: Apache-2.0 */
/* Build-only check of the public header under a strict C standard
 * (-std=c99 or -std=c11, -pedantic -Werror): it is included twice (guard),
 * and every declaration is used.  Exits 0 when the header's version macros
 * agree with the library it links. */
#include <t1071/t1071detect.h>
#include <t1071/t1071detect.h>

#include <stdio.h>
#include <string.h>

#ifndef T1071_ABI_STD
#define T1071_ABI_STD "?"
#endif

typedef void (*any_fn)(void);

int
main(void)
{
    /* Every public function, by address: a wrong prototype fails here. */
    const any_fn fns[] = {
        (any_fn)t1071_version_number,   (any_fn)t1071_version_string,
        (any_fn)t1071_strerror,         (any_fn)t1071_config_new,
        (any_fn)t1071_config_free,      (any_fn)t1071_config_set,
        (any_fn)t1071_config_get,       (any_fn)t1071_config_load_file,
        (any_fn)t1071_config_load_data, (any_fn)t1071_config_errmsg,
        (any_fn)t1071_init,             (any_fn)t1071_free,
        (any_fn)t1071_errmsg,           (any_fn)t1071_feed_event,
        (any_fn)t1071_feed_batch,       (any_fn)t1071_feed_json,
        (any_fn)t1071_advance,          (any_fn)t1071_event_shard,
        (any_fn)t1071_poll_alerts,      (any_fn)t1071_alert_batch_count,
        (any_fn)t1071_alert_batch_get,  (any_fn)t1071_alert_batch_get_json,
        (any_fn)t1071_alert_batch_free, (any_fn)t1071_event_from_json,
        (any_fn)t1071_buffer_data,      (any_fn)t1071_buffer_size,
        (any_fn)t1071_buffer_free,      (any_fn)t1071_stat_name,
        (any_fn)t1071_stats_get,        (any_fn)t1071_config_set_rule,
        (any_fn)t1071_config_add_rule,  (any_fn)t1071_config_rule_count,
        (any_fn)t1071_prevalence_export, (any_fn)t1071_prevalence_merge,
        (any_fn)t1071_event_from_json_as,
        (any_fn)t1071_key_history,
        (any_fn)t1071_feed_msgpack,     (any_fn)t1071_event_from_msgpack,
    };
    const int codes[] = {T1071_OK,          T1071_E_INVALID_ARG, T1071_E_NOMEM,
                         T1071_E_DECODE,    T1071_E_TOO_LARGE,   T1071_E_TRUNCATED,
                         T1071_E_QUEUE_FULL, T1071_E_STATE,      T1071_E_UNKNOWN_KEY,
                         T1071_E_TIMESTAMP, T1071_E_IO,          T1071_E_JSON,
                         T1071_E_RANGE,     T1071_E_SNAPSHOT,    T1071_E_VERSION,
                         T1071_E_RULE,      T1071_E_UNSUPPORTED};
    enum t1071_stat last = T1071_STAT_MEMORY_PEAK_BYTES;
    t1071_config *cfg = NULL;
    t1071_ctx *ctx = NULL;
    t1071_alert_batch *batch = NULL;
    t1071_buffer *buf = NULL;
    char want[32];
    size_t i;

    for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (!fns[i])
            return 1;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i] != -(int)i)
            return 2;
    if (T1071_MAX_EVENT_BYTES != 1048576u || (int)last < 1)
        return 3;
    (void)cfg;
    (void)ctx;
    (void)batch;
    (void)buf;
    sprintf(want, "%d.%d.%d", T1071_VERSION_MAJOR, T1071_VERSION_MINOR, T1071_VERSION_PATCH);
    if (t1071_version_number() != (unsigned)T1071_VERSION_NUMBER ||
        strcmp(t1071_version_string(), want) != 0) {
        fprintf(stderr, "[%s] header %s (%d), library %s (%u)\n", T1071_ABI_STD, want,
                T1071_VERSION_NUMBER, t1071_version_string(), t1071_version_number());
        return 4;
    }
    /* Stats are appended, never renumbered: the lateness gauge (issue 12)
     * comes after every older id and the library names it. */
    {
        enum t1071_stat lat = T1071_STAT_LATENESS_MAX_MS;
        if ((int)lat <= (int)T1071_STAT_ALERTS_SUPPRESSED || T1071_STAT_ALERTS_SUPPRESSED != 27 ||
            !t1071_stat_name((int)lat) || strcmp(t1071_stat_name((int)lat), "lateness_max_ms") != 0)
            return 5;
    }
    return 0;
}
