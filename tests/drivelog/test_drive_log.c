/* The drive-log layout (drivelog/): the one resolver of names found inside a log, log.yaml
 * merged with the command line, and the provenance names of the fixed inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/drivelog.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/avt_drive_log_XXXXXX");
    assert_non_null(mkdtemp(dir));
    char p[128];
    snprintf(p, sizeof p, "%s/lidar", dir);
    assert_int_equal(mkdir(p, 0777), 0);
    write_file("lidar/b.pcap", "");
    write_file("lidar/a.pcapng", "");
    write_file("log.yaml", "log_id: run7\nlidar:\n  model: vlp32c\n  source: 10.0.0.2\n  calibration: cal/db.xml\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void test_resolver(void **state)
{
    (void)state;
    avt_drive_log log;
    memset(&log, 0, sizeof log);
    snprintf(log.dir, sizeof log.dir, "/logs/x");
    char out[64];
    avt_error err = {0, ""};
    assert_int_equal(avt_drive_log_path(&log, "cameras/front/1.png", out, sizeof out, &err), AVT_OK);
    assert_string_equal(out, "/logs/x/cameras/front/1.png");
    assert_string_equal(avt_drive_log_rel(&log, out), "cameras/front/1.png");
    assert_string_equal(avt_drive_log_rel(&log, "/logs/xy/a"), "/logs/xy/a"); /* not inside */
    const char *bad[] = {"../secret", "/etc/passwd", "a/../../b", "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(avt_drive_log_path(&log, bad[i], out, sizeof out, &err), AVT_INVAL);
        assert_non_null(strstr(err.msg, bad[i]));
    }
    /* names that only look like ".." are fine */
    assert_int_equal(avt_drive_log_path(&log, "a/..b/...", out, sizeof out, &err), AVT_OK);
    char tiny[8];
    assert_int_equal(avt_drive_log_path(&log, "abc", tiny, sizeof tiny, &err), AVT_INVAL);
}

static void test_merge(void **state)
{
    (void)state;
    static avt_drive_log log; /* large */
    avt_error err = {0, ""};
    avt_drive_log_overrides o = {"auto", NULL, NULL, 90};
    assert_int_equal(avt_drive_log_open(dir, &o, &log, &err), AVT_OK);
    char want[256];
    snprintf(want, sizeof want, "%s/lidar/a.pcapng", dir); /* the first capture by name */
    assert_string_equal(log.lidar, want);
    assert_string_equal(log.lidar_cfg.model, "vlp32c"); /* log.yaml over "auto" */
    assert_string_equal(log.lidar_cfg.source_addr, "10.0.0.2");
    assert_true(log.lidar_cfg.cut_angle_deg == 90);
    snprintf(want, sizeof want, "%s/cal/db.xml", dir);
    assert_string_equal(log.lidar_cfg.calibration_path, want);
    assert_string_equal(log.log_id, "run7");
    avt_log_input in[AVT_LOG_MAX_FIXED_INPUTS];
    size_t n = avt_drive_log_inputs(&log, 0, log.lidar, in);
    assert_int_equal(n, 4); /* calib.yaml, log.yaml, calibration, capture; no poses */
    assert_string_equal(in[0].rel, "calib.yaml");
    assert_string_equal(in[1].rel, "log.yaml");
    assert_string_equal(in[2].rel, "cal/db.xml");
    assert_string_equal(in[3].rel, "lidar/a.pcapng");

    /* the command line over log.yaml */
    avt_drive_log_overrides o2 = {"hdl64e", "/tmp/my.xml", "10.0.0.9", 180};
    assert_int_equal(avt_drive_log_open(dir, &o2, &log, &err), AVT_OK);
    assert_string_equal(log.lidar_cfg.model, "hdl64e");
    assert_string_equal(log.lidar_cfg.calibration_path, "/tmp/my.xml");
    assert_string_equal(log.lidar_calibration_rel, "/tmp/my.xml");
    assert_string_equal(log.lidar_cfg.source_addr, "10.0.0.9");

    /* a log.yaml entry that leaves the log is refused, naming log.yaml */
    write_file("log.yaml", "lidar:\n  metadata: ../meta.json\n");
    assert_int_equal(avt_drive_log_open(dir, &o, &log, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "log.yaml"));
    assert_non_null(strstr(err.msg, "../meta.json"));
    assert_int_equal(avt_drive_log_open("/nonexistent/avt", &o, &log, &err), AVT_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolver),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
