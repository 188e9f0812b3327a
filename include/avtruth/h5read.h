/* avtruth: reading an output file back (export/h5read.c), for every reader of one (verify,
 * inspect, stitch, export kitti, eval). The file may have been written by anyone: whoever
 * indexes what avt_h5_read returns checks its shape first with avt_h5_expect. */
#ifndef AVTRUTH_H5READ_H
#define AVTRUTH_H5READ_H

#include <hdf5.h>
#include <stdint.h>

#include "avtruth/common.h"

/* A dataset's shape and, read with avt_h5_read, its whole contents as a native type. */
typedef struct avt_h5col {
    void *data;                  /* avt_h5_read only */
    uint64_t rows;               /* dims[0]; 0 for a scalar */
    int rank;                    /* 0 for a scalar */
    hsize_t dims[H5S_MAX_RANK];
    int present;
} avt_h5col;
typedef struct avt_h5ctx {
    hid_t file;
    const char *path; /* the .h5 file, for messages */
    avt_error *err;
    const char *hint; /* appended to the messages of a missing dataset or a wrong shape, e.g.
                       * " (run avtruth verify)"; or NULL */
} avt_h5ctx;
void avt_h5col_free(avt_h5col *c);
/* The shape of v->file's dataset name (which must exist unless optional) into out, no data. */
int avt_h5_shape(avt_h5ctx *v, const char *name, int optional, avt_h5col *out);
/* avt_h5_shape, and the whole dataset converted to mtype into out->data (malloc'ed). */
int avt_h5_read(avt_h5ctx *v, const char *name, hid_t mtype, int optional, avt_h5col *out);
/* A dimension avt_h5_expect accepts at any size (FORMAT.md's N, M, K, ...). */
#define AVT_H5_ANY UINT64_MAX
/* AVT_OK if c, read from name, has rank `rank` (1..3) and the sizes d0, d1, d2 (as many as
 * the rank; AVT_H5_ANY: any), or is an optional dataset that is absent; else AVT_MISMATCH
 * with a message naming the file, the dataset and both shapes, then v->hint: "out.h5:
 * /cameras/front/K: shape (3, 1), expected (3, 3)". The one shape check of every reader of an
 * output. */
int avt_h5_expect(avt_h5ctx *v, const char *name, const avt_h5col *c, int rank, uint64_t d0, uint64_t d1,
                  uint64_t d2);
/* avt_h5_shape, then avt_h5_expect of that shape. */
int avt_h5_shape_as(avt_h5ctx *v, const char *name, int optional, int rank, uint64_t d0, uint64_t d1, uint64_t d2,
                    avt_h5col *out);
/* avt_h5_shape_as, then (the shape right) avt_h5_read's contents: nothing is read from a
 * dataset of another shape. */
int avt_h5_read_as(avt_h5ctx *v, const char *name, hid_t mtype, int optional, int rank, uint64_t d0, uint64_t d1,
                   uint64_t d2, avt_h5col *out);

#endif
