/* avtruth calibcheck: the score of a calibration and the coarse-to-fine search over small
 * errors E (Levinson & Thrun, RSS 2013, sections III-C and IV; include/avtruth/calibcheck.h). */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "avtruth/calibcheck.h"

#define DEG (M_PI / 180.0)

avt_tf avt_cc_error_tf(const double e[AVT_CC_NPARAM])
{
    double cr = cos(e[AVT_CC_ROLL]), sr = sin(e[AVT_CC_ROLL]);
    double cp = cos(e[AVT_CC_PITCH]), sp = sin(e[AVT_CC_PITCH]);
    double cy = cos(e[AVT_CC_YAW]), sy = sin(e[AVT_CC_YAW]);
    /* Rz(yaw) Ry(pitch) Rx(roll) */
    avt_tf t = {{cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr, e[AVT_CC_X],
                 sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr, e[AVT_CC_Y],
                 -sp, cp * sr, cp * cr, e[AVT_CC_Z],
                 0, 0, 0, 1}};
    return t;
}

void avt_cc_error_params(const avt_tf *E, double e[AVT_CC_NPARAM])
{
    const double *m = E->m;
    e[AVT_CC_ROLL] = atan2(m[9], m[10]);
    e[AVT_CC_PITCH] = asin(fmax(-1.0, fmin(1.0, -m[8])));
    e[AVT_CC_YAW] = atan2(m[4], m[0]);
    e[AVT_CC_X] = m[3];
    e[AVT_CC_Y] = m[7];
    e[AVT_CC_Z] = m[11];
}

int avt_cc_scratch_reserve(avt_cc_scratch *s, size_t n, avt_error *err)
{
    if (n <= s->cap) return AVT_OK;
    float *u = realloc(s->u, n * sizeof *u);
    if (u) s->u = u;
    float *v = realloc(s->v, n * sizeof *v);
    if (v) s->v = v;
    float *d = realloc(s->depth, n * sizeof *d);
    if (d) s->depth = d;
    uint8_t *ok = realloc(s->valid, n);
    if (ok) s->valid = ok;
    if (!u || !v || !d || !ok) return avt_err(err, AVT_NOMEM, "out of memory for %zu projections", n);
    s->cap = n;
    return AVT_OK;
}

void avt_cc_scratch_free(avt_cc_scratch *s)
{
    free(s->u);
    free(s->v);
    free(s->depth);
    free(s->valid);
    memset(s, 0, sizeof *s);
}

void avt_cc_dmap_quantise(const float *d, size_t n, uint16_t *q)
{
    for (size_t i = 0; i < n; i++) {
        float x = d[i] > 0.0f ? (d[i] < 1.0f ? d[i] : 1.0f) : 0.0f; /* NaN: 0 */
        q[i] = (uint16_t)lrintf(x * AVT_CC_DMAP_ONE);
    }
}

/* Whether (x, y) lies where D can be sampled: [0, W-1) x [0, H-1) */
static int in_map(const avt_cc_frame *f, float x, float y)
{
    return x >= 0.0f && x < (float)f->width - 1.0f && y >= 0.0f && y < (float)f->height - 1.0f;
}

/* Sum of w_i D(u_i, v_i), D bilinear between pixel centres (integers); points outside
 * [0, W-1) x [0, H-1) or invalid count 0. A plain loop over arrays that the compiler can
 * vectorise up to the gathers. */
static double frame_score(const avt_cc_frame *f, const float *u, const float *v, const uint8_t *valid, size_t *n_in)
{
    const uint16_t *d = f->dmap;
    const size_t stride = f->width;
    double sum = 0.0;
    size_t in = 0;
    for (size_t i = 0; i < f->n; i++) {
        float x = u[i], y = v[i];
        if (!valid[i] || !in_map(f, x, y)) continue;
        size_t x0 = (size_t)x, y0 = (size_t)y;
        float fx = x - (float)x0, fy = y - (float)y0;
        const uint16_t *p = d + y0 * stride + x0;
        float p00 = p[0], p01 = p[1], p10 = p[stride], p11 = p[stride + 1];
        float top = p00 + fx * (p01 - p00), bot = p10 + fx * (p11 - p10);
        sum += (double)(f->w[i] * (top + fy * (bot - top)));
        in++;
    }
    if (n_in) *n_in += in;
    return sum / AVT_CC_DMAP_ONE;
}

/* camera <- LiDAR under the calibration stored^-1 E (E from e) */
static avt_tf error_cam_T_src(const avt_tf *lidar_T_cam, const double e[AVT_CC_NPARAM])
{
    avt_tf E = avt_cc_error_tf(e), cam_T_lidar = avt_tf_inv(lidar_T_cam);
    return avt_tf_mul(&cam_T_lidar, &E);
}

double avt_cc_score(const avt_cam_model *m, const avt_tf *lidar_T_cam, const double e[AVT_CC_NPARAM],
                    const avt_cc_frame *f, size_t nf, avt_cc_scratch *s, size_t *n_in)
{
    avt_tf cam_T_src = error_cam_T_src(lidar_T_cam, e);
    double sum = 0.0;
    if (n_in) *n_in = 0;
    for (size_t k = 0; k < nf; k++) {
        avt_cam_project_points_soa(m, &cam_T_src, f[k].x, f[k].y, f[k].z, f[k].n, s->u, s->v, s->depth, s->valid);
        sum += frame_score(&f[k], s->u, s->v, s->valid, n_in);
    }
    return sum;
}

void avt_cc_options_default(avt_cc_options *o)
{
    o->rot_step_deg = 0.2;
    o->trans_step_m = 0.04;
    o->levels = 3;
    o->max_rot_deg = 3.0;
    o->max_trans_m = 0.5;
    o->grid = 1;
    o->grid_rot_deg = 0.1;
    o->grid_trans_m = 0.02;
    o->min_sharpness = 0.004;
    o->min_breadth = 0.008;
    o->jackknife_bands = 8;
    o->min_across_share = 0.05;
}

typedef struct search_ctx {
    const avt_cam_model *m;
    const avt_tf *lidar_T_cam;
    const avt_cc_frame *f;
    size_t nf;
    avt_cc_scratch *scratch; /* one per thread */
    int threads;
    int evaluations;
    /* rotation that keeps points at the typical depth in view while the translation moves by a
     * unit along axis j: comp[j] (roll, pitch, yaw per metre) */
    double comp[3][3];
    int turn_seen[3]; /* the angles a parallax move may turn: those the score sees */
} search_ctx;

/* Moves parameter k of p by amount. A translation moves together with the rotation that keeps
 * the points at the typical depth where they were (a "parallax move"): a shift and a small
 * turn have nearly the same effect on far points, so plain moves of either would stop on the
 * ridge between them. Angles the score does not see stay where they are (held at 0). */
static void move(const search_ctx *c, double *p, int k, double amount)
{
    p[k] += amount;
    if (k >= AVT_CC_X)
        for (int r = 0; r < 3; r++)
            if (c->turn_seen[r]) p[r] += c->comp[k - AVT_CC_X][r] * amount;
}

/* comp from the camera's optical axis a (LiDAR frame) and the harmonic mean depth d of the
 * points in front: a shift t moves a point at a d sideways by t's part across a; the rotation
 * w = (t x a) / d moves it back (w x a d = -(t - (t.a) a)). Small angles: roll, pitch, yaw =
 * w's x, y, z. */
static void parallax_init(search_ctx *c)
{
    const double *m = c->lidar_T_cam->m;
    double a[3] = {m[2], m[6], m[10]}, inv = 0;
    size_t n = 0;
    for (size_t k = 0; k < c->nf; k++)
        for (size_t i = 0; i < c->f[k].n; i++) {
            double d = a[0] * c->f[k].x[i] + a[1] * c->f[k].y[i] + a[2] * c->f[k].z[i];
            if (d > 1.0) inv += 1.0 / d, n++;
        }
    double depth = n ? (double)n / inv : 1e9;
    for (int j = 0; j < 3; j++) {
        double t[3] = {j == 0, j == 1, j == 2};
        c->comp[j][0] = (t[1] * a[2] - t[2] * a[1]) / depth;
        c->comp[j][1] = (t[2] * a[0] - t[0] * a[2]) / depth;
        c->comp[j][2] = (t[0] * a[1] - t[1] * a[0]) / depth;
    }
}

/* Scores nc candidates (6 parameters each) in parallel. */
static void score_many(search_ctx *c, const double *cand, int nc, double *score)
{
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
    for (int i = 0; i < nc; i++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        score[i] = avt_cc_score(c->m, c->lidar_T_cam, cand + AVT_CC_NPARAM * i, c->f, c->nf, &c->scratch[t], NULL);
    }
    c->evaluations += nc;
}

/* The search's bound on parameter k (options max_rot_deg, max_trans_m). */
static double search_bound(const avt_cc_options *o, int k)
{
    return k < AVT_CC_X ? o->max_rot_deg * DEG : o->max_trans_m;
}

static void clamp(double e[AVT_CC_NPARAM], const avt_cc_options *o)
{
    for (int k = 0; k < AVT_CC_NPARAM; k++) {
        double lim = search_bound(o, k);
        e[k] = fmax(-lim, fmin(lim, e[k]));
    }
}

/* Share of the 3^6 - 1 grid neighbours of e scoring below s0. */
static double grid_fraction(search_ctx *c, const double e[AVT_CC_NPARAM], double s0, const avt_cc_options *o,
                            double *cand, double *score)
{
    int nc = 0;
    for (int g = 0; g < 729; g++) {
        if (g == 364) continue; /* all digits 1: the centre */
        int r = g;
        for (int k = 0; k < AVT_CC_NPARAM; k++, r /= 3) {
            double step = k < AVT_CC_X ? o->grid_rot_deg * DEG : o->grid_trans_m;
            cand[AVT_CC_NPARAM * nc + k] = e[k] + (r % 3 - 1) * step;
        }
        nc++;
    }
    score_many(c, cand, nc, score);
    int lower = 0;
    for (int i = 0; i < nc; i++) lower += score[i] < s0;
    return (double)lower / nc;
}

/* Coarse-to-fine ascent over the active parameters from level `from` on (see the header). */
static void descend(search_ctx *c, const avt_cc_options *o, const int active[AVT_CC_NPARAM], int from,
                    double best[AVT_CC_NPARAM], double *s_best, double *cand, double *score)
{
    for (int level = from; level <= o->levels; level++) {
        double sr = o->rot_step_deg * DEG / (1 << level), st = o->trans_step_m / (1 << level);
        for (int iter = 0; iter < 30; iter++) {
            /* axis neighbours, the diagonal neighbours of each pair of parameters (ridges such
             * as yaw against a sideways shift run diagonally), then one combined step from a
             * parabola per parameter */
            int nc = 0, at[2 * AVT_CC_NPARAM];
            const double step[AVT_CC_NPARAM] = {sr, sr, sr, st, st, st};
            for (int i = 0; i < 2 * AVT_CC_NPARAM; i++) {
                int k = i / 2;
                if (!active[k]) continue;
                double *p = cand + AVT_CC_NPARAM * nc;
                memcpy(p, best, AVT_CC_NPARAM * sizeof *best);
                move(c, p, k, (i % 2 ? 1 : -1) * step[k]);
                clamp(p, o);
                at[i] = nc++;
            }
            for (int k = 0; k < AVT_CC_NPARAM; k++)
                for (int l = k + 1; l < AVT_CC_NPARAM; l++)
                    for (int q = 0; q < 4 && active[k] && active[l]; q++) {
                        double *p = cand + AVT_CC_NPARAM * nc++;
                        memcpy(p, best, AVT_CC_NPARAM * sizeof *best);
                        move(c, p, k, (q & 1 ? 1 : -1) * step[k]);
                        move(c, p, l, (q & 2 ? 1 : -1) * step[l]);
                        clamp(p, o);
                    }
            score_many(c, cand, nc, score);
            double *comb = cand + AVT_CC_NPARAM * nc;
            memcpy(comb, best, AVT_CC_NPARAM * sizeof *best);
            for (int k = 0; k < AVT_CC_NPARAM; k++) {
                if (!active[k]) continue;
                double sm = score[at[2 * k]], sp = score[at[2 * k + 1]], curv = sm + sp - 2 * *s_best;
                if (curv < 0) move(c, comb, k, step[k] * fmax(-1.0, fmin(1.0, 0.5 * (sm - sp) / curv)));
                else if (fmax(sm, sp) > *s_best) move(c, comb, k, sp > sm ? step[k] : -step[k]);
            }
            clamp(comb, o);
            score_many(c, comb, 1, score + nc);
            int ib = -1;
            double s = *s_best;
            for (int i = 0; i <= nc; i++)
                if (score[i] > s) s = score[i], ib = i;
            if (ib < 0) break;
            memcpy(best, cand + AVT_CC_NPARAM * ib, AVT_CC_NPARAM * sizeof *best);
            *s_best = s;
        }
    }
}

/* Drop of the score per parameter at probes of `scale` grid steps either side of best:
 * 1 - mean(score at +-probe) / s_best. */
static void sharpness(search_ctx *c, const avt_cc_options *o, const double best[AVT_CC_NPARAM], double s_best,
                      double scale, double sharp[AVT_CC_NPARAM], double *cand, double *score)
{
    for (int i = 0; i < 2 * AVT_CC_NPARAM; i++) {
        double *p = cand + AVT_CC_NPARAM * i;
        memcpy(p, best, AVT_CC_NPARAM * sizeof *best);
        int k = i / 2;
        move(c, p, k, (i % 2 ? 1 : -1) * scale * (k < AVT_CC_X ? o->grid_rot_deg * DEG : o->grid_trans_m));
    }
    score_many(c, cand, 2 * AVT_CC_NPARAM, score);
    for (int k = 0; k < AVT_CC_NPARAM; k++)
        sharp[k] = s_best > 0 ? 1.0 - 0.5 * (score[2 * k] + score[2 * k + 1]) / s_best : 0.0;
}

/* Projects frame f with the error e into u, v, valid (scratch s for the depths). */
static void project_frame(const search_ctx *c, const double e[AVT_CC_NPARAM], const avt_cc_frame *f, float *u,
                          float *v, uint8_t *valid, avt_cc_scratch *s)
{
    avt_tf cam_T_src = error_cam_T_src(c->lidar_T_cam, e);
    avt_cam_project_points_soa(c->m, &cam_T_src, f->x, f->y, f->z, f->n, u, v, s->depth, valid);
}

/* The jackknife over o->jackknife_bands bands of image columns (see avt_cc_options): the
 * estimates without each band (searched again from the whole view's, from the second step
 * size on), their standard errors sd (0 for the parameters not searched) and the significance
 * of the correction: the points' displacement under each band's estimate projected on the
 * whole view's (1 for the whole view's itself), 1 over that share's standard error. A share
 * of the displacement, not the parameters: where two parameters move the points alike (a
 * shift and a turn at one depth) the band estimates wander along that ridge, which the
 * parameters' spread shows and the displacement's does not. AVT_OK or AVT_NOMEM. */
static int jackknife(search_ctx *c, const avt_cc_options *o, const int active[AVT_CC_NPARAM],
                     const double best[AVT_CC_NPARAM], double sd[AVT_CC_NPARAM], double *significance,
                     double *bands, double *cand, double *score, avt_error *err)
{
    const int K = o->jackknife_bands < AVT_CC_MAX_BANDS ? o->jackknife_bands : AVT_CC_MAX_BANDS;
    size_t total = 0;
    for (size_t k = 0; k < c->nf; k++) total += c->f[k].n;
    uint8_t *band = malloc(total + 1), *ok = malloc(total + 1);
    float *w = malloc((5 * total + 1) * sizeof *w), *u0 = w + total, *v0 = u0 + total, *du = v0 + total,
          *dv = du + total;
    avt_cc_frame *fb = malloc(c->nf * sizeof *fb);
    double *est = malloc((size_t)K * (AVT_CC_NPARAM + 2) * sizeof *est), *share = est + K * AVT_CC_NPARAM,
           *weight = share + K;
    if (!band || !ok || !w || !fb || !est) {
        free(band), free(ok), free(w), free(fb), free(est);
        return avt_err(err, AVT_NOMEM, "out of memory for the jackknife");
    }
    /* each point's band: its column under the stored calibration (outside: the nearest band);
     * the displacement (du, dv) the whole view's estimate gives the points valid under both */
    avt_cc_scratch *s = &c->scratch[0];
    const double zero[AVT_CC_NPARAM] = {0};
    for (int b = 0; b < K; b++) weight[b] = 0;
    for (size_t k = 0, at = 0; k < c->nf; at += c->f[k].n, k++) {
        const avt_cc_frame *f = &c->f[k];
        project_frame(c, zero, f, u0 + at, v0 + at, ok + at, s);
        for (size_t i = 0; i < f->n; i++) {
            double bb = floor((double)u0[at + i] * K / f->width);
            band[at + i] = (uint8_t)(bb < 0 || !(bb == bb) ? 0 : bb >= K ? K - 1 : bb);
            weight[band[at + i]] += f->w[i];
        }
        project_frame(c, best, f, s->u, s->v, s->valid, s);
        for (size_t i = 0; i < f->n; i++) {
            ok[at + i] = ok[at + i] && s->valid[i];
            du[at + i] = s->u[i] - u0[at + i], dv[at + i] = s->v[i] - v0[at + i];
        }
        fb[k] = *f;
        fb[k].w = w + at;
    }
    search_ctx cb = *c;
    cb.f = fb;
    int n = 0; /* the bands with points, left out in turn; their estimates and shares packed */
    for (int b = 0; b < K; b++) {
        if (!(weight[b] > 0)) continue;
        for (size_t k = 0, at = 0; k < c->nf; at += c->f[k].n, k++)
            for (size_t i = 0; i < c->f[k].n; i++) w[at + i] = band[at + i] == b ? 0.0f : c->f[k].w[i];
        double *e = est + (size_t)n * AVT_CC_NPARAM;
        memcpy(e, best, AVT_CC_NPARAM * sizeof *e);
        double s0 = avt_cc_score(c->m, c->lidar_T_cam, zero, fb, c->nf, s, NULL);
        double sb = avt_cc_score(c->m, c->lidar_T_cam, e, fb, c->nf, s, NULL);
        cb.evaluations = 0;
        descend(&cb, o, active, 1, e, &sb, cand, score);
        c->evaluations += cb.evaluations + 2;
        /* this estimate's displacement projected on the whole view's, over all points; none
         * when the rest of the view scores it no better than the stored calibration (the
         * search starts at the whole view's estimate and stays there where the rest cannot
         * tell: that is no support, not agreement) */
        double num = 0, den = 0;
        for (size_t k = 0, at = 0; k < c->nf && sb > s0; at += c->f[k].n, k++) {
            project_frame(c, e, &c->f[k], s->u, s->v, s->valid, s);
            for (size_t i = 0; i < c->f[k].n; i++) {
                if (!ok[at + i] || !s->valid[i]) continue;
                num += (double)(s->u[i] - u0[at + i]) * du[at + i] + (double)(s->v[i] - v0[at + i]) * dv[at + i];
                den += (double)du[at + i] * du[at + i] + (double)dv[at + i] * dv[at + i];
            }
        }
        share[n++] = den > 0 ? num / den : 0.0;
    }
    /* the effective number of bands (Kish) over the weights of the points each band's leaving
     * out removes: with those in the margin beyond the image, which the search moves in */
    double sw = 0, sww = 0;
    for (int b = 0; b < K; b++) sw += weight[b], sww += weight[b] * weight[b];
    *bands = sww > 0 && isfinite(sw * sw / sww) ? sw * sw / sww : 0.0;
    int moved = 0;
    for (int p = 0; p < AVT_CC_NPARAM; p++) moved |= best[p] != 0;
    for (int p = 0; p <= AVT_CC_NPARAM; p++) { /* the parameters, then the share */
        const double *x = p < AVT_CC_NPARAM ? est + p : share;
        const int stride = p < AVT_CC_NPARAM ? AVT_CC_NPARAM : 1;
        double mean = 0, ss = 0;
        for (int bb = 0; bb < n; bb++) mean += x[bb * stride] / n;
        for (int bb = 0; bb < n; bb++) ss += (x[bb * stride] - mean) * (x[bb * stride] - mean);
        double se = n >= 2 ? sqrt((n - 1.0) / n * ss) : NAN;
        if (p < AVT_CC_NPARAM) sd[p] = active[p] ? se : 0.0;
        /* fewer than two bands with points, or no correction: nothing to tell it by */
        else if (n < 2 || !moved) *significance = 0.0;
        else *significance = se > 1.0 / AVT_CC_MAX_SIGNIFICANCE ? 1.0 / se : AVT_CC_MAX_SIGNIFICANCE;
    }
    free(band), free(ok), free(w), free(fb), free(est);
    return AVT_OK;
}

/* A search's context over nf frames (parallax moves, per-thread scratch) and its candidate
 * buffers: room for the 728 grid neighbours (more than a search step's 12 + 60 + 1). */
static int ctx_open(search_ctx *c, const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f,
                    size_t nf, double **cand, double **score, avt_error *err)
{
    *c = (search_ctx){m, lidar_T_cam, f, nf, NULL, 1, 0, {{0}}, {1, 1, 1}};
    parallax_init(c);
#ifdef _OPENMP
    c->threads = omp_get_max_threads();
#endif
    size_t nmax = 0;
    for (size_t k = 0; k < nf; k++) nmax = f[k].n > nmax ? f[k].n : nmax;
    *cand = malloc(729 * AVT_CC_NPARAM * sizeof **cand);
    *score = malloc(729 * sizeof **score);
    c->scratch = calloc((size_t)c->threads, sizeof *c->scratch);
    int rc = (!*cand || !*score || !c->scratch) ? avt_err(err, AVT_NOMEM, "out of memory for the search") : AVT_OK;
    for (int t = 0; t < c->threads && !rc; t++) rc = avt_cc_scratch_reserve(&c->scratch[t], nmax ? nmax : 1, err);
    return rc;
}

static void ctx_close(search_ctx *c, double *cand, double *score)
{
    for (int t = 0; c->scratch && t < c->threads; t++) avt_cc_scratch_free(&c->scratch[t]);
    free(c->scratch);
    free(cand);
    free(score);
}

int avt_cc_jackknife(const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f, size_t nf,
                     const avt_cc_options *o, avt_cc_estimate *est, avt_error *err)
{
    for (int k = 0; k < AVT_CC_NPARAM; k++) est->sd[k] = NAN;
    est->significance = est->bands = NAN;
    if (o->jackknife_bands < 2 || nf == 0) return AVT_OK;
    search_ctx c;
    double *cand, *score;
    int rc = ctx_open(&c, m, lidar_T_cam, f, nf, &cand, &score, err);
    /* the search's parallax moves turn only the angles it found the score to see */
    for (int k = 0; k < AVT_CC_X; k++) c.turn_seen[k] = est->observed[k];
    if (!rc) rc = jackknife(&c, o, est->observed, est->error, est->sd, &est->significance, &est->bands, cand, score,
                            err);
    est->evaluations += c.evaluations;
    ctx_close(&c, cand, score);
    return rc;
}

void avt_cc_estimate_clear(avt_cc_estimate *e)
{
    memset(e, 0, sizeof *e);
    for (int k = 0; k < AVT_CC_NPARAM; k++) e->sd[k] = NAN;
    e->significance = e->bands = e->common_gain = e->across_gain = e->across_share = NAN;
    e->across_rad = e->along_rad = e->across_gaps = e->beyond_tol = NAN;
}

int avt_cc_search(const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f, size_t nf,
                  const avt_cc_options *o, avt_cc_estimate *out, avt_error *err)
{
    avt_cc_estimate_clear(out);
    if (nf == 0) return avt_err(err, AVT_INVAL, "calibration check: no frame to score");
    search_ctx c;
    double *cand, *score;
    int rc = ctx_open(&c, m, lidar_T_cam, f, nf, &cand, &score, err);
    if (rc) goto out;

    double best[AVT_CC_NPARAM] = {0}, s_best;
    s_best = out->score_stored = avt_cc_score(m, lidar_T_cam, best, f, nf, &c.scratch[0], &out->points);
    /* Rotations first: an angle error moves far points as much as a large shift would, and a
     * shift searched at the same time settles on the ridge between the two. Then what the score
     * sees: parameters it does not see would wander with noise and drag the others along, so
     * they are held at 0 while the seen ones are searched together. An angle is seen when the
     * score curves at +-0.1 deg (sharpness) or falls over +-0.4 deg (breadth: real scenes whose
     * edges are blurred or sparse give a tent, flat at its top). A shift is judged where the
     * search has taken it, by its breadth alone: at the rotations' estimate a shift sits on the
     * slope of the ridge between a shift and a turn, where neither probe tells (a 5 cm shift up
     * read as -0.22 deg of pitch had sharpness 0.0004 there, breadth 0.012 at the end).
     * Before all that, without edges across the rings (options min_across_share), the
     * parameters that move the points more across the rings than along them are held at 0:
     * never searched or observed (their probes reported null). */
    int active[AVT_CC_NPARAM] = {1, 1, 1, 0, 0, 0}, held[AVT_CC_NPARAM] = {0};
    double w_all = 0, w_across = 0;
    for (size_t k = 0; k < nf; k++)
        for (size_t i = 0; i < f[k].n; i++) {
            w_all += f[k].w[i];
            if (!f[k].along_rings) w_across += f[k].w[i];
        }
    out->across_share = w_all > 0 ? w_across / w_all : NAN;
    for (int k = 0; k < AVT_CC_NPARAM && out->across_share < o->min_across_share; k++) {
        avt_cc_estimate step;
        avt_cc_estimate_clear(&step);
        step.error[k] = k < AVT_CC_X ? o->grid_rot_deg * DEG : o->grid_trans_m;
        avt_cc_displacement(f, nf, &step);
        held[k] = step.across_rad >= step.along_rad; /* NaN (no half gaps): searched */
        if (k < AVT_CC_X) active[k] = !held[k];
    }
    descend(&c, o, active, 0, best, &s_best, cand, score);
    sharpness(&c, o, best, s_best, 1.0, out->sharpness, cand, score);
    sharpness(&c, o, best, s_best, AVT_CC_WIDE_PROBE, out->breadth, cand, score);
    int unseen = 0;
    for (int k = 0; k < AVT_CC_X; k++) {
        active[k] = c.turn_seen[k] =
            !held[k] && (out->sharpness[k] >= o->min_sharpness || out->breadth[k] >= o->min_breadth);
        if (!active[k] && best[k] != 0) best[k] = 0, unseen = 1;
    }
    for (int k = AVT_CC_X; k < AVT_CC_NPARAM; k++) active[k] = !held[k];
    for (int pass = 0; pass < 2; pass++) {
        if (unseen) s_best = avt_cc_score(m, lidar_T_cam, best, f, nf, &c.scratch[0], NULL), c.evaluations++;
        descend(&c, o, active, 1, best, &s_best, cand, score);
        sharpness(&c, o, best, s_best, 1.0, out->sharpness, cand, score);
        sharpness(&c, o, best, s_best, AVT_CC_WIDE_PROBE, out->breadth, cand, score);
        unseen = 0;
        /* a shift not seen is taken back with the turn its parallax moves added */
        for (int k = AVT_CC_X; k < AVT_CC_NPARAM && pass == 0; k++)
            if (active[k] && out->breadth[k] < o->min_breadth) move(&c, best, k, -best[k]), active[k] = 0, unseen = 1;
        if (!unseen) break;
    }
    for (int k = 0; k < AVT_CC_NPARAM; k++)
        if (held[k]) out->sharpness[k] = out->breadth[k] = NAN; /* not searched: not judged by them */
    memcpy(out->observed, active, sizeof active);
    memcpy(out->error, best, sizeof best);
    out->at_bound = 0;
    for (int k = 0; k < AVT_CC_NPARAM; k++)
        out->at_bound |= active[k] && fabs(best[k]) >= search_bound(o, k) * (1.0 - 1e-9);
    out->score_best = s_best;
    out->f_stored = out->f_best = NAN;
    if (o->grid) {
        double zero[AVT_CC_NPARAM] = {0};
        out->f_stored = grid_fraction(&c, zero, out->score_stored, o, cand, score);
        out->f_best = grid_fraction(&c, best, s_best, o, cand, score);
    }
    out->evaluations = c.evaluations + 1;
out:
    ctx_close(&c, cand, score);
    return rc;
}

const char *avt_cc_status_name(int status)
{
    switch (status) {
    case AVT_CC_ALIGNED: return "aligned";
    case AVT_CC_MISCALIBRATED: return "miscalibrated";
    default: return "undetermined";
    }
}

void avt_cc_thresholds_default(avt_cc_thresholds *t)
{
    t->rot_deg = 0.15;
    t->trans_m = 0.03;
    t->min_points = 200;
    t->min_gain = 0.01;
    t->level = 0.02;
    t->min_beyond_tol = 0.1;
}

int avt_cc_common_gain(const avt_cam_model *m, const avt_tf *lidar_T_cam, const avt_cc_frame *f, size_t nf,
                       avt_cc_estimate *est, avt_error *err)
{
    est->common_gain = est->across_gain = NAN;
    size_t nmax = 0;
    for (size_t k = 0; k < nf; k++) nmax = f[k].n > nmax ? f[k].n : nmax;
    avt_cc_scratch a = {0}, b = {0};
    int rc = avt_cc_scratch_reserve(&a, nmax ? nmax : 1, err);
    if (!rc) rc = avt_cc_scratch_reserve(&b, nmax ? nmax : 1, err);
    const double zero[AVT_CC_NPARAM] = {0};
    const avt_tf c0 = error_cam_T_src(lidar_T_cam, zero), c1 = error_cam_T_src(lidar_T_cam, est->error);
    double s0 = 0, s1 = 0, a0 = 0, a1 = 0;
    for (size_t k = 0; k < nf && !rc; k++) {
        avt_cam_project_points_soa(m, &c0, f[k].x, f[k].y, f[k].z, f[k].n, a.u, a.v, a.depth, a.valid);
        avt_cam_project_points_soa(m, &c1, f[k].x, f[k].y, f[k].z, f[k].n, b.u, b.v, b.depth, b.valid);
        for (size_t i = 0; i < f[k].n; i++)
            a.valid[i] = a.valid[i] && b.valid[i] && in_map(&f[k], a.u[i], a.v[i]) && in_map(&f[k], b.u[i], b.v[i]);
        const double f0 = frame_score(&f[k], a.u, a.v, a.valid, NULL), f1 = frame_score(&f[k], b.u, b.v, a.valid, NULL);
        s0 += f0, s1 += f1;
        if (!f[k].along_rings) a0 += f0, a1 += f1;
    }
    if (!rc && est->score_stored > 0) {
        est->common_gain = (s1 - s0) / est->score_stored;
        est->across_gain = (a1 - a0) / est->score_stored;
    }
    avt_cc_scratch_free(&a);
    avt_cc_scratch_free(&b);
    return rc;
}

void avt_cc_displacement(const avt_cc_frame *f, size_t nf, avt_cc_estimate *est)
{
    const avt_tf E = avt_cc_error_tf(est->error);
    double across = 0, along = 0, gaps = 0, beyond = 0, sw = 0;
    for (size_t k = 0; k < nf; k++) {
        if (!f[k].half_gap) continue;
        for (size_t i = 0; i < f[k].n; i++) {
            const double hg = f[k].half_gap[i];
            if (!(hg > 0) || !isfinite(hg)) continue; /* a ring without neighbours */
            double p[3] = {f[k].x[i], f[k].y[i], f[k].z[i]}, q[3];
            avt_tf_apply(&E, p, q);
            double el = atan2(p[2], hypot(p[0], p[1])), del = fabs(atan2(q[2], hypot(q[0], q[1])) - el);
            double daz = fabs(atan2(q[1], q[0]) - atan2(p[1], p[0]));
            daz = daz > M_PI ? 2 * M_PI - daz : daz;
            const double w = f[k].w[i];
            across += w * del;
            along += w * daz * cos(el);
            gaps += w * del / hg;
            beyond += del >= (f[k].along_rings ? 2 * hg : hg) ? w : 0.0;
            sw += w;
        }
    }
    est->across_rad = sw > 0 ? across / sw : NAN;
    est->along_rad = sw > 0 ? along / sw : NAN;
    est->across_gaps = sw > 0 ? gaps / sw : NAN;
    est->beyond_tol = sw > 0 ? beyond / sw : NAN;
}

/* The gain rule of avt_cc_judge */
static int gain_enough(int bad, double gain, const avt_cc_thresholds *t)
{
    return (bad && gain >= t->min_gain) || gain >= 2 * t->min_gain;
}

int avt_cc_judge(const avt_cc_estimate *e, const avt_cc_thresholds *t)
{
    int any = 0, bad = 0;
    for (int k = 0; k < AVT_CC_NPARAM; k++) {
        if (!e->observed[k]) continue;
        any = 1;
        bad |= fabs(e->error[k]) >= (k < AVT_CC_X ? t->rot_deg * DEG : t->trans_m);
    }
    if (e->points < t->min_points || !any || e->at_bound) return AVT_CC_UNDETERMINED;
    double gain = e->score_stored > 0 ? e->score_best / e->score_stored - 1.0 : 0.0;
    /* a parameter beyond its threshold with a gain above the score's noise, or twice that gain
     * whatever the parameters (a sideways shift the score cannot tell from a turn shows as
     * two errors each below its threshold) */
    if (!gain_enough(bad, gain, t)) return AVT_CC_ALIGNED;
    /* ... and so over the points both calibrations put in the image (not a gain from points the
     * correction brings in, as along an edge that leaves the image; not asked when NaN) ... */
    if (!isnan(e->common_gain) && !gain_enough(bad, e->common_gain, t)) return AVT_CC_UNDETERMINED;
    /* ... and, moving the points more across the rings than along them, by more than the
     * places of the edges between the beams are known (always without half gaps: NaN) ... */
    if (e->across_rad >= e->along_rad &&
        (e->beyond_tol < t->min_beyond_tol || (!isnan(e->across_gain) && !(e->across_gain > 0.0))))
        return AVT_CC_UNDETERMINED;
    /* ... and a correction that holds whichever part of the view is left out (always without
     * the jackknife: significance NaN); else the data cannot tell */
    if (isnan(e->significance)) return AVT_CC_MISCALIBRATED;
    return e->significance >= avt_cc_significance_needed(e, t) ? AVT_CC_MISCALIBRATED : AVT_CC_UNDETERMINED;
}

double avt_cc_significance_needed(const avt_cc_estimate *e, const avt_cc_thresholds *t)
{
    if (isnan(e->bands) || !(t->level > 0.0 && t->level < 1.0)) return NAN;
    return e->bands >= 2.0 && isfinite(e->bands) ? gsl_cdf_tdist_Qinv(0.5 * t->level, e->bands - 1.0) : INFINITY;
}
