/* Fuzz target: the MCAP reader (rosbag/mcap.c) over memory: every record of the file, chunks
 * decompressed (zstd, lz4); every view a record returns must lie inside the input or the
 * current chunk, which AddressSanitizer checks by reading each byte. */
#include <stddef.h>
#include <stdint.h>

#include "avtruth/rosbag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avt_mcap_reader *r = NULL;
    avt_error err;
    if (avt_mcap_open_mem(data, size, "fuzz.mcap", &r, &err) != AVT_OK) return 0;
    avt_mcap_record rec;
    volatile uint8_t sink = 0;
    while (avt_mcap_next(r, &rec, &err) == 1)
        for (int i = 0; i < rec.nfields; i++)
            for (size_t k = 0; k < rec.f[i].n; k++) sink ^= rec.f[i].p[k];
    avt_mcap_close(r);
    (void)sink;
    return 0;
}
