/* Labels, poses and per-point labels: valid files, broken files with precise messages,
 * interpolation against closed forms, the overlap rule. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/labels.h"

static char path[64];

static void write_tmp(const char *ext, const char *text)
{
    snprintf(path, sizeof path, "/tmp/avt_labels_%d.%s", (int)getpid(), ext);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_label_file(void **state)
{
    (void)state;
    write_tmp("json", "{\"timestamp_ns\": 1732752000123456789, \"frame\": \"lidar\", \"boxes\": ["
                      "{\"track_id\": 7, \"class\": \"car\", \"center\": [1,2,3], \"size\": [4.5,1.9,1.6],"
                      " \"yaw\": 0.3, \"velocity\": [1,0,0], \"attributes\": []},"
                      "{\"track_id\": 8, \"class\": \"pedestrian\", \"center\": [5,2,1], \"size\": [0.6,0.6,1.8],"
                      " \"yaw\": 0}]}");
    avt_label_frame lf;
    avt_error err = {0, ""};
    assert_int_equal(avt_label_frame_load(path, &lf, &err), 0);
    assert_int_equal(lf.n, 2);
    assert_true(lf.timestamp_ns == 1732752000123456789LL); /* exact 64-bit integer */
    assert_int_equal(lf.boxes[0].class_id, 1);
    assert_true(isnan(lf.boxes[1].velocity[0]));
    avt_label_frame_free(&lf);

    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"timestamp_ns\": 1, \"boxes\": [", "line"},
        {"{\"boxes\": []}", "timestamp_ns"},
        {"{\"timestamp_ns\": 1, \"boxes\": [{\"track_id\": 1, \"class\": \"ufo\", \"center\": [0,0,0], "
         "\"size\": [1,1,1], \"yaw\": 0}]}", "boxes[0].class: 'ufo': not a class of schema avtruth-default"},
        {"{\"timestamp_ns\": 1, \"boxes\": [{\"track_id\": 1, \"class\": \"car\", \"center\": [0,0], "
         "\"size\": [1,1,1], \"yaw\": 0}]}", "boxes[0].center"},
        {"{\"timestamp_ns\": 1, \"boxes\": [{\"track_id\": 1, \"class\": \"car\", \"center\": [0,0,0], "
         "\"size\": [1,-1,1], \"yaw\": 0}]}", "boxes[0].size[1]: '-1': sizes must be positive"},
        {"{\"timestamp_ns\": 1, \"frame\": \"camera\", \"boxes\": []}", "frame: 'camera'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_tmp("json", bad[i].text);
        err.msg[0] = '\0';
        assert_int_not_equal(avt_label_frame_load(path, &lf, &err), 0);
        if (!strstr(err.msg, bad[i].needle) || !strstr(err.msg, path))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].needle);
    }
    unlink(path);
}

/* avt_poses_at_cursor gives avt_poses_at's transform bit for bit, whatever the order of the
 * times: forward through every interval, at every knot (the last one too), backwards,
 * repeated, and across a pair of poses nearly equal (the linear branch). */
static void test_poses_cursor(void **state)
{
    (void)state;
    char text[1024];
    int len = snprintf(text, sizeof text, "t_ns,x,y,z,qw,qx,qy,qz\n");
    const double yaw[6] = {0, 0.3, 0.3 + 1e-9, -2.5, 3.0, 1.0};
    for (int k = 0; k < 6; k++) { /* a yaw, then a small roll */
        const double w = cos(yaw[k] / 2), z = sin(yaw[k] / 2), cr = cos(0.05), sr = sin(0.05);
        len += snprintf(text + len, sizeof text - (size_t)len, "%d,%d,%d,0,%.17g,%.17g,%.17g,%.17g\n",
                        1000 * (k + 1), k, -k, w * cr, w * sr, z * sr, z * cr);
    }
    write_tmp("csv", text);
    avt_poses p;
    avt_error err = {0, ""};
    assert_int_equal(avt_poses_load(path, &p, &err), 0);
    int64_t times[200];
    size_t n = 0;
    for (int64_t t = 1000; t <= 6000; t += 37) times[n++] = t; /* forward, knots at 1000.. */
    for (int k = 1; k <= 6; k++) times[n++] = 1000 * k;
    times[n++] = 6000, times[n++] = 6000, times[n++] = 1001, times[n++] = 5999;
    times[n++] = 2500, times[n++] = 2500, times[n++] = 3000, times[n++] = 2999;
    avt_poses_cursor cur = {0};
    for (size_t i = 0; i < n; i++) {
        avt_tf a, b;
        assert_int_equal(avt_poses_at(&p, times[i], &a, &err), 0);
        assert_int_equal(avt_poses_at_cursor(&p, times[i], &cur, &b, &err), 0);
        if (memcmp(&a, &b, sizeof a) != 0) fail_msg("t = %lld: the cursor's pose differs", (long long)times[i]);
    }
    assert_int_not_equal(avt_poses_at_cursor(&p, 6001, &cur, &(avt_tf){{0}}, &err), 0);
    assert_non_null(strstr(err.msg, "6001"));
    avt_poses_free(&p);
}

/* Deskew against the closed form lidar_T_ego W(t_ref)^-1 W(t) ego_T_lidar p per point, on a
 * trajectory that zigzags (yaw rate +-2 rad/s and lateral speed +-10 m/s, switching at every
 * 10 ms pose sample: a kink the knots must not blend across, worth 12 mm at 120 m), points
 * 1-120 m away at shuffled times: within 20 um plus float rounding. Then a sweep at one time
 * and one longer than the knot table (both exact per point). */
static void check_deskew(const avt_poses *p, const avt_tf *lidar_T_ego, size_t n, const int64_t *t, int64_t t_ref)
{
    float *xyz = malloc(n * 12), *out = malloc(n * 12);
    assert_true(xyz && out);
    for (size_t i = 0; i < n; i++) {
        const double az = 0.37 * (double)i, el = 0.3 * sin(0.11 * (double)i), r = 1 + (double)(i * 7919 % 1190) / 10;
        xyz[3 * i] = (float)(r * cos(el) * cos(az)), xyz[3 * i + 1] = (float)(r * cos(el) * sin(az));
        xyz[3 * i + 2] = (float)(r * sin(el));
    }
    avt_sweep sw = {0};
    sw.n = n, sw.xyz = xyz, sw.t_ns = (int64_t *)t, sw.timestamp_ns = t_ref;
    avt_error err = {0, ""};
    assert_int_equal(avt_poses_deskew(p, lidar_T_ego, &sw, out, &err), 0);
    avt_tf w_ref, w_t;
    assert_int_equal(avt_poses_at(p, t_ref, &w_ref, &err), 0);
    const avt_tf ego_T_lidar = avt_tf_inv(lidar_T_ego), w_ref_inv = avt_tf_inv(&w_ref);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(avt_poses_at(p, t[i], &w_t, &err), 0);
        double a[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]}, b[3], c[3], d[3], e[3];
        avt_tf_apply(&ego_T_lidar, a, b);
        avt_tf_apply(&w_t, b, c);
        avt_tf_apply(&w_ref_inv, c, d);
        avt_tf_apply(lidar_T_ego, d, e);
        for (int k = 0; k < 3; k++) {
            const double dev = fabs(out[3 * i + k] - e[k]) - 6e-8 * fabs(e[k]);
            worst = dev > worst ? dev : worst;
        }
    }
    if (worst > 20e-6) fail_msg("deskew departs from the closed form by %.3g m", worst);
    free(xyz), free(out);
}

static void test_deskew(void **state)
{
    (void)state;
    const int rows = 2001; /* 0 .. 20 s every 10 ms */
    const size_t cap = (size_t)rows * 160 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    int len = snprintf(text, cap, "t_ns,x,y,z,qw,qx,qy,qz\n");
    double yaw = 0, y = 0;
    for (int k = 0; k < rows; k++) {
        len += snprintf(text + len, cap - (size_t)len, "%lld,%.17g,%.17g,0.5,%.17g,0,0,%.17g\n", (long long)k * 10000000, 15 * 0.01 * k, y,
                       cos(yaw / 2), sin(yaw / 2));
        const double sgn = k % 2 ? -1 : 1;
        yaw += sgn * 2 * 0.01, y += sgn * 10 * 0.01;
    }
    assert_true((size_t)len < cap); /* the table fitted */
    write_tmp("csv", text);
    free(text);
    avt_poses p;
    avt_error err = {0, ""};
    assert_int_equal(avt_poses_load(path, &p, &err), 0);
    const double q[4] = {0.999, 0.01, -0.03, 0.02}, tr[3] = {1.2, -0.1, 1.8};
    const avt_tf lidar_T_ego = avt_tf_from_qt(q, tr);
    enum { N = 40000 };
    int64_t *t = malloc(N * sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < N; i++) t[i] = 1000031234 + (int64_t)((i * 104729) % N) * 2500 + (int64_t)(i % 3);
    check_deskew(&p, &lidar_T_ego, N, t, 1050000000); /* 100 ms, shuffled, 10 pose samples inside */
    for (size_t i = 0; i < 1000; i++) t[i] = 1234567891;
    check_deskew(&p, &lidar_T_ego, 1000, t, 1234567891); /* one time */
    for (size_t i = 0; i < 1000; i++) t[i] = 2000000000 + (int64_t)i * 10000007;
    check_deskew(&p, &lidar_T_ego, 1000, t, 5000000000); /* 10 s: longer than the knot table */
    free(t);
    avt_poses_free(&p);
}

static void test_poses(void **state)
{
    (void)state;
    /* yaw 0 -> 0.2 rad about z over 1 s, translation (0,0,0) -> (10,0,0) */
    char text[512];
    snprintf(text, sizeof text, "t_ns,x,y,z,qw,qx,qy,qz\n1000000000,0,0,0,1,0,0,0\n2000000000,10,0,0,%.17g,0,0,%.17g\n",
             cos(0.1), sin(0.1));
    write_tmp("csv", text);
    avt_poses p;
    avt_error err = {0, ""};
    assert_int_equal(avt_poses_load(path, &p, &err), 0);
    avt_tf T;
    assert_int_equal(avt_poses_at(&p, 1250000000, &T, &err), 0);
    assert_true(fabs(T.m[3] - 2.5) < 1e-12);
    assert_true(fabs(atan2(T.m[4], T.m[0]) - 0.05) < 1e-12); /* slerp: yaw interpolates linearly */
    assert_int_not_equal(avt_poses_at(&p, 2500000000, &T, &err), 0);
    assert_non_null(strstr(err.msg, "2500000000"));
    avt_poses_free(&p);

    write_tmp("csv", "t_ns,x,y,z,qw,qx,qy,qz\n2,0,0,0,1,0,0,0\n1,0,0,0,1,0,0,0\n");
    assert_int_not_equal(avt_poses_load(path, &p, &err), 0);
    assert_non_null(strstr(err.msg, "line 3"));
    write_tmp("csv", "t_ns,x,y,z,qw,qx,qy,qz\n2,0,0,zero,1,0,0,0\n");
    assert_int_not_equal(avt_poses_load(path, &p, &err), 0);
    assert_non_null(strstr(err.msg, "'zero'"));
    write_tmp("csv", "t_ns,x,y,z,qw,qx,qy,qz\n2,0,0,0,2,0,0,0\n");
    assert_int_not_equal(avt_poses_load(path, &p, &err), 0);
    assert_non_null(strstr(err.msg, "quaternion"));
    unlink(path);
}

/* Box motion by hand: the label's LiDAR sits at world (10,0,0) facing +x; the box at (5,0,0),
 * yaw 0.3, moving at 1 m/s along the LiDAR's x. One second later it is at world (16,0,0). The
 * other frame's LiDAR sits at (12,0,0) turned 90 degrees left, so world (16,0,0) is 4 m to its
 * right: (0,-4,0); the yaw loses 90 degrees and the velocity (1,0,0) becomes (0,-1,0). */
static void test_box_motion(void **state)
{
    (void)state;
    const double t_label[3] = {10, 0, 0}, t_other[3] = {12, 0, 0};
    const avt_tf world_T_label = avt_tf_from_yaw(0, t_label);
    const avt_tf world_T_other = avt_tf_from_yaw(M_PI / 2, t_other);
    const avt_tf other_T_world = avt_tf_inv(&world_T_other);
    avt_label_box in = {{5, 0, 0}, {4, 2, 1.5}, 0.3, {1, 0, 0}, 1, 42, 0, NAN, -1, NAN}, out;
    const int64_t t0 = 1000000000000LL, t1 = t0 + 1000000000LL;

    avt_tf w = avt_label_box_pose(&in, &world_T_label, t0, t1);
    assert_float_equal(w.m[3], 16, 1e-12);
    assert_float_equal(w.m[7], 0, 1e-12);
    assert_float_equal(w.m[0], cos(0.3), 1e-12); /* rotation: yaw about z */
    assert_float_equal(w.m[4], sin(0.3), 1e-12);

    avt_label_box_move(&in, &world_T_label, t0, &other_T_world, t1, &out);
    assert_float_equal(out.center[0], 0, 1e-12);
    assert_float_equal(out.center[1], -4, 1e-12);
    assert_float_equal(out.center[2], 0, 1e-12);
    assert_float_equal(out.yaw, 0.3 - M_PI / 2, 1e-12);
    assert_float_equal(out.velocity[0], 0, 1e-12);
    assert_float_equal(out.velocity[1], -1, 1e-12);
    assert_true(out.size[0] == 4 && out.class_id == 1 && out.track_id == 42);

    /* no velocity: the box stays where it was in the world */
    in.velocity[0] = in.velocity[1] = in.velocity[2] = NAN;
    avt_label_box_move(&in, &world_T_label, t0, &other_T_world, t1, &out);
    assert_float_equal(out.center[0], 0, 1e-12);
    assert_float_equal(out.center[1], -3, 1e-12);
    assert_true(isnan(out.velocity[0]));
    /* at the label's own time the box is copied unchanged, whatever the frames */
    avt_label_box_move(&in, &world_T_label, t0, &other_T_world, t0, &out);
    assert_true(out.center[0] == 5 && out.center[1] == 0 && out.yaw == 0.3 && isnan(out.velocity[0]));

    double q[4];
    avt_yaw_quaternion(M_PI / 2, q); /* 90 degrees about z: (cos 45, 0, 0, sin 45) */
    assert_float_equal(q[0], sqrt(0.5), 1e-12);
    assert_float_equal(q[3], sqrt(0.5), 1e-12);
    assert_true(q[1] == 0 && q[2] == 0);
}

static void test_point_labels(void **state)
{
    (void)state;
    avt_label_box boxes[3];
    memset(boxes, 0, sizeof boxes);
    /* a large car box and a small pedestrian box inside it: the smaller one wins; a third box
     * of the pedestrian's volume, unrotated, over it: a tie, which the lower row wins */
    boxes[0] = (avt_label_box){{0, 0, 0}, {4, 2, 2}, 0, {NAN, NAN, NAN}, 1, 10, 0, NAN, -1, NAN};
    boxes[1] = (avt_label_box){{1, 0, 0}, {0.5, 0.5, 1}, M_PI / 4, {NAN, NAN, NAN}, 2, 11, 0, NAN, -1, NAN};
    boxes[2] = (avt_label_box){{1, 0, 0}, {0.5, 0.5, 1}, 0, {NAN, NAN, NAN}, 3, 12, 0, NAN, -1, NAN};
    const float xyz[] = {0, 0, 0, 1, 0, 0, 1.9f, 0, 0, 2.1f, 0, 0, 1.3f, 0.0f, 0};
    uint16_t lab[5];
    int32_t inst[5];
    uint32_t cnt[3];
    avt_label_points(xyz, 5, NULL, boxes, 3, lab, inst, cnt);
    assert_int_equal(inst[0], 0);
    assert_int_equal(inst[1], 1);
    assert_int_equal(lab[1], 2);
    assert_int_equal(inst[2], 0);
    assert_int_equal(inst[3], -1);
    assert_int_equal(lab[3], 0);
    /* (1.3, 0): 0.3 m along x from the pedestrian centre; rotated 45 deg the half-diagonal is
     * 0.354, so inside */
    assert_int_equal(inst[4], 1);
    assert_int_equal(cnt[0], 2);
    assert_int_equal(cnt[1], 2);
    assert_int_equal(cnt[2], 0);
}

/* The definition, point by point: the box (in its frame: rotated by -yaw about its centre)
 * holding the point, the smallest by volume, the lowest row of equal ones. */
static int32_t reference_instance(const float *p, const avt_label_box *boxes, size_t nb)
{
    int32_t best = -1;
    for (size_t b = 0; b < nb; b++) {
        const avt_label_box *bx = &boxes[b];
        const double c = cos(bx->yaw), s = sin(bx->yaw);
        const double dx = p[0] - bx->center[0], dy = p[1] - bx->center[1], dz = p[2] - bx->center[2];
        const double lx = c * dx + s * dy, ly = -s * dx + c * dy;
        if (!(fabs(lx) <= 0.5 * bx->size[0] && fabs(ly) <= 0.5 * bx->size[1] && fabs(dz) <= 0.5 * bx->size[2]))
            continue;
        const double v = bx->size[0] * bx->size[1] * bx->size[2];
        if (best < 0 || v < boxes[best].size[0] * boxes[best].size[1] * boxes[best].size[2]) best = (int32_t)b;
    }
    return best;
}

/* With the cloud's blocks (avt_point_blocks), a sweep-ordered cloud (azimuth by azimuth, near
 * to far, some points on and just off box faces, NaN points) among 60 boxes of every yaw and
 * height gets the labels, instances and counts of the test of every box, and each point the
 * box of the definition (reference_instance). */
static void test_point_labels_blocks(void **state)
{
    (void)state;
    enum { N = 40000, NB = 60 };
    float *xyz = malloc(N * 12);
    uint16_t *l1 = malloc(N * 2), *l2 = malloc(N * 2);
    int32_t *i1 = malloc(N * 4), *i2 = malloc(N * 4);
    avt_label_box boxes[NB];
    uint32_t c1[NB], c2[NB];
    assert_true(xyz && l1 && l2 && i1 && i2);
    for (int b = 0; b < NB; b++) {
        const double az = 0.1047 * b, r = 3 + (b * 37 % 40);
        boxes[b] = (avt_label_box){{r * cos(az), r * sin(az), -1 + 0.05 * (b % 9)}, {1 + b % 5, 0.6 + 0.1 * (b % 7),
                                   0.5 + 0.2 * (b % 4)}, 0.37 * b, {NAN, NAN, NAN}, 1 + b % 3, b, 0, NAN, -1, NAN};
    }
    for (int i = 0; i < N; i++) { /* 400 azimuths x 100 points out to 60 m */
        const double az = 6.2832 * (i / 100) / 400, r = 0.5 + 0.6 * (i % 100), z = -1.2 + 0.03 * (i % 97);
        xyz[3 * i] = (float)(r * cos(az)), xyz[3 * i + 1] = (float)(r * sin(az)), xyz[3 * i + 2] = (float)z;
    }
    for (int b = 0; b < NB; b++) /* a corner of every box exactly, in the block of its azimuth */
        for (int k = 0; k < 3; k++) {
            const double c = cos(boxes[b].yaw), s = sin(boxes[b].yaw), hx = 0.5 * boxes[b].size[0] * (k ? 1 : 1.0001),
                         hy = 0.5 * boxes[b].size[1];
            const int i = (int)(fmod(atan2(boxes[b].center[1], boxes[b].center[0]) + 6.2832, 6.2832) / 6.2832 * 400) *
                              100 + 3 * b % 100 + k;
            xyz[3 * i] = (float)(boxes[b].center[0] + c * hx - s * hy);
            xyz[3 * i + 1] = (float)(boxes[b].center[1] + s * hx + c * hy);
            xyz[3 * i + 2] = (float)(boxes[b].center[2] + (k == 2 ? 0.5 * boxes[b].size[2] : 0));
        }
    xyz[3 * 777] = NAN;
    avt_point_blocks blk = {0};
    assert_int_equal(avt_point_blocks_build(&blk, xyz, N), 0);
    avt_label_points(xyz, N, NULL, boxes, NB, l1, i1, c1);
    avt_label_points(xyz, N, &blk, boxes, NB, l2, i2, c2);
    assert_memory_equal(l1, l2, N * 2);
    assert_memory_equal(i1, i2, N * 4);
    assert_memory_equal(c1, c2, sizeof c1);
    for (int i = 0; i < N; i++) {
        const int32_t r = reference_instance(&xyz[3 * i], boxes, NB);
        if (i1[i] != r || l1[i] != (r >= 0 ? boxes[r].class_id : 0))
            fail_msg("point %d: box %d, label %u; the definition: box %d", i, i1[i], l1[i], r);
    }
    uint32_t labelled = 0;
    for (int b = 0; b < NB; b++) labelled += c1[b];
    if (labelled < 300) fail_msg("only %u points in boxes", labelled); /* the test has something to compare */
    avt_point_blocks_free(&blk);
    free(xyz), free(l1), free(l2), free(i1), free(i2);
}

/* The temporary files of write_tmp, whatever the tests left. */
static int remove_tmp(void **state)
{
    (void)state;
    const char *ext[2] = {"json", "csv"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/tmp/avt_labels_%d.%s", (int)getpid(), ext[i]);
        unlink(path);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_label_file), cmocka_unit_test(test_poses),
                                       cmocka_unit_test(test_poses_cursor), cmocka_unit_test(test_deskew),
                                       cmocka_unit_test(test_point_labels), cmocka_unit_test(test_point_labels_blocks),
                                       cmocka_unit_test(test_box_motion)};
    return cmocka_run_group_tests(tests, NULL, remove_tmp);
}
