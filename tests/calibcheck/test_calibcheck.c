/* Unit tests of calibcheck's parts against hand computations: the error transform against
 * rotations written out, the edge map and inverse distance transform on step images, the
 * discontinuities of a hand-made ring, the score of one point. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avtruth/calibcheck.h"

#define DEG (M_PI / 180.0)

/* E = Rz(yaw) Ry(pitch) Rx(roll) applied to unit vectors: 90 deg yaw turns x into y, 90 deg
 * pitch turns z into x, 90 deg roll turns y into z (right-handed rotations). */
static void test_error_tf_axes(void **state)
{
    (void)state;
    struct {
        double e[6], in[3], out[3];
    } cases[] = {
        {{0, 0, 90 * DEG, 0, 0, 0}, {1, 0, 0}, {0, 1, 0}},
        {{0, 90 * DEG, 0, 0, 0, 0}, {0, 0, 1}, {1, 0, 0}},
        {{90 * DEG, 0, 0, 0, 0, 0}, {0, 1, 0}, {0, 0, 1}},
        {{0, 0, 0, 0.1, -0.2, 0.3}, {1, 2, 3}, {1.1, 1.8, 3.3}},
        /* roll first, then pitch, then yaw: x stays x under roll, pitch 90 sends x to -z, yaw
         * leaves z */
        {{90 * DEG, 90 * DEG, 90 * DEG, 0, 0, 0}, {1, 0, 0}, {0, 0, -1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        avt_tf E = avt_cc_error_tf(cases[i].e);
        double out[3];
        avt_tf_apply(&E, cases[i].in, out);
        for (int k = 0; k < 3; k++) assert_true(fabs(out[k] - cases[i].out[k]) < 1e-12);
    }
    /* parameters back from the matrix */
    double e[6] = {0.01, -0.02, 0.03, 0.04, 0.05, -0.06}, back[6];
    avt_tf E = avt_cc_error_tf(e);
    avt_cc_error_params(&E, back);
    for (int k = 0; k < 6; k++) assert_true(fabs(back[k] - e[k]) < 1e-12);
}

/* A vertical step from 0 to 255 between columns 9 and 10 of a 20 x 8 image: E = 1 on both
 * columns, 0 elsewhere; D = alpha E + (1 - alpha) gamma^d at chessboard distance d from them. */
static void test_edge_map_step(void **state)
{
    (void)state;
    enum { W = 20, H = 8 };
    uint8_t img[W * H];
    float d[W * H];
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) img[v * W + u] = u < 10 ? 0 : 255;
    double share = avt_cc_edge_map(img, W, H, d, NULL);
    assert_true(fabs(share - 2.0 / W) < 1e-12);
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) {
            int dist = u < 9 ? 9 - u : u > 10 ? u - 10 : 0;
            double want = dist == 0 ? 1.0 : (1 - 1.0 / 3) * pow(0.98, dist);
            assert_true(fabs(d[v * W + u] - want) < 1e-5);
        }
}

/* One lit pixel of 51 at (5, 3) in a 12 x 9 image: E = 0.2 there and on its 8 neighbours;
 * D's spread is 0.2 gamma^d with d the chessboard distance to the nearest of those 9 pixels. */
static void test_edge_map_chessboard(void **state)
{
    (void)state;
    enum { W = 12, H = 9 };
    uint8_t img[W * H] = {0};
    float d[W * H];
    img[3 * W + 5] = 51;
    avt_cc_edge_map(img, W, H, d, NULL);
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) {
            int du = abs(u - 5) - 1, dv = abs(v - 3) - 1;
            int dist = (du > dv ? du : dv) > 0 ? (du > dv ? du : dv) : 0;
            double e = dist == 0 ? 0.2 : 0.0;
            double want = e / 3 + (2.0 / 3) * 0.2 * pow(0.98, dist);
            assert_true(fabs(d[v * W + u] - want) < 1e-6);
        }
}

/* The map along the rows. A vertical edge at column 40 of an 81 x 400 image, 0 | 255 in the
 * top 200 rows and 100 | 130 in the bottom 200 (contrast 30/255, above the floor 0.1): D on the
 * edge differs 8.5 times between the halves, the map along the rows not at all (far from the
 * rows where the halves meet, beyond the strong edge's reach in D), and across the row it falls
 * off as D does. */
static void test_edge_map_along(void **state)
{
    (void)state;
    enum { W = 81, H = 400 };
    uint8_t img[W * H];
    static float d[W * H], a[W * H];
    for (int v = 0; v < H; v++)
        for (int u = 0; u < W; u++) img[v * W + u] = v < H / 2 ? (u < 40 ? 0 : 255) : (u < 40 ? 100 : 130);
    avt_cc_edge_map(img, W, H, d, a);
    const int top = 5, bottom = H - 6;
    assert_true(d[top * W + 40] / d[bottom * W + 40] > 8.0);
    for (int u = 30; u <= 50; u++) {
        assert_true(fabs(a[top * W + u] / a[bottom * W + u] - 1.0) < 1e-5);
        assert_true(fabs(a[top * W + u] / a[top * W + 40] - d[top * W + u] / d[top * W + 40]) < 1e-5);
    }
}

/* The map along the rows against a brute-force reference computed here from D: each value
 * divided by max(floor, the largest D within the radius in its row), all times the mean of
 * those divisors; a random image of 150 x 7 (the window's blocks of 65 meet the row's ends at
 * every offset); again with the image so faint that no D reaches the floor. */
static void test_edge_map_along_window(void **state)
{
    (void)state;
    enum { W = 150, H = 7 };
    uint8_t img[W * H];
    float d[W * H], a[W * H];
    double div[W * H];
    for (int faint = 0; faint < 2; faint++) {
        uint32_t x = 12345;
        for (int i = 0; i < W * H; i++) {
            x = x * 1664525u + 1013904223u;
            /* edges up to 63/255; or, faint, up to 3/255 on the left and 7/255 on the right (the
             * window's maximum varies, all of it below the floor) */
            img[i] = (uint8_t)((x >> 24) / (!faint ? 4 : i % W < W / 2 ? 64 : 32));
        }
        avt_cc_edge_map(img, W, H, d, a);
        for (int i = 0; i < W * H && faint; i++) assert_true(d[i] < AVT_CC_ALONG_FLOOR); /* all on the floor */
        const int r = AVT_CC_ALONG_RADIUS_PX;
        double sum = 0;
        for (int v = 0; v < H; v++)
            for (int u = 0; u < W; u++) {
                double m = AVT_CC_ALONG_FLOOR;
                for (int q = u - r; q <= u + r; q++)
                    if (q >= 0 && q < W && d[v * W + q] > m) m = d[v * W + q];
                div[v * W + u] = m;
                sum += m;
            }
        for (int i = 0; i < W * H; i++) {
            double want = d[i] / div[i] * (sum / (W * H));
            assert_true(fabs(a[i] - want) < 1e-5 * want + 1e-7);
        }
    }
}

/* n returns of one ring in the plane z = 0, every step_deg from az0_deg, at range(az in degrees) */
static void one_ring(int n, double az0_deg, double step_deg, double (*range)(double), float *xyz, uint16_t *ring)
{
    for (int i = 0; i < n; i++) {
        double a = az0_deg + step_deg * i, r = range(a);
        xyz[3 * i] = (float)(r * cos(a * DEG));
        xyz[3 * i + 1] = (float)(r * sin(a * DEG));
        xyz[3 * i + 2] = 0;
        ring[i] = 3;
    }
}

/* The discontinuities of one_ring(n, az0_deg, step_deg, range) into idx, w, e; their count. */
static size_t ring_edges(int n, double az0_deg, double step_deg, double (*range)(double), uint32_t *idx, float *w,
                         float *e)
{
    float *xyz = malloc(3 * (size_t)n * sizeof *xyz);
    uint16_t *ring = malloc((size_t)n * sizeof *ring);
    uint8_t *kind = malloc(2 * (size_t)n);
    size_t k = 0;
    assert_non_null(xyz), assert_non_null(ring), assert_non_null(kind);
    one_ring(n, az0_deg, step_deg, range, xyz, ring);
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, (size_t)n, idx, w, e, NULL, kind, &k, NULL), AVT_OK);
    for (size_t i = 0; i < k; i++) assert_int_equal(kind[i], AVT_CC_ALONG_RING); /* one ring: along it */
    free(xyz), free(ring), free(kind);
    return k;
}

/* a post covering azimuths -1..1 deg on the plane x = 5, before a wall on x = 10 */
static double post_range(double a) { return (fabs(a) <= 1.0 + 1e-9 ? 5.0 : 10.0) / cos(a * DEG); }

/* a side wall on the plane y = 4 up to azimuth 50 deg, then a wall 30 m away */
static double side_range(double a) { return a <= 50.0 + 1e-9 ? 4.0 / sin(a * DEG) : 30.0; }

/* One ring over a wall 10 m ahead with a post 5 m ahead covering azimuths -1..1 deg, returns
 * every 0.25 deg from -5 to 5 deg: the post's two outer returns are the only discontinuities
 * (second difference 10 + 5 - 10 = 5 m), weight sqrt(5), edge points on the post's face (the
 * plane x = 5) half-way in angle to the wall's returns. The wall is not flat in range (a plane
 * at x = 10) but its second difference is tiny. */
static void test_discontinuities_ring(void **state)
{
    (void)state;
    enum { N = 41 };
    uint32_t idx[2 * N];
    float w[2 * N], e[6 * N];
    size_t n = ring_edges(N, -5.0, 0.25, post_range, idx, w, e);
    assert_int_equal(n, 2);
    int want[2] = {16, 24}; /* azimuth -1 and +1 */
    for (int k = 0; k < 2; k++) {
        assert_int_equal(idx[k], want[k]);
        double r = 5.0 / cos(1.0 * DEG), rn = 10.0 / cos(1.25 * DEG);
        double second = rn + 5.0 / cos(0.75 * DEG) - 2 * r;
        assert_true(fabs(w[k] - sqrt(second)) < 1e-4);
        /* half-way between azimuth 1 and 1.25 deg: 1.125 deg, on the face x = 5 (at the
         * return's range r the point would lie 0.2 mm inside it) */
        double az = (k ? 1.125 : -1.125) * DEG;
        assert_true(fabs(e[3 * k] - 5.0) < 5e-5);
        assert_true(fabs(e[3 * k + 1] - 5.0 * tan(az)) < 5e-5);
    }
}

/* Half ring gaps: three rings at elevations -0.5, 0 and +0.3 deg over the post of
 * test_discontinuities_ring (returns every 0.25 deg from -5 to 5 deg of azimuth): each ring's
 * two edges along it get half its mean gap to its neighbours: 0.25 deg for the bottom ring (one
 * neighbour, 0.5 deg away), 0.2 for the middle one (0.5 and 0.3), 0.15 for the top one; also
 * when their returns fired within the cut margin (not compared across the rings, still
 * edges along them). One ring alone has no gap: NaN. */
static void test_discontinuities_half_gap(void **state)
{
    (void)state;
    enum { N = 41, R = 3 };
    const double el[R] = {-0.5, 0.0, 0.3};
    float xyz[3 * N * R], e[6 * N * R], w[2 * N * R], hg[2 * N * R];
    uint16_t ring[N * R];
    int64_t t[N * R];
    uint32_t idx[2 * N * R];
    for (int r = 0, n = 0; r < R; r++)
        for (int i = 0; i < N; i++, n++) {
            double a = -5.0 + 0.25 * i, rho = post_range(a) / cos(el[r] * DEG);
            xyz[3 * n] = (float)(rho * cos(el[r] * DEG) * cos(a * DEG));
            xyz[3 * n + 1] = (float)(rho * cos(el[r] * DEG) * sin(a * DEG));
            xyz[3 * n + 2] = (float)(rho * sin(el[r] * DEG));
            ring[n] = (uint16_t)r;
            t[n] = i * 1000; /* the post's returns within 30 us of the first and last firing */
        }
    for (int margin = 0; margin < 2; margin++) {
        size_t k = 0;
        for (size_t i = 0; i < 2 * N * R; i++) hg[i] = -1.0f;
        assert_int_equal(avt_cc_discontinuities(xyz, ring, margin ? t : NULL, margin ? 30000 : 0, N * R, idx, w, e, hg,
                                                NULL, &k, NULL),
                         AVT_OK);
        assert_int_equal(k, 2 * R); /* the post's two edges on each ring */
        for (size_t j = 0; j < k; j++) {
            double want = (idx[j] < N ? 0.25 : idx[j] < 2 * N ? 0.2 : 0.15) * DEG;
            assert_true(fabs(hg[j] - want) < 1e-6);
        }
    }
    /* one ring */
    size_t k = 0;
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, N, idx, w, e, hg, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, 2);
    assert_true(isnan(hg[0]) && isnan(hg[1]));
}

/* One ring along a side wall seen at a grazing angle (the plane y = 4, azimuths 30..50 deg
 * every 0.2 deg), then a wall 30 m away: the wall's last return is the edge, and its edge
 * point lies on the side wall's extension half-way to the next beam, at azimuth 50.1 deg and
 * range 4 / sin(50.1 deg), within a millimetre (the return's own range is 7.6 mm off: the
 * camera, elsewhere on the car, would see the point off the edge). */
static void test_discontinuities_grazing(void **state)
{
    (void)state;
    enum { N = 111 };
    uint32_t idx[2 * N];
    float w[2 * N], e[6 * N];
    size_t n = ring_edges(N, 30.0, 0.2, side_range, idx, w, e);
    assert_int_equal(n, 1);
    assert_int_equal(idx[0], 100);
    double az = 50.1 * DEG, r = 4.0 / sin(az);
    assert_true(fabs(e[0] - r * cos(az)) < 1e-3);
    assert_true(fabs(e[1] - 4.0) < 1e-3);
}

/* A post one return wide, 5 m ahead of a wall 10 m away (returns every 0.25 deg): both of its
 * neighbours are the wall's, so there is no near surface to extend: its edge point stays at
 * 5 m, half-way in angle (0.125 deg) to the farther. */
static double pole_range(double a) { return fabs(a) < 0.1 ? 5.0 : 10.0 / cos(a * DEG); }

static void test_discontinuities_pole(void **state)
{
    (void)state;
    enum { N = 21 };
    uint32_t idx[2 * N];
    float w[2 * N], e[6 * N];
    size_t n = ring_edges(N, -2.5, 0.25, pole_range, idx, w, e);
    assert_int_equal(n, 1);
    assert_int_equal(idx[0], 10);
    assert_true(fabs(sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) - 5.0) < 1e-4);
    assert_true(fabs(fabs(atan2(e[1], e[0])) - 0.125 * DEG) < 1e-6);
}

/* rings x naz returns, ring r's every 0.5 deg of azimuth from -10 deg at point(r, az) */
enum { GRID_AZ = 41 };
static size_t ring_grid(int rings, void (*point)(int, double, const void *, float *), const void *ctx, float *xyz,
                        uint16_t *ring)
{
    size_t n = 0;
    for (int r = 0; r < rings; r++)
        for (int a = 0; a < GRID_AZ; a++) {
            point(r, (-10.0 + 0.5 * a) * DEG, ctx, xyz + 3 * n);
            ring[n++] = (uint16_t)r;
        }
    return n;
}

/* The number of discontinuities of n points. */
static size_t edge_count(const float *xyz, const uint16_t *ring, size_t n)
{
    uint32_t *idx = malloc(2 * n * sizeof *idx);
    float *w = malloc(2 * n * sizeof *w), *e = malloc(6 * n * sizeof *e);
    size_t k = 0;
    assert_non_null(idx), assert_non_null(w), assert_non_null(e);
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    free(idx), free(w), free(e);
    return k;
}

/* flat ground 1.8 m below the rings of elevations ctx (deg) */
static void ground_point(int r, double az, const void *ctx, float *p)
{
    double h = 1.8 / tan(-((const double *)ctx)[r] * DEG);
    p[0] = (float)(h * cos(az)), p[1] = (float)(h * sin(az)), p[2] = -1.8f;
}

/* Flat ground 1.8 m below three rings (ranges 52, 64 and 86 m at -2.0, -1.6, -1.2 deg) every
 * 0.5 deg of azimuth: the middle ring's second difference in range is 8.8 m, above both
 * limits of the range rule, but the ground is a plane, no edge; the same with the rings
 * unevenly spaced (0.38 and 0.42 deg; 0.4 and 0.45 deg), as a unit's own calibration has
 * them. */
static void test_discontinuities_far_ground(void **state)
{
    (void)state;
    const double els[3][3] = {{-2.0, -1.6, -1.2}, {-2.0, -1.62, -1.2}, {-2.4, -2.0, -1.55}};
    float xyz[3 * 3 * GRID_AZ];
    uint16_t ring[3 * GRID_AZ];
    for (int set = 0; set < 3; set++) assert_int_equal(edge_count(xyz, ring, ring_grid(3, ground_point, els[set], xyz, ring)), 0);
}

/* rings 0 and 1 (-0.9, -0.5 deg) on a wall 10 m ahead; ring 2 without a return (the origin) */
static void wall_or_nothing(int r, double az, const void *ctx, float *p)
{
    (void)ctx;
    double el = (r == 0 ? -0.9 : -0.5) * DEG, t = r < 2 ? 10.0 / (cos(el) * cos(az)) : 0.0;
    p[0] = (float)(t * cos(el) * cos(az)), p[1] = (float)(t * cos(el) * sin(az)), p[2] = (float)(t * sin(el));
}

/* Two rings over a wall 10 m ahead and a third ring without a single return (points at the
 * origin, as point-cloud files keep them): it is no ring above, so the wall's top ring has no
 * edges against the sky (there is nothing to compare it with) and there are no edges at all. */
static void test_discontinuities_empty_ring(void **state)
{
    (void)state;
    float xyz[3 * 3 * GRID_AZ];
    uint16_t ring[3 * GRID_AZ];
    assert_int_equal(edge_count(xyz, ring, ring_grid(3, wall_or_nothing, NULL, xyz, ring)), 0);
}

/* Three lasers 0.4 deg apart (-1.0, -0.6, -0.2 deg) whose origin lies 0.2 m above the LiDAR's,
 * as the HDL-64E's do, over a wall on x = 10 m (azimuths -5..5 deg) 0.13 m high and a wall on
 * x = 30 m behind it; returns every 0.5 deg from -30 to 30 deg. The middle laser's returns on
 * the near wall are the wall's top edge: the edge point lies on the wall (h = 10 / cos(az), at
 * the return's azimuth) half-way between the middle and the top beam, z = 0.2 + h tan(-0.4
 * deg) (the beams' mid-line, here about the wall's top). Seen from the LiDAR's origin the
 * middle laser's returns look 1.15 deg higher than its beam; half-way in that angle the point
 * would lie 6.7 cm lower. */
static void test_discontinuities_beam_origin(void **state)
{
    (void)state;
    enum { AZ = 121, RINGS = 3 };
    const double el[RINGS] = {-1.0, -0.6, -0.2}, oz = 0.2;
    float xyz[3 * AZ * RINGS];
    uint16_t ring[AZ * RINGS];
    size_t n = 0;
    for (int r = 0; r < RINGS; r++)
        for (int a = 0; a < AZ; a++) {
            double az = (-30.0 + 0.5 * a) * DEG, e = el[r] * DEG;
            double dx = cos(e) * cos(az), dy = cos(e) * sin(az), dz = sin(e);
            double t = 10.0 / dx; /* the near wall, where it is */
            if (!(fabs(az) <= 5.0 * DEG + 1e-9 && oz + t * dz <= 0.13)) t = 30.0 / dx;
            xyz[3 * n] = (float)(t * dx);
            xyz[3 * n + 1] = (float)(t * dy);
            xyz[3 * n + 2] = (float)(oz + t * dz);
            ring[n++] = (uint16_t)(7 + r);
        }
    uint32_t idx[2 * AZ * RINGS];
    float w[2 * AZ * RINGS], e[6 * AZ * RINGS];
    size_t k = 0, tops = 0;
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    for (size_t i = 0; i < k; i++) {
        if (idx[i] < AZ || idx[i] >= 2 * AZ || fabs(-30.0 + 0.5 * (idx[i] - AZ)) > 4.5) continue;
        double h = hypot(e[3 * i], e[3 * i + 1]), az = (-30.0 + 0.5 * (idx[i] - AZ)) * DEG;
        assert_true(fabs(h - 10.0 / cos(az)) < 2e-3);
        assert_true(fabs(atan2(e[3 * i + 1], e[3 * i]) - az) < 1e-4);
        assert_true(fabs(e[3 * i + 2] - (oz + h * tan(-0.4 * DEG))) < 2e-3);
        tops++;
    }
    assert_int_equal(tops, 19); /* azimuths -4.5..4.5 deg */
}

/* Three rings 0.4 deg apart (-0.4, 0, 0.4 deg; at most AVT_CC_MAX_RING_GAP_DEG) over a box
 * 10 m ahead reaching up to the middle ring and a wall 20 m ahead: the middle ring's returns
 * are vertical discontinuities (second difference 10 + 20 - 2 * 10 against the rings below
 * and above), their edge points half-way up to the top ring (0.2 deg). Along the rings the
 * range is constant: nothing. A second set with rings 1 deg apart gives nothing (too far apart
 * to place an edge between them). */
static void test_discontinuities_vertical(void **state)
{
    (void)state;
    enum { AZ = 5, RINGS = 3 };
    float xyz[3 * AZ * RINGS];
    uint16_t ring[AZ * RINGS];
    const double el[RINGS] = {-0.4 * DEG, 0, 0.4 * DEG};
    size_t n = 0;
    for (int r = 0; r < RINGS; r++)
        for (int a = 0; a < AZ; a++) {
            double az = (a - 2) * 0.1 * DEG, range = r < 2 ? 10.0 : 20.0;
            xyz[3 * n] = (float)(range * cos(el[r]) * cos(az));
            xyz[3 * n + 1] = (float)(range * cos(el[r]) * sin(az));
            xyz[3 * n + 2] = (float)(range * sin(el[r]));
            ring[n++] = (uint16_t)r;
        }
    uint32_t idx[2 * AZ * RINGS];
    float w[2 * AZ * RINGS], e[6 * AZ * RINGS];
    uint8_t kind[2 * AZ * RINGS];
    size_t k = 0;
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, n, idx, w, e, NULL, kind, &k, NULL), AVT_OK);
    /* the 5 returns of ring 1 (the box's top row); along the rings nothing changes */
    assert_int_equal(k, AZ);
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(idx[i], AZ + i);
        assert_int_equal(kind[i], AVT_CC_ACROSS_RINGS);
        assert_true(fabs(w[i] - sqrt(10.0)) < 1e-4); /* 10 + 20 - 2 * 10 */
        /* half-way up: elevation 0.5 deg at 10 m */
        double z = e[3 * i + 2];
        assert_true(fabs(z - 10.0 * sin(0.2 * DEG)) < 1e-4);
    }
    /* the same scene with rings 1 deg apart */
    n = 0;
    for (int r = 0; r < RINGS; r++)
        for (int a = 0; a < AZ; a++) {
            double az = (a - 2) * 0.1 * DEG, range = r < 2 ? 10.0 : 20.0, elr = (r - 1) * DEG;
            xyz[3 * n] = (float)(range * cos(elr) * cos(az));
            xyz[3 * n + 1] = (float)(range * cos(elr) * sin(az));
            xyz[3 * n + 2] = (float)(range * sin(elr));
            ring[n++] = (uint16_t)r;
        }
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, 0);
}

/* Edges against the sky and the sweep's cut: rings at -0.4, 0 and +0.4 deg; a box 10 m ahead
 * (azimuth -0.2..0.2 deg) hit by the two lower rings; the top ring returns only far to the sides
 * (azimuth +-90 deg, the sweep's first and last firings at 0 and 25 ms), so above the box it
 * sees the sky: the middle ring's 5 returns there are sky edges, half-way up to the top ring.
 * The same returns fired within the cut margin of the sweep's first or last firing are not
 * compared with the rings (the ring above may have fired that azimuth in the neighbouring
 * sweep): no edge; outside the margin they are edges again. */
static void test_discontinuities_sky_and_cut(void **state)
{
    (void)state;
    enum { AZ = 5, N = 2 * AZ + 2 };
    float xyz[3 * N];
    uint16_t ring[N];
    int64_t t[N];
    size_t n = 0;
    for (int r = 0; r < 2; r++)
        for (int a = 0; a < AZ; a++) {
            double el = (r - 1) * 0.4 * DEG, az = (a - 2) * 0.1 * DEG;
            xyz[3 * n] = (float)(10.0 * cos(el) * cos(az));
            xyz[3 * n + 1] = (float)(10.0 * cos(el) * sin(az));
            xyz[3 * n + 2] = (float)(10.0 * sin(el));
            ring[n++] = (uint16_t)r;
        }
    for (int side = -1; side <= 1; side += 2) { /* the top ring's two returns */
        double el = 0.4 * DEG;
        xyz[3 * n] = 0;
        xyz[3 * n + 1] = (float)(side * 30.0 * cos(el));
        xyz[3 * n + 2] = (float)(30.0 * sin(el));
        ring[n++] = 2;
    }
    uint32_t idx[2 * N];
    float w[2 * N], e[6 * N], half_gap[2 * N];
    size_t k = 0;
    /* without times: the sky edges */
    assert_int_equal(avt_cc_discontinuities(xyz, ring, NULL, 0, n, idx, w, e, half_gap, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, AZ);
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(idx[i], AZ + i);
        assert_true(fabs(w[i] - sqrt(AVT_CC_MAX_JUMP_M)) < 1e-4);
        assert_true(fabs(e[3 * i + 2] - 10.0 * sin(0.2 * DEG)) < 1e-4); /* half-way up, at 10 m */
        assert_true(fabs(half_gap[i] - 0.2 * DEG) < 1e-6); /* the rings 0.4 deg apart */
    }
    /* the box fired 1 ms after the sweep's first firing (0) and 24 ms before its last (25 ms) */
    for (size_t i = 0; i < 2 * AZ; i++) t[i] = 1000000 + (int64_t)(i % AZ) * 1000;
    t[2 * AZ] = 0;
    t[2 * AZ + 1] = 25000000;
    assert_int_equal(avt_cc_discontinuities(xyz, ring, t, 2000000, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, 0); /* within 2 ms of the first firing */
    assert_int_equal(avt_cc_discontinuities(xyz, ring, t, 500000, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, AZ); /* outside 0.5 ms */
    /* the box fired 1 ms before the last firing */
    for (size_t i = 0; i < 2 * AZ; i++) t[i] = 24000000 + (int64_t)(i % AZ) * 100;
    assert_int_equal(avt_cc_discontinuities(xyz, ring, t, 2000000, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, 0);
    assert_int_equal(avt_cc_discontinuities(xyz, ring, t, 500000, n, idx, w, e, NULL, NULL, &k, NULL), AVT_OK);
    assert_int_equal(k, AZ);
}

/* Returns of three rings on a wall 10 m ahead (the plane x = 10) with their firing times */
static struct {
    float xyz[3 * 3 * 229];
    uint16_t ring[3 * 229];
    int64_t t[3 * 229];
    size_t n;
} wall;

/* One return of ring r (elevation -1.0 + 0.4 r deg) at azimuth az_deg, fired at time when */
static void wall_return(double az_deg, int r, int64_t when)
{
    const double az = az_deg * DEG, el = (-1.0 + 0.4 * r) * DEG, range = 10.0 / (cos(az) * cos(el));
    assert_true(wall.n < 3 * 229);
    wall.xyz[3 * wall.n] = (float)(range * cos(el) * cos(az));
    wall.xyz[3 * wall.n + 1] = (float)(range * cos(el) * sin(az));
    wall.xyz[3 * wall.n + 2] = (float)(range * sin(el));
    wall.ring[wall.n] = (uint16_t)r;
    wall.t[wall.n++] = when;
}

/* The discontinuities of the wall's returns (with their firing times or without), all across
 * the rings: their count; the wall emptied */
static size_t wall_edges(int with_times)
{
    static uint32_t idx[6 * 229];
    static float w[6 * 229], e[18 * 229];
    static uint8_t kind[6 * 229];
    size_t k = 0;
    assert_int_equal(avt_cc_discontinuities(wall.xyz, wall.ring, with_times ? wall.t : NULL, 0, wall.n, idx, w, e, NULL,
                                            kind, &k, NULL),
                     AVT_OK);
    for (size_t i = 0; i < k; i++) assert_int_equal(kind[i], AVT_CC_ACROSS_RINGS);
    wall.n = 0;
    return k;
}

/* A lost packet is no sky. Three rings at elevations -1.0, -0.6 and -0.2 deg see a wall 10 m
 * ahead at azimuths 0.35 deg apart (-20 to 19.9 deg), firing 100 us apart, each ring 6 steps
 * earlier than the one below (staggered as an Ouster's beams). The firings of time steps 40-55
 * lost: each ring misses a different sector, so the middle ring has returns where the top ring
 * has none and the bottom ring has some. No edge at all with the firing times, where without
 * them 6 of the middle ring's returns read as edges against the sky. The top ring returning
 * nothing over those steps (the sky) while the others fire gives those edges. */
static size_t lost_packet_edges(int sky, int with_times)
{
    for (int c = 0; c < 115; c++)
        for (int r = 0; r < 3; r++) {
            const int step = c + 6 * (1 - r); /* when it fires */
            const int lost = step >= 40 && step <= 55 && (!sky || r == 2);
            if (!lost) wall_return(-20.0 + 0.35 * c, r, 100000 * (int64_t)step);
        }
    return wall_edges(with_times);
}

/* An azimuth window across the turn's start (an Ouster's, columns handed over in order: from
 * 0 to 40 deg, then from -40 to 0 deg a turn later, nothing recorded between): the three rings
 * of lost_packet_edges over the wall, the head turning either way (spin), the top ring seeing
 * the sky from 10 to 15 deg. The rest of the turn, from 40 to 320 deg, has no data, the window
 * itself has: the same sky edges with the firing times as without them. */
static size_t window_edges(int spin, int with_times)
{
    for (int c = 0; c < 229; c++) {
        const double a = c <= 114 ? 0.35 * c : 0.35 * (c - 229); /* 0..39.9, then -39.9..-0.35 */
        const int64_t when = c <= 114 ? 100000 * (int64_t)c : 100000 * (int64_t)(c - 229 + 1029);
        for (int r = 0; r < 3; r++)
            if (!(r == 2 && a >= 10.0 && a <= 15.0)) wall_return(spin * a, r, when);
    }
    return wall_edges(with_times);
}

static void test_discontinuities_lost_packet(void **state)
{
    (void)state;
    assert_int_equal(lost_packet_edges(0, 1), 0);
    assert_int_equal(lost_packet_edges(0, 0), 6); /* without times the sectors look like sky */
    assert_int_equal(lost_packet_edges(1, 1), 16);
    for (int spin = -1; spin <= 1; spin += 2) {
        const size_t sky = window_edges(spin, 0);
        assert_true(sky >= 10);
        assert_int_equal(window_edges(spin, 1), sky);
    }
}

/* A w x h pinhole camera without distortion, focal length f, principal point (cx, cy), its
 * axes the LiDAR's (x right, y down, z ahead) */
static void pinhole(unsigned w, unsigned h, double f, double cx, double cy, avt_camera *cam, avt_cam_model *m)
{
    memset(cam, 0, sizeof *cam);
    cam->width = w;
    cam->height = h;
    double K[9] = {f, 0, cx, 0, f, cy, 0, 0, 1};
    memcpy(cam->K, K, sizeof K);
    snprintf(cam->distortion_model, sizeof cam->distortion_model, "none");
    cam->lidar_T_cam = avt_tf_identity();
    assert_int_equal(avt_cam_model_init(m, cam, NULL), AVT_OK);
}

/* The judgement: 0.5 deg of yaw with a 5 % gain over 1000 points is a miscalibration; the same
 * estimate at the search's bound is undetermined (the score has no peak within it), as are too
 * few points; 0.1 deg with a 1.5 % gain is aligned (below both the threshold and twice the
 * noise gain). A correction that moves the points more across the rings than along them,
 * fewer than a tenth of them by a half ring gap or more, is undetermined; a tenth or more, or
 * mostly along the rings, miscalibrated. The significance needed grows as the points fill fewer
 * bands of the view. A gain that does not hold over the points both calibrations put in the
 * image (common gain below the noise gain) is undetermined. */
static void test_judge(void **state)
{
    (void)state;
    avt_cc_thresholds t;
    avt_cc_thresholds_default(&t);
    avt_cc_estimate e;
    memset(&e, 0, sizeof e);
    for (int k = 0; k < AVT_CC_NPARAM; k++) e.observed[k] = 1;
    e.significance = INFINITY; /* every band's estimate the same */
    e.bands = 8;
    e.across_rad = e.along_rad = e.across_gaps = e.beyond_tol = e.common_gain = e.across_gain = NAN; /* not computed */
    e.error[AVT_CC_YAW] = 0.5 * DEG;
    e.score_stored = 100.0;
    e.score_best = 105.0;
    e.points = 1000;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.at_bound = 1;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.at_bound = 0;
    e.points = 100;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.points = 1000;
    /* a correction that does not hold when parts of the view are left out: the data cannot
     * tell */
    e.significance = 2.5;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.significance = 3.0;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.bands = 3; /* the points in about three bands: Student's t with 2 degrees of freedom, 6.96 */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.significance = 7.0;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.bands = 1.9, e.significance = AVT_CC_MAX_SIGNIFICANCE; /* fewer than two: nothing to tell by */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.bands = 8, e.significance = 3.0;
    /* the gain comes from points the correction brings into the image */
    e.common_gain = 0.005;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.common_gain = 0.01;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.error[AVT_CC_YAW] = 0.1 * DEG; /* no parameter beyond its threshold: twice the noise gain */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.common_gain = 0.02;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.error[AVT_CC_YAW] = 0.5 * DEG;
    e.common_gain = NAN;
    /* within the rings' spacing: the places of the edges between the beams are not known */
    e.across_rad = 0.1 * DEG, e.along_rad = 0.02 * DEG, e.across_gaps = 0.6, e.beyond_tol = 0.05;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.beyond_tol = 0.1; /* a tenth of the points beyond their half gap */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.beyond_tol = 0.05, e.along_rad = 0.15 * DEG; /* mostly along the rings */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.along_rad = e.across_rad; /* as much across as along: across */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    /* across the rings, beyond the tolerance, but the edges across the rings (the only ones
     * that place the points across them) gain nothing: the gain is the edges along a ring
     * sliding along their vertical edges */
    e.beyond_tol = 0.5, e.along_rad = 0.02 * DEG;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.across_gain = 0.0;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
    e.across_gain = 0.004;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.along_rad = 0.15 * DEG, e.across_gain = -0.01; /* mostly along the rings: not asked */
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.across_gain = NAN;
    e.across_rad = e.along_rad = e.across_gaps = e.beyond_tol = NAN;
    e.significance = 0.0; /* an estimate that scores like the stored one is aligned all the same */
    e.error[AVT_CC_YAW] = 0.1 * DEG;
    e.score_best = 101.5;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_ALIGNED);
    e.error[AVT_CC_YAW] = 0.5 * DEG;
    /* without the jackknife (significance NaN) the errors count as they are */
    e.significance = NAN;
    e.score_best = 105.0;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    e.error[AVT_CC_YAW] = 0.1 * DEG;
    e.score_best = 101.5;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_ALIGNED);
}

/* The jackknife over column bands (avt_cc_search). A 640 x 400 camera looking along the LiDAR's
 * z (camera axes = LiDAR axes: the LiDAR's pitch pans the image), 8 vertical edges at columns
 * 40 + 80 b, D a tent 20 px wide on each; 21 points 10 m away on each edge's column. All
 * points 3 px to the right: every band sees the same pan, the error is significant. Only the
 * points of band 2, weighted 10 times the others, 12 px to the right: the whole view's
 * estimate follows them (more than 5 px), but it does not hold when band 2 is left out: not
 * significant, undetermined. The same with D 0 outside band 2: the rest of the view cannot
 * tell any calibration from another, which is no support (not agreement): undetermined. */
static void jack_scene(double shift_all, double shift_band2, int flat, uint16_t *dmap, float *x, float *y, float *z,
                       float *w)
{
    for (int v = 0; v < 400; v++)
        for (int u = 0; u < 640; u++) {
            int b = u / 80;
            float d = flat && b != 2 ? 0.0f : (float)fmax(0.0, 1.0 - fabs(u - (40.0 + 80 * b)) / 20.0);
            avt_cc_dmap_quantise(&d, 1, &dmap[v * 640 + u]);
        }
    for (int b = 0, n = 0; b < 8; b++)
        for (int j = 0; j < 21; j++, n++) {
            double u = 40.0 + 80 * b + shift_all + (b == 2 ? shift_band2 : 0), v = 100.0 + 10 * j;
            x[n] = (float)((u - 320) * 10 / 500), y[n] = (float)((v - 200) * 10 / 500), z[n] = 10.0f;
            w[n] = b == 2 ? 10.0f : 1.0f;
        }
}

static void test_jackknife(void **state)
{
    (void)state;
    avt_camera cam;
    avt_cam_model m;
    pinhole(640, 400, 500, 320, 200, &cam, &m);
    static uint16_t dmap[640 * 400];
    float x[168], y[168], z[168], w[168];
    avt_cc_options o;
    avt_cc_options_default(&o);
    o.grid = 0;
    avt_cc_thresholds t;
    avt_cc_thresholds_default(&t);
    t.min_points = 100;
    avt_cc_estimate e;
    const double shifts[3][2] = {{3, 0}, {0, 12}, {0, 12}};
    for (int c = 0; c < 3; c++) {
        jack_scene(shifts[c][0], shifts[c][1], c == 2, dmap, x, y, z, w);
        avt_cc_frame f = {x, y, z, w, 168, dmap, 640, 400, NULL, 0};
        assert_int_equal(avt_cc_search(&m, &cam.lidar_T_cam, &f, 1, &o, &e, NULL), AVT_OK);
        assert_true(isnan(e.significance)); /* the search alone: no jackknife */
        assert_int_equal(avt_cc_jackknife(&m, &cam.lidar_T_cam, &f, 1, &o, &e, NULL), AVT_OK);
        /* the correction moves the points back onto the edges (pitch pans; with every point
         * at one depth a sideways shift pans alike): the image column of (0, 0, 10) */
        avt_tf E = avt_cc_error_tf(e.error);
        double p[3] = {0, 0, 10}, q[3];
        avt_tf_apply(&E, p, q);
        double px = 500 * q[0] / q[2];
        print_message("scene %d: the correction moves the points %.2f px, significance %.2f\n", c, px,
                      e.significance);
        /* band 2 holds 210 of the 357 weight: 357^2 / (210^2 + 7 * 21^2) = 2.70 effective bands */
        assert_true(fabs(e.bands - 357.0 * 357.0 / (210.0 * 210 + 7 * 21.0 * 21)) < 1e-6);
        if (c == 0) {
            assert_true(fabs(px + 3) < 0.5);
            assert_true(e.significance >= 10);
            assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
        } else {
            assert_true(px < -5); /* band 2 draws the whole view's estimate */
            assert_true(e.significance < avt_cc_significance_needed(&e, &t) && e.significance > 0);
            assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_UNDETERMINED);
        }
    }
    /* points in the margin beyond the image's left border (kept for candidates that move them
     * in) belong to the leftmost band, whose leaving out removes them: 21 more at column -30,
     * weighted 100, make band 0 weigh 2121 */
    float xm[189], ym[189], zm[189], wm[189];
    jack_scene(3, 0, 0, dmap, xm, ym, zm, wm);
    for (int j = 0; j < 21; j++)
        xm[168 + j] = -350 * 10.0f / 500, ym[168 + j] = (float)((10 * j - 100) * 10.0 / 500), zm[168 + j] = 10.0f,
                 wm[168 + j] = 100.0f;
    avt_cc_frame fm = {xm, ym, zm, wm, 189, dmap, 640, 400, NULL, 0};
    assert_int_equal(avt_cc_search(&m, &cam.lidar_T_cam, &fm, 1, &o, &e, NULL), AVT_OK);
    assert_int_equal(avt_cc_jackknife(&m, &cam.lidar_T_cam, &fm, 1, &o, &e, NULL), AVT_OK);
    assert_true(fabs(e.bands - 2457.0 * 2457.0 / (2121.0 * 2121 + 210.0 * 210 + 6 * 21.0 * 21)) < 1e-6);
    /* without the jackknife: no significance, the second scene counts as miscalibrated */
    o.jackknife_bands = 0;
    avt_cc_frame f = {x, y, z, w, 168, dmap, 640, 400, NULL, 0};
    assert_int_equal(avt_cc_search(&m, &cam.lidar_T_cam, &f, 1, &o, &e, NULL), AVT_OK);
    assert_int_equal(avt_cc_jackknife(&m, &cam.lidar_T_cam, &f, 1, &o, &e, NULL), AVT_OK);
    assert_true(isnan(e.significance) && isnan(e.bands) && isnan(avt_cc_significance_needed(&e, &t)));
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
}

/* Edges along a ring alone do not place the points across the rings (avt_cc_search,
 * min_across_share). A 640 x 400 camera looking along the LiDAR's x (its columns along -y, its
 * rows along -z); 8 vertical edges at columns 40 + 80 b, D tents 20 px wide, stronger on the
 * rows 2 + 10 k than between them (as the map along the rows is stronger where an object's side
 * stands against the sky than where the ground's edges compete); 21 points 10 m away on each at
 * rows 100 + 10 j, 3 px right of their edge (a yaw error), with 1 deg half ring gaps. As edges
 * along a ring: roll, pitch and the shift along z, which move these points more across the
 * rings than along them, are held at 0 (not observed) and the yaw is found. The same points as
 * edges across the rings: they are searched and move the points 2 px down, onto the stronger
 * rows. */
static void test_held_across(void **state)
{
    (void)state;
    avt_camera cam;
    avt_cam_model m;
    pinhole(640, 400, 500, 320, 200, &cam, &m);
    const double R[3][3] = {{0, 0, 1}, {-1, 0, 0}, {0, -1, 0}}; /* columns: the camera's axes */
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) cam.lidar_T_cam.m[4 * r + c] = R[r][c];
    static uint16_t dmap[640 * 400];
    for (int v = 0; v < 400; v++)
        for (int u = 0; u < 640; u++) {
            const int r = (v + 8) % 10, off = r < 10 - r ? r : 10 - r; /* rows from the nearest 2 + 10 k */
            float d = (float)(fmax(0.0, 1.0 - fabs(u - (40.0 + 80 * (u / 80))) / 20.0) *
                              (0.5 + 0.5 * fmax(0.0, 1.0 - off / 3.0)));
            avt_cc_dmap_quantise(&d, 1, &dmap[v * 640 + u]);
        }
    float x[168], y[168], z[168], w[168], hg[168];
    for (int b = 0, n = 0; b < 8; b++)
        for (int j = 0; j < 21; j++, n++) {
            double u = 43.0 + 80 * b, v = 100.0 + 10 * j;
            x[n] = 10.0f, y[n] = (float)(-(u - 320) * 10 / 500), z[n] = (float)(-(v - 200) * 10 / 500);
            w[n] = 1.0f, hg[n] = (float)(1.0 * DEG);
        }
    avt_cc_options o;
    avt_cc_options_default(&o);
    o.grid = 0;
    avt_cc_estimate e;
    for (int along = 1; along >= 0; along--) {
        avt_cc_frame f = {x, y, z, w, 168, dmap, 640, 400, hg, along};
        assert_int_equal(avt_cc_search(&m, &cam.lidar_T_cam, &f, 1, &o, &e, NULL), AVT_OK);
        /* where the correction moves the image centre's point (10, 0, 0) */
        avt_tf E = avt_cc_error_tf(e.error);
        double p[3] = {10, 0, 0}, q[3];
        avt_tf_apply(&E, p, q);
        double du = -500 * q[1] / q[0], dv = -500 * q[2] / q[0];
        print_message("along %d: across share %.2f, observed roll %d pitch %d yaw %d, moves %.2f px right, %.2f px "
                      "down\n", along, e.across_share, e.observed[AVT_CC_ROLL], e.observed[AVT_CC_PITCH],
                      e.observed[AVT_CC_YAW], du, dv);
        assert_true(e.across_share == (along ? 0.0 : 1.0));
        assert_true(e.observed[AVT_CC_YAW]);
        if (along) {
            assert_true(!e.observed[AVT_CC_ROLL] && !e.observed[AVT_CC_PITCH] && !e.observed[AVT_CC_Z]);
            assert_true(e.error[AVT_CC_ROLL] == 0.0 && e.error[AVT_CC_PITCH] == 0.0 && e.error[AVT_CC_Z] == 0.0);
            assert_true(isnan(e.sharpness[AVT_CC_PITCH]) && isnan(e.breadth[AVT_CC_Z]) && isfinite(e.breadth[AVT_CC_YAW]));
            assert_true(fabs(du + 3) < 0.5 && fabs(dv) < 0.5);
        } else {
            assert_true(e.observed[AVT_CC_PITCH]);
            assert_true(fabs(du + 3) < 0.5 && fabs(dv - 2) < 0.5);
        }
    }
}

/* The significance needed, against the table of Student's t's critical values (NIST/SEMATECH
 * e-Handbook of Statistical Methods, section 1.3.6.7.2, upper-tail 0.01 and 0.05: two-sided
 * levels 0.02 and 0.10): 1, 2 and 7 degrees of freedom are 2, 3 and 8 effective bands. A level
 * outside (0, 1) asks for what no significance reaches (NaN: not significant). */
static void test_significance_needed(void **state)
{
    (void)state;
    avt_cc_thresholds t;
    avt_cc_thresholds_default(&t);
    avt_cc_estimate e;
    avt_cc_estimate_clear(&e);
    assert_true(isnan(avt_cc_significance_needed(&e, &t))); /* no jackknife */
    const double bands[3] = {2, 3, 8}, q99[3] = {31.821, 6.965, 2.998}, q95[3] = {6.314, 2.920, 1.895};
    for (int i = 0; i < 3; i++) { /* cmocka's float comparison takes inf and NaN for any value */
        e.bands = bands[i];
        t.level = 0.02;
        const double n99 = avt_cc_significance_needed(&e, &t);
        assert_true(isfinite(n99) && fabs(n99 - q99[i]) < 5e-4);
        t.level = 0.10;
        const double n95 = avt_cc_significance_needed(&e, &t);
        assert_true(isfinite(n95) && fabs(n95 - q95[i]) < 5e-4);
    }
    e.bands = 1.999;
    assert_true(isinf(avt_cc_significance_needed(&e, &t)));
    /* a bad level: never significant, even for a correction with a significance */
    avt_cc_thresholds bad = t;
    e.bands = 8;
    e.significance = AVT_CC_MAX_SIGNIFICANCE, e.points = 1000, e.score_stored = 100, e.score_best = 105;
    e.error[AVT_CC_YAW] = 0.5 * DEG, e.observed[AVT_CC_YAW] = 1;
    assert_int_equal(avt_cc_judge(&e, &t), AVT_CC_MISCALIBRATED);
    for (int i = 0; i < 4; i++) {
        bad.level = (const double[]){0.0, 1.0, -0.5, NAN}[i];
        assert_true(isnan(avt_cc_significance_needed(&e, &bad)));
        assert_int_equal(avt_cc_judge(&e, &bad), AVT_CC_UNDETERMINED);
    }
    t.level = 0.02;
    /* fractional degrees of freedom, against the regularised incomplete beta function of Python's
     * mpmath (P(T > t) = I_{nu / (nu + t^2)}(nu / 2, 1 / 2) / 2, solved for 0.01 with findroot) */
    const double fb[3] = {2.5, 2.7, 5.7}, fq[3] = {11.19732, 8.91012, 3.45663};
    for (int i = 0; i < 3; i++) {
        e.bands = fb[i];
        const double q = avt_cc_significance_needed(&e, &t);
        assert_true(isfinite(q) && fabs(q - fq[i]) < 5e-4);
    }
}

/* The gain over the points both calibrations put in the image, relative to the stored score. A
 * 640 x 400 camera looking along the LiDAR's z; D a tent 6 px wide on column 320; 39 points
 * 10 m away on that column at rows -40 to 340 (the first four in the frame's margin above the
 * image). A turn about the LiDAR's x (the camera's) moving them 40 px down slides them along the
 * line: those in the image stay on it, the four above come in onto it. The plain score gains 4,
 * the common gain is 0. The same points 2 px beside the column (D 1/3) and a turn moving them
 * back onto it: the common gain is that of the 35 in the image, 2 (from 35/3 to 35). The points
 * at rows 10 to 390, all in the image, moved 40 px down: four leave at the bottom, the plain
 * score loses 4, the common gain is 0. */
static void test_common_gain(void **state)
{
    (void)state;
    avt_camera cam;
    avt_cam_model m;
    pinhole(640, 400, 500, 320, 200, &cam, &m);
    static uint16_t dmap[640 * 400];
    for (int v = 0; v < 400; v++)
        for (int u = 0; u < 640; u++) {
            float d = (float)fmax(0.0, 1.0 - fabs(u - 320.0) / 3.0);
            avt_cc_dmap_quantise(&d, 1, &dmap[v * 640 + u]);
        }
    float x[39], y[39], z[39], w[39], w3[39];
    avt_cc_scratch s = {0};
    assert_int_equal(avt_cc_scratch_reserve(&s, 39, NULL), AVT_OK);
    for (int side = 0; side < 3; side++) {
        for (int j = 0; j < 39; j++) {
            double u = 320.0 + 2 * (side == 1), v = (side == 2 ? 10.0 : -40.0) + 10 * j;
            x[j] = (float)((u - 320) * 10 / 500), y[j] = (float)((v - 200) * 10 / 500), z[j] = 10.0f, w[j] = 1.0f;
            w3[j] = 3.0f;
        }
        /* the points twice: as edges across the rings, and along them weighted 3 (across_gain:
         * a quarter of the common gain) */
        const avt_cc_frame f[2] = {{x, y, z, w, 39, dmap, 640, 400, NULL, 0}, {x, y, z, w3, 39, dmap, 640, 400, NULL, 1}};
        avt_cc_estimate e;
        avt_cc_estimate_clear(&e);
        /* a turn about the LiDAR's x by -atan(40 / 500) moves (0, 0, 10) 40 px down the image,
         * about its y by -atan(2 / 500) 2 px left */
        if (side != 1) e.error[AVT_CC_ROLL] = -atan(40.0 / 500);
        else e.error[AVT_CC_PITCH] = -atan(2.0 / 500);
        const double zero[AVT_CC_NPARAM] = {0};
        double s0 = avt_cc_score(&m, &cam.lidar_T_cam, zero, f, 1, &s, NULL);
        double s1 = avt_cc_score(&m, &cam.lidar_T_cam, e.error, f, 1, &s, NULL);
        e.score_stored = 4 * s0;
        assert_int_equal(avt_cc_common_gain(&m, &cam.lidar_T_cam, f, 2, &e, NULL), AVT_OK);
        print_message("side %d: score %.2f -> %.2f, common gain %.4f, across the rings %.4f\n", side, s0, s1,
                      e.common_gain, e.across_gain);
        assert_true(isfinite(e.across_gain) && fabs(e.across_gain - 0.25 * e.common_gain) < 1e-6);
        if (side == 0) {
            assert_true(fabs(s0 - 35.0) < 0.01 && fabs(s1 - 39.0) < 0.05); /* four more from above */
            assert_true(fabs(e.common_gain) < 0.002);
        } else if (side == 1) {
            assert_true(fabs(s0 - 35.0 / 3) < 0.01 && fabs(s1 - 35.0) < 0.05);
            assert_true(fabs(e.common_gain - 2.0) < 0.01);
        } else {
            assert_true(fabs(s0 - 39.0) < 0.01 && fabs(s1 - 35.0) < 0.05); /* four out at the bottom */
            assert_true(fabs(e.common_gain) < 0.002);
        }
    }
    avt_cc_scratch_free(&s);
}

/* How a correction moves points as the LiDAR sees them (angles in degrees, distances 10 m).
 * Frame 1, edges across the rings: point 1 straight ahead (half gap 0.1), point 2 at azimuth 60
 * (weight 2, half gap 0.2), point 3 straight ahead at elevation 60 (half gap 0.1); frame 2 has
 * no half gaps and counts nothing; frame 3, edges along a ring: point 4 behind at azimuth
 * 179.9 (half gap 0.15: tolerance a whole gap, 0.3), point 5 on a ring without neighbours
 * (half gap NaN, not counted). 0.2 deg of pitch moves points 1, 3 and 4 across the rings by
 * 0.2, point 2 by 0.1 (pitch tilts it by cos 60): 0.16 on average (weights 1, 2, 1, 1); in half
 * gaps 2, 0.5, 2, 1.33; beyond their tolerance: points 1 and 3 (weight 2 of 5). 0.3 deg of
 * yaw turns every point by 0.3 in azimuth (point 4 across +-180), an angle of 0.3 cos 60 for
 * point 3: 0.27 along the rings. 5 cm up moves point 1 across by atan(0.05 / 10). */
static void test_displacement(void **state)
{
    (void)state;
    const double c60 = cos(60 * DEG), s60 = sin(60 * DEG);
    const float x[3] = {10.0f, (float)(10 * c60), (float)(10 * c60)}, y[3] = {0.0f, (float)(10 * s60), 0.0f};
    const float z[3] = {0.0f, 0.0f, (float)(10 * s60)}, w[3] = {1.0f, 2.0f, 1.0f};
    const float hg[3] = {(float)(0.1 * DEG), (float)(0.2 * DEG), (float)(0.1 * DEG)};
    const float x4[2] = {(float)(10 * cos(179.9 * DEG)), 10.0f}, y4[2] = {(float)(10 * sin(179.9 * DEG)), 0.0f};
    const float z4[2] = {0.0f, 5.0f}, w4[2] = {1.0f, 5.0f}, hg4[2] = {(float)(0.15 * DEG), NAN};
    static uint16_t dmap[4];
    avt_cc_frame f[3] = {{x, y, z, w, 3, dmap, 2, 2, hg, 0}, {x, y, z, w, 3, dmap, 2, 2, NULL, 0},
                         {x4, y4, z4, w4, 2, dmap, 2, 2, hg4, 1}};
    avt_cc_estimate e;
    memset(&e, 0, sizeof e);
    e.error[AVT_CC_PITCH] = 0.2 * DEG;
    avt_cc_displacement(f, 3, &e);
    assert_true(fabs(e.across_rad / DEG - 0.16) < 1e-4);
    assert_true(fabs(e.across_gaps - (2 + 2 * 0.5 + 2 + 0.2 / 0.15) / 5) < 1e-3);
    assert_true(fabs(e.beyond_tol - 0.4) < 1e-6);
    assert_true(e.along_rad / DEG < 0.01); /* pitch turns point 2 a little along, too */
    e.error[AVT_CC_PITCH] = 0, e.error[AVT_CC_YAW] = 0.3 * DEG;
    avt_cc_displacement(f, 3, &e);
    assert_true(fabs(e.along_rad / DEG - (0.3 + 2 * 0.3 + 0.3 * c60 + 0.3) / 5) < 1e-4);
    assert_true(e.across_rad / DEG < 1e-4 && e.across_gaps < 1e-3 && e.beyond_tol == 0.0);
    e.error[AVT_CC_YAW] = 0, e.error[AVT_CC_Z] = 0.05;
    avt_cc_displacement(f, 1, &e); /* frame 1 alone */
    assert_true(fabs(e.across_rad - (atan(0.005) + 2 * atan(0.005) + (atan2(10 * s60 + 0.05, 10 * c60) - 60 * DEG)) / 4) <
                1e-6);
    f[0].half_gap = NULL;
    avt_cc_displacement(f, 2, &e);
    assert_true(isnan(e.across_rad) && isnan(e.along_rad) && isnan(e.across_gaps) && isnan(e.beyond_tol));
}

/* Maps quantised to 16 bits: clamped to [0, 1], rounded, NaN as 0. */
static void test_dmap_quantise(void **state)
{
    (void)state;
    const float d[7] = {-0.5f, 0.0f, 0.25f, 0.5f, 1.0f, 2.0f, NAN};
    const uint16_t want[7] = {0, 0, 16384, 32768, 65535, 65535, 0}; /* 16383.75, 32767.5 round up */
    uint16_t q[7];
    avt_cc_dmap_quantise(d, 7, q);
    for (int i = 0; i < 7; i++) assert_int_equal(q[i], want[i]);
}

/* The score of one point through an identity-like camera: weight x bilinear D. */
static void test_score_one_point(void **state)
{
    (void)state;
    avt_camera cam;
    avt_cam_model m;
    pinhole(8, 6, 100, 3.5, 2.5, &cam, &m);
    float d[48];
    uint16_t dmap[48];
    for (int i = 0; i < 48; i++) d[i] = ((float)(i % 8) + 10.0f * (float)(i / 8)) / 100.0f; /* D = (u + 10 v) / 100 */
    avt_cc_dmap_quantise(d, 48, dmap);
    /* the point at (u, v) = (3.5 + 100 x / z, 2.5 + 100 y / z) = (4.25, 1.75) */
    float x = 0.0075f, y = -0.0075f, z = 1.0f, w = 2.0f;
    avt_cc_frame f = {&x, &y, &z, &w, 1, dmap, 8, 6, NULL, 0};
    avt_cc_scratch s = {0};
    assert_int_equal(avt_cc_scratch_reserve(&s, 1, NULL), AVT_OK);
    double e[6] = {0};
    size_t in = 0;
    double sc = avt_cc_score(&m, &cam.lidar_T_cam, e, &f, 1, &s, &in);
    assert_int_equal(in, 1);
    assert_true(fabs(sc - 2.0 * (4.25 + 17.5) / 100) < 1e-4); /* bilinear of a linear map: exact, but for the 16-bit steps */
    /* E moving the point by +0.0025 along x (LiDAR = camera axes): u 4.5 */
    e[AVT_CC_X] = 0.0025;
    sc = avt_cc_score(&m, &cam.lidar_T_cam, e, &f, 1, &s, &in);
    assert_true(fabs(sc - 2.0 * (4.5 + 17.5) / 100) < 1e-4);
    avt_cc_scratch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_tf_axes),         cmocka_unit_test(test_edge_map_step),
        cmocka_unit_test(test_edge_map_chessboard),   cmocka_unit_test(test_edge_map_along),
        cmocka_unit_test(test_edge_map_along_window), cmocka_unit_test(test_discontinuities_ring),
        cmocka_unit_test(test_discontinuities_grazing),
        cmocka_unit_test(test_discontinuities_beam_origin),
        cmocka_unit_test(test_discontinuities_far_ground),
        cmocka_unit_test(test_discontinuities_pole),
        cmocka_unit_test(test_discontinuities_empty_ring),
        cmocka_unit_test(test_discontinuities_vertical), cmocka_unit_test(test_discontinuities_sky_and_cut),
        cmocka_unit_test(test_discontinuities_lost_packet),
        cmocka_unit_test(test_dmap_quantise),         cmocka_unit_test(test_score_one_point),
        cmocka_unit_test(test_judge),                 cmocka_unit_test(test_jackknife),
        cmocka_unit_test(test_held_across),
        cmocka_unit_test(test_significance_needed),   cmocka_unit_test(test_common_gain),
        cmocka_unit_test(test_displacement),          cmocka_unit_test(test_discontinuities_half_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
