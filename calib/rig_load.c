/* avtruth calibration: one entry point over every supported calibration format, with format
 * detection by a table of probes over the file's first bytes (like libpcap's check_headers[]).
 * A new format is one loader file plus one row in FORMATS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_private.h"

/* 1 when some line of text starts with key (after blanks). */
static int has_line(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, key, kl) == 0) return 1;
    }
    return 0;
}

static int probe_avtruth(const char *t) { return has_line(t, "version:") && has_line(t, "lidar:"); }
static int probe_kitti_object(const char *t) { return has_line(t, "Tr_velo_to_cam:") && (has_line(t, "P2:") || has_line(t, "P0:")); }
static int probe_kitti_raw(const char *t)
{
    return has_line(t, "P_rect_0") || has_line(t, "S_rect_0") || (has_line(t, "calib_time:") && has_line(t, "R:"));
}
static int probe_opencv(const char *t) { return strncmp(t, "%YAML", 5) == 0 || strstr(t, "!!opencv-matrix") != NULL; }
static int probe_ros(const char *t)
{
    return has_line(t, "camera_matrix:") || (has_line(t, "distortion_model:") && has_line(t, "K:"));
}
static int probe_kalibr(const char *t) { return has_line(t, "cam0:") && has_line(t, "intrinsics:"); }

static const struct {
    const char *name;
    int (*probe)(const char *head);
    int (*load)(const char *path, avt_rig *rig, avt_error *err);
} FORMATS[] = {
    /* order matters: OpenCV files may carry ROS-like keys, so they are probed first */
    {"avtruth", probe_avtruth, avt_rig_load_yaml},
    {"kitti-object", probe_kitti_object, calib_load_kitti_object},
    {"kitti-raw", probe_kitti_raw, calib_load_kitti_raw},
    {"opencv", probe_opencv, calib_load_opencv},
    {"ros", probe_ros, calib_load_ros},
    {"kalibr", probe_kalibr, calib_load_kalibr},
};
#define N_FORMATS (sizeof FORMATS / sizeof FORMATS[0])

const char *avt_rig_format_detect(const char *path, avt_error *err)
{
    struct stat st;
    char probe[512];
    if (stat(path, &st) != 0) {
        avt_err(err, AVT_IO, "%s: cannot open calibration: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(probe, sizeof probe, "%s/calib_cam_to_cam.txt", path);
        if (stat(probe, &st) == 0) return "kitti-raw";
        avt_err(err, AVT_UNSUPPORTED, "%s: a directory without calib_cam_to_cam.txt (KITTI raw)", path);
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    if (avt_read_file(path, CALIB_MAX_BYTES, &text, &len, err)) return NULL;
    const char *found = NULL;
    for (size_t i = 0; i < N_FORMATS && !found; i++)
        if (FORMATS[i].probe(text)) found = FORMATS[i].name;
    free(text);
    if (!found)
        avt_err(err, AVT_UNSUPPORTED,
                "%s: unknown calibration format (tried avtruth, kitti-object, kitti-raw, opencv, ros, kalibr)", path);
    return found;
}

int avt_rig_load(const char *path, const char *format, avt_rig *rig, avt_error *err)
{
    memset(rig, 0, sizeof *rig);
    if (!format || strcmp(format, "auto") == 0) {
        format = avt_rig_format_detect(path, err);
        if (!format) return err ? err->code : AVT_UNSUPPORTED;
    }
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strcmp(format, FORMATS[i].name) == 0) return FORMATS[i].load(path, rig, err);
    return avt_err(err, AVT_INVAL, "%s: unknown calibration format '%s' (avtruth, kitti-object, kitti-raw, opencv, ros, "
                   "kalibr or auto)", path, format);
}
