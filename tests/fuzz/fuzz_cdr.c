/* Fuzz target: the CDR decoders (rosbag/cdr.c), every message type on the same bytes; every
 * view they return must lie inside the input (AddressSanitizer checks the reads below) and
 * the sizes they vouch for must hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "avtruth/rosbag.h"

static volatile uint8_t sink;
static void touch(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) sink ^= p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avt_error err;
    avt_velodyne_scan scan;
    if (avt_cdr_velodyne_scan(data, size, &scan, &err) == AVT_OK) {
        for (size_t i = 0; i < scan.n; i++) touch(scan.packets[i].data, AVT_VELODYNE_PACKET_BYTES);
        avt_velodyne_scan_free(&scan);
    }
    const uint8_t *buf;
    const char *s;
    size_t n;
    if (avt_cdr_bytes_msg(data, size, &buf, &n, &err) == AVT_OK) touch(buf, n);
    if (avt_cdr_string_msg(data, size, &s, &n, &err) == AVT_OK) touch((const uint8_t *)s, n + 1);
    avt_ros_pointcloud2 pc;
    if (avt_cdr_pointcloud2(data, size, &pc, &err) == AVT_OK) {
        if ((uint64_t)pc.height * pc.row_step > pc.len) abort();
        touch(pc.data, pc.len);
    }
    avt_ros_image img;
    if (avt_cdr_image(data, size, &img, &err) == AVT_OK) {
        if ((uint64_t)img.height * img.step > img.len) abort();
        touch(img.data, img.len);
    }
    avt_ros_compressed_image ci;
    if (avt_cdr_compressed_image(data, size, &ci, &err) == AVT_OK) touch(ci.data, ci.len);
    avt_ros_camera_info info;
    (void)avt_cdr_camera_info(data, size, &info, &err);
    avt_ros_tf tf;
    if (avt_cdr_tf(data, size, &tf, &err) == AVT_OK) avt_ros_tf_free(&tf);
    return 0;
}
