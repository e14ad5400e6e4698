/* SPDX-License-Identifier: Apache-2.0 */
/* The fields a join key may use (lib/input/fields.c).  Internal. */
#ifndef T1071_INPUT_FIELDS_H
#define T1071_INPUT_FIELDS_H

#include <stdbool.h>

#define T1071I_MAX_KEY_FIELDS 4

enum t1071i_field {
    T1071I_F_PROCESS_ENTITY_ID = 0,
    T1071I_F_PROCESS_NAME,
    T1071I_F_PROCESS_EXECUTABLE,
    T1071I_F_HOST_ID,
    T1071I_F_HOST_NAME,
    T1071I_F_SOURCE_IP,
    T1071I_F_USER_NAME,
    T1071I_F__COUNT
};

/* The ECS name of @p f ("process.entity_id"). */
const char *t1071i_field_name(enum t1071i_field f);
/* The key field named @p name; false when the engine cannot key on it. */
bool t1071i_key_field(const char *name, enum t1071i_field *out);

#endif /* T1071_INPUT_FIELDS_H */
