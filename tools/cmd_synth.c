/* avtruth synth: a deterministic synthetic drive log with known truth. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "avtruth/common.h"
#include "avtruth/synth.h"
#include "commands.h"
#include "progress.h"

static const char *const LIDARS[] = {"vlp16",  "vlp16hires", "hdl32e", "vlp32c", "vls128", "hdl64e",
                                     "hdl64e_s2", "os1-64", "os0-128", NULL};
static const char *const RETURNS[] = {"strongest", "last", "dual", NULL};
static const char *const PROFILES[] = {"rng19",     "rng19-dual", "rng15",      "legacy",
                                       "five-word", "fusa-dual",  "rng15-dual", "rng15-zone",
                                       "rng19-zone", "rng15-win", NULL};

static void progress(double f, void *ctx) { cli_progress_update(ctx, f, 0); }

/* CAMERA:roll=R,pitch=P,yaw=Y,x=X,y=Y,z=Z (degrees, metres; keys optional, default 0). */
static int parse_miscalibration(const char *v, void *dest, char *accepted, size_t n)
{
    avt_synth_config *cfg = dest;
    static char camera[64];
    static const char *const keys[6] = {"roll", "pitch", "yaw", "x", "y", "z"};
    snprintf(accepted, n, "CAMERA:roll=DEG,pitch=DEG,yaw=DEG,x=M,y=M,z=M (keys optional)");
    if (!v) return 1;
    const char *colon = strchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof camera) return 1;
    memcpy(camera, v, (size_t)(colon - v));
    camera[colon - v] = '\0';
    double e[6] = {0};
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", colon + 1) >= (int)sizeof buf) return 1;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return 1;
        *eq = '\0';
        int k = 0;
        while (k < 6 && strcmp(tok, keys[k]) != 0) k++;
        if (k == 6 || !avt_parse_double(eq + 1, &e[k])) return 1;
    }
    cfg->miscalibrate_camera = camera;
    memcpy(cfg->miscalibrate, e, sizeof e);
    return 0;
}

static int run(int argc, char **argv, const char *cmdline)
{
    (void)cmdline;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    int64_t seed = (int64_t)cfg.seed, cameras = cfg.cameras, width = cfg.width, height = cfg.height;
    int64_t moving = cfg.moving_objects, still = cfg.static_objects;
    int lidar = 0, ret = -1, profile = -1; /* -1: not given */
    int quiet = 0;
    const cli_opt opts[] = {
        {"seed", 0, CLI_INT, "N", "random seed", "1", 0, 9e15, .dest = &seed},
        {"seconds", 0, CLI_REAL, "S", "length of the log", "3", 0.001, 600, .dest = &cfg.seconds},
        {"cameras", 0, CLI_INT, "N", "number of cameras (front, then spread around)", "3", 0, 6, .dest = &cameras},
        {"lidar", 0, CLI_CHOICE, "MODEL", "LiDAR model", "vlp16", .choices = LIDARS, .dest = &lidar},
        {"lidar-return", 0, CLI_CHOICE, "MODE", "Velodyne return mode", "strongest", .choices = RETURNS,
         .dest = &ret},
        {"lidar-profile", 0, CLI_CHOICE, "PROFILE", "Ouster udp_profile_lidar", "rng19", .choices = PROFILES,
         .dest = &profile},
        {"width", 0, CLI_INT, "W", "camera image width", "640", 16, 8192, .dest = &width},
        {"height", 0, CLI_INT, "H", "camera image height", "400", 16, 8192, .dest = &height},
        {"clock-offset", 0, CLI_REAL, "S", "camera clock minus true time, seconds", "0", -3600, 3600,
         .dest = &cfg.clock_offset_s},
        {"jitter", 0, CLI_REAL, "S", "std-dev of exposure jitter, seconds", "0", 0, 1, .dest = &cfg.jitter_s},
        {"clock-drift-ppm", 0, CLI_REAL, "PPM", "camera clock rate error", "0", -1e5, 1e5,
         .dest = &cfg.clock_drift_ppm},
        {"drop-rate", 0, CLI_REAL, "P", "probability an image is not written", "0", 0, 0.999,
         .dest = &cfg.drop_rate},
        {"duplicate-rate", 0, CLI_REAL, "P", "probability an image is written twice", "0", 0, 1,
         .dest = &cfg.duplicate_rate},
        {"distortion", 0, CLI_REAL, "X", "scale of the radtan distortion coefficients", "1", 0, 100,
         .dest = &cfg.distortion},
        {"moving-objects", 0, CLI_INT, "N", "objects moving in the scene", "8", 0, 128, .dest = &moving},
        {"static-objects", 0, CLI_INT, "N", "objects standing still", "6", 0, 128, .dest = &still},
        {"miscalibrate", 0, CLI_CALL, "CAMERA:roll=,pitch=,yaw=,x=,y=,z=",
         "store CAMERA's lidar_T_cam wrong by E (degrees, metres; docs/calibration-check.md)", "none",
         .call = parse_miscalibration, .dest = &cfg},
        {"quiet", 'q', CLI_FLAG, NULL, "no progress report on stderr", "off", .dest = &quiet},
        {0},
    };
    char **pos;
    int npos;
    int r = cli_parse(&avt_cmd_synth, opts, argc, argv, &pos, &npos);
    if (r) return r == CLI_EXIT_HELP ? 0 : r;
    if (npos != 1) return cli_usage_error(&avt_cmd_synth, "expected one output directory");
    cfg.seed = (uint64_t)seed;
    cfg.cameras = (int)cameras;
    cfg.width = (unsigned)width;
    cfg.height = (unsigned)height;
    cfg.moving_objects = (int)moving;
    cfg.static_objects = (int)still;
    cfg.lidar = LIDARS[lidar];
    if (ret >= 0) cfg.lidar_return = RETURNS[ret];
    if (profile >= 0) cfg.lidar_profile = PROFILES[profile];
    avt_error err = {0, ""};
    cli_progress pr;
    cli_progress_begin(&pr, "synthesizing", NULL, quiet);
    r = avt_synth_run(pos[0], &cfg, progress, &pr, &err);
    cli_progress_end(&pr);
    if (r) return cli_fail(&err);
    printf("synthetic drive log written to %s\n", pos[0]);
    return 0;
}

const cli_cmd avt_cmd_synth = {
    "synth", "DIR [options]",
    "Write a deterministic synthetic drive log with known truth (truth/) into DIR.",
    "  avtruth synth /tmp/log --seed 7 --seconds 5 --cameras 4 --lidar vlp32c\n", run};
