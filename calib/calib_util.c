/* avtruth calibration: helpers shared by the format loaders (YAML access, "key: numbers" text,
 * rigid transforms from printed rotations, cameras from projection matrices, PNG sizes). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_private.h"

/* ---- YAML ---- */

int calib_yaml_load(const char *path, yaml_document_t *doc, avt_error *err)
{
    char *text = NULL;
    size_t len = 0;
    yaml_parser_t parser;
    int rc = avt_read_file(path, CALIB_MAX_BYTES, &text, &len, err);
    if (rc) return rc;
    if (len >= 5 && memcmp(text, "%YAML", 5) == 0) {
        /* OpenCV's "%YAML:1.0": not a valid directive for libyaml; comment it out in place. */
        text[0] = '#';
        for (size_t i = 1; i < len && text[i] != '\n'; i++) text[i] = ' ';
    }
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return avt_err(err, AVT_NOMEM, "%s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        rc = avt_err(err, AVT_FORMAT, "%s: line %lu column %lu: YAML error: %s", path,
                     (unsigned long)parser.problem_mark.line + 1, (unsigned long)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "unknown");
    } else if (!yaml_document_get_root_node(doc)) {
        yaml_document_delete(doc);
        rc = avt_err(err, AVT_FORMAT, "%s: empty YAML document", path);
    }
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

yaml_node_t *calib_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

const char *calib_yaml_scalar(yaml_node_t *n)
{
    return (n && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value : NULL;
}

static unsigned long line_of(yaml_node_t *n) { return n ? (unsigned long)n->start_mark.line + 1 : 0UL; }

int calib_yaml_check_keys(yaml_document_t *doc, yaml_node_t *map, const char *const *known, const char *path,
                          const char *where, avt_error *err)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return avt_err(err, AVT_FORMAT, "%s: %s: expected a mapping", path, where);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        const char *k = calib_yaml_scalar(kn);
        int ok = 0;
        for (const char *const *q = known; *q && k; q++) ok |= strcmp(*q, k) == 0;
        /* libyaml keeps both of a key given twice, and a lookup finds the first */
        for (yaml_node_pair_t *e = map->data.mapping.pairs.start; ok && e < p; e++) {
            yaml_node_t *en = yaml_document_get_node(doc, e->key);
            const char *ek = calib_yaml_scalar(en);
            if (ek && strcmp(ek, k) == 0)
                return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: key '%s' given twice (first on line %lu)", path,
                               line_of(kn), where, k, line_of(en));
        }
        if (ok) continue;
        char list[256] = "";
        for (const char *const *q = known; *q; q++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", q == known ? "" : ", ", *q);
        }
        return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: unknown key '%s' (accepted: %s)", path, line_of(kn), where,
                       k ? k : "(not a scalar)", list);
    }
    return AVT_OK;
}

/* Collects the scalar leaves of a sequence, descending one level into nested sequences. */
static int collect(yaml_document_t *doc, yaml_node_t *seq, int depth, yaml_node_t **leaf, int cap, int *n)
{
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *c = yaml_document_get_node(doc, *it);
        if (c && c->type == YAML_SEQUENCE_NODE && depth == 0) {
            if (!collect(doc, c, 1, leaf, cap, n)) return 0;
            continue;
        }
        if (*n < cap) leaf[*n] = c;
        (*n)++;
    }
    return 1;
}

int calib_yaml_numbers(yaml_document_t *doc, yaml_node_t *node, const char *path, const char *key, double *out,
                       int min_n, int max_n, int *n_out, avt_error *err)
{
    int rows = -1, cols = -1;
    yaml_node_t *seq = node;
    if (node && node->type == YAML_MAPPING_NODE) { /* {rows, cols, [dt,] data} */
        int64_t r, c;
        const char *rs = calib_yaml_scalar(calib_yaml_get(doc, node, "rows"));
        const char *cs = calib_yaml_scalar(calib_yaml_get(doc, node, "cols"));
        const char *dt = calib_yaml_scalar(calib_yaml_get(doc, node, "dt"));
        if (!rs || !cs || !avt_parse_int64(rs, &r) || !avt_parse_int64(cs, &c) || r < 0 || c < 0 || r > 64 || c > 64)
            return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: matrix needs 'rows' and 'cols' in 0..64 (got '%s', '%s')",
                           path, line_of(node), key, rs ? rs : "(missing)", cs ? cs : "(missing)");
        if (dt && strcmp(dt, "d") != 0 && strcmp(dt, "f") != 0)
            return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: matrix element type dt '%s', expected d or f", path,
                           line_of(node), key, dt);
        rows = (int)r;
        cols = (int)c;
        seq = calib_yaml_get(doc, node, "data");
    }
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: expected a list of numbers", path, line_of(seq ? seq : node),
                       key);
    yaml_node_t *leaf[256];
    int n = 0;
    collect(doc, seq, 0, leaf, 256, &n);
    if (rows > 0 && n != rows * cols)
        return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: %d values in data, rows x cols = %d x %d", path,
                       line_of(seq), key, n, rows, cols);
    if (n < min_n || n > max_n)
        return avt_err(err, AVT_FORMAT, "%s: line %lu: %s: %d values, expected %s%d", path, line_of(seq), key, n,
                       min_n == max_n ? "" : "up to ", max_n);
    for (int i = 0; i < n; i++) {
        const char *s = calib_yaml_scalar(leaf[i]);
        if (!s || !avt_parse_double(s, &out[i]))
            return avt_err(err, AVT_FORMAT, "%s: line %lu: %s[%d]: not a finite number: '%s'", path, line_of(leaf[i]),
                           key, i, s ? s : "(not a scalar)");
    }
    if (n_out) *n_out = n;
    return AVT_OK;
}

int calib_yaml_uint(yaml_node_t *n, const char *path, const char *key, unsigned *out, avt_error *err)
{
    const char *s = calib_yaml_scalar(n);
    int64_t v;
    if (!s || !avt_parse_int64(s, &v) || v <= 0 || v > 100000)
        return avt_err(err, AVT_FORMAT, "%s: %s: expected a positive integer, got '%s'", path, key, s ? s : "(missing)");
    *out = (unsigned)v;
    return AVT_OK;
}

int calib_copy_name(char *dst, size_t n, const char *s, const char *path, const char *key, avt_error *err)
{
    if (!s || !*s || strlen(s) >= n)
        return avt_err(err, AVT_FORMAT, "%s: %s: missing or longer than %zu characters", path, key, n - 1);
    memcpy(dst, s, strlen(s) + 1);
    return AVT_OK;
}

/* ---- geometry ---- */

static double det3(const double R[9])
{
    return R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) + R[2] * (R[3] * R[7] - R[4] * R[6]);
}

int calib_check_translation(const double t[3], const char *path, const char *key, avt_error *err)
{
    for (int i = 0; i < 3; i++)
        if (!(fabs(t[i]) <= CALIB_MAX_TRANSLATION_M))
            return avt_err(err, AVT_FORMAT, "%s: %s: translation element %d is %g, expected finite metres within +-%g",
                           path, key, i, t[i], CALIB_MAX_TRANSLATION_M);
    return AVT_OK;
}

int calib_rigid(const double R[9], const double t[3], const char *path, const char *key, avt_tf *out, avt_error *err)
{
    for (int i = 0; i < 9; i++)
        if (!isfinite(R[i])) return avt_err(err, AVT_FORMAT, "%s: %s: rotation element %d not finite", path, key, i);
    int rc = calib_check_translation(t, path, key, err);
    if (rc) return rc;
    double dev = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += R[3 * k + i] * R[3 * k + j];
            dev = fmax(dev, fabs(s - (i == j)));
        }
    double d = det3(R);
    if (!(dev <= 1e-5) || !(d > 0))
        return avt_err(err, AVT_FORMAT,
                       "%s: %s: not a rotation (|R^T R - I| = %.3g, det = %.9g; at most 1e-5 and positive)", path, key,
                       dev, d);
    /* Newton iteration for the polar factor, R <- (R + R^-T) / 2: converges quadratically. */
    double Q[9];
    memcpy(Q, R, sizeof Q);
    for (int it = 0; it < 4; it++) {
        double dq = det3(Q), C[9]; /* cofactor matrix = det * Q^-T */
        C[0] = Q[4] * Q[8] - Q[5] * Q[7], C[1] = Q[5] * Q[6] - Q[3] * Q[8], C[2] = Q[3] * Q[7] - Q[4] * Q[6];
        C[3] = Q[2] * Q[7] - Q[1] * Q[8], C[4] = Q[0] * Q[8] - Q[2] * Q[6], C[5] = Q[1] * Q[6] - Q[0] * Q[7];
        C[6] = Q[1] * Q[5] - Q[2] * Q[4], C[7] = Q[2] * Q[3] - Q[0] * Q[5], C[8] = Q[0] * Q[4] - Q[1] * Q[3];
        for (int k = 0; k < 9; k++) Q[k] = 0.5 * (Q[k] + C[k] / dq);
    }
    *out = avt_tf_identity();
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) out->m[4 * i + j] = Q[3 * i + j];
        out->m[4 * i + 3] = t[i];
    }
    return AVT_OK;
}

int calib_camera_from_P(const double P[12], const avt_tf *ref_T_in, const char *path, const char *key,
                        avt_camera *cam, avt_tf *cam_T_in, avt_error *err)
{
    for (int i = 0; i < 12; i++)
        if (!isfinite(P[i])) return avt_err(err, AVT_FORMAT, "%s: %s: element %d not finite", path, key, i);
    if (P[4] != 0 || P[8] != 0 || P[9] != 0 || !(P[10] > 0))
        return avt_err(err, AVT_UNSUPPORTED,
                       "%s: %s: left 3x3 block is not upper triangular with a positive [2][2] (%g %g %g %g); "
                       "only P = K [I | t] is supported", path, key, P[4], P[8], P[9], P[10]);
    double s = P[10];
    double K[9] = {P[0] / s, P[1] / s, P[2] / s, 0, P[5] / s, P[6] / s, 0, 0, 1};
    if (!(K[0] > 0) || !(K[4] > 0))
        return avt_err(err, AVT_FORMAT, "%s: %s: focal lengths must be positive (fx=%g, fy=%g)", path, key, K[0], K[4]);
    /* dividing by a tiny P[2][2] or focal length overflows */
    for (int i = 0; i < 9; i++)
        if (!isfinite(K[i]))
            return avt_err(err, AVT_FORMAT, "%s: %s: K = P's left 3x3 / P[2][2] = %g is not finite (element %d)", path,
                           key, K[i], i);
    double p4[3] = {P[3] / s, P[7] / s, P[11] / s};
    double t[3];
    t[2] = p4[2];
    t[1] = (p4[1] - K[5] * t[2]) / K[4];
    t[0] = (p4[0] - K[1] * t[1] - K[2] * t[2]) / K[0];
    int rc = calib_check_translation(t, path, key, err);
    if (rc) return rc;
    memcpy(cam->K, K, sizeof K);
    avt_tf shift = avt_tf_identity();
    shift.m[3] = t[0], shift.m[7] = t[1], shift.m[11] = t[2];
    *cam_T_in = avt_tf_mul(&shift, ref_T_in);
    return AVT_OK;
}

int calib_set_distortion(avt_camera *cam, const char *model, const double *d, int n, const char *path,
                         const char *key, avt_error *err)
{
    const char *ours;
    int ok;
    if (!model || strcmp(model, "none") == 0) {
        for (int i = 0; i < n; i++)
            if (d[i] != 0)
                return avt_err(err, AVT_FORMAT, "%s: %s[%d]: %g with distortion model 'none'", path, key, i, d[i]);
        ours = "none";
        ok = 1;
        n = 0;
    } else if (strcmp(model, "radtan") == 0 || strcmp(model, "plumb_bob") == 0 ||
               strcmp(model, "rational_polynomial") == 0) {
        ours = "radtan";
        ok = n == 4 || n == 5 || n == 8 || n == 12 || n == 14;
        if (strcmp(model, "rational_polynomial") == 0) ok = n == 8;
        cam->model = AVT_CAM_PINHOLE;
    } else if (strcmp(model, "equidistant") == 0 || strcmp(model, "fisheye") == 0) {
        ours = "equidistant";
        ok = n == 4;
        cam->model = AVT_CAM_FISHEYE;
    } else {
        return avt_err(err, AVT_UNSUPPORTED, "%s: %s: unknown distortion model '%s'", path, key, model);
    }
    if (!ok)
        return avt_err(err, AVT_FORMAT, "%s: %s: %d coefficients do not fit model '%s'", path, key, n, model);
    if (n > AVT_MAX_DIST) n = AVT_MAX_DIST;
    for (int i = 0; i < n; i++) {
        if (!isfinite(d[i]))
            return avt_err(err, AVT_FORMAT, "%s: %s[%d]: not finite", path, key, i);
        cam->dist[i] = d[i];
    }
    cam->n_dist = n;
    snprintf(cam->distortion_model, sizeof cam->distortion_model, "%s", ours);
    return AVT_OK;
}

yaml_node_t *calib_yaml_first(yaml_document_t *doc, yaml_node_t *map, const char *const *keys, const char **used)
{
    *used = keys[0];
    for (; *keys; keys++) {
        yaml_node_t *n = calib_yaml_get(doc, map, *keys);
        if (n) {
            *used = *keys;
            return n;
        }
    }
    return NULL;
}

int calib_yaml_single_camera(yaml_document_t *doc, yaml_node_t *root, const char *path, const calib_keys *k,
                             avt_rig *rig, double d[AVT_MAX_DIST], int *nd, const char **kd, avt_error *err)
{
    const char *kw, *kh, *kk;
    int rc;
    avt_camera *c = calib_add_camera(rig, path, err);
    if (!c) return AVT_NOMEM;
    const char *name = calib_yaml_scalar(calib_yaml_get(doc, root, "camera_name"));
    snprintf(c->name, sizeof c->name, "%s", name && *name ? name : "camera");
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "none");
    rig->lidar_T_ego = avt_tf_identity();
    /* look the nodes up first: the key names used go into messages */
    yaml_node_t *nw = calib_yaml_first(doc, root, k->width, &kw), *nh = calib_yaml_first(doc, root, k->height, &kh);
    yaml_node_t *nk = calib_yaml_first(doc, root, k->K, &kk);
    if ((rc = calib_yaml_uint(nw, path, kw, &c->width, err))) return rc;
    if ((rc = calib_yaml_uint(nh, path, kh, &c->height, err))) return rc;
    if ((rc = calib_yaml_numbers(doc, nk, path, kk, c->K, 9, 9, NULL, err))) return rc;
    *nd = 0;
    yaml_node_t *dn = calib_yaml_first(doc, root, k->D, kd);
    return dn ? calib_yaml_numbers(doc, dn, path, *kd, d, 0, AVT_MAX_DIST, nd, err) : AVT_OK;
}

avt_camera *calib_add_camera(avt_rig *rig, const char *path, avt_error *err)
{
    if (rig->n_cameras >= 64) {
        avt_err(err, AVT_FORMAT, "%s: more than 64 cameras", path);
        return NULL;
    }
    avt_camera *c = realloc(rig->cameras, (rig->n_cameras + 1) * sizeof *c);
    if (!c) {
        avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    rig->cameras = c;
    c = &rig->cameras[rig->n_cameras++];
    memset(c, 0, sizeof *c);
    c->model = AVT_CAM_PINHOLE;
    snprintf(c->distortion_model, sizeof c->distortion_model, "none");
    c->lidar_T_cam = avt_tf_identity();
    return c;
}

/* ---- "KEY: numbers" text ---- */

int calib_kv_parse(const char *text, size_t len, const char *path, calib_kv_file *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    unsigned line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        /* the next line: not eol + 1 when eol == end (a pointer past the end is undefined) */
        const char *next = eol < end ? eol + 1 : end;
        line++;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q == eol) { /* blank line */
            p = next;
            continue;
        }
        if (!colon || colon == q || (size_t)(colon - q) >= sizeof out->e[0].key) {
            calib_kv_free(out);
            return avt_err(err, AVT_FORMAT, "%s: line %u: expected 'KEY: values'", path, line);
        }
        if (avt_grow((void **)&out->e, &cap, out->n + 1, sizeof *out->e)) {
            calib_kv_free(out);
            return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        }
        calib_kv *e = &out->e[out->n++];
        memset(e, 0, sizeof *e);
        memcpy(e->key, q, (size_t)(colon - q));
        e->line = line;
        /* numbers, separated by blanks; any non-number makes the entry non-numeric */
        char buf[64];
        const char *s = colon + 1;
        while (s < eol) {
            while (s < eol && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
            if (s == eol) break;
            const char *t = s;
            while (t < eol && *t != ' ' && *t != '\t' && *t != '\r') t++;
            double v;
            if (e->n < 0 || (size_t)(t - s) >= sizeof buf || e->n >= 16) {
                e->n = -1;
            } else {
                memcpy(buf, s, (size_t)(t - s));
                buf[t - s] = 0;
                if (avt_parse_double(buf, &v)) e->v[e->n++] = v;
                else e->n = -1;
            }
            s = t;
        }
        p = next;
    }
    return AVT_OK;
}

int calib_kv_find(const calib_kv_file *f, const char *key, int want, int required, const char *path,
                  const calib_kv **out, avt_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const calib_kv *e = &f->e[i];
        if (strcmp(e->key, key) != 0) continue;
        if (e->n < 0) return avt_err(err, AVT_FORMAT, "%s: line %u: %s: not a list of finite numbers", path, e->line, key);
        if (want >= 0 && e->n != want)
            return avt_err(err, AVT_FORMAT, "%s: line %u: %s: %d values, expected %d", path, e->line, key, e->n, want);
        *out = e;
        return AVT_OK;
    }
    return required ? avt_err(err, AVT_FORMAT, "%s: missing key '%s'", path, key) : AVT_OK;
}

void calib_kv_free(calib_kv_file *f)
{
    if (!f) return;
    free(f->e);
    f->e = NULL;
    f->n = 0;
}

/* ---- PNG size ---- */

int calib_png_size(const char *path, unsigned *w, unsigned *h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t b[24];
    FILE *f = fopen(path, "rb");
    *w = *h = 0;
    if (!f) return 0;
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    if (got != sizeof b || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) return 0;
    avt_cursor c = avt_cursor_make(b + 16, 8);
    uint32_t ww = avt_get_be32(&c), hh = avt_get_be32(&c);
    if (ww == 0 || hh == 0 || ww > 100000 || hh > 100000) return 0;
    *w = ww;
    *h = hh;
    return 1;
}
