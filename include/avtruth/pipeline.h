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
    size_t point_chunk_rows;     /* per-point and depth chunk rows; 0: 16,384 (avt_export_options) */
    const char *policy;          /* "trigger" (default) or "nearest" ("approximate": library only) */
    int64_t sync_tolerance_ns;   /* default 50 ms */
    int64_t label_tolerance_ns;  /* default 5 ms */
    double cut_angle_deg;        /* default 180 */
    const char *lidar_model;     /* default "auto" */
    const char *lidar_calibration; /* Velodyne db.xml / ROS YAML (HDL-64E needs one); NULL: none */
    const char *lidar_source;    /* IPv4 source address of the LiDAR's packets; NULL: any */
    /* annotation schema (a file or a shipped name: default, kitti, nuscenes); NULL: the log's
     * (log.yaml `schema:`, LOG/schema.yaml, else the default). docs/schema.md */
    const char *schema;
    const char *command_line;    /* recorded in provenance */
    const char *git_sha;         /* recorded in provenance */
    /* called after every frame with the share of the LiDAR data read (0..1), the frame count
     * so far and the frame's time (progress line); may be NULL */
    void (*progress)(double fraction, uint64_t frames, int64_t t_ns, void *ctx);
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
    /* The calibration instead of LOG/calib.yaml: n_calib files of any format (calib_format, or
     * detected when NULL / "auto"), combined by avt_rig_load_combined with LOG/calib.yaml's
     * LiDAR extrinsics for camera-only formats. */
    const char *const *calib_paths;
    size_t n_calib;
    const char *calib_format;
} avt_build_options;

void avt_build_options_default(avt_build_options *o);

enum { AVT_STAGE_SETUP, AVT_STAGE_DECODE, AVT_STAGE_DESKEW, AVT_STAGE_LABELS, AVT_STAGE_CAMERAS, AVT_STAGE_EXPORT,
       AVT_STAGE_FINISH, AVT_BUILD_STAGES };

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
    /* Wall seconds per stage of the build, summing to about `seconds` (avt_build_stage_name):
     * opening the log and the writer and the sync pass over the capture; decoding the sweeps;
     * copying and deskewing them; the labels and boxes; the cameras (one OpenMP region per
     * frame); the export (compression included); the file's last tables, fsync and rename.
     * Each sweep after the second is decoded, deskewed and labelled beside the export of the
     * frame two before (on the writer's thread when it has one), and its time counts there. */
    double stage_seconds[AVT_BUILD_STAGES];
} avt_build_summary;
const char *avt_build_stage_name(int stage);

/* Builds log_dir into out_path (must end in .h5). On any error nothing is left at out_path
 * (an existing file there is kept unchanged), err names the input and what is wrong and the
 * summary holds nothing to free. After success free the summary with avt_build_summary_free. */
int avt_build(const char *log_dir, const char *out_path, const avt_build_options *opt,
              avt_build_summary *summary, avt_error *err);
void avt_build_summary_free(avt_build_summary *summary); /* NULL: no-op */

/* `avtruth validate` (docs/schema.md): every label file of log_dir against its schema
 * (opt->schema overrides; opt's LiDAR options and label_tolerance_ns as for build), with the
 * sweep times of the decoded capture for the time rules. Findings go to rep (see
 * avtruth/validate.h; rep->max_kept may be set before). schema_origin (n bytes, may be NULL)
 * receives where the schema came from. Returns AVT_OK when the rules ran, whatever they found;
 * an error status when they could not (no log, unreadable calibration, capture or schema). */
struct avt_validation;
int avt_validate_log(const char *log_dir, const avt_build_options *opt, struct avt_validation *rep,
                     char *schema_origin, size_t n, avt_error *err);

/* ---- calibration check (docs/calibration-check.md) ---- */
#include "avtruth/calib.h"
#include "avtruth/calibcheck.h"

typedef struct avt_calib_check_options {
    const char *camera;          /* only this camera; NULL: every camera of the rig */
    uint64_t first_frame;        /* sweeps first_frame <= index < end_frame are checked */
    uint64_t end_frame;          /* UINT64_MAX: to the end */
    unsigned window;             /* frames per window, default 10 */
    unsigned max_frames;         /* frames kept for the whole-log estimate (evenly thinned), default 40 */
    const char *overlay_dir;     /* overlays written there when set */
    unsigned overlays;           /* frames with overlays (first, last, evenly between), default 3 */
    const avt_rig *rig;          /* the calibration to check; NULL: the log's calib.yaml */
    int64_t tolerance_ns;        /* image to camera reference time, default 50 ms */
    avt_cc_options search;
    avt_cc_thresholds thresholds;
    /* after each sweep: the share of the capture read and the sweeps checked; may be NULL */
    void (*progress)(double fraction, uint64_t sweeps, void *ctx);
    void *progress_ctx;
} avt_calib_check_options;
void avt_calib_check_options_default(avt_calib_check_options *o);

typedef struct avt_calib_check_window {
    uint64_t first_frame, last_frame; /* sweep indices */
    unsigned frames;
    int status;                       /* enum avt_cc_status */
    avt_cc_estimate est;
} avt_calib_check_window;

typedef struct avt_calib_check_overlay {
    uint64_t frame;
    char stored[512], corrected[512]; /* file names inside overlay_dir */
    double score_stored, score_corrected; /* this frame's score, stored and corrected calibration */
} avt_calib_check_overlay;

typedef struct avt_calib_check_camera {
    char name[AVT_NAME_MAX];
    int status;                       /* enum avt_cc_status */
    avt_cc_estimate est;              /* over the kept frames */
    double confidence;                /* F of the reported calibration (docs) */
    unsigned frames;                  /* frames with a paired image */
    double edge_fraction;             /* mean share of edge pixels */
    avt_calib_check_window *windows;
    size_t n_windows;
    avt_calib_check_overlay *overlays;
    size_t n_overlays;
} avt_calib_check_camera;

typedef struct avt_calib_check_report {
    char log[512];
    uint64_t sweeps;                  /* sweeps in the frame range */
    int status;                       /* miscalibrated if any camera is, else undetermined if any is */
    avt_cc_thresholds thresholds;     /* what the cameras were judged by */
    avt_calib_check_camera *cams;
    size_t n_cams;
} avt_calib_check_report;

/* Checks the LiDAR-camera calibration of a drive log: pairs each sweep with each camera's image
 * nearest to the instant the head faces the camera, moves the sweep's depth discontinuities to
 * the image time with the ego poses, scores and searches per window and over the log, writes the
 * overlays. Errors name the file and the value. Caller frees r with avt_calib_check_report_free. */
int avt_calib_check(const char *log_dir, const avt_calib_check_options *o, avt_calib_check_report *r,
                    avt_error *err);
/* The JSON report (docs/calibration-check.md), written whole or not at all. */
int avt_calib_check_write_json(const avt_calib_check_report *r, const char *path, avt_error *err);
void avt_calib_check_report_free(avt_calib_check_report *r);

#endif
