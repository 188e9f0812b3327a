/* Fuzz target: point-cloud files (ingest/pointcloud.c) read from memory as PCD (ascii/binary),
 * KITTI .bin and nuScenes .pcd.bin; a cloud read must hold finite points only (points with a
 * NaN coordinate are dropped, infinity is refused). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "avtruth/pointcloud.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int formats[] = {AVT_PC_PCD, AVT_PC_KITTI_BIN, AVT_PC_NUSCENES_BIN};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        avt_pointcloud pc;
        avt_error err;
        if (avt_pointcloud_read_mem(data, size, "fuzz.pcd", formats[f], &pc, &err) != AVT_OK) continue;
        for (size_t i = 0; i < pc.n; i++)
            if (!isfinite(pc.xyz[3 * i]) || !isfinite(pc.xyz[3 * i + 1]) || !isfinite(pc.xyz[3 * i + 2]) ||
                isinf(pc.intensity[i]))
                abort();
        avt_pointcloud_free(&pc);
    }
    return 0;
}
