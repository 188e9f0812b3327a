/* avtruth scaleout: the per-log unit every scale-out path shares (avtruth batch, avtruth-mpi,
 * the Slurm array script), and the order in which a fleet's logs are handed out.
 * Idempotent: a log whose output verifies against its unchanged inputs is skipped; any other
 * is built through OUT.h5.partial + rename, so a run killed at any point leaves only
 * complete outputs and a rerun redoes only what is missing or stale. */
#ifndef AVTRUTH_SCALEOUT_H
#define AVTRUTH_SCALEOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "avtruth/common.h"
#include "avtruth/pipeline.h"

/* DIR/<last path component of log>.h5 into out (size n); AVT_INVAL if it does not fit. */
int avt_scaleout_output_path(const char *log, const char *dir, char *out, size_t n);

typedef struct avt_scaleout_result {
    char out[4096];  /* the per-log output file */
    int skipped;     /* 1: it verified against the unchanged inputs, nothing built */
    uint64_t frames; /* when built */
    double seconds;
} avt_scaleout_result;

/* The per-log unit: skips log if DIR/<log>.h5 verifies against log's current inputs
 * (avt_export_verify_inputs: the chunks are not read again), else builds it (avt_build with
 * o). AVT_OK built or skipped; else the build's error, prefixed with the log. Not
 * thread-safe (HDF5). */
int avt_scaleout_unit(const char *log, const char *dir, const avt_build_options *o,
                      avt_scaleout_result *r, avt_error *err);
/* The unit's one-line report: "OUT: up to date (inputs unchanged), skipped" or
 * "OUT: N frames, S s". */
void avt_scaleout_report(FILE *out, const avt_scaleout_result *r);

/* Runs the unit in a child process with `threads` OpenMP threads (0: unchanged) and
 * returns its pid (-1 if fork failed). The child prints the report to stdout (errors to
 * stderr: "avtruth: error: LOG: ...") and exits 0 (built or skipped) or 1. With
 * die_with_parent the child is killed when its parent dies (Linux PR_SET_PDEATHSIG), so a
 * killed MPI rank or Slurm task leaves no orphan writing behind it. HDF5 is not
 * thread-safe, so units run in processes, never threads. */
pid_t avt_scaleout_spawn(const char *log, const char *dir, const avt_build_options *o,
                         int threads, int die_with_parent);

/* The length estimate of a log: the bytes of its LiDAR capture (the files under
 * LOG/lidar/), which sets the build time; the whole log directory's bytes when it has no
 * lidar/. 0 if unreadable. */
uint64_t avt_scaleout_log_bytes(const char *log);
/* order[0..n) = indexes of logs, largest estimate first (ties: the order given), so that
 * a long log does not start last and leave every other worker idle at the end. */
int avt_scaleout_longest_first(const char *const *logs, size_t n, size_t *order, uint64_t *bytes,
                               avt_error *err);

#endif
