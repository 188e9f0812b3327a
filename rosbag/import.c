/* avtruth rosbag: a ROS 2 bag turned into a drive log (docs/drive-log.md; the policy for
 * topics and times is docs/rosbag2.md).
 *
 *   velodyne_msgs/msg/VelodyneScan  -> lidar/velodyne.pcap, each packet an Ethernet/IPv4/UDP
 *                                      record to port 2368, record time = the packet's stamp
 *   ouster_sensor_msgs/msg/PacketMsg -> lidar/ouster.pcap (lidar 7502, IMU 7503: 48-byte
 *                                      packets), record time = the bag's receive time;
 *                                      std_msgs/msg/String on *metadata -> lidar/ouster.json
 *   sensor_msgs/msg/PointCloud2     -> lidar/<t_ns>.bin (KITTI float32 x y z intensity), only
 *                                      when the bag has no LiDAR packets or --topic points=
 *   sensor_msgs/msg/Image           -> cameras/<name>/<t_ns>.png (libpng)
 *   sensor_msgs/msg/CompressedImage -> cameras/<name>/<t_ns>.png|.jpg, the bytes unchanged
 *   sensor_msgs/msg/CameraInfo + /tf_static -> calib.yaml;  /tf (parent of base_link) -> poses.csv
 *
 * Everything is written under DST.partial and renamed to DST at the end, so an error leaves
 * nothing behind. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <pcap/pcap.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avtruth/calib.h"
#include "avtruth/geom.h"
#include "avtruth/pointcloud.h"
#include "avtruth/rosbag.h"

enum role {
    R_NONE = 0, R_VELODYNE, R_OUSTER, R_OUSTER_META, R_POINTS, R_IMAGE, R_COMPRESSED, R_CAMERA_INFO, R_TF,
    R_TF_STATIC, R_COUNT
};
static const char *const ROLE_NAMES[R_COUNT] = {"", "velodyne", "ouster", "ouster_metadata", "points", "image",
                                                "compressed_image", "camera_info", "tf", "tf_static"};

#define EGO_FRAME "base_link"
#define MAX_CAMERAS 64

typedef struct frame_tf { /* one /tf_static edge: parent_T_child */
    char parent[128], child[128];
    avt_tf tf;
} frame_tf;

typedef struct pose_row {
    int64_t t_ns;
    double t[3], q[4];
} pose_row;

typedef struct camera_out {
    char name[AVT_NAME_MAX];
    int have_info;
    avt_ros_camera_info info;
    size_t frames;
} camera_out;

typedef struct importer {
    const char *bag_path;
    char dir[4096]; /* DST.partial */
    avt_bag *bag;
    const avt_rosbag_import_opts *opts;
    avt_rosbag_import_stats *st;
    int *roles; /* per topic index, R_NONE until decided; -1: ignored */
    size_t nroles;
    size_t lidar_topic; /* the packet topic in use (SIZE_MAX: none yet) */
    int have_packets;
    char lidar_frame[128];
    pcap_t *pcap_dead;
    pcap_dumper_t *dump;
    frame_tf *statics;
    size_t nstatics, cap_statics;
    pose_row *poses;
    size_t nposes, cap_poses;
    char pose_parent[128];
    camera_out cams[MAX_CAMERAS];
    size_t ncams;
    int wrote_meta;
    const char *lidar_model; /* calib.yaml's lidar.model: velodyne, ouster or pointcloud */
} importer;

/* ---------------------------------------------------------------------------------------- */
/* Topics to roles                                                                           */

const char *const *avt_rosbag_roles(size_t *n)
{
    *n = R_COUNT - 1;
    return ROLE_NAMES + 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The message type of each role (PacketMsg: also the older ouster_msgs/msg/PacketMsg). */
static const char *const TYPE_OF[R_COUNT] = {
        [R_VELODYNE] = "velodyne_msgs/msg/VelodyneScan", [R_OUSTER] = "ouster_sensor_msgs/msg/PacketMsg",
        [R_OUSTER_META] = "std_msgs/msg/String", [R_POINTS] = "sensor_msgs/msg/PointCloud2",
        [R_IMAGE] = "sensor_msgs/msg/Image", [R_COMPRESSED] = "sensor_msgs/msg/CompressedImage",
        [R_CAMERA_INFO] = "sensor_msgs/msg/CameraInfo", [R_TF] = "tf2_msgs/msg/TFMessage",
        [R_TF_STATIC] = "tf2_msgs/msg/TFMessage"};

/* Whether a topic of type ty can serve role r (given by --topic). */
static int role_fits(int r, const char *ty)
{
    return r == R_OUSTER ? ends_with(ty, "/msg/PacketMsg") : strcmp(ty, TYPE_OF[r]) == 0;
}

static int role_by_type(const avt_bag_topic *t)
{
    if (role_fits(R_TF, t->type)) return strcmp(t->name, "/tf_static") == 0 ? R_TF_STATIC : R_TF;
    if (role_fits(R_OUSTER_META, t->type)) return ends_with(t->name, "metadata") ? R_OUSTER_META : -1;
    for (int r = 1; r < R_COUNT; r++)
        if (role_fits(r, t->type)) return r;
    return -1;
}

/* The role of topic t: an override names it, else its type decides unless that role was
 * given to other topics by overrides. -1: not imported. */
static int decide_role(importer *im, const avt_bag_topic *t, avt_error *err)
{
    const avt_rosbag_import_opts *o = im->opts;
    int by_type = role_by_type(t);
    for (size_t k = 0; o && k < o->noverrides; k++)
        if (strcmp(o->override_topic[k], t->name) == 0)
            for (int r = 1; r < R_COUNT; r++)
                if (strcmp(o->override_role[k], ROLE_NAMES[r]) == 0) {
                    if (strcmp(t->encoding, "cdr") != 0)
                        return avt_err(err, AVT_INVAL, "--topic %s=%s: the topic's messages are encoded as '%s', "
                                       "only cdr is decoded", ROLE_NAMES[r], t->name, t->encoding);
                    if (!role_fits(r, t->type))
                        return avt_err(err, AVT_INVAL, "--topic %s=%s: the topic is a %s, %s takes %s", ROLE_NAMES[r],
                                       t->name, t->type, ROLE_NAMES[r], TYPE_OF[r]);
                    return r;
                }
    for (size_t k = 0; o && k < o->noverrides; k++)
        if (by_type > 0 && strcmp(o->override_role[k], ROLE_NAMES[by_type]) == 0) return -1;
    return strcmp(t->encoding, "cdr") == 0 ? by_type : -1; /* e.g. MCAP channels in JSON */
}

/* Camera name of an image or camera_info topic: the topic's path without the last component
 * when it is a known suffix, '/' as '_': /camera/front/image_raw -> camera_front. */
static void camera_name(const char *topic, char *out, size_t n)
{
    static const char *const SUFFIX[] = {"/compressed", "/image_raw", "/image_rect_color", "/image_rect",
                                         "/image_color", "/image_mono", "/image", "/camera_info"};
    char buf[512];
    snprintf(buf, sizeof buf, "%s", topic[0] == '/' ? topic + 1 : topic);
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < sizeof SUFFIX / sizeof SUFFIX[0]; k++)
            if (ends_with(buf, SUFFIX[k]) && strlen(buf) > strlen(SUFFIX[k])) buf[strlen(buf) - strlen(SUFFIX[k])] = 0;
    size_t j = 0;
    for (size_t i = 0; buf[i] && j + 1 < n; i++) {
        char c = buf[i];
        out[j++] = (c == '/' || c == ' ' || c == '.') ? '_' : c;
    }
    out[j] = 0;
}

static camera_out *camera_of(importer *im, const char *topic, avt_error *err)
{
    char name[AVT_NAME_MAX];
    camera_name(topic, name, sizeof name);
    for (size_t i = 0; i < im->ncams; i++)
        if (strcmp(im->cams[i].name, name) == 0) return &im->cams[i];
    if (im->ncams == MAX_CAMERAS) {
        avt_err(err, AVT_UNSUPPORTED, "%s: topic %s: more than %d cameras", im->bag_path, topic, MAX_CAMERAS);
        return NULL;
    }
    camera_out *c = &im->cams[im->ncams++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

/* ---------------------------------------------------------------------------------------- */
/* Files                                                                                     */

static int mkdir_p(const char *dir, const char *sub, char *out, size_t n, avt_error *err)
{
    if (avt_path_join(out, n, dir, sub)) return avt_err(err, AVT_INVAL, "%s/%s: path too long", dir, sub);
    for (char *p = out + strlen(dir) + 1;; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            *p = 0;
            if (mkdir(out, 0777) != 0 && errno != EEXIST) return avt_err(err, AVT_IO, "%s: cannot create: %s", out, strerror(errno));
            *p = c;
        }
        if (!c) break;
    }
    return AVT_OK;
}

static int write_bytes(const char *path, const void *p, size_t n, avt_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
    int bad = fwrite(p, 1, n, f) != n;
    bad |= fclose(f) != 0;
    return bad ? avt_err(err, AVT_IO, "%s: write failed (disk full?)", path) : AVT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* LiDAR packets: Ethernet II / IPv4 (RFC 791) / UDP (RFC 768) records through pcap_dump      */

static int lidar_open(importer *im, const char *name, avt_error *err)
{
    if (im->dump) return AVT_OK;
    char path[4096], file[64];
    int rc = mkdir_p(im->dir, "lidar", path, sizeof path, err);
    if (rc) return rc;
    snprintf(file, sizeof file, "lidar/%s.pcap", name);
    avt_path_join(path, sizeof path, im->dir, file);
    im->pcap_dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (!im->pcap_dead) return avt_err(err, AVT_NOMEM, "libpcap: pcap_open_dead failed");
    im->dump = pcap_dump_open(im->pcap_dead, path);
    if (!im->dump) return avt_err(err, AVT_IO, "%s: %s", path, pcap_geterr(im->pcap_dead));
    return AVT_OK;
}

static int lidar_packet(importer *im, int64_t t_ns, uint16_t port, const uint8_t *payload, size_t n, avt_error *err)
{
    enum { ETH = 14, IP = 20, UDP = 8 };
    uint8_t frame[65536];
    if (n > 65535 - IP - UDP)
        return avt_err(err, AVT_FORMAT, "%s: a %zu-byte packet does not fit in a UDP datagram", im->bag_path, n);
    if (t_ns < 0) return avt_err(err, AVT_FORMAT, "%s: packet time %lld before 1970", im->bag_path, (long long)t_ns);
    static const uint8_t eth[ETH] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x60, 0x76, 0x88, 0x00, 0x00, 0x00, 0x08, 0x00};
    memcpy(frame, eth, ETH);
    uint8_t *ip = frame + ETH, *udp = ip + IP;
    size_t ip_len = IP + UDP + n;
    const uint8_t src[4] = {192, 168, 1, 201}, dst[4] = {255, 255, 255, 255};
    uint8_t hdr[IP] = {0x45, 0, (uint8_t)(ip_len >> 8), (uint8_t)ip_len, 0, 0, 0x40, 0, 64, 17, 0, 0};
    memcpy(hdr + 12, src, 4);
    memcpy(hdr + 16, dst, 4);
    uint32_t sum = 0;
    for (int i = 0; i < IP; i += 2) sum += (uint32_t)(hdr[i] << 8 | hdr[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    hdr[10] = (uint8_t)(~sum >> 8);
    hdr[11] = (uint8_t)~sum;
    memcpy(ip, hdr, IP);
    size_t udp_len = UDP + n;
    const uint8_t u[UDP] = {(uint8_t)(port >> 8), (uint8_t)port, (uint8_t)(port >> 8), (uint8_t)port,
                            (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0}; /* checksum 0: none (IPv4) */
    memcpy(udp, u, UDP);
    memcpy(udp + UDP, payload, n);
    struct pcap_pkthdr ph;
    ph.ts.tv_sec = (time_t)(t_ns / 1000000000);
    ph.ts.tv_usec = (suseconds_t)(t_ns % 1000000000 / 1000);
    ph.caplen = ph.len = (bpf_u_int32)(ETH + ip_len);
    pcap_dump((u_char *)im->dump, &ph, frame);
    return AVT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Images                                                                                    */

typedef struct png_fmt {
    const char *encoding; /* sensor_msgs/image_encodings.hpp */
    int color, channels, depth, swap_rb;
} png_fmt;

static const png_fmt PNG_FORMATS[] = {
    {"rgb8", PNG_COLOR_TYPE_RGB, 3, 8, 0},   {"bgr8", PNG_COLOR_TYPE_RGB, 3, 8, 1},
    {"rgba8", PNG_COLOR_TYPE_RGBA, 4, 8, 0}, {"bgra8", PNG_COLOR_TYPE_RGBA, 4, 8, 1},
    {"mono8", PNG_COLOR_TYPE_GRAY, 1, 8, 0}, {"8UC1", PNG_COLOR_TYPE_GRAY, 1, 8, 0},
    {"mono16", PNG_COLOR_TYPE_GRAY, 1, 16, 0}, {"16UC1", PNG_COLOR_TYPE_GRAY, 1, 16, 0},
};

static const png_fmt *png_format(const char *encoding)
{
    for (size_t i = 0; i < sizeof PNG_FORMATS / sizeof PNG_FORMATS[0]; i++)
        if (strcmp(PNG_FORMATS[i].encoding, encoding) == 0) return &PNG_FORMATS[i];
    return NULL;
}

static int png_write(const char *path, const avt_ros_image *img, avt_error *err)
{
    const char *e = img->encoding;
    const png_fmt *const fm = png_format(e);
    if (!fm)
        return avt_err(err, AVT_UNSUPPORTED, "%s: image encoding \"%s\" (supported: rgb8, bgr8, rgba8, bgra8, mono8, "
                       "mono16)", path, e);
    const int channels = fm->channels, depth = fm->depth;
    size_t row = (size_t)img->width * (size_t)channels * (size_t)(depth / 8);
    if (img->width == 0 || img->height == 0 || row > img->step)
        return avt_err(err, AVT_FORMAT, "%s: %ux%u %s image with rows of %u bytes", path, img->width, img->height, e,
                       img->step);
    uint8_t *line = malloc(row);
    FILE *f = line ? fopen(path, "wb") : NULL;
    png_structp png = f ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL) : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = AVT_OK;
    if (!info) {
        rc = avt_err(err, f ? AVT_NOMEM : AVT_IO, "%s: cannot create", path);
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = avt_err(err, AVT_IO, "%s: libpng write failed (disk full?)", path);
        goto out;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, img->width, img->height, depth, fm->color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *src = img->data + (size_t)y * img->step;
        memcpy(line, src, row);
        if (fm->swap_rb)
            for (size_t x = 0; x < row; x += (size_t)channels) {
                uint8_t t = line[x];
                line[x] = line[x + 2];
                line[x + 2] = t;
            }
        if (depth == 16 && !img->is_bigendian) /* PNG stores 16-bit samples big-endian */
            for (size_t x = 0; x < row; x += 2) {
                uint8_t t = line[x];
                line[x] = line[x + 1];
                line[x + 1] = t;
            }
        png_write_row(png, line);
    }
    png_write_end(png, NULL);
out:
    if (png) png_destroy_write_struct(&png, info ? &info : NULL);
    if (f && fclose(f) != 0 && rc == AVT_OK) rc = avt_err(err, AVT_IO, "%s: write failed (disk full?)", path);
    free(line);
    return rc;
}

static int image_path(importer *im, camera_out *c, int64_t t_ns, const char *ext, char *path, size_t n, avt_error *err)
{
    char sub[256], name[64];
    if (t_ns <= 0) return avt_err(err, AVT_FORMAT, "%s: camera %s: image stamp %lld", im->bag_path, c->name, (long long)t_ns);
    snprintf(sub, sizeof sub, "cameras/%s", c->name);
    int rc = mkdir_p(im->dir, sub, path, n, err);
    if (rc) return rc;
    snprintf(name, sizeof name, "/%019lld.%s", (long long)t_ns, ext);
    if (strlen(path) + strlen(name) >= n) return avt_err(err, AVT_INVAL, "%s: path too long", path);
    strcat(path, name);
    if (access(path, F_OK) == 0)
        return avt_err(err, AVT_FORMAT, "%s: camera %s: two images stamped %lld", im->bag_path, c->name, (long long)t_ns);
    c->frames++;
    im->st->images++;
    return AVT_OK;
}

/* The image's time: its header stamp, or the bag's receive time when the stamp is zero. */
static int64_t stamp_or_recv(const avt_ros_header *h, int64_t recv_ns) { return h->stamp_ns > 0 ? h->stamp_ns : recv_ns; }

/* ---------------------------------------------------------------------------------------- */
/* Point clouds                                                                              */

static double field_value(const uint8_t *p, int type, int be)
{
    uint8_t b[8];
    static const uint8_t SIZE[9] = {0, 1, 1, 2, 2, 4, 4, 4, 8};
    int n = SIZE[type];
    for (int i = 0; i < n; i++) b[i] = be ? p[n - 1 - i] : p[i];
    int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; float f; double d;
    switch (type) {
    case 1: memcpy(&i8, b, 1); return i8;
    case 2: memcpy(&u8, b, 1); return u8;
    case 3: memcpy(&i16, b, 2); return i16;
    case 4: memcpy(&u16, b, 2); return u16;
    case 5: memcpy(&i32, b, 4); return i32;
    case 6: memcpy(&u32, b, 4); return u32;
    case 7: memcpy(&f, b, 4); return f;
    default: memcpy(&d, b, 8); return d;
    }
}

static int cloud_write(importer *im, const avt_ros_pointcloud2 *pc, int64_t t_ns, avt_error *err)
{
    const avt_ros_point_field *fx = NULL, *fy = NULL, *fz = NULL, *fi = NULL;
    for (size_t i = 0; i < pc->nfields; i++) {
        const avt_ros_point_field *f = &pc->fields[i];
        if (strcmp(f->name, "x") == 0) fx = f;
        else if (strcmp(f->name, "y") == 0) fy = f;
        else if (strcmp(f->name, "z") == 0) fz = f;
        else if (strcmp(f->name, "intensity") == 0 || strcmp(f->name, "reflectivity") == 0) fi = fi ? fi : f;
    }
    if (!fx || !fy || !fz)
        return avt_err(err, AVT_FORMAT, "%s: PointCloud2 at %lld has no x, y and z fields", im->bag_path, (long long)t_ns);
    size_t n = (size_t)pc->height * pc->width;
    if (n > AVT_POINTCLOUD_MAX_POINTS)
        return avt_err(err, AVT_UNSUPPORTED, "%s: PointCloud2 of %zu points", im->bag_path, n);
    avt_pointcloud cloud = {0};
    cloud.xyz = malloc((n ? n : 1) * 3 * sizeof(float));
    cloud.intensity = malloc((n ? n : 1) * sizeof(float));
    if (!cloud.xyz || !cloud.intensity) {
        avt_pointcloud_free(&cloud);
        return avt_err(err, AVT_NOMEM, "out of memory");
    }
    for (uint32_t r = 0; r < pc->height; r++)
        for (uint32_t c = 0; c < pc->width; c++) {
            const uint8_t *p = pc->data + (size_t)r * pc->row_step + (size_t)c * pc->point_step;
            size_t k = (size_t)r * pc->width + c;
            cloud.xyz[3 * k] = (float)field_value(p + fx->offset, fx->datatype, pc->is_bigendian);
            cloud.xyz[3 * k + 1] = (float)field_value(p + fy->offset, fy->datatype, pc->is_bigendian);
            cloud.xyz[3 * k + 2] = (float)field_value(p + fz->offset, fz->datatype, pc->is_bigendian);
            cloud.intensity[k] = fi ? (float)field_value(p + fi->offset, fi->datatype, pc->is_bigendian) : 0.0f;
        }
    cloud.n = n;
    char path[4096], name[64];
    int rc = mkdir_p(im->dir, "lidar", path, sizeof path, err);
    snprintf(name, sizeof name, "lidar/%019lld.bin", (long long)t_ns);
    if (!rc) rc = avt_path_join(path, sizeof path, im->dir, name);
    if (!rc) rc = avt_pointcloud_write_kitti(path, &cloud, err);
    avt_pointcloud_free(&cloud);
    im->st->clouds++;
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Transforms                                                                                */

static int add_static(importer *im, const avt_ros_transform *t, avt_error *err)
{
    for (size_t i = 0; i < im->nstatics; i++)
        if (strcmp(im->statics[i].child, t->child_frame_id) == 0) { /* latest wins (latched republish) */
            snprintf(im->statics[i].parent, sizeof im->statics[i].parent, "%s", t->header.frame_id);
            im->statics[i].tf = avt_tf_from_qt(t->q, t->t);
            return AVT_OK;
        }
    if (avt_grow((void **)&im->statics, &im->cap_statics, im->nstatics + 1, sizeof *im->statics))
        return avt_err(err, AVT_NOMEM, "out of memory");
    frame_tf *s = &im->statics[im->nstatics++];
    snprintf(s->parent, sizeof s->parent, "%s", t->header.frame_id);
    snprintf(s->child, sizeof s->child, "%s", t->child_frame_id);
    s->tf = avt_tf_from_qt(t->q, t->t);
    im->st->static_tfs++;
    return AVT_OK;
}

/* root_T_frame through the static tree; the root's name in *root. */
static avt_tf to_root(const importer *im, const char *frame, const char **root)
{
    avt_tf acc = avt_tf_identity();
    const char *cur = frame;
    for (size_t depth = 0; depth <= im->nstatics; depth++) {
        const frame_tf *e = NULL;
        for (size_t i = 0; i < im->nstatics && !e; i++)
            if (strcmp(im->statics[i].child, cur) == 0) e = &im->statics[i];
        if (!e) break;
        acc = avt_tf_mul(&e->tf, &acc);
        cur = e->parent;
    }
    *root = cur;
    return acc;
}

/* a_T_b from /tf_static, or AVT_NOTFOUND. */
static int static_between(const importer *im, const char *a, const char *b, avt_tf *out)
{
    const char *ra, *rb;
    avt_tf root_T_a = to_root(im, a, &ra), root_T_b = to_root(im, b, &rb);
    if (strcmp(ra, rb) != 0) return AVT_NOTFOUND;
    avt_tf a_T_root = avt_tf_inv(&root_T_a);
    *out = avt_tf_mul(&a_T_root, &root_T_b);
    return AVT_OK;
}

static int add_pose(importer *im, const avt_ros_transform *t, int64_t recv_ns, avt_error *err)
{
    if (strcmp(t->child_frame_id, EGO_FRAME) != 0) return AVT_OK;
    if (!im->pose_parent[0]) snprintf(im->pose_parent, sizeof im->pose_parent, "%s", t->header.frame_id);
    if (strcmp(im->pose_parent, t->header.frame_id) != 0)
        return avt_err(err, AVT_UNSUPPORTED, "%s: /tf: %s has parents %s and %s; poses need one world frame",
                       im->bag_path, EGO_FRAME, im->pose_parent, t->header.frame_id);
    if (avt_grow((void **)&im->poses, &im->cap_poses, im->nposes + 1, sizeof *im->poses))
        return avt_err(err, AVT_NOMEM, "out of memory");
    pose_row *p = &im->poses[im->nposes++];
    p->t_ns = stamp_or_recv(&t->header, recv_ns);
    memcpy(p->t, t->t, sizeof p->t);
    memcpy(p->q, t->q, sizeof p->q);
    return AVT_OK;
}

static int by_time(const void *a, const void *b)
{
    int64_t x = ((const pose_row *)a)->t_ns, y = ((const pose_row *)b)->t_ns;
    return (x > y) - (x < y);
}

static int write_poses(importer *im, avt_error *err)
{
    if (im->nposes == 0) return AVT_OK;
    qsort(im->poses, im->nposes, sizeof *im->poses, by_time);
    char path[4096];
    avt_path_join(path, sizeof path, im->dir, "poses.csv");
    FILE *f = fopen(path, "w");
    if (!f) return avt_err(err, AVT_IO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "t_ns,x,y,z,qw,qx,qy,qz\n");
    int64_t last = INT64_MIN;
    for (size_t i = 0; i < im->nposes; i++) {
        const pose_row *p = &im->poses[i];
        if (p->t_ns == last) continue; /* a pose republished with the same stamp */
        last = p->t_ns;
        fprintf(f, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", (long long)p->t_ns, p->t[0], p->t[1], p->t[2],
                p->q[0], p->q[1], p->q[2], p->q[3]);
        im->st->poses++;
    }
    return fclose(f) != 0 ? avt_err(err, AVT_IO, "%s: write failed (disk full?)", path) : AVT_OK;
}

/* calib.yaml: lidar_T_ego and each camera's intrinsics and lidar_T_cam from /tf_static. */
static int write_calib(importer *im, const char *model, avt_error *err)
{
    avt_rig rig = {0};
    avt_camera cams[MAX_CAMERAS];
    snprintf(rig.lidar_model, sizeof rig.lidar_model, "%s", model);
    rig.lidar_T_ego = avt_tf_identity();
    if (im->lidar_frame[0] && static_between(im, im->lidar_frame, EGO_FRAME, &rig.lidar_T_ego) != AVT_OK &&
        im->nstatics > 0)
        return avt_err(err, AVT_NOTFOUND, "%s: /tf_static has no path from the LiDAR frame %s to %s", im->bag_path,
                       im->lidar_frame, EGO_FRAME);
    for (size_t i = 0; i < im->ncams; i++) {
        const camera_out *c = &im->cams[i];
        if (c->frames == 0) continue; /* a CameraInfo topic without images */
        avt_camera *k = &cams[rig.n_cameras];
        memset(k, 0, sizeof *k);
        if (!c->have_info)
            return avt_err(err, AVT_NOTFOUND, "%s: camera %s: no sensor_msgs/msg/CameraInfo topic for it (expected "
                           "the image topic's namespace + /camera_info)", im->bag_path, c->name);
        const avt_ros_camera_info *ci = &c->info;
        snprintf(k->name, sizeof k->name, "%s", c->name);
        k->width = ci->width;
        k->height = ci->height;
        memcpy(k->K, ci->k, sizeof k->K);
        int any = 0;
        for (size_t j = 0; j < ci->nd; j++) any |= ci->d[j] != 0;
        if (!any) {
            snprintf(k->distortion_model, sizeof k->distortion_model, "none");
        } else if (strcmp(ci->distortion_model, "plumb_bob") == 0 ||
                   strcmp(ci->distortion_model, "rational_polynomial") == 0) {
            snprintf(k->distortion_model, sizeof k->distortion_model, "radtan");
        } else if (strcmp(ci->distortion_model, "equidistant") == 0) {
            k->model = AVT_CAM_FISHEYE;
            snprintf(k->distortion_model, sizeof k->distortion_model, "equidistant");
        } else {
            return avt_err(err, AVT_UNSUPPORTED, "%s: camera %s: distortion_model \"%s\" (supported: plumb_bob, "
                           "rational_polynomial, equidistant)", im->bag_path, c->name, ci->distortion_model);
        }
        k->n_dist = any ? (int)(ci->nd < AVT_MAX_DIST ? ci->nd : AVT_MAX_DIST) : 0;
        memcpy(k->dist, ci->d, (size_t)k->n_dist * sizeof(double));
        if (!im->lidar_frame[0] || static_between(im, im->lidar_frame, ci->header.frame_id, &k->lidar_T_cam))
            return avt_err(err, AVT_NOTFOUND, "%s: camera %s: /tf_static has no path from its frame %s to the LiDAR "
                           "frame %s", im->bag_path, c->name, ci->header.frame_id,
                           im->lidar_frame[0] ? im->lidar_frame : "(no LiDAR topic)");
        rig.n_cameras++;
    }
    rig.cameras = cams;
    int rc = avt_rig_validate(&rig, im->bag_path, err);
    char path[4096];
    avt_path_join(path, sizeof path, im->dir, "calib.yaml");
    if (!rc) rc = avt_rig_save_yaml(path, &rig, err);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                  */

static int take_lidar_topic(importer *im, size_t topic, const avt_bag_topic *t, avt_error *err)
{
    if (im->lidar_topic == SIZE_MAX) im->lidar_topic = topic;
    if (im->lidar_topic == topic) return AVT_OK;
    size_t n;
    const avt_bag_topic *all = avt_bag_topics(im->bag, &n);
    return avt_err(err, AVT_UNSUPPORTED, "%s: two LiDAR packet topics, %s and %s: choose one with --topic %s=TOPIC",
                   im->bag_path, all[im->lidar_topic].name, t->name, ROLE_NAMES[role_by_type(t)]);
}

static int on_message(importer *im, const avt_bag_msg *m, int role, const avt_bag_topic *t, avt_error *err)
{
    int rc = AVT_OK;
    char path[4096];
    switch (role) {
    case R_VELODYNE: {
        avt_velodyne_scan scan;
        if ((rc = take_lidar_topic(im, m->topic, t, err)) || (rc = avt_cdr_velodyne_scan(m->data, m->len, &scan, err)))
            break;
        if (!im->lidar_frame[0]) snprintf(im->lidar_frame, sizeof im->lidar_frame, "%s", scan.header.frame_id);
        im->lidar_model = "velodyne";
        rc = lidar_open(im, "velodyne", err);
        for (size_t i = 0; !rc && i < scan.n; i++) {
            int64_t t_ns = scan.packets[i].stamp_ns > 0 ? scan.packets[i].stamp_ns : m->recv_ns; /* unstamped */
            rc = lidar_packet(im, t_ns, 2368, scan.packets[i].data, AVT_VELODYNE_PACKET_BYTES, err);
            im->st->lidar_packets++;
        }
        avt_velodyne_scan_free(&scan);
        break;
    }
    case R_OUSTER: {
        const uint8_t *buf;
        size_t n;
        if ((rc = avt_cdr_bytes_msg(m->data, m->len, &buf, &n, err))) break;
        int imu = n == 48; /* Ouster IMU packets are 48 bytes (Software User Manual, IMU data format) */
        if (!imu && (rc = take_lidar_topic(im, m->topic, t, err))) break;
        if (!im->lidar_frame[0]) snprintf(im->lidar_frame, sizeof im->lidar_frame, "os_sensor");
        im->lidar_model = "ouster";
        if (!(rc = lidar_open(im, "ouster", err))) rc = lidar_packet(im, m->recv_ns, imu ? 7503 : 7502, buf, n, err);
        if (imu) im->st->imu_packets++;
        else im->st->lidar_packets++;
        break;
    }
    case R_OUSTER_META: {
        const char *s;
        size_t n;
        if ((rc = avt_cdr_string_msg(m->data, m->len, &s, &n, err)) || im->wrote_meta) break;
        if (!(rc = mkdir_p(im->dir, "lidar", path, sizeof path, err)) &&
            !(rc = avt_path_join(path, sizeof path, im->dir, "lidar/ouster.json")))
            rc = write_bytes(path, s, n, err);
        im->wrote_meta = 1;
        break;
    }
    case R_POINTS: {
        avt_ros_pointcloud2 pc;
        if ((rc = avt_cdr_pointcloud2(m->data, m->len, &pc, err))) break;
        if (!im->lidar_frame[0]) snprintf(im->lidar_frame, sizeof im->lidar_frame, "%s", pc.header.frame_id);
        if (!im->lidar_model) im->lidar_model = "pointcloud";
        rc = cloud_write(im, &pc, stamp_or_recv(&pc.header, m->recv_ns), err);
        break;
    }
    case R_IMAGE: {
        avt_ros_image img;
        camera_out *c = camera_of(im, t->name, err);
        if (!c) return err->code;
        if (!(rc = avt_cdr_image(m->data, m->len, &img, err)) &&
            !(rc = image_path(im, c, stamp_or_recv(&img.header, m->recv_ns), "png", path, sizeof path, err)))
            rc = png_write(path, &img, err);
        break;
    }
    case R_COMPRESSED: {
        avt_ros_compressed_image img;
        camera_out *c = camera_of(im, t->name, err);
        if (!c) return err->code;
        if ((rc = avt_cdr_compressed_image(m->data, m->len, &img, err))) break;
        static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        const char *ext = img.len >= 8 && memcmp(img.data, PNG_SIG, 8) == 0 ? "png"
                          : img.len >= 3 && img.data[0] == 0xff && img.data[1] == 0xd8 && img.data[2] == 0xff ? "jpg"
                                                                                                               : NULL;
        if (!ext) {
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: %s at %lld: format \"%s\", the data is neither PNG nor JPEG",
                         im->bag_path, t->name, (long long)m->recv_ns, img.format);
            break;
        }
        if (!(rc = image_path(im, c, stamp_or_recv(&img.header, m->recv_ns), ext, path, sizeof path, err)))
            rc = write_bytes(path, img.data, img.len, err);
        break;
    }
    case R_CAMERA_INFO: {
        camera_out *c = camera_of(im, t->name, err);
        if (!c) return err->code;
        if (!(rc = avt_cdr_camera_info(m->data, m->len, &c->info, err))) {
            if (!c->have_info) im->st->camera_infos++;
            c->have_info = 1;
        }
        break;
    }
    case R_TF:
    case R_TF_STATIC: {
        avt_ros_tf tf;
        if ((rc = avt_cdr_tf(m->data, m->len, &tf, err))) break;
        for (size_t i = 0; !rc && i < tf.n; i++)
            rc = role == R_TF_STATIC ? add_static(im, &tf.transforms[i], err) : add_pose(im, &tf.transforms[i], m->recv_ns, err);
        avt_ros_tf_free(&tf);
        break;
    }
    default: break;
    }
    if (rc && !strstr(err->msg, im->bag_path)) avt_err_prefix(err, "%s: topic %s, message at %lld", im->bag_path, t->name,
                                                             (long long)m->recv_ns);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int avt_rosbag_import(const char *bag_path, const char *dst, const avt_rosbag_import_opts *opts,
                      avt_rosbag_import_stats *stats, avt_error *err)
{
    importer im = {0};
    avt_rosbag_import_stats st_local;
    im.st = stats ? stats : &st_local;
    memset(im.st, 0, sizeof *im.st);
    im.bag_path = bag_path;
    im.opts = opts;
    im.lidar_topic = SIZE_MAX;
    struct stat sb;
    if (stat(dst, &sb) == 0)
        return avt_err(err, AVT_INVAL, "%s: already exists; give a new directory", dst);
    if (snprintf(im.dir, sizeof im.dir, "%s.partial", dst) >= (int)sizeof im.dir)
        return avt_err(err, AVT_INVAL, "%s: path too long", dst);
    for (size_t k = 0; opts && k < opts->noverrides; k++) {
        int ok = 0;
        for (int r = 1; r < R_COUNT; r++) ok |= strcmp(opts->override_role[k], ROLE_NAMES[r]) == 0;
        if (!ok)
            return avt_err(err, AVT_INVAL, "--topic %s=%s: unknown type '%s' (velodyne, ouster, ouster_metadata, points, "
                           "image, compressed_image, camera_info, tf, tf_static)", opts->override_role[k],
                           opts->override_topic[k], opts->override_role[k]);
    }
    nftw(im.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* a .partial left by a killed run */
    if (mkdir(im.dir, 0777) != 0) return avt_err(err, AVT_IO, "%s: cannot create: %s", im.dir, strerror(errno));
    int rc = avt_bag_open(bag_path, &im.bag, err);
    avt_bag_msg m;
    int more = 0, points_forced = 0;
    for (size_t k = 0; opts && k < opts->noverrides; k++) points_forced |= strcmp(opts->override_role[k], "points") == 0;
    while (!rc && (more = avt_bag_next(im.bag, &m, err)) == 1) {
        size_t nt;
        const avt_bag_topic *topics = avt_bag_topics(im.bag, &nt);
        if (nt > im.nroles) {
            int *r = realloc(im.roles, nt * sizeof *r);
            if (!r) {
                rc = avt_err(err, AVT_NOMEM, "out of memory");
                break;
            }
            im.roles = r;
            for (; im.nroles < nt && rc == AVT_OK; im.nroles++) {
                r[im.nroles] = decide_role(&im, &topics[im.nroles], err);
                if (r[im.nroles] == AVT_INVAL) rc = AVT_INVAL;
            }
            if (rc) break;
        }
        im.st->messages++;
        if (opts && opts->progress) opts->progress(avt_bag_fraction(im.bag), im.st->messages, opts->progress_ctx);
        int role = im.roles[m.topic];
        if (role <= 0) continue;
        if (role == R_POINTS && im.lidar_topic != SIZE_MAX && !points_forced) continue;
        if ((role == R_VELODYNE || role == R_OUSTER) && im.st->clouds > 0 && !points_forced) {
            rc = avt_err(err, AVT_UNSUPPORTED, "%s: PointCloud2 messages came before the first LiDAR packet on %s: "
                         "choose one with --topic points=TOPIC or --topic %s=TOPIC", bag_path, topics[m.topic].name,
                         ROLE_NAMES[role]);
            break;
        }
        rc = on_message(&im, &m, role, &topics[m.topic], err);
    }
    if (!rc && more == AVT_TRUNCATED) { /* the last file cut: keep what was read up to the cut */
        snprintf(im.st->truncated, sizeof im.st->truncated, "%s", err->msg);
        err->code = AVT_OK;
        err->msg[0] = 0;
    } else if (!rc && more < 0) {
        rc = more;
    }
    if (im.dump) {
        if (pcap_dump_flush(im.dump) != 0 && !rc) rc = avt_err(err, AVT_IO, "%s: lidar capture: write failed (disk full?)", im.dir);
        pcap_dump_close(im.dump);
    }
    if (im.pcap_dead) pcap_close(im.pcap_dead);
    if (!rc && im.st->lidar_packets == 0 && im.st->clouds == 0)
        rc = avt_err(err, AVT_NOTFOUND, "%s: no LiDAR topic (velodyne_msgs/msg/VelodyneScan, "
                     "ouster_sensor_msgs/msg/PacketMsg or sensor_msgs/msg/PointCloud2) among %zu messages",
                     bag_path, im.st->messages);
    if (!rc) rc = write_poses(&im, err);
    if (!rc) rc = write_calib(&im, im.lidar_model, err);
    if (!rc && rename(im.dir, dst) != 0) rc = avt_err(err, AVT_IO, "%s: cannot rename to %s: %s", im.dir, dst, strerror(errno));
    if (rc) nftw(im.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    avt_bag_close(im.bag);
    free(im.roles);
    free(im.statics);
    free(im.poses);
    return rc;
}
