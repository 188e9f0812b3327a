/* avtruth export: preview images with projected boxes and points drawn on them
 * (libpng read, normalised to 8-bit RGB, and write). */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/export.h"

typedef struct rgb_image {
    unsigned w, h;
    unsigned char *px; /* 3 w h */
} rgb_image;

static void put(rgb_image *im, int x, int y, const unsigned char c[3])
{
    if (x < 0 || y < 0 || (unsigned)x >= im->w || (unsigned)y >= im->h) return;
    memcpy(im->px + 3 * ((size_t)y * im->w + (size_t)x), c, 3);
}

static void line(rgb_image *im, double x0, double y0, double x1, double y1, const unsigned char c[3])
{
    double len = fmax(fabs(x1 - x0), fabs(y1 - y0));
    int n = (int)ceil(len) + 1;
    if (n > 100000) n = 100000;
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n;
        put(im, (int)lround(x0 + t * (x1 - x0)), (int)lround(y0 + t * (y1 - y0)), c);
    }
}

static int read_rgb(const char *path, rgb_image *im, avt_error *err)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path))
        return avt_err(err, AVT_FORMAT, "%s: cannot read PNG: %s", path, pi.message);
    pi.format = PNG_FORMAT_RGB;
    im->w = pi.width;
    im->h = pi.height;
    im->px = malloc(PNG_IMAGE_SIZE(pi));
    if (!im->px) {
        png_image_free(&pi);
        return avt_err(err, AVT_NOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&pi, NULL, im->px, 0, NULL)) {
        free(im->px);
        im->px = NULL;
        return avt_err(err, AVT_FORMAT, "%s: broken PNG: %s", path, pi.message);
    }
    return AVT_OK;
}

int avt_preview_draw(const char *image_path, const avt_camera_frame *cf, const char *out_path, avt_error *err)
{
    rgb_image im = {0, 0, NULL};
    int rc = read_rgb(image_path, &im, err);
    if (rc) return rc;
    for (size_t i = 0; i < cf->n_depth; i++) {
        /* colour by depth: near red, far blue (0..60 m) */
        double s = fmin(1.0, cf->depth[i] / 60.0);
        unsigned char c[3] = {(unsigned char)(255 * (1 - s)), (unsigned char)(255 * (1 - fabs(2 * s - 1))),
                              (unsigned char)(255 * s)};
        int x = (int)lround(cf->depth_uv[2 * i]), y = (int)lround(cf->depth_uv[2 * i + 1]);
        put(&im, x, y, c);
    }
    static const unsigned char green[3] = {0, 255, 0};
    for (size_t b = 0; b < cf->n_boxes2d; b++) {
        const float *q = cf->boxes2d[b].xyxy;
        line(&im, q[0], q[1], q[2], q[1], green);
        line(&im, q[2], q[1], q[2], q[3], green);
        line(&im, q[2], q[3], q[0], q[3], green);
        line(&im, q[0], q[3], q[0], q[1], green);
    }
    png_image pw;
    memset(&pw, 0, sizeof pw);
    pw.version = PNG_IMAGE_VERSION;
    pw.width = im.w;
    pw.height = im.h;
    pw.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&pw, out_path, 0, im.px, 0, NULL))
        rc = avt_err(err, AVT_IO, "%s: cannot write preview: %s", out_path, pw.message);
    free(im.px);
    return rc;
}
