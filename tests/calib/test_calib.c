/* calib.yaml loading: a valid rig round-trips through save/load, and a table of broken files
 * each fails with a message naming the key and the value. */
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

static const char *VALID =
    "version: 1\n"
    "lidar:\n"
    "  model: vlp16\n"
    "  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,-1.8, 0,0,0,1]\n"
    "cameras:\n"
    "  - name: front\n"
    "    model: pinhole\n"
    "    width: 640\n"
    "    height: 400\n"
    "    K: [450, 0, 320, 0, 451, 200, 0, 0, 1]\n"
    "    distortion_model: radtan\n"
    "    distortion: [-0.3, 0.1, 0.001, -0.0015, -0.02]\n"
    "    lidar_T_cam: [0,0,1,0.5, -1,0,0,0, 0,-1,0,-0.3, 0,0,0,1]\n";

static char tmp_path[64];

static void write_tmp(const char *text)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/avt_calib_%d.yaml", (int)getpid());
    FILE *f = fopen(tmp_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Replaces the first occurrence of `from` in VALID by `to`. */
static char *mutate(const char *from, const char *to)
{
    const char *p = strstr(VALID, from);
    assert_non_null(p);
    size_t n = strlen(VALID) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%.*s%s%s", (int)(p - VALID), VALID, to, p + strlen(from));
    return s;
}

static void test_valid_roundtrip(void **state)
{
    (void)state;
    write_tmp(VALID);
    avt_rig rig, back;
    avt_error err = {0, ""};
    assert_int_equal(avt_rig_load_yaml(tmp_path, &rig, &err), 0);
    assert_int_equal(rig.n_cameras, 1);
    assert_string_equal(rig.cameras[0].name, "front");
    assert_int_equal(rig.cameras[0].n_dist, 5);
    assert_true(rig.lidar_T_ego.m[11] == -1.8);
    assert_int_equal(avt_rig_save_yaml(tmp_path, &rig, &err), 0);
    assert_int_equal(avt_rig_load_yaml(tmp_path, &back, &err), 0);
    assert_memory_equal(&rig.cameras[0], &back.cameras[0], sizeof(avt_camera));
    assert_memory_equal(&rig.lidar_T_ego, &back.lidar_T_ego, sizeof(avt_tf));
    avt_rig_free(&rig);
    avt_rig_free(&back);
    unlink(tmp_path);
}

static void test_broken_files(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"lidar_T_ego: [1,0,0,0", "lidar_T_ego: [1.5,0,0,0", "lidar.lidar_T_ego: not a rigid transform"},
        {"lidar_T_cam: [0,0,1,0.5", "lidar_T_cam: [0,0,2,0.5", "cameras.front.lidar_T_cam: not a rigid"},
        {"K: [450,", "K: [-450,", "focal lengths must be positive"},
        {"0, 451, 200", "0, 451, 900", "principal point"},
        {"width: 640", "width: -3", "cameras.front.width"},
        {"width: 640", "width: abc", "'abc'"},
        {"K: [450, 0, 320, 0, 451, 200, 0, 0, 1]", "K: [450, 0, 320]", "cameras.front.K: 3 values"},
        {"-0.02]", "nan]", "cameras.front.distortion[4]"},
        {"-0.3, 0.1, 0.001, -0.0015, -0.02", "-0.3, 0.1, 0.001", "3 coefficients"},
        {"version: 1", "version: 2", "version"},
        {"model: pinhole", "model: orthographic", "orthographic"},
        {"distortion_model: radtan", "distortion_model: magic", "magic"},
        {"    K:", "   K: [:\n    K:", "YAML error"},
        {"  model: vlp16\n", "", "lidar.model"},
        {"model: pinhole", "model: fisheye", "model 'fisheye' with distortion_model 'radtan'"},
        /* misspelt keys: each dropped its data without a word (no cameras, no distortion) */
        {"cameras:\n", "camras:\n", "line 5: top level: unknown key 'camras' (accepted: version, lidar, cameras)"},
        {"  lidar_T_ego:", "  lidar_T_ego: [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\n  lidar_T_egp:",
         "line 5: lidar: unknown key 'lidar_T_egp' (accepted: model, lidar_T_ego)"},
        {"distortion_model:", "distortion_modle:",
         "line 11: cameras[0]: unknown key 'distortion_modle' (accepted: name, model, width, height, K, "
         "distortion_model, distortion, lidar_T_cam)"},
        /* a key given twice: the lookup took the first, the second's value was dropped */
        {"    width: 640\n", "    width: 640\n    width: 1280\n", "line 9: cameras[0]: key 'width' given twice (first on line 8)"},
        {"version: 1\n", "version: 1\nversion: 1\n", "line 2: top level: key 'version' given twice (first on line 1)"},
        {"version: 1\n", "verison: 1\n", "line 1: top level: unknown key 'verison' (accepted: version, lidar, cameras)"},
        {"version: 1\n", "", "version: expected 1, got '(missing)'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = mutate(cases[i].from, cases[i].to);
        write_tmp(text);
        free(text);
        avt_rig rig;
        avt_error err = {0, ""};
        int rc = avt_rig_load_yaml(tmp_path, &rig, &err);
        if (rc == 0) fail_msg("case %zu (%s) loaded", i, cases[i].to);
        if (!strstr(err.msg, cases[i].needle) || !strstr(err.msg, tmp_path))
            fail_msg("case %zu: message '%s' lacks '%s' or the path", i, err.msg, cases[i].needle);
    }
    unlink(tmp_path);
    avt_rig rig;
    avt_error err = {0, ""};
    assert_int_not_equal(avt_rig_load_yaml("/nonexistent/calib.yaml", &rig, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent/calib.yaml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid_roundtrip), cmocka_unit_test(test_broken_files)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
