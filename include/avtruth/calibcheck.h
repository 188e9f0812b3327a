/* avtruth calibcheck: LiDAR-camera extrinsic calibration check after Levinson & Thrun,
 * "Automatic Online Calibration of Cameras and Lasers", RSS 2013 (docs/calibration-check.md).
 *
 * Image side: the edge map E (each pixel's largest absolute grey difference to its 8
 * neighbours, scaled to [0, 1]) after the paper's inverse distance transform
 *   D(p) = alpha E(p) + (1 - alpha) max_q E(q) gamma^(max(|p.u - q.u|, |p.v - q.v|))
 * with alpha = 1/3 and gamma = 0.98. LiDAR side: depth discontinuities along each ring,
 *   X_i = max(r_{i-1} - r_i, r_{i+1} - r_i, 0)^(1/2)
 * kept where the jump is at least AVT_CC_MIN_JUMP_M. The score of a calibration is the sum over
 * frames of X_i D(projection of point i) (bilinear in D).
 *
 * Error convention: stored lidar_T_cam = E * true lidar_T_cam, where
 *   E = Trans(x, y, z) Rz(yaw) Ry(pitch) Rx(roll)
 * rotates about the LiDAR axes and translates in the LiDAR frame. A candidate E projects LiDAR
 * point p by cam_T_lidar = stored^-1 E, so the candidate equal to the real error scores best.
 * All functions are thread-safe; the search runs OpenMP-parallel over candidates. */
#ifndef AVTRUTH_CALIBCHECK_H
#define AVTRUTH_CALIBCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"
#include "avtruth/geom.h"
#include "avtruth/project.h"

#define AVT_CC_ALPHA (1.0 / 3.0)
#define AVT_CC_GAMMA 0.98
#define AVT_CC_MIN_JUMP_M 0.3
#define AVT_CC_MIN_JUMP_REL 0.05
/* ... and 2 (1 - r_i / r_ab) at least this, 1 / r_ab interpolated in angle from r_a and r_b
 * (2 - r_i / r_a - r_i / r_b for even steps; 1 - r_i / r_far for a jump from a surface; about
 * the square of the beam step, 1e-4, on any plane) */
#define AVT_CC_MIN_INV_JUMP 0.02
#define AVT_CC_SKY_MAX_RANGE_M 40.0
/* Returns along a ring farther apart than this angle are not neighbours. */
#define AVT_CC_MAX_RING_GAP_DEG 0.6 /* the same across rings (their fitted elevations) */
#define AVT_CC_MAX_GAP_DEG 1.5
/* Along a ring, the edge point's range is the near surface's extrapolated half a step on, by at
 * most this share of the jump (avt_cc_discontinuities) */
#define AVT_CC_MAX_EXTEND 0.25
/* A jump counts at most this much (one very far background must not outweigh many edges). */
#define AVT_CC_MAX_JUMP_M 10.0
/* The rotation either side of a sweep's cut in which the rings are not compared (more than
 * the spread of a Velodyne's laser azimuth offsets: VLS-128 +-6.35 deg) */
#define AVT_CC_CUT_MARGIN_DEG 20.0

/* Error parameters, in this order: roll, pitch, yaw (rad), x, y, z (m). */
enum { AVT_CC_ROLL, AVT_CC_PITCH, AVT_CC_YAW, AVT_CC_X, AVT_CC_Y, AVT_CC_Z, AVT_CC_NPARAM };

/* E of the convention above from its six parameters, and back (|pitch| < 90 deg). */
avt_tf avt_cc_error_tf(const double e[AVT_CC_NPARAM]);
void avt_cc_error_params(const avt_tf *E, double e[AVT_CC_NPARAM]);

/* The inverse-distance-transformed edge map D of a w x h grey image (row-major) into d (w h
 * floats, caller-owned) and, when d_along is not NULL, D normalised along the rows into
 * d_along: D / max(AVT_CC_ALONG_FLOOR, the largest D within AVT_CC_ALONG_RADIUS_PX in the
 * row), times the mean of that divisor over the image (values of D's size, in [0, 1]), scored
 * by the discontinuities along a ring (a front camera's vertical edges). An object's side is
 * then as strong an edge where its contrast with the background is weak as where it is
 * strong: points on it gain nothing by sliding along it (towards the sky's contrast, which
 * pulled pitch by up to a degree where the rings are too far apart for edges across them),
 * while its ends still hold them. Returns the share of pixels whose edge value E is at least
 * 0.1 (used to tell a featureless image). OpenMP-parallel over rows. */
#define AVT_CC_ALONG_RADIUS_PX 32
#define AVT_CC_ALONG_FLOOR 0.1f
double avt_cc_edge_map(const uint8_t *grey, unsigned w, unsigned h, float *d, float *d_along);

/* Depth discontinuities of n points (xyz 3n, LiDAR frame, in firing order) with their rings.
 * Points are grouped by ring keeping their order (azimuth order within a ring); point-cloud
 * files without rings (all equal) are cut into scan lines where the azimuth jumps by more than
 * half a turn (KITTI). Each ring's beam is fitted to its returns as a cone z = origin_z +
 * h tan(elevation), h the horizontal distance (a laser's origin may lie off the LiDAR's: the
 * HDL-64E's by about 0.2 m, which makes a return 10 m away look 1.1 deg higher than its beam;
 * a ring whose returns do not tell the origin (fewer than 20, spread less than 1 m in h, or an
 * origin beyond 1 m) takes the origin of the fitted ring nearest in apparent elevation, 0
 * without any, and its mean elevation seen from there), and the rings with returns are ordered
 * by that elevation. For each return i, two triples are
 * tested: its neighbours along the ring (both within AVT_CC_MAX_GAP_DEG), and the returns of
 * the rings below and above nearest in azimuth (within 0.3 deg) when those rings lie within
 * AVT_CC_MAX_RING_GAP_DEG in elevation. A triple (a, i, b) keeps i
 * when the range's second difference r_a + r_b - 2 r_i is at least AVT_CC_MIN_JUMP_M and
 * AVT_CC_MIN_JUMP_REL r_i (the paper's max(r_a - r_i, r_b - r_i, 0) also fires all along
 * surfaces seen at a grazing angle, and the ground's range is convex in elevation) and
 * 2 (1 - r_i / r_ab) at least AVT_CC_MIN_INV_JUMP, 1 / r_ab the inverse range interpolated
 * linearly in the beams' angle from a and b (for even steps 2 - r_i / r_a - r_i / r_b; the
 * inverse range of a plane is nearly linear in the beam's angle at any incidence: the far
 * ground is not an edge), with
 * weight X = min(that, AVT_CC_MAX_JUMP_M)^(1/2); its edge point lies half-way in angle
 * between i and the farther of a, b (the edge lies between the two beams): along a ring on the
 * near surface, at the range extrapolated linearly in angle from the nearer of a, b through i
 * (when the nearer lies on i's surface: its range within the jump limits of i's)
 * (changed by at most AVT_CC_MAX_EXTEND of the jump to the farther; on a side seen at a
 * grazing angle the range changes fast, and a point misplaced along the LiDAR's beam appears
 * shifted sideways to a camera mounted elsewhere); across rings the angles are those of the
 * two beams seen from their fitted origins, at i's distance from its origin (the near surface
 * there is often a roof seen at a grazing angle, where range is far from linear in angle). A
 * return within AVT_CC_SKY_MAX_RANGE_M with a ring below but no return of the ring above near
 * its azimuth is an edge against the sky (weight of the largest jump, half-way up to that
 * ring's beam), unless, with the firing times t_ns, that azimuth lies where the ring above has
 * no data: from one of its returns to the next in time, in the direction the head turns, where
 * they are at least one and a half median firing steps apart and no point of the sweep fired
 * in between (a lost packet, whose sector differs from ring to ring where the beams fire at
 * staggered azimuths; the rest of the turn outside an azimuth window). half_gap (may be NULL) gets, per entry, half the mean gap in elevation between
 * the ring of return i and its neighbouring rings (rad; NaN for a ring without neighbours): how
 * far off in elevation an edge that ring sees may lie (avt_cc_displacement). Near the sweep's
 * cut the rings' neighbours at one azimuth are not of one instant (a laser's azimuth offset
 * puts its return there in the neighbouring sweep, or a whole turn earlier): with the firing
 * times t_ns (may be NULL), a return fired within cut_margin_ns of the sweep's first or last
 * firing is not tested against the rings below and above. Writes
 * up to 2n entries: the kept returns' indices (idx), weights and edge points (edge_xyz, 3
 * each) and, when kind is not NULL, whether each lies along a ring or across the rings (the sky
 * included); *n_out their count. AVT_OK or AVT_NOMEM. */
enum { AVT_CC_ALONG_RING, AVT_CC_ACROSS_RINGS };
int avt_cc_discontinuities(const float *xyz, const uint16_t *ring, const int64_t *t_ns, int64_t cut_margin_ns,
                           size_t n, uint32_t *idx, float *weight, float *edge_xyz, float *half_gap, uint8_t *kind,
                           size_t *n_out, avt_error *err);

/* A frame's map (D or the map along the rows, both in [0, 1]) is kept as 16-bit fixed point,
 * AVT_CC_DMAP_ONE for 1: a check keeps up to max_frames frames of two maps the image's size
 * (1280 x 800: 4 MB a frame, 8 MB as floats). avt_cc_dmap_quantise rounds n values of d into
 * q (clamped to [0, 1]); a step is 1.5e-5, far below the maps' own precision. */
#define AVT_CC_DMAP_ONE 65535.0f
void avt_cc_dmap_quantise(const float *d, size_t n, uint16_t *q);

/* One frame of one camera prepared for scoring: the discontinuity points (structure of arrays,
 * LiDAR frame at the image's time) and the image's map, quantised; half_gap (may be NULL)
 * avt_cc_discontinuities' half ring gap of each point; along_rings: the points are edges along
 * a ring (avt_cc_displacement). Arrays borrowed. */
typedef struct avt_cc_frame {
    const float *x, *y, *z, *w;
    size_t n;
    const uint16_t *dmap;
    unsigned width, height;
    const float *half_gap;
    int along_rings;
} avt_cc_frame;

/* Per-thread buffers for projections (u, v, depth, valid of the largest frame). */
typedef struct avt_cc_scratch {
    float *u, *v, *depth;
    uint8_t *valid;
    size_t cap;
} avt_cc_scratch;
int avt_cc_scratch_reserve(avt_cc_scratch *s, size_t n, avt_error *err);
void avt_cc_scratch_free(avt_cc_scratch *s);

/* Score of the calibration stored^-1 E (E from e) over nf frames; *n_in (may be NULL) gets the
 * number of points that project inside the images. Not parallel itself (callers parallelise
 * over candidates). */
double avt_cc_score(const avt_cam_model *m, const avt_tf *lidar_T_cam, const double e[AVT_CC_NPARAM],
                    const avt_cc_frame *f, size_t nf, avt_cc_scratch *s, size_t *n_in);

/* The jackknife's most bands, and its significance when every band agrees to 1e-6 */
#define AVT_CC_MAX_BANDS 255
#define AVT_CC_MAX_SIGNIFICANCE 1e6

/* The wide probes of a parameter's drop, in grid steps (see avt_cc_estimate breadth). */
#define AVT_CC_WIDE_PROBE 4.0

typedef struct avt_cc_options {
    double rot_step_deg;    /* coarsest search step of the angles, default 0.2 */
    double trans_step_m;    /* coarsest search step of the translations, default 0.04 */
    int levels;             /* step halvings after the coarsest, default 3 (0.025 deg, 5 mm) */
    double max_rot_deg;     /* the search stays within this error, default 3 */
    double max_trans_m;     /* default 0.5 */
    /* Grid of the paper's confidence F: the 3^6 - 1 = 728 calibrations at +-grid step of each
     * parameter around a calibration; default 0.1 deg and 0.02 m; grid 0: not computed. */
    int grid;
    double grid_rot_deg, grid_trans_m;
    /* An angle whose sharpness (after the search of the rotations) is below min_sharpness
     * (default 0.004) and whose breadth is below min_breadth (default 0.008) is not observed:
     * it is held at 0 while the others are searched together (it would wander with noise). A
     * shift is searched, then judged by its breadth at the estimate (its probes are parallax
     * moves, which leave the points at the typical depth in place): below min_breadth it is
     * set to 0 and the rest searched again. */
    double min_sharpness, min_breadth;
    /* avt_cc_jackknife's bands of image columns (default 8; at most AVT_CC_MAX_BANDS are used;
     * below 2: none) */
    int jackknife_bands;
    /* With less than this share of the weight in edges across the rings (avt_cc_estimate
     * across_share; default 0.05; none on LiDARs whose rings lie more than
     * AVT_CC_MAX_RING_GAP_DEG apart), the parameters that move the points more across the rings
     * than along them (by a grid step, avt_cc_displacement) are held at 0: the points along a
     * ring would slide along their vertical edges, towards the rows where the map along the
     * rows favours them (a VLP-16's side camera drifted 2.3 deg that way). */
    double min_across_share;
} avt_cc_options;
void avt_cc_options_default(avt_cc_options *o);

typedef struct avt_cc_estimate {
    double error[AVT_CC_NPARAM]; /* the best-scoring E: roll, pitch, yaw (rad), x, y, z (m) */
    double score_stored;         /* score of the stored calibration (E = identity) */
    double score_best;           /* score of error[] */
    /* Paper's F: share of the 728 grid neighbours scoring below the stored calibration, and
     * below the estimate (NaN when options grid = 0). */
    double f_stored, f_best;
    /* Peak sharpness per parameter: 1 - mean(score at +-probe) / score_best, probes 0.1 deg /
     * 2 cm (the grid steps) from the estimate; near 0 where the score does not see a parameter. */
    double sharpness[AVT_CC_NPARAM];
    /* The same drop at probes AVT_CC_WIDE_PROBE times as far (0.4 deg / 8 cm): a broad peak. */
    double breadth[AVT_CC_NPARAM];
    /* angles: sharpness >= min_sharpness or breadth >= min_breadth after the rotations' search;
     * shifts: breadth >= min_breadth at the first joint estimate (sharpness and breadth above
     * are those of the final estimate, which may differ) */
    int observed[AVT_CC_NPARAM];
    size_t points;               /* discontinuity points inside the images, stored calibration */
    /* The weight share of the discontinuities across the rings (frames not along_rings, the
     * sky's included) among all the frames' points; NaN without points. Below the options'
     * min_across_share a parameter that moves the points more across the rings than along
     * them is not searched (observed 0): nothing else places the points across the rings. */
    double across_share;
    int evaluations;             /* scores computed */
    /* an observed parameter ended at the search's bound (options max_rot_deg, max_trans_m):
     * the score has no peak within it */
    int at_bound;
    /* Jackknife standard error of each parameter (rad, m): sqrt((K-1)/K sum (e_b - mean)^2)
     * over the K band-left-out estimates (avt_cc_jackknife); 0 for parameters not observed;
     * NaN without the jackknife. */
    double sd[AVT_CC_NPARAM];
    /* How well the correction holds up: the points' displacement under each band-left-out
     * estimate, as a share of the displacement under the whole view's (1 for that one; 0 when
     * the rest of the view scores that estimate no better than the stored calibration), and
     * 1 over that share's jackknife standard error, over the bands with points (at most
     * AVT_CC_MAX_SIGNIFICANCE); 0 without a correction or with fewer than two bands with
     * points, NaN without the jackknife. A share of the displacement, not the parameters:
     * where two parameters move the points alike (a shift and a turn at one depth) the band
     * estimates wander along that ridge, which the parameters' sd shows and the displacement
     * does not. */
    double significance;
    /* The effective number of bands the jackknife had (Kish: (sum of the bands' weights)^2 /
     * sum of their squares; 8 when 8 bands hold equal weight, about 1.7 when one holds three
     * quarters of it): the significance is judged as a Student's t with bands - 1 degrees of
     * freedom (avt_cc_significance_needed). NaN without the jackknife. */
    double bands;
    /* How the correction moves the discontinuity points as the LiDAR sees them
     * (avt_cc_displacement), weighted by the points' weights: the means across the rings
     * (|change of elevation|, rad), along them (|change of azimuth| cos elevation, rad) and
     * across them in half ring gaps (|change of elevation| / half_gap), and the share of the
     * points moved across the rings by at least their tolerance (avt_cc_displacement); NaN
     * when not computed. */
    double across_rad, along_rad, across_gaps, beyond_tol;
    /* The estimate's gain over the stored calibration counting only the points both put inside
     * the image, relative to score_stored (avt_cc_common_gain); NaN when not computed or when
     * score_stored is 0. */
    double common_gain;
    /* The part of common_gain that the discontinuities across the rings (frames not
     * along_rings, the sky's included) give, relative to score_stored: the only points that
     * place the calibration across the rings (avt_cc_common_gain); NaN when not computed. */
    double across_gain;
} avt_cc_estimate;

/* An estimate before any search: zeros, and NaN for what is computed later (sd, significance,
 * the displacement). */
void avt_cc_estimate_clear(avt_cc_estimate *e);

/* Coarse-to-fine search for the E maximising the score over nf frames of one camera: at each
 * step size the 12 axis neighbours and a combined step (per-parameter parabola) are scored in
 * parallel and the best taken, until none improves; then the step halves. The rotations are
 * searched first, then the observed angles and the three shifts from the second level on
 * (shifts as parallax moves: the shift with the turn that keeps points at the typical depth
 * in place), then again without the shifts the score does not see (options min_breadth).
 * AVT_OK, AVT_NOMEM, or AVT_INVAL (no frame). */
int avt_cc_search(const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f, size_t nf,
                  const avt_cc_options *o, avt_cc_estimate *out, avt_error *err);

/* The jackknife of est (avt_cc_search's over the same frames) over o->jackknife_bands bands of
 * image columns: the discontinuities the stored calibration projects into one band (about one
 * object's share of the view) are left out in turn and the observed parameters searched again
 * from est's (from the second step size on); fills est's sd and significance (NaN with fewer
 * than 2 bands). Where the rings are far apart an object's top lies anywhere between two
 * beams, and with a handful of objects in view their placement errors do not average out:
 * a correction a few objects ask for does not hold when they are left out. Costs a few
 * searches: callers run it when the estimate would otherwise be judged miscalibrated.
 * AVT_OK or AVT_NOMEM. */
int avt_cc_jackknife(const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f, size_t nf,
                     const avt_cc_options *o, avt_cc_estimate *est, avt_error *err);

/* Fills est's across_rad, along_rad, across_gaps and beyond_tol for its error over nf frames,
 * over the points with a finite half gap (NaN when there are none or they have no weight). A
 * point p moves to E p under the estimate E (the candidate stored^-1 E projects p where the
 * stored calibration projects E p). A point's tolerance across the rings is its half gap for an
 * edge across the rings (placed half-way between two beams) and the whole gap for an edge along
 * a ring (frame along_rings: the point lies on its beam, but it holds the calibration across
 * the rings only where its vertical edge ends, anywhere up to the next beam). */
void avt_cc_displacement(const avt_cc_frame *f, size_t nf, avt_cc_estimate *est);

/* Fills est's common_gain (its score_stored set, as avt_cc_search leaves it): the score of its
 * error less that of the stored calibration, both over the points of the nf frames that both
 * project inside the image, over score_stored; the same base as the plain gain. across_gain:
 * the same sum over the frames of edges across the rings only (not along_rings). The search's
 * score counts every point that lands in the image, so a correction can gain by bringing points
 * in from the frames' margin beyond it: sliding the points along an edge that leaves the image
 * brings its part beyond the border onto the edge's image. AVT_OK or AVT_NOMEM. */
int avt_cc_common_gain(const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f, size_t nf,
                       avt_cc_estimate *est, avt_error *err);

/* ---- judgement ---- */
enum avt_cc_status { AVT_CC_ALIGNED = 0, AVT_CC_MISCALIBRATED = 1, AVT_CC_UNDETERMINED = 2 };
const char *avt_cc_status_name(int status);

typedef struct avt_cc_thresholds {
    double rot_deg;         /* an angle error at least this is a miscalibration, default 0.15 */
    double trans_m;         /* a translation error at least this, default 0.03 */
    size_t min_points;      /* fewer discontinuity points in view: undetermined, default 200 */
    /* the estimate must score this much more than the stored calibration (relative) for a
     * miscalibration: below it the difference is within the score's noise, default 0.01 */
    double min_gain;
    /* a correction counts only when its significance (avt_cc_estimate) reaches Student's t's
     * two-sided critical value at this level with the jackknife's effective bands - 1 degrees
     * of freedom (avt_cc_significance_needed), default 0.02: 3.0 for 8 bands of equal weight,
     * 7.0 for 3, 31.8 for 2. Two-sided because the significance is |share| over its standard
     * error (each share is measured along the whole view's own correction) */
    double level;
    /* a correction that moves the points more across the rings than along them must move at
     * least this share of them (by weight) across by their tolerance or more (avt_cc_estimate
     * beyond_tol, avt_cc_displacement), default 0.1: within it the edges' places between the
     * beams are not known */
    double min_beyond_tol;
} avt_cc_thresholds;
void avt_cc_thresholds_default(avt_cc_thresholds *t);

/* The significance e needs for a miscalibration: Student's t's upper t->level / 2 quantile
 * with e->bands - 1 degrees of freedom (GSL's gsl_cdf_tdist_Qinv); INFINITY with fewer than two
 * effective bands (nothing to tell a correction from chance by); NaN without the jackknife
 * (bands NaN) or with a level outside (0, 1), which avt_cc_judge takes as not significant. */
double avt_cc_significance_needed(const avt_cc_estimate *e, const avt_cc_thresholds *t);

/* Status of an estimate: undetermined with too few points, no observed parameter or an
 * estimate at the search's bound (at_bound); else
 * miscalibrated when the estimate scores at least min_gain more than the stored calibration
 * and an observed parameter's error reaches its threshold, or scores at least 2 min_gain more
 * whatever the parameters (a sideways shift the score cannot tell from a turn shows as two
 * errors each below its threshold), and the same over the points both put inside the image
 * (common_gain, not asked when NaN), in either case with the significance
 * avt_cc_significance_needed asks for (not asked without the jackknife: significance NaN);
 * undetermined when it would be miscalibrated but the correction is not that significant (the
 * data cannot tell whether the calibration is off), or when it moves the points more across
 * the rings than along them (across_rad >= along_rad) and fewer than min_beyond_tol of them by
 * their tolerance or more (beyond_tol; not asked when NaN): the LiDAR cannot tell that from
 * where edges lie between its beams, or when it so moves them and the edges across the rings
 * gain nothing from it (across_gain 0 or less; not asked when NaN): only those place the points
 * across the rings; else aligned. */
int avt_cc_judge(const avt_cc_estimate *e, const avt_cc_thresholds *t);

#endif
