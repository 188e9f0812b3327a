/* avtruth export: HDF5 helpers (error capture, attributes, staged extendible columns).
 * Follows the HDF5 1.10 C API reference (H5E, H5A, H5D, H5P, H5S, H5T). */
#include <stdlib.h>
#include <string.h>

#include "export_private.h"

/* ---- error handling --------------------------------------------------------------------- */

void h5x_quiet_begin(h5x_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5x_quiet_end(const h5x_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

typedef struct h5x_walk {
    char text[AVT_ERROR_MAX / 2];
    size_t len;
    unsigned count;
} h5x_walk;

static herr_t h5x_walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    h5x_walk *wk = data;
    const char *desc = (e && e->desc) ? e->desc : "";
    const char *func = (e && e->func_name) ? e->func_name : "?";
    if (wk->len + 1 >= sizeof wk->text) return 0;
    int k = snprintf(wk->text + wk->len, sizeof wk->text - wk->len, "%s%s: %s",
                     n ? " <- " : "", func, desc);
    if (k > 0) wk->len += (size_t)k < sizeof wk->text - wk->len ? (size_t)k
                                                                 : sizeof wk->text - wk->len - 1;
    wk->count++;
    return 0;
}

int h5x_fail(avt_error *err, const char *file, const char *obj, const char *call)
{
    h5x_walk wk;
    memset(&wk, 0, sizeof wk);
    /* Downward: the API call first, the innermost cause (often "errno = 28, error message
     * = 'No space left on device'") last. */
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5x_walk_cb, &wk);
    if (!wk.count) snprintf(wk.text, sizeof wk.text, "no HDF5 error detail");
    for (char *c = wk.text; *c; c++) /* ctime() in HDF5's I/O messages ends in a newline */
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    if (obj)
        return avt_err(err, AVT_HDF5, "%s: %s: %s failed: %s", file, obj, call, wk.text);
    return avt_err(err, AVT_HDF5, "%s: %s failed: %s", file, call, wk.text);
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
    if (H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
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

/* ---- staged extendible columns ---------------------------------------------------------- */

int h5x_col_create(h5x_col *c, hid_t loc, const char *path, int kind, int rank, hsize_t d1,
                   hsize_t d2, size_t chunk_rows, int gzip, const char *file, avt_error *err)
{
    int rc = AVT_OK;
    hid_t ftype = -1, space = -1, lcpl = -1, dcpl = -1, dapl = -1;
    memset(c, 0, sizeof *c);
    c->dset = -1;
    c->mtype = -1;
    c->kind = kind;
    c->file = file;
    c->chunk_rows = chunk_rows;
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
    c->stage = malloc(chunk_rows * c->row_bytes);
    if (!c->stage) {
        rc = avt_err(err, AVT_NOMEM, "%s: %s: out of memory for a %zu-row chunk", file,
                     c->path, chunk_rows);
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
    if (H5Pset_create_intermediate_group(lcpl, 1) < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 ||
        (gzip && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0))) {
        rc = h5x_fail(err, file, c->path, "H5Pset_chunk/H5Pset_deflate");
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

/* Writes n rows at start, extending the dataset first. The one place rows reach the file:
 * a direct-chunk path (H5Dwrite_chunk with a parallel compressor) replaces this body. */
static int h5x_col_write_block(h5x_col *c, uint64_t start, size_t n, const void *rows,
                               avt_error *err)
{
    int rc = AVT_OK;
    hid_t fspace = -1, mspace = -1;
    hsize_t dims[3], off[3] = {start, 0, 0}, cnt[3];
    fspace = H5Dget_space(c->dset);
    int rank = fspace >= 0 ? H5Sget_simple_extent_dims(fspace, dims, NULL) : -1;
    if (rank < 1) {
        rc = h5x_fail(err, c->file, c->path, "H5Dget_space");
        goto out;
    }
    H5Sclose(fspace);
    fspace = -1;
    dims[0] = start + n;
    if (H5Dset_extent(c->dset, dims) < 0) {
        rc = h5x_fail(err, c->file, c->path, "H5Dset_extent");
        goto out;
    }
    fspace = H5Dget_space(c->dset);
    memcpy(cnt, dims, sizeof cnt);
    cnt[0] = n;
    mspace = H5Screate_simple(rank, cnt, NULL);
    if (fspace < 0 || mspace < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0) {
        rc = h5x_fail(err, c->file, c->path, "H5Sselect_hyperslab");
        goto out;
    }
    if (H5Dwrite(c->dset, c->mtype, mspace, fspace, H5P_DEFAULT, rows) < 0) {
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

int h5x_col_flush(h5x_col *c, avt_error *err)
{
    if (!c->staged) return AVT_OK;
    int rc = h5x_col_write_block(c, c->rows_written, c->staged, c->stage, err);
    if (rc == AVT_OK) c->rows_written += c->staged;
    h5x_col_free_strings(c);
    c->staged = 0;
    return rc;
}

int h5x_col_append(h5x_col *c, const void *rows, size_t n, avt_error *err)
{
    const unsigned char *p = rows;
    while (n) {
        size_t take = c->chunk_rows - c->staged;
        if (take > n) take = n;
        memcpy(c->stage + c->staged * c->row_bytes, p, take * c->row_bytes);
        c->staged += take;
        p += take * c->row_bytes;
        n -= take;
        if (c->staged == c->chunk_rows) {
            int rc = h5x_col_flush(c, err);
            if (rc) return rc;
        }
    }
    return AVT_OK;
}

int h5x_col_fill(h5x_col *c, const void *value, size_t n, avt_error *err)
{
    while (n) {
        size_t take = c->chunk_rows - c->staged;
        if (take > n) take = n;
        for (size_t i = 0; i < take; i++)
            memcpy(c->stage + (c->staged + i) * c->row_bytes, value, c->row_bytes);
        c->staged += take;
        n -= take;
        if (c->staged == c->chunk_rows) {
            int rc = h5x_col_flush(c, err);
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
    if (c->staged == c->chunk_rows) return h5x_col_flush(c, err);
    return AVT_OK;
}

void h5x_col_close(h5x_col *c)
{
    h5x_col_free_strings(c);
    free(c->stage);
    c->stage = NULL;
    c->staged = 0;
    if (c->dset > 0) H5Dclose(c->dset);
    c->dset = -1;
    h5x_type_close(c->kind, c->mtype);
    c->mtype = -1;
}
