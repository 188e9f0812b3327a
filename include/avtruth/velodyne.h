/* Velodyne laser geometry and firing timing, from the vendors' user manuals.
 *
 * Frame convention (used by every decoder output and by the synthetic generator): x forward,
 * y left, z up, as in the ROS velodyne driver and velodyne_decoder. The manuals' own frame has
 * y forward and x right; ours is that frame rotated by +90 degrees about z. A packet azimuth
 * `az` (0.01 degree units, clockwise seen from above, 0 = +x) and elevation `w` give
 *   x = d cos(w) cos(az),  y = -d cos(w) sin(az),  z = d sin(w) + vert_offset_m.
 */
#ifndef AVTRUTH_VELODYNE_H
#define AVTRUTH_VELODYNE_H

#include <stdint.h>

/* VLP-16 User Manual (63-9243 Rev. E), section 9.1 "Laser ID, vertical angle and vertical
 * correction": laser (firing order) -> elevation in degrees, and vertical correction in mm. */
static const double AVT_VLP16_ELEVATION_DEG[16] = {-15, 1, -13, 3, -11, 5, -9, 7,
                                                   -7,  9, -5,  11, -3, 13, -1, 15};
static const double AVT_VLP16_VERT_OFFSET_MM[16] = {11.2, -0.7, 9.7, -2.2, 8.1, -3.7, 6.6, -5.1,
                                                    5.1,  -6.6, 3.7, -8.1, 2.2, -9.7, 0.7, -11.2};

/* VLP-16 data packet (manual section 9.3): 42-byte UDP header not included; payload is 1206
 * bytes = 12 blocks x 100 bytes + 4-byte timestamp + return mode byte + product id byte.
 * Block: 0xFFEE flag (bytes FF EE), azimuth u16 LE in 0.01 deg, 32 channels x (distance u16 LE
 * in 2 mm, reflectivity u8): two firing sequences of 16 lasers. */
#define AVT_VLP16_PAYLOAD 1206
#define AVT_VLP16_BLOCKS 12
#define AVT_VLP16_DIST_UNIT_M 0.002
/* Firing timing (manual section 9.5): 2.304 us between lasers, 55.296 us per firing sequence
 * (16 firings + 18.432 us recharge); two sequences per block. Exact in integer nanoseconds. */
#define AVT_VLP16_FIRING_NS 2304
#define AVT_VLP16_SEQUENCE_NS 55296
#define AVT_VELODYNE_DATA_PORT 2368
#define AVT_VELODYNE_POSITION_PORT 8308
/* Factory bytes (payload offsets 1204, 1205). */
#define AVT_VELODYNE_MODE_STRONGEST 0x37
#define AVT_VELODYNE_MODE_LAST 0x38
#define AVT_VELODYNE_MODE_DUAL 0x39
#define AVT_VELODYNE_PRODUCT_HDL32E 0x21
#define AVT_VELODYNE_PRODUCT_VLP16 0x22
#define AVT_VELODYNE_PRODUCT_PUCK_HIRES 0x24
#define AVT_VELODYNE_PRODUCT_VLP32C 0x28
#define AVT_VELODYNE_PRODUCT_VLS128 0xA1
/* Position packet (manual section 9.4): 512-byte payload; the NMEA $GPRMC sentence starts at
 * payload offset 206 (72 bytes, NUL padded); the timestamp (us past the hour) at offset 198. */
#define AVT_VELODYNE_POSITION_PAYLOAD 512
#define AVT_VELODYNE_POSITION_TOH_OFFSET 198
#define AVT_VELODYNE_POSITION_NMEA_OFFSET 206

#endif
