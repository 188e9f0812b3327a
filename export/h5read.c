/* avtruth export: reading an output back (the readers of verify, inspect, stitch, the KITTI
 * export and eval): a dataset's shape, its whole contents as a native type, and the one shape
 * check every reader makes before it indexes what it read (include/avtruth/h5read.h). */
#include <stdlib.h>
#include <string.h>

#include "export_private.h"

void avt_h5col_free(avt_h5col *c)
{
    free(c->data);
    memset(c, 0, sizeof *c);
}

int avt_h5_shape(avt_h5ctx *v, const char *name, int optional, avt_h5col *out)
{
    int rc = AVT_OK;
    hid_t d = -1, sp = -1;
    memset(out, 0, sizeof *out);
    htri_t ex = H5Lexists(v->file, name, H5P_DEFAULT);
    if (ex <= 0) {
        if (optional) return AVT_OK;
        return avt_err(v->err, AVT_MISMATCH, "%s: /%s: missing dataset%s", v->path, name, v->hint ? v->hint : "");
    }
    d = H5Dopen2(v->file, name, H5P_DEFAULT);
    sp = d >= 0 ? H5Dget_space(d) : -1;
    /* dims holds H5S_MAX_RANK: HDF5 writes as many as the file declares */
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, out->dims, NULL) : -1;
    if (rank < 0) {
        rc = avt_err(v->err, AVT_MISMATCH, "%s: /%s: not a dataset with a shape", v->path, name);
        goto out;
    }
    out->rank = rank;
    out->rows = rank ? out->dims[0] : 0;
    out->present = 1;
out:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return rc;
}

int avt_h5_shape_as(avt_h5ctx *v, const char *name, int optional, int rank, uint64_t d0, uint64_t d1, uint64_t d2,
                    avt_h5col *out)
{
    int rc = avt_h5_shape(v, name, optional, out);
    return rc ? rc : avt_h5_expect(v, name, out, rank, d0, d1, d2);
}

/* The whole dataset of shape out (avt_h5_shape) as mtype into out->data. */
static int read_data(avt_h5ctx *v, const char *name, hid_t mtype, avt_h5col *out)
{
    int rc = AVT_OK;
    hid_t d = -1;
    size_t elems = 1, bytes;
    for (int i = 0; i < out->rank; i++)
        if (!avt_mul_size(elems, out->dims[i], &elems)) elems = SIZE_MAX;
    if (!avt_mul_size(elems, H5Tget_size(mtype), &bytes) || !(out->data = malloc(bytes ? bytes : 1))) {
        rc = avt_err(v->err, AVT_NOMEM, "%s: /%s: out of memory for %llu rows", v->path, name,
                     (unsigned long long)out->rows);
        goto out;
    }
    d = H5Dopen2(v->file, name, H5P_DEFAULT);
    if (d < 0 || (elems && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data) < 0)) {
        rc = h5x_fail(v->err, v->path, name, "H5Dread");
        goto out;
    }
out:
    if (d >= 0) H5Dclose(d);
    if (rc) avt_h5col_free(out);
    return rc;
}

int avt_h5_read(avt_h5ctx *v, const char *name, hid_t mtype, int optional, avt_h5col *out)
{
    int rc = avt_h5_shape(v, name, optional, out);
    return rc || !out->present ? rc : read_data(v, name, mtype, out);
}

int avt_h5_read_as(avt_h5ctx *v, const char *name, hid_t mtype, int optional, int rank, uint64_t d0, uint64_t d1,
                   uint64_t d2, avt_h5col *out)
{
    int rc = avt_h5_shape_as(v, name, optional, rank, d0, d1, d2, out);
    return rc || !out->present ? rc : read_data(v, name, mtype, out);
}

/* "(3, 1)", "(11,)" (as numpy prints a shape), "N" for AVT_H5_ANY. */
static void shape_text(char *out, size_t n, int rank, const uint64_t *dims)
{
    size_t k = (size_t)snprintf(out, n, "(");
    for (int i = 0; i < rank && k < n; i++) {
        if (dims[i] == AVT_H5_ANY) k += (size_t)snprintf(out + k, n - k, "%sN", i ? ", " : "");
        else k += (size_t)snprintf(out + k, n - k, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
    }
    if (k < n) snprintf(out + k, n - k, "%s)", rank == 1 ? "," : "");
}

int avt_h5_expect(avt_h5ctx *v, const char *name, const avt_h5col *c, int rank, uint64_t d0, uint64_t d1, uint64_t d2)
{
    const uint64_t want[3] = {d0, d1, d2};
    if (!c->present) return AVT_OK;
    int ok = c->rank == rank;
    for (int i = 0; ok && i < rank && i < 3; i++) ok = want[i] == AVT_H5_ANY || c->dims[i] == want[i];
    if (ok) return AVT_OK;
    uint64_t found[H5S_MAX_RANK];
    for (int i = 0; i < c->rank; i++) found[i] = c->dims[i];
    char a[256], b[64];
    shape_text(a, sizeof a, c->rank, found);
    shape_text(b, sizeof b, rank, want);
    return avt_err(v->err, AVT_MISMATCH, "%s: /%s: shape %s, expected %s%s", v->path, name, a, b,
                   v->hint ? v->hint : "");
}
