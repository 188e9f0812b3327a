/* Tests of the synth renderer against an independent forward projection: the silhouette of a
 * box found by per-pixel ray casting (undistortion + slab test) must match the forward
 * projection (pinhole + radial-tangential distortion, written again here) of its edges; the
 * ground's pixels are the means of the checkerboard over their areas. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth_private.h"

/* OpenCV's radial-tangential model, k1 k2 p1 p2 k3, written independently of synth/synth_camera.c. */
static void project(const synth_cam *c, const double pc[3], double *u, double *v)
{
    double x = pc[0] / pc[2], y = pc[1] / pc[2];
    double k1 = c->dist[0], k2 = c->dist[1], p1 = c->dist[2], p2 = c->dist[3], k3 = c->dist[4];
    double r2 = x * x + y * y, r4 = r2 * r2, r6 = r4 * r2;
    double radial = 1 + k1 * r2 + k2 * r4 + k3 * r6;
    double xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
    double yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
    *u = c->fx * xd + c->cx;
    *v = c->fy * yd + c->cy;
}

static void test_box_hit(void **state)
{
    (void)state;
    synth_box b = {{10, 0, 1}, 1, 0, {2, 1, 1}, 0};
    b.radius = sqrt(6.0);
    double o[3] = {0, 0, 1}, d[3] = {1, 0, 0}, t;
    int f;
    assert_true(synth_box_hit(&b, o, d, &t, &f));
    assert_true(fabs(t - 8.0) < 1e-12);
    assert_int_equal(f, 1); /* entered through -x */
    double back[3] = {-1, 0, 0};
    assert_false(synth_box_hit(&b, o, back, &t, &f)); /* behind the origin: t < 0 only */
    double inside[3] = {10, 0, 1};
    assert_true(synth_box_hit(&b, inside, d, &t, &f));
    assert_true(fabs(t - 2.0) < 1e-12);
    double miss[3] = {0, 0.2, 0.8};
    double n = sqrt(miss[1] * miss[1] + miss[2] * miss[2]);
    miss[1] /= n;
    miss[2] /= n;
    assert_false(synth_box_hit(&b, o, miss, &t, &f) && t < 1e9 && fabs(o[1] + t * miss[1]) > 1.0001);
    /* rotated 90 degrees: the long side now spans y */
    synth_box r = {{10, 0, 1}, 0, 1, {2, 1, 1}, sqrt(6.0)};
    assert_true(synth_box_hit(&r, o, d, &t, &f));
    assert_true(fabs(t - 9.0) < 1e-12);
}

static void test_undistort(void **state)
{
    (void)state;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.cameras = 6;
    synth_scene sc;
    avt_error err = {0};
    assert_int_equal(synth_scene_init(&sc, &cfg, &err), 0);
    for (size_t c = 0; c < sc.n_cam; c++) {
        const synth_cam *cam = &sc.cam[c];
        /* the radial map is increasing up to r2_max, and the whole image is inside it */
        double prev = -1;
        for (double r = 0; r * r <= cam->r2_max; r += 1e-3) {
            double r2 = r * r;
            double rd = r * (1 + cam->dist[0] * r2 + cam->dist[1] * r2 * r2 + cam->dist[4] * r2 * r2 * r2);
            assert_true(rd > prev);
            prev = rd;
        }
        synth_raytable rt;
        assert_int_equal(synth_raytable_init(&rt, cam), 0);
        double worst = 0;
        for (unsigned v = 0; v < cam->height; v++) {
            for (unsigned u = 0; u < cam->width; u++) {
                size_t i = (size_t)v * cam->width + u;
                assert_int_equal(rt.valid[i], 1);
                if ((u % 7) && (v % 7) && u != cam->width - 1 && v != cam->height - 1) continue;
                double pc[3] = {rt.dir[3 * i], rt.dir[3 * i + 1], rt.dir[3 * i + 2]}, pu, pv;
                project(cam, pc, &pu, &pv);
                double e = fmax(fabs(pu - u), fabs(pv - v));
                if (e > worst) worst = e;
            }
        }
        /* float ray directions: ~1e-4 px */
        assert_true(worst < 2e-3);
        synth_raytable_free(&rt);
    }
    synth_scene_free(&sc);
}

static void test_silhouette_matches_projection(void **state)
{
    (void)state;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    synth_scene sc;
    avt_error err = {0};
    assert_int_equal(synth_scene_init(&sc, &cfg, &err), 0);
    synth_raytable rt[SYNTH_MAX_CAMERAS];
    for (size_t c = 0; c < sc.n_cam; c++) assert_int_equal(synth_raytable_init(&rt[c], &sc.cam[c]), 0);
    uint8_t *rgb = malloc((size_t)cfg.width * cfg.height * 3);
    synth_bbox2d bb[SYNTH_MAX_OBJECTS];
    int checked = 0, border = 0, behind_visible = 0;
    double worst = 0;
    for (int step = 0; step < 30; step += 3) {
        int64_t t = sc.t0_ns + (int64_t)step * 100000000LL + 12345;
        for (size_t c = 0; c < sc.n_cam; c++) {
            const synth_cam *cam = &sc.cam[c];
            synth_render(&sc, cam, &rt[c], t, rgb, bb);
            avt_tf we = synth_world_T_ego(&sc, t);
            avt_tf wc = avt_tf_mul(&we, &cam->ego_T_cam);
            avt_tf cw = avt_tf_inv(&wc);
            for (size_t i = 0; i < sc.n_obj; i++) {
                if (bb[i].umax < 0) continue;
                int touches = bb[i].umin == 0 || bb[i].vmin == 0 || bb[i].umax == (int)cam->width - 1 ||
                              bb[i].vmax == (int)cam->height - 1;
                border += touches;
                behind_visible += bb[i].behind;
                if (touches || bb[i].behind) continue;
                synth_box b;
                synth_object_box(&sc, i, t, &b);
                /* corners in the camera frame */
                double corner[8][3];
                int front = 1;
                for (int k = 0; k < 8; k++) {
                    double lx = (k & 1 ? 1 : -1) * b.half[0], ly = (k & 2 ? 1 : -1) * b.half[1];
                    double pw[3] = {b.c[0] + b.cos_yaw * lx - b.sin_yaw * ly,
                                    b.c[1] + b.sin_yaw * lx + b.cos_yaw * ly,
                                    b.c[2] + (k & 4 ? 1 : -1) * b.half[2]};
                    avt_tf_apply(&cw, pw, corner[k]);
                    if (corner[k][2] < 0.1) front = 0;
                }
                assert_true(front); /* behind == 0 */
                /* dense samples along the 12 edges: the outline of a convex box's image */
                double umin = 1e9, umax = -1e9, vmin = 1e9, vmax = -1e9;
                for (int a = 0; a < 8; a++) {
                    for (int bit = 1; bit < 8; bit <<= 1) {
                        if (a & bit) continue;
                        int e = a | bit;
                        for (int s = 0; s <= 2000; s++) {
                            double f = s / 2000.0, pc[3], u, v;
                            for (int k = 0; k < 3; k++) pc[k] = corner[a][k] + f * (corner[e][k] - corner[a][k]);
                            project(cam, pc, &u, &v);
                            umin = fmin(umin, u);
                            umax = fmax(umax, u);
                            vmin = fmin(vmin, v);
                            vmax = fmax(vmax, v);
                        }
                    }
                }
                /* the corners themselves are inside the silhouette box (within 1 px) */
                for (int k = 0; k < 8; k++) {
                    double u, v;
                    project(cam, corner[k], &u, &v);
                    if (!(u >= bb[i].umin - 1 && u <= bb[i].umax + 1 && v >= bb[i].vmin - 1 && v <= bb[i].vmax + 1))
                        fprintf(stderr, "%s step %d track %d corner %d (%.2f %.2f) z %.2f outside %d %d %d %d\n",
                                cam->name, step, sc.obj[i].track_id, k, u, v, corner[k][2], bb[i].umin,
                                bb[i].vmin, bb[i].umax, bb[i].vmax);
                    assert_true(u >= bb[i].umin - 1 && u <= bb[i].umax + 1);
                    assert_true(v >= bb[i].vmin - 1 && v <= bb[i].vmax + 1);
                }
                /* pixel centres covered: ceil(min) .. floor(max) */
                double e = fmax(fmax(fabs(bb[i].umin - ceil(umin)), fabs(bb[i].umax - floor(umax))),
                                fmax(fabs(bb[i].vmin - ceil(vmin)), fabs(bb[i].vmax - floor(vmax))));
                if (e > 1)
                    fprintf(stderr, "%s t=%d track %d: silhouette %d %d %d %d, projection %.2f %.2f %.2f %.2f\n",
                            cam->name, step, sc.obj[i].track_id, bb[i].umin, bb[i].vmin, bb[i].umax,
                            bb[i].vmax, umin, vmin, umax, vmax);
                worst = fmax(worst, e);
                checked++;
            }
        }
    }
    fprintf(stderr, "silhouettes checked: %d (worst %.0f px), at the border: %d, partly behind: %d\n",
            checked, worst, border, behind_visible);
    assert_true(worst <= 1);
    assert_true(checked >= 50);
    assert_true(border >= 5);
    assert_true(behind_visible >= 3);
    free(rgb);
    for (size_t c = 0; c < sc.n_cam; c++) synth_raytable_free(&rt[c]);
    synth_scene_free(&sc);
}

/* The ground's colour at a world point, written again here: the 1 m checkerboard (95 / 150)
 * with 25 off on the odd tiles of a 5 m checkerboard. */
static double ground_grey(double x, double y)
{
    long ix = (long)floor(x), iy = (long)floor(y), jx = (long)floor(x / 5), jy = (long)floor(y / 5);
    return (((ix + iy) % 2 != 0) ? 150.0 : 95.0) - (((jx + jy) % 2 != 0) ? 25.0 : 0.0);
}

/* The ground as a camera sees it: each pixel the mean of the checkerboard over the pixel's
 * area, here 8 x 8 point samples through the lens, against the renderer's closed-form box
 * filter of the footprint; and no aliasing just below the horizon (neighbouring pixels there
 * differ by little, where one sample per pixel gave random jumps of up to 80 grey levels). */
static void test_ground_is_pixel_average(void **state)
{
    (void)state;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.moving_objects = 0;
    cfg.static_objects = 0;
    synth_scene sc;
    avt_error err = {0};
    assert_int_equal(synth_scene_init(&sc, &cfg, &err), 0);
    const synth_cam *cam = &sc.cam[0];
    synth_raytable rt;
    assert_int_equal(synth_raytable_init(&rt, cam), 0);
    const unsigned w = cam->width, h = cam->height;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    synth_bbox2d bb[SYNTH_MAX_OBJECTS];
    int64_t t = sc.t0_ns + 250000000LL;
    synth_render(&sc, cam, &rt, t, rgb, bb);
    avt_tf we = synth_world_T_ego(&sc, t), wc = avt_tf_mul(&we, &cam->ego_T_cam);
    const double o[3] = {wc.m[3], wc.m[7], wc.m[11]};
    double sum_err = 0, worst = 0, band_jump = 0;
    int n = 0, nband = 0, horizon = -1;
    for (unsigned v = 0; v + 1 < h; v += 3)
        for (unsigned u = 1; u + 1 < w; u += 7) {
            double acc = 0;
            int m = 0;
            for (int a = 0; a < 8 && m >= 0; a++)
                for (int b = 0; b < 8; b++) {
                    double x, y, dw[3];
                    double us = u - 0.4375 + a / 8.0, vs = v - 0.4375 + b / 8.0;
                    if (!synth_undistort(cam->dist, cam->r2_max, (us - cam->cx) / cam->fx, (vs - cam->cy) / cam->fy, &x, &y)) {
                        m = -1;
                        break;
                    }
                    double dc[3] = {x, y, 1};
                    avt_tf_rotate(&wc, dc, dw);
                    if (!(dw[2] < 0)) {
                        m = -1;
                        break;
                    }
                    double tt = -o[2] / dw[2];
                    acc += ground_grey(o[0] + tt * dw[0], o[1] + tt * dw[1]);
                    m++;
                }
            if (m <= 0) continue; /* sky, the horizon or outside the lens's monotonic region */
            if (horizon < 0) horizon = (int)v;
            double got = rgb[3 * ((size_t)v * w + u)], e = fabs(got - acc / m);
            sum_err += e;
            worst = fmax(worst, e);
            n++;
        }
    /* rows 3 to 14 below the first sampled row with ground in all 64 samples of a pixel: the
     * jumps between neighbouring pixels there */
    for (int v = horizon + 3; v >= 0 && v < horizon + 15 && v < (int)h; v++)
        for (unsigned u = 1; u < w; u++) {
            band_jump += abs((int)rgb[3 * ((size_t)v * w + u)] - (int)rgb[3 * ((size_t)v * w + u - 1)]);
            nband++;
        }
    fprintf(stderr, "ground pixels %d: mean |render - 8x8 area mean| %.2f, worst %.1f grey levels; rows below the "
            "horizon (from row %d): mean jump between neighbours %.2f\n", n, sum_err / n, worst, horizon,
            nband ? band_jump / nband : 0.0);
    assert_true(n > 1000);
    assert_true(sum_err / n < 2.0);
    assert_true(nband > 0 && band_jump / nband < 3.0);
    free(rgb);
    synth_raytable_free(&rt);
    synth_scene_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_hit),
        cmocka_unit_test(test_undistort),
        cmocka_unit_test(test_silhouette_matches_projection),
        cmocka_unit_test(test_ground_is_pixel_average),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
