/* avtruth import rosbag2 BAG DST [--topic TYPE=TOPIC ...]: a ROS 2 bag (sqlite3 or MCAP
 * storage) written as a drive log (rosbag/import.c, docs/rosbag2.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/rosbag.h"

int cmd_import_rosbag2(int argc, char **argv);

int cmd_import_rosbag2(int argc, char **argv)
{
    /* argv[0] = "rosbag2" */
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    const char **roles = calloc((size_t)argc, sizeof *roles), **topics = calloc((size_t)argc, sizeof *topics);
    char **owned = calloc((size_t)argc, sizeof *owned);
    size_t n = 0;
    int rc = 0;
    if (!roles || !topics || !owned) rc = 1;
    for (int i = 1; !rc && i < argc; i++) {
        if (strcmp(argv[i], "--topic") == 0) {
            const char *eq = i + 1 < argc ? strchr(argv[i + 1], '=') : NULL;
            if (!eq || eq == argv[i + 1] || !eq[1]) {
                fprintf(stderr, "avtruth import rosbag2: --topic expects TYPE=TOPIC (TYPE: velodyne, ouster, "
                                "ouster_metadata, points, image, compressed_image, camera_info, tf, tf_static)\n");
                rc = 2;
                break;
            }
            owned[n] = strndup(argv[i + 1], (size_t)(eq - argv[i + 1]));
            roles[n] = owned[n];
            size_t nr, k;
            const char *const *known = avt_rosbag_roles(&nr);
            for (k = 0; owned[n] && k < nr && strcmp(known[k], owned[n]) != 0; k++) {}
            if (!owned[n] || k == nr) {
                fprintf(stderr, "avtruth import rosbag2: --topic %s: unknown TYPE '%s'; accepted:", argv[i + 1],
                        owned[n] ? owned[n] : "");
                for (k = 0; k < nr; k++) fprintf(stderr, " %s", known[k]);
                fputc('\n', stderr);
                n++;
                rc = 2;
                break;
            }
            topics[n++] = eq + 1;
            i++;
        } else if (argv[i][0] == '-' || npos == 2) {
            fprintf(stderr, "avtruth import rosbag2: unexpected argument '%s'\n", argv[i]);
            rc = 2;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (!rc && npos != 2) {
        fprintf(stderr, "avtruth import rosbag2: expected BAG DST [--topic TYPE=TOPIC ...]\n");
        rc = 2;
    }
    if (!rc) {
        avt_rosbag_import_opts opts = {n, roles, topics};
        avt_rosbag_import_stats st;
        avt_error err = {0, ""};
        if (avt_rosbag_import(pos[0], pos[1], &opts, &st, &err)) {
            fprintf(stderr, "avtruth: error: %s\n", err.msg);
            rc = 1;
        } else {
            printf("bag %s imported as drive log %s: %zu messages read; %zu LiDAR packets, %zu IMU packets, "
                   "%zu point clouds, %zu images, %zu cameras with CameraInfo, %zu static transforms, %zu poses\n",
                   pos[0], pos[1], st.messages, st.lidar_packets, st.imu_packets, st.clouds, st.images,
                   st.camera_infos, st.static_tfs, st.poses);
        }
    }
    for (size_t k = 0; k < n; k++) free(owned[k]);
    free(owned);
    free(roles);
    free(topics);
    return rc;
}
