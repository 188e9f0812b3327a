/* avtruth project: camera models (OpenCV pinhole + distortion of 4/5/8/12/14 coefficients,
 * OpenCV fisheye / Kannala-Brandt), point projection and exact 2D boxes of 3D boxes.
 *
 * Conventions: camera frame with OpenCV axes (x right, y down, z forward); pixel centres at
 * integer coordinates (OpenCV), so the image spans [-0.5, W-0.5]; 2D boxes are clipped to
 * [0, W-1] x [0, H-1] like KITTI's annotations. All functions are pure and thread-safe. */
#ifndef AVTRUTH_PROJECT_H
#define AVTRUTH_PROJECT_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/calib.h"
#include "avtruth/common.h"
#include "avtruth/geom.h"

/* A camera prepared for projection. A point is valid when it lies in front of the camera and
 * inside the region where the distortion is monotonic (radius r2_max of the normalised
 * undistorted coordinates, or angle theta_max for fisheye); points outside are never wrapped
 * back into the image. */
typedef struct avt_cam_model {
    int model;               /* enum avt_camera_model */
    double fx, fy, cx, cy, skew;
    double k[6], p[2], s[4]; /* radtan: k1..k6, p1 p2, thin prism s1..s4 */
    double tilt[9];          /* tilted-sensor projection matrix (identity when tau = 0) */
    int has_tilt, rational;
    double r2_max;           /* pinhole: largest valid x'^2 + y'^2 */
    double theta_max;        /* fisheye: largest valid angle from the optical axis (rad) */
    double view[4];          /* pinhole: x'/z' in [view0, view1], y'/z' in [view2, view3] holds
                              * for every point that can land in the image (with a margin) */
    double corner_ray[4][3]; /* avt_cam_unproject of the corner pixels (0,0) (W-1,0) (0,H-1) (W-1,H-1) */
    int corner_ok[4];
    unsigned width, height;
    int simd;                /* enum avt_cam_simd: instruction set of the batch projections */
} avt_cam_model;

/* Instruction sets of the vectorised batch projection (x86-64; elsewhere only the baseline). */
enum avt_cam_simd { AVT_SIMD_BASELINE = 0, AVT_SIMD_AVX2 = 1 };

/* The best level the running CPU supports; avt_cam_model_init stores it in m->simd. Lowering
 * m->simd (tests, benchmarks) selects the baseline code; both levels give identical results. */
int avt_cam_simd_best(void);

/* Prepares m from a calibrated camera; fails on an unsupported model/coefficient count. */
int avt_cam_model_init(avt_cam_model *m, const avt_camera *cam, avt_error *err);

/* Projects a point in camera coordinates; returns 1 and sets uv when valid, 0 otherwise. */
int avt_cam_project(const avt_cam_model *m, const double p_cam[3], double uv[2]);

/* Inverse: pixel -> unit-z ray (x, y, 1) in camera coordinates; returns 1 when the pixel has a
 * valid preimage inside the monotonic region (Newton iteration, verified by re-projection). */
int avt_cam_unproject(const avt_cam_model *m, const double uv[2], double ray[3]);

/* Projects n points given in a source frame through cam_T_src. Writes uv (2n), depth (n,
 * the camera z) and valid (n, 1 when valid and inside the image). OpenMP-parallel. */
void avt_cam_project_points(const avt_cam_model *m, const avt_tf *cam_T_src, const float *xyz,
                            size_t n, float *uv, float *depth, uint8_t *valid);
/* Does the convex hull of the 8 points c (source frame) lie wholly behind the camera or beside
 * its view bounds, so that none of its points can be valid? NaN coordinates say no. */
int avt_cam_hull_outside(const avt_cam_model *m, const avt_tf *cam_T_src, const double c[8][3]);

/* As avt_cam_project_points, for callers that use only the valid points: valid is the same,
 * uv and depth are the same for every valid point and may be left unwritten for the others.
 * With blocks (of these xyz, or NULL), a block whose box lies wholly behind the camera or
 * beside the image's view bounds (avt_cam_model.view) is skipped: a LiDAR sweep, ordered by
 * azimuth, seen by a camera with a narrow field of view is mostly skipped. block_on (one flag
 * per AVT_POINT_BLOCK points, or NULL): the blocks with a 0 are skipped too, their points
 * invalid (the caller's own culling, e.g. by time). */
void avt_cam_project_visible(const avt_cam_model *m, const avt_tf *cam_T_src, const float *xyz,
                             size_t n, const avt_point_blocks *blocks, const uint8_t *block_on, float *uv,
                             float *depth, uint8_t *valid);
/* The same with structure-of-arrays inputs and outputs (x, y, z; u, v). Invalid points (behind
 * the camera or outside the monotonic region) get u = v = NaN. For pinhole cameras with at most
 * 5 coefficients both run a branch-free vectorised loop (instruction set m->simd); validity is
 * decided exactly as by avt_cam_project and pixels agree with it within 1e-4 px. Thread-safe. */
void avt_cam_project_points_soa(const avt_cam_model *m, const avt_tf *cam_T_src, const float *x, const float *y,
                                const float *z, size_t n, float *u, float *v, float *depth, uint8_t *valid);

/* Writes a sparse depth map as a KITTI depth-completion PNG: w x h, 16-bit grey, value = depth
 * (m) x 256 rounded, 0 = no measurement. Each sample (uv[2i], uv[2i+1], depth[i]) lands on the
 * pixel nearest to uv (pixel centres at integers); where several land on one pixel the nearest
 * (smallest depth) wins. Samples outside the image, with depth <= 0 or NaN, or beyond 255.99 m
 * are skipped. Thread-safe (writes only path). */
int avt_depth_png_write(const char *path, unsigned w, unsigned h, const float *uv, const float *depth, size_t n,
                        avt_error *err);

/* An oriented box: centre, size (length along its x axis, width y, height z) and rotation
 * src_R_box (row-major 3x3), in some source frame. */
typedef struct avt_obox {
    double center[3], size[3], R[9];
} avt_obox;

/* The 8 corners of a box, ordered: bit 0 of the index -> +x/-x half-length, bit 1 -> y,
 * bit 2 -> z (index 0 = (-l/2,-w/2,-h/2)). */
void avt_obox_corners(const avt_obox *b, double corners[8][3]);

/* Result of projecting a box into a camera. */
typedef struct avt_box_projection {
    int visible;         /* some part of the box is visible inside the image */
    double xyxy[4];      /* extent of the silhouette inside the image, clipped to [0,W-1]x[0,H-1] */
    double extent[4];    /* extent of the whole projected silhouette (not clipped to the image) */
    double truncation;   /* 1 - area(xyxy) / area(extent), 0..1 */
    double corners[8][2];/* projected corners, NaN when a corner is not valid (behind) */
} avt_box_projection;

/* Projects box (given in the frame src) into the camera: the 12 edges are clipped to the
 * valid region (in front of the camera, inside the monotonic cone), the clipped edges are
 * projected densely enough that the extent is exact to 0.05 px under distortion, and image
 * corners covered by the box are found by casting their rays. Returns 1 if visible. */
int avt_box_project(const avt_cam_model *m, const avt_tf *cam_T_src, const avt_obox *box,
                    avt_box_projection *out);

/* Ray (origin o, direction d) against an oriented box; returns 1 and the entry distance t >= 0
 * (0 if o is inside) when it hits. */
int avt_obox_ray_hit(const avt_obox *b, const double o[3], const double d[3], double *t);

/* Which projected 3D boxes get a 2D box in a camera (avt_build_options.box_visibility):
 * ANY: some part of the silhouette is inside the image; ALL: all 8 corners in front of the
 * camera and inside the image; NONE: every box with some part in front of the camera, its
 * xyxy NaN when nothing of it is inside the image. */
enum avt_box_visibility { AVT_BOXVIS_ANY = 0, AVT_BOXVIS_ALL = 1, AVT_BOXVIS_NONE = 2 };
/* "any", "all", "none" -> policy; AVT_INVAL for anything else. */
int avt_box_visibility_parse(const char *name, enum avt_box_visibility *out);
const char *avt_box_visibility_name(enum avt_box_visibility v);

/* The oriented box of a pose src_T_box (rotation and centre) and a size. */
avt_obox avt_obox_from_tf(const avt_tf *src_T_box, const double size[3]);
/* Projects box (avt_box_project) and applies the policy: returns 1 when the box gets a 2D
 * box, with bp filled (policy NONE: xyxy NaN and truncation 1 for a box not in the image). */
int avt_box_include(const avt_cam_model *m, const avt_tf *cam_T_src, const avt_obox *box,
                    enum avt_box_visibility policy, avt_box_projection *bp);

/* Occlusion by a coarse depth buffer: the nearest depth per AVT_DEPTH_CELL x AVT_DEPTH_CELL
 * pixel cell of the points added; a point is visible unless one more than AVT_DEPTH_HIDE_M
 * nearer fell into its cell. Positions must be valid pixels (avt_cam_project_points). One
 * grid per camera and thread. */
#define AVT_DEPTH_CELL 4
#define AVT_DEPTH_HIDE_M 0.5f
typedef struct avt_depth_grid {
    unsigned gw, gh;
    float *cell_min;
} avt_depth_grid;
int avt_depth_grid_init(avt_depth_grid *g, unsigned width, unsigned height); /* AVT_NOMEM */
void avt_depth_grid_clear(avt_depth_grid *g);
void avt_depth_grid_free(avt_depth_grid *g);
/* The cell of a valid pixel position (in [-0.5, W-0.5) x [-0.5, H-0.5) before the float
 * rounding of the stored position, hence the clamp). Inline, with add and visible: the
 * cameras call them for every depth sample. */
static inline size_t avt_depth_grid_cell(const avt_depth_grid *g, const float uv[2])
{
    size_t cu = (size_t)((uv[0] + 0.5f) / AVT_DEPTH_CELL), cv = (size_t)((uv[1] + 0.5f) / AVT_DEPTH_CELL);
    return (cv < g->gh ? cv : g->gh - 1) * g->gw + (cu < g->gw ? cu : g->gw - 1);
}
static inline void avt_depth_grid_add(avt_depth_grid *g, const float uv[2], float depth)
{
    float *c = &g->cell_min[avt_depth_grid_cell(g, uv)];
    *c = depth < *c ? depth : *c; /* a select, not a branch: which way it goes is random */
}
static inline int avt_depth_grid_visible(const avt_depth_grid *g, const float uv[2], float depth)
{
    return depth <= g->cell_min[avt_depth_grid_cell(g, uv)] + AVT_DEPTH_HIDE_M;
}

/* ---- a camera's view of a frame (project/view.c) ---- */

/* The points of a sweep a camera sees: one rotation centred on the camera's reference time
 * t_cam, t_cam - hp < t <= t_cam + hp for a rotation period of 2 hp, on the points' int32
 * offsets from their sweep's time sweep_ts (bounds clamped to that range, so that the masks
 * vectorize without 64-bit compares). kind 0: no window (hp = 0, the period is not known
 * before a complete sweep): every point; -1: no point. */
typedef struct avt_time_window {
    int kind; /* 0: every point, 1: offsets in [lo, hi], -1: none */
    int32_t lo, hi;
} avt_time_window;
avt_time_window avt_time_window_of(int64_t half_period_ns, int64_t sweep_ts, int64_t t_cam);
/* The windows' inputs: the points' times t_ns as int32 offsets from their sweep's time ref_ns
 * (tdelta, n) and each block's range of them (trange, one per AVT_POINT_BLOCK points).
 * Returns n, or the index of the first point whose offset does not fit in int32 (trange is
 * then not written). */
size_t avt_time_offsets(const int64_t *t_ns, size_t n, int64_t ref_ns, int32_t *tdelta, int32_t (*trange)[2]);
/* Clears valid[i] (i < n) for the points whose offset tdelta[i] is outside w (trange: each
 * block's range of tdelta, as avt_time_offsets gives it; only blocks that cross a bound of w
 * are read point by point). */
void avt_time_window_mask(avt_time_window w, const int32_t *tdelta, const int32_t (*trange)[2], size_t n,
                          uint8_t *valid);
/* The blocks (AVT_POINT_BLOCK points of n, trange[j] their offsets' range) with a point in w:
 * on[] filled and returned (the block_on of avt_cam_project_visible), or NULL for every block. */
const uint8_t *avt_time_window_blocks(avt_time_window w, const int32_t (*trange)[2], size_t n, uint8_t *on);

/* The next i >= from with valid[i] set, or n: eight flags at a time through the runs of
 * invalid points (most of a sweep is outside any one camera's view). */
size_t avt_valid_next(const uint8_t *valid, size_t from, size_t n);

/* The valid points of a projection (uv, depth, valid of n points) as depth samples: appended
 * to out_uv / out_depth after the nd already there, and added to the grid. Returns the new
 * count. */
size_t avt_depth_samples_add(avt_depth_grid *g, const float *uv, const float *depth, const uint8_t *valid, size_t n,
                             float *out_uv, float *out_depth, size_t nd);
/* Each box's points in the image: for b < nb, in_img[b] valid points with box[i] == b (box[i]
 * < 0: none), vis[b] of them not hidden in the grid (avt_depth_grid_visible). */
void avt_depth_box_points(const avt_depth_grid *g, const float *uv, const float *depth, const uint8_t *valid,
                          const int32_t *box, size_t n, size_t nb, uint32_t *in_img, uint32_t *vis);

#endif
