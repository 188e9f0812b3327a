/* avtruth export: HDF5 helpers (error capture, attributes, staged extendible columns).
 * Follows the HDF5 1.10 C API reference (H5E, H5A, H5D, H5P, H5S, H5T). */
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "export_private.h"

/* ---- error handling --------------------------------------------------------------------- */

typedef struct h5x_walk {
    char text[AVT_ERROR_MAX / 2];
    size_t len;
    unsigned count;
    int innermost; /* keep the last entry only */
} h5x_walk;

static herr_t h5x_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    h5x_walk *wk = data;
    const char *desc = (e && e->desc) ? e->desc : "";
    const char *func = (e && e->func_name) ? e->func_name : "?";
    if (wk->innermost) wk->len = 0;
    if (wk->len + 1 >= sizeof wk->text) return 0;
    int k = snprintf(wk->text + wk->len, sizeof wk->text - wk->len, "%s%s: %s",
                     n && !wk->innermost ? " <- " : "", func, desc);
    if (k > 0) wk->len += (size_t)k < sizeof wk->text - wk->len ? (size_t)k
                                                                 : sizeof wk->text - wk->len - 1;
    wk->count++;
    return 0;
}

/* The current HDF5 error stack on one line in wk: downward, the API call first and the
 * innermost cause (often "errno = 28, error message = 'No space left on device'") last, or
 * that cause alone. */
static void h5x_walk_stack(h5x_walk *wk, int innermost)
{
    memset(wk, 0, sizeof *wk);
    wk->innermost = innermost;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5x_walk_cb, wk);
    if (!wk->count) snprintf(wk->text, sizeof wk->text, "no HDF5 error detail");
    for (char *c = wk->text; *c; c++) /* ctime() in HDF5's I/O messages ends in a newline */
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
}

int h5x_fail(avt_error *err, const char *file, const char *obj, const char *call)
{
    const int saved_errno = errno; /* the failed write's, when HDF5 leaves no detail (H5Fclose) */
    h5x_walk wk;
    h5x_walk_stack(&wk, 0);
    /* out of space (a full disk, a quota, a file-size limit): said first, in plain words */
    const char *en = strstr(wk.text, "errno = ");
    const long no = en ? strtol(en + 8, NULL, 10) : wk.count ? 0 : saved_errno;
    if (no == ENOSPC || no == EFBIG || no == EDQUOT)
        return avt_err(err, AVT_IO, "%s: cannot write %s: %s (the disk, a quota or the file-size "
                       "limit is full); nothing is kept. HDF5: %s failed: %s",
                       file, obj ? obj : "the file", strerror((int)no), call, wk.text);
    if (obj)
        return avt_err(err, AVT_HDF5, "%s: %s: %s failed: %s", file, obj, call, wk.text);
    return avt_err(err, AVT_HDF5, "%s: %s failed: %s", file, call, wk.text);
}

const char *h5x_cause(char *out, size_t n)
{
    h5x_walk wk;
    h5x_walk_stack(&wk, 1);
    snprintf(out, n, "%s", wk.text);
    return out;
}

/* ---- types ------------------------------------------------------------------------------ */

hid_t h5x_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

hid_t h5x_file_type(int kind)
{
    switch (kind) {
    case K_U8: return H5T_STD_U8LE;
    case K_U16: return H5T_STD_U16LE;
    case K_U32: return H5T_STD_U32LE;
    case K_U64: return H5T_STD_U64LE;
    case K_I32: return H5T_STD_I32LE;
    case K_I64: return H5T_STD_I64LE;
    case K_F32: return H5T_IEEE_F32LE;
    case K_F64: return H5T_IEEE_F64LE;
    default: return h5x_str_type();
    }
}

hid_t h5x_mem_type(int kind)
{
    switch (kind) {
    case K_U8: return H5T_NATIVE_UINT8;
    case K_U16: return H5T_NATIVE_UINT16;
    case K_U32: return H5T_NATIVE_UINT32;
    case K_U64: return H5T_NATIVE_UINT64;
    case K_I32: return H5T_NATIVE_INT32;
    case K_I64: return H5T_NATIVE_INT64;
    case K_F32: return H5T_NATIVE_FLOAT;
    case K_F64: return H5T_NATIVE_DOUBLE;
    default: return h5x_str_type();
    }
}

void h5x_type_close(int kind, hid_t t)
{
    if (kind == K_STR && t >= 0) H5Tclose(t);
}

size_t h5x_kind_size(int kind)
{
    static const size_t sizes[] = {1, 2, 4, 8, 4, 8, 4, 8, sizeof(char *)};
    return (kind >= 0 && kind <= K_STR) ? sizes[kind] : 0;
}

/* ---- small objects ---------------------------------------------------------------------- */

static int h5x_attr_write(hid_t loc, const char *name, int kind, const void *value,
                          const char *file, avt_error *err)
{
    int rc = AVT_OK;
    hid_t ftype = h5x_file_type(kind), mtype = h5x_mem_type(kind), space = -1, attr = -1;
    if (ftype < 0 || mtype < 0) {
        rc = h5x_fail(err, file, name, "H5Tcopy");
        goto out;
    }
    space = H5Screate(H5S_SCALAR);
    if (space < 0) {
        rc = h5x_fail(err, file, name, "H5Screate");
        goto out;
    }
    /* Rewriting an attribute (num_frames at finish) replaces it. */
    htri_t exists = H5Aexists(loc, name);
    if (exists > 0 && H5Adelete(loc, name) < 0) {
        rc = h5x_fail(err, file, name, "H5Adelete");
        goto out;
    }
    attr = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
        rc = h5x_fail(err, file, name, "H5Acreate2");
        goto out;
    }
    if (H5Awrite(attr, mtype, value) < 0) {
        rc = h5x_fail(err, file, name, "H5Awrite");
        goto out;
    }
out:
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    h5x_type_close(kind, mtype);
    h5x_type_close(kind, ftype);
    return rc;
}

int h5x_attr_str(hid_t loc, const char *name, const char *value, const char *file,
                 avt_error *err)
{
    const char *v = value ? value : "";
    return h5x_attr_write(loc, name, K_STR, &v, file, err);
}

int h5x_attr_num(hid_t loc, const char *name, int kind, const void *value, const char *file,
                 avt_error *err)
{
    if (kind == K_STR) return avt_err(err, AVT_INVAL, "%s: %s: not a number kind", file, name);
    return h5x_attr_write(loc, name, kind, value, file, err);
}

/* H5Dwrite of n elements of kind from buf, with a type conversion buffer of their size (in
 * the larger of the memory and file types: a string is a pointer in memory, an hvl_t while
 * converted): HDF5's default, 1 MiB with a background buffer of the same size, both zeroed on
 * every write that converts (the strings), was most of the time of the small datasets written
 * at the end (docs/benchmarks.md). A failed write's error stack is kept for h5x_fail. */
static herr_t h5x_write(hid_t dset, int kind, hid_t mtype, hid_t mspace, hid_t fspace, size_t n, const void *buf)
{
    size_t bytes = n * (kind == K_STR ? sizeof(hvl_t) : h5x_kind_size(kind));
    bytes = bytes < 4096 ? 4096 : bytes > ((size_t)1 << 20) ? (size_t)1 << 20 : bytes;
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (dxpl < 0) return -1;
    herr_t r = H5Pset_buffer(dxpl, bytes, NULL, NULL);
    if (r >= 0) r = H5Dwrite(dset, mtype, mspace, fspace, dxpl, buf);
    const hid_t es = r < 0 ? H5Eget_current_stack() : -1; /* H5Pclose would clear it */
    H5Pclose(dxpl);
    if (es >= 0) H5Eset_current_stack(es);
    return r;
}

int h5x_dset_write(hid_t loc, const char *path, int kind, int rank, const hsize_t *dims,
                   const void *data, const char *file, avt_error *err)
{
    int rc = AVT_OK;
    hid_t ftype = h5x_file_type(kind), mtype = h5x_mem_type(kind);
    hid_t space = -1, lcpl = -1, dset = -1;
    const char **strs = NULL;
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (ftype < 0 || mtype < 0) {
        rc = h5x_fail(err, file, path, "H5Tcopy");
        goto out;
    }
    space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (space < 0 || lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        rc = h5x_fail(err, file, path, "H5Screate/H5Pcreate");
        goto out;
    }
    dset = H5Dcreate2(loc, path, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
        rc = h5x_fail(err, file, path, "H5Dcreate2");
        goto out;
    }
    if (n == 0) goto out;
    const void *buf = data;
    if (kind == K_STR) {
        /* NULL entries become "" so that h5py never sees a NULL string. */
        strs = calloc((size_t)n, sizeof *strs);
        if (!strs) {
            rc = avt_err(err, AVT_NOMEM, "%s: %s: out of memory", file, path);
            goto out;
        }
        const char *const *in = data;
        for (hsize_t i = 0; i < n; i++) strs[i] = in[i] ? in[i] : "";
        buf = strs;
    }
    if (h5x_write(dset, kind, mtype, H5S_ALL, H5S_ALL, (size_t)n, buf) < 0) {
        rc = h5x_fail(err, file, path, "H5Dwrite");
        goto out;
    }
out:
    free(strs);
    if (dset >= 0) H5Dclose(dset);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (space >= 0) H5Sclose(space);
    h5x_type_close(kind, mtype);
    h5x_type_close(kind, ftype);
    return rc;
}

/* ---- filters ---------------------------------------------------------------------------- */

int h5x_filter_parse(const char *spec, int hdf5_path, int *filter, int *level, avt_error *err)
{
    const char *s = spec ? spec : "gzip";
    *level = 0;
    if (strcmp(s, "none") == 0) {
        *filter = H5X_NONE;
    } else if (strcmp(s, "gzip") == 0 || strncmp(s, "gzip=", 5) == 0) {
        *filter = hdf5_path ? H5X_DEFLATE_HDF5 : H5X_DEFLATE;
        *level = 1;
        if (s[4] == '=') {
            if (!(s[5] >= '1' && s[5] <= '9') || s[6] != '\0')
                return avt_err(err, AVT_INVAL, "compression \"%s\": gzip level must be 1..9", s);
            *level = s[5] - '0';
        }
    } else if (strcmp(s, "blosc-zstd") == 0) {
        *filter = H5X_BLOSC_ZSTD;
        *level = 5;
        /* H5Zfilter_avail loads a plugin from HDF5_PLUGIN_PATH or the packaged plugin
         * directory on first use. */
        h5x_quiet q;
        h5x_quiet_begin(&q);
        htri_t avail = H5Zfilter_avail(H5X_FILTER_BLOSC);
        h5x_quiet_end(&q);
        if (avail <= 0)
            return avt_err(err, AVT_UNSUPPORTED,
                           "compression \"blosc-zstd\" needs the HDF5 Blosc filter plugin "
                           "(filter 32001), which is not installed: apt-get install "
                           "hdf5-filter-plugin-blosc-serial");
    } else {
        /* no lzf: Debian's only C LZF plugin (hdf5-plugin-lzf 3.7.0-8) cannot be loaded, its
         * liblzf_filter.so calls lzf_compress without depending on liblzf (docs/format-notes.md) */
        return avt_err(err, AVT_UNSUPPORTED,
                       "compression \"%s\" (supported: none, gzip, gzip=1..9, blosc-zstd)", s);
    }
    return AVT_OK;
}

/* Grows the shuffle and output buffers for chunks of chunk_bytes (single-threaded). */
static int h5x_zctx_reserve(h5x_zctx *z, size_t chunk_bytes)
{
    if (chunk_bytes <= z->cap) return AVT_OK;
    /* Room for a deflate stream plus stored blocks (5 header bytes per 65,535) and the zlib
     * header and trailer: see h5x_chunk_deflate. */
    size_t out_cap = libdeflate_zlib_compress_bound(z->coder[0].ld, chunk_bytes) + chunk_bytes +
                     5 * (chunk_bytes / 65535 + 2) + 16;
    for (int t = 0; t < z->nthreads; t++) {
        unsigned char *p = realloc(z->shuf[t], chunk_bytes);
        if (!p) return AVT_NOMEM;
        z->shuf[t] = p;
    }
    for (size_t i = 0; i < H5X_SLOTS(z); i++) {
        unsigned char *p = realloc(z->out[i], out_cap);
        if (!p) return AVT_NOMEM;
        z->out[i] = p;
    }
    z->cap = chunk_bytes;
    z->out_cap = out_cap;
    return AVT_OK;
}

/* HDF5's shuffle filter (H5Zshuffle.c): byte j of element i goes to j * n + i, for n whole
 * elements; trailing bytes (never here: chunks hold whole elements) would be copied. */
void h5x_shuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t esize)
{
    /* One sequential pass over src for the common sizes (the strided loop below reads src
     * esize times and was 15 % of an export's time). */
    if (esize == 2 || esize == 4 || esize == 8) {
        unsigned char *d[8];
        for (size_t j = 0; j < esize; j++) d[j] = dst + j * n;
        if (esize == 2) {
            for (size_t i = 0; i < n; i++) d[0][i] = src[2 * i], d[1][i] = src[2 * i + 1];
        } else if (esize == 4) {
            for (size_t i = 0; i < n; i++) {
                const unsigned char *s = src + 4 * i;
                d[0][i] = s[0], d[1][i] = s[1], d[2][i] = s[2], d[3][i] = s[3];
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                const unsigned char *s = src + 8 * i;
                for (int j = 0; j < 8; j++) d[j][i] = s[j];
            }
        }
        return;
    }
    for (size_t j = 0; j < esize; j++) {
        unsigned char *d = dst + j * n;
        const unsigned char *s = src + j;
        for (size_t i = 0; i < n; i++) d[i] = s[i * esize];
    }
}

/* Shannon entropy in bits per byte of every 4th byte of p: the low mantissa bytes of
 * measured floats are close to 8 and deflate cannot shrink them. */
static double h5x_entropy(const unsigned char *p, size_t n)
{
    uint32_t hist[256] = {0};
    size_t m = 0;
    for (size_t i = 0; i < n; i += 4, m++) hist[p[i]]++;
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (hist[i]) {
            double q = (double)hist[i] / (double)m;
            h -= q * log2(q);
        }
    return h;
}

/* p[0..n) as raw deflate (RFC 1951) by ISA-L's igzip level 1 into out[0..cap): final, or
 * else ending byte-aligned on a full flush so that more blocks can follow. Returns the
 * length, 0 if cap is too small. */
static size_t h5x_igzip(h5x_coder *cod, const unsigned char *p, size_t n, unsigned char *out,
                        size_t cap, int final)
{
    struct isal_zstream *z = cod->igzip;
    if (n > UINT32_MAX) return 0; /* igzip counts in 32 bits (HDF5 chunks are under 4 GiB) */
    isal_deflate_stateless_init(z);
    /* stateless_init leaves the window size alone (ISA-L 2.30): 0 is the full 32 KiB; a
     * value of 1..15 left in the memory shortens it (valgrind found this one read, and builds
     * of the same log whose chunks differed by a byte or two) */
    z->hist_bits = 0;
    z->level = 1;
    z->level_buf = cod->igzip_buf;
    z->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    z->next_in = (uint8_t *)p;
    z->avail_in = (uint32_t)n;
    z->next_out = out;
    z->avail_out = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    z->end_of_stream = final;
    z->flush = final ? NO_FLUSH : FULL_FLUSH;
    return isal_deflate_stateless(z) == COMP_OK ? z->total_out : 0;
}

/* Which coder a plane p[0..n) gets, measured on a 16 KiB slice from its middle:
 * - stored, if its sampled bytes look random (above 7 bits a byte) and libdeflate (level 1
 *   unless gzip=N asks for another) shrinks the slice by less than a seventh. Such a plane is
 *   nearly all literals, which inflate a byte at a time (about 4 ns a byte here, against a
 *   copy). Byte entropy alone is not enough: the second byte of image coordinates sorted along
 *   the scan looks random byte by byte (7.95 bits) and deflates to a quarter through repeats
 *   kilobytes apart (a 4 KiB slice misses them, 32 KiB decides the same at twice the cost);
 *   the low mantissa bytes of LiDAR coordinates (7.3-7.7 bits) deflate by only 3-7 %.
 * - ISA-L's igzip level 1 (only at the default level 1), if it leaves the slice at most
 *   1/32 of its length longer than libdeflate does: it encodes 2.5-4 times faster (2.6 against
 *   6.9 ns a byte on the third byte of coordinates, which both shrink to 0.85) but its small
 *   hash table misses the repeats kilobytes apart (0.98 against 0.66 on image coordinates).
 *   1/32 rather than 1/64 also gives igzip the point times and intensities (0.21 against 0.19,
 *   0.16 against 0.14), and the planes after them: builds 5 % faster for files 0.6 % larger.
 * - libdeflate otherwise.
 * The verdict is the column's, not the chunk's (what makes a plane's bytes random, repeating
 * or skewed is what the column holds), and the slices are costly (a 16 KiB slice of a 16-48
 * KiB plane, by both coders): *known >= 0 is a verdict taken on an earlier chunk of the column
 * (the first chunk of every H5X_VERDICT_BATCHES-th batch) and is used instead, but a plane of
 * at most 7 bits a byte is never stored; otherwise the slices are compressed and the verdict
 * written to *found (if not NULL). docs/format-notes.md, "Compression". */
static int h5x_plane_verdict(h5x_coder *cod, const unsigned char *p, size_t n,
                             const signed char *known, signed char *found)
{
    enum { SLICE = 16384 };
    unsigned char tmp[SLICE + 1024];
    /* the entropy only where it decides (its histogram was 2 % of a build's time) */
    if (known && *known >= 0)
        return (*known == H5X_STORED && h5x_entropy(p, n) <= 7.0) || (*known == H5X_IGZIP && !cod->igzip)
                   ? H5X_LIBDEFLATE
                   : *known;
    const int random = h5x_entropy(p, n) > 7.0;
    size_t m = n < SLICE ? n : SLICE;
    const unsigned char *s = p + (n - m) / 2;
    size_t ld = libdeflate_deflate_compress(cod->ld, s, m, tmp, m - m / 7);
    int v = H5X_LIBDEFLATE;
    if (random && ld == 0) {
        v = H5X_STORED;
    } else if (cod->igzip) {
        size_t ig = h5x_igzip(cod, s, m, tmp, sizeof tmp, 1);
        /* libdeflate's size, or the bound it did not get under */
        if (ig && ig <= (ld ? ld : m - m / 7) + m / 32) v = H5X_IGZIP;
    }
    if (found) *found = (signed char)v;
    return v;
}

/* A deflate bit stream (RFC 1951 3.1.1): bits fill bytes from the least significant end;
 * Huffman codes are sent most significant bit first. pos runs past cap on overflow. */
typedef struct h5x_bits {
    unsigned char *p;
    size_t pos, cap;
    uint64_t acc;
    int n;
} h5x_bits;

static void h5x_bits_put(h5x_bits *b, uint32_t v, int n)
{
    b->acc |= (uint64_t)v << b->n;
    for (b->n += n; b->n >= 8; b->n -= 8, b->acc >>= 8, b->pos++)
        if (b->pos < b->cap) b->p[b->pos] = (unsigned char)b->acc;
}

static void h5x_bits_code(h5x_bits *b, uint32_t code, int n)
{
    uint32_t r = 0;
    for (int i = 0; i < n; i++) r |= ((code >> i) & 1u) << (n - 1 - i);
    h5x_bits_put(b, r, n);
}

/* Literal/length symbol v (0..287) in the fixed Huffman code (RFC 1951 3.2.6). */
static void h5x_bits_fixed(h5x_bits *b, unsigned v)
{
    if (v < 144) h5x_bits_code(b, 0x30 + v, 8);
    else if (v < 256) h5x_bits_code(b, 0x190 + v - 144, 9);
    else if (v < 280) h5x_bits_code(b, v - 256, 7);
    else h5x_bits_code(b, 0xc0 + v - 280, 8);
}

/* The number of runs of equal bytes in p[0..n), n >= 1, counted up to just past most (then
 * most + 1 is returned): a scan that stops early on planes that are not runs. */
static size_t h5x_runs(const unsigned char *p, size_t n, size_t most)
{
    size_t runs = 1;
    for (size_t i = 1; i < n && runs <= most;) {
        size_t end = n - i < 4096 ? n : i + 4096, t = 0;
        for (; i < end; i++) t += p[i] != p[i - 1]; /* vectorizes */
        runs += t;
    }
    return runs <= most ? runs : most + 1;
}

/* The length of the run of p[0] starting p[0..n), 8 bytes at a time. */
static size_t h5x_run_length(const unsigned char *p, size_t n)
{
    const uint64_t c = 0x0101010101010101ull * p[0];
    size_t i = 0;
    for (uint64_t w; n - i >= 8; i += 8) {
        memcpy(&w, p + i, 8);
        if (w != c) break;
    }
    while (i < n && p[i] == p[0]) i++;
    return i;
}

/* p[0..n) as one fixed-Huffman block of runs: each run of a byte c is the literal c, then
 * matches at distance 1 (length symbols and extra bits of RFC 1951 3.2.5) for the rest, then
 * end of block. libdeflate's fastest level walks a run byte by byte (about 3 ns a byte here);
 * this writes 13 bits per 258 bytes. A block that is not final is followed by an empty
 * stored block, so that the stream is byte-aligned again (what zlib's Z_SYNC_FLUSH emits). */
static void h5x_runs_block(h5x_bits *b, const unsigned char *p, size_t n, int final)
{
    static const uint16_t base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    h5x_bits_put(b, final ? 1 : 0, 1);
    h5x_bits_put(b, 1, 2); /* BTYPE 01: fixed Huffman codes */
    for (size_t i = 0; i < n;) {
        const unsigned char c = p[i];
        const size_t run = h5x_run_length(p + i, n - i);
        h5x_bits_fixed(b, c);
        for (size_t left = run - 1; left > 0;) {
            if (left < 3) {
                h5x_bits_fixed(b, c);
                left--;
                continue;
            }
            unsigned len = left < 258 ? (unsigned)left : 258, s = 28;
            while (base[s] > len) s--;
            int extra = s < 8 || s == 28 ? 0 : (int)(s - 4) / 4;
            h5x_bits_fixed(b, 257 + s);
            h5x_bits_put(b, len - base[s], extra);
            h5x_bits_code(b, 0, 5); /* distance code 0: distance 1 */
            left -= len;
        }
        i += run;
    }
    h5x_bits_fixed(b, 256);
    if (!final) h5x_bits_put(b, 0, 3); /* BFINAL 0, BTYPE 00 ... */
    if (b->n) h5x_bits_put(b, 0, 8 - b->n);
    if (!final) h5x_bits_put(b, 0xffff0000u, 32); /* ... LEN 0, NLEN 0xffff */
}

/* Stored blocks (RFC 1951 3.2.4) of p[0..n), the last one final if final is set. */
static void h5x_stored_blocks(h5x_bits *b, const unsigned char *p, size_t n, int final)
{
    for (size_t off = 0; off < n;) {
        size_t len = n - off < 65535 ? n - off : 65535;
        h5x_bits_put(b, final && off + len == n ? 1 : 0, 8); /* BFINAL, BTYPE 00, padding */
        h5x_bits_put(b, (uint32_t)len | (uint32_t)(~len & 0xffff) << 16, 32);
        if (b->pos + len <= b->cap) memcpy(b->p + b->pos, p + off, len);
        b->pos += len;
        off += len;
    }
}

/* p[0..n) as raw deflate by igzip level 1, byte-aligned and not final (a full flush) unless
 * final is set. The stream is byte-aligned here (after the header, run blocks or stored
 * blocks). */
static void h5x_igzip_blocks(h5x_bits *b, h5x_coder *cod, const unsigned char *p, size_t n,
                             int final)
{
    size_t k = b->pos < b->cap ? h5x_igzip(cod, p, n, b->p + b->pos, b->cap - b->pos, final) : 0;
    b->pos = k ? b->pos + k : b->cap + 1; /* too small: the caller returns 0 */
}

/* A zlib stream (RFC 1950) of the shuffled chunk in[0..nbytes), byte planes of n = nbytes /
 * esize bytes, plane by plane: planes made of long runs of one byte (at most one run per 64
 * bytes on average: labels, instance ids, the high bytes of small integers) as run blocks,
 * the others as h5x_plane_verdict says (known and found: per-plane verdicts of the column,
 * esize entries each or NULL): stored blocks, igzip blocks, or, from the first plane for
 * libdeflate on, the rest as one libdeflate raw deflate stream (it always ends the stream);
 * then the Adler-32 of everything: the same bytes decode with any inflate (HDF5's deflate
 * filter), and no time goes on incompressible bytes or on runs. Returns the length, 0 if
 * out_cap is too small. */
size_t h5x_chunk_deflate(h5x_coder *cod, const unsigned char *in, size_t nbytes, size_t esize,
                         const signed char *known, signed char *found, unsigned char *out,
                         size_t out_cap)
{
    size_t n = nbytes / esize, done = 0;
    h5x_bits b = {out, 0, out_cap, 0, 0};
    h5x_bits_put(&b, 0x0178, 16); /* CM 8 (deflate), 32 KiB window, FLEVEL 0, FCHECK */
    for (size_t j = 0; j < esize && n >= 4096; j++, done += n) {
        const unsigned char *p = in + j * n;
        int final = j + 1 == esize, v;
        if (h5x_runs(p, n, n / 64) <= n / 64) {
            h5x_runs_block(&b, p, n, final);
            continue;
        }
        v = h5x_plane_verdict(cod, p, n, known ? known + j : NULL, found ? found + j : NULL);
        if (v == H5X_STORED) h5x_stored_blocks(&b, p, n, final);
        else if (v == H5X_IGZIP) h5x_igzip_blocks(&b, cod, p, n, final);
        else break;
    }
    if (done == 0) return libdeflate_zlib_compress(cod->ld, in, nbytes, out, out_cap);
    if (done < nbytes) {
        if (b.pos + 4 >= out_cap) return 0;
        size_t k = libdeflate_deflate_compress(cod->ld, in + done, nbytes - done, out + b.pos,
                                               out_cap - b.pos - 4);
        if (!k) return 0;
        b.pos += k;
    }
    uint32_t a = libdeflate_adler32(1, in, nbytes);
    h5x_bits_put(&b, (a >> 24) | (a >> 8 & 0xff00) | (a << 8 & 0xff0000) | a << 24, 32);
    return b.pos <= out_cap ? b.pos : 0;
}

int h5x_coder_init(h5x_coder *cod, int level)
{
    memset(cod, 0, sizeof *cod);
    cod->ld = libdeflate_alloc_compressor(level);
    if (level == 1) {
        cod->igzip = calloc(1, sizeof *cod->igzip);
        cod->igzip_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    }
    return cod->ld && (level != 1 || (cod->igzip && cod->igzip_buf)) ? AVT_OK : AVT_NOMEM;
}

void h5x_coder_free(h5x_coder *cod)
{
    if (cod->ld) libdeflate_free_compressor(cod->ld);
    free(cod->igzip);
    free(cod->igzip_buf);
    memset(cod, 0, sizeof *cod);
}

/* ---- the compression pool ---------------------------------------------------------------- */

/* The pool is a ring of H5X_SLOTS(z) chunk slots, filled in order by the writer's thread
 * (head), compressed by whichever thread takes the next one (take), stored in order by the
 * writer's thread once compressed (store): head - store slots are in use. Counters only
 * grow; a chunk's slot is its sequence number modulo the ring's size. */

/* Shuffles and deflates the chunk of sequence number seq with thread t's buffers. 0 on
 * failure. */
static int h5x_slot_compress(h5x_zctx *z, size_t seq, int t)
{
    const size_t slot = seq % H5X_SLOTS(z);
    const h5x_item *it = &z->items[slot];
    h5x_col *c = it->c;
    const size_t chunk_bytes = c->chunk_rows * c->row_bytes, esize = h5x_kind_size(c->kind), have = it->have;
    const unsigned char *src = it->src;
    unsigned char *shuf = z->shuf[t];
    unsigned char *dst = z->out[slot];
    /* The shuffle reads a full chunk: the tail of a partial one is zero. */
    if (have < chunk_bytes) {
        memcpy(dst, src, have);
        memset(dst + have, 0, chunk_bytes - have);
        src = dst;
    }
    if (esize > 1) {
        h5x_shuffle(shuf, src, chunk_bytes / esize, esize);
    } else {
        memcpy(shuf, src, chunk_bytes);
    }
    /* A testing batch's first chunk takes its planes' verdicts for the next batches; the
     * others, and every chunk of the batches between, use the column's verdicts. */
    const signed char *known = esize <= sizeof c->verdict ? c->verdict : NULL;
    size_t len = h5x_chunk_deflate(&z->coder[t], shuf, chunk_bytes, esize, it->tests ? NULL : known,
                                   it->tests ? c->verdict_found : NULL, dst, z->out_cap);
    z->out_len[slot] = len;
    return len != 0;
}

/* Takes the next chunk not taken yet, if any, and compresses it on thread t; 1 if one was
 * taken. Called with mu locked; returns with it locked. */
static int h5x_take_one(h5x_zctx *z, int t)
{
    if (z->take == z->head) return 0;
    const size_t seq = z->take++;
    z->busy++;
    pthread_mutex_unlock(&z->mu);
    const int ok = h5x_slot_compress(z, seq, t);
    pthread_mutex_lock(&z->mu);
    z->busy--;
    if (!ok && !z->failed) z->failed = seq + 1;
    z->done[seq % H5X_SLOTS(z)] = 1;
    pthread_cond_broadcast(&z->cv_done);
    return 1;
}

typedef struct h5x_worker_arg {
    h5x_zctx *z;
    int t;
} h5x_worker_arg;

static void *h5x_worker(void *arg)
{
    h5x_zctx *z = ((h5x_worker_arg *)arg)->z;
    int t = ((h5x_worker_arg *)arg)->t;
    free(arg);
    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (!z->stop && z->take == z->head && !z->side_fn) pthread_cond_wait(&z->cv_work, &z->mu);
        if (z->stop) break;
        if (z->side_fn) { /* then the chunks queued meanwhile, if any is left */
            void (*fn)(void *) = z->side_fn;
            void *side_arg = z->side_arg;
            z->side_fn = NULL;
            z->side_running = 1;
            pthread_mutex_unlock(&z->mu);
            fn(side_arg);
            pthread_mutex_lock(&z->mu);
            z->side_running = 0;
            pthread_cond_broadcast(&z->cv_done);
            continue;
        }
        h5x_take_one(z, t);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

int h5x_zctx_beside(h5x_zctx *z, void (*fn)(void *), void *arg)
{
    if (!z->pool_up || z->n_workers == 0) return 0;
    pthread_mutex_lock(&z->mu);
    const int taken = z->side_fn || z->side_running;
    if (!taken) {
        z->side_fn = fn;
        z->side_arg = arg;
        pthread_cond_broadcast(&z->cv_work);
    }
    pthread_mutex_unlock(&z->mu);
    return !taken;
}

void h5x_zctx_beside_wait(h5x_zctx *z)
{
    if (!z->pool_up) return;
    pthread_mutex_lock(&z->mu);
    while (z->side_fn || z->side_running) pthread_cond_wait(&z->cv_done, &z->mu);
    pthread_mutex_unlock(&z->mu);
}

/* Stores chunks in order until the store counter reaches upto (at most head): each once it
 * is compressed, the writer's thread compressing the chunks not taken yet meanwhile (HDF5
 * calls stay on this thread). A chunk that could not be compressed fails the store. */
static int h5x_store_until(h5x_zctx *z, size_t upto, avt_error *err)
{
    while (z->store < upto) {
        const size_t slot = z->store % H5X_SLOTS(z);
        pthread_mutex_lock(&z->mu);
        while (!z->done[slot])
            if (!h5x_take_one(z, 0)) pthread_cond_wait(&z->cv_done, &z->mu);
        const size_t failed = z->failed;
        pthread_mutex_unlock(&z->mu);
        const h5x_item *it = &z->items[slot];
        if (failed)
            return avt_err(err, AVT_HDF5,
                           "%s: %s: a chunk could not be compressed (libdeflate or igzip: output "
                           "buffer too small)",
                           z->items[(failed - 1) % H5X_SLOTS(z)].c->file,
                           z->items[(failed - 1) % H5X_SLOTS(z)].c->path);
        hsize_t off[3] = {it->start, 0, 0};
        if (H5Dwrite_chunk(it->c->dset, H5P_DEFAULT, 0, off, z->out_len[slot], z->out[slot]) < 0)
            return h5x_fail(err, it->c->file, it->c->path, "H5Dwrite_chunk");
        z->store++;
    }
    return AVT_OK;
}

/* Stores every queued chunk. */
static int h5x_zctx_drain(h5x_zctx *z, avt_error *err)
{
    return z ? h5x_store_until(z, z->head, err) : AVT_OK;
}

/* Drops the queued chunks (an abort), once none is being compressed. */
static void h5x_zctx_quiesce(h5x_zctx *z)
{
    if (!z->pool_up) return;
    pthread_mutex_lock(&z->mu);
    z->take = z->head;
    while (z->busy) pthread_cond_wait(&z->cv_done, &z->mu);
    pthread_mutex_unlock(&z->mu);
    z->store = z->head;
}

/* Queues a chunk (a slot is freed first by storing the oldest) and wakes the pool. */
static int h5x_enqueue(h5x_zctx *z, h5x_item item, avt_error *err)
{
    int rc = z->head - z->store == H5X_SLOTS(z) ? h5x_store_until(z, z->store + 1, err) : AVT_OK;
    if (rc) return rc;
    const size_t slot = z->head % H5X_SLOTS(z);
    z->items[slot] = item;
    pthread_mutex_lock(&z->mu);
    z->done[slot] = 0;
    z->head++;
    if (z->n_workers > 0) pthread_cond_signal(&z->cv_work);
    pthread_mutex_unlock(&z->mu);
    return AVT_OK;
}

void h5x_zctx_help(h5x_zctx *z)
{
    if (!z->pool_up) return;
    pthread_mutex_lock(&z->mu);
    while (h5x_take_one(z, 0)) {
    }
    pthread_mutex_unlock(&z->mu);
}

/* Before column c's next batch: its previous batch stored (its chunks read c's other stage and
 * its verdicts), then the verdicts that batch's first chunk found taken. */
static int h5x_col_settle(h5x_col *c, avt_error *err)
{
    int rc = h5x_store_until(c->z, c->queued_upto, err);
    if (rc) return rc;
    for (size_t j = 0; c->verdict_taking && j < sizeof c->verdict; j++)
        if (c->verdict_found[j] >= 0) c->verdict[j] = c->verdict_found[j];
    c->verdict_taking = 0;
    return AVT_OK;
}

/* A column's next batch: its verdicts are taken afresh every H5X_VERDICT_BATCHES-th
 * (planes of up to 8-byte elements), by the batch's first chunk. */
static int h5x_col_batch_tests(h5x_col *c)
{
    const int test = c->batches++ % H5X_VERDICT_BATCHES == 0 && h5x_kind_size(c->kind) <= sizeof c->verdict;
    if (test) memset(c->verdict_found, -1, sizeof c->verdict_found);
    c->verdict_taking = test;
    return test;
}

/* Queues the chunks of n rows of c at rows (row start there), one batch. */
static int h5x_col_enqueue(h5x_col *c, const unsigned char *rows, size_t n, uint64_t start, avt_error *err)
{
    int rc = h5x_col_settle(c, err);
    if (rc) return rc;
    const int tests = h5x_col_batch_tests(c);
    for (size_t k = 0; rc == AVT_OK && k * c->chunk_rows < n; k++) {
        const size_t left = n - k * c->chunk_rows;
        rc = h5x_enqueue(c->z,
                         (h5x_item){c, rows + k * c->chunk_rows * c->row_bytes,
                                    (left < c->chunk_rows ? left : c->chunk_rows) * c->row_bytes,
                                    start + k * c->chunk_rows, tests && k == 0},
                         err);
    }
    c->queued_upto = c->z->head;
    return rc;
}

int h5x_zctx_init(h5x_zctx *z, int filter, int level, int beside, avt_error *err)
{
    memset(z, 0, sizeof *z);
    z->filter = filter;
    z->level = level;
    z->nthreads = 1;
    z->batch_chunks = 1;
    const int deflate = filter == H5X_DEFLATE;
    if (!deflate && !beside) return AVT_OK;
    /* omp_get_max_threads honours OMP_NUM_THREADS (1 = no pool threads); without deflate the
     * pool is one thread, for the tasks run beside. */
    int nt = omp_get_max_threads();
    z->nthreads = nt < 1 ? 1 : nt > 64 ? 64 : !deflate && nt > 2 ? 2 : nt;
    z->workers = calloc((size_t)z->nthreads, sizeof *z->workers);
    if (!z->workers) goto nomem;
    if (deflate) {
        /* Two chunks per thread keep the threads busy; at most 8 bound the stage memory. */
        z->batch_chunks = (size_t)(2 * z->nthreads);
        if (z->batch_chunks > 8) z->batch_chunks = 8;
        z->coder = calloc((size_t)z->nthreads, sizeof *z->coder);
        z->shuf = calloc((size_t)z->nthreads, sizeof *z->shuf);
        z->out = calloc(H5X_SLOTS(z), sizeof *z->out);
        z->out_len = calloc(H5X_SLOTS(z), sizeof *z->out_len);
        z->items = calloc(H5X_SLOTS(z), sizeof *z->items);
        z->done = calloc(H5X_SLOTS(z), sizeof *z->done);
        if (!z->coder || !z->shuf || !z->out || !z->out_len || !z->items || !z->done) goto nomem;
        for (int t = 0; t < z->nthreads; t++)
            if (h5x_coder_init(&z->coder[t], level)) goto nomem;
    }
    /* the mutex and both condition variables even without pool threads (h5x_take_one takes
     * chunks under mu and signals cv_done) */
    if (pthread_mutex_init(&z->mu, NULL) != 0) goto nomem;
    if (pthread_cond_init(&z->cv_work, NULL) != 0) {
        pthread_mutex_destroy(&z->mu);
        goto nomem;
    }
    if (pthread_cond_init(&z->cv_done, NULL) != 0) {
        pthread_cond_destroy(&z->cv_work);
        pthread_mutex_destroy(&z->mu);
        goto nomem;
    }
    z->pool_up = 1;
    if (z->nthreads > 1) {
        /* A thread that cannot be started only costs parallelism. */
        for (int t = 1; t < z->nthreads; t++) {
            h5x_worker_arg *a = malloc(sizeof *a);
            if (!a) break;
            a->z = z;
            a->t = t;
            if (pthread_create(&z->workers[z->n_workers], NULL, h5x_worker, a) != 0) {
                free(a);
                break;
            }
            z->n_workers++;
        }
    }
    return AVT_OK;
nomem:;
    const int want = z->nthreads; /* zeroed by the free */
    h5x_zctx_free(z);
    return avt_err(err, AVT_NOMEM, "out of memory for %d compressors", want);
}

void h5x_zctx_free(h5x_zctx *z)
{
    if (z->pool_up) {
        h5x_zctx_quiesce(z);
        h5x_zctx_beside_wait(z); /* a task started beside runs to its end */
        pthread_mutex_lock(&z->mu);
        z->stop = 1;
        pthread_cond_broadcast(&z->cv_work);
        pthread_mutex_unlock(&z->mu);
        for (int i = 0; i < z->n_workers; i++) pthread_join(z->workers[i], NULL);
        pthread_cond_destroy(&z->cv_done);
        pthread_cond_destroy(&z->cv_work);
        pthread_mutex_destroy(&z->mu);
    }
    for (int t = 0; z->coder && t < z->nthreads; t++) h5x_coder_free(&z->coder[t]);
    h5x_zctx_release(z);
    free(z->workers);
    free(z->coder);
    free(z->shuf);
    free(z->out);
    free(z->out_len);
    free(z->items);
    free(z->done);
    memset(z, 0, sizeof *z);
}

/* ---- staged extendible columns ---------------------------------------------------------- */

int h5x_col_create(h5x_col *c, hid_t loc, const char *path, int kind, int rank, hsize_t d1,
                   hsize_t d2, size_t chunk_rows, h5x_zctx *z, const char *file, avt_error *err)
{
    int rc = AVT_OK;
    hid_t ftype = -1, space = -1, lcpl = -1, dcpl = -1, dapl = -1;
    int filter = z ? z->filter : H5X_NONE;
    memset(c, 0, sizeof *c);
    memset(c->verdict, -1, sizeof c->verdict);
    c->dset = -1;
    c->mtype = -1;
    c->kind = kind;
    c->rank = rank;
    c->file = file;
    c->z = z;
    c->chunk_rows = chunk_rows;
    /* Variable-length strings live in the global heap; their chunks (heap references) go
     * through HDF5's own deflate. */
    c->direct = (filter == H5X_DEFLATE || filter == H5X_NONE) && z && kind != K_STR;
    c->stage_rows = chunk_rows * (c->direct ? z->batch_chunks : 1);
    snprintf(c->path, sizeof c->path, "/%s", path);
    if (rank < 1 || rank > 3 || chunk_rows == 0) {
        rc = avt_err(err, AVT_INVAL, "%s: %s: bad column shape", file, c->path);
        goto out;
    }
    hsize_t dims[3] = {0, d1, d2}, maxdims[3] = {H5S_UNLIMITED, d1, d2};
    hsize_t chunk[3] = {chunk_rows, d1, d2};
    size_t per_row = 1;
    for (int i = 1; i < rank; i++) per_row *= (size_t)dims[i];
    c->row_bytes = per_row * h5x_kind_size(kind);
    c->stage = malloc(c->stage_rows * c->row_bytes);
    if (!c->stage) {
        rc = avt_err(err, AVT_NOMEM, "%s: %s: out of memory for a %zu-row stage", file,
                     c->path, c->stage_rows);
        goto out;
    }
    ftype = h5x_file_type(kind);
    c->mtype = h5x_mem_type(kind);
    if (ftype < 0 || c->mtype < 0) {
        rc = h5x_fail(err, file, c->path, "H5Tcopy");
        goto out;
    }
    space = H5Screate_simple(rank, dims, maxdims);
    lcpl = H5Pcreate(H5P_LINK_CREATE);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (space < 0 || lcpl < 0 || dcpl < 0 || dapl < 0) {
        rc = h5x_fail(err, file, c->path, "H5Screate_simple/H5Pcreate");
        goto out;
    }
    herr_t fr = 0;
    if (kind == K_STR && filter == H5X_BLOSC_ZSTD) {
        /* Variable-length strings are heap references: the Debian blosc plugin divides by
         * their type size and dies of SIGFPE. Plain deflate 1 needs no plugin anyway. */
        fr = H5Pset_deflate(dcpl, 1);
    } else if (filter == H5X_DEFLATE || filter == H5X_DEFLATE_HDF5) {
        fr = H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)z->level) < 0 ? -1 : 0;
    } else if (filter == H5X_BLOSC_ZSTD) {
        /* cd_values 0..3 are filled by the plugin; 4 level, 5 byte shuffle, 6 zstd (5). */
        const unsigned cd[7] = {0, 0, 0, 0, (unsigned)z->level, 1, 5};
        fr = H5Pset_filter(dcpl, H5X_FILTER_BLOSC, H5Z_FLAG_OPTIONAL, 7, cd);
    }
    if (H5Pset_create_intermediate_group(lcpl, 1) < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 ||
        fr < 0) {
        rc = h5x_fail(err, file, c->path, "H5Pset_chunk/H5Pset_filter");
        goto out;
    }
    /* Whole chunks are written once: no chunk cache, so memory stays at one stage per
     * column and nothing is read back. */
    if (H5Pset_chunk_cache(dapl, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        rc = h5x_fail(err, file, c->path, "H5Pset_chunk_cache");
        goto out;
    }
    c->dset = H5Dcreate2(loc, path, ftype, space, lcpl, dcpl, dapl);
    if (c->dset < 0) {
        rc = h5x_fail(err, file, c->path, "H5Dcreate2");
        goto out;
    }
out:
    if (dapl >= 0) H5Pclose(dapl);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (space >= 0) H5Sclose(space);
    h5x_type_close(kind, ftype);
    return rc;
}

static int h5x_col_extend(h5x_col *c, uint64_t rows, avt_error *err)
{
    hsize_t dims[3];
    hid_t fspace = H5Dget_space(c->dset);
    int rank = fspace >= 0 ? H5Sget_simple_extent_dims(fspace, dims, NULL) : -1;
    if (fspace >= 0) H5Sclose(fspace);
    if (rank < 1) return h5x_fail(err, c->file, c->path, "H5Dget_space");
    if (dims[0] >= rows) return AVT_OK;
    dims[0] = rows;
    if (H5Dset_extent(c->dset, dims) < 0) return h5x_fail(err, c->file, c->path, "H5Dset_extent");
    return AVT_OK;
}

/* The direct path: the staged rows (chunk-aligned at start) are cut into chunks, the last
 * one zero-padded, shuffled and deflated in parallel (no HDF5 call inside the parallel
 * loop: the Debian HDF5 build is not thread-safe) and stored in order with H5Dwrite_chunk,
 * filter mask 0 = every declared filter applied. */
/* Without a filter the staged chunks are stored as they are (a partial last one padded with
 * zeros): no type conversion or selection machinery between the stage and the file. */
static int h5x_col_write_raw(h5x_col *c, uint64_t start, size_t n, const unsigned char *rows,
                             avt_error *err)
{
    size_t chunk_bytes = c->chunk_rows * c->row_bytes;
    unsigned char *pad = NULL;
    int rc = h5x_col_extend(c, start + n, err);
    for (size_t k = 0; rc == AVT_OK && k * c->chunk_rows < n; k++) {
        size_t have = (n - k * c->chunk_rows < c->chunk_rows ? n - k * c->chunk_rows
                                                             : c->chunk_rows) * c->row_bytes;
        const unsigned char *src = rows + k * chunk_bytes;
        if (have < chunk_bytes) {
            if (!(pad = calloc(1, chunk_bytes))) {
                rc = avt_err(err, AVT_NOMEM, "%s: %s: out of memory", c->file, c->path);
                break;
            }
            memcpy(pad, src, have);
            src = pad;
        }
        hsize_t off[3] = {start + k * c->chunk_rows, 0, 0};
        if (H5Dwrite_chunk(c->dset, H5P_DEFAULT, 0, off, chunk_bytes, src) < 0)
            rc = h5x_fail(err, c->file, c->path, "H5Dwrite_chunk");
    }
    free(pad);
    return rc;
}

/* Room in c's compression buffers for its chunks; they move, so what they hold is stored
 * first. */
static int h5x_col_reserve(h5x_col *c, avt_error *err)
{
    h5x_zctx *z = c->z;
    const size_t chunk_bytes = c->chunk_rows * c->row_bytes;
    if (chunk_bytes <= z->cap) return AVT_OK;
    int rc = h5x_zctx_drain(z, err);
    if (rc) return rc;
    if (h5x_zctx_reserve(z, chunk_bytes))
        return avt_err(err, AVT_NOMEM, "%s: %s: out of memory for compression buffers", c->file, c->path);
    return AVT_OK;
}

/* async: the chunks may stay queued in z (compressed by the pool, stored in order) until the
 * next write or flush. */
static int h5x_col_write_direct(h5x_col *c, uint64_t start, size_t n, const unsigned char *rows,
                                int async, avt_error *err)
{
    h5x_zctx *z = c->z;
    if (z->filter == H5X_NONE) return h5x_col_write_raw(c, start, n, rows, err);
    int rc;
    if ((rc = h5x_col_reserve(c, err))) return rc;
    if ((rc = h5x_col_extend(c, start + n, err))) return rc;
    if ((rc = h5x_col_enqueue(c, rows, n, start, err))) return rc;
    return async ? AVT_OK : h5x_zctx_drain(z, err);
}

/* Writes n rows at start, extending the dataset first. The one place rows reach the file. */
static int h5x_col_write_block(h5x_col *c, uint64_t start, size_t n, const void *rows,
                               int async, avt_error *err)
{
    if (c->direct) return h5x_col_write_direct(c, start, n, rows, async, err);
    int rc = AVT_OK;
    hid_t fspace = -1, mspace = -1;
    hsize_t dims[3], off[3] = {start, 0, 0}, cnt[3];
    if ((rc = h5x_col_extend(c, start + n, err))) goto out;
    fspace = H5Dget_space(c->dset);
    if (fspace < 0 || H5Sget_simple_extent_dims(fspace, dims, NULL) < 1) {
        rc = h5x_fail(err, c->file, c->path, "H5Dget_space");
        goto out;
    }
    memcpy(cnt, dims, sizeof cnt);
    cnt[0] = n;
    mspace = H5Screate_simple(c->rank, cnt, NULL);
    if (mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0) {
        rc = h5x_fail(err, c->file, c->path, "H5Sselect_hyperslab");
        goto out;
    }
    if (h5x_write(c->dset, c->kind, c->mtype, mspace, fspace, n * c->row_bytes / h5x_kind_size(c->kind), rows) < 0) {
        rc = h5x_fail(err, c->file, c->path, "H5Dwrite");
        goto out;
    }
out:
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    return rc;
}

static void h5x_col_free_strings(h5x_col *c)
{
    if (c->kind != K_STR || !c->stage) return;
    char **s = (char **)c->stage;
    for (size_t i = 0; i < c->staged; i++) free(s[i]);
}

/* After the staged rows are written on the direct path: a partial last chunk stays staged
 * (rows appended later complete it and it is written again whole, so chunks stay aligned).
 * While queued chunks still read the stage, the rows go on in the column's other stage
 * (allocated at the first such flush; without memory, they are stored first). */
static int h5x_col_staged_written(h5x_col *c, avt_error *err)
{
    size_t full = c->staged / c->chunk_rows * c->chunk_rows, tail = c->staged - full;
    const int queued = c->queued_upto > c->z->store; /* its chunks still read the stage */
    if (queued && !c->stage_alt) c->stage_alt = malloc(c->stage_rows * c->row_bytes);
    if (queued && c->stage_alt) {
        unsigned char *to = c->stage_alt;
        c->stage_alt = c->stage;
        c->stage = to;
        if (tail) memcpy(to, c->stage_alt + full * c->row_bytes, tail * c->row_bytes);
    } else {
        int rc = queued ? h5x_store_until(c->z, c->queued_upto, err) : AVT_OK;
        if (rc) return rc;
        if (tail && full) memmove(c->stage, c->stage + full * c->row_bytes, tail * c->row_bytes);
    }
    c->rows_written += full;
    c->staged = tail;
    return AVT_OK;
}

/* async: called for a full stage while rows are appended (see h5x_col_write_direct). */
static int h5x_col_flush_rows(h5x_col *c, int async, avt_error *err)
{
    if (!c->staged) return AVT_OK;
    int rc = h5x_col_write_block(c, c->rows_written, c->staged, c->stage, async, err);
    if (rc == AVT_OK && c->direct) return h5x_col_staged_written(c, err);
    if (rc == AVT_OK) c->rows_written += c->staged;
    h5x_col_free_strings(c);
    c->staged = 0;
    return rc;
}

int h5x_col_flush(h5x_col *c, avt_error *err)
{
    int rc = (c->z && c->direct) ? h5x_zctx_drain(c->z, err) : AVT_OK;
    return rc ? rc : h5x_col_flush_rows(c, 0, err);
}

/* The staged chunks of the deflate columns are queued together (the pool compresses one
 * column's last chunk beside the next column's), then stored; the other columns are flushed
 * alone. */
int h5x_cols_flush(h5x_col *const *cols, size_t n, avt_error *err)
{
    int rc = AVT_OK;
    h5x_zctx *z = NULL; /* the deflate columns' writer (the first one's; the others' alone) */
    for (size_t i = 0; i < n && rc == AVT_OK; i++) {
        h5x_col *c = cols[i];
        if (!c->direct || !c->z || c->z->filter != H5X_DEFLATE || (z && c->z != z)) {
            rc = h5x_col_flush(c, err);
            continue;
        }
        z = c->z; /* drained below even if no column has staged rows */
        if (!c->staged) continue;
        if ((rc = h5x_col_reserve(c, err)) || (rc = h5x_col_extend(c, c->rows_written + c->staged, err)))
            break;
        rc = h5x_col_enqueue(c, c->stage, c->staged, c->rows_written, err);
    }
    if (rc == AVT_OK && z) rc = h5x_zctx_drain(z, err);
    for (size_t i = 0; i < n && rc == AVT_OK; i++)
        if (cols[i]->z == z && z && cols[i]->direct && cols[i]->staged) rc = h5x_col_staged_written(cols[i], err);
    return rc;
}

int h5x_col_append(h5x_col *c, const void *rows, size_t n, avt_error *err)
{
    const unsigned char *p = rows;
    while (n) {
        size_t take = c->stage_rows - c->staged;
        if (take > n) take = n;
        memcpy(c->stage + c->staged * c->row_bytes, p, take * c->row_bytes);
        c->staged += take;
        p += take * c->row_bytes;
        n -= take;
        if (c->staged == c->stage_rows) {
            int rc = h5x_col_flush_rows(c, 1, err);
            if (rc) return rc;
        }
    }
    return AVT_OK;
}

int h5x_col_fill(h5x_col *c, const void *value, size_t n, avt_error *err)
{
    while (n) {
        size_t take = c->stage_rows - c->staged;
        if (take > n) take = n;
        for (size_t i = 0; i < take; i++)
            memcpy(c->stage + (c->staged + i) * c->row_bytes, value, c->row_bytes);
        c->staged += take;
        n -= take;
        if (c->staged == c->stage_rows) {
            int rc = h5x_col_flush_rows(c, 1, err);
            if (rc) return rc;
        }
    }
    return AVT_OK;
}

int h5x_col_append_str(h5x_col *c, const char *s, avt_error *err)
{
    size_t len = s ? strlen(s) : 0;
    char *copy = malloc(len + 1);
    if (!copy) return avt_err(err, AVT_NOMEM, "%s: %s: out of memory", c->file, c->path);
    if (len) memcpy(copy, s, len);
    copy[len] = '\0';
    ((char **)c->stage)[c->staged++] = copy;
    if (c->staged == c->stage_rows) return h5x_col_flush_rows(c, 1, err);
    return AVT_OK;
}

void h5x_col_release(h5x_col *c)
{
    h5x_col_free_strings(c); /* a string column's stage owns its strings (none after a flush) */
    free(c->stage);
    free(c->stage_alt);
    c->stage = c->stage_alt = NULL;
}

void h5x_zctx_release(h5x_zctx *z)
{
    for (int t = 0; z->shuf && t < z->nthreads; t++) free(z->shuf[t]), z->shuf[t] = NULL;
    for (size_t i = 0; z->out && i < H5X_SLOTS(z); i++) free(z->out[i]), z->out[i] = NULL;
    z->cap = z->out_cap = 0;
}

void h5x_col_close(h5x_col *c)
{
    /* Closed without a flush (abort): the queued chunks are dropped with the stage. */
    if (c->z && c->queued_upto > c->z->store) h5x_zctx_quiesce(c->z);
    h5x_col_release(c);
    c->staged = 0;
    if (c->dset > 0) H5Dclose(c->dset);
    c->dset = -1;
    h5x_type_close(c->kind, c->mtype);
    c->mtype = -1;
}

int avt_export_compression_check(const char *spec, avt_error *err)
{
    int filter, level;
    return h5x_filter_parse(spec, 0, &filter, &level, err);
}

int h5x_attr_read1(hid_t a, hid_t mtype, void *buf)
{
    hid_t sp = H5Aget_space(a);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    return n == 1 && H5Aread(a, mtype, buf) >= 0 ? 0 : -1;
}

/* Reads a scalar string attribute (variable or fixed length) into out; "" if absent.
 * Returns 1 if present and read, 0 if absent or not a string. */
int h5x_attr_get_str(hid_t loc, const char *obj, const char *name, char *out, size_t n)
{
    int ok = 0;
    hid_t a = -1, t = -1, mt = -1;
    out[0] = '\0';
    if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) <= 0) goto out;
    a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    t = a >= 0 ? H5Aget_type(a) : -1;
    if (t < 0 || H5Tget_class(t) != H5T_STRING) goto out;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        mt = h5x_str_type();
        if (mt < 0 || h5x_attr_read1(a, mt, &s) < 0) goto out;
        snprintf(out, n, "%s", s ? s : "");
        H5free_memory(s);
        ok = 1;
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(sz + 1, 1);
        mt = H5Tcopy(t);
        if (buf && mt >= 0 && h5x_attr_read1(a, mt, buf) >= 0) {
            snprintf(out, n, "%s", buf);
            ok = 1;
        }
        free(buf);
    }
out:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return ok;
}

int h5x_strs_read(hid_t loc, const char *path, char ***out, uint64_t *n, const char *file,
                  avt_error *err)
{
    int rc = AVT_OK;
    hid_t d = -1, sp = -1, t = h5x_str_type();
    hsize_t dims[1] = {1};
    *out = NULL;
    *n = 0;
    d = H5Lexists(loc, path, H5P_DEFAULT) > 0 ? H5Dopen2(loc, path, H5P_DEFAULT) : -1;
    sp = d >= 0 ? H5Dget_space(d) : -1;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (t < 0 || rank < 0 || rank > 1 || (rank == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) < 0)) {
        rc = avt_err(err, AVT_MISMATCH, "%s: /%s: missing or not a string array", file, path);
        goto out;
    }
    *out = calloc(dims[0] ? dims[0] : 1, sizeof **out);
    if (!*out) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", file);
        goto out;
    }
    if (dims[0] && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        rc = h5x_fail(err, file, path, "H5Dread");
        free(*out);
        *out = NULL;
        goto out;
    }
    *n = dims[0];
out:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (t >= 0) H5Tclose(t);
    return rc;
}

void h5x_strs_free(char **s, uint64_t n)
{
    for (uint64_t i = 0; s && i < n; i++) H5free_memory(s[i]);
    free(s);
}
