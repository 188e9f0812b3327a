/* avtruth export: the HDF5 ground-truth file of ../shared/FORMAT.md, written as a stream of
 * frames. The file is written as NAME.h5.partial and only renamed to NAME.h5 by
 * avt_export_finish after close and fsync; avt_export_abort removes the partial file.
 * A writer is not thread-safe. */
#ifndef AVTRUTH_EXPORT_H
#define AVTRUTH_EXPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "avtruth/calib.h"
#include "avtruth/common.h"
#include "avtruth/sync.h"

#define AVT_FORMAT_VERSION "1.0"

/* A 3D box in the LiDAR frame at the frame's timestamp_ns (FORMAT.md /boxes3d). */
typedef struct avt_box3d {
    float center[3];
    float size[3];      /* length (x), width (y), height (z) */
    float yaw;
    float rotation[4];  /* quaternion w,x,y,z */
    float velocity[3];  /* NaN if unknown */
    uint16_t class_id;  /* index into the class names, 0 = none/unknown */
    int64_t track_id;
    uint32_t num_lidar_points;
    uint32_t attributes;
} avt_box3d;

/* A 3D box projected into one camera (FORMAT.md /cameras/<name>/boxes2d). */
typedef struct avt_box2d {
    uint32_t box3d_index; /* row of the box within its FRAME; the writer rebases it */
    float xyxy[4];
    float truncation, visibility;
    float corners[16];    /* 8 x (u,v), NaN behind the camera */
    uint32_t num_lidar_points;
} avt_box2d;

/* Per-camera data of one frame. */
typedef struct avt_camera_frame {
    int64_t timestamp_ns;   /* INT64_MIN where no image was paired */
    int64_t sync_delta_ns;
    const char *image_path; /* relative to the log directory; "" or NULL where none */
    size_t n_boxes2d;
    const avt_box2d *boxes2d;
    size_t n_depth;
    const float *depth_uv;  /* 2 * n_depth */
    const float *depth;     /* n_depth, metres */
    /* image regions whose objects were not labelled (KITTI DontCare; docs/schema.md) */
    size_t n_ignore;
    const float *ignore_xyxy;       /* 4 * n_ignore, pixels [left, top, right, bottom] */
    const uint16_t *ignore_class;   /* n_ignore, class ids (the schema's ignore classes) */
} avt_camera_frame;

/* One frame (= one LiDAR sweep). Arrays are borrowed for the duration of the call. */
typedef struct avt_frame_out {
    int64_t timestamp_ns, start_ns, end_ns;
    double ego_pose[16];     /* world_T_ego at timestamp_ns, row-major */
    uint32_t packets, packets_lost;
    size_t n_points;         /* the per-point arrays below may be NULL (written as 0, instance
                                as -1), except xyz when n_points > 0 */
    const float *xyz;        /* 3n */
    const float *intensity;
    const uint16_t *ring;
    const int32_t *time_ns;  /* point time - timestamp_ns */
    const uint8_t *return_type;
    const uint16_t *label;   /* class id, 0 = none */
    const int32_t *instance; /* row of the box within this FRAME, -1 = none; writer rebases */
    size_t n_boxes;
    const avt_box3d *boxes;
    const avt_camera_frame *cams; /* rig->n_cameras entries, in rig order */
} avt_frame_out;

typedef struct avt_export_options {
    const char *log_id;       /* NULL: the file name without ".h5" */
    /* "gzip" (default: level 1 + shuffle), "gzip=N" (N 1..9), "none" or "blosc-zstd"
     * (needs the HDF5 Blosc filter plugin; avt_export_open fails naming the Debian package
     * when it is missing). gzip chunks are shuffled and deflated by the writer,
     * in parallel (OpenMP, libdeflate), and stored pre-filtered under the standard shuffle +
     * deflate filters: any HDF5 reader decodes them without plugins. */
    const char *compression;
    /* /meta/attribute_names (bit i of /boxes3d/attributes) and /meta/schema; may be NULL/0. */
    const char *const *attribute_names;
    size_t n_attribute_names;
    const char *schema;
    /* 1: let HDF5's own (single-threaded) filter pipeline compress gzip chunks; the file is
     * the same to a reader. For benchmarks. */
    int hdf5_filter_path;
    /* 1: embed each paired image's PNG bytes (/cameras/<name>/image_png + image_offset),
     * read from log_dir/image_path (relative, no ".." part, a PNG of at most 1 GiB; a
     * missing or non-PNG file rejects the frame with AVT_IO / AVT_FORMAT and leaves the
     * writer usable); log_dir is required then. */
    int embed_images;
    const char *log_dir;
    /* Chunk rows of the per-point and depth columns, AVT_EXPORT_MIN_CHUNK_ROWS ..
     * AVT_EXPORT_MAX_CHUNK_ROWS; 0: AVT_EXPORT_CHUNK_ROWS. Fewer rows read random frames
     * faster and write more chunks (docs/format-notes.md, "Chunk rows"). */
    size_t point_chunk_rows;
} avt_export_options;
enum { AVT_EXPORT_MIN_CHUNK_ROWS = 1024, AVT_EXPORT_CHUNK_ROWS = 16384, AVT_EXPORT_MAX_CHUNK_ROWS = 262144 };

/* Checks a compression spec (syntax, and that a plugin filter is installed) without
 * opening a file: AVT_OK, or AVT_UNSUPPORTED / AVT_INVAL with a message naming what to
 * install or the accepted values. */
int avt_export_compression_check(const char *spec, avt_error *err);

typedef struct avt_export_writer avt_export_writer;

/* Creates path + ".partial" (path must end in .h5) and the datasets for the rig's cameras.
 * class_names[0] is the "none" class. Returns NULL and fills err on failure. */
avt_export_writer *avt_export_open(const char *path, const avt_rig *rig,
                                   const char *const *class_names, size_t n_classes,
                                   const avt_export_options *opt, avt_error *err);
/* Appends one frame (rows are staged in one chunk per column, so memory does not grow with
 * the log). Returns AVT_OK; AVT_INVAL for an inconsistent frame (out-of-range instance,
 * label, class_id or box3d_index; nothing is written and the writer stays usable); AVT_HDF5
 * or AVT_NOMEM after which the writer is failed: finish then fails, abort it. */
int avt_export_frame(avt_export_writer *w, const avt_frame_out *frame, avt_error *err);

/* Records one input file for /provenance/inputs: size and SHA-256 (OpenSSL libcrypto) of
 * abs_path, stored under rel_path. */
int avt_export_add_input(avt_export_writer *w, const char *rel_path, const char *abs_path,
                         avt_error *err);

/* An input file's SHA-256 (lowercase hex) and size, taken ahead of registering it (on another
 * thread: avt_export_digest_file touches nothing shared). ok 0: it could not be read. */
typedef struct avt_file_digest {
    char sha256[65];
    uint64_t size;
    int ok;
} avt_file_digest;
int avt_export_digest_file(const char *path, avt_file_digest *d, avt_error *err);
/* The same, ended early (d not ok) once *stop is set: a build that fails does not wait for
 * the hash of a large capture. */
int avt_export_digest_file_until(const char *path, const atomic_int *stop, avt_file_digest *d, avt_error *err);
/* avt_export_add_input with the digest taken by avt_export_digest_file; one that is not ok is
 * taken again here, so that its error names the file as avt_export_add_input's does. */
int avt_export_add_input_digest(avt_export_writer *w, const char *rel_path, const char *abs_path,
                                const avt_file_digest *d, avt_error *err);
/* An input registered now and hashed later, its row kept in place in /provenance/inputs:
 * *row receives the row for avt_export_set_input_digest, which must come before
 * avt_export_finish (finish fails naming an input left without its digest). */
int avt_export_add_input_later(avt_export_writer *w, const char *rel_path, size_t *row,
                               avt_error *err);
/* Sets row's digest: d as taken by avt_export_digest_file of abs_path; one that is NULL or
 * not ok is taken again here, so that its error names the file. */
int avt_export_set_input_digest(avt_export_writer *w, size_t row, const char *abs_path,
                                const avt_file_digest *d, avt_error *err);

/* One label validation finding (a row of /meta/validation; docs/schema.md). */
typedef struct avt_export_finding {
    const char *severity, *rule, *file, *path, *value, *message;
} avt_export_finding;

typedef struct avt_export_meta {
    const char *tool_version, *git_sha, *command_line, *config_json;
    int64_t started_ns;
    const char *calibration_source;
    const avt_sync_camera_summary *sync; /* rig->n_cameras entries, or NULL */
    const char *dataset_card;            /* Markdown, or NULL for a generated one */
    const char *licence;                 /* the data's licence (log.yaml), or NULL: "not stated" */
    /* Markdown list items ("- ...\n") for the card's "Validation findings", or NULL: none */
    const char *findings;
    /* /meta/validation: one row per finding (columns severity, rule, file, path, value,
     * message: string arrays of n_validation rows; empty when there is none) */
    const avt_export_finding *validation;
    size_t n_validation;
    /* attributes of /meta/validation: every finding counted (the table may list fewer) */
    uint64_t validation_errors, validation_warnings;
} avt_export_meta;

/* Runs fn(arg) on the writer's compression thread beside the writer's own work (the next
 * frame's input, say, read while this one is written): 1, or 0 when the writer has no such
 * thread (one thread, no deflate) or runs a task already; the caller then runs fn itself. fn
 * must not call the writer. avt_export_wait_beside waits for it; finish and abort do too. */
int avt_export_run_beside(avt_export_writer *w, void (*fn)(void *), void *arg);
void avt_export_wait_beside(avt_export_writer *w);

/* Writes metadata, closes the file, fsyncs, renames NAME.h5.partial -> NAME.h5.
 * On failure the partial file is removed. The writer is freed in all cases. */
int avt_export_finish(avt_export_writer *w, const avt_export_meta *meta, avt_error *err);
/* Closes and deletes the partial file; frees the writer. NULL is a no-op. */
void avt_export_abort(avt_export_writer *w);

/* Reads image_path (any PNG libpng reads, converted to 8-bit RGB), draws the depth points of
 * cf coloured by depth and its 2D boxes, writes out_path. Thread-safe (files only). */
int avt_preview_draw(const char *image_path, const avt_camera_frame *cf, const char *out_path,
                     avt_error *err);
/* Human summary of an output file (avtruth inspect) written to out. AVT_NOTFOUND for a
 * missing file, AVT_FORMAT for a non-HDF5 or non-avtruth file. Like every function here it
 * calls HDF5, which (Debian serial build) is not thread-safe: one thread at a time. */
#include <stdio.h>
int avt_export_inspect(const char *path, FILE *out, avt_error *err);

/* Re-checks a ground-truth file (avtruth verify): reads every dataset whole, one chunk per
 * read through HDF5's filters (a chunk whose stored bytes changed fails to inflate or fails
 * its Adler-32; contiguous and virtual datasets in blocks of at most 4 MiB), then every offset
 * array (starts at 0, never decreases, ends at its columns' length), every cross-reference
 * (boxes3d/frame_index, lidar/instance within its frame's boxes or -1, lidar/label equal to its
 * instance's class, boxes2d/box3d_index within the frame), frame times (increasing, start <=
 * end, every point time inside its sweep), then re-hashes /provenance/inputs under log_dir
 * (NULL: the log_dir recorded in /provenance config; skipped if none). Progress lines go to
 * out. Returns AVT_OK, or AVT_MISMATCH with the FIRST inconsistency (dataset, row or chunk,
 * value) in err; AVT_NOTFOUND / AVT_FORMAT for a missing or foreign file. Not thread-safe
 * (HDF5). */
int avt_export_verify(const char *path, const char *log_dir, FILE *out, avt_error *err);
/* The same checks without reading every chunk: batch's skip check of a finished output (it
 * was renamed into place only once written whole; reading it all again would cost about
 * 5 ms per MB on every rerun, docs/scale-out.md). */
int avt_export_verify_inputs(const char *path, const char *log_dir, FILE *out, avt_error *err);
/* The same checks without reading every chunk or re-hashing inputs. */
int avt_export_verify_structure(const char *path, FILE *out, avt_error *err);

/* What `avtruth stitch` takes besides DIR and the index path. */
typedef struct avt_stitch_options {
    double train, val;            /* split ratios of the frames; test gets 1 - train - val */
    /* Per-log split overrides: a YAML mapping `log_id: train|val|test` (libyaml). NULL: DIR/
     * splits.yaml when it exists. */
    const char *splits_path;
    /* fnmatch(3) patterns of file names in DIR to leave out (besides the index itself and
     * every stitched index, which are always left out). */
    const char *const *exclude;
    size_t n_exclude;
    /* Called after each source is checked and hashed (most of the time: fraction 0 .. 0.8,
     * items = sources done) and after each column is written (0.8 .. 1); NULL: silent. */
    void (*progress)(double fraction, uint64_t items, void *ctx);
    void *progress_ctx;
} avt_stitch_options;
/* train 0.8, val 0.1, no overrides file, no exclusions. */
void avt_stitch_options_default(avt_stitch_options *o);

/* Stitches every per-log .h5 in dir (sorted by name; out_path itself, stitched indexes and
 * the opt->exclude patterns left out) into one index file (avtruth stitch): data columns as
 * virtual datasets naming the sources relative to out_path's directory (move the folder
 * together and it stays readable), offset arrays and row references (lidar/instance,
 * boxes3d/frame_index, boxes2d/box3d_index) as real rebased copies, and /logs: log_id, file,
 * sha256, split, frame_offset (L+1), plus each log's calibration and camera intrinsics under
 * /logs/<k>/ and frames/log_index (F,). Each source is verified (structure) first; sources
 * with different column sets (cameras, embedded images), format versions, annotation schemas
 * (/meta/schema) or class names are refused with AVT_MISMATCH naming both files and values.
 * Splits: avt_export_splits_assign with the overrides of the splits file. The dataset card
 * (Markdown, per split: logs, frames, class histogram, sensors, licences, validation
 * findings) goes to /dataset_card and to NAME.card.md beside out_path. Both files are
 * written via .partial + rename. Not thread-safe (HDF5). */
int avt_export_stitch(const char *dir, const char *out_path, const avt_stitch_options *opt,
                      FILE *out, avt_error *err);

/* One log for avt_export_splits_assign. */
typedef struct avt_split_log {
    const char *log_id;
    uint64_t frames;
    const char *fixed; /* "train", "val", "test" from an override, or NULL */
    const char *split; /* out: the log's split */
} avt_split_log;
/* Deterministic splits balanced by frames: logs with a fixed split keep it; the others, the
 * largest first (ties by log_id), each go to the split whose frame target (ratio x all
 * frames) is missed by the most frames (ties: train, val, test), except that while the logs
 * left are no more than the splits with a positive ratio still empty, they go to those.
 * The result depends only on the (log_id, frames, fixed) set, not on the order given.
 * AVT_INVAL for ratios outside [0, 1] or summing above 1, or a fixed split of another name. */
int avt_export_splits_assign(avt_split_log *logs, size_t n, double train, double val,
                             avt_error *err);

/* KITTI object labels from a ground-truth file (avtruth export kitti; docs/schema.md): for every
 * frame i, out_dir/label_2/<i, 6 digits>.txt with one line per 3D box that has a 2D box in
 * camera (NULL: the first camera by name): class name, truncation, occlusion level from
 * visibility, alpha, the 2D box, dimensions, location and rotation_y in that camera's frame; and
 * out_dir/calib/<i>.txt with P0..P3 = K [I | 0], R0_rect = I and Tr_velo_to_cam. A summary line
 * goes to out (may be NULL). Not thread-safe (HDF5). */
int avt_export_kitti(const char *path, const char *camera, const char *out_dir, FILE *out, avt_error *err);

/* 1 once a failed export could not close its HDF5 file (its last writes failed: disk full,
 * file-size limit). The partial file is removed, but HDF5 1.10 keeps a half-closed id that
 * its exit-time cleanup crashes on: a program should then leave with _exit after flushing
 * its output (tools/avtruth.c does). */
int avt_export_unclosed(void);

#endif
