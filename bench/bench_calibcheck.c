/* Benchmark of the calibration check (docs/calibration-check.md): on a drive log, the edge map
 * of one camera image at its full resolution (next to decoding that PNG, the baseline of the
 * same run), one frame-camera check (--frames 0:1: decode, edge map, discontinuities, search
 * and the 728-neighbour confidence grid; sweep 1, as sweep 0 of a capture is partial), and the whole log's check (windows of 10) in frames
 * per second on 1 and 2 threads.
 * Run: cmake --build build --target bench && build/bench/bench_calibcheck LOG [CAMERA] */
#include <omp.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/calibcheck.h"
#include "avtruth/ingest.h"
#include "avtruth/pipeline.h"

static double check(const char *log, const char *camera, uint64_t first, uint64_t end, avt_calib_check_report *r)
{
    avt_calib_check_options o;
    avt_calib_check_options_default(&o);
    o.camera = camera;
    o.first_frame = first;
    o.end_frame = end;
    avt_error err = {0, ""};
    double t0 = omp_get_wtime();
    if (avt_calib_check(log, &o, r, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return omp_get_wtime() - t0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_calibcheck LOG [CAMERA]\n");
        return 2;
    }
    const char *log = argv[1], *camera = argc > 2 ? argv[2] : NULL;
    avt_camera_stream s;
    avt_error err = {0, ""};
    avt_calib_check_report r;
    /* the first image of the camera (the first of the log's calibration unless named) */
    check(log, camera, 0, 1, &r);
    char name[AVT_NAME_MAX];
    snprintf(name, sizeof name, "%s", r.cams[0].name);
    if (avt_camera_stream_list(log, name, &s, &err) || s.n == 0) {
        fprintf(stderr, "%s: no images of camera %s\n", log, name);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", log, s.images[0].path);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    const int reps = 20;
    double t0 = omp_get_wtime();
    uint8_t *grey = NULL;
    for (int i = 0; i < reps; i++) {
        memset(&pi, 0, sizeof pi);
        pi.version = PNG_IMAGE_VERSION;
        if (!png_image_begin_read_from_file(&pi, path)) return 1;
        pi.format = PNG_FORMAT_GRAY;
        free(grey);
        grey = malloc(PNG_IMAGE_SIZE(pi));
        if (!grey || !png_image_finish_read(&pi, NULL, grey, 0, NULL)) return 1;
    }
    double t_png = (omp_get_wtime() - t0) / reps;
    /* both maps, as the check builds them for every frame */
    float *d = malloc(2 * (size_t)pi.width * pi.height * sizeof *d);
    t0 = omp_get_wtime();
    for (int i = 0; i < reps; i++) avt_cc_edge_map(grey, pi.width, pi.height, d, d + (size_t)pi.width * pi.height);
    double t_edge = (omp_get_wtime() - t0) / reps;
    printf("log %s, camera %s, %ux%u, %d threads available\n", log, name, pi.width, pi.height, omp_get_max_threads());
    printf("PNG decode to grey (baseline)   %8.2f ms\n", 1e3 * t_png);
    printf("edge maps (D and along the rows) %8.2f ms  (%.2f x the PNG decode)\n", 1e3 * t_edge, t_edge / t_png);
    for (int th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
        avt_calib_check_report_free(&r);
        /* sweep 1: a capture's first sweep is partial (a log of point-cloud files: sweep 0) */
        double t1 = check(log, name, 1, 2, &r);
        if (r.cams[0].frames == 0) {
            avt_calib_check_report_free(&r);
            t1 = check(log, name, 0, 1, &r);
        }
        printf("one frame-camera check, %d thread%s: %8.1f ms (%zu discontinuity points, %d scores, %.1f us per "
               "score)\n",
               th, th > 1 ? "s" : " ", 1e3 * t1, r.cams[0].est.points, r.cams[0].est.evaluations,
               1e6 * t1 / (r.cams[0].est.evaluations ? r.cams[0].est.evaluations : 1));
        avt_calib_check_report_free(&r);
        double tl = check(log, name, 0, UINT64_MAX, &r);
        printf("whole log, %d thread%s: %llu sweeps in %.2f s = %.1f frames/s (%zu windows)\n", th, th > 1 ? "s" : " ",
               (unsigned long long)r.sweeps, tl, r.sweeps / tl, r.cams[0].n_windows);
    }
    avt_calib_check_report_free(&r);
    avt_camera_stream_free(&s);
    free(grey);
    free(d);
    return 0;
}
