/* avtruth calibration: Kalibr camchain YAML (ethz-asl/kalibr wiki, "Yaml formats"):
 *   cam0:
 *     camera_model: pinhole            (omni, ds, eucm are not supported)
 *     intrinsics: [fu, fv, pu, pv]
 *     distortion_model: radtan | equidistant | none
 *     distortion_coeffs: [k1, k2, r1, r2] | [k1, k2, k3, k4]
 *     resolution: [width, height]
 *     T_cam_imu: 4x4 (IMU -> camera; camchain-imucam files)
 *     T_cn_cnm1: 4x4 (camera n-1 -> camera n; cameras after the first)
 * Kalibr's radtan is OpenCV's k1 k2 p1 p2 and equidistant is OpenCV's fisheye model. The rig's
 * reference frame is the IMU when cam0 has T_cam_imu, else cam0. */
#include <stdio.h>
#include <string.h>

#include "calib_private.h"

int calib_load_kalibr(const char *path, avt_rig *rig, avt_error *err)
{
    yaml_document_t doc;
    int rc = AVT_OK;
    avt_tf prev_T_ref = avt_tf_identity();
    memset(rig, 0, sizeof *rig);
    if ((rc = calib_yaml_load(path, &doc, err))) return rc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "none");
    rig->lidar_T_ego = avt_tf_identity();
    for (int i = 0; i < 64; i++) {
        char cam[16], key[64];
        snprintf(cam, sizeof cam, "cam%d", i);
        yaml_node_t *n = calib_yaml_get(&doc, root, cam);
        if (!n) break;
        avt_camera *c = calib_add_camera(rig, path, err);
        if (!c) {
            rc = AVT_NOMEM;
            goto out;
        }
        snprintf(c->name, sizeof c->name, "%s", cam);
        const char *cm = calib_yaml_scalar(calib_yaml_get(&doc, n, "camera_model"));
        if (cm && strcmp(cm, "pinhole") != 0) {
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: %s.camera_model: '%s' is not supported (pinhole only)", path, cam, cm);
            goto out;
        }
        double in[4], res[2], d[AVT_MAX_DIST], T[16];
        int nd = 0;
        snprintf(key, sizeof key, "%s.intrinsics", cam);
        if ((rc = calib_yaml_numbers(&doc, calib_yaml_get(&doc, n, "intrinsics"), path, key, in, 4, 4, NULL, err)))
            goto out;
        double K[9] = {in[0], 0, in[2], 0, in[1], in[3], 0, 0, 1};
        memcpy(c->K, K, sizeof K);
        snprintf(key, sizeof key, "%s.resolution", cam);
        if ((rc = calib_yaml_numbers(&doc, calib_yaml_get(&doc, n, "resolution"), path, key, res, 2, 2, NULL, err)))
            goto out;
        if (!(res[0] >= 1 && res[0] <= 100000 && res[1] >= 1 && res[1] <= 100000) || res[0] != (unsigned)res[0] ||
            res[1] != (unsigned)res[1]) {
            rc = avt_err(err, AVT_FORMAT, "%s: %s: %g x %g is not an image size", path, key, res[0], res[1]);
            goto out;
        }
        c->width = (unsigned)res[0];
        c->height = (unsigned)res[1];
        snprintf(key, sizeof key, "%s.distortion_coeffs", cam);
        yaml_node_t *dn = calib_yaml_get(&doc, n, "distortion_coeffs");
        if (dn && (rc = calib_yaml_numbers(&doc, dn, path, key, d, 0, AVT_MAX_DIST, &nd, err))) goto out;
        const char *dm = calib_yaml_scalar(calib_yaml_get(&doc, n, "distortion_model"));
        if (dm && strcmp(dm, "radtan") == 0 && nd != 4) {
            rc = avt_err(err, AVT_FORMAT, "%s: %s: Kalibr radtan takes 4 coefficients, got %d", path, key, nd);
            goto out;
        }
        if ((rc = calib_set_distortion(c, dm ? dm : "none", d, nd, path, key, err))) goto out;
        /* camera pose: T_cam_imu, else chained T_cn_cnm1, else (cam0) the reference itself */
        avt_tf cam_T_ref = avt_tf_identity();
        yaml_node_t *ti = calib_yaml_get(&doc, n, "T_cam_imu");
        yaml_node_t *tc = calib_yaml_get(&doc, n, "T_cn_cnm1");
        if (ti || (tc && i > 0)) {
            snprintf(key, sizeof key, "%s.%s", cam, ti ? "T_cam_imu" : "T_cn_cnm1");
            if ((rc = calib_yaml_numbers(&doc, ti ? ti : tc, path, key, T, 16, 16, NULL, err))) goto out;
            double R[9] = {T[0], T[1], T[2], T[4], T[5], T[6], T[8], T[9], T[10]}, t[3] = {T[3], T[7], T[11]};
            if (T[12] != 0 || T[13] != 0 || T[14] != 0 || T[15] != 1) {
                rc = avt_err(err, AVT_FORMAT, "%s: %s: last row %g %g %g %g, expected 0 0 0 1", path, key, T[12], T[13],
                             T[14], T[15]);
                goto out;
            }
            avt_tf M;
            if ((rc = calib_rigid(R, t, path, key, &M, err))) goto out;
            cam_T_ref = ti ? M : avt_tf_mul(&M, &prev_T_ref);
        } else if (i > 0) {
            rc = avt_err(err, AVT_FORMAT, "%s: %s: needs T_cam_imu or T_cn_cnm1", path, cam);
            goto out;
        }
        prev_T_ref = cam_T_ref;
        c->lidar_T_cam = avt_tf_inv(&cam_T_ref);
    }
    if (!rig->n_cameras) {
        rc = avt_err(err, AVT_FORMAT, "%s: no camera (expected keys cam0, cam1, ...)", path);
        goto out;
    }
    snprintf(rig->source, sizeof rig->source, "%s (Kalibr camchain YAML)", path);
    rc = avt_rig_validate(rig, path, err);
out:
    yaml_document_delete(&doc);
    if (rc) avt_rig_free(rig);
    return rc;
}
