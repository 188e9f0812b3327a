/* avtruth export: a ground-truth file into another dataset's label format. */
#include <stdio.h>
#include <string.h>

#include "avtruth/export.h"
#include "commands.h"

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const char *camera = NULL;
    const cli_opt opts[] = {
        {"camera", 0, CLI_STR, "NAME", "the camera whose 2D boxes and frame the labels use", "the first by name",
         .dest = &camera},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_export, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 3 || strcmp(pos[0], "kitti") != 0) return cli_usage_error(&avt_cmd_export, "expected 'kitti FILE.h5 DIR'");
    avt_error err = {0, ""};
    if (avt_export_kitti(pos[1], camera, pos[2], stdout, &err)) return cli_fail(&err);
    return 0;
}

const cli_cmd avt_cmd_export = {
    "export", "kitti FILE.h5 DIR [options]",
    "Write KITTI object labels (DIR/label_2, DIR/calib) from a ground-truth file, for KITTI tooling "
    "(docs/schema.md).",
    "  avtruth export kitti /tmp/out.h5 /tmp/kitti-truth --camera front\n", run};
