/* avtruth import rosbag2 BAG DST [--topic TYPE=TOPIC ...]: a ROS 2 bag (sqlite3 or MCAP
 * storage) written as a drive log (rosbag/import.c, docs/rosbag2.md). Reached through
 * `avtruth import rosbag2` (tools/cmd_import.c). */
#include <stdio.h>
#include <string.h>

#include "avtruth/rosbag.h"
#include "commands.h"
#include "progress.h"

#define MAX_TOPICS 64

typedef struct topic_overrides {
    size_t n;
    const char *role[MAX_TOPICS];
    const char *topic[MAX_TOPICS];
    char role_buf[MAX_TOPICS][32];
} topic_overrides;

/* --topic TYPE=TOPIC, repeatable: TYPE must be a role the import knows. */
static int topic_opt(const char *v, void *dest, char *accepted, size_t n)
{
    topic_overrides *t = dest;
    size_t nr;
    const char *const *roles = avt_rosbag_roles(&nr);
    int len = snprintf(accepted, n, "TYPE=TOPIC with TYPE one of");
    for (size_t k = 0; k < nr && len > 0 && (size_t)len < n; k++)
        len += snprintf(accepted + len, n - (size_t)len, "%s %s", k ? "," : "", roles[k]);
    if (!v) return 1; /* cli.h: call(NULL) fills only `accepted` */
    const char *eq = strchr(v, '=');
    if (!eq || !eq[1] || (size_t)(eq - v) >= sizeof t->role_buf[0] || t->n == MAX_TOPICS) return 1;
    for (size_t k = 0; k < nr; k++)
        if (strlen(roles[k]) == (size_t)(eq - v) && strncmp(roles[k], v, (size_t)(eq - v)) == 0) {
            snprintf(t->role_buf[t->n], sizeof t->role_buf[t->n], "%s", roles[k]);
            t->role[t->n] = t->role_buf[t->n];
            t->topic[t->n++] = eq + 1;
            return 0;
        }
    return 1;
}

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    topic_overrides topics = {0};
    int quiet = 0;
    const cli_opt opts[] = {
        {"topic", 0, CLI_CALL, "TYPE=TOPIC",
         "take TOPIC for TYPE, repeatable; other topics of that type are left out",
         "topics chosen by type", 0, 0, NULL, topic_opt, &topics},
        {"quiet", 'q', CLI_FLAG, NULL, "no progress report on stderr", "off", .dest = &quiet},
        {0}};
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_import_rosbag2, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 2) return cli_usage_error(&avt_cmd_import_rosbag2, "expected BAG DST");
    cli_progress pr;
    cli_progress_begin(&pr, "importing", "messages", quiet);
    avt_rosbag_import_opts o = {topics.n, topics.role, topics.topic, cli_progress_items, &pr};
    avt_rosbag_import_stats st;
    avt_error err = {0, ""};
    int rc = avt_rosbag_import(pos[0], pos[1], &o, &st, &err);
    cli_progress_end(&pr);
    if (rc) return cli_fail(&err);
    if (st.truncated[0]) fprintf(stderr, "avtruth: warning: the bag is cut, imported up to the cut: %s\n", st.truncated);
    printf("bag %s imported as drive log %s: %zu messages read; %zu LiDAR packets, %zu IMU packets, %zu point "
           "clouds, %zu images, %zu cameras with CameraInfo, %zu static transforms, %zu poses\n",
           pos[0], pos[1], st.messages, st.lidar_packets, st.imu_packets, st.clouds, st.images, st.camera_infos,
           st.static_tfs, st.poses);
    return 0;
}

const cli_cmd avt_cmd_import_rosbag2 = {
    "import rosbag2", "BAG DST [--topic TYPE=TOPIC ...] [--quiet]",
    "Write a ROS 2 bag (rosbag2 directory, .db3 or .mcap) as a drive log: LiDAR packets to a pcap, images, "
    "CameraInfo + /tf_static to calib.yaml, /tf to poses.csv (docs/rosbag2.md).",
    "  avtruth import rosbag2 ../shared/data/rosbag2/nebula_vlp16 /tmp/vlp16\n"
    "  avtruth import rosbag2 drive.mcap /tmp/drive --topic image=/cam/front/image_raw\n",
    run};
