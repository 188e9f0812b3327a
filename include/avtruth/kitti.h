/* avtruth KITTI object benchmark: label_2 files (devkit_object readme, "Data Format
 * Description") and import of a KITTI object layout into a drive log (docs/calibration.md). */
#ifndef AVTRUTH_KITTI_H
#define AVTRUTH_KITTI_H

#include <stddef.h>

#include "avtruth/common.h"
#include "avtruth/geom.h"
#include "avtruth/labels.h"
#include "avtruth/project.h"

/* One line of a label_2 file. Location is the bottom centre of the box in rectified camera-0
 * coordinates (x right, y down, z forward); dimensions are height, width, length; rotation_y
 * turns the length axis about the camera's y axis (ry = 0: length along +x). */
typedef struct avt_kitti_object {
    char type[24];      /* Car, Van, Truck, Pedestrian, Person_sitting, Cyclist, Tram, Misc, DontCare */
    double truncated;   /* 0..1 */
    int occluded;       /* 0 visible, 1 partly, 2 largely occluded, 3 unknown; -1 DontCare */
    double alpha;
    double bbox[4];     /* left, top, right, bottom (pixels, 0-based) */
    double h, w, l;
    double loc[3];
    double ry;
} avt_kitti_object;

/* Parses label_2 text (15 fields per line; a 16th score field is accepted). Errors name the
 * file, line and field. *objs is malloc'ed; caller frees. */
int avt_kitti_labels_parse(const char *text, size_t len, const char *path, avt_kitti_object **objs, size_t *n,
                           avt_error *err);
int avt_kitti_labels_load(const char *path, avt_kitti_object **objs, size_t *n, avt_error *err);

/* The box in a target frame given target_T_rect: exact oriented box (any rotation). */
void avt_kitti_object_box(const avt_kitti_object *o, const avt_tf *target_T_rect, avt_obox *box);
/* The box as a drive-log label in the LiDAR frame (center, size l/w/h, yaw about LiDAR z). The
 * label format has yaw only, so the small tilt between the camera's y axis and LiDAR z
 * (0.85 degree on the KITTI object frames tested) is dropped: the returned tilt_rad says by
 * how much (docs/calibration.md "KITTI import"). class_id is -1: the type is the name of a class of
 * the KITTI schema (schemas/kitti.yaml), mapped by the caller's schema. */
void avt_kitti_object_label(const avt_kitti_object *o, const avt_tf *lidar_T_rect, avt_label_box *lb,
                            double *tilt_rad);

/* The inverse of avt_kitti_object_label, for label_2 export: a box in the LiDAR frame (center,
 * size l/w/h, yaw about LiDAR z) as a KITTI object of the camera cam_T_lidar: location = the
 * centre in camera coordinates moved down (+y) by h/2, rotation_y of the length axis seen in
 * the camera's x-z plane (ry = atan2(-d_z, d_x)), alpha = ry - atan2(x, z) wrapped to
 * [-pi, pi). type, truncated, occluded and bbox are the caller's. */
void avt_kitti_object_from_box(const double center[3], const double size[3], double yaw, const avt_tf *cam_T_lidar,
                               avt_kitti_object *o);
/* KITTI's occlusion level from a visible fraction (FORMAT.md boxes2d/visibility): >= 0.75 -> 0
 * fully visible, >= 0.25 -> 1 partly occluded, > 0 -> 2 largely occluded, else (0, NaN) 3
 * unknown. */
int avt_kitti_occlusion(double visibility);
/* Appends objects as label_2 lines (15 fields; pixels with 2 decimals, 3D with 4) to out. */
void avt_kitti_labels_format(const avt_kitti_object *o, size_t n, avt_sbuf *out);

/* Imports a KITTI object layout SRC (calib/, velodyne/, image_2/, label_2/ optional) into drive
 * logs (docs/calibration.md "KITTI import"): frames are ordered by id and given synthetic times
 * 0.1 s apart; labels keep every KITTI type through the KITTI schema (log.yaml `schema: kitti`),
 * DontCare as ignore regions of camera image_2. Frames with identical calibration files share one log; when all frames share one
 * calibration DST is that log, otherwise DST/<first id of the group>/ is one log per group.
 * Not thread-safe with respect to DST (writes files). */
int avt_import_kitti(const char *src_dir, const char *dst_dir, avt_error *err);

#endif
