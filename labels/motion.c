/* avtruth labels: box motion. A label box is given in the LiDAR frame at its label time; with
 * the ego pose at that time (world_T_lidar) and its world velocity it is placed at any other
 * time and re-expressed in any other frame, through the transforms of common/geom.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/labels.h"

avt_tf avt_label_box_pose(const avt_label_box *lb, const avt_tf *world_T_lidar, int64_t t_label_ns,
                          int64_t t_ns)
{
    const avt_tf lidar_T_box = avt_tf_from_yaw(lb->yaw, lb->center);
    avt_tf world_T_box = avt_tf_mul(world_T_lidar, &lidar_T_box);
    const double dt = (double)(t_ns - t_label_ns) * 1e-9;
    if (isfinite(lb->velocity[0]) && dt != 0) {
        double vw[3];
        avt_tf_rotate(world_T_lidar, lb->velocity, vw);
        for (int k = 0; k < 3; k++) world_T_box.m[4 * k + 3] += vw[k] * dt;
    }
    return world_T_box;
}

void avt_label_box_move(const avt_label_box *in, const avt_tf *world_T_lidar_label, int64_t t_label_ns,
                        const avt_tf *lidar_T_world, int64_t t_ns, avt_label_box *out)
{
    *out = *in;
    if (t_ns == t_label_ns) return;
    const avt_tf world_T_box = avt_label_box_pose(in, world_T_lidar_label, t_label_ns, t_ns);
    const avt_tf lidar_T_box = avt_tf_mul(lidar_T_world, &world_T_box);
    for (int k = 0; k < 3; k++) out->center[k] = lidar_T_box.m[4 * k + 3];
    out->yaw = atan2(lidar_T_box.m[4], lidar_T_box.m[0]);
    if (isfinite(in->velocity[0])) {
        double vw[3];
        avt_tf_rotate(world_T_lidar_label, in->velocity, vw);
        avt_tf_rotate(lidar_T_world, vw, out->velocity);
    }
}

void avt_yaw_quaternion(double yaw_rad, double q[4])
{
    q[0] = cos(0.5 * yaw_rad);
    q[1] = q[2] = 0;
    q[3] = sin(0.5 * yaw_rad);
}

/* Deskew transforms at knots every AVT_DESKEW_KNOT_NS. Between two knots the transform is the
 * linear blend of theirs: the pose interpolation is linear in translation, and its slerp
 * departs from a linear blend of the rotation matrices by about (w h)^2 / 8 for an angular
 * rate w over a knot step h (1e-9 of the range at 1 rad/s: 0.1 um at 100 m, below float
 * resolution). A knot interval holding a pose sample (a kink of the interpolation) is
 * evaluated exactly per point, as is every point of a sweep spanning more than
 * AVT_DESKEW_MAX_KNOTS steps. */
enum { AVT_DESKEW_KNOT_NS = 100000, AVT_DESKEW_MAX_KNOTS = 1 << 16, AVT_DESKEW_BLOCK = 2048 };

/* lidar_ref_T_world W(t) ego_T_lidar, for t covered by the poses. */
static avt_tf deskew_tf(const avt_poses *poses, const avt_tf *lidar_ref_T_world, const avt_tf *ego_T_lidar,
                        int64_t t, avt_poses_cursor *cur)
{
    avt_tf w_p;
    avt_poses_at_cursor(poses, t, cur, &w_p, NULL);
    const avt_tf a = avt_tf_mul(&w_p, ego_T_lidar);
    return avt_tf_mul(lidar_ref_T_world, &a);
}

/* The points of one knot interval: each point's transform a + s (b - a), s = (t - t0) / len,
 * applied by avt_tf_apply as on the exact path (never contracted into fused multiply-adds:
 * the AVX2 clone differs from the plain one in vector width only), so that the result is the
 * same bit for bit on either path. Every t - t0 lies in [0, AVT_DESKEW_KNOT_NS]:
 * 32 bits convert it exactly, and vectorize. */
static inline __attribute__((always_inline)) void deskew_run_body(const double *restrict a, const double *restrict b,
                                                                  int64_t t0, double len, const int64_t *restrict t,
                                                                  const float *restrict xyz, float *restrict out,
                                                                  size_t n)
{
    double d[12];
    for (int j = 0; j < 12; j++) d[j] = b[j] - a[j];
    for (size_t i = 0; i < n; i++) {
        const double s = (double)(int32_t)(t[i] - t0) / len;
        avt_tf M;
        for (int j = 0; j < 12; j++) M.m[j] = a[j] + s * d[j];
        const double p[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]};
        double q[3];
        avt_tf_apply(&M, p, q);
        for (int r = 0; r < 3; r++) out[3 * i + r] = (float)q[r];
    }
}

typedef void deskew_run_fn(const double *a, const double *b, int64_t t0, double len, const int64_t *t,
                           const float *xyz, float *out, size_t n);

static void deskew_run(const double *a, const double *b, int64_t t0, double len, const int64_t *t, const float *xyz,
                       float *out, size_t n)
{
    deskew_run_body(a, b, t0, len, t, xyz, out, n);
}

static AVT_TARGET_AVX2 void deskew_run_avx2(const double *a, const double *b, int64_t t0, double len,
                                             const int64_t *t, const float *xyz, float *out, size_t n)
{
    deskew_run_body(a, b, t0, len, t, xyz, out, n);
}

int avt_poses_deskew(const avt_poses *poses, const avt_tf *lidar_T_ego, const avt_sweep *sw, float *out,
                     avt_error *err)
{
    if (poses->n == 0 || sw->n == 0) {
        memcpy(out, sw->xyz, sw->n * 3 * sizeof(float));
        return AVT_OK;
    }
    avt_tf w_ref, w_lo, ego_T_lidar = avt_tf_inv(lidar_T_ego);
    int64_t t_lo = sw->t_ns[0], t_hi = sw->t_ns[0];
    for (size_t i = 1; i < sw->n; i++) {
        t_lo = sw->t_ns[i] < t_lo ? sw->t_ns[i] : t_lo;
        t_hi = sw->t_ns[i] > t_hi ? sw->t_ns[i] : t_hi;
    }
    /* the poses cover an interval: if they cover the earliest and latest point, they cover all */
    int rc = avt_poses_at(poses, sw->timestamp_ns, &w_ref, err);
    if (!rc && (avt_poses_at(poses, t_lo, &w_lo, NULL) || avt_poses_at(poses, t_hi, &w_lo, NULL)))
        for (size_t i = 0; i < sw->n && !rc; i++) /* name the first point without a pose */
            rc = avt_poses_at(poses, sw->t_ns[i], &w_lo, err);
    if (rc) return rc;
    avt_tf w_inv = avt_tf_inv(&w_ref);
    const avt_tf lidar_ref_T_world = avt_tf_mul(lidar_T_ego, &w_inv);
    const int64_t n = (int64_t)sw->n;
    /* knot k at t_lo + k step, the last at t_hi; exact[k]: a pose sample inside (t_k, t_k+1) */
    const uint64_t span = (uint64_t)t_hi - (uint64_t)t_lo;
    const uint64_t steps = (span + AVT_DESKEW_KNOT_NS - 1) / AVT_DESKEW_KNOT_NS; /* every step > 0 ns */
    int64_t nk = span > 0 && steps <= AVT_DESKEW_MAX_KNOTS ? (int64_t)steps + 1 : 0;
    avt_tf *knot = nk ? malloc((size_t)nk * sizeof *knot) : NULL;
    uint8_t *exact = nk ? calloc((size_t)nk, 1) : NULL;
    if (!knot || !exact) nk = 0; /* no memory for knots: every point exactly */
    int64_t *kt = NULL;
    if (nk && !(kt = malloc((size_t)nk * sizeof *kt))) nk = 0;
    for (int64_t k = 0; k < nk; k++) kt[k] = k + 1 < nk ? t_lo + k * AVT_DESKEW_KNOT_NS : t_hi;
    if (nk)
        for (size_t j = 0; j < poses->n; j++) {
            int64_t ts = poses->t_ns[j];
            if (ts <= t_lo || ts >= t_hi) continue;
            int64_t k = (ts - t_lo) / AVT_DESKEW_KNOT_NS;
            if (k >= nk - 1) k = nk - 2;
            exact[k] |= ts > kt[k] && ts < kt[k + 1];
        }
    deskew_run_fn *run = avt_cpu_avx2() ? deskew_run_avx2 : deskew_run;
    const int64_t nblocks = (n + AVT_DESKEW_BLOCK - 1) / AVT_DESKEW_BLOCK;
#pragma omp parallel if (n >= 4096)
    {
        avt_poses_cursor cur = {0};
#pragma omp for schedule(static)
        for (int64_t k = 0; k < nk; k++) knot[k] = deskew_tf(poses, &lidar_ref_T_world, &ego_T_lidar, kt[k], &cur);
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < nblocks; blk++) {
            const int64_t end = blk + 1 < nblocks ? (blk + 1) * AVT_DESKEW_BLOCK : n;
            for (int64_t i = blk * AVT_DESKEW_BLOCK; i < end;) {
                const int64_t t = sw->t_ns[i];
                int64_t k = nk ? (t - t_lo) / AVT_DESKEW_KNOT_NS : 0;
                if (k >= nk - 1) k = nk - 2;
                if (nk && !exact[k]) { /* the run of points in knot interval k */
                    const int64_t lo = kt[k], hi = k + 2 < nk ? kt[k + 1] : INT64_MAX;
                    int64_t j = i + 1;
                    while (j < end && sw->t_ns[j] >= lo && sw->t_ns[j] < hi) j++;
                    run(knot[k].m, knot[k + 1].m, lo, (double)(kt[k + 1] - lo), sw->t_ns + i, sw->xyz + 3 * i,
                         out + 3 * i, (size_t)(j - i));
                    i = j;
                    continue;
                }
                /* exactly, once per firing time */
                const avt_tf M = deskew_tf(poses, &lidar_ref_T_world, &ego_T_lidar, t, &cur);
                for (; i < end && sw->t_ns[i] == t; i++) {
                    double p[3] = {sw->xyz[3 * i], sw->xyz[3 * i + 1], sw->xyz[3 * i + 2]}, q[3];
                    avt_tf_apply(&M, p, q);
                    for (int c = 0; c < 3; c++) out[3 * i + c] = (float)q[c];
                }
            }
        }
    }
    free(knot);
    free(exact);
    free(kt);
    return AVT_OK;
}
