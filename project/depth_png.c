/* avtruth project: sparse depth maps as KITTI depth-completion PNGs (KITTI depth devkit readme:
 * 16-bit grey PNG, depth in metres = value / 256, value 0 = no measurement). Written with libpng. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/project.h"

int avt_depth_png_write(const char *path, unsigned w, unsigned h, const float *uv, const float *depth, size_t n,
                        avt_error *err)
{
    FILE *volatile f = NULL; /* volatile: used after longjmp */
    uint16_t *img = NULL;
    png_structp png = NULL;
    png_infop info = NULL;
    png_bytep *rows = NULL;
    int rc = AVT_OK;
    size_t npix;
    if (w == 0 || h == 0 || w > 100000 || h > 100000 || !avt_mul_size(w, h, &npix))
        return avt_err(err, AVT_INVAL, "%s: bad depth image size %ux%u", path, w, h);
    img = calloc(npix, sizeof *img);
    rows = malloc(h * sizeof *rows);
    if (!img || !rows) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory for a %ux%u depth image", path, w, h);
        goto out;
    }
    /* nearest sample wins; pixel centres at integer coordinates (round to nearest) */
    for (size_t i = 0; i < n; i++) {
        double u = floor(uv[2 * i] + 0.5), v = floor(uv[2 * i + 1] + 0.5), d = depth[i];
        if (!(u >= 0 && u < w && v >= 0 && v < h) || !(d > 0)) continue;
        double q = floor(d * 256 + 0.5);
        if (q < 1) q = 1;
        if (q > 65535) continue; /* beyond 256 m: not representable */
        size_t k = (size_t)v * w + (size_t)u;
        if (img[k] == 0 || q < img[k]) img[k] = (uint16_t)q;
    }
    f = fopen(path, "wb");
    if (!f) {
        rc = avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        rc = avt_err(err, AVT_NOMEM, "%s: cannot initialise libpng", path);
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = avt_err(err, AVT_IO, "%s: libpng write error", path);
        goto out;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    /* PNG stores 16-bit samples big-endian */
    for (size_t k = 0; k < npix; k++) {
        uint8_t *b = (uint8_t *)&img[k];
        uint16_t val = img[k];
        b[0] = (uint8_t)(val >> 8);
        b[1] = (uint8_t)val;
    }
    for (unsigned r = 0; r < h; r++) rows[r] = (png_bytep)(img + (size_t)r * w);
    png_write_image(png, rows);
    png_write_end(png, NULL);
out:
    if (png) png_destroy_write_struct(&png, info ? &info : NULL);
    if (f && fclose(f) != 0 && rc == AVT_OK) rc = avt_err(err, AVT_IO, "%s: write failed: %s", path, strerror(errno));
    if (rc && f) remove(path);
    free(rows);
    free(img);
    return rc;
}
