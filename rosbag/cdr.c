/* avtruth rosbag: CDR decoding of the ROS 2 messages a drive log needs. Plain CDR as ROS 2's
 * rmw (Fast DDS, Cyclone) writes it: OMG DDS-XTypes 1.3, 7.4.1 (XCDR1, "PLAIN_CDR").
 *
 *   message = <encapsulation: 00 00 (CDR_BE) or 00 01 (CDR_LE)> <options: 2 bytes>
 *             <payload: each primitive aligned to its size (at most 8) counted from the
 *              first payload byte, in the encapsulation's byte order>
 *   string  = uint32 length including the NUL, the bytes, NUL
 *   T[]     = uint32 count, then the elements;  T[N] = the N elements
 *
 * Message layouts (rosidl .msg files, the types' field order):
 *   std_msgs/Header          builtin_interfaces/Time stamp (int32 sec, uint32 nanosec), string frame_id
 *   velodyne_msgs/VelodyneScan  Header, VelodynePacket[] (Time stamp, uint8[1206] data)
 *   ouster_sensor_msgs/PacketMsg  uint8[] buf;  std_msgs/String  string data
 *   sensor_msgs/PointCloud2  Header, uint32 height, width, PointField[] (string name, uint32
 *                            offset, uint8 datatype, uint32 count), bool is_bigendian, uint32
 *                            point_step, row_step, uint8[] data, bool is_dense
 *   sensor_msgs/Image        Header, uint32 height, width, string encoding, uint8 is_bigendian,
 *                            uint32 step, uint8[] data
 *   sensor_msgs/CompressedImage  Header, string format, uint8[] data
 *   sensor_msgs/CameraInfo   Header, uint32 height, width, string distortion_model, float64[] d,
 *                            float64[9] k, r, float64[12] p, uint32 binning_x, binning_y, roi
 *   tf2_msgs/TFMessage       TransformStamped[] (Header, string child_frame_id, Vector3
 *                            translation, Quaternion rotation x y z w: float64 each) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/rosbag.h"

typedef struct cdr {
    avt_cursor c; /* over the payload: alignment is relative to its start */
    int be;
    const char *type;
    const char *field; /* the field being read, for messages */
    int64_t count;     /* the last count or length read (-1: none), for messages */
} cdr;

/* Callers zero d first: GCC's -Wmaybe-uninitialized cannot see that d is not read after a
 * failure here. */
static int cdr_begin(cdr *d, const uint8_t *msg, size_t len, const char *type, avt_error *err)
{
    if (len < 4)
        return avt_err(err, AVT_FORMAT, "%s: %zu bytes, shorter than the CDR encapsulation header", type, len);
    if (msg[0] != 0 || msg[1] > 1)
        return avt_err(err, AVT_UNSUPPORTED, "%s: encapsulation 0x%02x%02x (plain CDR 0x0000/0x0001 only)", type,
                       msg[0], msg[1]);
    d->c = avt_cursor_make(msg + 4, len - 4);
    d->be = msg[1] == 0;
    d->type = type;
    d->field = "";
    d->count = -1;
    return AVT_OK;
}

static void align(cdr *d, size_t n)
{
    size_t pad = (n - d->c.pos % n) % n;
    avt_cursor_skip(&d->c, pad);
}

static uint32_t get_u32(cdr *d)
{
    align(d, 4);
    return d->be ? avt_get_be32(&d->c) : avt_get_le32(&d->c);
}

static uint8_t get_u8(cdr *d) { return avt_get_u8(&d->c); }

static double get_f64(cdr *d)
{
    align(d, 8);
    uint64_t a = d->be ? avt_get_be32(&d->c) : avt_get_le32(&d->c);
    uint64_t b = d->be ? avt_get_be32(&d->c) : avt_get_le32(&d->c);
    uint64_t v = d->be ? (a << 32 | b) : (b << 32 | a);
    double x;
    memcpy(&x, &v, sizeof x);
    return x;
}

/* A count of elements of elem_bytes each: must fit in the bytes left. */
static size_t get_count(cdr *d, size_t elem_bytes)
{
    uint32_t n = get_u32(d);
    d->count = d->c.bad ? -1 : (int64_t)n;
    if (!d->c.bad && elem_bytes && n > avt_cursor_left(&d->c) / elem_bytes) d->c.bad = 1;
    return d->c.bad ? 0 : n;
}

/* uint8[]: a view into the message. */
static const uint8_t *get_bytes(cdr *d, size_t *n)
{
    *n = get_count(d, 1);
    const uint8_t *p = d->c.bad ? NULL : d->c.p + d->c.pos;
    avt_cursor_skip(&d->c, *n);
    return p;
}

/* string: a view, NUL-terminated inside the message (*n excludes the NUL); copied truncated into
 * out (size cap) when out. */
static const char *get_string(cdr *d, size_t *n, char *out, size_t cap)
{
    size_t len = get_count(d, 1);
    const char *s = d->c.bad ? "" : (const char *)d->c.p + d->c.pos;
    avt_cursor_skip(&d->c, len);
    if (!d->c.bad && (len == 0 || s[len - 1] != '\0')) d->c.bad = 1; /* the NUL is part of the length */
    *n = d->c.bad ? 0 : len - 1;
    if (out) snprintf(out, cap, "%.*s", (int)*n, d->c.bad ? "" : s);
    return d->c.bad ? "" : s;
}

static int64_t get_time(cdr *d)
{
    int32_t sec = (int32_t)get_u32(d);
    uint32_t nsec = get_u32(d);
    if (nsec >= 1000000000u) d->c.bad = 1;
    return (int64_t)sec * 1000000000 + nsec;
}

static void get_header(cdr *d, avt_ros_header *h)
{
    size_t n;
    d->field = "header.stamp";
    h->stamp_ns = get_time(d);
    d->field = "header.frame_id";
    get_string(d, &n, h->frame_id, sizeof h->frame_id);
}

static int cdr_end(cdr *d, avt_error *err)
{
    if (d->c.bad && d->count >= 0)
        return avt_err(err, AVT_FORMAT, "%s: field %s (last count or length read: %lld): runs past the "
                       "message's %zu bytes or is out of range", d->type, d->field, (long long)d->count, d->c.len + 4);
    if (d->c.bad)
        return avt_err(err, AVT_FORMAT, "%s: field %s: runs past the message's %zu bytes or is out of range",
                       d->type, d->field, d->c.len + 4);
    return AVT_OK;
}

int avt_cdr_velodyne_scan(const uint8_t *msg, size_t len, avt_velodyne_scan *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "velodyne_msgs/msg/VelodyneScan", err);
    if (rc) return rc;
    get_header(&d, &out->header);
    d.field = "packets";
    size_t n = get_count(&d, 8 + AVT_VELODYNE_PACKET_BYTES);
    if ((rc = cdr_end(&d, err))) return rc;
    out->packets = malloc((n ? n : 1) * sizeof *out->packets);
    if (!out->packets) return avt_err(err, AVT_NOMEM, "%s: %zu packets: out of memory", d.type, n);
    for (size_t i = 0; i < n && !d.c.bad; i++) {
        d.field = "packets[].stamp";
        out->packets[i].stamp_ns = get_time(&d);
        d.field = "packets[].data";
        out->packets[i].data = d.c.bad ? NULL : d.c.p + d.c.pos;
        avt_cursor_skip(&d.c, AVT_VELODYNE_PACKET_BYTES);
    }
    out->n = n;
    if ((rc = cdr_end(&d, err))) avt_velodyne_scan_free(out);
    return rc;
}

void avt_velodyne_scan_free(avt_velodyne_scan *s)
{
    free(s->packets);
    s->packets = NULL;
    s->n = 0;
}

int avt_cdr_bytes_msg(const uint8_t *msg, size_t len, const uint8_t **buf, size_t *n, avt_error *err)
{
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "ouster_sensor_msgs/msg/PacketMsg", err);
    if (rc) return rc;
    d.field = "buf";
    *buf = get_bytes(&d, n);
    return cdr_end(&d, err);
}

int avt_cdr_string_msg(const uint8_t *msg, size_t len, const char **s, size_t *n, avt_error *err)
{
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "std_msgs/msg/String", err);
    if (rc) return rc;
    d.field = "data";
    *s = get_string(&d, n, NULL, 0);
    return cdr_end(&d, err);
}

static const uint8_t FIELD_BYTES[9] = {0, 1, 1, 2, 2, 4, 4, 4, 8};

int avt_cdr_pointcloud2(const uint8_t *msg, size_t len, avt_ros_pointcloud2 *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "sensor_msgs/msg/PointCloud2", err);
    if (rc) return rc;
    get_header(&d, &out->header);
    d.field = "height";
    out->height = get_u32(&d);
    out->width = get_u32(&d);
    d.field = "fields";
    size_t nf = get_count(&d, 4 + 1 + 4 + 1 + 4);
    if (nf > AVT_ROS_MAX_POINT_FIELDS)
        return avt_err(err, AVT_UNSUPPORTED, "%s: %zu point fields (at most %d)", d.type, nf,
                       AVT_ROS_MAX_POINT_FIELDS);
    for (size_t i = 0; i < nf; i++) {
        avt_ros_point_field *f = &out->fields[i];
        size_t n;
        get_string(&d, &n, f->name, sizeof f->name);
        f->offset = get_u32(&d);
        f->datatype = get_u8(&d);
        f->count = get_u32(&d);
    }
    out->nfields = nf;
    d.field = "is_bigendian";
    out->is_bigendian = get_u8(&d);
    d.field = "point_step";
    out->point_step = get_u32(&d);
    out->row_step = get_u32(&d);
    d.field = "data";
    out->data = get_bytes(&d, &out->len);
    d.field = "is_dense";
    out->is_dense = get_u8(&d);
    if ((rc = cdr_end(&d, err))) return rc;
    if ((uint64_t)out->height * out->row_step > out->len || (uint64_t)out->width * out->point_step > out->row_step)
        return avt_err(err, AVT_FORMAT, "%s: %u x %u points of %u bytes (rows of %u) do not fit in %zu data bytes",
                       d.type, out->height, out->width, out->point_step, out->row_step, out->len);
    for (size_t i = 0; i < nf; i++) {
        const avt_ros_point_field *f = &out->fields[i];
        if (f->datatype < 1 || f->datatype > 8 || f->count == 0 ||
            (uint64_t)f->offset + (uint64_t)FIELD_BYTES[f->datatype] * f->count > out->point_step)
            return avt_err(err, AVT_FORMAT, "%s: field %s: datatype %u, offset %u, count %u, points of %u bytes",
                           d.type, f->name, f->datatype, f->offset, f->count, out->point_step);
    }
    return AVT_OK;
}

int avt_cdr_image(const uint8_t *msg, size_t len, avt_ros_image *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "sensor_msgs/msg/Image", err);
    if (rc) return rc;
    size_t n;
    get_header(&d, &out->header);
    d.field = "height";
    out->height = get_u32(&d);
    out->width = get_u32(&d);
    d.field = "encoding";
    get_string(&d, &n, out->encoding, sizeof out->encoding);
    out->is_bigendian = get_u8(&d);
    d.field = "step";
    out->step = get_u32(&d);
    d.field = "data";
    out->data = get_bytes(&d, &out->len);
    if ((rc = cdr_end(&d, err))) return rc;
    if ((uint64_t)out->height * out->step > out->len)
        return avt_err(err, AVT_FORMAT, "%s: %u rows of %u bytes, %zu data bytes", d.type, out->height, out->step,
                       out->len);
    return AVT_OK;
}

int avt_cdr_compressed_image(const uint8_t *msg, size_t len, avt_ros_compressed_image *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "sensor_msgs/msg/CompressedImage", err);
    if (rc) return rc;
    size_t n;
    get_header(&d, &out->header);
    d.field = "format";
    get_string(&d, &n, out->format, sizeof out->format);
    d.field = "data";
    out->data = get_bytes(&d, &out->len);
    return cdr_end(&d, err);
}

int avt_cdr_camera_info(const uint8_t *msg, size_t len, avt_ros_camera_info *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "sensor_msgs/msg/CameraInfo", err);
    if (rc) return rc;
    size_t n;
    get_header(&d, &out->header);
    d.field = "height";
    out->height = get_u32(&d);
    out->width = get_u32(&d);
    d.field = "distortion_model";
    get_string(&d, &n, out->distortion_model, sizeof out->distortion_model);
    d.field = "d";
    out->nd = get_count(&d, 8);
    if (out->nd > sizeof out->d / sizeof out->d[0])
        return avt_err(err, AVT_UNSUPPORTED, "%s: %zu distortion coefficients (at most 16)", d.type, out->nd);
    for (size_t i = 0; i < out->nd; i++) out->d[i] = get_f64(&d);
    d.field = "k";
    for (int i = 0; i < 9; i++) out->k[i] = get_f64(&d);
    d.field = "r";
    for (int i = 0; i < 9; i++) out->r[i] = get_f64(&d);
    d.field = "p";
    for (int i = 0; i < 12; i++) out->p[i] = get_f64(&d);
    d.field = "binning";
    get_u32(&d);
    get_u32(&d);
    d.field = "roi";
    for (int i = 0; i < 4; i++) get_u32(&d);
    get_u8(&d);
    return cdr_end(&d, err);
}

int avt_cdr_tf(const uint8_t *msg, size_t len, avt_ros_tf *out, avt_error *err)
{
    memset(out, 0, sizeof *out);
    cdr d = {0};
    int rc = cdr_begin(&d, msg, len, "tf2_msgs/msg/TFMessage", err);
    if (rc) return rc;
    d.field = "transforms";
    /* at least: stamp 8, two empty strings 8, 7 float64 56 */
    size_t n = get_count(&d, 72);
    if ((rc = cdr_end(&d, err))) return rc;
    out->transforms = calloc(n ? n : 1, sizeof *out->transforms);
    if (!out->transforms) return avt_err(err, AVT_NOMEM, "%s: %zu transforms: out of memory", d.type, n);
    out->n = n;
    for (size_t i = 0; i < n && !d.c.bad; i++) {
        avt_ros_transform *t = &out->transforms[i];
        size_t sn;
        get_header(&d, &t->header);
        d.field = "transforms[].child_frame_id";
        get_string(&d, &sn, t->child_frame_id, sizeof t->child_frame_id);
        d.field = "transforms[].transform";
        for (int k = 0; k < 3; k++) t->t[k] = get_f64(&d);
        double x = get_f64(&d), y = get_f64(&d), z = get_f64(&d), w = get_f64(&d);
        t->q[0] = w;
        t->q[1] = x;
        t->q[2] = y;
        t->q[3] = z;
    }
    if ((rc = cdr_end(&d, err))) avt_ros_tf_free(out);
    return rc;
}

void avt_ros_tf_free(avt_ros_tf *tf)
{
    free(tf->transforms);
    tf->transforms = NULL;
    tf->n = 0;
}
