/* avtruth export: KITTI object labels from a ground-truth file (avtruth export kitti), so that
 * KITTI tooling reads our truth: DIR/label_2/<frame>.txt with one line per 3D box that has a
 * 2D box in the camera (devkit_object readme, "Data Format Description"; the geometry is
 * labels/kitti.c's avt_kitti_object_from_box), and DIR/calib/<frame>.txt with P2 = K [I | 0],
 * R0_rect = I and Tr_velo_to_cam = cam_T_lidar, so that the locations (in that camera's
 * frame) project with P2 as KITTI's do. A stitched index keeps each log's calibration under
 * /logs/<k>/cameras/<name>/ (docs/format-notes.md, multi-log datasets), so there each frame's
 * calib file is its log's, found through frames/log_index. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/kitti.h"
#include "export_private.h"

static herr_t first_camera(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info;
    snprintf(data, AVT_NAME_MAX, "%s", name);
    return 1;
}

static int write_text(const char *path, const char *text, avt_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    return bad ? avt_err(err, AVT_IO, "%s: write failed: %s", path, strerror(errno)) : AVT_OK;
}

static int make_dir(const char *p, avt_error *err)
{
    if (mkdir(p, 0755) == 0 || errno == EEXIST) return AVT_OK;
    return avt_err(err, AVT_IO, "%s: cannot create directory: %s", p, strerror(errno));
}

/* The KITTI calibration text of a camera: P2 = K [I | 0] (all four P the same), R0_rect = I,
 * Tr_velo_to_cam = cam_T_lidar's first three rows, Tr_imu_to_velo = I. */
static void calib_text(const double K[9], const avt_tf *cam_T_lidar, avt_sbuf *b)
{
    for (int p = 0; p < 4; p++)
        avt_sbuf_printf(b, "P%d: %.12e %.12e %.12e 0 %.12e %.12e %.12e 0 %.12e %.12e %.12e 0\n", p, K[0], K[1], K[2],
                        K[3], K[4], K[5], K[6], K[7], K[8]);
    avt_sbuf_printf(b, "R0_rect: 1 0 0 0 1 0 0 0 1\nTr_velo_to_cam:");
    for (int i = 0; i < 12; i++) avt_sbuf_printf(b, " %.12e", cam_T_lidar->m[i]);
    avt_sbuf_printf(b, "\nTr_imu_to_velo: 1 0 0 0 0 1 0 0 0 0 1 0\n");
}

/* Camera cam's calibration under base ("" for a per-log file, "logs/<k>/" for log k of a
 * stitched index): the KITTI calib text in *text (replaced) and cam_T_lidar. */
static int read_calib(avt_h5ctx *v, const char *base, const char *cam, avt_sbuf *text, avt_tf *cam_T_lidar)
{
    char tp[AVT_NAME_MAX + 64], kp[AVT_NAME_MAX + 64];
    avt_h5col tf = {0}, k = {0};
    snprintf(tp, sizeof tp, "%scameras/%s/lidar_T_cam", base, cam);
    snprintf(kp, sizeof kp, "%scameras/%s/K", base, cam);
    int rc = avt_h5_read_as(v, tp, H5T_NATIVE_DOUBLE, 0, 2, 4, 4, 0, &tf);
    if (!rc) rc = avt_h5_read_as(v, kp, H5T_NATIVE_DOUBLE, 0, 2, 3, 3, 0, &k);
    if (!rc) {
        avt_tf lidar_T_cam;
        memcpy(lidar_T_cam.m, tf.data, sizeof lidar_T_cam.m);
        *cam_T_lidar = avt_tf_inv(&lidar_T_cam);
        text->len = 0;
        if (text->p) text->p[0] = '\0';
        calib_text(k.data, cam_T_lidar, text);
    }
    avt_h5col_free(&tf);
    avt_h5col_free(&k);
    return rc;
}

int avt_export_kitti(const char *path, const char *camera, const char *out_dir, FILE *out, avt_error *err)
{
    h5x_quiet q;
    h5x_quiet_begin(&q);
    enum { B_OFF, CENTER, SIZE, YAW, CLASS, B2_OFF, B2_IDX, XYXY, TRUNC, VIS, IG_OFF, IG_XYXY, IG_CLASS, LOG_INDEX,
           NCOL };
    avt_h5col c[NCOL];
    memset(c, 0, sizeof c);
    char **names = NULL, cam[AVT_NAME_MAX] = "", p[4096], base[32] = "";
    uint64_t n_names = 0, written = 0;
    avt_sbuf calib = {0}, b = {0};
    int rc = AVT_OK;
    avt_h5ctx v = {H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), path, err, " (run avtruth verify)"};
    if (v.file < 0) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: cannot open as HDF5", path);
        goto out;
    }
    if (camera) {
        snprintf(cam, sizeof cam, "%s", camera);
    } else {
        hid_t g = H5Lexists(v.file, "cameras", H5P_DEFAULT) > 0 ? H5Gopen2(v.file, "cameras", H5P_DEFAULT) : -1;
        if (g >= 0) H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, first_camera, cam);
        if (g >= 0) H5Gclose(g);
    }
    snprintf(p, sizeof p, "cameras/%s", cam);
    if (!cam[0] || H5Lexists(v.file, p, H5P_DEFAULT) <= 0) {
        rc = avt_err(err, AVT_NOTFOUND, "%s: no camera '%s' (KITTI labels are per camera)", path, cam[0] ? cam : "(none)");
        goto out;
    }
    const char *col[NCOL] = {"frames/box_offset", "boxes3d/center", "boxes3d/size", "boxes3d/yaw", "boxes3d/class_id",
                             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "frames/log_index"};
    char cp[8][AVT_NAME_MAX + 40];
    static const char *const cam_col[8] = {"boxes2d/offset", "boxes2d/box3d_index", "boxes2d/xyxy",
                                           "boxes2d/truncation", "boxes2d/visibility", "ignore/offset",
                                           "ignore/xyxy", "ignore/class_id"};
    for (int i = 0; i < 8; i++) {
        snprintf(cp[i], sizeof cp[i], "cameras/%s/%s", cam, cam_col[i]);
        col[B2_OFF + i] = cp[i];
    }
    const hid_t mt[NCOL] = {H5T_NATIVE_UINT64, H5T_NATIVE_FLOAT, H5T_NATIVE_FLOAT, H5T_NATIVE_FLOAT, H5T_NATIVE_UINT16,
                            H5T_NATIVE_UINT64, H5T_NATIVE_UINT32, H5T_NATIVE_FLOAT, H5T_NATIVE_FLOAT,
                            H5T_NATIVE_FLOAT, H5T_NATIVE_UINT64, H5T_NATIVE_FLOAT, H5T_NATIVE_UINT16,
                            H5T_NATIVE_UINT32};
    /* ignore regions: in files written since the annotation schema only; frames/log_index: in
     * stitched indexes only */
    for (int i = 0; i < NCOL && !rc; i++) rc = avt_h5_read(&v, col[i], mt[i], i >= IG_OFF, &c[i]);
    if (rc || (rc = h5x_strs_read(v.file, "meta/class_names", &names, &n_names, v.path, v.err))) goto out;
    /* the structure is verify's business; here only what indexing needs: FORMAT.md's shapes,
     * the columns of a table with the same rows, and the offsets and indices in range below */
    const uint64_t frames = c[B_OFF].rows ? c[B_OFF].rows - 1 : 0, n_boxes = c[CENTER].rows;
    const uint64_t n_b2 = c[B2_IDX].rows, n_ig = c[IG_XYXY].rows;
    if ((rc = avt_h5_expect(&v, col[B_OFF], &c[B_OFF], 1, AVT_H5_ANY, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[CENTER], &c[CENTER], 2, AVT_H5_ANY, 3, 0)) ||
        (rc = avt_h5_expect(&v, col[SIZE], &c[SIZE], 2, n_boxes, 3, 0)) ||
        (rc = avt_h5_expect(&v, col[YAW], &c[YAW], 1, n_boxes, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[CLASS], &c[CLASS], 1, n_boxes, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[B2_OFF], &c[B2_OFF], 1, frames + 1, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[B2_IDX], &c[B2_IDX], 1, AVT_H5_ANY, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[XYXY], &c[XYXY], 2, n_b2, 4, 0)) ||
        (rc = avt_h5_expect(&v, col[TRUNC], &c[TRUNC], 1, n_b2, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[VIS], &c[VIS], 1, n_b2, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[IG_OFF], &c[IG_OFF], 1, frames + 1, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[IG_XYXY], &c[IG_XYXY], 2, AVT_H5_ANY, 4, 0)) ||
        (rc = avt_h5_expect(&v, col[IG_CLASS], &c[IG_CLASS], 1, n_ig, 0, 0)) ||
        (rc = avt_h5_expect(&v, col[LOG_INDEX], &c[LOG_INDEX], 1, frames, 0, 0)))
        goto out;
    if (c[IG_OFF].present != c[IG_XYXY].present || c[IG_OFF].present != c[IG_CLASS].present) {
        rc = avt_err(err, AVT_MISMATCH, "%s: /cameras/%s/ignore: offset, xyxy and class_id come together (run "
                     "avtruth verify)", path, cam);
        goto out;
    }
    const uint64_t *boff = c[B_OFF].data, *b2off = c[B2_OFF].data;
    const uint32_t *idx = c[B2_IDX].data;
    const uint16_t *cls = c[CLASS].data;
    const float *center = c[CENTER].data, *size = c[SIZE].data, *yaw = c[YAW].data, *xyxy = c[XYXY].data;
    const float *trunc = c[TRUNC].data, *vis = c[VIS].data;
    const uint64_t *goff = c[IG_OFF].data;
    const float *gxy = c[IG_XYXY].data;
    const uint16_t *gcls = c[IG_CLASS].data;
    const uint32_t *log_index = c[LOG_INDEX].data;
    /* the calibration of frame 0's log; a stitched index's next logs' as their frames come */
    uint32_t log = log_index && frames ? log_index[0] : 0;
    if (log_index) snprintf(base, sizeof base, "logs/%u/", log);
    avt_tf cam_T_lidar;
    if ((rc = read_calib(&v, base, cam, &calib, &cam_T_lidar))) goto out;
    snprintf(p, sizeof p, "%s/label_2", out_dir);
    if ((rc = make_dir(out_dir, err)) || (rc = make_dir(p, err))) goto out;
    snprintf(p, sizeof p, "%s/calib", out_dir);
    if ((rc = make_dir(p, err))) goto out;
    for (uint64_t i = 0; i < frames && !rc; i++) {
        if (log_index && log_index[i] != log) {
            log = log_index[i];
            snprintf(base, sizeof base, "logs/%u/", log);
            if ((rc = read_calib(&v, base, cam, &calib, &cam_T_lidar))) break;
        }
        b.len = 0;
        if (b.p) b.p[0] = '\0';
        for (uint64_t k = b2off[i]; k < b2off[i + 1] && !rc; k++) {
            uint32_t j = k < n_b2 ? idx[k] : UINT32_MAX;
            if (j < boff[i] || j >= boff[i + 1] || j >= n_boxes || cls[j] >= n_names) {
                rc = avt_err(err, AVT_MISMATCH, "%s: camera %s: boxes2d row %llu: box %u outside frame %llu (run avtruth verify)",
                             path, cam, (unsigned long long)k, j, (unsigned long long)i);
                break;
            }
            if (isnan(xyxy[4 * k])) continue; /* in front of the camera but outside the image */
            avt_kitti_object o;
            memset(&o, 0, sizeof o);
            const double ce[3] = {center[3 * j], center[3 * j + 1], center[3 * j + 2]};
            const double sz[3] = {size[3 * j], size[3 * j + 1], size[3 * j + 2]};
            avt_kitti_object_from_box(ce, sz, yaw[j], &cam_T_lidar, &o);
            snprintf(o.type, sizeof o.type, "%s", names[cls[j]][0] ? names[cls[j]] : "Misc");
            o.truncated = trunc[k];
            o.occluded = avt_kitti_occlusion(vis[k]);
            for (int e = 0; e < 4; e++) o.bbox[e] = xyxy[4 * k + e];
            avt_kitti_labels_format(&o, 1, &b);
            written++;
        }
        for (uint64_t k = goff ? goff[i] : 0; goff && k < goff[i + 1] && !rc; k++) {
            if (k >= n_ig || gcls[k] >= n_names) {
                rc = avt_err(err, AVT_MISMATCH, "%s: camera %s: ignore row %llu out of range (run avtruth verify)", path,
                             cam, (unsigned long long)k);
                break;
            }
            /* the devkit's DontCare line: only the 2D box is meaningful */
            avt_kitti_object o = {.truncated = -1, .occluded = -1, .alpha = -10, .h = -1, .w = -1, .l = -1,
                                  .loc = {-1000, -1000, -1000}, .ry = -10};
            snprintf(o.type, sizeof o.type, "%s", names[gcls[k]]);
            for (int e = 0; e < 4; e++) o.bbox[e] = gxy[4 * k + e];
            avt_kitti_labels_format(&o, 1, &b);
        }
        if (rc) break;
        if (b.oom || calib.oom) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", out_dir);
            break;
        }
        snprintf(p, sizeof p, "%s/label_2/%06llu.txt", out_dir, (unsigned long long)i);
        if ((rc = write_text(p, b.p ? b.p : "", err))) break;
        snprintf(p, sizeof p, "%s/calib/%06llu.txt", out_dir, (unsigned long long)i);
        rc = write_text(p, calib.p, err);
    }
    if (!rc && out)
        fprintf(out, "%s: %llu frames, %llu objects of camera %s -> %s/label_2, %s/calib\n", path,
                (unsigned long long)frames, (unsigned long long)written, cam, out_dir, out_dir);
out:
    for (int i = 0; i < NCOL; i++) avt_h5col_free(&c[i]);
    h5x_strs_free(names, n_names);
    free(calib.p);
    free(b.p);
    if (v.file >= 0) H5Fclose(v.file);
    h5x_quiet_end(&q);
    return rc;
}
