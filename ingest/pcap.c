/* Capture reading: pcap/pcapng records (libpcap) to IPv4/UDP payloads.
 *
 * Follows the link-layer header types registry (tcpdump.org/linktypes.html), RFC 791 (IPv4)
 * and RFC 768 (UDP). Every header is read through a bounded cursor and every declared length
 * is checked against the bytes actually captured:
 *
 *   Ethernet   dst(6) src(6) [0x8100|0x88a8|0x9100 tci(2)]* ethertype(2)   DLT_EN10MB
 *   Linux SLL  type(2) arphrd(2) alen(2) addr(8) protocol(2)               DLT_LINUX_SLL
 *   Linux SLL2 protocol(2) rsvd(2) ifindex(4) arphrd(2) type(1) alen(1) addr(8)  DLT_LINUX_SLL2
 *   null/loop  family(4, host or network order; 2 = AF_INET)              DLT_NULL, DLT_LOOP
 *   raw        IPv4 header directly                                        DLT_RAW, DLT_IPV4
 *
 *   IPv4:  ver|ihl(1) tos(1) total_len(2) id(2) flags|frag_off(2) ttl(1) proto(1) ...
 *          ihl*4 <= total_len <= captured; proto 17 = UDP; MF or offset != 0 = fragment
 *   UDP:   src_port(2) dst_port(2) length(2) checksum(2) payload(length - 8)
 *
 * IPv4 fragments of UDP datagrams (Ouster lidar packets are 8-25 KB and arrive fragmented
 * over a 1500-byte MTU) are reassembled (RFC 791 section 3.2; limits in ingest_private.h):
 *
 *   flags|frag_off: [0|DF|MF| offset in 8-byte units (13 bits)]
 *   fragment k carries IP payload bytes [8*offset, 8*offset + len); all but the last (MF = 0)
 *   carry a multiple of 8 bytes; the first holds the UDP header.
 *
 * A record that does not complete a datagram is reported as AVT_FRAME_FRAGMENT; the one that
 * completes it as AVT_FRAME_UDP with the reassembled payload (borrowed until the next
 * record). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ingest_private.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

#define ETHERTYPE_IPV4 0x0800u

static void frame_bad(avt_udp_frame *f, const char *why)
{
    f->kind = AVT_FRAME_BAD;
    snprintf(f->why, sizeof f->why, "%s", why);
}

/* Parses an IPv4 packet at c's position (up to the end of the captured bytes). */
static void parse_ipv4(avt_cursor *c, avt_udp_frame *f)
{
    size_t start = c->pos;
    size_t avail = avt_cursor_left(c);
    uint8_t vihl = avt_get_u8(c);
    avt_cursor_skip(c, 1);
    uint16_t total_len = avt_get_be16(c);
    avt_cursor_skip(c, 2);
    uint16_t frag = avt_get_be16(c);
    avt_cursor_skip(c, 1);
    uint8_t proto = avt_get_u8(c);
    if (c->bad) {
        frame_bad(f, "IPv4 header cut short by the capture");
        return;
    }
    if ((vihl >> 4) != 4) {
        f->kind = AVT_FRAME_OTHER;
        return;
    }
    size_t ihl = (size_t)(vihl & 0x0f) * 4;
    if (ihl < 20 || ihl > total_len) {
        snprintf(f->why, sizeof f->why, "IPv4 header length %zu with total length %u", ihl,
                 (unsigned)total_len);
        f->kind = AVT_FRAME_BAD;
        return;
    }
    if (proto != 17) {
        f->kind = AVT_FRAME_OTHER;
        return;
    }
    if (total_len > avail) {
        /* cut by the capture's snap length: still a datagram of its port (counted corrupt
         * there, not skipped as other traffic) when its UDP header was captured */
        if ((frag & 0x1fffu) == 0 && avail >= ihl + 4) {
            avt_cursor u = avt_cursor_make(c->p + start + ihl, 4);
            f->src_port = avt_get_be16(&u);
            f->dst_port = avt_get_be16(&u);
            f->ports_known = 1;
        }
        snprintf(f->why, sizeof f->why, "IPv4 total length %u but only %zu bytes captured",
                 (unsigned)total_len, avail);
        f->kind = AVT_FRAME_BAD;
        return;
    }
    c->pos = start + 12;
    f->src_addr = avt_get_be32(c);
    f->addr_known = !c->bad;
    if (frag & 0x3fffu) {
        c->pos = start + 12;
        f->frag_src = avt_get_be32(c);
        f->frag_dst = avt_get_be32(c);
        c->pos = start + 4;
        f->frag_id = avt_get_be16(c);
        if (c->bad) {
            frame_bad(f, "IPv4 header cut short by the capture");
            return;
        }
        f->frag_proto = proto;
        f->frag_more = (frag & 0x2000u) != 0;
        f->frag_off = (size_t)(frag & 0x1fffu) * 8;
        f->kind = AVT_FRAME_FRAGMENT;
        f->payload = c->p + start + ihl;
        f->len = (size_t)total_len - ihl;
        return;
    }
    avt_udp_parse(c->p + start + ihl, (size_t)total_len - ihl, f);
}

void avt_udp_parse(const uint8_t *p, size_t n, avt_udp_frame *f)
{
    avt_cursor c = avt_cursor_make(p, n);
    f->src_port = avt_get_be16(&c);
    f->dst_port = avt_get_be16(&c);
    uint16_t udp_len = avt_get_be16(&c);
    avt_cursor_skip(&c, 2);
    if (c.bad) {
        frame_bad(f, "UDP header cut short");
        return;
    }
    f->ports_known = 1;
    /* a reassembled datagram may exceed 65535 - 8 only if the fragments lie; udp_len says */
    if (udp_len < 8 || udp_len > n) {
        snprintf(f->why, sizeof f->why, "UDP length %u with %zu bytes of IPv4 payload",
                 (unsigned)udp_len, n);
        f->kind = AVT_FRAME_BAD;
        return;
    }
    f->kind = AVT_FRAME_UDP;
    f->payload = p + 8;
    f->len = (size_t)udp_len - 8;
}

#define PCAP_IOBUF_BYTES (1u << 20)

/* ---- IPv4 reassembly ---- */

#define FRAG_BLOCKS ((AVT_FRAG_MAX_PAYLOAD + 7) / 8)

static int bit_get(const uint8_t *bm, size_t k) { return (bm[k >> 3] >> (k & 7)) & 1; }

/* Set bits of bm in [k0, k1), a byte at a time in the middle. */
static size_t bits_count(const uint8_t *bm, size_t k0, size_t k1)
{
    size_t n = 0;
    for (; k0 < k1 && (k0 & 7); k0++) n += (size_t)bit_get(bm, k0);
    for (; k0 + 8 <= k1; k0 += 8)
        if (bm[k0 >> 3]) n += (size_t)__builtin_popcount(bm[k0 >> 3]); /* mostly 0 */
    for (; k0 < k1; k0++) n += (size_t)bit_get(bm, k0);
    return n;
}

static void bits_set(uint8_t *bm, size_t k0, size_t k1)
{
    for (; k0 < k1 && (k0 & 7); k0++) bm[k0 >> 3] |= (uint8_t)(1u << (k0 & 7));
    if (k0 + 8 <= k1) memset(bm + (k0 >> 3), 0xff, (k1 - k0) >> 3);
    for (k0 += (k1 - k0) & ~(size_t)7; k0 < k1; k0++) bm[k0 >> 3] |= (uint8_t)(1u << (k0 & 7));
}

static void slot_drop(avt_frag_table *t, avt_frag_slot *s, avt_frag_stats *st, uint32_t extra)
{
    st->dropped += s->nfrags + extra;
    s->used = 0;
    t->active--;
}

void avt_frag_expire(avt_frag_table *t, avt_frag_stats *st, int64_t now_ns)
{
    /* called for every record: the slots are only looked at when one may have timed out */
    if (!t->active || now_ns <= t->expire_at) return;
    t->expire_at = INT64_MAX;
    for (int i = 0; i < AVT_FRAG_MAX_DATAGRAMS; i++) {
        avt_frag_slot *s = &t->slot[i];
        if (!s->used) continue;
        if (now_ns - s->first_ns > AVT_FRAG_TIMEOUT_NS) slot_drop(t, s, st, 0);
        else if (s->first_ns + AVT_FRAG_TIMEOUT_NS < t->expire_at)
            t->expire_at = s->first_ns + AVT_FRAG_TIMEOUT_NS;
    }
}

void avt_frag_free(avt_frag_table *t)
{
    for (int i = 0; i < AVT_FRAG_MAX_DATAGRAMS; i++) {
        free(t->slot[i].buf);
        t->slot[i].buf = NULL;
        t->slot[i].used = 0;
    }
    t->active = 0;
}

/* 1 if slot s holds fragments of f's datagram (RFC 791: source, destination, id, protocol). */
static int slot_is(const avt_frag_slot *s, const avt_udp_frame *f)
{
    return s->used && s->src == f->frag_src && s->dst == f->frag_dst && s->id == f->frag_id &&
           s->proto == f->frag_proto;
}

/* The slot of f's datagram, a new one (evicting the oldest when all are busy), or NULL. */
static avt_frag_slot *slot_for(avt_frag_table *t, avt_frag_stats *st, const avt_udp_frame *f,
                               int64_t now_ns)
{
    avt_frag_slot *free_s = NULL, *oldest = NULL;
    if (slot_is(&t->slot[t->last], f)) return &t->slot[t->last];
    for (int i = 0; i < AVT_FRAG_MAX_DATAGRAMS; i++) {
        avt_frag_slot *s = &t->slot[i];
        if (!s->used) {
            if (!free_s || (!free_s->buf && s->buf)) free_s = s; /* prefer a kept buffer */
            continue;
        }
        if (slot_is(s, f)) {
            t->last = i;
            return s;
        }
        if (!oldest || s->first_ns < oldest->first_ns) oldest = s;
    }
    if (!free_s) {
        slot_drop(t, oldest, st, 0);
        free_s = oldest;
    }
    if (!free_s->buf) {
        free_s->buf = malloc(AVT_FRAG_MAX_PAYLOAD + (FRAG_BLOCKS + 7) / 8);
        if (!free_s->buf) return NULL;
    }
    memset(free_s->buf + AVT_FRAG_MAX_PAYLOAD, 0, (FRAG_BLOCKS + 7) / 8);
    free_s->used = 1;
    t->active++;
    free_s->src = f->frag_src;
    free_s->dst = f->frag_dst;
    free_s->id = f->frag_id;
    free_s->proto = f->frag_proto;
    free_s->first_ns = now_ns;
    free_s->total = free_s->max_end = free_s->blocks = 0;
    free_s->nfrags = 0;
    if (now_ns + AVT_FRAG_TIMEOUT_NS < t->expire_at) t->expire_at = now_ns + AVT_FRAG_TIMEOUT_NS;
    t->last = (int)(free_s - t->slot);
    return free_s;
}

int avt_frag_add(avt_frag_table *t, avt_frag_stats *st, const avt_udp_frame *f, int64_t now_ns,
                 const uint8_t **data, size_t *len)
{
    const size_t a = f->frag_off, n = f->len, b = a + n;
    st->fragments++;
    avt_frag_expire(t, st, now_ns);
    /* all but the last fragment carry whole 8-byte blocks (RFC 791); nothing may pass the
     * largest datagram */
    if (n == 0 || b > AVT_FRAG_MAX_PAYLOAD || (f->frag_more && n % 8)) {
        st->dropped++;
        return 0;
    }
    avt_frag_slot *s = slot_for(t, st, f, now_ns);
    if (!s) {
        st->dropped++;
        return AVT_NOMEM;
    }
    uint8_t *bm = s->buf + AVT_FRAG_MAX_PAYLOAD;
    /* the end must agree with a known end, and a last fragment with everything received */
    if ((s->total && (b > s->total || (!f->frag_more && b != s->total))) ||
        (!f->frag_more && b < s->max_end)) {
        st->overlaps++;
        slot_drop(t, s, st, 1);
        return 0;
    }
    const size_t k0 = a / 8, k1 = (b + 7) / 8;
    const size_t seen = bits_count(bm, k0, k1), fresh = k1 - k0 - seen;
    /* bytes received before must be received again unchanged */
    for (size_t k = k0; seen && k < k1; k++) {
        if (!bit_get(bm, k)) continue;
        size_t lo = k * 8 > a ? k * 8 : a, hi = k * 8 + 8 < b ? k * 8 + 8 : b;
        if (memcmp(s->buf + lo, f->payload + (lo - a), hi - lo) != 0) {
            st->overlaps++;
            slot_drop(t, s, st, 1);
            return 0;
        }
    }
    s->nfrags++;
    if (fresh == 0) {
        st->duplicates++;
        return 0;
    }
    memcpy(s->buf + a, f->payload, n);
    bits_set(bm, k0, k1);
    s->blocks += fresh;
    if (b > s->max_end) s->max_end = b;
    if (!f->frag_more) s->total = b;
    if (!s->total || s->blocks != (s->total + 7) / 8) return 0;
    s->used = 0; /* the buffer stays valid until the slot is reused, i.e. the next call */
    t->active--;
    st->reassembled++;
    *data = s->buf;
    *len = s->total;
    return 1;
}

void avt_frame_extract(int linktype, const uint8_t *data, size_t caplen, avt_udp_frame *f)
{
    avt_cursor c = avt_cursor_make(data, caplen);
    uint16_t ethertype = 0;
    f->kind = AVT_FRAME_OTHER;
    f->payload = NULL;
    f->len = 0;
    f->src_port = f->dst_port = 0;
    f->ports_known = 0;
    f->src_addr = 0;
    f->addr_known = 0;
    f->why[0] = '\0';
    f->frag_more = 0;
    f->frag_off = 0;

    switch (linktype) {
    case DLT_EN10MB:
        avt_cursor_skip(&c, 12);
        ethertype = avt_get_be16(&c);
        /* 802.1Q, 802.1ad and the old QinQ type; more than two tags is not Ethernet we know */
        for (int tags = 0; tags < 2 && (ethertype == 0x8100 || ethertype == 0x88a8 ||
                                        ethertype == 0x9100); tags++) {
            avt_cursor_skip(&c, 2);
            ethertype = avt_get_be16(&c);
        }
        break;
    case DLT_LINUX_SLL:
        avt_cursor_skip(&c, 14);
        ethertype = avt_get_be16(&c);
        break;
    case DLT_LINUX_SLL2:
        ethertype = avt_get_be16(&c);
        avt_cursor_skip(&c, 18);
        break;
    case DLT_NULL:
    case DLT_LOOP: {
        uint32_t fam = avt_get_le32(&c);
        /* written in the capturing host's byte order (DLT_NULL) or big-endian (DLT_LOOP) */
        ethertype = (fam == 2 || fam == 0x02000000u) ? ETHERTYPE_IPV4 : 0;
        break;
    }
    case DLT_RAW:
    case DLT_IPV4:
        ethertype = ETHERTYPE_IPV4;
        break;
    default:
        return;
    }
    if (c.bad) {
        frame_bad(f, "link-layer header cut short by the capture");
        return;
    }
    if (ethertype != ETHERTYPE_IPV4) return;
    parse_ipv4(&c, f);
}

static int link_supported(int dlt)
{
    return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
           dlt == DLT_NULL || dlt == DLT_LOOP || dlt == DLT_RAW || dlt == DLT_IPV4;
}

int avt_pcap_src_open(avt_pcap_src *s, const char *path, const void *mem, size_t len,
                      const char *name, avt_error *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    FILE *fp = NULL;
    int rc = AVT_OK;

    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name ? name : (path ? path : "(memory)"));
    if (mem) {
        if (len == 0) {
            rc = avt_err(err, AVT_TRUNCATED, "%s: empty capture", s->name);
            goto out;
        }
        fp = fmemopen((void *)mem, len, "rb");
        if (!fp) {
            rc = avt_err(err, AVT_IO, "%s: fmemopen: %s", s->name, strerror(errno));
            goto out;
        }
        s->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (s->pc) fp = NULL; /* owned by pcap now */
    } else {
        /* libpcap reads a savefile through stdio: with a 1 MiB buffer instead of the default
         * 4 KiB, 256 times fewer read() calls (measured: a third of a decode's time in a VM) */
        struct stat st;
        fp = fopen(path, "rb");
        if (!fp) {
            rc = avt_err(err, AVT_IO, "%s: cannot open: %s", s->name, strerror(errno));
            goto out;
        }
        /* readers open a capture several times (model detection, splitting, parts): a pipe
         * or a terminal would be consumed by the first */
        if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = avt_err(err, AVT_IO,
                         "%s: not a regular file (a capture is read more than once: save the "
                         "stream to a file first)",
                         s->name);
            goto out;
        }
        s->iobuf = malloc(PCAP_IOBUF_BYTES);
        if (s->iobuf && setvbuf(fp, s->iobuf, _IOFBF, PCAP_IOBUF_BYTES) != 0) {
            free(s->iobuf);
            s->iobuf = NULL;
        }
        s->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (s->pc) fp = NULL; /* owned by pcap now */
    }
    if (!s->pc) {
        int code = strstr(errbuf, "truncated") ? AVT_TRUNCATED
                   : (strstr(errbuf, "No such file") || strstr(errbuf, "ermission")) ? AVT_IO
                                                                                   : AVT_FORMAT;
        rc = avt_err(err, code, "%s: not a readable pcap/pcapng capture: %s", s->name, errbuf);
        goto out;
    }
    s->linktype = pcap_datalink(s->pc);
    if (!link_supported(s->linktype)) {
        const char *dn = pcap_datalink_val_to_name(s->linktype);
        rc = avt_err(err, AVT_UNSUPPORTED,
                     "%s: link type %d (%s) not supported (Ethernet, Linux SLL/SLL2, raw IP, "
                     "null/loopback are)",
                     s->name, s->linktype, dn ? dn : "unknown");
        pcap_close(s->pc);
        s->pc = NULL;
        goto out;
    }
    off_t at = ftello(pcap_file(s->pc));
    s->off = at > 0 ? (uint64_t)at : 0;
    struct stat sb;
    s->size = mem ? len : fstat(fileno(pcap_file(s->pc)), &sb) == 0 ? (uint64_t)sb.st_size : 0;
out:
    if (fp) fclose(fp);
    if (!s->pc) {
        free(s->iobuf);
        s->iobuf = NULL;
    }
    return rc;
}

int avt_pcap_src_next(avt_pcap_src *s, avt_udp_frame *f, avt_error *err)
{
    struct pcap_pkthdr *h = NULL;
    const u_char *data = NULL;
    int rc = pcap_next_ex(s->pc, &h, &data);
    if (rc == PCAP_ERROR_BREAK) return 0;
    if (rc != 1) {
        const char *msg = pcap_geterr(s->pc);
        FILE *fp = pcap_file(s->pc);
        /* libpcap's "truncated" is a short read; at the end of the file it is the capture
         * cut inside its last record (tcpdump and Wireshark read up to there too). Anything
         * else (a record length past the snap length, an I/O error) stays an error. */
        if (rc == PCAP_ERROR && msg && strstr(msg, "truncated") && fp && feof(fp) && !ferror(fp)) {
            off_t end = ftello(fp);
            s->cut_record = s->record + 1;
            s->cut_byte = end > 0 ? (uint64_t)end : s->off;
            return 0;
        }
        int code = (msg && strstr(msg, "truncated")) ? AVT_TRUNCATED : AVT_FORMAT;
        return avt_err(err, code, "%s: record %llu: %s", s->name,
                       (unsigned long long)(s->record + 1), msg ? msg : "read error");
    }
    s->record++;
    f->record = s->record;
    f->rec_off = s->off;
    /* classic pcap: a 16-byte header and caplen bytes (other formats are not split, so their
     * offsets only need to grow); libpcap shortens records longer than the file's snaplen,
     * whose end only the FILE knows (ftello costs a system call: not for every record) */
    if (h->caplen < (bpf_u_int32)pcap_snapshot(s->pc)) {
        s->off += 16 + (uint64_t)h->caplen;
    } else {
        off_t at = ftello(pcap_file(s->pc));
        if (at >= 0) s->off = (uint64_t)at;
    }
    f->rec_ns = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec;
    avt_frame_extract(s->linktype, data, h->caplen, f);
    if (f->kind == AVT_FRAME_FRAGMENT) {
        const uint8_t *dg = NULL;
        size_t n = 0;
        /* out of memory for a reassembly buffer drops the fragment (counted), not the capture */
        if (f->frag_proto == 17 && avt_frag_add(&s->ft, &s->frag, f, f->rec_ns, &dg, &n) == 1)
            avt_udp_parse(dg, n, f);
    } else {
        avt_frag_expire(&s->ft, &s->frag, f->rec_ns);
    }
    return 1;
}

void avt_pcap_src_close(avt_pcap_src *s)
{
    if (!s) return;
    if (s->pc) pcap_close(s->pc);
    s->pc = NULL;
    free(s->iobuf); /* after pcap_close: the FILE used it until fclose */
    s->iobuf = NULL;
    avt_frag_free(&s->ft);
}

int avt_pcap_src_seek(avt_pcap_src *s, uint64_t off, uint64_t record, avt_error *err)
{
    /* libpcap reads a savefile through stdio with no read-ahead of its own, so moving its
     * FILE to a record boundary makes pcap_next_ex continue there */
    if (off > (uint64_t)INT64_MAX || fseeko(pcap_file(s->pc), (off_t)off, SEEK_SET) != 0)
        return avt_err(err, AVT_IO, "%s: cannot seek to byte %llu: %s", s->name,
                       (unsigned long long)off, strerror(errno));
    s->off = off;
    s->record = record;
    return AVT_OK;
}

/* ---- splitting a classic pcap file for a parallel decode ----
 *
 * Classic pcap (tcpdump.org/manpages/pcap-savefile.5.html): a 24-byte file header, then
 * records of a 16-byte header and caplen bytes, in the byte order of the magic:
 *
 *   magic(4: a1b2c3d4 us, a1b23c4d ns) ... (24 bytes)
 *   ts_sec(4) ts_frac(4) caplen(4) len(4) | data(caplen) | ts_sec(4) ...
 *
 * Only version 2.4 is split: older versions may hold caplen and len swapped (libpcap
 * undoes that while reading), so their record lengths cannot be read here; they, like
 * pcapng, are one part.
 *
 * After libpcap has checked the file header, one pass walks the record headers in place, over
 * the caller's memory or over the file mapped read-only: no record data is copied (a pass
 * through stdio copied every byte and took 21 % of one reader's decode time for two parts of
 * a synthetic os1-64 capture; mapped, 12-13 %, mostly page faults). Capture time for the
 * lead-in is a clock that advances by the positive steps between consecutive record times,
 * each clamped to SPLIT_MAX_STEP_NS, so that one wild record time neither freezes nor jumps
 * it. Lead-in candidates ("marks") are records at which that clock has advanced by
 * SPLIT_MARK_NS; a ring of SPLIT_MARKS of them spans more than AVT_LIDAR_LEAD_NS, so memory
 * stays fixed whatever the capture's length. */
#define SPLIT_MARK_NS 1000000LL
#define SPLIT_MAX_STEP_NS 100000000LL
#define SPLIT_MARKS 4096
#define PCAP_MAXIMUM_SNAPLEN 262144u /* libpcap's limit: larger records are corrupt */

typedef struct split_mark {
    uint64_t off, record;
    int64_t t_ns; /* the lead-in clock at the record */
} split_mark;

/* The latest mark at least AVT_LIDAR_LEAD_NS before now_ns, else the oldest one kept. */
static const split_mark *lead_mark(const split_mark *ring, size_t n, int64_t now_ns)
{
    size_t first = n > SPLIT_MARKS ? n - SPLIT_MARKS : 0;
    for (size_t i = n; i-- > first;)
        if (ring[i % SPLIT_MARKS].t_ns <= now_ns - AVT_LIDAR_LEAD_NS) return &ring[i % SPLIT_MARKS];
    return &ring[first % SPLIT_MARKS];
}

#define SPLIT_RELEASE_BYTES (2u << 20)

/* Fills parts[1..nparts) from the classic pcap file (v2.4) in b[0..size). With `mapped`, b
 * is this walk's own mapping of the file (page-aligned), whose pages behind the walk are
 * released every SPLIT_RELEASE_BYTES: they would otherwise count in the process's resident
 * memory, which then grew with the capture (a 300 s VLP-16 capture: 146 MB peak, not 10). */
static int split_records(const uint8_t *b, uint64_t size, int nparts, avt_lidar_part *parts,
                         int mapped, const char *name, avt_error *err)
{
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t released = 0;
    avt_cursor c = avt_cursor_make(b, 8);
    const uint32_t magic = avt_get_le32(&c);
    const int be = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
    const int64_t frac_ns = (magic == 0xa1b23c4du || magic == 0x4d3cb2a1u) ? 1 : 1000;
    const uint16_t major = be ? avt_get_be16(&c) : avt_get_le16(&c);
    const uint16_t minor = be ? avt_get_be16(&c) : avt_get_le16(&c);
    if (!be && magic != 0xa1b2c3d4u && magic != 0xa1b23c4du) return AVT_OK; /* pcapng */
    if (major != 2 || minor != 4) return AVT_OK;
    split_mark *ring = malloc(SPLIT_MARKS * sizeof *ring);
    if (!ring) return avt_err(err, AVT_NOMEM, "%s: out of memory", name);
    const uint64_t step = size / (uint64_t)nparts, rem = size % (uint64_t)nparts;
    uint64_t off = 24, record = 0;
    size_t nmarks = 0;
    int64_t now_ns = 0, prev_t_ns = 0;
    int p = 1;
    while (size - off >= 16) {
        c = avt_cursor_make(b + off, 16);
        uint32_t sec = be ? avt_get_be32(&c) : avt_get_le32(&c);
        uint32_t frac = be ? avt_get_be32(&c) : avt_get_le32(&c);
        uint32_t caplen = be ? avt_get_be32(&c) : avt_get_le32(&c);
        const int64_t t_ns = (int64_t)sec * 1000000000 + (int64_t)frac * frac_ns;
        if (record > 0 && t_ns > prev_t_ns)
            now_ns += t_ns - prev_t_ns < SPLIT_MAX_STEP_NS ? t_ns - prev_t_ns : SPLIT_MAX_STEP_NS;
        prev_t_ns = t_ns;
        if (nmarks == 0 || now_ns - ring[(nmarks - 1) % SPLIT_MARKS].t_ns >= SPLIT_MARK_NS)
            ring[nmarks++ % SPLIT_MARKS] = (split_mark){off, record, now_ns};
        for (; p < nparts && step * (uint64_t)p + rem * (uint64_t)p / (uint64_t)nparts <= off;
             p++) {
            const split_mark *m = lead_mark(ring, nmarks, now_ns);
            parts[p] = (avt_lidar_part){off, UINT64_MAX, m->off, m->record};
        }
        if (p == nparts || caplen > PCAP_MAXIMUM_SNAPLEN || size - off - 16 < caplen)
            break; /* done, or a damaged record: its part's reader reports it */
        if (mapped && off - released >= SPLIT_RELEASE_BYTES) {
            const uint64_t to = off / page * page;
            madvise((void *)(b + released), (size_t)(to - released), MADV_DONTNEED);
            released = to;
        }
        off += 16 + (uint64_t)caplen;
        record++;
    }
    /* parts beyond the last record start: empty, their lead-ins at the end */
    for (; p < nparts; p++) {
        const split_mark *m = nmarks ? lead_mark(ring, nmarks, now_ns) : NULL;
        parts[p] = (avt_lidar_part){off, UINT64_MAX, m ? m->off : 0, m ? m->record : 0};
    }
    for (int i = 0; i + 1 < nparts; i++) parts[i].end = parts[i + 1].begin;
    free(ring);
    return AVT_OK;
}

int avt_pcap_split(const char *path, const void *mem, size_t len, const char *name, int nparts,
                   avt_lidar_part *parts, avt_error *err)
{
    avt_pcap_src s;
    struct stat st;

    if (nparts < 1 || !parts)
        return avt_err(err, AVT_INVAL, "%s: cannot split into %d parts", name, nparts);
    parts[0] = (avt_lidar_part){0, UINT64_MAX, 0, 0};
    for (int i = 1; i < nparts; i++) parts[i] = (avt_lidar_part){UINT64_MAX, UINT64_MAX, 0, 0};
    int rc = avt_pcap_src_open(&s, path, mem, len, name, err);
    if (rc != AVT_OK || nparts == 1) goto out;
    if (mem) {
        rc = split_records(mem, len, nparts, parts, 0, s.name, err);
        goto out;
    }
    /* the file libpcap has opened and checked (a regular file: avt_pcap_src_open); like any
     * reader of a mapped file, this one assumes the capture is not cut short while it runs */
    const int fd = fileno(pcap_file(s.pc));
    errno = 0;
    if (fstat(fd, &st) != 0 || st.st_size < 24 || (uint64_t)st.st_size > SIZE_MAX) {
        rc = avt_err(err, AVT_IO, "%s: cannot read the file's size again: %s", s.name,
                     errno ? strerror(errno) : "the file shrank");
        goto out;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) goto out; /* (address space limits, no mmap): one part, read by stdio */
    rc = split_records(map, (uint64_t)st.st_size, nparts, parts, 1, s.name, err);
    munmap(map, (size_t)st.st_size);
out:
    avt_pcap_src_close(&s);
    return rc;
}

int avt_lidar_split(const char *path, int nparts, avt_lidar_part *parts, avt_error *err)
{
    if (!path) return avt_err(err, AVT_INVAL, "avt_lidar_split: no path");
    return avt_pcap_split(path, NULL, 0, path, nparts, parts, err);
}

int avt_lidar_split_mem(const void *data, size_t len, const char *name, int nparts,
                        avt_lidar_part *parts, avt_error *err)
{
    if (!data) return avt_err(err, AVT_INVAL, "%s: no capture data", name ? name : "(memory)");
    return avt_pcap_split(NULL, data, len, name ? name : "(memory)", nparts, parts, err);
}
