/* Every Velodyne model and return mode the generator writes, decoded back by the ingest: a
 * short synthetic capture per case (avt_synth_run), read as `avtruth build` reads it (model
 * "auto", i.e. the product byte, unless the log's log.yaml names the model and its
 * calibration, as for the HDL-64E), and every return checked against the generator's scene at
 * its own firing time: within 3 cm of the ground plane or of a box surface (as
 * tests/synth/test_synth_log.c does for the raw VLP-16 bytes). Also: no packet corrupt or lost,
 * the model detected, each sweep's first and last firing equal to truth/sweeps.csv, and the
 * points per sweep equal to the firings with returns of truth/returns.csv.
 * Return types: single-return captures tag every point with their mode (HDL-64E: single);
 * dual captures tag a firing with one return BOTH and one with two LAST + STRONGEST, and the
 * counts of each match the generator's. The generator's rule for two returns (the beam meets
 * a box within SYNTH_DUAL_EDGE_M of a face's edge and a surface lies at least
 * SYNTH_DUAL_MIN_SEP_M behind) is checked on the points: every STRONGEST point lies on a box
 * near an edge and its LAST partner at least the separation farther. The HDL-64E's db.xml and
 * ROS YAML calibrations decode to the same points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/calib.h"
#include "avtruth/ingest.h"
#include "avtruth/synth.h"
#include "synth_private.h"

/* Distance of world point p to the nearest surface of the scene at t_ns: ground z = 0 or a
 * box face. */
static double surface_dist(const synth_scene *sc, int64_t t_ns, const double p[3],
                           double *edge)
{
    double best = fabs(p[2]);
    *edge = INFINITY; /* distance to the nearest edge of the face, when a box face is nearest */
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
        if (d < best) {
            best = d;
            /* the face: the axis where the point is nearest the surface; the edge: the
             * nearest of the other two */
            int k0 = 0;
            for (int k = 1; k < 3; k++)
                if (fabs(fabs(l[k]) - b.half[k]) < fabs(fabs(l[k0]) - b.half[k0])) k0 = k;
            *edge = INFINITY;
            for (int k = 0; k < 3; k++)
                if (k != k0 && b.half[k] - fabs(l[k]) < *edge) *edge = b.half[k] - fabs(l[k]);
        }
    }
    return best;
}

/* Reads truth/<name> (a header line, then integer columns) into rows x cols. */
static size_t read_csv(const char *log, const char *name, int64_t (*rows)[6], size_t max,
                       int cols)
{
    char path[700], line[512];
    snprintf(path, sizeof path, "%s/truth/%s", log, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char *q = line;
        for (int c = 0; c < cols; c++) {
            rows[n][c] = strtoll(q, &q, 10);
            if (*q == ',') q++;
        }
        n++;
    }
    fclose(f);
    return n;
}

/* Decodes a capture with the log's log.yaml (as the build does); calib_override replaces its
 * calibration file. Returns the reader. */
static avt_lidar_reader *open_log(const char *log, const char *pcap, const char *calib_override)
{
    char path[700], cal[700];
    avt_log_config lcfg;
    avt_error err = {0};
    snprintf(path, sizeof path, "%s/log.yaml", log);
    assert_int_equal(avt_log_config_load(path, &lcfg, &err), AVT_OK);
    avt_lidar_config lc;
    avt_lidar_config_default(&lc);
    if (lcfg.lidar_model[0]) lc.model = lcfg.lidar_model;
    if (lcfg.lidar_calibration[0]) {
        snprintf(cal, sizeof cal, "%s/%s", log, calib_override ? calib_override : lcfg.lidar_calibration);
        lc.calibration_path = cal;
    }
    avt_lidar_reader *r = avt_lidar_open(pcap, &lc, &err);
    if (!r) print_message("%s\n", err.msg);
    assert_non_null(r);
    return r;
}


static void run_model(const char *model, const char *ret)
{
    char dir[] = "/tmp/avt_synth_models_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log[600], pcap[700], yaml_cal[100];
    snprintf(log, sizeof log, "%s/log", dir);
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.seconds = 0.35;
    cfg.cameras = 0;
    cfg.seed = 5;
    cfg.lidar = model;
    cfg.lidar_return = ret;
    const int dual = ret && strcmp(ret, "dual") == 0, last = ret && strcmp(ret, "last") == 0;
    const int hdl64 = strncmp(model, "hdl64e", 6) == 0;
    avt_error err = {0};
    int rc = avt_synth_run(log, &cfg, NULL, NULL, &err);
    if (rc != AVT_OK) print_message("%s\n", err.msg);
    assert_int_equal(rc, AVT_OK);
    /* the same configuration gives the same scene: the truth to check against */
    static synth_scene sc;
    assert_int_equal(synth_scene_init(&sc, &cfg, &err), AVT_OK);
    snprintf(pcap, sizeof pcap, "%s/lidar/%s.pcap", log, model);
    static int64_t truth_sw[64][6], truth_ret[64][6];
    size_t n_truth = read_csv(log, "sweeps.csv", truth_sw, 64, 6);
    assert_int_equal(read_csv(log, "returns.csv", truth_ret, 64, 3), n_truth);

    avt_lidar_reader *r = open_log(log, pcap, NULL), *r2 = NULL;
    if (hdl64) { /* the same unit's ROS YAML calibration, beside the db.xml log.yaml names */
        snprintf(yaml_cal, sizeof yaml_cal, "lidar/%s.yaml", model);
        r2 = open_log(log, pcap, yaml_cal);
    }
    const uint8_t single = hdl64 ? AVT_RETURN_SINGLE : last ? AVT_RETURN_LAST : AVT_RETURN_STRONGEST;
    const avt_sweep *s, *s2;
    size_t n = 0, far = 0, sweeps = 0, complete = 0, pairs = 0, both = 0;
    double worst = 0;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        assert_true(sweeps < n_truth);
        /* truth/sweeps.csv: the first and the last firing of the sweep */
        assert_int_equal(s->start_ns, truth_sw[sweeps][1]);
        assert_int_equal(s->end_ns, truth_sw[sweeps][2]);
        if (s->complete) {
            complete++;
            /* a whole revolution: first to last firing spans rev - one sequence + last laser */
            assert_true(s->end_ns - s->start_ns < sc.rev_ns);
            assert_true(s->end_ns - s->start_ns > sc.rev_ns - 2 * sc.rev_ns / SYNTH_SEQ_PER_REV);
        }
        size_t cnt[5] = {0};
        for (size_t i = 0; i < s->n; i++) {
            avt_tf world_T_ego = synth_world_T_ego(&sc, s->t_ns[i]);
            avt_tf world_T_lidar = avt_tf_mul(&world_T_ego, &sc.ego_T_lidar);
            double pl[3] = {s->xyz[3 * i], s->xyz[3 * i + 1], s->xyz[3 * i + 2]}, pw[3], edge;
            avt_tf_apply(&world_T_lidar, pl, pw);
            double e = surface_dist(&sc, s->t_ns[i], pw, &edge);
            if (e > worst) worst = e;
            far += e > 0.03;
            n++;
            const uint8_t ty = s->return_type[i];
            assert_true(ty <= AVT_RETURN_BOTH);
            cnt[ty]++;
            if (!dual) {
                assert_int_equal(ty, single);
                continue;
            }
            assert_true(ty != AVT_RETURN_SINGLE);
            if (ty == AVT_RETURN_LAST) {
                /* the same firing's strongest return follows, nearer by the rule's separation,
                 * on a box within the edge band */
                assert_true(i + 1 < s->n);
                assert_int_equal(s->return_type[i + 1], AVT_RETURN_STRONGEST);
                assert_int_equal(s->t_ns[i + 1], s->t_ns[i]);
                assert_int_equal(s->ring[i + 1], s->ring[i]);
                const float *a = s->xyz + 3 * i, *b = a + 3;
                double r_last = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
                double r_str = sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
                assert_true(r_last - r_str > SYNTH_DUAL_MIN_SEP_M - 0.05);
                pairs++;
            } else if (ty == AVT_RETURN_STRONGEST) {
                assert_true(i > 0 && s->return_type[i - 1] == AVT_RETURN_LAST);
                assert_true(e <= 0.03 && edge < SYNTH_DUAL_EDGE_M + 0.04);
            } else {
                both++;
            }
        }
        /* truth/returns.csv: one point per firing with a return; dual: BOTH for one return,
         * LAST + STRONGEST for two */
        const int64_t one = truth_ret[sweeps][1], two = truth_ret[sweeps][2];
        if (dual) {
            assert_int_equal(cnt[AVT_RETURN_BOTH], one);
            assert_int_equal(cnt[AVT_RETURN_LAST], two);
            assert_int_equal(cnt[AVT_RETURN_STRONGEST], two);
        } else {
            assert_int_equal(s->n, one + two);
        }
        if (r2) { /* the YAML calibration: the same points */
            assert_int_equal(avt_lidar_next(r2, &s2, &err), 1);
            assert_int_equal(s2->n, s->n);
            assert_memory_equal(s2->xyz, s->xyz, 3 * s->n * sizeof *s->xyz);
        }
        sweeps++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sweeps, n_truth);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    print_message("%s %s: %zu sweeps (%zu complete), %llu packets, %zu returns (%zu pairs, %zu "
                  "both), worst %.4f m, %zu beyond 3 cm\n",
                  model, ret ? ret : "strongest", sweeps, complete,
                  (unsigned long long)st.data_packets, n, pairs, both, worst, far);
    assert_string_equal(st.model, model);
    assert_int_equal(st.corrupt, 0);
    assert_int_equal(st.packets_lost, 0);
    /* every manual's data packet: 12 blocks of 32 channel slots, each one range measurement
     * (dual: half the firings, two returns each; VLS-128 dual: blocks 8-11 are padding) */
    assert_int_equal(st.measurements, (dual && strcmp(model, "vls128") == 0 ? 256 : 384) * st.data_packets);
    assert_true(complete >= 2);
    assert_true(n > 10000);
    assert_int_equal(far, 0);
    if (dual) assert_true(pairs > 200 && both > 10000);
    avt_lidar_close(r2);
    avt_lidar_close(r);
    synth_scene_free(&sc);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_vlp16(void **state) { (void)state; run_model("vlp16", NULL); }
static void test_vlp16hires(void **state) { (void)state; run_model("vlp16hires", NULL); }
static void test_hdl32e(void **state) { (void)state; run_model("hdl32e", NULL); }
static void test_vlp32c(void **state) { (void)state; run_model("vlp32c", NULL); }
static void test_vls128(void **state) { (void)state; run_model("vls128", NULL); }
static void test_hdl64e(void **state) { (void)state; run_model("hdl64e", NULL); }
static void test_hdl64e_s2(void **state) { (void)state; run_model("hdl64e_s2", NULL); }
static void test_vlp16_last(void **state) { (void)state; run_model("vlp16", "last"); }
static void test_vlp16_dual(void **state) { (void)state; run_model("vlp16", "dual"); }
static void test_vlp16hires_dual(void **state) { (void)state; run_model("vlp16hires", "dual"); }
static void test_hdl32e_dual(void **state) { (void)state; run_model("hdl32e", "dual"); }
static void test_vlp32c_dual(void **state) { (void)state; run_model("vlp32c", "dual"); }
static void test_hdl64e_dual(void **state) { (void)state; run_model("hdl64e", "dual"); }
static void test_hdl64e_s2_dual(void **state) { (void)state; run_model("hdl64e_s2", "dual"); }
static void test_vls128_dual(void **state) { (void)state; run_model("vls128", "dual"); }
static void test_vls128_last(void **state) { (void)state; run_model("vls128", "last"); }

static void test_refused(void **state)
{
    (void)state;
    /* model, return mode, Ouster profile; the words the message must have: an unknown model
     * is named as such, with the known ones, before anything is said about its options */
    static const char *const CASES[][5] = {
        {"vlp16", "first", NULL, "'first' not supported", "strongest, last, dual"},
        {"os0-32", NULL, "rng19", "'os0-32' not supported", "vlp16, "},
        {"vlp64", "dual", NULL, "'vlp64' not supported", "os1-64"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        avt_synth_config cfg;
        avt_synth_config_default(&cfg);
        cfg.lidar = CASES[i][0];
        cfg.lidar_return = CASES[i][1];
        cfg.lidar_profile = CASES[i][2];
        avt_error err = {0};
        assert_int_equal(avt_synth_run("/tmp/avt_synth_models_never", &cfg, NULL, NULL, &err),
                         AVT_UNSUPPORTED);
        print_message("%s\n", err.msg);
        assert_non_null(strstr(err.msg, CASES[i][3]));
        assert_non_null(strstr(err.msg, CASES[i][4]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vlp16),          cmocka_unit_test(test_vlp16hires),
        cmocka_unit_test(test_hdl32e),         cmocka_unit_test(test_vlp32c),
        cmocka_unit_test(test_vls128),         cmocka_unit_test(test_hdl64e),
        cmocka_unit_test(test_hdl64e_s2),      cmocka_unit_test(test_vlp16_last),
        cmocka_unit_test(test_vlp16_dual),     cmocka_unit_test(test_vlp16hires_dual),
        cmocka_unit_test(test_hdl32e_dual),    cmocka_unit_test(test_vlp32c_dual),
        cmocka_unit_test(test_hdl64e_dual),    cmocka_unit_test(test_hdl64e_s2_dual),
        cmocka_unit_test(test_vls128_dual),    cmocka_unit_test(test_vls128_last),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
