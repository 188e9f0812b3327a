/* avtruth calibration: one rig from several calibration files of any format, with the LiDAR
 * extrinsics that camera-only formats lack taken from a calib.yaml (docs/calibration.md,
 * "Calibrations from the command line"). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_private.h"

/* Does the format of a loaded file carry the camera's pose in the LiDAR frame? ROS camera_info
 * has no extrinsics, Kalibr's are relative to cam0 or the IMU, and an OpenCV file's only when
 * it holds lidar_T_cam (the loader leaves the identity otherwise). */
static int has_lidar_extrinsics(const char *format, const avt_camera *c)
{
    if (strcmp(format, "ros") == 0 || strcmp(format, "kalibr") == 0) return 0;
    if (strcmp(format, "opencv") == 0) {
        avt_tf id = avt_tf_identity();
        return memcmp(&id, &c->lidar_T_cam, sizeof id) != 0;
    }
    return 1;
}

static const avt_camera *find_camera(const avt_rig *rig, const char *name)
{
    for (size_t i = 0; rig && i < rig->n_cameras; i++)
        if (strcmp(rig->cameras[i].name, name) == 0) return &rig->cameras[i];
    return NULL;
}

int avt_rig_load_combined(const char *const *paths, size_t n, const char *format, const char *extrinsics_yaml,
                          avt_rig *rig, avt_error *err)
{
    memset(rig, 0, sizeof *rig);
    avt_rig ext, one;
    memset(&ext, 0, sizeof ext);
    memset(&one, 0, sizeof one);
    int have_ext = 0, have_lidar = 0, rc = AVT_OK;
    struct stat sb;
    if (n == 0) return avt_err(err, AVT_INVAL, "no calibration file given");
    if (extrinsics_yaml && stat(extrinsics_yaml, &sb) == 0) {
        if ((rc = avt_rig_load_yaml(extrinsics_yaml, &ext, err))) return rc;
        have_ext = 1;
    }
    avt_sbuf src = {0};
    for (size_t f = 0; f < n && !rc; f++) {
        const char *fmt = format && strcmp(format, "auto") != 0 ? format : avt_rig_format_detect(paths[f], err);
        if (!fmt) {
            rc = err ? err->code : AVT_UNSUPPORTED;
            break;
        }
        if ((rc = avt_rig_load(paths[f], fmt, &one, err))) break;
        avt_sbuf_printf(&src, "%s%s (%s)", f ? ", " : "", paths[f], fmt);
        int lidar_here = strcmp(fmt, "avtruth") == 0 || strncmp(fmt, "kitti", 5) == 0;
        if (lidar_here && !have_lidar) {
            memcpy(rig->lidar_model, one.lidar_model, sizeof rig->lidar_model);
            rig->lidar_T_ego = one.lidar_T_ego;
            have_lidar = 1;
        }
        avt_camera *cams = realloc(rig->cameras, (rig->n_cameras + one.n_cameras) * sizeof *cams);
        if (!cams) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            break;
        }
        rig->cameras = cams;
        for (size_t i = 0; i < one.n_cameras && !rc; i++) {
            avt_camera c = one.cameras[i];
            if (find_camera(rig, c.name)) {
                rc = avt_err(err, AVT_INVAL, "%s: camera '%s' is given by an earlier calibration file too", paths[f],
                             c.name);
                break;
            }
            if (!has_lidar_extrinsics(fmt, &c)) {
                const avt_camera *e = find_camera(have_ext ? &ext : NULL, c.name);
                if (!e) {
                    rc = avt_err(err, AVT_NOTFOUND,
                                 "%s: camera '%s': the %s format carries no LiDAR extrinsics and %s has no camera of "
                                 "that name to take lidar_T_cam from",
                                 paths[f], c.name, fmt, extrinsics_yaml && have_ext ? extrinsics_yaml : "no calib.yaml");
                    break;
                }
                c.lidar_T_cam = e->lidar_T_cam;
            }
            rig->cameras[rig->n_cameras++] = c;
        }
        avt_rig_free(&one);
    }
    if (!rc && !have_lidar) {
        if (!have_ext)
            rc = avt_err(err, AVT_NOTFOUND, "%s: no LiDAR model and mounting (lidar_T_ego) in the calibration files and "
                         "no calib.yaml to take them from", paths[0]);
        else {
            memcpy(rig->lidar_model, ext.lidar_model, sizeof rig->lidar_model);
            rig->lidar_T_ego = ext.lidar_T_ego;
        }
    }
    if (!rc) {
        if (have_ext) avt_sbuf_printf(&src, "; LiDAR extrinsics from %s", extrinsics_yaml);
        snprintf(rig->source, sizeof rig->source, "%s", src.p ? src.p : "");
        rc = avt_rig_validate(rig, rig->source, err);
    }
    free(src.p);
    avt_rig_free(&ext);
    if (rc) avt_rig_free(rig);
    return rc;
}
