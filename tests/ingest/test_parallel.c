/* Parallel decode of one capture: for 1, 2, 3 and 7 parts (and more parts than sweeps or
 * records), the parts' sweeps concatenated in part order equal the whole-capture reader's
 * sweeps point for point (xyz, intensity, ring, t_ns, return type) and field for field (start,
 * end, timestamp, packets, packets_lost, complete); each part numbers its sweeps from 0.
 * Captures: a synthetic VLP-16 log of a few seconds (avt_synth_run), a synthetic Ouster one
 * when the generator writes Ouster, every real capture in ../shared/data/velodyne and
 * ../shared/data/ouster, and a real capture rewritten as pcapng (not split: part 0 is the
 * whole capture). avt_lidar_decode_parallel on OpenMP threads gives the same sweeps. Captures
 * that defeat a lead-in (a VLP-16 that does not turn, jitters at the cut angle or turns back
 * and forth; a record time an hour off; a sweep starting exactly at a split target) still
 * split into parts equal to the whole; version 2.3 files are not split; a pipe is refused by
 * name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "avtruth/ingest.h"
#include "avtruth/synth.h"
#include "pcapng_write.h"

/* A decoded sweep kept by value. */
typedef struct held {
    avt_sweep s;
} held;

typedef struct sweeps {
    held *v;
    size_t n, cap;
} sweeps;

static void *dup_mem(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    assert_non_null(q);
    if (n) memcpy(q, p, n);
    return q;
}

static void keep(sweeps *all, const avt_sweep *s)
{
    if (all->n == all->cap) {
        all->cap = all->cap ? 2 * all->cap : 64;
        all->v = realloc(all->v, all->cap * sizeof *all->v);
        assert_non_null(all->v);
    }
    avt_sweep *c = &all->v[all->n++].s;
    *c = *s;
    c->xyz = dup_mem(s->xyz, 3 * s->n * sizeof(float));
    c->intensity = dup_mem(s->intensity, s->n * sizeof(float));
    c->ring = dup_mem(s->ring, s->n * sizeof(uint16_t));
    c->t_ns = dup_mem(s->t_ns, s->n * sizeof(int64_t));
    c->return_type = dup_mem(s->return_type, s->n);
}

static void sweeps_free(sweeps *all)
{
    for (size_t i = 0; i < all->n; i++) avt_sweep_free_arrays(&all->v[i].s);
    free(all->v);
    memset(all, 0, sizeof *all);
}

/* The capture: a path, or bytes in memory (then path is its name). */
typedef struct capture {
    const char *path;
    const void *mem;
    size_t len;
    avt_lidar_config cfg;
} capture;

static avt_lidar_reader *open_part(const capture *c, const avt_lidar_part *part, avt_error *err)
{
    if (c->mem)
        return part ? avt_lidar_open_part_mem(c->mem, c->len, c->path, &c->cfg, part, err)
                    : avt_lidar_open_mem(c->mem, c->len, c->path, &c->cfg, err);
    return part ? avt_lidar_open_part(c->path, &c->cfg, part, err)
                : avt_lidar_open(c->path, &c->cfg, err);
}

/* Appends the sweeps of one reader (part == NULL: the whole capture) to all; returns the
 * status avt_lidar_next ended with and sets *records to the records the reader read. */
static int read_all(const capture *c, const avt_lidar_part *part, sweeps *all, uint64_t *records)
{
    avt_error err = {0};
    const avt_sweep *s;
    int rc;
    avt_lidar_reader *r = open_part(c, part, &err);
    if (!r) print_message("%s\n", err.msg);
    assert_non_null(r);
    uint64_t local = 0;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        if (part) assert_int_equal(s->index, local++);
        keep(all, s);
    }
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    *records = st.records;
    avt_lidar_close(r);
    return rc;
}

static void assert_same(const sweeps *a, const sweeps *b, const char *what)
{
    if (a->n != b->n) print_message("%s: %zu sweeps, whole capture %zu\n", what, b->n, a->n);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const avt_sweep *x = &a->v[i].s, *y = &b->v[i].s;
        if (x->n != y->n || x->start_ns != y->start_ns || x->packets_lost != y->packets_lost)
            print_message("%s: sweep %zu: %zu/%zu points, start %lld/%lld, lost %u/%u\n", what,
                          i, x->n, y->n, (long long)x->start_ns, (long long)y->start_ns,
                          x->packets_lost, y->packets_lost);
        assert_int_equal(x->n, y->n);
        assert_int_equal(x->start_ns, y->start_ns);
        assert_int_equal(x->end_ns, y->end_ns);
        assert_int_equal(x->timestamp_ns, y->timestamp_ns);
        assert_int_equal(x->packets, y->packets);
        assert_int_equal(x->packets_lost, y->packets_lost);
        assert_int_equal(x->complete, y->complete);
        if (x->n == 0) continue;
        assert_memory_equal(x->xyz, y->xyz, 3 * x->n * sizeof(float));
        assert_memory_equal(x->intensity, y->intensity, x->n * sizeof(float));
        assert_memory_equal(x->ring, y->ring, x->n * sizeof(uint16_t));
        assert_memory_equal(x->t_ns, y->t_ns, x->n * sizeof(int64_t));
        assert_memory_equal(x->return_type, y->return_type, x->n);
    }
}

/* Per-part sweeps collected by the avt_lidar_decode_parallel callback. */
typedef struct by_part {
    sweeps *part;
} by_part;

static int collect(void *ctx, int part, const avt_sweep *s)
{
    keep(&((by_part *)ctx)->part[part], s);
    return AVT_OK;
}

static int stop_at_first(void *ctx, int part, const avt_sweep *s)
{
    (void)ctx, (void)part, (void)s;
    return AVT_MISMATCH;
}

/* Over all splits checked: parts without a record start, parts whose reader seeks (its
 * lead-in starts after the first record, at byte 24 of a classic pcap). */
typedef struct split_count {
    int empty, seeking;
    int reread; /* parts read from the capture's start after all (no cut fixed their state) */
} split_count;

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 24);
    rewind(fp);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *n = (size_t)size;
    return buf;
}

/* Checks every split of c against its whole-capture decode; returns the number of sweeps.
 * A file's split (the file mapped) must equal the split of its bytes in memory. */
static size_t check_capture(const capture *c, const int *nparts, size_t nn, split_count *count)
{
    sweeps whole = {0};
    avt_error err = {0};
    uint64_t whole_records, part_records;
    const int whole_rc = read_all(c, NULL, &whole, &whole_records);
    for (size_t k = 0; k < nn; k++) {
        const int np = nparts[k];
        avt_lidar_part *parts = calloc((size_t)np, sizeof *parts);
        assert_non_null(parts);
        int rc = c->mem ? avt_lidar_split_mem(c->mem, c->len, c->path, np, parts, &err)
                        : avt_lidar_split(c->path, np, parts, &err);
        if (rc != AVT_OK) print_message("%s\n", err.msg);
        assert_int_equal(rc, AVT_OK);
        if (!c->mem) {
            size_t len;
            uint8_t *bytes = slurp(c->path, &len);
            avt_lidar_part *mparts = calloc((size_t)np, sizeof *mparts);
            assert_non_null(mparts);
            assert_int_equal(avt_lidar_split_mem(bytes, len, c->path, np, mparts, &err), AVT_OK);
            assert_memory_equal(parts, mparts, (size_t)np * sizeof *parts);
            free(mparts);
            free(bytes);
        }
        sweeps joined = {0};
        for (int p = 0; p < np; p++) {
            if (p > 0) assert_int_equal(parts[p - 1].end, parts[p].begin);
            assert_true(parts[p].lead <= parts[p].begin || parts[p].begin == parts[p].end);
            if (parts[p].begin == parts[p].end) count->empty++;
            if (parts[p].lead > 24) count->seeking++;
            int prc = read_all(c, &parts[p], &joined, &part_records);
            /* a reader that starts at its lead-in reads no more than the records after it */
            if (part_records > whole_records - parts[p].lead_record) count->reread++;
            /* an error of the whole capture shows in the part that reaches it */
            if (prc != AVT_OK) assert_int_equal(prc, whole_rc);
        }
        assert_int_equal(parts[np - 1].end, UINT64_MAX);
        char what[512];
        snprintf(what, sizeof what, "%s, %d parts", c->path, np);
        assert_same(&whole, &joined, what);
        sweeps_free(&joined);
        free(parts);
    }
    /* the OpenMP helper, files only: 2 and 3 parts */
    for (int np = 2; np <= 3 && !c->mem && whole_rc == AVT_OK; np++) {
        sweeps per[3] = {{0}};
        by_part ctx = {per};
        int rc = avt_lidar_decode_parallel(c->path, &c->cfg, np, collect, &ctx, &err);
        if (rc != AVT_OK) print_message("%s\n", err.msg);
        assert_int_equal(rc, AVT_OK);
        sweeps joined = {0};
        for (int p = 0; p < np; p++) {
            for (size_t i = 0; i < per[p].n; i++) keep(&joined, &per[p].v[i].s);
            sweeps_free(&per[p]);
        }
        assert_same(&whole, &joined, "avt_lidar_decode_parallel");
        sweeps_free(&joined);
        if (whole.n && np == 3) {
            rc = avt_lidar_decode_parallel(c->path, &c->cfg, np, stop_at_first, NULL, &err);
            assert_int_equal(rc, AVT_MISMATCH);
            assert_non_null(strstr(err.msg, "callback"));
        }
    }
    size_t n = whole.n;
    sweeps_free(&whole);
    return n;
}

static const int NPARTS[] = {1, 2, 3, 7};
#define NN (sizeof NPARTS / sizeof NPARTS[0])

static void remove_dir(const char *dir)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Writes a synthetic log of `lidar` without cameras into dir/log (dir: a mkdtemp template). */
static int synth_log(char *dir, char *log, size_t log_n, const char *lidar, double seconds,
                     unsigned seed, avt_error *err)
{
    assert_non_null(mkdtemp(dir));
    snprintf(log, log_n, "%s/log", dir);
    avt_synth_config sc;
    avt_synth_config_default(&sc);
    sc.seconds = seconds;
    sc.cameras = 0;
    sc.seed = seed;
    sc.lidar = lidar;
    return avt_synth_run(log, &sc, NULL, NULL, err);
}

static void synth_case(const char *lidar, const char *meta_name, double seconds)
{
    char dir[] = "/tmp/avt_parallel_XXXXXX", log[64], pcap[128], meta[128];
    avt_error err = {0};
    int rc = synth_log(dir, log, sizeof log, lidar, seconds, 11, &err);
    if (rc != AVT_OK && meta_name) {
        /* the generator of this build does not write this sensor */
        print_message("skipping %s: %s\n", lidar, err.msg);
    } else {
        if (rc != AVT_OK) print_message("%s\n", err.msg);
        assert_int_equal(rc, AVT_OK);
        capture c = {.path = pcap};
        avt_lidar_config_default(&c.cfg);
        snprintf(pcap, sizeof pcap, "%s/lidar/%s.pcap", log, meta_name ? meta_name : lidar);
        if (meta_name) {
            snprintf(meta, sizeof meta, "%s/lidar/%s.json", log, meta_name);
            c.cfg.metadata_path = meta;
        }
        split_count count = {0};
        size_t n = check_capture(&c, NPARTS, NN, &count);
        print_message("%s: %zu sweeps, %d parts seeking\n", lidar, n, count.seeking);
        assert_true(n >= (size_t)(seconds * 9)); /* 10 Hz, less the partial first */
        assert_true(count.seeking >= 5); /* parts beginning more than the 1 s lead-in in */
        assert_int_equal(count.reread, 0); /* a turning sensor: the lead-in is enough */
    }
    remove_dir(dir);
}

static void test_synthetic_vlp16(void **state)
{
    (void)state;
    synth_case("vlp16", NULL, 4.0);
}

static void test_synthetic_ouster(void **state)
{
    (void)state;
    synth_case("os1-64", "os1-64", 3.0);
}

/* Ouster captures of the SDK's test data and their metadata (names differ). */
static const char *ouster_meta(const char *pcap_name, char *buf, size_t n)
{
    static const char *const MAP[][2] = {
        {"OS-1-64_1024x10_fw20", "OS-1-64_sensor_config_reduced"},
        {"OS-0-32-U1_v2.2.0_1024x10-single-packet", "OS-0-32-U1_v2.2.0_1024x10"},
    };
    size_t stem = strlen(pcap_name) - 5;
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strlen(MAP[i][0]) == stem && strncmp(pcap_name, MAP[i][0], stem) == 0) {
            snprintf(buf, n, "%s/ouster/%s.json", AVT_SHARED_DATA, MAP[i][1]);
            return buf;
        }
    snprintf(buf, n, "%s/ouster/%.*s.json", AVT_SHARED_DATA, (int)stem, pcap_name);
    return buf;
}

/* Every .pcap of a folder of ../shared/data; returns the number checked. */
static int real_folder(const char *sub, split_count *count)
{
    static const int MANY[] = {1, 2, 3, 7, 50, 400}; /* 50, 400: more parts than sweeps */
    char dirpath[512], path[1024], meta[1024];
    snprintf(dirpath, sizeof dirpath, "%s/%s", AVT_SHARED_DATA, sub);
    DIR *d = opendir(dirpath);
    if (!d) return 0;
    int checked = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".pcap") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        capture c = {.path = path};
        avt_lidar_config_default(&c.cfg);
        if (strcmp(sub, "ouster") == 0) c.cfg.metadata_path = ouster_meta(e->d_name, meta, sizeof meta);
        size_t n = check_capture(&c, MANY, sizeof MANY / sizeof MANY[0], count);
        print_message("%s: %zu sweeps\n", e->d_name, n);
        checked++;
    }
    closedir(d);
    return checked;
}

static void test_real_captures(void **state)
{
    (void)state;
    split_count count = {0};
    int n = real_folder("velodyne", &count) + real_folder("ouster", &count);
    if (n == 0) {
        print_message("no captures under %s: skipped\n", AVT_SHARED_DATA);
        skip();
    }
    assert_true(count.empty > 0); /* 400 parts of ~100-record captures: parts without a record */
}

static void test_pcapng_one_part(void **state)
{
    (void)state;
    const char *path = AVT_SHARED_DATA "/velodyne/vlp16_dual.pcap";
    FILE *fp = fopen(path, "rb");
    if (!fp) skip();
    static uint8_t buf[1 << 21];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(n > 24 && n < sizeof buf);
    assert_int_equal(buf[0], 0xd4); /* little-endian microseconds */
    size_t ng_n;
    uint8_t *ng = to_pcapng(buf, n, &ng_n);
    avt_lidar_part parts[3];
    avt_error err = {0};
    assert_int_equal(avt_lidar_split_mem(ng, ng_n, "ng", 3, parts, &err), AVT_OK);
    assert_int_equal(parts[0].begin, 0);
    assert_int_equal(parts[0].end, UINT64_MAX);
    assert_true(parts[1].begin == parts[1].end && parts[2].begin == parts[2].end);
    split_count count = {0};
    capture c = {.path = "vlp16_dual.pcapng", .mem = ng, .len = ng_n};
    avt_lidar_config_default(&c.cfg);
    static const int THREE[] = {3};
    size_t sweeps_ng = check_capture(&c, THREE, 1, &count);
    /* and the classic file in memory, split for real */
    capture m = {.path = "vlp16_dual.pcap", .mem = buf, .len = n};
    avt_lidar_config_default(&m.cfg);
    assert_int_equal(check_capture(&m, NPARTS, NN, &count), sweeps_ng);
    free(ng);
}

/* An Ouster capture on the sensor's internal clock (column times from power-on, which the
 * reader moves to the epoch with the first packet's capture time): the real one-frame OS-1-64
 * capture repeated as nframes frames 100 ms apart (frame ids, column and record times moved). */
#define OS1_PACKET 12608 /* legacy, 64 beams, 16 columns of 788 bytes */
static uint8_t *ouster_long(const uint8_t *in, size_t n, int nframes, size_t *out_n)
{
    uint8_t *out = malloc(24 + (size_t)nframes * (n - 24));
    assert_non_null(out);
    memcpy(out, in, 24);
    size_t o = 24;
    for (int k = 0; k < nframes; k++) {
        for (size_t i = 24; i + 16 <= n;) {
            uint32_t sec, usec, caplen;
            memcpy(&sec, in + i, 4), memcpy(&usec, in + i + 4, 4), memcpy(&caplen, in + i + 8, 4);
            uint8_t *r = out + o;
            memcpy(r, in + i, 16 + caplen);
            const uint64_t us = (uint64_t)sec * 1000000 + usec + (uint64_t)k * 100000;
            const uint32_t s2 = (uint32_t)(us / 1000000), u2 = (uint32_t)(us % 1000000);
            memcpy(r, &s2, 4), memcpy(r + 4, &u2, 4);
            if (caplen > OS1_PACKET) {
                uint8_t *pl = r + 16 + caplen - OS1_PACKET;
                for (int c = 0; c < 16; c++) {
                    uint8_t *col = pl + 788 * c;
                    uint64_t t;
                    uint16_t fid;
                    memcpy(&t, col, 8), memcpy(&fid, col + 10, 2);
                    t += (uint64_t)k * 100000000;
                    fid = (uint16_t)(fid + k);
                    memcpy(col, &t, 8), memcpy(col + 10, &fid, 2);
                }
            }
            o += 16 + caplen;
            i += 16 + caplen;
        }
    }
    *out_n = o;
    return out;
}

static void test_ouster_internal_clock(void **state)
{
    (void)state;
    const char *path = AVT_SHARED_DATA "/ouster/OS-1-64_1024x10_fw20.pcap";
    FILE *fp = fopen(path, "rb");
    if (!fp) skip();
    static uint8_t buf[1 << 21];
    size_t n = fread(buf, 1, sizeof buf, fp), len;
    fclose(fp);
    assert_true(n > 24 && n < sizeof buf);
    assert_int_equal(buf[0], 0xd4); /* little-endian microseconds */
    uint8_t *cap = ouster_long(buf, n, 30, &len);
    capture c = {.path = "OS-1-64 x30", .mem = cap, .len = len};
    avt_lidar_config_default(&c.cfg);
    c.cfg.metadata_path = AVT_SHARED_DATA "/ouster/OS-1-64_sensor_config_reduced.json";
    split_count count = {0};
    /* 30 frames: the first and last are whole too (a frame per packet set) */
    assert_int_equal(check_capture(&c, NPARTS, NN, &count), 30);
    assert_true(count.seeking >= 5);
    free(cap);
}

/* ---- captures that challenge the lead-in: rewritten copies of a synthetic VLP-16 one ---- */

#define VLP_PAYLOAD 1206

/* Sets the azimuth of every firing block of every data packet (classic little-endian pcap,
 * payload at the record's end: blocks of 100 bytes, flag FF EE, azimuth LE in 0.01 deg). */
static void set_azimuths(uint8_t *cap, size_t n, uint16_t (*az)(uint64_t block))
{
    uint64_t block = 0;
    for (size_t i = 24; i + 16 <= n;) {
        uint32_t caplen;
        memcpy(&caplen, cap + i + 8, 4);
        uint8_t *pl = cap + i + 16 + caplen - VLP_PAYLOAD;
        if (caplen >= VLP_PAYLOAD && pl[0] == 0xFF && pl[1] == 0xEE)
            for (int b = 0; b < 12; b++) {
                const uint16_t a = az(block++);
                pl[100 * b + 2] = (uint8_t)(a & 0xFF);
                pl[100 * b + 3] = (uint8_t)(a >> 8);
            }
        i += 16 + caplen;
    }
}

static uint16_t az_still(uint64_t block)
{
    (void)block;
    return 9000;
}

/* +-0.2 deg around the default cut angle (180 deg), in no order: crossings everywhere */
static uint16_t az_jitter(uint64_t block) { return (uint16_t)(18000 + (block * 7919) % 41 - 20); }

/* a quarter turn per second and back: crossings far apart, sweeps cut by length */
static uint16_t az_slow(uint64_t block)
{
    const uint64_t k = block % 36000;
    return (uint16_t)((k < 18000 ? 9000 + k : 45000 - k) % 36000);
}

/* The synthetic 4-second VLP-16 capture in memory; the log folder in dir (to remove). */
static uint8_t *vlp16_capture(char *dir, size_t *n)
{
    char log[64], pcap[128];
    avt_error err = {0};
    assert_int_equal(synth_log(dir, log, sizeof log, "vlp16", 4.0, 5, &err), AVT_OK);
    snprintf(pcap, sizeof pcap, "%s/lidar/vlp16.pcap", log);
    return slurp(pcap, n);
}

/* A sensor that does not turn, or turns back and forth: no lead-in holds a cut that proves
 * the cut state, so parts are read from the start, and still equal the whole capture. */
static void test_not_turning(void **state)
{
    (void)state;
    char dir[] = "/tmp/avt_parallel_XXXXXX";
    size_t n;
    uint8_t *orig = vlp16_capture(dir, &n);
    uint16_t (*const how[])(uint64_t) = {az_still, az_jitter, az_slow};
    static const char *const names[] = {"still", "jitter at the cut angle", "slow back and forth"};
    for (size_t k = 0; k < sizeof how / sizeof how[0]; k++) {
        uint8_t *cap = dup_mem(orig, n);
        set_azimuths(cap, n, how[k]);
        capture c = {.path = names[k], .mem = cap, .len = n};
        avt_lidar_config_default(&c.cfg);
        split_count count = {0};
        size_t got = check_capture(&c, NPARTS, NN, &count);
        print_message("%s: %zu sweeps, %d parts seeking, %d read from the start\n", names[k],
                      got, count.seeking, count.reread);
        assert_true(count.seeking >= 5);
        assert_true(count.reread >= 1); /* the last part at least: nothing proves its state */
        free(cap);
    }
    free(orig);
    remove_dir(dir);
}

/* One record an hour in the future: the lead-in clock neither freezes nor jumps, so every
 * part's lead-in stays about AVT_LIDAR_LEAD_NS long (not the whole capture before it). A
 * version 2.3 file (caplen and len may be swapped) is not split. */
static void test_wild_record_time_and_old_version(void **state)
{
    (void)state;
    char dir[] = "/tmp/avt_parallel_XXXXXX";
    size_t n;
    uint8_t *cap = vlp16_capture(dir, &n);
    size_t i = 24, rec = 0, mid = 0;
    for (; i + 16 <= n; rec++) {
        uint32_t caplen;
        memcpy(&caplen, cap + i + 8, 4);
        if (rec == 1500) { /* about 1.2 s in */
            uint32_t sec;
            memcpy(&sec, cap + i, 4);
            sec += 3600;
            memcpy(cap + i, &sec, 4);
            mid = i;
        }
        i += 16 + caplen;
    }
    assert_true(mid > 0);
    const double bytes_per_s = (double)(n - 24) / 4.0;
    avt_lidar_part parts[7];
    avt_error err = {0};
    assert_int_equal(avt_lidar_split_mem(cap, n, "wild", 7, parts, &err), AVT_OK);
    for (int p = 1; p < 7; p++) {
        const double lead_s = (double)(parts[p].begin - parts[p].lead) / bytes_per_s;
        print_message("part %d: lead-in %.2f s\n", p, lead_s);
        assert_true((lead_s >= 0.9 || parts[p].lead == 24) && lead_s <= 1.3);
    }
    capture c = {.path = "wild record time", .mem = cap, .len = n};
    avt_lidar_config_default(&c.cfg);
    split_count count = {0};
    check_capture(&c, NPARTS, NN, &count);

    cap[22 - 16] = 3; /* version minor: 2.3 */
    assert_int_equal(avt_lidar_split_mem(cap, n, "v2.3", 3, parts, &err), AVT_OK);
    assert_int_equal(parts[0].end, UINT64_MAX);
    assert_true(parts[1].begin == parts[1].end && parts[2].begin == parts[2].end);
    free(cap);
    remove_dir(dir);
}

/* 1 if a sweep's key (the record of its first packet) is the record at byte x: a part
 * [x, x + 1) read from the capture's first record returns exactly that sweep. */
static int sweep_starts_at(const capture *c, uint64_t x)
{
    const avt_lidar_part part = {x, x + 1, 24, 0};
    sweeps got = {0};
    uint64_t records;
    assert_int_equal(read_all(c, &part, &got, &records), 0);
    int n = (int)got.n;
    sweeps_free(&got);
    return n == 1;
}

/* A sweep whose first record starts exactly at the split's target byte (size / nparts) opens
 * part 1 (a part begins at the first record at or after the target), and the parts, split by
 * hand and by avt_lidar_decode_parallel, still equal the whole capture. Built from the
 * synthetic VLP-16 capture: the records before about twice the offset of a sweep's first
 * record near the middle, then one record of other traffic that makes the file exactly twice
 * as long. */
static void test_sweep_at_the_split_target(void **state)
{
    (void)state;
    char dir[] = "/tmp/avt_parallel_XXXXXX", path[128];
    size_t n, nrec = 0;
    uint8_t *cap = vlp16_capture(dir, &n);
    static uint64_t off[8192];
    for (size_t i = 24; i + 16 <= n && nrec < 8192; nrec++) {
        off[nrec] = i;
        uint32_t caplen;
        memcpy(&caplen, cap + i + 8, 4);
        i += 16 + caplen;
    }
    capture whole = {.path = "vlp16", .mem = cap, .len = n};
    avt_lidar_config_default(&whole.cfg);
    size_t key = nrec / 3;
    while (key < nrec / 2 && !sweep_starts_at(&whole, off[key])) key++;
    assert_true(key < nrec / 2);
    size_t m = key;
    while (m + 1 < nrec && off[m + 1] + 76 <= 2 * off[key]) m++;
    const uint32_t filler = (uint32_t)(2 * off[key] - off[m] - 16);
    assert_true(filler >= 60 && filler <= 4000);
    static uint8_t rec[16 + 4000];
    memcpy(rec, cap + off[m - 1], 8); /* the last record's time */
    memcpy(rec + 8, &filler, 4), memcpy(rec + 12, &filler, 4);
    rec[16 + 12] = 0x08, rec[16 + 13] = 0x06; /* an ARP frame: not the LiDAR's */
    snprintf(path, sizeof path, "%s/aligned.pcap", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(cap, 1, off[m], fp), off[m]);
    assert_int_equal(fwrite(rec, 1, 16 + filler, fp), 16 + filler);
    assert_int_equal(fclose(fp), 0);
    avt_lidar_part parts[2];
    avt_error err = {0};
    assert_int_equal(avt_lidar_split(path, 2, parts, &err), AVT_OK);
    assert_int_equal(parts[1].begin, off[key]); /* exactly size / 2 */
    capture c = {.path = path};
    avt_lidar_config_default(&c.cfg);
    split_count count = {0};
    static const int TWO[] = {2};
    assert_true(check_capture(&c, TWO, 1, &count) >= 20);
    free(cap);
    remove_dir(dir);
}

/* A pipe is refused by name (a capture is read more than once), not half read. */
static void test_not_a_regular_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/avt_parallel_XXXXXX", fifo[64];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/pipe.pcap", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    avt_lidar_part parts[2];
    avt_error err = {0};
    /* O_RDWR-free check: opening a FIFO for reading blocks until a writer comes, so give it
     * one that writes nothing and closes */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *w = fopen(fifo, "wb");
        if (w) fclose(w);
        _exit(0);
    }
    assert_int_equal(avt_lidar_split(fifo, 2, parts, &err), AVT_IO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_non_null(strstr(err.msg, fifo));
    waitpid(pid, NULL, 0);
    remove_dir(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    avt_lidar_part parts[2];
    avt_error err = {0};
    assert_int_equal(avt_lidar_split("/nonexistent.pcap", 2, parts, &err), AVT_IO);
    assert_int_equal(avt_lidar_split_mem("x", 1, "m", 0, parts, &err), AVT_INVAL);
    assert_null(avt_lidar_open_part("/nonexistent.pcap", NULL, NULL, &err));
    assert_int_equal(err.code, AVT_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_vlp16), cmocka_unit_test(test_synthetic_ouster),
        cmocka_unit_test(test_real_captures),   cmocka_unit_test(test_pcapng_one_part),
        cmocka_unit_test(test_ouster_internal_clock), cmocka_unit_test(test_not_turning),
        cmocka_unit_test(test_wild_record_time_and_old_version),
        cmocka_unit_test(test_sweep_at_the_split_target),
        cmocka_unit_test(test_not_a_regular_file), cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
