/* Camera image files (ingest/image.c): the cheap structural check, the header read and the
 * full decode, on a PNG written by libpng's simplified API and a JPEG written by
 * libturbojpeg's compressor (neither shares code with the checks):
 *  - the whole files pass all three and report the dimensions they were written with;
 *  - every prefix (a file cut short) fails the cheap check, and the full decode too;
 *  - every single-bit change of the PNG fails the cheap check (the CRC covers type and data,
 *    the signature and lengths are checked);
 *  - JPEG: bytes after EOI, a missing SOI, a marker segment length running past the file,
 *    no frame header before the scan all fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "avtruth/ingest.h"

#define W 37
#define H 23

static char dir[] = "/tmp/avt-test-image-XXXXXX";

static void pixels(unsigned char *px)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++) px[3 * (y * W + x) + k] = (unsigned char)(x * 7 + y * 13 + k * 50);
}

static void put(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static unsigned char *make_png(size_t *n)
{
    unsigned char px[3 * W * H];
    pixels(px);
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION, im.width = W, im.height = H, im.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    assert_true(png_image_write_to_memory(&im, NULL, &size, 0, px, 0, NULL));
    unsigned char *out = malloc(size);
    assert_true(png_image_write_to_memory(&im, out, &size, 0, px, 0, NULL));
    *n = size;
    return out;
}

static unsigned char *make_jpeg(size_t *n)
{
    unsigned char px[3 * W * H], *buf = NULL;
    unsigned long size = 0;
    pixels(px);
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    assert_int_equal(tjCompress2(tj, px, W, 0, H, TJPF_RGB, &buf, &size, TJSAMP_420, 95, 0), 0);
    tjDestroy(tj);
    unsigned char *out = malloc(size);
    memcpy(out, buf, size);
    tjFree(buf);
    *n = size;
    return out;
}

static int check(const char *path, const unsigned char *p, size_t n)
{
    avt_error err = {0};
    put(path, p, n);
    int rc = avt_image_check(path, &err);
    if (rc != AVT_OK && !strstr(err.msg, path)) fail_msg("message names no file: %s", err.msg);
    return rc;
}

static void whole(const char *path, const unsigned char *p, size_t n)
{
    avt_error err = {0};
    avt_png_info info;
    put(path, p, n);
    if (avt_image_check(path, &err) != AVT_OK) fail_msg("%s", err.msg);
    assert_int_equal(avt_image_read_info(path, &info, &err), AVT_OK);
    assert_int_equal(info.width, W);
    assert_int_equal(info.height, H);
    memset(&info, 0, sizeof info);
    if (avt_image_verify(path, &info, &err) != AVT_OK) fail_msg("%s", err.msg);
    assert_int_equal(info.width, W);
    uint32_t w, h;
    unsigned char *rgb;
    assert_int_equal(avt_image_load(path, 0, &w, &h, &rgb, &err), AVT_OK);
    assert_int_equal(w, W);
    assert_int_equal(h, H);
    free(rgb);
}

static void test_png(void **state)
{
    (void)state;
    char path[64];
    size_t n;
    unsigned char *p = make_png(&n), *q = malloc(n);
    snprintf(path, sizeof path, "%s/a.png", dir);
    whole(path, p, n);
    avt_error err = {0};
    avt_png_info info;
    for (size_t k = 0; k < n; k++) {
        if (check(path, p, k) == AVT_OK) fail_msg("PNG cut to %zu of %zu bytes passes", k, n);
        if (k > 33 && avt_image_verify(path, &info, &err) == AVT_OK)
            fail_msg("PNG cut to %zu of %zu bytes decodes", k, n);
    }
    for (size_t k = 0; k < n; k++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(q, p, n);
            q[k] ^= (unsigned char)(1u << bit);
            if (check(path, q, n) == AVT_OK) fail_msg("PNG byte %zu bit %d changed passes", k, bit);
        }
    print_message("PNG of %zu bytes: every prefix and every one-bit change fail\n", n);
    free(q);
    free(p);
}

static void test_jpeg(void **state)
{
    (void)state;
    char path[64];
    size_t n;
    unsigned char *p = make_jpeg(&n), *q = malloc(n + 4);
    snprintf(path, sizeof path, "%s/a.jpg", dir);
    whole(path, p, n);
    snprintf(path, sizeof path, "%s/a.JPEG", dir);
    whole(path, p, n);
    avt_error err = {0};
    avt_png_info info;
    for (size_t k = 0; k < n; k++) {
        if (check(path, p, k) == AVT_OK) fail_msg("JPEG cut to %zu of %zu bytes passes", k, n);
        if (avt_image_verify(path, &info, &err) == AVT_OK)
            fail_msg("JPEG cut to %zu of %zu bytes decodes", k, n);
    }
    memcpy(q, p, n);
    memcpy(q + n, "\0\0\0", 3);
    assert_int_not_equal(check(path, q, n + 3), AVT_OK); /* EOI not last */
    memcpy(q, p, n);
    q[1] = 0xd9;
    assert_int_not_equal(check(path, q, n), AVT_OK); /* no SOI */
    memcpy(q, p, n);
    q[4] = 0xff, q[5] = 0xff; /* the first segment's length runs past the file */
    assert_int_not_equal(check(path, q, n), AVT_OK);
    /* every SOFn marker renamed to an APPn: a scan without a frame header */
    memcpy(q, p, n);
    for (size_t k = 2; k + 1 < n && !(q[k] == 0xff && q[k + 1] == 0xda);) {
        assert_int_equal(q[k], 0xff);
        if (q[k + 1] >= 0xc0 && q[k + 1] <= 0xcf && q[k + 1] != 0xc4) q[k + 1] = 0xe9;
        k += 2 + (size_t)(q[k + 2] << 8 | q[k + 3]);
    }
    assert_int_not_equal(check(path, q, n), AVT_OK);
    print_message("JPEG of %zu bytes: every prefix fails check and decode\n", n);
    free(q);
    free(p);
}

static void test_kind(void **state)
{
    (void)state;
    assert_int_equal(avt_image_kind_of("cameras/a/1.png"), AVT_IMAGE_PNG);
    assert_int_equal(avt_image_kind_of("1.JPG"), AVT_IMAGE_JPEG);
    assert_int_equal(avt_image_kind_of("1.jpeg"), AVT_IMAGE_JPEG);
    assert_int_equal(avt_image_kind_of("a.png/1"), AVT_IMAGE_UNKNOWN);
    assert_int_equal(avt_image_kind_of("1.pngx"), AVT_IMAGE_UNKNOWN);
    int64_t t;
    assert_int_equal(avt_image_time_from_name("1772369998765523663.jpg", &t), AVT_OK);
    assert_true(t == 1772369998765523663LL);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char p[96];
    for (const char *const *f = (const char *const[]){"a.png", "a.jpg", "a.JPEG", NULL}; *f; f++) {
        snprintf(p, sizeof p, "%s/%s", dir, *f);
        unlink(p);
    }
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_jpeg),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
