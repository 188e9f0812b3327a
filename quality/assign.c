/* avtruth quality: optimal one-to-one assignment (Kuhn 1955, Munkres 1957) in the O(n^2 m)
 * form with row and column potentials and shortest augmenting paths (Jonker & Volgenant's
 * formulation of the Hungarian method), and box matching on top of it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/quality.h"
#include "avtruth/schema.h"

/* n <= m; c(i, j) = cost[i * stride_i + j * stride_j]. row_to_col[i] for i < n. */
static int hungarian(const double *cost, size_t n, size_t m, size_t si, size_t sj, long *row_to_col)
{
    /* 1-based arrays as in the textbook form: p[j] the row given column j, 0 = none */
    double *u = calloc(n + 1, sizeof *u), *v = calloc(m + 1, sizeof *v), *minv = malloc((m + 1) * sizeof *minv);
    size_t *p = calloc(m + 1, sizeof *p), *way = calloc(m + 1, sizeof *way);
    char *used = malloc(m + 1);
    int rc = AVT_NOMEM;
    if (!u || !v || !minv || !p || !way || !used) goto out;
    for (size_t i = 1; i <= n; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) minv[j] = INFINITY, used[j] = 0;
        do {
            used[j0] = 1;
            size_t i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (size_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                double cur = cost[(i0 - 1) * si + (j - 1) * sj] - u[i0] - v[j];
                if (cur < minv[j]) minv[j] = cur, way[j] = j0;
                if (minv[j] < delta) delta = minv[j], j1 = j;
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) u[p[j]] += delta, v[j] -= delta;
                else minv[j] -= delta;
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (size_t i = 0; i < n; i++) row_to_col[i] = -1;
    for (size_t j = 1; j <= m; j++)
        if (p[j]) row_to_col[p[j] - 1] = (long)(j - 1);
    rc = AVT_OK;
out:
    free(u), free(v), free(minv), free(p), free(way), free(used);
    return rc;
}

int avt_quality_assign(const double *cost, size_t n_rows, size_t n_cols, long *row_to_col, avt_error *err)
{
    for (size_t i = 0; i < n_rows; i++) row_to_col[i] = -1;
    if (n_rows == 0 || n_cols == 0) return AVT_OK;
    int rc;
    if (n_rows <= n_cols) {
        rc = hungarian(cost, n_rows, n_cols, n_cols, 1, row_to_col);
    } else {
        long *col_to_row = malloc(n_cols * sizeof *col_to_row);
        rc = col_to_row ? hungarian(cost, n_cols, n_rows, 1, n_cols, col_to_row) : AVT_NOMEM;
        for (size_t j = 0; !rc && j < n_cols; j++)
            if (col_to_row[j] >= 0) row_to_col[col_to_row[j]] = (long)j;
        free(col_to_row);
    }
    return rc ? avt_err(err, rc, "assignment of %zu x %zu: out of memory", n_rows, n_cols) : AVT_OK;
}

int avt_match_metric_parse(const char *name)
{
    static const char *const names[] = {"iou3d", "bev", "distance"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

void avt_match_opts_schema(avt_match_opts *o, avt_match_metric metric, const avt_schema *s)
{
    memset(o, 0, sizeof *o);
    o->metric = metric;
    for (int c = 0; c < AVT_QUALITY_MAX_ID; c++) o->threshold[c] = metric == AVT_MATCH_DISTANCE ? 2.0 : 0.5;
    for (size_t i = 0; s && i < s->n_classes; i++) {
        const avt_schema_class *k = &s->classes[i];
        if (k->id < AVT_QUALITY_MAX_ID)
            o->threshold[k->id] = metric == AVT_MATCH_DISTANCE ? k->center_distance_m : k->iou3d_threshold;
    }
}

/* The similarity of a pair in the metric: IoU (higher better) or distance (lower better). */
static double pair_value(const avt_label_box *a, const avt_label_box *b, avt_match_metric m)
{
    switch (m) {
    case AVT_MATCH_IOU_3D: return avt_quality_iou_3d(a, b);
    case AVT_MATCH_IOU_BEV: return avt_quality_iou_bev(a, b);
    default: return avt_quality_center_distance(a, b);
    }
}

static int passes(double v, double t, avt_match_metric m) { return m == AVT_MATCH_DISTANCE ? v < t : v >= t; }

int avt_quality_match(const avt_label_box *a, size_t na, const avt_label_box *b, size_t nb, const avt_match_opts *o,
                      long *a_to_b, double *value, avt_error *err)
{
    for (size_t i = 0; i < na; i++) a_to_b[i] = -1, value[i] = NAN;
    if (!na || !nb) return AVT_OK;
    double *val = malloc(na * nb * sizeof *val), *cost = malloc(na * nb * sizeof *cost);
    int rc = AVT_OK;
    if (!val || !cost) {
        rc = avt_err(err, AVT_NOMEM, "matching %zu x %zu boxes: out of memory", na, nb);
        goto out;
    }
    /* A pair that fails the threshold costs what leaving both unmatched costs (0 for IoU,
     * the threshold for distance), so the optimum is over passing pairs only. */
    for (size_t i = 0; i < na; i++) {
        double t = o->threshold[a[i].class_id];
        for (size_t j = 0; j < nb; j++) {
            double v = (o->same_class && a[i].class_id != b[j].class_id) ? NAN : pair_value(&a[i], &b[j], o->metric);
            int ok = !isnan(v) && passes(v, t, o->metric);
            val[i * nb + j] = ok ? v : NAN;
            cost[i * nb + j] = o->metric == AVT_MATCH_DISTANCE ? (ok ? v : t) : (ok ? -v : 0);
        }
    }
    if ((rc = avt_quality_assign(cost, na, nb, a_to_b, err))) goto out;
    for (size_t i = 0; i < na; i++) {
        long j = a_to_b[i];
        if (j >= 0 && isnan(val[i * nb + (size_t)j])) a_to_b[i] = -1;
        else if (j >= 0) value[i] = val[i * nb + (size_t)j];
    }
out:
    free(val);
    free(cost);
    return rc;
}

int avt_class_thresholds_parse(const char *spec, const avt_schema *s, double thr[AVT_QUALITY_MAX_ID], char *msg,
                               size_t n)
{
    static const char *const FORM = "CLASS=X,CLASS=X,... with classes of the schema, or one number X >= 0";
    char buf[1024];
    if (!spec || snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) return snprintf(msg, n, "%s", FORM), -1;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '='), *end;
        const char *val = eq ? eq + 1 : tok;
        errno = 0;
        double v = strtod(val, &end);
        if (end == val || *end || errno || !isfinite(v) || v < 0)
            return snprintf(msg, n, "%s ('%s' is not a number >= 0)", FORM, val), -1;
        if (!eq) {
            for (int c = 0; thr && c < AVT_QUALITY_MAX_ID; c++) thr[c] = v;
            continue;
        }
        *eq = '\0';
        if (!s && *tok) continue; /* the form only */
        const avt_schema_class *k = s ? avt_schema_class_find(s, tok) : NULL;
        if (!k || k->id >= AVT_QUALITY_MAX_ID)
            return snprintf(msg, n, "%s ('%s' is not a class of schema %s)", FORM, tok, s ? s->name : "?"), -1;
        if (thr) thr[k->id] = v;
    }
    return 0;
}

void avt_quality_thresholds_override(double thr[AVT_QUALITY_MAX_ID], const double over[AVT_QUALITY_MAX_ID])
{
    for (int c = 0; c < AVT_QUALITY_MAX_ID; c++)
        if (!isnan(over[c])) thr[c] = over[c];
}

const char *avt_quality_class_name(const avt_schema *s, int c)
{
    const avt_schema_class *k = s && c >= 0 ? avt_schema_class_by_id(s, (unsigned)c) : NULL;
    return k ? k->name : "?";
}
