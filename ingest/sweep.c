/* LiDAR reader: capture records -> Velodyne packets -> sweeps cut at a fixed azimuth.
 *
 * Sweeps are cut at firing-sequence granularity: the first firing sequence whose interpolated
 * azimuth reaches the cut angle starts a new sweep, even in the middle of a packet (the rest of
 * that packet is kept and continued on the next call). Memory is one sweep plus one decoded
 * packet, reused.
 *
 * Time (VLP-16 manual 9.3.1.6, 9.3.3): packets carry microseconds past the top of the hour;
 * the hour comes from the record time of the capture, corrected by the device-host offset
 * measured from the last valid $GPRMC of a position packet (if any), and the result is moved
 * by one hour when it lands more than 30 min from that estimate (the roll-over of either clock).
 *
 * Model detection: the factory product byte (9.3.1.7). Early VLP-16 firmware reports 0x21
 * (HDL-32E); the two are told apart by the packet period, which the firing timing fixes
 * whatever the rotation speed: 12 x 46.08 us = 552.96 us for the HDL-32E (single or dual),
 * 24 x 55.296 = 1327.104 us (single) or 12 x 55.296 = 663.552 us (dual) for the VLP-16.
 * The smallest positive timestamp step between consecutive packets in the first records
 * decides (>= 600 us: VLP-16). The azimuth step per block cannot decide: it depends on the
 * RPM and the ranges overlap. config.model overrides all of this.
 *
 * Ouster (ouster.c): chosen when config.model is "ouster", or in "auto" mode when the first
 * records carry UDP payloads of an Ouster lidar packet size on the Ouster lidar port (7502 or
 * the metadata's udp_port_lidar) and no Velodyne data packets; the metadata JSON then must
 * exist. Sweeps are the sensor's frames (ouster.c), IMU packets are counted, not decoded.
 *
 * Parts (avt_lidar_open_part, ingest.h): the same reader started at the part's lead-in record;
 * avt_lidar_next drops the sweeps whose key record (sweep_off) lies before the part and ends
 * at the first one past it. A Velodyne part reader starts with its own cut state, which
 * becomes the whole-capture reader's at the first cut that both must make: a cut by angle
 * whose sweep crossed the cut angle nowhere else and covered at least the 180 degrees a cut
 * needs (the whole-capture reader's sweep at that column began at the same column or
 * earlier, so it covered as much, or it began after a cut by length or gap, which any
 * crossing ends; if it began at a crossing, that crossing lies inside this sweep). A part
 * whose first sweep (or the capture's end) is reached before such a cut, such as one of a
 * sensor that does not turn, is read again from the capture's first record. The hour of
 * packet times uses the latest $GPRMC's device-host offset; a part starts with the first one
 * in the capture (the prescan's) until its lead-in holds a position packet, which gives the
 * same hour unless that offset moves by tens of minutes within the capture. */
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ouster.h"
#include "avtruth/velodyne.h"
#include "ingest_private.h"

#define PRESCAN_RECORDS 4096
#define PRESCAN_PACKETS 16
#define MAX_SWEEP_NS 500000000LL    /* longer than any revolution (300 RPM = 200 ms) */
#define VLP16_MIN_PERIOD_NS 600000  /* between 552.96 (HDL-32E) and 663.552 us (VLP-16 dual) */
/* A packet time more than this off the capture clock's course, or before the previous
 * packet's, is corrupt; that many such packets in a row are the sensor's clock stepping. */
#define CLOCK_JUMP_NS 1000000000LL
#define CLOCK_STEP_PACKETS 8

struct avt_lidar_reader {
    avt_pcap_src src;
    avt_ouster_batcher *os;    /* non-NULL: an Ouster capture */
    uint16_t os_lidar_port, os_imu_port;
    int src_done;
    avt_lidar_config cfg;
    uint16_t data_port, position_port;
    int have_src;              /* cfg.source_addr given: only its datagrams */
    uint32_t src_addr;
    int32_t cut_cdeg;
    const avt_vlp_model *model;
    avt_vlp_tables tab;
    avt_vlp_calib *calib;      /* from cfg.calibration_path, or NULL */
    double rate_hint;          /* azimuth rate of the last packets, 0.01 deg per ns */
    int have_rate_az;
    int32_t rate_az;           /* first azimuth of the previous packet */
    int64_t rate_ns;           /* its time */
    int unsupported;
    char unsupported_msg[512];
    int64_t dev_minus_host_ns;
    avt_lidar_stats st;

    /* the decoded packet being consumed; its points were decoded straight into the sweep's
     * arrays from index pkt_base (the next sweep moves what is left to its front) */
    avt_vlp_packet pkt;
    size_t pkt_base;
    int next_col;
    int pkt_counted;   /* the packet already counted in the current sweep */
    int gap_before;    /* packets were lost just before this packet */
    int have_prev_pkt;
    uint32_t prev_toh_us;
    int64_t prev_dur_ns;
    int64_t prev_pkt_ns;       /* the last accepted packet's time */
    int64_t prev_off_ns;       /* and its time less its record's (device - capture clock) */
    int time_faults;           /* packets in a row whose time broke the course (see below) */
    int have_stream_src;       /* no source filter: the address of the stream's sensor */
    uint32_t stream_src;
    struct { uint16_t port; uint32_t addr; uint64_t n; } seen[4]; /* skipped UDP, for errors */
    int have_prev_col;
    int32_t prev_az;

    /* the sweep being built (or just returned) */
    avt_sweep sw;
    size_t cap;
    int sweep_has_cols;
    int started_by_cut, next_started_by_cut;
    int ts_found;
    int32_t covered_cdeg;
    int returned;
    int ended;
    avt_error saved_err;
    uint64_t next_index;

    /* parallel decode (avt_lidar_open_part): keys are record offsets (ingest.h) */
    int in_part;
    avt_lidar_part part;
    uint64_t part_index;
    uint64_t pkt_off;    /* record of the packet in r->pkt */
    uint64_t push_off;   /* record of the last packet pushed into the Ouster batcher */
    uint64_t sweep_off;  /* key of the sweep being built or returned */
    int synced;          /* the cut state is the whole-capture reader's (see the top) */
    int sweep_synced;    /* synced when the current sweep began */
    int inner_cross;     /* the current sweep crossed the cut angle without a cut */
    int pending;         /* open_part read the part's first result: rc, sweep and error */
    int pending_rc;
    avt_sweep *pending_sweep;
    avt_error pending_err;
};

void avt_lidar_config_default(avt_lidar_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->model = "auto";
    cfg->cut_angle_deg = 180.0;
    cfg->min_range_m = 0.1;
    cfg->max_range_m = 250.0;
}

/* 1 for a datagram of another sensor (source address filter). */
static int other_source(const avt_lidar_reader *r, const avt_udp_frame *f)
{
    return r->have_src && f->addr_known && f->src_addr != r->src_addr;
}

/* a (host order) in dotted form: inet_pton's inverse, as open_any reads source_addr */
static const char *ipv4_str(uint32_t a, char buf[INET_ADDRSTRLEN])
{
    const struct in_addr in = {htonl(a)};
    return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* Counts a skipped UDP datagram by port and source, for the message of a capture in which
 * nothing was for this sensor. */
static void note_skipped(avt_lidar_reader *r, const avt_udp_frame *f)
{
    r->st.skipped++;
    if (f->kind != AVT_FRAME_UDP) return;
    for (size_t i = 0; i < sizeof r->seen / sizeof r->seen[0]; i++) {
        if (r->seen[i].n == 0) {
            r->seen[i].port = f->dst_port;
            r->seen[i].addr = f->addr_known ? f->src_addr : 0;
        }
        if (r->seen[i].port == f->dst_port) {
            r->seen[i].n++;
            return;
        }
    }
}

/* The end of a whole capture in which no data packet was for this sensor: an error that says
 * what the capture held instead. */
static int no_data_error(avt_lidar_reader *r, uint16_t port, avt_error *err)
{
    char seen[400] = "", a[INET_ADDRSTRLEN];
    size_t k = 0;
    for (size_t i = 0; i < sizeof r->seen / sizeof r->seen[0] && r->seen[i].n; i++)
        k += (size_t)snprintf(seen + k, sizeof seen - k, "%s port %u (%llu, from %s)",
                              i ? "," : "; UDP datagrams skipped:", (unsigned)r->seen[i].port,
                              (unsigned long long)r->seen[i].n, ipv4_str(r->seen[i].addr, a));
    return avt_err(err, AVT_FORMAT,
                   "%.200s: no %s data packets on UDP port %u%s%s in %llu records "
                   "(%llu corrupt%s%.250s)%s; set the lidar's data_port, source or %s in "
                   "log.yaml",
                   r->src.name, r->os ? "Ouster lidar" : "Velodyne", (unsigned)port,
                   r->have_src ? " from " : "", r->have_src ? ipv4_str(r->src_addr, a) : "",
                   (unsigned long long)r->st.records, (unsigned long long)r->st.corrupt,
                   r->st.corrupt ? ", the first: " : "", r->st.first_corrupt, seen,
                   r->os ? "metadata" : "model");
}

static int is_port(const avt_udp_frame *f, uint16_t port)
{
    return f->kind == AVT_FRAME_UDP && (f->dst_port == port || f->src_port == port);
}

static uint32_t toh_of(const uint8_t *p)
{
    avt_cursor c = avt_cursor_make(p + 1200, 4);
    return avt_get_le32(&c);
}

/* Signed difference b - a of two "us past the hour" stamps across the hour wrap. */
static int64_t toh_diff_us(uint32_t a, uint32_t b)
{
    int64_t d = (int64_t)b - (int64_t)a;
    if (d < -(int64_t)AVT_TOH_LIMIT_US / 2) d += AVT_TOH_LIMIT_US;
    else if (d > (int64_t)AVT_TOH_LIMIT_US / 2) d -= AVT_TOH_LIMIT_US;
    return d;
}

/* Reads the first records of the capture on a second handle: the device-host clock offset
 * from a $GPRMC, the sensor model, and whether anything on the data port is Velodyne at all. */
static void prescan(avt_lidar_reader *r, const char *path, const void *mem, size_t len)
{
    avt_pcap_src s;
    avt_udp_frame f;
    avt_error e;
    char why[128] = "", first_why[160] = "";
    uint64_t on_port = 0, valid = 0, shaped = 0, first_bad_record = 0;
    int have_gps = 0, have_prev = 0;
    uint8_t product = 0;
    uint32_t prev_toh = 0, src = 0;
    uint64_t src_record = 0;
    int64_t min_step_us = 0;
    int several = 0;

    if (avt_pcap_src_open(&s, path, mem, len, r->src.name, &e) != AVT_OK) return;
    while (s.record < PRESCAN_RECORDS && !(have_gps && valid >= PRESCAN_PACKETS)) {
        if (avt_pcap_src_next(&s, &f, &e) != 1) break;
        if (other_source(r, &f)) continue;
        if (is_port(&f, r->position_port) && !have_gps) {
            int64_t utc_ns;
            if (avt_vlp_position_time(f.payload, f.len, &utc_ns)) {
                r->dev_minus_host_ns = utc_ns - f.rec_ns;
                have_gps = 1;
            }
            continue;
        }
        if (!is_port(&f, r->data_port)) continue;
        on_port++;
        if (f.len == AVT_VLP16_PAYLOAD && f.payload[0] == 0xFF && f.payload[1] == 0xEE)
            shaped++;
        if (avt_vlp_check(r->model, f.payload, f.len, why, sizeof why) != AVT_OK) {
            if (!first_bad_record) {
                first_bad_record = f.record;
                snprintf(first_why, sizeof first_why, "%s", why);
            }
            have_prev = 0;
            continue;
        }
        if (f.addr_known && valid > 0 && f.src_addr != src && !several) {
            char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
            several = 1;
            snprintf(r->unsupported_msg, sizeof r->unsupported_msg,
                     "%.200s: Velodyne data packets from several sensors on UDP port %u (%s from "
                     "record %llu, %s from record %llu): set the lidar's source address "
                     "(log.yaml) to the one to decode",
                     r->src.name, (unsigned)r->data_port, ipv4_str(src, a),
                     (unsigned long long)src_record, ipv4_str(f.src_addr, b),
                     (unsigned long long)f.record);
        }
        if (valid++ == 0) {
            product = f.payload[1205];
            src = f.src_addr;
            src_record = f.record;
        }
        uint32_t toh = toh_of(f.payload);
        if (have_prev) {
            int64_t d = toh_diff_us(prev_toh, toh);
            if (d > 0 && (min_step_us == 0 || d < min_step_us)) min_step_us = d;
        }
        prev_toh = toh;
        have_prev = 1;
    }
    avt_pcap_src_close(&s);
    if (several) {
        r->unsupported = 1;
        return;
    }

    /* Nothing valid and nothing even shaped like a Velodyne packet (1206 bytes starting with
     * a block flag): another sensor on the port. A capture of only damaged Velodyne packets
     * stays Velodyne, with every packet counted corrupt. */
    if (on_port > 0 && valid == 0 && !shaped) {
        r->unsupported = 1;
        snprintf(r->unsupported_msg, sizeof r->unsupported_msg,
                 "%.200s: unsupported sensor: none of the first %llu packets on UDP port %u is a "
                 "Velodyne data packet (record %llu: %.150s)",
                 r->src.name, (unsigned long long)on_port, (unsigned)r->data_port,
                 (unsigned long long)first_bad_record, first_why);
        return;
    }
    if (valid == 0 || r->model) return;
    if (product == AVT_VELODYNE_PRODUCT_HDL32E && min_step_us * 1000 >= VLP16_MIN_PERIOD_NS) {
        r->model = avt_vlp_model_find("vlp16");
        return;
    }
    r->model = avt_vlp_model_by_product(product);
    if (!r->model) {
        r->unsupported = 1;
        snprintf(r->unsupported_msg, sizeof r->unsupported_msg,
                 "%s: unsupported Velodyne product ID 0x%02X (supported: VLP-16 0x22, HDL-32E "
                 "0x21, Puck Hi-Res 0x24, VLP-32C 0x28, VLS-128 0xA1; the HDL-64E sends none: "
                 "set the model and its calibration_path)",
                 r->src.name, (unsigned)product);
    }
}

/* Reads the metadata JSON named by the config, or next to the capture. Returns AVT_OK,
 * AVT_NOTFOUND (no file and none was named) or an error in err. */
static int load_ouster_meta(const char *path, const char *meta_path, avt_ouster_meta *m,
                            char *tried, size_t tried_n, avt_error *err)
{
    char guess[1024];
    char *json = NULL;
    size_t len = 0;
    int rc;

    tried[0] = '\0';
    if (!meta_path) {
        const char *slash = path ? strrchr(path, '/') : NULL;
        const char *dot = path ? strrchr(path, '.') : NULL;
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : (path ? strlen(path) : 0);
        if (!path || stem + 6 > sizeof guess) return AVT_NOTFOUND;
        memcpy(guess, path, stem);
        memcpy(guess + stem, ".json", 6);
        meta_path = guess;
        snprintf(tried, tried_n, "%s", guess);
        FILE *fp = fopen(guess, "rb");
        if (!fp) return AVT_NOTFOUND;
        fclose(fp);
    }
    snprintf(tried, tried_n, "%s", meta_path);
    rc = avt_read_file(meta_path, 16u << 20, &json, &len, err);
    if (rc == AVT_OK) rc = avt_ouster_meta_parse(json, len, meta_path, m, err);
    free(json);
    return rc;
}

/* Decides whether the capture is an Ouster one and sets up the batcher. Returns 1 (Ouster),
 * 0 (not Ouster: try Velodyne) or a negative status. */
static int open_ouster(avt_lidar_reader *r, const char *path, const void *mem, size_t len,
                       const char *name, int forced, avt_error *err)
{
    avt_ouster_meta m;
    avt_pcap_src s;
    avt_udp_frame f;
    avt_error e;
    char tried[1024];
    uint64_t os_like = 0, vlp_like = 0, os_other = 0, other_len = 0, other_record = 0;
    int rc = load_ouster_meta(path, r->cfg.metadata_path, &m, tried, sizeof tried, err);
    const int have_meta = rc == AVT_OK;

    if (rc != AVT_OK && rc != AVT_NOTFOUND) return rc;
    r->os_lidar_port = r->cfg.data_port       ? r->cfg.data_port
                       : have_meta && m.lidar_port ? m.lidar_port
                                                   : AVT_OUSTER_LIDAR_PORT;
    r->os_imu_port = r->cfg.position_port   ? r->cfg.position_port
                     : have_meta && m.imu_port ? m.imu_port
                                               : AVT_OUSTER_IMU_PORT;
    if (!forced) {
        if (avt_pcap_src_open(&s, path, mem, len, name, &e) !=
            AVT_OK)
            return 0; /* the Velodyne path reports the error */
        while (s.record < PRESCAN_RECORDS && os_like + vlp_like < PRESCAN_PACKETS) {
            if (avt_pcap_src_next(&s, &f, &e) != 1) break;
            if (f.kind != AVT_FRAME_UDP || other_source(r, &f)) continue;
            if (is_port(&f, r->os_lidar_port)) {
                if (have_meta ? f.len == avt_ouster_packet_size(&m) : avt_ouster_size_plausible(f.len))
                    os_like++;
                else if (avt_ouster_size_plausible(f.len) && os_other++ == 0) {
                    other_len = f.len;
                    other_record = f.record;
                }
            }
            if (is_port(&f, r->data_port) && f.len == AVT_VLP16_PAYLOAD) vlp_like++;
        }
        avt_pcap_src_close(&s);
        /* Ouster packets, but not of the metadata's size: metadata of another sensor or mode */
        if (os_like == 0 && vlp_like == 0 && os_other > 0)
            return avt_err(err, AVT_FORMAT,
                           "%s: record %llu: Ouster lidar packets of %llu bytes on UDP port %u, "
                           "but the metadata %s describes %zu-byte packets (%d beams, %d "
                           "columns per packet): metadata of another sensor or lidar mode",
                           name, (unsigned long long)other_record,
                           (unsigned long long)other_len, (unsigned)r->os_lidar_port, tried,
                           avt_ouster_packet_size(&m), m.h, m.cols_per_packet);
        if (os_like == 0 || vlp_like > 0) return 0;
    }
    if (!have_meta)
        return avt_err(err, AVT_NOTFOUND,
                       "%s: Ouster capture but no sensor metadata JSON (tried \"%s\"); set "
                       "metadata_path",
                       name, tried[0] ? tried : "(no capture path)");
    r->os = avt_ouster_batcher_new(&m, r->cfg.min_range_m, r->cfg.max_range_m, err);
    if (!r->os) return err ? err->code : AVT_NOMEM;
    return 1;
}

enum { OS_SKIP, OS_CORRUPT, OS_IMU, OS_LIDAR };

#define PART_RESYNC 2
static int part_next(avt_lidar_reader *r, avt_sweep **out, avt_error *err);

/* What the Ouster reader makes of a record: OS_LIDAR (*fid set), OS_CORRUPT (why set), OS_IMU
 * or OS_SKIP (another sensor's, other traffic, IPv4 fragments). */
static int ouster_classify(const avt_lidar_reader *r, const avt_udp_frame *f, uint32_t *fid,
                           char *why, size_t why_n)
{
    if (other_source(r, f)) return OS_SKIP;
    if (f->kind == AVT_FRAME_BAD && f->ports_known &&
        (f->dst_port == r->os_lidar_port || f->src_port == r->os_lidar_port)) {
        snprintf(why, why_n, "%s", f->why);
        return OS_CORRUPT;
    }
    if (f->ports_known && (f->dst_port == r->os_imu_port || f->src_port == r->os_imu_port))
        return OS_IMU; /* not part of the point stream */
    if (!is_port(f, r->os_lidar_port)) return OS_SKIP;
    if (avt_ouster_check(avt_ouster_batcher_meta(r->os), f->payload, f->len, fid, why, why_n) !=
        AVT_OK)
        return OS_CORRUPT;
    return OS_LIDAR;
}

/* The batcher takes the time offset of internal-oscillator clocks from the first packet it is
 * given (ouster.c). A part's reader that starts after the capture's first lidar packet gives
 * it that packet first and releases its frame at once (not returned), so that its times are
 * the whole-capture reader's; the frame window settles within the lead-in. */
static int ouster_prime(avt_lidar_reader *r, const char *path, const void *mem, size_t len,
                        avt_error *err)
{
    avt_pcap_src s;
    avt_udp_frame f;
    char why[160];
    uint32_t fid;
    int late, dup, got;
    int rc = avt_pcap_src_open(&s, path, mem, len, r->src.name, err);
    if (rc != AVT_OK) return rc;
    while ((got = avt_pcap_src_next(&s, &f, err)) == 1) {
        if (ouster_classify(r, &f, &fid, why, sizeof why) != OS_LIDAR) continue;
        if (f.rec_off < r->part.lead) {
            avt_ouster_batcher_push(r->os, f.payload, fid, f.rec_ns, &late, &dup);
            avt_ouster_batcher_release(r->os, 1);
        }
        break;
    }
    avt_pcap_src_close(&s);
    return got < 0 ? got : AVT_OK;
}

/* A part's reader: nothing to read for an empty part, else from its lead-in on. */
static int start_part(avt_lidar_reader *r, const avt_lidar_part *part, const char *path,
                      const void *mem, size_t len, avt_error *err)
{
    r->in_part = 1;
    r->part = *part;
    /* nothing to synchronize: a lead-in from the capture's first record, an Ouster capture
     * (frames are told apart by frame id) or an empty part */
    r->synced = r->sweep_synced =
        part->lead_record == 0 || r->os != NULL || part->begin >= part->end;
    if (part->begin >= part->end) {
        r->ended = 1;
        return AVT_OK;
    }
    if (part->lead == 0) return AVT_OK;
    int rc = avt_pcap_src_seek(&r->src, part->lead, part->lead_record, err);
    if (rc == AVT_OK && r->os) rc = ouster_prime(r, path, mem, len, err);
    return rc;
}

/* Velodyne: the model named (NULL: detected by prescan from the product byte), the per-unit
 * calibration, the capture, and the decode tables. Returns 1 or a negative status; as the
 * last family it takes every capture no other family claimed and reports what is wrong. */
static int open_velodyne(avt_lidar_reader *r, const char *path, const void *mem, size_t len,
                         const char *name, const char *model, avt_error *err)
{
    if (model && !(r->model = avt_vlp_model_find(model)))
        return avt_err(err, AVT_UNSUPPORTED, "%s: lidar model \"%s\" not supported (auto, %s, ouster)",
                       name ? name : path, model, avt_vlp_model_names());
    if (r->cfg.calibration_path) {
        r->calib = malloc(sizeof *r->calib);
        if (!r->calib) return avt_err(err, AVT_NOMEM, "%s: out of memory", name ? name : path);
        if (avt_vlp_calib_load(r->cfg.calibration_path, r->calib, err) != AVT_OK) return err ? err->code : AVT_FORMAT;
    }
    if (avt_pcap_src_open(&r->src, path, mem, len, name, err) != AVT_OK) return err ? err->code : AVT_IO;
    prescan(r, path, mem, len);
    if (r->model) {
        if (avt_vlp_tables_init(&r->tab, r->model, r->calib, r->cfg.min_range_m, r->cfg.max_range_m, err) !=
            AVT_OK)
            return avt_err_prefix(err, "%s", r->src.name);
        snprintf(r->st.model, sizeof r->st.model, "%s", r->model->name);
    }
    return 1;
}

/* Ouster: 1 when the capture is an Ouster one (or the model says so) with the batcher and the
 * capture open, 0 when it is not (the next family is tried), or a negative status. */
static int probe_ouster(avt_lidar_reader *r, const char *path, const void *mem, size_t len,
                        const char *name, const char *model, avt_error *err)
{
    int rc = open_ouster(r, path, mem, len, name, model != NULL, err);
    if (rc != 1) return rc;
    if (avt_pcap_src_open(&r->src, path, mem, len, name, err) != AVT_OK) return err ? err->code : AVT_IO;
    snprintf(r->st.model, sizeof r->st.model, "ouster");
    return 1;
}

static int is_ouster_model(const char *model) { return strcmp(model, "ouster") == 0; }
static int is_velodyne_model(const char *model) { return avt_vlp_model_find(model) != NULL; }

/* The sensor families, tried in this order on an "auto" capture (like libpcap's
 * check_headers[]): open returns 1 (the family's capture, the reader set up), 0 (not this
 * family: try the next) or a negative status. A model the configuration names goes straight
 * to its family, whose open gets the name (NULL in "auto" mode). A new family is one decoder
 * file and one row here. */
static const struct lidar_family {
    int (*has_model)(const char *model);
    int (*open)(avt_lidar_reader *r, const char *path, const void *mem, size_t len, const char *name,
                const char *model, avt_error *err);
} FAMILIES[] = {
    {is_ouster_model, probe_ouster},
    {is_velodyne_model, open_velodyne}, /* last: takes what no other family claimed */
};
#define N_FAMILIES (sizeof FAMILIES / sizeof FAMILIES[0])

static avt_lidar_reader *open_any(const char *path, const void *mem, size_t len,
                                  const char *name, const avt_lidar_config *cfg_in,
                                  const avt_lidar_part *part, avt_error *err)
{
    avt_lidar_reader *r = NULL;
    avt_lidar_config defaults;
    int ok = 0;

    if (!cfg_in) {
        avt_lidar_config_default(&defaults);
        cfg_in = &defaults;
    }
    if ((!path && !mem) || !isfinite(cfg_in->cut_angle_deg)) {
        avt_err(err, AVT_INVAL, "%s: invalid lidar reader arguments", name ? name : "lidar");
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        avt_err(err, AVT_NOMEM, "%s: out of memory", name ? name : path);
        goto out;
    }
    r->cfg = *cfg_in;
    if (cfg_in->source_addr) {
        struct in_addr in;
        if (inet_pton(AF_INET, cfg_in->source_addr, &in) != 1) {
            avt_err(err, AVT_INVAL, "%s: source_addr \"%.64s\" is not an IPv4 address",
                    name ? name : path, cfg_in->source_addr);
            goto out;
        }
        r->have_src = 1;
        r->src_addr = ntohl(in.s_addr);
    }
    /* until two packets give it: the manuals' default 600 RPM (only a packet of a single
     * azimuth, VLS-128 dual, uses it) */
    r->rate_hint = 36000.0 / 1e8;
    r->data_port = cfg_in->data_port ? cfg_in->data_port : AVT_VELODYNE_DATA_PORT;
    r->position_port = cfg_in->position_port ? cfg_in->position_port : AVT_VELODYNE_POSITION_PORT;
    double cut = fmod(cfg_in->cut_angle_deg, 360.0);
    r->cut_cdeg = (int32_t)lround((cut < 0 ? cut + 360.0 : cut) * 100.0) % 36000;

    const char *model = cfg_in->model && cfg_in->model[0] && strcmp(cfg_in->model, "auto") != 0 ? cfg_in->model : NULL;
    size_t fam = N_FAMILIES - 1; /* an unknown model: the last family's open names it */
    for (size_t i = 0; model && i < N_FAMILIES; i++)
        if (FAMILIES[i].has_model(model)) {
            fam = i;
            break;
        }
    int rc = 0;
    for (size_t i = model ? fam : 0; i < N_FAMILIES && rc == 0; i++)
        rc = FAMILIES[i].open(r, path, mem, len, name, model, err);
    if (rc < 0) goto out;
    if (part && start_part(r, part, path, mem, len, err) != AVT_OK) goto out;
    if (part && !r->sweep_synced && !r->ended) {
        /* the part's first sweep decides whether the lead-in was enough (see the top) */
        int prc = part_next(r, &r->pending_sweep, &r->pending_err);
        if (prc == PART_RESYNC) {
            avt_lidar_part whole = *part;
            whole.lead = whole.lead_record = 0;
            avt_lidar_close(r);
            return open_any(path, mem, len, name, cfg_in, &whole, err);
        }
        r->pending = 1;
        r->pending_rc = prc;
    }
    ok = 1;
out:
    if (!ok) {
        avt_lidar_close(r);
        r = NULL;
    }
    return r;
}

avt_lidar_reader *avt_lidar_open(const char *path, const avt_lidar_config *cfg, avt_error *err)
{
    return open_any(path, NULL, 0, path, cfg, NULL, err);
}

avt_lidar_reader *avt_lidar_open_part(const char *path, const avt_lidar_config *cfg,
                                      const avt_lidar_part *part, avt_error *err)
{
    if (!part) {
        avt_err(err, AVT_INVAL, "%s: no part", path ? path : "lidar");
        return NULL;
    }
    return open_any(path, NULL, 0, path, cfg, part, err);
}

avt_lidar_reader *avt_lidar_open_mem(const void *data, size_t len, const char *name,
                                     const avt_lidar_config *cfg, avt_error *err)
{
    if (!data) {
        avt_err(err, AVT_INVAL, "%s: no capture data", name ? name : "(memory)");
        return NULL;
    }
    return open_any(NULL, data, len, name ? name : "(memory)", cfg, NULL, err);
}

avt_lidar_reader *avt_lidar_open_part_mem(const void *data, size_t len, const char *name,
                                          const avt_lidar_config *cfg,
                                          const avt_lidar_part *part, avt_error *err)
{
    if (!data || !part) {
        avt_err(err, AVT_INVAL, "%s: no capture data or no part", name ? name : "(memory)");
        return NULL;
    }
    return open_any(NULL, data, len, name ? name : "(memory)", cfg, part, err);
}

void avt_lidar_close(avt_lidar_reader *r)
{
    if (!r) return;
    avt_pcap_src_close(&r->src);
    avt_ouster_batcher_free(r->os);
    avt_vlp_tables_free(&r->tab);
    free(r->calib);
    avt_sweep_free_arrays(&r->sw);
    free(r);
}

void avt_sweep_free_arrays(avt_sweep *s)
{
    if (!s) return;
    free(s->xyz), free(s->intensity), free(s->ring), free(s->t_ns), free(s->return_type);
    s->xyz = s->intensity = NULL;
    s->ring = NULL;
    s->t_ns = NULL;
    s->return_type = NULL;
}

double avt_lidar_fraction(const avt_lidar_reader *r)
{
    if (!r->src.size) return 0;
    return r->src.off >= r->src.size ? 1.0 : (double)r->src.off / (double)r->src.size;
}

void avt_lidar_stats_get(const avt_lidar_reader *r, avt_lidar_stats *stats)
{
    if (!r || !stats) return;
    *stats = r->st;
    stats->fragments = r->src.frag.fragments;
    stats->reassembled = r->src.frag.reassembled;
    stats->frag_dropped = r->src.frag.dropped;
    stats->frag_overlaps = r->src.frag.overlaps;
    if (r->src.cut_record) {
        stats->truncated_record = r->src.cut_record;
        stats->truncated_byte = r->src.cut_byte;
        snprintf(stats->truncated, sizeof stats->truncated,
                 "%.200s: truncated at record %llu, byte %llu (the file ends inside that record): "
                 "decoded up to the cut",
                 r->src.name, (unsigned long long)r->src.cut_record,
                 (unsigned long long)r->src.cut_byte);
    }
    if (r->os) {
        stats->columns_lost = avt_ouster_batcher_columns_lost(r->os);
        stats->measurements = avt_ouster_batcher_measurements(r->os);
    }
}

/* Makes room for `need` points in every column of the sweep. */
static int sweep_reserve(avt_lidar_reader *r, size_t need, avt_error *err)
{
    if (need <= r->cap) return AVT_OK;
    size_t c;
    c = r->cap;
    if (avt_grow((void **)&r->sw.xyz, &c, need, 3 * sizeof(float))) goto nomem;
    c = r->cap;
    if (avt_grow((void **)&r->sw.intensity, &c, need, sizeof(float))) goto nomem;
    c = r->cap;
    if (avt_grow((void **)&r->sw.ring, &c, need, sizeof(uint16_t))) goto nomem;
    c = r->cap;
    if (avt_grow((void **)&r->sw.t_ns, &c, need, sizeof(int64_t))) goto nomem;
    c = r->cap;
    if (avt_grow((void **)&r->sw.return_type, &c, need, sizeof(uint8_t))) goto nomem;
    r->cap = c;
    return AVT_OK;
nomem:
    return avt_err(err, AVT_NOMEM, "%s: out of memory for a sweep of %zu points", r->src.name,
                   need);
}

/* b - a forward, for azimuths in [0, 36000) (no division: this runs once per column). */
static inline int32_t fwd_cdeg(int32_t a, int32_t b)
{
    int32_t d = b - a;
    return d < 0 ? d + 36000 : d;
}

/* 1 if going from azimuth a to b (forward) reaches or passes target (all in [0, 36000)). */
static int crosses(int32_t a, int32_t b, int32_t target)
{
    int32_t da = fwd_cdeg(target, a);
    int32_t db = fwd_cdeg(target, b);
    return db < da;
}

static void sweep_finish(avt_lidar_reader *r, int ended_by_cut)
{
    avt_sweep *s = &r->sw;
    s->index = r->next_index++;
    if (!r->ts_found) s->timestamp_ns = s->start_ns + (s->end_ns - s->start_ns) / 2;
    s->complete = r->started_by_cut && ended_by_cut && s->packets_lost == 0;
    r->st.sweeps++;
    r->returned = 1;
}

static void sweep_reset(avt_lidar_reader *r)
{
    avt_sweep *s = &r->sw;
    s->n = 0;
    s->packets = 0;
    s->packets_lost = 0;
    s->start_ns = s->end_ns = s->timestamp_ns = 0;
    s->complete = 0;
    r->sweep_has_cols = 0;
    r->pkt_counted = 0;
    r->ts_found = 0;
    r->covered_cdeg = 0;
    r->returned = 0;
}

/* Moves the packet's remaining columns into the sweep. Returns 1 when a cut ends the sweep
 * (the column that starts the next one is left in place), 0 when the packet is used up. */
static int consume_columns(avt_lidar_reader *r, int *rc, avt_error *err)
{
    avt_vlp_packet *p = &r->pkt;
    avt_sweep *s = &r->sw;
    const int32_t ts_az = (r->cut_cdeg + 18000) % 36000;

    while (r->next_col < p->ncols) {
        const int c = r->next_col;
        const int32_t az = p->col_az[c];
        const int64_t t = p->col_ns[c];
        int32_t inc = 0;
        if (r->have_prev_col) {
            inc = fwd_cdeg(r->prev_az, az);
            if (inc > 18000) inc = 0; /* backwards: jitter or corruption, not rotation */
        }
        if (r->sweep_has_cols) {
            const int cross = r->have_prev_col && crosses(r->prev_az, az, r->cut_cdeg);
            const int full = r->covered_cdeg + inc >= 18000;
            int by_angle = cross && (!r->started_by_cut || full);
            int by_gap = c == 0 && r->gap_before && p->rate_cdeg_per_ns > 0 &&
                         (double)(t - s->start_ns) * p->rate_cdeg_per_ns >= 36000.0;
            int by_length = t - s->start_ns > MAX_SWEEP_NS;
            if (by_angle || by_gap || by_length) {
                r->next_started_by_cut = by_angle;
                r->synced |= by_angle && full && !r->inner_cross;
                sweep_finish(r, by_angle);
                return 1;
            }
            r->inner_cross |= cross;
            r->covered_cdeg += inc;
        } else {
            s->start_ns = t;
            r->sweep_off = r->pkt_off;
            r->started_by_cut = r->next_started_by_cut;
            r->sweep_synced = r->synced;
            r->inner_cross = 0;
            r->sweep_has_cols = 1;
        }
        if (!r->ts_found && r->have_prev_col && crosses(r->prev_az, az, ts_az)) {
            s->timestamp_ns = t;
            r->ts_found = 1;
        }
        const size_t k0 = r->pkt_base + p->col_first[c], m = p->col_first[c + 1] - p->col_first[c];
        if (m && k0 != s->n) {
            /* the rest of a packet cut by the previous sweep: to the front of this one */
            memmove(s->xyz + 3 * s->n, s->xyz + 3 * k0, 3 * m * sizeof(float));
            memmove(s->intensity + s->n, s->intensity + k0, m * sizeof(float));
            memmove(s->ring + s->n, s->ring + k0, m * sizeof(uint16_t));
            memmove(s->t_ns + s->n, s->t_ns + k0, m * sizeof(int64_t));
            memmove(s->return_type + s->n, s->return_type + k0, m);
        }
        s->n += m;
        s->end_ns = p->col_end_ns[c];
        if (!r->pkt_counted) {
            s->packets++;
            r->pkt_counted = 1;
        }
        r->gap_before = 0;
        r->prev_az = az;
        r->have_prev_col = 1;
        r->next_col++;
    }
    return 0;
}

static void note_corrupt(avt_lidar_reader *r, const avt_udp_frame *f, const char *why)
{
    if (r->st.corrupt < AVT_LIDAR_CORRUPT_KEEP) r->st.corrupt_record[r->st.corrupt] = f->record;
    if (r->st.corrupt++ != 0) return;
    /* bounded parts: a long file name is cut, the record number and reason never are */
    snprintf(r->st.first_corrupt, sizeof r->st.first_corrupt, "%.120s: record %llu: %.95s",
             r->src.name, (unsigned long long)f->record, why);
}

/* Whether a data packet that passed the checks belongs to the stream: its sensor's (without a
 * source filter, the first data packet's source is the stream's) and in time. Its time
 * (*pkt_ns) must keep the course of the capture clock: not before the previous packet's and
 * not CLOCK_JUMP_NS off the device-capture offset of the previous packet, unless
 * CLOCK_STEP_PACKETS packets in a row do so (the sensor's clock stepped, e.g. on GPS lock). */
static int packet_from_stream(avt_lidar_reader *r, const avt_udp_frame *f, int64_t *pkt_ns,
                              char *why, size_t why_n)
{
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    if (!r->have_src && f->addr_known) {
        if (!r->have_stream_src) {
            r->have_stream_src = 1;
            r->stream_src = f->src_addr;
        } else if (f->src_addr != r->stream_src) {
            snprintf(why, why_n,
                     "data packet from %s, the stream's sensor is %s: several sensors, set "
                     "the lidar's source address",
                     ipv4_str(f->src_addr, a), ipv4_str(r->stream_src, b));
            return 0;
        }
    }
    *pkt_ns = avt_toh_to_abs_ns(toh_of(f->payload), f->rec_ns + r->dev_minus_host_ns);
    if (!r->have_prev_pkt) return 1;
    const int64_t back = r->prev_pkt_ns - *pkt_ns;
    const int64_t drift = (*pkt_ns - f->rec_ns) - r->prev_off_ns;
    if ((back <= 0 && drift <= CLOCK_JUMP_NS && drift >= -CLOCK_JUMP_NS) ||
        ++r->time_faults >= CLOCK_STEP_PACKETS) {
        r->time_faults = 0;
        return 1;
    }
    if (back > 0)
        snprintf(why, why_n, "packet time %u us past the hour is %lld us before the previous "
                 "packet's", (unsigned)toh_of(f->payload), (long long)(back / 1000));
    else
        snprintf(why, why_n, "packet time %u us past the hour is %.3f s off the capture "
                 "clock's course", (unsigned)toh_of(f->payload), (double)drift * 1e-9);
    return 0;
}

/* Takes one data payload that passed the checks into r->pkt, its points into the sweep. */
static int take_packet(avt_lidar_reader *r, const avt_udp_frame *f, int64_t pkt_ns,
                       avt_error *err)
{
    int rc = sweep_reserve(r, r->sw.n + AVT_VLP_MAX_POINTS, err);
    if (rc != AVT_OK) return rc;
    avt_sweep *s = &r->sw;
    r->pkt_base = s->n;
    r->pkt.xyz = s->xyz + 3 * s->n;
    r->pkt.intensity = s->intensity + s->n;
    r->pkt.ring = s->ring + s->n;
    r->pkt.t_ns = s->t_ns + s->n;
    r->pkt.return_type = s->return_type + s->n;
    const uint8_t *p = f->payload;
    const uint32_t toh = toh_of(p);
    if (r->have_prev_pkt && r->prev_dur_ns > 0) {
        int64_t d_ns = toh_diff_us(r->prev_toh_us, toh) * 1000;
        int64_t lost = (d_ns + r->prev_dur_ns / 2) / r->prev_dur_ns - 1;
        if (lost > 0) {
            if (lost > 1000000) lost = 1000000;
            r->sw.packets_lost += (uint32_t)lost;
            r->st.packets_lost += (uint64_t)lost;
            r->gap_before = 1;
        }
    }
    r->have_prev_pkt = 1;
    r->prev_toh_us = toh;
    r->prev_pkt_ns = pkt_ns;
    r->prev_off_ns = pkt_ns - f->rec_ns;
    r->prev_dur_ns = avt_vlp_packet_duration_ns(r->model, p);
    /* the rotation rate between packets, for packets of a single azimuth (VLS-128 dual);
     * kept only over a gap-free step of less than a quarter turn */
    const int32_t az0 = (int32_t)(p[2] | (p[3] << 8));
    if (r->have_rate_az && pkt_ns > r->rate_ns && pkt_ns - r->rate_ns < 2 * r->prev_dur_ns) {
        int32_t d = ((az0 - r->rate_az) % 36000 + 36000) % 36000;
        if (d < 9000) r->rate_hint = (double)d / (double)(pkt_ns - r->rate_ns);
    }
    r->have_rate_az = 1;
    r->rate_az = az0;
    r->rate_ns = pkt_ns;
    avt_vlp_decode(&r->tab, p, pkt_ns, r->rate_hint, &r->pkt);
    r->st.measurements +=
        (uint64_t)r->pkt.ncols * (uint64_t)r->model->lasers * (r->pkt.dual ? 2u : 1u);
    r->next_col = 0;
    r->pkt_counted = 0;
    r->pkt_off = f->rec_off;
    r->st.data_packets++;
    return AVT_OK;
}

/* The Ouster loop: packets into the frame batcher until it releases a frame. */
static int ouster_next(avt_lidar_reader *r, avt_sweep **sweep, avt_error *err)
{
    avt_udp_frame f;
    char why[160];
    uint32_t fid;
    int late, dup;

    for (;;) {
        if (avt_ouster_batcher_release(r->os, r->src_done)) break;
        if (r->src_done) {
            r->ended = 1;
            if (r->saved_err.code == AVT_OK) return 0;
            if (err) *err = r->saved_err;
            return r->saved_err.code;
        }
        int got = avt_pcap_src_next(&r->src, &f, &r->saved_err);
        if (got <= 0) {
            r->src_done = 1;
            if (got == 0) r->saved_err.code = AVT_OK;
            if (got == 0 && r->st.data_packets == 0 && !r->in_part)
                no_data_error(r, r->os_lidar_port, &r->saved_err);
            continue;
        }
        r->st.records++;
        switch (ouster_classify(r, &f, &fid, why, sizeof why)) {
        case OS_SKIP: note_skipped(r, &f); continue;
        case OS_CORRUPT: note_corrupt(r, &f, why); continue;
        case OS_IMU: r->st.position_packets++; continue;
        }
        r->st.data_packets++;
        r->push_off = f.rec_off;
        int rel = avt_ouster_batcher_push(r->os, f.payload, fid, f.rec_ns, &late, &dup);
        r->st.late += (uint64_t)late;
        r->st.duplicates += (uint64_t)dup;
        if (rel) break;
    }
    avt_sweep *s = avt_ouster_batcher_sweep(r->os);
    r->st.sweeps++;
    r->st.packets_lost += s->packets_lost;
    r->sweep_off = r->push_off;
    *sweep = s;
    return 1;
}

/* The next sweep of the whole capture, from wherever the source is. */
static int next_sweep(avt_lidar_reader *r, avt_sweep **sweep, avt_error *err)
{
    avt_udp_frame f;
    char why[160];
    int rc = AVT_OK;

    *sweep = NULL;
    if (r->ended) {
        if (r->saved_err.code == AVT_OK) return 0;
        if (err) *err = r->saved_err;
        return r->saved_err.code;
    }
    if (r->unsupported) {
        r->ended = 1;
        rc = avt_err(&r->saved_err, AVT_UNSUPPORTED, "%s", r->unsupported_msg);
        if (err) *err = r->saved_err;
        return rc;
    }
    if (r->os) return ouster_next(r, sweep, err);
    if (r->returned) sweep_reset(r);

    for (;;) {
        if (r->model && r->next_col < r->pkt.ncols) {
            if (consume_columns(r, &rc, err)) {
                *sweep = &r->sw;
                return 1;
            }
            if (rc != AVT_OK) goto out;
        }
        int got = avt_pcap_src_next(&r->src, &f, &r->saved_err);
        if (got <= 0) {
            r->ended = 1;
            if (got == 0) r->saved_err.code = AVT_OK;
            if (got == 0 && r->st.data_packets == 0 && !r->in_part)
                no_data_error(r, r->data_port, &r->saved_err);
            if (r->sweep_has_cols) {
                sweep_finish(r, 0);
                *sweep = &r->sw;
                return 1;
            }
            if (r->saved_err.code == AVT_OK) return 0;
            if (err) *err = r->saved_err;
            return r->saved_err.code;
        }
        r->st.records++;
        if (other_source(r, &f)) {
            note_skipped(r, &f); /* another sensor's */
            continue;
        }
        if (f.kind == AVT_FRAME_BAD && f.ports_known &&
            (f.dst_port == r->data_port || f.src_port == r->data_port)) {
            note_corrupt(r, &f, f.why);
            continue;
        }
        if (f.kind == AVT_FRAME_BAD && f.ports_known &&
            (f.dst_port == r->position_port || f.src_port == r->position_port)) {
            r->st.position_packets++; /* seen, but cut short: no time from it */
            continue;
        }
        if (is_port(&f, r->position_port)) {
            int64_t utc_ns;
            r->st.position_packets++;
            if (avt_vlp_position_time(f.payload, f.len, &utc_ns))
                r->dev_minus_host_ns = utc_ns - f.rec_ns;
            continue;
        }
        if (!is_port(&f, r->data_port)) {
            note_skipped(r, &f); /* other traffic, IPv4 fragments, frames we cannot parse */
            continue;
        }
        if (avt_vlp_check(r->model, f.payload, f.len, why, sizeof why) != AVT_OK) {
            note_corrupt(r, &f, why);
            continue;
        }
        if (!r->model) {
            /* the prescan saw no valid packet; take the product byte as it is */
            r->model = avt_vlp_model_by_product(f.payload[1205]);
            if (!r->model) {
                note_corrupt(r, &f, "unknown Velodyne product ID");
                continue;
            }
            rc = avt_vlp_tables_init(&r->tab, r->model, r->calib, r->cfg.min_range_m,
                                     r->cfg.max_range_m, err);
            if (rc != AVT_OK) goto out;
            snprintf(r->st.model, sizeof r->st.model, "%s", r->model->name);
        }
        int64_t pkt_ns;
        if (!packet_from_stream(r, &f, &pkt_ns, why, sizeof why)) {
            note_corrupt(r, &f, why);
            continue;
        }
        rc = take_packet(r, &f, pkt_ns, err);
        if (rc != AVT_OK) goto out;
    }
out:
    r->ended = 1;
    if (err) r->saved_err = *err;
    else r->saved_err.code = rc;
    return rc;
}

/* A part reader's next sweep: the lead-in's are dropped (the previous part's), 0 at the first
 * one past the part. PART_RESYNC when the part's first sweep, or the capture's end, comes
 * before the cut state was synced (only while open_part reads the first one). */
static int part_next(avt_lidar_reader *r, avt_sweep **out, avt_error *err)
{
    avt_sweep *s = NULL;
    int rc;

    while ((rc = next_sweep(r, &s, err)) == 1) {
        if (r->sweep_off < r->part.begin) continue;
        if (!r->sweep_synced) return PART_RESYNC;
        if (r->sweep_off >= r->part.end) { /* the next part's, and all after it */
            r->ended = 1;
            r->saved_err.code = AVT_OK;
            s = NULL;
            rc = 0;
            break;
        }
        s->index = r->part_index++;
        break;
    }
    if (rc == 0 && !r->sweep_synced) return PART_RESYNC;
    *out = s;
    return rc;
}

int avt_lidar_next(avt_lidar_reader *r, const avt_sweep **sweep, avt_error *err)
{
    avt_sweep *s = NULL;
    int rc;

    if (!r || !sweep) return avt_err(err, AVT_INVAL, "avt_lidar_next: NULL argument");
    if (r->pending) {
        r->pending = 0;
        if (r->pending_rc < 0 && err) *err = r->pending_err;
        *sweep = r->pending_rc == 1 ? r->pending_sweep : NULL;
        return r->pending_rc;
    }
    rc = r->in_part ? part_next(r, &s, err) : next_sweep(r, &s, err);
    *sweep = s;
    return rc;
}

int avt_lidar_decode_part(const char *path, const avt_lidar_config *cfg, const avt_lidar_part *part, int p,
                          avt_sweep_fn fn, void *ctx, avt_error *err)
{
    const avt_sweep *s;
    int rc = AVT_OK, r;
    avt_lidar_reader *rd = avt_lidar_open_part(path, cfg, part, err);
    if (!rd) return err ? err->code : AVT_IO;
    while (rc == AVT_OK && (r = avt_lidar_next(rd, &s, err)) != 0) {
        if (r < 0) rc = r;
        else if ((rc = fn(ctx, p, s)) != AVT_OK)
            avt_err(err, rc, "%s: part %d: stopped by the sweep callback (%s)", path, p, avt_status_name(rc));
    }
    avt_lidar_close(rd);
    return rc;
}

int avt_lidar_decode_parallel(const char *path, const avt_lidar_config *cfg, int nparts,
                              avt_sweep_fn fn, void *ctx, avt_error *err)
{
    avt_lidar_part *parts = NULL;
    avt_error *perr = NULL;
    int rc;

    if (!path || !fn || nparts < 1)
        return avt_err(err, AVT_INVAL, "%s: invalid parallel decode arguments",
                       path ? path : "lidar");
    parts = calloc((size_t)nparts, sizeof *parts);
    perr = calloc((size_t)nparts, sizeof *perr);
    if (!parts || !perr) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory", path);
        goto out;
    }
    rc = avt_lidar_split(path, nparts, parts, err);
    if (rc != AVT_OK) goto out;
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < nparts; p++) avt_lidar_decode_part(path, cfg, &parts[p], p, fn, ctx, &perr[p]);
    rc = avt_err_first(perr, (size_t)nparts, err);
out:
    free(parts);
    free(perr);
    return rc;
}
