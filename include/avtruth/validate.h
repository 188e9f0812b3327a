/* avtruth labels: validation of a log's label files against its annotation schema
 * (docs/schema.md "Validation rules"): every finding with its severity, rule, file, JSON path
 * and value. `avtruth validate` and `avtruth build` run the same rules. */
#ifndef AVTRUTH_VALIDATE_H
#define AVTRUTH_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "avtruth/calib.h"
#include "avtruth/common.h"
#include "avtruth/labels.h"
#include "avtruth/schema.h"

/* One table generates the rule enum, names, severities and descriptions. */
#define AVT_RULE_MAP(X)                                                                                   \
    /* schema compliance */                                                                               \
    X(PARSE, "parse", ERROR, "the file is not JSON or not shaped like a label file")                     \
    X(FILE_NAME, "file_name", ERROR, "a label file not named <t_ns>.json")                              \
    X(UNKNOWN_KEY, "unknown_key", ERROR, "a key the schema does not know (the closest known key is named)") \
    X(MISSING_FIELD, "missing_field", ERROR, "a required field is absent")                              \
    X(BAD_TYPE, "bad_type", ERROR, "a field of the wrong type or length")                               \
    X(FRAME, "frame", ERROR, "a coordinate frame other than the schema's")                             \
    X(UNKNOWN_CLASS, "unknown_class", ERROR, "a class the schema does not have")                       \
    X(IGNORE_CLASS_BOX, "ignore_class_box", ERROR, "an ignore class (DontCare) used for a 3D box")      \
    X(UNKNOWN_ATTRIBUTE, "unknown_attribute", ERROR, "an attribute value the schema does not have")   \
    X(ATTRIBUTE_NOT_ALLOWED, "attribute_not_allowed", ERROR, "an attribute not allowed for the class") \
    X(ATTRIBUTE_CONFLICT, "attribute_conflict", ERROR, "two values of one attribute group")            \
    X(IGNORE_REGION, "ignore_region", ERROR, "an ignore region with an unknown camera or class, or a bad xyxy") \
    /* boundary conditions */                                                                             \
    X(NOT_FINITE, "not_finite", ERROR, "a number that is NaN or infinite")                             \
    X(NONPOSITIVE_SIZE, "nonpositive_size", ERROR, "a box size that is not positive")                  \
    X(OUT_OF_RANGE, "out_of_range", ERROR, "a box centre beyond the sensor's range")                  \
    X(QUATERNION_NORM, "quaternion_norm", ERROR, "a rotation quaternion not of unit length")         \
    X(NAME_TIME, "name_time", ERROR, "timestamp_ns differs from the time in the file name")           \
    X(OUTSIDE_CAPTURE, "outside_capture", ERROR, "a label time outside the LiDAR capture")           \
    X(UNATTACHED, "unattached", WARNING, "a label file that attaches to no sweep")                    \
    /* logical consistency */                                                                             \
    X(DUPLICATE_TRACK, "duplicate_track", ERROR, "a track id used twice in one file")                  \
    X(TRACK_CLASS, "track_class_change", ERROR, "a track whose class changes")                         \
    X(DUPLICATE_BOX, "duplicate_box", ERROR, "two identical boxes in one file")                        \
    X(OVERLAP, "overlap", WARNING, "two boxes of one file overlapping beyond the threshold (3D IoU)")  \
    X(SIZE_PRIOR, "size_prior", WARNING, "a size outside the class's prior range")                     \
    X(TRACK_SIZE, "track_size_change", WARNING, "a track's size changing beyond the tolerance")       \
    X(VELOCITY, "velocity_inconsistent", WARNING, "a velocity that disagrees with consecutive positions")

enum avt_rule {
#define AVT_X_RULE(id, name, sev, desc) AVT_RULE_##id,
    AVT_RULE_MAP(AVT_X_RULE)
#undef AVT_X_RULE
    AVT_RULE_COUNT
};
enum avt_severity { AVT_SEVERITY_ERROR = 0, AVT_SEVERITY_WARNING = 1 };

const char *avt_rule_name(int rule);         /* "unknown_key"; never NULL */
int avt_rule_severity(int rule);             /* AVT_SEVERITY_ERROR or _WARNING */
const char *avt_rule_description(int rule);
const char *avt_severity_name(int severity); /* "error", "warning" */

typedef struct avt_finding {
    int rule;
    char file[512];    /* the label file's path */
    char where[128];   /* JSON path ("boxes[3].velocty"), or "" for the whole file */
    char value[128];   /* the offending value as text */
    char detail[256];  /* what is wrong, in words (e.g. the closest known key) */
} avt_finding;

/* A validation report. The first max_kept findings are kept (0 at init: 1000); every finding
 * is counted by rule, so memory does not grow with the number of files. */
typedef struct avt_validation {
    avt_finding *findings;
    size_t n, cap, max_kept;
    uint64_t count[AVT_RULE_COUNT];
    uint64_t errors, warnings, files, boxes;
    int oom; /* a finding could not be kept for lack of memory (still counted) */
} avt_validation;
void avt_validation_free(avt_validation *v);

/* What the rules need besides the files. */
typedef struct avt_validate_config {
    const avt_schema *schema;   /* required */
    const avt_rig *rig;         /* camera names of ignore regions, lidar_T_ego; NULL: not checked */
    const avt_poses *poses;     /* world_T_ego for velocity checks; NULL or empty: identity */
    double max_range_m;         /* 0: 250 (beyond every supported sensor's range) */
    double overlap_iou;         /* 0: 0.25 */
    double size_tolerance;      /* track size change: relative (0: 0.10) ... */
    double size_tolerance_m;    /* ... or absolute, whichever is larger (0: 0.20 m) */
    double velocity_tol_mps;    /* |finite difference - mean velocity| (0: 1.0 m/s) ... */
    double velocity_tol_rel;    /* ... + this times |mean velocity| (0: 0.2) */
    /* Sweeps (reference times, increasing) and the capture's first and last point times:
     * with n_sweeps = 0 the unattached and outside_capture rules are not run. */
    const int64_t *sweep_ns;
    size_t n_sweeps;
    int64_t capture_start_ns, capture_end_ns;
    int64_t label_tolerance_ns; /* 0: 5 ms, the build's default */
} avt_validate_config;

/* Reads one label file with schema s into out (boxes of ignore classes go to out->ignore with
 * their 2D regions): the strict loader of `build`. The first error-severity finding becomes
 * err (AVT_FORMAT: "file: boxes[3].velocty: unknown key (closest known: 'velocity')"). */
int avt_label_frame_read(const char *path, const avt_schema *s, avt_label_frame *out, avt_error *err);

/* Runs every rule over the files of idx (in time order; files that cannot be read are
 * findings, not failures) and appends to rep. Memory: one file plus one entry per track.
 * Returns AVT_OK (whatever was found) or AVT_NOMEM / AVT_INVAL. Thread-safe for distinct reps. */
int avt_validate_labels(const avt_label_index *idx, const avt_validate_config *cfg, avt_validation *rep,
                        avt_error *err);

/* Only the rules on label times against the capture (outside_capture, unattached), from the
 * file names' times: `build` runs these once it has seen every sweep. No-op with n_sweeps 0. */
int avt_validate_times(const avt_label_index *idx, const avt_validate_config *cfg, avt_validation *rep);

/* The report as text (one line per kept finding: "error unknown_key FILE: WHERE: VALUE: DETAIL",
 * then counts by rule) or as JSON (docs/schema.md "Report"). */
void avt_validation_print(const avt_validation *rep, FILE *out);
int avt_validation_write_json(const avt_validation *rep, const char *path, avt_error *err);
/* Markdown list items ("- ...\n") for the dataset card: counts by rule and the first findings
 * (at most max_lines). */
void avt_validation_markdown(const avt_validation *rep, size_t max_lines, avt_sbuf *out);

/* 3D IoU of two yaw-only boxes (center, size l/w/h, yaw about z): exact (bird's-eye polygon
 * clipping times the height overlap). 0 for disjoint boxes. */
double avt_box_iou3d(const avt_label_box *a, const avt_label_box *b);

#endif
