/* Unit tests of the LiDAR ingest: hand-built captures in memory ({bytes, expected result}
 * table), geometry and timing of one VLP-16 packet against the manual's formulas, sweep
 * cutting and loss counting on a synthetic rotation, and every prefix of a real capture. */
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
    {"valid Ethernet", {LINK_ETH, 2368, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"802.1Q tag", {LINK_VLAN, 2368, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"Linux SLL", {LINK_SLL, 2368, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"Linux SLL2", {LINK_SLL2, 2368, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"raw IPv4", {LINK_RAW, 2368, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"BSD null", {LINK_NULL, 2368, 0, 0, 0, 0}, M_NONE, 1, 0, 384, 0, 0, NULL},
    {"bad block flag", {LINK_ETH, 2368, 0, 0, 0, 0}, M_FLAG, 1, 0, 0, 1, 0, "record 2: block 3 flag"},
    {"short payload", {LINK_ETH, 2368, 0, 0, 0, 0}, M_SHORT, 1, 0, 0, 1, 0, "1200 bytes"},
    {"azimuth 36000", {LINK_ETH, 2368, 0, 0, 0, 0}, M_AZ, 1, 0, 0, 1, 0, "azimuth 36000"},
    {"timestamp past the hour", {LINK_ETH, 2368, 0, 0, 0, 0}, M_TOH, 1, 0, 0, 1, 0, "beyond one hour"},
    {"UDP length beyond IP", {LINK_ETH, 2368, 0, 0, 4, 0}, M_NONE, 1, 0, 0, 1, 0, "UDP length"},
    {"IP length beyond capture", {LINK_ETH, 2368, 0, 0, 0, 8}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"other port", {LINK_ETH, 2369, 0, 0, 0, 0}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"IPv4 fragment", {LINK_ETH, 2368, 1, 0, 0, 0}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"TCP", {LINK_ETH, 2368, 0, 1, 0, 0}, M_NONE, 1, 0, 0, 0, 1, NULL},
    {"not Velodyne (568-byte payloads)", {LINK_ETH, 2368, 0, 0, 0, 0}, M_HESAI, 1, AVT_UNSUPPORTED, 0, 0, 0, "unsupported sensor"},
    {"bad pcap magic", {LINK_ETH, 2368, 0, 0, 0, 0}, M_MAGIC, 0, AVT_FORMAT, 0, 0, 0, "not a readable"},
    {"truncated last record", {LINK_ETH, 2368, 0, 0, 0, 0}, M_TRUNC, 1, AVT_TRUNCATED, 384, 0, 0, "record 3"},
};

static void test_table(void **state)
{
    (void)state;
    static buf b;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const tcase *c = &CASES[i];
        uint8_t pl[AVT_VLP16_PAYLOAD];
        size_t len = sizeof pl;
        frame_opts ok = {c->fo.link, 2368, 0, 0, 0, 0};
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
            const char *where = c->corrupt ? res.st.first_corrupt : res.msg;
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
    frame_opts fo = {LINK_ETH, 2368, 0, 0, 0, 0};
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
    frame_opts fo = {LINK_ETH, 2368, 0, 0, 0, 0};
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

/* ---- every prefix of the first records of a real capture ---- */

static void test_prefixes(void **state)
{
    (void)state;
    char *data = NULL;
    size_t len = 0;
    avt_error err = {0};
    const char *path = AVT_SHARED_DATA "/velodyne/vlp16_strongest_2014.pcap";
    if (avt_read_file(path, 1 << 24, &data, &len, &err) != AVT_OK) {
        print_message("SKIP: %s\n", err.msg);
        skip();
    }
    /* end of record 12 (classic pcap, little-endian headers) */
    size_t end = 24;
    for (int k = 0; k < 12 && end + 16 <= len; k++) {
        avt_cursor c = avt_cursor_make(data + end + 8, 4);
        end += 16 + avt_get_le32(&c);
    }
    assert_true(end <= len);
    size_t ok = 0, failed = 0;
    for (size_t n = 0; n <= end; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
        assert_non_null(copy);
        memcpy(copy, data, n);
        run_result res;
        run(copy, n, "vlp16", &res);
        if (res.open_ok && res.last_rc == 0) ok++;
        else failed++;
        if (res.open_ok && res.last_rc < 0)
            assert_true(res.last_rc == AVT_TRUNCATED || res.last_rc == AVT_FORMAT);
        free(copy);
    }
    print_message("%zu prefixes: %zu complete, %zu failed cleanly\n", end + 1, ok, failed);
    assert_true(ok >= 1);
    free(data);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_geometry_timing),
        cmocka_unit_test(test_sweeps),
        cmocka_unit_test(test_toh),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
