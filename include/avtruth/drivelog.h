/* avtruth drive log: the layout of a log directory (docs/drive-log.md) in one place — the
 * fixed file names, log.yaml merged with the command line, the LiDAR source, and the names
 * under which inputs are recorded in /provenance/inputs. */
#ifndef AVTRUTH_DRIVELOG_H
#define AVTRUTH_DRIVELOG_H

#include "avtruth/calib.h"
#include "avtruth/common.h"
#include "avtruth/ingest.h"

#define AVT_LOG_PATH_MAX 4096

/* Settings of the command line that override log.yaml (NULL / "auto": not given). */
typedef struct avt_drive_log_overrides {
    const char *lidar_model;       /* "auto" or NULL: log.yaml's, else detected */
    const char *lidar_calibration; /* a path as given (relative to the working directory) */
    const char *lidar_source;
    double cut_angle_deg;
} avt_drive_log_overrides;

/* One input file of the log: its absolute path and its name in /provenance/inputs. */
typedef struct avt_log_input {
    const char *rel, *abs;
} avt_log_input;
#define AVT_LOG_MAX_FIXED_INPUTS 6

typedef struct avt_drive_log {
    char dir[AVT_LOG_PATH_MAX];
    char calib_yaml[AVT_LOG_PATH_MAX], poses_csv[AVT_LOG_PATH_MAX], log_yaml[AVT_LOG_PATH_MAX];
    int have_log_yaml;
    avt_log_config cfg;                /* log.yaml (all empty without one) */
    char lidar[AVT_LOG_PATH_MAX];      /* the capture, or the lidar/ directory of point clouds */
    avt_lidar_config lidar_cfg;        /* defaults < log.yaml < overrides; paths below */
    char lidar_metadata[AVT_LOG_PATH_MAX], lidar_calibration[AVT_LOG_PATH_MAX];
    const char *lidar_calibration_rel; /* its /provenance name */
    const char *log_id;                /* log.yaml's log_id, else the directory's name */
} avt_drive_log;

/* Reads the layout of log_dir: checks it is a directory, loads log.yaml, finds the LiDAR data
 * (avt_sweep_source_find) and merges the LiDAR settings. Errors name the file. The struct
 * points into itself: do not copy it. */
int avt_drive_log_open(const char *log_dir, const avt_drive_log_overrides *o, avt_drive_log *log, avt_error *err);

/* The one resolver of names found inside the log (log.yaml entries, image paths): log->dir
 * joined with rel into out (size n); AVT_INVAL naming rel when it is absolute, climbs out of
 * the log with "..", or does not fit. */
int avt_drive_log_path(const avt_drive_log *log, const char *rel, char *out, size_t n, avt_error *err);

/* The /provenance name of a file inside the log: abs without the log directory and '/'. */
const char *avt_drive_log_rel(const avt_drive_log *log, const char *abs);

/* The inputs every build records (calib.yaml, log.yaml, LiDAR metadata and calibration, poses
 * when poses_present, and the capture when capture is not NULL) into in; returns their count
 * (at most AVT_LOG_MAX_FIXED_INPUTS). */
size_t avt_drive_log_inputs(const avt_drive_log *log, int poses_present, const char *capture,
                            avt_log_input in[AVT_LOG_MAX_FIXED_INPUTS]);

#endif
