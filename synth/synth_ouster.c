/* avtruth synth: an Ouster OS-0/OS-1 packet capture ray-cast over the scene, its sensor
 * metadata JSON and log.yaml, and the frame truth.
 *
 * Specs: Ouster Sensor Docs (firmware user manual v2.x/v3.x), "Sensor Data" > "Lidar Data
 * Format" ("Legacy Data Packet Format"; "Configurable Data Packet Format": packet header,
 * column header, "RNG19_RFL8_SIG16_NIR16", "RNG19_RFL8_SIG16_NIR16_DUAL", "RNG15_RFL8_NIR8"
 * (low data rate)), "IMU Data Format", "Coordinate Frames and XYZ Calculation" and "Sensor
 * Metadata"; read the way ouster-sdk reads them (ouster_client/src/parsing.cpp: the
 * packet_format field tables and header offsets; xyzlut.cpp: make_xyz_lut), which is what
 * ingest/ouster.c implements. All multi-byte fields little-endian.
 *
 * Lidar data packet, UDP 192.168.1.201:7502 -> 255.255.255.255:7502, 16 columns:
 *
 *   non-legacy profiles: packet header, 32 B
 *   +----------+-------------+--------------+-----------------+---------------------------+
 *   | type u16 | frame id u16| init id u24  | serial no. u40  | 20 B alerts/countdowns: 0 |
 *   |  = 1     |             | (metadata)   | (metadata)      |                           |
 *   +----------+-------------+--------------+-----------------+---------------------------+
 *   16 columns, each:
 *   +-----------------------+--------------------+-----------------------------------------+
 *   | timestamp u64 ns      | measurement id u16 | status u16 = 1 (valid)                  |
 *   +-----------------------+--------------------+-----------------------------------------+
 *   | h pixels, beam 0 (top) first:                                                      |
 *   |  RNG19_RFL8_SIG16_NIR16 (12 B):  range u32 (bits 0-18, mm) | refl u8 | 0 |          |
 *   |                                  signal u16 | NIR u16 | 0 u16                      |
 *   |  ..._DUAL (16 B): range1 (bits 0-18) refl1 (byte 3) | range2 refl2 (byte 7) |      |
 *   |                   signal1 u16 | signal2 u16 | NIR u16 | 0 u16                      |
 *   |  RNG15_RFL8_NIR8 (4 B): range u16 (bits 0-14, units of 8 mm) | refl u8 |           |
 *   |                         NIR u8 (NIR / 16)                                          |
 *   +------------------------------------------------------------------------------------+
 *   packet footer, 32 B: 0 (reserved)
 *
 *   LEGACY: no packet header or footer; each column
 *   +---------------+--------------------+--------------+-------------------------------+
 *   | timestamp u64 | measurement id u16 | frame id u16 | encoder count u32 (90112/rev) |
 *   +---------------+--------------------+--------------+-------------------------------+
 *   | h x 12 B: range u32 (bits 0-19, mm) | refl u16 | signal u16 | NIR u16 | 0 u16     |
 *   +------------------------------------------------------------------------------------+
 *   | status u32 = 0xFFFFFFFF (valid)                                                    |
 *   +------------------------------------------------------------------------------------+
 *
 * IMU packet, UDP :7503, 48 B at 100 Hz: system, accelerometer and gyroscope timestamps u64
 * ns | linear acceleration x y z f32 (g) | angular velocity x y z f32 (deg/s).
 *
 * Datagrams above the 1500-byte MTU are sent as IPv4 fragments (synth_ipv4_fragment), as a
 * real sensor's are; for packet P with (P + seed) % 11 == 5 the last fragment is sent first.
 * Packet P with (P + seed) % 997 == 0 is dropped (never the first or last of the capture);
 * truth/lidar_frames.csv counts them per frame.
 *
 * Geometry, exactly the decoder's (ingest/ouster.c, ouster-sdk make_xyz_lut): column v of w
 * has encoder angle te = 2 pi (1 - v/w); beam u leaves the beam origin
 * B = (b cos te, b sin te, 0), b = lidar_origin_to_beam_origin_mm, along
 * d = (cos(te + ta) cos phi, sin(te + ta) cos phi, sin phi), ta = -beam_azimuth, phi =
 * beam_altitude, in the lidar frame; lidar_to_sensor_transform takes both to the sensor frame
 * (the scene's LiDAR frame). A surface hit at distance s from B is reported as range
 * r = s + b (mm: the decoder's point is r d + B - b d), rounded to the profile's unit.
 *
 * Time: column g of the log (sweep m = g / w, measurement id v = g % w) is measured at
 * synth_ouster_col_ns(g): columns equally spaced over a revolution of 1 s / hz; the frame id
 * of sweep m is 65534 + m (mod 65536), so ids wrap early in every log. The scene's head
 * azimuth turns at the same rate, column 0 at the cut (180 deg, behind), as avtruth/ouster.h
 * defines. Each packet is sent 80..160 us after its last column.
 *
 * Dual returns: where the first surface hit is a pedestrian or a cyclist (see-through
 * silhouettes), the beam continues past that box and the next surface it meets, if any, is
 * the second return (its signal capped below the first's); elsewhere range2 = 0. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avtruth/ouster.h"
#include "synth_private.h"

#define DEG (M_PI / 180.0)
#define CPP SYNTH_OUSTER_COLS_PER_PACKET
#define CHUNK 64
#define MTU 1500
#define FRAME_ID0 65534
#define DROP_PERIOD 997
#define REORDER_PERIOD 11
#define IMU_PERIOD_NS 10000000LL
#define ENCODER_TICKS 90112

/* Beam tables of real units (their metadata as published with ouster-sdk's test data:
 * OS-1-64 "sensor_config_reduced", OS-0-128-U1 firmware v2.3.0). */
static const double OS1_64_ALT[64] = {
    16.46, 15.88, 15.32, 14.8, 14.29, 13.71, 13.17, 12.63, 12.15, 11.58, 11.05, 10.52, 10.05,
    9.49, 8.95, 8.43, 7.95, 7.41, 6.88, 6.34, 5.87, 5.33, 4.8, 4.27, 3.79, 3.26, 2.72, 2.19,
    1.71, 1.18, 0.65, 0.12, -0.36, -0.9, -1.43, -1.96, -2.44, -2.97, -3.51, -4.04, -4.52,
    -5.05, -5.58, -6.12, -6.61, -7.13, -7.67, -8.22, -8.7, -9.22, -9.76, -10.3, -10.8, -11.33,
    -11.86, -12.43, -12.91, -13.45, -14, -14.57, -15.07, -15.6, -16.17, -16.75
};
static const double OS1_64_AZ[64] = {
    3.12, 0.97, -1.18, -3.3, 3.09, 0.97, -1.15, -3.25, 3.09, 0.98, -1.12, -3.21, 3.08, 0.99,
    -1.09, -3.17, 3.08, 1, -1.06, -3.15, 3.08, 1.02, -1.05, -3.12, 3.1, 1.03, -1.04, -3.1,
    3.11, 1.04, -1.03, -3.09, 3.12, 1.04, -1.01, -3.09, 3.14, 1.07, -1, -3.08, 3.15, 1.07, -1,
    -3.08, 3.17, 1.08, -0.99, -3.1, 3.19, 1.1, -0.98, -3.09, 3.23, 1.12, -0.99, -3.11, 3.24,
    1.12, -1, -3.13, 3.29, 1.14, -1.01, -3.17
};
static const double OS0_128_ALT[128] = {
    45.75, 44.7, 43.93, 43.47, 42.72, 41.68, 40.94, 40.46, 39.7, 38.69, 37.95, 37.47, 36.71,
    35.72, 35, 34.51, 33.74, 32.78, 32.06, 31.56, 30.8, 29.85, 29.13, 28.62, 27.86, 26.93,
    26.23, 25.7, 24.93, 24.03, 23.33, 22.79, 22.03, 21.16, 20.46, 19.91, 19.13, 18.3, 17.6,
    17.04, 16.27, 15.45, 14.76, 14.19, 13.41, 12.62, 11.94, 11.34, 10.55, 9.81, 9.13, 8.51,
    7.71, 6.99, 6.31, 5.68, 4.87, 4.17, 3.5, 2.86, 2.06, 1.37, 0.71, 0.04, -0.77, -1.43, -2.09,
    -2.77, -3.6, -4.23, -4.9, -5.6, -6.43, -7.05, -7.71, -8.43, -9.24, -9.85, -10.51, -11.28,
    -12.07, -12.65, -13.34, -14.1, -14.91, -15.48, -16.16, -16.95, -17.77, -18.32, -18.99,
    -19.8, -20.62, -21.17, -21.84, -22.68, -23.5, -24.02, -24.7, -25.56, -26.39, -26.9, -27.57,
    -28.46, -29.29, -29.78, -30.47, -31.36, -32.21, -32.68, -33.37, -34.29, -35.14, -35.6,
    -36.29, -37.24, -38.11, -38.55, -39.24, -40.21, -41.08, -41.51, -42.23, -43.22, -44.09,
    -44.52, -45.24, -46.26
};
static const double OS0_128_AZ[128] = {
    11.24, 3.93, -3.29, -10.34, 10.81, 3.75, -3.18, -10, 10.41, 3.61, -3.1, -9.7, 10.09, 3.49,
    -3.02, -9.45, 9.81, 3.39, -2.96, -9.23, 9.56, 3.3, -2.91, -9.05, 9.35, 3.21, -2.87, -8.88,
    9.15, 3.14, -2.83, -8.76, 8.99, 3.06, -2.8, -8.63, 8.85, 3.02, -2.79, -8.55, 8.73, 2.96,
    -2.77, -8.49, 8.64, 2.93, -2.77, -8.41, 8.55, 2.89, -2.76, -8.38, 8.5, 2.86, -2.77, -8.37,
    8.45, 2.83, -2.77, -8.35, 8.41, 2.82, -2.77, -8.35, 8.39, 2.8, -2.8, -8.39, 8.39, 2.79,
    -2.82, -8.43, 8.4, 2.8, -2.83, -8.47, 8.42, 2.79, -2.87, -8.55, 8.46, 2.79, -2.92, -8.63,
    8.51, 2.78, -2.96, -8.73, 8.58, 2.8, -3.01, -8.86, 8.66, 2.83, -3.07, -9.01, 8.78, 2.85,
    -3.14, -9.17, 8.9, 2.88, -3.22, -9.35, 9.05, 2.91, -3.31, -9.57, 9.23, 2.95, -3.41, -9.83,
    9.44, 3.01, -3.51, -10.12, 9.7, 3.08, -3.64, -10.47, 9.99, 3.15, -3.8, -10.88, 10.34, 3.24,
    -3.98, -11.35
};

static const synth_ouster_model MODELS[] = {
    {"os1-64", "OS-1-64", 64, 1024, 10, OS1_64_ALT, OS1_64_AZ, 12.163, 36.18},
    {"os0-128", "OS-0-128", 128, 1024, 10, OS0_128_ALT, OS0_128_AZ, 27.67, 36.18},
};

static const struct {
    const char *name, *udp_profile;
    int profile;
    size_t px_bytes;
} PROFILES[] = {
    {"legacy", "LEGACY", AVT_OUSTER_LEGACY, 12},
    {"rng19", "RNG19_RFL8_SIG16_NIR16", AVT_OUSTER_RNG19_RFL8_SIG16_NIR16, 12},
    {"rng19-dual", "RNG19_RFL8_SIG16_NIR16_DUAL", AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_DUAL, 16},
    {"rng15", "RNG15_RFL8_NIR8", AVT_OUSTER_RNG15_RFL8_NIR8, 4},
};
#define N_PROFILES (sizeof PROFILES / sizeof PROFILES[0])

const synth_ouster_model *synth_ouster_model_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof MODELS / sizeof MODELS[0]; i++)
        if (strcmp(MODELS[i].name, name) == 0) return &MODELS[i];
    return NULL;
}

int synth_ouster_profile_find(const char *name)
{
    for (size_t i = 0; name && i < N_PROFILES; i++)
        if (strcmp(PROFILES[i].name, name) == 0 || strcmp(PROFILES[i].udp_profile, name) == 0)
            return PROFILES[i].profile;
    return -1;
}

static size_t profile_index(int profile)
{
    for (size_t i = 0; i < N_PROFILES; i++)
        if (PROFILES[i].profile == profile) return i;
    return 0;
}

int64_t synth_ouster_col_ns(const synth_scene *sc, int64_t g)
{
    const int64_t w = sc->ouster->w;
    return sc->t0_ns - (int64_t)sc->phase * sc->rev_ns / w + g * sc->rev_ns / w;
}

/* The metadata's transforms (row-major, mm), used for the rays and written to the JSON. */
static void beam_to_lidar(const synth_ouster_model *m, double T[16])
{
    static const double I[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    memcpy(T, I, sizeof I);
    T[3] = m->beam_origin_mm;
}

static void lidar_to_sensor(const synth_ouster_model *m, double T[16])
{
    static const double R[16] = {-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    memcpy(T, R, sizeof R);
    T[11] = m->sensor_z_mm;
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

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f32(uint8_t *p, double v)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_le32(p, u);
}

static size_t col_bytes(int profile, int h)
{
    size_t px = PROFILES[profile_index(profile)].px_bytes;
    return profile == AVT_OUSTER_LEGACY ? 16 + (size_t)h * px + 4 : 12 + (size_t)h * px;
}

static size_t packet_bytes(int profile, int h)
{
    return (profile == AVT_OUSTER_LEGACY ? 0 : 64) + CPP * col_bytes(profile, h);
}

/* Rays per (column, beam) in the sensor frame, metres; boxes at t0 and their velocities. */
typedef struct ouster_ctx {
    const synth_scene *sc;
    int w, h, profile;
    double *origin, *dir;   /* [3 w h] */
    double range_add_mm;    /* b: range = distance from the beam origin + b */
    uint32_t init_id;
    uint64_t serial;
    synth_box box0[SYNTH_MAX_OBJECTS];
    double vel[SYNTH_MAX_OBJECTS][3];
} ouster_ctx;

static int ctx_init(ouster_ctx *oc, const synth_scene *sc)
{
    const synth_ouster_model *m = sc->ouster;
    double B[16], T[16];
    beam_to_lidar(m, B);
    lidar_to_sensor(m, T);
    oc->sc = sc;
    oc->w = m->w;
    oc->h = m->h;
    oc->profile = sc->ouster_profile;
    oc->range_add_mm = B[11] != 0 ? hypot(B[3], B[11]) : B[3];
    oc->init_id = (uint32_t)(0x5A0000u + (sc->cfg.seed & 0xFFFFu));
    oc->serial = 992200000000ULL + (uint64_t)m->h;
    oc->origin = malloc(3 * sizeof(double) * (size_t)m->w * (size_t)m->h);
    oc->dir = malloc(3 * sizeof(double) * (size_t)m->w * (size_t)m->h);
    if (!oc->origin || !oc->dir) return AVT_NOMEM;
    for (int v = 0; v < m->w; v++) {
        const double te = 2.0 * M_PI * (1.0 - (double)v / m->w);
        for (int u = 0; u < m->h; u++) {
            const double ta = -m->az_deg[u] * DEG, phi = m->alt_deg[u] * DEG;
            const double d[3] = {cos(te + ta) * cos(phi), sin(te + ta) * cos(phi), sin(phi)};
            const double o[3] = {B[3] * cos(te), B[3] * sin(te), B[11]};
            const size_t k = 3 * ((size_t)v * m->h + u);
            for (int i = 0; i < 3; i++) {
                oc->dir[k + i] = T[4 * i] * d[0] + T[4 * i + 1] * d[1] + T[4 * i + 2] * d[2];
                oc->origin[k + i] = (T[4 * i] * o[0] + T[4 * i + 1] * o[1] + T[4 * i + 2] * o[2] +
                                     T[4 * i + 3]) * 1e-3;
            }
        }
    }
    for (size_t i = 0; i < sc->n_obj; i++) {
        synth_object_box(sc, i, sc->t0_ns, &oc->box0[i]);
        synth_object_velocity(&sc->obj[i], oc->vel[i]);
    }
    return AVT_OK;
}

static void ctx_free(ouster_ctx *oc)
{
    free(oc->origin);
    free(oc->dir);
}

/* One return: range in the profile's raw unit (0 = none), reflectivity, signal. */
typedef struct ret {
    uint32_t raw;
    uint8_t refl;
    uint16_t signal;
} ret;

static ret make_return(const ouster_ctx *oc, double s_m, uint8_t refl)
{
    ret r = {0, 0, 0};
    const double mm = s_m * 1000.0 + oc->range_add_mm;
    const long q = oc->profile == AVT_OUSTER_RNG15_RFL8_NIR8 ? lround(mm / 8.0) : lround(mm);
    const long max = oc->profile == AVT_OUSTER_RNG15_RFL8_NIR8 ? 0x7FFF
                     : oc->profile == AVT_OUSTER_LEGACY        ? 0xFFFFF
                                                               : 0x7FFFF;
    if (s_m < SYNTH_LIDAR_MIN_RANGE_M || q <= 0 || q > max) return r;
    r.raw = (uint32_t)q;
    r.refl = refl;
    double sig = 16.0 + refl * 4000.0 / (4.0 + s_m * s_m);
    r.signal = (uint16_t)(sig > 65535 ? 65535 : lround(sig));
    return r;
}

static uint8_t surface_refl(const synth_scene *sc, int hit, const double o[3], const double d[3],
                            double t)
{
    if (hit >= 0) return sc->obj[hit].reflectivity;
    double px = o[0] + t * d[0], py = o[1] + t * d[1];
    return ((long)floor(px) + (long)floor(py)) & 1 ? 35 : 12; /* the Velodyne path's ground */
}

/* Casts beam u of column v from world_T_lidar against the boxes bx: the first surface, and
 * for the dual profile the one behind a see-through object. */
static void cast_pixel(const ouster_ctx *oc, const synth_box *bx, const avt_tf *world_T_lidar,
                       int v, int u, ret *r1, ret *r2)
{
    const synth_scene *sc = oc->sc;
    const size_t k = 3 * ((size_t)v * oc->h + u);
    double o[3], d[3], th, t_exit;
    int face, hit;
    avt_tf_apply(world_T_lidar, oc->origin + k, o);
    avt_tf_rotate(world_T_lidar, oc->dir + k, d);
    memset(r1, 0, sizeof *r1);
    memset(r2, 0, sizeof *r2);
    hit = synth_cast(bx, sc->n_obj, o, d, SYNTH_LIDAR_MAX_RANGE_M, &th, &face);
    if (hit == -2) return;
    *r1 = make_return(oc, th, surface_refl(sc, hit, o, d, th));
    if (!r1->raw || oc->profile != AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_DUAL || hit < 0 ||
        (sc->obj[hit].cls != SYNTH_PEDESTRIAN && sc->obj[hit].cls != SYNTH_CYCLIST))
        return;
    /* from just inside the box the slab test gives its exit; continue just past it */
    const double t_in = th + 1e-4;
    const double oi[3] = {o[0] + t_in * d[0], o[1] + t_in * d[1], o[2] + t_in * d[2]};
    if (!synth_box_hit(&bx[hit], oi, d, &t_exit, &face)) return;
    const double t_past = t_in + t_exit + 1e-4;
    const double op[3] = {o[0] + t_past * d[0], o[1] + t_past * d[1], o[2] + t_past * d[2]};
    double t2;
    int hit2 = synth_cast(bx, sc->n_obj, op, d, SYNTH_LIDAR_MAX_RANGE_M - t_past, &t2, &face);
    if (hit2 == -2) return;
    *r2 = make_return(oc, t_past + t2, surface_refl(sc, hit2, op, d, t2));
    if (r2->raw && r2->signal >= r1->signal) r2->signal = r1->signal > 1 ? r1->signal - 1 : 1;
}

/* Ambient (NIR) level of a pixel: any deterministic pattern. */
static uint16_t nir_of(int v, int u) { return (uint16_t)(64 + 4 * ((v * 37 + u * 11) % 256)); }

/* Builds data packet P (global: columns CPP P .. CPP P + 15) into pl; counts its returns. */
static void packet_build(const ouster_ctx *oc, int64_t P, uint8_t *pl, int *points, int *second)
{
    const synth_scene *sc = oc->sc;
    const int legacy = oc->profile == AVT_OUSTER_LEGACY, h = oc->h;
    const size_t pxb = PROFILES[profile_index(oc->profile)].px_bytes, cb = col_bytes(oc->profile, h);
    const int64_t m = P * CPP / oc->w;
    const uint16_t frame_id = (uint16_t)(FRAME_ID0 + m);
    synth_box bx[SYNTH_MAX_OBJECTS];
    *points = *second = 0;
    memset(pl, 0, packet_bytes(oc->profile, h));
    if (!legacy) {
        put_le16(pl, 1); /* lidar data */
        put_le16(pl + 2, frame_id);
        put_le32(pl + 4, oc->init_id & 0xFFFFFFu); /* u24: byte 7 is overwritten next */
        put_le64(pl + 7, oc->serial & 0xFFFFFFFFFFULL); /* u40: bytes 12..14 stay 0 */
    }
    for (int c = 0; c < CPP; c++) {
        const int64_t g = P * CPP + c;
        const int v = (int)(g % oc->w);
        const int64_t t = synth_ouster_col_ns(sc, g);
        uint8_t *col = pl + (legacy ? 0 : 32) + (size_t)c * cb;
        put_le64(col, (uint64_t)t);
        put_le16(col + 8, (uint16_t)v);
        if (legacy) {
            put_le16(col + 10, frame_id);
            put_le32(col + 12, (uint32_t)((int64_t)v * ENCODER_TICKS / oc->w));
            put_le32(col + 16 + (size_t)h * pxb, 0xFFFFFFFFu);
        } else {
            put_le16(col + 10, 1); /* status: valid */
        }
        const double dt = (double)(t - sc->t0_ns) * 1e-9;
        for (size_t i = 0; i < sc->n_obj; i++) {
            bx[i] = oc->box0[i];
            bx[i].c[0] += oc->vel[i][0] * dt;
            bx[i].c[1] += oc->vel[i][1] * dt;
        }
        avt_tf world_T_ego = synth_world_T_ego(sc, t);
        avt_tf world_T_lidar = avt_tf_mul(&world_T_ego, &sc->ego_T_lidar);
        uint8_t *px = col + (legacy ? 16 : 12);
        for (int u = 0; u < h; u++, px += pxb) {
            ret r1, r2;
            cast_pixel(oc, bx, &world_T_lidar, v, u, &r1, &r2);
            const uint16_t nir = nir_of(v, u);
            *points += (r1.raw != 0) + (r2.raw != 0);
            *second += r2.raw != 0;
            switch (oc->profile) {
            case AVT_OUSTER_LEGACY:
                put_le32(px, r1.raw);
                put_le16(px + 4, r1.refl);
                put_le16(px + 6, r1.signal);
                put_le16(px + 8, nir);
                break;
            case AVT_OUSTER_RNG19_RFL8_SIG16_NIR16:
                put_le32(px, r1.raw);
                px[4] = r1.refl;
                put_le16(px + 6, r1.signal);
                put_le16(px + 8, nir);
                break;
            case AVT_OUSTER_RNG19_RFL8_SIG16_NIR16_DUAL:
                put_le32(px, r1.raw);
                px[3] = r1.refl;
                put_le32(px + 4, r2.raw);
                px[7] = r2.refl;
                put_le16(px + 8, r1.signal);
                put_le16(px + 10, r2.signal);
                put_le16(px + 12, nir);
                break;
            default: /* RNG15_RFL8_NIR8 */
                put_le16(px, (uint16_t)r1.raw);
                px[2] = r1.refl;
                px[3] = (uint8_t)(nir >> 4);
                break;
            }
        }
    }
}

/* IMU packet at t: the ego's specific force (centripetal + 1 g up) and yaw rate, sensor axes. */
static void imu_build(const synth_scene *sc, int64_t t, uint8_t *pl)
{
    const double ego_a[3] = {0, sc->ego_speed_mps * sc->ego_yaw_rate / 9.80665, 1.0};
    const double ego_w[3] = {0, 0, sc->ego_yaw_rate / DEG};
    double a[3], w[3];
    avt_tf_rotate(&sc->lidar_T_ego, ego_a, a);
    avt_tf_rotate(&sc->lidar_T_ego, ego_w, w);
    memset(pl, 0, AVT_OUSTER_IMU_PAYLOAD);
    for (int i = 0; i < 3; i++) put_le64(pl + 8 * i, (uint64_t)t);
    for (int i = 0; i < 3; i++) {
        put_f32(pl + 24 + 4 * i, a[i]);
        put_f32(pl + 36 + 4 * i, w[i]);
    }
}

static void dump(pcap_dumper_t *pd, int64_t rec_ns, const uint8_t *frame, size_t len)
{
    struct pcap_pkthdr ph;
    memset(&ph, 0, sizeof ph);
    ph.ts.tv_sec = (time_t)(rec_ns / 1000000000LL);
    ph.ts.tv_usec = (suseconds_t)((rec_ns % 1000000000LL) / 1000);
    ph.caplen = ph.len = (bpf_u_int32)len;
    pcap_dump((u_char *)pd, &ph, frame);
}

/* Capture state shared by the lidar and IMU streams: records in time order. */
typedef struct writer {
    pcap_dumper_t *pd;
    int64_t prev_rec;
    uint16_t ip_id;
    int64_t t_imu;        /* next IMU sample */
} writer;

static void put_record(writer *wr, int64_t rec, const uint8_t *frame, size_t len)
{
    if (rec <= wr->prev_rec) rec = wr->prev_rec + 1000;
    dump(wr->pd, rec, frame, len);
    wr->prev_rec = rec;
}

/* IMU packets sampled before t_end_ns and received (60 us after sampling) by until_rec. */
static void imu_until(const synth_scene *sc, writer *wr, int64_t until_rec)
{
    while (wr->t_imu < sc->t_end_ns && wr->t_imu + 60000 <= until_rec) {
        uint8_t imu[AVT_OUSTER_IMU_PAYLOAD], frame[42 + AVT_OUSTER_IMU_PAYLOAD];
        imu_build(sc, wr->t_imu, imu);
        size_t len = synth_udp_frame(frame, wr->ip_id++, AVT_OUSTER_IMU_PORT, imu, sizeof imu);
        put_record(wr, wr->t_imu + 60000, frame, len);
        wr->t_imu += IMU_PERIOD_NS;
    }
}

/* Per-frame truth beyond synth_sweep. */
typedef struct frame_truth {
    int packets_dropped;
    int64_t points, second;
} frame_truth;

/* ---- metadata JSON (firmware 3.x layout, as get_metadata returns it) and log.yaml ------ */

static json_t *json_nums(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

static json_t *json_pair(int a, int b)
{
    json_t *j = json_array();
    json_array_append_new(j, json_integer(a));
    json_array_append_new(j, json_integer(b));
    return j;
}

static int write_metadata(const synth_scene *sc, const ouster_ctx *oc, const char *path,
                          avt_error *err)
{
    const synth_ouster_model *m = sc->ouster;
    const char *profile = PROFILES[profile_index(oc->profile)].udp_profile;
    double B[16], T[16];
    static const double IMU[16] = {1, 0, 0, 6.253, 0, 1, 0, -11.775, 0, 0, 1, 7.645, 0, 0, 0, 1};
    char mode[32], serial[32];
    snprintf(mode, sizeof mode, "%dx%d", m->w, m->hz);
    snprintf(serial, sizeof serial, "%" PRIu64, oc->serial);
    beam_to_lidar(m, B);
    lidar_to_sensor(m, T);

    json_t *root = json_object(), *bi = json_object(), *cs = json_object(), *cp = json_object();
    json_t *ii = json_object(), *df = json_object(), *li = json_object(), *si = json_object();
    json_object_set_new(bi, "beam_altitude_angles", json_nums(m->alt_deg, m->h));
    json_object_set_new(bi, "beam_azimuth_angles", json_nums(m->az_deg, m->h));
    json_object_set_new(bi, "beam_to_lidar_transform", json_nums(B, 16));
    json_object_set_new(bi, "lidar_origin_to_beam_origin_mm", json_real(m->beam_origin_mm));
    json_object_set_new(root, "beam_intrinsics", bi);
    json_t *refl = json_object();
    json_object_set_new(refl, "timestamp", json_string("2026-01-15T09:00:00"));
    json_object_set_new(refl, "valid", json_true());
    json_object_set_new(cs, "reflectivity", refl);
    json_object_set_new(root, "calibration_status", cs);
    json_object_set_new(root, "client_version", json_string("avtruth synth " AVT_VERSION));
    json_object_set_new(cp, "azimuth_window", json_pair(0, 360000));
    json_object_set_new(cp, "columns_per_packet", json_integer(CPP));
    json_object_set_new(cp, "lidar_mode", json_string(mode));
    json_object_set_new(cp, "operating_mode", json_string("NORMAL"));
    json_object_set_new(cp, "signal_multiplier", json_integer(1));
    json_object_set_new(cp, "timestamp_mode", json_string("TIME_FROM_PTP_1588"));
    json_object_set_new(cp, "udp_port_imu", json_integer(AVT_OUSTER_IMU_PORT));
    json_object_set_new(cp, "udp_port_lidar", json_integer(AVT_OUSTER_LIDAR_PORT));
    json_object_set_new(cp, "udp_profile_imu", json_string("LEGACY"));
    json_object_set_new(cp, "udp_profile_lidar", json_string(profile));
    json_object_set_new(root, "config_params", cp);
    json_object_set_new(ii, "imu_to_sensor_transform", json_nums(IMU, 16));
    json_object_set_new(root, "imu_intrinsics", ii);
    json_object_set_new(df, "column_window", json_pair(0, m->w - 1));
    json_object_set_new(df, "columns_per_frame", json_integer(m->w));
    json_object_set_new(df, "columns_per_packet", json_integer(CPP));
    json_t *shift = json_array();
    for (int u = 0; u < m->h; u++)
        json_array_append_new(shift, json_integer(lround(m->az_deg[u] * m->w / 360.0)));
    json_object_set_new(df, "pixel_shift_by_row", shift);
    json_object_set_new(df, "pixels_per_column", json_integer(m->h));
    json_object_set_new(df, "udp_profile_imu", json_string("LEGACY"));
    json_object_set_new(df, "udp_profile_lidar", json_string(profile));
    json_object_set_new(root, "lidar_data_format", df);
    json_object_set_new(li, "lidar_to_sensor_transform", json_nums(T, 16));
    json_object_set_new(root, "lidar_intrinsics", li);
    json_object_set_new(si, "build_date", json_string("2026-01-15T09:00:00Z"));
    json_object_set_new(si, "build_rev", json_string("v3.0.1"));
    json_object_set_new(si, "image_rev", json_string("avtruth-synth"));
    json_object_set_new(si, "initialization_id", json_integer(oc->init_id));
    json_object_set_new(si, "prod_line", json_string(m->prod_line));
    json_object_set_new(si, "prod_pn", json_string("840-000000-00"));
    json_object_set_new(si, "prod_sn", json_string(serial));
    json_object_set_new(si, "status", json_string("RUNNING"));
    json_object_set_new(root, "sensor_info", si);
    /* 15 significant digits print the tables' decimal literals exactly: the decoder parses
     * the very doubles the rays were cast with */
    int r = json_dump_file(root, path, JSON_INDENT(4) | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (r != 0) return avt_err(err, AVT_IO, "%s: cannot write", path);
    return AVT_OK;
}

static int write_text(const char *path, const char *text, avt_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create", path);
    int bad = fputs(text, f) < 0;
    if (fclose(f) != 0 || bad) return avt_err(err, AVT_IO, "%s: write error", path);
    return AVT_OK;
}

static int write_frames(const synth_sweep *sw, const frame_truth *ft, size_t n,
                        const char *path, avt_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create", path);
    fprintf(f, "sweep,frame_id,columns,packets,packets_dropped,points,second_returns\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%u,%" PRId64 ",%d,%d,%" PRId64 ",%" PRId64 "\n", i,
                (unsigned)(uint16_t)(FRAME_ID0 + i), sw[i].n_seq, sw[i].packets,
                ft[i].packets_dropped, ft[i].points, ft[i].second);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return avt_err(err, AVT_IO, "%s: write error", path);
    return AVT_OK;
}

void synth_ouster_params(const synth_scene *sc, json_t *li, json_t *def)
{
    const synth_ouster_model *m = sc->ouster;
    json_object_del(li, "sequences_per_revolution");
    json_object_set_new(li, "profile",
                        json_string(PROFILES[profile_index(sc->ouster_profile)].udp_profile));
    json_object_set_new(li, "columns_per_frame", json_integer(m->w));
    json_object_set_new(li, "pixels_per_column", json_integer(m->h));
    json_object_set_new(li, "columns_per_packet", json_integer(CPP));
    json_object_set_new(li, "first_column", json_integer(sc->phase));
    json_object_set_new(li, "frame_id_of_sweep_0", json_integer(FRAME_ID0));
    json_object_set_new(li, "network_delay_us", json_string("uniform [80, 160] after the packet's last column"));
    json_object_set_new(li, "mtu", json_integer(MTU));
    json_object_set_new(li, "dropped_packets", json_string("global packet P (columns 16 P .. 16 P + 15) with (P + seed) % 997 == 0, "
                                                           "except the capture's first and last"));
    json_object_set_new(li, "reordered_fragments", json_string("packet P with (P + seed) % 11 == 5: last fragment first"));
    json_object_set_new(li, "imu_rate_hz", json_integer(1000000000LL / IMU_PERIOD_NS));
    json_object_del(def, "firing_time");
    json_object_set_new(def, "head_azimuth",
        json_string("A(t) = az0_deg + 360 (t - t0_ns) / revolution_ns, degrees, clockwise from LiDAR +x, "
                    "unwrapped; column v of sweep m is at A = cut_deg + 360 (m + v / w)"));
    json_object_set_new(def, "column_time",
        json_string("global column g = w m + v (sweep m, measurement id v; g = first_column at t0_ns): "
                    "t = t0_ns - floor(first_column revolution_ns / w) + floor(g revolution_ns / w); "
                    "every pixel of a column has its time"));
    json_object_set_new(def, "sweep_membership",
        json_string("sweep m = frame id (frame_id_of_sweep_0 + m) mod 65536; columns 0 .. w - 1"));
    json_object_set_new(def, "sweep_times",
        json_string("start_ns, end_ns = times of the first and last column present (dropped packets' "
                    "columns are not); timestamp_ns = time of column w / 2, or (start+end)/2 when it "
                    "is absent; packets = data packets present; complete = all w columns present; "
                    "truth/lidar_frames.csv: columns present, dropped packets, returns"));
    json_object_set_new(def, "second_return",
        json_string("dual profile: where the first surface is a pedestrian or cyclist the beam continues "
                    "past the box; the next surface within max_range_m is the second return"));
}

int synth_ouster_write(const synth_scene *sc, const char *dir, synth_sweep **sweeps,
                       size_t *n_sweeps, void (*progress)(double, void *), void *ctx,
                       avt_error *err)
{
    int rc = AVT_OK;
    pcap_t *p = NULL;
    pcap_dumper_t *pd = NULL;
    uint8_t *chunk = NULL, *frame = NULL;
    synth_sweep *sw = NULL;
    frame_truth *ft = NULL;
    size_t n_sw = 0, cap_sw = 0, cap_ft = 0;
    ouster_ctx oc;
    char path[4096], rel[256];
    int points[CHUNK], second[CHUNK];
    const synth_ouster_model *m = sc->ouster;
    const size_t pkt = packet_bytes(sc->ouster_profile, m->h);

    memset(&oc, 0, sizeof oc);
    *sweeps = NULL;
    *n_sweeps = 0;
    if (ctx_init(&oc, sc) != AVT_OK) {
        rc = avt_err(err, AVT_NOMEM, "synth: out of memory for the Ouster ray table");
        goto out;
    }

    snprintf(rel, sizeof rel, "lidar/%s.json", m->name);
    if (avt_path_join(path, sizeof path, dir, rel) != AVT_OK) {
        rc = avt_err(err, AVT_INVAL, "%s/%s: path too long", dir, rel);
        goto out;
    }
    if ((rc = write_metadata(sc, &oc, path, err))) goto out;
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "# written by avtruth synth: the capture's sensor (docs/drive-log.md)\n"
             "lidar:\n  model: ouster\n  metadata: lidar/%s.json\n", m->name);
    if (avt_path_join(path, sizeof path, dir, "log.yaml") != AVT_OK) {
        rc = avt_err(err, AVT_INVAL, "%s/log.yaml: path too long", dir);
        goto out;
    }
    if ((rc = write_text(path, yaml, err))) goto out;

    snprintf(rel, sizeof rel, "lidar/%s.pcap", m->name);
    if (avt_path_join(path, sizeof path, dir, rel) != AVT_OK) {
        rc = avt_err(err, AVT_INVAL, "%s/%s: path too long", dir, rel);
        goto out;
    }
    p = pcap_open_dead(DLT_EN10MB, 65535);
    if (!p) {
        rc = avt_err(err, AVT_IO, "%s: pcap_open_dead failed", path);
        goto out;
    }
    pd = pcap_dump_open(p, path);
    if (!pd) {
        rc = avt_err(err, AVT_IO, "%s: %s", path, pcap_geterr(p));
        goto out;
    }
    chunk = malloc((size_t)CHUNK * pkt);
    frame = malloc(42 + pkt + 14 + MTU);
    if (!chunk || !frame) {
        rc = avt_err(err, AVT_NOMEM, "synth: out of memory");
        goto out;
    }
    uint8_t *frag = frame + 42 + pkt;

    /* packets P0 .. P0 + n_pkt - 1: the first starts at t0_ns, none starts at or after t_end */
    const int64_t P0 = sc->phase / CPP;
    int64_t n_pkt = 0;
    while (synth_ouster_col_ns(sc, (P0 + n_pkt) * CPP) < sc->t_end_ns) n_pkt++;

    synth_rng net;
    synth_rng_seed(&net, sc->cfg.seed ^ 0x6F7573746572ULL);
    writer wr = {pd, 0, 0, (sc->t0_ns + IMU_PERIOD_NS - 1) / IMU_PERIOD_NS * IMU_PERIOD_NS};
    const uint64_t seed = sc->cfg.seed;

    for (int64_t k0 = 0; k0 < n_pkt; k0 += CHUNK) {
        const int64_t nk = n_pkt - k0 < CHUNK ? n_pkt - k0 : CHUNK;
#pragma omp parallel for schedule(dynamic)
        for (int64_t i = 0; i < nk; i++)
            packet_build(&oc, P0 + k0 + i, chunk + (size_t)i * pkt, &points[i], &second[i]);

        for (int64_t i = 0; i < nk; i++) {
            const int64_t k = k0 + i, P = P0 + k;
            const size_t ms = (size_t)(P * CPP / m->w);
            if (ms >= n_sw) {
                if (avt_grow((void **)&sw, &cap_sw, ms + 1, sizeof *sw) != AVT_OK ||
                    avt_grow((void **)&ft, &cap_ft, ms + 1, sizeof *ft) != AVT_OK) {
                    rc = avt_err(err, AVT_NOMEM, "synth: out of memory");
                    goto out;
                }
                memset(&sw[ms], 0, sizeof *sw);
                memset(&ft[ms], 0, sizeof *ft);
                sw[ms].az_start_deg = sc->cut_deg + 360.0 * (double)ms;
                sw[ms].timestamp_ns = -1;
                n_sw = ms + 1;
            }
            synth_sweep *s = &sw[ms];
            if ((P + (int64_t)(seed % DROP_PERIOD)) % DROP_PERIOD == 0 && k > 0 && k < n_pkt - 1) {
                ft[ms].packets_dropped++;
                continue;
            }
            const int64_t t_last = synth_ouster_col_ns(sc, P * CPP + CPP - 1);
            int64_t rec = t_last + (int64_t)llround(synth_rng_range(&net, 80e3, 160e3));
            imu_until(sc, &wr, rec);
            const size_t len = synth_udp_frame(frame, wr.ip_id++, AVT_OUSTER_LIDAR_PORT,
                                               chunk + (size_t)i * pkt, pkt);
            size_t nfrag = 0;
            while (synth_ipv4_fragment(frame, len, MTU, nfrag, frag)) nfrag++;
            const int reorder = nfrag > 1 && (P + (int64_t)(seed % REORDER_PERIOD)) % REORDER_PERIOD == 5;
            for (size_t j = 0; j < nfrag; j++) {
                size_t which = reorder ? (j == 0 ? nfrag - 1 : j - 1) : j;
                size_t flen = synth_ipv4_fragment(frame, len, MTU, which, frag);
                /* 12 us per 1500-byte frame on gigabit Ethernet */
                put_record(&wr, rec + 12000 * (int64_t)j, frag, flen);
            }
            for (int c = 0; c < CPP; c++) {
                const int64_t g = P * CPP + c;
                const int64_t t = synth_ouster_col_ns(sc, g);
                if (s->n_seq == 0) s->start_ns = t;
                s->end_ns = t;
                if (g % m->w == m->w / 2) s->timestamp_ns = t;
                s->n_seq++;
            }
            s->packets++;
            ft[ms].points += points[i];
            ft[ms].second += second[i];
        }
        if (progress) progress(0.3 * (double)(k0 + nk) / (double)n_pkt, ctx);
    }
    imu_until(sc, &wr, INT64_MAX); /* the rest, up to the end of the log */
    if (pcap_dump_flush(pd) != 0) {
        rc = avt_err(err, AVT_IO, "%s: write error", path);
        goto out;
    }
    for (size_t i = 0; i < n_sw; i++) {
        synth_sweep *s = &sw[i];
        s->complete = s->n_seq == m->w;
        if (s->timestamp_ns < 0) s->timestamp_ns = s->start_ns + (s->end_ns - s->start_ns) / 2;
    }
    if (avt_path_join(path, sizeof path, dir, "truth/lidar_frames.csv") != AVT_OK) {
        rc = avt_err(err, AVT_INVAL, "%s/truth/lidar_frames.csv: path too long", dir);
        goto out;
    }
    if ((rc = write_frames(sw, ft, n_sw, path, err))) goto out;
    *sweeps = sw;
    *n_sweeps = n_sw;
    sw = NULL;
out:
    free(sw);
    free(ft);
    free(chunk);
    free(frame);
    if (pd) pcap_dump_close(pd);
    if (p) pcap_close(p);
    ctx_free(&oc);
    return rc;
}
