/* avtruth labels: label files (jansson), their index, and per-point box membership. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/labels.h"

const char *const AVT_CLASS_NAMES[AVT_NUM_CLASSES] = {"none", "car", "pedestrian", "cyclist", "truck"};

int avt_class_id(const char *name)
{
    for (int i = 1; i < AVT_NUM_CLASSES; i++)
        if (strcmp(name, AVT_CLASS_NAMES[i]) == 0) return i;
    return -1;
}

static int get_vec3(json_t *obj, const char *key, double out[3], int required, const char *path, size_t bi,
                    avt_error *err)
{
    json_t *a = json_object_get(obj, key);
    if (!a || json_is_null(a)) {
        if (required) return avt_err(err, AVT_FORMAT, "%s: boxes[%zu]: missing '%s'", path, bi, key);
        out[0] = out[1] = out[2] = NAN;
        return AVT_OK;
    }
    if (!json_is_array(a) || json_array_size(a) != 3)
        return avt_err(err, AVT_FORMAT, "%s: boxes[%zu].%s: expected 3 numbers", path, bi, key);
    for (int k = 0; k < 3; k++) {
        json_t *v = json_array_get(a, (size_t)k);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return avt_err(err, AVT_FORMAT, "%s: boxes[%zu].%s[%d]: not a finite number", path, bi, key, k);
        out[k] = json_number_value(v);
    }
    return AVT_OK;
}

int avt_label_frame_load(const char *path, avt_label_frame *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    int rc = AVT_OK;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return avt_err(err, errno == ENOENT ? AVT_NOTFOUND : AVT_FORMAT, "%s: line %d: %s", path, je.line,
                       je.text);
    json_t *ts = json_object_get(root, "timestamp_ns"), *boxes = json_object_get(root, "boxes");
    json_t *frame = json_object_get(root, "frame");
    if (!json_is_integer(ts)) {
        rc = avt_err(err, AVT_FORMAT, "%s: 'timestamp_ns' missing or not an integer", path);
        goto out;
    }
    if (frame && (!json_is_string(frame) || strcmp(json_string_value(frame), "lidar") != 0)) {
        rc = avt_err(err, AVT_UNSUPPORTED, "%s: frame '%s': only \"lidar\" is supported", path,
                     json_is_string(frame) ? json_string_value(frame) : "?");
        goto out;
    }
    if (!json_is_array(boxes)) {
        rc = avt_err(err, AVT_FORMAT, "%s: 'boxes' missing or not a list", path);
        goto out;
    }
    out->timestamp_ns = json_integer_value(ts);
    size_t n = json_array_size(boxes);
    if (n > 100000) {
        rc = avt_err(err, AVT_FORMAT, "%s: %zu boxes, more than the 100000 limit", path, n);
        goto out;
    }
    out->boxes = calloc(n ? n : 1, sizeof *out->boxes);
    if (!out->boxes) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(boxes, i);
        avt_label_box *lb = &out->boxes[i];
        if (!json_is_object(b)) {
            rc = avt_err(err, AVT_FORMAT, "%s: boxes[%zu]: not an object", path, i);
            goto out;
        }
        json_t *cls = json_object_get(b, "class"), *tid = json_object_get(b, "track_id");
        json_t *yaw = json_object_get(b, "yaw");
        if (!json_is_string(cls) || (lb->class_id = avt_class_id(json_string_value(cls))) < 0) {
            rc = avt_err(err, AVT_FORMAT, "%s: boxes[%zu].class: unknown class '%s'", path, i,
                         json_is_string(cls) ? json_string_value(cls) : "(missing)");
            goto out;
        }
        if (!json_is_integer(tid)) {
            rc = avt_err(err, AVT_FORMAT, "%s: boxes[%zu].track_id: missing or not an integer", path, i);
            goto out;
        }
        lb->track_id = json_integer_value(tid);
        if (!json_is_number(yaw) || !isfinite(json_number_value(yaw))) {
            rc = avt_err(err, AVT_FORMAT, "%s: boxes[%zu].yaw: missing or not a finite number", path, i);
            goto out;
        }
        lb->yaw = json_number_value(yaw);
        if ((rc = get_vec3(b, "center", lb->center, 1, path, i, err))) goto out;
        if ((rc = get_vec3(b, "size", lb->size, 1, path, i, err))) goto out;
        if ((rc = get_vec3(b, "velocity", lb->velocity, 0, path, i, err))) goto out;
        for (int k = 0; k < 3; k++)
            if (!(lb->size[k] > 0)) {
                rc = avt_err(err, AVT_FORMAT, "%s: boxes[%zu].size[%d]: must be positive, got %g", path, i, k,
                             lb->size[k]);
                goto out;
            }
        out->n = i + 1;
    }
out:
    json_decref(root);
    if (rc) avt_label_frame_free(out);
    return rc;
}

void avt_label_frame_free(avt_label_frame *f)
{
    if (!f) return;
    free(f->boxes);
    memset(f, 0, sizeof *f);
}


int avt_label_index_open(const char *log_dir, avt_label_index *idx, avt_error *err)
{
    static const char *const EXTS[] = {".json", NULL};
    memset(idx, 0, sizeof *idx);
    char dir[4096];
    avt_file_index fi;
    if (avt_path_join(dir, sizeof dir, log_dir, "labels")) return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    int rc = avt_file_index_list(dir, EXTS, NULL, &fi, err);
    if (rc) return rc == AVT_NOTFOUND ? AVT_OK : rc;
    avt_file_index_sort_time(&fi);
    if (fi.n && fi.files[0].t_ns == AVT_NO_TIME) {
        rc = avt_err(err, AVT_FORMAT, "%s/%s: label file names must be <t_ns>.json", dir, fi.files[0].name);
        goto out;
    }
    idx->t_ns = malloc((fi.n ? fi.n : 1) * sizeof *idx->t_ns);
    idx->paths = calloc(fi.n ? fi.n : 1, sizeof *idx->paths);
    if (!idx->t_ns || !idx->paths) goto nomem;
    for (size_t i = 0; i < fi.n; i++, idx->n++) {
        size_t need = strlen(dir) + strlen(fi.files[i].name) + 2;
        if (!(idx->paths[i] = malloc(need))) goto nomem;
        snprintf(idx->paths[i], need, "%s/%s", dir, fi.files[i].name);
        idx->t_ns[i] = fi.files[i].t_ns;
    }
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
out:
    avt_file_index_free(&fi);
    if (rc) avt_label_index_free(idx);
    return rc;
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
