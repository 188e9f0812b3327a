/* avtruth calibration: ROS sensor_msgs/CameraInfo calibration YAML, as written by
 * camera_calibration_parsers (image_width, image_height, camera_name, camera_matrix,
 * distortion_model, distortion_coefficients, rectification_matrix, projection_matrix; matrices
 * as {rows, cols, data}) or as the echoed message (width, height, K, D, R, P).
 * distortion_model: plumb_bob (k1 k2 p1 p2 k3), rational_polynomial (k1 k2 p1 p2 k3 k4 k5 k6),
 * equidistant (fisheye k1..k4; ROS 2 / image_pipeline). The camera is the raw (unrectified)
 * camera described by K and D; R and P describe its rectified view and are not used. CameraInfo
 * holds no extrinsics: the camera frame is the rig's reference frame (lidar_T_cam = identity). */
#include <stdio.h>
#include <string.h>

#include "calib_private.h"

/* The first of two alternative keys present. */
static yaml_node_t *get2(yaml_document_t *doc, yaml_node_t *root, const char *a, const char *b, const char **used)
{
    yaml_node_t *n = calib_yaml_get(doc, root, a);
    *used = a;
    if (!n) {
        n = calib_yaml_get(doc, root, b);
        if (n) *used = b;
    }
    return n;
}

int calib_load_ros(const char *path, avt_rig *rig, avt_error *err)
{
    yaml_document_t doc;
    int rc;
    memset(rig, 0, sizeof *rig);
    if ((rc = calib_yaml_load(path, &doc, err))) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    const char *kw = "image_width", *kh = "image_height", *kk = "camera_matrix", *kd = "distortion_coefficients";
    avt_camera *c = calib_add_camera(rig, path, err);
    if (!c) {
        rc = AVT_NOMEM;
        goto out;
    }
    const char *name = calib_yaml_scalar(calib_yaml_get(&doc, root, "camera_name"));
    snprintf(c->name, sizeof c->name, "%s", name && *name ? name : "camera");
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "none");
    rig->lidar_T_ego = avt_tf_identity();
    if ((rc = calib_yaml_uint(get2(&doc, root, "image_width", "width", &kw), path, kw, &c->width, err))) goto out;
    if ((rc = calib_yaml_uint(get2(&doc, root, "image_height", "height", &kh), path, kh, &c->height, err))) goto out;
    if ((rc = calib_yaml_numbers(&doc, get2(&doc, root, "camera_matrix", "K", &kk), path, kk, c->K, 9, 9, NULL, err)))
        goto out;
    const char *model = calib_yaml_scalar(calib_yaml_get(&doc, root, "distortion_model"));
    double d[AVT_MAX_DIST];
    int nd = 0;
    yaml_node_t *dn = get2(&doc, root, "distortion_coefficients", "D", &kd);
    if (dn && (rc = calib_yaml_numbers(&doc, dn, path, kd, d, 0, AVT_MAX_DIST, &nd, err))) goto out;
    if (!model)
        model = nd ? "plumb_bob" : "none";
    if (nd == 0) model = "none"; /* simulators publish plumb_bob with an empty D */
    if (strcmp(model, "plumb_bob") == 0 && nd != 5 && nd != 4) {
        rc = avt_err(err, AVT_FORMAT, "%s: %s: plumb_bob takes 5 coefficients, got %d", path, kd, nd);
        goto out;
    }
    if ((rc = calib_set_distortion(c, model, d, nd, path, kd, err))) goto out;
    snprintf(rig->source, sizeof rig->source, "%s (ROS camera_info YAML)", path);
    rc = avt_rig_validate(rig, path, err);
out:
    yaml_document_delete(&doc);
    if (rc) avt_rig_free(rig);
    return rc;
}
