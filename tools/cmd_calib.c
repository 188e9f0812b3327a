/* avtruth calib convert: calibration files of any format into one calib.yaml. */
#include <stdio.h>
#include <string.h>

#include "avtruth/calib.h"
#include "calib_args.h"
#include "commands.h"

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    const char *out = NULL, *extrinsics = NULL;
    int format = 0;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, "CALIB.yaml", "the calib.yaml to write (required)", NULL, .dest = &out},
        {"calib-format", 0, CLI_CHOICE, "FORMAT", "format of the input files", "auto", .choices = CALIB_FORMATS,
         .dest = &format},
        {"extrinsics", 0, CLI_STR, "CALIB.yaml",
         "calib.yaml giving lidar_T_cam (and the LiDAR) for camera-only formats (ROS, OpenCV, Kalibr)", "none",
         .dest = &extrinsics},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_calib, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos < 2 || strcmp(pos[0], "convert") != 0 || !out)
        return cli_usage_error(&avt_cmd_calib, "expected 'convert IN... -o CALIB.yaml'");
    avt_error err = {0, ""};
    avt_rig rig;
    if (avt_rig_load_combined((const char *const *)pos + 1, (size_t)npos - 1, CALIB_FORMATS[format], extrinsics, &rig,
                              &err))
        return cli_fail(&err);
    r = avt_rig_save_yaml(out, &rig, &err);
    if (!r) printf("%s: %zu camera(s) from %s\n", out, rig.n_cameras, rig.source);
    avt_rig_free(&rig);
    return r ? cli_fail(&err) : 0;
}

const cli_cmd avt_cmd_calib = {
    "calib", "convert IN... -o CALIB.yaml [options]",
    "Convert calibration files (KITTI object/raw, ROS camera_info, OpenCV, Kalibr, calib.yaml) into one calib.yaml "
    "(docs/calibration.md).",
    "  avtruth calib convert 2011_09_26_calib -o calib.yaml\n"
    "  avtruth calib convert front.yaml left.yaml --calib-format ros --extrinsics log/calib.yaml -o calib.yaml\n",
    run};
