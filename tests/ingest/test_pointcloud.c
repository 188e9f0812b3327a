/* Point-cloud files (ingest/pointcloud.c): PCD ascii and binary with every field type, NaN
 * points dropped alike in every format, infinity and out-of-range values refused with the
 * file, line/point and value, KITTI and nuScenes records, truncation at every length. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avtruth/pointcloud.h"

/* Appends v as a little-endian value of PCD TYPE type and SIZE size (independent of the
 * reader's getters: integers through their two's-complement bits, floats through memcpy). */
static size_t put(uint8_t *p, char type, int size, double v)
{
    uint64_t u;
    if (type == 'F' && size == 4) {
        float f = (float)v;
        uint32_t b;
        memcpy(&b, &f, 4);
        u = b;
    } else if (type == 'F') {
        memcpy(&u, &v, 8);
    } else {
        u = (uint64_t)(int64_t)v;
    }
    for (int i = 0; i < size; i++) p[i] = (uint8_t)(u >> (8 * i));
    return (size_t)size;
}

static size_t put_f32s(uint8_t *p, const float *v, int n)
{
    size_t k = 0;
    for (int i = 0; i < n; i++) k += put(p + k, 'F', 4, v[i]);
    return k;
}

static int read_mem(const void *data, size_t len, const char *name, avt_pointcloud *pc, avt_error *err)
{
    err->msg[0] = '\0';
    return avt_pointcloud_read_mem(data, len, name, AVT_PC_AUTO, pc, err);
}

static void expect_error(const void *data, size_t len, const char *name, const char *needle)
{
    avt_pointcloud pc;
    avt_error err;
    if (read_mem(data, len, name, &pc, &err) == 0) fail_msg("%s: accepted, expected '%s'", name, needle);
    if (!strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_null(pc.xyz);
}

#define HDR(fields, size, type, n, data)                                                             \
    "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS " fields "\nSIZE " size "\nTYPE " \
    type "\nCOUNT 1 1 1 1\nWIDTH " n "\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS " n "\nDATA " data "\n"

/* PCL's organized clouds write "nan" for points without a return: dropped and counted, as
 * the same points are in binary; a NaN intensity is kept as unknown. */
static void test_nan_points(void **state)
{
    (void)state;
    static const char ascii[] = HDR("x y z intensity", "4 4 4 4", "F F F F", "4", "ascii")
        "1 2 3 10\n"
        "nan nan nan 0\n"
        "4 NaN 6 11\n"
        "7 8 9 nan\n";
    avt_pointcloud pc;
    avt_error err;
    assert_int_equal(read_mem(ascii, strlen(ascii), "a.pcd", &pc, &err), 0);
    assert_int_equal(pc.n, 2);
    assert_int_equal(pc.dropped, 2);
    static const float xyz[6] = {1, 2, 3, 7, 8, 9};
    for (int i = 0; i < 6; i++) assert_true(pc.xyz[i] == xyz[i]);
    assert_true(pc.intensity[0] == 10.0f);
    assert_true(isnan(pc.intensity[1]));
    avt_pointcloud_free(&pc);

    /* the same cloud in binary */
    static const char hdr[] = HDR("x y z intensity", "4 4 4 4", "F F F F", "4", "binary");
    uint8_t bin[sizeof hdr + 64];
    const float v[16] = {1, 2, 3, 10, NAN, NAN, NAN, 0, 4, NAN, 6, 11, 7, 8, 9, NAN};
    memcpy(bin, hdr, sizeof hdr - 1);
    size_t len = sizeof hdr - 1 + put_f32s(bin + sizeof hdr - 1, v, 16);
    assert_int_equal(read_mem(bin, len, "b.pcd", &pc, &err), 0);
    assert_int_equal(pc.n, 2);
    assert_int_equal(pc.dropped, 2);
    for (int i = 0; i < 6; i++) assert_true(pc.xyz[i] == xyz[i]);
    assert_true(pc.intensity[0] == 10.0f);
    assert_true(isnan(pc.intensity[1]));
    avt_pointcloud_free(&pc);

    /* KITTI .bin and nuScenes .pcd.bin the same way */
    uint8_t kb[64], nb[80];
    const float k[12] = {1, 2, 3, 0.5f, NAN, NAN, NAN, 0, 7, 8, 9, 0.25f};
    const float nu[15] = {1, 2, 3, 5, 0, NAN, 1, 1, 5, 1, 7, 8, 9, 6, 2};
    assert_int_equal(read_mem(kb, put_f32s(kb, k, 12), "000001.bin", &pc, &err), 0);
    assert_int_equal(pc.n, 2);
    assert_int_equal(pc.dropped, 1);
    assert_true(pc.xyz[3] == 7.0f && pc.intensity[1] == 0.25f);
    avt_pointcloud_free(&pc);
    assert_int_equal(read_mem(nb, put_f32s(nb, nu, 15), "s.pcd.bin", &pc, &err), 0);
    assert_int_equal(pc.n, 2);
    assert_int_equal(pc.dropped, 1);
    assert_true(pc.xyz[3] == 7.0f && pc.intensity[1] == 6.0f);
    avt_pointcloud_free(&pc);

    /* infinity is not "no return": an error naming the file, line or point and field */
    static const char inf[] = HDR("x y z intensity", "4 4 4 4", "F F F F", "2", "ascii") "1 2 3 4\n1 inf 3 4\n";
    expect_error(inf, strlen(inf), "i.pcd", "i.pcd: line 13: point 1: y: not a finite float32 or nan: 'inf'");
    static const char big[] = HDR("x y z intensity", "4 4 4 4", "F F F F", "1", "ascii") "1 2 1e39 4\n";
    expect_error(big, strlen(big), "g.pcd", "g.pcd: line 12: point 0: z: not a finite float32 or nan: '1e39'");
    static const char hdr2[] = HDR("x y z intensity", "4 4 4 4", "F F F F", "2", "binary");
    const float vi[8] = {1, 2, 3, 4, 1, 2, -INFINITY, 4};
    memcpy(bin, hdr2, sizeof hdr2 - 1);
    len = sizeof hdr2 - 1 + put_f32s(bin + sizeof hdr2 - 1, vi, 8);
    expect_error(bin, len, "bi.pcd", "bi.pcd: point 1: z: not a finite float32: -inf");
    const float ki[4] = {1, 2, 3, INFINITY};
    expect_error(kb, put_f32s(kb, ki, 4), "k.bin", "k.bin: point 0: intensity: not finite: inf");
}

/* Every PCD field type for every field read, in ascii and binary, at the ends of its range;
 * a skipped field of another type sits between y and z. */
static void test_field_types(void **state)
{
    (void)state;
    static const struct {
        char type;
        int size;
        double v[4][4]; /* 4 points: x y z intensity */
    } ty[] = {
        {'F', 4, {{1.5, -2.25, 3, 0.125}, {-1e30, 1e30, 0, 1}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'F', 8, {{1.5, -2.25, 3, 0.125}, {-3e38, 3e38, 0, 1}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'U', 1, {{0, 1, 2, 255}, {255, 254, 0, 128}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'U', 2, {{0, 1, 2, 65535}, {65535, 254, 0, 32768}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'U', 4, {{0, 1, 2, 4294967295.0}, {4294967295.0, 254, 0, 2147483648.0}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'I', 1, {{-128, 127, -1, 127}, {-1, 1, 0, -128}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'I', 2, {{-32768, 32767, -1, 32767}, {-1, 1, 0, -32768}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
        {'I', 4, {{-2147483648.0, 2147483647.0, -1, 2147483647.0}, {-1, 1, 0, -2147483648.0}, {0, 0, 0, 0}, {7, 8, 9, 10}}},
    };
    for (size_t t = 0; t < sizeof ty / sizeof ty[0]; t++) {
        char T = ty[t].type;
        int S = ty[t].size;
        char hdr[512], text[1024];
        for (int bin = 0; bin < 2; bin++) {
            int hl = snprintf(hdr, sizeof hdr,
                              "VERSION .7\nFIELDS x y ring z intensity\nSIZE %d %d 2 %d %d\nTYPE %c %c U %c %c\n"
                              "COUNT 1 1 1 1 1\nWIDTH 4\nHEIGHT 1\nPOINTS 4\nDATA %s\n",
                              S, S, S, S, T, T, T, T, bin ? "binary" : "ascii");
            uint8_t buf[1024];
            size_t len = (size_t)hl;
            memcpy(buf, hdr, len);
            for (int i = 0; i < 4; i++) {
                const double *v = ty[t].v[i];
                if (bin) {
                    len += put(buf + len, T, S, v[0]);
                    len += put(buf + len, T, S, v[1]);
                    len += put(buf + len, 'U', 2, 65535);
                    len += put(buf + len, T, S, v[2]);
                    len += put(buf + len, T, S, v[3]);
                } else {
                    int k = snprintf(text, sizeof text, "%.17g %.17g 65535 %.17g %.17g\n", v[0], v[1], v[2], v[3]);
                    memcpy(buf + len, text, (size_t)k);
                    len += (size_t)k;
                }
            }
            avt_pointcloud pc;
            avt_error err;
            if (read_mem(buf, len, "t.pcd", &pc, &err)) fail_msg("%c%d %s: %s", T, S, bin ? "binary" : "ascii", err.msg);
            assert_int_equal(pc.n, 4);
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++) {
                    float got = k < 3 ? pc.xyz[3 * i + k] : pc.intensity[i];
                    if (got != (float)ty[t].v[i][k])
                        fail_msg("%c%d %s: point %d value %d: %.9g, expected %.9g", T, S, bin ? "binary" : "ascii", i, k,
                                 got, ty[t].v[i][k]);
                }
            avt_pointcloud_free(&pc);
        }
    }
}

/* Refused headers and values: each message names the file, the line/point and the value. */
static void test_bad_pcd(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 2\n",
         "p.pcd: line 7: point 0: 2 values, expected 3"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 2 3 4\n",
         "p.pcd: line 7: point 0: 4 values, expected 3"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 abc 3\n",
         "p.pcd: line 7: point 0: y: not a finite float32 or nan: 'abc'"},
        {"VERSION .7\nFIELDS x y z intensity\nSIZE 4 4 4 1\nTYPE F F F U\nPOINTS 2\nDATA ascii\n1 2 3 255\n1 2 3 256\n",
         "p.pcd: line 8: point 1: intensity: not an integer in [0, 255] (TYPE U SIZE 1): '256'"},
        {"VERSION .7\nFIELDS x y z intensity\nSIZE 4 4 4 2\nTYPE F F F U\nPOINTS 1\nDATA ascii\n1 2 3 -1\n",
         "intensity: not an integer in [0, 65535] (TYPE U SIZE 2): '-1'"},
        {"VERSION .7\nFIELDS x y z intensity\nSIZE 4 4 4 1\nTYPE F F F U\nPOINTS 1\nDATA ascii\n1 2 3 nan\n",
         "intensity: not an integer in [0, 255] (TYPE U SIZE 1): 'nan'"},
        {"VERSION .7\nFIELDS x y z\nSIZE 1 4 4\nTYPE I F F\nPOINTS 1\nDATA ascii\n-129 2 3\n",
         "x: not an integer in [-128, 127] (TYPE I SIZE 1): '-129'"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE I F F\nPOINTS 1\nDATA ascii\n1.5 2 3\n",
         "x: not an integer in [-2147483648, 2147483647] (TYPE I SIZE 4): '1.5'"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 8\nTYPE F F U\nPOINTS 1\nDATA ascii\n1 2 3\n",
         "p.pcd: field z: type U size 8 count 1"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 2\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 2 3\n",
         "p.pcd: field z: type F size 2 count 1"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F Fx\nPOINTS 1\nDATA ascii\n1 2 3\n",
         "p.pcd: line 4: TYPE: bad value 'Fx'"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 1\nDATA binary_compressed\n",
         "p.pcd: line 6: DATA binary_compressed not supported"},
        {"VERSION .7\nFIELDS x y\nSIZE 4 4\nTYPE F F\nPOINTS 1\nDATA ascii\n1 2\n", "needs FIELDS with x y z"},
        {"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 3\nDATA ascii\n1 2 3\n1 2 3\n",
         "p.pcd: 2 of 3 points present"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_error(bad[i].text, strlen(bad[i].text), "p.pcd", bad[i].needle);
}

/* A valid binary PCD (U1 intensity, I2 x) cut at every length: each prefix fails cleanly. */
static void test_truncation(void **state)
{
    (void)state;
    static const char hdr[] = "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 2 4 8 1\nTYPE I F F U\n"
                              "COUNT 1 1 1 1\nWIDTH 3\nHEIGHT 1\nPOINTS 3\nDATA binary\n";
    uint8_t buf[256];
    size_t len = sizeof hdr - 1;
    memcpy(buf, hdr, len);
    for (int i = 0; i < 3; i++) {
        len += put(buf + len, 'I', 2, -i);
        len += put(buf + len, 'F', 4, 0.5 * i);
        len += put(buf + len, 'F', 8, i ? NAN : 2.0);
        len += put(buf + len, 'U', 1, 200 + i);
    }
    avt_pointcloud pc;
    avt_error err;
    assert_int_equal(read_mem(buf, len, "c.pcd", &pc, &err), 0);
    assert_int_equal(pc.n, 1);
    assert_int_equal(pc.dropped, 2);
    assert_true(pc.xyz[0] == 0 && pc.xyz[2] == 2.0f && pc.intensity[0] == 200.0f);
    avt_pointcloud_free(&pc);
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1); /* exact size, so ASan sees any read past the end */
        memcpy(cut, buf, n);
        if (read_mem(cut, n, "c.pcd", &pc, &err) == 0) fail_msg("prefix of %zu bytes accepted", n);
        assert_true(err.msg[0] != '\0');
        free(cut);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nan_points),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_bad_pcd),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
