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
    AVT_RETURN_BOTH = 3 /* dual mode, strongest == last: emitted once */
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
    const char *model;        /* "auto" (default), "vlp16", "hdl32e", "vlp32c", ... */
    double cut_angle_deg;     /* packet azimuth where sweeps are cut; default 180 (behind) */
    double min_range_m;       /* default 0.1 */
    double max_range_m;       /* default 250 */
    uint16_t data_port;       /* 0 = the sensor's default (2368 for Velodyne) */
    uint16_t position_port;   /* 0 = default (8308) */
} avt_lidar_config;

void avt_lidar_config_default(avt_lidar_config *cfg);

/* Statistics of a capture so far; filled by avt_lidar_stats() at any time. */
typedef struct avt_lidar_stats {
    uint64_t records;          /* pcap records read */
    uint64_t data_packets;     /* decoded data packets */
    uint64_t position_packets; /* position/telemetry packets seen */
    uint64_t skipped;          /* records that were not for this sensor (other ports, ARP) */
    uint64_t corrupt;          /* data packets rejected as corrupt (counted and skipped) */
    uint64_t packets_lost;     /* total gaps detected */
    uint64_t sweeps;
    char model[32];            /* detected or configured model name */
    char first_corrupt[256];   /* message about the first corrupt packet, "" if none */
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
void avt_lidar_close(avt_lidar_reader *r); /* NULL is a no-op */

/* ---- camera streams ---- */

/* One camera image known by its file: the time comes from the file name. */
typedef struct avt_image_ref {
    char *path;       /* path relative to the log directory, e.g. "cameras/front/123.png" */
    int64_t t_ns;     /* image time from the file name, ns since the epoch */
} avt_image_ref;

typedef struct avt_camera_stream {
    char *name;
    avt_image_ref *images; /* sorted by t_ns */
    size_t n;
} avt_camera_stream;

/* Lists cameras/<name>/ under log_dir, parsing times from file names (integer ns or us since
 * the epoch, or seconds with a fraction). Unparseable names and duplicate times are errors
 * naming the file. */
int avt_camera_stream_list(const char *log_dir, const char *name, avt_camera_stream *out,
                           avt_error *err);
void avt_camera_stream_free(avt_camera_stream *s);

/* Parses an image time from a file name (without directory); returns AVT_OK or AVT_FORMAT. */
int avt_image_time_from_name(const char *file_name, int64_t *t_ns);

/* PNG header (IHDR) read without decoding the image. */
typedef struct avt_png_info {
    uint32_t width, height;
    int bit_depth, color_type;
} avt_png_info;
int avt_png_read_info(const char *path, avt_png_info *info, avt_error *err);

#endif
