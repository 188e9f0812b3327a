/* avtruth quality: `eval` of label files: ground truth and predictions loaded, frames paired,
 * KITTI's per-box difficulty inputs found (an output file's 2D boxes, or the projection
 * through the rig), the 3D metrics (eval.c) and, per camera, COCO 2D AP (coco.c). The 2D
 * boxes of predictions are those of their own output file when PRED is one (made by the same
 * pipeline, so at the image time like the truth's), otherwise the projections of the 3D boxes
 * at the sweep time through the rig. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/calib.h"
#include "avtruth/quality.h"

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const avt_camera *rig_camera(const avt_rig *rig, const char *name)
{
    for (size_t i = 0; i < rig->n_cameras; i++)
        if (!name || strcmp(rig->cameras[i].name, name) == 0) return &rig->cameras[i];
    return NULL;
}

/* The predictions' views in a camera: its 2D boxes in a predictions file (pred_h5), else
 * the label boxes projected through the rig's camera. */
static int pred_views_in(int pred_h5, const char *pred_path, const char *camera, size_t np, const avt_camera *cam,
                         const avt_label_set *pred, avt_box_view *pv, avt_error *err)
{
    return pred_h5 ? avt_quality_h5_views(pred_path, camera, np, pv, err)
                   : avt_quality_project_views(cam, pred->frames, pred->n, pv, err);
}

static size_t total_boxes(const avt_label_set *s, size_t *first)
{
    size_t n = 0;
    for (size_t f = 0; f < s->n; f++) {
        if (first) first[f] = n;
        n += s->frames[f].n;
    }
    return n;
}

/* COCO 2D AP of one camera: GT 2D boxes from views (height > 0), predictions projected. */
static int coco_camera(const avt_label_set *gt, const avt_label_set *pred, const long *pf, const size_t *g0,
                       const size_t *p0, const avt_box_view *gv, const avt_box_view *pv, double *ap50, double *ap)
{
    size_t ng = total_boxes(gt, NULL), np = total_boxes(pred, NULL);
    avt_box2d *g = malloc((ng + 1) * sizeof *g), *p = malloc((np + 1) * sizeof *p);
    avt_coco_image *im = malloc((gt->n + 1) * sizeof *im);
    if (!g || !p || !im) {
        free(g), free(p), free(im);
        return AVT_NOMEM;
    }
    size_t kg = 0, kp = 0;
    for (size_t f = 0; f < gt->n; f++) {
        im[f] = (avt_coco_image){g + kg, p + kp, 0, 0};
        for (size_t i = 0; i < gt->frames[f].n; i++) {
            const avt_box_view *v = &gv[g0[f] + i];
            if (!(v->height_px > 0) || isnan(v->xyxy[0])) continue;
            g[kg++] = (avt_box2d){{v->xyxy[0], v->xyxy[1], v->xyxy[2], v->xyxy[3]}, gt->frames[f].boxes[i].class_id, NAN};
            im[f].n_gt++;
        }
        for (size_t i = 0; pf[f] >= 0 && i < pred->frames[pf[f]].n; i++) {
            const avt_box_view *v = &pv[p0[pf[f]] + i];
            const avt_label_box *b = &pred->frames[pf[f]].boxes[i];
            if (!(v->height_px > 0) || isnan(v->xyxy[0])) continue;
            p[kp++] = (avt_box2d){{v->xyxy[0], v->xyxy[1], v->xyxy[2], v->xyxy[3]}, b->class_id, b->score};
            im[f].n_pred++;
        }
    }
    avt_eval_coco(im, gt->n, ap50, ap);
    free(g), free(p), free(im);
    return AVT_OK;
}

int avt_quality_eval_paths(const char *gt_path, const char *pred_path, const avt_eval_run_opts *o, json_t **report,
                           avt_error *err)
{
    avt_label_set gt, pred;
    avt_rig rig;
    memset(&rig, 0, sizeof rig);
    memset(&pred, 0, sizeof pred);
    *report = NULL;
    int rc = avt_label_set_load(gt_path, o->eval.schema, &gt, err), have_rig = 0, h5 = is_file(gt_path), pred_h5 = is_file(pred_path);
    if (rc) return rc;
    avt_eval_frame *fr = NULL;
    avt_box_view *gv = NULL, *pv = NULL;
    long *pf = NULL;
    size_t *g0 = NULL, *p0 = NULL, n_dc = 0;
    double(*dc)[4] = NULL;
    json_t *r = json_object();
    char cams[16][64], calib[4200];
    size_t ncam = 0;
    if ((rc = avt_label_set_load(pred_path, o->eval.schema, &pred, err))) goto out;
    snprintf(calib, sizeof calib, "%s/calib.yaml", gt_path);
    if (o->calib || (!h5 && is_file(calib))) {
        if ((rc = avt_rig_load(o->calib ? o->calib : calib, "auto", &rig, err))) goto out;
        have_rig = 1;
    }
    if (h5 && (rc = avt_quality_h5_cameras(gt_path, cams, 16, &ncam, err))) goto out;
    const char *cam = o->camera ? o->camera : ncam ? cams[0] : rig.n_cameras ? rig.cameras[0].name : NULL;
    const avt_camera *rc_cam = have_rig ? rig_camera(&rig, cam) : NULL;
    if (o->camera && !(h5 ? ncam > 0 : have_rig)) {
        rc = avt_err(err, AVT_INVAL, "--camera %s: no calibration to project with (give --calib)", o->camera);
        goto out;
    }
    size_t ng = total_boxes(&gt, NULL), np = total_boxes(&pred, NULL);
    fr = calloc(gt.n + 1, sizeof *fr), pf = malloc((gt.n + 1) * sizeof *pf);
    g0 = malloc((gt.n + 1) * sizeof *g0), p0 = malloc((pred.n + 1) * sizeof *p0);
    gv = malloc((ng + 1) * sizeof *gv), pv = malloc((np + 1) * sizeof *pv);
    if (!fr || !pf || !g0 || !p0 || !gv || !pv) {
        rc = avt_err(err, AVT_NOMEM, "eval: out of memory");
        goto out;
    }
    total_boxes(&gt, g0);
    total_boxes(&pred, p0);
    const char *diff_source = "none (every box counts at every level)";
    int gt_views = 0, pred_views = rc_cam != NULL || (pred_h5 && cam);
    if (h5 && cam) {
        if ((rc = avt_quality_h5_views(gt_path, cam, ng, gv, err))) goto out;
        gt_views = 1, diff_source = "the output file's 2D boxes";
    } else if (rc_cam) {
        if ((rc = avt_quality_project_views(rc_cam, gt.frames, gt.n, gv, err))) goto out;
        gt_views = 1, diff_source = "projection through the calibration";
    } else if (o->camera) {
        rc = avt_err(err, AVT_INVAL, "--camera %s: not in the calibration", o->camera);
        goto out;
    }
    if (pred_views && (rc = pred_views_in(pred_h5, pred_path, cam, np, rc_cam, &pred, pv, err))) goto out;
    /* DontCare: the ignore regions of the GT label files in the difficulty camera */
    for (size_t f = 0; f < gt.n; f++) n_dc += gt.frames[f].n_ignore;
    if (!(dc = malloc((n_dc + 1) * sizeof *dc))) {
        rc = avt_err(err, AVT_NOMEM, "eval: out of memory");
        goto out;
    }
    n_dc = 0;
    size_t unpaired = 0, paired_pred = 0;
    for (size_t f = 0; f < gt.n; f++) {
        pf[f] = avt_label_set_find(&pred, gt.t_ns[f]);
        unpaired += pf[f] < 0;
        paired_pred += pf[f] >= 0;
        fr[f] = (avt_eval_frame){.gt = gt.frames[f].boxes, .n_gt = gt.frames[f].n,
                                 .gt_view = gt_views ? gv + g0[f] : NULL, .dontcare = (const double(*)[4])(dc + n_dc)};
        for (size_t i = 0; cam && i < gt.frames[f].n_ignore; i++)
            if (strcmp(gt.frames[f].ignore[i].camera, cam) == 0) {
                memcpy(dc[n_dc++], gt.frames[f].ignore[i].xyxy, sizeof dc[0]);
                fr[f].n_dontcare++;
            }
        if (pf[f] >= 0) {
            fr[f].pred = pred.frames[pf[f]].boxes;
            fr[f].n_pred = pred.frames[pf[f]].n;
            fr[f].pred_view = pred_views ? pv + p0[pf[f]] : NULL;
        }
    }
    if ((rc = avt_quality_eval(fr, gt.n, &o->eval, r, err))) goto out;
    json_object_set_new(r, "frames", json_integer((json_int_t)gt.n));
    json_object_set_new(r, "frames_without_predictions", json_integer((json_int_t)unpaired));
    json_object_set_new(r, "prediction_frames_unused", json_integer((json_int_t)(pred.n - paired_pred)));
    json_object_set_new(r, "difficulty_from", json_string(diff_source));
    if (cam && gt_views) json_object_set_new(r, "difficulty_camera", json_string(cam));
    /* 2D: the output file's boxes of each camera against the predictions projected into it */
    json_t *coco = json_object();
    for (size_t c = 0; h5 && (have_rig || pred_h5) && c < ncam; c++) {
        const avt_camera *rcam = have_rig ? rig_camera(&rig, cams[c]) : NULL;
        double ap50, ap;
        if (!rcam && !pred_h5) continue;
        if ((rc = avt_quality_h5_views(gt_path, cams[c], ng, gv, err)) ||
            (rc = pred_views_in(pred_h5, pred_path, cams[c], np, rcam, &pred, pv, err)))
            goto out;
        if (coco_camera(&gt, &pred, pf, g0, p0, gv, pv, &ap50, &ap)) {
            rc = avt_err(err, AVT_NOMEM, "eval: out of memory");
            goto out;
        }
        json_object_set_new(coco, cams[c], json_pack("{s:o, s:o}", "ap50", isfinite(ap50) ? json_real(ap50) : json_null(),
                                                     "ap", isfinite(ap) ? json_real(ap) : json_null()));
    }
    json_object_set_new(r, "coco2d", coco);
    *report = r;
    r = NULL;
out:
    json_decref(r);
    free(fr), free(pf), free(g0), free(p0), free(gv), free(pv), free(dc);
    if (have_rig) avt_rig_free(&rig);
    avt_label_set_free(&pred);
    avt_label_set_free(&gt);
    return rc;
}
