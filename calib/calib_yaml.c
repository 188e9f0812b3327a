/* avtruth calibration: the project's calib.yaml (docs/drive-log.md), read with libyaml's
 * document API and validated; written with plain stdio in the same layout. Unknown keys are
 * errors: a misspelt one (camras, distortion_modle) would drop its data without a word. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "calib_private.h"

static const char *const TOP_KEYS[] = {"version", "lidar", "cameras", NULL};
static const char *const LIDAR_KEYS[] = {"model", "lidar_T_ego", NULL};
static const char *const CAMERA_KEYS[] = {"name", "model", "width", "height", "K", "distortion_model", "distortion",
                                          "lidar_T_cam", NULL};

static int read_camera(yaml_document_t *doc, yaml_node_t *node, const char *path, int idx,
                       avt_camera *cam, avt_error *err)
{
    char key[96];
    int rc;
    snprintf(key, sizeof key, "cameras[%d]", idx);
    if ((rc = calib_yaml_check_keys(doc, node, CAMERA_KEYS, path, key, err))) return rc;
    snprintf(key, sizeof key, "cameras[%d].name", idx);
    if ((rc = calib_copy_name(cam->name, sizeof cam->name, calib_yaml_scalar(calib_yaml_get(doc, node, "name")), path, key, err)))
        return rc;
    const char *model = calib_yaml_scalar(calib_yaml_get(doc, node, "model"));
    if (!model || strcmp(model, "pinhole") == 0) cam->model = AVT_CAM_PINHOLE;
    else if (strcmp(model, "fisheye") == 0) cam->model = AVT_CAM_FISHEYE;
    else
        return avt_err(err, AVT_FORMAT, "%s: cameras.%s.model: unknown camera model '%s'", path,
                       cam->name, model);
    snprintf(key, sizeof key, "cameras.%s.width", cam->name);
    if ((rc = calib_yaml_uint(calib_yaml_get(doc, node, "width"), path, key, &cam->width, err))) return rc;
    snprintf(key, sizeof key, "cameras.%s.height", cam->name);
    if ((rc = calib_yaml_uint(calib_yaml_get(doc, node, "height"), path, key, &cam->height, err))) return rc;
    snprintf(key, sizeof key, "cameras.%s.K", cam->name);
    if ((rc = calib_yaml_numbers(doc, calib_yaml_get(doc, node, "K"), path, key, cam->K, 9, 9, NULL, err))) return rc;
    const char *dm = calib_yaml_scalar(calib_yaml_get(doc, node, "distortion_model"));
    snprintf(key, sizeof key, "cameras.%s.distortion_model", cam->name);
    if ((rc = calib_copy_name(cam->distortion_model, sizeof cam->distortion_model, dm ? dm : "none", path, key, err)))
        return rc;
    cam->n_dist = 0;
    if (strcmp(cam->distortion_model, "none") != 0) {
        static const int radtan_ok[] = {4, 5, 8, 12, 14};
        snprintf(key, sizeof key, "cameras.%s.distortion", cam->name);
        if ((rc = calib_yaml_numbers(doc, calib_yaml_get(doc, node, "distortion"), path, key, cam->dist, 1,
                               AVT_MAX_DIST, &cam->n_dist, err)))
            return rc;
        int ok = 0;
        if (strcmp(cam->distortion_model, "radtan") == 0) {
            for (size_t i = 0; i < sizeof radtan_ok / sizeof radtan_ok[0]; i++) ok |= cam->n_dist == radtan_ok[i];
        } else if (strcmp(cam->distortion_model, "equidistant") == 0) {
            ok = cam->n_dist == 4;
        } else {
            return avt_err(err, AVT_FORMAT, "%s: %s: unknown distortion model '%s'", path, key,
                           cam->distortion_model);
        }
        if (!ok)
            return avt_err(err, AVT_FORMAT, "%s: %s: %d coefficients do not fit model '%s'", path, key,
                           cam->n_dist, cam->distortion_model);
    }
    snprintf(key, sizeof key, "cameras.%s.lidar_T_cam", cam->name);
    return calib_yaml_numbers(doc, calib_yaml_get(doc, node, "lidar_T_cam"), path, key, cam->lidar_T_cam.m, 16, 16,
                        NULL, err);
}

int avt_rig_load_yaml(const char *path, avt_rig *rig, avt_error *err)
{
    memset(rig, 0, sizeof *rig);
    FILE *f = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0, rc = AVT_OK;

    f = fopen(path, "rb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot open calibration: %s", path, strerror(errno));
    if (!yaml_parser_initialize(&parser)) {
        rc = avt_err(err, AVT_NOMEM, "%s: cannot initialise the YAML parser", path);
        goto out;
    }
    have_parser = 1;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = avt_err(err, AVT_FORMAT, "%s: line %lu column %lu: YAML error: %s", path,
                     (unsigned long)parser.problem_mark.line + 1,
                     (unsigned long)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "unknown");
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        rc = avt_err(err, AVT_FORMAT, "%s: expected a mapping at the top level", path);
        goto out;
    }
    /* another version first (its keys may differ); then the keys, which name a misspelt
     * 'version' better than "missing" would */
    const char *ver = calib_yaml_scalar(calib_yaml_get(&doc, root, "version"));
    const int other = ver && strcmp(ver, "1") != 0;
    if (!other && (rc = calib_yaml_check_keys(&doc, root, TOP_KEYS, path, "top level", err))) goto out;
    if (!ver || other) {
        rc = avt_err(err, AVT_UNSUPPORTED, "%s: version: expected 1, got '%s'", path, ver ? ver : "(missing)");
        goto out;
    }
    yaml_node_t *lidar = calib_yaml_get(&doc, root, "lidar");
    if (!lidar) {
        rc = avt_err(err, AVT_FORMAT, "%s: missing key 'lidar'", path);
        goto out;
    }
    if ((rc = calib_yaml_check_keys(&doc, lidar, LIDAR_KEYS, path, "lidar", err))) goto out;
    const char *model = calib_yaml_scalar(calib_yaml_get(&doc, lidar, "model"));
    if ((rc = calib_copy_name(rig->lidar_model, sizeof rig->lidar_model, model, path, "lidar.model", err))) goto out;
    if ((rc = calib_yaml_numbers(&doc, calib_yaml_get(&doc, lidar, "lidar_T_ego"), path, "lidar.lidar_T_ego",
                           rig->lidar_T_ego.m, 16, 16, NULL, err)))
        goto out;
    yaml_node_t *cams = calib_yaml_get(&doc, root, "cameras");
    if (cams && cams->type != YAML_SEQUENCE_NODE) {
        rc = avt_err(err, AVT_FORMAT, "%s: cameras: expected a list", path);
        goto out;
    }
    size_t nc = cams ? (size_t)(cams->data.sequence.items.top - cams->data.sequence.items.start) : 0;
    if (nc > 64) {
        rc = avt_err(err, AVT_FORMAT, "%s: cameras: %zu cameras, at most 64 are supported", path, nc);
        goto out;
    }
    if (nc) {
        rig->cameras = calloc(nc, sizeof *rig->cameras);
        if (!rig->cameras) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    for (size_t i = 0; i < nc; i++) {
        yaml_node_t *c = yaml_document_get_node(&doc, cams->data.sequence.items.start[i]);
        if ((rc = read_camera(&doc, c, path, (int)i, &rig->cameras[i], err))) goto out;
        rig->n_cameras = i + 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(rig->cameras[j].name, rig->cameras[i].name) == 0) {
                rc = avt_err(err, AVT_FORMAT, "%s: cameras[%zu]: duplicate camera name '%s'", path, i,
                             rig->cameras[i].name);
                goto out;
            }
    }
    snprintf(rig->source, sizeof rig->source, "%s (avtruth calib.yaml v1)", path);
    rc = avt_rig_validate(rig, path, err);
out:
    if (have_doc) yaml_document_delete(&doc);
    if (have_parser) yaml_parser_delete(&parser);
    fclose(f);
    if (rc) avt_rig_free(rig);
    return rc;
}

static int check_tf(const avt_tf *t, const char *what, const char *key, avt_error *err)
{
    const double tr[3] = {t->m[3], t->m[7], t->m[11]};
    int rc = calib_check_translation(tr, what, key, err);
    if (rc) return rc;
    double e = avt_tf_rigid_error(t);
    if (!(e < 1e-6))
        return avt_err(err, AVT_FORMAT,
                       "%s: %s: not a rigid transform (rotation not orthonormal or last row not 0 0 0 1; "
                       "deviation %.3g)", what, key, e);
    return AVT_OK;
}

int avt_rig_validate(const avt_rig *rig, const char *what, avt_error *err)
{
    int rc;
    if ((rc = check_tf(&rig->lidar_T_ego, what, "lidar.lidar_T_ego", err))) return rc;
    for (size_t i = 0; i < rig->n_cameras; i++) {
        const avt_camera *c = &rig->cameras[i];
        char key[128];
        snprintf(key, sizeof key, "cameras.%s.lidar_T_cam", c->name);
        if ((rc = check_tf(&c->lidar_T_cam, what, key, err))) return rc;
        /* the camera model and its distortion must agree: fisheye takes the equidistant
         * (Kannala-Brandt) coefficients, pinhole the radtan ones */
        const int fisheye = c->model == AVT_CAM_FISHEYE;
        if (strcmp(c->distortion_model, "none") != 0 &&
            strcmp(c->distortion_model, fisheye ? "equidistant" : "radtan") != 0)
            return avt_err(err, AVT_FORMAT, "%s: cameras.%s: model '%s' with distortion_model '%s' (expected '%s' or 'none')",
                           what, c->name, fisheye ? "fisheye" : "pinhole", c->distortion_model,
                           fisheye ? "equidistant" : "radtan");
        const double *K = c->K;
        for (int k = 0; k < 9; k++)
            if (!isfinite(K[k]))
                return avt_err(err, AVT_FORMAT, "%s: cameras.%s.K[%d]: not finite", what, c->name, k);
        if (!(K[0] > 0) || !(K[4] > 0))
            return avt_err(err, AVT_FORMAT, "%s: cameras.%s.K: focal lengths must be positive (fx=%g, fy=%g)",
                           what, c->name, K[0], K[4]);
        if (K[3] != 0 || K[6] != 0 || K[7] != 0 || K[8] != 1)
            return avt_err(err, AVT_FORMAT, "%s: cameras.%s.K: expected [fx s cx; 0 fy cy; 0 0 1]", what, c->name);
        if (!(K[2] >= 0 && K[2] <= c->width && K[5] >= 0 && K[5] <= c->height))
            return avt_err(err, AVT_FORMAT,
                           "%s: cameras.%s.K: principal point (%g, %g) outside the %ux%u image", what,
                           c->name, K[2], K[5], c->width, c->height);
        for (int k = 0; k < c->n_dist; k++)
            if (!isfinite(c->dist[k]))
                return avt_err(err, AVT_FORMAT, "%s: cameras.%s.distortion[%d]: not finite", what, c->name, k);
    }
    return AVT_OK;
}

static void write_numbers(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

int avt_rig_save_yaml(const char *path, const avt_rig *rig, avt_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "# avtruth rig calibration (docs/drive-log.md)\nversion: 1\nlidar:\n  model: %s\n  lidar_T_ego: ",
            rig->lidar_model);
    write_numbers(f, rig->lidar_T_ego.m, 16);
    fprintf(f, rig->n_cameras ? "\ncameras:\n" : "\ncameras: []\n"); /* "cameras:" alone is null, not a list */
    for (size_t i = 0; i < rig->n_cameras; i++) {
        const avt_camera *c = &rig->cameras[i];
        fprintf(f, "  - name: %s\n    model: %s\n    width: %u\n    height: %u\n    K: ", c->name,
                c->model == AVT_CAM_FISHEYE ? "fisheye" : "pinhole", c->width, c->height);
        write_numbers(f, c->K, 9);
        fprintf(f, "\n    distortion_model: %s\n", c->distortion_model[0] ? c->distortion_model : "none");
        if (c->n_dist) {
            fprintf(f, "    distortion: ");
            write_numbers(f, c->dist, c->n_dist);
            fputc('\n', f);
        }
        fprintf(f, "    lidar_T_cam: ");
        write_numbers(f, c->lidar_T_cam.m, 16);
        fputc('\n', f);
    }
    if (ferror(f) | (fclose(f) != 0)) return avt_err(err, AVT_IO, "%s: write failed: %s", path, strerror(errno));
    return AVT_OK;
}

void avt_rig_free(avt_rig *rig)
{
    if (!rig) return;
    free(rig->cameras);
    rig->cameras = NULL;
    rig->n_cameras = 0;
}
