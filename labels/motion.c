/* avtruth labels: box motion. A label box is given in the LiDAR frame at its label time; with
 * the ego pose at that time (world_T_lidar) and its world velocity it is placed at any other
 * time and re-expressed in any other frame, through the transforms of common/geom.c. */
#include <math.h>
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
#pragma omp parallel if (n >= 4096)
    {
        avt_poses_cursor cur = {0};
        int64_t last_t = INT64_MIN;
        avt_tf M = avt_tf_identity();
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            /* pose changes little within one firing; evaluate it once per distinct time */
            if (sw->t_ns[i] != last_t) {
                avt_tf w_p;
                avt_poses_at_cursor(poses, sw->t_ns[i], &cur, &w_p, NULL); /* covered: above */
                avt_tf a = avt_tf_mul(&w_p, &ego_T_lidar);
                M = avt_tf_mul(&lidar_ref_T_world, &a);
                last_t = sw->t_ns[i];
            }
            double p[3] = {sw->xyz[3 * i], sw->xyz[3 * i + 1], sw->xyz[3 * i + 2]}, q[3];
            avt_tf_apply(&M, p, q);
            for (int k = 0; k < 3; k++) out[3 * i + k] = (float)q[k];
        }
    }
    return AVT_OK;
}
