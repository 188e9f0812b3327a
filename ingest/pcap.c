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
 * IPv4 fragments are reported as AVT_FRAME_FRAGMENT and skipped by the caller: Velodyne
 * packets fit one Ethernet frame, so fragments only appear with unusual MTUs (reassembly is a
 * later issue). */
#include <errno.h>
#include <string.h>

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
    if (total_len > avail) {
        snprintf(f->why, sizeof f->why, "IPv4 total length %u but only %zu bytes captured",
                 (unsigned)total_len, avail);
        f->kind = AVT_FRAME_BAD;
        return;
    }
    if (proto != 17) {
        f->kind = AVT_FRAME_OTHER;
        return;
    }
    if (frag & 0x3fffu) {
        f->kind = AVT_FRAME_FRAGMENT;
        return;
    }
    c->pos = start + ihl;
    size_t ip_payload = (size_t)total_len - ihl;
    f->src_port = avt_get_be16(c);
    f->dst_port = avt_get_be16(c);
    uint16_t udp_len = avt_get_be16(c);
    avt_cursor_skip(c, 2);
    if (c->bad || ip_payload < 8) {
        frame_bad(f, "UDP header cut short");
        return;
    }
    f->ports_known = 1;
    if (udp_len < 8 || udp_len > ip_payload) {
        snprintf(f->why, sizeof f->why, "UDP length %u with %zu bytes of IPv4 payload",
                 (unsigned)udp_len, ip_payload);
        f->kind = AVT_FRAME_BAD;
        return;
    }
    f->kind = AVT_FRAME_UDP;
    f->payload = c->p + c->pos;
    f->len = (size_t)udp_len - 8;
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
    f->why[0] = '\0';

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
        s->pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
                                                        errbuf);
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
out:
    if (fp) fclose(fp);
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
        int code = (msg && strstr(msg, "truncated")) ? AVT_TRUNCATED : AVT_FORMAT;
        return avt_err(err, code, "%s: record %llu: %s", s->name,
                       (unsigned long long)(s->record + 1), msg ? msg : "read error");
    }
    s->record++;
    f->record = s->record;
    f->rec_ns = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec;
    avt_frame_extract(s->linktype, data, h->caplen, f);
    return 1;
}

void avt_pcap_src_close(avt_pcap_src *s)
{
    if (!s) return;
    if (s->pc) pcap_close(s->pc);
    s->pc = NULL;
}
