/* avtruth: the command-line front end (argument parsing, progress and printing only). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avtruth/export.h"
#include "avtruth/pipeline.h"
#include "avtruth/synth.h"

#ifndef AVT_GIT_SHA
#define AVT_GIT_SHA "unknown"
#endif

static const char *USAGE =
    "usage: avtruth COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  synth DIR      write a deterministic synthetic drive log with known truth\n"
    "      --seed N  --seconds S  --cameras N  --lidar vlp16  --width W  --height H\n"
    "      --clock-offset S  --jitter S  --distortion X\n"
    "  build LOG -o OUT.h5   turn a drive log into cross-modal ground truth (HDF5)\n"
    "      --compression gzip|none  --sync trigger|nearest  --sync-tolerance-ms MS\n"
    "      --cut-angle DEG  --lidar-model auto|vlp16|...  --preview DIR\n"
    "  demo [-o DIR]  synthesize a log, build it, print a summary, write previews\n"
    "  inspect FILE   human summary of an output file\n"
    "  help           this text\n";

static int fail(const avt_error *err)
{
    fprintf(stderr, "avtruth: error: %s\n", err->msg[0] ? err->msg : avt_status_message(err->code));
    return 1;
}

static int bad_number(const char *opt, const char *v)
{
    fprintf(stderr, "avtruth: %s: not a valid number: '%s'\n", opt, v);
    return 2;
}

static void synth_progress(double f, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r  synthesizing %3.0f%%", 100 * f);
    fflush(stderr);
}

static void build_progress(uint64_t frames, int64_t t_ns, void *ctx)
{
    (void)ctx;
    char ts[64];
    avt_format_utc(t_ns, ts, sizeof ts);
    fprintf(stderr, "\r  building: frame %llu  (%s)", (unsigned long long)frames, ts);
    fflush(stderr);
}

static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i) strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static int parse_synth(int argc, char **argv, avt_synth_config *cfg, const char **dir)
{
    static const struct option opts[] = {{"seed", 1, 0, 's'},         {"seconds", 1, 0, 't'},
                                         {"cameras", 1, 0, 'c'},      {"lidar", 1, 0, 'l'},
                                         {"width", 1, 0, 'W'},        {"height", 1, 0, 'H'},
                                         {"clock-offset", 1, 0, 'o'}, {"jitter", 1, 0, 'j'},
                                         {"distortion", 1, 0, 'd'},   {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        double v;
        int64_t iv;
        switch (c) {
        case 's':
            if (!avt_parse_int64(optarg, &iv) || iv < 0) return bad_number("--seed", optarg);
            cfg->seed = (uint64_t)iv;
            break;
        case 't':
            if (!avt_parse_double(optarg, &v) || v <= 0 || v > 3600) return bad_number("--seconds", optarg);
            cfg->seconds = v;
            break;
        case 'c':
            if (!avt_parse_int64(optarg, &iv) || iv < 0 || iv > 8) return bad_number("--cameras (0..8)", optarg);
            cfg->cameras = (int)iv;
            break;
        case 'l': cfg->lidar = optarg; break;
        case 'W':
            if (!avt_parse_int64(optarg, &iv) || iv < 16 || iv > 8192) return bad_number("--width", optarg);
            cfg->width = (unsigned)iv;
            break;
        case 'H':
            if (!avt_parse_int64(optarg, &iv) || iv < 16 || iv > 8192) return bad_number("--height", optarg);
            cfg->height = (unsigned)iv;
            break;
        case 'o':
            if (!avt_parse_double(optarg, &v)) return bad_number("--clock-offset", optarg);
            cfg->clock_offset_s = v;
            break;
        case 'j':
            if (!avt_parse_double(optarg, &v) || v < 0) return bad_number("--jitter", optarg);
            cfg->jitter_s = v;
            break;
        case 'd':
            if (!avt_parse_double(optarg, &v) || v < 0) return bad_number("--distortion", optarg);
            cfg->distortion = v;
            break;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "avtruth synth: expected one output directory\n%s", USAGE);
        return 2;
    }
    *dir = argv[optind];
    return 0;
}

static int cmd_synth(int argc, char **argv)
{
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    const char *dir;
    int r = parse_synth(argc, argv, &cfg, &dir);
    if (r) return r;
    avt_error err = {0, ""};
    int tty = isatty(2);
    if (avt_synth_run(dir, &cfg, tty ? synth_progress : NULL, NULL, &err)) {
        if (tty) fputc('\n', stderr);
        return fail(&err);
    }
    if (tty) fputc('\n', stderr);
    printf("synthetic drive log written to %s\n", dir);
    return 0;
}

static int parse_build(int argc, char **argv, avt_build_options *o, const char **log, const char **out)
{
    static const struct option opts[] = {{"output", 1, 0, 'o'},        {"compression", 1, 0, 'z'},
                                         {"sync", 1, 0, 'y'},          {"sync-tolerance-ms", 1, 0, 'T'},
                                         {"cut-angle", 1, 0, 'a'},     {"lidar-model", 1, 0, 'm'},
                                         {"preview", 1, 0, 'p'},       {0, 0, 0, 0}};
    int c;
    optind = 1;
    *out = NULL;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        double v;
        switch (c) {
        case 'o': *out = optarg; break;
        case 'z':
            if (strcmp(optarg, "gzip") != 0 && strcmp(optarg, "none") != 0) {
                fprintf(stderr, "avtruth: --compression: '%s' is not available (gzip, none)\n", optarg);
                return 2;
            }
            o->compression = optarg;
            break;
        case 'y': o->policy = optarg; break;
        case 'T':
            if (!avt_parse_double(optarg, &v) || v <= 0) return bad_number("--sync-tolerance-ms", optarg);
            o->sync_tolerance_ns = (int64_t)(v * 1e6);
            break;
        case 'a':
            if (!avt_parse_double(optarg, &v) || v < 0 || v >= 360) return bad_number("--cut-angle", optarg);
            o->cut_angle_deg = v;
            break;
        case 'm': o->lidar_model = optarg; break;
        case 'p': o->preview_dir = optarg; break;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind != argc - 1 || !*out) {
        fprintf(stderr, "avtruth build: expected LOG and -o OUT.h5\n%s", USAGE);
        return 2;
    }
    *log = argv[optind];
    return 0;
}

static void print_summary(const avt_build_summary *s, const char *out)
{
    printf("frames          %llu\n", (unsigned long long)s->frames);
    printf("lidar points    %llu\n", (unsigned long long)s->points);
    printf("3D boxes        %llu\n", (unsigned long long)s->boxes3d);
    printf("2D boxes        %llu\n", (unsigned long long)s->boxes2d);
    printf("depth samples   %llu\n", (unsigned long long)s->depth_samples);
    for (unsigned c = 0; c < s->n_cameras; c++)
        printf("camera %-12s %llu images, %llu paired, %llu frames unpaired, sync delta median %.3f ms, max |%.3f| ms\n",
               s->cam[c].name, (unsigned long long)s->cam[c].images, (unsigned long long)s->cam[c].paired,
               (unsigned long long)s->cam[c].unpaired_frames, s->cam[c].delta_median_ns * 1e-6,
               s->cam[c].delta_max_abs_ns * 1e-6);
    printf("time            %.2f s\n", s->seconds);
    printf("output          %s\n", out);
}

static int run_build(const char *log, const char *out, avt_build_options *o, char *cmdline)
{
    avt_error err = {0, ""};
    avt_build_summary s;
    int tty = isatty(2);
    o->command_line = cmdline;
    o->git_sha = AVT_GIT_SHA;
    if (tty) o->progress = build_progress;
    int rc = avt_build(log, out, o, &s, &err);
    if (tty) fputc('\n', stderr);
    if (rc) return fail(&err);
    print_summary(&s, out);
    return 0;
}

static int cmd_build(int argc, char **argv, char *cmdline)
{
    avt_build_options o;
    avt_build_options_default(&o);
    const char *log, *out;
    int r = parse_build(argc, argv, &o, &log, &out);
    if (r) return r;
    if (o.preview_dir && mkdir(o.preview_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth: %s: cannot create: %s\n", o.preview_dir, strerror(errno));
        return 1;
    }
    return run_build(log, out, &o, cmdline);
}

static int cmd_demo(int argc, char **argv, char *cmdline)
{
    const char *dir = "avtruth-demo";
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "o:")) != -1) {
        if (c == 'o') dir = optarg;
        else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    char log[4096], out[4096], prev[4096];
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(out, sizeof out, "%s/demo.h5", dir);
    snprintf(prev, sizeof prev, "%s/preview", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth: %s: cannot create: %s\n", dir, strerror(errno));
        return 1;
    }
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    avt_error err = {0, ""};
    struct stat sb;
    if (stat(log, &sb) == 0) {
        printf("reusing the synthetic drive log in %s\n", log);
    } else {
        printf("synthesizing a drive log (%.1f s, %d cameras, %s) into %s\n", cfg.seconds, cfg.cameras, cfg.lidar, log);
        if (avt_synth_run(log, &cfg, isatty(2) ? synth_progress : NULL, NULL, &err)) return fail(&err);
        if (isatty(2)) fputc('\n', stderr);
    }
    if (mkdir(prev, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth: %s: cannot create: %s\n", prev, strerror(errno));
        return 1;
    }
    avt_build_options o;
    avt_build_options_default(&o);
    o.preview_dir = prev;
    o.preview_stride = 10;
    printf("building %s\n", out);
    int rc = run_build(log, out, &o, cmdline);
    if (rc) return rc;
    printf("previews        %s/preview_*.png\n", prev);
    printf("inspect it with: avtruth inspect %s\n", out);
    return 0;
}

static int cmd_inspect(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "avtruth inspect: expected one file\n%s", USAGE);
        return 2;
    }
    avt_error err = {0, ""};
    if (avt_export_inspect(argv[1], stdout, &err)) return fail(&err);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char *cmdline = join_args(argc, argv);
    if (!cmdline) return 1;
    int rc;
    const char *cmd = argv[1];
    if (strcmp(cmd, "synth") == 0) rc = cmd_synth(argc - 1, argv + 1);
    else if (strcmp(cmd, "build") == 0) rc = cmd_build(argc - 1, argv + 1, cmdline);
    else if (strcmp(cmd, "demo") == 0) rc = cmd_demo(argc - 1, argv + 1, cmdline);
    else if (strcmp(cmd, "inspect") == 0) rc = cmd_inspect(argc - 1, argv + 1);
    else {
        fprintf(stderr, "avtruth: unknown command '%s'\n%s", cmd, USAGE);
        rc = 2;
    }
    free(cmdline);
    return rc;
}
