/* avtruth synth: a Velodyne packet capture ray-cast over the scene, and the sweep truth.
 *
 * Follows the VLP-16 User Manual (63-9243 Rev. E): section 9.3 (data packet), 9.4 (position
 * packet), 9.5 (firing timing); constants in include/avtruth/velodyne.h. The other models
 * (Puck Hi-Res, HDL-32E, VLP-32C, VLS-128) differ only in what the same 1206-byte packet
 * holds (their manuals' sections are cited in ingest/velodyne.c and avtruth/velodyne.h):
 *   vlp16, vlp16hires  block = 2 firing sequences of 16 lasers, 24 sequences per packet
 *   hdl32e, vlp32c     block = 1 sequence of 32 lasers, 12 per packet (VLP-32C: pairs fire
 *                      together; its azimuth offsets are added to the block azimuth)
 *   vls128             sequence = 4 blocks (banks FF EE, FF DD, FF CC, FF BB) sharing one
 *                      azimuth, 3 per packet; groups of 8 lasers; the timestamp is 8.7 us
 *                      after the packet's first firing
 *   hdl64e (= S3),     firing sequence = upper block FF EE (lasers 0-31) + lower block FF DD
 *   hdl64e_s2          (lasers 32-63) sharing one azimuth, 6 per packet; lasers fire in groups
 *                      of 4 (avtruth/velodyne.h: S3 manual appendix "Laser firing time
 *                      table", 57.6 us per sequence, S2 48 us); bytes 1204/1205 are the S2/S3
 *                      manuals' status type and value ("Packet format": H M S D N Y G T V:
 *                      the packet's UTC hour, minute, second, day, month, year, GPS status
 *                      'A', temperature, firmware version; the in-stream calibration bytes a
 *                      real unit interleaves are not sent). The HDL-64E has no manual
 *                      geometry: the generator's synthetic unit (lidar_calib.c) is ray-cast
 *                      with the calibrated geometry ingest/velodyne.c applies and its
 *                      calibration is written into the log.
 * Return modes (VLP-16 manual 9.3.2 "Data Packet Structure", the same in the Puck Hi-Res,
 * HDL-32E and VLP-32C manuals; the HDL-64E S3 dual layout as ingest/velodyne.c and
 * velodyne_decoder read it): strongest (factory byte
 * 0x37) and last (0x38) fill every block; dual (0x39) sends each firing twice, in adjacent
 * blocks sharing one azimuth: the even block the last return, the odd one the strongest
 * (the second strongest when the strongest is the last), both blocks identical when there
 * was one return; HDL-64E: blocks 4k, 4k+1 strongest (upper, lower), 4k+2, 4k+3 last, no
 * mode byte (a decoder sees blocks 0 and 2 share their azimuth); VLS-128 (manual 63-9480
 * Rev. 3, "Data packet format"): one firing sequence per packet, blocks (2b, 2b+1) = bank b
 * last / strongest, blocks 8-11 padding, written as zero bytes (no decoder reads them:
 * ingest/velodyne.c skips them, the ROS driver's unpack_vls128 stops before block 8). A dual
 * packet covers half the firing sequences of a single one (VLS-128: a third), so packets
 * come that much more often. Second returns come from the scene's edge rule
 * (SYNTH_DUAL_EDGE_M in synth_private.h).
 * Below, "VLP-16" numbers are the vlp16 case; the others scale with the model's sequence.
 *
 * Data packet payload (1206 bytes), UDP 192.168.1.201:2368 -> 255.255.255.255:2368
 *   +------+------+---------+-------------------------------+
 *   | 0xFF | 0xEE | az u16  | 32 x (dist u16 2mm, refl u8)  |  x 12 blocks (100 bytes each)
 *   +------+------+---------+-------------------------------+
 *   | timestamp u32 LE (us past the hour, first firing) | 0x37 | 0x22 |
 * Block b holds firing sequences 2b (channels 0-15) and 2b+1 (channels 16-31).
 *
 * Position packet payload (512 bytes), port 8308 -> 8308
 *   0..197 unused | 198: ToH u32 LE | 202: PPS status (2 = locked) | 203..205 unused |
 *   206: $GPRMC sentence, NUL padded to 72 bytes | 278..511 unused
 *
 * Timing (exactly what a decoder computes): packet k starts (first firing) at
 *   t_pkt(k) = t0 + round_us(k * 1327.104 us)
 * and firing (sequence s = 0..23, laser l) happens at t_pkt + s * 55296 ns + l * 2304 ns.
 * The head turns at a constant rate of one revolution per SYNTH_SEQ_PER_REV sequence periods
 * (1808 x 55.296 us = 99.975168 ms, 600.149 rpm), so sequences fall on the same azimuths in
 * every revolution and the cut angle lies half-way between two sequences (0.0996 degrees
 * from either, far beyond the 0.01-degree packet quantisation): sweep membership cannot
 * flip in a decoder. */
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avtruth/velodyne.h"
#include "synth_private.h"

#define DEG (M_PI / 180.0)
#define CHUNK 256

static const synth_lidar_model MODELS[] = {
    {"vlp16", AVT_VELODYNE_PRODUCT_VLP16, 16, 1, 2, AVT_VLP16_SEQUENCE_NS, 0, 0.002,
     AVT_VLP16_ELEVATION_DEG, NULL, AVT_VLP16_VERT_OFFSET_MM, NULL},
    {"vlp16hires", AVT_VELODYNE_PRODUCT_PUCK_HIRES, 16, 1, 2, AVT_VLP16_SEQUENCE_NS, 0, 0.002,
     AVT_PUCK_HIRES_ELEVATION_DEG, NULL, NULL, NULL},
    {"hdl32e", AVT_VELODYNE_PRODUCT_HDL32E, 32, 1, 1, AVT_HDL32E_SEQUENCE_NS, 0, 0.002,
     AVT_HDL32E_ELEVATION_DEG, NULL, NULL, NULL},
    {"vlp32c", AVT_VELODYNE_PRODUCT_VLP32C, 32, 1, 1, AVT_VLP32C_SEQUENCE_NS, 0, 0.004,
     AVT_VLP32C_ELEVATION_DEG, AVT_VLP32C_AZIMUTH_OFFSET_DEG, NULL, NULL},
    {"vls128", AVT_VELODYNE_PRODUCT_VLS128, 128, 4, 1, AVT_VLS128_SEQUENCE_NS,
     AVT_VLS128_TOH_OFFSET_NS, 0.004, AVT_VLS128_ELEVATION_DEG, AVT_VLS128_AZIMUTH_OFFSET_DEG,
     NULL, NULL},
    {"hdl64e", 0, 64, 2, 1, AVT_HDL64E_S3_SEQUENCE_NS, 0, 0.002, NULL, NULL, NULL,
     AVT_HDL64E_S3_GROUP_FIRE_NS},
    {"hdl64e_s2", 0, 64, 2, 1, AVT_HDL64E_S2_SEQUENCE_NS, 0, 0.002, NULL, NULL, NULL,
     AVT_HDL64E_S2_GROUP_FIRE_NS},
};

const synth_lidar_model *synth_lidar_model_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof MODELS / sizeof MODELS[0]; i++)
        if (strcmp(MODELS[i].name, name) == 0) return &MODELS[i];
    return NULL;
}

int synth_return_find(const char *name)
{
    static const char *const NAMES[] = {"strongest", "last", "dual"};
    if (!name) return SYNTH_RETURN_STRONGEST;
    for (int i = 0; i < 3; i++)
        if (strcmp(name, NAMES[i]) == 0) return i;
    return -1;
}

static int return_mode(const synth_scene *sc)
{
    return synth_return_find(sc->cfg.lidar_return);
}

int32_t synth_laser_time_ns(const synth_lidar_model *m, int l)
{
    if (m->group_fire_ns) return m->seq_ns / 8 * (l % 32 / 4) + m->group_fire_ns[l % 4];
    switch (m->product) {
    case AVT_VELODYNE_PRODUCT_HDL32E: return l * AVT_HDL32E_FIRING_NS;
    case AVT_VELODYNE_PRODUCT_VLP32C: return (l / 2) * AVT_VLP16_FIRING_NS;
    case AVT_VELODYNE_PRODUCT_VLS128: return AVT_VLS128_GROUP_NS * (l / 8 + l / 64);
    default: return l * AVT_VLP16_FIRING_NS;
    }
}

int synth_lidar_seq_per_packet(const synth_lidar_model *m, int dual)
{
    return AVT_VLP16_BLOCKS / (dual ? 2 * m->banks : m->banks) * m->seq_per_block;
}

static int64_t packet_ns(const synth_scene *sc)
{
    const int dual = return_mode(sc) == SYNTH_RETURN_DUAL;
    return (int64_t)synth_lidar_seq_per_packet(sc->lidar, dual) * sc->lidar->seq_ns;
}

double synth_head_az_deg(const synth_scene *sc, int64_t t_ns)
{
    return sc->az0_deg + 360.0 * (double)(t_ns - sc->t0_ns) / (double)sc->rev_ns;
}

int64_t synth_packet_t_ns(const synth_scene *sc, int64_t k)
{
    /* k * 1327.104 us (= k * 1327104 ns, VLP-16) rounded to whole microseconds */
    int64_t us = (k * packet_ns(sc) + 500) / 1000;
    return sc->t0_ns + us * 1000;
}

static uint16_t ip_checksum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

size_t synth_udp_frame(uint8_t *frame, uint16_t ip_id, uint16_t port, const uint8_t *payload,
                       size_t len)
{
    static const uint8_t eth[14] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x60, 0x76,
                                    0x88, 0x10, 0x20, 0x30, 0x08, 0x00};
    memcpy(frame, eth, 14);
    uint8_t *ip = frame + 14, *udp = ip + 20;
    memset(ip, 0, 28);
    ip[0] = 0x45;
    put_be16(ip + 2, (uint16_t)(20 + 8 + len));
    put_be16(ip + 4, ip_id);
    put_be16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = 17;
    static const uint8_t src[4] = {192, 168, 1, 201}, dst[4] = {255, 255, 255, 255};
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put_be16(ip + 10, ip_checksum(ip, 20, 0));
    put_be16(udp, port);
    put_be16(udp + 2, port);
    put_be16(udp + 4, (uint16_t)(8 + len));
    memcpy(udp + 8, payload, len);
    /* UDP checksum over the pseudo-header (addresses, protocol, length) and the datagram */
    uint32_t sum = 0;
    for (int i = 0; i < 4; i += 2) sum += (uint32_t)(src[i] << 8 | src[i + 1]);
    for (int i = 0; i < 4; i += 2) sum += (uint32_t)(dst[i] << 8 | dst[i + 1]);
    sum += 17 + (uint32_t)(8 + len);
    uint16_t c = ip_checksum(udp, 8 + len, sum);
    put_be16(udp + 6, c ? c : 0xFFFF);
    return 42 + len;
}

size_t synth_ipv4_fragment(const uint8_t *frame, size_t len, size_t mtu, size_t k,
                           uint8_t *out)
{
    const size_t per = (mtu - 20) & ~(size_t)7, body = len - 34; /* IP payload bytes */
    const size_t off = k * per;
    if (off >= body) return 0;
    const size_t n = body - off < per ? body - off : per;
    memcpy(out, frame, 34);
    memcpy(out + 34, frame + 34 + off, n);
    uint8_t *ip = out + 14;
    put_be16(ip + 2, (uint16_t)(20 + n));
    put_be16(ip + 6, (uint16_t)((off + n < body ? 0x2000 : 0) | (off / 8)));
    put_be16(ip + 10, 0);
    put_be16(ip + 10, ip_checksum(ip, 20, 0));
    return 34 + n;
}

size_t synth_gprmc(int64_t t_ns, double speed_mps, double course_deg, char *out, size_t n)
{
    time_t sec = (time_t)(t_ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char body[96];
    snprintf(body, sizeof body, "GPRMC,%02d%02d%02d,A,4807.038,N,01131.000,E,%05.1f,%05.1f,%02d%02d%02d,,,A",
             tm.tm_hour, tm.tm_min, tm.tm_sec, speed_mps * 1.943844, course_deg, tm.tm_mday,
             tm.tm_mon + 1, tm.tm_year % 100);
    uint8_t cs = 0;
    for (const char *p = body; *p; p++) cs ^= (uint8_t)*p;
    int w = snprintf(out, n, "$%s*%02X\r\n", body, cs);
    return w < 0 ? 0 : (size_t)w;
}

/* One laser's beam, from the model's manual tables or the unit's calibration: it leaves from
 * (rxy0 along the beam's azimuth, horiz across it, z0) at elevation el_deg and azimuth
 * head + az_deg, and the packet reports the range from there minus dist_m. This is exactly
 * the geometry ingest/velodyne.c inverts (the ROS driver's calibrated formula, see there;
 * the manual tables are its special case rxy0 = horiz = dist_m = 0). */
typedef struct laser_beam {
    double el_deg, az_deg, dist_m, rxy0, z0, horiz;
} laser_beam;

/* A return as sent: raw distance (0 = none) and reflectivity. */
typedef struct echo {
    uint16_t dist;
    uint8_t refl;
} echo;

#define MAX_SEQ_PER_PACKET 24 /* VLP-16 single return */

/* Boxes at t0 and their velocities: a box at t is c0 + v (t - t0), orientation fixed. */
typedef struct lidar_ctx {
    const synth_scene *sc;
    synth_box box0[SYNTH_MAX_OBJECTS];
    double vel[SYNTH_MAX_OBJECTS][3];
    uint8_t ground_refl[2];
    laser_beam beam[128];
    int mode; /* enum synth_return */
} lidar_ctx;

static void beams_init(lidar_ctx *lc)
{
    const synth_lidar_model *m = lc->sc->lidar;
    for (int l = 0; l < m->lasers; l++) {
        laser_beam *b = &lc->beam[l];
        if (m->elevation_deg) {
            /* the manuals' formula (VLP-16 9.2): z = R sin(w) + vertical offset */
            b->el_deg = m->elevation_deg[l];
            b->az_deg = m->azimuth_offset_deg ? m->azimuth_offset_deg[l] : 0;
            b->z0 = m->vert_offset_mm ? m->vert_offset_mm[l] * 1e-3 : 0;
            continue;
        }
        synth_laser_calib c;
        synth_hdl64e_calib(l, &c);
        const double v = c.vert_deg * DEG, vo = c.vert_offset_cm * 0.01;
        b->el_deg = c.vert_deg;
        b->az_deg = -c.rot_deg;
        b->dist_m = c.dist_cm * 0.01;
        b->rxy0 = -vo * sin(v); /* the vertical offset is perpendicular to the beam */
        b->z0 = vo * cos(v);
        b->horiz = c.horiz_offset_cm * 0.01;
    }
}

static uint8_t hit_refl(const lidar_ctx *lc, int hit, const double o[3], const double d[3],
                        double t)
{
    if (hit >= 0) return lc->sc->obj[hit].reflectivity;
    double px = o[0] + t * d[0], py = o[1] + t * d[1];
    return lc->ground_refl[((long)floor(px) + (long)floor(py)) & 1];
}

/* The raw distance of a return at range t along beam b; 0 (none) outside the sensor's range. */
static uint16_t raw_dist(const synth_lidar_model *m, const laser_beam *b, double t)
{
    if (t < SYNTH_LIDAR_MIN_RANGE_M) return 0;
    long q = lround((t - b->dist_m) / m->dist_unit_m);
    return q > 0 && q < 65536 ? (uint16_t)q : 0;
}

/* Distance from the ray's point at t to the nearest edge of face `face` (0..5) of box b. */
static double face_edge_dist(const synth_box *b, const double o[3], const double d[3], double t,
                             int face)
{
    double dx = o[0] + t * d[0] - b->c[0], dy = o[1] + t * d[1] - b->c[1];
    double l[3] = {b->cos_yaw * dx + b->sin_yaw * dy, -b->sin_yaw * dx + b->cos_yaw * dy,
                   o[2] + t * d[2] - b->c[2]};
    double e = INFINITY;
    for (int k = 0; k < 3; k++)
        if (k != face / 2 && b->half[k] - fabs(l[k]) < e) e = b->half[k] - fabs(l[k]);
    return e;
}

/* Fires laser `laser` at time t: its returns, nearest first; returns how many (0, 1 or 2:
 * the edge rule of SYNTH_DUAL_EDGE_M). */
static int fire(const lidar_ctx *lc, int64_t t, int laser, echo e[2])
{
    const synth_scene *sc = lc->sc;
    size_t n = sc->n_obj;
    synth_box bx[SYNTH_MAX_OBJECTS];
    double dt = (double)(t - sc->t0_ns) * 1e-9;
    for (size_t i = 0; i < n; i++) {
        bx[i] = lc->box0[i];
        bx[i].c[0] += lc->vel[i][0] * dt;
        bx[i].c[1] += lc->vel[i][1] * dt;
    }
    avt_tf world_T_ego = synth_world_T_ego(sc, t);
    avt_tf world_T_lidar = avt_tf_mul(&world_T_ego, &sc->ego_T_lidar);
    const synth_lidar_model *m = sc->lidar;
    const laser_beam *b = &lc->beam[laser];
    /* the beam leaves at the head azimuth plus the laser's offset (VLP-32C, VLS-128 9.5) */
    double az = (synth_head_az_deg(sc, t) + b->az_deg) * DEG;
    double w = b->el_deg * DEG;
    double ca = cos(az), sa = sin(az);
    double ol[3] = {b->rxy0 * ca + b->horiz * sa, -b->rxy0 * sa + b->horiz * ca, b->z0};
    double dl[3] = {cos(w) * ca, -cos(w) * sa, sin(w)};
    double o[3], d[3];
    avt_tf_apply(&world_T_lidar, ol, o);
    avt_tf_rotate(&world_T_lidar, dl, d);
    double th, t2;
    int face;
    int hit = synth_cast(bx, n, o, d, SYNTH_LIDAR_MAX_RANGE_M, &th, &face);
    if (hit == -2 || !(e[0].dist = raw_dist(m, b, th))) return 0;
    e[0].refl = hit_refl(lc, hit, o, d, th);
    if (hit < 0 || face_edge_dist(&bx[hit], o, d, th, face) >= SYNTH_DUAL_EDGE_M) return 1;
    /* the part of the beam past the edge: the same ray without that box */
    bx[hit] = bx[n - 1];
    int hit2 = synth_cast(bx, n - 1, o, d, SYNTH_LIDAR_MAX_RANGE_M, &t2, &face);
    if (hit2 == hit) hit2 = (int)n - 1;
    if (hit2 == -2 || t2 - th < SYNTH_DUAL_MIN_SEP_M || !(e[1].dist = raw_dist(m, b, t2)))
        return 1;
    uint8_t r2 = hit_refl(lc, hit2, o, d, t2), cap = (uint8_t)(e[0].refl / 2);
    e[1].refl = r2 < cap ? r2 : cap;
    return 2;
}

/* What block b of a packet holds: the firing sequence of its first channel (seq0), its bank
 * (32-laser group) and, in dual mode, whether it holds the last return (else the strongest).
 * Returns 0 for a block past the packet's firing sequences: padding (VLS-128 dual, 8-11). */
static int block_role(const synth_lidar_model *m, int dual, int b, int *seq0, int *bank,
                      int *last)
{
    *last = 0;
    if (!dual) {
        *seq0 = b / m->banks * m->seq_per_block;
        *bank = b % m->banks;
    } else {
        const int g = 2 * m->banks, r = b % g;
        *seq0 = b / g * m->seq_per_block;
        if (m->group_fire_ns) { /* HDL-64E: upper, lower strongest, then upper, lower last */
            *bank = r % m->banks;
            *last = r >= m->banks;
        } else { /* bank by bank: last, then strongest */
            *bank = r / 2;
            *last = r % 2 == 0;
        }
    }
    return *seq0 < synth_lidar_seq_per_packet(m, dual);
}

/* HDL-64E status type and value (bytes 1204, 1205) of packet k sent at t_ns: the cycle of
 * time-and-state types (S2/S3 manuals, "Packet format"). */
static void hdl64e_status(int64_t k, int64_t t_ns, uint8_t *p)
{
    static const char TYPES[] = "HMSDNYGTV";
    time_t sec = (time_t)(t_ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&sec, &tm);
    const int v[9] = {tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_mday, tm.tm_mon + 1,
                      tm.tm_year % 100, 'A', 35, 0x27};
    p[0] = (uint8_t)TYPES[k % 9];
    p[1] = (uint8_t)v[k % 9];
}

/* Packet k into pl (1206 bytes); counts[s] = firings of its sequence s with one, two returns. */
static void packet_build(const lidar_ctx *lc, int64_t k, uint8_t *pl, int32_t (*counts)[2])
{
    static const uint8_t BANK[4] = {0xEE, 0xDD, 0xCC, 0xBB};
    static const uint8_t MODE_BYTE[3] = {AVT_VELODYNE_MODE_STRONGEST, AVT_VELODYNE_MODE_LAST,
                                         AVT_VELODYNE_MODE_DUAL};
    const synth_scene *sc = lc->sc;
    const synth_lidar_model *m = sc->lidar;
    const int dual = lc->mode == SYNTH_RETURN_DUAL, nl = m->lasers;
    const int spp = synth_lidar_seq_per_packet(m, dual);
    const int per_block = 32 / m->seq_per_block; /* lasers of one sequence in a block */
    int64_t t_stamp = synth_packet_t_ns(sc, k), t_first = t_stamp + m->toh_offset_ns;
    /* every firing of the packet once, sequence s, laser l at [s nl + l]: a dual packet
     * sends each twice */
    echo e[AVT_VLP16_BLOCKS * 32][2];
    int ne[AVT_VLP16_BLOCKS * 32];
    for (int s = 0; s < spp; s++) {
        counts[s][0] = counts[s][1] = 0;
        for (int l = 0; l < nl; l++) {
            int64_t t = t_first + (int64_t)s * m->seq_ns + synth_laser_time_ns(m, l);
            int i = s * nl + l;
            ne[i] = fire(lc, t, l, e[i]);
            if (ne[i]) counts[s][ne[i] - 1]++;
        }
    }
    for (int b = 0; b < AVT_VLP16_BLOCKS; b++) {
        uint8_t *blk = pl + 100 * b;
        int seq0, bank, last;
        if (!block_role(m, dual, b, &seq0, &bank, &last)) {
            memset(blk, 0, 100); /* no flag: a decoder reads no returns here */
            continue;
        }
        if (!dual) last = lc->mode == SYNTH_RETURN_LAST;
        int64_t tb = t_first + (int64_t)seq0 * m->seq_ns;
        double az = fmod(synth_head_az_deg(sc, tb), 360.0);
        long cdeg = lround(az * 100.0) % 36000;
        blk[0] = 0xFF;
        blk[1] = BANK[bank];
        put_le16(blk + 2, (uint16_t)cdeg);
        for (int c = 0; c < 32; c++) {
            int i = (seq0 + c / per_block) * nl + 32 * bank + c % per_block;
            /* the strongest is the nearer (the edge rule); with one return both are it */
            echo x = ne[i] ? e[i][last ? ne[i] - 1 : 0] : (echo){0, 0};
            put_le16(blk + 4 + 3 * c, x.dist);
            blk[4 + 3 * c + 2] = x.refl;
        }
    }
    int64_t us = t_stamp / 1000;
    put_le32(pl + 1200, (uint32_t)(us % 3600000000LL));
    if (m->product) {
        pl[1204] = MODE_BYTE[lc->mode];
        pl[1205] = m->product;
    } else {
        hdl64e_status(k, t_stamp, pl + 1204);
    }
}

static int dump(pcap_dumper_t *pd, int64_t rec_ns, const uint8_t *frame, size_t len)
{
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = (time_t)(rec_ns / 1000000000LL);
    h.ts.tv_usec = (suseconds_t)((rec_ns % 1000000000LL) / 1000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)pd, &h, frame);
    return 0;
}

/* Sweep bookkeeping for firing sequence j (global index) of packet k starting at t_seq, whose
 * firings had counts[0] single and counts[1] double returns. */
static int sweep_add(const synth_scene *sc, synth_sweep **sw, size_t *n, size_t *cap,
                     int64_t *last_pkt, int64_t j, int64_t k, int64_t t_seq,
                     const int32_t counts[2])
{
    size_t m = (size_t)((sc->phase + j) / SYNTH_SEQ_PER_REV);
    if (m >= *n) {
        if (avt_grow((void **)sw, cap, m + 1, sizeof **sw) != AVT_OK) return AVT_NOMEM;
        synth_sweep *s = &(*sw)[m];
        memset(s, 0, sizeof *s);
        s->start_ns = t_seq;
        s->az_start_deg = sc->cut_deg + 360.0 * (double)m;
        /* -1: reference firing still to come; -2: the sweep starts past it (partial sweep) */
        s->timestamp_ns = synth_head_az_deg(sc, t_seq) >= s->az_start_deg + 180.0 ? -2 : -1;
        *n = m + 1;
        *last_pkt = -1;
    }
    synth_sweep *s = &(*sw)[m];
    s->end_ns = t_seq + synth_laser_time_ns(sc->lidar, sc->lidar->lasers - 1);
    s->n_seq++;
    s->returns[0] += counts[0];
    s->returns[1] += counts[1];
    if (*last_pkt != k) {
        s->packets++;
        *last_pkt = k;
    }
    /* reference time: the first firing sequence whose first firing is at or past cut + 180
     * (firing-sequence granularity, as the decoder: see avt_sweep in ingest.h) */
    if (s->timestamp_ns == -1 && synth_head_az_deg(sc, t_seq) >= s->az_start_deg + 180.0)
        s->timestamp_ns = t_seq;
    return AVT_OK;
}

int synth_lidar_write(const synth_scene *sc, const char *pcap_path, synth_sweep **sweeps,
                      size_t *n_sweeps, void (*progress)(double, void *), void *ctx,
                      avt_error *err)
{
    int rc = AVT_OK;
    pcap_t *p = NULL;
    pcap_dumper_t *pd = NULL;
    uint8_t *chunk = NULL;
    int32_t (*counts)[MAX_SEQ_PER_PACKET][2] = NULL;
    synth_sweep *sw = NULL;
    size_t n_sw = 0, cap_sw = 0;
    lidar_ctx *lc = calloc(1, sizeof *lc);
    *sweeps = NULL;
    *n_sweeps = 0;
    if (!lc) return avt_err(err, AVT_NOMEM, "synth: out of memory");
    lc->sc = sc;
    for (size_t i = 0; i < sc->n_obj; i++) {
        synth_object_box(sc, i, sc->t0_ns, &lc->box0[i]);
        synth_object_velocity(&sc->obj[i], lc->vel[i]);
    }
    lc->ground_refl[0] = 12;
    lc->ground_refl[1] = 35;
    lc->mode = return_mode(sc);
    beams_init(lc);
    const int spp = synth_lidar_seq_per_packet(sc->lidar, lc->mode == SYNTH_RETURN_DUAL);

    int64_t n_pkt = 0;
    while (synth_packet_t_ns(sc, n_pkt) < sc->t_end_ns) n_pkt++;

    p = pcap_open_dead(DLT_EN10MB, 65535);
    if (!p) {
        rc = avt_err(err, AVT_IO, "%s: pcap_open_dead failed", pcap_path);
        goto out;
    }
    pd = pcap_dump_open(p, pcap_path);
    if (!pd) {
        rc = avt_err(err, AVT_IO, "%s: %s", pcap_path, pcap_geterr(p));
        goto out;
    }
    chunk = malloc((size_t)CHUNK * AVT_VLP16_PAYLOAD);
    counts = malloc(CHUNK * sizeof *counts);
    if (!chunk || !counts) {
        rc = avt_err(err, AVT_NOMEM, "synth: out of memory");
        goto out;
    }

    /* Network delay: its own stream so that it does not depend on anything else. */
    synth_rng net;
    synth_rng_seed(&net, sc->cfg.seed ^ 0x6E6574776F726BULL);
    int64_t prev_rec = 0, last_pkt = -1;
    uint16_t ip_id = 0;
    int64_t next_pos_s = (sc->t0_ns + 999999999LL) / 1000000000LL; /* next whole UTC second */
    uint8_t frame[42 + AVT_VLP16_PAYLOAD];

    for (int64_t k0 = 0; k0 < n_pkt; k0 += CHUNK) {
        int64_t nk = n_pkt - k0 < CHUNK ? n_pkt - k0 : CHUNK;
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nk; i++)
            packet_build(lc, k0 + i, chunk + (size_t)i * AVT_VLP16_PAYLOAD, counts[i]);

        for (int64_t i = 0; i < nk; i++) {
            const synth_lidar_model *m = sc->lidar;
            int64_t k = k0 + i, t_pkt = synth_packet_t_ns(sc, k) + m->toh_offset_ns;
            /* sent once its last firing is done, plus 200 +- 50 us on the network */
            int64_t t_last = t_pkt + (int64_t)(spp - 1) * m->seq_ns +
                             synth_laser_time_ns(m, m->lasers - 1);
            int64_t rec = t_last + (int64_t)llround(synth_rng_range(&net, 150e3, 250e3));
            /* position packets due before this one */
            while (next_pos_s * 1000000000LL < sc->t_end_ns &&
                   next_pos_s * 1000000000LL + 200000 <= rec) {
                int64_t tp = next_pos_s * 1000000000LL;
                uint8_t pos[AVT_VELODYNE_POSITION_PAYLOAD];
                memset(pos, 0, sizeof pos);
                put_le32(pos + AVT_VELODYNE_POSITION_TOH_OFFSET,
                         (uint32_t)((tp / 1000) % 3600000000LL));
                pos[202] = 2; /* PPS locked */
                double x, y, yaw;
                synth_ego_pose(sc, tp, &x, &y, &yaw);
                double course = fmod(90.0 - yaw / DEG + 720.0, 360.0);
                synth_gprmc(tp, sc->ego_speed_mps, course,
                            (char *)pos + AVT_VELODYNE_POSITION_NMEA_OFFSET, 72);
                uint8_t pframe[42 + AVT_VELODYNE_POSITION_PAYLOAD];
                size_t len = synth_udp_frame(pframe, ip_id++, AVT_VELODYNE_POSITION_PORT, pos,
                                             sizeof pos);
                int64_t prec = tp + (int64_t)llround(synth_rng_range(&net, 150e3, 250e3));
                if (prec <= prev_rec) prec = prev_rec + 1000;
                dump(pd, prec, pframe, len);
                prev_rec = prec;
                next_pos_s++;
            }
            if (rec <= prev_rec) rec = prev_rec + 1000;
            size_t len = synth_udp_frame(frame, ip_id++, AVT_VELODYNE_DATA_PORT,
                                         chunk + (size_t)i * AVT_VLP16_PAYLOAD, AVT_VLP16_PAYLOAD);
            dump(pd, rec, frame, len);
            prev_rec = rec;
            for (int s = 0; s < spp; s++) {
                if (sweep_add(sc, &sw, &n_sw, &cap_sw, &last_pkt, k * spp + s, k,
                              t_pkt + (int64_t)s * m->seq_ns, counts[i][s]) != AVT_OK) {
                    rc = avt_err(err, AVT_NOMEM, "synth: out of memory");
                    goto out;
                }
            }
        }
        if (progress) progress(0.3 * (double)(k0 + nk) / (double)n_pkt, ctx);
    }
    if (pcap_dump_flush(pd) != 0) {
        rc = avt_err(err, AVT_IO, "%s: write error", pcap_path);
        goto out;
    }
    for (size_t m = 0; m < n_sw; m++) {
        synth_sweep *s = &sw[m];
        s->complete = s->n_seq == SYNTH_SEQ_PER_REV;
        if (s->timestamp_ns < 0) s->timestamp_ns = s->start_ns + (s->end_ns - s->start_ns) / 2;
    }
    *sweeps = sw;
    *n_sweeps = n_sw;
    sw = NULL;
out:
    free(sw);
    free(counts);
    free(chunk);
    if (pd) pcap_dump_close(pd);
    if (p) pcap_close(p);
    free(lc);
    return rc;
}
