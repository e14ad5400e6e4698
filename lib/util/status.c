/* SPDX-License-Identifier: Apache-2.0 */
/* What each T1071_* status code means, in words. */
#include "t1071/t1071detect.h"
#include "util/status.h"

const char *
t1071i_strerror(int status)
{
    switch (status) {
    case T1071_OK: return "success";
    case T1071_E_INVALID_ARG: return "invalid argument";
    case T1071_E_NOMEM: return "out of memory";
    case T1071_E_DECODE: return "malformed protobuf event";
    case T1071_E_TOO_LARGE: return "event too large";
    case T1071_E_TRUNCATED: return "length-delimited stream truncated";
    case T1071_E_QUEUE_FULL: return "alert queue full: poll alerts, then retry";
    case T1071_E_STATE: return "call not valid in this state";
    case T1071_E_UNKNOWN_KEY: return "unknown configuration key";
    case T1071_E_TIMESTAMP: return "missing or out-of-range @timestamp";
    case T1071_E_IO: return "file could not be read";
    case T1071_E_JSON: return "malformed JSON";
    case T1071_E_RANGE: return "index out of range";
    case T1071_E_SNAPSHOT: return "snapshot truncated, corrupted or inconsistent";
    case T1071_E_VERSION: return "snapshot written by a newer format version";
    case T1071_E_RULE: return "rule text does not parse or uses unsupported syntax";
    case T1071_E_UNSUPPORTED: return "not supported in this configuration";
    default: return "unknown error";
    }
}
