/* bench_decode: LiDAR decode throughput against the floor of reading the same capture.
 *
 * usage: bench_decode CAPTURE [METADATA_JSON|-] [REPEAT] [--threads N] [--parts P] [--model M]
 *                     [--calibration FILE]
 * Runs (1) on one core a bare pcap_next_ex loop over the capture (the floor: libpcap's record
 * reading and nothing else), (2) on one core the full reader: avt_lidar_open /
 * avt_lidar_next over every sweep, and with --threads N > 1 (3) the header-only split of the
 * capture (avt_lidar_split) and (4) avt_lidar_decode_parallel in P parts (default N) on N
 * OpenMP threads
 * (split included), whose point count must equal (2)'s. Each is repeated REPEAT times
 * (default 3) and the best is kept. Prints points/s (total and per core; and range
 * measurements/s, returns or not: avt_lidar_stats.measurements), the scaling of N
 * threads over one, the ratio of the reader's time to the floor's, peak RSS (getrusage; the
 * process peak, so run the long and the short capture in separate processes to compare
 * memory) and the machine (/proc/cpuinfo model name, online CPUs). */
#include <omp.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "avtruth/ingest.h"

/* CPU time of the whole process: with more threads than free cores the wall time shows the
 * contention, this the work. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void cpu_model(char *out, size_t n)
{
    char line[512];
    FILE *fp = fopen("/proc/cpuinfo", "r");
    snprintf(out, n, "unknown");
    if (!fp) return;
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c) snprintf(out, n, "%s", c + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(fp);
}

/* The floor: every record read, its bytes touched once. Returns seconds or < 0. */
static double floor_run(const char *path, uint64_t *records, uint64_t *bytes)
{
    char eb[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *d;
    pcap_t *pc = pcap_open_offline(path, eb);
    if (!pc) {
        fprintf(stderr, "%s: %s\n", path, eb);
        return -1;
    }
    double t0 = avt_monotonic_s();
    *records = *bytes = 0;
    volatile unsigned sink = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        (*records)++;
        *bytes += h->caplen;
        sink += d[h->caplen ? h->caplen - 1 : 0];
    }
    double t = avt_monotonic_s() - t0;
    pcap_close(pc);
    return t;
}

static double decode_run(const char *path, const avt_lidar_config *cfg, uint64_t *points,
                         uint64_t *sweeps, uint64_t *measurements, char *model, size_t model_n)
{
    avt_error err = {0};
    const avt_sweep *s;
    int rc;
    double t0 = avt_monotonic_s();
    avt_lidar_reader *r = avt_lidar_open(path, cfg, &err);
    if (!r) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *points = *sweeps = 0;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        *points += s->n;
        (*sweeps)++;
    }
    double t = avt_monotonic_s() - t0;
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    snprintf(model, model_n, "%s", st.model);
    *measurements = st.measurements;
    avt_lidar_close(r);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return t;
}

/* Per-part counts of the parallel run, each on its own cache line. */
typedef struct part_count {
    uint64_t points, sweeps;
    char pad[48];
} part_count;

static int count_sweep(void *ctx, int part, const avt_sweep *s)
{
    part_count *c = (part_count *)ctx + part;
    c->points += s->n;
    c->sweeps++;
    return 0;
}

/* The capture split and decoded in nparts parts on nthreads threads; seconds or < 0. */
static double parallel_run(const char *path, const avt_lidar_config *cfg, int nparts,
                           int nthreads, uint64_t *points, uint64_t *sweeps, double *cpu)
{
    avt_error err = {0};
    part_count *c = calloc((size_t)nparts, sizeof *c);
    if (!c) return -1;
    omp_set_num_threads(nthreads);
    double t0 = avt_monotonic_s(), c0 = cpu_s();
    int rc = avt_lidar_decode_parallel(path, cfg, nparts, count_sweep, c, &err);
    double t = avt_monotonic_s() - t0;
    *cpu = cpu_s() - c0;
    *points = *sweeps = 0;
    for (int p = 0; p < nparts; p++) *points += c[p].points, *sweeps += c[p].sweeps;
    free(c);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return t;
}

static double split_run(const char *path, int nparts)
{
    avt_error err = {0};
    avt_lidar_part *parts = calloc((size_t)nparts, sizeof *parts);
    double t0 = avt_monotonic_s();
    int rc = parts ? avt_lidar_split(path, nparts, parts, &err) : -1;
    double t = avt_monotonic_s() - t0;
    free(parts);
    if (rc != 0) fprintf(stderr, "%s\n", err.msg);
    return rc != 0 ? -1 : t;
}

static int parse_long(const char *s, long lo, long hi, long *v)
{
    char *end;
    *v = strtol(s, &end, 10);
    if (*end || end == s || *v < lo || *v > hi) {
        fprintf(stderr, "bad number %s (%ld..%ld)\n", s, lo, hi);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    char cpu[256], model[32] = "";
    uint64_t rec = 0, bytes = 0, pts = 0, sweeps = 0, ppts = 0, psweeps = 0, meas = 0;
    double best_floor = 1e30, best_dec = 1e30, best_par = 1e30, best_split = 1e30;
    double cpu_dec = 0, cpu_par = 0;
    long repeat = 3, threads = 1, nparts = 0;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    avt_lidar_config cfg;

    avt_lidar_config_default(&cfg);
    cfg.max_range_m = 1000.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--parts") == 0 && i + 1 < argc) {
            if (!parse_long(argv[++i], 1, 1024, &nparts)) return 2;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!parse_long(argv[++i], 1, 1024, &threads)) return 2;
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            cfg.model = argv[++i];
        } else if (strcmp(argv[i], "--calibration") == 0 && i + 1 < argc) {
            cfg.calibration_path = argv[++i];
        } else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
            if (npos == 3) break;
            pos[npos++] = argv[i];
        } else {
            npos = 0;
            break;
        }
    }
    if (npos < 1) {
        fprintf(stderr, "usage: bench_decode CAPTURE [METADATA_JSON|-] [REPEAT] [--threads N] [--parts P] "
                        "[--model M] [--calibration FILE]\n");
        return 2;
    }
    if (nparts == 0) nparts = threads;
    const char *path = pos[0];
    cfg.metadata_path = pos[1] && strcmp(pos[1], "-") != 0 ? pos[1] : NULL;
    if (pos[2] && !parse_long(pos[2], 1, 1000, &repeat)) return 2;
    for (long i = 0; i < repeat; i++) {
        double f = floor_run(path, &rec, &bytes);
        double c0 = cpu_s();
        double d = decode_run(path, &cfg, &pts, &sweeps, &meas, model, sizeof model);
        if (f < 0 || d < 0) return 1;
        if (f < best_floor) best_floor = f;
        if (d < best_dec) best_dec = d, cpu_dec = cpu_s() - c0;
        if (threads > 1) {
            double s = split_run(path, (int)nparts);
            double pc;
            double p = parallel_run(path, &cfg, (int)nparts, (int)threads, &ppts, &psweeps, &pc);
            if (s < 0 || p < 0) return 1;
            if (s < best_split) best_split = s;
            if (p < best_par) best_par = p, cpu_par = pc;
            if (ppts != pts || psweeps != sweeps) {
                fprintf(stderr, "%s: %ld parts gave %llu points in %llu sweeps, one reader %llu "
                                "in %llu\n", path, nparts, (unsigned long long)ppts,
                        (unsigned long long)psweeps, (unsigned long long)pts,
                        (unsigned long long)sweeps);
                return 1;
            }
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cpu_model(cpu, sizeof cpu);
    printf("machine: %s, %ld CPUs online, %ld thread(s) asked\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), threads);
    printf("capture: %s: %llu records, %.1f MB, model %s, %llu sweeps, %llu points of %llu "
           "range measurements (%.1f%% returned in range)\n",
           argv[1], (unsigned long long)rec, (double)bytes / 1e6, model,
           (unsigned long long)sweeps, (unsigned long long)pts, (unsigned long long)meas,
           meas ? 100.0 * (double)pts / (double)meas : 0.0);
    printf("floor  (pcap_next_ex):  %.4f s  %.1f M records/s  %.0f MB/s  (= %.1f M points/s "
           "if decoding were free)\n",
           best_floor, rec / best_floor / 1e6, bytes / best_floor / 1e6, pts / best_floor / 1e6);
    printf("decode (avt_lidar_next): %.4f s (cpu %.4f s)  %.1f M points/s per core  (%.2fx the "
           "floor's time; %.1f M measurements/s, the unit of ouster-sdk's XYZ figure)\n",
           best_dec, cpu_dec, pts / best_dec / 1e6, best_dec / best_floor, meas / best_dec / 1e6);
    if (threads > 1) {
        printf("split  (avt_lidar_split, %ld parts): %.4f s  (%.1f%% of one reader's time)\n",
               nparts, best_split, 100.0 * best_split / best_dec);
        printf("decode (avt_lidar_decode_parallel, %ld parts, %ld threads): %.4f s (cpu %.4f s)  %.1f M "
               "points/s total, %.1f M points/s per core, scaling %.2fx over 1 thread\n",
               nparts, threads, best_par, cpu_par, pts / best_par / 1e6, pts / best_par / 1e6 / threads,
               best_dec / best_par);
    }
    printf("peak RSS: %.1f MB\n", ru.ru_maxrss / 1024.0);
    return 0;
}
