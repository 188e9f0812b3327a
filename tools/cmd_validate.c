/* avtruth validate: a log's label files against its annotation schema (docs/schema.md). */
#include <stdio.h>

#include "avtruth/pipeline.h"
#include "avtruth/validate.h"
#include "commands.h"

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    avt_build_options o;
    avt_build_options_default(&o);
    const char *json = NULL;
    int64_t max_listed = 1000;
    const cli_opt opts[] = {
        {"schema", 0, CLI_STR, "FILE|NAME", "annotation schema: a file or default, kitti, nuscenes", "the log's",
         .dest = &o.schema},
        {"json", 0, CLI_STR, "REPORT", "also write the findings as JSON there", NULL, .dest = &json},
        {"max-findings", 0, CLI_INT, "N", "findings listed (all are counted)", "1000", 1, 1e7, .dest = &max_listed},
        {"lidar-model", 0, CLI_STR, "MODEL", "LiDAR model (auto from the packets)", "auto", .dest = &o.lidar_model},
        {"lidar-calibration", 0, CLI_STR, "FILE", "Velodyne db.xml / ROS YAML laser calibration", NULL,
         .dest = &o.lidar_calibration},
        {"lidar-source", 0, CLI_STR, "ADDR", "IPv4 source address of the LiDAR's packets", "any",
         .dest = &o.lidar_source},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_validate, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1) return cli_usage_error(&avt_cmd_validate, "expected one LOG");
    avt_validation rep = {.max_kept = (size_t)max_listed};
    avt_error err = {0, ""};
    char origin[1024];
    if (avt_validate_log(pos[0], &o, &rep, origin, sizeof origin, &err)) {
        cli_fail(&err);
        avt_validation_free(&rep);
        return 2; /* the rules could not run */
    }
    printf("schema %s\n", origin);
    avt_validation_print(&rep, stdout);
    if (json && avt_validation_write_json(&rep, json, &err)) {
        cli_fail(&err);
        avt_validation_free(&rep);
        return 2;
    }
    int status = rep.errors ? 1 : 0;
    avt_validation_free(&rep);
    return status;
}

const cli_cmd avt_cmd_validate = {
    "validate", "LOG [options]",
    "Check every label file of LOG against its annotation schema (schema, boundary, consistency and "
    "attachment rules); exit 0 without errors, 1 with, 2 when the check could not run.",
    "  avtruth validate /tmp/log\n  avtruth validate /tmp/kitti-logs/000001 --schema kitti --json report.json\n", run};
