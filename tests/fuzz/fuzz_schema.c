/* Fuzz target: annotation schema YAML (labels/schema.c) and the lookups over what it parsed. */
#include <stddef.h>
#include <stdint.h>

#include "avtruth/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avt_schema s;
    avt_error err;
    if (avt_schema_parse((const char *)data, size, "fuzz.yaml", &s, &err) != AVT_OK) return 0;
    for (size_t i = 0; i < s.n_classes; i++) {
        if (avt_schema_class_find(&s, s.classes[i].name) != &s.classes[i]) __builtin_trap();
        if (avt_schema_class_by_id(&s, s.classes[i].id) != &s.classes[i]) __builtin_trap();
    }
    for (size_t i = 0; i < s.n_attributes; i++)
        if (avt_schema_attribute_bit(&s, s.attribute_names[i]) != (int)i) __builtin_trap();
    avt_schema_free(&s);
    return 0;
}
