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

/* Could box b (its footprint circle of squared radius r2, its height) hold a point of block f? */
static int block_may_hold(const double *f, const avt_label_box *bx, double r2)
{
    const double s = f[0] * bx->center[0] + f[1] * bx->center[1], t = f[0] * bx->center[1] - f[1] * bx->center[0];
    const double ds = s < f[2] ? f[2] - s : s > f[3] ? s - f[3] : 0, dt = t < f[4] ? f[4] - t : t > f[5] ? t - f[5] : 0;
    const double h = 0.5 * bx->size[2] * 1.01;
    return ds * ds + dt * dt <= r2 && bx->center[2] - h <= f[7] && bx->center[2] + h >= f[6];
}

void avt_label_points(const float *xyz, size_t n, const avt_point_blocks *blocks, const avt_label_box *boxes,
                      size_t nb, uint16_t *label, int32_t *instance, uint32_t *counts)
{
    for (size_t b = 0; b < nb; b++) counts[b] = 0;
    /* each box's cos and sin of yaw once (they were a third of a build's labelling time), and a
     * circle around its footprint, 1 % wider than its half diagonal: a point outside it is
     * outside the box whatever the rounding, and costs two products */
    double *cs = malloc(3 * nb * sizeof *cs + 1);
    for (size_t b = 0; cs && b < nb; b++) {
        cs[3 * b] = cos(boxes[b].yaw), cs[3 * b + 1] = sin(boxes[b].yaw);
        cs[3 * b + 2] = 1.01 * 0.25 * (boxes[b].size[0] * boxes[b].size[0] + boxes[b].size[1] * boxes[b].size[1]);
    }
    if (!cs || (blocks && blocks->n_blocks != (n + AVT_POINT_BLOCK - 1) / AVT_POINT_BLOCK)) blocks = NULL;
    const size_t span = blocks ? AVT_POINT_BLOCK : (n ? n : 1), nblk = (n + span - 1) / span;
    /* per block, the boxes that may hold one of its points (without blocks or memory for the
     * list: every box, the tables computed where needed) */
#pragma omp parallel if (n >= 4096)
    {
        size_t *cand = blocks ? malloc((nb ? nb : 1) * sizeof *cand) : NULL;
#pragma omp for schedule(static)
        for (size_t j = 0; j < nblk; j++) {
            const size_t i0 = j * span, i1 = i0 + span < n ? i0 + span : n;
            size_t nc = nb;
            if (cand) {
                nc = 0;
                for (size_t b = 0; b < nb; b++)
                    if (block_may_hold(blocks->frame[j], &boxes[b], cs[3 * b + 2])) cand[nc++] = b;
            }
            for (size_t i = i0; i < i1; i++) {
                int32_t best = -1;
                double best_vol = INFINITY;
                for (size_t q = 0; q < nc; q++) {
                    const size_t b = cand ? cand[q] : q;
                    const avt_label_box *bx = &boxes[b];
                    double dx = xyz[3 * i] - bx->center[0], dy = xyz[3 * i + 1] - bx->center[1];
                    if (cs && dx * dx + dy * dy > cs[3 * b + 2]) continue;
                    double dz = xyz[3 * i + 2] - bx->center[2];
                    double c = cs ? cs[3 * b] : cos(bx->yaw), s = cs ? cs[3 * b + 1] : sin(bx->yaw);
                    double lx = c * dx + s * dy, ly = -s * dx + c * dy;
                    if (fabs(lx) <= 0.5 * bx->size[0] && fabs(ly) <= 0.5 * bx->size[1] &&
                        fabs(dz) <= 0.5 * bx->size[2]) {
                        double vol = bx->size[0] * bx->size[1] * bx->size[2];
                        if (vol < best_vol) {
                            best_vol = vol;
                            best = (int32_t)b;
                        }
                    }
                }
                instance[i] = best;
                label[i] = best >= 0 ? (uint16_t)boxes[best].class_id : 0;
                if (best >= 0) {
#pragma omp atomic
                    counts[best]++;
                }
            }
        }
        free(cand);
    }
    free(cs);
}
