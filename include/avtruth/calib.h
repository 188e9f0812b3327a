/* avtruth calibration: the rig (LiDAR mounting and cameras) and its loaders.
 * The project's own calib.yaml format is documented in docs/drive-log.md. */
#ifndef AVTRUTH_CALIB_H
#define AVTRUTH_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"
#include "avtruth/geom.h"

#define AVT_NAME_MAX 64
#define AVT_MAX_DIST 14

enum avt_camera_model { AVT_CAM_PINHOLE = 0, AVT_CAM_FISHEYE = 1 };

typedef struct avt_camera {
    char name[AVT_NAME_MAX];
    int model;                 /* enum avt_camera_model */
    char distortion_model[32]; /* "radtan" (OpenCV k1 k2 p1 p2 [k3 [k4 k5 k6 [s1..s4 [tx ty]]]]),
                                  "equidistant" (fisheye k1..k4), "none" */
    unsigned width, height;
    double K[9];               /* row-major 3x3 */
    double dist[AVT_MAX_DIST];
    int n_dist;
    avt_tf lidar_T_cam;        /* camera (OpenCV axes: x right, y down, z forward) -> LiDAR */
} avt_camera;

typedef struct avt_rig {
    char lidar_model[32];
    avt_tf lidar_T_ego;        /* ego -> LiDAR */
    avt_camera *cameras;
    size_t n_cameras;
    char source[512];          /* what file and format it came from */
} avt_rig;

/* Loads and validates the project's calib.yaml (libyaml). Errors name the file, the key and
 * the value. Caller frees with avt_rig_free. */
int avt_rig_load_yaml(const char *path, avt_rig *rig, avt_error *err);
/* Writes rig as calib.yaml (used by the synthetic generator and tests). */
int avt_rig_save_yaml(const char *path, const avt_rig *rig, avt_error *err);
/* Validates finite values, focal lengths > 0, rigid transforms, image size, principal point
 * inside the image; what names the source for messages. */
int avt_rig_validate(const avt_rig *rig, const char *what, avt_error *err);
void avt_rig_free(avt_rig *rig);

/* The optional per-log settings file log.yaml (docs/drive-log.md). Empty strings / 0 where a
 * key is absent. */
typedef struct avt_log_config {
    char log_id[128];
    char licence[256];
    char lidar_model[32];
    char lidar_source[64];         /* IPv4 source address of the LiDAR's packets */
    char lidar_metadata[512];      /* Ouster metadata JSON, relative to the log directory */
    char lidar_calibration[512];   /* Velodyne calibration (db.xml / ROS YAML), relative */
    uint16_t lidar_data_port;      /* 0: the sensor's default */
    uint16_t lidar_position_port;  /* Velodyne position / Ouster IMU packets; 0: default */
    char schema[512];              /* annotation schema: a shipped name or a path, relative */
} avt_log_config;
/* Loads path; a missing file is not an error (all fields empty). Unknown keys are errors
 * naming the line. */
int avt_log_config_load(const char *path, avt_log_config *cfg, avt_error *err);

/* Loads a calibration in any supported format and validates it (docs/calibration.md):
 *   "avtruth"      calib.yaml (avt_rig_load_yaml)
 *   "kitti-object" KITTI object calib/<id>.txt: cameras image_0..image_3 from P0..P3 (rectified,
 *                  exact pinhole), lidar = Velodyne, ego = IMU; image size from ../image_<i>/<id>.png
 *                  when present, else 1242x375 (noted in rig->source)
 *   "kitti-raw"    a KITTI raw calibration directory (or its calib_cam_to_cam.txt): rectified
 *                  cameras image_00..03 and unrectified image_00_unrect..03 (K, D, R, T)
 *   "ros"          ROS camera_info YAML (plumb_bob, rational_polynomial, equidistant)
 *   "opencv"       OpenCV FileStorage YAML (%YAML:1.0, !!opencv-matrix)
 *   "kalibr"       Kalibr camchain YAML (pinhole, radtan/equidistant)
 *   "auto"/NULL    detected from the file's content (avt_rig_format_detect)
 * Errors name the file, the key and the value. Caller frees with avt_rig_free. Thread-safe. */
int avt_rig_load(const char *path, const char *format, avt_rig *rig, avt_error *err);
/* KITTI object calib/<id>.txt: the rectified camera-0 frame of its labels, R0_rect * Tr_velo_to_cam
 * (rotations re-orthonormalised as in avt_rig_load). */
int avt_kitti_rect_T_velo(const char *path, avt_tf *rect_T_velo, avt_error *err);
/* Name of the detected format (a static string) or NULL with err set. */
const char *avt_rig_format_detect(const char *path, avt_error *err);

#endif
