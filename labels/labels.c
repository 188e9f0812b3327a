/* avtruth labels: label files (read by validate.c), their index, and per-point box membership. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/labels.h"
#include "avtruth/schema.h"
#include "avtruth/validate.h"

int avt_label_frame_load(const char *path, avt_label_frame *out, avt_error *err)
{
    avt_schema s;
    memset(out, 0, sizeof *out);
    if (avt_schema_default(&s)) return avt_err(err, AVT_NOMEM, "%s: out of memory for the default schema", path);
    int rc = avt_label_frame_read(path, &s, out, err);
    avt_schema_free(&s);
    return rc;
}

void avt_label_frame_free(avt_label_frame *f)
{
    if (!f) return;
    free(f->boxes);
    free(f->ignore);
    memset(f, 0, sizeof *f);
}

static char *join_dup(const char *dir, const char *name)
{
    size_t need = strlen(dir) + strlen(name) + 2;
    char *p = malloc(need);
    if (p) snprintf(p, need, "%s/%s", dir, name);
    return p;
}

static int index_open(const char *dir, int missing_ok, avt_label_index *idx, avt_error *err)
{
    static const char *const EXTS[] = {".json", NULL};
    memset(idx, 0, sizeof *idx);
    avt_file_index fi;
    int rc = avt_file_index_list(dir, EXTS, NULL, &fi, err);
    if (rc == AVT_NOTFOUND) return missing_ok ? AVT_OK : avt_err(err, rc, "%s: no such labels directory", dir);
    if (rc) return rc;
    avt_file_index_sort_time(&fi);
    /* names without a time sort first: validation reports them (rule file_name) */
    size_t nb = 0;
    while (nb < fi.n && fi.files[nb].t_ns == AVT_NO_TIME) nb++;
    idx->t_ns = malloc((fi.n ? fi.n : 1) * sizeof *idx->t_ns);
    idx->paths = calloc(fi.n ? fi.n : 1, sizeof *idx->paths);
    idx->bad_names = calloc(nb ? nb : 1, sizeof *idx->bad_names);
    if (!idx->t_ns || !idx->paths || !idx->bad_names) goto nomem;
    for (size_t i = 0; i < fi.n; i++) {
        char *path = join_dup(dir, fi.files[i].name);
        if (!path) goto nomem;
        if (i < nb) {
            idx->bad_names[idx->n_bad++] = path;
        } else {
            idx->paths[idx->n] = path;
            idx->t_ns[idx->n++] = fi.files[i].t_ns;
        }
    }
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
out:
    avt_file_index_free(&fi);
    if (rc) avt_label_index_free(idx);
    return rc;
}

int avt_label_index_open(const char *log_dir, avt_label_index *idx, avt_error *err)
{
    char dir[4096];
    memset(idx, 0, sizeof *idx);
    if (avt_path_join(dir, sizeof dir, log_dir, "labels")) return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    return index_open(dir, 1, idx, err);
}

int avt_label_index_open_dir(const char *dir, avt_label_index *idx, avt_error *err)
{
    return index_open(dir, 0, idx, err);
}

long avt_label_index_find(const avt_label_index *idx, int64_t t, int64_t tol)
{
    size_t lo = 0, hi = idx->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (idx->t_ns[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    long best = -1;
    int64_t bd = INT64_MAX;
    for (size_t k = lo > 0 ? lo - 1 : 0; k <= lo && k < idx->n; k++) {
        int64_t dd = idx->t_ns[k] > t ? idx->t_ns[k] - t : t - idx->t_ns[k];
        if (dd < bd) {
            bd = dd;
            best = (long)k;
        }
    }
    return bd <= tol ? best : -1;
}

void avt_label_index_free(avt_label_index *idx)
{
    if (!idx) return;
    for (size_t i = 0; i < idx->n; i++) free(idx->paths[i]);
    for (size_t i = 0; i < idx->n_bad; i++) free(idx->bad_names[i]);
    free(idx->bad_names);
    free(idx->paths);
    free(idx->t_ns);
    memset(idx, 0, sizeof *idx);
}

/* The squared radius of a circle around box bx's footprint, 1 % wider than its half diagonal:
 * a point outside it is outside the box whatever the rounding, and costs two products. */
static double footprint_r2(const avt_label_box *bx)
{
    return 1.01 * 0.25 * (bx->size[0] * bx->size[0] + bx->size[1] * bx->size[1]);
}

/* Could box bx (its footprint circle of squared radius r2, its height) hold a point of block f? */
static int block_may_hold(const double *f, const avt_label_box *bx, double r2)
{
    const double s = f[0] * bx->center[0] + f[1] * bx->center[1], t = f[0] * bx->center[1] - f[1] * bx->center[0];
    const double ds = s < f[2] ? f[2] - s : s > f[3] ? s - f[3] : 0, dt = t < f[4] ? f[4] - t : t > f[5] ? t - f[5] : 0;
    const double h = 0.5 * bx->size[2] * 1.01;
    return ds * ds + dt * dt <= r2 && bx->center[2] - h <= f[7] && bx->center[2] + h >= f[6];
}

/* The m points at xyz against box bx (index b): a point inside it takes it if its volume is
 * below the smallest of the boxes it was found in so far (vol[k]), so that over the boxes in
 * index order a point ends in its smallest box, the first of equal ones. Box by box, so that
 * the point loop vectorizes; the same arithmetic on either path (AVX2 has no fused
 * multiply-add, and the file is built with -ffp-contract=off: only the vector width
 * differs). */
static inline __attribute__((always_inline)) void label_span_body(const float *restrict xyz, size_t m,
                                                                  const avt_label_box *bx, int32_t b,
                                                                  int32_t *restrict inst, double *restrict vol)
{
    const double c = cos(bx->yaw), s = sin(bx->yaw), r2 = footprint_r2(bx);
    const double hx = 0.5 * bx->size[0], hy = 0.5 * bx->size[1], hz = 0.5 * bx->size[2];
    const double v = bx->size[0] * bx->size[1] * bx->size[2];
    const double cx = bx->center[0], cy = bx->center[1], cz = bx->center[2];
    for (size_t k = 0; k < m; k++) {
        const double dx = xyz[3 * k] - cx, dy = xyz[3 * k + 1] - cy, dz = xyz[3 * k + 2] - cz;
        const double lx = c * dx + s * dy, ly = -s * dx + c * dy;
        const int take = (dx * dx + dy * dy <= r2) & (fabs(lx) <= hx) & (fabs(ly) <= hy) & (fabs(dz) <= hz) &
                         (v < vol[k]);
        inst[k] = take ? b : inst[k];
        vol[k] = take ? v : vol[k];
    }
}

typedef void label_span_fn(const float *xyz, size_t m, const avt_label_box *bx, int32_t b, int32_t *inst,
                           double *vol);

static void label_span(const float *xyz, size_t m, const avt_label_box *bx, int32_t b, int32_t *inst, double *vol)
{
    label_span_body(xyz, m, bx, b, inst, vol);
}

static AVT_TARGET_AVX2 void label_span_avx2(const float *xyz, size_t m, const avt_label_box *bx, int32_t b,
                                             int32_t *inst, double *vol)
{
    label_span_body(xyz, m, bx, b, inst, vol);
}

void avt_label_points(const float *xyz, size_t n, const avt_point_blocks *blocks, const avt_label_box *boxes,
                      size_t nb, uint16_t *label, int32_t *instance, uint32_t *counts)
{
    for (size_t b = 0; b < nb; b++) counts[b] = 0;
    if (blocks && blocks->n_blocks != (n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK) blocks = NULL;
    label_span_fn *span_fn = avt_cpu_avx2() ? label_span_avx2 : label_span;
    const size_t nblk = (n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK;
    /* block by block, the boxes that may hold one of its points (all of them without blocks) */
#pragma omp parallel for schedule(static) if (n >= 4096)
    for (size_t j = 0; j < nblk; j++) {
        const size_t i0 = j * AVT_POINT_BLOCK, m = i0 + AVT_POINT_BLOCK < n ? AVT_POINT_BLOCK : n - i0;
        int32_t inst[AVT_POINT_BLOCK];
        double vol[AVT_POINT_BLOCK];
        for (size_t k = 0; k < m; k++) inst[k] = -1, vol[k] = INFINITY;
        for (size_t b = 0; b < nb; b++)
            if (!blocks || block_may_hold(blocks->frame[j], &boxes[b], footprint_r2(&boxes[b])))
                span_fn(xyz + 3 * i0, m, &boxes[b], (int32_t)b, inst, vol);
        for (size_t k = 0; k < m; k++) {
            instance[i0 + k] = inst[k];
            label[i0 + k] = inst[k] >= 0 ? (uint16_t)boxes[inst[k]].class_id : 0;
            if (inst[k] >= 0) {
#pragma omp atomic
                counts[inst[k]]++;
            }
        }
    }
}
