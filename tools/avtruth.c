/* avtruth: the command-line front end (argument parsing, progress and printing only). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avtruth/export.h"
#include "avtruth/kitti.h"
#include "avtruth/pipeline.h"
#include "avtruth/synth.h"

#include "avt_git_sha.h" /* AVT_GIT_SHA, written at build time (cmake/git_sha.cmake) */

static const char *USAGE =
    "usage: avtruth COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  synth DIR      write a deterministic synthetic drive log with known truth\n"
    "      --seed N  --seconds S  --cameras N\n"
    "      --lidar vlp16|vlp16hires|hdl32e|vlp32c|vls128|hdl64e|hdl64e_s2  --lidar-return strongest|last|dual\n"
    "      --lidar os1-64|os0-128  --lidar-profile rng19|rng19-dual|rng15|legacy|five-word|fusa-dual|rng15-dual|rng15-zone|rng19-zone|rng15-win (Ouster)\n"
    "      --width W  --height H\n"
    "      --clock-offset S  --jitter S  --clock-drift-ppm PPM  --drop-rate P  --duplicate-rate P\n"
    "      --distortion X\n"
    "  build LOG -o OUT.h5   turn a drive log into cross-modal ground truth (HDF5)\n"
    "      --compression gzip[=1..9]|none|blosc-zstd  --sync trigger|nearest|approximate  --sync-tolerance-ms MS\n"
    "      --clock-correct auto|on|off  --clock-offset-ms MS  --verify-images  --sync-report DIR\n"
    "      --cut-angle DEG  --lidar-model auto|vlp16|...  --lidar-calibration FILE  --lidar-source ADDR\n"
    "      --preview DIR\n"
    "      --box-visibility any|all|none  --depth-png DIR\n"
    "      --embed-images (store each paired image's PNG or JPEG bytes in /cameras/<name>/image_png)\n"
    "  demo [-o DIR]  synthesize a log, build it, print a summary, write previews\n"
    "  inspect FILE   human summary of an output file\n"
    "  verify FILE [LOG]   re-check offsets, cross-references and times, re-hash the inputs\n"
    "  batch LOG... -o DIR [-j N]   build each log into DIR/<log>.h5, skipping up-to-date ones\n"
    "  stitch DIR -o DATASET.h5 [--train R --val R]   index file over DIR's per-log files\n"
    "  import kitti SRC DST   turn a KITTI object layout into drive log(s)\n"
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
    size_t pos = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i) s[pos++] = ' ';
        memcpy(s + pos, argv[i], n);
        pos += n;
    }
    s[pos] = '\0';
    return s;
}

static int parse_synth(int argc, char **argv, avt_synth_config *cfg, const char **dir)
{
    static const struct option opts[] = {{"seed", 1, 0, 's'},         {"seconds", 1, 0, 't'},
                                         {"cameras", 1, 0, 'c'},      {"lidar", 1, 0, 'l'},
                                         {"width", 1, 0, 'W'},        {"height", 1, 0, 'H'},
                                         {"clock-offset", 1, 0, 'o'}, {"jitter", 1, 0, 'j'},
                                         {"distortion", 1, 0, 'd'},   {"clock-drift-ppm", 1, 0, 'D'},
                                         {"drop-rate", 1, 0, 'r'},    {"duplicate-rate", 1, 0, 'u'},
                                         {"lidar-return", 1, 0, 'R'}, {"lidar-profile", 1, 0, 'P'},
                                         {0, 0, 0, 0}};
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
        case 'R': cfg->lidar_return = optarg; break;
        case 'P': cfg->lidar_profile = optarg; break;
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
        case 'D':
            if (!avt_parse_double(optarg, &v)) return bad_number("--clock-drift-ppm", optarg);
            cfg->clock_drift_ppm = v;
            break;
        case 'r':
            if (!avt_parse_double(optarg, &v) || v < 0 || v >= 1) return bad_number("--drop-rate (0..1)", optarg);
            cfg->drop_rate = v;
            break;
        case 'u':
            if (!avt_parse_double(optarg, &v) || v < 0 || v > 1) return bad_number("--duplicate-rate (0..1)", optarg);
            cfg->duplicate_rate = v;
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
                                         {"lidar-calibration", 1, 0, 'L'}, {"lidar-source", 1, 0, 'S'},
                                         {"preview", 1, 0, 'p'},       {"clock-correct", 1, 0, 'C'},
                                         {"clock-offset-ms", 1, 0, 'O'}, {"verify-images", 0, 0, 'V'},
                                         {"sync-report", 1, 0, 'R'},   {"box-visibility", 1, 0, 'B'},
                                         {"depth-png", 1, 0, 'D'},     {"embed-images", 0, 0, 'E'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    *out = NULL;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        double v;
        switch (c) {
        case 'o': *out = optarg; break;
        case 'z':
            {
                avt_error zerr = {0, ""};
                if (avt_export_compression_check(optarg, &zerr)) {
                    fprintf(stderr, "avtruth: --compression: %s\n", zerr.msg);
                    return 2;
                }
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
        case 'L': o->lidar_calibration = optarg; break;
        case 'S': o->lidar_source = optarg; break;
        case 'p': o->preview_dir = optarg; break;
        case 'B':
            if (strcmp(optarg, "any") != 0 && strcmp(optarg, "all") != 0 && strcmp(optarg, "none") != 0) {
                fprintf(stderr, "avtruth: --box-visibility: '%s' is not any, all or none\n", optarg);
                return 2;
            }
            o->box_visibility = optarg;
            break;
        case 'D': o->depth_png_dir = optarg; break;
        case 'C':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "avtruth: --clock-correct: '%s' is not auto, on or off\n", optarg);
                return 2;
            }
            o->clock_correct = optarg;
            break;
        case 'O':
            if (!avt_parse_double(optarg, &v) || !(fabs(v) <= 3.6e6)) return bad_number("--clock-offset-ms", optarg);
            o->clock_offset_hint_ns = (int64_t)llround(v * 1e6);
            o->have_clock_offset_hint = 1;
            break;
        case 'V': o->verify_images = 1; break;
        case 'E': o->embed_images = 1; break;
        case 'R': o->sync_report_dir = optarg; break;
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
        if (k->damaged)
            printf("  damaged images  %llu left unpaired: %s\n", (unsigned long long)k->damaged, k->damaged_files);
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
    printf("time            %.2f s\n", s->seconds);
    printf("output          %s\n", out);
}

static void build_warn(const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "avtruth: warning: %s\n", msg);
}

static int run_build(const char *log, const char *out, avt_build_options *o, char *cmdline)
{
    avt_error err = {0, ""};
    avt_build_summary s;
    int tty = isatty(2);
    o->command_line = cmdline;
    o->git_sha = AVT_GIT_SHA;
    o->warn = build_warn;
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
    const char *dirs[] = {o.sync_report_dir, o.preview_dir, o.depth_png_dir};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && mkdir(dirs[i], 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "avtruth: %s: cannot create: %s\n", dirs[i], strerror(errno));
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

static int cmd_verify(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "avtruth verify: expected FILE [LOG]\n%s", USAGE);
        return 2;
    }
    avt_error err = {0, ""};
    if (avt_export_verify(argv[1], argc == 3 ? argv[2] : NULL, stdout, &err)) return fail(&err);
    return 0;
}

/* Builds one log of a batch into dir unless an output verified against the log's current
 * inputs is there already. Returns 0 built or skipped, 1 failed. */
static int batch_one(const char *log, const char *dir, char *cmdline)
{
    char out[4096], name[1024];
    size_t len = strlen(log);
    while (len > 1 && log[len - 1] == '/') len--;
    const char *b = log + len;
    while (b > log && b[-1] != '/') b--;
    snprintf(name, sizeof name, "%.*s", (int)(log + len - b), b);
    snprintf(out, sizeof out, "%s/%s.h5", dir, name);
    avt_error err = {0, ""};
    FILE *devnull = fopen("/dev/null", "w");
    struct stat sb;
    int fresh = stat(out, &sb) == 0 && devnull && avt_export_verify(out, log, devnull, &err) == 0;
    if (devnull) fclose(devnull);
    if (fresh) {
        printf("%s: up to date (inputs unchanged), skipped\n", out);
        return 0;
    }
    avt_build_options o;
    avt_build_options_default(&o);
    o.command_line = cmdline;
    o.git_sha = AVT_GIT_SHA;
    avt_build_summary s;
    err.code = 0, err.msg[0] = '\0';
    if (avt_build(log, out, &o, &s, &err)) {
        fprintf(stderr, "avtruth: error: %s: %s\n", log, err.msg);
        return 1;
    }
    printf("%s: %llu frames, %.2f s\n", out, (unsigned long long)s.frames, s.seconds);
    return 0;
}

static int cmd_batch(int argc, char **argv, char *cmdline)
{
    const char *dir = NULL;
    int64_t jobs = 1;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "o:j:")) != -1) {
        if (c == 'o') dir = optarg;
        else if (c == 'j') {
            if (!avt_parse_int64(optarg, &jobs) || jobs < 1 || jobs > 256) return bad_number("-j", optarg);
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (!dir || optind >= argc) {
        fprintf(stderr, "avtruth batch: expected LOG... -o DIR\n%s", USAGE);
        return 2;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "avtruth: %s: cannot create: %s\n", dir, strerror(errno));
        return 1;
    }
    /* Logs run in child processes (HDF5 is not thread-safe), at most `jobs` at a time. */
    const int64_t running_max = jobs < argc - optind ? jobs : argc - optind;
    const int share = running_max > 0 && omp_get_max_threads() / running_max > 1
                          ? (int)(omp_get_max_threads() / running_max)
                          : 1;
    int failed = 0, running = 0;
    fflush(stdout);
    for (int i = optind; i < argc || running > 0;) {
        if (i < argc && running < jobs) {
            pid_t pid = fork();
            if (pid < 0) {
                failed++;
                i++;
                continue;
            }
            if (pid == 0) {
                /* the cores are shared among the jobs that can run at once (-j N, or fewer
                 * logs): each child's OpenMP team and compression pool get that share (without this, -j 2 on two
                 * cores ran 2-2.5x slower than -j 1: four busy threads, spinning at every
                 * parallel region's end) */
                omp_set_num_threads(share);
                int r = batch_one(argv[i], dir, cmdline);
                fflush(stdout);
                _exit(r);
            }
            running++;
            i++;
            continue;
        }
        int status = 0;
        if (wait(&status) < 0) break;
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    if (failed) fprintf(stderr, "avtruth batch: %d of %d logs failed\n", failed, argc - optind);
    return failed ? 1 : 0;
}

static int cmd_stitch(int argc, char **argv)
{
    static const struct option opts[] = {{"output", 1, 0, 'o'}, {"train", 1, 0, 't'},
                                         {"val", 1, 0, 'v'},    {0, 0, 0, 0}};
    const char *out = NULL;
    double train = 0.8, val = 0.1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 't') {
            if (!avt_parse_double(optarg, &train)) return bad_number("--train", optarg);
        } else if (c == 'v') {
            if (!avt_parse_double(optarg, &val)) return bad_number("--val", optarg);
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (!out || optind != argc - 1) {
        fprintf(stderr, "avtruth stitch: expected DIR -o DATASET.h5\n%s", USAGE);
        return 2;
    }
    avt_error err = {0, ""};
    if (avt_export_stitch(argv[optind], out, train, val, stdout, &err)) return fail(&err);
    return 0;
}

static int cmd_import(int argc, char **argv)
{
    if (argc != 4 || strcmp(argv[1], "kitti") != 0) {
        fprintf(stderr, "avtruth import: expected 'kitti SRC DST'\n%s", USAGE);
        return 2;
    }
    avt_error err = {0, ""};
    if (avt_import_kitti(argv[2], argv[3], &err)) return fail(&err);
    printf("KITTI layout %s imported as drive log(s) under %s\n", argv[2], argv[3]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* a file-size limit (ulimit -f) reached while writing fails the write (EFBIG), reported
     * and cleaned up like a full disk, instead of a SIGXFSZ that kills the process and leaves
     * the .partial file behind */
    signal(SIGXFSZ, SIG_IGN);
    char *cmdline = join_args(argc, argv);
    if (!cmdline) return 1;
    int rc;
    const char *cmd = argv[1];
    if (strcmp(cmd, "synth") == 0) rc = cmd_synth(argc - 1, argv + 1);
    else if (strcmp(cmd, "build") == 0) rc = cmd_build(argc - 1, argv + 1, cmdline);
    else if (strcmp(cmd, "demo") == 0) rc = cmd_demo(argc - 1, argv + 1, cmdline);
    else if (strcmp(cmd, "inspect") == 0) rc = cmd_inspect(argc - 1, argv + 1);
    else if (strcmp(cmd, "verify") == 0) rc = cmd_verify(argc - 1, argv + 1);
    else if (strcmp(cmd, "batch") == 0) rc = cmd_batch(argc - 1, argv + 1, cmdline);
    else if (strcmp(cmd, "stitch") == 0) rc = cmd_stitch(argc - 1, argv + 1);
    else if (strcmp(cmd, "import") == 0) rc = cmd_import(argc - 1, argv + 1);
    else {
        fprintf(stderr, "avtruth: unknown command '%s'\n%s", cmd, USAGE);
        rc = 2;
    }
    free(cmdline);
    if (avt_export_unclosed()) { /* a disk filled: see avt_export_unclosed */
        fflush(NULL);
        _exit(rc);
    }
    return rc;
}
