/* avtruth import: other dataset layouts into drive logs. */
#include <stdio.h>
#include <string.h>

#include "avtruth/kitti.h"
#include "avtruth/nuscenes.h"
#include "commands.h"

static int run(int argc, char **argv, const char *cmdline)
{
    if (argc >= 2 && strcmp(argv[1], "rosbag2") == 0) return avt_cmd_import_rosbag2.run(argc - 1, argv + 1, cmdline);
    const cli_opt opts[] = {{0}};
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_import, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 3 || (strcmp(pos[0], "kitti") != 0 && strcmp(pos[0], "nuscenes") != 0))
        return cli_usage_error(&avt_cmd_import, "expected 'kitti SRC DST' or 'nuscenes TABLES LOG'");
    avt_error err = {0, ""};
    if (strcmp(pos[0], "nuscenes") == 0) {
        avt_nuscenes_stats st;
        if (avt_import_nuscenes(pos[1], pos[2], &st, &err)) return cli_fail(&err);
        printf("nuScenes annotations of %s: %llu samples, %llu boxes written to %s/labels", pos[1],
               (unsigned long long)st.samples, (unsigned long long)st.boxes, pos[2]);
        if (st.skipped)
            printf(" (%llu annotations of categories outside the detection classes skipped, e.g. %s)",
                   (unsigned long long)st.skipped, st.first_skipped);
        printf("\n");
        return 0;
    }
    if (avt_import_kitti(pos[1], pos[2], &err)) return cli_fail(&err);
    printf("KITTI layout %s imported as drive log(s) under %s\n", pos[1], pos[2]);
    return 0;
}

const cli_cmd avt_cmd_import = {
    "import", "kitti SRC DST | nuscenes TABLES LOG | rosbag2 BAG DST [--topic TYPE=TOPIC ...]",
    "Convert a KITTI object layout (calib, velodyne, image_2, label_2) into drive logs (docs/calibration.md), "
    "nuScenes-style annotation tables into a log's label files (docs/schema.md), or a ROS 2 bag into a drive "
    "log (`avtruth import rosbag2 --help`, docs/rosbag2.md).",
    "  avtruth import kitti ~/kitti/object/training /tmp/kitti-logs\n"
    "  avtruth import nuscenes ~/nuscenes/v1.0-mini /tmp/log\n"
    "  avtruth import rosbag2 ../shared/data/rosbag2/nebula_vlp16 /tmp/vlp16\n", run};
