/* avtruth pipeline (private): where a log's sweeps come from — a packet capture
 * (lidar/<sensor>.pcap, decoded by ingest/) or already-decoded point-cloud files
 * (lidar/<t_ns>.bin | .pcd.bin | .pcd, one sweep per file, read by labels/pointcloud.c). */
#ifndef AVT_PIPELINE_SOURCE_H
#define AVT_PIPELINE_SOURCE_H

#include "avtruth/calib.h"
#include "avtruth/ingest.h"
#include "avtruth/pipeline.h"

typedef struct sweep_source sweep_source;

/* Finds the log's LiDAR data: the first capture by name in lidar/, else the point-cloud files.
 * desc (size n) receives the capture path or the lidar/ directory, for messages. */
int sweep_source_find(const char *log_dir, char *desc, size_t n, avt_error *err);
/* The LiDAR reader's configuration of a log: the defaults, then log.yaml (read into *lcfg;
 * log_yaml receives its path), then the options' --lidar-model / --lidar-calibration /
 * --lidar-source. metadata and calibration paths are made absolute in meta_abs / vcal_abs
 * (4096 bytes each), which lc then points to. */
int sweep_source_config(const char *log_dir, const avt_build_options *opt, avt_lidar_config *lc, avt_log_config *lcfg,
                        char *log_yaml, char *meta_abs, char *vcal_abs, avt_error *err);
/* Opens what sweep_source_find found. */
sweep_source *sweep_source_open(const char *desc, const avt_lidar_config *lc, avt_error *err);
/* As avt_lidar_next. */
int sweep_source_next(sweep_source *s, const avt_sweep **sw, avt_error *err);
/* The file the last sweep came from when it has one file per sweep, else NULL. */
const char *sweep_source_file(const sweep_source *s);
/* The capture file when the whole log is one capture, else NULL. */
const char *sweep_source_capture(const sweep_source *s);
/* The capture reader's statistics so far; 0 (st untouched) for point-cloud files. */
int sweep_source_stats(const sweep_source *s, avt_lidar_stats *st);
void sweep_source_close(sweep_source *s);

#endif
