/* avtruth ingest: camera image files, PNG (libpng) and JPEG (libturbojpeg), told apart by the
 * file name's extension (.png; .jpg, .jpeg, either case).
 *
 * Three depths of reading:
 *  - avt_image_check: cheap structure, every file of a stream when it is listed, no decoding.
 *    PNG (ISO/IEC 15948, 5.2-5.6): the 8-byte signature, then chunks of length(4, big-endian,
 *    at most 2^31 - 1) type(4) data(length) crc(4), the CRC-32 (ISO 3309, libdeflate's) over
 *    type and data; IHDR first with 13 bytes, IEND present (bytes after it are ignored).
 *    JPEG (ITU-T T.81, B.1.1.2-B.1.1.4): SOI (FFD8), marker segments of length(2, big-endian,
 *    counting itself) up to the first SOS, a frame header SOFn (C0-CF but C4, C8, CC) before
 *    it, and EOI (FFD9) as the file's last two bytes. Entropy-coded data is not looked at.
 *  - avt_image_read_info: the dimensions, from IHDR (libpng) or the SOF (tjDecompressHeader3).
 *  - avt_image_verify: a full decode; PNG through avt_png_verify (every CRC, the zlib stream),
 *    JPEG through tjDecompress2 with TJFLAG_STOPONWARNING, so that libjpeg's warnings
 *    ("Premature end of JPEG file", corrupt data) are errors. */
#include <errno.h>
#include <limits.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <libdeflate.h>

#include "avtruth/ingest.h"

avt_image_kind avt_image_kind_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return AVT_IMAGE_UNKNOWN;
    if (strcasecmp(dot, ".png") == 0) return AVT_IMAGE_PNG;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0) return AVT_IMAGE_JPEG;
    return AVT_IMAGE_UNKNOWN;
}

/* ---- cheap checks ---- */

/* A FILE read in order, with the offset reached (for messages). */
typedef struct reader {
    FILE *f;
    const char *path;
    uint64_t off;
} reader;

static int get(reader *r, void *out, size_t n)
{
    if (fread(out, 1, n, r->f) != n) return 0;
    r->off += n;
    return 1;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int png_check(reader *r, avt_error *err)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t h[8], buf[65536];
    if (!get(r, h, 8) || memcmp(h, sig, 8) != 0)
        return avt_err(err, AVT_FORMAT, "%s: not a PNG file (signature)", r->path);
    for (unsigned k = 0;; k++) {
        const uint64_t at = r->off;
        if (!get(r, h, 8))
            return avt_err(err, AVT_TRUNCATED, "%s: PNG cut short at byte %llu: no IEND chunk",
                           r->path, (unsigned long long)at);
        const uint32_t len = be32(h);
        char type[5] = {(char)h[4], (char)h[5], (char)h[6], (char)h[7], 0};
        if (len > 0x7fffffffu)
            return avt_err(err, AVT_FORMAT, "%s: PNG chunk %u at byte %llu: length %u over 2^31-1",
                           r->path, k, (unsigned long long)at, len);
        if (k == 0 && (strcmp(type, "IHDR") != 0 || len != 13))
            return avt_err(err, AVT_FORMAT, "%s: PNG's first chunk is not a 13-byte IHDR", r->path);
        uint32_t crc = libdeflate_crc32(0, h + 4, 4);
        for (uint32_t left = len; left;) {
            const size_t n = left < sizeof buf ? left : sizeof buf;
            if (!get(r, buf, n))
                return avt_err(err, AVT_TRUNCATED,
                               "%s: PNG cut short in chunk %s at byte %llu (%u data bytes declared)",
                               r->path, type, (unsigned long long)at, len);
            crc = libdeflate_crc32(crc, buf, n);
            left -= (uint32_t)n;
        }
        if (!get(r, h, 4))
            return avt_err(err, AVT_TRUNCATED, "%s: PNG cut short in chunk %s's CRC at byte %llu",
                           r->path, type, (unsigned long long)at);
        if (be32(h) != crc)
            return avt_err(err, AVT_FORMAT, "%s: PNG chunk %s at byte %llu: CRC 0x%08x, computed 0x%08x",
                           r->path, type, (unsigned long long)at, be32(h), crc);
        if (strcmp(type, "IEND") == 0) return AVT_OK;
    }
}

static int jpeg_check(reader *r, avt_error *err)
{
    uint8_t b[4];
    int have_sof = 0;
    if (!get(r, b, 2) || b[0] != 0xff || b[1] != 0xd8)
        return avt_err(err, AVT_FORMAT, "%s: not a JPEG file (no SOI marker)", r->path);
    for (;;) {
        const uint64_t at = r->off;
        if (!get(r, b, 2))
            return avt_err(err, AVT_TRUNCATED, "%s: JPEG cut short at byte %llu, before its scan",
                           r->path, (unsigned long long)at);
        if (b[0] != 0xff)
            return avt_err(err, AVT_FORMAT, "%s: JPEG byte %llu: 0x%02x where a marker belongs",
                           r->path, (unsigned long long)at, b[0]);
        while (b[1] == 0xff) /* fill bytes before a marker (T.81 B.1.1.2) */
            if (!get(r, b + 1, 1))
                return avt_err(err, AVT_TRUNCATED, "%s: JPEG cut short at byte %llu", r->path,
                               (unsigned long long)r->off);
        const uint8_t m = b[1];
        if (m == 0xd8 || m == 0xd9 || m == 0x01 || (m >= 0xd0 && m <= 0xd7) || m == 0x00)
            return avt_err(err, AVT_FORMAT, "%s: JPEG byte %llu: marker 0x%02x before the scan",
                           r->path, (unsigned long long)at, m);
        if (!get(r, b + 2, 2))
            return avt_err(err, AVT_TRUNCATED, "%s: JPEG cut short in marker 0x%02x at byte %llu",
                           r->path, m, (unsigned long long)at);
        const unsigned len = (unsigned)b[2] << 8 | b[3];
        if (len < 2)
            return avt_err(err, AVT_FORMAT, "%s: JPEG marker 0x%02x at byte %llu: length %u",
                           r->path, m, (unsigned long long)at, len);
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) have_sof = 1;
        if (m == 0xda) break;
        if (fseeko(r->f, (off_t)(len - 2), SEEK_CUR) != 0)
            return avt_err(err, AVT_IO, "%s: %s", r->path, strerror(errno));
        r->off += len - 2;
    }
    if (!have_sof)
        return avt_err(err, AVT_FORMAT, "%s: JPEG scan without a frame header (SOF)", r->path);
    struct stat sb;
    if (fstat(fileno(r->f), &sb) != 0) return avt_err(err, AVT_IO, "%s: %s", r->path, strerror(errno));
    if ((uint64_t)sb.st_size < r->off + 2 || fseeko(r->f, -2, SEEK_END) != 0 || !get(r, b, 2))
        return avt_err(err, AVT_TRUNCATED, "%s: JPEG cut short in its first scan's header", r->path);
    if (b[0] != 0xff || b[1] != 0xd9)
        return avt_err(err, AVT_TRUNCATED, "%s: JPEG cut short: no EOI marker at its end (%lld bytes)",
                       r->path, (long long)sb.st_size);
    return AVT_OK;
}

int avt_image_check(const char *path, avt_error *err)
{
    const avt_image_kind k = avt_image_kind_of(path);
    if (k == AVT_IMAGE_UNKNOWN)
        return avt_err(err, AVT_UNSUPPORTED, "%s: not a .png, .jpg or .jpeg image", path);
    reader r = {fopen(path, "rb"), path, 0};
    if (!r.f) return avt_err(err, AVT_IO, "%s: cannot open image: %s", path, strerror(errno));
    int rc = k == AVT_IMAGE_PNG ? png_check(&r, err) : jpeg_check(&r, err);
    if (rc == AVT_OK && ferror(r.f)) rc = avt_err(err, AVT_IO, "%s: read error", path);
    fclose(r.f);
    return rc;
}

/* ---- JPEG through libturbojpeg ---- */

/* The whole file in memory (JPEG headers may follow tens of KB of APPn segments). */
static int slurp(const char *path, unsigned char **buf, size_t *n, avt_error *err)
{
    char *data = NULL;
    int rc = avt_read_file(path, (size_t)1 << 30, &data, n, err);
    *buf = (unsigned char *)data;
    return rc;
}

/* Reads the header and, with px (w h 3 bytes, allocated here), decodes to RGB. */
/* The JPEG's header into info; with channels 3 (RGB) or 1 (grey) also its pixels, into *px when
 * px is not NULL; channels 0: the header only. */
static int jpeg_run(const char *path, int channels, avt_png_info *info, unsigned char **px, avt_error *err)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc = slurp(path, &buf, &n, err);
    if (rc) return rc;
    tjhandle tj = tjInitDecompress();
    int w = 0, h = 0, sub = 0, cs = 0;
    if (!tj) {
        rc = avt_err(err, AVT_NOMEM, "%s: tjInitDecompress: %s", path, tjGetErrorStr2(NULL));
        goto out;
    }
    if (n > ULONG_MAX || tjDecompressHeader3(tj, buf, (unsigned long)n, &w, &h, &sub, &cs) != 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: broken JPEG header: %s", path, tjGetErrorStr2(tj));
        goto out;
    }
    info->width = (uint32_t)w;
    info->height = (uint32_t)h;
    info->bit_depth = 8;
    info->color_type = cs;
    if (!channels) goto out;
    unsigned char *out = malloc((size_t)w * (size_t)h * (size_t)channels);
    if (!out) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory for a %dx%d image", path, w, h);
        goto out;
    }
    if (tjDecompress2(tj, buf, (unsigned long)n, out, w, 0, h, channels == 1 ? TJPF_GRAY : TJPF_RGB,
                      TJFLAG_STOPONWARNING) != 0) {
        rc = avt_err(err, AVT_FORMAT, "%s: damaged JPEG: %s", path, tjGetErrorStr2(tj));
        free(out);
        goto out;
    }
    if (px) *px = out;
    else free(out);
out:
    if (tj) tjDestroy(tj);
    free(buf);
    return rc;
}

int avt_image_read_info(const char *path, avt_png_info *info, avt_error *err)
{
    if (avt_image_kind_of(path) == AVT_IMAGE_JPEG) return jpeg_run(path, 0, info, NULL, err);
    return avt_png_read_info(path, info, err);
}

int avt_image_verify(const char *path, avt_png_info *info, avt_error *err)
{
    if (avt_image_kind_of(path) == AVT_IMAGE_JPEG) return jpeg_run(path, 3, info, NULL, err);
    return avt_png_verify(path, info, err);
}

int avt_image_load(const char *path, int grey, uint32_t *w, uint32_t *h, unsigned char **px, avt_error *err)
{
    avt_png_info info;
    *px = NULL;
    if (avt_image_kind_of(path) == AVT_IMAGE_JPEG) {
        int rc = jpeg_run(path, grey ? 1 : 3, &info, px, err);
        *w = info.width, *h = info.height;
        return rc;
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path))
        return avt_err(err, AVT_FORMAT, "%s: cannot read PNG: %s", path, pi.message);
    pi.format = grey ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    *w = pi.width;
    *h = pi.height;
    *px = malloc(PNG_IMAGE_SIZE(pi));
    if (!*px) {
        png_image_free(&pi);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&pi, NULL, *px, 0, NULL)) {
        free(*px);
        *px = NULL;
        return avt_err(err, AVT_FORMAT, "%s: broken PNG: %s", path, pi.message);
    }
    return AVT_OK;
}
