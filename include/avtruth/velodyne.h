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


/* Other models (manual sections cited in ingest/velodyne.c): elevations in firing order,
 * azimuth offsets added to the block azimuth. */
/* HDL-32E manual (63-9113), appendix "HDL-32E vertical angles": firing order. */
static const double AVT_HDL32E_ELEVATION_DEG[32] = {
    -30.67, -9.33, -29.33, -8.00, -28.00, -6.67, -26.67, -5.33, -25.33, -4.00, -24.00,
    -2.67,  -22.67, -1.33, -21.33, 0.00,  -20.00, 1.33,  -18.67, 2.67,  -17.33, 4.00,
    -16.00, 5.33,  -14.67, 6.67,  -13.33, 8.00,  -12.00, 9.33,  -10.67, 10.67};

/* VLP-32C manual Table 9-5 (firing order) and its azimuth offsets (Table 9-6, as also in the
 * VeloView calibration shipped with the ROS driver: rot_correction = -offset). */
static const double AVT_VLP32C_ELEVATION_DEG[32] = {
    -25.0, -1.0,   -1.667, -15.639, -11.31, 0.0,   -0.667, -8.843, -7.254, 0.333,  -0.333,
    -6.148, -5.333, 1.333,  0.667,  -4.0,   -4.667, 1.667, 1.0,    -3.667, -3.333, 3.333,
    2.333,  -2.667, -3.0,   7.0,    4.667,  -2.333, -2.0,  15.0,   10.333, -1.333};
static const double AVT_VLP32C_AZIMUTH_OFFSET_DEG[32] = {
    1.4, -4.2, 1.4, -1.4, 1.4, -1.4, 4.2, -1.4, 1.4, -4.2, 1.4, -1.4, 4.2, -1.4, 4.2, -1.4,
    1.4, -4.2, 1.4, -4.2, 4.2, -1.4, 1.4, -1.4, 1.4, -1.4, 1.4, -4.2, 4.2, -1.4, 1.4, -1.4};

/* Puck Hi-Res manual, 9.1: -10 deg + 4/3 deg x rank, firing order as the VLP-16's (the
 * manual prints two decimals; VeloView's and the ROS driver's Hi-Res calibrations carry the
 * exact thirds, and no vertical correction). */
#define AVT_T3_(k) (-10.0 + (k) * 4.0 / 3.0)
static const double AVT_PUCK_HIRES_ELEVATION_DEG[16] = {AVT_T3_(0), AVT_T3_(8),  AVT_T3_(1), AVT_T3_(9),  AVT_T3_(2), AVT_T3_(10),
                                                    AVT_T3_(3), AVT_T3_(11), AVT_T3_(4), AVT_T3_(12), AVT_T3_(5), AVT_T3_(13),
                                                    AVT_T3_(6), AVT_T3_(14), AVT_T3_(7), AVT_T3_(15)};
#undef AVT_T3_

/* VLS-128 manual, table "VLS-128 laser angles": elevation and azimuth offset per laser. */
static const double AVT_VLS128_ELEVATION_DEG[128] = {
    -11.742, -1.990, 3.400, -5.290, -0.780, 4.610, -4.080, 1.310,
    -6.500, -1.110, 4.280, -4.410, 0.100, 6.480, -3.200, 2.190,
    -3.860, 1.530, -9.244, -1.770, 2.740, -5.950, -0.560, 4.830,
    -2.980, 2.410, -6.280, -0.890, 3.620, -5.070, 0.320, 7.580,
    -0.340, 5.180, -3.640, 1.750, -25.000, -2.430, 2.960, -5.730,
    0.540, 9.700, -2.760, 2.630, -7.650, -1.550, 3.840, -4.850,
    3.180, -5.510, -0.120, 5.730, -4.300, 1.090, -16.042, -2.210,
    4.060, -4.630, 0.760, 15.000, -3.420, 1.970, -6.850, -1.330,
    -5.620, -0.230, 5.430, -3.530, 0.980, -19.582, -2.320, 3.070,
    -4.740, 0.650, 11.750, -2.650, 1.860, -7.150, -1.440, 3.950,
    -2.100, 3.290, -5.400, -0.010, 4.500, -4.190, 1.200, -13.565,
    -1.220, 4.170, -4.520, 0.870, 6.080, -3.310, 2.080, -6.650,
    1.420, -10.346, -1.880, 3.510, -6.060, -0.670, 4.720, -3.970,
    2.300, -6.390, -1.000, 4.390, -5.180, 0.210, 6.980, -3.090,
    4.980, -3.750, 1.640, -8.352, -2.540, 2.850, -5.840, -0.450,
    8.430, -2.870, 2.520, -6.170, -1.660, 3.730, -4.960, 0.430,
};
static const double AVT_VLS128_AZIMUTH_OFFSET_DEG[128] = {
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
    6.354, 4.548, 2.732, 0.911, -0.911, -2.732, -4.548, -6.354,
};

/* Firing timing of the other models, ns: HDL-32E 1.152 us x 32 + recharge = 46.08 us per
 * block; VLP-32C pairs 2.304 us apart, 55.296 us per block; VLS-128 groups of 8 lasers at
 * 2.665 us x (g + g / 8), 53.3 us per sequence, the packet timestamp 8.7 us after the first
 * firing; distance units 2 mm (HDL-32E) and 4 mm (VLP-32C, VLS-128). */
#define AVT_HDL32E_FIRING_NS 1152
#define AVT_HDL32E_SEQUENCE_NS 46080
#define AVT_VLP32C_SEQUENCE_NS 55296
#define AVT_VLS128_GROUP_NS 2665
#define AVT_VLS128_SEQUENCE_NS 53300
#define AVT_VLS128_TOH_OFFSET_NS (-8700)

/* HDL-64E S2 manual (63-HDL64ES2) and S3 manual (63-HDL64ES3), appendix "Laser firing time
 * table": the upper (FF EE) and lower (FF DD) block of a firing fire together; within a
 * block the 32 lasers fire in 8 groups of 4, a group every sequence / 8, the 4 lasers of a
 * group at these offsets (ns). S2: 48 us per firing sequence, S3: 57.6 us. */
#define AVT_HDL64E_S2_SEQUENCE_NS 48000
#define AVT_HDL64E_S3_SEQUENCE_NS 57600
static const int32_t AVT_HDL64E_S2_GROUP_FIRE_NS[4] = {0, 1260, 2460, 3660};
static const int32_t AVT_HDL64E_S3_GROUP_FIRE_NS[4] = {0, 1300, 2500, 3700};

#endif
