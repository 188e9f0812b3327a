/* avtruth bench: HDF5 export throughput on a long synthetic log (VLP-16-like sweeps, one
 * camera), per compression setting, next to writing the same column bytes with plain
 * write(); peak resident memory for two log lengths. Not a test: it prints numbers.
 *
 *   bench_export [--frames F] [--points N] [--rounds R] [--dir DIR]
 *
 * Every configuration runs in a forked child so that its peak RSS (wait4) is its own, once per
 * round, rounds interleaved so that load changes hit every configuration alike; the
 * clock covers open .. finish (fsync included), not the generation of the sweeps. The
 * baseline is what dd conv=fsync does: write() the column bytes, then fsync. The exporter
 * also starts writeback as the file grows (sync_file_range, export/writer.c), so its final
 * fsync waits for less: that is why "none" can beat the baseline. The
 * output files are left in DIR (default "bench-export") for bench_read.py. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libdeflate.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "avtruth/export.h"

static const char *const CLASSES[] = {"none", "car", "pedestrian", "cyclist"};

#define N_SWEEPS 8 /* distinct sweeps, generated before the clock starts and reused */

typedef struct frame_data {
    size_t n;
    float *xyz, *intensity;
    uint16_t *ring, *label;
    int32_t *time_ns, *instance;
    uint8_t *ret;
    avt_box3d boxes[12];
    avt_box2d b2d[8];
    size_t n_depth;
    float *uv, *depth;
} frame_data;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* One sweep of a 16-beam spinning LiDAR over a ground plane and a few walls: the value
 * statistics (smooth ranges, small integers) decide how well chunks compress. */
static int frame_alloc(frame_data *d, size_t n)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->n_depth = n / 6;
    d->xyz = malloc(n * 3 * sizeof *d->xyz);
    d->intensity = malloc(n * sizeof *d->intensity);
    d->ring = malloc(n * sizeof *d->ring);
    d->label = malloc(n * sizeof *d->label);
    d->time_ns = malloc(n * sizeof *d->time_ns);
    d->instance = malloc(n * sizeof *d->instance);
    d->ret = malloc(n);
    d->uv = malloc(d->n_depth * 2 * sizeof *d->uv);
    d->depth = malloc(d->n_depth * sizeof *d->depth);
    return d->xyz && d->intensity && d->ring && d->label && d->time_ns && d->instance && d->ret &&
           d->uv && d->depth;
}

static void frame_fill(frame_data *d, uint64_t fi)
{
    uint64_t s = 12345 + fi;
    for (size_t i = 0; i < d->n; i++) {
        unsigned ring = (unsigned)(i % 16);
        double az = 2 * M_PI * (double)(i / 16) / (double)(d->n / 16);
        double el = (-15.0 + 2.0 * ring) * M_PI / 180;
        double r = el < 0 ? 1.8 / -sin(el) : 20 + 5 * sin(3 * az);
        if (r > 60) r = 60;
        r += (double)(lcg(&s) % 1000) * 1e-5;
        d->xyz[3 * i] = (float)(r * cos(el) * cos(az));
        d->xyz[3 * i + 1] = (float)(r * cos(el) * sin(az));
        d->xyz[3 * i + 2] = (float)(r * sin(el));
        d->intensity[i] = (float)(lcg(&s) % 100);
        d->ring[i] = (uint16_t)ring;
        d->time_ns[i] = (int32_t)(i / 16 * 55296) - 50000000;
        d->ret[i] = 0;
        int in_box = (i / 16) % 97 < 3;
        d->label[i] = in_box ? 1 : 0;
        d->instance[i] = in_box ? (int32_t)((i / 16 / 97) % 12) : -1;
    }
    for (int b = 0; b < 12; b++) {
        avt_box3d *x = &d->boxes[b];
        memset(x, 0, sizeof *x);
        x->center[0] = (float)b;
        x->size[0] = 4;
        x->size[1] = 2;
        x->size[2] = 1.5f;
        x->rotation[0] = 1;
        x->class_id = 1;
        x->track_id = b;
    }
    for (int b = 0; b < 8; b++) {
        memset(&d->b2d[b], 0, sizeof d->b2d[b]);
        d->b2d[b].box3d_index = (uint32_t)b;
    }
    for (size_t i = 0; i < d->n_depth; i++) {
        d->uv[2 * i] = (float)(i % 1920);
        d->uv[2 * i + 1] = (float)(i / 1920 + 500);
        d->depth[i] = d->xyz[18 * i] < 0 ? -d->xyz[18 * i] : d->xyz[18 * i];
    }
}

static void frame_free(frame_data *d)
{
    free(d->xyz), free(d->intensity), free(d->ring), free(d->label), free(d->time_ns);
    free(d->instance), free(d->ret), free(d->uv), free(d->depth);
}

static void bench_rig(avt_rig *rig, avt_camera *cam)
{
    memset(rig, 0, sizeof *rig);
    memset(cam, 0, sizeof *cam);
    snprintf(rig->lidar_model, sizeof rig->lidar_model, "VLP-16");
    rig->lidar_T_ego = avt_tf_identity();
    snprintf(rig->source, sizeof rig->source, "bench rig");
    snprintf(cam->name, sizeof cam->name, "front");
    snprintf(cam->distortion_model, sizeof cam->distortion_model, "radtan");
    cam->width = 1920;
    cam->height = 1080;
    double K[9] = {1000, 0, 960, 0, 1000, 540, 0, 0, 1};
    memcpy(cam->K, K, sizeof K);
    cam->lidar_T_cam = avt_tf_identity();
    rig->cameras = cam;
    rig->n_cameras = 1;
}

/* Bytes of one frame as the exporter's columns hold them. */
static size_t frame_bytes(const frame_data *d)
{
    return d->n * (12 + 4 + 2 + 4 + 1 + 2 + 4) + d->n_depth * 12;
}

static int g_time_fd = -1; /* child -> parent: the timed seconds, as a double */

static int report_time(double seconds)
{
    return write(g_time_fd, &seconds, sizeof seconds) == (ssize_t)sizeof seconds ? 0 : 1;
}

/* Child: exports `frames` frames with the given compression; prints nothing. 0 on success. */
static int run_export(const char *path, const char *compression, int hdf5_path, uint64_t frames,
                      size_t points)
{
    avt_rig rig;
    avt_camera cam;
    bench_rig(&rig, &cam);
    avt_export_options opt;
    memset(&opt, 0, sizeof opt);
    opt.compression = compression;
    opt.hdf5_filter_path = hdf5_path;
    avt_error err = {0, ""};
    frame_data sweeps[N_SWEEPS];
    int rc = 1, n_alloc = 0;
    for (; n_alloc < N_SWEEPS; n_alloc++) {
        if (!frame_alloc(&sweeps[n_alloc], points)) goto out;
        frame_fill(&sweeps[n_alloc], (uint64_t)n_alloc);
    }
    double t0 = avt_monotonic_s();
    avt_export_writer *w = avt_export_open(path, &rig, CLASSES, 4, &opt, &err);
    if (!w) goto out;
    for (uint64_t i = 0; i < frames; i++) {
        const frame_data d = sweeps[i % N_SWEEPS];
        avt_frame_out f;
        memset(&f, 0, sizeof f);
        avt_camera_frame cf;
        memset(&cf, 0, sizeof cf);
        f.timestamp_ns = 1700000000000000000LL + (int64_t)i * 100000000;
        f.ego_pose[0] = f.ego_pose[5] = f.ego_pose[10] = f.ego_pose[15] = 1;
        f.n_points = d.n;
        f.xyz = d.xyz, f.intensity = d.intensity, f.ring = d.ring, f.time_ns = d.time_ns;
        f.return_type = d.ret, f.label = d.label, f.instance = d.instance;
        f.n_boxes = 12;
        f.boxes = d.boxes;
        cf.timestamp_ns = f.timestamp_ns;
        cf.image_path = "cameras/front/x.png";
        cf.n_boxes2d = 8;
        cf.boxes2d = d.b2d;
        cf.n_depth = d.n_depth;
        cf.depth_uv = d.uv;
        cf.depth = d.depth;
        f.cams = &cf;
        if (avt_export_frame(w, &f, &err)) {
            avt_export_abort(w);
            goto out;
        }
    }
    rc = avt_export_finish(w, NULL, &err) ? 1 : 0;
    if (!rc) rc = report_time(avt_monotonic_s() - t0);
out:
    if (rc) fprintf(stderr, "bench_export: %s\n", err.msg);
    while (n_alloc > 0) frame_free(&sweeps[--n_alloc]);
    return rc;
}

/* Child: the same column bytes with write(), then fsync, as the exporter does at finish. */
static int run_plain(const char *path, uint64_t frames, size_t points)
{
    frame_data sweeps[N_SWEEPS];
    int rc = 1, fd = -1, n_alloc = 0;
    for (; n_alloc < N_SWEEPS; n_alloc++) {
        if (!frame_alloc(&sweeps[n_alloc], points)) goto out;
        frame_fill(&sweeps[n_alloc], (uint64_t)n_alloc);
    }
    double t0 = avt_monotonic_s();
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) goto out;
    for (uint64_t i = 0; i < frames; i++) {
        const frame_data d = sweeps[i % N_SWEEPS];
        const void *bufs[] = {d.xyz, d.intensity, d.ring, d.time_ns, d.ret, d.label,
                              d.instance, d.uv, d.depth};
        size_t lens[] = {d.n * 12, d.n * 4, d.n * 2, d.n * 4, d.n, d.n * 2, d.n * 4,
                         d.n_depth * 8, d.n_depth * 4};
        for (int k = 0; k < 9; k++)
            if (write(fd, bufs[k], lens[k]) != (ssize_t)lens[k]) goto out;
    }
    if (fsync(fd) != 0 || close(fd) != 0) goto out;
    fd = -1;
    rc = report_time(avt_monotonic_s() - t0);
out:
    if (fd >= 0) close(fd);
    while (n_alloc > 0) frame_free(&sweeps[--n_alloc]);
    return rc;
}

typedef struct result {
    double seconds;
    double cpu_s; /* user + system time of the child (its set-up included) */
    long maxrss_kb;
    int ok;
} result;

/* Runs one configuration in a child; a negative hdf5_path means plain write(). */
static result run_child(const char *path, const char *compression, int hdf5_path,
                        uint64_t frames, size_t points)
{
    result r = {0, 0, 0, 0};
    int p[2];
    if (pipe(p) != 0) return r;
    fflush(stdout); /* a child must not inherit (and print again) buffered output */
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]), close(p[1]);
        return r;
    }
    if (pid == 0) {
        close(p[0]);
        g_time_fd = p[1];
        _exit(hdf5_path < 0 ? run_plain(path, frames, points)
                            : run_export(path, compression, hdf5_path, frames, points));
    }
    close(p[1]);
    if (read(p[0], &r.seconds, sizeof r.seconds) != (ssize_t)sizeof r.seconds) r.seconds = 0;
    close(p[0]);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return r;
    r.maxrss_kb = ru.ru_maxrss;
    r.cpu_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
              (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && r.seconds > 0;
    return r;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void describe_machine(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                const char *c = strchr(line, ':');
                if (c) snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    printf("machine: %s; %ld online CPUs; OpenMP threads %d; HDF5 %u.%u.%u; libdeflate %s\n",
           model, sysconf(_SC_NPROCESSORS_ONLN), omp_get_max_threads(), maj, min, rel,
           LIBDEFLATE_VERSION_STRING);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MAX_ROUNDS 25

/* The median of v[0..n), n <= MAX_ROUNDS; v is left as it was. */
static double median(const double *v, int n)
{
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    uint64_t frames = 600;
    size_t points = 28800;
    long rounds = 3;
    const char *dir = "bench-export";
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(argv[i + 1], &end, 10);
        int num_ok = errno == 0 && end && *end == '\0' && v > 0;
        if (strcmp(argv[i], "--frames") == 0 && num_ok) frames = (uint64_t)v;
        else if (strcmp(argv[i], "--points") == 0 && num_ok) points = (size_t)v;
        else if (strcmp(argv[i], "--rounds") == 0 && num_ok && v <= MAX_ROUNDS) rounds = (long)v;
        else if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_export [--frames F] [--points N] [--rounds R] [--dir DIR]\n");
            return 2;
        }
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_export: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    describe_machine();
    frame_data d;
    if (!frame_alloc(&d, points)) return 1;
    double mb = (double)frame_bytes(&d) * (double)frames / 1e6;
    frame_free(&d);
    printf("log: %llu frames x %zu points (+%zu depth samples) = %.0f MB of column data\n",
           (unsigned long long)frames, points, points / 6, mb);
    printf("%ld interleaved rounds (every configuration once per round); medians, and the "
           "ratios' medians over rounds\n\n", rounds);

    enum { PLAIN, NONE, GZIP, GZIP_H5, N_CFG = 6 };
    static const struct {
        const char *name, *compression, *file;
        int hdf5_path;
    } cfg[N_CFG] = {
        [PLAIN] = {"plain write()", NULL, "plain.bin", -1},
        [NONE] = {"export none", "none", "none.h5", 0},
        [GZIP] = {"export gzip (default, parallel)", "gzip", "gzip.h5", 0},
        [GZIP_H5] = {"export gzip (HDF5 filter path)", "gzip", "gzip_hdf5.h5", 1},
        {"export gzip=6 (parallel)", "gzip=6", "gzip6.h5", 0},
        {"export blosc-zstd", "blosc-zstd", "blosc_zstd.h5", 0},
    };
    static double t[N_CFG][MAX_ROUNDS], cpu[N_CFG][MAX_ROUNDS], none_ratio[MAX_ROUNDS],
        gzip_ratio[MAX_ROUNDS];
    static long rss[N_CFG];
    static int ok[N_CFG];
    char path[4096];
    const char *only = getenv("BENCH_ONLY"); /* e.g. "gzip.h5": one configuration */
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < N_CFG; k++) {
            if (only && strcmp(only, cfg[k].file) != 0) continue;
            if (cfg[k].compression && avt_export_compression_check(cfg[k].compression, NULL))
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, cfg[k].file);
            result res = run_child(path, cfg[k].compression, cfg[k].hdf5_path, frames, points);
            ok[k] = res.ok && (r == 0 || ok[k]);
            t[k][r] = res.seconds;
            cpu[k][r] = res.cpu_s;
            if (res.maxrss_kb > rss[k]) rss[k] = res.maxrss_kb;
        }
    printf("%-34s %9s %10s %10s %11s %8s\n", "configuration", "seconds", "MB/s", "file MB",
           "peak RSS MB", "CPU s");
    for (int k = 0; k < N_CFG; k++) {
        if (only && strcmp(only, cfg[k].file) != 0) continue;
        if (cfg[k].compression && avt_export_compression_check(cfg[k].compression, NULL)) {
            printf("%-34s (filter plugin not installed: skipped)\n", cfg[k].name);
            continue;
        }
        if (!ok[k]) {
            printf("%-34s FAILED\n", cfg[k].name);
            continue;
        }
        double m = median(t[k], (int)rounds), c = median(cpu[k], (int)rounds);
        snprintf(path, sizeof path, "%s/%s", dir, cfg[k].file);
        printf("%-34s %9.2f %10.1f %10.1f %11.1f %8.2f\n", cfg[k].name, m, mb / m,
               (double)file_size(path) / 1e6, (double)rss[k] / 1024, c);
    }
    snprintf(path, sizeof path, "%s/plain.bin", dir);
    unlink(path);
    for (long r = 0; r < rounds; r++) {
        none_ratio[r] = t[NONE][r] > 0 ? t[PLAIN][r] / t[NONE][r] : 0;
        gzip_ratio[r] = t[GZIP][r] > 0 ? t[GZIP_H5][r] / t[GZIP][r] : 0;
    }
    if (ok[PLAIN] && ok[NONE]) {
        printf("\nexport without compression: %.0f %% of plain write() throughput (target >= 80 %%)"
               "\n  per round (write() / none):",
               100 * median(none_ratio, (int)rounds));
        for (long r = 0; r < rounds; r++)
            printf(" %.0f %% (%.2f / %.2f s, CPU %.2f / %.2f s)%s", 100 * none_ratio[r], t[PLAIN][r],
                   t[NONE][r], cpu[PLAIN][r], cpu[NONE][r], r + 1 < rounds ? "," : "\n");
    }
    if (ok[GZIP] && ok[GZIP_H5]) {
        printf("default gzip vs HDF5's own filter path: %.1fx faster (target >= 5x)\n  per round:",
               median(gzip_ratio, (int)rounds));
        for (long r = 0; r < rounds; r++) printf(" %.1fx", gzip_ratio[r]);
        printf("\n");
    }

    /* Peak memory must not follow the log's length. */
    snprintf(path, sizeof path, "%s/mem.h5", dir);
    printf("\npeak RSS of a gzip export by log length:\n");
    for (uint64_t n = frames / 4 ? frames / 4 : 1, i = 0; i < 3; i++, n *= 2) {
        result r = run_child(path, "gzip", 0, n, points);
        printf("  %6llu frames: %7.1f MB%s\n", (unsigned long long)n, (double)r.maxrss_kb / 1024,
               r.ok ? "" : " (FAILED)");
    }
    unlink(path);
    return 0;
}
