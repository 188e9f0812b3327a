/* avtruth quality: several annotators' labels of the same sweeps, grouped into objects, their
 * agreement (docs/quality.md "agree") and their consensus ("consensus"). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/quality.h"
#include "quality_private.h"

void avt_agree_opts_default(avt_agree_opts *o, const avt_schema *s)
{
    memset(o, 0, sizeof *o);
    o->schema = s;
    /* one object for annotators: footprints overlapping by a quarter; the class thresholds
     * (the schema's) then judge whether the geometry agrees */
    o->match.metric = AVT_MATCH_IOU_BEV;
    for (int c = 0; c < AVT_QUALITY_MAX_ID; c++) o->match.threshold[c] = 0.25;
    avt_match_opts k;
    avt_match_opts_schema(&k, AVT_MATCH_IOU_3D, s);
    memcpy(o->iou_ok, k.threshold, sizeof o->iou_ok);
    o->max_disputes = 1000;
}

void avt_clusters_free(avt_clusters *c)
{
    if (!c) return;
    free(c->t_ns);
    free(c->frame_of);
    free(c->c);
    memset(c, 0, sizeof *c);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The box of annotator j in cluster k, or NULL. */
static const avt_label_box *member_box(const avt_label_set *s, const avt_clusters *cl, const avt_cluster *k, size_t j)
{
    long f = cl->frame_of[k->frame * cl->m + j];
    return k->member[j] >= 0 && f >= 0 ? &s[j].frames[f].boxes[k->member[j]] : NULL;
}

int avt_quality_cluster(const avt_label_set *s, size_t m, const avt_match_opts *o, avt_clusters *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    if (m < 1 || m > AVT_MAX_ANNOTATORS)
        return avt_err(err, AVT_INVAL, "%zu annotators: between 1 and %d are supported", m, AVT_MAX_ANNOTATORS);
    out->m = m;
    size_t total = 0, cap = 0;
    for (size_t j = 0; j < m; j++) total += s[j].n;
    int64_t *all = malloc((total + 1) * sizeof *all);
    avt_label_box *rep = NULL;
    long *a2b = NULL;
    double *val = NULL;
    int rc = AVT_OK;
    if (!all) goto nomem;
    for (size_t j = 0, k = 0; j < m; j++)
        for (size_t i = 0; i < s[j].n; i++) all[k++] = s[j].t_ns[i];
    qsort(all, total, sizeof *all, cmp_i64);
    /* the union of frame times: times within 5 ms of a group's first are one sweep */
    for (size_t i = 0; i < total; i++)
        if (out->n_frames == 0 || all[i] - out->t_ns[out->n_frames - 1] > QUALITY_TIME_TOL_NS) {
            if (!out->t_ns && !(out->t_ns = malloc((total + 1) * sizeof *out->t_ns))) goto nomem;
            out->t_ns[out->n_frames++] = all[i];
        }
    out->frame_of = malloc((out->n_frames * m + 1) * sizeof *out->frame_of);
    if (!out->frame_of) goto nomem;
    size_t max_boxes = 0;
    for (size_t f = 0; f < out->n_frames; f++)
        for (size_t j = 0; j < m; j++) {
            long x = avt_label_set_find(&s[j], out->t_ns[f]);
            out->frame_of[f * m + j] = x;
            if (x >= 0 && s[j].frames[x].n > max_boxes) max_boxes = s[j].frames[x].n;
        }
    size_t maxc = max_boxes * m + 1;
    rep = malloc(maxc * sizeof *rep), a2b = malloc(maxc * sizeof *a2b), val = malloc(maxc * sizeof *val);
    if (!rep || !a2b || !val) goto nomem;
    for (size_t f = 0; f < out->n_frames; f++) {
        size_t first = out->n;
        for (size_t j = 0; j < m; j++) {
            long fi = out->frame_of[f * m + j];
            if (fi < 0) continue;
            const avt_label_frame *fr = &s[j].frames[fi];
            size_t nk = out->n - first;
            for (size_t k = 0; k < nk; k++) {
                const avt_cluster *c = &out->c[first + k];
                for (size_t q = 0; q < j; q++)
                    if (c->member[q] >= 0) {
                        rep[k] = *member_box(s, out, c, q);
                        break;
                    }
            }
            if ((rc = avt_quality_match(rep, nk, fr->boxes, fr->n, o, a2b, val, err))) goto out;
            size_t nb = fr->n;
            char *flags = calloc(nb + 1, 1);
            if (!flags) goto nomem;
            for (size_t k = 0; k < nk; k++)
                if (a2b[k] >= 0) {
                    out->c[first + k].member[j] = a2b[k];
                    flags[a2b[k]] = 1;
                }
            for (size_t b = 0; b < nb; b++) {
                if (flags[b]) continue;
                if (avt_grow((void **)&out->c, &cap, out->n + 1, sizeof *out->c)) {
                    free(flags);
                    goto nomem;
                }
                avt_cluster *c = &out->c[out->n++];
                c->frame = f;
                for (size_t q = 0; q < AVT_MAX_ANNOTATORS; q++) c->member[q] = -1;
                c->member[j] = (long)b;
            }
            free(flags);
        }
    }
    goto out;
nomem:
    rc = avt_err(err, AVT_NOMEM, "grouping the annotators' boxes: out of memory");
out:
    free(all), free(rep), free(a2b), free(val);
    if (rc) avt_clusters_free(out);
    return rc;
}

/* ---- agreement ---- */

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Majority class of a cluster among the annotators present: votes[] per class. */
static int majority(const avt_label_set *s, const avt_clusters *cl, const avt_cluster *k, int votes[AVT_QUALITY_MAX_ID])
{
    int best = -1;
    for (size_t j = 0; j < cl->m; j++) {
        const avt_label_box *b = member_box(s, cl, k, j);
        if (b) votes[b->class_id] = 0;
    }
    for (size_t j = 0; j < cl->m; j++) {
        const avt_label_box *b = member_box(s, cl, k, j);
        if (b) votes[b->class_id]++;
    }
    /* ties to the lower class id */
    for (size_t j = 0; j < cl->m; j++) {
        const avt_label_box *b = member_box(s, cl, k, j);
        if (b && (best < 0 || votes[b->class_id] > votes[best] ||
                  (votes[b->class_id] == votes[best] && b->class_id < best)))
            best = b->class_id;
    }
    return best;
}

typedef struct dispute {
    size_t cluster;
    double severity, min_iou;
    int what; /* bit 0 missing, 1 class, 2 geometry */
} dispute;

static int cmp_dispute(const void *a, const void *b)
{
    const dispute *x = a, *y = b;
    if (x->severity != y->severity) return x->severity < y->severity ? 1 : -1;
    return (x->cluster > y->cluster) - (x->cluster < y->cluster);
}

/* Cohen's kappa (m = 2) or Fleiss' kappa (m >= 3) of one categorical reading of the clusters;
 * cat(j) gives annotator j's category (0..k-1) or -1 to leave the cluster out. */
typedef int (*cat_fn)(const avt_label_set *s, const avt_clusters *cl, const avt_cluster *c, size_t j, int arg);

static double kappa_of(const avt_label_set *s, const avt_clusters *cl, cat_fn cat, int arg, size_t *used)
{
    /* the categories in use, numbered densely */
    int dense[AVT_QUALITY_MAX_ID], k = 0;
    size_t m = cl->m, n = 0;
    for (int c = 0; c < AVT_QUALITY_MAX_ID; c++) dense[c] = -1;
    for (size_t i = 0; i < cl->n; i++)
        for (size_t j = 0; j < m; j++) {
            int v = cat(s, cl, &cl->c[i], j, arg);
            if (v >= 0 && dense[v] < 0) dense[v] = k++;
        }
    double *t = calloc(m == 2 ? (size_t)(k * k) + 1 : cl->n * (size_t)k + 1, sizeof *t), kap = NAN;
    *used = 0;
    if (!t) return NAN;
    for (size_t i = 0; i < cl->n; i++) {
        int v[AVT_MAX_ANNOTATORS], skip = 0;
        for (size_t j = 0; j < m; j++) skip |= (v[j] = cat(s, cl, &cl->c[i], j, arg)) < 0;
        if (skip) continue;
        for (size_t j = 0; j < m; j++) v[j] = dense[v[j]];
        if (m == 2) t[v[0] * k + v[1]] += 1;
        else
            for (size_t j = 0; j < m; j++) t[n * (size_t)k + (size_t)v[j]] += 1;
        n++;
    }
    if (n) kap = m == 2 ? avt_kappa_cohen(t, k) : avt_kappa_fleiss(t, n, k);
    free(t);
    *used = n;
    return kap;
}

static int class_cat(const avt_label_set *s, const avt_clusters *cl, const avt_cluster *c, size_t j, int arg)
{
    const avt_label_box *b = member_box(s, cl, c, j);
    return b ? b->class_id : 0; /* class 0 ("none") is the category "absent" */
}

static int attr_cat(const avt_label_set *s, const avt_clusters *cl, const avt_cluster *c, size_t j, int bit)
{
    for (size_t q = 0; q < cl->m; q++)
        if (!member_box(s, cl, c, q)) return -1; /* attributes compare where everyone drew the box */
    return (int)((member_box(s, cl, c, j)->attributes >> bit) & 1u);
}

int avt_quality_agree(const avt_label_set *s, size_t m, const avt_agree_opts *o, json_t **report, avt_error *err)
{
    *report = NULL;
    if (m < 2) return avt_err(err, AVT_INVAL, "agreement needs at least two annotators, got %zu", m);
    avt_clusters cl;
    int rc = avt_quality_cluster(s, m, &o->match, &cl, err);
    if (rc) return rc;
    json_t *r = json_object(), *ann = json_array(), *pc = json_object();
    double *icc_x = malloc((cl.n * m + 1) * 4 * sizeof *icc_x);
    dispute *dis = malloc((cl.n + 1) * sizeof *dis);
    if (!r || !ann || !pc || !icc_x || !dis) {
        rc = avt_err(err, AVT_NOMEM, "agreement: out of memory");
        goto out;
    }
    /* per class: boxes, boxes matched by every other annotator, pairwise IoU and deviations */
    struct {
        double boxes, matched, pairs, iou, dc, ds[3], dyaw;
    } st[AVT_QUALITY_MAX_ID] = {{0}};
    size_t absent[AVT_MAX_ANNOTATORS] = {0}, boxes_of[AVT_MAX_ANNOTATORS] = {0}, nd = 0, n_icc = 0;
    double pairs_both = 0, pairs_diff = 0;
    for (size_t i = 0; i < cl.n; i++) {
        const avt_cluster *c = &cl.c[i];
        const avt_label_box *b[AVT_MAX_ANNOTATORS];
        size_t present = 0;
        int votes[AVT_QUALITY_MAX_ID];
        int maj = majority(s, &cl, c, votes);
        for (size_t j = 0; j < m; j++) {
            b[j] = member_box(s, &cl, c, j);
            present += b[j] != NULL;
            if (!b[j]) absent[j]++;
            else boxes_of[j]++;
        }
        for (size_t j = 0; j < m; j++)
            if (b[j]) {
                st[b[j]->class_id].boxes++;
                st[b[j]->class_id].matched += present == m;
            }
        double min_iou = INFINITY;
        for (size_t a = 0; a < m; a++)
            for (size_t q = a + 1; q < m; q++) {
                if (!b[a] || !b[q]) continue;
                double iou = avt_quality_iou_3d(b[a], b[q]);
                min_iou = fmin(min_iou, iou);
                pairs_both++;
                pairs_diff += b[a]->class_id != b[q]->class_id;
                st[maj].pairs++;
                st[maj].iou += iou;
                st[maj].dc += sqrt(pow(b[a]->center[0] - b[q]->center[0], 2) + pow(b[a]->center[1] - b[q]->center[1], 2) +
                                   pow(b[a]->center[2] - b[q]->center[2], 2));
                for (int k = 0; k < 3; k++) st[maj].ds[k] += fabs(b[a]->size[k] - b[q]->size[k]);
                st[maj].dyaw += fabs(avt_quality_angle_diff(b[a]->yaw, b[q]->yaw));
            }
        if (present == m) {
            /* ICC inputs: l, w, h and yaw unwrapped around the first annotator's */
            for (size_t j = 0; j < m; j++) {
                for (int k = 0; k < 3; k++) icc_x[(k * cl.n + n_icc) * m + j] = b[j]->size[k];
                icc_x[(3 * cl.n + n_icc) * m + j] = b[0]->yaw + avt_quality_angle_diff(b[j]->yaw, b[0]->yaw);
            }
            n_icc++;
        }
        int what = (present < m) | (votes[maj] < (int)present) << 1 |
                   (present >= 2 && min_iou < o->iou_ok[maj]) << 2;
        if (what)
            dis[nd++] = (dispute){i, (double)(m - present) / (double)m + (double)(present - (size_t)votes[maj]) / (double)m +
                                         (present >= 2 ? 1 - min_iou : 0),
                                  present >= 2 ? min_iou : NAN, what};
    }
    for (size_t j = 0; j < m; j++) {
        size_t nf = 0;
        for (size_t f = 0; f < cl.n_frames; f++) nf += cl.frame_of[f * m + j] >= 0;
        json_array_append_new(ann, json_pack("{s:s, s:I, s:I, s:I, s:o}", "source", s[j].source, "frames",
                                             (json_int_t)nf, "frames_missing", (json_int_t)(cl.n_frames - nf),
                                             "objects", (json_int_t)boxes_of[j], "miss_rate",
                                             num(cl.n ? (double)absent[j] / (double)cl.n : NAN)));
    }
    for (int c = 0; c < AVT_QUALITY_MAX_ID; c++) {
        if (!st[c].boxes) continue;
        double p = st[c].pairs;
        json_object_set_new(pc, avt_quality_class_name(o->schema, c),
                            json_pack("{s:I, s:o, s:o, s:o, s:[o,o,o], s:o}", "boxes", (json_int_t)st[c].boxes,
                                      "match_rate", num(st[c].matched / st[c].boxes), "mean_iou", num(st[c].iou / p),
                                      "center_deviation_m", num(st[c].dc / p), "size_deviation_m",
                                      num(st[c].ds[0] / p), num(st[c].ds[1] / p), num(st[c].ds[2] / p),
                                      "yaw_deviation_rad", num(st[c].dyaw / p)));
    }
    size_t used;
    double kap = kappa_of(s, &cl, class_cat, 0, &used);
    json_object_set_new(r, "annotators", ann);
    json_object_set_new(r, "frames", json_integer((json_int_t)cl.n_frames));
    json_object_set_new(r, "objects", json_integer((json_int_t)cl.n));
    json_object_set_new(r, "class_kappa", num(kap));
    json_object_set_new(r, "class_kappa_method", json_string(m == 2 ? "cohen" : "fleiss"));
    json_object_set_new(r, "class_disagreement", num(pairs_both ? pairs_diff / pairs_both : NAN));
    json_object_set_new(r, "per_class", pc);
    json_t *ak = json_object();
    uint32_t seen = 0;
    for (size_t i = 0; i < cl.n; i++)
        for (size_t j = 0; j < m; j++) {
            const avt_label_box *b = member_box(s, &cl, &cl.c[i], j);
            if (b) seen |= b->attributes;
        }
    for (int bit = 0; bit < 32; bit++)
        if (seen >> bit & 1u) {
            char key[16];
            snprintf(key, sizeof key, "bit%d", bit);
            const char *name = o->schema && (size_t)bit < o->schema->n_attributes ? o->schema->attribute_names[bit] : key;
            json_object_set_new(ak, name, num(kappa_of(s, &cl, attr_cat, bit, &used)));
        }
    json_object_set_new(r, "attribute_kappa", ak);
    static const char *const FIELDS[4] = {"length", "width", "height", "yaw"};
    json_t *icc = json_object();
    for (int k = 0; k < 4; k++) {
        /* field k's block holds n_icc rows of m judges */
        double *x = &icc_x[(size_t)k * cl.n * m];
        json_object_set_new(icc, FIELDS[k], num(avt_icc_2_1(x, n_icc, m)));
    }
    json_object_set_new(r, "icc", icc);
    qsort(dis, nd, sizeof *dis, cmp_dispute);
    json_t *dl = json_array();
    for (size_t d = 0; d < nd && (!o->max_disputes || d < o->max_disputes); d++) {
        const avt_cluster *c = &cl.c[dis[d].cluster];
        json_t *ids = json_array(), *cls = json_array(), *what = json_array();
        const char *file = NULL;
        for (size_t j = 0; j < m; j++) {
            const avt_label_box *b = member_box(s, &cl, c, j);
            json_array_append_new(ids, b ? json_integer((json_int_t)b->track_id) : json_null());
            json_array_append_new(cls, b ? json_string(avt_quality_class_name(o->schema, b->class_id)) : json_null());
            if (b && !file) file = s[j].paths[cl.frame_of[c->frame * m + j]];
        }
        static const char *const W[3] = {"missing", "class", "geometry"};
        for (int w = 0; w < 3; w++)
            if (dis[d].what >> w & 1) json_array_append_new(what, json_string(W[w]));
        json_array_append_new(dl, json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "file", file ? file : "",
                                            "timestamp_ns", (json_int_t)cl.t_ns[c->frame], "track_ids", ids,
                                            "classes", cls, "disagree", what, "min_iou", num(dis[d].min_iou),
                                            "severity", num(dis[d].severity)));
    }
    json_object_set_new(r, "disputes_total", json_integer((json_int_t)nd));
    json_object_set_new(r, "disputes", dl);
    *report = r;
    r = NULL;
out:
    json_decref(r);
    free(icc_x);
    free(dis);
    avt_clusters_free(&cl);
    return rc;
}

/* ---- consensus ---- */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int avt_quality_consensus(const avt_label_set *s, size_t m, const avt_agree_opts *o, const char *out_dir,
                          avt_consensus_stats *stats, avt_error *err)
{
    avt_consensus_stats st = {0};
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        return avt_err(err, AVT_IO, "%s: cannot create directory: %s", out_dir, strerror(errno));
    avt_clusters cl;
    int rc = avt_quality_cluster(s, m, &o->match, &cl, err);
    if (rc) return rc;
    json_t **boxes = calloc(cl.n_frames + 1, sizeof *boxes);
    if (!boxes) {
        avt_clusters_free(&cl);
        return avt_err(err, AVT_NOMEM, "consensus: out of memory");
    }
    for (size_t f = 0; f < cl.n_frames; f++) boxes[f] = json_array();
    for (size_t i = 0; i < cl.n; i++) {
        const avt_cluster *c = &cl.c[i];
        int votes[AVT_QUALITY_MAX_ID];
        int maj = majority(s, &cl, c, votes);
        double v[7][AVT_MAX_ANNOTATORS], sn = 0, cs = 0, vel[3] = {0, 0, 0};
        size_t n = 0, nv = 0, attr_votes[32] = {0};
        int64_t track = -1;
        /* geometry from the annotators who gave the majority class */
        for (size_t j = 0; j < m; j++) {
            const avt_label_box *b = member_box(s, &cl, c, j);
            if (!b || b->class_id != maj) continue;
            if (track < 0 && n == 0) track = b->track_id;
            for (int k = 0; k < 3; k++) v[k][n] = b->center[k], v[3 + k][n] = b->size[k];
            sn += sin(b->yaw), cs += cos(b->yaw);
            for (int a = 0; a < 32; a++) attr_votes[a] += b->attributes >> a & 1u;
            if (isfinite(b->velocity[0])) {
                for (int k = 0; k < 3; k++) vel[k] += b->velocity[k];
                nv++;
            }
            n++;
        }
        double g[6];
        for (int k = 0; k < 6; k++) g[k] = median(v[k], n);
        /* an attribute value the strict majority of them gave (values of a group exclude each
         * other, so at most one per group) */
        json_t *attrs = json_array();
        for (int a = 0; attrs && a < 32; a++)
            if (2 * attr_votes[a] > n && o->schema && (size_t)a < o->schema->n_attributes)
                json_array_append_new(attrs, json_string(o->schema->attribute_names[a]));
        json_t *b = json_pack("{s:I, s:s, s:[f,f,f], s:[f,f,f], s:f, s:o, s:f, s:b}", "track_id", (json_int_t)track,
                              "class", avt_quality_class_name(o->schema, maj), "center", g[0], g[1], g[2], "size", g[3], g[4], g[5], "yaw",
                              atan2(sn, cs), "attributes", attrs, "confidence", (double)votes[maj] / (double)m, "disputed",
                              2 * votes[maj] <= (int)m);
        if (b && nv)
            json_object_set_new(b, "velocity", json_pack("[f,f,f]", vel[0] / nv, vel[1] / nv, vel[2] / nv));
        if (!b || json_array_append_new(boxes[c->frame], b)) {
            rc = avt_err(err, AVT_NOMEM, "consensus: out of memory");
            goto out;
        }
        st.objects++;
        st.disputed += 2 * votes[maj] <= (int)m;
    }
    for (size_t f = 0; f < cl.n_frames; f++) {
        char path[4096], tmp[4200];
        snprintf(path, sizeof path, "%s/%lld.json", out_dir, (long long)cl.t_ns[f]);
        snprintf(tmp, sizeof tmp, "%s.partial", path);
        json_t *root = json_pack("{s:I, s:s, s:O}", "timestamp_ns", (json_int_t)cl.t_ns[f], "frame", "lidar", "boxes",
                                 boxes[f]);
        int bad = !root || json_dump_file(root, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0;
        json_decref(root);
        if (bad || rename(tmp, path) != 0) {
            rc = avt_err(err, AVT_IO, "%s: cannot write: %s", path, strerror(errno));
            goto out;
        }
        st.frames++;
    }
out:
    for (size_t f = 0; f < cl.n_frames; f++) json_decref(boxes[f]);
    free(boxes);
    avt_clusters_free(&cl);
    if (stats) *stats = st;
    return rc;
}
