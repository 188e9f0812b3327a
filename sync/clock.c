/* avtruth sync: camera clock model and its robust estimation against the LiDAR clock.
 *
 * Model: camera time = LiDAR time + offset + drift (LiDAR time - t_ref). The estimator sees
 * (reference, image) pairs: the offset guess comes first (mode of the nearest-delta
 * histogram), then pairs within a window around it are fed here. Fit: slope = median of the
 * slopes between sample i and sample i + n/2 (a Theil-Sen estimator over well separated
 * pairs, breakdown 29 %), intercept = median residual, inliers = within 4 robust sigma
 * (1.4826 MAD), then ordinary least squares on the inliers for the final values and their
 * standard errors. Memory: a fixed sample of AVT_CLOCK_SAMPLE pairs thinned evenly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

int64_t avt_clock_lidar_to_camera(const avt_clock_model *m, int64_t t)
{
    if (!m || !m->valid) return t;
    return t + (int64_t)llround(m->offset_ns + m->drift * (double)(t - m->t_ref_ns));
}

int64_t avt_clock_camera_to_lidar(const avt_clock_model *m, int64_t c)
{
    if (!m || !m->valid) return c;
    /* c = t + off + d (t - r)  =>  t - r = (c - r - off) / (1 + d) */
    double dt = ((double)(c - m->t_ref_ns) - m->offset_ns) / (1.0 + m->drift);
    return m->t_ref_ns + (int64_t)llround(dt);
}

int avt_clock_evidence_strong(const avt_clock_model *m)
{
    if (!m->valid || m->n_inliers < 20 || 2 * m->n_inliers < m->n_pairs) return 0;
    int off = fabs(m->offset_ns) >= 1e6 && fabs(m->offset_ns) >= 5 * m->offset_sd_ns;
    int drift = fabs(m->drift) >= 10e-6 && fabs(m->drift) >= 5 * m->drift_sd;
    return off || drift;
}

struct avt_clock_estimator {
    double t[AVT_CLOCK_SAMPLE], d[AVT_CLOCK_SAMPLE]; /* seconds from the first pair, ns */
    size_t n, stride, seen, total;
    int64_t t0_ns, t_last_ns;
};

avt_clock_estimator *avt_clock_estimator_new(void)
{
    avt_clock_estimator *e = calloc(1, sizeof *e);
    if (e) e->stride = 1;
    return e;
}

void avt_clock_estimator_free(avt_clock_estimator *e) { free(e); }

void avt_clock_estimator_add(avt_clock_estimator *e, int64_t ref_ns, int64_t image_ns)
{
    if (e->total == 0) e->t0_ns = ref_ns;
    e->total++;
    e->t_last_ns = ref_ns;
    if (e->seen++ % e->stride != 0) return;
    if (e->n == AVT_CLOCK_SAMPLE) { /* keep every other pair, double the stride */
        for (size_t i = 0; i < AVT_CLOCK_SAMPLE / 2; i++) {
            e->t[i] = e->t[2 * i];
            e->d[i] = e->d[2 * i];
        }
        e->n = AVT_CLOCK_SAMPLE / 2;
        e->stride *= 2;
        e->seen = 1;
    }
    e->t[e->n] = (double)(ref_ns - e->t0_ns) * 1e-9;
    e->d[e->n] = (double)(image_ns - ref_ns);
    e->n++;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_inplace(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int avt_clock_estimator_fit(avt_clock_estimator *e, avt_clock_model *m)
{
    memset(m, 0, sizeof *m);
    const size_t n = e->n;
    m->n_pairs = e->total;
    if (n < 8) return AVT_OK;
    double *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return AVT_NOMEM;
    /* Theil-Sen over pairs half the sample apart (samples are in time order) */
    const size_t h = n / 2;
    size_t k = 0;
    for (size_t i = 0; i + h < n; i++) {
        double dt = e->t[i + h] - e->t[i];
        if (dt > 0) tmp[k++] = (e->d[i + h] - e->d[i]) / dt;
    }
    double slope = k ? median_inplace(tmp, k) : 0; /* ns per s */
    for (size_t i = 0; i < n; i++) tmp[i] = e->d[i] - slope * e->t[i];
    double icpt = median_inplace(tmp, n);
    for (size_t i = 0; i < n; i++) tmp[i] = fabs(e->d[i] - slope * e->t[i] - icpt);
    double sigma = 1.4826 * median_inplace(tmp, n);
    double lim = 4 * (sigma > 1000 ? sigma : 1000); /* at least 4 us: exact clocks have MAD 0 */
    /* least squares on the inliers */
    double st = 0, sd = 0, stt = 0, std_ = 0;
    size_t ni = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(e->d[i] - slope * e->t[i] - icpt) > lim) continue;
        st += e->t[i], sd += e->d[i], stt += e->t[i] * e->t[i], std_ += e->t[i] * e->d[i];
        ni++;
    }
    free(tmp);
    if (ni < 8) return AVT_OK;
    double mt = st / (double)ni, md = sd / (double)ni;
    double sxx = stt - (double)ni * mt * mt, sxy = std_ - (double)ni * mt * md;
    double b = sxx > 1e-12 ? sxy / sxx : 0;
    double a = md - b * mt; /* at t = 0, i.e. t0_ns */
    double rss = 0;
    for (size_t i = 0; i < n; i++) {
        double r = e->d[i] - a - b * e->t[i];
        if (fabs(e->d[i] - slope * e->t[i] - icpt) <= lim) rss += r * r;
    }
    double s2 = ni > 2 ? rss / (double)(ni - 2) : 0;
    /* the sample is thinned: each kept pair stands for `stride` pairs, but they are
     * independent draws only at the sample's density, so the errors are the sample's */
    m->valid = 1;
    m->t_ref_ns = e->t0_ns + (int64_t)llround(mt * 1e9); /* centre: uncorrelated errors */
    m->offset_ns = a + b * mt;
    m->drift = b * 1e-9;
    m->offset_sd_ns = sqrt(s2 / (double)ni);
    m->drift_sd = sxx > 1e-12 ? sqrt(s2 / sxx) * 1e-9 : INFINITY;
    m->residual_sd_ns = sigma;
    m->n_inliers = (size_t)llround((double)ni * (double)e->total / (double)n);
    if (m->n_inliers > m->n_pairs) m->n_inliers = m->n_pairs;
    return AVT_OK;
}

int avt_clock_offset_guess(const int64_t *delta, size_t n, int64_t *offset_ns)
{
    if (n == 0) return AVT_NOTFOUND;
    /* 0.5 ms bins over [-1 s, 1 s]; deltas beyond are ignored */
    enum { NB = 4000 };
    const double w = 5e5;
    uint32_t *h = calloc(NB, sizeof *h);
    double *near = malloc(n * sizeof *near);
    int rc = AVT_OK;
    if (!h || !near) {
        rc = AVT_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double b = floor(((double)delta[i] + NB / 2 * w) / w);
        if (b >= 0 && b < NB) h[(size_t)b]++;
    }
    /* mode of the counts smoothed over 3 bins (a 2 ms jitter spreads over several bins) */
    size_t best = 0;
    uint64_t best_c = 0;
    for (size_t b = 0; b < NB; b++) {
        uint64_t c = h[b] + (b ? h[b - 1] : 0) + (b + 1 < NB ? h[b + 1] : 0);
        if (c > best_c) best_c = c, best = b;
    }
    if (best_c == 0) {
        rc = AVT_NOTFOUND;
        goto out;
    }
    double centre = ((double)best + 0.5) * w - NB / 2 * w;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)delta[i] - centre) <= 3e6) near[k++] = (double)delta[i];
    *offset_ns = (int64_t)llround(k ? median_inplace(near, k) : centre);
out:
    free(near);
    free(h);
    return rc;
}
