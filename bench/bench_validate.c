/* Benchmark: validating one hour of labels at 10 Hz (36,000 files of 20 boxes: cars and
 * pedestrians on straight tracks, velocities consistent) with the default schema, against a
 * baseline measured in the same run: parsing the same files with jansson alone. Memory: the
 * resident set after 1/8, 1/4, 1/2 and all of the files (it must stay flat: one file plus one
 * entry per track). Run: cmake --build build --target bench_validate &&
 * build/bench/bench_validate [FILES] [DIR] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "avtruth/validate.h"

#define T0 1732752000000000000LL
#define DT 100000000LL
#define BOXES 20

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void generate(const char *dir, long n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/labels", dir);
    mkdir(dir, 0755);
    mkdir(p, 0755);
    for (long k = 0; k < n; k++) {
        long long t = T0 + k * DT;
        snprintf(p, sizeof p, "%s/labels/%lld.json", dir, t);
        FILE *f = fopen(p, "w");
        if (!f) {
            perror(p);
            exit(2);
        }
        fprintf(f, "{\"timestamp_ns\": %lld, \"frame\": \"lidar\", \"boxes\": [\n", t);
        for (int b = 0; b < BOXES; b++) {
            /* track b + 20 (k / 100): a new set of tracks every 10 s, each moving along x */
            long track = b + BOXES * (k / 100);
            int ped = b % 4 == 3;
            double v = ped ? 1.2 : 2.0 + b % 10, x = -40 + v * 0.1 * (double)(k % 100), y = -40 + 4.0 * b;
            fprintf(f,
                    "  {\"track_id\": %ld, \"class\": \"%s\", \"center\": [%.3f, %.3f, 0.9], \"size\": [%s],"
                    " \"yaw\": 0, \"velocity\": [%.3f, 0, 0], \"attributes\": [\"%s\"]}%s\n",
                    track, ped ? "pedestrian" : "car", x, y, ped ? "0.6, 0.6, 1.75" : "4.5, 1.9, 1.6", v,
                    ped ? "pedestrian.moving" : "vehicle.moving", b + 1 < BOXES ? "," : "");
        }
        fprintf(f, "]}\n");
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 36000;
    char dir[256];
    if (argc > 2) snprintf(dir, sizeof dir, "%s", argv[2]);
    else snprintf(dir, sizeof dir, "/tmp/avt_bench_validate_%d", (int)getpid());
    if (n < 8) n = 8;
    double t = avt_monotonic_s();
    generate(dir, n);
    printf("generated %ld label files of %d boxes in %s (%.1f s)\n", n, BOXES, dir, avt_monotonic_s() - t);

    avt_label_index idx;
    avt_error err = {0, ""};
    t = avt_monotonic_s();
    if (avt_label_index_open(dir, &idx, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    printf("index: %.3f s\n", avt_monotonic_s() - t);
    avt_schema s;
    if (avt_schema_default(&s)) return 2;
    double best_parse = 1e30, best_val = 1e30;
    long rss[4] = {0};
    for (int round = 0; round < 3; round++) {
        t = avt_monotonic_s();
        for (size_t i = 0; i < idx.n; i++) {
            json_error_t je;
            json_t *j = json_load_file(idx.paths[i], JSON_REJECT_DUPLICATES, &je);
            if (!j) return 2;
            json_decref(j);
        }
        double tp = avt_monotonic_s() - t;
        best_parse = tp < best_parse ? tp : best_parse;
        size_t full = idx.n;
        avt_validate_config cfg = {.schema = &s};
        avt_validation rep;
        memset(&rep, 0, sizeof rep);
        /* the files in four growing prefixes (1/8, 1/4, 1/2, all): the resident set after each */
        for (int q = 0; q < 4; q++) {
            idx.n = full >> (3 - q);
            memset(&rep, 0, sizeof rep);
            if (avt_validate_labels(&idx, &cfg, &rep, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 2;
            }
            if (round == 0) rss[q] = rss_kb();
            if (q < 3) avt_validation_free(&rep);
        }
        idx.n = full;
        t = avt_monotonic_s();
        avt_validation_free(&rep);
        memset(&rep, 0, sizeof rep);
        if (avt_validate_labels(&idx, &cfg, &rep, &err)) return 2;
        double tv = avt_monotonic_s() - t;
        best_val = tv < best_val ? tv : best_val;
        if (rep.errors + rep.warnings) {
            avt_validation_print(&rep, stderr);
            return 1;
        }
        avt_validation_free(&rep);
    }
    struct rusage ru;
    struct utsname un;
    getrusage(RUSAGE_SELF, &ru);
    if (uname(&un) == 0)
        printf("machine: %s %s %s, %ld cores online\n", un.sysname, un.release, un.machine, sysconf(_SC_NPROCESSORS_ONLN));
    printf("files %zu, boxes %ld; best of 3 (machine shared with other jobs)\n", idx.n, (long)idx.n * BOXES);
    printf("  jansson parse only : %7.3f s  %8.0f files/s\n", best_parse, (double)idx.n / best_parse);
    printf("  validate (all rules): %7.3f s  %8.0f files/s  (%.2fx the parse time)\n", best_val,
           (double)idx.n / best_val, best_val / best_parse);
    printf("  resident set after 1/8, 1/4, 1/2, all files: %ld %ld %ld %ld kB (peak %ld kB)\n", rss[0], rss[1], rss[2],
           rss[3], ru.ru_maxrss);
    avt_schema_free(&s);
    avt_label_index_free(&idx);
    if (argc <= 2) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd)) return 2;
    }
    return 0;
}
