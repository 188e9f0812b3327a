/* avtruth common: status codes, the caller-owned error record, a bounded byte cursor.
 *
 * Every library function returns an int status (0 = success, negative = error) and, on
 * error, fills a caller-owned avt_error whose message names the file, the packet or line
 * and the offending value. No global error state: everything here is thread-safe. */
#ifndef AVTRUTH_COMMON_H
#define AVTRUTH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* One table generates the status enum, its names and its default messages. */
#define AVT_STATUS_MAP(X)                                   \
    X(OK, 0, "success")                                     \
    X(IO, -1, "input/output error")                         \
    X(FORMAT, -2, "malformed input")                        \
    X(NOMEM, -3, "out of memory")                           \
    X(INVAL, -4, "invalid argument")                        \
    X(UNSUPPORTED, -5, "unsupported input")                 \
    X(TRUNCATED, -6, "truncated input")                     \
    X(NOTFOUND, -7, "not found")                            \
    X(HDF5, -8, "HDF5 library error")                       \
    X(MISMATCH, -9, "consistency check failed")

enum avt_status {
#define AVT_X_ENUM(name, value, msg) AVT_##name = (value),
    AVT_STATUS_MAP(AVT_X_ENUM)
#undef AVT_X_ENUM
};

/* Returns the symbolic name ("AVT_FORMAT") and default message of a status; never NULL. */
const char *avt_status_name(int status);
const char *avt_status_message(int status);

#define AVT_ERROR_MAX 1024
typedef struct avt_error {
    int code;                  /* the status last set, AVT_OK if none */
    char msg[AVT_ERROR_MAX];   /* "file: packet N: what is wrong (value)" */
} avt_error;

/* Sets err (if not NULL) to code and a printf-style message; returns code so that callers
 * can write `return avt_err(err, AVT_FORMAT, "%s: line %d: ...", ...)`. */
int avt_err(avt_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prepends "prefix: " to an existing message (keeps the code). Returns err->code. */
int avt_err_prefix(avt_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The first failing one of errs[0..n) (work done in parts, each with its own error): its code,
 * copied into err (if not NULL), or AVT_OK when none failed. */
int avt_err_first(const avt_error *errs, size_t n, avt_error *err);

/* Bounded reader over untrusted bytes with explicit-endian getters. A read past the end
 * sets `bad` and returns 0, so parsers check `cur.bad` once after a group of reads. */
typedef struct avt_cursor {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int bad;
} avt_cursor;

static inline avt_cursor avt_cursor_make(const void *p, size_t len)
{
    avt_cursor c = {(const uint8_t *)p, len, 0, 0};
    return c;
}
static inline size_t avt_cursor_left(const avt_cursor *c) { return c->bad ? 0 : c->len - c->pos; }
static inline int avt_cursor_need(avt_cursor *c, size_t n)
{
    if (c->bad || c->len - c->pos < n) {
        c->bad = 1;
        return 0;
    }
    return 1;
}
static inline uint8_t avt_get_u8(avt_cursor *c)
{
    if (!avt_cursor_need(c, 1)) return 0;
    return c->p[c->pos++];
}
static inline uint16_t avt_get_le16(avt_cursor *c)
{
    if (!avt_cursor_need(c, 2)) return 0;
    const uint8_t *b = c->p + c->pos;
    c->pos += 2;
    return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint16_t avt_get_be16(avt_cursor *c)
{
    if (!avt_cursor_need(c, 2)) return 0;
    const uint8_t *b = c->p + c->pos;
    c->pos += 2;
    return (uint16_t)((b[0] << 8) | b[1]);
}
static inline uint32_t avt_get_le32(avt_cursor *c)
{
    if (!avt_cursor_need(c, 4)) return 0;
    const uint8_t *b = c->p + c->pos;
    c->pos += 4;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint32_t avt_get_be32(avt_cursor *c)
{
    if (!avt_cursor_need(c, 4)) return 0;
    const uint8_t *b = c->p + c->pos;
    c->pos += 4;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}
static inline uint64_t avt_get_le64(avt_cursor *c)
{
    uint64_t lo = avt_get_le32(c);
    uint64_t hi = avt_get_le32(c);
    return lo | (hi << 32);
}
static inline void avt_cursor_skip(avt_cursor *c, size_t n)
{
    if (avt_cursor_need(c, n)) c->pos += n;
}

/* Overflow-checked size arithmetic: return 0 on overflow, 1 otherwise. */
static inline int avt_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* AVX2 clones of hot loops (the deskew, the point labels, the camera kernels): a function
 * marked AVT_TARGET_AVX2 is compiled for AVX2 where GCC's target attribute exists (else it is
 * a plain twin), and is called only if avt_cpu_avx2(). AVX2 has no fused multiply-add: built
 * without FP contraction, a clone rounds as the plain code does. */
#if defined(__x86_64__) && defined(__GNUC__)
#define AVT_HAVE_AVX2_PATH 1
#define AVT_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define AVT_HAVE_AVX2_PATH 0
#define AVT_TARGET_AVX2
#endif
/* 1 if AVT_TARGET_AVX2 code runs here (this CPU has AVX2 and the build has the clones). */
int avt_cpu_avx2(void);

/* Grows *buf (element size elem) so that it holds at least need elements; *cap is updated.
 * Returns AVT_OK or AVT_NOMEM (buffer left unchanged). */
int avt_grow(void **buf, size_t *cap, size_t need, size_t elem);
/* The same for a scratch buffer, whose contents need not survive: a larger one replaces it
 * without the copy (which would touch, and fault in, the whole old size in new memory).
 * Returns AVT_OK or AVT_NOMEM (buffer left unchanged). */
int avt_grow_scratch(void **buf, size_t *cap, size_t need, size_t elem);

/* A growable NUL-terminated string: start with {0}; append with avt_sbuf_printf; on out of
 * memory `oom` is set and later appends do nothing; free p. */
typedef struct avt_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} avt_sbuf;
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void avt_sbuf_printf(avt_sbuf *b, const char *fmt, ...);

/* Strict number parsing: the whole string must be a finite number. Return 1 on success. */
int avt_parse_double(const char *s, double *out);
int avt_parse_int64(const char *s, int64_t *out);
/* The index of name in the table names[0..n), or -1 (also for NULL): the one lookup behind
 * every option enum's parse function. */
int avt_name_lookup(const char *const *names, size_t n, const char *name);

/* Reads a whole file into a malloc'ed buffer (NUL-terminated, len excludes the NUL).
 * max_bytes guards against absurd inputs. Caller frees *data. */
int avt_read_file(const char *path, size_t max_bytes, char **data, size_t *len, avt_error *err);

/* For a loop that reads files one after another, called at the top of iteration i of n: asks
 * the kernel to start reading the first 128 KiB of the files 32 ahead into the page cache
 * (posix_fadvise POSIX_FADV_WILLNEED; files 0..32 at i = 0, then i + 32), so that the files
 * of a log that is not in the cache arrive together instead of one disk round trip each
 * (measured: a camera's listing check, docs/benchmarks.md); reading on from there, the loop
 * gets the kernel's own sequential read-ahead. path(ctx, j, buf, cap) gives file j's path,
 * in buf or not, or NULL to skip it. Best effort: errors are left to the loop's own reads. */
void avt_files_read_ahead(size_t i, size_t n, const char *(*path)(void *ctx, size_t j, char *buf, size_t cap),
                          void *ctx);

/* Joins dir and name into out (size n); returns AVT_INVAL if it does not fit. */
int avt_path_join(char *out, size_t n, const char *dir, const char *name);

/* The timed files of one directory of a drive log (labels/, lidar/, cameras/<name>/): the one
 * indexer behind the label index, the point-cloud sweep source and the camera streams. */
#define AVT_NO_TIME INT64_MIN /* a file whose name gives no time */
typedef struct avt_timed_file {
    char *name;   /* file name, no directory */
    int64_t t_ns; /* its time, or AVT_NO_TIME */
} avt_timed_file;
typedef struct avt_file_index {
    avt_timed_file *files;
    size_t n;
} avt_file_index;
/* 1 when name is longer than and ends in one of suffixes (NULL-terminated list). */
int avt_name_ends_with(const char *name, const char *const *suffixes);
/* Reads a time from a file name: AVT_OK or AVT_FORMAT. */
typedef int (*avt_name_time_fn)(const char *name, int64_t *t_ns);
/* Lists the files of dir whose names end in one of exts (NULL-terminated list; names starting
 * with '.' are skipped), sorted by name (qsort). Each file's time comes from time_of, or with
 * time_of NULL from the `<t_ns><ext>` rule: one or more digits (integer ns) followed by exactly
 * one of exts. Names without a time get AVT_NO_TIME. A missing directory returns AVT_NOTFOUND
 * without a message; other errors fill err. Free with avt_file_index_free. */
int avt_file_index_list(const char *dir, const char *const *exts, avt_name_time_fn time_of,
                        avt_file_index *out, avt_error *err);
/* Sorts by (time, name), O(n log n); AVT_NO_TIME first. */
void avt_file_index_sort_time(avt_file_index *idx);
void avt_file_index_free(avt_file_index *idx);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12); H. Hinnant's
 * days_from_civil. Used for UTC dates in NMEA sentences and KITTI timestamps. */
int64_t avt_days_from_civil(int64_t y, int64_t month, int64_t day);

/* Current wall-clock time as int64 nanoseconds since the epoch (UTC). */
int64_t avt_now_ns(void);
/* Seconds on the monotonic clock (for durations: unaffected by clock changes). */
double avt_monotonic_s(void);
/* Formats t_ns as "2026-11-28T01:23:45.123456789Z" into out (n >= 32). */
void avt_format_utc(int64_t t_ns, char *out, size_t n);

#endif
