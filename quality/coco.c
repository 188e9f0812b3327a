/* avtruth quality: COCO-style average precision of 2D boxes (cocodataset/cocoapi,
 * PythonAPI/pycocotools/cocoeval.py: evaluateImg and accumulate): per image and class the
 * detections (at most 100, by score) take the unmatched ground truth of highest IoU at or
 * above the threshold; over all images, precision made non-increasing and read at 101
 * recall points; AP averaged over the classes present in the ground truth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/quality.h"

#define MAX_DETS 100

typedef struct cdet {
    double score;
    size_t img, idx;
} cdet;

static int cmp_cdet(const void *a, const void *b)
{
    const cdet *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->img != y->img ? (x->img < y->img ? -1 : 1) : (x->idx > y->idx) - (x->idx < y->idx);
}

/* AP of one class at one IoU threshold; NaN without ground truth; -1 out of memory. */
static double coco_ap(const avt_coco_image *im, size_t n, int cls, double thr)
{
    size_t npos = 0, nd = 0, maxg = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t g = 0; g < im[i].n_gt; g++) npos += im[i].gt[g].class_id == cls;
        for (size_t d = 0; d < im[i].n_pred; d++) nd += im[i].pred[d].class_id == cls;
        if (im[i].n_gt > maxg) maxg = im[i].n_gt;
    }
    if (!npos) return NAN;
    cdet *d = malloc((nd + 1) * sizeof *d);
    char *tp = malloc(nd + 1), *taken = malloc(maxg + 1);
    double ap = -1;
    if (!d || !tp || !taken) goto out;
    nd = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < im[i].n_pred; k++)
            if (im[i].pred[k].class_id == cls) d[nd++] = (cdet){isnan(im[i].pred[k].score) ? 1 : im[i].pred[k].score, i, k};
    qsort(d, nd, sizeof *d, cmp_cdet);
    /* per image matching in score order (the global order restricted to an image is the
     * image's own order); detections beyond the image's 100th are dropped */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        memset(taken, 0, maxg + 1);
        size_t per = 0;
        for (size_t q = 0; q < nd; q++) {
            if (d[q].img != i) continue;
            if (++per > MAX_DETS) {
                d[q].img = (size_t)-1;
                continue;
            }
            const double *box = im[i].pred[d[q].idx].xyxy;
            double best = thr;
            long g = -1;
            for (size_t k = 0; k < im[i].n_gt; k++) {
                if (taken[k] || im[i].gt[k].class_id != cls) continue;
                double iou = avt_quality_iou_2d(box, im[i].gt[k].xyxy, 0);
                if (iou >= best) best = iou, g = (long)k;
            }
            tp[q] = g >= 0;
            if (g >= 0) taken[g] = 1;
        }
    }
    double pr_at[101];
    double *pr = malloc((nd + 1) * sizeof *pr), *re = malloc((nd + 1) * sizeof *re);
    if (!pr || !re) {
        free(pr), free(re);
        goto out;
    }
    size_t ctp = 0, cfp = 0;
    for (size_t q = 0; q < nd; q++) {
        if (d[q].img == (size_t)-1) continue;
        ctp += tp[q], cfp += !tp[q];
        re[kept] = (double)ctp / (double)npos;
        pr[kept] = (double)ctp / (double)(ctp + cfp);
        kept++;
    }
    for (size_t q = kept; q-- > 1;) pr[q - 1] = fmax(pr[q - 1], pr[q]);
    ap = 0;
    for (int r = 0; r <= 100; r++) {
        double x = r / 100.0;
        size_t lo = 0, hi = kept; /* first q with re[q] >= x (searchsorted left) */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (re[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        pr_at[r] = lo < kept ? pr[lo] : 0;
        ap += pr_at[r] / 101;
    }
    free(pr), free(re);
out:
    free(d), free(tp), free(taken);
    return ap;
}

void avt_eval_coco(const avt_coco_image *images, size_t n, double *ap50, double *ap)
{
    double s50 = 0, s = 0;
    int nc = 0;
    for (int c = 1; c < AVT_QUALITY_MAX_ID; c++) {
        double a50 = coco_ap(images, n, c, 0.5);
        if (isnan(a50)) continue;
        double sum = 0;
        for (int t = 0; t < 10; t++) sum += t ? coco_ap(images, n, c, 0.5 + 0.05 * t) : a50;
        s50 += a50, s += sum / 10, nc++;
    }
    *ap50 = nc ? s50 / nc : NAN;
    *ap = nc ? s / nc : NAN;
}
