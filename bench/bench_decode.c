/* bench_decode: LiDAR decode throughput against the floor of reading the same capture.
 *
 * usage: bench_decode CAPTURE [METADATA_JSON] [REPEAT]
 * Runs, on one core, (1) a bare pcap_next_ex loop over the capture (the floor: libpcap's
 * record reading and nothing else), (2) the full reader: avt_lidar_open / avt_lidar_next
 * over every sweep. Each is repeated REPEAT times (default 3) and the best is kept. Prints
 * points/s, the ratio of the reader's time to the floor's, peak RSS (getrusage; the process
 * peak, so run the long and the short capture in separate processes to compare memory) and
 * the machine (/proc/cpuinfo model name, online CPUs). */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "avtruth/ingest.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
    double t0 = now_s();
    *records = *bytes = 0;
    volatile unsigned sink = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        (*records)++;
        *bytes += h->caplen;
        sink += d[h->caplen ? h->caplen - 1 : 0];
    }
    double t = now_s() - t0;
    pcap_close(pc);
    return t;
}

static double decode_run(const char *path, const char *meta, uint64_t *points, uint64_t *sweeps,
                         char *model, size_t model_n)
{
    avt_lidar_config cfg;
    avt_error err = {0};
    const avt_sweep *s;
    int rc;
    avt_lidar_config_default(&cfg);
    cfg.metadata_path = meta;
    cfg.max_range_m = 1000.0;
    double t0 = now_s();
    avt_lidar_reader *r = avt_lidar_open(path, &cfg, &err);
    if (!r) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *points = *sweeps = 0;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        *points += s->n;
        (*sweeps)++;
    }
    double t = now_s() - t0;
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    snprintf(model, model_n, "%s", st.model);
    avt_lidar_close(r);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return t;
}

int main(int argc, char **argv)
{
    char cpu[256], model[32] = "";
    uint64_t rec = 0, bytes = 0, pts = 0, sweeps = 0;
    double best_floor = 1e30, best_dec = 1e30;
    long repeat = 3;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_decode CAPTURE [METADATA_JSON|-] [REPEAT]\n");
        return 2;
    }
    const char *meta = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
    if (argc > 3) {
        char *end;
        repeat = strtol(argv[3], &end, 10);
        if (*end || repeat < 1 || repeat > 1000) {
            fprintf(stderr, "bad REPEAT %s\n", argv[3]);
            return 2;
        }
    }
    for (long i = 0; i < repeat; i++) {
        double f = floor_run(argv[1], &rec, &bytes);
        double d = decode_run(argv[1], meta, &pts, &sweeps, model, sizeof model);
        if (f < 0 || d < 0) return 1;
        if (f < best_floor) best_floor = f;
        if (d < best_dec) best_dec = d;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cpu_model(cpu, sizeof cpu);
    printf("machine: %s, %ld CPUs online (single-threaded run)\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("capture: %s: %llu records, %.1f MB, model %s, %llu sweeps, %llu points\n", argv[1],
           (unsigned long long)rec, (double)bytes / 1e6, model, (unsigned long long)sweeps,
           (unsigned long long)pts);
    printf("floor  (pcap_next_ex):  %.4f s  %.1f M records/s  %.0f MB/s  (= %.1f M points/s "
           "if decoding were free)\n",
           best_floor, rec / best_floor / 1e6, bytes / best_floor / 1e6, pts / best_floor / 1e6);
    printf("decode (avt_lidar_next): %.4f s  %.1f M points/s per core  (%.2fx the floor's "
           "time)\n",
           best_dec, pts / best_dec / 1e6, best_dec / best_floor);
    printf("peak RSS: %.1f MB\n", ru.ru_maxrss / 1024.0);
    return 0;
}
