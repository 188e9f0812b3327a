/* Benchmark: LiDAR points projected per second into a pinhole camera with 5 radtan coefficients
 * (1 M points): avt_cam_project per point (reference), avt_cam_project_points (AoS) and
 * avt_cam_project_points_soa with 1 and 2 OpenMP threads, for each instruction set the CPU has (baseline
 * x86-64 and AVX2, see avt_cam_simd_best); then bench_project.py times
 * cv2.projectPoints and a vectorised numpy implementation on the same points in the same run.
 *   bench_project [N] [path/to/bench_project.py] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "avtruth/project.h"

static void machine(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], model[256] = "unknown";
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = 0;
                break;
            }
        fclose(f);
    }
    printf("machine: %s, %d logical CPUs (OpenMP max threads %d), compiler %s\n", model, omp_get_num_procs(),
           omp_get_max_threads(), __VERSION__);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    const char *py = argc > 2 ? argv[2] : NULL;
    if (n == 0 || n > 100000000) return 2;
    avt_camera cam;
    memset(&cam, 0, sizeof cam);
    snprintf(cam.name, sizeof cam.name, "bench");
    cam.width = 1920;
    cam.height = 1080;
    double K[9] = {1000, 0, 960, 0, 1000, 540, 0, 0, 1}, d[5] = {-0.3, 0.1, 0.001, -0.0015, -0.02};
    memcpy(cam.K, K, sizeof K);
    memcpy(cam.dist, d, sizeof d);
    cam.n_dist = 5;
    avt_cam_model m;
    avt_error err = {0, ""};
    if (avt_cam_model_init(&m, &cam, &err)) return 1;
    avt_tf T = avt_tf_identity(); /* points are given in the camera frame (as for OpenCV) */
    float *xyz = malloc(n * 12), *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
    float *uv = malloc(n * 8), *u = malloc(n * 4), *v = malloc(n * 4), *dep = malloc(n * 4);
    uint8_t *val = malloc(n);
    if (!xyz || !x || !y || !z || !uv || !u || !v || !dep || !val) return 1;
    uint64_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        double r[3];
        for (int k = 0; k < 3; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            r[k] = (s >> 11) * (1.0 / 9007199254740992.0);
        }
        double zz = 1 + 79 * r[2];
        xyz[3 * i] = x[i] = (float)((r[0] - 0.5) * 2.4 * zz);
        xyz[3 * i + 1] = y[i] = (float)((r[1] - 0.5) * 1.4 * zz);
        xyz[3 * i + 2] = z[i] = (float)zz;
    }
    machine();
    printf("%zu points, pinhole 1920x1080, 5 radtan coefficients; best of 7 runs\n", n);

    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = avt_monotonic_s();
        for (size_t i = 0; i < n; i++) {
            double p[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]}, q[2];
            val[i] = (uint8_t)avt_cam_project(&m, p, q);
            uv[2 * i] = (float)q[0];
        }
        best = fmin(best, avt_monotonic_s() - t0);
    }
    printf("  %-44s %8.1f M points/s\n", "avt_cam_project, one call per point, 1 thread", n / best / 1e6);
    /* agreement of the vectorised path with the per-point reference */
    avt_cam_project_points(&m, &T, xyz, n, uv, dep, val);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double p[3] = {xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]}, q[2];
        if (avt_cam_project(&m, p, q) && val[i])
            worst = fmax(worst, fmax(fabs(q[0] - uv[2 * i]), fabs(q[1] - uv[2 * i + 1])));
    }
    static const char *simd_name[] = {"baseline x86-64 (SSE2)", "AVX2"};
    int best_simd = m.simd;
    for (int simd = 0; simd <= best_simd; simd++) {
        m.simd = simd;
        printf("  batch paths, %s:\n", simd_name[simd]);
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            double ba = 1e9, bs = 1e9;
            for (int rep = 0; rep < 7; rep++) {
                double t0 = avt_monotonic_s();
                avt_cam_project_points(&m, &T, xyz, n, uv, dep, val);
                ba = fmin(ba, avt_monotonic_s() - t0);
                t0 = avt_monotonic_s();
                avt_cam_project_points_soa(&m, &T, x, y, z, n, u, v, dep, val);
                bs = fmin(bs, avt_monotonic_s() - t0);
            }
            printf("    avt_cam_project_points (AoS)  %d thread%s %8.1f M points/s (%.1f per thread)\n", threads,
                   threads > 1 ? "s" : " ", n / ba / 1e6, n / ba / 1e6 / threads);
            printf("    avt_cam_project_points_soa    %d thread%s %8.1f M points/s (%.1f per thread)\n", threads,
                   threads > 1 ? "s" : " ", n / bs / 1e6, n / bs / 1e6 / threads);
        }
    }
    m.simd = best_simd;
    printf("  max |vectorised - avt_cam_project| inside the image: %.2g px\n", worst);
    if (py) {
        char path[64], cmd[512];
        snprintf(path, sizeof path, "/tmp/avt_bench_points_%d.f32", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (f && fwrite(xyz, 12, n, f) == n && fclose(f) == 0) {
            snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", py, path);
            fflush(stdout);
            if (system(cmd) != 0) printf("  (python comparison failed)\n");
        }
        remove(path);
    }
    free(xyz), free(x), free(y), free(z), free(uv), free(u), free(v), free(dep), free(val);
    return 0;
}
