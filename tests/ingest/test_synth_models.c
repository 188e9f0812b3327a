/* Every Velodyne model the generator writes, decoded back by the ingest: a short synthetic
 * capture per model (avt_synth_run), read with model "auto" (the product byte), and every
 * return checked against the generator's scene at its own firing time: within 3 cm of the
 * ground plane or of a box surface (as tests/synth/test_synth_log.c does for the raw VLP-16
 * bytes). Also: no packet corrupt or lost, the model detected, sweeps cut at the generator's
 * cut (each complete sweep has SYNTH_SEQ_PER_REV firing sequences' worth of time). */
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
#include "avtruth/synth.h"
#include "synth_private.h"

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

static void run_model(const char *model)
{
    char dir[] = "/tmp/avt_synth_models_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log[600], pcap[700];
    snprintf(log, sizeof log, "%s/log", dir);
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.seconds = 0.35;
    cfg.cameras = 0;
    cfg.seed = 5;
    cfg.lidar = model;
    avt_error err = {0};
    int rc = avt_synth_run(log, &cfg, NULL, NULL, &err);
    if (rc != AVT_OK) print_message("%s\n", err.msg);
    assert_int_equal(rc, AVT_OK);
    /* the same configuration gives the same scene: the truth to check against */
    static synth_scene sc;
    assert_int_equal(synth_scene_init(&sc, &cfg, &err), AVT_OK);
    snprintf(pcap, sizeof pcap, "%s/lidar/%s.pcap", log, model);

    avt_lidar_config lc;
    avt_lidar_config_default(&lc);
    avt_lidar_reader *r = avt_lidar_open(pcap, &lc, &err);
    assert_non_null(r);
    const avt_sweep *s;
    size_t n = 0, far = 0, sweeps = 0, complete = 0;
    double worst = 0;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        sweeps++;
        if (s->complete) {
            complete++;
            /* a whole revolution: first to last firing spans rev - one sequence + last laser */
            assert_true(s->end_ns - s->start_ns < sc.rev_ns);
            assert_true(s->end_ns - s->start_ns > sc.rev_ns - 2 * sc.rev_ns / SYNTH_SEQ_PER_REV);
        }
        for (size_t i = 0; i < s->n; i++) {
            avt_tf world_T_ego = synth_world_T_ego(&sc, s->t_ns[i]);
            avt_tf world_T_lidar = avt_tf_mul(&world_T_ego, &sc.ego_T_lidar);
            double pl[3] = {s->xyz[3 * i], s->xyz[3 * i + 1], s->xyz[3 * i + 2]}, pw[3];
            avt_tf_apply(&world_T_lidar, pl, pw);
            double e = surface_dist(&sc, s->t_ns[i], pw);
            if (e > worst) worst = e;
            far += e > 0.03;
            n++;
        }
    }
    assert_int_equal(rc, 0);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    print_message("%s: %zu sweeps (%zu complete), %llu packets, %zu returns, worst %.4f m, "
                  "%zu beyond 3 cm\n",
                  model, sweeps, complete, (unsigned long long)st.data_packets, n, worst, far);
    assert_string_equal(st.model, model);
    assert_int_equal(st.corrupt, 0);
    assert_int_equal(st.packets_lost, 0);
    assert_true(complete >= 2);
    assert_true(n > 10000);
    assert_int_equal(far, 0);
    avt_lidar_close(r);
    synth_scene_free(&sc);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_vlp16(void **state) { (void)state; run_model("vlp16"); }
static void test_vlp16hires(void **state) { (void)state; run_model("vlp16hires"); }
static void test_hdl32e(void **state) { (void)state; run_model("hdl32e"); }
static void test_vlp32c(void **state) { (void)state; run_model("vlp32c"); }
static void test_vls128(void **state) { (void)state; run_model("vls128"); }

static void test_hdl64e_refused(void **state)
{
    (void)state;
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.lidar = "hdl64e";
    avt_error err = {0};
    assert_int_equal(avt_synth_run("/tmp/avt_synth_models_never", &cfg, NULL, NULL, &err),
                     AVT_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "calibration"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vlp16),  cmocka_unit_test(test_vlp16hires),
        cmocka_unit_test(test_hdl32e), cmocka_unit_test(test_vlp32c),
        cmocka_unit_test(test_vls128), cmocka_unit_test(test_hdl64e_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
