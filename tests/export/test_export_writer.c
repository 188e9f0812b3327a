/* avtruth export tests: argument checks, crash safety (abort, unwritable directory, disk
 * full, failed finish, pre-existing output), frame validation, bounded memory, inspect,
 * verify reading every chunk. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "fixture.h"

static const char *const classes[] = {"none", "car", "pedestrian", "cyclist"};

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct tmpdir {
    char dir[256];
    char h5[512], partial[512], card[512], card_partial[512];
} tmpdir;

static void tmp_make(tmpdir *t, const char *name)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/avt_export_test_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->h5, sizeof t->h5, "%s/%s.h5", t->dir, name);
    snprintf(t->partial, sizeof t->partial, "%s/%s.h5.partial", t->dir, name);
    snprintf(t->card, sizeof t->card, "%s/%s.card.md", t->dir, name);
    snprintf(t->card_partial, sizeof t->card_partial, "%s/%s.card.md.partial", t->dir, name);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void tmp_remove(tmpdir *t)
{
    DIR *d = opendir(t->dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    chmod(t->dir, 0700);
    rmdir(t->dir);
}

static int exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static avt_export_writer *open_fixture(const char *path, const char *compression, avt_error *err)
{
    avt_rig rig;
    static avt_camera cams[FIX_CAMERAS];
    fixture_rig(&rig, cams);
    avt_export_options opt;
    memset(&opt, 0, sizeof opt);
    opt.log_id = "test";
    opt.compression = compression;
    return avt_export_open(path, &rig, classes, 4, &opt, err);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    avt_error err = {0, ""};
    if (avt_read_file(path, 1 << 20, &data, &len, &err)) return NULL;
    return data;
}

/* ---- argument checks -------------------------------------------------------------------- */

static void test_refuses_bad_names(void **state)
{
    (void)state;
    avt_error err = {0, ""};
    const char *bad[] = {"out.hdf5", "out.h5x", "out", "dir/.h5", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.code = 0;
        assert_null(open_fixture(bad[i], NULL, &err));
        assert_int_equal(err.code, AVT_INVAL);
        assert_non_null(strstr(err.msg, "must end in .h5"));
    }
    assert_null(open_fixture(NULL, NULL, &err));
    assert_int_equal(err.code, AVT_INVAL);
}

static void test_refuses_bad_options(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "opt");
    avt_error err = {0, ""};
    assert_null(open_fixture(t.h5, "lz4", &err));
    assert_int_equal(err.code, AVT_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "lz4"));

    avt_rig rig;
    avt_camera cams[FIX_CAMERAS];
    fixture_rig(&rig, cams);
    snprintf(cams[1].name, sizeof cams[1].name, "front"); /* duplicate */
    assert_null(avt_export_open(t.h5, &rig, classes, 4, NULL, &err));
    assert_int_equal(err.code, AVT_INVAL);
    assert_non_null(strstr(err.msg, "used twice"));
    snprintf(cams[1].name, sizeof cams[1].name, "a/b");
    assert_null(avt_export_open(t.h5, &rig, classes, 4, NULL, &err));
    assert_int_equal(err.code, AVT_INVAL);
    assert_null(avt_export_open(t.h5, &rig, classes, 0, NULL, &err));
    assert_int_equal(err.code, AVT_INVAL);
    const char *bad_utf8[] = {"none", "caf\xe9"};
    fixture_rig(&rig, cams);
    assert_null(avt_export_open(t.h5, &rig, bad_utf8, 2, NULL, &err));
    assert_non_null(strstr(err.msg, "UTF-8"));
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);

    avt_export_abort(NULL);
    assert_int_equal(avt_export_finish(NULL, NULL, &err), AVT_INVAL);
}

/* ---- crash safety ----------------------------------------------------------------------- */

static void test_abort_leaves_nothing(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "aborted");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    assert_true(exists(t.partial));
    assert_false(exists(t.h5));
    assert_int_equal(fixture_frames(w, 3, &err), AVT_OK);
    avt_export_abort(w);
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);
}

static void test_missing_dir(void **state)
{
    (void)state;
    avt_error err = {0, ""};
    assert_null(open_fixture("/tmp/avt_no_such_dir_4711/x.h5", NULL, &err));
    assert_int_equal(err.code, AVT_IO);
    assert_non_null(strstr(err.msg, "/tmp/avt_no_such_dir_4711/x.h5.partial"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
}

/* Runs the unwritable-directory check in a child so that root can drop privileges. */
static void test_unwritable_dir(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "denied");
    assert_int_equal(chmod(t.dir, 0555), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
        avt_error err = {0, ""};
        avt_export_writer *w = open_fixture(t.h5, NULL, &err);
        int ok = !w && err.code == AVT_IO && strstr(err.msg, t.partial) &&
                 strstr(err.msg, "Permission denied");
        if (!ok) fprintf(stderr, "unexpected: %p %d %s\n", (void *)w, err.code, err.msg);
        avt_export_abort(w);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);
}

static void test_existing_replaced_only_at_finish(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "replace");
    write_text(t.h5, "previous run\n");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    assert_int_equal(fixture_frames(w, FIX_FRAMES, &err), AVT_OK);
    char *old = slurp(t.h5);
    assert_non_null(old);
    assert_string_equal(old, "previous run\n");
    free(old);
    assert_true(exists(t.partial));
    avt_export_meta m = fixture_meta();
    assert_int_equal(avt_export_finish(w, &m, &err), AVT_OK);
    assert_true(H5Fis_hdf5(t.h5) > 0);
    assert_false(exists(t.partial));
    assert_false(exists(t.card_partial));
    char *card = slurp(t.card);
    assert_non_null(card);
    assert_non_null(strstr(card, "# Dataset card: test"));
    free(card);
    assert_int_equal(count_entries(t.dir), 2);
    tmp_remove(&t);
}

static void test_failed_finish_removes_partial(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "badmeta");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    assert_int_equal(fixture_frames(w, 2, &err), AVT_OK);
    avt_export_meta m = fixture_meta();
    m.config_json = "{\"voxel\": ";
    assert_int_equal(avt_export_finish(w, &m, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, t.partial));
    assert_non_null(strstr(err.msg, "not JSON"));
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);
}

/* The partial file is a link to /dev/full: every write fails with ENOSPC. Run in a child:
 * HDF5 1.10 cannot release a file whose superblock write failed and complains at exit. */
static void test_disk_full(void **state)
{
    (void)state;
    if (!exists("/dev/full")) skip();
    tmpdir t;
    tmp_make(&t, "full");
    assert_int_equal(symlink("/dev/full", t.partial), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        avt_error err = {0, ""};
        avt_export_writer *w = open_fixture(t.h5, NULL, &err);
        int rc = w ? fixture_frames(w, FIX_FRAMES, &err) : err.code;
        if (w && rc == AVT_OK) {
            avt_export_meta m = fixture_meta();
            rc = avt_export_finish(w, &m, &err);
        } else if (w) {
            avt_export_abort(w);
        }
        int ok = rc != AVT_OK && strstr(err.msg, t.partial) &&
                 strstr(err.msg, "No space left on device") && !strchr(err.msg, '\n');
        if (!ok) fprintf(stderr, "unexpected: %d %s\n", rc, err.msg);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_false(exists(t.h5));
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);
}

/* ---- frame validation ------------------------------------------------------------------- */

static void test_rejected_frame_keeps_writer_usable(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "reject");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    assert_int_equal(fixture_frames(w, 1, &err), AVT_OK);

    float xyz[6] = {0};
    int32_t inst[2] = {0, 1}; /* box 1 does not exist */
    uint16_t label[2] = {0, 0};
    avt_box3d box;
    memset(&box, 0, sizeof box);
    box.class_id = 1;
    avt_camera_frame cams[FIX_CAMERAS];
    memset(cams, 0, sizeof cams);
    cams[0].timestamp_ns = cams[1].timestamp_ns = INT64_MIN;
    avt_frame_out f;
    memset(&f, 0, sizeof f);
    f.n_points = 2;
    f.xyz = xyz;
    f.instance = inst;
    f.label = label;
    f.n_boxes = 1;
    f.boxes = &box;
    f.cams = cams;
    assert_int_equal(avt_export_frame(w, &f, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "frame 1: point 1: instance 1"));
    inst[1] = -1;
    label[0] = 4;
    assert_int_equal(avt_export_frame(w, &f, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "label 4"));
    label[0] = 1;
    avt_box2d b2;
    memset(&b2, 0, sizeof b2);
    b2.box3d_index = 1;
    cams[1].n_boxes2d = 1;
    cams[1].boxes2d = &b2;
    assert_int_equal(avt_export_frame(w, &f, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "camera left: 2D box 0: box3d_index 1"));
    b2.box3d_index = 0;
    box.class_id = 9;
    assert_int_equal(avt_export_frame(w, &f, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "class_id 9"));
    box.class_id = 1;
    /* optional columns left NULL are written as defaults */
    f.label = NULL;
    f.instance = NULL;
    assert_int_equal(avt_export_frame(w, &f, &err), AVT_OK);
    assert_int_equal(avt_export_finish(w, NULL, &err), AVT_OK);

    hid_t file = H5Fopen(t.h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    uint64_t nf = 0;
    hid_t a = H5Aopen(file, "num_frames", H5P_DEFAULT);
    assert_true(H5Aread(a, H5T_NATIVE_UINT64, &nf) >= 0);
    H5Aclose(a);
    assert_int_equal(nf, 2);
    int32_t got[9];
    hid_t d = H5Dopen2(file, "lidar/instance", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    H5Dclose(d);
    assert_int_equal(got[7], -1); /* the defaults of the second frame */
    assert_int_equal(got[8], -1);
    uint32_t idx = 99;
    d = H5Dopen2(file, "cameras/left/boxes2d/box3d_index", H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s, &n, NULL);
    assert_int_equal(n, 2); /* frame 0 has one for "left", the second frame one */
    uint32_t all[2];
    assert_true(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) >= 0);
    idx = all[1];
    H5Sclose(s);
    H5Dclose(d);
    assert_int_equal(idx, 2); /* frame 0 has 2 boxes: local 0 -> row 2 */
    H5Fclose(file);
    tmp_remove(&t);
}

/* ---- bounded memory --------------------------------------------------------------------- */

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 400 frames of 25,000 points (~270 MB of columns): the peak resident size may not grow by
 * more than a fraction of that after the first frames. */
static void test_memory_bounded(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* ASan's quarantine makes the resident size meaningless */
#endif
    tmpdir t;
    tmp_make(&t, "long");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    enum { NP = 25000 };
    static float xyz[3 * NP], inten[NP];
    static uint16_t ring[NP];
    for (int j = 0; j < NP; j++) {
        xyz[3 * j] = (float)j;
        xyz[3 * j + 1] = (float)(j % 100);
        xyz[3 * j + 2] = 1;
        inten[j] = (float)(j & 255);
        ring[j] = (uint16_t)(j % 16);
    }
    avt_camera_frame cams[FIX_CAMERAS];
    memset(cams, 0, sizeof cams);
    avt_frame_out f;
    memset(&f, 0, sizeof f);
    f.n_points = NP;
    f.xyz = xyz;
    f.intensity = inten;
    f.ring = ring;
    f.cams = cams;
    long after_warmup = 0;
    for (int i = 0; i < 400; i++) {
        f.timestamp_ns = FIX_T0_NS + i * 100000000LL;
        cams[0].timestamp_ns = f.timestamp_ns;
        cams[1].timestamp_ns = INT64_MIN;
        cams[0].image_path = "front/x.png";
        assert_int_equal(avt_export_frame(w, &f, &err), AVT_OK);
        if (i == 20) after_warmup = max_rss_kb();
    }
    long growth = max_rss_kb() - after_warmup;
    avt_export_abort(w);
    tmp_remove(&t);
    /* 380 more frames hold ~250 MB of column data; allow 24 MB for HDF5's metadata cache. */
    if (growth > 24 * 1024) fail_msg("resident size grew by %ld kB while streaming", growth);
}

/* 5,000 one-point frames: the per-frame and per-box tables cross their 4,096-row chunk and
 * are read back row by row. */
static void test_table_chunk_boundary(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "many");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    enum { NF = 5000 };
    float xyz[3] = {1, 2, 3};
    int32_t inst = 0;
    uint16_t label = 2;
    avt_box3d box;
    memset(&box, 0, sizeof box);
    box.class_id = 2;
    avt_camera_frame cams[FIX_CAMERAS];
    memset(cams, 0, sizeof cams);
    avt_frame_out f;
    memset(&f, 0, sizeof f);
    f.n_points = 1;
    f.xyz = xyz;
    f.instance = &inst;
    f.label = &label;
    f.n_boxes = 1;
    f.boxes = &box;
    f.cams = cams;
    for (int i = 0; i < NF; i++) {
        f.timestamp_ns = FIX_T0_NS + i;
        box.track_id = 7 * i;
        cams[0].timestamp_ns = i;
        cams[1].timestamp_ns = INT64_MIN;
        assert_int_equal(avt_export_frame(w, &f, &err), AVT_OK);
    }
    assert_int_equal(avt_export_finish(w, NULL, &err), AVT_OK);
    hid_t file = H5Fopen(t.h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    static int64_t i64[NF + 1];
    static uint64_t u64[NF + 1];
    static uint32_t u32[NF];
    static int32_t i32[NF];
    struct { const char *path; hid_t type; void *buf; } rd[] = {
        {"frames/timestamp_ns", H5T_NATIVE_INT64, i64}, {"frames/point_offset", H5T_NATIVE_UINT64, u64},
        {"boxes3d/frame_index", H5T_NATIVE_UINT32, u32}, {"lidar/instance", H5T_NATIVE_INT32, i32}};
    for (int r = 0; r < 4; r++) {
        hid_t d = H5Dopen2(file, rd[r].path, H5P_DEFAULT);
        assert_true(d >= 0);
        assert_true(H5Dread(d, rd[r].type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rd[r].buf) >= 0);
        H5Dclose(d);
        for (int i = 0; i < NF; i++) {
            int ok = r == 0 ? i64[i] == FIX_T0_NS + i
                   : r == 1 ? u64[i] == (uint64_t)i
                   : r == 2 ? u32[i] == (uint32_t)i
                            : i32[i] == i;
            if (!ok) fail_msg("%s: row %d wrong", rd[r].path, i);
        }
    }
    assert_int_equal(u64[NF], NF);
    hid_t d = H5Dopen2(file, "boxes3d/track_id", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, i64) >= 0);
    H5Dclose(d);
    assert_int_equal(i64[4095], 7 * 4095);
    assert_int_equal(i64[4096], 7 * 4096);
    assert_int_equal(i64[NF - 1], 7 * (NF - 1));
    H5Fclose(file);
    tmp_remove(&t);
}

/* ---- inspect ---------------------------------------------------------------------------- */

static void test_inspect(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "inspect");
    avt_error err = {0, ""};
    assert_int_equal(fixture_write(t.h5, t.dir, "gzip", &err), AVT_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(avt_export_inspect(t.h5, out, &err), AVT_OK);
    fclose(out);
    const char *want[] = {
        "avtruth-gt 1.0", "drive-\xc3\xbcn\xc3\xaf" "code-01", "frames:        5\n",
        "2023-11-14T22:13:20.000000000Z .. 2023-11-14T22:13:20.400000000Z",
        "lidar points:  70015\n", "3D boxes:      10\n", "compression:   gzip\n",
        "cameras:       2\n", "front        pinhole, 5 of 5 frames with a paired image, 6 2D boxes, 13 depth samples",
        "left         fisheye, 4 of 5 frames with a paired image, 3 2D boxes, 7 depth samples",
        "avtruth 0.1.0-test (git 0123456789abcdef)", "export --test \xc3\xbcn\xc3\xaf",
        "2023-11-14T22:13:20.000000000Z .. ", "inputs:      2 files"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i])) fail_msg("inspect output lacks \"%s\":\n%s", want[i], text);
    free(text);
    tmp_remove(&t);
}

static void test_inspect_errors(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "notours");
    avt_error err = {0, ""};
    FILE *out = fopen("/dev/null", "w");
    assert_non_null(out);
    assert_int_equal(avt_export_inspect(t.h5, out, &err), AVT_NOTFOUND);
    assert_non_null(strstr(err.msg, t.h5));
    write_text(t.h5, "plain text\n");
    assert_int_equal(avt_export_inspect(t.h5, out, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "not an HDF5 file"));
    unlink(t.h5);
    hid_t f = H5Fcreate(t.h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    H5Fclose(f);
    assert_int_equal(avt_export_inspect(t.h5, out, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "not an avtruth file"));
    fclose(out);
    tmp_remove(&t);
}

/* Every way out of avt_export_stitch, the early ones included, gives HDF5's error printing
 * back as it was (it is turned off while stitching). */
static void test_stitch_restores_error_printing(void **state)
{
    (void)state;
    H5E_auto2_t before, after;
    void *data_before, *data_after;
    H5Eget_auto2(H5E_DEFAULT, &before, &data_before);
    assert_non_null(before);
    avt_error err = {0, ""};
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    /* bad ratios, a bad output name, a missing directory */
    avt_stitch_options bad, ok;
    avt_stitch_options_default(&bad);
    avt_stitch_options_default(&ok);
    bad.train = 0.9, bad.val = 0.5;
    assert_int_not_equal(avt_export_stitch(".", "x.h5", &bad, devnull, &err), 0);
    assert_int_not_equal(avt_export_stitch(".", "x.txt", &ok, devnull, &err), 0);
    assert_int_not_equal(avt_export_stitch("/nonexistent/dir", "x.h5", &ok, devnull, &err), 0);
    fclose(devnull);
    H5Eget_auto2(H5E_DEFAULT, &after, &data_after);
    assert_ptr_equal(before, after);
    assert_ptr_equal(data_before, data_after);
}

static void test_add_input_errors(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "inputs");
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    assert_int_equal(avt_export_add_input(w, "x.pcap", "/tmp/avt_no_such_input.pcap", &err),
                     AVT_IO);
    assert_non_null(strstr(err.msg, "/tmp/avt_no_such_input.pcap"));
    /* a digest taken ahead that failed is taken again, and the error names the file */
    avt_file_digest d = {.ok = 0};
    assert_int_equal(avt_export_digest_file("/tmp/avt_no_such_input.png", &d, &err), AVT_IO);
    assert_int_equal(d.ok, 0);
    err.msg[0] = '\0';
    assert_int_equal(avt_export_add_input_digest(w, "y.png", "/tmp/avt_no_such_input.png", &d, &err), AVT_IO);
    assert_non_null(strstr(err.msg, "/tmp/avt_no_such_input.png"));
    avt_export_abort(w);
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);
}

/* Reads the 1-D string dataset path of file into out[0..n) (strdup'ed). */
static void read_strings(const char *file, const char *path, char **out, size_t n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT), sp = H5Dget_space(d), st = H5Tcopy(H5T_C_S1);
    assert_true(d >= 0 && sp >= 0 && st >= 0);
    assert_int_equal(H5Sget_simple_extent_npoints(sp), (hssize_t)n);
    assert_true(H5Tset_size(st, H5T_VARIABLE) >= 0);
    char **raw = calloc(n, sizeof *raw);
    assert_non_null(raw);
    assert_true(H5Dread(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0);
    for (size_t i = 0; i < n; i++) assert_non_null(out[i] = strdup(raw[i]));
    H5Dvlen_reclaim(st, sp, H5P_DEFAULT, raw);
    free(raw);
    H5Tclose(st), H5Sclose(sp), H5Dclose(d), H5Fclose(f);
}

/* Inputs registered first and hashed later keep their rows in /provenance/inputs; a bad row
 * is refused; a row left without its digest fails finish, naming the input, and leaves no
 * output. The digest of "abc" is FIPS 180-2's first SHA-256 example. */
static void test_inputs_hashed_later(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t, "later");
    char abc[600];
    snprintf(abc, sizeof abc, "%s/abc.txt", t.dir);
    FILE *f = fopen(abc, "w");
    assert_non_null(f);
    fputs("abc", f);
    fclose(f);
    avt_error err = {0, ""};
    avt_export_writer *w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    size_t row = 99;
    assert_int_equal(avt_export_add_input_later(w, "first.txt", &row, &err), AVT_OK);
    assert_int_equal(row, 0);
    assert_int_equal(avt_export_add_input(w, "second.txt", abc, &err), AVT_OK);
    assert_int_equal(avt_export_set_input_digest(w, 2, abc, NULL, &err), AVT_INVAL);
    assert_int_equal(avt_export_set_input_digest(w, row, abc, NULL, &err), AVT_OK);
    /* a hash told to stop (the build failed) ends without a digest, naming the file */
    atomic_int stop = 1;
    avt_file_digest d = {.ok = 1};
    assert_int_equal(avt_export_digest_file_until(abc, &stop, &d, &err), AVT_INVAL);
    assert_int_equal(d.ok, 0);
    assert_non_null(strstr(err.msg, "abc.txt"));
    atomic_store(&stop, 0);
    assert_int_equal(avt_export_digest_file_until(abc, &stop, &d, &err), AVT_OK);
    assert_int_equal(d.ok, 1);
    assert_string_equal(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(fixture_frames(w, 1, &err), AVT_OK);
    avt_export_meta m = fixture_meta();
    assert_int_equal(avt_export_finish(w, &m, &err), AVT_OK);
    char *paths[2], *shas[2];
    read_strings(t.h5, "provenance/inputs/path", paths, 2);
    read_strings(t.h5, "provenance/inputs/sha256", shas, 2);
    assert_string_equal(paths[0], "first.txt");
    assert_string_equal(paths[1], "second.txt");
    for (int i = 0; i < 2; i++) {
        assert_string_equal(shas[i], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        free(paths[i]), free(shas[i]);
    }
    assert_int_equal(unlink(t.h5), 0);
    assert_int_equal(unlink(t.card), 0);
    /* a row never given its digest */
    w = open_fixture(t.h5, NULL, &err);
    assert_non_null(w);
    assert_int_equal(avt_export_add_input_later(w, "forgotten.pcap", &row, &err), AVT_OK);
    assert_int_equal(fixture_frames(w, 1, &err), AVT_OK);
    assert_int_equal(avt_export_finish(w, &m, &err), AVT_INVAL);
    assert_non_null(strstr(err.msg, "forgotten.pcap"));
    assert_int_equal(unlink(abc), 0);
    assert_int_equal(count_entries(t.dir), 0);
    tmp_remove(&t);
}

/* ---- verify: every chunk is read ------------------------------------------------------ */

/* The stored chunk of dataset path that holds row `row`: its file offset and size, and the
 * name verify is to give it, "/lidar/xyz: chunk [65536, 0] (rows 65536..70014)", all from
 * HDF5's own chunk index and the dataset's shape (not from the code under test). */
typedef struct stored_chunk {
    haddr_t addr;
    hsize_t size;
    char name[200];
} stored_chunk;

static void chunk_at(const char *file, const char *path, hsize_t row, stored_chunk *c)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, path, H5P_DEFAULT) : -1;
    hid_t dcpl = d >= 0 ? H5Dget_create_plist(d) : -1, sp = d >= 0 ? H5Dget_space(d) : -1;
    assert_true(dcpl >= 0 && sp >= 0);
    hsize_t cdims[4], dims[4], n = 0, off[4];
    int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_true(rank >= 1 && H5Pget_chunk(dcpl, 4, cdims) == rank);
    assert_true(H5Dget_num_chunks(d, sp, &n) >= 0);
    int found = 0;
    for (hsize_t i = 0; i < n && !found; i++) {
        unsigned mask;
        assert_true(H5Dget_chunk_info(d, sp, i, off, &mask, &c->addr, &c->size) >= 0);
        found = off[0] <= row && row < off[0] + cdims[0];
    }
    if (!found) fail_msg("%s: no chunk holds row %llu", path, (unsigned long long)row);
    hsize_t last = off[0] + cdims[0] < dims[0] ? off[0] + cdims[0] - 1 : dims[0] - 1;
    int k = snprintf(c->name, sizeof c->name, "/%s: chunk [%llu", path, (unsigned long long)off[0]);
    for (int i = 1; i < rank; i++) k += snprintf(c->name + k, sizeof c->name - (size_t)k, ", 0");
    snprintf(c->name + k, sizeof c->name - (size_t)k, "] (rows %llu..%llu)",
             (unsigned long long)off[0], (unsigned long long)last);
    H5Sclose(sp), H5Pclose(dcpl), H5Dclose(d), H5Fclose(f);
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    char *data = NULL;
    avt_error err = {0, ""};
    assert_int_equal(avt_read_file(from, 64 << 20, &data, &len, &err), AVT_OK);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(data);
}

/* Complements 64 bytes in the middle of the stored chunk (all of it if it is shorter), as the
 * review did to copies of a build's output. */
static void damage(const char *file, haddr_t addr, hsize_t size)
{
    unsigned char b[64];
    size_t n = size < sizeof b ? (size_t)size : sizeof b;
    off_t at = (off_t)(addr + (size - n) / 2);
    FILE *f = fopen(file, "r+b");
    assert_non_null(f);
    assert_int_equal(fseeko(f, at, SEEK_SET), 0);
    assert_int_equal(fread(b, 1, n, f), n);
    for (size_t i = 0; i < n; i++) b[i] ^= 0xff;
    assert_int_equal(fseeko(f, at, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Runs avt_export_verify with stderr sent to a file; returns its status, the bytes HDF5 (or
 * anything else) printed on stderr go to *stderr_bytes. */
static int verify_quietly(const char *h5, avt_error *err, long *stderr_bytes)
{
    FILE *cap = tmpfile(), *out = fopen("/dev/null", "w");
    assert_non_null(cap);
    assert_non_null(out);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0 && dup2(fileno(cap), 2) >= 0);
    int rc = avt_export_verify(h5, NULL, out, err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(cap, 0, SEEK_END);
    *stderr_bytes = ftell(cap);
    fclose(cap), fclose(out);
    return rc;
}

/* A chunk whose stored bytes changed fails verify, which names the file, the dataset and the
 * chunk's first row, quietly (HDF5's error stack is not printed); the untouched file passes.
 * Datasets the structure checks read (timestamp_ns) and ones they do not (the rest). */
static void test_verify_reads_every_chunk(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        hsize_t row;
    } cases[] = {
        {"lidar/xyz", 65536}, /* the last, partial chunk */
        {"lidar/intensity", 20000},
        {"frames/ego_pose", 0},
        {"frames/timestamp_ns", 0},
        {"boxes3d/center", 0},
        {"cameras/left/depth/uv", 0},
    };
    tmpdir t;
    tmp_make(&t, "good");
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.h5", t.dir);
    avt_error err = {0, ""};
    assert_int_equal(fixture_write(t.h5, NULL, "gzip", &err), AVT_OK);
    long printed = 0;
    if (verify_quietly(t.h5, &err, &printed) != AVT_OK) fail_msg("untouched file: %s", err.msg);
    assert_int_equal(printed, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        stored_chunk c;
        chunk_at(t.h5, cases[i].path, cases[i].row, &c);
        copy_file(t.h5, bad);
        damage(bad, c.addr, c.size);
        err.msg[0] = '\0';
        int rc = verify_quietly(bad, &err, &printed);
        if (rc != AVT_MISMATCH || !strstr(err.msg, bad) || !strstr(err.msg, c.name) ||
            strchr(err.msg, '\n'))
            fail_msg("%s: status %d, want \"%s\" in one line: %s", cases[i].path, rc, c.name,
                     err.msg);
        if (printed) fail_msg("%s: %ld bytes printed on stderr", cases[i].path, printed);
    }
    tmp_remove(&t);
}

/* Every test must leave no HDF5 object open (files, datasets, types, ...). */
static int no_open_ids(void **state)
{
    (void)state;
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n != 0) fail_msg("%zd HDF5 objects left open", n);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_refuses_bad_names, no_open_ids),
        cmocka_unit_test_teardown(test_refuses_bad_options, no_open_ids),
        cmocka_unit_test_teardown(test_abort_leaves_nothing, no_open_ids),
        cmocka_unit_test_teardown(test_missing_dir, no_open_ids),
        cmocka_unit_test_teardown(test_unwritable_dir, no_open_ids),
        cmocka_unit_test_teardown(test_existing_replaced_only_at_finish, no_open_ids),
        cmocka_unit_test_teardown(test_failed_finish_removes_partial, no_open_ids),
        cmocka_unit_test_teardown(test_disk_full, no_open_ids),
        cmocka_unit_test_teardown(test_rejected_frame_keeps_writer_usable, no_open_ids),
        cmocka_unit_test_teardown(test_memory_bounded, no_open_ids),
        cmocka_unit_test_teardown(test_table_chunk_boundary, no_open_ids),
        cmocka_unit_test_teardown(test_inspect, no_open_ids),
        cmocka_unit_test_teardown(test_inspect_errors, no_open_ids),
        cmocka_unit_test_teardown(test_add_input_errors, no_open_ids),
        cmocka_unit_test_teardown(test_inputs_hashed_later, no_open_ids),
        cmocka_unit_test_teardown(test_stitch_restores_error_printing, no_open_ids),
        cmocka_unit_test_teardown(test_verify_reads_every_chunk, no_open_ids),
    };
    if (getenv("AVT_TEST_FILTER")) cmocka_set_test_filter(getenv("AVT_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
