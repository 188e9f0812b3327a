/* Test helper: a classic pcap rewritten as pcapng (pcapng draft, sections 4.1, 4.2, 4.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pcapng_write.h"

static void put32(uint8_t *q, uint32_t v) { memcpy(q, &v, 4); } /* host order, as pcapng allows */

uint8_t *to_pcapng(const uint8_t *in, size_t n, size_t *out_n)
{
    uint8_t *out = malloc(2 * n + 64);
    assert_non_null(out);
    size_t o = 0, i = 24;
    uint32_t linktype, snaplen;
    memcpy(&snaplen, in + 16, 4);
    memcpy(&linktype, in + 20, 4);
    const uint32_t shb[7] = {0x0A0D0D0A, 28, 0x1A2B3C4D, 0x00000001, 0xFFFFFFFF, 0xFFFFFFFF, 28};
    for (int k = 0; k < 7; k++) put32(out + o + 4 * k, shb[k]);
    o += 28;
    const uint32_t idb[5] = {1, 20, linktype & 0xFFFF, snaplen, 20};
    for (int k = 0; k < 5; k++) put32(out + o + 4 * k, idb[k]);
    o += 20;
    while (i + 16 <= n) {
        uint32_t sec, usec, caplen, len;
        memcpy(&sec, in + i, 4), memcpy(&usec, in + i + 4, 4);
        memcpy(&caplen, in + i + 8, 4), memcpy(&len, in + i + 12, 4);
        const uint64_t ts = (uint64_t)sec * 1000000 + usec;
        const uint32_t pad = (4 - caplen % 4) % 4, total = 32 + caplen + pad;
        const uint32_t h[7] = {6, total, 0, (uint32_t)(ts >> 32), (uint32_t)ts, caplen, len};
        for (int k = 0; k < 7; k++) put32(out + o + 4 * k, h[k]);
        memcpy(out + o + 28, in + i + 16, caplen);
        memset(out + o + 28 + caplen, 0, pad);
        put32(out + o + 28 + caplen + pad, total);
        o += total;
        i += 16 + caplen;
    }
    *out_n = o;
    return out;
}
