/* MCAP reader and CDR decoders on hand-built inputs: what the conformance suite does not
 * cover (unknown opcodes, records extended by a newer writer, bad CRCs, a record inside a chunk
 * that the specification does not allow there, a cut lz4 frame, sizes that lie), and CDR
 * alignment in both byte orders worked out by hand. Bytes are assembled here from the
 * specifications, not by the code under test; zstd/lz4 frames come from the libraries'
 * compressors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include "avtruth/rosbag.h"

typedef struct buf {
    uint8_t b[8192];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    assert_true(o->n + n <= sizeof o->b);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void u8(buf *o, uint8_t v) { put(o, &v, 1); }
static void le(buf *o, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) u8(o, (uint8_t)(v >> (8 * i)));
}
static void str(buf *o, const char *s)
{
    le(o, strlen(s), 4);
    put(o, s, strlen(s));
}
static void rec(buf *o, uint8_t op, const buf *body)
{
    u8(o, op);
    le(o, body->n, 8);
    put(o, body->b, body->n);
}

static const uint8_t MAGIC[8] = {0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};

/* magic, Header; the caller adds records; finish() adds DataEnd, Footer, magic */
static void start(buf *f)
{
    f->n = 0;
    put(f, MAGIC, 8);
    buf h = {.n = 0};
    str(&h, "ros2");
    str(&h, "test");
    rec(f, 0x01, &h);
}
static void finish(buf *f)
{
    buf d = {.n = 0};
    le(&d, 0, 4);
    rec(f, 0x0F, &d);
    buf ft = {.n = 0};
    le(&ft, 0, 8);
    le(&ft, 0, 8);
    le(&ft, 0, 4);
    rec(f, 0x02, &ft);
    put(f, MAGIC, 8);
}
static void schema_channel(buf *o)
{
    buf s = {.n = 0};
    le(&s, 1, 2);
    str(&s, "sensor_msgs/msg/Image");
    str(&s, "ros2msg");
    le(&s, 0, 4);
    rec(o, 0x03, &s);
    buf c = {.n = 0};
    le(&c, 7, 2);
    le(&c, 1, 2);
    str(&c, "/cam/image_raw");
    str(&c, "cdr");
    le(&c, 0, 4);
    rec(o, 0x04, &c);
}
static void message(buf *o, uint16_t ch, uint64_t t, const char *data)
{
    buf m = {.n = 0};
    le(&m, ch, 2);
    le(&m, 3, 4);
    le(&m, t, 8);
    le(&m, t, 8);
    put(&m, data, strlen(data));
    rec(o, 0x05, &m);
}
static void chunk(buf *o, const char *compression, const buf *records, const void *payload, size_t plen,
                  uint32_t crc, uint64_t declared)
{
    buf c = {.n = 0};
    le(&c, 5, 8);
    le(&c, 5, 8);
    le(&c, declared, 8);
    le(&c, crc, 4);
    str(&c, compression);
    le(&c, plen, 8);
    put(&c, payload, plen);
    (void)records;
    rec(o, 0x06, &c);
}

/* Reads every record; returns the status of the last avt_mcap_next and counts Messages. */
static int read_all(const buf *f, int *messages, avt_error *err)
{
    avt_mcap_reader *r = NULL;
    int rc = avt_mcap_open_mem(f->b, f->n, "t.mcap", &r, err);
    if (rc) return rc;
    avt_mcap_record m;
    *messages = 0;
    while ((rc = avt_mcap_next(r, &m, err)) == 1)
        if (m.op == AVT_MCAP_MESSAGE) (*messages)++;
    avt_mcap_close(r);
    return rc;
}

static void test_unknown_opcode_and_extended_record(void **state)
{
    (void)state;
    buf f;
    start(&f);
    buf x = {.n = 0};
    str(&x, "private");
    rec(&f, 0x80, &x); /* application extension: skipped by length */
    schema_channel(&f);
    message(&f, 7, 5, "abc");
    /* a Channel extended by 5 bytes of a future field */
    buf c = {.n = 0};
    le(&c, 8, 2);
    le(&c, 1, 2);
    str(&c, "/x");
    str(&c, "cdr");
    le(&c, 0, 4);
    put(&c, "\1\2\3\4\5", 5);
    rec(&f, 0x04, &c);
    finish(&f);
    avt_mcap_reader *r = NULL;
    avt_error err;
    assert_int_equal(avt_mcap_open_mem(f.b, f.n, "t.mcap", &r, &err), AVT_OK);
    avt_mcap_record m;
    const char *types[16];
    int n = 0;
    while (avt_mcap_next(r, &m, &err) == 1 && n < 16) {
        types[n++] = m.type;
        if (m.op == AVT_MCAP_CHANNEL && m.f[0].u == 8) assert_memory_equal(m.f[2].p, "/x", 2);
        if (m.op == AVT_MCAP_MESSAGE) assert_memory_equal(m.f[4].p, "abc", m.f[4].n);
    }
    avt_mcap_close(r);
    assert_int_equal(n, 8); /* Header, 0x80, Schema, Channel, Message, Channel, DataEnd, Footer */
    assert_string_equal(types[1], "Unknown");
    assert_string_equal(types[5], "Channel");
    assert_string_equal(types[7], "Footer");
}

static void test_chunks(void **state)
{
    (void)state;
    buf inner = {.n = 0};
    schema_channel(&inner);
    message(&inner, 7, 5, "hello");
    uint32_t crc = (uint32_t)crc32(0, inner.b, (uInt)inner.n);
    uint8_t z[4096], l[4096];
    size_t zn = ZSTD_compress(z, sizeof z, inner.b, inner.n, 3);
    size_t ln = LZ4F_compressFrame(l, sizeof l, inner.b, inner.n, NULL);
    assert_false(ZSTD_isError(zn));
    assert_false(LZ4F_isError(ln));
    struct {
        const char *comp;
        const void *p;
        size_t n;
        uint32_t crc;
        uint64_t declared;
        int status;
        const char *msg;
    } cases[] = {
        {"", inner.b, inner.n, crc, inner.n, 0, NULL},
        {"zstd", z, zn, crc, inner.n, 0, NULL},
        {"lz4", l, ln, crc, inner.n, 0, NULL},
        {"", inner.b, inner.n, 0, inner.n, 0, NULL},                     /* CRC 0: not checked */
        {"zstd", z, zn, crc ^ 1, inner.n, AVT_FORMAT, "uncompressed_crc"},
        {"lz4", l, ln - 6, crc, inner.n, AVT_FORMAT, "lz4"},               /* frame cut */
        {"zstd", z, zn, crc, inner.n + 1, AVT_FORMAT, "zstd"},             /* size lies */
        {"", inner.b, inner.n, crc, inner.n + 1, AVT_FORMAT, "uncompressed_size"},
        {"brotli", z, zn, crc, inner.n, AVT_UNSUPPORTED, "brotli"},
        {"zstd", z, zn, crc, (uint64_t)1 << 40, AVT_UNSUPPORTED, "limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf f;
        start(&f);
        chunk(&f, cases[i].comp, &inner, cases[i].p, cases[i].n, cases[i].crc, cases[i].declared);
        finish(&f);
        avt_error err = {0, ""};
        int messages = -1;
        int rc = read_all(&f, &messages, &err);
        printf("case %zu: %d %s\n", i, rc, err.msg);
        assert_int_equal(rc, cases[i].status);
        if (rc == 0) assert_int_equal(messages, 1);
        else assert_non_null(strstr(err.msg, cases[i].msg));
    }
}

static void test_bad_structure(void **state)
{
    (void)state;
    avt_error err = {0, ""};
    int messages;
    buf f;
    /* an Attachment inside a chunk: not allowed there */
    buf inner = {.n = 0}, a = {.n = 0};
    le(&a, 1, 8);
    le(&a, 1, 8);
    str(&a, "x");
    str(&a, "y");
    le(&a, 0, 8);
    le(&a, 0, 4);
    rec(&inner, 0x09, &a);
    start(&f);
    chunk(&f, "", &inner, inner.b, inner.n, 0, inner.n);
    finish(&f);
    assert_int_equal(read_all(&f, &messages, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "inside a chunk"));
    /* a record whose length runs into the footer */
    start(&f);
    u8(&f, 0x05);
    le(&f, 1000, 8);
    finish(&f);
    assert_int_equal(read_all(&f, &messages, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "record 1 at byte 33: length runs past the Footer"));
    /* a string length past its record */
    start(&f);
    buf s = {.n = 0};
    le(&s, 1, 2);
    le(&s, 99, 4);
    rec(&f, 0x03, &s);
    finish(&f);
    assert_int_equal(read_all(&f, &messages, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "Schema.name: length 99"));
    /* no Header first */
    f.n = 0;
    put(&f, MAGIC, 8);
    message(&f, 1, 1, "x");
    finish(&f);
    assert_int_equal(read_all(&f, &messages, &err), AVT_FORMAT);
    assert_non_null(strstr(err.msg, "must be a Header"));
}

/* CDR by hand (XCDR1 7.4.1): the Header of a std_msgs/String-like message is not needed;
 * CameraInfo puts float64 at offsets aligned to 8 from the byte after the 4-byte header. */
static void test_cdr_alignment_both_orders(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        buf m = {.n = 0};
        u8(&m, 0);
        u8(&m, be ? 0 : 1);
        u8(&m, 0);
        u8(&m, 0);
#define W32(v) do { uint32_t v_ = (v); for (int i_ = 0; i_ < 4; i_++) u8(&m, (uint8_t)(be ? v_ >> (24 - 8 * i_) : v_ >> (8 * i_))); } while (0)
#define W64(d) do { double d_ = (d); uint64_t v_; memcpy(&v_, &d_, 8); for (int i_ = 0; i_ < 8; i_++) u8(&m, (uint8_t)(be ? v_ >> (56 - 8 * i_) : v_ >> (8 * i_))); } while (0)
        W32(1700000000);      /* payload 0: stamp.sec */
        W32(5);               /* 4: nanosec */
        W32(4);               /* 8: frame_id length with NUL */
        put(&m, "cam", 4);    /* 12..15 */
        W32(480);             /* 16: height */
        W32(640);             /* 20: width */
        W32(10);              /* 24: "plumb_bob" + NUL */
        put(&m, "plumb_bob", 10); /* 28..37 */
        put(&m, "\0\0", 2);   /* 38..39: align 4 */
        W32(1);               /* 40: d count */
        W32(0);               /* 44..47: align 8 for the float64 */
        W64(-0.25);           /* 48: d[0] */
        for (int i = 0; i < 9; i++) W64(i + 1.5); /* k */
        for (int i = 0; i < 9; i++) W64(0);       /* r */
        for (int i = 0; i < 12; i++) W64(0);      /* p */
        for (int i = 0; i < 6; i++) W32(0);       /* binning x y, roi x y h w */
        u8(&m, 1);                                /* do_rectify */
        avt_ros_camera_info ci;
        avt_error err;
        assert_int_equal(avt_cdr_camera_info(m.b, m.n, &ci, &err), AVT_OK);
        assert_int_equal(ci.header.stamp_ns, 1700000000000000005LL);
        assert_string_equal(ci.header.frame_id, "cam");
        assert_int_equal(ci.width, 640);
        assert_int_equal(ci.height, 480);
        assert_string_equal(ci.distortion_model, "plumb_bob");
        assert_int_equal(ci.nd, 1);
        assert_true(ci.d[0] == -0.25);
        assert_true(ci.k[8] == 9.5);
        /* cut anywhere: an error naming the type, never a read past the end */
        for (size_t cut = 0; cut < m.n; cut++)
            assert_int_not_equal(avt_cdr_camera_info(m.b, cut, &ci, &err), AVT_OK);
    }
}

/* A file cut at every length (power loss): the messages of the records wholly before the cut
 * are read, then AVT_TRUNCATED; only a cut inside the closing magic reads as complete. */
static void test_every_cut(void **state)
{
    (void)state;
    buf f, inner = {.n = 0};
    size_t msg_end[4], footer_end;
    start(&f);
    schema_channel(&f);
    for (int i = 0; i < 2; i++) {
        message(&f, 7, (uint64_t)i, "payload");
        msg_end[i] = f.n;
    }
    message(&inner, 7, 9, "in a chunk");
    uint8_t z[512];
    size_t zn = ZSTD_compress(z, sizeof z, inner.b, inner.n, 1);
    chunk(&f, "zstd", &inner, z, zn, 0, inner.n);
    msg_end[2] = f.n;
    message(&f, 7, 10, "last");
    msg_end[3] = f.n;
    finish(&f);
    footer_end = f.n - 8;
    for (size_t len = 0; len <= f.n; len++) {
        avt_error err = {0, ""};
        int messages = 0, want = 0;
        for (int i = 0; i < 4; i++) want += msg_end[i] <= len;
        buf cut;
        memcpy(cut.b, f.b, len);
        cut.n = len;
        int rc = read_all(&cut, &messages, &err);
        if (len == f.n) {
            assert_int_equal(rc, 0);
        } else if (len >= footer_end) {
            assert_int_equal(rc, 0); /* only the closing magic is missing */
        } else {
            assert_int_equal(rc, AVT_TRUNCATED);
            assert_true(len < 8 || strstr(err.msg, "without its Footer") || strstr(err.msg, "cut at byte"));
        }
        if (len >= 8) assert_int_equal(messages, want);
    }
}

/* avt_bag over an MCAP file: the topic's type is its channel's schema name; a Message on a
 * channel never defined is an error naming it. */
static void test_bag_over_mcap(void **state)
{
    (void)state;
    for (int bad = 0; bad < 2; bad++) {
        buf f;
        start(&f);
        schema_channel(&f);
        message(&f, bad ? 9 : 7, 42, "xyz");
        finish(&f);
        char path[] = "/tmp/avt-test-bag-XXXXXX.mcap";
        int fd = mkstemps(path, 5);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, f.b, f.n), (ssize_t)f.n);
        close(fd);
        avt_bag *b = NULL;
        avt_error err = {0, ""};
        assert_int_equal(avt_bag_open(path, &b, &err), AVT_OK);
        avt_bag_msg m;
        int rc = avt_bag_next(b, &m, &err);
        if (!bad) {
            assert_int_equal(rc, 1);
            size_t n;
            const avt_bag_topic *t = avt_bag_topics(b, &n);
            assert_int_equal(n, 1);
            assert_string_equal(t[m.topic].name, "/cam/image_raw");
            assert_string_equal(t[m.topic].type, "sensor_msgs/msg/Image");
            assert_string_equal(t[m.topic].encoding, "cdr");
            assert_int_equal(m.recv_ns, 42);
            assert_int_equal(m.len, 3);
            assert_memory_equal(m.data, "xyz", 3);
            assert_int_equal(avt_bag_next(b, &m, &err), 0);
        } else {
            assert_int_equal(rc, AVT_FORMAT);
            assert_non_null(strstr(err.msg, "channel 9 not defined"));
        }
        avt_bag_close(b);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_opcode_and_extended_record),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_bad_structure),
        cmocka_unit_test(test_cdr_alignment_both_orders),
        cmocka_unit_test(test_bag_over_mcap),
        cmocka_unit_test(test_every_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
