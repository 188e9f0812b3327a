/* avtruth calibration: OpenCV FileStorage YAML (cv::FileStorage, "%YAML:1.0" header, matrices
 * as "!!opencv-matrix" mappings {rows, cols, dt, data}), as written by OpenCV's calibration
 * sample: image_width, image_height, camera_matrix, distortion_coefficients (also accepted:
 * cameraMatrix/K, distCoeffs/D). Optional: camera_name; distortion_model ("fisheye" /
 * "equidistant" for cv::fisheye, else the pinhole model with 4/5/8/12/14 coefficients) or the
 * sample's fisheye_model: 1; lidar_T_cam (4x4, camera -> reference frame; identity when
 * absent). The "%YAML:1.0" line is not valid YAML 1.1 for libyaml: calib_yaml_load blanks it. */
#include <stdio.h>
#include <string.h>

#include "calib_private.h"

int calib_load_opencv(const char *path, avt_rig *rig, avt_error *err)
{
    static const char *const k_K[] = {"camera_matrix", "cameraMatrix", "K", NULL};
    static const char *const k_D[] = {"distortion_coefficients", "distCoeffs", "dist_coeffs", "D", NULL};
    static const char *const k_W[] = {"image_width", "width", NULL};
    static const char *const k_H[] = {"image_height", "height", NULL};
    yaml_document_t doc;
    int rc;
    memset(rig, 0, sizeof *rig);
    if ((rc = calib_yaml_load(path, &doc, err))) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    static const calib_keys keys = {k_W, k_H, k_K, k_D};
    const char *kd;
    double d[AVT_MAX_DIST];
    int nd = 0;
    if ((rc = calib_yaml_single_camera(&doc, root, path, &keys, rig, d, &nd, &kd, err))) goto out;
    avt_camera *c = &rig->cameras[0];
    const char *model = calib_yaml_scalar(calib_yaml_get(&doc, root, "distortion_model"));
    const char *fe = calib_yaml_scalar(calib_yaml_get(&doc, root, "fisheye_model"));
    if (!model) model = (fe && strcmp(fe, "0") != 0) ? "fisheye" : nd ? "radtan" : "none";
    if ((rc = calib_set_distortion(c, model, d, nd, path, kd, err))) goto out;
    yaml_node_t *ext = calib_yaml_get(&doc, root, "lidar_T_cam");
    if (ext && (rc = calib_yaml_numbers(&doc, ext, path, "lidar_T_cam", c->lidar_T_cam.m, 16, 16, NULL, err)))
        goto out;
    snprintf(rig->source, sizeof rig->source, "%s (OpenCV FileStorage YAML)", path);
    rc = avt_rig_validate(rig, path, err);
out:
    yaml_document_delete(&doc);
    if (rc) avt_rig_free(rig);
    return rc;
}
