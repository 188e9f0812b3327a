/* avtruth agree and avtruth consensus: several annotators' labels of the same sweeps compared
 * (quality/agree.c) or merged into one label set. One file for both: they share the loading of
 * the sets and the matching options. */
#include <math.h>
#include <stdlib.h>
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

static const char *const METRICS[] = {"iou3d", "bev", "distance", NULL};

/* The options agree and consensus share; returns the number of sets loaded or -status. */
typedef struct group_args {
    int metric;
    double match_thr;
    const char *json, *out, *schema, *thr;
    int64_t max_disputes;
} group_args;

static int load_sets(const cli_cmd *cmd, char **pos, int npos, const avt_schema *sc, avt_label_set *sets)
{
    if (npos < 2 || npos > AVT_MAX_ANNOTATORS)
        return -cli_usage_error(cmd, "expected 2 to %d label sets, got %d", AVT_MAX_ANNOTATORS, npos);
    for (int i = 0; i < npos; i++) {
        avt_error err = {0, ""};
        if (avt_label_set_load(pos[i], sc, &sets[i], &err)) {
            for (int j = 0; j < i; j++) avt_label_set_free(&sets[j]);
            return -cli_fail(&err);
        }
    }
    return npos;
}

static void opts_from(const group_args *g, const avt_schema *sc, avt_agree_opts *o)
{
    avt_agree_opts_default(o, sc);
    o->match.metric = (avt_match_metric)g->metric;
    double t = !isnan(g->match_thr) ? g->match_thr : o->match.metric == AVT_MATCH_DISTANCE ? 2.0 : 0.25;
    for (int c = 0; c < AVT_QUALITY_MAX_ID; c++) o->match.threshold[c] = t;
    o->max_disputes = (size_t)g->max_disputes;
}

static double jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_report(json_t *r)
{
    size_t i;
    json_t *a, *v;
    const char *k;
    printf("%-40s %8s %8s %9s\n", "annotator", "frames", "objects", "miss_rate");
    json_array_foreach(json_object_get(r, "annotators"), i, a)
        printf("%-40s %8.0f %8.0f %9.3f\n", json_string_value(json_object_get(a, "source")), jnum(a, "frames"),
               jnum(a, "objects"), jnum(a, "miss_rate"));
    printf("objects %.0f, class kappa (%s) %.3f, class disagreement %.3f\n", jnum(r, "objects"),
           json_string_value(json_object_get(r, "class_kappa_method")), jnum(r, "class_kappa"),
           jnum(r, "class_disagreement"));
    printf("%-12s %7s %10s %8s %10s %9s\n", "class", "boxes", "match_rate", "mean_iou", "centre_m", "yaw_rad");
    json_object_foreach(json_object_get(r, "per_class"), k, v)
        printf("%-12s %7.0f %10.3f %8.3f %10.3f %9.3f\n", k, jnum(v, "boxes"), jnum(v, "match_rate"),
               jnum(v, "mean_iou"), jnum(v, "center_deviation_m"), jnum(v, "yaw_deviation_rad"));
    json_t *icc = json_object_get(r, "icc");
    printf("ICC(2,1): length %.3f, width %.3f, height %.3f, yaw %.3f\n", jnum(icc, "length"), jnum(icc, "width"),
           jnum(icc, "height"), jnum(icc, "yaw"));
    json_object_foreach(json_object_get(r, "attribute_kappa"), k, v)
        printf("attribute %s kappa %.3f\n", k, json_is_number(v) ? json_number_value(v) : NAN);
    printf("disputes: %.0f (worst first)\n", jnum(r, "disputes_total"));
    json_array_foreach(json_object_get(r, "disputes"), i, a) {
        if (i >= 10) break;
        char *ids = json_dumps(json_object_get(a, "track_ids"), JSON_COMPACT);
        char *what = json_dumps(json_object_get(a, "disagree"), JSON_COMPACT);
        printf("  %s track ids %s: %s (severity %.2f)\n", json_string_value(json_object_get(a, "file")), ids ? ids : "",
               what ? what : "", jnum(a, "severity"));
        free(ids), free(what);
    }
}

static int run_group(const cli_cmd *cmd, int consensus, int argc, char **argv)
{
    group_args g = {.metric = 1, .match_thr = NAN, .max_disputes = 1000};
    const cli_opt agree_opts[] = {
        {"match", 0, CLI_CHOICE, NULL, "how boxes of different annotators are found to be one object", "bev",
         .choices = METRICS, .dest = &g.metric},
        {"match-threshold", 0, CLI_REAL, "X", "IoU at least X (or centre distance below X m) to be one object",
         "0.25 (IoU), 2 (distance)",
         0, 1000, .dest = &g.match_thr},
        {"iou-threshold", 0, CLI_CALL, "SPEC", "3D IoU below which matched boxes disagree in geometry",
         "the schema's iou3d_threshold", .call = thresholds, .dest = &g.thr},
        {"schema", 0, CLI_STR, "FILE|NAME", "annotation schema: classes and thresholds",
         "the first set's (log.yaml, schema.yaml, /meta/schema) or the default", .dest = &g.schema},
        {"json", 0, CLI_STR, "REPORT", "write the full report as JSON", NULL, .dest = &g.json},
        {"max-disputes", 0, CLI_INT, "N", "disputes listed in the report (0: all)", "1000", 0, 1e9,
         .dest = &g.max_disputes},
        {0},
    };
    const cli_opt cons_opts[] = {
        agree_opts[0], agree_opts[1], agree_opts[3],
        {"output", 'o', CLI_STR, "LABELS_OUT", "folder of the merged <t_ns>.json files (required)", NULL, .dest = &g.out},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(cmd, consensus ? cons_opts : agree_opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (consensus && !g.out) return cli_usage_error(cmd, "missing -o LABELS_OUT");
    if (npos < 1) return cli_usage_error(cmd, "expected 2 to %d label sets, got %d", AVT_MAX_ANNOTATORS, npos);
    avt_error err = {0, ""};
    avt_schema sc;
    char origin[512], msg[512];
    if (avt_quality_schema_for(pos[0], g.schema, &sc, origin, sizeof origin, &err)) return cli_fail(&err);
    avt_agree_opts o;
    opts_from(&g, &sc, &o);
    if (g.thr && avt_class_thresholds_parse(g.thr, &sc, o.iou_ok, msg, sizeof msg)) {
        avt_schema_free(&sc);
        return cli_usage_error(cmd, "--iou-threshold: '%s' is not accepted: expected %s", g.thr, msg);
    }
    avt_label_set sets[AVT_MAX_ANNOTATORS];
    int m = load_sets(cmd, pos, npos, &sc, sets);
    if (m < 0) {
        avt_schema_free(&sc);
        return -m;
    }
    int status = 0;
    if (consensus) {
        avt_consensus_stats st;
        if (avt_quality_consensus(sets, (size_t)m, &o, g.out, &st, &err)) status = cli_fail(&err);
        else printf("%zu frames, %zu objects (%zu disputed) written to %s\n", st.frames, st.objects, st.disputed, g.out);
    } else {
        json_t *rep = NULL;
        if (avt_quality_agree(sets, (size_t)m, &o, &rep, &err)) {
            status = cli_fail(&err);
        } else {
            json_object_set_new(rep, "schema", json_string(origin));
            print_report(rep);
            if (g.json && json_dump_file(rep, g.json, JSON_INDENT(1) | JSON_REAL_PRECISION(10))) {
                fprintf(stderr, "avtruth: error: %s: cannot write\n", g.json);
                status = 1;
            }
        }
        json_decref(rep);
    }
    for (int i = 0; i < m; i++) avt_label_set_free(&sets[i]);
    avt_schema_free(&sc);
    return status;
}

static int run_agree(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    return run_group(&avt_cmd_agree, 0, argc, argv);
}

static int run_consensus(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    return run_group(&avt_cmd_consensus, 1, argc, argv);
}

const cli_cmd avt_cmd_agree = {
    "agree", "LABELS_A LABELS_B [LABELS_C ...] [options]",
    "Agreement of annotators on the same sweeps: match rates, IoU, Cohen's / Fleiss' kappa of the class "
    "(an unmatched box = \"absent\"), ICC(2,1) of l, w, h, yaw, and the disputes worst first "
    "(docs/quality.md).",
    "  avtruth agree ann1/labels ann2/labels ann3/labels --json agree.json\n", run_agree};

const cli_cmd avt_cmd_consensus = {
    "consensus", "LABELS_A LABELS_B [...] -o LABELS_OUT [options]",
    "Merge annotators' labels: majority class, median geometry, circular mean yaw, per-box confidence and a "
    "disputed flag; no object is dropped (docs/quality.md).",
    "  avtruth consensus ann1/labels ann2/labels ann3/labels -o merged/labels\n", run_consensus};
