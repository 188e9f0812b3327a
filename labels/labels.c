/* avtruth labels: label files (read by validate.c), their index, and per-point box membership. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/labels.h"
#include "avtruth/schema.h"
#include "avtruth/validate.h"

typedef struct avt_label_file {
    int64_t t_ns;
    char *path;
} avt_label_file;

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


static int cmp_label_file(const void *a, const void *b)
{
    const avt_label_file *x = a, *y = b;
    return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
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
    memset(idx, 0, sizeof *idx);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT && missing_ok ? AVT_OK : avt_err(err, AVT_IO, "%s: %s", dir, strerror(errno));
    avt_label_file *files = NULL;
    size_t cap = 0, cap_bad = 0, n = 0;
    int rc = AVT_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *ext = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || !ext || strcmp(ext, ".json") != 0) continue;
        char num[64];
        size_t len = (size_t)(ext - e->d_name);
        int64_t t;
        int ok = len < sizeof num;
        if (ok) {
            memcpy(num, e->d_name, len);
            num[len] = '\0';
            ok = avt_parse_int64(num, &t);
        }
        if (!ok) { /* reported by validation (rule file_name) */
            if (avt_grow((void **)&idx->bad_names, &cap_bad, idx->n_bad + 1, sizeof *idx->bad_names) ||
                !(idx->bad_names[idx->n_bad] = join_dup(dir, e->d_name)))
                goto nomem;
            idx->n_bad++;
            continue;
        }
        if (avt_grow((void **)&files, &cap, n + 1, sizeof *files) || !(files[n].path = join_dup(dir, e->d_name)))
            goto nomem;
        files[n++].t_ns = t;
    }
    qsort(files, n, sizeof *files, cmp_label_file);
    idx->t_ns = malloc((n ? n : 1) * sizeof *idx->t_ns);
    idx->paths = malloc((n ? n : 1) * sizeof *idx->paths);
    if (!idx->t_ns || !idx->paths) goto nomem;
    for (size_t i = 0; i < n; i++) idx->t_ns[i] = files[i].t_ns, idx->paths[i] = files[i].path;
    idx->n = n;
    n = 0;
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
out:
    for (size_t i = 0; i < n; i++) free(files[i].path);
    free(files);
    closedir(d);
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

void avt_label_points(const float *xyz, size_t n, const avt_label_box *boxes, size_t nb, uint16_t *label,
                      int32_t *instance, uint32_t *counts)
{
    for (size_t b = 0; b < nb; b++) counts[b] = 0;
    /* each box's cos and sin of yaw once, not once per point (they were a third of a build's
     * labelling time); without memory for the table, computed where needed */
    double *cs = malloc(2 * nb * sizeof *cs + 1);
    for (size_t b = 0; cs && b < nb; b++) cs[2 * b] = cos(boxes[b].yaw), cs[2 * b + 1] = sin(boxes[b].yaw);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        int32_t best = -1;
        double best_vol = INFINITY;
        for (size_t b = 0; b < nb; b++) {
            const avt_label_box *bx = &boxes[b];
            double dx = xyz[3 * i] - bx->center[0], dy = xyz[3 * i + 1] - bx->center[1];
            double dz = xyz[3 * i + 2] - bx->center[2];
            double c = cs ? cs[2 * b] : cos(bx->yaw), s = cs ? cs[2 * b + 1] : sin(bx->yaw);
            double lx = c * dx + s * dy, ly = -s * dx + c * dy;
            if (fabs(lx) <= 0.5 * bx->size[0] && fabs(ly) <= 0.5 * bx->size[1] && fabs(dz) <= 0.5 * bx->size[2]) {
                double vol = bx->size[0] * bx->size[1] * bx->size[2];
                if (vol < best_vol) {
                    best_vol = vol;
                    best = (int32_t)b;
                }
            }
        }
        instance[i] = best;
        label[i] = best >= 0 ? (uint16_t)boxes[best].class_id : 0;
    }
    free(cs);
    for (size_t i = 0; i < n; i++)
        if (instance[i] >= 0) counts[instance[i]]++;
}
