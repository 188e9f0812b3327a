/* avtruth geometry: rigid transforms as row-major 4x4 double matrices named a_T_b (they map
 * coordinates in frame b to frame a), unit quaternions [w,x,y,z], and pose interpolation.
 * All functions are pure and thread-safe; outputs may not alias inputs unless stated. */
#ifndef AVTRUTH_GEOM_H
#define AVTRUTH_GEOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct avt_tf { double m[16]; } avt_tf; /* row-major, last row 0 0 0 1 */

avt_tf avt_tf_identity(void);
avt_tf avt_tf_mul(const avt_tf *a_T_b, const avt_tf *b_T_c);   /* a_T_c; both with last row 0 0 0 1 */
avt_tf avt_tf_inv(const avt_tf *a_T_b);                         /* b_T_a (rigid inverse) */
/* p_a = a_T_b p_b; inline: per-point loops (deskew, labels, projection) call it millions of
 * times a sweep. */
static inline void avt_tf_apply(const avt_tf *a_T_b, const double p_b[3], double p_a[3])
{
    const double *m = a_T_b->m;
    for (int i = 0; i < 3; i++) p_a[i] = m[4 * i] * p_b[0] + m[4 * i + 1] * p_b[1] + m[4 * i + 2] * p_b[2] + m[4 * i + 3];
}
void avt_tf_rotate(const avt_tf *a_T_b, const double v_b[3], double v_a[3]); /* no translation */
/* From a unit quaternion [w,x,y,z] (normalised here) and a translation. */
avt_tf avt_tf_from_qt(const double q[4], const double t[3]);
void avt_tf_to_q(const avt_tf *tf, double q[4]);               /* rotation part, w >= 0 */
avt_tf avt_tf_from_yaw(double yaw_rad, const double t[3]);      /* rotation about +z */
/* Largest deviation of R^T R from identity and |det R - 1|; rigid iff both tiny and the last
 * row is 0 0 0 1. Returns the maximum of all three deviations. */
double avt_tf_rigid_error(const avt_tf *tf);

/* Interpolation between two poses, prepared once for many fractions s in [0,1]: translation
 * linearly, rotation by spherical linear interpolation. */
typedef struct avt_tf_slerp {
    double qa[4], qb[4], ta[3], tb[3];
    double th, sn; /* angle between the quaternions and its sine; th = 0: linear */
} avt_tf_slerp;
void avt_tf_slerp_init(avt_tf_slerp *z, const avt_tf *a, const avt_tf *b);
avt_tf avt_tf_slerp_at(const avt_tf_slerp *z, double s);

/* Bounding boxes of the blocks of AVT_POINT_BLOCK consecutive points of a cloud (common/blocks.c):
 * box j holds points [j B, (j + 1) B), oriented along the azimuth of the block's middle point
 * (a LiDAR sweep's block is a thin wedge at one azimuth: tight). frame[j] = {dx, dy, s0, s1,
 * t0, t1, z0, z1}: the points' s = dx x + dy y, t = dx y - dy x and z lie in [s0, s1] x [t0, t1]
 * x [z0, z1]; corner[j] are that box's 8 corners. Built once per cloud, then tested against
 * every camera (avt_cam_project_visible) and box (avt_label_points). */
enum { AVT_POINT_BLOCK = 512 };
typedef struct avt_point_blocks {
    double (*corner)[8][3];
    double (*frame)[8];
    size_t n_blocks, cap;
} avt_point_blocks;
/* 0 or -1 (out of memory). Non-finite points are left out of the boxes. */
int avt_point_blocks_build(avt_point_blocks *b, const float *xyz, size_t n);
void avt_point_blocks_free(avt_point_blocks *b);

#endif
