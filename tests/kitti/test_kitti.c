/* KITTI object frames 000000 and 000001: the 3D labels (rectified camera-0 coordinates,
 * bottom-centre origin, h w l, rotation_y) are converted to the LiDAR frame here, independently
 * of the library (plain matrix inverses of R0_rect and Tr_velo_to_cam, not assuming
 * orthonormality), then projected back through the calibration loaded by avt_rig_load and
 * avt_box_project. They must reproduce:
 *  - KITTI's own projection P2 * X_rect of the 8 corners (extent) within 1e-3 px;
 *  - KITTI's annotated 2D boxes for unoccluded (occluded = 0), untruncated (truncated <= 0.01)
 *    objects within KITTI_TOL_PX. The devkit readme says the 3D boxes were labelled in the point
 *    clouds and, because one fixed-size box fits a pedestrian badly, the left/right boundaries
 *    of pedestrians and cyclists were labelled separately on Mechanical Turk: so for vehicles all
 *    four sides are compared, for pedestrians/cyclists top and bottom, and their hand-drawn
 *    left/right must lie inside our projected extent (within the tolerance). Labels are printed
 *    with 2 decimals (1 cm, 0.01 rad), which alone moves sides by up to ~0.3 px at 10 m;
 *    measured vehicle differences are below 1 px.
 *  - KITTI's truncation within 0.1 with our definition 1 - area(clipped)/area(extent).
 * The image sizes come from the PNGs: 000000 is 1224 x 370, 000001 1242 x 375. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/calib.h"
#include "avtruth/kitti.h"
#include "avtruth/labels.h"
#include "avtruth/schema.h"
#include "avtruth/validate.h"
#include "avtruth/pointcloud.h"
#include "avtruth/project.h"

#define KITTI_TOL_PX 1.5
#define KITTI_TRUNC_TOL 0.1

static char root[512];

/* Reads "KEY: n numbers" from a KITTI calib file. */
static void read_key(const char *path, const char *key, double *v, int n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0 || line[kl] != ':') continue;
        char *p = line + kl + 1;
        for (int i = 0; i < n; i++) {
            char *e;
            v[i] = strtod(p, &e);
            assert_true(e != p);
            p = e;
        }
        fclose(f);
        return;
    }
    fclose(f);
    fail_msg("%s: no key %s", path, key);
}

static void inv3(const double a[9], double r[9])
{
    double d = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
    r[0] = (a[4] * a[8] - a[5] * a[7]) / d, r[1] = (a[2] * a[7] - a[1] * a[8]) / d, r[2] = (a[1] * a[5] - a[2] * a[4]) / d;
    r[3] = (a[5] * a[6] - a[3] * a[8]) / d, r[4] = (a[0] * a[8] - a[2] * a[6]) / d, r[5] = (a[2] * a[3] - a[0] * a[5]) / d;
    r[6] = (a[3] * a[7] - a[4] * a[6]) / d, r[7] = (a[1] * a[6] - a[0] * a[7]) / d, r[8] = (a[0] * a[4] - a[1] * a[3]) / d;
}

static void mv3(const double M[9], const double x[3], double y[3])
{
    for (int i = 0; i < 3; i++) y[i] = M[3 * i] * x[0] + M[3 * i + 1] * x[1] + M[3 * i + 2] * x[2];
}

typedef struct {
    double R0i[9], Tri[9], Tr[12], P2[12];
} kcal;

/* velo = Tr_R^-1 (R0^-1 x_rect - Tr_t) */
static void rect_to_velo(const kcal *k, const double x[3], double v[3])
{
    double a[3], b[3];
    mv3(k->R0i, x, a);
    for (int i = 0; i < 3; i++) b[i] = a[i] - k->Tr[4 * i + 3];
    mv3(k->Tri, b, v);
}

/* The 8 corners in rectified coordinates as the devkit computes them. */
static void corners_rect(double h, double w, double l, const double loc[3], double ry, double c[8][3])
{
    static const double xs[8] = {1, 1, -1, -1, 1, 1, -1, -1}, ys[8] = {0, 0, 0, 0, -1, -1, -1, -1},
                        zs[8] = {1, -1, -1, 1, 1, -1, -1, 1};
    double cr = cos(ry), sr = sin(ry);
    for (int i = 0; i < 8; i++) {
        double x = xs[i] * l / 2, y = ys[i] * h, z = zs[i] * w / 2;
        c[i][0] = cr * x + sr * z + loc[0];
        c[i][1] = y + loc[1];
        c[i][2] = -sr * x + cr * z + loc[2];
    }
}

/* Truncation on KITTI frames made truncated by cropping the calibration: the image window is
 * cut so that a chosen fraction of an object's projected extent lies outside it (crop the left
 * part: cx -= c, W -= c; crop the bottom: H shrinks), which is what the camera would have seen
 * with a smaller sensor. The expected value is computed independently from KITTI's own P2
 * projection of the 8 corners (the rectified camera has no distortion and the objects are in
 * front of it, so the silhouette is the convex hull of the projected corners) clipped to the new
 * window [0, W'-1] x [0, H'-1]: 1 - area(bbox of hull ∩ window)/area(bbox of hull). With the
 * cuts at a known fraction of the extent the answers are near 0.3 (left), 0.5 (right) and
 * 1 - 0.7 * 0.8 = 0.44 (left and bottom). This shows that avt_box_project computes our definition exactly on real
 * calibrations and geometry; it does not show agreement with KITTI's annotators, whose
 * truncation is not published for these crops (the two frames contain no truncated object). */
/* Exact truncation of the convex silhouette hull(pts) against the window [0,W-1] x [0,H-1]:
 * the bounding box of hull ∩ window is spanned by the points of the 28 segments between the
 * corners that lie in the window (Liang-Barsky; by convexity they cover the hull's boundary
 * inside it) and by window corners inside the hull. */
static void seg_clip_add(const double a[2], const double b[2], double W, double H, double bb[4], int *any)
{
    double t0 = 0, t1 = 1, d[2] = {b[0] - a[0], b[1] - a[1]};
    double pp[4] = {-d[0], d[0], -d[1], d[1]}, qq[4] = {a[0], W - 1 - a[0], a[1], H - 1 - a[1]};
    for (int i = 0; i < 4; i++) {
        if (pp[i] == 0) {
            if (qq[i] < 0) return;
            continue;
        }
        double r = qq[i] / pp[i];
        if (pp[i] < 0) t0 = fmax(t0, r);
        else t1 = fmin(t1, r);
    }
    if (t0 > t1) return;
    for (int e = 0; e < 2; e++) {
        double t = e ? t1 : t0, x = a[0] + t * d[0], y = a[1] + t * d[1];
        if (!*any) bb[0] = bb[2] = x, bb[1] = bb[3] = y, *any = 1;
        bb[0] = fmin(bb[0], x), bb[1] = fmin(bb[1], y), bb[2] = fmax(bb[2], x), bb[3] = fmax(bb[3], y);
    }
}

static int in_hull(const double pts[8][2], const double q[2])
{
    /* q is outside iff some line through two corners has every corner on one side and q strictly
     * on the other */
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            if (i == j) continue;
            double ex = pts[j][0] - pts[i][0], ey = pts[j][1] - pts[i][1];
            int all_left = 1;
            for (int k = 0; k < 8; k++)
                if (ex * (pts[k][1] - pts[i][1]) - ey * (pts[k][0] - pts[i][0]) < -1e-9) all_left = 0;
            if (all_left && ex * (q[1] - pts[i][1]) - ey * (q[0] - pts[i][0]) < -1e-9) return 0;
        }
    return 1;
}

static double hull_truncation(const double pts[8][2], double W, double H)
{
    double bb[4] = {0, 0, 0, 0}, ext[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    int any = 0;
    for (int i = 0; i < 8; i++) {
        ext[0] = fmin(ext[0], pts[i][0]), ext[1] = fmin(ext[1], pts[i][1]);
        ext[2] = fmax(ext[2], pts[i][0]), ext[3] = fmax(ext[3], pts[i][1]);
        for (int j = i; j < 8; j++) seg_clip_add(pts[i], pts[j], W, H, bb, &any);
    }
    const double wc[4][2] = {{0, 0}, {W - 1, 0}, {0, H - 1}, {W - 1, H - 1}};
    for (int i = 0; i < 4; i++)
        if (in_hull(pts, wc[i])) seg_clip_add(wc[i], wc[i], W, H, bb, &any);
    double in = any ? (bb[2] - bb[0]) * (bb[3] - bb[1]) : 0;
    return 1 - in / ((ext[2] - ext[0]) * (ext[3] - ext[1]));
}

static int check_cropped(const avt_camera *cam, const avt_tf *cam_T_lidar, const avt_obox *box, const double ext[4],
                         const double p2c[8][2], double *worst)
{
    /* ext must lie inside the image with a margin for the crops below to be what they say */
    if (ext[0] < 1 || ext[1] < 1 || ext[2] > cam->width - 2 || ext[3] > cam->height - 2) return 0;
    const double wx = ext[2] - ext[0], wy = ext[3] - ext[1];
    /* {cut left at this fraction of the width, keep this fraction on the right, cut bottom} */
    static const double cuts[3][3] = {{0.3, 1, 0}, {0, 0.5, 0}, {0.3, 1, 0.2}};
    static const double expected[3] = {0.3, 0.5, 0.44};
    int n = 0;
    for (int k = 0; k < 3; k++) {
        avt_camera c = *cam;
        double left = floor(ext[0] + cuts[k][0] * wx); /* integer crops, like cropping pixels */
        double right = ext[0] + cuts[k][1] * wx, bottom = ext[3] - cuts[k][2] * wy;
        if (cuts[k][0] > 0) c.K[2] -= left, c.width -= (unsigned)left;
        if (cuts[k][1] < 1) c.width = (unsigned)floor(right - (cuts[k][0] > 0 ? left : 0)) + 1;
        if (cuts[k][2] > 0) c.height = (unsigned)floor(bottom) + 1;
        double sx = cuts[k][0] > 0 ? left : 0, e2[4] = {ext[0] - sx, ext[1], ext[2] - sx, ext[3]}, pts[8][2];
        for (int i = 0; i < 8; i++) pts[i][0] = p2c[i][0] - sx, pts[i][1] = p2c[i][1];
        double want = hull_truncation(pts, c.width, c.height);
        /* the nominal fraction, up to the integer crop (< 1 px) and the slant of the silhouette's
         * top and bottom edges (perspective) where they are cut */
        if (!(fabs(want - expected[k]) < 0.1)) fail_msg("crop %d: expected truncation %.3f, nominal %.2f", k, want, expected[k]);
        avt_cam_model m;
        assert_int_equal(avt_cam_model_init(&m, &c, NULL), 0);
        avt_box_projection bp;
        assert_true(avt_box_project(&m, cam_T_lidar, box, &bp));
        *worst = fmax(*worst, fabs(bp.truncation - want));
        print_message("  crop %d: truncation %.4f, expected %.4f (nominal %.2f)\n", k, bp.truncation, want, expected[k]);
        if (fabs(bp.truncation - want) > 1e-4)
            fail_msg("crop %d: truncation %.4f, expected %.4f (extent %.1f..%.1f x %.1f..%.1f)", k, bp.truncation, want,
                     e2[0], e2[2], e2[1], e2[3]);
        n++;
    }
    return n;
}

static void test_frames(void **state)
{
    (void)state;
    double worst_vehicle = 0, worst_vertical = 0, worst_p2 = 0, worst_trunc = 0, worst_yawonly = 0, worst_lib = 0;
    int n_vehicle = 0, n_ped = 0, n_trunc = 0, n_crop = 0;
    double worst_crop = 0;
    for (int frame = 0; frame < 2; frame++) {
        char cpath[600], lpath[600];
        snprintf(cpath, sizeof cpath, "%s/calib/%06d.txt", root, frame);
        snprintf(lpath, sizeof lpath, "%s/label_2/%06d.txt", root, frame);
        kcal k;
        double R0[9], Tr_R[9];
        read_key(cpath, "R0_rect", R0, 9);
        read_key(cpath, "Tr_velo_to_cam", k.Tr, 12);
        read_key(cpath, "P2", k.P2, 12);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) Tr_R[3 * i + j] = k.Tr[4 * i + j];
        inv3(R0, k.R0i);
        inv3(Tr_R, k.Tri);

        avt_rig rig;
        avt_error err = {0, ""};
        const char *fmt = avt_rig_format_detect(cpath, &err);
        assert_non_null(fmt);
        assert_string_equal(fmt, "kitti-object");
        if (avt_rig_load(cpath, "auto", &rig, &err)) fail_msg("%s", err.msg);
        const avt_camera *cam = NULL;
        for (size_t i = 0; i < rig.n_cameras; i++)
            if (!strcmp(rig.cameras[i].name, "image_2")) cam = &rig.cameras[i];
        assert_non_null(cam);
        assert_int_equal(cam->width, frame == 0 ? 1224 : 1242);
        assert_int_equal(cam->height, frame == 0 ? 370 : 375);
        avt_cam_model m;
        assert_int_equal(avt_cam_model_init(&m, cam, &err), 0);
        avt_tf cam_T_lidar = avt_tf_inv(&cam->lidar_T_cam), rect_T_velo;
        assert_int_equal(avt_kitti_rect_T_velo(cpath, &rect_T_velo, &err), 0);
        avt_tf velo_T_rect = avt_tf_inv(&rect_T_velo);

        FILE *f = fopen(lpath, "r");
        assert_non_null(f);
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char type[24];
            double tr, al, bb[4], h, w, l, loc[3], ry;
            int occ;
            if (sscanf(line, "%23s %lf %d %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", type, &tr, &occ, &al, &bb[0],
                       &bb[1], &bb[2], &bb[3], &h, &w, &l, &loc[0], &loc[1], &loc[2], &ry) != 15)
                fail_msg("%s: bad line %s", lpath, line);
            if (!strcmp(type, "DontCare")) continue;
            /* independent LiDAR-frame box: centre and axes through the inverse calibration */
            double cen[3] = {loc[0], loc[1] - h / 2, loc[2]}, cv[3];
            rect_to_velo(&k, cen, cv);
            double axes_rect[3][3] = {{cos(ry), 0, -sin(ry)}, {sin(ry), 0, cos(ry)}, {0, -1, 0}}, zero[3] = {0, 0, 0}, o[3];
            rect_to_velo(&k, zero, o);
            avt_obox box;
            for (int a = 0; a < 3; a++) {
                double av[3];
                rect_to_velo(&k, axes_rect[a], av);
                for (int r = 0; r < 3; r++) box.R[3 * r + a] = av[r] - o[r];
            }
            memcpy(box.center, cv, sizeof cv);
            box.size[0] = l, box.size[1] = w, box.size[2] = h;
            avt_box_projection bp;
            int vis = avt_box_project(&m, &cam_T_lidar, &box, &bp);
            assert_true(vis);

            /* KITTI's own projection of the corners with P2 */
            double c8[8][3], ext[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY}, p2c[8][2];
            corners_rect(h, w, l, loc, ry, c8);
            for (int i = 0; i < 8; i++) {
                double hp[3];
                for (int r = 0; r < 3; r++)
                    hp[r] = k.P2[4 * r] * c8[i][0] + k.P2[4 * r + 1] * c8[i][1] + k.P2[4 * r + 2] * c8[i][2] + k.P2[4 * r + 3];
                p2c[i][0] = hp[0] / hp[2], p2c[i][1] = hp[1] / hp[2];
                ext[0] = fmin(ext[0], hp[0] / hp[2]), ext[1] = fmin(ext[1], hp[1] / hp[2]);
                ext[2] = fmax(ext[2], hp[0] / hp[2]), ext[3] = fmax(ext[3], hp[1] / hp[2]);
            }
            for (int i = 0; i < 4; i++) worst_p2 = fmax(worst_p2, fabs(ext[i] - bp.extent[i]));
            n_crop += check_cropped(cam, &cam_T_lidar, &box, ext, p2c, &worst_crop);

            /* the library's conversion: exact box and the yaw-only drive-log label */
            avt_kitti_object ko;
            memset(&ko, 0, sizeof ko);
            ko.h = h, ko.w = w, ko.l = l, ko.ry = ry;
            memcpy(ko.loc, loc, sizeof loc);
            snprintf(ko.type, sizeof ko.type, "%s", type);
            avt_obox lib;
            avt_kitti_object_box(&ko, &velo_T_rect, &lib);
            for (int i = 0; i < 3; i++) worst_lib = fmax(worst_lib, fabs(lib.center[i] - box.center[i]));
            for (int i = 0; i < 9; i++) worst_lib = fmax(worst_lib, fabs(lib.R[i] - box.R[i]));
            avt_label_box lb;
            double tilt;
            avt_kitti_object_label(&ko, &velo_T_rect, &lb, &tilt);
            avt_obox yb;
            avt_tf yawtf = avt_tf_from_yaw(lb.yaw, lb.center);
            memcpy(yb.center, lb.center, sizeof yb.center);
            memcpy(yb.size, lb.size, sizeof yb.size);
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) yb.R[3 * r + c] = yawtf.m[4 * r + c];
            avt_box_projection yp;
            if (avt_box_project(&m, &cam_T_lidar, &yb, &yp))
                for (int i = 0; i < 4; i++) worst_yawonly = fmax(worst_yawonly, fabs(yp.xyxy[i] - bp.xyxy[i]));

            double d[4];
            for (int i = 0; i < 4; i++) d[i] = bp.xyxy[i] - bb[i];
            int vehicle = !strcmp(type, "Car") || !strcmp(type, "Van") || !strcmp(type, "Truck") || !strcmp(type, "Tram");
            print_message("%06d %-10s trunc %.2f occ %d  KITTI [%.2f %.2f %.2f %.2f]  ours [%.2f %.2f %.2f %.2f]  "
                          "d [%+.2f %+.2f %+.2f %+.2f]  trunc ours %.3f  tilt %.2f deg\n",
                          frame, type, tr, occ, bb[0], bb[1], bb[2], bb[3], bp.xyxy[0], bp.xyxy[1], bp.xyxy[2],
                          bp.xyxy[3], d[0], d[1], d[2], d[3], bp.truncation, tilt * 180 / M_PI);
            worst_trunc = fmax(worst_trunc, fabs(bp.truncation - tr));
            n_trunc++;
            if (fabs(bp.truncation - tr) > KITTI_TRUNC_TOL)
                fail_msg("%06d %s: truncation %.3f, KITTI %.2f", frame, type, bp.truncation, tr);
            if (occ != 0 || tr > 0.01) continue;
            if (vehicle) {
                n_vehicle++;
                for (int i = 0; i < 4; i++) worst_vehicle = fmax(worst_vehicle, fabs(d[i]));
                for (int i = 0; i < 4; i++)
                    if (fabs(d[i]) > KITTI_TOL_PX) fail_msg("%06d %s: side %d differs by %.2f px", frame, type, i, d[i]);
            } else {
                n_ped++;
                worst_vertical = fmax(worst_vertical, fmax(fabs(d[1]), fabs(d[3])));
                if (fabs(d[1]) > KITTI_TOL_PX || fabs(d[3]) > KITTI_TOL_PX)
                    fail_msg("%06d %s: top/bottom differ by %.2f / %.2f px", frame, type, d[1], d[3]);
                if (bb[0] < bp.xyxy[0] - KITTI_TOL_PX || bb[2] > bp.xyxy[2] + KITTI_TOL_PX)
                    fail_msg("%06d %s: hand-labelled left/right outside the projected 3D box", frame, type);
            }
        }
        fclose(f);
        avt_rig_free(&rig);
    }
    print_message("vehicles %d: max |2D side - KITTI| %.2f px; pedestrians/cyclists %d: max top/bottom %.2f px\n",
                  n_vehicle, worst_vehicle, n_ped, worst_vertical);
    print_message("P2 corner extent vs ours: %.2g px; truncation (%d objects): max error %.3f; library vs independent "
                  "box: %.2g; yaw-only label vs exact box: %.3f px\n",
                  worst_p2, n_trunc, worst_trunc, worst_lib, worst_yawonly);
    print_message("cropped calibrations: %d truncated objects, max |truncation - expected| %.2g\n", n_crop, worst_crop);
    assert_true(n_vehicle >= 2 && n_ped >= 1);
    assert_true(n_crop >= 3 * 4);
    assert_true(worst_p2 < 1e-3);
    assert_true(worst_lib < 1e-5);
}

/* The import: two frames with different calibrations become two logs, each with calib.yaml
 * (camera image_2 with the PNG's size), lidar/<t>.bin identical to the KITTI cloud, the image,
 * and labels whose boxes, projected through the imported calib.yaml, land within the yaw-only
 * label error (1 px) of KITTI's annotated vehicle boxes. */
static void test_import(void **state)
{
    (void)state;
    char dst[128], p[700];
    snprintf(dst, sizeof dst, "/tmp/avt_kitti_import_%d", (int)getpid());
    avt_error err = {0, ""};
    if (avt_import_kitti(root, dst, &err)) fail_msg("%s", err.msg);
    avt_rig rig;
    snprintf(p, sizeof p, "%s/000001/calib.yaml", dst);
    if (avt_rig_load(p, "auto", &rig, &err)) fail_msg("%s", err.msg);
    assert_int_equal(rig.n_cameras, 1);
    assert_string_equal(rig.cameras[0].name, "image_2");
    assert_int_equal(rig.cameras[0].width, 1242);
    avt_label_index idx;
    snprintf(p, sizeof p, "%s/000001", dst);
    assert_int_equal(avt_label_index_open(p, &idx, &err), 0);
    assert_int_equal(idx.n, 1);
    avt_label_frame fr;
    avt_schema kitti;
    assert_int_equal(avt_schema_builtin("kitti", &kitti, &err), 0);
    if (avt_label_frame_read(idx.paths[0], &kitti, &fr, &err)) fail_msg("%s", err.msg);
    /* label_2/000001.txt: Truck, Car, Cyclist as boxes, its four DontCare lines as regions */
    assert_int_equal(fr.n, 3);
    assert_int_equal(fr.boxes[0].class_id, avt_schema_class_find(&kitti, "Truck")->id);
    assert_int_equal(fr.boxes[1].class_id, avt_schema_class_find(&kitti, "Car")->id);
    assert_int_equal(fr.boxes[2].class_id, avt_schema_class_find(&kitti, "Cyclist")->id);
    assert_int_equal(fr.n_ignore, 4);
    static const double dc0[4] = {503.89, 169.71, 590.61, 190.13};
    assert_string_equal(fr.ignore[0].camera, "image_2");
    for (int i = 0; i < 4; i++) assert_true(fabs(fr.ignore[0].xyxy[i] - dc0[i]) < 1e-9);
    avt_schema_free(&kitti);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &rig.cameras[0], &err), 0);
    avt_tf cam_T_lidar = avt_tf_inv(&rig.cameras[0].lidar_T_cam);
    static const double truck[4] = {599.41, 156.40, 629.75, 189.25}, car[4] = {387.63, 181.54, 423.81, 203.12};
    for (int b = 0; b < 2; b++) {
        const avt_label_box *lb = &fr.boxes[b];
        avt_obox ob;
        avt_tf yt = avt_tf_from_yaw(lb->yaw, lb->center);
        memcpy(ob.center, lb->center, sizeof ob.center);
        memcpy(ob.size, lb->size, sizeof ob.size);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) ob.R[3 * r + c] = yt.m[4 * r + c];
        avt_box_projection bp;
        assert_true(avt_box_project(&m, &cam_T_lidar, &ob, &bp));
        for (int i = 0; i < 4; i++)
            if (fabs(bp.xyxy[i] - (b ? car : truck)[i]) > KITTI_TOL_PX + 1.0)
                fail_msg("imported box %d side %d: %.2f vs KITTI %.2f", b, i, bp.xyxy[i], (b ? car : truck)[i]);
    }
    avt_label_frame_free(&fr);
    avt_label_index_free(&idx);
    avt_rig_free(&rig);
    /* the cloud is copied unchanged and reads back with the KITTI reader */
    avt_pointcloud pc;
    snprintf(p, sizeof p, "%s/000001/lidar/1317000000000000000.bin", dst);
    if (avt_pointcloud_read(p, AVT_PC_AUTO, &pc, &err)) fail_msg("%s", err.msg);
    assert_int_equal(pc.n, 120268);
    assert_true(fabsf(pc.xyz[0] - 49.52f) < 1e-2f);
    avt_pointcloud_free(&pc);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dst);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/kitti/object", AVT_SHARED_DATA);
    struct stat st;
    if (stat(root, &st) != 0) {
        printf("SKIP: %s absent (KITTI object frames from ../shared/data)\n", root);
        return 77;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_frames), cmocka_unit_test(test_import)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
