/* Test helper: a classic pcap rewritten as pcapng, for the tests of the pcapng reader. */
#ifndef AVT_TESTS_PCAPNG_WRITE_H
#define AVT_TESTS_PCAPNG_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Rewrites a classic little-endian microsecond pcap (in, n bytes) as pcapng: a section header
 * block, one interface description block, one enhanced packet block per record, all in host
 * byte order (pcapng allows either). Returns the malloc'ed file (*out_n bytes; the caller
 * frees it); the first EPB starts at byte PCAPNG_HEADER_BYTES. Fails the cmocka test if out
 * of memory. */
#define PCAPNG_HEADER_BYTES 48 /* SHB 28 + IDB 20 */
uint8_t *to_pcapng(const uint8_t *in, size_t n, size_t *out_n);

#endif
