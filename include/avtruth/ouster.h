/* Ouster OS-0/OS-1/OS-2 packet constants, from the Ouster sensor documentation.
 *
 * Frame convention: points are output in the Ouster "sensor coordinate frame" (Ouster Sensor
 * Docs, "Coordinate Frames and XYZ Calculation"): x forward (away from the connector), y left,
 * z up, origin at the centre of the sensor's base plate. This is the frame of ouster-sdk's
 * XYZLut / cartesian() without extrinsics and the same axes as avtruth/velodyne.h. It is the
 * lidar frame (x towards the connector) transformed by the metadata's
 * lidar_to_sensor_transform (usually a 180 degree turn about z and +36.18 mm in z).
 *
 * Measurement id v of a frame of w columns points (in the lidar frame) at the encoder angle
 * 2 pi (1 - v / w): column 0 faces the connector (backwards in the sensor frame), column w/2
 * faces forward.
 */
#ifndef AVTRUTH_OUSTER_H
#define AVTRUTH_OUSTER_H

#define AVT_OUSTER_LIDAR_PORT 7502
#define AVT_OUSTER_IMU_PORT 7503
/* IMU data packet (Sensor Docs "IMU Data Format"): 48 bytes, kept out of the point stream. */
#define AVT_OUSTER_IMU_PAYLOAD 48
#define AVT_OUSTER_MAX_BEAMS 128      /* pixels_per_column of the largest sensors */
#define AVT_OUSTER_MAX_COLUMNS 4096   /* columns_per_frame of lidar_mode 4096x5 */
#define AVT_OUSTER_MAX_COLS_PER_PACKET 16

/* udp_profile_lidar values we decode (Sensor Docs "Lidar Data Format"; ouster-sdk's
 * packet-format table, ingest/ouster.c). */
enum avt_ouster_profile {
    AVT_OUSTER_LEGACY = 0,                 /* firmware 1.x/2.0 layout, default before 2.2 */
    AVT_OUSTER_RNG19_RFL8_SIG16_NIR16 = 1, /* single return, 12-byte pixels */
    AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_DUAL = 2, /* two returns, 16-byte pixels */
    AVT_OUSTER_RNG15_RFL8_NIR8 = 3,        /* low bandwidth, 4-byte pixels, 8 mm range unit */
    AVT_OUSTER_FIVE_WORD_PIXEL = 4,        /* two returns, 20-byte pixels */
    AVT_OUSTER_FUSA_RNG15_RFL8_NIR8_DUAL = 5, /* two 8 mm returns, 8-byte pixels, FuSa header */
    AVT_OUSTER_RNG15_RFL8_NIR8_DUAL = 6,   /* the same pixels, standard header */
    AVT_OUSTER_RNG15_RFL8_NIR8_ZONE16 = 7, /* RNG15 pixels + zone mask, 8 bytes */
    AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_ZONE16 = 8, /* RNG19 pixels with a zone mask, 12 bytes */
    AVT_OUSTER_RNG15_RFL8_WIN8 = 9,        /* RNG15 pixels with a window byte for NIR */
    AVT_OUSTER_PROFILES = 10
};

#endif
