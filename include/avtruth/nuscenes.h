/* avtruth labels: import of nuScenes-style annotations (nuScenes devkit schema, tables
 * sample.json, sample_annotation.json, instance.json, category.json, attribute.json) into a
 * drive log's label files. docs/schema.md "nuScenes import". */
#ifndef AVTRUTH_NUSCENES_H
#define AVTRUTH_NUSCENES_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"

typedef struct avt_nuscenes_stats {
    uint64_t samples, boxes;
    uint64_t skipped;             /* annotations of categories outside the detection classes */
    char first_skipped[64];       /* the first such category, for messages */
} avt_nuscenes_stats;

/* Writes log_dir/labels/<t_ns>.json for every sample of tables_dir (t = the sample's timestamp
 * in microseconds x 1000), and log_dir/schema.yaml = the shipped nuscenes schema when the log
 * has none. Boxes (global frame: translation, size [w, l, h], rotation [w, x, y, z]) are moved
 * to the LiDAR frame with the log's poses.csv (its world = nuScenes' global frame) and
 * calib.yaml's lidar_T_ego; the category maps to a detection class through the schema's aliases
 * (other categories are skipped and counted); attribute tokens become attribute names; the
 * track id is the instance's row in instance.json; the velocity is the devkit's box_velocity
 * (centre difference of the previous and next annotations of the instance, none when they are
 * more than 1.5 s, or 3 s for both, apart) rotated into the LiDAR axes. Errors name the table,
 * the record and the key. Not thread-safe with respect to log_dir. */
int avt_import_nuscenes(const char *tables_dir, const char *log_dir, avt_nuscenes_stats *stats, avt_error *err);

#endif
