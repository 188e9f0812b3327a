/* avtruth calibration: KITTI text calibrations, "KEY: v1 v2 ..." per line.
 *
 * Object benchmark calib/<id>.txt (devkit_object readme, "Coordinate systems"):
 *   P0..P3        3x4 projection matrices of the rectified cameras, applied to coordinates of the
 *                 rectified reference camera 0: x = P_i * R0_rect * Tr_velo_to_cam * X_velo
 *   R0_rect       3x3 rectifying rotation of camera 0
 *   Tr_velo_to_cam 3x4 [R | t] Velodyne -> camera 0 (unrectified)
 *   Tr_imu_to_velo 3x4 [R | t] IMU (OXTS) -> Velodyne
 * Raw recordings (devkit_raw_data readme, "Calibration"): calib_cam_to_cam.txt holds per camera
 * xx in 00..03 S_xx (size), K_xx, D_xx (k1 k2 p1 p2 k3), R_xx/T_xx (camera 0 -> camera xx),
 * S_rect_xx, R_rect_xx, P_rect_xx; calib_velo_to_cam.txt holds R, T (Velodyne -> camera 0),
 * and calib_imu_to_velo.txt R, T (IMU -> Velodyne).
 *
 * Every P here has the form K [I | t] (a rectified camera shifted along the stereo baseline),
 * so a rectified camera is represented exactly as a pinhole camera with K from P and the frame
 * [I | K^-1 p4] * R_rect * Tr_velo_to_cam (calib_camera_from_P). The IMU becomes the rig's ego
 * frame (lidar_T_ego = Tr_imu_to_velo): its axes (x forward, y left, z up) are the ego axes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_private.h"

#define KITTI_DEFAULT_W 1242
#define KITTI_DEFAULT_H 375

static int rigid_3x4(const calib_kv *e, const char *path, avt_tf *out, avt_error *err)
{
    double R[9] = {e->v[0], e->v[1], e->v[2], e->v[4], e->v[5], e->v[6], e->v[8], e->v[9], e->v[10]};
    double t[3] = {e->v[3], e->v[7], e->v[11]};
    return calib_rigid(R, t, path, e->key, out, err);
}

static int load_kv(const char *path, calib_kv_file *kv, avt_error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = avt_read_file(path, CALIB_MAX_BYTES, &text, &len, err);
    if (rc) return rc;
    rc = calib_kv_parse(text, len, path, kv, err);
    free(text);
    return rc;
}

/* Directory part of path ("." when none) and the file stem. */
static void split_path(const char *path, char *dir, size_t dn, char *stem, size_t sn)
{
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, dn, "%.*s", (int)(slash - path), path);
    else snprintf(dir, dn, ".");
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    snprintf(stem, sn, "%.*s", dot ? (int)(dot - base) : (int)strlen(base), base);
}

int avt_kitti_rect_T_velo(const char *path, avt_tf *rect_T_velo, avt_error *err)
{
    calib_kv_file kv;
    const calib_kv *r0, *tr;
    avt_tf rect_T_cam0, cam0_T_velo;
    double t0[3] = {0, 0, 0};
    int rc = load_kv(path, &kv, err);
    if (rc) return rc;
    if (!(rc = calib_kv_find(&kv, "R0_rect", 9, 1, path, &r0, err)) &&
        !(rc = calib_kv_find(&kv, "Tr_velo_to_cam", 12, 1, path, &tr, err)) &&
        !(rc = calib_rigid(r0->v, t0, path, "R0_rect", &rect_T_cam0, err)) && !(rc = rigid_3x4(tr, path, &cam0_T_velo, err)))
        *rect_T_velo = avt_tf_mul(&rect_T_cam0, &cam0_T_velo);
    calib_kv_free(&kv);
    return rc;
}

int calib_load_kitti_object(const char *path, avt_rig *rig, avt_error *err)
{
    calib_kv_file kv;
    int rc;
    memset(rig, 0, sizeof *rig);
    if ((rc = load_kv(path, &kv, err))) return rc;
    const calib_kv *r0, *tr, *imu;
    avt_tf rect_T_cam0, cam0_T_velo, rect_T_velo;
    if ((rc = calib_kv_find(&kv, "R0_rect", 9, 1, path, &r0, err)) ||
        (rc = calib_kv_find(&kv, "Tr_velo_to_cam", 12, 1, path, &tr, err)) ||
        (rc = calib_kv_find(&kv, "Tr_imu_to_velo", 12, 0, path, &imu, err)))
        goto out;
    double t0[3] = {0, 0, 0};
    if ((rc = calib_rigid(r0->v, t0, path, "R0_rect", &rect_T_cam0, err))) goto out;
    if ((rc = rigid_3x4(tr, path, &cam0_T_velo, err))) goto out;
    rect_T_velo = avt_tf_mul(&rect_T_cam0, &cam0_T_velo);
    rig->lidar_T_ego = avt_tf_identity();
    if (imu && (rc = rigid_3x4(imu, path, &rig->lidar_T_ego, err))) goto out;
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "hdl64e");

    /* KITTI object calibrations carry no image size: take it from the frame's own image
     * (../image_<i>/<id>.png) when present, else KITTI's nominal 1242 x 375. */
    char dir[400], stem[64], png[512];
    split_path(path, dir, sizeof dir, stem, sizeof stem);
    unsigned any_w = 0, any_h = 0, sizes[4][2] = {{0}};
    for (int i = 0; i < 4; i++) {
        snprintf(png, sizeof png, "%s/../image_%d/%s.png", dir, i, stem);
        if (calib_png_size(png, &sizes[i][0], &sizes[i][1]) && !any_w) any_w = sizes[i][0], any_h = sizes[i][1];
    }
    int assumed = 0;
    for (int i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof key, "P%d", i);
        const calib_kv *P;
        if ((rc = calib_kv_find(&kv, key, 12, 0, path, &P, err))) goto out;
        if (!P) continue;
        avt_camera *c = calib_add_camera(rig, path, err);
        avt_tf cam_T_velo;
        if (!c) {
            rc = err ? err->code : AVT_NOMEM;
            goto out;
        }
        snprintf(c->name, sizeof c->name, "image_%d", i);
        if ((rc = calib_camera_from_P(P->v, &rect_T_velo, path, key, c, &cam_T_velo, err))) goto out;
        c->lidar_T_cam = avt_tf_inv(&cam_T_velo);
        c->width = sizes[i][0] ? sizes[i][0] : any_w ? any_w : KITTI_DEFAULT_W;
        c->height = sizes[i][0] ? sizes[i][1] : any_w ? any_h : KITTI_DEFAULT_H;
        assumed |= !any_w;
    }
    if (!rig->n_cameras) {
        rc = avt_err(err, AVT_FORMAT, "%s: no projection matrix P0..P3", path);
        goto out;
    }
    snprintf(rig->source, sizeof rig->source, "%s (KITTI object calibration%s)", path,
             assumed ? "; image size 1242x375 assumed" : "");
    rc = avt_rig_validate(rig, path, err);
out:
    calib_kv_free(&kv);
    if (rc) avt_rig_free(rig);
    return rc;
}

/* path: a raw recording's calibration directory or its calib_cam_to_cam.txt; the other files
 * are read from the same directory (calib_imu_to_velo.txt is optional). */
int calib_load_kitti_raw(const char *path, avt_rig *rig, avt_error *err)
{
    calib_kv_file cc = {0}, vc = {0}, iv = {0};
    char dir[400], stem[64], p_cc[512], p_vc[512], p_iv[512];
    int rc;
    memset(rig, 0, sizeof *rig);
    size_t pl = strlen(path);
    if (pl > 4 && strcmp(path + pl - 4, ".txt") == 0) split_path(path, dir, sizeof dir, stem, sizeof stem);
    else snprintf(dir, sizeof dir, "%s", path);
    snprintf(p_cc, sizeof p_cc, "%s/calib_cam_to_cam.txt", dir);
    snprintf(p_vc, sizeof p_vc, "%s/calib_velo_to_cam.txt", dir);
    snprintf(p_iv, sizeof p_iv, "%s/calib_imu_to_velo.txt", dir);
    if ((rc = load_kv(p_cc, &cc, err))) goto out;
    if ((rc = load_kv(p_vc, &vc, err))) goto out;
    const calib_kv *R, *T, *rr;
    avt_tf cam0_T_velo, rect_T_cam0;
    if ((rc = calib_kv_find(&vc, "R", 9, 1, p_vc, &R, err)) || (rc = calib_kv_find(&vc, "T", 3, 1, p_vc, &T, err)) ||
        (rc = calib_kv_find(&cc, "R_rect_00", 9, 1, p_cc, &rr, err)))
        goto out;
    if ((rc = calib_rigid(R->v, T->v, p_vc, "R/T", &cam0_T_velo, err))) goto out;
    double z3[3] = {0, 0, 0};
    if ((rc = calib_rigid(rr->v, z3, p_cc, "R_rect_00", &rect_T_cam0, err))) goto out;
    avt_tf rect_T_velo = avt_tf_mul(&rect_T_cam0, &cam0_T_velo);
    rig->lidar_T_ego = avt_tf_identity();
    if (load_kv(p_iv, &iv, NULL) == AVT_OK && iv.n) {
        const calib_kv *Ri, *Ti;
        if ((rc = calib_kv_find(&iv, "R", 9, 1, p_iv, &Ri, err)) || (rc = calib_kv_find(&iv, "T", 3, 1, p_iv, &Ti, err)))
            goto out;
        if ((rc = calib_rigid(Ri->v, Ti->v, p_iv, "R/T", &rig->lidar_T_ego, err))) goto out;
    }
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "hdl64e");
    for (int i = 0; i < 4; i++) {
        char k[6][16];
        const char *names[6] = {"S_rect", "P_rect", "S", "K", "D", "R"};
        const int want[6] = {2, 12, 2, 9, 5, 9};
        const calib_kv *e[7];
        for (int j = 0; j < 6; j++) snprintf(k[j], sizeof k[j], "%s_%02d", names[j], i);
        int have = 0;
        for (int j = 0; j < 6; j++) {
            if ((rc = calib_kv_find(&cc, k[j], want[j], 0, p_cc, &e[j], err))) goto out;
            have += e[j] != NULL;
        }
        char tk[8];
        snprintf(tk, sizeof tk, "T_%02d", i);
        if ((rc = calib_kv_find(&cc, tk, 3, 0, p_cc, &e[6], err))) goto out;
        if (!have) continue;
        /* rectified camera i: P_rect_i applied to R_rect_00 * cam0 coordinates */
        if (e[0] && e[1]) {
            avt_camera *c = calib_add_camera(rig, p_cc, err);
            avt_tf cam_T_velo;
            if (!c) {
                rc = err ? err->code : AVT_NOMEM;
                goto out;
            }
            snprintf(c->name, sizeof c->name, "image_%02d", i);
            if ((rc = calib_camera_from_P(e[1]->v, &rect_T_velo, p_cc, k[1], c, &cam_T_velo, err))) goto out;
            c->lidar_T_cam = avt_tf_inv(&cam_T_velo);
            /* range-check the doubles before converting (out-of-range conversion is undefined) */
            const double sw = e[0]->v[0], sh = e[0]->v[1];
            int size_ok = sw >= 1 && sw <= 100000 && sh >= 1 && sh <= 100000;
            c->width = size_ok ? (unsigned)sw : 0;
            c->height = size_ok ? (unsigned)sh : 0;
            if (!size_ok || c->width != sw || c->height != sh) {
                rc = avt_err(err, AVT_FORMAT, "%s: %s: image size %g x %g is not a positive integer size", p_cc, k[0],
                             e[0]->v[0], e[0]->v[1]);
                goto out;
            }
        }
        /* unrectified camera i: K, D (OpenCV k1 k2 p1 p2 k3), camera 0 -> camera i = [R_i | T_i] */
        if (e[2] && e[3] && e[4] && e[5] && e[6]) {
            avt_camera *c = calib_add_camera(rig, p_cc, err);
            avt_tf cam_T_cam0;
            if (!c) {
                rc = err ? err->code : AVT_NOMEM;
                goto out;
            }
            snprintf(c->name, sizeof c->name, "image_%02d_unrect", i);
            memcpy(c->K, e[3]->v, sizeof c->K);
            if ((rc = calib_set_distortion(c, "plumb_bob", e[4]->v, 5, p_cc, k[4], err))) goto out;
            if ((rc = calib_rigid(e[5]->v, e[6]->v, p_cc, k[5], &cam_T_cam0, err))) goto out;
            avt_tf cam_T_velo = avt_tf_mul(&cam_T_cam0, &cam0_T_velo);
            c->lidar_T_cam = avt_tf_inv(&cam_T_velo);
            /* range-check the doubles before converting (out-of-range conversion is undefined) */
            const double sw = e[2]->v[0], sh = e[2]->v[1];
            int size_ok = sw >= 1 && sw <= 100000 && sh >= 1 && sh <= 100000;
            c->width = size_ok ? (unsigned)sw : 0;
            c->height = size_ok ? (unsigned)sh : 0;
            if (!size_ok || c->width != sw || c->height != sh) {
                rc = avt_err(err, AVT_FORMAT, "%s: %s: image size %g x %g is not a positive integer size", p_cc, k[2],
                             e[2]->v[0], e[2]->v[1]);
                goto out;
            }
        }
    }
    if (!rig->n_cameras) {
        rc = avt_err(err, AVT_FORMAT, "%s: no camera (S_rect_xx + P_rect_xx or S/K/D/R/T_xx)", p_cc);
        goto out;
    }
    snprintf(rig->source, sizeof rig->source, "%s (KITTI raw calibration)", dir);
    rc = avt_rig_validate(rig, p_cc, err);
out:
    calib_kv_free(&cc);
    calib_kv_free(&vc);
    calib_kv_free(&iv);
    if (rc) avt_rig_free(rig);
    return rc;
}
