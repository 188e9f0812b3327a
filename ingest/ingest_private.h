/* avtruth ingest, private: capture reading (pcap.c) and Velodyne packet decoding (velodyne.c)
 * shared with the sweep assembler (sweep.c). Not installed; tests include it directly. */
#ifndef AVTRUTH_INGEST_PRIVATE_H
#define AVTRUTH_INGEST_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "avtruth/common.h"
#include "avtruth/ingest.h"

/* ---- pcap.c: capture records to UDP payloads ---- */

enum avt_frame_kind {
    AVT_FRAME_UDP = 0,      /* an IPv4/UDP datagram; payload/ports valid */
    AVT_FRAME_OTHER = 1,    /* not IPv4/UDP (ARP, IPv6, TCP, ...) */
    AVT_FRAME_FRAGMENT = 2, /* an IPv4 fragment of a UDP datagram; frag_* and payload valid */
    AVT_FRAME_BAD = 3       /* headers inconsistent with the captured bytes; `why` says how */
};

typedef struct avt_udp_frame {
    int kind;                /* enum avt_frame_kind */
    const uint8_t *payload;  /* UDP payload, borrowed from the capture until the next record */
    size_t len;
    uint16_t src_port, dst_port; /* also set for AVT_FRAME_BAD when the UDP header was read */
    int ports_known;
    uint32_t src_addr;       /* IPv4 source address (host order) when addr_known */
    int addr_known;
    int64_t rec_ns;          /* pcap record time, ns since the epoch */
    uint64_t record;         /* 1-based record number in the capture */
    uint64_t rec_off;        /* file offset of the record (of the block, for pcapng) */
    char why[96];            /* for AVT_FRAME_BAD */
    /* AVT_FRAME_FRAGMENT: the datagram key, the fragment's place; payload/len = its bytes */
    uint32_t frag_src, frag_dst;
    uint16_t frag_id;
    uint8_t frag_proto;
    int frag_more;
    size_t frag_off;         /* bytes */
} avt_udp_frame;

/* IPv4 reassembly (RFC 791 section 3.2 "reassembly", RFC 815 for the hole bookkeeping):
 * at most AVT_FRAG_MAX_DATAGRAMS datagrams in progress (the oldest is given up for a new one),
 * each at most AVT_FRAG_MAX_PAYLOAD bytes of IP payload (a 65535-byte datagram less a minimal
 * header), given up AVT_FRAG_TIMEOUT_NS of capture time after its first fragment. Fragments
 * that repeat received bytes exactly are duplicates (ignored); fragments that overlap them
 * with other bytes, or disagree about the end, drop the whole datagram (counted). */
#define AVT_FRAG_MAX_DATAGRAMS 16
#define AVT_FRAG_MAX_PAYLOAD (65535 - 20)
#define AVT_FRAG_TIMEOUT_NS 1000000000LL

typedef struct avt_frag_stats {
    uint64_t fragments, reassembled, dropped, overlaps, duplicates;
} avt_frag_stats;

typedef struct avt_frag_slot {
    int used;
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    int64_t first_ns;
    size_t total;     /* IP payload length, known once the last fragment came; 0 before */
    size_t max_end;   /* end of the furthest fragment received */
    size_t blocks;    /* 8-byte blocks received */
    uint32_t nfrags;
    uint8_t *buf;     /* AVT_FRAG_MAX_PAYLOAD bytes, then the block bitmap; kept for reuse */
} avt_frag_slot;

typedef struct avt_frag_table {
    avt_frag_slot slot[AVT_FRAG_MAX_DATAGRAMS];
    int active;
    int last;          /* slot of the latest fragment: the next one's, usually */
    int64_t expire_at; /* no slot times out at or before this capture time (0: look) */
} avt_frag_table;

/* Adds one fragment (payload of frame f of kind AVT_FRAME_FRAGMENT) at capture time now_ns.
 * Returns 1 when it completes a datagram: data and len are then the reassembled IP payload,
 * borrowed until the next call; 0 otherwise; AVT_NOMEM when a buffer cannot be had (the
 * fragment is dropped and counted). */
int avt_frag_add(avt_frag_table *t, avt_frag_stats *st, const avt_udp_frame *f, int64_t now_ns,
                 const uint8_t **data, size_t *len);
/* Gives up datagrams older than the timeout at now_ns. */
void avt_frag_expire(avt_frag_table *t, avt_frag_stats *st, int64_t now_ns);
void avt_frag_free(avt_frag_table *t);
/* Fills f (ports, payload, kind UDP or BAD) from a UDP datagram's bytes (IP payload). */
void avt_udp_parse(const uint8_t *p, size_t n, avt_udp_frame *f);

typedef struct avt_pcap_src {
    pcap_t *pc;
    avt_frag_table ft;
    avt_frag_stats frag;
    int linktype;            /* DLT_* */
    uint64_t record;         /* records read so far */
    uint64_t off;            /* file offset of the next record */
    uint64_t size;           /* bytes of the capture (progress) */
    char name[256];          /* file name used in messages */
    char *iobuf;             /* the FILE's buffer (path captures), freed after pcap_close */
    /* the file ended inside a record (power loss, a copy cut short): that record (1 = the
     * first) and the file's length; 0 if it ended at a record boundary */
    uint64_t cut_record, cut_byte;
} avt_pcap_src;

/* Opens a capture from a path (mem == NULL) or from memory (not copied). Supports pcap and
 * pcapng with link types Ethernet (802.1Q/QinQ tags), Linux SLL/SLL2, raw IPv4, BSD null and
 * loopback. Returns AVT_OK or fills err (AVT_IO, AVT_FORMAT, AVT_TRUNCATED, AVT_UNSUPPORTED). */
int avt_pcap_src_open(avt_pcap_src *s, const char *path, const void *mem, size_t len,
                      const char *name, avt_error *err);
/* Reads the next record: 1 and *f filled, 0 at the end, AVT_TRUNCATED/AVT_FORMAT naming the
 * file and record number. A file that ends inside a record (the last one cut) ends there: 0,
 * with cut_record and cut_byte set; damage followed by more data is an error. */
int avt_pcap_src_next(avt_pcap_src *s, avt_udp_frame *f, avt_error *err);
void avt_pcap_src_close(avt_pcap_src *s);
/* Moves to the record at file offset off (a record boundary from avt_lidar_split), which has
 * `record` records before it. Returns AVT_OK or AVT_IO. */
int avt_pcap_src_seek(avt_pcap_src *s, uint64_t off, uint64_t record, avt_error *err);
/* avt_lidar_split over a path (mem == NULL) or memory. */
int avt_pcap_split(const char *path, const void *mem, size_t len, const char *name, int nparts,
                   avt_lidar_part *parts, avt_error *err);

/* Extracts the IPv4/UDP payload of one captured frame of the given link type (DLT_*), reading
 * only data[0..caplen). Sets f->kind (and payload, ports, why); never fails otherwise. */
void avt_frame_extract(int linktype, const uint8_t *data, size_t caplen, avt_udp_frame *f);

/* ---- velodyne.c: models, packet checks and decoding ---- */

#define AVT_VLP_MAX_LASERS 128
#define AVT_VLP_MAX_COLUMNS 24  /* firing sequences per packet (VLP-16 single return) */
#define AVT_VLP_MAX_POINTS 384  /* 12 blocks x 32 returns */
#define AVT_TOH_LIMIT_US 3600000000u

/* How the 12 blocks of a data packet map to lasers (velodyne.c draws them). */
enum avt_vlp_layout {
    AVT_VLP_LAYOUT_PUCK = 0,   /* every block flag FF EE; a block holds seq_per_block firing
                                  sequences of `lasers` lasers (VLP-16, HDL-32E, VLP-32C) */
    AVT_VLP_LAYOUT_HDL64 = 1,  /* blocks alternate upper FF EE (lasers 0-31) and lower FF DD
                                  (32-63); no return mode / product bytes */
    AVT_VLP_LAYOUT_VLS128 = 2  /* banks FF EE, FF DD, FF CC, FF BB (lasers 0-31 .. 96-127) */
};

/* Firing time of a laser within its firing sequence (velodyne.c cites the tables). */
enum avt_vlp_timing {
    AVT_VLP_TIMING_SEQUENTIAL = 0, /* (laser / lasers_per_firing) * firing_ns */
    AVT_VLP_TIMING_HDL64_S2 = 1,
    AVT_VLP_TIMING_HDL64_S3 = 2,
    AVT_VLP_TIMING_VLS128 = 3
};

typedef struct avt_vlp_model {
    const char *name;          /* "vlp16", as in avt_lidar_config.model */
    uint8_t product;           /* factory byte 1205; 0 = the model has none (HDL-64E) */
    int layout;                /* enum avt_vlp_layout */
    int timing;                /* enum avt_vlp_timing */
    int lasers;                /* lasers per firing sequence */
    int seq_per_block;         /* firing sequences per data block (PUCK layout) */
    int lasers_per_firing;     /* lasers fired at the same instant (VLP-32C fires pairs) */
    int32_t seq_ns;            /* one firing sequence incl. recharge */
    int32_t firing_ns;         /* between consecutive firings (SEQUENTIAL timing) */
    int32_t toh_offset_ns;     /* first firing relative to the packet timestamp */
    double dist_unit_m;
    const double *elevation_deg;   /* [lasers], in firing order; NULL: needs a calibration */
    const double *vert_offset_mm;  /* [lasers] or NULL */
    const double *azimuth_offset_deg; /* [lasers] or NULL: added to the block azimuth */
} avt_vlp_model;

/* Returns the model named name (case-insensitive), or NULL. */
const avt_vlp_model *avt_vlp_model_find(const char *name);
/* Returns the model whose factory product byte is product, or NULL. */
const avt_vlp_model *avt_vlp_model_by_product(uint8_t product);
/* Comma-separated names of the models, for messages. */
const char *avt_vlp_model_names(void);

/* ---- velodyne_calib.c: per-unit calibration files ---- */

/* One laser of a calibration, in the units of the ROS driver's YAML (radians, metres). */
typedef struct avt_vlp_laser_calib {
    int present;
    double rot_rad, vert_rad;          /* rot_correction, vert_correction */
    double dist_m, dist_x_m, dist_y_m; /* dist_correction and the two-point corrections */
    double vert_offset_m, horiz_offset_m;
    double focal_distance_m, focal_slope;
    int two_pt;                        /* two_pt_correction_available */
    int min_intensity, max_intensity;  /* 0 and 255 when absent */
} avt_vlp_laser_calib;

typedef struct avt_vlp_calib {
    int lasers;                        /* laser_id 0..lasers-1, each present once */
    double distance_resolution_m;      /* 0 when the file does not say */
    avt_vlp_laser_calib laser[AVT_VLP_MAX_LASERS];
} avt_vlp_calib;

/* Parses a calibration: the ROS velodyne driver's YAML (lasers: [{laser_id, rot_correction,
 * ...}], num_lasers, distance_resolution) or VeloView's db.xml (boost serialization: distLSB_,
 * points_/px with degrees and centimetres, minIntensity_/maxIntensity_), told apart by a
 * leading '<'. name is used in messages. Returns AVT_OK or AVT_FORMAT naming the line/laser
 * and the value. Pure function; thread-safe. */
int avt_vlp_calib_parse(const char *text, size_t len, const char *name, avt_vlp_calib *c,
                        avt_error *err);
int avt_vlp_calib_load(const char *path, avt_vlp_calib *c, avt_error *err);

/* Per-reader decode tables, computed once from a model (and a calibration, if any) and the
 * range limits. A point of laser l at raw distance r and azimuth table index a is
 *   A = a - rot[l];  rxy = r kxy[l] + rxy0[l]
 *   x = rxy cos A + horiz[l] sin A,  y = -rxy sin A + horiz[l] cos A,  z = r kz[l] + z0[l]
 * (the ROS driver's calibrated geometry in our frame; see velodyne.c). */
typedef struct avt_vlp_tables {
    const avt_vlp_model *m;
    float kxy[AVT_VLP_MAX_LASERS], rxy0[AVT_VLP_MAX_LASERS];
    float kz[AVT_VLP_MAX_LASERS], z0[AVT_VLP_MAX_LASERS];
    float horiz[AVT_VLP_MAX_LASERS];
    float cos_rot[AVT_VLP_MAX_LASERS], sin_rot[AVT_VLP_MAX_LASERS];
    int32_t toff_ns[AVT_VLP_MAX_LASERS];  /* firing time within the sequence */
    int32_t last_firing_ns;                /* latest of toff_ns */
    int rotated;                           /* some rot or horiz is not 0: the general formula */
    uint16_t ring[AVT_VLP_MAX_LASERS];
    uint32_t raw_min[AVT_VLP_MAX_LASERS], raw_max[AVT_VLP_MAX_LASERS]; /* range filter, inclusive */
    float *cos_az, *sin_az;             /* 36000 entries, 0.01 deg steps */
} avt_vlp_tables;

/* calib may be NULL (the model's manual geometry); a model without one (HDL-64E) needs it. */
int avt_vlp_tables_init(avt_vlp_tables *t, const avt_vlp_model *m, const avt_vlp_calib *calib,
                        double min_range_m, double max_range_m, avt_error *err);
void avt_vlp_tables_free(avt_vlp_tables *t);

/* Checks a data payload: 1206 bytes, block flags as the model's layout wants them (m NULL:
 * any Velodyne bank flag), azimuths < 36000, timestamp < one hour. Returns AVT_OK, or
 * AVT_FORMAT with a reason in why. */
int avt_vlp_check(const avt_vlp_model *m, const uint8_t *p, size_t len, char *why, size_t why_n);
/* 1 if the packet is a dual-return one (mode byte 0x39; HDL-64E: blocks 0 and 2 share their
 * azimuth). */
int avt_vlp_is_dual(const avt_vlp_model *m, const uint8_t *p);

/* A decoded packet: firing sequences ("columns") in time order, with their points. */
typedef struct avt_vlp_packet {
    int ncols;
    int dual;
    int64_t duration_ns;                /* ncols * seq_ns: the time one packet covers */
    double rate_cdeg_per_ns;            /* azimuth rate measured over the packet */
    int64_t col_ns[AVT_VLP_MAX_COLUMNS];     /* time of the column's first firing */
    int64_t col_end_ns[AVT_VLP_MAX_COLUMNS]; /* time of its last firing */
    int32_t col_az[AVT_VLP_MAX_COLUMNS];     /* interpolated azimuth of its first firing */
    uint16_t col_first[AVT_VLP_MAX_COLUMNS + 1]; /* points of column c: [col_first[c], col_first[c+1]) */
    /* Where the points go, set by the caller: room for AVT_VLP_MAX_POINTS each (the sweep
     * reader points them into its sweep, so that nothing is copied in the common case). */
    float *xyz;
    float *intensity;
    uint16_t *ring;
    int64_t *t_ns;
    uint8_t *return_type;
} avt_vlp_packet;

/* Decodes a payload that passed avt_vlp_check for t->m into out's columns and its point
 * arrays (set by the caller); pkt_ns is the absolute packet time
 * (its timestamp). rate_hint (0.01 deg per ns) is used when the packet holds a single azimuth
 * (VLS-128 dual return): the rate measured over the previous packets, 0 if unknown. Pure
 * function of its inputs. */
void avt_vlp_decode(const avt_vlp_tables *t, const uint8_t *p, int64_t pkt_ns, double rate_hint,
                    avt_vlp_packet *out);

/* Time one data packet covers, in ns. */
int64_t avt_vlp_packet_duration_ns(const avt_vlp_model *m, const uint8_t *p);

/* Parses the $GPRMC sentence of a position packet (payload of 512 bytes). Returns 1 and the
 * UTC time it states (ns since the epoch) if it is present and valid ('A'), else 0. */
int avt_vlp_position_time(const uint8_t *p, size_t len, int64_t *utc_ns);

/* Absolute time of a "microseconds past the hour" stamp: the hour is taken from est_ns (the
 * record time corrected by any known device-host offset) and moved by one hour when that puts
 * the result more than 30 min away from est_ns (roll-over between the clocks). */
int64_t avt_toh_to_abs_ns(uint32_t toh_us, int64_t est_ns);

/* ---- ouster.c: sensor metadata, packet checks, frame batching and decoding ---- */

#include "avtruth/ouster.h"

typedef struct avt_ouster_meta {
    int profile;                 /* enum avt_ouster_profile */
    int fusa_header;             /* FuSa packet header (u8 type, u32 frame id): lidar_data_format
                                    header_type "FUSA", or the FUSA profile without one */
    int w, h;                    /* columns_per_frame, pixels_per_column (= beams) */
    int cols_per_packet;
    int col_lo, col_hi;          /* column_window, inclusive (wraps when lo > hi) */
    uint16_t lidar_port, imu_port; /* 0 when the JSON does not say */
    double alt_deg[AVT_OUSTER_MAX_BEAMS], az_deg[AVT_OUSTER_MAX_BEAMS];
    double beam_to_lidar[16];    /* row-major 4x4, mm */
    double lidar_to_sensor[16];  /* row-major 4x4, mm */
    int defaulted;               /* fields filled with the SDK's defaults (reduced JSON) */
    char prod_line[32];
    uint64_t prod_sn;            /* the unit's serial number, 0 when the JSON does not say */
} avt_ouster_meta;

/* Parses sensor metadata JSON (firmware 1.x reduced "sensor_config", 2.x flat with
 * data_format, 3.x nested beam_intrinsics/lidar_data_format/config_params). name is used in
 * messages. Returns AVT_OK, AVT_FORMAT (not JSON, a field of the wrong type or range) or
 * AVT_UNSUPPORTED (a udp_profile_lidar we do not decode). Pure function; thread-safe. */
int avt_ouster_meta_parse(const char *json, size_t len, const char *name, avt_ouster_meta *m,
                          avt_error *err);
/* UDP payload size of one lidar packet for the metadata's profile and geometry. */
size_t avt_ouster_packet_size(const avt_ouster_meta *m);
/* 1 if len is the size of an Ouster lidar packet of some profile with a plausible beam count
 * (used to recognise Ouster traffic before the metadata is known). */
int avt_ouster_size_plausible(size_t len);
/* Checks one lidar packet against the metadata: size, packet type, the serial number (when
 * both carry one), measurement ids < w.
 * Returns AVT_OK or AVT_FORMAT with a reason in why. On success *frame_id is set. */
int avt_ouster_check(const avt_ouster_meta *m, const uint8_t *p, size_t len, uint32_t *frame_id,
                     char *why, size_t why_n);

/* Frame batcher: packets in, one avt_sweep per frame id out (see ouster.c). */
typedef struct avt_ouster_batcher avt_ouster_batcher;
avt_ouster_batcher *avt_ouster_batcher_new(const avt_ouster_meta *m, double min_range_m,
                                           double max_range_m, avt_error *err);
void avt_ouster_batcher_free(avt_ouster_batcher *b);
/* Stores a packet that passed avt_ouster_check. Returns 1 when a frame was released into the
 * batcher's sweep (get it with avt_ouster_batcher_sweep), 0 otherwise. *late is set when the
 * packet belonged to a frame already released (dropped), *dup for a repeated packet. */
int avt_ouster_batcher_push(avt_ouster_batcher *b, const uint8_t *p, uint32_t frame_id,
                            int64_t rec_ns, int *late, int *dup);
/* Releases a frame whose reordering window has passed, or (at_end) any frame held. */
int avt_ouster_batcher_release(avt_ouster_batcher *b, int at_end);
avt_sweep *avt_ouster_batcher_sweep(avt_ouster_batcher *b);
const avt_ouster_meta *avt_ouster_batcher_meta(const avt_ouster_batcher *b);
/* Columns in the window missing or invalid in released frames so far. */
uint64_t avt_ouster_batcher_columns_lost(const avt_ouster_batcher *b);
/* Pixels x returns of the columns decoded into released frames so far. */
uint64_t avt_ouster_batcher_measurements(const avt_ouster_batcher *b);

#endif
