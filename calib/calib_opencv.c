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

static yaml_node_t *first_of(yaml_document_t *doc, yaml_node_t *root, const char *const *keys, const char **used)
{
    for (; *keys; keys++) {
        yaml_node_t *n = calib_yaml_get(doc, root, *keys);
        if (n) {
            *used = *keys;
            return n;
        }
    }
    return NULL;
}

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
    const char *kk = k_K[0], *kd = k_D[0], *kw = k_W[0], *kh = k_H[0];
    avt_camera *c = calib_add_camera(rig, path, err);
    if (!c) {
        rc = AVT_NOMEM;
        goto out;
    }
    const char *name = calib_yaml_scalar(calib_yaml_get(&doc, root, "camera_name"));
    snprintf(c->name, sizeof c->name, "%s", name && *name ? name : "camera");
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "none");
    rig->lidar_T_ego = avt_tf_identity();
    if ((rc = calib_yaml_uint(first_of(&doc, root, k_W, &kw), path, kw, &c->width, err))) goto out;
    if ((rc = calib_yaml_uint(first_of(&doc, root, k_H, &kh), path, kh, &c->height, err))) goto out;
    if ((rc = calib_yaml_numbers(&doc, first_of(&doc, root, k_K, &kk), path, kk, c->K, 9, 9, NULL, err))) goto out;
    double d[AVT_MAX_DIST];
    int nd = 0;
    yaml_node_t *dn = first_of(&doc, root, k_D, &kd);
    if (dn && (rc = calib_yaml_numbers(&doc, dn, path, kd, d, 0, AVT_MAX_DIST, &nd, err))) goto out;
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
