/* avtruth synth: a deterministic synthetic drive log with known truth.
 *
 * Writes the drive-log layout of docs/drive-log.md: lidar/<sensor>.pcap (real Velodyne or
 * Ouster packets ray-cast over a scene; Ouster with its metadata JSON and log.yaml),
 * cameras/<name>/<t_ns>.png (ray-cast pinhole cameras with radial-tangential distortion),
 * calib.yaml, poses.csv, labels/<t_ns>.json and truth/.
 * The truth is computed by ray casting, independently of project/. Same seed and options
 * give byte-identical output. */
#ifndef AVTRUTH_SYNTH_H
#define AVTRUTH_SYNTH_H

#include <stdint.h>

#include "avtruth/common.h"

typedef struct avt_synth_config {
    uint64_t seed;             /* default 1 */
    double seconds;            /* default 3 */
    int cameras;               /* default 3 (front, then evenly spread around) */
    const char *lidar;         /* "vlp16" (Velodyne) or "os1-64", "os0-128" (Ouster) */
    const char *lidar_profile; /* Ouster udp_profile_lidar: "rng19" (default), "rng19-dual",
                                  "rng15", "legacy"; NULL for Velodyne models */
    const char *lidar_return;  /* Velodyne return mode: "strongest" (default, NULL), "last"
                                  or "dual" (not for vls128) */
    unsigned width, height;    /* camera image size, default 640 x 400 */
    double clock_offset_s;     /* camera clock minus true time, default 0 */
    double jitter_s;           /* std-dev of exposure jitter around the trigger, default 0 */
    double clock_drift_ppm;    /* camera clock rate error: name time = exposure + offset +
                                  drift (exposure - t0), default 0 */
    double drop_rate;          /* probability an image is not written, default 0 */
    double duplicate_rate;     /* probability an image is written twice: a second file with
                                  the same content 2..10 ms later, default 0 */
    double distortion;         /* scale of the radtan coefficients, default 1 (strong) */
    int moving_objects, static_objects; /* default 8 and 6 */
    /* When miscalibrate_camera names a camera, calib.yaml stores its lidar_T_cam wrong by E:
     * stored = E * true, E = Trans(x, y, z) Rz(yaw) Ry(pitch) Rx(roll) about the LiDAR axes
     * (the convention of avtruth/calibcheck.h); miscalibrate = roll, pitch, yaw (degrees),
     * x, y, z (metres). Images and truth use the true calibration; truth/miscalibration.json
     * records E and both transforms. */
    const char *miscalibrate_camera;
    double miscalibrate[6];
} avt_synth_config;

void avt_synth_config_default(avt_synth_config *cfg);

/* Generates the log into dir (created if missing; must be empty or absent). progress, if not
 * NULL, is called with a fraction in [0,1]. */
int avt_synth_run(const char *dir, const avt_synth_config *cfg,
                  void (*progress)(double fraction, void *ctx), void *ctx, avt_error *err);

#endif
