/* Fuzz target: a label file (labels/validate.c's reader) against the default schema. */
#include <stddef.h>
#include <stdint.h>

#include "avtruth/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static avt_schema s;
    static int have;
    avt_error err;
    avt_label_frame f;
    if (!have && avt_schema_default(&s) == AVT_OK) have = 1;
    if (!have) return 0;
    if (avt_label_frame_parse((const char *)data, size, "fuzz.json", &s, &f, &err) == AVT_OK) {
        for (size_t i = 0; i < f.n; i++)
            if (!(f.boxes[i].size[0] > 0) || !avt_schema_class_by_id(&s, (unsigned)f.boxes[i].class_id)) __builtin_trap();
        avt_label_frame_free(&f);
    }
    return 0;
}
