/* avtruth command line: progress of long commands on stderr (build, batch, synth, stitch,
 * calib-check, import rosbag2): percent,
 * rate and time left; a live bar on a terminal, a line every PROGRESS_LINE_S seconds
 * otherwise (batch logs, CI; the environment variable AVT_PROGRESS_SECONDS changes it);
 * nothing with --quiet. */
#ifndef AVT_TOOLS_PROGRESS_H
#define AVT_TOOLS_PROGRESS_H

#include <stdint.h>

#define PROGRESS_LINE_S 5.0

typedef struct cli_progress {
    const char *what; /* "building", shown first */
    const char *unit; /* "frames", or NULL when there is no count */
    int tty, quiet, drawn;
    double t0, last, fraction, interval_s;
    uint64_t items;
} cli_progress;

void cli_progress_begin(cli_progress *p, const char *what, const char *unit, int quiet);
/* fraction done, 0..1; items counted so far (ignored without a unit) */
void cli_progress_update(cli_progress *p, double fraction, uint64_t items);
/* cli_progress_update as the library's progress callback (fraction, count, ctx = the
 * cli_progress): stitch, calib-check, import rosbag2 */
void cli_progress_items(double fraction, uint64_t items, void *ctx);
/* ends the bar's line on a terminal; elsewhere a closing line if any was printed */
void cli_progress_end(cli_progress *p);

#endif
