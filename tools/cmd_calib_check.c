/* avtruth calib-check: is each camera still aligned with the LiDAR (docs/calibration-check.md). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avtruth/pipeline.h"
#include "calib_args.h"
#include "commands.h"
#include "progress.h"

#define DEG (M_PI / 180.0)

/* A:B (sweep indices, A inclusive, B exclusive; either may be empty). */
static int parse_frames(const char *v, void *dest, char *accepted, size_t n)
{
    avt_calib_check_options *o = dest;
    snprintf(accepted, n, "A:B with 0 <= A < B (sweep indices, B exclusive; A: or :B open)");
    if (!v) return 1;
    const char *colon = strchr(v, ':');
    if (!colon) return 1;
    char a[32] = "", b[32] = "";
    size_t la = (size_t)(colon - v), lb = strlen(colon + 1);
    if (la >= sizeof a || lb >= sizeof b) return 1;
    memcpy(a, v, la);
    memcpy(b, colon + 1, lb + 1);
    int64_t x = 0, y = -1;
    if (la && (!avt_parse_int64(a, &x) || x < 0)) return 1;
    if (lb && (!avt_parse_int64(b, &y) || y <= x)) return 1;
    o->first_frame = (uint64_t)x;
    o->end_frame = y < 0 ? UINT64_MAX : (uint64_t)y;
    return 0;
}

static void summary(const avt_calib_check_report *r, const avt_calib_check_options *o, const char *overlay_dir)
{
    printf("calibration check of %s: %" PRIu64 " sweeps\n", r->log, r->sweeps);
    for (size_t i = 0; i < r->n_cams; i++) {
        const avt_calib_check_camera *c = &r->cams[i];
        const double *e = c->est.error;
        printf("  %-12s %-13s frames %u, discontinuity points %zu, confidence %.2f\n", c->name,
               avt_cc_status_name(c->status), c->frames, c->est.points, c->confidence);
        if (c->frames == 0) continue;
        printf("    error: roll %+.3f%s pitch %+.3f%s yaw %+.3f%s deg, x %+.3f%s y %+.3f%s z %+.3f%s m\n",
               e[AVT_CC_ROLL] / DEG, c->est.observed[AVT_CC_ROLL] ? "" : "?", e[AVT_CC_PITCH] / DEG,
               c->est.observed[AVT_CC_PITCH] ? "" : "?", e[AVT_CC_YAW] / DEG, c->est.observed[AVT_CC_YAW] ? "" : "?",
               e[AVT_CC_X], c->est.observed[AVT_CC_X] ? "" : "?", e[AVT_CC_Y], c->est.observed[AVT_CC_Y] ? "" : "?",
               e[AVT_CC_Z], c->est.observed[AVT_CC_Z] ? "" : "?");
        printf("    score stored %.1f, best %.1f (+%.2f%%); share of grid neighbours scoring lower: stored %.2f, "
               "estimate %.2f\n",
               c->est.score_stored, c->est.score_best,
               c->est.score_stored > 0 ? 100 * (c->est.score_best / c->est.score_stored - 1) : 0.0, c->est.f_stored,
               c->est.f_best);
        if (isfinite(c->est.common_gain))
            printf("    over the points both calibrations put in the image: %+.2f%% (miscalibrated needs %.0f%% with an "
                   "error beyond its threshold, else %.0f%%, here too: not a gain from points the correction brings "
                   "in)\n",
                   100 * c->est.common_gain, 100 * o->thresholds.min_gain, 200 * o->thresholds.min_gain);
        if (isfinite(c->est.across_gain))
            printf("    of that, the edges across the rings (%.0f%% of the points' weight) give %+.2f%% (miscalibrated "
                   "needs more than 0 when the correction moves the points more across the rings than along)\n",
                   100 * c->est.across_share, 100 * c->est.across_gain);
        if (isfinite(c->est.across_gaps))
            printf("    the correction moves the points %.3f deg across the rings (%.2f half ring gaps; %.0f%% of them "
                   "beyond their tolerance, a half gap across the rings or a gap along one; miscalibrated needs %.0f%% "
                   "when it moves them more across than along) and %.3f deg along them\n",
                   c->est.across_rad / DEG, c->est.across_gaps, 100 * c->est.beyond_tol,
                   100 * o->thresholds.min_beyond_tol, c->est.along_rad / DEG);
        if (c->est.across_share < o->search.min_across_share)
            printf("    fewer than %.0f%% of the points' weight in edges across the rings: the parameters that move the "
                   "points across them are not searched\n",
                   100 * o->search.min_across_share);
        if (isfinite(c->est.significance)) { /* computed when the estimate would be miscalibrated */
            const double need = avt_cc_significance_needed(&c->est, &o->thresholds);
            printf("    significance %.1f (how well the correction holds when each of %d column bands of the view "
                   "is left out); the points fill %.2f of them",
                   c->est.significance, o->search.jackknife_bands, c->est.bands);
            if (isfinite(need))
                printf(": miscalibrated needs %.1f (Student's t, two-sided %g%% level, %.2f degrees of freedom)\n",
                       need, 100 * o->thresholds.level, c->est.bands - 1);
            else printf(", fewer than two: no significance can tell a correction from chance\n");
        }
        if (c->est.at_bound)
            printf("    the estimate ran to the search's bound (%.1f deg / %.2f m): no peak of the score within it\n",
                   o->search.max_rot_deg, o->search.max_trans_m);
        for (size_t w = 0; w < c->n_windows; w++) {
            const avt_calib_check_window *win = &c->windows[w];
            printf("    window sweeps %" PRIu64 "-%" PRIu64 ": %-13s yaw %+.3f deg, pitch %+.3f, roll %+.3f, "
                   "x %+.3f m, y %+.3f, z %+.3f\n",
                   win->first_frame, win->last_frame, avt_cc_status_name(win->status), win->est.error[AVT_CC_YAW] / DEG,
                   win->est.error[AVT_CC_PITCH] / DEG, win->est.error[AVT_CC_ROLL] / DEG, win->est.error[AVT_CC_X],
                   win->est.error[AVT_CC_Y], win->est.error[AVT_CC_Z]);
        }
        for (size_t k = 0; k < c->n_overlays; k++)
            printf("    overlay sweep %" PRIu64 ": %s/%s, %s/%s (score %.1f -> %.1f)\n", c->overlays[k].frame,
                   overlay_dir, c->overlays[k].stored, overlay_dir, c->overlays[k].corrected,
                   c->overlays[k].score_stored, c->overlays[k].score_corrected);
    }
    printf("  ? = not observed (held at 0): the score does not see it, or nothing places the points across the rings. "
           "Overall: %s\n",
           avt_cc_status_name(r->status));
}

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    avt_calib_check_options o;
    avt_calib_check_options_default(&o);
    const char *json = NULL, *out_dir = NULL, *camera = NULL;
    calib_args cal = {{0}, 0, 0};
    int64_t window = o.window, overlays = o.overlays, max_frames = o.max_frames;
    int quiet = 0;
    const cli_opt opts[] = {
        {"camera", 0, CLI_STR, "NAME", "check only this camera", "every camera", .dest = &camera},
        {"frames", 0, CLI_CALL, "A:B", "sweeps A <= index < B only", "all", .call = parse_frames, .dest = &o},
        {"json", 0, CLI_STR, "REPORT", "write the JSON report there", "none", .dest = &json},
        {"output", 'o', CLI_STR, "DIR", "write overlays (before / after the correction) there", "none",
         .dest = &out_dir},
        {"window", 0, CLI_INT, "N", "frames per window of the drift estimates (0: none)", "10", 0, 100000,
         .dest = &window},
        {"overlays", 0, CLI_INT, "N", "sweeps with overlays", "3", 0, 1000, .dest = &overlays},
        {"max-frames", 0, CLI_INT, "N", "frames kept for the whole-log estimate", "40", 1, 100000, .dest = &max_frames},
        {"calib", 0, CLI_CALL, "FILE", "check this calibration (any format; repeat per file) instead of LOG/calib.yaml",
         "LOG/calib.yaml", .call = calib_args_add, .dest = &cal},
        {"calib-format", 0, CLI_CHOICE, "FORMAT", "format of the --calib files", "auto", .choices = CALIB_FORMATS,
         .dest = &cal.format},
        {"rot-threshold", 0, CLI_REAL, "DEG", "an angle error at least this is a miscalibration", "0.15", 0.001, 10,
         .dest = &o.thresholds.rot_deg},
        {"trans-threshold", 0, CLI_REAL, "M", "a translation error at least this is a miscalibration", "0.03",
         0.001, 1, .dest = &o.thresholds.trans_m},
        {"quiet", 'q', CLI_FLAG, NULL, "no progress report on stderr", "off", .dest = &quiet},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_calib_check, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1) return cli_usage_error(&avt_cmd_calib_check, "expected one drive-log directory");
    o.camera = camera;
    o.window = (unsigned)window;
    o.overlays = (unsigned)overlays;
    o.max_frames = (unsigned)max_frames;
    avt_error err = {0, ""};
    if (out_dir) {
        struct stat sb;
        if (stat(out_dir, &sb) != 0 && mkdir(out_dir, 0777) != 0)
            return cli_usage_error(&avt_cmd_calib_check, "cannot create the overlay directory '%s'", out_dir);
        o.overlay_dir = out_dir;
    }
    cli_progress pr;
    cli_progress_begin(&pr, "checking", "sweeps", quiet);
    o.progress = cli_progress_items;
    o.progress_ctx = &pr;
    avt_rig rig;
    if (cal.n) {
        char ext[4096];
        snprintf(ext, sizeof ext, "%s/calib.yaml", pos[0]);
        if (avt_rig_load_combined(cal.paths, cal.n, CALIB_FORMATS[cal.format], ext, &rig, &err)) return cli_fail(&err);
        o.rig = &rig;
    }
    avt_calib_check_report rep;
    r = avt_calib_check(pos[0], &o, &rep, &err);
    if (cal.n) avt_rig_free(&rig);
    cli_progress_end(&pr);
    if (r) return cli_fail(&err);
    if (json && avt_calib_check_write_json(&rep, json, &err)) {
        avt_calib_check_report_free(&rep);
        return cli_fail(&err);
    }
    summary(&rep, &o, out_dir);
    int status = rep.status == AVT_CC_ALIGNED ? 0 : rep.status == AVT_CC_MISCALIBRATED ? 1 : 2;
    avt_calib_check_report_free(&rep);
    return status;
}

const cli_cmd avt_cmd_calib_check = {
    "calib-check", "LOG [options]",
    "Score the LiDAR-camera alignment of each camera (Levinson & Thrun edges), estimate the error; exit 0 "
    "aligned, 1 miscalibrated, 2 cannot judge (docs/calibration-check.md).",
    "  avtruth calib-check /tmp/log --json report.json -o overlays/\n"
    "  avtruth calib-check /tmp/log --camera front --frames 0:50 --window 10\n",
    run};
