/* avtruth import: other dataset layouts into drive logs. */
#include <stdio.h>
#include <string.h>

#include "avtruth/kitti.h"
#include "commands.h"

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const cli_opt opts[] = {{0}};
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_import, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 3 || strcmp(pos[0], "kitti") != 0) return cli_usage_error(&avt_cmd_import, "expected 'kitti SRC DST'");
    avt_error err = {0, ""};
    if (avt_import_kitti(pos[1], pos[2], &err)) return cli_fail(&err);
    printf("KITTI layout %s imported as drive log(s) under %s\n", pos[1], pos[2]);
    return 0;
}

const cli_cmd avt_cmd_import = {
    "import", "kitti SRC DST",
    "Convert a KITTI object layout (calib, velodyne, image_2, label_2) into drive logs (docs/calibration.md).",
    "  avtruth import kitti ~/kitti/object/training /tmp/kitti-logs\n", run};
