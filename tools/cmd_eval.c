/* avtruth eval: predictions against ground truth (quality/eval.c, docs/quality.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "avtruth/quality.h"
#include "commands.h"

/* --iou-threshold: the form checked now, the class names once the schema is known. */
static int thresholds(const char *v, void *dest, char *accepted, size_t n)
{
    if (avt_class_thresholds_parse(v, NULL, NULL, accepted, n)) return 1;
    *(const char **)dest = v;
    return 0;
}

static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const char *gt = NULL, *pred = NULL, *json = NULL, *schema = NULL, *thr = NULL;
    avt_eval_run_opts o = {0};
    const cli_opt opts[] = {
        {"gt", 0, CLI_STR, "GT", "ground truth: a log, its labels folder or an output file (required)", NULL, .dest = &gt},
        {"pred", 0, CLI_STR, "PRED", "predictions: label files with a score per box (required)", NULL, .dest = &pred},
        {"json", 0, CLI_STR, "REPORT", "write the full report as JSON", NULL, .dest = &json},
        {"iou-threshold", 0, CLI_CALL, "SPEC", "KITTI overlap per class", "the schema's iou3d_threshold",
         .call = thresholds, .dest = &thr},
        {"schema", 0, CLI_STR, "FILE|NAME", "annotation schema: classes and thresholds",
         "GT's (/meta/schema, log.yaml, schema.yaml) or the default", .dest = &schema},
        {"calib", 0, CLI_STR, "FILE", "calibration to project boxes with (difficulty levels, 2D boxes)",
         "GT/calib.yaml when GT is a log", .dest = &o.calib},
        {"camera", 0, CLI_STR, "NAME", "camera of the KITTI difficulty levels", "the first", .dest = &o.camera},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_eval, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos || !gt || !pred) return cli_usage_error(&avt_cmd_eval, "expected --gt GT --pred PRED");
    avt_error err = {0, ""};
    json_t *rep = NULL;
    avt_schema sc;
    char origin[512], msg[512];
    if (avt_quality_schema_for(gt, schema, &sc, origin, sizeof origin, &err)) return cli_fail(&err);
    avt_eval_opts_default(&o.eval, &sc);
    if (thr && avt_class_thresholds_parse(thr, &sc, o.eval.iou_threshold, msg, sizeof msg)) {
        avt_schema_free(&sc);
        return cli_usage_error(&avt_cmd_eval, "--iou-threshold: '%s' is not accepted: expected %s", thr, msg);
    }
    int rc = avt_quality_eval_paths(gt, pred, &o, &rep, &err);
    avt_schema_free(&sc);
    if (rc) return cli_fail(&err);
    json_object_set_new(rep, "schema", json_string(origin));
    printf("%.0f frames (%.0f without predictions); schema %s; difficulty from %s\n", jnum(rep, "frames"),
           jnum(rep, "frames_without_predictions"), origin, json_string_value(json_object_get(rep, "difficulty_from")));
    printf("%-12s %6s %8s %8s %8s %8s %8s %8s\n", "KITTI", "n_gt", "3D_easy", "3D_mod", "3D_hard", "BEV_easy",
           "BEV_mod", "BEV_hard");
    const char *k;
    json_t *v, *nus = json_object_get(rep, "nuscenes");
    json_object_foreach(json_object_get(rep, "kitti"), k, v) {
        json_t *e = json_object_get(v, "easy"), *h = json_object_get(v, "hard");
        printf("%-12s %6.0f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f   (R40, IoU %.2f)\n", k, jnum(h, "n_gt"),
               jnum(e, "ap3d_r40"), jnum(v, "ap3d_r40"), jnum(h, "ap3d_r40"), jnum(e, "apbev_r40"),
               jnum(v, "apbev_r40"), jnum(h, "apbev_r40"), jnum(v, "iou_threshold"));
    }
    printf("nuScenes mAP %.4f  mATE %.3f m  mASE %.3f  mAOE %.3f rad  mAVE %.3f m/s\n", jnum(nus, "mAP"),
           jnum(nus, "mATE"), jnum(nus, "mASE"), jnum(nus, "mAOE"), jnum(nus, "mAVE"));
    json_object_foreach(nus, k, v) {
        json_t *ap = json_object_get(v, "ap");
        if (!ap) continue;
        printf("  %-10s AP@0.5 %.4f @1 %.4f @2 %.4f @4 %.4f\n", k, jnum(ap, "0.5"), jnum(ap, "1"), jnum(ap, "2"),
               jnum(ap, "4"));
    }
    json_object_foreach(json_object_get(rep, "coco2d"), k, v)
        printf("COCO 2D %-10s AP50 %.4f  AP[.5:.95] %.4f\n", k, jnum(v, "ap50"), jnum(v, "ap"));
    int status = 0;
    if (json && json_dump_file(rep, json, JSON_INDENT(1) | JSON_REAL_PRECISION(10))) {
        fprintf(stderr, "avtruth: error: %s: cannot write\n", json);
        status = 1;
    }
    json_decref(rep);
    return status;
}

const cli_cmd avt_cmd_eval = {
    "eval", "--gt GT --pred PRED [options]",
    "Evaluate predictions against ground truth: KITTI AP (R40, R11; 3D and BEV IoU; easy / moderate / hard), "
    "nuScenes mAP at 0.5/1/2/4 m with TP errors, COCO 2D AP per camera (docs/quality.md).",
    "  avtruth eval --gt log/ --pred detections/labels --json eval.json\n"
    "  avtruth eval --gt out/log.h5 --pred detections/labels --calib log/calib.yaml\n", run};
