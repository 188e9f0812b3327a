/* The exporter's chunk encoder (h5x_chunk_deflate: run blocks, stored blocks, igzip blocks
 * and libdeflate in one zlib stream) decoded by zlib's inflate, the library HDF5's deflate filter calls:
 * every mix of constant, random and compressible planes, planes of runs of every length,
 * every run length remainder (the length codes of RFC 1951 3.2.5), literals of both
 * fixed-code lengths, and an output buffer too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "export_private.h"

enum { CONSTANT, RANDOM, SMOOTH };

static uint32_t g_seed = 1;
static unsigned char rnd8(void)
{
    g_seed = g_seed * 1664525u + 1013904223u;
    return (unsigned char)(g_seed >> 24);
}

static void fill_plane(unsigned char *p, size_t n, int kind, unsigned char c)
{
    for (size_t i = 0; i < n; i++)
        p[i] = kind == CONSTANT ? c : kind == RANDOM ? rnd8() : (unsigned char)(i / 97 % 7);
}

/* Encodes in[0..nbytes) with the plane verdicts known and found (h5x_chunk_deflate) and
 * checks that inflate returns exactly it; returns the stream size. */
static size_t roundtrip_verdicts(h5x_coder *comp, const unsigned char *in,
                                 size_t nbytes, size_t esize, const signed char *known,
                                 signed char *found)
{
    size_t cap = libdeflate_zlib_compress_bound(comp->ld, nbytes) + nbytes + 1024;
    unsigned char *out = malloc(cap), *back = malloc(nbytes + 1);
    assert_non_null(out);
    assert_non_null(back);
    size_t len = h5x_chunk_deflate(comp, in, nbytes, esize, known, found, out, cap);
    assert_true(len > 0);
    uLongf back_len = nbytes + 1;
    assert_int_equal(uncompress(back, &back_len, out, len), Z_OK);
    assert_int_equal(back_len, nbytes);
    assert_memory_equal(back, in, nbytes);
    /* one byte less than the stream must be refused, never overrun */
    assert_int_equal(h5x_chunk_deflate(comp, in, nbytes, esize, known, NULL, out, len - 1), 0);
    free(out);
    free(back);
    return len;
}

static size_t roundtrip(h5x_coder *comp, const unsigned char *in,
                        size_t nbytes, size_t esize)
{
    return roundtrip_verdicts(comp, in, nbytes, esize, NULL, NULL);
}

/* The exporter's coders at the default level 1 (libdeflate and igzip), shared by the tests. */
static h5x_coder g_coder;
static int comp_setup(void **state)
{
    *state = &g_coder;
    return h5x_coder_init(&g_coder, 1) ? -1 : 0;
}

static int comp_teardown(void **state)
{
    h5x_coder_free(*state);
    return 0;
}

/* The shuffle against the filter's definition (HDF5's H5Zshuffle.c: byte j of element i at
 * j * n + i), for the element sizes of its one-pass loops and others, and counts around
 * vector widths. */
static void test_shuffle(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 3, 4, 8, 16}, counts[] = {0, 1, 7, 31, 32, 33, 63, 64, 65, 96, 1000, 4099};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof counts / sizeof *counts; b++) {
            const size_t es = sizes[a], n = counts[b], nb = es * n;
            unsigned char *src = malloc(nb + 1), *want = malloc(nb + 1), *got = malloc(nb + 1);
            assert_non_null(src);
            assert_non_null(want);
            assert_non_null(got);
            for (size_t k = 0; k < nb; k++) src[k] = rnd8();
            for (size_t e = 0; e < n; e++)
                for (size_t j = 0; j < es; j++) want[j * n + e] = src[e * es + j];
            memset(got, 0xa5, nb + 1);
            h5x_shuffle(got, src, n, es);
            assert_memory_equal(got, want, nb);
            assert_int_equal(got[nb], 0xa5); /* nothing written past the chunk */
            free(src);
            free(want);
            free(got);
        }
}

static void test_plane_mixes(void **state)
{
    h5x_coder *comp = *state;
    const size_t n = 65536;
    unsigned char *in = malloc(8 * n);
    assert_non_null(in);
    /* every sequence of plane kinds for 1, 2 and 4-byte elements; constants on both sides of
     * 144 (8- and 9-bit literal codes) */
    for (size_t esize = 1; esize <= 4; esize *= 2) {
        size_t combos = 1;
        for (size_t j = 0; j < esize; j++) combos *= 3;
        for (size_t k = 0; k < combos; k++) {
            size_t code = k;
            for (size_t j = 0; j < esize; j++, code /= 3)
                fill_plane(in + j * n, n, (int)(code % 3), (unsigned char)(k * 37 + j * 101));
            roundtrip(comp, in, esize * n, esize);
        }
    }
    /* 8-byte elements: random low planes, constant high ones (int64 times) */
    for (size_t j = 0; j < 8; j++) fill_plane(in + j * n, n, j < 3 ? RANDOM : CONSTANT, 0xff);
    size_t len = roundtrip(comp, in, 8 * n, 8);
    assert_true(len < 3 * n + 5 * (n / 150) + 64); /* a run: 13 bits per 258 bytes */
    free(in);
}

static void test_run_lengths(void **state)
{
    h5x_coder *comp = *state;
    unsigned char *in = malloc(2 * 8192);
    assert_non_null(in);
    /* plane lengths 4096 + r cover every remainder after the 258-byte matches (0..257) */
    for (size_t n = 4096; n < 4096 + 258; n++) {
        fill_plane(in, n, CONSTANT, (unsigned char)n);
        fill_plane(in + n, n, n % 2 ? SMOOTH : CONSTANT, 200);
        roundtrip(comp, in, 2 * n, 2);
    }
    free(in);
}

/* Planes of runs of random bytes (both literal code lengths), run lengths uniform in 1..max:
 * below an average of 64 bytes a run the plane goes to libdeflate, above it to run blocks,
 * whose size is bounded by the fixed codes: at most 9 bits for the literal, 2 x 9 for a
 * remainder of 1-2 bytes and 13 bits per match of up to 258 bytes. */
static void test_runs_of_every_length(void **state)
{
    h5x_coder *comp = *state;
    const size_t n = 65536;
    unsigned char *in = malloc(4 * n);
    assert_non_null(in);
    static const size_t maxes[] = {1, 3, 40, 127, 129, 260, 600, 5000};
    for (size_t m = 0; m < sizeof maxes / sizeof *maxes; m++) {
        size_t runs = 0, matches = 0;
        for (size_t i = 0; i < n;) {
            size_t len = 1 + (size_t)(rnd8() | rnd8() << 8) % maxes[m];
            if (len > n - i) len = n - i;
            unsigned char c = rnd8();
            if (i > 0 && c == in[i - 1]) c++;
            memset(in + i, c, len);
            i += len;
            runs++;
            matches += (len + 256) / 258;
        }
        /* then a random plane (stored), a constant one and a smooth one (libdeflate) */
        fill_plane(in + n, n, RANDOM, 0);
        fill_plane(in + 2 * n, n, CONSTANT, 150);
        fill_plane(in + 3 * n, n, SMOOTH, 0);
        size_t len = roundtrip(comp, in, 4 * n, 4);
        if (runs <= n / 64) /* run blocks: the first plane costs at most the bound */
            assert_true(len < (runs * 27 + matches * 13) / 8 + n + 4096);
    }
    free(in);
}

/* Which leading planes are stored: one whose bytes look random one by one but repeat 6 KiB
 * apart (like the second byte of image coordinates sorted along the scan) deflates; one of
 * skewed random bytes that deflate shrinks by under a seventh (like low mantissa bytes of
 * measured coordinates, 7.3 bits a byte) is stored, as is a uniform random one; one deflate shrinks by
 * a quarter is not. Each plane comes first (leading), the others follow as libdeflate's. */
static void test_which_planes_are_stored(void **state)
{
    h5x_coder *comp = *state;
    const size_t n = 49152, period = 6144;
    unsigned char *in = malloc(2 * n);
    assert_non_null(in);
    fill_plane(in + n, n, CONSTANT, 3);
    const size_t rest = roundtrip(comp, in + n, n, 1); /* the second plane alone */
    /* repeats far apart: deflated to well under half */
    for (size_t i = 0; i < n; i++) in[i] = i < period ? rnd8() : in[i - period];
    assert_true(roundtrip(comp, in, 2 * n, 2) < n / 2);
    /* skewed random bytes: 7.3 bits each (bytes below 64 eight times as likely as the rest),
     * which deflate shrinks by under a seventh */
    for (size_t i = 0; i < n; i++) in[i] = rnd8() < 160 ? rnd8() & 63 : rnd8();
    size_t len = roundtrip(comp, in, 2 * n, 2);
    assert_true(len >= n + rest - 16); /* stored: the plane's n bytes and block headers */
    assert_true(len <= n + 5 * (n / 65535 + 1) + rest + 16);
    /* uniform random bytes: stored */
    fill_plane(in, n, RANDOM, 0);
    len = roundtrip(comp, in, 2 * n, 2);
    assert_true(len >= n && len <= n + 5 * (n / 65535 + 1) + rest + 16);
    /* bytes from 64 values (6 bits): deflate gains a quarter, so it deflates */
    for (size_t i = 0; i < n; i++) in[i] = rnd8() & 63;
    assert_true(roundtrip(comp, in, 2 * n, 2) < n * 8 / 10);
    free(in);
}

/* The column's verdicts: a chunk that tests a plane records what it found (stored, igzip or
 * libdeflate); one given a verdict follows it without testing, whatever its own slices would
 * say, and decodes the same either way; a plane of few byte values (entropy at most 7 bits)
 * is never stored, whatever the verdict; igzip only at level 1. */
static void test_plane_verdicts(void **state)
{
    h5x_coder *comp = *state;
    const size_t n = 49152, period = 6144;
    unsigned char *in = malloc(2 * n);
    assert_non_null(in);
    fill_plane(in + n, n, CONSTANT, 3);
    const size_t rest = roundtrip(comp, in + n, n, 1);
    const size_t stored_max = n + 5 * (n / 65535 + 1) + rest + 16;
    signed char found[2] = {-1, -1};
    /* skewed random bytes (7.3 bits, as in test_which_planes_are_stored): found stored; told
     * to deflate, either coder shrinks it by about a tenth */
    for (size_t i = 0; i < n; i++) in[i] = rnd8() < 160 ? rnd8() & 63 : rnd8();
    size_t len = roundtrip_verdicts(comp, in, 2 * n, 2, NULL, found);
    assert_int_equal(found[0], H5X_STORED);
    assert_int_equal(found[1], -1); /* the constant plane is a run block, never tested */
    assert_true(len >= n && len <= stored_max);
    const signed char ld[2] = {H5X_LIBDEFLATE, -1}, store[2] = {H5X_STORED, -1},
                      ig[2] = {H5X_IGZIP, -1};
    assert_true(roundtrip_verdicts(comp, in, 2 * n, 2, ld, NULL) < len - n / 20);
    assert_true(roundtrip_verdicts(comp, in, 2 * n, 2, ig, NULL) < len - n / 20);
    /* repeats 6 KiB apart: found deflated; told "stored", stored */
    for (size_t i = 0; i < n; i++) in[i] = i < period ? rnd8() : in[i - period];
    found[0] = -1;
    len = roundtrip_verdicts(comp, in, 2 * n, 2, NULL, found);
    assert_true(found[0] == H5X_LIBDEFLATE || found[0] == H5X_IGZIP);
    assert_true(len < n / 2);
    len = roundtrip_verdicts(comp, in, 2 * n, 2, store, NULL);
    assert_true(len >= n && len <= stored_max);
    /* 64 byte values (6 bits): only Huffman codes shrink it, igzip as well as libdeflate, so
     * igzip; deflated even when told "stored", and then not tested */
    for (size_t i = 0; i < n; i++) in[i] = rnd8() & 63;
    found[0] = -1;
    assert_true(roundtrip_verdicts(comp, in, 2 * n, 2, NULL, found) < n * 8 / 10);
    assert_int_equal(found[0], H5X_IGZIP);
    found[0] = -1;
    assert_true(roundtrip_verdicts(comp, in, 2 * n, 2, store, found) < n * 8 / 10);
    assert_int_equal(found[0], -1);
    /* at level 2 igzip is never chosen */
    h5x_coder level2;
    assert_int_equal(h5x_coder_init(&level2, 2), 0);
    assert_null(level2.igzip);
    assert_true(roundtrip_verdicts(&level2, in, 2 * n, 2, NULL, found) < n * 8 / 10);
    assert_int_equal(found[0], H5X_LIBDEFLATE);
    h5x_coder_free(&level2);
    free(in);
}

/* Every verdict (or none) for each of four planes, of every kind: each mix of stored, igzip
 * (final and not), run and libdeflate blocks decodes to the chunk. */
static void test_forced_verdicts(void **state)
{
    h5x_coder *comp = *state;
    const size_t n = 8192;
    unsigned char *in = malloc(4 * n);
    assert_non_null(in);
    for (size_t k = 0; k < 4 * 4 * 4 * 4; k++) {
        signed char known[4];
        for (size_t j = 0, code = k; j < 4; j++, code /= 4) {
            known[j] = (signed char)((int)(code % 4) - 1);
            fill_plane(in + j * n, n, (int)((k + j) % 3), (unsigned char)k);
        }
        roundtrip_verdicts(comp, in, 4 * n, 4, known, NULL);
    }
    free(in);
}

/* The same chunk gives the same bytes whatever the coder's memory held before: igzip's
 * window size is not set by isal_deflate_stateless_init, and a small value left there once
 * made one chunk in a few builds differ by a byte or two. A plane of 1 KiB random blocks
 * repeated needs matches 1,024 bytes back; a window of 2^9 bytes cannot see them. */
static void test_igzip_window_whatever_was_left(void **state)
{
    h5x_coder *fresh = *state, left;
    assert_int_equal(h5x_coder_init(&left, 1), AVT_OK);
    left.igzip->hist_bits = 9;
    const size_t n = 16384;
    unsigned char *in = malloc(4 * n), *a = malloc(8 * n), *b = malloc(8 * n);
    assert_non_null(in);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < 4 * n; i++) in[i] = i < 1024 ? rnd8() : in[i % 1024];
    const signed char igzip[4] = {H5X_IGZIP, H5X_IGZIP, H5X_IGZIP, H5X_IGZIP};
    size_t la = h5x_chunk_deflate(fresh, in, 4 * n, 4, igzip, NULL, a, 8 * n);
    size_t lb = h5x_chunk_deflate(&left, in, 4 * n, 4, igzip, NULL, b, 8 * n);
    assert_true(la > 0 && la < n); /* the repeats were found */
    assert_int_equal(lb, la);
    assert_memory_equal(b, a, la);
    h5x_coder_free(&left);
    free(in);
    free(a);
    free(b);
}

static void test_small_chunks_use_libdeflate(void **state)
{
    h5x_coder *comp = *state;
    unsigned char in[4 * 100];
    fill_plane(in, sizeof in, CONSTANT, 7);
    roundtrip(comp, in, sizeof in, 4);
    fill_plane(in, sizeof in, RANDOM, 0);
    roundtrip(comp, in, sizeof in, 4);
}

/* Columns flushed together (h5x_cols_flush) read back as appended, by HDF5's own filters:
 * a column whose stage was just flushed (its chunks pending, nothing staged), columns with a
 * partial stage split over shared jobs, a column whose chunks outgrow the buffers, and a
 * column of another writer context; with 1 and 3 threads and with a task run beside. */
static void side_task(void *arg) { ++*(int *)arg; }

/* A new HDF5 file at a fresh /tmp path (path: a mkstemp template, replaced). */
static hid_t scratch_h5(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

static void test_columns_flushed_together(void **state)
{
    (void)state;
    enum { NCOL = 5 };
    static const size_t rows[NCOL] = {16, 37, 3, 0, 90}, chunk[NCOL] = {4, 4, 8, 4, 2}, width[NCOL] = {1, 1, 1, 1, 64};
    for (int threads = 1; threads <= 3; threads += 2) {
        omp_set_num_threads(threads);
        char path[] = "/tmp/avt_cols_flush_XXXXXX";
        hid_t f = scratch_h5(path);
        h5x_zctx z, z2;
        avt_error err = {0, ""};
        assert_int_equal(h5x_zctx_init(&z, H5X_DEFLATE, 1, 1, &err), AVT_OK);
        assert_int_equal(h5x_zctx_init(&z2, H5X_DEFLATE, 1, 0, &err), AVT_OK);
        int ran = 0;
        const int beside = h5x_zctx_beside(&z, side_task, &ran);
        h5x_col cols[NCOL];
        h5x_col *ptr[NCOL];
        for (int c = 0; c < NCOL; c++) {
            char name[16];
            snprintf(name, sizeof name, "c%d", c);
            assert_int_equal(h5x_col_create(&cols[c], f, name, K_U32, width[c] > 1 ? 2 : 1, width[c], 0, chunk[c],
                                            c == 2 ? &z2 : &z, path, &err),
                             AVT_OK);
            ptr[c] = &cols[c];
            for (uint32_t i = 0; i < rows[c] * width[c]; i += (uint32_t)width[c]) {
                uint32_t row[64];
                for (size_t w = 0; w < width[c]; w++) row[w] = (uint32_t)(1000 * c) + i + (uint32_t)w % 3;
                assert_int_equal(h5x_col_append(&cols[c], row, 1, &err), AVT_OK);
            }
        }
        /* column 0: exactly its stage when threads = 1 (4 chunks of 4 rows), then nothing */
        assert_int_equal(h5x_cols_flush(ptr, NCOL, &err), AVT_OK);
        h5x_zctx_beside_wait(&z);
        assert_int_equal(ran, beside);
        for (int c = 0; c < NCOL; c++) h5x_col_close(&cols[c]);
        h5x_zctx_free(&z);
        h5x_zctx_free(&z2);
        assert_true(H5Fclose(f) >= 0);
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        assert_true(f >= 0);
        for (int c = 0; c < NCOL; c++) {
            char name[16];
            snprintf(name, sizeof name, "c%d", c);
            hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = H5Dget_space(d);
            assert_true(d >= 0 && sp >= 0);
            assert_int_equal(H5Sget_simple_extent_npoints(sp), (hssize_t)(rows[c] * width[c]));
            uint32_t *got = malloc(rows[c] * width[c] * 4 + 4);
            assert_non_null(got);
            if (rows[c]) assert_true(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
            for (size_t i = 0; i < rows[c]; i++)
                for (size_t w = 0; w < width[c]; w++)
                    assert_int_equal(got[i * width[c] + w], (uint32_t)(1000 * c) + (uint32_t)(i * width[c]) + (uint32_t)w % 3);
            free(got);
            H5Sclose(sp);
            H5Dclose(d);
        }
        H5Fclose(f);
        unlink(path);
    }
}

/* A column whose stage was just flushed: nothing staged, its last batch still queued in the
 * writer context (compressed or not), which h5x_cols_flush must store. */
static void test_flush_of_pending_only(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        char path[] = "/tmp/avt_pending_XXXXXX";
        hid_t f = scratch_h5(path);
        h5x_zctx z;
        h5x_col col, *ptr = &col;
        avt_error err = {0, ""};
        assert_int_equal(h5x_zctx_init(&z, H5X_DEFLATE, 1, 1, &err), AVT_OK);
        assert_int_equal(h5x_col_create(&col, f, "v", K_U32, 1, 0, 0, 4, &z, path, &err), AVT_OK);
        const uint32_t n = (uint32_t)(2 * col.stage_rows);
        for (uint32_t i = 0; i < n; i++) assert_int_equal(h5x_col_append(&col, &i, 1, &err), AVT_OK);
        assert_int_equal(col.staged, 0);
        assert_true(z.head > z.store);
        assert_int_equal(h5x_cols_flush(&ptr, 1, &err), AVT_OK);
        assert_int_equal(z.head, z.store);
        h5x_col_close(&col);
        h5x_zctx_free(&z);
        H5Fclose(f);
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(f, "v", H5P_DEFAULT);
        uint32_t *got = malloc(n * 4);
        assert_true(f >= 0 && d >= 0 && got);
        assert_true(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
        for (uint32_t i = 0; i < n; i++) assert_int_equal(got[i], i);
        free(got);
        H5Dclose(d);
        H5Fclose(f);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_flushed_together),
        cmocka_unit_test(test_flush_of_pending_only),
        cmocka_unit_test(test_shuffle),
        cmocka_unit_test(test_plane_mixes),
        cmocka_unit_test(test_run_lengths),
        cmocka_unit_test(test_runs_of_every_length),
        cmocka_unit_test(test_which_planes_are_stored),
        cmocka_unit_test(test_plane_verdicts),
        cmocka_unit_test(test_forced_verdicts),
        cmocka_unit_test(test_small_chunks_use_libdeflate),
        cmocka_unit_test(test_igzip_window_whatever_was_left),
    };
    return cmocka_run_group_tests(tests, comp_setup, comp_teardown);
}
