/* avtruth ingest: camera streams — image times from file names, a KITTI timestamps.txt or a
 * timestamps.csv; PNG headers read with libpng without decoding the image (PNG spec, ISO/IEC
 * 15948, 11.2.2 IHDR) and full decodes that check every CRC (5.3) and the zlib stream
 * (RFC 1950 adler32). */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (!dot || avt_image_kind_of(name) == AVT_IMAGE_UNKNOWN) return AVT_FORMAT;
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
        else if (len == 16 && v <= INT64_MAX / 1000) *t_ns = v * 1000; /* microseconds */
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


/* Reads exactly n digits at *p into *v. */
static int digits(const char **p, int n, int64_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9') return 0;
        *v = *v * 10 + (**p - '0');
    }
    return 1;
}

int avt_kitti_time_parse(const char *s, int64_t *t_ns)
{
    int64_t Y, M, D, h, m, sec, frac = 0;
    const char *p = s;
    if (!digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) || *p++ != '-' || !digits(&p, 2, &D) ||
        *p++ != ' ' || !digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return AVT_FORMAT;
    if (*p == '.') {
        p++;
        int nf = 0;
        while (*p >= '0' && *p <= '9') {
            if (++nf > 9) return AVT_FORMAT;
            frac = frac * 10 + (*p++ - '0');
        }
        if (nf == 0) return AVT_FORMAT;
        for (; nf < 9; nf++) frac *= 10;
    }
    while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t') p++;
    if (*p) return AVT_FORMAT;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60 || Y < 1970 || Y > 2261)
        return AVT_FORMAT;
    int64_t days = avt_days_from_civil(Y, M, D);
    *t_ns = ((days * 24 + h) * 60 + m) * 60 * 1000000000LL + sec * 1000000000LL + frac;
    return AVT_OK;
}

int avt_kitti_times_load(const char *path, int64_t **t, size_t *n, avt_error *err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    int rc = AVT_OK;
    *t = NULL;
    *n = 0;
    if (!f) return avt_err(err, errno == ENOENT ? AVT_NOTFOUND : AVT_IO, "%s: cannot open: %s", path, strerror(errno));
    ssize_t len;
    size_t lineno = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (len == 0 || line[0] == '\n' || (line[0] == '\r' && line[1] == '\n')) continue;
        int64_t v;
        if (avt_kitti_time_parse(line, &v) != AVT_OK) {
            line[strcspn(line, "\r\n")] = '\0';
            rc = avt_err(err, AVT_FORMAT, "%s: line %zu: '%.64s' is not a time of the form 2011-09-26 13:02:25.964389445",
                         path, lineno, line);
            goto out;
        }
        if (avt_grow((void **)t, &cap, *n + 1, sizeof **t)) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
            goto out;
        }
        (*t)[(*n)++] = v;
    }
    if (ferror(f)) rc = avt_err(err, AVT_IO, "%s: read error", path);
out:
    free(line);
    fclose(f);
    if (rc) {
        free(*t);
        *t = NULL;
        *n = 0;
    }
    return rc;
}

static void warnf(avt_camera_stream *s, const char *fmt, ...)
{
    s->warnings_total++;
    if (s->n_warnings >= AVT_STREAM_MAX_WARNINGS) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *m = strdup(buf);
    if (m) s->warnings[s->n_warnings++] = m;
}

static int cmp_image(const void *a, const void *b)
{
    const avt_image_ref *x = a, *y = b;
    if (x->t_ns != y->t_ns) return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
    return strcmp(x->path, y->path);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const avt_timed_file *)a)->name, ((const avt_timed_file *)b)->name);
}

static int add_image(avt_camera_stream *out, size_t *cap, const char *cam, const char *file, int64_t t)
{
    if (avt_grow((void **)&out->images, cap, out->n + 1, sizeof *out->images)) return AVT_NOMEM;
    size_t need = strlen(cam) + strlen(file) + 10;
    char *p = malloc(need);
    if (!p) return AVT_NOMEM;
    snprintf(p, need, "cameras/%s/%s", cam, file);
    out->images[out->n].path = p;
    out->images[out->n].t_ns = t;
    out->n++;
    return AVT_OK;
}

/* Keeps an image given in a timestamp file's order unless its time is not after the
 * previous kept one (reported: duplicate or backwards). */
static int add_ordered(avt_camera_stream *out, size_t *cap, const char *dir, const char *cam, const char *file,
                       int64_t t, const char *where)
{
    if (out->n && t <= out->images[out->n - 1].t_ns) {
        int dup = t == out->images[out->n - 1].t_ns;
        if (dup) out->duplicate_times++;
        else out->backwards_times++;
        warnf(out, "%s/%s: %s: time %lld ns %s %s (%lld ns); image left out", dir, file, where, (long long)t,
              dup ? "duplicates that of" : "goes backwards from", out->images[out->n - 1].path,
              (long long)out->images[out->n - 1].t_ns);
        return AVT_OK;
    }
    return add_image(out, cap, cam, file, t);
}

static int list_csv(avt_camera_stream *out, size_t *cap, const char *dir, const char *csv, const char *cam,
                    const avt_file_index *imgs, avt_error *err)
{
    FILE *f = fopen(csv, "r");
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    int rc = AVT_OK;
    if (!f) return avt_err(err, AVT_IO, "%s: cannot open: %s", csv, strerror(errno));
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        if (lineno == 1 && strncmp(line, "file,", 5) == 0) continue;
        char *comma = strchr(line, ',');
        int64_t t;
        char where[64];
        snprintf(where, sizeof where, "timestamps.csv line %zu", lineno);
        if (!comma || comma == line || strchr(line, '/') || !avt_parse_int64(comma + 1, &t)) {
            out->bad_names++;
            warnf(out, "%s: line %zu: '%.80s' is not `file,t_ns`; row left out", csv, lineno, line);
            continue;
        }
        *comma = '\0';
        if (!bsearch(&(avt_timed_file){line, 0}, imgs->files, imgs->n, sizeof *imgs->files, cmp_file)) {
            out->bad_names++;
            warnf(out, "%s: line %zu: no image %s/%s; row left out", csv, lineno, dir, line);
            continue;
        }
        if ((rc = add_ordered(out, cap, dir, cam, line, t, where))) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory", csv);
            goto out;
        }
    }
    if (ferror(f)) rc = avt_err(err, AVT_IO, "%s: read error", csv);
out:
    free(line);
    fclose(f);
    return rc;
}

/* A stream's image files for avt_files_read_ahead. */
typedef struct stream_files {
    const avt_camera_stream *s;
    const char *log_dir;
} stream_files;

static const char *image_path(void *ctx, size_t j, char *buf, size_t cap)
{
    const stream_files *f = ctx;
    return avt_path_join(buf, cap, f->log_dir, f->s->images[j].path) ? NULL : buf;
}

/* Leaves out the images whose file fails the cheap structural check (avt_image_check: a
 * truncated or corrupt PNG or JPEG), each with a warning giving the reason; they are counted
 * and named in out->damaged_files. */
static int drop_damaged(avt_camera_stream *out, const char *log_dir, avt_error *err)
{
    size_t k = 0;
    stream_files files = {out, log_dir};
    for (size_t i = 0; i < out->n; i++) {
        avt_files_read_ahead(i, out->n, image_path, &files); /* images[i..] are not moved yet */
        char abs[4096];
        avt_error e = {0};
        if (avt_path_join(abs, sizeof abs, log_dir, out->images[i].path))
            return avt_err(err, AVT_INVAL, "%s: path too long", out->images[i].path);
        int rc = avt_image_check(abs, &e);
        if (rc == AVT_NOMEM) return avt_err(err, rc, "%s", e.msg);
        if (rc == AVT_OK) {
            out->images[k++] = out->images[i];
            continue;
        }
        size_t used = strlen(out->damaged_files);
        if (used + strlen(out->images[i].path) + 8 < sizeof out->damaged_files)
            snprintf(out->damaged_files + used, sizeof out->damaged_files - used, "%s%s",
                     used ? ", " : "", out->images[i].path);
        else if (used + 6 < sizeof out->damaged_files && !strstr(out->damaged_files, ", ..."))
            snprintf(out->damaged_files + used, sizeof out->damaged_files - used, ", ...");
        out->damaged++;
        warnf(out, "%s; image left out (unpaired)", e.msg);
        free(out->images[i].path);
    }
    out->n = k;
    return AVT_OK;
}

int avt_camera_stream_list(const char *log_dir, const char *name, avt_camera_stream *out, avt_error *err)
{
    /* the kinds of avt_image_kind_of, in lower or upper case */
    static const char *const EXTS[] = {".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG", NULL};
    memset(out, 0, sizeof *out);
    char dir[4096], csv[4200], txt[4200];
    size_t cap = 0;
    avt_file_index files = {0};
    int64_t *times = NULL;
    size_t n_times = 0;
    int rc = AVT_OK;
    out->time_source = "file names";
    if (snprintf(dir, sizeof dir, "%s/cameras/%s", log_dir, name) >= (int)sizeof dir)
        return avt_err(err, AVT_INVAL, "%s: path too long", log_dir);
    snprintf(csv, sizeof csv, "%s/timestamps.csv", dir);
    snprintf(txt, sizeof txt, "%s/timestamps.txt", dir);
    out->name = strdup(name);
    if (!out->name) return avt_err(err, AVT_NOMEM, "out of memory");
    rc = avt_file_index_list(dir, EXTS, avt_image_time_from_name, &files, err);
    if (rc == AVT_NOTFOUND) {
        rc = AVT_OK;
        warnf(out, "%s: no such directory: camera '%s' has no images; its frames stay unpaired", dir, name);
        goto out;
    }
    if (rc) goto out;
    const avt_timed_file *f = files.files;
    if (access(csv, F_OK) == 0) {
        out->time_source = "timestamps.csv";
        if ((rc = list_csv(out, &cap, dir, csv, name, &files, err))) goto out;
    } else if (access(txt, F_OK) == 0) {
        out->time_source = "timestamps.txt";
        if ((rc = avt_kitti_times_load(txt, &times, &n_times, err))) {
            if (rc != AVT_FORMAT) goto out;
            /* one bad line: report it, fall back to nothing rather than guess the alignment */
            warnf(out, "%s; camera '%s' left without images", err->msg, name);
            out->bad_names++;
            rc = AVT_OK;
            goto out;
        }
        if (n_times != files.n)
            warnf(out, "%s: %zu times for %zu images; the first %zu images in name order are used", txt,
                  n_times, files.n, n_times < files.n ? n_times : files.n);
        for (size_t i = 0; i < files.n && i < n_times; i++) {
            char where[64];
            snprintf(where, sizeof where, "timestamps.txt line %zu", i + 1);
            if (add_ordered(out, &cap, dir, name, f[i].name, times[i], where)) {
                rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
                goto out;
            }
        }
    } else {
        for (size_t i = 0; i < files.n; i++) {
            if (f[i].t_ns == AVT_NO_TIME) {
                out->bad_names++;
                warnf(out,
                      "%s/%s: cannot read a time from the file name (expected <ns>.png, <us>.png or "
                      "<seconds>.<fraction>.png, or .jpg, or a timestamps.txt / timestamps.csv); "
                      "image left out",
                      dir, f[i].name);
                continue;
            }
            if (add_image(out, &cap, name, f[i].name, f[i].t_ns)) {
                rc = avt_err(err, AVT_NOMEM, "%s: out of memory", dir);
                goto out;
            }
        }
        if (out->n) qsort(out->images, out->n, sizeof *out->images, cmp_image);
        /* equal times: keep the first by name, report the others */
        size_t k = 0;
        for (size_t i = 0; i < out->n; i++) {
            if (k && out->images[i].t_ns == out->images[k - 1].t_ns) {
                out->duplicate_times++;
                warnf(out, "%s: %s and %s: duplicate image time %lld ns; %s left out", log_dir, out->images[k - 1].path,
                      out->images[i].path, (long long)out->images[i].t_ns, out->images[i].path);
                free(out->images[i].path);
                continue;
            }
            out->images[k++] = out->images[i];
        }
        out->n = k;
    }
    if ((rc = drop_damaged(out, log_dir, err))) goto out;
    if (out->n == 0 && out->warnings_total == 0)
        warnf(out, "%s: camera '%s' has no .png/.jpg images; its frames stay unpaired", dir, name);
out:
    avt_file_index_free(&files);
    free(times);
    if (rc) avt_camera_stream_free(out);
    return rc;
}

void avt_camera_stream_free(avt_camera_stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->images[i].path);
    for (size_t i = 0; i < s->n_warnings; i++) free(s->warnings[i]);
    free(s->images);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* libpng reports errors through a callback; keep the message for the caller. Input comes
 * from a FILE or a memory buffer through one read callback. */
struct png_ctx {
    char msg[256];
    FILE *f;
    const uint8_t *p;
    size_t n, off;
};
static void png_error_fn(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}
static void png_warn_fn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }
static void png_read_fn(png_structp png, png_bytep out, size_t len)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (c->f) {
        if (fread(out, 1, len, c->f) != len) png_error(png, "file truncated");
        return;
    }
    if (len > c->n - c->off) png_error(png, "data truncated");
    memcpy(out, c->p + c->off, len);
    c->off += len;
}

/* Reads the header and, when decode is set, every row. name is for messages. */
static int png_run(struct png_ctx *ctx, const char *name, int decode, avt_png_info *info, avt_error *err)
{
    png_structp png = NULL;
    png_infop pinfo = NULL;
    uint8_t *volatile row = NULL;
    volatile int rc = AVT_OK;
    uint8_t sig[8];
    if (ctx->f ? fread(sig, 1, 8, ctx->f) != 8 : ctx->n < 8) return avt_err(err, AVT_FORMAT, "%s: not a PNG file (shorter than its signature)", name);
    if (!ctx->f) memcpy(sig, ctx->p, 8), ctx->off = 8;
    if (png_sig_cmp(sig, 0, 8)) return avt_err(err, AVT_FORMAT, "%s: not a PNG file (bad signature)", name);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, png_error_fn, png_warn_fn);
    if (png) pinfo = png_create_info_struct(png);
    if (!png || !pinfo) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", name);
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = avt_err(err, AVT_FORMAT, "%s: %s: %s", name, decode ? "damaged PNG" : "broken PNG header", ctx->msg);
        goto out;
    }
    png_set_read_fn(png, ctx, png_read_fn);
    png_set_sig_bytes(png, 8);
    if (decode) png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, pinfo);
    info->width = png_get_image_width(png, pinfo);
    info->height = png_get_image_height(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);
    info->color_type = png_get_color_type(png, pinfo);
    if (decode) {
        /* rows as stored (16-bit kept, palette indices kept): the check is of the bytes */
        int passes = png_set_interlace_handling(png);
        png_read_update_info(png, pinfo);
        size_t rb = png_get_rowbytes(png, pinfo);
        row = malloc(rb ? rb : 1);
        if (!row) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory for a %zu-byte row", name, rb);
            goto out;
        }
        for (int p = 0; p < passes; p++)
            for (uint32_t y = 0; y < info->height; y++) png_read_row(png, row, NULL);
        png_read_end(png, NULL);
    }
out:
    free(row);
    if (png) png_destroy_read_struct(&png, pinfo ? &pinfo : NULL, NULL);
    return rc;
}

static int png_file(const char *path, int decode, avt_png_info *info, avt_error *err)
{
    struct png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.f = fopen(path, "rb");
    if (!ctx.f) return avt_err(err, AVT_IO, "%s: cannot open image: %s", path, strerror(errno));
    int rc = png_run(&ctx, path, decode, info, err);
    fclose(ctx.f);
    return rc;
}

static int png_mem(const void *data, size_t size, int decode, avt_png_info *info, avt_error *err)
{
    struct png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.p = data;
    ctx.n = data ? size : 0;
    return png_run(&ctx, "<memory>", decode, info, err);
}

int avt_png_read_info(const char *path, avt_png_info *info, avt_error *err) { return png_file(path, 0, info, err); }
int avt_png_verify(const char *path, avt_png_info *info, avt_error *err) { return png_file(path, 1, info, err); }
int avt_png_read_info_mem(const void *d, size_t n, avt_png_info *info, avt_error *err) { return png_mem(d, n, 0, info, err); }
int avt_png_verify_mem(const void *d, size_t n, avt_png_info *info, avt_error *err) { return png_mem(d, n, 1, info, err); }
