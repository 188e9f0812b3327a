/* Test-only writers of one camera of a rig in every calibration format avt_rig_load reads,
 * so that round trips can be checked (tests/calib/test_formats.c). Each writes numbers with
 * %.17g (exact for doubles). Return 0 on success. */
#ifndef AVT_TEST_CALIB_WRITERS_H
#define AVT_TEST_CALIB_WRITERS_H

#include "avtruth/calib.h"

/* KITTI object calib: P2 = K [I | t_shift], R0_rect = R_rect, Tr_velo_to_cam chosen so that
 * the composite equals the camera's pose; lidar_T_ego written as Tr_imu_to_velo. */
int write_kitti_object(const char *path, const avt_rig *rig, const avt_camera *c, const double R_rect[9],
                       const double t_shift[3]);
/* KITTI raw directory: camera 00, rectified (P_rect_00/R_rect_00 as above, distortion ignored)
 * when rect, else unrectified (K_00, D_00 with 5 coefficients, R_00 = I, T_00 = 0). */
int write_kitti_raw(const char *dir, const avt_rig *rig, const avt_camera *c, int rect, const double R_rect[9],
                    const double t_shift[3]);
int write_ros(const char *path, const avt_camera *c);
int write_opencv(const char *path, const avt_camera *c);
int write_kalibr(const char *path, const avt_camera *c);

#endif
