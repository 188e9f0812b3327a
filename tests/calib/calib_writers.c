/* Test-only writers of calibration formats (see calib_writers.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_writers.h"

static void nums(FILE *f, const double *v, int n, const char *sep)
{
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? sep : "", v[i]);
}

/* P = K [I | t], Tr = [R_rect^T | 0] [I | -t] cam_T_lidar so that [I|t] R_rect Tr = cam_T_lidar. */
static void kitti_mats(const avt_camera *c, const double Rr[9], const double t[3], double P[12], double Tr[12])
{
    const double *K = c->K;
    double kt[3] = {K[0] * t[0] + K[1] * t[1] + K[2] * t[2], K[4] * t[1] + K[5] * t[2], t[2]};
    double p[12] = {K[0], K[1], K[2], kt[0], 0, K[4], K[5], kt[1], 0, 0, 1, kt[2]};
    memcpy(P, p, sizeof p);
    avt_tf cam_T_lidar = avt_tf_inv(&c->lidar_T_cam), shift = avt_tf_identity(), rt = avt_tf_identity();
    shift.m[3] = -t[0], shift.m[7] = -t[1], shift.m[11] = -t[2];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) rt.m[4 * i + j] = Rr[3 * j + i];
    avt_tf a = avt_tf_mul(&shift, &cam_T_lidar);
    avt_tf T = avt_tf_mul(&rt, &a);
    memcpy(Tr, T.m, 12 * sizeof(double));
}

int write_kitti_object(const char *path, const avt_rig *rig, const avt_camera *c, const double Rr[9],
                       const double t[3])
{
    double P[12], Tr[12];
    kitti_mats(c, Rr, t, P, Tr);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "P2: ");
    nums(f, P, 12, " ");
    fprintf(f, "\nR0_rect: ");
    nums(f, Rr, 9, " ");
    fprintf(f, "\nTr_velo_to_cam: ");
    nums(f, Tr, 12, " ");
    fprintf(f, "\nTr_imu_to_velo: ");
    nums(f, rig->lidar_T_ego.m, 12, " ");
    fprintf(f, "\n\n");
    return fclose(f);
}

int write_kitti_raw(const char *dir, const avt_rig *rig, const avt_camera *c, int rect, const double Rr[9],
                    const double t[3])
{
    static const double I9[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, z3[3] = {0, 0, 0};
    char p[512];
    double P[12], Tr[12], D[5] = {0, 0, 0, 0, 0};
    if (!rect) {
        Rr = I9;
        t = z3;
        for (int i = 0; i < c->n_dist && i < 5; i++) D[i] = c->dist[i];
    }
    kitti_mats(c, Rr, t, P, Tr);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/calib_cam_to_cam.txt", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "calib_time: 09-Jan-2012 13:57:47\ncorner_dist: 9.950000e-02\nS_00: %u %u\nK_00: ", c->width, c->height);
    nums(f, c->K, 9, " ");
    fprintf(f, "\nD_00: ");
    nums(f, D, 5, " ");
    fprintf(f, "\nR_00: 1 0 0 0 1 0 0 0 1\nT_00: 0 0 0\nS_rect_00: %u %u\nR_rect_00: ", c->width, c->height);
    nums(f, Rr, 9, " ");
    fprintf(f, "\nP_rect_00: ");
    nums(f, P, 12, " ");
    fprintf(f, "\n");
    if (fclose(f)) return -1;
    snprintf(p, sizeof p, "%s/calib_velo_to_cam.txt", dir);
    f = fopen(p, "w");
    if (!f) return -1;
    double R[9] = {Tr[0], Tr[1], Tr[2], Tr[4], Tr[5], Tr[6], Tr[8], Tr[9], Tr[10]}, T[3] = {Tr[3], Tr[7], Tr[11]};
    fprintf(f, "calib_time: 15-Mar-2012 11:37:16\nR: ");
    nums(f, R, 9, " ");
    fprintf(f, "\nT: ");
    nums(f, T, 3, " ");
    fprintf(f, "\ndelta_f: 0 0\ndelta_c: 0 0\n");
    if (fclose(f)) return -1;
    snprintf(p, sizeof p, "%s/calib_imu_to_velo.txt", dir);
    f = fopen(p, "w");
    if (!f) return -1;
    const double *m = rig->lidar_T_ego.m;
    double Ri[9] = {m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]}, Ti[3] = {m[3], m[7], m[11]};
    fprintf(f, "calib_time: 25-May-2012 16:47:16\nR: ");
    nums(f, Ri, 9, " ");
    fprintf(f, "\nT: ");
    nums(f, Ti, 3, " ");
    fprintf(f, "\n");
    return fclose(f);
}

static const char *ros_model(const avt_camera *c)
{
    if (c->model == AVT_CAM_FISHEYE) return "equidistant";
    if (c->n_dist == 8) return "rational_polynomial";
    return "plumb_bob";
}

int write_ros(const char *path, const avt_camera *c)
{
    static const double R[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    double P[12] = {c->K[0], c->K[1], c->K[2], 0, 0, c->K[4], c->K[5], 0, 0, 0, 1, 0};
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "image_width: %u\nimage_height: %u\ncamera_name: %s\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [",
            c->width, c->height, c->name);
    nums(f, c->K, 9, ", ");
    fprintf(f, "]\ndistortion_model: %s\ndistortion_coefficients:\n  rows: 1\n  cols: %d\n  data: [", ros_model(c),
            c->n_dist);
    nums(f, c->dist, c->n_dist, ", ");
    fprintf(f, "]\nrectification_matrix:\n  rows: 3\n  cols: 3\n  data: [");
    nums(f, R, 9, ", ");
    fprintf(f, "]\nprojection_matrix:\n  rows: 3\n  cols: 4\n  data: [");
    nums(f, P, 12, ", ");
    fprintf(f, "]\n");
    return fclose(f);
}

static void cv_mat(FILE *f, const char *name, int rows, int cols, const double *v)
{
    fprintf(f, "%s: !!opencv-matrix\n   rows: %d\n   cols: %d\n   dt: d\n   data: [ ", name, rows, cols);
    nums(f, v, rows * cols, ", ");
    fprintf(f, " ]\n");
}

int write_opencv(const char *path, const avt_camera *c)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%%YAML:1.0\n---\ncalibration_time: \"Thu 28 Nov 2024 01:21:00 UTC\"\nimage_width: %u\nimage_height: %u\n",
            c->width, c->height);
    fprintf(f, "camera_name: %s\n", c->name);
    if (c->model == AVT_CAM_FISHEYE) fprintf(f, "distortion_model: fisheye\n");
    cv_mat(f, "camera_matrix", 3, 3, c->K);
    cv_mat(f, "distortion_coefficients", 1, c->n_dist, c->dist);
    cv_mat(f, "lidar_T_cam", 4, 4, c->lidar_T_cam.m);
    fprintf(f, "avg_reprojection_error: 2.5e-01\n");
    return fclose(f);
}

int write_kalibr(const char *path, const avt_camera *c)
{
    avt_tf T = avt_tf_inv(&c->lidar_T_cam);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "cam0:\n  T_cam_imu:\n");
    for (int i = 0; i < 4; i++) {
        fprintf(f, "  - [");
        nums(f, T.m + 4 * i, 4, ", ");
        fprintf(f, "]\n");
    }
    fprintf(f, "  cam_overlaps: []\n  camera_model: pinhole\n  distortion_coeffs: [");
    nums(f, c->dist, c->n_dist, ", ");
    fprintf(f, "]\n  distortion_model: %s\n  intrinsics: [%.17g, %.17g, %.17g, %.17g]\n  resolution: [%u, %u]\n"
               "  rostopic: /cam0/image_raw\n",
            c->model == AVT_CAM_FISHEYE ? "equidistant" : c->n_dist ? "radtan" : "none", c->K[0], c->K[4], c->K[2],
            c->K[5], c->width, c->height);
    return fclose(f);
}
