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

int calib_load_ros(const char *path, avt_rig *rig, avt_error *err)
{
    yaml_document_t doc;
    int rc;
    memset(rig, 0, sizeof *rig);
    if ((rc = calib_yaml_load(path, &doc, err))) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    static const char *const k_W[] = {"image_width", "width", NULL}, *const k_H[] = {"image_height", "height", NULL};
    static const char *const k_K[] = {"camera_matrix", "K", NULL}, *const k_D[] = {"distortion_coefficients", "D", NULL};
    static const calib_keys keys = {k_W, k_H, k_K, k_D};
    const char *kd;
    double d[AVT_MAX_DIST];
    int nd = 0;
    if ((rc = calib_yaml_single_camera(&doc, root, path, &keys, rig, d, &nd, &kd, err))) goto out;
    avt_camera *c = &rig->cameras[0];
    const char *model = calib_yaml_scalar(calib_yaml_get(&doc, root, "distortion_model"));
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
