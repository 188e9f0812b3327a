/* Ouster OS-0/OS-1/OS-2 lidar packets and sensor metadata: checks, frame batching, XYZ.
 *
 * Specs: Ouster Sensor Docs (firmware user manual v2.x/v3.x), section "Sensor Data":
 *   "Lidar Data Format" > "Legacy Data Packet Format" (firmware 1.x/2.0 default),
 *   "Configurable Data Packet Format" > "RNG19_RFL8_SIG16_NIR16", "..._DUAL",
 *   "RNG15_RFL8_NIR8" (firmware 2.2+), "IMU Data Format" (48-byte packets on UDP 7503),
 *   "Coordinate Frames and XYZ Calculation" (lidar vs sensor frame, beam origin offset),
 *   and "Sensor Metadata" (the JSON returned by get_metadata / saved next to captures);
 *   for firmware 1.x the OS-1 Software User Manual v1.13 section 9 "Lidar Data Format".
 * All multi-byte fields are little-endian. The profiles and their pixel fields are those of
 * ouster-sdk's packet-format table (ouster_client/src/parsing.cpp: LEGACY_FIELD_INFO,
 * SINGLE_FIELD_INFO, DUAL_FIELD_INFO, LB_FIELD_INFO, FIVE_WORD_PIXEL_INFO,
 * DUAL_LB_FIELD_INFO (FUSA_RNG15_RFL8_NIR8_DUAL and RNG15_RFL8_NIR8_DUAL), ZM_LB_FIELD_INFO,
 * ZM_SINGLE_FIELD_INFO, LB_WINDOW_FIELD_INFO and the `profiles` table with each pixel's size;
 * field_info(bit_start, bits, upshift)); OFF carries no pixels and is refused. Only the range
 * and reflectivity of each return are decoded (PROFILES below).
 *
 * Legacy packet: cpp (16) column blocks, no packet header or footer:
 *
 *   +------------------------------------------------------------------------------------+
 *   | timestamp u64 ns | measurement id u16 | frame id u16 | encoder count u32  (16 B)    |
 *   +------------------------------------------------------------------------------------+
 *   | pixel 0 .. h-1, 12 B each:                                                          |
 *   |   range u32 (bits 0-19, mm) | reflectivity u16 | signal u16 | NIR u16 | unused u16 |
 *   +------------------------------------------------------------------------------------+
 *   | status u32: 0xFFFFFFFF = valid, 0 = column not measured (bit 0 is used)   (4 B)    |
 *   +------------------------------------------------------------------------------------+
 *
 * Configurable packet (udp_profile_lidar other than LEGACY):
 *
 *   packet header, 32 B (FuSa header, lidar_data_format.header_type "FUSA" or the FUSA profile
 *   without one: type u8 | init id u24 | frame id u32 | alerts u8 | 2 B | serial no. u40 at
 *   byte 11 | countdowns; ouster-sdk parsing.cpp, packet_format::Impl "fusa" branch):
 *   +--------------+-------------+----------------+----------------+-------------------+
 *   | type u16 (1) | frame id u16| init id u24    | serial no. u40 | alerts, countdowns|
 *   +--------------+-------------+----------------+----------------+-------------------+
 *   (a serial number other than the metadata's prod_sn, both non-zero: another unit's packet)
 *   cpp columns, each:
 *   +----------------------------+---------------------+-------------------------------+
 *   | timestamp u64 ns           | measurement id u16  | status u16 (bit 0 = valid)    |
 *   +----------------------------+---------------------+-------------------------------+
 *   | h pixels:                                                                        |
 *   |  RNG19_RFL8_SIG16_NIR16 (12 B): range u32 bits 0-18 mm | refl u8 | - | signal u16 |
 *   |                                 | NIR u16 | unused u16                              |
 *   |  ..._DUAL (16 B): range1 bits 0-18, refl1 byte 3 | range2 bits 0-18, refl2 byte 7 |
 *   |                   | signal1 u16 | signal2 u16 | NIR u16 | unused u16              |
 *   |  RNG15_RFL8_NIR8 (4 B): range u16 bits 0-14 in 8 mm | refl u8 | NIR u8 (x16)      |
 *   |  FIVE_WORD_PIXEL (20 B): the DUAL layout, then a fifth word                      |
 *   |  FUSA_RNG15_RFL8_NIR8_DUAL, RNG15_RFL8_NIR8_DUAL (8 B): range1 u16 bits 0-14 in   |
 *   |      8 mm | refl1 u8 | NIR u8 | range2 u16 bits 0-14 | refl2 u8 | window u8       |
 *   |  RNG15_RFL8_NIR8_ZONE16 (8 B): the RNG15 word | zone mask u16 | 2 B                |
 *   |  RNG19_RFL8_SIG16_NIR16_ZONE16 (12 B): the RNG19 layout, zone mask u16 at byte 10 |
 *   |  RNG15_RFL8_WIN8 (4 B): range u16 bits 0-14 in 8 mm | refl u8 | window u8         |
 *   +----------------------------------------------------------------------------------+
 *   packet footer, 32 B (reserved)
 *
 * XYZ (section "Coordinate Frames and XYZ Calculation"; ouster-sdk make_xyz_lut computes the
 * same): for beam u and measurement id v of w columns, encoder angle te = 2 pi (1 - v/w),
 * beam azimuth ta = -azimuth_deg[u], altitude phi = altitude_deg[u]; unit direction
 * d = (cos(te+ta) cos(phi), sin(te+ta) cos(phi), sin(phi)); the beam origin sits n =
 * lidar_origin_to_beam_origin_mm off the axis (n = |(B03, B23)| when beam_to_lidar_transform
 * has a z offset), so in the lidar frame p = r d + (B03 cos te - n dx, B03 sin te - n dy,
 * B23 - n dz); the lidar_to_sensor_transform then takes p to the sensor frame (the frame we
 * output, see avtruth/ouster.h). r is the range in mm as reported; r = 0 means no return.
 *
 * Frames: a sweep is one frame id. Packets are batched by frame id with a reordering window
 * of two frames: a frame is released when all packets of its column window are in, or when a
 * packet of a frame two or more ids later arrives, or at the end of the capture; packets of a
 * frame already released are dropped as late. Columns are placed by their own measurement id.
 *
 * Time: each point gets its column's timestamp. Sensor clocks in TIME_FROM_INTERNAL_OSC mode
 * count from power-on; a timestamp before 2000-01-01 is taken as such and moved to the epoch
 * with one offset per reader: the capture time of the first lidar packet minus the timestamp
 * of its last column (a packet is sent after its last column is measured). Timestamps from
 * PTP or GPS (after 2000) are used as they are. A sweep's timestamp_ns is the time of column
 * w/2, the one facing forward (+x of the sensor frame) - the Velodyne definition "head faces
 * cut + 180" with the frame cut behind the vehicle at column 0; if that column is missing the
 * middle of [start_ns, end_ns]. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ingest_private.h"

#define LEGACY_COL_HEADER 16
#define LEGACY_COL_FOOTER 4
#define PKT_HEADER 32
#define PKT_FOOTER 32
#define COL_HEADER 12
#define EPOCH_2000_NS 946684800000000000LL
#define LATE_WINDOW 8 /* frame ids this far behind the last released one are late, not a restart */

/* Where each profile keeps the range and reflectivity of return k in a pixel: the range in
 * the little-endian u32 at byte range_at[k], bits range_mask, times 2^range_shift mm; the
 * reflectivity in refl_bytes bytes at refl_at[k]. Indexed by enum avt_ouster_profile. */
static const struct os_profile {
    const char *name;
    int profile;
    size_t px_bytes;
    int returns;
    uint8_t range_at[2];
    uint32_t range_mask;
    uint8_t range_shift;
    uint8_t refl_at[2];
    uint8_t refl_bytes;
} PROFILES[AVT_OUSTER_PROFILES] = {
    {"LEGACY", AVT_OUSTER_LEGACY, 12, 1, {0, 0}, 0xFFFFF, 0, {4, 4}, 2},
    {"RNG19_RFL8_SIG16_NIR16", AVT_OUSTER_RNG19_RFL8_SIG16_NIR16, 12, 1, {0, 0}, 0x7FFFF, 0, {4, 4}, 1},
    {"RNG19_RFL8_SIG16_NIR16_DUAL", AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_DUAL, 16, 2, {0, 4}, 0x7FFFF, 0, {3, 7}, 1},
    {"RNG15_RFL8_NIR8", AVT_OUSTER_RNG15_RFL8_NIR8, 4, 1, {0, 0}, 0x7FFF, 3, {2, 2}, 1},
    {"FIVE_WORD_PIXEL", AVT_OUSTER_FIVE_WORD_PIXEL, 20, 2, {0, 4}, 0x7FFFF, 0, {3, 7}, 1},
    {"FUSA_RNG15_RFL8_NIR8_DUAL", AVT_OUSTER_FUSA_RNG15_RFL8_NIR8_DUAL, 8, 2, {0, 4}, 0x7FFF, 3, {2, 6}, 1},
    {"RNG15_RFL8_NIR8_DUAL", AVT_OUSTER_RNG15_RFL8_NIR8_DUAL, 8, 2, {0, 4}, 0x7FFF, 3, {2, 6}, 1},
    {"RNG15_RFL8_NIR8_ZONE16", AVT_OUSTER_RNG15_RFL8_NIR8_ZONE16, 8, 1, {0, 0}, 0x7FFF, 3, {2, 2}, 1},
    {"RNG19_RFL8_SIG16_NIR16_ZONE16", AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_ZONE16, 12, 1, {0, 0}, 0x7FFFF, 0, {4, 4}, 1},
    {"RNG15_RFL8_WIN8", AVT_OUSTER_RNG15_RFL8_WIN8, 4, 1, {0, 0}, 0x7FFF, 3, {2, 2}, 1},
};

static size_t px_bytes(int profile) { return PROFILES[profile].px_bytes; }
static int n_returns(int profile) { return PROFILES[profile].returns; }

static size_t col_bytes(int profile, int h)
{
    if (profile == AVT_OUSTER_LEGACY)
        return LEGACY_COL_HEADER + (size_t)h * px_bytes(profile) + LEGACY_COL_FOOTER;
    return COL_HEADER + (size_t)h * px_bytes(profile);
}

static size_t packet_size(int profile, int h, int cpp)
{
    size_t n = (size_t)cpp * col_bytes(profile, h);
    return profile == AVT_OUSTER_LEGACY ? n : n + PKT_HEADER + PKT_FOOTER;
}

size_t avt_ouster_packet_size(const avt_ouster_meta *m)
{
    return packet_size(m->profile, m->h, m->cols_per_packet);
}

int avt_ouster_size_plausible(size_t len)
{
    static const int beams[] = {16, 32, 64, 128};
    for (size_t p = 0; p < sizeof PROFILES / sizeof PROFILES[0]; p++)
        for (size_t b = 0; b < sizeof beams / sizeof beams[0]; b++)
            if (len == packet_size(PROFILES[p].profile, beams[b], 16)) return 1;
    return 0;
}

/* ---- metadata JSON ---- */

/* A key at the top level or inside one of its objects (firmware 3.x nests the 2.x keys in
 * beam_intrinsics, lidar_intrinsics, lidar_data_format, config_params, sensor_info; 2.x keeps
 * the format in data_format). */
static json_t *find_key(json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key), *child;
    const char *k;
    if (v) return v;
    json_object_foreach(root, k, child) {
        if (json_is_object(child) && (v = json_object_get(child, key))) return v;
    }
    return NULL;
}

/* Reads an array of finite numbers; *n gets its length (at most max). */
static int number_array(json_t *root, const char *key, double *out, size_t max, size_t *n,
                        const char *name, avt_error *err)
{
    json_t *a = find_key(root, key), *v;
    size_t i;
    *n = 0;
    if (!a) return AVT_NOTFOUND;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return avt_err(err, AVT_FORMAT, "%s: \"%s\" is not an array of 1..%zu numbers", name,
                       key, max);
    json_array_foreach(a, i, v) {
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return avt_err(err, AVT_FORMAT, "%s: \"%s\"[%zu] is not a finite number", name, key,
                           i);
        out[i] = json_number_value(v);
    }
    *n = json_array_size(a);
    return AVT_OK;
}

/* Reads an optional integer in [lo, hi]; leaves *out when the key is absent. */
static int int_field(json_t *root, const char *key, long long lo, long long hi, int *out,
                     const char *name, avt_error *err)
{
    json_t *v = find_key(root, key);
    if (!v) return AVT_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return avt_err(err, AVT_FORMAT, "%s: \"%s\" must be an integer in %lld..%lld", name, key,
                       lo, hi);
    *out = (int)json_integer_value(v);
    return AVT_OK;
}

int avt_ouster_meta_parse(const char *json, size_t len, const char *name, avt_ouster_meta *m,
                          avt_error *err)
{
    json_t *root = NULL, *v;
    json_error_t jerr;
    size_t n_alt = 0, n_az = 0, n = 0;
    double tmp[16];
    int rc = AVT_OK, port;

    memset(m, 0, sizeof *m);
    root = json_loadb(json, len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        rc = avt_err(err, AVT_FORMAT, "%s: line %d: not a JSON object: %s", name,
                     root ? 1 : jerr.line, root ? "top level is not an object" : jerr.text);
        goto out;
    }
    rc = number_array(root, "beam_altitude_angles", m->alt_deg, AVT_OUSTER_MAX_BEAMS, &n_alt,
                      name, err);
    if (rc == AVT_OK)
        rc = number_array(root, "beam_azimuth_angles", m->az_deg, AVT_OUSTER_MAX_BEAMS, &n_az,
                          name, err);
    if (rc == AVT_NOTFOUND) {
        rc = avt_err(err, AVT_FORMAT, "%s: no beam_altitude_angles/beam_azimuth_angles: not "
                     "Ouster sensor metadata", name);
        goto out;
    }
    if (rc != AVT_OK) goto out;
    if (n_alt != n_az) {
        rc = avt_err(err, AVT_FORMAT, "%s: %zu beam altitudes but %zu beam azimuths", name,
                     n_alt, n_az);
        goto out;
    }
    m->h = (int)n_alt;

    /* lidar_mode "WxF" gives the columns when data_format is absent (reduced/1.x JSON) */
    m->w = 0;
    v = find_key(root, "lidar_mode");
    if (v) {
        const char *s = json_string_value(v);
        char *end = NULL;
        long w = s ? strtol(s, &end, 10) : 0;
        if (!s || end == s || *end != 'x' || w < 16 || w > AVT_OUSTER_MAX_COLUMNS) {
            rc = avt_err(err, AVT_FORMAT, "%s: lidar_mode \"%s\" is not WIDTHxHZ", name,
                         s ? s : "(not a string)");
            goto out;
        }
        m->w = (int)w;
    }
    if ((rc = int_field(root, "columns_per_frame", 16, AVT_OUSTER_MAX_COLUMNS, &m->w, name,
                        err)) != AVT_OK)
        goto out;
    if (m->w == 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: neither lidar_mode nor columns_per_frame", name);
        goto out;
    }
    m->cols_per_packet = 16;
    if ((rc = int_field(root, "columns_per_packet", 1, AVT_OUSTER_MAX_COLS_PER_PACKET,
                        &m->cols_per_packet, name, err)) != AVT_OK)
        goto out;
    if (m->w % m->cols_per_packet) {
        rc = avt_err(err, AVT_FORMAT, "%s: columns_per_frame %d is not a multiple of "
                     "columns_per_packet %d", name, m->w, m->cols_per_packet);
        goto out;
    }
    int ppc = m->h;
    if ((rc = int_field(root, "pixels_per_column", 1, AVT_OUSTER_MAX_BEAMS, &ppc, name, err)) !=
        AVT_OK)
        goto out;
    if (ppc != m->h) {
        rc = avt_err(err, AVT_FORMAT, "%s: pixels_per_column %d but %d beam angles", name, ppc,
                     m->h);
        goto out;
    }
    m->col_lo = 0;
    m->col_hi = m->w - 1;
    rc = number_array(root, "column_window", tmp, 2, &n, name, err);
    if (rc == AVT_OK) {
        if (n != 2 || tmp[0] < 0 || tmp[1] < 0 || tmp[0] >= m->w || tmp[1] >= m->w ||
            tmp[0] != floor(tmp[0]) || tmp[1] != floor(tmp[1])) {
            rc = avt_err(err, AVT_FORMAT, "%s: column_window is not two column indices < %d",
                         name, m->w);
            goto out;
        }
        m->col_lo = (int)tmp[0];
        m->col_hi = (int)tmp[1];
    } else if (rc != AVT_NOTFOUND) {
        goto out;
    }

    m->profile = AVT_OUSTER_LEGACY;
    v = find_key(root, "udp_profile_lidar");
    if (v) {
        const char *s = json_string_value(v);
        int found = 0;
        for (size_t i = 0; s && i < sizeof PROFILES / sizeof PROFILES[0]; i++)
            if (strcmp(s, PROFILES[i].name) == 0) {
                m->profile = PROFILES[i].profile;
                found = 1;
            }
        if (!found) {
            char list[512] = "";
            for (size_t i = 0; i < sizeof PROFILES / sizeof PROFILES[0]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         PROFILES[i].name);
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: udp_profile_lidar \"%s\" not supported "
                         "(%s are%s)", name, s ? s : "(not a string)", list,
                         s && strcmp(s, "OFF") == 0 ? "; OFF sends no lidar data" : "");
            goto out;
        }
    } else {
        m->defaulted = 1;
    }
    /* header_type (firmware 3.x lidar_data_format): the FuSa header, which the FUSA profile
     * uses when the metadata does not say (ouster-sdk before header_type existed) */
    m->fusa_header = m->profile == AVT_OUSTER_FUSA_RNG15_RFL8_NIR8_DUAL;
    v = find_key(root, "header_type");
    if (v) {
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "FUSA") != 0 && strcmp(s, "STANDARD") != 0)) {
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: header_type \"%s\" not supported (STANDARD, "
                         "FUSA are)", name, s ? s : "(not a string)");
            goto out;
        }
        m->fusa_header = strcmp(s, "FUSA") == 0;
    }

    /* Beam origin: the SDK's default for a JSON without it is the OS-1's 12.163 mm. */
    memset(m->beam_to_lidar, 0, sizeof m->beam_to_lidar);
    m->beam_to_lidar[0] = m->beam_to_lidar[5] = m->beam_to_lidar[10] = m->beam_to_lidar[15] = 1;
    m->beam_to_lidar[3] = 12.163;
    rc = number_array(root, "beam_to_lidar_transform", tmp, 16, &n, name, err);
    if (rc == AVT_OK && n == 16) {
        memcpy(m->beam_to_lidar, tmp, sizeof tmp);
    } else if (rc == AVT_OK || rc != AVT_NOTFOUND) {
        if (rc == AVT_OK)
            rc = avt_err(err, AVT_FORMAT, "%s: beam_to_lidar_transform has %zu numbers, not 16",
                         name, n);
        goto out;
    } else {
        v = find_key(root, "lidar_origin_to_beam_origin_mm");
        if (v && !(json_is_number(v) && isfinite(json_number_value(v)))) {
            rc = avt_err(err, AVT_FORMAT, "%s: lidar_origin_to_beam_origin_mm is not a number",
                         name);
            goto out;
        }
        if (v) m->beam_to_lidar[3] = json_number_value(v);
        else m->defaulted = 1;
    }
    /* lidar_to_sensor_transform: the SDK's default is the OS-1's 180 deg about z, +36.18 mm */
    static const double L2S_DEFAULT[16] = {-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 36.18, 0, 0, 0, 1};
    memcpy(m->lidar_to_sensor, L2S_DEFAULT, sizeof L2S_DEFAULT);
    rc = number_array(root, "lidar_to_sensor_transform", tmp, 16, &n, name, err);
    if (rc == AVT_OK && n == 16) {
        memcpy(m->lidar_to_sensor, tmp, sizeof tmp);
    } else if (rc == AVT_OK || rc != AVT_NOTFOUND) {
        if (rc == AVT_OK)
            rc = avt_err(err, AVT_FORMAT, "%s: lidar_to_sensor_transform has %zu numbers, not "
                         "16", name, n);
        goto out;
    } else {
        m->defaulted = 1;
    }
    rc = AVT_OK;

    port = 0;
    if ((rc = int_field(root, "udp_port_lidar", 0, 65535, &port, name, err)) != AVT_OK) goto out;
    m->lidar_port = (uint16_t)port;
    port = 0;
    if ((rc = int_field(root, "udp_port_imu", 0, 65535, &port, name, err)) != AVT_OK) goto out;
    m->imu_port = (uint16_t)port;
    v = find_key(root, "prod_line");
    snprintf(m->prod_line, sizeof m->prod_line, "%s",
             json_is_string(v) ? json_string_value(v) : "");
    /* a string of digits (2.x, 3.x) or a number; the packet header has 40 bits for it */
    v = find_key(root, "prod_sn");
    if (v) {
        const char *sn = json_is_string(v) ? json_string_value(v) : "";
        char *end = NULL;
        unsigned long long x = json_is_integer(v) ? (unsigned long long)json_integer_value(v)
                                                  : strtoull(sn, &end, 10);
        if ((json_is_string(v) && (!*sn || *end || !isdigit((unsigned char)*sn))) ||
            (json_is_integer(v) && json_integer_value(v) < 0) ||
            (!json_is_string(v) && !json_is_integer(v)) || x >= (1ULL << 40)) {
            rc = avt_err(err, AVT_FORMAT, "%s: \"prod_sn\" is not a serial number of at most "
                         "40 bits", name);
            goto out;
        }
        m->prod_sn = x;
    }
out:
    json_decref(root);
    return rc;
}

/* ---- packets ---- */

static inline uint16_t rd16(const uint8_t *q) { return (uint16_t)(q[0] | (q[1] << 8)); }
static inline uint32_t rd32(const uint8_t *q)
{
    return (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24);
}
static inline uint64_t rd64(const uint8_t *q) { return rd32(q) | ((uint64_t)rd32(q + 4) << 32); }

static const uint8_t *nth_col(const avt_ouster_meta *m, const uint8_t *p, int c)
{
    return p + (m->profile == AVT_OUSTER_LEGACY ? 0 : PKT_HEADER) +
           (size_t)c * col_bytes(m->profile, m->h);
}

int avt_ouster_check(const avt_ouster_meta *m, const uint8_t *p, size_t len, uint32_t *frame_id,
                     char *why, size_t why_n)
{
    const size_t want = avt_ouster_packet_size(m);
    if (len != want) {
        snprintf(why, why_n, "UDP payload %zu bytes, Ouster %s packets of %d beams are %zu", len,
                 PROFILES[m->profile].name, m->h, want);
        return AVT_FORMAT;
    }
    avt_cursor c = avt_cursor_make(p, len);
    if (m->profile == AVT_OUSTER_LEGACY) {
        c.pos = 10;
        *frame_id = avt_get_le16(&c);
    } else {
        /* standard: type u16 | frame id u16 | init id u24 | serial u40 at byte 7;
         * FuSa: type u8 | init id u24 | frame id u32 | alerts u8 | 2 B | serial u40 at 11 */
        const unsigned type = m->fusa_header ? avt_get_u8(&c) : avt_get_le16(&c);
        if (m->fusa_header) c.pos = 4;
        *frame_id = m->fusa_header ? avt_get_le32(&c) : avt_get_le16(&c);
        if (type != 1) {
            snprintf(why, why_n, "packet type %u, lidar data packets are 1", type);
            return AVT_FORMAT;
        }
        c.pos = m->fusa_header ? 11 : 7;
        const uint64_t sn = avt_get_le32(&c) | (uint64_t)avt_get_u8(&c) << 32;
        if (m->prod_sn && sn && sn != m->prod_sn) {
            snprintf(why, why_n, "serial number %llu, the metadata's %llu: another sensor's",
                     (unsigned long long)sn, (unsigned long long)m->prod_sn);
            return AVT_FORMAT;
        }
    }
    for (int k = 0; k < m->cols_per_packet; k++) {
        c.pos = (size_t)(nth_col(m, p, k) - p) + 8;
        uint16_t mid = avt_get_le16(&c);
        if (c.bad || mid >= m->w) {
            snprintf(why, why_n, "column %d measurement id %u >= columns_per_frame %d", k,
                     (unsigned)mid, m->w);
            return AVT_FORMAT;
        }
    }
    return AVT_OK;
}

/* ---- frame batcher ---- */

typedef struct os_frame {
    int used;
    uint32_t id;
    int npk;          /* packets stored */
    uint8_t *have;    /* [nslots] */
    uint8_t *pk;      /* [nslots * pkt_size] */
} os_frame;

struct avt_ouster_batcher {
    avt_ouster_meta m;
    size_t pkt_size, col_size;
    int nslots, nret, window_cols, window_packets;
    uint32_t raw_min, raw_max;   /* range filter, mm, inclusive */
    float *dir, *off;            /* [3 * w * h]: metres per mm of range, metres */
    uint8_t *in_window;          /* [w] */
    uint8_t *placed;             /* [w]: columns already decoded into the frame being emitted */
    uint8_t *slot_in_window;     /* [nslots] */
    os_frame fr[2];
    int have_newest, have_released, have_offset;
    uint32_t newest, last_released;
    int64_t offset_ns;
    avt_sweep sw;
    uint64_t next_index, columns_lost, measurements;
};

/* y - x for the frame ids of batcher bt: 16 bits, 32 with the FuSa header. */
static int fdiff(const avt_ouster_batcher *bt, uint32_t y, uint32_t x)
{
    return bt->m.fusa_header ? (int)(int32_t)(y - x) : (int)(int16_t)(uint16_t)(y - x);
}

void avt_ouster_batcher_free(avt_ouster_batcher *b)
{
    if (!b) return;
    for (int i = 0; i < 2; i++) {
        free(b->fr[i].have);
        free(b->fr[i].pk);
    }
    free(b->dir);
    free(b->off);
    free(b->in_window);
    free(b->placed);
    free(b->slot_in_window);
    avt_sweep_free_arrays(&b->sw);
    free(b);
}

/* The XYZ look-up table (file header), in double, stored as float. cos(te + ta) and
 * sin(te + ta) come from the angle-sum formulas over per-column and per-beam sines and
 * cosines: 2 (w + 2 h) calls to sin/cos instead of 6 w h (a reader opens in ~1 ms, not ~8). */
static void make_lut(avt_ouster_batcher *b)
{
    const avt_ouster_meta *m = &b->m;
    const double *B = m->beam_to_lidar, *T = m->lidar_to_sensor;
    const double b03 = B[3], b23 = B[11];
    const double nrm = b23 != 0 ? hypot(b03, b23) : b03;
    double cta[AVT_OUSTER_MAX_BEAMS], sta[AVT_OUSTER_MAX_BEAMS];
    double cphi[AVT_OUSTER_MAX_BEAMS], sphi[AVT_OUSTER_MAX_BEAMS];
    for (int u = 0; u < m->h; u++) {
        const double ta = -m->az_deg[u] * M_PI / 180.0, phi = m->alt_deg[u] * M_PI / 180.0;
        cta[u] = cos(ta), sta[u] = sin(ta), cphi[u] = cos(phi), sphi[u] = sin(phi);
    }
    for (int v = 0; v < m->w; v++) {
        const double te = 2.0 * M_PI * (1.0 - (double)v / m->w);
        const double cte = cos(te), ste = sin(te);
        for (int u = 0; u < m->h; u++) {
            const double c = cte * cta[u] - ste * sta[u], sn = ste * cta[u] + cte * sta[u];
            const double d[3] = {c * cphi[u], sn * cphi[u], sphi[u]};
            const double o[3] = {cte * b03 - d[0] * nrm, ste * b03 - d[1] * nrm,
                                 -d[2] * nrm + b23};
            const size_t k = 3 * ((size_t)v * m->h + u);
            for (int i = 0; i < 3; i++) {
                double rd = T[4 * i] * d[0] + T[4 * i + 1] * d[1] + T[4 * i + 2] * d[2];
                double ro = T[4 * i] * o[0] + T[4 * i + 1] * o[1] + T[4 * i + 2] * o[2] +
                            T[4 * i + 3];
                b->dir[k + i] = (float)(rd * 1e-3);
                b->off[k + i] = (float)(ro * 1e-3);
            }
        }
    }
}

avt_ouster_batcher *avt_ouster_batcher_new(const avt_ouster_meta *m, double min_range_m,
                                           double max_range_m, avt_error *err)
{
    avt_ouster_batcher *b = NULL;
    size_t lut_n = 0, pk_n = 0, pts = 0;
    int ok = 0;

    if (!(min_range_m >= 0) || !(max_range_m > min_range_m) || !isfinite(max_range_m)) {
        avt_err(err, AVT_INVAL, "lidar: range limits %g..%g m are not an interval", min_range_m,
                max_range_m);
        goto out;
    }
    b = calloc(1, sizeof *b);
    if (!b) goto nomem;
    b->m = *m;
    b->pkt_size = avt_ouster_packet_size(m);
    b->col_size = col_bytes(m->profile, m->h);
    b->nslots = m->w / m->cols_per_packet;
    b->nret = n_returns(m->profile);
    double lo = ceil(min_range_m * 1000.0 - 1e-9), hi = floor(max_range_m * 1000.0 + 1e-9);
    b->raw_min = lo < 1 ? 1 : (lo > 4e9 ? 4000000000u : (uint32_t)lo);
    b->raw_max = hi > 4e9 ? 4000000000u : (uint32_t)hi;

    b->in_window = calloc((size_t)m->w, 1);
    b->placed = calloc((size_t)m->w, 1);
    b->slot_in_window = calloc((size_t)b->nslots, 1);
    if (!b->in_window || !b->placed || !b->slot_in_window) goto nomem;
    for (int v = m->col_lo;; v = (v + 1) % m->w) {
        b->in_window[v] = 1;
        b->window_cols++;
        if (!b->slot_in_window[v / m->cols_per_packet]) b->window_packets++;
        b->slot_in_window[v / m->cols_per_packet] = 1;
        if (v == m->col_hi) break;
    }
    lut_n = 3 * (size_t)m->w * (size_t)m->h; /* <= 3 * 4096 * 128: no overflow */
    b->dir = malloc(lut_n * sizeof *b->dir);
    b->off = malloc(lut_n * sizeof *b->off);
    if (!b->dir || !b->off) goto nomem;
    make_lut(b);
    pk_n = (size_t)b->nslots * b->pkt_size;
    for (int i = 0; i < 2; i++) {
        b->fr[i].have = calloc((size_t)b->nslots, 1);
        b->fr[i].pk = malloc(pk_n);
        if (!b->fr[i].have || !b->fr[i].pk) goto nomem;
    }
    pts = (size_t)b->window_cols * (size_t)m->h * (size_t)b->nret;
    b->sw.xyz = malloc(3 * pts * sizeof(float));
    b->sw.intensity = malloc(pts * sizeof(float));
    b->sw.ring = malloc(pts * sizeof(uint16_t));
    b->sw.t_ns = malloc(pts * sizeof(int64_t));
    b->sw.return_type = malloc(pts);
    if (!b->sw.xyz || !b->sw.intensity || !b->sw.ring || !b->sw.t_ns || !b->sw.return_type)
        goto nomem;
    ok = 1;
    goto out;
nomem:
    avt_err(err, AVT_NOMEM, "lidar: out of memory for Ouster frames of %dx%d", m->w, m->h);
out:
    if (!ok) {
        avt_ouster_batcher_free(b);
        b = NULL;
    }
    return b;
}

avt_sweep *avt_ouster_batcher_sweep(avt_ouster_batcher *b) { return &b->sw; }
const avt_ouster_meta *avt_ouster_batcher_meta(const avt_ouster_batcher *b) { return &b->m; }
uint64_t avt_ouster_batcher_columns_lost(const avt_ouster_batcher *b) { return b->columns_lost; }
uint64_t avt_ouster_batcher_measurements(const avt_ouster_batcher *b) { return b->measurements; }

/* Range (mm) and reflectivity of return k of the pixel at q (profile a constant at each use). */
static inline __attribute__((always_inline)) void pixel(int profile, const uint8_t *q, int k,
                                                        uint32_t *r, uint32_t *refl)
{
    const struct os_profile *P = &PROFILES[profile]; /* folded: profile is a constant */
    *r = (rd32(q + P->range_at[k]) & P->range_mask) << P->range_shift;
    /* 16 bits in the legacy layout, reported as is */
    *refl = P->refl_bytes == 2 ? rd16(q + P->refl_at[k]) : q[P->refl_at[k]];
}

/* The sweep's arrays as restrict pointers: stores to them (the return type is a byte, which
 * may alias anything) then do not make the compiler reload the pointers or the tables. */
typedef struct os_out {
    float *restrict xyz, *restrict inten;
    uint16_t *restrict ring;
    int64_t *restrict t;
    uint8_t *restrict type;
} os_out;

/* Writes the point of beam u at range r at n and returns n + 1 if r passes the range filter,
 * else n: every pixel is written, and n moves on past the kept ones only (no branch to
 * mispredict on pixels without a return; the arrays hold a whole window, so n stays inside). */
static inline __attribute__((always_inline)) size_t
put_point(const avt_ouster_batcher *b, os_out o, const float *restrict dir,
          const float *restrict off, int u, uint32_t r, uint32_t refl, int64_t t_ns, uint8_t type,
          size_t n)
{
    const float d = (float)r;
    o.xyz[3 * n + 0] = d * dir[3 * u + 0] + off[3 * u + 0];
    o.xyz[3 * n + 1] = d * dir[3 * u + 1] + off[3 * u + 1];
    o.xyz[3 * n + 2] = d * dir[3 * u + 2] + off[3 * u + 2];
    o.inten[n] = (float)refl;
    o.ring[n] = (uint16_t)(b->m.h - 1 - u); /* beam 0 is the top beam */
    o.t[n] = t_ns;
    o.type[n] = type;
    return n + (r - b->raw_min <= b->raw_max - b->raw_min); /* r = 0 (no return) wraps */
}

#ifdef __SSE2__
/* Ranges (mm) and reflectivities of the four single-return pixels at q, as pixel() reads
 * them: RNG15 pixels are one 16-byte load; 12-byte pixels (legacy, RNG19) three, whose dwords
 * 0, 3, 6, 9 are the ranges and 1, 4, 7, 10 hold the reflectivities. */
static inline __attribute__((always_inline)) void pixels4(int profile, const uint8_t *q,
                                                          __m128i *r, __m128i *refl)
{
    if (PROFILES[profile].px_bytes == 4) { /* RNG15 pixels */
        const __m128i x = _mm_loadu_si128((const __m128i *)q);
        *r = _mm_slli_epi32(_mm_and_si128(x, _mm_set1_epi32(0x7FFF)), 3);
        *refl = _mm_and_si128(_mm_srli_epi32(x, 16), _mm_set1_epi32(0xFF));
        return;
    }
    const __m128i a = _mm_loadu_si128((const __m128i *)q);
    const __m128i b = _mm_loadu_si128((const __m128i *)(q + 16));
    const __m128i c = _mm_loadu_si128((const __m128i *)(q + 32));
    const __m128i rr = _mm_unpacklo_epi64(
        _mm_shuffle_epi32(a, _MM_SHUFFLE(3, 0, 3, 0)),
        _mm_unpacklo_epi32(_mm_shuffle_epi32(b, _MM_SHUFFLE(2, 2, 2, 2)),
                           _mm_shuffle_epi32(c, _MM_SHUFFLE(1, 1, 1, 1)))); /* a0 a3 b2 c1 */
    const __m128i ff = _mm_unpacklo_epi64(
        _mm_unpacklo_epi32(_mm_shuffle_epi32(a, _MM_SHUFFLE(1, 1, 1, 1)), b),
        _mm_unpacklo_epi32(_mm_shuffle_epi32(b, _MM_SHUFFLE(3, 3, 3, 3)),
                           _mm_shuffle_epi32(c, _MM_SHUFFLE(2, 2, 2, 2)))); /* a1 b0 b3 c2 */
    const int legacy = profile == AVT_OUSTER_LEGACY;
    *r = _mm_and_si128(rr, _mm_set1_epi32(legacy ? 0xFFFFF : 0x7FFFF));
    *refl = _mm_and_si128(ff, _mm_set1_epi32(legacy ? 0xFFFF : 0xFF));
}

/* Bit j set when range j passes the filter: r - lo <= span, unsigned (sign bits flipped for
 * SSE2's signed compare). */
static inline unsigned keep4(__m128i r, uint32_t lo, uint32_t span)
{
    const __m128i flip = _mm_set1_epi32((int)0x80000000u);
    const __m128i d = _mm_xor_si128(_mm_sub_epi32(r, _mm_set1_epi32((int)lo)), flip);
    const __m128i over = _mm_cmpgt_epi32(d, _mm_xor_si128(_mm_set1_epi32((int)span), flip));
    return ~(unsigned)_mm_movemask_ps(_mm_castsi128_ps(over)) & 15u;
}
#endif

/* Appends the points of one column's pixels. Inlined at each call site of emit_frame, where
 * the profile is a constant, so the pixel loop has no format branches. Single-return
 * profiles go four beams at a time (SSE2 where there is one): four without a return are
 * skipped, four with one are written with SSE2 (the same float multiplies and adds as
 * put_point, so the same bits), mixed ones through put_point. */
static inline __attribute__((always_inline)) size_t
put_column(const avt_ouster_batcher *b, const uint8_t *px0, int profile, int v, int64_t t_ns,
           avt_sweep *s, size_t n)
{
    const int h = b->m.h;
    const size_t pxb = px_bytes(profile);
    const int nr = n_returns(profile);
    const float *restrict dir = b->dir + 3 * (size_t)v * h;
    const float *restrict off = b->off + 3 * (size_t)v * h;
    const os_out o = {s->xyz, s->intensity, s->ring, s->t_ns, s->return_type};
    const uint32_t lo = b->raw_min, span = b->raw_max - b->raw_min;
    int u = 0;
#ifdef __SSE2__
    /* pixels4 reads the 4-byte (RNG15) and 12-byte (legacy, RNG19) layouts */
    if (nr == 1 && (pxb == 4 || pxb == 12))
#else
    if (nr == 1)
#endif
        for (; u + 4 <= h; u += 4) {
            uint32_t r[4], refl[4];
            const uint8_t *q = px0 + (size_t)u * pxb;
#ifdef __SSE2__
            __m128i rv, fv;
            pixels4(profile, q, &rv, &fv);
            const unsigned keep = keep4(rv, lo, span);
            if (keep == 0) continue;
            if (keep == 15) {
                const __m128 rf = _mm_cvtepi32_ps(rv); /* ranges < 2^20: exact */
                /* x0 y0 z0 x1 | y1 z1 x2 y2 | z2 x3 y3 z3 */
                const __m128 d0 = _mm_shuffle_ps(rf, rf, _MM_SHUFFLE(1, 0, 0, 0));
                const __m128 d1 = _mm_shuffle_ps(rf, rf, _MM_SHUFFLE(2, 2, 1, 1));
                const __m128 d2 = _mm_shuffle_ps(rf, rf, _MM_SHUFFLE(3, 3, 3, 2));
                const float *D = dir + 3 * u, *O = off + 3 * u;
                float *X = o.xyz + 3 * n;
                _mm_storeu_ps(X, _mm_add_ps(_mm_mul_ps(d0, _mm_loadu_ps(D)), _mm_loadu_ps(O)));
                _mm_storeu_ps(X + 4,
                              _mm_add_ps(_mm_mul_ps(d1, _mm_loadu_ps(D + 4)), _mm_loadu_ps(O + 4)));
                _mm_storeu_ps(X + 8,
                              _mm_add_ps(_mm_mul_ps(d2, _mm_loadu_ps(D + 8)), _mm_loadu_ps(O + 8)));
                _mm_storeu_ps(o.inten + n, _mm_cvtepi32_ps(fv));
                for (int j = 0; j < 4; j++) {
                    o.ring[n + j] = (uint16_t)(h - 1 - (u + j));
                    o.t[n + j] = t_ns;
                    o.type[n + j] = AVT_RETURN_STRONGEST;
                }
                n += 4;
                continue;
            }
            _mm_storeu_si128((__m128i *)r, rv);
            _mm_storeu_si128((__m128i *)refl, fv);
#else
            unsigned keep = 0;
            for (int j = 0; j < 4; j++) {
                pixel(profile, q + (size_t)j * pxb, 0, &r[j], &refl[j]);
                keep |= (unsigned)(r[j] - lo <= span) << j;
            }
            if (keep == 0) continue;
#endif
            for (int j = 0; j < 4; j++)
                n = put_point(b, o, dir, off, u + j, r[j], refl[j], t_ns, AVT_RETURN_STRONGEST, n);
        }
    for (; u < h; u++)
        for (int k = 0; k < nr; k++) {
            uint32_t r, refl;
            pixel(profile, px0 + (size_t)u * pxb, k, &r, &refl);
            n = put_point(b, o, dir, off, u, r, refl, t_ns,
                          k ? AVT_RETURN_SECOND : AVT_RETURN_STRONGEST, n);
        }
    return n;
}

/* Decodes a held frame into the sweep and frees its slot. */
static void emit_frame(avt_ouster_batcher *b, os_frame *f)
{
    const avt_ouster_meta *m = &b->m;
    avt_sweep *s = &b->sw;
    const int legacy = m->profile == AVT_OUSTER_LEGACY;
    int valid_cols = 0, in_window_pk = 0, have_t = 0, fwd = 0;

    s->n = 0;
    s->start_ns = s->end_ns = s->timestamp_ns = 0;
    memset(b->placed, 0, (size_t)m->w);
    for (int slot = 0; slot < b->nslots; slot++) {
        if (!f->have[slot]) continue;
        in_window_pk += b->slot_in_window[slot];
        const uint8_t *p = f->pk + (size_t)slot * b->pkt_size;
        for (int c = 0; c < m->cols_per_packet; c++) {
            const uint8_t *col = nth_col(m, p, c);
            const int v = rd16(col + 8); /* < w: avt_ouster_check */
            const int valid = legacy ? (rd32(col + LEGACY_COL_HEADER + (size_t)m->h * 12) & 1)
                                     : (rd16(col + 10) & 1);
            /* Each in-window column is decoded once per frame: packets may repeat or claim column
             * ids of other slots, and the sweep arrays hold exactly one frame's window. */
            if (!valid || !b->in_window[v] || b->placed[v]) continue;
            b->placed[v] = 1;
            /* unsigned: garbage timestamps wrap instead of overflowing */
            const int64_t t = (int64_t)(rd64(col) + (uint64_t)b->offset_ns);
            const uint8_t *px = col + (legacy ? LEGACY_COL_HEADER : COL_HEADER);
            valid_cols++;
            if (!have_t || t < s->start_ns) s->start_ns = t;
            if (!have_t || t > s->end_ns) s->end_ns = t;
            have_t = 1;
            if (v == m->w / 2) {
                s->timestamp_ns = t;
                fwd = 1;
            }
            /* one instance of put_column per profile, its table entry folded in */
#define PROFILE_CASE(p) \
    case p: s->n = put_column(b, px, p, v, t, s, s->n); break;
            switch (m->profile) {
                PROFILE_CASE(AVT_OUSTER_LEGACY)
                PROFILE_CASE(AVT_OUSTER_RNG19_RFL8_SIG16_NIR16)
                PROFILE_CASE(AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_DUAL)
                PROFILE_CASE(AVT_OUSTER_RNG15_RFL8_NIR8)
                PROFILE_CASE(AVT_OUSTER_FIVE_WORD_PIXEL)
                PROFILE_CASE(AVT_OUSTER_FUSA_RNG15_RFL8_NIR8_DUAL)
                PROFILE_CASE(AVT_OUSTER_RNG15_RFL8_NIR8_DUAL)
                PROFILE_CASE(AVT_OUSTER_RNG15_RFL8_NIR8_ZONE16)
                PROFILE_CASE(AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_ZONE16)
                PROFILE_CASE(AVT_OUSTER_RNG15_RFL8_WIN8)
            }
#undef PROFILE_CASE
        }
    }
    if (!fwd)
        s->timestamp_ns = (int64_t)((uint64_t)s->start_ns +
                                    ((uint64_t)s->end_ns - (uint64_t)s->start_ns) / 2);
    s->index = b->next_index++;
    s->packets = (uint32_t)f->npk;
    s->packets_lost = (uint32_t)(b->window_packets - in_window_pk);
    s->complete = valid_cols == b->window_cols;
    b->columns_lost += (uint64_t)(b->window_cols - valid_cols);
    b->measurements += (uint64_t)valid_cols * (uint64_t)m->h * (uint64_t)b->nret;
    b->have_released = 1;
    b->last_released = f->id;
    f->used = 0;
    f->npk = 0;
    memset(f->have, 0, (size_t)b->nslots);
}

int avt_ouster_batcher_release(avt_ouster_batcher *b, int at_end)
{
    os_frame *pick = NULL;
    for (int i = 0; i < 2; i++) {
        os_frame *f = &b->fr[i];
        if (!f->used) continue;
        int due = at_end || f->npk >= b->window_packets || fdiff(b, b->newest, f->id) >= 2;
        if (due && (!pick || fdiff(b, f->id, pick->id) < 0)) pick = f;
    }
    if (!pick) return 0;
    /* Frames leave in frame order: an older frame still held (a capture that starts part-way
     * through a frame, or packets lost) goes first, incomplete, before a due newer one. */
    for (int i = 0; i < 2; i++)
        if (b->fr[i].used && fdiff(b, b->fr[i].id, pick->id) < 0) pick = &b->fr[i];
    emit_frame(b, pick);
    return 1;
}

int avt_ouster_batcher_push(avt_ouster_batcher *b, const uint8_t *p, uint32_t frame_id,
                            int64_t rec_ns, int *late, int *dup)
{
    os_frame *f = NULL;
    int released = 0;
    *late = *dup = 0;

    for (int i = 0; i < 2; i++)
        if (b->fr[i].used && b->fr[i].id == frame_id) f = &b->fr[i];
    if (!f) {
        int behind = b->have_released ? fdiff(b, frame_id, b->last_released) : 1;
        if (behind <= 0 && behind >= -LATE_WINDOW) {
            *late = 1;
            return 0;
        }
        if (!b->have_newest || fdiff(b, frame_id, b->newest) > 0 || behind < -LATE_WINDOW) {
            b->newest = frame_id;
            b->have_newest = 1;
        }
        for (int i = 0; i < 2 && !f; i++)
            if (!b->fr[i].used) f = &b->fr[i];
        if (!f) {
            /* both slots hold older frames: the oldest leaves the window now */
            os_frame *old = fdiff(b, b->fr[0].id, b->fr[1].id) < 0 ? &b->fr[0] : &b->fr[1];
            if (fdiff(b, frame_id, old->id) < 0) {
                *late = 1;
                return 0;
            }
            emit_frame(b, old);
            released = 1;
            f = old;
        }
        f->used = 1;
        f->id = frame_id;
    }
    const uint8_t *col0 = nth_col(&b->m, p, 0);
    const int slot = rd16(col0 + 8) / b->m.cols_per_packet;
    if (f->have[slot]) {
        *dup = 1;
        return released;
    }
    memcpy(f->pk + (size_t)slot * b->pkt_size, p, b->pkt_size);
    f->have[slot] = 1;
    f->npk++;
    if (!b->have_offset) {
        const int64_t t_last = (int64_t)rd64(nth_col(&b->m, p, b->m.cols_per_packet - 1));
        b->offset_ns =
            t_last >= EPOCH_2000_NS ? 0 : (int64_t)((uint64_t)rec_ns - (uint64_t)t_last);
        b->have_offset = 1;
    }
    return released;
}
