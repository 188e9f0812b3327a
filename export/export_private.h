/* avtruth export, private: HDF5 helpers (error capture, attributes, staged extendible
 * columns) and the writer state shared by writer.c, card.c and inspect.c. */
#ifndef AVT_EXPORT_PRIVATE_H
#define AVT_EXPORT_PRIVATE_H

#include <hdf5.h>
#include <pthread.h>
#include <stdint.h>

#include "avtruth/export.h"
#include "avtruth/h5read.h"
#include "avtruth/h5quiet.h"

/* Row counts of one chunk (FORMAT.md): per-point (and depth) columns and per-frame/per-box
 * tables. Points: chosen for random-frame reads, measured in docs/format-notes.md. */
#define AVT_POINT_CHUNK_ROWS AVT_EXPORT_CHUNK_ROWS
#define AVT_TABLE_CHUNK_ROWS 4096

/* Element kinds of a column; mapped to a little-endian file type and a native memory type. */
enum h5x_kind { K_U8, K_U16, K_U32, K_U64, K_I32, K_I64, K_F32, K_F64, K_STR };

/* ---- error handling --------------------------------------------------------------------- */

/* h5x_quiet_begin / h5x_quiet_end: include/avtruth/h5quiet.h */

/* Fills err with "file: object: call failed: <HDF5 error stack, outermost first>" and
 * returns AVT_HDF5. Must be called right after the failing call, before any other HDF5
 * call clears the stack. obj may be NULL. */
int h5x_fail(avt_error *err, const char *file, const char *obj, const char *call);

/* The innermost entry of the current HDF5 error stack, "function: description" on one line
 * (a damaged chunk: "H5Z__filter_deflate: inflate() failed"), into out; returns out. Call right
 * after the failing call, like h5x_fail. */
const char *h5x_cause(char *out, size_t n);

/* Variable-length UTF-8 string type (h5py reads attributes of it as str, datasets as bytes
 * or, through .asstr(), as str). Caller closes with H5Tclose. */
hid_t h5x_str_type(void);
hid_t h5x_file_type(int kind); /* H5T_STD_*LE / H5T_IEEE_*LE; a copy for K_STR */
hid_t h5x_mem_type(int kind);  /* H5T_NATIVE_*; a copy for K_STR */
void h5x_type_close(int kind, hid_t t);
size_t h5x_kind_size(int kind);

/* ---- small objects written once --------------------------------------------------------- */

/* Scalar attributes on loc (a file, group or dataset). value NULL is written as "". */
int h5x_attr_str(hid_t loc, const char *name, const char *value, const char *file,
                 avt_error *err);
int h5x_attr_num(hid_t loc, const char *name, int kind, const void *value, const char *file,
                 avt_error *err);
/* Reads attribute a into buf as mtype if it holds one value (a scalar, or an array of one):
 * a read into one variable must not receive more (an attribute of N values writes N). 0, or
 * -1 if it holds another number of values or HDF5 fails. */
int h5x_attr_read1(hid_t a, hid_t mtype, void *buf);
/* Reads the scalar string attribute name of object obj (relative to loc, "." for loc itself),
 * variable or fixed length, into out; "" if absent. Returns 1 if present and read, else 0. */
int h5x_attr_get_str(hid_t loc, const char *obj, const char *name, char *out, size_t n);
/* Reads the string dataset at path (scalar: one string; 1-D: its rows) into *out, *n strings
 * owned by the caller (h5x_strs_free). AVT_MISMATCH if missing or of another rank. */
int h5x_strs_read(hid_t loc, const char *path, char ***out, uint64_t *n, const char *file,
                  avt_error *err);
void h5x_strs_free(char **s, uint64_t n);
/* A contiguous dataset of rank dims (rank 0 = scalar) at path, intermediate groups created.
 * For K_STR data is an array of const char * (NULL written as ""). */
int h5x_dset_write(hid_t loc, const char *path, int kind, int rank, const hsize_t *dims,
                   const void *data, const char *file, avt_error *err);

/* ---- filters ---------------------------------------------------------------------------- */

/* How chunks are filtered. H5X_DEFLATE is the default: shuffle + zlib-format deflate done by
 * the writer (libdeflate, chunks of a batch compressed in parallel by a thread pool) and stored
 * with H5Dwrite_chunk under the standard shuffle + deflate filter declaration, so any HDF5
 * reader decodes it without plugins. H5X_DEFLATE_HDF5 declares the same filters but lets
 * HDF5's own single-threaded filter pipeline compress (kept for comparison in bench/).
 * H5X_BLOSC_ZSTD needs the HDF5 Blosc filter plugin (id 32001). */
enum h5x_filter { H5X_NONE, H5X_DEFLATE, H5X_DEFLATE_HDF5, H5X_BLOSC_ZSTD };
#define H5X_FILTER_BLOSC 32001

/* One thread's deflate coders (h5x_chunk_deflate): libdeflate at the chosen level, and
 * ISA-L's igzip level 1, its stream state and working buffer (NULL unless the level is 1). */
struct libdeflate_compressor;
struct isal_zstream;
typedef struct h5x_coder {
    struct libdeflate_compressor *ld;
    struct isal_zstream *igzip;
    unsigned char *igzip_buf;
} h5x_coder;
/* libdeflate at level, igzip's buffer when level is 1 (igzip is only used for the default
 * level); AVT_NOMEM if either cannot be allocated (free with h5x_coder_free all the same). */
int h5x_coder_init(h5x_coder *cod, int level);
void h5x_coder_free(h5x_coder *cod);
/* How a byte plane that is not made of runs is coded (h5x.c, h5x_plane_verdict). */
enum { H5X_LIBDEFLATE = 0, H5X_STORED = 1, H5X_IGZIP = 2 };
/* A column's first chunk of every this many batches takes its verdicts afresh. */
enum { H5X_VERDICT_BATCHES = 8 };

/* Per-writer compression state: one pair of coders and shuffle buffer per thread, one output
 * buffer per slot of the chunk ring. The writer's thread (index 0) queues chunks and
 * nthreads - 1 persistent pool threads compress them, the writer's thread too whenever it
 * waits for a slot; idle pool threads sleep on a condition variable (no spinning, no
 * fork/join per flush). */
/* One queued chunk: rows of column c starting at row start, have bytes of them at src (a
 * partial last chunk is padded with zeros); tests: it takes c's verdicts. */
typedef struct h5x_item {
    struct h5x_col *c;
    const unsigned char *src;
    size_t have;
    uint64_t start;
    int tests;
} h5x_item;

typedef struct h5x_zctx {
    int filter, level;
    int nthreads;
    size_t batch_chunks;          /* chunks staged per column before they are queued */
    h5x_coder *coder;             /* nthreads */
    unsigned char **shuf;         /* nthreads buffers of cap bytes */
    unsigned char **out;          /* per slot (2 * batch_chunks), out_cap bytes */
    size_t *out_len;              /* per slot */
    h5x_item *items;              /* per slot: its chunk */
    size_t cap, out_cap;
    /* pool */
    int pool_up;                  /* mutex and condition variables initialised */
    int n_workers;                /* pool threads started (nthreads - 1 when all started) */
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    int stop;                     /* under mu */
    /* The ring of chunk slots (h5x.c, "the compression pool"): head queued, take taken, store
     * stored, counters that only grow; head and store are the writer's thread's, the rest
     * under mu. */
    size_t head, take, store;     /* head written under mu too */
    unsigned char *done;          /* per slot: compressed */
    size_t busy;                  /* chunks being compressed */
    size_t failed;                /* 1 + the first chunk that could not be compressed, 0 */
    /* a task run beside the chunks by one pool thread (h5x_zctx_beside), under mu */
    void (*side_fn)(void *);
    void *side_arg;
    int side_running;
} h5x_zctx;
#define H5X_SLOTS(z) (2 * (z)->batch_chunks) /* the ring's size */

/* HDF5's shuffle filter: byte j of element i of src[0..n * esize) to dst[j * n + i]. */
void h5x_shuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t esize);

/* The zlib stream (RFC 1950) that HDF5's shuffle + deflate filters would store for the
 * chunk whose shuffled bytes are in[0..nbytes) (esize-byte elements, so nbytes / esize-byte
 * planes), compressed by cod, into out; returns its length, 0 if out_cap is too small. known
 * and found (esize entries each, or NULL) are the column's per-plane verdicts, how a plane is
 * coded, to use and to record (h5x.c, h5x_plane_verdict); they change only the stream's size,
 * never the bytes it decodes to. Thread-safe for distinct cod, found and out. */
size_t h5x_chunk_deflate(h5x_coder *cod, const unsigned char *in, size_t nbytes, size_t esize,
                         const signed char *known, signed char *found, unsigned char *out,
                         size_t out_cap);

/* Parses "none", "gzip", "gzip=N" (1..9), "blosc-zstd" into filter and level;
 * hdf5_path selects H5X_DEFLATE_HDF5 for gzip. Checks that a plugin filter is available and
 * otherwise names the Debian package to install. */
int h5x_filter_parse(const char *spec, int hdf5_path, int *filter, int *level, avt_error *err);
/* beside: the pool also runs tasks beside the writer's work (h5x_zctx_beside), a thread of
 * its own even without deflate. */
int h5x_zctx_init(h5x_zctx *z, int filter, int level, int beside, avt_error *err);
void h5x_zctx_free(h5x_zctx *z);
/* Runs fn(arg) on a pool thread, which takes queued chunks again once it returns (the
 * writer's thread compresses alone meanwhile): 1, or 0 when the pool has no
 * thread or is running such a task already (the caller then runs fn itself). */
int h5x_zctx_beside(h5x_zctx *z, void (*fn)(void *), void *arg);
/* Waits for the task h5x_zctx_beside started, if any. */
void h5x_zctx_beside_wait(h5x_zctx *z);
/* The writer's thread compresses every queued chunk the pool has not taken (at the end of a
 * frame: the pool's last chunks then run beside what the build does next, and none is left
 * waiting for the pool thread while the build's other threads hold the cores). */
void h5x_zctx_help(h5x_zctx *z);

/* ---- staged extendible columns ---------------------------------------------------------- */

/* One chunked dataset with an unlimited first dimension. Rows are staged in a buffer of
 * whole chunks (z->batch_chunks for the direct deflate path, one otherwise) and written
 * chunk-aligned when it is full, so every chunk is written once, whole and aligned; only the
 * last partial chunk is rewritten if rows follow a flush. Memory: one batch per column, two
 * on the direct path once its chunks are queued while rows go on (stage_alt). */
typedef struct h5x_col h5x_col;
struct h5x_col {
    hid_t dset;
    hid_t mtype;
    int kind;
    int rank;
    int direct;           /* chunks compressed here and stored with H5Dwrite_chunk */
    h5x_zctx *z;          /* borrowed from the writer */
    char path[192];       /* object path, for messages */
    const char *file;     /* the partial file name, for messages (borrowed) */
    size_t row_bytes;     /* memory bytes per row */
    size_t chunk_rows;
    size_t stage_rows;    /* capacity of the stage, a multiple of chunk_rows */
    uint64_t rows_written;/* rows before the stage (chunk-aligned on the direct path) */
    unsigned char *stage; /* stage_rows rows; for K_STR an array of owned char * */
    unsigned char *stage_alt; /* the other stage, while queued chunks read this one (direct) */
    size_t staged;
    /* Per byte plane, how its chunks are coded (h5x_plane_verdict), -1 not known yet: found
     * by each batch's first chunk, used by the next batch's other chunks. Planes of up to
     * 8-byte elements. */
    signed char verdict[8], verdict_found[8];
    unsigned long batches; /* batches compressed: verdicts are taken every H5X_VERDICT_BATCHES */
    int verdict_taking;    /* the last batch queued takes the verdicts (h5x_col_settle) */
    size_t queued_upto;    /* the pool's head after its last chunk queued */
};

/* Creates path (intermediate groups too) with shape (0, d1[, d2]) for rank 1..3, filtered
 * as z->filter says (z NULL: no filter). */
int h5x_col_create(h5x_col *c, hid_t loc, const char *path, int kind, int rank, hsize_t d1,
                   hsize_t d2, size_t chunk_rows, h5x_zctx *z, const char *file,
                   avt_error *err);
int h5x_col_append(h5x_col *c, const void *rows, size_t n, avt_error *err);
/* Appends n copies of the row at value. */
int h5x_col_fill(h5x_col *c, const void *value, size_t n, avt_error *err);
/* Appends one string (copied; NULL as ""). */
int h5x_col_append_str(h5x_col *c, const char *s, avt_error *err);
/* Writes every staged row and any compressed chunks still pending on c's writer. */
int h5x_col_flush(h5x_col *c, avt_error *err);
/* h5x_col_flush of n columns of one writer, the last chunks of several compressed together. */
int h5x_cols_flush(h5x_col *const *cols, size_t n, avt_error *err);
static inline uint64_t h5x_col_rows(const h5x_col *c) { return c->rows_written + c->staged; }
/* After the last flush: frees the column's stages (its row count stays); no more rows may be
 * appended. h5x_col_close ends with it. */
void h5x_col_release(h5x_col *c);
/* After the last drain: frees the shuffle and output buffers (grown again if needed);
 * h5x_zctx_free ends with it. */
void h5x_zctx_release(h5x_zctx *z);
/* Closes the dataset and frees the stage (staged rows are dropped). Safe on a zeroed col.
 * Before a flush it is an abort: every chunk queued on c's writer is dropped, any column's. */
void h5x_col_close(h5x_col *c);

/* ---- writer state ----------------------------------------------------------------------- */

enum {
    COL_TS, COL_START, COL_END, COL_POSE, COL_POFF, COL_BOFF, COL_PACKETS, COL_LOST,
    COL_XYZ, COL_INTENSITY, COL_RING, COL_TIME, COL_RETURN, COL_LABEL, COL_INSTANCE,
    COL_CENTER, COL_SIZE, COL_YAW, COL_ROT, COL_VEL, COL_CLASS, COL_TRACK, COL_BNPTS,
    COL_BATTR, COL_FRAME_INDEX,
    COL_COUNT
};
enum {
    CCOL_TS, CCOL_DELTA, CCOL_PATH, CCOL_B2_OFF, CCOL_B2_INDEX, CCOL_B2_XYXY, CCOL_B2_TRUNC,
    CCOL_B2_VIS, CCOL_B2_CORNERS, CCOL_B2_NPTS, CCOL_D_OFF, CCOL_D_UV, CCOL_D_DEPTH,
    CCOL_IG_OFF, CCOL_IG_XYXY, CCOL_IG_CLASS,
    CCOL_IMG_OFF, CCOL_IMG_PNG, /* only with embed_images; zeroed (no dataset) otherwise */
    CCOL_COUNT
};
#define CCOL_ALWAYS CCOL_IMG_OFF /* the columns every file has */

/* Chunk of /cameras/<name>/image_png: 1 MiB, unfiltered (PNG bytes are deflated already). */
#define AVT_IMAGE_CHUNK_BYTES (1u << 20)
/* Largest image file embedded (a check before reading an untrusted size). */
#define AVT_IMAGE_MAX_BYTES ((uint64_t)1 << 30)

typedef struct avt_export_cam {
    char name[AVT_NAME_MAX];
    int model;
    char distortion_model[32];
    unsigned width, height;
    h5x_col cols[CCOL_COUNT];
    uint64_t paired, boxes2d, depth, ignore, image_bytes;
    int64_t delta_min_ns, delta_max_ns; /* over paired frames */
} avt_export_cam;

typedef struct avt_export_input {
    char *path;
    char sha256[65];
    uint64_t size;
    int pending; /* registered, digest not set yet (avt_export_add_input_later) */
} avt_export_input;

struct avt_export_writer {
    char *path, *partial, *card_path, *card_partial;
    hid_t file, str_t;
    h5x_zctx z;
    h5x_zctx z_raw;       /* no filter: embedded PNG bytes */
    int embed_images;
    char *log_dir;        /* where image_path is relative to (embed_images) */
    unsigned char *io_buf;/* AVT_IMAGE_CHUNK_BYTES, reading image files */
    char compression[32]; /* the spec, recorded in the root attribute */
    int failed; /* an HDF5 or memory error left the file inconsistent */
    char *log_id;
    char lidar_model[32];
    char rig_source[512];
    int64_t created_ns;
    hsize_t writeback_at; /* file size when writeback was last started (start_writeback) */
    h5x_col cols[COL_COUNT];
    size_t point_chunk_rows; /* 0: AVT_POINT_CHUNK_ROWS */
    avt_export_cam *cams;
    size_t n_cams;
    char **class_names;
    size_t n_classes;
    uint64_t *class_hist;
    uint64_t n_frames, n_points, n_boxes;
    uint64_t unlabeled_points, boxes_without_points, frames_with_loss, packets_lost;
    uint64_t frames_without_points;
    int64_t first_ts, last_ts;
    int all_poses_identity;
    avt_export_input *inputs;
    size_t n_inputs, cap_inputs;
};

/* The generated Markdown card (card.c). Returns a malloc'ed string or NULL (out of memory). */
char *avt_export_card_make(const struct avt_export_writer *w, const avt_export_meta *meta);
/* SHA-256 (lowercase hex) and size of a file, read in blocks of at most 1 MiB (digest.c);
 * stop (or NULL), once set, ends it between blocks with an error. */
int avt_export_sha256_file(const char *path, const atomic_int *stop, char hex[65], uint64_t *size, avt_error *err);

/* ---- the dataset as a whole (dataset.c, for stitch.c) --------------------------------- */

/* What one per-log source says about itself. */
typedef struct ds_source {
    char format_version[32];
    char *schema;             /* /meta/schema text, "" if none */
    char **class_names;       /* /meta/class_names */
    uint64_t n_classes;
    uint64_t *hist;           /* boxes per class id, n_classes + 1 (the last: ids beyond) */
    uint64_t boxes;
    char *lidar, *cameras, *licence; /* from the per-log card; cameras: "front, left" */
    char *findings;           /* the card's validation findings, "- ...\n" items, "" if none */
    /* set by the caller */
    const char *log_id;
    uint64_t frames;
    const char *split;
} ds_source;
int ds_source_read(hid_t f, const char *file, ds_source *d, avt_error *err);
void ds_source_free(ds_source *d);
/* AVT_MISMATCH naming both files when b cannot join a (format version, schema, classes). */
int ds_compatible(const ds_source *a, const char *fa, const ds_source *b, const char *fb,
                  avt_error *err);
/* The Markdown card of the stitched index (per split: logs, frames, sensors, licences, class
 * histogram, findings); method describes how the splits were made. NULL: out of memory. */
char *ds_card(const char *title, const ds_source *src, size_t n, const char *method);

/* splits.yaml: log_id -> split ("train", "val" or "test", static strings), with lines. */
typedef struct ds_overrides {
    char **log_id;
    const char **split;
    size_t *line;
    size_t n, cap_id, cap_split, cap_line;
} ds_overrides;
int ds_overrides_load(const char *path, ds_overrides *ov, avt_error *err);
void ds_overrides_free(ds_overrides *ov);
/* 1 if name matches one of the fnmatch patterns. */
int ds_excluded(const char *name, const char *const *patterns, size_t n);

#endif
