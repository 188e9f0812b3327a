/* avtruth sync: pairing LiDAR sweeps with camera images, camera clock estimation.
 *
 * Policies (docs/pipeline.md, "Sync"):
 *  - `trigger` (default): a camera's reference time in a sweep is the instant the LiDAR head's
 *    azimuth crosses the camera's optical axis (avt_sync_rotation_time); the image nearest to
 *    it (after the camera clock model) within a tolerance is paired, each image at most once.
 *  - `nearest`: the same with the sweep's timestamp_ns as every camera's reference time.
 *  - `approximate`: ROS message_filters ApproximateTime semantics (avt_sync_approx_*): sets
 *    of one message per stream, each message used once, sets of minimal time span among the
 *    sets contiguous to the previous one, optionally bounded by a maximum interval.
 *
 * Everything here streams: memory is bounded by the images inside one tolerance window (plus
 * a fixed-size histogram and clock sample), whatever the log's length. No global state: one
 * object per thread. */
#ifndef AVTRUTH_SYNC_H
#define AVTRUTH_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/calib.h"
#include "avtruth/ingest.h"

enum avt_sync_policy { AVT_SYNC_TRIGGER = 0, AVT_SYNC_NEAREST = 1, AVT_SYNC_APPROXIMATE = 2 };

/* "trigger", "nearest", "approximate" -> policy; AVT_INVAL for anything else. */
int avt_sync_policy_parse(const char *name, enum avt_sync_policy *out);
const char *avt_sync_policy_name(enum avt_sync_policy p);

/* When image times are moved to the LiDAR clock (docs/pipeline.md "Camera clocks"). */
enum avt_clock_correct { AVT_CLOCK_AUTO = 0, AVT_CLOCK_ON = 1, AVT_CLOCK_OFF = 2 };
/* "auto", "on", "off" -> mode; AVT_INVAL for anything else. */
int avt_clock_correct_parse(const char *name, enum avt_clock_correct *out);

/* Azimuth of the camera's optical axis in the LiDAR frame, degrees in [0, 360), clockwise from
 * +x seen from above (the Velodyne packet convention). */
double avt_sync_camera_azimuth_deg(const avt_camera *cam);

/* The head's rotation over a sweep, fitted once for all of its cameras: a least-squares line
 * of unwrapped point azimuth against point time (azimuths counted from cut_deg).
 * avt_sync_rotation_time solves it for the time at which the head points at azimuth az_deg.
 * An axis on the cut itself (a camera whose view straddles the cut) is taken at the sweep's
 * start when it lies within half a degree after the cut, at its end otherwise, so the
 * crossing is always the one inside the sweep. Sweeps with too few points, or no rotation,
 * give timestamp_ns. */
typedef struct avt_sync_rotation {
    double cut_deg, a, b; /* az_rel(t) = a + b (t - t0) in degrees and seconds */
    int64_t t0, fallback_ns;
    int ok;               /* 0: too few points or no rotation, fallback_ns is the answer */
} avt_sync_rotation;
void avt_sync_rotation_fit(const avt_sweep *s, double cut_deg, avt_sync_rotation *r);
int64_t avt_sync_rotation_time(const avt_sync_rotation *r, double az_deg);

/* ---- camera clock model ---- */

/* camera time = LiDAR time + offset_ns + drift * (LiDAR time - t_ref_ns). */
typedef struct avt_clock_model {
    int64_t t_ref_ns;
    double offset_ns;       /* at t_ref_ns */
    double drift;           /* dimensionless (1e-6 = 1 ppm) */
    double offset_sd_ns;    /* one standard error of offset_ns */
    double drift_sd;        /* one standard error of drift */
    double residual_sd_ns;  /* robust (MAD) spread of the inlier residuals: the jitter */
    size_t n_pairs;         /* pairs the fit saw */
    size_t n_inliers;       /* pairs within 4 robust sigma of the line */
    int valid;              /* 0: no estimate (too few pairs); the model is the identity */
} avt_clock_model;

int64_t avt_clock_lidar_to_camera(const avt_clock_model *m, int64_t lidar_ns);
int64_t avt_clock_camera_to_lidar(const avt_clock_model *m, int64_t camera_ns);
/* The rule of docs/pipeline.md for correcting without --clock-correct: valid, at least 20
 * inliers making at least half the pairs, and either the offset at least 1 ms and 5
 * standard errors, or the drift at least 10 ppm and 5 standard errors. */
int avt_clock_evidence_strong(const avt_clock_model *m);

/* Robust clock estimator: fed (reference time, image time) candidate pairs in time order;
 * keeps a bounded, evenly thinned sample (at most AVT_CLOCK_SAMPLE pairs: when full, every
 * other pair is dropped and the keep stride doubles). Fit: Theil-Sen-style median of slopes
 * between pairs half the sample apart, median intercept, then least squares on the inliers
 * (within 4 MAD-sigma), whose standard errors are reported. */
#define AVT_CLOCK_SAMPLE 4096
typedef struct avt_clock_estimator avt_clock_estimator;
avt_clock_estimator *avt_clock_estimator_new(void);
void avt_clock_estimator_add(avt_clock_estimator *e, int64_t ref_ns, int64_t image_ns);
/* Fits; returns AVT_OK (model->valid says whether there were enough pairs). */
int avt_clock_estimator_fit(avt_clock_estimator *e, avt_clock_model *model);
void avt_clock_estimator_free(avt_clock_estimator *e);

/* First offset guess from a set of (reference, nearest image) deltas in
 * (-half_period, half_period]: the mode of a 0.5 ms histogram, refined by the median of the
 * deltas within 3 ms of it. Returns AVT_OK, or AVT_NOTFOUND when n == 0. */
int avt_clock_offset_guess(const int64_t *delta_ns, size_t n, int64_t *offset_ns);

/* ---- streaming nearest matcher (policies trigger and nearest) ---- */

/* Pulls the next image time of one camera in stream order: returns 1 and sets *t_ns, 0 at the
 * end, negative (an AVT_ error code) on error. */
typedef int (*avt_sync_image_source)(void *ctx, int64_t *t_ns);

typedef struct avt_sync_matcher_config {
    int64_t tolerance_ns;   /* |image - predicted image time| must be <= this */
    int64_t duplicate_ns;   /* an image closer than this to the previous one is a duplicate
                               (never paired); 0 disables */
    avt_clock_model clock;  /* predicted image time = avt_clock_lidar_to_camera(ref) */
} avt_sync_matcher_config;

typedef struct avt_sync_match {
    long image;             /* index of the image in source order, -1 when unpaired */
    int64_t image_ns;       /* its time (camera clock) */
    int64_t predicted_ns;   /* reference time in the camera clock */
} avt_sync_match;

typedef struct avt_sync_matcher avt_sync_matcher;
/* The matcher pulls from src; ctx must outlive it. NULL with err filled on failure. */
avt_sync_matcher *avt_sync_matcher_new(const avt_sync_matcher_config *cfg, avt_sync_image_source src,
                                       void *ctx, avt_error *err);
/* Pairs one reference (non-decreasing between calls) with the nearest image not used before
 * and not a duplicate, within the tolerance. Returns AVT_OK or the source's error. */
int avt_sync_matcher_pair(avt_sync_matcher *m, int64_t ref_ns, avt_sync_match *out, avt_error *err);
/* Drains the source (counting the images no reference reached). */
int avt_sync_matcher_finish(avt_sync_matcher *m, avt_error *err);
typedef struct avt_sync_counts {
    uint64_t images;            /* pulled from the source */
    uint64_t paired;
    uint64_t unpaired_refs;     /* references without an image */
    uint64_t unpaired_images;   /* images never paired (duplicates included) */
    uint64_t duplicates;
    uint64_t dropped;           /* estimated missing images: sum over gaps of round(gap/period)-1 */
    uint64_t backwards;         /* references earlier than the previous one */
    size_t max_window;          /* most images held at once (memory bound) */
} avt_sync_counts;
void avt_sync_matcher_counts(const avt_sync_matcher *m, avt_sync_counts *out);
void avt_sync_matcher_free(avt_sync_matcher *m);

/* Changes the clock model used for the next references. */
void avt_sync_matcher_set_clock(avt_sync_matcher *m, const avt_clock_model *clock);

/* ---- clock tracker: offset guess, pairing and fit in one streaming pass ----
 * The first AVT_CLOCK_GUESS_REFS references are held with the images up to 1 s past them;
 * the first offset guess (avt_clock_offset_guess of each held reference's nearest-image
 * delta, or the caller's hint) seeds a matcher at the given tolerance; while pairing, the
 * predicted offset follows the pairs (a running mean of the last residuals, so a drifting
 * clock stays locked on logs of any length), and every pair feeds an avt_clock_estimator. */
#define AVT_CLOCK_GUESS_REFS 200
typedef struct avt_clock_tracker avt_clock_tracker;
avt_clock_tracker *avt_clock_tracker_new(const int64_t *offset_hint_ns, int64_t tolerance_ns,
                                         avt_sync_image_source src, void *ctx, avt_error *err);
int avt_clock_tracker_add(avt_clock_tracker *t, int64_t ref_ns, avt_error *err);
/* Fits after the last reference; *guess_ns receives the first offset guess (0 if none). */
int avt_clock_tracker_fit(avt_clock_tracker *t, avt_clock_model *m, int64_t *guess_ns, avt_error *err);
void avt_clock_tracker_free(avt_clock_tracker *t);

/* ---- sync statistics: a fixed-size histogram of deltas (memory independent of length) ---- */

#define AVT_SYNC_HIST_BINS 20000
typedef struct avt_sync_stats {
    uint64_t n;
    int64_t min_ns, max_ns;
    int64_t range_ns;       /* histogram covers [-range_ns, range_ns] */
    uint32_t *bins;         /* AVT_SYNC_HIST_BINS counts; values outside are clamped */
} avt_sync_stats;

int avt_sync_stats_init(avt_sync_stats *s, int64_t range_ns);
void avt_sync_stats_add(avt_sync_stats *s, int64_t delta_ns);
/* min/median/p95/max of the deltas (all 0 when none). Median and p95 are exact to one bin
 * (2 range_ns / AVT_SYNC_HIST_BINS) and clamped to [min, max]. p95 is of the signed deltas. */
void avt_sync_stats_summary(const avt_sync_stats *s, int64_t *min, int64_t *median, int64_t *p95, int64_t *max);
/* Writes an 8-bit grey+colour PNG bar chart of the histogram (width x height pixels, at
 * least 64 x 48): bars of the counts over [-range, range], a tick at 0 and every 1/10 of
 * the range. */
int avt_sync_stats_write_png(const avt_sync_stats *s, const char *path, unsigned width, unsigned height,
                             avt_error *err);
void avt_sync_stats_free(avt_sync_stats *s);

/* ---- approximate: ROS message_filters ApproximateTime ---- */

#define AVT_APPROX_MAX_STREAMS 16
typedef struct avt_approx_set {
    int64_t t_ns[AVT_APPROX_MAX_STREAMS];
    uint64_t seq[AVT_APPROX_MAX_STREAMS]; /* index of the message in its stream */
} avt_approx_set;
typedef void (*avt_approx_callback)(void *ctx, const avt_approx_set *set);

typedef struct avt_approx avt_approx;
/* n_streams in [2, AVT_APPROX_MAX_STREAMS]; max_interval_ns <= 0 means no bound; queue_size
 * (ROS's queue size, >= 1) bounds the messages held per stream. cb is called for every
 * published set, in order. */
avt_approx *avt_approx_new(size_t n_streams, int64_t max_interval_ns, size_t queue_size, avt_approx_callback cb,
                           void *ctx, avt_error *err);
/* Adds a message to a stream (times non-decreasing within a stream; an earlier time is
 * rejected with AVT_INVAL). */
int avt_approx_add(avt_approx *a, size_t stream, int64_t t_ns, avt_error *err);
/* Offline extension (ROS waits for more messages instead): publishes the pending candidate
 * and any set the remaining messages still prove, as if every stream had ended. */
void avt_approx_flush(avt_approx *a);
uint64_t avt_approx_dropped(const avt_approx *a, size_t stream);
void avt_approx_free(avt_approx *a);

/* ---- a build's pairing plan: the policies above over a whole log ---- */

/* One camera's pairing summary: the one struct behind /sync (attributes and the /sync/cameras
 * table), the dataset card and the build's terminal summary. */
typedef struct avt_sync_camera_summary {
    char name[64];
    const char *policy;          /* "trigger", "nearest", "approximate" (static) */
    int64_t tolerance_ns;
    int64_t clock_offset_ns;     /* estimated, camera clock - LiDAR clock, at clock_t_ref_ns */
    double clock_drift_ppm;
    uint64_t images;             /* images listed with usable times */
    uint64_t paired, unpaired_frames, unpaired_images, duplicates, dropped;
    int64_t delta_min_ns, delta_median_ns, delta_p95_ns, delta_max_ns;
    int64_t delta_max_abs_ns;    /* max(|delta_min_ns|, |delta_max_ns|) */
    double clock_offset_sd_ns;   /* standard deviations of the clock estimate */
    double clock_drift_sd_ppm;
    int clock_valid;             /* 1: a clock model was fitted */
    int clock_corrected;         /* 1: image times were moved to the LiDAR clock */
    int64_t clock_t_ref_ns;      /* LiDAR time at which clock_offset_ns holds */
    double jitter_ns;            /* residual sd of image times around the clock model */
    uint64_t bad_times;          /* images with unusable, duplicate or backward times */
    /* images left out as truncated or corrupt (avt_camera_stream.damaged, damaged_files): in
     * the build's summary and the card's findings, not in /sync */
    uint64_t damaged_images;
    char damaged_files[512];
} avt_sync_camera_summary;

/* A sweep's reference for the pairing: its time and the head's rotation over it. */
typedef struct avt_sync_ref {
    int64_t ts;
    avt_sync_rotation rot;
} avt_sync_ref;
/* A sweep's reference under a policy: the head's rotation fitted (avt_sync_rotation_fit,
 * cut at cut_deg) under trigger, so that a camera's reference time is its axis crossing;
 * under nearest and approximate no rotation, every camera's reference time the sweep's. */
avt_sync_ref avt_sync_reference(const avt_sweep *sw, enum avt_sync_policy policy, double cut_deg);

typedef struct avt_sync_plan_options {
    enum avt_sync_policy policy;
    enum avt_clock_correct clock_correct;
    int64_t tolerance_ns;
    const int64_t *clock_offset_hint_ns; /* a first guess of every camera's offset; NULL: estimated */
} avt_sync_plan_options;

/* Pass 1 (avt_sync_plan_new): every camera's reference times over all the sweeps (refs, in
 * order) through a clock tracker (offset guess, pairing, robust fit); then the decision to
 * correct (avt_clock_evidence_strong under auto), each camera's matcher and, under the
 * approximate policy, the whole log's sets at once. Pass 2 (avt_sync_plan_pair): sweep by
 * sweep. Memory: the trackers' fixed samples, under approximate an image index per sweep and
 * camera. The streams must outlive the plan. */
typedef struct avt_sync_plan avt_sync_plan;
avt_sync_plan *avt_sync_plan_new(const avt_sync_plan_options *o, const avt_camera *cams,
                                 const avt_camera_stream *const *streams, size_t n_cams, const avt_sync_ref *refs,
                                 size_t n_refs, avt_error *err);

/* Camera c's image for the frame_no-th sweep (rotation rot): image -1 if none; t_ref_ns is the
 * camera's reference time in the sweep, t_img_ns the image's time in the LiDAR clock (moved
 * there if the camera is corrected). Counts the pairing in the camera's statistics. One
 * camera's calls in sweep order; different cameras may be paired on different threads. */
typedef struct avt_sync_pairing {
    long image;
    int64_t t_ref_ns, t_img_ns;
} avt_sync_pairing;
int avt_sync_plan_pair(avt_sync_plan *p, size_t c, uint64_t frame_no, const avt_sync_rotation *rot,
                       avt_sync_pairing *out, avt_error *err);

/* After the last sweep: camera c's pairing counts, time differences and clock (its offset at
 * the first frame's reference time first_ts) into s (the other fields are left as they are). */
int avt_sync_plan_summary(avt_sync_plan *p, size_t c, int64_t first_ts, avt_sync_camera_summary *s,
                          avt_error *err);
/* Camera c's histogram of image-minus-reference times as a PNG (avt_sync_stats_write_png). */
int avt_sync_plan_histogram_png(const avt_sync_plan *p, size_t c, const char *path, avt_error *err);
void avt_sync_plan_free(avt_sync_plan *p);

#endif
