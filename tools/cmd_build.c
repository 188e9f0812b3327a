/* avtruth build and avtruth demo: a drive log into its ground-truth file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avtruth/export.h"
#include "avtruth/pipeline.h"
#include "avtruth/synth.h"
#include "calib_args.h"
#include "commands.h"
#include "progress.h"

#include "avt_git_sha.h" /* AVT_GIT_SHA, written at build time (cmake/git_sha.cmake) */

static const char *const POLICIES[] = {"trigger", "nearest", "approximate", NULL};
static const char *const CLOCK[] = {"auto", "on", "off", NULL};
static const char *const VISIBILITY[] = {"any", "all", "none", NULL};

static int compression(const char *v, void *dest, char *accepted, size_t n)
{
    snprintf(accepted, n, "gzip, gzip=1..9, none or blosc-zstd");
    if (!v) return 1;
    avt_error e = {0, ""};
    if (avt_export_compression_check(v, &e)) {
        snprintf(accepted, n, "gzip, gzip=1..9, none or blosc-zstd (%s)", e.msg);
        return 1;
    }
    *(const char **)dest = v;
    return 0;
}

static void build_progress(double fraction, uint64_t frames, int64_t t_ns, void *ctx)
{
    (void)t_ns;
    cli_progress_update(ctx, fraction, frames);
}

static void build_warn(const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "avtruth: warning: %s\n", msg);
}

static void print_summary(const avt_build_summary *s, const char *out)
{
    printf("frames          %llu\n", (unsigned long long)s->frames);
    printf("lidar points    %llu\n", (unsigned long long)s->points);
    printf("3D boxes        %llu\n", (unsigned long long)s->boxes3d);
    printf("2D boxes        %llu\n", (unsigned long long)s->boxes2d);
    printf("depth samples   %llu\n", (unsigned long long)s->depth_samples);
    if (s->have_lidar_stats) {
        const avt_lidar_stats *l = &s->lidar;
        printf("lidar packets   %llu decoded (%s), %llu lost, %llu corrupt", (unsigned long long)l->data_packets,
               l->model[0] ? l->model : "?", (unsigned long long)l->packets_lost, (unsigned long long)l->corrupt);
        for (uint64_t i = 0; i < l->corrupt && i < AVT_LIDAR_CORRUPT_KEEP; i++)
            printf("%s%llu", i ? ", " : " (records ", (unsigned long long)l->corrupt_record[i]);
        printf("%s\n", l->corrupt ? (l->corrupt > AVT_LIDAR_CORRUPT_KEEP ? ", ...)" : ")") : "");
        if (l->first_corrupt[0]) printf("  first corrupt %s\n", l->first_corrupt);
        if (l->truncated[0]) printf("  capture cut    %s\n", l->truncated);
        if (l->fragments)
            printf("  IPv4 fragments %llu, %llu datagrams reassembled, %llu fragments dropped\n",
                   (unsigned long long)l->fragments, (unsigned long long)l->reassembled,
                   (unsigned long long)l->frag_dropped);
    }
    for (unsigned c = 0; c < s->n_cameras; c++) {
        const __typeof__(s->cam[0]) *k = &s->cam[c];
        printf("camera %-12s %llu images, %llu paired, %llu frames unpaired, %llu images unpaired, %llu duplicates, "
               "~%llu dropped, %llu bad times\n",
               k->name, (unsigned long long)k->images, (unsigned long long)k->paired,
               (unsigned long long)k->unpaired_frames, (unsigned long long)k->unpaired_images,
               (unsigned long long)k->duplicates, (unsigned long long)k->dropped, (unsigned long long)k->bad_times);
        if (k->damaged_images)
            printf("  damaged images  %llu left unpaired: %s\n", (unsigned long long)k->damaged_images,
                   k->damaged_files);
        printf("  sync delta ms   min %.3f  median %.3f  p95 %.3f  max %.3f\n", k->delta_min_ns * 1e-6,
               k->delta_median_ns * 1e-6, k->delta_p95_ns * 1e-6, k->delta_max_ns * 1e-6);
        if (k->clock_valid)
            printf("  clock           offset %.3f +- %.3f ms (at the first frame), drift %.2f +- %.2f ppm, jitter %.3f ms, "
                   "%s\n",
                   k->clock_offset_ns * 1e-6, k->clock_offset_sd_ns * 1e-6, k->clock_drift_ppm, k->clock_drift_sd_ppm,
                   k->jitter_ns * 1e-6, k->clock_corrected ? "corrected" : "not corrected");
        else
            printf("  clock           not estimated (too few pairs)\n");
    }
    printf("time            %.2f s (", s->seconds);
    for (int k = 0; k < AVT_BUILD_STAGES; k++)
        printf("%s%s %.2f", k ? ", " : "", avt_build_stage_name(k), s->stage_seconds[k]);
    printf(")\n");
    printf("output          %s\n", out);
}

static int run_build(const char *log, const char *out, avt_build_options *o, const char *cmdline, int quiet)
{
    avt_error err = {0, ""};
    avt_build_summary s;
    cli_progress pr;
    cli_progress_begin(&pr, "building", "frames", quiet);
    o->command_line = cmdline;
    o->git_sha = AVT_GIT_SHA;
    o->warn = build_warn;
    o->progress = build_progress;
    o->progress_ctx = &pr;
    int rc = avt_build(log, out, o, &s, &err);
    cli_progress_end(&pr);
    if (rc) return cli_fail(&err);
    print_summary(&s, out);
    avt_build_summary_free(&s);
    return 0;
}

static int make_dir(const char *d)
{
    if (d && mkdir(d, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth: %s: cannot create: %s\n", d, strerror(errno));
        return 1;
    }
    return 0;
}

static int build(int argc, char **argv, const char *cmdline)
{
    avt_build_options o;
    avt_build_options_default(&o);
    const char *out = NULL;
    int policy = 0, clock = 0, vis = 0, verify = 0, embed = 0, quiet = 0;
    calib_args cal = {{0}, 0, 0};
    double tol_ms = (double)o.sync_tolerance_ns * 1e-6, offset_ms = NAN;
    int64_t chunk_rows = AVT_EXPORT_CHUNK_ROWS;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "OUT.h5", "the output file (required)", NULL, .dest = &out},
        {"compression", 0, CLI_CALL, "SPEC", "HDF5 filter of the columns", "gzip (level 1)", .call = compression,
         .dest = &o.compression},
        {"chunk-rows", 0, CLI_INT, "N", "HDF5 chunk rows of the per-point and depth columns (fewer: faster random frames, "
         "more chunks to write; docs/format-notes.md)", "16384", AVT_EXPORT_MIN_CHUNK_ROWS, AVT_EXPORT_MAX_CHUNK_ROWS,
         .dest = &chunk_rows},
        {"sync", 0, CLI_CHOICE, "POLICY", "camera pairing policy (docs/pipeline.md)", "trigger", .choices = POLICIES,
         .dest = &policy},
        {"sync-tolerance-ms", 0, CLI_REAL, "MS", "largest image-to-reference time difference paired", "50", 0.001,
         1e6, .dest = &tol_ms},
        {"clock-correct", 0, CLI_CHOICE, "MODE", "move image times to the LiDAR clock", "auto", .choices = CLOCK,
         .dest = &clock},
        {"clock-offset-ms", 0, CLI_REAL, "MS", "first guess of the camera clock offset", "estimated", -3.6e6, 3.6e6,
         .dest = &offset_ms},
        {"verify-images", 0, CLI_FLAG, NULL, "decode every paired image fully", "off", .dest = &verify},
        {"sync-report", 0, CLI_STR, "DIR", "write sync_<camera>.png histograms there", NULL,
         .dest = &o.sync_report_dir},
        {"cut-angle", 0, CLI_REAL, "DEG", "azimuth where sweeps are cut", "180", 0, 359.999,
         .dest = &o.cut_angle_deg},
        {"lidar-model", 0, CLI_STR, "MODEL", "LiDAR model (auto from the packets)", "auto", .dest = &o.lidar_model},
        {"lidar-calibration", 0, CLI_STR, "FILE", "Velodyne db.xml / ROS YAML laser calibration", NULL,
         .dest = &o.lidar_calibration},
        {"lidar-source", 0, CLI_STR, "ADDR", "IPv4 source address of the LiDAR's packets", "any",
         .dest = &o.lidar_source},
        {"preview", 0, CLI_STR, "DIR", "write preview images with boxes and points there", NULL,
         .dest = &o.preview_dir},
        {"box-visibility", 0, CLI_CHOICE, "RULE", "which projected boxes get a 2D box", "any",
         .choices = VISIBILITY, .dest = &vis},
        {"depth-png", 0, CLI_STR, "DIR", "write KITTI depth-completion PNGs there", NULL, .dest = &o.depth_png_dir},
        {"embed-images", 0, CLI_FLAG, NULL, "store each paired image's file bytes (PNG or JPEG) in /cameras/<name>/image_png", "off",
         .dest = &embed},
        {"calib", 0, CLI_CALL, "FILE", "calibration file(s) of any format instead of LOG/calib.yaml (repeat per file)",
         "LOG/calib.yaml", .call = calib_args_add, .dest = &cal},
        {"calib-format", 0, CLI_CHOICE, "FORMAT", "format of the --calib files", "auto", .choices = CALIB_FORMATS,
         .dest = &cal.format},
        {"schema", 0, CLI_STR, "FILE|NAME", "annotation schema: a file or default, kitti, nuscenes (docs/schema.md)",
         "the log's", .dest = &o.schema},
        {"quiet", 'q', CLI_FLAG, NULL, "no progress report on stderr", "off", .dest = &quiet},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_build, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1 || !out) return cli_usage_error(&avt_cmd_build, "expected LOG and -o OUT.h5");
    o.policy = POLICIES[policy];
    o.point_chunk_rows = (size_t)chunk_rows;
    o.clock_correct = CLOCK[clock];
    o.box_visibility = VISIBILITY[vis];
    o.sync_tolerance_ns = (int64_t)llround(tol_ms * 1e6);
    if (!isnan(offset_ms)) {
        o.clock_offset_hint_ns = (int64_t)llround(offset_ms * 1e6);
        o.have_clock_offset_hint = 1;
    }
    o.verify_images = verify;
    o.embed_images = embed;
    o.calib_paths = cal.paths;
    o.n_calib = cal.n;
    o.calib_format = CALIB_FORMATS[cal.format];
    if (make_dir(o.sync_report_dir) || make_dir(o.preview_dir) || make_dir(o.depth_png_dir)) return 1;
    return run_build(pos[0], out, &o, cmdline, quiet);
}

static int demo(int argc, char **argv, const char *cmdline)
{
    const char *dir = "avtruth-demo";
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "DIR", "where the log, the file and the previews go", "avtruth-demo", .dest = &dir},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_demo, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 0) return cli_usage_error(&avt_cmd_demo, "unexpected argument '%s'", pos[0]);
    char log[4096], out[4096], prev[4096];
    if (snprintf(log, sizeof log, "%s/log", dir) >= (int)sizeof log ||
        snprintf(out, sizeof out, "%s/demo.h5", dir) >= (int)sizeof out ||
        snprintf(prev, sizeof prev, "%s/preview", dir) >= (int)sizeof prev)
        return cli_usage_error(&avt_cmd_demo, "-o: path too long");
    if (make_dir(dir)) return 1;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    avt_error err = {0, ""};
    struct stat sb;
    if (stat(log, &sb) == 0) {
        printf("reusing the synthetic drive log in %s\n", log);
    } else {
        printf("synthesizing a drive log (%.1f s, %d cameras, %s) into %s\n", cfg.seconds, cfg.cameras, cfg.lidar, log);
        if (avt_synth_run(log, &cfg, NULL, NULL, &err)) return cli_fail(&err);
    }
    if (make_dir(prev)) return 1;
    avt_build_options o;
    avt_build_options_default(&o);
    o.preview_dir = prev;
    o.preview_stride = 10;
    printf("building %s\n", out);
    r = run_build(log, out, &o, cmdline, 0);
    if (r) return r;
    printf("previews        %s/preview_*.png\n", prev);
    printf("inspect it with: avtruth inspect %s\n", out);
    return 0;
}

const cli_cmd avt_cmd_build = {
    "build", "LOG -o OUT.h5 [options]",
    "Turn a drive log (docs/drive-log.md) into cross-modal ground truth (HDF5, ../shared/FORMAT.md).",
    "  avtruth build /tmp/log -o /tmp/log.h5 --preview /tmp/preview\n", build};

const cli_cmd avt_cmd_demo = {
    "demo", "[-o DIR]", "Synthesize a drive log, build it, print a summary and write preview images.",
    "  avtruth demo -o /tmp/demo\n", demo};
