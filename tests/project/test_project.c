/* Unit tests of the camera models and 2D box projection against independent computations:
 * brute-force dense sampling of the box surface, the pinhole formula, ray casting. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avtruth/project.h"

static avt_camera make_cam(const double *dist, int nd)
{
    avt_camera c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "t");
    c.width = 640;
    c.height = 400;
    double K[9] = {450, 0, 321.5, 0, 455, 198.25, 0, 0, 1};
    memcpy(c.K, K, sizeof K);
    c.n_dist = nd;
    for (int i = 0; i < nd; i++) c.dist[i] = dist[i];
    snprintf(c.distortion_model, sizeof c.distortion_model, nd ? "radtan" : "none");
    c.lidar_T_cam = avt_tf_identity();
    return c;
}

static avt_obox make_box(double cx, double cy, double cz, double l, double w, double h, double yaw)
{
    avt_obox b;
    b.center[0] = cx, b.center[1] = cy, b.center[2] = cz;
    b.size[0] = l, b.size[1] = w, b.size[2] = h;
    /* rotation about the camera's y axis (vertical in OpenCV axes) */
    double c = cos(yaw), s = sin(yaw);
    double R[9] = {c, 0, s, 0, 1, 0, -s, 0, c};
    memcpy(b.R, R, sizeof R);
    return b;
}

/* Independent reference: sample every face of the box on a dense grid, project the valid
 * samples, keep those inside [0,W-1]x[0,H-1]. */
static void add_uv(const avt_cam_model *m, const double p[3], int *any, double out[4])
{
    double uv[2];
    if (!avt_cam_project(m, p, uv)) return;
    if (uv[0] < 0 || uv[1] < 0 || uv[0] > m->width - 1 || uv[1] > m->height - 1) return;
    if (!*any) {
        out[0] = out[2] = uv[0];
        out[1] = out[3] = uv[1];
        *any = 1;
    }
    out[0] = fmin(out[0], uv[0]);
    out[1] = fmin(out[1], uv[1]);
    out[2] = fmax(out[2], uv[0]);
    out[3] = fmax(out[3], uv[1]);
}

/* The faces sampled on an n x n grid, plus the 12 edges sampled at 200000 points each (the
 * face grid alone is too coarse for boxes close to the camera). */
static int brute_bbox(const avt_cam_model *m, const avt_obox *b, int n, double out[4])
{
    int any = 0;
    double c[8][3];
    avt_obox_corners(b, c);
    for (int i = 0; i < 8; i++)
        for (int bit = 1; bit < 8; bit <<= 1) {
            int j = i | bit;
            if (j == i) continue;
            for (int s = 0; s <= 200000; s++) {
                double t = s / 200000.0, p[3];
                for (int k = 0; k < 3; k++) p[k] = c[i][k] + t * (c[j][k] - c[i][k]);
                add_uv(m, p, &any, out);
            }
        }
    for (int face = 0; face < 6; face++) {
        int axis = face / 2;
        double sign = face % 2 ? 0.5 : -0.5;
        for (int i = 0; i <= n; i++)
            for (int j = 0; j <= n; j++) {
                double l[3];
                int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
                l[axis] = sign * b->size[axis];
                l[a1] = (-0.5 + (double)i / n) * b->size[a1];
                l[a2] = (-0.5 + (double)j / n) * b->size[a2];
                double p[3];
                for (int k = 0; k < 3; k++)
                    p[k] = b->center[k] + b->R[3 * k] * l[0] + b->R[3 * k + 1] * l[1] + b->R[3 * k + 2] * l[2];
                add_uv(m, p, &any, out);
            }
    }
    return any;
}

static void test_pinhole_formula(void **state)
{
    (void)state;
    avt_camera cam = make_cam(NULL, 0);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    double p[3] = {1.5, -0.75, 6}, uv[2];
    assert_true(avt_cam_project(&m, p, uv));
    assert_true(fabs(uv[0] - (450 * 1.5 / 6 + 321.5)) < 1e-12);
    assert_true(fabs(uv[1] - (455 * -0.75 / 6 + 198.25)) < 1e-12);
    double behind[3] = {0.1, 0.1, -2};
    assert_false(avt_cam_project(&m, behind, uv));
}

static void test_unproject_roundtrip(void **state)
{
    (void)state;
    const double d[5] = {-0.32, 0.11, 0.0012, -0.0017, -0.02};
    avt_camera cam = make_cam(d, 5);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    srand(7);
    for (int i = 0; i < 2000; i++) {
        double uv[2] = {rand() % 640, rand() % 400}, ray[3], back[2];
        assert_true(avt_cam_unproject(&m, uv, ray));
        assert_true(avt_cam_project(&m, ray, back));
        assert_true(fabs(back[0] - uv[0]) < 1e-6 && fabs(back[1] - uv[1]) < 1e-6);
    }
}

static void test_monotonic_region(void **state)
{
    (void)state;
    /* k1 < 0 alone folds back at r^2 = 1 / (3 |k1|) */
    const double d[4] = {-0.4, 0, 0, 0};
    avt_camera cam = make_cam(d, 4);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    assert_true(fabs(m.r2_max - 1.0 / 1.2) < 0.01);
    double far[3] = {3, 0, 1}, uv[2]; /* r = 3: the polynomial would fold it back into view */
    assert_false(avt_cam_project(&m, far, uv));
}

static void check_against_brute(const avt_cam_model *m, const avt_obox *b, double tol)
{
    avt_tf I = avt_tf_identity();
    avt_box_projection bp;
    double ref[4];
    int vis = avt_box_project(m, &I, b, &bp);
    int ref_vis = brute_bbox(m, b, 300, ref);
    assert_int_equal(vis, ref_vis);
    if (!vis) return;
    for (int k = 0; k < 4; k++) {
        if (fabs(bp.xyxy[k] - ref[k]) > tol)
            fail_msg("xyxy[%d] = %.4f, dense sampling %.4f", k, bp.xyxy[k], ref[k]);
    }
}

static void test_box_inside_distorted(void **state)
{
    (void)state;
    const double d[5] = {-0.32, 0.11, 0.0012, -0.0017, -0.02};
    avt_camera cam = make_cam(d, 5);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    /* a wide box near the top of the image: barrel distortion bends its top edge outward, so
     * the extent is not that of the 8 corners */
    avt_obox b = make_box(0.3, -1.2, 5, 4.5, 0.8, 1.9, 0.4);
    avt_tf I = avt_tf_identity();
    avt_box_projection bp;
    assert_true(avt_box_project(&m, &I, &b, &bp));
    double cmin = INFINITY;
    for (int i = 0; i < 8; i++) cmin = fmin(cmin, bp.corners[i][1]);
    check_against_brute(&m, &b, 0.05);
    assert_true(bp.xyxy[1] >= 0);
    (void)cmin;
}

static void test_box_crossing_near_plane(void **state)
{
    (void)state;
    const double d[5] = {-0.32, 0.11, 0.0012, -0.0017, -0.02};
    avt_camera cam = make_cam(d, 5);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    /* a box beside the camera reaching from behind it to 4 m in front */
    avt_obox b = make_box(2.2, 0.3, 1.0, 1.5, 1.0, 6.0, M_PI / 2);
    avt_tf I = avt_tf_identity();
    avt_box_projection bp;
    assert_true(avt_box_project(&m, &I, &b, &bp));
    int nan_corners = 0;
    for (int i = 0; i < 8; i++) nan_corners += isnan(bp.corners[i][0]);
    assert_true(nan_corners >= 4); /* the corners behind the camera are NaN, not dropped boxes */
    assert_true(bp.xyxy[2] == 639); /* it runs off the right border */
    assert_true(bp.truncation > 0.3);
    check_against_brute(&m, &b, 0.05);
}

static void test_box_not_visible(void **state)
{
    (void)state;
    avt_camera cam = make_cam(NULL, 0);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    avt_tf I = avt_tf_identity();
    avt_box_projection bp;
    avt_obox behind = make_box(0, 0, -5, 2, 2, 2, 0);
    assert_false(avt_box_project(&m, &I, &behind, &bp));
    avt_obox beside = make_box(30, 0, 3, 2, 2, 2, 0); /* far outside the field of view */
    assert_false(avt_box_project(&m, &I, &beside, &bp));
}

static void test_box_covers_image(void **state)
{
    (void)state;
    const double d[5] = {-0.32, 0.11, 0.0012, -0.0017, -0.02};
    avt_camera cam = make_cam(d, 5);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    /* the camera sits inside a large box: every image corner is covered */
    avt_obox b = make_box(0, 0, 0, 20, 20, 20, 0.2);
    avt_tf I = avt_tf_identity();
    avt_box_projection bp;
    assert_true(avt_box_project(&m, &I, &b, &bp));
    assert_true(bp.xyxy[0] == 0 && bp.xyxy[1] == 0 && bp.xyxy[2] == 639 && bp.xyxy[3] == 399);
}

static void test_random_boxes_against_brute(void **state)
{
    (void)state;
    const double d[5] = {-0.25, 0.07, -0.001, 0.002, -0.01};
    avt_camera cam = make_cam(d, 5);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &cam, NULL), 0);
    srand(99);
    for (int i = 0; i < 40; i++) {
        double r = (double)rand() / RAND_MAX;
        avt_obox b = make_box(-6 + 12 * ((double)rand() / RAND_MAX), -1.5 + 3 * ((double)rand() / RAND_MAX),
                              -2 + 14 * r, 0.5 + 4 * ((double)rand() / RAND_MAX), 0.5 + 2 * ((double)rand() / RAND_MAX),
                              0.5 + 2 * ((double)rand() / RAND_MAX), 6.28 * ((double)rand() / RAND_MAX));
        check_against_brute(&m, &b, 0.05);
    }
}

/* The batch projections (vectorised radtan-5 path at each instruction-set level, and the
 * generic path) agree with avt_cam_project point by point:
 *  - the same validity rule exactly: NaN pixels for exactly the points avt_cam_project rejects
 *    (behind the camera, outside the monotonic region), including points within a few ulp of
 *    the region's border, Z = +-0, NaN and infinite inputs;
 *  - the same in-image validity, except within 1e-3 px of the image border, where the batch
 *    test is on float coordinates;
 *  - pixels within 1e-4 px, and all SIMD levels bit-identical to each other. */
enum { N_BATCH = 20011 };

static void batch_points(const avt_cam_model *m, const avt_tf *T, float *x, float *y, float *z)
{
    srand(7);
    for (int i = 0; i < N_BATCH; i++) {
        x[i] = (float)(rand() / (double)RAND_MAX * 8 - 4);
        y[i] = (float)(rand() / (double)RAND_MAX * 6 - 3);
        z[i] = (float)(rand() / (double)RAND_MAX * 6 - 1);
    }
    /* special points, given in the camera frame and mapped back through T^-1 */
    avt_tf inv = avt_tf_inv(T);
    const double r_edge = sqrt(m->r2_max);
    int k = 0;
    /* around the monotonic region's border, at z = 2 and 3: with the identity transform these are
     * the float neighbours on either side of it (and the border point itself when it is a float) */
    for (int zi = 2; zi <= 3; zi++) {
        float xf = (float)(r_edge * zi);
        for (int j = 0; j < 20; j++) xf = nextafterf(xf, 0);
        for (int j = -20; j <= 20; j++, k++) {
            double c[3] = {xf, 0, zi}, s[3];
            avt_tf_apply(&inv, c, s);
            x[k] = (float)s[0], y[k] = (float)s[1], z[k] = (float)s[2];
            xf = nextafterf(xf, INFINITY);
        }
    }
    const float specials[][3] = {{0, 0, 0}, {1, 0, 0}, {0, 0, -0.0f}, {NAN, 0, 1}, {0, 0, NAN},
                                 {INFINITY, 0, 1}, {0, 0, INFINITY}, {0, 0, -INFINITY}, {1e30f, 1e30f, 1e-30f}};
    for (size_t j = 0; j < sizeof specials / sizeof specials[0]; j++, k++)
        x[k] = specials[j][0], y[k] = specials[j][1], z[k] = specials[j][2];
}

/* Sort key of check_visible: the point's azimuth about the camera's y axis. */
typedef struct az_point {
    double az;
    float p[3];
} az_point;

static int az_cmp(const void *a, const void *b)
{
    const double x = ((const az_point *)a)->az, y = ((const az_point *)b)->az;
    return (x > y) - (x < y) + 2 * (isnan(x) - isnan(y));
}

/* avt_cam_project_visible against avt_cam_project_points: the same valid flags, and the same
 * pixels and depths where valid; on the points as they are, with the points behind the camera
 * moved to the front, so that whole blocks of them can be skipped, and sorted by azimuth
 * around the camera (as a sweep is), so that whole blocks lie left or right of the image. */
static void check_visible(const avt_cam_model *m, const avt_tf *T, const float *xyz, int n)
{
    float *sorted = malloc((size_t)n * 12), *by_az = malloc((size_t)n * 12);
    az_point *ap = malloc((size_t)n * sizeof *ap);
    float *uv = malloc((size_t)n * 8), *uv2 = malloc((size_t)n * 8);
    float *d = malloc((size_t)n * 4), *d2 = malloc((size_t)n * 4);
    uint8_t *v = malloc((size_t)n), *v2 = malloc((size_t)n);
    assert_true(sorted && by_az && ap && uv && uv2 && d && d2 && v && v2);
    int k = 0, behind = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            double p0[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]}, p[3];
            avt_tf_apply(T, p0, p);
            if ((p[2] <= 0) == (pass == 0)) {
                memcpy(&sorted[3 * k++], &xyz[3 * i], 12);
                behind += pass == 0;
            }
        }
    assert_true(behind > 1024); /* several whole blocks */
    for (int i = 0; i < n; i++) {
        double p0[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]}, p[3];
        avt_tf_apply(T, p0, p);
        ap[i].az = atan2(p[0], p[2]);
        memcpy(ap[i].p, &xyz[3 * i], 12);
    }
    qsort(ap, (size_t)n, sizeof *ap, az_cmp);
    for (int i = 0; i < n; i++) memcpy(&by_az[3 * i], ap[i].p, 12);
    for (int round = 0; round < 3; round++) {
        const float *pts = round == 0 ? xyz : round == 1 ? sorted : by_az;
        avt_cam_project_points(m, T, pts, (size_t)n, uv, d, v);
        avt_point_blocks blk = {0};
        assert_int_equal(avt_point_blocks_build(&blk, pts, (size_t)n), AVT_OK);
        avt_cam_project_visible(m, T, pts, (size_t)n, &blk, NULL, uv2, d2, v2);
        assert_memory_equal(v, v2, (size_t)n);
        for (int i = 0; i < n; i++)
            if (v[i]) {
                assert_memory_equal(&uv[2 * i], &uv2[2 * i], 8);
                assert_memory_equal(&d[i], &d2[i], 4);
            }
        /* the caller's own block flags: every other block skipped, with or without boxes */
        const size_t nblk = ((size_t)n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK;
        uint8_t *on = malloc(nblk);
        assert_non_null(on);
        for (size_t j = 0; j < nblk; j++) on[j] = (uint8_t)(j % 2);
        for (int with_boxes = 0; with_boxes < 2; with_boxes++) {
            memset(v2, 7, (size_t)n);
            avt_cam_project_visible(m, T, pts, (size_t)n, with_boxes ? &blk : NULL, on, uv2, d2, v2);
            for (int i = 0; i < n; i++) {
                assert_int_equal(v2[i], on[(size_t)i / AVT_POINT_BLOCK] ? v[i] : 0);
                if (v2[i]) {
                    assert_memory_equal(&uv[2 * i], &uv2[2 * i], 8);
                    assert_memory_equal(&d[i], &d2[i], 4);
                }
            }
        }
        free(on);
        avt_point_blocks_free(&blk);
    }
    free(sorted), free(by_az), free(ap), free(uv), free(uv2), free(d), free(d2), free(v), free(v2);
}

static void check_border_blocks(const avt_cam_model *m, const avt_tf *T);

static void check_batch_T(const double *dist, int nd, const avt_tf *T)
{
    avt_camera c = make_cam(dist, nd);
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, &c, NULL), 0);
    enum { N = N_BATCH };
    float *xyz = malloc(N * 12), *x = malloc(N * 4), *y = malloc(N * 4), *z = malloc(N * 4), *uv = malloc(N * 8);
    float *u = malloc(N * 4), *v = malloc(N * 4), *d1 = malloc(N * 4), *d2 = malloc(N * 4);
    float *uv0 = malloc(N * 8), *u0 = malloc(N * 4), *v0 = malloc(N * 4);
    uint8_t *v1 = malloc(N), *v2 = malloc(N), *v3 = malloc(N), *v4 = malloc(N);
    assert_true(xyz && x && y && z && uv && u && v && d1 && d2 && uv0 && u0 && v0 && v1 && v2 && v3 && v4);
    batch_points(&m, T, x, y, z);
    for (int i = 0; i < N; i++) xyz[3 * i] = x[i], xyz[3 * i + 1] = y[i], xyz[3 * i + 2] = z[i];
    int best = m.simd;
    for (int level = AVT_SIMD_BASELINE; level <= best; level++) {
        m.simd = level;
        avt_cam_project_points(&m, T, xyz, N, uv, d1, v1);
        avt_cam_project_points_soa(&m, T, x, y, z, N, u, v, d2, v2);
        if (level == AVT_SIMD_BASELINE) {
            memcpy(uv0, uv, N * 8), memcpy(u0, u, N * 4), memcpy(v0, v, N * 4), memcpy(v3, v1, N), memcpy(v4, v2, N);
        } else { /* bit-identical to the baseline level (NaN == NaN through memcmp) */
            assert_memory_equal(uv, uv0, N * 8);
            assert_memory_equal(u, u0, N * 4);
            assert_memory_equal(v, v0, N * 4);
            assert_memory_equal(v1, v3, N);
            assert_memory_equal(v2, v4, N);
        }
        check_visible(&m, T, xyz, N);
        check_border_blocks(&m, T);
        int n_valid = 0, n_front_invalid = 0;
        for (int i = 0; i < N; i++) {
            double p0[3] = {x[i], y[i], z[i]}, p[3], r[2];
            avt_tf_apply(T, p0, p);
            int ok = avt_cam_project(&m, p, r);
            int pix = !isnan(uv[2 * i]) + !isnan(uv[2 * i + 1]) + !isnan(u[i]) + !isnan(v[i]);
            if (pix != 4 * ok)
                fail_msg("n=%d simd %d point %d (%g %g %g): avt_cam_project says %d, batch u = %g / %g", nd, level, i,
                         p[0], p[1], p[2], ok, uv[2 * i], u[i]);
            n_front_invalid += !ok && p[2] > 0;
            int in = ok && r[0] >= -0.5 && r[0] < c.width - 0.5 && r[1] >= -0.5 && r[1] < c.height - 0.5;
            int near_border = ok && (fabs(r[0] + 0.5) < 1e-3 || fabs(r[0] - (c.width - 0.5)) < 1e-3 ||
                                     fabs(r[1] + 0.5) < 1e-3 || fabs(r[1] - (c.height - 0.5)) < 1e-3);
            if (!near_border && (v1[i] != in || v2[i] != in))
                fail_msg("n=%d simd %d point %d: valid %d/%d, reference %d", nd, level, i, v1[i], v2[i], in);
            if (isfinite(p[2])) assert_true(fabs(d1[i] - p[2]) <= 1e-5 * fmax(1, fabs(p[2])));
            assert_memory_equal(&d1[i], &d2[i], sizeof d1[i]);
            if (!in) continue;
            n_valid++;
            if (!(fabs(uv[2 * i] - r[0]) < 1e-4 && fabs(uv[2 * i + 1] - r[1]) < 1e-4 && fabs(u[i] - r[0]) < 1e-4 &&
                  fabs(v[i] - r[1]) < 1e-4))
                fail_msg("n=%d simd %d point %d: (%.6f %.6f), reference (%.6f %.6f)", nd, level, i, u[i], v[i], r[0],
                         r[1]);
        }
        assert_true(n_valid > 1000);
        /* the border straddlers are on both sides when the region is bounded (k1 < 0) */
        if (nd >= 4 && m.r2_max < 2500) assert_true(n_front_invalid > 1000);
    }
    free(xyz), free(x), free(y), free(z), free(uv), free(u), free(v), free(d1), free(d2);
    free(uv0), free(u0), free(v0), free(v1), free(v2), free(v3), free(v4);
}

/* Culling at the image border: clusters of AVT_POINT_BLOCK points (one block each) around
 * the preimages of pixels a quarter pixel inside and outside the image border, every 16th
 * pixel of each side, at depths 0.5 to 80 m. A block may be skipped only if none of its points
 * is valid: avt_cam_project_visible must give the valid flags of avt_cam_project_points (a
 * cluster inside that was skipped for want of a margin would differ). */
static void check_border_blocks(const avt_cam_model *m, const avt_tf *T)
{
    enum { B = AVT_POINT_BLOCK, MAXC = 1200 };
    float *xyz = malloc((size_t)MAXC * B * 12), *uv = malloc((size_t)MAXC * B * 8), *uv2 = malloc((size_t)MAXC * B * 8);
    float *d = malloc((size_t)MAXC * B * 4), *d2 = malloc((size_t)MAXC * B * 4);
    uint8_t *v = malloc((size_t)MAXC * B), *v2 = malloc((size_t)MAXC * B);
    assert_true(xyz && uv && uv2 && d && d2 && v && v2);
    const avt_tf inv = avt_tf_inv(T);
    const double W = m->width - 0.5, H = m->height - 0.5, depths[3] = {0.5, 7, 80};
    size_t nc = 0, inside = 0;
    for (int side = 0; side < 4; side++)
        for (double f = 0; f <= 1 && nc + 6 <= MAXC; f += 16.0 / (side < 2 ? m->width : m->height))
            for (int out = 0; out < 2; out++)
                for (int z = 0; z < 3; z++) {
                    const double e = out ? -0.25 : 0.25; /* inward is + */
                    double px[2];
                    if (side < 2) px[0] = -0.5 + f * (W + 0.5), px[1] = side ? H - e : -0.5 + e;
                    else px[0] = side == 3 ? W - e : -0.5 + e, px[1] = -0.5 + f * (H + 0.5);
                    px[0] = fmin(fmax(px[0], -0.25), W - 0.25), px[1] = fmin(fmax(px[1], -0.25), H - 0.25);
                    if (out) { /* push the outward coordinate back out */
                        if (side < 2) px[1] = side ? H + 0.25 : -0.75;
                        else px[0] = side == 3 ? W + 0.25 : -0.75;
                    }
                    double ray[3];
                    if (!avt_cam_unproject(m, px, ray)) continue;
                    for (int i = 0; i < B; i++) { /* a cluster 1e-4 of the depth across */
                        double r = 1 + 1e-4 * ((i % 7) - 3) / 3, c[3] = {ray[0] * depths[z] * r, ray[1] * depths[z] * r,
                                                                           depths[z] * r}, s[3];
                        avt_tf_apply(&inv, c, s);
                        float *o = &xyz[3 * (nc * B + (size_t)i)];
                        o[0] = (float)s[0], o[1] = (float)s[1], o[2] = (float)s[2];
                    }
                    nc++;
                }
    const size_t n = nc * B;
    avt_point_blocks blk = {0};
    assert_int_equal(avt_point_blocks_build(&blk, xyz, n), AVT_OK);
    avt_cam_project_points(m, T, xyz, n, uv, d, v);
    avt_cam_project_visible(m, T, xyz, n, &blk, NULL, uv2, d2, v2);
    assert_memory_equal(v, v2, n);
    for (size_t c = 0; c < nc; c++) {
        size_t any = 0;
        for (int i = 0; i < B; i++) any += v[c * B + (size_t)i];
        inside += any > 0;
    }
    assert_true(inside > nc / 4); /* clusters on both sides were made */
    assert_true(inside < nc);
    avt_point_blocks_free(&blk);
    free(xyz), free(uv), free(uv2), free(d), free(d2), free(v), free(v2);
}

static void check_batch(const double *dist, int nd)
{
    double q[4] = {0.99, 0.05, -0.08, 0.02}, t[3] = {0.3, -0.2, 0.1};
    avt_tf T = avt_tf_from_qt(q, t), I = avt_tf_identity();
    check_batch_T(dist, nd, &T);
    check_batch_T(dist, nd, &I);
}

static void test_batch_matches_single(void **state)
{
    (void)state;
    static const double d5[5] = {-0.3, 0.1, 0.001, -0.0015, -0.02};
    static const double d8[8] = {-0.3, 0.1, 0.001, -0.0015, -0.02, 0.05, -0.01, 0.002};
    check_batch(NULL, 0);
    check_batch(d5, 4);
    check_batch(d5, 5); /* vectorised path */
    check_batch(d8, 8); /* generic path */
}

/* Each block's range of the offsets t[0..n), computed directly (the windows' input that
 * avt_time_offsets gives the build). */
static void block_ranges(const int32_t *t, size_t n, int32_t (*r)[2])
{
    for (size_t j = 0; j * AVT_POINT_BLOCK < n; j++) {
        r[j][0] = INT32_MAX, r[j][1] = INT32_MIN;
        for (size_t i = j * AVT_POINT_BLOCK; i < n && i < (j + 1) * AVT_POINT_BLOCK; i++) {
            r[j][0] = t[i] < r[j][0] ? t[i] : r[j][0];
            r[j][1] = t[i] > r[j][1] ? t[i] : r[j][1];
        }
    }
}

/* The time window: offsets t with t_cam - hp < sweep_ts + t <= t_cam + hp, checked point by
 * point in 64 bits (no saturation needed there) against the window's int32 bounds and mask,
 * near the int32 limits and far beyond them; and the blocks kept are those with such a point. */
static void test_time_window(void **state)
{
    (void)state;
    avt_time_window w = avt_time_window_of(0, 5, 7);
    assert_int_equal(w.kind, 0); /* no period yet: every point, every block */
    {
        uint8_t v[3] = {1, 0, 1}, o[1] = {9};
        const int32_t d[3] = {INT32_MIN, 0, INT32_MAX}, r[1][2] = {{INT32_MIN, INT32_MAX}};
        avt_time_window_mask(w, d, r, 3, v);
        assert_true(v[0] == 1 && v[1] == 0 && v[2] == 1);
        assert_null(avt_time_window_blocks(w, r, 3, o));
    }
    const int64_t ts = 1700000000000000000LL, hp = 50000000;
    const int64_t cams[] = {ts, ts + 30000000, ts - 2147483648LL - hp, ts + 2147483647LL + hp - 1,
                            ts + 2147483647LL + hp, ts + 4000000000000LL, ts - 4000000000000LL, INT64_MAX, INT64_MIN};
    enum { N = 4 * AVT_POINT_BLOCK + 17 };
    static int32_t t[N];
    static uint8_t valid[N], on[N / AVT_POINT_BLOCK + 1];
    static int32_t trange[N / AVT_POINT_BLOCK + 1][2];
    uint64_t seed = 11;
    for (size_t i = 0; i < N; i++) { /* offsets all over the int32 range, and near the bounds */
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        t[i] = i % 3 == 0 ? (int32_t)(seed >> 32) : (int32_t)((int64_t)(seed >> 40) % 200000000 - 100000000);
        if (i == 5) t[i] = INT32_MIN;
        if (i == 6) t[i] = INT32_MAX;
        if (i == 7) t[i] = 30000000 + (int32_t)hp; /* on the upper bound: in */
        if (i == 8) t[i] = 30000000 - (int32_t)hp; /* on the lower bound: out */
    }
    block_ranges(t, N, trange);
    for (size_t k = 0; k < sizeof cams / sizeof cams[0]; k++) {
        w = avt_time_window_of(hp, ts, cams[k]);
        memset(valid, 1, sizeof valid);
        avt_time_window_mask(w, t, trange, N, valid);
        memset(on, 7, sizeof on);
        const uint8_t *blk = avt_time_window_blocks(w, trange, N, on);
        assert_ptr_equal(blk, on);
        size_t in = 0;
        /* in 128 bits: cams[k] may be INT64_MIN or INT64_MAX */
        const __int128 c = cams[k];
        for (size_t i = 0; i < N; i++) {
            const __int128 abs_t = (__int128)ts + t[i];
            const int want = abs_t > c - hp && abs_t <= c + hp;
            assert_int_equal(valid[i], want);
            in += (size_t)want;
        }
        /* a block is on exactly when its range of offsets meets the window */
        for (size_t j = 0; j * AVT_POINT_BLOCK < N; j++)
            assert_int_equal(blk[j], (__int128)ts + trange[j][1] > c - hp && (__int128)ts + trange[j][0] <= c + hp);
        if (k == 1) assert_true(valid[7] && !valid[8] && in > 0);
        if (k >= 5) { /* thousands of seconds away: nothing, and no block */
            assert_int_equal(w.kind, -1);
            assert_int_equal(in, 0);
        }
    }
    /* offsets in time order, as a sweep's are (50 us apart, -50 ms on): blocks wholly in the
     * window, wholly out and crossed by a bound (the last two windows put a block's first
     * offset one below the window and another's last one above it), and points already
     * invalid stay so (none of them on a bound) */
    const int64_t cams2[] = {ts, ts + 30000000, ts - 60000000, ts + 25600000, ts - 74450001};
    for (size_t i = 0; i < N; i++) t[i] = (int32_t)((int64_t)i * 50000 - 50000000);
    block_ranges(t, N, trange);
    int kinds[3] = {0, 0, 0}; /* blocks wholly in, wholly out, crossed */
    for (size_t k = 0; k < sizeof cams2 / sizeof *cams2; k++) {
        w = avt_time_window_of(hp, ts, cams2[k]);
        for (size_t i = 0; i < N; i++) valid[i] = i % 7 != 3;
        avt_time_window_mask(w, t, trange, N, valid);
        size_t in_blk[N / AVT_POINT_BLOCK + 1] = {0};
        for (size_t i = 0; i < N; i++) {
            const int64_t abs_t = ts + t[i];
            const int in = abs_t > cams2[k] - hp && abs_t <= cams2[k] + hp;
            assert_int_equal(valid[i], i % 7 != 3 && in);
            in_blk[i / AVT_POINT_BLOCK] += (size_t)in;
        }
        for (size_t j = 0; j * AVT_POINT_BLOCK < N; j++) {
            const size_t len = (j + 1) * AVT_POINT_BLOCK < N ? AVT_POINT_BLOCK : N - j * AVT_POINT_BLOCK;
            kinds[in_blk[j] == len ? 0 : in_blk[j] == 0 ? 1 : 2]++;
        }
    }
    assert_true(kinds[0] > 0 && kinds[1] > 0 && kinds[2] > 0);

    /* avt_valid_next walks exactly the set flags */
    memset(valid, 0, sizeof valid);
    const size_t set[] = {0, 9, 10, 63, 64, 65, N - 1};
    for (size_t k = 0; k < 7; k++) valid[set[k]] = 1;
    size_t k = 0;
    for (size_t i = avt_valid_next(valid, 0, N); i < N; i = avt_valid_next(valid, i + 1, N)) assert_int_equal(i, set[k++]);
    assert_int_equal(k, 7);
}

/* The offsets and block ranges against a direct computation; a point 2^31 ns away is found. */
static void test_time_offsets(void **state)
{
    (void)state;
    enum { N = 3 * AVT_POINT_BLOCK + 5 };
    static int64_t t[N];
    static int32_t d[N], r[4][2];
    const int64_t ref = 1700000000000000000LL;
    for (size_t i = 0; i < N; i++) t[i] = ref - 50000000 + (int64_t)((i * 7919) % N) * 1000;
    assert_int_equal(avt_time_offsets(t, N, ref, d, r), N);
    for (size_t j = 0; j < 4; j++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = j * AVT_POINT_BLOCK; i < N && i < (j + 1) * AVT_POINT_BLOCK; i++) {
            assert_int_equal(d[i], t[i] - ref);
            lo = t[i] - ref < lo ? t[i] - ref : lo;
            hi = t[i] - ref > hi ? t[i] - ref : hi;
        }
        assert_int_equal(r[j][0], lo);
        assert_int_equal(r[j][1], hi);
    }
    t[N - 2] = ref + 2147483647LL; /* still fits */
    assert_int_equal(avt_time_offsets(t, N, ref, d, r), N);
    t[N - 3] = ref - 2147483649LL;
    t[N - 1] = ref + 2147483648LL;
    assert_int_equal(avt_time_offsets(t, N, ref, d, r), N - 3);
}

/* Depth samples and each box's visible points against a direct count: points of box 0 behind
 * a nearer point of no box in the same cell are hidden; a point 0.5 m behind is not. */
static void test_depth_samples_boxes(void **state)
{
    (void)state;
    avt_depth_grid g;
    assert_int_equal(avt_depth_grid_init(&g, 64, 32), AVT_OK);
    avt_depth_grid_clear(&g);
    /* cell (0,0): a wall at 5 m (no box), box 0 at 5.5 m (visible: not more than 0.5 m
     * behind) and 6 m (hidden); cell (5,2): box 1 alone at 20 m; one invalid point of box 1 */
    const float uv[] = {1, 1, 2, 2, 3, 1, 21, 9, 22, 10, 30, 30};
    const float depth[] = {5, 5.5f, 6, 20, 20, 1};
    const uint8_t valid[] = {1, 1, 1, 1, 1, 0};
    const int32_t box[] = {-1, 0, 0, 1, 1, 1};
    float suv[12], sd[6];
    size_t nd = avt_depth_samples_add(&g, uv, depth, valid, 6, suv, sd, 0);
    assert_int_equal(nd, 5);
    for (size_t i = 0; i < nd; i++) {
        assert_true(sd[i] == depth[i] && suv[2 * i] == uv[2 * i] && suv[2 * i + 1] == uv[2 * i + 1]);
    }
    uint32_t in_img[2] = {99, 99}, vis[2] = {99, 99};
    avt_depth_box_points(&g, uv, depth, valid, box, 6, 2, in_img, vis);
    assert_int_equal(in_img[0], 2);
    assert_int_equal(vis[0], 1);
    assert_int_equal(in_img[1], 2);
    assert_int_equal(vis[1], 2);
    /* appended after the samples already there */
    assert_int_equal(avt_depth_samples_add(&g, uv, depth, valid, 2, suv, sd, 3), 5);
    assert_true(sd[3] == 5 && sd[4] == 5.5f);
    avt_depth_grid_free(&g);
}

/* The depth grid by hand: a 10 x 7 image in 4-pixel cells is 3 x 2 cells; a pixel's cell is
 * (u + 0.5) / 4, (v + 0.5) / 4, the last row and column clamped. */
static void test_depth_grid(void **state)
{
    (void)state;
    avt_depth_grid g;
    assert_int_equal(avt_depth_grid_init(&g, 10, 7), AVT_OK);
    assert_int_equal(g.gw, 3);
    assert_int_equal(g.gh, 2);
    avt_depth_grid_clear(&g);
    const float a[2] = {1, 1}, b[2] = {3.4f, 3.4f}, c[2] = {3.6f, 1}, far[2] = {9.4f, 6.4f}, d[2] = {8.6f, 4};
    assert_true(avt_depth_grid_visible(&g, a, 100)); /* empty: everything visible */
    avt_depth_grid_add(&g, a, 10);
    assert_true(avt_depth_grid_visible(&g, b, 10.5f)); /* same cell (0,0), within 0.5 m */
    assert_false(avt_depth_grid_visible(&g, b, 10.6f));
    assert_true(avt_depth_grid_visible(&g, c, 50)); /* cell (1,0): nothing there */
    avt_depth_grid_add(&g, far, 2);                  /* (2.48, 1.73) -> cell (2,1) */
    assert_false(avt_depth_grid_visible(&g, d, 3));  /* (2.28, 1.13) -> the same cell */
    avt_depth_grid_add(&g, a, 20);                   /* a farther point does not raise the minimum */
    assert_false(avt_depth_grid_visible(&g, b, 10.6f));
    avt_depth_grid_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_grid),
        cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_time_offsets),
        cmocka_unit_test(test_depth_samples_boxes),
        cmocka_unit_test(test_batch_matches_single),  cmocka_unit_test(test_pinhole_formula),       cmocka_unit_test(test_unproject_roundtrip),
        cmocka_unit_test(test_monotonic_region),      cmocka_unit_test(test_box_inside_distorted),
        cmocka_unit_test(test_box_crossing_near_plane), cmocka_unit_test(test_box_not_visible),
        cmocka_unit_test(test_box_covers_image),      cmocka_unit_test(test_random_boxes_against_brute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
