/* Unit tests of the LiDAR ingest: hand-built captures in memory ({bytes, expected result}
 * table), geometry and timing of one VLP-16 packet against the manual's formulas, sweep
 * cutting and loss counting on a synthetic rotation. Truncated real captures: test_truncation.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ingest.h"
#include "avtruth/velodyne.h"
#include "ingest_private.h"

#define T0_S 1577836801LL /* 2020-01-01T00:00:01Z: the record time of the first packet */
#define TOH0_US 1000000u  /* its timestamp: 1 s past the hour */

typedef struct buf {
    uint8_t p[1 << 20];
    size_t n;
} buf;

static void put(buf *b, const void *v, size_t n)
{
    memcpy(b->p + b->n, v, n);
    b->n += n;
}
static void le16(uint8_t *q, uint16_t v) { q[0] = (uint8_t)v, q[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *q, uint32_t v)
{
    for (int i = 0; i < 4; i++) q[i] = (uint8_t)(v >> (8 * i));
}
static void be16(uint8_t *q, uint16_t v) { q[0] = (uint8_t)(v >> 8), q[1] = (uint8_t)v; }

/* Frame variants of the table below. */
enum { LINK_ETH, LINK_VLAN, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL };
typedef struct frame_opts {
    int link;
    uint16_t port;
    int frag, tcp, udp_len_extra, ip_len_extra;
    uint32_t src; /* IPv4 source address, 0 = 0.0.0.0 */
} frame_opts;

static uint32_t dlt_of(int link)
{
    switch (link) {
    case LINK_SLL: return 113;
    case LINK_SLL2: return 276;
    case LINK_RAW: return 101; /* LINKTYPE_RAW */
    case LINK_NULL: return 0;
    default: return 1;
    }
}

static void pcap_global(buf *b, int link)
{
    uint8_t h[24] = {0};
    le32(h, 0xa1b2c3d4u);
    le16(h + 4, 2);
    le16(h + 6, 4);
    le32(h + 16, 65535);
    le32(h + 20, dlt_of(link));
    put(b, h, sizeof h);
}

/* Appends one record: link header, IPv4, UDP, payload. */
static void pcap_frame(buf *b, const frame_opts *o, int64_t t_us, const uint8_t *pl, size_t len)
{
    uint8_t f[2048] = {0};
    size_t n = 0;
    switch (o->link) {
    case LINK_ETH: be16(f + 12, 0x0800); n = 14; break;
    case LINK_VLAN: be16(f + 12, 0x8100); be16(f + 16, 0x0800); n = 18; break;
    case LINK_SLL: be16(f + 14, 0x0800); n = 16; break;
    case LINK_SLL2: be16(f, 0x0800); n = 20; break;
    case LINK_NULL: le32(f, 2); n = 4; break;
    default: n = 0;
    }
    uint8_t *ip = f + n;
    ip[0] = 0x45;
    be16(ip + 2, (uint16_t)(20 + 8 + len + o->ip_len_extra));
    if (o->frag) be16(ip + 6, 0x2000); /* more fragments */
    ip[8] = 64;
    ip[9] = o->tcp ? 6 : 17;
    for (int i = 0; i < 4; i++) ip[12 + i] = (uint8_t)(o->src >> (24 - 8 * i));
    uint8_t *udp = ip + 20;
    be16(udp, o->port);
    be16(udp + 2, o->port);
    be16(udp + 4, (uint16_t)(8 + len + o->udp_len_extra));
    memcpy(udp + 8, pl, len);
    n += 28 + len;
    uint8_t rh[16];
    le32(rh, (uint32_t)(t_us / 1000000));
    le32(rh + 4, (uint32_t)(t_us % 1000000));
    le32(rh + 8, (uint32_t)n);
    le32(rh + 12, (uint32_t)n);
    put(b, rh, sizeof rh);
    put(b, f, n);
}

/* A VLP-16 single-return packet: block b azimuth az0 + 40 b, laser l of sequence s at raw
 * distance 5000 + 16 s + l (10 m and a bit), reflectivity 16 s + l. */
static void vlp16_payload(uint8_t *p, uint32_t toh_us, uint16_t az0, uint8_t mode)
{
    memset(p, 0, AVT_VLP16_PAYLOAD);
    for (int b = 0; b < 12; b++) {
        uint8_t *q = p + 100 * b;
        q[0] = 0xFF;
        q[1] = 0xEE;
        le16(q + 2, (uint16_t)((az0 + 40 * b) % 36000));
        for (int ch = 0; ch < 32; ch++) {
            le16(q + 4 + 3 * ch, (uint16_t)(5000 + ch));
            q[4 + 3 * ch + 2] = (uint8_t)ch;
        }
    }
    le32(p + 1200, toh_us);
    p[1204] = mode;
    p[1205] = AVT_VELODYNE_PRODUCT_VLP16;
}

typedef struct run_result {
    int open_ok, open_code;
    size_t points, sweeps;
    int last_rc;
    avt_lidar_stats st;
    char msg[AVT_ERROR_MAX];
} run_result;

static void run(const uint8_t *data, size_t len, const char *model, run_result *res)
{
    avt_lidar_config cfg;
    avt_error err = {0};
    const avt_sweep *s;
    avt_lidar_config_default(&cfg);
    if (model) cfg.model = model;
    memset(res, 0, sizeof *res);
    avt_lidar_reader *r = avt_lidar_open_mem(data, len, "test.pcap", &cfg, &err);
    res->open_ok = r != NULL;
    res->open_code = err.code;
    if (!r) {
        snprintf(res->msg, sizeof res->msg, "%s", err.msg);
        return;
    }
    while ((res->last_rc = avt_lidar_next(r, &s, &err)) == 1) {
        res->points += s->n;
        res->sweeps++;
    }
    if (res->last_rc < 0) snprintf(res->msg, sizeof res->msg, "%s", err.msg);
    avt_lidar_stats_get(r, &res->st);
    avt_lidar_close(r);
}

/* ---- {bytes, expected} table ---- */

enum mut { M_NONE, M_FLAG, M_SHORT, M_AZ, M_TOH, M_HESAI, M_MAGIC, M_TRUNC };
typedef struct tcase {
    const char *name;
    frame_opts fo;
    int mut;
    int open_ok;
    int rc;          /* final avt_lidar_next status */
    size_t points;
    uint64_t corrupt, skipped;
    const char *msg; /* expected in the error message or in first_corrupt */
} tcase;

static const tcase CASES[] = {
    {"valid Ethernet", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"802.1Q tag", {LINK_VLAN, 2368, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"Linux SLL", {LINK_SLL, 2368, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"Linux SLL2", {LINK_SLL2, 2368, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"raw IPv4", {LINK_RAW, 2368, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"BSD null", {LINK_NULL, 2368, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"bad block flag", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_FLAG, 1, 0, 0, 1, 0, "record 2: block 3 flag"},
    {"short payload", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_SHORT, 1, 0, 0, 1, 0, "1200 bytes"},
    {"azimuth 36000", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_AZ, 1, 0, 0, 1, 0, "azimuth 36000"},
    {"timestamp past the hour", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_TOH, 1, 0, 0, 1, 0, "beyond one hour"},
    {"UDP length beyond IP", {LINK_ETH, 2368, 0, 0, 4, 0, 0}, M_NONE, 1, 0, 0, 1, 0, "UDP length"},
    {"IP length beyond capture", {LINK_ETH, 2368, 0, 0, 0, 8, 0}, M_NONE, 1, 0, 0, 1, 0, "record 2: IPv4 total length 1242 but only 1234 bytes captured"},
    {"other port", {LINK_ETH, 2369, 0, 0, 0, 0, 0}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"IPv4 fragment", {LINK_ETH, 2368, 1, 0, 0, 0, 0}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"TCP", {LINK_ETH, 2368, 0, 1, 0, 0, 0}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"not Velodyne (568-byte payloads)", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_HESAI, 1, AVT_UNSUPPORTED, 0, 0, 0, "unsupported sensor"},
    {"bad pcap magic", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_MAGIC, 0, AVT_FORMAT, 0, 0, 0, "not a readable"},
    {"truncated last record", {LINK_ETH, 2368, 0, 0, 0, 0, 0}, M_TRUNC, 1, 0, 384, 0, 0, "truncated at record 3, byte"},
};

static void test_table(void **state)
{
    (void)state;
    static buf b;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const tcase *c = &CASES[i];
        uint8_t pl[AVT_VLP16_PAYLOAD];
        size_t len = sizeof pl;
        frame_opts ok = {c->fo.link, 2368, 0, 0, 0, 0, 0};
        b.n = 0;
        pcap_global(&b, c->fo.link);
        /* record 1: a valid packet (384 points), so every case has a Velodyne context;
         * except for the foreign sensor, whose every packet is foreign */
        vlp16_payload(pl, TOH0_US, 1000, AVT_VELODYNE_MODE_STRONGEST);
        pcap_frame(&b, &ok, T0_S * 1000000, pl, c->mut == M_HESAI ? 568 : len);
        /* record 2: the case */
        if (c->mut == M_FLAG) pl[300] = 0xDD;
        if (c->mut == M_SHORT) len = 1200;
        if (c->mut == M_AZ) le16(pl + 502, 36000);
        if (c->mut == M_TOH) le32(pl + 1200, AVT_TOH_LIMIT_US);
        if (c->mut == M_HESAI) len = 568;
        pcap_frame(&b, &c->fo, T0_S * 1000000 + 1000, pl, len);
        if (c->mut == M_MAGIC) b.p[0] ^= 0x55;
        if (c->mut == M_TRUNC) {
            vlp16_payload(pl, TOH0_US + 1327, 1480, AVT_VELODYNE_MODE_STRONGEST);
            ok.port = 2368;
            pcap_frame(&b, &ok, T0_S * 1000000 + 2327, pl, len);
            b.n -= 10;
        }
        run_result res;
        run(b.p, b.n, NULL, &res);
        print_message("case %zu: %s -> open %d rc %d points %zu corrupt %llu skipped %llu "
                      "msg \"%s\" first_corrupt \"%s\"\n",
                      i, c->name, res.open_ok, res.open_ok ? res.last_rc : res.open_code,
                      res.points, (unsigned long long)res.st.corrupt,
                      (unsigned long long)res.st.skipped, res.msg, res.st.first_corrupt);
        assert_int_equal(res.open_ok, c->open_ok);
        assert_int_equal(res.open_ok ? res.last_rc : res.open_code, c->rc);
        /* record 1 adds its 384 points wherever decoding goes on */
        assert_int_equal(res.points, c->points + (c->open_ok && c->mut != M_HESAI ? 384 : 0));
        assert_int_equal(res.st.corrupt, c->corrupt);
        assert_int_equal(res.st.skipped, c->skipped);
        if (c->msg) {
            const char *where = c->mut == M_TRUNC ? res.st.truncated
                                : c->corrupt      ? res.st.first_corrupt
                                                  : res.msg;
            if (!strstr(where, c->msg)) fail_msg("case %s: \"%s\" lacks \"%s\"", c->name, where, c->msg);
            if (!strstr(where, "test.pcap")) fail_msg("case %s: message names no file", c->name);
        }
    }
}

/* ---- one packet against the manual's formulas ---- */

static void test_geometry_timing(void **state)
{
    (void)state;
    static buf b;
    uint8_t pl[AVT_VLP16_PAYLOAD];
    frame_opts fo = {LINK_ETH, 2368, 0, 0, 0, 0, 0};
    b.n = 0;
    pcap_global(&b, LINK_ETH);
    vlp16_payload(pl, TOH0_US, 10000, AVT_VELODYNE_MODE_STRONGEST);
    pcap_frame(&b, &fo, T0_S * 1000000 + 20, pl, sizeof pl);

    avt_lidar_config cfg;
    avt_error err = {0};
    const avt_sweep *s = NULL;
    avt_lidar_config_default(&cfg);
    avt_lidar_reader *r = avt_lidar_open_mem(b.p, b.n, "one.pcap", &cfg, &err);
    assert_non_null(r);
    assert_int_equal(avt_lidar_next(r, &s, &err), 1);
    assert_int_equal(s->n, 384);
    const int64_t pkt_ns = (T0_S - 1) * 1000000000LL + (int64_t)TOH0_US * 1000;
    /* manual 9.5: azimuth rate over the packet = (az(block 11) - az(block 0)) / time between */
    const double rate = 440.0 / (11 * 2 * 55296.0);
    for (size_t i = 0; i < s->n; i++) {
        int blk = (int)(i / 32), ch = (int)(i % 32), seq = ch / 16, l = ch % 16;
        int64_t dt = (int64_t)seq * 55296 + (int64_t)l * 2304;              /* 9.4 */
        int64_t t = pkt_ns + (int64_t)blk * 2 * 55296 + dt;
        double az_deg = (10000 + 40 * blk + lround(rate * (double)dt)) / 100.0;
        double d = (5000 + ch) * 0.002, w = AVT_VLP16_ELEVATION_DEG[l] * M_PI / 180;
        double a = az_deg * M_PI / 180;
        double x = d * cos(w) * cos(a), y = -d * cos(w) * sin(a);          /* velodyne.h */
        double z = d * sin(w) + AVT_VLP16_VERT_OFFSET_MM[l] * 1e-3;
        assert_int_equal(s->t_ns[i], t);
        assert_true(fabs(s->xyz[3 * i] - x) < 1e-5 && fabs(s->xyz[3 * i + 1] - y) < 1e-5 &&
                    fabs(s->xyz[3 * i + 2] - z) < 1e-5);
        assert_int_equal(s->intensity[i], ch);
        assert_int_equal(s->return_type[i], AVT_RETURN_STRONGEST);
        /* ring = rank of elevation: -15, -13, ... 15 deg => (elev + 15) / 2 */
        assert_int_equal(s->ring[i], (int)lround((AVT_VLP16_ELEVATION_DEG[l] + 15) / 2));
    }
    assert_int_equal(s->start_ns, pkt_ns);
    assert_int_equal(s->end_ns, pkt_ns + 23 * 55296 + 15 * 2304);
    assert_int_equal(s->packets, 1);
    assert_int_equal(s->complete, 0);
    assert_int_equal(avt_lidar_next(r, &s, &err), 0);
    avt_lidar_close(r);
    avt_lidar_close(NULL);
}

/* ---- sweeps on a synthetic rotation: 10 Hz, 75 packets per turn, one packet lost ---- */

static void test_sweeps(void **state)
{
    (void)state;
    static buf b;
    uint8_t pl[AVT_VLP16_PAYLOAD];
    frame_opts fo = {LINK_ETH, 2368, 0, 0, 0, 0, 0};
    const int npkt = 200, lost_at = 120;
    b.n = 0;
    pcap_global(&b, LINK_ETH);
    for (int k = 0; k < npkt; k++) {
        if (k == lost_at) continue;
        vlp16_payload(pl, TOH0_US + (uint32_t)(k * 1327104LL / 1000), (uint16_t)(480 * k % 36000),
                      AVT_VELODYNE_MODE_STRONGEST);
        pcap_frame(&b, &fo, T0_S * 1000000 + k * 1327, pl, sizeof pl);
    }
    avt_lidar_config cfg;
    avt_error err = {0};
    const avt_sweep *s = NULL;
    avt_lidar_config_default(&cfg);
    avt_lidar_reader *r = avt_lidar_open_mem(b.p, b.n, "rot.pcap", &cfg, &err);
    assert_non_null(r);
    int rc, n = 0;
    uint32_t packets = 0, lost = 0;
    int64_t prev_end = 0;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        assert_int_equal(s->index, (uint64_t)n);
        assert_true(s->start_ns > prev_end);
        prev_end = s->end_ns;
        packets += s->packets;
        lost += s->packets_lost;
        /* the first sweep starts at 0 deg, then every sweep starts where the azimuth reaches
         * 180 deg: x < 0, y ~ 0 for the first firing */
        double az0 = atan2(-s->xyz[1], s->xyz[0]) * 180 / M_PI;
        if (n > 0) assert_true(fabs(fabs(az0) - 180) < 0.5);
        int has_loss = s->start_ns <= (T0_S - 1) * 1000000000LL + TOH0_US * 1000LL + lost_at * 1327104LL &&
                       s->end_ns >= (T0_S - 1) * 1000000000LL + TOH0_US * 1000LL + lost_at * 1327104LL;
        print_message("sweep %d: n %zu packets %u lost %u complete %d ts-start %lld\n", n, s->n,
                      s->packets, s->packets_lost, s->complete,
                      (long long)(s->timestamp_ns - s->start_ns));
        if (n == 1) {
            assert_int_equal(s->complete, 1);
            /* 360 deg at 480 cdeg per 1327.104 us => 99.53 ms; forward (0 deg) at half */
            assert_true(llabs(s->end_ns - s->start_ns - 99532800LL) < 200000);
            assert_true(llabs(s->timestamp_ns - s->start_ns - 49766400LL) < 100000);
            assert_int_equal(s->n, 75 * 384);
        }
        if (has_loss) {
            assert_int_equal(s->packets_lost, 1);
            assert_int_equal(s->complete, 0);
        }
        n++;
    }
    assert_int_equal(rc, 0);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    assert_int_equal(st.packets_lost, 1);
    assert_int_equal(lost, 1);
    assert_int_equal(st.data_packets, npkt - 1);
    /* 199 packets over 2.65 turns from 0 deg: cuts at 180, 540, 900 deg, each inside a packet */
    assert_int_equal(n, 4);
    assert_int_equal(packets, npkt - 1 + 3);
    assert_string_equal(st.model, "vlp16");
    avt_lidar_close(r);
}

static void test_toh(void **state)
{
    (void)state;
    const int64_t H = 3600LL * 1000000000;
    /* record 10:00:05, stamp 59:59.9 past the hour: the device is still in the 9 o'clock hour */
    assert_int_equal(avt_toh_to_abs_ns(3599900000u, 10 * H + 5000000000LL), 10 * H - 100000000LL);
    /* record 09:59:59, stamp 0.5 s: the device already rolled over */
    assert_int_equal(avt_toh_to_abs_ns(500000u, 10 * H - 1000000000LL), 10 * H + 500000000LL);
    assert_int_equal(avt_toh_to_abs_ns(1000u, 10 * H + 2000LL), 10 * H + 1000000LL);
    int64_t t;
    const char *rmc = "$GPRMC,214616,A,3708.3443,N,12139.4299,W,009.7,040.6,111212,013.8,E,D*0E";
    uint8_t pos[512] = {0};
    memcpy(pos + 206, rmc, strlen(rmc));
    assert_int_equal(avt_vlp_position_time(pos, sizeof pos, &t), 1);
    assert_int_equal(t, 1355262376LL * 1000000000); /* 2012-12-11T21:46:16Z */
    pos[206 + 14] = 'V';                              /* status: void */
    assert_int_equal(avt_vlp_position_time(pos, sizeof pos, &t), 0);
    assert_int_equal(avt_vlp_position_time(pos, 100, &t), 0);
}

/* ---- more Velodyne models: hand-built packets against the manuals' formulas ---- */

#define CAL AVT_SHARED_DATA "/velodyne/calib/"

/* Decodes one packet as one sweep with the given model and calibration (NULL for none).
 * Returns the reader (caller closes) with *s set, or NULL with err filled. */
static avt_lidar_reader *decode_one(buf *b, const uint8_t *pl, const char *model,
                                    const char *calib, const avt_sweep **s, avt_error *err)
{
    frame_opts fo = {LINK_ETH, 2368, 0, 0, 0, 0, 0};
    b->n = 0;
    pcap_global(b, LINK_ETH);
    pcap_frame(b, &fo, T0_S * 1000000 + 20, pl, AVT_VLP16_PAYLOAD);
    avt_lidar_config cfg;
    avt_lidar_config_default(&cfg);
    cfg.model = model;
    cfg.calibration_path = calib;
    cfg.min_range_m = 0.01;
    avt_lidar_reader *r = avt_lidar_open_mem(b->p, b->n, "one.pcap", &cfg, err);
    if (!r) return NULL;
    if (avt_lidar_next(r, s, err) != 1) {
        avt_lidar_close(r);
        return NULL;
    }
    return r;
}

static int skip_without(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        print_message("SKIP: %s missing\n", path);
        return 1;
    }
    fclose(fp);
    return 0;
}

static void test_puck_hires(void **state)
{
    (void)state;
    static buf b;
    uint8_t pl[AVT_VLP16_PAYLOAD];
    avt_error err = {0};
    const avt_sweep *s;
    vlp16_payload(pl, TOH0_US, 10000, AVT_VELODYNE_MODE_LAST);
    pl[1205] = AVT_VELODYNE_PRODUCT_PUCK_HIRES;
    avt_lidar_reader *r = decode_one(&b, pl, "auto", NULL, &s, &err);
    assert_non_null(r);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    assert_string_equal(st.model, "vlp16hires");
    assert_int_equal(s->n, 384);
    const double rate = 440.0 / (11 * 2 * 55296.0);
    for (size_t i = 0; i < s->n; i++) {
        int blk = (int)(i / 32), ch = (int)(i % 32), seq = ch / 16, l = ch % 16;
        int64_t dt = (int64_t)seq * 55296 + (int64_t)l * 2304;
        double az = (10000 + 40 * blk + lround(rate * (double)dt)) / 100.0 * M_PI / 180;
        /* Puck Hi-Res manual 9.1: laser l even at -10 + 4/3 (l/2), odd at -10 + 4/3 (8 + l/2) */
        int rank = l % 2 ? 8 + l / 2 : l / 2;
        double w = (-10.0 + rank * 4.0 / 3.0) * M_PI / 180, d = (5000 + ch) * 0.002;
        assert_true(fabs(s->xyz[3 * i] - d * cos(w) * cos(az)) < 1e-5);
        assert_true(fabs(s->xyz[3 * i + 1] + d * cos(w) * sin(az)) < 1e-5);
        assert_true(fabs(s->xyz[3 * i + 2] - d * sin(w)) < 1e-5);
        assert_int_equal(s->ring[i], rank);
        assert_int_equal(s->return_type[i], AVT_RETURN_LAST);
    }
    avt_lidar_close(r);
}

/* VLS-128: sequence k (blocks 4k..4k+3, banks EE DD CC BB) at azimuth az0 + step k; channel ch
 * of bank b at raw 2500 + 32 b + ch (4 mm units: 10 m and a bit). dual: one sequence, block
 * 2b = last (raw as above), 2b+1 = strongest (raw + 100, or equal for ch < 4). */
static void vls128_payload(uint8_t *p, uint16_t az0, int step, int dual)
{
    static const uint8_t BANK[4] = {0xEE, 0xDD, 0xCC, 0xBB};
    memset(p, 0, AVT_VLP16_PAYLOAD);
    for (int blk = 0; blk < (dual ? 8 : 12); blk++) {
        uint8_t *q = p + 100 * blk;
        int bank = dual ? blk / 2 : blk % 4, k = dual ? 0 : blk / 4;
        q[0] = 0xFF;
        q[1] = BANK[bank];
        le16(q + 2, (uint16_t)(az0 + step * k));
        for (int ch = 0; ch < 32; ch++) {
            int raw = 2500 + 32 * bank + ch + (dual && blk % 2 && ch >= 4 ? 100 : 0);
            le16(q + 4 + 3 * ch, (uint16_t)raw);
            q[4 + 3 * ch + 2] = (uint8_t)(bank * 32 + ch);
        }
    }
    le32(p + 1200, TOH0_US);
    p[1204] = dual ? AVT_VELODYNE_MODE_DUAL : AVT_VELODYNE_MODE_STRONGEST;
    p[1205] = AVT_VELODYNE_PRODUCT_VLS128;
}

static void test_vls128(void **state)
{
    (void)state;
    static buf b, b2;
    uint8_t pl[AVT_VLP16_PAYLOAD];
    avt_error err = {0};
    const avt_sweep *s, *s2;
    vls128_payload(pl, 5000, 20, 0);
    avt_lidar_reader *r = decode_one(&b, pl, "auto", NULL, &s, &err);
    assert_non_null(r);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    assert_string_equal(st.model, "vls128");
    assert_int_equal(s->n, 384);
    const int64_t pkt_ns = (T0_S - 1) * 1000000000LL + (int64_t)TOH0_US * 1000;
    const double rate = 40.0 / (2 * 53300.0);
    for (size_t i = 0; i < s->n; i++) {
        int k = (int)(i / 128), laser = (int)(i % 128), g = laser / 8;
        /* VLS-128 manual, firing timing: 53.3 us per sequence, 2.665 us per group of 8 with
         * a maintenance slot after group 7, timestamp 8.7 us after the first firing */
        int64_t toff = 2665LL * (g + g / 8);
        assert_int_equal(s->t_ns[i], pkt_ns - 8700 + k * 53300LL + toff);
        assert_int_equal(s->intensity[i], laser);
        if (laser == 0) {
            /* manual table "VLS-128 laser angles", laser 0: elevation -11.742 deg, azimuth
             * offset +6.354 deg (added to the interpolated azimuth) */
            double w = -11.742 * M_PI / 180, d = 2500 * 0.004;
            double az = (5000 + 20 * k + lround(rate * (double)toff)) / 100.0 + 6.354;
            az *= M_PI / 180;
            assert_true(fabs(s->xyz[3 * i] - d * cos(w) * cos(az)) < 1e-4);
            assert_true(fabs(s->xyz[3 * i + 1] + d * cos(w) * sin(az)) < 1e-4);
            assert_true(fabs(s->xyz[3 * i + 2] - d * sin(w)) < 1e-4);
        }
    }
    /* the ROS driver's VLS128.yaml gives the same geometry as the built-in table */
    if (!skip_without(CAL "VLS128.yaml")) {
        avt_lidar_reader *r2 = decode_one(&b2, pl, "vls128", CAL "VLS128.yaml", &s2, &err);
        assert_non_null(r2);
        assert_int_equal(s2->n, s->n);
        for (size_t i = 0; i < 3 * s->n; i++) assert_true(fabs(s->xyz[i] - s2->xyz[i]) < 1e-4);
        for (size_t i = 0; i < s->n; i++) assert_int_equal(s->ring[i], s2->ring[i]);
        avt_lidar_close(r2);
    }
    avt_lidar_close(r);

    /* dual return: one sequence, last + strongest per bank; equal ranges emitted once */
    vls128_payload(pl, 5000, 20, 1);
    r = decode_one(&b, pl, "auto", NULL, &s, &err);
    assert_non_null(r);
    assert_int_equal(s->n, 128 + 128 - 16);
    size_t both = 0, last = 0, strongest = 0;
    for (size_t i = 0; i < s->n; i++) {
        both += s->return_type[i] == AVT_RETURN_BOTH;
        last += s->return_type[i] == AVT_RETURN_LAST;
        strongest += s->return_type[i] == AVT_RETURN_STRONGEST;
        assert_true(s->t_ns[i] >= pkt_ns - 8700 && s->t_ns[i] < pkt_ns - 8700 + 53300);
    }
    assert_int_equal(both, 16);
    assert_int_equal(last, 112);
    assert_int_equal(strongest, 112);
    avt_lidar_close(r);
}

/* VLS-128 lasers 64-127 (docs/sensors.md): the manual's firing timing has one maintenance
 * slot between firing group 7 and group 8, so laser l of group g = l / 8 fires 2.665 us x
 * (g + g / 8) after the sequence's first firing (the ROS velodyne driver and nebula agree);
 * velodyne_decoder, after VeloView, puts two there (g + 2 (g / 8)). The packet turns fast
 * (38 x 0.01 deg per 53.3 us sequence, about 1190 RPM), so the two timings put lasers 64-127
 * two azimuth units apart. The azimuth each point was given is read back from its x, y
 * (clockwise from +x) against the same packet not turning: the laser's azimuth offset cancels,
 * what is left is the rotation during the laser's firing delay. */
static void test_vls128_azimuths_64_127(void **state)
{
    (void)state;
    static buf b, b0;
    uint8_t pl[AVT_VLP16_PAYLOAD], pl0[AVT_VLP16_PAYLOAD];
    avt_error err = {0};
    const avt_sweep *s, *s0;
    vls128_payload(pl, 5000, 38, 0);
    vls128_payload(pl0, 5000, 0, 0);
    avt_lidar_reader *r = decode_one(&b, pl, "vls128", NULL, &s, &err);
    avt_lidar_reader *r0 = decode_one(&b0, pl0, "vls128", NULL, &s0, &err);
    assert_non_null(r);
    assert_non_null(r0);
    assert_true(s->n >= 128 && s0->n >= 128);
    const double rate = 2 * 38 / (2 * 53300.0); /* 0.01 deg per ns, over the packet */
    int apart = 0;
    for (int l = 0; l < 128; l++) { /* the first sequence: lasers 0-127 in order */
        assert_int_equal(s->intensity[l], l);
        assert_int_equal(s0->intensity[l], l);
        const double az = atan2(-s->xyz[3 * l + 1], s->xyz[3 * l]) * 18000.0 / M_PI;
        const double az0 = atan2(-s0->xyz[3 * l + 1], s0->xyz[3 * l]) * 18000.0 / M_PI;
        const double got = az - az0; /* 0.01 deg */
        const int g = l / 8;
        const double manual = rate * 2665.0 * (g + g / 8);
        const double veloview = rate * 2665.0 * (g + 2 * (g / 8));
        if (fabs(got - lround(manual)) > 0.01)
            fail_msg("laser %d: azimuth advanced %.3f x 0.01 deg, the manual's timing gives "
                     "%.3f (rounded %ld)", l, got, manual, lround(manual));
        apart += g >= 8 && fabs(got - veloview) > 1.0;
    }
    assert_int_equal(apart, 64); /* the test tells the two timings apart on every laser */
    avt_lidar_close(r);
    avt_lidar_close(r0);
}

/* HDL-64E: firing c = blocks 2c (FF EE, upper) and 2c+1 (FF DD, lower), azimuth az0 + 30 c;
 * channel ch at raw 5000 + ch (+ 32 for the lower block). dual: blocks 4c, 4c+1 strongest
 * (raw + 50), 4c+2, 4c+3 last, the pairs sharing their azimuth. */
static void hdl64_payload(uint8_t *p, uint16_t az0, int dual)
{
    memset(p, 0, AVT_VLP16_PAYLOAD);
    for (int blk = 0; blk < 12; blk++) {
        uint8_t *q = p + 100 * blk;
        int lower = blk % 2, c = dual ? blk / 4 : blk / 2;
        q[0] = 0xFF;
        q[1] = lower ? 0xDD : 0xEE;
        le16(q + 2, (uint16_t)(az0 + 30 * c));
        for (int ch = 0; ch < 32; ch++) {
            int raw = 5000 + 32 * lower + ch + (dual && (blk / 2) % 2 == 0 ? 50 : 0);
            le16(q + 4 + 3 * ch, (uint16_t)raw);
            q[4 + 3 * ch + 2] = (uint8_t)(32 * lower + ch);
        }
    }
    le32(p + 1200, TOH0_US);
    p[1204] = 0xAB; /* status bytes, not mode / product */
    p[1205] = 0x22;
}

static void test_hdl64e(void **state)
{
    (void)state;
    static buf b, b2;
    uint8_t pl[AVT_VLP16_PAYLOAD];
    avt_error err = {0};
    const avt_sweep *s, *s2;
    if (skip_without(CAL "64e_s2.1-sztaki.yaml") || skip_without(CAL "64e_s2.1-sztaki.xml")) skip();
    hdl64_payload(pl, 20000, 0);
    /* no calibration: a clear error */
    avt_lidar_reader *r = decode_one(&b, pl, "hdl64e_s2", NULL, &s, &err);
    assert_null(r);
    assert_non_null(strstr(err.msg, "calibration"));

    r = decode_one(&b, pl, "hdl64e_s2", CAL "64e_s2.1-sztaki.yaml", &s, &err);
    assert_non_null(r);
    assert_int_equal(s->n, 384);
    const int64_t pkt_ns = (T0_S - 1) * 1000000000LL + (int64_t)TOH0_US * 1000;
    const double rate = 150.0 / (5 * 48000.0);
    static const int S2[4] = {0, 1260, 2460, 3660};
    for (size_t i = 0; i < s->n; i++) {
        int c = (int)(i / 64), laser = (int)(i % 64), ch = laser % 32;
        /* HDL-64E S2 manual, laser firing time table: 48 us per firing, 6 us per group of 4 */
        int64_t toff = 6000LL * (ch / 4) + S2[ch % 4];
        assert_int_equal(s->t_ns[i], pkt_ns + c * 48000LL + toff);
        assert_int_equal(s->intensity[i], laser);
        assert_int_equal(s->return_type[i], AVT_RETURN_SINGLE);
        if (laser == 0) {
            /* 64e_s2.1-sztaki.yaml, laser 0, through the ROS driver's formula (no two-point) */
            const double rot = -0.1248942899601548, v = -0.15304134919741974;
            const double dc = 1.5195264000000002, vo = 0.19548199, h = 0.025999999;
            double az = (20000 + 30 * c + lround(rate * (double)toff)) / 100.0 * M_PI / 180;
            double A = az - rot, d = 5000 * 0.002 + dc;
            double xy = d * cos(v) - vo * sin(v);
            double xm = xy * sin(A) - h * cos(A), ym = xy * cos(A) + h * sin(A);
            double z = d * sin(v) + vo * cos(v);
            assert_true(fabs(s->xyz[3 * i] - ym) < 1e-4);
            assert_true(fabs(s->xyz[3 * i + 1] + xm) < 1e-4);
            assert_true(fabs(s->xyz[3 * i + 2] - z) < 1e-4);
        }
    }
    /* VeloView's db.xml of the same unit (degrees, centimetres) decodes the same */
    avt_lidar_reader *r2 = decode_one(&b2, pl, "hdl64e_s2", CAL "64e_s2.1-sztaki.xml", &s2, &err);
    assert_non_null(r2);
    assert_int_equal(s2->n, s->n);
    for (size_t i = 0; i < 3 * s->n; i++) assert_true(fabs(s->xyz[i] - s2->xyz[i]) < 1e-4);
    for (size_t i = 0; i < s->n; i++) assert_int_equal(s->ring[i], s2->ring[i]);
    avt_lidar_close(r2);
    avt_lidar_close(r);

    /* dual: 3 firings 48 us apart, last then strongest */
    hdl64_payload(pl, 20000, 1);
    r = decode_one(&b, pl, "hdl64e_s2", CAL "64e_s2.1-sztaki.yaml", &s, &err);
    assert_non_null(r);
    assert_int_equal(s->n, 384);
    for (size_t i = 0; i < s->n; i++) {
        int c = (int)(i / 128), laser = (int)(i % 128) / 2;
        assert_int_equal(s->return_type[i], i % 2 ? AVT_RETURN_STRONGEST : AVT_RETURN_LAST);
        assert_true(s->t_ns[i] >= pkt_ns + c * 48000LL);
        assert_true(s->t_ns[i] < pkt_ns + (c + 1) * 48000LL);
        assert_int_equal(s->intensity[i], laser);
    }
    avt_lidar_close(r);
    /* S3 timing: 57.6 us per firing */
    hdl64_payload(pl, 20000, 0);
    if (!skip_without(CAL "64e_s3-xiesc.yaml")) {
        r = decode_one(&b, pl, "hdl64e", CAL "64e_s3-xiesc.yaml", &s, &err);
        assert_non_null(r);
        assert_int_equal(s->t_ns[64 * 5 + 5], pkt_ns + 5 * 57600LL + 7200 + 1300);
        avt_lidar_close(r);
    }
    /* a VLP-16 calibration for a 64-laser model is refused */
    r = decode_one(&b, pl, "hdl64e", CAL "VLP16db.yaml", &s, &err);
    assert_null(r);
    assert_non_null(strstr(err.msg, "16 lasers"));
}

static void test_calib_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int lasers;
    } F[] = {{"32db.xml", 32},          {"32db.yaml", 32},          {"64e_s2.1-sztaki.xml", 64},
             {"64e_s2.1-sztaki.yaml", 64}, {"64e_s3-xiesc.yaml", 64}, {"VLP16db.yaml", 16},
             {"VLP16_hires_db.yaml", 16}, {"VLS128.yaml", 128},   {"VeloView-VLP-32C.yaml", 32}};
    static avt_vlp_calib c, x;
    avt_error err = {0};
    if (skip_without(CAL "32db.xml")) skip();
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, CAL "%s", F[i].file);
        int rc = avt_vlp_calib_load(path, &c, &err);
        if (rc != AVT_OK) print_message("%s\n", err.msg);
        assert_int_equal(rc, AVT_OK);
        assert_int_equal(c.lasers, F[i].lasers);
    }
    /* the two files of the sztaki unit agree laser by laser (YAML: radians and metres) */
    assert_int_equal(avt_vlp_calib_load(CAL "64e_s2.1-sztaki.yaml", &c, &err), AVT_OK);
    assert_int_equal(avt_vlp_calib_load(CAL "64e_s2.1-sztaki.xml", &x, &err), AVT_OK);
    assert_true(fabs(c.distance_resolution_m - 0.002) < 1e-12);
    assert_true(fabs(x.distance_resolution_m - 0.002) < 1e-12);
    for (int l = 0; l < 64; l++) {
        const avt_vlp_laser_calib *a = &c.laser[l], *b = &x.laser[l];
        assert_true(fabs(a->rot_rad - b->rot_rad) < 1e-6 && fabs(a->vert_rad - b->vert_rad) < 1e-6);
        assert_true(fabs(a->dist_m - b->dist_m) < 1e-6 && fabs(a->dist_x_m - b->dist_x_m) < 1e-6);
        assert_true(fabs(a->vert_offset_m - b->vert_offset_m) < 1e-6);
        assert_true(fabs(a->horiz_offset_m - b->horiz_offset_m) < 1e-6);
        assert_true(fabs(a->focal_distance_m - b->focal_distance_m) < 1e-6);
    }
    /* the intensity limits as each file states them: the YAML (made by the ROS driver's
     * gen_calibration.py) does not carry the db.xml's minIntensity_ list over faithfully
     * (laser 0: 30 in the YAML, 0 in the db.xml); they are read, not applied */
    assert_int_equal(c.laser[0].min_intensity, 30);
    assert_int_equal(c.laser[0].max_intensity, 235);
    assert_int_equal(x.laser[0].min_intensity, 0);
    assert_int_equal(x.laser[0].max_intensity, 235);
    assert_int_equal(x.laser[1].min_intensity, 30);

    /* {text, expected words in the error} */
    static const struct {
        const char *text, *msg;
    } BAD[] = {
        {"lasers:\n- {laser_id: 0, rot_correction: abc}\n", "rot_correction"},
        {"lasers:\n- {laser_id: 0}\n- {laser_id: 0}\n", "twice"},
        {"lasers:\n- {laser_id: 1}\n", "missing"},
        {"lasers:\n- {rot_correction: 0.1}\n", "laser_id"},
        {"lasers:\n- {laser_id: 0}\nnum_lasers: 2\n", "num_lasers"},
        {"lasers:\n- {laser_id: 0, vert_correction: 7}\n", "out of range"},
        {"lasers:\n- {laser_id: 0, min_intensity: 200, max_intensity: 100}\n", "intensity"},
        {"lasers: [\n", "YAML"},
        {"", "no lasers"},
        {"<DB><points_><item><px><id_>0</id_></px></item></points_>", "end inside"},
        {"<DB><px><id_>x</id_></px></DB>", "id_"},
        {"<DB><px><rotCorrection_>1</rotCorrection_></px></DB>", "without <id_>"},
        {"<DB><a></b></DB>", "does not close"},
        {"<DB><!-- open", "unterminated"},
        {"<DB", "unterminated"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        err.msg[0] = '\0';
        int rc = avt_vlp_calib_parse(BAD[i].text, strlen(BAD[i].text), "t.yaml", &c, &err);
        if (rc == AVT_OK || !strstr(err.msg, BAD[i].msg))
            print_message("case %zu: rc %d msg \"%s\"\n", i, rc, err.msg);
        assert_int_not_equal(rc, AVT_OK);
        assert_non_null(strstr(err.msg, BAD[i].msg));
    }
    /* every prefix of a db.xml fails cleanly or parses (ASan sees any over-read) */
    char *xml = NULL;
    size_t n = 0;
    assert_int_equal(avt_read_file(CAL "32db.xml", 1 << 22, &xml, &n, &err), AVT_OK);
    for (size_t k = 0; k <= n; k += (k < 4000 ? 1 : 97)) {
        char *copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, xml, k);
        int rc = avt_vlp_calib_parse(copy, k, "p.xml", &c, &err);
        assert_true(rc == AVT_OK || rc == AVT_FORMAT);
        free(copy);
    }
    free(xml);
}

/* ---- two sensors in one capture, told apart by source address ---- */

/* n VLP-16 packets 1327 us apart on port `port` from 192.168.1.201; the timestamps of packets
 * from..to-1 moved by shift_us. */
static void vlp16_stream(buf *b, int n, uint16_t port, int from, int to, int64_t shift_us)
{
    uint8_t pl[AVT_VLP16_PAYLOAD];
    frame_opts fo = {LINK_ETH, port, 0, 0, 0, 0, 0xC0A801C9u};
    b->n = 0;
    pcap_global(b, LINK_ETH);
    for (int k = 0; k < n; k++) {
        int64_t toh = TOH0_US + 1327LL * k + (k >= from && k < to ? shift_us : 0);
        vlp16_payload(pl, (uint32_t)toh, (uint16_t)((1000 + 480 * k) % 36000),
                      AVT_VELODYNE_MODE_STRONGEST);
        pcap_frame(b, &fo, T0_S * 1000000 + 1327LL * k, pl, sizeof pl);
    }
}

/* Nothing for the sensor: an error that says what the capture held; a forced model whose
 * product byte the packets do not carry: every packet corrupt, named. */
static void test_no_data(void **state)
{
    (void)state;
    static buf b;
    run_result res;
    vlp16_stream(&b, 3, 2369, 0, 0, 0);
    run(b.p, b.n, NULL, &res);
    assert_int_equal(res.open_ok ? res.last_rc : res.open_code, AVT_FORMAT);
    assert_non_null(strstr(res.msg, "test.pcap: no Velodyne data packets on UDP port 2368 in 3 records"));
    assert_non_null(strstr(res.msg, "port 2369 (3, from 192.168.1.201)"));

    vlp16_stream(&b, 3, 2368, 0, 0, 0);
    run(b.p, b.n, "vlp32c", &res);
    assert_int_equal(res.points, 0);
    assert_int_equal(res.st.corrupt, 3);
    assert_int_equal(res.open_ok ? res.last_rc : res.open_code, AVT_FORMAT);
    assert_non_null(strstr(res.st.first_corrupt, "record 1: product ID 0x22, the vlp32c's is 0x28"));
    assert_non_null(strstr(res.msg, "3 corrupt, the first: test.pcap: record 1: product ID"));
}

/* A packet time off the stream's course is corrupt (one packet 0.5 s back, or 10 s forward);
 * the same step in CLOCK_STEP_PACKETS (8) packets in a row is the sensor's clock stepping. */
static void test_packet_time_faults(void **state)
{
    (void)state;
    static buf b;
    run_result res;
    static const struct {
        int from, to;
        int64_t shift_us;
        uint64_t corrupt;
        const char *why;
    } C[] = {{10, 11, -500000, 1, "record 11: packet time 513270 us past the hour is 498673 us before"},
             {10, 11, 10000000, 1, "record 11: packet time 11013270 us past the hour is 10.000 s off"},
             {10, 30, 10000000, 7, "record 11: packet time 11013270 us"},
             {0, 0, 0, 0, ""}};
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        vlp16_stream(&b, 30, 2368, C[i].from, C[i].to, C[i].shift_us);
        run(b.p, b.n, NULL, &res);
        print_message("case %zu: corrupt %llu lost %llu \"%s\"\n", i,
                      (unsigned long long)res.st.corrupt, (unsigned long long)res.st.packets_lost,
                      res.st.first_corrupt);
        assert_int_equal(res.last_rc, 0);
        assert_int_equal(res.st.corrupt, C[i].corrupt);
        assert_non_null(strstr(res.st.first_corrupt, C[i].why));
        assert_int_equal(res.points, 384 * (30 - C[i].corrupt));
        /* a skipped packet is a lost one; the step, a gap of its length (10 s and 7 packets
         * of 1327.104 us: 7542) */
        assert_int_equal(res.st.packets_lost, C[i].corrupt == 7 ? 7542 : C[i].corrupt);
    }
}

static void test_two_sensors(void **state)
{
    (void)state;
    static buf b;
    uint8_t pa[AVT_VLP16_PAYLOAD], pb[AVT_VLP16_PAYLOAD];
    const uint32_t A = 0xC0A801C9u, B = 0xC0A801CAu; /* 192.168.1.201, .202 */
    frame_opts fa = {LINK_ETH, 2368, 0, 0, 0, 0, A}, fb = {LINK_ETH, 2368, 0, 0, 0, 0, B};
    b.n = 0;
    pcap_global(&b, LINK_ETH);
    for (int k = 0; k < 10; k++) {
        vlp16_payload(pa, TOH0_US + 1327 * (uint32_t)k, (uint16_t)((10000 + 480 * k) % 36000),
                      AVT_VELODYNE_MODE_STRONGEST);
        vls128_payload(pb, (uint16_t)((20000 + 60 * k) % 36000), 20, 0);
        le32(pb + 1200, TOH0_US + 160 * (uint32_t)k);
        pcap_frame(&b, &fa, T0_S * 1000000 + 1400 * k, pa, sizeof pa);
        pcap_frame(&b, &fb, T0_S * 1000000 + 1400 * k + 700, pb, sizeof pb);
    }
    static const struct {
        const char *src, *model;
        size_t points;
    } C[] = {{"192.168.1.201", "vlp16", 3840}, {"192.168.1.202", "vls128", 3840}};
    for (int c = 0; c < 2; c++) {
        avt_lidar_config cfg;
        avt_error err = {0};
        const avt_sweep *s;
        avt_lidar_config_default(&cfg);
        cfg.source_addr = C[c].src;
        avt_lidar_reader *r = avt_lidar_open_mem(b.p, b.n, "two.pcap", &cfg, &err);
        assert_non_null(r);
        size_t n = 0;
        int rc;
        while ((rc = avt_lidar_next(r, &s, &err)) == 1) n += s->n;
        assert_int_equal(rc, 0);
        avt_lidar_stats st;
        avt_lidar_stats_get(r, &st);
        assert_string_equal(st.model, C[c].model);
        assert_int_equal(n, C[c].points);
        assert_int_equal(st.data_packets, 10);
        assert_int_equal(st.skipped, 10);
        assert_int_equal(st.corrupt, 0);
        assert_int_equal(st.packets_lost, 0);
        avt_lidar_close(r);
    }
    /* without the filter: an error that names both sensors, nothing decoded */
    run_result res;
    run(b.p, b.n, NULL, &res);
    assert_int_equal(res.points, 0);
    assert_int_equal(res.open_ok ? res.last_rc : res.open_code, AVT_UNSUPPORTED);
    assert_non_null(strstr(res.msg, "several sensors"));
    assert_non_null(strstr(res.msg, "192.168.1.201 from record 1, 192.168.1.202 from record 2"));
    /* a bad address is refused at open */
    avt_lidar_config cfg;
    avt_error err = {0};
    avt_lidar_config_default(&cfg);
    cfg.source_addr = "192.168.1";
    assert_null(avt_lidar_open_mem(b.p, b.n, "two.pcap", &cfg, &err));
    assert_int_equal(err.code, AVT_INVAL);
    assert_non_null(strstr(err.msg, "192.168.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_geometry_timing),
        cmocka_unit_test(test_sweeps),
        cmocka_unit_test(test_toh),
        cmocka_unit_test(test_puck_hires),
        cmocka_unit_test(test_vls128),
        cmocka_unit_test(test_vls128_azimuths_64_127),
        cmocka_unit_test(test_hdl64e),
        cmocka_unit_test(test_calib_files),
        cmocka_unit_test(test_two_sensors),
        cmocka_unit_test(test_no_data),
        cmocka_unit_test(test_packet_time_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
