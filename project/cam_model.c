/* avtruth project: camera models.
 *
 * Pinhole with OpenCV's distortion model (OpenCV 4.x documentation, "Camera Calibration and 3D
 * Reconstruction", calib3d module introduction): coefficients in OpenCV order
 * (k1, k2, p1, p2[, k3[, k4, k5, k6[, s1, s2, s3, s4[, tau_x, tau_y]]]]),
 *   x' = x/z, y' = y/z, r^2 = x'^2 + y'^2,
 *   x'' = x' (1 + k1 r^2 + k2 r^4 + k3 r^6)/(1 + k4 r^2 + k5 r^4 + k6 r^6)
 *         + 2 p1 x'y' + p2 (r^2 + 2 x'^2) + s1 r^2 + s2 r^4
 *   y'' = y' (...)/(...) + p1 (r^2 + 2 y'^2) + 2 p2 x'y' + s3 r^2 + s4 r^4
 *   [x''' y''' 1]^T ~ R(tau_x, tau_y) [x'' y'' 1]^T  (tilted sensor, computeTiltProjectionMatrix)
 *   u = fx x''' + skew y''' + cx,  v = fy y''' + cy.
 * Fisheye as OpenCV's fisheye module (Kannala-Brandt): theta = angle from the optical axis,
 *   theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8),
 *   x' = theta_d x / |(x,y)|, u = fx (x' + alpha y') + cx with alpha = skew / fx.
 *
 * Validity: the radial map r -> r_d(r) is increasing only up to some radius; beyond it the
 * polynomial folds back and a far-off-axis point would land inside the image. We find the
 * first radius where the map stops increasing and mark points beyond it invalid. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/project.h"

/* Radial factor and its value at r^2 for the pinhole model. */
static double radial(const avt_cam_model *m, double r2)
{
    double num = 1 + r2 * (m->k[0] + r2 * (m->k[1] + r2 * m->k[2]));
    if (!m->rational) return num;
    double den = 1 + r2 * (m->k[3] + r2 * (m->k[4] + r2 * m->k[5]));
    return num / den;
}

static double fisheye_theta_d(const avt_cam_model *m, double th)
{
    double t2 = th * th;
    return th * (1 + t2 * (m->k[0] + t2 * (m->k[1] + t2 * (m->k[2] + t2 * m->k[3]))));
}

/* Normalised undistorted (x, y) -> normalised distorted (after tilt). */
static void distort(const avt_cam_model *m, double x, double y, double *xd, double *yd)
{
    double r2 = x * x + y * y, r4 = r2 * r2, rad = radial(m, r2);
    double a = x * rad + 2 * m->p[0] * x * y + m->p[1] * (r2 + 2 * x * x) + m->s[0] * r2 + m->s[1] * r4;
    double b = y * rad + m->p[0] * (r2 + 2 * y * y) + 2 * m->p[1] * x * y + m->s[2] * r2 + m->s[3] * r4;
    if (m->has_tilt) {
        const double *t = m->tilt;
        double w = t[6] * a + t[7] * b + t[8];
        double inv = w != 0 ? 1 / w : 1;
        double a2 = (t[0] * a + t[1] * b + t[2]) * inv, b2 = (t[3] * a + t[4] * b + t[5]) * inv;
        a = a2;
        b = b2;
    }
    *xd = a;
    *yd = b;
}

/* OpenCV computeTiltProjectionMatrix(tauX, tauY). */
static void tilt_matrix(double tx, double ty, double out[9])
{
    double cx = cos(tx), sx = sin(tx), cy = cos(ty), sy = sin(ty);
    double rx[9] = {1, 0, 0, 0, cx, sx, 0, -sx, cx};
    double ry[9] = {cy, 0, -sy, 0, 1, 0, sy, 0, cy};
    double rxy[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            rxy[3 * i + j] = 0;
            for (int k = 0; k < 3; k++) rxy[3 * i + j] += ry[3 * i + k] * rx[3 * k + j];
        }
    double pz[9] = {rxy[8], 0, -rxy[2], 0, rxy[8], -rxy[5], 0, 0, 1};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            out[3 * i + j] = 0;
            for (int k = 0; k < 3; k++) out[3 * i + j] += pz[3 * i + k] * rxy[3 * k + j];
        }
}

/* The rays of the image's corner pixels (0, 0), (W-1, 0), (0, H-1), (W-1, H-1), once. */
static void corner_rays(avt_cam_model *m)
{
    const double W = (double)m->width - 1, H = (double)m->height - 1;
    const double px[4][2] = {{0, 0}, {W, 0}, {0, H}, {W, H}};
    for (int i = 0; i < 4; i++) m->corner_ok[i] = avt_cam_unproject(m, px[i], m->corner_ray[i]);
}

/* The bounds m->view of the undistorted image: the image border [-0.5, W-0.5] x [-0.5, H-0.5]
 * walked in steps of a quarter pixel and unprojected. The distortion is one-to-one on the
 * monotonic region, so a point whose pixel is inside the border has its x'/z', y'/z' inside the
 * unprojected border, hence inside its bounding box; widened by 1 % and 2 px against the steps
 * between samples. Where part of the border has no preimage (strong distortion), the bounds
 * are the monotonic region's: |x'|, |y'| <= sqrt(r2_max). */
static void view_bounds(avt_cam_model *m)
{
    const double r = sqrt(m->r2_max), W = m->width - 0.5, H = m->height - 0.5;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    const unsigned steps[2] = {4 * m->width, 4 * m->height};
    for (int side = 0; side < 4; side++) {
        const unsigned ns = steps[side / 2 ? 1 : 0];
        for (unsigned i = 0; i <= ns; i++) {
            double f = (double)i / ns, uv[2], ray[3];
            if (side / 2 == 0) uv[0] = -0.5 + f * (W + 0.5), uv[1] = side % 2 ? H : -0.5;
            else uv[0] = side % 2 ? W : -0.5, uv[1] = -0.5 + f * (H + 0.5);
            if (!avt_cam_unproject(m, uv, ray)) {
                m->view[0] = m->view[2] = -r, m->view[1] = m->view[3] = r;
                return;
            }
            for (int k = 0; k < 2; k++) lo[k] = fmin(lo[k], ray[k]), hi[k] = fmax(hi[k], ray[k]);
        }
    }
    const double pad[2] = {0.01 * (hi[0] - lo[0]) + 2 / m->fx, 0.01 * (hi[1] - lo[1]) + 2 / m->fy};
    m->view[0] = fmax(lo[0] - pad[0], -r), m->view[1] = fmin(hi[0] + pad[0], r);
    m->view[2] = fmax(lo[1] - pad[1], -r), m->view[3] = fmin(hi[1] + pad[1], r);
}

int avt_cam_model_init(avt_cam_model *m, const avt_camera *cam, avt_error *err)
{
    memset(m, 0, sizeof *m);
    m->model = cam->model;
    m->fx = cam->K[0];
    m->skew = cam->K[1];
    m->cx = cam->K[2];
    m->fy = cam->K[4];
    m->cy = cam->K[5];
    m->width = cam->width;
    m->height = cam->height;
    m->simd = avt_cam_simd_best();
    const double *d = cam->dist;
    int n = cam->n_dist;
    if (!(m->fx > 0) || !(m->fy > 0))
        return avt_err(err, AVT_INVAL, "camera %s: focal lengths must be positive", cam->name);
    if (cam->model == AVT_CAM_FISHEYE) {
        if (n != 4 && n != 0)
            return avt_err(err, AVT_UNSUPPORTED, "camera %s: fisheye needs 4 coefficients, got %d", cam->name, n);
        for (int i = 0; i < n; i++) m->k[i] = d[i];
        m->view[0] = m->view[2] = -INFINITY, m->view[1] = m->view[3] = INFINITY; /* only z > 0 */
        /* largest theta with d theta_d / d theta > 0, searched up to 180 degrees */
        double prev = 0, th;
        m->theta_max = M_PI;
        for (th = 1e-4; th <= M_PI; th += 1e-4) {
            double v = fisheye_theta_d(m, th);
            if (!(v > prev)) {
                m->theta_max = th - 2e-4;
                break;
            }
            prev = v;
        }
        corner_rays(m);
        return AVT_OK;
    }
    if (n != 0 && n != 4 && n != 5 && n != 8 && n != 12 && n != 14)
        return avt_err(err, AVT_UNSUPPORTED, "camera %s: %d distortion coefficients (OpenCV takes 4, 5, 8, 12 or 14)",
                       cam->name, n);
    if (n >= 4) {
        m->k[0] = d[0];
        m->k[1] = d[1];
        m->p[0] = d[2];
        m->p[1] = d[3];
    }
    if (n >= 5) m->k[2] = d[4];
    if (n >= 8) {
        m->k[3] = d[5];
        m->k[4] = d[6];
        m->k[5] = d[7];
        m->rational = 1;
    }
    if (n >= 12)
        for (int i = 0; i < 4; i++) m->s[i] = d[8 + i];
    tilt_matrix(n >= 14 ? d[12] : 0, n >= 14 ? d[13] : 0, m->tilt);
    m->has_tilt = n >= 14 && (d[12] != 0 || d[13] != 0);
    /* First radius where r * radial(r^2) stops increasing (or the rational denominator
     * vanishes); searched up to r = 50 (88.9 degrees off axis). */
    double prev = 0;
    m->r2_max = 2500;
    for (double r = 1e-3; r <= 50; r += 1e-3) {
        double r2 = r * r;
        double den = m->rational ? 1 + r2 * (m->k[3] + r2 * (m->k[4] + r2 * m->k[5])) : 1;
        double v = r * radial(m, r2);
        if (!(den > 0) || !(v > prev)) {
            double rm = r - 2e-3;
            m->r2_max = rm > 0 ? rm * rm : 0;
            break;
        }
        prev = v;
    }
    view_bounds(m);
    corner_rays(m);
    return AVT_OK;
}

int avt_cam_project(const avt_cam_model *m, const double p[3], double uv[2])
{
    double xd, yd;
    if (m->model == AVT_CAM_FISHEYE) {
        double rxy = sqrt(p[0] * p[0] + p[1] * p[1]);
        double th = atan2(rxy, p[2]);
        if (!(th <= m->theta_max) || !(p[2] > 0)) return 0;
        double thd = fisheye_theta_d(m, th);
        double c = rxy > 1e-12 ? thd / rxy : 1 / p[2];
        xd = p[0] * c;
        yd = p[1] * c;
        uv[0] = m->fx * xd + m->skew * yd + m->cx;
        uv[1] = m->fy * yd + m->cy;
        return 1;
    }
    if (!(p[2] > 0)) return 0;
    /* the reciprocal as in the batch paths, so that both round alike (same validity) */
    double iz = 1 / p[2];
    double x = p[0] * iz, y = p[1] * iz;
    if (!(x * x + y * y <= m->r2_max)) return 0;
    distort(m, x, y, &xd, &yd);
    uv[0] = m->fx * xd + m->skew * yd + m->cx;
    uv[1] = m->fy * yd + m->cy;
    return 1;
}

int avt_cam_unproject(const avt_cam_model *m, const double uv[2], double ray[3])
{
    double yd = (uv[1] - m->cy) / m->fy;
    double xd = (uv[0] - m->cx - m->skew * yd) / m->fx;
    if (m->model == AVT_CAM_FISHEYE) {
        double thd = sqrt(xd * xd + yd * yd);
        if (thd < 1e-12) {
            ray[0] = ray[1] = 0;
            ray[2] = 1;
            return 1;
        }
        if (thd > fisheye_theta_d(m, m->theta_max)) return 0;
        double lo = 0, hi = m->theta_max; /* monotonic on [0, theta_max]: bisection is safe */
        for (int i = 0; i < 80; i++) {
            double mid = 0.5 * (lo + hi);
            if (fisheye_theta_d(m, mid) < thd) lo = mid;
            else hi = mid;
        }
        double th = 0.5 * (lo + hi);
        if (th >= M_PI / 2 - 1e-9) return 0;
        double r = tan(th);
        ray[0] = xd / thd * r;
        ray[1] = yd / thd * r;
        ray[2] = 1;
        return 1;
    }
    /* Newton on distort(x, y) = (xd, yd) with a finite-difference Jacobian. */
    double x = xd, y = yd;
    for (int it = 0; it < 60; it++) {
        double fx0, fy0;
        distort(m, x, y, &fx0, &fy0);
        double ex = fx0 - xd, ey = fy0 - yd;
        if (fabs(ex) < 1e-13 && fabs(ey) < 1e-13) break;
        const double h = 1e-7;
        double ax, ay, bx, by;
        distort(m, x + h, y, &ax, &ay);
        distort(m, x, y + h, &bx, &by);
        double j00 = (ax - fx0) / h, j10 = (ay - fy0) / h, j01 = (bx - fx0) / h, j11 = (by - fy0) / h;
        double det = j00 * j11 - j01 * j10;
        if (!(fabs(det) > 1e-15)) return 0;
        double dx = (j11 * ex - j01 * ey) / det, dy = (-j10 * ex + j00 * ey) / det;
        /* damp steps that would leave the valid region */
        double step = 1;
        while (step > 1e-4 && !((x - step * dx) * (x - step * dx) + (y - step * dy) * (y - step * dy) <= m->r2_max))
            step *= 0.5;
        x -= step * dx;
        y -= step * dy;
    }
    if (!(x * x + y * y <= m->r2_max)) return 0;
    double cx, cy;
    distort(m, x, y, &cx, &cy);
    if (!(fabs(cx - xd) * m->fx < 1e-6 && fabs(cy - yd) * m->fy < 1e-6)) return 0;
    ray[0] = x;
    ray[1] = y;
    ray[2] = 1;
    return 1;
}

/* Batch projection.
 *
 * Fast path for the common pinhole model with up to 5 coefficients (k1 k2 p1 p2 k3; no rational
 * terms, thin prism or tilt): the formulas of avt_cam_project evaluated for every point in
 * double precision (float would cost up to 3e-4 px at 1000 px focal length), without branches
 * or calls, so that GCC vectorises the loops even at -O2 (`omp simd` loops are vectorised
 * whenever they are free of control flow): validity is a mask folded into the pixel as NaN. The
 * points go through in blocks of RADTAN5_BLOCK, so that the second pass (the image test) and
 * the AoS (de)interleaving stay in L1.
 *
 * Instruction sets: the block kernel is compiled twice, for baseline x86-64 (SSE2, 2 doubles
 * per vector) and for AVX2 (4 per vector), and m->simd picks one. Without FP contraction
 * (ISO C mode) both perform the same IEEE operations and give identical results. */
static int is_radtan5(const avt_cam_model *m)
{
    return m->model == AVT_CAM_PINHOLE && !m->rational && !m->has_tilt && m->s[0] == 0 && m->s[1] == 0 &&
           m->s[2] == 0 && m->s[3] == 0;
}

int avt_cam_simd_best(void) { return avt_cpu_avx2() ? AVT_SIMD_AVX2 : AVT_SIMD_BASELINE; }

typedef struct radtan5 {
    double t[12], fx, fy, cx, cy, skew, k1, k2, k3, p1, p2, r2_max;
    float umax, vmax;
} radtan5;

static radtan5 radtan5_make(const avt_cam_model *m, const avt_tf *T)
{
    radtan5 c;
    memcpy(c.t, T->m, sizeof c.t);
    c.fx = m->fx, c.fy = m->fy, c.cx = m->cx, c.cy = m->cy, c.skew = m->skew;
    c.k1 = m->k[0], c.k2 = m->k[1], c.k3 = m->k[2], c.p1 = m->p[0], c.p2 = m->p[1];
    c.r2_max = m->r2_max;
    c.umax = (float)(m->width - 0.5);
    c.vmax = (float)(m->height - 0.5);
    return c;
}

enum { RADTAN5_BLOCK = 512 };

/* At most RADTAN5_BLOCK points. The coefficients are copied to locals: GCC does not vectorise
 * loops that read them through the struct. valid = inside [-0.5, W-0.5) x [-0.5, H-0.5) on the
 * float pixel coordinates (NaN compares false); it is a second loop because a double -> uint8
 * mask in the first keeps GCC from vectorising it. */
static inline __attribute__((always_inline)) void radtan5_block(const radtan5 *c, const float *restrict px,
                                                                const float *restrict py, const float *restrict pz,
                                                                size_t n, float *restrict u, float *restrict v,
                                                                float *restrict depth, uint8_t *restrict valid)
{
    const double t0 = c->t[0], t1 = c->t[1], t2 = c->t[2], t3 = c->t[3], t4 = c->t[4], t5 = c->t[5];
    const double t6 = c->t[6], t7 = c->t[7], t8 = c->t[8], t9 = c->t[9], t10 = c->t[10], t11 = c->t[11];
    const double fx = c->fx, fy = c->fy, cx = c->cx, cy = c->cy, skew = c->skew, r2_max = c->r2_max;
    const double k1 = c->k1, k2 = c->k2, k3 = c->k3, p1 = c->p1, p2 = c->p2;
    const float umax = c->umax, vmax = c->vmax;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        double X = t0 * px[i] + t1 * py[i] + t2 * pz[i] + t3;
        double Y = t4 * px[i] + t5 * py[i] + t6 * pz[i] + t7;
        double Z = t8 * px[i] + t9 * py[i] + t10 * pz[i] + t11;
        double iz = 1.0 / Z;
        double x = X * iz, y = Y * iz;
        double r2 = x * x + y * y;
        double rad = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
        double xd = x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
        double yd = y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
        /* behind the camera or outside the monotonic region (Z = 0 gives r2 = inf or NaN) */
        double nan_if_bad = (Z > 0) & (r2 <= r2_max) ? 0.0 : NAN;
        u[i] = (float)(fx * xd + skew * yd + cx + nan_if_bad);
        v[i] = (float)(fy * yd + cy + nan_if_bad);
        depth[i] = (float)Z;
    }
#pragma omp simd
    for (size_t i = 0; i < n; i++) valid[i] = (uint8_t)((u[i] >= -0.5f) & (u[i] < umax) & (v[i] >= -0.5f) & (v[i] < vmax));
}

/* One thread's share of SoA points, and of AoS points (de-interleaved block by block through
 * the stack: interleaved loads in the main loop do not vectorise on SSE2). Inlined into one
 * baseline and one AVX2 function each. */
static inline __attribute__((always_inline)) void radtan5_soa_chunk(const radtan5 *c, const float *restrict x,
                                                                    const float *restrict y, const float *restrict z,
                                                                    size_t n, float *restrict u, float *restrict v,
                                                                    float *restrict depth, uint8_t *restrict valid)
{
    for (size_t b = 0; b < n; b += RADTAN5_BLOCK) {
        size_t k = n - b < RADTAN5_BLOCK ? n - b : RADTAN5_BLOCK;
        radtan5_block(c, x + b, y + b, z + b, k, u + b, v + b, depth + b, valid + b);
    }
}

static inline __attribute__((always_inline)) void radtan5_aos_chunk(const radtan5 *c, const float *restrict xyz,
                                                                    size_t n, float *restrict uv,
                                                                    float *restrict depth, uint8_t *restrict valid)
{
    /* padded so that the five arrays are not 4 KiB apart (4K aliasing of loads and stores) */
    float buf[5][RADTAN5_BLOCK + 16];
    float *restrict x = buf[0], *restrict y = buf[1], *restrict z = buf[2], *restrict u = buf[3], *restrict v = buf[4];
    for (size_t b = 0; b < n; b += RADTAN5_BLOCK) {
        size_t k = n - b < RADTAN5_BLOCK ? n - b : RADTAN5_BLOCK;
        const float *p = xyz + 3 * b;
#pragma omp simd
        for (size_t i = 0; i < k; i++) x[i] = p[3 * i], y[i] = p[3 * i + 1], z[i] = p[3 * i + 2];
        radtan5_block(c, x, y, z, k, u, v, depth + b, valid + b);
        float *q = uv + 2 * b;
#pragma omp simd
        for (size_t i = 0; i < k; i++) q[2 * i] = u[i], q[2 * i + 1] = v[i];
    }
}

static void radtan5_soa(const radtan5 *c, const float *x, const float *y, const float *z, size_t n, float *u,
                        float *v, float *depth, uint8_t *valid)
{
    radtan5_soa_chunk(c, x, y, z, n, u, v, depth, valid);
}

static void radtan5_aos(const radtan5 *c, const float *xyz, size_t n, float *uv, float *depth, uint8_t *valid)
{
    radtan5_aos_chunk(c, xyz, n, uv, depth, valid);
}

#if AVT_HAVE_AVX2_PATH
static AVT_TARGET_AVX2 void radtan5_soa_avx2(const radtan5 *c, const float *x, const float *y, const float *z,
                                             size_t n, float *u, float *v, float *depth, uint8_t *valid)
{
    radtan5_soa_chunk(c, x, y, z, n, u, v, depth, valid);
}

static AVT_TARGET_AVX2 void radtan5_aos_avx2(const radtan5 *c, const float *xyz, size_t n, float *uv, float *depth,
                                             uint8_t *valid)
{
    radtan5_aos_chunk(c, xyz, n, uv, depth, valid);
}
#endif

/* The calling thread's share [*b, *e) of n items (static schedule). */
static void thread_chunk(size_t n, size_t *b, size_t *e)
{
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *b = n / nt * t + (t < n % nt ? t : n % nt);
    *e = *b + n / nt + (t < n % nt);
}

/* Every other model: avt_cam_project per point. */
static void generic_point(const avt_cam_model *m, const double *t, double px, double py, double pz, float *u,
                          float *v, float *depth, uint8_t *valid)
{
    double p[3] = {t[0] * px + t[1] * py + t[2] * pz + t[3], t[4] * px + t[5] * py + t[6] * pz + t[7],
                   t[8] * px + t[9] * py + t[10] * pz + t[11]};
    double q[2] = {NAN, NAN};
    int ok = avt_cam_project(m, p, q);
    ok = ok && q[0] >= -0.5 && q[0] < m->width - 0.5 && q[1] >= -0.5 && q[1] < m->height - 0.5;
    *u = (float)q[0];
    *v = (float)q[1];
    *depth = (float)p[2];
    *valid = (uint8_t)ok;
}

int avt_cam_hull_outside(const avt_cam_model *m, const avt_tf *cam_T_src, const double c[8][3])
{
    const double *w = m->view, *t = cam_T_src->m;
    int behind = 1, left = 1, right = 1, low = 1, high = 1;
    for (int k = 0; k < 8; k++) {
        const double X = t[0] * c[k][0] + t[1] * c[k][1] + t[2] * c[k][2] + t[3];
        const double Y = t[4] * c[k][0] + t[5] * c[k][1] + t[6] * c[k][2] + t[7];
        const double Z = t[8] * c[k][0] + t[9] * c[k][1] + t[10] * c[k][2] + t[11];
        behind &= Z <= 0;
        left &= X < w[0] * Z;
        right &= X > w[1] * Z;
        low &= Y < w[2] * Z;
        high &= Y > w[3] * Z;
    }
    return behind | left | right | low | high;
}

/* Points [b, b + k): the vectorised kernel or avt_cam_project per point. */
static void project_range(const avt_cam_model *m, const radtan5 *c, int avx2, const avt_tf *T, const float *xyz,
                          size_t b, size_t k, float *uv, float *depth, uint8_t *valid)
{
    if (c) {
#if AVT_HAVE_AVX2_PATH
        if (avx2) radtan5_aos_avx2(c, xyz + 3 * b, k, uv + 2 * b, depth + b, valid + b);
        else
#endif
            radtan5_aos(c, xyz + 3 * b, k, uv + 2 * b, depth + b, valid + b);
        (void)avx2;
        return;
    }
    for (size_t i = b; i < b + k; i++)
        generic_point(m, T->m, xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2], &uv[2 * i], &uv[2 * i + 1], &depth[i],
                      &valid[i]);
}

/* In blocks of AVT_POINT_BLOCK points, split between the threads; with boxes, the blocks
 * outside the view get valid = 0 and nothing else written. */
static void project_points(const avt_cam_model *m, const avt_tf *T, const float *xyz, size_t n, float *uv,
                           float *depth, uint8_t *valid, const avt_point_blocks *blocks, const uint8_t *block_on)
{
    const radtan5 c5 = radtan5_make(m, T);
    const radtan5 *c = is_radtan5(m) ? &c5 : NULL;
    const int avx2 = AVT_HAVE_AVX2_PATH && m->simd >= AVT_SIMD_AVX2;
    const size_t nb = (n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK;
    if (blocks && blocks->n_blocks != nb) blocks = NULL; /* not this cloud's: no culling */
#pragma omp parallel if (n >= 4096)
    {
        size_t j0, j1;
        thread_chunk(nb, &j0, &j1);
        for (size_t j = j0; j < j1; j++) {
            const size_t b = j * AVT_POINT_BLOCK, k = n - b < AVT_POINT_BLOCK ? n - b : AVT_POINT_BLOCK;
            if ((block_on && !block_on[j]) || (blocks && avt_cam_hull_outside(m, T, (const double(*)[3])blocks->corner[j])))
                memset(valid + b, 0, k);
            else project_range(m, c, avx2, T, xyz, b, k, uv, depth, valid);
        }
    }
}

void avt_cam_project_points(const avt_cam_model *m, const avt_tf *T, const float *xyz, size_t n, float *uv,
                            float *depth, uint8_t *valid)
{
    project_points(m, T, xyz, n, uv, depth, valid, NULL, NULL);
}

void avt_cam_project_visible(const avt_cam_model *m, const avt_tf *T, const float *xyz, size_t n,
                             const avt_point_blocks *blocks, const uint8_t *block_on, float *uv, float *depth,
                             uint8_t *valid)
{
    project_points(m, T, xyz, n, uv, depth, valid, blocks, block_on);
}

void avt_cam_project_points_soa(const avt_cam_model *m, const avt_tf *T, const float *x, const float *y,
                                const float *z, size_t n, float *u, float *v, float *depth, uint8_t *valid)
{
    if (is_radtan5(m)) {
        const radtan5 c = radtan5_make(m, T);
        const int avx2 = AVT_HAVE_AVX2_PATH && m->simd >= AVT_SIMD_AVX2;
#pragma omp parallel
        {
            size_t b, e;
            thread_chunk(n, &b, &e);
#if AVT_HAVE_AVX2_PATH
            if (avx2) radtan5_soa_avx2(&c, x + b, y + b, z + b, e - b, u + b, v + b, depth + b, valid + b);
            else
#endif
                radtan5_soa(&c, x + b, y + b, z + b, e - b, u + b, v + b, depth + b, valid + b);
        }
        (void)avx2;
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) generic_point(m, T->m, x[i], y[i], z[i], &u[i], &v[i], &depth[i], &valid[i]);
}
