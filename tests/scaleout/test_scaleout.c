/* scaleout: the output path of a log, longest-first order by capture bytes, and the split
 * rule of stitch (export), against hand-computed cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/export.h"
#include "avtruth/scaleout.h"

static void test_output_path(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(avt_scaleout_output_path("/data/fleet/log_7/", "out", out, sizeof out), AVT_OK);
    assert_string_equal(out, "out/log_7.h5");
    assert_int_equal(avt_scaleout_output_path("log_7", "/o", out, sizeof out), AVT_OK);
    assert_string_equal(out, "/o/log_7.h5");
    assert_int_equal(avt_scaleout_output_path("log_7", "a-dir-name-far-too-long-for-it", out, 16), AVT_INVAL);
}

static void write_bytes(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) fputc('x', f);
    fclose(f);
}

/* Logs 0..3: lidar captures of 10, 300 and 20 bytes (plus a 1000-byte camera file each,
 * which must not count), and a log without lidar/ of 50 bytes in all. */
static void test_longest_first(void **state)
{
    (void)state;
    char root[] = "/tmp/avt_scaleout_XXXXXX", p[4][256], f[1100];
    assert_non_null(mkdtemp(root));
    const size_t lidar[3] = {10, 300, 20};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], sizeof p[i], "%s/log%d", root, i);
        assert_int_equal(mkdir(p[i], 0777), 0);
        if (i == 3) {
            snprintf(f, sizeof f, "%s/poses.csv", p[i]);
            write_bytes(f, 50);
            continue;
        }
        snprintf(f, sizeof f, "%s/lidar", p[i]);
        assert_int_equal(mkdir(f, 0777), 0);
        snprintf(f, sizeof f, "%s/lidar/vlp16.pcap", p[i]);
        write_bytes(f, lidar[i]);
        snprintf(f, sizeof f, "%s/front.png", p[i]);
        write_bytes(f, 1000);
    }
    const char *logs[4] = {p[0], p[1], p[2], p[3]};
    size_t order[4];
    uint64_t bytes[4];
    avt_error err = {0, ""};
    assert_int_equal(avt_scaleout_longest_first(logs, 4, order, bytes, &err), AVT_OK);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 2);
    assert_int_equal(order[3], 0);
    assert_int_equal(bytes[0], 10);
    assert_int_equal(bytes[3], 50);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

static const char *split_of(const avt_split_log *l, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].log_id, id) == 0) return l[i].split;
    return "?";
}

static void test_splits(void **state)
{
    (void)state;
    avt_error err = {0, ""};
    /* three logs of one length, 80/10/10: one per split, ties broken by log_id */
    avt_split_log three[3] = {{"c", 10, NULL, NULL}, {"a", 10, NULL, NULL}, {"b", 10, NULL, NULL}};
    assert_int_equal(avt_export_splits_assign(three, 3, 0.8, 0.1, &err), AVT_OK);
    assert_string_equal(split_of(three, 3, "a"), "train");
    assert_string_equal(split_of(three, 3, "b"), "val");
    assert_string_equal(split_of(three, 3, "c"), "test");
    /* ten logs of one length: 8 / 1 / 1 */
    avt_split_log ten[10];
    char ids[10][4];
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "l%d", i);
        ten[i] = (avt_split_log){ids[i], 7, NULL, NULL};
    }
    assert_int_equal(avt_export_splits_assign(ten, 10, 0.8, 0.1, &err), AVT_OK);
    int count[3] = {0};
    for (int i = 0; i < 10; i++) count[strcmp(ten[i].split, "train") == 0 ? 0 : strcmp(ten[i].split, "val") == 0 ? 1 : 2]++;
    assert_int_equal(count[0], 8);
    assert_int_equal(count[1], 1);
    assert_int_equal(count[2], 1);
    /* 100/50/30/20 frames, 60/20/20 (targets 120, 40, 40): a train (deficits 120 40 40),
     * b val (20 40 40, val before test), c test (20 -10 40), d train (20 -10 10) */
    avt_split_log four[4] = {{"d", 20, NULL, NULL}, {"b", 50, NULL, NULL}, {"a", 100, NULL, NULL},
                             {"c", 30, NULL, NULL}};
    assert_int_equal(avt_export_splits_assign(four, 4, 0.6, 0.2, &err), AVT_OK);
    assert_string_equal(split_of(four, 4, "a"), "train");
    assert_string_equal(split_of(four, 4, "b"), "val");
    assert_string_equal(split_of(four, 4, "c"), "test");
    assert_string_equal(split_of(four, 4, "d"), "train");
    /* c fixed to train (30): a train (90 40 40); then two logs for two empty splits:
     * b val (40 40, val first), d test */
    four[3].fixed = "train";
    assert_int_equal(avt_export_splits_assign(four, 4, 0.6, 0.2, &err), AVT_OK);
    assert_string_equal(split_of(four, 4, "c"), "train");
    assert_string_equal(split_of(four, 4, "a"), "train");
    assert_string_equal(split_of(four, 4, "b"), "val");
    assert_string_equal(split_of(four, 4, "d"), "test");
    /* a ratio of 0 gets nothing, even when empty */
    four[3].fixed = NULL;
    assert_int_equal(avt_export_splits_assign(four, 4, 0.5, 0.5, &err), AVT_OK);
    for (int i = 0; i < 4; i++) assert_string_not_equal(four[i].split, "test");
    /* refusals */
    four[0].fixed = "dev";
    assert_int_equal(avt_export_splits_assign(four, 4, 0.6, 0.2, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "'dev'"));
    assert_int_equal(avt_export_splits_assign(NULL, 0, 0.9, 0.3, &err), AVT_INVAL);
    assert_int_equal(avt_export_splits_assign(NULL, 0, -0.1, 0.3, &err), AVT_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_path),
        cmocka_unit_test(test_longest_first),
        cmocka_unit_test(test_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
