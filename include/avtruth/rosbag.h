/* avtruth rosbag: ROS 2 bags as input. Storage: MCAP (rosbag2's default since Iron; a reader
 * written from the MCAP specification, foxglove/mcap docs/specification) and sqlite3 (`.db3` +
 * metadata.yaml, through libsqlite3). Messages: CDR (XCDR1, OMG DDS-XTypes 7.4.1) of the types a
 * drive log needs. docs/rosbag2.md describes the import into a drive log. */
#ifndef AVTRUTH_ROSBAG_H
#define AVTRUTH_ROSBAG_H

#include <stddef.h>
#include <stdint.h>

#include "avtruth/common.h"

/* ---------------------------------------------------------------------------------------- */
/* MCAP                                                                                     */

enum avt_mcap_op {
    AVT_MCAP_HEADER = 0x01,
    AVT_MCAP_FOOTER = 0x02,
    AVT_MCAP_SCHEMA = 0x03,
    AVT_MCAP_CHANNEL = 0x04,
    AVT_MCAP_MESSAGE = 0x05,
    AVT_MCAP_CHUNK = 0x06,
    AVT_MCAP_MESSAGE_INDEX = 0x07,
    AVT_MCAP_CHUNK_INDEX = 0x08,
    AVT_MCAP_ATTACHMENT = 0x09,
    AVT_MCAP_ATTACHMENT_INDEX = 0x0A,
    AVT_MCAP_STATISTICS = 0x0B,
    AVT_MCAP_METADATA = 0x0C,
    AVT_MCAP_METADATA_INDEX = 0x0D,
    AVT_MCAP_SUMMARY_OFFSET = 0x0E,
    AVT_MCAP_DATA_END = 0x0F,
};

/* Field kinds of the specification's "Serialization" section. Integers are in `u`; strings,
 * byte fields, maps and arrays are (p, n) views of their content without the length prefix
 * (maps and arrays are validated by avt_mcap_decode, so iterating them cannot fail). */
enum avt_mcap_kind {
    AVT_MCAP_U8, AVT_MCAP_U16, AVT_MCAP_U32, AVT_MCAP_U64,
    AVT_MCAP_STR,        /* uint32 length + UTF-8 */
    AVT_MCAP_BYTES32,    /* uint32 length + bytes */
    AVT_MCAP_BYTES64,    /* uint64 length + bytes */
    AVT_MCAP_REST,       /* the rest of the record (Message data) */
    AVT_MCAP_MAP_SS,     /* Map<string, string> */
    AVT_MCAP_MAP_U16U64, /* Map<uint16, uint64> */
    AVT_MCAP_TUPLES,     /* Array<Tuple<Timestamp, uint64>> */
};

typedef struct avt_mcap_field {
    const char *name; /* the specification's field name ("log_time") */
    int kind;         /* enum avt_mcap_kind */
    uint64_t u;
    const uint8_t *p;
    size_t n;
} avt_mcap_field;

#define AVT_MCAP_MAX_FIELDS 10
/* One decoded record. Views point into the file or the current chunk: borrowed until the
 * next avt_mcap_next. Unknown opcodes (0x80-0xFF, future ones) come back with nfields 0. */
typedef struct avt_mcap_record {
    uint8_t op;
    const char *type;   /* "Message", "ChunkIndex", ... ("Unknown" for others) */
    uint64_t offset;    /* file offset of the record (of its chunk for records inside one) */
    int in_chunk;
    int nfields;
    avt_mcap_field f[AVT_MCAP_MAX_FIELDS];
} avt_mcap_record;

/* Decodes one record's content by the specification's table for op. Trailing bytes after the
 * known fields are ignored (records may be extended). Returns AVT_OK or AVT_FORMAT naming the
 * field. Thread-safe. */
int avt_mcap_decode(uint8_t op, const uint8_t *body, size_t len, avt_mcap_record *rec, avt_error *err);
/* The field of rec named name, or NULL. */
const avt_mcap_field *avt_mcap_field_get(const avt_mcap_record *rec, const char *name);

/* Chunks larger than this (uncompressed) are refused. */
#define AVT_MCAP_MAX_CHUNK ((uint64_t)1 << 30)

typedef struct avt_mcap_reader avt_mcap_reader;
/* Opens an MCAP file (mapped into memory) or a caller-owned buffer (kept until close). name
 * is used in messages. A file that does not end with a Footer and the closing magic (cut by a
 * power loss, or still being written) is read up to its last complete record, after which
 * avt_mcap_next returns AVT_TRUNCATED naming the record and byte where it ends. */
int avt_mcap_open(const char *path, avt_mcap_reader **out, avt_error *err);
int avt_mcap_open_mem(const void *data, size_t len, const char *name, avt_mcap_reader **out,
                      avt_error *err);
/* The next record in file order, chunks expanded: the records inside a Chunk are returned in
 * its place (decompressed: "" / "zstd" / "lz4" frame) and the Chunk record itself is not.
 * Checks every length, the chunk, attachment, data-section and summary CRCs. Returns 1 for a
 * record, 0 after the Footer, negative on error ("FILE: record N at byte B: ..."); after an
 * error it returns 0. */
int avt_mcap_next(avt_mcap_reader *r, avt_mcap_record *rec, avt_error *err);
/* Share of the file's records read (top-level position / end), 0..1; it moves past a whole
 * Chunk when the chunk is entered (a file of one big chunk jumps to near 1 at its start). */
double avt_mcap_fraction(const avt_mcap_reader *r);
void avt_mcap_close(avt_mcap_reader *r);

/* ---------------------------------------------------------------------------------------- */
/* Bags: one topic list and one message stream over both storages                           */

typedef struct avt_bag_topic {
    char *name;     /* "/velodyne_packets" */
    char *type;     /* "velodyne_msgs/msg/VelodyneScan" */
    char *encoding; /* "cdr" */
} avt_bag_topic;

typedef struct avt_bag_msg {
    size_t topic;        /* index into the topic list */
    int64_t recv_ns;     /* the bag's receive time (sqlite3 timestamp, MCAP log_time) */
    const uint8_t *data; /* serialized message, borrowed until the next avt_bag_next */
    size_t len;
} avt_bag_msg;

typedef struct avt_bag avt_bag;
/* Opens a bag: a rosbag2 directory (metadata.yaml naming its .db3 or .mcap files, possibly
 * compressed by rosbag2 with zstd per message or per file), a directory of .db3/.mcap files
 * without metadata.yaml, a single .db3 or a single .mcap file. Topics appear as the stream
 * reaches them (sqlite3: a file's topics table when the file is opened; MCAP: its Channel
 * records, type = the channel's schema name). Not thread-safe; one bag per thread. */
int avt_bag_open(const char *path, avt_bag **out, avt_error *err);
/* The topics seen so far; the array may move at the next avt_bag_next. */
const avt_bag_topic *avt_bag_topics(const avt_bag *bag, size_t *n);
/* Next message: sqlite3 files by (timestamp, id), MCAP in file order; the files of a
 * directory in metadata.yaml's order. Returns 1, 0 at the end, negative on error;
 * AVT_TRUNCATED when the last file is cut (its messages before the cut were returned), an
 * error when a cut file is followed by more files. */
int avt_bag_next(avt_bag *bag, avt_bag_msg *msg, avt_error *err);
/* Share of the bag read, 0..1: its files count alike; within a file, the MCAP reader's
 * position or the sqlite3 messages read of the file's count. */
double avt_bag_fraction(const avt_bag *bag);
void avt_bag_close(avt_bag *bag);

/* ---------------------------------------------------------------------------------------- */
/* CDR messages. Every decoder reads a whole serialized message (4-byte encapsulation header,
 * CDR_LE or CDR_BE; alignment relative to the byte after the header), checks every count
 * against the bytes left, and fails with AVT_FORMAT naming the field. Views point into the
 * message buffer; arrays the decoder allocates are freed by the matching _free. */

typedef struct avt_ros_header {
    int64_t stamp_ns;
    char frame_id[128]; /* truncated if longer */
} avt_ros_header;

typedef struct avt_velodyne_packet {
    int64_t stamp_ns;
    const uint8_t *data; /* 1206 bytes */
} avt_velodyne_packet;

typedef struct avt_velodyne_scan { /* velodyne_msgs/msg/VelodyneScan */
    avt_ros_header header;
    size_t n;
    avt_velodyne_packet *packets;
} avt_velodyne_scan;
#define AVT_VELODYNE_PACKET_BYTES 1206
int avt_cdr_velodyne_scan(const uint8_t *msg, size_t len, avt_velodyne_scan *out, avt_error *err);
void avt_velodyne_scan_free(avt_velodyne_scan *s);

/* ouster_sensor_msgs/msg/PacketMsg (uint8[] buf) and std_msgs/msg/String (the metadata; *s is
 * NUL-terminated inside msg, *n excludes the NUL). */
int avt_cdr_bytes_msg(const uint8_t *msg, size_t len, const uint8_t **buf, size_t *n, avt_error *err);
int avt_cdr_string_msg(const uint8_t *msg, size_t len, const char **s, size_t *n, avt_error *err);

typedef struct avt_ros_point_field {
    char name[32];
    uint32_t offset;
    uint8_t datatype; /* 1 INT8 2 UINT8 3 INT16 4 UINT16 5 INT32 6 UINT32 7 FLOAT32 8 FLOAT64 */
    uint32_t count;
} avt_ros_point_field;

#define AVT_ROS_MAX_POINT_FIELDS 32
typedef struct avt_ros_pointcloud2 { /* sensor_msgs/msg/PointCloud2 */
    avt_ros_header header;
    uint32_t height, width, point_step, row_step;
    uint8_t is_bigendian, is_dense;
    size_t nfields;
    avt_ros_point_field fields[AVT_ROS_MAX_POINT_FIELDS];
    const uint8_t *data;
    size_t len;
} avt_ros_pointcloud2;
/* Also checks that data holds height * row_step bytes and every field fits in point_step. */
int avt_cdr_pointcloud2(const uint8_t *msg, size_t len, avt_ros_pointcloud2 *out, avt_error *err);

typedef struct avt_ros_image { /* sensor_msgs/msg/Image */
    avt_ros_header header;
    uint32_t height, width, step;
    char encoding[32];
    uint8_t is_bigendian;
    const uint8_t *data;
    size_t len;
} avt_ros_image;
/* Also checks that data holds height * step bytes. */
int avt_cdr_image(const uint8_t *msg, size_t len, avt_ros_image *out, avt_error *err);

typedef struct avt_ros_compressed_image { /* sensor_msgs/msg/CompressedImage */
    avt_ros_header header;
    char format[64]; /* "png", "jpeg", "bgr8; jpeg compressed bgr8" */
    const uint8_t *data;
    size_t len;
} avt_ros_compressed_image;
int avt_cdr_compressed_image(const uint8_t *msg, size_t len, avt_ros_compressed_image *out, avt_error *err);

typedef struct avt_ros_camera_info { /* sensor_msgs/msg/CameraInfo */
    avt_ros_header header;
    uint32_t height, width;
    char distortion_model[32]; /* "plumb_bob", "rational_polynomial", "equidistant" */
    size_t nd;
    double d[16];
    double k[9], r[9], p[12];
} avt_ros_camera_info;
int avt_cdr_camera_info(const uint8_t *msg, size_t len, avt_ros_camera_info *out, avt_error *err);

typedef struct avt_ros_transform { /* geometry_msgs/msg/TransformStamped */
    avt_ros_header header;
    char child_frame_id[128];
    double t[3];    /* translation x y z */
    double q[4];    /* rotation w x y z (ROS stores x y z w) */
} avt_ros_transform;

typedef struct avt_ros_tf { /* tf2_msgs/msg/TFMessage */
    size_t n;
    avt_ros_transform *transforms;
} avt_ros_tf;
int avt_cdr_tf(const uint8_t *msg, size_t len, avt_ros_tf *out, avt_error *err);
void avt_ros_tf_free(avt_ros_tf *tf);

/* ---------------------------------------------------------------------------------------- */
/* Import into a drive log (docs/rosbag2.md)                                                 */

typedef struct avt_rosbag_import_opts {
    /* --topic TYPE=NAME overrides: role ("velodyne", "ouster", "ouster_metadata", "points",
     * "image", "compressed_image", "camera_info", "tf", "tf_static") and topic name */
    size_t noverrides;
    const char *const *override_role;
    const char *const *override_topic;
    /* after each message: the share of the bag read and the messages read; may be NULL */
    void (*progress)(double fraction, uint64_t messages, void *ctx);
    void *progress_ctx;
} avt_rosbag_import_opts;

typedef struct avt_rosbag_import_stats {
    size_t lidar_packets, imu_packets, clouds, images, camera_infos, poses, static_tfs;
    size_t messages;
    /* the bag's last file was cut (MCAP without Footer and closing magic): what was read up
     * to the cut was imported; the reader's message, else "" */
    char truncated[AVT_ERROR_MAX];
} avt_rosbag_import_stats;

/* The roles --topic accepts ("velodyne", ...), a static list of n names. */
const char *const *avt_rosbag_roles(size_t *n);

/* Writes the drive log DST (created; must not exist) from the bag at bag_path. A bag whose
 * last file is cut is imported up to the cut (stats->truncated says where). On error nothing
 * is left at DST (written to DST.partial, renamed at the end). */
int avt_rosbag_import(const char *bag_path, const char *dst, const avt_rosbag_import_opts *opts,
                      avt_rosbag_import_stats *stats, avt_error *err);

#endif
