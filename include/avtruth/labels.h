/* avtruth labels: 3D box annotations (labels/<t_ns>.json), ego poses (poses.csv) and per-point
 * class/instance labels. Formats: docs/drive-log.md; classes and attributes come from the
 * annotation schema (avtruth/schema.h, docs/schema.md). */
#ifndef AVTRUTH_LABELS_H
#define AVTRUTH_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"
#include "avtruth/geom.h"
#include "avtruth/ingest.h"

typedef struct avt_label_box {
    double center[3], size[3], yaw;
    double velocity[3];  /* world velocity in LiDAR axes; NaN when unknown */
    int class_id;        /* the schema's class id */
    int64_t track_id;    /* -1 when the schema does not require one and it is absent */
    uint32_t attributes; /* bit i: the schema's attribute_names[i] */
    double score;        /* detection confidence of a prediction ("score"); NaN when absent */
    int occluded;        /* KITTI occlusion level 0..3 ("occluded"); -1 when absent */
    double truncated;    /* KITTI truncation 0..1 ("truncated"); NaN when absent */
} avt_label_box;

/* An image region whose objects were not labelled (KITTI DontCare): an ignore class of the
 * schema, in one camera, pixels [left, top, right, bottom]. */
typedef struct avt_label_ignore {
    char camera[64];
    int class_id;
    double xyxy[4];
} avt_label_ignore;

typedef struct avt_label_frame {
    int64_t timestamp_ns;
    avt_label_box *boxes;
    size_t n;
    avt_label_ignore *ignore;
    size_t n_ignore;
} avt_label_frame;

/* Loads and validates one label file (jansson) with the default schema; with another schema:
 * avt_label_frame_read (avtruth/validate.h). Errors name the file, the box and the field. */
int avt_label_frame_load(const char *path, avt_label_frame *out, avt_error *err);
void avt_label_frame_free(avt_label_frame *f);

/* Index of the label files of a log: their times from the file names, sorted. .json files not
 * named <t_ns>.json are listed in bad_names (full paths) for validation to report. */
typedef struct avt_label_index {
    int64_t *t_ns;
    char **paths;
    size_t n;
    char **bad_names;
    size_t n_bad;
} avt_label_index;
int avt_label_index_open(const char *log_dir, avt_label_index *idx, avt_error *err); /* no labels/ = empty */
/* The same for a directory of <t_ns>.json files itself; a missing directory is an error. */
int avt_label_index_open_dir(const char *dir, avt_label_index *idx, avt_error *err);
/* Index of the label file nearest to t within tol, or -1. */
long avt_label_index_find(const avt_label_index *idx, int64_t t_ns, int64_t tol_ns);
void avt_label_index_free(avt_label_index *idx);

/* Ego poses world_T_ego. */
typedef struct avt_poses {
    int64_t *t_ns;
    avt_tf *T;
    size_t n;
    char path[512];
} avt_poses;
/* Loads poses.csv (strictly increasing times); a missing file gives n = 0 (identity poses). */
int avt_poses_load(const char *path, avt_poses *p, avt_error *err);
/* world_T_ego at t (interpolated); with no poses the identity. Outside the covered range:
 * AVT_NOTFOUND naming the time. */
int avt_poses_at(const avt_poses *p, int64_t t_ns, avt_tf *out, avt_error *err);
/* avt_poses_at for many times in order, reusing the interpolation between the two poses
 * around the previous time (same results bit for bit). The cursor starts zeroed, belongs to
 * one thread and one avt_poses. */
typedef struct avt_poses_cursor {
    size_t lo;     /* the interval [t_ns[lo], t_ns[lo + 1]] of z */
    int valid;
    avt_tf_slerp z;
} avt_poses_cursor;
int avt_poses_at_cursor(const avt_poses *p, int64_t t_ns, avt_poses_cursor *c, avt_tf *out,
                        avt_error *err);
void avt_poses_free(avt_poses *p);
/* Deskews a sweep to its reference time (labels/motion.c): every point p at its firing time
 * t_p becomes lidar_T_ego W(t_ref)^-1 W(t_p) ego_T_lidar p, written to out (3n floats); with
 * no poses a copy. AVT_NOTFOUND naming the first time the poses do not cover. OpenMP inside;
 * the result does not depend on the number of threads. */
int avt_poses_deskew(const avt_poses *poses, const avt_tf *lidar_T_ego, const avt_sweep *sw, float *out,
                     avt_error *err);

/* Box motion (labels/motion.c). world_T_box at t_ns of a box given in the LiDAR frame at
 * t_label_ns, where the ego pose gave world_T_lidar: the box's rotation and centre moved by its
 * world velocity (when known) over t_ns - t_label_ns. Pure. */
avt_tf avt_label_box_pose(const avt_label_box *lb, const avt_tf *world_T_lidar, int64_t t_label_ns,
                          int64_t t_ns);
/* The box `in` (LiDAR frame at t_label_ns, ego pose world_T_lidar_label) at t_ns in the frame
 * lidar_T_world maps the world to: centre, yaw about that frame's z and velocity; the other
 * fields copied. At t_ns == t_label_ns the box is copied unchanged. Pure; out may not alias in. */
void avt_label_box_move(const avt_label_box *in, const avt_tf *world_T_lidar_label, int64_t t_label_ns,
                        const avt_tf *lidar_T_world, int64_t t_ns, avt_label_box *out);
/* The unit quaternion [w,x,y,z] of a rotation by yaw_rad about +z. */
void avt_yaw_quaternion(double yaw_rad, double q[4]);

/* Per-point labels: for every point the class id and the row of the box containing it.
 * Overlapping boxes: the smallest box (by volume) wins, ties to the lower row. counts[b]
 * receives the number of points assigned to box b. With blocks (avt_point_blocks of xyz, or
 * NULL) each block of points is tested only against the boxes that can reach its bounding
 * box. Thread-safe (OpenMP inside). */
void avt_label_points(const float *xyz, size_t n, const avt_point_blocks *blocks, const avt_label_box *boxes,
                      size_t nb, uint16_t *label, int32_t *instance, uint32_t *counts);

#endif
