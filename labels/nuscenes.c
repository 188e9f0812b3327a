/* avtruth labels: nuScenes-style annotations into drive-log label files (include/avtruth/
 * nuscenes.h). Tables follow the nuScenes devkit schema (docs/schema_nuscenes.md there):
 *   sample            {token, timestamp (us)}
 *   sample_annotation {token, sample_token, instance_token, attribute_tokens, translation,
 *                      size [w, l, h], rotation [w, x, y, z], prev, next}
 *   instance          {token, category_token}      category, attribute {token, name}
 * Tokens are looked up through sorted tables (bsearch). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/calib.h"
#include "avtruth/labels.h"
#include "avtruth/nuscenes.h"
#include "avtruth/schema.h"

typedef struct tok {
    const char *token;
    size_t row;
} tok;

typedef struct table {
    const char *name; /* "sample_annotation.json" */
    json_t *rows;     /* the array */
    tok *index;       /* sorted by token */
    size_t n;
} table;

static int cmp_tok(const void *a, const void *b) { return strcmp(((const tok *)a)->token, ((const tok *)b)->token); }

/* The row of token in t, or -1. */
static long find(const table *t, const char *token)
{
    if (!token) return -1;
    tok key = {token, 0};
    const tok *hit = bsearch(&key, t->index, t->n, sizeof *t->index, cmp_tok);
    return hit ? (long)hit->row : -1;
}

static const char *str_of(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int load_table(const char *dir, const char *name, table *t, avt_error *err)
{
    char p[4096];
    json_error_t je;
    memset(t, 0, sizeof *t);
    t->name = name;
    if (avt_path_join(p, sizeof p, dir, name)) return avt_err(err, AVT_INVAL, "%s: path too long", dir);
    t->rows = json_load_file(p, 0, &je);
    if (!t->rows) return avt_err(err, errno == ENOENT ? AVT_NOTFOUND : AVT_FORMAT, "%s: line %d: %s", p, je.line, je.text);
    if (!json_is_array(t->rows)) return avt_err(err, AVT_FORMAT, "%s: expected a list of records", p);
    t->n = json_array_size(t->rows);
    t->index = malloc((t->n ? t->n : 1) * sizeof *t->index);
    if (!t->index) return avt_err(err, AVT_NOMEM, "%s: out of memory", p);
    for (size_t i = 0; i < t->n; i++) {
        json_t *r = json_array_get(t->rows, i);
        if (!json_is_object(r) || !str_of(r, "token"))
            return avt_err(err, AVT_FORMAT, "%s: record %zu: not an object with a token", p, i);
        t->index[i] = (tok){str_of(r, "token"), i};
    }
    qsort(t->index, t->n, sizeof *t->index, cmp_tok);
    for (size_t i = 1; i < t->n; i++)
        if (strcmp(t->index[i].token, t->index[i - 1].token) == 0)
            return avt_err(err, AVT_FORMAT, "%s: token %s given twice", p, t->index[i].token);
    return AVT_OK;
}

static void free_table(table *t)
{
    json_decref(t->rows);
    free(t->index);
}

/* n finite numbers of rec[key]. */
static int numbers(const table *t, size_t row, const char *key, size_t n, double *out, avt_error *err)
{
    json_t *a = json_object_get(json_array_get(t->rows, row), key);
    if (!json_is_array(a) || json_array_size(a) != n)
        return avt_err(err, AVT_FORMAT, "%s: record %zu: %s: expected %zu numbers", t->name, row, key, n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_number(v) || !isfinite(out[i] = json_number_value(v)))
            return avt_err(err, AVT_FORMAT, "%s: record %zu: %s[%zu]: not a finite number", t->name, row, key, i);
    }
    return AVT_OK;
}

/* The sample time (ns) of annotation row a. */
static int ann_time(const table *ann, const table *smp, size_t a, int64_t *t_ns, avt_error *err)
{
    long s = find(smp, str_of(json_array_get(ann->rows, a), "sample_token"));
    json_t *ts = s >= 0 ? json_object_get(json_array_get(smp->rows, (size_t)s), "timestamp") : NULL;
    if (!json_is_integer(ts) || json_integer_value(ts) < 0 || json_integer_value(ts) > INT64_MAX / 1000)
        return avt_err(err, AVT_FORMAT, "%s: record %zu: sample_token: no sample with an integer timestamp", ann->name, a);
    *t_ns = (int64_t)json_integer_value(ts) * 1000;
    return AVT_OK;
}

/* The devkit's box_velocity: world velocity from the previous and next annotations of the
 * instance (NaN when there are none or they are too far apart in time). */
static int velocity(const table *ann, const table *smp, size_t a, double v[3], avt_error *err)
{
    v[0] = v[1] = v[2] = NAN;
    json_t *r = json_array_get(ann->rows, a);
    long pv = find(ann, str_of(r, "prev")), nx = find(ann, str_of(r, "next"));
    if (pv < 0 && nx < 0) return AVT_OK;
    size_t first = pv >= 0 ? (size_t)pv : a, last = nx >= 0 ? (size_t)nx : a;
    double p0[3], p1[3];
    int64_t t0, t1;
    int rc;
    if ((rc = numbers(ann, first, "translation", 3, p0, err)) || (rc = numbers(ann, last, "translation", 3, p1, err)) ||
        (rc = ann_time(ann, smp, first, &t0, err)) || (rc = ann_time(ann, smp, last, &t1, err)))
        return rc;
    double dt = (double)(t1 - t0) * 1e-9;
    if (!(dt > 0) || dt > (pv >= 0 && nx >= 0 ? 3.0 : 1.5)) return AVT_OK;
    for (int k = 0; k < 3; k++) v[k] = (p1[k] - p0[k]) / dt;
    return AVT_OK;
}

typedef struct ann_ref {
    int64_t t_ns;
    size_t row;
} ann_ref;

static int cmp_ann(const void *a, const void *b)
{
    const ann_ref *x = a, *y = b;
    if (x->t_ns != y->t_ns) return x->t_ns < y->t_ns ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* One annotation as a label box (JSON) in the LiDAR frame lidar_T_world; NULL + *skip when its
 * category is not a class of the schema. */
static int box_json(const table *tb, const avt_schema *s, size_t a, const avt_tf *lidar_T_world, json_t **out,
                    const char **skipped_cat, avt_error *err)
{
    const table *ann = &tb[0], *smp = &tb[1], *ins = &tb[2], *cat = &tb[3], *att = &tb[4];
    json_t *r = json_array_get(ann->rows, a);
    *out = NULL;
    long in = find(ins, str_of(r, "instance_token"));
    long ca = in >= 0 ? find(cat, str_of(json_array_get(ins->rows, (size_t)in), "category_token")) : -1;
    const char *cname = ca >= 0 ? str_of(json_array_get(cat->rows, (size_t)ca), "name") : NULL;
    if (!cname) return avt_err(err, AVT_FORMAT, "%s: record %zu: instance_token: no instance with a category", ann->name, a);
    const avt_schema_class *k = avt_schema_class_find(s, cname);
    if (!k) {
        *skipped_cat = cname;
        return AVT_OK;
    }
    double t[3], wlh[3], q[4], vw[3], c[3], vl[3];
    int rc;
    if ((rc = numbers(ann, a, "translation", 3, t, err)) || (rc = numbers(ann, a, "size", 3, wlh, err)) ||
        (rc = numbers(ann, a, "rotation", 4, q, err)) || (rc = velocity(ann, smp, a, vw, err)))
        return rc;
    avt_tf world_T_box = avt_tf_from_qt(q, t);
    avt_tf lidar_T_box = avt_tf_mul(lidar_T_world, &world_T_box);
    avt_tf_apply(lidar_T_world, t, c);
    avt_tf_rotate(lidar_T_world, vw, vl);
    json_t *attrs = json_array(), *at = json_object_get(r, "attribute_tokens");
    size_t i;
    json_t *e;
    json_array_foreach(at, i, e) {
        long ar = find(att, json_string_value(e));
        const char *an = ar >= 0 ? str_of(json_array_get(att->rows, (size_t)ar), "name") : NULL;
        if (!an) {
            json_decref(attrs);
            return avt_err(err, AVT_FORMAT, "%s: record %zu: attribute_tokens[%zu]: no such attribute", ann->name, a, i);
        }
        json_array_append_new(attrs, json_string(an));
    }
    json_t *vel = isfinite(vl[0]) ? json_pack("[f,f,f]", vl[0], vl[1], vl[2]) : json_null();
    *out = json_pack("{s:I, s:s, s:[f,f,f], s:[f,f,f], s:f, s:o, s:o}", "track_id", (json_int_t)in, "class", k->name,
                     "center", c[0], c[1], c[2], "size", wlh[1], wlh[0], wlh[2], "yaw",
                     atan2(lidar_T_box.m[4], lidar_T_box.m[0]), "velocity", vel, "attributes", attrs);
    return *out ? AVT_OK : avt_err(err, AVT_NOMEM, "out of memory");
}

int avt_import_nuscenes(const char *tables_dir, const char *log_dir, avt_nuscenes_stats *st, avt_error *err)
{
    static const char *const NAMES[5] = {"sample_annotation.json", "sample.json", "instance.json", "category.json",
                                         "attribute.json"};
    table tb[5];
    avt_schema s;
    avt_poses poses;
    avt_rig rig;
    ann_ref *refs = NULL;
    char p[4096];
    int rc = AVT_OK;
    memset(tb, 0, sizeof tb);
    memset(&poses, 0, sizeof poses);
    memset(&rig, 0, sizeof rig);
    memset(st, 0, sizeof *st);
    if ((rc = avt_schema_builtin("nuscenes", &s, err))) return rc;
    for (int i = 0; i < 5 && !rc; i++) rc = load_table(tables_dir, NAMES[i], &tb[i], err);
    if (rc) goto out;
    avt_path_join(p, sizeof p, log_dir, "calib.yaml");
    if ((rc = avt_rig_load_yaml(p, &rig, err))) goto out;
    avt_path_join(p, sizeof p, log_dir, "poses.csv");
    if ((rc = avt_poses_load(p, &poses, err))) goto out;
    const table *ann = &tb[0];
    refs = malloc((ann->n ? ann->n : 1) * sizeof *refs);
    if (!refs) {
        rc = avt_err(err, AVT_NOMEM, "out of memory");
        goto out;
    }
    for (size_t a = 0; a < ann->n && !rc; a++) {
        refs[a].row = a;
        rc = ann_time(ann, &tb[1], a, &refs[a].t_ns, err);
    }
    if (rc) goto out;
    qsort(refs, ann->n, sizeof *refs, cmp_ann);
    avt_path_join(p, sizeof p, log_dir, "labels");
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        rc = avt_err(err, AVT_IO, "%s: cannot create: %s", p, strerror(errno));
        goto out;
    }
    const avt_tf ego_T_lidar = avt_tf_inv(&rig.lidar_T_ego);
    /* every sample gets a file, also one without annotations */
    for (size_t si = 0; si < tb[1].n && !rc; si++) {
        json_t *sr = json_array_get(tb[1].rows, si), *ts = json_object_get(sr, "timestamp");
        const char *stoken = str_of(sr, "token");
        if (!json_is_integer(ts) || json_integer_value(ts) < 0 || json_integer_value(ts) > INT64_MAX / 1000) {
            rc = avt_err(err, AVT_FORMAT, "%s: record %zu: timestamp: expected integer microseconds", tb[1].name, si);
            break;
        }
        int64_t t = (int64_t)json_integer_value(ts) * 1000;
        avt_tf W;
        if ((rc = avt_poses_at(&poses, t, &W, err))) {
            avt_err_prefix(err, "%s: sample %s", tb[1].name, stoken);
            break;
        }
        avt_tf world_T_lidar = avt_tf_mul(&W, &ego_T_lidar), lidar_T_world = avt_tf_inv(&world_T_lidar);
        json_t *boxes = json_array();
        json_t *root = json_pack("{s:I, s:s, s:o}", "timestamp_ns", (json_int_t)t, "frame", "lidar", "boxes", boxes);
        if (!root) {
            rc = avt_err(err, AVT_NOMEM, "out of memory");
            break;
        }
        /* this sample's annotations: a run of refs at time t with this sample token */
        ann_ref key = {t, 0};
        size_t lo = 0, hi = ann->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cmp_ann(&refs[mid], &key) < 0) lo = mid + 1;
            else hi = mid;
        }
        for (size_t k = lo; k < ann->n && refs[k].t_ns == t && !rc; k++) {
            const char *sk = str_of(json_array_get(ann->rows, refs[k].row), "sample_token");
            if (strcmp(sk, stoken) != 0) continue;
            json_t *b = NULL;
            const char *skipped = NULL;
            rc = box_json(tb, &s, refs[k].row, &lidar_T_world, &b, &skipped, err);
            if (b) json_array_append_new(boxes, b), st->boxes++;
            if (skipped && !st->skipped++) snprintf(st->first_skipped, sizeof st->first_skipped, "%s", skipped);
        }
        snprintf(p, sizeof p, "%s/labels/%lld.json", log_dir, (long long)t);
        if (!rc && json_dump_file(root, p, JSON_INDENT(1) | JSON_REAL_PRECISION(17)))
            rc = avt_err(err, AVT_IO, "%s: cannot write", p);
        json_decref(root);
        st->samples++;
    }
    struct stat sb;
    avt_path_join(p, sizeof p, log_dir, "schema.yaml");
    if (!rc && stat(p, &sb) != 0) {
        FILE *f = fopen(p, "w");
        if (!f || fwrite(s.text, 1, s.text_len, f) != s.text_len) rc = avt_err(err, AVT_IO, "%s: cannot write", p);
        if (f && fclose(f) && !rc) rc = avt_err(err, AVT_IO, "%s: cannot write", p);
    }
out:
    free(refs);
    for (int i = 0; i < 5; i++) free_table(&tb[i]);
    avt_poses_free(&poses);
    avt_rig_free(&rig);
    avt_schema_free(&s);
    return rc;
}
