/* SPDX-License-Identifier: Apache-2.0 */
/* Small public pieces: version, status strings, stat names, the
 * JSON-to-protobuf encoder. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "input/ecs-json.h"
#include "util/buffer.h"
#include "util/status.h"
#include "input/shapes.h"

T1071_API unsigned
t1071_version_number(void)
{
    return T1071_VERSION_NUMBER;
}

T1071_API const char *
t1071_version_string(void)
{
    return T1071_VERSION_STRING_RUNTIME;
}

T1071_API const char *
t1071_strerror(int status)
{
    return t1071i_strerror(status);
}

static const char *const stat_names[] = {
    [T1071_STAT_RECORDS_IN] = "records_in",
    [T1071_STAT_EVENTS_DECODED] = "events_decoded",
    [T1071_STAT_EVENTS_MATCHED] = "events_matched",
    [T1071_STAT_EVENTS_FILTERED] = "events_filtered",
    [T1071_STAT_EVENTS_NO_KEY] = "events_no_key",
    [T1071_STAT_ERR_DECODE] = "errors_decode",
    [T1071_STAT_ERR_TOO_LARGE] = "errors_too_large",
    [T1071_STAT_ERR_TRUNCATED] = "errors_truncated",
    [T1071_STAT_ERR_JSON] = "errors_json",
    [T1071_STAT_ERR_TIMESTAMP] = "errors_timestamp",
    [T1071_STAT_MALFORMED_IP] = "malformed_ips",
    [T1071_STAT_EVENTS_LATE] = "events_late",
    [T1071_STAT_EVENTS_SUSPECT] = "events_suspect_future",
    [T1071_STAT_SUSPECT_DROPPED] = "events_suspect_dropped",
    [T1071_STAT_QUEUE_FULL] = "queue_full_refusals",
    [T1071_STAT_ALERTS] = "alerts_emitted",
    [T1071_STAT_ALERTS_POLLED] = "alerts_polled",
    [T1071_STAT_ALERTS_QUEUED] = "alerts_queued",
    [T1071_STAT_KEYS] = "keys_tracked",
    [T1071_STAT_HOSTS] = "hosts_tracked",
    [T1071_STAT_EVENTS_BUFFERED] = "events_buffered",
    [T1071_STAT_KEYS_EXPIRED] = "keys_expired",
    [T1071_STAT_MEMORY_BYTES] = "memory_bytes",
    [T1071_STAT_MEMORY_PEAK_BYTES] = "memory_peak_bytes",
    [T1071_STAT_KEYS_EVICTED] = "keys_evicted",
    [T1071_STAT_EVENTS_DROPPED_MEMORY] = "events_dropped_memory",
    [T1071_STAT_KEY_VALUES_DROPPED] = "key_values_dropped",
    [T1071_STAT_ALERTS_SUPPRESSED] = "alerts_suppressed",
    [T1071_STAT_LATENESS_MAX_MS] = "lateness_max_ms",
    [T1071_STAT_RECORDS_ECS] = "records_ecs",
    [T1071_STAT_RECORDS_SURICATA] = "records_suricata",
    [T1071_STAT_RECORDS_SYSMON] = "records_sysmon",
    [T1071_STAT_RECORDS_ZEEK] = "records_zeek",
    [T1071_STAT_RECORDS_UNRECOGNISED] = "records_unrecognised",
    [T1071_STAT_RECORDS_NO_TIME] = "records_no_time",
    [T1071_STAT_RECORDS_NOT_NETWORK] = "records_not_network",
    [T1071_STAT_EVENTS_NETWORK] = "events_network",
};

_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == T1071I_STAT_COUNT,
               "stat_names must name every T1071_STAT_* value, and T1071I_STAT_COUNT "
               "(lib/engine/engine.h) must follow the enum");

T1071_API const char *
t1071_stat_name(int id)
{
    if (id < 0 || (size_t)id >= sizeof(stat_names) / sizeof(stat_names[0]))
        return NULL;
    return stat_names[id];
}

T1071_API int
t1071_event_from_json(const char *json, size_t len, uint64_t record_number,
                      t1071_buffer **out)
{
    return t1071_event_from_json_as(json, len, record_number, NULL, out);
}

T1071_API int
t1071_event_from_json_as(const char *json, size_t len, uint64_t record_number,
                         const char *source, t1071_buffer **out)
{
    uint8_t *block = NULL;
    size_t n = 0;
    int rc, src = source ? t1071i_source_parse(source) : T1071I_SOURCE_AUTO;

    if (out)
        *out = NULL;
    if (!out || (!json && len) || src < 0)
        return T1071_E_INVALID_ARG;
    if (len > T1071I_JSON_MAX_BYTES)
        return T1071_E_TOO_LARGE;
    rc = t1071i_json_to_packed_as(json ? json : "", len, src, record_number,
                                  T1071_MAX_EVENT_BYTES, &block, &n,
                                  offsetof(struct t1071_buffer, data));
    if (rc != T1071_OK)
        return rc;
    ((struct t1071_buffer *)(void *)block)->len = n;
    *out = (struct t1071_buffer *)(void *)block;
    return T1071_OK;
}
