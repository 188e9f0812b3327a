/* avtruth labels: label files read against the annotation schema, and the validation rules of
 * docs/schema.md (schema compliance, boundary conditions, logical consistency, attachment).
 * One reader serves both the strict loader of `build` (first error) and `validate` (all
 * findings). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/validate.h"

static const struct {
    const char *name, *desc;
    int severity;
} RULES[] = {
#define AVT_X_RULE(id, name, sev, desc) {name, desc, AVT_SEVERITY_##sev},
    AVT_RULE_MAP(AVT_X_RULE)
#undef AVT_X_RULE
};

const char *avt_rule_name(int r) { return r >= 0 && r < AVT_RULE_COUNT ? RULES[r].name : "?"; }
int avt_rule_severity(int r) { return r >= 0 && r < AVT_RULE_COUNT ? RULES[r].severity : AVT_SEVERITY_ERROR; }
const char *avt_rule_description(int r) { return r >= 0 && r < AVT_RULE_COUNT ? RULES[r].desc : "?"; }
const char *avt_severity_name(int s) { return s == AVT_SEVERITY_WARNING ? "warning" : "error"; }

void avt_validation_free(avt_validation *v)
{
    if (!v) return;
    free(v->findings);
    memset(v, 0, sizeof *v);
}

/* ---- reading a label file -------------------------------------------------------------- */

/* Where findings go: a report (validate), or the first error into err (strict loader). */
typedef struct sink {
    const char *path;
    avt_validation *rep;
    avt_error *err;
    int errors; /* error-severity findings in this file */
} sink;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void emit(sink *k, int rule, const char *where, const char *value, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    int sev = avt_rule_severity(rule);
    if (sev == AVT_SEVERITY_ERROR) k->errors++;
    if (!k->rep) {
        if (sev == AVT_SEVERITY_ERROR && k->errors == 1)
            avt_err(k->err, AVT_FORMAT, "%s: %s%s%s%s%s: %s (rule %s)", k->path, where, where[0] ? ": " : "",
                    value ? "'" : "", value ? value : "", value ? "'" : "", detail, avt_rule_name(rule));
        return;
    }
    avt_validation *v = k->rep;
    v->count[rule]++;
    if (sev == AVT_SEVERITY_ERROR) v->errors++;
    else v->warnings++;
    size_t keep = v->max_kept ? v->max_kept : 1000;
    if (v->n >= keep) return;
    if (avt_grow((void **)&v->findings, &v->cap, v->n + 1, sizeof *v->findings)) {
        v->oom = 1;
        return;
    }
    avt_finding *f = &v->findings[v->n++];
    f->rule = rule;
    snprintf(f->file, sizeof f->file, "%s", k->path);
    snprintf(f->where, sizeof f->where, "%s", where);
    snprintf(f->value, sizeof f->value, "%s", value ? value : "");
    snprintf(f->detail, sizeof f->detail, "%s", detail);
}

/* A JSON value as compact text for messages (a string without its quotes). */
static void json_text(const json_t *j, char *out, size_t n)
{
    if (json_is_string(j)) {
        snprintf(out, n, "%s", json_string_value(j));
        return;
    }
    char *s = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    snprintf(out, n, "%s", s ? s : "(missing)");
    free(s);
}

/* The closest of a list of names to s (edit distance). */
static const char *closest(const char *s, const char *const *names, size_t n)
{
    const char *best = n ? names[0] : "";
    for (size_t i = 1; i < n; i++)
        if (avt_edit_distance(s, names[i]) < avt_edit_distance(s, best)) best = names[i];
    return best;
}

static void unknown_key(sink *k, const char *where, const char *key, const char *const *known, size_t n)
{
    char w[128];
    snprintf(w, sizeof w, "%s%s%s", where, where[0] ? "." : "", key);
    emit(k, AVT_RULE_UNKNOWN_KEY, w, key, "unknown key (closest known: '%s')", closest(key, known, n));
}

/* One finite number at j into *out; returns 1 when it is one. */
static int number(sink *k, const json_t *j, const char *where, double *out)
{
    char v[128];
    *out = NAN;
    if (json_is_number(j) && isfinite(*out = json_number_value(j))) return 1;
    json_text(j, v, sizeof v);
    emit(k, json_is_number(j) ? AVT_RULE_NOT_FINITE : AVT_RULE_BAD_TYPE, where, v,
         json_is_number(j) ? "not a finite number" : "expected a number");
    return 0;
}

/* Is o an object whose keys are all known? Findings: bad_type (naming what was expected) or
 * unknown_key per key. Returns 0 when o is not an object. */
static int object_keys(sink *k, json_t *o, const char *where, const char *what, const char *const *known, size_t n)
{
    char v[128];
    if (!json_is_object(o)) {
        json_text(o, v, sizeof v);
        emit(k, where[0] ? AVT_RULE_BAD_TYPE : AVT_RULE_PARSE, where, v, "expected %s", what);
        return 0;
    }
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        size_t i = 0;
        while (i < n && strcmp(key, known[i]) != 0) i++;
        if (i == n) unknown_key(k, where, key, known, n);
    }
    return 1;
}

/* n numbers at j (a list); NaN where absent. Returns 1 when all are finite numbers. */
static int numbers(sink *k, const json_t *j, const char *where, size_t n, double *out)
{
    char v[128];
    for (size_t i = 0; i < n; i++) out[i] = NAN;
    if (!json_is_array(j) || json_array_size(j) != n) {
        json_text(j, v, sizeof v);
        emit(k, AVT_RULE_BAD_TYPE, where, v, "expected a list of %zu numbers", n);
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        char w[128];
        snprintf(w, sizeof w, "%s[%zu]", where, i);
        ok &= number(k, json_array_get(j, i), w, &out[i]);
    }
    return ok;
}

static const char *const TOP_KEYS[] = {"timestamp_ns", "frame", "boxes", "ignore_regions"};
static const char *const REGION_KEYS[] = {"camera", "class", "xyxy"};

/* One box; returns 1 when it is usable (no error). */
static int read_box(sink *k, const avt_schema *s, const avt_validate_config *cfg, json_t *b, size_t bi,
                    avt_label_box *lb)
{
    char where[96], w[128], v[128];
    int before = k->errors;
    snprintf(where, sizeof where, "boxes[%zu]", bi);
    memset(lb, 0, sizeof *lb);
    lb->track_id = -1;
    lb->velocity[0] = lb->velocity[1] = lb->velocity[2] = NAN;
    lb->score = NAN;
    lb->occluded = -1;
    lb->truncated = NAN;
    const char *known[2 * AVT_SCHEMA_MAX_FIELDS];
    size_t nk = 0;
    for (size_t i = 0; i < s->n_required; i++) known[nk++] = s->required[i];
    for (size_t i = 0; i < s->n_optional; i++) known[nk++] = s->optional[i];
    if (!object_keys(k, b, where, "an object (a box)", known, nk)) return 0;
    for (size_t i = 0; i < s->n_required; i++)
        if (!json_object_get(b, s->required[i])) {
            snprintf(w, sizeof w, "%s.%s", where, s->required[i]);
            emit(k, AVT_RULE_MISSING_FIELD, w, NULL, "required by schema %s", s->name);
        }
    json_t *cls = json_object_get(b, "class");
    const avt_schema_class *kc = NULL;
    snprintf(w, sizeof w, "%s.class", where);
    if (cls && !json_is_string(cls)) {
        json_text(cls, v, sizeof v);
        emit(k, AVT_RULE_BAD_TYPE, w, v, "expected a class name");
    } else if (cls && !(kc = avt_schema_class_find(s, json_string_value(cls)))) {
        const char *names[AVT_SCHEMA_MAX_CLASSES];
        for (size_t i = 0; i < s->n_classes; i++) names[i] = s->classes[i].name;
        emit(k, AVT_RULE_UNKNOWN_CLASS, w, json_string_value(cls), "not a class of schema %s (closest: '%s')", s->name,
             closest(json_string_value(cls), names, s->n_classes));
    } else if (kc && kc->ignore) {
        emit(k, AVT_RULE_IGNORE_CLASS_BOX, w, kc->name, "an ignore class of schema %s: give it in ignore_regions", s->name);
        kc = NULL;
    }
    if (kc) lb->class_id = kc->id;
    json_t *tid = json_object_get(b, "track_id");
    snprintf(w, sizeof w, "%s.track_id", where);
    if (tid && !json_is_integer(tid)) {
        json_text(tid, v, sizeof v);
        emit(k, AVT_RULE_BAD_TYPE, w, v, "expected an integer");
    } else if (tid) {
        lb->track_id = json_integer_value(tid);
    }
    json_t *j;
    if ((j = json_object_get(b, "center"))) {
        snprintf(w, sizeof w, "%s.center", where);
        if (numbers(k, j, w, 3, lb->center)) {
            double r = sqrt(lb->center[0] * lb->center[0] + lb->center[1] * lb->center[1] + lb->center[2] * lb->center[2]);
            double max_r = cfg && cfg->max_range_m > 0 ? cfg->max_range_m : 250;
            if (r > max_r) {
                json_text(j, v, sizeof v);
                emit(k, AVT_RULE_OUT_OF_RANGE, w, v, "%.1f m from the sensor, beyond its range of %g m", r, max_r);
            }
        }
    }
    if ((j = json_object_get(b, "size"))) {
        snprintf(w, sizeof w, "%s.size", where);
        if (numbers(k, j, w, 3, lb->size))
            for (int d = 0; d < 3; d++)
                if (!(lb->size[d] > 0)) {
                    snprintf(w, sizeof w, "%s.size[%d]", where, d);
                    snprintf(v, sizeof v, "%g", lb->size[d]);
                    emit(k, AVT_RULE_NONPOSITIVE_SIZE, w, v, "sizes must be positive");
                }
    }
    if ((j = json_object_get(b, "velocity")) && !json_is_null(j)) {
        snprintf(w, sizeof w, "%s.velocity", where);
        numbers(k, j, w, 3, lb->velocity);
    }
    if ((j = json_object_get(b, "score")) && !json_is_null(j)) { /* a prediction's confidence (eval) */
        snprintf(w, sizeof w, "%s.score", where);
        number(k, j, w, &lb->score);
    }
    if ((j = json_object_get(b, "occluded")) && !json_is_null(j)) { /* KITTI's difficulty inputs (eval) */
        snprintf(w, sizeof w, "%s.occluded", where);
        if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > 3) {
            json_text(j, v, sizeof v);
            emit(k, json_is_integer(j) ? AVT_RULE_OUT_OF_RANGE : AVT_RULE_BAD_TYPE, w, v,
                 "expected KITTI's occlusion level, an integer 0..3");
        } else {
            lb->occluded = (int)json_integer_value(j);
        }
    }
    if ((j = json_object_get(b, "truncated")) && !json_is_null(j)) {
        snprintf(w, sizeof w, "%s.truncated", where);
        if (number(k, j, w, &lb->truncated) && !(lb->truncated >= 0 && lb->truncated <= 1)) {
            json_text(j, v, sizeof v);
            emit(k, AVT_RULE_OUT_OF_RANGE, w, v, "expected KITTI's truncation, 0..1");
            lb->truncated = NAN;
        }
    }
    json_t *yaw = json_object_get(b, "yaw"), *rot = json_object_get(b, "rotation");
    if (yaw) {
        snprintf(w, sizeof w, "%s.yaw", where);
        number(k, yaw, w, &lb->yaw);
    }
    if (rot) {
        double q[4];
        snprintf(w, sizeof w, "%s.rotation", where);
        if (numbers(k, rot, w, 4, q)) {
            double norm = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
            if (fabs(norm - 1) > 1e-3) {
                json_text(rot, v, sizeof v);
                emit(k, AVT_RULE_QUATERNION_NORM, w, v, "norm %.6f, a rotation quaternion has norm 1 (within 1e-3)", norm);
            } else if (!yaw) { /* yaw of the box's x axis: atan2(2(wz + xy), 1 - 2(y^2 + z^2)) */
                lb->yaw = atan2(2 * (q[0] * q[3] + q[1] * q[2]), 1 - 2 * (q[2] * q[2] + q[3] * q[3]));
            }
        }
    }
    if (!yaw && !rot && avt_schema_field(s, "yaw") != 2) { /* nothing gives the heading */
        snprintf(w, sizeof w, "%s.yaw", where);
        emit(k, AVT_RULE_MISSING_FIELD, w, NULL, "a box needs yaw or rotation");
    }
    json_t *attrs = json_object_get(b, "attributes");
    snprintf(w, sizeof w, "%s.attributes", where);
    if (attrs && !json_is_array(attrs)) {
        json_text(attrs, v, sizeof v);
        emit(k, AVT_RULE_BAD_TYPE, w, v, "expected a list of attribute names");
    } else if (attrs) {
        size_t i;
        json_array_foreach(attrs, i, j) {
            char wi[160];
            snprintf(wi, sizeof wi, "%s[%zu]", w, i);
            int bit = json_is_string(j) ? avt_schema_attribute_bit(s, json_string_value(j)) : -1;
            json_text(j, v, sizeof v);
            if (!json_is_string(j)) {
                emit(k, AVT_RULE_BAD_TYPE, wi, v, "expected an attribute name");
            } else if (bit < 0) {
                emit(k, AVT_RULE_UNKNOWN_ATTRIBUTE, wi, json_string_value(j), "not an attribute of schema %s%s%s%s", s->name,
                     s->n_attributes ? " (closest: '" : "",
                     s->n_attributes ? closest(json_string_value(j), s->attribute_names, s->n_attributes) : "",
                     s->n_attributes ? "')" : "");
            } else if (kc && !(kc->attributes & (1u << bit))) {
                emit(k, AVT_RULE_ATTRIBUTE_NOT_ALLOWED, wi, json_string_value(j), "not allowed for class %s", kc->name);
            } else {
                for (size_t o = 0; o < s->n_attributes; o++)
                    if ((lb->attributes & (1u << o)) && s->attribute_group[o] == s->attribute_group[bit])
                        emit(k, AVT_RULE_ATTRIBUTE_CONFLICT, wi, json_string_value(j), "'%s' is already given, of the same group",
                             s->attribute_names[o]);
                lb->attributes |= 1u << bit;
            }
        }
    }
    return k->errors == before && kc != NULL;
}

static int read_region(sink *k, const avt_schema *s, const avt_validate_config *cfg, json_t *r, size_t ri,
                       avt_label_ignore *out)
{
    char where[96], w[128], v[128];
    int before = k->errors;
    snprintf(where, sizeof where, "ignore_regions[%zu]", ri);
    memset(out, 0, sizeof *out);
    if (!object_keys(k, r, where, "an object (camera, class, xyxy)", REGION_KEYS, 3)) return 0;
    json_t *cam = json_object_get(r, "camera"), *cls = json_object_get(r, "class");
    snprintf(w, sizeof w, "%s.camera", where);
    json_text(cam, v, sizeof v);
    if (!json_is_string(cam) || strlen(json_string_value(cam)) >= sizeof out->camera) {
        emit(k, AVT_RULE_IGNORE_REGION, w, v, "expected a camera name");
    } else {
        snprintf(out->camera, sizeof out->camera, "%s", json_string_value(cam));
        if (cfg && cfg->rig) {
            size_t c = 0;
            while (c < cfg->rig->n_cameras && strcmp(cfg->rig->cameras[c].name, out->camera)) c++;
            if (c == cfg->rig->n_cameras) emit(k, AVT_RULE_IGNORE_REGION, w, out->camera, "not a camera of calib.yaml");
        }
    }
    const avt_schema_class *kc = json_is_string(cls) ? avt_schema_class_find(s, json_string_value(cls)) : NULL;
    snprintf(w, sizeof w, "%s.class", where);
    json_text(cls, v, sizeof v);
    if (!kc || !kc->ignore) emit(k, AVT_RULE_IGNORE_REGION, w, v, "not an ignore class of schema %s", s->name);
    else out->class_id = kc->id;
    snprintf(w, sizeof w, "%s.xyxy", where);
    if (numbers(k, json_object_get(r, "xyxy"), w, 4, out->xyxy) &&
        !(out->xyxy[0] <= out->xyxy[2] && out->xyxy[1] <= out->xyxy[3])) {
        json_text(json_object_get(r, "xyxy"), v, sizeof v);
        emit(k, AVT_RULE_IGNORE_REGION, w, v, "expected left <= right and top <= bottom");
    }
    return k->errors == before;
}

/* Reads text (len bytes; NULL: the file k->path) into out; findings into k. With ok NULL, out holds the usable boxes only; else
 * every box, and (*ok)[i] says whether box i is usable. AVT_OK unless out of memory. */
static int read_file(sink *k, const avt_schema *s, const avt_validate_config *cfg, const char *text, size_t len,
                     avt_label_frame *out, uint8_t **ok)
{
    char v[128];
    json_error_t je;
    memset(out, 0, sizeof *out);
    /* the file read whole, then parsed: json_load_file takes it a locked getc at a time. A
     * file that cannot be read is left to json_load_file, whose message names the cause. */
    char *whole = NULL;
    if (!text && avt_read_file(k->path, (size_t)1 << 30, &whole, &len, NULL) == AVT_OK) text = whole;
    json_t *root = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)
                        : json_load_file(k->path, JSON_REJECT_DUPLICATES, &je);
    free(whole);
    if (!root) {
        /* JSON has no NaN or infinity: a writer's NaN token or an overflowing number is a
         * non-finite number, anything else a parse error */
        int nf = json_error_code(&je) == json_error_numeric_overflow || strstr(je.text, "'NaN'") ||
                 strstr(je.text, "Infinity'") || strstr(je.text, "near '-'");
        snprintf(v, sizeof v, "line %d column %d", je.line, je.column);
        emit(k, nf ? AVT_RULE_NOT_FINITE : AVT_RULE_PARSE, "", v, "%s", je.text);
        return AVT_OK;
    }
    int rc = AVT_OK;
    if (!object_keys(k, root, "", "a JSON object", TOP_KEYS, 4)) goto out;
    json_t *ts = json_object_get(root, "timestamp_ns"), *frame = json_object_get(root, "frame");
    json_t *boxes = json_object_get(root, "boxes"), *regions = json_object_get(root, "ignore_regions");
    if (!ts) emit(k, AVT_RULE_MISSING_FIELD, "timestamp_ns", NULL, "every label file has one");
    else if (!json_is_integer(ts)) {
        json_text(ts, v, sizeof v);
        emit(k, AVT_RULE_BAD_TYPE, "timestamp_ns", v, "expected integer nanoseconds");
    } else out->timestamp_ns = json_integer_value(ts);
    if (frame && (!json_is_string(frame) || strcmp(json_string_value(frame), s->frame) != 0)) {
        json_text(frame, v, sizeof v);
        emit(k, AVT_RULE_FRAME, "frame", v, "schema %s labels are in the %s frame", s->name, s->frame);
    }
    if (!boxes) emit(k, AVT_RULE_MISSING_FIELD, "boxes", NULL, "every label file has a list of boxes");
    else if (!json_is_array(boxes)) {
        json_text(boxes, v, 40);
        emit(k, AVT_RULE_BAD_TYPE, "boxes", v, "expected a list");
    }
    if (regions && !json_is_array(regions)) {
        json_text(regions, v, 40);
        emit(k, AVT_RULE_BAD_TYPE, "ignore_regions", v, "expected a list");
    }
    size_t nb = json_is_array(boxes) ? json_array_size(boxes) : 0;
    size_t nr = json_is_array(regions) ? json_array_size(regions) : 0;
    if (nb > 100000 || nr > 100000) {
        snprintf(v, sizeof v, "%zu", nb > nr ? nb : nr);
        emit(k, AVT_RULE_PARSE, nb > 100000 ? "boxes" : "ignore_regions", v, "more than the 100000 entries a file may have");
        goto out;
    }
    out->boxes = malloc((nb ? nb : 1) * sizeof *out->boxes);
    out->ignore = malloc((nr ? nr : 1) * sizeof *out->ignore);
    if (ok && !(*ok = malloc(nb ? nb : 1))) rc = AVT_NOMEM;
    if (rc || !out->boxes || !out->ignore) {
        rc = avt_err(k->err, AVT_NOMEM, "%s: out of memory", k->path);
        goto out;
    }
    for (size_t i = 0; i < nb; i++) {
        int good = read_box(k, s, cfg, json_array_get(boxes, i), i, &out->boxes[ok ? i : out->n]);
        if (ok) (*ok)[i] = (uint8_t)good, out->n++;
        else out->n += good;
    }
    for (size_t i = 0; i < nr; i++)
        out->n_ignore += read_region(k, s, cfg, json_array_get(regions, i), i, &out->ignore[out->n_ignore]);
out:
    json_decref(root);
    if (rc) {
        avt_label_frame_free(out);
        if (ok) free(*ok), *ok = NULL;
    }
    return rc;
}

int avt_label_frame_parse(const char *text, size_t len, const char *path, const avt_schema *s, avt_label_frame *out,
                          avt_error *err)
{
    sink k = {path, NULL, err, 0};
    int rc = read_file(&k, s, NULL, text, len, out, NULL);
    if (!rc && k.errors) {
        avt_label_frame_free(out);
        rc = err ? err->code : AVT_FORMAT;
    }
    return rc;
}

int avt_label_frame_read(const char *path, const avt_schema *s, avt_label_frame *out, avt_error *err)
{
    return avt_label_frame_parse(NULL, 0, path, s, out, err);
}

/* ---- geometry ---------------------------------------------------------------------------- */

/* Corners of a box seen from above, counter-clockwise. */
static void bev_corners(const avt_label_box *b, double p[4][2])
{
    static const double sx[4] = {1, 1, -1, -1}, sy[4] = {-1, 1, 1, -1};
    double c = cos(b->yaw), s = sin(b->yaw);
    for (int i = 0; i < 4; i++) {
        double lx = 0.5 * b->size[0] * sx[i], ly = 0.5 * b->size[1] * sy[i];
        p[i][0] = b->center[0] + c * lx - s * ly;
        p[i][1] = b->center[1] + s * lx + c * ly;
    }
}

double avt_box_iou3d(const avt_label_box *a, const avt_label_box *b)
{
    double za = 0.5 * a->size[2], zb = 0.5 * b->size[2];
    double dz = fmin(a->center[2] + za, b->center[2] + zb) - fmax(a->center[2] - za, b->center[2] - zb);
    if (!(dz > 0)) return 0;
    /* Sutherland-Hodgman: a's rectangle clipped by each edge of b's (both convex); a convex
     * quadrilateral cut by four half-planes keeps at most 8 vertices */
    double pa[4][2], pb[4][2], poly[16][2], next[16][2];
    bev_corners(a, pa);
    bev_corners(b, pb);
    size_t n = 4;
    memcpy(poly, pa, sizeof pa);
    for (int e = 0; e < 4 && n; e++) {
        const double *p0 = pb[e], *p1 = pb[(e + 1) % 4];
        double ex = p1[0] - p0[0], ey = p1[1] - p0[1];
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const double *c = poly[i], *d = poly[(i + 1) % n];
            double sc = ex * (c[1] - p0[1]) - ey * (c[0] - p0[0]), sd = ex * (d[1] - p0[1]) - ey * (d[0] - p0[0]);
            if (sc >= 0) next[m][0] = c[0], next[m][1] = c[1], m++;
            if ((sc >= 0) != (sd >= 0)) {
                double t = sc / (sc - sd);
                next[m][0] = c[0] + t * (d[0] - c[0]), next[m][1] = c[1] + t * (d[1] - c[1]), m++;
            }
        }
        n = m;
        memcpy(poly, next, n * sizeof poly[0]);
    }
    double area = 0;
    for (size_t i = 0; i < n; i++) area += poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1];
    double inter = 0.5 * fabs(area) * dz;
    double va = a->size[0] * a->size[1] * a->size[2], vb = b->size[0] * b->size[1] * b->size[2];
    return inter > 0 ? inter / (va + vb - inter) : 0;
}

/* ---- rules over files -------------------------------------------------------------------- */

typedef struct track {
    int64_t id;
    int class_id;
    int64_t first_t; /* the file where its class and size were first seen */
    double size[3];
    size_t last_file; /* index of the last file it was in, + 1 (0: none) */
    int64_t last_t;
    double last_cw[3], last_vw[3]; /* world centre and velocity there (NaN: unknown) */
} track;

typedef struct track_table {
    track *t;
    size_t n, cap;
} track_table;

/* The track with this id, inserted (zeroed, id set) when absent; NULL out of memory. */
static track *track_get(track_table *tt, int64_t id, int *is_new)
{
    size_t lo = 0, hi = tt->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tt->t[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    *is_new = !(lo < tt->n && tt->t[lo].id == id);
    if (!*is_new) return &tt->t[lo];
    if (avt_grow((void **)&tt->t, &tt->cap, tt->n + 1, sizeof *tt->t)) return NULL;
    memmove(&tt->t[lo + 1], &tt->t[lo], (tt->n - lo) * sizeof *tt->t);
    tt->n++;
    memset(&tt->t[lo], 0, sizeof tt->t[lo]);
    tt->t[lo].id = id;
    return &tt->t[lo];
}

static double or_default(double v, double dflt) { return v > 0 ? v : dflt; }

static void check_boxes_of_file(sink *k, const avt_validate_config *cfg, const avt_label_frame *f, const uint8_t *ok)
{
    const avt_schema *s = cfg->schema;
    char w[128], v[128];
    static const char *const dim[3] = {"length", "width", "height"};
    double thr = or_default(cfg->overlap_iou, 0.25);
    for (size_t j = 0; j < f->n; j++) {
        if (!ok[j]) continue;
        const avt_label_box *b = &f->boxes[j];
        const avt_schema_class *kc = avt_schema_class_by_id(s, (unsigned)b->class_id);
        for (int q = 0; q < 3; q++)
            if (kc && (b->size[q] < kc->size_min[q] || b->size[q] > kc->size_max[q])) {
                snprintf(w, sizeof w, "boxes[%zu].size[%d]", j, q);
                snprintf(v, sizeof v, "%g", b->size[q]);
                emit(k, AVT_RULE_SIZE_PRIOR, w, v, "%s %s outside the prior [%g, %g] m", kc->name, dim[q], kc->size_min[q],
                     kc->size_max[q]);
            }
        for (size_t i = 0; i < j; i++) {
            if (!ok[i]) continue;
            const avt_label_box *a = &f->boxes[i];
            if (a->track_id >= 0 && a->track_id == b->track_id) {
                snprintf(w, sizeof w, "boxes[%zu].track_id", j);
                snprintf(v, sizeof v, "%lld", (long long)b->track_id);
                emit(k, AVT_RULE_DUPLICATE_TRACK, w, v, "also the track of boxes[%zu]", i);
            }
            if (a->class_id == b->class_id && !memcmp(a->center, b->center, sizeof a->center) &&
                !memcmp(a->size, b->size, sizeof a->size) && a->yaw == b->yaw) {
                snprintf(w, sizeof w, "boxes[%zu]", j);
                emit(k, AVT_RULE_DUPLICATE_BOX, w, NULL, "identical to boxes[%zu]", i);
                continue;
            }
            /* boxes whose circumscribed circles are apart cannot overlap */
            double dx = a->center[0] - b->center[0], dy = a->center[1] - b->center[1];
            double ra = 0.5 * hypot(a->size[0], a->size[1]), rb = 0.5 * hypot(b->size[0], b->size[1]);
            if (dx * dx + dy * dy >= (ra + rb) * (ra + rb)) continue;
            double iou = avt_box_iou3d(a, b);
            if (iou > thr) {
                snprintf(w, sizeof w, "boxes[%zu]", j);
                snprintf(v, sizeof v, "IoU %.3f", iou);
                emit(k, AVT_RULE_OVERLAP, w, v, "overlaps boxes[%zu] beyond the %g threshold", i, thr);
            }
        }
    }
}

static int check_tracks(sink *k, const avt_validate_config *cfg, track_table *tt, const avt_label_frame *f,
                        const uint8_t *ok, size_t file_no, int64_t t, avt_error *err)
{
    const avt_schema *s = cfg->schema;
    char w[128], v[128];
    avt_tf W = avt_tf_identity(), ego_T_lidar = cfg->rig ? avt_tf_inv(&cfg->rig->lidar_T_ego) : avt_tf_identity();
    int have_pose = !cfg->poses || avt_poses_at(cfg->poses, t, &W, NULL) == AVT_OK;
    avt_tf world_T_lidar = avt_tf_mul(&W, &ego_T_lidar);
    double tol = or_default(cfg->size_tolerance, 0.10), tol_m = or_default(cfg->size_tolerance_m, 0.20);
    double vt_abs = or_default(cfg->velocity_tol_mps, 1.0), vt_rel = or_default(cfg->velocity_tol_rel, 0.2);
    for (size_t j = 0; j < f->n; j++) {
        const avt_label_box *b = &f->boxes[j];
        if (!ok[j] || b->track_id < 0) continue;
        int is_new;
        track *tr = track_get(tt, b->track_id, &is_new);
        if (!tr) return avt_err(err, AVT_NOMEM, "out of memory for %zu tracks", tt->n);
        if (is_new || tr->last_file == file_no + 1) { /* first seen (or twice in this file: duplicate_track) */
            if (is_new) {
                tr->class_id = b->class_id;
                tr->first_t = t;
                memcpy(tr->size, b->size, sizeof tr->size);
            }
        } else {
            if (tr->class_id != b->class_id) {
                const avt_schema_class *was = avt_schema_class_by_id(s, (unsigned)tr->class_id);
                snprintf(w, sizeof w, "boxes[%zu].class", j);
                emit(k, AVT_RULE_TRACK_CLASS, w, s->class_names[b->class_id], "track %lld was '%s' in %lld.json",
                     (long long)b->track_id, was ? was->name : "?", (long long)tr->first_t);
            }
            for (int q = 0; q < 3; q++)
                if (fabs(b->size[q] - tr->size[q]) > fmax(tol_m, tol * tr->size[q])) {
                    snprintf(w, sizeof w, "boxes[%zu].size[%d]", j, q);
                    snprintf(v, sizeof v, "%g", b->size[q]);
                    emit(k, AVT_RULE_TRACK_SIZE, w, v, "track %lld had %g in %lld.json (tolerance %g m or %g%%)",
                         (long long)b->track_id, tr->size[q], (long long)tr->first_t, tol_m, 100 * tol);
                    break;
                }
        }
        double cw[3], vw[3] = {NAN, NAN, NAN};
        avt_tf_apply(&world_T_lidar, b->center, cw);
        if (isfinite(b->velocity[0])) avt_tf_rotate(&world_T_lidar, b->velocity, vw);
        int64_t dt_ns = t - tr->last_t;
        if (have_pose && tr->last_file == file_no && dt_ns > 0 && dt_ns <= 1000000000LL &&
            (isfinite(vw[0]) || isfinite(tr->last_vw[0]))) {
            /* the finite difference of the world positions against the mean labelled velocity */
            double dt = (double)dt_ns * 1e-9, dev = 0, vm2 = 0;
            for (int q = 0; q < 3; q++) {
                double vm = isfinite(vw[0]) && isfinite(tr->last_vw[0]) ? 0.5 * (vw[q] + tr->last_vw[q])
                                                                         : isfinite(vw[0]) ? vw[q] : tr->last_vw[q];
                double fd = (cw[q] - tr->last_cw[q]) / dt;
                dev += (fd - vm) * (fd - vm);
                vm2 += vm * vm;
            }
            dev = sqrt(dev);
            if (dev > vt_abs + vt_rel * sqrt(vm2)) {
                snprintf(w, sizeof w, "boxes[%zu].velocity", j);
                snprintf(v, sizeof v, "[%g, %g, %g]", b->velocity[0], b->velocity[1], b->velocity[2]);
                emit(k, AVT_RULE_VELOCITY, w, v,
                     "track %lld moved %.2f m/s off the labelled velocity since %lld.json (tolerance %g m/s + %g x speed)",
                     (long long)b->track_id, dev, (long long)tr->last_t, vt_abs, vt_rel);
            }
        }
        if (tr->last_file != file_no + 1) {
            tr->last_file = file_no + 1;
            tr->last_t = t;
            memcpy(tr->last_cw, cw, sizeof cw);
            memcpy(tr->last_vw, vw, sizeof vw);
            if (!have_pose) tr->last_file = 0; /* no world position to compare with */
        }
    }
    return AVT_OK;
}

int avt_validate_times(const avt_label_index *idx, const avt_validate_config *cfg, avt_validation *rep)
{
    if (!cfg->n_sweeps) return AVT_OK;
    int64_t tol = cfg->label_tolerance_ns > 0 ? cfg->label_tolerance_ns : 5000000;
    char v[64], start[40], end[40];
    avt_format_utc(cfg->capture_start_ns, start, sizeof start);
    avt_format_utc(cfg->capture_end_ns, end, sizeof end);
    for (size_t i = 0; i < idx->n; i++) {
        sink k = {idx->paths[i], rep, NULL, 0};
        int64_t t = idx->t_ns[i];
        snprintf(v, sizeof v, "%lld", (long long)t);
        if (t < cfg->capture_start_ns - tol || t > cfg->capture_end_ns + tol) {
            emit(&k, AVT_RULE_OUTSIDE_CAPTURE, "", v, "the LiDAR capture spans %s .. %s", start, end);
            continue;
        }
        size_t lo = 0, hi = cfg->n_sweeps;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cfg->sweep_ns[mid] < t) lo = mid + 1;
            else hi = mid;
        }
        int64_t best = INT64_MAX;
        for (size_t q = lo ? lo - 1 : 0; q <= lo && q < cfg->n_sweeps; q++)
            best = llabs(cfg->sweep_ns[q] - t) < best ? llabs(cfg->sweep_ns[q] - t) : best;
        if (best > tol)
            emit(&k, AVT_RULE_UNATTACHED, "", v, "the nearest sweep's reference time is %.3f ms away (tolerance %.3f ms)",
                 (double)best * 1e-6, (double)tol * 1e-6);
    }
    return AVT_OK;
}

static const char *label_path(void *ctx, size_t j, char *buf, size_t cap)
{
    (void)buf, (void)cap;
    const avt_label_index *const *idx = ctx;
    return (*idx)->paths[j];
}

int avt_validate_labels(const avt_label_index *idx, const avt_validate_config *cfg, avt_validation *rep,
                        avt_error *err)
{
    if (!cfg || !cfg->schema) return avt_err(err, AVT_INVAL, "validation needs a schema");
    track_table tt = {0};
    int rc = AVT_OK;
    for (size_t i = 0; i < idx->n_bad; i++) {
        sink k = {idx->bad_names[i], rep, err, 0};
        const char *base = strrchr(idx->bad_names[i], '/');
        emit(&k, AVT_RULE_FILE_NAME, "", base ? base + 1 : idx->bad_names[i],
             "label files are named <t_ns>.json (integer nanoseconds); this one is never read by build");
    }
    for (size_t i = 0; i < idx->n && !rc; i++) {
        avt_files_read_ahead(i, idx->n, label_path, &idx);
        sink k = {idx->paths[i], rep, err, 0};
        avt_label_frame f;
        uint8_t *ok = NULL;
        if ((rc = read_file(&k, cfg->schema, cfg, NULL, 0, &f, &ok))) break;
        rep->files++;
        rep->boxes += f.n;
        if (f.timestamp_ns != 0 && f.timestamp_ns != idx->t_ns[i]) {
            char v[32];
            snprintf(v, sizeof v, "%lld", (long long)f.timestamp_ns);
            emit(&k, AVT_RULE_NAME_TIME, "timestamp_ns", v, "the file name says %lld", (long long)idx->t_ns[i]);
        }
        check_boxes_of_file(&k, cfg, &f, ok);
        rc = check_tracks(&k, cfg, &tt, &f, ok, i, idx->t_ns[i], err);
        free(ok);
        avt_label_frame_free(&f);
    }
    free(tt.t);
    if (!rc) avt_validate_times(idx, cfg, rep);
    return rc;
}

/* ---- reports ----------------------------------------------------------------------------- */

static void finding_line(const avt_finding *f, char *out, size_t n)
{
    snprintf(out, n, "%s %s %s%s%s%s%s%s: %s", avt_severity_name(avt_rule_severity(f->rule)), avt_rule_name(f->rule),
             f->file, f->where[0] ? ": " : "", f->where, f->value[0] ? ": '" : "", f->value, f->value[0] ? "'" : "",
             f->detail);
}

void avt_validation_print(const avt_validation *rep, FILE *out)
{
    char line[1400];
    for (size_t i = 0; i < rep->n; i++) {
        finding_line(&rep->findings[i], line, sizeof line);
        fprintf(out, "%s\n", line);
    }
    if (rep->errors + rep->warnings > rep->n)
        fprintf(out, "... %llu more findings not listed\n", (unsigned long long)(rep->errors + rep->warnings - rep->n));
    fprintf(out, "%llu label files, %llu boxes: %llu errors, %llu warnings\n", (unsigned long long)rep->files,
            (unsigned long long)rep->boxes, (unsigned long long)rep->errors, (unsigned long long)rep->warnings);
    for (int r = 0; r < AVT_RULE_COUNT; r++)
        if (rep->count[r])
            fprintf(out, "  %-22s %-7s %llu\n", avt_rule_name(r), avt_severity_name(avt_rule_severity(r)),
                    (unsigned long long)rep->count[r]);
}

int avt_validation_write_json(const avt_validation *rep, const char *path, avt_error *err)
{
    json_t *root = json_object(), *counts = json_object(), *list = json_array();
    int rc = AVT_OK;
    if (!root || !counts || !list) {
        json_decref(root), json_decref(counts), json_decref(list);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    for (int r = 0; r < AVT_RULE_COUNT; r++)
        if (rep->count[r]) json_object_set_new(counts, avt_rule_name(r), json_integer((json_int_t)rep->count[r]));
    for (size_t i = 0; i < rep->n; i++) {
        const avt_finding *f = &rep->findings[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "severity",
                                              avt_severity_name(avt_rule_severity(f->rule)), "rule", avt_rule_name(f->rule),
                                              "file", f->file, "path", f->where, "value", f->value, "message", f->detail));
    }
    json_object_set_new(root, "files", json_integer((json_int_t)rep->files));
    json_object_set_new(root, "boxes", json_integer((json_int_t)rep->boxes));
    json_object_set_new(root, "errors", json_integer((json_int_t)rep->errors));
    json_object_set_new(root, "warnings", json_integer((json_int_t)rep->warnings));
    json_object_set_new(root, "counts", counts);
    json_object_set_new(root, "findings", list);
    json_object_set_new(root, "findings_truncated", json_boolean(rep->errors + rep->warnings > rep->n));
    if (json_dump_file(root, path, JSON_INDENT(1)))
        rc = avt_err(err, AVT_IO, "%s: cannot write the report: %s", path, strerror(errno));
    json_decref(root);
    return rc;
}

void avt_validation_markdown(const avt_validation *rep, size_t max_lines, avt_sbuf *out)
{
    if (!rep->errors && !rep->warnings) return;
    avt_sbuf_printf(out, "- Labels: %llu errors, %llu warnings over %llu label files (%llu boxes)\n",
                    (unsigned long long)rep->errors, (unsigned long long)rep->warnings, (unsigned long long)rep->files,
                    (unsigned long long)rep->boxes);
    for (int r = 0; r < AVT_RULE_COUNT; r++)
        if (rep->count[r])
            avt_sbuf_printf(out, "  - `%s` (%s): %llu, %s\n", avt_rule_name(r), avt_severity_name(avt_rule_severity(r)),
                            (unsigned long long)rep->count[r], avt_rule_description(r));
    char line[1400];
    for (size_t i = 0; i < rep->n && i < max_lines; i++) {
        finding_line(&rep->findings[i], line, sizeof line);
        avt_sbuf_printf(out, "  - %s\n", line);
    }
}
