/* The whole calibration check on synthetic logs with planted errors: for each seed, one log of
 * a static scene (VLS-128, one 640 x 400 camera, 1 s); the check must pass its calibration
 * and flag each planted error (0.25 deg of roll, pitch or yaw, 5 cm sideways or up), and in
 * every case every estimated angle must lie within 0.1 deg and every shift within 2 cm of the
 * planted values (the worst measured: 0.051 deg, 1.88 cm; docs/calibration-check.md). The
 * planted E is composed here from rotations written out (not avt_cc_error_tf). Seeds:
 * AVT_CC_SEEDS (default 10). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/calib.h"
#include "avtruth/calibcheck.h"
#include "avtruth/pipeline.h"
#include "avtruth/synth.h"

#define DEG (M_PI / 180.0)

static avt_tf planted_tf(const double p[6])
{
    double r = p[0] * DEG, q = p[1] * DEG, y = p[2] * DEG;
    avt_tf rx = {{1, 0, 0, 0, 0, cos(r), -sin(r), 0, 0, sin(r), cos(r), 0, 0, 0, 0, 1}};
    avt_tf ry = {{cos(q), 0, sin(q), 0, 0, 1, 0, 0, -sin(q), 0, cos(q), 0, 0, 0, 0, 1}};
    avt_tf rz = {{cos(y), -sin(y), 0, p[3], sin(y), cos(y), 0, p[4], 0, 0, 1, p[5], 0, 0, 0, 1}};
    avt_tf a = avt_tf_mul(&ry, &rx);
    return avt_tf_mul(&rz, &a);
}

static void rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void test_planted_errors(void **state)
{
    (void)state;
    const char *env = getenv("AVT_CC_SEEDS");
    int64_t seeds = 10;
    if (env && (!avt_parse_int64(env, &seeds) || seeds < 1 || seeds > 1000)) fail_msg("AVT_CC_SEEDS='%s': not a count 1..1000", env);
    /* roll, pitch, yaw (deg), x, y, z (m); the 5 cm shift is sideways on odd seeds, up on even */
    const double cases[][6] = {
        {0, 0, 0, 0, 0, 0},    {0, 0, 0.25, 0, 0, 0}, {0, 0.25, 0, 0, 0, 0},
        {0.25, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0.05, 0}, {0, 0, 0, 0, 0, 0.05},
    };
    const int ncase = 5;
    int failures = 0;
    double worst_rot = 0, worst_trans = 0, worst_shift_rot = 0, worst_shift = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        char dir[] = "/tmp/avt-cc-synth-XXXXXX";
        assert_non_null(mkdtemp(dir));
        avt_synth_config sc;
        avt_synth_config_default(&sc);
        sc.seed = (uint64_t)seed;
        sc.seconds = 1.0;
        sc.cameras = 1;
        sc.lidar = "vls128";
        sc.moving_objects = 0;
        sc.static_objects = 20;
        avt_error err = {0, ""};
        int rc = avt_synth_run(dir, &sc, NULL, NULL, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(rc, AVT_OK);
        char path[4200];
        snprintf(path, sizeof path, "%s/calib.yaml", dir);
        avt_rig truth;
        assert_int_equal(avt_rig_load_yaml(path, &truth, &err), AVT_OK);
        /* one check of a rig holding the camera once per case, each copy with its planted error:
         * the sweeps are read once for all cases */
        avt_camera cams[8];
        const double *plants[8];
        for (int c = 0; c < ncase; c++) {
            plants[c] = cases[c == 4 && seed % 2 == 0 ? 5 : c];
            cams[c] = truth.cameras[0];
            avt_tf E = planted_tf(plants[c]);
            cams[c].lidar_T_cam = avt_tf_mul(&E, &truth.cameras[0].lidar_T_cam);
        }
        avt_rig rig = truth;
        rig.cameras = cams;
        rig.n_cameras = (size_t)ncase;
        avt_calib_check_options o;
        avt_calib_check_options_default(&o);
        o.rig = &rig;
        o.window = 0;
        o.overlays = 0;
        o.search.grid = 0;
        avt_calib_check_report r;
        rc = avt_calib_check(dir, &o, &r, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(rc, AVT_OK);
        assert_int_equal(r.n_cams, (size_t)ncase);
        for (int c = 0; c < ncase; c++) {
            const double *plant = plants[c];
            const avt_calib_check_camera *cc = &r.cams[c];
            int want = c == 0 ? AVT_CC_ALIGNED : AVT_CC_MISCALIBRATED;
            double drot = 0, dtrans = 0;
            for (int k = 0; k < 6; k++) {
                double got = k < 3 ? cc->est.error[k] / DEG : cc->est.error[k];
                double d = fabs(got - plant[k]);
                if (k < 3) drot = fmax(drot, d);
                else dtrans = fmax(dtrans, d);
            }
            if (c < 4) {
                worst_rot = fmax(worst_rot, drot);
                worst_trans = fmax(worst_trans, dtrans);
            } else {
                worst_shift_rot = fmax(worst_shift_rot, drot);
                worst_shift = fmax(worst_shift, dtrans);
            }
            /* every angle within 0.1 deg, every shift within 2 cm */
            int ok = cc->status == want && drot <= 0.1 && dtrans <= 0.02;
            printf("seed %2d planted r%.2f p%.2f y%.2f x%.2f y%.2f z%.2f: %-13s est r%+.3f p%+.3f y%+.3f deg "
                   "x%+.3f y%+.3f z%+.3f m, off %.3f deg %.3f m, gain %.1f%%, significance %.1f (needs %.1f) %s\n",
                   seed, plant[0], plant[1], plant[2], plant[3], plant[4], plant[5],
                   avt_cc_status_name(cc->status), cc->est.error[0] / DEG, cc->est.error[1] / DEG,
                   cc->est.error[2] / DEG, cc->est.error[3], cc->est.error[4], cc->est.error[5], drot, dtrans,
                   100 * (cc->est.score_best / cc->est.score_stored - 1), cc->est.significance,
                   avt_cc_significance_needed(&cc->est, &r.thresholds), ok ? "ok" : "FAIL");
            failures += !ok;
        }
        avt_calib_check_report_free(&r);
        avt_rig_free(&truth);
        rm_rf(dir);
    }
    printf("%d seeds x %d cases: %d failures; worst estimate off by %.3f deg, %.4f m (correct and rotation "
           "cases), %.3f deg, %.4f m (5 cm shifts)\n",
           (int)seeds, ncase, failures, worst_rot, worst_trans, worst_shift_rot, worst_shift);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_planted_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
