/* avtruth quality: overlap of rotated boxes. The footprints are convex quadrilaterals; their
 * intersection is one clipped by the other's four edges (Sutherland & Hodgman 1974, "Reentrant
 * polygon clipping"), exact for convex clip polygons; 3D IoU multiplies by the z overlap. */
#include <math.h>

#include "avtruth/quality.h"

/* The footprint's corners counter-clockwise (x forward, y left seen from above). */
static void footprint(const avt_label_box *b, double p[4][2])
{
    double c = cos(b->yaw), s = sin(b->yaw), hl = 0.5 * b->size[0], hw = 0.5 * b->size[1];
    static const double sx[4] = {1, -1, -1, 1}, sy[4] = {1, 1, -1, -1};
    for (int i = 0; i < 4; i++) {
        double x = sx[i] * hl, y = sy[i] * hw;
        p[i][0] = b->center[0] + c * x - s * y;
        p[i][1] = b->center[1] + s * x + c * y;
    }
}

/* Clips poly (n vertices, room for n + 4) against the half-plane left of edge a->b. */
static int clip_edge(const double (*in)[2], int n, const double a[2], const double b[2], double (*out)[2])
{
    int m = 0;
    double ex = b[0] - a[0], ey = b[1] - a[1];
    for (int i = 0; i < n; i++) {
        const double *p = in[i], *q = in[(i + 1) % n];
        double dp = ex * (p[1] - a[1]) - ey * (p[0] - a[0]);
        double dq = ex * (q[1] - a[1]) - ey * (q[0] - a[0]);
        if (dp >= 0) {
            out[m][0] = p[0], out[m][1] = p[1], m++;
        }
        if ((dp >= 0) != (dq >= 0)) {
            double t = dp / (dp - dq);
            out[m][0] = p[0] + t * (q[0] - p[0]);
            out[m][1] = p[1] + t * (q[1] - p[1]);
            m++;
        }
    }
    return m;
}

double avt_quality_bev_intersection(const avt_label_box *a, const avt_label_box *b)
{
    /* boxes whose circumscribed circles are apart do not meet */
    double dx = a->center[0] - b->center[0], dy = a->center[1] - b->center[1];
    double ra = 0.5 * hypot(a->size[0], a->size[1]), rb = 0.5 * hypot(b->size[0], b->size[1]);
    if (dx * dx + dy * dy >= (ra + rb) * (ra + rb)) return 0;
    double pa[4][2], pb[4][2], buf[2][16][2];
    footprint(a, pa);
    footprint(b, pb);
    int n = 4, cur = 0;
    for (int i = 0; i < 4; i++) {
        buf[0][i][0] = pa[i][0];
        buf[0][i][1] = pa[i][1];
    }
    for (int e = 0; e < 4 && n > 0; e++) {
        n = clip_edge((const double(*)[2])buf[cur], n, pb[e], pb[(e + 1) % 4], buf[1 - cur]);
        cur = 1 - cur;
    }
    double area = 0;
    for (int i = 0; i < n; i++) {
        const double *p = buf[cur][i], *q = buf[cur][(i + 1) % n];
        area += p[0] * q[1] - q[0] * p[1];
    }
    return n >= 3 ? fmax(0, 0.5 * area) : 0;
}

double avt_quality_iou_bev(const avt_label_box *a, const avt_label_box *b)
{
    double inter = avt_quality_bev_intersection(a, b);
    double uni = a->size[0] * a->size[1] + b->size[0] * b->size[1] - inter;
    return uni > 0 ? inter / uni : 0;
}

double avt_quality_iou_3d(const avt_label_box *a, const avt_label_box *b)
{
    double za = a->center[2], zb = b->center[2];
    double dz = fmin(za + 0.5 * a->size[2], zb + 0.5 * b->size[2]) - fmax(za - 0.5 * a->size[2], zb - 0.5 * b->size[2]);
    if (dz <= 0) return 0;
    double inter = avt_quality_bev_intersection(a, b) * dz;
    double uni = a->size[0] * a->size[1] * a->size[2] + b->size[0] * b->size[1] * b->size[2] - inter;
    return uni > 0 ? inter / uni : 0;
}

double avt_quality_center_distance(const avt_label_box *a, const avt_label_box *b)
{
    return hypot(a->center[0] - b->center[0], a->center[1] - b->center[1]);
}

double avt_quality_iou_2d(const double a[4], const double b[4], int over_a)
{
    double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (!(iw > 0 && ih > 0)) return 0;
    double inter = iw * ih, aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
    double den = over_a ? aa : aa + ab - inter;
    return den > 0 ? inter / den : 0;
}

double avt_quality_angle_diff(double a, double b)
{
    double d = fmod(a - b + M_PI, 2 * M_PI);
    if (d < 0) d += 2 * M_PI;
    return d - M_PI;
}
