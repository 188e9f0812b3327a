/* avtruth quality, private: the output-file reader shared by labelset.c and eval. */
#ifndef AVT_QUALITY_PRIVATE_H
#define AVT_QUALITY_PRIVATE_H

#include "avtruth/quality.h"

/* A label file attaches to the sweep nearest in time within 5 ms (docs/drive-log.md). */
#define QUALITY_TIME_TOL_NS 5000000LL

/* Reads /frames/timestamp_ns, /frames/box_offset and /boxes3d of an output file into s (one
 * frame per sweep; paths all the file). */
int quality_h5_load_boxes(const char *path, avt_label_set *s, avt_error *err);

/* The /meta/schema text of an output file (*text malloc'ed, NULL with len 0 when absent). */
int quality_h5_schema_text(const char *path, char **text, size_t *len, avt_error *err);

/* KITTI's occlusion level from a visibility fraction (FORMAT.md boxes2d/visibility):
 * >= 0.9 fully visible (0), >= 0.5 partly (1), else largely occluded (2). */
static inline int quality_occlusion_level(double visibility)
{
    return visibility >= 0.9 ? 0 : visibility >= 0.5 ? 1 : 2;
}

#endif
