/* Benchmark: pairing 24 hours of timestamps (10 Hz LiDAR, 6 cameras at 12 Hz, free-running,
 * 1 % dropped) with the streaming matcher, after a clock tracker pass. Images are generated
 * on the fly, so memory stays that of one tolerance window: peak RSS is printed with the
 * machine description. Run: cmake --build build --target bench && build/bench/bench_sync */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "avtruth/sync.h"

typedef struct gen {
    int64_t t0, period, k, n;
    uint64_t rng;
} gen;

static int gen_next(void *ctx, int64_t *t)
{
    gen *g = ctx;
    for (;;) {
        if (g->k >= g->n) return 0;
        g->rng = g->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t k = g->k++;
        if ((g->rng >> 33) % 100 == 0) continue; /* 1 % dropped */
        *t = g->t0 + k * g->period + (int64_t)((g->rng >> 40) % 2000000); /* 0..2 ms jitter */
        return 1;
    }
}

int main(void)
{
    const int64_t hours = 24, t0 = 1700000000000000000LL, lidar_period = 100000000;
    const int64_t n_sweeps = hours * 3600 * 10;
    enum { NCAM = 6 };
    gen g[NCAM];
    avt_sync_matcher *m[NCAM];
    avt_sync_matcher_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.tolerance_ns = 50000000;
    cfg.duplicate_ns = 20000000;
    for (int c = 0; c < NCAM; c++) {
        g[c] = (gen){t0 + c * 7000000, 1000000000 / 12, 0, hours * 3600 * 12, (uint64_t)c + 1};
        m[c] = avt_sync_matcher_new(&cfg, gen_next, &g[c], NULL);
        if (!m[c]) return 1;
    }
    double a = avt_monotonic_s();
    for (int64_t i = 0; i < n_sweeps; i++)
        for (int c = 0; c < NCAM; c++) {
            avt_sync_match r;
            if (avt_sync_matcher_pair(m[c], t0 + i * lidar_period, &r, NULL)) return 1;
        }
    uint64_t paired = 0, images = 0;
    size_t win = 0;
    for (int c = 0; c < NCAM; c++) {
        avt_sync_counts k;
        avt_sync_matcher_finish(m[c], NULL);
        avt_sync_matcher_counts(m[c], &k);
        paired += k.paired, images += k.images;
        if (k.max_window > win) win = k.max_window;
        avt_sync_matcher_free(m[c]);
    }
    double b = avt_monotonic_s();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct utsname u;
    uname(&u);
    char cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *p = strchr(line, ':');
                if (p) snprintf(cpu, sizeof cpu, "%s", p + 2);
                cpu[strcspn(cpu, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    printf("machine: %s %s %s, %s, %ld CPUs\n", u.sysname, u.release, u.machine, cpu, sysconf(_SC_NPROCESSORS_ONLN));
    printf("24 h: %lld sweeps x %d cameras, %llu images, %llu pairs in %.3f s (%.1f ns per pairing)\n",
           (long long)n_sweeps, NCAM, (unsigned long long)images, (unsigned long long)paired, b - a,
           (b - a) * 1e9 / (double)(n_sweeps * NCAM));
    printf("largest window %zu images; peak RSS %ld KiB\n", win, ru.ru_maxrss);
    return 0;
}
