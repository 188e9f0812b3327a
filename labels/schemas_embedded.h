/* avtruth labels: the shipped schemas (schemas/NAME.yaml) compiled in by cmake/embed.cmake
 * (private to the labels stage). */
#ifndef AVTRUTH_SCHEMAS_EMBEDDED_H
#define AVTRUTH_SCHEMAS_EMBEDDED_H

#include <stddef.h>

typedef struct avt_embedded_schema {
    const char *name; /* the file's stem: "default", "kitti", "nuscenes" */
    const char *text; /* NUL-terminated */
    size_t len;
} avt_embedded_schema;

extern const avt_embedded_schema AVT_EMBEDDED_SCHEMAS[];
extern const size_t AVT_N_EMBEDDED_SCHEMAS;

#endif
