/* avtruth common: growable buffers and strings, strict number parsing, whole-file reads, paths, clocks. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "avtruth/common.h"

int avt_cpu_avx2(void)
{
#if AVT_HAVE_AVX2_PATH
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}

/* The capacity for need elements of elem bytes (doubling from *cap, or 64) and its bytes. */
static int grow_to(size_t cap, size_t need, size_t elem, size_t *ncap, size_t *bytes)
{
    size_t c = cap ? cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2) return AVT_NOMEM;
        c *= 2;
    }
    *ncap = c;
    return avt_mul_size(c, elem, bytes) ? AVT_OK : AVT_NOMEM;
}

int avt_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t ncap, bytes;
    if (need <= *cap) return AVT_OK;
    if (grow_to(*cap, need, elem, &ncap, &bytes)) return AVT_NOMEM;
    void *p = realloc(*buf, bytes);
    if (!p) return AVT_NOMEM;
    *buf = p;
    *cap = ncap;
    return AVT_OK;
}

int avt_grow_scratch(void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t ncap, bytes;
    if (need <= *cap) return AVT_OK;
    if (grow_to(*cap, need, elem, &ncap, &bytes)) return AVT_NOMEM;
    void *p = malloc(bytes);
    if (!p) return AVT_NOMEM;
    free(*buf);
    *buf = p;
    *cap = ncap;
    return AVT_OK;
}

void avt_sbuf_printf(avt_sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && (size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        if (avt_grow((void **)&b->p, &b->cap, b->len + (size_t)k + 1, 1) != AVT_OK) {
            b->oom = 1;
            return;
        }
    }
}

int avt_parse_double(const char *s, double *out)
{
    if (!s || !*s) return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

int avt_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s) return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') return 0;
    *out = (int64_t)v;
    return 1;
}

int avt_read_file(const char *path, size_t max_bytes, char **data, size_t *len, avt_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = AVT_OK;
    for (;;) {
        if (avt_grow((void **)&buf, &cap, n + 65537, 1) != AVT_OK) {
            rc = avt_err(err, AVT_NOMEM, "%s: out of memory after %zu bytes", path, n);
            goto out;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max_bytes) {
            rc = avt_err(err, AVT_FORMAT, "%s: larger than the %zu-byte limit", path, max_bytes);
            goto out;
        }
        if (got == 0) break;
    }
    if (ferror(f)) {
        rc = avt_err(err, AVT_IO, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

void avt_files_read_ahead(size_t i, size_t n, const char *(*path)(void *ctx, size_t j, char *buf, size_t cap),
                          void *ctx)
{
    enum { AHEAD = 32 };
    for (size_t j = i == 0 ? 0 : i + AHEAD; j <= i + AHEAD && j < n; j++) {
        char buf[4096];
        const char *p = path(ctx, j, buf, sizeof buf);
        const int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0) continue; /* the loop's own open reports it */
        /* the start only: a loop that reads on sequentially gets the kernel's own read-ahead,
         * and one that reads only headers (a JPEG's check) is not made to read whole files */
        (void)posix_fadvise(fd, 0, 128 << 10, POSIX_FADV_WILLNEED);
        close(fd);
    }
}

int avt_path_join(char *out, size_t n, const char *dir, const char *name)
{
    int w = (dir && *dir) ? snprintf(out, n, "%s/%s", dir, name) : snprintf(out, n, "%s", name);
    return (w < 0 || (size_t)w >= n) ? AVT_INVAL : AVT_OK;
}

int64_t avt_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

double avt_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t avt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void avt_format_utc(int64_t t_ns, char *out, size_t n)
{
    int64_t sec = t_ns / 1000000000LL, frac = t_ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        sec -= 1;
    }
    time_t tt = (time_t)sec;
    struct tm tmv;
    gmtime_r(&tt, &tmv);
    char date[40];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tmv);
    snprintf(out, n, "%s.%09lldZ", date, (long long)frac);
}

int avt_name_lookup(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(name, names[i]) == 0) return (int)i;
    return -1;
}
