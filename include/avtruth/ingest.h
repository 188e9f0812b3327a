/* avtruth ingest: LiDAR packet captures (libpcap) into timed sweeps, camera image streams.
 *
 * Pull API (libpcap's pcap_next_ex style): open a reader, call avt_lidar_next() until it
 * returns 0; each sweep is borrowed until the next call or close. A reader is not
 * thread-safe; independent readers may run in parallel. Memory is bounded by one sweep. */
#ifndef AVTRUTH_INGEST_H
#define AVTRUTH_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"

/* Return type of a point (FORMAT.md /lidar/return_type). */
enum avt_return_type {
    AVT_RETURN_SINGLE = 0,
    AVT_RETURN_STRONGEST = 1,
    AVT_RETURN_LAST = 2,
    AVT_RETURN_BOTH = 3, /* dual mode, strongest == last: emitted once */
    AVT_RETURN_SECOND = 4 /* second strongest (Ouster dual-return profiles) */
};

/* One LiDAR sweep in the sensor frame (see avtruth/velodyne.h for the axes): points as
 * parallel columns, times absolute (int64 ns since the Unix epoch, UTC). */
typedef struct avt_sweep {
    uint64_t index;         /* 0, 1, 2, ... in capture order */
    size_t n;               /* number of points */
    float *xyz;             /* 3n, metres, sensor frame, NOT deskewed */
    float *intensity;       /* n, as reported by the sensor */
    uint16_t *ring;         /* n, 0 = lowest beam */
    int64_t *t_ns;          /* n, firing time of each point */
    uint8_t *return_type;   /* n, enum avt_return_type */
    int64_t start_ns;       /* time of the first firing of the sweep */
    int64_t end_ns;         /* time of the last firing of the sweep */
    /* Reference time: the time of the first firing of the first firing sequence whose
     * azimuth is at or past cut_angle + 180 deg (for the default cut behind the vehicle: the
     * instant it faces forward). A sweep that never reaches that azimuth (a partial first/last
     * sweep) uses (start_ns + end_ns) / 2. */
    int64_t timestamp_ns;
    uint32_t packets;       /* data packets that contributed firings */
    uint32_t packets_lost;  /* packets missing inside the sweep (from timestamp gaps) */
    int complete;           /* 1 if the sweep covers the whole revolution cut to cut */
} avt_sweep;

typedef struct avt_lidar_config {
    /* "auto" (default: the product byte, or Ouster), "vlp16", "vlp16hires", "hdl32e",
     * "vlp32c", "hdl64e" (= "hdl64e_s3"), "hdl64e_s2", "vls128", "ouster". HDL-64E packets
     * carry no product byte: name the model and give its calibration_path. */
    const char *model;
    /* packet azimuth where sweeps are cut; default 180 (behind). Ouster: ignored, a sweep is
     * one frame of the sensor (column 0 faces backwards, so it is cut behind as well). */
    double cut_angle_deg;
    double min_range_m;       /* default 0.1 */
    double max_range_m;       /* default 250 */
    uint16_t data_port;       /* 0 = the sensor's default (2368 for Velodyne, 7502 Ouster) */
    /* Several sensors in one capture are told apart by source address and port: only
     * datagrams from this IPv4 source ("192.168.1.201") are read; NULL = any source. */
    const char *source_addr;
    uint16_t position_port;   /* 0 = default (8308; Ouster: the IMU port, 7503) */
    /* Ouster sensor metadata JSON; NULL = the capture's path with its extension replaced by
     * ".json" (avt_lidar_open only). Needed to decode Ouster captures. */
    const char *metadata_path;
    /* Velodyne per-unit calibration: VeloView db.xml or the ROS velodyne driver's YAML
     * (ingest/velodyne_calib.c says what is applied). NULL = the model's manual geometry;
     * required for the HDL-64E. Its laser count must match the model's. */
    const char *calibration_path;
} avt_lidar_config;

void avt_lidar_config_default(avt_lidar_config *cfg);

/* Frees the five point arrays of a sweep whose arrays the caller owns (not a borrowed sweep)
 * and sets them to NULL; the other fields are left alone. NULL is a no-op. */
void avt_sweep_free_arrays(avt_sweep *s);

/* Record numbers of corrupt packets kept in avt_lidar_stats (the first ones). */
#define AVT_LIDAR_CORRUPT_KEEP 8

/* Statistics of a capture so far; filled by avt_lidar_stats() at any time. */
typedef struct avt_lidar_stats {
    uint64_t records;          /* pcap records read */
    uint64_t data_packets;     /* decoded data packets */
    uint64_t position_packets; /* position/telemetry packets seen (Ouster: IMU packets) */
    uint64_t skipped;          /* records that were not for this sensor (other ports, ARP) or
                                  IPv4 fragments that did not complete a datagram */
    uint64_t corrupt;          /* data packets rejected as corrupt (counted and skipped) */
    uint64_t packets_lost;     /* total gaps detected */
    uint64_t columns_lost;     /* Ouster: columns of the window missing or invalid */
    uint64_t late;             /* Ouster: packets of an already released frame (dropped) */
    uint64_t duplicates;       /* Ouster: packets repeated within a frame (dropped) */
    uint64_t fragments;        /* IPv4 fragments seen */
    uint64_t reassembled;      /* datagrams reassembled from fragments */
    uint64_t frag_dropped;     /* fragments of datagrams given up (timeout, table full, bad) */
    uint64_t frag_overlaps;    /* fragments overlapping received bytes with other content */
    uint64_t sweeps;
    /* range measurements decoded, with or without a return: Velodyne firings x returns per
     * firing of the data packets, Ouster pixels x returns of the columns decoded. points /
     * measurements is the share that returned something in range; ouster-sdk's XYZ counts
     * measurements (every pixel), velodyne_decoder points. */
    uint64_t measurements;
    char model[32];            /* detected or configured model name */
    char first_corrupt[256];   /* message about the first corrupt packet, "" if none */
    /* the capture ends inside a record (power loss, a copy cut short): decoding stopped at
     * that record (1 = the first), the file's length in bytes, and a message naming both;
     * 0 and "" when it ended at a record boundary. A cut followed by more data is an error. */
    uint64_t truncated_record, truncated_byte;
    char truncated[320];
    /* record numbers (1 = the capture's first) of the first min(corrupt, AVT_LIDAR_CORRUPT_KEEP)
     * corrupt packets */
    uint64_t corrupt_record[AVT_LIDAR_CORRUPT_KEEP];
} avt_lidar_stats;

typedef struct avt_lidar_reader avt_lidar_reader;

/* Opens a pcap/pcapng capture. Returns NULL and fills err on failure (file missing, not a
 * capture, unsupported link type). The reader owns its memory; avt_lidar_close frees it. */
avt_lidar_reader *avt_lidar_open(const char *path, const avt_lidar_config *cfg, avt_error *err);
/* The same over a capture held in memory (not copied; must outlive the reader); name is used
 * in messages. */
avt_lidar_reader *avt_lidar_open_mem(const void *data, size_t len, const char *name,
                                     const avt_lidar_config *cfg, avt_error *err);
/* Returns 1 and sets *sweep (borrowed until the next call) for a sweep, 0 at the end of the
 * capture, a negative status on an error that stops decoding (truncated capture, unknown
 * sensor). Corrupt single packets are counted and skipped, not errors. */
int avt_lidar_next(avt_lidar_reader *r, const avt_sweep **sweep, avt_error *err);
void avt_lidar_stats_get(const avt_lidar_reader *r, avt_lidar_stats *stats);
/* The share of the capture's bytes read so far, 0..1 (for progress reports). */
double avt_lidar_fraction(const avt_lidar_reader *r);
void avt_lidar_close(avt_lidar_reader *r); /* NULL is a no-op */

/* ---- parallel decode of one capture ----
 *
 * A capture is split into parts at record boundaries; each part is decoded by its own
 * reader, and the parts' sweeps, concatenated in part order, are the sweeps of
 * avt_lidar_open/avt_lidar_next (same points, times, packets, packets_lost and complete
 * flags). A sweep belongs to the part holding its key record: for Velodyne the record of its
 * first packet; for Ouster the last lidar packet handed to the frame batcher when the frame
 * was released (ouster.c does not say which frame it releases). A part's reader starts
 * AVT_LIDAR_LEAD_NS of capture time before its first record (the lead-in), decoding but not
 * returning what it reads there, so that cut state, packet-loss counting, the Velodyne hour
 * and the Ouster frame window are those of the whole-capture reader; it stops at the first
 * sweep whose key lies past its part. Differences from the whole-capture reader: sweep.index
 * counts the part's sweeps from 0, the stats include the lead-in, and a part is read from the
 * capture's start when its lead-in cannot fix the reader's state: captures whose record times
 * do not advance, and Velodyne parts whose lead-in holds no cut that the whole-capture reader
 * must make as well (a sensor that does not turn; ingest/sweep.c gives the rule). Lead-in
 * time advances by the steps between record times, each clamped to 0..100 ms.
 * Only classic pcap of version 2.4 is split: libpcap's pcapng reader cannot be entered
 * mid-file (it must see every interface block, whose time resolution the record times need),
 * and older versions may hold record lengths swapped; such captures give part 0 = the whole
 * capture and empty parts. Captures must be regular files (they are read more than once). */
#define AVT_LIDAR_LEAD_NS 1000000000LL

typedef struct avt_lidar_part {
    uint64_t begin;       /* file offset of the part's first record; 0 for part 0 */
    uint64_t end;         /* the next part's begin; UINT64_MAX for the last part */
    uint64_t lead;        /* file offset where its reader starts; 0 = the first record */
    uint64_t lead_record; /* records before `lead` (record numbers in messages) */
} avt_lidar_part;

/* Splits the capture into nparts parts: part p begins at the first record at or after byte
 * p * size / nparts (parts without a record start are empty: begin == end). One header-only
 * pass over the file. Returns AVT_OK (parts[0..nparts) filled), or AVT_INVAL/AVT_IO/
 * AVT_FORMAT naming the file. A damaged record ends the scan: the part holding it reports the
 * error when decoded, as avt_lidar_next would. Thread-safe. */
int avt_lidar_split(const char *path, int nparts, avt_lidar_part *parts, avt_error *err);
int avt_lidar_split_mem(const void *data, size_t len, const char *name, int nparts,
                        avt_lidar_part *parts, avt_error *err);
/* avt_lidar_open for one part of avt_lidar_split; avt_lidar_next then returns that part's
 * sweeps. Independent readers of one capture may run on different threads. */
avt_lidar_reader *avt_lidar_open_part(const char *path, const avt_lidar_config *cfg,
                                      const avt_lidar_part *part, avt_error *err);
avt_lidar_reader *avt_lidar_open_part_mem(const void *data, size_t len, const char *name,
                                          const avt_lidar_config *cfg,
                                          const avt_lidar_part *part, avt_error *err);

/* Called for each sweep of part `part` (borrowed for the call); a nonzero return (an AVT_*
 * status) stops that part and is returned by avt_lidar_decode_parallel. */
typedef int (*avt_sweep_fn)(void *ctx, int part, const avt_sweep *sweep);

/* Decodes part p of avt_lidar_split's parts of the capture, calling fn for each of its sweeps
 * on this thread: AVT_OK, the reader's error, or fn's nonzero return (named in err). */
int avt_lidar_decode_part(const char *path, const avt_lidar_config *cfg, const avt_lidar_part *part, int p,
                          avt_sweep_fn fn, void *ctx, avt_error *err);

/* Splits the capture into nparts parts and decodes them on the OpenMP threads (the default
 * team size, omp_set_num_threads), one reader per part (memory: one sweep per thread). fn is
 * called on the decoding thread: in sweep order within a part, concurrently across parts, so
 * it must only touch per-part state. Returns AVT_OK, or the error of the first failing part
 * in part order (other parts still run to their end). */
int avt_lidar_decode_parallel(const char *path, const avt_lidar_config *cfg, int nparts,
                              avt_sweep_fn fn, void *ctx, avt_error *err);

/* ---- camera streams ---- */

/* One camera image known by its file. */
typedef struct avt_image_ref {
    char *path;       /* path relative to the log directory, e.g. "cameras/front/123.png" */
    int64_t t_ns;     /* image time (camera clock), ns since the epoch */
} avt_image_ref;

#define AVT_STREAM_MAX_WARNINGS 32
typedef struct avt_camera_stream {
    char *name;
    avt_image_ref *images; /* sorted by t_ns, strictly increasing */
    size_t n;
    const char *time_source;  /* "file names", "timestamps.txt" or "timestamps.csv" (static) */
    /* Problems found and the files left out because of them; the first
     * AVT_STREAM_MAX_WARNINGS messages are kept, each naming the file and the value. */
    char *warnings[AVT_STREAM_MAX_WARNINGS];
    size_t n_warnings;
    uint64_t warnings_total, bad_names, duplicate_times, backwards_times;
    /* images left out because their file failed avt_image_check (truncated, corrupt), and
     * their paths ("cameras/front/1.png, ...", cut with ", ..." when too long) */
    uint64_t damaged;
    char damaged_files[512];
} avt_camera_stream;

/* Lists cameras/<name>/ under log_dir. Image times come from, in this order:
 *  - cameras/<name>/timestamps.csv: header `file,t_ns`, one row per image (integer ns);
 *  - cameras/<name>/timestamps.txt: the KITTI raw format, `YYYY-MM-DD hh:mm:ss.fffffffff` in
 *    UTC, one line per .png in file-name order;
 *  - the file names (integer ns or us since the epoch, or seconds with a fraction).
 * Images are .png, .jpg or .jpeg files (avt_image_kind_of). Every listed image passes the
 * cheap structural check avt_image_check or is left out (see damaged) with a warning naming
 * the file and the damage.
 * Bad times never stop the listing: an unparseable name or line, a time equal to an earlier
 * one (duplicate) or, for the two timestamp files, earlier than the previous image's (time
 * going backwards) leaves that image out with a warning naming the file, line and value; a
 * camera without images (or without its directory) gives an empty stream and a warning.
 * Returns AVT_OK, or AVT_NOMEM / AVT_IO (unreadable directory or timestamp file). */
int avt_camera_stream_list(const char *log_dir, const char *name, avt_camera_stream *out,
                           avt_error *err);
void avt_camera_stream_free(avt_camera_stream *s);

/* Where a log's sweeps come from: a packet capture (lidar/<sensor>.pcap|.pcapng, decoded as
 * above) or already-decoded point-cloud files (lidar/<t_ns>.bin | .pcd.bin | .pcd, one sweep
 * per file, avtruth/pointcloud.h). Point-cloud files carry no per-point times, rings or return
 * types: every point gets the file's time, ring 0 and return type 0 (single), and each file is
 * one complete sweep whose start, end and reference times are that time. Not thread-safe. */
typedef struct avt_sweep_source avt_sweep_source;
/* Finds the log's LiDAR data: the first capture by name in lidar/, else the point-cloud files.
 * desc (size n) receives the capture path or the lidar/ directory, for messages. */
int avt_sweep_source_find(const char *log_dir, char *desc, size_t n, avt_error *err);
/* Opens what avt_sweep_source_find found. */
avt_sweep_source *avt_sweep_source_open(const char *desc, const avt_lidar_config *lc, avt_error *err);
/* As avt_lidar_next. */
int avt_sweep_source_next(avt_sweep_source *s, const avt_sweep **sw, avt_error *err);
/* The file the last sweep came from when it has one file per sweep, else NULL. */
const char *avt_sweep_source_file(const avt_sweep_source *s);
/* The capture file when the whole log is one capture, else NULL. */
const char *avt_sweep_source_capture(const avt_sweep_source *s);
/* The capture reader's statistics so far; 0 (st untouched) for point-cloud files. */
int avt_sweep_source_stats(const avt_sweep_source *s, avt_lidar_stats *st);
void avt_sweep_source_close(avt_sweep_source *s); /* NULL: no-op */
/* The share of the source read so far, 0..1: capture bytes, or files of the directory. */
double avt_sweep_source_fraction(const avt_sweep_source *s);

/* Parses an image time from a file name (without directory); returns AVT_OK or AVT_FORMAT. */
int avt_image_time_from_name(const char *file_name, int64_t *t_ns);
/* Parses a KITTI raw timestamp line "2011-09-26 13:02:25.964389445" (UTC; 0..9 fraction
 * digits; trailing spaces / CR allowed) into ns since the epoch. AVT_OK or AVT_FORMAT. */
int avt_kitti_time_parse(const char *line, int64_t *t_ns);
/* Reads a timestamps.txt of the KITTI format into a malloc'ed array (*t, *n). Any
 * unparseable line is AVT_FORMAT naming path and line. */
int avt_kitti_times_load(const char *path, int64_t **t, size_t *n, avt_error *err);

/* PNG header (IHDR) read without decoding the image. */
typedef struct avt_png_info {
    uint32_t width, height;
    int bit_depth, color_type;
} avt_png_info;
int avt_png_read_info(const char *path, avt_png_info *info, avt_error *err);
/* The same over a PNG in memory. */
int avt_png_read_info_mem(const void *data, size_t size, avt_png_info *info, avt_error *err);
/* Decodes the whole image (8/16-bit grey, grey+alpha, RGB, RGBA, palette; interlaced or not)
 * row by row without keeping it, checking every chunk CRC (ancillary chunks included) and the
 * zlib stream (adler32, length). AVT_FORMAT naming the file and libpng's message on damage. */
int avt_png_verify(const char *path, avt_png_info *info, avt_error *err);
int avt_png_verify_mem(const void *data, size_t size, avt_png_info *info, avt_error *err);

/* ---- camera image files: PNG and JPEG (ingest/image.c) ---- */
typedef enum avt_image_kind { AVT_IMAGE_UNKNOWN, AVT_IMAGE_PNG, AVT_IMAGE_JPEG } avt_image_kind;
/* By the file name's extension: .png; .jpg or .jpeg (either case). */
avt_image_kind avt_image_kind_of(const char *path);
/* Cheap structural check without decoding: PNG signature, every chunk's length and CRC, IHDR
 * first, IEND present; JPEG SOI, marker segments up to the first scan with a frame header,
 * EOI at the end. AVT_OK, or AVT_TRUNCATED / AVT_FORMAT / AVT_IO naming the file and where. */
int avt_image_check(const char *path, avt_error *err);
/* Dimensions from the PNG IHDR or the JPEG frame header (bit_depth 8 and color_type the
 * TJCS colour space for JPEG). */
int avt_image_read_info(const char *path, avt_png_info *info, avt_error *err);
/* A full decode (PNG: avt_png_verify; JPEG: libturbojpeg, warnings such as a premature end
 * are errors). */
int avt_image_verify(const char *path, avt_png_info *info, avt_error *err);
/* The image (PNG or JPEG) decoded to 8-bit RGB (grey 0: 3 w h bytes) or 8-bit grey (grey 1:
 * w h bytes), *px malloc'ed for the caller. Thread-safe. */
int avt_image_load(const char *path, int grey, uint32_t *w, uint32_t *h, unsigned char **px, avt_error *err);

#endif
