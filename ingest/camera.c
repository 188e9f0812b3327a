/* avtruth ingest: camera streams — image times from file names, and PNG headers read with
 * libpng without decoding the image (PNG spec, ISO/IEC 15948, section 11.2.2 IHDR). */
#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ingest.h"

static int all_digits(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

int avt_image_time_from_name(const char *name, int64_t *t_ns)
{
    const char *dot = strrchr(name, '.');
    if (!dot || strcmp(dot, ".png") != 0) return AVT_FORMAT;
    size_t len = (size_t)(dot - name);
    char buf[64];
    if (len == 0 || len >= sizeof buf) return AVT_FORMAT;
    memcpy(buf, name, len);
    buf[len] = '\0';
    char *frac = strchr(buf, '.');
    int64_t v;
    if (!frac) {
        if (!all_digits(buf, len) || !avt_parse_int64(buf, &v)) return AVT_FORMAT;
        if (len == 19) *t_ns = v;                       /* nanoseconds */
        else if (len == 16) *t_ns = v * 1000;           /* microseconds */
        else return AVT_FORMAT;
        return AVT_OK;
    }
    *frac++ = '\0';
    size_t ni = strlen(buf), nf = strlen(frac);
    if (!all_digits(buf, ni) || !all_digits(frac, nf) || ni > 10 || nf > 9) return AVT_FORMAT;
    int64_t sec, fr;
    if (!avt_parse_int64(buf, &sec) || !avt_parse_int64(frac, &fr)) return AVT_FORMAT;
    for (size_t i = nf; i < 9; i++) fr *= 10;
    *t_ns = sec * 1000000000LL + fr;
    return AVT_OK;
}

static int cmp_image(const void *a, const void *b)
{
    const avt_image_ref *x = a, *y = b;
    return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

int avt_camera_stream_list(const char *log_dir, const char *name, avt_camera_stream *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    char dir[4096];
    size_t cap = 0;
    int rc = AVT_OK;
    DIR *d = NULL;
    if (snprintf(dir, sizeof dir, "%s/cameras/%s", log_dir, name) >= (int)sizeof dir)
        return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    out->name = strdup(name);
    if (!out->name) return avt_err(err, AVT_NOMEM, "out of memory");
    d = opendir(dir);
    if (!d) {
        rc = avt_err(err, errno == ENOENT ? AVT_NOTFOUND : AVT_IO, "%s: cannot list camera images: %s", dir,
                     strerror(errno));
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        const char *ext = strrchr(e->d_name, '.');
        if (!ext || strcmp(ext, ".png") != 0) continue; /* other files (timestamps.txt) are not images */
        int64_t t;
        if (avt_image_time_from_name(e->d_name, &t) != AVT_OK) {
            rc = avt_err(err, AVT_FORMAT,
                         "%s/%s: cannot read a time from the file name (expected <ns>.png, <us>.png or "
                         "<seconds>.<fraction>.png)", dir, e->d_name);
            goto out;
        }
        if (avt_grow((void **)&out->images, &cap, out->n + 1, sizeof *out->images)) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
            goto out;
        }
        avt_image_ref *im = &out->images[out->n];
        size_t need = strlen(name) + strlen(e->d_name) + 10;
        im->path = malloc(need);
        if (!im->path) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
            goto out;
        }
        snprintf(im->path, need, "cameras/%s/%s", name, e->d_name);
        im->t_ns = t;
        out->n++;
    }
    qsort(out->images, out->n, sizeof *out->images, cmp_image);
    for (size_t i = 1; i < out->n; i++)
        if (out->images[i].t_ns == out->images[i - 1].t_ns) {
            rc = avt_err(err, AVT_FORMAT, "%s/%s and %s: duplicate image time %lld ns", log_dir,
                         out->images[i - 1].path, out->images[i].path, (long long)out->images[i].t_ns);
            goto out;
        }
    if (out->n == 0) rc = avt_err(err, AVT_NOTFOUND, "%s: camera '%s' has no .png images", dir, name);
out:
    if (d) closedir(d);
    if (rc) avt_camera_stream_free(out);
    return rc;
}

void avt_camera_stream_free(avt_camera_stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->images[i].path);
    free(s->images);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* libpng reports errors through a callback; keep the message for the caller. */
struct png_ctx {
    char msg[256];
};
static void png_error_fn(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}
static void png_warn_fn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

int avt_png_read_info(const char *path, avt_png_info *info, avt_error *err)
{
    FILE *volatile f = fopen(path, "rb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot open image: %s", path, strerror(errno));
    unsigned char sig[8];
    struct png_ctx ctx = {""};
    png_structp png = NULL;
    png_infop pinfo = NULL;
    int rc = AVT_OK;
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        rc = avt_err(err, AVT_FORMAT, "%s: not a PNG file (bad signature)", path);
        goto out;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_fn, png_warn_fn);
    if (png) pinfo = png_create_info_struct(png);
    if (!png || !pinfo) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = avt_err(err, AVT_FORMAT, "%s: broken PNG header: %s", path, ctx.msg);
        goto out;
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, pinfo);
    info->width = png_get_image_width(png, pinfo);
    info->height = png_get_image_height(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);
    info->color_type = png_get_color_type(png, pinfo);
out:
    if (png) png_destroy_read_struct(&png, pinfo ? &pinfo : NULL, NULL);
    fclose(f);
    return rc;
}
