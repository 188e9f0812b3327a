/* avtruth point-cloud files (already decoded sweeps): KITTI velodyne .bin (float32 x y z
 * reflectance), nuScenes .pcd.bin (float32 x y z intensity ring), and PCD v0.7 ascii/binary
 * (fields x y z [intensity], each F4, F8, U1, U2, U4, I1, I2 or I4; binary_compressed is not
 * supported). Points with a NaN x, y or z are dropped in every format; infinity is an error. */
#ifndef AVTRUTH_POINTCLOUD_H
#define AVTRUTH_POINTCLOUD_H

#include <stddef.h>

#include "avtruth/common.h"

enum avt_pointcloud_format { AVT_PC_AUTO = 0, AVT_PC_KITTI_BIN, AVT_PC_NUSCENES_BIN, AVT_PC_PCD };

/* A decoded cloud: xyz (3n floats, sensor frame) and intensity (n floats, NaN when absent).
 * dropped counts the points of the file left out because x, y or z was NaN ("no return" in
 * organized PCL/ROS clouds); n + dropped is the number of points in the file. */
typedef struct avt_pointcloud {
    float *xyz;
    float *intensity;
    size_t n;
    size_t dropped;
} avt_pointcloud;

#define AVT_POINTCLOUD_MAX_POINTS (64u << 20)

/* Decodes a cloud from memory; format AUTO picks PCD by its "# .PCD"/"VERSION" header, else
 * nuScenes for names ending ".pcd.bin", else KITTI. name is used in messages and for AUTO.
 * Caller frees with avt_pointcloud_free. Thread-safe. */
int avt_pointcloud_read_mem(const void *data, size_t len, const char *name, int format, avt_pointcloud *pc,
                            avt_error *err);
int avt_pointcloud_read(const char *path, int format, avt_pointcloud *pc, avt_error *err);
/* Writes xyz + intensity as a KITTI .bin (intensity NaN written as 0). */
int avt_pointcloud_write_kitti(const char *path, const avt_pointcloud *pc, avt_error *err);
void avt_pointcloud_free(avt_pointcloud *pc);

#endif
