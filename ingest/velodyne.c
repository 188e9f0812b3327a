/* Velodyne VLP-16, Puck Hi-Res, HDL-32E, VLP-32C, HDL-64E S2/S3 and VLS-128 (Alpha Prime)
 * data and position packets: checks and decoding.
 *
 * Specs (Velodyne user manuals; section numbers of the VLP-16 manual 63-9243 Rev. E, the
 * VLP-32C manual 63-9325 Rev. B and the Puck Hi-Res manual 63-9318 have the same layout):
 *   9.1   laser ID -> elevation (and, VLP-16 only, vertical correction in mm); Puck Hi-Res:
 *         -10..+10 deg in 4/3 deg steps, same firing order as the VLP-16
 *   9.2   spherical -> x, y, z (frame: see avtruth/velodyne.h; ours is the manual's rotated
 *         by +90 deg about z)
 *   9.3.1.7 factory bytes: return mode 0x37 strongest, 0x38 last, 0x39 dual; product ID
 *         (0x21 HDL-32E, 0x22 VLP-16, 0x24 Puck Hi-Res, 0x28 VLP-32C, 0xA1 VLS-128)
 *   9.3.2 data packet structure, 9.3.3 position packet structure
 *   9.4   point timing: VLP-16 fires 16 lasers every 55.296 us, 2.304 us apart, two firing
 *         sequences per block; VLP-32C fires 16 pairs every 55.296 us, one sequence per block;
 *         HDL-32E manual (63-9113), appendix "laser firing sequence": 32 lasers 1.152 us apart,
 *         46.080 us per block. The packet timestamp is the time of its first firing.
 *   9.5   precision azimuth: the block azimuth is that of the block's first firing; later
 *         firings are interpolated with the rotation rate.
 *   VLP-32C manual Table 9-5 (elevations in firing order) and 9.5/Table 9-6 azimuth offsets.
 *   HDL-64E S2 manual (63-HDL64ES2), HDL-64E S3 manual (63-HDL64ES3), "Packet format" and
 *         appendix "Laser firing time table": upper block (FF EE, lasers 0-31) and lower block
 *         (FF DD, lasers 32-63) fire together, one upper + one lower block per firing; 6
 *         firings per packet, 3 in dual return (blocks 4k, 4k+1 strongest, 4k+2, 4k+3 last;
 *         the two pairs share their azimuth, which is how dual mode is recognised: bytes
 *         1204/1205 are status bytes, not mode/product). Within a block, lasers fire in
 *         groups of 4: S2 48 us per firing, 6 us per group, {0, 1.26, 2.46, 3.66} us within a
 *         group; S3 57.6 us, 7.2 us, {0, 1.3, 2.5, 3.7} us. No built-in geometry: every unit
 *         has its calibration (db.xml / ROS YAML, velodyne_calib.c).
 *   VLS-128 manual (63-9480 Rev. 3), "Data packet format" and "Firing timing": four blocks
 *         (banks FF EE, FF DD, FF CC, FF BB = lasers 0-31, 32-63, 64-95, 96-127) per firing
 *         sequence, 3 sequences per packet; dual return: one sequence, blocks (2b, 2b+1) =
 *         bank b last / strongest, blocks 8-11 padding. 8 lasers fire at once, firing group
 *         g = laser / 8 at 2.665 us x (g + g / 8) (a maintenance slot after group 7), 53.3 us
 *         per sequence, the packet timestamp 8.7 us after the first firing; distance unit
 *         4 mm; elevation / azimuth offset table "VLS-128 laser angles" (the same numbers as
 *         the ROS driver's VLS128.yaml).
 *
 * Calibrated geometry (ROS velodyne_pointcloud rawdata.cc, VeloView), with d = raw unit +
 * dist_correction, v = vert_correction, A = azimuth - rot_correction, h = horiz_offset,
 * o = vert_offset: in the manual's frame x_m = (d cos v - o sin v) sin A - h cos A,
 * y_m = (d cos v - o sin v) cos A + h sin A, z = d sin v + o cos v; ours is (y_m, -x_m, z).
 * The two-point x/y distance corrections (dist_correction_x/_y, HDL-64E S2 era) are read but
 * not applied: they give x and y different ranges, so the point leaves its laser's ray, and
 * the manuals' own xyz formulas do not use them. Intensities are kept as reported (the
 * focal-distance correction is read, not applied). The manual geometry of the built-in
 * models is the special case rot = -azimuth offset, h = 0, and z = d sin v + o (the VLP-16
 * manual's 9.2 formula with its vertical correction).
 *
 * Data packet, UDP payload of 1206 bytes (all multi-byte fields little-endian):
 *
 *   offset 0                                                           1200      1204 1205
 *   +----------+----------+-----+-----------+---------------------+------------+----+----+
 *   | block 0  | block 1  | ... | block 11  |                     | timestamp  |mode|prod|
 *   | 100 B    | 100 B    |     | 100 B     |                     | u32 us ToH | u8 | u8 |
 *   +----------+----------+-----+-----------+---------------------+------------+----+----+
 *   block: +------+------+-------------+-------------+-----+--------------+
 *          | FF EE|az u16| ch0 d u16,r | ch1 d u16,r | ... | ch31 d u16,r |   az in 0.01 deg
 *          +------+------+-------------+-------------+-----+--------------+   d in 2 mm (4 mm
 *   VLP-16: ch0..15 = sequence 0, ch16..31 = sequence 1 (azimuth of seq. 1 not sent).   VLP-32C,
 *   HDL-64E: FF EE upper / FF DD lower;  VLS-128: FF EE / DD / CC / BB banks.          VLS-128)
 *   Dual return: blocks (0,1), (2,3), ... share one azimuth and firing; the even block holds
 *   the last return, the odd one the strongest (second strongest when they coincide, so an
 *   equal distance in both blocks is one return: emitted once as AVT_RETURN_BOTH).
 *
 * Position packet, 512 bytes: timestamp u32 us past the hour at 198, NMEA $GPRMC sentence at
 * 206 (up to 72 bytes, NUL padded). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/velodyne.h"
#include "ingest_private.h"

/* The VLP-16 is the only one whose manual gives vertical offsets; the HDL-32E and VLP-32C
 * manuals compute z = R sin(w) (and the ROS driver's 32db.yaml / VeloView-VLP-32C.yaml carry
 * vert_offset_correction 0). */
static const avt_vlp_model MODELS[] = {
    {"vlp16", AVT_VELODYNE_PRODUCT_VLP16, AVT_VLP_LAYOUT_PUCK, AVT_VLP_TIMING_SEQUENTIAL, 16, 2,
     1, AVT_VLP16_SEQUENCE_NS, AVT_VLP16_FIRING_NS, 0, AVT_VLP16_DIST_UNIT_M,
     AVT_VLP16_ELEVATION_DEG, AVT_VLP16_VERT_OFFSET_MM, NULL},
    {"vlp16hires", AVT_VELODYNE_PRODUCT_PUCK_HIRES, AVT_VLP_LAYOUT_PUCK,
     AVT_VLP_TIMING_SEQUENTIAL, 16, 2, 1, AVT_VLP16_SEQUENCE_NS, AVT_VLP16_FIRING_NS, 0,
     AVT_VLP16_DIST_UNIT_M, AVT_PUCK_HIRES_ELEVATION_DEG, NULL, NULL},
    {"hdl32e", AVT_VELODYNE_PRODUCT_HDL32E, AVT_VLP_LAYOUT_PUCK, AVT_VLP_TIMING_SEQUENTIAL, 32,
     1, 1, AVT_HDL32E_SEQUENCE_NS, AVT_HDL32E_FIRING_NS, 0, 0.002, AVT_HDL32E_ELEVATION_DEG, NULL, NULL},
    {"vlp32c", AVT_VELODYNE_PRODUCT_VLP32C, AVT_VLP_LAYOUT_PUCK, AVT_VLP_TIMING_SEQUENTIAL, 32,
     1, 2, 55296, 2304, 0, 0.004, AVT_VLP32C_ELEVATION_DEG, NULL, AVT_VLP32C_AZIMUTH_OFFSET_DEG},
    {"hdl64e_s2", 0, AVT_VLP_LAYOUT_HDL64, AVT_VLP_TIMING_HDL64_S2, 64, 1, 1,
     AVT_HDL64E_S2_SEQUENCE_NS, 0, 0, 0.002, NULL, NULL, NULL},
    {"hdl64e_s3", 0, AVT_VLP_LAYOUT_HDL64, AVT_VLP_TIMING_HDL64_S3, 64, 1, 1,
     AVT_HDL64E_S3_SEQUENCE_NS, 0, 0, 0.002, NULL, NULL, NULL},
    {"hdl64e", 0, AVT_VLP_LAYOUT_HDL64, AVT_VLP_TIMING_HDL64_S3, 64, 1, 1,
     AVT_HDL64E_S3_SEQUENCE_NS, 0, 0, 0.002, NULL, NULL, NULL},
    {"vls128", AVT_VELODYNE_PRODUCT_VLS128, AVT_VLP_LAYOUT_VLS128, AVT_VLP_TIMING_VLS128, 128, 1,
     8, AVT_VLS128_SEQUENCE_NS, AVT_VLS128_GROUP_NS, AVT_VLS128_TOH_OFFSET_NS, 0.004, AVT_VLS128_ELEVATION_DEG, NULL, AVT_VLS128_AZIMUTH_OFFSET_DEG},
};
#define N_MODELS (sizeof MODELS / sizeof MODELS[0])

const char *avt_vlp_model_names(void)
{
    return "vlp16, vlp16hires, hdl32e, vlp32c, hdl64e (= hdl64e_s3), hdl64e_s2, hdl64e_s3, vls128";
}

const avt_vlp_model *avt_vlp_model_find(const char *name)
{
    if (!name) return NULL;
    if (strcmp(name, "alphaprime") == 0) name = "vls128"; /* same packets */
    for (size_t i = 0; i < N_MODELS; i++) {
        const char *a = MODELS[i].name, *b = name;
        while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b) ) {
            a++;
            b++;
        }
        if (!*a && !*b) return &MODELS[i];
    }
    return NULL;
}

const avt_vlp_model *avt_vlp_model_by_product(uint8_t product)
{
    for (size_t i = 0; i < N_MODELS; i++)
        if (MODELS[i].product && MODELS[i].product == product) return &MODELS[i];
    return NULL;
}

/* Firing time of laser l within its sequence (see the header for the tables). */
static int32_t laser_time_ns(const avt_vlp_model *m, int l)
{
    const int ch = l % 32, g = l / 8;
    const int32_t group_ns = m->seq_ns / 8 * (ch / 4); /* HDL-64E: 8 groups of 4 per block */
    switch (m->timing) {
    case AVT_VLP_TIMING_HDL64_S2: return group_ns + AVT_HDL64E_S2_GROUP_FIRE_NS[ch % 4];
    case AVT_VLP_TIMING_HDL64_S3: return group_ns + AVT_HDL64E_S3_GROUP_FIRE_NS[ch % 4];
    case AVT_VLP_TIMING_VLS128: return m->firing_ns * (g + g / 8);
    default: return (int32_t)(l / m->lasers_per_firing) * m->firing_ns;
    }
}

int avt_vlp_tables_init(avt_vlp_tables *t, const avt_vlp_model *m, const avt_vlp_calib *cal,
                        double min_range_m, double max_range_m, avt_error *err)
{
    double el[AVT_VLP_MAX_LASERS];
    memset(t, 0, sizeof *t);
    if (!(min_range_m >= 0) || !(max_range_m > min_range_m) || !isfinite(max_range_m))
        return avt_err(err, AVT_INVAL, "lidar: range limits %g..%g m are not an interval",
                       min_range_m, max_range_m);
    if (!cal && !m->elevation_deg)
        return avt_err(err, AVT_INVAL,
                       "lidar: model %s has no built-in geometry: a calibration file (db.xml or "
                       "the ROS driver's YAML) is needed (calibration_path)",
                       m->name);
    if (cal && cal->lasers != m->lasers)
        return avt_err(err, AVT_FORMAT, "lidar: the calibration has %d lasers, model %s has %d",
                       cal->lasers, m->name, m->lasers);
    t->m = m;
    const double deg = M_PI / 180.0, unit = m->dist_unit_m;
    for (int l = 0; l < m->lasers; l++) {
        double v, rot, dc = 0, vo, h = 0, rxy0, z0;
        if (cal) {
            const avt_vlp_laser_calib *c = &cal->laser[l];
            v = c->vert_rad;
            rot = c->rot_rad;
            dc = c->dist_m;
            vo = c->vert_offset_m;
            h = c->horiz_offset_m;
            rxy0 = dc * cos(v) - vo * sin(v);
            z0 = dc * sin(v) + vo * cos(v);
        } else {
            v = m->elevation_deg[l] * deg;
            rot = m->azimuth_offset_deg ? -m->azimuth_offset_deg[l] * deg : 0.0;
            vo = m->vert_offset_mm ? m->vert_offset_mm[l] * 1e-3 : 0.0;
            rxy0 = 0;
            z0 = vo;
        }
        el[l] = v;
        t->kxy[l] = (float)(cos(v) * unit);
        t->kz[l] = (float)(sin(v) * unit);
        t->rxy0[l] = (float)rxy0;
        t->z0[l] = (float)z0;
        t->horiz[l] = (float)h;
        t->cos_rot[l] = (float)cos(rot);
        t->sin_rot[l] = (float)sin(rot);
        t->rotated |= rot != 0 || h != 0;
        t->toff_ns[l] = laser_time_ns(m, l);
        if (t->toff_ns[l] > t->last_firing_ns) t->last_firing_ns = t->toff_ns[l];
        /* range filter on d = raw unit + dist_correction; raw 0 is "no return" */
        double lo = ceil((min_range_m - dc) / unit - 1e-9);
        double hi = floor((max_range_m - dc) / unit + 1e-9);
        t->raw_min[l] = lo < 1 ? 1 : (lo > 65536 ? 65536 : (uint32_t)lo);
        t->raw_max[l] = hi > 65535 ? 65535 : (hi < 0 ? 0 : (uint32_t)hi);
    }
    /* ring = rank of the elevation, ties by firing order (0 = lowest beam) */
    for (int l = 0; l < m->lasers; l++) {
        uint16_t rank = 0;
        for (int k = 0; k < m->lasers; k++)
            if (el[k] < el[l] || (el[k] == el[l] && k < l)) rank++;
        t->ring[l] = rank;
    }

    t->cos_az = malloc(36000 * sizeof *t->cos_az);
    t->sin_az = malloc(36000 * sizeof *t->sin_az);
    if (!t->cos_az || !t->sin_az) {
        avt_vlp_tables_free(t);
        return avt_err(err, AVT_NOMEM, "lidar: out of memory for azimuth tables");
    }
    /* one quarter wave of sin, the rest by symmetry: exact symmetry and 4x fewer sin calls
     * (readers are opened often in tests) */
    for (int a = 0; a <= 9000; a++) t->sin_az[a] = (float)sin(a * 0.01 * deg);
    for (int a = 9001; a <= 18000; a++) t->sin_az[a] = t->sin_az[18000 - a];
    for (int a = 18001; a < 36000; a++) t->sin_az[a] = -t->sin_az[a - 18000];
    for (int a = 0; a < 36000; a++) t->cos_az[a] = t->sin_az[(a + 9000) % 36000];
    return AVT_OK;
}

void avt_vlp_tables_free(avt_vlp_tables *t)
{
    if (!t) return;
    free(t->cos_az);
    free(t->sin_az);
    t->cos_az = t->sin_az = NULL;
}

static inline uint16_t rd16(const uint8_t *q) { return (uint16_t)(q[0] | (q[1] << 8)); }

int avt_vlp_is_dual(const avt_vlp_model *m, const uint8_t *p)
{
    if (m && m->layout == AVT_VLP_LAYOUT_HDL64) return rd16(p + 2) == rd16(p + 202);
    return p[1204] == AVT_VELODYNE_MODE_DUAL;
}

/* Bank of a block flag (second byte): EE 0, DD 1, CC 2, BB 3; -1 otherwise. */
static int bank_of(uint8_t b)
{
    switch (b) {
    case 0xEE: return 0;
    case 0xDD: return 1;
    case 0xCC: return 2;
    case 0xBB: return 3;
    default: return -1;
    }
}

/* The bank block b must have in the model's layout (-1: any bank, -2: padding). */
static int bank_expected(const avt_vlp_model *m, int dual, int b)
{
    if (!m) return -1;
    switch (m->layout) {
    case AVT_VLP_LAYOUT_HDL64: return b % 2;
    case AVT_VLP_LAYOUT_VLS128:
        if (dual) return b < 8 ? b / 2 : -2;
        return b % 4;
    default: return 0;
    }
}

int avt_vlp_check(const avt_vlp_model *m, const uint8_t *p, size_t len, char *why, size_t why_n)
{
    static const uint16_t FLAG[4] = {0xFFEE, 0xFFDD, 0xFFCC, 0xFFBB};
    if (len != AVT_VLP16_PAYLOAD) {
        snprintf(why, why_n, "UDP payload %zu bytes, Velodyne data packets are %d", len,
                 AVT_VLP16_PAYLOAD);
        return AVT_FORMAT;
    }
    /* a packet of another product than the model's: another sensor's (9.3.1.7; early VLP-16
     * firmware reports the HDL-32E's byte, see sweep.c) */
    if (m && m->product && p[1205] != m->product &&
        !(m->product == AVT_VELODYNE_PRODUCT_VLP16 && p[1205] == AVT_VELODYNE_PRODUCT_HDL32E)) {
        snprintf(why, why_n,
                 "product ID 0x%02X, the %s's is 0x%02X (another sensor's packet: set the "
                 "source address; or the wrong model)",
                 (unsigned)p[1205], m->name, (unsigned)m->product);
        return AVT_FORMAT;
    }
    if (!m) m = avt_vlp_model_by_product(p[1205]); /* its layout, when the byte names one */
    const int dual = avt_vlp_is_dual(m, p);
    avt_cursor c = avt_cursor_make(p, len);
    for (int b = 0; b < AVT_VLP16_BLOCKS; b++) {
        c.pos = (size_t)b * 100;
        uint16_t flag = avt_get_be16(&c);
        uint16_t az = avt_get_le16(&c);
        int want = bank_expected(m, dual, b);
        if (want == -2) continue;
        int bank = (flag >> 8) == 0xFF ? bank_of((uint8_t)flag) : -1;
        if (bank < 0 || (want >= 0 && bank != want)) {
            snprintf(why, why_n, "block %d flag 0x%04X, expected 0x%04X", b, (unsigned)flag,
                     (unsigned)FLAG[want < 0 ? 0 : want]);
            return AVT_FORMAT;
        }
        if (az >= 36000) {
            snprintf(why, why_n, "block %d azimuth %u >= 36000", b, (unsigned)az);
            return AVT_FORMAT;
        }
    }
    c.pos = 1200;
    uint32_t toh = avt_get_le32(&c);
    if (c.bad || toh >= AVT_TOH_LIMIT_US) {
        snprintf(why, why_n, "timestamp %u us is beyond one hour", (unsigned)toh);
        return AVT_FORMAT;
    }
    return AVT_OK;
}

/* Columns (firing sequences) of a packet. */
static int packet_cols(const avt_vlp_model *m, int dual)
{
    switch (m->layout) {
    case AVT_VLP_LAYOUT_HDL64: return dual ? 3 : 6;
    case AVT_VLP_LAYOUT_VLS128: return dual ? 1 : 3;
    default: return (dual ? AVT_VLP16_BLOCKS / 2 : AVT_VLP16_BLOCKS) * m->seq_per_block;
    }
}

int64_t avt_vlp_packet_duration_ns(const avt_vlp_model *m, const uint8_t *p)
{
    return (int64_t)packet_cols(m, avt_vlp_is_dual(m, p)) * m->seq_ns;
}

/* lround for |x| < 2^30 without the libm call (half away from zero, as lround). */
static inline int32_t round_i32(double x)
{
    return x >= 0 ? (int32_t)(x + 0.5) : -(int32_t)(-x + 0.5);
}

static inline int32_t wrap_cdeg(int32_t a)
{
    if (a >= 0 && a < 36000) return a; /* the common case, without a division */
    if (a >= 36000 && a < 72000) return a - 36000;
    if (a < 0 && a >= -36000) return a + 36000;
    a %= 36000;
    return a < 0 ? a + 36000 : a;
}

/* The point arrays of a packet being decoded, as restrict pointers: stores to them (the return
 * type is a byte, which may alias anything) then do not make the compiler reload the tables. */
typedef struct vlp_out {
    float *restrict xyz, *restrict intensity;
    uint16_t *restrict ring;
    int64_t *restrict t_ns;
    uint8_t *restrict type;
} vlp_out;

/* Appends one return if it passes the range filter. */
static inline __attribute__((always_inline)) int emit(const avt_vlp_tables *t, vlp_out o,
                                                      int idx, int l, int32_t az, uint32_t raw,
                                                      uint8_t refl, int64_t t_ns, uint8_t type,
                                                      int rotated)
{
    if (raw < t->raw_min[l] || raw > t->raw_max[l]) return idx;
    const int32_t a = wrap_cdeg(az);
    const float ca = t->cos_az[a], sa = t->sin_az[a];
    const float d = (float)raw;
    const float rxy = d * t->kxy[l] + t->rxy0[l];
    if (rotated) {
        /* A = az - rot: cos A = cos az cos rot + sin az sin rot, sin A = sin az cos rot - ... */
        const float cA = ca * t->cos_rot[l] + sa * t->sin_rot[l];
        const float sA = sa * t->cos_rot[l] - ca * t->sin_rot[l];
        const float h = t->horiz[l];
        o.xyz[3 * idx + 0] = rxy * cA + h * sA;
        o.xyz[3 * idx + 1] = -rxy * sA + h * cA;
    } else {
        o.xyz[3 * idx + 0] = rxy * ca;
        o.xyz[3 * idx + 1] = -rxy * sa;
    }
    o.xyz[3 * idx + 2] = d * t->kz[l] + t->z0[l];
    o.intensity[idx] = (float)refl;
    o.ring[idx] = t->ring[l];
    o.t_ns[idx] = t_ns;
    o.type[idx] = type;
    return idx + 1;
}

/* Where column col's returns are: laser l's 3 bytes at q1[l / 32] + 3 (l % 32) (and at q2[..]
 * for the other return in dual mode); returns the block holding the column's azimuth. With
 * q1 == NULL only that block is found. */
static inline const uint8_t *column_blocks(const avt_vlp_model *m, const uint8_t *p, int dual,
                                           int col, const uint8_t **q1, const uint8_t **q2)
{
    switch (m->layout) {
    case AVT_VLP_LAYOUT_HDL64: {
        /* single: blocks 2k (upper), 2k+1 (lower); dual: 4k, 4k+1 strongest, 4k+2, 4k+3 last
         * (the last return goes first, as in the other layouts) */
        const int b0 = dual ? 4 * col + 2 : 2 * col;
        if (q1)
            for (int h = 0; h < 2; h++) {
                q1[h] = p + 100 * (b0 + h) + 4;
                q2[h] = p + 100 * (b0 - 2 + h) + 4; /* only read in dual mode */
            }
        return p + 100 * (dual ? 4 * col : 2 * col);
    }
    case AVT_VLP_LAYOUT_VLS128:
        if (q1)
            for (int b = 0; b < 4; b++) {
                const int blk = dual ? 2 * b : 4 * col + b;
                q1[b] = p + 100 * blk + 4;
                q2[b] = p + 100 * (blk + 1) + 4; /* only read in dual mode */
            }
        return p + 100 * (dual ? 0 : 4 * col);
    default: {
        const int spb = m->seq_per_block, k = col / spb, s = col % spb;
        const int blk = dual ? 2 * k : k;
        if (q1) {
            q1[0] = p + 100 * blk + 4 + 3 * s * m->lasers;
            q2[0] = q1[0] + 100; /* only read in dual mode */
        }
        return p + 100 * blk;
    }
    }
}

/* The returns of one firing sequence: laser l's 3 bytes at q1[l / 32] + 3 (l % 32) (and the
 * same laser's strongest return at q2[..] in dual mode). nl, dual and rotated are constants
 * at each call site, so each variant's loop has no mode branches, and for the 16- and 32-laser
 * models a fixed trip count within one block. */
static inline __attribute__((always_inline)) int
emit_column(const avt_vlp_tables *t, vlp_out out, int idx, int nl, const uint8_t *const *q1,
            const uint8_t *const *q2, int32_t az_blk, const int32_t *adv, int64_t t_col,
            uint8_t single_type, int dual, int rotated)
{
    const int per_block = nl < 32 ? nl : 32;
    for (int b = 0; 32 * b < nl; b++) {
#pragma GCC unroll 32
        for (int k = 0; k < per_block; k++) {
            const int l = 32 * b + k;
            const int32_t az = az_blk + adv[l];
            const int64_t t_ns = t_col + t->toff_ns[l];
            const uint8_t *q = q1[b] + 3 * k;
            const uint32_t raw = rd16(q);
            if (!dual) {
                idx = emit(t, out, idx, l, az, raw, q[2], t_ns, single_type, rotated);
                continue;
            }
            const uint8_t *qs = q2[b] + 3 * k; /* the same laser's strongest return */
            const uint32_t raw2 = rd16(qs);
            if (raw == raw2) {
                idx = emit(t, out, idx, l, az, raw, q[2], t_ns, AVT_RETURN_BOTH, rotated);
            } else {
                idx = emit(t, out, idx, l, az, raw, q[2], t_ns, AVT_RETURN_LAST, rotated);
                idx = emit(t, out, idx, l, az, raw2, qs[2], t_ns, AVT_RETURN_STRONGEST, rotated);
            }
        }
    }
    return idx;
}

/* The packet's columns into o, from idx 0; returns the number of points. */
static inline __attribute__((always_inline)) int
emit_columns(const avt_vlp_tables *t, const uint8_t *p, int64_t pkt_ns, int ncols, int spb,
             int32_t (*adv)[AVT_VLP_MAX_LASERS], uint8_t single_type, avt_vlp_packet *o, int nl,
             int dual, int rotated)
{
    const avt_vlp_model *m = t->m;
    const vlp_out out = {o->xyz, o->intensity, o->ring, o->t_ns, o->return_type};
    const uint8_t *q1[4], *q2[4];
    int idx = 0;
    for (int col = 0; col < ncols; col++) {
        const int s = col % spb;
        const uint8_t *bp = column_blocks(m, p, dual, col, q1, q2);
        const int32_t az_blk = rd16(bp + 2);
        const int64_t t_col = pkt_ns + (int64_t)col * m->seq_ns + m->toh_offset_ns;
        o->col_ns[col] = t_col + t->toff_ns[0];
        o->col_end_ns[col] = t_col + t->last_firing_ns;
        o->col_az[col] = wrap_cdeg(az_blk + adv[s][0]);
        o->col_first[col] = (uint16_t)idx;
        idx = emit_column(t, out, idx, nl, q1, q2, az_blk, adv[s], t_col, single_type, dual,
                          rotated);
    }
    return idx;
}

/* emit_columns instantiated for each laser count of MODELS and the packet's mode and the
 * tables' geometry. */
#define VLP_COLUMNS(NL, DUAL, ROT)                                                              \
    static int columns_##NL##_##DUAL##_##ROT(const avt_vlp_tables *t, const uint8_t *p,        \
                                             int64_t pkt_ns, int ncols, int spb,               \
                                             int32_t (*adv)[AVT_VLP_MAX_LASERS],               \
                                             uint8_t single_type, avt_vlp_packet *o)           \
    {                                                                                           \
        return emit_columns(t, p, pkt_ns, ncols, spb, adv, single_type, o, NL, \
                            DUAL, ROT);                                                        \
    }
#define VLP_COLUMNS_MODES(NL) VLP_COLUMNS(NL, 0, 0) VLP_COLUMNS(NL, 0, 1) VLP_COLUMNS(NL, 1, 0) VLP_COLUMNS(NL, 1, 1)
VLP_COLUMNS_MODES(16)
VLP_COLUMNS_MODES(32)
VLP_COLUMNS_MODES(64)
VLP_COLUMNS_MODES(128)
#define VLP_COLUMNS_ROW(NL)                                                                     \
    {{columns_##NL##_0_0, columns_##NL##_0_1}, {columns_##NL##_1_0, columns_##NL##_1_1}}
typedef int (*vlp_columns_fn)(const avt_vlp_tables *, const uint8_t *, int64_t, int, int,
                              int32_t (*)[AVT_VLP_MAX_LASERS], uint8_t, avt_vlp_packet *);
/* [16, 32, 64, 128 lasers][dual][rotated] */
static const vlp_columns_fn COLUMNS[4][2][2] = {VLP_COLUMNS_ROW(16), VLP_COLUMNS_ROW(32),
                                                VLP_COLUMNS_ROW(64), VLP_COLUMNS_ROW(128)};

void avt_vlp_decode(const avt_vlp_tables *t, const uint8_t *p, int64_t pkt_ns, double rate_hint,
                    avt_vlp_packet *o)
{
    const avt_vlp_model *m = t->m;
    const int dual = avt_vlp_is_dual(m, p);
    const int nl = m->lasers;
    const int ncols = packet_cols(m, dual);
    /* columns sharing one block azimuth: the PUCK layout's sequences within a block */
    const int spb = m->layout == AVT_VLP_LAYOUT_PUCK ? m->seq_per_block : 1;
    const uint8_t mode = m->layout == AVT_VLP_LAYOUT_HDL64 ? 0 : p[1204];
    const uint8_t single_type = mode == AVT_VELODYNE_MODE_STRONGEST ? AVT_RETURN_STRONGEST
                                : mode == AVT_VELODYNE_MODE_LAST    ? AVT_RETURN_LAST
                                                                    : AVT_RETURN_SINGLE;

    /* 9.5: the rotation rate over the packet, from the first and last azimuths and the times
     * of their first firings; a packet of one azimuth (VLS-128 dual) uses the hint. */
    double rate = rate_hint;
    if (ncols / spb >= 2) {
        const uint8_t *b_first = column_blocks(m, p, dual, 0, NULL, NULL);
        const uint8_t *b_last = column_blocks(m, p, dual, ncols - spb, NULL, NULL);
        int64_t dt = (int64_t)(ncols - spb) * m->seq_ns;
        rate = (double)wrap_cdeg(rd16(b_last + 2) - rd16(b_first + 2)) / (double)dt;
    }

    o->ncols = ncols;
    o->dual = dual;
    o->duration_ns = (int64_t)ncols * m->seq_ns;
    o->rate_cdeg_per_ns = rate;
    /* The azimuth advance of each firing since its block's first firing depends only on the
     * sequence within the block and the laser: round it once per packet, not once per point. */
    int32_t adv[2][AVT_VLP_MAX_LASERS];
    for (int s = 0; s < spb && s < 2; s++)
        for (int l = 0; l < nl; l++)
            adv[s][l] = round_i32(rate * (double)((int64_t)s * m->seq_ns + t->toff_ns[l]));
    const int size = nl == 16 ? 0 : nl == 32 ? 1 : nl == 64 ? 2 : 3; /* MODELS have no other */
    const int idx = COLUMNS[size][dual][t->rotated](t, p, pkt_ns, ncols, spb, adv, single_type, o);
    o->col_first[ncols] = (uint16_t)idx;
}


static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

int avt_vlp_position_time(const uint8_t *p, size_t len, int64_t *utc_ns)
{
    char s[80];
    size_t n = 0;
    const size_t off = AVT_VELODYNE_POSITION_NMEA_OFFSET;
    if (len < off + 7) return 0;
    while (n < sizeof s - 1 && off + n < len && p[off + n] && p[off + n] != '\r' &&
           p[off + n] != '\n') {
        s[n] = (char)p[off + n];
        n++;
    }
    s[n] = '\0';
    if (strncmp(s, "$GPRMC,", 7) != 0 && strncmp(s, "$GNRMC,", 7) != 0) return 0;
    /* fields: 1 hhmmss[.ss], 2 status, ..., 9 ddmmyy */
    const char *field[13] = {0};
    int nf = 0;
    for (char *q = s; q && nf < 13; nf++) {
        field[nf] = q;
        q = strchr(q, ',');
        if (q) *q++ = '\0';
    }
    if (nf < 10 || strlen(field[1]) < 6 || !digits(field[1], 6) || field[2][0] != 'A' ||
        strlen(field[9]) < 6 || !digits(field[9], 6))
        return 0;
    int hh = two(field[1]), mi = two(field[1] + 2), ss = two(field[1] + 4);
    int dd = two(field[9]), mo = two(field[9] + 2), yy = two(field[9] + 4);
    if (hh > 23 || mi > 59 || ss > 60 || dd < 1 || dd > 31 || mo < 1 || mo > 12) return 0;
    int64_t year = yy < 80 ? 2000 + yy : 1900 + yy; /* NMEA's two-digit year */
    int64_t sec = avt_days_from_civil(year, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss;
    *utc_ns = sec * 1000000000;
    return 1;
}

int64_t avt_toh_to_abs_ns(uint32_t toh_us, int64_t est_ns)
{
    const int64_t hour_ns = 3600LL * 1000000000;
    int64_t q = est_ns / hour_ns;
    if (est_ns % hour_ns < 0) q--;
    int64_t t = q * hour_ns + (int64_t)toh_us * 1000;
    if (t - est_ns > hour_ns / 2) t -= hour_ns;
    else if (t - est_ns < -hour_ns / 2) t += hour_ns;
    return t;
}
