/* Ouster captures of the generator (synth/synth_ouster.c), decoded back by the ingest: for each
 * udp_profile_lidar a short log (avt_synth_run) read with model "auto" and the metadata JSON
 * found beside the capture, then
 *  - every point within 2 mm (RNG15, 8 mm range unit: 5 mm) of the ground plane or a box
 *    surface of the generator's scene at the point's own time: the ray geometry (beam angles,
 *    the 12-28 mm beam origin offset, lidar_to_sensor_transform), range units and column
 *    times all agree;
 *  - per frame: points, second returns, start/end/reference times, packets and completeness
 *    equal truth/lidar_frames.csv and truth/sweeps.csv, frames cut at the scene's revolution;
 *  - IMU packets counted as position packets, none decoded as points; every lidar datagram
 *    reassembled from its IPv4 fragments, some of which the capture holds out of order (found
 *    by scanning the capture's IP headers here); columns_lost = the columns of the dropped
 *    packets and of the partial first and last frames;
 *  - dual profile: second returns tagged AVT_RETURN_SECOND, first returns STRONGEST.
 * Also the configuration errors (a profile for a Velodyne model, an unknown profile). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ingest.h"
#include "avtruth/synth.h"
#include "synth_private.h"

#define MAX_FRAMES 64

/* Distance of world point p to the nearest surface of the scene at t_ns: ground z = 0 or a
 * box face. */
static double surface_dist(const synth_scene *sc, int64_t t_ns, const double p[3])
{
    double best = fabs(p[2]);
    for (size_t i = 0; i < sc->n_obj; i++) {
        synth_box b;
        synth_object_box(sc, i, t_ns, &b);
        double dx = p[0] - b.c[0], dy = p[1] - b.c[1], dz = p[2] - b.c[2];
        double l[3] = {b.cos_yaw * dx + b.sin_yaw * dy, -b.sin_yaw * dx + b.cos_yaw * dy, dz};
        double out2 = 0, in = INFINITY;
        for (int k = 0; k < 3; k++) {
            double e = fabs(l[k]) - b.half[k];
            if (e > 0) out2 += e * e;
            else if (-e < in) in = -e;
        }
        double d = out2 > 0 ? sqrt(out2) : in;
        if (d < best) best = d;
    }
    return best;
}

/* Reads a CSV of integers with a header line into rows[max][ncol]; returns the row count. */
static size_t read_csv(const char *path, int64_t rows[][8], int ncol, size_t max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    size_t n = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        assert_true(n < max);
        char *p = line;
        for (int k = 0; k < ncol; k++) {
            char *end;
            errno = 0;
            rows[n][k] = strtoll(p, &end, 10);
            assert_true(end != p && errno == 0);
            p = *end == ',' ? end + 1 : end;
        }
        n++;
    }
    fclose(f);
    return n;
}

/* Scans the capture's IPv4 headers (Ethernet, no options): fragments of datagrams whose
 * first record seen is not at offset 0, i.e. held out of order. */
static size_t out_of_order_datagrams(const char *pcap_path, size_t *fragments)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(pcap_path, errbuf);
    assert_non_null(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    static uint8_t seen[65536];
    memset(seen, 0, sizeof seen);
    size_t ooo = 0;
    *fragments = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (h->caplen < 34 || d[12] != 0x08 || d[13] != 0x00) continue;
        const unsigned id = (unsigned)(d[18] << 8 | d[19]), ff = (unsigned)(d[20] << 8 | d[21]);
        if (!(ff & 0x3FFF)) continue; /* not a fragment */
        ++*fragments;
        if (!seen[id] && (ff & 0x1FFF) != 0) ooo++;
        seen[id] = 1;
    }
    pcap_close(p);
    return ooo;
}

/* seconds >= 1.6: more than 997 packets, so at least one is dropped (synth/synth_ouster.c). */
static void run_profile(const char *model, const char *profile, int dual, double seconds)
{
    char dir[] = "/tmp/avt_synth_ouster_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log[600], pcap[700], path[700];
    snprintf(log, sizeof log, "%s/log", dir);
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.seconds = seconds;
    cfg.cameras = 0;
    cfg.seed = 5;
    cfg.lidar = model;
    cfg.lidar_profile = profile;
    avt_error err = {0};
    int rc = avt_synth_run(log, &cfg, NULL, NULL, &err);
    if (rc != AVT_OK) print_message("%s\n", err.msg);
    assert_int_equal(rc, AVT_OK);
    /* the same configuration gives the same scene: the truth to check against */
    static synth_scene sc;
    assert_int_equal(synth_scene_init(&sc, &cfg, &err), AVT_OK);
    assert_non_null(sc.ouster);
    const int w = sc.ouster->w;

    static int64_t fr[MAX_FRAMES][8], sw[MAX_FRAMES][8];
    snprintf(path, sizeof path, "%s/truth/lidar_frames.csv", log);
    size_t n_fr = read_csv(path, fr, 7, MAX_FRAMES);
    snprintf(path, sizeof path, "%s/truth/sweeps.csv", log);
    size_t n_sw = read_csv(path, sw, 6, MAX_FRAMES);
    assert_int_equal(n_fr, n_sw);
    assert_true(n_fr >= 4); /* 0.35 s at 10 Hz: partial, 2 complete, partial */

    snprintf(pcap, sizeof pcap, "%s/lidar/%s.pcap", log, model);
    size_t fragments = 0, ooo = out_of_order_datagrams(pcap, &fragments);
    assert_true(ooo > 0);

    avt_lidar_config lc;
    avt_lidar_config_default(&lc);
    avt_lidar_reader *r = avt_lidar_open(pcap, &lc, &err);
    if (!r) print_message("%s\n", err.msg);
    assert_non_null(r);
    const avt_sweep *s;
    size_t n = 0, far = 0, sweeps = 0;
    int64_t want_lost = 0, want_packets = 0, dropped = 0, want_columns = 0;
    double worst = 0;
    const double tol = strcmp(profile, "rng15") == 0 ? 0.005 : 0.002;
    int matched[MAX_FRAMES] = {0};
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        assert_true(sweeps < n_fr);
        /* Frames are matched to the truth by their first column's time, not by index: the
         * batcher releases a complete frame as soon as it is whole, before the partial first
         * frame of the capture that it still holds (ingest/ouster.c), so index order is not
         * time order at the start of a capture. */
        size_t row = 0;
        while (row < n_sw && sw[row][1] != s->start_ns) row++;
        assert_true(row < n_sw);
        assert_int_equal(matched[row], 0);
        matched[row] = 1;
        const int64_t *t = fr[row], *v = sw[row];
        size_t second = 0, strongest = 0;
        for (size_t i = 0; i < s->n; i++) {
            second += s->return_type[i] == AVT_RETURN_SECOND;
            strongest += s->return_type[i] == AVT_RETURN_STRONGEST;
            avt_tf world_T_ego = synth_world_T_ego(&sc, s->t_ns[i]);
            avt_tf world_T_lidar = avt_tf_mul(&world_T_ego, &sc.ego_T_lidar);
            double pl[3] = {s->xyz[3 * i], s->xyz[3 * i + 1], s->xyz[3 * i + 2]}, pw[3];
            avt_tf_apply(&world_T_lidar, pl, pw);
            double e = surface_dist(&sc, s->t_ns[i], pw);
            if (e > worst) worst = e;
            far += e > tol;
        }
        n += s->n;
        /* lidar_frames.csv: sweep,frame_id,columns,packets,packets_dropped,points,second */
        assert_int_equal(s->n, t[5]);
        assert_int_equal(second, t[6]);
        assert_int_equal(strongest + second, s->n);
        assert_int_equal(s->packets, t[3]);
        /* sweeps.csv: sweep,start_ns,end_ns,timestamp_ns,packets,complete */
        assert_int_equal(s->start_ns, v[1]);
        assert_int_equal(s->end_ns, v[2]);
        assert_int_equal(s->timestamp_ns, v[3]);
        assert_int_equal(s->packets, v[4]);
        assert_int_equal(s->complete, v[5]);
        assert_int_equal(t[2] == w, v[5]);
        if (s->complete) {
            /* w columns equally spaced over one revolution: first to last spans all but one */
            int64_t span = s->end_ns - s->start_ns, want = sc.rev_ns - sc.rev_ns / w;
            assert_true(span >= want - 1 && span <= want + 1);
        }
        want_lost += w - t[2];
        want_columns += t[2];
        want_packets += t[3];
        dropped += t[4];
        sweeps++;
    }
    if (rc != 0) print_message("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(sweeps, n_fr);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    /* IMU samples every 10 ms in [t0, t_end) */
    const int64_t imu0 = (sc.t0_ns + 9999999) / 10000000 * 10000000;
    const uint64_t want_imu = (uint64_t)((sc.t_end_ns - 1 - imu0) / 10000000 + 1);
    print_message("%s %s: %zu frames, %llu packets (%lld dropped), %llu IMU, %zu points, "
                  "%zu fragments (%zu datagrams out of order), worst %.4f m\n",
                  model, profile, sweeps, (unsigned long long)st.data_packets, (long long)dropped,
                  (unsigned long long)st.position_packets, n, fragments, ooo, worst);
    assert_string_equal(st.model, "ouster");
    assert_int_equal(st.corrupt, 0);
    assert_int_equal(st.late, 0);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(st.data_packets, want_packets);
    assert_int_equal(st.position_packets, want_imu);
    assert_int_equal(st.fragments, fragments);
    assert_int_equal(st.reassembled, st.data_packets);
    assert_int_equal(st.frag_dropped, 0);
    assert_int_equal(st.frag_overlaps, 0);
    if (seconds >= 1.6) assert_true(dropped >= 1);
    assert_int_equal(st.columns_lost, want_lost);
    /* every pixel of every column decoded, each with one or two returns */
    const uint64_t nret = strcmp(profile, "rng19-dual") == 0 ? 2 : 1;
    assert_int_equal(st.measurements, (uint64_t)want_columns * (uint64_t)sc.ouster->h * nret);
    assert_true(n > 10000);
    assert_int_equal(far, 0);
    size_t second_total = 0;
    for (size_t i = 0; i < n_fr; i++) second_total += (size_t)fr[i][6];
    if (dual) assert_true(second_total > 50);
    else assert_int_equal(second_total, 0);
    avt_lidar_close(r);
    synth_scene_free(&sc);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_os1_64_rng19(void **state) { (void)state; run_profile("os1-64", "rng19", 0, 1.7); }
static void test_os1_64_legacy(void **state) { (void)state; run_profile("os1-64", "legacy", 0, 0.35); }
static void test_os1_64_rng15(void **state) { (void)state; run_profile("os1-64", "rng15", 0, 0.35); }
static void test_os1_64_dual(void **state) { (void)state; run_profile("os1-64", "rng19-dual", 1, 0.35); }
static void test_os0_128_dual(void **state) { (void)state; run_profile("os0-128", "rng19-dual", 1, 0.35); }

static void test_config_errors(void **state)
{
    (void)state;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    avt_error err = {0};
    cfg.lidar_profile = "rng19"; /* default lidar: vlp16 */
    assert_int_equal(avt_synth_run("/tmp/avt_synth_ouster_never", &cfg, NULL, NULL, &err),
                     AVT_INVAL);
    assert_non_null(strstr(err.msg, "Ouster"));
    cfg.lidar = "os1-64";
    cfg.lidar_profile = "rng17";
    assert_int_equal(avt_synth_run("/tmp/avt_synth_ouster_never", &cfg, NULL, NULL, &err),
                     AVT_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "rng17"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_os1_64_rng19), cmocka_unit_test(test_os1_64_legacy),
        cmocka_unit_test(test_os1_64_rng15), cmocka_unit_test(test_os1_64_dual),
        cmocka_unit_test(test_os0_128_dual), cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
