/* Calibration formats: the same rig written in every format (test-only writers) loads back to
 * the same projections within 1e-6 px; format detection; a table of broken files per format
 * whose messages name the file, the key and the value; every prefix of each valid file loads or
 * fails cleanly; the real KITTI raw calibration against its own matrices. */
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
#include "avtruth/project.h"
#include "calib_writers.h"

static char tmpdir[128];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static uint64_t rng_state = 88172645463325252ULL;
static double urand(double a, double b)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return a + (b - a) * ((rng_state >> 11) * (1.0 / 9007199254740992.0));
}

/* A rigid transform: a camera looking along LiDAR +x (OpenCV axes), perturbed by small angles. */
static avt_tf random_mount(void)
{
    double ax = urand(-0.1, 0.1), ay = urand(-0.1, 0.1), az = urand(-0.1, 0.1);
    double q[4] = {1, ax, ay, az}, t[3] = {urand(-1, 1), urand(-1, 1), urand(-1, 1)};
    avt_tf pert = avt_tf_from_qt(q, t);
    avt_tf base = avt_tf_identity();
    double R[9] = {0, 0, 1, -1, 0, 0, 0, -1, 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) base.m[4 * i + j] = R[3 * i + j];
    return avt_tf_mul(&pert, &base);
}

static avt_rig make_rig(avt_camera *cam, int model, const double *d, int nd)
{
    avt_rig r;
    memset(&r, 0, sizeof r);
    memset(cam, 0, sizeof *cam);
    snprintf(r.lidar_model, sizeof r.lidar_model, "hdl64e");
    double q[4] = {1, 0.01, -0.02, 0.005}, t[3] = {-0.8, 0.3, -0.8};
    r.lidar_T_ego = avt_tf_from_qt(q, t);
    snprintf(cam->name, sizeof cam->name, "cam");
    cam->model = model;
    cam->width = 1242;
    cam->height = 375;
    double K[9] = {urand(600, 900), 0, urand(580, 660), 0, urand(600, 900), urand(160, 200), 0, 0, 1};
    memcpy(cam->K, K, sizeof K);
    cam->n_dist = nd;
    for (int i = 0; i < nd; i++) cam->dist[i] = d[i];
    snprintf(cam->distortion_model, sizeof cam->distortion_model, "%s",
             model == AVT_CAM_FISHEYE ? "equidistant" : nd ? "radtan" : "none");
    cam->lidar_T_cam = random_mount();
    r.cameras = cam;
    r.n_cameras = 1;
    return r;
}

/* Max pixel difference over random points between camera a (pose used) and camera b (its pose
 * used when with_pose, else a's); fails when validity differs. */
static double compare(const avt_camera *a, const avt_camera *b, int with_pose, const char *what)
{
    avt_cam_model ma, mb;
    avt_error err = {0, ""};
    assert_int_equal(avt_cam_model_init(&ma, a, &err), 0);
    if (avt_cam_model_init(&mb, b, &err)) fail_msg("%s: %s", what, err.msg);
    avt_tf a_T_l = avt_tf_inv(&a->lidar_T_cam), b_T_l = avt_tf_inv(with_pose ? &b->lidar_T_cam : &a->lidar_T_cam);
    double worst = 0;
    for (int i = 0; i < 20000; i++) {
        double z = urand(0.5, 80), pc[3] = {urand(-1.2, 1.2) * z, urand(-0.5, 0.5) * z, z}, pl[3], pa[3], pb[3];
        avt_tf_apply(&a->lidar_T_cam, pc, pl);
        avt_tf_apply(&a_T_l, pl, pa);
        avt_tf_apply(&b_T_l, pl, pb);
        double ua[2], ub[2];
        int va = avt_cam_project(&ma, pa, ua), vb = avt_cam_project(&mb, pb, ub);
        if (va != vb) fail_msg("%s: point %d valid %d vs %d", what, i, va, vb);
        if (!va || ua[0] < -0.5 || ua[0] > a->width || ua[1] < -0.5 || ua[1] > a->height) continue;
        worst = fmax(worst, fmax(fabs(ua[0] - ub[0]), fabs(ua[1] - ub[1])));
    }
    return worst;
}

static const avt_camera *find_cam(const avt_rig *r, const char *name)
{
    for (size_t i = 0; i < r->n_cameras; i++)
        if (strcmp(r->cameras[i].name, name) == 0) return &r->cameras[i];
    fail_msg("camera %s not in the loaded rig (%zu cameras)", name, r->n_cameras);
    return NULL;
}

enum { F_AVTRUTH, F_KOBJ, F_KRAW_RECT, F_KRAW_UNRECT, F_ROS, F_OPENCV, F_KALIBR };
static const char *const FNAME[] = {"avtruth", "kitti-object", "kitti-raw", "kitti-raw", "ros", "opencv", "kalibr"};

static void roundtrip(int model, const double *d, int nd, const int *formats, int nf)
{
    avt_camera cam;
    avt_rig rig = make_rig(&cam, model, d, nd);
    double Rr[9], t[3] = {0.06, -0.003, 0.005};
    double q[4] = {1, 0.004, -0.008, 0.01}, z[3] = {0, 0, 0};
    avt_tf rr = avt_tf_from_qt(q, z);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) Rr[3 * i + j] = rr.m[4 * i + j];
    for (int k = 0; k < nf; k++) {
        int fmt = formats[k];
        char p[256], what[96];
        const char *camname = "cam";
        int with_pose = 1;
        switch (fmt) {
        case F_AVTRUTH: path_in(p, sizeof p, "calib.yaml"); assert_int_equal(avt_rig_save_yaml(p, &rig, NULL), 0); break;
        case F_KOBJ:
            path_in(p, sizeof p, "000000.txt");
            assert_int_equal(write_kitti_object(p, &rig, &cam, Rr, t), 0);
            camname = "image_2";
            break;
        case F_KRAW_RECT:
        case F_KRAW_UNRECT:
            path_in(p, sizeof p, fmt == F_KRAW_RECT ? "raw_rect" : "raw_unrect");
            assert_int_equal(write_kitti_raw(p, &rig, &cam, fmt == F_KRAW_RECT, Rr, t), 0);
            camname = fmt == F_KRAW_RECT ? "image_00" : "image_00_unrect";
            break;
        case F_ROS: path_in(p, sizeof p, "ros.yaml"); assert_int_equal(write_ros(p, &cam), 0); with_pose = 0; break;
        case F_OPENCV: path_in(p, sizeof p, "opencv.yaml"); assert_int_equal(write_opencv(p, &cam), 0); break;
        case F_KALIBR:
            path_in(p, sizeof p, "camchain.yaml");
            assert_int_equal(write_kalibr(p, &cam), 0);
            camname = "cam0";
            break;
        }
        avt_error err = {0, ""};
        const char *det = avt_rig_format_detect(p, &err);
        if (!det || strcmp(det, FNAME[fmt]) != 0) fail_msg("%s detected as %s (%s)", p, det ? det : "none", err.msg);
        avt_rig back;
        if (avt_rig_load(p, "auto", &back, &err)) fail_msg("%s: %s", FNAME[fmt], err.msg);
        snprintf(what, sizeof what, "%s, %d coefficients%s", FNAME[fmt], nd, model == AVT_CAM_FISHEYE ? " (fisheye)" : "");
        const avt_camera *b = find_cam(&back, camname);
        double e = compare(&cam, b, with_pose, what);
        if (!(e <= 1e-6)) fail_msg("%s: projections differ by %.3g px", what, e);
        if (fmt == F_KOBJ || fmt == F_KRAW_RECT || fmt == F_AVTRUTH) /* formats carrying the ego frame */
            for (int i = 0; i < 16; i++) assert_true(fabs(back.lidar_T_ego.m[i] - rig.lidar_T_ego.m[i]) < 1e-12);
        avt_rig_free(&back);
    }
}

static void test_roundtrip(void **state)
{
    (void)state;
    static const int all[] = {F_AVTRUTH, F_KOBJ, F_KRAW_RECT, F_KRAW_UNRECT, F_ROS, F_OPENCV, F_KALIBR};
    static const int r5[] = {F_AVTRUTH, F_KRAW_UNRECT, F_ROS, F_OPENCV};
    static const int r4[] = {F_AVTRUTH, F_ROS, F_OPENCV, F_KALIBR};
    static const int r8[] = {F_AVTRUTH, F_ROS, F_OPENCV};
    static const int r14[] = {F_AVTRUTH, F_OPENCV};
    static const int fe[] = {F_AVTRUTH, F_ROS, F_OPENCV, F_KALIBR};
    double d5[5] = {-0.3, 0.1, 0.001, -0.0015, -0.02};
    double d8[8] = {-0.3, 0.1, 0.001, -0.0015, -0.02, 0.05, -0.01, 0.002};
    double d14[14] = {-0.3, 0.1, 0.001, -0.0015, -0.02, 0.05, -0.01, 0.002, 1e-3, -1e-3, 5e-4, 2e-4, 0.01, -0.005};
    double dfe[4] = {-0.02, 0.01, -0.003, 0.001};
    for (int trial = 0; trial < 3; trial++) {
        roundtrip(AVT_CAM_PINHOLE, NULL, 0, all, 7);
        roundtrip(AVT_CAM_PINHOLE, d5, 5, r5, 4);
        roundtrip(AVT_CAM_PINHOLE, d5, 4, r4, 4);
        roundtrip(AVT_CAM_PINHOLE, d8, 8, r8, 3);
        roundtrip(AVT_CAM_PINHOLE, d14, 14, r14, 2);
        roundtrip(AVT_CAM_FISHEYE, dfe, 4, fe, 4);
    }
}

/* ---- broken files: {file text, needle expected in the message} ---- */

static const char *KOBJ =
    "P0: 7.070493e+02 0 6.040814e+02 0 0 7.070493e+02 1.805066e+02 0 0 0 1 0\n"
    "P2: 7.070493e+02 0 6.040814e+02 4.575831e+01 0 7.070493e+02 1.805066e+02 -3.454157e-01 0 0 1 4.981016e-03\n"
    "R0_rect: 9.999128e-01 1.009263e-02 -8.511932e-03 -1.012729e-02 9.999406e-01 -4.037671e-03 8.470675e-03 "
    "4.123522e-03 9.999556e-01\n"
    "Tr_velo_to_cam: 6.927964e-03 -9.999722e-01 -2.757829e-03 -2.457729e-02 -1.162982e-03 2.749836e-03 -9.999955e-01 "
    "-6.127237e-02 9.999753e-01 6.931141e-03 -1.143899e-03 -3.321029e-01\n";
static const char *ROS =
    "image_width: 640\nimage_height: 480\ncamera_name: narrow\ncamera_matrix:\n  rows: 3\n  cols: 3\n"
    "  data: [450, 0, 320, 0, 451, 240, 0, 0, 1]\ndistortion_model: plumb_bob\ndistortion_coefficients:\n"
    "  rows: 1\n  cols: 5\n  data: [-0.3, 0.1, 0.001, -0.0015, -0.02]\n";
static const char *OPENCV =
    "%YAML:1.0\n---\nimage_width: 640\nimage_height: 480\ncamera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n"
    "   dt: d\n   data: [ 450., 0., 320., 0., 451., 240., 0., 0., 1. ]\n"
    "distortion_coefficients: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n"
    "   data: [ -0.3, 0.1, 1.e-03, -1.5e-03, -2.e-02 ]\n";
static const char *KALIBR =
    "cam0:\n  camera_model: pinhole\n  intrinsics: [450.0, 451.0, 320.0, 240.0]\n  distortion_model: radtan\n"
    "  distortion_coeffs: [-0.3, 0.1, 0.001, -0.0015]\n  resolution: [640, 480]\n"
    "  T_cam_imu:\n  - [0, -1, 0, 0.1]\n  - [0, 0, -1, 0.2]\n  - [1, 0, 0, 0.3]\n  - [0, 0, 0, 1]\n";

static void write_text(const char *p, const char *text, size_t len)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fwrite(text, 1, len, f);
    fclose(f);
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    if (!p) fail_msg("'%s' not in the valid text", from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);
    assert_non_null(r);
    snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

static void test_broken(void **state)
{
    (void)state;
    static const struct {
        const char **valid;
        const char *name, *format, *from, *to, *needle;
    } cases[] = {
        {&KOBJ, "k.txt", "kitti-object", "R0_rect: 9.999128e-01", "R0_rect: 1.5", "R0_rect: not a rotation"},
        {&KOBJ, "k.txt", "kitti-object", "Tr_velo_to_cam: 6.927964e-03", "Tr_velo_to_cam: 6.9e-01", "Tr_velo_to_cam: not a rotation"},
        {&KOBJ, "k.txt", "kitti-object", "P2: 7.070493e+02", "P2: -7.070493e+02", "P2: focal lengths must be positive (fx=-707"},
        {&KOBJ, "k.txt", "kitti-object", "P2: 7.070493e+02 0 6.040814e+02", "P2: 7.070493e+02 0 6.040814e+04", "principal point (60408.1"},
        {&KOBJ, "k.txt", "kitti-object", "P2: 7.070493e+02 0 6.040814e+02 4.575831e+01 0", "P2: 7.070493e+02 0 6.040814e+02 4.575831e+01 3", "P2: left 3x3 block is not upper triangular"},
        {&KOBJ, "k.txt", "kitti-object", "-3.321029e-01\n", "\n", "Tr_velo_to_cam: 11 values, expected 12"},
        {&KOBJ, "k.txt", "kitti-object", "Tr_velo_to_cam: 6.927964e-03", "Tr_velo_to_cam: nan", "Tr_velo_to_cam: not a list of finite numbers"},
        {&KOBJ, "k.txt", "kitti-object", "R0_rect:", "R1_rect:", "missing key 'R0_rect'"},
        {&ROS, "r.yaml", "ros", "image_width: 640", "image_width: -640", "image_width: expected a positive integer, got '-640'"},
        {&ROS, "r.yaml", "ros", "plumb_bob", "magic", "unknown distortion model 'magic'"},
        {&ROS, "r.yaml", "ros", "cols: 5\n  data: [-0.3, 0.1, 0.001, -0.0015, -0.02]", "cols: 3\n  data: [-0.3, 0.1, 0.001]", "plumb_bob takes 5 coefficients, got 3"},
        {&ROS, "r.yaml", "ros", "cols: 3\n  data: [450,", "cols: 4\n  data: [450,", "camera_matrix: 9 values in data, rows x cols = 3 x 4"},
        {&ROS, "r.yaml", "ros", "[450, 0, 320", "[0, 0, 320", "focal lengths must be positive (fx=0"},
        {&ROS, "r.yaml", "ros", "451, 240", "451, abc", "camera_matrix[5]: not a finite number: 'abc'"},
        {&OPENCV, "o.yaml", "opencv", "dt: d\n   data: [ 450.", "dt: u\n   data: [ 450.", "dt 'u'"},
        {&OPENCV, "o.yaml", "opencv", "image_height: 480", "image_height: 0", "image_height: expected a positive integer, got '0'"},
        {&OPENCV, "o.yaml", "opencv", "cols: 5", "cols: 7", "5 values in data, rows x cols = 1 x 7"},
        {&OPENCV, "o.yaml", "opencv", "0., 451., 240.", "0., 451., 2400.", "principal point (320, 2400)"},
        {&KALIBR, "c.yaml", "kalibr", "[0, -1, 0, 0.1]", "[0, -2, 0, 0.1]", "cam0.T_cam_imu: not a rotation"},
        {&KALIBR, "c.yaml", "kalibr", "[0, 0, 0, 1]", "[0, 0, 1, 1]", "cam0.T_cam_imu: last row 0 0 1 1"},
        {&KALIBR, "c.yaml", "kalibr", "camera_model: pinhole", "camera_model: omni", "'omni' is not supported"},
        {&KALIBR, "c.yaml", "kalibr", "[640, 480]", "[640.5, 480]", "cam0.resolution: 640.5 x 480"},
        {&KALIBR, "c.yaml", "kalibr", "-0.0015]", "-0.0015, 0.1]", "Kalibr radtan takes 4 coefficients, got 5"},
        /* translations beyond 1e6 m: products and inverses of such transforms overflow to inf
         * (found by fuzz_calib; regression inputs in tests/fuzz/corpus/fuzz_calib) */
        {&KOBJ, "k.txt", "kitti-object", "-2.457729e-02", "1.7e308", "Tr_velo_to_cam: translation element 0 is 1.7e+308"},
        {&KOBJ, "k.txt", "kitti-object", "P2: 7.070493e+02", "P2: 1e-300", "P2: translation element 0 is"},
        {&KOBJ, "k.txt", "kitti-object", "0 0 1 4.981016e-03", "0 0 1e-307 4.981016e-03", "P2: K = P's left 3x3 / P[2][2] = inf"},
        {&KALIBR, "c.yaml", "kalibr", "[0, -1, 0, 0.1]", "[0, -1, 0, 2e6]", "cam0.T_cam_imu: translation element 0 is 2e+06"},
        {&OPENCV, "o.yaml", "opencv", "distortion_coefficients:",
         "lidar_T_cam: [0.6, -0.8, 0, 1.7e308, 0.8, 0.6, 0, 1.7e308, 0, 0, 1, 0, 0, 0, 0, 1]\ndistortion_coefficients:",
         "lidar_T_cam: translation element 0 is 1.7e+308"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[256];
        path_in(p, sizeof p, cases[i].name);
        char *text = replace(*cases[i].valid, cases[i].from, cases[i].to);
        write_text(p, text, strlen(text));
        free(text);
        avt_rig rig;
        avt_error err = {0, ""};
        if (avt_rig_load(p, cases[i].format, &rig, &err) == 0) fail_msg("case %zu (%s) loaded", i, cases[i].to);
        if (!strstr(err.msg, cases[i].needle) || !strstr(err.msg, p))
            fail_msg("case %zu: message '%s' lacks '%s' or the path", i, err.msg, cases[i].needle);
        assert_null(rig.cameras);
    }
    /* unknown and mismatched formats */
    avt_rig rig;
    avt_error err = {0, ""};
    char p[256];
    /* avt_kitti_rect_T_velo returned AVT_OK with R0_rect * Tr_velo_to_cam = inf (1.4 * 1.7e308) */
    avt_tf rect_T_velo;
    path_in(p, sizeof p, "huge_t.txt");
    static const char huge_t[] = "R0_rect: 0.6 -0.8 0 0.8 0.6 0 0 0 1\nTr_velo_to_cam: 1 0 0 1.7e308 0 1 0 1.7e308 0 0 1 0\n";
    write_text(p, huge_t, strlen(huge_t));
    assert_int_not_equal(avt_kitti_rect_T_velo(p, &rect_T_velo, &err), 0);
    if (!strstr(err.msg, p) || !strstr(err.msg, "Tr_velo_to_cam: translation element 0 is 1.7e+308"))
        fail_msg("message '%s'", err.msg);
    path_in(p, sizeof p, "junk.txt");
    write_text(p, "hello: world\n", 13);
    assert_int_not_equal(avt_rig_load(p, "auto", &rig, &err), 0);
    assert_non_null(strstr(err.msg, "unknown calibration format"));
    assert_int_not_equal(avt_rig_load(p, "matlab", &rig, &err), 0);
    assert_non_null(strstr(err.msg, "'matlab'"));
    assert_int_not_equal(avt_rig_load("/nonexistent/calib.txt", "auto", &rig, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent/calib.txt"));
}

/* Every prefix of each valid file either loads or fails with a message naming the file. */
static void test_prefixes(void **state)
{
    (void)state;
    const char *texts[] = {KOBJ, ROS, OPENCV, KALIBR};
    const char *fmts[] = {"kitti-object", "ros", "opencv", "kalibr"};
    for (int k = 0; k < 4; k++) {
        char p[256];
        path_in(p, sizeof p, "prefix.txt");
        size_t n = strlen(texts[k]);
        for (size_t len = 0; len <= n; len++) {
            write_text(p, texts[k], len);
            avt_rig rig;
            avt_error err = {0, ""};
            int rc = avt_rig_load(p, fmts[k], &rig, &err);
            if (rc == 0) avt_rig_free(&rig);
            else if (!strstr(err.msg, p)) fail_msg("%s prefix %zu: message '%s' lacks the path", fmts[k], len, err.msg);
            if (len == n && rc) fail_msg("%s: the complete file fails: %s", fmts[k], err.msg);
        }
    }
}

/* The real KITTI raw calibration: camera 2 rectified, projected by our rig, agrees with
 * P_rect_02 * R_rect_00 * [R|T] computed here from the file's numbers (re-orthonormalising the
 * printed rotations moves pixels by < 1e-3 px), and unrectified camera 2 with K_02/D_02. */
static void test_kitti_raw_real(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/kitti/raw/2011_09_26_calib", AVT_SHARED_DATA);
    struct stat st;
    if (stat(dir, &st) != 0) skip();
    avt_rig rig;
    avt_error err = {0, ""};
    if (avt_rig_load(dir, "auto", &rig, &err)) fail_msg("%s", err.msg);
    assert_int_equal(rig.n_cameras, 8);
    const avt_camera *c = find_cam(&rig, "image_02");
    assert_int_equal(c->width, 1242);
    assert_int_equal(c->height, 375);
    static const double P[12] = {7.215377e+02, 0, 6.095593e+02, 4.485728e+01, 0, 7.215377e+02, 1.728540e+02,
                                 2.163791e-01, 0, 0, 1, 2.745884e-03};
    static const double Rr[9] = {9.999239e-01, 9.837760e-03, -7.445048e-03, -9.869795e-03, 9.999421e-01,
                                 -4.278459e-03, 7.402527e-03, 4.351614e-03, 9.999631e-01};
    static const double R[9] = {7.533745e-03, -9.999714e-01, -6.166020e-04, 1.480249e-02, 7.280733e-04,
                                -9.998902e-01, 9.998621e-01, 7.523790e-03, 1.480755e-02};
    static const double T[3] = {-4.069766e-03, -7.631618e-02, -2.717806e-01};
    avt_cam_model m;
    assert_int_equal(avt_cam_model_init(&m, c, &err), 0);
    avt_tf c_T_l = avt_tf_inv(&c->lidar_T_cam);
    double worst = 0;
    for (int i = 0; i < 5000; i++) {
        double x[3] = {urand(3, 80), urand(-20, 20), urand(-2, 3)}, a[3], b[3], pc[3], uv[2];
        for (int r = 0; r < 3; r++) a[r] = R[3 * r] * x[0] + R[3 * r + 1] * x[1] + R[3 * r + 2] * x[2] + T[r];
        for (int r = 0; r < 3; r++) b[r] = Rr[3 * r] * a[0] + Rr[3 * r + 1] * a[1] + Rr[3 * r + 2] * a[2];
        double h[3];
        for (int r = 0; r < 3; r++) h[r] = P[4 * r] * b[0] + P[4 * r + 1] * b[1] + P[4 * r + 2] * b[2] + P[4 * r + 3];
        avt_tf_apply(&c_T_l, x, pc);
        if (!avt_cam_project(&m, pc, uv)) fail_msg("point %d not projected", i);
        worst = fmax(worst, fmax(fabs(uv[0] - h[0] / h[2]), fabs(uv[1] - h[1] / h[2])));
    }
    print_message("KITTI raw image_02: max |ours - P_rect R_rect [R|T]| = %.3g px\n", worst);
    assert_true(worst < 1e-3);
    const avt_camera *u = find_cam(&rig, "image_02_unrect");
    assert_int_equal(u->n_dist, 5);
    assert_true(u->dist[0] == -3.691481e-01 && u->K[0] == 9.597910e+02 && u->width == 1392);
    avt_rig_free(&rig);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/avt_formats_%d", (int)getpid());
    return mkdir(tmpdir, 0755);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_broken),
                                       cmocka_unit_test(test_prefixes), cmocka_unit_test(test_kitti_raw_real)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
