/* Every truncation of a valid capture ends cleanly or fails cleanly: real captures of
 * ../shared/data cut in their file header, in and around their first records, in and around their
 * last record (every byte of it in the Velodyne pcap) and at a stride over the whole file (HEAD_BYTES below says which lengths
 * and why), each prefix decoded to its end. Captures: a Velodyne classic pcap, the same
 * rewritten as pcapng, and an Ouster pcap whose lidar datagram the test splits into IPv4
 * fragments of a 1500-byte MTU.
 *
 * A prefix cut in the file header fails (open or the first read), naming the capture. Any
 * other prefix of k whole records decodes exactly as those k records alone (the prefix cut
 * back to the last record boundary): the same status, message and sweeps, so no point comes
 * from a partial record and none of the whole records' is lost (a power loss cuts the last
 * record; tcpdump and Wireshark read up to it). A cut inside record k + 1 is reported in the
 * reader's statistics: truncated_record k + 1, truncated_byte the prefix's length. Damage
 * followed by more data (bytes missing inside a middle record) stays an error naming the
 * record. ASan/UBSan see the rest: every prefix is copied into a buffer of its exact size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ingest.h"
#include "pcapng_write.h"
#include "synth_private.h"

#define MAX_SWEEPS 16
#define MAX_RECORDS 1024

/* Which lengths are cut. Opening a reader costs 0.4 ms (Velodyne) to 2.4 ms (Ouster, its
 * pixel table) in a Debug build and 3 to 7 ms under ASan, so every byte of many records does
 * not fit the test's time (15 s under ASan): the lengths are chosen where cuts differ. Inside
 * a record's data every cut fails alike (libpcap reads the record or block header, then all
 * of its captured bytes in one read, before any parser sees them); cuts differ inside the
 * file header, at each record boundary, inside the record (or EPB) header and the link,
 * IPv4 and UDP headers behind it (HEAD_BYTES: 16 + 14 + 20 + 8 = 58 for pcap, 28 + 42 = 70
 * for pcapng), and in the pcapng block's padding and trailing length (TAIL_BYTES). So:
 * every byte of the file header; for each of the first records (with Ouster, every fragment
 * of a datagram), every byte of its first HEAD_BYTES and last TAIL_BYTES; and every stride
 * bytes over the whole file, which samples record data and the later records (other sweeps,
 * position packets, the last record). The stride is odd, so its cuts fall at ever other places
 * of records of even length. */
#define HEAD_BYTES 72
#define TAIL_BYTES 8

/* What a prefix decoded to: one fingerprint per sweep, the final status and message, and the
 * truncation the reader reported. */
typedef struct outcome {
    int open_ok, rc; /* rc: avt_lidar_next's last status, or the open error's code */
    size_t sweeps;
    uint64_t fp[MAX_SWEEPS];
    char msg[AVT_ERROR_MAX];
    uint64_t cut_record, cut_byte;
    char cut_msg[320];
} outcome;

/* FNV-1a over the sweep's size, times and coordinates (as 32-bit words). */
static uint64_t fingerprint(const avt_sweep *s)
{
    uint64_t h = 1469598103934665603ULL;
    const uint64_t head[4] = {s->n, (uint64_t)s->start_ns, (uint64_t)s->end_ns, s->packets};
    for (int i = 0; i < 4; i++) h = (h ^ head[i]) * 1099511628211ULL;
    for (size_t i = 0; i < 3 * s->n; i++) {
        uint32_t w;
        memcpy(&w, &s->xyz[i], 4);
        h = (h ^ w) * 1099511628211ULL;
    }
    return h;
}

/* A capture and how to sweep its prefixes. */
typedef struct capture {
    const char *name; /* the name given to the reader: every error must carry it */
    const uint8_t *data;
    size_t len;
    const char *model, *meta;
    size_t ends[MAX_RECORDS + 1]; /* ends[0]: end of the file header; ends[k]: of record k */
    size_t nrec;
    int every_last; /* every byte of the last record is cut, else as those of the first */
    outcome whole[MAX_RECORDS + 1]; /* decode of the first k records, once known */
    int known[MAX_RECORDS + 1];
} capture;

static void decode(const capture *c, size_t len, outcome *o)
{
    avt_lidar_config cfg;
    avt_error err = {0};
    const avt_sweep *s;
    avt_lidar_config_default(&cfg);
    cfg.model = c->model;
    cfg.metadata_path = c->meta;
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
    assert_non_null(copy);
    memcpy(copy, c->data, len);
    memset(o, 0, sizeof *o);
    avt_lidar_reader *r = avt_lidar_open_mem(copy, len, c->name, &cfg, &err);
    o->open_ok = r != NULL;
    if (!r) {
        o->rc = err.code;
        snprintf(o->msg, sizeof o->msg, "%s", err.msg);
        free(copy);
        return;
    }
    while ((o->rc = avt_lidar_next(r, &s, &err)) == 1) {
        if (o->sweeps == MAX_SWEEPS) fail_msg("%s: over %d sweeps", c->name, MAX_SWEEPS);
        o->fp[o->sweeps++] = fingerprint(s);
    }
    if (o->rc < 0) snprintf(o->msg, sizeof o->msg, "%s", err.msg);
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    o->cut_record = st.truncated_record;
    o->cut_byte = st.truncated_byte;
    snprintf(o->cut_msg, sizeof o->cut_msg, "%s", st.truncated);
    avt_lidar_close(r);
    free(copy);
}

/* Record ends of a classic little-endian pcap (pcapng == 0) or of the pcapng of to_pcapng. */
static void find_records(capture *c, int pcapng)
{
    size_t off = pcapng ? PCAPNG_HEADER_BYTES : 24;
    c->nrec = 0;
    c->ends[0] = off;
    while (off < c->len) {
        uint32_t n;
        memcpy(&n, c->data + off + (pcapng ? 4 : 8), 4); /* block total / caplen (host = LE) */
        off += pcapng ? n : 16 + (size_t)n;
        assert_true(off <= c->len && c->nrec < MAX_RECORDS);
        c->ends[++c->nrec] = off;
    }
}

/* Checks one prefix of `len` bytes; returns 1 if it ended cleanly. */
static int check_prefix(capture *c, size_t len)
{
    outcome o;
    decode(c, len, &o);
    size_t k = 0; /* whole records in the prefix */
    while (k < c->nrec && c->ends[k + 1] <= len) k++;
    if (len < c->ends[0]) { /* in the file header */
        if (o.open_ok && o.rc == 0) return 1; /* (no such prefix has a valid header) */
        if (!strstr(o.msg, c->name))
            fail_msg("%s cut at %zu: message names no file: \"%s\"", c->name, len, o.msg);
        if (o.rc != AVT_TRUNCATED && o.rc != AVT_FORMAT)
            fail_msg("%s cut at %zu: status %d in the file header", c->name, len, o.rc);
        return 0;
    }
    /* the whole records alone: the prefix cut back to ends[k] */
    if (!c->known[k]) {
        decode(c, c->ends[k], &c->whole[k]);
        c->known[k] = 1;
    }
    const outcome *w = &c->whole[k];
    if (w->cut_record) fail_msg("%s: %zu whole records reported as cut", c->name, k);
    if (o.open_ok != w->open_ok || o.rc != w->rc || strcmp(o.msg, w->msg) != 0)
        fail_msg("%s cut at %zu: status %d \"%s\", its %zu whole records give %d \"%s\"",
                 c->name, len, o.rc, o.msg, k, w->rc, w->msg);
    if (o.sweeps != w->sweeps)
        fail_msg("%s cut at %zu: %zu sweeps, its %zu whole records give %zu", c->name, len,
                 o.sweeps, k, w->sweeps);
    for (size_t i = 0; i < o.sweeps; i++)
        if (o.fp[i] != w->fp[i])
            fail_msg("%s cut at %zu: sweep %zu differs from that of its %zu whole records",
                     c->name, len, i, k);
    if (len == c->ends[k]) {
        if (o.cut_record || o.cut_msg[0])
            fail_msg("%s cut at record boundary %zu reported as truncated", c->name, len);
    } else if (o.open_ok) {
        /* "truncated at record N, byte B", N the cut record, B the file's length */
        char want[96];
        snprintf(want, sizeof want, "truncated at record %zu, byte %zu", k + 1, len);
        if (o.cut_record != k + 1 || o.cut_byte != len || !strstr(o.cut_msg, want) ||
            !strstr(o.cut_msg, c->name))
            fail_msg("%s cut at %zu: truncation reported as record %llu, byte %llu (\"%s\"), "
                     "want \"%s\"",
                     c->name, len, (unsigned long long)o.cut_record,
                     (unsigned long long)o.cut_byte, o.cut_msg, want);
    }
    return o.rc == 0;
}

/* 1 if a prefix of len bytes is cut (see HEAD_BYTES above). */
static int is_cut(const capture *c, size_t dense, size_t stride, size_t len)
{
    if (len <= c->ends[0] || len % stride == 0 || (c->every_last && len >= c->ends[c->nrec - 1]))
        return 1;
    if (len >= c->ends[c->nrec - 1] &&
        (len < c->ends[c->nrec - 1] + HEAD_BYTES || len + TAIL_BYTES >= c->ends[c->nrec]))
        return 1;
    for (size_t k = 0; k < dense; k++)
        if ((len >= c->ends[k] && len < c->ends[k] + HEAD_BYTES) ||
            (len + TAIL_BYTES >= c->ends[k + 1] && len <= c->ends[k + 1]))
            return 1;
    return 0;
}

/* Cuts the file header, the first `dense` records, the last record (every byte of it with
 * every_last) and about `spread` lengths over the whole file, and the whole file, which must
 * end cleanly. */
static void sweep_prefixes(capture *c, size_t dense, size_t spread)
{
    assert_true(dense <= c->nrec);
    const size_t stride = (c->len / spread) | 1;
    size_t lengths = 0, clean = 0;
    for (size_t len = 0; len < c->len; len++) {
        if (!is_cut(c, dense, stride, len)) continue;
        clean += (size_t)check_prefix(c, len);
        lengths++;
    }
    assert_int_equal(check_prefix(c, c->len), 1);
    clean++, lengths++;
    print_message("%s: %zu bytes, %zu records; %zu lengths (header, %zu records, the last, every %zu): "
                  "%zu clean ends, %zu errors\n",
                  c->name, c->len, c->nrec, lengths, dense, stride, clean, lengths - clean);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    char *data = NULL;
    avt_error err = {0};
    if (avt_read_file(path, 1 << 24, &data, n, &err) != AVT_OK) {
        print_message("SKIP: %s (the real captures are in ../shared/data)\n", err.msg);
        return NULL;
    }
    return (uint8_t *)data;
}

static capture CAP; /* large: not on the stack */

static void test_velodyne_pcap(void **state)
{
    (void)state;
    size_t n;
    uint8_t *data = slurp(AVT_SHARED_DATA "/velodyne/vlp16_strongest_2014.pcap", &n);
    if (!data) skip();
    memset(&CAP, 0, sizeof CAP);
    /* the 2014 VLP-16 reports the HDL-32E product byte: name the model */
    CAP.name = "vlp16_strongest_2014.pcap", CAP.data = data, CAP.len = n, CAP.model = "vlp16";
    CAP.every_last = 1; /* a power loss: every cut of the last record (1264 bytes) */
    find_records(&CAP, 0);
    sweep_prefixes(&CAP, 4, 200);
    free(data);
}

static void test_velodyne_pcapng(void **state)
{
    (void)state;
    size_t n, ng_n;
    uint8_t *data = slurp(AVT_SHARED_DATA "/velodyne/vlp16_strongest_2014.pcap", &n);
    if (!data) skip();
    uint8_t *ng = to_pcapng(data, n, &ng_n);
    memset(&CAP, 0, sizeof CAP);
    CAP.name = "vlp16_strongest_2014.pcapng", CAP.data = ng, CAP.len = ng_n;
    CAP.model = "vlp16";
    find_records(&CAP, 1);
    sweep_prefixes(&CAP, 4, 200);
    free(ng);
    free(data);
}

/* Bytes missing inside a middle record, the rest of the file intact: the damage is followed by
 * more data, so it is no power loss and stays an error naming the capture and a record at or
 * after the damaged one, whatever the length lost. */
static void test_velodyne_hole(void **state)
{
    (void)state;
    size_t n;
    uint8_t *data = slurp(AVT_SHARED_DATA "/velodyne/vlp16_strongest_2014.pcap", &n);
    if (!data) skip();
    memset(&CAP, 0, sizeof CAP);
    CAP.name = "vlp16_strongest_2014-hole.pcap", CAP.model = "vlp16";
    CAP.data = data, CAP.len = n;
    find_records(&CAP, 0);
    const size_t m = CAP.nrec / 2; /* record m + 1 loses bytes */
    const size_t holes[] = {1, 7, 16, 100, 1000};
    uint8_t *cut = malloc(n);
    assert_non_null(cut);
    for (size_t h = 0; h < sizeof holes / sizeof holes[0]; h++) {
        const size_t at = CAP.ends[m] + 16 + 600; /* inside the record's data */
        memcpy(cut, data, at);
        memcpy(cut + at, data + at + holes[h], n - at - holes[h]);
        capture hole = {.name = CAP.name, .model = "vlp16", .data = cut, .len = n - holes[h]};
        outcome o;
        decode(&hole, hole.len, &o);
        print_message("%zu bytes missing in record %zu: status %d \"%s\"\n", holes[h], m + 1,
                      o.rc, o.msg);
        assert_true(o.open_ok);
        assert_true(o.rc < 0);
        assert_non_null(strstr(o.msg, CAP.name));
        const char *r = strstr(o.msg, "record ");
        assert_non_null(r);
        assert_true(strtoull(r + 7, NULL, 10) >= m + 1);
        assert_int_equal(o.cut_record, 0);
    }
    free(cut);
    free(data);
}

/* The Ouster capture with every datagram larger than the MTU sent as IPv4 fragments, in
 * order, with its record's time (as the sensor's network stack sends them). */
static uint8_t *fragment_capture(const uint8_t *in, size_t n, size_t *out_n)
{
    enum { MTU = 1500 };
    uint8_t *out = malloc(2 * n), frag[14 + MTU];
    assert_non_null(out);
    memcpy(out, in, 24);
    size_t o = 24;
    for (size_t i = 24; i + 16 <= n;) {
        uint32_t caplen;
        memcpy(&caplen, in + i + 8, 4);
        const uint8_t *frame = in + i + 16;
        size_t k = 0, fn;
        if (caplen <= 14 + MTU) { /* whole, as it was */
            memcpy(out + o, in + i, 16 + caplen);
            o += 16 + caplen;
        }
        while (caplen > 14 + MTU && (fn = synth_ipv4_fragment(frame, caplen, MTU, k++, frag))) {
            const uint32_t len32 = (uint32_t)fn;
            assert_true(o + 16 + fn <= 2 * n);
            memcpy(out + o, in + i, 8); /* the record's time */
            memcpy(out + o + 8, &len32, 4), memcpy(out + o + 12, &len32, 4);
            memcpy(out + o + 16, frag, fn);
            o += 16 + fn;
        }
        i += 16 + caplen;
    }
    *out_n = o;
    return out;
}

static void test_ouster_fragmented(void **state)
{
    (void)state;
    size_t n, fr_n;
    const char *meta = AVT_SHARED_DATA "/ouster/OS-0-32-U1_v2.2.0_1024x10.json";
    uint8_t *data =
        slurp(AVT_SHARED_DATA "/ouster/OS-0-32-U1_v2.2.0_1024x10-single-packet.pcap", &n);
    if (!data) skip();
    FILE *fp = fopen(meta, "rb");
    if (!fp) {
        print_message("SKIP: %s missing\n", meta);
        free(data);
        skip();
    }
    fclose(fp);
    uint8_t *fr = fragment_capture(data, n, &fr_n);
    memset(&CAP, 0, sizeof CAP);
    CAP.name = "OS-0-32-U1_v2.2.0_1024x10-fragmented.pcap", CAP.data = fr, CAP.len = fr_n;
    CAP.model = "ouster", CAP.meta = meta;
    find_records(&CAP, 0);
    /* its one 8448-byte payload: 6 fragments, all cut near their boundaries */
    assert_int_equal(CAP.nrec, 6);
    assert_int_equal(CAP.ends[1] - CAP.ends[0], 16 + 14 + 1500);
    sweep_prefixes(&CAP, 6, 200);
    /* the whole fragmented capture decodes as the original: the fragments were reassembled */
    outcome a, b;
    decode(&CAP, CAP.len, &a);
    CAP.data = data, CAP.len = n;
    decode(&CAP, n, &b);
    assert_int_equal(a.rc, 0);
    assert_true(a.sweeps >= 1);
    assert_int_equal(a.sweeps, b.sweeps);
    assert_memory_equal(a.fp, b.fp, a.sweeps * sizeof a.fp[0]);
    free(fr);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_velodyne_pcap),
        cmocka_unit_test(test_velodyne_pcapng),
        cmocka_unit_test(test_velodyne_hole),
        cmocka_unit_test(test_ouster_fragmented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
