/* Tests of avtruth synth through its public API and its files only: determinism, truth
 * consistency, a pcap readable by libpcap and tcpdump, and a physical check of the LiDAR returns
 * (decoded here independently, placed in the world with poses.csv, they must lie on the ground
 * plane or on an object's box surface). */
#define _GNU_SOURCE
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "avtruth/synth.h"
#include "avtruth/velodyne.h"

static char g_root[256];
static char g_log[512]; /* 2 s, 1 small camera: crosses the top of the hour */

static void gen(const char *dir, const avt_synth_config *cfg)
{
    avt_error err = {0};
    int rc = avt_synth_run(dir, cfg, NULL, NULL, &err);
    if (rc) fprintf(stderr, "avt_synth_run(%s): %s\n", dir, err.msg);
    assert_int_equal(rc, 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_root, sizeof g_root, "/tmp/avt_synth_test_XXXXXX");
    if (!mkdtemp(g_root)) return -1;
    snprintf(g_log, sizeof g_log, "%s/log2s", g_root);
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.seed = 7;
    cfg.seconds = 2.0;
    cfg.cameras = 2;
    cfg.width = 200;
    cfg.height = 128;
    cfg.jitter_s = 0.002;
    cfg.clock_offset_s = -0.25;
    avt_error err = {0};
    return avt_synth_run(g_log, &cfg, NULL, NULL, &err) ? -1 : 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("AVT_KEEP")) nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* ---- determinism ---------------------------------------------------------------------- */

static const char *g_cmp_a, *g_cmp_b;
static int g_cmp_files, g_cmp_diff;

static int cmp_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    if (flag != FTW_F) return 0;
    char other[1024];
    snprintf(other, sizeof other, "%s%s", g_cmp_b, p + strlen(g_cmp_a));
    size_t la, lb;
    char *a = slurp(p, &la), *b = slurp(other, &lb);
    g_cmp_files++;
    if (!a || !b || la != lb || memcmp(a, b, la) != 0) {
        fprintf(stderr, "differs: %s\n", p + strlen(g_cmp_a));
        g_cmp_diff++;
    }
    free(a);
    free(b);
    return 0;
}

static int count_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)p, (void)sb, (void)ftw;
    if (flag == FTW_F) g_cmp_files++;
    return 0;
}

static void test_deterministic(void **state)
{
    (void)state;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/det_a", g_root);
    snprintf(b, sizeof b, "%s/det_b", g_root);
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.seconds = 0.5;
    cfg.jitter_s = 0.001;
    gen(a, &cfg);
    gen(b, &cfg);
    g_cmp_a = a;
    g_cmp_b = b;
    g_cmp_files = g_cmp_diff = 0;
    nftw(a, cmp_cb, 16, FTW_PHYS);
    int n_a = g_cmp_files;
    assert_int_equal(g_cmp_diff, 0);
    g_cmp_files = 0;
    nftw(b, count_cb, 16, FTW_PHYS);
    assert_int_equal(g_cmp_files, n_a);
    assert_true(n_a >= 15); /* calib, poses, pcap, 4 truth files, labels, images */

    /* a non-empty directory is refused */
    avt_error err = {0};
    assert_int_not_equal(avt_synth_run(a, &cfg, NULL, NULL, &err), 0);
    assert_non_null(strstr(err.msg, "not empty"));
}

/* ---- truth files ----------------------------------------------------------------------- */

typedef struct sweep_row {
    long long start, end, ts;
    int packets, complete;
} sweep_row;

static int read_sweeps(sweep_row *rows, int max)
{
    char path[600], line[512];
    snprintf(path, sizeof path, "%s/truth/sweeps.csv", g_log);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "sweep,start_ns,end_ns,timestamp_ns,packets,complete\n");
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        int idx;
        sweep_row *r = &rows[n];
        assert_int_equal(sscanf(line, "%d,%lld,%lld,%lld,%d,%d", &idx, &r->start, &r->end, &r->ts,
                                &r->packets, &r->complete), 6);
        assert_int_equal(idx, n);
        n++;
    }
    fclose(f);
    return n;
}

static void test_truth_consistent(void **state)
{
    (void)state;
    sweep_row sw[64];
    int n = read_sweeps(sw, 64);
    assert_true(n >= 20 && n <= 22);
    assert_int_equal(sw[0].complete, 0); /* starts at a random azimuth */
    for (int i = 0; i < n; i++) {
        assert_true(sw[i].start < sw[i].ts && sw[i].ts < sw[i].end);
        if (i > 0) {
            /* consecutive sequences: 55296 ns apart, +-1 us packet rounding */
            long long gap = sw[i].start - (sw[i - 1].end - 15 * AVT_VLP16_FIRING_NS);
            assert_true(llabs(gap - AVT_VLP16_SEQUENCE_NS) <= 1000);
        }
        if (sw[i].complete) {
            long long dur = sw[i].end - sw[i].start;
            assert_true(dur > 99800000 && dur < 100100000);
            assert_true(sw[i].packets == 76 || sw[i].packets == 77);
            /* reference half a revolution after the start */
            assert_true(llabs(sw[i].ts - sw[i].start - 50000000) < 100000);
        }
    }

    char path[600], line[512];
    snprintf(path, sizeof path, "%s/truth/images.csv", g_log);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "camera,file,sweep,trigger_ns,exposure_ns,name_ns,jitter_ns,duplicate_of\n");
    int n_img = 0, nonzero_jitter = 0;
    while (fgets(line, sizeof line, f)) {
        char cam[64], file[64];
        int s;
        long long trig, expo, name, jit;
        assert_int_equal(sscanf(line, "%63[^,],%63[^,],%d,%lld,%lld,%lld,%lld", cam, file, &s, &trig,
                                &expo, &name, &jit), 7);
        assert_true(s >= 0 && s < n);
        assert_true(sw[s].start <= trig && trig <= sw[s].end);
        assert_true(expo == trig + jit);
        assert_true(name == expo - 250000000LL);
        nonzero_jitter += jit != 0;
        char expect[64], img[800];
        snprintf(expect, sizeof expect, "%019lld.png", name);
        assert_string_equal(file, expect);
        snprintf(img, sizeof img, "%s/cameras/%s/%s", g_log, cam, file);
        assert_int_equal(access(img, R_OK), 0);
        n_img++;
    }
    fclose(f);
    assert_true(n_img >= 2 * (n - 2));
    assert_true(nonzero_jitter > n_img / 2);

    /* one label file per sweep, named and stamped with its reference time */
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/labels/%lld.json", g_log, sw[i].ts);
        json_error_t je;
        json_t *root = json_load_file(path, 0, &je);
        assert_non_null(root);
        assert_true(json_integer_value(json_object_get(root, "timestamp_ns")) == sw[i].ts);
        assert_string_equal(json_string_value(json_object_get(root, "frame")), "lidar");
        json_t *boxes = json_object_get(root, "boxes");
        assert_true(json_array_size(boxes) > 5);
        size_t k;
        json_t *b;
        json_array_foreach(boxes, k, b) {
            const char *cls = json_string_value(json_object_get(b, "class"));
            assert_non_null(cls);
            assert_true(!strcmp(cls, "car") || !strcmp(cls, "pedestrian") ||
                        !strcmp(cls, "cyclist") || !strcmp(cls, "truck"));
            assert_true(json_is_integer(json_object_get(b, "track_id")));
            assert_int_equal(json_array_size(json_object_get(b, "center")), 3);
            assert_int_equal(json_array_size(json_object_get(b, "size")), 3);
            assert_int_equal(json_array_size(json_object_get(b, "velocity")), 3);
            assert_true(json_is_real(json_object_get(b, "yaw")));
        }
        json_decref(root);
    }
    int n_labels = 0;
    snprintf(path, sizeof path, "%s/labels", g_log);
    g_cmp_files = 0;
    nftw(path, count_cb, 4, FTW_PHYS);
    n_labels = g_cmp_files;
    assert_int_equal(n_labels, n);
}

/* ---- pcap ------------------------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static int nmea_ok(const char *s)
{
    if (s[0] != '$') return 0;
    const char *star = strchr(s, '*');
    if (!star) return 0;
    unsigned cs = 0;
    for (const char *p = s + 1; p < star; p++) cs ^= (unsigned char)*p;
    unsigned want;
    if (sscanf(star + 1, "%2X", &want) != 1) return 0;
    return cs == want && strncmp(star + 3, "\r\n", 2) == 0;
}

/* Everything a decoder needs, read from params.json and poses.csv. */
typedef struct world {
    double ego_T_lidar[16];
    long long t0;
    int n_obj;
    double c0[64][3], v[64][3], yaw[64], size[64][3];
    long long pose_t0;
    int n_pose;
    double (*pose)[3];
} world;

static void world_load(world *w)
{
    char path[600];
    snprintf(path, sizeof path, "%s/truth/params.json", g_log);
    json_error_t je;
    json_t *p = json_load_file(path, 0, &je);
    assert_non_null(p);
    w->t0 = json_integer_value(json_object_get(p, "t0_ns"));
    json_t *m = json_object_get(json_object_get(p, "lidar"), "ego_T_lidar");
    for (int i = 0; i < 16; i++) w->ego_T_lidar[i] = json_real_value(json_array_get(m, (size_t)i));
    json_t *objs = json_object_get(p, "objects");
    w->n_obj = (int)json_array_size(objs);
    assert_true(w->n_obj <= 64);
    for (int i = 0; i < w->n_obj; i++) {
        json_t *o = json_array_get(objs, (size_t)i);
        for (int k = 0; k < 3; k++) {
            w->c0[i][k] = json_real_value(json_array_get(json_object_get(o, "center_t0_world"), (size_t)k));
            w->v[i][k] = json_real_value(json_array_get(json_object_get(o, "velocity_world"), (size_t)k));
            w->size[i][k] = json_real_value(json_array_get(json_object_get(o, "size"), (size_t)k));
        }
        w->yaw[i] = json_real_value(json_object_get(o, "yaw_world"));
    }
    json_decref(p);

    snprintf(path, sizeof path, "%s/poses.csv", g_log);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    w->pose = malloc(sizeof *w->pose * 4096);
    w->n_pose = 0;
    long long prev = 0;
    while (fgets(line, sizeof line, f) && w->n_pose < 4096) {
        long long t;
        double x, y, z, qw, qx, qy, qz;
        assert_int_equal(sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &t, &x, &y, &z, &qw, &qx,
                                &qy, &qz), 8);
        if (w->n_pose == 0) w->pose_t0 = t;
        else assert_int_equal(t - prev, 10000000);
        prev = t;
        w->pose[w->n_pose][0] = x;
        w->pose[w->n_pose][1] = y;
        w->pose[w->n_pose][2] = 2.0 * atan2(qz, qw);
        w->n_pose++;
    }
    fclose(f);
}

/* Distance of world point p at time t from the nearest surface (ground or a box face). */
static double surface_dist(const world *w, long long t, const double p[3])
{
    double best = fabs(p[2]);
    double dt = (double)(t - w->t0) * 1e-9;
    for (int i = 0; i < w->n_obj; i++) {
        double cx = w->c0[i][0] + w->v[i][0] * dt, cy = w->c0[i][1] + w->v[i][1] * dt;
        double dx = p[0] - cx, dy = p[1] - cy, c = cos(w->yaw[i]), s = sin(w->yaw[i]);
        double q[3] = {fabs(c * dx + s * dy) - 0.5 * w->size[i][0],
                       fabs(-s * dx + c * dy) - 0.5 * w->size[i][1],
                       fabs(p[2] - w->c0[i][2]) - 0.5 * w->size[i][2]};
        double m = fmax(q[0], fmax(q[1], q[2]));
        if (m <= 0) {
            if (-m < best) best = -m;
        } else {
            double o = sqrt(fmax(q[0], 0) * fmax(q[0], 0) + fmax(q[1], 0) * fmax(q[1], 0) +
                            fmax(q[2], 0) * fmax(q[2], 0));
            if (o < best) best = o;
        }
    }
    return best;
}

static void lidar_to_world(const world *w, long long t, const double pl[3], double out[3])
{
    double pe[3];
    for (int i = 0; i < 3; i++)
        pe[i] = w->ego_T_lidar[4 * i] * pl[0] + w->ego_T_lidar[4 * i + 1] * pl[1] +
                w->ego_T_lidar[4 * i + 2] * pl[2] + w->ego_T_lidar[4 * i + 3];
    long long rel = t - w->pose_t0;
    int k = (int)(rel / 10000000);
    assert_true(k >= 0 && k + 1 < w->n_pose);
    double s = (double)(rel - (long long)k * 10000000) / 1e7;
    double x = w->pose[k][0] + s * (w->pose[k + 1][0] - w->pose[k][0]);
    double y = w->pose[k][1] + s * (w->pose[k + 1][1] - w->pose[k][1]);
    double yaw = w->pose[k][2] + s * (w->pose[k + 1][2] - w->pose[k][2]);
    out[0] = cos(yaw) * pe[0] - sin(yaw) * pe[1] + x;
    out[1] = sin(yaw) * pe[0] + cos(yaw) * pe[1] + y;
    out[2] = pe[2];
}

static void test_pcap(void **state)
{
    (void)state;
    char path[600], ebuf[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/lidar/vlp16.pcap", g_log);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    assert_non_null(p);
    assert_int_equal(pcap_datalink(p), DLT_EN10MB);
    world w = {0}; /* world_load fills it; zeroed for -Wmaybe-uninitialized */
    world_load(&w);

    struct pcap_pkthdr *h;
    const u_char *d;
    long long prev_rec = 0;
    long prev_toh = -1;
    int n_data = 0, n_pos = 0, wraps = 0, prev_az = -1, n_ret = 0, n_far = 0;
    double worst = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        long long rec = (long long)h->ts.tv_sec * 1000000LL + h->ts.tv_usec;
        assert_true(rec > prev_rec);
        prev_rec = rec;
        assert_true(h->caplen == h->len && h->caplen >= 42);
        assert_int_equal(be16(d + 12), 0x0800);
        const uint8_t *ip = d + 14;
        assert_int_equal(ip[0], 0x45);
        uint32_t sum = 0;
        for (int i = 0; i < 20; i += 2) sum += be16(ip + i);
        while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
        assert_int_equal(sum, 0xFFFF);
        assert_int_equal(ip[9], 17);
        assert_memory_equal(ip + 12, "\xC0\xA8\x01\xC9\xFF\xFF\xFF\xFF", 8);
        assert_int_equal(be16(ip + 2), h->caplen - 14);
        const uint8_t *udp = ip + 20, *pl = udp + 8;
        uint16_t port = be16(udp + 2);
        size_t n = h->caplen - 42;
        assert_int_equal(be16(udp), port);
        assert_int_equal(be16(udp + 4), n + 8);
        long long rec_toh = rec % 3600000000LL;
        if (port == AVT_VELODYNE_DATA_PORT) {
            assert_int_equal(n, AVT_VLP16_PAYLOAD);
            assert_int_equal(pl[1204], 0x37);
            assert_int_equal(pl[1205], 0x22);
            long toh = (long)le32(pl + 1200);
            assert_true(toh < 3600000000L);
            /* recorded after its last firing (~1.3 ms) plus the network delay */
            long long lag = (rec_toh - toh + 3600000000LL) % 3600000000LL;
            assert_true(lag >= 1306 + 150 && lag <= 1307 + 300);
            if (prev_toh >= 0 && toh < prev_toh) wraps++;
            prev_toh = toh;
            long long hour = (rec - lag) / 3600000000LL; /* hour of the first firing */
            long long t_pkt = (hour * 3600000000LL + toh) * 1000LL;
            int az[13];
            for (int b = 0; b < 12; b++) {
                assert_int_equal(pl[100 * b], 0xFF);
                assert_int_equal(pl[100 * b + 1], 0xEE);
                az[b] = le16(pl + 100 * b + 2);
                assert_true(az[b] < 36000);
            }
            /* interpolate the last block from the previous one */
            az[12] = az[11] + (az[11] - az[10] + 36000) % 36000;
            if (prev_az >= 0) {
                int step = (az[0] - prev_az + 36000) % 36000;
                assert_true(step > 470 && step < 485); /* 24 sequences at 10 Hz: 4.78 deg */
            }
            prev_az = az[0];
            /* every return lies on the ground or on a box, at its own firing time */
            for (int b = 0; b < 12; b++) {
                int dab = (az[b + 1] - az[b] + 36000) % 36000;
                for (int c = 0; c < 32; c++) {
                    int s = 2 * b + c / 16, l = c % 16;
                    uint16_t dist = le16(pl + 100 * b + 4 + 3 * c);
                    if (!dist) continue;
                    double frac = ((c / 16) * AVT_VLP16_SEQUENCE_NS + l * AVT_VLP16_FIRING_NS) /
                                  (2.0 * AVT_VLP16_SEQUENCE_NS);
                    double a = (az[b] + dab * frac) * 0.01 * M_PI / 180.0;
                    double wr = AVT_VLP16_ELEVATION_DEG[l] * M_PI / 180.0, r = dist * 0.002;
                    double pl3[3] = {r * cos(wr) * cos(a), -r * cos(wr) * sin(a),
                                     r * sin(wr) + AVT_VLP16_VERT_OFFSET_MM[l] * 1e-3};
                    long long t = t_pkt + s * AVT_VLP16_SEQUENCE_NS + l * AVT_VLP16_FIRING_NS;
                    double pw[3];
                    lidar_to_world(&w, t, pl3, pw);
                    double e = surface_dist(&w, t, pw);
                    if (e > worst) worst = e;
                    if (e > 0.03) n_far++;
                    n_ret++;
                }
            }
            n_data++;
        } else {
            assert_int_equal(port, AVT_VELODYNE_POSITION_PORT);
            assert_int_equal(n, AVT_VELODYNE_POSITION_PAYLOAD);
            long toh = (long)le32(pl + AVT_VELODYNE_POSITION_TOH_OFFSET);
            const char *nmea = (const char *)pl + AVT_VELODYNE_POSITION_NMEA_OFFSET;
            assert_int_equal(strncmp(nmea, "$GPRMC,", 7), 0);
            assert_true(strlen(nmea) < 72);
            assert_true(nmea_ok(nmea));
            /* whole second: the NMEA time of day matches the ToH timestamp */
            int hh, mm, ss, dd, mo, yy;
            assert_int_equal(sscanf(nmea, "$GPRMC,%2d%2d%2d,A,%*[^,],N,%*[^,],E,%*[^,],%*[^,],%2d%2d%2d",
                                    &hh, &mm, &ss, &dd, &mo, &yy), 6);
            assert_int_equal(toh % 1000000, 0);
            assert_int_equal(mm * 60 + ss, toh / 1000000);
            assert_true((hh == 12 && mm == 59) || (hh == 13 && mm == 0));
            assert_true(dd == 1 && mo == 3 && yy == 26);
            n_pos++;
        }
    }
    pcap_close(p);
    free(w.pose);
    fprintf(stderr, "pcap: %d data, %d position packets, %d returns, worst surface distance %.4f m\n",
            n_data, n_pos, n_ret, worst);
    assert_int_equal(n_pos, 2);       /* 12:59:59 and 13:00:00 */
    assert_int_equal(wraps, 1);       /* the hour rolls over */
    assert_true(n_data >= 1500 && n_data <= 1510);
    assert_true(n_ret > n_data * 200);
    assert_int_equal(n_far, 0);
}

static void test_tcpdump(void **state)
{
    (void)state;
    if (access("/usr/bin/tcpdump", X_OK) != 0 && access("/usr/sbin/tcpdump", X_OK) != 0) {
        skip();
    }
    char cmd[800], out[4096] = "";
    snprintf(cmd, sizeof cmd, "tcpdump -r '%s/lidar/vlp16.pcap' -nn udp port 8308 -c 1 2>/dev/null", g_log);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    assert_int_equal(pclose(f), 0);
    assert_non_null(strstr(out, "192.168.1.201.8308 > 255.255.255.255.8308: UDP, length 512"));
    snprintf(cmd, sizeof cmd, "tcpdump -r '%s/lidar/vlp16.pcap' -nn -vv udp port 2368 -c 3 2>/dev/null", g_log);
    f = popen(cmd, "r");
    assert_non_null(f);
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    assert_int_equal(pclose(f), 0);
    assert_non_null(strstr(out, "UDP, length 1206"));
    assert_null(strstr(out, "bad cksum"));
    assert_null(strstr(out, "bad udp cksum"));
}

/* A VLS-128 dual-return capture, byte by byte against the manual's layout (63-9480 Rev. 3,
 * "Data packet format"): mode 0x39, product 0xA1; one firing sequence per packet, blocks
 * (2b, 2b+1) flagged with bank b (FF EE, FF DD, FF CC, FF BB) and one azimuth; in each pair
 * the even block the last return, the odd one the strongest: a channel is either the same
 * in both (one return) or farther in the even block; blocks 8-11 padding (zero bytes).
 * Packets follow each other by one 53.3 us sequence: the timestamp by 53 or 54 us, the
 * azimuth by 360 / 1808 deg (19.9 cdeg). */
static void test_vls128_dual(void **state)
{
    (void)state;
    char dir[600], path[700], ebuf[PCAP_ERRBUF_SIZE];
    snprintf(dir, sizeof dir, "%s/vls128_dual", g_root);
    avt_synth_config cfg;
    avt_synth_config_default(&cfg);
    cfg.seconds = 0.05;
    cfg.cameras = 0;
    cfg.lidar = "vls128";
    cfg.lidar_return = "dual";
    gen(dir, &cfg);
    snprintf(path, sizeof path, "%s/lidar/vls128.pcap", dir);
    pcap_t *p = pcap_open_offline(path, ebuf);
    assert_non_null(p);
    static const uint8_t BANK[4] = {0xEE, 0xDD, 0xCC, 0xBB}, ZERO[400];
    struct pcap_pkthdr *h;
    const u_char *d;
    int n_data = 0, one = 0, two = 0;
    long prev_toh = -1, prev_az = -1;
    while (pcap_next_ex(p, &h, &d) == 1) {
        const uint8_t *pl = d + 42;
        if (be16(d + 36) != AVT_VELODYNE_DATA_PORT) continue;
        assert_int_equal(h->caplen - 42, AVT_VLP16_PAYLOAD);
        assert_int_equal(pl[1204], 0x39);
        assert_int_equal(pl[1205], 0xA1);
        const long az = le16(pl + 2), toh = (long)le32(pl + 1200);
        for (int b = 0; b < 8; b++) {
            const uint8_t *blk = pl + 100 * b;
            assert_int_equal(blk[0], 0xFF);
            assert_int_equal(blk[1], BANK[b / 2]);
            assert_int_equal(le16(blk + 2), az);
        }
        for (int b = 0; b < 8; b += 2)
            for (int c = 0; c < 32; c++) {
                const uint8_t *last = pl + 100 * b + 4 + 3 * c, *strongest = last + 100;
                if (memcmp(last, strongest, 3) == 0) {
                    one += le16(last) != 0;
                } else {
                    assert_true(le16(strongest) > 0 && le16(last) > le16(strongest));
                    two++;
                }
            }
        assert_memory_equal(pl + 800, ZERO, 400);
        if (prev_toh >= 0) {
            assert_true(toh - prev_toh == 53 || toh - prev_toh == 54);
            const long daz = (az - prev_az + 36000) % 36000;
            assert_true(daz >= 19 && daz <= 21);
        }
        prev_toh = toh;
        prev_az = az;
        n_data++;
    }
    pcap_close(p);
    print_message("vls128 dual: %d packets, %d firings with one return, %d with two\n", n_data,
                  one, two);
    assert_true(n_data > 900); /* 0.05 s / 53.3 us */
    assert_true(one > 10000 && two > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truth_consistent),
        cmocka_unit_test(test_pcap),
        cmocka_unit_test(test_tcpdump),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_vls128_dual),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
