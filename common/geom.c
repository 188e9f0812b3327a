/* avtruth geometry: rigid 4x4 transforms, quaternions and pose interpolation. */
#include <math.h>

#include "avtruth/geom.h"

avt_tf avt_tf_identity(void)
{
    avt_tf t = {{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}};
    return t;
}

avt_tf avt_tf_mul(const avt_tf *a, const avt_tf *b)
{
    /* The last row of a rigid transform is 0 0 0 1, so is that of the product; the other
     * entries are summed in the order of the plain triple loop, from +0, so that the results
     * stay the same bit for bit (deskew calls this twice per point time). */
    avt_tf c;
    const double *x = a->m, *y = b->m;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            c.m[4 * i + j] = 0.0 + x[4 * i] * y[j] + x[4 * i + 1] * y[4 + j] + x[4 * i + 2] * y[8 + j] +
                             x[4 * i + 3] * y[12 + j];
    c.m[12] = c.m[13] = c.m[14] = 0;
    c.m[15] = 1;
    return c;
}

avt_tf avt_tf_inv(const avt_tf *a)
{
    avt_tf r = avt_tf_identity();
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) r.m[4 * i + j] = a->m[4 * j + i];
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int k = 0; k < 3; k++) s += r.m[4 * i + k] * a->m[4 * k + 3];
        r.m[4 * i + 3] = -s;
    }
    return r;
}

void avt_tf_rotate(const avt_tf *t, const double v[3], double out[3])
{
    for (int i = 0; i < 3; i++)
        out[i] = t->m[4 * i] * v[0] + t->m[4 * i + 1] * v[1] + t->m[4 * i + 2] * v[2];
}

avt_tf avt_tf_from_qt(const double qin[4], const double t[3])
{
    double n = sqrt(qin[0] * qin[0] + qin[1] * qin[1] + qin[2] * qin[2] + qin[3] * qin[3]);
    double w = qin[0] / n, x = qin[1] / n, y = qin[2] / n, z = qin[3] / n;
    avt_tf r = {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w), t[0],
                 2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w), t[1],
                 2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y), t[2],
                 0, 0, 0, 1}};
    return r;
}

void avt_tf_to_q(const avt_tf *t, double q[4])
{
    const double *m = t->m;
    double r00 = m[0], r11 = m[5], r22 = m[10], tr = r00 + r11 + r22;
    double w, x, y, z;
    if (tr > 0) {
        double s = sqrt(tr + 1.0) * 2;
        w = 0.25 * s;
        x = (m[9] - m[6]) / s;
        y = (m[2] - m[8]) / s;
        z = (m[4] - m[1]) / s;
    } else if (r00 > r11 && r00 > r22) {
        double s = sqrt(1.0 + r00 - r11 - r22) * 2;
        w = (m[9] - m[6]) / s;
        x = 0.25 * s;
        y = (m[1] + m[4]) / s;
        z = (m[2] + m[8]) / s;
    } else if (r11 > r22) {
        double s = sqrt(1.0 + r11 - r00 - r22) * 2;
        w = (m[2] - m[8]) / s;
        x = (m[1] + m[4]) / s;
        y = 0.25 * s;
        z = (m[6] + m[9]) / s;
    } else {
        double s = sqrt(1.0 + r22 - r00 - r11) * 2;
        w = (m[4] - m[1]) / s;
        x = (m[2] + m[8]) / s;
        y = (m[6] + m[9]) / s;
        z = 0.25 * s;
    }
    double sg = w < 0 ? -1 : 1, n = sqrt(w * w + x * x + y * y + z * z);
    q[0] = sg * w / n;
    q[1] = sg * x / n;
    q[2] = sg * y / n;
    q[3] = sg * z / n;
}

avt_tf avt_tf_from_yaw(double yaw, const double t[3])
{
    double c = cos(yaw), s = sin(yaw);
    avt_tf r = {{c, -s, 0, t[0], s, c, 0, t[1], 0, 0, 1, t[2], 0, 0, 0, 1}};
    return r;
}

double avt_tf_rigid_error(const avt_tf *t)
{
    const double *m = t->m;
    double e = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += m[4 * k + i] * m[4 * k + j];
            double d = fabs(s - (i == j));
            if (!(d <= e)) e = d; /* NaN propagates as a failure */
        }
    double det = m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
                 m[2] * (m[4] * m[9] - m[5] * m[8]);
    double dd = fabs(det - 1);
    if (!(dd <= e)) e = dd;
    double row = fabs(m[12]) + fabs(m[13]) + fabs(m[14]) + fabs(m[15] - 1);
    if (!(row <= e)) e = row;
    for (int i = 0; i < 16; i++)
        if (!isfinite(m[i])) return INFINITY;
    return e;
}

void avt_tf_slerp_init(avt_tf_slerp *z, const avt_tf *a, const avt_tf *b)
{
    avt_tf_to_q(a, z->qa);
    avt_tf_to_q(b, z->qb);
    double d = z->qa[0] * z->qb[0] + z->qa[1] * z->qb[1] + z->qa[2] * z->qb[2] + z->qa[3] * z->qb[3];
    if (d < 0) {
        d = -d;
        for (int i = 0; i < 4; i++) z->qb[i] = -z->qb[i];
    }
    /* nearly equal: linear is exact to double precision */
    z->th = d > 0.9999995 ? 0 : acos(d);
    z->sn = d > 0.9999995 ? 0 : sin(z->th);
    for (int i = 0; i < 3; i++) z->ta[i] = a->m[4 * i + 3], z->tb[i] = b->m[4 * i + 3];
}

avt_tf avt_tf_slerp_at(const avt_tf_slerp *z, double s)
{
    double wa = 1 - s, wb = s, q[4], t[3];
    if (z->th != 0) {
        wa = sin((1 - s) * z->th) / z->sn;
        wb = sin(s * z->th) / z->sn;
    }
    for (int i = 0; i < 4; i++) q[i] = wa * z->qa[i] + wb * z->qb[i];
    for (int i = 0; i < 3; i++) t[i] = (1 - s) * z->ta[i] + s * z->tb[i];
    return avt_tf_from_qt(q, t);
}
