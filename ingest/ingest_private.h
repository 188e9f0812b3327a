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
    int64_t rec_ns;          /* pcap record time, ns since the epoch */
    uint64_t record;         /* 1-based record number in the capture */
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
    char name[256];          /* file name used in messages */
} avt_pcap_src;

/* Opens a capture from a path (mem == NULL) or from memory (not copied). Supports pcap and
 * pcapng with link types Ethernet (802.1Q/QinQ tags), Linux SLL/SLL2, raw IPv4, BSD null and
 * loopback. Returns AVT_OK or fills err (AVT_IO, AVT_FORMAT, AVT_TRUNCATED, AVT_UNSUPPORTED). */
int avt_pcap_src_open(avt_pcap_src *s, const char *path, const void *mem, size_t len,
                      const char *name, avt_error *err);
/* Reads the next record: 1 and *f filled, 0 at the end, AVT_TRUNCATED/AVT_FORMAT naming the
 * file and record number. */
int avt_pcap_src_next(avt_pcap_src *s, avt_udp_frame *f, avt_error *err);
void avt_pcap_src_close(avt_pcap_src *s);

/* Extracts the IPv4/UDP payload of one captured frame of the given link type (DLT_*), reading
 * only data[0..caplen). Sets f->kind (and payload, ports, why); never fails otherwise. */
void avt_frame_extract(int linktype, const uint8_t *data, size_t caplen, avt_udp_frame *f);

/* ---- velodyne.c: models, packet checks and decoding ---- */

#define AVT_VLP_MAX_LASERS 32
#define AVT_VLP_MAX_COLUMNS 24  /* firing sequences per packet (VLP-16 single return) */
#define AVT_VLP_MAX_POINTS 384  /* 12 blocks x 32 returns */
#define AVT_TOH_LIMIT_US 3600000000u

typedef struct avt_vlp_model {
    const char *name;          /* "vlp16", as in avt_lidar_config.model */
    uint8_t product;           /* factory byte 1205 */
    int lasers;                /* lasers per firing sequence */
    int seq_per_block;         /* firing sequences per data block */
    int lasers_per_firing;     /* lasers fired at the same instant (VLP-32C fires pairs) */
    int32_t seq_ns;            /* one firing sequence incl. recharge */
    int32_t firing_ns;         /* between consecutive firings */
    double dist_unit_m;
    const double *elevation_deg;   /* [lasers], in firing order */
    const double *vert_offset_mm;  /* [lasers] or NULL */
    const double *azimuth_offset_deg; /* [lasers] or NULL: added to the block azimuth */
} avt_vlp_model;

/* Returns the model named name (case-insensitive), or NULL. */
const avt_vlp_model *avt_vlp_model_find(const char *name);
/* Returns the model whose factory product byte is product, or NULL. */
const avt_vlp_model *avt_vlp_model_by_product(uint8_t product);

/* Per-reader decode tables, computed once from a model and the range limits. */
typedef struct avt_vlp_tables {
    const avt_vlp_model *m;
    float cos_el[AVT_VLP_MAX_LASERS];   /* cos(elevation) * distance unit */
    float sin_el[AVT_VLP_MAX_LASERS];   /* sin(elevation) * distance unit */
    float z_off[AVT_VLP_MAX_LASERS];    /* vertical offset, metres */
    int32_t rot_cdeg[AVT_VLP_MAX_LASERS]; /* azimuth offset, 0.01 deg */
    uint16_t ring[AVT_VLP_MAX_LASERS];
    uint32_t raw_min, raw_max;          /* range filter on the raw distance, inclusive */
    float *cos_az, *sin_az;             /* 36000 entries, 0.01 deg steps */
} avt_vlp_tables;

int avt_vlp_tables_init(avt_vlp_tables *t, const avt_vlp_model *m, double min_range_m,
                        double max_range_m, avt_error *err);
void avt_vlp_tables_free(avt_vlp_tables *t);

/* Checks a data payload: 1206 bytes, every block flag FF EE, azimuths < 36000, timestamp
 * < one hour. Returns AVT_OK, or AVT_FORMAT with a reason in why. */
int avt_vlp_check(const uint8_t *p, size_t len, char *why, size_t why_n);

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
    float xyz[3 * AVT_VLP_MAX_POINTS];
    float intensity[AVT_VLP_MAX_POINTS];
    uint16_t ring[AVT_VLP_MAX_POINTS];
    int64_t t_ns[AVT_VLP_MAX_POINTS];
    uint8_t return_type[AVT_VLP_MAX_POINTS];
} avt_vlp_packet;

/* Decodes a payload that passed avt_vlp_check; pkt_ns is the absolute packet time (first
 * firing). Pure function of its inputs. */
void avt_vlp_decode(const avt_vlp_tables *t, const uint8_t *p, int64_t pkt_ns, avt_vlp_packet *out);

/* Time one data packet covers for the model and return mode byte, in ns. */
int64_t avt_vlp_packet_duration_ns(const avt_vlp_model *m, uint8_t mode);

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
    int w, h;                    /* columns_per_frame, pixels_per_column (= beams) */
    int cols_per_packet;
    int col_lo, col_hi;          /* column_window, inclusive (wraps when lo > hi) */
    uint16_t lidar_port, imu_port; /* 0 when the JSON does not say */
    double alt_deg[AVT_OUSTER_MAX_BEAMS], az_deg[AVT_OUSTER_MAX_BEAMS];
    double beam_to_lidar[16];    /* row-major 4x4, mm */
    double lidar_to_sensor[16];  /* row-major 4x4, mm */
    int defaulted;               /* fields filled with the SDK's defaults (reduced JSON) */
    char prod_line[32];
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
/* Checks one lidar packet against the metadata: size, packet type, measurement ids < w.
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

#endif
