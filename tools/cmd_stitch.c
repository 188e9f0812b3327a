/* avtruth stitch: one index file over a directory of per-log files. */
#include <stdio.h>

#include "avtruth/export.h"
#include "commands.h"

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const char *out = NULL;
    double train = 0.8, val = 0.1;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "DATASET.h5", "the index file (required)", NULL, .dest = &out},
        {"train", 0, CLI_REAL, "R", "share of the logs in the train split", "0.8", 0, 1, .dest = &train},
        {"val", 0, CLI_REAL, "R", "share of the logs in the val split (the rest: test)", "0.1", 0, 1, .dest = &val},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_stitch, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1 || !out) return cli_usage_error(&avt_cmd_stitch, "expected DIR -o DATASET.h5");
    avt_error err = {0, ""};
    if (avt_export_stitch(pos[0], out, train, val, stdout, &err)) return cli_fail(&err);
    return 0;
}

const cli_cmd avt_cmd_stitch = {
    "stitch", "DIR -o DATASET.h5 [options]",
    "Write one index file over DIR's per-log files: virtual datasets, rebased offsets, /logs with per-log "
    "SHA-256 and calibration, and a train/val/test split.",
    "  avtruth stitch /tmp/out -o /tmp/out/dataset.h5 --train 0.8 --val 0.1\n", run};
