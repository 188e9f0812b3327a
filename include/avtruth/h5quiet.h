/* avtruth: HDF5 prints its error stack to stderr by default; a library must not. Every public
 * entry point that calls HDF5 turns the automatic printing off for its duration and restores
 * the caller's (export/, quality/). Needs hdf5.h (link avt_hdf5). */
#ifndef AVTRUTH_H5QUIET_H
#define AVTRUTH_H5QUIET_H

#include <hdf5.h>

typedef struct h5x_quiet {
    H5E_auto2_t func;
    void *data;
} h5x_quiet;

static inline void h5x_quiet_begin(h5x_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static inline void h5x_quiet_end(const h5x_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

#endif
