/* avtruth quality: what KITTI's difficulty levels need of a box in one camera, from the
 * camera model and the box's projection (include/avtruth/project.h). */
#include <math.h>

#include "avtruth/calib.h"
#include "avtruth/project.h"
#include "avtruth/quality.h"

int avt_quality_project_views(const avt_camera *cam, const avt_label_frame *frames, size_t n_frames,
                              avt_box_view *views, avt_error *err)
{
    avt_cam_model model;
    int rc = avt_cam_model_init(&model, cam, err);
    if (rc) return rc;
    avt_tf cam_T_lidar = avt_tf_inv(&cam->lidar_T_cam);
    avt_box_view *v = views;
    for (size_t f = 0; f < n_frames; f++)
        for (size_t i = 0; i < frames[f].n; i++, v++) {
            const avt_label_box *b = &frames[f].boxes[i];
            const avt_tf lidar_T_box = avt_tf_from_yaw(b->yaw, b->center);
            const avt_obox ob = avt_obox_from_tf(&lidar_T_box, b->size);
            avt_box_projection bp;
            if (avt_box_project(&model, &cam_T_lidar, &ob, &bp)) {
                for (int k = 0; k < 4; k++) v->xyxy[k] = bp.xyxy[k];
                v->height_px = bp.xyxy[3] - bp.xyxy[1];
                v->truncation = bp.truncation;
            } else {
                for (int k = 0; k < 4; k++) v->xyxy[k] = NAN;
                v->height_px = 0;
                v->truncation = 1;
            }
            /* the label's own KITTI values when it has them (an imported KITTI log) */
            if (!isnan(b->truncated)) v->truncation = b->truncated;
            v->occlusion = b->occluded >= 0 ? b->occluded : 0;
        }
    return AVT_OK;
}
