/* avtruth mpi: a batch over MPI ranks (Open MPI), built only when CMake finds MPI.
 * Rank 0 hands out logs longest first on request; every rank, rank 0 included, builds its
 * current log in a child process with the per-log unit of avtruth batch
 * (avt_scaleout_spawn), so a crashing build costs one log, not the rank. Workers send a
 * heartbeat while building; rank 0 declares a rank that is silent for timeout_s dead and its
 * current log lost. For the survivors to go on after a rank dies, Open MPI 4.1 must be started
 * with `mpirun --enable-recovery` (without it mpirun kills every rank when one dies; the
 * finished logs stay, a rerun redoes the others: docs/scale-out.md). */
#ifndef AVTRUTH_MPI_BATCH_H
#define AVTRUTH_MPI_BATCH_H

#include <stdio.h>

#include "avtruth/common.h"
#include "avtruth/export.h"
#include "avtruth/pipeline.h"

typedef struct avt_mpi_batch_options {
    const char *const *logs; /* the same list on every rank */
    size_t n_logs;
    const char *dir;         /* per-log outputs DIR/<log>.h5 */
    const avt_build_options *build;
    int threads;             /* OpenMP threads per build; 0: the node's cores / its ranks */
    double heartbeat_s;      /* a busy worker's heartbeat period (default 2) */
    double timeout_s;        /* rank 0 declares a silent busy rank dead after this (default 120) */
    const char *stitch_out;  /* rank 0 stitches into it when every log is done; NULL: no stitch */
    const avt_stitch_options *stitch;
    /* test hook: the worker rank (not 0) that gets the log with this last path component
     * kills itself with SIGKILL 0.2 s into its build (AVT_MPI_TEST_DIE) */
    const char *test_die_on;
} avt_mpi_batch_options;

void avt_mpi_batch_options_default(avt_mpi_batch_options *o);

/* Counts on rank 0 (zero elsewhere). */
typedef struct avt_mpi_batch_summary {
    size_t done, skipped, failed, lost, ranks_lost;
    int stitched;
    /* every rank: 1 when a rank died; then the caller must exit without MPI_Finalize (Open
     * MPI 4.1 waits there for the dead rank forever) */
    int abandon;
} avt_mpi_batch_summary;

/* Runs the batch; call between MPI_Init and MPI_Finalize on every rank of MPI_COMM_WORLD.
 * Progress lines go to out (rank 0; the builds' own lines from every rank). Rank 0 returns
 * AVT_OK when every log was built or skipped (and stitched if asked), AVT_IO when some
 * failed or were lost (named in err; nothing stitched), or the stitch's error; other ranks
 * return AVT_OK unless MPI failed. */
int avt_mpi_batch(const avt_mpi_batch_options *o, FILE *out, avt_mpi_batch_summary *s,
                  avt_error *err);

#endif
