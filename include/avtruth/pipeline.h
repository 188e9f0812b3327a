/* avtruth pipeline: one drive log through every stage (ingest, sync, project, labels, export)
 * into one HDF5 file, streaming: memory is bounded by one sweep plus per-camera buffers. */
#ifndef AVTRUTH_PIPELINE_H
#define AVTRUTH_PIPELINE_H

#include <stdint.h>

#include "avtruth/common.h"
#include "avtruth/export.h"
#include "avtruth/ingest.h"

typedef struct avt_build_options {
    const char *compression;     /* "gzip" (default) or "none" */
    const char *policy;          /* "trigger" (default) or "nearest" ("approximate": library only) */
    int64_t sync_tolerance_ns;   /* default 50 ms */
    int64_t label_tolerance_ns;  /* default 5 ms */
    double cut_angle_deg;        /* default 180 */
    const char *lidar_model;     /* default "auto" */
    const char *lidar_calibration; /* Velodyne db.xml / ROS YAML (HDL-64E needs one); NULL: none */
    const char *lidar_source;    /* IPv4 source address of the LiDAR's packets; NULL: any */
    const char *command_line;    /* recorded in provenance */
    const char *git_sha;         /* recorded in provenance */
    /* called after every frame with the frame count so far (progress line); may be NULL */
    void (*progress)(uint64_t frames, int64_t t_ns, void *ctx);
    void *progress_ctx;
    /* When set, every preview_stride-th frame's camera images are written there with the 2D
     * boxes and LiDAR depth points drawn on them: preview_<camera>_<frame>.png. */
    const char *preview_dir;
    uint64_t preview_stride;
    /* Which projected 3D boxes get a 2D box in a camera (like nuScenes' BoxVisibility):
     * "any" (default): some part of the box's silhouette is inside the image; "all": all 8
     * corners are in front of the camera and inside the image; "none": every box with some part
     * in front of the camera, its xyxy NaN when nothing of it is inside the image. */
    const char *box_visibility;
    /* When set, each paired image's sparse LiDAR depth is also written as a KITTI
     * depth-completion PNG (uint16, depth x 256): DIR/<camera>/<frame, 6 digits>.png. */
    const char *depth_png_dir;
    /* Camera clocks (docs/pipeline.md "Camera clocks"): "auto" (default: correct when the
     * evidence is strong), "on", "off". A hint replaces the first offset guess. */
    const char *clock_correct;
    int64_t clock_offset_hint_ns;
    int have_clock_offset_hint;
    int verify_images;            /* decode every paired image fully (CRC, zlib) */
    int embed_images;             /* store each paired image's PNG bytes in the file */
    const char *sync_report_dir;  /* when set: sync_<camera>.png histograms there */
    /* Non-fatal problems (bad image times, cameras without images), one message each,
     * naming the file; may be NULL. */
    void (*warn)(const char *msg, void *ctx);
    void *warn_ctx;
} avt_build_options;

void avt_build_options_default(avt_build_options *o);

typedef struct avt_build_summary {
    uint64_t frames, points, boxes3d, boxes2d, depth_samples, label_files_used;
    unsigned n_cameras;
    /* every camera of the rig: the same values as /sync (owned; avt_build_summary_free) */
    avt_sync_camera_summary *cam;
    /* the LiDAR capture reader's counters (corrupt packets and their record numbers, losses,
     * fragments); have_lidar_stats is 0 for logs of point-cloud files */
    int have_lidar_stats;
    avt_lidar_stats lidar;
    double seconds;
} avt_build_summary;

/* Builds log_dir into out_path (must end in .h5). On any error nothing is left at out_path
 * (an existing file there is kept unchanged), err names the input and what is wrong and the
 * summary holds nothing to free. After success free the summary with avt_build_summary_free. */
int avt_build(const char *log_dir, const char *out_path, const avt_build_options *opt,
              avt_build_summary *summary, avt_error *err);
void avt_build_summary_free(avt_build_summary *summary); /* NULL: no-op */


#endif
