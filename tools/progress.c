/* avtruth command line: progress reports (tools/progress.h). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "progress.h"

void cli_progress_begin(cli_progress *p, const char *what, const char *unit, int quiet)
{
    *p = (cli_progress){.what = what, .unit = unit, .tty = isatty(2), .quiet = quiet};
    p->t0 = p->last = avt_monotonic_s();
    const char *env = getenv("AVT_PROGRESS_SECONDS");
    double v;
    p->interval_s = p->tty ? 0.1 : PROGRESS_LINE_S;
    if (env && avt_parse_double(env, &v) && v >= 0) p->interval_s = v;
}

/* "42%  84 frames  12.3 frames/s  ETA 0:07" into buf */
static void describe(const cli_progress *p, double elapsed, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%3.0f%%", 100 * p->fraction);
    if (p->unit && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, "  %llu %s  %.1f %s/s", (unsigned long long)p->items, p->unit,
                      elapsed > 0 ? (double)p->items / elapsed : 0.0, p->unit);
    if (k > 0 && (size_t)k < n) {
        if (p->fraction >= 0.01 && p->fraction < 1) {
            long left = (long)(elapsed * (1 - p->fraction) / p->fraction + 0.5);
            snprintf(buf + k, n - (size_t)k, "  ETA %ld:%02ld", left / 60, left % 60);
        } else if (p->fraction >= 1) {
            snprintf(buf + k, n - (size_t)k, "  in %.1f s", elapsed);
        }
    }
}

static void draw(cli_progress *p, double t)
{
    char text[160];
    describe(p, t - p->t0, text, sizeof text);
    if (p->tty) {
        char bar[31];
        int full = (int)(30 * (p->fraction < 0 ? 0 : p->fraction > 1 ? 1 : p->fraction));
        for (int i = 0; i < 30; i++) bar[i] = i < full ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r  %s [%s] %s   ", p->what, bar, text);
    } else {
        fprintf(stderr, "avtruth: %s %s\n", p->what, text);
    }
    fflush(stderr);
    p->drawn = 1;
    p->last = t;
}

void cli_progress_update(cli_progress *p, double fraction, uint64_t items)
{
    if (p->quiet) return;
    p->fraction = fraction;
    p->items = items;
    double t = avt_monotonic_s();
    if (t - p->last >= p->interval_s) draw(p, t);
}

void cli_progress_items(double fraction, uint64_t items, void *ctx) { cli_progress_update(ctx, fraction, items); }

void cli_progress_end(cli_progress *p)
{
    if (p->quiet || !p->drawn) return;
    p->fraction = 1;
    draw(p, avt_monotonic_s());
    if (p->tty) fputc('\n', stderr);
}
