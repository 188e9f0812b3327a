/* Velodyne VLP-16, HDL-32E and VLP-32C data and position packets: checks and decoding.
 *
 * Specs (Velodyne user manuals; section numbers of the VLP-16 manual 63-9243 Rev. E, the
 * VLP-32C manual 63-9325 Rev. B has the same chapter layout):
 *   9.1   laser ID -> elevation (and, VLP-16 only, vertical correction in mm)
 *   9.2   spherical -> x, y, z (frame: see avtruth/velodyne.h; ours is the manual's rotated
 *         by +90 deg about z)
 *   9.3.1.7 factory bytes: return mode 0x37 strongest, 0x38 last, 0x39 dual; product ID
 *   9.3.2 data packet structure, 9.3.3 position packet structure
 *   9.4   point timing: VLP-16 fires 16 lasers every 55.296 us, 2.304 us apart, two firing
 *         sequences per block; VLP-32C fires 16 pairs every 55.296 us, one sequence per block;
 *         HDL-32E manual (63-9113), appendix "laser firing sequence": 32 lasers 1.152 us apart,
 *         46.080 us per block. The packet timestamp is the time of its first firing.
 *   9.5   precision azimuth: the block azimuth is that of the block's first firing; later
 *         firings are interpolated with the rotation rate.
 *   VLP-32C manual Table 9-5 (elevations in firing order) and 9.5/Table 9-6 azimuth offsets.
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
 *   VLP-16: ch0..15 = sequence 0, ch16..31 = sequence 1 (azimuth of seq. 1 not sent).   VLP-32C)
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

/* HDL-32E manual (63-9113), appendix "HDL-32E vertical angles": firing order. */
static const double HDL32E_ELEVATION_DEG[32] = {
    -30.67, -9.33, -29.33, -8.00, -28.00, -6.67, -26.67, -5.33, -25.33, -4.00, -24.00,
    -2.67,  -22.67, -1.33, -21.33, 0.00,  -20.00, 1.33,  -18.67, 2.67,  -17.33, 4.00,
    -16.00, 5.33,  -14.67, 6.67,  -13.33, 8.00,  -12.00, 9.33,  -10.67, 10.67};

/* VLP-32C manual Table 9-5 (firing order) and its azimuth offsets (Table 9-6, as also in the
 * VeloView calibration shipped with the ROS driver: rot_correction = -offset). */
static const double VLP32C_ELEVATION_DEG[32] = {
    -25.0, -1.0,   -1.667, -15.639, -11.31, 0.0,   -0.667, -8.843, -7.254, 0.333,  -0.333,
    -6.148, -5.333, 1.333,  0.667,  -4.0,   -4.667, 1.667, 1.0,    -3.667, -3.333, 3.333,
    2.333,  -2.667, -3.0,   7.0,    4.667,  -2.333, -2.0,  15.0,   10.333, -1.333};
static const double VLP32C_AZIMUTH_OFFSET_DEG[32] = {
    1.4, -4.2, 1.4, -1.4, 1.4, -1.4, 4.2, -1.4, 1.4, -4.2, 1.4, -1.4, 4.2, -1.4, 4.2, -1.4,
    1.4, -4.2, 1.4, -4.2, 4.2, -1.4, 1.4, -1.4, 1.4, -1.4, 1.4, -4.2, 4.2, -1.4, 1.4, -1.4};

/* The VLP-16 is the only one whose manual gives vertical offsets; the HDL-32E and VLP-32C
 * manuals compute z = R sin(w) (and the ROS driver's 32db.yaml / VeloView-VLP-32C.yaml carry
 * vert_offset_correction 0). */
static const avt_vlp_model MODELS[] = {
    {"vlp16", AVT_VELODYNE_PRODUCT_VLP16, 16, 2, 1, AVT_VLP16_SEQUENCE_NS, AVT_VLP16_FIRING_NS,
     AVT_VLP16_DIST_UNIT_M, AVT_VLP16_ELEVATION_DEG, AVT_VLP16_VERT_OFFSET_MM, NULL},
    {"hdl32e", AVT_VELODYNE_PRODUCT_HDL32E, 32, 1, 1, 46080, 1152, 0.002, HDL32E_ELEVATION_DEG,
     NULL, NULL},
    {"vlp32c", AVT_VELODYNE_PRODUCT_VLP32C, 32, 1, 2, 55296, 2304, 0.004, VLP32C_ELEVATION_DEG,
     NULL, VLP32C_AZIMUTH_OFFSET_DEG},
};

const avt_vlp_model *avt_vlp_model_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) {
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
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++)
        if (MODELS[i].product == product) return &MODELS[i];
    return NULL;
}

int avt_vlp_tables_init(avt_vlp_tables *t, const avt_vlp_model *m, double min_range_m,
                        double max_range_m, avt_error *err)
{
    memset(t, 0, sizeof *t);
    if (!(min_range_m >= 0) || !(max_range_m > min_range_m) || !isfinite(max_range_m))
        return avt_err(err, AVT_INVAL, "lidar: range limits %g..%g m are not an interval",
                       min_range_m, max_range_m);
    t->m = m;
    const double deg = M_PI / 180.0;
    for (int l = 0; l < m->lasers; l++) {
        double w = m->elevation_deg[l] * deg;
        t->cos_el[l] = (float)(cos(w) * m->dist_unit_m);
        t->sin_el[l] = (float)(sin(w) * m->dist_unit_m);
        t->z_off[l] = m->vert_offset_mm ? (float)(m->vert_offset_mm[l] * 1e-3) : 0.0f;
        t->rot_cdeg[l] =
            m->azimuth_offset_deg ? (int32_t)lround(m->azimuth_offset_deg[l] * 100.0) : 0;
        /* ring = rank of the elevation, ties by firing order (0 = lowest beam) */
        uint16_t rank = 0;
        for (int k = 0; k < m->lasers; k++)
            if (m->elevation_deg[k] < m->elevation_deg[l] ||
                (m->elevation_deg[k] == m->elevation_deg[l] && k < l))
                rank++;
        t->ring[l] = rank;
    }
    double lo = ceil(min_range_m / m->dist_unit_m - 1e-9);
    double hi = floor(max_range_m / m->dist_unit_m + 1e-9);
    t->raw_min = lo < 1 ? 1 : (lo > 65536 ? 65536 : (uint32_t)lo);
    t->raw_max = hi > 65535 ? 65535 : (hi < 0 ? 0 : (uint32_t)hi);

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

int avt_vlp_check(const uint8_t *p, size_t len, char *why, size_t why_n)
{
    if (len != AVT_VLP16_PAYLOAD) {
        snprintf(why, why_n, "UDP payload %zu bytes, Velodyne data packets are %d", len,
                 AVT_VLP16_PAYLOAD);
        return AVT_FORMAT;
    }
    avt_cursor c = avt_cursor_make(p, len);
    for (int b = 0; b < AVT_VLP16_BLOCKS; b++) {
        c.pos = (size_t)b * 100;
        uint16_t flag = avt_get_be16(&c);
        uint16_t az = avt_get_le16(&c);
        if (flag != 0xFFEE) {
            snprintf(why, why_n, "block %d flag 0x%04X, expected 0xFFEE", b, (unsigned)flag);
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

int64_t avt_vlp_packet_duration_ns(const avt_vlp_model *m, uint8_t mode)
{
    int blocks = mode == AVT_VELODYNE_MODE_DUAL ? AVT_VLP16_BLOCKS / 2 : AVT_VLP16_BLOCKS;
    return (int64_t)blocks * m->seq_per_block * m->seq_ns;
}

static inline int32_t wrap_cdeg(int32_t a)
{
    if (a >= 0 && a < 36000) return a; /* the common case, without a division */
    if (a >= 36000 && a < 72000) return a - 36000;
    if (a < 0 && a >= -36000) return a + 36000;
    a %= 36000;
    return a < 0 ? a + 36000 : a;
}

static inline uint16_t rd16(const uint8_t *q) { return (uint16_t)(q[0] | (q[1] << 8)); }

/* Appends one return if it passes the range filter. */
static inline int emit(const avt_vlp_tables *t, avt_vlp_packet *o, int idx, int l, int32_t az,
                       uint32_t raw, uint8_t refl, int64_t t_ns, uint8_t type)
{
    if (raw < t->raw_min || raw > t->raw_max) return idx;
    int32_t a = wrap_cdeg(az + t->rot_cdeg[l]); /* 9.5: precise azimuth = block azimuth + offset */
    float d = (float)raw;
    float rxy = d * t->cos_el[l];
    o->xyz[3 * idx + 0] = rxy * t->cos_az[a];
    o->xyz[3 * idx + 1] = -rxy * t->sin_az[a];
    o->xyz[3 * idx + 2] = d * t->sin_el[l] + t->z_off[l];
    o->intensity[idx] = (float)refl;
    o->ring[idx] = t->ring[l];
    o->t_ns[idx] = t_ns;
    o->return_type[idx] = type;
    return idx + 1;
}

void avt_vlp_decode(const avt_vlp_tables *t, const uint8_t *p, int64_t pkt_ns, avt_vlp_packet *o)
{
    const avt_vlp_model *m = t->m;
    const uint8_t mode = p[1204];
    const int dual = mode == AVT_VELODYNE_MODE_DUAL;
    const int nl = m->lasers, spb = m->seq_per_block, lpf = m->lasers_per_firing;
    const int nblk = dual ? AVT_VLP16_BLOCKS / 2 : AVT_VLP16_BLOCKS;
    const int ncols = nblk * spb;
    const uint8_t single_type = mode == AVT_VELODYNE_MODE_STRONGEST ? AVT_RETURN_STRONGEST
                                : mode == AVT_VELODYNE_MODE_LAST    ? AVT_RETURN_LAST
                                                                    : AVT_RETURN_SINGLE;

    /* 9.5: the rotation rate over the packet, from the first and last block azimuths and the
     * times of their first firings (blocks of one dual pair share a firing). */
    int32_t az_first = rd16(p + 2), az_last = rd16(p + 1100 + 2);
    int64_t t_last_block = (int64_t)(nblk - 1) * spb * m->seq_ns;
    double rate = (double)wrap_cdeg(az_last - az_first) / (double)t_last_block;

    o->ncols = ncols;
    o->dual = dual;
    o->duration_ns = (int64_t)ncols * m->seq_ns;
    o->rate_cdeg_per_ns = rate;
    /* The azimuth advance of each firing since its block's first firing depends only on the
     * sequence within the block and the laser: round it once per packet, not once per point. */
    int32_t adv[4][AVT_VLP_MAX_LASERS];
    int64_t toff[AVT_VLP_MAX_LASERS]; /* firing time of each laser within its sequence */
    for (int l = 0; l < nl; l++) toff[l] = (int64_t)(l / lpf) * m->firing_ns;
    for (int s = 0; s < spb; s++)
        for (int l = 0; l < nl; l++)
            adv[s][l] = (int32_t)lround(rate * (double)((int64_t)s * m->seq_ns + (int64_t)(l / lpf) * m->firing_ns));
    int idx = 0;
    for (int col = 0; col < ncols; col++) {
        const int k = col / spb, s = col % spb;
        const int blk = dual ? 2 * k : k;
        const uint8_t *bp = p + 100 * blk;
        const int32_t az_blk = rd16(bp + 2);
        const int64_t t_col = (int64_t)col * m->seq_ns;
        o->col_ns[col] = pkt_ns + t_col;
        o->col_end_ns[col] = pkt_ns + t_col + (int64_t)((nl - 1) / lpf) * m->firing_ns;
        o->col_az[col] = wrap_cdeg(az_blk + adv[s][0]);
        o->col_first[col] = (uint16_t)idx;
        for (int l = 0; l < nl; l++) {
            const int32_t az = az_blk + adv[s][l];
            const int64_t t_ns = pkt_ns + t_col + toff[l];
            const uint8_t *q = bp + 4 + 3 * (s * nl + l);
            const uint32_t raw = rd16(q);
            if (!dual) {
                idx = emit(t, o, idx, l, az, raw, q[2], t_ns, single_type);
                continue;
            }
            const uint8_t *q2 = q + 100; /* same channel in the strongest-return block */
            const uint32_t raw2 = rd16(q2);
            if (raw == raw2) {
                idx = emit(t, o, idx, l, az, raw, q[2], t_ns, AVT_RETURN_BOTH);
            } else {
                idx = emit(t, o, idx, l, az, raw, q[2], t_ns, AVT_RETURN_LAST);
                idx = emit(t, o, idx, l, az, raw2, q2[2], t_ns, AVT_RETURN_STRONGEST);
            }
        }
    }
    o->col_first[ncols] = (uint16_t)idx;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int mo, int d)
{
    y -= mo <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
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
    int64_t sec = days_from_civil(year, mo, dd) * 86400 + hh * 3600 + mi * 60 + ss;
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
