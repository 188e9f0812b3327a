/* Fuzz target: calibration files (calib/) through avt_rig_load with detection and with every
 * format name, avt_rig_load_combined, avt_kitti_rect_T_velo and the log.yaml reader.
 * The loaders take paths (KITTI raw reads three files of one directory), so the input is written
 * to calib_cam_to_cam.txt in a temporary directory made once per process; calib_velo_to_cam.txt
 * and calib_imu_to_velo.txt are symlinks to it, so one input carries the keys of all three.
 * A loaded rig must be valid, its transforms and their inverses finite; a failure must say so
 * naming the file. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avtruth/calib.h"

static char dir[256], path[320], velo[320], imu[320];

static void cleanup(void)
{
    unlink(velo);
    unlink(imu);
    unlink(path);
    rmdir(dir);
}

static int setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz_calib_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/calib_cam_to_cam.txt", dir);
    snprintf(velo, sizeof velo, "%s/calib_velo_to_cam.txt", dir);
    snprintf(imu, sizeof imu, "%s/calib_imu_to_velo.txt", dir);
    if (symlink("calib_cam_to_cam.txt", velo) || symlink("calib_cam_to_cam.txt", imu)) return -1;
    atexit(cleanup);
    return 0;
}

static int finite_n(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* A transform the pipeline can use: finite, and so is its inverse. */
static int tf_ok(const avt_tf *t)
{
    avt_tf inv = avt_tf_inv(t);
    return finite_n(t->m, 16) && finite_n(inv.m, 16);
}

/* What every loader promises: on success a validated rig of finite numbers, on failure a
 * message naming the file (each message starts with the path, which lies in dir). */
static void check(int rc, avt_rig *rig, const avt_error *err)
{
    if (rc != AVT_OK) {
        if (rig->cameras || !strstr(err->msg, dir)) __builtin_trap();
        return;
    }
    avt_error e2;
    if (avt_rig_validate(rig, "fuzz", &e2) != AVT_OK || !tf_ok(&rig->lidar_T_ego) || rig->n_cameras > 64)
        __builtin_trap();
    for (size_t i = 0; i < rig->n_cameras; i++) {
        const avt_camera *c = &rig->cameras[i];
        if (!c->name[0] || !memchr(c->name, 0, sizeof c->name) || c->width < 1 || c->width > 100000 ||
            c->height < 1 || c->height > 100000 || c->n_dist < 0 || c->n_dist > AVT_MAX_DIST ||
            !finite_n(c->K, 9) || !finite_n(c->dist, c->n_dist) || !tf_ok(&c->lidar_T_cam))
            __builtin_trap();
    }
    avt_rig_free(rig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static const char *const formats[] = {"auto", "avtruth", "kitti-object", "kitti-raw", "opencv", "ros", "kalibr"};
    if (!ready) {
        if (setup()) {
            perror("fuzz_calib: temporary directory");
            abort();
        }
        ready = 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();

    avt_rig rig;
    avt_error err;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        err.msg[0] = 0;
        check(avt_rig_load(path, formats[i], &rig, &err), &rig, &err);
    }
    err.msg[0] = 0;
    check(avt_rig_load(dir, "auto", &rig, &err), &rig, &err); /* the KITTI raw directory form */
    /* the file as the calibration and as the calib.yaml giving the LiDAR extrinsics */
    const char *paths[1] = {path};
    err.msg[0] = 0;
    check(avt_rig_load_combined(paths, 1, "auto", path, &rig, &err), &rig, &err);
    avt_tf t;
    if (avt_kitti_rect_T_velo(path, &t, &err) == AVT_OK && (!tf_ok(&t) || !(avt_tf_rigid_error(&t) < 1e-6)))
        __builtin_trap();
    avt_log_config cfg;
    avt_log_config_load(path, &cfg, &err);
    return 0;
}
