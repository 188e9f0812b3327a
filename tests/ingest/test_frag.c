/* Unit tests of IPv4 reassembly (ingest/pcap.c): hand-built fragments in order, reversed,
 * duplicated, overlapping with other bytes, missing the last one, timed out, too many at
 * once; and a real Ouster packet cut into 1500-byte-MTU fragments inside a capture, which
 * must decode to the same points as the unfragmented capture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ingest.h"
#include "ingest_private.h"

#define DG_LEN 4000 /* IP payload of the test datagram: UDP header + 3992 bytes */

static uint8_t DG[DG_LEN];

static void make_dg(void)
{
    for (size_t i = 0; i < DG_LEN; i++) DG[i] = (uint8_t)(i * 7 + 3);
    /* UDP header: ports 7502 -> 7502, length DG_LEN */
    DG[0] = 0x1d, DG[1] = 0x4e, DG[2] = 0x1d, DG[3] = 0x4e;
    DG[4] = (uint8_t)(DG_LEN >> 8), DG[5] = (uint8_t)DG_LEN, DG[6] = DG[7] = 0;
}

static avt_udp_frame frag(uint16_t id, size_t off, size_t n, int more, const uint8_t *bytes)
{
    avt_udp_frame f;
    memset(&f, 0, sizeof f);
    f.kind = AVT_FRAME_FRAGMENT;
    f.frag_src = 0x0a000001u;
    f.frag_dst = 0x0a000002u;
    f.frag_id = id;
    f.frag_proto = 17;
    f.frag_off = off;
    f.frag_more = more;
    f.payload = bytes ? bytes : DG + off;
    f.len = n;
    return f;
}

/* Offers fragments [off, off+n) of DG with the given order; returns 1 if the last completes
 * it and the bytes equal DG. */
static int offer(avt_frag_table *t, avt_frag_stats *st, const size_t (*pieces)[2], int np,
                 uint16_t id, int64_t t0, int64_t step_ns)
{
    int done = 0;
    for (int i = 0; i < np; i++) {
        const uint8_t *d = NULL;
        size_t n = 0;
        avt_udp_frame f = frag(id, pieces[i][0], pieces[i][1],
                               pieces[i][0] + pieces[i][1] < DG_LEN, NULL);
        int rc = avt_frag_add(t, st, &f, t0 + i * step_ns, &d, &n);
        if (rc == 1) done = n == DG_LEN && memcmp(d, DG, DG_LEN) == 0 ? 1 : -1;
    }
    return done;
}

static const size_t IN_ORDER[3][2] = {{0, 1480}, {1480, 1480}, {2960, 1040}};
static const size_t REVERSED[3][2] = {{2960, 1040}, {1480, 1480}, {0, 1480}};

static void test_in_order_and_reversed(void **state)
{
    (void)state;
    avt_frag_table t = {0};
    avt_frag_stats st = {0};
    make_dg();
    assert_int_equal(offer(&t, &st, IN_ORDER, 3, 1, 0, 1000), 1);
    assert_int_equal(offer(&t, &st, REVERSED, 3, 2, 0, 1000), 1);
    assert_int_equal(st.reassembled, 2);
    assert_int_equal(st.fragments, 6);
    assert_int_equal(st.dropped + st.overlaps + st.duplicates, 0);
    assert_int_equal(t.active, 0);
    avt_frag_free(&t);
}

static void test_duplicate_and_consistent_overlap(void **state)
{
    (void)state;
    avt_frag_table t = {0};
    avt_frag_stats st = {0};
    /* the middle fragment twice, then one overlapping two others with the same bytes */
    static const size_t P[5][2] = {{0, 1480}, {1480, 1480}, {1480, 1480}, {1000, 2000}, {2960, 1040}};
    make_dg();
    assert_int_equal(offer(&t, &st, P, 5, 3, 0, 1000), 1);
    assert_int_equal(st.duplicates, 1); /* the overlap adds bytes 2960..2999: not a duplicate */
    assert_int_equal(st.overlaps, 0);
    avt_frag_free(&t);
}

static void test_inconsistent_overlap(void **state)
{
    (void)state;
    avt_frag_table t = {0};
    avt_frag_stats st = {0};
    uint8_t other[1480];
    const uint8_t *d;
    size_t n;
    make_dg();
    memcpy(other, DG + 1480, sizeof other);
    other[100] ^= 0xff; /* one byte differs from what the first copy said */
    avt_udp_frame f0 = frag(4, 0, 1480, 1, NULL), f1 = frag(4, 1480, 1480, 1, NULL),
                  f1x = frag(4, 1480, 1480, 1, other), f2 = frag(4, 2960, 1040, 0, NULL);
    assert_int_equal(avt_frag_add(&t, &st, &f0, 0, &d, &n), 0);
    assert_int_equal(avt_frag_add(&t, &st, &f1, 1, &d, &n), 0);
    assert_int_equal(avt_frag_add(&t, &st, &f1x, 2, &d, &n), 0);
    assert_int_equal(st.overlaps, 1);
    assert_int_equal(st.dropped, 3); /* the datagram's two fragments and the offender */
    /* the last fragment now starts a new datagram that never completes */
    assert_int_equal(avt_frag_add(&t, &st, &f2, 3, &d, &n), 0);
    assert_int_equal(st.reassembled, 0);
    /* a last fragment that disagrees with the known end */
    avt_udp_frame g0 = frag(5, 2960, 1040, 0, NULL), g1 = frag(5, 2960, 1048, 0, NULL);
    assert_int_equal(avt_frag_add(&t, &st, &g0, 4, &d, &n), 0);
    assert_int_equal(avt_frag_add(&t, &st, &g1, 5, &d, &n), 0);
    assert_int_equal(st.overlaps, 2);
    /* a non-last fragment that is not whole 8-byte blocks, one past 65515 bytes */
    avt_udp_frame h0 = frag(6, 0, 1479, 1, NULL), h1 = frag(6, 65512, 8, 0, DG);
    uint64_t dropped = st.dropped;
    assert_int_equal(avt_frag_add(&t, &st, &h0, 6, &d, &n), 0);
    assert_int_equal(avt_frag_add(&t, &st, &h1, 7, &d, &n), 0);
    assert_int_equal(st.dropped, dropped + 2);
    avt_frag_free(&t);
}

static void test_missing_last_and_timeout(void **state)
{
    (void)state;
    avt_frag_table t = {0};
    avt_frag_stats st = {0};
    make_dg();
    /* missing last: never completes, given up after the timeout */
    assert_int_equal(offer(&t, &st, IN_ORDER, 2, 7, 0, 1000), 0);
    assert_int_equal(t.active, 1);
    avt_frag_expire(&t, &st, AVT_FRAG_TIMEOUT_NS);
    assert_int_equal(t.active, 1); /* not older than the timeout yet */
    avt_frag_expire(&t, &st, AVT_FRAG_TIMEOUT_NS + 1);
    assert_int_equal(t.active, 0);
    assert_int_equal(st.dropped, 2);
    /* fragments 1.5 s apart: the first expires before the last comes */
    assert_int_equal(offer(&t, &st, IN_ORDER, 3, 8, 0, 750000000), 0);
    assert_int_equal(st.reassembled, 0);
    avt_frag_free(&t);
}

static void test_table_full(void **state)
{
    (void)state;
    avt_frag_table t = {0};
    avt_frag_stats st = {0};
    make_dg();
    /* first fragments of more datagrams than the table holds: the oldest are given up */
    for (int i = 0; i < AVT_FRAG_MAX_DATAGRAMS + 3; i++)
        assert_int_equal(offer(&t, &st, IN_ORDER, 1, (uint16_t)(100 + i), i, 0), 0);
    assert_int_equal(t.active, AVT_FRAG_MAX_DATAGRAMS);
    assert_int_equal(st.dropped, 3);
    /* the newest still completes */
    static const size_t REST[2][2] = {{1480, 1480}, {2960, 1040}};
    assert_int_equal(offer(&t, &st, REST, 2, 100 + AVT_FRAG_MAX_DATAGRAMS + 2, 50, 1), 1);
    avt_frag_free(&t);
}

/* ---- a real Ouster packet, fragmented inside a capture ---- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *v, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n);
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}
static void le32(uint8_t *q, uint32_t v)
{
    for (int i = 0; i < 4; i++) q[i] = (uint8_t)(v >> (8 * i));
}
static void be16(uint8_t *q, uint16_t v) { q[0] = (uint8_t)(v >> 8), q[1] = (uint8_t)v; }

/* Writes the UDP datagram (payload pl) as raw-IPv4 records of at most mtu bytes, in the
 * given fragment order (0 = in order, 1 = reversed). */
static void write_fragmented(buf *b, const uint8_t *pl, size_t len, size_t mtu, int reversed,
                             uint32_t t_s)
{
    size_t ip_len = len + 8, step = (mtu - 20) / 8 * 8, nfrag = (ip_len + step - 1) / step;
    uint8_t *dg = calloc(1, ip_len);
    assert_non_null(dg);
    be16(dg, 7502), be16(dg + 2, 7502), be16(dg + 4, (uint16_t)ip_len);
    memcpy(dg + 8, pl, len);
    for (size_t i = 0; i < nfrag; i++) {
        size_t k = reversed ? nfrag - 1 - i : i, off = k * step;
        size_t n = ip_len - off < step ? ip_len - off : step;
        uint8_t rec[16], ip[20] = {0x45};
        le32(rec, t_s), le32(rec + 4, (uint32_t)i);
        le32(rec + 8, (uint32_t)(20 + n)), le32(rec + 12, (uint32_t)(20 + n));
        be16(ip + 2, (uint16_t)(20 + n));
        be16(ip + 4, 0x1234);
        be16(ip + 6, (uint16_t)((k + 1 < nfrag ? 0x2000 : 0) | (off / 8)));
        ip[8] = 64, ip[9] = 17;
        le32(ip + 12, 0x0100007f), le32(ip + 16, 0x0100007f);
        put(b, rec, 16), put(b, ip, 20), put(b, dg + off, n);
    }
    free(dg);
}

static size_t decode_points(const uint8_t *cap, size_t len, const char *meta, uint64_t *reass)
{
    avt_lidar_config cfg;
    avt_error err = {0};
    const avt_sweep *s;
    size_t n = 0;
    avt_lidar_config_default(&cfg);
    cfg.metadata_path = meta;
    avt_lidar_reader *r = avt_lidar_open_mem(cap, len, "frag.pcap", &cfg, &err);
    if (!r) fail_msg("%s", err.msg);
    while (avt_lidar_next(r, &s, &err) == 1) n += s->n;
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    *reass = st.reassembled;
    avt_lidar_close(r);
    return n;
}

static void test_ouster_fragmented(void **state)
{
    (void)state;
    const char *pcap = AVT_SHARED_DATA "/ouster/OS-0-32-U1_v2.2.0_1024x10-single-packet.pcap";
    const char *meta = AVT_SHARED_DATA "/ouster/OS-0-32-U1_v2.2.0_1024x10.json";
    avt_pcap_src src;
    avt_udp_frame f;
    avt_error err;
    FILE *fp = fopen(pcap, "rb");
    if (!fp) skip();
    fclose(fp);
    assert_int_equal(avt_pcap_src_open(&src, pcap, NULL, 0, "ref", &err), AVT_OK);
    assert_int_equal(avt_pcap_src_next(&src, &f, &err), 1);
    assert_int_equal(f.kind, AVT_FRAME_UDP);
    assert_int_equal(f.len, 8448);
    uint8_t *pl = malloc(f.len);
    size_t len = f.len;
    memcpy(pl, f.payload, len);
    avt_pcap_src_close(&src);

    uint64_t reass = 0;
    buf whole = {0}, frag_in = {0}, frag_rev = {0};
    uint8_t gh[24] = {0};
    le32(gh, 0xa1b2c3d4u), gh[4] = 2, gh[6] = 4, le32(gh + 16, 65535), le32(gh + 20, 101);
    put(&whole, gh, 24), put(&frag_in, gh, 24), put(&frag_rev, gh, 24);
    write_fragmented(&whole, pl, len, 65535, 0, 1635444808);
    write_fragmented(&frag_in, pl, len, 1500, 0, 1635444808);
    write_fragmented(&frag_rev, pl, len, 1500, 1, 1635444808);
    size_t n_whole = decode_points(whole.p, whole.n, meta, &reass);
    assert_int_equal(reass, 0);
    assert_int_equal(n_whole, 223); /* the reference decode's count for this packet */
    assert_int_equal(decode_points(frag_in.p, frag_in.n, meta, &reass), n_whole);
    assert_int_equal(reass, 1);
    assert_int_equal(decode_points(frag_rev.p, frag_rev.n, meta, &reass), n_whole);
    assert_int_equal(reass, 1);
    free(whole.p), free(frag_in.p), free(frag_rev.p), free(pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_reversed),
        cmocka_unit_test(test_duplicate_and_consistent_overlap),
        cmocka_unit_test(test_inconsistent_overlap),
        cmocka_unit_test(test_missing_last_and_timeout),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_ouster_fragmented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
