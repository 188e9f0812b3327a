/* avtruth pipeline: one drive log through every stage (ingest, sync, project, labels, export)
 * into one HDF5 file, streaming: memory is bounded by one sweep plus per-camera buffers. */
#ifndef AVTRUTH_PIPELINE_H
#define AVTRUTH_PIPELINE_H

#include <stdint.h>

#include "avtruth/common.h"

typedef struct avt_build_options {
    const char *compression;     /* "gzip" (default) or "none" */
    const char *policy;          /* "trigger" (default) or "nearest" */
    int64_t sync_tolerance_ns;   /* default 50 ms */
    int64_t label_tolerance_ns;  /* default 5 ms */
    double cut_angle_deg;        /* default 180 */
    const char *lidar_model;     /* default "auto" */
    const char *command_line;    /* recorded in provenance */
    const char *git_sha;         /* recorded in provenance */
    /* called after every frame with the frame count so far (progress line); may be NULL */
    void (*progress)(uint64_t frames, int64_t t_ns, void *ctx);
    void *progress_ctx;
    /* When set, every preview_stride-th frame's camera images are written there with the 2D
     * boxes and LiDAR depth points drawn on them: preview_<camera>_<frame>.png. */
    const char *preview_dir;
    uint64_t preview_stride;
} avt_build_options;

void avt_build_options_default(avt_build_options *o);

#define AVT_SUMMARY_MAX_CAMERAS 16
typedef struct avt_build_summary {
    uint64_t frames, points, boxes3d, boxes2d, depth_samples, label_files_used;
    unsigned n_cameras;
    struct {
        char name[64];
        uint64_t images, paired, unpaired_frames;
        int64_t delta_median_ns, delta_max_abs_ns;
    } cam[AVT_SUMMARY_MAX_CAMERAS];
    double seconds;
} avt_build_summary;

/* Builds log_dir into out_path (must end in .h5). On any error nothing is left at out_path
 * (an existing file there is kept unchanged) and err names the input and what is wrong. */
int avt_build(const char *log_dir, const char *out_path, const avt_build_options *opt,
              avt_build_summary *summary, avt_error *err);


#endif
