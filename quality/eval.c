/* avtruth quality: detection metrics against ground truth.
 * - KITTI object benchmark (devkit_object, cpp/evaluate_object.cpp, and the 40-point
 *   variant of Simonelli et al. 2019, "Disentangling monocular 3D object detection"): per
 *   class and difficulty, score thresholds taken from the true positives where recall
 *   reaches each of 40 steps, KITTI's assignment at each threshold (highest overlap among
 *   unassigned detections scoring at or above it), DontCare regions and boxes outside a
 *   difficulty neither true nor false; AP R40 = mean of the interpolated precision (the
 *   best at recall >= r) at r = 1/40..1, AP R11 = mean at r = 0, 0.1, .., 1.
 * - nuScenes detection (nuscenes-devkit eval/detection/algo.py: accumulate, calc_ap,
 *   calc_tp): greedy matching by score on centre distance at 0.5, 1, 2, 4 m; precision at
 *   101 recall points, AP over recall > 0.1 and precision above 0.1; TP errors (ATE, ASE,
 *   AOE, AVE) at 2 m as cumulative means over the recall range reached. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "avtruth/quality.h"

#define KITTI_PTS 41
static const double MIN_HEIGHT[3] = {40, 25, 25};
static const int MAX_OCCLUSION[3] = {0, 1, 2};
static const double MAX_TRUNCATION[3] = {0.15, 0.3, 0.5};

void avt_eval_opts_default(avt_eval_opts *o, const avt_schema *s)
{
    avt_match_opts m;
    avt_match_opts_schema(&m, AVT_MATCH_IOU_3D, s);
    o->schema = s;
    memcpy(o->iou_threshold, m.threshold, sizeof o->iou_threshold);
    static const double d[4] = {0.5, 1, 2, 4};
    memcpy(o->nusc_distances, d, sizeof d);
    o->nusc_tp_distance = 2;
}

static double score_of(const avt_label_box *b) { return isnan(b->score) ? 1.0 : b->score; }

/* One frame restricted to one class (other classes never count in KITTI's statistics), its
 * overlaps computed once per metric; ig/id are refilled per difficulty. */
typedef struct kframe {
    size_t ng, nd;
    const avt_eval_frame *e;
    size_t *gi, *dj;  /* indices of the class's boxes in the frame */
    int *ig, *id;     /* ignored_gt (0 counted, 1 ignored); ignored_det (0 counted, 1 ignored) */
    double *score;    /* per detection */
    double *ov;       /* ng x nd overlaps */
    char *in_dc;      /* detection inside a DontCare region */
    char *assigned;
} kframe;

static void kframe_free(kframe *k, size_t n)
{
    for (size_t i = 0; k && i < n; i++) free(k[i].gi);
    free(k);
}

/* The class's boxes (and the neighbour class's ground truth) and their overlaps; 0 or -1 when
 * out of memory. */
static int kitti_prepare(const avt_eval_frame *fr, size_t n, int cls, int nb, int bev, double thr, kframe *k)
{
    for (size_t f = 0; f < n; f++) {
        const avt_eval_frame *e = &fr[f];
        kframe *q = &k[f];
        size_t ng = 0, nd = 0;
        for (size_t i = 0; i < e->n_gt; i++) ng += e->gt[i].class_id == cls || e->gt[i].class_id == nb;
        for (size_t j = 0; j < e->n_pred; j++) nd += e->pred[j].class_id == cls;
        char *mem = malloc((ng + nd) * (sizeof(size_t) + sizeof(int)) + (nd + ng * nd) * sizeof(double) + 2 * nd + 1);
        if (!mem) return -1;
        q->e = e, q->ng = ng, q->nd = nd;
        q->gi = (size_t *)mem; /* first in the block: kframe_free frees it */
        q->dj = q->gi + ng;
        q->score = (double *)(q->dj + nd);
        q->ov = q->score + nd;
        q->ig = (int *)(q->ov + ng * nd);
        q->id = q->ig + ng;
        q->in_dc = (char *)(q->id + nd);
        q->assigned = q->in_dc + nd;
        ng = nd = 0;
        for (size_t i = 0; i < e->n_gt; i++)
            if (e->gt[i].class_id == cls || e->gt[i].class_id == nb) q->gi[ng++] = i;
        for (size_t j = 0; j < e->n_pred; j++)
            if (e->pred[j].class_id == cls) {
                const avt_box_view *v = e->pred_view ? &e->pred_view[j] : NULL;
                q->score[nd] = score_of(&e->pred[j]);
                q->in_dc[nd] = 0;
                for (size_t d = 0; v && d < e->n_dontcare; d++)
                    q->in_dc[nd] |= avt_quality_iou_2d(v->xyxy, e->dontcare[d], 1) > thr;
                q->dj[nd++] = j;
            }
        for (size_t i = 0; i < ng; i++)
            for (size_t j = 0; j < nd; j++) {
                const avt_label_box *g = &e->gt[q->gi[i]], *p = &e->pred[q->dj[j]];
                q->ov[i * nd + j] = bev ? avt_quality_iou_bev(g, p) : avt_quality_iou_3d(g, p);
            }
    }
    return 0;
}

/* KITTI's cleanData for one difficulty: which boxes count (a neighbour class's never does);
 * returns the counted ground truth. */
static size_t kitti_level(kframe *k, size_t n, int cls, int diff)
{
    size_t n_gt = 0;
    for (size_t f = 0; f < n; f++) {
        kframe *q = &k[f];
        for (size_t i = 0; i < q->ng; i++) {
            const avt_box_view *v = q->e->gt_view ? &q->e->gt_view[q->gi[i]] : NULL;
            q->ig[i] = q->e->gt[q->gi[i]].class_id != cls ||
                       (v && v->height_px >= 0 &&
                        (v->occlusion > MAX_OCCLUSION[diff] || v->truncation > MAX_TRUNCATION[diff] ||
                         v->height_px <= MIN_HEIGHT[diff]));
            n_gt += q->ig[i] == 0;
        }
        for (size_t j = 0; j < q->nd; j++) {
            const avt_box_view *v = q->e->pred_view ? &q->e->pred_view[q->dj[j]] : NULL;
            q->id[j] = v && v->height_px >= 0 && v->height_px < MIN_HEIGHT[diff];
        }
    }
    return n_gt;
}

/* KITTI's computeStatistics of one frame. compute_fp = 0: the pass that collects the scores
 * of true positives (tp_scores may be NULL to count only). */
static void kitti_stats(kframe *q, double thr, int compute_fp, double score_thr, long *tp, long *fp, long *fn,
                        double *tp_scores)
{
    const double NO_DET = -1e7;
    memset(q->assigned, 0, q->nd);
    for (size_t i = 0; i < q->ng; i++) {
        long det = -1;
        double valid = NO_DET, max_iou = 0;
        int assigned_ignored = 0;
        const double *ov = &q->ov[i * q->nd];
        for (size_t j = 0; j < q->nd; j++) {
            if (!(ov[j] > thr) || q->assigned[j] || (compute_fp && q->score[j] < score_thr)) continue;
            if (!compute_fp) {
                if (q->score[j] > valid) det = (long)j, valid = q->score[j];
            } else if ((ov[j] > max_iou || assigned_ignored) && q->id[j] == 0) {
                max_iou = ov[j], det = (long)j, valid = 1, assigned_ignored = 0;
            } else if (valid == NO_DET && q->id[j] == 1) {
                det = (long)j, valid = 1, assigned_ignored = 1;
            }
        }
        if (valid == NO_DET) {
            if (q->ig[i] == 0) (*fn)++;
        } else if (q->ig[i] == 1 || q->id[det] == 1) {
            q->assigned[det] = 1;
        } else {
            if (tp_scores) tp_scores[*tp] = q->score[det];
            (*tp)++;
            q->assigned[det] = 1;
        }
    }
    if (!compute_fp) return;
    /* unassigned, counted detections at or above the threshold are false positives, except
     * those inside a DontCare region */
    for (size_t j = 0; j < q->nd; j++)
        if (!q->assigned[j] && q->id[j] == 0 && q->score[j] >= score_thr && !q->in_dc[j]) (*fp)++;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* AP R40 and R11 of prepared frames at the difficulty last set by kitti_level. */
static int kitti_ap_prepared(kframe *k, size_t n, size_t n_gt, double thr, double ap[2])
{
    ap[0] = ap[1] = NAN;
    if (!n_gt) return 0;
    long tp = 0, fp = 0, fn = 0;
    for (size_t f = 0; f < n; f++) kitti_stats(&k[f], thr, 0, 0, &tp, &fp, &fn, NULL);
    double *v = malloc(((size_t)tp + 1) * sizeof *v);
    if (!v) return -1;
    long nv = 0;
    fp = fn = 0;
    for (size_t f = 0; f < n; f++) kitti_stats(&k[f], thr, 0, 0, &nv, &fp, &fn, v);
    qsort(v, (size_t)nv, sizeof *v, cmp_desc);
    /* The score thresholds at which recall first reaches i/40 (KITTI's getThresholds picks
     * the same ones when there are at least 40 true positives); each is evaluated with KITTI's
     * assignment, and the precision is read at the recall it reached: AP|R40 as defined
     * (max precision at recall >= r), so that perfect predictions give 1 whatever the count. */
    double t[KITTI_PTS], rec[KITTI_PTS], prc[KITTI_PTS];
    int nt = 0;
    for (int i = 0; i < KITTI_PTS; i++) {
        long need = (long)ceil((double)i / (KITTI_PTS - 1) * (double)n_gt - 1e-9);
        if (need < 1) need = 1;
        if (need > nv) break;
        if (nt == 0 || v[need - 1] != t[nt - 1]) t[nt++] = v[need - 1];
    }
    free(v);
    for (int i = 0; i < nt; i++) {
        tp = fp = fn = 0;
        for (size_t f = 0; f < n; f++) kitti_stats(&k[f], thr, 1, t[i], &tp, &fp, &fn, NULL);
        rec[i] = (double)tp / (double)n_gt;
        prc[i] = tp + fp > 0 ? (double)tp / (double)(tp + fp) : 0;
    }
    ap[0] = ap[1] = 0;
    for (int i = 0; i < KITTI_PTS; i++) {
        double r = (double)i / (KITTI_PTS - 1), at = 0;
        for (int j = 0; j < nt; j++)
            if (rec[j] >= r - 1e-12) at = fmax(at, prc[j]);
        if (i > 0) ap[0] += at / 40;
        if (i % 4 == 0) ap[1] += at / 11;
    }
    return 0;
}

/* AP of one class and metric at the three difficulties; -1 when out of memory. */
static int kitti_ap_levels(const avt_eval_frame *frames, size_t n, int cls, int nb, int bev, double thr,
                           double ap[3][2], size_t n_gt[3])
{
    kframe *k = calloc(n ? n : 1, sizeof *k);
    int rc = k ? kitti_prepare(frames, n, cls, nb, bev, thr, k) : -1;
    for (int d = 0; d < 3; d++) {
        ap[d][0] = ap[d][1] = NAN;
        n_gt[d] = 0;
        if (rc) continue;
        n_gt[d] = kitti_level(k, n, cls, d);
        rc = kitti_ap_prepared(k, n, n_gt[d], thr, ap[d]);
    }
    kframe_free(k, n);
    return rc;
}

size_t avt_eval_kitti_ap(const avt_eval_frame *frames, size_t n, int cls, int nb, int diff, int bev, double thr,
                         double ap[2])
{
    double all[3][2];
    size_t n_gt[3];
    kitti_ap_levels(frames, n, cls, nb, bev, thr, all, n_gt);
    ap[0] = all[diff][0], ap[1] = all[diff][1];
    return n_gt[diff];
}

/* ---- nuScenes ---- */

typedef struct npred {
    size_t frame, idx;
    double score;
} npred;

static int cmp_npred(const void *a, const void *b)
{
    const npred *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->frame != y->frame ? (x->frame < y->frame ? -1 : 1) : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* np.interp(x, xp, fp, right=right) for non-decreasing xp (the last of equal xp wins). */
static double interp(double x, const double *xp, const double *fp, size_t n, double right)
{
    if (n == 0 || x > xp[n - 1]) return right;
    if (x <= xp[0] && !(n > 1 && xp[1] <= x)) return fp[0];
    size_t lo = 0, hi = n; /* last j with xp[j] <= x */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (xp[mid] <= x) lo = mid;
        else hi = mid;
    }
    if (lo + 1 >= n || xp[lo + 1] == xp[lo]) return fp[lo];
    return fp[lo] + (fp[lo + 1] - fp[lo]) * (x - xp[lo]) / (xp[lo + 1] - xp[lo]);
}

/* 1 - IoU of the two boxes' sizes with centres and orientations aligned (scale_iou). */
static double scale_err(const avt_label_box *g, const avt_label_box *p)
{
    double inter = 1, va = 1, vb = 1;
    for (int k = 0; k < 3; k++) inter *= fmin(g->size[k], p->size[k]), va *= g->size[k], vb *= p->size[k];
    return 1 - inter / (va + vb - inter);
}

enum { TP_ATE, TP_ASE, TP_AOE, TP_AVE, N_TP };
static const char *const TP_NAMES[N_TP] = {"ate", "ase", "aoe", "ave"};

/* AP of one class at one distance; tp_err (may be NULL) receives the four TP errors. */
static int nusc_ap(const avt_eval_frame *fr, size_t n, int cls, double dist, double *ap, double tp_err[N_TP])
{
    size_t npos = 0, np = 0, nmax = 0;
    for (size_t f = 0; f < n; f++) {
        for (size_t i = 0; i < fr[f].n_gt; i++) npos += fr[f].gt[i].class_id == cls;
        for (size_t j = 0; j < fr[f].n_pred; j++) np += fr[f].pred[j].class_id == cls;
        nmax = fr[f].n_gt > nmax ? fr[f].n_gt : nmax;
    }
    *ap = NAN;
    if (tp_err)
        for (int m = 0; m < N_TP; m++) tp_err[m] = NAN;
    if (!npos) return AVT_OK;
    npred *p = malloc((np + 1) * sizeof *p);
    double *rec = malloc((np + 2) * sizeof *rec), *prec = malloc((np + 2) * sizeof *prec);
    double *conf = malloc((np + 2) * sizeof *conf), *err = malloc((N_TP + 1) * (np + 1) * sizeof *err);
    char *taken = malloc(nmax + 1);
    int rc = AVT_NOMEM;
    if (!p || !rec || !prec || !conf || !err || !taken) goto out;
    np = 0;
    for (size_t f = 0; f < n; f++)
        for (size_t j = 0; j < fr[f].n_pred; j++)
            if (fr[f].pred[j].class_id == cls) p[np++] = (npred){f, j, score_of(&fr[f].pred[j])};
    qsort(p, np, sizeof *p, cmp_npred);
    /* taken flags per frame, reset when the frame changes: keep one array per frame lazily */
    char **tk = calloc(n ? n : 1, sizeof *tk);
    if (!tk) goto out;
    size_t ntp = 0, nfp = 0, m_tp = 0;
    double *tconf = err + N_TP * (np + 1);
    for (size_t q = 0; q < np; q++) {
        const avt_eval_frame *e = &fr[p[q].frame];
        const avt_label_box *pb = &e->pred[p[q].idx];
        if (!tk[p[q].frame] && !(tk[p[q].frame] = calloc(e->n_gt + 1, 1))) {
            for (size_t f = 0; f < n; f++) free(tk[f]);
            free(tk);
            goto out;
        }
        char *t = tk[p[q].frame];
        double best = INFINITY;
        long g = -1;
        for (size_t i = 0; i < e->n_gt; i++) {
            if (e->gt[i].class_id != cls || t[i]) continue;
            double d = avt_quality_center_distance(&e->gt[i], pb);
            if (d < best) best = d, g = (long)i;
        }
        if (g >= 0 && best < dist) {
            const avt_label_box *gb = &e->gt[g];
            t[g] = 1;
            ntp++;
            err[TP_ATE * (np + 1) + m_tp] = best;
            err[TP_ASE * (np + 1) + m_tp] = scale_err(gb, pb);
            err[TP_AOE * (np + 1) + m_tp] = fabs(avt_quality_angle_diff(pb->yaw, gb->yaw));
            err[TP_AVE * (np + 1) + m_tp] = hypot(gb->velocity[0] - pb->velocity[0], gb->velocity[1] - pb->velocity[1]);
            tconf[m_tp++] = p[q].score;
        } else {
            nfp++;
        }
        prec[q + 1] = (double)ntp / (double)(ntp + nfp);
        rec[q + 1] = (double)ntp / (double)npos;
        conf[q + 1] = p[q].score;
    }
    for (size_t f = 0; f < n; f++) free(tk[f]);
    free(tk);
    /* the curve starts at recall 0 with the first precision (or (0.01, 0) with no predictions) */
    size_t nc = np + 1;
    double *R = rec, *P = prec, *C = conf;
    if (np == 0) R[1] = 0.01, P[1] = 0, C[1] = 0.5, nc = 2;
    if (R[1] != 0) R[0] = 0, P[0] = P[1], C[0] = 1;
    else R++, P++, C++, nc--;
    double pi[101], ci[101], s = 0;
    for (int r = 0; r <= 100; r++) {
        pi[r] = interp(r / 100.0, R, P, nc, 0);
        ci[r] = interp(r / 100.0, R, C, nc, 0);
    }
    for (int r = 11; r <= 100; r++) s += fmax(0, pi[r] - 0.1);
    *ap = s / 90 / 0.9;
    if (tp_err) {
        int last = 0;
        for (int r = 0; r <= 100; r++)
            if (ci[r] != 0) last = r;
        /* TP errors as cumulative means over the true positives in score order, read at the
         * confidence of each recall point */
        double *cm = malloc((m_tp + 1) * sizeof *cm), *cr = malloc((m_tp + 1) * sizeof *cr);
        double *cmr = malloc((m_tp + 1) * sizeof *cmr);
        if (!cm || !cr || !cmr) {
            free(cm), free(cr), free(cmr);
            goto out;
        }
        for (int m = 0; m < N_TP; m++) {
            double sum = 0;
            size_t cnt = 0;
            for (size_t i = 0; i < m_tp; i++) {
                double x = err[m * (np + 1) + i];
                if (!isnan(x)) sum += x, cnt++;
                cm[i] = cnt ? sum / (double)cnt : 0;
            }
            if (cnt == 0) continue; /* NaN: e.g. no velocities */
            for (size_t i = 0; i < m_tp; i++) cr[i] = tconf[m_tp - 1 - i], cmr[i] = cm[m_tp - 1 - i];
            if (last < 11) {
                tp_err[m] = 1;
                continue;
            }
            double acc = 0;
            for (int r = 11; r <= last; r++) acc += interp(ci[r], cr, cmr, m_tp, cmr[m_tp ? m_tp - 1 : 0]);
            tp_err[m] = acc / (last - 10);
        }
        free(cm), free(cr), free(cmr);
    }
    rc = AVT_OK;
out:
    free(p), free(rec), free(prec), free(conf), free(err), free(taken);
    return rc;
}

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* KITTI's neighbouring classes, neither found nor missed when evaluating the other: Van for
 * Car, Person_sitting for Pedestrian (evaluate_object.cpp, cleanData). Id or -1. */
static int neighbour(const avt_schema *s, const avt_schema_class *k)
{
    static const char *const PAIRS[][2] = {{"car", "van"}, {"pedestrian", "person_sitting"}};
    for (int i = 0; i < 2; i++)
        if (strcasecmp(k->name, PAIRS[i][0]) == 0)
            for (size_t j = 0; j < s->n_classes; j++)
                if (strcasecmp(s->classes[j].name, PAIRS[i][1]) == 0 && s->classes[j].id < AVT_QUALITY_MAX_ID)
                    return s->classes[j].id;
    return -1;
}

int avt_quality_eval(const avt_eval_frame *frames, size_t n, const avt_eval_opts *o, json_t *report, avt_error *err)
{
    static const char *const DIFF[3] = {"easy", "moderate", "hard"};
    json_t *kitti = json_object(), *nusc = json_object();
    double map_sum = 0, tp_sum[N_TP] = {0};
    int map_n = 0, tp_n[N_TP] = {0};
    for (size_t ci = 0; o->schema && ci < o->schema->n_classes; ci++) {
        const avt_schema_class *sk = &o->schema->classes[ci];
        int c = sk->id, nb = neighbour(o->schema, sk);
        if (sk->ignore || c >= AVT_QUALITY_MAX_ID) continue;
        json_t *kc = json_object();
        size_t n_gt_all = 0;
        double ap[2][3][2];
        size_t ng[2][3];
        for (int bev = 0; bev < 2; bev++)
            if (kitti_ap_levels(frames, n, c, nb, bev, o->iou_threshold[c], ap[bev], ng[bev])) {
                json_decref(kc), json_decref(kitti), json_decref(nusc);
                return avt_err(err, AVT_NOMEM, "evaluation: out of memory");
            }
        for (int d = 0; d < 3; d++) {
            json_t *kd = json_pack("{s:o, s:o, s:o, s:o, s:I}", "ap3d_r40", num(ap[0][d][0]), "ap3d_r11",
                                   num(ap[0][d][1]), "apbev_r40", num(ap[1][d][0]), "apbev_r11", num(ap[1][d][1]),
                                   "n_gt", (json_int_t)ng[0][d]);
            if (d == 1) json_object_update(kc, kd);
            json_object_set_new(kc, DIFF[d], kd);
        }
        for (size_t f = 0; f < n; f++)
            for (size_t i = 0; i < frames[f].n_gt; i++) n_gt_all += frames[f].gt[i].class_id == c;
        if (!n_gt_all) {
            json_decref(kc);
            continue;
        }
        json_object_set_new(kc, "iou_threshold", json_real(o->iou_threshold[c]));
        json_object_set_new(kitti, sk->name, kc);
        json_t *nc = json_object(), *aps = json_object();
        double mean = 0, tp[N_TP];
        for (int k = 0; k < 4; k++) {
            double a;
            if (nusc_ap(frames, n, c, o->nusc_distances[k], &a, k == o->nusc_tp_distance ? tp : NULL)) {
                json_decref(kitti), json_decref(nusc), json_decref(nc), json_decref(aps);
                return avt_err(err, AVT_NOMEM, "evaluation: out of memory");
            }
            char key[32];
            snprintf(key, sizeof key, "%g", o->nusc_distances[k]);
            json_object_set_new(aps, key, num(a));
            mean += a / 4;
        }
        json_object_set_new(nc, "ap", aps);
        json_object_set_new(nc, "mean_ap", num(mean));
        for (int m = 0; m < N_TP; m++) {
            json_object_set_new(nc, TP_NAMES[m], num(tp[m]));
            if (isfinite(tp[m])) tp_sum[m] += tp[m], tp_n[m]++;
        }
        json_object_set_new(nusc, sk->name, nc);
        map_sum += mean, map_n++;
    }
    json_object_set_new(nusc, "mAP", num(map_n ? map_sum / map_n : NAN));
    for (int m = 0; m < N_TP; m++) {
        char key[16];
        snprintf(key, sizeof key, "m%s", TP_NAMES[m]);
        for (char *q = key + 1; *q; q++) *q = (char)(*q - 'a' + 'A');
        json_object_set_new(nusc, key, num(tp_n[m] ? tp_sum[m] / tp_n[m] : NAN));
    }
    json_object_set_new(report, "kitti", kitti);
    json_object_set_new(report, "nuscenes", nusc);
    return AVT_OK;
}
