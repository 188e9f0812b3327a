/* avtruth quality: the geometry of 3D box overlap, optimal one-to-one matching, agreement
 * statistics between annotators (Cohen's and Fleiss' kappa, ICC(2,1)), their consensus, and
 * the evaluation of predictions against ground truth (KITTI AP R40/R11, nuScenes mAP with
 * true-positive errors, COCO 2D AP). Reference: docs/quality.md.
 *
 * Everything here is thread-safe: no global state; reports are jansson objects the caller
 * owns (json_decref). */
#ifndef AVTRUTH_QUALITY_H
#define AVTRUTH_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "avtruth/common.h"
#include "avtruth/labels.h"
#include "avtruth/schema.h"

/* Class ids index per-class tables; the annotation schema (avtruth/schema.h) names them. Ids
 * of this value or more are refused when label sets are loaded. */
#define AVT_QUALITY_MAX_ID 256

/* ---- geometry (quality/geometry.c) ---- */

/* Area of the intersection of the two boxes' footprints (rotated rectangles in x-y), exact:
 * one convex polygon clipped by the other (Sutherland-Hodgman). */
double avt_quality_bev_intersection(const avt_label_box *a, const avt_label_box *b);
/* Intersection over union of the footprints; of the volumes (BEV intersection x z overlap). */
double avt_quality_iou_bev(const avt_label_box *a, const avt_label_box *b);
double avt_quality_iou_3d(const avt_label_box *a, const avt_label_box *b);
/* Distance of the centres in x-y (nuScenes' center_distance). */
double avt_quality_center_distance(const avt_label_box *a, const avt_label_box *b);
/* Intersection over union of two axis-aligned image boxes [x1, y1, x2, y2]; of a's area
 * inside b (KITTI's DontCare test) when over_a is set. */
double avt_quality_iou_2d(const double a[4], const double b[4], int over_a);
/* The angle a - b wrapped to [-pi, pi). */
double avt_quality_angle_diff(double a, double b);

/* ---- optimal assignment (quality/assign.c) ---- */

/* Kuhn-Munkres (Hungarian) on an n_rows x n_cols cost matrix (row-major, finite), O(n^2 m):
 * row_to_col[i] receives the column given to row i, or -1 when there are more rows than
 * columns and row i gets none. Minimises the total cost. Returns AVT_NOMEM or AVT_OK. */
int avt_quality_assign(const double *cost, size_t n_rows, size_t n_cols, long *row_to_col, avt_error *err);

typedef enum avt_match_metric { AVT_MATCH_IOU_3D, AVT_MATCH_IOU_BEV, AVT_MATCH_DISTANCE } avt_match_metric;
/* Parses "iou3d", "bev", "distance"; -1 otherwise. */
int avt_match_metric_parse(const char *name);

typedef struct avt_match_opts {
    avt_match_metric metric;
    double threshold[AVT_QUALITY_MAX_ID]; /* per class id of the first set's box: IoU >= t, or distance < t (m) */
    int same_class;                       /* only boxes of the same class may match */
} avt_match_opts;
/* The schema's per-class thresholds: iou3d_threshold (the shipped schemas: KITTI's 0.7 for
 * cars and other vehicles, 0.5 for the rest) or, for distance, center_distance_m; ids the
 * schema lacks get 0.5 / 2 m. */
void avt_match_opts_schema(avt_match_opts *o, avt_match_metric metric, const avt_schema *s);

/* Parses per-class thresholds "car=0.7,pedestrian=0.5" (class names of schema s, or one
 * number for every class) into thr (indexed by class id); returns 0, or -1 with msg giving the
 * accepted form and the bad part (spec NULL: the form). With s and thr NULL only the form is
 * checked (option parsing, before the schema is known). */
int avt_class_thresholds_parse(const char *spec, const avt_schema *s, double thr[AVT_QUALITY_MAX_ID], char *msg,
                               size_t n);
/* thr[c] = over[c] where over[c] is not NaN. */
void avt_quality_thresholds_override(double thr[AVT_QUALITY_MAX_ID], const double over[AVT_QUALITY_MAX_ID]);

/* The schema of a label set: override (a schema file or a shipped name) if not NULL; else an
 * output file's /meta/schema; else the log's (avt_schema_for_log: log.yaml, schema.yaml) for a
 * log or for a labels folder inside one; else the default. origin (n bytes) says which. */
int avt_quality_schema_for(const char *path, const char *override, avt_schema *s, char *origin, size_t n,
                           avt_error *err);
/* The name of class id c in s ("?" if none). */
const char *avt_quality_class_name(const avt_schema *s, int c);

/* Matches boxes a[0..na) and b[0..nb) one-to-one, maximising the total IoU (or minimising
 * the total centre distance) over the pairs that pass the threshold of a's class.
 * a_to_b[i] is the matched index in b or -1; value[i] the IoU or distance of the pair (NaN
 * if none). */
int avt_quality_match(const avt_label_box *a, size_t na, const avt_label_box *b, size_t nb,
                      const avt_match_opts *o, long *a_to_b, double *value, avt_error *err);

/* ---- statistics (quality/stats.c) ---- */

/* Cohen's kappa of a k x k table of counts (rows: rater 1, columns: rater 2). NaN when the
 * expected agreement is 1. */
double avt_kappa_cohen(const double *table, int k);
/* Fleiss' kappa of n subjects x k categories: counts[i*k + j] raters putting subject i in
 * category j; every row sums to the same number of raters (>= 2). NaN if undefined. */
double avt_kappa_fleiss(const double *counts, size_t n, int k);
/* ICC(2,1) (Shrout & Fleiss 1979, two-way random effects, single rater, absolute agreement)
 * of x[i*k + j], target i, judge j. NaN if n < 2, k < 2 or undefined. */
double avt_icc_2_1(const double *x, size_t n, size_t k);

/* ---- label sets (quality/labelset.c) ---- */

/* The label files of one annotator or model: a log (its labels/ folder), a folder of
 * <t_ns>.json files, or an output file (.h5: its /boxes3d). */
typedef struct avt_label_set {
    char source[1024];
    size_t n;
    int64_t *t_ns;           /* sorted */
    char **paths;            /* file of each frame (the .h5 for an output file) */
    avt_label_frame *frames;
} avt_label_set;
/* Label files are read with schema sc (avt_label_frame_read: unknown keys and classes are
 * errors); an output file's class ids are taken as ids of sc. */
int avt_label_set_load(const char *path, const avt_schema *sc, avt_label_set *s, avt_error *err);
void avt_label_set_free(avt_label_set *s);
/* Frame of s nearest to t within 5 ms, or -1. */
long avt_label_set_find(const avt_label_set *s, int64_t t_ns);

/* ---- agreement and consensus (quality/agree.c) ---- */

#define AVT_MAX_ANNOTATORS 16
/* One object seen by several annotators in one frame: member[j] is the box index in
 * annotator j's frame or -1 (absent). */
typedef struct avt_cluster {
    size_t frame;                     /* index into avt_clusters.t_ns */
    long member[AVT_MAX_ANNOTATORS];
} avt_cluster;
typedef struct avt_clusters {
    size_t m;                 /* annotators */
    size_t n_frames;
    int64_t *t_ns;            /* the union of the annotators' frame times */
    long *frame_of;           /* n_frames x m: frame index in each set, -1 when missing */
    avt_cluster *c;
    size_t n;
} avt_clusters;

typedef struct avt_agree_opts {
    const avt_schema *schema; /* names the classes */
    avt_match_opts match;     /* how boxes of different annotators are found to be one object */
    double iou_ok[AVT_QUALITY_MAX_ID]; /* below this 3D IoU a matched pair is a geometry dispute */
    size_t max_disputes;      /* disputes listed in the report (0 = all) */
} avt_agree_opts;
/* Matching on BEV IoU >= 0.25 whatever the class; iou_ok the schema's iou3d_threshold. */
void avt_agree_opts_default(avt_agree_opts *o, const avt_schema *s);

/* Groups the boxes of m annotators frame by frame into objects: annotator 0's boxes seed the
 * objects, each further annotator is matched (Hungarian, on the mean IoU with the members so
 * far) and its unmatched boxes seed new ones. */
int avt_quality_cluster(const avt_label_set *sets, size_t m, const avt_match_opts *o, avt_clusters *out,
                        avt_error *err);
void avt_clusters_free(avt_clusters *c);

/* The agreement report (docs/quality.md): annotators, per_class, class_kappa, attribute
 * kappas, icc, deviations, disputes (worst first). *report is the caller's. */
int avt_quality_agree(const avt_label_set *sets, size_t m, const avt_agree_opts *o, json_t **report,
                      avt_error *err);

/* Writes the consensus of the m annotators into out_dir/<t_ns>.json, one file per frame of the
 * union: majority class, per-coordinate median of centre and size, circular mean of yaw,
 * `confidence` (annotators voting for the class / m) and `disputed` (no strict majority of the
 * m annotators for one class); no object is dropped. stats (may be NULL) gets counts. */
typedef struct avt_consensus_stats {
    size_t frames, objects, disputed;
} avt_consensus_stats;
int avt_quality_consensus(const avt_label_set *sets, size_t m, const avt_agree_opts *o, const char *out_dir,
                          avt_consensus_stats *stats, avt_error *err);

/* ---- evaluation (quality/eval.c, quality/coco.c) ---- */

/* What KITTI's difficulty levels need of a box, seen in one camera. height_px < 0 means
 * unknown: the box then passes every level's height, occlusion and truncation limits. */
typedef struct avt_box_view {
    double xyxy[4];     /* 2D box in the image (for DontCare overlap) */
    double height_px;   /* xyxy[3] - xyxy[1]; 0 when the box is not in the image */
    double truncation;  /* 0..1 */
    int occlusion;      /* KITTI levels: 0 fully visible, 1 partly, 2 largely occluded */
} avt_box_view;

typedef struct avt_eval_frame {
    const avt_label_box *gt, *pred; /* pred[i].score: NaN counts as 1 */
    size_t n_gt, n_pred;
    const avt_box_view *gt_view, *pred_view; /* NULL: unknown */
    const double (*dontcare)[4];    /* ignore regions in the image (xyxy) */
    size_t n_dontcare;
} avt_eval_frame;

typedef struct avt_eval_opts {
    const avt_schema *schema;                 /* the classes evaluated (not the ignore ones) */
    double iou_threshold[AVT_QUALITY_MAX_ID]; /* KITTI overlap per class id (the schema's) */
    double nusc_distances[4];              /* 0.5, 1, 2, 4 m */
    int nusc_tp_distance;                  /* index of the distance of the TP errors (2 m) */
} avt_eval_opts;
void avt_eval_opts_default(avt_eval_opts *o, const avt_schema *s);

/* Evaluates the frames: the report gets "kitti" -> class -> {ap3d_r40, apbev_r40, ap3d_r11,
 * apbev_r11} per difficulty (the top-level keys are the moderate level, as KITTI ranks),
 * and "nuscenes" -> {mAP, NDS-free TP errors, per class ap per distance}. Classes without any
 * ground truth are left out. */
int avt_quality_eval(const avt_eval_frame *frames, size_t n, const avt_eval_opts *o, json_t *report,
                     avt_error *err);

/* Output files: the names of the groups under /cameras (at most max). */
int avt_quality_h5_cameras(const char *path, char names[][64], size_t max, size_t *n, avt_error *err);
/* views[row] for every /boxes3d row of an output file (n_rows of them): the camera's 2D box,
 * its truncation and the occlusion level of its visibility (>= 0.9: 0, >= 0.5: 1, else 2);
 * rows without a 2D box in that camera get height 0 and NaN xyxy. */
int avt_quality_h5_views(const char *path, const char *camera, size_t n_rows, avt_box_view *views, avt_error *err);
/* views of the boxes (LiDAR frame) of n_frames frames, flattened in frame order, projected
 * into a camera of a rig (avt_box_project): 2D box, height and truncation, and the label's own
 * KITTI occlusion and truncation where it has them (else occlusion 0). Boxes outside the
 * image: height 0. The camera model is prepared once for all frames. */
struct avt_camera;
int avt_quality_project_views(const struct avt_camera *cam, const avt_label_frame *frames, size_t n_frames,
                              avt_box_view *views, avt_error *err);

/* KITTI AP of one class at one difficulty (0 easy, 1 moderate, 2 hard) and metric (3D or BEV
 * IoU): ap[0] R40, ap[1] R11. Ground truth of the neighbour class (KITTI: Van for Car,
 * Person_sitting for Pedestrian; -1 for none) is ignored, neither found nor missed. Returns
 * the number of ground-truth boxes counted. */
size_t avt_eval_kitti_ap(const avt_eval_frame *frames, size_t n, int class_id, int neighbour_id, int difficulty,
                         int bev, double threshold, double ap[2]);

/* COCO-style AP of 2D boxes of one camera: per image GT and predictions with class and score;
 * ap50 and the mean over IoU 0.50:0.05:0.95, averaged over the classes present in the GT
 * (class ids < AVT_QUALITY_MAX_ID). */
typedef struct avt_box2d {
    double xyxy[4];
    int class_id;
    double score;
} avt_box2d;
typedef struct avt_coco_image {
    const avt_box2d *gt, *pred;
    size_t n_gt, n_pred;
} avt_coco_image;
void avt_eval_coco(const avt_coco_image *images, size_t n, double *ap50, double *ap);

/* ---- eval of files (quality/evalrun.c) ---- */

typedef struct avt_eval_run_opts {
    avt_eval_opts eval;  /* eval.schema also reads both label sets */
    const char *calib;   /* rig for projecting boxes (difficulty, 2D boxes); NULL: GT's calib.yaml */
    const char *camera;  /* camera of the difficulty levels; NULL: the first */
} avt_eval_run_opts;
/* Evaluates the label set pred against gt (a log, a labels folder or an output file): frames
 * paired within 5 ms; KITTI difficulty from the GT file's 2D boxes (output file) or from the
 * projection through the rig; "coco2d" per camera when gt is an output file and pred is one
 * too (its 2D boxes) or a rig is known (the projections of the predicted 3D boxes at the sweep
 * time). *report is the caller's. */
int avt_quality_eval_paths(const char *gt, const char *pred, const avt_eval_run_opts *o, json_t **report,
                           avt_error *err);

#endif
