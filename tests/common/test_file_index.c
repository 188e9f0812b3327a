/* The one indexer of a log's timed files (common/file_index.c): which names it takes, the
 * <t_ns><ext> rule, name order, then time order with qsort; the files' read-ahead window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/common.h"

static char dir[64];

static void touch(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/avt_file_index_XXXXXX");
    assert_non_null(mkdtemp(dir));
    const char *names[] = {"20.json", "3.json", "x.json", ".5.json", "7.txt", "12.pcd.bin", "9.bin",
                           "4.pcd", "1.5.json", "8.json.bak", "5.foo.bin"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) touch(names[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void test_labels_rule(void **state)
{
    (void)state;
    static const char *const EXTS[] = {".json", NULL};
    avt_file_index idx;
    avt_error err = {0, ""};
    assert_int_equal(avt_file_index_list(dir, EXTS, NULL, &idx, &err), AVT_OK);
    /* dot files and other suffixes left out; name order (strcmp) */
    assert_int_equal(idx.n, 4);
    assert_string_equal(idx.files[0].name, "1.5.json");
    assert_string_equal(idx.files[1].name, "20.json");
    assert_string_equal(idx.files[2].name, "3.json");
    assert_string_equal(idx.files[3].name, "x.json");
    assert_true(idx.files[0].t_ns == AVT_NO_TIME); /* "1" + ".5.json" is not "<digits>.json" */
    assert_true(idx.files[1].t_ns == 20);
    assert_true(idx.files[3].t_ns == AVT_NO_TIME);
    avt_file_index_sort_time(&idx);
    /* untimed first (by name), then by time: 3 before 20 although "20" < "3" by name */
    assert_string_equal(idx.files[0].name, "1.5.json");
    assert_string_equal(idx.files[1].name, "x.json");
    assert_string_equal(idx.files[2].name, "3.json");
    assert_string_equal(idx.files[3].name, "20.json");
    avt_file_index_free(&idx);
}

static void test_cloud_rule(void **state)
{
    (void)state;
    static const char *const EXTS[] = {".bin", ".pcd.bin", ".pcd", NULL};
    avt_file_index idx;
    avt_error err = {0, ""};
    assert_int_equal(avt_file_index_list(dir, EXTS, NULL, &idx, &err), AVT_OK);
    assert_int_equal(idx.n, 4); /* 12.pcd.bin 4.pcd 5.foo.bin 9.bin */
    avt_file_index_sort_time(&idx);
    assert_string_equal(idx.files[0].name, "5.foo.bin");
    assert_true(idx.files[0].t_ns == AVT_NO_TIME);
    assert_true(idx.files[1].t_ns == 4);
    assert_true(idx.files[2].t_ns == 9);
    assert_true(idx.files[3].t_ns == 12);
    avt_file_index_free(&idx);
}

static int len_time(const char *name, int64_t *t)
{
    *t = (int64_t)strlen(name);
    return strncmp(name, "x", 1) == 0 ? AVT_FORMAT : AVT_OK;
}

static void test_custom_time_and_missing_dir(void **state)
{
    (void)state;
    static const char *const EXTS[] = {".json", NULL};
    avt_file_index idx;
    avt_error err = {0, ""};
    assert_int_equal(avt_file_index_list(dir, EXTS, len_time, &idx, &err), AVT_OK);
    assert_int_equal(idx.n, 4);
    assert_true(idx.files[0].t_ns == 8); /* "1.5.json" */
    assert_true(idx.files[3].t_ns == AVT_NO_TIME);
    avt_file_index_free(&idx);
    assert_int_equal(avt_file_index_list("/nonexistent/avt", EXTS, NULL, &idx, &err), AVT_NOTFOUND);
    assert_int_equal(idx.n, 0);
}

static void test_name_lookup(void **state)
{
    (void)state;
    static const char *const N[] = {"any", "all", "none"};
    assert_int_equal(avt_name_lookup(N, 3, "all"), 1);
    assert_int_equal(avt_name_lookup(N, 3, "ALL"), -1);
    assert_int_equal(avt_name_lookup(N, 3, NULL), -1);
    assert_int_equal(avt_name_lookup(N, 2, "none"), -1);
}

/* avt_files_read_ahead: every file of the loop is asked for once, 32 iterations ahead (the
 * first 33 at the first); a missing file or a NULL path is skipped. */
typedef struct ahead_log {
    int asked[100];
    size_t when[100]; /* the iteration that asked for it */
    size_t at;        /* the loop's iteration */
} ahead_log;

static const char *ahead_path(void *ctx, size_t j, char *buf, size_t cap)
{
    ahead_log *l = ctx;
    assert_true(j < 100);
    l->asked[j]++;
    l->when[j] = l->at;
    if (j % 7 == 3) return NULL;
    snprintf(buf, cap, "%s/%s", dir, j % 5 == 0 ? "3.json" : "no-such-file");
    return buf;
}

static void test_files_read_ahead(void **state)
{
    (void)state;
    const size_t counts[] = {0, 1, 20, 33, 34, 100};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        ahead_log l;
        memset(&l, 0, sizeof l);
        for (l.at = 0; l.at < counts[c]; l.at++) {
            avt_files_read_ahead(l.at, counts[c], ahead_path, &l);
            assert_int_equal(l.asked[l.at], 1); /* before the loop reads it */
        }
        for (size_t j = 0; j < 100; j++) {
            assert_int_equal(l.asked[j], j < counts[c] ? 1 : 0);
            if (j < counts[c]) assert_int_equal(l.when[j], j <= 32 ? 0 : j - 32); /* 32 ahead */
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_rule),
        cmocka_unit_test(test_cloud_rule),
        cmocka_unit_test(test_custom_time_and_missing_dir),
        cmocka_unit_test(test_name_lookup),
        cmocka_unit_test(test_files_read_ahead),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
