/* The Ouster frame batcher.
 * Regression (independent review): Ouster packets whose columns claim column ids of other
 * packets, with a column window narrower than the frame, used to decode more points than the
 * sweep arrays hold (heap overflow in put_column). Every in-window column must be decoded once.
 * Regression (synthetic Ouster captures): a capture starting part-way through a frame held
 * that incomplete frame while the next one completed, and released the newer one first.
 * Packets of a frame that arrive out of order give the same sweep, points in packet-slot
 * order, as the same packets in order. The range filter's bounds are inclusive in every
 * position of the four-beam groups the decoder works in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_private.h"

static void test_repeated_column_ids(void **state)
{
    (void)state;
    char js[4096], alt[1024] = "", az[1024] = "";
    const int h = 16;
    size_t la = 0, lz = 0;
    for (int i = 0; i < h; i++) {
        la += (size_t)snprintf(alt + la, sizeof alt - la, "%s%g", i ? "," : "", 10.0 - i);
        lz += (size_t)snprintf(az + lz, sizeof az - lz, "%s0", i ? "," : "");
    }
    snprintf(js, sizeof js,
             "{\"beam_altitude_angles\":[%s],\"beam_azimuth_angles\":[%s],\"columns_per_frame\":512,"
             "\"columns_per_packet\":16,\"column_window\":[0,15]}",
             alt, az);
    avt_ouster_meta m;
    avt_error err = {0, ""};
    assert_int_equal(avt_ouster_meta_parse(js, strlen(js), "m.json", &m, &err), 0);
    avt_ouster_batcher *b = avt_ouster_batcher_new(&m, 0.1, 100, &err);
    assert_non_null(b);
    size_t ps = avt_ouster_packet_size(&m), cb = ps / 16;
    uint8_t *p = calloc(1, ps);
    assert_non_null(p);
    for (int slot = 0; slot < 32; slot++) {
        memset(p, 0, ps);
        for (int c = 0; c < 16; c++) {
            uint8_t *col = p + (size_t)c * cb;
            uint64_t t = 1000000000ULL * 1700000000ULL;
            memcpy(col, &t, 8);
            uint16_t mid = (uint16_t)(c == 0 ? slot * 16 : c); /* columns 1..15 claim in-window ids */
            memcpy(col + 8, &mid, 2);
            for (int u = 0; u < h; u++) {
                uint32_t r = 5000;
                memcpy(col + 16 + 12 * u, &r, 4);
            }
            uint32_t st = 0xffffffff;
            memcpy(col + 16 + 12 * h, &st, 4);
        }
        uint32_t fid;
        char why[128];
        assert_int_equal(avt_ouster_check(&m, p, ps, &fid, why, sizeof why), 0);
        int late, dup;
        avt_ouster_batcher_push(b, p, 0, 0, &late, &dup);
    }
    avt_ouster_batcher_release(b, 1);
    const avt_sweep *s = avt_ouster_batcher_sweep(b);
    assert_true(s->n <= (size_t)16 * h); /* the window: 16 columns of 16 beams */
    free(p);
    avt_ouster_batcher_free(b);
}

/* 16 beams, 512 columns per frame in 32 packets; column c of frame f fires at
 * f * 100 ms + c * 100 ms / 512 (absolute, after 2000). */
static void legacy_packet(const avt_ouster_meta *m, uint8_t *p, size_t ps, uint32_t frame,
                          int slot)
{
    const size_t cb = ps / 16;
    memset(p, 0, ps);
    for (int c = 0; c < 16; c++) {
        uint8_t *col = p + (size_t)c * cb;
        int mid = slot * 16 + c;
        uint64_t t = 1700000000ULL * 1000000000ULL + frame * 100000000ULL +
                     (uint64_t)mid * 100000000ULL / 512;
        uint16_t mid16 = (uint16_t)mid, fid = (uint16_t)frame;
        memcpy(col, &t, 8);
        memcpy(col + 8, &mid16, 2);
        memcpy(col + 10, &fid, 2);
        for (int u = 0; u < m->h; u++) {
            uint32_t r = u % 5 == 3 ? 0 : 5000 + (uint32_t)mid + 7u * (uint32_t)u; /* 0: none */
            memcpy(col + 16 + 12 * u, &r, 4);
        }
        uint32_t st = 0xffffffff;
        memcpy(col + 16 + 12 * m->h, &st, 4);
    }
}

/* A batcher for legacy frames of 16 beams, 512 columns in 32 packets. */
static avt_ouster_batcher *legacy_batcher(avt_ouster_meta *m)
{
    char js[4096], alt[1024] = "", az[1024] = "";
    size_t la = 0, lz = 0;
    for (int i = 0; i < 16; i++) {
        la += (size_t)snprintf(alt + la, sizeof alt - la, "%s%g", i ? "," : "", 10.0 - i);
        lz += (size_t)snprintf(az + lz, sizeof az - lz, "%s%g", i ? "," : "", 0.5 * i);
    }
    snprintf(js, sizeof js,
             "{\"beam_altitude_angles\":[%s],\"beam_azimuth_angles\":[%s],\"columns_per_frame\":512,"
             "\"columns_per_packet\":16}",
             alt, az);
    avt_error err = {0, ""};
    assert_int_equal(avt_ouster_meta_parse(js, strlen(js), "m.json", m, &err), 0);
    avt_ouster_batcher *b = avt_ouster_batcher_new(m, 0.1, 100, &err);
    assert_non_null(b);
    return b;
}

/* Pushes frame 3's 32 packets in the order slot(k) and returns a copy of the sweep. */
static avt_sweep one_frame(int (*slot_of)(int k))
{
    avt_ouster_meta m;
    avt_ouster_batcher *b = legacy_batcher(&m);
    size_t ps = avt_ouster_packet_size(&m);
    uint8_t *p = calloc(1, ps);
    assert_non_null(p);
    for (int k = 0; k < 32; k++) {
        legacy_packet(&m, p, ps, 3, slot_of(k));
        int late, dup;
        avt_ouster_batcher_push(b, p, 3, 0, &late, &dup);
        assert_false(late || dup);
    }
    assert_int_equal(avt_ouster_batcher_release(b, 1), 1);
    const avt_sweep *s = avt_ouster_batcher_sweep(b);
    avt_sweep c = *s;
    c.xyz = malloc(3 * s->n * sizeof(float));
    c.intensity = malloc(s->n * sizeof(float));
    c.ring = malloc(s->n * sizeof(uint16_t));
    c.t_ns = malloc(s->n * sizeof(int64_t));
    c.return_type = malloc(s->n);
    assert_true(c.xyz && c.intensity && c.ring && c.t_ns && c.return_type);
    memcpy(c.xyz, s->xyz, 3 * s->n * sizeof(float));
    memcpy(c.intensity, s->intensity, s->n * sizeof(float));
    memcpy(c.ring, s->ring, s->n * sizeof(uint16_t));
    memcpy(c.t_ns, s->t_ns, s->n * sizeof(int64_t));
    memcpy(c.return_type, s->return_type, s->n);
    free(p);
    avt_ouster_batcher_free(b);
    return c;
}

static int in_order(int k) { return k; }
static int shuffled(int k) { return (k * 7 + 3) % 32; } /* 7 is prime to 32: a permutation */

static void test_packets_out_of_order(void **state)
{
    (void)state;
    avt_sweep a = one_frame(in_order), b = one_frame(shuffled);
    assert_int_equal(a.n, 512 * 16 - 512 * 3); /* beams 3, 8, 13 return nothing */
    assert_int_equal(b.n, a.n);
    assert_memory_equal(a.xyz, b.xyz, 3 * a.n * sizeof(float));
    assert_memory_equal(a.intensity, b.intensity, a.n * sizeof(float));
    assert_memory_equal(a.ring, b.ring, a.n * sizeof(uint16_t));
    assert_memory_equal(a.t_ns, b.t_ns, a.n * sizeof(int64_t));
    assert_memory_equal(a.return_type, b.return_type, a.n);
    for (size_t i = 1; i < a.n; i++) assert_true(a.t_ns[i] >= a.t_ns[i - 1]); /* slot order */
    assert_int_equal(a.start_ns, b.start_ns);
    assert_int_equal(a.end_ns, b.end_ns);
    assert_int_equal(a.timestamp_ns, b.timestamp_ns);
    assert_int_equal(b.packets, 32);
    assert_int_equal(b.packets_lost, 0);
    assert_true(b.complete);
    avt_sweep_free_arrays(&a);
    avt_sweep_free_arrays(&b);
}

static void test_frames_leave_in_order(void **state)
{
    (void)state;
    avt_ouster_meta m;
    avt_ouster_batcher *b = legacy_batcher(&m);
    size_t ps = avt_ouster_packet_size(&m);
    uint8_t *p = calloc(1, ps);
    assert_non_null(p);
    int64_t starts[8];
    size_t n_out = 0;
    /* frame 5: only its last 4 packets (the capture starts there); frames 6 and 7 whole */
    for (uint32_t frame = 5; frame <= 7; frame++)
        for (int slot = frame == 5 ? 28 : 0; slot < 32; slot++) {
            legacy_packet(&m, p, ps, frame, slot);
            int late, dup;
            if (avt_ouster_batcher_push(b, p, frame, 0, &late, &dup) && n_out < 8)
                starts[n_out++] = avt_ouster_batcher_sweep(b)->start_ns;
            assert_false(late || dup);
            while (avt_ouster_batcher_release(b, 0) && n_out < 8)
                starts[n_out++] = avt_ouster_batcher_sweep(b)->start_ns;
        }
    while (avt_ouster_batcher_release(b, 1) && n_out < 8)
        starts[n_out++] = avt_ouster_batcher_sweep(b)->start_ns;
    assert_int_equal(n_out, 3);
    const int64_t t0 = 1700000000LL * 1000000000LL;
    assert_int_equal(starts[0], t0 + 5 * 100000000LL + 448 * 100000000LL / 512);
    assert_int_equal(starts[1], t0 + 6 * 100000000LL);
    assert_int_equal(starts[2], t0 + 7 * 100000000LL);
    free(p);
    avt_ouster_batcher_free(b);
}

/* The range filter keeps lo <= r <= hi (mm), whatever group of four beams r falls in: ranges
 * 0, lo - 1, lo, lo + 1, hi - 1, hi, hi + 1 and the largest 20-bit value, in every position. */
static void test_range_filter_bounds(void **state)
{
    (void)state;
    avt_ouster_meta m;
    avt_ouster_batcher *b = legacy_batcher(&m); /* 0.1 .. 100 m: lo 100, hi 100000 mm */
    static const uint32_t vals[8] = {0, 99, 100, 101, 99999, 100000, 100001, 0xFFFFF};
    size_t ps = avt_ouster_packet_size(&m), cb = ps / 16, want = 0;
    uint8_t *p = calloc(1, ps);
    assert_non_null(p);
    for (int slot = 0; slot < 32; slot++) {
        legacy_packet(&m, p, ps, 9, slot);
        for (int c = 0; c < 16; c++)
            for (int u = 0; u < m.h; u++) {
                const int mid = slot * 16 + c;
                const uint32_t r = vals[(u + 3 * mid) % 8];
                memcpy(p + (size_t)c * cb + 16 + 12 * u, &r, 4);
                want += r >= 100 && r <= 100000;
            }
        int late, dup;
        avt_ouster_batcher_push(b, p, 9, 0, &late, &dup);
    }
    assert_int_equal(avt_ouster_batcher_release(b, 1), 1);
    const avt_sweep *s = avt_ouster_batcher_sweep(b);
    assert_int_equal(s->n, want);
    /* column 0's points: the kept beams, top beam (u = 0) first, as rings h - 1 - u */
    size_t k = 0;
    for (int u = 0; u < m.h; u++) {
        const uint32_t r = vals[u % 8];
        if (r < 100 || r > 100000) continue;
        assert_int_equal(s->ring[k], m.h - 1 - u);
        k++;
    }
    free(p);
    avt_ouster_batcher_free(b);
}

/* udp_profile_lidar and header_type from the metadata: every profile of ouster-sdk's table
 * is accepted with its packet size (32 B header + 16 columns of 12 B header + 16 pixels of the
 * profile's size (Sensor Docs) + 32 B footer), OFF and unknown names are refused naming the
 * value, header_type picks the FuSa header. */
static void test_profiles(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t px;
        int fusa;
    } want[] = {{"RNG19_RFL8_SIG16_NIR16", 12, 0}, {"RNG19_RFL8_SIG16_NIR16_DUAL", 16, 0},
                {"RNG15_RFL8_NIR8", 4, 0},         {"FIVE_WORD_PIXEL", 20, 0},
                {"FUSA_RNG15_RFL8_NIR8_DUAL", 8, 1}, {"RNG15_RFL8_NIR8_DUAL", 8, 0},
                {"RNG15_RFL8_NIR8_ZONE16", 8, 0},  {"RNG19_RFL8_SIG16_NIR16_ZONE16", 12, 0},
                {"RNG15_RFL8_WIN8", 4, 0}};
    char js[4096], alt[512] = "", az[512] = "";
    size_t la = 0, lz = 0;
    for (int i = 0; i < 16; i++) {
        la += (size_t)snprintf(alt + la, sizeof alt - la, "%s%g", i ? "," : "", 10.0 - i);
        lz += (size_t)snprintf(az + lz, sizeof az - lz, "%s0", i ? "," : "");
    }
    avt_ouster_meta m;
    avt_error err = {0, ""};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        for (int ht = 0; ht < 3; ht++) { /* header_type absent, STANDARD, FUSA */
            snprintf(js, sizeof js,
                     "{\"beam_altitude_angles\":[%s],\"beam_azimuth_angles\":[%s],"
                     "\"columns_per_frame\":512,\"columns_per_packet\":16,"
                     "\"udp_profile_lidar\":\"%s\"%s}",
                     alt, az, want[k].name,
                     ht == 0 ? "" : ht == 1 ? ",\"header_type\":\"STANDARD\"" : ",\"header_type\":\"FUSA\"");
            if (avt_ouster_meta_parse(js, strlen(js), "m.json", &m, &err) != AVT_OK) fail_msg("%s", err.msg);
            assert_int_equal(avt_ouster_packet_size(&m), 32 + 16 * (12 + 16 * want[k].px) + 32);
            assert_int_equal(m.fusa_header, ht == 0 ? want[k].fusa : ht == 2);
        }
    for (int bad = 0; bad < 3; bad++) {
        snprintf(js, sizeof js,
                 "{\"beam_altitude_angles\":[%s],\"beam_azimuth_angles\":[%s],\"columns_per_frame\":512,"
                 "\"columns_per_packet\":16,%s}",
                 alt, az,
                 bad == 0 ? "\"udp_profile_lidar\":\"OFF\""
                 : bad == 1 ? "\"udp_profile_lidar\":\"RNG21\""
                            : "\"udp_profile_lidar\":\"RNG15_RFL8_NIR8\",\"header_type\":\"EXTENDED\"");
        assert_int_equal(avt_ouster_meta_parse(js, strlen(js), "m.json", &m, &err), AVT_UNSUPPORTED);
        assert_non_null(strstr(err.msg, bad == 0 ? "OFF sends no lidar data" : bad == 1 ? "RNG21" : "EXTENDED"));
        assert_non_null(strstr(err.msg, "m.json"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_repeated_column_ids),
                                       cmocka_unit_test(test_frames_leave_in_order),
                                       cmocka_unit_test(test_packets_out_of_order),
                                       cmocka_unit_test(test_range_filter_bounds),
                                       cmocka_unit_test(test_profiles)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
