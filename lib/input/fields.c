/* SPDX-License-Identifier: Apache-2.0 */
/* The fields a join key may use: their ECS names. */
#include <string.h>

#include "input/fields.h"

static const char *const field_names[T1071I_F__COUNT] = {
    [T1071I_F_PROCESS_ENTITY_ID] = "process.entity_id",
    [T1071I_F_PROCESS_NAME] = "process.name",
    [T1071I_F_PROCESS_EXECUTABLE] = "process.executable",
    [T1071I_F_HOST_ID] = "host.id",
    [T1071I_F_HOST_NAME] = "host.name",
    [T1071I_F_SOURCE_IP] = "source.ip",
    [T1071I_F_USER_NAME] = "user.name",
};

const char *
t1071i_field_name(enum t1071i_field f)
{
    return (unsigned)f < T1071I_F__COUNT ? field_names[f] : "?";
}

bool
t1071i_key_field(const char *name, enum t1071i_field *out)
{
    for (int f = 0; f < T1071I_F__COUNT; f++) {
        if (!strcmp(t1071i_field_name((enum t1071i_field)f), name)) {
            *out = (enum t1071i_field)f;
            return true;
        }
    }
    return false;
}
