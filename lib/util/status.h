/* SPDX-License-Identifier: Apache-2.0 */
/* Status codes in words (lib/util/status.c; t1071_strerror() returns it). */
#ifndef T1071_UTIL_STATUS_H
#define T1071_UTIL_STATUS_H

const char *t1071i_strerror(int status);

#endif /* T1071_UTIL_STATUS_H */
