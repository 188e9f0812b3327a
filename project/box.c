/* avtruth project: exact 2D boxes of 3D boxes under lens distortion.
 *
 * The 2D box is the bounding box of the box's silhouette inside the image. The silhouette of a
 * convex box is bounded by projected box edges, so the bounding box of (silhouette ∩ image)
 * is attained at (a) points of projected edges inside the image, (b) crossings of projected
 * edges with the image border, or (c) image corners covered by the box. We
 *  1. clip each of the 12 edges to the valid cone of the camera (in front of it and inside the
 *     region where the distortion is monotonic) — never dropping corners behind the camera;
 *  2. subdivide each clipped edge until every piece projects to a chord of at most 0.5 px or
 *     (after two halvings) its middle projects within 1e-3 px of the chord's middle (the curve
 *     then deviates from its chord by less than about that), clip the chords to the image and
 *     take their extent (a, b);
 *  3. cast the rays of the four image corners against the box (c). */
#include <math.h>
#include <string.h>

#include "avtruth/project.h"

void avt_obox_corners(const avt_obox *b, double c[8][3])
{
    for (int i = 0; i < 8; i++) {
        double l[3] = {(i & 1 ? 0.5 : -0.5) * b->size[0], (i & 2 ? 0.5 : -0.5) * b->size[1],
                       (i & 4 ? 0.5 : -0.5) * b->size[2]};
        for (int k = 0; k < 3; k++)
            c[i][k] = b->center[k] + b->R[3 * k] * l[0] + b->R[3 * k + 1] * l[1] + b->R[3 * k + 2] * l[2];
    }
}

int avt_obox_ray_hit(const avt_obox *b, const double o[3], const double d[3], double *t_hit)
{
    double rel[3] = {o[0] - b->center[0], o[1] - b->center[1], o[2] - b->center[2]};
    double t0 = 0, t1 = INFINITY;
    for (int a = 0; a < 3; a++) {
        /* box axis a is column a of R */
        double ob = b->R[a] * rel[0] + b->R[3 + a] * rel[1] + b->R[6 + a] * rel[2];
        double db = b->R[a] * d[0] + b->R[3 + a] * d[1] + b->R[6 + a] * d[2];
        double h = 0.5 * b->size[a];
        if (fabs(db) < 1e-300) {
            if (ob < -h || ob > h) return 0;
            continue;
        }
        double ta = (-h - ob) / db, tb = (h - ob) / db;
        if (ta > tb) {
            double s = ta;
            ta = tb;
            tb = s;
        }
        if (ta > t0) t0 = ta;
        if (tb < t1) t1 = tb;
        if (t0 > t1) return 0;
    }
    *t_hit = t0;
    return 1;
}

/* Squared tangent of the valid cone's half-angle. */
static double cone_c2(const avt_cam_model *m)
{
    if (m->model == AVT_CAM_FISHEYE) {
        double th = m->theta_max < M_PI / 2 - 1e-3 ? m->theta_max : M_PI / 2 - 1e-3;
        return tan(th) * tan(th);
    }
    return m->r2_max;
}

static int in_cone(double c2, const double p[3])
{
    return p[2] > 0 && p[0] * p[0] + p[1] * p[1] <= c2 * p[2] * p[2];
}

static void lerp3(const double a[3], const double b[3], double t, double out[3])
{
    for (int k = 0; k < 3; k++) out[k] = a[k] + t * (b[k] - a[k]);
}

/* Clips segment a-b to the (convex) valid cone; returns 1 with [*t0, *t1] when some part is
 * inside. Breakpoints are the roots of c2 z^2 - x^2 - y^2 and of z along the segment. */
static int clip_to_cone(double c2, const double a[3], const double b[3], double *t0, double *t1)
{
    double d[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double qa = c2 * d[2] * d[2] - d[0] * d[0] - d[1] * d[1];
    double qb = 2 * (c2 * a[2] * d[2] - a[0] * d[0] - a[1] * d[1]);
    double qc = c2 * a[2] * a[2] - a[0] * a[0] - a[1] * a[1];
    double br[6] = {0, 1};
    int nb = 2;
    if (fabs(qa) > 1e-300) {
        double disc = qb * qb - 4 * qa * qc;
        if (disc >= 0) {
            double s = sqrt(disc);
            br[nb++] = (-qb - s) / (2 * qa);
            br[nb++] = (-qb + s) / (2 * qa);
        }
    } else if (fabs(qb) > 1e-300) {
        br[nb++] = -qc / qb;
    }
    if (fabs(d[2]) > 1e-300) br[nb++] = -a[2] / d[2];
    /* sort and keep those in [0,1] */
    for (int i = 1; i < nb; i++)
        for (int j = i; j > 0 && br[j] < br[j - 1]; j--) {
            double s = br[j];
            br[j] = br[j - 1];
            br[j - 1] = s;
        }
    int found = 0;
    for (int i = 0; i + 1 < nb; i++) {
        double lo = br[i] < 0 ? 0 : br[i], hi = br[i + 1] > 1 ? 1 : br[i + 1];
        if (!(hi > lo)) continue;
        double mid[3];
        lerp3(a, b, 0.5 * (lo + hi), mid);
        if (!in_cone(c2, mid)) continue;
        if (!found) *t0 = lo;
        *t1 = hi;
        found = 1;
    }
    if (!found) return 0;
    /* pull the ends strictly inside so that they project */
    double eps = 1e-9 * (*t1 - *t0);
    *t0 += eps;
    *t1 -= eps;
    return *t1 > *t0;
}

typedef struct bbox2 {
    double x0, y0, x1, y1;
    int any;
} bbox2;

static void bbox_add(bbox2 *b, double x, double y)
{
    if (!b->any) {
        b->x0 = b->x1 = x;
        b->y0 = b->y1 = y;
        b->any = 1;
        return;
    }
    if (x < b->x0) b->x0 = x;
    if (x > b->x1) b->x1 = x;
    if (y < b->y0) b->y0 = y;
    if (y > b->y1) b->y1 = y;
}

/* Liang-Barsky clip of chord p-q to [0,W-1]x[0,H-1]; adds the clipped ends to b. */
static void chord_clip_add(bbox2 *b, const double p[2], const double q[2], double W, double H)
{
    double t0 = 0, t1 = 1, dx = q[0] - p[0], dy = q[1] - p[1];
    double pp[4] = {-dx, dx, -dy, dy}, qq[4] = {p[0], W - p[0], p[1], H - p[1]};
    for (int i = 0; i < 4; i++) {
        if (pp[i] == 0) {
            if (qq[i] < 0) return;
            continue;
        }
        double r = qq[i] / pp[i];
        if (pp[i] < 0) {
            if (r > t1) return;
            if (r > t0) t0 = r;
        } else {
            if (r < t0) return;
            if (r < t1) t1 = r;
        }
    }
    bbox_add(b, p[0] + t0 * dx, p[1] + t0 * dy);
    bbox_add(b, p[0] + t1 * dx, p[1] + t1 * dy);
}

typedef struct edge_ctx {
    const avt_cam_model *m;
    double W, H;
    bbox2 clipped, extent;
} edge_ctx;

/* Is pixel p at least m pixels inside [0, W] x [0, H]? */
static int inside_by(const double p[2], const edge_ctx *c, double m)
{
    return p[0] >= m && p[0] <= c->W - m && p[1] >= m && p[1] <= c->H - m;
}

static void subdivide(edge_ctx *c, const double a[3], const double b[3], const double ua[2],
                      const double ub[2], int depth)
{
    double dx = ub[0] - ua[0], dy = ub[1] - ua[1];
    double chord2 = dx * dx + dy * dy;
    int leaf = chord2 <= 0.25 || depth >= 30;
    double mid[3], um[2];
    lerp3(a, b, 0.5, mid);
    const int mid_ok = avt_cam_project(c->m, mid, um);
    /* flat enough: past the first two halvings, a piece well inside the image whose middle
     * projects within 1e-3 px of its chord's middle is a chord (the projected edge bends
     * smoothly: its deviation is largest near the middle and shrinks four-fold per halving).
     * Pieces near the border stay short: where a chord crosses the border at a grazing angle,
     * its crossing can lie far from the curve's. */
    if (!leaf && mid_ok && depth >= 2 && inside_by(ua, c, 2) && inside_by(ub, c, 2) && inside_by(um, c, 2)) {
        const double ex = um[0] - 0.5 * (ua[0] + ub[0]), ey = um[1] - 0.5 * (ua[1] + ub[1]);
        leaf = ex * ex + ey * ey <= 1e-6;
    }
    if (!leaf) {
        /* a short piece whose chord lies wholly beyond one image side cannot reach into it */
        double na = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
        double nb = sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
        double cosang = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb);
        const double margin = 4;
        int outside = (ua[0] < -margin && ub[0] < -margin) || (ua[1] < -margin && ub[1] < -margin) ||
                      (ua[0] > c->W + margin && ub[0] > c->W + margin) ||
                      (ua[1] > c->H + margin && ub[1] > c->H + margin);
        if (outside && cosang > cos(0.25 * M_PI / 180)) leaf = 1;
    }
    if (leaf) {
        bbox_add(&c->extent, ua[0], ua[1]);
        bbox_add(&c->extent, ub[0], ub[1]);
        chord_clip_add(&c->clipped, ua, ub, c->W, c->H);
        return;
    }
    if (!mid_ok) { /* cannot happen inside the cone; stay safe */
        bbox_add(&c->extent, ua[0], ua[1]);
        bbox_add(&c->extent, ub[0], ub[1]);
        return;
    }
    subdivide(c, a, mid, ua, um, depth + 1);
    subdivide(c, mid, b, um, ub, depth + 1);
}

static const int EDGES[12][2] = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {0, 2}, {1, 3},
                                 {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6}, {3, 7}};

int avt_box_project(const avt_cam_model *m, const avt_tf *cam_T_src, const avt_obox *box_src,
                    avt_box_projection *out)
{
    /* box in camera coordinates */
    avt_obox box;
    avt_tf_apply(cam_T_src, box_src->center, box.center);
    memcpy(box.size, box_src->size, sizeof box.size);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += cam_T_src->m[4 * i + k] * box_src->R[3 * k + j];
            box.R[3 * i + j] = s;
        }
    double c[8][3];
    avt_obox_corners(&box, c);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 8; i++)
        if (!avt_cam_project(m, c[i], out->corners[i])) out->corners[i][0] = out->corners[i][1] = NAN;
    const avt_tf I = avt_tf_identity();
    if (avt_cam_hull_outside(m, &I, (const double(*)[3])c)) return 0; /* no part can reach the image */

    edge_ctx ctx = {m, (double)m->width - 1, (double)m->height - 1, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}};
    double c2 = cone_c2(m);
    for (int e = 0; e < 12; e++) {
        const double *a = c[EDGES[e][0]], *b = c[EDGES[e][1]];
        double t0, t1, pa[3], pb[3], ua[2], ub[2];
        if (!clip_to_cone(c2, a, b, &t0, &t1)) continue;
        lerp3(a, b, t0, pa);
        lerp3(a, b, t1, pb);
        if (!avt_cam_project(m, pa, ua) || !avt_cam_project(m, pb, ub)) continue;
        subdivide(&ctx, pa, pb, ua, ub, 0);
    }
    /* image corners covered by the box */
    const double corners_px[4][2] = {{0, 0}, {ctx.W, 0}, {0, ctx.H}, {ctx.W, ctx.H}};
    const double origin[3] = {0, 0, 0};
    for (int i = 0; i < 4; i++) {
        double t;
        if (m->corner_ok[i] && avt_obox_ray_hit(&box, origin, m->corner_ray[i], &t)) {
            bbox_add(&ctx.clipped, corners_px[i][0], corners_px[i][1]);
            bbox_add(&ctx.extent, corners_px[i][0], corners_px[i][1]);
        }
    }
    if (!ctx.clipped.any) return 0;
    out->visible = 1;
    out->xyxy[0] = ctx.clipped.x0;
    out->xyxy[1] = ctx.clipped.y0;
    out->xyxy[2] = ctx.clipped.x1;
    out->xyxy[3] = ctx.clipped.y1;
    out->extent[0] = ctx.extent.x0;
    out->extent[1] = ctx.extent.y0;
    out->extent[2] = ctx.extent.x1;
    out->extent[3] = ctx.extent.y1;
    double a_in = (ctx.clipped.x1 - ctx.clipped.x0) * (ctx.clipped.y1 - ctx.clipped.y0);
    double a_all = (ctx.extent.x1 - ctx.extent.x0) * (ctx.extent.y1 - ctx.extent.y0);
    out->truncation = a_all > 0 ? 1 - a_in / a_all : 0;
    if (out->truncation < 0) out->truncation = 0;
    return 1;
}
